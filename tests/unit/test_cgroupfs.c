/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the cgroupfs parsers and collector. Parsers run on fixtures
 * copied from a real hybrid host (tests/fixtures/cgroupfs/v1, v2), on
 * kernel-format variants, on garbled files, on crafted edge cases and on
 * every truncation and many random mutations of each fixture. The collector
 * runs on container directories arranged in temp dirs from those fixtures
 * and is checked family by family against the fixture numbers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "collectors/cgroupfs.h"
#include "collectors/collector.h"

#ifndef CGS_FIXTURES_DIR
#error "CGS_FIXTURES_DIR must name the tests/fixtures directory"
#endif
#define FX CGS_FIXTURES_DIR "/cgroupfs"

extern const struct cgs_collector_ops cgs_collector_cgroupfs;

#define assert_dbl(a, b)                                                              \
	do {                                                                          \
		double a__ = (a), b__ = (b);                                          \
		if (!(fabs(a__ - b__) <= 1e-9 * fmax(1.0, fabs(b__))))                \
			fail_msg("%s = %.12g, expected %.12g", #a, a__, b__);         \
	} while (0)

/* ---- helpers ---- */

/* The whole file, NUL-terminated; its length in *len when len is not NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return s;
}

static char *fixture(const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", FX, rel);
	return slurp(path, NULL);
}

static void write_bytes(const char *dir, const char *name, const char *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	write_bytes(dir, name, text, strlen(text));
}

/* Copies fixture `rel` to dir/name, byte for byte. */
static void copy_fixture(const char *rel, const char *dir, const char *name)
{
	char path[4096];
	size_t len;
	char *data;

	snprintf(path, sizeof(path), "%s/%s", FX, rel);
	data = slurp(path, &len);
	write_bytes(dir, name, data, len);
	free(data);
}

static void remove_file(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) < 0)
		fail_msg("unlink %s: %s", path, strerror(errno));
}

static void make_dir(const char *dir, const char *sub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

struct tree {
	char root[64];
};

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->root, sizeof(t->root), "/tmp/cgs-test-cgfs-XXXXXX");
	if (!mkdtemp(t->root)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;

	nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

/* A hand-built container; the strings live in the struct. */
struct fake {
	struct cgs_container c;
	char dir[4096];
	char v1[CGS_V1__COUNT][4096];
};

static void fake_init(struct fake *f, const char *dir)
{
	memset(f, 0, sizeof(*f));
	f->c.path = (char *)"/test";
	if (dir) {
		snprintf(f->dir, sizeof(f->dir), "%s", dir);
		f->c.dir = f->dir;
	}
}

static void fake_v1(struct fake *f, enum cgs_v1_ctrl ctrl, const char *dir)
{
	snprintf(f->v1[ctrl], sizeof(f->v1[ctrl]), "%s", dir);
	f->c.v1_dir[ctrl] = f->v1[ctrl];
}

/* The v1 fixture hierarchies of this host as the container's v1 dirs. */
static void fake_v1_fixture(struct fake *f)
{
	static const char *const names[CGS_V1__COUNT] = {
		[CGS_V1_CPU] = "cpu", [CGS_V1_CPUACCT] = "cpuacct", [CGS_V1_MEMORY] = "memory",
		[CGS_V1_BLKIO] = "blkio", [CGS_V1_PIDS] = "pids",
	};
	char path[4096];

	for (int i = 0; i < CGS_V1__COUNT; i++) {
		snprintf(path, sizeof(path), "%s/v1/%s", FX, names[i]);
		fake_v1(f, (enum cgs_v1_ctrl)i, path);
	}
}

/* Runs the collector once on `c`; returns its result. */
static int collect(const struct cgs_container *c, struct cgs_samples *out)
{
	void *st = NULL;
	const char *why = NULL;
	int r;

	cgs_samples_init(out, 0);
	assert_int_equal(cgs_collector_cgroupfs.init(NULL, &st, &why), 0);
	r = cgs_collector_cgroupfs.collect(st, c, out);
	cgs_collector_cgroupfs.destroy(st);
	return r;
}

static size_t count_family(const struct cgs_samples *s, enum cgs_family_id f)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].family == f;
	return n;
}

