/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's own events file (events_file, written by agent/events.c: one
 * JSON object per line, e.g. an OOM kill) read by the log pipeline like
 * any log file, so events get the same at-least-once delivery: offsets
 * committed after Fluentd's ack, the spool, restarts, rotations. Only the
 * records differ: each event's fields become the record's fields (numbers
 * stay numbers), with the "kubernetes" map of log records built from the
 * event's own container fields (copied when the event happened: the
 * container may be gone when the line is read), under events_tag.
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <msgpack.h>
#include <string.h>
#include <time.h>

#include "../agent/config.h"
#include "logs.h"

bool lg_is_events_path(const struct lg *lg, const char *path)
{
	const char *ef = lg->cfg->events_file;
	size_t n = strlen(ef);

	return n && !strncmp(path, ef, n) && (!path[n] || (path[n] == '.' && path[n + 1]));
}

static int buf_write(void *data, const char *p, size_t n)
{
	struct cgs_buf *b = data;

	cgs_buf_append(b, p, n);
	return b->err;
}

static void pack_value(msgpack_packer *pk, json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		msgpack_pack_nil(pk);
		break;
	case json_type_boolean:
		if (json_object_get_boolean(v))
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case json_type_int: {
		int64_t i = json_object_get_int64(v);

		/* json-c keeps integers above INT64_MAX as unsigned (get_int64 clamps them). */
		if (i == INT64_MAX)
			msgpack_pack_uint64(pk, json_object_get_uint64(v));
		else
			msgpack_pack_int64(pk, i);
		break;
	}
	case json_type_double:
		msgpack_pack_double(pk, json_object_get_double(v));
		break;
	case json_type_string: {
		size_t n = (size_t)json_object_get_string_len(v);

		msgpack_pack_str_with_body(pk, json_object_get_string(v), n);
		break;
	}
	case json_type_array: {
		size_t n = json_object_array_length(v);

		msgpack_pack_array(pk, n);
		for (size_t i = 0; i < n; i++)
			pack_value(pk, json_object_array_get_idx(v, i));
		break;
	}
	case json_type_object:
		msgpack_pack_map(pk, (size_t)json_object_object_length(v));
		json_object_object_foreach(v, k, x) {
			msgpack_pack_str_with_body(pk, k, strlen(k));
			pack_value(pk, x);
		}
		break;
	}
}

/* A string field of the event, "" when absent or not a string. */
static const char *field(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* EventTime (ext type 0): the event's "time" (seconds since the epoch), else now. */
static void pack_time(msgpack_packer *pk, json_object *o, int64_t now_ns)
{
	json_object *v;
	double t = -1;
	uint32_t sec, nsec;
	uint8_t et[8];

	if (json_object_object_get_ex(o, "time", &v) &&
	    (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		t = json_object_get_double(v);
	if (!(t >= 0 && t < 4294967296.0)) {
		sec = (uint32_t)(now_ns / 1000000000);
		nsec = (uint32_t)(now_ns % 1000000000);
	} else {
		double s = floor(t);
		long long ns = llround((t - s) * 1e9);

		sec = (uint32_t)s;
		nsec = (uint32_t)(ns > 999999999 ? 999999999 : ns);
	}
	put_be32(et, sec);
	put_be32(et + 4, nsec);
	msgpack_pack_ext(pk, 8, 0);
	msgpack_pack_ext_body(pk, et, 8);
}

/* Exactly `len` bytes as one JSON object (trailing whitespace allowed), or NULL. */
static json_object *parse_object(const char *line, size_t len)
{
	struct json_tokener *tok;
	json_object *o;
	size_t end;

	if (!len || len > INT32_MAX || memchr(line, '\0', len))
		return NULL;
	tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	end = json_tokener_get_error(tok) == json_tokener_success ? json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	if (o && json_object_is_type(o, json_type_object) && end) {
		while (end < len && (line[end] == ' ' || line[end] == '\t' || line[end] == '\r'))
			end++;
		if (end == len)
			return o;
	}
	json_object_put(o);
	return NULL;
}

int cgs_logs_event_entry(const char *line, size_t len, const char *tmpl, const char *host, int64_t now_ns,
			 struct cgs_buf *out, char *tag, size_t taglen)
{
	json_object *o = parse_object(line, len), *k8s;
	size_t len0 = out->len;
	msgpack_packer pk;

	if (!o)
		return -EBADMSG;
	/* Outside Kubernetes the container is known by its runtime name (as for log records). */
	const char *container = *field(o, "container") ? field(o, "container") : field(o, "name");
	struct lg_meta m = {
		.namespace_name = (char *)field(o, "namespace"),
		.pod_name = (char *)field(o, "pod"),
		.pod_id = (char *)field(o, "pod_uid"),
		.container_name = (char *)container,
		.container_id = (char *)field(o, "container_id"),
		.image = (char *)field(o, "image"),
		.name = (char *)field(o, "name"),
		.runtime = (char *)field(o, "runtime"),
	};
	struct cgs_fwd_meta fm = {
		.namespace_name = m.namespace_name, .pod_name = m.pod_name, .pod_id = m.pod_id,
		.container_name = m.container_name, .container_id = m.container_id,
		.container_image = m.image, .host = host,
	};
	bool own = json_object_object_get_ex(o, "kubernetes", &k8s);

	msgpack_packer_init(&pk, out, buf_write);
	msgpack_pack_array(&pk, 2);
	pack_time(&pk, o, now_ns);
	/* The event's fields, and the map log records carry (unless the event has its own). */
	msgpack_pack_map(&pk, (size_t)json_object_object_length(o) + !own);
	json_object_object_foreach(o, key, val) {
		msgpack_pack_str_with_body(&pk, key, strlen(key));
		pack_value(&pk, val);
	}
	if (!own) {
		msgpack_pack_str_with_body(&pk, "kubernetes", 10);
		cgs_fwd_pack_meta(out, &fm);
	}
	cgs_logs_render_tag(tmpl, &m, "event", tag, taglen);
	json_object_put(o);
	if (out->err) {
		out->err = 0;
		out->len = len0;
		return -ENOMEM;
	}
	return 0;
}

int lg_event_encode(struct lg *lg, const char *line, size_t len, char *tag, size_t taglen)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	lg->evbuf.len = 0;
	return cgs_logs_event_entry(line, len, lg->cfg->events_tag, lg->node,
				    (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, &lg->evbuf, tag, taglen);
}
