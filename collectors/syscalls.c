/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Syscall collector: loads bpf/syscalls.bpf.c, fills its class table, and
 * turns each container slot's per-CPU counters into
 * container_syscall_latency_seconds{class}, container_syscall_errors_total{class}
 * and container_syscalls_total{syscall} (top K + "other").
 *
 * Variant, by probing (first that loads wins): tp_btf or raw_tp programs,
 * and the save area for syscalls whose task is switched out in task local
 * storage or in a thread-id LRU hash (see bpf/syscalls.bpf.c).
 *
 * The kernel counters are 32 bits; they are folded into 64-bit totals at
 * every collection and on a timer (CGS_SYSCALLS_FOLD_MS) so none can wrap
 * between two folds whatever the collection interval.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../agent/bpf_probe.h"
#include "../agent/config.h"
#include "../agent/log.h"
#include "../agent/slots.h"
#include <linux/types.h>

#include "collector.h"
#include "syscall_stats.h"
#include "syscall_table.h"
#include "syscalls.h"
#include "syscalls.skel.h"

#define LOG_COMP "collector:syscalls"

/*
 * Fold period. A 32-bit counter wraps only if one container makes 2^32
 * calls landing in the same counter within a period: 859 million per
 * second over 5 s, far above what a node's CPUs can issue.
 */
#define CGS_SYSCALLS_FOLD_MS 5000
/* Switched-out syscalls the hash fallback holds (kernels without task local storage). */
#define CGS_SYSCALLS_HASH_TASKS 65536

#define NONE CGS_SYSCALL_NO_RECORD

struct syscalls {
	struct cgs_collector_ctx ctx;
	struct syscalls_bpf *skel;
	const char *variant;
	unsigned vflags;                   /* V_* of the variant loaded */
	uint32_t nslots;                   /* container slots (agent/slots.h) */
	uint32_t nidx;                     /* accumulator records */
	unsigned top_k;                    /* config syscalls_top_k */
	int ncpus;
	int stats_fd, index_fd;
	struct cgs_syscall_records rec;    /* slot <-> record */
	struct cgs_syscalls_slot *buf;     /* ncpus records: one record's per-CPU values */
	struct cgs_syscall_stats **stats;  /* per record, allocated on first fold */
	uint64_t *folded;                  /* per record: pass of its last fold */
	uint64_t pass;
	uint64_t unmeasured;               /* containers that found no free record */
	uint32_t nstats;                   /* records with totals allocated */
	int timer_fd;
};

enum { V_BTF = 1, V_STORAGE = 2 };
static const struct {
	unsigned flags;
	const char *desc;
	const char *token; /* cgsight_collector_info's variant */
} variants[] = {
	{ V_BTF | V_STORAGE, "tp_btf programs, task local storage for switched-out calls", "tp_btf+task_storage" },
	{ V_STORAGE, "raw_tp programs, task local storage for switched-out calls", "raw_tp+task_storage" },
	{ V_BTF, "tp_btf programs, thread-id hash for switched-out calls", "tp_btf+tid_hash" },
	{ 0, "raw_tp programs, thread-id hash for switched-out calls", "raw_tp+tid_hash" },
};

static void syscalls_destroy(void *state)
{
	struct syscalls *s = state;

	if (!s)
		return;
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	syscalls_bpf__destroy(s->skel);
	if (s->stats)
		for (uint32_t i = 0; i < s->nidx; i++)
			free(s->stats[i]);
	free(s->stats);
	free(s->folded);
	cgs_syscall_records_free(&s->rec);
	free(s->buf);
	free(s);
}

static int fill_classes(struct syscalls *s)
{
	uint32_t table[CGS_SYSCALLS_NR_MAX];
	int fd = bpf_map__fd(s->skel->maps.syscall_classes);

	cgs_syscall_classes_fill(table);
	for (uint32_t nr = 0; nr < CGS_SYSCALLS_NR_MAX; nr++)
		if (bpf_map_update_elem(fd, &nr, &table[nr], BPF_ANY) < 0)
			return -errno;
	return 0;
}

