/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container registry (see containers.h). Containers are individually
 * allocated so pointers stay valid until removal; an open-addressing map
 * sends every cgroup id at or below a container cgroup to its container.
 * A rescan is mark and sweep: everything found is marked with the pass's
 * generation, everything unmarked afterwards is gone.
 */
#include "containers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "slots.h"

#define LOG_COMP "containers"
#define MAX_DEPTH 32
/* Metadata not found yet is looked up again while the container is younger than this. */
#define META_RETRY_WINDOW_S 120.0

struct idmap_slot {
	uint64_t id;       /* 0 = empty; cgroup ids are never 0 */
	struct cgs_container *c;
	uint32_t mark;
	bool tomb;
};

struct cgs_registry {
	struct cgs_registry_opts opts;
	struct cgs_container **v;
	size_t n, cap;
	struct idmap_slot *map;
	size_t map_cap, map_used; /* used counts live + tombstones */
	uint32_t mark;
	bool host_added;
	struct cgs_registry_stats st;
};

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static struct idmap_slot *map_find(struct cgs_registry *r, uint64_t id)
{
	if (!r->map_cap)
		return NULL;
	for (size_t i = hash_u64(id) & (r->map_cap - 1), k = 0; k < r->map_cap;
	     i = (i + 1) & (r->map_cap - 1), k++) {
		struct idmap_slot *s = &r->map[i];

		if (!s->id && !s->tomb)
			return NULL;
		if (s->id == id)
			return s;
	}
	return NULL;
}

static int map_grow(struct cgs_registry *r)
{
	size_t ncap = r->map_cap ? r->map_cap * 2 : 256;
	struct idmap_slot *old = r->map, *nm;
	size_t ocap = r->map_cap;

	/* Only rehash when live entries need the room; otherwise rebuild to drop tombstones. */
	size_t live = 0;
	for (size_t i = 0; i < ocap; i++)
		live += old[i].id != 0;
	if (ocap && live * 2 < ocap)
		ncap = ocap;
	nm = calloc(ncap, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	r->map = nm;
	r->map_cap = ncap;
	r->map_used = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].id)
			continue;
		size_t j = hash_u64(old[i].id) & (ncap - 1);

		while (nm[j].id)
			j = (j + 1) & (ncap - 1);
		nm[j] = old[i];
		r->map_used++;
	}
	free(old);
	return 0;
}

static void slots_map(struct cgs_registry *r, uint64_t id, struct cgs_container *c)
{
	if (r->opts.slots && c->slot >= 0 && !c->host) {
		int e = cgs_slots_map(r->opts.slots, id, (uint32_t)c->slot);

		if (e < 0)
			cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot map cgroup %llu to its BPF slot: %s",
					    (unsigned long long)id, strerror(-e));
	}
}

static int map_put(struct cgs_registry *r, uint64_t id, struct cgs_container *c)
{
	struct idmap_slot *s = map_find(r, id);

	if (s) {
		if (s->c != c)
			slots_map(r, id, c);
		s->c = c;
		s->mark = r->mark;
		return 0;
	}
	slots_map(r, id, c);
	if (c->cgroup_id != id)
		c->nested++;
	if ((r->map_used + 1) * 4 >= r->map_cap * 3) {
		int e = map_grow(r);

		if (e)
			return e;
	}
	for (size_t i = hash_u64(id) & (r->map_cap - 1);; i = (i + 1) & (r->map_cap - 1)) {
		s = &r->map[i];
		if (!s->id) {
			if (!s->tomb)
				r->map_used++;
			s->id = id;
			s->c = c;
			s->mark = r->mark;
			s->tomb = false;
			return 0;
		}
	}
}

static void map_del_slot(struct cgs_registry *r, struct idmap_slot *s)
{
	if (r->opts.slots && s->c && s->c->slot >= 0 && !s->c->host)
		cgs_slots_unmap(r->opts.slots, s->id);
	if (s->c && s->c->cgroup_id != s->id && s->c->nested)
		s->c->nested--;
	s->id = 0;
	s->c = NULL;
	s->tomb = true;
}

static double now_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct cgs_registry *cgs_registry_new(const struct cgs_registry_opts *opts)
{
	struct cgs_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->opts = *opts;
	if (!r->opts.max_containers)
		r->opts.max_containers = 10000;
	r->mark = 1;
	return r;
}

