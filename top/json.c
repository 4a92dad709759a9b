/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The strict streaming JSON reader of `cgsight top` (see json.h). Numbers
 * take an exact fast path (mantissa < 2^53, |exponent| <= 22: one correctly
 * rounded operation) and otherwise strtod.
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cgs_top_json_ws(struct cgs_top_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

int cgs_top_json_peek(struct cgs_top_json *j)
{
	cgs_top_json_ws(j);
	return j->p < j->end ? (unsigned char)*j->p : -1;
}

bool cgs_top_json_fail(struct cgs_top_json *j)
{
	j->bad = true;
	return false;
}

bool cgs_top_json_expect(struct cgs_top_json *j, char c)
{
	if (cgs_top_json_peek(j) != (unsigned char)c)
		return cgs_top_json_fail(j);
	j->p++;
	return true;
}

static bool literal(struct cgs_top_json *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return cgs_top_json_fail(j);
	j->p += n;
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/*
 * Reads a string into out (decoded, NUL-terminated, cut at cap - 1 bytes on
 * a character boundary); out may be NULL to skip it.
 */
bool cgs_top_json_string(struct cgs_top_json *j, char *out, size_t cap)
{
	size_t o = 0;
	bool full = false;

	if (!cgs_top_json_expect(j, '"'))
		return false;
	while (j->p < j->end && *j->p != '"') {
		char tmp[4];
		size_t n = 1;
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return cgs_top_json_fail(j);
		if (c != '\\') {
			/* A whole UTF-8 sequence at once, so a cut never splits one. */
			n = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
			if ((size_t)(j->end - j->p) < n)
				n = (size_t)(j->end - j->p);
			memcpy(tmp, j->p, n);
			j->p += n;
		} else {
			if (j->end - j->p < 2)
				return cgs_top_json_fail(j);
			switch (j->p[1]) {
			case '"': case '\\': case '/':
				tmp[0] = j->p[1];
				break;
			case 'b': tmp[0] = '\b'; break;
			case 'f': tmp[0] = '\f'; break;
			case 'n': tmp[0] = '\n'; break;
			case 'r': tmp[0] = '\r'; break;
			case 't': tmp[0] = '\t'; break;
			case 'u': {
				int cp, lo;

				if (j->end - j->p < 6 || (cp = hex4(j->p + 2)) < 0)
					return cgs_top_json_fail(j);
				j->p += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 8 && j->p[2] == '\\' && j->p[3] == 'u' &&
				    (lo = hex4(j->p + 4)) >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					j->p += 6;
				} else if (cp >= 0xd800 && cp < 0xe000) {
					cp = 0xfffd; /* a lone surrogate */
				}
				n = put_utf8(tmp, (unsigned)cp);
				break;
			}
			default:
				return cgs_top_json_fail(j);
			}
			j->p += 2;
		}
		if (out && !full && o + n < cap) {
			memcpy(out + o, tmp, n);
			o += n;
		} else {
			full = true;
		}
	}
	if (j->p >= j->end)
		return cgs_top_json_fail(j);
	j->p++;
	if (out && cap)
		out[o] = '\0';
	return true;
}

/* Exact powers of ten representable in a double. */
static const double pow10_exact[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
				      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/*
 * A JSON number (strict grammar). Mantissas below 2^53 with exponents of at
 * most 22 take the exact fast path (one correctly rounded multiplication or
 * division); anything else goes to strtod. `null` reads as NAN.
 */
bool cgs_top_json_number(struct cgs_top_json *j, double *v)
{
	const char *s, *q;
	uint64_t mant = 0;
	int sig = 0, exp10 = 0;
	bool neg = false, trunc = false;

	if (cgs_top_json_peek(j) == 'n') {
		*v = NAN;
		return literal(j, "null");
	}
	s = q = j->p;
	if (q < j->end && *q == '-') {
		neg = true;
		q++;
	}
	if (q >= j->end || *q < '0' || *q > '9')
		return cgs_top_json_fail(j);
	if (*q == '0' && q + 1 < j->end && q[1] >= '0' && q[1] <= '9')
		return cgs_top_json_fail(j); /* no leading zeros */
	/* At most 19 significant digits are kept; a dropped non-zero one sends it to strtod. */
	for (; q < j->end && *q >= '0' && *q <= '9'; q++) {
		if (sig < 19) {
			mant = mant * 10 + (uint64_t)(*q - '0');
			sig += mant != 0;
		} else {
			exp10++;
			trunc |= *q != '0';
		}
	}
	if (q < j->end && *q == '.') {
		q++;
		if (q >= j->end || *q < '0' || *q > '9')
			return cgs_top_json_fail(j);
		for (; q < j->end && *q >= '0' && *q <= '9'; q++) {
			if (sig < 19) {
				mant = mant * 10 + (uint64_t)(*q - '0');
				exp10--;
				sig += mant != 0;
			} else {
				trunc |= *q != '0';
			}
		}
	}
	if (q < j->end && (*q == 'e' || *q == 'E')) {
		int e = 0, sign = 1;

		q++;
		if (q < j->end && (*q == '+' || *q == '-'))
			sign = *q++ == '-' ? -1 : 1;
		if (q >= j->end || *q < '0' || *q > '9')
			return cgs_top_json_fail(j);
		for (; q < j->end && *q >= '0' && *q <= '9'; q++)
			if (e < 100000)
				e = e * 10 + (*q - '0');
		exp10 += sign * e;
	}
	j->p = q;
	if (!trunc && mant < (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
		double d = (double)mant;

		d = exp10 >= 0 ? d * pow10_exact[exp10] : d / pow10_exact[-exp10];
		*v = neg ? -d : d;
		return true;
	}
	{
		char tmp[64];
		size_t n = (size_t)(q - s);

		if (n >= sizeof(tmp))
			n = sizeof(tmp) - 1; /* absurdly long: precision beyond a double anyway */
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		*v = strtod(tmp, NULL);
	}
	return true;
}

/* An unsigned integer (ids, generations) without going through a double. */
bool cgs_top_json_u64(struct cgs_top_json *j, uint64_t *v)
{
	uint64_t x = 0;

	cgs_top_json_ws(j);
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return cgs_top_json_fail(j);
	if (*j->p == '0' && j->p + 1 < j->end && j->p[1] >= '0' && j->p[1] <= '9')
		return cgs_top_json_fail(j); /* no leading zeros */
	for (; j->p < j->end && *j->p >= '0' && *j->p <= '9'; j->p++) {
		uint64_t d = (uint64_t)(*j->p - '0');

		if (x > UINT64_MAX / 10 || (x == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return cgs_top_json_fail(j);
		x = x * 10 + d;
	}
	if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
		return cgs_top_json_fail(j);
	*v = x;
	return true;
}

/* Object iteration: returns 1 with the key read and ':' consumed, 0 at '}', -1 on error. */
int cgs_top_json_obj_next(struct cgs_top_json *j, bool *first, char *key, size_t cap)
{
	int c = cgs_top_json_peek(j);

	if (c == '}') {
		j->p++;
		return 0;
	}
	if (!*first) {
		if (c != ',')
			return cgs_top_json_fail(j), -1;
		j->p++;
	}
	*first = false;
	if (!cgs_top_json_string(j, key, cap) || !cgs_top_json_expect(j, ':'))
		return -1;
	return 1;
}

/* Array iteration: 1 when an element follows, 0 at ']', -1 on error. */
int cgs_top_json_arr_next(struct cgs_top_json *j, bool *first)
{
	int c = cgs_top_json_peek(j);

	if (c == ']') {
		j->p++;
		return 0;
	}
	if (!*first) {
		if (c != ',')
			return cgs_top_json_fail(j), -1;
		j->p++;
	}
	*first = false;
	return j->p < j->end ? 1 : (cgs_top_json_fail(j), -1);
}

bool cgs_top_json_skip(struct cgs_top_json *j, int depth)
{
	int c = cgs_top_json_peek(j), r;
	bool first = true;
	double d;

	if (depth > CGS_TOP_JSON_DEPTH_MAX)
		return cgs_top_json_fail(j);
	switch (c) {
	case '{':
		j->p++;
		while ((r = cgs_top_json_obj_next(j, &first, NULL, 0)) > 0)
			if (!cgs_top_json_skip(j, depth + 1))
				return false;
		return r == 0;
	case '[':
		j->p++;
		while ((r = cgs_top_json_arr_next(j, &first)) > 0)
			if (!cgs_top_json_skip(j, depth + 1))
				return false;
		return r == 0;
	case '"':
		return cgs_top_json_string(j, NULL, 0);
	case 't':
		return literal(j, "true");
	case 'f':
		return literal(j, "false");
	default:
		return cgs_top_json_number(j, &d);
	}
}

