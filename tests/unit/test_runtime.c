/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for agent/runtime.c: every fixture in tests/fixtures/runtime
 * checked field by field (containerd and podman files come from the real
 * runtimes; CRI-O and Docker ones are hand-written in their formats), the
 * garbled ones rejected, truncations and byte flips of real files survived,
 * and cgs_runtime_lookup run over a runtime state tree built in a temp dir.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cgpath.h"
#include "agent/runtime.h"

#ifndef CGS_FIXTURES_DIR
#error "CGS_FIXTURES_DIR must name tests/fixtures"
#endif
#define FIX CGS_FIXTURES_DIR "/runtime/"

#define CTRD_UID "72e2be26-aa72-4be9-a41c-bea8970867ef"
#define CTRD_SANDBOX "1cdb01ae63ac97172e5a69eceee73c1835289a1ca201d47a2e63fb4a5ec870db"
#define CTRD_CONTAINER "d062335bdbddf4e9360abacecab7eae56742c7414e434512c6fbb77ec2e1940a"
#define PODMAN_ID "0026c65a0370e2bac92a09b5060fa96581a1bb2b8d8ae57ff314a4d6748181db"
#define CRIO_UID "5f0c2d3e-8a41-4b7e-9c6d-2e1f0a9b8c7d"
#define DOCKER_UID "0c8e5a1f-3b7d-4e92-8f6a-1d2c3b4a5e6f"
#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

typedef int (*parse_fn)(const char *, size_t, struct cgs_meta *);

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

struct want {
	const char *name, *image, *container, *pod, *namespace, *pod_uid;
	int sandbox;
};

static void check_meta(const struct cgs_meta *m, const struct want *w)
{
	assert_string_equal(m->name, w->name);
	assert_string_equal(m->image, w->image);
	assert_string_equal(m->container, w->container);
	assert_string_equal(m->pod, w->pod);
	assert_string_equal(m->namespace, w->namespace);
	assert_string_equal(m->pod_uid, w->pod_uid);
	assert_int_equal(m->sandbox, w->sandbox);
}

static void check_fixture(const char *file, parse_fn parse, const struct want *w)
{
	struct cgs_meta m = { 0 };
	size_t len;
	char *buf = slurp(file, &len);

	assert_int_equal(parse(buf, len, &m), 0);
	check_meta(&m, w);
	cgs_meta_clear(&m);
	assert_null(m.name);
	free(buf);
}

static void test_containerd(void **state)
{
	(void)state;
	check_fixture(FIX "containerd/container.config.json", cgs_runtime_parse_oci,
		      &(struct want){ "", "localhost/cgsight-test:1", "app", "web-0", "default",
				      CTRD_UID, 0 });
	check_fixture(FIX "containerd/sandbox.config.json", cgs_runtime_parse_oci,
		      &(struct want){ "", "", "POD", "web-0", "default", CTRD_UID, 1 });
	/* a ctr container outside Kubernetes: no annotations at all */
	check_fixture(FIX "containerd/plain.config.json", cgs_runtime_parse_oci,
		      &(struct want){ "", "", "", "", "", "", 0 });
}

static void test_crio(void **state)
{
	(void)state;
	check_fixture(FIX "crio/container.config.json", cgs_runtime_parse_oci,
		      &(struct want){ "k8s_nginx_web-0_shop_" CRIO_UID "_0", "docker.io/library/nginx:1.25",
				      "nginx", "web-0", "shop", CRIO_UID, 0 });
	check_fixture(FIX "crio/sandbox.config.json", cgs_runtime_parse_oci,
		      &(struct want){ "k8s_POD_web-0_shop_" CRIO_UID "_0", "registry.k8s.io/pause:3.9",
				      "POD", "web-0", "shop", CRIO_UID, 1 });
}

static void test_podman(void **state)
{
	(void)state;
	/* podman 4.3 keeps name and image out of the OCI spec */
	check_fixture(FIX "podman/config.json", cgs_runtime_parse_oci,
		      &(struct want){ "", "", "", "", "", "", 0 });
}

