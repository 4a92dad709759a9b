/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for agent/cgpath.c: every runtime and kubelet cgroup driver
 * naming, nested cgroups, runtime helper scopes that are not containers,
 * pod UID and QoS extraction, and hostile inputs (long, truncated, non-hex,
 * uppercase, odd separators) that must be rejected without harm.
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

#include "agent/cgpath.h"

#define ID1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID "2d3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"
#define UID_ "2d3f4a5b_6c7d_4e8f_9a0b_1c2d3e4f5a6b"
#define STATIC_UID "8e1c6f0a2b4d4c9e8f7a6b5c4d3e2f10"

struct expect {
	const char *path;
	enum cgs_runtime rt;
	int guessed;
	const char *id;
	const char *uid;
	enum cgs_qos qos;
	const char *own; /* the container's own cgroup, a prefix of path */
};

static void check(const struct expect *e)
{
	struct cgs_cgpath m;
	int r;

	memset(&m, 0xa5, sizeof(m));
	r = cgs_cgpath_match(e->path, &m);
	if (r != 1)
		fail_msg("%s: got %d, want 1", e->path, r);
	assert_int_equal(m.runtime, e->rt);
	assert_int_equal(m.runtime_guessed, e->guessed);
	assert_string_equal(m.id, e->id);
	assert_string_equal(m.pod_uid, e->uid);
	assert_int_equal(m.qos, e->qos);
	assert_int_equal(m.container_len, strlen(e->own));
	assert_memory_equal(e->path, e->own, strlen(e->own));
}

static void check_none(const char *path)
{
	struct cgs_cgpath m, before;
	int r;

	memset(&m, 0x5a, sizeof(m));
	before = m;
	r = cgs_cgpath_match(path, &m);
	if (r != 0)
		fail_msg("%s: got %d, want 0", path, r);
	assert_memory_equal(&m, &before, sizeof(m));
}

