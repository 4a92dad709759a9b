/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network traffic collector: loads bpf/net.bpf.c, attaches its cgroup_skb
 * ingress and egress programs once at the cgroup2 root through bpf_links
 * (owned by this process: detached when it exits, never pinned, beside
 * whatever else is attached there), and exports each container's per-CPU
 * counters as cAdvisor's container_network_* families. See
 * docs/collectors/net.md for the byte, packet and interface definitions.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../agent/bpf_probe.h"
#include "../agent/config.h"
#include "../agent/log.h"
#include "../agent/slots.h"
#include <linux/types.h>

#include "collector.h"
#include "net_stats.h"
#include "net.skel.h"

#define LOG_COMP "collector:net"

struct net {
	struct net_bpf *skel;
	struct bpf_link *ingress, *egress;
	int stats_fd;
	size_t ncpu;
	struct cgs_net_counters *percpu; /* ncpu values: one lookup's worth */
	uint64_t lookup_errors;
};

const char *const cgs_net_if_label[CGS_NET_IF_COUNT] = {
	[CGS_NET_IF_ETH] = "eth0",
	[CGS_NET_IF_LO] = "lo",
};

void cgs_net_sum(const struct cgs_net_counters *percpu, size_t ncpu, struct cgs_net_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ncpu; i++) {
		for (int k = 0; k < CGS_NET_IF_COUNT; k++) {
			out->rx[k].bytes += percpu[i].rx[k].bytes;
			out->rx[k].packets += percpu[i].rx[k].packets;
			out->tx[k].bytes += percpu[i].tx[k].bytes;
			out->tx[k].packets += percpu[i].tx[k].packets;
		}
	}
}

int cgs_net_samples(const struct cgs_net_counters *c, struct cgs_samples *out)
{
	int e = 0;

	for (int k = 0; k < CGS_NET_IF_COUNT; k++) {
		const char *ifc = cgs_net_if_label[k];
		int r[4] = {
			cgs_samples_add_l(out, CGS_M_NET_RX_BYTES, ifc, NULL, (double)c->rx[k].bytes),
			cgs_samples_add_l(out, CGS_M_NET_TX_BYTES, ifc, NULL, (double)c->tx[k].bytes),
			cgs_samples_add_l(out, CGS_M_NET_RX_PACKETS, ifc, NULL, (double)c->rx[k].packets),
			cgs_samples_add_l(out, CGS_M_NET_TX_PACKETS, ifc, NULL, (double)c->tx[k].packets),
		};
		for (int i = 0; i < 4; i++)
			if (r[i] && !e)
				e = r[i];
	}
	return e;
}

/* A slot was handed to a container: its counters start from zero. */
static void net_reset_slot(void *arg, uint32_t slot)
{
	struct net *n = arg;
	__u32 key = slot;

	memset(n->percpu, 0, n->ncpu * sizeof(*n->percpu));
	if (bpf_map_update_elem(n->stats_fd, &key, n->percpu, BPF_ANY) < 0)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot reset slot %u: %s", slot, strerror(errno));
}

static void net_destroy(void *state)
{
	struct net *n = state;

	if (!n)
		return;
	bpf_link__destroy(n->ingress);
	bpf_link__destroy(n->egress);
	net_bpf__destroy(n->skel);
	free(n->percpu);
	free(n);
}

static int net_init(const struct cgs_collector_ctx *ctx, void **state, const char **why)
{
	const struct cgs_bpf_features *f = ctx->features;
	struct net *n;
	int cpus, cg_fd = -1, e;

	if (!ctx->slots || !f->bpf || !f->cgroup_skb || !ctx->mounts->v2[0]) {
		*why = !ctx->slots || !f->bpf ? "BPF programs cannot be loaded here"
		       : !f->cgroup_skb	      ? "no cgroup_skb programs in this kernel"
					      : "no cgroup2 hierarchy to attach to";
		return -EOPNOTSUPP;
	}
	cpus = libbpf_num_possible_cpus();
	if (cpus <= 0) {
		*why = "cannot count the possible CPUs";
		return cpus < 0 ? cpus : -EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->ncpu = (size_t)cpus;
	n->stats_fd = -1;
	n->percpu = calloc(n->ncpu, sizeof(*n->percpu));
	n->skel = net_bpf__open();
	if (!n->percpu || !n->skel) {
		e = -errno;
		goto fail;
	}
	n->skel->rodata->include_host = ctx->cfg->include_host;
	e = bpf_map__set_max_entries(n->skel->maps.net_stats, cgs_slots_max(ctx->slots));
	if (!e)
		e = cgs_slots_reuse(ctx->slots, n->skel->maps.cgs_cgroup_slots, n->skel->maps.cgs_slots_meta);
	if (!e)
		e = net_bpf__load(n->skel);
	if (e)
		goto fail;
	n->stats_fd = bpf_map__fd(n->skel->maps.net_stats);
	cg_fd = open(ctx->mounts->v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		e = -errno;
		*why = "cannot open the cgroup2 root";
		goto fail_why;
	}
	n->ingress = bpf_program__attach_cgroup(n->skel->progs.handle_ingress, cg_fd);
	if (!n->ingress) {
		e = -errno;
		goto fail;
	}
	n->egress = bpf_program__attach_cgroup(n->skel->progs.handle_egress, cg_fd);
	if (!n->egress) {
		e = -errno;
		goto fail;
	}
	close(cg_fd);
	cg_fd = -1;
	e = cgs_slots_watch(ctx->slots, net_reset_slot, NULL, n);
	if (e) {
		*why = "no room for another slot-reset callback";
		goto fail_why;
	}
	cgs_log_info(LOG_COMP, "counting traffic with cgroup_skb programs on %s", ctx->mounts->v2);
	*state = n;
	return 0;
fail:
	*why = "loading or attaching the BPF programs failed";
fail_why:
	if (cg_fd >= 0)
		close(cg_fd);
	net_destroy(n);
	return e < 0 ? e : -EINVAL;
}

static int net_collect(void *state, const struct cgs_container *c, struct cgs_samples *out)
{
	struct net *n = state;
	struct cgs_net_counters sum;
	__u32 key;

	if (c->slot < 0)
		return 0;
	key = (__u32)c->slot;
	if (bpf_map_lookup_elem(n->stats_fd, &key, n->percpu) < 0) {
		n->lookup_errors++;
		return 1;
	}
	cgs_net_sum(n->percpu, n->ncpu, &sum);
	cgs_net_samples(&sum, out);
	return 0;
}

/* One variant: cgroup_skb programs on the cgroup2 root. */
static const char *net_variant(void *state, bool *fallback)
{
	(void)state;
	*fallback = false;
	return "cgroup_skb";
}

const struct cgs_collector_ops cgs_collector_net = {
	.name = "net",
	.bpf = true,
	.variant = net_variant,
	.init = net_init,
	.collect = net_collect,
	.destroy = net_destroy,
};
