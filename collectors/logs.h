/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log pipeline's internal interface, shared by its files:
 *
 *   logs_watch.c   discovery: log_paths globs, directory watches, inotify
 *                  events, rotation and deletion of followed paths, rescans
 *   logs_file.c    one tailed file: identity, bounded reads, lines, CRI /
 *                  Docker parsing, joining of partial lines, truncation
 *   logs_recover.c at a restart: what rotated while we were away, and in which order
 *   logs_meta.c    what a path says (pod, namespace, container id...), the
 *                  registry's metadata, the tag template
 *   logs_ship.c    chunks (records of one tag), the memory budget and the
 *                  spool, sending over exporters/forward.c, acks, commits
 *   logs_event.c   the agent's own events file (events_file): each JSON line
 *                  becomes a record of its fields, tagged events_tag
 *   logs.c         the collector: set-up, the event loop slice, metrics
 *
 * Offsets and at-least-once delivery. Every record a file yields covers a
 * byte range of that file; consecutive records of one file put contiguous
 * ranges into the chunks they go to (a chunk holds ranges of many files).
 * A file's outstanding ranges are kept in order in its position entry
 * (struct lg_pos); the committed offset only moves over a prefix of ranges
 * whose chunks were all acknowledged. So an offset is never committed
 * before every record up to it was acknowledged.
 *
 * Single-threaded: everything runs in the agent's event loop.
 */
#ifndef CGS_LOGS_H
#define CGS_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../agent/buf.h"
#include "../exporters/forward_format.h"
#include "logs_parse.h"
#include "logs_store.h"

struct cgs_config;
struct cgs_registry;
struct cgs_fwd;

/* ---- a small chained hash map: 64-bit key -> pointer, duplicates allowed ---- */
struct lg_hnode {
	uint64_t key;
	void *val;
	struct lg_hnode *next;
};
struct lg_map {
	struct lg_hnode **b;
	size_t nb, n;
};
int lg_map_put(struct lg_map *m, uint64_t key, void *val);
/* Removes the (key, val) pair; true if it was there. */
bool lg_map_del(struct lg_map *m, uint64_t key, void *val);
/* Iterates the values of `key`: start with *it = NULL. */
void *lg_map_next(const struct lg_map *m, uint64_t key, struct lg_hnode **it);
void lg_map_free(struct lg_map *m);
uint64_t lg_hash_str(const char *s);

/* ---- what we know about a file's container ---- */
struct lg_meta {
	char *namespace_name, *pod_name, *pod_id, *container_name, *container_id, *image, *name, *runtime;
	bool in_registry; /* found in the container registry (else: what the path says) */
};

/* What a log path says; all fields "" when unknown. */
struct cgs_logpath {
	char namespace_name[256], pod_name[256], pod_id[64], container_name[256], container_id[65];
	enum cgs_log_format format; /* the layout's format (Docker json-file, or CRI), UNKNOWN if none */
};
/* Recognises the Kubernetes, Docker and Podman/CRI-O layouts. Pure; never fails. */
void cgs_logs_parse_path(const char *path, struct cgs_logpath *out);
/*
 * Renders the tag template ({namespace} {pod} {container} {container_id}
 * {name} {runtime} {stream}; empty values become "_") into out. 0, or
 * -ENAMETOOLONG (truncated).
 */
int cgs_logs_render_tag(const char *tmpl, const struct lg_meta *m, const char *stream, char *out, size_t outlen);
/*
 * One line of the agent's events file (a JSON object, agent/events.h) as a
 * Forward entry appended to `out`: [EventTime (the event's "time", else
 * now_ns), {every field of the event, "kubernetes": {the map of log
 * records, from the event's container fields; host: `host`}}], and its tag:
 * `tmpl` rendered with the event's container ({stream} is "event").
 * 0, -EBADMSG when the line is not a JSON object (out unchanged), -ENOMEM.
 */
int cgs_logs_event_entry(const char *line, size_t len, const char *tmpl, const char *host, int64_t now_ns,
			 struct cgs_buf *out, char *tag, size_t taglen);

/* ---- position entries: one per file identity with state to keep ---- */
struct lg_range;
struct lg_file;

