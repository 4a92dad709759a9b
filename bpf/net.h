/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wire format of the per-container traffic counters: one value per container
 * slot in a per-CPU array, filled by bpf/net.bpf.c (cgroup_skb ingress and
 * egress on the cgroup2 root) and summed by collectors/net.c.
 */
#ifndef CGS_BPF_NET_H
#define CGS_BPF_NET_H

/*
 * Interface classes. The cgroup hook sees the device index, not a name that
 * means anything outside the packet's network namespace; ifindex 1 is the
 * loopback device in every namespace, everything else is the container's
 * network (exported as interface="eth0", see docs/collectors/net.md).
 */
#define CGS_NET_IF_ETH   0
#define CGS_NET_IF_LO    1
#define CGS_NET_IF_COUNT 2
#define CGS_NET_LOOPBACK_IFINDEX 1

/*
 * L3 (IP header and everything after it) of every packet on the wire: a
 * GSO/GRO aggregate counts as its gso_segs segments, each with its headers.
 */
struct cgs_net_dir {
	__u64 bytes;
	__u64 packets;
};

struct cgs_net_counters {
	struct cgs_net_dir rx[CGS_NET_IF_COUNT];
	struct cgs_net_dir tx[CGS_NET_IF_COUNT];
};

_Static_assert(sizeof(struct cgs_net_counters) == 64, "cgs_net_counters layout");

#endif
