/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OTLP data model cgsight exports (spans, resources) and its pure
 * encoding: spans -> ExportTraceServiceRequest protobuf bytes, gzip, and the
 * response decoding. The messages are those of proto/ (a subset of
 * opentelemetry-proto with the published field numbers); resources, the
 * scope and the response go through the protobuf-c code generated from it
 * at build time, spans through cgs_otlp_span_encode below (the hot path),
 * which the unit tests hold to protobuf-c's bytes. No I/O, no logging.
 */
#include "otlp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest PbRequest;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse PbResponse;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans PbResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans PbScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span PbSpan;
typedef Opentelemetry__Proto__Trace__V1__Status PbStatus;
typedef Opentelemetry__Proto__Resource__V1__Resource PbResource;
typedef Opentelemetry__Proto__Common__V1__KeyValue PbKeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue PbAnyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope PbScope;

/* ---- resources ----------------------------------------------------------- */

struct cgs_resource *cgs_resource_new(const char *const *kv, size_t npairs)
{
	struct cgs_resource *r = calloc(1, sizeof(*r));
	size_t total = 0, off = 0;

	if (!r)
		return NULL;
	for (size_t i = 0; i < npairs; i++)
		if (kv[2 * i + 1] && kv[2 * i + 1][0])
			total += strlen(kv[2 * i + 1]) + 1;
	r->strs = malloc(total ? total : 1);
	if (!r->strs) {
		free(r);
		return NULL;
	}
	for (size_t i = 0; i < npairs && r->nattrs < CGS_RESOURCE_MAX_ATTRS; i++) {
		const char *v = kv[2 * i + 1];
		size_t n;

		if (!v || !v[0])
			continue;
		n = strlen(v) + 1;
		memcpy(r->strs + off, v, n);
		r->attrs[r->nattrs++] = (struct cgs_attr){ .key = kv[2 * i], .type = CGS_ATTR_STR, .s = r->strs + off };
		off += n;
	}
	r->refs = 1;
	return r;
}

