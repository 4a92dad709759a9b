/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the cgroup hierarchies are: the cgroup2 mount (pure v2 at
 * /sys/fs/cgroup, hybrid at /sys/fs/cgroup/unified) and, on hybrid and
 * legacy hosts, the v1 controller mounts that are read (never written) for
 * controllers the v2 hierarchy lacks. Every v1/v2 difference in path
 * handling lives here.
 */
#ifndef CGS_CGROUP_H
#define CGS_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cgs_v1_ctrl {
	CGS_V1_CPU,
	CGS_V1_CPUACCT,
	CGS_V1_MEMORY,
	CGS_V1_BLKIO,
	CGS_V1_PIDS,
	CGS_V1__COUNT
};

struct cgs_cgroup_mounts {
	char v2[PATH_MAX];                 /* "" if no cgroup2 mount */
	char v1[CGS_V1__COUNT][PATH_MAX];  /* "" where the controller has no v1 mount */
	bool hybrid;                       /* v2 beside v1 controllers */
};

const char *cgs_v1_ctrl_name(enum cgs_v1_ctrl c);

/*
 * Parses /proc/self/mountinfo text. 0, or -ENOENT when there is neither a
 * cgroup2 nor a v1 mount.
 */
int cgs_cgroup_parse_mountinfo(const char *text, struct cgs_cgroup_mounts *m);

/*
 * Finds the hierarchies. With `root` set ("/host/sys/fs/cgroup"), looks
 * there only: cgroup2 at root (pure) or root/unified (hybrid), v1
 * controllers at root/<name> (joined mounts such as cpu,cpuacct are
 * followed). Without it, reads `mountinfo` (normally /proc/self/mountinfo).
 * 0, -ENOENT (no cgroup2 hierarchy), other -errno.
 */
int cgs_cgroup_find_mounts(const char *root, const char *mountinfo, struct cgs_cgroup_mounts *m);

/*
 * The v1 directory of controller `c` for the container whose v2 path
 * (relative, "/a/b") is `rel`: the same relative path under the v1 mount
 * when it exists, else the path a process of the container is in according
 * to <proc_root>/<pid>/cgroup. Writes an absolute path to `out`; 0, -ENOENT.
 */
int cgs_cgroup_v1_dir(const struct cgs_cgroup_mounts *m, enum cgs_v1_ctrl c, const char *rel,
		      const char *proc_root, char *out, size_t outlen);

/* The cgroup id of a cgroup2 directory (its kernfs inode number). 0 or -errno. */
int cgs_cgroup_id(const char *dir, uint64_t *id);

#endif
