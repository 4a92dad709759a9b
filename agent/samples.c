/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded sample lists; see samples.h. */
#include "samples.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cgs_samples_init(struct cgs_samples *s, size_t limit)
{
	memset(s, 0, sizeof(*s));
	s->limit = limit;
	s->first_dropped = -1;
}

void cgs_samples_reset(struct cgs_samples *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].counts);
		free(s->v[i].own);
	}
	s->n = 0;
	s->series = 0;
	s->pass_dropped = 0;
	s->first_dropped = -1;
}

void cgs_samples_free(struct cgs_samples *s)
{
	if (!s)
		return;
	cgs_samples_reset(s);
	free(s->v);
	s->v = NULL;
	s->cap = 0;
}

size_t cgs_family_series(enum cgs_family_id f)
{
	switch (cgs_families[f].kind) {
	case CGS_KIND_HISTOGRAM:
		return (size_t)cgs_families[f].nbounds + 3; /* buckets, +Inf, _sum, _count */
	case CGS_KIND_SUMMARY:
		return 2; /* _sum, _count */
	default:
		return 1;
	}
}

static struct cgs_sample *samples_push(struct cgs_samples *s, enum cgs_family_id f)
{
	size_t cost = cgs_family_series(f);

	if (s->limit && s->series + cost > s->limit) {
		if (s->first_dropped < 0)
			s->first_dropped = (int)f;
		s->dropped += cost;
		s->pass_dropped += cost;
		errno = ENOSPC;
		return NULL;
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 32;
		struct cgs_sample *nv = realloc(s->v, ncap * sizeof(*nv));

		if (!nv) {
			errno = ENOMEM;
			return NULL;
		}
		s->v = nv;
		s->cap = ncap;
	}
	s->series += cost;
	return memset(&s->v[s->n++], 0, sizeof(struct cgs_sample));
}

int cgs_samples_add_l(struct cgs_samples *s, enum cgs_family_id f, const char *lv0,
		      const char *lv1, double value)
{
	struct cgs_sample *x = samples_push(s, f);

	if (!x)
		return -errno;
	x->family = (uint16_t)f;
	x->lv[0] = lv0;
	x->lv[1] = lv1;
	x->value = value;
	return 0;
}

int cgs_samples_add_l3(struct cgs_samples *s, enum cgs_family_id f, const char *lv0, const char *lv1,
		       const char *lv2, double value)
{
	int e = cgs_samples_add_l(s, f, lv0, lv1, value);

	if (!e)
		s->v[s->n - 1].lv[2] = lv2;
	return e;
}

int cgs_samples_add(struct cgs_samples *s, enum cgs_family_id f, double value)
{
	return cgs_samples_add_l(s, f, NULL, NULL, value);
}

int cgs_samples_add_hist(struct cgs_samples *s, enum cgs_family_id f, const char *lv0,
			 const uint64_t *counts, double sum)
{
	size_t nb = (size_t)cgs_families[f].nbounds + 1;
	uint64_t *c = malloc(nb * sizeof(*c));
	struct cgs_sample *x;

	if (!c)
		return -ENOMEM;
	x = samples_push(s, f);
	if (!x) {
		free(c);
		return -errno;
	}
	memcpy(c, counts, nb * sizeof(*c));
	x->family = (uint16_t)f;
	x->lv[0] = lv0;
	x->value = sum;
	x->counts = c;
	return 0;
}

int cgs_samples_add_summary(struct cgs_samples *s, enum cgs_family_id f, const char *lv0, uint64_t count,
			    double sum)
{
	uint64_t c[1] = { count };

	if (cgs_families[f].nbounds)
		return -EINVAL;
	return cgs_samples_add_hist(s, f, lv0, c, sum);
}

int cgs_samples_dup_label(struct cgs_samples *s, int i)
{
	struct cgs_sample *x;
	int e = 0;

	if (!s->n || i < 0 || i >= CGS_METRIC_MAX_LABELS)
		return -EINVAL;
	x = &s->v[s->n - 1];
	if (!x->lv[i])
		return 0;
	if (x->own)
		e = -EBUSY;
	else if (!(x->own = strdup(x->lv[i])))
		e = -ENOMEM;
	if (!e) {
		x->lv[i] = x->own;
		return 0;
	}
	/* Never a pointer that may dangle: the sample goes. */
	free(x->counts);
	free(x->own);
	s->n--;
	return e;
}

static int strcmp_null(const char *a, const char *b)
{
	if (a == b)
		return 0;
	if (!a)
		return -1;
	if (!b)
		return 1;
	return strcmp(a, b);
}

static int sample_cmp(const void *pa, const void *pb)
{
	const struct cgs_sample *a = pa, *b = pb;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	for (int i = 0; i < CGS_METRIC_MAX_LABELS; i++) {
		r = strcmp_null(a->lv[i], b->lv[i]);
		if (r)
			return r;
	}
	return 0;
}

void cgs_samples_sort(struct cgs_samples *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), sample_cmp);
}

int cgs_samples_copy(struct cgs_samples *dst, const struct cgs_samples *src)
{
	dst->v = NULL;
	dst->n = dst->cap = 0;
	dst->limit = src->limit;
	dst->series = src->series;
	dst->dropped = src->dropped;
	dst->pass_dropped = src->pass_dropped;
	dst->first_dropped = src->first_dropped;
	if (!src->n)
		return 0;
	dst->v = malloc(src->n * sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	dst->cap = src->n;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		dst->v[i].counts = NULL;
		dst->v[i].own = NULL;
		if (src->v[i].own) {
			dst->v[i].own = strdup(src->v[i].own);
			if (!dst->v[i].own) {
				dst->n = i;
				cgs_samples_free(dst);
				return -ENOMEM;
			}
			for (int l = 0; l < CGS_METRIC_MAX_LABELS; l++)
				if (src->v[i].lv[l] == src->v[i].own)
					dst->v[i].lv[l] = dst->v[i].own;
		}
		if (src->v[i].counts) {
			size_t nb = (size_t)cgs_families[src->v[i].family].nbounds + 1;

			dst->v[i].counts = malloc(nb * sizeof(uint64_t));
			if (!dst->v[i].counts) {
				dst->n = i + 1; /* its own string is freed too */
				cgs_samples_free(dst);
				return -ENOMEM;
			}
			memcpy(dst->v[i].counts, src->v[i].counts, nb * sizeof(uint64_t));
		}
		dst->n = i + 1;
	}
	return 0;
}
