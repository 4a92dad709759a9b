/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's event loop (see agent.h). Timers: the collection tick, the
 * safety-net rescan, and a short one-shot that coalesces publications after
 * container changes (at most one every CGS_AGENT_PUBLISH_DELAY_MS, so fast
 * churn costs renders, not cgroupfs passes).
 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <json-c/json.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../collectors/collector.h"
#include "bpf_probe.h"
#include "config.h"
#include "containers.h"
#include "http.h"
#include "log.h"
#include "slots.h"
#include "store.h"

#define LOG_COMP "agent"
#define CGS_AGENT_PUBLISH_DELAY_MS 200
#define MAX_COLLECTORS 16

#ifndef CGS_REVISION
#define CGS_REVISION "unknown"
#endif

struct collector_slot {
	const struct cgs_collector_ops *ops;
	void *state;
	bool up;
	int fd;
	uint64_t errors;
	struct cgs_collector_report rep;
};

struct agent {
	const struct cgs_config *cfg;
	cgs_config_reload_fn reload;
	struct cgs_cgroup_mounts mounts;
	struct cgs_bpf_features features;
	struct cgs_registry *reg;
	struct cgs_slots *slots;
	struct cgs_store *store;
	struct cgs_http *http;
	struct collector_slot col[MAX_COLLECTORS];
	size_t ncol;
	int epfd, sigfd, tick_fd, rescan_fd, publish_fd;
	unsigned pending;       /* CGS_NOTIFY_* */
	bool publish_armed;
	uint64_t generation;
	double collection_s;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int timer_arm(int fd, uint64_t first_ms, uint64_t every_ms)
{
	struct itimerspec its = {
		.it_value = { (time_t)(first_ms / 1000), (long)(first_ms % 1000) * 1000000L },
		.it_interval = { (time_t)(every_ms / 1000), (long)(every_ms % 1000) * 1000000L },
	};

	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static void notify(void *arg, unsigned what)
{
	struct agent *a = arg;

	a->pending |= what;
}

/* Collects one container with every collector; its samples replace the previous ones. */
static void collect_container(struct agent *a, struct cgs_container *c)
{
	cgs_samples_reset(&c->samples);
	cgs_samples_add(&c->samples, CGS_M_CONTAINER_START_TIME, c->start_time);
	for (size_t i = 0; i < a->ncol; i++) {
		struct collector_slot *s = &a->col[i];

		if (!s->up || !s->ops->collect)
			continue;
		int n = s->ops->collect(s->state, c, &c->samples);

		if (n > 0) {
			s->errors += (uint64_t)n;
			cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP,
					    "collector %s: %d value(s) of %s unreadable, left out (cgsight_collector_errors_total)",
					    s->ops->name, n, c->path);
		}
	}
	cgs_samples_sort(&c->samples);
	c->collected = true;
	/* Counted at every pass (cgsight_series_dropped_total); logged once per container. */
	if (c->samples.pass_dropped && !c->budget_logged) {
		c->budget_logged = true;
		cgs_log_warn(LOG_COMP,
			     "%s: %llu series over max_series_per_container (%zu) left out, %s first; "
			     "counted at every collection in cgsight_series_dropped_total{reason=\"max_series_per_container\"}",
			     c->path, (unsigned long long)c->samples.pass_dropped, c->samples.limit,
			     cgs_families[c->samples.first_dropped].name);
	}
}

static void collect_all(struct agent *a)
{
	uint64_t t0 = mono_ns();
	size_t n = cgs_registry_count(a->reg);

	for (size_t i = 0; i < a->ncol; i++)
		if (a->col[i].up && a->col[i].ops->begin)
			a->col[i].ops->begin(a->col[i].state);
	for (size_t i = 0; i < n; i++)
		collect_container(a, cgs_registry_at(a->reg, i));
	a->collection_s = (double)(mono_ns() - t0) / 1e9;
}

static void collect_new(struct agent *a)
{
	size_t n = cgs_registry_count(a->reg);

	for (size_t i = 0; i < n; i++) {
		struct cgs_container *c = cgs_registry_at(a->reg, i);

		if (!c->collected)
			collect_container(a, c);
	}
}

/* The standard process_* metrics of the agent itself, from /proc/self. */
static void process_samples(struct cgs_samples *s)
{
	static double boot_time;
	char buf[1024], *p;
	unsigned long long ut, st, start, rss_pages;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* Fields after the command (which may contain spaces) start past the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %*u %llu",
			 &ut, &st, &start, &rss_pages) != 4 || hz <= 0)
		return;
	if (!boot_time) {
		FILE *f = fopen("/proc/stat", "re");
		char line[256];

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %lf", &boot_time) == 1)
				break;
		if (f)
			fclose(f);
	}
	cgs_samples_add(s, CGS_M_PROCESS_CPU, (double)(ut + st) / (double)hz);
	cgs_samples_add(s, CGS_M_PROCESS_RSS, (double)rss_pages * (double)page);
	cgs_samples_add(s, CGS_M_PROCESS_START_TIME, boot_time + (double)start / (double)hz);
	DIR *d = opendir("/proc/self/fd");

	if (d) {
		long nfd = -1; /* the directory's own fd */

		while (readdir(d))
			nfd++;
		closedir(d);
		cgs_samples_add(s, CGS_M_PROCESS_FDS, (double)(nfd - 2)); /* minus . and .. */
	}
}

