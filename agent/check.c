/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cgsight check`: what this host offers and what the agent will do with
 * it. Exit 0 when the agent can run (it needs a cgroup2 hierarchy; BPF
 * features only change which collectors run).
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "agent.h"
#include "bpf_probe.h"
#include "cgroup.h"
#include "config.h"

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
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
	cgs_bpf_probe(&f);
	printf("BTF:                 %s\n", yes_no(f.btf));
	printf("BPF loading:         %s%s%s\n", yes_no(f.bpf), f.bpf ? "" : " - ", f.bpf ? "" : strerror(f.bpf_errno));
	printf("ring buffer:         %s\n", yes_no(f.ringbuf));
	printf("tp_btf:              %s\n", yes_no(f.tp_btf));
	printf("raw_tp:              %s\n", yes_no(f.raw_tp));
	printf("task local storage:  %s\n", yes_no(f.task_storage));
	printf("cgroup local storage:%s%s\n", " ", yes_no(f.cgrp_storage));
	printf("cgroup_skb:          %s\n", yes_no(f.cgroup_skb));
	printf("\nplan:\n");
	if (!cfg->bpf)
		printf("  lifecycle:         off (bpf: false); containers found by rescans every %llums\n",
		       (unsigned long long)cfg->rescan_interval_ms);
	else if (f.bpf && f.ringbuf && (f.tp_btf || f.raw_tp))
		printf("  lifecycle:         %s cgroup_mkdir/rmdir -> ring buffer\n", f.tp_btf ? "tp_btf" : "raw_tp");
	else
		printf("  lifecycle:         FALLBACK: rescans every %llums (no usable BPF)\n",
		       (unsigned long long)cfg->rescan_interval_ms);
	printf("  cgroupfs:          %s\n", e ? "unavailable" : m.hybrid ? "v2 files, v1 controllers where v2 lacks them" : "v2 files");
	printf("\nresult: %s\n", ok ? "the agent can run here" : "the agent cannot run here");
	return ok ? 0 : 1;
}
