/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON encoder for /api/v1/containers, built with json-c. Shape:
 * {"generation":N,"timestamp":T,"containers":[{"id":path,"cgroup_id":N,
 *  "container_id":..,"runtime":..,"name":..,"image":..,"container":..,"pod":..,
 *  "namespace":..,"pod_uid":..,"qos":..,"start_time":T,
 *  "metrics":{"<family>":value | {"<label value>":value} |
 *             {"buckets":[[le,cumulative],...],"sum":S,"count":N}}}],
 *  "agent":{...self metrics...},"events":[{"type":..,"time":..,"cgroup_id":..},...]}
 * Families with two extra labels key their values by "v0,v1".
 */
#include "api.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../agent/metrics.h"
#include "../agent/store.h"

/* A number with 15 significant digits, as in the exposition (json-c would print 17). */
static json_object *num(double v)
{
	char s[32];

	if (isnan(v) || isinf(v))
		return NULL; /* JSON has no such numbers: null */
	snprintf(s, sizeof(s), "%.15g", v);
	return json_object_new_double_s(v, s);
}

/* A histogram's buckets, sum and count; a summary's sum and count. */
static json_object *hist_json(const struct cgs_family *f, const struct cgs_sample *x)
{
	json_object *h = json_object_new_object(), *b = NULL;
	uint64_t cum = 0;

	if (f->kind == CGS_KIND_HISTOGRAM)
		b = json_object_new_array();
	for (unsigned i = 0; i <= f->nbounds; i++) {
		json_object *pair;

		cum += x->counts ? x->counts[i] : 0;
		if (!b)
			continue;
		pair = json_object_new_array();
		json_object_array_add(pair, i < f->nbounds ? num(f->bounds[i])
							    : json_object_new_string("+Inf"));
		json_object_array_add(pair, json_object_new_uint64(cum));
		json_object_array_add(b, pair);
	}
	if (b)
		json_object_object_add(h, "buckets", b);
	json_object_object_add(h, "sum", num(x->value));
	json_object_object_add(h, "count", json_object_new_uint64(cum));
	return h;
}

static json_object *metrics_json(const struct cgs_samples *sm)
{
	json_object *m = json_object_new_object();

	for (size_t i = 0; i < sm->n; i++) {
		const struct cgs_sample *x = &sm->v[i];
		const struct cgs_family *f = &cgs_families[x->family];
		bool dist = f->kind == CGS_KIND_HISTOGRAM || f->kind == CGS_KIND_SUMMARY;
		json_object *val = dist ? hist_json(f, x) : num(x->value);

		if (!f->labels[0]) {
			json_object_object_add(m, f->name, val);
			continue;
		}
		json_object *sub;
		char key[160];

		if (!json_object_object_get_ex(m, f->name, &sub)) {
			sub = json_object_new_object();
			json_object_object_add(m, f->name, sub);
		}
		/* "v0[,v1[,v2]]": the values of the family's extra labels. */
		key[0] = '\0';
		for (int l = 0, o = 0; l < CGS_METRIC_MAX_LABELS && f->labels[l] && o < (int)sizeof(key); l++)
			o += snprintf(key + o, sizeof(key) - (size_t)o, "%s%s", l ? "," : "", x->lv[l] ? x->lv[l] : "");
		json_object_object_add(sub, key, val);
	}
	return m;
}

int cgs_api_render_containers(const struct cgs_snapshot *s, struct cgs_buf *out)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	const char *text;
	size_t len;

	if (!root || !arr) {
		json_object_put(root);
		json_object_put(arr);
		return -ENOMEM;
	}
	json_object_object_add(root, "generation", json_object_new_uint64(s->generation));
	json_object_object_add(root, "timestamp", num(s->taken));
	for (size_t i = 0; i < s->n; i++) {
		const struct cgs_snap_container *c = &s->c[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_string(c->path));
		json_object_object_add(o, "cgroup_id", json_object_new_uint64(c->cgroup_id));
		json_object_object_add(o, "container_id", json_object_new_string(c->container_id));
		json_object_object_add(o, "runtime", json_object_new_string(c->runtime));
		json_object_object_add(o, "name", json_object_new_string(c->meta.name));
		json_object_object_add(o, "image", json_object_new_string(c->meta.image));
		json_object_object_add(o, "container", json_object_new_string(c->meta.container));
		json_object_object_add(o, "pod", json_object_new_string(c->meta.pod));
		json_object_object_add(o, "namespace", json_object_new_string(c->meta.namespace));
		json_object_object_add(o, "pod_uid", json_object_new_string(c->meta.pod_uid));
		json_object_object_add(o, "qos", json_object_new_string(c->qos));
		json_object_object_add(o, "start_time", num(c->start_time));
		json_object_object_add(o, "metrics", metrics_json(&c->samples));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "containers", arr);
	json_object_object_add(root, "agent", metrics_json(&s->agent));
	text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &len);
	if (text && len >= 2) {
		/* Splice in the events array, already JSON, before the closing brace. */
		cgs_buf_append(out, text, len - 1);
		cgs_buf_puts(out, ",\"events\":");
		cgs_buf_puts(out, s->events_json ? s->events_json : "[]");
		cgs_buf_putc(out, '}');
	}
	json_object_put(root);
	return text ? out->err : -ENOMEM;
}