static void agent_samples(struct agent *a, struct cgs_samples *s)
{
	struct cgs_registry_stats st;
	uint64_t dropped_series;
	size_t n = cgs_registry_count(a->reg);

	cgs_registry_stats(a->reg, &st);
	dropped_series = st.series_dropped; /* of containers gone */
	for (size_t i = 0; i < n; i++)
		dropped_series += cgs_registry_at(a->reg, i)->samples.dropped;
	cgs_samples_add_l(s, CGS_M_AGENT_BUILD_INFO, CGS_VERSION, CGS_REVISION, 1);
	cgs_samples_add(s, CGS_M_AGENT_CONTAINERS, (double)n);
	cgs_samples_add(s, CGS_M_AGENT_RUNTIME_ERRORS, (double)st.runtime_errors);
	cgs_samples_add(s, CGS_M_AGENT_COLLECTION_DURATION, a->collection_s);
	process_samples(s);
	cgs_samples_add_l(s, CGS_M_AGENT_SERIES_DROPPED, "max_containers", NULL, (double)st.dropped);
	cgs_samples_add_l(s, CGS_M_AGENT_SERIES_DROPPED, "bpf_max_containers", NULL, (double)st.no_slot);
	cgs_samples_add_l(s, CGS_M_AGENT_SERIES_DROPPED, "max_series_per_container", NULL,
			  (double)dropped_series);
	for (size_t i = 0; i < a->ncol; i++) {
		struct collector_slot *c = &a->col[i];
		bool fallback = false;
		const char *variant = c->up ? cgs_collector_variant(c->ops, c->state, &fallback) : "off";

		cgs_samples_add_l(s, CGS_M_AGENT_COLLECTOR_UP, c->ops->name, NULL, c->up);
		cgs_samples_add_l(s, CGS_M_AGENT_COLLECTOR_INFO, c->ops->name, variant, 1);
		cgs_samples_add_l(s, CGS_M_AGENT_COLLECTOR_DEGRADED, c->ops->name, NULL,
				  c->up ? fallback : c->rep.degraded);
		cgs_samples_add_l(s, CGS_M_AGENT_COLLECTOR_ERRORS, c->ops->name, NULL, (double)c->errors);
		if (c->up && c->ops->collect_agent)
			c->ops->collect_agent(c->state, s);
	}
}

static void publish(struct agent *a)
{
	struct cgs_samples s;
	struct cgs_snapshot *snap;

	cgs_samples_init(&s, 0);
	agent_samples(a, &s);
	snap = cgs_snapshot_build(a->reg, &s, ++a->generation);
	cgs_samples_free(&s);
	if (!snap) {
		cgs_log_ratelimited(CGS_LOG_ERROR, LOG_COMP, "cannot build a snapshot: %s", strerror(errno));
		return;
	}
	json_object *ev = json_object_new_array();

	for (size_t i = 0; ev && i < a->ncol; i++)
		if (a->col[i].up && a->col[i].ops->api_events)
			a->col[i].ops->api_events(a->col[i].state, ev);
	if (ev) {
		const char *t = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);

		snap->events_json = t ? strdup(t) : NULL;
		json_object_put(ev);
	}
	cgs_store_publish(a->store, snap);
}

