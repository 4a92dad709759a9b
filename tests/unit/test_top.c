/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of `cgsight top`'s view model, without a terminal: parsing the
 * agent's /api/v1/containers (fixtures in tests/fixtures/top, in the API's
 * exact shape, including families other collectors add), rates from two
 * snapshots (counter reset, containers appearing and going, lifecycle
 * publications, idle passes, agent restarts), sorting, filtering, the cursor,
 * and fitting columns into a terminal's width.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "top/client.h"
#include "top/model.h"

#define A_ID 101
#define B_ID 102
#define C_ID 103
#define D_ID 104
#define E_ID 105

static struct cgs_top_snap *load(const char *name)
{
	char path[512], *buf;
	struct cgs_top_snap *s = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/top/%s", CGS_FIXTURES_DIR, name);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_int_equal(cgs_top_parse(buf, (size_t)n, &s), 0);
	free(buf);
	return s;
}

/* Applies a fixture (as generation `gen` unless 0); returns what update returned. */
static int apply_gen(struct cgs_top_model *m, const char *name, uint64_t gen)
{
	struct cgs_top_snap *s = load(name);
	int r;

	if (gen)
		s->generation = gen;
	r = cgs_top_model_update(m, s);
	cgs_top_snap_free(s);
	return r;
}

static int apply(struct cgs_top_model *m, const char *name)
{
	return apply_gen(m, name, 0);
}

/* A snapshot with containers given as "cgroup_id:cpu_seconds" pairs (cpu < 0: absent). */
static int apply_cpu(struct cgs_top_model *m, unsigned long long gen, double ts, int n, ...)
{
	char json[4096];
	size_t o = 0;
	struct cgs_top_snap *s = NULL;
	va_list ap;
	int r;

	o += (size_t)snprintf(json + o, sizeof(json) - o, "{\"generation\":%llu,\"timestamp\":%.3f,\"containers\":[", gen,
			      ts);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		int id = va_arg(ap, int);
		double cpu = va_arg(ap, double);

		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      "%s{\"id\":\"/docker/c%d\",\"cgroup_id\":%d,\"container_id\":\"c%d\",\"runtime\":"
				      "\"docker\",\"name\":\"c%d\",\"image\":\"\",\"container\":\"\",\"pod\":\"\","
				      "\"namespace\":\"\",\"pod_uid\":\"\",\"qos\":\"\",\"start_time\":1,\"metrics\":{"
				      "\"container_processes\":1",
				      i ? "," : "", id, id, id, id);
		if (cpu >= 0)
			o += (size_t)snprintf(json + o, sizeof(json) - o, ",\"container_cpu_usage_seconds_total\":%g", cpu);
		o += (size_t)snprintf(json + o, sizeof(json) - o, "}}");
	}
	va_end(ap);
	o += (size_t)snprintf(json + o, sizeof(json) - o, "],\"agent\":{},\"events\":[]}");
	assert_int_equal(cgs_top_parse(json, o, &s), 0);
	r = cgs_top_model_update(m, s);
	cgs_top_snap_free(s);
	return r;
}

static struct cgs_top_row *row(struct cgs_top_model *m, uint64_t id)
{
	struct cgs_top_row *r = cgs_top_model_find(m, id);

	assert_non_null(r);
	return r;
}

