/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRI and Docker json-file line parsers (see logs_parse.h). No allocation:
 * CRI messages point into the line, Docker messages are unescaped into the
 * caller's scratch buffer. Anything unexpected is -EBADMSG, never a crash:
 * the caller ships such a line raw.
 */
#include "logs_parse.h"

#include <errno.h>
#include <string.h>

const char *cgs_log_stream_name(enum cgs_log_stream s)
{
	switch (s) {
	case CGS_LOG_STDOUT: return "stdout";
	case CGS_LOG_STDERR: return "stderr";
	default: return "";
	}
}

static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

int cgs_log_parse_time(const char *s, size_t len, int64_t *ns)
{
	int y, mo, d, h, mi, se;
	int64_t frac = 0, off = 0;
	size_t i = 19;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
	    s[16] != ':')
		return -EINVAL;
	y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
	    se > 60)
		return -EINVAL;
	if (s[i] == '.') {
		int nd = 0;

		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++)
			if (nd < 9)
				frac = frac * 10 + (s[i] - '0');
		if (nd == 0)
			return -EINVAL;
		for (; nd < 9; nd++)
			frac *= 10;
	}
	if (i >= len)
		return -EINVAL;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && s[i + 3] == ':') {
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);

		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return -EINVAL;
		off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
		i += 6;
	} else {
		return -EINVAL;
	}
	if (i != len)
		return -EINVAL;
	int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;

	/* Nanoseconds since the epoch hold the years 1678 to 2262: a time outside is not one. */
	if (__builtin_mul_overflow(secs, (int64_t)1000000000, ns) || __builtin_add_overflow(*ns, frac, ns))
		return -EINVAL;
	return 0;
}

enum cgs_log_format cgs_log_detect(const char *line, size_t len)
{
	if (len && line[0] == '{')
		return CGS_LOG_FMT_DOCKER;
	if (len > 20 && line[0] >= '0' && line[0] <= '9' && line[4] == '-' && line[10] == 'T')
		return CGS_LOG_FMT_CRI;
	return CGS_LOG_FMT_UNKNOWN;
}

int cgs_log_parse_cri(const char *line, size_t len, struct cgs_log_line *out)
{
	const char *end = line + len, *p, *sp;
	int64_t t;

	sp = memchr(line, ' ', len);
	if (!sp || cgs_log_parse_time(line, (size_t)(sp - line), &t) < 0)
		return -EBADMSG;
	p = sp + 1;
	if (end - p >= 7 && !memcmp(p, "stdout ", 7))
		out->stream = CGS_LOG_STDOUT;
	else if (end - p >= 7 && !memcmp(p, "stderr ", 7))
		out->stream = CGS_LOG_STDERR;
	else
		return -EBADMSG;
	p += 7;
	if (p >= end || (*p != 'P' && *p != 'F'))
		return -EBADMSG;
	out->partial = *p == 'P';
	p++;
	if (p < end && *p == ':') /* further tags */
		while (p < end && *p != ' ')
			p++;
	if (p < end && *p != ' ')
		return -EBADMSG;
	if (p < end)
		p++; /* the message may be empty, with or without its separator */
	out->time_ns = t;
	out->msg = p;
	out->len = (size_t)(end - p);
	return 0;
}

/* JSON scanning over [p, end). */
struct js {
	const char *p, *end;
};

static void ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A string at j->p (on its opening quote). With `dst`, the unescaped bytes
 * are written there and their count stored in *dlen; without, it is only
 * skipped. j->p ends after the closing quote.
 */
static int string(struct js *j, char *dst, size_t *dlen)
{
	const char *p = j->p + 1, *end = j->end;
	size_t o = 0;

	if (j->p >= end || *j->p != '"')
		return -EBADMSG;
	while (p < end) {
		/* Copy the run up to the next quote or backslash at once. */
		const char *q = p;

		while (q < end && *q != '"' && *q != '\\')
			q++;
		if (dst && q > p) {
			memcpy(dst + o, p, (size_t)(q - p));
			o += (size_t)(q - p);
		}
		p = q;
		if (p >= end)
			break;
		if (*p == '"') {
			j->p = p + 1;
			if (dlen)
				*dlen = o;
			return 0;
		}
		/* a backslash */
		if (p + 1 >= end)
			return -EBADMSG;
		char c = p[1], r;

		p += 2;
		switch (c) {
		case '"': r = '"'; break;
		case '\\': r = '\\'; break;
		case '/': r = '/'; break;
		case 'b': r = '\b'; break;
		case 'f': r = '\f'; break;
		case 'n': r = '\n'; break;
		case 'r': r = '\r'; break;
		case 't': r = '\t'; break;
		case 'u': {
			int cp;

			if (end - p < 4 || (cp = hex4(p)) < 0)
				return -EBADMSG;
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
				int lo = hex4(p + 2);

				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* a lone surrogate */
			if (dst)
				o += utf8_put(dst + o, (unsigned)cp);
			continue;
		}
		default:
			return -EBADMSG;
		}
		if (dst)
			dst[o++] = r;
	}
	return -EBADMSG;
}

