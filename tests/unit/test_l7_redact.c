/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for collectors/l7_redact.c and collectors/l7_sample.c: header
 * rules (the fixed credentials headers can never be captured), query-value
 * redaction (percent-encoded and differently cased keys, truncation that
 * never leaks a value), list validation; head sampling consistent per trace
 * id, errors and slow spans kept, the per-second budget.
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
#include <stdlib.h>
#include <string.h>

#include "collectors/l7.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_headers(void **state)
{
	struct cgs_l7_redact *r = cgs_l7_redact_new(" X-Api-Key , x-internal", "", "authorization,Cookie,X-Request-Id,x-api-key,user-agent");

	(void)state;
	assert_non_null(r);
	assert_true(cgs_l7_redact_header(r, S("Authorization")));
	assert_true(cgs_l7_redact_header(r, S("proxy-authorization")));
	assert_true(cgs_l7_redact_header(r, S("COOKIE")));
	assert_true(cgs_l7_redact_header(r, S("Set-Cookie")));
	assert_true(cgs_l7_redact_header(r, S("x-api-key")));
	assert_true(cgs_l7_redact_header(r, S("X-Internal")));
	assert_false(cgs_l7_redact_header(r, S("x-request-id")));
	assert_false(cgs_l7_redact_header(r, S("x-api")));
	/* listed for capture but redacted: never */
	assert_false(cgs_l7_capture_header(r, S("Authorization")));
	assert_false(cgs_l7_capture_header(r, S("cookie")));
	assert_false(cgs_l7_capture_header(r, S("X-API-KEY")));
	assert_true(cgs_l7_capture_header(r, S("x-request-id")));
	assert_false(cgs_l7_capture_header(r, S("accept")));
	assert_true(cgs_l7_capture_any(r));
	cgs_l7_redact_free(r);
	assert_null(cgs_l7_redact_new("bad header", "", ""));
	assert_int_equal(errno, EINVAL);
	assert_null(cgs_l7_redact_new("", "a=b", ""));
	cgs_l7_redact_free(NULL);
}

static void expect_query(const struct cgs_l7_redact *r, const char *q, const char *want)
{
	char out[256];
	size_t n = cgs_l7_redact_query(r, q, strlen(q), out, sizeof(out));

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_query(void **state)
{
	struct cgs_l7_redact *r = cgs_l7_redact_new("", "token,access_token,api_key,sig", "");
	char small[12];

	(void)state;
	assert_non_null(r);
	expect_query(r, "token=abc&x=1", "token=REDACTED&x=1");
	expect_query(r, "x=1&TOKEN=abc", "x=1&TOKEN=REDACTED");
	expect_query(r, "access%5Ftoken=s3cr3t;sig=zz", "access%5Ftoken=REDACTED;sig=REDACTED");
	expect_query(r, "api%5fkey=k&API_KEY=k2", "api%5fkey=REDACTED&API_KEY=REDACTED");
	expect_query(r, "token&tokens=1&x=token", "token&tokens=1&x=token");
	expect_query(r, "token=", "token=REDACTED");
	expect_query(r, "&&token=a==b&", "&&token=REDACTED&");
	expect_query(r, "", "");
	/* Truncation: whatever fits, never the secret. */
	cgs_l7_redact_query(r, S("token=verysecretvalue"), small, sizeof(small));
	assert_null(strstr(small, "very"));
	assert_string_equal(small, "token=REDAC");
	cgs_l7_redact_free(r);
}

static void test_sampler(void **state)
{
	struct cgs_l7_sampler s;
	uint8_t id[16] = { 0 };
	int kept = 0;

	(void)state;
	cgs_l7_sampler_init(&s, 100, 0, 0);
	assert_int_equal(cgs_l7_sampler_decide(&s, id, false, 1, 1), CGS_L7_KEEP);
	cgs_l7_sampler_init(&s, 0, 500000000, 0);
	assert_int_equal(cgs_l7_sampler_decide(&s, id, false, 1, 1), CGS_L7_SAMPLED_OUT);
	assert_int_equal(cgs_l7_sampler_decide(&s, id, true, 1, 1), CGS_L7_KEEP);          /* error */
	assert_int_equal(cgs_l7_sampler_decide(&s, id, false, 500000000, 1), CGS_L7_KEEP); /* slow */
	/* 25 %: about a quarter of random trace ids, the same answer for the same id */
	cgs_l7_sampler_init(&s, 25, 0, 0);
	struct cgs_l7_rng rng;

	cgs_l7_rng_seed(&rng, 7);
	for (int i = 0; i < 40000; i++) {
		int d;

		cgs_l7_rng_id(&rng, id, 16);
		d = cgs_l7_sampler_decide(&s, id, false, 1, 1);
		assert_int_equal(cgs_l7_sampler_decide(&s, id, false, 1, 1), d);
		kept += d == CGS_L7_KEEP;
	}
	assert_in_range(kept, 9400, 10600);
	/* budget: 10 per second, burst 10, refilled with time */
	cgs_l7_sampler_init(&s, 100, 0, 10);
	kept = 0;
	for (int i = 0; i < 50; i++)
		kept += cgs_l7_sampler_decide(&s, id, true, 1, 1000000000ull) == CGS_L7_KEEP;
	assert_int_equal(kept, 10);
	assert_int_equal(cgs_l7_sampler_decide(&s, id, false, 1, 1000000000ull), CGS_L7_OVER_BUDGET);
	kept = 0;
	for (int i = 0; i < 50; i++)
		kept += cgs_l7_sampler_decide(&s, id, false, 1, 1500000000ull) == CGS_L7_KEEP;
	assert_int_equal(kept, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_sampler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
