/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What happened while the agent was away. The first scan after a restart
 * meets the followed paths; the position store also knows the files that
 * were being read. Each recorded file not met is looked for next to its last
 * path: the same inode under another name (renamed), or another file with
 * the same first bytes and at least the committed length (a copytruncate
 * copy). Then, for every followed path, its rotated siblings ("<name>.*")
 * that no entry knows were rotated away before we could see them: they are
 * read too. All of a path's rotated files are chained oldest first (by
 * modification time) before the file now at the path, so each path's
 * records keep their order. A recorded file found nowhere is gone; what it
 * held beyond the committed offset is counted as dropped. At a first start
 * (no position store) rotated siblings are history: they are recorded as
 * read, not read, so that a later restart does not take them for missed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../agent/log.h"
#include "logs.h"

#define LOG_COMP "collector:logs"
#define MAX_SIBLINGS 256

/* Whether the file at fd holds p's content (its first bytes). */
static bool same_content(int fd, const struct lg_pos *p)
{
	uint32_t got;
	uint64_t fp;

	return p->id.fp_len && lg_file_fingerprint(fd, p->id.fp_len, &got, &fp) == 0 && got == p->id.fp_len &&
	       fp == p->id.fp;
}

/* Pass 1: p's inode under another name. Pass 2: a copy of p's content. */
static bool find_sibling(struct lg *lg, struct lg_pos *p, int pass)
{
	char dir[PATH_MAX];
	bool found = false;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", p->path);
	const char *dn = dirname(dir);

	d = opendir(dn);
	while (d && !found && (de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dn, de->d_name) >= (int)sizeof(path))
			continue;
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != p->id.dev)
			continue;
		if (pass == 1 && (uint64_t)st.st_ino != p->id.ino)
			continue;
		if (lg_file_by_ino(lg, (uint64_t)st.st_dev, (uint64_t)st.st_ino) || (uint64_t)st.st_size < p->skip)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (same_content(fd, p)) {
			found = true;
			if (pass == 2)
				lg_pos_rehash(lg, p, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
			free(p->path);
			p->path = strdup(path);
			if ((uint64_t)st.st_size <= p->skip && !p->head)
				p->done = true; /* read to its end before: nothing to open */
			else if (lg_file_open(lg, path, false, NULL, NULL) < 0 || !p->file)
				found = false;
		}
		close(fd);
	}
	if (d)
		closedir(d);
	return found;
}

static void find_recorded(struct lg *lg)
{
	for (struct lg_pos *p = lg->pos, *next; p; p = next) {
		next = p->next;
		if (p->file || !p->path || !p->path[0])
			continue;
		char *old = strdup(p->path);

		if (old && (find_sibling(lg, p, 1) || find_sibling(lg, p, 2))) {
			if (p->file)
				cgs_log_info(LOG_COMP, "%s was rotated while we were away: the rest is read from %s", old,
					     p->path);
			free(old);
			continue;
		}
		if (p->size > p->skip)
			lg->st.dropped_deleted += p->size - p->skip;
		cgs_log_info(LOG_COMP, "the file recorded at %s is gone%s", old ? old : p->path,
			     p->size > p->skip ? " before it was read to its end: counted as dropped" : "");
		free(old);
		if (!p->head) {
			lg_pos_free(lg, p);
			lg->pos_dirty = true;
		}
	}
}

/* Whether a position entry knows this file's content (read, being read, or done). */
static bool known(struct lg *lg, int fd, const struct stat *st)
{
	for (struct lg_pos *p = lg->pos; p; p = p->next)
		if (p->id.dev == (uint64_t)st->st_dev && p->id.ino == (uint64_t)st->st_ino && same_content(fd, p))
			return true;
	return false;
}

struct sib {
	struct lg_file *f;
	struct timespec mtime;
};

static int by_mtime(const void *a, const void *b)
{
	const struct sib *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->f->real, y->f->real);
}

/* Records a file as read to its end (a first start's rotated history). */
static void record_done(struct lg *lg, int fd, const struct stat *st, const char *path)
{
	struct cgs_logid id = { .dev = (uint64_t)st->st_dev, .ino = (uint64_t)st->st_ino };
	struct lg_pos *p;

	if (lg_file_fingerprint(fd, CGS_LOGID_FP_MAX, &id.fp_len, &id.fp) < 0 || !id.fp_len)
		return;
	p = lg_pos_new(lg, &id, path);
	if (!p)
		return;
	p->committed = p->skip = p->size = (uint64_t)st->st_size;
	p->done = true;
}

/*
 * The rotated files of followed file `f` ("<name>.<anything>" next to it),
 * oldest first, before `f`; with `history` (a first start), only recorded.
 */
static void order_siblings(struct lg *lg, struct lg_file *f, bool history)
{
	char dir[PATH_MAX], base[PATH_MAX];
	struct sib *v;
	size_t n = 0, bl;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", f->real);
	snprintf(base, sizeof(base), "%s", f->real);
	const char *dn = dirname(dir), *bn = basename(base);

	bl = strlen(bn);
	d = opendir(dn);
	if (!d)
		return;
	v = calloc(MAX_SIBLINGS, sizeof(*v));
	while (v && n < MAX_SIBLINGS && (de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		struct lg_file *g;
		size_t nl = strlen(de->d_name);

		if (strncmp(de->d_name, bn, bl) || de->d_name[bl] != '.' ||
		    (nl > 3 && !strcmp(de->d_name + nl - 3, ".gz")) || (nl > 4 && !strcmp(de->d_name + nl - 4, ".tmp")))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dn, de->d_name) >= (int)sizeof(path))
			continue;
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		g = lg_file_by_ino(lg, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
		if (!g) {
			/* Rotated away before we saw it, unless an entry knows it. */
			int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			bool k = fd >= 0 && known(lg, fd, &st);

			if (fd >= 0 && !k && history)
				record_done(lg, fd, &st, path);
			if (fd >= 0)
				close(fd);
			if (fd < 0 || k || history || lg_file_open(lg, path, false, NULL, &g) < 0)
				continue;
			cgs_log_info(LOG_COMP, "%s was rotated before it could be opened: reading it", path);
		}
		if (!g->rotated || g->followed || g == f)
			continue;
		v[n].f = g;
		v[n++].mtime = st.st_mtim;
	}
	closedir(d);
	if (n) {
		qsort(v, n, sizeof(*v), by_mtime);
		for (size_t i = 0; i < n; i++) {
			struct lg_file *g = v[i].f, *next = i + 1 < n ? v[i + 1].f : f;

			g->succ = next;
			next->pred = g;
			lg_meta_inherit(lg, g, f);
		}
	}
	free(v);
}

void lg_recover_siblings(struct lg *lg, struct lg_file *f)
{
	order_siblings(lg, f, false);
}

void lg_recover(struct lg *lg)
{
	struct lg_file **followed;
	size_t n = 0;

	if (lg->had_store)
		find_recorded(lg);
	followed = calloc(lg->nfiles ? lg->nfiles : 1, sizeof(*followed));
	if (!followed)
		return;
	for (struct lg_file *f = lg->files; f; f = f->next)
		if (f->followed)
			followed[n++] = f;
	for (size_t i = 0; i < n; i++)
		order_siblings(lg, followed[i], !lg->had_store);
	free(followed);
	lg->pos_dirty = true;
}