#define assert_sample(s, fam, val)                                               \
	do {                                                                     \
		const struct cgs_samples *s__ = (s);                             \
		size_t i__;                                                      \
		for (i__ = 0; i__ < s__->n && s__->v[i__].family != (fam); i__++) \
			;                                                        \
		if (i__ == s__->n)                                               \
			fail_msg("no sample of %s", #fam);                       \
		assert_int_equal(count_family(s__, (fam)), 1);                   \
		assert_dbl(s__->v[i__].value, (double)(val));                    \
	} while (0)

#define assert_no_sample(s, fam) assert_int_equal(count_family((s), (fam)), 0)

/* A stats struct filled with a sentinel, to check "untouched on failure". */
static void sentinel(struct cgs_cgfs_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
}

static void assert_untouched(const struct cgs_cgfs_stats *st)
{
	struct cgs_cgfs_stats ref;

	sentinel(&ref);
	assert_memory_equal(st, &ref, sizeof(ref));
}

/* ---- single values ---- */

static void test_u64(void **state)
{
	uint64_t v = 7;
	bool max = true;
	static const char *const bad[] = {
		"", "\n", "12ab\n", "-1\n", " 1\n", "1 2\n", "+1", "0x10", "18446744073709551616",
		"99999999999999999999999999", "maxx", "ma", "1\n2\n",
	};

	(void)state;
	assert_int_equal(cgs_cgfs_parse_u64("123\n", &v, &max), 0);
	assert_int_equal(v, 123);
	assert_false(max);
	assert_int_equal(cgs_cgfs_parse_u64("0", &v, NULL), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cgs_cgfs_parse_u64("18446744073709551615\n", &v, NULL), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(cgs_cgfs_parse_u64("max\n", &v, &max), 0);
	assert_true(max);
	assert_true(v == UINT64_MAX);
	v = 5;
	assert_int_equal(cgs_cgfs_parse_u64("max\n", &v, NULL), -EBADMSG);
	assert_int_equal(v, 5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 5;
		max = false;
		if (cgs_cgfs_parse_u64(bad[i], &v, &max) != -EBADMSG)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(v, 5);
		assert_false(max);
	}
}

static void test_u64_fixtures(void **state)
{
	char *t;
	uint64_t v;
	bool max;

	(void)state;
	t = fixture("v1/memory/memory.limit_in_bytes");
	assert_int_equal(cgs_cgfs_parse_u64(t, &v, NULL), 0);
	assert_true(v == UINT64_C(9223372036854771712));
	free(t);
	t = fixture("v2/memory.current");
	assert_int_equal(cgs_cgfs_parse_u64(t, &v, &max), 0);
	assert_int_equal(v, 171966464);
	free(t);
	t = fixture("variants/memory.max-unlimited");
	assert_int_equal(cgs_cgfs_parse_u64(t, &v, &max), 0);
	assert_true(max);
	free(t);
	t = fixture("garbled/u64-junk");
	assert_int_equal(cgs_cgfs_parse_u64(t, &v, &max), -EBADMSG);
	free(t);
}

/* ---- v2 parsers ---- */

static void test_cpu_stat_v2(void **state)
{
	struct cgs_cgfs_stats st;
	char *t;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.has_cfs = true;   /* overwritten: the real file has no cfs keys */
	t = fixture("v2/cpu.stat");
	assert_int_equal(cgs_cgfs_parse_cpu_stat_v2(t, &st), 0);
	free(t);
	assert_true(st.has_cpu_usage);
	assert_dbl(st.cpu_usage_s, 40.759644);
	assert_dbl(st.cpu_user_s, 20.996393);
	assert_dbl(st.cpu_system_s, 19.763251);
	assert_false(st.has_cfs);

	t = fixture("variants/cpu.stat-cfs");
	assert_int_equal(cgs_cgfs_parse_cpu_stat_v2(t, &st), 0);
	free(t);
	assert_dbl(st.cpu_usage_s, 2.829385);
	assert_true(st.has_cfs);
	assert_int_equal(st.cfs_periods, 1411);
	assert_int_equal(st.cfs_throttled_periods, 32);
	assert_dbl(st.cfs_throttled_s, 1.835627);

	/* No trailing newline. */
	assert_int_equal(cgs_cgfs_parse_cpu_stat_v2("usage_usec 1\nuser_usec 2\nsystem_usec 3", &st), 0);
	assert_dbl(st.cpu_system_s, 3e-6);
	assert_false(st.has_cfs);
	/* Largest value. */
	assert_int_equal(cgs_cgfs_parse_cpu_stat_v2(
		"usage_usec 18446744073709551615\nuser_usec 0\nsystem_usec 0\n", &st), 0);
	assert_dbl(st.cpu_usage_s, 18446744073709.551615);
}

static void test_cpu_stat_v2_bad(void **state)
{
	static const char *const files[] = {
		"garbled/cpu.stat-truncated", "garbled/cpu.stat-overflow", "garbled/empty",
		"garbled/binary", "v1/cpu/cpu.stat", "v2/memory.stat",
	};
	static const char *const texts[] = {
		"usage_usec 1\nuser_usec 2\n",                                /* missing key */
		"usage_usec 1\nuser_usec 2\nsystem_usec 3\nnr_periods 4\n",  /* partial cfs */
		"usage_usec 1\nuser_usec 2\nsystem_usec x\n",
		"usage_usec 1\nuser_usec 2\nsystem_usec -3\n",
		"usage_usec  1\nuser_usec 2\nsystem_usec 3\n",
		"usage_usec 1\n\nuser_usec 2\nsystem_usec 3\n",
		"usage_usec 1 2\nuser_usec 2\nsystem_usec 3\n",
		"usage_usec\nuser_usec 2\nsystem_usec 3\n",
		"usage_usec 1\r\nuser_usec 2\nsystem_usec 3\n",
	};
	struct cgs_cgfs_stats st;

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *t = fixture(files[i]);

		sentinel(&st);
		if (cgs_cgfs_parse_cpu_stat_v2(t, &st) != -EBADMSG)
			fail_msg("accepted %s", files[i]);
		assert_untouched(&st);
		free(t);
	}
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		sentinel(&st);
		if (cgs_cgfs_parse_cpu_stat_v2(texts[i], &st) != -EBADMSG)
			fail_msg("accepted text %zu", i);
		assert_untouched(&st);
	}
}

static void test_cpu_max_v2(void **state)
{
	static const char *const bad[] = {
		"50000\n", "max\n", "", "50000 100000 7\n", "-1 100000\n", "50000 abc\n",
		"50000  100000\n", "max max\n", "50000 100000\nx", "50000 100000\n\n",
	};
	struct cgs_cgfs_stats st;
	char *t;

	(void)state;
	memset(&st, 0, sizeof(st));
	t = fixture("v2/cpu.max");
	assert_int_equal(cgs_cgfs_parse_cpu_max_v2(t, &st), 0);
	free(t);
	assert_true(st.has_cpu_quota);
	assert_dbl(st.cpu_quota, 50000);
	assert_true(st.has_cpu_period);
	assert_dbl(st.cpu_period, 100000);

	t = fixture("variants/cpu.max-unlimited");
	assert_int_equal(cgs_cgfs_parse_cpu_max_v2(t, &st), 0);
	free(t);
	assert_false(st.has_cpu_quota);
	assert_true(st.has_cpu_period);
	assert_dbl(st.cpu_period, 100000);

	assert_int_equal(cgs_cgfs_parse_cpu_max_v2("1000 1000", &st), 0);
	assert_dbl(st.cpu_quota, 1000);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sentinel(&st);
		if (cgs_cgfs_parse_cpu_max_v2(bad[i], &st) != -EBADMSG)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_untouched(&st);
	}
	t = fixture("garbled/cpu.max-no-period");
	assert_int_equal(cgs_cgfs_parse_cpu_max_v2(t, &st), -EBADMSG);
	free(t);
}

static void test_memory_stat_v2(void **state)
{
	static const char *const files[] = {
		"garbled/memory.stat-truncated", "garbled/memory.stat-junk-line", "garbled/empty",
		"garbled/binary", "v1/memory/memory.stat",
	};
	struct cgs_cgfs_stats st;
	char *t;

	(void)state;
	memset(&st, 0, sizeof(st));
	t = fixture("v2/memory.stat");
	assert_int_equal(cgs_cgfs_parse_memory_stat_v2(t, &st), 0);
	free(t);
	assert_true(st.has_mem_stat);
	assert_int_equal(st.mem_rss, 62844928);
	assert_int_equal(st.mem_cache, 94957568);
	assert_int_equal(st.mem_mapped_file, 19644416);
	assert_int_equal(st.mem_inactive_file, 51519488);
	assert_false(st.has_mem_swap);   /* not this file's */

	assert_int_equal(cgs_cgfs_parse_memory_stat_v2(
		"file_mapped 3\ninactive_file 4\nanon 1\nfile 2", &st), 0);
	assert_int_equal(st.mem_rss, 1);
	assert_int_equal(st.mem_inactive_file, 4);

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		t = fixture(files[i]);
		sentinel(&st);
		if (cgs_cgfs_parse_memory_stat_v2(t, &st) != -EBADMSG)
			fail_msg("accepted %s", files[i]);
		assert_untouched(&st);
		free(t);
	}
}

