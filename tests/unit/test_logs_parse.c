/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the log line parsers (collectors/logs_parse.c) on real-format
 * fixtures (a real Podman ctr.log, containerd CRI, Docker json-file with
 * 16 KiB pieces, garbage), and of what log paths say (collectors/logs_meta.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/logs.h"
#include "collectors/logs_parse.h"

#define FIX CGS_FIXTURES_DIR "/logs/"

struct lines {
	char *buf;
	size_t n;
	char *line[64];
	size_t len[64];
};

static void load(const char *name, struct lines *l)
{
	FILE *f = fopen(name, "rb");
	size_t cap = 1 << 20, got;

	assert_non_null(f);
	l->buf = malloc(cap);
	assert_non_null(l->buf);
	got = fread(l->buf, 1, cap - 1, f);
	fclose(f);
	l->n = 0;
	for (char *p = l->buf, *end = l->buf + got; p < end && l->n < 64;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		assert_non_null(nl);
		l->line[l->n] = p;
		l->len[l->n++] = (size_t)(nl - p);
		p = nl + 1;
	}
}

static int64_t t_of(const char *s)
{
	int64_t ns = -1;

	assert_int_equal(cgs_log_parse_time(s, strlen(s), &ns), 0);
	return ns;
}

static void test_time(void **state)
{
	int64_t ns;
	(void)state;

	assert_int_equal(t_of("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(t_of("1970-01-01T00:00:01.5Z"), 1500000000);
	/* 2024-03-01T10:00:00Z = 1709287200 (a leap year, after February 29) */
	assert_int_equal(t_of("2024-03-01T10:00:00Z"), 1709287200LL * 1000000000);
	assert_int_equal(t_of("2024-03-01T10:00:00.000000001Z"), 1709287200LL * 1000000000 + 1);
	assert_int_equal(t_of("2024-03-01T11:00:00+01:00"), 1709287200LL * 1000000000);
	assert_int_equal(t_of("2024-03-01T09:30:00-00:30"), 1709287200LL * 1000000000);
	assert_int_equal(t_of("2024-03-01T10:00:00.1234567891234Z"), 1709287200LL * 1000000000 + 123456789);
	assert_int_equal(t_of("2026-11-26T23:57:07.103168525+00:00"), 1795737427LL * 1000000000 + 103168525);
	const char *bad[] = { "", "2024-03-01", "2024-03-01T10:00:00", "2024-13-01T10:00:00Z",
			      "2024-03-01T25:00:00Z", "2024-03-01T10:00:00.Z", "2024-03-01T10:00:00Zjunk",
			      "2024-03-01T10:00:00+0100", "2024/03/01T10:00:00Z", "2024-03-01 10:00:00Z",
			      /* beyond what int64 nanoseconds hold (found by fuzzing: an overflow) */
			      "2263-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cgs_log_parse_time(bad[i], strlen(bad[i]), &ns) == 0)
			fail_msg("'%s' parsed", bad[i]);
}

static void expect_cri(const struct lines *l, size_t i, int stream, bool partial, const char *msg)
{
	struct cgs_log_line x;

	assert_int_equal(cgs_log_parse_cri(l->line[i], l->len[i], &x), 0);
	assert_int_equal(x.stream, stream);
	assert_int_equal(x.partial, partial);
	if (msg) {
		assert_int_equal(x.len, strlen(msg));
		assert_memory_equal(x.msg, msg, x.len);
	}
	assert_true(x.time_ns > 0);
}

static void test_cri_podman(void **state)
{
	struct lines l;
	struct cgs_log_line x;
	size_t total = 0;
	(void)state;

	load(FIX "podman-ctr.log", &l);
	assert_int_equal(l.n, 9);
	assert_int_equal(cgs_log_detect(l.line[0], l.len[0]), CGS_LOG_FMT_CRI);
	expect_cri(&l, 0, CGS_LOG_STDOUT, false, "hello");
	expect_cri(&l, 1, CGS_LOG_STDOUT, false, "no newline at end");
	expect_cri(&l, 2, CGS_LOG_STDERR, false, "err");
	/* conmon's pieces of the 20,000-byte line, then an empty final piece */
	for (size_t i = 3; i < 6; i++) {
		assert_int_equal(cgs_log_parse_cri(l.line[i], l.len[i], &x), 0);
		assert_true(x.partial);
		for (size_t k = 0; k < x.len; k++)
			assert_int_equal(x.msg[k], 'a');
		total += x.len;
	}
	assert_int_equal(total, 20000);
	expect_cri(&l, 6, CGS_LOG_STDOUT, false, "");
	expect_cri(&l, 7, CGS_LOG_STDOUT, false, "x\ty\"z\\");
	expect_cri(&l, 8, CGS_LOG_STDOUT, false, "done");
	assert_int_equal(cgs_log_parse_cri(l.line[0], l.len[0], &x), 0);
	assert_int_equal(x.time_ns, 1795737427LL * 1000000000 + 103168525);
	free(l.buf);
}

static void test_cri_containerd(void **state)
{
	struct lines l;
	(void)state;

	load(FIX "containerd-cri.log", &l);
	assert_int_equal(l.n, 8);
	expect_cri(&l, 0, CGS_LOG_STDOUT, false, "first line");
	expect_cri(&l, 1, CGS_LOG_STDOUT, true, "part one, ");
	expect_cri(&l, 2, CGS_LOG_STDERR, false, "an error in between");
	expect_cri(&l, 3, CGS_LOG_STDOUT, true, "part two, ");
	expect_cri(&l, 4, CGS_LOG_STDOUT, false, "part three");
	expect_cri(&l, 5, CGS_LOG_STDERR, false, "");
	expect_cri(&l, 6, CGS_LOG_STDOUT, false, "tagged with more than P/F");
	expect_cri(&l, 7, CGS_LOG_STDOUT, false, "spaces  kept   inside ");
	free(l.buf);
	/* An empty message without its separating space. */
	struct cgs_log_line x;
	const char *s = "2024-03-01T10:00:00Z stderr F";

	assert_int_equal(cgs_log_parse_cri(s, strlen(s), &x), 0);
	assert_int_equal(x.len, 0);
	assert_int_equal(x.stream, CGS_LOG_STDERR);
}

static void test_docker(void **state)
{
	struct lines l;
	struct cgs_log_line x;
	char scratch[1 << 16];
	size_t total = 0;
	(void)state;

	load(FIX "docker-json.log", &l);
	assert_int_equal(l.n, 8);
	assert_int_equal(cgs_log_detect(l.line[0], l.len[0]), CGS_LOG_FMT_DOCKER);
	assert_int_equal(cgs_log_parse_docker(l.line[0], l.len[0], scratch, &x), 0);
	assert_int_equal(x.stream, CGS_LOG_STDOUT);
	assert_false(x.partial);
	assert_int_equal(x.len, strlen("hello from docker"));
	assert_memory_equal(x.msg, "hello from docker", x.len);
	assert_int_equal(x.time_ns, 1709287200LL * 1000000000 + 1);
	assert_int_equal(cgs_log_parse_docker(l.line[1], l.len[1], scratch, &x), 0);
	assert_int_equal(x.stream, CGS_LOG_STDERR);
	assert_int_equal(x.time_ns, 1709287200LL * 1000000000 + 500000000);
	/* 16 KiB pieces: partial until the one ending in "\n" */
	for (size_t i = 2; i < 5; i++) {
		assert_int_equal(cgs_log_parse_docker(l.line[i], l.len[i], scratch, &x), 0);
		assert_int_equal(x.partial, i < 4);
		for (size_t k = 0; k < x.len; k++)
			assert_int_equal(x.msg[k], 'a' + (int)((total + k) % 26));
		total += x.len;
	}
	assert_int_equal(total, 40000);
	assert_int_equal(cgs_log_parse_docker(l.line[5], l.len[5], scratch, &x), 0);
	const char *want = "tab\there \"quoted\" back\\slash \xc3\xa9\xe4\xb8\xad \xf0\x9f\x98\x80";

	assert_int_equal(x.len, strlen(want));
	assert_memory_equal(x.msg, want, x.len);
	assert_int_equal(x.time_ns, (1709287200LL + 2 - 3600) * 1000000000);
	assert_int_equal(cgs_log_parse_docker(l.line[6], l.len[6], scratch, &x), 0);
	assert_int_equal(x.stream, CGS_LOG_STDERR);
	assert_int_equal(x.len, strlen("with attrs"));
	assert_int_equal(x.time_ns, (1709287200LL + 3) * 1000000000 + 250000000);
	assert_int_equal(cgs_log_parse_docker(l.line[7], l.len[7], scratch, &x), 0);
	assert_int_equal(x.len, 0);
	assert_false(x.partial);
	free(l.buf);
	/* A lone surrogate becomes U+FFFD. */
	const char *lone = "{\"log\":\"\\ud800x\\n\"}";

	assert_int_equal(cgs_log_parse_docker(lone, strlen(lone), scratch, &x), 0);
	assert_int_equal(x.len, 4);
	assert_memory_equal(x.msg, "\xef\xbf\xbdx", 4);
}

static void test_garbage(void **state)
{
	struct lines l;
	struct cgs_log_line x;
	char scratch[4096];
	(void)state;

	load(FIX "garbage.log", &l);
	assert_int_equal(l.n, 7);
	for (size_t i = 0; i < 6; i++) {
		if (cgs_log_parse_cri(l.line[i], l.len[i], &x) == 0)
			fail_msg("garbage line %zu parsed as CRI", i);
		if (cgs_log_parse_docker(l.line[i], l.len[i], scratch, &x) == 0)
			fail_msg("garbage line %zu parsed as Docker", i);
	}
	expect_cri(&l, 6, CGS_LOG_STDOUT, false, "fine again");
	assert_int_equal(cgs_log_detect(l.line[0], l.len[0]), CGS_LOG_FMT_UNKNOWN);
	free(l.buf);
	/* Truncated inputs of a good line never parse out of bounds (ASan watches). */
	const char *good = "{\"log\":\"a\\u00e9\\\"b\\n\",\"stream\":\"stdout\",\"time\":\"2024-03-01T10:00:00Z\"}";

	for (size_t n = 0; n < strlen(good); n++) {
		char *cut = malloc(n ? n : 1);

		memcpy(cut, good, n);
		assert_int_not_equal(cgs_log_parse_docker(cut, n, scratch, &x), 0);
		free(cut);
	}
	const char *cri = "2024-03-01T10:00:00.123Z stdout F msg";

	for (size_t n = 0; n < 30; n++) {
		char *cut = malloc(n ? n : 1);

		memcpy(cut, cri, n);
		assert_int_not_equal(cgs_log_parse_cri(cut, n, &x), 0);
		free(cut);
	}
}

static void test_paths(void **state)
{
	struct cgs_logpath p;
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char path[512];
	(void)state;

	snprintf(path, sizeof(path), "/var/log/containers/web-7d9f_shop_nginx-proxy-%s.log", id);
	cgs_logs_parse_path(path, &p);
	assert_string_equal(p.pod_name, "web-7d9f");
	assert_string_equal(p.namespace_name, "shop");
	assert_string_equal(p.container_name, "nginx-proxy");
	assert_string_equal(p.container_id, id);
	assert_int_equal(p.format, CGS_LOG_FMT_CRI);
	cgs_logs_parse_path("/var/log/pods/shop_web-7d9f_5b1c2c3d-1111-2222-3333-444455556666/nginx/3.log", &p);
	assert_string_equal(p.namespace_name, "shop");
	assert_string_equal(p.pod_name, "web-7d9f");
	assert_string_equal(p.pod_id, "5b1c2c3d-1111-2222-3333-444455556666");
	assert_string_equal(p.container_name, "nginx");
	assert_string_equal(p.container_id, "");
	/* a rotated file keeps the same metadata */
	cgs_logs_parse_path("/var/log/pods/shop_web-7d9f_5b1c2c3d-1111-2222-3333-444455556666/nginx/3.log.20240301-100000", &p);
	assert_string_equal(p.container_name, "nginx");
	snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/%s-json.log", id, id);
	cgs_logs_parse_path(path, &p);
	assert_string_equal(p.container_id, id);
	assert_string_equal(p.pod_name, "");
	assert_int_equal(p.format, CGS_LOG_FMT_DOCKER);
	snprintf(path, sizeof(path), "/var/lib/containers/storage/overlay-containers/%s/userdata/ctr.log", id);
	cgs_logs_parse_path(path, &p);
	assert_string_equal(p.container_id, id);
	assert_int_equal(p.format, CGS_LOG_FMT_CRI);
	cgs_logs_parse_path("/tmp/some/app.log", &p);
	assert_string_equal(p.container_id, "");
	assert_int_equal(p.format, CGS_LOG_FMT_UNKNOWN);
	/* not the Kubernetes link shape: no '_' separated fields */
	snprintf(path, sizeof(path), "/var/log/containers/nounderscore-%s.log", id);
	cgs_logs_parse_path(path, &p);
	assert_string_equal(p.pod_name, "");
	assert_string_equal(p.container_id, "");
}

static void test_tag(void **state)
{
	struct lg_meta m = { .namespace_name = "shop", .pod_name = "web-1", .container_name = "nginx",
			     .container_id = "abc", .name = "", .runtime = "containerd" };
	char out[64];
	(void)state;

	assert_int_equal(cgs_logs_render_tag("kube.{namespace}.{pod}.{container}", &m, "stdout", out, sizeof(out)), 0);
	assert_string_equal(out, "kube.shop.web-1.nginx");
	assert_int_equal(cgs_logs_render_tag("{runtime}.{name}.{stream}.{unknown}", &m, "stderr", out, sizeof(out)), 0);
	assert_string_equal(out, "containerd._.stderr.{unknown}");
	assert_int_equal(cgs_logs_render_tag("x.{container_id}{", &m, "", out, sizeof(out)), 0);
	assert_string_equal(out, "x.abc{");
	assert_int_equal(cgs_logs_render_tag("kube.{namespace}.{pod}.{container}", &m, "stdout", out, 10), -ENAMETOOLONG);
	assert_string_equal(out, "kube.shop");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_cri_podman),
		cmocka_unit_test(test_cri_containerd),
		cmocka_unit_test(test_docker),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_tag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