/* Opens, configures and loads one variant; 0 or -errno (the skeleton is gone on failure). */
static int load_variant(struct syscalls *s, unsigned flags)
{
	struct syscalls_bpf *k;
	bool btf = flags & V_BTF, storage = flags & V_STORAGE;
	int e;

	k = syscalls_bpf__open();
	if (!k)
		return -errno;
	k->rodata->include_host = s->ctx.cfg->include_host;
	e = bpf_map__set_max_entries(k->maps.slot_stats, s->nidx);
	if (!e)
		e = bpf_map__set_max_entries(k->maps.slot_index, s->nslots);
	if (!e)
		e = cgs_slots_reuse(s->ctx.slots, k->maps.cgs_cgroup_slots, k->maps.cgs_slots_meta);
	if (!e)
		e = bpf_map__set_autocreate(k->maps.saved_calls, storage);
	if (!e)
		e = storage ? bpf_map__set_autocreate(k->maps.saved_calls_hash, false)
			    : bpf_map__set_max_entries(k->maps.saved_calls_hash, CGS_SYSCALLS_HASH_TASKS);
	if (e)
		goto fail;
	bpf_program__set_autoload(k->progs.handle_sys_enter, btf);
	bpf_program__set_autoload(k->progs.handle_sys_enter_raw, !btf);
	bpf_program__set_autoload(k->progs.handle_cgroup_attach_task, btf);
	bpf_program__set_autoload(k->progs.handle_cgroup_attach_task_raw, !btf);
	bpf_program__set_autoload(k->progs.handle_sys_exit, btf && storage);
	bpf_program__set_autoload(k->progs.handle_sys_exit_raw, !btf && storage);
	bpf_program__set_autoload(k->progs.handle_sys_exit_hash, btf && !storage);
	bpf_program__set_autoload(k->progs.handle_sys_exit_hash_raw, !btf && !storage);
	bpf_program__set_autoload(k->progs.handle_sched_switch, btf && storage);
	bpf_program__set_autoload(k->progs.handle_sched_switch_raw, !btf && storage);
	bpf_program__set_autoload(k->progs.handle_sched_switch_hash, btf && !storage);
	bpf_program__set_autoload(k->progs.handle_sched_switch_hash_raw, !btf && !storage);
	e = syscalls_bpf__load(k);
	if (e)
		goto fail;
	s->skel = k;
	return 0;
fail:
	syscalls_bpf__destroy(k);
	return e < 0 ? e : -EINVAL;
}

static void set_slot_index(struct syscalls *s, uint32_t slot, uint32_t idx)
{
	uint32_t v = idx == NONE ? CGS_SYSCALLS_NO_INDEX : idx + 1;

	if (bpf_map_update_elem(s->index_fd, &slot, &v, BPF_ANY) < 0)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot set the record of slot %u: %s", slot,
				    strerror(errno));
}

static void record_gone(void *arg, uint32_t slot)
{
	set_slot_index(arg, slot, NONE);
}

/* Takes records back from slots no container holds any more (but `keep`). */
static void reclaim_records(struct syscalls *s, uint32_t keep)
{
	bool *live = calloc(s->nslots, sizeof(*live));
	size_t n;

	if (!live || !s->ctx.registry) {
		free(live);
		return;
	}
	n = cgs_registry_count(s->ctx.registry);
	for (size_t i = 0; i < n; i++) {
		const struct cgs_container *c = cgs_registry_at(s->ctx.registry, i);

		if (c->slot >= 0 && (uint32_t)c->slot < s->nslots)
			live[c->slot] = true;
	}
	cgs_syscall_records_reclaim(&s->rec, live, keep, record_gone, s);
	free(live);
}

/* A slot was handed to a new container: it gets a record, whose counters start from zero. */
static void on_slot_reset(void *arg, uint32_t slot)
{
	struct syscalls *s = arg;
	uint32_t idx;

	if (slot >= s->nslots)
		return;
	idx = cgs_syscall_records_assign(&s->rec, slot);
	if (idx == NONE) {
		reclaim_records(s, slot);
		idx = cgs_syscall_records_assign(&s->rec, slot);
	}
	if (idx == NONE) {
		s->unmeasured++;
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP,
				    "syscalls_max_containers (%u) reached: slot %u is not measured", s->nidx - 1, slot);
		set_slot_index(s, slot, NONE);
		return;
	}
	memset(s->buf, 0, (size_t)s->ncpus * sizeof(*s->buf));
	if (bpf_map_update_elem(s->stats_fd, &idx, s->buf, BPF_ANY) < 0)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot reset the counters of slot %u: %s", slot,
				    strerror(errno));
	if (s->stats[idx])
		cgs_syscall_stats_reset(s->stats[idx]);
	s->folded[idx] = 0;
	set_slot_index(s, slot, idx);
}

