/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The view model of `cgsight top`: rows keyed by cgroup id, rates between
 * snapshots of different generations, history for sparklines, windowed
 * histograms, and the filtered and sorted list the main view shows. Column
 * definitions, fitting and cell text live in layout.c.
 *
 * Why rates are not simply "delta / (timestamp delta)": the agent publishes a
 * snapshot after every collection pass *and* after a container appears or
 * goes (with the new container collected, the others carrying the values of
 * the last pass). Between two snapshots a container's counters that did not
 * move therefore mean either "idle" (a collection pass) or "not collected"
 * (a lifecycle publication). A snapshot in which some container that was
 * there before has new values is a collection pass; so is one that comes at
 * least 1.5 pass intervals after the last pass seen (all idle). Rates of a
 * container are computed from the last time its values were verified
 * current, so a lifecycle publication neither zeroes nor inflates them.
 */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct cgs_top_valdef cgs_top_vals[CGS_TOP_V__COUNT] = {
	[CGS_TOP_V_CPU] = { "container_cpu_usage_seconds_total", NULL, false, true },
	[CGS_TOP_V_CPU_USER] = { "container_cpu_user_seconds_total", NULL, false, true },
	[CGS_TOP_V_CPU_SYSTEM] = { "container_cpu_system_seconds_total", NULL, false, true },
	[CGS_TOP_V_THROTTLED] = { "container_cpu_cfs_throttled_seconds_total", NULL, false, true },
	[CGS_TOP_V_DELAY] = { "container_cpu_delay_seconds_total", NULL, false, true },
	[CGS_TOP_V_MEM_WS] = { "container_memory_working_set_bytes", NULL, false, false },
	[CGS_TOP_V_MEM_USAGE] = { "container_memory_usage_bytes", NULL, false, false },
	[CGS_TOP_V_MEM_RSS] = { "container_memory_rss", NULL, false, false },
	[CGS_TOP_V_MEM_CACHE] = { "container_memory_cache", NULL, false, false },
	[CGS_TOP_V_MEM_SWAP] = { "container_memory_swap", NULL, false, false },
	[CGS_TOP_V_MEM_LIMIT] = { "container_spec_memory_limit_bytes", NULL, false, false },
	[CGS_TOP_V_CPU_QUOTA] = { "container_spec_cpu_quota", NULL, false, false },
	[CGS_TOP_V_CPU_PERIOD] = { "container_spec_cpu_period", NULL, false, false },
	[CGS_TOP_V_NET_RX] = { "container_network_receive_bytes_total", NULL, false, true },
	[CGS_TOP_V_NET_TX] = { "container_network_transmit_bytes_total", NULL, false, true },
	[CGS_TOP_V_NET_RX_PKT] = { "container_network_receive_packets_total", NULL, false, true },
	[CGS_TOP_V_NET_TX_PKT] = { "container_network_transmit_packets_total", NULL, false, true },
	[CGS_TOP_V_IO_R] = { "container_fs_reads_bytes_total", NULL, false, true },
	[CGS_TOP_V_IO_W] = { "container_fs_writes_bytes_total", NULL, false, true },
	[CGS_TOP_V_PROCS] = { "container_processes", NULL, false, false },
	[CGS_TOP_V_THREADS] = { "container_threads", NULL, false, false },
	[CGS_TOP_V_OOM] = { "container_oom_events_total", NULL, false, true },
	[CGS_TOP_V_CSW_VOL] = { "container_context_switches_total", "voluntary", false, true },
	[CGS_TOP_V_CSW_INVOL] = { "container_context_switches_total", "involuntary", false, true },
	[CGS_TOP_V_SYSCALLS] = { "container_syscalls_total", NULL, false, true },
	[CGS_TOP_V_SYSCALL_ERR] = { "container_syscall_errors_total", NULL, false, true },
	[CGS_TOP_V_TCP_OK] = { "container_tcp_connects_total", "ok", false, true },
	[CGS_TOP_V_TCP_FAIL] = { "container_tcp_connects_total", "ok", true, true },
	[CGS_TOP_V_TCP_ACCEPT] = { "container_tcp_accepts_total", NULL, false, true },
	[CGS_TOP_V_TCP_ACTIVE] = { "container_tcp_active_connections", NULL, false, false },
	[CGS_TOP_V_TCP_RETRANS] = { "container_tcp_retransmits_total", NULL, false, true },
	[CGS_TOP_V_PSI_CPU] = { "container_pressure_cpu_waiting_seconds_total", NULL, false, true },
	[CGS_TOP_V_PSI_MEM] = { "container_pressure_memory_waiting_seconds_total", NULL, false, true },
	[CGS_TOP_V_PSI_IO] = { "container_pressure_io_waiting_seconds_total", NULL, false, true },
};

