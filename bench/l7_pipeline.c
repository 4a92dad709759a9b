/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request-span pipeline's userspace cost per request, without the
 * kernel or the network: the four capture records of one keep-alive
 * request as bench/l7.sh's workload makes them (wrk writes a GET, nginx
 * reads it, nginx writes a 200 with its body, wrk reads it), fed to the
 * tracker again and again over 32 connections, in stages:
 *
 *   copy    copying the records (what reading them from the ring costs):
 *           the baseline every other stage is given as a ratio to;
 *   red     the tracker with spans off (pairing + RED metrics);
 *   spans   spans built and freed;
 *   encode  spans built, each encoded as it comes and freed, batches of
 *           2048 framed as an OTLP request (what the exporter does before
 *           curl sends it: exporters/otlp.c).
 *
 * Stages interleave over ROUNDS rounds; medians of the thread's CPU time
 * per request.
 * Usage: cgs_bench_l7_pipeline [REQUESTS_PER_ROUND (200000)] [ROUNDS (5)]
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "collectors/l7.h"
#include "exporters/otlp.h"

#define CONNS 32
#define BATCH 2048
#define M2U 1700000000000000000ll

enum { ST_COPY, ST_RED, ST_SPANS, ST_ENCODE, ST__COUNT };
static const char *const stage_names[ST__COUNT] = { "copy", "red", "spans", "encode" };

struct sink {
	struct cgs_resource *res;
	struct cgs_otlp_qspan batch[BATCH];
	struct cgs_buf bytes;
	size_t n;
	struct cgs_otlp_ws ws;
	struct cgs_buf out;
	bool encode;
	uint64_t spans, bytes_out, reqs;
};

static struct cgs_resource *sink_resource(void *arg, int slot, uint64_t cgroup_id)
{
	(void)slot;
	(void)cgroup_id;
	return cgs_resource_ref(((struct sink *)arg)->res);
}

static void flush(struct sink *k)
{
	if (!k->n)
		return;
	k->out.len = 0;
	if (cgs_otlp_frame(k->batch, k->n, k->bytes.p, "bench", &k->ws, &k->out) == 0)
		k->bytes_out += k->out.len;
	for (size_t i = 0; i < k->n; i++)
		cgs_resource_unref(k->batch[i].res);
	k->bytes.len = 0;
	k->n = 0;
}

static void sink_span(void *arg, struct cgs_span *s)
{
	struct sink *k = arg;

	k->spans++;
	if (k->encode) {
		struct cgs_otlp_qspan *q = &k->batch[k->n++];

		q->off = k->bytes.len;
		if (cgs_otlp_span_encode(s, &k->bytes) < 0)
			exit(1);
		q->len = k->bytes.len - q->off;
		q->res = s->res;
		s->res = NULL;
	}
	cgs_span_free(s);
	if (k->n == BATCH)
		flush(k);
}

static void sink_request(void *arg, int slot, uint64_t cgroup_id, int role, int method, int status, uint64_t ns)
{
	(void)slot;
	(void)cgroup_id;
	(void)role;
	(void)method;
	(void)status;
	(void)ns;
	((struct sink *)arg)->reqs++;
}

/* One record: header + captured bytes, as the ring buffer holds it. */
struct rec {
	char *p;
	size_t len;
};

static struct rec make(uint32_t tgid, uint32_t tid, int fd, uint64_t sock, uint64_t cgid, uint16_t lport,
		       uint16_t rport, uint32_t flags, const char *data, size_t len, size_t cap)
{
	struct rec r = { .len = sizeof(struct cgs_l7_event) + 256 };
	struct cgs_l7_event *e;

	r.p = calloc(1, r.len);
	if (!r.p)
		exit(1);
	e = (struct cgs_l7_event *)r.p;
	e->cgroup_id = cgid;
	e->sock = sock;
	e->tgid = tgid;
	e->tid = tid;
	e->fd = fd;
	e->kind = CGS_L7_EV_DATA;
	e->flags = flags;
	e->len = (uint32_t)len;
	e->cap_len = (uint32_t)(cap < len ? cap : len);
	e->slot = 1;
	e->family = AF_INET;
	e->lport = lport;
	e->rport = rport;
	e->netns = 4026531840u;
	inet_pton(AF_INET, "127.0.0.1", e->laddr);
	inet_pton(AF_INET, "127.0.0.1", e->raddr);
	memcpy(r.p + sizeof(*e), data, e->cap_len);
	return r;
}

