/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Records to Fluentd, at least once. Records go into an open chunk per tag;
 * a chunk is sealed when it reaches log_chunk_bytes or log_flush_interval,
 * then queued, written as one PackedForward frame with a `chunk` option
 * (sequence numbers are given at sealing, so the queue is in sending
 * order), and kept until its ack. An ack marks the chunk's file ranges
 * acknowledged; a file's committed offset moves over the acknowledged
 * prefix of its ranges and reaches the position store at the next commit.
 *
 * A broken connection or an ack that does not come within
 * fluentd_ack_timeout puts every chunk in flight back at the head of the
 * queue (same chunk ids) and reconnects after an exponential backoff with
 * jitter. Memory is bounded: past log_buffer_bytes, sealed chunks go to
 * the spool directory (a chunk only after every earlier range of its files
 * is acknowledged or spooled too, so that a restart may skip spooled
 * ranges safely); past log_spool_bytes as well, reading pauses until acks
 * free room. Nothing is dropped for lack of room.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../agent/config.h"
#include "../agent/log.h"
#include "../exporters/forward.h"
#include "logs.h"

#define LOG_COMP "collector:logs"
#define CONNECT_TIMEOUT_NS 10000000000ull
#define CHUNK_INITIAL_CAP 512
#define TAG_SOCKET_EVENTS_IN (EPOLLIN | EPOLLRDHUP)

/* ---- chunk lists ---- */

