/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Spans and their OTLP/HTTP export. A span is one heap block (struct and
 * strings) owned by whoever holds it: the collector builds it, hands it to
 * the exporter with cgs_otlp_submit, and the exporter frees it once encoded.
 * Resources (one per container) are reference counted and shared by the
 * spans of that container; the encoder groups spans by resource into one
 * ResourceSpans each.
 *
 * The encoder (otlp_encode.c) is pure: spans in, protobuf bytes out. The
 * exporter (otlp.c) batches by size and time, POSTs through the curl multi
 * interface driven by its own epoll fd (for the agent's event loop), and
 * retries on 429/502/503/504 and transport errors with backoff. Single
 * threaded: every call comes from the event loop.
 */
#ifndef CGS_OTLP_H
#define CGS_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../agent/buf.h"

/* OTLP Span.SpanKind and Status.StatusCode values. */
#define CGS_SPAN_KIND_SERVER 2
#define CGS_SPAN_KIND_CLIENT 3
#define CGS_SPAN_STATUS_UNSET 0
#define CGS_SPAN_STATUS_OK    1
#define CGS_SPAN_STATUS_ERROR 2

#define CGS_SPAN_MAX_ATTRS 24
#define CGS_RESOURCE_MAX_ATTRS 10

enum cgs_attr_type {
	CGS_ATTR_STR = 1,
	CGS_ATTR_INT,
};

struct cgs_attr {
	const char *key;   /* static storage (semantic-convention names) or owned by the holder */
	enum cgs_attr_type type;
	const char *s;     /* CGS_ATTR_STR: NUL-terminated, owned by the span/resource */
	int64_t i;         /* CGS_ATTR_INT */
};

struct cgs_resource {
	unsigned refs;     /* atomic: spans on one thread, the collector's cache on another */
	size_t nattrs;
	struct cgs_attr attrs[CGS_RESOURCE_MAX_ATTRS];
	char *strs;        /* owns every value string */
};

struct cgs_span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];
	bool has_parent;
	uint8_t kind;      /* CGS_SPAN_KIND_* */
	uint8_t status;    /* CGS_SPAN_STATUS_* */
	uint32_t flags;    /* W3C trace flags (low 8 bits) */
	uint64_t start_ns, end_ns; /* Unix time, nanoseconds */
	const char *name;
	const char *status_message; /* NULL: none */
	const char *trace_state;    /* NULL: none */
	size_t nattrs;
	struct cgs_attr attrs[CGS_SPAN_MAX_ATTRS];
	struct cgs_resource *res;   /* a reference, released with the span */
	struct cgs_span *next;      /* the exporter's queue link */
	size_t str_len, str_cap;
	char strs[];                /* name and attribute values */
};

/*
 * Resources. `kv` holds npairs (key, value) pairs; keys must have static
 * storage, values are copied; empty values are left out. NULL with errno.
 * Immutable once built; references may be taken and dropped on any thread.
 */
struct cgs_resource *cgs_resource_new(const char *const *kv, size_t npairs);
struct cgs_resource *cgs_resource_ref(struct cgs_resource *r);
void cgs_resource_unref(struct cgs_resource *r);
/* The value of attribute `key`, or NULL. */
const char *cgs_resource_get(const struct cgs_resource *r, const char *key);

/* A span with room for `str_cap` bytes of strings. NULL with errno. */
struct cgs_span *cgs_span_new(size_t str_cap);
void cgs_span_free(struct cgs_span *s);
/* Copies `n` bytes of `p` into the span's strings (NUL added); NULL when out of room. */
const char *cgs_span_strdup(struct cgs_span *s, const char *p, size_t n);
/* Appends attributes: 0, or -ENOSPC (too many attributes or no room for the value). */
int cgs_span_attr_str(struct cgs_span *s, const char *key, const char *p, size_t n);
int cgs_span_attr_int(struct cgs_span *s, const char *key, int64_t v);
const struct cgs_attr *cgs_span_attr(const struct cgs_span *s, const char *key);

/* ---- encoder (pure) -------------------------------------------------------- */

/* The encoder's workspace: kept by the caller across calls so batches allocate nothing once warm. */
struct cgs_otlp_ws {
	struct cgs_buf idx, res, bytes, spans;
};
void cgs_otlp_ws_free(struct cgs_otlp_ws *ws);

