/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Spans from HTTP heads, with OpenTelemetry semantic-convention attribute
 * names (HTTP spans, stable conventions): the request half when the request
 * head is seen, the response half when its response is. Values are bounded
 * in length; redaction (l7_redact.c) decides which header values and query
 * values may appear at all. Container identity rides on the span's resource
 * and is repeated as span attributes (container.id, k8s.*).
 */
#include "l7.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define PATH_MAX_LEN 2048
#define VALUE_MAX_LEN 512
#define NAME_PATH_MAX 256

static size_t clamp(size_t n, size_t max)
{
	return n < max ? n : max;
}

/* Appends to a string being built in a span's strings (the capacity was reserved by the caller). */
static void span_put(char *dst, size_t *len, const char *p, size_t n)
{
	memcpy(dst + *len, p, n);
	*len += n;
}

/* Decimal text of a port, not NUL-terminated; returns the length. */
static size_t u16_str(unsigned v, char *out)
{
	char tmp[6];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

void cgs_l7_addr_str(uint16_t family, const uint8_t *addr, char *out, size_t cap)
{
	if (family == AF_INET && cap >= 16) {
		/* Dotted quad by hand: inet_ntop formats through sprintf. */
		char *o = out;

		for (int i = 0; i < 4; i++) {
			unsigned v = addr[i];

			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
			*o++ = i < 3 ? '.' : '\0';
		}
		return;
	}
	if (!inet_ntop(family == AF_INET ? AF_INET : AF_INET6, addr, out, (socklen_t)cap))
		snprintf(out, cap, "?");
}

void cgs_l7_req_hdrs(const struct cgs_http_head *h, struct cgs_l7_req_hdrs *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < h->nhdr; i++) {
		const struct cgs_http_str *n = &h->hdr[i].name, *v = &h->hdr[i].value;
		const struct cgs_http_str **slot = NULL;

		switch (n->n) {
		case 4:
			if (cgs_http_token_eq(n->p, n->n, "host"))
				slot = &out->host;
			break;
		case 10:
			if (cgs_http_token_eq(n->p, n->n, "user-agent"))
				slot = &out->user_agent;
			else if (cgs_http_token_eq(n->p, n->n, "tracestate"))
				slot = &out->tracestate;
			break;
		case 11:
			if (cgs_http_token_eq(n->p, n->n, "traceparent"))
				slot = &out->traceparent;
			break;
		case 13:
			if (cgs_http_token_eq(n->p, n->n, "uber-trace-id"))
				slot = &out->uber;
			break;
		}
		if (slot && !*slot)
			*slot = v;
	}
}

/* Host header "name[:port]" or "[v6]:port": the name, and the port if any (else -1). */
static void split_host(const struct cgs_http_str *v, struct cgs_http_str *name, long *port)
{
	const char *p = v->p, *end = v->p + v->n, *colon = NULL;

	*port = -1;
	if (v->n && p[0] == '[') {
		const char *rb = memchr(p, ']', v->n);

		if (rb) {
			name->p = p + 1;
			name->n = (size_t)(rb - p - 1);
			if (rb + 1 < end && rb[1] == ':')
				colon = rb + 1;
		} else {
			*name = *v;
		}
	} else {
		colon = memchr(p, ':', v->n);
		name->p = p;
		name->n = colon ? (size_t)(colon - p) : v->n;
	}
	if (colon && colon + 1 < end) {
		long x = 0;
		const char *q;

		for (q = colon + 1; q < end && *q >= '0' && *q <= '9' && x <= 65535; q++)
			x = x * 10 + (*q - '0');
		if (q == end && x > 0 && x <= 65535)
			*port = x;
	}
}