/* Skips any JSON value (bounded nesting). */
static int skip_value(struct js *j, int depth)
{
	ws(j);
	if (j->p >= j->end || depth > 32)
		return -EBADMSG;
	char c = *j->p;

	if (c == '"')
		return string(j, NULL, NULL);
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';

		j->p++;
		ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		for (;;) {
			if (c == '{') {
				ws(j);
				if (string(j, NULL, NULL) < 0)
					return -EBADMSG;
				ws(j);
				if (j->p >= j->end || *j->p != ':')
					return -EBADMSG;
				j->p++;
			}
			if (skip_value(j, depth + 1) < 0)
				return -EBADMSG;
			ws(j);
			if (j->p >= j->end)
				return -EBADMSG;
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p == close) {
				j->p++;
				return 0;
			}
			return -EBADMSG;
		}
	}
	/* number, true, false, null */
	const char *s = j->p;

	while (j->p < j->end && ((*j->p >= '0' && *j->p <= '9') || (*j->p >= 'a' && *j->p <= 'z') ||
				 *j->p == '-' || *j->p == '+' || *j->p == '.' || *j->p == 'E'))
		j->p++;
	return j->p > s ? 0 : -EBADMSG;
}

static bool key_is(const char *k, size_t kl, const char *want)
{
	return kl == strlen(want) && !memcmp(k, want, kl);
}

int cgs_log_parse_docker(const char *line, size_t len, char *scratch, struct cgs_log_line *out)
{
	struct js j = { line, line + len };
	bool have_log = false;
	char key[16];

	out->time_ns = 0;
	out->stream = CGS_LOG_STDOUT;
	out->partial = false;
	ws(&j);
	if (j.p >= j.end || *j.p != '{')
		return -EBADMSG;
	j.p++;
	ws(&j);
	if (j.p < j.end && *j.p == '}')
		return -EBADMSG; /* no "log" */
	for (;;) {
		size_t kl = 0;
		const char *kstart;

		ws(&j);
		kstart = j.p;
		if (string(&j, NULL, NULL) < 0)
			return -EBADMSG;
		/* Keys of interest are short and unescaped: compare the raw bytes. */
		if ((size_t)(j.p - kstart) - 2 < sizeof(key)) {
			kl = (size_t)(j.p - kstart) - 2;
			memcpy(key, kstart + 1, kl);
		} else {
			kl = sizeof(key); /* longer than any key we want */
		}
		ws(&j);
		if (j.p >= j.end || *j.p != ':')
			return -EBADMSG;
		j.p++;
		ws(&j);
		if (kl < sizeof(key) && key_is(key, kl, "log")) {
			size_t n;

			if (j.p >= j.end || *j.p != '"' || string(&j, scratch, &n) < 0)
				return -EBADMSG;
			out->msg = scratch;
			out->len = n;
			have_log = true;
		} else if (kl < sizeof(key) && key_is(key, kl, "stream")) {
			const char *s = j.p;

			if (string(&j, NULL, NULL) < 0)
				return -EBADMSG;
			if (j.p - s == 8 && !memcmp(s, "\"stderr\"", 8))
				out->stream = CGS_LOG_STDERR;
			else if (j.p - s == 8 && !memcmp(s, "\"stdout\"", 8))
				out->stream = CGS_LOG_STDOUT;
			else
				return -EBADMSG;
		} else if (kl < sizeof(key) && key_is(key, kl, "time")) {
			const char *s = j.p;

			if (string(&j, NULL, NULL) < 0 || cgs_log_parse_time(s + 1, (size_t)(j.p - s) - 2, &out->time_ns) < 0)
				return -EBADMSG;
		} else if (skip_value(&j, 0) < 0) {
			return -EBADMSG;
		}
		ws(&j);
		if (j.p >= j.end)
			return -EBADMSG;
		if (*j.p == ',') {
			j.p++;
			continue;
		}
		if (*j.p != '}')
			return -EBADMSG;
		j.p++;
		break;
	}
	ws(&j);
	if (j.p != j.end || !have_log)
		return -EBADMSG;
	/* Docker ends every complete line with "\n"; a 16 KiB piece of a longer line has none. */
	if (out->len && out->msg[out->len - 1] == '\n')
		out->len--;
	else
		out->partial = true;
	return 0;
}
