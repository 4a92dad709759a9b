/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP/HTTP protobuf exporter (see otlp.h): a bounded FIFO of spans, each
 * encoded as it is submitted (while its bytes are still in the cache) and
 * freed, the bytes kept in chunks of one batch each (about 0.5 KB a span
 * rather than the 1.3 KB span); one batch in flight at a time (framed once,
 * re-sent as-is on retry), libcurl's multi interface driven from an epoll
 * fd of our own that holds curl's sockets, curl's timeout timer and our
 * schedule timer (batch deadline or retry backoff). Nothing here blocks,
 * except the bounded final flush in cgs_otlp_free.
 *
 * Retries: HTTP 429, 502, 503 and 504 (the statuses the OTLP specification
 * calls retryable) and transport failures (refused, reset, timed out) are
 * retried with exponential backoff, honouring Retry-After seconds; any other
 * status drops the batch at once. Every dropped span is counted.
 */
#include "otlp.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../agent/log.h"

#define LOG_COMP "exporter:otlp"
#define TAG_CURL_TIMER (1ull << 32)
#define TAG_SCHED      (2ull << 32)
#define RESP_MAX       (64 * 1024)
#define BACKOFF_SHIFT_MAX 5

/* Queued spans, encoded: one batch's worth at most. All chunks but the tail are full. */
struct chunk {
	struct chunk *next;
	struct cgs_buf bytes;      /* Span messages back to back */
	struct cgs_otlp_qspan *v;  /* batch_max entries; each holds a resource reference */
	size_t n;
};

struct cgs_otlp {
	struct cgs_otlp_opts o;
	char *url;
	char *version;
	int epfd, curl_tfd, sched_tfd;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *hdrs;
	/* queue */
	struct chunk *head, *tail, *spare; /* spare: the last chunk sent, kept for reuse */
	size_t qlen;
	uint64_t oldest_ns;
	/* the batch in flight (or waiting for its retry) */
	bool busy, in_curl;
	bool curl_inited;
	struct cgs_buf body;
	struct cgs_otlp_ws ws;  /* the encoder's workspace, kept warm */
	size_t batch_n;
	unsigned attempt;
	uint64_t retry_at_ns;
	long retry_after_s;
	struct cgs_buf resp;
	struct cgs_otlp_stats st;
	char errbuf[CURL_ERROR_SIZE];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void timer_at(int fd, uint64_t abs_ns)
{
	struct itimerspec its = { 0 };

	if (abs_ns) {
		its.it_value.tv_sec = (time_t)(abs_ns / 1000000000ull);
		its.it_value.tv_nsec = (long)(abs_ns % 1000000000ull);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The next schedule deadline: the retry, or the oldest queued span's flush time. */
static void rearm(struct cgs_otlp *x)
{
	uint64_t at = 0;

	if (x->busy && x->retry_at_ns)
		at = x->retry_at_ns;
	else if (!x->busy && x->qlen)
		at = x->oldest_ns + x->o.flush_ms * 1000000ull;
	timer_at(x->sched_tfd, at);
}

/* ---- curl plumbing ------------------------------------------------------------ */

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct cgs_otlp *x = userp;
	struct epoll_event ev = { .data.u64 = (uint64_t)(unsigned)s };

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(x->epfd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(x->multi, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (socketp) {
		epoll_ctl(x->epfd, EPOLL_CTL_MOD, s, &ev);
		return 0;
	}
	if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, s, &ev) < 0) {
		if (errno != EEXIST)
			return 0;
		epoll_ctl(x->epfd, EPOLL_CTL_MOD, s, &ev);
	}
	curl_multi_assign(x->multi, s, x);
	return 0;
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct cgs_otlp *x = userp;
	struct itimerspec its = { 0 };

	(void)m;
	if (timeout_ms >= 0) {
		its.it_value.tv_sec = timeout_ms / 1000;
		its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
		if (!timeout_ms)
			its.it_value.tv_nsec = 1; /* at once, from the event loop */
	}
	timerfd_settime(x->curl_tfd, 0, &its, NULL);
	return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *userp)
{
	struct cgs_otlp *x = userp;
	size_t len = size * n;

	if (x->resp.len + len <= RESP_MAX)
		cgs_buf_append(&x->resp, p, len);
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *userp)
{
	struct cgs_otlp *x = userp;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && !strncasecmp(p, name, sizeof(name) - 1)) {
		char tmp[32];
		size_t vl = len - (sizeof(name) - 1);
		char *end;
		long v;

		if (vl >= sizeof(tmp))
			vl = sizeof(tmp) - 1;
		memcpy(tmp, p + sizeof(name) - 1, vl);
		tmp[vl] = '\0';
		v = strtol(tmp, &end, 10);
		if (end != tmp && v >= 0 && v <= 3600) /* seconds; the HTTP-date form is ignored */
			x->retry_after_s = v;
	}
	return len;
}

/* ---- batches ------------------------------------------------------------------ */

static void start_request(struct cgs_otlp *x)
{
	x->resp.len = 0;
	x->retry_after_s = -1;
	x->errbuf[0] = '\0';
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body.p);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body.len);
	if (curl_multi_add_handle(x->multi, x->easy) != CURLM_OK) {
		/* Cannot happen with a valid handle; treat as a transport failure next tick. */
		x->retry_at_ns = mono_ns() + x->o.backoff_ms * 1000000ull;
		rearm(x);
		return;
	}
	x->in_curl = true;
	x->retry_at_ns = 0;
	x->st.bytes_sent += x->body.len;
	rearm(x);
}

