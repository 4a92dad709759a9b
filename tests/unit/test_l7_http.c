/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for collectors/l7_http.c, the HTTP/1.x head parser: requests
 * and responses in their forms, heads cut at every byte (a prefix is either
 * "need more" or a valid partial head, never an error), pipelined and
 * chunked bodies, malformed and binary input, and a fuzz pass (random bytes
 * and mutations of valid messages) checking that nothing is read outside
 * the buffer (run under ASan by the sanitizer build) and the invariants hold.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/l7.h"

#define S(lit) lit, sizeof(lit) - 1

static bool str_is(const struct cgs_http_str *s, const char *want)
{
	return s->n == strlen(want) && !memcmp(s->p, want, s->n);
}

/* Parses `p` from a heap copy of exactly its length, so ASan sees any overread. */
static int parse_exact(const char *p, size_t n, struct cgs_http_head *h, char **keep)
{
	char *copy = malloc(n ? n : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, p, n);
	r = cgs_http_parse(copy, n, h);
	*keep = copy;
	return r;
}

static void test_request_simple(void **state)
{
	static const char req[] = "GET /index.html?lang=en&x=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
				  "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
	struct cgs_http_head h;
	char *c;

	(void)state;
	assert_int_equal(parse_exact(S(req), &h, &c), 1);
	assert_int_equal(h.kind, CGS_HTTP_REQUEST);
	assert_int_equal(h.method, CGS_HTTP_M_GET);
	assert_int_equal(h.minor, 1);
	assert_true(str_is(&h.path, "/index.html"));
	assert_true(str_is(&h.query, "lang=en&x=1"));
	assert_true(h.complete);
	assert_int_equal(h.head_len, sizeof(req) - 1);
	assert_int_equal(h.nhdr, 3);
	assert_true(str_is(cgs_http_header(&h, "host"), "example.com:8080"));
	assert_true(str_is(cgs_http_header(&h, "user-agent"), "curl/7.88.1"));
	assert_null(cgs_http_header(&h, "cookie"));
	assert_int_equal(cgs_http_body_len(&h, 0), 0);
	free(c);
}

static void test_request_forms(void **state)
{
	struct cgs_http_head h;

	(void)state;
	/* absolute-form (proxies) */
	assert_int_equal(cgs_http_parse(S("POST http://api.local:81/v1/items?id=3#frag HTTP/1.0\r\n\r\n"), &h), 1);
	assert_int_equal(h.method, CGS_HTTP_M_POST);
	assert_int_equal(h.minor, 0);
	assert_true(str_is(&h.path, "/v1/items"));
	assert_true(str_is(&h.query, "id=3"));
	/* absolute-form without a path */
	assert_int_equal(cgs_http_parse(S("GET http://api.local HTTP/1.1\r\n\r\n"), &h), 1);
	assert_true(str_is(&h.path, "/"));
	/* authority-form */
	assert_int_equal(cgs_http_parse(S("CONNECT db.local:5432 HTTP/1.1\r\n\r\n"), &h), 1);
	assert_int_equal(h.method, CGS_HTTP_M_CONNECT);
	assert_true(str_is(&h.path, "db.local:5432"));
	/* asterisk-form */
	assert_int_equal(cgs_http_parse(S("OPTIONS * HTTP/1.1\r\n\r\n"), &h), 1);
	assert_int_equal(h.method, CGS_HTTP_M_OPTIONS);
	assert_true(str_is(&h.path, "*"));
	/* methods outside the known list are valid tokens: _OTHER */
	assert_int_equal(cgs_http_parse(S("PROPFIND /dav/ HTTP/1.1\r\n\r\n"), &h), 1);
	assert_int_equal(h.method, CGS_HTTP_M_OTHER);
	assert_true(str_is(&h.method_tok, "PROPFIND"));
	assert_int_equal(cgs_http_parse(S("get / HTTP/1.1\r\n\r\n"), &h), 1);
	assert_int_equal(h.method, CGS_HTTP_M_OTHER); /* methods are case-sensitive */
	/* bare LF line ends */
	assert_int_equal(cgs_http_parse(S("DELETE /x HTTP/1.1\nHost: a\n\n"), &h), 1);
	assert_int_equal(h.method, CGS_HTTP_M_DELETE);
	assert_true(h.complete);
	assert_true(str_is(cgs_http_header(&h, "HOST"), "a"));
	/* empty query */
	assert_int_equal(cgs_http_parse(S("GET /p? HTTP/1.1\r\n\r\n"), &h), 1);
	assert_true(str_is(&h.path, "/p"));
	assert_int_equal(h.query.n, 0);
	for (int m = 1; m < CGS_HTTP_M__COUNT; m++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "%s /m HTTP/1.1\r\n\r\n", cgs_http_method_names[m]);

		assert_int_equal(cgs_http_parse(line, (size_t)n, &h), 1);
		assert_int_equal(h.method, m);
		assert_true(cgs_http_starts_message(line, (size_t)n));
	}
}

