/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What of a request never leaves the agent. Header values are exported only
 * for names listed for capture (plus User-Agent, a standard attribute), and
 * never for Authorization, Proxy-Authorization, Cookie, Set-Cookie or a
 * configured name, whatever the capture list says. Query values of
 * configured keys are replaced by "REDACTED" (keys compared after
 * percent-decoding, case-insensitively). Bodies are never read at all.
 */
#include "l7.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 64
#define NAME_MAX_LEN 64

struct name_list {
	size_t n;
	char v[LIST_MAX][NAME_MAX_LEN];
};

struct cgs_l7_redact {
	struct name_list headers, query, capture;
};

static const char *const always_redacted[] = { "authorization", "proxy-authorization", "cookie", "set-cookie" };

static char lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Parses a comma-separated list; entries must be printable, without spaces inside. */
static int list_parse(struct name_list *l, const char *csv)
{
	const char *p = csv ? csv : "";

	while (*p) {
		const char *s, *e;
		size_t n;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != ',')
			p++;
		e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		n = (size_t)(e - s);
		if (n >= NAME_MAX_LEN || l->n >= LIST_MAX)
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c <= 0x20 || c >= 0x7f || c == '=' || c == '&')
				return -EINVAL;
			l->v[l->n][i] = lc(s[i]);
		}
		l->v[l->n][n] = '\0';
		l->n++;
	}
	return 0;
}

static bool list_has(const struct name_list *l, const char *p, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (cgs_http_token_eq(p, n, l->v[i]))
			return true;
	return false;
}

struct cgs_l7_redact *cgs_l7_redact_new(const char *headers, const char *query_keys, const char *capture)
{
	struct cgs_l7_redact *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (list_parse(&r->headers, headers) || list_parse(&r->query, query_keys) ||
	    list_parse(&r->capture, capture)) {
		free(r);
		errno = EINVAL;
		return NULL;
	}
	return r;
}

void cgs_l7_redact_free(struct cgs_l7_redact *r)
{
	free(r);
}

bool cgs_l7_redact_header(const struct cgs_l7_redact *r, const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(always_redacted) / sizeof(always_redacted[0]); i++)
		if (cgs_http_token_eq(name, n, always_redacted[i]))
			return true;
	return list_has(&r->headers, name, n);
}

bool cgs_l7_capture_header(const struct cgs_l7_redact *r, const char *name, size_t n)
{
	return list_has(&r->capture, name, n) && !cgs_l7_redact_header(r, name, n);
}

bool cgs_l7_capture_any(const struct cgs_l7_redact *r)
{
	return r->capture.n > 0;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lc(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Whether the (percent-encoded) key k[0..n) is a configured one. */
static bool key_redacted(const struct cgs_l7_redact *r, const char *k, size_t n)
{
	char dec[NAME_MAX_LEN];
	size_t d = 0;

	for (size_t i = 0; i < n; i++) {
		char c = k[i];

		if (d + 1 >= sizeof(dec))
			return false; /* longer than any configured key */
		if (c == '%' && i + 2 < n && hexv(k[i + 1]) >= 0 && hexv(k[i + 2]) >= 0) {
			c = (char)(hexv(k[i + 1]) << 4 | hexv(k[i + 2]));
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		dec[d++] = c;
	}
	return list_has(&r->query, dec, d);
}

static size_t put(char *out, size_t cap, size_t o, const char *p, size_t n)
{
	if (o + 1 >= cap)
		return o;
	if (n > cap - 1 - o)
		n = cap - 1 - o;
	memcpy(out + o, p, n);
	return o + n;
}

size_t cgs_l7_redact_query(const struct cgs_l7_redact *r, const char *q, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	if (!cap)
		return 0;
	while (i < n) {
		size_t s = i, eq, e;

		while (i < n && q[i] != '&' && q[i] != ';')
			i++;
		e = i;
		for (eq = s; eq < e && q[eq] != '='; eq++)
			;
		if (eq < e && key_redacted(r, q + s, eq - s)) {
			o = put(out, cap, o, q + s, eq - s + 1);
			o = put(out, cap, o, CGS_L7_REDACTED, sizeof(CGS_L7_REDACTED) - 1);
		} else {
			o = put(out, cap, o, q + s, e - s);
		}
		if (i < n)
			o = put(out, cap, o, q + i, 1), i++;
	}
	out[o] = '\0';
	return o;
}
