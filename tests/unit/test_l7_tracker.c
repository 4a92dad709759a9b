/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for collectors/l7_tracker.c and l7_span.c, driven with
 * synthetic capture records (what bpf/l7.bpf.c emits): keep-alive,
 * pipelined requests and responses in one buffer, heads continued in the
 * next buffer, truncated captures, chunked and HEAD bodies, interim 100
 * responses, upgrades, fd reuse and close, node-local client/server linking
 * in both record orders, the serving thread as parent, traceparent and
 * uber-trace-id, redaction of every credential, sampling, the connection
 * bound, and a fuzz pass of random record sequences.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "collectors/l7.h"

#define MAXS 256
#define M2U 1000000000000ll /* mono -> unix offset used by every test */

struct cap {
	struct cgs_span *spans[MAXS];
	size_t n;
	struct {
		int slot, role, method, status;
		uint64_t dur;
	} req[MAXS];
	size_t nreq;
	struct cgs_resource *res;
};

struct fx {
	struct cap cap;
	struct cgs_l7_redact *red;
	struct cgs_l7_tracker *t;
};

static struct cgs_resource *sink_resource(void *arg, int slot, uint64_t cgroup_id)
{
	struct cap *c = arg;

	(void)cgroup_id;
	assert_int_equal(slot, 3);
	return cgs_resource_ref(c->res);
}

static void sink_span(void *arg, struct cgs_span *s)
{
	struct cap *c = arg;

	if (c->n < MAXS)
		c->spans[c->n++] = s;
	else
		cgs_span_free(s);
}

static void sink_request(void *arg, int slot, uint64_t cgroup_id, int role, int method, int status, uint64_t ns)
{
	struct cap *c = arg;

	(void)cgroup_id;
	if (c->nreq < MAXS) {
		c->req[c->nreq].slot = slot;
		c->req[c->nreq].role = role;
		c->req[c->nreq].method = method;
		c->req[c->nreq].status = status;
		c->req[c->nreq].dur = ns;
		c->nreq++;
	}
}

static struct fx *fx_new(unsigned percent, size_t max_conns, const char *capture)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *kv[] = { "service.name", "web", "container.id", "abc123", "k8s.pod.name", "web-0",
			     "k8s.namespace.name", "shop", "k8s.container.name", "nginx" };
	struct cgs_l7_sink sink = { .resource = sink_resource, .span = sink_span, .request = sink_request };
	struct cgs_l7_tracker_opts o = { .sample_percent = percent, .max_conns = max_conns, .spans = true, .seed = 1 };

	assert_non_null(f);
	f->cap.res = cgs_resource_new(kv, 5);
	f->red = cgs_l7_redact_new("x-secret", "token", capture);
	assert_non_null(f->red);
	sink.arg = &f->cap;
	o.redact = f->red;
	f->t = cgs_l7_tracker_new(&o, &sink);
	assert_non_null(f->t);
	return f;
}

static void fx_free(struct fx *f)
{
	cgs_l7_tracker_free(f->t);
	for (size_t i = 0; i < f->cap.n; i++)
		cgs_span_free(f->cap.spans[i]);
	cgs_resource_unref(f->cap.res);
	cgs_l7_redact_free(f->red);
	free(f);
}

/* One connection end as the kernel side describes it. */
struct end {
	uint32_t tgid;
	int32_t fd;
	uint64_t sock;
	uint16_t lport, rport;
	uint32_t netns;
};

static void rec_full(struct fx *f, const struct end *e, uint32_t tid, uint32_t flags, uint64_t t_in, uint64_t t_out,
		     const char *data, size_t len, size_t cap_len, uint32_t kind)
{
	char *buf = malloc(sizeof(struct cgs_l7_event) + cap_len + 1);
	struct cgs_l7_event *ev = (struct cgs_l7_event *)buf;

	assert_non_null(buf);
	memset(ev, 0, sizeof(*ev));
	ev->ts_enter = t_in;
	ev->ts_exit = t_out;
	ev->cgroup_id = 1000 + e->tgid;
	ev->sock = e->sock;
	ev->tgid = e->tgid;
	ev->tid = tid;
	ev->fd = e->fd;
	ev->kind = kind;
	ev->flags = flags;
	ev->len = (uint32_t)len;
	ev->cap_len = (uint32_t)cap_len;
	ev->slot = 3;
	ev->family = AF_INET;
	ev->lport = e->lport;
	ev->rport = e->rport;
	ev->netns = e->netns;
	inet_pton(AF_INET, "127.0.0.1", ev->laddr);
	inet_pton(AF_INET, "127.0.0.1", ev->raddr);
	memcpy(buf + sizeof(*ev), data, cap_len);
	cgs_l7_tracker_record(f->t, ev, buf + sizeof(*ev), M2U);
	free(buf);
}

