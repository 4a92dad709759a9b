/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroupfs readers: pure parsers of the v1 and v2 controller files, and the
 * stats they yield. The collector (cgroupfs.c) reads the files of one
 * container and turns these stats into samples.
 */
#ifndef CGS_COLLECTORS_CGROUPFS_H
#define CGS_COLLECTORS_CGROUPFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each value has a `has_` flag: false means the file or key was absent (no series). */
struct cgs_cgfs_stats {
	bool has_cpu_usage;    double cpu_usage_s, cpu_user_s, cpu_system_s;
	bool has_cfs;          uint64_t cfs_periods, cfs_throttled_periods; double cfs_throttled_s;
	bool has_cpu_quota;    double cpu_quota;   /* cAdvisor units: microseconds per period */
	bool has_cpu_period;   double cpu_period;  /* microseconds */
	bool has_mem_usage;    uint64_t mem_usage;
	bool has_mem_stat;     uint64_t mem_rss, mem_cache, mem_mapped_file, mem_inactive_file;
	bool has_mem_swap;     uint64_t mem_swap;
	bool has_mem_limit;    uint64_t mem_limit;  /* 0 = unlimited */
	bool has_io;           uint64_t io_read_bytes, io_write_bytes;
	bool has_processes;    uint64_t processes;
	bool has_threads;      uint64_t threads;
	bool has_psi[3];       double psi_some_s[3], psi_full_s[3]; /* cpu, memory, io */
};

/* Pure parsers; each returns 0, or -EBADMSG when the text is not in the expected format. */
int cgs_cgfs_parse_cpu_stat_v2(const char *text, struct cgs_cgfs_stats *st);
int cgs_cgfs_parse_cpu_max_v2(const char *text, struct cgs_cgfs_stats *st);
int cgs_cgfs_parse_memory_stat_v2(const char *text, struct cgs_cgfs_stats *st);
int cgs_cgfs_parse_io_stat_v2(const char *text, struct cgs_cgfs_stats *st);
int cgs_cgfs_parse_pressure(const char *text, int which /* 0 cpu, 1 memory, 2 io */,
			    struct cgs_cgfs_stats *st);
int cgs_cgfs_parse_cpuacct_stat_v1(const char *text, long user_hz, struct cgs_cgfs_stats *st);
int cgs_cgfs_parse_cpu_stat_v1(const char *text, struct cgs_cgfs_stats *st);
int cgs_cgfs_parse_memory_stat_v1(const char *text, struct cgs_cgfs_stats *st);
int cgs_cgfs_parse_blkio_v1(const char *text, struct cgs_cgfs_stats *st);
/* A single unsigned integer, or "max" (sets *is_max). */
int cgs_cgfs_parse_u64(const char *text, uint64_t *v, bool *is_max);

#endif
