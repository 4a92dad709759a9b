/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who wrote a log file. The path says a part (Kubernetes puts namespace,
 * pod, pod UID, container name and container id in its log paths; Docker
 * and Podman the container id), the container registry the rest (names,
 * image) from the runtime's own state. Records carry both, as the
 * "kubernetes" map; the tag is rendered from the same values.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../agent/config.h"
#include "../agent/containers.h"
#include "logs.h"

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

static void copy_n(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* "<pod>_<namespace>_<container>-<id>.log" (/var/log/containers). */
static bool parse_k8s_link(const char *base, struct cgs_logpath *o)
{
	size_t n = strlen(base);
	const char *u1, *u2;

	if (n < 4 + 65 + 5 || strcmp(base + n - 4, ".log"))
		return false;
	n -= 4;
	if (base[n - 65] != '-' || !is_hex64(base + n - 64, 64))
		return false;
	u1 = memchr(base, '_', n - 65);
	u2 = u1 ? memchr(u1 + 1, '_', (size_t)(base + n - 65 - u1 - 1)) : NULL;
	if (!u1 || !u2 || u1 == base || u2 == u1 + 1 || u2 + 1 >= base + n - 65)
		return false;
	copy_n(o->pod_name, sizeof(o->pod_name), base, (size_t)(u1 - base));
	copy_n(o->namespace_name, sizeof(o->namespace_name), u1 + 1, (size_t)(u2 - u1 - 1));
	copy_n(o->container_name, sizeof(o->container_name), u2 + 1, (size_t)(base + n - 65 - u2 - 1));
	copy_n(o->container_id, sizeof(o->container_id), base + n - 64, 64);
	return true;
}

/* "<namespace>_<pod>_<uid>" then "<container>" (/var/log/pods). */
static bool parse_k8s_pod_dir(const char *dir, size_t n, const char *next, size_t nn, struct cgs_logpath *o)
{
	const char *u1 = memchr(dir, '_', n), *u2;

	if (!u1 || u1 == dir)
		return false;
	u2 = memchr(u1 + 1, '_', (size_t)(dir + n - u1 - 1));
	if (!u2 || u2 == u1 + 1 || (size_t)(dir + n - u2 - 1) < 8 || !nn)
		return false;
	/* the UID is the last part (pod names hold no '_') */
	copy_n(o->namespace_name, sizeof(o->namespace_name), dir, (size_t)(u1 - dir));
	copy_n(o->pod_name, sizeof(o->pod_name), u1 + 1, (size_t)(u2 - u1 - 1));
	copy_n(o->pod_id, sizeof(o->pod_id), u2 + 1, (size_t)(dir + n - u2 - 1));
	copy_n(o->container_name, sizeof(o->container_name), next, nn);
	return true;
}

void cgs_logs_parse_path(const char *path, struct cgs_logpath *o)
{
	const char *comp[64];
	size_t len[64], nc = 0;
	const char *p = path;

	memset(o, 0, sizeof(*o));
	while (*p && nc < 64) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');

		if (!e)
			e = p + strlen(p);
		comp[nc] = p;
		len[nc++] = (size_t)(e - p);
		p = e;
	}
	if (!nc)
		return;
	const char *base = comp[nc - 1];
	size_t bl = len[nc - 1];

	if (bl > 9 && !memcmp(base + bl - 9, "-json.log", 9))
		o->format = CGS_LOG_FMT_DOCKER;
	if (nc >= 2 && len[nc - 2] == 10 && !memcmp(comp[nc - 2], "containers", 10) && parse_k8s_link(base, o)) {
		o->format = CGS_LOG_FMT_CRI;
		return;
	}
	/* .../pods/<ns>_<pod>_<uid>/<container>/<n>.log[.<rotation>] */
	if (nc >= 4 && len[nc - 4] == 4 && !memcmp(comp[nc - 4], "pods", 4) &&
	    parse_k8s_pod_dir(comp[nc - 3], len[nc - 3], comp[nc - 2], len[nc - 2], o)) {
		o->format = CGS_LOG_FMT_CRI;
		return;
	}
	/* Docker <id>/<id>-json.log, Podman/CRI-O overlay-containers/<id>/userdata/ctr.log, or any 64-hex component. */
	for (size_t i = nc; i-- > 0;) {
		if (is_hex64(comp[i], len[i])) {
			copy_n(o->container_id, sizeof(o->container_id), comp[i], 64);
			break;
		}
		if (len[i] > 64 && is_hex64(comp[i], 64) && comp[i][64] == '-') {
			copy_n(o->container_id, sizeof(o->container_id), comp[i], 64);
			break;
		}
	}
	if (nc >= 2 && bl == 7 && !memcmp(base, "ctr.log", 7) && len[nc - 2] == 8 && !memcmp(comp[nc - 2], "userdata", 8))
		o->format = CGS_LOG_FMT_CRI;
}

