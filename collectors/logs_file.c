/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One tailed log file: its identity (device, inode and a fingerprint of its
 * first bytes, so a reused inode is a new file), bounded reads from the
 * last offset, lines, CRI / Docker parsing with per-stream joining of
 * partial lines, and copytruncate (the file shrank: its old content is
 * looked for among its siblings, and read to its end there).
 *
 * Memory per read is one shared buffer; a line longer than a record
 * (log_max_line_bytes) is shipped in pieces flagged split, whatever its
 * length, so a 10 MiB line costs no more than a short one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../agent/config.h"
#include "../agent/log.h"
#include "logs.h"

#define LOG_COMP "collector:logs"

static uint64_t ino_key(uint64_t dev, uint64_t ino)
{
	return (dev * 0x9e3779b97f4a7c15ull) ^ ino;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- position entries ---- */

struct lg_pos *lg_pos_new(struct lg *lg, const struct cgs_logid *id, const char *path)
{
	struct lg_pos *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->id = *id;
	p->path = strdup(path ? path : "");
	if (!p->path || lg_map_put(&lg->pos_by_ino, ino_key(id->dev, id->ino), p) < 0) {
		free(p->path);
		free(p);
		return NULL;
	}
	p->next = lg->pos;
	if (lg->pos)
		lg->pos->prev = p;
	lg->pos = p;
	lg->npos++;
	return p;
}

void lg_pos_free(struct lg *lg, struct lg_pos *p)
{
	lg_map_del(&lg->pos_by_ino, ino_key(p->id.dev, p->id.ino), p);
	if (p->prev)
		p->prev->next = p->next;
	else
		lg->pos = p->next;
	if (p->next)
		p->next->prev = p->prev;
	lg->npos--;
	free(p->path);
	free(p);
}

void lg_pos_maybe_free(struct lg *lg, struct lg_pos *p)
{
	if (p && !p->file && !p->head && !p->done) {
		lg_pos_free(lg, p);
		lg->pos_dirty = true;
	}
}

void lg_pos_prune(struct lg *lg)
{
	for (struct lg_pos *p = lg->pos, *next; p; p = next) {
		struct stat st;

		next = p->next;
		if (!p->done || p->file || p->head)
			continue;
		if (stat(p->path, &st) == 0 && (uint64_t)st.st_ino == p->id.ino && (uint64_t)st.st_dev == p->id.dev)
			continue;
		lg_pos_free(lg, p);
		lg->pos_dirty = true;
	}
}

void lg_pos_rehash(struct lg *lg, struct lg_pos *p, uint64_t dev, uint64_t ino)
{
	lg_map_del(&lg->pos_by_ino, ino_key(p->id.dev, p->id.ino), p);
	p->id.dev = dev;
	p->id.ino = ino;
	if (lg_map_put(&lg->pos_by_ino, ino_key(dev, ino), p) < 0)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "out of memory indexing a position entry");
}

