/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request-span collector: loads bpf/l7.bpf.c (tp_btf, or raw_tp twins) and
 * runs the span pipeline - ring buffer -> tracker (l7_tracker.c) -> OTLP
 * exporter (exporters/otlp.c) - on a thread of its own with its own epoll
 * loop (ring buffer, housekeeping timer, curl's sockets and timers).
 *
 * Why a thread: the agent's event loop is busy for the whole collection
 * pass, which on a node with a thousand containers takes longer than a
 * second, while the ring buffer fills in tens of milliseconds at high
 * request rates and curl's transfers need servicing as their sockets get
 * ready. Everything the two threads share goes through `mu`: the RED
 * counters (written by the pipeline, read by collect), the per-slot
 * container resources (built from the registry by the agent's thread in
 * collect, read by the pipeline; reference counts are atomic) and a copy of
 * the pipeline's counters refreshed every tick. The registry itself is only
 * ever touched by the agent's thread.
 *
 * Off by default (`traces: false`): it reads the first bytes of every
 * socket read and write of every traced container, which is not free.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fnmatch.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../agent/agent.h"
#include "../agent/bpf_probe.h"
#include "../agent/config.h"
#include "../agent/log.h"
#include "../agent/slots.h"
#include "collector.h"
#include "l7.h"
#include "l7.skel.h"

#define LOG_COMP "collector:l7"
#define TAG_RB   1
#define TAG_TICK 2
#define TAG_OTLP 3
#define TAG_STOP 4
#define TICK_MS  100
/* The kernel side wakes the pipeline when this much is pending; the tick drains the rest. */
#define WAKEUP_BYTES (64u << 10)
#define STATUS_CLASSES 5
#define MAX_PATTERNS 32
/* Records handled per turn of the pipeline's loop before curl gets its turn. */
#define RECORDS_PER_POLL 2048

/*
 * RED metrics of one container slot. [0]: inbound (SERVER spans), [1]:
 * outbound (CLIENT). Allocated at the slot's first request, freed when the
 * slot is released: agent/slots.c hands free slots out in FIFO order, so a
 * table of bpf_max_containers entries would end up resident whole on a node
 * with churn, whatever the number of live containers.
 */
struct red {
	uint64_t req[2][CGS_HTTP_M__COUNT][STATUS_CLASSES];
	uint64_t hist[2][CGS_LOG2_US_NBOUNDS + 1];
	double sum[2];
};

/* The resource of the container in a slot; rebuilt by the agent's thread when its metadata changes. */
struct slot_res {
	const struct cgs_container *c;
	const char *sig[5];
	struct cgs_resource *res;
};

/* The pipeline's counters, as last copied for the agent's thread. */
struct shared_stats {
	struct cgs_l7_tracker_stats tracker;
	struct cgs_otlp_stats otlp;
	uint64_t bad;
};

struct l7 {
	struct cgs_collector_ctx ctx;
	struct l7_bpf *skel;
	/* the pipeline thread's own */
	struct ring_buffer *rb;
	struct cgs_l7_tracker *tracker;
	struct cgs_otlp *otlp;
	int epfd, tick_fd, stop_fd;
	int64_t m2u;
	uint64_t bad;
	unsigned slice;
	pthread_t th;
	bool running;
	bool btf;                     /* tp_btf programs, else raw_tp */
	/* shared, under mu */
	pthread_mutex_t mu;
	struct red **red;
	struct slot_res *res;
	bool *live;                   /* per slot: held by a container */
	struct shared_stats shared;
	/* the agent's thread's own */
	struct cgs_l7_redact *redact; /* read-only once built */
	uint32_t nslots;
	uint8_t *traced;              /* per slot, with traces_cgroups: 0 not decided yet, 1 no, 2 yes */
	char *patterns[MAX_PATTERNS];
	size_t npatterns;
	char host[256];
};

static const char *const directions[2] = { "inbound", "outbound" };
static const char *const status_classes[STATUS_CLASSES] = { "1xx", "2xx", "3xx", "4xx", "5xx" };

static int64_t mono_to_unix(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - (int64_t)m.tv_sec) * 1000000000ll + (r.tv_nsec - m.tv_nsec);
}

