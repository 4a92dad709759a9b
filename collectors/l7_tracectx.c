/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trace context carried by a request: W3C Trace Context `traceparent`
 * (https://www.w3.org/TR/trace-context/, version 00 and the forward-
 * compatible rules for later versions) and the Jaeger/OpenTracing
 * `uber-trace-id` header (`{trace-id}:{span-id}:{parent-span-id}:{flags}`,
 * ids as variable-length hex). And the ids of the spans we create:
 * xoshiro256** seeded from getrandom(2).
 */
#include "l7.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static int hexv(char c, bool lower_only)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (!lower_only && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2*len lowercase hex digits into `out`. */
static int hex_fixed(const char *p, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hexv(p[2 * i], true), lo = hexv(p[2 * i + 1], true);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int cgs_tracectx_parse_traceparent(const char *p, size_t n, struct cgs_trace_ctx *c)
{
	struct cgs_trace_ctx t;
	uint8_t ver, flags;

	/* Surrounding whitespace is allowed by the header grammar's OWS. */
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n < 55 || p[2] != '-' || p[35] != '-' || p[52] != '-')
		return -EINVAL;
	if (hex_fixed(p, &ver, 1) || ver == 0xff)
		return -EINVAL;
	/* Version 00 is exactly 55 characters; later versions may append "-..." fields. */
	if ((ver == 0 && n != 55) || (ver != 0 && n > 55 && p[55] != '-'))
		return -EINVAL;
	if (hex_fixed(p + 3, t.trace_id, 16) || hex_fixed(p + 36, t.span_id, 8) || hex_fixed(p + 53, &flags, 1))
		return -EINVAL;
	if (all_zero(t.trace_id, 16) || all_zero(t.span_id, 8))
		return -EINVAL;
	t.flags = ver == 0 ? flags : (uint8_t)(flags & 0x01);
	*c = t;
	return 0;
}

/* A variable-length hex id (1..2*len digits, right-aligned, zero-padded). */
static int hex_var(const char *p, size_t n, uint8_t *out, size_t len)
{
	if (!n || n > 2 * len)
		return -EINVAL;
	memset(out, 0, len);
	for (size_t i = 0; i < n; i++) {
		int v = hexv(p[n - 1 - i], false);

		if (v < 0)
			return -EINVAL;
		out[len - 1 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
	}
	return 0;
}

int cgs_tracectx_parse_uber(const char *p, size_t n, struct cgs_trace_ctx *c)
{
	/* Fields: trace, span, parent (deprecated), flags. */
	struct cgs_trace_ctx t;
	const char *f[4];
	size_t fl[4];
	int nf = 0;
	size_t i = 0, start = 0;
	unsigned long flags = 0;

	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (i <= n) {
		size_t sep = 0;

		if (i == n)
			sep = 1;
		else if (p[i] == ':')
			sep = 1;
		else if (p[i] == '%' && i + 2 < n && p[i + 1] == '3' && (p[i + 2] == 'A' || p[i + 2] == 'a'))
			sep = 3; /* URL-encoded ':' as some clients send it */
		if (!sep) {
			i++;
			continue;
		}
		if (nf == 4)
			return -EINVAL;
		f[nf] = p + start;
		fl[nf] = i - start;
		nf++;
		if (i == n)
			break;
		i += sep;
		start = i;
	}
	if (nf != 4)
		return -EINVAL;
	if (hex_var(f[0], fl[0], t.trace_id, 16) || hex_var(f[1], fl[1], t.span_id, 8))
		return -EINVAL;
	if (all_zero(t.trace_id, 16) || all_zero(t.span_id, 8))
		return -EINVAL;
	if (!fl[3] || fl[3] > 2)
		return -EINVAL;
	for (size_t k = 0; k < fl[3]; k++) {
		int v = hexv(f[3][k], false);

		if (v < 0)
			return -EINVAL;
		flags = flags * 16 + (unsigned long)v;
	}
	t.flags = (uint8_t)(flags & 0x01); /* Jaeger bit 0 is "sampled", as W3C's */
	*c = t;
	return 0;
}

/* ---- ids --------------------------------------------------------------------------- */

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void cgs_l7_rng_seed(struct cgs_l7_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	if (!seed && getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)r;
	}
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t cgs_l7_rng_next(struct cgs_l7_rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

void cgs_l7_rng_id(struct cgs_l7_rng *r, uint8_t *id, size_t n)
{
	do {
		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = cgs_l7_rng_next(r);

			memcpy(id + i, &v, n - i < 8 ? n - i : 8);
		}
	} while (all_zero(id, n));
}
