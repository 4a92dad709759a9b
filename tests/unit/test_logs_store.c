/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the log pipeline's on-disk state (collectors/logs_store.c):
 * position lines round-trip (paths with spaces, newlines, backslashes),
 * garbage lines are refused, the atomic replace leaves no temporary file,
 * the store lock is exclusive, spool files round-trip and every torn or
 * flipped byte is detected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "collectors/logs_store.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cgs-logs-store.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_position_lines(void **state)
{
	struct cgs_buf b;
	struct cgs_logpos_entry e = {
		.id = { .dev = 65024, .ino = 123456789012ull, .fp_len = 256, .fp = 0xfedcba9876543210ull },
		.offset = 1ull << 40, .size = (1ull << 40) + 5, .path = "/var/log/a b\\c\nd.log",
	}, back;
	char pathbuf[256];
	(void)state;

	cgs_buf_init(&b);
	cgs_logpos_format(&b, &e);
	assert_string_equal(b.p ? (b.p[b.len] = 0, b.p) : "",
			    "65024 123456789012 256 fedcba9876543210 1099511627776 1099511627781 /var/log/a b\\\\c\\nd.log\n");
	assert_int_equal(cgs_logpos_parse_line(b.p, b.len - 1, &back, pathbuf), 0);
	assert_true(back.id.dev == e.id.dev && back.id.ino == e.id.ino && back.id.fp_len == e.id.fp_len &&
		    back.id.fp == e.id.fp);
	assert_int_equal(back.offset, e.offset);
	assert_int_equal(back.size, e.size);
	assert_string_equal(back.path, e.path);
	const char *bad[] = { "", "1 2 3", "1 2 3 4 5 6", "1 2 300 ff 5 6 /x", "a 2 3 ff 5 6 /x", "1 2 3 FF 5 6 /x",
			      "1 2 3 ff 5 6 /x\\q", "99999999999999999999999 2 3 ff 5 6 /x" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cgs_logpos_parse_line(bad[i], strlen(bad[i]), &back, pathbuf) == 0)
			fail_msg("'%s' parsed", bad[i]);
	cgs_buf_free(&b);
	/* FNV-1a 64 reference values, and continuation. */
	assert_true(cgs_fnv1a(CGS_FNV_OFFSET, "", 0) == 0xcbf29ce484222325ull);
	assert_true(cgs_fnv1a(CGS_FNV_OFFSET, "a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(cgs_fnv1a(cgs_fnv1a(CGS_FNV_OFFSET, "foo", 3), "bar", 3) ==
		    cgs_fnv1a(CGS_FNV_OFFSET, "foobar", 6));
}

static void test_atomic_and_lock(void **state)
{
	char path[128], tmp[140];
	struct cgs_buf b;
	struct stat st;
	int l1, l2;
	(void)state;

	snprintf(path, sizeof(path), "%s/pos", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(cgs_write_atomic(path, "one\n", 4), 0);
	assert_int_equal(cgs_write_atomic(path, "two lines\nhere\n", 15), 0);
	assert_int_equal(stat(tmp, &st), -1);
	cgs_buf_init(&b);
	assert_int_equal(cgs_read_file(path, 1024, &b), 0);
	assert_string_equal(b.p, "two lines\nhere\n");
	b.len = 0;
	assert_int_equal(cgs_read_file(path, 4, &b), -EFBIG);
	cgs_buf_free(&b);
	assert_int_equal(cgs_read_file("/nonexistent/x", 4, &b), -ENOENT);
	cgs_buf_free(&b);
	l1 = cgs_store_lock(path);
	assert_true(l1 >= 0);
	l2 = cgs_store_lock(path);
	assert_int_equal(l2, -EBUSY);
	close(l1);
	l2 = cgs_store_lock(path);
	assert_true(l2 >= 0);
	close(l2);
	/* Replacing a file in a directory that is gone fails cleanly. */
	assert_true(cgs_write_atomic("/nonexistent-dir/pos", "x", 1) < 0);
}

static void test_spool_roundtrip(void **state)
{
	struct cgs_spool_hdr h = { .seq = 0x1234, .records = 3, .gzip = true, .nranges = 2, .payload_len = 10 };
	struct cgs_spool_range r[2] = {
		{ .id = { 1, 2, 256, 0xabc }, .start = 0, .end = 100 },
		{ .id = { 1, 3, 17, 0xdef }, .start = 500, .end = 600 },
	}, *back = NULL;
	struct cgs_spool_hdr hb;
	struct cgs_buf pl;
	char path[256];
	long long n;
	(void)state;

	snprintf(h.tag, sizeof(h.tag), "kube.ns.pod.c");
	n = cgs_spool_write(tmpdir, &h, r, "0123456789");
	assert_true(n > 10);
	cgs_spool_name(tmpdir, 0x1234, path, sizeof(path));
	assert_non_null(strstr(path, "/0000000000001234.chunk"));
	cgs_buf_init(&pl);
	assert_int_equal(cgs_spool_read(path, &hb, &back, &pl), 0);
	assert_int_equal(hb.seq, 0x1234);
	assert_int_equal(hb.records, 3);
	assert_true(hb.gzip);
	assert_string_equal(hb.tag, "kube.ns.pod.c");
	assert_int_equal(hb.nranges, 2);
	for (int i = 0; i < 2; i++)
		assert_true(back[i].id.dev == r[i].id.dev && back[i].id.ino == r[i].id.ino &&
			    back[i].id.fp_len == r[i].id.fp_len && back[i].id.fp == r[i].id.fp &&
			    back[i].start == r[i].start && back[i].end == r[i].end);
	assert_int_equal(pl.len, 10);
	assert_memory_equal(pl.p, "0123456789", 10);
	free(back);
	/* Header only. */
	assert_int_equal(cgs_spool_read(path, &hb, &back, NULL), 0);
	free(back);
	/* Every single flipped byte and every truncation is detected. */
	struct cgs_buf orig;

	cgs_buf_init(&orig);
	assert_int_equal(cgs_read_file(path, 1 << 20, &orig), 0);
	assert_int_equal((long long)orig.len, n);
	for (size_t i = 0; i < orig.len; i++) {
		char *copy = malloc(orig.len);

		memcpy(copy, orig.p, orig.len);
		copy[i] ^= 0x40;
		assert_int_equal(cgs_write_atomic(path, copy, orig.len), 0);
		pl.len = 0;
		if (cgs_spool_read(path, &hb, &back, &pl) == 0)
			fail_msg("flipped byte %zu not detected", i);
		free(back);
		back = NULL;
		assert_int_equal(cgs_write_atomic(path, orig.p, i), 0);
		pl.len = 0;
		if (cgs_spool_read(path, &hb, &back, &pl) == 0)
			fail_msg("truncation at %zu not detected", i);
		free(back);
		back = NULL;
		free(copy);
	}
	/*
	 * A header with a valid CRC claiming a 2 GiB payload the file does not
	 * hold (found by fuzzing: it was allocated first): refused, nothing allocated.
	 */
	h.payload_len = 0;
	h.nranges = 0;
	n = cgs_spool_write(tmpdir, &h, r, "");
	assert_true(n > 0);
	orig.len = 0;
	assert_int_equal(cgs_read_file(path, 1 << 20, &orig), 0);
	size_t hl = (size_t)(orig.len - 12 - 8); /* header bytes before its CRC */
	unsigned char *hdr = (unsigned char *)orig.p + 12, big[8] = { 0, 0, 0, 0x80, 0, 0, 0, 0 };

	memcpy(hdr + hl - 8, big, 8);
	uint32_t crc = (uint32_t)crc32(0, hdr, (uInt)hl);

	for (int i = 0; i < 4; i++)
		hdr[hl + (size_t)i] = (unsigned char)(crc >> (8 * i));
	assert_int_equal(cgs_write_atomic(path, orig.p, orig.len), 0);
	assert_int_equal(cgs_spool_read(path, &hb, &back, NULL), 0); /* the header itself is sound */
	free(back);
	back = NULL;
	assert_int_equal(hb.payload_len, UINT64_C(1) << 31);
	pl.len = 0;
	assert_int_equal(cgs_spool_read(path, &hb, &back, &pl), -EBADMSG);
	assert_true(pl.cap < (1u << 20));
	cgs_buf_free(&orig);
	cgs_buf_free(&pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_position_lines),
		cmocka_unit_test(test_atomic_and_lock),
		cmocka_unit_test(test_spool_roundtrip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
