/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of structured agent events on their way to Fluentd: an OOM
 * kill (the exact wire record of bpf/mem.h, decoded) as the events file's
 * JSON line (collectors/mem.c) and that line as a Forward entry and tag
 * (collectors/logs_event.c), decoded with msgpack-c's unpacker and checked
 * field by field; malformed lines (every prefix of a valid one, other JSON,
 * garbage) refused without touching the output; and the events file
 * itself (agent/events.c): whole lines only, rotation, ownership, a file
 * moved away, a torn last line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/types.h>

#include "agent/buf.h"
#include "agent/events.h"
#include "collectors/logs.h"
#include "collectors/mem.h"

/* ---- msgpack helpers -------------------------------------------------------- */

static const msgpack_object *mp_get(const msgpack_object *map, const char *k)
{
	assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(k) &&
		    !memcmp(kv->key.via.str.ptr, k, kv->key.via.str.size))
			return &kv->val;
	}
	return NULL;
}

static void assert_str(const msgpack_object *map, const char *k, const char *want)
{
	const msgpack_object *v = mp_get(map, k);

	if (!v)
		fail_msg("no key %s", k);
	assert_int_equal(v->type, MSGPACK_OBJECT_STR);
	if (v->via.str.size != strlen(want) || memcmp(v->via.str.ptr, want, v->via.str.size))
		fail_msg("%s: %.*s, want %s", k, (int)v->via.str.size, v->via.str.ptr, want);
}

static void assert_uint(const msgpack_object *map, const char *k, uint64_t want)
{
	const msgpack_object *v = mp_get(map, k);

	if (!v)
		fail_msg("no key %s", k);
	assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(v->via.u64, want);
}

