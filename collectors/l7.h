/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The request-span collector's internal interfaces, one section per file:
 *   l7_http.c      HTTP/1.x message-head parser (pure)
 *   l7_tracectx.c  W3C traceparent and Jaeger uber-trace-id parsing, ids
 *   l7_redact.c    which headers and query values never leave the agent
 *   l7_sample.c    head sampling, always-keep rules, the span budget
 *   l7_span.c      spans from requests and responses (attributes, status)
 *   l7_tracker.c   capture records -> connections -> request/response pairs
 *   l7.c           the collector: BPF program, ring buffer, exporter, metrics
 * Everything below l7.c runs without BPF, so the unit tests drive it with
 * synthetic records. Single threaded: the agent's event loop.
 */
#ifndef CGS_COLLECTORS_L7_H
#define CGS_COLLECTORS_L7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "../bpf/l7.h"
#include "../exporters/otlp.h"

/* ---- l7_http.c: HTTP/1.x heads ------------------------------------------------ */

enum cgs_http_method {
	CGS_HTTP_M_OTHER = 0,
	CGS_HTTP_M_GET,
	CGS_HTTP_M_HEAD,
	CGS_HTTP_M_POST,
	CGS_HTTP_M_PUT,
	CGS_HTTP_M_DELETE,
	CGS_HTTP_M_CONNECT,
	CGS_HTTP_M_OPTIONS,
	CGS_HTTP_M_TRACE,
	CGS_HTTP_M_PATCH,
	CGS_HTTP_M__COUNT
};

/* "_OTHER", "GET", ... (semantic-convention values of http.request.method). */
extern const char *const cgs_http_method_names[CGS_HTTP_M__COUNT];

#define CGS_HTTP_REQUEST  1
#define CGS_HTTP_RESPONSE 2
#define CGS_HTTP_MAX_HEADERS 48
/* A start line longer than this is not HTTP we trace. */
#define CGS_HTTP_LINE_MAX 8192

struct cgs_http_str {
	const char *p;
	size_t n;
};

struct cgs_http_head {
	int kind;                     /* CGS_HTTP_REQUEST or CGS_HTTP_RESPONSE */
	int minor;                    /* HTTP/1.<minor> */
	/* request */
	int method;                   /* enum cgs_http_method */
	struct cgs_http_str method_tok, target, path, query;
	/* response */
	int status;
	/* headers seen (all of them when `complete`) */
	bool complete;                /* the blank line ending the head was seen */
	size_t head_len;              /* bytes through the blank line, when complete */
	int64_t content_length;       /* -1 when absent or invalid */
	bool chunked;
	bool conn_close;
	size_t nhdr;
	struct {
		struct cgs_http_str name, value;
	} hdr[CGS_HTTP_MAX_HEADERS];
	size_t hdr_dropped;           /* header lines beyond CGS_HTTP_MAX_HEADERS or malformed */
};

/*
 * Parses the head of one HTTP/1.x message at the start of p[0..n).
 * Returns 1 when the start line is valid (`h` filled; h->complete tells
 * whether every header was seen), 0 when the start line is not complete
 * yet but what there is may start one, -EBADMSG when the bytes are not an
 * HTTP/1.x message start. Never reads outside p[0..n); `h` points into p.
 */
int cgs_http_parse(const char *p, size_t n, struct cgs_http_head *h);
/* The first header named `name` (case-insensitive), or NULL. */
const struct cgs_http_str *cgs_http_header(const struct cgs_http_head *h, const char *name);
/* Whether p[0..n) may start a message (a known method and a space, or "HTTP/1."). */
bool cgs_http_starts_message(const char *p, size_t n);
/*
 * Length of the body after a complete head: >= 0 bytes, -1 when it runs
 * until the connection closes, -2 when chunked. For a response,
 * `req_method` is the method of the request it answers (HEAD: no body).
 */
int64_t cgs_http_body_len(const struct cgs_http_head *h, int req_method);
/* Bytes of a chunked body (through the last chunk and trailers) found in p[0..n), or -1. */
ssize_t cgs_http_chunked_len(const char *p, size_t n);
/* Whether the token p[0..n) equals the NUL-terminated `name`, ignoring ASCII case. */
bool cgs_http_token_eq(const char *p, size_t n, const char *name);

