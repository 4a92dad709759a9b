/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded list of metric samples: what one collection pass produced for
 * one container (or for the agent itself). Collectors append to it; the
 * store copies it into an immutable snapshot.
 *
 * Label values must have static storage duration (string literals or
 * entries of static tables): samples keep the pointer, not a copy. A value
 * built at run time (a peer address) is made the sample's own with
 * cgs_samples_dup_label.
 */
#ifndef CGS_SAMPLES_H
#define CGS_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct cgs_sample {
	uint16_t family;                           /* enum cgs_family_id */
	const char *lv[CGS_METRIC_MAX_LABELS];     /* values of the family's extra labels */
	double value;                              /* counter/gauge value; histogram: _sum */
	uint64_t *counts;                          /* histogram only: nbounds + 1 non-cumulative
						      counts, the last one above every bound; owned
						      (summary: the count alone) */
	char *own;                                 /* a label value built at run time; lv[] points
						      at it; owned (cgs_samples_dup_label) */
};

/*
 * The budget (`limit`) counts series as the exposition writes them: 1 for a
 * counter or gauge, nbounds + 3 for a histogram (every `le` bucket, +Inf,
 * _sum and _count). A sample that does not fit is left out whole (a
 * histogram is never cut) and its series are added to `dropped`; a smaller
 * one after it may still fit.
 */
struct cgs_samples {
	struct cgs_sample *v;
	size_t n, cap;
	size_t limit;   /* most series kept (0: no limit) */
	size_t series;  /* series of the samples held */
	uint64_t dropped;      /* series left out, summed over every pass since init */
	uint64_t pass_dropped; /* of which since the last reset */
	int first_dropped;     /* family of the first sample left out since the last reset, or -1 */
};

void cgs_samples_init(struct cgs_samples *s, size_t limit);
/* Frees every sample; the list is empty and reusable afterwards (`dropped` is kept). */
void cgs_samples_reset(struct cgs_samples *s);
void cgs_samples_free(struct cgs_samples *s);

/* Series one sample of family `f` makes in the exposition. */
size_t cgs_family_series(enum cgs_family_id f);

/* Appends a counter or gauge value. 0, -ENOSPC past the limit (counted), -ENOMEM. */
int cgs_samples_add(struct cgs_samples *s, enum cgs_family_id f, double value);
int cgs_samples_add_l(struct cgs_samples *s, enum cgs_family_id f, const char *lv0,
		      const char *lv1, double value);
/* Three extra labels (families with three label names). */
int cgs_samples_add_l3(struct cgs_samples *s, enum cgs_family_id f, const char *lv0, const char *lv1,
		       const char *lv2, double value);
/*
 * Appends a histogram: `counts` holds the family's nbounds + 1 non-cumulative
 * bucket counts (copied), `sum` the sum of observations in seconds.
 */
int cgs_samples_add_hist(struct cgs_samples *s, enum cgs_family_id f, const char *lv0,
			 const uint64_t *counts, double sum);
/* Appends a summary (sum and count of observations, sum in seconds). */
int cgs_samples_add_summary(struct cgs_samples *s, enum cgs_family_id f, const char *lv0, uint64_t count,
			    double sum);
/*
 * Gives the last sample its own copy of label value `i` (one such value per
 * sample), freed and copied with it. 0, or -ENOMEM / -EBUSY (already one),
 * in which case the sample is removed.
 */
int cgs_samples_dup_label(struct cgs_samples *s, int i);

/* Orders samples by family then label values, the order the encoder emits. */
void cgs_samples_sort(struct cgs_samples *s);
/* Deep copy of `src` into an empty `dst`. 0 or -ENOMEM. */
int cgs_samples_copy(struct cgs_samples *dst, const struct cgs_samples *src);

#endif