int lg_file_fingerprint(int fd, uint32_t want, uint32_t *got, uint64_t *fp)
{
	char buf[CGS_LOGID_FP_MAX];
	ssize_t n;

	if (want > CGS_LOGID_FP_MAX)
		want = CGS_LOGID_FP_MAX;
	do
		n = pread(fd, buf, want, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*got = (uint32_t)n;
	*fp = cgs_fnv1a(CGS_FNV_OFFSET, buf, (size_t)n);
	return 0;
}

struct lg_pos *lg_pos_match(struct lg *lg, int fd, uint64_t dev, uint64_t ino)
{
	struct lg_hnode *it = NULL;
	struct lg_pos *p;

	while ((p = lg_map_next(&lg->pos_by_ino, ino_key(dev, ino), &it))) {
		uint32_t got;
		uint64_t fp;

		if (p->id.dev != dev || p->id.ino != ino || p->file)
			continue;
		if (lg_file_fingerprint(fd, p->id.fp_len, &got, &fp) == 0 && got == p->id.fp_len && fp == p->id.fp)
			return p;
	}
	return NULL;
}

struct lg_pos *lg_pos_find(struct lg *lg, const struct cgs_logid *id)
{
	struct lg_hnode *it = NULL;
	struct lg_pos *p;

	while ((p = lg_map_next(&lg->pos_by_ino, ino_key(id->dev, id->ino), &it)))
		if (p->id.dev == id->dev && p->id.ino == id->ino && p->id.fp_len == id->fp_len && p->id.fp == id->fp)
			return p;
	return NULL;
}

struct lg_file *lg_file_by_ino(struct lg *lg, uint64_t dev, uint64_t ino)
{
	struct lg_hnode *it = NULL;
	struct lg_file *f;

	while ((f = lg_map_next(&lg->files_by_ino, ino_key(dev, ino), &it)))
		if (f->id.dev == dev && f->id.ino == ino)
			return f;
	return NULL;
}

/* ---- the ready list: files that may have data to read ---- */

void lg_file_mark_ready(struct lg *lg, struct lg_file *f)
{
	if (f->ready)
		return;
	f->ready = true;
	f->ready_next = NULL;
	f->ready_prev = lg->ready_tail;
	if (lg->ready_tail)
		lg->ready_tail->ready_next = f;
	else
		lg->ready_head = f;
	lg->ready_tail = f;
}

static void ready_remove(struct lg *lg, struct lg_file *f)
{
	if (!f->ready)
		return;
	if (f->ready_prev)
		f->ready_prev->ready_next = f->ready_next;
	else
		lg->ready_head = f->ready_next;
	if (f->ready_next)
		f->ready_next->ready_prev = f->ready_prev;
	else
		lg->ready_tail = f->ready_prev;
	f->ready = false;
	f->ready_prev = f->ready_next = NULL;
}

struct lg_file *lg_file_pop_ready(struct lg *lg)
{
	struct lg_file *f = lg->ready_head;

	if (f)
		ready_remove(lg, f);
	return f;
}

/* ---- open / close ---- */

static void add_watch(struct lg *lg, struct lg_file *f)
{
	char proc[64];

	f->wd = -1;
	if (lg->ifd < 0)
		return;
	/* Through /proc/self/fd: the watch is on the inode we opened, whatever the path leads to now. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
	f->wd = inotify_add_watch(lg->ifd, proc, IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
	if (f->wd < 0) {
		if (errno == ENOSPC && !lg->no_watch)
			cgs_log_warn(LOG_COMP, "inotify watches exhausted (fs.inotify.max_user_watches): "
					       "files without a watch are polled every log_flush_interval");
		if (errno == ENOSPC)
			lg->no_watch = true;
		return;
	}
	if (lg_map_put(&lg->files_by_wd, (uint64_t)f->wd, f) < 0) {
		inotify_rm_watch(lg->ifd, f->wd);
		f->wd = -1;
	}
}

static void drop_watch(struct lg *lg, struct lg_file *f)
{
	if (f->wd < 0)
		return;
	lg_map_del(&lg->files_by_wd, (uint64_t)f->wd, f);
	inotify_rm_watch(lg->ifd, f->wd);
	f->wd = -1;
}

/* Offset after the last complete line before `size` (where to start a file read from its end). */
static uint64_t last_line_start(int fd, uint64_t size)
{
	char buf[65536];
	uint64_t from = size > sizeof(buf) ? size - sizeof(buf) : 0;
	ssize_t n = pread(fd, buf, (size_t)(size - from), (off_t)from);

	for (ssize_t i = n - 1; i >= 0; i--)
		if (buf[i] == '\n')
			return from + (uint64_t)i + 1;
	return n == (ssize_t)(size - from) && from == 0 ? 0 : size;
}

bool lg_file_waits(struct lg_file *f)
{
	if (f->meta_wait_ns) {
		if (!f->meta.in_registry && lg_now_ns() < f->meta_wait_ns)
			return true; /* lg_watch_tick marks it ready when the wait is over */
		f->meta_wait_ns = 0;
	}
	if (f->pred && !f->pred->eof) {
		/* It may be truncated (copytruncate) before we read it: look at its first bytes then. */
		f->check_id = true;
		return true;
	}
	return false;
}

void lg_file_after_read(struct lg *lg, struct lg_file *f)
{
	if (!f->eof)
		lg_file_mark_ready(lg, f);
	else if (f->succ)
		lg_file_mark_ready(lg, f->succ);
}

/* A log_paths match that resolves outside the allowed roots: counted and logged once per path and target. */
static void reject_link(struct lg *lg, const char *path, const char *real, const struct stat *st)
{
	uint64_t key = lg_hash_str(path) ^ cgs_fnv1a(CGS_FNV_OFFSET, &st->st_ino, sizeof(st->st_ino)) ^
		       ((uint64_t)st->st_dev << 1);
	struct lg_hnode *it = NULL;

	if (lg_map_next(&lg->rejected, key, &it))
		return;
	if (lg->rejected.n >= 65536) /* bounded: past this, pairs may be counted again */
		lg_map_free(&lg->rejected);
	lg_map_put(&lg->rejected, key, (void *)1);
	lg->st.rejected_links++;
	/* Each one is worth a line; a flood of them (someone planting links) is rate limited. */
	if (lg->st.rejected_links <= 100)
		cgs_log_warn(LOG_COMP, "not reading %s: it resolves to %s, outside the log_paths directories and "
				       "log_link_roots (cgsight_logs_rejected_files_total)", path, real);
	else
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "not reading %s: it resolves to %s, outside the log_paths "
				    "directories and log_link_roots (cgsight_logs_rejected_files_total)", path, real);
}

int lg_file_open(struct lg *lg, const char *path, bool followed, struct lg_file *pred, struct lg_file **out)
{
	struct lg_file *f;
	struct stat st;
	char proc[64], real[PATH_MAX];
	ssize_t rl;
	int fd, pfd;

	if (lg->nfiles >= lg->cfg->log_max_files)
		return -EMFILE;
	/*
	 * First a path-only descriptor: it opens nothing (no FIFO to block on, no
	 * device to wake) yet pins the inode, whose type and resolved path are
	 * checked before it is opened for reading through that same descriptor.
	 */
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(pfd);
		return -EINVAL;
	}
	rl = readlink(proc, real, sizeof(real) - 1);
	if (rl <= 0) {
		close(pfd);
		return rl < 0 ? -errno : -EINVAL;
	}
	real[rl] = '\0';
	/* A reopened descriptor of ours (after a truncation) was checked when first opened. */
	if (strncmp(path, "/proc/self/fd/", 14) != 0 && !lg_watch_allowed(lg, real)) {
		reject_link(lg, path, real, &st);
		close(pfd);
		return -EXDEV;
	}
	if (lg_file_by_ino(lg, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) {
		close(pfd);
		return -EEXIST;
	}
	fd = open(proc, O_RDONLY | O_CLOEXEC);
	close(pfd);
	if (fd < 0)
		return -errno;
	f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	f->fd = fd;
	f->wd = -1;
	f->path = strdup(path);
	f->real = strdup(real);
	if (!f->path || !f->real) {
		free(f->path);
		free(f->real);
		free(f);
		close(fd);
		return -ENOMEM;
	}
	f->size = (uint64_t)st.st_size;
	f->id.dev = (uint64_t)st.st_dev;
	f->id.ino = (uint64_t)st.st_ino;
	f->pos = lg_pos_match(lg, fd, f->id.dev, f->id.ino);
	uint64_t start = 0;

	if (f->pos) {
		f->pos->done = false;
		f->id = f->pos->id;
		start = f->pos->skip > f->pos->committed ? f->pos->skip : f->pos->committed;
		if (start > f->size) {
			/* Shorter than what we shipped, same first bytes: truncated while we were away. */
			lg->st.rotations_truncate++;
			start = 0;
			f->pos->committed = 0;
		}
		free(f->pos->path);
		f->pos->path = strdup(f->real);
	} else {
		lg_file_fingerprint(fd, CGS_LOGID_FP_MAX, &f->id.fp_len, &f->id.fp);
		f->pos = lg_pos_new(lg, &f->id, f->real);
		if (!f->pos) {
			free(f->path);
			free(f->real);
			free(f);
			close(fd);
			return -ENOMEM;
		}
		if (followed && lg->initial_scan && !lg->cfg->log_read_from_head)
			start = last_line_start(fd, f->size);
		f->pos->committed = start;
	}
	f->pos->file = f;
	f->pos->size = f->size;
	f->read_off = f->emit_off = f->range_end = start;
	f->data_ns = lg_now_ns();
	if (lg_map_put(&lg->files_by_ino, ino_key(f->id.dev, f->id.ino), f) < 0 ||
	    (followed && lg_map_put(&lg->files_by_path, lg_hash_str(path), f) < 0)) {
		lg_map_del(&lg->files_by_ino, ino_key(f->id.dev, f->id.ino), f);
		f->pos->file = NULL;
		lg_pos_maybe_free(lg, f->pos);
		free(f->path);
		free(f->real);
		free(f);
		close(fd);
		return -ENOMEM;
	}
	f->followed = followed;
	if (pred && !pred->succ) {
		f->pred = pred;
		pred->succ = f;
	}
	add_watch(lg, f);
	lg_meta_resolve(lg, f);
	if (lg->reg && f->meta.container_id && f->meta.container_id[0] && !f->meta.in_registry)
		f->meta_wait_ns = lg_now_ns() + LG_META_WAIT_NS;
	f->next = lg->files;
	if (lg->files)
		lg->files->prev = f;
	lg->files = f;
	lg->nfiles++;
	if (!followed) {
		f->rotated = true;
		lg->nrotated++;
	}
	lg_file_mark_ready(lg, f);
	cgs_log_debug(LOG_COMP, "following %s (%s) from offset %llu%s", path, f->real, (unsigned long long)start,
		      f->pos->committed || f->pos->skip ? " (recorded position)" : "");
	if (out)
		*out = f;
	return 0;
}

static void unfollow(struct lg *lg, struct lg_file *f)
{
	if (!f->followed)
		return;
	lg_map_del(&lg->files_by_path, lg_hash_str(f->path), f);
	f->followed = false;
}

void lg_file_set_rotated(struct lg *lg, struct lg_file *f)
{
	char proc[64], now[PATH_MAX];
	ssize_t n;

	if (f->rotated)
		return;
	unfollow(lg, f);
	f->rotated = true;
	lg->nrotated++;
	f->data_ns = lg_now_ns();
	/* Its name now (e.g. 0.log.20240301-100000): where a restart looks for it. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
	n = readlink(proc, now, sizeof(now) - 1);
	if (n > 0 && !(n > 10 && !memcmp(now + n - 10, " (deleted)", 10))) {
		char *r = strndup(now, (size_t)n), *pp = strndup(now, (size_t)n);

		if (r && pp) {
			free(f->real);
			f->real = r;
			free(f->pos->path);
			f->pos->path = pp;
			lg->pos_dirty = true;
		} else {
			free(r);
			free(pp);
		}
	}
	lg_file_mark_ready(lg, f);
}

/* ---- records ---- */

static uint64_t emit_floor(const struct lg_file *f, uint64_t end)
{
	uint64_t m = end;

	for (int s = 0; s < 2; s++)
		if (f->join[s].active && f->join[s].start < m)
			m = f->join[s].start;
	return m;
}

/* Every byte before `end` has been looked at: move the shipped mark as far as pending joins allow. */
static void advance(struct lg_file *f, uint64_t end)
{
	uint64_t m = emit_floor(f, end);

	if (m > f->emit_off)
		f->emit_off = m;
}

static void ship(struct lg *lg, struct lg_file *f, int64_t t, int stream, const char *msg, size_t len,
		 unsigned flags, uint64_t end)
{
	advance(f, end);
	lg_ship_record(lg, f, t, stream, msg, len, flags);
	lg->st.read_records++;
	if (flags & CGS_FWD_F_MALFORMED)
		lg->st.flagged_malformed++;
	if (flags & CGS_FWD_F_SPLIT)
		lg->st.flagged_split++;
	if (f->cstat && stream != CGS_LOG_NOSTREAM)
		f->cstat->records[stream]++;
}

static void join_free(struct lg *lg, struct lg_join *j)
{
	lg->mem_used -= j->cap;
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

static int join_reserve(struct lg *lg, struct lg_join *j, size_t need)
{
	size_t ncap;
	char *nb;

	if (need <= j->cap)
		return 0;
	ncap = j->cap ? j->cap * 2 : 1024;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(j->buf, ncap);
	if (!nb)
		return -ENOMEM;
	lg->mem_used += ncap - j->cap;
	j->buf = nb;
	j->cap = ncap;
	return 0;
}

/*
 * Adds a piece to stream `s`'s join; whenever the record reaches the limit
 * it is shipped as a split piece and the join goes on from this line.
 */
static void join_append(struct lg *lg, struct lg_file *f, int s, const char *msg, size_t len, uint64_t line_start)
{
	struct lg_join *j = &f->join[s];
	size_t max = lg->cfg->log_max_line_bytes;

	while (j->len + len > max) {
		size_t take = max - j->len;

		if (join_reserve(lg, j, max) == 0) {
			memcpy(j->buf + j->len, msg, take);
			j->len += take;
		}
		msg += take;
		len -= take;
		j->start = line_start; /* the rest of this line is not shipped yet */
		ship(lg, f, j->time_ns, s, j->buf, j->len, CGS_FWD_F_SPLIT | (j->malformed ? CGS_FWD_F_MALFORMED : 0),
		     line_start);
		j->len = 0;
		j->split = true;
	}
	if (len && join_reserve(lg, j, j->len + len) == 0) {
		memcpy(j->buf + j->len, msg, len);
		j->len += len;
	}
}

/* Ships the join of stream s as one record ending at `end`. */
static void join_finish(struct lg *lg, struct lg_file *f, int s, uint64_t end)
{
	struct lg_join *j = &f->join[s];
	unsigned flags = (j->split ? CGS_FWD_F_SPLIT : 0) | (j->malformed ? CGS_FWD_F_MALFORMED : 0);

	j->active = false;
	ship(lg, f, j->time_ns, s, j->buf ? j->buf : "", j->len, flags, end);
	join_free(lg, j);
}

static int parse_as(struct lg *lg, enum cgs_log_format fmt, const char *line, size_t len, struct cgs_log_line *l)
{
	if (fmt == CGS_LOG_FMT_CRI)
		return cgs_log_parse_cri(line, len, l);
	if (fmt == CGS_LOG_FMT_DOCKER)
		return cgs_log_parse_docker(line, len, lg->scratch, l);
	return -EBADMSG;
}

/* One complete line [start, end) (end after its "\n"). */
static void process_line(struct lg *lg, struct lg_file *f, const char *line, size_t len, uint64_t start,
			 uint64_t end)
{
	struct cgs_log_line l;
	enum cgs_log_format fmt = f->fmt, d;
	int r;

	if (len == 0) {
		advance(f, end);
		return;
	}
	if (f->events) {
		char tag[CGS_FWD_TAG_MAX + 1];

		if (lg_event_encode(lg, line, len, tag, sizeof(tag)) == 0) {
			advance(f, end);
			lg_ship_packed(lg, f, tag, lg->evbuf.p, lg->evbuf.len);
			lg->st.read_records++;
			return;
		}
		/* Not an event: shipped as it is and flagged, like any line of neither format. */
	}
	if (fmt == CGS_LOG_FMT_UNKNOWN) {
		d = cgs_log_detect(line, len);
		if (d)
			f->fmt = d;
		fmt = d ? d : f->fmt_hint;
	}
	r = parse_as(lg, fmt, line, len, &l);
	if (r < 0 && (d = cgs_log_detect(line, len)) && d != fmt)
		r = parse_as(lg, d, line, len, &l);
	if (r < 0) {
		/* Neither format: shipped as it is, flagged, never dropped. */
		l.time_ns = realtime_ns();
		l.stream = CGS_LOG_NOSTREAM;
		l.partial = false;
		l.msg = line;
		l.len = len;
		if (len <= lg->cfg->log_max_line_bytes) {
			ship(lg, f, l.time_ns, CGS_LOG_NOSTREAM, line, len, CGS_FWD_F_MALFORMED, end);
			return;
		}
		/* A raw line longer than a record: pieces through a stdout join. */
		l.stream = CGS_LOG_STDOUT;
		if (f->join[0].active)
			join_finish(lg, f, 0, start);
		f->join[0].malformed = true;
	}
	if (!l.time_ns)
		l.time_ns = realtime_ns();
	int s = l.stream == CGS_LOG_STDERR;
	struct lg_join *j = &f->join[s];

	if (!l.partial && !j->active && l.len <= lg->cfg->log_max_line_bytes) {
		ship(lg, f, l.time_ns, s, l.msg, l.len, 0, end);
		return;
	}
	if (!j->active) {
		bool m = j->malformed;

		memset(j, 0, sizeof(*j));
		j->active = true;
		j->start = start;
		j->time_ns = l.time_ns;
		j->malformed = m || r < 0;
	}
	join_append(lg, f, s, l.msg, l.len, start);
	if (!l.partial)
		join_finish(lg, f, s, end);
}

/*
 * A piece of a line that does not fit the read buffer, [off, off + len).
 * The first piece is parsed for its header (time, stream); the others are
 * the message's continuation. All are flagged split.
 */
static void long_piece(struct lg *lg, struct lg_file *f, const char *p, size_t len, uint64_t end, bool first)
{
	struct cgs_log_line l;

	if (first) {
		if ((f->fmt == CGS_LOG_FMT_CRI || cgs_log_detect(p, len) == CGS_LOG_FMT_CRI) &&
		    cgs_log_parse_cri(p, len, &l) == 0) {
			f->long_stream = l.stream == CGS_LOG_STDERR;
			f->long_time = l.time_ns;
			f->long_malformed = false;
			p = l.msg;
			len = l.len;
		} else {
			f->long_stream = CGS_LOG_NOSTREAM;
			f->long_time = realtime_ns();
			f->long_malformed = true;
		}
	}
	ship(lg, f, f->long_time, f->long_stream, p, len,
	     CGS_FWD_F_SPLIT | (f->long_malformed ? CGS_FWD_F_MALFORMED : 0), end);
}

/* ---- truncation (copytruncate) ---- */

/* The sibling holding our old content: same device, not followed, at least `min_size` long, same first bytes. */
static int find_copy(struct lg *lg, const struct lg_file *f, uint64_t min_size, struct stat *out, char *path,
		     size_t pathlen)
{
	char dir[PATH_MAX], base[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int best = -1;
	struct timespec best_t = { 0, 0 };

	snprintf(dir, sizeof(dir), "%s", f->real);
	snprintf(base, sizeof(base), "%s", f->real);
	const char *dn = dirname(dir), *bn = basename(base);

	d = opendir(dn);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;
		uint32_t got;
		uint64_t fp;
		int fd;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, bn))
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dn, de->d_name) >= (int)sizeof(p))
			continue;
		fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != f->id.dev ||
		    (uint64_t)st.st_ino == f->id.ino || (uint64_t)st.st_size < min_size ||
		    lg_file_by_ino(lg, (uint64_t)st.st_dev, (uint64_t)st.st_ino) ||
		    lg_file_fingerprint(fd, f->id.fp_len, &got, &fp) < 0 || got != f->id.fp_len || fp != f->id.fp ||
		    (best >= 0 && (st.st_mtim.tv_sec < best_t.tv_sec ||
				   (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec <= best_t.tv_nsec)))) {
			close(fd);
			continue;
		}
		if (best >= 0)
			close(best);
		best = fd;
		best_t = st.st_mtim;
		*out = st;
		snprintf(path, pathlen, "%s", p);
	}
	closedir(d);
	return best >= 0 ? best : -ENOENT;
}