static void cell(struct cgs_top_model *m, uint64_t id, enum cgs_top_col c, const char *want)
{
	char buf[256];

	cgs_top_cell(m, row(m, id), c, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* ---- parsing ---------------------------------------------------------------- */

static void test_parse_fixture(void **state)
{
	struct cgs_top_snap *s = load("gen1.json");
	const struct cgs_top_ct *a, *b, *d;

	(void)state;
	assert_int_equal(s->generation, 10);
	assert_true(s->timestamp == 1000.0);
	assert_int_equal(s->n, 4);
	a = &s->c[0];
	b = &s->c[1];
	d = &s->c[3];
	assert_int_equal(a->cgroup_id, A_ID);
	assert_string_equal(a->name, "web");
	assert_string_equal(a->image, "nginx:1.25");
	assert_true(a->v[CGS_TOP_V_CPU] == 10);
	assert_true(a->v[CGS_TOP_V_MEM_LIMIT] == 200.0 * 1048576);
	/* Labelled families: summed over interfaces, or picked by label value. */
	assert_true(a->v[CGS_TOP_V_NET_RX] == 1024);
	assert_true(a->v[CGS_TOP_V_TCP_OK] == 5);
	assert_true(a->v[CGS_TOP_V_TCP_FAIL] == 2);
	assert_true(a->v[CGS_TOP_V_CSW_INVOL] == 7);
	/* Histograms: the run-queue one, syscall latency merged over its classes and kept per class. */
	assert_true(a->h[CGS_TOP_H_RUNQ].present);
	assert_int_equal(a->h[CGS_TOP_H_RUNQ].n, 24);
	assert_true(isinf(a->h[CGS_TOP_H_RUNQ].le[23]));
	assert_true(cgs_top_hist_count(&a->h[CGS_TOP_H_RUNQ]) == 15);
	assert_true(cgs_top_hist_count(&a->h[CGS_TOP_H_SYSCALL]) == 161);
	assert_int_equal(a->ncls, 2);
	assert_true(a->h[CGS_TOP_H_TCP_CONNECT].present == false);
	/* Families the agent did not send are NAN, never 0. */
	assert_true(isnan(a->v[CGS_TOP_V_MEM_RSS]));
	assert_true(isnan(b->v[CGS_TOP_V_NET_RX]));
	assert_string_equal(b->pod, "frontend-7d9f");
	assert_string_equal(b->namespace, "shop");
	/* JSON null (the agent's NaN) is absent too. */
	assert_true(isnan(d->v[CGS_TOP_V_CPU]));
	assert_string_equal(d->name, "");
	/* Events carry their other fields as detail. */
	assert_int_equal(s->nev, 1);
	assert_string_equal(s->ev[0].type, "oom_kill");
	assert_int_equal(s->ev[0].cgroup_id, B_ID);
	assert_non_null(strstr(s->ev[0].detail, "comm=nginx"));
	assert_non_null(strstr(s->ev[0].detail, "pid=4242"));
	assert_non_null(strstr(s->ev[0].detail, "rss=200M"));
	assert_null(strstr(s->ev[0].detail, "container_id")); /* identity is not detail */
	assert_null(strstr(s->ev[0].detail, "pod="));
	cgs_top_snap_free(s);
}

static void test_parse_bad(void **state)
{
	struct cgs_top_snap *s = NULL;
	const char *bad[] = { "", "[]", "{\"generation\":1}", "{\"containers\":{}}", "{\"containers\":[{\"id\":\"x\"}]}",
			      "{\"containers\":[", "not json" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cgs_top_parse(bad[i], strlen(bad[i]), &s), -EBADMSG);
		assert_null(s);
	}
	/* The smallest valid document. */
	assert_int_equal(cgs_top_parse("{\"containers\":[]}", 17, &s), 0);
	assert_int_equal(s->n, 0);
	cgs_top_snap_free(s);
}

/* The reader is strict JSON: every prefix of a valid document is rejected, without a crash. */
static void test_parse_truncated(void **state)
{
	char path[512], *buf;
	struct cgs_top_snap *s = NULL;
	FILE *f;
	long n;

	(void)state;
	snprintf(path, sizeof(path), "%s/top/gen2.json", CGS_FIXTURES_DIR);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	for (long len = 0; len < n; len++) {
		/* A copy of exactly len bytes, so a read past the end is caught by ASan. */
		char *p = malloc((size_t)len + 1);

		memcpy(p, buf, (size_t)len);
		assert_int_equal(cgs_top_parse(p, (size_t)len, &s), -EBADMSG);
		assert_null(s);
		free(p);
	}
	assert_int_equal(cgs_top_parse(buf, (size_t)n, &s), 0);
	cgs_top_snap_free(s);
	free(buf);
}

static struct cgs_top_snap *parse_str(const char *json)
{
	struct cgs_top_snap *s = NULL;
	int r = cgs_top_parse(json, strlen(json), &s);

	assert_int_equal(r, 0);
	return s;
}

static void test_parse_json_details(void **state)
{
	struct cgs_top_snap *s;
	const char *bad[] = {
		"{\"containers\":[]} x",                  /* trailing garbage */
		"{\"containers\":[],}",                   /* trailing comma */
		"{\"containers\":[{\"cgroup_id\":01}]}",  /* leading zero */
		"{\"containers\":[{\"cgroup_id\":1,\"name\":\"a\\x\"}]}", /* bad escape */
		"{\"containers\":[{\"cgroup_id\":1,\"name\":\"a\nb\"}]}",  /* raw control character */
		"{\"containers\":[{\"cgroup_id\":-1}]}",   /* ids are unsigned */
		"{\"containers\":[{\"cgroup_id\":1.5}]}",
		"{\"containers\":[],\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		"{\"containers\":[{\"cgroup_id\":1,\"metrics\":{\"container_processes\":1e}}]}",
		"{\"containers\":[{\"cgroup_id\":1,\"metrics\":{\"container_processes\":nul}}]}",
		"{\"containers\" [] }",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = NULL;
		assert_int_equal(cgs_top_parse(bad[i], strlen(bad[i]), &s), -EBADMSG);
		assert_null(s);
	}
	/* Escapes, \u with surrogate pairs, unknown keys and families skipped, numbers in every form. */
	s = parse_str(" {\"generation\" : 18446744073709551615, \"extra\":{\"a\":[true,false,null,\"s\"]},"
		      "\"containers\":[{\"cgroup_id\":42,\"name\":\"a\\\"b\\\\c\\/\\u00e9\\ud83d\\ude00\\t\","
		      "\"unknown\":{\"x\":[1,2]},\"metrics\":{\"container_cpu_usage_seconds_total\":1.5e3,"
		      "\"container_processes\":-0.0,\"container_threads\":1E-2,\"container_memory_rss\":123456789012345678901234,"
		      "\"container_fs_reads_bytes_total\":0.1,\"container_not_known\":{\"a\":{\"b\":1}},"
		      "\"container_network_receive_bytes_total\":{\"eth0\":1,\"eth1\":null,\"lo\":2}}}],"
		      "\"timestamp\":1.25} ");
	assert_true(s->generation == UINT64_MAX);
	assert_true(s->timestamp == 1.25);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->c[0].name, "a\"b\\c/\xc3\xa9\xf0\x9f\x98\x80\t");
	assert_string_equal(s->c[0].pod, ""); /* absent strings are empty */
	assert_true(s->c[0].v[CGS_TOP_V_CPU] == 1500);
	assert_true(s->c[0].v[CGS_TOP_V_PROCS] == 0);
	assert_true(s->c[0].v[CGS_TOP_V_THREADS] == 0.01);
	assert_true(s->c[0].v[CGS_TOP_V_MEM_RSS] == strtod("123456789012345678901234", NULL));
	assert_true(s->c[0].v[CGS_TOP_V_IO_R] == 0.1);
	assert_true(s->c[0].v[CGS_TOP_V_NET_RX] == 3);
	assert_true(isnan(s->c[0].start_time));
	cgs_top_snap_free(s);
	/* Long strings are cut on a character boundary, never inside one. */
	{
		char json[4096];
		size_t o = (size_t)snprintf(json, sizeof(json), "{\"containers\":[{\"cgroup_id\":1,\"name\":\"");

		for (int i = 0; i < 700; i++)
			o += (size_t)snprintf(json + o, sizeof(json) - o, "\xc3\xa9");
		snprintf(json + o, sizeof(json) - o, "\"}]}");
		s = parse_str(json);
		assert_true(strlen(s->c[0].name) <= 1023);
		assert_int_equal(strlen(s->c[0].name) % 2, 0);
		cgs_top_snap_free(s);
	}
}

/* Numbers agree with strtod, fast path or not. */
static void test_parse_numbers(void **state)
{
	const char *nums[] = { "0", "1", "-1", "0.5", "1e-06", "2e-06", "4.194304", "1795736108.93755", "0.000128",
			       "123456789012345678", "9007199254740993", "1.7976931348623157e308", "5e-324",
			       "0.30000000000000004", "12345678901234567890123", "1e23", "1.5E+3", "-0.0" };

	(void)state;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		char json[256];
		struct cgs_top_snap *s;

		snprintf(json, sizeof(json), "{\"timestamp\":%s,\"containers\":[]}", nums[i]);
		s = parse_str(json);
		if (s->timestamp != strtod(nums[i], NULL))
			fail_msg("%s read as %.17g, strtod says %.17g", nums[i], s->timestamp, strtod(nums[i], NULL));
		cgs_top_snap_free(s);
	}
}

