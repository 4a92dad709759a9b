/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the pure halves of the net and tcp collectors
 * (collectors/net_stats.h): per-CPU sums, the samples each collector emits
 * for a container (families, label values, histogram), the bound on
 * samples, the detection of the tcp_retransmit_skb `err` argument in
 * BTF built here for both kernel variants (and in the running kernel's BTF
 * when it is readable), and the per-peer breakdown: destination labels,
 * each container's top N, monotonic totals across kernel entries evicted
 * and made again, slot reuse and the sample budget.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <bpf/btf.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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


/* ---- per-peer breakdown ---------------------------------------------------------------- */

static struct cgs_tcp_peer_key v4key(uint32_t slot, uint32_t epoch, const char *ip, uint16_t port)
{
	struct cgs_tcp_peer_key k;

	memset(&k, 0, sizeof(k));
	k.slot = slot;
	k.epoch = epoch;
	k.family = CGS_TCP_PEER_AF_INET;
	k.port = port;
	assert_int_equal(inet_pton(AF_INET, ip, &k.addr[0]), 1);
	return k;
}

static void test_tcp_peer_format(void **state)
{
	struct cgs_tcp_peer_key k = v4key(1, 0, "10.0.0.1", 80);
	char buf[CGS_TCP_PEER_DEST_MAX];

	(void)state;
	assert_int_equal(cgs_tcp_peer_format(&k, buf, sizeof(buf)), 11);
	assert_string_equal(buf, "10.0.0.1:80");
	k.family = CGS_TCP_PEER_AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", k.addr), 1);
	k.port = 65535;
	cgs_tcp_peer_format(&k, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::1]:65535");
	/* The longest one fits. */
	assert_int_equal(inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", k.addr), 1);
	assert_true(cgs_tcp_peer_format(&k, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_int_equal(cgs_tcp_peer_format(&k, buf, 10), -EINVAL);
	assert_string_equal(buf, "");
	k.family = 1; /* AF_UNIX: no destination */
	assert_int_equal(cgs_tcp_peer_format(&k, buf, sizeof(buf)), -EINVAL);
}

/* The value of container_tcp_peer_* for a destination ("ok"/"failed" for connects), or -1 when absent. */
static double peer_value(const struct cgs_samples *s, enum cgs_family_id f, const char *dest, const char *result)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct cgs_sample *x = &s->v[i];

		if (x->family != f || !x->lv[0] || strcmp(x->lv[0], dest))
			continue;
		if (result && (!x->lv[1] || strcmp(x->lv[1], result)))
			continue;
		return f == CGS_M_TCP_PEER_CONNECT_LATENCY ? (double)x->counts[0] : x->value;
	}
	return -1;
}

/* How many destinations the samples hold (each has one result="ok" series). */
static size_t peer_dests(const struct cgs_samples *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].family == CGS_M_TCP_PEER_CONNECTS && !strcmp(s->v[i].lv[1], "ok"))
			n++;
	return n;
}

static void peer_samples(const struct cgs_tcp_peers *p, uint32_t slot, struct cgs_samples *s, size_t limit)
{
	cgs_samples_init(s, limit);
	assert_int_equal(cgs_tcp_peers_samples(p, slot, s), 0);
}

#define NK 8