static uint64_t mono_ns(void)
{
	struct timespec m;

	clock_gettime(CLOCK_MONOTONIC, &m);
	return (uint64_t)m.tv_sec * 1000000000ull + (uint64_t)m.tv_nsec;
}

/* ---- resources (built on the agent's thread) ------------------------------------------ */

static struct cgs_resource *build_resource(struct l7 *l, const struct cgs_container *c)
{
	const struct cgs_meta *m = &c->meta;
	char short_id[24] = "";
	const char *service;

	if (c->match.id[0])
		snprintf(short_id, sizeof(short_id), "container-%.12s", c->match.id);
	service = c->host ? l->host
		: m->container && m->container[0] ? m->container
		: m->name && m->name[0] ? m->name
		: m->pod && m->pod[0] ? m->pod
		: short_id[0] ? short_id : c->path;
	const char *kv[] = {
		"service.name", service,
		"container.id", c->match.id,
		"container.name", m->name,
		"container.image.name", m->image,
		"k8s.pod.name", m->pod,
		"k8s.namespace.name", m->namespace,
		"k8s.container.name", m->container,
		"k8s.pod.uid", m->pod_uid,
		"k8s.node.name", l->ctx.cfg->node_name,
		"host.name", l->host,
	};

	return cgs_resource_new(kv, sizeof(kv) / sizeof(kv[0]) / 2);
}

/* Keeps the slot's resource in step with its container's metadata. */
static void refresh_resource(struct l7 *l, const struct cgs_container *c)
{
	struct slot_res *sr = &l->res[c->slot];
	const char *sig[5] = { c->meta.name, c->meta.pod, c->meta.namespace, c->meta.container, c->meta.image };
	struct cgs_resource *nr, *old;

	if (sr->res && sr->c == c && !memcmp(sr->sig, sig, sizeof(sig)))
		return;
	nr = build_resource(l, c);
	if (!nr)
		return;
	pthread_mutex_lock(&l->mu);
	old = sr->res;
	sr->res = nr;
	sr->c = c;
	memcpy(sr->sig, sig, sizeof(sig));
	pthread_mutex_unlock(&l->mu);
	cgs_resource_unref(old);
}

/*
 * A slot handed out (`live`) or given back: no counters, no resource, not
 * traced until matched (traces_cgroups). On release it frees what the slot
 * held, and requests of the container that went (records still in the ring
 * buffer) no longer allocate counters for it.
 */
static void slot_change(struct l7 *l, uint32_t slot, bool live)
{
	struct cgs_resource *old;
	struct red *oldred;

	if (slot >= l->nslots)
		return;
	if (l->npatterns) {
		__u32 k = slot;
		__u8 off = 0;

		l->traced[slot] = 0;
		bpf_map__update_elem(l->skel->maps.traced_slots, &k, sizeof(k), &off, sizeof(off), 0);
	}
	pthread_mutex_lock(&l->mu);
	l->live[slot] = live;
	oldred = l->red[slot];
	l->red[slot] = NULL;
	old = l->res[slot].res;
	memset(&l->res[slot], 0, sizeof(l->res[slot]));
	pthread_mutex_unlock(&l->mu);
	free(oldred);
	cgs_resource_unref(old);
}

static void on_slot_assign(void *arg, uint32_t slot)
{
	slot_change(arg, slot, true);
}

static void on_slot_release(void *arg, uint32_t slot)
{
	slot_change(arg, slot, false);
}

/* ---- tracker sink (the pipeline thread) ------------------------------------------------ */

static struct cgs_resource *sink_resource(void *arg, int slot, uint64_t cgroup_id)
{
	struct l7 *l = arg;
	struct cgs_resource *r = NULL;

	(void)cgroup_id;
	if (slot < 0 || (uint32_t)slot >= l->nslots)
		return NULL;
	pthread_mutex_lock(&l->mu);
	r = cgs_resource_ref(l->res[slot].res);
	pthread_mutex_unlock(&l->mu);
	return r;
}

