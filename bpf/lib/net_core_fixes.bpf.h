/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CO-RE helpers for socket fields whose layout changed across kernels, one
 * per change, each naming the change it papers over. Used by the TCP health
 * collector, whose tracepoints often fire in softirq context where the
 * current task is unrelated to the socket: the socket itself says which
 * cgroup it belongs to.
 */
#ifndef CGS_BPF_LIB_NET_CORE_FIXES_BPF_H
#define CGS_BPF_LIB_NET_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * Before Linux 5.15 (commit 8520e224f547 "bpf, cgroups: Fix cgroup v2
 * fallback on v1/v2 mixed mode"), struct sock_cgroup_data was a union whose
 * `val` held either the cgroup2 pointer or, once net_prio/net_cls (v1) had
 * been used on the socket (low bits set), prioidx/classid: the cgroup2
 * pointer was then lost and the kernel itself fell back to the root cgroup.
 * Since 5.15 a dedicated `cgroup` pointer always holds it.
 */
struct sock_cgroup_data___pre515 {
	__u64 val;
} __attribute__((preserve_access_index));

struct sock___pre515 {
	struct sock_cgroup_data___pre515 sk_cgrp_data;
} __attribute__((preserve_access_index));

/*
 * The cgroup2 id (kernfs node id, what bpf_get_current_cgroup_id() returns)
 * of the cgroup a socket was created in (accepted sockets: the listener's),
 * or 0 when the kernel does not know it. kernfs_node::id is a u64 since
 * Linux 5.5 (commit 67c0496e87d1), below this collector's minimum of 5.8.
 */
static __always_inline __u64 cgs_sk_cgroup_id(const struct sock *sk)
{
	struct cgroup *cg;

	if (bpf_core_field_exists(struct sock_cgroup_data, cgroup)) {
		cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	} else {
		const struct sock___pre515 *old = (const void *)sk;
		__u64 v = BPF_CORE_READ(old, sk_cgrp_data.val);

		if (v & 3) /* prioidx/classid mode: the kernel counts it as the root */
			return 0;
		cg = (struct cgroup *)(unsigned long)v;
	}
	if (!cg)
		return 0;
	return BPF_CORE_READ(cg, kn, id);
}

#endif
