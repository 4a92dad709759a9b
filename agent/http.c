/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP endpoint on libmicrohttpd. Each response holds a reference to the
 * snapshot it was built from and releases it when libmicrohttpd frees the
 * response, so a slow scraper never blocks the collector. /metrics is the
 * snapshot's cached exposition followed by per-request self metrics; with
 * gzip, the two parts are two gzip members (RFC 1952 allows concatenation).
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../exporters/prometheus.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "store.h"

#define LOG_COMP "http"

struct cgs_http {
	struct MHD_Daemon *d;
	struct cgs_store *store;
	uint64_t stale_ms;
	uint16_t port;
	char *token;                /* NULL: no authentication */
	uint64_t scrapes;           /* atomic */
	uint64_t unauthorized;      /* atomic */
	uint64_t last_scrape_ns;    /* atomic */
};

/* A response body made of two parts: the snapshot's bytes and a small owned tail. */
struct body {
	struct cgs_snapshot *snap;
	const char *a;
	size_t alen;
	char *b;
	size_t blen;
};

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct body *bd = cls;
	size_t p = (size_t)pos, n = 0;

	if (p < bd->alen) {
		n = bd->alen - p < max ? bd->alen - p : max;
		memcpy(buf, bd->a + p, n);
		return (ssize_t)n;
	}
	p -= bd->alen;
	if (p < bd->blen) {
		n = bd->blen - p < max ? bd->blen - p : max;
		memcpy(buf, bd->b + p, n);
		return (ssize_t)n;
	}
	return MHD_CONTENT_READER_END_OF_STREAM;
}

static void body_free(void *cls)
{
	struct body *bd = cls;

	cgs_snapshot_release(bd->snap);
	free(bd->b);
	free(bd);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cgs_http_accepts_gzip(const char *ae)
{
	const char *p = ae;

	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *tok = p;

		while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		size_t tl = (size_t)(p - tok);
		int is_gzip = (tl == 4 && strncasecmp(tok, "gzip", 4) == 0) || (tl == 1 && *tok == '*');
		double q = 1.0;

		while (*p && *p != ',') {
			if (*p == ';') {
				p++;
				while (*p == ' ')
					p++;
				if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
					q = strtod(p + 2, NULL);
			} else {
				p++;
			}
		}
		if (is_gzip && q > 0)
			return 1;
	}
	return 0;
}

