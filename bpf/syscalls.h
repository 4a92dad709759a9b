/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wire format of the syscall collector (bpf/syscalls.bpf.c ->
 * collectors/syscalls.c): one per-CPU record per measured container (the
 * slot_index map gives a container slot's record) holding a
 * latency histogram, an error count and a latency sum per syscall class,
 * and a count per syscall number. Counters are 32 bits to halve the
 * per-CPU footprint; userspace folds them into 64-bit totals often enough
 * that none can wrap between two reads (see CGS_SYSCALLS_FOLD_MS in
 * collectors/syscalls.c). The latency sum is 64 bits: it grows too fast.
 */
#ifndef CGS_BPF_SYSCALLS_H
#define CGS_BPF_SYSCALLS_H

/* Syscall numbers counted one by one; others (x32, -1, future ones) count as CGS_SYSCALLS_NR_OTHER. */
#define CGS_SYSCALLS_NR_MAX   512
#define CGS_SYSCALLS_NR_OTHER (CGS_SYSCALLS_NR_MAX - 1)

/* slot_index values are accumulator index + 1; this one: no accumulators (not measured). */
#define CGS_SYSCALLS_NO_INDEX 0u

/* Syscall classes: the values of the class table (syscall_classes map) and indexes of cls[]. */
#define CGS_SC_FILE_IO  0
#define CGS_SC_NET_IO   1
#define CGS_SC_SYNC     2
#define CGS_SC_SLEEP    3
#define CGS_SC_POLL     4
#define CGS_SC_PROCESS  5
#define CGS_SC_MEMORY   6
#define CGS_SC_OTHER    7
#define CGS_SC_COUNT    8 /* a power of two: the BPF side masks with CGS_SC_COUNT - 1 */

#define CGS_SYSCALLS_BUCKETS 24 /* = CGS_HIST_BUCKETS (bpf/lib/hist.bpf.h) */

struct cgs_syscalls_class {
	__u32 buckets[CGS_SYSCALLS_BUCKETS]; /* log2 latency buckets, non-cumulative */
	__u32 errors;                        /* returns in [-4095, -1] */
	__u32 pad;
	__u64 sum_ns;                        /* latency sum */
};

struct cgs_syscalls_slot {
	struct cgs_syscalls_class cls[CGS_SC_COUNT];
	__u32 counts[CGS_SYSCALLS_NR_MAX];   /* per syscall number */
};

_Static_assert(sizeof(struct cgs_syscalls_class) == 112, "cgs_syscalls_class layout");
_Static_assert(sizeof(struct cgs_syscalls_slot) == 112 * CGS_SC_COUNT + 4 * CGS_SYSCALLS_NR_MAX,
	       "cgs_syscalls_slot layout");

#endif
