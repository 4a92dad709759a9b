// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory-event collector, kernel side:
 *  - oom:mark_victim: a per-container OOM-kill count and one ring-buffer
 *    record per kill, read from the victim task (the tracepoint may fire
 *    in another task's context: the allocating task, or a kworker);
 *  - vmscan:mm_vmscan_memcg_reclaim_begin/end: time the current thread
 *    spent in memory-cgroup reclaim, summed and as a log2 histogram;
 *  - exceptions:page_fault_user: user page faults per container.
 * tp_btf programs with raw_tp twins (chosen by probing in userspace).
 * Per-container sums in a per-CPU array indexed by slot; per-thread state
 * (reclaim start, slot cache) in task local storage (tp_btf) or a hash by
 * tid (raw_tp twins, where the kernel lacks tp_btf or task storage).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mem.h"
#include "hist.bpf.h"
#include "slots.bpf.h"
#include "sched_task.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile bool include_host = false;
/* oom:mark_victim passes (task, uid) since Linux 6.8, (pid) before: set by userspace from BTF. */
const volatile bool victim_is_task = true;

struct task_mem {
	__u64 reclaim_ts; /* memcg reclaim began; 0: not in reclaim */
	struct cgs_slot_cache cache;
};

CGS_TASK_STATE(task_mem, struct task_mem)

/* max_entries is set to the number of slots before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cgs_mem_slot_stats);
} mem_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} oom_events SEC(".maps");

__u64 lost = 0;

static __always_inline struct cgs_mem_slot_stats *stats_of(int slot)
{
	if (slot < 0) {
		if (!include_host)
			return NULL;
		slot = CGS_SLOT_HOST;
	}
	__u32 k = (__u32)slot;

	return bpf_map_lookup_elem(&mem_stats, &k);
}

static __always_inline void on_fault(bool btf)
{
	struct task_mem *s = task_mem_get_current(btf);
	struct cgs_mem_slot_stats *st;

	if (!s)
		return;
	st = stats_of(cgs_slot_current(&s->cache));
	if (st)
		st->pgfault++;
}

static __always_inline void on_reclaim_begin(bool btf)
{
	struct task_mem *s = task_mem_get_current(btf);

	if (!s)
		return;
	if (cgs_slot_current(&s->cache) < 0 && !include_host)
		return;
	s->reclaim_ts = bpf_ktime_get_ns();
}

static __always_inline void on_reclaim_end(bool btf)
{
	struct task_mem *s = task_mem_get_current(btf);
	struct cgs_mem_slot_stats *st;
	__u64 now = bpf_ktime_get_ns(), d;
	__u32 b;

	if (!s || !s->reclaim_ts)
		return;
	d = now > s->reclaim_ts ? now - s->reclaim_ts : 0;
	s->reclaim_ts = 0;
	st = stats_of(cgs_slot_current(&s->cache));
	if (!st)
		return;
	st->reclaim_ns += d;
	b = cgs_hist_bucket_ns(d);
	barrier_var(b); /* the bound check below must apply to the index used */
	if (b < CGS_MEM_HIST_BUCKETS)
		st->reclaim_hist[b]++;
}

/* The MM_* counters of mm->rss_stat (include/linux/mm_types_task.h), stable since Linux 4.5. */
#define CGS_MM_FILEPAGES  0
#define CGS_MM_ANONPAGES  1
#define CGS_MM_SHMEMPAGES 3

/* mm->rss_stat became an array of percpu_counter in Linux 6.2 (f1a7941243c1). */
struct mm_rss_stat___o {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));
struct mm_struct___o {
	struct mm_rss_stat___o rss_stat;
} __attribute__((preserve_access_index));

/* get_mm_counter(): the shared count, without the per-CPU deltas, never negative. */
static __always_inline __u64 mm_counter(struct mm_struct *mm, int member)
{
	long v;

	if (bpf_core_type_exists(struct mm_rss_stat___o))
		v = BPF_CORE_READ((struct mm_struct___o *)mm, rss_stat.count[member].counter);
	else
		v = (long)BPF_CORE_READ(mm, rss_stat[member].count);
	return v > 0 ? (__u64)v : 0;
}

