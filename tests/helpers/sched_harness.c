/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs ONE of the scheduler or memory-event collectors with the agent's own
 * container registry and slots, for the integration tests and
 * bench/sched.sh (which must measure that collector alone, not the agent
 * with every other collector loaded).
 *
 *   cgs_sched_harness [--collector sched|mem] [--raw] [--wakeup] [--include-host] [--wait]
 *                     [--events-file PATH]
 *   cgs_sched_harness --oom-agent PID CGDIR MIB
 *
 * Room for 100,000 containers, 65,535 with BPF slots (other work on the
 * machine may hold many). --raw forces the raw_tp + tid-hash variant (the fallback for kernels
 * without tp_btf or task storage). --wakeup forces the sched collector's "wakeup" design (the
 * fallback for kernels whose run-queue stamps cannot be read), with --raw its raw_tp + tid-hash
 * variant, without it the tp_btf + task-storage one. --wait: load, print "ready", and run
 * until SIGINT/SIGTERM. --events-file: the mem collector's events_file (none
 * otherwise: tests never write the machine's /var/lib/cgsight). --oom-agent:
 * no collector here; the `oom` command below once, on the raw_tp
 * mark_victim program of the running agent PID (started with
 * CGSIGHT_TEST_DISABLE=mem_tp_btf), found through its /proc fdinfo.
 * Otherwise commands are read from stdin, one per
 * line, each answered with one JSON line on stdout:
 *
 *   rescan               walk the cgroup tree              {"containers":N}
 *   dump [PREFIX]        the samples of every container (whose path starts
 *                        with PREFIX), and for sched the slot totals with
 *                        the on-CPU time                    {"containers":[...]}
 *   poll                 drain the collector's ring buffer  {"ok":true}
 *   events               its recent structured events       [...]
 *   oom CGDIR MIB        a child joins CGDIR, touches MIB MiB and stays; this
 *                        process (outside CGDIR) runs the raw_tp mark_victim
 *                        program with BPF_PROG_TEST_RUN on the child's task, as
 *                        the kernel does when the OOM killer picks it (often
 *                        from another task's context)     {"pid":..,"status":{..}}
 *   reclaim CGDIR MS     a child joins CGDIR and runs the raw_tp memcg reclaim
 *                        begin program, sleeps MS ms, runs the end program
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>

#include "agent/bpf_probe.h"
#include "agent/cgroup.h"
#include "agent/config.h"
#include "agent/containers.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/slots.h"
#include "collectors/collector.h"
#include "collectors/mem.h"
#include "collectors/sched.h"

struct harness {
	struct cgs_config cfg;
	struct cgs_cgroup_mounts mounts;
	struct cgs_bpf_features f;
	struct cgs_slots *slots;
	struct cgs_registry *reg;
	const struct cgs_collector_ops *ops;
	void *state;
	bool sched;
};

static void notify(void *arg, unsigned what)
{
	(void)arg;
	(void)what;
}

static void put(json_object *j)
{
	puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(j);
}

static json_object *samples_json(const struct cgs_samples *s)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < s->n; i++) {
		const struct cgs_sample *x = &s->v[i];
		const struct cgs_family *f = &cgs_families[x->family];
		char key[256];

		snprintf(key, sizeof(key), "%s{%s%s%s}", f->name, x->lv[0] ? x->lv[0] : "",
			 x->lv[1] ? "," : "", x->lv[1] ? x->lv[1] : "");
		if (f->kind == CGS_KIND_HISTOGRAM) {
			json_object *h = json_object_new_object(), *c = json_object_new_array();

			for (unsigned b = 0; b <= f->nbounds; b++)
				json_object_array_add(c, json_object_new_uint64(x->counts[b]));
			json_object_object_add(h, "counts", c);
			json_object_object_add(h, "sum", json_object_new_double(x->value));
			json_object_object_add(o, key, h);
		} else {
			json_object_object_add(o, key, json_object_new_double(x->value));
		}
	}
	return o;
}

