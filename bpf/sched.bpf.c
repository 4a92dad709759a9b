// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduler collector, kernel side: run-queue latency, context switches and
 * on-CPU time per container, from sched_wakeup, sched_wakeup_new and
 * sched_switch. tp_btf programs with raw_tp twins (chosen by probing in
 * userspace); neither needs tracefs.
 *
 * A thread's wait starts when it is woken (sched_wakeup/_new) or when it is
 * switched out still runnable (preempted: it stays on the run queue) and
 * ends when it is switched in. Per-thread timestamps and the container-slot
 * cache live in task local storage (tp_btf) or a hash by tid (raw_tp twins,
 * where the kernel lacks tp_btf or task storage); the per-container sums in
 * a per-CPU array indexed by slot: no atomics and no shared-hash update per
 * event. Threads outside containers stop after the slot lookup unless
 * include_host is set (then they count for slot 0).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sched_stats.h"
#include "hist.bpf.h"
#include "slots.bpf.h"
#include "sched_task.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Count threads outside containers for the host slot. */
const volatile bool include_host = false;

struct task_sched {
	__u64 enq_ts; /* became runnable (woken or preempted); 0: not waiting */
	__u64 on_ts;  /* switched in; 0: not on a CPU (or not measured) */
	struct cgs_slot_cache cache;
};

CGS_TASK_STATE(task_sched, struct task_sched)

/* max_entries is set to the number of slots before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cgs_sched_slot_stats);
} sched_stats SEC(".maps");

static __always_inline struct cgs_sched_slot_stats *stats_of(int slot)
{
	if (slot < 0) {
		if (!include_host)
			return NULL;
		slot = CGS_SLOT_HOST;
	}
	__u32 k = (__u32)slot;

	return bpf_map_lookup_elem(&sched_stats, &k);
}

static __always_inline void on_wakeup(struct task_struct *p, bool btf)
{
	struct task_sched *s = task_sched_get(p, btf);

	if (!s)
		return;
	if (cgs_slot_task(p, &s->cache, btf) < 0 && !include_host)
		return;
	/* Already waiting (preempted while going to sleep, then woken): the wait began then. */
	if (!s->enq_ts)
		s->enq_ts = bpf_ktime_get_ns();
}

static __always_inline void on_switch(bool preempt, struct task_struct *prev, struct task_struct *next,
				      bool btf)
{
	struct cgs_sched_slot_stats *st;
	struct task_sched *s;
	__u64 now = bpf_ktime_get_ns();

	/* prev is the current thread, leaving the CPU (pid 0: the idle task). */
	if (cgs_task_tid(prev, btf) && (s = task_sched_get(prev, btf))) {
		st = stats_of(cgs_slot_current(&s->cache));
		if (st) {
			if (s->on_ts && now > s->on_ts)
				st->oncpu_ns += now - s->on_ts;
			if (preempt || cgs_task_state(prev, btf) == 0) {
				/* Still runnable: back on the run queue from now. */
				st->involuntary++;
				s->enq_ts = now;
			} else {
				st->voluntary++;
				s->enq_ts = 0;
			}
		} else {
			/* Outside containers: nothing stale survives a move into one. */
			s->enq_ts = 0;
		}
		s->on_ts = 0;
	}

	if (cgs_task_tid(next, btf) && (s = task_sched_get(next, btf))) {
		/*
		 * Stamped for every thread: one that moves into a container
		 * while running has its current stretch counted at switch-out.
		 */
		s->on_ts = now;
		st = stats_of(cgs_slot_task(next, &s->cache, btf));
		if (st && s->enq_ts && now > s->enq_ts) {
			__u64 d = now - s->enq_ts;
			__u32 b = cgs_hist_bucket_ns(d);

			st->delay_ns += d;
			barrier_var(b); /* the bound check below must apply to the index used */
			if (b < CGS_SCHED_HIST_BUCKETS)
				st->hist[b]++;
		}
		s->enq_ts = 0;
	}
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(handle_sched_wakeup, struct task_struct *p)
{
	on_wakeup(p, true);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(handle_sched_wakeup_new, struct task_struct *p)
{
	on_wakeup(p, true);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(handle_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next, true);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(handle_sched_wakeup_raw, struct task_struct *p)
{
	on_wakeup(p, false);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(handle_sched_wakeup_new_raw, struct task_struct *p)
{
	on_wakeup(p, false);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(handle_sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next, false);
	return 0;
}