/*
 * A container is gone: its record is free again and its totals (~12 KiB)
 * are freed now rather than at the record's reuse (slots come round in
 * FIFO order, so on a node with churn that would hold one set of totals per
 * record, syscalls_max_containers of them, whatever the live count).
 */
static void on_slot_release(void *arg, uint32_t slot)
{
	struct syscalls *s = arg;
	uint32_t idx = cgs_syscall_records_release(&s->rec, slot);

	if (idx == NONE)
		return;
	record_gone(s, slot);
	if (s->stats[idx])
		s->nstats--;
	free(s->stats[idx]);
	s->stats[idx] = NULL;
}

/* Folds one record's kernel counters into its totals. 0 or -errno. */
static int fold_record(struct syscalls *s, uint32_t idx)
{
	if (idx >= s->nidx)
		return -ERANGE;
	if (!s->stats[idx]) {
		s->stats[idx] = calloc(1, sizeof(*s->stats[idx]));
		if (!s->stats[idx])
			return -ENOMEM;
		s->nstats++;
	}
	if (bpf_map_lookup_elem(s->stats_fd, &idx, s->buf) < 0)
		return -errno;
	cgs_syscall_stats_fold(s->stats[idx], s->buf, s->ncpus);
	s->folded[idx] = s->pass;
	return 0;
}

/* The record of a container, or NONE when it is not measured. */
static uint32_t record_of(const struct syscalls *s, const struct cgs_container *c)
{
	return c->slot >= 0 ? cgs_syscall_records_of(&s->rec, (uint32_t)c->slot) : NONE;
}

static int syscalls_init(const struct cgs_collector_ctx *ctx, void **state, const char **why)
{
	const struct cgs_bpf_features *f = ctx->features;
	struct syscalls *s;
	struct itimerspec its = {
		.it_value = { CGS_SYSCALLS_FOLD_MS / 1000, (CGS_SYSCALLS_FOLD_MS % 1000) * 1000000L },
		.it_interval = { CGS_SYSCALLS_FOLD_MS / 1000, (CGS_SYSCALLS_FOLD_MS % 1000) * 1000000L },
	};
	uint64_t want;
	int e = -EOPNOTSUPP;

	if (!f->bpf || !ctx->slots || (!f->tp_btf && !f->raw_tp)) {
		*why = !f->bpf ? "BPF programs cannot be loaded here"
			       : !ctx->slots ? "no BPF container slots" : "no raw tracepoints";
		return -EOPNOTSUPP;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = *ctx;
	s->timer_fd = -1;
	s->nslots = cgs_slots_max(ctx->slots);
	/*
	 * Records for syscalls_max_containers containers plus the host, when
	 * bpf_max_containers is larger: they bound the per-CPU accumulators
	 * (sizeof(struct cgs_syscalls_slot) per container per CPU). Further
	 * containers are not measured, counted in
	 * cgsight_series_dropped_total{reason="syscalls_max_containers"}.
	 */
	want = ctx->cfg->syscalls_max_containers + 1;
	s->nidx = want < s->nslots ? (uint32_t)want : s->nslots;
	s->top_k = (unsigned)ctx->cfg->syscalls_top_k;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		e = s->ncpus < 0 ? s->ncpus : -EINVAL;
		*why = "cannot count the possible CPUs";
		goto fail;
	}
	s->buf = calloc((size_t)s->ncpus, sizeof(*s->buf));
	s->stats = calloc(s->nidx, sizeof(*s->stats));
	s->folded = calloc(s->nidx, sizeof(*s->folded));
	if (!s->buf || !s->stats || !s->folded || cgs_syscall_records_init(&s->rec, s->nslots, s->nidx) < 0) {
		e = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		unsigned v = variants[i].flags;

		if (((v & V_BTF) ? !f->tp_btf : !f->raw_tp) || ((v & V_STORAGE) && !f->task_storage))
			continue;
		e = load_variant(s, v);
		if (!e) {
			s->variant = variants[i].desc;
			s->vflags = v;
			break;
		}
		cgs_log_debug(LOG_COMP, "variant %s did not load: %s", variants[i].desc, strerror(-e));
	}
	if (!s->skel) {
		*why = "no variant of the BPF programs loaded";
		goto fail;
	}
	s->stats_fd = bpf_map__fd(s->skel->maps.slot_stats);
	s->index_fd = bpf_map__fd(s->skel->maps.slot_index);
	e = fill_classes(s);
	if (e) {
		*why = "cannot fill the syscall class table";
		goto fail;
	}
	e = syscalls_bpf__attach(s->skel);
	if (e) {
		*why = "attaching the BPF programs failed";
		goto fail;
	}
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timer_fd < 0 || timerfd_settime(s->timer_fd, 0, &its, NULL) < 0) {
		e = -errno;
		*why = "cannot create the fold timer";
		goto fail;
	}
	/* Last: once registered, the slots hold a pointer to us, so nothing may fail after it. */
	e = cgs_slots_watch(ctx->slots, on_slot_reset, on_slot_release, s);
	if (e) {
		*why = "too many slot-reset callbacks";
		goto fail;
	}
	cgs_log_info(LOG_COMP, "measuring syscalls with %s; %u containers x %d CPUs x %zu B = %.1f MiB of counters",
		     s->variant, s->nidx, s->ncpus, sizeof(struct cgs_syscalls_slot),
		     (double)s->nidx * s->ncpus * sizeof(struct cgs_syscalls_slot) / (1 << 20));
	*state = s;
	return 0;
