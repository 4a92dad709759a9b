/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log pipeline end to end, in one process, without privileges: the
 * logs collector (collectors/logs*.c) tails files in a temporary directory
 * and ships to a Forward server run by this test on loopback (decoding
 * with msgpack-c, acking on demand). Covers partial-line joining, splits of
 * a 10 MiB line, rename and copytruncate rotation, inode reuse, restarts
 * with positions, a server that never acks (nothing committed, memory
 * bounded), the spool and its replay after a restart, backpressure, and the
 * agent's events file (written through agent/events.c, rotated by it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "agent/config.h"
#include "agent/events.h"
#include "agent/samples.h"
#include "collectors/collector.h"

extern const struct cgs_collector_ops cgs_collector_logs;

struct rec {
	char tag[128];
	int64_t t;
	char *log;
	size_t len;
	char stream[8];
	bool malformed, split;
	char pod[64];
	int64_t pid;       /* an event's "pid" (-1: none) */
};

#define MAX_CONN 16
struct srv {
	int lfd, port;
	int cfd[MAX_CONN];
	msgpack_unpacker up[MAX_CONN];
	bool ack;            /* answer acks */
	bool accept;         /* accept connections (else: connections are refused by closing) */
	struct rec *r;
	size_t n, cap;
	size_t frames;
};

struct h {
	char dir[64];
	struct cgs_config cfg;
	void *state;
	struct srv s;
};

static struct h H;

/* ---- the test's Forward server ---- */

static void srv_start(struct srv *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < MAX_CONN; i++)
		s->cfd[i] = -1;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	getsockname(s->lfd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	s->ack = s->accept = true;
}

static void srv_drop_conns(struct srv *s)
{
	for (int i = 0; i < MAX_CONN; i++)
		if (s->cfd[i] >= 0) {
			close(s->cfd[i]);
			s->cfd[i] = -1;
			msgpack_unpacker_destroy(&s->up[i]);
		}
}

static void srv_free(struct srv *s)
{
	srv_drop_conns(s);
	close(s->lfd);
	for (size_t i = 0; i < s->n; i++)
		free(s->r[i].log);
	free(s->r);
}

static const msgpack_object *map_get(const msgpack_object *m, const char *k)
{
	if (m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(k) &&
		    !memcmp(key->via.str.ptr, k, key->via.str.size))
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

static void copy_str(char *dst, size_t cap, const msgpack_object *o)
{
	size_t n = o && o->type == MSGPACK_OBJECT_STR ? o->via.str.size : 0;

	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, o->via.str.ptr, n);
	dst[n] = '\0';
}