/* ---- l7_tracectx.c: trace context ----------------------------------------------- */

struct cgs_trace_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];  /* the caller's span: our span's parent */
	uint8_t flags;       /* W3C trace flags (bit 0: sampled) */
};

/* W3C Trace Context `traceparent` value. 0 or -EINVAL (the header is then ignored). */
int cgs_tracectx_parse_traceparent(const char *p, size_t n, struct cgs_trace_ctx *c);
/* Jaeger/OpenTracing `uber-trace-id` value ("trace:span:parent:flags", ':' may be %3A). 0 or -EINVAL. */
int cgs_tracectx_parse_uber(const char *p, size_t n, struct cgs_trace_ctx *c);

/* xoshiro256** for span and trace ids, seeded from getrandom(2). */
struct cgs_l7_rng {
	uint64_t s[4];
};
void cgs_l7_rng_seed(struct cgs_l7_rng *r, uint64_t seed /* 0: from getrandom */);
uint64_t cgs_l7_rng_next(struct cgs_l7_rng *r);
/* Fills an id (never all zero). */
void cgs_l7_rng_id(struct cgs_l7_rng *r, uint8_t *id, size_t n);

/* ---- l7_redact.c: redaction ---------------------------------------------------- */

struct cgs_l7_redact;

/*
 * Comma-separated lists (case-insensitive, spaces ignored): header names
 * redacted on top of Authorization, Proxy-Authorization, Cookie and
 * Set-Cookie; query keys whose values are replaced; header names exported
 * as http.request.header.<name> / http.response.header.<name>. NULL with
 * errno (EINVAL: a list entry is not a token).
 */
struct cgs_l7_redact *cgs_l7_redact_new(const char *headers, const char *query_keys, const char *capture);
void cgs_l7_redact_free(struct cgs_l7_redact *r);
bool cgs_l7_redact_header(const struct cgs_l7_redact *r, const char *name, size_t n);
/* Whether header `name` is to be exported (listed for capture and not redacted). */
bool cgs_l7_capture_header(const struct cgs_l7_redact *r, const char *name, size_t n);
/* Whether any header is to be captured at all. */
bool cgs_l7_capture_any(const struct cgs_l7_redact *r);
#define CGS_L7_REDACTED "REDACTED"
/*
 * Writes the query q[0..n) with the values of the configured keys replaced
 * by CGS_L7_REDACTED into out (NUL-terminated, truncated to cap - 1).
 * Returns the length written.
 */
size_t cgs_l7_redact_query(const struct cgs_l7_redact *r, const char *q, size_t n, char *out, size_t cap);

/* ---- l7_sample.c: sampling ------------------------------------------------------ */

struct cgs_l7_sampler {
	uint32_t ratio_ppm;   /* head sampling: kept per million traces */
	uint64_t slow_ns;     /* at least this long: always kept (0: off) */
	uint64_t budget;      /* spans per second (0: unlimited) */
	double tokens;
	uint64_t last_ns;
};

enum {
	CGS_L7_KEEP = 0,
	CGS_L7_SAMPLED_OUT,
	CGS_L7_OVER_BUDGET,
};

void cgs_l7_sampler_init(struct cgs_l7_sampler *s, unsigned percent, uint64_t slow_ns, uint64_t budget_per_s);
/*
 * The decision for a finished span: errors and slow spans skip the ratio,
 * every kept span takes a budget token. The ratio is decided on the trace
 * id, so every span of a trace gets the same answer.
 */
int cgs_l7_sampler_decide(struct cgs_l7_sampler *s, const uint8_t trace_id[16], bool error,
			  uint64_t duration_ns, uint64_t now_ns);

/* ---- l7_span.c: spans ----------------------------------------------------------- */

#define CGS_L7_ROLE_SERVER 1 /* the container received the request */
#define CGS_L7_ROLE_CLIENT 2 /* the container sent it */

#define CGS_L7_ADDR_STR 46 /* INET6_ADDRSTRLEN */

/* What a span knows of its connection. */
struct cgs_l7_peer {
	uint16_t family;           /* AF_INET or AF_INET6 (v4-mapped addresses folded to AF_INET) */
	uint16_t lport, rport;
	uint8_t laddr[16], raddr[16];
	char lname[CGS_L7_ADDR_STR], rname[CGS_L7_ADDR_STR]; /* the addresses as text */
};

