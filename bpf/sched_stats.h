/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wire format of the scheduler collector: the per-container accumulators
 * bpf/sched.bpf.c keeps in a per-CPU array indexed by container slot, read
 * and summed over CPUs by collectors/sched.c. Durations in nanoseconds.
 * (Not named sched.h: bpf/ is on the include path and would shadow <sched.h>.)
 */
#ifndef CGS_BPF_SCHED_STATS_H
#define CGS_BPF_SCHED_STATS_H

/* log2 buckets of bpf/lib/hist.bpf.h: 23 finite bounds (1 us .. 2^22 us) + overflow. */
#define CGS_SCHED_HIST_BUCKETS 24

struct cgs_sched_slot_stats {
	__u64 delay_ns;    /* run-queue latency summed: wakeup or preemption -> on CPU */
	__u64 oncpu_ns;    /* time on CPU: switch in -> switch out */
	__u64 voluntary;   /* switches out while blocking */
	__u64 involuntary; /* switches out while still runnable (preempted) */
	__u64 hist[CGS_SCHED_HIST_BUCKETS]; /* run-queue latency, one count per wait */
};

_Static_assert(sizeof(struct cgs_sched_slot_stats) == 32 + 8 * CGS_SCHED_HIST_BUCKETS,
	       "cgs_sched_slot_stats layout");

#endif
