/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Container slots, shared by every BPF collector: userspace gives each
 * container a small integer slot and maps every cgroup id at or below the
 * container's cgroup to it, so BPF programs index per-CPU arrays by slot
 * (nested cgroups fold into their container for free) and bail out early
 * for tasks that are not in a container.
 */
#ifndef CGS_BPF_SLOTS_H
#define CGS_BPF_SLOTS_H

/* Slot 0 is the host (tasks outside every container), used only when configured. */
#define CGS_SLOT_HOST 0
#define CGS_SLOT_NONE (-1)
/* Most cgroup ids mapped (containers plus their nested cgroups). */
#define CGS_SLOTS_MAX_CGROUPS 65536

struct cgs_slots_meta {
	__u64 gen; /* bumped by userspace whenever a cgroup id is added to the map */
};

_Static_assert(sizeof(struct cgs_slots_meta) == 8, "cgs_slots_meta layout");

#endif
