// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Scheduler collector, kernel side: run-queue latency, context switches and
 * on-CPU time per container. tp_btf programs with raw_tp twins (chosen by
 * probing in userspace); neither needs tracefs. Two designs, the first the
 * kernel allows is loaded:
 *
 * "rq" (sched_switch only). The kernel already stamps every wait: a task
 * made runnable (woken, new, or preempted and put back) gets
 * sched_info.last_queued = rq_clock(), and sched_info_arrive() turns it
 * into run_delay when the task gets a CPU, which happens after the
 * sched_switch tracepoint. So at sched_switch the wait of `next` is
 * rq->clock - next->sched_info.last_queued, the very figure the kernel adds
 * to /proc/<pid>/schedstat, with no clock read and no wakeup program: the
 * two wakeup tracepoints (about as frequent as switches) cost nothing. Both
 * the wait and the on-CPU stretch (rq->clock_task, the clock cpu.stat
 * usage runs on) are kept per CPU with the thread switched in, and
 * accounted to its container when that thread leaves the CPU: then it is
 * current, so its container is a per-CPU cache hit on its cgroup id. No
 * task storage, no helper but the map lookups.
 *
 * "wakeup" (where the kernel lacks the symbol or sched_info): a thread's
 * wait starts when it is woken (sched_wakeup/_new) or when it is
 * switched out still runnable and ends when it is switched in, timed
 * with bpf_ktime_get_ns(). Per-thread wait starts and container-slot
 * caches live in task local storage (tp_btf) or a hash by tid (raw_tp
 * twins, where the kernel lacks tp_btf or task storage).
 *
 * Both: the per-container sums in a per-CPU array indexed by slot: no
 * atomics and no shared-hash update per event. Threads outside containers
 * stop after the slot lookup unless include_host is set (then they count
 * for slot 0).
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
	struct cgs_slot_cache cache;
};

CGS_TASK_STATE(task_sched, struct task_sched)

/*
 * The thread each CPU switched in last, so that switching it out (the
 * commonest event there is) needs no task-storage lookup unless it was
 * preempted: its container slot as resolved at switch-in, checked against
 * its cgroup now, and the start of its stretch on the CPU.
 */
struct cpu_cur {
	__u64 on_ts;
	__u64 cgid;
	__u64 gen;
	__u32 tid; /* 0: unknown (idle, or not seen switching in) */
	__s32 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_cur);
} cpu_cur SEC(".maps");

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

static __always_inline __u64 slots_gen(void)
{
	__u32 zero = 0;
	struct cgs_slots_meta *m = bpf_map_lookup_elem(&cgs_slots_meta, &zero);

	return m ? m->gen : 0;
}

static __always_inline void on_wakeup(struct task_struct *p, bool btf)
{
	struct task_sched *s;

	/* Woken while still on a CPU (before it could block): no wait begins. */
	if (cgs_task_on_cpu(p, btf))
		return;
	s = task_sched_get(p, btf);
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
	struct task_sched *s = NULL;
	struct cpu_cur *c;
	__u64 now = bpf_ktime_get_ns();
	__u32 zero = 0, tid = cgs_task_tid(prev, btf);
	int slot;

	c = bpf_map_lookup_elem(&cpu_cur, &zero);
	if (!c)
		return;

	/* prev is the current thread, leaving the CPU (pid 0: the idle task). */
	if (tid) {
		bool known = c->tid == tid;

		if (known && c->cgid == bpf_get_current_cgroup_id() && c->gen == slots_gen()) {
			slot = c->slot;
		} else {
			/* Not seen switching in, or it moved to another cgroup meanwhile. */
			s = task_sched_get(prev, btf);
			slot = s ? cgs_slot_current(&s->cache) : CGS_SLOT_NONE;
		}
		st = stats_of(slot);
		if (st) {
			if (known && now > c->on_ts)
				st->oncpu_ns += now - c->on_ts;
			if (preempt || cgs_task_state(prev, btf) == 0) {
				/* Still runnable: back on the run queue from now. */
				st->involuntary++;
				if (!s)
					s = task_sched_get(prev, btf);
				if (s)
					s->enq_ts = now;
			} else {
				st->voluntary++;
			}
		}
	}

	c->tid = 0;
	tid = cgs_task_tid(next, btf);
	if (tid && (s = task_sched_get(next, btf))) {
		slot = cgs_slot_task(next, &s->cache, btf);
		st = stats_of(slot);
		if (st && s->enq_ts && now > s->enq_ts) {
			__u64 d = now - s->enq_ts;
			__u32 b = cgs_hist_bucket_ns(d);

			st->delay_ns += d;
			barrier_var(b); /* the bound check below must apply to the index used */
			if (b < CGS_SCHED_HIST_BUCKETS)
				st->hist[b]++;
		}
		s->enq_ts = 0;
		c->tid = tid;
		c->slot = slot;
		c->cgid = s->cache.cgid;
		c->gen = s->cache.gen;
		c->on_ts = now;
	}
}

