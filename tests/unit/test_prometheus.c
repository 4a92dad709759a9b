/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the exposition encoder (exporters/prometheus.c) and the
 * snapshot/store (agent/store.c): a hand-built snapshot against a golden
 * file, escaping, value formatting, gzip round trip, reference counting,
 * summaries and label values owned by their samples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "agent/store.h"
#include "exporters/api.h"
#include "exporters/prometheus.h"

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static struct cgs_snapshot *golden_snapshot(void)
{
	struct cgs_snapshot *s = cgs_snapshot_new();
	struct cgs_snap_container a = {
		.cgroup_id = 1234,
		.path = "/kubepods/besteffort/pod0f6c5a5e-1111-2222-3333-444455556666/"
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		.runtime = "containerd",
		.qos = "besteffort",
		.meta = { .name = "aaaaaaaaaaaa", .image = "docker.io/library/nginx:1.25", .container = "web",
			  .pod = "web-7d4b9", .namespace = "shop", .pod_uid = "0f6c5a5e-1111-2222-3333-444455556666" },
		.start_time = 1700000000.5,
	};
	struct cgs_snap_container b = {
		.cgroup_id = 99,
		.path = "/libpod_parent/libpod-bbbb",
		.runtime = "podman",
		.qos = "",
		.meta = { .name = "we\"ird\\name\nx", .image = "", .container = "", .pod = "", .namespace = "",
			  .pod_uid = "" },
		.start_time = 1700000001,
	};

	cgs_samples_init(&a.samples, 0);
	cgs_samples_init(&b.samples, 0);
	/* Deliberately out of family order: the snapshot sorts. */
	cgs_samples_add(&a.samples, CGS_M_MEMORY_USAGE, 1048576);
	cgs_samples_add(&a.samples, CGS_M_CPU_USAGE, 12.345678);
	cgs_samples_add(&a.samples, CGS_M_CPU_USER, 10);
	cgs_samples_add(&a.samples, CGS_M_CONTAINER_START_TIME, a.start_time);
	cgs_samples_add(&b.samples, CGS_M_CPU_USAGE, 0.000001);
	cgs_samples_add(&b.samples, CGS_M_CPU_USAGE, 0.000001); /* a duplicate is emitted once */
	cgs_samples_add(&b.samples, CGS_M_SPEC_MEMORY_LIMIT, 0);
	assert_int_equal(cgs_snapshot_add_container(s, &a), 0);
	assert_int_equal(cgs_snapshot_add_container(s, &b), 0);
	cgs_samples_free(&a.samples);
	cgs_samples_free(&b.samples);
	cgs_samples_init(&s->agent, 0);
	cgs_samples_add_l(&s->agent, CGS_M_AGENT_COLLECTOR_ERRORS, "cgroupfs", NULL, 3);
	cgs_samples_add_l(&s->agent, CGS_M_AGENT_BUILD_INFO, "0.1.0", "abc", 1);
	cgs_samples_add(&s->agent, CGS_M_AGENT_CONTAINERS, 2);
	cgs_samples_add_l(&s->agent, CGS_M_AGENT_COLLECTOR_ERRORS, "lifecycle", NULL, 0);
	assert_int_equal(cgs_snapshot_render(s), 0);
	return s;
}

