/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for exporters/otlp_encode.c: a golden encoding of one span
 * (bytes written out by hand from the OTLP field numbers, independent of
 * protobuf-c), spans of several containers grouped into one ResourceSpans
 * each in order of appearance, every field read back, gzip that inflates
 * to the same bytes, the response (partial success) decoder, and the
 * hand-written span encoder against protobuf-c's own packing of the same
 * span, byte for byte, over thousands of random spans.
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
#include <zlib.h>

#include "exporters/otlp.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

/* ---- a tiny independent protobuf writer for the golden bytes ---- */

static void put_varint(struct cgs_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		cgs_buf_putc(b, (char)(v | 0x80));
		v >>= 7;
	}
	cgs_buf_putc(b, (char)v);
}

static void put_tag(struct cgs_buf *b, unsigned field, unsigned wire)
{
	put_varint(b, (uint64_t)field << 3 | wire);
}

static void put_bytes(struct cgs_buf *b, unsigned field, const void *p, size_t n)
{
	put_tag(b, field, 2);
	put_varint(b, n);
	cgs_buf_append(b, p, n);
}

static void put_msg(struct cgs_buf *b, unsigned field, struct cgs_buf *m)
{
	put_bytes(b, field, m->p, m->len);
	cgs_buf_free(m);
}

static void put_fixed64(struct cgs_buf *b, unsigned field, uint64_t v)
{
	put_tag(b, field, 1);
	for (int i = 0; i < 8; i++)
		cgs_buf_putc(b, (char)(v >> (8 * i)));
}

static void put_fixed32(struct cgs_buf *b, unsigned field, uint32_t v)
{
	put_tag(b, field, 5);
	for (int i = 0; i < 4; i++)
		cgs_buf_putc(b, (char)(v >> (8 * i)));
}

static struct cgs_span *make_span(struct cgs_resource *res, uint8_t seed, const char *name)
{
	struct cgs_span *s = cgs_span_new(256);

	assert_non_null(s);
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)(seed + i);
	for (int i = 0; i < 8; i++)
		s->span_id[i] = (uint8_t)(seed + 0x40 + i);
	s->kind = CGS_SPAN_KIND_SERVER;
	s->start_ns = 1700000000000000000ull;
	s->end_ns = s->start_ns + 1234567;
	s->name = cgs_span_strdup(s, name, strlen(name));
	s->res = cgs_resource_ref(res);
	return s;
}

static void test_golden(void **state)
{
	struct cgs_span *s = make_span(NULL, 1, "GET /");
	struct cgs_buf got, want, rs, ss, scope, sp, kv, av, st;

	(void)state;
	s->flags = 1;
	s->status = CGS_SPAN_STATUS_ERROR;
	cgs_span_attr_int(s, "http.response.status_code", 503);
	cgs_buf_init(&got);
	assert_int_equal(cgs_otlp_encode(&s, 1, "0.1", NULL, &got), 0);

	/* ExportTraceServiceRequest{1: ResourceSpans{1: Resource{}, 2: ScopeSpans{1: scope, 2: span}}} */
	cgs_buf_init(&want);
	cgs_buf_init(&rs);
	cgs_buf_init(&ss);
	cgs_buf_init(&scope);
	cgs_buf_init(&sp);
	cgs_buf_init(&kv);
	cgs_buf_init(&av);
	cgs_buf_init(&st);
	put_bytes(&scope, 1, "cgsight", 7);
	put_bytes(&scope, 2, "0.1", 3);
	put_bytes(&sp, 1, s->trace_id, 16);
	put_bytes(&sp, 2, s->span_id, 8);
	put_bytes(&sp, 5, "GET /", 5);
	put_tag(&sp, 6, 0);
	put_varint(&sp, 2);
	put_fixed64(&sp, 7, s->start_ns);
	put_fixed64(&sp, 8, s->end_ns);
	put_bytes(&kv, 1, "http.response.status_code", 25);
	put_tag(&av, 3, 0);
	put_varint(&av, 503);
	put_msg(&kv, 2, &av);
	put_msg(&sp, 9, &kv);
	put_tag(&st, 3, 0);
	put_varint(&st, 2);
	put_msg(&sp, 15, &st);
	put_fixed32(&sp, 16, 1);
	put_msg(&ss, 1, &scope);
	put_msg(&ss, 2, &sp);
	put_bytes(&rs, 1, "", 0); /* an empty Resource message is still sent */
	put_msg(&rs, 2, &ss);
	put_msg(&want, 1, &rs);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, want.len);
	cgs_buf_free(&got);
	cgs_buf_free(&want);
	cgs_span_free(s);
}

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Req;

