/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory-event collector (bpf/mem.bpf.c -> container_oom_events_total,
 * container_memory_reclaim_seconds, container_memory_failures_total, OOM
 * events on the API; container_memory_rss from /proc where a container has
 * no memory cgroup). The pure parts, exposed for tests: OOM record
 * decoding, the bounded log of recent kills and its JSON, memory.stat's
 * major-fault count, and the RSS sum over a cgroup subtree.
 * Include <linux/types.h> before this header.
 */
#ifndef CGS_COLLECTORS_MEM_H
#define CGS_COLLECTORS_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../agent/samples.h"
#include "../bpf/mem.h"

struct json_object;

extern const struct cgs_collector_ops cgs_collector_mem;

/* OOM kills kept for the API; older ones are dropped. */
#define CGS_MEM_OOM_KEEP 64

/* One OOM kill as the API shows it. Strings are owned (NULL where unknown). */
struct cgs_mem_oom {
	double time;            /* seconds since the epoch */
	uint64_t cgroup_id;     /* the victim's cgroup; 0 when unknown */
	char *id;               /* the container's `id` label (cgroup path), NULL outside containers */
	char *container_id, *name, *container, *pod, *namespace, *pod_uid, *image;
	uint32_t pid, tid, uid, flags; /* flags: CGS_MEM_OOM_* */
	int32_t oom_score_adj;
	uint64_t total_vm_bytes, anon_rss_bytes, file_rss_bytes, shmem_rss_bytes, pgtables_bytes;
	uint64_t memcg_usage_bytes;
	char comm[CGS_MEM_COMM_LEN + 1]; /* printable ASCII only */
};

/*
 * Decodes one ring-buffer record: sizes from pages to bytes, the kernel's
 * monotonic time to the epoch (given both clocks read now), comm made
 * printable. Container fields are left NULL. 0, or -EBADMSG when `len` is
 * not a whole record.
 */
int cgs_mem_oom_decode(const void *data, size_t len, long page_size, double realtime_now,
		       uint64_t monotonic_now_ns, struct cgs_mem_oom *out);
void cgs_mem_oom_clear(struct cgs_mem_oom *o);

struct cgs_mem_oom_log {
	struct cgs_mem_oom v[CGS_MEM_OOM_KEEP];
	size_t head, n; /* oldest at head */
};

/* Appends (taking the strings of `o`), dropping the oldest when full. */
void cgs_mem_oom_log_push(struct cgs_mem_oom_log *l, struct cgs_mem_oom *o);
/* Appends one JSON object per kill, oldest first, to the json-c array `events`. 0 or -ENOMEM. */
int cgs_mem_oom_log_json(const struct cgs_mem_oom_log *l, struct json_object *events);
void cgs_mem_oom_log_clear(struct cgs_mem_oom_log *l);
/*
 * One kill as the API shows it, as one line of JSON (no newline): what the
 * events file holds. malloc'd, NULL when out of memory.
 */
char *cgs_mem_oom_line(const struct cgs_mem_oom *o, size_t *len);

/*
 * The major-fault count in memory.stat text: `pgmajfault` (v2; v1 too),
 * `total_pgmajfault` preferred in v1 (it includes nested cgroups).
 * 1 found, 0 absent, -EBADMSG garbled.
 */
int cgs_mem_parse_pgmajfault(const char *text, bool v1, uint64_t *out);

/*
 * Resident memory of every process in the cgroup directory `dir` and the
 * cgroups below it: cgroup.procs at each level, <proc_root>/<pid>/statm's
 * resident pages. Processes that exit meanwhile are skipped. The number of
 * processes counted, or -errno when `dir` cannot be read.
 */
int cgs_mem_rss_sum(const char *dir, const char *proc_root, long page_size, uint64_t *bytes);

/* The fd of a loaded program by name (tests drive raw_tp programs with BPF_PROG_TEST_RUN), or -ENOENT. */
int cgs_mem_prog_fd(void *state, const char *prog_name);

#endif