const char *const cgs_top_hist_family[CGS_TOP_H__COUNT] = {
	[CGS_TOP_H_RUNQ] = "container_cpu_runqueue_latency_seconds",
	[CGS_TOP_H_SYSCALL] = "container_syscall_latency_seconds",
	[CGS_TOP_H_TCP_CONNECT] = "container_tcp_connect_latency_seconds",
	[CGS_TOP_H_RECLAIM] = "container_memory_reclaim_seconds",
};

/* ---- snapshots ------------------------------------------------------------ */

void cgs_top_ct_clear(struct cgs_top_ct *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->container_id);
	free(c->runtime);
	free(c->name);
	free(c->image);
	free(c->container);
	free(c->pod);
	free(c->namespace);
	free(c->pod_uid);
	free(c->qos);
	free(c->cls);
	memset(c, 0, sizeof(*c));
}

void cgs_top_snap_free(struct cgs_top_snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		cgs_top_ct_clear(&s->c[i]);
	free(s->c);
	free(s->ev);
	free(s);
}

/* ---- histograms ----------------------------------------------------------- */

double cgs_top_hist_count(const struct cgs_top_hist *h)
{
	return h->present && h->n ? h->cum[h->n - 1] : 0;
}

double cgs_top_hist_quantile(const struct cgs_top_hist *h, double q)
{
	double total = cgs_top_hist_count(h), rank;

	if (total <= 0)
		return NAN;
	rank = q * total;
	for (unsigned i = 0; i < h->n; i++) {
		if (h->cum[i] >= rank) {
			/* The overflow bucket has no upper bound: report the last finite one. */
			if (isinf(h->le[i]))
				return i ? h->le[i - 1] : NAN;
			return h->le[i];
		}
	}
	return NAN;
}

void cgs_top_hist_delta(const struct cgs_top_hist *a, const struct cgs_top_hist *b, struct cgs_top_hist *out)
{
	bool same = b && b->present && b->n == a->n;

	*out = *a;
	if (!a->present)
		return;
	for (unsigned i = 0; same && i < a->n; i++)
		if (a->le[i] != b->le[i] && !(isinf(a->le[i]) && isinf(b->le[i])))
			same = false;
	/* Bounds changed or a bucket went backwards: the histogram restarted, take it whole. */
	for (unsigned i = 0; same && i < a->n; i++)
		if (a->cum[i] < b->cum[i])
			same = false;
	if (!same)
		return;
	for (unsigned i = 0; i < a->n; i++)
		out->cum[i] = a->cum[i] - b->cum[i];
	out->sum = a->sum - b->sum;
}

/* ---- rows ------------------------------------------------------------------ */

float cgs_top_row_hist(const struct cgs_top_row *r, enum cgs_top_series s, unsigned i)
{
	unsigned start = (r->ring_head + CGS_TOP_RING - r->ring_n) % CGS_TOP_RING;

	if (i >= r->ring_n)
		return NAN;
	return r->ring[s][(start + i) % CGS_TOP_RING];
}

enum cgs_top_status cgs_top_row_status(const struct cgs_top_row *r)
{
	if (!r->present)
		return CGS_TOP_EXITED;
	if (r->ct.v[CGS_TOP_V_PROCS] == 0)
		return CGS_TOP_EMPTY;
	return CGS_TOP_RUNNING;
}

double cgs_top_row_mem(const struct cgs_top_row *r)
{
	const double *v = r->ct.v;

	return !isnan(v[CGS_TOP_V_MEM_WS]) ? v[CGS_TOP_V_MEM_WS]
	       : !isnan(v[CGS_TOP_V_MEM_USAGE]) ? v[CGS_TOP_V_MEM_USAGE]
						 : v[CGS_TOP_V_MEM_RSS];
}

double cgs_top_row_p99(const struct cgs_top_row *r)
{
	return cgs_top_hist_quantile(&r->win[CGS_TOP_H_SYSCALL], 0.99);
}

