/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP health collector: loads bpf/tcp.bpf.c on sock:inet_sock_set_state,
 * tcp:tcp_retransmit_skb and tcp:tcp_retransmit_synack and exports each
 * container's active opens (by result), passive opens, established sockets,
 * connect latency histogram and retransmitted segments. The program variant
 * is chosen by probing: tp_btf with socket local storage, else tp_btf or
 * raw_tp with a bounded hash of sockets (see bpf/tcp.bpf.c and
 * docs/collectors/tcp.md). With tcp_peer_top_n, each collection first reads
 * the kernel's per-peer table and keeps every container's top N
 * destinations (collectors/tcp_peers.c).
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../agent/bpf_probe.h"
#include "../agent/config.h"
#include "../agent/log.h"
#include "../agent/slots.h"
#include <linux/types.h>

#include "collector.h"
#include "net_stats.h"
#include "tcp.skel.h"

#define LOG_COMP "collector:tcp"

/*
 * The kernel's per-peer table: room for 4 candidates per destination shown
 * in every slot (least recently used forgotten first), within these bounds
 * (an entry takes ~146 bytes of kernel memory, preallocated).
 */
#define PEER_MAP_PER_SHOWN 4
#define PEER_MAP_MIN       1024
#define PEER_MAP_MAX       131072
/* Entries read per batch lookup (a hash bucket never holds this many). */
#define PEER_BATCH 256

_Static_assert(CGS_TCP_HIST_BUCKETS == CGS_LOG2_US_NBOUNDS + 1, "TCP histogram buckets");

enum tcp_variant {
	TCP_BTF_STORAGE, /* tp_btf, socket local storage */
	TCP_BTF_HASH,    /* tp_btf, hash of sockets */
	TCP_RAW_HASH,    /* raw_tp, hash of sockets */
};

static const char *const variant_name[] = {
	[TCP_BTF_STORAGE] = "tp_btf programs with socket local storage",
	[TCP_BTF_HASH] = "tp_btf programs with a hash of sockets",
	[TCP_RAW_HASH] = "raw_tp programs with a hash of sockets",
};

static const char *const variant_token[] = {
	[TCP_BTF_STORAGE] = "tp_btf+sk_storage",
	[TCP_BTF_HASH] = "tp_btf+sock_hash",
	[TCP_RAW_HASH] = "raw_tp+sock_hash",
};

struct tcp {
	struct tcp_bpf *skel;
	enum tcp_variant variant;
	int stats_fd;
	/* per-peer breakdown (tcp_peer_top_n > 0) */
	struct cgs_tcp_peers *peers;
	int peers_fd;
	struct cgs_tcp_peer_key *keys; /* one scan's worth */
	struct cgs_tcp_peer_counters *vals;
	size_t kcap;
	uint64_t last_scan_ns;
};

static uint32_t peer_map_entries(uint32_t nslots, uint64_t top_n)
{
	uint64_t n = (uint64_t)nslots * top_n * PEER_MAP_PER_SHOWN;

	return n < PEER_MAP_MIN ? PEER_MAP_MIN : n > PEER_MAP_MAX ? PEER_MAP_MAX : (uint32_t)n;
}

int cgs_tcp_samples(const struct cgs_tcp_counters *c, struct cgs_samples *out)
{
	int64_t active = (int64_t)c->active;
	uint64_t hist[CGS_TCP_HIST_BUCKETS];
	int r[6];
	int e = 0;

	/* A slot reset racing with the end of an old socket can take one too many: never below 0. */
	if (active < 0)
		active = 0;
	r[0] = cgs_samples_add_l(out, CGS_M_TCP_CONNECTS, "ok", NULL, (double)c->connects_ok);
	r[1] = cgs_samples_add_l(out, CGS_M_TCP_CONNECTS, "failed", NULL, (double)c->connects_failed);
	r[2] = cgs_samples_add(out, CGS_M_TCP_ACCEPTS, (double)c->accepts);
	r[3] = cgs_samples_add(out, CGS_M_TCP_ACTIVE_CONNECTIONS, (double)active);
	for (int i = 0; i < CGS_TCP_HIST_BUCKETS; i++)
		hist[i] = c->lat_hist[i];
	r[4] = cgs_samples_add_hist(out, CGS_M_TCP_CONNECT_LATENCY, NULL, hist, (double)c->lat_sum_ns / 1e9);
	r[5] = cgs_samples_add(out, CGS_M_TCP_RETRANSMITS, (double)c->retransmits);
	for (int i = 0; i < 6; i++)
		if (r[i] && !e)
			e = r[i];
	return e;
}

