/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cgsight check`: what this host offers and what the agent will do with
 * it. Exit 0 when the agent can run (it needs a cgroup2 hierarchy; BPF
 * features only change which collectors run, and in which variant). The
 * collectors are started once, as the agent would start them, and stopped:
 * the variant a collector runs can depend on what the kernel's verifier
 * accepts, which only loading tells.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "agent.h"
#include "bpf_probe.h"
#include "cgroup.h"
#include "config.h"
#include "log.h"

static const char *yes_no(const struct cgs_bpf_features *f, bool b, unsigned bit)
{
	if (f->hidden & bit)
		return "no (hidden by " CGS_TEST_DISABLE_ENV ")";
	return b ? "yes" : "no";
}

/* Starts and stops every collector as the agent would; prints what each does. */
static void print_collectors(const struct cgs_config *cfg, const struct cgs_cgroup_mounts *m,
			     const struct cgs_bpf_features *f)
{
	struct cgs_collector_report rep[32];
	char degraded[256] = "";
	int level = cgs_log_level_current;
	size_t n;

	/* The collectors' own start-up messages would repeat what the table says. */
	if (level < CGS_LOG_DEBUG)
		cgs_log_set_level(CGS_LOG_ERROR);
	n = cgs_agent_plan(cfg, m, f, rep, sizeof(rep) / sizeof(rep[0]));
	cgs_log_set_level((enum cgs_log_level)level);
	printf("\ncollectors:\n");
	for (size_t i = 0; i < n; i++) {
		const struct cgs_collector_report *r = &rep[i];

		switch (r->state) {
		case CGS_COL_UP:
			printf("  %-18s %s%s\n", r->name, r->variant, r->degraded ? "  DEGRADED: fallback variant" : "");
			break;
		case CGS_COL_OFF_CONFIG:
			printf("  %-18s off (%s)\n", r->name, r->why);
			break;
		case CGS_COL_FORCED_OFF:
			printf("  %-18s off  DEGRADED: %s\n", r->name, r->why);
			break;
		case CGS_COL_UNAVAILABLE:
			printf("  %-18s off  DEGRADED: %s (%s)\n", r->name, r->why, strerror(-r->err));
			break;
		case CGS_COL_NOT_TRIED:
			printf("  %-18s on (%s)\n", r->name, r->why);
			break;
		}
		if (r->degraded)
			snprintf(degraded + strlen(degraded), sizeof(degraded) - strlen(degraded), "%s%s",
				 degraded[0] ? ", " : "", r->name);
		if (!strcmp(r->name, "lifecycle")) {
			if (r->state == CGS_COL_UP)
				printf("  %-18s containers seen at cgroup_mkdir/rmdir (%s -> ring buffer)\n", "",
				       r->variant);
			else
				printf("  %-18s FALLBACK: containers found by rescans every %llums only\n", "",
				       (unsigned long long)cfg->rescan_interval_ms);
		}
	}
	printf("degraded:            %s\n", degraded[0] ? degraded : "none");
}

int cgs_agent_check(const struct cgs_config *cfg)
{
	struct cgs_cgroup_mounts m;
	struct cgs_bpf_features f;
	struct utsname u;
	int e, ok = 1;

	uname(&u);
	printf("cgsight %s check\n", CGS_VERSION);
	printf("kernel:              %s %s\n", u.release, u.machine);
	e = cgs_cgroup_find_mounts(cfg->cgroup_root, NULL, &m);
	if (e) {
		printf("cgroup2:             NOT FOUND (%s): the agent cannot run\n", strerror(-e));
		ok = 0;
	} else {
		printf("cgroup2:             %s (%s)\n", m.v2, m.hybrid ? "hybrid: v1 controllers beside it" : "unified");
		for (int c = 0; c < CGS_V1__COUNT; c++)
			if (m.v1[c][0])
				printf("cgroup v1 %-9s  %s (read only)\n", cgs_v1_ctrl_name((enum cgs_v1_ctrl)c), m.v1[c]);
	}
	cgs_bpf_setup_logging();
	cgs_bpf_probe(&f);
	printf("BTF:                 %s\n", yes_no(&f, f.btf, CGS_FEAT_BTF));
	printf("BPF loading:         %s%s%s\n", yes_no(&f, f.bpf, CGS_FEAT_BPF), f.bpf || (f.hidden & CGS_FEAT_BPF) ? "" : " - ",
	       f.bpf || (f.hidden & CGS_FEAT_BPF) ? "" : strerror(f.bpf_errno));
	printf("ring buffer:         %s\n", yes_no(&f, f.ringbuf, CGS_FEAT_RINGBUF));
	printf("tp_btf:              %s\n", yes_no(&f, f.tp_btf, CGS_FEAT_TP_BTF));
	printf("raw_tp:              %s\n", yes_no(&f, f.raw_tp, CGS_FEAT_RAW_TP));
	printf("task local storage:  %s\n", yes_no(&f, f.task_storage, CGS_FEAT_TASK_STORAGE));
	printf("socket local storage:%s%s\n", " ", yes_no(&f, f.sk_storage, CGS_FEAT_SK_STORAGE));
	printf("cgroup local storage:%s%s\n", " ", yes_no(&f, f.cgrp_storage, CGS_FEAT_CGRP_STORAGE));
	printf("cgroup_skb:          %s\n", yes_no(&f, f.cgroup_skb, CGS_FEAT_CGROUP_SKB));
	if (!e)
		print_collectors(cfg, &m, &f);
	printf("\nresult: %s\n", ok ? "the agent can run here" : "the agent cannot run here");
	return ok ? 0 : 1;
}
