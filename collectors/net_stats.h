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

#endif
