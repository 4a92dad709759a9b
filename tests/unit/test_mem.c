/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the memory-event collector's userspace half: decoding the
 * exact OOM wire record (bpf/mem.h) the kernel side writes, the bounded
 * log of recent kills and its API JSON, memory.stat's major-fault count
 * (on the real-format fixtures, on garbled and ambiguous text), and the
 * RSS fallback's walk over a fake cgroup subtree and a fake /proc.
 * The kernel side is exercised by tests/integration/mem_events.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/types.h>

#include "collectors/mem.h"

#ifndef CGS_FIXTURES_DIR
#error "CGS_FIXTURES_DIR must name the tests/fixtures directory"
#endif

static struct cgs_mem_oom_event sample_event(void)
{
	struct cgs_mem_oom_event e;

	memset(&e, 0, sizeof(e));
	e.ktime_ns = 10000000000ull;
	e.cgroup_id = 4242;
	e.total_vm_pages = 100;
	e.anon_rss_pages = 16384; /* 64 MiB */
	e.file_rss_pages = 256;
	e.shmem_rss_pages = 2;
	e.pgtables_bytes = 262144;
	e.memcg_usage_pages = 20000;
	e.pid = 1234;
	e.tid = 1235;
	e.uid = 1000;
	e.flags = CGS_MEM_OOM_TASK | CGS_MEM_OOM_MM | CGS_MEM_OOM_MEMCG;
	e.slot = 3;
	e.oom_score_adj = -999;
	memcpy(e.comm, "stress\x01ng", 9);
	return e;
}

static void test_decode(void **st)
{
	struct cgs_mem_oom_event e = sample_event();
	struct cgs_mem_oom o;

	(void)st;
	assert_int_equal(cgs_mem_oom_decode(&e, sizeof(e), 4096, 1000.0, 12000000000ull, &o), 0);
	assert_true(fabs(o.time - 998.0) < 1e-9); /* 2 s before now */
	assert_int_equal(o.cgroup_id, 4242);
	assert_int_equal(o.pid, 1234);
	assert_int_equal(o.tid, 1235);
	assert_int_equal(o.uid, 1000);
	assert_int_equal(o.oom_score_adj, -999);
	assert_int_equal(o.anon_rss_bytes, 64ull << 20);
	assert_int_equal(o.file_rss_bytes, 1ull << 20);
	assert_int_equal(o.shmem_rss_bytes, 8192);
	assert_int_equal(o.total_vm_bytes, 409600);
	assert_int_equal(o.pgtables_bytes, 262144); /* already bytes on the wire */
	assert_int_equal(o.memcg_usage_bytes, 20000ull * 4096);
	assert_string_equal(o.comm, "stress?ng"); /* control characters never reach the API */
	assert_null(o.id);
	assert_null(o.name);

	/* A 64 KiB page size scales the page counts only. */
	assert_int_equal(cgs_mem_oom_decode(&e, sizeof(e), 65536, 1000.0, 12000000000ull, &o), 0);
	assert_int_equal(o.anon_rss_bytes, 16384ull * 65536);
	assert_int_equal(o.pgtables_bytes, 262144);

	/* Fields the flags do not vouch for stay zero. */
	e.flags = CGS_MEM_OOM_TASK;
	assert_int_equal(cgs_mem_oom_decode(&e, sizeof(e), 4096, 1000.0, 12000000000ull, &o), 0);
	assert_int_equal(o.anon_rss_bytes, 0);
	assert_int_equal(o.memcg_usage_bytes, 0);

	/* A full 16-byte comm without a NUL. */
	memset(e.comm, 'x', sizeof(e.comm));
	assert_int_equal(cgs_mem_oom_decode(&e, sizeof(e), 4096, 1000.0, 12000000000ull, &o), 0);
	assert_int_equal(strlen(o.comm), CGS_MEM_COMM_LEN);

	/* Short records are refused; longer ones (a newer kernel side) are read. */
	assert_int_equal(cgs_mem_oom_decode(&e, sizeof(e) - 1, 4096, 0, 0, &o), -EBADMSG);
	assert_int_equal(cgs_mem_oom_decode(NULL, 0, 4096, 0, 0, &o), -EBADMSG);
	{
		char big[sizeof(e) + 8] = { 0 };

		memcpy(big, &e, sizeof(e));
		assert_int_equal(cgs_mem_oom_decode(big, sizeof(big), 4096, 0, 0, &o), 0);
		assert_int_equal(o.pid, 1234);
	}
}

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, k, &v);
	return v;
}