static void test_docker(void **state)
{
	(void)state;
	check_fixture(FIX "docker/plain.config.v2.json", cgs_runtime_parse_docker,
		      &(struct want){ "web", "nginx:1.25", "", "", "", "", 0 });
	check_fixture(FIX "docker/k8s-sandbox.config.v2.json", cgs_runtime_parse_docker,
		      &(struct want){ "k8s_POD_redis-6b8f9c7d5-x2k4q_cache_" DOCKER_UID "_0",
				      "registry.k8s.io/pause:3.6", "POD", "redis-6b8f9c7d5-x2k4q", "cache",
				      DOCKER_UID, 1 });
	check_fixture(FIX "docker/k8s-container.config.v2.json", cgs_runtime_parse_docker,
		      &(struct want){ "k8s_redis_redis-6b8f9c7d5-x2k4q_cache_" DOCKER_UID "_2",
				      "redis@sha256:6fdd5301ad9953d8e1a2e65ae6ee54ce63cfbe8d8326647492532124472c6de3",
				      "redis", "redis-6b8f9c7d5-x2k4q", "cache", DOCKER_UID, 0 });
}

static void expect_bad(const char *file, parse_fn parse)
{
	struct cgs_meta m = { .name = (char *)"sentinel" };
	size_t len;
	char *buf = slurp(file, &len);
	int r = parse(buf, len, &m);

	if (r != -EBADMSG)
		fail_msg("%s: got %d, want -EBADMSG", file, r);
	assert_string_equal(m.name, "sentinel");
	free(buf);
}

static void test_garbled(void **state)
{
	(void)state;
	static const char *const oci[] = {
		"truncated", "empty", "whitespace", "array", "string", "no-oci-version",
		"annotations-array", "trailing-garbage", "two-documents", "nul-byte", "bad-utf8",
		"deep", "single-quotes",
	};
	char path[512];

	for (size_t i = 0; i < sizeof(oci) / sizeof(oci[0]); i++) {
		snprintf(path, sizeof(path), FIX "garbled/%s.config.json", oci[i]);
		expect_bad(path, cgs_runtime_parse_oci);
		expect_bad(path, cgs_runtime_parse_docker);
	}
	expect_bad(FIX "garbled/truncated.config.v2.json", cgs_runtime_parse_docker);
	expect_bad(FIX "garbled/no-id.config.v2.json", cgs_runtime_parse_docker);
	/* each parser refuses the other's format */
	expect_bad(FIX "docker/plain.config.v2.json", cgs_runtime_parse_oci);
	expect_bad(FIX "containerd/container.config.json", cgs_runtime_parse_docker);
}

