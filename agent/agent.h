/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon: one epoll event loop (signals, timers, collector fds) that
 * owns the registry and every collector, collects each interval, and
 * publishes snapshots for the HTTP threads.
 */
#ifndef CGS_AGENT_H
#define CGS_AGENT_H

struct cgs_config;

/* Runs until SIGTERM/SIGINT. Returns a process exit status. */
int cgs_agent_run(const struct cgs_config *cfg);

/* `cgsight check`: prints the feature report; returns 0 when the agent can run here. */
int cgs_agent_check(const struct cgs_config *cfg);

#define CGS_VERSION "0.1.0"

#endif