static void test_golden(void **state)
{
	struct cgs_snapshot *s = golden_snapshot();
	char path[4096];
	size_t len;
	char *want;
	(void)state;

	snprintf(path, sizeof(path), "%s/prometheus/golden.prom", CGS_FIXTURES_DIR);
	if (getenv("CGS_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		fwrite(s->text, 1, s->text_len, f);
		fclose(f);
	}
	want = read_file(path, &len);
	assert_non_null(want);
	assert_int_equal(len, s->text_len);
	assert_string_equal(s->text, want);
	free(want);
	cgs_snapshot_release(s);
}

static void test_values(void **state)
{
	struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0" }, { 42, "42" }, { -7, "-7" }, { 1.5, "1.5" }, { 1e-6, "1e-06" },
		{ 18446744073709551615.0, "1.84467440737096e+19" }, { NAN, "NaN" }, { INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" }, { 123456.789012, "123456.789012" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cgs_buf b;
		char *p;

		cgs_buf_init(&b);
		cgs_prom_put_value(&b, cases[i].v);
		p = cgs_buf_steal(&b, NULL);
		assert_string_equal(p, cases[i].want);
		free(p);
	}
}

static void test_gzip_roundtrip(void **state)
{
	struct cgs_snapshot *s = golden_snapshot();
	const char *gz;
	size_t gzlen;
	char out[65536];
	z_stream z = { 0 };
	(void)state;

	assert_int_equal(cgs_snapshot_gzip(s, &gz, &gzlen), 0);
	assert_true(gzlen > 18 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)gz;
	z.avail_in = (uInt)gzlen;
	z.next_out = (Bytef *)out;
	z.avail_out = sizeof(out);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, s->text_len);
	assert_memory_equal(out, s->text, s->text_len);
	inflateEnd(&z);
	/* Cached: the same bytes come back. */
	const char *gz2;
	size_t gzlen2;

	assert_int_equal(cgs_snapshot_gzip(s, &gz2, &gzlen2), 0);
	assert_ptr_equal(gz, gz2);
	cgs_snapshot_release(s);
}

static void test_json(void **state)
{
	struct cgs_snapshot *s = golden_snapshot();
	const char *j;
	size_t len;
	(void)state;

	assert_int_equal(cgs_snapshot_json(s, &j, &len), 0);
	assert_int_equal(strlen(j), len);
	assert_non_null(strstr(j, "\"name\":\"we\\\"ird\\\\name\\nx\""));
	assert_non_null(strstr(j, "\"container_cpu_usage_seconds_total\":12.345678"));
	assert_non_null(strstr(j, "\"cgsight_collector_errors_total\":{\"cgroupfs\":3"));
	assert_non_null(strstr(j, "\"pod\":\"web-7d4b9\""));
	cgs_snapshot_release(s);
}

static void test_store_refs(void **state)
{
	struct cgs_store *st = cgs_store_new();
	struct cgs_snapshot *a = golden_snapshot(), *b = golden_snapshot(), *held;
	(void)state;

	assert_null(cgs_store_acquire(st));
	cgs_store_publish(st, a);
	held = cgs_store_acquire(st);
	assert_ptr_equal(held, a);
	cgs_store_publish(st, b); /* a stays alive for its holder */
	assert_non_null(held->text);
	assert_true(held->text_len > 0);
	cgs_snapshot_release(held);
	held = cgs_store_acquire(st);
	assert_ptr_equal(held, b);
	cgs_snapshot_release(held);
	cgs_store_free(st);
}

