/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metric families cgsight exports: one table, in exposition order, that
 * the Prometheus encoder, the JSON API and the README's metric reference all
 * read. Names are an interface: change them only deliberately.
 */
#ifndef CGS_METRICS_H
#define CGS_METRICS_H

#include <stdint.h>

enum cgs_metric_kind {
	CGS_KIND_COUNTER,
	CGS_KIND_GAUGE,
	CGS_KIND_HISTOGRAM,
	CGS_KIND_SUMMARY,   /* sum and count only (no quantiles): a histogram without bounds */
};

/* Where a family's series hang: on a container (with the container labels) or on the agent. */
enum cgs_metric_scope {
	CGS_SCOPE_CONTAINER,
	CGS_SCOPE_AGENT,
};

#define CGS_METRIC_MAX_LABELS 3

struct cgs_family {
	const char *name;
	const char *help;
	enum cgs_metric_kind kind;
	enum cgs_metric_scope scope;
	const char *labels[CGS_METRIC_MAX_LABELS]; /* extra label names, NULL-terminated if fewer */
	const char *source;                        /* for the docs: "cgroupfs", "eBPF sched", ... */
	const double *bounds;                      /* histogram upper bounds, seconds, ascending */
	uint16_t nbounds;                          /* histogram: number of finite buckets */
};

#define CGS_FAMILIES(X)                          \
	X(CPU_USAGE)                             \
	X(CPU_USER)                              \
	X(CPU_SYSTEM)                            \
	X(CPU_CFS_PERIODS)                       \
	X(CPU_CFS_THROTTLED_PERIODS)             \
	X(CPU_CFS_THROTTLED_SECONDS)             \
	X(MEMORY_USAGE)                          \
	X(MEMORY_WORKING_SET)                    \
	X(MEMORY_RSS)                            \
	X(MEMORY_CACHE)                          \
	X(MEMORY_SWAP)                           \
	X(MEMORY_MAPPED_FILE)                    \
	X(SPEC_MEMORY_LIMIT)                     \
	X(SPEC_CPU_QUOTA)                        \
	X(SPEC_CPU_PERIOD)                       \
	X(FS_READS_BYTES)                        \
	X(FS_WRITES_BYTES)                       \
	X(PROCESSES)                             \
	X(THREADS)                               \
	X(PRESSURE_CPU_WAITING)                  \
	X(PRESSURE_CPU_STALLED)                  \
	X(PRESSURE_MEMORY_WAITING)               \
	X(PRESSURE_MEMORY_STALLED)               \
	X(PRESSURE_IO_WAITING)                   \
	X(PRESSURE_IO_STALLED)                   \
	X(CONTAINER_START_TIME)                  \
	X(CPU_DELAY)                             \
	X(CPU_RUNQUEUE_LATENCY)                  \
	X(CONTEXT_SWITCHES)                      \
	X(MEMORY_FAILURES)                       \
	X(OOM_EVENTS)                            \
	X(MEMORY_RECLAIM)                        \
	X(SYSCALLS)                              \
	X(SYSCALL_LATENCY)                       \
	X(SYSCALL_ERRORS)                        \
	X(NET_RX_BYTES)                          \
	X(NET_TX_BYTES)                          \
	X(NET_RX_PACKETS)                        \
	X(NET_TX_PACKETS)                        \
	X(TCP_CONNECTS)                          \
	X(TCP_ACCEPTS)                           \
	X(TCP_ACTIVE_CONNECTIONS)                \
	X(TCP_CONNECT_LATENCY)                   \
	X(TCP_RETRANSMITS)                       \
	X(TCP_PEER_CONNECTS)                     \
	X(TCP_PEER_RETRANSMITS)                  \
	X(TCP_PEER_CONNECT_LATENCY)              \
	X(CONTAINER_LOG_RECORDS)                 \
	X(CONTAINER_LOG_LAG_BYTES)               \
	X(LOGS_READ_RECORDS)                     \
	X(LOGS_READ_BYTES)                       \
	X(LOGS_SENT_RECORDS)                     \
	X(LOGS_SENT_BYTES)                       \
	X(LOGS_ACKED_RECORDS)                    \
	X(LOGS_RETRIED_RECORDS)                  \
	X(LOGS_DROPPED_BYTES)                    \
	X(LOGS_FLAGGED_RECORDS)                  \
	X(LOGS_LAG_BYTES)                        \
	X(LOGS_FILES)                            \
	X(LOGS_BUFFER_BYTES)                     \
	X(LOGS_BACKPRESSURE_SECONDS)             \
	X(LOGS_ROTATIONS)                        \
	X(LOGS_FORWARD_UP)                       \
	X(LOGS_FORWARD_ERRORS)                   \
	X(LOGS_WRITE_ERRORS)                     \
	X(LOGS_REJECTED_FILES)                   \
	X(HTTP_REQUESTS)                         \
	X(HTTP_REQUEST_DURATION)                 \
	X(AGENT_SPANS)                           \
	X(AGENT_SPANS_INCOMPLETE)                \
	X(AGENT_SPANS_QUEUED)                    \
	X(AGENT_SPANS_EXPORTS)                   \
	X(AGENT_HTTP_CONNECTIONS)                \
	X(AGENT_BUILD_INFO)                      \
	X(AGENT_CONTAINERS)                      \
	X(AGENT_COLLECTOR_ERRORS)                \
	X(AGENT_COLLECTOR_UP)                    \
	X(AGENT_COLLECTOR_INFO)                  \
	X(AGENT_COLLECTOR_DEGRADED)              \
	X(AGENT_COLLECTOR_CONTAINERS)            \
	X(AGENT_RUNTIME_ERRORS)                  \
	X(AGENT_EVENTS_LOST)                     \
	X(AGENT_COLLECTION_DURATION)             \
	X(AGENT_SERIES_DROPPED)                  \
	X(AGENT_SCRAPES)                         \
	X(AGENT_SCRAPE_DURATION)                 \
	X(PROCESS_CPU)                           \
	X(PROCESS_RSS)                           \
	X(PROCESS_FDS)                           \
	X(PROCESS_START_TIME)