static struct chunk *chunk_new(size_t batch_max)
{
	struct chunk *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->v = calloc(batch_max, sizeof(*c->v));
	if (!c->v) {
		free(c);
		return NULL;
	}
	cgs_buf_init(&c->bytes);
	return c;
}

/* Empties a chunk (its resource references dropped), keeping its memory. */
static void chunk_clear(struct chunk *c)
{
	for (size_t i = 0; i < c->n; i++)
		cgs_resource_unref(c->v[i].res);
	c->n = 0;
	c->bytes.len = 0;
	c->bytes.err = 0;
	c->next = NULL;
}

static void chunk_free(struct chunk *c)
{
	if (!c)
		return;
	chunk_clear(c);
	cgs_buf_free(&c->bytes);
	free(c->v);
	free(c);
}

/* The head chunk becomes the batch in flight. */
static void send_batch(struct cgs_otlp *x)
{
	struct chunk *c = x->head;
	size_t n = c->n;
	struct cgs_buf raw;
	int e;

	x->head = c->next;
	if (!x->head)
		x->tail = NULL;
	x->qlen -= n;
	x->oldest_ns = mono_ns();
	cgs_buf_init(&raw);
	x->body.len = 0;
	e = cgs_otlp_frame(c->v, n, c->bytes.p, x->version, &x->ws, x->o.gzip ? &raw : &x->body);
	if (!e && x->o.gzip)
		e = cgs_otlp_gzip(raw.p, raw.len, &x->body);
	cgs_buf_free(&raw);
	chunk_clear(c);
	if (x->spare)
		chunk_free(c);
	else
		x->spare = c;
	if (e) {
		x->st.dropped_failed += n;
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot encode %zu spans: %s; dropped", n, strerror(-e));
		return;
	}
	x->busy = true;
	x->batch_n = n;
	x->attempt = 0;
	start_request(x);
}

static void maybe_send(struct cgs_otlp *x, uint64_t now, bool force)
{
	if (!x->busy && x->qlen &&
	    (force || x->qlen >= x->o.batch_max || now >= x->oldest_ns + x->o.flush_ms * 1000000ull))
		send_batch(x);
	rearm(x);
}

static void finish_batch(struct cgs_otlp *x)
{
	x->busy = false;
	x->batch_n = 0;
	x->attempt = 0;
	x->retry_at_ns = 0;
	x->body.len = 0;
	maybe_send(x, mono_ns(), false);
}

static bool retryable_status(long code)
{
	return code == 429 || code == 502 || code == 503 || code == 504;
}

static bool retryable_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return true;
	default:
		return false;
	}
}

static void on_done(struct cgs_otlp *x, CURLcode res)
{
	long code = 0;
	int64_t rejected = 0;
	bool retry;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(x->multi, x->easy);
	x->in_curl = false;
	if (res == CURLE_OK && code >= 200 && code < 300) {
		if (cgs_otlp_decode_response(x->resp.p, x->resp.len, &rejected) < 0)
			rejected = 0; /* a 2xx with a body we cannot read: the spans were accepted */
		if (rejected < 0 || (uint64_t)rejected > x->batch_n)
			rejected = (int64_t)x->batch_n;
		x->st.requests_ok++;
		x->st.exported += x->batch_n - (uint64_t)rejected;
		x->st.rejected += (uint64_t)rejected;
		finish_batch(x);
		return;
	}
	retry = res == CURLE_OK ? retryable_status(code) : retryable_curl(res);
	if (retry && x->attempt < x->o.max_retries) {
		unsigned shift = x->attempt < BACKOFF_SHIFT_MAX ? x->attempt : BACKOFF_SHIFT_MAX;
		uint64_t delay_ms = x->retry_after_s >= 0 ? (uint64_t)x->retry_after_s * 1000 : x->o.backoff_ms << shift;

		x->attempt++;
		x->st.retries++;
		x->retry_at_ns = mono_ns() + delay_ms * 1000000ull;
		cgs_log_debug(LOG_COMP, "POST %s: %s; retry %u in %llums", x->url,
			      res == CURLE_OK ? "retryable status" : curl_easy_strerror(res), x->attempt,
			      (unsigned long long)delay_ms);
		rearm(x);
		return;
	}
	x->st.requests_failed++;
	x->st.dropped_failed += x->batch_n;
	if (res == CURLE_OK)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "POST %s: HTTP %ld; %zu spans dropped", x->url, code,
				    x->batch_n);
	else
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "POST %s: %s; %zu spans dropped", x->url,
				    x->errbuf[0] ? x->errbuf : curl_easy_strerror(res), x->batch_n);
	finish_batch(x);
}