static void test_tcp_peers_top(void **state)
{
	struct cgs_tcp_peers *p = cgs_tcp_peers_new(4, 2);
	struct cgs_tcp_peer_key k[NK];
	struct cgs_tcp_peer_counters v[NK];
	struct cgs_samples s;

	(void)state;
	assert_non_null(p);
	memset(v, 0, sizeof(v));
	/* Slot 1: X busy, Y little, Z failing; slot 2: X. Plus entries to skip. */
	k[0] = v4key(1, 0, "10.0.0.1", 80); /* X */
	v[0] = (struct cgs_tcp_peer_counters){ .connects_ok = 30, .lat_sum_ns = 3000000, .lat_count = 30 };
	k[1] = v4key(1, 0, "10.0.0.2", 80); /* Y */
	v[1] = (struct cgs_tcp_peer_counters){ .connects_ok = 10, .lat_count = 10 };
	k[2] = v4key(1, 0, "10.0.0.3", 443); /* Z */
	v[2] = (struct cgs_tcp_peer_counters){ .connects_failed = 15, .retransmits = 5 };
	k[3] = v4key(2, 0, "10.0.0.1", 80);
	v[3] = (struct cgs_tcp_peer_counters){ .connects_ok = 5, .lat_count = 5 };
	k[4] = v4key(1, 7, "10.0.0.9", 80); /* an epoch the slot does not have */
	v[4] = (struct cgs_tcp_peer_counters){ .connects_ok = 1000 };
	k[5] = v4key(9, 0, "10.0.0.9", 80); /* no such slot */
	v[5] = (struct cgs_tcp_peer_counters){ .connects_ok = 1000 };
	k[6] = v4key(3, 0, "10.0.0.8", 80); /* an entry being made: nothing counted yet */
	assert_int_equal(cgs_tcp_peers_update(p, k, v, 7, 0), 0);

	peer_samples(p, 1, &s, 0);
	assert_int_equal(s.n, 2 * 4); /* samples: connects ok, failed, retransmits, latency summary */
	assert_int_equal(s.series, 2 * CGS_TCP_PEER_SERIES);
	assert_int_equal(peer_dests(&s), 2);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.1:80", "ok") == 30);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.1:80", "failed") == 0);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECT_LATENCY, "10.0.0.1:80", NULL) == 30);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.3:443", "failed") == 15);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_RETRANSMITS, "10.0.0.3:443", NULL) == 5);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.2:80", "ok") == -1);
	for (size_t i = 0; i < s.n; i++) {
		const struct cgs_sample *x = &s.v[i];

		/* The label is the sample's own copy; the latency is a summary (sum in seconds). */
		assert_non_null(x->own);
		assert_ptr_equal(x->lv[0], x->own);
		if (x->family == CGS_M_TCP_PEER_CONNECT_LATENCY && !strcmp(x->lv[0], "10.0.0.1:80"))
			assert_true(fabs(x->value - 0.003) < 1e-12);
	}
	assert_int_equal(cgs_families[CGS_M_TCP_PEER_CONNECT_LATENCY].kind, CGS_KIND_SUMMARY);
	assert_string_equal(cgs_families[CGS_M_TCP_PEER_CONNECTS].labels[0], "destination");
	assert_string_equal(cgs_families[CGS_M_TCP_PEER_CONNECTS].labels[1], "result");
	assert_string_equal(cgs_families[CGS_M_TCP_PEER_RETRANSMITS].labels[0], "destination");
	cgs_samples_free(&s);
	peer_samples(p, 2, &s, 0);
	assert_int_equal(peer_dests(&s), 1);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.1:80", "ok") == 5);
	cgs_samples_free(&s);
	peer_samples(p, 3, &s, 0); /* the empty entry is not shown */
	assert_int_equal(s.n, 0);
	cgs_samples_free(&s);
	peer_samples(p, 9, &s, 0);
	assert_int_equal(s.n, 0);
	cgs_samples_free(&s);
	/* Known: the three of slot 1, slot 2's, the empty one. */
	assert_int_equal(cgs_tcp_peers_count(p), 5);

	/*
	 * X's entry was evicted and made again (its values went down): the total
	 * goes on from 30. Y becomes busier than Z (10 + 20 > 20 * keep) and takes
	 * its place: Z is shown no more.
	 */
	v[0] = (struct cgs_tcp_peer_counters){ .connects_ok = 3, .lat_count = 3 };
	v[1].connects_ok = 30;
	assert_int_equal(cgs_tcp_peers_update(p, k, v, 4, 1), 0);
	peer_samples(p, 1, &s, 0);
	assert_int_equal(peer_dests(&s), 2);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.1:80", "ok") == 33);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECT_LATENCY, "10.0.0.1:80", NULL) == 33);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.2:80", "ok") == 30);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.3:443", "failed") == -1);
	cgs_samples_free(&s);

	/* Incumbents keep their place against a slightly busier newcomer: Z gains 2 more than Y's 30 score, under 1.25 x. */
	v[2].connects_failed = 15 + 17; /* Z's score 20 + 17 = 37 < 30 * 1.25 */
	assert_int_equal(cgs_tcp_peers_update(p, k, v, 4, 0), 0);
	peer_samples(p, 1, &s, 0);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.2:80", "ok") == 30);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.3:443", "failed") == -1);
	cgs_samples_free(&s);

	/* X gone from the kernel's table while shown: kept with its total, and counted on when it is back. */
	assert_int_equal(cgs_tcp_peers_update(p, k + 1, v + 1, 3, 0), 0);
	peer_samples(p, 1, &s, 0);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.1:80", "ok") == 33);
	cgs_samples_free(&s);
	v[0] = (struct cgs_tcp_peer_counters){ .connects_ok = 2 };
	assert_int_equal(cgs_tcp_peers_update(p, k, v, 4, 0), 0);
	peer_samples(p, 1, &s, 0);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.1:80", "ok") == 35);
	cgs_samples_free(&s);

	/* Activity decays: after an hour (12 half-lives) of nothing, Z's new burst wins over X and Y. */
	v[2].connects_failed += 5;
	assert_int_equal(cgs_tcp_peers_update(p, k, v, 4, 3600), 0);
	peer_samples(p, 1, &s, 0);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.3:443", "failed") == 37);
	assert_int_equal(peer_dests(&s), 2);
	cgs_samples_free(&s);

	/* The budget: room for one destination only; the other one's samples are counted as dropped. */
	cgs_samples_init(&s, 6);
	assert_int_equal(cgs_samples_add(&s, CGS_M_TCP_ACCEPTS, 1), 0);
	assert_int_equal(cgs_tcp_peers_samples(p, 1, &s), 0);
	assert_int_equal(s.n, 1 + 4);
	assert_int_equal(s.series, 1 + CGS_TCP_PEER_SERIES);
	assert_int_equal(s.dropped, CGS_TCP_PEER_SERIES);
	assert_int_equal(s.pass_dropped, CGS_TCP_PEER_SERIES);
	assert_int_equal(s.first_dropped, CGS_M_TCP_PEER_CONNECTS);
	assert_int_equal(peer_dests(&s), 1);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.3:443", "failed") == 37); /* the busiest */
	cgs_samples_free(&s);

	/* Slot 1 handed to a new container (epoch 1): nothing shown, old entries skipped, new ones counted. */
	cgs_tcp_peers_reset_slot(p, 1, 1);
	assert_int_equal(cgs_tcp_peers_epoch(p, 1), 1);
	peer_samples(p, 1, &s, 0);
	assert_int_equal(s.n, 0);
	cgs_samples_free(&s);
	k[7] = v4key(1, 1, "10.0.0.1", 80);
	v[7] = (struct cgs_tcp_peer_counters){ .connects_ok = 4 };
	assert_int_equal(cgs_tcp_peers_update(p, k, v, NK, 1), 0);
	peer_samples(p, 1, &s, 0);
	assert_int_equal(peer_dests(&s), 1);
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.1:80", "ok") == 4);
	cgs_samples_free(&s);
	peer_samples(p, 2, &s, 0); /* other slots unaffected */
	assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, "10.0.0.1:80", "ok") == 5);
	cgs_samples_free(&s);

	/* A key twice in one scan: counted once. */
	k[1] = k[7];
	v[1] = v[7];
	v[1].connects_ok = 100;
	assert_int_equal(cgs_tcp_peers_update(p, k, v, NK, 1), 0);
	peer_samples(p, 1, &s, 0);
	assert_int_equal(peer_dests(&s), 1);
	cgs_samples_free(&s);
	cgs_tcp_peers_free(p);
}

