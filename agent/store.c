/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots and the store that publishes them; see store.h. */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "../exporters/api.h"
#include "../exporters/prometheus.h"
#include "buf.h"
#include "containers.h"

struct cgs_store {
	pthread_mutex_t lock;
	struct cgs_snapshot *cur;
};

struct cgs_snapshot *cgs_snapshot_new(void)
{
	struct cgs_snapshot *s = calloc(1, sizeof(*s));
	struct timespec ts;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	s->taken = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	s->refs = 1;
	return s;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int cgs_snapshot_add_container(struct cgs_snapshot *s, const struct cgs_snap_container *src)
{
	struct cgs_snap_container *nv, *c;
	int e = -ENOMEM;

	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;

		nv = realloc(s->c, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->c = nv;
		s->cap = ncap;
	}
	c = memset(&s->c[s->n], 0, sizeof(*c));
	c->cgroup_id = src->cgroup_id;
	c->runtime = src->runtime ? src->runtime : "";
	c->qos = src->qos ? src->qos : "";
	memcpy(c->container_id, src->container_id, sizeof(c->container_id));
	c->container_id[sizeof(c->container_id) - 1] = '\0';
	c->start_time = src->start_time;
	c->path = dup_or_empty(src->path);
	c->meta.name = dup_or_empty(src->meta.name);
	c->meta.image = dup_or_empty(src->meta.image);
	c->meta.container = dup_or_empty(src->meta.container);
	c->meta.pod = dup_or_empty(src->meta.pod);
	c->meta.namespace = dup_or_empty(src->meta.namespace);
	c->meta.pod_uid = dup_or_empty(src->meta.pod_uid);
	c->meta.sandbox = src->meta.sandbox;
	s->n++; /* from here on, release frees it */
	if (!c->path || !c->meta.name || !c->meta.image || !c->meta.container || !c->meta.pod ||
	    !c->meta.namespace || !c->meta.pod_uid)
		return -ENOMEM;
	e = cgs_prom_container_labels(c->path, c->meta.name, c->meta.image, c->meta.container,
				      c->meta.pod, c->meta.namespace, &c->labels);
	if (e)
		return e;
	e = cgs_samples_copy(&c->samples, &src->samples);
	if (e)
		return e;
	cgs_samples_sort(&c->samples);
	return 0;
}

int cgs_snapshot_render(struct cgs_snapshot *s)
{
	struct cgs_buf b;
	int e;

	cgs_samples_sort(&s->agent);
	cgs_buf_init(&b);
	e = cgs_prom_render(s, &b);
	if (e) {
		cgs_buf_free(&b);
		return e;
	}
	free(s->text);
	s->text = cgs_buf_steal(&b, &s->text_len);
	return s->text ? 0 : -ENOMEM;
}

struct cgs_snapshot *cgs_snapshot_build(struct cgs_registry *reg, const struct cgs_samples *agent,
					uint64_t generation)
{
	struct cgs_snapshot *s = cgs_snapshot_new();
	size_t n = cgs_registry_count(reg);
	int e = 0;

	if (!s)
		return NULL;
	s->generation = generation;
	s->c = calloc(n ? n : 1, sizeof(*s->c));
	s->cap = s->c ? (n ? n : 1) : 0;
	for (size_t i = 0; s->c && i < n && !e; i++) {
		const struct cgs_container *c = cgs_registry_at(reg, i);
		struct cgs_snap_container sc = {
			.cgroup_id = c->cgroup_id,
			.path = c->path,
			.runtime = cgs_runtime_name(c->match.runtime),
			.qos = cgs_qos_name(c->match.qos),
			.meta = c->meta,
			.start_time = c->start_time,
			.samples = c->samples,
		};

		memcpy(sc.container_id, c->match.id, sizeof(sc.container_id));
		e = cgs_snapshot_add_container(s, &sc);
	}
	if (!s->c)
		e = -ENOMEM;
	if (!e && agent)
		e = cgs_samples_copy(&s->agent, agent);
	if (!e)
		e = cgs_snapshot_render(s);
	if (e) {
		cgs_snapshot_release(s);
		errno = -e;
		return NULL;
	}
	return s;
}

struct cgs_snapshot *cgs_snapshot_ref(struct cgs_snapshot *s)
{
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void cgs_snapshot_release(struct cgs_snapshot *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->c[i].path);
		free(s->c[i].labels);
		cgs_meta_clear(&s->c[i].meta);
		cgs_samples_free(&s->c[i].samples);
	}
	free(s->c);
	cgs_samples_free(&s->agent);
	free(s->text);
	free(s->events_json);
	free(s->gz);
	free(s->json);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int cgs_gzip(const char *in, size_t len, int level, char **out, size_t *outlen)
{
	z_stream z = { 0 };
	size_t cap;
	char *buf;
	int r;

	if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, len);
	buf = malloc(cap ? cap : 1);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)cap;
	r = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (r != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

int cgs_snapshot_gzip(struct cgs_snapshot *s, const char **p, size_t *len)
{
	int e = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->gz)
		e = cgs_gzip(s->text, s->text_len, 1, &s->gz, &s->gz_len);
	if (!e) {
		*p = s->gz;
		*len = s->gz_len;
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}

int cgs_snapshot_json(struct cgs_snapshot *s, const char **p, size_t *len)
{
	int e = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->json) {
		struct cgs_buf b;

		cgs_buf_init(&b);
		e = cgs_api_render_containers(s, &b);
		if (!e)
			s->json = cgs_buf_steal(&b, &s->json_len);
		else
			cgs_buf_free(&b);
		if (!e && !s->json)
			e = -ENOMEM;
	}
	if (!e) {
		*p = s->json;
		*len = s->json_len;
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}

struct cgs_store *cgs_store_new(void)
{
	struct cgs_store *st = calloc(1, sizeof(*st));

	if (st)
		pthread_mutex_init(&st->lock, NULL);
	return st;
}

void cgs_store_free(struct cgs_store *st)
{
	if (!st)
		return;
	cgs_snapshot_release(st->cur);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void cgs_store_publish(struct cgs_store *st, struct cgs_snapshot *s)
{
	struct cgs_snapshot *old;

	pthread_mutex_lock(&st->lock);
	old = st->cur;
	st->cur = s;
	pthread_mutex_unlock(&st->lock);
	cgs_snapshot_release(old);
}

struct cgs_snapshot *cgs_store_acquire(struct cgs_store *st)
{
	struct cgs_snapshot *s;

	pthread_mutex_lock(&st->lock);
	s = cgs_snapshot_ref(st->cur);
	pthread_mutex_unlock(&st->lock);
	return s;
}
