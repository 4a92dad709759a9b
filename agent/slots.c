/* SPDX-License-Identifier: Apache-2.0 */
/* Container slots; see slots.h. */
#include "slots.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/types.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bpf/slots.h"

#define MAX_WATCHERS 16

typedef void (*slot_cb)(void *arg, uint32_t slot);

struct cgs_slots {
	int ids_fd, meta_fd;
	uint32_t max;
	uint32_t *fifo; /* free slots, a ring */
	uint32_t head, count;
	uint64_t gen;
	struct {
		slot_cb reset, release;
		void *arg;
	} w[MAX_WATCHERS];
	int nw;
};

struct cgs_slots *cgs_slots_new(uint32_t max_slots)
{
	struct cgs_slots *s;

	if (max_slots < 2) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ids_fd = s->meta_fd = -1;
	s->max = max_slots;
	s->fifo = calloc(max_slots, sizeof(*s->fifo));
	if (!s->fifo)
		goto fail;
	for (uint32_t i = 1; i < max_slots; i++)
		s->fifo[s->count++] = i;
	s->ids_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "cgs_cgroup_slot", sizeof(__u64), sizeof(__u32),
				   CGS_SLOTS_MAX_CGROUPS, NULL);
	if (s->ids_fd < 0)
		goto fail;
	s->meta_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cgs_slots_meta", sizeof(__u32),
				    sizeof(struct cgs_slots_meta), 1, NULL);
	if (s->meta_fd < 0)
		goto fail;
	return s;
fail:;
	int e = errno;

	cgs_slots_free(s);
	errno = e;
	return NULL;
}

void cgs_slots_free(struct cgs_slots *s)
{
	if (!s)
		return;
	if (s->ids_fd >= 0)
		close(s->ids_fd);
	if (s->meta_fd >= 0)
		close(s->meta_fd);
	free(s->fifo);
	free(s);
}

uint32_t cgs_slots_max(const struct cgs_slots *s)
{
	return s->max;
}

int cgs_slots_reuse(const struct cgs_slots *s, struct bpf_map *ids, struct bpf_map *meta)
{
	int e = bpf_map__reuse_fd(ids, s->ids_fd);

	return e ? e : bpf_map__reuse_fd(meta, s->meta_fd);
}

static void run_resets(struct cgs_slots *s, uint32_t slot)
{
	for (int i = 0; i < s->nw; i++)
		s->w[i].reset(s->w[i].arg, slot);
}

int cgs_slots_assign(struct cgs_slots *s)
{
	uint32_t slot;

	if (!s->count)
		return -ENOSPC;
	slot = s->fifo[s->head];
	s->head = (s->head + 1) % s->max;
	s->count--;
	run_resets(s, slot);
	return (int)slot;
}

int cgs_slots_assign_host(struct cgs_slots *s)
{
	run_resets(s, CGS_SLOT_HOST);
	return CGS_SLOT_HOST;
}

void cgs_slots_release(struct cgs_slots *s, uint32_t slot)
{
	if (slot == CGS_SLOT_HOST || slot >= s->max || s->count >= s->max)
		return;
	s->fifo[(s->head + s->count) % s->max] = slot;
	s->count++;
	for (int i = 0; i < s->nw; i++)
		if (s->w[i].release)
			s->w[i].release(s->w[i].arg, slot);
}

int cgs_slots_map(struct cgs_slots *s, uint64_t cgroup_id, uint32_t slot)
{
	__u64 k = cgroup_id;
	__u32 v = slot, zero = 0;
	struct cgs_slots_meta m;

	if (bpf_map_update_elem(s->ids_fd, &k, &v, BPF_ANY) < 0)
		return -errno;
	/* Tasks that cached "no container" for this id must look again. */
	m.gen = ++s->gen;
	if (bpf_map_update_elem(s->meta_fd, &zero, &m, BPF_ANY) < 0)
		return -errno;
	return 0;
}

int cgs_slots_unmap(struct cgs_slots *s, uint64_t cgroup_id)
{
	__u64 k = cgroup_id;

	if (bpf_map_delete_elem(s->ids_fd, &k) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int cgs_slots_watch(struct cgs_slots *s, void (*reset)(void *arg, uint32_t slot),
		    void (*release)(void *arg, uint32_t slot), void *arg)
{
	if (s->nw >= MAX_WATCHERS)
		return -ENOSPC;
	s->w[s->nw].reset = reset;
	s->w[s->nw].release = release;
	s->w[s->nw].arg = arg;
	s->nw++;
	return 0;
}

void cgs_slots_unwatch_all(struct cgs_slots *s)
{
	if (s)
		s->nw = 0;
}