/*
 * The file shrank below what we read, or its first bytes changed: its
 * content was copied away and the file truncated (logrotate copytruncate).
 * Our object moves to the copy (read to its end, then closed) and the path
 * is followed again from offset 0. Returns 1 when `f` was freed.
 */
static int truncated(struct lg *lg, struct lg_file *f)
{
	char path[PATH_MAX], copy[PATH_MAX], proc[64];
	struct stat st = { 0 }, now;
	bool was_followed = f->followed, freed = false;
	struct lg_file *pred, *succ = f->succ, *w = NULL;
	int cfd, old;

	lg->st.rotations_truncate++;
	snprintf(path, sizeof(path), "%s", f->path);
	/* The truncated inode's new content is read too, after the old one: keep a handle on it. */
	old = dup(f->fd);
	if (succ) {
		succ->pred = NULL;
		f->succ = NULL;
	}
	cfd = find_copy(lg, f, f->read_off, &st, copy, sizeof(copy));
	if (cfd < 0) {
		if (f->size > f->read_off)
			lg->st.dropped_truncated += f->size - f->read_off;
		cgs_log_info(LOG_COMP, "%s was truncated; no copy of its old content found", path);
		/* What was read is shipped (pending joins too); the rest of the old content is gone. */
		for (int s = 0; s < 2; s++)
			if (f->join[s].active)
				join_finish(lg, f, s, f->read_off);
		advance(f, f->read_off);
		f->size = f->read_off;
		pred = f->pred;
		lg_file_close(lg, f, false);
		freed = true;
	} else {
		cgs_log_info(LOG_COMP, "%s was truncated; reading the rest of its old content from %s", path, copy);
		unfollow(lg, f);
		drop_watch(lg, f);
		lg_map_del(&lg->files_by_ino, ino_key(f->id.dev, f->id.ino), f);
		close(f->fd);
		f->fd = cfd;
		f->id.ino = (uint64_t)st.st_ino;
		f->size = (uint64_t)st.st_size;
		lg_pos_rehash(lg, f->pos, f->id.dev, f->id.ino);
		lg_map_put(&lg->files_by_ino, ino_key(f->id.dev, f->id.ino), f);
		free(f->real);
		f->real = strdup(copy);
		free(f->pos->path);
		f->pos->path = strdup(copy);
		f->eof = false;
		if (!f->rotated) {
			f->rotated = true;
			lg->nrotated++;
		}
		f->data_ns = lg_now_ns();
		lg_file_mark_ready(lg, f);
		pred = f;
	}
	if (old >= 0) {
		if (was_followed && stat(path, &now) == 0 && fstat(old, &st) == 0 && now.st_ino == st.st_ino &&
		    now.st_dev == st.st_dev) {
			/* The common case: the path still leads to the truncated file. */
			lg_file_open(lg, path, true, pred, &w);
		} else {
			/* A rotated file truncated before it was read (or renamed since): its new content, by fd. */
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", old);
			if (lg_file_open(lg, proc, false, pred, &w) == 0)
				lg_meta_repath(lg, w, path); /* the metadata of the name it was followed as */
			if (was_followed)
				lg_watch_follow(lg, path);
		}
		close(old);
	} else if (was_followed) {
		lg_watch_follow(lg, path);
	}
	if (succ) {
		struct lg_file *last = w ? w : (freed ? NULL : f);

		if (last && !last->succ) {
			last->succ = succ;
			succ->pred = last;
		} else {
			lg_file_mark_ready(lg, succ);
		}
	}
	return freed ? 1 : 0;
}

