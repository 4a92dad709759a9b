// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reference programs for bench/syscalls.sh on raw_syscalls sys_enter and
 * sys_exit: empty_* do nothing, the floor of any tracepoint-based tracer;
 * clock_* only read bpf_ktime_get_ns(), the floor of any tracer that
 * measures syscall latency; io_* do nothing on the per-syscall
 * tracepoints of the read and write families only (syscalls:sys_enter_read
 * etc.), the floor of a request tracer built on syscall tracepoints that
 * leaves every other syscall alone (bench/l7.sh). The loader picks a set
 * with autoload.
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

/* An empty program on the enter and one on the exit tracepoint of syscall `name`. */
#define IO_PAIR(name)                                      \
	SEC("tracepoint/syscalls/sys_enter_" #name)        \
	int io_enter_##name(void *ctx) { return 0; }       \
	SEC("tracepoint/syscalls/sys_exit_" #name)         \
	int io_exit_##name(void *ctx) { return 0; }

IO_PAIR(read)
IO_PAIR(readv)
IO_PAIR(recvfrom)
IO_PAIR(recvmsg)
IO_PAIR(write)
IO_PAIR(writev)
IO_PAIR(sendto)
IO_PAIR(sendmsg)
