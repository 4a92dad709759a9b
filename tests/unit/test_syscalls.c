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
	cgs_syscall_stats_fold(st, r, 3, 10);
	assert_int_equal(st->buckets[CGS_SC_SLEEP][14], 100);
	assert_int_equal(st->sum_ns[CGS_SC_SLEEP], 1000000000);
	assert_int_equal(st->errors[CGS_SC_FILE_IO], 7);
	assert_int_equal(st->counts[35], 100);
	/* A second fold of the same values adds nothing. */
	cgs_syscall_stats_fold(st, r, 3, 10);
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
	cgs_syscall_stats_fold(st, r, 2, 10);
	assert_int_equal(st->counts[110], 0x10u); /* what a fresh total sees of a wrapped sum */
	/* Both CPUs wrap again: +0x30 on CPU 0 (wrapping), +5 on CPU 1. */
	r[0].counts[110] += 0x30u;
	r[1].counts[110] += 5u;
	r[0].cls[CGS_SC_PROCESS].buckets[0] += 0x30u;
	cgs_syscall_stats_fold(st, r, 2, 10);
	assert_int_equal(st->counts[110], 0x10u + 0x35u);
	assert_int_equal(st->buckets[CGS_SC_PROCESS][0], 0xfffffff0ull + 0x30u);
	/* Growth beyond 2^32 in total, folded often enough, is kept exactly. */
	for (int i = 0; i < 5; i++) {
		r[0].counts[110] += 0x40000000u;
		r[1].counts[110] += 0x40000000u;
		cgs_syscall_stats_fold(st, r, 2, 10);
	}
	assert_int_equal(st->counts[110], 0x45ull + 10ull * 0x40000000ull);
	free(r);
	free(st);
}

static void test_top_k_and_other(void **state)
{
	struct cgs_syscall_stats *st = calloc(1, sizeof(*st));
	struct cgs_syscalls_slot *r = records(1);

	(void)state;
	for (unsigned nr = 0; nr < 20; nr++)
		r[0].counts[nr] = 100 + nr; /* 19 ranks first */
	r[0].counts[CGS_SYSCALLS_NR_OTHER] = 1000; /* unnamed: never in the top K */
	cgs_syscall_stats_fold(st, r, 1, 3);
	assert_int_equal(st->ntop, 3);
	assert_int_equal(st->top[0], 19);
	assert_int_equal(st->top[1], 18);
	assert_int_equal(st->top[2], 17);
	/* other: everything folded outside the top 3. */
	uint64_t rest = 1000;

	for (unsigned nr = 0; nr < 17; nr++)
		rest += 100 + nr;
	assert_int_equal(st->other, rest);
	/* Syscall 0 overtakes everyone: it enters the top 3, 17 leaves; counters only grow. */
	r[0].counts[0] += 1000;
	r[0].counts[16] += 1;
	cgs_syscall_stats_fold(st, r, 1, 3);
	assert_int_equal(st->top[0], 0);
	assert_int_equal(st->top[1], 19);
	assert_int_equal(st->top[2], 18);
	/* 0's 1000 calls went to its own series (it ranks in this fold), 16's one call to other. */
	assert_int_equal(st->other, rest + 1);
	assert_int_equal(st->counts[0], 1100);
	/* Ties: the lower number first. */
	memset(r, 0, sizeof(*r));
	cgs_syscall_stats_reset(st);
	r[0].counts[5] = 10;
	r[0].counts[3] = 10;
	cgs_syscall_stats_fold(st, r, 1, 1);
	assert_int_equal(st->ntop, 1);
	assert_int_equal(st->top[0], 3);
	assert_int_equal(st->other, 10);
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
	r[0].counts[getppid] = 100000;
	r[0].counts[nanosleep] = 100;
	r[0].cls[CGS_SC_PROCESS].buckets[0] = 100000;
	r[0].cls[CGS_SC_PROCESS].sum_ns = 5000000;
	r[0].cls[CGS_SC_SLEEP].buckets[14] = 100;
	r[0].cls[CGS_SC_SLEEP].sum_ns = 1006000000;
	r[0].cls[CGS_SC_SLEEP].errors = 2;
	cgs_syscall_stats_fold(st, r, 1, 10);
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
	assert_int_equal(x->counts[14], 100);
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
	cgs_samples_free(&out);
	free(r);
	free(st);
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
		cmocka_unit_test(test_emit),
		cmocka_unit_test(test_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
