/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the configuration table and loader (agent/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/log.h"

static int load(struct cgs_config *cfg, const char *yaml, char *err, size_t errlen)
{
	cgs_config_defaults(cfg);
	return cgs_config_load_string(cfg, yaml, strlen(yaml), "test.yaml", err, errlen);
}

static void test_defaults(void **state)
{
	struct cgs_config cfg;
	(void)state;

	cgs_config_defaults(&cfg);
	assert_string_equal(cfg.listen, ":9338");
	assert_int_equal(cfg.interval_ms, 15000);
	assert_int_equal(cfg.rescan_interval_ms, 30000);
	assert_int_equal(cfg.log_level, CGS_LOG_INFO);
	assert_true(cfg.bpf);
	assert_string_equal(cfg.proc_root, "/proc");
	assert_int_equal(cfg.max_series_per_container, 300);
	assert_int_equal(cfg.syscalls_top_k, 10);
	assert_int_equal(cfg.syscalls_max_containers, 4096);
}

static void test_valid_file(void **state)
{
	struct cgs_config cfg;
	char err[512] = "";
	(void)state;

	assert_int_equal(load(&cfg,
			      "# comment\n"
			      "listen: 127.0.0.1:19338\n"
			      "interval: 500ms\n"
			      "rescan_interval: 2m\n"
			      "log_level: debug\n"
			      "bpf: false\n"
			      "cgroup_root: /host/sys/fs/cgroup\n"
			      "max_containers: 1000\n"
			      "syscalls_top_k: 25\n"
			      "syscalls_max_containers: 100\n"
			      "node_name:\n",
			      err, sizeof(err)),
			 0);
	assert_string_equal(cfg.listen, "127.0.0.1:19338");
	assert_int_equal(cfg.interval_ms, 500);
	assert_int_equal(cfg.rescan_interval_ms, 120000);
	assert_int_equal(cfg.log_level, CGS_LOG_DEBUG);
	assert_false(cfg.bpf);
	assert_string_equal(cfg.cgroup_root, "/host/sys/fs/cgroup");
	assert_int_equal(cfg.max_containers, 1000);
	assert_int_equal(cfg.syscalls_top_k, 25);
	assert_int_equal(cfg.syscalls_max_containers, 100);
	assert_string_equal(cfg.node_name, "");
}

static void test_unknown_key_names_key_and_line(void **state)
{
	struct cgs_config cfg;
	char err[512] = "";
	(void)state;

	assert_int_equal(load(&cfg, "listen: :1234\n\ninterva: 5s\n", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "line 3"));
	assert_non_null(strstr(err, "'interva'"));
}

static void test_bad_values(void **state)
{
	struct cgs_config cfg;
	char err[512];
	(void)state;
	const struct {
		const char *yaml;
		const char *needle;
	} cases[] = {
		{ "interval: fast\n", "duration" },
		{ "interval: 1ms\n", "between" },
		{ "interval: -5s\n", "duration" },
		{ "max_containers: 0\n", "between" },
		{ "max_containers: 12abc\n", "integer" },
		{ "syscalls_top_k: 0\n", "between" },
		{ "syscalls_top_k: 101\n", "between" },
		{ "syscalls_max_containers: 0\n", "between" },
		{ "max_containers: 99999999999999999999999\n", "integer" },
		{ "bpf: maybe\n", "true or false" },
		{ "log_level: loud\n", "error, warn" },
		{ "listen: 9338\n", "ADDR:PORT" },
		{ "listen: 127.0.0.1:70000\n", "ADDR:PORT" },
		{ "listen: ::1:80\n", "ADDR:PORT" },
		{ "proc_root: relative/path\n", "absolute" },
		{ "listen:\n  - a\n", "not a list" },
		{ "listen:\n  host: x\n", "not a mapping" },
		{ "- a\n- b\n", "list" },
		{ "just a string\n", "mapping" },
		{ "listen: \"unclosed\n", "YAML syntax" },
		{ "listen: \":1\"\n  bpf: true\n", "YAML syntax" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		int r = load(&cfg, cases[i].yaml, err, sizeof(err));

		if (r == 0 || !strstr(err, cases[i].needle))
			fail_msg("case %zu (%s): r=%d err='%s'", i, cases[i].yaml, r, err);
		assert_non_null(strstr(err, "line "));
	}
}

static void test_env_and_flags(void **state)
{
	struct cgs_config cfg;
	char err[512] = "";
	char *env[] = { "PATH=/bin", "CGSIGHT_LISTEN=[::1]:19339", "CGSIGHT_LOG_LEVEL=warn", NULL };
	char *k8senv[] = { "CGSIGHT_SERVICE_HOST=10.0.0.1", "CGSIGHT_PORT=tcp://10.0.0.1:9338", NULL };
	char *badenv[] = { "CGSIGHT_INTERVAL=soon", NULL };
	char host[64];
	uint16_t port;
	(void)state;

	cgs_config_defaults(&cfg);
	assert_int_equal(cgs_config_load_env(&cfg, env, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen, "[::1]:19339");
	assert_int_equal(cfg.log_level, CGS_LOG_WARN);
	assert_int_equal(cgs_config_listen_split(cfg.listen, host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 19339);
	/* Service discovery variables Kubernetes injects are not keys: ignored. */
	assert_int_equal(cgs_config_load_env(&cfg, k8senv, err, sizeof(err)), 0);
	assert_int_equal(cgs_config_load_env(&cfg, badenv, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "CGSIGHT_INTERVAL"));
	/* Flags spell keys with dashes. */
	assert_int_equal(cgs_config_set(&cfg, "rescan-interval", "7s", "option --rescan-interval", err, sizeof(err)), 0);
	assert_int_equal(cfg.rescan_interval_ms, 7000);
	assert_int_equal(cgs_config_set(&cfg, "interval", "0.5", "option --interval", err, sizeof(err)), 0);
	assert_int_equal(cfg.interval_ms, 500);
}

static void test_defaults_document_roundtrips(void **state)
{
	/* The documented default file, as written by `cgsight config`, loads back to the defaults. */
	struct cgs_config a, b;
	char *buf = NULL, err[512] = "";
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	(void)state;

	cgs_config_write_defaults(f);
	fclose(f);
	cgs_config_defaults(&a);
	assert_int_equal(load(&b, buf, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	free(buf);
}

static size_t list_items(const char *list, const char **items, size_t max)
{
	size_t n = 0;

	for (const char *p = list; *p && n < max; p += strlen(p) + 1)
		items[n++] = p;
	return n;
}

static void test_list_values(void **state)
{
	struct cgs_config cfg;
	char err[512] = "";
	const char *it[8];
	const char *const seq[] = { "/x/*.log", " ", "/y,z/a.log" };
	char *env[] = { "CGSIGHT_LOG_PATHS=/e/1.log, /e/2.log,,", NULL };
	char big[CGS_CFG_LIST_MAX + 16];
	(void)state;

	/* The default: three patterns. */
	cgs_config_defaults(&cfg);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 3);
	assert_string_equal(it[0], "/var/log/containers/*.log");
	assert_string_equal(it[2], "/var/lib/containers/storage/overlay-containers/*/userdata/ctr.log");
	/* A YAML block sequence, a flow sequence, a scalar with commas, an empty list. */
	assert_int_equal(load(&cfg, "log_paths:\n  - /a/*.log\n  - \"/b/c d.log\"\nlogs: true\n", err, sizeof(err)), 0);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 2);
	assert_string_equal(it[0], "/a/*.log");
	assert_string_equal(it[1], "/b/c d.log");
	assert_true(cfg.logs);
	assert_int_equal(load(&cfg, "log_paths: [\"/a,b.log\", /c.log]\n", err, sizeof(err)), 0);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 2);
	assert_string_equal(it[0], "/a,b.log"); /* a sequence item is never split at commas */
	assert_int_equal(load(&cfg, "log_paths: /a.log,/b.log , /c.log\n", err, sizeof(err)), 0);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 3);
	assert_string_equal(it[1], "/b.log");
	assert_int_equal(load(&cfg, "log_paths: []\n", err, sizeof(err)), 0);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 0);
	/* A null keeps the default. */
	assert_int_equal(load(&cfg, "log_paths:\n", err, sizeof(err)), 0);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 3);
	/* Environment and flags: comma-separated, trimmed, empty items skipped. */
	cgs_config_defaults(&cfg);
	assert_int_equal(cgs_config_load_env(&cfg, env, err, sizeof(err)), 0);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 2);
	assert_string_equal(it[1], "/e/2.log");
	assert_int_equal(cgs_config_set(&cfg, "log-paths", "/f.log", "option --log-paths", err, sizeof(err)), 0);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 1);
	assert_int_equal(cgs_config_set_list(&cfg, "log_paths", seq, 3, "test", err, sizeof(err)), 0);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 2);
	assert_string_equal(it[1], "/y,z/a.log");
	/* Errors name the key and line and leave the value alone. */
	assert_int_equal(load(&cfg, "log_paths:\n  - /ok.log\n  - relative.log\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 1"));
	assert_non_null(strstr(err, "'log_paths'"));
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(list_items(cfg.log_paths, it, 8), 3);
	assert_int_equal(load(&cfg, "log_paths:\n  - [/a.log]\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not of lists"));
	assert_int_equal(load(&cfg, "log_paths:\n  - a: b\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not of mappings"));
	assert_int_equal(load(&cfg, "listen: [a]\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a list"));
	assert_int_equal(cgs_config_set_list(&cfg, "listen", seq, 1, "test", err, sizeof(err)), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cgs_config_set(&cfg, "log_paths", big, "test", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too long"));
	/* A list key's documented default round-trips (also in test_defaults_document_roundtrips). */
	assert_int_equal(load(&cfg, "log_paths:\n  - \"/var/log/containers/*.log\"\n", err, sizeof(err)), 0);
	assert_int_equal(list_items(cfg.log_paths, it, 8), 1);
}

/* What SIGHUP compares: exactly the keys whose value changed, for every type. */
static void test_key_equal(void **state)
{
	static struct cgs_config a, b; /* large: not on the stack */
	static const char *const changes[][2] = {
		{ "listen", "127.0.0.1:1" }, { "proc_root", "/p" }, { "fluentd_tag", "t" }, { "interval", "2s" },
		{ "max_containers", "7" }, { "bpf", "false" }, { "log_level", "debug" }, { "log_paths", "/x/*.log" },
	};
	char err[512];
	(void)state;

	cgs_config_defaults(&a);
	for (size_t c = 0; c < sizeof(changes) / sizeof(changes[0]); c++) {
		cgs_config_defaults(&b);
		assert_int_equal(cgs_config_set(&b, changes[c][0], changes[c][1], "test", err, sizeof(err)), 0);
		for (size_t i = 0; i < cgs_cfg_nkeys; i++) {
			bool same = strcmp(cgs_cfg_keys[i].key, changes[c][0]) != 0;

			if (cgs_config_key_equal(&cgs_cfg_keys[i], &a, &b) != same)
				fail_msg("%s changed: %s compares %s", changes[c][0], cgs_cfg_keys[i].key,
					 same ? "different" : "equal");
		}
	}
	/* The same value set again (a list rewritten with the same items) is equal. */
	cgs_config_defaults(&b);
	assert_int_equal(cgs_config_set(&b, "log_paths", "/a.log,/b.log", "test", err, sizeof(err)), 0);
	assert_int_equal(cgs_config_set(&a, "log_paths", "/a.log, /b.log", "test", err, sizeof(err)), 0);
	for (size_t i = 0; i < cgs_cfg_nkeys; i++)
		assert_true(cgs_config_key_equal(&cgs_cfg_keys[i], &a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_valid_file),
		cmocka_unit_test(test_unknown_key_names_key_and_line),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_env_and_flags),
		cmocka_unit_test(test_defaults_document_roundtrips),
		cmocka_unit_test(test_list_values),
		cmocka_unit_test(test_key_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
