/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP endpoint (libmicrohttpd, its own threads): /metrics, /healthz and
 * /api/v1/containers, each answered from the store's current snapshot.
 */
#ifndef CGS_HTTP_H
#define CGS_HTTP_H

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

#endif
