/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition format 0.0.4: a pure encoder from a snapshot's
 * containers and samples to bytes. Families come out in the order of the
 * metric table, each with HELP and TYPE, only when it has a sample;
 * histograms as cumulative `le` buckets with `+Inf`, `_sum` and `_count`.
 */
#ifndef CGS_EXPORTERS_PROMETHEUS_H
#define CGS_EXPORTERS_PROMETHEUS_H

#include <stddef.h>

#include "../agent/buf.h"
#include "../agent/samples.h"

struct cgs_snapshot;

#define CGS_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Renders the whole snapshot. 0 or -ENOMEM. */
int cgs_prom_render(const struct cgs_snapshot *s, struct cgs_buf *out);
/* Renders agent-scope samples only (the per-request self metrics). */
int cgs_prom_render_agent(const struct cgs_samples *agent, struct cgs_buf *out);
/* Appends `v` escaped as a label value (backslash, double quote, newline). */
void cgs_prom_escape_label(struct cgs_buf *out, const char *v);
/* Formats a sample value: integers exactly, others with 15 significant digits, NaN/+Inf/-Inf. */
void cgs_prom_put_value(struct cgs_buf *out, double v);
/* The `container="",id="",image="",name="",namespace="",pod=""` label set of a container. */
int cgs_prom_container_labels(const char *path, const char *name, const char *image,
			      const char *container, const char *pod, const char *ns, char **out);

#endif
