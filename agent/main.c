/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgsight's command line: `agent` (the daemon), `check` (feature report),
 * `config` (print the documented default configuration), `version`.
 * Configuration errors exit with status 2 and name the key and its source.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collectors/collector.h"
#include "agent.h"
#include "bpf_probe.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "top/main.h"

extern char **environ;

static void usage(FILE *f)
{
	fprintf(f, "usage: cgsight <command> [options]\n\n"
		   "commands:\n"
		   "  agent     run the node agent (serves /metrics, /healthz, /api/v1/containers)\n"
		   "  check     report what this kernel and host offer, and what the agent will use\n"
		   "  config    print the default configuration file, documented\n"
		   "  metrics   print the metric reference (Markdown)\n"
		   "  top       live view of every container on the node (ncurses; --help for keys)\n"
		   /* anchor:usage-top */""
		   "  version   print the version\n\n"
		   "`cgsight <command> --help` for a command's options.\n");
}

static void usage_cmd(FILE *f, const char *cmd)
{
	fprintf(f, "usage: cgsight %s [--config FILE] [--check-config] [options]\n\n"
		   "  --config FILE\n      YAML configuration file (also CGSIGHT_CONFIG)\n"
		   "  --check-config\n      validate the configuration and exit (0 valid, 2 invalid)\n",
		cmd);
	cgs_config_write_help(f);
	fprintf(f, "\nEvery option is also a key of the configuration file and a CGSIGHT_<KEY>\n"
		   "environment variable; flags win over the environment, which wins over the file.\n");
}

/* The metric reference of the README, from the metric table itself. */
static void print_metric_reference(void)
{
	static const char *const kinds[] = { "counter", "gauge", "histogram", "summary" };

	printf("| metric | type | extra labels | source | help |\n|---|---|---|---|---|\n");
	for (int i = 0; i < CGS_M__COUNT; i++) {
		const struct cgs_family *f = &cgs_families[i];

		printf("| `%s` | %s | %s", f->name, kinds[f->kind],
		       f->labels[0] ? f->labels[0] : (f->scope == CGS_SCOPE_AGENT ? "(agent)" : ""));
		for (int l = 1; l < CGS_METRIC_MAX_LABELS && f->labels[l]; l++)
			printf(", %s", f->labels[l]);
		printf(" | %s | %s |\n", f->source, f->help);
	}
}

/*
 * The configuration from its sources: defaults, file, environment, flags.
 * 0, or -EINVAL with the message in `err`. Prints nothing: also used for
 * SIGHUP (reload_config), when the agent is running.
 */
static int parse_config(int argc, char **argv, const char *cmd, struct cgs_config *cfg, int *check_only, char *err,
			size_t errlen)
{
	const char *file = getenv("CGSIGHT_CONFIG");
	int i;

	cgs_config_defaults(cfg);
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			file = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			file = argv[i] + 9;
	}
	if (file && *file && cgs_config_load_file(cfg, file, err, errlen) < 0)
		return -EINVAL;
	if (cgs_config_load_env(cfg, environ, err, errlen) < 0)
		return -EINVAL;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		char key[96], where[128];

		if (!strcmp(a, "--config")) {
			i++;
			continue;
		}
		if (!strncmp(a, "--config=", 9))
			continue;
		if (!strcmp(a, "--check-config")) {
			*check_only = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "cgsight %s: unexpected argument '%s'", cmd, a);
			return -EINVAL;
		}
		eq = strchr(a, '=');
		if (eq) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - a - 2), a + 2);
			val = eq + 1;
		} else {
			snprintf(key, sizeof(key), "%s", a + 2);
			if (i + 1 >= argc) {
				snprintf(err, errlen, "cgsight %s: option '%s' needs a value", cmd, a);
				return -EINVAL;
			}
			val = argv[++i];
		}
		snprintf(where, sizeof(where), "option --%s", key);
		if (cgs_config_set(cfg, key, val, where, err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

/* Loads file, environment and flags. Returns 0, 1 for --help handled, or 2 on error. */
static int load_config(int argc, char **argv, const char *cmd, struct cgs_config *cfg, int *check_only)
{
	char err[PATH_MAX + 256];

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage_cmd(stdout, cmd);
			return 1;
		}
		if (!strcmp(argv[i], "--config"))
			i++;
	}
	if (parse_config(argc, argv, cmd, cfg, check_only, err, sizeof(err)) < 0) {
		/* Messages about the command line itself name the command; the others are configuration errors. */
		if (!strncmp(err, "cgsight ", 8))
			fprintf(stderr, "%s\n", err);
		else
			fprintf(stderr, "cgsight: configuration error: %s\n", err);
		return 2;
	}
	return 0;
}

/* The agent's command line, for SIGHUP. */
static int agent_argc;
static char **agent_argv;

/* SIGHUP: the configuration again, from the same file, environment and flags. */
static int reload_config(struct cgs_config *cfg, char *err, size_t errlen)
{
	int check_only = 0;

	return parse_config(agent_argc, agent_argv, "agent", cfg, &check_only, err, errlen);
}

int main(int argc, char **argv)
{
	struct cgs_config cfg;
	int check_only = 0, r;
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("cgsight %s\n", CGS_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "top"))
		return cgs_top_main(argc - 2, argv + 2);
	/* anchor:cmd-top */
	if (!strcmp(cmd, "metrics")) {
		print_metric_reference();
		return 0;
	}
	if (!strcmp(cmd, "config")) {
		cgs_config_write_defaults(stdout);
		return 0;
	}
	if (strcmp(cmd, "agent") != 0 && strcmp(cmd, "check") != 0) {
		fprintf(stderr, "cgsight: unknown command '%s'\n\n", cmd);
		usage(stderr);
		return 2;
	}
	r = load_config(argc - 2, argv + 2, cmd, &cfg, &check_only);
	if (r)
		return r == 1 ? 0 : r;
	if (check_only) {
		printf("configuration is valid\n");
		return 0;
	}
	cgs_log_set_level((enum cgs_log_level)cfg.log_level);
	{
		struct cgs_test_disable td;
		char err[256];

		if (cgs_test_disable_parse(getenv(CGS_TEST_DISABLE_ENV), &td, err, sizeof(err)) < 0) {
			fprintf(stderr, "cgsight: %s\n", err);
			return 2;
		}
		for (size_t i = 0; i < td.ncollectors; i++) {
			size_t c = 0;

			while (cgs_collectors[c] && strcmp(cgs_collectors[c]->name, td.collectors[i]))
				c++;
			if (!cgs_collectors[c]) {
				fprintf(stderr, "cgsight: %s: no collector named '%s'\n", CGS_TEST_DISABLE_ENV,
					td.collectors[i]);
				return 2;
			}
		}
	}
	if (!strcmp(cmd, "check"))
		return cgs_agent_check(&cfg);
	agent_argc = argc - 2;
	agent_argv = argv + 2;
	return cgs_agent_run(&cfg, reload_config);
}
