// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-container TCP health from sock:inet_sock_set_state,
 * tcp:tcp_retransmit_skb and tcp:tcp_retransmit_synack: active opens (ok/failed, SYN_SENT -> ESTABLISHED
 * latency), passive opens, established sockets (a gauge) and retransmitted
 * segments. Many transitions happen in softirq context where the current
 * task is unrelated, so each socket is attributed through its own cgroup
 * data (bpf/lib/net_core_fixes.bpf.h), not through the current task.
 *
 * Per-socket state (pending SYN time, which slot counted it as
 * established) lives in socket local storage where tracing programs may use
 * it (tp_btf, Linux 5.11+), else in a bounded hash keyed by the socket's
 * address. Userspace picks one of three program variants by probing:
 * tp_btf + storage, tp_btf + hash, raw_tp + hash. None needs tracefs.
 *
 * With tcp_peer_top_n > 0 (peer_counts), active opens and their
 * retransmits are also counted per remote address and port in an LRU hash;
 * off, that code is dead and the verifier drops it (the map is not even
 * created).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "tcp.h"
#include "lib/hist.bpf.h"
#include "lib/net_core_fixes.bpf.h"
#include "lib/slots.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

_Static_assert(CGS_TCP_HIST_BUCKETS == CGS_HIST_BUCKETS, "TCP histogram buckets");

#define CGS_IPPROTO_TCP 6
/* include/net/tcp_states.h */
#define CGS_TCP_ESTABLISHED 1
#define CGS_TCP_SYN_SENT    2
#define CGS_TCP_SYN_RECV    3
#define CGS_TCP_CLOSE       7

/* Count sockets outside every container in slot 0 (config include_host). */
const volatile bool include_host = false;
/*
 * tcp_retransmit_skb has a third argument, err, and fires for failed
 * attempts too (Linux 6.17, "tcp: trace retransmit failures in
 * tcp_retransmit_skb"); only err == 0 is a retransmission. Found in the
 * kernel's BTF by userspace.
 */
const volatile bool retransmit_has_err = false;
/* Count per peer (config tcp_peer_top_n > 0). */
const volatile bool peer_counts = false;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of slots before load */
	__type(key, __u32);
	__type(value, struct cgs_tcp_counters);
} tcp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cgs_tcp_sock);
} tcp_sock_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, CGS_TCP_MAX_TRACKED_SOCKS);
	__type(key, __u64); /* socket address */
	__type(value, struct cgs_tcp_sock);
} tcp_sock_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* sized from tcp_peer_top_n before load; not created when 0 */
	__type(key, struct cgs_tcp_peer_key);
	__type(value, struct cgs_tcp_peer_counters);
} tcp_peers SEC(".maps");

/* Sockets left out of the gauge and latency: their state could not be stored. */
__u64 untracked = 0;
/* Per-peer events not counted: no entry could be made. */
__u64 peers_lost = 0;

static __always_inline int sock_slot(const struct sock *sk)
{
	__u64 cgid = cgs_sk_cgroup_id(sk);
	int slot = cgid ? cgs_slot_of_cgroup(cgid) : CGS_SLOT_NONE;

	if (slot < 0 && include_host)
		slot = CGS_SLOT_HOST;
	return slot;
}

static __always_inline struct cgs_tcp_counters *slot_counters(__u32 slot)
{
	return bpf_map_lookup_elem(&tcp_stats, &slot);
}