static void test_peek_generation(void **state)
{
	uint64_t g = 0;

	(void)state;
	assert_int_equal(cgs_top_peek_generation("{\"generation\":42,\"t", 19, &g), 0);
	assert_int_equal(g, 42);
	assert_int_equal(cgs_top_peek_generation(" { \"generation\" : 7 }", 21, &g), 0);
	assert_int_equal(g, 7);
	assert_int_equal(cgs_top_peek_generation("{\"generation\":42", 16, &g), -EAGAIN);
	assert_int_equal(cgs_top_peek_generation("{\"gener", 7, &g), -EAGAIN);
	assert_int_equal(cgs_top_peek_generation("{\"containers\":[]}", 17, &g), -EBADMSG);
	assert_int_equal(cgs_top_peek_generation("{\"generation\":\"x\"}", 18, &g), -EBADMSG);
}

/* ---- rates ------------------------------------------------------------------- */

static void test_rates_two_snapshots(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();
	struct cgs_top_row *a, *b;

	(void)state;
	assert_int_equal(apply(m, "gen1.json"), 1);
	/* One snapshot: no rates yet. */
	cell(m, A_ID, CGS_TOP_C_CPU, "-");
	cell(m, A_ID, CGS_TOP_C_MEM, "100M/200M");
	cell(m, A_ID, CGS_TOP_C_PIDS, "3");
	/* The same generation again changes nothing. */
	assert_int_equal(apply(m, "gen1.json"), 0);
	assert_int_equal(apply(m, "gen2.json"), 1);
	a = row(m, A_ID);
	b = row(m, B_ID);
	/* 2 s of CPU over 2 s: one core. */
	assert_true(fabs(a->rate[CGS_TOP_V_CPU] - 1.0) < 1e-9);
	cell(m, A_ID, CGS_TOP_C_CPU, "100.0");
	assert_true(fabs(a->rate[CGS_TOP_V_NET_RX] - 1024) < 1e-9);
	cell(m, A_ID, CGS_TOP_C_NETRX, "1.0K");
	cell(m, A_ID, CGS_TOP_C_NETTX, "0B");
	cell(m, A_ID, CGS_TOP_C_IOW, "4.0K");
	cell(m, A_ID, CGS_TOP_C_DELAY, "5.0");
	assert_true(a->window == 2.0);
	/* Syscall p99 of the window: 100 of 102 new calls in the 4.096 ms bucket. */
	assert_true(cgs_top_hist_count(&a->win[CGS_TOP_H_SYSCALL]) == 200);
	cell(m, A_ID, CGS_TOP_C_P99, "4.1ms");
	/* Counter reset (5 -> 4): it restarted from zero within the window, 4 s over 2 s. */
	assert_true(fabs(b->rate[CGS_TOP_V_CPU] - 2.0) < 1e-9);
	/* Absent families stay "-". */
	cell(m, B_ID, CGS_TOP_C_NETRX, "-");
	cell(m, B_ID, CGS_TOP_C_OOM, "2");
	cell(m, D_ID, CGS_TOP_C_CPU, "-");
	/* Gone: kept as exited without rates; new: no rates yet. */
	assert_int_equal(cgs_top_row_status(row(m, C_ID)), CGS_TOP_EXITED);
	cell(m, C_ID, CGS_TOP_C_STATUS, "exited");
	cell(m, C_ID, CGS_TOP_C_CPU, "-");
	cell(m, E_ID, CGS_TOP_C_CPU, "-");
	cell(m, E_ID, CGS_TOP_C_STATUS, "running");
	/* Events merged without duplicates, oldest first. */
	assert_int_equal(m->nev, 2);
	assert_true(m->ev[0].time < m->ev[1].time);
	/* Totals over present containers. */
	assert_int_equal(m->tot.total, 4);
	assert_true(fabs(m->tot.cpu - 3.0) < 1e-9);
	cgs_top_model_free(m);
}

