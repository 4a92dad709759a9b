/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scheduler collector: loads bpf/sched.bpf.c, the first variant the kernel
 * takes of (see there)
 *   1. "rq": sched_switch alone, on the kernel's run-queue wait stamps
 *      (tp_btf, else raw_tp);
 *   2. "wakeup": wakeup + switch programs with task local storage (tp_btf);
 *   3. "wakeup": the raw_tp twins with a tid hash;
 * shares the agent's container-slot maps, zeroes a slot's accumulators when
 * the slot is handed out, and each interval sums a container's per-CPU
 * accumulators into samples. CGSIGHT_TEST_DISABLE=sched_rq (a comma list,
 * for tests and debugging) skips the first.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "../agent/bpf_probe.h"
#include "../agent/config.h"
#include "../agent/log.h"
#include "../agent/slots.h"
#include "collector.h"
#include "sched.h"
#include "sched.skel.h"

#define LOG_COMP "collector:sched"

_Static_assert(CGS_SCHED_HIST_BUCKETS == CGS_LOG2_US_NBOUNDS + 1,
	       "kernel histogram buckets match cgs_log2_us_bounds");

struct sched {
	struct sched_bpf *skel;
	int stats_fd;
	unsigned ncpu;
	struct cgs_sched_slot_stats *buf; /* ncpu values: one per-CPU map entry */
	bool btf; /* tp_btf programs, else raw_tp */
	bool rq;  /* the "rq" design, else "wakeup" */
};

void cgs_sched_sum(const struct cgs_sched_slot_stats *percpu, unsigned ncpu,
		   struct cgs_sched_slot_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned c = 0; c < ncpu; c++) {
		const struct cgs_sched_slot_stats *v = &percpu[c];

		out->delay_ns += v->delay_ns;
		out->oncpu_ns += v->oncpu_ns;
		out->voluntary += v->voluntary;
		out->involuntary += v->involuntary;
		for (int b = 0; b < CGS_SCHED_HIST_BUCKETS; b++)
			out->hist[b] += v->hist[b];
	}
}

void cgs_sched_emit(const struct cgs_sched_slot_stats *t, struct cgs_samples *out)
{
	uint64_t counts[CGS_SCHED_HIST_BUCKETS], n = 0;
	double delay_s = (double)t->delay_ns / 1e9;

	for (int b = 0; b < CGS_SCHED_HIST_BUCKETS; b++)
		n += counts[b] = t->hist[b];
	cgs_samples_add(out, CGS_M_CPU_DELAY, delay_s);
	/* 26 series: only once there is an observation (idle and empty containers are common). */
	if (n)
		cgs_samples_add_hist(out, CGS_M_CPU_RUNQUEUE_LATENCY, NULL, counts, delay_s);
	cgs_samples_add_l(out, CGS_M_CONTEXT_SWITCHES, "voluntary", NULL, (double)t->voluntary);
	cgs_samples_add_l(out, CGS_M_CONTEXT_SWITCHES, "involuntary", NULL, (double)t->involuntary);
}

int cgs_sched_read_slot(void *state, int slot, struct cgs_sched_slot_stats *out)
{
	struct sched *s = state;
	__u32 k = (__u32)slot;

	if (slot < 0)
		return -EINVAL;
	if (bpf_map_lookup_elem(s->stats_fd, &k, s->buf) < 0)
		return -errno;
	cgs_sched_sum(s->buf, s->ncpu, out);
	return 0;
}

void cgs_sched_variant(void *state, const char **progs, const char **task_state)
{
	struct sched *s = state;

	*progs = s->rq ? (s->btf ? "tp_btf sched_switch" : "raw_tp sched_switch")
		       : (s->btf ? "tp_btf wakeup+switch" : "raw_tp wakeup+switch");
	*task_state = s->rq ? "kernel run-queue stamps" : s->btf ? "task storage" : "tid hash";
}

/* A slot was handed to a container: its accumulators start from zero. */
static void sched_reset_slot(void *arg, uint32_t slot)
{
	struct sched *s = arg;
	__u32 k = slot;

	memset(s->buf, 0, sizeof(*s->buf) * s->ncpu);
	if (bpf_map_update_elem(s->stats_fd, &k, s->buf, BPF_ANY) < 0)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot reset slot %u: %s", slot, strerror(errno));
}

