/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.x message-head parser (RFC 9112), pure: bytes in, a description
 * pointing into those bytes out. It reads only what it is given (a prefix of
 * a socket buffer, possibly cut anywhere), accepts bare-LF line ends, skips
 * malformed header lines rather than failing, and refuses anything whose
 * start line is not HTTP/1.0 or HTTP/1.1 (HTTP/2 prefaces, TLS, binary).
 */
#include "l7.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

const char *const cgs_http_method_names[CGS_HTTP_M__COUNT] = {
	[CGS_HTTP_M_OTHER] = "_OTHER",   [CGS_HTTP_M_GET] = "GET",         [CGS_HTTP_M_HEAD] = "HEAD",
	[CGS_HTTP_M_POST] = "POST",      [CGS_HTTP_M_PUT] = "PUT",         [CGS_HTTP_M_DELETE] = "DELETE",
	[CGS_HTTP_M_CONNECT] = "CONNECT", [CGS_HTTP_M_OPTIONS] = "OPTIONS", [CGS_HTTP_M_TRACE] = "TRACE",
	[CGS_HTTP_M_PATCH] = "PATCH",
};

/* RFC 9110 tchar, as a table: header names are scanned byte by byte. */
#define T1(c) [c] = 1
static const uint8_t tchar[256] = {
	T1('!'), T1('#'), T1('$'), T1('%'), T1('&'), T1('\''), T1('*'), T1('+'), T1('-'), T1('.'), T1('^'),
	T1('_'), T1('`'), T1('|'), T1('~'),
	T1('0'), T1('1'), T1('2'), T1('3'), T1('4'), T1('5'), T1('6'), T1('7'), T1('8'), T1('9'),
	T1('a'), T1('b'), T1('c'), T1('d'), T1('e'), T1('f'), T1('g'), T1('h'), T1('i'), T1('j'), T1('k'),
	T1('l'), T1('m'), T1('n'), T1('o'), T1('p'), T1('q'), T1('r'), T1('s'), T1('t'), T1('u'), T1('v'),
	T1('w'), T1('x'), T1('y'), T1('z'),
	T1('A'), T1('B'), T1('C'), T1('D'), T1('E'), T1('F'), T1('G'), T1('H'), T1('I'), T1('J'), T1('K'),
	T1('L'), T1('M'), T1('N'), T1('O'), T1('P'), T1('Q'), T1('R'), T1('S'), T1('T'), T1('U'), T1('V'),
	T1('W'), T1('X'), T1('Y'), T1('Z'),
};
#undef T1

static bool is_tchar(unsigned char c)
{
	return tchar[c];
}

/* Visible characters of a request target (no spaces, no controls). */
static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

/* Field-value characters: visible, obs-text, space and tab. */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool cgs_http_token_eq(const char *p, size_t n, const char *lc)
{
	size_t i;

	for (i = 0; i < n && lc[i]; i++)
		if (lower(p[i]) != lower(lc[i]))
			return false;
	return i == n && !lc[i];
}

/* Whether the token list value (e.g. "gzip, chunked") holds `lc` as an element. */
static bool list_has(const char *p, size_t n, const char *lc)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		s = i;
		while (i < n && p[i] != ',')
			i++;
		e = i;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (e > s && cgs_http_token_eq(p + s, e - s, lc))
			return true;
	}
	return false;
}

/* The last element of a token list (Transfer-Encoding: the final coding decides). */
static bool list_last_is(const char *p, size_t n, const char *lc)
{
	size_t e = n, s;

	while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == ','))
		e--;
	s = e;
	while (s > 0 && p[s - 1] != ',' && p[s - 1] != ' ' && p[s - 1] != '\t')
		s--;
	return e > s && cgs_http_token_eq(p + s, e - s, lc);
}

static const uint8_t method_len[CGS_HTTP_M__COUNT] = { 6, 3, 4, 4, 3, 6, 7, 7, 5, 5 };

static int method_of(const char *p, size_t n)
{
	for (int m = 1; m < CGS_HTTP_M__COUNT; m++)
		if (method_len[m] == n && !memcmp(cgs_http_method_names[m], p, n))
			return m;
	return CGS_HTTP_M_OTHER;
}

bool cgs_http_starts_message(const char *p, size_t n)
{
	if (n >= 7 && !memcmp(p, "HTTP/1.", 7))
		return true;
	for (int m = 1; m < CGS_HTTP_M__COUNT; m++) {
		size_t l = method_len[m];

		if (n > l && p[l] == ' ' && !memcmp(p, cgs_http_method_names[m], l))
			return true;
	}
	return false;
}

