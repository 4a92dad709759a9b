/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reader of the agent's /api/v1/containers document for `cgsight top`:
 * walks it with the streaming JSON reader (json.c) and fills struct
 * cgs_top_snap directly, skipping what the model does not use.
 *
 * Why not a DOM (json-c): a document of 1,000 busy containers is ~6 MB of
 * JSON holding ~1 million values (histograms of 24 buckets per class); a DOM
 * allocates and frees an object for each, ~400 ms of CPU per document here,
 * which alone would break top's budget of 2 % of a core. This reader needs
 * no allocation beyond the result and parses the same document in ~25 ms.
 */
#include "client.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the document ------------------------------------------------------------ */

static char *string_dup(struct cgs_top_json *j)
{
	char buf[1024];

	if (!cgs_top_json_string(j, buf, sizeof(buf)))
		return NULL;
	return strdup(buf);
}

/* [[le,cum],...] with le a number or "+Inf". */
static bool buckets(struct cgs_top_json *j, struct cgs_top_hist *h)
{
	bool first = true;
	int r;

	h->n = 0;
	if (!cgs_top_json_expect(j, '['))
		return false;
	while ((r = cgs_top_json_arr_next(j, &first)) > 0) {
		bool f2 = true;
		double le, cum;

		if (!cgs_top_json_expect(j, '[') || cgs_top_json_arr_next(j, &f2) != 1)
			return cgs_top_json_fail(j);
		if (cgs_top_json_peek(j) == '"') {
			char s[8];

			if (!cgs_top_json_string(j, s, sizeof(s)))
				return false;
			if (strcmp(s, "+Inf") != 0)
				return cgs_top_json_fail(j);
			le = INFINITY;
		} else if (!cgs_top_json_number(j, &le)) {
			return false;
		}
		if (cgs_top_json_arr_next(j, &f2) != 1 || !cgs_top_json_number(j, &cum) || cgs_top_json_arr_next(j, &f2) != 0)
			return cgs_top_json_fail(j);
		if (h->n >= CGS_TOP_HIST_MAX) {
			h->present = false; /* more buckets than kept: treated as absent */
			h->n = CGS_TOP_HIST_MAX + 1;
			continue;
		}
		h->le[h->n] = le;
		h->cum[h->n] = isnan(cum) ? 0 : cum;
		h->n++;
	}
	if (r < 0)
		return false;
	if (h->n > CGS_TOP_HIST_MAX || h->n == 0) {
		h->n = 0;
		h->present = false;
	} else {
		h->present = true;
	}
	return true;
}

/* Adds b into a when their bounds agree; a takes b's shape when empty. */
static void hist_merge(struct cgs_top_hist *a, const struct cgs_top_hist *b)
{
	if (!b->present)
		return;
	if (!a->present) {
		*a = *b;
		return;
	}
	if (a->n != b->n)
		return;
	for (unsigned i = 0; i < a->n; i++)
		if (a->le[i] != b->le[i])
			return;
	for (unsigned i = 0; i < a->n; i++)
		a->cum[i] += b->cum[i];
	a->sum += b->sum;
}

