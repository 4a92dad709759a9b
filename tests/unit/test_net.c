/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the pure halves of the net and tcp collectors
 * (collectors/net_stats.h): per-CPU sums, the samples each collector emits
 * for a container (families, label values, histogram), the bound on
 * samples, and the detection of the tcp_retransmit_skb `err` argument in
 * BTF built here for both kernel variants (and in the running kernel's BTF
 * when it is readable).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <bpf/btf.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <linux/types.h>

#include "agent/metrics.h"
#include "agent/samples.h"
#include "collectors/net_stats.h"

static const struct cgs_sample *find(const struct cgs_samples *s, enum cgs_family_id f, const char *lv0)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].family != f)
			continue;
		if (!lv0 || (s->v[i].lv[0] && strcmp(s->v[i].lv[0], lv0) == 0))
			return &s->v[i];
	}
	return NULL;
}

static double value_of(const struct cgs_samples *s, enum cgs_family_id f, const char *lv0)
{
	const struct cgs_sample *x = find(s, f, lv0);

	assert_non_null(x);
	return x->value;
}

static void test_net_sum(void **state)
{
	struct cgs_net_counters cpu[3], sum;

	(void)state;
	memset(cpu, 0, sizeof(cpu));
	for (int i = 0; i < 3; i++) {
		cpu[i].rx[CGS_NET_IF_ETH].bytes = 1000u * (unsigned)(i + 1);
		cpu[i].rx[CGS_NET_IF_ETH].packets = 1u + (unsigned)i;
		cpu[i].tx[CGS_NET_IF_ETH].bytes = 7;
		cpu[i].tx[CGS_NET_IF_LO].packets = 5;
		cpu[i].rx[CGS_NET_IF_LO].bytes = UINT64_C(1) << 40;
	}
	cgs_net_sum(cpu, 3, &sum);
	assert_int_equal(sum.rx[CGS_NET_IF_ETH].bytes, 6000);
	assert_int_equal(sum.rx[CGS_NET_IF_ETH].packets, 6);
	assert_int_equal(sum.tx[CGS_NET_IF_ETH].bytes, 21);
	assert_int_equal(sum.tx[CGS_NET_IF_ETH].packets, 0);
	assert_int_equal(sum.tx[CGS_NET_IF_LO].packets, 15);
	assert_true(sum.rx[CGS_NET_IF_LO].bytes == 3 * (UINT64_C(1) << 40));
	/* No CPU: zeros. */
	memset(&sum, 0xff, sizeof(sum));
	cgs_net_sum(cpu, 0, &sum);
	assert_int_equal(sum.rx[CGS_NET_IF_LO].bytes, 0);
}

static void test_net_samples(void **state)
{
	struct cgs_net_counters c;
	struct cgs_samples s;

	(void)state;
	assert_string_equal(cgs_net_if_label[CGS_NET_IF_ETH], "eth0");
	assert_string_equal(cgs_net_if_label[CGS_NET_IF_LO], "lo");
	memset(&c, 0, sizeof(c));
	c.rx[CGS_NET_IF_ETH] = (struct cgs_net_dir){ .bytes = 10, .packets = 1 };
	c.tx[CGS_NET_IF_ETH] = (struct cgs_net_dir){ .bytes = 20, .packets = 2 };
	c.rx[CGS_NET_IF_LO] = (struct cgs_net_dir){ .bytes = 30, .packets = 3 };
	c.tx[CGS_NET_IF_LO] = (struct cgs_net_dir){ .bytes = 40, .packets = 4 };
	cgs_samples_init(&s, 100);
	assert_int_equal(cgs_net_samples(&c, &s), 0);
	/* Four families, each for both interface classes; zeros are exported too (stable series). */
	assert_int_equal(s.n, 8);
	assert_true(value_of(&s, CGS_M_NET_RX_BYTES, "eth0") == 10);
	assert_true(value_of(&s, CGS_M_NET_RX_PACKETS, "eth0") == 1);
	assert_true(value_of(&s, CGS_M_NET_TX_BYTES, "eth0") == 20);
	assert_true(value_of(&s, CGS_M_NET_TX_PACKETS, "eth0") == 2);
	assert_true(value_of(&s, CGS_M_NET_RX_BYTES, "lo") == 30);
	assert_true(value_of(&s, CGS_M_NET_RX_PACKETS, "lo") == 3);
	assert_true(value_of(&s, CGS_M_NET_TX_BYTES, "lo") == 40);
	assert_true(value_of(&s, CGS_M_NET_TX_PACKETS, "lo") == 4);
	for (size_t i = 0; i < s.n; i++) {
		assert_null(s.v[i].lv[1]);
		assert_null(s.v[i].counts);
		assert_string_equal(cgs_families[s.v[i].family].labels[0], "interface");
	}
	cgs_samples_free(&s);

	/* Past the bound: an error, and what fitted is kept. */
	cgs_samples_init(&s, 3);
	assert_int_equal(cgs_net_samples(&c, &s), -ENOSPC);
	assert_int_equal(s.n, 3);
	cgs_samples_free(&s);
}