static void test_io_stat_v2(void **state)
{
	static const char *const bad[] = {
		"8:0 rbytes=1\n",                              /* no wbytes: truncated line */
		"8:0 wbytes=1 rbytes=x\n",
		"sda rbytes=1 wbytes=2\n",
		"8: rbytes=1 wbytes=2\n",
		"8:0 rbytes=1 wbytes=2 rios\n",
		"8:0 rbytes=1 wbytes=2 =3\n",
		"8:0 rbytes=1 wbytes=2 rios=\n",
		"8:0 rbytes=1 wbytes=2\n\n",
		"8:0 rbytes=1  wbytes=2\n",
		"8:0 rbytes=18446744073709551616 wbytes=2\n",
		"8:0 rbytes=1 wbytes=2x\n",
	};
	struct cgs_cgfs_stats st;
	char *t;

	(void)state;
	memset(&st, 0, sizeof(st));
	t = fixture("v2/io.stat");
	assert_int_equal(cgs_cgfs_parse_io_stat_v2(t, &st), 0);
	free(t);
	assert_true(st.has_io);
	assert_int_equal(st.io_read_bytes, 1459200 + 90430464);
	assert_int_equal(st.io_write_bytes, 314773504 + 299008000);

	/* No I/O yet: an empty file. */
	t = fixture("variants/io.stat-empty");
	st.has_io = false;
	assert_int_equal(cgs_cgfs_parse_io_stat_v2(t, &st), 0);
	free(t);
	assert_true(st.has_io);
	assert_int_equal(st.io_read_bytes, 0);
	assert_int_equal(st.io_write_bytes, 0);

	/* io.cost and io.latency keys, decimals included, are skipped. */
	assert_int_equal(cgs_cgfs_parse_io_stat_v2(
		"259:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0 cost.vrate=100.00 "
		"cost.usage=5 cost.wait=0 cost.indebt=0 cost.indelay=0 use_delay=0 delay_nsec=0", &st), 0);
	assert_int_equal(st.io_read_bytes, 10);
	assert_int_equal(st.io_write_bytes, 20);

	/* Sums saturate. */
	assert_int_equal(cgs_cgfs_parse_io_stat_v2(
		"8:0 rbytes=18446744073709551615 wbytes=1\n8:16 rbytes=5 wbytes=2\n", &st), 0);
	assert_true(st.io_read_bytes == UINT64_MAX);
	assert_int_equal(st.io_write_bytes, 3);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sentinel(&st);
		if (cgs_cgfs_parse_io_stat_v2(bad[i], &st) != -EBADMSG)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_untouched(&st);
	}
	t = fixture("garbled/io.stat-bad-value");
	assert_int_equal(cgs_cgfs_parse_io_stat_v2(t, &st), -EBADMSG);
	free(t);
}

static void test_pressure(void **state)
{
	static const char *const bad[] = {
		"",
		"full avg10=0.00 avg60=0.00 avg300=0.00 total=1\n",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nsome avg10=0.00 total=2\n",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=1\npartial total=2\n",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=x\n",
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616\n",
		"some avg10=0.00 total=1 total=2\n",
		"some avg10= total=1\n",
		"some  total=1\n",
		"sometotal=1\n",
		"some total=1\nfull total=2\nfull total=3\n",
	};
	struct cgs_cgfs_stats st;
	char *t;

	(void)state;
	memset(&st, 0, sizeof(st));
	t = fixture("v2/cpu.pressure");
	assert_int_equal(cgs_cgfs_parse_pressure(t, 0, &st), 0);
	free(t);
	assert_true(st.has_psi[0]);
	assert_dbl(st.psi_some_s[0], 4.518631);
	assert_dbl(st.psi_full_s[0], 0);
	assert_false(st.has_psi[1]);

	t = fixture("v2/io.pressure");
	assert_int_equal(cgs_cgfs_parse_pressure(t, 2, &st), 0);
	free(t);
	assert_true(st.has_psi[2]);
	assert_dbl(st.psi_some_s[2], 3.490896);
	assert_dbl(st.psi_full_s[2], 3.338658);

	t = fixture("v2/memory.pressure");
	assert_int_equal(cgs_cgfs_parse_pressure(t, 1, &st), 0);
	free(t);
	assert_true(st.has_psi[1]);
	assert_dbl(st.psi_some_s[1], 0);
	assert_dbl(st.psi_full_s[1], 0);

	/* cpu.pressure before Linux 5.13: no "full" line, so no stalled series. */
	t = fixture("variants/cpu.pressure-nofull");
	assert_int_equal(cgs_cgfs_parse_pressure(t, 0, &st), 0);
	free(t);
	assert_dbl(st.psi_some_s[0], 1.536);
	assert_true(isnan(st.psi_full_s[0]));

	/* "full" first, no trailing newline. */
	assert_int_equal(cgs_cgfs_parse_pressure("full total=2000000\nsome total=1000000", 1, &st), 0);
	assert_dbl(st.psi_some_s[1], 1);
	assert_dbl(st.psi_full_s[1], 2);

	sentinel(&st);
	assert_int_equal(cgs_cgfs_parse_pressure("some total=1\n", 3, &st), -EINVAL);
	assert_int_equal(cgs_cgfs_parse_pressure("some total=1\n", -1, &st), -EINVAL);
	assert_untouched(&st);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sentinel(&st);
		if (cgs_cgfs_parse_pressure(bad[i], 0, &st) != -EBADMSG)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_untouched(&st);
	}
	t = fixture("garbled/pressure-no-total");
	assert_int_equal(cgs_cgfs_parse_pressure(t, 0, &st), -EBADMSG);
	free(t);
}

/* ---- v1 parsers ---- */