/* Unpacks exactly one entry [EventTime, map] from buf: its seconds and nanoseconds and the map. */
static void unpack_entry(const struct cgs_buf *b, msgpack_unpacked *u, uint32_t *sec, uint32_t *nsec,
			 const msgpack_object **map)
{
	size_t off = 0;
	const msgpack_object *a;
	const uint8_t *t;

	msgpack_unpacked_init(u);
	assert_int_equal(msgpack_unpack_next(u, b->p, b->len, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, b->len);
	a = &u->data;
	assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(a->via.array.size, 2);
	assert_int_equal(a->via.array.ptr[0].type, MSGPACK_OBJECT_EXT);
	assert_int_equal(a->via.array.ptr[0].via.ext.type, 0);
	assert_int_equal(a->via.array.ptr[0].via.ext.size, 8);
	t = (const uint8_t *)a->via.array.ptr[0].via.ext.ptr;
	*sec = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
	*nsec = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
	*map = &a->via.array.ptr[1];
	assert_int_equal((*map)->type, MSGPACK_OBJECT_MAP);
}

/* ---- an OOM kill, end to end ------------------------------------------------------ */

static void oom_sample(struct cgs_mem_oom *o, bool k8s)
{
	struct cgs_mem_oom_event e;

	memset(&e, 0, sizeof(e));
	e.ktime_ns = 10000000000ull;
	e.cgroup_id = 4242;
	e.total_vm_pages = 100;
	e.anon_rss_pages = 16384;
	e.file_rss_pages = 256;
	e.shmem_rss_pages = 2;
	e.pgtables_bytes = 262144;
	e.memcg_usage_pages = 20000;
	e.pid = 1234;
	e.tid = 1235;
	e.uid = 1000;
	e.flags = CGS_MEM_OOM_TASK | CGS_MEM_OOM_MM | CGS_MEM_OOM_MEMCG;
	e.oom_score_adj = -999;
	memcpy(e.comm, "stress\x01ng", 9);
	/* The kill 2 s before "now" (1,700,000,000.25 s): 1,699,999,998.25. */
	assert_int_equal(cgs_mem_oom_decode(&e, sizeof(e), 4096, 1700000000.25, 12000000000ull, o), 0);
	o->id = strdup("/kubepods/burstable/pod1/abc");
	o->container_id = strdup("abc");
	o->name = strdup(k8s ? "k8s_web_web-0" : "web-1");
	if (k8s) {
		o->container = strdup("web");
		o->pod = strdup("web-0");
		o->namespace = strdup("shop");
		o->pod_uid = strdup("72e2be26-aa72-4be9-a41c-bea8970867ef");
	}
	o->image = strdup("docker.io/library/nginx:1.25");
}

static void test_oom_record(void **st)
{
	struct cgs_mem_oom o;
	struct cgs_buf b;
	msgpack_unpacked u;
	const msgpack_object *m, *k;
	uint32_t sec, nsec;
	char tag[256], *line;
	size_t len = 0;

	(void)st;
	oom_sample(&o, true);
	line = cgs_mem_oom_line(&o, &len);
	assert_non_null(line);
	assert_int_equal(strlen(line), len);
	assert_null(memchr(line, '\n', len)); /* one line */
	assert_null(strstr(line, "\\/"));     /* paths as they are */
	cgs_buf_init(&b);
	assert_int_equal(cgs_logs_event_entry(line, len, "cgsight.events", "node-1", 5, &b, tag, sizeof(tag)), 0);
	assert_string_equal(tag, "cgsight.events");
	unpack_entry(&b, &u, &sec, &nsec, &m);
	/* EventTime is the kill's time, not the reading's (5 ns after the epoch). */
	assert_int_equal(sec, 1699999998);
	assert_true(nsec > 249999000 && nsec < 250001000);
	assert_str(m, "type", "oom_kill");
	assert_int_equal(mp_get(m, "time")->type, MSGPACK_OBJECT_FLOAT64);
	assert_true(mp_get(m, "time")->via.f64 == o.time);
	assert_uint(m, "cgroup_id", 4242);
	assert_str(m, "id", "/kubepods/burstable/pod1/abc");
	assert_str(m, "container_id", "abc");
	assert_str(m, "container", "web");
	assert_str(m, "pod", "web-0");
	assert_str(m, "namespace", "shop");
	assert_str(m, "image", "docker.io/library/nginx:1.25");
	assert_uint(m, "pid", 1234);
	assert_uint(m, "tid", 1235);
	assert_uint(m, "uid", 1000);
	assert_int_equal(mp_get(m, "oom_score_adj")->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	assert_int_equal(mp_get(m, "oom_score_adj")->via.i64, -999);
	assert_str(m, "comm", "stress?ng");
	assert_uint(m, "rss_bytes", (16384ull + 256 + 2) * 4096);
	assert_uint(m, "anon_rss_bytes", 16384ull * 4096);
	assert_uint(m, "pgtables_bytes", 262144);
	assert_uint(m, "memcg_usage_bytes", 20000ull * 4096);
	/* Every field of the event, and the map log records carry, built from the event's container. */
	assert_int_equal(m->via.map.size, 23 + 1);
	k = mp_get(m, "kubernetes");
	assert_non_null(k);
	assert_int_equal(k->via.map.size, 7);
	assert_str(k, "namespace_name", "shop");
	assert_str(k, "pod_name", "web-0");
	assert_str(k, "pod_id", "72e2be26-aa72-4be9-a41c-bea8970867ef");
	assert_str(k, "container_name", "web");
	assert_str(k, "docker_id", "abc");
	assert_str(k, "container_image", "docker.io/library/nginx:1.25");
	assert_str(k, "host", "node-1");
	msgpack_unpacked_destroy(&u);

	/* The tag template, as fluentd_tag's; {stream} is "event". */
	b.len = 0;
	assert_int_equal(cgs_logs_event_entry(line, len, "ev.{namespace}.{pod}.{container}.{stream}", "n", 0, &b,
					      tag, sizeof(tag)), 0);
	assert_string_equal(tag, "ev.shop.web-0.web.event");
	free(line);
	cgs_mem_oom_clear(&o);

	/* Outside Kubernetes: the container is known by its runtime name; missing names become "_". */
	oom_sample(&o, false);
	line = cgs_mem_oom_line(&o, &len);
	b.len = 0;
	assert_int_equal(cgs_logs_event_entry(line, len, "ev.{namespace}.{container}", "n", 0, &b, tag, sizeof(tag)), 0);
	assert_string_equal(tag, "ev._.web-1");
	unpack_entry(&b, &u, &sec, &nsec, &m);
	assert_str(m, "pod", "");
	k = mp_get(m, "kubernetes");
	assert_str(k, "container_name", "web-1");
	assert_str(k, "namespace_name", "");
	msgpack_unpacked_destroy(&u);
	free(line);
	cgs_mem_oom_clear(&o);
	cgs_buf_free(&b);
}

/* Values keep their JSON types; an event's own "kubernetes" map is not doubled. */
static void test_event_values(void **st)
{
	const char *line = "{\"type\":\"x\",\"big\":18446744073709551615,\"neg\":-5,\"f\":0.5,\"t\":true,"
			   "\"n\":null,\"a\":[1,\"s\",{\"k\":[]}],\"u\":\"\\u00e9\\n\",\"kubernetes\":{\"pod_name\":\"p\"}}  ";
	struct cgs_buf b;
	msgpack_unpacked u;
	const msgpack_object *m, *a;
	uint32_t sec, nsec;
	char tag[64];

	(void)st;
	cgs_buf_init(&b);
	assert_int_equal(cgs_logs_event_entry(line, strlen(line), "t", "h", 3000000007ll, &b, tag, sizeof(tag)), 0);
	unpack_entry(&b, &u, &sec, &nsec, &m);
	/* No "time": the time it was read. */
	assert_int_equal(sec, 3);
	assert_int_equal(nsec, 7);
	assert_int_equal(m->via.map.size, 9);
	assert_uint(m, "big", UINT64_MAX);
	assert_int_equal(mp_get(m, "neg")->via.i64, -5);
	assert_true(mp_get(m, "f")->via.f64 == 0.5);
	assert_int_equal(mp_get(m, "t")->type, MSGPACK_OBJECT_BOOLEAN);
	assert_int_equal(mp_get(m, "n")->type, MSGPACK_OBJECT_NIL);
	a = mp_get(m, "a");
	assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(a->via.array.size, 3);
	assert_int_equal(a->via.array.ptr[2].type, MSGPACK_OBJECT_MAP);
	assert_str(m, "u", "\xc3\xa9\n");
	assert_str(mp_get(m, "kubernetes"), "pod_name", "p");
	msgpack_unpacked_destroy(&u);
	cgs_buf_free(&b);
}

/* Not an event: refused, nothing written. Every prefix of a valid line too. */
static void test_event_refused(void **st)
{
	static const char *bad[] = {
		"", "   ", "oops", "[1,2]", "\"s\"", "42", "null", "{\"a\":1} x", "{\"a\":1}{\"b\":2}",
		"{\"a\":1,}", "{\"a\":\"\xff\"}", "{\"a\" 1}", "{\"a\":1", "}",
	};
	const char *good = "{\"type\":\"oom_kill\",\"time\":1700000000.5,\"pid\":7,\"comm\":\"a b\",\"x\":[1,{\"y\":null}]}";
	struct cgs_buf b;
	char tag[64];

	(void)st;
	cgs_buf_init(&b);
	cgs_buf_puts(&b, "keep");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cgs_logs_event_entry(bad[i], strlen(bad[i]), "t", "h", 0, &b, tag, sizeof(tag)), -EBADMSG);
		assert_int_equal(b.len, 4);
	}
	/* A NUL inside: not one line of JSON. */
	assert_int_equal(cgs_logs_event_entry("{\"a\":1}\0", 8, "t", "h", 0, &b, tag, sizeof(tag)), -EBADMSG);
	for (size_t n = 0; n < strlen(good); n++) {
		char *p = malloc(n ? n : 1); /* exactly n bytes: a read past them is caught by ASan */

		memcpy(p, good, n);
		assert_int_equal(cgs_logs_event_entry(p, n, "t", "h", 0, &b, tag, sizeof(tag)), -EBADMSG);
		assert_int_equal(b.len, 4);
		free(p);
	}
	assert_int_equal(cgs_logs_event_entry(good, strlen(good), "t", "h", 0, &b, tag, sizeof(tag)), 0);
	assert_true(b.len > 4);
	cgs_buf_free(&b);
}

