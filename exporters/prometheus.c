/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text exposition encoder; see prometheus.h. */
#include "prometheus.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../agent/metrics.h"
#include "../agent/store.h"

static const char *const kind_names[] = {
	[CGS_KIND_COUNTER] = "counter",
	[CGS_KIND_GAUGE] = "gauge",
	[CGS_KIND_HISTOGRAM] = "histogram",
	[CGS_KIND_SUMMARY] = "summary",
};

void cgs_prom_escape_label(struct cgs_buf *out, const char *v)
{
	const char *p = v, *start = v;

	for (; *p; p++) {
		const char *rep;

		switch (*p) {
		case '\\': rep = "\\\\"; break;
		case '"': rep = "\\\""; break;
		case '\n': rep = "\\n"; break;
		default: continue;
		}
		cgs_buf_append(out, start, (size_t)(p - start));
		cgs_buf_puts(out, rep);
		start = p + 1;
	}
	cgs_buf_append(out, start, (size_t)(p - start));
}

static void escape_help(struct cgs_buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			cgs_buf_puts(out, "\\\\");
		else if (*v == '\n')
			cgs_buf_puts(out, "\\n");
		else
			cgs_buf_putc(out, *v);
	}
}

void cgs_prom_put_value(struct cgs_buf *out, double v)
{
	if (isnan(v)) {
		cgs_buf_puts(out, "NaN");
	} else if (isinf(v)) {
		cgs_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	} else if (v >= 0 && v < 9007199254740992.0 && v == (double)(uint64_t)v) {
		cgs_buf_put_u64(out, (uint64_t)v);
	} else if (v < 0 && v > -9007199254740992.0 && v == -(double)(uint64_t)(-v)) {
		cgs_buf_putc(out, '-');
		cgs_buf_put_u64(out, (uint64_t)(-v));
	} else {
		cgs_buf_printf(out, "%.15g", v);
	}
}

int cgs_prom_container_labels(const char *path, const char *name, const char *image,
			      const char *container, const char *pod, const char *ns, char **out)
{
	/* Alphabetical, as cAdvisor writes them. */
	const char *keys[] = { "container", "id", "image", "name", "namespace", "pod" };
	const char *vals[] = { container, path, image, name, ns, pod };
	struct cgs_buf b;

	cgs_buf_init(&b);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (i)
			cgs_buf_putc(&b, ',');
		cgs_buf_puts(&b, keys[i]);
		cgs_buf_puts(&b, "=\"");
		cgs_prom_escape_label(&b, vals[i] ? vals[i] : "");
		cgs_buf_putc(&b, '"');
	}
	*out = cgs_buf_steal(&b, NULL);
	return *out ? 0 : -ENOMEM;
}

static void put_header(struct cgs_buf *out, const struct cgs_family *f)
{
	cgs_buf_puts(out, "# HELP ");
	cgs_buf_puts(out, f->name);
	cgs_buf_putc(out, ' ');
	escape_help(out, f->help);
	cgs_buf_puts(out, "\n# TYPE ");
	cgs_buf_puts(out, f->name);
	cgs_buf_putc(out, ' ');
	cgs_buf_puts(out, kind_names[f->kind]);
	cgs_buf_putc(out, '\n');
}

/* name{labels[,extra][,le="x"]} */
static void put_series(struct cgs_buf *out, const struct cgs_family *f, const char *suffix,
		       const char *labels, const struct cgs_sample *x, const char *le)
{
	int any = 0;

	cgs_buf_puts(out, f->name);
	if (suffix)
		cgs_buf_puts(out, suffix);
	if (labels && labels[0]) {
		cgs_buf_putc(out, '{');
		cgs_buf_puts(out, labels);
		any = 1;
	}
	for (int i = 0; i < CGS_METRIC_MAX_LABELS && f->labels[i]; i++) {
		cgs_buf_putc(out, any ? ',' : '{');
		any = 1;
		cgs_buf_puts(out, f->labels[i]);
		cgs_buf_puts(out, "=\"");
		cgs_prom_escape_label(out, x->lv[i] ? x->lv[i] : "");
		cgs_buf_putc(out, '"');
	}
	if (le) {
		cgs_buf_putc(out, any ? ',' : '{');
		any = 1;
		cgs_buf_puts(out, "le=\"");
		cgs_buf_puts(out, le);
		cgs_buf_putc(out, '"');
	}
	if (any)
		cgs_buf_putc(out, '}');
	cgs_buf_putc(out, ' ');
}