static void test_cpuacct_stat_v1(void **state)
{
	struct cgs_cgfs_stats st;
	char *t;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.cpu_usage_s = 99;
	t = fixture("v1/cpuacct/cpuacct.stat");
	assert_int_equal(cgs_cgfs_parse_cpuacct_stat_v1(t, 100, &st), 0);
	assert_dbl(st.cpu_user_s, 22.19);
	assert_dbl(st.cpu_system_s, 20.90);
	/* Usage is cpuacct.usage's. */
	assert_dbl(st.cpu_usage_s, 99);
	assert_false(st.has_cpu_usage);
	assert_int_equal(cgs_cgfs_parse_cpuacct_stat_v1(t, 250, &st), 0);
	assert_dbl(st.cpu_user_s, 8.876);
	sentinel(&st);
	assert_int_equal(cgs_cgfs_parse_cpuacct_stat_v1(t, 0, &st), -EINVAL);
	assert_int_equal(cgs_cgfs_parse_cpuacct_stat_v1(t, -100, &st), -EINVAL);
	assert_untouched(&st);
	free(t);

	t = fixture("garbled/cpuacct.stat-truncated");
	assert_int_equal(cgs_cgfs_parse_cpuacct_stat_v1(t, 100, &st), -EBADMSG);
	free(t);
	assert_int_equal(cgs_cgfs_parse_cpuacct_stat_v1("user 1\n", 100, &st), -EBADMSG);
	assert_int_equal(cgs_cgfs_parse_cpuacct_stat_v1("user 1\nsystem -2\n", 100, &st), -EBADMSG);
	assert_untouched(&st);
}

static void test_cpu_stat_v1(void **state)
{
	struct cgs_cgfs_stats st;
	char *t;

	(void)state;
	memset(&st, 0, sizeof(st));
	t = fixture("v1/cpu/cpu.stat");
	assert_int_equal(cgs_cgfs_parse_cpu_stat_v1(t, &st), 0);
	free(t);
	assert_true(st.has_cfs);
	assert_int_equal(st.cfs_periods, 0);
	assert_int_equal(st.cfs_throttled_periods, 0);
	assert_dbl(st.cfs_throttled_s, 0);

	assert_int_equal(cgs_cgfs_parse_cpu_stat_v1(
		"nr_periods 120\nnr_throttled 7\nthrottled_time 2500000000\n", &st), 0);
	assert_int_equal(st.cfs_periods, 120);
	assert_int_equal(st.cfs_throttled_periods, 7);
	assert_dbl(st.cfs_throttled_s, 2.5);

	sentinel(&st);
	assert_int_equal(cgs_cgfs_parse_cpu_stat_v1("nr_periods 120\nnr_throttled 7\n", &st), -EBADMSG);
	assert_int_equal(cgs_cgfs_parse_cpu_stat_v1("", &st), -EBADMSG);
	t = fixture("v2/cpu.stat");
	assert_int_equal(cgs_cgfs_parse_cpu_stat_v1(t, &st), -EBADMSG);
	free(t);
	assert_untouched(&st);
}

static void test_memory_stat_v1(void **state)
{
	struct cgs_cgfs_stats st;
	char *t;

	(void)state;
	memset(&st, 0, sizeof(st));
	t = fixture("v1/memory/memory.stat");
	assert_int_equal(cgs_cgfs_parse_memory_stat_v1(t, &st), 0);
	free(t);
	assert_true(st.has_mem_stat);
	assert_int_equal(st.mem_rss, 9732096);
	assert_int_equal(st.mem_cache, 333262848);
	assert_int_equal(st.mem_mapped_file, 11038720);
	assert_int_equal(st.mem_inactive_file, 275075072);
	assert_true(st.has_mem_swap);
	assert_int_equal(st.mem_swap, 0);

	/* Without swap accounting the kernel prints no total_swap. */
	assert_int_equal(cgs_cgfs_parse_memory_stat_v1(
		"rss 5\ntotal_rss 1\ntotal_cache 2\ntotal_mapped_file 3\ntotal_inactive_file 4\n", &st), 0);
	assert_false(st.has_mem_swap);
	assert_int_equal(st.mem_rss, 1);

	sentinel(&st);
	t = fixture("garbled/memory.stat-v1-truncated");
	assert_int_equal(cgs_cgfs_parse_memory_stat_v1(t, &st), -EBADMSG);
	free(t);
	t = fixture("v2/memory.stat");
	assert_int_equal(cgs_cgfs_parse_memory_stat_v1(t, &st), -EBADMSG);
	free(t);
	assert_untouched(&st);
}

static void test_blkio_v1(void **state)
{
	static const char *const bad[] = {
		"8:0 Read\n", "8:0 Read 12 extra\n", "8:0  Read 1\n", "Read 1\n", "8:0 Read -1\n",
		"Total\n", "Total x\n", "8:0 R3ad 1\n", "8:0 Read 99999999999999999999\n",
	};
	struct cgs_cgfs_stats st;
	char *t;

	(void)state;
	memset(&st, 0, sizeof(st));
	t = fixture("v1/blkio/blkio.throttle.io_service_bytes_recursive");
	assert_int_equal(cgs_cgfs_parse_blkio_v1(t, &st), 0);
	free(t);
	assert_true(st.has_io);
	assert_int_equal(st.io_read_bytes, 0);

	t = fixture("variants/blkio.throttle.io_service_bytes_recursive-devices");
	assert_int_equal(cgs_cgfs_parse_blkio_v1(t, &st), 0);
	free(t);
	assert_int_equal(st.io_read_bytes, 1459200 + 90430464);
	assert_int_equal(st.io_write_bytes, 314773504 + 299008000);

	st.has_io = false;
	assert_int_equal(cgs_cgfs_parse_blkio_v1("", &st), 0);
	assert_true(st.has_io);
	assert_int_equal(cgs_cgfs_parse_blkio_v1(
		"8:0 Write 18446744073709551615\n8:16 Write 9\nTotal 0", &st), 0);
	assert_true(st.io_write_bytes == UINT64_MAX);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sentinel(&st);
		if (cgs_cgfs_parse_blkio_v1(bad[i], &st) != -EBADMSG)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_untouched(&st);
	}
	t = fixture("garbled/blkio-no-value");
	assert_int_equal(cgs_cgfs_parse_blkio_v1(t, &st), -EBADMSG);
	free(t);
}

/* ---- robustness: every truncation and random mutations of every fixture ---- */

static const char *const fuzz_files[] = {
	"v2/cpu.stat", "v2/cpu.max", "v2/memory.stat", "v2/io.stat", "v2/cpu.pressure",
	"v2/io.pressure", "v2/memory.current", "variants/cpu.stat-cfs",
	"variants/blkio.throttle.io_service_bytes_recursive-devices",
	"variants/cpu.pressure-nofull", "v1/cpuacct/cpuacct.stat", "v1/cpu/cpu.stat",
	"v1/memory/memory.stat", "garbled/binary", "garbled/memory.stat-junk-line",
};

