/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for collectors/l7_tracectx.c: W3C traceparent (valid, every
 * rule of the specification that makes one invalid, future versions) and
 * Jaeger uber-trace-id (64- and 128-bit ids, short ids, URL-encoded
 * separators, bad fields), and the span-id generator.
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
#include <string.h>

#include "collectors/l7.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void expect_ctx(const struct cgs_trace_ctx *c, const char *trace, const char *span, int flags)
{
	char t[33], s[17];

	hex(c->trace_id, 16, t);
	hex(c->span_id, 8, s);
	assert_string_equal(t, trace);
	assert_string_equal(s, span);
	assert_int_equal(c->flags, flags);
}

static int tp(const char *v, struct cgs_trace_ctx *c)
{
	return cgs_tracectx_parse_traceparent(v, strlen(v), c);
}

static int uber(const char *v, struct cgs_trace_ctx *c)
{
	return cgs_tracectx_parse_uber(v, strlen(v), c);
}

static void test_traceparent(void **state)
{
	static const char *const bad[] = {
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",       /* no flags */
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",    /* uppercase */
		"00-00000000000000000000000000000000-b7ad6b7169203331-01",    /* zero trace id */
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",    /* zero span id */
		"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",    /* version ff */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",  /* v00 has no more fields */
		"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",   /* later version: '-' needed */
		"00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
		"0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"",
	};
	struct cgs_trace_ctx c, keep;

	(void)state;
	assert_int_equal(tp("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", &c), 0);
	expect_ctx(&c, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 1);
	assert_int_equal(tp("  00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-00 ", &c), 0);
	expect_ctx(&c, "0af7651916cd43dd8448eb211c80319c", "00f067aa0ba902b7", 0);
	/* a later version: the known fields are used, the rest ignored */
	assert_int_equal(tp("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds", &c), 0);
	expect_ctx(&c, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 1);
	keep = c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tp(bad[i], &c) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_memory_equal(&c, &keep, sizeof(c)); /* untouched on failure */
	}
}

static void test_uber(void **state)
{
	static const char *const bad[] = {
		"5e0f1a2b3c4d5e6f:a1b2c3d4e5f60718:0",           /* three fields */
		"5e0f1a2b3c4d5e6f:a1b2c3d4e5f60718:0:1:9",
		"0:a1b2c3d4e5f60718:0:1",                        /* zero trace id */
		"5e0f1a2b3c4d5e6f:0:0:1",                        /* zero span id */
		"5e0f1a2b3c4d5e6fx:a1b2c3d4e5f60718:0:1",
		"123456789012345678901234567890123:a1:0:1",      /* 33 digits */
		"5e0f1a2b3c4d5e6f:a1b2c3d4e5f6071800:0:1",       /* 18-digit span */
		"5e0f1a2b3c4d5e6f:a1b2c3d4e5f60718:0:",          /* no flags */
		"5e0f1a2b3c4d5e6f:a1b2c3d4e5f60718:0:zz",
		":a1:0:1",
	};
	struct cgs_trace_ctx c;

	(void)state;
	assert_int_equal(uber("5e0f1a2b3c4d5e6f:a1b2c3d4e5f60718:0:1", &c), 0);
	expect_ctx(&c, "00000000000000005e0f1a2b3c4d5e6f", "a1b2c3d4e5f60718", 1);
	assert_int_equal(uber("0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331:0:0", &c), 0);
	expect_ctx(&c, "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 0);
	/* short ids (leading zeros omitted), URL-encoded separators, debug flag */
	assert_int_equal(uber("abc%3A1f%3a0%3A3", &c), 0);
	expect_ctx(&c, "00000000000000000000000000000abc", "000000000000001f", 1);
	assert_int_equal(uber("ABC:1F:7:2", &c), 0);
	expect_ctx(&c, "00000000000000000000000000000abc", "000000000000001f", 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (uber(bad[i], &c) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_ids(void **state)
{
	struct cgs_l7_rng a, b;
	uint8_t x[16], y[16], z[8];

	(void)state;
	cgs_l7_rng_seed(&a, 42);
	cgs_l7_rng_seed(&b, 42);
	cgs_l7_rng_id(&a, x, 16);
	cgs_l7_rng_id(&b, y, 16);
	assert_memory_equal(x, y, 16); /* deterministic for a seed */
	cgs_l7_rng_id(&a, y, 16);
	assert_memory_not_equal(x, y, 16);
	cgs_l7_rng_seed(&a, 0);
	for (int i = 0; i < 10000; i++) {
		static const uint8_t zero[8];

		cgs_l7_rng_id(&a, z, 8);
		assert_memory_not_equal(z, zero, 8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traceparent),
		cmocka_unit_test(test_uber),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