static void row_free(struct cgs_top_row *r)
{
	if (!r)
		return;
	cgs_top_ct_clear(&r->ct);
	free(r->base_cls);
	free(r->win_cls);
	free(r);
}

static void set_display(struct cgs_top_row *r)
{
	const struct cgs_top_ct *c = &r->ct;

	if (c->pod && *c->pod)
		snprintf(r->display, sizeof(r->display), "%s/%s", c->pod,
			 c->container && *c->container ? c->container : (c->name && *c->name ? c->name : "?"));
	else if (c->name && *c->name)
		snprintf(r->display, sizeof(r->display), "%s", c->name);
	else if (c->container && *c->container)
		snprintf(r->display, sizeof(r->display), "%s", c->container);
	else
		snprintf(r->display, sizeof(r->display), "%s", c->path ? c->path : "?");
}

static void rates_unknown(struct cgs_top_row *r)
{
	for (int i = 0; i < CGS_TOP_V__COUNT; i++)
		r->rate[i] = NAN;
	for (int i = 0; i < CGS_TOP_H__COUNT; i++)
		r->win[i].present = false;
	r->nwin_cls = 0;
	r->window = 0;
}

/* Copies n classes into *dst, reusing its allocation when the count is the same. */
static int copy_classes(struct cgs_top_class **dst, uint8_t *ndst, const struct cgs_top_class *src, uint8_t n)
{
	if (n != *ndst || !*dst) {
		struct cgs_top_class *p = NULL;

		if (n && !(p = malloc(n * sizeof(*p))))
			return -ENOMEM;
		free(*dst);
		*dst = p;
		*ndst = n;
	}
	if (n)
		memcpy(*dst, src, n * sizeof(**dst));
	return 0;
}

static int set_base(struct cgs_top_row *r, double t)
{
	r->have_base = true;
	r->base_t = t;
	memcpy(r->base_v, r->ct.v, sizeof(r->base_v));
	memcpy(r->base_h, r->ct.h, sizeof(r->base_h));
	return copy_classes(&r->base_cls, &r->nbase_cls, r->ct.cls, r->ct.ncls);
}

static bool same_value(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

/* Whether any counter or histogram moved since the base. */
static bool row_changed(const struct cgs_top_row *r)
{
	for (int i = 0; i < CGS_TOP_V__COUNT; i++)
		if (cgs_top_vals[i].counter && !same_value(r->ct.v[i], r->base_v[i]))
			return true;
	for (int i = 0; i < CGS_TOP_H__COUNT; i++)
		if (r->ct.h[i].present != r->base_h[i].present ||
		    cgs_top_hist_count(&r->ct.h[i]) != cgs_top_hist_count(&r->base_h[i]))
			return true;
	return false;
}

static int compute_rates(struct cgs_top_row *r, double t)
{
	double dt = t - r->base_t;

	if (dt <= 0)
		return 0;
	for (int i = 0; i < CGS_TOP_V__COUNT; i++) {
		double cur = r->ct.v[i], old = r->base_v[i], d;

		if (!cgs_top_vals[i].counter || isnan(cur) || isnan(old)) {
			r->rate[i] = NAN;
			continue;
		}
		d = cur - old;
		if (d < 0)
			d = cur; /* reset: the counter restarted from zero within the window */
		r->rate[i] = d / dt;
	}
	for (int i = 0; i < CGS_TOP_H__COUNT; i++)
		cgs_top_hist_delta(&r->ct.h[i], &r->base_h[i], &r->win[i]);
	if (copy_classes(&r->win_cls, &r->nwin_cls, r->ct.cls, r->ct.ncls) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < r->nwin_cls; i++) {
		const struct cgs_top_hist *b = NULL;

		for (unsigned j = 0; j < r->nbase_cls; j++)
			if (!strcmp(r->base_cls[j].name, r->ct.cls[i].name))
				b = &r->base_cls[j].h;
		cgs_top_hist_delta(&r->ct.cls[i].h, b, &r->win_cls[i].h);
	}
	r->window = dt;
	return 0;
}

/* A collection pass found the values unchanged: the rates are zero. */
static void rates_idle(struct cgs_top_row *r, double t)
{
	for (int i = 0; i < CGS_TOP_V__COUNT; i++)
		r->rate[i] = cgs_top_vals[i].counter && !isnan(r->ct.v[i]) ? 0 : NAN;
	for (int i = 0; i < CGS_TOP_H__COUNT; i++) {
		r->win[i] = r->ct.h[i];
		for (unsigned b = 0; b < r->win[i].n; b++)
			r->win[i].cum[b] = 0;
		r->win[i].sum = 0;
	}
	for (unsigned i = 0; i < r->nwin_cls; i++) {
		for (unsigned b = 0; b < r->win_cls[i].h.n; b++)
			r->win_cls[i].h.cum[b] = 0;
		r->win_cls[i].h.sum = 0;
	}
	r->window = t - r->base_t;
}

static void push_history(struct cgs_top_row *r)
{
	const float v[CGS_TOP_S__COUNT] = {
		[CGS_TOP_S_CPU] = (float)r->rate[CGS_TOP_V_CPU],
		[CGS_TOP_S_MEM] = (float)cgs_top_row_mem(r),
		[CGS_TOP_S_RX] = (float)r->rate[CGS_TOP_V_NET_RX],
		[CGS_TOP_S_TX] = (float)r->rate[CGS_TOP_V_NET_TX],
		[CGS_TOP_S_IOR] = (float)r->rate[CGS_TOP_V_IO_R],
		[CGS_TOP_S_IOW] = (float)r->rate[CGS_TOP_V_IO_W],
		[CGS_TOP_S_DELAY] = (float)r->rate[CGS_TOP_V_DELAY],
	};

	for (int s = 0; s < CGS_TOP_S__COUNT; s++)
		r->ring[s][r->ring_head] = v[s];
	r->ring_head = (uint16_t)((r->ring_head + 1) % CGS_TOP_RING);
	if (r->ring_n < CGS_TOP_RING)
		r->ring_n++;
}

/* ---- the model ------------------------------------------------------------- */

struct cgs_top_model *cgs_top_model_new(void)
{
	struct cgs_top_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->sort = CGS_TOP_C_CPU;
	m->cols = CGS_TOP_COLS_ALL;
	m->exited_keep = 300;
	m->exited_max = 1000;
	return m;
}

void cgs_top_model_free(struct cgs_top_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nrows; i++)
		row_free(m->rows[i]);
	free(m->rows);
	free(m->vis);
	free(m);
}