static const char *nz(const char *s)
{
	return s && *s ? s : "_";
}

int cgs_logs_render_tag(const char *tmpl, const struct lg_meta *m, const char *stream, char *out, size_t outlen)
{
	static const struct {
		const char *name;
		size_t off;
	} vars[] = {
		{ "namespace", offsetof(struct lg_meta, namespace_name) },
		{ "pod", offsetof(struct lg_meta, pod_name) },
		{ "container", offsetof(struct lg_meta, container_name) },
		{ "container_id", offsetof(struct lg_meta, container_id) },
		{ "name", offsetof(struct lg_meta, name) },
		{ "runtime", offsetof(struct lg_meta, runtime) },
	};
	size_t o = 0;
	int trunc = 0;

	for (const char *p = tmpl; *p; p++) {
		const char *v = NULL;
		size_t skip = 0;

		if (*p == '{') {
			const char *e = strchr(p, '}');
			size_t n = e ? (size_t)(e - p - 1) : 0;

			if (e && n == 6 && !memcmp(p + 1, "stream", 6))
				v = nz(stream);
			for (size_t i = 0; e && !v && i < sizeof(vars) / sizeof(vars[0]); i++)
				if (strlen(vars[i].name) == n && !memcmp(p + 1, vars[i].name, n))
					v = nz(*(char *const *)(const void *)((const char *)m + vars[i].off));
			if (v)
				skip = n + 1;
		}
		if (!v) {
			if (o + 1 < outlen)
				out[o++] = *p;
			else
				trunc = 1;
			continue;
		}
		for (; *v; v++) {
			if (o + 1 < outlen)
				out[o++] = *v;
			else
				trunc = 1;
		}
		p += skip;
	}
	out[o] = '\0';
	return trunc ? -ENAMETOOLONG : 0;
}

void lg_meta_clear(struct lg_meta *m)
{
	char **f[] = { &m->namespace_name, &m->pod_name, &m->pod_id, &m->container_name,
		       &m->container_id, &m->image, &m->name, &m->runtime };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		free(*f[i]);
		*f[i] = NULL;
	}
	m->in_registry = false;
}

static struct cgs_container *registry_find(struct lg *lg, const char *id)
{
	size_t n;

	if (!lg->reg || !id[0])
		return NULL;
	n = cgs_registry_count(lg->reg);
	for (size_t i = 0; i < n; i++) {
		struct cgs_container *c = cgs_registry_at(lg->reg, i);

		if (!strcmp(c->match.id, id))
			return c;
	}
	return NULL;
}

static char *dup_or(const char *a, const char *b)
{
	return strdup(a && *a ? a : (b ? b : ""));
}

struct lg_cstat *lg_cstat_get(struct lg *lg, const char *id)
{
	uint64_t k = lg_hash_str(id);
	struct lg_hnode *it = NULL;
	struct lg_cstat *c;

	while ((c = lg_map_next(&lg->cstats, k, &it)))
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

static struct lg_cstat *cstat_ref(struct lg *lg, const char *id)
{
	struct lg_cstat *c = lg_cstat_get(lg, id);

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		snprintf(c->id, sizeof(c->id), "%s", id);
		if (lg_map_put(&lg->cstats, lg_hash_str(id), c) < 0) {
			free(c);
			return NULL;
		}
	}
	c->refs++;
	return c;
}

void lg_cstat_put(struct lg *lg, struct lg_cstat *c)
{
	if (!c || --c->refs)
		return;
	lg_map_del(&lg->cstats, lg_hash_str(c->id), c);
	free(c);
}

void lg_meta_repath(struct lg *lg, struct lg_file *f, const char *path)
{
	char *p = strdup(path);

	if (!p)
		return;
	free(f->path);
	f->path = p;
	free(f->meta_pack);
	f->meta_pack = NULL;
	lg_meta_resolve(lg, f);
}

void lg_meta_refresh(struct lg *lg)
{
	struct cgs_registry_stats rs;

	if (!lg->reg)
		return;
	cgs_registry_stats(lg->reg, &rs);
	if (rs.added == lg->reg_added && rs.removed == lg->reg_removed)
		return;
	lg->reg_added = rs.added;
	lg->reg_removed = rs.removed;
	for (struct lg_file *f = lg->files; f; f = f->next)
		if (!f->meta.in_registry && f->meta.container_id && f->meta.container_id[0]) {
			lg_meta_resolve(lg, f);
			if (f->meta.in_registry && f->meta_wait_ns)
				lg_file_mark_ready(lg, f);
		}
}

void lg_meta_inherit(struct lg *lg, struct lg_file *dst, const struct lg_file *src)
{
	/* Resolving with the successor's followed name gives the same metadata and tags. */
	lg_meta_repath(lg, dst, src->path);
}