static void capture_headers(struct cgs_span *s, const struct cgs_http_head *h, const struct cgs_l7_redact *red,
			    const char *prefix)
{
	char key[128];

	if (!cgs_l7_capture_any(red))
		return;
	for (size_t i = 0; i < h->nhdr; i++) {
		const struct cgs_http_str *n = &h->hdr[i].name, *v = &h->hdr[i].value;
		const char *k;
		int kl;

		if (!cgs_l7_capture_header(red, n->p, n->n))
			continue;
		kl = snprintf(key, sizeof(key), "%s%.*s", prefix, (int)n->n, n->p);
		if (kl <= 0 || (size_t)kl >= sizeof(key))
			continue;
		for (int j = (int)strlen(prefix); j < kl; j++)
			if (key[j] >= 'A' && key[j] <= 'Z')
				key[j] = (char)(key[j] - 'A' + 'a');
		if (cgs_span_attr(s, key))
			continue; /* repeated header: the first one */
		k = cgs_span_strdup(s, key, (size_t)kl);
		if (k)
			cgs_span_attr_str(s, k, v->p, clamp(v->n, VALUE_MAX_LEN));
	}
}

void cgs_l7_span_container_attrs(struct cgs_span *s)
{
	static const char *const keys[] = { "container.id", "k8s.pod.name", "k8s.namespace.name",
					    "k8s.container.name" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = cgs_resource_get(s->res, keys[i]);

		/* The span holds a reference to its resource: the value can be shared. */
		if (v && s->nattrs < CGS_SPAN_MAX_ATTRS)
			s->attrs[s->nattrs++] = (struct cgs_attr){ .key = keys[i], .type = CGS_ATTR_STR, .s = v };
	}
}

struct cgs_span *cgs_l7_span_request(const struct cgs_http_head *h, const struct cgs_l7_req_hdrs *hd, int role,
				     const struct cgs_l7_peer *peer, const struct cgs_l7_redact *red,
				     struct cgs_resource *res)
{
	const char *method = cgs_http_method_names[h->method];
	const struct cgs_http_str *host = hd->host, *ua = NULL;
	const char *laddr = peer->lname, *raddr = peer->rname;
	size_t path_n = clamp(h->path.n, PATH_MAX_LEN), cap, mlen = strlen(method);
	char query[PATH_MAX_LEN + 1], *name, *full;
	struct cgs_http_str hname = { 0 };
	struct cgs_span *s;
	size_t qn = 0, hn, fl;
	long hport = -1;

	if (hd->user_agent && !cgs_l7_redact_header(red, "user-agent", 10))
		ua = hd->user_agent;
	if (host && !cgs_l7_redact_header(red, "host", 4))
		split_host(host, &hname, &hport);
	if (h->query.n)
		qn = cgs_l7_redact_query(red, h->query.p, clamp(h->query.n, PATH_MAX_LEN), query, sizeof(query));
	/*
	 * Room for every string: the name and url.full are written in place
	 * and must fit; attribute values are refused when they do not. Name
	 * (method, path prefix), url.full (scheme, Host or [address]:port,
	 * path, query), url.path, url.query, server.address, two addresses,
	 * user agent, method token, a tracestate, short literals.
	 */
	cap = (8 + NAME_PATH_MAX + 2) + (7 + clamp(host ? host->n : 0, VALUE_MAX_LEN) + CGS_L7_ADDR_STR + 8) +
	      2 * path_n + 2 * qn + clamp(host ? host->n : 0, VALUE_MAX_LEN) + 3 * CGS_L7_ADDR_STR +
	      (ua ? clamp(ua->n, VALUE_MAX_LEN) : 0) + h->method_tok.n + (hd->tracestate ? 512 + 1 : 0) + 128;
	if (cgs_l7_capture_any(red))
		for (size_t i = 0; i < h->nhdr; i++)
			cap += 2 * 128 + clamp(h->hdr[i].value.n, VALUE_MAX_LEN);
	s = cgs_span_new(cap);
	if (!s) {
		cgs_resource_unref(res);
		return NULL;
	}
	s->res = res;
	s->kind = role == CGS_L7_ROLE_SERVER ? CGS_SPAN_KIND_SERVER : CGS_SPAN_KIND_CLIENT;