enum cgs_family_id {
#define CGS_X(n) CGS_M_##n,
	CGS_FAMILIES(CGS_X)
#undef CGS_X
	CGS_M__COUNT
};

extern const struct cgs_family cgs_families[CGS_M__COUNT];

/*
 * The log2 latency buckets every kernel histogram uses: bound b is 2^b
 * microseconds (1 us .. 2^22 us ~ 4.19 s). An observation of `us` whole
 * microseconds falls in bucket b = (us == 0 ? 0 : bit length of us), which
 * is index CGS_LOG2_US_NBOUNDS (+Inf) from b = 23 on; counts arrays hold
 * CGS_LOG2_US_NBOUNDS + 1 entries.
 */
#define CGS_LOG2_US_NBOUNDS 23
extern const double cgs_log2_us_bounds[CGS_LOG2_US_NBOUNDS];

/*
 * Every other log2 bound, 4^i microseconds (1 us .. 4.19 s): histograms
 * exported with fewer series (15 instead of 26) from the same kernel log2
 * buckets, merged pairwise by cgs_hist_rebucket.
 */
#define CGS_LOG4_US_NBOUNDS 12
extern const double cgs_log4_us_bounds[CGS_LOG4_US_NBOUNDS];

/*
 * Merges the nfrom + 1 non-cumulative counts of a histogram with upper
 * bounds `from` (the last count above them all) into the nto + 1 counts of
 * bounds `to`: each bucket goes to the first one whose bound is at least its
 * own (+Inf to +Inf). Exact when the `to` bounds are some of the `from` ones.
 */
void cgs_hist_rebucket(const double *from, unsigned nfrom, const uint64_t *counts, const double *to,
		       unsigned nto, uint64_t *out);

#endif
