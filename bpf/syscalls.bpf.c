// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-container syscall latency: raw_syscalls sys_enter stamps the syscall,
 * sys_exit accounts its latency to the container's per-CPU accumulators
 * (bpf/syscalls.h): log2 histogram, latency sum and errors per syscall
 * class, count per syscall number. Userspace fills the class of each
 * syscall number (syscall_classes) and the accumulator index of each
 * container slot (slot_index: the accumulators are bounded apart from the
 * number of slots).
 *
 * Hot path (budget: bench/syscalls.sh). Helper calls are what costs here,
 * so the common case makes two, both bpf_ktime_get_ns():
 *  - the syscall in flight lives in a per-CPU record, not in task storage:
 *    a task runs on one CPU from sys_enter to sys_exit unless it is switched
 *    out, and sched_switch then moves its record to a save area (task local
 *    storage, or a thread-id LRU hash on kernels without it), where
 *    sys_exit finds it when the record on its CPU is not its own;
 *  - the current task's accumulator index is cached per CPU: valid until
 *    the next sched_switch, a new slot mapping (cgs_slots_meta.gen) or a
 *    cgroup migration anywhere (cgroup_attach_task bumps `migrations`).
 *    Refreshing it costs bpf_get_current_cgroup_id(), plus a lookup in the
 *    shared cgroup -> slot hash (lib/slots.bpf.h) only when the cgroup
 *    changed.
 * Tasks outside containers leave sys_enter right after the slot check.
 * No loops, no atomics and no map updates on the hot path.
 *
 * Variants, chosen by userspace by probing (the unused ones are not
 * loaded): tp_btf programs with raw_tp twins (same bodies), and the save
 * area in task local storage or in the thread-id hash.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "syscalls.h"
#include "lib/hist.bpf.h"
#include "lib/slots.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Account tasks outside every container to the host slot (config include_host). */
const volatile bool include_host = false;

/* Cgroup migrations seen (any task, any hierarchy): invalidates every CPU's slot cache. */
__u64 migrations = 0;

/* Per CPU: the running task's syscall in flight, and its slot cache. */
struct cpu_state {
	__u64 regs;  /* pt_regs of the task whose syscall is in flight here; 0: none */
	__u64 ts;    /* its sys_enter time (ns); 0: not measured */
	__u32 nr;    /* its number, clamped to CGS_SYSCALLS_NR_OTHER */
	__s32 slot;  /* the accumulator index it is accounted to */
	/* Cache: cgid -> cslot (its accumulator index, -1: not measured) holds
	 * while gen is current; valid says the running task is still in cgid
	 * (no switch or migration since). */
	__u64 cgid;
	__u64 gen;
	__u64 mig;
	__s32 cslot;
	__u32 valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_states SEC(".maps");

/* A syscall in flight whose task was switched out. */
struct saved_call {
	__u64 ts;   /* 0: none */
	__u32 nr;
	__s32 slot; /* accumulator index */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct saved_call);
} saved_calls SEC(".maps");

/* Fallback without task local storage: thread id -> saved call; LRU evicts exited threads. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* sized by userspace when used */
	__type(key, __u32);
	__type(value, struct saved_call);
} saved_calls_hash SEC(".maps");

/* Syscall number -> CGS_SC_* class. Data, filled by userspace before attach. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGS_SYSCALLS_NR_MAX);
	__type(key, __u32);
	__type(value, __u32);
} syscall_classes SEC(".maps");

/*
 * Container slot -> index of its accumulators + 1, or CGS_SYSCALLS_NO_INDEX
 * (0: not measured, more containers than the collector keeps accumulators
 * for). Userspace sets an entry before the slot is mapped to a cgroup.
 * max_entries = number of slots.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} slot_index SEC(".maps");

/* Index -> this CPU's accumulators. max_entries = number of indexes (set by userspace). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cgs_syscalls_slot);
} slot_stats SEC(".maps");

static __always_inline struct cpu_state *this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_states, &zero);
}

/* The accumulator index of a cgroup's container, or -1 when it is not measured. */
static __always_inline int index_of_cgroup(__u64 cgid)
{
	int slot = cgs_slot_of_cgroup(cgid);
	__u32 key, *idx;

	if (slot < 0) {
		if (!include_host)
			return -1;
		slot = CGS_SLOT_HOST;
	}
	key = (__u32)slot;
	idx = bpf_map_lookup_elem(&slot_index, &key);
	return idx && *idx != CGS_SYSCALLS_NO_INDEX ? (int)(*idx - 1) : -1;
}

/* The running task's accumulator index, or -1 when it is not measured. */
static __always_inline int current_index(struct cpu_state *c)
{
	__u64 mig = *(volatile __u64 *)&migrations; /* before the cgroup id: a racing move rechecks */
	__u32 zero = 0;
	struct cgs_slots_meta *m = bpf_map_lookup_elem(&cgs_slots_meta, &zero);
	__u64 gen = m ? m->gen : 0;
	__u64 cgid;

	if (c->valid && c->mig == mig && c->gen == gen)
		return c->cslot;
	cgid = bpf_get_current_cgroup_id();
	if (c->cgid != cgid || c->gen != gen) {
		c->cslot = index_of_cgroup(cgid);
		c->cgid = cgid;
		c->gen = gen;
	}
	c->mig = mig;
	c->valid = 1;
	return c->cslot;
}