static void cl_push_tail(struct lg_clist *l, struct lg_chunk *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

static void cl_push_head(struct lg_clist *l, struct lg_chunk *c)
{
	c->prev = NULL;
	c->next = l->head;
	if (l->head)
		l->head->prev = c;
	else
		l->tail = c;
	l->head = c;
	l->n++;
}

static void cl_remove(struct lg_clist *l, struct lg_chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

/* Queued payload in memory: what reading may run ahead of sending by. */
static void q_add(struct lg *lg, struct lg_chunk *c)
{
	if (!c->qmem && c->data.p) {
		c->qmem = true;
		lg->queued_mem += c->len;
	}
}

static void q_del(struct lg *lg, struct lg_chunk *c)
{
	if (c->qmem) {
		c->qmem = false;
		lg->queued_mem -= c->len;
	}
}

static uint64_t rnd(struct lg *lg)
{
	/* xorshift64*: jitter only, not security */
	lg->rng ^= lg->rng >> 12;
	lg->rng ^= lg->rng << 25;
	lg->rng ^= lg->rng >> 27;
	return lg->rng * 0x2545f4914f6cdd1dull;
}

static void set_id(struct lg *lg, struct lg_chunk *c)
{
	uint8_t raw[16];

	memcpy(raw, lg->id_prefix, 8);
	for (int i = 0; i < 8; i++)
		raw[8 + i] = (uint8_t)(c->seq >> (56 - 8 * i));
	cgs_fwd_chunk_id(raw, c->id);
}

/* ---- chunks ---- */

static struct lg_chunk *chunk_new(struct lg *lg, const char *tag)
{
	struct lg_chunk *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->tag = strdup(tag);
	c->data.p = malloc(CHUNK_INITIAL_CAP);
	if (!c->tag || !c->data.p || lg_map_put(&lg->open_by_tag, lg_hash_str(tag), c) < 0) {
		free(c->tag);
		free(c->data.p);
		free(c);
		return NULL;
	}
	c->data.cap = CHUNK_INITIAL_CAP;
	c->mem = CHUNK_INITIAL_CAP;
	lg->mem_used += c->mem;
	c->created_ns = lg_now_ns();
	c->state = LG_CHUNK_OPEN;
	cl_push_tail(&lg->open, c);
	return c;
}

static void chunk_free(struct lg *lg, struct lg_chunk *c)
{
	lg->mem_used -= c->mem;
	cgs_buf_free(&c->data);
	free(c->r);
	free(c->tag);
	free(c);
}

static void chunk_release_data(struct lg *lg, struct lg_chunk *c)
{
	lg->mem_used -= c->mem;
	c->mem = 0;
	cgs_buf_free(&c->data);
}

static struct lg_chunk *open_chunk(struct lg *lg, const char *tag)
{
	struct lg_hnode *it = NULL;
	struct lg_chunk *c;

	while ((c = lg_map_next(&lg->open_by_tag, lg_hash_str(tag), &it)))
		if (!strcmp(c->tag, tag))
			return c;
	return chunk_new(lg, tag);
}

static struct lg_range *range_new(struct lg *lg, struct lg_pos *p, struct lg_chunk *c, struct lg_file *f,
				  uint64_t start, uint64_t end)
{
	struct lg_range *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (c->nr == c->rcap) {
		uint32_t nc = c->rcap ? c->rcap * 2 : 4;
		struct lg_range **nr = realloc(c->r, nc * sizeof(*nr));

		if (!nr) {
			free(r);
			return NULL;
		}
		c->r = nr;
		c->rcap = nc;
	}
	c->r[c->nr++] = r;
	r->pos = p;
	r->chunk = c;
	r->file = f;
	r->start = start;
	r->end = end;
	r->seq = ++lg->range_seq;
	/* Ordered by (start, seq); ranges nearly always arrive in order: try the tail first. */
	if (!p->tail || p->tail->start <= start) {
		if (p->tail)
			p->tail->pnext = r;
		else
			p->head = r;
		p->tail = r;
	} else {
		struct lg_range **pp = &p->head;

		while (*pp && (*pp)->start <= start)
			pp = &(*pp)->pnext;
		r->pnext = *pp;
		*pp = r;
	}
	return r;
}

static void seal(struct lg *lg, struct lg_chunk *c)
{
	lg_map_del(&lg->open_by_tag, lg_hash_str(c->tag), c);
	cl_remove(&lg->open, c);
	for (uint32_t i = 0; i < c->nr; i++)
		if (c->r[i]->file && c->r[i]->file->cur_range == c->r[i])
			c->r[i]->file->cur_range = NULL;
	if (lg->cfg->fluentd_compress) {
		struct cgs_buf z;

		cgs_buf_init(&z);
		if (cgs_fwd_gzip(c->data.p, c->data.len, 1, &z) == 0) {
			cgs_buf_free(&c->data);
			c->data = z;
			c->gzip = true;
		} else {
			cgs_buf_free(&z); /* sent uncompressed */
		}
	} else if (c->data.cap - c->data.len > c->data.len / 4 + 256) {
		/* Small chunks are many with many tags: give back what the doubling reserved. */
		char *np = realloc(c->data.p, c->data.len + 1);

		if (np) {
			c->data.p = np;
			c->data.cap = c->data.len + 1;
		}
	}
	lg->mem_used -= c->mem;
	c->mem = c->data.cap;
	lg->mem_used += c->mem;
	c->len = c->data.len;
	c->seq = ++lg->seq;
	set_id(lg, c);
	c->state = LG_CHUNK_QUEUED;
	cl_push_tail(&lg->queue, c);
	q_add(lg, c);
}

/* The open chunk of `tag` for f's next record: the one f's last record went to when the tag is the same. */
static struct lg_chunk *record_chunk(struct lg *lg, struct lg_file *f, const char *tag)
{
	if (f->cur_range && f->cur_range->chunk && f->cur_range->chunk->state == LG_CHUNK_OPEN &&
	    !strcmp(f->cur_range->chunk->tag, tag))
		return f->cur_range->chunk;
	return open_chunk(lg, tag);
}

/* A record of f was appended to c (whose buffer had `old` bytes of capacity): budget, f's range, sealing. */
static void record_added(struct lg *lg, struct lg_file *f, struct lg_chunk *c, size_t old)
{
	lg->mem_used += c->data.cap - old;
	c->mem = c->data.cap;
	c->records++;
	if (f->cur_range && f->cur_range->chunk == c) {
		f->cur_range->end = f->emit_off;
	} else {
		struct lg_range *rg = range_new(lg, f->pos, c, f, f->range_end, f->emit_off);

		if (rg)
			f->cur_range = rg;
	}
	f->range_end = f->emit_off;
	if (c->data.len >= lg->cfg->log_chunk_bytes)
		seal(lg, c);
}

void lg_ship_record(struct lg *lg, struct lg_file *f, int64_t time_ns, int stream, const char *msg, size_t len,
		    unsigned flags)
{
	const char *tag = f->tag[stream == CGS_LOG_STDERR];
	struct lg_chunk *c;
	size_t old, old_len;

	if (!tag)
		tag = "kube._._._";
	c = record_chunk(lg, f, tag);
	/*
	 * Out of memory: the record is lost (its bytes will be committed with
	 * the next record's range), so it is counted, not only logged.
	 */
	if (!c) {
		lg->st.dropped_nomem += len;
		cgs_log_ratelimited(CGS_LOG_ERROR, LOG_COMP, "out of memory: a record of %s is not shipped", f->path);
		return;
	}
	struct cgs_fwd_record r = {
		.time_ns = time_ns,
		.log = msg,
		.log_len = len,
		.stream = cgs_log_stream_name((enum cgs_log_stream)stream),
		.meta = f->meta_pack,
		.meta_len = f->meta_pack_len,
		.flags = flags,
	};

	old = c->data.cap;
	old_len = c->data.len;
	cgs_fwd_pack_entry(&c->data, &r);
	if (c->data.err) {
		/* The pieces of the entry packed before the failure would corrupt the frame: cut them off. */
		c->data.len = old_len;
		c->data.err = 0;
		lg->mem_used += c->data.cap - old;
		c->mem = c->data.cap;
		lg->st.dropped_nomem += len;
		cgs_log_ratelimited(CGS_LOG_ERROR, LOG_COMP, "out of memory: a record of %s is not shipped", f->path);
		return;
	}
	record_added(lg, f, c, old);
}

void lg_ship_packed(struct lg *lg, struct lg_file *f, const char *tag, const char *entry, size_t len)
{
	struct lg_chunk *c = record_chunk(lg, f, tag);
	size_t old, old_len;

	if (c) {
		old = c->data.cap;
		old_len = c->data.len;
		cgs_buf_append(&c->data, entry, len);
		if (!c->data.err) {
			record_added(lg, f, c, old);
			return;
		}
		/* As in lg_ship_record: nothing partial stays in the frame, the loss is counted. */
		c->data.len = old_len;
		c->data.err = 0;
		lg->mem_used += c->data.cap - old;
		c->mem = c->data.cap;
	}
	lg->st.dropped_nomem += len;
	cgs_log_ratelimited(CGS_LOG_ERROR, LOG_COMP, "out of memory: a record of %s is not shipped", f->path);
}

void lg_ship_detach_file(struct lg *lg, struct lg_file *f)
{
	(void)lg;
	if (f->pos)
		for (struct lg_range *r = f->pos->head; r; r = r->pnext)
			if (r->file == f)
				r->file = NULL;
	f->cur_range = NULL;
}

void lg_ship_flush(struct lg *lg, bool all, uint64_t now)
{
	uint64_t age = lg->cfg->log_flush_interval_ms * 1000000ull;

	while (lg->open.head && (all || now - lg->open.head->created_ns >= age))
		seal(lg, lg->open.head);
}

/* ---- acks and commits ---- */

static void pos_advance(struct lg *lg, struct lg_pos *p)
{
	while (p->head && p->head->acked) {
		struct lg_range *r = p->head;

		if (r->end > p->committed)
			p->committed = r->end;
		p->head = r->pnext;
		if (!p->head)
			p->tail = NULL;
		if (r->file && r->file->cur_range == r)
			r->file->cur_range = NULL;
		free(r);
		lg->pos_dirty = true;
	}
	lg_pos_maybe_free(lg, p);
}

static void spool_done_add(struct lg *lg, uint64_t seq, uint64_t bytes)
{
	if (lg->nspool_done == lg->spool_done_cap) {
		size_t nc = lg->spool_done_cap ? lg->spool_done_cap * 2 : 16;
		uint64_t *a = realloc(lg->spool_done, nc * sizeof(*a)), *b;

		if (!a)
			return;
		lg->spool_done = a;
		b = realloc(lg->spool_done_bytes, nc * sizeof(*b));
		if (!b)
			return;
		lg->spool_done_bytes = b;
		lg->spool_done_cap = nc;
	}
	lg->spool_done[lg->nspool_done] = seq;
	lg->spool_done_bytes[lg->nspool_done++] = bytes;
}

/* The chunk's records are safe at Fluentd (or lost for good, `counted` false): release its ranges. */
static void chunk_done(struct lg *lg, struct lg_chunk *c, bool counted)
{
	struct lg_pos **ps;
	uint32_t np = 0;

	if (c->state == LG_CHUNK_INFLIGHT) {
		cl_remove(&lg->inflight, c);
		lg->inflight_bytes -= c->len;
	} else if (c->state == LG_CHUNK_QUEUED) {
		cl_remove(&lg->queue, c);
		q_del(lg, c);
	}
	if (counted)
		lg->st.acked_records += c->records;
	/* Distinct position entries first: advancing one may free its ranges (and itself). */
	ps = malloc((c->nr ? c->nr : 1) * sizeof(*ps));
	lg->mark++;
	for (uint32_t i = 0; i < c->nr; i++) {
		struct lg_range *r = c->r[i];

		r->acked = true;
		r->chunk = NULL;
		if (ps && r->pos->mark != lg->mark) {
			r->pos->mark = lg->mark;
			ps[np++] = r->pos;
		}
	}
	for (uint32_t i = 0; i < np; i++)
		pos_advance(lg, ps[i]);
	free(ps);
	if (c->spooled)
		spool_done_add(lg, c->seq, c->spool_bytes);
	chunk_free(lg, c);
	if (lg->ready_head)
		lg_kick(lg);
}

static void on_ack(void *arg, const char *id, size_t len)
{
	struct lg *lg = arg;
	uint8_t raw[16];
	uint64_t seq = 0;

	if (cgs_fwd_chunk_id_parse(id, len, raw) == 0 && !memcmp(raw, lg->id_prefix, 8)) {
		for (int i = 0; i < 8; i++)
			seq = (seq << 8) | raw[8 + i];
		for (struct lg_chunk *c = lg->inflight.head; c; c = c->next) {
			if (c->seq == seq) {
				chunk_done(lg, c, true);
				lg->failures = 0;
				lg->last_ack_ns = lg_now_ns();
				return;
			}
		}
	}
	/*
	 * Not an id we have in flight on this connection (another agent's, a
	 * sequence never sent, not an id at all): a confused or buggy server.
	 * Taking it for any chunk could commit data Fluentd never stored, so
	 * it is only counted; the chunks it might have meant are resent after
	 * fluentd_ack_timeout.
	 */
	lg->st.errors_unknown_ack++;
	cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "fluentd at %s acknowledged a chunk id that is not in flight: ignored",
			    lg->cfg->fluentd_address);
}

/* Logs a failing disk write once when it starts failing and once when it works again (see struct lg_diskerr). */
static void disk_result(struct lg_diskerr *d, int e, const char *what, const char *path, const char *meanwhile)
{
	if (e < 0) {
		d->total++;
		if (!d->in_row++ || e != d->err)
			cgs_log_error(LOG_COMP, "cannot write %s %s: %s; %s (retried without logging each attempt)",
				      what, path, strerror(-e), meanwhile);
		d->err = e;
		return;
	}
	if (d->in_row)
		cgs_log_info(LOG_COMP, "%s %s written again, after %llu failed attempts", what, path,
			     (unsigned long long)d->in_row);
	d->in_row = 0;
	d->err = 0;
}

static void spool_status(struct lg *lg, int e)
{
	disk_result(&lg->spool_err, e, "spool files in", lg->cfg->log_spool_dir,
		    "chunks stay in memory, reading pauses when it is full");
}

int lg_ship_commit(struct lg *lg)
{
	char path[PATH_MAX];

	if (lg->pos_dirty) {
		struct cgs_buf b;
		int r;

		cgs_buf_init(&b);
		cgs_buf_puts(&b, CGS_LOGPOS_HEADER);
		for (struct lg_pos *p = lg->pos; p; p = p->next) {
			struct cgs_logpos_entry e = {
				.id = p->id, .offset = p->committed, .size = p->size, .path = p->path,
			};

			if (p->committed)
				cgs_logpos_format(&b, &e);
		}
		r = b.err ? b.err : cgs_write_atomic(lg->cfg->log_position_file, b.p, b.len);
		cgs_buf_free(&b);
		/*
		 * On failure the offsets stay in memory (pos_dirty), the next
		 * commit tries again, and acknowledged spool files are kept:
		 * a crash meanwhile only means records sent again.
		 */
		disk_result(&lg->pos_err, r, "the position file", lg->cfg->log_position_file,
			    "offsets are not committed until it works");
		if (r < 0)
			return r;
		lg->pos_dirty = false;
	}
	/* Acked spooled chunks go only now that the positions covering them are on disk. */
	for (size_t i = 0; i < lg->nspool_done; i++) {
		cgs_spool_name(lg->cfg->log_spool_dir, lg->spool_done[i], path, sizeof(path));
		unlink(path);
		lg->spool_used -= lg->spool_done_bytes[i] < lg->spool_used ? lg->spool_done_bytes[i] : lg->spool_used;
	}
	lg->nspool_done = 0;
	return 0;
}

/* ---- the spool ---- */

/* Whether every range before c's, in each of its files, is acknowledged or spooled. */
static bool spool_eligible(const struct lg_chunk *c)
{
	for (uint32_t i = 0; i < c->nr; i++) {
		const struct lg_range *mine = c->r[i];

		for (const struct lg_range *q = mine->pos->head; q && q != mine; q = q->pnext)
			if (!q->acked && q->chunk && q->chunk != c && !q->chunk->spooled)
				return false;
	}
	return true;
}

static int spool_chunk(struct lg *lg, struct lg_chunk *c)
{
	struct cgs_spool_hdr h = { .seq = c->seq, .records = c->records, .gzip = c->gzip, .nranges = c->nr,
				   .payload_len = c->len };
	struct cgs_spool_range *r = calloc(c->nr ? c->nr : 1, sizeof(*r));
	long long n;

	if (!r)
		return -ENOMEM;
	snprintf(h.tag, sizeof(h.tag), "%s", c->tag);
	for (uint32_t i = 0; i < c->nr; i++) {
		r[i].id = c->r[i]->pos->id;
		r[i].start = c->r[i]->start;
		r[i].end = c->r[i]->end;
	}
	n = cgs_spool_write(lg->cfg->log_spool_dir, &h, r, c->data.p);
	free(r);
	if (n < 0)
		return (int)n;
	c->spooled = true;
	c->spool_bytes = (uint64_t)n;
	lg->spool_used += (uint64_t)n;
	return 0;
}

/* Moves chunks to disk until memory is back under 3/4 of the budget (or the spool is full). */
static void spool_relieve(struct lg *lg)
{
	size_t target = lg->cfg->log_buffer_bytes / 4 * 3;
	struct lg_clist *lists[2] = { &lg->inflight, &lg->queue };
	bool full = false;

	if (!lg->cfg->log_spool_dir[0] || !lg->cfg->log_spool_bytes)
		return;
	for (int l = 0; l < 2; l++) {
		for (struct lg_chunk *c = lists[l]->head; c && lg->mem_used > target; c = c->next) {
			if (!c->data.p)
				continue;
			if (!c->spooled) {
				if (full || lg->spool_used + c->len + 4096 > lg->cfg->log_spool_bytes) {
					full = true;
					continue;
				}
				if (!spool_eligible(c))
					continue;
				int e = spool_chunk(lg, c);

				spool_status(lg, e);
				if (e < 0) {
					full = true;
					continue;
				}
			}
			/*
			 * Also a chunk spooled while it was in flight and queued
			 * again when its connection failed: the spool holds it,
			 * its copy in memory goes (it was kept over the budget).
			 */
			if (c->state == LG_CHUNK_QUEUED) {
				q_del(lg, c);
				chunk_release_data(lg, c);
			}
		}
	}
}

/*
 * Fluentd is not taking data: a connection failed and none is up again, or
 * nothing was acknowledged for a second while chunks wait for acks. Only
 * then is the spool worth its disk writes; a Fluentd that merely takes data
 * slower than we read (or a first connection still being made) paces the
 * reading instead (the files themselves hold what was not read).
 */
static bool stalled(struct lg *lg, uint64_t now)
{
	uint64_t sent;

	if (cgs_fwd_state(lg->fwd) != CGS_FWD_READY)
		return lg->failures > 0;
	if (!lg->inflight.head)
		return false;
	sent = lg->inflight.head->deadline_ns - lg->cfg->fluentd_ack_timeout_ms * 1000000ull;
	return now - lg->last_ack_ns > 1000000000ull && now > sent && now - sent > 1000000000ull;
}

bool lg_ship_may_read(struct lg *lg)
{
	uint64_t now;

	/* Connected: read no further ahead of the sender than two windows. */
	if (cgs_fwd_state(lg->fwd) == CGS_FWD_READY && lg->queued_mem >= 2 * lg->cfg->fluentd_window_bytes)
		return false;
	if (lg->mem_used < lg->cfg->log_buffer_bytes)
		goto ok;
	now = lg_now_ns();
	lg_ship_flush(lg, true, now);
	if (stalled(lg, now))
		spool_relieve(lg);
	if (lg->mem_used < lg->cfg->log_buffer_bytes)
		goto ok;
	if (!lg->paused) {
		lg->paused = true;
		lg->paused_since_ns = now;
		cgs_log_ratelimited(CGS_LOG_INFO, LOG_COMP,
				    "log buffer full (%zu bytes in memory, %llu spooled): reading paused until Fluentd acknowledges",
				    lg->mem_used, (unsigned long long)lg->spool_used);
	}
	return false;
ok:
	if (lg->paused) {
		lg->st.backpressure_s += (double)(lg_now_ns() - lg->paused_since_ns) / 1e9;
		lg->paused = false;
	}
	return true;
}

/* A spooled chunk back in memory for sending. 0, or -EBADMSG when its file is gone or corrupt. */
static int load_spooled(struct lg *lg, struct lg_chunk *c)
{
	struct cgs_spool_hdr h;
	struct cgs_spool_range *r = NULL;
	char path[PATH_MAX];
	int e;

	cgs_spool_name(lg->cfg->log_spool_dir, c->seq, path, sizeof(path));
	cgs_buf_init(&c->data);
	/*
	 * Room for exactly the payload: cgs_buf_reserve would round it up to
	 * a power of two, and chunks loaded to be sent (the window, counted
	 * in payload bytes) would hold up to twice that in memory.
	 */
	c->data.p = malloc(c->len + 1);
	if (c->data.p)
		c->data.cap = c->len + 1;
	e = cgs_spool_read(path, &h, &r, &c->data);
	free(r);
	if (e == 0 && h.payload_len == c->len) {
		c->mem = c->data.cap;
		lg->mem_used += c->mem;
		return 0;
	}
	cgs_buf_free(&c->data);
	lg->st.dropped_spool += c->len;
	cgs_log_warn(LOG_COMP, "spooled chunk %s unreadable (%s): %u records lost", path,
		     e ? strerror(-e) : "size mismatch", c->records);
	return -EBADMSG;
}

int lg_ship_load_spool(struct lg *lg)
{
	const char *dir = lg->cfg->log_spool_dir;
	struct dirent **names = NULL;
	int n;

	if (!dir[0])
		return 0;
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t l = strlen(nm);
		char path[PATH_MAX];
		struct cgs_spool_hdr h;
		struct cgs_spool_range *r = NULL;
		struct stat st;
		struct lg_chunk *c;
		bool live = false;

		if (snprintf(path, sizeof(path), "%s/%s", dir, nm) >= (int)sizeof(path))
			goto next;
		if (l > 4 && !strcmp(nm + l - 4, ".tmp")) {
			unlink(path); /* a write that did not finish */
			goto next;
		}
		if (l != 16 + 6 || strcmp(nm + 16, ".chunk") || stat(path, &st) < 0)
			goto next;
		if (cgs_spool_read(path, &h, &r, NULL) < 0) {
			lg->st.dropped_spool += (uint64_t)st.st_size;
			cgs_log_warn(LOG_COMP, "spool file %s is corrupt: removed", path);
			unlink(path);
			goto next;
		}
		/* Skip chunks every range of which is committed already (acked before a crash). */
		for (uint32_t k = 0; k < h.nranges && !live; k++) {
			struct lg_pos *p = lg_pos_find(lg, &r[k].id);

			live = !p || p->committed < r[k].end;
		}
		if (!live) {
			unlink(path);
			goto next;
		}
		c = calloc(1, sizeof(*c));
		if (!c || !(c->tag = strdup(h.tag))) {
			free(c);
			free(r);
			free(names[i]);
			continue;
		}
		c->seq = h.seq;
		if (c->seq > lg->seq)
			lg->seq = c->seq;
		set_id(lg, c);
		c->records = h.records;
		c->len = h.payload_len;
		c->gzip = h.gzip;
		c->spooled = true;
		c->spool_bytes = (uint64_t)st.st_size;
		c->state = LG_CHUNK_QUEUED;
		c->created_ns = lg_now_ns();
		lg->spool_used += c->spool_bytes;
		for (uint32_t k = 0; k < h.nranges; k++) {
			struct lg_pos *p = lg_pos_find(lg, &r[k].id);

			if (!p)
				p = lg_pos_new(lg, &r[k].id, "");
			if (p)
				range_new(lg, p, c, NULL, r[k].start, r[k].end);
		}
		cl_push_tail(&lg->queue, c);
	next:
		free(r);
		free(names[i]);
	}
	free(names);
	/* Where each file may resume: over the spooled ranges that continue its committed offset. */
	for (struct lg_pos *p = lg->pos; p; p = p->next) {
		uint64_t cur = p->committed;

		for (struct lg_range *r = p->head; r && r->start <= cur; r = r->pnext)
			if (r->end > cur)
				cur = r->end;
		p->skip = cur;
	}
	if (lg->queue.n)
		cgs_log_info(LOG_COMP, "%zu spooled chunks (%llu bytes) to send from %s", lg->queue.n,
			     (unsigned long long)lg->spool_used, dir);
	return 0;
}

