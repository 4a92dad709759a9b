/* SPDX-License-Identifier: Apache-2.0 */
/* The static registry of collectors, in collection order. */
#include "collector.h"

extern const struct cgs_collector_ops cgs_collector_lifecycle;
extern const struct cgs_collector_ops cgs_collector_cgroupfs;
/* anchor:extern-sched */
/* anchor:extern-syscalls */
/* anchor:extern-net */
/* anchor:extern-logs */
/* anchor:extern-l7 */

const struct cgs_collector_ops *const cgs_collectors[] = {
	&cgs_collector_lifecycle,
	&cgs_collector_cgroupfs,
	/* anchor:entry-sched */
	/* anchor:entry-syscalls */
	/* anchor:entry-net */
	/* anchor:entry-logs */
	/* anchor:entry-l7 */
	NULL,
};