/* "HTTP/1.x" at p[0..8): the minor digit, or -1. */
static int version_of(const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1'))
		return -1;
	return p[7] - '0';
}

static void split_target(struct cgs_http_head *h)
{
	const char *t = h->target.p, *end = t + h->target.n, *q, *frag;
	const char *path = t;

	if (h->method == CGS_HTTP_M_CONNECT || (h->target.n == 1 && t[0] == '*')) {
		h->path = h->target; /* authority-form or asterisk-form */
		return;
	}
	if (t[0] != '/') {
		/* absolute-form: scheme "://" authority path */
		const char *s = memchr(t, ':', h->target.n);

		if (s && end - s >= 3 && s[1] == '/' && s[2] == '/') {
			const char *a = s + 3;

			while (a < end && *a != '/' && *a != '?' && *a != '#')
				a++;
			path = a;
		}
	}
	frag = memchr(path, '#', (size_t)(end - path));
	if (frag)
		end = frag;
	q = memchr(path, '?', (size_t)(end - path));
	h->path.p = path;
	h->path.n = (size_t)((q ? q : end) - path);
	if (q) {
		h->query.p = q + 1;
		h->query.n = (size_t)(end - q - 1);
	}
	if (!h->path.n) {
		h->path.p = "/";
		h->path.n = 1;
	}
}

static int parse_request_line(const char *p, size_t n, struct cgs_http_head *h)
{
	size_t i = 0, ts, te;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (!i || i >= n || p[i] != ' ' || i > 32)
		return -EBADMSG;
	h->method_tok.p = p;
	h->method_tok.n = i;
	h->method = method_of(p, i);
	ts = ++i;
	while (i < n && is_target_char((unsigned char)p[i]))
		i++;
	te = i;
	if (te == ts || i >= n || p[i] != ' ')
		return -EBADMSG;
	h->minor = version_of(p + i + 1, n - i - 1);
	if (h->minor < 0)
		return -EBADMSG;
	h->kind = CGS_HTTP_REQUEST;
	h->target.p = p + ts;
	h->target.n = te - ts;
	split_target(h);
	return 1;
}

static int parse_status_line(const char *p, size_t n, struct cgs_http_head *h)
{
	if (n < 12 || p[8] != ' ')
		return -EBADMSG;
	h->minor = version_of(p, 8);
	if (h->minor < 0)
		return -EBADMSG;
	for (int i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
	if (n > 12 && p[12] != ' ')
		return -EBADMSG;
	for (size_t i = 13; i < n; i++)
		if (!is_value_char((unsigned char)p[i]))
			return -EBADMSG;
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (h->status < 100)
		return -EBADMSG;
	h->kind = CGS_HTTP_RESPONSE;
	return 1;
}

/* Whether an incomplete start line p[0..n) could still become a valid one. */
static bool plausible_start(const char *p, size_t n)
{
	static const char ver[] = "HTTP/1.";
	size_t i = 0;

	if (!memcmp(p, ver, n < 7 ? n : 7))
		return n < 7 || n == 7 || p[7] == '0' || p[7] == '1';
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == n)
		return i <= 32;
	if (p[i] != ' ' || !i)
		return false;
	for (i++; i < n; i++)
		if (p[i] != ' ' && !is_target_char((unsigned char)p[i]) && p[i] != '\r')
			return false;
	return true;
}

static void header(struct cgs_http_head *h, const char *p, size_t n)
{
	size_t i = 0, vs, ve;
	const char *name = p;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (!i || i >= n || p[i] != ':') {
		h->hdr_dropped++;
		return;
	}
	vs = i + 1;
	while (vs < n && (p[vs] == ' ' || p[vs] == '\t'))
		vs++;
	ve = n;
	while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
		ve--;
	for (size_t k = vs; k < ve; k++)
		if (!is_value_char((unsigned char)p[k])) {
			h->hdr_dropped++;
			return;
		}
	/* Names told apart by their lengths first: most headers are none of these three. */
	if (i == 14 && cgs_http_token_eq(name, i, "content-length")) {
		int64_t v = 0;
		size_t k;

		for (k = vs; k < ve && p[k] >= '0' && p[k] <= '9' && v < ((int64_t)1 << 50); k++)
			v = v * 10 + (p[k] - '0');
		if (k != ve || k == vs || (h->content_length >= 0 && h->content_length != v))
			h->content_length = -2; /* invalid or conflicting: unknown for good */
		else if (h->content_length != -2)
			h->content_length = v;
	} else if (i == 17 && cgs_http_token_eq(name, i, "transfer-encoding")) {
		h->chunked = list_last_is(p + vs, ve - vs, "chunked");
	} else if (i == 10 && cgs_http_token_eq(name, i, "connection")) {
		h->conn_close = h->conn_close || list_has(p + vs, ve - vs, "close");
	}
	if (h->nhdr >= CGS_HTTP_MAX_HEADERS) {
		h->hdr_dropped++;
		return;
	}
	h->hdr[h->nhdr].name.p = name;
	h->hdr[h->nhdr].name.n = i;
	h->hdr[h->nhdr].value.p = p + vs;
	h->hdr[h->nhdr].value.n = ve - vs;
	h->nhdr++;
}