int cgs_tcp_retransmit_has_err(const struct btf *btf)
{
	const struct btf_type *t;
	int id = btf__find_by_name_kind(btf, "btf_trace_tcp_retransmit_skb", BTF_KIND_TYPEDEF);

	if (id <= 0)
		return -ENOENT;
	/* typedef -> pointer -> func_proto (void *ctx, sk, skb[, err]) */
	t = btf__type_by_id(btf, (__u32)id);
	for (int hops = 0; t && !btf_is_func_proto(t) && hops < 4; hops++) {
		if (!btf_is_typedef(t) && !btf_is_ptr(t) && !btf_is_mod(t))
			return -ENOENT;
		t = btf__type_by_id(btf, t->type);
	}
	if (!t || !btf_is_func_proto(t))
		return -ENOENT;
	return btf_vlen(t) >= 4;
}

/* A slot was handed to a container: zero its counters and bump its epoch. */
static void tcp_reset_slot(void *arg, uint32_t slot)
{
	struct tcp *tc = arg;
	struct cgs_tcp_counters v;
	__u32 key = slot, epoch = 0;

	if (bpf_map_lookup_elem(tc->stats_fd, &key, &v) == 0)
		epoch = v.epoch;
	memset(&v, 0, sizeof(v));
	v.epoch = epoch + 1;
	if (bpf_map_update_elem(tc->stats_fd, &key, &v, BPF_ANY) < 0)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot reset slot %u: %s", slot, strerror(errno));
	else if (tc->peers)
		cgs_tcp_peers_reset_slot(tc->peers, slot, v.epoch);
}

static void tcp_destroy(void *state)
{
	struct tcp *tc = state;

	if (!tc)
		return;
	tcp_bpf__destroy(tc->skel);
	cgs_tcp_peers_free(tc->peers);
	free(tc->keys);
	free(tc->vals);
	free(tc);
}

/* Opens, configures, loads and attaches one variant. 0 or -errno; the skeleton is kept on failure. */
static int tcp_load(struct tcp *tc, const struct cgs_collector_ctx *ctx, enum tcp_variant v, bool has_err)
{
	struct tcp_bpf *s;
	bool btf = v != TCP_RAW_HASH, peers = ctx->cfg->tcp_peer_top_n > 0;
	int e;

	s = tc->skel = tcp_bpf__open();
	if (!s)
		return -errno;
	s->rodata->include_host = ctx->cfg->include_host;
	s->rodata->retransmit_has_err = has_err;
	s->rodata->peer_counts = peers;
	bpf_program__set_autoload(s->progs.handle_set_state_sks, v == TCP_BTF_STORAGE);
	bpf_program__set_autoload(s->progs.handle_set_state, v == TCP_BTF_HASH);
	bpf_program__set_autoload(s->progs.handle_set_state_raw, v == TCP_RAW_HASH);
	bpf_program__set_autoload(s->progs.handle_retransmit_sks, v == TCP_BTF_STORAGE);
	bpf_program__set_autoload(s->progs.handle_retransmit, v == TCP_BTF_HASH);
	bpf_program__set_autoload(s->progs.handle_retransmit_raw, v == TCP_RAW_HASH);
	bpf_program__set_autoload(s->progs.handle_retransmit_synack, btf);
	bpf_program__set_autoload(s->progs.handle_retransmit_synack_raw, !btf);
	e = bpf_map__set_autocreate(s->maps.tcp_sock_storage, v == TCP_BTF_STORAGE);
	if (!e)
		e = bpf_map__set_autocreate(s->maps.tcp_sock_hash, v != TCP_BTF_STORAGE);
	if (!e)
		e = bpf_map__set_max_entries(s->maps.tcp_stats, cgs_slots_max(ctx->slots));
	/* Off, the per-peer code is dead (peer_counts) and its table is not made. */
	if (!e)
		e = bpf_map__set_autocreate(s->maps.tcp_peers, peers);
	if (!e && peers)
		e = bpf_map__set_max_entries(s->maps.tcp_peers,
					     peer_map_entries(cgs_slots_max(ctx->slots), ctx->cfg->tcp_peer_top_n));
	if (!e)
		e = cgs_slots_reuse(ctx->slots, s->maps.cgs_cgroup_slots, s->maps.cgs_slots_meta);
	if (!e)
		e = tcp_bpf__load(s);
	if (!e)
		e = tcp_bpf__attach(s);
	tc->variant = v;
	return e < 0 ? e : e ? -EINVAL : 0;
}