static void test_log_json(void **st)
{
	struct cgs_mem_oom_log *l = calloc(1, sizeof(*l));
	struct cgs_mem_oom_event e = sample_event();
	json_object *arr, *j;

	(void)st;
	for (uint32_t i = 0; i < CGS_MEM_OOM_KEEP + 6; i++) {
		struct cgs_mem_oom o;

		e.pid = i;
		e.flags = i % 2 ? CGS_MEM_OOM_TASK | CGS_MEM_OOM_MM : CGS_MEM_OOM_PID_ONLY;
		assert_int_equal(cgs_mem_oom_decode(&e, sizeof(e), 4096, 2000.0, 10000000000ull, &o), 0);
		if (i % 3 == 0) {
			o.id = strdup("/docker/abc");
			o.container_id = strdup("abc");
			o.name = strdup("web");
		}
		cgs_mem_oom_log_push(l, &o);
		assert_null(o.id); /* ownership moved */
	}
	assert_int_equal(l->n, CGS_MEM_OOM_KEEP);
	arr = json_object_new_array();
	assert_int_equal(cgs_mem_oom_log_json(l, arr), 0);
	assert_int_equal(json_object_array_length(arr), CGS_MEM_OOM_KEEP);

	/* Oldest first: pids 6 .. 69. */
	j = json_object_array_get_idx(arr, 0);
	assert_int_equal(json_object_get_int(get(j, "pid")), 6);
	assert_string_equal(json_object_get_string(get(j, "type")), "oom_kill");
	assert_true(fabs(json_object_get_double(get(j, "time")) - 2000.0) < 1e-9);
	assert_int_equal(json_object_get_uint64(get(j, "cgroup_id")), 4242);
	assert_string_equal(json_object_get_string(get(j, "id")), "/docker/abc");
	assert_string_equal(json_object_get_string(get(j, "name")), "web");
	assert_string_equal(json_object_get_string(get(j, "pod")), "");
	/* pid only: no task or memory fields. */
	assert_null(get(j, "tid"));
	assert_null(get(j, "rss_bytes"));

	j = json_object_array_get_idx(arr, 1); /* pid 7: task + mm */
	assert_int_equal(json_object_get_int(get(j, "pid")), 7);
	assert_true(json_object_is_type(get(j, "id"), json_type_null) || !get(j, "id"));
	assert_int_equal(json_object_get_int(get(j, "tid")), 1235);
	assert_int_equal(json_object_get_int(get(j, "oom_score_adj")), -999);
	assert_string_equal(json_object_get_string(get(j, "comm")), "stress?ng");
	assert_int_equal(json_object_get_uint64(get(j, "rss_bytes")), (16384ull + 256 + 2) * 4096);
	assert_int_equal(json_object_get_uint64(get(j, "anon_rss_bytes")), 16384ull * 4096);
	assert_null(get(j, "memcg_usage_bytes"));
	j = json_object_array_get_idx(arr, CGS_MEM_OOM_KEEP - 1);
	assert_int_equal(json_object_get_int(get(j, "pid")), CGS_MEM_OOM_KEEP + 5);
	json_object_put(arr);

	cgs_mem_oom_log_clear(l);
	assert_int_equal(l->n, 0);
	arr = json_object_new_array();
	assert_int_equal(cgs_mem_oom_log_json(l, arr), 0);
	assert_int_equal(json_object_array_length(arr), 0);
	json_object_put(arr);
	free(l);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s = calloc(1, 1 << 16);

	assert_non_null(f);
	assert_true(fread(s, 1, (1 << 16) - 1, f) > 0);
	fclose(f);
	return s;
}