static const char *kv_str(Opentelemetry__Proto__Common__V1__KeyValue **kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i]->key, key) &&
		    kv[i]->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
			return kv[i]->value->string_value;
	return NULL;
}

static void test_grouping_roundtrip(void **state)
{
	const char *ka[] = { "service.name", "web", "container.id", "aaa", "k8s.pod.name", "", "host.name", "node1" };
	const char *kb[] = { "service.name", "db", "container.id", "bbb" };
	struct cgs_resource *ra = cgs_resource_new(ka, 4), *rb = cgs_resource_new(kb, 2);
	struct cgs_span *v[4];
	struct cgs_buf out, z;
	struct cgs_otlp_ws ws = { 0 };
	Req *r;

	(void)state;
	assert_non_null(ra);
	assert_non_null(rb);
	assert_int_equal(ra->nattrs, 3); /* the empty pod name is left out */
	v[0] = make_span(ra, 0x10, "GET /a");
	v[1] = make_span(rb, 0x20, "SELECT");
	v[2] = make_span(ra, 0x30, "GET /b");
	v[3] = make_span(NULL, 0x40, "GET /c");
	v[1]->kind = CGS_SPAN_KIND_CLIENT;
	v[2]->has_parent = true;
	memset(v[2]->parent_span_id, 0x77, 8);
	v[2]->trace_state = cgs_span_strdup(v[2], "vendor=x", 8);
	cgs_span_attr_str(v[2], "url.path", "/b", 2);
	cgs_span_attr_int(v[2], "server.port", 8080);
	cgs_resource_unref(ra);
	cgs_resource_unref(rb);

	cgs_buf_init(&out);
	/* twice with the same workspace: the same bytes */
	assert_int_equal(cgs_otlp_encode(v, 4, "0.1.0", &ws, &out), 0);
	{
		struct cgs_buf again;

		cgs_buf_init(&again);
		assert_int_equal(cgs_otlp_encode(v, 4, "0.1.0", &ws, &again), 0);
		assert_int_equal(again.len, out.len);
		assert_memory_equal(again.p, out.p, out.len);
		cgs_buf_free(&again);
		out.len = 0;
	}
	assert_int_equal(cgs_otlp_encode(v, 4, "0.1.0", &ws, &out), 0);
	r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, out.len,
											       (uint8_t *)out.p);
	assert_non_null(r);
	assert_int_equal(r->n_resource_spans, 3);
	assert_string_equal(kv_str(r->resource_spans[0]->resource->attributes,
				   r->resource_spans[0]->resource->n_attributes, "service.name"), "web");
	assert_string_equal(kv_str(r->resource_spans[0]->resource->attributes,
				   r->resource_spans[0]->resource->n_attributes, "host.name"), "node1");
	assert_string_equal(kv_str(r->resource_spans[1]->resource->attributes,
				   r->resource_spans[1]->resource->n_attributes, "container.id"), "bbb");
	assert_int_equal(r->resource_spans[2]->resource->n_attributes, 0);
	assert_int_equal(r->resource_spans[0]->n_scope_spans, 1);
	assert_string_equal(r->resource_spans[0]->scope_spans[0]->scope->name, "cgsight");
	assert_string_equal(r->resource_spans[0]->scope_spans[0]->scope->version, "0.1.0");
	assert_int_equal(r->resource_spans[0]->scope_spans[0]->n_spans, 2);
	Opentelemetry__Proto__Trace__V1__Span *a = r->resource_spans[0]->scope_spans[0]->spans[0];
	Opentelemetry__Proto__Trace__V1__Span *b = r->resource_spans[0]->scope_spans[0]->spans[1];
	Opentelemetry__Proto__Trace__V1__Span *c = r->resource_spans[1]->scope_spans[0]->spans[0];

	assert_string_equal(a->name, "GET /a");
	assert_string_equal(b->name, "GET /b");
	assert_string_equal(c->name, "SELECT");
	assert_int_equal(c->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
	assert_int_equal(a->trace_id.len, 16);
	assert_memory_equal(a->trace_id.data, v[0]->trace_id, 16);
	assert_memory_equal(b->span_id.data, v[2]->span_id, 8);
	assert_int_equal(a->parent_span_id.len, 0);
	assert_int_equal(b->parent_span_id.len, 8);
	assert_int_equal(b->parent_span_id.data[0], 0x77);
	assert_string_equal(b->trace_state, "vendor=x");
	assert_int_equal(b->start_time_unix_nano, 1700000000000000000ull);
	assert_int_equal(b->end_time_unix_nano, 1700000000001234567ull);
	assert_int_equal(b->n_attributes, 2);
	assert_string_equal(kv_str(b->attributes, b->n_attributes, "url.path"), "/b");
	assert_int_equal(b->attributes[1]->value->int_value, 8080);
	assert_null(a->status);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);

	/* gzip inflates to the same bytes */
	cgs_buf_init(&z);
	assert_int_equal(cgs_otlp_gzip(out.p, out.len, &z), 0);
	assert_true((unsigned char)z.p[0] == 0x1f && (unsigned char)z.p[1] == 0x8b);
	{
		z_stream zs;
		unsigned char *plain = malloc(out.len + 16);

		memset(&zs, 0, sizeof(zs));
		assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
		zs.next_in = (Bytef *)z.p;
		zs.avail_in = (uInt)z.len;
		zs.next_out = plain;
		zs.avail_out = (uInt)(out.len + 16);
		assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
		assert_int_equal(zs.total_out, out.len);
		assert_memory_equal(plain, out.p, out.len);
		inflateEnd(&zs);
		free(plain);
	}
	cgs_buf_free(&z);
	cgs_buf_free(&out);
	for (int i = 0; i < 4; i++)
		cgs_span_free(v[i]);
	assert_int_equal(cgs_otlp_encode(v, 0, "x", NULL, &out), -EINVAL);
	cgs_otlp_ws_free(&ws);
}

