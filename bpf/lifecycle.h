/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wire format of the container-lifecycle tracker: one record per cgroup2
 * directory created or removed, from the cgroup:cgroup_mkdir/rmdir
 * tracepoints. Shared by bpf/lifecycle.bpf.c and collectors/lifecycle.c.
 */
#ifndef CGS_BPF_LIFECYCLE_H
#define CGS_BPF_LIFECYCLE_H

#define CGS_LIFECYCLE_MKDIR 1
#define CGS_LIFECYCLE_RMDIR 2
/* Longer paths arrive truncated (path_len == CGS_LIFECYCLE_PATH_MAX - 1); userspace rescans. */
#define CGS_LIFECYCLE_PATH_MAX 256

struct cgs_lifecycle_event {
	__u64 id;       /* cgroup id (kernfs inode) */
	__u32 type;     /* CGS_LIFECYCLE_MKDIR or _RMDIR */
	__u32 level;    /* depth below the root */
	__u32 path_len; /* bytes in path, without the NUL */
	__u32 pad;
	char path[CGS_LIFECYCLE_PATH_MAX];
};

_Static_assert(sizeof(struct cgs_lifecycle_event) == 24 + CGS_LIFECYCLE_PATH_MAX,
	       "cgs_lifecycle_event layout");

#endif
