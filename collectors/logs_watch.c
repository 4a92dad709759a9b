/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding log files and following their paths. Each log_paths pattern is
 * walked from its deepest existing directory; every directory on the way
 * to a match is watched with inotify (IN_CREATE / IN_MOVED_TO), so a new
 * file or a new container directory is found the moment it appears, and a
 * pattern whose directories do not exist yet starts working when they do.
 * Tailed files carry their own watch (writes, renames, deletion). A rename
 * or a deletion makes the open file "rotated": it is read to its end and
 * closed after log_rotate_wait without writes, while its path is followed
 * again (at once, or as soon as the new file appears). A rescan every
 * log_rescan_interval repeats the walk and compares every followed path
 * with the inode we hold, as a safety net for lost events.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../agent/config.h"
#include "../agent/containers.h"
#include "../agent/log.h"
#include "logs.h"

#define LOG_COMP "collector:logs"
#define DIR_MASK (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_DELETE_SELF | IN_MOVE_SELF)
/* A path waits this long (at least) for its file to come back after a rotation. */
#define REOPEN_MIN_NS 2000000000ull

/* Number of '/'-separated components of an absolute path. */
static size_t components(const char *p)
{
	size_t n = 0;
	bool in = false;

	for (; *p; p++) {
		if (*p == '/') {
			in = false;
		} else if (!in) {
			in = true;
			n++;
		}
	}
	return n;
}

/* The first `depth` components of pattern `pat` (with its leading '/'). */
static void pattern_prefix(const char *pat, size_t depth, char *out, size_t outlen)
{
	size_t n = 0, i = 0;
	bool in = false;

	for (; pat[i]; i++) {
		if (pat[i] == '/') {
			if (in && n == depth)
				break;
			in = false;
		} else if (!in) {
			in = true;
			n++;
		}
	}
	snprintf(out, outlen, "%.*s", (int)i, pat);
}

static bool has_glob(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return true;
	return false;
}

/* The literal directories of pattern `pat` before its first component with a wildcard (not its last one). */
static int pattern_root(const char *pat, char *root, size_t rootlen)
{
	size_t n = 0, pc = components(pat);
	const char *p = pat;

	root[0] = '\0';
	while (*p && n + 1 < pc) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t cl = e ? (size_t)(e - p) : strlen(p);

		if (!e || has_glob(p, cl))
			break;
		if (strlen(root) + 1 + cl + 1 >= rootlen)
			return -ENAMETOOLONG;
		strcat(root, "/");
		strncat(root, p, cl);
		n++;
		p = e;
	}
	if (!root[0])
		snprintf(root, rootlen, "/");
	return 0;
}

/*
 * Where a followed file may resolve to (see lg_watch_allowed): the
 * patterns' roots and log_link_roots, as configured; resolved (realpath)
 * when checked, as they may not exist yet or be symlinks themselves.
 */
static int add_roots(struct lg *lg)
{
	char root[PATH_MAX];

	for (size_t i = 0; i < lg->npatterns; i++) {
		if (pattern_root(lg->patterns[i], root, sizeof(root)) < 0)
			continue;
		if (!(lg->roots[lg->nroots] = strdup(root)))
			return -ENOMEM;
		lg->nroots++;
	}
	for (const char *p = lg->cfg->log_link_roots; *p && lg->nroots < 2 * LG_MAX_PATTERNS; p += strlen(p) + 1) {
		if (!(lg->roots[lg->nroots] = strdup(p)))
			return -ENOMEM;
		lg->nroots++;
	}
	return 0;
}

static bool inside(const char *real, const char *root)
{
	size_t n = strlen(root);

	return n == 1 || (!strncmp(real, root, n) && (real[n] == '/' || real[n] == '\0'));
}

