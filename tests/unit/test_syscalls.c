/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the syscall collector's userspace half: the number -> name
 * table, the class mapping, folding of the kernel's per-CPU 32-bit
 * counters (wrap-around included), the top K with "other", the samples,
 * and the pool of accumulator records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/syscall_stats.h"
#include "collectors/syscall_table.h"

static unsigned nr_of(const char *name)
{
	for (unsigned nr = 0; nr < CGS_SYSCALLS_NR_MAX; nr++)
		if (cgs_syscall_name(nr) && strcmp(cgs_syscall_name(nr), name) == 0)
			return nr;
	fail_msg("no syscall named %s", name);
	return 0;
}

static void test_names(void **state)
{
	(void)state;
#if defined(__x86_64__)
	assert_string_equal(cgs_syscall_name(0), "read");
	assert_string_equal(cgs_syscall_name(35), "nanosleep");
	assert_string_equal(cgs_syscall_name(110), "getppid");
	assert_string_equal(cgs_syscall_name(202), "futex");
	assert_string_equal(cgs_syscall_name(257), "openat");
	assert_string_equal(cgs_syscall_name(435), "clone3");
	assert_string_equal(cgs_syscall_name(470), "listns");
	assert_null(cgs_syscall_name(335)); /* the gap before 424 */
	assert_null(cgs_syscall_name(512)); /* x32 */
#elif defined(__aarch64__)
	assert_string_equal(cgs_syscall_name(63), "read");
	assert_string_equal(cgs_syscall_name(173), "getppid");
#endif
	assert_null(cgs_syscall_name(CGS_SYSCALLS_NR_OTHER));
	assert_null(cgs_syscall_name(100000));
	assert_true(cgs_syscall_nr_count() <= CGS_SYSCALLS_NR_OTHER);
}

static void test_classes(void **state)
{
	uint32_t table[CGS_SYSCALLS_NR_MAX];

	(void)state;
	assert_int_equal(cgs_syscall_class_of_name("nanosleep"), CGS_SC_SLEEP);
	assert_int_equal(cgs_syscall_class_of_name("clock_nanosleep"), CGS_SC_SLEEP);
	assert_int_equal(cgs_syscall_class_of_name("futex"), CGS_SC_SYNC);
	assert_int_equal(cgs_syscall_class_of_name("openat"), CGS_SC_FILE_IO);
	assert_int_equal(cgs_syscall_class_of_name("recvfrom"), CGS_SC_NET_IO);
	assert_int_equal(cgs_syscall_class_of_name("epoll_wait"), CGS_SC_POLL);
	assert_int_equal(cgs_syscall_class_of_name("getppid"), CGS_SC_PROCESS);
	assert_int_equal(cgs_syscall_class_of_name("mmap"), CGS_SC_MEMORY);
	assert_int_equal(cgs_syscall_class_of_name("clock_gettime"), CGS_SC_OTHER);
	assert_int_equal(cgs_syscall_class_of_name("no_such_syscall"), CGS_SC_OTHER);
	assert_int_equal(cgs_syscall_class_of_name(NULL), CGS_SC_OTHER);
	cgs_syscall_classes_fill(table);
	assert_int_equal(table[nr_of("getppid")], CGS_SC_PROCESS);
	assert_int_equal(table[nr_of("nanosleep")], CGS_SC_SLEEP);
	assert_int_equal(table[CGS_SYSCALLS_NR_OTHER], CGS_SC_OTHER);
	for (unsigned nr = 0; nr < CGS_SYSCALLS_NR_MAX; nr++)
		assert_true(table[nr] < CGS_SC_COUNT);
	for (int c = 0; c < CGS_SC_COUNT; c++)
		assert_non_null(cgs_syscall_class_names[c]);
	assert_string_equal(cgs_syscall_class_names[CGS_SC_FILE_IO], "file_io");
	assert_string_equal(cgs_syscall_class_names[CGS_SC_OTHER], "other");
}

