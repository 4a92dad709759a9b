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

/*
 * container_syscalls_total{syscall}: the top K (1..CGS_SYSCALLS_TOP_MAX,
 * config syscalls_top_k) named syscalls by count get their own series, the
 * rest is summed in syscall="other". The set of syscalls exported changes
 * only when the container is collected (cgs_syscall_stats_settle, right
 * before its samples are taken), and it is sticky:
 *  - a syscall that ranks in the top K joins the set;
 *  - it stays there when it falls out of the top K: the set holds up to
 *    K + CGS_SYSCALLS_SLACK(K) syscalls, so ranks that swap around the K-th
 *    place do not make series come and go;
 *  - only when a new top-K syscall finds the set full does a member leave
 *    it: the one with the fewest calls among those outside the top K.
 * Every call is counted once: in its syscall's series if the syscall is in
 * the set from the collection before the call to the one after it, else in
 * "other". So every series only grows, starts from 0 and ends on its last
 * exported value (one that comes back resumes from it), "other" only grows,
 * and a rate summed over the `syscall` label is the container's exact call
 * rate: every call is an increase between two exported values. Exception:
 * at a container's first collection, before which none of its series
 * existed, the top K's series start with their calls so far.
 */
#define CGS_SYSCALLS_TOP_MAX 100
#define CGS_SYSCALLS_SLACK(k) (((k) + 3) / 4)
#define CGS_SYSCALLS_SET_MAX (CGS_SYSCALLS_TOP_MAX + CGS_SYSCALLS_SLACK(CGS_SYSCALLS_TOP_MAX))

struct cgs_syscall_stats {
	uint64_t buckets[CGS_SC_COUNT][CGS_SYSCALLS_BUCKETS];
	uint64_t errors[CGS_SC_COUNT];
	uint64_t sum_ns[CGS_SC_COUNT];
	uint64_t counts[CGS_SYSCALLS_NR_MAX];    /* every call since the slot was reset */
	uint64_t unexported[CGS_SYSCALLS_NR_MAX]; /* of which folded while not exported (in "other") */
	uint64_t other;                          /* sum of unexported */
	uint16_t set[CGS_SYSCALLS_SET_MAX];      /* exported syscalls, in no particular order */
	uint64_t set_value[CGS_SYSCALLS_SET_MAX]; /* their values at the last settle */
	unsigned nset;
	bool exported[CGS_SYSCALLS_NR_MAX];
	uint16_t top[CGS_SYSCALLS_TOP_MAX];      /* the last settle's top K, by count descending */
	unsigned ntop;
	bool settled;                            /* settled since the reset */
};

void cgs_syscall_stats_reset(struct cgs_syscall_stats *st);

/*
 * Folds `ncpus` per-CPU records of one slot (as a per-CPU array lookup
 * returns them) into `st`: the calls of syscalls in the set go to their
 * series, the others to "other". The set does not change.
 */
void cgs_syscall_stats_fold(struct cgs_syscall_stats *st, const struct cgs_syscalls_slot *percpu,
			    int ncpus);

/*
 * Before the samples are taken: ranks the top `top_k` named syscalls by
 * count (ties: lower number first; top_k is clamped to
 * 1..CGS_SYSCALLS_TOP_MAX) and updates the exported set (see above).
 */
void cgs_syscall_stats_settle(struct cgs_syscall_stats *st, unsigned top_k);

/* container_syscalls_total{syscall=<nr>} while nr is exported; after it left, the value it ended on. */
static inline uint64_t cgs_syscall_stats_value(const struct cgs_syscall_stats *st, unsigned nr)
{
	return st->counts[nr] - st->unexported[nr];
}

/*
 * Appends the samples of one container: container_syscalls_total{syscall}
 * for the exported set and "other", and for every class that saw a call
 * container_syscall_latency_seconds{class} (the kernel's log2 buckets merged
 * into the family's coarser bounds) and container_syscall_errors_total{class}.
 * Samples the cardinality budget leaves out are counted there, not here.
 * 0, or the number of samples that could not be added for another reason.
 */
int cgs_syscall_stats_emit(const struct cgs_syscall_stats *st, struct cgs_samples *out);

/*
 * Accumulator records: the kernel keeps per-CPU accumulators for at most
 * `nidx` containers, fewer than the container slots when bpf_max_containers
 * is large. A slot gives its record back when its container goes; a slot
 * that finds none free takes one back from a slot no container holds any
 * more.
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
/* Frees the record of `slot` (its container is gone); returns it, or CGS_SYSCALL_NO_RECORD. */
uint32_t cgs_syscall_records_release(struct cgs_syscall_records *r, uint32_t slot);
/*
 * Frees the records of slots that `live` (nslots flags) says no container
 * holds, except `keep`; calls gone(arg, slot) for each. Returns how many.
 */
unsigned cgs_syscall_records_reclaim(struct cgs_syscall_records *r, const bool *live, uint32_t keep,
				     void (*gone)(void *arg, uint32_t slot), void *arg);

#endif
