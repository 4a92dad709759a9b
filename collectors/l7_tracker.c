/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From capture records to spans. Connections are keyed by (tgid, fd) and
 * told apart from a reused fd by the kernel socket's identity; each keeps a
 * FIFO of requests waiting for their responses (keep-alive and pipelining:
 * HTTP/1.x answers in order), and per direction a head that continues in
 * the next buffer (the kernel side captures up to CGS_L7_CONT_MAX more).
 * Several messages in one buffer are walked by their body lengths.
 *
 * Times: a SERVER span runs from the exit of the read that brought its
 * request to the entry of the write that starts its response; a CLIENT span
 * from the entry of the write that sends the request to the exit of the read
 * that brings the response. Causality then puts a node-local server span
 * inside its client span.
 *
 * Trace context, in order: the request's traceparent, its uber-trace-id;
 * for a CLIENT request, the SERVER span its thread is serving; for a SERVER
 * request, the CLIENT span at the other end of the same connection when
 * that end is a container on this node (node-local linking, by the
 * connection's addresses and network namespace); else a new trace.
 *
 * Bounded: connections (LRU eviction, counted), requests per connection,
 * bytes per waiting head. Single threaded.
 */
#include "l7.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PIPELINE_MAX 16
#define STASH_MAX 8192
#define STASH_TIMEOUT_NS 1000000000ull
#define IDLE_NS (300 * 1000000000ull)
#define THREADS 4096 /* direct-mapped thread -> serving span table */
#define DIR_IN 0
#define DIR_OUT 1
#define NONE ((size_t)-1)

struct req {
	struct cgs_span *span;   /* NULL: a request we could not read (kept to pair its response) */
	uint64_t start_ns;       /* CLOCK_MONOTONIC */
	uint32_t tid;
	uint8_t role, method;
	bool peer_pending;       /* SERVER without context: try node-local linking again at the response */
};

struct stash {
	char *buf;
	size_t len;
	uint64_t ts_enter, ts_exit, since;
	uint32_t tid;
	uint32_t more;           /* continuation buffers the kernel may still send */
	bool active;
};

struct conn {
	uint64_t key, sock, cgroup_id, last_ns;
	int slot;
	uint32_t netns, thash;
	struct cgs_l7_peer peer;
	struct req pend[PIPELINE_MAX];
	unsigned phead, pcount;
	struct stash st[2];
	bool has_last, upgraded;
	uint8_t last_trace[16], last_span[8], last_flags;
	uint64_t last_start, last_end; /* the last CLIENT request's write entry and answer (0: none yet) */
	struct conn *knext, *tnext, *lprev, *lnext;
};

struct thread_ent {
	uint32_t tid;
	bool children;
	const struct cgs_span *owner; /* the SERVER span being served; NULL: free */
	uint8_t trace[16], span[8], flags;
};

struct cgs_l7_tracker {
	struct cgs_l7_tracker_opts o;
	struct cgs_l7_sink sink;
	struct cgs_l7_sampler sampler;
	struct cgs_l7_rng rng;
	struct conn **kh, **th;
	size_t mask, nconns, nstash;
	struct conn lru; /* sentinel: lnext is the most recent */
	struct thread_ent thr[THREADS];
	struct cgs_l7_tracker_stats st;
	int64_t m2u;
};

/* ---- hashing ------------------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint32_t tuple_hash(uint32_t netns, const struct cgs_l7_peer *p, bool reverse)
{
	uint64_t h = mix64((uint64_t)netns << 16 | p->family), a, b;

	memcpy(&a, reverse ? p->raddr : p->laddr, 8);
	memcpy(&b, reverse ? p->raddr + 8 : p->laddr + 8, 8);
	h = mix64(h ^ a ^ mix64(b) ^ (uint64_t)(reverse ? p->rport : p->lport) << 40);
	memcpy(&a, reverse ? p->laddr : p->raddr, 8);
	memcpy(&b, reverse ? p->laddr + 8 : p->raddr + 8, 8);
	h = mix64(h ^ a ^ mix64(b ^ 0x5bd1e995) ^ (uint64_t)(reverse ? p->lport : p->rport) << 24);
	return (uint32_t)h;
}

static struct conn *find_key(const struct cgs_l7_tracker *t, uint64_t key)
{
	for (struct conn *c = t->kh[mix64(key) & t->mask]; c; c = c->knext)
		if (c->key == key)
			return c;
	return NULL;
}

/* The connection whose local end is `c`'s remote end and vice versa (same netns). */
static struct conn *find_reverse(const struct cgs_l7_tracker *t, const struct conn *c)
{
	uint32_t h = tuple_hash(c->netns, &c->peer, true);

	for (struct conn *r = t->th[h & t->mask]; r; r = r->tnext)
		if (r->thash == h && r->netns == c->netns && r->peer.family == c->peer.family &&
		    r->peer.lport == c->peer.rport && r->peer.rport == c->peer.lport &&
		    !memcmp(r->peer.laddr, c->peer.raddr, 16) && !memcmp(r->peer.raddr, c->peer.laddr, 16))
			return r;
	return NULL;
}

static void lru_unlink(struct conn *c)
{
	c->lprev->lnext = c->lnext;
	c->lnext->lprev = c->lprev;
}

static void lru_front(struct cgs_l7_tracker *t, struct conn *c)
{
	c->lnext = t->lru.lnext;
	c->lprev = &t->lru;
	t->lru.lnext->lprev = c;
	t->lru.lnext = c;
}

static void chain_remove(struct conn **head, struct conn *c, bool tuple)
{
	for (struct conn **pp = head; *pp; pp = tuple ? &(*pp)->tnext : &(*pp)->knext)
		if (*pp == c) {
			*pp = tuple ? c->tnext : c->knext;
			return;
		}
}

/* ---- requests ---------------------------------------------------------------------- */

static struct thread_ent *thread_of(struct cgs_l7_tracker *t, uint32_t tid)
{
	return &t->thr[mix64(tid) & (THREADS - 1)];
}

static void thread_release(struct cgs_l7_tracker *t, const struct req *r)
{
	struct thread_ent *te = thread_of(t, r->tid);

	if (r->span && te->owner == r->span && te->tid == r->tid)
		te->owner = NULL;
}

static void req_drop(struct cgs_l7_tracker *t, struct req *r)
{
	thread_release(t, r);
	cgs_span_free(r->span);
	r->span = NULL;
}

static void push(struct cgs_l7_tracker *t, struct conn *c, const struct req *r)
{
	if (c->pcount == PIPELINE_MAX) {
		/* The oldest is not going to be answered in any order we can follow. */
		req_drop(t, &c->pend[c->phead]);
		c->phead = (c->phead + 1) % PIPELINE_MAX;
		c->pcount--;
		t->st.unanswered++;
	}
	c->pend[(c->phead + c->pcount) % PIPELINE_MAX] = *r;
	c->pcount++;
}

/* The oldest request of `role` (HTTP/1.x answers in order); false when none. */
static bool pop(struct conn *c, int role, struct req *out)
{
	for (unsigned i = 0; i < c->pcount; i++) {
		unsigned k = (c->phead + i) % PIPELINE_MAX;

		if (c->pend[k].role != role)
			continue;
		*out = c->pend[k];
		/* Close the gap (requests of the other role stay in order). */
		for (unsigned j = i; j > 0; j--)
			c->pend[(c->phead + j) % PIPELINE_MAX] = c->pend[(c->phead + j - 1) % PIPELINE_MAX];
		c->phead = (c->phead + 1) % PIPELINE_MAX;
		c->pcount--;
		return true;
	}
	return false;
}

/*
 * Whether the last CLIENT request on `rc` is the one a SERVER request read at
 * `read_ns` answers: written before that read, and not answered before it
 * (a keep-alive connection's previous request was).
 */
static bool peer_eligible(const struct conn *rc, uint64_t read_ns)
{
	return rc && rc->has_last && rc->last_start <= read_ns && (!rc->last_end || rc->last_end >= read_ns);
}

static void adopt(struct cgs_span *s, const uint8_t trace[16], const uint8_t parent[8], uint8_t flags)
{
	memcpy(s->trace_id, trace, 16);
	memcpy(s->parent_span_id, parent, 8);
	s->has_parent = true;
	s->flags = flags;
}

/* Trace context of a new request (see the file comment for the order). */
static void assign_context(struct cgs_l7_tracker *t, struct conn *c, struct req *r, const struct cgs_l7_req_hdrs *hd)
{
	struct cgs_span *s = r->span;
	const struct cgs_http_str *v;
	struct cgs_trace_ctx tc;
	bool have = false;

	cgs_l7_rng_id(&t->rng, s->span_id, sizeof(s->span_id));
	if ((v = hd->traceparent) && !cgs_tracectx_parse_traceparent(v->p, v->n, &tc)) {
		const struct cgs_http_str *ts = hd->tracestate;

		have = true;
		if (ts && ts->n && ts->n <= 512 && !cgs_l7_redact_header(t->o.redact, "tracestate", 10))
			s->trace_state = cgs_span_strdup(s, ts->p, ts->n);
	} else if ((v = hd->uber) && !cgs_tracectx_parse_uber(v->p, v->n, &tc)) {
		have = true;
	}
	if (have) {
		adopt(s, tc.trace_id, tc.span_id, tc.flags);
	} else if (r->role == CGS_L7_ROLE_CLIENT) {
		struct thread_ent *te = thread_of(t, r->tid);

		if (te->owner && te->tid == r->tid) {
			adopt(s, te->trace, te->span, te->flags);
			te->children = true;
		} else {
			cgs_l7_rng_id(&t->rng, s->trace_id, sizeof(s->trace_id));
			s->flags = 1;
		}
	} else {
		struct conn *rc = find_reverse(t, c);

		if (peer_eligible(rc, r->start_ns)) {
			adopt(s, rc->last_trace, rc->last_span, rc->last_flags);
			t->st.linked++;
		} else {
			cgs_l7_rng_id(&t->rng, s->trace_id, sizeof(s->trace_id));
			s->flags = 1;
			r->peer_pending = true;
		}
	}
	if (r->role == CGS_L7_ROLE_CLIENT) {
		c->has_last = true;
		memcpy(c->last_trace, s->trace_id, 16);
		memcpy(c->last_span, s->span_id, 8);
		c->last_flags = (uint8_t)s->flags;
		c->last_start = r->start_ns;
		c->last_end = 0;
	} else {
		struct thread_ent *te = thread_of(t, r->tid);

		te->tid = r->tid;
		te->owner = s;
		te->children = false;
		memcpy(te->trace, s->trace_id, 16);
		memcpy(te->span, s->span_id, 8);
		te->flags = (uint8_t)s->flags;
	}
}

static void finish(struct cgs_l7_tracker *t, struct conn *c, struct req *r, const struct cgs_http_head *h,
		   uint64_t end_ns)
{
	struct cgs_span *s = r->span;
	struct thread_ent *te = thread_of(t, r->tid);
	bool owned = te->owner == s && te->tid == r->tid;
	int d;

	if (r->peer_pending && !(owned && te->children)) {
		/* The client's record may have come after ours; its span is still the latest on that connection. */
		struct conn *rc = find_reverse(t, c);

		if (peer_eligible(rc, r->start_ns)) {
			adopt(s, rc->last_trace, rc->last_span, rc->last_flags);
			t->st.linked++;
		}
	}
	if (owned)
		te->owner = NULL;
	if (!s->res && t->sink.resource) {
		/* The container's metadata may have arrived since the request. */
		s->res = t->sink.resource(t->sink.arg, c->slot, c->cgroup_id);
		cgs_l7_span_container_attrs(s);
	}
	cgs_l7_span_response(s, h, r->role, t->o.redact);
	s->start_ns = (uint64_t)((int64_t)r->start_ns + t->m2u);
	s->end_ns = (uint64_t)((int64_t)end_ns + t->m2u);
	r->span = NULL;
	d = cgs_l7_sampler_decide(&t->sampler, s->trace_id, s->status == CGS_SPAN_STATUS_ERROR, end_ns - r->start_ns,
				  end_ns);
	if (d == CGS_L7_KEEP) {
		t->st.kept++;
		t->sink.span(t->sink.arg, s);
		return;
	}
	if (d == CGS_L7_SAMPLED_OUT)
		t->st.sampled_out++;
	else
		t->st.over_budget++;
	cgs_span_free(s);
}

/* One message head: a request is queued, a response answers the oldest one. Returns the request's method. */
static int handle(struct cgs_l7_tracker *t, struct conn *c, int dir, const struct cgs_http_head *h,
		  uint64_t ts_enter, uint64_t ts_exit, uint32_t tid)
{
	struct req r = { 0 };
	uint64_t end;

	if (h->kind == CGS_HTTP_REQUEST) {
		r.role = dir == DIR_IN ? CGS_L7_ROLE_SERVER : CGS_L7_ROLE_CLIENT;
		r.method = (uint8_t)h->method;
		r.tid = tid;
		r.start_ns = r.role == CGS_L7_ROLE_SERVER ? ts_exit : ts_enter;
		t->st.requests++;
		if (t->o.spans) {
			struct cgs_l7_req_hdrs hd;

			cgs_l7_req_hdrs(h, &hd);
			r.span = cgs_l7_span_request(h, &hd, r.role, &c->peer, t->o.redact,
						     t->sink.resource ? t->sink.resource(t->sink.arg, c->slot, c->cgroup_id)
								      : NULL);
			if (r.span)
				assign_context(t, c, &r, &hd);
		}
		push(t, c, &r);
		return h->method;
	}
	if (h->status < 200 && h->status != 101)
		return CGS_HTTP_M_OTHER; /* interim response: the final one follows */
	t->st.responses++;
	if (!pop(c, dir == DIR_OUT ? CGS_L7_ROLE_SERVER : CGS_L7_ROLE_CLIENT, &r)) {
		t->st.unmatched++;
		return CGS_HTTP_M_OTHER;
	}
	end = r.role == CGS_L7_ROLE_SERVER ? ts_enter : ts_exit;
	if (end < r.start_ns)
		end = r.start_ns;
	if (r.role == CGS_L7_ROLE_CLIENT && r.span && c->has_last && !memcmp(c->last_span, r.span->span_id, 8))
		c->last_end = end;
	if (t->sink.request)
		t->sink.request(t->sink.arg, c->slot, c->cgroup_id, r.role, r.method, h->status, end - r.start_ns);
	if (r.span)
		finish(t, c, &r, h, end);
	if (h->status == 101)
		c->upgraded = true; /* another protocol from here on */
	return r.method;
}

/*
 * Walks the messages in p[0..n). Returns the offset of a trailing head that
 * is not complete yet when the caller may wait for its continuation
 * (`can_wait`), else NONE.
 */
static size_t process(struct cgs_l7_tracker *t, struct conn *c, int dir, const char *p, size_t n, bool can_wait,
		      uint64_t ts_enter, uint64_t ts_exit, uint32_t tid)
{
	size_t off = 0;

	while (off < n && !c->upgraded) {
		struct cgs_http_head h;
		int r = cgs_http_parse(p + off, n - off, &h), method;
		int64_t body;
		size_t at;

		if (r < 0) {
			if (!off)
				t->st.unparsed++;
			return NONE;
		}
		if ((r == 0 || !h.complete) && can_wait)
			return off;
		if (r == 0) {
			/* A start line cut short: keep a request's place in the queue all the same. */
			size_t k = n - off < 5 ? n - off : 5;

			if (memcmp(p + off, "HTTP/", k)) {
				struct req q = { .role = dir == DIR_IN ? CGS_L7_ROLE_SERVER : CGS_L7_ROLE_CLIENT,
						 .tid = tid, .start_ns = dir == DIR_IN ? ts_exit : ts_enter };

				t->st.requests++;
				push(t, c, &q);
			}
			return NONE;
		}
		method = handle(t, c, dir, &h, ts_enter, ts_exit, tid);
		if (!h.complete)
			return NONE;
		body = cgs_http_body_len(&h, method);
		at = off + h.head_len;
		if (body == -2) {
			ssize_t cl = cgs_http_chunked_len(p + at, n - at);

			if (cl < 0)
				return NONE;
			body = cl;
		}
		if (body < 0 || (uint64_t)body > n - at)
			return NONE;
		off = at + (size_t)body;
		if (off >= n || !cgs_http_starts_message(p + off, n - off))
			return NONE;
	}
	return NONE;
}

/* ---- waiting heads ------------------------------------------------------------------- */

static void stash_start(struct cgs_l7_tracker *t, struct stash *s, const char *p, size_t n, uint64_t ts_enter,
			uint64_t ts_exit, uint32_t tid)
{
	if (!s->buf && !(s->buf = malloc(STASH_MAX)))
		return;
	if (n > STASH_MAX)
		n = STASH_MAX;
	memmove(s->buf, p, n);
	s->len = n;
	s->ts_enter = ts_enter;
	s->ts_exit = ts_exit;
	s->since = ts_exit;
	s->tid = tid;
	s->more = CGS_L7_CONT_MAX;
	if (!s->active)
		t->nstash++;
	s->active = true;
}

/* Re-reads a waiting head; `final`: no more bytes will come, take it as it is. */
static void stash_process(struct cgs_l7_tracker *t, struct conn *c, int dir, bool final)
{
	struct stash *s = &c->st[dir];
	size_t off;

	if (!s->active)
		return;
	off = process(t, c, dir, s->buf, s->len, !final, s->ts_enter, s->ts_exit, s->tid);
	if (off != NONE && !final) {
		if (off) {
			memmove(s->buf, s->buf + off, s->len - off);
			s->len -= off;
		}
		return;
	}
	s->active = false;
	s->len = 0;
	t->nstash--;
}

/* ---- connections --------------------------------------------------------------------- */

static void conn_remove(struct cgs_l7_tracker *t, struct conn *c)
{
	stash_process(t, c, DIR_IN, true);
	stash_process(t, c, DIR_OUT, true);
	while (c->pcount) {
		req_drop(t, &c->pend[c->phead]);
		c->phead = (c->phead + 1) % PIPELINE_MAX;
		c->pcount--;
		t->st.unanswered++;
	}
	chain_remove(&t->kh[mix64(c->key) & t->mask], c, false);
	chain_remove(&t->th[c->thash & t->mask], c, true);
	lru_unlink(c);
	free(c->st[0].buf);
	free(c->st[1].buf);
	free(c);
	t->nconns--;
}

static bool v4_mapped(const uint8_t *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, 12);
}