struct lg_pos {
	struct cgs_logid id;
	uint64_t committed;   /* every byte before was acknowledged */
	uint64_t skip;        /* at start-up: reading may begin here (spooled ranges cover [committed, skip)) */
	uint64_t size;        /* last size seen */
	char *path;
	struct lg_file *file; /* the open file holding this content, or NULL */
	struct lg_range *head, *tail; /* outstanding ranges, ordered by (start, seq) */
	uint64_t mark;        /* scratch for passes over chunks */
	bool done;            /* a rotated file read to its end: kept (in the store too) while the file
				 exists, so a restart neither reads it again nor mistakes it for one never seen */
	struct lg_pos *prev, *next;
};

/* A byte range of one file carried by one chunk. */
struct lg_chunk;
struct lg_range {
	struct lg_pos *pos;
	struct lg_chunk *chunk;
	struct lg_file *file; /* the file still appending to it, else NULL */
	uint64_t start, end, seq;
	bool acked;
	struct lg_range *pnext; /* in pos's list */
};

enum lg_chunk_state {
	LG_CHUNK_OPEN,     /* receiving records */
	LG_CHUNK_QUEUED,   /* sealed, waiting to be sent */
	LG_CHUNK_SENDING,  /* partly written */
	LG_CHUNK_INFLIGHT, /* written, waiting for its ack */
};

struct lg_chunk {
	uint64_t seq;
	char id[CGS_FWD_CHUNK_ID_LEN + 1];
	char *tag;
	uint32_t records;
	struct cgs_buf data;  /* entries (gzip'ed once sealed, when configured); p NULL when only spooled */
	uint64_t len;         /* payload bytes, also while only in the spool */
	size_t mem;           /* bytes counted against the memory budget */
	bool gzip;
	bool spooled;         /* a spool file holds it */
	bool qmem;            /* counted in lg->queued_mem (queued, data in memory) */
	uint64_t spool_bytes;
	enum lg_chunk_state state;
	uint32_t attempts;    /* times written */
	uint64_t created_ns, deadline_ns;
	struct lg_range **r;
	uint32_t nr, rcap;
	struct lg_chunk *prev, *next;
};

struct lg_clist {
	struct lg_chunk *head, *tail;
	size_t n;
};

/* Cumulative per-container counters (container_log_*), shared by the container's files. */
struct lg_cstat {
	char id[65];
	uint64_t records[2];
	uint64_t lag;
	unsigned refs;
};

/* A partial line being joined (per stream). */
struct lg_join {
	char *buf;
	size_t len, cap;
	uint64_t start;    /* file offset of its first unshipped piece */
	int64_t time_ns;
	bool active;
	bool split;        /* pieces of it were shipped already */
	bool malformed;
};

struct lg_file {
	int fd, wd;
	char *path;            /* the followed name (a log_paths match), or the rotated file's name */
	char *real;            /* what it resolved to when opened */
	struct cgs_logid id;
	struct lg_pos *pos;
	uint64_t read_off;     /* next byte to read */
	uint64_t emit_off;     /* bytes before belong to shipped records (or carried none) */
	uint64_t range_end;    /* end of the last range given to a chunk */
	uint64_t size;         /* last size seen */
	enum cgs_log_format fmt, fmt_hint;
	struct lg_join join[2];
	bool long_line;        /* inside a line longer than log_max_line_bytes */
	bool long_malformed;
	int long_stream;
	int64_t long_time;
	struct lg_range *cur_range;
	bool rotated;          /* its path leads elsewhere now, or it was deleted: drain, then close */
	bool eof;
	bool ready;            /* in the ready list */
	bool followed;         /* in the by-path map */
	bool closing;          /* being flushed before close: no truncation handling */
	bool check_id;         /* it waited for its predecessor: check its first bytes before reading */
	bool events;           /* the agent's events file (or a rotation of it): JSON events, not logs */
	uint64_t meta_wait_ns; /* not read before this while its container is not in the registry yet */
	uint64_t data_ns;      /* last read that returned data (or open/rotation) */
	struct lg_meta meta;
	char *meta_pack;       /* the "kubernetes" map, msgpack */
	size_t meta_pack_len;
	char *tag[2];          /* stdout, stderr (may be the same string) */
	bool tag_shared;
	struct lg_cstat *cstat;
	struct lg_file *pred, *succ;  /* the rotated file a followed path had before, and back */
	struct lg_file *prev, *next;  /* all files */
	struct lg_file *ready_prev, *ready_next;
};