fail:
	syscalls_destroy(s);
	return e < 0 ? e : -EINVAL;
}

static int syscalls_fd(void *state)
{
	struct syscalls *s = state;

	return s->timer_fd;
}

/* The fold timer: every measured container, so no 32-bit counter wraps unseen. */
static int syscalls_poll(void *state)
{
	struct syscalls *s = state;
	uint64_t ticks;
	size_t n;

	while (read(s->timer_fd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
		;
	if (!s->ctx.registry)
		return 0;
	n = cgs_registry_count(s->ctx.registry);
	for (size_t i = 0; i < n; i++) {
		uint32_t idx = record_of(s, cgs_registry_at(s->ctx.registry, i));
		int e;

		if (idx == NONE)
			continue;
		e = fold_record(s, idx);
		if (e)
			cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot read the counters of record %u: %s", idx,
					    strerror(-e));
	}
	return 0;
}

static int syscalls_begin(void *state)
{
	struct syscalls *s = state;

	s->pass++;
	return 0;
}

static int syscalls_collect(void *state, const struct cgs_container *c, struct cgs_samples *out)
{
	struct syscalls *s = state;
	uint32_t idx = record_of(s, c);

	if (idx == NONE)
		return 0;
	/* Read once per pass (a fold by the timer since begin counts). */
	if (!s->pass || s->folded[idx] != s->pass || !s->stats[idx]) {
		int e = fold_record(s, idx);

		if (e) {
			cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot read the counters of record %u: %s", idx,
					    strerror(-e));
			return 1;
		}
	}
	/* The exported set changes here only, right before its samples are taken. */
	cgs_syscall_stats_settle(s->stats[idx], s->top_k);
	return cgs_syscall_stats_emit(s->stats[idx], out);
}

static int syscalls_collect_agent(void *state, struct cgs_samples *out)
{
	struct syscalls *s = state;

	return cgs_samples_add_l(out, CGS_M_AGENT_SERIES_DROPPED, "syscalls_max_containers", NULL,
				 (double)s->unmeasured) +
	       cgs_samples_add_l(out, CGS_M_AGENT_COLLECTOR_CONTAINERS, "syscalls", NULL, (double)s->nstats);
}

static const char *syscalls_variant(void *state, bool *fallback)
{
	const struct syscalls *s = state;

	*fallback = s->vflags != (V_BTF | V_STORAGE);
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		if (variants[i].flags == s->vflags)
			return variants[i].token;
	return "default";
}

const struct cgs_collector_ops cgs_collector_syscalls = {
	.name = "syscalls",
	.bpf = true,
	.variant = syscalls_variant,
	.init = syscalls_init,
	.fd = syscalls_fd,
	.poll = syscalls_poll,
	.begin = syscalls_begin,
	.collect = syscalls_collect,
	.collect_agent = syscalls_collect_agent,
	.destroy = syscalls_destroy,
};