static void cmd_dump(struct harness *h, const char *prefix)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	size_t n = cgs_registry_count(h->reg);

	if (h->ops->begin)
		h->ops->begin(h->state);
	for (size_t i = 0; i < n; i++) {
		struct cgs_container *c = cgs_registry_at(h->reg, i);
		json_object *o;
		struct cgs_samples s;
		int errs;

		if (prefix && strncmp(c->path, prefix, strlen(prefix)))
			continue;
		o = json_object_new_object();
		cgs_samples_init(&s, 0);
		errs = h->ops->collect(h->state, c, &s);
		json_object_object_add(o, "id", json_object_new_string(c->path));
		json_object_object_add(o, "cgroup_id", json_object_new_uint64(c->cgroup_id));
		json_object_object_add(o, "slot", json_object_new_int(c->slot));
		json_object_object_add(o, "errors", json_object_new_int(errs));
		json_object_object_add(o, "samples", samples_json(&s));
		if (h->sched && c->slot >= 0) {
			struct cgs_sched_slot_stats t;

			if (cgs_sched_read_slot(h->state, c->slot, &t) == 0) {
				json_object_object_add(o, "oncpu_ns", json_object_new_uint64(t.oncpu_ns));
				json_object_object_add(o, "delay_ns", json_object_new_uint64(t.delay_ns));
			}
		}
		cgs_samples_free(&s);
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "containers", arr);
	if (h->sched) {
		const char *progs, *task_state;

		cgs_sched_variant(h->state, &progs, &task_state);
		json_object_object_add(root, "variant", json_object_new_string(progs));
		json_object_object_add(root, "task_state", json_object_new_string(task_state));
	}
	put(root);
}

static int join_cgroup(const char *dir)
{
	char path[4096], pid[32];
	int fd, n, e = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (write(fd, pid, (size_t)n) != n)
		e = -errno;
	close(fd);
	return e;
}

/*
 * The current task's kernel address: a raw_tp program returning
 * bpf_get_current_task() run with BPF_PROG_TEST_RUN in this task, one
 * 32-bit half per run (the run's return value is 32 bits).
 */
static int self_task(uint64_t *ptr)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_current_task },
		{ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_6, .off = 1, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_RSH | BPF_K, .dst_reg = BPF_REG_0, .imm = 32 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	uint32_t half[2];
	int fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "cgs_self_task", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		__u64 arg = (__u64)i;
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &arg, .ctx_size_in = sizeof(arg));

		if (bpf_prog_test_run_opts(fd, &o) < 0) {
			int e = -errno;

			close(fd);
			return e;
		}
		half[i] = o.retval;
	}
	close(fd);
	*ptr = (uint64_t)half[1] << 32 | half[0];
	return 0;
}

static int test_run(int prog_fd, __u64 *args, size_t n)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = (__u32)(n * sizeof(*args)));

	return bpf_prog_test_run_opts(prog_fd, &o) < 0 ? -errno : 0;
}

/* The lines of /proc/PID/status named in `keys`, as numbers (kB). */
static json_object *proc_status(pid_t pid)
{
	static const char *const keys[] = { "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmSize" };
	json_object *o = json_object_new_object();
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			size_t kl = strlen(keys[k]);

			if (!strncmp(line, keys[k], kl) && line[kl] == ':')
				json_object_object_add(o, keys[k], json_object_new_int64(atoll(line + kl + 1)));
		}
	if (f)
		fclose(f);
	return o;
}