static void srv_frame(struct srv *s, int fd, const msgpack_object *f)
{
	const msgpack_object *a = f->via.array.ptr, *opt, *chunk, *comp;
	char tag[128];
	const char *body;
	size_t blen, off = 0;
	char *inflated = NULL;

	assert_int_equal(f->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(f->via.array.size, 3);
	assert_int_equal(a[1].type, MSGPACK_OBJECT_BIN);
	copy_str(tag, sizeof(tag), &a[0]);
	opt = &a[2];
	body = a[1].via.bin.ptr;
	blen = a[1].via.bin.size;
	comp = map_get(opt, "compressed");
	if (comp) {
		z_stream z = { 0 };
		size_t cap = blen * 4 + 1024;
		int zr;

		inflated = malloc(cap);
		assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
		z.next_in = (Bytef *)(uintptr_t)body;
		z.avail_in = (uInt)blen;
		z.next_out = (Bytef *)inflated;
		z.avail_out = (uInt)cap;
		while ((zr = inflate(&z, Z_FINISH)) == Z_BUF_ERROR || (zr == Z_OK && !z.avail_out)) {
			inflated = realloc(inflated, cap * 2);
			z.next_out = (Bytef *)inflated + cap;
			z.avail_out = (uInt)cap;
			cap *= 2;
		}
		assert_int_equal(zr, Z_STREAM_END);
		body = inflated;
		blen = z.total_out;
		inflateEnd(&z);
	}
	s->frames++;
	msgpack_unpacked u;

	msgpack_unpacked_init(&u);
	while (msgpack_unpack_next(&u, body, blen, &off) == MSGPACK_UNPACK_SUCCESS) {
		const msgpack_object *e = &u.data, *rec, *v, *k;
		struct rec *r;

		assert_int_equal(e->type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(e->via.array.ptr[0].type, MSGPACK_OBJECT_EXT);
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 1024;
			s->r = realloc(s->r, s->cap * sizeof(*s->r));
		}
		r = &s->r[s->n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->tag, sizeof(r->tag), "%s", tag);
		const unsigned char *et = (const unsigned char *)e->via.array.ptr[0].via.ext.ptr;

		r->t = ((int64_t)et[0] << 24 | et[1] << 16 | et[2] << 8 | et[3]) * 1000000000LL +
		       ((int64_t)et[4] << 24 | et[5] << 16 | et[6] << 8 | et[7]);
		rec = &e->via.array.ptr[1];
		v = map_get(rec, "log");
		/* An event record (events_file) has its own fields instead of "log". */
		assert_true(v || map_get(rec, "type"));
		r->len = v ? v->via.str.size : 0;
		r->log = malloc(r->len + 1);
		if (v)
			memcpy(r->log, v->via.str.ptr, r->len);
		r->log[r->len] = '\0';
		v = map_get(rec, "pid");
		r->pid = v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)v->via.u64 : -1;
		copy_str(r->stream, sizeof(r->stream), map_get(rec, "stream"));
		r->malformed = map_get(rec, "malformed") != NULL;
		r->split = map_get(rec, "split") != NULL;
		k = map_get(rec, "kubernetes");
		copy_str(r->pod, sizeof(r->pod), k ? map_get(k, "pod_name") : NULL);
	}
	msgpack_unpacked_destroy(&u);
	free(inflated);
	chunk = map_get(opt, "chunk");
	if (chunk && s->ack) {
		msgpack_sbuffer sb;
		msgpack_packer pk;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str_with_body(&pk, "ack", 3);
		msgpack_pack_str_with_body(&pk, chunk->via.str.ptr, chunk->via.str.size);
		assert_int_equal(send(fd, sb.data, sb.size, MSG_NOSIGNAL), (ssize_t)sb.size);
		msgpack_sbuffer_destroy(&sb);
	}
}

static void srv_io(struct srv *s)
{
	int fd;

	while ((fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		int i;

		if (!s->accept) {
			close(fd);
			continue;
		}
		for (i = 0; i < MAX_CONN && s->cfd[i] >= 0; i++)
			;
		assert_true(i < MAX_CONN);
		s->cfd[i] = fd;
		msgpack_unpacker_init(&s->up[i], 1 << 20);
	}
	for (int i = 0; i < MAX_CONN; i++) {
		if (s->cfd[i] < 0)
			continue;
		for (;;) {
			msgpack_unpacker *up = &s->up[i];

			msgpack_unpacker_reserve_buffer(up, 1 << 20);
			ssize_t n = recv(s->cfd[i], msgpack_unpacker_buffer(up), msgpack_unpacker_buffer_capacity(up), 0);

			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				close(s->cfd[i]);
				s->cfd[i] = -1;
				msgpack_unpacker_destroy(up);
				break;
			}
			if (n < 0)
				break;
			msgpack_unpacker_buffer_consumed(up, (size_t)n);
			msgpack_unpacked u;

			msgpack_unpacked_init(&u);
			while (msgpack_unpacker_next(up, &u) == MSGPACK_UNPACK_SUCCESS)
				srv_frame(s, s->cfd[i], &u.data);
			msgpack_unpacked_destroy(&u);
		}
	}
}

/* ---- driving the collector ---- */