static void test_response(void **state)
{
	static const char resp[] = "HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n"
				   "Content-Length: 153\r\nConnection: keep-alive\r\n\r\n<html>";
	struct cgs_http_head h;
	char *c;

	(void)state;
	assert_int_equal(parse_exact(S(resp), &h, &c), 1);
	assert_int_equal(h.kind, CGS_HTTP_RESPONSE);
	assert_int_equal(h.status, 404);
	assert_true(h.complete);
	assert_int_equal(h.head_len, sizeof(resp) - 1 - 6);
	assert_int_equal(h.content_length, 153);
	assert_false(h.conn_close);
	assert_int_equal(cgs_http_body_len(&h, CGS_HTTP_M_GET), 153);
	assert_int_equal(cgs_http_body_len(&h, CGS_HTTP_M_HEAD), 0);
	free(c);
	/* no reason phrase */
	assert_int_equal(cgs_http_parse(S("HTTP/1.1 200\r\n\r\n"), &h), 1);
	assert_int_equal(h.status, 200);
	assert_int_equal(cgs_http_body_len(&h, CGS_HTTP_M_GET), -1); /* until close */
	assert_int_equal(cgs_http_parse(S("HTTP/1.0 204 No Content\r\nConnection: close\r\n\r\n"), &h), 1);
	assert_true(h.conn_close);
	assert_int_equal(cgs_http_body_len(&h, CGS_HTTP_M_GET), 0);
	assert_int_equal(cgs_http_parse(S("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"), &h), 1);
	assert_int_equal(cgs_http_body_len(&h, CGS_HTTP_M_GET), 0);
	assert_int_equal(cgs_http_parse(S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"), &h), 1);
	assert_int_equal(h.status, 101);
	assert_int_equal(cgs_http_parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), &h), 1);
	assert_true(h.chunked);
	assert_int_equal(cgs_http_body_len(&h, CGS_HTTP_M_GET), -2);
	assert_int_equal(cgs_http_parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), &h), 1);
	assert_false(h.chunked);
	assert_int_equal(cgs_http_parse(S("HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\n\r\n"), &h), 1);
	assert_true(h.conn_close);
	/* CONNECT 200: a tunnel from here on */
	assert_int_equal(cgs_http_parse(S("HTTP/1.1 200 Connection established\r\n\r\n"), &h), 1);
	assert_int_equal(cgs_http_body_len(&h, CGS_HTTP_M_CONNECT), -1);
}