#if defined(__x86_64__)
/* Every name the class mapping lists is a real x86_64 syscall (catches typos), listed once. */
static void test_class_names_exist(void **state)
{
	const char *name, *prev;
	unsigned cls, pcls;
	size_t i;

	(void)state;
	for (i = 0; cgs_syscall_class_entry(i, &name, &cls); i++) {
		bool found = false;

		for (unsigned nr = 0; nr < CGS_SYSCALLS_NR_MAX && !found; nr++)
			found = cgs_syscall_name(nr) && strcmp(cgs_syscall_name(nr), name) == 0;
		if (!found)
			fail_msg("class mapping names %s, not an x86_64 syscall", name);
		assert_true(cls < CGS_SC_OTHER);
		for (size_t j = 0; j < i; j++) {
			assert_true(cgs_syscall_class_entry(j, &prev, &pcls));
			if (strcmp(prev, name) == 0)
				fail_msg("%s mapped twice", name);
		}
	}
	assert_true(i > 200);
}
#endif

static struct cgs_syscalls_slot *records(int ncpus)
{
	struct cgs_syscalls_slot *r = calloc((size_t)ncpus, sizeof(*r));

	assert_non_null(r);
	return r;
}

/* What a collection does: fold the kernel counters, then settle the exported set. */
static void collect(struct cgs_syscall_stats *st, const struct cgs_syscalls_slot *r, int ncpus, unsigned k)
{
	cgs_syscall_stats_fold(st, r, ncpus);
	cgs_syscall_stats_settle(st, k);
}

static void test_fold_sums_cpus(void **state)
{
	struct cgs_syscall_stats *st = calloc(1, sizeof(*st));
	struct cgs_syscalls_slot *r = records(3);

	(void)state;
	r[0].cls[CGS_SC_SLEEP].buckets[14] = 60;
	r[2].cls[CGS_SC_SLEEP].buckets[14] = 40;
	r[0].cls[CGS_SC_SLEEP].sum_ns = 600000000;
	r[2].cls[CGS_SC_SLEEP].sum_ns = 400000000;
	r[1].cls[CGS_SC_FILE_IO].errors = 7;
	r[0].counts[35] = 60;
	r[2].counts[35] = 40;
	collect(st, r, 3, 10);
	assert_int_equal(st->buckets[CGS_SC_SLEEP][14], 100);
	assert_int_equal(st->sum_ns[CGS_SC_SLEEP], 1000000000);
	assert_int_equal(st->errors[CGS_SC_FILE_IO], 7);
	assert_int_equal(st->counts[35], 100);
	/* A second fold of the same values adds nothing. */
	collect(st, r, 3, 10);
	assert_int_equal(st->buckets[CGS_SC_SLEEP][14], 100);
	assert_int_equal(st->counts[35], 100);
	free(r);
	free(st);
}

static void test_fold_wraps(void **state)
{
	struct cgs_syscall_stats *st = calloc(1, sizeof(*st));
	struct cgs_syscalls_slot *r = records(2);

	(void)state;
	/* Near the top of 32 bits on both CPUs: their sum already wrapped. */
	r[0].counts[110] = 0xfffffff0u;
	r[1].counts[110] = 0x20u;
	r[0].cls[CGS_SC_PROCESS].buckets[0] = 0xfffffff0u;
	collect(st, r, 2, 10);
	assert_int_equal(st->counts[110], 0x10u); /* what a fresh total sees of a wrapped sum */
	/* Both CPUs wrap again: +0x30 on CPU 0 (wrapping), +5 on CPU 1. */
	r[0].counts[110] += 0x30u;
	r[1].counts[110] += 5u;
	r[0].cls[CGS_SC_PROCESS].buckets[0] += 0x30u;
	collect(st, r, 2, 10);
	assert_int_equal(st->counts[110], 0x10u + 0x35u);
	assert_int_equal(st->buckets[CGS_SC_PROCESS][0], 0xfffffff0ull + 0x30u);
	/* Growth beyond 2^32 in total, folded often enough, is kept exactly. */
	for (int i = 0; i < 5; i++) {
		r[0].counts[110] += 0x40000000u;
		r[1].counts[110] += 0x40000000u;
		collect(st, r, 2, 10);
	}
	assert_int_equal(st->counts[110], 0x45ull + 10ull * 0x40000000ull);
	free(r);
	free(st);
}