/*
 * Encodes `n` spans as an ExportTraceServiceRequest, one ResourceSpans per
 * distinct resource (in order of first appearance) with one ScopeSpans
 * (scope name "cgsight", version `version`); spans keep their order within
 * a resource. Appends the bytes to `out`. `ws` may be NULL (a temporary
 * one) or zero-initialised. 0, -ENOMEM, -EINVAL (n == 0).
 */
int cgs_otlp_encode(struct cgs_span *const *spans, size_t n, const char *version, struct cgs_otlp_ws *ws,
		    struct cgs_buf *out);
/* Appends one Span message (its fields, no tag or length) to `b`. 0 or -ENOMEM. */
int cgs_otlp_span_encode(const struct cgs_span *s, struct cgs_buf *b);

/* A span already encoded: its resource and where its Span bytes lie in a buffer. */
struct cgs_otlp_qspan {
	struct cgs_resource *res;
	size_t off, len;
};
/*
 * What cgs_otlp_encode does, for spans already encoded: `n` Span messages at
 * `bytes` + v[i].off, framed into an ExportTraceServiceRequest grouped by
 * resource (in order of first appearance), appended to `out`. `ws` is
 * required (zero-initialised, or kept warm across calls).
 */
int cgs_otlp_frame(const struct cgs_otlp_qspan *v, size_t n, const char *bytes, const char *version,
		   struct cgs_otlp_ws *ws, struct cgs_buf *out);
/* Gzip (RFC 1952) of `len` bytes into `out`. 0 or -ENOMEM/-EIO. */
int cgs_otlp_gzip(const void *p, size_t len, struct cgs_buf *out);
/*
 * Decodes an ExportTraceServiceResponse body: rejected spans from its
 * partial_success (0 when none). 0, or -EBADMSG.
 */
int cgs_otlp_decode_response(const void *p, size_t len, int64_t *rejected);

/* ---- exporter ---------------------------------------------------------------- */

struct cgs_otlp_opts {
	const char *endpoint;     /* "http://host:port" (POSTs to /v1/traces) or a full URL with a path */
	bool gzip;
	uint64_t timeout_ms;      /* per request */
	size_t batch_max;         /* spans per request */
	uint64_t flush_ms;        /* longest a span waits for a batch to fill */
	size_t queue_max;         /* spans held (queued + in flight); more are dropped */
	unsigned max_retries;     /* per batch */
	uint64_t backoff_ms;      /* first retry delay; doubles up to 32x; Retry-After wins */
	const char *version;      /* scope version */
};

struct cgs_otlp_stats {
	uint64_t exported;        /* spans the endpoint accepted */
	uint64_t rejected;        /* spans the endpoint reported rejected (partial success) */
	uint64_t dropped_queue;   /* spans dropped because the queue was full */
	uint64_t dropped_failed;  /* spans dropped after a permanent error or the last retry */
	uint64_t requests_ok, requests_failed, retries;
	size_t queued;            /* spans waiting (queue + in flight) */
	uint64_t bytes_sent;
};

struct cgs_otlp;

/* NULL with errno (EINVAL: the endpoint is not http(s)://...). */
struct cgs_otlp *cgs_otlp_new(const struct cgs_otlp_opts *o);
/*
 * Final flush bounded by `wait_ms` (0: none), then frees everything. NULL is
 * a no-op. Returns the spans that were not exported (queued, or in a request
 * not answered in time), which it also logs: the process is going away, so
 * no counter would ever show them.
 */
size_t cgs_otlp_free(struct cgs_otlp *x, uint64_t wait_ms);
/* An epoll fd for the event loop (its timers and curl's sockets). */
int cgs_otlp_fd(const struct cgs_otlp *x);
/* Handles whatever is ready on the fd and any due timer. 0 or -errno. */
int cgs_otlp_poll(struct cgs_otlp *x);
/* Queues a span (ownership passes). 0, or -ENOSPC when the queue is full (span freed, counted). */
int cgs_otlp_submit(struct cgs_otlp *x, struct cgs_span *s);
void cgs_otlp_stats(const struct cgs_otlp *x, struct cgs_otlp_stats *st);
/* The URL requests go to. */
const char *cgs_otlp_url(const struct cgs_otlp *x);

#endif