static void test_rates_lifecycle_publication(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();

	(void)state;
	apply(m, "gen1.json");                        /* t = 1000 */
	assert_int_equal(apply(m, "lifecycle.json"), 1); /* t = 1001: a container came, others not collected */
	/* Not a collection pass: no zero rates for the others. */
	cell(m, A_ID, CGS_TOP_C_CPU, "-");
	assert_non_null(cgs_top_model_find(m, E_ID));
	/* The next pass (t = 1002) measures from the values' own time, 1000: one core, not two. */
	assert_int_equal(apply_gen(m, "gen2.json", 12), 1);
	assert_true(fabs(row(m, A_ID)->rate[CGS_TOP_V_CPU] - 1.0) < 1e-9);
	/* E did not move in a real pass: idle, over the 1 s since it was collected. */
	assert_true(row(m, E_ID)->rate[CGS_TOP_V_CPU] == 0);
	assert_true(row(m, E_ID)->window == 1.0);
	cgs_top_model_free(m);
}

static void test_rates_keep_between_passes(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();

	(void)state;
	apply_cpu(m, 1, 100.0, 2, 1, 10.0, 2, 20.0);
	apply_cpu(m, 2, 102.0, 2, 1, 11.0, 2, 20.0); /* a pass: 1 busy at half a core, 2 idle */
	apply_cpu(m, 3, 104.0, 2, 1, 12.0, 2, 20.0);
	assert_true(fabs(m->interval_est - 2.0) < 1e-9);
	assert_true(fabs(row(m, 1)->rate[CGS_TOP_V_CPU] - 0.5) < 1e-9);
	assert_true(row(m, 2)->rate[CGS_TOP_V_CPU] == 0);
	assert_int_equal(row(m, 1)->ring_n, 2);
	/* A publication 0.5 s later with nothing moved (container 3 came): rates kept, no history point. */
	apply_cpu(m, 4, 104.5, 3, 1, 12.0, 2, 20.0, 3, 1.0);
	assert_true(fabs(row(m, 1)->rate[CGS_TOP_V_CPU] - 0.5) < 1e-9);
	assert_int_equal(row(m, 1)->ring_n, 2);
	/* Nothing moved for 1.5 intervals: everything went idle. */
	apply_cpu(m, 5, 107.0, 3, 1, 12.0, 2, 20.0, 3, 1.0);
	assert_true(row(m, 1)->rate[CGS_TOP_V_CPU] == 0);
	assert_int_equal(row(m, 1)->ring_n, 3);
	/* History: oldest first. */
	assert_true(fabsf(cgs_top_row_hist(row(m, 1), CGS_TOP_S_CPU, 0) - 0.5f) < 1e-6);
	assert_true(cgs_top_row_hist(row(m, 1), CGS_TOP_S_CPU, 2) == 0);
	cgs_top_model_free(m);
}