/* ---- the events file ---------------------------------------------------------------- */

static char tmpdir[64];

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s = calloc(1, 1 << 16);

	if (f) {
		size_t n = fread(s, 1, (1 << 16) - 1, f);

		s[n] = '\0';
		fclose(f);
	}
	return s;
}

static void test_evfile(void **st)
{
	struct cgs_evfile e, e2;
	char path[128], rot[132], lock[128], line[64], *s;
	struct stat sb;

	(void)st;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cgs-evfile.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/sub/events.log", tmpdir);
	snprintf(rot, sizeof(rot), "%s.1", path);
	snprintf(lock, sizeof(lock), "%s/sub/.events.log.lock", tmpdir);

	/* Disabled. */
	assert_int_equal(cgs_evfile_init(&e, "", 4096), 0);
	assert_int_equal(cgs_evfile_append(&e, "x", 1), -ENOENT);
	cgs_evfile_close(&e);

	/* Nothing on disk before the first event; then the directory, the file, the hidden lock. */
	assert_int_equal(cgs_evfile_init(&e, path, 100), 0);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(cgs_evfile_append(&e, "{\"n\":1}", 7), 0);
	assert_int_equal(stat(lock, &sb), 0);
	assert_int_equal(cgs_evfile_sync(&e), 0);
	s = slurp(path);
	assert_string_equal(s, "{\"n\":1}\n");
	free(s);

	/* A second owner is refused. */
	assert_int_equal(cgs_evfile_init(&e2, path, 100), 0);
	assert_int_equal(cgs_evfile_append(&e2, "{}", 2), -EBUSY);
	cgs_evfile_close(&e2);

	/* 40-byte lines in 100-byte files, one per batch: a file never passes the bound, the last full one is .1. */
	for (int i = 2; i <= 7; i++) {
		snprintf(line, sizeof(line), "{\"n\":%d,\"pad\":\"%023d\"}", i, 0);
		assert_int_equal(strlen(line), 39);
		assert_int_equal(cgs_evfile_append(&e, line, strlen(line)), 0);
		assert_int_equal(cgs_evfile_sync(&e), 0);
		assert_int_equal(stat(path, &sb), 0);
		assert_true(sb.st_size <= 100);
	}
	assert_int_equal(e.rotations, 2);
	s = slurp(rot);
	assert_non_null(strstr(s, "{\"n\":4,"));
	assert_non_null(strstr(s, "{\"n\":5,"));
	free(s);
	s = slurp(path);
	assert_int_equal(strncmp(s, "{\"n\":6,", 7), 0);
	assert_non_null(strstr(s, "\n{\"n\":7,"));
	free(s);
	/* Within one batch (no sync) at most one rotation: a tailer between batches meets every file. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(cgs_evfile_append(&e, line, strlen(line)), 0);
	assert_int_equal(e.rotations, 3);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 5 * 40);
	assert_int_equal(cgs_evfile_sync(&e), 0);

	/* Moved away behind our back: a new file at the path. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cgs_evfile_append(&e, "{\"n\":8}", 7), 0);
	s = slurp(path);
	assert_string_equal(s, "{\"n\":8}\n");
	free(s);
	cgs_evfile_close(&e);

	/* A torn last line (a power cut mid-write) is ended before ours. */
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"tor", 5), 5);
	close(fd);
	assert_int_equal(cgs_evfile_init(&e, path, 1 << 20), 0);
	assert_int_equal(cgs_evfile_append(&e, "{\"n\":9}", 7), 0);
	cgs_evfile_close(&e);
	s = slurp(path);
	assert_string_equal(s, "{\"n\":8}\n{\"tor\n{\"n\":9}\n");
	free(s);

	/* After close the lock is free again. A file is not rotated in the batch that opened it. */
	unlink(path);
	unlink(rot);
	assert_int_equal(cgs_evfile_init(&e2, path, 100), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(cgs_evfile_append(&e2, line, strlen(line)), 0);
	assert_int_equal(e2.rotations, 0);
	assert_int_equal(stat(rot, &sb), -1);
	assert_int_equal(cgs_evfile_sync(&e2), 0);
	assert_int_equal(cgs_evfile_append(&e2, "{}", 2), 0);
	assert_int_equal(e2.rotations, 1);
	cgs_evfile_close(&e2);
	s = slurp(path);
	assert_string_equal(s, "{}\n");
	free(s);

}

/* The temporary directory goes, whether the test passed or not. */
static int evfile_teardown(void **st)
{
	char cmd[96];

	(void)st;
	if (!tmpdir[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oom_record),
		cmocka_unit_test(test_event_values),
		cmocka_unit_test(test_event_refused),
		cmocka_unit_test_teardown(test_evfile, evfile_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