static int add_class(struct cgs_top_ct *c, const char *name, const struct cgs_top_hist *h)
{
	struct cgs_top_class *p;

	if (c->ncls >= CGS_TOP_CLASSES_MAX || !h->present)
		return 0;
	p = realloc(c->cls, (c->ncls + 1u) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	c->cls = p;
	snprintf(p[c->ncls].name, sizeof(p[c->ncls].name), "%.*s", (int)sizeof(p[c->ncls].name) - 1, name);
	p[c->ncls++].h = *h;
	return 0;
}

/*
 * A histogram value: {"buckets":...,"sum":...,"count":...}, or a map of
 * label value -> such histograms (merged; kept per label for syscalls).
 */
static int hist_value(struct cgs_top_json *j, struct cgs_top_ct *c, enum cgs_top_hid id, bool top)
{
	struct cgs_top_hist *h = &c->h[id];
	char key[64];
	bool first = true;
	int r;

	if (cgs_top_json_peek(j) != '{')
		return cgs_top_json_skip(j, 4) ? 0 : -EBADMSG;
	j->p++;
	while ((r = cgs_top_json_obj_next(j, &first, key, sizeof(key))) > 0) {
		if (!strcmp(key, "buckets")) {
			double sum = h->sum;

			if (!buckets(j, h))
				return -EBADMSG;
			h->sum = sum;
		} else if (!strcmp(key, "sum")) {
			double s;

			if (!cgs_top_json_number(j, &s))
				return -EBADMSG;
			h->sum = isnan(s) ? 0 : s;
		} else if (!strcmp(key, "count")) {
			if (!cgs_top_json_skip(j, 5))
				return -EBADMSG;
		} else if (top) {
			/* A label value: its histogram. */
			struct cgs_top_ct sub = { 0 };

			if (hist_value(j, &sub, id, false) < 0)
				return -EBADMSG;
			hist_merge(h, &sub.h[id]);
			if (id == CGS_TOP_H_SYSCALL && add_class(c, key, &sub.h[id]) < 0)
				return -ENOMEM;
		} else if (!cgs_top_json_skip(j, 5)) {
			return -EBADMSG;
		}
	}
	return r < 0 ? -EBADMSG : 0;
}

static void add_value(double *slot, double v)
{
	if (isnan(v))
		return;
	*slot = isnan(*slot) ? v : *slot + v;
}

/* Whether a label key ("v0" or "v0,v1") has `want` as its first label value. */
static bool label_is(const char *key, const char *want)
{
	size_t n = strlen(want);

	return !strncmp(key, want, n) && (key[n] == '\0' || key[n] == ',');
}

/* A value family: a number, or a map of label value -> number. */
static int value(struct cgs_top_json *j, struct cgs_top_ct *c, const char *fam, int depth)
{
	int defs[4], nd = 0;
	char key[160];
	bool first = true;
	double v;
	int r;

	for (int i = 0; i < CGS_TOP_V__COUNT && nd < 4; i++)
		if (!strcmp(fam, cgs_top_vals[i].family))
			defs[nd++] = i;
	if (!nd)
		return cgs_top_json_skip(j, depth) ? 0 : -EBADMSG;
	if (cgs_top_json_peek(j) != '{') {
		if (!cgs_top_json_number(j, &v))
			return -EBADMSG;
		for (int k = 0; k < nd; k++)
			if (!cgs_top_vals[defs[k]].label || cgs_top_vals[defs[k]].label_not)
				add_value(&c->v[defs[k]], v);
		return 0;
	}
	j->p++;
	while ((r = cgs_top_json_obj_next(j, &first, key, sizeof(key))) > 0) {
		if (cgs_top_json_peek(j) == '{' || cgs_top_json_peek(j) == '[' || cgs_top_json_peek(j) == '"') {
			if (!cgs_top_json_skip(j, depth + 1))
				return -EBADMSG;
			continue;
		}
		if (!cgs_top_json_number(j, &v))
			return -EBADMSG;
		for (int k = 0; k < nd; k++) {
			const struct cgs_top_valdef *d = &cgs_top_vals[defs[k]];

			if (d->label && label_is(key, d->label) == d->label_not)
				continue;
			add_value(&c->v[defs[k]], v);
		}
	}
	return r < 0 ? -EBADMSG : 0;
}

static int metrics(struct cgs_top_json *j, struct cgs_top_ct *c)
{
	char fam[128];
	bool first = true;
	int r, e;

	if (!cgs_top_json_expect(j, '{'))
		return -EBADMSG;
	while ((r = cgs_top_json_obj_next(j, &first, fam, sizeof(fam))) > 0) {
		int h = -1;

		for (int i = 0; i < CGS_TOP_H__COUNT; i++)
			if (!strcmp(fam, cgs_top_hist_family[i]))
				h = i;
		e = h >= 0 ? hist_value(j, c, (enum cgs_top_hid)h, true) : value(j, c, fam, 3);
		if (e < 0)
			return e;
	}
	return r < 0 ? -EBADMSG : 0;
}

static int container(struct cgs_top_json *j, struct cgs_top_ct *c)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
		{ "id", offsetof(struct cgs_top_ct, path) },
		{ "container_id", offsetof(struct cgs_top_ct, container_id) },
		{ "runtime", offsetof(struct cgs_top_ct, runtime) },
		{ "name", offsetof(struct cgs_top_ct, name) },
		{ "image", offsetof(struct cgs_top_ct, image) },
		{ "container", offsetof(struct cgs_top_ct, container) },
		{ "pod", offsetof(struct cgs_top_ct, pod) },
		{ "namespace", offsetof(struct cgs_top_ct, namespace) },
		{ "pod_uid", offsetof(struct cgs_top_ct, pod_uid) },
		{ "qos", offsetof(struct cgs_top_ct, qos) },
	};
	char key[64];
	bool first = true, have_id = false;
	int r, e;

	for (int i = 0; i < CGS_TOP_V__COUNT; i++)
		c->v[i] = NAN;
	c->start_time = NAN;
	if (!cgs_top_json_expect(j, '{'))
		return -EBADMSG;
	while ((r = cgs_top_json_obj_next(j, &first, key, sizeof(key))) > 0) {
		size_t k;

		for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			if (!strcmp(key, strs[k].key))
				break;
		if (k < sizeof(strs) / sizeof(strs[0])) {
			char **slot = (char **)((char *)c + strs[k].off);

			if (cgs_top_json_peek(j) != '"') {
				if (!cgs_top_json_skip(j, 2))
					return -EBADMSG;
				continue;
			}
			free(*slot);
			*slot = string_dup(j);
			if (!*slot)
				return j->bad ? -EBADMSG : -ENOMEM;
		} else if (!strcmp(key, "cgroup_id")) {
			if (!cgs_top_json_u64(j, &c->cgroup_id))
				return -EBADMSG;
			have_id = true;
		} else if (!strcmp(key, "start_time")) {
			if (!cgs_top_json_number(j, &c->start_time))
				return -EBADMSG;
		} else if (!strcmp(key, "metrics")) {
			e = cgs_top_json_peek(j) == '{' ? metrics(j, c) : (cgs_top_json_skip(j, 2) ? 0 : -EBADMSG);
			if (e < 0)
				return e;
		} else if (!cgs_top_json_skip(j, 2)) {
			return -EBADMSG;
		}
	}
	if (r < 0 || !have_id)
		return -EBADMSG;
	/* Strings the agent did not send are empty, never NULL. */
	for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
		char **slot = (char **)((char *)c + strs[k].off);

		if (!*slot && !(*slot = strdup("")))
			return -ENOMEM;
	}
	return 0;
}