/* Whether syscall nr has a series now. */
static bool exported(const struct cgs_syscall_stats *st, unsigned nr)
{
	bool in_set = false;

	for (unsigned i = 0; i < st->nset; i++)
		in_set |= st->set[i] == nr;
	assert_int_equal(in_set, st->exported[nr]);
	return in_set;
}

/*
 * What every fold must keep, against the previous values (`last`, per
 * syscall: its last exported value; `last_other`): exported series and
 * "other" never decrease, also across a syscall's absence from the set;
 * every call is counted once, in "other" or in its syscall's series (the
 * current value of a series that went away included); the top K are
 * exported; the set is bounded.
 */
static void check_invariants(const struct cgs_syscall_stats *st, unsigned k, uint64_t *last,
			     uint64_t *last_other)
{
	uint64_t all = 0, sum = st->other;

	for (unsigned nr = 0; nr < CGS_SYSCALLS_NR_MAX; nr++) {
		uint64_t v = cgs_syscall_stats_value(st, nr);

		all += st->counts[nr];
		sum += v;
		if (!exported(st, nr)) {
			assert_true(v == last[nr]); /* unchanged while away */
			continue;
		}
		if (v < last[nr])
			fail_msg("syscall %u went back from %llu to %llu", nr, (unsigned long long)last[nr],
				 (unsigned long long)v);
		last[nr] = v;
		assert_non_null(cgs_syscall_name(nr));
	}
	if (st->other < *last_other)
		fail_msg("other went back from %llu to %llu", (unsigned long long)*last_other,
			 (unsigned long long)st->other);
	*last_other = st->other;
	assert_int_equal(sum, all);
	assert_true(st->nset <= k + CGS_SYSCALLS_SLACK(k));
	for (unsigned i = 0; i < st->ntop; i++)
		assert_true(exported(st, st->top[i]));
}

/* Series plus "other": every call of the container while no syscall has left the set. */
static uint64_t exported_sum(const struct cgs_syscall_stats *st)
{
	uint64_t sum = st->other;

	for (unsigned i = 0; i < st->nset; i++)
		sum += cgs_syscall_stats_value(st, st->set[i]);
	return sum;
}

static void test_top_k_and_other(void **state)
{
	struct cgs_syscall_stats *st = calloc(1, sizeof(*st));
	struct cgs_syscalls_slot *r = records(1);
	uint64_t all = 1000;

	(void)state;
	for (unsigned nr = 0; nr < 20; nr++) {
		r[0].counts[nr] = 100 + nr; /* 19 ranks first */
		all += 100 + nr;
	}
	r[0].counts[CGS_SYSCALLS_NR_OTHER] = 1000; /* unnamed: never in the top K */
	collect(st, r, 1, 3);
	assert_int_equal(st->ntop, 3);
	assert_int_equal(st->top[0], 19);
	assert_int_equal(st->top[1], 18);
	assert_int_equal(st->top[2], 17);
	assert_int_equal(st->nset, 3);
	assert_true(exported(st, 17) && exported(st, 18) && exported(st, 19));
	assert_false(exported(st, CGS_SYSCALLS_NR_OTHER));
	/* The first fold: the top 3 start with their calls so far, the rest is other. */
	assert_int_equal(cgs_syscall_stats_value(st, 19), 119);
	assert_int_equal(cgs_syscall_stats_value(st, 17), 117);
	assert_int_equal(st->other, all - 119 - 118 - 117);
	r[0].counts[19] += 7;
	r[0].counts[3] += 2;
	collect(st, r, 1, 3);
	assert_int_equal(cgs_syscall_stats_value(st, 19), 126);
	assert_int_equal(st->other, all - 119 - 118 - 117 + 2);
	all += 9;
	/* Syscall 0 overtakes everyone: it joins, 17 falls out of the top 3 but keeps its series. */
	r[0].counts[0] += 1000;
	r[0].counts[16] += 1;
	r[0].counts[17] += 1;
	r[0].counts[18] += 5;
	r[0].counts[19] += 5;
	all += 1012;
	collect(st, r, 1, 3);
	assert_int_equal(st->top[0], 0);
	assert_int_equal(st->top[1], 19);
	assert_int_equal(st->top[2], 18);
	assert_int_equal(st->nset, 4); /* 3 + slack 1 */
	assert_true(exported(st, 0) && exported(st, 17));
	/* 0's calls up to its joining are in other (its series starts from 0), so are 16's. */
	assert_int_equal(cgs_syscall_stats_value(st, 0), 0);
	assert_int_equal(cgs_syscall_stats_value(st, 17), 118);
	assert_int_equal(cgs_syscall_stats_value(st, 18), 123);
	assert_int_equal(cgs_syscall_stats_value(st, 19), 131);
	assert_int_equal(st->other, all - 118 - 123 - 131);
	assert_int_equal(exported_sum(st), all);
	assert_int_equal(st->counts[0], 1100);
	r[0].counts[0] += 3;
	collect(st, r, 1, 3);
	assert_int_equal(cgs_syscall_stats_value(st, 0), 3);
	/* Ties: the lower number first. */
	memset(r, 0, sizeof(*r));
	cgs_syscall_stats_reset(st);
	r[0].counts[5] = 10;
	r[0].counts[3] = 10;
	collect(st, r, 1, 1);
	assert_int_equal(st->ntop, 1);
	assert_int_equal(st->top[0], 3);
	assert_int_equal(st->other, 10);
	/* K is clamped to 1..CGS_SYSCALLS_TOP_MAX. */
	cgs_syscall_stats_reset(st);
	collect(st, r, 1, 0);
	assert_int_equal(st->ntop, 1);
	free(r);
	free(st);
}

