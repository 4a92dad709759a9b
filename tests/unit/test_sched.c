/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the scheduler collector's userspace half: summing the
 * kernel's per-CPU accumulators, the samples they become, and their
 * Prometheus exposition (cumulative `le` buckets in seconds matching the
 * kernel's log2 bucket rule, +Inf == _count, _sum == the delay counter).
 * The kernel side is exercised by tests/integration/sched_accuracy.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "agent/store.h"
#include "collectors/sched.h"
#include "exporters/prometheus.h"

/* The kernel's own bucket function, compiled here as it is for BPF. */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "bpf/lib/hist.bpf.h"

/* The kernel's bucket rule (bpf/lib/hist.bpf.h), restated: bit length of whole microseconds. */
static unsigned bucket_of_ns(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = 0;

	while (us) {
		b++;
		us >>= 1;
	}
	return b < CGS_SCHED_HIST_BUCKETS - 1 ? b : CGS_SCHED_HIST_BUCKETS - 1;
}

/* The kernel's function (a division-free binary search) agrees with the rule at and around
 * every bound, and on a spread of other durations. */
static void test_kernel_bucket_fn(void **st)
{
	(void)st;
	assert_int_equal(CGS_HIST_BUCKETS, CGS_SCHED_HIST_BUCKETS);
	for (unsigned k = 0; k < 40; k++) {
		uint64_t t = 1000ull << k;

		for (int d = -1; d <= 1; d++)
			assert_int_equal(cgs_hist_bucket_ns(t + (uint64_t)(int64_t)d), bucket_of_ns(t + (uint64_t)(int64_t)d));
	}
	for (uint64_t ns = 0; ns < 5000; ns++)
		assert_int_equal(cgs_hist_bucket_ns(ns), bucket_of_ns(ns));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t ns = x >> (x & 63);
		assert_int_equal(cgs_hist_bucket_ns(ns), bucket_of_ns(ns));
	}
	assert_int_equal(cgs_hist_bucket_ns(UINT64_MAX), CGS_SCHED_HIST_BUCKETS - 1);
}

static void test_sum(void **st)
{
	struct cgs_sched_slot_stats cpu[3], t;

	(void)st;
	memset(cpu, 0, sizeof(cpu));
	for (int c = 0; c < 3; c++) {
		cpu[c].delay_ns = 1000000000ull * (uint64_t)(c + 1);
		cpu[c].oncpu_ns = 7;
		cpu[c].voluntary = 10;
		cpu[c].involuntary = (uint64_t)c;
		cpu[c].hist[c] = 5;
		cpu[c].hist[23] = 1;
	}
	memset(&t, 0xff, sizeof(t));
	cgs_sched_sum(cpu, 3, &t);
	assert_int_equal(t.delay_ns, 6000000000ull);
	assert_int_equal(t.oncpu_ns, 21);
	assert_int_equal(t.voluntary, 30);
	assert_int_equal(t.involuntary, 3);
	assert_int_equal(t.hist[0], 5);
	assert_int_equal(t.hist[1], 5);
	assert_int_equal(t.hist[2], 5);
	assert_int_equal(t.hist[3], 0);
	assert_int_equal(t.hist[23], 3);
	/* One CPU: a copy. */
	cgs_sched_sum(cpu, 1, &t);
	assert_memory_equal(&t, &cpu[0], sizeof(t));
}

static const struct cgs_sample *find(const struct cgs_samples *s, enum cgs_family_id f, const char *lv0)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].family == f && (!lv0 || (s->v[i].lv[0] && !strcmp(s->v[i].lv[0], lv0))))
			return &s->v[i];
	return NULL;
}

static void test_emit(void **st)
{
	struct cgs_sched_slot_stats t = { .delay_ns = 2500000000ull, .oncpu_ns = 99, .voluntary = 1000,
					  .involuntary = 42 };
	struct cgs_samples s;
	const struct cgs_sample *x;

	(void)st;
	t.hist[bucket_of_ns(3000)] = 4;      /* 3 us: bucket 2 (le 4 us) */
	t.hist[bucket_of_ns(500)] = 1;       /* < 1 us: bucket 0 */
	t.hist[bucket_of_ns(10000000000ull)] = 2; /* 10 s: overflow */
	cgs_samples_init(&s, 0);
	cgs_sched_emit(&t, &s);
	assert_int_equal(s.n, 4);
	x = find(&s, CGS_M_CPU_DELAY, NULL);
	assert_non_null(x);
	assert_true(fabs(x->value - 2.5) < 1e-12);
	x = find(&s, CGS_M_CPU_RUNQUEUE_LATENCY, NULL);
	assert_non_null(x);
	assert_true(fabs(x->value - 2.5) < 1e-12); /* _sum is the delay */
	assert_int_equal(x->counts[0], 1);
	assert_int_equal(x->counts[2], 4);
	assert_int_equal(x->counts[23], 2);
	x = find(&s, CGS_M_CONTEXT_SWITCHES, "voluntary");
	assert_non_null(x);
	assert_true(x->value == 1000);
	x = find(&s, CGS_M_CONTEXT_SWITCHES, "involuntary");
	assert_non_null(x);
	assert_true(x->value == 42);
	/* The on-CPU time is not exported (cgroupfs has container_cpu_usage_seconds_total). */
	assert_null(find(&s, CGS_M_CPU_USAGE, NULL));
	cgs_samples_free(&s);

	/* No wait yet: the counters, zero, and no histogram (26 series) until the first one. */
	memset(&t, 0, sizeof(t));
	cgs_samples_init(&s, 0);
	cgs_sched_emit(&t, &s);
	assert_int_equal(s.n, 3);
	assert_non_null(find(&s, CGS_M_CPU_DELAY, NULL));
	assert_null(find(&s, CGS_M_CPU_RUNQUEUE_LATENCY, NULL));
	assert_non_null(find(&s, CGS_M_CONTEXT_SWITCHES, "voluntary"));
	cgs_samples_free(&s);
}

