/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel BPF feature probes: what this kernel offers, found by trying it
 * (never by version numbers). The agent picks each collector's variant
 * from these; `cgsight check` prints them.
 *
 * Test and debug knob: the environment variable CGSIGHT_TEST_DISABLE, a
 * comma-separated list of feature names (bpf, btf, ringbuf, tp_btf, raw_tp,
 * task_storage, sk_storage, cgrp_storage, cgroup_skb; local_storage is the
 * three storages) and collector:NAME items, hides
 * those features from the probe (so every collector takes the fallback it
 * would take on a kernel without them) and keeps the named collectors from
 * starting (as if their initialisation had failed). It exists to exercise
 * the degraded paths on a kernel that has everything; it is not a
 * configuration key and production deployments never set it.
 */
#ifndef CGS_BPF_PROBE_H
#define CGS_BPF_PROBE_H

#include <stdbool.h>
#include <stddef.h>

struct cgs_bpf_features {
	bool btf;            /* /sys/kernel/btf/vmlinux readable */
	bool bpf;            /* a BPF program can be loaded at all (privileges, kernel) */
	bool ringbuf;
	bool tp_btf;         /* BTF-enabled raw tracepoints */
	bool raw_tp;
	bool task_storage;
	bool sk_storage;
	bool cgrp_storage;
	bool cgroup_skb;
	int bpf_errno;       /* why `bpf` is false */
	unsigned hidden;     /* CGS_FEAT_* bits CGSIGHT_TEST_DISABLE turned off (the kernel had them) */
};

/* The features, as bits (CGSIGHT_TEST_DISABLE, cgs_bpf_features.hidden). */
enum {
	CGS_FEAT_BPF = 1u << 0,
	CGS_FEAT_BTF = 1u << 1,
	CGS_FEAT_RINGBUF = 1u << 2,
	CGS_FEAT_TP_BTF = 1u << 3,
	CGS_FEAT_RAW_TP = 1u << 4,
	CGS_FEAT_TASK_STORAGE = 1u << 5,
	CGS_FEAT_CGRP_STORAGE = 1u << 6,
	CGS_FEAT_CGROUP_SKB = 1u << 7,
	CGS_FEAT_SK_STORAGE = 1u << 8,
	CGS_FEAT__ALL = (1u << 9) - 1,
};

#define CGS_TEST_DISABLE_ENV "CGSIGHT_TEST_DISABLE"
#define CGS_TEST_DISABLE_MAX_COLLECTORS 16

/*
 * Collector designs CGSIGHT_TEST_DISABLE can skip (not kernel features: a
 * collector's preferred design, to test its fallback on a kernel that has
 * what the preferred one needs).
 */
enum {
	CGS_DESIGN_SCHED_RQ = 1u << 0,   /* sched: the "rq" design (kernel run-queue stamps) */
	CGS_DESIGN_MEM_TP_BTF = 1u << 1, /* mem: the tp_btf programs (their raw_tp twins instead) */
};

/* A parsed CGSIGHT_TEST_DISABLE. */
struct cgs_test_disable {
	unsigned features; /* CGS_FEAT_* */
	unsigned designs;  /* CGS_DESIGN_* */
	char collectors[CGS_TEST_DISABLE_MAX_COLLECTORS][32];
	size_t ncollectors;
};

/* Parses a CGSIGHT_TEST_DISABLE value (NULL or "" is nothing). 0, or -EINVAL with a message in err. */
int cgs_test_disable_parse(const char *spec, struct cgs_test_disable *out, char *err, size_t errlen);
/* The environment's CGSIGHT_TEST_DISABLE (nothing when unset or invalid: main() rejects invalid values). */
void cgs_test_disable_get(struct cgs_test_disable *out);
bool cgs_test_disable_collector(const struct cgs_test_disable *d, const char *name);
/* Whether the environment's CGSIGHT_TEST_DISABLE names a design (CGS_DESIGN_*). */
bool cgs_test_disable_design(unsigned design);
/* The name of one CGS_FEAT_* bit. */
const char *cgs_feature_name(unsigned bit);

/* Probes the kernel, then hides what CGSIGHT_TEST_DISABLE names. */
void cgs_bpf_probe(struct cgs_bpf_features *f);
/* Routes libbpf's messages through cgs_log (warnings at warn, the rest at debug). */
void cgs_bpf_setup_logging(void);

#endif
