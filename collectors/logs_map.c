/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log pipeline's indexes (inotify watch -> file or directory, path ->
 * file, inode -> file and position entry, tag -> open chunk): one small
 * chained hash map of 64-bit keys to pointers, duplicates allowed (callers
 * compare the full key), grown by doubling.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "logs.h"

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t lg_hash_str(const char *s)
{
	return cgs_fnv1a(CGS_FNV_OFFSET, s, __builtin_strlen(s));
}

static size_t slot(const struct lg_map *m, uint64_t key)
{
	/* Keys may be small integers (watch descriptors): mix them. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)(key & (m->nb - 1));
}

static int grow(struct lg_map *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct lg_hnode **b = calloc(nb, sizeof(*b));
	struct lg_map nm = { b, nb, m->n };

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->nb; i++) {
		struct lg_hnode *n = m->b[i], *next;

		for (; n; n = next) {
			size_t s = slot(&nm, n->key);

			next = n->next;
			n->next = b[s];
			b[s] = n;
		}
	}
	free(m->b);
	*m = nm;
	return 0;
}

int lg_map_put(struct lg_map *m, uint64_t key, void *val)
{
	struct lg_hnode *n;
	size_t s;

	if (m->n >= m->nb && grow(m) < 0)
		return -ENOMEM;
	n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	s = slot(m, key);
	n->key = key;
	n->val = val;
	n->next = m->b[s];
	m->b[s] = n;
	m->n++;
	return 0;
}

bool lg_map_del(struct lg_map *m, uint64_t key, void *val)
{
	if (!m->nb)
		return false;
	for (struct lg_hnode **pp = &m->b[slot(m, key)]; *pp; pp = &(*pp)->next) {
		if ((*pp)->key == key && (*pp)->val == val) {
			struct lg_hnode *n = *pp;

			*pp = n->next;
			free(n);
			m->n--;
			return true;
		}
	}
	return false;
}

void *lg_map_next(const struct lg_map *m, uint64_t key, struct lg_hnode **it)
{
	struct lg_hnode *n;

	if (!m->nb)
		return NULL;
	n = *it ? (*it)->next : m->b[slot(m, key)];
	for (; n; n = n->next) {
		if (n->key == key) {
			*it = n;
			return n->val;
		}
	}
	return NULL;
}

void lg_map_free(struct lg_map *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct lg_hnode *n = m->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(m->b);
	m->b = NULL;
	m->nb = m->n = 0;
}