bool lg_watch_allowed(struct lg *lg, const char *real)
{
	char rr[PATH_MAX];

	/* The roots as resolved before (one open per new file: thousands at a start-up)... */
	for (size_t i = 0; i < lg->nroots; i++)
		if (lg->roots_real[i] && inside(real, lg->roots_real[i]))
			return true;
	/* ...and, before refusing, as they are now (created or re-linked since). */
	for (size_t i = 0; i < lg->nroots; i++) {
		free(lg->roots_real[i]);
		lg->roots_real[i] = realpath(lg->roots[i], rr) ? strdup(rr) : NULL; /* a missing root holds nothing */
	}
	for (size_t i = 0; i < lg->nroots; i++)
		if (lg->roots_real[i] && inside(real, lg->roots_real[i]))
			return true;
	return false;
}

int lg_watch_init(struct lg *lg)
{
	lg->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (lg->ifd < 0)
		cgs_log_warn(LOG_COMP, "no inotify (%s): new files and writes are found every log_flush_interval",
			     strerror(errno));
	for (const char *p = lg->cfg->log_paths; *p && lg->npatterns < LG_MAX_PATTERNS; p += strlen(p) + 1) {
		lg->patterns[lg->npatterns] = strdup(p);
		if (!lg->patterns[lg->npatterns])
			return -ENOMEM;
		lg->npatterns++;
	}
	/* The agent's events file, followed like a log file: its name as a pattern matching only itself. */
	if (lg->cfg->events_file[0]) {
		const char *ef = lg->cfg->events_file;
		char *q = malloc(2 * strlen(ef) + 1);

		if (!q)
			return -ENOMEM;
		lg->patterns[lg->npatterns++] = q;
		for (; *ef; ef++) {
			if (strchr("*?[\\", *ef))
				*q++ = '\\';
			*q++ = *ef;
		}
		*q = '\0';
	}
	/* The patterns, the events file's included, give the directories links may resolve into. */
	return add_roots(lg);
}

void lg_watch_free(struct lg *lg)
{
	for (size_t i = 0; i < lg->dirs_by_wd.nb; i++)
		for (struct lg_hnode *n = lg->dirs_by_wd.b[i]; n; n = n->next) {
			struct lg_dir *d = n->val;

			free(d->path);
			free(d);
		}
	lg_map_free(&lg->dirs_by_wd);
	for (size_t i = 0; i < lg->npatterns; i++)
		free(lg->patterns[i]);
	for (size_t i = 0; i < lg->nroots; i++) {
		free(lg->roots[i]);
		free(lg->roots_real[i]);
	}
	lg_map_free(&lg->rejected);
	for (size_t i = 0; i < lg->nreopen; i++)
		free(lg->reopen[i]);
	free(lg->reopen);
	free(lg->reopen_until);
	if (lg->ifd >= 0)
		close(lg->ifd);
	lg->ifd = -1;
}

static struct lg_file *followed_at(struct lg *lg, const char *path)
{
	struct lg_hnode *it = NULL;
	struct lg_file *f;

	while ((f = lg_map_next(&lg->files_by_path, lg_hash_str(path), &it)))
		if (!strcmp(f->path, path))
			return f;
	return NULL;
}

void lg_watch_reopen_later(struct lg *lg, const char *path)
{
	uint64_t until = lg_now_ns() + REOPEN_MIN_NS + lg->cfg->log_rotate_wait_ms * 1000000ull;

	for (size_t i = 0; i < lg->nreopen; i++)
		if (!strcmp(lg->reopen[i], path)) {
			lg->reopen_until[i] = until;
			return;
		}
	if (lg->nreopen == lg->reopen_cap) {
		size_t nc = lg->reopen_cap ? lg->reopen_cap * 2 : 16;
		char **np;
		uint64_t *nu;

		if (nc > lg->cfg->log_max_files)
			return; /* the rescan will find it */
		np = realloc(lg->reopen, nc * sizeof(*np));
		if (!np)
			return;
		lg->reopen = np;
		nu = realloc(lg->reopen_until, nc * sizeof(*nu));
		if (!nu)
			return;
		lg->reopen_until = nu;
		lg->reopen_cap = nc;
	}
	lg->reopen[lg->nreopen] = strdup(path);
	if (lg->reopen[lg->nreopen])
		lg->reopen_until[lg->nreopen++] = until;
}