static void test_content_length(void **state)
{
	struct cgs_http_head h;

	(void)state;
	assert_int_equal(cgs_http_parse(S("POST /a HTTP/1.1\r\nContent-Length: 12\r\n\r\n"), &h), 1);
	assert_int_equal(cgs_http_body_len(&h, 0), 12);
	/* the same value twice is fine; different values are not */
	assert_int_equal(cgs_http_parse(S("POST /a HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n"), &h), 1);
	assert_int_equal(h.content_length, 5);
	assert_int_equal(cgs_http_parse(S("POST /a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), &h), 1);
	assert_int_equal(h.content_length, -1);
	assert_int_equal(cgs_http_parse(S("POST /a HTTP/1.1\r\nContent-Length: 6\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), &h), 1);
	assert_int_equal(h.content_length, -1);
	assert_int_equal(cgs_http_parse(S("POST /a HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"), &h), 1);
	assert_int_equal(h.content_length, -1);
	assert_int_equal(cgs_http_parse(S("POST /a HTTP/1.1\r\nContent-Length: \r\n\r\n"), &h), 1);
	assert_int_equal(h.content_length, -1);
	assert_int_equal(cgs_http_parse(S("POST /a HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), &h), 1);
	assert_int_equal(h.content_length, -1);
	assert_int_equal(cgs_http_parse(S("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), &h), 1);
	assert_int_equal(cgs_http_body_len(&h, 0), -2);
}

static void test_headers_odd(void **state)
{
	struct cgs_http_head h;
	char big[8192];
	size_t n = 0;

	(void)state;
	/* a malformed line and an obs-fold line are skipped, the rest is kept */
	assert_int_equal(cgs_http_parse(S("GET / HTTP/1.1\r\nGood: 1\r\nno colon here\r\n folded\r\nBad Name: x\r\n"
					  "X-Ctl: a\x01b\r\nLast:  spaced  \r\n\r\n"), &h), 1);
	assert_true(h.complete);
	assert_int_equal(h.nhdr, 2);
	assert_int_equal(h.hdr_dropped, 4);
	assert_true(str_is(cgs_http_header(&h, "last"), "spaced"));
	/* obs-text in a value is allowed */
	assert_int_equal(cgs_http_parse(S("GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\n\r\n"), &h), 1);
	assert_int_equal(h.nhdr, 1);
	/* more headers than kept */
	n += (size_t)snprintf(big + n, sizeof(big) - n, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < CGS_HTTP_MAX_HEADERS + 10; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-H%d: %d\r\n", i, i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	assert_int_equal(cgs_http_parse(big, n, &h), 1);
	assert_true(h.complete);
	assert_int_equal(h.nhdr, CGS_HTTP_MAX_HEADERS);
	assert_int_equal(h.hdr_dropped, 10);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",   /* HTTP/2 preface */
		"GET / HTTP/2\r\n\r\n",
		"GET / HTTP/1.2\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",            /* two spaces */
		"GET /a b HTTP/1.1\r\n\r\n",          /* space in the target */
		"GET / HTTP/1.1 extra\r\n\r\n",
		"GET /\r\n\r\n",                     /* HTTP/0.9 */
		" GET / HTTP/1.1\r\n\r\n",
		"GE\x01T / HTTP/1.1\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200 O\x01K\r\n\r\n",
		"HTTP/2 200\r\n\r\n",
		"\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  /* TLS ClientHello */
	};
	struct cgs_http_head h;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cgs_http_parse(bad[i], strlen(bad[i]), &h);

		if (r != -EBADMSG)
			fail_msg("case %zu (%s): got %d, want -EBADMSG", i, bad[i], r);
	}
	/* a start line longer than CGS_HTTP_LINE_MAX without its end */
	char *lng = malloc(CGS_HTTP_LINE_MAX + 16);

	assert_non_null(lng);
	memcpy(lng, "GET /", 5);
	memset(lng + 5, 'a', CGS_HTTP_LINE_MAX + 11);
	assert_int_equal(cgs_http_parse(lng, CGS_HTTP_LINE_MAX + 16, &h), -EBADMSG);
	free(lng);
	assert_false(cgs_http_starts_message(S("GETX / HTTP/1.1")));
	assert_false(cgs_http_starts_message(S("HTTP/2 200")));
	assert_false(cgs_http_starts_message(S("GET")));
	assert_true(cgs_http_starts_message(S("HTTP/1.0 200")));
}

/* Every prefix of a valid head is "need more" or a valid partial head with the same start line. */
static void test_every_prefix(void **state)
{
	static const char *const msgs[] = {
		("GET /api/v1/orders?limit=10 HTTP/1.1\r\nHost: shop.local\r\ntraceparent: "
		 "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nAuthorization: secret\r\n\r\n"),
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n",
		"HEAD / HTTP/1.0\nHost: x\n\n",
	};

	(void)state;
	for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		size_t len = strlen(msgs[m]);
		struct cgs_http_head full, h;

		assert_int_equal(cgs_http_parse(msgs[m], len, &full), 1);
		assert_true(full.complete);
		for (size_t n = 0; n <= len; n++) {
			char *c;
			int r = parse_exact(msgs[m], n, &h, &c);

			if (r < 0)
				fail_msg("message %zu cut at %zu: %d", m, n, r);
			if (r == 1) {
				assert_int_equal(h.kind, full.kind);
				assert_int_equal(h.method, full.method);
				assert_int_equal(h.status, full.status);
				assert_true(h.nhdr <= full.nhdr);
				assert_int_equal(h.complete, n == len);
			}
			free(c);
		}
	}
}

static void test_chunked(void **state)
{
	(void)state;
	assert_int_equal(cgs_http_chunked_len(S("5\r\nhello\r\n0\r\n\r\nNEXT")), 15);
	assert_int_equal(cgs_http_chunked_len(S("5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n")),
			 48);
	assert_int_equal(cgs_http_chunked_len(S("5\nhello\n0\n\n")), 11);
	assert_int_equal(cgs_http_chunked_len(S("5\r\nhello\r\n0\r\n")), -1);  /* trailers not ended */
	assert_int_equal(cgs_http_chunked_len(S("5\r\nhel")), -1);             /* data cut */
	assert_int_equal(cgs_http_chunked_len(S("5\r\nhelloXX0\r\n\r\n")), -1); /* no CRLF after data */
	assert_int_equal(cgs_http_chunked_len(S("zz\r\n")), -1);
	assert_int_equal(cgs_http_chunked_len(S("ffffffffffffffffff\r\n")), -1);
	assert_int_equal(cgs_http_chunked_len(S("")), -1);
}

/* Random input and mutations of valid messages: no crash, no overread, invariants. */
static void check_invariants(const char *p, size_t n)
{
	struct cgs_http_head h;
	char *c;
	int r = parse_exact(p, n, &h, &c);

	assert_true(r == 1 || r == 0 || r == -EBADMSG);
	if (r == 1) {
		assert_true(h.kind == CGS_HTTP_REQUEST || h.kind == CGS_HTTP_RESPONSE);
		assert_true(h.nhdr <= CGS_HTTP_MAX_HEADERS);
		if (h.complete)
			assert_true(h.head_len <= n);
		for (size_t i = 0; i < h.nhdr; i++) {
			assert_true(h.hdr[i].name.p >= c && h.hdr[i].name.p + h.hdr[i].name.n <= c + n);
			assert_true(h.hdr[i].value.p >= c && h.hdr[i].value.p + h.hdr[i].value.n <= c + n);
		}
		if (h.kind == CGS_HTTP_REQUEST) {
			assert_true(h.method >= 0 && h.method < CGS_HTTP_M__COUNT);
			assert_true(h.path.n > 0);
		} else {
			assert_true(h.status >= 100 && h.status <= 999);
		}
		(void)cgs_http_body_len(&h, CGS_HTTP_M_GET);
		if (h.complete)
			(void)cgs_http_chunked_len(c + h.head_len, n - h.head_len);
	}
	(void)cgs_http_chunked_len(c, n);
	(void)cgs_http_starts_message(c, n);
	free(c);
}

static void test_fuzz(void **state)
{
	static const char *const seeds[] = {
		"GET /a?b=c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n0\r\n\r\n",
		"POST /upload HTTP/1.0\nContent-Length: 0\nConnection: close\n\n",
	};
	static const char alphabet[] = "GETPOSHTP/1.0 \r\n:;,-?&=%abc0123456789\x00\xff\t";
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char buf[512];

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		size_t n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (iter % 2) {
			/* random bytes from an alphabet that hits the parser's branches */
			n = (size_t)(x % sizeof(buf));
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				buf[i] = (iter % 4 == 1) ? alphabet[x % (sizeof(alphabet) - 1)] : (char)x;
			}
		} else {
			/* a seed with a few bytes changed and cut somewhere */
			const char *s = seeds[(x >> 8) % 3];

			n = strlen(s);
			memcpy(buf, s, n);
			for (int k = 0; k < 3; k++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				buf[x % n] = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
			}
			n = (size_t)((x >> 32) % (n + 1));
		}
		check_invariants(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_simple),
		cmocka_unit_test(test_request_forms),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_headers_odd),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