/* A whole buffer captured; flags from its first bytes, as the kernel side sets them. */
static void rec(struct fx *f, const struct end *e, uint32_t tid, bool egress, uint64_t t_in, uint64_t t_out,
		const char *data)
{
	size_t n = strlen(data);
	uint32_t flags = egress ? CGS_L7_F_EGRESS : 0;

	flags |= !strncmp(data, "HTTP/1.", 7) ? CGS_L7_F_RESPONSE : CGS_L7_F_REQUEST;
	rec_full(f, e, tid, flags, t_in, t_out, data, n, n, CGS_L7_EV_DATA);
}

static void rec_close(struct fx *f, const struct end *e)
{
	rec_full(f, e, 1, 0, 0, 0, "", 0, 0, CGS_L7_EV_CLOSE);
}

static const struct cgs_attr *attr(const struct cgs_span *s, const char *key)
{
	return cgs_span_attr(s, key);
}

static const char *sattr(const struct cgs_span *s, const char *key)
{
	const struct cgs_attr *a = attr(s, key);

	return a && a->type == CGS_ATTR_STR ? a->s : NULL;
}

static int64_t iattr(const struct cgs_span *s, const char *key)
{
	const struct cgs_attr *a = attr(s, key);

	return a && a->type == CGS_ATTR_INT ? a->i : -1;
}

static const struct end SRV = { .tgid = 100, .fd = 7, .sock = 0xa1, .lport = 8080, .rport = 40000, .netns = 1 };
static const struct end CLI = { .tgid = 200, .fd = 5, .sock = 0xb1, .lport = 40000, .rport = 8080, .netns = 1 };

#define RESP200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

static void test_keepalive(void **state)
{
	struct fx *f = fx_new(100, 64, "");
	static const char *const paths[] = { "/a", "/b?token=s3cret&q=1", "/c" };
	static const int codes[] = { 200, 404, 503 };

	(void)state;
	for (int i = 0; i < 3; i++) {
		char req[128], resp[128];
		uint64_t t = 1000000 * (uint64_t)(i + 1);

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: shop.local:8080\r\n\r\n", paths[i]);
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", codes[i]);
		rec(f, &SRV, 11, false, t, t + 10, req);
		rec(f, &SRV, 11, true, t + 500, t + 520, resp);
	}
	assert_int_equal(f->cap.n, 3);
	for (int i = 0; i < 3; i++) {
		struct cgs_span *s = f->cap.spans[i];

		assert_int_equal(s->kind, CGS_SPAN_KIND_SERVER);
		assert_int_equal(iattr(s, "http.response.status_code"), codes[i]);
		assert_string_equal(sattr(s, "http.request.method"), "GET");
		assert_string_equal(sattr(s, "server.address"), "shop.local");
		assert_int_equal(iattr(s, "server.port"), 8080);
		assert_string_equal(sattr(s, "client.address"), "127.0.0.1");
		assert_int_equal(iattr(s, "client.port"), 40000);
		assert_string_equal(sattr(s, "container.id"), "abc123");
		assert_string_equal(sattr(s, "k8s.pod.name"), "web-0");
		assert_false(s->has_parent);
		/* read exit .. write entry */
		assert_int_equal(s->start_ns, (uint64_t)(1000000 * (i + 1) + 10 + M2U));
		assert_int_equal(s->end_ns, (uint64_t)(1000000 * (i + 1) + 500 + M2U));
		assert_int_equal(s->status, codes[i] >= 500 ? CGS_SPAN_STATUS_ERROR : CGS_SPAN_STATUS_UNSET);
	}
	assert_string_equal(f->cap.spans[0]->name, "GET /a");
	assert_string_equal(f->cap.spans[1]->name, "GET /b");
	assert_string_equal(sattr(f->cap.spans[1], "url.query"), "token=REDACTED&q=1");
	assert_string_equal(sattr(f->cap.spans[2], "error.type"), "503");
	assert_int_equal(f->cap.nreq, 3);
	assert_int_equal(f->cap.req[1].status, 404);
	assert_int_equal(f->cap.req[1].dur, 490);
	assert_int_equal(f->cap.req[0].slot, 3);
	fx_free(f);
}