void lg_watch_follow(struct lg *lg, const char *path)
{
	struct lg_file *f = followed_at(lg, path);
	struct stat st;
	int r;

	if (stat(path, &st) < 0) {
		if (f) {
			/* The path leads nowhere now: the file was renamed away or deleted. */
			lg->st.rotations_rename++;
			lg_file_set_rotated(lg, f);
			lg_watch_reopen_later(lg, path);
		} else if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
			/* A link made before its target: retried for a while, then by the rescans. */
			lg_watch_reopen_later(lg, path);
		}
		return;
	}
	if (!S_ISREG(st.st_mode))
		return;
	if (f) {
		if (f->id.dev == (uint64_t)st.st_dev && f->id.ino == (uint64_t)st.st_ino)
			return;
		cgs_log_debug(LOG_COMP, "%s was rotated: following its new file", path);
		lg->st.rotations_rename++;
		lg_file_set_rotated(lg, f);
	} else {
		/* A path back after a rotation: its old file, if still open, goes first. */
		for (struct lg_file *g = lg->files; g && lg->nrotated; g = g->next)
			if (g->rotated && !g->succ && !strcmp(g->path, path)) {
				f = g;
				break;
			}
	}
	struct lg_file *nf = NULL;

	r = lg_file_open(lg, path, true, f, &nf);
	/*
	 * Rotations in a row: files we never saw. So too for the agent's events
	 * file met after the start: a rotation may have come before we saw it.
	 */
	if (r == 0 && nf && (f || (nf->events && !lg->initial_scan)))
		lg_recover_siblings(lg, nf);
	if (r == -EMFILE) {
		lg->files_waiting_scan++;
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "log_max_files (%llu) reached: %s waits",
				    (unsigned long long)lg->cfg->log_max_files, path);
	} else if (r == -EACCES || r == -EPERM) {
		lg->st.dropped_unreadable += (uint64_t)st.st_size;
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot read %s: %s", path, strerror(-r));
	} else if (r < 0 && r != -EEXIST && r != -ENOENT && r != -EXDEV) { /* -EXDEV: counted and logged */
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot follow %s: %s", path, strerror(-r));
	}
}