static void container_free(struct cgs_registry *r, struct cgs_container *c)
{
	if (!c)
		return;
	if (r && r->opts.slots && c->slot >= 0 && !c->host)
		cgs_slots_release(r->opts.slots, (uint32_t)c->slot);
	free(c->path);
	free(c->dir);
	for (int i = 0; i < CGS_V1__COUNT; i++)
		free(c->v1_dir[i]);
	cgs_meta_clear(&c->meta);
	cgs_samples_free(&c->samples);
	free(c);
}

void cgs_registry_free(struct cgs_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		container_free(r, r->v[i]);
	free(r->v);
	free(r->map);
	free(r);
}

static int meta_fill_empty(struct cgs_meta *m)
{
	char **f[] = { &m->name, &m->image, &m->container, &m->pod, &m->namespace, &m->pod_uid };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!*f[i] && !(*f[i] = strdup("")))
			return -ENOMEM;
	return 0;
}

/* Looks up (or retries) the container's metadata; empty strings stay where nothing is known. */
static void container_lookup_meta(struct cgs_registry *r, struct cgs_container *c)
{
	struct cgs_meta m = { 0 };
	int e = c->match.runtime == CGS_RT_NONE ? -ENOENT
						: cgs_runtime_lookup(&r->opts.runtime_dirs, &c->match, &m);

	if (e == 0) {
		cgs_meta_clear(&c->meta);
		c->meta = m;
	} else if (e != -ENOENT && e != c->meta_err) {
		r->st.runtime_errors++;
		cgs_log_warn(LOG_COMP, "metadata of %s container %s unreadable (%s): labels left empty",
			     cgs_runtime_name(c->match.runtime), c->match.id, strerror(-e));
	}
	c->meta_err = e;
	/* The pod UID is in the path of every kubepods cgroup, state or not. */
	if ((!c->meta.pod_uid || !c->meta.pod_uid[0]) && c->match.pod_uid[0]) {
		char *u = strdup(c->match.pod_uid);

		if (u) {
			free(c->meta.pod_uid);
			c->meta.pod_uid = u;
		}
	}
	if (meta_fill_empty(&c->meta) < 0)
		c->meta_err = -ENOMEM;
}

static struct cgs_container *container_new(struct cgs_registry *r, const char *rel, size_t len,
					   uint64_t id, const struct cgs_cgpath *m, double start)
{
	struct cgs_container *c = calloc(1, sizeof(*c));
	char buf[PATH_MAX];

	if (!c)
		return NULL;
	c->cgroup_id = id;
	c->match = *m;
	c->path = strndup(rel, len);
	if (!c->path || asprintf(&c->dir, "%s%s", r->opts.mounts->v2, c->path) < 0) {
		c->dir = NULL;
		container_free(r, c);
		return NULL;
	}
	for (int i = 0; i < CGS_V1__COUNT; i++)
		if (cgs_cgroup_v1_dir(r->opts.mounts, (enum cgs_v1_ctrl)i, c->path, r->opts.proc_root, buf,
				      sizeof(buf)) == 0)
			c->v1_dir[i] = strdup(buf);
	/* A cgroup directory's ctime is its creation time unless someone chmods it. */
	struct stat st;
	c->start_time = start;
	if (stat(c->dir, &st) == 0 && st.st_ctim.tv_sec > 0)
		c->start_time = (double)st.st_ctim.tv_sec + (double)st.st_ctim.tv_nsec / 1e9;
	cgs_samples_init(&c->samples, r->opts.max_series_per_container);
	c->nested_tracked = true;
	c->slot = -1;
	if (r->opts.slots) {
		c->slot = cgs_slots_assign(r->opts.slots);
		if (c->slot < 0) {
			c->slot = -1;
			r->st.no_slot++;
			cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP,
					    "bpf_max_containers reached: %s gets no eBPF metrics", c->path);
		}
	}
	container_lookup_meta(r, c);
	return c;
}

static int registry_append(struct cgs_registry *r, struct cgs_container *c)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		struct cgs_container **nv = realloc(r->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		r->v = nv;
		r->cap = ncap;
	}
	r->v[r->n++] = c;
	return 0;
}