/* Runs every parser on `text`; each must return 0 or -EBADMSG and, on failure, touch nothing. */
static void all_parsers(const char *text)
{
	struct cgs_cgfs_stats st;
	uint64_t v = 1;
	bool max = false;
	int r;

#define CHECK(call)                                                               \
	do {                                                                      \
		sentinel(&st);                                                    \
		r = (call);                                                       \
		if (r != 0 && r != -EBADMSG)                                      \
			fail_msg("%s returned %d", #call, r);                     \
		if (r != 0)                                                       \
			assert_untouched(&st);                                    \
	} while (0)
	CHECK(cgs_cgfs_parse_cpu_stat_v2(text, &st));
	CHECK(cgs_cgfs_parse_cpu_max_v2(text, &st));
	CHECK(cgs_cgfs_parse_memory_stat_v2(text, &st));
	CHECK(cgs_cgfs_parse_io_stat_v2(text, &st));
	CHECK(cgs_cgfs_parse_pressure(text, 1, &st));
	CHECK(cgs_cgfs_parse_cpuacct_stat_v1(text, 100, &st));
	CHECK(cgs_cgfs_parse_cpu_stat_v1(text, &st));
	CHECK(cgs_cgfs_parse_memory_stat_v1(text, &st));
	CHECK(cgs_cgfs_parse_blkio_v1(text, &st));
#undef CHECK
	r = cgs_cgfs_parse_u64(text, &v, &max);
	assert_true(r == 0 || r == -EBADMSG);
}

static void test_truncations(void **state)
{
	(void)state;
	for (size_t f = 0; f < sizeof(fuzz_files) / sizeof(fuzz_files[0]); f++) {
		char *t = fixture(fuzz_files[f]);
		size_t n = strlen(t);

		/* Each prefix in a buffer of its own length, so ASan sees overreads. */
		for (size_t len = 0; len <= n; len++) {
			char *cut = malloc(len + 1);

			assert_non_null(cut);
			memcpy(cut, t, len);
			cut[len] = '\0';
			all_parsers(cut);
			free(cut);
		}
		free(t);
	}
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_mutations(void **state)
{
	static const char alphabet[] = "0123456789 \n=:-max\xff\x01totalsomefull";
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (size_t f = 0; f < sizeof(fuzz_files) / sizeof(fuzz_files[0]); f++) {
		char *t = fixture(fuzz_files[f]);
		size_t n = strlen(t);

		for (int iter = 0; iter < 400 && n > 0; iter++) {
			char *m = malloc(n + 1);
			int edits = 1 + (int)(xorshift(&seed) % 4);

			assert_non_null(m);
			memcpy(m, t, n + 1);
			for (int e = 0; e < edits; e++) {
				size_t at = (size_t)(xorshift(&seed) % n);
				char ch = alphabet[xorshift(&seed) % (sizeof(alphabet) - 1)];

				m[at] = ch;
			}
			all_parsers(m);
			/* A 9 run where a digit was: overflow. */
			for (size_t i = 0; i < n; i++)
				if (m[i] >= '0' && m[i] <= '8' && xorshift(&seed) % 3 == 0)
					m[i] = '9';
			all_parsers(m);
			free(m);
		}
		free(t);
	}
	/* Long digit runs. */
	{
		char big[200];

		memset(big, '9', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		all_parsers(big);
	}
}

/* ---- the collector ---- */

/* A hybrid host's container: the real unified files, the rest on v1. */
static void hybrid_v2_dir(const char *dir)
{
	static const char *const files[] = {
		"cpu.stat", "cpu.pressure", "memory.pressure", "io.pressure", "cgroup.procs",
		"cgroup.threads",
	};
	char rel[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), "v2/%s", files[i]);
		copy_fixture(rel, dir, files[i]);
	}
}

/* A copy of the v2 fixture container, top level only. */
static void v2_copy(const char *dir)
{
	static const char *const files[] = {
		"cpu.max", "memory.current", "memory.stat", "memory.max", "memory.swap.current",
		"io.stat", "pids.current",
	};
	char rel[256];

	hybrid_v2_dir(dir);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), "v2/%s", files[i]);
		copy_fixture(rel, dir, files[i]);
	}
}

static void assert_psi_fixture(const struct cgs_samples *s)
{
	assert_sample(s, CGS_M_PRESSURE_CPU_WAITING, 4.518631);
	assert_sample(s, CGS_M_PRESSURE_CPU_STALLED, 0);
	assert_sample(s, CGS_M_PRESSURE_MEMORY_WAITING, 0);
	assert_sample(s, CGS_M_PRESSURE_MEMORY_STALLED, 0);
	assert_sample(s, CGS_M_PRESSURE_IO_WAITING, 3.490896);
	assert_sample(s, CGS_M_PRESSURE_IO_STALLED, 3.338658);
}

static void test_collect_v2(void **state)
{
	struct fake f;
	struct cgs_samples s;

	(void)state;
	fake_init(&f, FX "/v2");
	assert_int_equal(collect(&f.c, &s), 0);
	assert_sample(&s, CGS_M_CPU_USAGE, 40.759644);
	assert_sample(&s, CGS_M_CPU_USER, 20.996393);
	assert_sample(&s, CGS_M_CPU_SYSTEM, 19.763251);
	/* This cpu.stat has no cfs keys (cpu is a v1 controller here) and there is no v1 dir. */
	assert_no_sample(&s, CGS_M_CPU_CFS_PERIODS);
	assert_no_sample(&s, CGS_M_CPU_CFS_THROTTLED_PERIODS);
	assert_no_sample(&s, CGS_M_CPU_CFS_THROTTLED_SECONDS);
	assert_sample(&s, CGS_M_MEMORY_USAGE, 171966464);
	assert_sample(&s, CGS_M_MEMORY_WORKING_SET, 171966464 - 51519488);
	assert_sample(&s, CGS_M_MEMORY_RSS, 62844928);
	assert_sample(&s, CGS_M_MEMORY_CACHE, 94957568);
	assert_sample(&s, CGS_M_MEMORY_SWAP, 4096000);
	assert_sample(&s, CGS_M_MEMORY_MAPPED_FILE, 19644416);
	assert_sample(&s, CGS_M_SPEC_MEMORY_LIMIT, 536870912);
	assert_sample(&s, CGS_M_SPEC_CPU_QUOTA, 50000);
	assert_sample(&s, CGS_M_SPEC_CPU_PERIOD, 100000);
	assert_sample(&s, CGS_M_FS_READS_BYTES, 1459200 + 90430464);
	assert_sample(&s, CGS_M_FS_WRITES_BYTES, 314773504 + 299008000);
	/* 69 in the container's own cgroup.procs, 2 in app/, 1 in app/worker/. */
	assert_sample(&s, CGS_M_PROCESSES, 69 + 2 + 1);
	assert_sample(&s, CGS_M_THREADS, 97);   /* pids.current */
	assert_psi_fixture(&s);
	assert_int_equal(s.n, 22);
	cgs_samples_free(&s);
}