static void sink_span(void *arg, struct cgs_span *s)
{
	struct l7 *l = arg;

	if (l->otlp)
		cgs_otlp_submit(l->otlp, s);
	else
		cgs_span_free(s);
}

static void sink_request(void *arg, int slot, uint64_t cgroup_id, int role, int method, int status, uint64_t ns)
{
	struct l7 *l = arg;
	struct red *r;
	uint64_t us = ns / 1000;
	unsigned b = 0;
	int d = role == CGS_L7_ROLE_SERVER ? 0 : 1;

	(void)cgroup_id;
	if (slot < 0 || (uint32_t)slot >= l->nslots || status < 100 || status > 599)
		return;
	while (us && b < CGS_LOG2_US_NBOUNDS) {
		us >>= 1;
		b++;
	}
	pthread_mutex_lock(&l->mu);
	r = l->red[slot];
	if (!r && !l->live[slot]) {
		/* Its container went (the record was still in the ring buffer): so did its series. */
		pthread_mutex_unlock(&l->mu);
		return;
	}
	if (!r && !(r = l->red[slot] = calloc(1, sizeof(*r)))) {
		pthread_mutex_unlock(&l->mu);
		l->bad++; /* counted as a lost event */
		return;
	}
	r->req[d][method][status / 100 - 1]++;
	r->hist[d][b]++;
	r->sum[d] += (double)ns / 1e9;
	pthread_mutex_unlock(&l->mu);
}

/* ---- the pipeline thread ----------------------------------------------------------------- */

static int on_record(void *arg, void *data, size_t len)
{
	struct l7 *l = arg;
	const struct cgs_l7_event *e = data;

	if (len < sizeof(*e) || len < sizeof(*e) + e->cap_len)
		l->bad++;
	else
		cgs_l7_tracker_record(l->tracker, e, (const char *)data + sizeof(*e), l->m2u);
	/* A bounded slice per turn (the record is consumed either way). */
	return ++l->slice >= RECORDS_PER_POLL ? -EAGAIN : 0;
}

/* Drains up to RECORDS_PER_POLL records; the ring buffer stays readable while more wait. */
static int drain_ring(struct l7 *l)
{
	int n;

	l->slice = 0;
	n = ring_buffer__consume(l->rb);
	return n == -EAGAIN || n >= 0 ? 0 : n;
}

static void drain_fd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

static void publish_stats(struct l7 *l)
{
	struct shared_stats s = { .bad = l->bad };

	cgs_l7_tracker_stats(l->tracker, &s.tracker);
	if (l->otlp)
		cgs_otlp_stats(l->otlp, &s.otlp);
	pthread_mutex_lock(&l->mu);
	l->shared = s;
	pthread_mutex_unlock(&l->mu);
}

static void *pipeline(void *arg)
{
	struct l7 *l = arg;
	bool stop = false;

	while (!stop) {
		struct epoll_event evs[8];
		int n = epoll_wait(l->epfd, evs, 8, -1);

		if (n < 0 && errno != EINTR) {
			cgs_log_error(LOG_COMP, "epoll_wait: %s; request tracing stops", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u64) {
			case TAG_RB:
				if (drain_ring(l) < 0)
					cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "reading the ring buffer failed");
				break;
			case TAG_TICK:
				drain_fd(l->tick_fd);
				l->m2u = mono_to_unix();
				/* Wakeups are batched by the kernel side (WAKEUP_BYTES): pick up the rest. */
				drain_ring(l);
				cgs_l7_tracker_tick(l->tracker, mono_ns(), l->m2u);
				publish_stats(l);
				break;
			case TAG_STOP:
				stop = true;
				break;
			}
		}
		/* Every turn, whatever woke us: transfers progress while records keep coming. */
		if (l->otlp)
			cgs_otlp_poll(l->otlp);
	}
	/* What is still in the ring buffer, then a bounded flush of what is queued. */
	drain_ring(l);
	cgs_l7_tracker_free(l->tracker);
	l->tracker = NULL;
	cgs_otlp_free(l->otlp, 2000);
	l->otlp = NULL;
	return NULL;
}

