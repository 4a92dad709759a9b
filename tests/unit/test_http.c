/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the HTTP endpoint's request decision (agent/http.c,
 * cgs_http_decide) and of the CGSIGHT_TEST_DISABLE parser (agent/bpf_probe.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bpf_probe.h"
#include "agent/http.h"

static struct cgs_http_decision decide(const char *method, const char *path, const char *auth, const char *ae,
				       const char *token)
{
	struct cgs_http_request rq = { method, path, auth, ae };
	struct cgs_http_decision d;

	cgs_http_decide(&rq, token, &d);
	return d;
}

static void test_routes(void **state)
{
	(void)state;
	assert_int_equal(decide("GET", "/metrics", NULL, NULL, NULL).route, CGS_HTTP_ROUTE_METRICS);
	assert_int_equal(decide("HEAD", "/metrics", NULL, NULL, NULL).route, CGS_HTTP_ROUTE_METRICS);
	assert_int_equal(decide("GET", "/api/v1/containers", NULL, NULL, NULL).route, CGS_HTTP_ROUTE_API);
	assert_int_equal(decide("GET", "/healthz", NULL, NULL, NULL).route, CGS_HTTP_ROUTE_HEALTHZ);
	assert_int_equal(decide("GET", "/", NULL, NULL, NULL).route, CGS_HTTP_ROUTE_INDEX);
	/* Exact paths only. */
	assert_int_equal(decide("GET", "/metrics/", NULL, NULL, NULL).status, 404);
	assert_int_equal(decide("GET", "/METRICS", NULL, NULL, NULL).status, 404);
	assert_int_equal(decide("GET", "", NULL, NULL, NULL).status, 404);
	assert_int_equal(decide("GET", NULL, NULL, NULL, NULL).status, 404);
	/* Other methods: 405 before anything else (the body is never read). */
	assert_int_equal(decide("POST", "/metrics", NULL, NULL, "t").route, CGS_HTTP_ROUTE_BAD_METHOD);
	assert_int_equal(decide("get", "/metrics", NULL, NULL, NULL).status, 405);
	assert_int_equal(decide(NULL, "/metrics", NULL, NULL, NULL).status, 405);
}

static void test_gzip(void **state)
{
	(void)state;
	assert_true(decide("GET", "/metrics", NULL, "gzip", NULL).gzip);
	assert_true(decide("GET", "/metrics", NULL, "br, GZIP;q=0.5", NULL).gzip);
	assert_false(decide("GET", "/metrics", NULL, "gzip;q=0", NULL).gzip);
	assert_false(decide("GET", "/metrics", NULL, NULL, NULL).gzip);
	/* The JSON API is sent plain. */
	assert_false(decide("GET", "/api/v1/containers", NULL, "gzip", NULL).gzip);
}

static void test_token(void **state)
{
	(void)state;
	assert_int_equal(decide("GET", "/metrics", NULL, NULL, "s3cret").status, 401);
	assert_int_equal(decide("GET", "/metrics", "Bearer s3cre", NULL, "s3cret").status, 401);
	assert_int_equal(decide("GET", "/metrics", "Bearer s3cret2", NULL, "s3cret").status, 401);
	assert_int_equal(decide("GET", "/metrics", "Basic s3cret", NULL, "s3cret").status, 401);
	assert_int_equal(decide("GET", "/metrics", "Bearer", NULL, "s3cret").status, 401);
	assert_int_equal(decide("GET", "/metrics", "Bearer s3cret", NULL, "s3cret").route, CGS_HTTP_ROUTE_METRICS);
	assert_int_equal(decide("GET", "/metrics", "bearer   s3cret", NULL, "s3cret").status, 200);
	assert_int_equal(decide("GET", "/api/v1/containers", "Bearer s3cret", NULL, "s3cret").status, 200);
	/* /healthz stays open for probes; unknown paths say nothing without the token. */
	assert_int_equal(decide("GET", "/healthz", NULL, NULL, "s3cret").status, 200);
	assert_int_equal(decide("GET", "/nope", NULL, NULL, "s3cret").status, 401);
	assert_int_equal(decide("GET", "/nope", "Bearer s3cret", NULL, "s3cret").status, 404);
}

static void test_disable_spec(void **state)
{
	struct cgs_test_disable d;
	char err[256];
	(void)state;

	assert_int_equal(cgs_test_disable_parse(NULL, &d, err, sizeof(err)), 0);
	assert_int_equal(d.features, 0);
	assert_int_equal(cgs_test_disable_parse(" tp_btf , ringbuf,collector:sched,,", &d, err, sizeof(err)), 0);
	assert_int_equal(d.features, CGS_FEAT_TP_BTF | CGS_FEAT_RINGBUF);
	assert_int_equal(d.ncollectors, 1);
	assert_true(cgs_test_disable_collector(&d, "sched"));
	assert_false(cgs_test_disable_collector(&d, "mem"));
	assert_int_equal(cgs_test_disable_parse("local_storage", &d, err, sizeof(err)), 0);
	assert_int_equal(d.features, CGS_FEAT_TASK_STORAGE | CGS_FEAT_SK_STORAGE | CGS_FEAT_CGRP_STORAGE);
	assert_int_equal(d.designs, 0);
	assert_int_equal(cgs_test_disable_parse("sched_rq,mem_tp_btf", &d, err, sizeof(err)), 0);
	assert_int_equal(d.features, 0);
	assert_int_equal(d.designs, CGS_DESIGN_SCHED_RQ | CGS_DESIGN_MEM_TP_BTF);
	assert_int_equal(cgs_test_disable_parse("sched_rqx", &d, err, sizeof(err)), -EINVAL);
	setenv(CGS_TEST_DISABLE_ENV, "tp_btf,sched_rq", 1);
	assert_true(cgs_test_disable_design(CGS_DESIGN_SCHED_RQ));
	assert_false(cgs_test_disable_design(CGS_DESIGN_MEM_TP_BTF));
	unsetenv(CGS_TEST_DISABLE_ENV);
	assert_false(cgs_test_disable_design(CGS_DESIGN_SCHED_RQ));
	assert_int_equal(cgs_test_disable_parse("tp_btf,tp_btfx", &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'tp_btfx'"));
	assert_int_equal(cgs_test_disable_parse("collector:", &d, err, sizeof(err)), -EINVAL);
	assert_string_equal(cgs_feature_name(CGS_FEAT_SK_STORAGE), "sk_storage");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_disable_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