/* The exported set: joining, staying thanks to the slack, leaving when full, coming back. */
static void test_sticky_set(void **state)
{
	struct cgs_syscall_stats *st = calloc(1, sizeof(*st));
	struct cgs_syscalls_slot *r = records(2);
	uint64_t last[CGS_SYSCALLS_NR_MAX] = { 0 }, last_other = 0;
	/* Six named syscalls, K = 4: the set holds 4 + 1. */
	const unsigned a = 0, b = 1, c = 2, d = 3, e = 4, f = 5;
	const unsigned k = 4;

	(void)state;
	assert_int_equal(CGS_SYSCALLS_SLACK(k), 1);
	for (unsigned i = 0; i <= f; i++)
		assert_non_null(cgs_syscall_name(i));
	r[0].counts[a] = 100;
	r[1].counts[b] = 90;
	r[0].counts[c] = 80;
	r[1].counts[d] = 70;
	r[0].counts[e] = 60;
	r[1].counts[f] = 50;
	collect(st, r, 2, k);
	check_invariants(st, k, last, &last_other);
	assert_int_equal(st->nset, 4);
	assert_false(exported(st, e) || exported(st, f));
	assert_int_equal(cgs_syscall_stats_value(st, d), 70); /* the first fold */
	assert_int_equal(st->other, 110);

	/* e overtakes: it joins (from 0), d falls out of the top 4 but the slack keeps it. */
	r[0].counts[e] += 50;
	r[1].counts[a] += 10; /* a tie with e: a ranks first */
	r[0].counts[d] += 5;
	collect(st, r, 2, k);
	check_invariants(st, k, last, &last_other);
	assert_int_equal(st->nset, 5);
	assert_true(exported(st, d) && exported(st, e));
	assert_int_equal(cgs_syscall_stats_value(st, e), 0);
	assert_int_equal(cgs_syscall_stats_value(st, a), 110);
	assert_int_equal(cgs_syscall_stats_value(st, d), 75);
	assert_int_equal(st->other, 160);
	assert_int_equal(exported_sum(st), 515);

	/* f overtakes too: the set is full, d (fewest calls outside the top 4, c has more) leaves it. */
	r[1].counts[f] += 100;
	r[1].counts[d] += 3; /* d's series ends on 75: these go to other */
	collect(st, r, 2, k);
	check_invariants(st, k, last, &last_other);
	assert_int_equal(st->nset, 5);
	assert_true(exported(st, f) && exported(st, c));
	assert_false(exported(st, d));
	assert_int_equal(cgs_syscall_stats_value(st, f), 0);
	assert_int_equal(cgs_syscall_stats_value(st, d), 75);
	assert_int_equal(st->other, 263);

	/* d's calls go to other while it has no series (88 calls: still below b's 90)... */
	r[0].counts[d] += 10;
	collect(st, r, 2, k);
	check_invariants(st, k, last, &last_other);
	assert_false(exported(st, d));
	assert_int_equal(st->other, 273);
	/* ... and when it comes back (c leaves: b has more) it resumes from its last value, 75. */
	r[0].counts[d] += 200;
	collect(st, r, 2, k);
	check_invariants(st, k, last, &last_other);
	assert_true(exported(st, d));
	assert_false(exported(st, c));
	assert_int_equal(cgs_syscall_stats_value(st, d), 75);
	assert_int_equal(st->other, 473);
	r[1].counts[d] += 7;
	collect(st, r, 2, k);
	check_invariants(st, k, last, &last_other);
	assert_int_equal(cgs_syscall_stats_value(st, d), 82);
	free(r);
	free(st);
}