struct cgs_resource *cgs_resource_ref(struct cgs_resource *r)
{
	if (r)
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

void cgs_resource_unref(struct cgs_resource *r)
{
	if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(r->strs);
	free(r);
}

const char *cgs_resource_get(const struct cgs_resource *r, const char *key)
{
	for (size_t i = 0; r && i < r->nattrs; i++)
		if (!strcmp(r->attrs[i].key, key))
			return r->attrs[i].s;
	return NULL;
}

/* ---- spans ----------------------------------------------------------------- */

struct cgs_span *cgs_span_new(size_t str_cap)
{
	struct cgs_span *s = malloc(sizeof(*s) + str_cap);

	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->str_cap = str_cap;
	return s;
}

void cgs_span_free(struct cgs_span *s)
{
	if (!s)
		return;
	cgs_resource_unref(s->res);
	free(s);
}

const char *cgs_span_strdup(struct cgs_span *s, const char *p, size_t n)
{
	char *d;

	if (s->str_cap - s->str_len < n + 1)
		return NULL;
	d = s->strs + s->str_len;
	memcpy(d, p, n);
	d[n] = '\0';
	s->str_len += n + 1;
	return d;
}

int cgs_span_attr_str(struct cgs_span *s, const char *key, const char *p, size_t n)
{
	const char *v;

	if (s->nattrs >= CGS_SPAN_MAX_ATTRS || !(v = cgs_span_strdup(s, p, n)))
		return -ENOSPC;
	s->attrs[s->nattrs++] = (struct cgs_attr){ .key = key, .type = CGS_ATTR_STR, .s = v };
	return 0;
}

int cgs_span_attr_int(struct cgs_span *s, const char *key, int64_t v)
{
	if (s->nattrs >= CGS_SPAN_MAX_ATTRS)
		return -ENOSPC;
	s->attrs[s->nattrs++] = (struct cgs_attr){ .key = key, .type = CGS_ATTR_INT, .i = v };
	return 0;
}

const struct cgs_attr *cgs_span_attr(const struct cgs_span *s, const char *key)
{
	for (size_t i = 0; i < s->nattrs; i++)
		if (!strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	return NULL;
}

/* ---- encoding -------------------------------------------------------------- */

/*
 * protobuf-c computes a nested message's size again at every level it packs
 * (a leaf string of a span is measured about seven times in a full request
 * tree). So each Span is packed on its own with protobuf-c (its attributes
 * are the only nesting below it) and the three outer levels, repeated
 * message fields holding those bytes (ExportTraceServiceRequest.
 * resource_spans, ResourceSpans.resource / .scope_spans, ScopeSpans.scope /
 * .spans), are framed here: tag, length, bytes - the same encoding
 * protobuf-c would produce, fields in the same order.
 */
#define TAG_LEN(field) ((uint8_t)((field) << 3 | 2)) /* length-delimited field tag, fields < 16 */

/* One message's key/value tree: at most CGS_SPAN_MAX_ATTRS attributes at a time. */
struct kvs {
	PbKeyValue kv[CGS_SPAN_MAX_ATTRS];
	PbKeyValue *ptrs[CGS_SPAN_MAX_ATTRS];
	PbAnyValue av[CGS_SPAN_MAX_ATTRS];
};

static size_t set_attrs(struct kvs *k, const struct cgs_attr *a, size_t n)
{
	if (n > CGS_SPAN_MAX_ATTRS)
		n = CGS_SPAN_MAX_ATTRS;
	for (size_t i = 0; i < n; i++) {
		PbKeyValue *kv = &k->kv[i];
		PbAnyValue *av = &k->av[i];

		opentelemetry__proto__common__v1__key_value__init(kv);
		opentelemetry__proto__common__v1__any_value__init(av);
		kv->key = (char *)a[i].key;
		kv->value = av;
		if (a[i].type == CGS_ATTR_INT) {
			av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
			av->int_value = a[i].i;
		} else {
			av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			av->string_value = (char *)(a[i].s ? a[i].s : "");
		}
		k->ptrs[i] = kv;
	}
	return n;
}

struct appender {
	ProtobufCBuffer base;
	struct cgs_buf *b;
};

static void append(ProtobufCBuffer *pb, size_t len, const uint8_t *data)
{
	cgs_buf_append(((struct appender *)(void *)pb)->b, data, len);
}

/*
 * Spans are encoded here, not by protobuf-c: its generic packer walks the
 * descriptors twice per message (sizes, then bytes) and measures every
 * nested message again at each level, which made encoding the largest cost
 * of the pipeline (bench/l7_pipeline.c: about 2 us per span, three times
 * the cost of building it). The bytes are the ones protobuf-c produces -
 * fields in field-number order, proto3 defaults left out, oneof members
 * always written - and tests/unit/test_otlp_encode.c holds the two to
 * byte-for-byte equality on random spans.
 */
static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *o, uint64_t v)
{
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}

/* Bytes of a length-delimited field holding `len` bytes (fields < 16). */
static size_t field_len(size_t len)
{
	return 1 + varint_len(len) + len;
}

static uint8_t *put_field(uint8_t *o, unsigned field, const void *p, size_t len)
{
	*o++ = TAG_LEN(field);
	o = put_varint(o, len);
	memcpy(o, p, len);
	return o + len;
}

static uint8_t *put_fixed64(uint8_t *o, unsigned field, uint64_t v)
{
	*o++ = (uint8_t)(field << 3 | 1);
	for (int i = 0; i < 8; i++)
		*o++ = (uint8_t)(v >> (8 * i));
	return o;
}

/* Sizes of one attribute's KeyValue: its key, its AnyValue and the whole message. */
struct kv_size {
	size_t key, str, any, kv;
};

static size_t kv_sizes(const struct cgs_attr *a, struct kv_size *z)
{
	z->key = strlen(a->key);
	z->str = a->type == CGS_ATTR_INT ? 0 : strlen(a->s ? a->s : "");
	z->any = a->type == CGS_ATTR_INT ? 1 + varint_len((uint64_t)a->i) : field_len(z->str);
	z->kv = (z->key ? field_len(z->key) : 0) + field_len(z->any);
	return field_len(z->kv);
}

int cgs_otlp_span_encode(const struct cgs_span *s, struct cgs_buf *b)
{
	size_t n = s->nattrs < CGS_SPAN_MAX_ATTRS ? s->nattrs : CGS_SPAN_MAX_ATTRS;
	size_t ts = s->trace_state ? strlen(s->trace_state) : 0, nm = s->name ? strlen(s->name) : 0;
	size_t sm = s->status_message ? strlen(s->status_message) : 0, st = 0, total;
	bool status = s->status != CGS_SPAN_STATUS_UNSET || s->status_message;
	struct kv_size z[CGS_SPAN_MAX_ATTRS];
	uint8_t *o;

	total = field_len(sizeof(s->trace_id)) + field_len(sizeof(s->span_id));
	if (ts)
		total += field_len(ts);
	if (s->has_parent)
		total += field_len(sizeof(s->parent_span_id));
	if (nm)
		total += field_len(nm);
	if (s->kind)
		total += 1 + varint_len(s->kind);
	if (s->start_ns)
		total += 9;
	if (s->end_ns)
		total += 9;
	for (size_t i = 0; i < n; i++)
		total += kv_sizes(&s->attrs[i], &z[i]);
	if (status) {
		st = (sm ? field_len(sm) : 0) + (s->status ? 1 + varint_len(s->status) : 0);
		total += field_len(st);
	}
	if (s->flags & 0xff)
		total += 2 + 4;
	if (cgs_buf_reserve(b, total) < 0)
		return -ENOMEM;
	o = (uint8_t *)b->p + b->len;
	o = put_field(o, 1, s->trace_id, sizeof(s->trace_id));
	o = put_field(o, 2, s->span_id, sizeof(s->span_id));
	if (ts)
		o = put_field(o, 3, s->trace_state, ts);
	if (s->has_parent)
		o = put_field(o, 4, s->parent_span_id, sizeof(s->parent_span_id));
	if (nm)
		o = put_field(o, 5, s->name, nm);
	if (s->kind) {
		*o++ = 6 << 3;
		o = put_varint(o, s->kind);
	}
	if (s->start_ns)
		o = put_fixed64(o, 7, s->start_ns);
	if (s->end_ns)
		o = put_fixed64(o, 8, s->end_ns);
	for (size_t i = 0; i < n; i++) {
		const struct cgs_attr *a = &s->attrs[i];

		*o++ = TAG_LEN(9); /* Span.attributes: KeyValue */
		o = put_varint(o, z[i].kv);
		if (z[i].key)
			o = put_field(o, 1, a->key, z[i].key);
		*o++ = TAG_LEN(2); /* KeyValue.value: AnyValue */
		o = put_varint(o, z[i].any);
		if (a->type == CGS_ATTR_INT) {
			*o++ = 3 << 3; /* AnyValue.int_value */
			o = put_varint(o, (uint64_t)a->i);
		} else {
			o = put_field(o, 1, a->s ? a->s : "", z[i].str); /* AnyValue.string_value */
		}
	}
	if (status) {
		*o++ = TAG_LEN(15);
		o = put_varint(o, st);
		if (sm)
			o = put_field(o, 2, s->status_message, sm);
		if (s->status) {
			*o++ = 3 << 3;
			o = put_varint(o, s->status);
		}
	}
	if (s->flags & 0xff) {
		uint32_t f = s->flags & 0xff;

		*o++ = (uint8_t)(16 << 3 | 5 | 0x80); /* field 16, fixed32: a two-byte tag */
		*o++ = 1;
		for (int i = 0; i < 4; i++)
			*o++ = (uint8_t)(f >> (8 * i));
	}
	b->len = (size_t)((char *)o - b->p);
	return 0;
}

static void pack_resource(const struct cgs_resource *r, struct kvs *k, struct cgs_buf *b)
{
	struct appender ap = { .base = { .append = append }, .b = b };
	PbResource p;

	opentelemetry__proto__resource__v1__resource__init(&p);
	if (r) {
		p.n_attributes = set_attrs(k, r->attrs, r->nattrs);
		p.attributes = k->ptrs;
	}
	opentelemetry__proto__resource__v1__resource__pack_to_buffer(&p, &ap.base);
}

void cgs_otlp_ws_free(struct cgs_otlp_ws *ws)
{
	if (!ws)
		return;
	cgs_buf_free(&ws->idx);
	cgs_buf_free(&ws->res);
	cgs_buf_free(&ws->bytes);
	cgs_buf_free(&ws->spans);
}

/* Aligned offsets into the index block. */
static size_t carve(size_t *off, size_t size)
{
	size_t o = (*off + 15) & ~(size_t)15;

	*off = o + size;
	return o;
}

int cgs_otlp_frame(const struct cgs_otlp_qspan *v, size_t n, const char *bytes, const char *version,
		   struct cgs_otlp_ws *ws, struct cgs_buf *out)
{
	size_t ng = 0, last = 0, off = 0, total = 0, scope_off, scope_len;
	size_t o_gres, o_gcount, o_gstart, o_order, o_grp, o_roff;
	struct cgs_resource **gres;
	size_t *gcount, *gstart, *order, *grp, *roff;
	PbScope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
	struct appender ap;
	struct kvs k;
	char *base;
	uint8_t *o;
	int e = -ENOMEM;