/* A watched directory on the way to log_paths matches. */
struct lg_dir {
	int wd;
	char *path;
	uint64_t gen;  /* scan generation that last walked it */
};

/* Counters for the self metrics. */
struct lg_stats {
	uint64_t read_records, read_bytes, sent_records, sent_bytes, acked_records, retried_records;
	uint64_t dropped_deleted, dropped_unreadable, dropped_spool, dropped_truncated, dropped_nomem;
	uint64_t flagged_malformed, flagged_split;
	uint64_t rotations_rename, rotations_truncate;
	uint64_t errors_connect, errors_handshake, errors_timeout, errors_closed, errors_protocol;
	uint64_t errors_unknown_ack; /* acks naming no chunk in flight (ignored) */
	uint64_t rejected_links;
	double backpressure_s;
	uint64_t files_waiting;
};

/*
 * A write to disk that fails (disk full, read-only, I/O error) fails again
 * at every attempt: it is logged when it starts failing (or fails with
 * another error) and when it works again, not at each attempt.
 */
struct lg_diskerr {
	uint64_t total;    /* failed attempts, for the metrics */
	uint64_t in_row;   /* since the last success */
	int err;           /* the last one's -errno */
};

#define LG_MAX_PATTERNS 64
/* How long a new file's reading waits for its container to reach the registry. */
#define LG_META_WAIT_NS 500000000ull

/* epoll tags of the pipeline's own event loop */
enum {
	LG_TAG_INOTIFY = 1,
	LG_TAG_KICK,
	LG_TAG_TICK,
	LG_TAG_COMMIT,
	LG_TAG_SOCKET,
	LG_TAG_RESCAN,
	LG_TAG_RETRY,
};

struct lg {
	const struct cgs_config *cfg;
	struct cgs_registry *reg;
	int epfd, ifd, kick_fd, tick_fd, commit_fd, rescan_fd, retry_fd, lock_fd;
	/* discovery */
	char *patterns[LG_MAX_PATTERNS + 1]; /* log_paths, and events_file */
	size_t npatterns;
	/* Where followed files may resolve to: the patterns' literal directories, then log_link_roots. */
	char *roots[2 * LG_MAX_PATTERNS];
	char *roots_real[2 * LG_MAX_PATTERNS]; /* their realpath when last resolved, or NULL */
	size_t nroots;
	struct lg_map rejected;     /* (path, target) pairs refused already: counted and logged once */
	struct lg_map dirs_by_wd, files_by_wd, files_by_path, files_by_ino, pos_by_ino;
	struct lg_file *files;      /* all open files */
	size_t nfiles, nrotated;
	struct lg_file *ready_head, *ready_tail;
	char **reopen;              /* paths waiting for their file to come back after a rotation */
	uint64_t *reopen_until;
	size_t nreopen, reopen_cap;
	bool initial_scan;
	bool had_store;             /* a position file existed at start-up (not a first start) */
	uint64_t scan_gen;
	uint64_t files_waiting_scan; /* log_max_files refusals during the current scan */
	bool no_watch;              /* inotify watches ran out: poll files on ticks */
	uint64_t reg_added, reg_removed; /* registry change detection */
	struct lg_map cstats;
	/* positions */
	struct lg_pos *pos;
	size_t npos;
	bool pos_dirty;
	struct lg_diskerr pos_err, spool_err;
	uint64_t *spool_done;       /* spooled chunks acked: unlinked after the next position write */
	uint64_t *spool_done_bytes;
	size_t nspool_done, spool_done_cap;
	/* chunks */
	struct lg_clist open, queue, inflight;
	struct lg_map open_by_tag;
	struct lg_chunk *sending;
	size_t send_off;            /* bytes of sending's frame written */
	char send_head[CGS_FWD_HEAD_MAX];
	char send_tail[CGS_FWD_TAIL_MAX];
	int send_head_len, send_tail_len;
	uint64_t inflight_bytes;
	uint64_t queued_mem;        /* payload bytes queued (not yet written) and in memory */
	uint64_t last_ack_ns;
	uint64_t seq;
	uint8_t id_prefix[8];
	uint64_t rng;
	uint64_t mark;
	uint64_t range_seq;
	/* budget */
	size_t mem_used;
	uint64_t spool_used;
	bool paused;
	uint64_t paused_since_ns;
	/* forward */
	struct cgs_fwd *fwd;
	int fwd_fd;                 /* registered in epfd */
	uint32_t fwd_events;
	bool fwd_want_out;
	unsigned failures;
	bool retry_armed;
	uint64_t conn_started_ns;
	char hostname[256];
	char node[256];
	/* buffers */
	char *rbuf;
	size_t rbuf_cap;
	char *scratch;              /* Docker unescape target, rbuf_cap bytes */
	struct cgs_buf evbuf;       /* one event's entry */
	struct lg_stats st;
	/* per poll: bytes left to read before yielding to the agent's other work */
	size_t slice_left;
};