static void test_tcp_samples(void **state)
{
	struct cgs_tcp_counters c;
	struct cgs_samples s;
	const struct cgs_sample *h;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.connects_ok = 100;
	c.connects_failed = 7;
	c.accepts = 42;
	c.retransmits = 213;
	c.active = 3;
	c.lat_hist[0] = 1;  /* < 1 us */
	c.lat_hist[5] = 90; /* 16..31 us */
	c.lat_hist[CGS_TCP_HIST_BUCKETS - 1] = 9; /* above every bound */
	c.lat_sum_ns = 2500000000ull;
	cgs_samples_init(&s, 100);
	assert_int_equal(cgs_tcp_samples(&c, &s), 0);
	assert_int_equal(s.n, 6);
	assert_true(value_of(&s, CGS_M_TCP_CONNECTS, "ok") == 100);
	assert_true(value_of(&s, CGS_M_TCP_CONNECTS, "failed") == 7);
	assert_true(value_of(&s, CGS_M_TCP_ACCEPTS, NULL) == 42);
	assert_true(value_of(&s, CGS_M_TCP_ACTIVE_CONNECTIONS, NULL) == 3);
	assert_true(value_of(&s, CGS_M_TCP_RETRANSMITS, NULL) == 213);
	h = find(&s, CGS_M_TCP_CONNECT_LATENCY, NULL);
	assert_non_null(h);
	assert_non_null(h->counts);
	assert_int_equal(cgs_families[CGS_M_TCP_CONNECT_LATENCY].nbounds + 1, CGS_TCP_HIST_BUCKETS);
	assert_int_equal(h->counts[0], 1);
	assert_int_equal(h->counts[5], 90);
	assert_int_equal(h->counts[CGS_TCP_HIST_BUCKETS - 1], 9);
	assert_true(fabs(h->value - 2.5) < 1e-12);
	cgs_samples_free(&s);

	/* The gauge is a signed sum: a transient negative value is exported as 0. */
	c.active = (__u64)(int64_t)-2;
	cgs_samples_init(&s, 100);
	assert_int_equal(cgs_tcp_samples(&c, &s), 0);
	assert_true(value_of(&s, CGS_M_TCP_ACTIVE_CONNECTIONS, NULL) == 0);
	cgs_samples_free(&s);

	cgs_samples_init(&s, 2);
	assert_int_equal(cgs_tcp_samples(&c, &s), -ENOSPC);
	cgs_samples_free(&s);
}

/* BTF with `typedef void (*btf_trace_tcp_retransmit_skb)(void *, const struct sock *, const struct sk_buff *[, int])`. */
static struct btf *trace_btf(int nargs, bool with_typedef)
{
	struct btf *b = btf__new_empty();
	int i32, sock, skb, csock, cskb, psock, pskb, pvoid, proto, pproto;

	assert_non_null(b);
	i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	sock = btf__add_fwd(b, "sock", BTF_FWD_STRUCT);
	skb = btf__add_fwd(b, "sk_buff", BTF_FWD_STRUCT);
	csock = btf__add_const(b, sock);
	cskb = btf__add_const(b, skb);
	psock = btf__add_ptr(b, csock);
	pskb = btf__add_ptr(b, cskb);
	pvoid = btf__add_ptr(b, 0);
	proto = btf__add_func_proto(b, 0);
	assert_true(i32 > 0 && psock > 0 && pskb > 0 && pvoid > 0 && proto > 0);
	assert_int_equal(btf__add_func_param(b, "", pvoid), 0);
	assert_int_equal(btf__add_func_param(b, "", psock), 0);
	assert_int_equal(btf__add_func_param(b, "", pskb), 0);
	if (nargs > 3)
		assert_int_equal(btf__add_func_param(b, "", i32), 0);
	pproto = btf__add_ptr(b, proto);
	if (with_typedef)
		assert_true(btf__add_typedef(b, "btf_trace_tcp_retransmit_skb", pproto) > 0);
	/* A neighbour that must not be mistaken for it. */
	assert_true(btf__add_typedef(b, "btf_trace_tcp_retransmit_synack", pproto) > 0);
	return b;
}

static void test_retransmit_has_err(void **state)
{
	struct btf *b;

	(void)state;
	b = trace_btf(3, true);
	assert_int_equal(cgs_tcp_retransmit_has_err(b), 0);
	btf__free(b);
	b = trace_btf(4, true);
	assert_int_equal(cgs_tcp_retransmit_has_err(b), 1);
	btf__free(b);
	b = trace_btf(4, false);
	assert_int_equal(cgs_tcp_retransmit_has_err(b), -ENOENT);
	btf__free(b);

	/* A typedef of the right name that is no function pointer. */
	b = btf__new_empty();
	assert_non_null(b);
	assert_true(btf__add_typedef(b, "btf_trace_tcp_retransmit_skb", btf__add_int(b, "int", 4, 0)) > 0);
	assert_int_equal(cgs_tcp_retransmit_has_err(b), -ENOENT);
	btf__free(b);

	/* The running kernel's, where readable: one of the two variants. */
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0) {
		b = btf__load_vmlinux_btf();
		if (b) {
			int r = cgs_tcp_retransmit_has_err(b);

			assert_true(r == 0 || r == 1 || r == -ENOENT);
			btf__free(b);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_sum),
		cmocka_unit_test(test_net_samples),
		cmocka_unit_test(test_tcp_samples),
		cmocka_unit_test(test_retransmit_has_err),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