/* ---- the connection ---- */

static void want_out(struct lg *lg, bool out)
{
	uint32_t ev = TAG_SOCKET_EVENTS_IN | (out ? EPOLLOUT : 0);
	struct epoll_event e = { .events = ev, .data.u64 = LG_TAG_SOCKET };

	if (lg->fwd_fd < 0 || ev == lg->fwd_events)
		return;
	if (epoll_ctl(lg->epfd, EPOLL_CTL_MOD, lg->fwd_fd, &e) == 0)
		lg->fwd_events = ev;
}

/* Registers a new socket (connect, or a resolution that finished). */
static void sync_fd(struct lg *lg)
{
	int fd = cgs_fwd_fd(lg->fwd);
	struct epoll_event e = { .events = TAG_SOCKET_EVENTS_IN | EPOLLOUT, .data.u64 = LG_TAG_SOCKET };

	if (fd < 0 || fd == lg->fwd_fd)
		return;
	if (epoll_ctl(lg->epfd, EPOLL_CTL_ADD, fd, &e) == 0) {
		lg->fwd_fd = fd;
		lg->fwd_events = e.events;
	}
}

static void arm_retry(struct lg *lg)
{
	uint64_t base = lg->cfg->fluentd_retry_wait_ms, max = lg->cfg->fluentd_retry_max_wait_ms, d;
	unsigned shift = lg->failures > 0 ? lg->failures - 1 : 0;

	if (shift > 30)
		shift = 30;
	d = base << shift;
	if (d > max || d >> shift != base)
		d = max;
	/* Half fixed, half random: spreads the reconnections of many agents. */
	d = d / 2 + rnd(lg) % (d / 2 + 1);
	if (d < 1)
		d = 1;
	struct itimerspec its = { .it_value = { (time_t)(d / 1000), (long)(d % 1000) * 1000000L } };

	if (timerfd_settime(lg->retry_fd, 0, &its, NULL) == 0)
		lg->retry_armed = true;
	cgs_log_debug(LOG_COMP, "reconnecting to %s in %llu ms", lg->cfg->fluentd_address, (unsigned long long)d);
}

