/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loader for bench/syscalls.sh, bench/l7.sh and
 * tests/integration/syscalls_variants.sh: attaches the two empty raw_tp
 * programs (`empty`), empty programs on the read/write family's own
 * tracepoints (`empty-io`: needs tracefs mounted), or the syscall collector
 * alone, with the agent's default slot count and one container slot mapped
 * to CGROUP_DIR:
 *
 *   empty | empty-io
 *   collector CGROUP_DIR [--include-host] [--no-tp-btf] [--no-task-storage]
 *   ab CGROUP_DIR ROUNDS
 *
 * The --no-* flags hide a kernel feature from the collector so that its
 * fallback variants can be exercised on a kernel that has everything.
 * Prints "ready" once attached, then waits for SIGTERM or SIGINT; the
 * collector mode then prints what it counted for the slot ("syscall NAME
 * COUNT", "class NAME COUNT SUM_S ERRORS").
 *
 * `ab` is an in-process A/B measurement that shared, noisy machines cannot
 * spoil as easily: it loads the empty programs, the clock-only programs and
 * the collector's (its tp_btf, task-storage variant, CGROUP_DIR mapped to a
 * slot), moves itself into CGROUP_DIR and, ROUNDS times, times a chunk of
 * getppid() calls with nothing attached, with the empty programs, with the
 * clock-only ones, with nothing, with the collector's programs (in
 * CGROUP_DIR, then from its parent cgroup: a task outside containers), with
 * nothing. Each attached chunk is compared with the mean of its two
 * detached neighbours; prints the median added ns per call (process CPU
 * time): "ab empty_added X cgsight_added Y host_added H clock_added C ratio Y/X".
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/bpf_probe.h"
#include "agent/config.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/samples.h"
#include "agent/slots.h"
#include "collectors/collector.h"
#include "collectors/syscall_table.h"
#include "syscalls.skel.h"
#include "syscalls_empty.skel.h"

extern const struct cgs_collector_ops cgs_collector_syscalls;

static void wait_for_signal(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
}

enum reference { REF_EMPTY, REF_CLOCK, REF_IO };

/*
 * The reference programs: the empty pair, the pair that only reads the
 * clock, or the empty programs on the read/write family's own tracepoints
 * (their names start with "io_"; they need tracefs mounted).
 */
static struct syscalls_empty_bpf *reference_load(enum reference which)
{
	struct syscalls_empty_bpf *k = syscalls_empty_bpf__open();
	struct bpf_program *p;

	if (!k)
		return NULL;
	bpf_object__for_each_program(p, k->obj) {
		const char *n = bpf_program__name(p);
		bool on = which == REF_EMPTY ? !strncmp(n, "empty_", 6)
			: which == REF_CLOCK ? !strncmp(n, "clock_", 6) : !strncmp(n, "io_", 3);

		bpf_program__set_autoload(p, on);
	}
	if (syscalls_empty_bpf__load(k)) {
		syscalls_empty_bpf__destroy(k);
		return NULL;
	}
	return k;
}

static int run_empty(enum reference which)
{
	struct syscalls_empty_bpf *k = reference_load(which);

	if (!k || syscalls_empty_bpf__attach(k)) {
		fprintf(stderr, "cannot load the empty programs: %s\n", strerror(errno));
		syscalls_empty_bpf__destroy(k);
		return 1;
	}
	wait_for_signal();
	syscalls_empty_bpf__destroy(k);
	return 0;
}

static void noop_notify(void *arg, unsigned what)
{
	(void)arg;
	(void)what;
}

