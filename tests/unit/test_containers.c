/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the container registry (agent/containers.c) on a fake
 * cgroup tree in a temp dir: discovery by walk, nested cgroups, metadata
 * from runtime state, events, sweep of removed containers, the bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/containers.h"
#include "agent/log.h"

#define ID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222222222222222222222222222"
#define ID3 "3333333333333333333333333333333333333333333333333333333333333333"
#define POD "0f6c5a5e-1111-2222-3333-444455556666"

struct fx {
	char root[64];
	char docker[128];
	struct cgs_cgroup_mounts mounts;
	struct cgs_registry *reg;
};

static void mkdirs(const char *base, const char *rel)
{
	char p[8192];

	snprintf(p, sizeof(p), "%s%s", base, rel);
	for (char *s = p + strlen(base) + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	}
	mkdir(p, 0755);
}

static uint64_t ino_of(const char *base, const char *rel)
{
	char p[8192];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", base, rel);
	assert_int_equal(stat(p, &st), 0);
	return st.st_ino;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct cgs_registry *new_registry(struct fx *f, size_t max)
{
	struct cgs_registry_opts o = {
		.mounts = &f->mounts,
		.runtime_dirs = { .docker = f->docker },
		.proc_root = "/proc",
		.max_containers = max,
		.max_series_per_container = 100,
	};

	return cgs_registry_new(&o);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char p[512];

	snprintf(f->root, sizeof(f->root), "/tmp/cgs-reg-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->docker, sizeof(f->docker), "%s-docker", f->root);
	mkdir(f->docker, 0755);
	snprintf(f->mounts.v2, sizeof(f->mounts.v2), "%s/cg", f->root);
	mkdir(f->mounts.v2, 0755);
	mkdirs(f->mounts.v2, "/system.slice/sshd.service");
	mkdirs(f->mounts.v2, "/docker/" ID1);
	mkdirs(f->mounts.v2, "/docker/" ID1 "/nested/deeper");
	mkdirs(f->mounts.v2, "/kubepods/besteffort/pod" POD "/" ID2);
	snprintf(p, sizeof(p), "%s/%s", f->docker, ID1);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/config.v2.json", f->docker, ID1);
	write_file(p, "{\"ID\":\"" ID1 "\",\"Name\":\"/web\",\"Config\":{\"Image\":\"nginx:1.25\",\"Labels\":{}}}");
	f->reg = new_registry(f, 100);
	assert_non_null(f->reg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[512];

	cgs_registry_free(f->reg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", f->root, f->docker);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct cgs_container *find_by_id(struct cgs_registry *r, const char *id)
{
	for (size_t i = 0; i < cgs_registry_count(r); i++)
		if (!strcmp(cgs_registry_at(r, i)->match.id, id))
			return cgs_registry_at(r, i);
	return NULL;
}

static void test_walk_finds_containers(void **state)
{
	struct fx *f = *state;
	struct cgs_container *c;

	assert_int_equal(cgs_registry_rescan(f->reg), 2);
	assert_int_equal(cgs_registry_count(f->reg), 2);
	c = find_by_id(f->reg, ID1);
	assert_non_null(c);
	assert_string_equal(c->path, "/docker/" ID1);
	assert_int_equal(c->match.runtime, CGS_RT_DOCKER);
	assert_string_equal(c->meta.name, "web");
	assert_string_equal(c->meta.image, "nginx:1.25");
	assert_int_equal(c->cgroup_id, ino_of(f->mounts.v2, "/docker/" ID1));
	assert_true(c->nested_tracked);
	assert_int_equal(c->nested, 2); /* nested, nested/deeper */
	/* Nested cgroups map to their container. */
	assert_ptr_equal(cgs_registry_lookup(f->reg, ino_of(f->mounts.v2, "/docker/" ID1 "/nested/deeper")), c);
	assert_null(cgs_registry_lookup(f->reg, ino_of(f->mounts.v2, "/system.slice/sshd.service")));
	c = find_by_id(f->reg, ID2);
	assert_non_null(c);
	assert_string_equal(c->meta.pod_uid, POD); /* from the path when no runtime state exists */
	assert_string_equal(c->meta.name, "");     /* unknown: empty, not a guess */
	assert_int_equal(c->meta_err, -ENOENT);
	/* A second walk changes nothing. */
	assert_int_equal(cgs_registry_rescan(f->reg), 0);
}

static void test_events_and_sweep(void **state)
{
	struct fx *f = *state;
	uint64_t id3;

	assert_int_equal(cgs_registry_rescan(f->reg), 2);
	mkdirs(f->mounts.v2, "/docker/" ID3);
	id3 = ino_of(f->mounts.v2, "/docker/" ID3);
	assert_int_equal(cgs_registry_on_mkdir(f->reg, "/docker/" ID3, id3), 1);
	assert_int_equal(cgs_registry_count(f->reg), 3);
	/* The same event twice, or a non-container cgroup, changes nothing. */
	assert_int_equal(cgs_registry_on_mkdir(f->reg, "/docker/" ID3, id3), 0);
	assert_int_equal(cgs_registry_on_mkdir(f->reg, "/system.slice/sshd.service",
					       ino_of(f->mounts.v2, "/system.slice/sshd.service")), 0);
	assert_int_equal(cgs_registry_on_mkdir(f->reg, "relative", 5), -EINVAL);
	/* rmdir of a nested cgroup keeps the container. */
	uint64_t nested = ino_of(f->mounts.v2, "/docker/" ID1 "/nested/deeper");

	assert_int_equal(cgs_registry_on_rmdir(f->reg, nested), 0);
	assert_null(cgs_registry_lookup(f->reg, nested));
	assert_int_equal(find_by_id(f->reg, ID1)->nested, 1);
	assert_int_equal(cgs_registry_count(f->reg), 3);
	char d3[8192];
	struct cgs_container *c3 = find_by_id(f->reg, ID3);

	/* Series its budget (100) left out: counted for good once the container is gone. */
	for (int i = 0; i < 101; i++)
		cgs_samples_add(&c3->samples, CGS_M_CPU_USAGE, i);
	assert_int_equal(c3->samples.dropped, 1);
	cgs_samples_reset(&c3->samples); /* a second pass drops it again */
	for (int i = 0; i < 101; i++)
		cgs_samples_add(&c3->samples, CGS_M_CPU_USAGE, i);
	assert_int_equal(c3->samples.dropped, 2);
	snprintf(d3, sizeof(d3), "%s/docker/" ID3, f->mounts.v2);
	assert_int_equal(rmdir(d3), 0);
	assert_int_equal(cgs_registry_on_rmdir(f->reg, id3), 1);
	assert_int_equal(cgs_registry_count(f->reg), 2);
	assert_null(cgs_registry_lookup(f->reg, id3));
	/* A missed rmdir is caught by the next walk. */
	char p[8192];

	snprintf(p, sizeof(p), "%s/kubepods/besteffort/pod" POD "/" ID2, f->mounts.v2);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(cgs_registry_rescan(f->reg), 1); /* ID2 gone; re-mapping a nested cgroup is no change */
	assert_null(find_by_id(f->reg, ID2));
	assert_non_null(find_by_id(f->reg, ID1));
	struct cgs_registry_stats st;

	cgs_registry_stats(f->reg, &st);
	assert_int_equal(st.removed, 2);
	assert_int_equal(st.series_dropped, 2);
}

static void test_bound(void **state)
{
	struct fx *f = *state;
	struct cgs_registry *r = new_registry(f, 1);
	struct cgs_registry_stats st;

	assert_int_equal(cgs_registry_rescan(r), 1);
	assert_int_equal(cgs_registry_count(r), 1);
	cgs_registry_stats(r, &st);
	assert_true(st.dropped >= 1);
	cgs_registry_free(r);
}

static void test_garbled_state_counted(void **state)
{
	struct fx *f = *state;
	char p[512];
	struct cgs_registry_stats st;
	struct cgs_container *c;

	snprintf(p, sizeof(p), "%s/%s/config.v2.json", f->docker, ID1);
	write_file(p, "{\"Name\": \"/web\", \"Config\": {");
	assert_int_equal(cgs_registry_rescan(f->reg), 2);
	c = find_by_id(f->reg, ID1);
	assert_non_null(c);
	assert_string_equal(c->meta.name, "");
	assert_int_equal(c->meta_err, -EBADMSG);
	cgs_registry_stats(f->reg, &st);
	assert_int_equal(st.runtime_errors, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk_finds_containers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_and_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbled_state_counted, setup, teardown),
	};
	cgs_log_set_level(CGS_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