/* The connection is gone: everything in flight goes back to the head of the queue, in order. */
static void conn_failed(struct lg *lg, const char *reason, int err)
{
	size_t requeued = lg->inflight.n + (lg->sending != NULL);

	if (!strncmp(reason, "connect", 7))
		lg->st.errors_connect++;
	else if (!strncmp(reason, "handshake", 9))
		lg->st.errors_handshake++;
	else if (!strncmp(reason, "ack_timeout", 11))
		lg->st.errors_timeout++;
	else if (!strncmp(reason, "protocol", 8))
		lg->st.errors_protocol++;
	else
		lg->st.errors_closed++;
	cgs_fwd_close(lg->fwd);
	lg->fwd_fd = -1;
	lg->fwd_events = 0;
	if (lg->sending) {
		lg->sending->state = LG_CHUNK_QUEUED;
		cl_push_head(&lg->queue, lg->sending);
		q_add(lg, lg->sending);
		lg->sending = NULL;
	}
	while (lg->inflight.tail) {
		struct lg_chunk *c = lg->inflight.tail;

		cl_remove(&lg->inflight, c);
		c->state = LG_CHUNK_QUEUED;
		cl_push_head(&lg->queue, c);
		q_add(lg, c);
	}
	lg->inflight_bytes = 0;
	lg->failures++;
	if (lg->failures == 1 || cgs_log_level_current >= CGS_LOG_DEBUG)
		cgs_log_warn(LOG_COMP, "fluentd at %s: %s: %s (%zu chunks to resend, %zu queued)",
			     lg->cfg->fluentd_address, reason, strerror(err < 0 ? -err : EIO), requeued, lg->queue.n);
	else
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "fluentd at %s still failing: %s: %s",
				    lg->cfg->fluentd_address, reason, strerror(err < 0 ? -err : EIO));
	arm_retry(lg);
}