static void test_sample_limit(void **state)
{
	const size_t hist = cgs_family_series(CGS_M_CPU_RUNQUEUE_LATENCY);
	uint64_t counts[CGS_LOG2_US_NBOUNDS + 1] = { 0 };
	struct cgs_samples s, copy;
	(void)state;

	/* A histogram is every `le` bucket, +Inf, _sum and _count. */
	assert_int_equal(hist, CGS_LOG2_US_NBOUNDS + 3);
	assert_int_equal(cgs_family_series(CGS_M_SYSCALL_LATENCY), CGS_LOG4_US_NBOUNDS + 3);
	assert_int_equal(cgs_family_series(CGS_M_CPU_USAGE), 1);

	cgs_samples_init(&s, 3);
	for (int i = 0; i < 5; i++)
		cgs_samples_add(&s, CGS_M_CPU_USAGE, i);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.dropped, 2);
	assert_int_equal(cgs_samples_add(&s, CGS_M_CPU_USAGE, 1), -ENOSPC);
	cgs_samples_free(&s);

	/* The budget counts series: a histogram that does not fit is left out whole, a counter after it fits. */
	cgs_samples_init(&s, 3);
	assert_int_equal(cgs_samples_add(&s, CGS_M_CPU_USAGE, 1), 0);
	assert_int_equal(cgs_samples_add(&s, CGS_M_CPU_USER, 1), 0);
	assert_int_equal(cgs_samples_add_hist(&s, CGS_M_CPU_RUNQUEUE_LATENCY, NULL, counts, 0), -ENOSPC);
	assert_int_equal(s.dropped, hist);
	assert_int_equal(s.first_dropped, CGS_M_CPU_RUNQUEUE_LATENCY);
	assert_int_equal(cgs_samples_add(&s, CGS_M_CPU_SYSTEM, 1), 0);
	assert_int_equal(cgs_samples_add(&s, CGS_M_THREADS, 1), -ENOSPC);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.series, 3);
	assert_int_equal(s.dropped, hist + 1);
	assert_int_equal(s.pass_dropped, hist + 1);
	assert_int_equal(cgs_samples_copy(&copy, &s), 0);
	assert_int_equal(copy.series, 3);
	assert_int_equal(copy.dropped, hist + 1);
	cgs_samples_free(&copy);
	/* A new pass: the budget is free again; what was left out before stays counted. */
	cgs_samples_reset(&s);
	assert_int_equal(s.series, 0);
	assert_int_equal(s.pass_dropped, 0);
	assert_int_equal(s.first_dropped, -1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cgs_samples_add(&s, CGS_M_THREADS, i), 0);
	assert_int_equal(s.dropped, hist + 1);
	cgs_samples_free(&s);

	/* Exactly full: a histogram fits when its series reach the limit, not past it. */
	cgs_samples_init(&s, hist + 1);
	assert_int_equal(cgs_samples_add(&s, CGS_M_CPU_USAGE, 1), 0);
	assert_int_equal(cgs_samples_add_hist(&s, CGS_M_CPU_RUNQUEUE_LATENCY, NULL, counts, 0), 0);
	assert_int_equal(s.series, hist + 1);
	assert_int_equal(s.dropped, 0);
	cgs_samples_free(&s);
}

/* Number of exposition lines (not comments) that carry `needle`. */
static size_t count_lines(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char line[4096];

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (line[0] != '#' && strstr(line, needle))
			n++;
		p += len + (e ? 1 : 0);
	}
	return n;
}

/*
 * What the budget counts is what the exposition writes: one sample of every
 * container family (histograms with their own bounds), rendered, makes as
 * many lines as the list's series; a budget below that keeps the lines under it.
 */
static void test_budget_counts_exposition(void **state)
{
	static const char *const lv[CGS_METRIC_MAX_LABELS] = { "a", "b", "c" };
	uint64_t counts[64] = { 0 };
	size_t want = 0;
	(void)state;

	for (size_t limit = 0; limit <= 100; limit += 100) {
		struct cgs_snapshot *s = cgs_snapshot_new();
		struct cgs_snap_container c = { .cgroup_id = 7, .path = "/docker/budget", .runtime = "docker" };
		size_t lines;

		cgs_samples_init(&c.samples, limit);
		for (unsigned f = 0; f < CGS_M__COUNT; f++) {
			const struct cgs_family *fam = &cgs_families[f];

			if (fam->scope != CGS_SCOPE_CONTAINER)
				continue;
			assert_true(fam->nbounds < 64);
			if (fam->kind == CGS_KIND_HISTOGRAM)
				cgs_samples_add_hist(&c.samples, f, lv[0], counts, 1);
			else
				cgs_samples_add_l3(&c.samples, f, lv[0], lv[1], lv[2], 1);
			if (!limit)
				want += cgs_family_series(f);
		}
		assert_int_equal(cgs_snapshot_add_container(s, &c), 0);
		assert_int_equal(cgs_snapshot_render(s), 0);
		lines = count_lines(s->text, "id=\"/docker/budget\"");
		if (!limit) {
			assert_int_equal(c.samples.series, want);
			assert_int_equal(lines, want);
			assert_true(want > 100);
		} else {
			assert_true(lines <= limit);
			assert_int_equal(lines, c.samples.series);
			assert_int_equal(c.samples.dropped, want - lines);
		}
		cgs_samples_free(&c.samples);
		cgs_snapshot_release(s);
	}
}