/* Open-addressing index of rows by cgroup id, built per update. */
struct index {
	size_t mask;
	size_t *slot; /* row index + 1; 0 empty */
};

static size_t hash_id(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id;
}

static int index_build(struct index *ix, struct cgs_top_row **rows, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap <<= 1;
	ix->slot = calloc(cap, sizeof(*ix->slot));
	if (!ix->slot)
		return -ENOMEM;
	ix->mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		size_t h = hash_id(rows[i]->ct.cgroup_id) & ix->mask;

		while (ix->slot[h])
			h = (h + 1) & ix->mask;
		ix->slot[h] = i + 1;
	}
	return 0;
}

static long index_find(const struct index *ix, struct cgs_top_row **rows, uint64_t id)
{
	size_t h = hash_id(id) & ix->mask;

	while (ix->slot[h]) {
		if (rows[ix->slot[h] - 1]->ct.cgroup_id == id)
			return (long)(ix->slot[h] - 1);
		h = (h + 1) & ix->mask;
	}
	return -1;
}

struct cgs_top_row *cgs_top_model_find(const struct cgs_top_model *m, uint64_t cgroup_id)
{
	for (size_t i = 0; i < m->nrows; i++)
		if (m->rows[i]->ct.cgroup_id == cgroup_id)
			return m->rows[i];
	return NULL;
}

static void merge_events(struct cgs_top_model *m, const struct cgs_top_snap *s)
{
	for (size_t i = 0; i < s->nev; i++) {
		const struct cgs_top_event *e = &s->ev[i];
		size_t at;
		bool dup = false;

		for (size_t j = 0; j < m->nev && !dup; j++)
			dup = m->ev[j].time == e->time && m->ev[j].cgroup_id == e->cgroup_id &&
			      !strcmp(m->ev[j].type, e->type);
		if (dup)
			continue;
		if (m->nev == CGS_TOP_EVENTS_MAX) {
			if (e->time <= m->ev[0].time)
				continue; /* older than everything kept */
			memmove(&m->ev[0], &m->ev[1], (m->nev - 1) * sizeof(m->ev[0]));
			m->nev--;
		}
		/* Keep them in time order. */
		for (at = m->nev; at > 0 && m->ev[at - 1].time > e->time; at--)
			;
		memmove(&m->ev[at + 1], &m->ev[at], (m->nev - at) * sizeof(m->ev[0]));
		m->ev[at] = *e;
		m->nev++;
	}
}