static void start_connect(struct lg *lg)
{
	int r = cgs_fwd_connect(lg->fwd);

	lg->conn_started_ns = lg_now_ns();
	if (r < 0) {
		conn_failed(lg, "connect", r);
		return;
	}
	sync_fd(lg);
}

static void became_ready(struct lg *lg)
{
	cgs_log_info(LOG_COMP, "connected to fluentd at %s%s", lg->cfg->fluentd_address,
		     lg->failures ? " again" : "");
}

void lg_ship_pump(struct lg *lg)
{
	bool ack = lg->cfg->fluentd_require_ack;
	enum cgs_fwd_state s;

	if (!lg->queue.head && !lg->sending)
		return;
	s = cgs_fwd_state(lg->fwd);
	if (s == CGS_FWD_DOWN) {
		if (!lg->retry_armed)
			start_connect(lg);
		return;
	}
	if (s != CGS_FWD_READY)
		return;
	for (;;) {
		struct lg_chunk *c = lg->sending;

		if (!c) {
			c = lg->queue.head;
			if (!c)
				break;
			if (ack && lg->inflight.n && lg->inflight_bytes + c->len > lg->cfg->fluentd_window_bytes)
				break;
			if (!c->data.p && load_spooled(lg, c) < 0) {
				chunk_done(lg, c, false);
				continue;
			}
			cl_remove(&lg->queue, c);
			q_del(lg, c);
			c->state = LG_CHUNK_SENDING;
			lg->sending = c;
			lg->send_off = 0;
			lg->send_head_len = cgs_fwd_frame_head(lg->send_head, c->tag, c->len);
			lg->send_tail_len = cgs_fwd_frame_tail(lg->send_tail, c->records, ack ? c->id : NULL, c->gzip);
			if (lg->send_head_len < 0 || lg->send_tail_len < 0) {
				/* Cannot happen with rendered tags (bounded); never loop on it. */
				lg->sending = NULL;
				lg->st.dropped_spool += c->len;
				chunk_done(lg, c, false);
				continue;
			}
			c->deadline_ns = lg_now_ns() + lg->cfg->fluentd_ack_timeout_ms * 1000000ull;
			if (c->attempts++)
				lg->st.retried_records += c->records;
		}
		size_t hl = (size_t)lg->send_head_len, tl = (size_t)lg->send_tail_len;
		size_t total = hl + c->len + tl, off = lg->send_off;
		struct iovec iov[3];
		int n = 0;

		if (off < hl)
			iov[n++] = (struct iovec){ lg->send_head + off, hl - off };
		if (off < hl + c->len) {
			size_t o = off > hl ? off - hl : 0;

			iov[n++] = (struct iovec){ c->data.p + o, c->len - o };
		}
		{
			size_t o = off > hl + c->len ? off - hl - c->len : 0;

			iov[n++] = (struct iovec){ lg->send_tail + o, tl - o };
		}
		ssize_t w = cgs_fwd_writev(lg->fwd, iov, n);

		if (w < 0) {
			conn_failed(lg, "closed", (int)w);
			return;
		}
		lg->send_off += (size_t)w;
		lg->st.sent_bytes += (uint64_t)w;
		if (lg->send_off < total) {
			want_out(lg, true);
			return;
		}
		lg->sending = NULL;
		lg->st.sent_records += c->records;
		if (lg->ready_head)
			lg_kick(lg);
		if (ack) {
			c->state = LG_CHUNK_INFLIGHT;
			c->deadline_ns = lg_now_ns() + lg->cfg->fluentd_ack_timeout_ms * 1000000ull;
			cl_push_tail(&lg->inflight, c);
			lg->inflight_bytes += c->len;
		} else {
			/* Without acks a chunk is done once the kernel has it. */
			c->state = LG_CHUNK_SENDING;
			chunk_done(lg, c, true);
		}
	}
	want_out(lg, false);
}