/* Two syscalls trading the K-th place at every fold: both keep their series, nothing comes and goes. */
static void test_flapping_is_absorbed(void **state)
{
	struct cgs_syscall_stats *st = calloc(1, sizeof(*st));
	struct cgs_syscalls_slot *r = records(1);
	uint64_t last[CGS_SYSCALLS_NR_MAX] = { 0 }, last_other = 0;
	const unsigned k = 2;

	(void)state;
	r[0].counts[0] = 1000;
	r[0].counts[1] = 100;
	r[0].counts[2] = 99;
	for (int i = 0; i < 50; i++) {
		r[0].counts[0] += 100;
		/* 1 and 2 take the second place in turn (by one call). */
		if (i & 1)
			r[0].counts[2] = r[0].counts[1] + 1;
		else
			r[0].counts[1] = r[0].counts[2] + 1;
		collect(st, r, 1, k);
		check_invariants(st, k, last, &last_other);
		assert_int_equal(st->top[1], 1 + (i & 1));
		if (i > 0) {
			assert_int_equal(st->nset, 3);
			assert_true(exported(st, 0) && exported(st, 1) && exported(st, 2));
			assert_int_equal(exported_sum(st), r[0].counts[0] + r[0].counts[1] + r[0].counts[2]);
		}
	}
	free(r);
	free(st);
}

/*
 * Folds between collections (the wrap-around timer) never change the set;
 * a syscall that leaves it at a collection ends on the value exported at the
 * previous one, the calls folded since go to other.
 */
static void test_folds_between_collections(void **state)
{
	struct cgs_syscall_stats *st = calloc(1, sizeof(*st));
	struct cgs_syscalls_slot *r = records(1);
	const unsigned a = 0, b = 1, c = 2;
	uint64_t other;

	(void)state;
	r[0].counts[a] = 100;
	collect(st, r, 1, 1); /* the first collection: a starts with its 100 */
	assert_int_equal(cgs_syscall_stats_value(st, a), 100);
	r[0].counts[a] += 10;
	r[0].counts[b] += 5;
	cgs_syscall_stats_fold(st, r, 1); /* timer */
	assert_int_equal(cgs_syscall_stats_value(st, a), 110);
	assert_int_equal(st->other, 5);
	r[0].counts[b] += 200;
	cgs_syscall_stats_fold(st, r, 1); /* b overtakes between two collections: no change yet */
	assert_false(exported(st, b));
	assert_int_equal(st->other, 205);
	cgs_syscall_stats_settle(st, 1); /* the collection: b joins from 0, a stays (slack) */
	assert_true(exported(st, a) && exported(st, b));
	assert_int_equal(cgs_syscall_stats_value(st, b), 0);
	assert_int_equal(cgs_syscall_stats_value(st, a), 110);
	r[0].counts[a] += 7;
	r[0].counts[b] += 3;
	r[0].counts[c] += 1000;
	cgs_syscall_stats_fold(st, r, 1); /* timer: a's 7 and b's 3 to their series, c's 1000 to other */
	assert_int_equal(cgs_syscall_stats_value(st, a), 117);
	other = st->other;
	assert_int_equal(other, 1205);
	collect(st, r, 1, 1); /* c joins, the set is full: a leaves, on 110 (exported), its 7 to other */
	assert_true(exported(st, b) && exported(st, c));
	assert_false(exported(st, a));
	assert_int_equal(cgs_syscall_stats_value(st, a), 110);
	assert_int_equal(cgs_syscall_stats_value(st, b), 3);
	assert_int_equal(cgs_syscall_stats_value(st, c), 0);
	assert_int_equal(st->other, other + 7);
	/* Every call once: the series (a's ended on 110) and other. */
	assert_int_equal(110 + 3 + 0 + st->other, st->counts[a] + st->counts[b] + st->counts[c]);
	free(r);
	free(st);
}

