/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The container-slot lookup every BPF collector uses (see bpf/slots.h).
 * The two maps are created once by the agent (agent/slots.c) and shared by
 * every collector's object through bpf_map__reuse_fd before load.
 *
 * Hot path: a per-task cache (embedded in the collector's own task storage
 * value) remembers the last cgroup id and its slot; only when the task's
 * cgroup or the map's generation changed is the hash map consulted.
 */
#ifndef CGS_BPF_LIB_SLOTS_BPF_H
#define CGS_BPF_LIB_SLOTS_BPF_H

#include "slots.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGS_SLOTS_MAX_CGROUPS);
	__type(key, __u64);   /* cgroup id */
	__type(value, __u32); /* slot */
} cgs_cgroup_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cgs_slots_meta);
} cgs_slots_meta SEC(".maps");

struct cgs_slot_cache {
	__u64 cgid;
	__u64 gen;
	__s32 slot;
	__u32 valid;
};

/* The slot of the current task's container, or CGS_SLOT_NONE. */
static __always_inline int cgs_slot_current(struct cgs_slot_cache *c)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 zero = 0;
	struct cgs_slots_meta *m = bpf_map_lookup_elem(&cgs_slots_meta, &zero);
	__u64 gen = m ? m->gen : 0;
	__u32 *s;

	if (c->valid && c->cgid == cgid && c->gen == gen)
		return c->slot;
	s = bpf_map_lookup_elem(&cgs_cgroup_slots, &cgid);
	c->cgid = cgid;
	c->gen = gen;
	c->slot = s ? (__s32)*s : CGS_SLOT_NONE;
	c->valid = 1;
	return c->slot;
}

/* The slot of a cgroup id without a cache (cold paths). */
static __always_inline int cgs_slot_of_cgroup(__u64 cgid)
{
	__u32 *s = bpf_map_lookup_elem(&cgs_cgroup_slots, &cgid);

	return s ? (__s32)*s : CGS_SLOT_NONE;
}

#endif