static void test_inline(void **state)
{
	(void)state;
	struct cgs_meta m = { 0 };
	const char *s;

	/* CRI-O labels only in the JSON-encoded Labels annotation */
	s = "{\"ociVersion\":\"1.0.2\",\"annotations\":{"
	    "\"io.kubernetes.cri-o.ContainerType\":\"container\","
	    "\"io.kubernetes.cri-o.Labels\":\"{\\\"io.kubernetes.container.name\\\":\\\"c\\\","
	    "\\\"io.kubernetes.pod.name\\\":\\\"p\\\",\\\"io.kubernetes.pod.namespace\\\":\\\"n\\\","
	    "\\\"io.kubernetes.pod.uid\\\":\\\"u\\\"}\"}}";
	assert_int_equal(cgs_runtime_parse_oci(s, strlen(s), &m), 0);
	check_meta(&m, &(struct want){ "", "", "c", "p", "n", "u", 0 });
	cgs_meta_clear(&m);

	/* a garbled embedded Labels string is ignored, not fatal */
	s = "{\"ociVersion\":\"1.0.2\",\"annotations\":{\"io.kubernetes.cri-o.Labels\":\"{nope\","
	    "\"io.kubernetes.pod.name\":\"p\"}}";
	assert_int_equal(cgs_runtime_parse_oci(s, strlen(s), &m), 0);
	check_meta(&m, &(struct want){ "", "", "", "p", "", "", 0 });
	cgs_meta_clear(&m);

	/* non-string values are treated as absent; null annotations are fine */
	s = "{\"ociVersion\":\"1.0.2\",\"annotations\":{\"io.kubernetes.cri.container-name\":42,"
	    "\"io.kubernetes.cri.sandbox-name\":null,\"io.kubernetes.cri.image-name\":[\"x\"],"
	    "\"io.kubernetes.cri.sandbox-namespace\":\"ns\"}}";
	assert_int_equal(cgs_runtime_parse_oci(s, strlen(s), &m), 0);
	check_meta(&m, &(struct want){ "", "", "", "", "ns", "", 0 });
	cgs_meta_clear(&m);
	s = "{\"ociVersion\":\"1.0.2\",\"annotations\":null}\n\n";
	assert_int_equal(cgs_runtime_parse_oci(s, strlen(s), &m), 0);
	cgs_meta_clear(&m);

	/* escaped NUL inside a value truncates that value, nothing more */
	s = "{\"ociVersion\":\"1.0.2\",\"annotations\":{\"io.kubernetes.pod.name\":\"a\\u0000b\"}}";
	assert_int_equal(cgs_runtime_parse_oci(s, strlen(s), &m), 0);
	assert_string_equal(m.pod, "a");
	cgs_meta_clear(&m);

	/* docker: no labels, no Config, Name without the slash */
	s = "{\"ID\":\"" ID_A "\",\"Name\":\"bare\"}";
	assert_int_equal(cgs_runtime_parse_docker(s, strlen(s), &m), 0);
	check_meta(&m, &(struct want){ "bare", "", "", "", "", "", 0 });
	cgs_meta_clear(&m);
	s = "{\"ID\":\"" ID_A "\",\"Name\":\"/\",\"Config\":\"oops\"}";
	assert_int_equal(cgs_runtime_parse_docker(s, strlen(s), &m), 0);
	check_meta(&m, &(struct want){ "", "", "", "", "", "", 0 });
	cgs_meta_clear(&m);

	/* argument checks and size bound */
	assert_int_equal(cgs_runtime_parse_oci(NULL, 0, &m), -EINVAL);
	assert_int_equal(cgs_runtime_parse_oci("{}", 2, NULL), -EINVAL);
	assert_int_equal(cgs_runtime_parse_docker(NULL, 0, &m), -EINVAL);
	assert_int_equal(cgs_runtime_parse_oci("{}", (size_t)(4u << 20) + 1, &m), -E2BIG);
	/* len shorter than the string: only len bytes count */
	s = "{\"ociVersion\":\"1\"}garbage";
	assert_int_equal(cgs_runtime_parse_oci(s, 18, &m), 0);
	cgs_meta_clear(&m);

	cgs_meta_clear(NULL);
	cgs_meta_clear(&m);
}

/* Every strict prefix of a real file is rejected; the full file parses. */
static void test_truncations(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		parse_fn parse;
	} files[] = {
		{ FIX "containerd/container.config.json", cgs_runtime_parse_oci },
		{ FIX "podman/config.json", cgs_runtime_parse_oci },
		{ FIX "docker/k8s-container.config.v2.json", cgs_runtime_parse_docker },
	};

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len, end;
		char *buf = slurp(files[f].file, &len);

		end = len;
		while (end > 0 && strchr(" \t\r\n", buf[end - 1]))
			end--;
		for (size_t n = 0; n <= len; n++) {
			struct cgs_meta m = { 0 };
			char *copy = malloc(n ? n : 1);
			int r;

			assert_non_null(copy);
			memcpy(copy, buf, n);
			r = files[f].parse(copy, n, &m);
			if (n < end && r != -EBADMSG)
				fail_msg("%s: prefix %zu gave %d", files[f].file, n, r);
			if (n >= end && r != 0)
				fail_msg("%s: length %zu gave %d", files[f].file, n, r);
			cgs_meta_clear(&m);
			free(copy);
		}
		free(buf);
	}
}

/* Random byte changes never crash and never yield NULL strings. */
static void test_byte_flips(void **state)
{
	(void)state;
	size_t len;
	char *orig = slurp(FIX "crio/container.config.json", &len);
	char *buf = malloc(len);
	unsigned int seed = 4242;
	int ok = 0, bad = 0;

	assert_non_null(buf);
	for (int round = 0; round < 3000; round++) {
		struct cgs_meta m = { 0 };
		int flips = 1 + rand_r(&seed) % 4, r;

		memcpy(buf, orig, len);
		for (int i = 0; i < flips; i++)
			buf[rand_r(&seed) % len] = (char)(rand_r(&seed) % 256);
		r = (round % 2 ? cgs_runtime_parse_docker : cgs_runtime_parse_oci)(buf, len, &m);
		if (r == 0) {
			assert_non_null(m.name);
			assert_non_null(m.image);
			assert_non_null(m.container);
			assert_non_null(m.pod);
			assert_non_null(m.namespace);
			assert_non_null(m.pod_uid);
			ok++;
		} else {
			assert_int_equal(r, -EBADMSG);
			bad++;
		}
		cgs_meta_clear(&m);
	}
	assert_true(ok > 0 && bad > 0);
	free(buf);
	free(orig);
}

