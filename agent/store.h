/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Immutable snapshots of everything the agent knows, and the store that
 * publishes them. The event loop builds a snapshot after each collection
 * pass (or container change) and publishes it; HTTP threads acquire the
 * current one with a reference and release it when their response is sent.
 * A snapshot is never modified after publication except for its lazily
 * built encodings (gzip, JSON), which are guarded by its own lock.
 */
#ifndef CGS_STORE_H
#define CGS_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime.h"
#include "samples.h"

struct cgs_registry;

struct cgs_snap_container {
	uint64_t cgroup_id;
	char *path;                /* `id` label */
	const char *runtime;       /* static */
	const char *qos;           /* static */
	char container_id[65];
	struct cgs_meta meta;
	double start_time;
	char *labels;              /* escaped `container="",id="",...` for the exposition */
	struct cgs_samples samples;
};

struct cgs_snapshot {
	uint64_t generation;
	double taken;              /* seconds since the epoch */
	size_t n, cap;
	struct cgs_snap_container *c;
	struct cgs_samples agent;  /* agent-scope samples */

	char *events_json;         /* JSON array of recent structured events, or NULL */
	char *text;                /* Prometheus exposition of everything above */
	size_t text_len;

	pthread_mutex_t lock;      /* guards the lazy encodings below */
	char *gz;
	size_t gz_len;
	char *json;
	size_t json_len;

	int refs;                  /* atomic */
};

/*
 * Builds a snapshot from the registry's containers (their latest samples)
 * and the agent's own samples, and renders its exposition. NULL with errno.
 */
struct cgs_snapshot *cgs_snapshot_build(struct cgs_registry *reg, const struct cgs_samples *agent,
					uint64_t generation);
/* Builds from explicit parts (tests, tools): takes ownership of nothing; copies. */
struct cgs_snapshot *cgs_snapshot_new(void);
int cgs_snapshot_add_container(struct cgs_snapshot *s, const struct cgs_snap_container *c);
int cgs_snapshot_render(struct cgs_snapshot *s);

struct cgs_snapshot *cgs_snapshot_ref(struct cgs_snapshot *s);
void cgs_snapshot_release(struct cgs_snapshot *s);

/* Lazily built encodings; the pointers stay valid while the caller holds a reference. */
int cgs_snapshot_gzip(struct cgs_snapshot *s, const char **p, size_t *len);
int cgs_snapshot_json(struct cgs_snapshot *s, const char **p, size_t *len);

struct cgs_store;
struct cgs_store *cgs_store_new(void);
void cgs_store_free(struct cgs_store *st);
/* Publishes `s` (takes the caller's reference). */
void cgs_store_publish(struct cgs_store *st, struct cgs_snapshot *s);
/* The current snapshot with a new reference, or NULL before the first publication. */
struct cgs_snapshot *cgs_store_acquire(struct cgs_store *st);

/* gzip (RFC 1952) of a byte range, one member. 0 or -errno; *out malloc'd. */
int cgs_gzip(const char *in, size_t len, int level, char **out, size_t *outlen);

#endif