/* Accounts one syscall that started at `ts` and returned `ret` to accumulators `slot`. */
static __always_inline void account(__u64 ts, __u32 nr, __u32 slot, long ret)
{
	__u64 delta = bpf_ktime_get_ns() - ts;
	struct cgs_syscalls_class *h;
	struct cgs_syscalls_slot *s;
	__u32 *cls;
	__u64 b; /* 64 bits: no zero-extension between the bound check and the index */

	nr &= CGS_SYSCALLS_NR_MAX - 1;
	cls = bpf_map_lookup_elem(&syscall_classes, &nr);
	s = bpf_map_lookup_elem(&slot_stats, &slot);
	if (!cls || !s)
		return;
	b = cgs_hist_bucket_ns(delta);
	/*
	 * b <= 23 already, but clang may test the bound on a copy and index with
	 * the original register, which the verifier then sees unbounded: force
	 * the check onto the register used.
	 */
	barrier_var(b);
	if (b >= CGS_SYSCALLS_BUCKETS)
		b = CGS_SYSCALLS_BUCKETS - 1;
	h = &s->cls[*cls & (CGS_SC_COUNT - 1)];
	h->buckets[b]++;
	h->sum_ns += delta;
	if ((unsigned long)ret >= (unsigned long)-4095L)
		h->errors++;
	/* Masked again: `nr` went through the stack as the lookup key and lost its bound there. */
	s->counts[nr & (CGS_SYSCALLS_NR_MAX - 1)]++;
}

/* ---- sys_enter: the same for every variant ------------------------------- */

static __always_inline int on_enter(struct pt_regs *regs, long id)
{
	struct cpu_state *c = this_cpu();
	int idx;

	if (!c)
		return 0;
	idx = current_index(c);
	c->regs = (__u64)regs;
	if (idx < 0) {
		c->ts = 0;
		return 0;
	}
	c->slot = idx;
	c->nr = (unsigned long)id < CGS_SYSCALLS_NR_OTHER ? (__u32)id : CGS_SYSCALLS_NR_OTHER;
	c->ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(handle_sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(regs, id);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(handle_sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_enter(regs, id);
}

/* ---- cgroup migrations: every CPU re-reads its task's cgroup ------------- */

SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(handle_cgroup_attach_task)
{
	__sync_fetch_and_add(&migrations, 1);
	return 0;
}

SEC("raw_tp/cgroup_attach_task")
int BPF_PROG(handle_cgroup_attach_task_raw)
{
	__sync_fetch_and_add(&migrations, 1);
	return 0;
}

/* ---- save areas: where a syscall in flight waits while its task is off CPU */

/* Task local storage. */
static __always_inline struct saved_call *storage_get(bool create)
{
	return bpf_task_storage_get(&saved_calls, bpf_get_current_task_btf(), NULL,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* Thread-id hash: updated only when a measured syscall is switched out. */
static __always_inline struct saved_call *hash_get(bool create)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct saved_call *sv = bpf_map_lookup_elem(&saved_calls_hash, &tid);
	struct saved_call init = {};

	if (sv || !create)
		return sv;
	bpf_map_update_elem(&saved_calls_hash, &tid, &init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&saved_calls_hash, &tid);
}

static __always_inline struct saved_call *saved_get(bool hash, bool create)
{
	return hash ? hash_get(create) : storage_get(create);
}

/* ---- sys_exit and sched_switch -------------------------------------------- */

/*
 * The record on this CPU is this syscall's when it carries these regs (it
 * is cleared at every switch); otherwise the syscall, if measured, was
 * saved when its task was switched out.
 */
static __always_inline int on_exit(struct pt_regs *regs, long ret, bool hash)
{
	struct cpu_state *c = this_cpu();
	struct saved_call *sv;
	__u64 ts;

	if (!c)
		return 0;
	if (c->regs == (__u64)regs) {
		ts = c->ts;
		if (ts) {
			c->ts = 0;
			account(ts, c->nr, (__u32)c->slot, ret);
		}
		return 0;
	}
	sv = saved_get(hash, false);
	if (sv && sv->ts) {
		ts = sv->ts;
		sv->ts = 0;
		account(ts, sv->nr, (__u32)sv->slot, ret);
	}
	return 0;
}

/*
 * Current is still prev here. The next task must not use this CPU's slot
 * cache or record; a measured syscall in flight moves to prev's save area.
 */
static __always_inline int on_switch(bool hash)
{
	struct cpu_state *c = this_cpu();
	struct saved_call *sv;

	if (!c)
		return 0;
	c->valid = 0;
	c->regs = 0;
	if (!c->ts)
		return 0;
	sv = saved_get(hash, true);
	if (sv) {
		sv->nr = c->nr;
		sv->slot = c->slot;
		sv->ts = c->ts;
	}
	c->ts = 0;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(regs, ret, false);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(handle_sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_exit(regs, ret, false);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit_hash, struct pt_regs *regs, long ret)
{
	return on_exit(regs, ret, true);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(handle_sys_exit_hash_raw, struct pt_regs *regs, long ret)
{
	return on_exit(regs, ret, true);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(handle_sched_switch)
{
	return on_switch(false);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(handle_sched_switch_raw)
{
	return on_switch(false);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(handle_sched_switch_hash)
{
	return on_switch(true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(handle_sched_switch_hash_raw)
{
	return on_switch(true);
}
