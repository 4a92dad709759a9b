/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP endpoint (libmicrohttpd, its own threads): /metrics, /healthz and
 * /api/v1/containers, each answered from the store's current snapshot.
 */
#ifndef CGS_HTTP_H
#define CGS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cgs_store;
struct cgs_http;

struct cgs_http_opts {
	const char *listen;       /* validated "ADDR:PORT" */
	struct cgs_store *store;
	uint64_t stale_ms;        /* /healthz fails when the snapshot is older than this */
	const char *token;        /* bearer token required on /metrics and /api, or NULL */
	const char *tls_cert;     /* PEM, or NULL for plain HTTP */
	const char *tls_key;      /* PEM */
};

/* Starts serving. NULL with a message in err. */
struct cgs_http *cgs_http_start(const struct cgs_http_opts *opts, char *err, size_t errlen);
void cgs_http_stop(struct cgs_http *h);
/* The port actually bound (useful with port 0). */
uint16_t cgs_http_port(const struct cgs_http *h);

/* Whether an Accept-Encoding header value accepts gzip (q > 0). */
int cgs_http_accepts_gzip(const char *accept_encoding);

/* What a request asks for, as the endpoint decides it (before any snapshot is looked at). */
enum cgs_http_route {
	CGS_HTTP_ROUTE_INDEX,        /* "/": 200, the list of paths */
	CGS_HTTP_ROUTE_HEALTHZ,      /* 200, or 503 when the snapshot is stale */
	CGS_HTTP_ROUTE_METRICS,      /* 200, or 503 before the first snapshot */
	CGS_HTTP_ROUTE_API,          /* likewise */
	CGS_HTTP_ROUTE_NOT_FOUND,    /* 404 */
	CGS_HTTP_ROUTE_BAD_METHOD,   /* 405 with Allow: GET, HEAD; any body is not read */
	CGS_HTTP_ROUTE_UNAUTHORIZED, /* 401 with WWW-Authenticate */
	CGS_HTTP_ROUTE__COUNT,
};

/* The parts of a request the decision reads; absent headers are NULL. */
struct cgs_http_request {
	const char *method;
	const char *path;            /* without the query string */
	const char *authorization;
	const char *accept_encoding;
};

struct cgs_http_decision {
	enum cgs_http_route route;
	unsigned status;             /* the status when the snapshot allows it (see the routes) */
	bool gzip;                   /* METRICS: the body is sent gzip-compressed */
};

/*
 * The request -> response decision, a pure function (fuzzed): only GET and
 * HEAD are served; with a `token` (NULL: none) every path but /healthz
 * needs "Authorization: Bearer <token>" (scheme case-insensitive, the token
 * compared in constant time); then the path is looked up exactly.
 */
void cgs_http_decide(const struct cgs_http_request *rq, const char *token, struct cgs_http_decision *d);

#endif