static void test_collect_v2_cfs_unlimited(void **state)
{
	struct tree *t = *state;
	struct fake f;
	struct cgs_samples s;

	v2_copy(t->root);
	copy_fixture("variants/cpu.stat-cfs", t->root, "cpu.stat");
	copy_fixture("variants/cpu.max-unlimited", t->root, "cpu.max");
	copy_fixture("variants/memory.max-unlimited", t->root, "memory.max");
	copy_fixture("variants/cpu.pressure-nofull", t->root, "cpu.pressure");
	remove_file(t->root, "pids.current");
	make_dir(t->root, "a");
	make_dir(t->root, "a/b");
	write_file(t->root, "a/cgroup.procs", "10\n11\n");
	write_file(t->root, "a/cgroup.threads", "10\n11\n12\n");
	write_file(t->root, "a/b/cgroup.procs", "20");   /* no trailing newline */
	write_file(t->root, "a/b/cgroup.threads", "20\n21\n");
	make_dir(t->root, "empty");
	write_file(t->root, "empty/cgroup.procs", "");
	write_file(t->root, "empty/cgroup.threads", "");

	fake_init(&f, t->root);
	assert_int_equal(collect(&f.c, &s), 0);
	assert_sample(&s, CGS_M_CPU_USAGE, 2.829385);
	assert_sample(&s, CGS_M_CPU_CFS_PERIODS, 1411);
	assert_sample(&s, CGS_M_CPU_CFS_THROTTLED_PERIODS, 32);
	assert_sample(&s, CGS_M_CPU_CFS_THROTTLED_SECONDS, 1.835627);
	assert_no_sample(&s, CGS_M_SPEC_CPU_QUOTA);
	assert_sample(&s, CGS_M_SPEC_CPU_PERIOD, 100000);
	assert_sample(&s, CGS_M_SPEC_MEMORY_LIMIT, 0);
	assert_sample(&s, CGS_M_PROCESSES, 69 + 2 + 1);
	/* No pids.current: threads are counted from cgroup.threads over the subtree. */
	assert_sample(&s, CGS_M_THREADS, 83 + 3 + 2);
	assert_sample(&s, CGS_M_PRESSURE_CPU_WAITING, 1.536);
	assert_no_sample(&s, CGS_M_PRESSURE_CPU_STALLED);
	assert_sample(&s, CGS_M_PRESSURE_IO_STALLED, 3.338658);
	cgs_samples_free(&s);
}

static void test_collect_hybrid(void **state)
{
	struct tree *t = *state;
	struct fake f;
	struct cgs_samples s;

	hybrid_v2_dir(t->root);
	fake_init(&f, t->root);
	fake_v1_fixture(&f);
	assert_int_equal(collect(&f.c, &s), 0);
	/* The unified cpu.stat wins over cpuacct; cfs comes from v1 cpu.stat. */
	assert_sample(&s, CGS_M_CPU_USAGE, 40.759644);
	assert_sample(&s, CGS_M_CPU_USER, 20.996393);
	assert_sample(&s, CGS_M_CPU_CFS_PERIODS, 0);
	assert_sample(&s, CGS_M_CPU_CFS_THROTTLED_PERIODS, 0);
	assert_sample(&s, CGS_M_CPU_CFS_THROTTLED_SECONDS, 0);
	assert_no_sample(&s, CGS_M_SPEC_CPU_QUOTA);   /* cfs_quota_us -1 */
	assert_sample(&s, CGS_M_SPEC_CPU_PERIOD, 100000);
	assert_sample(&s, CGS_M_MEMORY_USAGE, 342712320);
	assert_sample(&s, CGS_M_MEMORY_WORKING_SET, 342712320 - 275075072);
	assert_sample(&s, CGS_M_MEMORY_RSS, 9732096);
	assert_sample(&s, CGS_M_MEMORY_CACHE, 333262848);
	assert_sample(&s, CGS_M_MEMORY_SWAP, 0);
	assert_sample(&s, CGS_M_MEMORY_MAPPED_FILE, 11038720);
	assert_sample(&s, CGS_M_SPEC_MEMORY_LIMIT, 0);   /* 9223372036854771712 */
	assert_sample(&s, CGS_M_FS_READS_BYTES, 0);
	assert_sample(&s, CGS_M_FS_WRITES_BYTES, 0);
	assert_sample(&s, CGS_M_PROCESSES, 69);
	assert_sample(&s, CGS_M_THREADS, 90);   /* v1 pids.current */
	assert_psi_fixture(&s);
	assert_int_equal(s.n, 24);
	cgs_samples_free(&s);
}

static void test_collect_v1_only(void **state)
{
	struct fake f;
	struct cgs_samples s;
	long hz = sysconf(_SC_CLK_TCK);

	(void)state;
	fake_init(&f, NULL);
	fake_v1_fixture(&f);
	assert_int_equal(collect(&f.c, &s), 0);
	assert_sample(&s, CGS_M_CPU_USAGE, 43.087896381);
	assert_sample(&s, CGS_M_CPU_USER, 2219.0 / (double)hz);
	assert_sample(&s, CGS_M_CPU_SYSTEM, 2090.0 / (double)hz);
	assert_sample(&s, CGS_M_CPU_CFS_PERIODS, 0);
	assert_sample(&s, CGS_M_MEMORY_USAGE, 342712320);
	assert_sample(&s, CGS_M_MEMORY_RSS, 9732096);
	assert_sample(&s, CGS_M_SPEC_MEMORY_LIMIT, 0);
	assert_sample(&s, CGS_M_PROCESSES, 73);   /* pids/cgroup.procs */
	assert_sample(&s, CGS_M_THREADS, 90);
	assert_no_sample(&s, CGS_M_PRESSURE_CPU_WAITING);
	assert_int_equal(s.n, 18);
	cgs_samples_free(&s);
}