void lg_file_check_identity(struct lg *lg, struct lg_file *f)
{
	uint32_t got;
	uint64_t fp;

	if (!f->id.fp_len || f->fd < 0 || lg_file_fingerprint(f->fd, f->id.fp_len, &got, &fp) < 0)
		return;
	if (got != f->id.fp_len || fp != f->id.fp)
		truncated(lg, f);
}

/* At EOF: notices deletion and truncation. 1 when `f` was freed. */
static int eof_check(struct lg *lg, struct lg_file *f)
{
	struct stat st;

	f->eof = true;
	if (fstat(f->fd, &st) < 0)
		return 0;
	f->size = (uint64_t)st.st_size;
	f->pos->size = f->size;
	if (st.st_nlink == 0 && !f->rotated && !f->closing)
		lg_file_set_rotated(lg, f);
	if (f->size < f->read_off && !f->closing)
		return truncated(lg, f);
	return 0;
}

void lg_file_grow_id(struct lg_file *f)
{
	uint32_t got;
	uint64_t fp;

	if (f->id.fp_len >= CGS_LOGID_FP_MAX || f->fd < 0 || f->closing)
		return;
	if (lg_file_fingerprint(f->fd, CGS_LOGID_FP_MAX, &got, &fp) == 0 && got > f->id.fp_len) {
		f->id.fp_len = got;
		f->id.fp = fp;
		f->pos->id.fp_len = got;
		f->pos->id.fp = fp;
	}
}