/* logs_map.c */
uint64_t lg_now_ns(void);
/* logs.c: asks the event loop for another pass (more to read, memory freed). */
void lg_kick(struct lg *lg);

/* logs_meta.c */
void lg_meta_resolve(struct lg *lg, struct lg_file *f);
void lg_meta_clear(struct lg_meta *m);
/* Containers that reached the registry after their log file was opened: their metadata now (cheap when nothing changed). */
void lg_meta_refresh(struct lg *lg);
/* Gives `dst` (a rotated file found at start-up) the metadata of `src` (what follows it at its old path). */
void lg_meta_inherit(struct lg *lg, struct lg_file *dst, const struct lg_file *src);
/* Resolves f's metadata as if it were at `path` (the followed name its content came from). */
void lg_meta_repath(struct lg *lg, struct lg_file *f, const char *path);
void lg_cstat_put(struct lg *lg, struct lg_cstat *c);
struct lg_cstat *lg_cstat_get(struct lg *lg, const char *id);

/* logs_file.c */
/*
 * Opens `path` (a followed name, or a rotated file when !followed). With
 * `pred` (the rotated file the path had before), the new file is read only
 * once `pred` was read to its end, so a path's records stay in order across
 * a rotation. 0, -EEXIST (inode tracked already), -EMFILE (log_max_files),
 * -EXDEV (it resolves outside the allowed roots, see lg_watch_allowed:
 * counted in rejected_links and logged, once per path and target), -errno.
 */
int lg_file_open(struct lg *lg, const char *path, bool followed, struct lg_file *pred, struct lg_file **out);
/*
 * Whether `f` must wait: for its predecessor (see lg_file_open), or, for a
 * moment after it appeared, for its container to reach the registry (so
 * that its first records carry the container's names too).
 */
bool lg_file_waits(struct lg_file *f);
/* After a read: a file that reached its end lets its successor go. */
void lg_file_after_read(struct lg *lg, struct lg_file *f);
/* Reads at most one buffer of new data and ships its records. Bytes consumed, or -errno. */
long lg_file_read(struct lg *lg, struct lg_file *f);
/* Flushes what is pending (joins, an unterminated last line), closes, frees. */
void lg_file_close(struct lg *lg, struct lg_file *f, bool flush);
void lg_file_mark_ready(struct lg *lg, struct lg_file *f);
/* Takes the first file of the ready list, or NULL. */
struct lg_file *lg_file_pop_ready(struct lg *lg);
/* The file's content was moved away (rename rotation, deletion): drain it, then close. */
void lg_file_set_rotated(struct lg *lg, struct lg_file *f);
/*
 * A file opened short (or empty) has a fingerprint of fewer bytes: it grows
 * with the file (at reads, and at writes seen while it waits for its turn),
 * so a truncation is recognised even before it was read.
 */
void lg_file_grow_id(struct lg_file *f);
/* FNV-1a of the first `want` (<= CGS_LOGID_FP_MAX) bytes of fd; *got: how many there were. 0 or -errno. */
int lg_file_fingerprint(int fd, uint32_t want, uint32_t *got, uint64_t *fp);
/* Checks the first bytes still match the identity (copytruncate that regrew). */
void lg_file_check_identity(struct lg *lg, struct lg_file *f);
struct lg_file *lg_file_by_ino(struct lg *lg, uint64_t dev, uint64_t ino);
/* Position entries. */
struct lg_pos *lg_pos_new(struct lg *lg, const struct cgs_logid *id, const char *path);
void lg_pos_free(struct lg *lg, struct lg_pos *p);
/* The entry for an open file's content (matching the fingerprint against the file), or NULL. */
struct lg_pos *lg_pos_match(struct lg *lg, int fd, uint64_t dev, uint64_t ino);
void lg_pos_rehash(struct lg *lg, struct lg_pos *p, uint64_t dev, uint64_t ino);
/* The entry of exactly this identity, or NULL. */
struct lg_pos *lg_pos_find(struct lg *lg, const struct cgs_logid *id);
/* Frees a position entry that holds nothing any more (no file, no ranges, not done). */
void lg_pos_maybe_free(struct lg *lg, struct lg_pos *p);
/* Drops done entries whose file is gone (rescans). */
void lg_pos_prune(struct lg *lg);