static void test_containerd_systemd(void **state)
{
	(void)state;
	const struct expect cases[] = {
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/cri-containerd-" ID1 ".scope",
		  CGS_RT_CONTAINERD, 0, ID1, UID, CGS_QOS_BURSTABLE,
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/cri-containerd-" ID1 ".scope" },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/cri-containerd-" ID2 ".scope",
		  CGS_RT_CONTAINERD, 0, ID2, UID, CGS_QOS_BESTEFFORT,
		  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/cri-containerd-" ID2 ".scope" },
		/* guaranteed pods sit directly under kubepods.slice */
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID1 ".scope",
		  CGS_RT_CONTAINERD, 0, ID1, UID, CGS_QOS_GUARANTEED,
		  "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID1 ".scope" },
		/* static pod: 32-hex uid */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" STATIC_UID
		  ".slice/cri-containerd-" ID1 ".scope",
		  CGS_RT_CONTAINERD, 0, ID1, STATIC_UID, CGS_QOS_BURSTABLE,
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" STATIC_UID
		  ".slice/cri-containerd-" ID1 ".scope" },
		/* kind nodes: kubelet below its own slice */
		{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
		  "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID1 ".scope",
		  CGS_RT_CONTAINERD, 0, ID1, UID, CGS_QOS_BESTEFFORT,
		  "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
		  "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID1 ".scope" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
}

static void test_kubepods_cgroupfs(void **state)
{
	(void)state;
	const struct expect cases[] = {
		{ "/kubepods/besteffort/pod" UID "/" ID1, CGS_RT_CONTAINERD, 1, ID1, UID,
		  CGS_QOS_BESTEFFORT, "/kubepods/besteffort/pod" UID "/" ID1 },
		{ "/kubepods/burstable/pod" UID "/" ID2, CGS_RT_CONTAINERD, 1, ID2, UID,
		  CGS_QOS_BURSTABLE, "/kubepods/burstable/pod" UID "/" ID2 },
		{ "/kubepods/pod" UID "/" ID1, CGS_RT_CONTAINERD, 1, ID1, UID,
		  CGS_QOS_GUARANTEED, "/kubepods/pod" UID "/" ID1 },
		{ "/kubepods/pod" STATIC_UID "/" ID1, CGS_RT_CONTAINERD, 1, ID1, STATIC_UID,
		  CGS_QOS_GUARANTEED, "/kubepods/pod" STATIC_UID "/" ID1 },
		/* kubelet --cgroup-root */
		{ "/kubelet/kubepods/burstable/pod" UID "/" ID1, CGS_RT_CONTAINERD, 1, ID1, UID,
		  CGS_QOS_BURSTABLE, "/kubelet/kubepods/burstable/pod" UID "/" ID1 },
		/* trailing slash and doubled separators */
		{ "/kubepods//besteffort///pod" UID "//" ID1 "/", CGS_RT_CONTAINERD, 1, ID1, UID,
		  CGS_QOS_BESTEFFORT, "/kubepods//besteffort///pod" UID "//" ID1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
}

static void test_crio(void **state)
{
	(void)state;
	const struct expect cases[] = {
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/crio-" ID1 ".scope",
		  CGS_RT_CRIO, 0, ID1, UID, CGS_QOS_BURSTABLE,
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		  ".slice/crio-" ID1 ".scope" },
		{ "/kubepods/besteffort/pod" UID "/crio-" ID2, CGS_RT_CRIO, 0, ID2, UID,
		  CGS_QOS_BESTEFFORT, "/kubepods/besteffort/pod" UID "/crio-" ID2 },
		/* crun/conmon may leave a nested cgroup in the scope */
		{ "/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID1 ".scope/container",
		  CGS_RT_CRIO, 0, ID1, UID, CGS_QOS_GUARANTEED,
		  "/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID1 ".scope" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
	check_none("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		   ".slice/crio-conmon-" ID1 ".scope");
	check_none("/kubepods/besteffort/pod" UID "/crio-conmon-" ID1);
}

static void test_docker(void **state)
{
	(void)state;
	const struct expect cases[] = {
		{ "/system.slice/docker-" ID1 ".scope", CGS_RT_DOCKER, 0, ID1, "", CGS_QOS_NONE,
		  "/system.slice/docker-" ID1 ".scope" },
		{ "/docker/" ID2, CGS_RT_DOCKER, 0, ID2, "", CGS_QOS_NONE, "/docker/" ID2 },
		{ "/docker/" ID2 "/nested/deeper", CGS_RT_DOCKER, 0, ID2, "", CGS_QOS_NONE,
		  "/docker/" ID2 },
		/* docker in docker: the outer container wins */
		{ "/docker/" ID1 "/docker/" ID2, CGS_RT_DOCKER, 0, ID1, "", CGS_QOS_NONE,
		  "/docker/" ID1 },
		/* cri-dockerd with the systemd driver */
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/docker-" ID1 ".scope",
		  CGS_RT_DOCKER, 0, ID1, UID, CGS_QOS_BESTEFFORT,
		  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		  ".slice/docker-" ID1 ".scope" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
	check_none("/docker");
	check_none("/docker/");
	check_none("/system.slice/docker.service");
	check_none("/system.slice/docker-" ID1 ".mount");
	check_none("/other/" ID1);
}

static void test_podman(void **state)
{
	(void)state;
	const struct expect cases[] = {
		{ "/machine.slice/libpod-" ID1 ".scope", CGS_RT_PODMAN, 0, ID1, "", CGS_QOS_NONE,
		  "/machine.slice/libpod-" ID1 ".scope" },
		/* systemd mode: podman's nested "container" cgroup */
		{ "/machine.slice/libpod-" ID1 ".scope/container", CGS_RT_PODMAN, 0, ID1, "",
		  CGS_QOS_NONE, "/machine.slice/libpod-" ID1 ".scope" },
		{ "/libpod_parent/libpod-" ID2, CGS_RT_PODMAN, 0, ID2, "", CGS_QOS_NONE,
		  "/libpod_parent/libpod-" ID2 },
		/* podman pods: cgroupfs and systemd */
		{ "/libpod_parent/" ID1 "/libpod-" ID2, CGS_RT_PODMAN, 0, ID2, "", CGS_QOS_NONE,
		  "/libpod_parent/" ID1 "/libpod-" ID2 },
		{ "/machine.slice/machine-libpod_pod_" ID1 ".slice/libpod-" ID2 ".scope/container",
		  CGS_RT_PODMAN, 0, ID2, "", CGS_QOS_NONE,
		  "/machine.slice/machine-libpod_pod_" ID1 ".slice/libpod-" ID2 ".scope" },
		/* rootless */
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID1 ".scope",
		  CGS_RT_PODMAN, 0, ID1, "", CGS_QOS_NONE,
		  "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID1 ".scope" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
	check_none("/machine.slice/libpod-conmon-" ID1 ".scope");
	check_none("/libpod_parent/conmon");
	check_none("/libpod_parent/libpod-conmon-" ID1);
	/* the podman pod's own cgroup is not a container */
	check_none("/libpod_parent/" ID1);
	check_none("/machine.slice/machine-libpod_pod_" ID1 ".slice");
}

static void test_nested(void **state)
{
	(void)state;
	const char *base = "/kubepods/burstable/pod" UID "/" ID1;
	char path[512];
	struct cgs_cgpath m;

	snprintf(path, sizeof(path), "%s/a/b/c", base);
	assert_int_equal(cgs_cgpath_match(path, &m), 1);
	assert_int_equal(m.container_len, strlen(base));
	assert_string_equal(m.id, ID1);
	assert_string_equal(m.pod_uid, UID);

	/* a bare id nested in a container is part of that container */
	snprintf(path, sizeof(path), "%s/" ID2, base);
	assert_int_equal(cgs_cgpath_match(path, &m), 1);
	assert_string_equal(m.id, ID1);
	assert_int_equal(m.container_len, strlen(base));

	/* systemd-driver container with its own sub-cgroups */
	snprintf(path, sizeof(path),
		 "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID2 ".scope/init.scope");
	assert_int_equal(cgs_cgpath_match(path, &m), 1);
	assert_string_equal(m.id, ID2);
	assert_int_equal(m.container_len, strlen(path) - strlen("/init.scope"));
}

static void test_not_containers(void **state)
{
	(void)state;
	check_none("/");
	check_none("//");
	check_none("/init.scope");
	check_none("/system.slice");
	check_none("/system.slice/containerd.service");
	check_none("/user.slice/user-0.slice/session-1.scope");
	check_none("/kubepods");
	check_none("/kubepods/burstable");
	check_none("/kubepods/burstable/pod" UID);
	check_none("/kubepods/pod" UID);
	check_none("/kubepods.slice");
	check_none("/kubepods.slice/kubepods-burstable.slice");
	check_none("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice");
	check_none("/kubepods.slice/kubepods-pod" UID_ ".slice");
	/* a bare id is a container only directly below a pod */
	check_none("/kubepods/burstable/" ID1);
	check_none("/kubepods/" ID1);
	check_none("/kubepods/burstable/pod" UID "/x/" ID1);
	check_none("/" ID1);
	/* "pod" without a kubepods parent, or a malformed uid */
	check_none("/pod" UID "/" ID1);
	check_none("/kubepods/burstable/pod" UID_ "/" ID1);
	check_none("/kubepods/burstable/podnot-a-uid/" ID1);
	check_none("/kubepods/guaranteed/pod" UID "/" ID1);
}

static void test_ids_rejected(void **state)
{
	(void)state;
	char upper[] = "/docker/" ID1;

	for (char *p = upper + 8; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	check_none(upper);
	check_none("/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde");  /* 63 */
	check_none("/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"); /* 65 */
	check_none("/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg");
	check_none("/system.slice/docker-" ID1 ".scopex");
	check_none("/system.slice/docker-" ID1 "x.scope");
	check_none("/system.slice/docker-.scope");
	check_none("/system.slice/docker-");
	check_none("/machine.slice/libpod-" ID1 ".scope.scope");
	check_none("/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID1 "-x.scope");
	check_none("/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-abc.scope");
	check_none("/kubepods/besteffort/pod" UID "/" ID1 "0");
	check_none("/kubepods/besteffort/pod" UID "/crio-");
}

static void test_pod_uid_forms(void **state)
{
	(void)state;
	struct cgs_cgpath m;

	/* a malformed pod slice leaves the container recognised, without pod */
	assert_int_equal(cgs_cgpath_match("/kubepods.slice/kubepods-burstable.slice/"
					  "kubepods-burstable-podXYZ.slice/cri-containerd-" ID1 ".scope", &m), 1);
	assert_string_equal(m.pod_uid, "");
	assert_int_equal(m.qos, CGS_QOS_NONE);

	/* dashes in a systemd slice name would be hierarchy separators */
	assert_int_equal(cgs_cgpath_match("/kubepods.slice/kubepods-pod" UID ".slice/cri-containerd-"
					  ID1 ".scope", &m), 1);
	assert_string_equal(m.pod_uid, "");

	/* uppercase uid */
	assert_int_equal(cgs_cgpath_match("/kubepods/pod2D3F4A5B-6C7D-4E8F-9A0B-1C2D3E4F5A6B/" ID1, &m), 0);

	/* a pod slice whose parent is not kubepods */
	assert_int_equal(cgs_cgpath_match("/x.slice/foo-pod" UID_ ".slice/cri-containerd-" ID1 ".scope",
					  &m), 1);
	assert_string_equal(m.pod_uid, "");
}

static void test_invalid(void **state)
{
	(void)state;
	struct cgs_cgpath m;

	assert_int_equal(cgs_cgpath_match(NULL, &m), -EINVAL);
	assert_int_equal(cgs_cgpath_match("", &m), -EINVAL);
	assert_int_equal(cgs_cgpath_match("docker/" ID1, &m), -EINVAL);
	assert_int_equal(cgs_cgpath_match(" /docker/" ID1, &m), -EINVAL);
	assert_int_equal(cgs_cgpath_match("/docker/" ID1, NULL), -EINVAL);
}

static void test_namespace_oddities(void **state)
{
	(void)state;
	struct cgs_cgpath m;

	/* /proc/<pid>/cgroup seen from inside another cgroup namespace */
	assert_int_equal(cgs_cgpath_match("/../../kubepods/besteffort/pod" UID "/" ID1, &m), 1);
	assert_string_equal(m.id, ID1);
	assert_int_equal(m.qos, CGS_QOS_BESTEFFORT);
	assert_int_equal(cgs_cgpath_match("/..", &m), 0);
	assert_int_equal(cgs_cgpath_match("/./docker/" ID1, &m), 1);
	assert_int_equal(m.container_len, strlen("/./docker/" ID1));
	/* deleted cgroups as the kernel names them in /proc/<pid>/cgroup */
	assert_int_equal(cgs_cgpath_match("/docker/" ID1 " (deleted)", &m), 0);
}

static void test_long_and_random(void **state)
{
	(void)state;
	struct cgs_cgpath m;
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	unsigned int seed = 12345;

	assert_non_null(big);
	/* one huge component */
	big[0] = '/';
	memset(big + 1, 'a', n - 1);
	big[n] = '\0';
	assert_int_equal(cgs_cgpath_match(big, &m), 0);
	/* a huge number of tiny components */
	for (size_t i = 0; i < n; i++)
		big[i] = (i % 2) ? 'f' : '/';
	assert_int_equal(cgs_cgpath_match(big, &m), 0);
	/* a container at the end of a very deep path */
	for (size_t i = 0; i < n; i++)
		big[i] = (i % 2) ? 'x' : '/';
	memcpy(big + n - strlen("/docker/" ID1), "/docker/" ID1, strlen("/docker/" ID1));
	assert_int_equal(cgs_cgpath_match(big, &m), 1);
	assert_int_equal(m.container_len, n);
	/* many near-misses of every pattern */
	for (int round = 0; round < 20000; round++) {
		static const char *const parts[] = {
			"kubepods", "kubepods.slice", "burstable", "besteffort", "pod", "pod" UID,
			"kubepods-pod" UID_ ".slice", "kubepods-burstable-pod", ".slice", ".scope",
			"cri-containerd-", "crio-", "crio-conmon-", "docker", "docker-", "libpod-",
			"libpod-conmon-", ID1, "0123", "-", "_", "/", "//", "..", "\xff", "A",
		};
		char buf[1024];
		size_t len = 1;
		int k = rand_r(&seed) % 24;

		buf[0] = '/';
		for (int j = 0; j < k; j++) {
			const char *p = parts[rand_r(&seed) % (sizeof(parts) / sizeof(parts[0]))];
			size_t pl = strlen(p);

			if (len + pl + 1 >= sizeof(buf))
				break;
			memcpy(buf + len, p, pl);
			len += pl;
			if (rand_r(&seed) % 2)
				buf[len++] = '/';
		}
		buf[len] = '\0';
		int r = cgs_cgpath_match(buf, &m);

		assert_true(r == 0 || r == 1);
		if (r == 1) {
			assert_int_equal(strlen(m.id), CGS_CONTAINER_ID_MAX);
			assert_true(m.container_len <= len);
			assert_true(m.runtime > CGS_RT_NONE && m.runtime < CGS_RT__COUNT);
			assert_non_null(strstr(buf, m.id));
		}
	}
	free(big);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(cgs_runtime_name(CGS_RT_CONTAINERD), "containerd");
	assert_string_equal(cgs_runtime_name(CGS_RT_CRIO), "crio");
	assert_string_equal(cgs_runtime_name(CGS_RT_DOCKER), "docker");
	assert_string_equal(cgs_runtime_name(CGS_RT_PODMAN), "podman");
	assert_string_equal(cgs_runtime_name(CGS_RT_NONE), "");
	assert_string_equal(cgs_runtime_name((enum cgs_runtime)99), "");
	assert_string_equal(cgs_qos_name(CGS_QOS_GUARANTEED), "guaranteed");
	assert_string_equal(cgs_qos_name(CGS_QOS_BURSTABLE), "burstable");
	assert_string_equal(cgs_qos_name(CGS_QOS_BESTEFFORT), "besteffort");
	assert_string_equal(cgs_qos_name(CGS_QOS_NONE), "");
	assert_string_equal(cgs_qos_name((enum cgs_qos)99), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_containerd_systemd),
		cmocka_unit_test(test_kubepods_cgroupfs),
		cmocka_unit_test(test_crio),
		cmocka_unit_test(test_docker),
		cmocka_unit_test(test_podman),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_not_containers),
		cmocka_unit_test(test_ids_rejected),
		cmocka_unit_test(test_pod_uid_forms),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_namespace_oddities),
		cmocka_unit_test(test_long_and_random),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
