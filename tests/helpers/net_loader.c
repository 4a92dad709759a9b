/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs only the net and tcp collectors, outside the agent, for two users:
 *
 *   cgs_net_loader [--stats] [INTERVAL_MS]
 *     The way the agent runs them (shared container slots, the container
 *     registry, a collection pass every INTERVAL_MS, default 1000) and
 *     nothing else: bench/net.sh measures their overhead with it. Prints
 *     "ready" once attached and collected once; SIGTERM/SIGINT stop it.
 *     With --stats it holds BPF run-time statistics on (BPF_ENABLE_STATS:
 *     every program on the host is timed while it runs, so only for cost
 *     measurements); the caller reads run_time_ns / run_cnt of the programs
 *     (the prog_id of each link in /proc/PID/fdinfo).
 *
 *   cgs_net_loader --manual SLOTS
 *     Slots driven by commands on stdin instead of the registry, so a test
 *     decides which container gets which slot (SLOTS container slots, handed
 *     out first in, first out, as the agent does):
 *       map NAME CGROUP_DIR   assigns a slot, maps the cgroup: "slot N"
 *       unmap NAME            unmaps and releases it: "ok"
 *       get NAME              both collectors' samples of that slot, one
 *                             "family label value" line each (label "-" when
 *                             none; histograms, summaries: "family_count label N"), then "end"
 *     Prints "ready" first; exits at end of input.
 *
 *   --attach CGROUP_DIR (either mode) attaches the cgroup_skb programs to that
 *     cgroup instead of the cgroup2 root, so that only its sockets run them:
 *     bench/net.sh times the programs on its own containers' packets alone.
 *   --include-host (either mode) counts sockets outside the mapped cgroups
 *     in slot 0, as the agent's include_host does; in manual mode `get host`
 *     reads it.
 *   --tcp-peer-top-n N (either mode) turns the per-peer breakdown on, as the
 *     agent's tcp_peer_top_n does; `get` prints its label values joined
 *     ("10.0.0.1:80,ok").
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/bpf_probe.h"
#include "agent/cgroup.h"
#include "agent/config.h"
#include "agent/containers.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/samples.h"
#include "agent/slots.h"
#include "collectors/collector.h"

extern const struct cgs_collector_ops cgs_collector_net;
extern const struct cgs_collector_ops cgs_collector_tcp;

static const struct cgs_collector_ops *const ops[] = { &cgs_collector_net, &cgs_collector_tcp };
#define NOPS 2

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void notify(void *arg, unsigned what)
{
	(void)arg;
	(void)what;
}

/* A collection pass starts (the agent calls begin once per interval). */
static void begin(void *const state[NOPS])
{
	for (int k = 0; k < NOPS; k++)
		if (ops[k]->begin)
			ops[k]->begin(state[k]);
}

static void collect(void *const state[NOPS], struct cgs_container *c)
{
	cgs_samples_reset(&c->samples);
	for (int k = 0; k < NOPS; k++)
		ops[k]->collect(state[k], c, &c->samples);
}