/* --- lookup over a temp tree ---------------------------------------------- */

struct tree {
	char root[64];
	char containerd[128], crio[128], docker[128], podman[128];
	struct cgs_runtime_dirs dirs;
};

static void mkdirs(const char *path)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

static void put(const char *dst, const void *data, size_t len)
{
	char dir[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", dst);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	f = fopen(dst, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void put_fixture(const char *dst, const char *fixture)
{
	size_t len;
	char *buf = slurp(fixture, &len);

	put(dst, buf, len);
	free(buf);
}

__attribute__((format(printf, 2, 3)))
static const char *at(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, 512, fmt, ap);
	va_end(ap);
	return buf;
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	char p[512];

	if (!t)
		return -1;
	snprintf(t->root, sizeof(t->root), "/tmp/cgs-test-runtime.XXXXXX");
	if (!mkdtemp(t->root))
		return -1;
	snprintf(t->containerd, sizeof(t->containerd), "%s/containerd", t->root);
	snprintf(t->crio, sizeof(t->crio), "%s/crio", t->root);
	snprintf(t->docker, sizeof(t->docker), "%s/docker", t->root);
	snprintf(t->podman, sizeof(t->podman), "%s/podman", t->root);
	t->dirs = (struct cgs_runtime_dirs){ t->containerd, t->crio, t->docker, t->podman };

	put_fixture(at(p, "%s/k8s.io/%s/config.json", t->containerd, CTRD_CONTAINER),
		    FIX "containerd/container.config.json");
	put_fixture(at(p, "%s/k8s.io/%s/config.json", t->containerd, CTRD_SANDBOX),
		    FIX "containerd/sandbox.config.json");
	put_fixture(at(p, "%s/default/%s/config.json", t->containerd, ID_A),
		    FIX "containerd/plain.config.json");
	mkdirs(at(p, "%s/moby", t->containerd));
	put_fixture(at(p, "%s/%s/userdata/config.json", t->crio, ID_B),
		    FIX "crio/container.config.json");
	put_fixture(at(p, "%s/%s/config.v2.json", t->docker, ID_A),
		    FIX "docker/k8s-container.config.v2.json");
	put_fixture(at(p, "%s/%s/userdata/config.json", t->podman, PODMAN_ID),
		    FIX "podman/config.json");
	put_fixture(at(p, "%s/containers.json", t->podman), FIX "podman/containers.json");
	*state = t;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;

	nftw(t->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static struct cgs_cgpath cg(enum cgs_runtime rt, int guessed, const char *id, const char *uid)
{
	struct cgs_cgpath m = { .runtime = rt, .runtime_guessed = guessed };

	snprintf(m.id, sizeof(m.id), "%s", id);
	snprintf(m.pod_uid, sizeof(m.pod_uid), "%s", uid);
	return m;
}

static void lookup_ok(const struct cgs_runtime_dirs *d, struct cgs_cgpath m, const struct want *w)
{
	struct cgs_meta meta = { 0 };
	int r = cgs_runtime_lookup(d, &m, &meta);

	if (r != 0)
		fail_msg("lookup %s/%s: %d", cgs_runtime_name(m.runtime), m.id, r);
	check_meta(&meta, w);
	cgs_meta_clear(&meta);
}

static void lookup_err(const struct cgs_runtime_dirs *d, struct cgs_cgpath m, int want)
{
	struct cgs_meta meta = { .name = (char *)"sentinel" };
	int r = cgs_runtime_lookup(d, &m, &meta);

	if (r != want)
		fail_msg("lookup %s/%s: got %d, want %d", cgs_runtime_name(m.runtime), m.id, r, want);
	assert_string_equal(meta.name, "sentinel");
}

static void test_lookup_found(void **state)
{
	struct tree *t = *state;
	struct cgs_cgpath m;

	/* the real path of the containerd container, through the matcher */
	assert_int_equal(cgs_cgpath_match("/kubepods/burstable/pod" CTRD_UID "/" CTRD_CONTAINER, &m), 1);
	assert_int_equal(m.runtime_guessed, 1);
	lookup_ok(&t->dirs, m, &(struct want){ CTRD_CONTAINER, "localhost/cgsight-test:1", "app",
						"web-0", "default", CTRD_UID, 0 });
	lookup_ok(&t->dirs, cg(CGS_RT_CONTAINERD, 0, CTRD_SANDBOX, ""),
		  &(struct want){ CTRD_SANDBOX, "", "POD", "web-0", "default", CTRD_UID, 1 });
	/* another namespace, found by iterating */
	lookup_ok(&t->dirs, cg(CGS_RT_CONTAINERD, 0, ID_A, ""),
		  &(struct want){ ID_A, "", "", "", "", "", 0 });
	/* guessed: not in containerd, so CRI-O */
	lookup_ok(&t->dirs, cg(CGS_RT_CONTAINERD, 1, ID_B, CRIO_UID),
		  &(struct want){ "k8s_nginx_web-0_shop_" CRIO_UID "_0", "docker.io/library/nginx:1.25",
				  "nginx", "web-0", "shop", CRIO_UID, 0 });
	lookup_ok(&t->dirs, cg(CGS_RT_CRIO, 0, ID_B, ""),
		  &(struct want){ "k8s_nginx_web-0_shop_" CRIO_UID "_0", "docker.io/library/nginx:1.25",
				  "nginx", "web-0", "shop", CRIO_UID, 0 });
	lookup_ok(&t->dirs, cg(CGS_RT_DOCKER, 0, ID_A, ""),
		  &(struct want){ "k8s_redis_redis-6b8f9c7d5-x2k4q_cache_" DOCKER_UID "_2",
				  "redis@sha256:6fdd5301ad9953d8e1a2e65ae6ee54ce63cfbe8d8326647492532124472c6de3",
				  "redis", "redis-6b8f9c7d5-x2k4q", "cache", DOCKER_UID, 0 });
	/* podman: name and image from containers.json */
	assert_int_equal(cgs_cgpath_match("/libpod_parent/libpod-" PODMAN_ID, &m), 1);
	lookup_ok(&t->dirs, m, &(struct want){ "cgs-web", "localhost/cgsight-test:1", "", "", "", "", 0 });
}

static void test_lookup_fallbacks(void **state)
{
	struct tree *t = *state;
	char p[512];
	const char *spec16 = "{\"ociVersion\":\"1.0.2-dev\",\"annotations\":{"
			     "\"io.kubernetes.cri.container-type\":\"container\","
			     "\"io.kubernetes.cri.container-name\":\"side\","
			     "\"io.kubernetes.cri.sandbox-name\":\"p\","
			     "\"io.kubernetes.cri.sandbox-namespace\":\"n\"}}";
	const char *store = "[{\"id\":\"" ID_B "\",\"names\":[],"
			    "\"metadata\":\"{\\\"image-name\\\":\\\"img:2\\\",\\\"name\\\":\\\"meta-name\\\"}\"}]";

	/* containerd before 1.7 writes no sandbox-uid: the cgroup's pod uid fills it */
	put(at(p, "%s/k8s.io/%s/config.json", t->containerd, ID_B), spec16, strlen(spec16));
	lookup_ok(&t->dirs, cg(CGS_RT_CONTAINERD, 1, ID_B, CTRD_UID),
		  &(struct want){ ID_B, "", "side", "p", "n", CTRD_UID, 0 });

	/* podman without any storage record: name falls back to the id */
	put_fixture(at(p, "%s/%s/userdata/config.json", t->podman, ID_A), FIX "podman/config.json");
	lookup_ok(&t->dirs, cg(CGS_RT_PODMAN, 0, ID_A, ""),
		  &(struct want){ ID_A, "", "", "", "", "", 0 });
	/* a record in volatile-containers.json, with names empty: metadata wins */
	put_fixture(at(p, "%s/%s/userdata/config.json", t->podman, ID_B), FIX "podman/config.json");
	put(at(p, "%s/volatile-containers.json", t->podman), store, strlen(store));
	lookup_ok(&t->dirs, cg(CGS_RT_PODMAN, 0, ID_B, ""),
		  &(struct want){ "meta-name", "img:2", "", "", "", "", 0 });
	/* a garbled storage file is an error, not a silent fallback */
	put_fixture(at(p, "%s/volatile-containers.json", t->podman), FIX "garbled/truncated.containers.json");
	lookup_err(&t->dirs, cg(CGS_RT_PODMAN, 0, ID_B, ""), -EBADMSG);
	unlink(at(p, "%s/volatile-containers.json", t->podman));
}

static void test_lookup_errors(void **state)
{
	struct tree *t = *state;
	struct cgs_runtime_dirs none = { NULL, "", NULL, "" };
	struct cgs_runtime_dirs missing = { "/nonexistent/cgs", "/nonexistent/cgs", "/nonexistent/cgs",
					    "/nonexistent/cgs" };
	struct cgs_cgpath m;
	struct cgs_meta meta;
	char p[512];
	int fd;

	/* no state */
	lookup_err(&t->dirs, cg(CGS_RT_CONTAINERD, 0, ID_B, ""), -ENOENT);
	lookup_err(&t->dirs, cg(CGS_RT_CRIO, 0, ID_A, ""), -ENOENT);
	lookup_err(&t->dirs, cg(CGS_RT_DOCKER, 0, ID_B, ""), -ENOENT);
	lookup_err(&t->dirs, cg(CGS_RT_PODMAN, 0, ID_B, ""), -ENOENT);
	lookup_err(&t->dirs, cg(CGS_RT_NONE, 0, ID_A, ""), -ENOENT);
	lookup_err(&t->dirs, cg(CGS_RT__COUNT, 0, ID_A, ""), -ENOENT);
	for (int rt = CGS_RT_CONTAINERD; rt < CGS_RT__COUNT; rt++) {
		lookup_err(&none, cg((enum cgs_runtime)rt, 1, ID_A, ""), -ENOENT);
		lookup_err(&missing, cg((enum cgs_runtime)rt, 1, ID_A, ""), -ENOENT);
	}
	/* <dir>/<id> is a file, not a directory */
	put(at(p, "%s/%s", t->docker, ID_B), "x", 1);
	lookup_err(&t->dirs, cg(CGS_RT_DOCKER, 0, ID_B, ""), -ENOENT);
	unlink(p);

	/* garbled, too big, not a regular file */
	put_fixture(at(p, "%s/%s/userdata/config.json", t->crio, ID_A), FIX "garbled/truncated.config.json");
	lookup_err(&t->dirs, cg(CGS_RT_CRIO, 0, ID_A, ""), -EBADMSG);
	fd = open(p, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(4u << 20) + 1), 0);
	close(fd);
	lookup_err(&t->dirs, cg(CGS_RT_CRIO, 0, ID_A, ""), -E2BIG);
	unlink(p);
	mkdirs(p);
	lookup_err(&t->dirs, cg(CGS_RT_CRIO, 0, ID_A, ""), -EBADMSG);
	rmdir(p);
	assert_int_equal(mkfifo(p, 0600), 0);
	lookup_err(&t->dirs, cg(CGS_RT_CRIO, 0, ID_A, ""), -EBADMSG);
	unlink(p);
	put(at(p, "%s/%s/config.v2.json", t->docker, ID_B), "", 0);
	lookup_err(&t->dirs, cg(CGS_RT_DOCKER, 0, ID_B, ""), -EBADMSG);

	/* hostile ids and arguments */
	lookup_err(&t->dirs, cg(CGS_RT_DOCKER, 0, "../" ID_A, ""), -EINVAL);
	lookup_err(&t->dirs, cg(CGS_RT_DOCKER, 0, "a/b", ""), -EINVAL);
	lookup_err(&t->dirs, cg(CGS_RT_DOCKER, 0, "..", ""), -EINVAL);
	lookup_err(&t->dirs, cg(CGS_RT_DOCKER, 0, "", ""), -EINVAL);
	m = cg(CGS_RT_DOCKER, 0, ID_A, "");
	memset(m.id, 'a', sizeof(m.id)); /* no terminator */
	lookup_err(&t->dirs, m, -EINVAL);
	assert_int_equal(cgs_runtime_lookup(NULL, &m, &meta), -EINVAL);
	assert_int_equal(cgs_runtime_lookup(&t->dirs, NULL, &meta), -EINVAL);
	m = cg(CGS_RT_DOCKER, 0, ID_A, "");
	assert_int_equal(cgs_runtime_lookup(&t->dirs, &m, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_containerd),
		cmocka_unit_test(test_crio),
		cmocka_unit_test(test_podman),
		cmocka_unit_test(test_docker),
		cmocka_unit_test(test_garbled),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_byte_flips),
		cmocka_unit_test_setup_teardown(test_lookup_found, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_lookup_fallbacks, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_lookup_errors, tree_setup, tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
