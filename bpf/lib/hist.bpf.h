/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * log2 latency buckets shared by every kernel histogram (see
 * agent/metrics.h, cgs_log2_us_bounds): bucket b holds observations of
 * `us` whole microseconds with bit length b (b = 0 for us == 0); b >= 23
 * lands in the overflow (+Inf) bucket. No loops, no builtins the BPF
 * backend lacks, no division: a fixed binary search on the bounds.
 */
#ifndef CGS_BPF_LIB_HIST_BPF_H
#define CGS_BPF_LIB_HIST_BPF_H

#define CGS_HIST_BUCKETS 24 /* 23 finite bounds + overflow */

/*
 * Bucket index (0..CGS_HIST_BUCKETS-1) of a duration in nanoseconds: the
 * bit length of ns / 1000, found without the division (a 64-bit divide is
 * the dearest instruction on these hot paths): bucket b >= 1 holds
 * [1000 << (b - 1), 1000 << b) ns, so a binary search over those bounds.
 */
static __always_inline __u32 cgs_hist_bucket_ns(__u64 ns)
{
	__u32 b = 0;

	if (ns >= (1000ULL << 15)) b += 16;
	if (ns >= (1000ULL << (b + 7))) b += 8;
	if (ns >= (1000ULL << (b + 3))) b += 4;
	if (ns >= (1000ULL << (b + 1))) b += 2;
	if (ns >= (1000ULL << b)) b += 1;
	return b < CGS_HIST_BUCKETS - 1 ? b : CGS_HIST_BUCKETS - 1;
}

#endif
