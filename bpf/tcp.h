/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wire format of the per-container TCP health counters: one value per
 * container slot in an array, filled by bpf/tcp.bpf.c (sock:inet_sock_set_state
 * and tcp:tcp_retransmit_skb) and read by collectors/tcp.c; and the
 * per-socket state the kernel side keeps between transitions.
 */
#ifndef CGS_BPF_TCP_H
#define CGS_BPF_TCP_H

/* Same buckets as every kernel histogram (bpf/lib/hist.bpf.h, agent/metrics.h). */
#define CGS_TCP_HIST_BUCKETS 24
/* Sockets tracked at once where socket local storage is missing (hash fallback). */
#define CGS_TCP_MAX_TRACKED_SOCKS 65536

struct cgs_tcp_counters {
	__u64 connects_ok;     /* SYN_SENT -> ESTABLISHED */
	__u64 connects_failed; /* SYN_SENT -> CLOSE */
	__u64 accepts;         /* SYN_RECV -> ESTABLISHED */
	__u64 retransmits;     /* segments */
	__u64 active;          /* established sockets: a signed gauge (__s64) */
	__u64 lat_sum_ns;
	__u64 lat_hist[CGS_TCP_HIST_BUCKETS]; /* non-cumulative log2 microsecond buckets */
	__u32 epoch;           /* bumped by userspace each time the slot is handed out */
	__u32 pad;
};

_Static_assert(sizeof(struct cgs_tcp_counters) == 6 * 8 + CGS_TCP_HIST_BUCKETS * 8 + 8,
	       "cgs_tcp_counters layout");

/* cgs_tcp_sock.flags */
#define CGS_TCP_SOCK_ESTABLISHED 1u
#define CGS_TCP_SOCK_ACTIVE      2u /* an active open that made it (per-peer retransmits) */

/* Per socket (socket local storage, or a hash keyed by the socket's address). */
struct cgs_tcp_sock {
	__u64 syn_ns;    /* ktime of CLOSE -> SYN_SENT; 0 when no active open is pending */
	__u32 est_slot;  /* slot counted in `active` while ESTABLISHED */
	__u32 est_epoch; /* that slot's epoch then: a reused slot is not decremented */
	__u32 flags;
	__u32 pad;
};

_Static_assert(sizeof(struct cgs_tcp_sock) == 24, "cgs_tcp_sock layout");

/*
 * Per-peer breakdown (tcp_peer_top_n > 0): counters per container slot and
 * remote end of its active opens, in an LRU hash; userspace keeps the top N
 * of each container. IPv4-mapped IPv6 addresses are stored as IPv4, so one
 * destination has one key whatever the socket's family.
 */
#define CGS_TCP_PEER_AF_INET  2
#define CGS_TCP_PEER_AF_INET6 10

struct cgs_tcp_peer_key {
	__u32 slot;
	__u32 epoch;   /* the slot's epoch: entries of a previous owner never match */
	__u32 addr[4]; /* network byte order; IPv4: addr[0], the rest 0 */
	__u16 port;    /* host byte order */
	__u16 family;  /* CGS_TCP_PEER_AF_* */
	__u32 pad;
};

_Static_assert(sizeof(struct cgs_tcp_peer_key) == 32, "cgs_tcp_peer_key layout");

struct cgs_tcp_peer_counters {
	__u64 connects_ok;
	__u64 connects_failed;
	__u64 retransmits;  /* segments, on the socket's way from SYN_SENT to CLOSE */
	__u64 lat_sum_ns;   /* SYN_SENT -> ESTABLISHED, where the SYN's time is known */
	__u64 lat_count;
};

_Static_assert(sizeof(struct cgs_tcp_peer_counters) == 40, "cgs_tcp_peer_counters layout");

#endif
