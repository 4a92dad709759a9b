/* SPDX-License-Identifier: Apache-2.0 */
/* Per-container syscall statistics: folding, top K, samples; see syscall_stats.h. */
#include "syscall_stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "syscall_table.h"

void cgs_syscall_stats_reset(struct cgs_syscall_stats *st)
{
	memset(st, 0, sizeof(*st));
}

/* Adds to a 64-bit total whose low 32 bits mirror the kernel sum what that sum grew by. */
static inline uint64_t fold32(uint64_t total, uint32_t now)
{
	return total + (uint32_t)(now - (uint32_t)total);
}

/* Sums of the per-CPU records, in 32-bit arithmetic like the counters themselves. */
struct sums {
	uint32_t buckets[CGS_SC_COUNT][CGS_SYSCALLS_BUCKETS];
	uint32_t errors[CGS_SC_COUNT];
	uint64_t sum_ns[CGS_SC_COUNT];
	uint32_t counts[CGS_SYSCALLS_NR_MAX];
};

static void sum_cpus(struct sums *x, const struct cgs_syscalls_slot *percpu, int ncpus)
{
	memset(x, 0, sizeof(*x));
	for (int cpu = 0; cpu < ncpus; cpu++) {
		const struct cgs_syscalls_slot *r = &percpu[cpu];

		for (int c = 0; c < CGS_SC_COUNT; c++) {
			for (int b = 0; b < CGS_SYSCALLS_BUCKETS; b++)
				x->buckets[c][b] += r->cls[c].buckets[b];
			x->errors[c] += r->cls[c].errors;
			x->sum_ns[c] += r->cls[c].sum_ns;
		}
		for (int n = 0; n < CGS_SYSCALLS_NR_MAX; n++)
			x->counts[n] += r->counts[n];
	}
}

/* Whether syscall a ranks before syscall b. */
static inline bool ranks_before(const struct cgs_syscall_stats *st, unsigned a, unsigned b)
{
	return st->counts[a] > st->counts[b] || (st->counts[a] == st->counts[b] && a < b);
}

static unsigned clamp_k(unsigned k)
{
	return k < 1 ? 1 : k > CGS_SYSCALLS_TOP_MAX ? CGS_SYSCALLS_TOP_MAX : k;
}

/* The top k named syscalls with calls, by count, into st->top. */
static void rank(struct cgs_syscall_stats *st, unsigned k)
{
	unsigned n = 0;

	/* Insertion into a sorted array of at most k: 512 x k comparisons. */
	for (unsigned nr = 0; nr < CGS_SYSCALLS_NR_MAX; nr++) {
		unsigned i;

		if (!st->counts[nr] || !cgs_syscall_name(nr))
			continue;
		if (n == k && !ranks_before(st, nr, st->top[n - 1]))
			continue;
		i = n < k ? n++ : n - 1;
		while (i > 0 && ranks_before(st, nr, st->top[i - 1])) {
			st->top[i] = st->top[i - 1];
			i--;
		}
		st->top[i] = (uint16_t)nr;
	}
	st->ntop = n;
}

/*
 * Brings every syscall of the top K into the exported set. A full set first
 * loses its member that ranks last among those outside the top K: there is
 * always one, as the set holds more than K syscalls and the newcomer is not
 * in it yet. A member that leaves ends on the value it had at the last
 * settle (the one exported): its calls since then go to "other".
 */
static void update_set(struct cgs_syscall_stats *st, unsigned k)
{
	unsigned cap = k + CGS_SYSCALLS_SLACK(k);
	bool in_top[CGS_SYSCALLS_NR_MAX] = { false };

	for (unsigned i = 0; i < st->ntop; i++)
		in_top[st->top[i]] = true;
	for (unsigned i = 0; i < st->ntop; i++) {
		unsigned nr = st->top[i];

		if (st->exported[nr])
			continue;
		if (st->nset >= cap) {
			unsigned victim = st->nset, v;
			uint64_t since;

			for (unsigned j = 0; j < st->nset; j++)
				if (!in_top[st->set[j]] &&
				    (victim == st->nset || ranks_before(st, st->set[victim], st->set[j])))
					victim = j;
			if (victim == st->nset) /* cannot happen (see above); never outgrow the array */
				continue;
			v = st->set[victim];
			since = cgs_syscall_stats_value(st, v) - st->set_value[victim];
			st->unexported[v] += since;
			st->other += since;
			st->exported[v] = false;
			st->nset--;
			st->set[victim] = st->set[st->nset];
			st->set_value[victim] = st->set_value[st->nset];
		}
		/* Its calls outside the set are in "other": it starts from 0, or resumes where it ended. */
		st->exported[nr] = true;
		st->set[st->nset++] = (uint16_t)nr;
	}
}

void cgs_syscall_stats_fold(struct cgs_syscall_stats *st, const struct cgs_syscalls_slot *percpu,
			    int ncpus)
{
	struct sums x;

	sum_cpus(&x, percpu, ncpus);
	for (int c = 0; c < CGS_SC_COUNT; c++) {
		for (int b = 0; b < CGS_SYSCALLS_BUCKETS; b++)
			st->buckets[c][b] = fold32(st->buckets[c][b], x.buckets[c][b]);
		st->errors[c] = fold32(st->errors[c], x.errors[c]);
		st->sum_ns[c] = x.sum_ns[c];
	}
	for (int n = 0; n < CGS_SYSCALLS_NR_MAX; n++) {
		uint32_t grew = (uint32_t)(x.counts[n] - (uint32_t)st->counts[n]);

		st->counts[n] += grew;
		/* The set only changes at a settle: members' calls go to their series. */
		if (!st->exported[n]) {
			st->unexported[n] += grew;
			st->other += grew;
		}
	}
}