static void test_rates_agent_restart(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();

	(void)state;
	apply_cpu(m, 50, 100.0, 1, 1, 10.0);
	apply_cpu(m, 51, 101.0, 1, 1, 11.0);
	assert_true(row(m, 1)->rate[CGS_TOP_V_CPU] == 1.0);
	/* The agent restarted: generation 1. Rates start over. */
	assert_int_equal(apply_cpu(m, 1, 110.0, 1, 1, 20.0), 1);
	assert_true(isnan(row(m, 1)->rate[CGS_TOP_V_CPU]));
	apply_cpu(m, 2, 112.0, 1, 1, 21.0);
	assert_true(fabs(row(m, 1)->rate[CGS_TOP_V_CPU] - 0.5) < 1e-9);
	cgs_top_model_free(m);
}

static void test_exited_pruned(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();

	(void)state;
	m->exited_keep = 10;
	apply_cpu(m, 1, 100.0, 2, 1, 1.0, 2, 1.0);
	apply_cpu(m, 2, 101.0, 1, 1, 2.0);
	assert_int_equal(m->nrows, 2);
	assert_false(row(m, 2)->present);
	apply_cpu(m, 3, 112.0, 1, 1, 3.0);
	assert_int_equal(m->nrows, 1);
	assert_null(cgs_top_model_find(m, 2));
	/* Bounded count too. */
	m->exited_max = 1;
	m->exited_keep = 1000;
	apply_cpu(m, 4, 113.0, 3, 1, 3.0, 5, 1.0, 6, 1.0);
	apply_cpu(m, 5, 114.0, 1, 1, 3.0);
	assert_int_equal(m->nrows, 2);
	cgs_top_model_free(m);
}

/* ---- sorting, filtering, cursor ----------------------------------------------- */

static uint64_t vis(struct cgs_top_model *m, size_t i)
{
	assert_true(i < m->nvis);
	return m->vis[i]->ct.cgroup_id;
}

static void test_sort(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();

	(void)state;
	apply(m, "gen1.json");
	apply(m, "gen2.json"); /* cpu: A 1.0, B 2.0, D -, E - ; C exited */
	assert_int_equal(m->sort, CGS_TOP_C_CPU);
	assert_int_equal(m->nvis, 5);
	assert_int_equal(vis(m, 0), B_ID);
	assert_int_equal(vis(m, 1), A_ID);
	/* Unknown values last, whichever the direction. */
	m->reverse = true;
	cgs_top_model_refresh(m);
	assert_int_equal(vis(m, 0), A_ID);
	assert_int_equal(vis(m, 1), B_ID);
	assert_true(isnan(m->vis[4]->rate[CGS_TOP_V_CPU]));
	/* Names ascend: "/machine.slice/..." (D, no metadata), frontend-7d9f/nginx (B), frontend-7d9f/sidecar (E), idle, web. */
	cgs_top_model_set_sort(m, CGS_TOP_C_NAME);
	assert_false(m->reverse);
	assert_int_equal(vis(m, 0), D_ID);
	assert_int_equal(vis(m, 1), B_ID);
	assert_int_equal(vis(m, 2), E_ID);
	assert_int_equal(vis(m, 3), C_ID);
	assert_int_equal(vis(m, 4), A_ID);
	cgs_top_model_set_sort(m, CGS_TOP_C_NAME); /* again: reversed */
	assert_true(m->reverse);
	assert_int_equal(vis(m, 0), A_ID);
	/* Memory: largest first. */
	cgs_top_model_set_sort(m, CGS_TOP_C_MEM);
	assert_int_equal(vis(m, 0), A_ID);
	assert_int_equal(vis(m, 1), B_ID);
	/* Status: running, empty, exited. */
	cgs_top_model_set_sort(m, CGS_TOP_C_STATUS);
	assert_int_equal(vis(m, 4), C_ID);
	cgs_top_model_free(m);
}