void lg_ship_socket(struct lg *lg, uint32_t events)
{
	enum cgs_fwd_state before = cgs_fwd_state(lg->fwd);
	const char *reason = "closed";
	int r = cgs_fwd_process(lg->fwd, events, &reason);

	if (r < 0) {
		conn_failed(lg, reason, r);
		return;
	}
	if (cgs_fwd_state(lg->fwd) == CGS_FWD_READY && before != CGS_FWD_READY)
		became_ready(lg);
	if (cgs_fwd_state(lg->fwd) != CGS_FWD_CONNECTING)
		want_out(lg, false);
	lg_ship_pump(lg);
}

void lg_ship_drain(struct lg *lg, uint64_t ms)
{
	uint64_t end = lg_now_ns() + ms * 1000000ull;
	size_t n0 = lg->queue.n + lg->inflight.n + lg->open.n + (lg->sending != NULL);
	uint64_t acked0 = lg->st.acked_records;

	if (cgs_fwd_state(lg->fwd) != CGS_FWD_READY || !n0)
		return;
	lg_ship_flush(lg, true, lg_now_ns());
	lg_ship_pump(lg);
	while ((lg->queue.head || lg->sending || lg->inflight.head) && cgs_fwd_state(lg->fwd) == CGS_FWD_READY) {
		uint64_t now = lg_now_ns();
		struct pollfd p = { .fd = cgs_fwd_fd(lg->fwd), .events = POLLIN | POLLRDHUP | (lg->sending ? POLLOUT : 0) };
		int n;

		if (now >= end)
			break;
		n = poll(&p, 1, (int)((end - now) / 1000000 + 1));
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			lg_ship_socket(lg, (p.revents & POLLIN ? EPOLLIN : 0) | (p.revents & POLLOUT ? EPOLLOUT : 0) |
						   (p.revents & POLLERR ? EPOLLERR : 0) | (p.revents & POLLHUP ? EPOLLHUP : 0) |
						   (p.revents & POLLRDHUP ? EPOLLRDHUP : 0));
	}
	cgs_log_info(LOG_COMP, "shutdown: %llu records acknowledged while draining, %zu chunks left unacknowledged "
			       "(read again at the next start)",
		     (unsigned long long)(lg->st.acked_records - acked0),
		     lg->queue.n + lg->inflight.n + (lg->sending != NULL));
}