static enum MHD_Result send_simple(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_body(struct MHD_Connection *conn, struct body *bd, const char *ctype,
				 int gz)
{
	struct MHD_Response *r = MHD_create_response_from_callback(bd->alen + bd->blen, 64 * 1024, body_read,
								  bd, body_free);
	enum MHD_Result ret;

	if (!r) {
		body_free(bd);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	if (gz)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	MHD_add_response_header(r, "Vary", "Accept-Encoding");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_metrics(struct cgs_http *h, struct MHD_Connection *conn,
				     struct cgs_snapshot *snap, int gz)
{
	uint64_t t0 = mono_ns();
	struct body *bd = calloc(1, sizeof(*bd));
	struct cgs_samples self;
	struct cgs_buf tail;
	int e = 0;

	if (!bd) {
		cgs_snapshot_release(snap);
		return send_simple(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	bd->snap = snap;
	cgs_samples_init(&self, 0);
	cgs_samples_add(&self, CGS_M_AGENT_SCRAPES,
			(double)__atomic_add_fetch(&h->scrapes, 1, __ATOMIC_RELAXED));
	cgs_samples_add(&self, CGS_M_AGENT_SCRAPE_DURATION,
			(double)__atomic_load_n(&h->last_scrape_ns, __ATOMIC_RELAXED) / 1e9);
	cgs_buf_init(&tail);
	cgs_prom_render_agent(&self, &tail);
	cgs_samples_free(&self);
	bd->b = cgs_buf_steal(&tail, &bd->blen);
	if (!bd->b)
		e = -ENOMEM;
	if (!e && gz) {
		char *z = NULL;
		size_t zl = 0;

		e = cgs_snapshot_gzip(snap, &bd->a, &bd->alen);
		if (!e)
			e = cgs_gzip(bd->b, bd->blen, 1, &z, &zl);
		if (!e) {
			free(bd->b);
			bd->b = z;
			bd->blen = zl;
		}
	} else if (!e) {
		bd->a = snap->text;
		bd->alen = snap->text_len;
	}
	if (e) {
		body_free(bd);
		return send_simple(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot encode metrics\n");
	}
	enum MHD_Result ret = send_body(conn, bd, CGS_PROM_CONTENT_TYPE, gz);

	__atomic_store_n(&h->last_scrape_ns, mono_ns() - t0, __ATOMIC_RELAXED);
	return ret;
}

static enum MHD_Result serve_api(struct MHD_Connection *conn, struct cgs_snapshot *snap)
{
	struct body *bd = calloc(1, sizeof(*bd));

	if (!bd || cgs_snapshot_json(snap, &bd->a, &bd->alen) < 0) {
		free(bd);
		cgs_snapshot_release(snap);
		return send_simple(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot encode containers\n");
	}
	bd->snap = snap;
	return send_body(conn, bd, "application/json", 0);
}

/* Compares in time independent of where the strings differ. */
static int token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return d == 0;
}

static int authorized(const char *v, const char *token)
{
	if (!v || strncasecmp(v, "Bearer ", 7) != 0)
		return 0;
	v += 7;
	while (*v == ' ')
		v++;
	return token_equal(v, token);
}

void cgs_http_decide(const struct cgs_http_request *rq, const char *token, struct cgs_http_decision *d)
{
	static const struct {
		const char *path;
		enum cgs_http_route route;
	} paths[] = {
		{ "/", CGS_HTTP_ROUTE_INDEX },
		{ "/healthz", CGS_HTTP_ROUTE_HEALTHZ },
		{ "/metrics", CGS_HTTP_ROUTE_METRICS },
		{ "/api/v1/containers", CGS_HTTP_ROUTE_API },
	};
	const char *path = rq->path ? rq->path : "";

	memset(d, 0, sizeof(*d));
	if (!rq->method || (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)) {
		d->route = CGS_HTTP_ROUTE_BAD_METHOD;
		d->status = 405;
		return;
	}
	d->route = CGS_HTTP_ROUTE_NOT_FOUND;
	d->status = 404;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!strcmp(path, paths[i].path)) {
			d->route = paths[i].route;
			d->status = 200;
		}
	/* Unknown paths too: without the token a client learns nothing, not even what exists. */
	if (token && d->route != CGS_HTTP_ROUTE_HEALTHZ && !authorized(rq->authorization, token)) {
		d->route = CGS_HTTP_ROUTE_UNAUTHORIZED;
		d->status = 401;
		return;
	}
	d->gzip = d->route == CGS_HTTP_ROUTE_METRICS && rq->accept_encoding &&
		  cgs_http_accepts_gzip(rq->accept_encoding);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **req_cls)
{
	struct cgs_http *h = cls;
	struct cgs_snapshot *snap;
	struct cgs_http_decision d;
	struct cgs_http_request rq = {
		.method = method,
		.path = url,
		.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
		.accept_encoding = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding"),
	};
	(void)version;
	(void)upload_data;

	cgs_http_decide(&rq, h->token, &d);
	if (d.route == CGS_HTTP_ROUTE_BAD_METHOD) {
		/* Refuse bodies without reading them. */
		if (*upload_data_size)
			*upload_data_size = 0;
		struct MHD_Response *r = MHD_create_response_from_buffer(
			19, (void *)(uintptr_t)"method not allowed\n", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Allow", "GET, HEAD");
		enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (!*req_cls) {
		/* First call for this request: headers only. */
		*req_cls = h;
		return MHD_YES;
	}
	switch (d.route) {
	case CGS_HTTP_ROUTE_UNAUTHORIZED: {
		struct MHD_Response *r = MHD_create_response_from_buffer(
			13, (void *)(uintptr_t)"unauthorized\n", MHD_RESPMEM_PERSISTENT);

		__atomic_add_fetch(&h->unauthorized, 1, __ATOMIC_RELAXED);
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "request for %s without a valid bearer token", url);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"cgsight\"");
		enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_UNAUTHORIZED, r);

		MHD_destroy_response(r);
		return ret;
	}
	case CGS_HTTP_ROUTE_HEALTHZ: {
		struct timespec ts;
		double age;

		snap = cgs_store_acquire(h->store);
		clock_gettime(CLOCK_REALTIME, &ts);
		age = snap ? (double)ts.tv_sec - snap->taken : 1e9;
		cgs_snapshot_release(snap);
		if (age * 1000.0 > (double)h->stale_ms)
			return send_simple(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "stale: no collection recently\n");
		return send_simple(conn, MHD_HTTP_OK, "ok\n");
	}
	case CGS_HTTP_ROUTE_METRICS:
	case CGS_HTTP_ROUTE_API:
		snap = cgs_store_acquire(h->store);
		if (!snap)
			return send_simple(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "starting: no snapshot yet\n");
		return d.route == CGS_HTTP_ROUTE_METRICS ? serve_metrics(h, conn, snap, d.gzip) : serve_api(conn, snap);
	case CGS_HTTP_ROUTE_INDEX:
		return send_simple(conn, MHD_HTTP_OK, "cgsight agent: /metrics /healthz /api/v1/containers\n");
	default:
		return send_simple(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;
	(void)cls;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "%s", msg);
}

struct cgs_http *cgs_http_start(const struct cgs_http_opts *opts, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct cgs_http *h;
	char host[256];
	uint16_t port;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (cgs_config_listen_split(opts->listen, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen, "listen: bad address '%s'", opts->listen);
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	if (!host[0]) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons(port);
		flags |= MHD_USE_DUAL_STACK;
	} else if (strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
			snprintf(err, errlen, "listen: '%s' is not an IPv6 address", host);
			return NULL;
		}
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (!strcmp(host, "localhost"))
			snprintf(host, sizeof(host), "127.0.0.1");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
			snprintf(err, errlen, "listen: '%s' is not an IPv4 address", host);
			return NULL;
		}
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->store = opts->store;
	h->stale_ms = opts->stale_ms;
	if (opts->token && !(h->token = strdup(opts->token))) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (opts->tls_cert) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			snprintf(err, errlen, "TLS requested but this libmicrohttpd has no TLS support");
			free(h->token);
			free(h);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	/*
	 * Bounds: 64 connections, 16 per client address, 10 s of inactivity
	 * (a slow-header client is cut off), 32 KiB per connection for the
	 * request (larger headers are refused with 431).
	 */
	struct MHD_OptionItem tls[] = {
		{ opts->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)(uintptr_t)opts->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)opts->tls_key },
		{ MHD_OPTION_END, 0, NULL },
	};
	h->d = MHD_start_daemon(flags, port, NULL, NULL, handler, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
				NULL, MHD_OPTION_SOCK_ADDR, &ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)16,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
				MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot listen on %s: %s%s", opts->listen, strerror(errno ? errno : EADDRINUSE),
			 opts->tls_cert ? " (or the TLS certificate/key is not valid PEM)" : "");
		free(h->token);
		free(h);
		return NULL;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);

	h->port = di ? di->port : port;
	return h;
}

void cgs_http_stop(struct cgs_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h->token);
	free(h);
}

uint16_t cgs_http_port(const struct cgs_http *h)
{
	return h->port;
}
