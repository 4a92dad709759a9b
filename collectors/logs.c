/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The logs collector: tails the containers' log files and ships their
 * records to Fluentd over the Forward protocol, at least once (see logs.h
 * for how the files divide the work). It plugs into the agent's event loop
 * through one fd: its own epoll instance holding the inotify fd, the
 * timers (flush/housekeeping tick, position commits, rescans, reconnection
 * backoff), an eventfd for "more work pending" and the Fluentd socket.
 * Each poll does a bounded slice of reading, so the agent's other timers
 * and collectors never wait long behind a burst of logs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../agent/config.h"
#include "../agent/log.h"
#include "../exporters/forward.h"
#include "collector.h"
#include "logs.h"

#define LOG_COMP "collector:logs"
/* Bytes read per poll before the agent's loop gets a turn. */
#define LG_SLICE_BYTES (4u << 20)
#define LG_READ_BUF_MIN (256u << 10)
#define LG_TICK_MAX_MS 200
/* At shutdown, how long acks of what was sent are waited for (SIGTERM to exit stays well under 5 s). */
#define LG_SHUTDOWN_DRAIN_MS 2000

void lg_kick(struct lg *lg)
{
	uint64_t one = 1;

	if (lg->kick_fd >= 0 && write(lg->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "eventfd write: %s", strerror(errno));
}

static void drain(int fd)
{
	uint64_t x;

	while (read(fd, &x, sizeof(x)) == (ssize_t)sizeof(x))
		;
}

static int timer_arm(int fd, uint64_t first_ms, uint64_t every_ms)
{
	struct itimerspec its = {
		.it_value = { (time_t)(first_ms / 1000), (long)(first_ms % 1000) * 1000000L },
		.it_interval = { (time_t)(every_ms / 1000), (long)(every_ms % 1000) * 1000000L },
	};

	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static int ep_add(struct lg *lg, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(lg->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Loads log_position_file into position entries (a first start has none). */
static int load_positions(struct lg *lg)
{
	struct cgs_buf b;
	size_t bad = 0, n = 0;
	char *pathbuf;
	int r;

	cgs_buf_init(&b);
	r = cgs_read_file(lg->cfg->log_position_file, (size_t)1 << 30, &b);
	if (r == -ENOENT) {
		cgs_buf_free(&b);
		return 0;
	}
	if (r < 0) {
		cgs_buf_free(&b);
		return r;
	}
	lg->had_store = true;
	pathbuf = malloc(b.len + 1);
	if (!pathbuf) {
		cgs_buf_free(&b);
		return -ENOMEM;
	}
	for (char *line = b.p, *end; line && *line; line = end ? end + 1 : NULL) {
		struct cgs_logpos_entry e;
		struct lg_pos *p;

		end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (!len || line[0] == '#')
			continue;
		if (cgs_logpos_parse_line(line, len, &e, pathbuf) < 0) {
			bad++;
			continue;
		}
		if (lg_pos_find(lg, &e.id))
			continue;
		p = lg_pos_new(lg, &e.id, e.path);
		if (!p)
			break;
		p->committed = p->skip = e.offset;
		p->size = e.size;
		n++;
	}
	free(pathbuf);
	cgs_buf_free(&b);
	if (bad)
		cgs_log_warn(LOG_COMP, "%s: %zu malformed lines ignored", lg->cfg->log_position_file, bad);
	cgs_log_info(LOG_COMP, "%zu recorded positions loaded from %s", n, lg->cfg->log_position_file);
	return 0;
}

static void logs_destroy(void *state)
{
	struct lg *lg = state;

	if (!lg)
		return;
	if (lg->fwd) {
		lg_ship_drain(lg, LG_SHUTDOWN_DRAIN_MS);
		lg_ship_commit(lg);
	}
	/* Files: no flush, what was not acknowledged is read again at the next start. */
	while (lg->files) {
		struct lg_file *f = lg->files;

		lg->files = f->next;
		for (int s = 0; s < 2; s++)
			free(f->join[s].buf);
		if (f->fd >= 0)
			close(f->fd);
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
	lg_ship_free(lg);
	while (lg->pos) {
		struct lg_pos *p = lg->pos;

		while (p->head) {
			struct lg_range *r = p->head;

			p->head = r->pnext;
			free(r);
		}
		p->tail = NULL;
		p->file = NULL;
		lg_pos_free(lg, p);
	}
	lg_watch_free(lg);
	lg_map_free(&lg->files_by_wd);
	lg_map_free(&lg->files_by_path);
	lg_map_free(&lg->files_by_ino);
	lg_map_free(&lg->pos_by_ino);
	for (size_t i = 0; i < lg->cstats.nb; i++)
		for (struct lg_hnode *n = lg->cstats.b[i]; n; n = n->next)
			free(n->val);
	lg_map_free(&lg->cstats);
	int fds[] = { lg->epfd, lg->kick_fd, lg->tick_fd, lg->commit_fd, lg->rescan_fd, lg->retry_fd, lg->lock_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(lg->rbuf);
	free(lg->scratch);
	cgs_buf_free(&lg->evbuf);
	free(lg);
}

/* The shared key: the file's content without trailing whitespace. */
static int read_key(const char *path, struct cgs_buf *key)
{
	int r = cgs_read_file(path, 4096, key);

	if (r < 0)
		return r;
	while (key->len && (key->p[key->len - 1] == '\n' || key->p[key->len - 1] == '\r' ||
			    key->p[key->len - 1] == ' ' || key->p[key->len - 1] == '\t'))
		key->len--;
	return key->len ? 0 : -ENODATA;
}

static void raise_nofile(uint64_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want + 64)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want + 64)
		cgs_log_warn(LOG_COMP, "open file limit %llu is below log_max_files (%llu)",
			     (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static int logs_init(const struct cgs_collector_ctx *ctx, void **state, const char **why)
{
	const struct cgs_config *cfg = ctx->cfg;
	struct cgs_buf key;
	char dir[PATH_MAX];
	struct lg *lg;
	int e;

	if (!cfg->logs) {
		*why = "not enabled (logs: false)";
		return -EOPNOTSUPP;
	}
	lg = calloc(1, sizeof(*lg));
	if (!lg)
		return -ENOMEM;
	lg->cfg = cfg;
	lg->reg = ctx->registry;
	lg->epfd = lg->ifd = lg->kick_fd = lg->tick_fd = lg->commit_fd = lg->rescan_fd = lg->retry_fd = -1;
	lg->lock_fd = lg->fwd_fd = -1;
	cgs_buf_init(&key);
	if (cfg->node_name[0])
		snprintf(lg->node, sizeof(lg->node), "%s", cfg->node_name);
	else if (gethostname(lg->node, sizeof(lg->node) - 1) < 0)
		snprintf(lg->node, sizeof(lg->node), "unknown");
	snprintf(lg->hostname, sizeof(lg->hostname), "%s", cfg->fluentd_hostname[0] ? cfg->fluentd_hostname : lg->node);
	if (cfg->fluentd_shared_key_file[0] && (e = read_key(cfg->fluentd_shared_key_file, &key)) < 0) {
		*why = "cannot read fluentd_shared_key_file (missing, unreadable or empty)";
		goto fail;
	}
	lg->rbuf_cap = cfg->log_max_line_bytes > LG_READ_BUF_MIN ? cfg->log_max_line_bytes : LG_READ_BUF_MIN;
	lg->rbuf = malloc(lg->rbuf_cap);
	lg->scratch = malloc(lg->rbuf_cap);
	if (!lg->rbuf || !lg->scratch) {
		e = -ENOMEM;
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s", cfg->log_position_file);
	if (!cfg->log_position_file[0] || (e = mkdir_p(dirname(dir))) < 0) {
		*why = "cannot create the directory of log_position_file";
		e = cfg->log_position_file[0] ? e : -EINVAL;
		goto fail;
	}
	if (cfg->log_spool_dir[0] && (e = mkdir_p(cfg->log_spool_dir)) < 0) {
		*why = "cannot create log_spool_dir";
		goto fail;
	}
	lg->lock_fd = cgs_store_lock(cfg->log_position_file);
	if (lg->lock_fd < 0) {
		e = lg->lock_fd;
		*why = e == -EBUSY ? "another process uses log_position_file" : "cannot lock log_position_file";
		goto fail;
	}
	if ((e = load_positions(lg)) < 0) {
		*why = "cannot read log_position_file";
		goto fail;
	}
	lg->epfd = epoll_create1(EPOLL_CLOEXEC);
	lg->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	lg->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	lg->commit_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	lg->rescan_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	lg->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (lg->epfd < 0 || lg->kick_fd < 0 || lg->tick_fd < 0 || lg->commit_fd < 0 || lg->rescan_fd < 0 ||
	    lg->retry_fd < 0) {
		e = -errno;
		*why = "cannot create the event loop fds";
		goto fail;
	}
	if ((e = lg_watch_init(lg)) < 0 || (e = lg_ship_init(lg, key.len ? key.p : NULL, key.len)) < 0) {
		*why = e == -EINVAL ? "bad fluentd_address" : "cannot set up";
		goto fail;
	}
	if (key.p)
		explicit_bzero(key.p, key.cap);
	cgs_buf_free(&key);
	if (lg->ifd >= 0)
		ep_add(lg, lg->ifd, LG_TAG_INOTIFY);
	ep_add(lg, lg->kick_fd, LG_TAG_KICK);
	ep_add(lg, lg->tick_fd, LG_TAG_TICK);
	ep_add(lg, lg->commit_fd, LG_TAG_COMMIT);
	ep_add(lg, lg->rescan_fd, LG_TAG_RESCAN);
	ep_add(lg, lg->retry_fd, LG_TAG_RETRY);
	if ((e = lg_ship_load_spool(lg)) < 0) {
		*why = "cannot read log_spool_dir";
		goto fail;
	}
	raise_nofile(cfg->log_max_files);
	lg->initial_scan = true;
	lg_watch_rescan(lg);
	lg->initial_scan = false;
	lg_recover(lg);
	uint64_t tick = cfg->log_flush_interval_ms < LG_TICK_MAX_MS ? cfg->log_flush_interval_ms : LG_TICK_MAX_MS;

	timer_arm(lg->tick_fd, tick, tick);
	timer_arm(lg->commit_fd, cfg->log_commit_interval_ms, cfg->log_commit_interval_ms);
	timer_arm(lg->rescan_fd, cfg->log_rescan_interval_ms, cfg->log_rescan_interval_ms);
	lg_kick(lg);
	cgs_log_info(LOG_COMP, "tailing %zu files (%zu patterns), shipping to fluentd at %s (ack %s%s%s)", lg->nfiles,
		     lg->npatterns, cfg->fluentd_address, cfg->fluentd_require_ack ? "required" : "not required",
		     cfg->fluentd_compress ? ", gzip" : "", cfg->fluentd_shared_key_file[0] ? ", shared key" : "");
	*state = lg;
	return 0;
fail:
	if (key.p)
		explicit_bzero(key.p, key.cap);
	cgs_buf_free(&key);
	logs_destroy(lg);
	return e < 0 ? e : -EINVAL;
}

static int logs_fd(void *state)
{
	return ((struct lg *)state)->epfd;
}

static int logs_poll(void *state)
{
	struct lg *lg = state;
	struct epoll_event evs[32];
	int n;

	drain(lg->kick_fd);
	lg_meta_refresh(lg);
	n = epoll_wait(lg->epfd, evs, 32, 0);
	for (int i = 0; i < n; i++) {
		switch (evs[i].data.u64) {
		case LG_TAG_INOTIFY:
			lg_watch_events(lg);
			break;
		case LG_TAG_TICK: {
			uint64_t now = lg_now_ns();

			drain(lg->tick_fd);
			lg_watch_tick(lg, now);
			lg_ship_tick(lg, now);
			break;
		}
		case LG_TAG_COMMIT:
			drain(lg->commit_fd);
			lg_ship_commit(lg);
			break;
		case LG_TAG_RESCAN:
			drain(lg->rescan_fd);
			lg_watch_rescan(lg);
			break;
		case LG_TAG_RETRY:
			drain(lg->retry_fd);
			lg_ship_retry(lg);
			break;
		case LG_TAG_SOCKET:
			lg_ship_socket(lg, evs[i].events);
			break;
		default:
			break;
		}
	}
	/* A slice of reading, round-robin over the files with news. */
	size_t slice = LG_SLICE_BYTES;

	while (lg->ready_head && slice) {
		struct lg_file *f;
		long r;

		if (!lg_ship_may_read(lg))
			break;
		f = lg_file_pop_ready(lg);
		if (lg_file_waits(f))
			continue; /* marked ready again when its predecessor is read to its end */
		r = lg_file_read(lg, f);
		if (r == -ESTALE)
			continue; /* closed (truncated with no copy of its old content) */
		if (r < 0)
			cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "reading %s: %s", f->path, strerror((int)-r));
		else
			slice = (size_t)r >= slice ? 0 : slice - (size_t)r;
		lg_file_after_read(lg, f);
	}
	lg_ship_pump(lg);
	if (lg->ready_head && !lg->paused)
		lg_kick(lg);
	return 0;
}

static int logs_begin(void *state)
{
	struct lg *lg = state;

	for (size_t i = 0; i < lg->cstats.nb; i++)
		for (struct lg_hnode *n = lg->cstats.b[i]; n; n = n->next)
			((struct lg_cstat *)n->val)->lag = 0;
	for (struct lg_file *f = lg->files; f; f = f->next)
		if (f->cstat && f->size > f->pos->committed)
			f->cstat->lag += f->size - f->pos->committed;
	return 0;
}

static int logs_collect(void *state, const struct cgs_container *c, struct cgs_samples *out)
{
	struct lg *lg = state;
	struct lg_cstat *s = c->match.id[0] ? lg_cstat_get(lg, c->match.id) : NULL;

	if (!s)
		return 0;
	cgs_samples_add_l(out, CGS_M_CONTAINER_LOG_RECORDS, "stdout", NULL, (double)s->records[0]);
	cgs_samples_add_l(out, CGS_M_CONTAINER_LOG_RECORDS, "stderr", NULL, (double)s->records[1]);
	cgs_samples_add(out, CGS_M_CONTAINER_LOG_LAG_BYTES, (double)s->lag);
	return 0;
}

static int logs_collect_agent(void *state, struct cgs_samples *out)
{
	struct lg *lg = state;
	const struct lg_stats *st = &lg->st;
	uint64_t unread = 0, unacked = 0;
	double bp = st->backpressure_s;

	for (struct lg_file *f = lg->files; f; f = f->next) {
		if (f->size > f->read_off)
			unread += f->size - f->read_off;
		if (f->read_off > f->pos->committed)
			unacked += f->read_off - f->pos->committed;
	}
	if (lg->paused)
		bp += (double)(lg_now_ns() - lg->paused_since_ns) / 1e9;
	cgs_samples_add(out, CGS_M_LOGS_READ_RECORDS, (double)st->read_records);
	cgs_samples_add(out, CGS_M_LOGS_READ_BYTES, (double)st->read_bytes);
	cgs_samples_add(out, CGS_M_LOGS_SENT_RECORDS, (double)st->sent_records);
	cgs_samples_add(out, CGS_M_LOGS_SENT_BYTES, (double)st->sent_bytes);
	cgs_samples_add(out, CGS_M_LOGS_ACKED_RECORDS, (double)st->acked_records);
	cgs_samples_add(out, CGS_M_LOGS_RETRIED_RECORDS, (double)st->retried_records);
	cgs_samples_add_l(out, CGS_M_LOGS_DROPPED_BYTES, "deleted_unread", NULL, (double)st->dropped_deleted);
	cgs_samples_add_l(out, CGS_M_LOGS_DROPPED_BYTES, "truncated_unread", NULL, (double)st->dropped_truncated);
	cgs_samples_add_l(out, CGS_M_LOGS_DROPPED_BYTES, "unreadable", NULL, (double)st->dropped_unreadable);
	cgs_samples_add_l(out, CGS_M_LOGS_DROPPED_BYTES, "spool_corrupt", NULL, (double)st->dropped_spool);
	cgs_samples_add_l(out, CGS_M_LOGS_DROPPED_BYTES, "out_of_memory", NULL, (double)st->dropped_nomem);
	cgs_samples_add_l(out, CGS_M_LOGS_FLAGGED_RECORDS, "malformed", NULL, (double)st->flagged_malformed);
	cgs_samples_add_l(out, CGS_M_LOGS_FLAGGED_RECORDS, "split", NULL, (double)st->flagged_split);
	cgs_samples_add_l(out, CGS_M_LOGS_LAG_BYTES, "unread", NULL, (double)unread);
	cgs_samples_add_l(out, CGS_M_LOGS_LAG_BYTES, "unacked", NULL, (double)unacked);
	cgs_samples_add_l(out, CGS_M_LOGS_FILES, "open", NULL, (double)(lg->nfiles - lg->nrotated));
	cgs_samples_add_l(out, CGS_M_LOGS_FILES, "rotated", NULL, (double)lg->nrotated);
	cgs_samples_add_l(out, CGS_M_LOGS_FILES, "waiting", NULL, (double)st->files_waiting);
	cgs_samples_add_l(out, CGS_M_LOGS_BUFFER_BYTES, "memory", NULL, (double)lg->mem_used);
	cgs_samples_add_l(out, CGS_M_LOGS_BUFFER_BYTES, "spool", NULL, (double)lg->spool_used);
	cgs_samples_add(out, CGS_M_LOGS_BACKPRESSURE_SECONDS, bp);
	cgs_samples_add_l(out, CGS_M_LOGS_ROTATIONS, "rename", NULL, (double)st->rotations_rename);
	cgs_samples_add_l(out, CGS_M_LOGS_ROTATIONS, "truncate", NULL, (double)st->rotations_truncate);
	cgs_samples_add(out, CGS_M_LOGS_FORWARD_UP, cgs_fwd_state(lg->fwd) == CGS_FWD_READY);
	cgs_samples_add_l(out, CGS_M_LOGS_FORWARD_ERRORS, "connect", NULL, (double)st->errors_connect);
	cgs_samples_add_l(out, CGS_M_LOGS_FORWARD_ERRORS, "handshake", NULL, (double)st->errors_handshake);
	cgs_samples_add_l(out, CGS_M_LOGS_FORWARD_ERRORS, "ack_timeout", NULL, (double)st->errors_timeout);
	cgs_samples_add_l(out, CGS_M_LOGS_FORWARD_ERRORS, "closed", NULL, (double)st->errors_closed);
	cgs_samples_add_l(out, CGS_M_LOGS_FORWARD_ERRORS, "protocol", NULL, (double)st->errors_protocol);
	cgs_samples_add_l(out, CGS_M_LOGS_FORWARD_ERRORS, "unknown_ack", NULL, (double)st->errors_unknown_ack);
	cgs_samples_add_l(out, CGS_M_LOGS_WRITE_ERRORS, "positions", NULL, (double)lg->pos_err.total);
	cgs_samples_add_l(out, CGS_M_LOGS_WRITE_ERRORS, "spool", NULL, (double)lg->spool_err.total);
	cgs_samples_add_l(out, CGS_M_LOGS_REJECTED_FILES, "link_outside_roots", NULL, (double)st->rejected_links);
	return 0;
}

static bool logs_enabled(const struct cgs_config *cfg)
{
	return cfg->logs;
}

/* Without inotify (or out of watches) new files and writes are found by polling: slower, not lossy. */
static const char *logs_variant(void *state, bool *fallback)
{
	const struct lg *lg = state;

	*fallback = lg->ifd < 0 || lg->no_watch;
	return lg->ifd < 0 ? "polling" : lg->no_watch ? "inotify+polling" : "inotify";
}

const struct cgs_collector_ops cgs_collector_logs = {
	.name = "logs",
	.bpf = false,
	.enabled = logs_enabled,
	.check_skips = true,
	.variant = logs_variant,
	.init = logs_init,
	.fd = logs_fd,
	.poll = logs_poll,
	.begin = logs_begin,
	.collect = logs_collect,
	.collect_agent = logs_collect_agent,
	.destroy = logs_destroy,
};