static void test_pipelined(void **state)
{
	struct fx *f = fx_new(100, 64, "");
	struct cgs_l7_tracker_stats st;

	(void)state;
	/* three requests in one read, a POST with a body among them */
	rec(f, &SRV, 11, false, 10, 20,
	    "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
	    "HEAD /3 HTTP/1.1\r\nHost: h\r\n\r\n");
	/* answers: two in one write (a chunked one, then the HEAD's with a length but no body) ... */
	rec(f, &SRV, 11, true, 30, 40,
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
	assert_int_equal(f->cap.n, 3);
	assert_string_equal(f->cap.spans[0]->name, "GET /1");
	assert_string_equal(f->cap.spans[1]->name, "POST /2");
	assert_int_equal(iattr(f->cap.spans[1], "http.response.status_code"), 201);
	assert_string_equal(f->cap.spans[2]->name, "HEAD /3");
	/* ... and a next request on the same connection */
	rec(f, &SRV, 11, false, 50, 60, "GET /4 HTTP/1.1\r\n\r\n");
	rec(f, &SRV, 11, true, 70, 80, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(f->cap.n, 4);
	assert_int_equal(iattr(f->cap.spans[3], "http.response.status_code"), 204);
	cgs_l7_tracker_stats(f->t, &st);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.responses, 4);
	assert_int_equal(st.unmatched, 0);
	fx_free(f);
}

static void test_fragmented_head(void **state)
{
	struct fx *f = fx_new(100, 64, "");
	static const char part1[] = "GET /slow HTTP/1.1\r\nHost: h\r\n";
	static const char part2[] = "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n";
	static const char part3[] = "\r\n";

	(void)state;
	rec_full(f, &SRV, 11, CGS_L7_F_REQUEST, 100, 110, part1, strlen(part1), strlen(part1), CGS_L7_EV_DATA);
	assert_int_equal(f->cap.n, 0);
	rec_full(f, &SRV, 11, CGS_L7_F_CONT, 120, 130, part2, strlen(part2), strlen(part2), CGS_L7_EV_DATA);
	rec_full(f, &SRV, 11, CGS_L7_F_CONT, 140, 150, part3, strlen(part3), strlen(part3), CGS_L7_EV_DATA);
	rec(f, &SRV, 11, true, 300, 310, RESP200);
	assert_int_equal(f->cap.n, 1);
	/* the head's start is the first fragment's; its context came in the second */
	assert_int_equal(f->cap.spans[0]->start_ns, 110 + M2U);
	assert_true(f->cap.spans[0]->has_parent);
	assert_int_equal(f->cap.spans[0]->trace_id[0], 0x0a);
	assert_int_equal(f->cap.spans[0]->parent_span_id[0], 0xb7);

	/* A head that never completes: taken as it is when the response comes. */
	rec_full(f, &SRV, 11, CGS_L7_F_REQUEST, 400, 410, part1, strlen(part1), strlen(part1), CGS_L7_EV_DATA);
	rec(f, &SRV, 11, true, 500, 510, RESP200);
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(f->cap.spans[1]->name, "GET /slow");
	fx_free(f);
}

static void test_truncated_capture(void **state)
{
	struct fx *f = fx_new(100, 64, "");
	char req[600];
	int n;

	(void)state;
	n = snprintf(req, sizeof(req), "GET /long HTTP/1.1\r\nHost: h\r\nX-Pad: %0400d\r\n"
		     "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n", 0);
	/* only 64 of the bytes were copied: the request line and Host, not the context */
	rec_full(f, &SRV, 11, CGS_L7_F_REQUEST, 10, 20, req, (size_t)n, 64, CGS_L7_EV_DATA);
	rec(f, &SRV, 11, true, 30, 40, RESP200);
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(f->cap.spans[0]->name, "GET /long");
	assert_false(f->cap.spans[0]->has_parent);
	/* a start line cut by the capture: counted, keeps its place, makes no span */
	rec_full(f, &SRV, 11, CGS_L7_F_REQUEST, 50, 60, "GET /abcdefghij", 300, 15, CGS_L7_EV_DATA);
	rec(f, &SRV, 11, false, 70, 80, "GET /next HTTP/1.1\r\n\r\n");
	rec(f, &SRV, 11, true, 90, 100, RESP200);
	rec(f, &SRV, 11, true, 110, 120, RESP200);
	assert_int_equal(f->cap.n, 2);
	assert_string_equal(f->cap.spans[1]->name, "GET /next");
	assert_int_equal(f->cap.nreq, 3);
	fx_free(f);
}

static void test_linking(void **state)
{
	struct fx *f = fx_new(100, 64, "");
	struct cgs_span *cli, *srv;
	struct cgs_l7_tracker_stats st;

	(void)state;
	/* client write, server read, server write, client read */
	rec(f, &CLI, 21, true, 1000, 1050, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
	rec(f, &SRV, 11, false, 1040, 1100, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
	rec(f, &SRV, 11, true, 1500, 1560, RESP200);
	rec(f, &CLI, 21, false, 1200, 1600, RESP200);
	assert_int_equal(f->cap.n, 2);
	srv = f->cap.spans[0];
	cli = f->cap.spans[1];
	assert_int_equal(srv->kind, CGS_SPAN_KIND_SERVER);
	assert_int_equal(cli->kind, CGS_SPAN_KIND_CLIENT);
	assert_memory_equal(srv->trace_id, cli->trace_id, 16);
	assert_true(srv->has_parent);
	assert_memory_equal(srv->parent_span_id, cli->span_id, 8);
	assert_false(cli->has_parent);
	assert_true(cli->start_ns <= srv->start_ns && srv->end_ns <= cli->end_ns);
	assert_string_equal(sattr(cli, "url.full"), "http://h/x");
	assert_int_equal(iattr(cli, "server.port"), 8080);
	assert_string_equal(sattr(cli, "network.peer.address"), "127.0.0.1");

	/* The server's record first (its read returned before the client's write did): linked at the response. */
	rec(f, &SRV, 11, false, 2040, 2100, "GET /y HTTP/1.1\r\n\r\n");
	rec(f, &CLI, 21, true, 2000, 2150, "GET /y HTTP/1.1\r\n\r\n");
	rec(f, &SRV, 11, true, 2500, 2560, RESP200);
	rec(f, &CLI, 21, false, 2200, 2600, RESP200);
	assert_int_equal(f->cap.n, 4);
	assert_memory_equal(f->cap.spans[2]->trace_id, f->cap.spans[3]->trace_id, 16);
	assert_memory_equal(f->cap.spans[2]->parent_span_id, f->cap.spans[3]->span_id, 8);
	cgs_l7_tracker_stats(f->t, &st);
	assert_int_equal(st.linked, 2);

	/* Another network namespace with the same addresses is another connection. */
	struct end other = SRV;

	other.netns = 2;
	other.tgid = 300;
	rec(f, &other, 31, false, 3000, 3100, "GET /z HTTP/1.1\r\n\r\n");
	rec(f, &other, 31, true, 3200, 3300, RESP200);
	assert_int_equal(f->cap.n, 5);
	assert_false(f->cap.spans[4]->has_parent);
	fx_free(f);
}

static void test_thread_parent_and_headers(void **state)
{
	struct fx *f = fx_new(100, 64, "x-request-id,authorization,cookie,x-secret");
	struct end down = { .tgid = 100, .fd = 9, .sock = 0xc1, .lport = 50000, .rport = 9090, .netns = 1 };
	struct cgs_span *srv = NULL, *c1 = NULL, *c2 = NULL, *c3 = NULL;

	(void)state;
	/* the server thread 11 reads a request with a traceparent and calls two backends */
	rec(f, &SRV, 11, false, 100, 110,
	    "GET /front HTTP/1.1\r\nHost: h\r\nAuthorization: secret\r\nCookie: sid=secret\r\n"
	    "X-Secret: secret\r\nX-Request-Id: r-1\r\n"
	    "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n");
	rec(f, &down, 11, true, 200, 210, "GET /back HTTP/1.1\r\nHost: b:9090\r\nAuthorization: secret\r\n\r\n");
	rec(f, &down, 11, false, 300, 310, "HTTP/1.1 500 Oops\r\nSet-Cookie: secret\r\nContent-Length: 0\r\n\r\n");
	/* its own context wins over the thread's */
	rec(f, &down, 11, true, 320, 330,
	    "GET /back2 HTTP/1.1\r\nuber-trace-id: 5e0f1a2b3c4d5e6f:a1b2c3d4e5f60718:0:1\r\n\r\n");
	rec(f, &down, 11, false, 340, 350, "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n");
	rec(f, &SRV, 11, true, 400, 410, "HTTP/1.1 502 Bad Gateway\r\nSet-Cookie: a=secret\r\nX-Request-Id: r-1\r\n\r\n");
	/* after the response, thread 11 serves nothing: a new call is a new trace */
	rec(f, &down, 11, true, 500, 510, "GET /later HTTP/1.1\r\n\r\n");
	rec(f, &down, 11, false, 520, 530, RESP200);
	assert_int_equal(f->cap.n, 4);
	for (size_t i = 0; i < f->cap.n; i++) {
		const char *n = f->cap.spans[i]->name;

		if (!strcmp(n, "GET /front"))
			srv = f->cap.spans[i];
		else if (!strcmp(n, "GET /back"))
			c1 = f->cap.spans[i];
		else if (!strcmp(n, "GET /back2"))
			c2 = f->cap.spans[i];
		else if (!strcmp(n, "GET /later"))
			c3 = f->cap.spans[i];
	}
	assert_non_null(srv);
	assert_non_null(c1);
	assert_non_null(c2);
	assert_non_null(c3);
	assert_int_equal(srv->trace_id[0], 0x0a);
	assert_memory_equal(c1->trace_id, srv->trace_id, 16);
	assert_memory_equal(c1->parent_span_id, srv->span_id, 8);
	assert_int_equal(c1->status, CGS_SPAN_STATUS_ERROR);
	assert_int_equal(c2->trace_id[15], 0x6f);
	assert_int_equal(c2->parent_span_id[0], 0xa1);
	assert_int_equal(c2->status, CGS_SPAN_STATUS_ERROR); /* 404 is an error for a client */
	assert_false(c3->has_parent);
	assert_memory_not_equal(c3->trace_id, srv->trace_id, 16);
	assert_string_equal(sattr(srv, "http.request.header.x-request-id"), "r-1");
	assert_string_equal(sattr(srv, "http.response.header.x-request-id"), "r-1");
	/* no credential anywhere, although the capture list names them */
	for (size_t i = 0; i < f->cap.n; i++) {
		const struct cgs_span *s = f->cap.spans[i];

		assert_null(memmem(s->strs, s->str_len, "secret", 6));
		for (size_t a = 0; a < s->nattrs; a++) {
			assert_null(strstr(s->attrs[a].key, "authorization"));
			assert_null(strstr(s->attrs[a].key, "cookie"));
			assert_null(strstr(s->attrs[a].key, "x-secret"));
			if (s->attrs[a].type == CGS_ATTR_STR)
				assert_null(strstr(s->attrs[a].s, "secret"));
		}
	}
	fx_free(f);
}

static void test_reuse_close_unmatched(void **state)
{
	struct fx *f = fx_new(100, 64, "");
	struct cgs_l7_tracker_stats st;
	struct end reused = SRV;

	(void)state;
	rec(f, &SRV, 11, false, 10, 20, "GET /lost HTTP/1.1\r\n\r\n");
	/* the fd now names another socket: the old request is never answered */
	reused.sock = 0xa2;
	rec(f, &reused, 11, false, 30, 40, "GET /new HTTP/1.1\r\n\r\n");
	rec(f, &reused, 11, true, 50, 60, RESP200);
	assert_int_equal(f->cap.n, 1);
	assert_string_equal(f->cap.spans[0]->name, "GET /new");
	rec(f, &reused, 11, false, 70, 80, "GET /closed HTTP/1.1\r\n\r\n");
	rec_close(f, &reused);
	rec(f, &SRV, 11, true, 90, 100, RESP200); /* a response on a connection we know nothing of */
	cgs_l7_tracker_stats(f->t, &st);
	assert_int_equal(st.unanswered, 2);
	assert_int_equal(st.unmatched, 1);
	assert_int_equal(f->cap.n, 1);
	fx_free(f);
}

static void test_upgrade_and_garbage(void **state)
{
	struct fx *f = fx_new(100, 64, "");
	struct cgs_l7_tracker_stats st;
	static const char bin[] = "GET \x00\x01\x02\xff\xfe garbage";

	(void)state;
	rec(f, &SRV, 11, false, 10, 20, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
	rec(f, &SRV, 11, true, 30, 40, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
	/* websocket frames that happen to look like HTTP are not requests */
	rec(f, &SRV, 11, false, 50, 60, "GET /not-http HTTP/1.1\r\n\r\n");
	rec(f, &SRV, 11, true, 70, 80, RESP200);
	assert_int_equal(f->cap.n, 1);
	assert_int_equal(iattr(f->cap.spans[0], "http.response.status_code"), 101);
	rec_full(f, &CLI, 21, CGS_L7_F_REQUEST | CGS_L7_F_EGRESS, 1, 2, bin, sizeof(bin) - 1, sizeof(bin) - 1,
		 CGS_L7_EV_DATA);
	cgs_l7_tracker_stats(f->t, &st);
	assert_int_equal(st.unparsed, 1);
	fx_free(f);
}

static void test_sampling_and_bound(void **state)
{
	struct fx *f = fx_new(0, 4, "");
	struct cgs_l7_tracker_stats st;

	(void)state;
	for (int i = 0; i < 10; i++) {
		struct end e = SRV;

		e.fd = 10 + i;
		e.sock = 0x100 + (uint64_t)i;
		e.rport = (uint16_t)(41000 + i);
		rec(f, &e, 11, false, 10, 20, "GET /s HTTP/1.1\r\n\r\n");
		rec(f, &e, 11, true, 30, 40, i % 2 ? "HTTP/1.1 500 E\r\n\r\n" : "HTTP/1.1 200 OK\r\n\r\n");
	}
	/* 0 %: only the errors */
	assert_int_equal(f->cap.n, 5);
	assert_int_equal(f->cap.nreq, 10);
	cgs_l7_tracker_stats(f->t, &st);
	assert_int_equal(st.sampled_out, 5);
	assert_true(st.conns <= 4);
	assert_int_equal(st.evicted, 6);
	cgs_l7_tracker_tick(f->t, 1000000000000ull, M2U); /* idle connections go */
	cgs_l7_tracker_stats(f->t, &st);
	assert_int_equal(st.conns, 0);
	fx_free(f);
}

/* Random record sequences: no crash, no leak (ASan), bounded state. */
static void test_fuzz(void **state)
{
	static const char *const pieces[] = {
		"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 101 Up\r\n\r\n", "GET /half HTTP/1.1\r\nHost:", "x: y\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "\x00\x01garbage", "HEAD / HTTP/1.0\n\n",
	};
	struct fx *f = fx_new(50, 8, "x-a");
	uint64_t x = 88172645463325252ull;
	char data[1024];

	(void)state;
	for (int i = 0; i < 50000; i++) {
		struct end e = { .tgid = 1 + (uint32_t)(x % 3), .fd = (int32_t)(x >> 8) % 5, .sock = (x >> 16) % 4,
				 .lport = (uint16_t)((x >> 20) % 3), .rport = (uint16_t)((x >> 24) % 3), .netns = 1 };
		size_t n = 0;
		int k = (int)((x >> 32) % 3) + 1;

		for (int j = 0; j < k; j++) {
			const char *p = pieces[(x >> (36 + 4 * j)) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = strlen(p);

			if (n + l < sizeof(data)) {
				memcpy(data + n, p, l);
				n += l;
			}
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (x % 17 == 0) {
			rec_close(f, &e);
			continue;
		}
		rec_full(f, &e, (uint32_t)(x % 4), (uint32_t)(x >> 40) & 0x0f, (uint64_t)i * 10, (uint64_t)i * 10 + 5, data,
			 n + (x % 5 == 0 ? 100 : 0), x % 7 == 0 && n > 3 ? n - 3 : n, CGS_L7_EV_DATA);
		if (f->cap.n >= MAXS - 8) {
			for (size_t s = 0; s < f->cap.n; s++)
				cgs_span_free(f->cap.spans[s]);
			f->cap.n = 0;
		}
		f->cap.nreq = 0;
		if (i % 1000 == 0)
			cgs_l7_tracker_tick(f->t, (uint64_t)i * 10 + 2000000000ull, M2U);
	}
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_fragmented_head),
		cmocka_unit_test(test_truncated_capture),
		cmocka_unit_test(test_linking),
		cmocka_unit_test(test_thread_parent_and_headers),
		cmocka_unit_test(test_reuse_close_unmatched),
		cmocka_unit_test(test_upgrade_and_garbage),
		cmocka_unit_test(test_sampling_and_bound),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
