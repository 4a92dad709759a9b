/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scheduler collector (bpf/sched.bpf.c -> container_cpu_delay_seconds_total,
 * container_cpu_runqueue_latency_seconds, container_context_switches_total):
 * the pure helpers that turn the kernel's per-CPU accumulators into samples,
 * and a reader of one slot's totals (tests and the benchmark harness use it
 * for the on-CPU time, which is not exported: cgroupfs already exports CPU
 * usage as container_cpu_usage_seconds_total).
 * Include <linux/types.h> before this header.
 */
#ifndef CGS_COLLECTORS_SCHED_H
#define CGS_COLLECTORS_SCHED_H

#include "../agent/samples.h"
#include "../bpf/sched_stats.h"

extern const struct cgs_collector_ops cgs_collector_sched;

/* Sums `ncpu` per-CPU values into *out. */
void cgs_sched_sum(const struct cgs_sched_slot_stats *percpu, unsigned ncpu,
		   struct cgs_sched_slot_stats *out);

/* Appends one container's scheduler samples: delay, switches by type, and the histogram once it has a count. */
void cgs_sched_emit(const struct cgs_sched_slot_stats *t, struct cgs_samples *out);

/* The totals of `slot` over every CPU, on-CPU time included. 0 or -errno. */
int cgs_sched_read_slot(void *state, int slot, struct cgs_sched_slot_stats *out);

/* The programs in use: "tp_btf" or "raw_tp", with "task storage" or "tid hash". */
void cgs_sched_variant(void *state, const char **progs, const char **task_state);

#endif