/*
 * Records cgroup `rel` (id known). Returns 1 if a container was added, 0 otherwise, -errno.
 * `start` is the creation time to record for a new container.
 */
static int registry_record(struct cgs_registry *r, const char *rel, uint64_t id, double start)
{
	struct cgs_cgpath m;
	struct idmap_slot *s;
	struct cgs_container *c;
	int e;

	if (cgs_cgpath_match(rel, &m) != 1)
		return 0;
	s = map_find(r, id);
	if (s && s->c) {
		s->mark = r->mark;
		if (s->c->cgroup_id == id)
			s->c->mark = r->mark;
		return 0;
	}
	if (m.container_len < strlen(rel)) {
		/* Nested: belongs to the container whose cgroup is the prefix. */
		char parent[PATH_MAX];
		uint64_t pid;

		size_t rootlen = strlen(r->opts.mounts->v2);

		if (rootlen + m.container_len >= sizeof(parent))
			return 0;
		memcpy(parent, r->opts.mounts->v2, rootlen);
		memcpy(parent + rootlen, rel, m.container_len);
		parent[rootlen + m.container_len] = '\0';
		if (cgs_cgroup_id(parent, &pid) < 0)
			return 0;
		s = map_find(r, pid);
		if (!s || !s->c) {
			/* The container's own cgroup was not seen yet (an event raced a walk). */
			e = registry_record(r, parent + strlen(r->opts.mounts->v2), pid, start);
			if (e < 0)
				return e;
			s = map_find(r, pid);
			if (!s || !s->c)
				return 0;
			e = map_put(r, id, s->c);
			return e < 0 ? e : 1;
		}
		return map_put(r, id, s->c);
	}
	if (r->n >= r->opts.max_containers) {
		r->st.dropped++;
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "max_containers (%zu) reached: %s not tracked",
				    r->opts.max_containers, rel);
		return 0;
	}
	c = container_new(r, rel, strlen(rel), id, &m, start);
	if (!c)
		return -ENOMEM;
	c->mark = r->mark;
	e = registry_append(r, c);
	if (e == 0)
		e = map_put(r, id, c);
	if (e < 0) {
		if (r->n && r->v[r->n - 1] == c)
			r->n--;
		container_free(r, c);
		return e;
	}
	r->st.added++;
	cgs_log_debug(LOG_COMP, "container %s (%s) at %s", c->match.id, cgs_runtime_name(m.runtime), rel);
	return 1;
}

static void registry_remove_at(struct cgs_registry *r, size_t i)
{
	struct cgs_container *c = r->v[i];

	for (size_t k = 0; k < r->map_cap; k++)
		if (r->map[k].id && r->map[k].c == c)
			map_del_slot(r, &r->map[k]);
	cgs_log_debug(LOG_COMP, "container %s gone", c->match.id);
	r->st.series_dropped += c->samples.dropped;
	container_free(r, c);
	memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof(*r->v));
	r->n--;
	r->st.removed++;
}

static int walk(struct cgs_registry *r, char *abs, size_t abslen, size_t rootlen, int depth,
		int *changes)
{
	DIR *d;
	struct dirent *de;
	int e = 0;

	if (depth > MAX_DEPTH)
		return 0;
	d = opendir(abs);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t nl;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		nl = strlen(de->d_name);
		if (abslen + 1 + nl >= PATH_MAX)
			continue;
		abs[abslen] = '/';
		memcpy(abs + abslen + 1, de->d_name, nl + 1);
		/* d_ino of a cgroup2 directory is its cgroup id. */
		int a = registry_record(r, abs + rootlen, (uint64_t)de->d_ino, now_realtime());

		if (a < 0) {
			e = a;
		} else {
			*changes += a;
			a = walk(r, abs, abslen + 1 + nl, rootlen, depth + 1, changes);
			if (a < 0)
				e = a;
		}
		abs[abslen] = '\0';
	}
	closedir(d);
	return e;
}

