/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container-lifecycle collector: loads bpf/lifecycle.bpf.c (tp_btf, or its
 * raw_tp twin where the kernel lacks tp_btf), drains its ring buffer from
 * the event loop and feeds cgroup mkdir/rmdir into the container registry.
 * A truncated path or a lost event asks the agent for a rescan.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../agent/bpf_probe.h"
#include "../agent/log.h"
#include <linux/types.h>

#include "collector.h"
#include "lifecycle.h"
#include "lifecycle.skel.h"

#define LOG_COMP "collector:lifecycle"

struct lifecycle {
	struct cgs_collector_ctx ctx;
	struct lifecycle_bpf *skel;
	struct ring_buffer *rb;
	uint64_t truncated;
	uint64_t lost_seen;
	uint64_t bad;
	bool btf;
};

static int on_event(void *arg, void *data, size_t len)
{
	struct lifecycle *lc = arg;
	const struct cgs_lifecycle_event *e = data;
	char path[CGS_LIFECYCLE_PATH_MAX];
	int r = 0;

	if (len < sizeof(*e)) {
		lc->bad++;
		return 0;
	}
	if (e->type == CGS_LIFECYCLE_RMDIR) {
		r = cgs_registry_on_rmdir(lc->ctx.registry, e->id);
	} else if (e->type == CGS_LIFECYCLE_MKDIR) {
		if (e->path_len >= CGS_LIFECYCLE_PATH_MAX - 1) {
			lc->truncated++;
			lc->ctx.notify(lc->ctx.notify_arg, CGS_NOTIFY_RESCAN);
			return 0;
		}
		memcpy(path, e->path, e->path_len);
		path[e->path_len] = '\0';
		r = cgs_registry_on_mkdir(lc->ctx.registry, path, e->id);
		if (r < 0)
			cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot track %s: %s", path, strerror(-r));
	} else {
		lc->bad++;
	}
	if (r > 0)
		lc->ctx.notify(lc->ctx.notify_arg, CGS_NOTIFY_CHANGED);
	return 0;
}

static void lifecycle_destroy(void *state)
{
	struct lifecycle *lc = state;

	if (!lc)
		return;
	ring_buffer__free(lc->rb);
	lifecycle_bpf__destroy(lc->skel);
	free(lc);
}

static int lifecycle_init(const struct cgs_collector_ctx *ctx, void **state, const char **why)
{
	const struct cgs_bpf_features *f = ctx->features;
	struct lifecycle *lc;
	bool btf;
	int e;

	if (!f->bpf || !f->ringbuf || (!f->tp_btf && !f->raw_tp)) {
		*why = !f->bpf ? "BPF programs cannot be loaded here"
			       : !f->ringbuf ? "no BPF ring buffer (Linux < 5.8)" : "no raw tracepoints";
		return -EOPNOTSUPP;
	}
	lc = calloc(1, sizeof(*lc));
	if (!lc)
		return -ENOMEM;
	lc->ctx = *ctx;
	lc->skel = lifecycle_bpf__open();
	if (!lc->skel) {
		e = -errno;
		goto fail;
	}
	btf = lc->btf = f->tp_btf;
	bpf_program__set_autoload(lc->skel->progs.handle_cgroup_mkdir, btf);
	bpf_program__set_autoload(lc->skel->progs.handle_cgroup_rmdir, btf);
	bpf_program__set_autoload(lc->skel->progs.handle_cgroup_mkdir_raw, !btf);
	bpf_program__set_autoload(lc->skel->progs.handle_cgroup_rmdir_raw, !btf);
	e = lifecycle_bpf__load(lc->skel);
	if (e)
		goto fail;
	e = lifecycle_bpf__attach(lc->skel);
	if (e)
		goto fail;
	lc->rb = ring_buffer__new(bpf_map__fd(lc->skel->maps.events), on_event, lc, NULL);
	if (!lc->rb) {
		e = -errno;
		goto fail;
	}
	cgs_log_info(LOG_COMP, "tracking cgroup creation and removal with %s programs", btf ? "tp_btf" : "raw_tp");
	*state = lc;
	return 0;
fail:
	*why = "loading or attaching the BPF programs failed";
	lifecycle_destroy(lc);
	return e < 0 ? e : -EINVAL;
}

static int lifecycle_fd(void *state)
{
	struct lifecycle *lc = state;

	return ring_buffer__epoll_fd(lc->rb);
}

static int lifecycle_poll(void *state)
{
	struct lifecycle *lc = state;
	uint64_t lost;
	int n = ring_buffer__consume(lc->rb);

	lost = __atomic_load_n(&lc->skel->bss->lost, __ATOMIC_RELAXED);
	if (lost != lc->lost_seen) {
		lc->lost_seen = lost;
		lc->ctx.notify(lc->ctx.notify_arg, CGS_NOTIFY_RESCAN);
	}
	return n < 0 ? n : 0;
}

static int lifecycle_collect_agent(void *state, struct cgs_samples *out)
{
	struct lifecycle *lc = state;

	return cgs_samples_add_l(out, CGS_M_AGENT_EVENTS_LOST, "lifecycle", NULL,
				 (double)(lc->lost_seen + lc->truncated + lc->bad));
}

static const char *lifecycle_variant(void *state, bool *fallback)
{
	const struct lifecycle *lc = state;

	*fallback = !lc->btf;
	return lc->btf ? "tp_btf" : "raw_tp";
}

const struct cgs_collector_ops cgs_collector_lifecycle = {
	.name = "lifecycle",
	.bpf = true,
	.variant = lifecycle_variant,
	.init = lifecycle_init,
	.fd = lifecycle_fd,
	.poll = lifecycle_poll,
	.collect_agent = lifecycle_collect_agent,
	.destroy = lifecycle_destroy,
};
