/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for exporters/otlp.c against a scripted HTTP server on a
 * loopback socket (a thread of this test): batching by size and by time,
 * the request's path and headers, retries on 503/429 with backoff and
 * Retry-After, no retry on 400 or 500, retries exhausted, an endpoint that
 * refuses connections, one that accepts and never answers (timed out,
 * retried, dropped; the event loop never blocked), the queue bound, gzip,
 * and the bounded flush at free (what it could not send is returned). Every
 * span submitted is accounted for: exported, rejected, dropped (queue full,
 * export failed) or still queued. The exporter is driven the way the agent
 * drives it: epoll on its fd, then cgs_otlp_poll.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "exporters/otlp.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define MAXREQ 32
#define HANG (-1) /* a script entry: read the request, never answer */

struct server {
	int lfd, port;
	int script[MAXREQ];  /* status per request; 0: 200 */
	int retry_after;     /* sent with non-200 answers when >= 0 */
	pthread_t th;
	volatile int stop;
	pthread_mutex_t mu;
	int served;
	int spans[MAXREQ];   /* spans per request body (decoded) */
	uint64_t at_ms[MAXREQ];
	char path[128], ctype[64], cenc[64];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int count_spans(const char *body, size_t n, bool gz)
{
	unsigned char *plain = NULL;
	size_t plen = n;
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r;
	int spans = 0;

	if (gz) {
		z_stream zs;

		plain = malloc(1 << 20);
		memset(&zs, 0, sizeof(zs));
		inflateInit2(&zs, 15 + 16);
		zs.next_in = (Bytef *)body;
		zs.avail_in = (uInt)n;
		zs.next_out = plain;
		zs.avail_out = 1 << 20;
		if (inflate(&zs, Z_FINISH) != Z_STREAM_END) {
			inflateEnd(&zs);
			free(plain);
			return -1;
		}
		plen = zs.total_out;
		inflateEnd(&zs);
	}
	r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, plen, plain ? plain : (const uint8_t *)body);
	free(plain);
	if (!r)
		return -1;
	for (size_t i = 0; i < r->n_resource_spans; i++)
		for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++)
			spans += (int)r->resource_spans[i]->scope_spans[j]->n_spans;
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);
	return spans;
}

static void header_value(const char *head, const char *name, char *out, size_t cap)
{
	const char *p = strcasestr(head, name);
	size_t n = 0;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen(name);
	while (*p == ' ')
		p++;
	while (p[n] && p[n] != '\r' && n + 1 < cap)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Serves one connection: requests in a row (keep-alive) until EOF. */
static void serve(struct server *s, int fd)
{
	static char buf[1 << 20];
	size_t have = 0;

	for (;;) {
		char *end;
		long clen = 0;
		size_t head, total;
		ssize_t r;

		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			r = read(fd, buf + have, sizeof(buf) - have);
			if (r <= 0)
				return;
			have += (size_t)r;
		}
		head = (size_t)(end - buf) + 4;
		buf[head - 1] = '\0';
		{
			const char *cl = strcasestr(buf, "content-length:");

			if (cl)
				clen = strtol(cl + 15, NULL, 10);
		}
		total = head + (size_t)clen;
		while (have < total) {
			r = read(fd, buf + have, sizeof(buf) - have);
			if (r <= 0)
				return;
			have += (size_t)r;
		}
		pthread_mutex_lock(&s->mu);
		int i = s->served < MAXREQ ? s->served : MAXREQ - 1;
		int status = s->script[i] ? s->script[i] : 200;
		char cenc[64], extra[64] = "";

		sscanf(buf, "%*s %127s", s->path);
		header_value(buf, "content-type:", s->ctype, sizeof(s->ctype));
		header_value(buf, "content-encoding:", cenc, sizeof(cenc));
		memcpy(s->cenc, cenc, sizeof(cenc));
		s->spans[i] = count_spans(buf + head, (size_t)clen, !strcmp(cenc, "gzip"));
		s->at_ms[i] = now_ms();
		s->served++;
		pthread_mutex_unlock(&s->mu);
		if (status == HANG) {
			/* Hold the connection until the client gives up (closes) or the test ends. */
			while (!s->stop) {
				struct pollfd p = { .fd = fd, .events = POLLIN };
				char sink[4096];

				if (poll(&p, 1, 50) > 0 && read(fd, sink, sizeof(sink)) <= 0)
					break;
			}
			return;
		}
		if (status != 200 && s->retry_after >= 0)
			snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", s->retry_after);
		char resp[256];
		int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n%s\r\n", status, extra);

		if (write(fd, resp, (size_t)n) != n)
			return;
		memmove(buf, buf + total, have - total);
		have -= total;
	}
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	while (!s->stop) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(s, fd);
		close(fd);
	}
	return NULL;
}