long lg_file_read(struct lg *lg, struct lg_file *f)
{
	size_t cap = lg->rbuf_cap, max = lg->cfg->log_max_line_bytes;
	uint64_t off0 = f->read_off, off;
	ssize_t n;
	char *p, *end;

	if (f->fd < 0)
		return 0;
	/*
	 * A copytruncate that grew back past our offset is invisible in the
	 * size: look at the first bytes when the file was not read for a
	 * while (waiting, paused) or is young; a file read all the time is
	 * caught at its next EOF.
	 */
	if (f->check_id || f->read_off < CGS_LOGID_FP_MAX || lg_now_ns() - f->data_ns > 200000000ull) {
		uint32_t got;
		uint64_t fp;

		f->check_id = false;
		if (f->id.fp_len && lg_file_fingerprint(f->fd, f->id.fp_len, &got, &fp) == 0 &&
		    (got != f->id.fp_len || fp != f->id.fp))
			return truncated(lg, f) ? -ESTALE : 0;
	}
	do
		n = pread(f->fd, lg->rbuf, cap, (off_t)f->read_off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		f->eof = true;
		return -errno;
	}
	if (n == 0)
		return eof_check(lg, f) ? -ESTALE : 0;
	f->data_ns = lg_now_ns();
	f->eof = (size_t)n < cap;
	if (f->read_off + (uint64_t)n > f->size)
		f->size = f->read_off + (uint64_t)n;
	f->pos->size = f->size;
	p = lg->rbuf;
	end = p + n;
	off = f->read_off;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t rest = (size_t)(end - p);

		if (!nl) {
			bool full = (size_t)n == cap;

			if (!f->long_line && !(p == lg->rbuf && full))
				break; /* an incomplete line: wait for its end */
			if (f->long_line && !full && rest < max)
				break;
			size_t take = rest < max ? rest : max;

			long_piece(lg, f, p, take, off + take, !f->long_line);
			f->long_line = true;
			p += take;
			off += take;
			continue;
		}
		size_t len = (size_t)(nl - p);

		if (f->long_line) {
			/* The end of a line that did not fit the buffer, maybe itself in pieces. */
			while (len > max) {
				long_piece(lg, f, p, max, off + max, false);
				p += max;
				off += max;
				len -= max;
			}
			long_piece(lg, f, p, len, off + len + 1, false);
			f->long_line = false;
		} else {
			process_line(lg, f, p, len, off, off + len + 1);
		}
		off += len + 1;
		p = nl + 1;
		/* The budget is checked per line, so one read never overshoots it by more than a record. */
		if (lg->mem_used >= lg->cfg->log_buffer_bytes && p < end) {
			f->eof = false;
			break;
		}
	}
	f->read_off = off;
	if (off == off0)
		f->eof = true; /* only the start of a line is there */
	lg->st.read_bytes += off - off0;
	if (f->size > f->id.fp_len)
		lg_file_grow_id(f);
	return (long)(off - off0);
}