static __always_inline void read_victim(struct cgs_mem_oom_event *e, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);

	e->flags |= CGS_MEM_OOM_TASK;
	e->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	e->pid = (__u32)BPF_CORE_READ(t, tgid);
	e->tid = (__u32)BPF_CORE_READ(t, pid);
	e->uid = BPF_CORE_READ(t, real_cred, uid.val); /* task_uid(), as the tracepoint */
	e->oom_score_adj = BPF_CORE_READ(t, signal, oom_score_adj);
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	if (mm) {
		e->flags |= CGS_MEM_OOM_MM;
		e->total_vm_pages = BPF_CORE_READ(mm, total_vm);
		e->anon_rss_pages = mm_counter(mm, CGS_MM_ANONPAGES);
		e->file_rss_pages = mm_counter(mm, CGS_MM_FILEPAGES);
		e->shmem_rss_pages = mm_counter(mm, CGS_MM_SHMEMPAGES);
		if (bpf_core_field_exists(mm->pgtables_bytes))
			e->pgtables_bytes = (__u64)BPF_CORE_READ(mm, pgtables_bytes.counter);
	}
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id)) {
		int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		struct cgroup_subsys_state *css = BPF_CORE_READ(t, cgroups, subsys[id]);

		/* css is the first member of struct mem_cgroup; the root's counter is not charged. */
		if (css && BPF_CORE_READ(css, parent)) {
			e->memcg_usage_pages = (__u64)BPF_CORE_READ((struct mem_cgroup *)css, memory.usage.counter);
			e->flags |= CGS_MEM_OOM_MEMCG;
		}
	}
}

/*
 * The victim: the tracepoint's task argument (Linux 6.8+). Before, it
 * passes only the pid, and the task is known here only when it is the
 * current one (a memory cgroup's OOM killing the task whose charge failed);
 * otherwise userspace looks the pid up.
 */
static __always_inline struct task_struct *victim_of(__u64 arg0)
{
	struct task_struct *cur;

	if (victim_is_task)
		return (struct task_struct *)arg0;
	cur = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(cur, tgid) == (int)arg0 ? cur : NULL;
}

static __always_inline void on_victim(__u64 arg0)
{
	struct task_struct *t = victim_of(arg0);
	struct cgs_mem_oom_event *e;
	struct cgs_mem_slot_stats *st;
	int slot = CGS_SLOT_NONE;

	if (t) {
		slot = cgs_slot_of_cgroup(BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id));
		st = stats_of(slot);
		if (st)
			st->oom_kills++;
	}
	e = bpf_ringbuf_reserve(&oom_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ktime_ns = bpf_ktime_get_ns();
	if (t)
		read_victim(e, t);
	else
		e->pid = e->tid = (__u32)arg0;
	if (!victim_is_task)
		e->flags |= CGS_MEM_OOM_PID_ONLY;
	e->slot = slot;
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(handle_page_fault_user)
{
	on_fault(true);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(handle_memcg_reclaim_begin)
{
	on_reclaim_begin(true);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(handle_memcg_reclaim_end)
{
	on_reclaim_end(true);
	return 0;
}

SEC("tp_btf/mark_victim")
int handle_mark_victim(__u64 *ctx)
{
	on_victim(ctx[0]);
	return 0;
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(handle_page_fault_user_raw)
{
	on_fault(false);
	return 0;
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(handle_memcg_reclaim_begin_raw)
{
	on_reclaim_begin(false);
	return 0;
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(handle_memcg_reclaim_end_raw)
{
	on_reclaim_end(false);
	return 0;
}

SEC("raw_tp/mark_victim")
int handle_mark_victim_raw(__u64 *ctx)
{
	on_victim(ctx[0]);
	return 0;
}