static int tcp_init(const struct cgs_collector_ctx *ctx, void **state, const char **why)
{
	const struct cgs_bpf_features *f = ctx->features;
	struct btf *vmlinux;
	struct tcp *tc;
	int has_err, e = -EINVAL;

	if (!ctx->slots || !f->bpf || !f->btf || (!f->tp_btf && !f->raw_tp)) {
		*why = !ctx->slots || !f->bpf ? "BPF programs cannot be loaded here"
		       : !f->btf	      ? "no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)"
					      : "no raw tracepoints";
		return -EOPNOTSUPP;
	}
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		e = -errno;
		*why = "cannot read the kernel BTF";
		return e ? e : -ENOENT;
	}
	has_err = cgs_tcp_retransmit_has_err(vmlinux);
	btf__free(vmlinux);
	if (has_err < 0) {
		*why = "the kernel has no tcp_retransmit_skb tracepoint";
		return -EOPNOTSUPP;
	}
	tc = calloc(1, sizeof(*tc));
	if (!tc)
		return -ENOMEM;
	for (enum tcp_variant v = f->tp_btf ? TCP_BTF_STORAGE : TCP_RAW_HASH; v <= TCP_RAW_HASH; v++) {
		if (v == TCP_RAW_HASH && !f->raw_tp)
			break;
		if (v == TCP_BTF_STORAGE && !f->sk_storage)
			continue;
		e = tcp_load(tc, ctx, v, has_err == 1);
		if (!e)
			break;
		cgs_log_debug(LOG_COMP, "%s unavailable: %s", variant_name[v], strerror(-e));
		tcp_bpf__destroy(tc->skel);
		tc->skel = NULL;
	}
	if (e) {
		*why = "loading or attaching the BPF programs failed";
		goto fail;
	}
	tc->stats_fd = bpf_map__fd(tc->skel->maps.tcp_stats);
	if (ctx->cfg->tcp_peer_top_n) {
		tc->peers_fd = bpf_map__fd(tc->skel->maps.tcp_peers);
		tc->peers = cgs_tcp_peers_new(cgs_slots_max(ctx->slots), (uint32_t)ctx->cfg->tcp_peer_top_n);
		if (!tc->peers) {
			e = -ENOMEM;
			*why = "no memory for the per-peer breakdown";
			goto fail;
		}
	}
	e = cgs_slots_watch(ctx->slots, tcp_reset_slot, NULL, tc);
	if (e) {
		*why = "no room for another slot-reset callback";
		goto fail;
	}
	cgs_log_info(LOG_COMP, "tracking TCP state changes and retransmits with %s%s", variant_name[tc->variant],
		     has_err == 1 ? " (retransmit tracepoint reports errors)" : "");
	if (tc->peers) {
		uint64_t per = ctx->cfg->tcp_peer_top_n * CGS_TCP_PEER_SERIES;

		cgs_log_info(LOG_COMP, "per-peer series for the top %llu destinations of each container "
			     "(kernel table of %u entries)", (unsigned long long)ctx->cfg->tcp_peer_top_n,
			     bpf_map__max_entries(tc->skel->maps.tcp_peers));
		if (per * 2 > ctx->cfg->max_series_per_container)
			cgs_log_warn(LOG_COMP, "tcp_peer_top_n %llu takes up to %llu of the %llu series of "
				     "max_series_per_container: destinations that do not fit are left out "
				     "(cgsight_series_dropped_total)", (unsigned long long)ctx->cfg->tcp_peer_top_n,
				     (unsigned long long)per, (unsigned long long)ctx->cfg->max_series_per_container);
	}
	*state = tc;
	return 0;