static void cfg_defaults(struct h *h)
{
	char err[256], v[512];

	cgs_config_defaults(&h->cfg);
#define SET(k, val) assert_int_equal(cgs_config_set(&h->cfg, k, val, "test", err, sizeof(err)), 0)
	SET("logs", "true");
	snprintf(v, sizeof(v), "%s/logs/*.log,%s/pods/*/*/*.log", h->dir, h->dir);
	SET("log_paths", v);
	snprintf(v, sizeof(v), "%s/state/pos", h->dir);
	SET("log_position_file", v);
	snprintf(v, sizeof(v), "%s/state/spool", h->dir);
	SET("log_spool_dir", v);
	snprintf(v, sizeof(v), "127.0.0.1:%d", h->s.port);
	SET("fluentd_address", v);
	SET("log_flush_interval", "10ms");
	SET("log_commit_interval", "20ms");
	SET("log_rotate_wait", "100ms");
	SET("log_rescan_interval", "200ms");
	SET("fluentd_ack_timeout", "5s");
	SET("fluentd_retry_wait", "20ms");
	SET("fluentd_retry_max_wait", "100ms");
	SET("node_name", "node-t");
}

static void start(struct h *h)
{
	struct cgs_collector_ctx ctx = { .cfg = &h->cfg };
	const char *why = NULL;
	int r = cgs_collector_logs.init(&ctx, &h->state, &why);

	if (r)
		fail_msg("init: %d %s", r, why ? why : "");
}

static void stop(struct h *h)
{
	cgs_collector_logs.destroy(h->state);
	h->state = NULL;
}

static void pump(struct h *h, int ms)
{
	struct pollfd p[2 + MAX_CONN];
	int n = 0;

	if (h->state)
		p[n++] = (struct pollfd){ .fd = cgs_collector_logs.fd(h->state), .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = h->s.lfd, .events = POLLIN };
	for (int i = 0; i < MAX_CONN; i++)
		if (h->s.cfd[i] >= 0)
			p[n++] = (struct pollfd){ .fd = h->s.cfd[i], .events = POLLIN };
	poll(p, (nfds_t)n, ms);
	if (h->state && (p[0].revents & POLLIN))
		assert_int_equal(cgs_collector_logs.poll(h->state), 0);
	srv_io(&h->s);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void run_ms(struct h *h, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end)
		pump(h, 5);
}

/* Runs until the server holds `n` records (fails after `timeout_ms`). */
static void run_until(struct h *h, size_t n, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (h->s.n < n && now_ms() < end)
		pump(h, 5);
	if (h->s.n < n)
		fail_msg("%zu records after %d ms, want %zu", h->s.n, timeout_ms, n);
}

/* An agent self metric (family, optional label value) from collect_agent. */
static double metric(struct h *h, enum cgs_family_id f, const char *lv);

/* Runs until a self metric has a value (fails after `timeout_ms`): for states reached after timers. */
static void run_until_metric(struct h *h, enum cgs_family_id f, const char *lv, double want, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (metric(h, f, lv) != want && now_ms() < end)
		pump(h, 5);
	if (metric(h, f, lv) != want)
		fail_msg("metric %d{%s} is %f after %d ms, want %f", (int)f, lv ? lv : "", metric(h, f, lv), timeout_ms,
			 want);
}

/* An agent self metric (family, optional label value) from collect_agent. */
static double metric(struct h *h, enum cgs_family_id f, const char *lv)
{
	struct cgs_samples s;
	double v = -1;

	cgs_samples_init(&s, 0);
	cgs_collector_logs.collect_agent(h->state, &s);
	for (size_t i = 0; i < s.n; i++)
		if (s.v[i].family == f && (!lv || (s.v[i].lv[0] && !strcmp(s.v[i].lv[0], lv))))
			v = s.v[i].value;
	cgs_samples_free(&s);
	return v;
}

static int setup(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	snprintf(H.dir, sizeof(H.dir), "/tmp/cgs-logs-pipe.XXXXXX");
	if (!mkdtemp(H.dir))
		return -1;
	char p[128];

	snprintf(p, sizeof(p), "%s/logs", H.dir);
	mkdir(p, 0755);
	srv_start(&H.s);
	cfg_defaults(&H);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	if (H.state)
		stop(&H);
	srv_free(&H.s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", H.dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/logs/%s", H.dir, name);
}