void lg_meta_resolve(struct lg *lg, struct lg_file *f)
{
	struct cgs_logpath pp, pr;
	struct lg_meta m = { 0 };
	struct cgs_container *c;
	char tag[CGS_FWD_TAG_MAX + 1];
	const char *id;

	cgs_logs_parse_path(f->path, &pp);
	cgs_logs_parse_path(f->real ? f->real : f->path, &pr);
	/* The agent's events file: no container of its own (each event names its own). */
	f->events = lg_is_events_path(lg, f->path);
	if (f->events) {
		memset(&pp, 0, sizeof(pp));
		memset(&pr, 0, sizeof(pr));
	}
	id = pp.container_id[0] ? pp.container_id : pr.container_id;
	c = registry_find(lg, id);
	if (c) {
		m.in_registry = true;
		m.namespace_name = dup_or(c->meta.namespace, pp.namespace_name[0] ? pp.namespace_name : pr.namespace_name);
		m.pod_name = dup_or(c->meta.pod, pp.pod_name[0] ? pp.pod_name : pr.pod_name);
		m.pod_id = dup_or(c->meta.pod_uid, pr.pod_id[0] ? pr.pod_id : pp.pod_id);
		/* Outside Kubernetes the container is known by its runtime name. */
		m.container_name = dup_or(c->meta.container && c->meta.container[0] ? c->meta.container : c->meta.name,
					  pp.container_name[0] ? pp.container_name : pr.container_name);
		m.name = dup_or(c->meta.name, NULL);
		m.image = dup_or(c->meta.image, NULL);
		m.runtime = strdup(cgs_runtime_name(c->match.runtime));
	} else {
		m.namespace_name = dup_or(pp.namespace_name, pr.namespace_name);
		m.pod_name = dup_or(pp.pod_name, pr.pod_name);
		m.pod_id = dup_or(pr.pod_id, pp.pod_id);
		m.container_name = dup_or(pp.container_name, pr.container_name);
		m.name = strdup("");
		m.image = strdup("");
		m.runtime = strdup("");
	}
	m.container_id = strdup(id);
	if (!m.namespace_name || !m.pod_name || !m.pod_id || !m.container_name || !m.name || !m.image ||
	    !m.runtime || !m.container_id) {
		lg_meta_clear(&m);
		return; /* keep what the file had */
	}
	if (f->fmt_hint == CGS_LOG_FMT_UNKNOWN)
		f->fmt_hint = pp.format ? pp.format : pr.format;
	/* Unchanged: nothing to rebuild (the common case of a retry). */
	if (f->meta_pack && f->meta.in_registry == m.in_registry && !strcmp(f->meta.name, m.name) &&
	    !strcmp(f->meta.container_name, m.container_name) && !strcmp(f->meta.pod_name, m.pod_name) &&
	    !strcmp(f->meta.image, m.image) && !strcmp(f->meta.namespace_name, m.namespace_name) &&
	    !strcmp(f->meta.pod_id, m.pod_id) && !strcmp(f->meta.container_id, m.container_id)) {
		lg_meta_clear(&m);
		return;
	}
	struct cgs_fwd_meta fm = {
		.namespace_name = m.namespace_name, .pod_name = m.pod_name, .pod_id = m.pod_id,
		.container_name = m.container_name, .container_id = m.container_id,
		.container_image = m.image, .host = lg->node,
	};
	struct cgs_buf b;
	char *t0, *t1;

	/* Tags of its lines (an events file's: of the lines that are no event). */
	const char *tmpl = f->events ? lg->cfg->events_tag : lg->cfg->fluentd_tag;

	cgs_buf_init(&b);
	cgs_fwd_pack_meta(&b, &fm);
	cgs_logs_render_tag(tmpl, &m, f->events ? "event" : "stdout", tag, sizeof(tag));
	t0 = strdup(tag);
	cgs_logs_render_tag(tmpl, &m, f->events ? "event" : "stderr", tag, sizeof(tag));
	bool shared = t0 && !strcmp(t0, tag);

	t1 = shared ? t0 : strdup(tag);
	if (b.err || !t0 || !t1) {
		cgs_buf_free(&b);
		free(t0);
		if (!shared)
			free(t1);
		lg_meta_clear(&m);
		return;
	}
	/* Records already in open chunks keep the old tag: ranges do not care. */
	lg_ship_detach_file(lg, f);
	free(f->tag[0]);
	if (!f->tag_shared)
		free(f->tag[1]);
	f->tag[0] = t0;
	f->tag[1] = t1;
	f->tag_shared = shared;
	free(f->meta_pack);
	f->meta_pack = cgs_buf_steal(&b, &f->meta_pack_len);
	/* A buffer starts at 4 KiB: keep only the map (one per file, 10,000 files). */
	char *exact = f->meta_pack ? realloc(f->meta_pack, f->meta_pack_len + 1) : NULL;

	if (exact)
		f->meta_pack = exact;
	lg_meta_clear(&f->meta);
	f->meta = m;
	if (!f->cstat && m.container_id[0])
		f->cstat = cstat_ref(lg, m.container_id);
}
