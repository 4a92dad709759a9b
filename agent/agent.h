/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon: one epoll event loop (signals, timers, collector fds) that
 * owns the registry and every collector, collects each interval, and
 * publishes snapshots for the HTTP threads.
 */
#ifndef CGS_AGENT_H
#define CGS_AGENT_H

#include <stdbool.h>
#include <stddef.h>

struct cgs_config;
struct cgs_cgroup_mounts;
struct cgs_bpf_features;

/* Reads the configuration again from its sources (SIGHUP): 0, or -EINVAL with a message in `err`. */
typedef int (*cgs_config_reload_fn)(struct cgs_config *cfg, char *err, size_t errlen);

/*
 * Runs until SIGTERM/SIGINT. Returns a process exit status. SIGHUP reads
 * the configuration again with `reload` (NULL: not supported) and applies
 * log_level; other keys need a restart (they are named in the log).
 */
int cgs_agent_run(const struct cgs_config *cfg, cgs_config_reload_fn reload);

/* `cgsight check`: prints the feature report; returns 0 when the agent can run here. */
int cgs_agent_check(const struct cgs_config *cfg);

/* What became of one collector at start-up (the agent's log, `cgsight check`, cgsight_collector_*). */
enum cgs_collector_state {
	CGS_COL_UP,
	CGS_COL_OFF_CONFIG,   /* the configuration leaves it off: not a degradation */
	CGS_COL_FORCED_OFF,   /* CGSIGHT_TEST_DISABLE=collector:NAME */
	CGS_COL_UNAVAILABLE,  /* the host lacks or refuses what it needs, or its set-up failed */
	CGS_COL_NOT_TRIED,    /* `cgsight check` does not start it (it would take the agent's files) */
};

struct cgs_collector_report {
	const char *name;
	enum cgs_collector_state state;
	const char *variant;  /* CGS_COL_UP: the variant running (see cgs_collector_ops.variant) */
	bool degraded;        /* a fallback variant, or down though the configuration asks for it */
	const char *why;      /* not up: why (static text) */
	int err;              /* CGS_COL_UNAVAILABLE: -errno */
};

/*
 * Starts every collector the way the agent would (loading and attaching
 * the BPF programs), records what became of each in rep[0..max), and stops
 * them again. For `cgsight check`. Returns the number of reports.
 */
size_t cgs_agent_plan(const struct cgs_config *cfg, const struct cgs_cgroup_mounts *mounts,
		      const struct cgs_bpf_features *features, struct cgs_collector_report *rep, size_t max);

#define CGS_VERSION "0.1.0"

#endif