/* The request headers spans and trace context use, found in one pass (NULL: absent). */
struct cgs_l7_req_hdrs {
	const struct cgs_http_str *host, *user_agent, *traceparent, *tracestate, *uber;
};
void cgs_l7_req_hdrs(const struct cgs_http_head *h, struct cgs_l7_req_hdrs *out);

/*
 * The request half of a span: name, request attributes (redacted). The
 * caller sets the ids. `res` is a reference the span takes over (may be
 * NULL). NULL with errno.
 */
struct cgs_span *cgs_l7_span_request(const struct cgs_http_head *h, const struct cgs_l7_req_hdrs *hd, int role,
				     const struct cgs_l7_peer *peer, const struct cgs_l7_redact *red,
				     struct cgs_resource *res);
/* Adds container.id and k8s.* from the span's resource (done by cgs_l7_span_request when it has one). */
void cgs_l7_span_container_attrs(struct cgs_span *s);
/* The response half: status code and status, response headers to capture, end time. */
void cgs_l7_span_response(struct cgs_span *s, const struct cgs_http_head *h, int role,
			  const struct cgs_l7_redact *red);
/* Formats an address of `family` for attributes. */
void cgs_l7_addr_str(uint16_t family, const uint8_t *addr, char *out, size_t cap);

/* ---- l7_tracker.c: records -> requests -> spans ------------------------------- */

struct cgs_l7_sink {
	void *arg;
	/* A new reference to the resource of the container in `slot` (of `cgroup_id`), or NULL (not known yet). */
	struct cgs_resource *(*resource)(void *arg, int slot, uint64_t cgroup_id);
	/* A kept span; ownership passes. */
	void (*span)(void *arg, struct cgs_span *s);
	/* Every answered request (sampled or not), for the RED metrics. */
	void (*request)(void *arg, int slot, uint64_t cgroup_id, int role, int method, int status,
			uint64_t duration_ns);
};

struct cgs_l7_tracker_opts {
	unsigned sample_percent;
	uint64_t slow_ns;
	uint64_t budget_per_s;
	size_t max_conns;
	bool spans;                         /* build spans (false: the RED metrics only) */
	const struct cgs_l7_redact *redact; /* required; not owned */
	uint64_t seed;                      /* 0: random ids from getrandom */
};

struct cgs_l7_tracker_stats {
	uint64_t records;            /* data and close records handled */
	uint64_t requests;           /* request heads seen */
	uint64_t responses;          /* response heads seen (1xx excluded) */
	uint64_t kept;               /* spans handed to the sink */
	uint64_t sampled_out;        /* not kept by the head-sampling ratio */
	uint64_t over_budget;        /* not kept: the per-second budget was spent */
	uint64_t unmatched;          /* responses without a pending request */
	uint64_t unanswered;         /* requests never answered (closed, evicted, too many pipelined) */
	uint64_t unparsed;           /* message starts that were not HTTP after all */
	uint64_t evicted;            /* connections dropped because the table was full */
	uint64_t linked;             /* server spans joined to a node-local client span */
	size_t conns;
};

struct cgs_l7_tracker;

struct cgs_l7_tracker *cgs_l7_tracker_new(const struct cgs_l7_tracker_opts *o, const struct cgs_l7_sink *sink);
void cgs_l7_tracker_free(struct cgs_l7_tracker *t);
/*
 * One capture record (`e` followed by e->cap_len bytes). `mono_to_unix`
 * converts the record's CLOCK_MONOTONIC stamps to Unix nanoseconds.
 */
void cgs_l7_tracker_record(struct cgs_l7_tracker *t, const struct cgs_l7_event *e, const char *data,
			   int64_t mono_to_unix);
/* Housekeeping: heads waiting for a continuation that will not come, idle connections. */
void cgs_l7_tracker_tick(struct cgs_l7_tracker *t, uint64_t now_mono_ns, int64_t mono_to_unix);
void cgs_l7_tracker_stats(const struct cgs_l7_tracker *t, struct cgs_l7_tracker_stats *st);

#endif
