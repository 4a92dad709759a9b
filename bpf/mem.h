/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wire format of the memory-event collector (bpf/mem.bpf.c ->
 * collectors/mem.c): per-container accumulators in a per-CPU array indexed
 * by container slot, and one ring-buffer record per OOM kill.
 */
#ifndef CGS_BPF_MEM_H
#define CGS_BPF_MEM_H

/* log2 buckets of bpf/lib/hist.bpf.h: 23 finite bounds (1 us .. 2^22 us) + overflow. */
#define CGS_MEM_HIST_BUCKETS 24
#define CGS_MEM_COMM_LEN 16

struct cgs_mem_slot_stats {
	__u64 pgfault;    /* user page faults (exceptions:page_fault_user) */
	__u64 oom_kills;  /* OOM victims chosen among the container's tasks */
	__u64 reclaim_ns; /* time in memory-cgroup reclaim, summed */
	__u64 reclaim_hist[CGS_MEM_HIST_BUCKETS]; /* one count per reclaim */
};

_Static_assert(sizeof(struct cgs_mem_slot_stats) == 24 + 8 * CGS_MEM_HIST_BUCKETS,
	       "cgs_mem_slot_stats layout");

/* cgs_mem_oom_event.flags */
#define CGS_MEM_OOM_TASK     0x1u /* read from the victim task: cgroup_id, tid, comm, uid, oom_score_adj */
#define CGS_MEM_OOM_MM       0x2u /* the victim had an mm: the *_pages and pgtables_bytes fields */
#define CGS_MEM_OOM_MEMCG    0x4u /* memcg_usage_pages: usage of the victim's (non-root) memory cgroup */
#define CGS_MEM_OOM_PID_ONLY 0x8u /* the tracepoint passed only the pid (Linux < 6.8); without
				     CGS_MEM_OOM_TASK (the victim was not current) nothing else is known */

/* One oom:mark_victim: the task the OOM killer chose, read from the victim (not current). */
struct cgs_mem_oom_event {
	__u64 ktime_ns;          /* CLOCK_MONOTONIC */
	__u64 cgroup_id;         /* the victim's cgroup v2 id; 0 when unknown */
	__u64 total_vm_pages;
	__u64 anon_rss_pages;
	__u64 file_rss_pages;
	__u64 shmem_rss_pages;
	__u64 pgtables_bytes;
	__u64 memcg_usage_pages;
	__u32 pid;               /* thread-group id */
	__u32 tid;
	__u32 uid;
	__u32 flags;             /* CGS_MEM_OOM_* */
	__s32 slot;              /* the victim's container slot, -1 if none */
	__s32 oom_score_adj;
	char comm[CGS_MEM_COMM_LEN];
};

_Static_assert(sizeof(struct cgs_mem_oom_event) == 64 + 24 + CGS_MEM_COMM_LEN,
	       "cgs_mem_oom_event layout");

#endif