/* The `le` values of every histogram family, formatted once (render is a hot path). */
#define LE_MAX 64
static char le_text[CGS_M__COUNT][LE_MAX][24];
static pthread_once_t le_once = PTHREAD_ONCE_INIT;

static void le_init(void)
{
	for (unsigned f = 0; f < CGS_M__COUNT; f++)
		for (unsigned i = 0; i < cgs_families[f].nbounds && i < LE_MAX; i++)
			snprintf(le_text[f][i], sizeof(le_text[f][i]), "%.9g", cgs_families[f].bounds[i]);
}

static void put_sample(struct cgs_buf *out, const struct cgs_family *f, const char *labels,
		       const struct cgs_sample *x)
{
	if (f->kind != CGS_KIND_HISTOGRAM && f->kind != CGS_KIND_SUMMARY) {
		put_series(out, f, NULL, labels, x, NULL);
		cgs_prom_put_value(out, x->value);
		cgs_buf_putc(out, '\n');
		return;
	}
	uint64_t cum = 0;

	pthread_once(&le_once, le_init);
	for (unsigned i = 0; i <= f->nbounds; i++) {
		cum += x->counts ? x->counts[i] : 0;
		if (f->kind == CGS_KIND_SUMMARY) /* no buckets: the count alone */
			continue;
		put_series(out, f, "_bucket", labels, x,
			   i < f->nbounds && i < LE_MAX ? le_text[x->family][i] : "+Inf");
		cgs_buf_put_u64(out, cum);
		cgs_buf_putc(out, '\n');
	}
	put_series(out, f, "_sum", labels, x, NULL);
	cgs_prom_put_value(out, x->value);
	cgs_buf_putc(out, '\n');
	put_series(out, f, "_count", labels, x, NULL);
	cgs_buf_put_u64(out, cum);
	cgs_buf_putc(out, '\n');
}

static int same_series(const struct cgs_sample *a, const struct cgs_sample *b)
{
	if (a->family != b->family)
		return 0;
	for (int i = 0; i < CGS_METRIC_MAX_LABELS; i++) {
		if (a->lv[i] == b->lv[i])
			continue;
		if (!a->lv[i] || !b->lv[i] || strcmp(a->lv[i], b->lv[i]))
			return 0;
	}
	return 1;
}

int cgs_prom_render_agent(const struct cgs_samples *agent, struct cgs_buf *out)
{
	int last = -1;

	for (size_t i = 0; i < agent->n; i++) {
		const struct cgs_sample *x = &agent->v[i];
		const struct cgs_family *f = &cgs_families[x->family];

		if ((int)x->family != last) {
			put_header(out, f);
			last = x->family;
		}
		put_sample(out, f, NULL, x);
	}
	return out->err;
}

int cgs_prom_render(const struct cgs_snapshot *s, struct cgs_buf *out)
{
	size_t *cur = calloc(s->n ? s->n : 1, sizeof(*cur));
	size_t ai = 0;

	if (!cur)
		return -ENOMEM;
	/* Samples of every container are sorted by family: walk them all in step. */
	for (unsigned f = 0; f < CGS_M__COUNT; f++) {
		const struct cgs_family *fam = &cgs_families[f];
		int header = 0;

		for (size_t c = 0; c < s->n; c++) {
			const struct cgs_samples *sm = &s->c[c].samples;

			while (cur[c] < sm->n && sm->v[cur[c]].family < f)
				cur[c]++;
			for (; cur[c] < sm->n && sm->v[cur[c]].family == f; cur[c]++) {
				if (cur[c] > 0 && same_series(&sm->v[cur[c] - 1], &sm->v[cur[c]]))
					continue; /* a duplicate would make the exposition invalid */
				if (!header++)
					put_header(out, fam);
				put_sample(out, fam, s->c[c].labels, &sm->v[cur[c]]);
			}
		}
		while (ai < s->agent.n && s->agent.v[ai].family < f)
			ai++;
		for (; ai < s->agent.n && s->agent.v[ai].family == f; ai++) {
			if (!header++)
				put_header(out, fam);
			put_sample(out, fam, NULL, &s->agent.v[ai]);
		}
	}
	free(cur);
	return out->err;
}