static int sched_load(struct sched *s, const struct cgs_collector_ctx *ctx, bool btf, bool rq)
{
	struct sched_bpf *skel = sched_bpf__open();
	int e;

	if (!skel)
		return -errno;
	skel->rodata->include_host = ctx->cfg && ctx->cfg->include_host;
	e = bpf_map__set_max_entries(skel->maps.sched_stats, cgs_slots_max(ctx->slots));
	/* Per-thread state ("wakeup" only): task storage for tp_btf, the tid hash for raw_tp. */
	if (!e)
		e = bpf_map__set_autocreate(skel->maps.task_sched_storage, !rq && btf);
	if (!e)
		e = bpf_map__set_autocreate(skel->maps.task_sched_hash, !rq && !btf);
	if (!e)
		e = bpf_map__set_autocreate(skel->maps.cpu_cur, !rq);
	if (!e)
		e = bpf_map__set_autocreate(skel->maps.cpu_rq, rq);
	if (!e)
		e = cgs_slots_reuse(ctx->slots, skel->maps.cgs_cgroup_slots, skel->maps.cgs_slots_meta);
	if (e)
		goto fail;
	bpf_program__set_autoload(skel->progs.handle_sched_switch_rq, rq && btf);
	bpf_program__set_autoload(skel->progs.handle_sched_switch_rq_raw, rq && !btf);
	bpf_program__set_autoload(skel->progs.handle_sched_wakeup, !rq && btf);
	bpf_program__set_autoload(skel->progs.handle_sched_wakeup_new, !rq && btf);
	bpf_program__set_autoload(skel->progs.handle_sched_switch, !rq && btf);
	bpf_program__set_autoload(skel->progs.handle_sched_wakeup_raw, !rq && !btf);
	bpf_program__set_autoload(skel->progs.handle_sched_wakeup_new_raw, !rq && !btf);
	bpf_program__set_autoload(skel->progs.handle_sched_switch_raw, !rq && !btf);
	e = sched_bpf__load(skel);
	if (!e)
		e = sched_bpf__attach(skel);
	if (e)
		goto fail;
	s->skel = skel;
	s->stats_fd = bpf_map__fd(skel->maps.sched_stats);
	s->btf = btf;
	s->rq = rq;
	return 0;
fail:
	sched_bpf__destroy(skel);
	return e < 0 ? e : -EINVAL;
}

static void sched_destroy(void *state)
{
	struct sched *s = state;

	if (!s)
		return;
	sched_bpf__destroy(s->skel);
	free(s->buf);
	free(s);
}

static int sched_init(const struct cgs_collector_ctx *ctx, void **state, const char **why)
{
	const struct cgs_bpf_features *f = ctx->features;
	struct sched *s;
	bool btf, rq;
	int n, e;

	if (!ctx->slots || !f->bpf || !f->btf || (!f->tp_btf && !f->raw_tp)) {
		if (why)
			*why = !ctx->slots ? "no BPF container slots"
			       : !f->bpf   ? "BPF programs cannot be loaded here"
			       : !f->btf   ? "no kernel BTF (/sys/kernel/btf/vmlinux) for CO-RE"
					   : "no raw tracepoints";
		return -EOPNOTSUPP;
	}
	n = libbpf_num_possible_cpus();
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->stats_fd = -1;
	s->ncpu = (unsigned)n;
	s->buf = calloc(s->ncpu, sizeof(*s->buf));
	if (!s->buf) {
		free(s);
		return -ENOMEM;
	}
	e = -EOPNOTSUPP;
	rq = !cgs_test_disable_design(CGS_DESIGN_SCHED_RQ);
	if (rq) {
		btf = f->tp_btf;
		e = sched_load(s, ctx, btf, true);
		if (e)
			cgs_log_info(LOG_COMP, "the kernel's run-queue stamps cannot be read here (%s); "
				     "timing wakeups instead", strerror(-e));
	}
	if (e && f->tp_btf && f->task_storage) {
		rq = false;
		btf = true;
		e = sched_load(s, ctx, btf, false);
		if (e && f->raw_tp)
			cgs_log_info(LOG_COMP, "tp_btf programs with task storage refused (%s); using raw_tp",
				     strerror(-e));
	}
	if (e && f->raw_tp) {
		rq = false;
		btf = false;
		e = sched_load(s, ctx, btf, false);
	}
	if (!e)
		e = cgs_slots_watch(ctx->slots, sched_reset_slot, NULL, s);
	if (e) {
		if (why)
			*why = "loading or attaching the BPF programs failed";
		sched_destroy(s);
		return e;
	}
	if (rq)
		cgs_log_info(LOG_COMP, "run-queue latency and context switches from a %s sched_switch program "
			     "on the kernel's own run-queue stamps", btf ? "tp_btf" : "raw_tp");
	else
		cgs_log_info(LOG_COMP, "run-queue latency and context switches from %s wakeup and switch "
			     "programs, per-thread state in %s",
			     btf ? "tp_btf" : "raw_tp", btf ? "task local storage" : "a tid hash");
	*state = s;
	return 0;
}

static int sched_collect(void *state, const struct cgs_container *c, struct cgs_samples *out)
{
	struct cgs_sched_slot_stats t;

	if (c->slot < 0)
		return 0;
	if (cgs_sched_read_slot(state, c->slot, &t) < 0)
		return 1;
	cgs_sched_emit(&t, out);
	return 0;
}

/* The token for `cgsight check` and cgsight_collector_info: only the "rq" design on tp_btf is preferred. */
static const char *sched_variant(void *state, bool *fallback)
{
	const struct sched *s = state;

	*fallback = !(s->rq && s->btf);
	if (s->rq)
		return s->btf ? "tp_btf+rq_stamps" : "raw_tp+rq_stamps";
	return s->btf ? "tp_btf+task_storage" : "raw_tp+tid_hash";
}

const struct cgs_collector_ops cgs_collector_sched = {
	.name = "sched",
	.bpf = true,
	.variant = sched_variant,
	.init = sched_init,
	.collect = sched_collect,
	.destroy = sched_destroy,
};