/* Drops exited rows kept too long, and the oldest beyond the bound. */
static void prune_exited(struct cgs_top_model *m, double now)
{
	size_t nexited = 0, j = 0;

	for (size_t i = 0; i < m->nrows; i++)
		nexited += !m->rows[i]->present;
	while (nexited > m->exited_max) {
		size_t oldest = SIZE_MAX;

		for (size_t i = 0; i < m->nrows; i++)
			if (!m->rows[i]->present && (oldest == SIZE_MAX || m->rows[i]->gone_at < m->rows[oldest]->gone_at))
				oldest = i;
		m->rows[oldest]->gone_at = -INFINITY; /* marked for removal below */
		nexited--;
	}
	for (size_t i = 0; i < m->nrows; i++) {
		struct cgs_top_row *r = m->rows[i];

		if (!r->present && (r->gone_at < now - m->exited_keep || isinf(r->gone_at))) {
			row_free(r);
			continue;
		}
		m->rows[j++] = r;
	}
	m->nrows = j;
}

static void note_pass(struct cgs_top_model *m, double t, bool verified)
{
	if (verified) {
		double gap = t - m->last_verified;

		/* The smallest gap between two verified passes: the agent's interval. */
		if (m->last_verified > 0 && gap > 0 && (m->interval_est == 0 || gap < m->interval_est))
			m->interval_est = gap;
		m->last_verified = t;
	}
	m->last_pass = t;
	m->passes++;
}

int cgs_top_model_update(struct cgs_top_model *m, struct cgs_top_snap *s)
{
	struct index ix = { 0 };
	bool restart, changed_pass = false, pass;
	uint8_t *seen = NULL, *changed = NULL, *fresh = NULL;
	size_t n0 = m->nrows;
	double t = s->timestamp;
	int r = -ENOMEM;

	if (m->have && s->generation == m->generation)
		return 0;
	restart = m->have && (s->generation < m->generation || t <= m->timestamp);
	if (restart) {
		m->interval_est = 0;
		m->last_pass = m->last_verified = 0;
	}
	if (index_build(&ix, m->rows, m->nrows) < 0)
		return -ENOMEM;
	seen = calloc(n0 + s->n + 1, 1);
	changed = calloc(n0 + s->n + 1, 1);
	fresh = calloc(n0 + s->n + 1, 1);
	if (!seen || !changed || !fresh)
		goto out;
	if (m->nrows + s->n > m->cap) {
		size_t cap = (m->nrows + s->n) * 2;
		struct cgs_top_row **p = realloc(m->rows, cap * sizeof(*p));

		if (!p)
			goto out;
		m->rows = p;
		m->cap = cap;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct cgs_top_ct *c = &s->c[i];
		long at = index_find(&ix, m->rows, c->cgroup_id);
		struct cgs_top_row *row;

		if (at >= 0 && seen[at])
			continue; /* the same cgroup twice in one snapshot: keep the first */
		if (at >= 0 && strcmp(m->rows[at]->ct.container_id ? m->rows[at]->ct.container_id : "",
				      c->container_id ? c->container_id : "") != 0) {
			/* Another container behind the same cgroup id: start afresh. */
			row_free(m->rows[at]);
			m->rows[at] = NULL;
		}
		if (at < 0 || !m->rows[at]) {
			row = calloc(1, sizeof(*row));
			if (!row)
				goto out;
			if (at < 0)
				at = (long)m->nrows++;
			m->rows[at] = row;
			fresh[at] = 1;
			rates_unknown(row);
		}
		row = m->rows[at];
		cgs_top_ct_clear(&row->ct);
		row->ct = *c;
		memset(c, 0, sizeof(*c)); /* moved */
		row->present = true;
		row->gone_at = 0;
		set_display(row);
		seen[at] = 1;
		if (!fresh[at] && row->have_base && !restart && row_changed(row)) {
			changed[at] = 1;
			changed_pass = true;
		}
	}
	pass = changed_pass || (m->interval_est > 0 && t - m->last_pass >= 1.5 * m->interval_est);
	for (size_t i = 0; i < m->nrows; i++) {
		struct cgs_top_row *row = m->rows[i];

		if (!seen[i]) {
			if (row->present) {
				row->present = false;
				row->gone_at = t;
				rates_unknown(row);
			}
			continue;
		}
		if (fresh[i] || !row->have_base || restart) {
			rates_unknown(row);
			if (set_base(row, t) < 0)
				goto out;
			continue;
		}
		if (changed[i]) {
			if (compute_rates(row, t) < 0 || set_base(row, t) < 0)
				goto out;
		} else if (pass) {
			rates_idle(row, t);
			/* Verified current by a real pass: the base moves on (values are the same). */
			if (changed_pass)
				row->base_t = t;
		}
		if (pass)
			push_history(row);
	}
	if (pass)
		note_pass(m, t, changed_pass);
	else if (!m->have || restart)
		m->last_pass = t;
	merge_events(m, s);
	m->have = true;
	m->generation = s->generation;
	m->timestamp = t;
	prune_exited(m, t);
	r = cgs_top_model_refresh(m) < 0 ? -ENOMEM : 1;
out:
	free(ix.slot);
	free(seen);
	free(changed);
	free(fresh);
	return r;
}