fail:
	tcp_destroy(tc);
	return e < 0 ? e : -EINVAL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Reads the whole per-peer table into tc->keys/vals. The number of entries, or -errno. */
static long peers_read(struct tcp *tc)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 in = 0, out = 0, count;
	size_t n = 0;
	int e;

	for (;;) {
		if (n + PEER_BATCH > tc->kcap) {
			size_t ncap = tc->kcap ? tc->kcap * 2 : 4 * PEER_BATCH;
			struct cgs_tcp_peer_key *k = realloc(tc->keys, ncap * sizeof(*k));
			struct cgs_tcp_peer_counters *v;

			if (!k)
				return -ENOMEM;
			tc->keys = k;
			v = realloc(tc->vals, ncap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			tc->vals = v;
			tc->kcap = ncap;
		}
		count = PEER_BATCH;
		e = bpf_map_lookup_batch(tc->peers_fd, n ? &in : NULL, &out, tc->keys + n, tc->vals + n, &count, &opts);
		if (e < 0 && e != -ENOENT)
			return e;
		n += count;
		if (e == -ENOENT)
			return (long)n;
		in = out;
	}
}

/* Once per collection: the kernel's per-peer table into every slot's top N. */
static int tcp_begin(void *state)
{
	struct tcp *tc = state;
	uint64_t now = mono_ns();
	long n;
	int e;

	if (!tc->peers)
		return 0;
	n = peers_read(tc);
	if (n < 0) {
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot read the per-peer table: %s", strerror((int)-n));
		return (int)n;
	}
	/* Entries of a slot's previous owner: no longer of use. */
	for (long i = 0; i < n; i++)
		if (tc->keys[i].epoch != cgs_tcp_peers_epoch(tc->peers, tc->keys[i].slot))
			bpf_map_delete_elem(tc->peers_fd, &tc->keys[i]);
	e = cgs_tcp_peers_update(tc->peers, tc->keys, tc->vals, (size_t)n,
				 tc->last_scan_ns ? (double)(now - tc->last_scan_ns) / 1e9 : 0);
	if (e) {
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "per-peer breakdown not updated: %s", strerror(-e));
		return e;
	}
	tc->last_scan_ns = now;
	return 0;
}

static int tcp_collect(void *state, const struct cgs_container *c, struct cgs_samples *out)
{
	struct tcp *tc = state;
	struct cgs_tcp_counters v;
	__u32 key;

	if (c->slot < 0)
		return 0;
	key = (__u32)c->slot;
	if (bpf_map_lookup_elem(tc->stats_fd, &key, &v) < 0)
		return 1;
	cgs_tcp_samples(&v, out);
	if (tc->peers)
		cgs_tcp_peers_samples(tc->peers, key, out);
	return 0;
}

static int tcp_collect_agent(void *state, struct cgs_samples *out)
{
	struct tcp *tc = state;

	/* Sockets left untracked, and per-peer events that found no table entry. */
	return cgs_samples_add_l(out, CGS_M_AGENT_EVENTS_LOST, "tcp", NULL,
				 (double)(__atomic_load_n(&tc->skel->bss->untracked, __ATOMIC_RELAXED) +
					  __atomic_load_n(&tc->skel->bss->peers_lost, __ATOMIC_RELAXED)));
}

static const char *tcp_variant(void *state, bool *fallback)
{
	const struct tcp *tc = state;

	*fallback = tc->variant != TCP_BTF_STORAGE;
	return variant_token[tc->variant];
}

const struct cgs_collector_ops cgs_collector_tcp = {
	.name = "tcp",
	.bpf = true,
	.variant = tcp_variant,
	.init = tcp_init,
	.begin = tcp_begin,
	.collect = tcp_collect,
	.collect_agent = tcp_collect_agent,
	.destroy = tcp_destroy,
};
