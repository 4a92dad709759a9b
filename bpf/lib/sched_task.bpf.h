/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-task state and task fields for the scheduler and memory collectors.
 *
 * Every helper takes `btf`, a compile-time constant: true in tp_btf
 * programs, where task pointers are BTF pointers read with plain (CO-RE
 * relocated) loads; false in raw_tp programs, where they are plain numbers
 * read with bpf_probe_read_kernel. Callers pass literals so the unused
 * branch is compiled out.
 *
 * Per-task state lives in BPF task local storage in tp_btf programs (the
 * helper needs a BTF task pointer), in an LRU hash keyed by thread id in
 * the raw_tp twins: an insert when a thread is first seen, lookups
 * afterwards. Userspace loads the tp_btf programs only where the kernel
 * has both tp_btf and task storage; elsewhere, the raw_tp ones. (One
 * program cannot carry both stores behind a load-time switch: libbpf
 * before 1.2 refuses a reference to a map it did not create, even in
 * dead code.)
 */
#ifndef CGS_BPF_LIB_SCHED_TASK_BPF_H
#define CGS_BPF_LIB_SCHED_TASK_BPF_H

#include "slots.bpf.h"

/* Threads the hash fallback remembers; the least recently used go first. */
#define CGS_TASK_HASH_MAX 32768

/* task_struct::state was renamed __state in Linux 5.14 (2f064a59a11f). */
struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

/* The task's scheduler state word: 0 is TASK_RUNNING. */
static __always_inline long cgs_task_state(struct task_struct *t, bool btf)
{
	if (bpf_core_field_exists(t->__state))
		return btf ? (long)t->__state : (long)BPF_CORE_READ(t, __state);
	return btf ? ((struct task_struct___o *)t)->state
		   : BPF_CORE_READ((struct task_struct___o *)t, state);
}

/* Whether the task is on a CPU (running, or being switched out). */
static __always_inline bool cgs_task_on_cpu(struct task_struct *t, bool btf)
{
	if (!bpf_core_field_exists(t->on_cpu))
		return false;
	return btf ? t->on_cpu : BPF_CORE_READ(t, on_cpu);
}

static __always_inline __u32 cgs_task_tid(struct task_struct *t, bool btf)
{
	return btf ? (__u32)t->pid : (__u32)BPF_CORE_READ(t, pid);
}

/* The id of the task's cgroup in the default (v2) hierarchy. */
static __always_inline __u64 cgs_task_cgroup_id(struct task_struct *t, bool btf)
{
	return btf ? t->cgroups->dfl_cgrp->kn->id : BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/*
 * The slot of task `t` (not necessarily current) from its cached slot.
 * The cache is refreshed from t's cgroup when the slot map changed since;
 * a thread that moved to another cgroup is re-resolved the next time it
 * leaves a CPU (cgs_slot_current), so until then its old slot is used.
 */
static __always_inline int cgs_slot_task(struct task_struct *t, struct cgs_slot_cache *c, bool btf)
{
	__u32 zero = 0;
	struct cgs_slots_meta *m = bpf_map_lookup_elem(&cgs_slots_meta, &zero);
	__u64 gen = m ? m->gen : 0, cgid;
	__u32 *s;

	if (c->valid && c->gen == gen)
		return c->slot;
	cgid = cgs_task_cgroup_id(t, btf);
	s = bpf_map_lookup_elem(&cgs_cgroup_slots, &cgid);
	c->cgid = cgid;
	c->gen = gen;
	c->slot = s ? (__s32)*s : CGS_SLOT_NONE;
	c->valid = 1;
	return c->slot;
}

/*
 * CGS_TASK_STATE(name, vtype): the maps `name`_storage (task local storage)
 * and `name`_hash (LRU hash by thread id) of `vtype`, and
 *   vtype *name_get(task, btf)     state of `task`, created if new;
 *   vtype *name_get_current(btf)   state of the current thread;
 * task storage with btf, the hash without. NULL when the kernel has no
 * room or the storage is busy (recursion): the caller skips the event.
 */
#define CGS_TASK_STATE(name, vtype)                                                             \
	struct {                                                                                \
		__uint(type, BPF_MAP_TYPE_TASK_STORAGE);                                        \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                           \
		__type(key, int);                                                               \
		__type(value, vtype);                                                           \
	} name##_storage SEC(".maps");                                                          \
	struct {                                                                                \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);                                            \
		__uint(max_entries, CGS_TASK_HASH_MAX);                                         \
		__type(key, __u32);                                                             \
		__type(value, vtype);                                                           \
	} name##_hash SEC(".maps");                                                             \
	static __always_inline __attribute__((unused)) vtype *name##_by_tid(__u32 tid)          \
	{                                                                                       \
		vtype zero__ = {};                                                              \
		vtype *v = bpf_map_lookup_elem(&name##_hash, &tid);                             \
		if (v)                                                                          \
			return v;                                                               \
		bpf_map_update_elem(&name##_hash, &tid, &zero__, BPF_NOEXIST);                  \
		return bpf_map_lookup_elem(&name##_hash, &tid);                                 \
	}                                                                                       \
	static __always_inline __attribute__((unused)) vtype *                                  \
	name##_get(struct task_struct *t, bool btf)                                             \
	{                                                                                       \
		if (btf)                                                                        \
			return bpf_task_storage_get(&name##_storage, t, 0,                      \
						    BPF_LOCAL_STORAGE_GET_F_CREATE);            \
		return name##_by_tid(cgs_task_tid(t, btf));                                     \
	}                                                                                       \
	static __always_inline __attribute__((unused)) vtype *                                  \
	name##_get_current(bool btf)                                                            \
	{                                                                                       \
		if (btf)                                                                        \
			return bpf_task_storage_get(&name##_storage,                            \
						    bpf_get_current_task_btf(), 0,              \
						    BPF_LOCAL_STORAGE_GET_F_CREATE);            \
		return name##_by_tid((__u32)bpf_get_current_pid_tgid());                        \
	}

#endif
