/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure halves of the net and tcp collectors (collectors/net.c,
 * collectors/tcp.c): summing what the kernel side counted and turning it
 * into samples, and reading the kernel's BTF for tracepoint variants. No
 * BPF, no I/O: tested without privileges (tests/unit/test_net.c).
 * Include <linux/types.h> first.
 */
#ifndef CGS_COLLECTORS_NET_STATS_H
#define CGS_COLLECTORS_NET_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "../agent/samples.h"
#include "../bpf/net.h"
#include "../bpf/tcp.h"

struct btf;

/* The `interface` label of each interface class (CGS_NET_IF_*). */
extern const char *const cgs_net_if_label[CGS_NET_IF_COUNT];

/* Sums `ncpu` per-CPU values laid out back to back into `out`. */
void cgs_net_sum(const struct cgs_net_counters *percpu, size_t ncpu, struct cgs_net_counters *out);
/* Appends the four traffic families for every interface class. 0 or -errno (first failure). */
int cgs_net_samples(const struct cgs_net_counters *c, struct cgs_samples *out);

/* Appends the TCP health families. 0 or -errno (first failure). */
int cgs_tcp_samples(const struct cgs_tcp_counters *c, struct cgs_samples *out);
/*
 * Whether the kernel's tcp_retransmit_skb tracepoint passes `err` (a third
 * argument, Linux 6.17): 1 yes, 0 no, -ENOENT when the BTF lacks the
 * tracepoint's btf_trace_ typedef.
 */
int cgs_tcp_retransmit_has_err(const struct btf *btf);

/*
 * The per-peer breakdown (tcp_peer_top_n): what the tcp collector keeps
 * between scans of the kernel's peer table, and each container's top N.
 * Destinations are ranked by their activity, connects (ok + failed) plus
 * retransmitted segments, decayed with a half-life of
 * CGS_TCP_PEER_HALF_LIFE_S; one already shown keeps its place until another
 * is CGS_TCP_PEER_KEEP times as active (no flapping between equals). Values
 * are totals since the agent first saw the destination, monotonic while it
 * is shown (a kernel entry evicted and made again counts on from there).
 * See docs/collectors/tcp.md.
 */
#define CGS_TCP_PEER_HALF_LIFE_S 300.0
#define CGS_TCP_PEER_KEEP        1.25
/* Series per destination (the max_series_per_container budget): connects ok and failed,
 * retransmits, the latency summary's _sum and _count. */
#define CGS_TCP_PEER_SERIES 5
/* Longest destination label: "[" IPv6 "]:" port. */
#define CGS_TCP_PEER_DEST_MAX 56

struct cgs_tcp_peers;

/* NULL with errno. */
struct cgs_tcp_peers *cgs_tcp_peers_new(uint32_t nslots, uint32_t top_n);
void cgs_tcp_peers_free(struct cgs_tcp_peers *p);
/* The slot's current epoch: kernel entries with another belong to a previous owner. */
uint32_t cgs_tcp_peers_epoch(const struct cgs_tcp_peers *p, uint32_t slot);
/* The slot was handed to a container whose counters carry `epoch`: its destinations are forgotten. */
void cgs_tcp_peers_reset_slot(struct cgs_tcp_peers *p, uint32_t slot, uint32_t epoch);
/*
 * One scan of the kernel's table: `n` keys and values in any order (entries
 * of an unknown slot or an old epoch are skipped), `dt` seconds after the
 * previous scan. Updates the totals and each slot's top N. 0, or -ENOMEM
 * (the previous state is kept).
 */
int cgs_tcp_peers_update(struct cgs_tcp_peers *p, const struct cgs_tcp_peer_key *keys,
			 const struct cgs_tcp_peer_counters *vals, size_t n, double dt);
/* Destinations known (shown or not): bounded by the kernel table plus those shown. */
size_t cgs_tcp_peers_count(const struct cgs_tcp_peers *p);
/*
 * Appends the series of the slot's top N, busiest first, as many whole
 * destinations (CGS_TCP_PEER_SERIES series each) as the list's budget holds;
 * the series of those left out are counted in out->dropped. 0 or -errno.
 */
int cgs_tcp_peers_samples(const struct cgs_tcp_peers *p, uint32_t slot, struct cgs_samples *out);
/* The destination label: "a.b.c.d:port" or "[v6]:port". Its length, or -EINVAL. */
int cgs_tcp_peer_format(const struct cgs_tcp_peer_key *k, char *buf, size_t len);

#endif