static void test_collect_v1_variants(void **state)
{
	struct tree *t = *state;
	struct fake f;
	struct cgs_samples s;
	char dir[4096];

	/* Own cpu, blkio and pids dirs: a quota, per-device bytes, tasks counted. */
	make_dir(t->root, "cpu");
	make_dir(t->root, "blkio");
	make_dir(t->root, "pids");
	make_dir(t->root, "pids/nested");
	write_file(t->root, "cpu/cpu.cfs_quota_us", "50000\n");
	write_file(t->root, "cpu/cpu.cfs_period_us", "100000\n");
	write_file(t->root, "cpu/cpu.stat", "nr_periods 120\nnr_throttled 7\nthrottled_time 2500000000\n");
	copy_fixture("variants/blkio.throttle.io_service_bytes_recursive-devices", t->root,
		     "blkio/blkio.throttle.io_service_bytes");
	write_file(t->root, "pids/cgroup.procs", "1\n2\n");
	write_file(t->root, "pids/tasks", "1\n2\n3\n");
	write_file(t->root, "pids/nested/cgroup.procs", "4\n");
	write_file(t->root, "pids/nested/tasks", "4\n5\n");

	fake_init(&f, NULL);
	snprintf(dir, sizeof(dir), "%s/cpu", t->root);
	fake_v1(&f, CGS_V1_CPU, dir);
	snprintf(dir, sizeof(dir), "%s/blkio", t->root);
	fake_v1(&f, CGS_V1_BLKIO, dir);
	snprintf(dir, sizeof(dir), "%s/pids", t->root);
	fake_v1(&f, CGS_V1_PIDS, dir);
	fake_v1(&f, CGS_V1_MEMORY, "/nonexistent/memory");
	assert_int_equal(collect(&f.c, &s), 0);
	assert_sample(&s, CGS_M_SPEC_CPU_QUOTA, 50000);
	assert_sample(&s, CGS_M_SPEC_CPU_PERIOD, 100000);
	assert_sample(&s, CGS_M_CPU_CFS_PERIODS, 120);
	assert_sample(&s, CGS_M_CPU_CFS_THROTTLED_PERIODS, 7);
	assert_sample(&s, CGS_M_CPU_CFS_THROTTLED_SECONDS, 2.5);
	/* The non-recursive file is the fallback. */
	assert_sample(&s, CGS_M_FS_READS_BYTES, 1459200 + 90430464);
	assert_sample(&s, CGS_M_FS_WRITES_BYTES, 314773504 + 299008000);
	assert_sample(&s, CGS_M_PROCESSES, 3);
	assert_sample(&s, CGS_M_THREADS, 5);
	assert_no_sample(&s, CGS_M_CPU_USAGE);
	assert_no_sample(&s, CGS_M_MEMORY_USAGE);
	assert_int_equal(s.n, 9);
	cgs_samples_free(&s);

	/*
	 * A quota that is neither a number nor -1; a garbled cpuacct.stat (usage
	 * without user/system); a v1 "directory" that is a file.
	 */
	write_file(t->root, "cpu/cpu.cfs_quota_us", "-2\n");
	make_dir(t->root, "cpuacct");
	write_file(t->root, "cpuacct/cpuacct.usage", "1500000000\n");
	copy_fixture("garbled/cpuacct.stat-truncated", t->root, "cpuacct/cpuacct.stat");
	snprintf(dir, sizeof(dir), "%s/cpuacct", t->root);
	fake_v1(&f, CGS_V1_CPUACCT, dir);
	snprintf(dir, sizeof(dir), "%s/cpu/cpu.stat", t->root);
	fake_v1(&f, CGS_V1_MEMORY, dir);
	assert_int_equal(collect(&f.c, &s), 3);
	assert_no_sample(&s, CGS_M_SPEC_CPU_QUOTA);
	assert_sample(&s, CGS_M_SPEC_CPU_PERIOD, 100000);
	assert_sample(&s, CGS_M_CPU_USAGE, 1.5);
	assert_no_sample(&s, CGS_M_CPU_USER);
	assert_no_sample(&s, CGS_M_CPU_SYSTEM);
	assert_no_sample(&s, CGS_M_MEMORY_USAGE);
	cgs_samples_free(&s);
}

static void test_collect_missing_files(void **state)
{
	struct tree *t = *state;
	struct fake f;
	struct cgs_samples s;

	copy_fixture("v2/cgroup.procs", t->root, "cgroup.procs");
	fake_init(&f, t->root);
	assert_int_equal(collect(&f.c, &s), 0);
	assert_sample(&s, CGS_M_PROCESSES, 69);
	assert_int_equal(s.n, 1);   /* no cgroup.threads, no pids.current: no threads */
	cgs_samples_free(&s);
}

static void test_collect_garbled(void **state)
{
	struct tree *t = *state;
	struct fake f;
	struct cgs_samples s;

	v2_copy(t->root);
	copy_fixture("garbled/memory.stat-truncated", t->root, "memory.stat");
	fake_init(&f, t->root);
	assert_int_equal(collect(&f.c, &s), 1);
	assert_sample(&s, CGS_M_MEMORY_USAGE, 171966464);
	assert_no_sample(&s, CGS_M_MEMORY_WORKING_SET);
	assert_no_sample(&s, CGS_M_MEMORY_RSS);
	assert_no_sample(&s, CGS_M_MEMORY_CACHE);
	assert_no_sample(&s, CGS_M_MEMORY_MAPPED_FILE);
	assert_sample(&s, CGS_M_MEMORY_SWAP, 4096000);
	assert_sample(&s, CGS_M_CPU_USAGE, 40.759644);
	cgs_samples_free(&s);

	/* More garbage: each unreadable value is one error and no series. */
	copy_fixture("garbled/cpu.stat-overflow", t->root, "cpu.stat");
	copy_fixture("garbled/cpu.max-no-period", t->root, "cpu.max");
	copy_fixture("garbled/u64-junk", t->root, "memory.current");
	copy_fixture("garbled/io.stat-bad-value", t->root, "io.stat");
	copy_fixture("garbled/pressure-no-total", t->root, "io.pressure");
	copy_fixture("garbled/binary", t->root, "pids.current");   /* NUL bytes */
	assert_int_equal(collect(&f.c, &s), 7);
	assert_no_sample(&s, CGS_M_CPU_USAGE);
	assert_no_sample(&s, CGS_M_SPEC_CPU_PERIOD);
	assert_no_sample(&s, CGS_M_MEMORY_USAGE);
	assert_no_sample(&s, CGS_M_FS_READS_BYTES);
	assert_no_sample(&s, CGS_M_PRESSURE_IO_WAITING);
	assert_sample(&s, CGS_M_PRESSURE_CPU_WAITING, 4.518631);
	assert_sample(&s, CGS_M_THREADS, 83);   /* counted instead of pids.current */
	assert_sample(&s, CGS_M_SPEC_MEMORY_LIMIT, 536870912);
	cgs_samples_free(&s);
}

