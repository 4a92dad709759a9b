/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of cgroup mount discovery (agent/cgroup.c) on real mountinfo formats and fake trees. */
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

#include "agent/cgroup.h"

/* This host's layout: hybrid, v2 at /sys/fs/cgroup/unified. */
static const char hybrid[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

/* A systemd host (pure v2), with optional fields before the separator. */
static const char pure[] =
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

/* Joined controllers and an escaped space in a mount point. */
static const char joined[] =
	"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
	"41 31 0:38 / /mnt/my\\040cgroup rw,relatime - cgroup2 cgroup2 rw\n";

/* The hybrid host above with cgroup2 mounted over /sys/fs/cgroup in a private mount namespace. */
static const char overmounted[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	"900 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n";

static void test_overmounted(void **state)
{
	struct cgs_cgroup_mounts m;
	(void)state;

	assert_int_equal(cgs_cgroup_parse_mountinfo(overmounted, &m), 0);
	assert_string_equal(m.v2, "/sys/fs/cgroup");
	assert_false(m.hybrid);
	assert_string_equal(m.v1[CGS_V1_CPU], "");
	assert_string_equal(m.v1[CGS_V1_MEMORY], "");
}

static void test_hybrid(void **state)
{
	struct cgs_cgroup_mounts m;
	(void)state;

	assert_int_equal(cgs_cgroup_parse_mountinfo(hybrid, &m), 0);
	assert_string_equal(m.v2, "/sys/fs/cgroup/unified");
	assert_true(m.hybrid);
	assert_string_equal(m.v1[CGS_V1_CPU], "/sys/fs/cgroup/cpu");
	assert_string_equal(m.v1[CGS_V1_CPUACCT], "/sys/fs/cgroup/cpuacct");
	assert_string_equal(m.v1[CGS_V1_MEMORY], "/sys/fs/cgroup/memory");
	assert_string_equal(m.v1[CGS_V1_PIDS], "/sys/fs/cgroup/pids");
}

static void test_pure(void **state)
{
	struct cgs_cgroup_mounts m;
	(void)state;

	assert_int_equal(cgs_cgroup_parse_mountinfo(pure, &m), 0);
	assert_string_equal(m.v2, "/sys/fs/cgroup");
	assert_false(m.hybrid);
	for (int c = 0; c < CGS_V1__COUNT; c++)
		assert_string_equal(m.v1[c], "");
}

static void test_joined_and_escapes(void **state)
{
	struct cgs_cgroup_mounts m;
	(void)state;

	assert_int_equal(cgs_cgroup_parse_mountinfo(joined, &m), 0);
	assert_string_equal(m.v2, "/mnt/my cgroup");
	assert_string_equal(m.v1[CGS_V1_CPU], "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(m.v1[CGS_V1_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(m.v1[CGS_V1_MEMORY], "");
}

static void test_garbage(void **state)
{
	struct cgs_cgroup_mounts m;
	const char *bad[] = { "", "\n\n", "garbage", "1 2 3 4 5 6 - cgroup2\n", "- - - -\n",
			      "1 2 3 / /x rw - cgroup\n" };
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cgs_cgroup_parse_mountinfo(bad[i], &m), -ENOENT);
}

static void touch(const char *dir, const char *file)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
}

static void test_configured_root(void **state)
{
	char root[] = "/tmp/cgs-cgroup-XXXXXX", p[512];
	struct cgs_cgroup_mounts m;
	char out[4096];
	(void)state;

	assert_non_null(mkdtemp(root));
	/* Hybrid layout under a configured root, like /host/sys/fs/cgroup. */
	snprintf(p, sizeof(p), "%s/unified", root);
	mkdir(p, 0755);
	touch(p, "cgroup.controllers");
	snprintf(p, sizeof(p), "%s/memory", root);
	mkdir(p, 0755);
	touch(p, "memory.usage_in_bytes");
	snprintf(p, sizeof(p), "%s/memory/docker", root);
	mkdir(p, 0755);
	assert_int_equal(cgs_cgroup_find_mounts(root, NULL, &m), 0);
	snprintf(p, sizeof(p), "%s/unified", root);
	assert_string_equal(m.v2, p);
	assert_true(m.hybrid);
	assert_string_equal(m.v1[CGS_V1_CPU], "");
	/* The same relative path in the v1 hierarchy is found. */
	assert_int_equal(cgs_cgroup_v1_dir(&m, CGS_V1_MEMORY, "/docker", "/proc", out, sizeof(out)), 0);
	snprintf(p, sizeof(p), "%s/memory/docker", root);
	assert_string_equal(out, p);
	assert_int_equal(cgs_cgroup_v1_dir(&m, CGS_V1_MEMORY, "/nothere", "/proc", out, sizeof(out)), -ENOENT);
	assert_int_equal(cgs_cgroup_v1_dir(&m, CGS_V1_CPU, "/docker", "/proc", out, sizeof(out)), -ENOENT);
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The v1 directory found through a process of the container must be that container's. */
static void test_v1_dir_via_process(void **state)
{
	char root[] = "/tmp/cgs-v1proc-XXXXXX", p[1024], out[4096];
	const char *id = "0000000000000000000000000000000000000000000000000000000000000abc";
	struct cgs_cgroup_mounts m;
	(void)state;

	assert_non_null(mkdtemp(root));
	memset(&m, 0, sizeof(m));
	snprintf(m.v2, sizeof(m.v2), "%s/v2", root);
	snprintf(m.v1[CGS_V1_MEMORY], sizeof(m.v1[CGS_V1_MEMORY]), "%s/memory", root);
	snprintf(p, sizeof(p), "mkdir -p %s/v2/libpod_parent/libpod-%s %s/memory/system.slice/sshd.service "
		 "%s/memory/machine.slice/libpod-%s.scope %s/proc/4242", root, id, root, root, id, root);
	assert_int_equal(system(p), 0);
	snprintf(p, sizeof(p), "%s/v2/libpod_parent/libpod-%s/cgroup.procs", root, id);
	put(p, "4242\n");
	snprintf(p, sizeof(p), "%s/proc/4242/cgroup", root);
	/* A container made in v2 only: its process sits in an unrelated v1 cgroup. */
	put(p, "12:pids:/system.slice/sshd.service\n4:memory:/system.slice/sshd.service\n0::/libpod_parent/libpod-x\n");
	snprintf(p, sizeof(p), "/libpod_parent/libpod-%s", id);
	char proc[512];

	snprintf(proc, sizeof(proc), "%s/proc", root);
	assert_int_equal(cgs_cgroup_v1_dir(&m, CGS_V1_MEMORY, p, proc, out, sizeof(out)), -ENOENT);
	/* The same container under another driver's v1 path is found. */
	char f[1024];

	snprintf(f, sizeof(f), "%s/proc/4242/cgroup", root);
	snprintf(out, sizeof(out), "4:memory:/machine.slice/libpod-%s.scope\n", id);
	put(f, out);
	assert_int_equal(cgs_cgroup_v1_dir(&m, CGS_V1_MEMORY, p, proc, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "/memory/machine.slice/libpod-"));
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_overmounted),
		cmocka_unit_test(test_pure),
		cmocka_unit_test(test_joined_and_escapes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_configured_root),
		cmocka_unit_test(test_v1_dir_via_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
