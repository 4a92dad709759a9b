// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reference programs for bench/syscalls.sh on raw_syscalls sys_enter and
 * sys_exit: empty_* do nothing, the floor of any tracepoint-based tracer;
 * clock_* only read bpf_ktime_get_ns(), the floor of any tracer that
 * measures syscall latency. The loader picks a pair with autoload.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 clock_sink = 0;

SEC("raw_tp/sys_enter")
int empty_sys_enter(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_exit")
int empty_sys_exit(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int clock_sys_enter(void *ctx)
{
	clock_sink = bpf_ktime_get_ns();
	return 0;
}

SEC("raw_tp/sys_exit")
int clock_sys_exit(void *ctx)
{
	clock_sink = bpf_ktime_get_ns();
	return 0;
}