static bool is_dir(const char *path, unsigned char d_type)
{
	struct stat st;

	if (d_type == DT_DIR)
		return true;
	if (d_type != DT_UNKNOWN && d_type != DT_LNK)
		return false;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* What `child` is to the patterns: 2 a file to follow, 1 a directory on the way to matches, 0 nothing. */
static int classify(struct lg *lg, const char *child)
{
	size_t c = components(child);
	int best = 0;

	for (size_t i = 0; i < lg->npatterns; i++) {
		const char *pat = lg->patterns[i];
		size_t pc = components(pat);
		char prefix[PATH_MAX];

		if (c == pc && fnmatch(pat, child, FNM_PATHNAME) == 0)
			return 2;
		if (c < pc) {
			pattern_prefix(pat, c, prefix, sizeof(prefix));
			if (fnmatch(prefix, child, FNM_PATHNAME) == 0)
				best = 1;
		}
	}
	return best;
}

static void walk(struct lg *lg, const char *dir, int depth);

static void consider(struct lg *lg, const char *child, unsigned char d_type, int depth)
{
	switch (classify(lg, child)) {
	case 2:
		lg_watch_follow(lg, child);
		break;
	case 1:
		if (is_dir(child, d_type))
			walk(lg, child, depth + 1);
		break;
	}
}

/* Watches `dir` and follows every match below it (once per scan generation). */
static void walk(struct lg *lg, const char *dir, int depth)
{
	struct lg_dir *d = NULL;
	DIR *dh;
	struct dirent *de;
	int wd = -1;

	if (depth > 64)
		return;
	if (lg->ifd >= 0)
		wd = inotify_add_watch(lg->ifd, dir, DIR_MASK);
	if (wd >= 0) {
		struct lg_hnode *it = NULL;

		d = lg_map_next(&lg->dirs_by_wd, (uint64_t)wd, &it);
		if (d && d->gen == lg->scan_gen)
			return;
		if (!d) {
			d = calloc(1, sizeof(*d));
			if (d && !(d->path = strdup(dir))) {
				free(d);
				d = NULL;
			}
			if (d && lg_map_put(&lg->dirs_by_wd, (uint64_t)wd, d) < 0) {
				free(d->path);
				free(d);
				d = NULL;
			}
			if (d)
				d->wd = wd;
		} else if (strcmp(d->path, dir)) {
			char *np = strdup(dir);

			if (np) {
				free(d->path);
				d->path = np;
			}
		}
		if (d)
			d->gen = lg->scan_gen;
	} else if (errno == ENOSPC && !lg->no_watch) {
		lg->no_watch = true;
		cgs_log_warn(LOG_COMP, "inotify watches exhausted (fs.inotify.max_user_watches): "
				       "new files are found by rescans only");
	}
	dh = opendir(dir);
	if (!dh)
		return;
	while ((de = readdir(dh))) {
		char child[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(child, sizeof(child), "%s%s%s", dir, dir[1] ? "/" : "", de->d_name) >= (int)sizeof(child))
			continue;
		consider(lg, child, de->d_type, depth);
	}
	closedir(dh);
}

/* Walks one pattern from the deepest existing directory of its literal prefix. */
static void walk_pattern(struct lg *lg, const char *pat)
{
	char root[PATH_MAX];
	struct stat st;

	if (pattern_root(pat, root, sizeof(root)) < 0)
		return;
	/* Up to a directory that exists: its watch sees the rest being created. */
	while (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(root, '/');

		if (!slash || slash == root) {
			snprintf(root, sizeof(root), "/");
			break;
		}
		*slash = '\0';
	}
	walk(lg, root, 0);
}

void lg_watch_rescan(struct lg *lg)
{
	char **paths = NULL;
	size_t np = 0;

	lg->scan_gen++;
	lg->files_waiting_scan = 0;
	for (size_t i = 0; i < lg->npatterns; i++)
		walk_pattern(lg, lg->patterns[i]);
	/* Followed paths whose file changed behind our back (an event lost or never sent). */
	paths = calloc(lg->nfiles ? lg->nfiles : 1, sizeof(*paths));
	for (struct lg_file *f = lg->files; paths && f; f = f->next)
		if (f->followed && (paths[np] = strdup(f->path)))
			np++;
	for (size_t i = 0; i < np; i++) {
		lg_watch_follow(lg, paths[i]);
		free(paths[i]);
	}
	free(paths);
	/* Content replaced under the same inode (copytruncate that grew back past our offset). */
	for (struct lg_file *f = lg->files, *next; f; f = next) {
		next = f->next;
		if (!f->rotated)
			lg_file_check_identity(lg, f);
	}
	for (struct lg_file *f = lg->files; f; f = f->next) {
		if (f->wd < 0)
			lg_file_mark_ready(lg, f);
		if (!f->meta.in_registry && f->meta.container_id && f->meta.container_id[0])
			lg_meta_resolve(lg, f);
	}
	lg->st.files_waiting = lg->files_waiting_scan;
	if (!lg->initial_scan)
		lg_pos_prune(lg);
}

static void on_file_event(struct lg *lg, struct lg_file *f, uint32_t mask)
{
	if (mask & IN_IGNORED) {
		lg_map_del(&lg->files_by_wd, (uint64_t)f->wd, f);
		f->wd = -1;
		return;
	}
	if (mask & IN_MODIFY) {
		f->eof = false;
		if (f->id.fp_len < CGS_LOGID_FP_MAX && f->read_off == 0)
			lg_file_grow_id(f);
		lg_file_mark_ready(lg, f);
	}
	if (mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB)) {
		struct stat st;
		bool gone = (mask & IN_DELETE_SELF) || (fstat(f->fd, &st) == 0 && st.st_nlink == 0);

		if ((mask & IN_ATTRIB) && !gone)
			return; /* a chmod or a new hard link: nothing moved */
		if (f->followed) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s", f->path);
			lg_watch_follow(lg, path); /* notices that the path leads elsewhere, opens the new file */
			if (f->followed && gone) {
				lg_file_set_rotated(lg, f);
				lg_watch_reopen_later(lg, path);
			}
		} else if (gone) {
			lg_file_set_rotated(lg, f);
		}
		lg_file_mark_ready(lg, f);
	}
}

