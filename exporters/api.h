/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON API (/api/v1/containers): every container of a snapshot with its
 * metadata and latest values. A pure encoder; `cgsight top` reads it.
 */
#ifndef CGS_EXPORTERS_API_H
#define CGS_EXPORTERS_API_H

#include "../agent/buf.h"

struct cgs_snapshot;

/* 0 or -ENOMEM. */
int cgs_api_render_containers(const struct cgs_snapshot *s, struct cgs_buf *out);

#endif