static struct server *server_start(const int *script, size_t n, int retry_after)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	assert_non_null(s);
	if (n)
		memcpy(s->script, script, n * sizeof(*script));
	s->retry_after = retry_after;
	pthread_mutex_init(&s->mu, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	getsockname(s->lfd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
	return s;
}

static void server_stop(struct server *s)
{
	s->stop = 1;
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->lfd);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static int served(struct server *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->served;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static struct cgs_otlp *exporter(int port, bool gzip, size_t batch, size_t queue, unsigned retries,
				 uint64_t flush_ms)
{
	char ep[64];
	struct cgs_otlp_opts o = { .endpoint = ep, .gzip = gzip, .timeout_ms = 3000, .batch_max = batch,
				   .flush_ms = flush_ms, .queue_max = queue, .max_retries = retries,
				   .backoff_ms = 20, .version = "test" };
	struct cgs_otlp *x;

	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
	x = cgs_otlp_new(&o);
	assert_non_null(x);
	return x;
}

static struct cgs_span *span(void)
{
	struct cgs_span *s = cgs_span_new(64);

	assert_non_null(s);
	s->trace_id[0] = 1;
	s->span_id[0] = 2;
	s->name = cgs_span_strdup(s, "GET /", 5);
	s->kind = CGS_SPAN_KIND_SERVER;
	return s;
}

/* The longest single cgs_otlp_poll call of the last run(): the agent's loop must never block on the exporter. */
static uint64_t max_poll_ms;

/* Runs the exporter's event loop until `done` says so or `ms` pass. */
static void run(struct cgs_otlp *x, uint64_t ms, bool (*done)(struct cgs_otlp *, void *), void *arg)
{
	uint64_t end = now_ms() + ms;
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };

	max_poll_ms = 0;
	epoll_ctl(ep, EPOLL_CTL_ADD, cgs_otlp_fd(x), &ev);
	while (now_ms() < end) {
		struct epoll_event out;

		if (done && done(x, arg))
			break;
		if (epoll_wait(ep, &out, 1, 20) > 0) {
			uint64_t t = now_ms();

			assert_int_equal(cgs_otlp_poll(x), 0);
			if (now_ms() - t > max_poll_ms)
				max_poll_ms = now_ms() - t;
		}
	}
	close(ep);
}

/* Every span submitted is exported, rejected, dropped with a reason, or still queued. */
static void assert_accounted(struct cgs_otlp *x, uint64_t submitted)
{
	struct cgs_otlp_stats st;

	cgs_otlp_stats(x, &st);
	assert_int_equal(st.exported + st.rejected + st.dropped_queue + st.dropped_failed + st.queued, submitted);
}

static bool idle(struct cgs_otlp *x, void *arg)
{
	struct cgs_otlp_stats st;

	(void)arg;
	cgs_otlp_stats(x, &st);
	return st.queued == 0;
}

static void test_batches(void **state)
{
	struct server *s = server_start(NULL, 0, -1);
	struct cgs_otlp *x = exporter(s->port, false, 2, 100, 2, 100);
	struct cgs_otlp_stats st;
	uint64_t t0 = now_ms();

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(cgs_otlp_submit(x, span()), 0);
	run(x, 3000, idle, NULL);
	cgs_otlp_stats(x, &st);
	assert_int_equal(st.exported, 3);
	assert_int_equal(st.requests_ok, 2);
	assert_int_equal(served(s), 2);
	assert_int_equal(s->spans[0], 2); /* a full batch at once */
	assert_int_equal(s->spans[1], 1); /* the rest after flush_ms */
	assert_true(s->at_ms[1] - t0 >= 90);
	assert_string_equal(s->path, "/v1/traces");
	assert_string_equal(s->ctype, "application/x-protobuf");
	cgs_otlp_free(x, 0);
	server_stop(s);
}

static void test_retry(void **state)
{
	static const int script[] = { 503, 429, 200 };
	struct server *s = server_start(script, 3, -1);
	struct cgs_otlp *x = exporter(s->port, true, 2, 100, 3, 10);
	struct cgs_otlp_stats st;

	(void)state;
	cgs_otlp_submit(x, span());
	cgs_otlp_submit(x, span());
	run(x, 3000, idle, NULL);
	cgs_otlp_stats(x, &st);
	assert_int_equal(st.exported, 2);
	assert_int_equal(st.retries, 2);
	assert_int_equal(served(s), 3);
	assert_int_equal(s->spans[2], 2); /* the same batch, re-sent */
	assert_string_equal(s->cenc, "gzip");
	/* backoff: 20 ms, then 40 ms */
	assert_true(s->at_ms[1] - s->at_ms[0] >= 15);
	assert_true(s->at_ms[2] - s->at_ms[1] >= 35);
	cgs_otlp_free(x, 0);
	server_stop(s);
}

static void test_retry_after(void **state)
{
	static const int script[] = { 503, 200 };
	struct server *s = server_start(script, 2, 1);
	struct cgs_otlp *x = exporter(s->port, false, 1, 100, 3, 10);
	struct cgs_otlp_stats st;

	(void)state;
	cgs_otlp_submit(x, span());
	run(x, 4000, idle, NULL);
	cgs_otlp_stats(x, &st);
	assert_int_equal(st.exported, 1);
	assert_int_equal(served(s), 2);
	assert_true(s->at_ms[1] - s->at_ms[0] >= 950);
	cgs_otlp_free(x, 0);
	server_stop(s);
}

static void test_no_retry_and_exhausted(void **state)
{
	static const int script[] = { 400, 503, 503, 503 };
	struct server *s = server_start(script, 4, -1);
	struct cgs_otlp *x = exporter(s->port, false, 2, 100, 2, 10);
	struct cgs_otlp_stats st;

	(void)state;
	cgs_otlp_submit(x, span());
	cgs_otlp_submit(x, span());
	run(x, 2000, idle, NULL);
	cgs_otlp_stats(x, &st);
	assert_int_equal(served(s), 1); /* 400: not retried */
	assert_int_equal(st.dropped_failed, 2);
	assert_int_equal(st.retries, 0);
	cgs_otlp_submit(x, span());
	cgs_otlp_submit(x, span());
	run(x, 3000, idle, NULL);
	cgs_otlp_stats(x, &st);
	assert_int_equal(served(s), 4); /* one try and two retries */
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.dropped_failed, 4);
	assert_int_equal(st.requests_failed, 2);
	assert_int_equal(st.exported, 0);
	cgs_otlp_free(x, 0);
	server_stop(s);
}

