/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-peer breakdown of the tcp collector (tcp_peer_top_n): totals per
 * container slot and destination kept across scans of the kernel's LRU
 * table, and the top N of each slot. Pure: no BPF, no I/O
 * (tests/unit/test_net.c). See collectors/net_stats.h for the rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/types.h>

#include "net_stats.h"

struct peer {
	struct cgs_tcp_peer_key key;
	struct cgs_tcp_peer_counters last;  /* the kernel's values at the last scan (0: no entry then) */
	struct cgs_tcp_peer_counters total; /* exported: the sum of the kernel's increments */
	double score;                       /* decayed activity */
	bool shown;
	char dest[CGS_TCP_PEER_DEST_MAX];
};

struct cgs_tcp_peers {
	uint32_t nslots, top_n;
	uint32_t *epoch;     /* per slot */
	struct peer *v;      /* sorted by key, hence grouped by slot */
	size_t n;
	uint32_t *sel;       /* indices into v of the shown destinations, busiest first per slot */
	uint32_t *sel_first; /* per slot: its first entry in sel */
	uint32_t *sel_n;     /* per slot: how many */
};

struct kentry {
	struct cgs_tcp_peer_key key;
	struct cgs_tcp_peer_counters val;
};

struct cgs_tcp_peers *cgs_tcp_peers_new(uint32_t nslots, uint32_t top_n)
{
	struct cgs_tcp_peers *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->nslots = nslots;
	p->top_n = top_n;
	p->epoch = calloc(nslots ? nslots : 1, sizeof(*p->epoch));
	p->sel_first = calloc(nslots ? nslots : 1, sizeof(*p->sel_first));
	p->sel_n = calloc(nslots ? nslots : 1, sizeof(*p->sel_n));
	if (!p->epoch || !p->sel_first || !p->sel_n) {
		cgs_tcp_peers_free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void cgs_tcp_peers_free(struct cgs_tcp_peers *p)
{
	if (!p)
		return;
	free(p->epoch);
	free(p->v);
	free(p->sel);
	free(p->sel_first);
	free(p->sel_n);
	free(p);
}

uint32_t cgs_tcp_peers_epoch(const struct cgs_tcp_peers *p, uint32_t slot)
{
	return slot < p->nslots ? p->epoch[slot] : 0;
}

void cgs_tcp_peers_reset_slot(struct cgs_tcp_peers *p, uint32_t slot, uint32_t epoch)
{
	if (slot >= p->nslots)
		return;
	p->epoch[slot] = epoch;
	p->sel_n[slot] = 0; /* the old owner's peers go at the next update */
}

size_t cgs_tcp_peers_count(const struct cgs_tcp_peers *p)
{
	return p->n;
}

int cgs_tcp_peer_format(const struct cgs_tcp_peer_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (k->family == CGS_TCP_PEER_AF_INET)
		n = inet_ntop(AF_INET, k->addr, a, sizeof(a)) ? snprintf(buf, len, "%s:%u", a, k->port) : -1;
	else if (k->family == CGS_TCP_PEER_AF_INET6)
		n = inet_ntop(AF_INET6, k->addr, a, sizeof(a)) ? snprintf(buf, len, "[%s]:%u", a, k->port) : -1;
	else
		n = -1;
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -EINVAL;
	}
	return n;
}

static int key_cmp(const struct cgs_tcp_peer_key *a, const struct cgs_tcp_peer_key *b)
{
	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	if (a->epoch != b->epoch)
		return a->epoch < b->epoch ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	int r = memcmp(a->addr, b->addr, sizeof(a->addr));

	if (r)
		return r;
	return a->port < b->port ? -1 : a->port > b->port;
}

static int kentry_cmp(const void *a, const void *b)
{
	return key_cmp(&((const struct kentry *)a)->key, &((const struct kentry *)b)->key);
}

static uint64_t activity(const struct cgs_tcp_peer_counters *c)
{
	return c->connects_ok + c->connects_failed + c->retransmits;
}

/* Folds the kernel's current values into the totals; a value below the last one means a new entry. */
static void peer_apply(struct peer *x, const struct cgs_tcp_peer_counters *cur, double decay)
{
	const struct cgs_tcp_peer_counters *l = &x->last;
	bool fresh = cur->connects_ok < l->connects_ok || cur->connects_failed < l->connects_failed ||
		     cur->retransmits < l->retransmits || cur->lat_sum_ns < l->lat_sum_ns ||
		     cur->lat_count < l->lat_count;
	struct cgs_tcp_peer_counters d = *cur;

	if (!fresh) {
		d.connects_ok -= l->connects_ok;
		d.connects_failed -= l->connects_failed;
		d.retransmits -= l->retransmits;
		d.lat_sum_ns -= l->lat_sum_ns;
		d.lat_count -= l->lat_count;
	}
	x->total.connects_ok += d.connects_ok;
	x->total.connects_failed += d.connects_failed;
	x->total.retransmits += d.retransmits;
	x->total.lat_sum_ns += d.lat_sum_ns;
	x->total.lat_count += d.lat_count;
	x->last = *cur;
	x->score = x->score * decay + (double)activity(&d);
}

/* Ranking: the score (with the incumbent's advantage), then the total activity, then the key. */
static int rank_cmp(const void *pa, const void *pb, void *arg)
{
	const struct peer *v = arg, *a = &v[*(const uint32_t *)pa], *b = &v[*(const uint32_t *)pb];
	double sa = a->score * (a->shown ? CGS_TCP_PEER_KEEP : 1.0);
	double sb = b->score * (b->shown ? CGS_TCP_PEER_KEEP : 1.0);
	uint64_t ta = activity(&a->total), tb = activity(&b->total);

	if (sa != sb)
		return sa > sb ? -1 : 1;
	if (ta != tb)
		return ta > tb ? -1 : 1;
	return key_cmp(&a->key, &b->key);
}

/* Picks each slot's top N among v (sorted by key) into sel. */
static void select_top(struct cgs_tcp_peers *p, uint32_t *sel)
{
	size_t i = 0, o = 0;

	memset(p->sel_n, 0, p->nslots * sizeof(*p->sel_n));
	while (i < p->n) {
		uint32_t slot = p->v[i].key.slot;
		size_t j = i, k = 0;

		for (; j < p->n && p->v[j].key.slot == slot; j++)
			if (activity(&p->v[j].total)) /* nothing counted yet: an entry being made */
				sel[o + k++] = (uint32_t)j;
		qsort_r(sel + o, k, sizeof(*sel), rank_cmp, p->v);
		for (size_t m = i; m < j; m++)
			p->v[m].shown = false;
		if (k > p->top_n)
			k = p->top_n;
		for (size_t m = 0; m < k; m++)
			p->v[sel[o + m]].shown = true;
		p->sel_first[slot] = (uint32_t)o;
		p->sel_n[slot] = (uint32_t)k;
		o += k;
		i = j;
	}
}

int cgs_tcp_peers_update(struct cgs_tcp_peers *p, const struct cgs_tcp_peer_key *keys,
			 const struct cgs_tcp_peer_counters *vals, size_t n, double dt)
{
	double decay = dt > 0 ? exp2(-dt / CGS_TCP_PEER_HALF_LIFE_S) : 1.0;
	struct kentry *in = malloc((n ? n : 1) * sizeof(*in));
	struct peer *nv = NULL;
	uint32_t *sel = NULL;
	size_t nin = 0, i = 0, j = 0, o = 0;

	if (!in)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		if (keys[k].slot < p->nslots && keys[k].epoch == p->epoch[keys[k].slot]) {
			in[nin].key = keys[k];
			in[nin].key.pad = 0;
			in[nin++].val = vals[k];
		}
	qsort(in, nin, sizeof(*in), kentry_cmp);
	/* At most every kernel entry and every old destination. */
	nv = malloc((nin + p->n ? nin + p->n : 1) * sizeof(*nv));
	sel = malloc((nin + p->n ? nin + p->n : 1) * sizeof(*sel));
	if (!nv || !sel) {
		free(in);
		free(nv);
		free(sel);
		return -ENOMEM;
	}
	while (i < p->n || j < nin) {
		const struct peer *old = i < p->n ? &p->v[i] : NULL;
		int c;

		/* Old destinations of a slot handed out since: forgotten. */
		if (old && old->key.epoch != p->epoch[old->key.slot]) {
			i++;
			continue;
		}
		if (j > 0 && j < nin && key_cmp(&in[j].key, &in[j - 1].key) == 0) {
			j++; /* a key seen twice in one scan: the first one counts */
			continue;
		}
		c = !old ? 1 : j >= nin ? -1 : key_cmp(&old->key, &in[j].key);
		if (c == 0) {
			nv[o] = *old;
			peer_apply(&nv[o++], &in[j].val, decay);
			i++;
			j++;
		} else if (c < 0) {
			/*
			 * The kernel forgot it (LRU). Kept while shown, so that its
			 * series goes on from its total if it comes back.
			 */
			if (old->shown) {
				nv[o] = *old;
				memset(&nv[o].last, 0, sizeof(nv[o].last));
				nv[o++].score *= decay;
			}
			i++;
		} else {
			memset(&nv[o], 0, sizeof(nv[o]));
			nv[o].key = in[j].key;
			cgs_tcp_peer_format(&nv[o].key, nv[o].dest, sizeof(nv[o].dest));
			peer_apply(&nv[o++], &in[j].val, decay);
			j++;
		}
	}
	free(in);
	free(p->v);
	free(p->sel);
	p->v = nv;
	p->n = o;
	p->sel = sel;
	select_top(p, sel);
	return 0;
}

int cgs_tcp_peers_samples(const struct cgs_tcp_peers *p, uint32_t slot, struct cgs_samples *out)
{
	uint32_t k;
	int e = 0;

	if (slot >= p->nslots || !p->sel_n[slot])
		return 0;
	k = p->sel_n[slot];
	if (out->limit) {
		/* Whole destinations only: the busiest that fit, the rest counted as left out. */
		size_t fit = (out->limit > out->series ? out->limit - out->series : 0) / CGS_TCP_PEER_SERIES;

		if (fit < k) {
			out->dropped += (uint64_t)(k - fit) * CGS_TCP_PEER_SERIES;
			out->pass_dropped += (uint64_t)(k - fit) * CGS_TCP_PEER_SERIES;
			if (out->first_dropped < 0)
				out->first_dropped = CGS_M_TCP_PEER_CONNECTS;
			k = (uint32_t)fit;
		}
	}
	for (uint32_t m = 0; m < k && !e; m++) {
		const struct peer *x = &p->v[p->sel[p->sel_first[slot] + m]];
		const struct cgs_tcp_peer_counters *t = &x->total;

		if (!x->dest[0])
			continue;
		e = cgs_samples_add_l(out, CGS_M_TCP_PEER_CONNECTS, x->dest, "ok", (double)t->connects_ok);
		if (!e)
			e = cgs_samples_dup_label(out, 0);
		if (!e)
			e = cgs_samples_add_l(out, CGS_M_TCP_PEER_CONNECTS, x->dest, "failed",
					      (double)t->connects_failed);
		if (!e)
			e = cgs_samples_dup_label(out, 0);
		if (!e)
			e = cgs_samples_add_l(out, CGS_M_TCP_PEER_RETRANSMITS, x->dest, NULL, (double)t->retransmits);
		if (!e)
			e = cgs_samples_dup_label(out, 0);
		if (!e)
			e = cgs_samples_add_summary(out, CGS_M_TCP_PEER_CONNECT_LATENCY, x->dest, t->lat_count,
						    (double)t->lat_sum_ns / 1e9);
		if (!e)
			e = cgs_samples_dup_label(out, 0);
	}
	return e;
}