/* ---- life cycle (the agent's thread) ---------------------------------------------------- */

static void l7_destroy(void *state)
{
	struct l7 *l = state;

	if (!l)
		return;
	if (l->running) {
		uint64_t one = 1;

		if (write(l->stop_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
			pthread_join(l->th, NULL);
	}
	ring_buffer__free(l->rb);
	l7_bpf__destroy(l->skel);
	cgs_l7_tracker_free(l->tracker);
	cgs_otlp_free(l->otlp, 0);
	cgs_l7_redact_free(l->redact);
	for (uint32_t i = 0; l->res && i < l->nslots; i++)
		cgs_resource_unref(l->res[i].res);
	for (uint32_t i = 0; l->red && i < l->nslots; i++)
		free(l->red[i]);
	free(l->res);
	free(l->red);
	free(l->traced);
	free(l->live);
	for (size_t i = 0; i < l->npatterns; i++)
		free(l->patterns[i]);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->tick_fd >= 0)
		close(l->tick_fd);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* A power of two of at least `want` bytes and a page (what a BPF ring buffer must be). */
static __u32 ring_bytes(uint64_t want)
{
	uint64_t n = (uint64_t)sysconf(_SC_PAGESIZE);

	while (n < want && n < (1ull << 30))
		n <<= 1;
	return (__u32)n;
}

/* traces_cgroups: comma-separated glob patterns. 0 or -EINVAL/-ENOMEM. */
static int parse_patterns(struct l7 *l, const char *csv)
{
	const char *p = csv;

	while (*p) {
		const char *e;
		char *pat;
		size_t n;

		while (*p == ',' || *p == ' ')
			p++;
		if (!*p)
			break;
		e = p;
		while (*e && *e != ',')
			e++;
		n = (size_t)(e - p);
		while (n && p[n - 1] == ' ')
			n--;
		if (l->npatterns == MAX_PATTERNS)
			return -EINVAL;
		pat = strndup(p, n);
		if (!pat)
			return -ENOMEM;
		l->patterns[l->npatterns++] = pat;
		p = e;
	}
	return 0;
}

/* With traces_cgroups, marks the slot of `c` traced or not, once per slot assignment. */
static void decide_traced(struct l7 *l, const struct cgs_container *c)
{
	__u32 k = (__u32)c->slot;
	__u8 on = 0;

	if (!l->npatterns || l->traced[k])
		return;
	for (size_t i = 0; i < l->npatterns && !on; i++)
		on = fnmatch(l->patterns[i], c->path, 0) == 0;
	if (bpf_map__update_elem(l->skel->maps.traced_slots, &k, sizeof(k), &on, sizeof(on), 0) == 0)
		l->traced[k] = on ? 2 : 1;
}

/* The syscalls traced, by this architecture's numbers. */
static void fill_nr_class(volatile __u8 *t)
{
	static const struct {
		long nr;
		__u8 cls;
	} map[] = {
		{ SYS_read, CGS_L7_SYS_READ },       { SYS_recvfrom, CGS_L7_SYS_READ },
		{ SYS_readv, CGS_L7_SYS_READV },     { SYS_recvmsg, CGS_L7_SYS_RECVMSG },
		{ SYS_write, CGS_L7_SYS_WRITE },     { SYS_sendto, CGS_L7_SYS_WRITE },
		{ SYS_writev, CGS_L7_SYS_WRITEV },   { SYS_sendmsg, CGS_L7_SYS_SENDMSG },
		{ SYS_accept4, CGS_L7_SYS_ACCEPT },  { SYS_connect, CGS_L7_SYS_CONNECT },
		{ SYS_close, CGS_L7_SYS_CLOSE },
#ifdef SYS_accept
		{ SYS_accept, CGS_L7_SYS_ACCEPT },
#endif
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nr >= 0 && map[i].nr < CGS_L7_NR_MAX)
			t[map[i].nr] = map[i].cls;
}

static int l7_load(struct l7 *l, bool btf)
{
	const struct cgs_config *cfg = l->ctx.cfg;
	struct l7_bpf *s;
	int e;

	s = l->skel = l7_bpf__open();
	if (!s)
		return -errno;
	bpf_program__set_autoload(s->progs.handle_sys_enter, btf);
	bpf_program__set_autoload(s->progs.handle_sys_exit, btf);
	bpf_program__set_autoload(s->progs.handle_sys_enter_raw, !btf);
	bpf_program__set_autoload(s->progs.handle_sys_exit_raw, !btf);
	s->rodata->include_host = cfg->include_host;
	s->rodata->self_tgid = (__u32)getpid();
	s->rodata->capture_bytes = (__u32)cfg->traces_capture_bytes;
	s->rodata->wakeup_bytes = WAKEUP_BYTES;
	s->rodata->filtered = l->npatterns > 0;
	fill_nr_class(s->rodata->nr_class);
	bpf_map__set_max_entries(s->maps.events, ring_bytes(cfg->traces_ring_buffer_bytes));
	bpf_map__set_max_entries(s->maps.conns, (__u32)cfg->traces_max_connections);
	bpf_map__set_max_entries(s->maps.traced_slots, l->nslots);
	e = cgs_slots_reuse(l->ctx.slots, s->maps.cgs_cgroup_slots, s->maps.cgs_slots_meta);
	if (e)
		return e;
	e = l7_bpf__load(s);
	if (e)
		return e;
	return l7_bpf__attach(s);
}

static int setup_exporter(struct l7 *l, const char **why)
{
	const struct cgs_config *cfg = l->ctx.cfg;
	struct cgs_otlp_opts oo = {
		.endpoint = cfg->otlp_endpoint,
		.gzip = cfg->otlp_gzip,
		.timeout_ms = cfg->otlp_timeout_ms,
		.batch_max = cfg->otlp_batch_spans,
		.flush_ms = cfg->otlp_flush_interval_ms,
		.queue_max = cfg->otlp_queue_spans,
		.max_retries = (unsigned)cfg->otlp_max_retries,
		.backoff_ms = cfg->otlp_retry_backoff_ms,
		.version = CGS_VERSION,
	};

	if (!cfg->otlp_endpoint[0])
		return 0;
	l->otlp = cgs_otlp_new(&oo);
	if (!l->otlp) {
		*why = errno == EINVAL ? "otlp_endpoint must be http://HOST:PORT[/path] or https://..."
				       : "cannot set up the OTLP exporter";
		return errno ? -errno : -ENOMEM;
	}
	return 0;
}

static int l7_init(const struct cgs_collector_ctx *ctx, void **state, const char **why)
{
	const struct cgs_config *cfg = ctx->cfg;
	const struct cgs_bpf_features *f = ctx->features;
	struct epoll_event ev = { .events = EPOLLIN };
	struct itimerspec its = { .it_value = { 0, TICK_MS * 1000000L }, .it_interval = { 0, TICK_MS * 1000000L } };
	struct l7 *l;
	int e;

	if (!cfg->traces) {
		*why = "off in the configuration (traces: false)";
		return -EOPNOTSUPP;
	}
	if (!ctx->slots || !f->bpf || !f->ringbuf || !f->task_storage || (!f->tp_btf && !f->raw_tp)) {
		*why = !ctx->slots || !f->bpf ? "BPF programs cannot be loaded here"
		       : !f->ringbuf		  ? "no BPF ring buffer (Linux < 5.8)"
		       : !f->task_storage	  ? "no BPF task local storage (Linux < 5.11)"
						  : "no raw tracepoints";
		return -EOPNOTSUPP;
	}
	/*
	 * Spans are allocated and freed by the thousand per batch; without this
	 * glibc hands the freed top of the heap back to the kernel after every
	 * batch and faults it in again for the next (measured: ~10 % of the
	 * pipeline's time at 100k spans/s). Freed memory stays for reuse instead.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->ctx = *ctx;
	l->epfd = l->tick_fd = l->stop_fd = -1;
	pthread_mutex_init(&l->mu, NULL);
	l->m2u = mono_to_unix();
	if (gethostname(l->host, sizeof(l->host) - 1) < 0)
		l->host[0] = '\0';
	l->nslots = cgs_slots_max(ctx->slots);
	l->red = calloc(l->nslots, sizeof(*l->red));
	l->res = calloc(l->nslots, sizeof(*l->res));
	l->traced = calloc(l->nslots, sizeof(*l->traced));
	l->live = calloc(l->nslots, sizeof(*l->live));
	if (!l->red || !l->res || !l->traced || !l->live) {
		e = -ENOMEM;
		*why = "out of memory";
		goto fail;
	}
	e = parse_patterns(l, cfg->traces_cgroups);
	if (e) {
		*why = "traces_cgroups: at most 32 comma-separated patterns";
		goto fail;
	}
	l->redact = cgs_l7_redact_new(cfg->traces_redact_headers, cfg->traces_redact_query,
				      cfg->traces_capture_headers);
	if (!l->redact) {
		e = -errno;
		*why = "traces_redact_headers, traces_redact_query and traces_capture_headers must be "
		       "comma-separated names (at most 64, each shorter than 64 bytes)";
		goto fail;
	}
	e = setup_exporter(l, why);
	if (e)
		goto fail;
	struct cgs_l7_tracker_opts to = {
		.sample_percent = (unsigned)cfg->traces_sample_percent,
		.slow_ns = cfg->traces_slow_threshold_ms * 1000000ull,
		.budget_per_s = cfg->traces_span_budget,
		.max_conns = cfg->traces_max_connections,
		.redact = l->redact,
		.spans = l->otlp != NULL,
	};
	struct cgs_l7_sink sink = { .arg = l, .resource = sink_resource, .span = sink_span, .request = sink_request };

	l->tracker = cgs_l7_tracker_new(&to, &sink);
	if (!l->tracker) {
		e = -ENOMEM;
		*why = "out of memory";
		goto fail;
	}
	l->btf = f->tp_btf;
	e = l7_load(l, f->tp_btf);
	if (e) {
		*why = "loading or attaching the BPF programs failed";
		goto fail;
	}
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.events), on_record, l, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	l->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!l->rb || l->epfd < 0 || l->tick_fd < 0 || l->stop_fd < 0) {
		e = -errno;
		*why = "cannot set up the ring buffer reader";
		goto fail;
	}
	ev.data.u64 = TAG_RB;
	epoll_ctl(l->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(l->rb), &ev);
	ev.data.u64 = TAG_TICK;
	epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tick_fd, &ev);
	ev.data.u64 = TAG_STOP;
	epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev);
	if (l->otlp) {
		ev.data.u64 = TAG_OTLP;
		epoll_ctl(l->epfd, EPOLL_CTL_ADD, cgs_otlp_fd(l->otlp), &ev);
	}
	timerfd_settime(l->tick_fd, 0, &its, NULL);
	e = -pthread_create(&l->th, NULL, pipeline, l);
	if (e) {
		*why = "cannot start the pipeline thread";
		goto fail;
	}
	/* Named for top -H, perf and /proc/PID/task (bench/l7.sh reads its CPU time). */
	pthread_setname_np(l->th, "cgsight-l7");
	l->running = true;
	/* Last: the slots keep the callback for the agent's lifetime, so only a collector that is up registers. */
	if (cgs_slots_watch(ctx->slots, on_slot_assign, on_slot_release, l) < 0) {
		e = -ENOSPC;
		*why = "no room for another slot-reset callback";
		goto fail;
	}
	cgs_log_info(LOG_COMP, "tracing HTTP/1.x of %s with %s programs (first %llu bytes per message); %s%s",
		     l->npatterns ? "the containers matching traces_cgroups" : "every container",
		     f->tp_btf ? "tp_btf" : "raw_tp", (unsigned long long)cfg->traces_capture_bytes,
		     l->otlp ? "spans to " : "no otlp_endpoint: RED metrics only",
		     l->otlp ? cgs_otlp_url(l->otlp) : "");
	*state = l;
	return 0;
fail:
	l7_destroy(l);
	return e < 0 ? e : -EINVAL;
}

/* ---- metrics (the agent's thread) -------------------------------------------------------- */

static int l7_collect(void *state, const struct cgs_container *c, struct cgs_samples *out)
{
	struct l7 *l = state;
	struct red r;
	bool any;

	if (c->slot < 0 || (uint32_t)c->slot >= l->nslots)
		return 0;
	decide_traced(l, c);
	refresh_resource(l, c);
	pthread_mutex_lock(&l->mu);
	any = l->red[c->slot] != NULL;
	if (any)
		r = *l->red[c->slot];
	pthread_mutex_unlock(&l->mu);
	if (!any)
		return 0;
	for (int d = 0; d < 2; d++) {
		uint64_t total = 0;

		for (int m = 0; m < CGS_HTTP_M__COUNT; m++)
			for (int s = 0; s < STATUS_CLASSES; s++)
				if (r.req[d][m][s]) {
					cgs_samples_add_l3(out, CGS_M_HTTP_REQUESTS, directions[d], cgs_http_method_names[m],
							   status_classes[s], (double)r.req[d][m][s]);
					total += r.req[d][m][s];
				}
		if (total)
			cgs_samples_add_hist(out, CGS_M_HTTP_REQUEST_DURATION, directions[d], r.hist[d], r.sum[d]);
	}
	return 0;
}

static int l7_collect_agent(void *state, struct cgs_samples *out)
{
	struct l7 *l = state;
	struct shared_stats s;
	uint64_t lost = __atomic_load_n(&l->skel->bss->lost, __ATOMIC_RELAXED);
	uint32_t held = 0;

	pthread_mutex_lock(&l->mu);
	s = l->shared;
	for (uint32_t i = 0; i < l->nslots; i++)
		held += l->red[i] || l->res[i].res;
	pthread_mutex_unlock(&l->mu);
	cgs_samples_add_l(out, CGS_M_AGENT_COLLECTOR_CONTAINERS, "l7", NULL, (double)held);
	cgs_samples_add_l(out, CGS_M_AGENT_EVENTS_LOST, "l7", NULL, (double)(lost + s.bad));
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS, "exported", NULL, (double)s.otlp.exported);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS, "rejected", NULL, (double)s.otlp.rejected);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS, "sampled_out", NULL, (double)s.tracker.sampled_out);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS, "dropped_budget", NULL, (double)s.tracker.over_budget);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS, "dropped_queue_full", NULL, (double)s.otlp.dropped_queue);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS, "dropped_export_failed", NULL, (double)s.otlp.dropped_failed);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS_INCOMPLETE, "unanswered", NULL, (double)s.tracker.unanswered);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS_INCOMPLETE, "unmatched", NULL, (double)s.tracker.unmatched);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS_INCOMPLETE, "unparsed", NULL, (double)s.tracker.unparsed);
	cgs_samples_add(out, CGS_M_AGENT_SPANS_QUEUED, (double)s.otlp.queued);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS_EXPORTS, "ok", NULL, (double)s.otlp.requests_ok);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS_EXPORTS, "failed", NULL, (double)s.otlp.requests_failed);
	cgs_samples_add_l(out, CGS_M_AGENT_SPANS_EXPORTS, "retried", NULL, (double)s.otlp.retries);
	cgs_samples_add(out, CGS_M_AGENT_HTTP_CONNECTIONS, (double)s.tracker.conns);
	return 0;
}

static bool l7_enabled(const struct cgs_config *cfg)
{
	return cfg->traces;
}

static const char *l7_variant(void *state, bool *fallback)
{
	const struct l7 *l = state;

	*fallback = !l->btf;
	return l->btf ? "tp_btf" : "raw_tp";
}

const struct cgs_collector_ops cgs_collector_l7 = {
	.name = "l7",
	.bpf = true,
	.enabled = l7_enabled,
	.variant = l7_variant,
	.init = l7_init,
	.collect = l7_collect,
	.collect_agent = l7_collect_agent,
	.destroy = l7_destroy,
};
