/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container registry: every container cgroup on the node with its
 * metadata, and a map from every cgroup id at or below a container's cgroup
 * to that container. Fed by tree rescans (mark and sweep) and by lifecycle
 * events (cgroup mkdir/rmdir). Single-threaded: owned by the event loop.
 */
#ifndef CGS_CONTAINERS_H
#define CGS_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgpath.h"
#include "cgroup.h"
#include "runtime.h"
#include "samples.h"

struct cgs_container {
	uint64_t cgroup_id;            /* id of the container's own cgroup */
	char *path;                    /* relative to the cgroup2 root, "/..."; the `id` label */
	char *dir;                     /* absolute cgroup2 directory */
	char *v1_dir[CGS_V1__COUNT];   /* absolute v1 directories, NULL where none */
	struct cgs_cgpath match;       /* runtime, container id, pod uid, qos */
	struct cgs_meta meta;          /* never-NULL strings once added */
	int meta_err;                  /* 0, or -errno of the last metadata lookup */
	double start_time;             /* seconds since the epoch the cgroup was first seen/created */
	int slot;                      /* BPF container slot (agent/slots.h), -1 when none */
	bool nested_tracked;           /* `nested` is maintained by the registry */
	uint32_t nested;               /* cgroups known below the container's own */
	bool host;                     /* the pseudo container of every task outside containers */
	struct cgs_samples samples;    /* latest collection */
	bool collected;                /* samples hold a collection pass */
	bool budget_logged;            /* the agent logged series left out by the budget */
	/* registry-private */
	uint32_t mark;
	bool gone;
};

struct cgs_registry;

struct cgs_slots;

struct cgs_registry_opts {
	const struct cgs_cgroup_mounts *mounts;
	struct cgs_slots *slots;        /* NULL without BPF: containers get no slot */
	bool include_host;              /* track the root cgroup "/" as the host pseudo container */
	struct cgs_runtime_dirs runtime_dirs;
	const char *proc_root;
	size_t max_containers;          /* bound; further ones are counted, not tracked */
	size_t max_series_per_container;
};

struct cgs_registry *cgs_registry_new(const struct cgs_registry_opts *opts);
void cgs_registry_free(struct cgs_registry *r);

/*
 * Walks the whole cgroup2 tree: adds containers not yet known, forgets
 * those whose cgroup is gone. Returns the number of changes, or -errno.
 */
int cgs_registry_rescan(struct cgs_registry *r);

/* A cgroup appeared ("/rel/path", id): returns 1 if a container was added, 0 if not, -errno. */
int cgs_registry_on_mkdir(struct cgs_registry *r, const char *rel, uint64_t id);
/* A cgroup went away: returns 1 if a container was removed, 0 if not. */
int cgs_registry_on_rmdir(struct cgs_registry *r, uint64_t id);

/* The container a cgroup id (the container's own or a nested one) belongs to, or NULL. */
struct cgs_container *cgs_registry_lookup(struct cgs_registry *r, uint64_t cgroup_id);

size_t cgs_registry_count(const struct cgs_registry *r);
/* Iteration: i from 0 while < count; order is stable between changes. */
struct cgs_container *cgs_registry_at(struct cgs_registry *r, size_t i);

struct cgs_registry_stats {
	uint64_t runtime_errors;   /* metadata lookups that failed other than -ENOENT */
	uint64_t dropped;          /* containers not tracked because of max_containers */
	uint64_t added, removed;
	uint64_t no_slot;          /* containers without a BPF slot (bpf_max_containers reached) */
	uint64_t series_dropped;   /* samples.dropped of the containers removed (the counter never goes back) */
};
void cgs_registry_stats(const struct cgs_registry *r, struct cgs_registry_stats *st);

#endif