static void test_span_bounds(void **state)
{
	struct cgs_span *s = cgs_span_new(16);

	(void)state;
	assert_non_null(cgs_span_strdup(s, "0123456789", 10));
	assert_null(cgs_span_strdup(s, "0123456789", 10)); /* no room: refused, not truncated */
	assert_int_equal(cgs_span_attr_str(s, "k", "abcdef", 6), -ENOSPC);
	for (int i = 0; i < CGS_SPAN_MAX_ATTRS; i++)
		assert_int_equal(cgs_span_attr_int(s, "n", i), 0);
	assert_int_equal(cgs_span_attr_int(s, "n", 1), -ENOSPC);
	cgs_span_free(s);
	cgs_span_free(NULL);
	cgs_resource_unref(NULL);
}

static void test_response(void **state)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
		OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
	uint8_t buf[64];
	size_t n;
	int64_t rej = -1;

	(void)state;
	assert_int_equal(cgs_otlp_decode_response(NULL, 0, &rej), 0);
	assert_int_equal(rej, 0);
	ps.rejected_spans = 7;
	ps.error_message = "too old";
	resp.partial_success = &ps;
	n = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, buf);
	assert_int_equal(cgs_otlp_decode_response(buf, n, &rej), 0);
	assert_int_equal(rej, 7);
	assert_int_equal(cgs_otlp_decode_response("\xff\xff\xff", 3, &rej), -EBADMSG);
}


/* ---- the span encoder against protobuf-c -------------------------------------- */

typedef Opentelemetry__Proto__Trace__V1__Span PbSpan;
typedef Opentelemetry__Proto__Trace__V1__Status PbStatus;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue PbAnyValue;