static int run_collector(const char *dir, bool include_host, bool no_btf, bool no_storage)
{
	static struct cgs_config cfg;
	struct cgs_bpf_features f;
	struct cgs_slots *slots;
	struct cgs_container c = { .slot = -1 };
	struct cgs_samples out;
	const char *why = NULL;
	void *state = NULL;
	struct stat st;
	int slot, e;

	if (stat(dir, &st) < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 1;
	}
	cgs_config_defaults(&cfg);
	cfg.include_host = include_host;
	if (!getenv("CGS_BENCH_LIBBPF_STDERR")) /* set it to see whole verifier logs */
		cgs_bpf_setup_logging();
	cgs_bpf_probe(&f);
	f.tp_btf = f.tp_btf && !no_btf;
	f.task_storage = f.task_storage && !no_storage;
	slots = cgs_slots_new((uint32_t)cfg.bpf_max_containers + 1);
	if (!slots) {
		fprintf(stderr, "cannot create the slot maps: %s\n", strerror(errno));
		return 1;
	}
	struct cgs_collector_ctx ctx = { .cfg = &cfg, .features = &f, .slots = slots, .notify = noop_notify };

	e = cgs_collector_syscalls.init(&ctx, &state, &why);
	if (e) {
		fprintf(stderr, "syscall collector: %s (%s)\n", why ? why : "?", strerror(-e));
		cgs_slots_free(slots);
		return 1;
	}
	slot = cgs_slots_assign(slots);
	if (slot < 0 || cgs_slots_map(slots, (uint64_t)st.st_ino, (uint32_t)slot) < 0) {
		fprintf(stderr, "cannot map %s to a slot\n", dir);
		cgs_collector_syscalls.destroy(state);
		cgs_slots_free(slots);
		return 1;
	}
	if (include_host)
		cgs_slots_assign_host(slots);
	wait_for_signal();
	c.slot = slot;
	cgs_samples_init(&out, 0);
	cgs_collector_syscalls.begin(state);
	e = cgs_collector_syscalls.collect(state, &c, &out);
	for (size_t i = 0; i < out.n; i++) {
		const struct cgs_sample *x = &out.v[i];
		uint64_t n = 0;

		if (x->family == CGS_M_SYSCALLS) {
			printf("syscall %s %.0f\n", x->lv[0], x->value);
		} else if (x->family == CGS_M_SYSCALL_LATENCY) {
			double errors = 0;

			for (unsigned b = 0; b <= cgs_families[x->family].nbounds; b++)
				n += x->counts[b];
			for (size_t j = 0; j < out.n; j++)
				if (out.v[j].family == CGS_M_SYSCALL_ERRORS && strcmp(out.v[j].lv[0], x->lv[0]) == 0)
					errors = out.v[j].value;
			printf("class %s %llu %.6f %.0f\n", x->lv[0], (unsigned long long)n, x->value, errors);
		}
	}
	cgs_samples_free(&out);
	cgs_collector_syscalls.destroy(state);
	cgs_slots_free(slots);
	return e ? 1 : 0;
}

#define AB_CHUNK 200000L

static double ab_chunk(void)
{
	struct timespec a, b;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (long i = 0; i < AB_CHUNK; i++)
		syscall(SYS_getppid);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)AB_CHUNK;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Moves this process into a cgroup v2 directory. 0 or -1. */