/* ---- "rq": sched_switch alone, on the kernel's own wait stamps ----------- */

/*
 * The clocks of the run queue of this CPU, through the running task's CFS
 * run queue (every task has one, whatever its class: set_task_rq() points it
 * at the CPU the task is on). struct cfs_rq::rq exists with
 * CONFIG_FAIR_GROUP_SCHED; without it the CFS run queue is the one embedded
 * in its rq. Not through the per-CPU `runqueues` symbol:
 * resolving a data symbol needs CONFIG_KALLSYMS_ALL, which many kernels lack.
 */
static __always_inline void rq_clocks(struct task_struct *cur, bool btf, __u64 *clock, __u64 *clock_task)
{
	struct cfs_rq *cfs = btf ? cur->se.cfs_rq : BPF_CORE_READ(cur, se.cfs_rq);
	struct rq *rq;

	if (bpf_core_field_exists(cfs->rq)) {
		rq = btf ? cfs->rq : BPF_CORE_READ(cfs, rq);
	} else {
		rq = (struct rq *)((char *)cfs - bpf_core_field_offset(struct rq, cfs));
		btf = false; /* computed: read through bpf_probe_read_kernel */
	}
	*clock = btf ? rq->clock : BPF_CORE_READ(rq, clock);
	*clock_task = btf ? rq->clock_task : BPF_CORE_READ(rq, clock_task);
}

#define CPU_RQ_CACHE 4 /* cgroup ids remembered per CPU (direct-mapped by the id's low bits) */

struct cpu_rq {
	__u64 on_clock; /* rq->clock_task when `tid` was switched in */
	__u64 delay;    /* the wait that ended then, ns (valid if waited) */
	__u32 tid;      /* the thread switched in last; 0: none (idle, or not seen switching in) */
	__u32 waited;   /* it had been queued: delay is one run-queue wait */
	/* cgroup id -> slot of threads that left this CPU, valid while gen is the slots' generation */
	__u64 cgid[CPU_RQ_CACHE];
	__u64 gen[CPU_RQ_CACHE];
	__s32 slot[CPU_RQ_CACHE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_rq);
} cpu_rq SEC(".maps");

static __always_inline void on_switch_rq(bool preempt, struct task_struct *prev, struct task_struct *next,
					 bool btf)
{
	struct cgs_sched_slot_stats *st;
	__u64 clock, clock_task;
	__u32 zero = 0, tid = cgs_task_tid(prev, btf);
	struct cpu_rq *c = bpf_map_lookup_elem(&cpu_rq, &zero);

	if (!c)
		return;
	rq_clocks(prev, btf, &clock, &clock_task);
	/* prev is the current thread, leaving the CPU (pid 0: the idle task). */
	if (tid) {
		__u64 cgid = bpf_get_current_cgroup_id(), gen = slots_gen();
		__u32 i = (__u32)cgid & (CPU_RQ_CACHE - 1);
		int slot;

		if (c->cgid[i] == cgid && c->gen[i] == gen) {
			slot = c->slot[i];
		} else {
			slot = cgs_slot_of_cgroup(cgid);
			c->cgid[i] = cgid;
			c->gen[i] = gen;
			c->slot[i] = slot;
		}
		st = stats_of(slot);
		if (st) {
			if (c->tid == tid) {
				if (clock_task > c->on_clock)
					st->oncpu_ns += clock_task - c->on_clock;
				if (c->waited) {
					__u32 b = cgs_hist_bucket_ns(c->delay);

					st->delay_ns += c->delay;
					barrier_var(b); /* the bound check below must apply to the index used */
					if (b < CGS_SCHED_HIST_BUCKETS)
						st->hist[b]++;
				}
			}
			/* Still runnable: preempted (the kernel queues it again and stamps the wait). */
			if (preempt || cgs_task_state(prev, btf) == 0)
				st->involuntary++;
			else
				st->voluntary++;
		}
	}

	c->tid = 0;
	tid = cgs_task_tid(next, btf);
	if (tid) {
		/* Cleared by sched_info_arrive() right after this tracepoint. */
		__u64 q = btf ? next->sched_info.last_queued : BPF_CORE_READ(next, sched_info.last_queued);

		c->tid = tid;
		c->on_clock = clock_task;
		c->waited = q != 0;
		c->delay = q && clock > q ? clock - q : 0;
	}
}

SEC("tp_btf/sched_switch")
int BPF_PROG(handle_sched_switch_rq, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch_rq(preempt, prev, next, true);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(handle_sched_switch_rq_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch_rq(preempt, prev, next, false);
	return 0;
}

/* ---- "wakeup": wakeup and switch programs, timed with bpf_ktime_get_ns() --- */

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
