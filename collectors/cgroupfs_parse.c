/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pure parsers of the cgroup v1 and v2 controller files the cgroupfs
 * collector reads: text in, fields of struct cgs_cgfs_stats out, no I/O and
 * no logging. Each parser owns a fixed set of fields (listed at the parser)
 * and, on success, writes all of them, `has_` flags included; on failure it
 * returns -EBADMSG and leaves `st` untouched. Parsing is strict: every line
 * must have the shape the kernel prints, numbers are plain decimal u64
 * (overflow is -EBADMSG), sums over devices saturate at UINT64_MAX, and
 * required keys must be present, so truncated or garbled files are refused
 * rather than read as zeros. Conversions follow cAdvisor: microseconds and
 * nanoseconds to seconds, USER_HZ ticks to seconds.
 */
#include "cgroupfs.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Parses a run of decimal digits at *p into *v, advancing *p past it. */
static int take_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (*s < '0' || *s > '9')
		return -EBADMSG;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		x = x * 10 + d;
	}
	*p = s;
	*v = x;
	return 0;
}

/* Ends a line: at '\n' (consumed) or at the end of the text. */
static int take_eol(const char **p)
{
	if (**p == '\n') {
		(*p)++;
		return 0;
	}
	return **p == '\0' ? 0 : -EBADMSG;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static bool is_key_char(char c)
{
	return c > ' ' && c < 0x7f;
}

static bool tok_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/*
 * A flat keyed file: every line "<key> <u64>". Stores the value of each key
 * named in `keys` into vals[i] and sets bit i of *seen. Keys not named are
 * checked for shape and skipped.
 */
static int parse_flat(const char *text, const char *const *keys, unsigned nkeys,
		      uint64_t *vals, unsigned *seen)
{
	const char *p = text;

	*seen = 0;
	while (*p) {
		const char *key = p;
		size_t klen;
		uint64_t v;

		while (is_key_char(*p))
			p++;
		klen = (size_t)(p - key);
		if (klen == 0 || *p != ' ')
			return -EBADMSG;
		p++;
		if (take_u64(&p, &v) < 0 || take_eol(&p) < 0)
			return -EBADMSG;
		for (unsigned i = 0; i < nkeys; i++) {
			if (tok_eq(key, klen, keys[i])) {
				vals[i] = v;
				*seen |= 1u << i;
				break;
			}
		}
	}
	return 0;
}

#define ALL_SEEN(n) ((1u << (n)) - 1)

/* Writes cpu_usage_s, cpu_user_s, cpu_system_s, has_cpu_usage, and the cfs fields. */
int cgs_cgfs_parse_cpu_stat_v2(const char *text, struct cgs_cgfs_stats *st)
{
	static const char *const keys[] = {
		"usage_usec", "user_usec", "system_usec",
		"nr_periods", "nr_throttled", "throttled_usec",
	};
	uint64_t v[6] = { 0 };
	unsigned seen, cfs;

	if (parse_flat(text, keys, 6, v, &seen) < 0)
		return -EBADMSG;
	if ((seen & 07) != 07)
		return -EBADMSG;
	/* The cfs keys come together (cpu controller enabled) or not at all. */
	cfs = seen >> 3;
	if (cfs != 0 && cfs != 07)
		return -EBADMSG;
	st->has_cpu_usage = true;
	st->cpu_usage_s = (double)v[0] / 1e6;
	st->cpu_user_s = (double)v[1] / 1e6;
	st->cpu_system_s = (double)v[2] / 1e6;
	st->has_cfs = cfs != 0;
	st->cfs_periods = cfs ? v[3] : 0;
	st->cfs_throttled_periods = cfs ? v[4] : 0;
	st->cfs_throttled_s = cfs ? (double)v[5] / 1e6 : 0;
	return 0;
}

/*
 * "<quota|max> <period>". Writes has_cpu_quota/cpu_quota (the raw quota,
 * absent when "max") and has_cpu_period/cpu_period.
 */
int cgs_cgfs_parse_cpu_max_v2(const char *text, struct cgs_cgfs_stats *st)
{
	const char *p = text;
	uint64_t quota = 0, period;
	bool unlimited = false;

	if (strncmp(p, "max", 3) == 0) {
		unlimited = true;
		p += 3;
	} else if (take_u64(&p, &quota) < 0) {
		return -EBADMSG;
	}
	if (*p++ != ' ')
		return -EBADMSG;
	if (take_u64(&p, &period) < 0 || take_eol(&p) < 0 || *p != '\0')
		return -EBADMSG;
	st->has_cpu_quota = !unlimited;
	st->cpu_quota = unlimited ? 0 : (double)quota;
	st->has_cpu_period = true;
	st->cpu_period = (double)period;
	return 0;
}

/* Writes has_mem_stat, mem_rss (anon), mem_cache (file), mem_mapped_file, mem_inactive_file. */
int cgs_cgfs_parse_memory_stat_v2(const char *text, struct cgs_cgfs_stats *st)
{
	static const char *const keys[] = { "anon", "file", "file_mapped", "inactive_file" };
	uint64_t v[4] = { 0 };
	unsigned seen;

	if (parse_flat(text, keys, 4, v, &seen) < 0 || seen != ALL_SEEN(4))
		return -EBADMSG;
	st->has_mem_stat = true;
	st->mem_rss = v[0];
	st->mem_cache = v[1];
	st->mem_mapped_file = v[2];
	st->mem_inactive_file = v[3];
	return 0;
}

/* "MAJ:MIN" at the start of a line. */
static int take_devnum(const char **p)
{
	uint64_t maj, min;

	if (take_u64(p, &maj) < 0 || **p != ':')
		return -EBADMSG;
	(*p)++;
	return take_u64(p, &min);
}

/*
 * Lines "MAJ:MIN key=value ..."; an empty file means no I/O yet. Writes
 * has_io, io_read_bytes and io_write_bytes: rbytes and wbytes summed over
 * devices. Other keys (rios, dbytes, cost.vrate=100.00, ...) are skipped.
 */
int cgs_cgfs_parse_io_stat_v2(const char *text, struct cgs_cgfs_stats *st)
{
	const char *p = text;
	uint64_t rsum = 0, wsum = 0;

	while (*p) {
		unsigned seen = 0;

		if (take_devnum(&p) < 0)
			return -EBADMSG;
		while (*p == ' ') {
			const char *key = ++p, *val;
			size_t klen;
			uint64_t v;

			while (is_key_char(*p) && *p != '=')
				p++;
			klen = (size_t)(p - key);
			if (klen == 0 || *p != '=')
				return -EBADMSG;
			val = ++p;
			if (tok_eq(key, klen, "rbytes") || tok_eq(key, klen, "wbytes")) {
				bool w = key[0] == 'w';

				if (take_u64(&p, &v) < 0)
					return -EBADMSG;
				if (w)
					wsum = sat_add(wsum, v);
				else
					rsum = sat_add(rsum, v);
				seen |= w ? 2u : 1u;
			} else {
				while (is_key_char(*p))
					p++;
			}
			if (p == val || (*p != ' ' && *p != '\n' && *p != '\0'))
				return -EBADMSG;
		}
		if (seen != 3 || take_eol(&p) < 0)
			return -EBADMSG;
	}
	st->has_io = true;
	st->io_read_bytes = rsum;
	st->io_write_bytes = wsum;
	return 0;
}

/* One "some|full key=value ... total=N" line after its first word; *total in usec. */
static int take_psi_fields(const char **pp, uint64_t *total)
{
	const char *p = *pp;
	bool has_total = false;

	while (*p == ' ') {
		const char *key = ++p, *val;
		size_t klen;

		while (is_key_char(*p) && *p != '=')
			p++;
		klen = (size_t)(p - key);
		if (klen == 0 || *p != '=')
			return -EBADMSG;
		val = ++p;
		if (tok_eq(key, klen, "total")) {
			if (has_total || take_u64(&p, total) < 0)
				return -EBADMSG;
			has_total = true;
		} else {
			while (is_key_char(*p))
				p++;
		}
		if (p == val || (*p != ' ' && *p != '\n' && *p != '\0'))
			return -EBADMSG;
	}
	if (!has_total || take_eol(&p) < 0)
		return -EBADMSG;
	*pp = p;
	return 0;
}

/*
 * cpu.pressure, memory.pressure, io.pressure. Writes has_psi[which],
 * psi_some_s[which] and psi_full_s[which], in seconds. The "some" line is
 * required. The "full" line is absent from cpu.pressure before Linux 5.13;
 * then psi_full_s[which] is NAN, which means "no series" (not 0: the kernel
 * did not measure it). Returns -EINVAL when `which` is out of range.
 */
int cgs_cgfs_parse_pressure(const char *text, int which, struct cgs_cgfs_stats *st)
{
	const char *p = text;
	uint64_t some = 0, full = 0;
	bool has_some = false, has_full = false;

	if (which < 0 || which > 2)
		return -EINVAL;
	while (*p) {
		bool is_some = strncmp(p, "some", 4) == 0;

		if (!is_some && strncmp(p, "full", 4) != 0)
			return -EBADMSG;
		if (is_some ? has_some : has_full)
			return -EBADMSG;
		p += 4;
		if (*p != ' ' || take_psi_fields(&p, is_some ? &some : &full) < 0)
			return -EBADMSG;
		if (is_some)
			has_some = true;
		else
			has_full = true;
	}
	if (!has_some)
		return -EBADMSG;
	st->has_psi[which] = true;
	st->psi_some_s[which] = (double)some / 1e6;
	st->psi_full_s[which] = has_full ? (double)full / 1e6 : NAN;
	return 0;
}

/*
 * cpuacct.stat: "user N" and "system N" in USER_HZ ticks. Writes cpu_user_s
 * and cpu_system_s only: usage and has_cpu_usage come from cpuacct.usage.
 * -EINVAL when user_hz is not positive.
 */
int cgs_cgfs_parse_cpuacct_stat_v1(const char *text, long user_hz, struct cgs_cgfs_stats *st)
{
	static const char *const keys[] = { "user", "system" };
	uint64_t v[2] = { 0 };
	unsigned seen;

	if (user_hz <= 0)
		return -EINVAL;
	if (parse_flat(text, keys, 2, v, &seen) < 0 || seen != ALL_SEEN(2))
		return -EBADMSG;
	st->cpu_user_s = (double)v[0] / (double)user_hz;
	st->cpu_system_s = (double)v[1] / (double)user_hz;
	return 0;
}

/* v1 cpu.stat: nr_periods, nr_throttled, throttled_time (ns). Writes the cfs fields. */
int cgs_cgfs_parse_cpu_stat_v1(const char *text, struct cgs_cgfs_stats *st)
{
	static const char *const keys[] = { "nr_periods", "nr_throttled", "throttled_time" };
	uint64_t v[3] = { 0 };
	unsigned seen;

	if (parse_flat(text, keys, 3, v, &seen) < 0 || seen != ALL_SEEN(3))
		return -EBADMSG;
	st->has_cfs = true;
	st->cfs_periods = v[0];
	st->cfs_throttled_periods = v[1];
	st->cfs_throttled_s = (double)v[2] / 1e9;
	return 0;
}

/*
 * v1 memory.stat, hierarchical totals. Writes has_mem_stat, mem_rss,
 * mem_cache, mem_mapped_file, mem_inactive_file, and has_mem_swap/mem_swap
 * from total_swap, which the kernel prints only with swap accounting on.
 */
int cgs_cgfs_parse_memory_stat_v1(const char *text, struct cgs_cgfs_stats *st)
{
	static const char *const keys[] = {
		"total_rss", "total_cache", "total_mapped_file", "total_inactive_file", "total_swap",
	};
	uint64_t v[5] = { 0 };
	unsigned seen;

	if (parse_flat(text, keys, 5, v, &seen) < 0 || (seen & ALL_SEEN(4)) != ALL_SEEN(4))
		return -EBADMSG;
	st->has_mem_stat = true;
	st->mem_rss = v[0];
	st->mem_cache = v[1];
	st->mem_mapped_file = v[2];
	st->mem_inactive_file = v[3];
	st->has_mem_swap = (seen & (1u << 4)) != 0;
	st->mem_swap = v[4];
	return 0;
}

/*
 * blkio.throttle.io_service_bytes(_recursive): "MAJ:MIN <Op> N" lines and a
 * final "Total N". Writes has_io, io_read_bytes and io_write_bytes: the Read
 * and Write lines summed over devices.
 */
int cgs_cgfs_parse_blkio_v1(const char *text, struct cgs_cgfs_stats *st)
{
	const char *p = text;
	uint64_t rsum = 0, wsum = 0, v;

	while (*p) {
		if (strncmp(p, "Total ", 6) == 0) {
			p += 6;
		} else {
			const char *op;
			size_t olen;

			if (take_devnum(&p) < 0 || *p++ != ' ')
				return -EBADMSG;
			op = p;
			while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
				p++;
			olen = (size_t)(p - op);
			if (olen == 0 || *p++ != ' ' || take_u64(&p, &v) < 0)
				return -EBADMSG;
			if (tok_eq(op, olen, "Read"))
				rsum = sat_add(rsum, v);
			else if (tok_eq(op, olen, "Write"))
				wsum = sat_add(wsum, v);
			if (take_eol(&p) < 0)
				return -EBADMSG;
			continue;
		}
		if (take_u64(&p, &v) < 0 || take_eol(&p) < 0)
			return -EBADMSG;
	}
	st->has_io = true;
	st->io_read_bytes = rsum;
	st->io_write_bytes = wsum;
	return 0;
}

/*
 * A single value: decimal u64 or "max", then optional trailing whitespace.
 * For "max", *is_max is set and *v is UINT64_MAX; with is_max NULL, "max"
 * is -EBADMSG. Out-parameters are untouched on failure.
 */
int cgs_cgfs_parse_u64(const char *text, uint64_t *v, bool *is_max)
{
	const char *p = text;
	uint64_t x = UINT64_MAX;
	bool max = false;

	if (strncmp(p, "max", 3) == 0) {
		if (!is_max)
			return -EBADMSG;
		max = true;
		p += 3;
	} else if (take_u64(&p, &x) < 0) {
		return -EBADMSG;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p != '\0')
		return -EBADMSG;
	*v = x;
	if (is_max)
		*is_max = max;
	return 0;
}