static int join(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	if (fprintf(f, "%d\n", (int)getpid()) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int run_ab(const char *dir, int rounds)
{
	struct syscalls_empty_bpf *e = NULL, *t = NULL;
	struct syscalls_bpf *k = NULL;
	struct cgs_slots *slots = NULL;
	uint32_t classes[CGS_SYSCALLS_NR_MAX];
	double *de = NULL, *dc = NULL, *dh = NULL, *dt = NULL;
	char parent[4096];
	struct stat st;
	int slot, rc = 1;

	if (stat(dir, &st) < 0 || rounds < 1 || rounds > 100000) {
		fprintf(stderr, "%s: %s\n", dir, rounds < 1 ? "bad ROUNDS" : strerror(errno));
		return 1;
	}
	cgs_bpf_setup_logging();
	slots = cgs_slots_new(1025);
	de = calloc((size_t)rounds, sizeof(*de));
	dc = calloc((size_t)rounds, sizeof(*dc));
	dh = calloc((size_t)rounds, sizeof(*dh));
	dt = calloc((size_t)rounds, sizeof(*dt));
	if (!slots || !de || !dc || !dh || !dt)
		goto out;
	slot = cgs_slots_assign(slots);
	if (slot < 0 || cgs_slots_map(slots, (uint64_t)st.st_ino, (uint32_t)slot) < 0)
		goto out;
	e = reference_load(REF_EMPTY);
	t = reference_load(REF_CLOCK);
	k = syscalls_bpf__open();
	if (!e || !t || !k || bpf_map__set_max_entries(k->maps.slot_stats, 1025) ||
	    bpf_map__set_max_entries(k->maps.slot_index, 1025) ||
	    cgs_slots_reuse(slots, k->maps.cgs_cgroup_slots, k->maps.cgs_slots_meta) ||
	    bpf_map__set_autocreate(k->maps.saved_calls_hash, false))
		goto out;
	bpf_program__set_autoload(k->progs.handle_sys_enter_raw, false);
	bpf_program__set_autoload(k->progs.handle_cgroup_attach_task_raw, false);
	bpf_program__set_autoload(k->progs.handle_sys_exit_raw, false);
	bpf_program__set_autoload(k->progs.handle_sys_exit_hash, false);
	bpf_program__set_autoload(k->progs.handle_sys_exit_hash_raw, false);
	bpf_program__set_autoload(k->progs.handle_sched_switch_raw, false);
	bpf_program__set_autoload(k->progs.handle_sched_switch_hash, false);
	bpf_program__set_autoload(k->progs.handle_sched_switch_hash_raw, false);
	if (syscalls_bpf__load(k))
		goto out;
	/* The slot's accumulators: record `slot` (slot_index holds record + 1). */
	uint32_t key = (uint32_t)slot, rec = (uint32_t)slot + 1;

	if (bpf_map__update_elem(k->maps.slot_index, &key, sizeof(key), &rec, sizeof(rec), 0))
		goto out;
	cgs_syscall_classes_fill(classes);
	for (uint32_t nr = 0; nr < CGS_SYSCALLS_NR_MAX; nr++)
		bpf_map__update_elem(k->maps.syscall_classes, &nr, sizeof(nr), &classes[nr], sizeof(classes[nr]), 0);
	snprintf(parent, sizeof(parent), "%s", dir);
	if (strrchr(parent, '/'))
		*strrchr(parent, '/') = '\0';
	if (join(dir) < 0) {
		fprintf(stderr, "cannot join %s\n", dir);
		goto out;
	}
	for (int r = 0; r < rounds; r++) {
		double off1 = ab_chunk(), x, w, off2, y, z, off3;

		if (syscalls_empty_bpf__attach(e))
			goto out;
		x = ab_chunk();
		syscalls_empty_bpf__detach(e);
		if (syscalls_empty_bpf__attach(t))
			goto out;
		w = ab_chunk();
		syscalls_empty_bpf__detach(t);
		off2 = ab_chunk();
		if (syscalls_bpf__attach(k))
			goto out;
		y = ab_chunk();
		/* The same programs seen from a task outside containers (the parent cgroup). */
		if (join(parent) < 0)
			goto out;
		z = ab_chunk();
		if (join(dir) < 0)
			goto out;
		syscalls_bpf__detach(k);
		off3 = ab_chunk();
		de[r] = x - (off1 + off2) / 2;
		dt[r] = w - (off1 + off2) / 2;
		dc[r] = y - (off2 + off3) / 2;
		dh[r] = z - (off2 + off3) / 2;
	}
	double me = median(de, rounds), mc = median(dc, rounds), mh = median(dh, rounds), mt = median(dt, rounds);

	printf("ab empty_added %.1f cgsight_added %.1f host_added %.1f clock_added %.1f ratio %.2f\n", me, mc,
	       mh, mt, me > 0 ? mc / me : 0.0);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "A/B setup failed: %s\n", strerror(errno));
	syscalls_bpf__destroy(k);
	syscalls_empty_bpf__destroy(e);
	syscalls_empty_bpf__destroy(t);
	cgs_slots_free(slots);
	free(dt);
	free(de);
	free(dc);
	free(dh);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "empty") == 0)
		return run_empty(REF_EMPTY);
	if (argc == 2 && strcmp(argv[1], "empty-io") == 0)
		return run_empty(REF_IO);
	if (argc == 4 && strcmp(argv[1], "ab") == 0)
		return run_ab(argv[2], atoi(argv[3]));
	if (argc >= 3 && strcmp(argv[1], "collector") == 0) {
		bool host = false, no_btf = false, no_storage = false;

		for (int i = 3; i < argc; i++) {
			if (strcmp(argv[i], "--include-host") == 0)
				host = true;
			else if (strcmp(argv[i], "--no-tp-btf") == 0)
				no_btf = true;
			else if (strcmp(argv[i], "--no-task-storage") == 0)
				no_storage = true;
			else
				goto usage;
		}
		return run_collector(argv[2], host, no_btf, no_storage);
	}
usage:
	fprintf(stderr, "usage: %s empty | empty-io | collector CGROUP_DIR [--include-host] [--no-tp-btf] [--no-task-storage]"
		" | ab CGROUP_DIR ROUNDS\n", argv[0]);
	return 2;
}