void lg_ship_retry(struct lg *lg)
{
	lg->retry_armed = false;
	if (lg->queue.head || lg->sending)
		start_connect(lg);
}

void lg_ship_tick(struct lg *lg, uint64_t now)
{
	enum cgs_fwd_state s = cgs_fwd_state(lg->fwd);

	lg_ship_flush(lg, false, now);
	if (s == CGS_FWD_RESOLVING) {
		const char *reason = "connect";

		if (cgs_fwd_process(lg->fwd, 0, &reason) < 0) {
			conn_failed(lg, reason, -EHOSTUNREACH);
			return;
		}
		sync_fd(lg);
	}
	s = cgs_fwd_state(lg->fwd);
	if ((s == CGS_FWD_RESOLVING || s == CGS_FWD_CONNECTING || s == CGS_FWD_HANDSHAKE) &&
	    now - lg->conn_started_ns > CONNECT_TIMEOUT_NS) {
		conn_failed(lg, s == CGS_FWD_HANDSHAKE ? "handshake (no HELO/PONG)" : "connect", -ETIMEDOUT);
		return;
	}
	if ((lg->inflight.head && now > lg->inflight.head->deadline_ns) ||
	    (lg->sending && now > lg->sending->deadline_ns)) {
		conn_failed(lg, "ack_timeout", -ETIMEDOUT);
		return;
	}
	if (lg->paused) {
		lg->st.backpressure_s += (double)(now - lg->paused_since_ns) / 1e9;
		lg->paused_since_ns = now;
	}
	if (lg->mem_used > lg->cfg->log_buffer_bytes && stalled(lg, now))
		spool_relieve(lg);
	lg_ship_pump(lg);
}

