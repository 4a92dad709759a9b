/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one collector interface. A collector is a const ops table; its state
 * lives in its own struct, created by init and freed by destroy. The agent
 * calls collect once per container per interval; collectors with kernel
 * events expose an fd that the event loop polls.
 */
#ifndef CGS_COLLECTOR_H
#define CGS_COLLECTOR_H

#include <stdbool.h>

#include "../agent/cgroup.h"
#include "../agent/containers.h"
#include "../agent/samples.h"

struct cgs_config;
struct cgs_bpf_features;
struct cgs_slots;
struct json_object;

/* What a collector can ask of the agent through ctx->notify. */
#define CGS_NOTIFY_CHANGED 1u /* the registry changed: collect new containers, publish */
#define CGS_NOTIFY_RESCAN  2u /* events were missed: walk the cgroup tree soon */

struct cgs_collector_ctx {
	const struct cgs_config *cfg;
	const struct cgs_cgroup_mounts *mounts;
	const struct cgs_bpf_features *features;
	struct cgs_registry *registry;
	struct cgs_slots *slots;  /* shared BPF container slots; NULL without BPF */
	void (*notify)(void *arg, unsigned what);
	void *notify_arg;
};

struct cgs_collector_ops {
	const char *name;
	bool bpf; /* loads BPF programs: skipped when the configuration says `bpf: false` */
	/*
	 * Whether the configuration asks for this collector (e.g. `logs: true`).
	 * A collector the configuration leaves off is not degraded. NULL: always.
	 */
	bool (*enabled)(const struct cgs_config *cfg);
	/* init takes files the running agent holds (locks, positions): `cgsight check` does not try it. */
	bool check_skips;
	/*
	 * Creates the state. 0, or -errno: -EOPNOTSUPP when the kernel or host
	 * lacks what the collector needs (the agent logs `why` and runs
	 * without it), other -errno for real failures. `why` may be NULL.
	 */
	int (*init)(const struct cgs_collector_ctx *ctx, void **state, const char **why);
	/* An fd for the event loop (EPOLLIN), or -1. Optional. */
	int (*fd)(void *state);
	/* Called when fd is readable: drain events. 0 or -errno. Optional. */
	int (*poll)(void *state);
	/* Called once per interval before the per-container calls. Optional. */
	int (*begin)(void *state);
	/*
	 * Appends this collector's samples for container `c`. Returns the
	 * number of values it could not read (0 when all was well); each is
	 * counted in cgsight_collector_errors_total{collector}. A file that
	 * does not exist is not an error: it means no series.
	 */
	int (*collect)(void *state, const struct cgs_container *c, struct cgs_samples *out);
	/* Samples on the agent itself (self metrics). Optional. */
	int (*collect_agent)(void *state, struct cgs_samples *out);
	/*
	 * Recent structured events for the API (e.g. OOM kills): appends JSON
	 * objects to the json-c array `events`; each should carry "type",
	 * "time" (seconds since the epoch) and "cgroup_id". Bounded by the
	 * collector. Optional.
	 */
	int (*api_events)(void *state, struct json_object *events);
	void (*destroy)(void *state);
	/*
	 * The variant running, a short token for `cgsight check` and the
	 * cgsight_collector_info metric (e.g. "tp_btf+task_storage"); *fallback
	 * is set when it is not the collector's preferred one (a kernel feature
	 * missing or refused). Optional: no variant means "default".
	 */
	const char *(*variant)(void *state, bool *fallback);
};

/* The registry of collectors, in collection order; NULL-terminated. */
extern const struct cgs_collector_ops *const cgs_collectors[];

/* ops->variant of a running collector ("default" without one); *fallback as there. */
const char *cgs_collector_variant(const struct cgs_collector_ops *ops, void *state, bool *fallback);

#endif
