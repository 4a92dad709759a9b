/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel BPF feature probes: what this kernel offers, found by trying it
 * (never by version numbers). The agent picks each collector's variant
 * from these; `cgsight check` prints them.
 */
#ifndef CGS_BPF_PROBE_H
#define CGS_BPF_PROBE_H

#include <stdbool.h>

struct cgs_bpf_features {
	bool btf;            /* /sys/kernel/btf/vmlinux readable */
	bool bpf;            /* a BPF program can be loaded at all (privileges, kernel) */
	bool ringbuf;
	bool tp_btf;         /* BTF-enabled raw tracepoints */
	bool raw_tp;
	bool task_storage;
	bool cgrp_storage;
	bool cgroup_skb;
	int bpf_errno;       /* why `bpf` is false */
};

void cgs_bpf_probe(struct cgs_bpf_features *f);
/* Routes libbpf's messages through cgs_log (warnings at warn, the rest at debug). */
void cgs_bpf_setup_logging(void);

#endif
