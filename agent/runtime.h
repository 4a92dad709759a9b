/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container metadata from the runtime's own state on the node: containerd
 * and CRI-O OCI config.json annotations, Docker's config.v2.json, Podman's
 * userdata. Parsers are pure (text in, struct out) so they are tested on
 * fixtures; the lookup does the file I/O.
 */
#ifndef CGS_RUNTIME_H
#define CGS_RUNTIME_H

#include <stddef.h>

#include "cgpath.h"

/* Where each runtime keeps its state; NULL or "" disables that runtime. */
struct cgs_runtime_dirs {
	const char *containerd; /* /run/containerd/io.containerd.runtime.v2.task: <ns>/<id>/config.json */
	const char *crio;       /* /run/containers/storage/overlay-containers: <id>/userdata/config.json */
	const char *docker;     /* /var/lib/docker/containers: <id>/config.v2.json */
	const char *podman;     /* /var/lib/containers/storage/overlay-containers: <id>/userdata/config.json */
};

/* Every string is heap-allocated and never NULL after a successful parse ("" if unknown). */
struct cgs_meta {
	char *name;      /* runtime's container name (Docker/Podman name, or the CRI container name) */
	char *image;
	char *container; /* Kubernetes container name ("POD" for a sandbox), "" outside Kubernetes */
	char *pod;
	char *namespace;
	char *pod_uid;
	int sandbox;     /* 1 for a pod sandbox (pause) container */
};

/* Parses an OCI runtime spec (containerd, CRI-O, Podman). 0, -EBADMSG if not valid JSON/spec, -ENOMEM. */
int cgs_runtime_parse_oci(const char *json, size_t len, struct cgs_meta *meta);
/* Parses Docker's config.v2.json. 0, -EBADMSG, -ENOMEM. */
int cgs_runtime_parse_docker(const char *json, size_t len, struct cgs_meta *meta);

/*
 * Finds and parses the state of container `id` made by runtime `rt` (for a
 * guessed runtime, tries containerd then CRI-O). 0 on success; -ENOENT when
 * no state exists; -EBADMSG when it exists but is garbled; -E2BIG for a
 * state file over 4 MiB; other -errno from I/O. `meta` is filled only on success.
 */
int cgs_runtime_lookup(const struct cgs_runtime_dirs *dirs, const struct cgs_cgpath *m,
		       struct cgs_meta *meta);

/* Frees the strings; leaves `meta` zeroed. Safe on a zeroed or partly filled struct. */
void cgs_meta_clear(struct cgs_meta *meta);

#endif