static void check_done(struct cgs_otlp *x)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(x->multi, &left)))
		if (m->msg == CURLMSG_DONE && m->easy_handle == x->easy)
			on_done(x, m->data.result);
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

static void on_sched(struct cgs_otlp *x)
{
	uint64_t now = mono_ns();

	if (x->busy && !x->in_curl && x->retry_at_ns && now >= x->retry_at_ns) {
		start_request(x);
		return;
	}
	maybe_send(x, now, false);
}

/* Handles the ready events of our epoll fd, waiting at most `timeout_ms`. */
static int run(struct cgs_otlp *x, int timeout_ms)
{
	struct epoll_event evs[16];
	int running, n = epoll_wait(x->epfd, evs, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;

		if (tag == TAG_CURL_TIMER) {
			drain(x->curl_tfd);
			curl_multi_socket_action(x->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		} else if (tag == TAG_SCHED) {
			drain(x->sched_tfd);
			on_sched(x);
		} else {
			int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
				   (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
				   (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

			curl_multi_socket_action(x->multi, (curl_socket_t)tag, mask, &running);
		}
		check_done(x);
	}
	return 0;
}

int cgs_otlp_poll(struct cgs_otlp *x)
{
	return run(x, 0);
}

/* ---- life cycle ------------------------------------------------------------- */

static char *make_url(const char *endpoint)
{
	const char *p;
	size_t n = strlen(endpoint);
	char *u;

	if (!strncmp(endpoint, "http://", 7))
		p = endpoint + 7;
	else if (!strncmp(endpoint, "https://", 8))
		p = endpoint + 8;
	else
		return NULL;
	if (!*p || *p == '/')
		return NULL;
	p = strchr(p, '/');
	/* A base URL gets the signal path appended (as OTEL_EXPORTER_OTLP_ENDPOINT). */
	if (!p || !strcmp(p, "/")) {
		u = malloc(n + sizeof("/v1/traces"));
		if (u) {
			memcpy(u, endpoint, n);
			if (n && u[n - 1] == '/')
				n--;
			memcpy(u + n, "/v1/traces", sizeof("/v1/traces"));
		}
		return u;
	}
	return strdup(endpoint);
}

struct cgs_otlp *cgs_otlp_new(const struct cgs_otlp_opts *o)
{
	struct cgs_otlp *x = calloc(1, sizeof(*x));
	struct epoll_event ev = { .events = EPOLLIN };
	char ua[64];
	int e = ENOMEM;

	if (!x)
		return NULL;
	x->epfd = x->curl_tfd = x->sched_tfd = -1;
	x->o = *o;
	if (!x->o.batch_max)
		x->o.batch_max = 1;
	if (x->o.queue_max < x->o.batch_max)
		x->o.queue_max = x->o.batch_max;
	x->url = make_url(o->endpoint ? o->endpoint : "");
	x->version = strdup(o->version ? o->version : "");
	if (!x->url || !x->version) {
		e = x->url ? ENOMEM : EINVAL;
		goto fail;
	}
	x->o.endpoint = NULL;
	x->o.version = NULL;
	cgs_buf_init(&x->body);
	cgs_buf_init(&x->resp);
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	x->curl_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	x->sched_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (x->epfd < 0 || x->curl_tfd < 0 || x->sched_tfd < 0) {
		e = errno;
		goto fail;
	}
	ev.data.u64 = TAG_CURL_TIMER;
	epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->curl_tfd, &ev);
	ev.data.u64 = TAG_SCHED;
	epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->sched_tfd, &ev);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto fail;
	x->curl_inited = true;
	x->multi = curl_multi_init();
	x->easy = curl_easy_init();
	if (!x->multi || !x->easy)
		goto fail;
	curl_multi_setopt(x->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(x->multi, CURLMOPT_SOCKETDATA, x);
	curl_multi_setopt(x->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(x->multi, CURLMOPT_TIMERDATA, x);
	x->hdrs = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
	if (x->hdrs && o->gzip)
		x->hdrs = curl_slist_append(x->hdrs, "Content-Encoding: gzip");
	/* No "Expect: 100-continue" round trip for large batches. */
	if (x->hdrs)
		x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	if (!x->hdrs)
		goto fail;
	snprintf(ua, sizeof(ua), "cgsight/%s", x->version);
	curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)x->o.timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)x->o.timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	return x;
fail:
	cgs_otlp_free(x, 0);
	errno = e;
	return NULL;
}

size_t cgs_otlp_free(struct cgs_otlp *x, uint64_t wait_ms)
{
	size_t lost;

	if (!x)
		return 0;
	if (wait_ms && x->multi && x->easy) {
		uint64_t end = mono_ns() + wait_ms * 1000000ull;

		/* Flush: send what is queued now; a batch waiting for its retry goes at once. */
		while (x->busy || x->qlen) {
			uint64_t now = mono_ns();

			if (now >= end)
				break;
			if (x->busy && !x->in_curl)
				start_request(x);
			else if (!x->busy)
				maybe_send(x, now, true);
			if (x->busy && !x->in_curl)
				break; /* could not start */
			if (run(x, (int)((end - now) / 1000000ull) + 1) < 0)
				break;
		}
	}
	if (x->in_curl)
		curl_multi_remove_handle(x->multi, x->easy);
	lost = x->qlen + (x->busy ? x->batch_n : 0);
	if (lost && x->url)
		cgs_log_warn(LOG_COMP, "shutdown: %zu spans not exported to %s (dropped)", lost, x->url);
	while (x->head) {
		struct chunk *c = x->head;

		x->head = c->next;
		chunk_free(c);
	}
	chunk_free(x->spare);
	curl_easy_cleanup(x->easy);
	curl_multi_cleanup(x->multi);
	curl_slist_free_all(x->hdrs);
	if (x->curl_inited)
		curl_global_cleanup();
	cgs_buf_free(&x->body);
	cgs_buf_free(&x->resp);
	cgs_otlp_ws_free(&x->ws);
	if (x->epfd >= 0)
		close(x->epfd);
	if (x->curl_tfd >= 0)
		close(x->curl_tfd);
	if (x->sched_tfd >= 0)
		close(x->sched_tfd);
	free(x->url);
	free(x->version);
	free(x);
	return lost;
}

int cgs_otlp_fd(const struct cgs_otlp *x)
{
	return x->epfd;
}

int cgs_otlp_submit(struct cgs_otlp *x, struct cgs_span *s)
{
	struct cgs_otlp_qspan *q;
	struct chunk *c;
	size_t off;

	if (x->qlen + x->batch_n >= x->o.queue_max) {
		x->st.dropped_queue++;
		cgs_span_free(s);
		return -ENOSPC;
	}
	c = x->tail;
	if (!c || c->n == x->o.batch_max) {
		c = x->spare ? x->spare : chunk_new(x->o.batch_max);
		if (!c)
			goto fail;
		if (c == x->spare)
			x->spare = NULL;
		if (x->tail)
			x->tail->next = c;
		else
			x->head = c;
		x->tail = c;
	}
	off = c->bytes.len;
	if (cgs_otlp_span_encode(s, &c->bytes) < 0) {
		c->bytes.len = off;
		c->bytes.err = 0;
		goto fail;
	}
	q = &c->v[c->n++];
	q->res = s->res; /* the span's reference, now the queue's */
	s->res = NULL;
	q->off = off;
	q->len = c->bytes.len - off;
	cgs_span_free(s);
	if (x->qlen++ == 0)
		x->oldest_ns = mono_ns();
	if (!x->busy && x->head->n >= x->o.batch_max)
		send_batch(x);
	else if (x->qlen == 1)
		rearm(x);
	return 0;
fail:
	x->st.dropped_failed++;
	cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot queue a span: out of memory; dropped");
	cgs_span_free(s);
	return -ENOMEM;
}

void cgs_otlp_stats(const struct cgs_otlp *x, struct cgs_otlp_stats *st)
{
	*st = x->st;
	st->queued = x->qlen + x->batch_n;
}

const char *cgs_otlp_url(const struct cgs_otlp *x)
{
	return x->url;
}