static struct conn *conn_add(struct cgs_l7_tracker *t, const struct cgs_l7_event *e, uint64_t key)
{
	struct conn *c;

	if (t->nconns >= t->o.max_conns && t->lru.lprev != &t->lru) {
		conn_remove(t, t->lru.lprev);
		t->st.evicted++;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->key = key;
	c->sock = e->sock;
	c->cgroup_id = e->cgroup_id;
	c->slot = e->slot;
	c->netns = e->netns;
	c->peer.family = e->family == AF_INET6 ? AF_INET6 : AF_INET;
	c->peer.lport = e->lport;
	c->peer.rport = e->rport;
	if (c->peer.family == AF_INET6 && v4_mapped(e->laddr) && v4_mapped(e->raddr)) {
		c->peer.family = AF_INET;
		memcpy(c->peer.laddr, e->laddr + 12, 4);
		memcpy(c->peer.raddr, e->raddr + 12, 4);
	} else if (c->peer.family == AF_INET) {
		memcpy(c->peer.laddr, e->laddr, 4);
		memcpy(c->peer.raddr, e->raddr, 4);
	} else {
		memcpy(c->peer.laddr, e->laddr, 16);
		memcpy(c->peer.raddr, e->raddr, 16);
	}
	cgs_l7_addr_str(c->peer.family, c->peer.laddr, c->peer.lname, sizeof(c->peer.lname));
	cgs_l7_addr_str(c->peer.family, c->peer.raddr, c->peer.rname, sizeof(c->peer.rname));
	c->thash = tuple_hash(c->netns, &c->peer, false);
	c->knext = t->kh[mix64(key) & t->mask];
	t->kh[mix64(key) & t->mask] = c;
	c->tnext = t->th[c->thash & t->mask];
	t->th[c->thash & t->mask] = c;
	lru_front(t, c);
	t->nconns++;
	return c;
}

/* ---- interface ------------------------------------------------------------------------- */

struct cgs_l7_tracker *cgs_l7_tracker_new(const struct cgs_l7_tracker_opts *o, const struct cgs_l7_sink *sink)
{
	struct cgs_l7_tracker *t;
	size_t nb = 64;