void lg_file_close(struct lg *lg, struct lg_file *f, bool flush)
{
	f->closing = true;
	if (flush && f->fd >= 0) {
		/* Whatever is left, including a last line without "\n", is shipped before the file goes. */
		for (int i = 0; i < 1024; i++) {
			long n = lg_file_read(lg, f);

			if (n <= 0)
				break;
		}
		ssize_t n = pread(f->fd, lg->rbuf, lg->rbuf_cap, (off_t)f->read_off);

		if (n > 0) {
			if (f->long_line)
				long_piece(lg, f, lg->rbuf, (size_t)n, f->read_off + (uint64_t)n, false);
			else
				process_line(lg, f, lg->rbuf, (size_t)n, f->read_off, f->read_off + (uint64_t)n);
			f->read_off += (uint64_t)n;
			lg->st.read_bytes += (uint64_t)n;
		}
		f->long_line = false;
		for (int s = 0; s < 2; s++)
			if (f->join[s].active)
				join_finish(lg, f, s, f->read_off);
		advance(f, f->read_off);
	}
	for (int s = 0; s < 2; s++)
		join_free(lg, &f->join[s]);
	lg_ship_detach_file(lg, f);
	drop_watch(lg, f);
	lg_map_del(&lg->files_by_ino, ino_key(f->id.dev, f->id.ino), f);
	unfollow(lg, f);
	ready_remove(lg, f);
	if (f->succ) {
		f->succ->pred = NULL;
		lg_file_mark_ready(lg, f->succ);
	}
	if (f->pred)
		f->pred->succ = NULL;
	if (f->pos) {
		f->pos->file = NULL;
		f->pos->size = f->size;
		/* A rotated file read to its end stays known while it exists. */
		if (flush && f->rotated && f->read_off >= f->size && f->id.fp_len) {
			f->pos->done = true;
			lg->pos_dirty = true;
		}
		lg_pos_maybe_free(lg, f->pos);
	}
	if (f->prev)
		f->prev->next = f->next;
	else
		lg->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	lg->nfiles--;
	if (f->rotated)
		lg->nrotated--;
	if (f->fd >= 0)
		close(f->fd);
	cgs_log_debug(LOG_COMP, "closed %s at offset %llu", f->real, (unsigned long long)f->read_off);
	lg_cstat_put(lg, f->cstat);
	lg_meta_clear(&f->meta);
	free(f->meta_pack);
	free(f->tag[0]);
	if (!f->tag_shared)
		free(f->tag[1]);
	free(f->path);
	free(f->real);
	free(f);
}