/* The host pseudo container: the root cgroup "/", slot 0, exported like cAdvisor's id="/". */
static int registry_add_host(struct cgs_registry *r)
{
	struct cgs_cgpath m = { .runtime = CGS_RT_NONE, .container_len = 1 };
	struct cgs_container *c;
	uint64_t id;
	int e = cgs_cgroup_id(r->opts.mounts->v2, &id);

	if (e < 0)
		return e;
	c = container_new(r, "/", 1, id, &m, 0);
	if (!c)
		return -ENOMEM;
	/* container_new assigned a container slot: give it back, the host has slot 0. */
	if (r->opts.slots && c->slot >= 0)
		cgs_slots_release(r->opts.slots, (uint32_t)c->slot);
	c->slot = r->opts.slots ? cgs_slots_assign_host(r->opts.slots) : -1;
	c->host = true;
	free(c->dir);
	c->dir = strdup(r->opts.mounts->v2);
	e = c->dir ? registry_append(r, c) : -ENOMEM;
	if (e == 0)
		e = map_put(r, id, c);
	if (e < 0) {
		if (r->n && r->v[r->n - 1] == c)
			r->n--;
		container_free(r, c);
		return e;
	}
	r->host_added = true;
	return 1;
}

int cgs_registry_rescan(struct cgs_registry *r)
{
	char abs[PATH_MAX];
	size_t rootlen = strlen(r->opts.mounts->v2);
	int changes = 0, e;

	if (rootlen >= sizeof(abs))
		return -ENAMETOOLONG;
	r->mark++;
	if (r->opts.include_host && !r->host_added) {
		e = registry_add_host(r);
		if (e < 0)
			return e;
		changes += e;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i]->host) {
			r->v[i]->mark = r->mark;
			struct idmap_slot *hs = map_find(r, r->v[i]->cgroup_id);

			if (hs)
				hs->mark = r->mark;
		}
	memcpy(abs, r->opts.mounts->v2, rootlen + 1);
	e = walk(r, abs, rootlen, rootlen, 0, &changes);
	if (e < 0) {
		/* A partial walk must not sweep what it did not reach. */
		return e;
	}
	for (size_t i = r->n; i-- > 0;) {
		if (r->v[i]->mark != r->mark) {
			registry_remove_at(r, i);
			changes++;
		}
	}
	for (size_t k = 0; k < r->map_cap; k++)
		if (r->map[k].id && r->map[k].mark != r->mark)
			map_del_slot(r, &r->map[k]);
	/* Retry metadata that was not there yet. */
	double now = now_realtime();
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i]->meta_err == -ENOENT && now - r->v[i]->start_time < META_RETRY_WINDOW_S)
			container_lookup_meta(r, r->v[i]);
	return changes;
}

int cgs_registry_on_mkdir(struct cgs_registry *r, const char *rel, uint64_t id)
{
	char abs[PATH_MAX];
	size_t rootlen = strlen(r->opts.mounts->v2), rl = strlen(rel);
	int changes = 0, a;

	if (!rl || rel[0] != '/')
		return -EINVAL;
	a = registry_record(r, rel, id, now_realtime());
	if (a <= 0 || rootlen + rl >= sizeof(abs))
		return a;
	/* Catch anything created below it before the event reached us. */
	memcpy(abs, r->opts.mounts->v2, rootlen);
	memcpy(abs + rootlen, rel, rl + 1);
	walk(r, abs, rootlen + rl, rootlen, 0, &changes);
	return a;
}

int cgs_registry_on_rmdir(struct cgs_registry *r, uint64_t id)
{
	struct idmap_slot *s = map_find(r, id);

	if (!s || !s->c)
		return 0;
	if (s->c->cgroup_id != id) {
		map_del_slot(r, s);
		return 0;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i] == s->c) {
			registry_remove_at(r, i);
			return 1;
		}
	}
	return 0;
}

struct cgs_container *cgs_registry_lookup(struct cgs_registry *r, uint64_t cgroup_id)
{
	struct idmap_slot *s = map_find(r, cgroup_id);

	return s ? s->c : NULL;
}

size_t cgs_registry_count(const struct cgs_registry *r)
{
	return r->n;
}

struct cgs_container *cgs_registry_at(struct cgs_registry *r, size_t i)
{
	return i < r->n ? r->v[i] : NULL;
}

void cgs_registry_stats(const struct cgs_registry *r, struct cgs_registry_stats *st)
{
	*st = r->st;
}