/*
 * A deterministic random walk of rates, collected with timer folds in
 * between: the invariants hold at every collection, whatever K.
 */
static void test_invariants_random(void **state)
{
	struct cgs_syscall_stats *st = calloc(1, sizeof(*st));
	struct cgs_syscalls_slot *r = records(2);
	uint64_t *last = calloc(CGS_SYSCALLS_NR_MAX, sizeof(*last));
	uint32_t rate[40];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	assert_non_null(last);
	for (unsigned k = 1; k <= 13; k += 3) {
		uint64_t last_other = 0;
		unsigned changes = 0;

		cgs_syscall_stats_reset(st);
		memset(r, 0, 2 * sizeof(*r));
		memset(last, 0, CGS_SYSCALLS_NR_MAX * sizeof(*last));
		for (int i = 0; i < 40; i++)
			rate[i] = (uint32_t)(i * 7 % 40);
		for (int fold = 0; fold < 300; fold++) {
			bool before[CGS_SYSCALLS_NR_MAX];

			for (int i = 0; i < 40; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				if (x % 50 == 0) /* now and then a syscall's rate jumps */
					rate[i] = (uint32_t)(x >> 20) % 400;
				/* numbers 0..39 spread over 0..468: named and unnamed ones (335 on x86_64) */
				r[(x >> 8) & 1].counts[i * 12] += rate[i] + (uint32_t)((x >> 32) % 5);
			}
			r[0].counts[CGS_SYSCALLS_NR_OTHER] += 3;
			if (x % 3 == 0) { /* a fold by the timer between two collections */
				cgs_syscall_stats_fold(st, r, 2);
				continue;
			}
			for (unsigned nr = 0; nr < CGS_SYSCALLS_NR_MAX; nr++)
				before[nr] = st->exported[nr];
			collect(st, r, 2, k);
			check_invariants(st, k, last, &last_other);
			for (unsigned nr = 0; nr < CGS_SYSCALLS_NR_MAX; nr++)
				changes += before[nr] && !st->exported[nr];
		}
		/* The walk did make syscalls leave the set (the eviction path ran). */
		assert_true(changes > 0);
	}
	free(last);
	free(r);
	free(st);
}

static const struct cgs_sample *find(const struct cgs_samples *s, unsigned fam, const char *lv0)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].family == fam && s->v[i].lv[0] && strcmp(s->v[i].lv[0], lv0) == 0)
			return &s->v[i];
	return NULL;
}