/* The kernel rule and the exported bounds agree: an observation lands in the first bucket whose le >= it. */
static void test_bucket_bounds(void **st)
{
	(void)st;
	assert_int_equal(CGS_SCHED_HIST_BUCKETS, CGS_LOG2_US_NBOUNDS + 1);
	for (uint64_t us = 0; us < (1ull << 24); us = us ? us * 3 / 2 + 1 : 1) {
		unsigned b = bucket_of_ns(us * 1000);
		double sec = (double)us / 1e6;

		if (b < CGS_LOG2_US_NBOUNDS)
			assert_true(sec <= cgs_log2_us_bounds[b]);
		else
			assert_true(sec > cgs_log2_us_bounds[CGS_LOG2_US_NBOUNDS - 1]);
		if (b > 0) /* whole microseconds of bit length b: at least the previous bound */
			assert_true(sec >= cgs_log2_us_bounds[b - 1]);
	}
}

static char *render(const struct cgs_sched_slot_stats *t)
{
	struct cgs_snapshot *snap = cgs_snapshot_new();
	struct cgs_snap_container c = { .cgroup_id = 7, .path = "/docker/abc", .runtime = "docker", .qos = "",
					.meta = { .name = "", .image = "", .container = "", .pod = "",
						  .namespace = "", .pod_uid = "" } };
	char *text;

	assert_non_null(snap);
	cgs_samples_init(&c.samples, 0);
	cgs_sched_emit(t, &c.samples);
	assert_int_equal(cgs_snapshot_add_container(snap, &c), 0);
	cgs_samples_free(&c.samples);
	cgs_samples_init(&snap->agent, 0);
	assert_int_equal(cgs_snapshot_render(snap), 0);
	text = strndup(snap->text, snap->text_len);
	cgs_snapshot_release(snap);
	return text;
}

static double series(const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix);

	if (!p)
		fail_msg("no series %s", prefix);
	p = strchr(p, '}');
	return strtod(p + 2, NULL);
}

static void test_exposition(void **st)
{
	struct cgs_sched_slot_stats t = { .delay_ns = 1234567890ull, .voluntary = 3, .involuntary = 4 };
	char *text, key[256];
	double prev = 0, v;
	uint64_t total = 0;

	(void)st;
	for (int b = 0; b < CGS_SCHED_HIST_BUCKETS; b++) {
		t.hist[b] = (uint64_t)(b * 7 % 5);
		total += t.hist[b];
	}
	text = render(&t);
	/* Cumulative, ascending le in seconds, +Inf == _count. */
	for (int b = 0; b < CGS_LOG2_US_NBOUNDS; b++) {
		char le[64];
		struct cgs_buf buf;

		cgs_buf_init(&buf);
		cgs_prom_put_value(&buf, cgs_log2_us_bounds[b]);
		snprintf(le, sizeof(le), "%.*s", (int)buf.len, buf.p);
		cgs_buf_free(&buf);
		snprintf(key, sizeof(key), "container_cpu_runqueue_latency_seconds_bucket{container=\"\",id=\"/docker/abc\",image=\"\",name=\"\",namespace=\"\",pod=\"\",le=\"%s\"}", le);
		v = series(text, key);
		assert_true(v >= prev);
		prev = v;
	}
	v = series(text, "container_cpu_runqueue_latency_seconds_bucket{container=\"\",id=\"/docker/abc\",image=\"\",name=\"\",namespace=\"\",pod=\"\",le=\"+Inf\"}");
	assert_true(v == (double)total);
	assert_true(series(text, "container_cpu_runqueue_latency_seconds_count{") == (double)total);
	assert_true(fabs(series(text, "container_cpu_runqueue_latency_seconds_sum{") - 1.23456789) < 1e-9);
	assert_true(fabs(series(text, "container_cpu_delay_seconds_total{") - 1.23456789) < 1e-9);
	assert_non_null(strstr(text, "# TYPE container_cpu_runqueue_latency_seconds histogram\n"));
	assert_non_null(strstr(text, "# TYPE container_context_switches_total counter\n"));
	assert_non_null(strstr(text, ",type=\"voluntary\"} 3\n"));
	assert_non_null(strstr(text, ",type=\"involuntary\"} 4\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_bucket_fn),
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_emit),
		cmocka_unit_test(test_bucket_bounds),
		cmocka_unit_test(test_exposition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