/* A summary, and label values built at run time: they outlive the list they were made in. */
static void test_summary_owned_label(void **state)
{
	struct cgs_snapshot *s = cgs_snapshot_new();
	struct cgs_snap_container a = { .cgroup_id = 1, .path = "/docker/x", .runtime = "docker", .qos = "",
					.meta = { .name = "", .image = "", .container = "", .pod = "",
						  .namespace = "", .pod_uid = "" } };
	char dest[32];
	const char *j;
	size_t len;
	(void)state;

	cgs_samples_init(&a.samples, 0);
	snprintf(dest, sizeof(dest), "10.0.0.%d:%d", 1, 80);
	assert_int_equal(cgs_samples_add_l(&a.samples, CGS_M_TCP_PEER_CONNECTS, dest, "ok", 30), 0);
	assert_int_equal(cgs_samples_dup_label(&a.samples, 0), 0);
	assert_int_equal(cgs_samples_dup_label(&a.samples, 0), -EBUSY); /* one per sample: it goes */
	assert_int_equal(a.samples.n, 0);
	assert_int_equal(cgs_samples_add_l(&a.samples, CGS_M_TCP_PEER_CONNECTS, dest, "ok", 30), 0);
	assert_int_equal(cgs_samples_dup_label(&a.samples, 0), 0);
	assert_int_equal(cgs_samples_add_summary(&a.samples, CGS_M_TCP_PEER_CONNECT_LATENCY, dest, 30, 0.0125), 0);
	assert_int_equal(cgs_samples_dup_label(&a.samples, 0), 0);
	/* Only for families without buckets. */
	assert_int_equal(cgs_samples_add_summary(&a.samples, CGS_M_TCP_CONNECT_LATENCY, NULL, 1, 1), -EINVAL);
	cgs_samples_sort(&a.samples);
	assert_int_equal(cgs_snapshot_add_container(s, &a), 0);
	cgs_samples_free(&a.samples);
	memset(dest, 'X', sizeof(dest) - 1); /* the snapshot holds copies */
	assert_int_equal(cgs_snapshot_render(s), 0);
	assert_non_null(strstr(s->text, "# TYPE container_tcp_peer_connect_latency_seconds summary\n"));
	assert_non_null(strstr(s->text, "container_tcp_peer_connects_total{container=\"\",id=\"/docker/x\",image=\"\","
					"name=\"\",namespace=\"\",pod=\"\",destination=\"10.0.0.1:80\",result=\"ok\"} 30\n"));
	assert_non_null(strstr(s->text, ",destination=\"10.0.0.1:80\"} 0.0125\n"));
	assert_non_null(strstr(s->text, "container_tcp_peer_connect_latency_seconds_count{"));
	assert_non_null(strstr(s->text, ",destination=\"10.0.0.1:80\"} 30\n"));
	assert_null(strstr(s->text, "container_tcp_peer_connect_latency_seconds_bucket"));
	assert_int_equal(cgs_snapshot_json(s, &j, &len), 0);
	assert_non_null(strstr(j, "\"container_tcp_peer_connect_latency_seconds\":{\"10.0.0.1:80\":{\"sum\":0.0125,\"count\":30}}"));
	assert_non_null(strstr(j, "\"container_tcp_peer_connects_total\":{\"10.0.0.1:80,ok\":30}"));
	cgs_snapshot_release(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_gzip_roundtrip),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_store_refs),
		cmocka_unit_test(test_sample_limit),
		cmocka_unit_test(test_summary_owned_label),
		cmocka_unit_test(test_budget_counts_exposition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
