/* SPDX-License-Identifier: Apache-2.0 */
/* The static registry of collectors, in collection order. */
#include "collector.h"

extern const struct cgs_collector_ops cgs_collector_lifecycle;
extern const struct cgs_collector_ops cgs_collector_cgroupfs;
extern const struct cgs_collector_ops cgs_collector_sched;
extern const struct cgs_collector_ops cgs_collector_mem;
/* anchor:extern-sched */
extern const struct cgs_collector_ops cgs_collector_syscalls;
/* anchor:extern-syscalls */
extern const struct cgs_collector_ops cgs_collector_net;
extern const struct cgs_collector_ops cgs_collector_tcp;
/* anchor:extern-net */
extern const struct cgs_collector_ops cgs_collector_logs;
/* anchor:extern-logs */
extern const struct cgs_collector_ops cgs_collector_l7;
/* anchor:extern-l7 */

const struct cgs_collector_ops *const cgs_collectors[] = {
	&cgs_collector_lifecycle,
	&cgs_collector_cgroupfs,
	&cgs_collector_sched,
	&cgs_collector_mem,
	/* anchor:entry-sched */
	&cgs_collector_syscalls,
	/* anchor:entry-syscalls */
	&cgs_collector_net,
	&cgs_collector_tcp,
	/* anchor:entry-net */
	&cgs_collector_logs,
	/* anchor:entry-logs */
	&cgs_collector_l7,
	/* anchor:entry-l7 */
	NULL,
};

const char *cgs_collector_variant(const struct cgs_collector_ops *ops, void *state, bool *fallback)
{
	*fallback = false;
	if (ops->variant)
		return ops->variant(state, fallback);
	return "default";
}
