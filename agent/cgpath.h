/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container recognition from a cgroup path: which runtime made the cgroup,
 * the container id, and the Kubernetes pod UID and QoS class when the path
 * is below kubepods. Pure functions of the path; no I/O.
 */
#ifndef CGS_CGPATH_H
#define CGS_CGPATH_H

#include <stddef.h>

enum cgs_runtime {
	CGS_RT_NONE = 0,
	CGS_RT_CONTAINERD, /* cri-containerd-<id>.scope, or a bare id below kubepods (cgroupfs) */
	CGS_RT_CRIO,       /* crio-<id>.scope, crio-<id> */
	CGS_RT_DOCKER,     /* docker-<id>.scope, /docker/<id> */
	CGS_RT_PODMAN,     /* libpod-<id>.scope, /libpod_parent/libpod-<id> */
	CGS_RT__COUNT
};

enum cgs_qos {
	CGS_QOS_NONE = 0,  /* not a Kubernetes pod */
	CGS_QOS_GUARANTEED,
	CGS_QOS_BURSTABLE,
	CGS_QOS_BESTEFFORT,
};

#define CGS_CONTAINER_ID_MAX 64
#define CGS_POD_UID_MAX 36

struct cgs_cgpath {
	enum cgs_runtime runtime;
	/* 1 when the runtime is a guess: a bare id under kubepods (cgroupfs
	 * driver) may be containerd's or another CRI runtime's. */
	int runtime_guessed;
	char id[CGS_CONTAINER_ID_MAX + 1];     /* lowercase hex */
	char pod_uid[CGS_POD_UID_MAX + 1];     /* with dashes, "" if none */
	enum cgs_qos qos;
	size_t container_len;                  /* length of the prefix of the path that is the
						  container's own cgroup */
};

/*
 * Recognises the container a cgroup belongs to. `path` is relative to the
 * cgroup2 root and starts with '/' ("/kubepods/besteffort/pod<uid>/<id>/sub").
 * Returns 1 when `path` is a container's cgroup or below one (the first
 * matching component wins; `m` filled), 0 when it is not in a container
 * (`m` untouched), -EINVAL when `path` is malformed (empty, not absolute).
 * Conmon and other runtime helper scopes (libpod-conmon-*, crio-conmon-*)
 * are not containers.
 */
int cgs_cgpath_match(const char *path, struct cgs_cgpath *m);

const char *cgs_runtime_name(enum cgs_runtime rt);
const char *cgs_qos_name(enum cgs_qos q);

#endif