static void test_emit(void **state)
{
	struct cgs_syscall_stats *st = calloc(1, sizeof(*st));
	struct cgs_syscalls_slot *r = records(1);
	unsigned getppid = nr_of("getppid"), nanosleep = nr_of("nanosleep");
	const struct cgs_sample *x;
	struct cgs_samples out;

	(void)state;
	/* A single fold: the container's first, so the top K start with all their calls. */
	r[0].counts[getppid] = 100000;
	r[0].counts[nanosleep] = 100;
	r[0].cls[CGS_SC_PROCESS].buckets[0] = 100000;
	r[0].cls[CGS_SC_PROCESS].sum_ns = 5000000;
	r[0].cls[CGS_SC_SLEEP].buckets[14] = 100;
	r[0].cls[CGS_SC_SLEEP].sum_ns = 1006000000;
	r[0].cls[CGS_SC_SLEEP].errors = 2;
	collect(st, r, 1, 10);
	cgs_samples_init(&out, 0);
	assert_int_equal(cgs_syscall_stats_emit(st, &out), 0);
	x = find(&out, CGS_M_SYSCALLS, "getppid");
	assert_non_null(x);
	assert_true(x->value == 100000.0);
	x = find(&out, CGS_M_SYSCALLS, "other");
	assert_non_null(x);
	assert_true(x->value == 0.0);
	x = find(&out, CGS_M_SYSCALL_LATENCY, "sleep");
	assert_non_null(x);
	/* Kernel bucket 14 (8.192, 16.384] ms is exported in (4.096, 16.384] ms. */
	assert_true(cgs_families[CGS_M_SYSCALL_LATENCY].bounds[7] == 16384e-6);
	assert_int_equal(x->counts[7], 100);
	assert_int_equal(x->counts[6] + x->counts[8], 0);
	assert_true(x->value > 1.005 && x->value < 1.007);
	x = find(&out, CGS_M_SYSCALL_ERRORS, "sleep");
	assert_non_null(x);
	assert_true(x->value == 2.0);
	x = find(&out, CGS_M_SYSCALL_ERRORS, "process");
	assert_non_null(x);
	assert_true(x->value == 0.0);
	/* Classes without calls have no series. */
	assert_null(find(&out, CGS_M_SYSCALL_LATENCY, "net_io"));
	assert_null(find(&out, CGS_M_SYSCALL_ERRORS, "net_io"));
	/* getppid, nanosleep, other; two classes of 15 + 1. */
	assert_int_equal(out.series, 3 + 2 * (15 + 1));
	cgs_samples_free(&out);

	/* A budget that holds the counters and one class: the other class is left out whole and counted, not an error. */
	cgs_samples_init(&out, 3 + 15 + 1 + 1);
	assert_int_equal(cgs_syscall_stats_emit(st, &out), 0);
	assert_int_equal(out.series, 3 + 15 + 1 + 1);
	assert_non_null(find(&out, CGS_M_SYSCALL_LATENCY, "sleep")); /* classes in CGS_SC_* order */
	assert_null(find(&out, CGS_M_SYSCALL_LATENCY, "process"));
	assert_non_null(find(&out, CGS_M_SYSCALL_ERRORS, "process")); /* it still fits after the histogram */
	assert_int_equal(out.dropped, 15);
	assert_int_equal(out.first_dropped, CGS_M_SYSCALL_LATENCY);
	cgs_samples_free(&out);
	free(r);
	free(st);
}

/* The exported latency buckets merge the kernel's log2 ones pairwise, exactly. */
static void test_rebucket(void **state)
{
	const struct cgs_family *f = &cgs_families[CGS_M_SYSCALL_LATENCY];
	uint64_t in[CGS_SYSCALLS_BUCKETS], out[CGS_SYSCALLS_BUCKETS];

	(void)state;
	assert_int_equal(f->nbounds, 12);
	for (unsigned j = 0; j < f->nbounds; j++) {
		/* Every exported bound is a kernel bound: 4^j us. */
		assert_true(f->bounds[j] == cgs_log2_us_bounds[2 * j]);
	}
	for (unsigned b = 0; b < CGS_SYSCALLS_BUCKETS; b++) {
		unsigned want = b == CGS_SYSCALLS_BUCKETS - 1 ? f->nbounds : (b + 1) / 2;

		memset(in, 0, sizeof(in));
		in[b] = 1000 + b;
		cgs_hist_rebucket(cgs_log2_us_bounds, CGS_LOG2_US_NBOUNDS, in, f->bounds, f->nbounds, out);
		for (unsigned j = 0; j <= f->nbounds; j++)
			if (out[j] != (j == want ? 1000 + b : 0))
				fail_msg("kernel bucket %u: exported bucket %u holds %llu", b, j, (unsigned long long)out[j]);
	}
	/* Coarser bounds that end below the last kernel bound: the rest goes to +Inf. */
	{
		const double to[2] = { 2e-6, 8e-6 };
		uint64_t o[3];

		for (unsigned b = 0; b < CGS_SYSCALLS_BUCKETS; b++)
			in[b] = 1;
		cgs_hist_rebucket(cgs_log2_us_bounds, CGS_LOG2_US_NBOUNDS, in, to, 2, o);
		assert_int_equal(o[0], 2); /* <= 1 us, <= 2 us */
		assert_int_equal(o[1], 2); /* <= 4 us, <= 8 us */
		assert_int_equal(o[2], CGS_SYSCALLS_BUCKETS - 4);
	}
}