	if (!n)
		return -EINVAL;
	/* Index arrays: group of first appearance per resource, spans ordered by group. */
	o_gres = carve(&off, n * sizeof(*gres));
	o_gcount = carve(&off, n * sizeof(size_t));
	o_gstart = carve(&off, (n + 1) * sizeof(size_t));
	o_order = carve(&off, n * sizeof(size_t));
	o_grp = carve(&off, n * sizeof(size_t));        /* span i's group */
	o_roff = carve(&off, (n + 1) * sizeof(size_t)); /* group g's resource: [roff[g], roff[g+1]) of ws->res */
	if (ws->idx.cap < off + 16 && cgs_buf_reserve(&ws->idx, off + 16 - ws->idx.len) < 0)
		goto out;
	base = (char *)(((uintptr_t)ws->idx.p + 15) & ~(uintptr_t)15);
	gres = (struct cgs_resource **)(void *)(base + o_gres);
	gcount = (size_t *)(void *)(base + o_gcount);
	gstart = (size_t *)(void *)(base + o_gstart);
	order = (size_t *)(void *)(base + o_order);
	grp = (size_t *)(void *)(base + o_grp);
	roff = (size_t *)(void *)(base + o_roff);
	memset(gcount, 0, n * sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		struct cgs_resource *r = v[i].res;
		size_t g = ng;

		if (ng && gres[last] == r) {
			g = last;
		} else {
			for (size_t j = 0; j < ng; j++)
				if (gres[j] == r) {
					g = j;
					break;
				}
		}
		if (g == ng)
			gres[ng++] = r;
		gcount[g]++;
		grp[i] = last = g;
	}
	gstart[0] = 0;
	for (size_t g = 0; g < ng; g++)
		gstart[g + 1] = gstart[g] + gcount[g];
	memset(gcount, 0, ng * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		order[gstart[grp[i]] + gcount[grp[i]]++] = i;

	/* Every resource and the scope, packed one after the other. */
	ws->res.len = 0;
	for (size_t g = 0; g < ng; g++) {
		roff[g] = ws->res.len;
		pack_resource(gres[g], &k, &ws->res);
	}
	roff[ng] = ws->res.len;
	scope.name = "cgsight";
	scope.version = (char *)(version ? version : "");
	scope_off = ws->res.len;
	ap = (struct appender){ .base = { .append = append }, .b = &ws->res };
	opentelemetry__proto__common__v1__instrumentation_scope__pack_to_buffer(&scope, &ap.base);
	scope_len = ws->res.len - scope_off;
	if (ws->res.err)
		goto out;

	/* Sizes of the outer levels, then the framing around the packed bytes. */
	for (size_t g = 0; g < ng; g++) {
		size_t ss = field_len(scope_len), rs;

		for (size_t p = gstart[g]; p < gstart[g + 1]; p++)
			ss += field_len(v[order[p]].len);
		rs = field_len(roff[g + 1] - roff[g]) + field_len(ss);
		total += field_len(rs);
	}
	if (cgs_buf_reserve(out, total) < 0)
		goto out;
	o = (uint8_t *)out->p + out->len;
	for (size_t g = 0; g < ng; g++) {
		size_t ss = field_len(scope_len), rs, rl = roff[g + 1] - roff[g];

		for (size_t p = gstart[g]; p < gstart[g + 1]; p++)
			ss += field_len(v[order[p]].len);
		rs = field_len(rl) + field_len(ss);
		*o++ = TAG_LEN(1); /* ExportTraceServiceRequest.resource_spans */
		o = put_varint(o, rs);
		o = put_field(o, 1, ws->res.p + roff[g], rl); /* ResourceSpans.resource */
		*o++ = TAG_LEN(2);                             /* ResourceSpans.scope_spans */
		o = put_varint(o, ss);
		o = put_field(o, 1, ws->res.p + scope_off, scope_len); /* ScopeSpans.scope */
		for (size_t p = gstart[g]; p < gstart[g + 1]; p++)    /* ScopeSpans.spans */
			o = put_field(o, 2, bytes + v[order[p]].off, v[order[p]].len);
	}
	out->len = (size_t)((char *)o - out->p);
	e = 0;
out:
	return e;
}

int cgs_otlp_encode(struct cgs_span *const *spans, size_t n, const char *version, struct cgs_otlp_ws *ws,
		    struct cgs_buf *out)
{
	struct cgs_otlp_ws local;
	struct cgs_otlp_qspan *v;
	int e = -ENOMEM;