static void test_collect_too_big(void **state)
{
	struct tree *t = *state;
	struct fake f;
	struct cgs_samples s;
	char *big = malloc(70 * 1024 + 1);
	size_t n = 0;

	assert_non_null(big);
	while (n + 16 < 70 * 1024)
		n += (size_t)sprintf(big + n, "pad_%06zu 1\n", n);
	v2_copy(t->root);
	write_file(t->root, "memory.stat", big);
	free(big);
	fake_init(&f, t->root);
	assert_int_equal(collect(&f.c, &s), 1);
	assert_no_sample(&s, CGS_M_MEMORY_RSS);
	assert_sample(&s, CGS_M_MEMORY_USAGE, 171966464);
	cgs_samples_free(&s);
}

static void test_collect_big_procs(void **state)
{
	struct tree *t = *state;
	struct fake f;
	struct cgs_samples s;
	char *procs = malloc(200000);
	size_t n = 0;

	/* cgroup.procs may pass the 64 KiB buffer: it is counted in chunks. */
	assert_non_null(procs);
	for (int pid = 100000; pid < 125000; pid++)
		n += (size_t)sprintf(procs + n, "%d\n", pid);
	write_file(t->root, "cgroup.procs", procs);
	free(procs);
	fake_init(&f, t->root);
	assert_int_equal(collect(&f.c, &s), 0);
	assert_sample(&s, CGS_M_PROCESSES, 25000);
	cgs_samples_free(&s);
}

static void test_collect_too_deep(void **state)
{
	struct tree *t = *state;
	struct fake f;
	struct cgs_samples s;
	char rel[256] = "";

	copy_fixture("v2/cgroup.procs", t->root, "cgroup.procs");
	copy_fixture("v2/memory.current", t->root, "memory.current");
	for (int d = 0; d < 10; d++) {
		char file[300];

		strcat(rel, d ? "/d" : "d");
		make_dir(t->root, rel);
		snprintf(file, sizeof(file), "%s/cgroup.procs", rel);
		write_file(t->root, file, "1\n");
	}
	fake_init(&f, t->root);
	assert_int_equal(collect(&f.c, &s), 1);
	assert_no_sample(&s, CGS_M_PROCESSES);
	assert_sample(&s, CGS_M_MEMORY_USAGE, 171966464);
	cgs_samples_free(&s);
}

static void test_collect_gone(void **state)
{
	struct tree *t = *state;
	struct fake f;
	struct cgs_samples s;
	char dir[4096];

	/* The directory is gone before the pass. */
	snprintf(dir, sizeof(dir), "%s/removed", t->root);
	fake_init(&f, dir);
	fake_v1_fixture(&f);
	assert_int_equal(collect(&f.c, &s), 0);
	assert_int_equal(s.n, 0);
	cgs_samples_free(&s);

	/* Gone mid-read: files vanished, cgroup.procs with them. Nothing is emitted. */
	v2_copy(t->root);
	remove_file(t->root, "cgroup.procs");
	fake_init(&f, t->root);
	assert_int_equal(collect(&f.c, &s), 0);
	assert_int_equal(s.n, 0);
	cgs_samples_free(&s);
}

static void test_collect_limit(void **state)
{
	struct fake f;
	struct cgs_samples s;
	void *st;

	(void)state;
	/* Past the list's limit samples are dropped and counted there, not as read errors. */
	fake_init(&f, FX "/v2");
	cgs_samples_init(&s, 5);
	assert_int_equal(cgs_collector_cgroupfs.init(NULL, &st, NULL), 0);
	assert_int_equal(cgs_collector_cgroupfs.collect(st, &f.c, &s), 0);
	cgs_collector_cgroupfs.destroy(st);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.dropped, 22 - 5);
	cgs_samples_free(&s);
}

static void test_collector_ops(void **state)
{
	struct cgs_cgroup_mounts m;
	struct cgs_collector_ctx ctx = { .mounts = &m };
	const char *why = NULL;
	void *st = NULL;

	(void)state;
	assert_string_equal(cgs_collector_cgroupfs.name, "cgroupfs");
	assert_null(cgs_collector_cgroupfs.fd);
	memset(&m, 0, sizeof(m));
	assert_int_equal(cgs_collector_cgroupfs.init(&ctx, &st, &why), -EOPNOTSUPP);
	assert_non_null(why);
	assert_null(st);
	snprintf(m.v2, sizeof(m.v2), "/sys/fs/cgroup/unified");
	assert_int_equal(cgs_collector_cgroupfs.init(&ctx, &st, &why), 0);
	assert_non_null(st);
	cgs_collector_cgroupfs.destroy(st);
	cgs_collector_cgroupfs.destroy(NULL);
}

#define TREE_TEST(fn) cmocka_unit_test_setup_teardown(fn, tree_setup, tree_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_u64_fixtures),
		cmocka_unit_test(test_cpu_stat_v2),
		cmocka_unit_test(test_cpu_stat_v2_bad),
		cmocka_unit_test(test_cpu_max_v2),
		cmocka_unit_test(test_memory_stat_v2),
		cmocka_unit_test(test_io_stat_v2),
		cmocka_unit_test(test_pressure),
		cmocka_unit_test(test_cpuacct_stat_v1),
		cmocka_unit_test(test_cpu_stat_v1),
		cmocka_unit_test(test_memory_stat_v1),
		cmocka_unit_test(test_blkio_v1),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_collect_v2),
		TREE_TEST(test_collect_v2_cfs_unlimited),
		TREE_TEST(test_collect_hybrid),
		cmocka_unit_test(test_collect_v1_only),
		TREE_TEST(test_collect_v1_variants),
		TREE_TEST(test_collect_missing_files),
		TREE_TEST(test_collect_garbled),
		TREE_TEST(test_collect_too_big),
		TREE_TEST(test_collect_big_procs),
		TREE_TEST(test_collect_too_deep),
		TREE_TEST(test_collect_gone),
		cmocka_unit_test(test_collect_limit),
		cmocka_unit_test(test_collector_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