/* Fields of an event that only repeat the container's identity. */
static bool identity_key(const char *k)
{
	static const char *const keys[] = { "id", "container_id", "name", "pod", "namespace", "container", "image" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

/*
 * An event: type, time, cgroup_id; its other scalar fields, but those naming
 * the container, become the "k=v" detail (byte counts "rss=200M").
 */
static bool event(struct cgs_top_json *j, struct cgs_top_event *e)
{
	char key[64], val[96];
	bool first = true;
	size_t off = 0;
	int r;

	memset(e, 0, sizeof(*e));
	if (!cgs_top_json_expect(j, '{'))
		return false;
	while ((r = cgs_top_json_obj_next(j, &first, key, sizeof(key))) > 0) {
		int c = cgs_top_json_peek(j);
		size_t kl = strlen(key);

		if (!strcmp(key, "type") && c == '"') {
			if (!cgs_top_json_string(j, e->type, sizeof(e->type)))
				return false;
		} else if (!strcmp(key, "time")) {
			if (!cgs_top_json_number(j, &e->time))
				return false;
		} else if (!strcmp(key, "cgroup_id") && c != 'n') {
			if (!cgs_top_json_u64(j, &e->cgroup_id))
				return false;
		} else if (!identity_key(key) && (c == '"' || c == '-' || (c >= '0' && c <= '9'))) {
			const char *s = j->p;
			int n;

			if (c == '"') {
				if (!cgs_top_json_string(j, val, sizeof(val)))
					return false;
			} else {
				double d;

				if (!cgs_top_json_number(j, &d))
					return false;
				if (kl > 6 && !strcmp(key + kl - 6, "_bytes")) {
					key[kl - 6] = '\0';
					cgs_top_fmt_bytes(d, val, sizeof(val));
				} else {
					snprintf(val, sizeof(val), "%.*s", (int)(j->p - s), s);
				}
			}
			n = snprintf(e->detail + off, sizeof(e->detail) - off, "%s%s=%s", off ? " " : "", key, val);
			if (n > 0)
				off += (size_t)n;
			if (off >= sizeof(e->detail))
				off = sizeof(e->detail) - 1;
		} else if (!cgs_top_json_skip(j, 3)) {
			return false;
		}
	}
	return r == 0;
}

static int events(struct cgs_top_json *j, struct cgs_top_snap *s)
{
	bool first = true;
	size_t cap = 0;
	int r;

	if (!cgs_top_json_expect(j, '['))
		return -EBADMSG;
	while ((r = cgs_top_json_arr_next(j, &first)) > 0) {
		if (cgs_top_json_peek(j) != '{') {
			if (!cgs_top_json_skip(j, 2))
				return -EBADMSG;
			continue;
		}
		if (s->nev == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct cgs_top_event *p = realloc(s->ev, nc * sizeof(*p));

			if (!p)
				return -ENOMEM;
			s->ev = p;
			cap = nc;
		}
		if (!event(j, &s->ev[s->nev++]))
			return -EBADMSG;
	}
	return r < 0 ? -EBADMSG : 0;
}

static int containers(struct cgs_top_json *j, struct cgs_top_snap *s)
{
	bool first = true;
	size_t cap = 0;
	int r, e;

	if (!cgs_top_json_expect(j, '['))
		return -EBADMSG;
	while ((r = cgs_top_json_arr_next(j, &first)) > 0) {
		if (s->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct cgs_top_ct *p = realloc(s->c, nc * sizeof(*p));

			if (!p)
				return -ENOMEM;
			s->c = p;
			cap = nc;
		}
		memset(&s->c[s->n], 0, sizeof(s->c[0]));
		e = container(j, &s->c[s->n++]);
		if (e < 0)
			return e;
	}
	return r < 0 ? -EBADMSG : 0;
}

int cgs_top_parse(const char *json, size_t len, struct cgs_top_snap **out)
{
	struct cgs_top_json j = { .p = json, .end = json + len };
	struct cgs_top_snap *s;
	char key[64];
	bool first = true, have_containers = false;
	int r = 0, k;

	*out = NULL;
	if (!json || !len)
		return -EBADMSG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (!cgs_top_json_expect(&j, '{'))
		r = -EBADMSG;
	while (!r && (k = cgs_top_json_obj_next(&j, &first, key, sizeof(key))) != 0) {
		if (k < 0)
			r = -EBADMSG;
		else if (!strcmp(key, "generation"))
			r = cgs_top_json_u64(&j, &s->generation) ? 0 : -EBADMSG;
		else if (!strcmp(key, "timestamp"))
			r = cgs_top_json_number(&j, &s->timestamp) ? 0 : -EBADMSG;
		else if (!strcmp(key, "containers")) {
			r = containers(&j, s);
			have_containers = true;
		} else if (!strcmp(key, "events") && cgs_top_json_peek(&j) == '[')
			r = events(&j, s);
		else
			r = cgs_top_json_skip(&j, 1) ? 0 : -EBADMSG;
	}
	if (!r) {
		cgs_top_json_ws(&j);
		if (j.p != j.end || !have_containers)
			r = -EBADMSG;
	}
	if (r) {
		cgs_top_snap_free(s);
		return r;
	}
	if (isnan(s->timestamp))
		s->timestamp = 0;
	*out = s;
	return 0;
}

int cgs_top_peek_generation(const char *p, size_t len, uint64_t *gen)
{
	static const char key[] = "\"generation\"";
	size_t i = 0, k = sizeof(key) - 1;
	uint64_t g = 0;
	bool digits = false;

#define SKIP_WS()                                                                              \
	while (i < len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r'))       \
		i++
	SKIP_WS();
	if (i == len)
		return -EAGAIN;
	if (p[i++] != '{')
		return -EBADMSG;
	SKIP_WS();
	if (len - i < k)
		return memcmp(p + i, key, len - i) ? -EBADMSG : -EAGAIN;
	if (memcmp(p + i, key, k))
		return -EBADMSG;
	i += k;
	SKIP_WS();
	if (i == len)
		return -EAGAIN;
	if (p[i++] != ':')
		return -EBADMSG;
	SKIP_WS();
#undef SKIP_WS
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(p[i] - '0');

		if (g > UINT64_MAX / 10 || (g == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -EBADMSG;
		g = g * 10 + d;
		digits = true;
	}
	if (i == len)
		return -EAGAIN; /* the number may go on */
	if (!digits || (p[i] != ',' && p[i] != '}' && p[i] != ' '))
		return -EBADMSG;
	*gen = g;
	return 0;
}
