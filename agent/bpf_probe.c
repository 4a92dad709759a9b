/* SPDX-License-Identifier: Apache-2.0 */
/* BPF feature probes; see bpf_probe.h. */
#include "bpf_probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Not in every uapi header this builds against (added in Linux 6.2). */
#define CGS_BPF_MAP_TYPE_CGRP_STORAGE 32

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;
	enum cgs_log_level l = level == LIBBPF_WARN ? CGS_LOG_WARN : CGS_LOG_DEBUG;

	if ((int)l > cgs_log_level_get())
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	cgs_log_emit(l, "libbpf", "%s", msg);
	return 0;
}

void cgs_bpf_setup_logging(void)
{
	libbpf_set_print(libbpf_print);
}

static int load_trivial(enum bpf_prog_type type, const struct bpf_prog_load_opts *opts)
{
	const struct bpf_insn insns[] = {
		{ .code = 0xb7 /* BPF_ALU64|BPF_MOV|BPF_K */, .dst_reg = 0, .imm = 0 },
		{ .code = 0x95 /* BPF_JMP|BPF_EXIT */ },
	};
	int fd = bpf_prog_load(type, NULL, "GPL", insns, 2, opts);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static bool probe_tp_btf(void)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	int id = libbpf_find_vmlinux_btf_id("sched_switch", BPF_TRACE_RAW_TP);

	if (id <= 0)
		return false;
	opts.attach_btf_id = (__u32)id;
	return load_trivial(BPF_PROG_TYPE_TRACING, &opts) == 0;
}

void cgs_bpf_probe(struct cgs_bpf_features *f)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	int r;

	memset(f, 0, sizeof(*f));
	f->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	r = load_trivial(BPF_PROG_TYPE_SOCKET_FILTER, NULL);
	f->bpf = r == 0;
	f->bpf_errno = -r;
	if (f->bpf) {
		f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
		f->task_storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1;
		f->cgrp_storage = libbpf_probe_bpf_map_type((enum bpf_map_type)CGS_BPF_MAP_TYPE_CGRP_STORAGE,
							    NULL) == 1;
		f->raw_tp = load_trivial(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) == 0;
		f->tp_btf = f->btf && probe_tp_btf();
		f->cgroup_skb = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SKB, NULL) == 1;
	}
	libbpf_set_print(old);
}