void cgs_syscall_stats_settle(struct cgs_syscall_stats *st, unsigned top_k)
{
	unsigned k = clamp_k(top_k);

	rank(st, k);
	update_set(st, k);
	/*
	 * The first settle: no series of the container was exported before, so
	 * every value exported now is a first one anyway. The top K start with
	 * their calls so far rather than from 0.
	 */
	if (!st->settled) {
		for (unsigned i = 0; i < st->nset; i++) {
			st->other -= st->unexported[st->set[i]];
			st->unexported[st->set[i]] = 0;
		}
		st->settled = true;
	}
	for (unsigned i = 0; i < st->nset; i++)
		st->set_value[i] = cgs_syscall_stats_value(st, st->set[i]);
}

/* A sample the budget left out is counted by the list; any other failure here. */
static inline int failed(int e)
{
	return e < 0 && e != -ENOSPC;
}

int cgs_syscall_stats_emit(const struct cgs_syscall_stats *st, struct cgs_samples *out)
{
	const struct cgs_family *lat = &cgs_families[CGS_M_SYSCALL_LATENCY];
	uint64_t counts[CGS_SYSCALLS_BUCKETS];
	int n = 0;

	_Static_assert(CGS_SYSCALLS_BUCKETS == CGS_LOG2_US_NBOUNDS + 1, "kernel buckets are the log2 ones");
	for (unsigned i = 0; i < st->nset; i++)
		n += failed(cgs_samples_add_l(out, CGS_M_SYSCALLS, cgs_syscall_name(st->set[i]), NULL,
					      (double)cgs_syscall_stats_value(st, st->set[i])));
	n += failed(cgs_samples_add_l(out, CGS_M_SYSCALLS, "other", NULL, (double)st->other));
	for (int c = 0; c < CGS_SC_COUNT; c++) {
		uint64_t calls = 0;

		for (int b = 0; b < CGS_SYSCALLS_BUCKETS; b++)
			calls += st->buckets[c][b];
		if (!calls)
			continue;
		cgs_hist_rebucket(cgs_log2_us_bounds, CGS_LOG2_US_NBOUNDS, st->buckets[c], lat->bounds,
				  lat->nbounds, counts);
		n += failed(cgs_samples_add_hist(out, CGS_M_SYSCALL_LATENCY, cgs_syscall_class_names[c], counts,
						 (double)st->sum_ns[c] / 1e9));
		n += failed(cgs_samples_add_l(out, CGS_M_SYSCALL_ERRORS, cgs_syscall_class_names[c], NULL,
					      (double)st->errors[c]));
	}
	return n;
}

int cgs_syscall_records_init(struct cgs_syscall_records *r, uint32_t nslots, uint32_t nidx)
{
	memset(r, 0, sizeof(*r));
	r->slot_idx = malloc((size_t)nslots * sizeof(*r->slot_idx));
	r->idx_slot = malloc((size_t)nidx * sizeof(*r->idx_slot));
	if (!r->slot_idx || !r->idx_slot) {
		cgs_syscall_records_free(r);
		return -ENOMEM;
	}
	r->nslots = nslots;
	r->nidx = nidx;
	for (uint32_t i = 0; i < nslots; i++)
		r->slot_idx[i] = CGS_SYSCALL_NO_RECORD;
	for (uint32_t i = 0; i < nidx; i++)
		r->idx_slot[i] = CGS_SYSCALL_NO_RECORD;
	return 0;
}

void cgs_syscall_records_free(struct cgs_syscall_records *r)
{
	free(r->slot_idx);
	free(r->idx_slot);
	memset(r, 0, sizeof(*r));
}

uint32_t cgs_syscall_records_of(const struct cgs_syscall_records *r, uint32_t slot)
{
	return slot < r->nslots ? r->slot_idx[slot] : CGS_SYSCALL_NO_RECORD;
}

uint32_t cgs_syscall_records_assign(struct cgs_syscall_records *r, uint32_t slot)
{
	if (slot >= r->nslots)
		return CGS_SYSCALL_NO_RECORD;
	if (r->slot_idx[slot] != CGS_SYSCALL_NO_RECORD)
		return r->slot_idx[slot];
	/* The slot's own number first: with as many records as slots, record == slot. */
	if (slot < r->nidx && r->idx_slot[slot] == CGS_SYSCALL_NO_RECORD) {
		r->idx_slot[slot] = slot;
		return r->slot_idx[slot] = slot;
	}
	for (uint32_t idx = 0; idx < r->nidx; idx++) {
		if (r->idx_slot[idx] == CGS_SYSCALL_NO_RECORD) {
			r->idx_slot[idx] = slot;
			return r->slot_idx[slot] = idx;
		}
	}
	return CGS_SYSCALL_NO_RECORD;
}

uint32_t cgs_syscall_records_release(struct cgs_syscall_records *r, uint32_t slot)
{
	uint32_t idx = cgs_syscall_records_of(r, slot);

	if (idx == CGS_SYSCALL_NO_RECORD)
		return idx;
	r->slot_idx[slot] = CGS_SYSCALL_NO_RECORD;
	r->idx_slot[idx] = CGS_SYSCALL_NO_RECORD;
	return idx;
}

unsigned cgs_syscall_records_reclaim(struct cgs_syscall_records *r, const bool *live, uint32_t keep,
				     void (*gone)(void *arg, uint32_t slot), void *arg)
{
	unsigned n = 0;

	for (uint32_t idx = 0; idx < r->nidx; idx++) {
		uint32_t slot = r->idx_slot[idx];

		if (slot == CGS_SYSCALL_NO_RECORD || slot == keep || live[slot])
			continue;
		cgs_syscall_records_release(r, slot);
		if (gone)
			gone(arg, slot);
		n++;
	}
	return n;
}