	/* "METHOD /path" ("HTTP /path" for methods outside the semantic conventions' list). */
	name = s->strs + s->str_len;
	hn = h->method ? mlen : 4;
	memcpy(name, h->method ? method : "HTTP", hn);
	name[hn++] = ' ';
	memcpy(name + hn, h->path.p, clamp(h->path.n, NAME_PATH_MAX));
	hn += clamp(h->path.n, NAME_PATH_MAX);
	name[hn] = '\0';
	s->name = name;
	s->str_len += hn + 1;

	cgs_span_attr_str(s, "http.request.method", method, mlen);
	if (!h->method)
		cgs_span_attr_str(s, "http.request.method_original", h->method_tok.p, h->method_tok.n);
	if (role == CGS_L7_ROLE_CLIENT) {
		/* url.full: scheme, the Host header (else the peer), target with the redacted query. */
		full = s->strs + s->str_len;
		fl = 0;
		span_put(full, &fl, "http://", 7);
		if (hname.n) {
			span_put(full, &fl, host->p, clamp(host->n, VALUE_MAX_LEN));
		} else {
			char port[8];
			size_t pl = u16_str(peer->rport, port);

			if (peer->family == AF_INET6)
				span_put(full, &fl, "[", 1);
			span_put(full, &fl, raddr, strlen(raddr));
			if (peer->family == AF_INET6)
				span_put(full, &fl, "]", 1);
			span_put(full, &fl, ":", 1);
			span_put(full, &fl, port, pl);
		}
		span_put(full, &fl, h->path.p, path_n);
		if (qn) {
			span_put(full, &fl, "?", 1);
			span_put(full, &fl, query, qn);
		}
		full[fl] = '\0';
		s->str_len += fl + 1;
		if (s->nattrs < CGS_SPAN_MAX_ATTRS)
			s->attrs[s->nattrs++] = (struct cgs_attr){ .key = "url.full", .type = CGS_ATTR_STR, .s = full };
		cgs_span_attr_str(s, "url.path", h->path.p, path_n);
		if (hname.n)
			cgs_span_attr_str(s, "server.address", hname.p, clamp(hname.n, VALUE_MAX_LEN));
		else
			cgs_span_attr_str(s, "server.address", raddr, strlen(raddr));
		cgs_span_attr_int(s, "server.port", peer->rport);
		cgs_span_attr_str(s, "network.peer.address", raddr, strlen(raddr));
		cgs_span_attr_int(s, "network.peer.port", peer->rport);
	} else {
		cgs_span_attr_str(s, "url.path", h->path.p, path_n);
		if (qn)
			cgs_span_attr_str(s, "url.query", query, qn);
		cgs_span_attr_str(s, "url.scheme", "http", 4);
		if (hname.n)
			cgs_span_attr_str(s, "server.address", hname.p, clamp(hname.n, VALUE_MAX_LEN));
		else
			cgs_span_attr_str(s, "server.address", laddr, strlen(laddr));
		cgs_span_attr_int(s, "server.port", hport > 0 ? hport : peer->lport);
		cgs_span_attr_str(s, "client.address", raddr, strlen(raddr));
		cgs_span_attr_int(s, "client.port", peer->rport);
	}
	cgs_span_attr_str(s, "network.protocol.version", h->minor ? "1.1" : "1.0", 3);
	if (ua)
		cgs_span_attr_str(s, "user_agent.original", ua->p, clamp(ua->n, VALUE_MAX_LEN));
	cgs_l7_span_container_attrs(s);
	capture_headers(s, h, red, "http.request.header.");
	return s;
}

void cgs_l7_span_response(struct cgs_span *s, const struct cgs_http_head *h, int role,
			  const struct cgs_l7_redact *red)
{
	bool error = role == CGS_L7_ROLE_SERVER ? h->status >= 500 : h->status >= 400;
	char code[8];
	int n;

	cgs_span_attr_int(s, "http.response.status_code", h->status);
	if (error) {
		s->status = CGS_SPAN_STATUS_ERROR;
		n = snprintf(code, sizeof(code), "%d", h->status);
		cgs_span_attr_str(s, "error.type", code, (size_t)n);
	}
	capture_headers(s, h, red, "http.response.header.");
}