static void count_gone(void *arg, uint32_t slot)
{
	(*(unsigned *)arg)++;
	(void)slot;
}

static void test_records(void **state)
{
	struct cgs_syscall_records r;
	bool live[6] = { false };
	unsigned gone = 0;

	(void)state;
	/* As many records as slots: record == slot, kept across reuse. */
	assert_int_equal(cgs_syscall_records_init(&r, 4, 4), 0);
	assert_int_equal(cgs_syscall_records_assign(&r, 2), 2);
	assert_int_equal(cgs_syscall_records_assign(&r, 0), 0);
	assert_int_equal(cgs_syscall_records_assign(&r, 2), 2);
	assert_int_equal(cgs_syscall_records_of(&r, 2), 2);
	assert_int_equal(cgs_syscall_records_of(&r, 3), CGS_SYSCALL_NO_RECORD);
	assert_int_equal(cgs_syscall_records_of(&r, 99), CGS_SYSCALL_NO_RECORD);
	assert_int_equal(cgs_syscall_records_assign(&r, 99), CGS_SYSCALL_NO_RECORD);
	cgs_syscall_records_free(&r);
	cgs_syscall_records_free(&r); /* idempotent */

	/* Six slots, three records. */
	assert_int_equal(cgs_syscall_records_init(&r, 6, 3), 0);
	assert_int_equal(cgs_syscall_records_assign(&r, 1), 1);
	assert_int_equal(cgs_syscall_records_assign(&r, 4), 0);
	assert_int_equal(cgs_syscall_records_assign(&r, 5), 2);
	assert_int_equal(cgs_syscall_records_assign(&r, 3), CGS_SYSCALL_NO_RECORD);
	/* Slots 1 and 5 still live, 4 gone: its record goes to 3 after a reclaim. */
	live[1] = live[5] = true;
	assert_int_equal(cgs_syscall_records_reclaim(&r, live, 3, count_gone, &gone), 1);
	assert_int_equal(gone, 1);
	assert_int_equal(cgs_syscall_records_of(&r, 4), CGS_SYSCALL_NO_RECORD);
	assert_int_equal(cgs_syscall_records_assign(&r, 3), 0);
	/* `keep` is never taken back, even when not live yet. */
	live[1] = false;
	assert_int_equal(cgs_syscall_records_reclaim(&r, live, 1, NULL, NULL), 1); /* only 3 */
	assert_int_equal(cgs_syscall_records_of(&r, 1), 1);
	assert_int_equal(cgs_syscall_records_of(&r, 3), CGS_SYSCALL_NO_RECORD);
	/* A container gone: its record is free at once, for the next slot that needs one. */
	assert_int_equal(cgs_syscall_records_release(&r, 5), 2);
	assert_int_equal(cgs_syscall_records_of(&r, 5), CGS_SYSCALL_NO_RECORD);
	assert_int_equal(cgs_syscall_records_release(&r, 5), CGS_SYSCALL_NO_RECORD); /* twice: nothing */
	assert_int_equal(cgs_syscall_records_release(&r, 99), CGS_SYSCALL_NO_RECORD);
	assert_int_equal(cgs_syscall_records_assign(&r, 2), 2);
	assert_int_equal(cgs_syscall_records_of(&r, 2), 2);
	cgs_syscall_records_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_classes),
#if defined(__x86_64__)
		cmocka_unit_test(test_class_names_exist),
#endif
		cmocka_unit_test(test_fold_sums_cpus),
		cmocka_unit_test(test_fold_wraps),
		cmocka_unit_test(test_top_k_and_other),
		cmocka_unit_test(test_sticky_set),
		cmocka_unit_test(test_flapping_is_absorbed),
		cmocka_unit_test(test_folds_between_collections),
		cmocka_unit_test(test_invariants_random),
		cmocka_unit_test(test_emit),
		cmocka_unit_test(test_rebucket),
		cmocka_unit_test(test_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