/* ---- the visible list -------------------------------------------------------- */

bool cgs_top_row_matches(const struct cgs_top_row *r, const char *filter)
{
	const char *fields[] = { r->display,  r->ct.name,         r->ct.pod,  r->ct.namespace,
				 r->ct.image, r->ct.container_id, r->ct.path, r->ct.container };
	const char *p = filter;

	while (p && *p) {
		char word[CGS_TOP_FILTER_MAX];
		size_t n = 0;
		bool hit = false;

		while (*p == ' ')
			p++;
		while (*p && *p != ' ' && n + 1 < sizeof(word))
			word[n++] = *p++;
		word[n] = '\0';
		if (!n)
			break;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && !hit; i++)
			hit = fields[i] && strcasestr(fields[i], word);
		if (!hit)
			return false;
	}
	return true;
}

/* The sort key of a numeric column. */
static double col_value(const struct cgs_top_model *m, const struct cgs_top_row *r, enum cgs_top_col c)
{
	switch (c) {
	case CGS_TOP_C_CPU:
		return r->rate[CGS_TOP_V_CPU];
	case CGS_TOP_C_DELAY:
		return r->rate[CGS_TOP_V_DELAY];
	case CGS_TOP_C_MEM:
		return cgs_top_row_mem(r);
	case CGS_TOP_C_MEMBAR:
		return cgs_top_mem_frac(m, r);
	case CGS_TOP_C_NETRX:
		return r->rate[CGS_TOP_V_NET_RX];
	case CGS_TOP_C_NETTX:
		return r->rate[CGS_TOP_V_NET_TX];
	case CGS_TOP_C_IOR:
		return r->rate[CGS_TOP_V_IO_R];
	case CGS_TOP_C_IOW:
		return r->rate[CGS_TOP_V_IO_W];
	case CGS_TOP_C_PIDS:
		return r->ct.v[CGS_TOP_V_PROCS];
	case CGS_TOP_C_P99:
		return cgs_top_row_p99(r);
	case CGS_TOP_C_OOM:
		return r->ct.v[CGS_TOP_V_OOM];
	default:
		return NAN;
	}
}

static int cmp_str(const char *a, const char *b)
{
	return strcasecmp(a ? a : "", b ? b : "");
}

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
	const struct cgs_top_model *m = arg;
	const struct cgs_top_row *a = *(struct cgs_top_row *const *)pa, *b = *(struct cgs_top_row *const *)pb;
	int c = 0;

	switch (m->sort) {
	case CGS_TOP_C_NAME:
		c = cmp_str(a->display, b->display);
		break;
	case CGS_TOP_C_ID:
		c = cmp_str(a->ct.container_id, b->ct.container_id);
		break;
	case CGS_TOP_C_STATUS:
		c = (int)cgs_top_row_status(a) - (int)cgs_top_row_status(b);
		break;
	default: {
		double x = col_value(m, a, m->sort), y = col_value(m, b, m->sort);

		/* Unknown values go last whichever the direction. */
		if (isnan(x) != isnan(y))
			return isnan(x) ? 1 : -1;
		if (!isnan(x) && x != y)
			c = x > y ? -1 : 1; /* largest first */
		break;
	}
	}
	if (c)
		return m->reverse ? -c : c;
	c = cmp_str(a->display, b->display);
	if (c)
		return c;
	return a->ct.cgroup_id < b->ct.cgroup_id ? -1 : a->ct.cgroup_id > b->ct.cgroup_id;
}