	if (!n)
		return -EINVAL;
	if (!ws) {
		memset(&local, 0, sizeof(local));
		ws = &local;
	}
	ws->bytes.len = 0;
	ws->spans.len = 0;
	if (cgs_buf_reserve(&ws->spans, n * sizeof(*v) + 16) < 0)
		goto out;
	v = (struct cgs_otlp_qspan *)(void *)(((uintptr_t)ws->spans.p + 15) & ~(uintptr_t)15);
	for (size_t i = 0; i < n; i++) {
		v[i].res = spans[i]->res;
		v[i].off = ws->bytes.len;
		if (cgs_otlp_span_encode(spans[i], &ws->bytes) < 0)
			goto out;
		v[i].len = ws->bytes.len - v[i].off;
	}
	e = cgs_otlp_frame(v, n, ws->bytes.p, version, ws, out);
out:
	if (ws == &local)
		cgs_otlp_ws_free(&local);
	return e;
}

int cgs_otlp_gzip(const void *p, size_t len, struct cgs_buf *out)
{
	z_stream zs;
	size_t bound;
	int r;

	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16: a gzip wrapper rather than zlib's. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, (uLong)len);
	if (cgs_buf_reserve(out, bound) < 0) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out->p + out->len;
	zs.avail_out = (uInt)bound;
	r = deflate(&zs, Z_FINISH);
	if (r != Z_STREAM_END) {
		deflateEnd(&zs);
		return -EIO;
	}
	out->len += zs.total_out;
	deflateEnd(&zs);
	return 0;
}

int cgs_otlp_decode_response(const void *p, size_t len, int64_t *rejected)
{
	PbResponse *r;

	*rejected = 0;
	if (!len)
		return 0;
	r = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(NULL, len, p);
	if (!r)
		return -EBADMSG;
	if (r->partial_success)
		*rejected = r->partial_success->rejected_spans;
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(r, NULL);
	return 0;
}
