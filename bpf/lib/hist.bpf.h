/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * log2 latency buckets shared by every kernel histogram (see
 * agent/metrics.h, cgs_log2_us_bounds): bucket b holds observations of
 * `us` whole microseconds with bit length b (b = 0 for us == 0); b >= 23
 * lands in the overflow (+Inf) bucket. No loops, no builtins the BPF
 * backend lacks: a fixed binary search on the bit length.
 */
#ifndef CGS_BPF_LIB_HIST_BPF_H
#define CGS_BPF_LIB_HIST_BPF_H

#define CGS_HIST_BUCKETS 24 /* 23 finite bounds + overflow */

static __always_inline __u32 cgs_bitlen64(__u64 v)
{
	__u32 n = 0;

	if (v >> 32) { v >>= 32; n += 32; }
	if (v >> 16) { v >>= 16; n += 16; }
	if (v >> 8)  { v >>= 8;  n += 8; }
	if (v >> 4)  { v >>= 4;  n += 4; }
	if (v >> 2)  { v >>= 2;  n += 2; }
	if (v >> 1)  { v >>= 1;  n += 1; }
	return n + (__u32)v;
}

/* Bucket index (0..CGS_HIST_BUCKETS-1) of a duration in nanoseconds. */
static __always_inline __u32 cgs_hist_bucket_ns(__u64 ns)
{
	__u32 b = cgs_bitlen64(ns / 1000);

	return b < CGS_HIST_BUCKETS - 1 ? b : CGS_HIST_BUCKETS - 1;
}

#endif