static void write_file(const char *name, const char *mode, const char *data, size_t len)
{
	char p[256];
	FILE *f;

	path_of(p, sizeof(p), name);
	f = fopen(p, mode);
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int64_t tick_ns = 1709287200LL * 1000000000;

/* Appends CRI lines "seq <prefix> <i>" for i in [from, to). */
static void cri_lines(const char *name, const char *prefix, int from, int to)
{
	size_t cap = (size_t)(to - from) * 96 + 1, len = 0;
	char *b = malloc(cap);

	for (int i = from; i < to; i++) {
		int64_t t = tick_ns++;
		len += (size_t)snprintf(b + len, cap - len, "2024-03-01T10:00:00.%09lldZ stdout F %s %d\n",
					(long long)(t % 1000000000), prefix, i);
	}
	write_file(name, "a", b, len);
	free(b);
}

/* Checks records [from..) of the server are "<prefix> i" for i in [a, b) exactly once, in order. */
static void expect_seq(const char *prefix, int a, int b)
{
	int next = a;
	char want[128];

	for (size_t i = 0; i < H.s.n; i++) {
		size_t pl = strlen(prefix);

		if (H.s.r[i].len <= pl || memcmp(H.s.r[i].log, prefix, pl) || H.s.r[i].log[pl] != ' ')
			continue;
		snprintf(want, sizeof(want), "%s %d", prefix, next);
		if (strcmp(H.s.r[i].log, want))
			fail_msg("record %zu is '%s', want '%s'", i, H.s.r[i].log, want);
		next++;
	}
	if (next != b)
		fail_msg("%s: got up to %d, want %d", prefix, next, b);
}

/* ---- tests ---- */

static void test_fixtures(void **state)
{
	char cmd[512];
	(void)state;

	snprintf(cmd, sizeof(cmd), "cp %s/logs/podman-ctr.log %s/logs/a.log && cp %s/logs/docker-json.log %s/logs/b.log &&"
		 " cp %s/logs/containerd-cri.log %s/logs/c.log && cp %s/logs/garbage.log %s/logs/d.log",
		 CGS_FIXTURES_DIR, H.dir, CGS_FIXTURES_DIR, H.dir, CGS_FIXTURES_DIR, H.dir, CGS_FIXTURES_DIR, H.dir);
	assert_int_equal(system(cmd), 0);
	start(&H);
	/* podman 6 records (one joined from 4 pieces), docker 6 (one from 3), containerd 6, garbage 7 */
	run_until(&H, 6 + 6 + 6 + 7, 15000);
	run_ms(&H, 50);
	assert_int_equal(H.s.n, 25);
	int big = 0, joined = 0, malformed = 0, docker_big = 0;

	for (size_t i = 0; i < H.s.n; i++) {
		struct rec *r = &H.s.r[i];

		assert_false(r->split);
		if (r->len == 20000) {
			big++;
			for (size_t k = 0; k < r->len; k++)
				assert_int_equal(r->log[k], 'a');
		}
		if (r->len == 40000)
			docker_big++;
		if (!strcmp(r->log, "part one, part two, part three"))
			joined++;
		if (r->malformed) {
			malformed++;
			assert_string_equal(r->stream, "");
		}
	}
	assert_int_equal(big, 1);
	assert_int_equal(docker_big, 1);
	assert_int_equal(joined, 1);
	assert_int_equal(malformed, 6);
	assert_true(metric(&H, CGS_M_LOGS_FLAGGED_RECORDS, "malformed") == 6);
	assert_true(metric(&H, CGS_M_LOGS_ACKED_RECORDS, NULL) == 25);
	assert_true(metric(&H, CGS_M_LOGS_FORWARD_UP, NULL) == 1);
	/* The stderr line between stdout's pieces is shipped on its own. */
	for (size_t i = 0; i < H.s.n; i++)
		if (!strcmp(H.s.r[i].log, "an error in between"))
			assert_string_equal(H.s.r[i].stream, "stderr");
}

static void test_long_line(void **state)
{
	size_t n = 10u << 20;
	char *b = malloc(n + 200);
	(void)state;

	assert_int_equal(cgs_config_set(&H.cfg, "log_max_line_bytes", "65536", "t", (char[64]){ 0 }, 64), 0);
	assert_int_equal(cgs_config_set(&H.cfg, "log_buffer_bytes", "1048576", "t", (char[64]){ 0 }, 64), 0);
	/* A 10 MiB CRI line without splits, then a normal one. */
	size_t len = (size_t)snprintf(b, 200, "2024-03-01T10:00:00Z stdout F ");

	memset(b + len, 'z', n);
	len += n;
	b[len++] = '\n';
	len += (size_t)snprintf(b + len, 100, "2024-03-01T10:00:01Z stdout F after\n");
	write_file("long.log", "w", b, len);
	free(b);
	start(&H);
	run_until(&H, 161, 30000);
	size_t total = 0;

	for (size_t i = 0; i + 1 < H.s.n; i++) {
		assert_true(H.s.r[i].split);
		assert_true(H.s.r[i].len <= 65536);
		assert_string_equal(H.s.r[i].stream, "stdout");
		total += H.s.r[i].len;
	}
	assert_int_equal(total, n);
	assert_string_equal(H.s.r[H.s.n - 1].log, "after");
	assert_false(H.s.r[H.s.n - 1].split);
	assert_true(metric(&H, CGS_M_LOGS_BUFFER_BYTES, "memory") < 4 * 1048576);
}

static void test_rotation_rename(void **state)
{
	char a[256], b[256];
	(void)state;

	path_of(a, sizeof(a), "app.log");
	path_of(b, sizeof(b), "app.log.1");
	cri_lines("app.log", "r", 0, 1000);
	start(&H);
	run_until(&H, 1000, 15000);
	/* rename + create, twice, with writes to the old file after the rename */
	for (int k = 1; k <= 2; k++) {
		cri_lines("app.log", "r", k * 1000, k * 1000 + 500);
		assert_int_equal(rename(a, b), 0);
		cri_lines("app.log.1", "r", k * 1000 + 500, k * 1000 + 600);
		cri_lines("app.log", "r", k * 1000 + 600, k * 1000 + 1000);
		run_until(&H, (size_t)(k + 1) * 1000, 15000);
	}
	run_ms(&H, 300);
	expect_seq("r", 0, 3000);
	assert_true(metric(&H, CGS_M_LOGS_ROTATIONS, "rename") >= 2);
	/* rotated files are closed after log_rotate_wait */
	run_until_metric(&H, CGS_M_LOGS_FILES, "rotated", 0, 10000);
	assert_true(metric(&H, CGS_M_LOGS_FILES, "open") == 1);
}

static void test_copytruncate(void **state)
{
	char a[256], b[256], cmd[1024];
	(void)state;

	path_of(a, sizeof(a), "ct.log");
	path_of(b, sizeof(b), "ct.log.1");
	cri_lines("ct.log", "c", 0, 500);
	start(&H);
	run_until(&H, 500, 15000);
	/* lines the agent has not read yet when the copy is taken and the file truncated */
	cri_lines("ct.log", "c", 500, 800);
	snprintf(cmd, sizeof(cmd), "cp %s %s && truncate -s 0 %s", a, b, a);
	assert_int_equal(system(cmd), 0);
	cri_lines("ct.log", "c", 800, 1000);
	run_until(&H, 1000, 15000);
	run_ms(&H, 300);
	expect_seq("c", 0, 1000);
	assert_true(metric(&H, CGS_M_LOGS_ROTATIONS, "truncate") >= 1);
}

static void test_restart_and_inode_reuse(void **state)
{
	char a[256];
	struct stat st1, st2;
	(void)state;

	path_of(a, sizeof(a), "re.log");
	cri_lines("re.log", "x", 0, 300);
	start(&H);
	run_until(&H, 300, 15000);
	run_ms(&H, 100); /* a commit */
	stop(&H);
	/* More lines while the agent is away: read from the recorded position, no duplicates. */
	cri_lines("re.log", "x", 300, 400);
	start(&H);
	run_until(&H, 400, 15000);
	run_ms(&H, 100);
	expect_seq("x", 0, 400);
	stop(&H);
	/* The file is replaced by another one (the inode is usually reused): read from its start. */
	assert_int_equal(stat(a, &st1), 0);
	assert_int_equal(unlink(a), 0);
	cri_lines("re.log", "y", 0, 50);
	assert_int_equal(stat(a, &st2), 0);
	print_message("inode %s reused (%llu, %llu)\n", st1.st_ino == st2.st_ino ? "was" : "was not",
		      (unsigned long long)st1.st_ino, (unsigned long long)st2.st_ino);
	start(&H);
	run_until(&H, 450, 15000);
	run_ms(&H, 100);
	expect_seq("y", 0, 50);
	assert_int_equal(H.s.n, 450);
}

/* Rotations while the agent is away: the rest of the old content is found by inode or by fingerprint. */
static void test_rotated_while_down(void **state)
{
	char a[256], b[256], cmd[1200];
	(void)state;

	path_of(a, sizeof(a), "down.log");
	path_of(b, sizeof(b), "down.log.1");
	cri_lines("down.log", "d", 0, 300);
	start(&H);
	run_until(&H, 300, 15000);
	run_ms(&H, 100);
	stop(&H);
	/* rename + create */
	cri_lines("down.log", "d", 300, 400);
	assert_int_equal(rename(a, b), 0);
	cri_lines("down.log", "d", 400, 450);
	start(&H);
	run_until(&H, 450, 15000);
	run_ms(&H, 300);
	stop(&H);
	expect_seq("d", 0, 450);
	/* copytruncate */
	cri_lines("down.log", "d", 450, 600);
	snprintf(cmd, sizeof(cmd), "rm -f %s && cp %s %s && truncate -s 0 %s", b, a, b, a);
	assert_int_equal(system(cmd), 0);
	cri_lines("down.log", "d", 600, 650);
	start(&H);
	run_until(&H, 650, 15000);
	run_ms(&H, 300);
	expect_seq("d", 0, 650);
	assert_int_equal(H.s.n, 650);
}

/* A file deleted while most of it is unread (Fluentd down, reading paused): held open, read to the end. */
static void test_deleted_while_unread(void **state)
{
	char a[256];
	(void)state;

	assert_int_equal(cgs_config_set(&H.cfg, "log_buffer_bytes", "65536", "t", (char[64]){ 0 }, 64), 0);
	assert_int_equal(cgs_config_set(&H.cfg, "log_spool_dir", "", "t", (char[64]){ 0 }, 64), 0);
	H.s.accept = false;
	path_of(a, sizeof(a), "del.log");
	cri_lines("del.log", "g", 0, 5000);
	start(&H);
	run_ms(&H, 500);
	assert_true(metric(&H, CGS_M_LOGS_LAG_BYTES, "unread") > 0);
	assert_int_equal(unlink(a), 0);
	run_ms(&H, 300);
	H.s.accept = true;
	run_until(&H, 5000, 30000);
	run_ms(&H, 400);
	expect_seq("g", 0, 5000);
	assert_int_equal(H.s.n, 5000);
	run_until_metric(&H, CGS_M_LOGS_FILES, "rotated", 0, 10000);
	assert_true(metric(&H, CGS_M_LOGS_FILES, "open") == 0);
	assert_true(metric(&H, CGS_M_LOGS_DROPPED_BYTES, "deleted_unread") == 0);
}

static void test_never_acked(void **state)
{
	char pos[256];
	struct stat st;
	(void)state;

	assert_int_equal(cgs_config_set(&H.cfg, "log_buffer_bytes", "262144", "t", (char[64]){ 0 }, 64), 0);
	assert_int_equal(cgs_config_set(&H.cfg, "log_spool_dir", "", "t", (char[64]){ 0 }, 64), 0);
	assert_int_equal(cgs_config_set(&H.cfg, "fluentd_ack_timeout", "300ms", "t", (char[64]){ 0 }, 64), 0);
	H.s.ack = false;
	cri_lines("na.log", "n", 0, 20000);
	start(&H);
	run_ms(&H, 1500);
	/* Sent (again and again), never committed, memory within budget plus the window. */
	assert_true(H.s.n > 1000);
	assert_true(metric(&H, CGS_M_LOGS_ACKED_RECORDS, NULL) == 0);
	assert_true(metric(&H, CGS_M_LOGS_RETRIED_RECORDS, NULL) > 0);
	assert_true(metric(&H, CGS_M_LOGS_FORWARD_ERRORS, "ack_timeout") >= 2);
	assert_true(metric(&H, CGS_M_LOGS_BUFFER_BYTES, "memory") <= 262144 + 4194304);
	assert_true(metric(&H, CGS_M_LOGS_BACKPRESSURE_SECONDS, NULL) > 0.5);
	snprintf(pos, sizeof(pos), "%s/state/pos", H.dir);
	/* nothing committed: the position file holds its header only, if any */
	if (stat(pos, &st) == 0)
		assert_true(st.st_size <= (off_t)strlen("# cgsight log positions v1\n"));
	/* The server starts acking: every record arrives, then nothing is lost. */
	H.s.ack = true;
	for (size_t i = 0; i < H.s.n; i++)
		free(H.s.r[i].log);
	H.s.n = 0;
	srv_drop_conns(&H.s);
	run_until(&H, 20000, 30000);
	run_ms(&H, 100);
	assert_true(metric(&H, CGS_M_LOGS_ACKED_RECORDS, NULL) >= 20000);
}

static void test_spool_and_replay(void **state)
{
	char spool[256], cmd[512];
	(void)state;

	assert_int_equal(cgs_config_set(&H.cfg, "log_buffer_bytes", "65536", "t", (char[64]){ 0 }, 64), 0);
	assert_int_equal(cgs_config_set(&H.cfg, "log_chunk_bytes", "8192", "t", (char[64]){ 0 }, 64), 0);
	H.s.accept = false; /* Fluentd is down */
	cri_lines("sp.log", "s", 0, 5000);
	start(&H);
	run_ms(&H, 800);
	print_message("memory %.0f spool %.0f\n", metric(&H, CGS_M_LOGS_BUFFER_BYTES, "memory"),
		      metric(&H, CGS_M_LOGS_BUFFER_BYTES, "spool"));
	assert_int_equal(H.s.n, 0);
	assert_true(metric(&H, CGS_M_LOGS_BUFFER_BYTES, "spool") > 0);
	assert_true(metric(&H, CGS_M_LOGS_BUFFER_BYTES, "memory") < 65536 + 16384);
	assert_true(metric(&H, CGS_M_LOGS_FORWARD_ERRORS, "closed") + metric(&H, CGS_M_LOGS_FORWARD_ERRORS, "connect") > 0);
	/* Restart while the data sits in the spool: replayed, and not read again from the file. */
	stop(&H);
	snprintf(spool, sizeof(spool), "%s/state/spool", H.dir);
	snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -gt 0", spool);
	assert_int_equal(system(cmd), 0);
	H.s.accept = true;
	cri_lines("sp.log", "s", 5000, 6000);
	start(&H);
	run_until(&H, 6000, 30000);
	run_ms(&H, 300);
	assert_int_equal(H.s.n, 6000);
	/* every line once (spooled chunks first, so order may differ across the restart) */
	char *seen = calloc(6000, 1);

	for (size_t i = 0; i < H.s.n; i++) {
		int v;

		assert_int_equal(sscanf(H.s.r[i].log, "s %d", &v), 1);
		assert_true(v >= 0 && v < 6000);
		assert_int_equal(seen[v], 0);
		seen[v] = 1;
	}
	free(seen);
	/* the spool is emptied once the acks are committed */
	run_until_metric(&H, CGS_M_LOGS_BUFFER_BYTES, "spool", 0, 10000);
	snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 0", spool);
	assert_int_equal(system(cmd), 0);
}

/*
 * The agent's events file, written as the mem collector writes it: its
 * directory appears after the pipeline started, it is rotated by the writer
 * (100-odd-byte events, 1 KiB files, up to two rotations between two polls
 * of the pipeline), a line that is no event is shipped
 * flagged; every event arrives once, in order, as fields under events_tag,
 * and a restart sends none again.
 */
static void test_events_file(void **state)
{
	char err[256], ev[256], line[256];
	struct cgs_evfile w;
	int64_t next = 1;
	(void)state;

	snprintf(ev, sizeof(ev), "%s/agent/events.log", H.dir);
	assert_int_equal(cgs_config_set(&H.cfg, "events_file", ev, "test", err, sizeof(err)), 0);
	assert_int_equal(cgs_config_set(&H.cfg, "events_tag", "ev.{namespace}.{stream}", "test", err, sizeof(err)), 0);
	start(&H);
	run_ms(&H, 50);
	assert_int_equal(cgs_evfile_init(&w, ev, 1024), 0);
	for (int i = 1; i <= 40; i++) {
		int n = snprintf(line, sizeof(line),
				 "{\"type\":\"oom_kill\",\"time\":%d.5,\"pid\":%d,\"namespace\":\"shop\",\"comm\":\"c\"}",
				 1700000000 + i, i);

		assert_int_equal(cgs_evfile_append(&w, line, (size_t)n), 0);
		if (i == 20)
			assert_int_equal(cgs_evfile_append(&w, "not an event", 12), 0);
		/*
		 * One kill per drain of the ring buffer, then a sync (as the mem collector does), and
		 * the pipeline polled every 15 kills: two rotations between its polls at times, the
		 * file of the first one then being already "<events_file>.1".
		 */
		assert_int_equal(cgs_evfile_sync(&w), 0);
		if (i % 15 == 0)
			run_ms(&H, 20);
	}
	cgs_evfile_sync(&w);
	assert_true(w.rotations >= 3);
	run_until(&H, 41, 15000);
	run_ms(&H, 300);
	assert_int_equal(H.s.n, 41);
	for (size_t i = 0; i < H.s.n; i++) {
		const struct rec *r = &H.s.r[i];

		if (r->pid < 0) {
			assert_true(r->malformed);
			assert_string_equal(r->log, "not an event");
			assert_string_equal(r->tag, "ev._.event");
			continue;
		}
		if (r->pid != next)
			fail_msg("record %zu is event %lld, want %lld", i, (long long)r->pid, (long long)next);
		assert_string_equal(r->tag, "ev.shop.event");
		assert_int_equal(r->t, (1700000000LL + next) * 1000000000 + 500000000);
		next++;
	}
	assert_int_equal(next, 41);
	/* Renames seen: fewer than made, when two came between two polls. */
	assert_true(metric(&H, CGS_M_LOGS_ROTATIONS, "rename") >= 2);
	stop(&H);
	/* A restart: what was acknowledged is not sent again; what came meanwhile is. */
	snprintf(line, sizeof(line), "{\"type\":\"oom_kill\",\"pid\":41}");
	assert_int_equal(cgs_evfile_append(&w, line, strlen(line)), 0);
	cgs_evfile_close(&w);
	start(&H);
	run_until(&H, 42, 15000);
	run_ms(&H, 300);
	assert_int_equal(H.s.n, 42);
	assert_int_equal(H.s.r[41].pid, 41);
}

static void test_compress_and_k8s_paths(void **state)
{
	char d[256], link[1024], target[512];
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	(void)state;

	assert_int_equal(cgs_config_set(&H.cfg, "fluentd_compress", "true", "t", (char[64]){ 0 }, 64), 0);
	snprintf(d, sizeof(d), "%s/pods/shop_web-1_5b1c2c3d-1111-2222-3333-444455556666/nginx", H.dir);
	snprintf(link, sizeof(link), "mkdir -p %s", d);
	assert_int_equal(system(link), 0);
	snprintf(target, sizeof(target), "%s/0.log", d);
	FILE *f = fopen(target, "w");

	for (int i = 0; i < 100; i++)
		fprintf(f, "2024-03-01T10:00:00Z stderr F k %d\n", i);
	fclose(f);
	/* the /var/log/containers style link also matches the first pattern: one file, followed once */
	snprintf(link, sizeof(link), "%s/logs/web-1_shop_nginx-%s.log", H.dir, id);
	assert_int_equal(symlink(target, link), 0);
	start(&H);
	run_until(&H, 100, 15000);
	run_ms(&H, 200);
	assert_int_equal(H.s.n, 100);
	expect_seq("k", 0, 100);
	assert_string_equal(H.s.r[0].tag, "kube.shop.web-1.nginx");
	assert_string_equal(H.s.r[0].pod, "web-1");
	assert_string_equal(H.s.r[0].stream, "stderr");
	assert_true(H.s.r[0].t == 1709287200LL * 1000000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixtures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copytruncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_and_inode_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotated_while_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_while_unread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_acked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compress_and_k8s_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_file, setup, teardown),
	};
	if (getenv("CGS_TEST_FILTER"))
		cmocka_set_test_filter(getenv("CGS_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