/* Sums that stay NAN while nothing was known. */
static void add(double *acc, double v)
{
	if (!isnan(v))
		*acc = isnan(*acc) ? v : *acc + v;
}

int cgs_top_model_refresh(struct cgs_top_model *m)
{
	size_t n = 0;

	if (m->nrows > m->viscap) {
		struct cgs_top_row **p = realloc(m->vis, m->nrows * sizeof(*p));

		if (!p)
			return -ENOMEM;
		m->vis = p;
		m->viscap = m->nrows;
	}
	memset(&m->tot, 0, sizeof(m->tot));
	m->tot.cpu = m->tot.mem = m->tot.rx = m->tot.tx = m->tot.ior = m->tot.iow = m->tot.pids = NAN;
	for (size_t i = 0; i < m->nrows; i++) {
		struct cgs_top_row *r = m->rows[i];
		enum cgs_top_status st = cgs_top_row_status(r);

		if (r->present) {
			m->tot.total++;
			m->tot.running += st == CGS_TOP_RUNNING;
			add(&m->tot.cpu, r->rate[CGS_TOP_V_CPU]);
			add(&m->tot.mem, cgs_top_row_mem(r));
			add(&m->tot.rx, r->rate[CGS_TOP_V_NET_RX]);
			add(&m->tot.tx, r->rate[CGS_TOP_V_NET_TX]);
			add(&m->tot.ior, r->rate[CGS_TOP_V_IO_R]);
			add(&m->tot.iow, r->rate[CGS_TOP_V_IO_W]);
			add(&m->tot.pids, r->ct.v[CGS_TOP_V_PROCS]);
		}
		if (m->running_only && st != CGS_TOP_RUNNING)
			continue;
		if (m->filter[0] && !cgs_top_row_matches(r, m->filter))
			continue;
		m->vis[n++] = r;
	}
	m->nvis = n;
	m->tot.shown = n;
	if (n > 1)
		qsort_r(m->vis, n, sizeof(*m->vis), cmp_rows, m);
	/* Keep the cursor on its container; if it went, on the row now at its place. */
	if (m->sel_id) {
		for (size_t i = 0; i < n; i++) {
			if (m->vis[i]->ct.cgroup_id == m->sel_id) {
				m->cursor = i;
				return 0;
			}
		}
	}
	if (m->cursor >= n)
		m->cursor = n ? n - 1 : 0;
	m->sel_id = n ? m->vis[m->cursor]->ct.cgroup_id : 0;
	return 0;
}

void cgs_top_model_set_sort(struct cgs_top_model *m, enum cgs_top_col col)
{
	if ((unsigned)col >= CGS_TOP_C__COUNT)
		return;
	if (m->sort == col)
		m->reverse = !m->reverse;
	else
		m->reverse = false;
	m->sort = col;
	cgs_top_model_refresh(m);
}

void cgs_top_model_set_filter(struct cgs_top_model *m, const char *filter)
{
	snprintf(m->filter, sizeof(m->filter), "%s", filter ? filter : "");
	cgs_top_model_refresh(m);
}

void cgs_top_model_move(struct cgs_top_model *m, long delta, size_t page)
{
	long c = (long)m->cursor + delta;

	if (!m->nvis) {
		m->cursor = m->top = 0;
		m->sel_id = 0;
		return;
	}
	if (c < 0)
		c = 0;
	if (c >= (long)m->nvis)
		c = (long)m->nvis - 1;
	m->cursor = (size_t)c;
	m->sel_id = m->vis[m->cursor]->ct.cgroup_id;
	if (!page)
		page = 1;
	if (m->cursor < m->top)
		m->top = m->cursor;
	if (m->cursor >= m->top + page)
		m->top = m->cursor - page + 1;
	/* No empty rows below the last one when there are rows above. */
	if (m->top + page > m->nvis)
		m->top = m->nvis > page ? m->nvis - page : 0;
}

struct cgs_top_row *cgs_top_model_selected(const struct cgs_top_model *m)
{
	return m->nvis && m->cursor < m->nvis ? m->vis[m->cursor] : NULL;
}