/* Every shown destination of a slot with many: the top N by activity, whatever the order of the scan. */
static void test_tcp_peers_many(void **state)
{
	enum { NP = 500, TOP = 7 };
	struct cgs_tcp_peers *p = cgs_tcp_peers_new(2, TOP);
	struct cgs_tcp_peer_key k[NP];
	struct cgs_tcp_peer_counters v[NP];
	struct cgs_samples s;
	char want[32];

	(void)state;
	memset(v, 0, sizeof(v));
	for (int i = 0; i < NP; i++) {
		int j = (i * 263) % NP; /* a permutation: the scan is in no order */
		char ip[32];

		snprintf(ip, sizeof(ip), "10.1.%d.%d", j / 250, j % 250);
		k[i] = v4key(1, 0, ip, (uint16_t)(1000 + j));
		v[i].connects_ok = (uint64_t)j + 1;
	}
	assert_int_equal(cgs_tcp_peers_update(p, k, v, NP, 0), 0);
	peer_samples(p, 1, &s, 0);
	assert_int_equal(peer_dests(&s), TOP);
	for (int j = NP - TOP; j < NP; j++) {
		snprintf(want, sizeof(want), "10.1.%d.%d:%d", j / 250, j % 250, 1000 + j);
		assert_true(peer_value(&s, CGS_M_TCP_PEER_CONNECTS, want, "ok") == j + 1);
	}
	cgs_samples_free(&s);
	cgs_tcp_peers_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_sum),
		cmocka_unit_test(test_net_samples),
		cmocka_unit_test(test_tcp_samples),
		cmocka_unit_test(test_retransmit_has_err),
		cmocka_unit_test(test_tcp_peer_format),
		cmocka_unit_test(test_tcp_peers_top),
		cmocka_unit_test(test_tcp_peers_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