static void test_filter(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();

	(void)state;
	apply(m, "gen1.json");
	cgs_top_model_set_filter(m, "WEB"); /* name, case-insensitive */
	assert_int_equal(m->nvis, 1);
	assert_int_equal(vis(m, 0), A_ID);
	cgs_top_model_set_filter(m, "frontend"); /* pod */
	assert_int_equal(m->nvis, 1);
	assert_int_equal(vis(m, 0), B_ID);
	cgs_top_model_set_filter(m, "shop"); /* namespace */
	assert_int_equal(m->nvis, 1);
	cgs_top_model_set_filter(m, "nginx:1.25"); /* image of A, and B's ends with it */
	assert_int_equal(m->nvis, 2);
	cgs_top_model_set_filter(m, "nginx shop"); /* every word must match */
	assert_int_equal(m->nvis, 1);
	cgs_top_model_set_filter(m, "cccccccc"); /* container id */
	assert_int_equal(m->nvis, 1);
	assert_int_equal(vis(m, 0), C_ID);
	cgs_top_model_set_filter(m, "nothing-like-this");
	assert_int_equal(m->nvis, 0);
	assert_null(cgs_top_model_selected(m));
	cgs_top_model_set_filter(m, "");
	assert_int_equal(m->nvis, 4);
	/* Running only: not the empty one (0 processes), not exited ones. */
	m->running_only = true;
	cgs_top_model_refresh(m);
	assert_int_equal(m->nvis, 3);
	apply(m, "gen2.json");
	for (size_t i = 0; i < m->nvis; i++)
		assert_int_not_equal(vis(m, i), C_ID);
	cgs_top_model_free(m);
}

static void test_cursor_follows_and_survives(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();

	(void)state;
	apply_cpu(m, 1, 100.0, 4, 1, 1.0, 2, 1.0, 3, 1.0, 4, 1.0);
	apply_cpu(m, 2, 101.0, 4, 1, 1.4, 2, 1.3, 3, 1.2, 4, 1.1); /* order 1 2 3 4 */
	m->running_only = true;
	cgs_top_model_refresh(m);
	cgs_top_model_move(m, 2, 10);
	assert_int_equal(cgs_top_model_selected(m)->ct.cgroup_id, 3);
	/* The order changes: the cursor stays on its container. */
	apply_cpu(m, 3, 102.0, 4, 1, 1.5, 2, 1.4, 3, 2.2, 4, 1.2);
	assert_int_equal(vis(m, 0), 3);
	assert_int_equal(m->cursor, 0);
	assert_int_equal(cgs_top_model_selected(m)->ct.cgroup_id, 3);
	/* It goes from under the cursor: the cursor lands on the row now at its place. */
	apply_cpu(m, 4, 103.0, 3, 1, 1.6, 2, 1.5, 4, 1.3);
	assert_int_equal(m->nvis, 3);
	assert_int_equal(cgs_top_model_selected(m)->ct.cgroup_id, vis(m, 0));
	/* The last row goes while selected: the cursor moves up. */
	cgs_top_model_move(m, 10, 10);
	assert_int_equal(m->cursor, 2);
	apply_cpu(m, 5, 104.0, 2, 1, 1.7, 2, 1.6);
	assert_int_equal(m->cursor, 1);
	assert_non_null(cgs_top_model_selected(m));
	/* Everything goes. */
	apply_cpu(m, 6, 105.0, 0);
	assert_null(cgs_top_model_selected(m));
	cgs_top_model_move(m, 1, 10);
	cgs_top_model_free(m);
}