/* protobuf-c's bytes for `s`: the generated code, with every field set as the span says. */
static size_t pack_reference(const struct cgs_span *s, uint8_t *out)
{
	PbKeyValue kv[CGS_SPAN_MAX_ATTRS], *kvp[CGS_SPAN_MAX_ATTRS];
	PbAnyValue av[CGS_SPAN_MAX_ATTRS];
	PbSpan p;
	PbStatus st;

	opentelemetry__proto__trace__v1__span__init(&p);
	p.trace_id.data = (uint8_t *)s->trace_id;
	p.trace_id.len = 16;
	p.span_id.data = (uint8_t *)s->span_id;
	p.span_id.len = 8;
	if (s->has_parent) {
		p.parent_span_id.data = (uint8_t *)s->parent_span_id;
		p.parent_span_id.len = 8;
	}
	if (s->trace_state)
		p.trace_state = (char *)s->trace_state;
	p.flags = s->flags & 0xff;
	p.name = (char *)(s->name ? s->name : "");
	p.kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
	p.start_time_unix_nano = s->start_ns;
	p.end_time_unix_nano = s->end_ns;
	for (size_t i = 0; i < s->nattrs; i++) {
		opentelemetry__proto__common__v1__key_value__init(&kv[i]);
		opentelemetry__proto__common__v1__any_value__init(&av[i]);
		kv[i].key = (char *)s->attrs[i].key;
		kv[i].value = &av[i];
		if (s->attrs[i].type == CGS_ATTR_INT) {
			av[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
			av[i].int_value = s->attrs[i].i;
		} else {
			av[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			av[i].string_value = (char *)s->attrs[i].s;
		}
		kvp[i] = &kv[i];
	}
	p.n_attributes = s->nattrs;
	p.attributes = kvp;
	if (s->status != CGS_SPAN_STATUS_UNSET || s->status_message) {
		opentelemetry__proto__trace__v1__status__init(&st);
		st.code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status;
		if (s->status_message)
			st.message = (char *)s->status_message;
		p.status = &st;
	}
	assert_true(opentelemetry__proto__trace__v1__span__get_packed_size(&p) <= 65536);
	return opentelemetry__proto__trace__v1__span__pack(&p, out);
}

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* A string of 0..max bytes (some of them long enough for two-byte lengths). */
static const char *rnd_str(struct cgs_span *s, uint32_t *x, size_t max)
{
	char tmp[400];
	size_t n = rnd(x) % (max + 1);

	for (size_t i = 0; i < n; i++)
		tmp[i] = (char)(' ' + rnd(x) % 95);
	return cgs_span_strdup(s, tmp, n);
}

static void test_span_matches_protobuf_c(void **state)
{
	static const char *const keys[] = { "http.request.method", "url.path", "", "k", "server.port",
					    ("a.key.long.enough.to.need.more.than.one.hundred.and.twenty.seven.bytes."
					     "of.length.prefix.when.combined.with.its.value.xxxxxxxxxxxxxxxxxxxxxxxxxx") };
	static const int64_t ints[] = { 0, 1, 127, 128, 200, 16383, 16384, -1, INT64_MIN, INT64_MAX };
	uint8_t *want = malloc(65536);
	struct cgs_buf got;
	uint32_t x = 2463534242u;

	(void)state;
	assert_non_null(want);
	cgs_buf_init(&got);
	for (int iter = 0; iter < 5000; iter++) {
		struct cgs_span *s = cgs_span_new(24 * 400 + 2048);
		size_t wl;

		assert_non_null(s);
		for (int i = 0; i < 16; i++)
			s->trace_id[i] = (uint8_t)rnd(&x);
		for (int i = 0; i < 8; i++)
			s->span_id[i] = (uint8_t)rnd(&x);
		s->has_parent = rnd(&x) & 1;
		for (int i = 0; i < 8; i++)
			s->parent_span_id[i] = (uint8_t)rnd(&x);
		s->kind = (uint8_t)(rnd(&x) % 4);
		s->status = (uint8_t)(rnd(&x) % 3);
		s->flags = rnd(&x) % 3 ? 0 : rnd(&x);
		s->start_ns = rnd(&x) % 4 ? (uint64_t)rnd(&x) << 32 | rnd(&x) : 0;
		s->end_ns = rnd(&x) % 4 ? (uint64_t)rnd(&x) << 32 | rnd(&x) : 0;
		s->name = rnd(&x) % 5 ? rnd_str(s, &x, 300) : NULL;
		s->trace_state = rnd(&x) % 3 ? NULL : rnd_str(s, &x, 200);
		s->status_message = rnd(&x) % 3 ? NULL : rnd_str(s, &x, 150);
		for (size_t i = 0, n = rnd(&x) % (CGS_SPAN_MAX_ATTRS + 1); i < n; i++) {
			const char *k = keys[rnd(&x) % (sizeof(keys) / sizeof(keys[0]))];

			if (rnd(&x) & 1)
				assert_int_equal(cgs_span_attr_int(s, k, (int64_t)((uint64_t)ints[rnd(&x) % 10] + rnd(&x) % 3)), 0);
			else
				s->attrs[s->nattrs++] = (struct cgs_attr){ .key = k, .type = CGS_ATTR_STR,
									   .s = rnd_str(s, &x, 399) };
		}
		wl = pack_reference(s, want);
		got.len = 0;
		assert_int_equal(cgs_otlp_span_encode(s, &got), 0);
		assert_int_equal(got.len, wl);
		assert_memory_equal(got.p, want, wl);
		cgs_span_free(s);
	}
	cgs_buf_free(&got);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_grouping_roundtrip),
		cmocka_unit_test(test_span_bounds),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_span_matches_protobuf_c),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