int cgs_http_parse(const char *p, size_t n, struct cgs_http_head *h)
{
	size_t lim = n < CGS_HTTP_LINE_MAX ? n : CGS_HTTP_LINE_MAX, ll, off;
	const char *lf;
	int r;

	/* Everything but the header table, which is read only up to nhdr (1.5 KB spared per message). */
	memset(h, 0, offsetof(struct cgs_http_head, hdr));
	h->hdr_dropped = 0;
	h->content_length = -1;
	if (!n)
		return 0;
	lf = memchr(p, '\n', lim);
	if (!lf) {
		if (n >= CGS_HTTP_LINE_MAX)
			return -EBADMSG;
		return plausible_start(p, n) ? 0 : -EBADMSG;
	}
	ll = (size_t)(lf - p);
	if (ll && p[ll - 1] == '\r')
		ll--;
	if (ll >= 7 && !memcmp(p, "HTTP/", 5))
		r = parse_status_line(p, ll, h);
	else
		r = parse_request_line(p, ll, h);
	if (r < 0)
		return r;
	off = (size_t)(lf - p) + 1;
	while (off < n) {
		const char *e = memchr(p + off, '\n', n - off);
		size_t l;

		if (!e)
			break; /* the head goes on past what we were given */
		l = (size_t)(e - (p + off));
		if (l && p[off + l - 1] == '\r')
			l--;
		if (!l) {
			h->complete = true;
			h->head_len = (size_t)(e - p) + 1;
			break;
		}
		if (p[off] == ' ' || p[off] == '\t')
			h->hdr_dropped++; /* obsolete line folding: not followed */
		else
			header(h, p + off, l);
		off = (size_t)(e - p) + 1;
	}
	if (h->content_length == -2)
		h->content_length = -1;
	return 1;
}

const struct cgs_http_str *cgs_http_header(const struct cgs_http_head *h, const char *name)
{
	for (size_t i = 0; i < h->nhdr; i++)
		if (cgs_http_token_eq(h->hdr[i].name.p, h->hdr[i].name.n, name))
			return &h->hdr[i].value;
	return NULL;
}

int64_t cgs_http_body_len(const struct cgs_http_head *h, int req_method)
{
	if (h->kind == CGS_HTTP_REQUEST) {
		if (h->chunked)
			return -2;
		return h->content_length >= 0 ? h->content_length : 0;
	}
	if (req_method == CGS_HTTP_M_HEAD || h->status < 200 || h->status == 204 || h->status == 304)
		return 0;
	if (req_method == CGS_HTTP_M_CONNECT && h->status < 300)
		return -1;
	if (h->chunked)
		return -2;
	return h->content_length >= 0 ? h->content_length : -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

ssize_t cgs_http_chunked_len(const char *p, size_t n)
{
	size_t off = 0;

	for (;;) {
		const char *e = off < n ? memchr(p + off, '\n', n - off) : NULL;
		uint64_t size = 0;
		size_t i = off;
		int d, digits = 0;

		if (!e)
			return -1;
		while (i < (size_t)(e - p) && (d = hexval(p[i])) >= 0) {
			if (++digits > 15)
				return -1;
			size = size * 16 + (uint64_t)d;
			i++;
		}
		if (!digits)
			return -1;
		off = (size_t)(e - p) + 1;
		if (!size)
			break;
		if (size > n - off || n - off - size < 2)
			return -1;
		off += size;
		if (p[off] == '\r')
			off++;
		if (off >= n || p[off] != '\n')
			return -1;
		off++;
	}
	/* Trailer fields, then the blank line. */
	for (;;) {
		const char *e = off < n ? memchr(p + off, '\n', n - off) : NULL;
		size_t l;

		if (!e)
			return -1;
		l = (size_t)(e - (p + off));
		off = (size_t)(e - p) + 1;
		if (!l || (l == 1 && p[off - 2] == '\r'))
			return (ssize_t)off;
	}
}
