/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One container's syscall statistics in userspace: 64-bit totals folded
 * from the kernel's per-CPU 32-bit counters (bpf/syscalls.h), the top-K
 * syscalls by count, and their samples. Pure (no BPF, no I/O), so the
 * arithmetic is unit-tested on its own.
 *
 * Folding: the kernel counters only grow (until the slot is reset, when
 * these totals are reset too); a fold adds the difference, modulo 2^32,
 * between the sum over CPUs now and at the previous fold. That is exact as
 * long as no single counter grows by 2^32 or more between two folds.
 */
#ifndef CGS_SYSCALL_STATS_H
#define CGS_SYSCALL_STATS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "../agent/samples.h"
#include "../bpf/syscalls.h"

/* Most syscalls exported one by one per container. */
#define CGS_SYSCALLS_TOP_MAX 64

struct cgs_syscall_stats {
	uint64_t buckets[CGS_SC_COUNT][CGS_SYSCALLS_BUCKETS];
	uint64_t errors[CGS_SC_COUNT];
	uint64_t sum_ns[CGS_SC_COUNT];
	uint64_t counts[CGS_SYSCALLS_NR_MAX];
	/* Calls of syscalls that were not in the top K when they were folded. */
	uint64_t other;
	uint16_t top[CGS_SYSCALLS_TOP_MAX]; /* syscall numbers, by count descending */
	unsigned ntop;
	bool in_top[CGS_SYSCALLS_NR_MAX];
};

void cgs_syscall_stats_reset(struct cgs_syscall_stats *st);

/*
 * Folds `ncpus` per-CPU records of one slot (as a per-CPU array lookup
 * returns them) into `st`, then recomputes the top `top_k` named syscalls
 * by count (ties: lower number first). Calls of syscalls outside that top
 * K are added to `other` as they are folded, so every exported counter
 * only grows whatever the ranking does.
 */
void cgs_syscall_stats_fold(struct cgs_syscall_stats *st, const struct cgs_syscalls_slot *percpu,
			    int ncpus, unsigned top_k);

/*
 * Appends the samples of one container: container_syscalls_total{syscall}
 * for the top K and "other", and for every class that saw a call
 * container_syscall_latency_seconds{class} and
 * container_syscall_errors_total{class}. 0, or the number of samples that
 * could not be added.
 */
int cgs_syscall_stats_emit(const struct cgs_syscall_stats *st, struct cgs_samples *out);

/*
 * Accumulator records: the kernel keeps per-CPU accumulators for at most
 * `nidx` containers, fewer than the container slots when bpf_max_containers
 * is large. A slot keeps its record across reuse; a slot that finds none
 * free takes one back from a slot no container holds any more.
 */
#define CGS_SYSCALL_NO_RECORD UINT32_MAX

struct cgs_syscall_records {
	uint32_t nslots, nidx;
	uint32_t *slot_idx; /* per slot: its record, or CGS_SYSCALL_NO_RECORD */
	uint32_t *idx_slot; /* per record: its slot, or CGS_SYSCALL_NO_RECORD (free) */
};

/* 0 or -ENOMEM. */
int cgs_syscall_records_init(struct cgs_syscall_records *r, uint32_t nslots, uint32_t nidx);
void cgs_syscall_records_free(struct cgs_syscall_records *r);
/* The record of `slot`, or CGS_SYSCALL_NO_RECORD. */
uint32_t cgs_syscall_records_of(const struct cgs_syscall_records *r, uint32_t slot);
/* Gives `slot` its record or a free one; CGS_SYSCALL_NO_RECORD when none is free. */
uint32_t cgs_syscall_records_assign(struct cgs_syscall_records *r, uint32_t slot);
/*
 * Frees the records of slots that `live` (nslots flags) says no container
 * holds, except `keep`; calls gone(arg, slot) for each. Returns how many.
 */
unsigned cgs_syscall_records_reclaim(struct cgs_syscall_records *r, const bool *live, uint32_t keep,
				     void (*gone)(void *arg, uint32_t slot), void *arg);

#endif
