/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon: one epoll event loop (signals, timers, collector fds) that
 * owns the registry and every collector, collects each interval, and
 * publishes snapshots for the HTTP threads.
 */
#ifndef CGS_AGENT_H
#define CGS_AGENT_H

#include <stddef.h>

struct cgs_config;

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

#define CGS_VERSION "0.1.0"

#endif