static void on_dir_event(struct lg *lg, struct lg_dir *d, const struct inotify_event *ev)
{
	char child[PATH_MAX];

	if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
		if (ev->mask & IN_MOVE_SELF)
			inotify_rm_watch(lg->ifd, d->wd);
		lg_map_del(&lg->dirs_by_wd, (uint64_t)d->wd, d);
		free(d->path);
		free(d);
		return;
	}
	if (!ev->len || !(ev->mask & (IN_CREATE | IN_MOVED_TO)))
		return;
	if (snprintf(child, sizeof(child), "%s%s%s", d->path, d->path[1] ? "/" : "", ev->name) >= (int)sizeof(child))
		return;
	lg->scan_gen++;
	consider(lg, child, (ev->mask & IN_ISDIR) ? DT_DIR : DT_UNKNOWN, 0);
	/* A path waiting for its file after a rotation: the tick opens it at once. */
	for (size_t i = 0; i < lg->nreopen; i++)
		if (!strcmp(lg->reopen[i], child))
			lg_watch_follow(lg, child);
}

void lg_watch_events(struct lg *lg)
{
	_Alignas(struct inotify_event) char buf[65536];

	for (;;) {
		ssize_t n = read(lg->ifd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			struct lg_hnode *it = NULL;
			struct lg_file *f;
			struct lg_dir *d;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				cgs_log_ratelimited(CGS_LOG_INFO, LOG_COMP, "inotify queue overflow: rescanning");
				lg_watch_rescan(lg);
				for (struct lg_file *g = lg->files; g; g = g->next)
					lg_file_mark_ready(lg, g);
				continue;
			}
			if (ev->wd < 0)
				continue;
			if ((f = lg_map_next(&lg->files_by_wd, (uint64_t)ev->wd, &it))) {
				on_file_event(lg, f, ev->mask);
				continue;
			}
			it = NULL;
			if ((d = lg_map_next(&lg->dirs_by_wd, (uint64_t)ev->wd, &it)))
				on_dir_event(lg, d, ev);
		}
	}
}

void lg_watch_tick(struct lg *lg, uint64_t now)
{
	/* Paths waiting for their file to come back. */
	for (size_t i = 0; i < lg->nreopen;) {
		struct stat st;
		bool there = stat(lg->reopen[i], &st) == 0;

		if (there)
			lg_watch_follow(lg, lg->reopen[i]);
		if (there || now >= lg->reopen_until[i]) {
			free(lg->reopen[i]);
			lg->reopen[i] = lg->reopen[lg->nreopen - 1];
			lg->reopen_until[i] = lg->reopen_until[lg->nreopen - 1];
			lg->nreopen--;
			continue;
		}
		i++;
	}
	/* Rotated files: closed once read to the end and quiet for log_rotate_wait. */
	if (lg->nrotated) {
		uint64_t wait = lg->cfg->log_rotate_wait_ms * 1000000ull;

		for (struct lg_file *f = lg->files, *next; f; f = next) {
			next = f->next;
			if (!f->rotated)
				continue;
			if (!f->eof)
				lg_file_mark_ready(lg, f);
			else if (now - f->data_ns >= wait && !f->ready)
				lg_file_close(lg, f, true);
		}
	}
	for (struct lg_file *f = lg->files; f; f = f->next) {
		if ((lg->no_watch || lg->ifd < 0) && f->wd < 0)
			lg_file_mark_ready(lg, f);
		if (f->meta_wait_ns && now >= f->meta_wait_ns)
			lg_file_mark_ready(lg, f);
	}
}