static void rescan(struct agent *a)
{
	int r = cgs_registry_rescan(a->reg);

	if (r < 0)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cgroup tree walk incomplete: %s", strerror(-r));
	else if (r > 0)
		a->pending |= CGS_NOTIFY_CHANGED;
}

static void handle_pending(struct agent *a)
{
	if (a->pending & CGS_NOTIFY_RESCAN)
		rescan(a);
	if (a->pending & CGS_NOTIFY_CHANGED) {
		collect_new(a);
		if (!a->publish_armed && timer_arm(a->publish_fd, CGS_AGENT_PUBLISH_DELAY_MS, 0) == 0)
			a->publish_armed = true;
	}
	a->pending = 0;
}

static int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

enum { TAG_SIGNAL = 1000, TAG_TICK, TAG_RESCAN, TAG_PUBLISH };

static void drain(int fd)
{
	uint64_t x;

	while (read(fd, &x, sizeof(x)) == (ssize_t)sizeof(x))
		;
}

static void agent_teardown(struct agent *a)
{
	cgs_http_stop(a->http);
	cgs_slots_unwatch_all(a->slots);
	for (size_t i = 0; i < a->ncol; i++)
		if (a->col[i].up && a->col[i].ops->destroy)
			a->col[i].ops->destroy(a->col[i].state);
	cgs_registry_free(a->reg);
	cgs_slots_free(a->slots);
	cgs_store_free(a->store);
	int fds[] = { a->epfd, a->sigfd, a->tick_fd, a->rescan_fd, a->publish_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * Once the BPF programs are loaded and attached, the agent needs no more
 * privilege than reading what other users own (runtime state, logs) and
 * their /proc entries: keep CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE, drop
 * the rest (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_NET_ADMIN, ...) from
 * the effective, permitted and inheritable sets, and forbid regaining any
 * through exec. Map and ring-buffer operations on fds it already holds need
 * no capability.
 */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	const int keep[] = { CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE };

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	uint32_t eff[2] = { data[0].effective, data[1].effective };

	memset(data, 0, sizeof(data));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		int c = keep[i];

		if (eff[c / 32] & (1u << (c % 32))) {
			data[c / 32].effective |= 1u << (c % 32);
			data[c / 32].permitted |= 1u << (c % 32);
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

/* The container registry as the configuration asks for it (the agent's, and check's trial one). */
static struct cgs_registry *registry_new(const struct cgs_config *cfg, const struct cgs_cgroup_mounts *mounts,
					 struct cgs_slots *slots)
{
	struct cgs_registry_opts ro = {
		.mounts = mounts,
		.slots = slots,
		.include_host = cfg->include_host,
		.runtime_dirs = { cfg->containerd_state_dir, cfg->crio_state_dir, cfg->docker_state_dir,
				  cfg->podman_state_dir },
		.proc_root = cfg->proc_root,
		.max_containers = cfg->max_containers,
		.max_series_per_container = cfg->max_series_per_container,
	};

	return cgs_registry_new(&ro);
}

/*
 * Starts one collector, unless the configuration leaves it off or the test
 * knob forbids it; records the outcome in s->rep. With `trial` (`cgsight
 * check`), collectors that would take the agent's own files are not tried.
 */
static void collector_start(struct collector_slot *s, const struct cgs_collector_ops *ops,
			    const struct cgs_collector_ctx *ctx, const struct cgs_test_disable *td, bool trial)
{
	const struct cgs_config *cfg = ctx->cfg;
	struct cgs_collector_report *r = &s->rep;
	const char *why = NULL;
	int e;

	s->ops = ops;
	s->fd = -1;
	r->name = ops->name;
	if (ops->bpf && !cfg->bpf) {
		r->state = CGS_COL_OFF_CONFIG;
		r->why = "bpf is disabled in the configuration";
		return;
	}
	if (ops->enabled && !ops->enabled(cfg)) {
		r->state = CGS_COL_OFF_CONFIG;
		r->why = "not enabled in the configuration";
		return;
	}
	if (cgs_test_disable_collector(td, ops->name)) {
		r->state = CGS_COL_FORCED_OFF;
		r->why = "disabled by " CGS_TEST_DISABLE_ENV;
		r->degraded = true;
		return;
	}
	if (trial && ops->check_skips) {
		r->state = CGS_COL_NOT_TRIED;
		r->why = "not started by check (it would take the running agent's files)";
		return;
	}
	e = ops->init(ctx, &s->state, &why);
	if (e) {
		r->state = CGS_COL_UNAVAILABLE;
		r->why = why ? why : "initialisation failed";
		r->err = e;
		r->degraded = true;
		return;
	}
	s->up = true;
	r->state = CGS_COL_UP;
	r->variant = cgs_collector_variant(ops, s->state, &r->degraded);
}

/* Reads a small file (token, PEM) whole; trailing whitespace trimmed when `trim`. NULL with errno. */
static char *read_secret(const char *path, bool trim)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	while (trim && n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (!n) {
		free(buf);
		errno = ENODATA;
		return NULL;
	}
	return buf;
}

static int agent_setup(struct agent *a, const struct cgs_config *cfg)
{
	char err[512];
	sigset_t mask;
	int e;

	a->cfg = cfg;
	a->epfd = a->sigfd = a->tick_fd = a->rescan_fd = a->publish_fd = -1;
	e = cgs_cgroup_find_mounts(cfg->cgroup_root, NULL, &a->mounts);
	if (e) {
		cgs_log_error(LOG_COMP, "no cgroup2 hierarchy found%s%s: %s", cfg->cgroup_root[0] ? " under " : "",
			      cfg->cgroup_root, strerror(-e));
		return e;
	}
	cgs_log_info(LOG_COMP, "cgroup2 at %s (%s)", a->mounts.v2, a->mounts.hybrid ? "hybrid" : "unified");
	cgs_bpf_setup_logging();
	if (cfg->bpf) {
		cgs_bpf_probe(&a->features);
		if (a->features.bpf) {
			/* +1: slot 0 is the host. */
			a->slots = cgs_slots_new((uint32_t)cfg->bpf_max_containers + 1);
			if (!a->slots)
				cgs_log_warn(LOG_COMP, "cannot create the BPF container-slot maps (%s): eBPF collectors off",
					     strerror(errno));
		}
	}

	a->reg = registry_new(cfg, &a->mounts, a->slots);
	a->store = cgs_store_new();
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	a->rescan_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	a->publish_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (!a->reg || !a->store || a->epfd < 0 || a->tick_fd < 0 || a->rescan_fd < 0 || a->publish_fd < 0 ||
	    a->sigfd < 0) {
		cgs_log_error(LOG_COMP, "cannot set up the event loop: %s", strerror(errno ? errno : ENOMEM));
		return -ENOMEM;
	}
	epoll_add(a->epfd, a->sigfd, TAG_SIGNAL);
	epoll_add(a->epfd, a->tick_fd, TAG_TICK);
	epoll_add(a->epfd, a->rescan_fd, TAG_RESCAN);
	epoll_add(a->epfd, a->publish_fd, TAG_PUBLISH);

	struct cgs_collector_ctx ctx = {
		.cfg = cfg,
		.mounts = &a->mounts,
		.features = &a->features,
		.registry = a->reg,
		.slots = a->slots,
		.notify = notify,
		.notify_arg = a,
	};
	struct cgs_test_disable td;
	char summary[512] = "", degraded[256] = "";

	cgs_test_disable_get(&td);
	for (size_t i = 0; cgs_collectors[i] && a->ncol < MAX_COLLECTORS; i++) {
		struct collector_slot *s = &a->col[a->ncol++];
		const struct cgs_collector_report *r = &s->rep;

		collector_start(s, cgs_collectors[i], &ctx, &td, false);
		if (r->state == CGS_COL_OFF_CONFIG)
			cgs_log_info(LOG_COMP, "collector %s off: %s", r->name, r->why);
		else if (r->state == CGS_COL_FORCED_OFF)
			cgs_log_warn(LOG_COMP, "collector %s off: %s (testing only); running without it", r->name,
				     r->why);
		else if (r->state == CGS_COL_UNAVAILABLE)
			cgs_log_warn(LOG_COMP, "collector %s unavailable: %s (%s); running without it", r->name, r->why,
				     strerror(-r->err));
		if (r->degraded)
			snprintf(degraded + strlen(degraded), sizeof(degraded) - strlen(degraded), " %s", r->name);
		if (!s->up)
			continue;
		snprintf(summary + strlen(summary), sizeof(summary) - strlen(summary), " %s=%s%s", r->name,
			 r->variant, r->degraded ? "(fallback)" : "");
		if (s->ops->fd && (s->fd = s->ops->fd(s->state)) >= 0)
			epoll_add(a->epfd, s->fd, i);
	}
	cgs_log_info(LOG_COMP, "collectors:%s", summary[0] ? summary : " none");
	if (degraded[0])
		cgs_log_warn(LOG_COMP, "degraded collectors (cgsight_collector_degraded, cgsight check):%s", degraded);
	/* Loading BPF objects parses the kernel's BTF (megabytes); give that heap back. */
	malloc_trim(0);
	/* Lifecycle events are live before the first walk, so nothing falls between them. */
	rescan(a);
	a->pending = 0;
	collect_all(a);
	publish(a);

	struct cgs_http_opts ho = {
		.listen = cfg->listen,
		.store = a->store,
		.stale_ms = 3 * cfg->interval_ms + 30000,
	};
	char *token = NULL, *cert = NULL, *key = NULL;
	const char *bad = NULL;

	if (cfg->http_token_file[0] && !(token = read_secret(cfg->http_token_file, true)))
		bad = cfg->http_token_file;
	if (!bad && !!cfg->http_tls_cert_file[0] != !!cfg->http_tls_key_file[0]) {
		cgs_log_error(LOG_COMP, "http_tls_cert_file and http_tls_key_file go together");
		free(token);
		return -EINVAL;
	}
	if (!bad && cfg->http_tls_cert_file[0] && !(cert = read_secret(cfg->http_tls_cert_file, false)))
		bad = cfg->http_tls_cert_file;
	if (!bad && cfg->http_tls_key_file[0] && !(key = read_secret(cfg->http_tls_key_file, false)))
		bad = cfg->http_tls_key_file;
	if (bad) {
		cgs_log_error(LOG_COMP, "cannot read %s: %s", bad, errno == ENODATA ? "empty" : strerror(errno));
		free(token);
		free(cert);
		free(key);
		return -EINVAL;
	}
	ho.token = token;
	ho.tls_cert = cert;
	ho.tls_key = key;
	a->http = cgs_http_start(&ho, err, sizeof(err));
	free(token);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(cert);
	if (!a->http) {
		cgs_log_error(LOG_COMP, "%s", err);
		return -EADDRINUSE;
	}
	if (cfg->drop_capabilities) {
		e = drop_capabilities();
		if (e < 0)
			cgs_log_warn(LOG_COMP, "cannot drop capabilities: %s", strerror(-e));
		else
			cgs_log_info(LOG_COMP, "capabilities dropped: only CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE kept");
	}
	timer_arm(a->tick_fd, cfg->interval_ms, cfg->interval_ms);
	timer_arm(a->rescan_fd, cfg->rescan_interval_ms, cfg->rescan_interval_ms);
	cgs_log_info(LOG_COMP, "serving on %s (port %u)%s%s; %zu containers; collecting every %llums", cfg->listen,
		     cgs_http_port(a->http), cfg->http_tls_cert_file[0] ? ", HTTPS" : "",
		     cfg->http_token_file[0] ? ", bearer token required" : "", cgs_registry_count(a->reg), (unsigned long long)cfg->interval_ms);
	return 0;
}

/*
 * SIGHUP: the configuration is read again from the same sources (file,
 * environment, flags). log_level takes effect at once; every other key is
 * fixed at start-up (sockets, BPF maps, collectors and their buffers are
 * sized from it), so a change to one is named in the log and waits for a
 * restart. A configuration that no longer parses changes nothing.
 */
static void reload_config(struct agent *a)
{
	struct cgs_config *n;
	char err[PATH_MAX + 256], changed[512] = "";
	size_t len = 0;
	int old = cgs_log_level_get();

	if (!a->reload) {
		cgs_log_info(LOG_COMP, "SIGHUP: configuration reload is not supported here; restart to apply changes");
		return;
	}
	n = malloc(sizeof(*n));
	if (!n) {
		cgs_log_error(LOG_COMP, "SIGHUP: out of memory; configuration unchanged");
		return;
	}
	if (a->reload(n, err, sizeof(err)) < 0) {
		cgs_log_error(LOG_COMP, "SIGHUP: configuration error: %s; nothing changed", err);
		free(n);
		return;
	}
	for (size_t i = 0; i < cgs_cfg_nkeys; i++) {
		const struct cgs_cfg_key *k = &cgs_cfg_keys[i];

		if (strcmp(k->key, "log_level") != 0 && !cgs_config_key_equal(k, a->cfg, n) && len < sizeof(changed))
			len += (size_t)snprintf(changed + len, sizeof(changed) - len, "%s%s", len ? ", " : "", k->key);
	}
	if (n->log_level != old) {
		/* Logged under the more verbose of the two levels: seen whichever way it goes. */
		if (n->log_level > old)
			cgs_log_set_level((enum cgs_log_level)n->log_level);
		cgs_log_info(LOG_COMP, "SIGHUP: log_level %s -> %s", cgs_log_level_name(old),
			     cgs_log_level_name(n->log_level));
		cgs_log_set_level((enum cgs_log_level)n->log_level);
	} else {
		cgs_log_info(LOG_COMP, "SIGHUP: configuration read again; log_level unchanged (%s)",
			     cgs_log_level_name(old));
	}
	if (changed[0])
		cgs_log_warn(LOG_COMP, "SIGHUP: changed, not applied until a restart: %s%s", changed,
			     len >= sizeof(changed) ? "..." : "");
	free(n);
}

static void plan_notify(void *arg, unsigned what)
{
	(void)arg;
	(void)what;
}

size_t cgs_agent_plan(const struct cgs_config *cfg, const struct cgs_cgroup_mounts *mounts,
		      const struct cgs_bpf_features *features, struct cgs_collector_report *rep, size_t max)
{
	struct collector_slot col[MAX_COLLECTORS];
	struct cgs_slots *slots = NULL;
	struct cgs_registry *reg;
	struct cgs_test_disable td;
	size_t n = 0;

	memset(col, 0, sizeof(col));
	if (cfg->bpf && features->bpf)
		slots = cgs_slots_new((uint32_t)cfg->bpf_max_containers + 1);
	reg = registry_new(cfg, mounts, slots);
	struct cgs_collector_ctx ctx = {
		.cfg = cfg,
		.mounts = mounts,
		.features = features,
		.registry = reg,
		.slots = slots,
		.notify = plan_notify,
	};

	cgs_test_disable_get(&td);
	for (size_t i = 0; reg && cgs_collectors[i] && n < MAX_COLLECTORS && n < max; i++, n++)
		collector_start(&col[n], cgs_collectors[i], &ctx, &td, true);
	cgs_slots_unwatch_all(slots);
	for (size_t i = 0; i < n; i++) {
		rep[i] = col[i].rep;
		if (col[i].up && col[i].ops->destroy)
			col[i].ops->destroy(col[i].state);
	}
	cgs_registry_free(reg);
	cgs_slots_free(slots);
	return n;
}

int cgs_agent_run(const struct cgs_config *cfg, cgs_config_reload_fn reload)
{
	struct agent *a = calloc(1, sizeof(*a));
	int rc = 0, running = 1;

	if (!a)
		return 1;
	a->reload = reload;
	if (agent_setup(a, cfg) < 0) {
		agent_teardown(a);
		free(a);
		return 1;
	}
	while (running) {
		struct epoll_event evs[16];
		int n = epoll_wait(a->epfd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			cgs_log_error(LOG_COMP, "epoll_wait: %s", strerror(errno));
			rc = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == TAG_SIGNAL) {
				struct signalfd_siginfo si;

				while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						reload_config(a);
						continue;
					}
					cgs_log_info(LOG_COMP, "signal %u: shutting down", si.ssi_signo);
					running = 0;
				}
			} else if (tag == TAG_TICK) {
				drain(a->tick_fd);
				collect_all(a);
				publish(a);
				a->publish_armed = false;
			} else if (tag == TAG_RESCAN) {
				drain(a->rescan_fd);
				a->pending |= CGS_NOTIFY_RESCAN;
			} else if (tag == TAG_PUBLISH) {
				drain(a->publish_fd);
				a->publish_armed = false;
				publish(a);
			} else if (tag < a->ncol) {
				int e = a->col[tag].ops->poll(a->col[tag].state);

				if (e < 0)
					cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "collector %s: poll failed: %s",
							    a->col[tag].ops->name, strerror(-e));
			}
		}
		handle_pending(a);
	}
	agent_teardown(a);
	free(a);
	return rc;
}
