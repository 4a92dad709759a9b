/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container slots for the BPF collectors (see bpf/slots.h): owns the
 * shared cgroup-id -> slot map and its generation, hands out slots with a
 * FIFO free list (a freed slot is reused as late as possible), and tells
 * collectors when a slot is (re)assigned, so they zero its accumulators,
 * and when it is released, so they free what they hold for it: with the
 * FIFO, state kept until a slot's reuse would cover every slot in time.
 * Single-threaded: driven by the registry on the event loop.
 */
#ifndef CGS_SLOTS_H
#define CGS_SLOTS_H

#include <stdint.h>

struct bpf_map;
struct cgs_slots;

/* `max_slots` includes slot 0 (the host). NULL with errno. */
struct cgs_slots *cgs_slots_new(uint32_t max_slots);
void cgs_slots_free(struct cgs_slots *s);
uint32_t cgs_slots_max(const struct cgs_slots *s);

/* Makes an object's cgs_cgroup_slots/cgs_slots_meta maps use the shared ones (before load). */
int cgs_slots_reuse(const struct cgs_slots *s, struct bpf_map *ids, struct bpf_map *meta);

/* A free container slot (1..max-1), or -ENOSPC. Reset callbacks run before it returns. */
int cgs_slots_assign(struct cgs_slots *s);
void cgs_slots_release(struct cgs_slots *s, uint32_t slot);
/* Slot 0 (host): runs the reset callbacks; returns 0. */
int cgs_slots_assign_host(struct cgs_slots *s);

/* Maps a cgroup id to a slot / removes it. 0 or -errno. */
int cgs_slots_map(struct cgs_slots *s, uint64_t cgroup_id, uint32_t slot);
int cgs_slots_unmap(struct cgs_slots *s, uint64_t cgroup_id);

/*
 * Registers a collector's callbacks: `reset` runs whenever a slot is handed
 * out (zero its accumulators), `release` (optional) whenever a container
 * slot is given back (free what is held for it). 0 or -ENOSPC.
 */
int cgs_slots_watch(struct cgs_slots *s, void (*reset)(void *arg, uint32_t slot),
		    void (*release)(void *arg, uint32_t slot), void *arg);
/* Forgets every watcher: before the collectors are destroyed (the registry still releases slots). */
void cgs_slots_unwatch_all(struct cgs_slots *s);

#endif