static int run_registry(struct cgs_registry *reg, void *const state[NOPS], long interval_ms)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int pass = 0; !stop; pass++) {
		struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };

		cgs_registry_rescan(reg);
		begin(state);
		for (size_t i = 0; i < cgs_registry_count(reg); i++)
			collect(state, cgs_registry_at(reg, i));
		if (pass == 0) {
			printf("ready\n");
			fflush(stdout);
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

#define MAX_NAMES 16

static int run_manual(struct cgs_slots *slots, void *const state[NOPS], bool include_host)
{
	struct {
		char name[32];
		uint64_t id;
		int slot;
	} ent[MAX_NAMES];
	int n = 0;
	char line[4096], name[32], dir[4000];

	if (include_host) {
		snprintf(ent[n].name, sizeof(ent[n].name), "host");
		ent[n].id = 0;
		ent[n].slot = cgs_slots_assign_host(slots);
		n++;
	}
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		int k = -1;

		if (sscanf(line, "%*s %31s", name) == 1)
			for (int i = 0; i < n; i++)
				if (strcmp(ent[i].name, name) == 0)
					k = i;
		if (sscanf(line, "map %31s %3999s", name, dir) == 2 && k < 0 && n < MAX_NAMES) {
			uint64_t id;
			int e = cgs_cgroup_id(dir, &id), slot = e ? e : cgs_slots_assign(slots);

			if (slot >= 0)
				e = cgs_slots_map(slots, id, (uint32_t)slot);
			if (slot < 0 || e) {
				printf("error %s\n", strerror(-(slot < 0 ? slot : e)));
			} else {
				snprintf(ent[n].name, sizeof(ent[n].name), "%s", name);
				ent[n].id = id;
				ent[n].slot = slot;
				n++;
				printf("slot %d\n", slot);
			}
		} else if (strncmp(line, "unmap ", 6) == 0 && k >= 0 && ent[k].slot >= 0) {
			cgs_slots_unmap(slots, ent[k].id);
			cgs_slots_release(slots, (uint32_t)ent[k].slot);
			ent[k].slot = -1;
			printf("ok\n");
		} else if (strncmp(line, "get ", 4) == 0 && k >= 0 && ent[k].slot >= 0) {
			struct cgs_container c;

			memset(&c, 0, sizeof(c));
			c.slot = ent[k].slot;
			cgs_samples_init(&c.samples, 1000);
			begin(state);
			collect(state, &c);
			for (size_t i = 0; i < c.samples.n; i++) {
				const struct cgs_sample *s = &c.samples.v[i];
				const struct cgs_family *f = &cgs_families[s->family];
				uint64_t cnt = 0;

				if (!s->counts) {
					printf("%s %s%s%s %.0f\n", f->name, s->lv[0] ? s->lv[0] : "-", s->lv[1] ? "," : "",
					       s->lv[1] ? s->lv[1] : "", s->value);
					continue;
				}
				for (int b = 0; b <= f->nbounds; b++)
					cnt += s->counts[b];
				printf("%s_count %s %llu\n", f->name, s->lv[0] ? s->lv[0] : "-", (unsigned long long)cnt);
			}
			printf("end\n");
			cgs_samples_free(&c.samples);
		} else {
			printf("error bad command\n");
		}
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	void *state[NOPS] = { NULL, NULL };
	bool stats = false, manual = false, include_host = false;
	const char *attach = NULL;
	long interval_ms = 1000, nslots = 0, peer_top_n = 0;
	struct cgs_cgroup_mounts mounts;
	struct cgs_bpf_features f;
	struct cgs_config cfg;
	struct cgs_slots *slots = NULL;
	struct cgs_registry *reg = NULL;
	int e, rc = 1, stats_fd = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stats") == 0)
			stats = true;
		else if (strcmp(argv[i], "--manual") == 0 && i + 1 < argc)
			manual = true, nslots = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--attach") == 0 && i + 1 < argc)
			attach = argv[++i];
		else if (strcmp(argv[i], "--include-host") == 0)
			include_host = true;
		else if (strcmp(argv[i], "--tcp-peer-top-n") == 0 && i + 1 < argc)
			peer_top_n = strtol(argv[++i], NULL, 10);
		else
			interval_ms = strtol(argv[i], NULL, 10);
	}
	if (interval_ms <= 0)
		interval_ms = 1000;
	cgs_config_defaults(&cfg);
	cfg.include_host = include_host;
	cfg.tcp_peer_top_n = peer_top_n > 0 && peer_top_n <= CGS_TCP_PEER_TOP_MAX ? (uint64_t)peer_top_n : 0;
	if (manual && nslots > 0)
		cfg.bpf_max_containers = (uint64_t)nslots;
	cgs_log_set_level(CGS_LOG_WARN);
	cgs_bpf_setup_logging();
	e = cgs_cgroup_find_mounts(NULL, NULL, &mounts);
	if (e) {
		fprintf(stderr, "no cgroup2 hierarchy: %s\n", strerror(-e));
		return 1;
	}
	if (attach)
		snprintf(mounts.v2, sizeof(mounts.v2), "%s", attach);
	cgs_bpf_probe(&f);
	slots = cgs_slots_new((uint32_t)cfg.bpf_max_containers + 1);
	if (!slots) {
		fprintf(stderr, "cannot create the slot maps: %s\n", strerror(errno));
		return 1;
	}
	if (!manual) {
		struct cgs_registry_opts ro = {
			.mounts = &mounts,
			.slots = slots,
			.runtime_dirs = { cfg.containerd_state_dir, cfg.crio_state_dir, cfg.docker_state_dir,
					  cfg.podman_state_dir },
			.proc_root = cfg.proc_root,
			.max_containers = cfg.max_containers,
			.max_series_per_container = cfg.max_series_per_container,
		};
		reg = cgs_registry_new(&ro);
		if (!reg) {
			fprintf(stderr, "cannot create the registry\n");
			goto out;
		}
	}
	struct cgs_collector_ctx ctx = {
		.cfg = &cfg, .mounts = &mounts, .features = &f, .registry = reg, .slots = slots,
		.notify = notify, .notify_arg = NULL,
	};
	for (int i = 0; i < NOPS; i++) {
		const char *why = NULL;

		e = ops[i]->init(&ctx, &state[i], &why);
		if (e) {
			fprintf(stderr, "collector %s: %s (%s)\n", ops[i]->name, why ? why : "?", strerror(-e));
			goto out;
		}
	}
	if (stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0) {
			fprintf(stderr, "cannot enable BPF run-time statistics: %s\n", strerror(errno));
			goto out;
		}
	}
	rc = manual ? run_manual(slots, state, include_host) : run_registry(reg, state, interval_ms);
out:
	if (stats_fd >= 0)
		close(stats_fd);
	for (int i = 0; i < NOPS; i++)
		if (state[i])
			ops[i]->destroy(state[i]);
	cgs_registry_free(reg);
	cgs_slots_free(slots);
	return rc;
}