/* logs_watch.c */
int lg_watch_init(struct lg *lg);
/* Walks every pattern: watches directories, follows new matches, notices missed rotations. */
void lg_watch_rescan(struct lg *lg);
/* Handles the inotify fd. */
void lg_watch_events(struct lg *lg);
/* Retries paths waiting to come back after a rotation; closes drained rotated files. */
void lg_watch_tick(struct lg *lg, uint64_t now);
/* Follows `path` if it is a regular file not yet followed. */
void lg_watch_follow(struct lg *lg, const char *path);
/* Whether `real` (a resolved file path) lies inside the log_paths directories or log_link_roots. */
bool lg_watch_allowed(struct lg *lg, const char *real);
void lg_watch_reopen_later(struct lg *lg, const char *path);
void lg_watch_free(struct lg *lg);

/* logs_recover.c */
/*
 * After the first scan of a restart: finds the recorded files the scan did
 * not meet (rotated while we were away, or gone), the rotated files of the
 * followed paths never seen at all, and orders them before the files now at
 * those paths.
 */
void lg_recover(struct lg *lg);
/*
 * The rotated siblings of followed file `f` ("<name>.*" next to it) that no
 * entry knows (rotated away before we could open them, e.g. several
 * rotations in a row while we were busy) are opened, and all of f's rotated
 * siblings are chained oldest first before `f`.
 */
void lg_recover_siblings(struct lg *lg, struct lg_file *f);

/* logs_event.c */
/* Whether `path` is events_file or a rotation of it ("<events_file>.<n>"). */
bool lg_is_events_path(const struct lg *lg, const char *path);
/* One line of an events file into lg->evbuf (its entry) and `tag`; -EBADMSG when it is not an event. */
int lg_event_encode(struct lg *lg, const char *line, size_t len, char *tag, size_t taglen);

/* logs_ship.c */
/* Ships one record of `f`: encodes it into its tag's open chunk and extends the file's range. */
void lg_ship_record(struct lg *lg, struct lg_file *f, int64_t time_ns, int stream, const char *msg, size_t len,
		    unsigned flags);
/* The same with an entry already encoded (cgs_logs_event_entry) and its own tag. */
void lg_ship_packed(struct lg *lg, struct lg_file *f, const char *tag, const char *entry, size_t len);
/* The file goes away: its open chunks' ranges no longer point at it. */
void lg_ship_detach_file(struct lg *lg, struct lg_file *f);
/* Seals open chunks older than the flush interval (all of them with `all`). */
void lg_ship_flush(struct lg *lg, bool all, uint64_t now);
/* Writes queued chunks while the connection and the window allow. */
void lg_ship_pump(struct lg *lg);
/* Socket readiness, timeouts and reconnection. */
void lg_ship_socket(struct lg *lg, uint32_t events);
void lg_ship_tick(struct lg *lg, uint64_t now);
void lg_ship_retry(struct lg *lg);
/*
 * At shutdown: seals the open chunks, sends what is queued on the
 * connection that is up and waits for the acks, at most `ms`, so that the
 * final commit covers them. No connection is made and no file read: what
 * is left is read again at the next start.
 */
void lg_ship_drain(struct lg *lg, uint64_t ms);
/* Whether reading may go on: relieves the budget (seal, spool) first. */
bool lg_ship_may_read(struct lg *lg);
/* Loads the spool directory at start-up (before files are opened). */
int lg_ship_load_spool(struct lg *lg);
/* Writes the position store if anything changed; unlinks acked spool files. 0 or -errno. */
int lg_ship_commit(struct lg *lg);
int lg_ship_init(struct lg *lg, const char *shared_key, size_t key_len);
void lg_ship_free(struct lg *lg);

#endif
