// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-container traffic: cgroup_skb ingress and egress programs attached
 * once at the cgroup2 root (bpf_link, so they sit beside any other
 * program attached there and never replace one). Every IPv4/IPv6 packet of
 * a socket runs them; the socket's cgroup (bpf_skb_cgroup_id: the cgroup the
 * socket was created in, whatever network namespace it lives in) gives the
 * container slot, and the packet is added to that slot's per-CPU counters:
 * L3 bytes and packets as they are on the wire, a GSO/GRO aggregate counted
 * as its segments, each with its own headers. The packet always passes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "net.h"
#include "lib/slots.bpf.h"

#define CGS_NET_IPPROTO_TCP 6
#define CGS_NET_IPPROTO_UDP 17

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Count traffic of sockets outside every container in slot 0 (config include_host). */
const volatile bool include_host = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1); /* set to the number of slots before load */
	__type(key, __u32);
	__type(value, struct cgs_net_counters);
} net_stats SEC(".maps");

/*
 * Bytes of the L3 headers (IP + TCP/UDP) that each segment of a GSO or GRO
 * aggregate repeats on the wire, read from the linear head; 0 when they are
 * not there (the aggregate is then counted as the hook sees it).
 */
static __always_inline __u32 segment_headers(struct __sk_buff *skb)
{
	__u8 *p = (__u8 *)(long)skb->data;
	__u8 *end = (__u8 *)(long)skb->data_end;
	__u32 l3, proto;
	__u8 *l4;

	if (p + 40 > end)
		return 0;
	if ((p[0] >> 4) == 4) {
		l3 = (__u32)(p[0] & 0x0f) * 4;
		proto = p[9];
	} else if ((p[0] >> 4) == 6) {
		l3 = 40;
		proto = p[6];
	} else {
		return 0;
	}
	if (l3 < 20)
		return 0;
	if (proto == CGS_NET_IPPROTO_UDP)
		return l3 + 8;
	if (proto != CGS_NET_IPPROTO_TCP)
		return l3;
	l4 = p + l3;
	if (l4 + 13 > end)
		return 0;
	return l3 + (__u32)(l4[12] >> 4) * 4;
}

static __always_inline void account(struct __sk_buff *skb, bool egress)
{
	int slot = cgs_slot_of_cgroup(bpf_skb_cgroup_id(skb));
	struct cgs_net_counters *c;
	struct cgs_net_dir *d;
	__u32 key, segs, ifc;
	__u64 bytes;

	if (slot < 0) {
		if (!include_host)
			return;
		slot = CGS_SLOT_HOST;
	}
	key = (__u32)slot;
	c = bpf_map_lookup_elem(&net_stats, &key);
	if (!c)
		return;
	ifc = skb->ifindex == CGS_NET_LOOPBACK_IFINDEX ? CGS_NET_IF_LO : CGS_NET_IF_ETH;
	d = egress ? &c->tx[ifc] : &c->rx[ifc];
	bytes = skb->len;
	segs = skb->gso_segs;
	if (segs > 1)
		bytes += (__u64)(segs - 1) * segment_headers(skb);
	else
		segs = 1;
	/*
	 * Atomic adds: an egress update in process context can be interrupted
	 * on the same CPU by a softirq that transmits (ACKs, retransmits).
	 */
	__sync_fetch_and_add(&d->bytes, bytes);
	__sync_fetch_and_add(&d->packets, segs);
}

SEC("cgroup_skb/ingress")
int handle_ingress(struct __sk_buff *skb)
{
	account(skb, false);
	return 1;
}

SEC("cgroup_skb/egress")
int handle_egress(struct __sk_buff *skb)
{
	account(skb, true);
	return 1;
}
