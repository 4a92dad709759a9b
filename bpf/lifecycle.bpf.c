// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container-lifecycle tracker: the cgroup_mkdir and cgroup_rmdir tracepoints
 * of the cgroup2 hierarchy into a ring buffer, so the agent learns of a
 * container the moment its cgroup appears. tp_btf programs with raw_tp twins
 * (chosen by probing in userspace); neither needs tracefs mounted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "lifecycle.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Hierarchy id of the cgroup2 (default) hierarchy: 0 in Linux; a knob for clarity. */
const volatile int dfl_hierarchy_id = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

__u64 lost = 0;

static __always_inline int emit(struct cgroup *cgrp, const char *path, __u32 type)
{
	struct cgs_lifecycle_event *e;
	long n;

	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != dfl_hierarchy_id)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	e->id = BPF_CORE_READ(cgrp, kn, id);
	e->type = type;
	e->level = (__u32)BPF_CORE_READ(cgrp, level);
	e->pad = 0;
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	e->path_len = n > 0 ? (__u32)(n - 1) : 0;
	if (n <= 0)
		e->path[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(handle_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	return emit(cgrp, path, CGS_LIFECYCLE_MKDIR);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(handle_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	return emit(cgrp, path, CGS_LIFECYCLE_RMDIR);
}

SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(handle_cgroup_mkdir_raw, struct cgroup *cgrp, const char *path)
{
	return emit(cgrp, path, CGS_LIFECYCLE_MKDIR);
}

SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(handle_cgroup_rmdir_raw, struct cgroup *cgrp, const char *path)
{
	return emit(cgrp, path, CGS_LIFECYCLE_RMDIR);
}