/* Keeps the copy stage's reads from being optimised away. */
static volatile uint64_t copy_sink;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: other processes' turns do not count */
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1:41234\r\n\r\n";
	static const char resp_head[] = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
					"Date: Wed, 02 Dec 2026 02:00:00 GMT\r\nContent-Type: text/html\r\n"
					"Content-Length: 612\r\nLast-Modified: Wed, 02 Dec 2026 01:00:00 GMT\r\n"
					"Connection: keep-alive\r\nETag: \"692e4b10-264\"\r\nAccept-Ranges: bytes\r\n\r\n";
	long per_round = argc > 1 ? atol(argv[1]) : 200000, rounds = argc > 2 ? atol(argv[2]) : 5;
	const char *kv[] = { "service.name", "nginx", "container.id", "0123456789abcdef0123456789abcdef",
			     "k8s.pod.name", "web-0", "k8s.namespace.name", "shop", "k8s.container.name", "nginx",
			     "host.name", "node-1" };
	char resp[sizeof(resp_head) + 612];
	struct rec recs[CONNS][4];
	double *ns[ST__COUNT];
	struct cgs_l7_redact *red = cgs_l7_redact_new(NULL, NULL, NULL);
	struct sink k = { 0 };
	char *scratch = malloc(4096);

	if (per_round < CONNS || rounds < 1 || !red || !scratch) {
		fprintf(stderr, "usage: %s [REQUESTS_PER_ROUND >= %d] [ROUNDS >= 1]\n", argv[0], CONNS);
		return 2;
	}
	mallopt(M_TRIM_THRESHOLD, 64 << 20); /* as the agent's l7 collector sets it */
	memcpy(resp, resp_head, sizeof(resp_head) - 1);
	memset(resp + sizeof(resp_head) - 1, 'x', 612);
	for (int c = 0; c < CONNS; c++) {
		uint16_t cport = (uint16_t)(50000 + c);

		/* wrk (tgid 200) writes, nginx (tgid 100) reads, nginx writes, wrk reads. */
		recs[c][0] = make(200, 200, 10 + c, 0xc000 + c, 2000, cport, 41234, CGS_L7_F_EGRESS | CGS_L7_F_REQUEST |
				  CGS_L7_F_CONNECTED, req, sizeof(req) - 1, 256);
		recs[c][1] = make(100, 100, 20 + c, 0xd000 + c, 1000, 41234, cport, CGS_L7_F_REQUEST | CGS_L7_F_ACCEPTED,
				  req, sizeof(req) - 1, 256);
		recs[c][2] = make(100, 100, 20 + c, 0xd000 + c, 1000, 41234, cport, CGS_L7_F_EGRESS |
				  CGS_L7_F_RESPONSE | CGS_L7_F_ACCEPTED, resp, sizeof(resp) - 1, 256);
		recs[c][3] = make(200, 200, 10 + c, 0xc000 + c, 2000, cport, 41234, CGS_L7_F_RESPONSE |
				  CGS_L7_F_CONNECTED, resp, sizeof(resp) - 1, 256);
	}
	k.res = cgs_resource_new(kv, sizeof(kv) / sizeof(kv[0]) / 2);
	cgs_buf_init(&k.out);
	cgs_buf_init(&k.bytes);
	for (int s = 0; s < ST__COUNT; s++)
		ns[s] = calloc((size_t)rounds, sizeof(double));

	for (long r = 0; r < rounds; r++) {
		for (int s = 0; s < ST__COUNT; s++) {
			struct cgs_l7_sink sink = { .arg = &k, .resource = sink_resource, .span = sink_span,
						    .request = sink_request };
			struct cgs_l7_tracker_opts o = { .sample_percent = 100, .max_conns = 65536, .spans = s >= ST_SPANS,
							 .redact = red, .seed = 1 };
			struct cgs_l7_tracker *t = s == ST_COPY ? NULL : cgs_l7_tracker_new(&o, &sink);
			uint64_t ts = 1000000000ull, t0, t1;

			k.encode = s == ST_ENCODE;
			t0 = now_ns();
			for (long i = 0; i < per_round; i++) {
				struct rec *q = recs[i % CONNS];

				for (int j = 0; j < 4; j++) {
					struct cgs_l7_event *e = (struct cgs_l7_event *)q[j].p;

					e->ts_enter = ts;
					e->ts_exit = ts + 1000;
					ts += 2500;
					if (t) {
						cgs_l7_tracker_record(t, e, q[j].p + sizeof(*e), M2U);
					} else {
						memcpy(scratch, q[j].p, q[j].len);
						copy_sink += (uint8_t)scratch[sizeof(*e)];
					}
				}
			}
			flush(&k);
			t1 = now_ns();
			ns[s][r] = (double)(t1 - t0) / (double)per_round;
			cgs_l7_tracker_free(t);
		}
	}
	printf("cgsight span pipeline (userspace): %ld rounds of %ld keep-alive requests over %d connections,\n"
	       "4 records each (GET / and a 200 with nginx's headers), medians of CPU ns per request\n",
	       rounds, per_round, CONNS);
	for (int s = 0; s < ST__COUNT; s++)
		qsort(ns[s], (size_t)rounds, sizeof(double), cmp_double);
	for (int s = 0; s < ST__COUNT; s++)
		printf("  %-7s %9.0f ns/request  %6.1fx copy\n", stage_names[s], ns[s][rounds / 2],
		       ns[s][rounds / 2] / ns[ST_COPY][rounds / 2]);
	printf("  spans built %llu (2 per request), requests answered %llu, OTLP bytes %llu (%.0f per span)\n",
	       (unsigned long long)k.spans, (unsigned long long)k.reqs, (unsigned long long)k.bytes_out,
	       k.spans ? (double)k.bytes_out / (double)(k.spans / 2) : 0.0);
	if (k.reqs != (uint64_t)(2 * per_round * rounds * (ST__COUNT - 1))) {
		fprintf(stderr, "FAIL: %llu requests answered, want %ld\n", (unsigned long long)k.reqs,
			2 * per_round * rounds * (ST__COUNT - 1));
		return 1;
	}
	cgs_otlp_ws_free(&k.ws);
	cgs_buf_free(&k.out);
	cgs_buf_free(&k.bytes);
	cgs_resource_unref(k.res);
	cgs_l7_redact_free(red);
	for (int s = 0; s < ST__COUNT; s++)
		free(ns[s]);
	for (int c = 0; c < CONNS; c++)
		for (int j = 0; j < 4; j++)
			free(recs[c][j].p);
	free(scratch);
	return 0;
}
