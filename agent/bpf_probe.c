/* SPDX-License-Identifier: Apache-2.0 */
/* BPF feature probes; see bpf_probe.h. */
#include "bpf_probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

static const char *const feature_names[] = {
	"bpf", "btf", "ringbuf", "tp_btf", "raw_tp", "task_storage", "cgrp_storage", "cgroup_skb", "sk_storage",
};

const char *cgs_feature_name(unsigned bit)
{
	for (unsigned i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
		if (bit == 1u << i)
			return feature_names[i];
	return "?";
}

int cgs_test_disable_parse(const char *spec, struct cgs_test_disable *out, char *err, size_t errlen)
{
	const char *p = spec ? spec : "";

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p), i;

		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 10 && !strncmp(p, "collector:", 10)) {
			if (n - 10 >= sizeof(out->collectors[0]) || out->ncollectors == CGS_TEST_DISABLE_MAX_COLLECTORS) {
				snprintf(err, errlen, "%s: '%.*s': name too long or too many collectors", CGS_TEST_DISABLE_ENV,
					 (int)n, p);
				return -EINVAL;
			}
			memcpy(out->collectors[out->ncollectors], p + 10, n - 10);
			out->collectors[out->ncollectors++][n - 10] = '\0';
		} else if (n == 13 && !strncmp(p, "local_storage", n)) {
			out->features |= CGS_FEAT_TASK_STORAGE | CGS_FEAT_SK_STORAGE | CGS_FEAT_CGRP_STORAGE;
		} else if (n == 8 && !strncmp(p, "sched_rq", n)) {
			out->designs |= CGS_DESIGN_SCHED_RQ;
		} else if (n == 10 && !strncmp(p, "mem_tp_btf", n)) {
			out->designs |= CGS_DESIGN_MEM_TP_BTF;
		} else if (n) {
			for (i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
				if (strlen(feature_names[i]) == n && !strncmp(p, feature_names[i], n))
					break;
			if (i == sizeof(feature_names) / sizeof(feature_names[0])) {
				snprintf(err, errlen,
					 "%s: unknown item '%.*s' (want bpf, btf, ringbuf, tp_btf, raw_tp, task_storage, "
					 "sk_storage, cgrp_storage, local_storage, cgroup_skb, sched_rq, mem_tp_btf "
					 "or collector:NAME, comma-separated)",
					 CGS_TEST_DISABLE_ENV, (int)n, p);
				return -EINVAL;
			}
			out->features |= 1u << i;
		}
		p = e ? e + 1 : p + strlen(p);
	}
	return 0;
}

void cgs_test_disable_get(struct cgs_test_disable *out)
{
	char err[256];

	if (cgs_test_disable_parse(getenv(CGS_TEST_DISABLE_ENV), out, err, sizeof(err)) < 0) {
		cgs_log_warn("probe", "%s; ignored", err);
		memset(out, 0, sizeof(*out));
	}
}

bool cgs_test_disable_design(unsigned design)
{
	struct cgs_test_disable d;

	cgs_test_disable_get(&d);
	return (d.designs & design) != 0;
}

bool cgs_test_disable_collector(const struct cgs_test_disable *d, const char *name)
{
	for (size_t i = 0; i < d->ncollectors; i++)
		if (!strcmp(d->collectors[i], name))
			return true;
	return false;
}

/* Turns off what the test knob names; `hidden` keeps what the kernel did have. */
static void hide(struct cgs_bpf_features *f, unsigned mask)
{
	bool *field[] = { &f->bpf, &f->btf, &f->ringbuf, &f->tp_btf, &f->raw_tp, &f->task_storage,
			  &f->cgrp_storage, &f->cgroup_skb, &f->sk_storage };

	/* Without BPF loading nothing else is probed (the kernel's BTF is a file: it stays). */
	if (mask & CGS_FEAT_BPF)
		mask |= CGS_FEAT__ALL & ~(unsigned)CGS_FEAT_BTF;

	for (unsigned i = 0; i < sizeof(field) / sizeof(field[0]); i++) {
		if (!(mask & (1u << i)) || !*field[i])
			continue;
		*field[i] = false;
		f->hidden |= 1u << i;
	}
	if (f->hidden & CGS_FEAT_BPF)
		f->bpf_errno = EPERM;
}

void cgs_bpf_probe(struct cgs_bpf_features *f)
{
	struct cgs_test_disable d;
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
		f->sk_storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SK_STORAGE, NULL) == 1;
		f->cgrp_storage = libbpf_probe_bpf_map_type((enum bpf_map_type)CGS_BPF_MAP_TYPE_CGRP_STORAGE,
							    NULL) == 1;
		f->raw_tp = load_trivial(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) == 0;
		f->tp_btf = f->btf && probe_tp_btf();
		f->cgroup_skb = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SKB, NULL) == 1;
	}
	libbpf_set_print(old);
	cgs_test_disable_get(&d);
	if (d.features) {
		hide(f, d.features);
		if (f->hidden) {
			char names[128] = "";

			for (unsigned b = 1; b & CGS_FEAT__ALL; b <<= 1)
				if (f->hidden & b)
					snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
						 names[0] ? "," : "", cgs_feature_name(b));
			cgs_log_warn("probe", "%s: hiding %s from the collectors (testing only)", CGS_TEST_DISABLE_ENV,
				     names);
		}
	}
}