static void test_scrolling(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();
	struct cgs_top_snap *s = calloc(1, sizeof(*s));

	(void)state;
	/* 1,000 containers, a page of 20. */
	s->generation = 1;
	s->timestamp = 1;
	s->n = 1000;
	s->c = calloc(s->n, sizeof(*s->c));
	for (size_t i = 0; i < s->n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "c%04zu", i);
		s->c[i].cgroup_id = i + 1;
		s->c[i].name = strdup(name);
		s->c[i].container_id = strdup(name);
		for (int v = 0; v < CGS_TOP_V__COUNT; v++)
			s->c[i].v[v] = NAN;
	}
	assert_int_equal(cgs_top_model_update(m, s), 1);
	cgs_top_snap_free(s);
	m->sort = CGS_TOP_C_NAME;
	cgs_top_model_refresh(m);
	assert_int_equal(m->nvis, 1000);
	cgs_top_model_move(m, 20, 20); /* PgDn */
	assert_int_equal(m->cursor, 20);
	assert_int_equal(m->top, 1);
	cgs_top_model_move(m, 5000, 20); /* End */
	assert_int_equal(m->cursor, 999);
	assert_int_equal(m->top, 980);
	cgs_top_model_move(m, -20, 20); /* PgUp */
	assert_int_equal(m->cursor, 979);
	assert_int_equal(m->top, 979);
	cgs_top_model_move(m, -5000, 20); /* Home */
	assert_int_equal(m->cursor, 0);
	assert_int_equal(m->top, 0);
	cgs_top_model_free(m);
}

/* ---- columns ------------------------------------------------------------------ */

static int shown(const int w[CGS_TOP_C__COUNT], enum cgs_top_col c)
{
	return w[c] > 0;
}

static void test_fit_columns(void **state)
{
	int x[CGS_TOP_C__COUNT], w[CGS_TOP_C__COUNT], n, right;

	(void)state;
	/* Wide: everything, NAME grows to what the names need. */
	n = cgs_top_fit(CGS_TOP_COLS_ALL, 250, 30, x, w);
	assert_int_equal(n, CGS_TOP_C__COUNT);
	assert_int_equal(w[CGS_TOP_C_NAME], 30);
	assert_int_equal(x[CGS_TOP_C_NAME], 0);
	assert_int_equal(x[CGS_TOP_C_ID], 31);
	/* ... but not beyond CGS_TOP_NAME_MAX. */
	cgs_top_fit(CGS_TOP_COLS_ALL, 250, 200, x, w);
	assert_int_equal(w[CGS_TOP_C_NAME], CGS_TOP_NAME_MAX);
	/* 80 columns: the lowest priorities go first, the rest fits. */
	n = cgs_top_fit(CGS_TOP_COLS_ALL, 80, 16, x, w);
	assert_true(n < CGS_TOP_C__COUNT);
	assert_true(shown(w, CGS_TOP_C_NAME) && shown(w, CGS_TOP_C_CPU) && shown(w, CGS_TOP_C_MEM) &&
		    shown(w, CGS_TOP_C_STATUS) && shown(w, CGS_TOP_C_ID));
	assert_false(shown(w, CGS_TOP_C_OOM));
	assert_false(shown(w, CGS_TOP_C_P99));
	right = 0;
	for (int c = 0; c < CGS_TOP_C__COUNT; c++)
		if (w[c] && x[c] + w[c] > right)
			right = x[c] + w[c];
	assert_true(right <= 80);
	/* Columns keep their order. */
	assert_true(x[CGS_TOP_C_ID] < x[CGS_TOP_C_CPU] && x[CGS_TOP_C_CPU] < x[CGS_TOP_C_MEM]);
	/* 40 columns: NAME and CPU, then MEM if it fits. */
	cgs_top_fit(CGS_TOP_COLS_ALL, 40, 16, x, w);
	assert_true(shown(w, CGS_TOP_C_NAME) && shown(w, CGS_TOP_C_CPU));
	assert_false(shown(w, CGS_TOP_C_NETRX));
	/* Tiny: NAME alone, cut to the width. */
	n = cgs_top_fit(CGS_TOP_COLS_ALL, 10, 16, x, w);
	assert_int_equal(n, 1);
	assert_int_equal(w[CGS_TOP_C_NAME], 10);
	/* Chosen columns only. */
	{
		unsigned mask = 0;

		assert_int_equal(cgs_top_cols_parse("cpu, mem,status", &mask), 0);
		assert_int_equal(mask, (1u << CGS_TOP_C_NAME) | (1u << CGS_TOP_C_CPU) | (1u << CGS_TOP_C_MEM) |
					       (1u << CGS_TOP_C_STATUS));
		n = cgs_top_fit(mask, 200, 16, x, w);
		assert_int_equal(n, 4);
		assert_false(shown(w, CGS_TOP_C_ID));
		assert_int_equal(cgs_top_cols_parse("cpu,bogus", &mask), -EINVAL);
	}
	assert_int_equal(cgs_top_col_parse("NETRX"), CGS_TOP_C_NETRX);
	assert_int_equal(cgs_top_col_parse("nope"), -1);
}

