/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cgsight top`: options, the agent it talks to (the local one, or with
 * --standalone a private agent started as a child process on a loopback
 * port and stopped on exit), and the event loop: one wait on the terminal
 * and the transfer under way (curl_multi_poll), one fetch per interval that
 * never blocks the keys, one frame per change.
 */
#include "main.h"

#include <curl/curl.h>
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "model.h"
#include "view.h"

#define CGS_TOP_DEFAULT_URL "http://127.0.0.1:9338"

struct opts {
	const char *url;
	double interval;     /* seconds */
	bool standalone;
	bool node_cpu;
	bool ascii;
	bool no_color;
	bool running;
	bool reverse;
	int sort;
	unsigned cols;
	const char *filter;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cgsight top [options]\n\n"
		"A live view of every container on the node, from the local agent's /api/v1/containers.\n\n"
		"  --url URL         the agent (default " CGS_TOP_DEFAULT_URL ", also CGSIGHT_TOP_URL)\n"
		"  --standalone      run a private agent in the background for a one-off look (root)\n"
		"  --interval DUR    refresh interval (default 1s; 500ms, 2s, ...)\n"
		"  --node-cpu        CPU%% of the whole node instead of one core\n"
		"  --columns LIST    columns to show, e.g. name,cpu,mem,status (default all):\n"
		"                    ");
	for (int c = 0; c < CGS_TOP_C__COUNT; c++)
		fprintf(f, "%s%s", cgs_top_cols[c].key, c + 1 < CGS_TOP_C__COUNT ? "," : "\n");
	fprintf(f,
		"  --sort COL        sort column (default cpu); --reverse reverses it\n"
		"  --filter TEXT     start with a filter\n"
		"  --running         show running containers only (key a toggles)\n"
		"  --ascii           ASCII bars and sparklines (default in non-UTF-8 locales)\n"
		"  --no-color        no colours (also when NO_COLOR is set)\n\n"
		"Keys: s sort, r reverse, f or / filter, Esc clear filter, a all/running, Enter or o\n"
		"details, l logs, c columns, h help, q quit; arrows and PgUp/PgDn move.\n");
}

static int parse_interval(const char *s, double *out)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(s, &end);
	if (errno || end == s || !(x > 0))
		return -EINVAL;
	if (!strcmp(end, "ms"))
		x /= 1000;
	else if (!strcmp(end, "m"))
		x *= 60;
	else if (*end && strcmp(end, "s") != 0)
		return -EINVAL;
	if (x < 0.1 || x > 3600)
		return -ERANGE;
	*out = x;
	return 0;
}

/* 0, 1 for --help, 2 for a bad option (reported). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	o->url = getenv("CGSIGHT_TOP_URL") && *getenv("CGSIGHT_TOP_URL") ? getenv("CGSIGHT_TOP_URL")
									 : CGS_TOP_DEFAULT_URL;
	o->interval = 1;
	o->sort = CGS_TOP_C_CPU;
	o->cols = CGS_TOP_COLS_ALL;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '='), *val = NULL;
		char key[32];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "cgsight top: unexpected argument '%s'\n", a);
			return 2;
		}
		snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - a - 2) : (int)strlen(a + 2), a + 2);
		for (char *p = key; *p; p++)
			if (*p == '_')
				*p = '-';
		if (!strcmp(key, "standalone") || !strcmp(key, "node-cpu") || !strcmp(key, "ascii") ||
		    !strcmp(key, "no-color") || !strcmp(key, "running") || !strcmp(key, "reverse")) {
			if (eq) {
				fprintf(stderr, "cgsight top: --%s takes no value\n", key);
				return 2;
			}
			*(!strcmp(key, "standalone") ? &o->standalone
			  : !strcmp(key, "node-cpu") ? &o->node_cpu
			  : !strcmp(key, "ascii")    ? &o->ascii
			  : !strcmp(key, "no-color") ? &o->no_color
			  : !strcmp(key, "running")  ? &o->running
						     : &o->reverse) = true;
			continue;
		}
		if (strcmp(key, "url") && strcmp(key, "interval") && strcmp(key, "columns") && strcmp(key, "sort") &&
		    strcmp(key, "filter")) {
			fprintf(stderr, "cgsight top: unknown option '%s' (see --help)\n", a);
			return 2;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, "cgsight top: option '%s' needs a value\n", a);
			return 2;
		}
		if (!strcmp(key, "url")) {
			o->url = val;
		} else if (!strcmp(key, "interval")) {
			if (parse_interval(val, &o->interval) < 0) {
				fprintf(stderr, "cgsight top: --interval: '%s' is not a duration between 100ms and 1h\n", val);
				return 2;
			}
		} else if (!strcmp(key, "columns")) {
			if (cgs_top_cols_parse(val, &o->cols) < 0) {
				fprintf(stderr, "cgsight top: --columns: unknown column in '%s' (see --help)\n", val);
				return 2;
			}
		} else if (!strcmp(key, "sort")) {
			o->sort = cgs_top_col_parse(val);
			if (o->sort < 0) {
				fprintf(stderr, "cgsight top: --sort: unknown column '%s' (see --help)\n", val);
				return 2;
			}
		} else {
			o->filter = val;
		}
	}
	return 0;
}

/* ---- --standalone: a private agent ------------------------------------------- */

struct child {
	pid_t pid;
	int logfd;
};

static void child_log(const struct child *ch, FILE *f)
{
	char buf[4096];
	ssize_t n = pread(ch->logfd, buf, sizeof(buf) - 1, 0);

	if (n > 0) {
		buf[n] = '\0';
		fprintf(f, "%s", buf);
	}
}

static void child_stop(struct child *ch)
{
	if (ch->pid <= 0)
		return;
	kill(ch->pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(ch->pid, NULL, WNOHANG) == ch->pid) {
			ch->pid = -1;
			break;
		}
		usleep(100000);
	}
	if (ch->pid > 0) {
		kill(ch->pid, SIGKILL);
		waitpid(ch->pid, NULL, 0);
		ch->pid = -1;
	}
	if (ch->logfd >= 0)
		close(ch->logfd);
	ch->logfd = -1;
}

/* Starts `cgsight agent` on a loopback port; returns the port, or -1 (reported). */
static int child_start(struct child *ch, double interval)
{
	char exe[PATH_MAX], tmpl[] = "/tmp/cgsight-top-XXXXXX", ival[32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0) {
		fprintf(stderr, "cgsight top: cannot find my own executable: %s\n", strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	ch->logfd = mkostemp(tmpl, O_CLOEXEC);
	if (ch->logfd < 0) {
		fprintf(stderr, "cgsight top: cannot create a log file for the agent: %s\n", strerror(errno));
		return -1;
	}
	unlink(tmpl);
	snprintf(ival, sizeof(ival), "%.0fms", (interval < 1 ? 1 : interval) * 1000);
	ch->pid = fork();
	if (ch->pid < 0) {
		fprintf(stderr, "cgsight top: fork: %s\n", strerror(errno));
		return -1;
	}
	if (ch->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (null >= 0)
			dup2(null, 0);
		dup2(ch->logfd, 1);
		dup2(ch->logfd, 2);
		execl(exe, exe, "agent", "--listen", "127.0.0.1:0", "--interval", ival, "--log-level", "info",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 150; i++) {
		char buf[8192], *p;
		ssize_t len = pread(ch->logfd, buf, sizeof(buf) - 1, 0);

		if (len > 0) {
			buf[len] = '\0';
			p = strstr(buf, "serving on ");
			if (p && (p = strstr(p, "(port ")))
				return atoi(p + 6);
		}
		if (waitpid(ch->pid, NULL, WNOHANG) == ch->pid) {
			ch->pid = -1;
			fprintf(stderr, "cgsight top: the standalone agent exited:\n");
			child_log(ch, stderr);
			return -1;
		}
		usleep(100000);
	}
	fprintf(stderr, "cgsight top: the standalone agent did not start within 15 s:\n");
	child_log(ch, stderr);
	return -1;
}

/* ---- the loop ----------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The node's CPUs and memory, when the agent is on this host. */
static void node_facts(struct cgs_top_model *m, const char *url, bool standalone)
{
	const char *h = strstr(url, "://");
	FILE *f;
	char line[256];

	h = h ? h + 3 : url;
	if (!standalone && strncmp(h, "127.", 4) && strncmp(h, "localhost", 9) && strncmp(h, "[::1]", 5))
		return;
	m->node_cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
	f = fopen("/proc/meminfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
			m->node_mem = (double)kb * 1024;
			break;
		}
	}
	fclose(f);
}

/* Applies the outcome of a fetch (r from cgs_top_client_step or _fetch). */
static int fetched(int r, struct cgs_top_snap *s, struct cgs_top_client *cl, struct cgs_top_model *m,
		   struct cgs_top_ui *ui)
{
	if (r < 0) {
		snprintf(ui->conn_err, sizeof(ui->conn_err), "%s", cgs_top_client_error(cl));
		return r;
	}
	ui->conn_err[0] = '\0';
	if (r > 0) {
		r = cgs_top_model_update(m, s);
		cgs_top_snap_free(s);
	}
	return r;
}

static int run(const struct opts *o, struct cgs_top_client *cl, struct cgs_top_model *m, struct cgs_top_ui *ui)
{
	double next = clock_s(CLOCK_MONOTONIC) + o->interval;
	bool dirty = true;
	int idle_reads = 0;
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	cgs_top_view_start(ui, !o->no_color);
	while (!stop_requested) {
		double now = clock_s(CLOCK_MONOTONIC);
		bool ready = false;
		int k, timeout, n = 0;

		/* One transfer at a time; the terminal is served while it runs. */
		if (!cgs_top_client_busy(cl) && now >= next) {
			if (cgs_top_client_start(cl, m->have, m->generation) < 0)
				fetched(-EIO, NULL, cl, m, ui);
			next = now + o->interval;
		}
		if (cgs_top_client_busy(cl)) {
			struct cgs_top_snap *s = NULL;
			int r = cgs_top_client_step(cl, &s);

			if (r != CGS_TOP_FETCH_RUNNING) {
				fetched(r, s, cl, m, ui);
				dirty = true;
			}
		}
		if (dirty) {
			cgs_top_view_draw(ui, m, clock_s(CLOCK_REALTIME));
			dirty = false;
		}
		timeout = (int)ceil((next - clock_s(CLOCK_MONOTONIC)) * 1000);
		if (timeout < 0)
			timeout = 0;
		if (cgs_top_client_busy(cl) && timeout > 1000)
			timeout = 1000;
		if (cgs_top_client_wait(cl, STDIN_FILENO, timeout, &ready) < 0)
			break;
		while ((k = getch()) != ERR) {
			n++;
			dirty = true;
			if (k == KEY_RESIZE)
				continue;
			if (cgs_top_view_key(ui, m, k, clock_s(CLOCK_REALTIME)))
				stop_requested = 1;
		}
		/* Readable but nothing to read, again and again: the terminal went away. */
		idle_reads = ready && !n ? idle_reads + 1 : 0;
		if (idle_reads > 100)
			break;
	}
	cgs_top_view_stop();
	return 0;
}

int cgs_top_main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct child ch = { .pid = -1, .logfd = -1 };
	struct cgs_top_client *cl = NULL;
	struct cgs_top_model *m = NULL;
	struct cgs_top_ui ui = { 0 };
	char url[64];
	const char *nc = getenv("NO_COLOR");
	int r, rc = 1;

	r = parse_args(argc, argv, &o);
	if (r)
		return r == 1 ? 0 : 2;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "cgsight top: needs a terminal\n");
		return 2;
	}
	setlocale(LC_ALL, "");
	ui.utf8 = !o.ascii && !strcmp(nl_langinfo(CODESET), "UTF-8");
	ui.g = ui.utf8 ? &cgs_top_glyphs_utf8 : &cgs_top_glyphs_ascii;
	if (nc && *nc)
		o.no_color = true;
	ui.refresh_s = o.interval;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "cgsight top: cannot initialise libcurl\n");
		return 1;
	}
	if (o.standalone) {
		int port;

		fprintf(stderr, "cgsight top: starting a standalone agent...\n");
		port = child_start(&ch, o.interval);
		if (port <= 0)
			goto out;
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
		o.url = url;
	}
	cl = cgs_top_client_new(o.url);
	m = cgs_top_model_new();
	if (!cl || !m) {
		fprintf(stderr, "cgsight top: out of memory\n");
		goto out;
	}
	m->cpu_of_node = o.node_cpu;
	m->running_only = o.running;
	m->sort = (enum cgs_top_col)o.sort;
	m->reverse = o.reverse;
	m->cols = o.cols;
	if (o.filter)
		snprintf(m->filter, sizeof(m->filter), "%s", o.filter);
	node_facts(m, o.url, o.standalone);
	ui.source = o.standalone ? "standalone" : cgs_top_client_url(cl);
	/* The first answer decides whether there is an agent at all. */
	{
		struct cgs_top_snap *s = NULL;

		r = cgs_top_client_fetch(cl, false, 0, &s);
		r = fetched(r, s, cl, m, &ui);
	}
	if (r < 0) {
		if (o.standalone) {
			fprintf(stderr, "cgsight top: the standalone agent does not answer: %s\n", ui.conn_err);
			child_log(&ch, stderr);
		} else {
			fprintf(stderr,
				"cgsight top: no cgsight agent answers at %s: %s\n\n"
				"Start one (`cgsight agent`, or the DaemonSet), point --url at it, or run\n"
				"`cgsight top --standalone` to collect in-process for a one-off look.\n",
				cgs_top_client_url(cl), ui.conn_err);
		}
		goto out;
	}
	rc = run(&o, cl, m, &ui);
out:
	cgs_top_client_free(cl);
	cgs_top_model_free(m);
	child_stop(&ch);
	curl_global_cleanup();
	return rc;
}