static void test_pgmajfault(void **st)
{
	char *v2 = slurp(CGS_FIXTURES_DIR "/cgroupfs/v2/memory.stat");
	char *v1 = slurp(CGS_FIXTURES_DIR "/cgroupfs/v1/memory/memory.stat");
	uint64_t n = 0;

	(void)st;
	assert_int_equal(cgs_mem_parse_pgmajfault(v2, false, &n), 1);
	assert_int_equal(n, 840);
	/* v1: the hierarchical total (nested cgroups count for their container). */
	assert_int_equal(cgs_mem_parse_pgmajfault(v1, true, &n), 1);
	assert_int_equal(n, 1019);
	assert_int_equal(cgs_mem_parse_pgmajfault(v1, false, &n), 1);
	assert_int_equal(n, 0);
	free(v2);
	free(v1);

	n = 77;
	assert_int_equal(cgs_mem_parse_pgmajfault("", false, &n), 0);
	assert_int_equal(cgs_mem_parse_pgmajfault("pgfault 5\npgmajfault_x 3\nxpgmajfault 4\n", false, &n), 0);
	assert_int_equal(n, 77); /* untouched when absent */
	assert_int_equal(cgs_mem_parse_pgmajfault("pgfault 5\npgmajfault 12", false, &n), 1); /* no final newline */
	assert_int_equal(n, 12);
	assert_int_equal(cgs_mem_parse_pgmajfault("total_pgmajfault 9\npgmajfault 3\n", false, &n), 1);
	assert_int_equal(n, 3); /* v2 never reads the v1 total */
	assert_int_equal(cgs_mem_parse_pgmajfault("pgmajfault 3\n", true, &n), 1);
	assert_int_equal(n, 3); /* v1 without the total */
	assert_int_equal(cgs_mem_parse_pgmajfault("pgmajfault x\n", false, &n), -EBADMSG);
	assert_int_equal(cgs_mem_parse_pgmajfault("pgmajfault \n", false, &n), -EBADMSG);
	assert_int_equal(cgs_mem_parse_pgmajfault("pgmajfault 12 3\n", false, &n), -EBADMSG);
	assert_int_equal(cgs_mem_parse_pgmajfault("pgmajfault 99999999999999999999999\n", false, &n), -EBADMSG);
	assert_int_equal(cgs_mem_parse_pgmajfault("pgmajfault 18446744073709551615\n", false, &n), 1);
	assert_true(n == UINT64_MAX);
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void test_rss_sum(void **st)
{
	char tmp[] = "/tmp/cgs-test-mem.XXXXXX", cg[256], proc[256], d[4096];
	uint64_t bytes = 0;

	(void)st;
	assert_non_null(mkdtemp(tmp));
	snprintf(cg, sizeof(cg), "%s/cg", tmp);
	snprintf(proc, sizeof(proc), "%s/proc", tmp);
	assert_int_equal(mkdir(cg, 0755), 0);
	assert_int_equal(mkdir(proc, 0755), 0);
	/* The container, a nested cgroup, and an empty deeper one. */
	put_file(cg, "cgroup.procs", "100\n200\nabc\n400\n");
	snprintf(d, sizeof(d), "%s/sub", cg);
	assert_int_equal(mkdir(d, 0755), 0);
	put_file(d, "cgroup.procs", "300\n");
	snprintf(d, sizeof(d), "%s/sub/deeper", cg);
	assert_int_equal(mkdir(d, 0755), 0);
	put_file(d, "cgroup.procs", "");
	/* Processes: 400 has exited (no /proc entry), 500 is not in the container. */
	static const struct {
		const char *pid, *statm;
	} procs[] = {
		{ "100", "2000 5 3 1 0 100 0\n" },
		{ "200", "9000 7 2 1 0 100 0\n" },
		{ "300", "1 3 1 1 0 1 0\n" },
		{ "500", "1 1000000 1 1 0 1 0\n" },
	};
	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		snprintf(d, sizeof(d), "%s/%s", proc, procs[i].pid);
		assert_int_equal(mkdir(d, 0755), 0);
		put_file(d, "statm", procs[i].statm);
	}
	assert_int_equal(cgs_mem_rss_sum(cg, proc, 4096, &bytes), 3);
	assert_int_equal(bytes, (5 + 7 + 3) * 4096ull);
	/* The nested cgroup alone. */
	snprintf(d, sizeof(d), "%s/sub", cg);
	assert_int_equal(cgs_mem_rss_sum(d, proc, 4096, &bytes), 1);
	assert_int_equal(bytes, 3 * 4096ull);
	/* A garbled statm is skipped. */
	put_file(proc, "300/statm", "garbage");
	assert_int_equal(cgs_mem_rss_sum(cg, proc, 4096, &bytes), 2);
	assert_int_equal(bytes, 12 * 4096ull);
	/* cgroup.events: an unpopulated cgroup is not walked; a populated one is. */
	put_file(cg, "cgroup.events", "populated 0\nfrozen 0\n");
	assert_int_equal(cgs_mem_rss_sum(cg, proc, 4096, &bytes), 0);
	assert_int_equal(bytes, 0);
	put_file(cg, "cgroup.events", "populated 1\nfrozen 0\n");
	assert_int_equal(cgs_mem_rss_sum(cg, proc, 4096, &bytes), 2);
	/* A last line without its newline. */
	put_file(cg, "cgroup.procs", "100\n200");
	snprintf(d, sizeof(d), "%s/sub/cgroup.procs", cg);
	unlink(d);
	assert_int_equal(cgs_mem_rss_sum(cg, proc, 4096, &bytes), 2);
	assert_int_equal(bytes, 12 * 4096ull);
	/* A container whose cgroup is gone. */
	snprintf(d, sizeof(d), "%s/nope", cg);
	assert_int_equal(cgs_mem_rss_sum(d, proc, 4096, &bytes), -ENOENT);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* This very process, through the real /proc: its own cgroup subtree holds at least it. */
static void test_rss_sum_self(void **st)
{
	char tmp[] = "/tmp/cgs-test-mem.XXXXXX", pid[32];
	uint64_t bytes = 0;
	long rss_pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	(void)st;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%*s %ld", &rss_pages), 1);
	fclose(f);
	assert_non_null(mkdtemp(tmp));
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	put_file(tmp, "cgroup.procs", pid);
	assert_int_equal(cgs_mem_rss_sum(tmp, "/proc", sysconf(_SC_PAGESIZE), &bytes), 1);
	assert_true(bytes > 0);
	assert_true(bytes >= (uint64_t)rss_pages * (uint64_t)sysconf(_SC_PAGESIZE) / 2);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_log_json),
		cmocka_unit_test(test_pgmajfault),
		cmocka_unit_test(test_rss_sum),
		cmocka_unit_test(test_rss_sum_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