int lg_ship_init(struct lg *lg, const char *shared_key, size_t key_len)
{
	struct cgs_fwd_opts o = {
		.address = lg->cfg->fluentd_address,
		.hostname = lg->hostname,
		.shared_key = shared_key,
		.shared_key_len = key_len,
		.on_ack = on_ack,
		.arg = lg,
	};

	if (getrandom(lg->id_prefix, sizeof(lg->id_prefix), 0) != (ssize_t)sizeof(lg->id_prefix) ||
	    getrandom(&lg->rng, sizeof(lg->rng), 0) != (ssize_t)sizeof(lg->rng))
		return -EIO;
	lg->rng |= 1;
	lg->fwd_fd = -1;
	lg->fwd = cgs_fwd_new(&o);
	return lg->fwd ? 0 : -errno;
}

void lg_ship_free(struct lg *lg)
{
	struct lg_clist *lists[3] = { &lg->open, &lg->queue, &lg->inflight };

	if (lg->sending) {
		chunk_free(lg, lg->sending);
		lg->sending = NULL;
	}
	for (int i = 0; i < 3; i++)
		while (lists[i]->head) {
			struct lg_chunk *c = lists[i]->head;

			cl_remove(lists[i], c);
			chunk_free(lg, c);
		}
	lg_map_free(&lg->open_by_tag);
	cgs_fwd_free(lg->fwd);
	lg->fwd = NULL;
	free(lg->spool_done);
	free(lg->spool_done_bytes);
}