/* The socket's state; `create` makes a zeroed one. `sks`: storage, else hash (compile-time). */
static __always_inline struct cgs_tcp_sock *sock_state(const struct sock *sk, bool sks, bool create)
{
	struct cgs_tcp_sock *st, zero = {};
	__u64 key = (__u64)(unsigned long)sk;

	if (sks)
		return bpf_sk_storage_get(&tcp_sock_storage, (struct sock *)sk, 0,
					  create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	st = bpf_map_lookup_elem(&tcp_sock_hash, &key);
	if (st || !create)
		return st;
	bpf_map_update_elem(&tcp_sock_hash, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tcp_sock_hash, &key);
}

/* The socket needs no state any more (hash: free the entry). */
static __always_inline void sock_state_done(const struct sock *sk, struct cgs_tcp_sock *st, bool sks)
{
	__u64 key = (__u64)(unsigned long)sk;

	if (sks) {
		st->syn_ns = 0;
		st->flags = 0;
		return;
	}
	bpf_map_delete_elem(&tcp_sock_hash, &key);
}

/* The counters of the socket's remote end for this slot (created); NULL when no entry could be made. */
static __always_inline struct cgs_tcp_peer_counters *peer_counters(const struct sock *sk, __u32 slot, __u32 epoch)
{
	struct cgs_tcp_peer_key k = { .slot = slot, .epoch = epoch };
	struct cgs_tcp_peer_counters *p, zero = {};

	k.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	k.port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (k.family == CGS_TCP_PEER_AF_INET6) {
		BPF_CORE_READ_INTO(&k.addr, sk, __sk_common.skc_v6_daddr);
		/* ::ffff:a.b.c.d (an IPv6 socket talking IPv4): the IPv4 destination. */
		if (k.addr[0] == 0 && k.addr[1] == 0 && k.addr[2] == bpf_htonl(0xffff)) {
			k.family = CGS_TCP_PEER_AF_INET;
			k.addr[0] = k.addr[3];
			k.addr[2] = k.addr[3] = 0;
		}
	} else {
		k.family = CGS_TCP_PEER_AF_INET;
		BPF_CORE_READ_INTO(&k.addr[0], sk, __sk_common.skc_daddr);
	}
	p = bpf_map_lookup_elem(&tcp_peers, &k);
	if (p)
		return p;
	bpf_map_update_elem(&tcp_peers, &k, &zero, BPF_NOEXIST);
	p = bpf_map_lookup_elem(&tcp_peers, &k);
	if (!p)
		__sync_fetch_and_add(&peers_lost, 1);
	return p;
}

static __always_inline int on_set_state(const struct sock *sk, int oldstate, int newstate, bool sks)
{
	struct cgs_tcp_peer_counters *p;
	struct cgs_tcp_counters *c;
	struct cgs_tcp_sock *st;
	bool active;
	int slot;

	if (BPF_CORE_READ(sk, sk_protocol) != CGS_IPPROTO_TCP)
		return 0;

	if (newstate == CGS_TCP_SYN_SENT) {
		if (sock_slot(sk) < 0)
			return 0;
		st = sock_state(sk, sks, true);
		if (!st) {
			__sync_fetch_and_add(&untracked, 1);
			return 0;
		}
		st->syn_ns = bpf_ktime_get_ns();
		return 0;
	}

	if (newstate == CGS_TCP_ESTABLISHED) {
		slot = sock_slot(sk);
		if (slot < 0)
			return 0;
		c = slot_counters((__u32)slot);
		if (!c)
			return 0;
		st = sock_state(sk, sks, true);
		active = true;
		if (st && st->syn_ns) {
			__u64 ns = bpf_ktime_get_ns() - st->syn_ns;
			__u32 b = cgs_hist_bucket_ns(ns);

			/* Keep the bound check next to the access (clang may move it away). */
			barrier_var(b);
			__sync_fetch_and_add(&c->connects_ok, 1);
			if (b < CGS_TCP_HIST_BUCKETS)
				__sync_fetch_and_add(&c->lat_hist[b], 1);
			__sync_fetch_and_add(&c->lat_sum_ns, ns);
			st->syn_ns = 0;
			if (peer_counts && (p = peer_counters(sk, (__u32)slot, c->epoch))) {
				__sync_fetch_and_add(&p->connects_ok, 1);
				__sync_fetch_and_add(&p->lat_sum_ns, ns);
				__sync_fetch_and_add(&p->lat_count, 1);
			}
		} else if (oldstate == CGS_TCP_SYN_SENT) {
			__sync_fetch_and_add(&c->connects_ok, 1);
			if (peer_counts && (p = peer_counters(sk, (__u32)slot, c->epoch)))
				__sync_fetch_and_add(&p->connects_ok, 1);
		} else {
			active = false;
			if (oldstate == CGS_TCP_SYN_RECV)
				__sync_fetch_and_add(&c->accepts, 1);
		}
		if (!st) {
			__sync_fetch_and_add(&untracked, 1);
			return 0;
		}
		st->est_slot = (__u32)slot;
		st->est_epoch = c->epoch;
		st->flags |= CGS_TCP_SOCK_ESTABLISHED;
		if (active)
			st->flags |= CGS_TCP_SOCK_ACTIVE;
		__sync_fetch_and_add(&c->active, 1);
		return 0;
	}

	if (oldstate == CGS_TCP_ESTABLISHED) {
		st = sock_state(sk, sks, false);
		if (!st)
			return 0;
		if (st->flags & CGS_TCP_SOCK_ESTABLISHED) {
			c = slot_counters(st->est_slot);
			/* A slot handed to another container since: its gauge started afresh. */
			if (c && c->epoch == st->est_epoch)
				__sync_fetch_and_sub(&c->active, 1);
		}
		/* Per peer, an active open's retransmits (a FIN's) count until CLOSE: its state stays till then. */
		if (peer_counts && (st->flags & CGS_TCP_SOCK_ACTIVE) && newstate != CGS_TCP_CLOSE) {
			st->flags &= ~CGS_TCP_SOCK_ESTABLISHED;
			return 0;
		}
		/* Also frees the state of a socket that was not counted (no slot by then). */
		sock_state_done(sk, st, sks);
		return 0;
	}

	/* An active open that did not make it (SYN_SENT, or SYN_RECV after a simultaneous open). */
	if (newstate == CGS_TCP_CLOSE &&
	    (oldstate == CGS_TCP_SYN_SENT || oldstate == CGS_TCP_SYN_RECV)) {
		st = sock_state(sk, sks, false);
		if (oldstate != CGS_TCP_SYN_SENT && !(st && st->syn_ns))
			return 0;
		slot = sock_slot(sk);
		if (slot >= 0 && (c = slot_counters((__u32)slot))) {
			__sync_fetch_and_add(&c->connects_failed, 1);
			if (peer_counts && (p = peer_counters(sk, (__u32)slot, c->epoch)))
				__sync_fetch_and_add(&p->connects_failed, 1);
		}
		if (st)
			sock_state_done(sk, st, sks);
		return 0;
	}

	/* An active open closing after ESTABLISHED (FIN_WAIT*, CLOSING, LAST_ACK): the state kept for its peer goes. */
	if (peer_counts && newstate == CGS_TCP_CLOSE) {
		st = sock_state(sk, sks, false);
		if (st)
			sock_state_done(sk, st, sks);
	}
	return 0;
}

static __always_inline int on_retransmit(const struct sock *sk, const struct sk_buff *skb, bool sks)
{
	struct cgs_tcp_peer_counters *p;
	struct cgs_tcp_counters *c;
	struct cgs_tcp_sock *st;
	struct tcp_skb_cb *cb;
	__u16 segs;
	int slot;

	slot = sock_slot(sk);
	if (slot < 0)
		return 0;
	c = slot_counters((__u32)slot);
	if (!c)
		return 0;
	/* tcp_skb_pcount(): the segments this retransmission carries, as RetransSegs counts them. */
	cb = (struct tcp_skb_cb *)(void *)skb->cb;
	segs = BPF_CORE_READ(cb, tcp_gso_segs);
	if (!segs)
		segs = 1;
	__sync_fetch_and_add(&c->retransmits, segs);
	/* Per peer: only active opens (a SYN pending, or made it); an accepted socket's peer is a client. */
	if (peer_counts) {
		st = sock_state(sk, sks, false);
		if (st && (st->syn_ns || (st->flags & CGS_TCP_SOCK_ACTIVE)) &&
		    (p = peer_counters(sk, (__u32)slot, c->epoch)))
			__sync_fetch_and_add(&p->retransmits, segs);
	}
	return 0;
}

/* A listener (or Fast Open child) resent its SYN-ACK: one segment, as RetransSegs counts it. */
static __always_inline int on_retransmit_synack(const struct sock *sk)
{
	struct cgs_tcp_counters *c;
	int slot = sock_slot(sk);

	if (slot < 0)
		return 0;
	c = slot_counters((__u32)slot);
	if (c)
		__sync_fetch_and_add(&c->retransmits, 1);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state_sks, const struct sock *sk, int oldstate, int newstate)
{
	return on_set_state(sk, oldstate, newstate, true);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state, const struct sock *sk, int oldstate, int newstate)
{
	return on_set_state(sk, oldstate, newstate, false);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(handle_set_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	return on_set_state(sk, oldstate, newstate, false);
}

SEC("tp_btf/tcp_retransmit_skb")
int handle_retransmit_sks(__u64 *ctx)
{
	/* Read only when the argument exists: the verifier drops the dead branch. */
	if (retransmit_has_err && (int)ctx[2] != 0)
		return 0;
	return on_retransmit((const struct sock *)ctx[0], (const struct sk_buff *)ctx[1], true);
}

SEC("tp_btf/tcp_retransmit_skb")
int handle_retransmit(__u64 *ctx)
{
	if (retransmit_has_err && (int)ctx[2] != 0)
		return 0;
	return on_retransmit((const struct sock *)ctx[0], (const struct sk_buff *)ctx[1], false);
}

SEC("raw_tp/tcp_retransmit_skb")
int handle_retransmit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	if (retransmit_has_err && (int)ctx->args[2] != 0)
		return 0;
	return on_retransmit((const struct sock *)ctx->args[0], (const struct sk_buff *)ctx->args[1], false);
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(handle_retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	return on_retransmit_synack(sk);
}

SEC("raw_tp/tcp_retransmit_synack")
int BPF_PROG(handle_retransmit_synack_raw, const struct sock *sk, const struct request_sock *req)
{
	return on_retransmit_synack(sk);
}