static void oom_run(int prog, const char *dir, long mib)
{
	int c2p[2], p2c[2];
	json_object *o = json_object_new_object();
	uint64_t task = 0;
	pid_t pid;
	char x = 0;

	if (prog < 0 || pipe(c2p) || pipe(p2c)) {
		json_object_object_add(o, "error", json_object_new_string("no raw_tp mark_victim program (--collector mem --raw)"));
		put(o);
		return;
	}
	pid = fork();
	if (pid == 0) {
		size_t len = (size_t)mib << 20;
		char *mem;

		if (join_cgroup(dir) < 0 || !(mem = malloc(len)))
			_exit(1);
		for (size_t i = 0; i < len; i += 4096)
			mem[i] = 1;
		if (self_task(&task) < 0)
			task = 0;
		if (write(c2p[1], &task, sizeof(task)) != sizeof(task) || read(p2c[0], &x, 1) < 0)
			_exit(1);
		_exit(mem[len / 2] == 1 ? 0 : 1);
	}
	if (pid < 0 || read(c2p[0], &task, sizeof(task)) != sizeof(task) || !task) {
		json_object_object_add(o, "error", json_object_new_string("the child could not report its task"));
	} else {
		__u64 args[2] = { task, (__u64)getuid() };
		int e;

		json_object_object_add(o, "pid", json_object_new_int(pid));
		json_object_object_add(o, "status", proc_status(pid));
		e = test_run(prog, args, 2);
		json_object_object_add(o, "test_run", json_object_new_int(e));
	}
	if (pid > 0) {
		if (write(p2c[1], &x, 1) < 0)
			kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	close(c2p[0]);
	close(c2p[1]);
	close(p2c[0]);
	close(p2c[1]);
	put(o);
}

static void cmd_oom(struct harness *h, const char *dir, long mib)
{
	oom_run(h->sched ? -ENOENT : cgs_mem_prog_fd(h->state, "handle_mark_victim_raw"), dir, mib);
}

/* The raw_tp mark_victim program among the BPF programs process `pid` holds, as an fd of ours. */
static int agent_oom_prog(pid_t pid)
{
	char dir[64], path[320], line[256];
	struct dirent *de;
	DIR *d;
	int found = -ENOENT;

	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while (found < 0 && (de = readdir(d))) {
		unsigned id;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "r");
		while (f && found < 0 && fgets(line, sizeof(line), f)) {
			struct bpf_prog_info info = { 0 };
			__u32 len = sizeof(info);
			int fd;

			if (sscanf(line, "prog_id: %u", &id) != 1 || (fd = bpf_prog_get_fd_by_id(id)) < 0)
				continue;
			/* Names are cut to 15 characters: "handle_mark_victim_raw" is "handle_mark_vic". */
			if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_PROG_TYPE_RAW_TRACEPOINT &&
			    !strncmp(info.name, "handle_mark_victim_raw", sizeof(info.name) - 1))
				found = fd;
			else
				close(fd);
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return found;
}

static void cmd_reclaim(struct harness *h, const char *dir, long ms)
{
	int b = h->sched ? -ENOENT : cgs_mem_prog_fd(h->state, "handle_memcg_reclaim_begin_raw");
	int e = h->sched ? -ENOENT : cgs_mem_prog_fd(h->state, "handle_memcg_reclaim_end_raw");
	json_object *o = json_object_new_object();
	int status = -1;
	pid_t pid;

	if (b < 0 || e < 0) {
		json_object_object_add(o, "error", json_object_new_string("no raw_tp reclaim programs (--collector mem --raw)"));
		put(o);
		return;
	}
	pid = fork();
	if (pid == 0) {
		__u64 args[2] = { 0, 0 };
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		if (join_cgroup(dir) < 0 || test_run(b, args, 2) < 0)
			_exit(1);
		nanosleep(&ts, NULL);
		_exit(test_run(e, args, 1) < 0 ? 2 : 0);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	json_object_object_add(o, "status", json_object_new_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1));
	put(o);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int run(struct harness *h, bool wait)
{
	char line[4096], arg[4096];
	long n;

	if (wait) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		puts("ready");
		fflush(stdout);
		while (!stop)
			pause();
		return 0;
	}
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "rescan")) {
			json_object *o = json_object_new_object();

			cgs_registry_rescan(h->reg);
			json_object_object_add(o, "containers", json_object_new_uint64(cgs_registry_count(h->reg)));
			put(o);
		} else if (!strcmp(line, "dump")) {
			cmd_dump(h, NULL);
		} else if (sscanf(line, "dump %4095s", arg) == 1) {
			cmd_dump(h, arg);
		} else if (!strcmp(line, "poll")) {
			json_object *o = json_object_new_object();
			int r = h->ops->poll ? h->ops->poll(h->state) : 0;

			json_object_object_add(o, "ok", json_object_new_boolean(r == 0));
			put(o);
		} else if (!strcmp(line, "events")) {
			json_object *a = json_object_new_array();

			if (h->ops->api_events)
				h->ops->api_events(h->state, a);
			put(a);
		} else if (sscanf(line, "oom %4095s %ld", arg, &n) == 2) {
			cmd_oom(h, arg, n);
		} else if (sscanf(line, "reclaim %4095s %ld", arg, &n) == 2) {
			cmd_reclaim(h, arg, n);
		} else {
			fprintf(stderr, "unknown command: %s\n", line);
			puts("{\"error\":\"unknown command\"}");
			fflush(stdout);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct harness h = { .ops = &cgs_collector_sched, .sched = true };
	bool raw = false, wait = false;
	const char *why = NULL;
	int e;

	cgs_config_defaults(&h.cfg);
	h.cfg.events_file[0] = '\0';
	if (argc == 5 && !strcmp(argv[1], "--oom-agent")) {
		int prog = agent_oom_prog((pid_t)atoi(argv[2]));

		if (prog < 0) {
			fprintf(stderr, "no raw_tp mark_victim program in process %s: %s\n", argv[2], strerror(-prog));
			return 1;
		}
		oom_run(prog, argv[3], atol(argv[4]));
		close(prog);
		return 0;
	}
	/* Other work on a shared machine may hold thousands of containers: room for the test's. */
	h.cfg.max_containers = 100000;
	h.cfg.bpf_max_containers = 65535;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--collector") && i + 1 < argc) {
			h.sched = !strcmp(argv[++i], "sched");
			h.ops = h.sched ? &cgs_collector_sched : &cgs_collector_mem;
		} else if (!strcmp(argv[i], "--raw")) {
			raw = true;
		} else if (!strcmp(argv[i], "--wakeup")) {
			setenv("CGSIGHT_TEST_DISABLE", "sched_rq", 1);
		} else if (!strcmp(argv[i], "--include-host")) {
			h.cfg.include_host = true;
		} else if (!strcmp(argv[i], "--wait")) {
			wait = true;
		} else if (!strcmp(argv[i], "--events-file") && i + 1 < argc) {
			snprintf(h.cfg.events_file, sizeof(h.cfg.events_file), "%s", argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--collector sched|mem] [--raw] [--wakeup] [--include-host] [--wait] "
					"[--events-file PATH]\n       %s --oom-agent PID CGDIR MIB\n",
				argv[0], argv[0]);
			return 2;
		}
	}
	cgs_log_set_level(getenv("CGS_HARNESS_DEBUG") ? CGS_LOG_DEBUG : CGS_LOG_WARN);
	cgs_bpf_setup_logging();
	if (cgs_cgroup_find_mounts(NULL, NULL, &h.mounts) < 0) {
		fprintf(stderr, "no cgroup2 hierarchy\n");
		return 1;
	}
	cgs_bpf_probe(&h.f);
	if (raw)
		h.f.tp_btf = h.f.task_storage = false;
	h.slots = cgs_slots_new((uint32_t)h.cfg.bpf_max_containers + 1);
	if (!h.slots) {
		perror("BPF container slots");
		return 1;
	}
	struct cgs_registry_opts ro = {
		.mounts = &h.mounts,
		.slots = h.slots,
		.include_host = h.cfg.include_host,
		.runtime_dirs = { h.cfg.containerd_state_dir, h.cfg.crio_state_dir, h.cfg.docker_state_dir,
				  h.cfg.podman_state_dir },
		.proc_root = h.cfg.proc_root,
		.max_containers = h.cfg.max_containers,
		.max_series_per_container = h.cfg.max_series_per_container,
	};
	h.reg = cgs_registry_new(&ro);
	struct cgs_collector_ctx ctx = {
		.cfg = &h.cfg,
		.mounts = &h.mounts,
		.features = &h.f,
		.registry = h.reg,
		.slots = h.slots,
		.notify = notify,
	};
	e = h.reg ? h.ops->init(&ctx, &h.state, &why) : -ENOMEM;
	if (e) {
		fprintf(stderr, "collector %s: %s (%s)\n", h.ops->name, why ? why : "init failed", strerror(-e));
		cgs_registry_free(h.reg);
		cgs_slots_free(h.slots);
		return 1;
	}
	cgs_registry_rescan(h.reg);
	e = run(&h, wait);
	h.ops->destroy(h.state);
	cgs_registry_free(h.reg);
	cgs_slots_free(h.slots);
	return e;
}