static void test_refused_and_queue(void **state)
{
	struct server *s = server_start(NULL, 0, -1);
	int port = s->port;
	struct cgs_otlp *x;
	struct cgs_otlp_stats st;

	(void)state;
	server_stop(s); /* nobody listens there any more */
	x = exporter(port, false, 2, 5, 2, 10);
	for (int i = 0; i < 10; i++)
		cgs_otlp_submit(x, span());
	cgs_otlp_stats(x, &st);
	assert_int_equal(st.dropped_queue, 5); /* 2 in flight + 3 queued */
	assert_int_equal(st.queued, 5);
	run(x, 3000, idle, NULL);
	cgs_otlp_stats(x, &st);
	assert_int_equal(st.dropped_failed, 5);
	assert_int_equal(st.retries, 6); /* 3 batches x 2 */
	cgs_otlp_free(x, 0);
}

static void test_flush_at_free(void **state)
{
	struct server *s = server_start(NULL, 0, -1);
	struct cgs_otlp *x = exporter(s->port, false, 100, 1000, 2, 60000);

	(void)state;
	for (int i = 0; i < 7; i++)
		cgs_otlp_submit(x, span());
	cgs_otlp_free(x, 2000);
	assert_int_equal(served(s), 1);
	assert_int_equal(s->spans[0], 7);
	server_stop(s);
}

static void test_500_not_retried(void **state)
{
	static const int script[] = { 500, 200 };
	struct server *s = server_start(script, 2, 1); /* a Retry-After does not make a 500 retryable */
	struct cgs_otlp *x = exporter(s->port, false, 3, 100, 5, 10);
	struct cgs_otlp_stats st;

	(void)state;
	for (int i = 0; i < 3; i++)
		cgs_otlp_submit(x, span());
	run(x, 2000, idle, NULL);
	cgs_otlp_stats(x, &st);
	assert_int_equal(served(s), 1);
	assert_int_equal(st.retries, 0);
	assert_int_equal(st.dropped_failed, 3);
	assert_int_equal(st.requests_failed, 1);
	assert_int_equal(st.exported, 0);
	assert_accounted(x, 3);
	assert_int_equal(cgs_otlp_free(x, 0), 0);
	server_stop(s);
}