static void test_format(void **state)
{
	char b[32];
	struct cgs_top_hist h = { .present = true, .n = 3, .le = { 1e-3, 2e-3, INFINITY }, .cum = { 0, 0, 5 } };

	(void)state;
	cgs_top_fmt_bytes(NAN, b, sizeof(b));
	assert_string_equal(b, "-");
	cgs_top_fmt_bytes(0, b, sizeof(b));
	assert_string_equal(b, "0B");
	cgs_top_fmt_bytes(1023, b, sizeof(b));
	assert_string_equal(b, "1023B");
	cgs_top_fmt_bytes(1536, b, sizeof(b));
	assert_string_equal(b, "1.5K");
	cgs_top_fmt_bytes(123.0 * 1048576, b, sizeof(b));
	assert_string_equal(b, "123M");
	cgs_top_fmt_secs(32e-6, b, sizeof(b));
	assert_string_equal(b, "32us");
	cgs_top_fmt_secs(4.096e-3, b, sizeof(b));
	assert_string_equal(b, "4.1ms");
	cgs_top_fmt_secs(2.5, b, sizeof(b));
	assert_string_equal(b, "2.50s");
	/* All in the overflow bucket: the last finite bound. */
	assert_true(cgs_top_hist_quantile(&h, 0.99) == 2e-3);
	h.cum[2] = 0;
	assert_true(isnan(cgs_top_hist_quantile(&h, 0.99)));
}

static void test_node_cpu_and_mem_bar(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();

	(void)state;
	apply(m, "gen1.json");
	apply(m, "gen2.json");
	m->node_cpus = 4;
	m->node_mem = 1024.0 * 1048576;
	cell(m, A_ID, CGS_TOP_C_CPU, "100.0");
	m->cpu_of_node = true;
	cell(m, A_ID, CGS_TOP_C_CPU, "25.0");
	cell(m, A_ID, CGS_TOP_C_MEMBAR, "50%");
	/* Unlimited (limit 0): against the node's memory. */
	cell(m, B_ID, CGS_TOP_C_MEM, "50M");
	cell(m, B_ID, CGS_TOP_C_MEMBAR, "5%");
	cell(m, E_ID, CGS_TOP_C_MEMBAR, "-");
	cgs_top_model_free(m);
}

/* MEM: the working set, else the usage, else the RSS (what a hybrid host's eBPF collector gives). */
static void test_mem_fallback(void **state)
{
	struct cgs_top_model *m = cgs_top_model_new();
	struct cgs_top_snap *s = parse_str(
		"{\"generation\":1,\"timestamp\":1,\"containers\":["
		"{\"cgroup_id\":1,\"metrics\":{\"container_memory_rss\":1048576}},"
		"{\"cgroup_id\":2,\"metrics\":{\"container_memory_rss\":1048576,\"container_memory_usage_bytes\":2097152}},"
		"{\"cgroup_id\":3,\"metrics\":{\"container_memory_rss\":1,\"container_memory_working_set_bytes\":3145728,"
		"\"container_spec_memory_limit_bytes\":6291456}},"
		"{\"cgroup_id\":4,\"metrics\":{}}]}");

	(void)state;
	assert_int_equal(cgs_top_model_update(m, s), 1);
	cgs_top_snap_free(s);
	cell(m, 1, CGS_TOP_C_MEM, "1.0M");
	cell(m, 2, CGS_TOP_C_MEM, "2.0M");
	cell(m, 3, CGS_TOP_C_MEM, "3.0M/6.0M");
	cell(m, 3, CGS_TOP_C_MEMBAR, "50%");
	cell(m, 4, CGS_TOP_C_MEM, "-");
	assert_true(m->tot.mem == 6.0 * 1048576);
	cgs_top_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fixture),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_json_details),
		cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_peek_generation),
		cmocka_unit_test(test_mem_fallback),
		cmocka_unit_test(test_rates_two_snapshots),
		cmocka_unit_test(test_rates_lifecycle_publication),
		cmocka_unit_test(test_rates_keep_between_passes),
		cmocka_unit_test(test_rates_agent_restart),
		cmocka_unit_test(test_exited_pruned),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_cursor_follows_and_survives),
		cmocka_unit_test(test_scrolling),
		cmocka_unit_test(test_fit_columns),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_node_cpu_and_mem_bar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
