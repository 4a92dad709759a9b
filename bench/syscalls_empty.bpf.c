// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of any tracepoint-based syscall tracer, for bench/syscalls.sh:
 * two raw_tp programs on raw_syscalls sys_enter and sys_exit that do
 * nothing. What they cost is what attaching to those tracepoints costs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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