	if (!o->redact || !sink->span) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->o = *o;
	if (!t->o.max_conns)
		t->o.max_conns = 1;
	while (nb < t->o.max_conns && nb < (1u << 24))
		nb <<= 1;
	t->mask = nb - 1;
	t->kh = calloc(nb, sizeof(*t->kh));
	t->th = calloc(nb, sizeof(*t->th));
	if (!t->kh || !t->th) {
		cgs_l7_tracker_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->sink = *sink;
	t->lru.lnext = t->lru.lprev = &t->lru;
	cgs_l7_sampler_init(&t->sampler, o->sample_percent, o->slow_ns, o->budget_per_s);
	cgs_l7_rng_seed(&t->rng, o->seed);
	return t;
}

void cgs_l7_tracker_free(struct cgs_l7_tracker *t)
{
	if (!t)
		return;
	while (t->kh && t->th && t->lru.lnext && t->lru.lnext != &t->lru) {
		struct conn *c = t->lru.lnext;

		/* Without flushing: nothing is handed to the sink any more. */
		c->st[0].active = c->st[1].active = false;
		conn_remove(t, c);
	}
	free(t->kh);
	free(t->th);
	free(t);
}

void cgs_l7_tracker_record(struct cgs_l7_tracker *t, const struct cgs_l7_event *e, const char *data,
			   int64_t mono_to_unix)
{
	uint64_t key = (uint64_t)e->tgid << 32 | (uint32_t)e->fd;
	struct conn *c = find_key(t, key);
	size_t n = e->cap_len;
	int dir = e->flags & CGS_L7_F_EGRESS ? DIR_OUT : DIR_IN;
	bool truncated = e->cap_len < e->len;
	size_t off;

	t->st.records++;
	t->m2u = mono_to_unix;
	if (e->kind == CGS_L7_EV_CLOSE) {
		if (c && c->sock == e->sock)
			conn_remove(t, c);
		return;
	}
	if (e->kind != CGS_L7_EV_DATA)
		return;
	if (c && c->sock != e->sock) {
		conn_remove(t, c); /* the fd now names another socket */
		c = NULL;
	}
	if (!c && !(c = conn_add(t, e, key)))
		return;
	c->last_ns = e->ts_exit;
	lru_unlink(c);
	lru_front(t, c);
	if (c->upgraded)
		return;
	if (e->flags & CGS_L7_F_CONT) {
		struct stash *s = &c->st[dir];

		if (!s->active)
			return; /* the head it continues was complete already */
		if (n > STASH_MAX - s->len) {
			n = STASH_MAX - s->len;
			truncated = true;
		}
		memcpy(s->buf + s->len, data, n);
		s->len += n;
		if (s->more)
			s->more--;
		stash_process(t, c, dir, truncated || !s->more);
		return;
	}
	/* A new message: waiting heads are all we will get of theirs (a response also means its
	 * request was read in full). */
	stash_process(t, c, !dir, true);
	stash_process(t, c, dir, true);
	off = process(t, c, dir, data, n, !truncated, e->ts_enter, e->ts_exit, e->tid);
	if (off != NONE)
		stash_start(t, &c->st[dir], data + off, n - off, e->ts_enter, e->ts_exit, e->tid);
}

void cgs_l7_tracker_tick(struct cgs_l7_tracker *t, uint64_t now, int64_t mono_to_unix)
{
	t->m2u = mono_to_unix;
	if (t->nstash) {
		for (struct conn *c = t->lru.lnext; c != &t->lru; c = c->lnext)
			for (int d = 0; d < 2; d++)
				if (c->st[d].active && now > c->st[d].since + STASH_TIMEOUT_NS)
					stash_process(t, c, d, true);
	}
	while (t->lru.lprev != &t->lru && now > t->lru.lprev->last_ns + IDLE_NS)
		conn_remove(t, t->lru.lprev);
}

void cgs_l7_tracker_stats(const struct cgs_l7_tracker *t, struct cgs_l7_tracker_stats *st)
{
	*st = t->st;
	st->conns = t->nconns;
}