static void test_429_retry_after(void **state)
{
	static const int script[] = { 429, 429, 200 };
	struct server *s = server_start(script, 3, 1);
	struct cgs_otlp *x = exporter(s->port, false, 2, 100, 3, 10);
	struct cgs_otlp_stats st;

	(void)state;
	cgs_otlp_submit(x, span());
	cgs_otlp_submit(x, span());
	run(x, 5000, idle, NULL);
	cgs_otlp_stats(x, &st);
	assert_int_equal(served(s), 3);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.exported, 2);
	assert_int_equal(s->spans[2], 2);
	/* Retry-After: 1 each time, not the 20 ms / 40 ms backoff */
	assert_true(s->at_ms[1] - s->at_ms[0] >= 950);
	assert_true(s->at_ms[2] - s->at_ms[1] >= 950);
	assert_accounted(x, 2);
	cgs_otlp_free(x, 0);
	server_stop(s);
}

static void test_hang(void **state)
{
	static const int script[] = { HANG, HANG, HANG, 200 };
	struct server *s = server_start(script, 4, -1);
	char ep[64];
	struct cgs_otlp_opts o = { .endpoint = ep, .timeout_ms = 300, .batch_max = 2, .flush_ms = 10,
				   .queue_max = 6, .max_retries = 1, .backoff_ms = 20, .version = "test" };
	struct cgs_otlp *x;
	struct cgs_otlp_stats st;
	uint64_t t0;
	int submitted = 0, refused = 0;

	(void)state;
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", s->port);
	x = cgs_otlp_new(&o);
	assert_non_null(x);
	/* The first batch hangs twice (one try, one retry), each timed out after 300 ms, then is dropped. */
	for (; submitted < 2; submitted++)
		cgs_otlp_submit(x, span());
	t0 = now_ms();
	run(x, 250, NULL, NULL);
	/* Meanwhile the queue fills: 2 in flight + 4 queued, the rest refused and counted. */
	for (int i = 0; i < 6; i++, submitted++)
		refused += cgs_otlp_submit(x, span()) == -ENOSPC;
	assert_int_equal(refused, 2);
	assert_accounted(x, (uint64_t)submitted);
	run(x, 5000, idle, NULL);
	cgs_otlp_stats(x, &st);
	assert_true(now_ms() - t0 >= 2 * 300);
	assert_true(max_poll_ms < 100); /* never blocked on the hanging peer */
	assert_int_equal(served(s), 5);  /* batch 1: 2 hangs; batch 2: a hang and its retry (200); batch 3: 200 */
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.requests_failed, 1);
	assert_int_equal(st.dropped_failed, 2);
	assert_int_equal(st.dropped_queue, 2);
	assert_int_equal(st.exported, 4);
	assert_int_equal(st.queued, 0);
	assert_accounted(x, (uint64_t)submitted);
	cgs_otlp_free(x, 0);
	server_stop(s);
}

static void test_hang_at_free(void **state)
{
	static const int script[] = { HANG };
	struct server *s = server_start(script, 1, -1);
	struct cgs_otlp *x = exporter(s->port, false, 4, 100, 3, 60000);
	uint64_t t0;

	(void)state;
	for (int i = 0; i < 7; i++)
		cgs_otlp_submit(x, span()); /* a batch of 4 goes at once, 3 wait */
	t0 = now_ms();
	/* Bounded: the hanging request and the 3 queued are given up and returned as not exported. */
	assert_int_equal(cgs_otlp_free(x, 400), 7);
	assert_true(now_ms() - t0 < 1500);
	server_stop(s);
}

static void test_bad_endpoint(void **state)
{
	static const char *const bad[] = { "", "127.0.0.1:4318", "ftp://x", "http://", "http:///v1" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cgs_otlp_opts o = { .endpoint = bad[i], .batch_max = 1, .queue_max = 1 };

		errno = 0;
		assert_null(cgs_otlp_new(&o));
		assert_int_equal(errno, EINVAL);
	}
	{
		struct cgs_otlp_opts o = { .endpoint = "https://otel.example:4318/custom/path", .batch_max = 1, .queue_max = 1 };
		struct cgs_otlp *x = cgs_otlp_new(&o);

		assert_non_null(x);
		assert_string_equal(cgs_otlp_url(x), "https://otel.example:4318/custom/path");
		cgs_otlp_free(x, 0);
		o.endpoint = "http://collector:4318/";
		x = cgs_otlp_new(&o);
		assert_string_equal(cgs_otlp_url(x), "http://collector:4318/v1/traces");
		cgs_otlp_free(x, 0);
	}
	cgs_otlp_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_no_retry_and_exhausted),
		cmocka_unit_test(test_refused_and_queue),
		cmocka_unit_test(test_flush_at_free),
		cmocka_unit_test(test_500_not_retried),
		cmocka_unit_test(test_429_retry_after),
		cmocka_unit_test(test_hang),
		cmocka_unit_test(test_hang_at_free),
		cmocka_unit_test(test_bad_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
