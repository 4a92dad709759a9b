/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory-event collector: loads bpf/mem.bpf.c (tp_btf programs with task
 * storage, or raw_tp twins with a tid hash; each hook only where the kernel
 * has its tracepoint), drains the OOM-kill
 * ring buffer from the event loop into a bounded log of recent kills for
 * the API, and each interval exports per container: user page faults, OOM
 * kills, memory-cgroup reclaim stalls (kernel accumulators), major faults
 * from memory.stat where the container has a memory cgroup, and otherwise
 * the summed RSS of its processes. Every kill is also appended to
 * events_file (agent/events.h), from which the log pipeline ships it.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>

#include "../agent/bpf_probe.h"
#include "../agent/config.h"
#include "../agent/events.h"
#include "../agent/log.h"
#include "../agent/slots.h"
#include "collector.h"
#include "mem.h"
#include "mem.skel.h"

#define LOG_COMP "collector:mem"
#define MEM_STAT_MAX 65536
#define PID_ONLY_MAX 64

_Static_assert(CGS_MEM_HIST_BUCKETS == CGS_LOG2_US_NBOUNDS + 1,
	       "kernel histogram buckets match cgs_log2_us_bounds");

struct mem {
	struct cgs_collector_ctx ctx;
	struct mem_bpf *skel;
	struct ring_buffer *rb;
	int stats_fd;
	unsigned ncpu;
	long page_size;
	struct cgs_mem_slot_stats *buf; /* ncpu values: one per-CPU map entry */
	char *text;                     /* MEM_STAT_MAX bytes: a memory.stat */
	int procfd;                     /* proc_root, for the RSS fallback; -1 if it cannot be opened */
	bool btf;                       /* tp_btf + task storage, else raw_tp + tid hash */
	bool fault, reclaim, oom;       /* hooks attached */
	bool victim_task;               /* mark_victim passes the task (else only its pid) */
	uint64_t lost_seen, bad;
	struct cgs_mem_oom_log log;
	struct cgs_evfile ev;           /* events_file: every kill, for the log pipeline */
	uint64_t ev_failed;             /* kills not written to it */
	/* mark_victim with a pid only: kills counted here by container cgroup id. */
	struct {
		uint64_t cgid, n;
	} pid_only[PID_ONLY_MAX];
	size_t npid_only;
};

/* ---- OOM records ------------------------------------------------------ */

int cgs_mem_oom_decode(const void *data, size_t len, long page_size, double realtime_now,
		       uint64_t monotonic_now_ns, struct cgs_mem_oom *out)
{
	struct cgs_mem_oom_event e;
	uint64_t pg = page_size > 0 ? (uint64_t)page_size : 4096;
	size_t i;

	if (!data || len < sizeof(e))
		return -EBADMSG;
	memcpy(&e, data, sizeof(e));
	memset(out, 0, sizeof(*out));
	out->time = realtime_now - (double)(int64_t)(monotonic_now_ns - e.ktime_ns) / 1e9;
	out->cgroup_id = e.cgroup_id;
	out->pid = e.pid;
	out->tid = e.tid;
	out->uid = e.uid;
	out->flags = e.flags;
	out->oom_score_adj = e.oom_score_adj;
	if (e.flags & CGS_MEM_OOM_MM) {
		out->total_vm_bytes = e.total_vm_pages * pg;
		out->anon_rss_bytes = e.anon_rss_pages * pg;
		out->file_rss_bytes = e.file_rss_pages * pg;
		out->shmem_rss_bytes = e.shmem_rss_pages * pg;
		out->pgtables_bytes = e.pgtables_bytes;
	}
	if (e.flags & CGS_MEM_OOM_MEMCG)
		out->memcg_usage_bytes = e.memcg_usage_pages * pg;
	for (i = 0; i < CGS_MEM_COMM_LEN && e.comm[i]; i++)
		out->comm[i] = isprint((unsigned char)e.comm[i]) ? e.comm[i] : '?';
	out->comm[i] = '\0';
	return 0;
}

void cgs_mem_oom_clear(struct cgs_mem_oom *o)
{
	free(o->id);
	free(o->container_id);
	free(o->name);
	free(o->container);
	free(o->pod);
	free(o->namespace);
	free(o->pod_uid);
	free(o->image);
	memset(o, 0, sizeof(*o));
}

void cgs_mem_oom_log_push(struct cgs_mem_oom_log *l, struct cgs_mem_oom *o)
{
	size_t i;

	if (l->n == CGS_MEM_OOM_KEEP) {
		i = l->head;
		cgs_mem_oom_clear(&l->v[i]);
		l->head = (l->head + 1) % CGS_MEM_OOM_KEEP;
	} else {
		i = (l->head + l->n) % CGS_MEM_OOM_KEEP;
		l->n++;
	}
	l->v[i] = *o;
	memset(o, 0, sizeof(*o));
}

void cgs_mem_oom_log_clear(struct cgs_mem_oom_log *l)
{
	for (size_t k = 0; k < l->n; k++)
		cgs_mem_oom_clear(&l->v[(l->head + k) % CGS_MEM_OOM_KEEP]);
	l->head = l->n = 0;
}

static int add_str(json_object *o, const char *k, const char *v)
{
	json_object *s = json_object_new_string(v ? v : "");

	return s ? json_object_object_add(o, k, s) : -1;
}

static int add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object *n = json_object_new_uint64(v);

	return n ? json_object_object_add(o, k, n) : -1;
}

static json_object *oom_json(const struct cgs_mem_oom *o)
{
	json_object *j = json_object_new_object();
	int e = 0;

	if (!j)
		return NULL;
	e |= add_str(j, "type", "oom_kill");
	e |= json_object_object_add(j, "time", json_object_new_double(o->time));
	e |= add_u64(j, "cgroup_id", o->cgroup_id);
	e |= json_object_object_add(j, "id", o->id ? json_object_new_string(o->id) : NULL);
	e |= add_str(j, "container_id", o->container_id);
	e |= add_str(j, "name", o->name);
	e |= add_str(j, "container", o->container);
	e |= add_str(j, "pod", o->pod);
	e |= add_str(j, "namespace", o->namespace);
	e |= add_str(j, "pod_uid", o->pod_uid);
	e |= add_str(j, "image", o->image);
	e |= add_u64(j, "pid", o->pid);
	if (o->flags & CGS_MEM_OOM_TASK) {
		e |= add_u64(j, "tid", o->tid);
		e |= add_u64(j, "uid", o->uid);
		e |= json_object_object_add(j, "oom_score_adj", json_object_new_int(o->oom_score_adj));
	}
	e |= add_str(j, "comm", o->comm);
	if (o->flags & CGS_MEM_OOM_MM) {
		e |= add_u64(j, "rss_bytes", o->anon_rss_bytes + o->file_rss_bytes + o->shmem_rss_bytes);
		e |= add_u64(j, "anon_rss_bytes", o->anon_rss_bytes);
		e |= add_u64(j, "file_rss_bytes", o->file_rss_bytes);
		e |= add_u64(j, "shmem_rss_bytes", o->shmem_rss_bytes);
		e |= add_u64(j, "total_vm_bytes", o->total_vm_bytes);
		e |= add_u64(j, "pgtables_bytes", o->pgtables_bytes);
	}
	if (o->flags & CGS_MEM_OOM_MEMCG)
		e |= add_u64(j, "memcg_usage_bytes", o->memcg_usage_bytes);
	if (e) {
		json_object_put(j);
		return NULL;
	}
	return j;
}

int cgs_mem_oom_log_json(const struct cgs_mem_oom_log *l, struct json_object *events)
{
	for (size_t k = 0; k < l->n; k++) {
		json_object *j = oom_json(&l->v[(l->head + k) % CGS_MEM_OOM_KEEP]);

		if (!j || json_object_array_add(events, j) < 0) {
			json_object_put(j);
			return -ENOMEM;
		}
	}
	return 0;
}

char *cgs_mem_oom_line(const struct cgs_mem_oom *o, size_t *len)
{
	json_object *j = oom_json(o);
	const char *s;
	char *line = NULL;
	size_t n;

	if (!j)
		return NULL;
	/* One line: json-c escapes control characters in strings; "/" is left as it is. */
	s = json_object_to_json_string_length(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (s && (line = malloc(n + 1))) {
		memcpy(line, s, n + 1);
		*len = n;
	}
	json_object_put(j);
	return line;
}

/* ---- memory.stat and /proc ------------------------------------------- */

/* Value of `key` in "key value\n" lines: 1 found, 0 absent, -EBADMSG. */
static int stat_key(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);

	for (const char *p = text; *p;) {
		const char *eol = strchrnul(p, '\n');

		if ((size_t)(eol - p) > kl && !strncmp(p, key, kl) && p[kl] == ' ') {
			const char *v = p + kl + 1;
			uint64_t n = 0;

			if (v == eol)
				return -EBADMSG;
			for (; v < eol; v++) {
				uint64_t d = (uint64_t)(*v - '0');

				if (*v < '0' || *v > '9' || n > (UINT64_MAX - d) / 10)
					return -EBADMSG;
				n = n * 10 + d;
			}
			*out = n;
			return 1;
		}
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

int cgs_mem_parse_pgmajfault(const char *text, bool v1, uint64_t *out)
{
	int r;

	if (v1 && (r = stat_key(text, "total_pgmajfault", out)) != 0)
		return r;
	return stat_key(text, "pgmajfault", out);
}

/* Resident pages of one process (statm's second field): 0, or -errno (-ENOENT: it exited). */
static int statm_resident(int procfd, const char *pid, uint64_t *pages)
{
	char path[64], buf[256], *p, *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/statm", pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 && errno != ESRCH ? -errno : -ENOENT;
	buf[n] = '\0';
	p = strchr(buf, ' ');
	if (!p)
		return -EBADMSG;
	errno = 0;
	*pages = strtoull(p + 1, &end, 10);
	return errno || end == p + 1 ? -EBADMSG : 0;
}

/* Adds the resident pages of every pid listed in dfd's cgroup.procs. */
static void rss_procs(int dfd, int procfd, uint64_t *pages, int *count)
{
	char buf[4096], pid[24];
	size_t plen = 0;
	ssize_t n;
	int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			uint64_t p = 0;

			if (buf[i] != '\n') {
				if (buf[i] < '0' || buf[i] > '9' || plen == sizeof(pid) - 1)
					plen = sizeof(pid); /* not a pid: skip to the end of the line */
				else if (plen < sizeof(pid))
					pid[plen++] = buf[i];
				continue;
			}
			if (plen && plen < sizeof(pid)) {
				pid[plen] = '\0';
				if (statm_resident(procfd, pid, &p) == 0) {
					*pages += p;
					(*count)++;
				}
			}
			plen = 0;
		}
	}
	close(fd);
	if (plen && plen < sizeof(pid)) { /* a last line without its newline */
		uint64_t p = 0;

		pid[plen] = '\0';
		if (statm_resident(procfd, pid, &p) == 0) {
			*pages += p;
			(*count)++;
		}
	}
}

static void rss_walk(int dfd, int procfd, unsigned depth, uint64_t *pages, int *count)
{
	struct dirent *de;
	DIR *d;
	int fd;

	rss_procs(dfd, procfd, pages, count);
	/* Nested cgroups count for their container (a bounded depth, as the registry's walk). */
	if (depth >= 32 || (fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		int sub;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue;
		rss_walk(sub, procfd, depth + 1, pages, count);
		close(sub);
	}
	closedir(d);
}

/* cgroup.events says "populated 0": no process in the cgroup or below it (cgroup v2). */
static bool unpopulated(int dfd)
{
	char buf[256];
	ssize_t n;
	int fd = openat(dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return !strncmp(buf, "populated 0\n", 12) || strstr(buf, "\npopulated 0\n");
}

/* cgs_mem_rss_sum with /proc already open. */
static int rss_sum_at(const char *dir, int procfd, long page_size, uint64_t *bytes)
{
	int dfd, count = 0;
	uint64_t pages = 0;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	/* Most containers on a busy node are not empty, but many short-lived ones are: one read. */
	if (!unpopulated(dfd))
		rss_walk(dfd, procfd, 0, &pages, &count);
	close(dfd);
	*bytes = pages * (uint64_t)(page_size > 0 ? page_size : 4096);
	return count;
}

int cgs_mem_rss_sum(const char *dir, const char *proc_root, long page_size, uint64_t *bytes)
{
	int procfd = open(proc_root && proc_root[0] ? proc_root : "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int n;

	if (procfd < 0)
		return -errno;
	n = rss_sum_at(dir, procfd, page_size, bytes);
	close(procfd);
	return n;
}

/* ---- BPF side ------------------------------------------------------------ */

int cgs_mem_prog_fd(void *state, const char *prog_name)
{
	struct mem *m = state;
	struct bpf_program *p = bpf_object__find_program_by_name(m->skel->obj, prog_name);
	int fd = p ? bpf_program__fd(p) : -1;

	return fd >= 0 ? fd : -ENOENT;
}

static bool tp_in_btf(const struct btf *vmlinux, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0;
}

/* mark_victim's arguments: (task, uid) since Linux 6.8, (pid) before. */
static bool victim_is_task(const struct btf *vmlinux)
{
	int id = btf__find_by_name_kind(vmlinux, "btf_trace_mark_victim", BTF_KIND_TYPEDEF);
	const struct btf_type *t = id > 0 ? btf__type_by_id(vmlinux, (__u32)id) : NULL;

	/* typedef -> pointer -> func_proto(void *, task_struct *, uid_t) */
	if (t)
		t = btf__type_by_id(vmlinux, t->type);
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(vmlinux, t->type);
	return t && btf_is_func_proto(t) && btf_vlen(t) >= 3;
}

static int mem_load(struct mem *m, bool btf)
{
	const struct cgs_collector_ctx *ctx = &m->ctx;
	struct mem_bpf *skel = mem_bpf__open();
	int e;

	if (!skel)
		return -errno;
	skel->rodata->include_host = ctx->cfg && ctx->cfg->include_host;
	skel->rodata->victim_is_task = m->victim_task;
	e = bpf_map__set_max_entries(skel->maps.mem_stats, cgs_slots_max(ctx->slots));
	if (!e)
		e = bpf_map__set_autocreate(skel->maps.task_mem_storage, btf);
	if (!e)
		e = bpf_map__set_autocreate(skel->maps.task_mem_hash, !btf);
	if (!e)
		e = cgs_slots_reuse(ctx->slots, skel->maps.cgs_cgroup_slots, skel->maps.cgs_slots_meta);
	if (e)
		goto fail;
	bpf_program__set_autoload(skel->progs.handle_page_fault_user, btf && m->fault);
	bpf_program__set_autoload(skel->progs.handle_memcg_reclaim_begin, btf && m->reclaim);
	bpf_program__set_autoload(skel->progs.handle_memcg_reclaim_end, btf && m->reclaim);
	bpf_program__set_autoload(skel->progs.handle_mark_victim, btf && m->oom);
	bpf_program__set_autoload(skel->progs.handle_page_fault_user_raw, !btf && m->fault);
	bpf_program__set_autoload(skel->progs.handle_memcg_reclaim_begin_raw, !btf && m->reclaim);
	bpf_program__set_autoload(skel->progs.handle_memcg_reclaim_end_raw, !btf && m->reclaim);
	bpf_program__set_autoload(skel->progs.handle_mark_victim_raw, !btf && m->oom);
	e = mem_bpf__load(skel);
	if (!e)
		e = mem_bpf__attach(skel);
	if (e)
		goto fail;
	m->skel = skel;
	m->stats_fd = bpf_map__fd(skel->maps.mem_stats);
	m->btf = btf;
	return 0;
fail:
	mem_bpf__destroy(skel);
	return e < 0 ? e : -EINVAL;
}

static void mem_reset_slot(void *arg, uint32_t slot)
{
	struct mem *m = arg;
	__u32 k = slot;

	memset(m->buf, 0, sizeof(*m->buf) * m->ncpu);
	if (bpf_map_update_elem(m->stats_fd, &k, m->buf, BPF_ANY) < 0)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "cannot reset slot %u: %s", slot, strerror(errno));
}

static int read_slot(struct mem *m, int slot, struct cgs_mem_slot_stats *t)
{
	__u32 k = (__u32)slot;

	if (bpf_map_lookup_elem(m->stats_fd, &k, m->buf) < 0)
		return -errno;
	memset(t, 0, sizeof(*t));
	for (unsigned c = 0; c < m->ncpu; c++) {
		const struct cgs_mem_slot_stats *v = &m->buf[c];

		t->pgfault += v->pgfault;
		t->oom_kills += v->oom_kills;
		t->reclaim_ns += v->reclaim_ns;
		for (int b = 0; b < CGS_MEM_HIST_BUCKETS; b++)
			t->reclaim_hist[b] += v->reclaim_hist[b];
	}
	return 0;
}

/* ---- events ---------------------------------------------------------------- */

static const struct cgs_container *host_container(struct cgs_registry *r)
{
	size_t n = cgs_registry_count(r);

	for (size_t i = 0; i < n; i++)
		if (cgs_registry_at(r, i)->host)
			return cgs_registry_at(r, i);
	return NULL;
}

/* Linux < 6.8 names only the victim's pid: find its cgroup and comm while it is still there. */
static void resolve_pid(struct mem *m, struct cgs_mem_oom *o)
{
	const char *proc = m->ctx.cfg && m->ctx.cfg->proc_root[0] ? m->ctx.cfg->proc_root : "/proc";
	char path[PATH_MAX], buf[4096];
	struct stat st;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%u/comm", proc, o->pid) >= (int)sizeof(path))
		return;
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f)) {
		size_t i;

		buf[strcspn(buf, "\n")] = '\0';
		for (i = 0; i < CGS_MEM_COMM_LEN && buf[i]; i++)
			o->comm[i] = isprint((unsigned char)buf[i]) ? buf[i] : '?';
		o->comm[i] = '\0';
	}
	if (f)
		fclose(f);
	if (snprintf(path, sizeof(path), "%s/%u/cgroup", proc, o->pid) >= (int)sizeof(path))
		return;
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (!strncmp(buf, "0::/", 4) &&
		    snprintf(path, sizeof(path), "%s%s", m->ctx.mounts->v2, buf[4] ? buf + 3 : "") <
			    (int)sizeof(path) &&
		    stat(path, &st) == 0)
			o->cgroup_id = (uint64_t)st.st_ino;
	}
	fclose(f);
}

static void count_pid_only(struct mem *m, uint64_t cgid)
{
	size_t i;

	for (i = 0; i < m->npid_only && m->pid_only[i].cgid != cgid; i++)
		;
	if (i == m->npid_only) {
		if (m->npid_only == PID_ONLY_MAX)
			return;
		m->pid_only[m->npid_only++].cgid = cgid;
	}
	m->pid_only[i].n++;
}

static char *dup_or_null(const char *s)
{
	return s && s[0] ? strdup(s) : NULL;
}

/* Appends the kill to events_file (synced once the ring buffer is drained, see mem_poll). */
static void write_event(struct mem *m, const struct cgs_mem_oom *o)
{
	size_t len = 0;
	char *line;
	int r;

	if (!m->ev.path[0])
		return;
	line = cgs_mem_oom_line(o, &len);
	r = line ? cgs_evfile_append(&m->ev, line, len) : -ENOMEM;
	free(line);
	if (r < 0) {
		m->ev_failed++;
		cgs_log_ratelimited(CGS_LOG_ERROR, LOG_COMP, "OOM kill of pid %u not written to %s: %s", o->pid,
				    m->ev.path, r == -EBUSY ? "another process owns the file" : strerror(-r));
	}
}

static int on_oom(void *arg, void *data, size_t len)
{
	struct mem *m = arg;
	const struct cgs_container *c = NULL;
	struct cgs_mem_oom o;
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	if (cgs_mem_oom_decode(data, len, m->page_size, (double)rt.tv_sec + (double)rt.tv_nsec / 1e9,
			       (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec, &o) < 0) {
		m->bad++;
		return 0;
	}
	/* Linux < 6.8, the victim was not the current task: not counted in the kernel. */
	bool user_count = (o.flags & CGS_MEM_OOM_PID_ONLY) && !(o.flags & CGS_MEM_OOM_TASK);

	if (user_count)
		resolve_pid(m, &o);
	if (o.cgroup_id)
		c = cgs_registry_lookup(m->ctx.registry, o.cgroup_id);
	if (!c && m->ctx.cfg && m->ctx.cfg->include_host)
		c = host_container(m->ctx.registry);
	if (!c) {
		cgs_log_debug(LOG_COMP, "OOM kill of pid %u (%s) outside containers", o.pid, o.comm);
		return 0;
	}
	if (user_count)
		count_pid_only(m, c->cgroup_id);
	o.id = strdup(c->path);
	o.container_id = dup_or_null(c->match.id);
	o.name = dup_or_null(c->meta.name);
	o.container = dup_or_null(c->meta.container);
	o.pod = dup_or_null(c->meta.pod);
	o.namespace = dup_or_null(c->meta.namespace);
	o.pod_uid = dup_or_null(c->meta.pod_uid);
	o.image = dup_or_null(c->meta.image);
	cgs_log_warn(LOG_COMP, "OOM kill in %s: pid %u (%s), rss %.1f MiB", c->path, o.pid, o.comm,
		     (double)(o.anon_rss_bytes + o.file_rss_bytes + o.shmem_rss_bytes) / 1048576.0);
	write_event(m, &o);
	cgs_mem_oom_log_push(&m->log, &o);
	m->ctx.notify(m->ctx.notify_arg, CGS_NOTIFY_CHANGED);
	return 0;
}

/* ---- collector ops ------------------------------------------------------------ */

static void mem_destroy(void *state)
{
	struct mem *m = state;

	if (!m)
		return;
	ring_buffer__free(m->rb);
	mem_bpf__destroy(m->skel);
	cgs_evfile_close(&m->ev);
	cgs_mem_oom_log_clear(&m->log);
	if (m->procfd >= 0)
		close(m->procfd);
	free(m->buf);
	free(m->text);
	free(m);
}

static int mem_init(const struct cgs_collector_ctx *ctx, void **state, const char **why)
{
	const struct cgs_bpf_features *f = ctx->features;
	struct btf *vmlinux = NULL;
	struct mem *m;
	int n, e;

	if (!ctx->slots || !f->bpf || !f->btf || !f->ringbuf || (!f->tp_btf && !f->raw_tp)) {
		if (why)
			*why = !ctx->slots ? "no BPF container slots"
			       : !f->bpf   ? "BPF programs cannot be loaded here"
			       : !f->btf   ? "no kernel BTF (/sys/kernel/btf/vmlinux) for CO-RE"
			       : !f->ringbuf ? "no BPF ring buffer (Linux < 5.8)"
					     : "no raw tracepoints";
		return -EOPNOTSUPP;
	}
	n = libbpf_num_possible_cpus();
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ctx = *ctx;
	m->stats_fd = -1;
	if (cgs_evfile_init(&m->ev, ctx->cfg ? ctx->cfg->events_file : "",
			    ctx->cfg ? ctx->cfg->events_file_max_bytes : 0) < 0)
		cgs_log_warn(LOG_COMP, "events_file: path too long; OOM kills are kept for the API only");
	m->procfd = open(ctx->cfg && ctx->cfg->proc_root[0] ? ctx->cfg->proc_root : "/proc",
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	m->ncpu = (unsigned)n;
	m->page_size = sysconf(_SC_PAGESIZE);
	m->buf = calloc(m->ncpu, sizeof(*m->buf));
	m->text = malloc(MEM_STAT_MAX);
	vmlinux = btf__load_vmlinux_btf();
	if (!m->buf || !m->text || !vmlinux) {
		e = !vmlinux ? -errno : -ENOMEM;
		if (why)
			*why = !vmlinux ? "cannot read the kernel BTF" : "out of memory";
		goto fail;
	}
	m->fault = tp_in_btf(vmlinux, "page_fault_user");
	m->reclaim = tp_in_btf(vmlinux, "mm_vmscan_memcg_reclaim_begin") &&
		     tp_in_btf(vmlinux, "mm_vmscan_memcg_reclaim_end");
	m->oom = tp_in_btf(vmlinux, "mark_victim");
	m->victim_task = m->oom && victim_is_task(vmlinux);
	btf__free(vmlinux);
	if (!m->fault && !m->reclaim && !m->oom) {
		if (why)
			*why = "the kernel has none of the page_fault_user, memcg reclaim and mark_victim tracepoints";
		e = -EOPNOTSUPP;
		goto fail;
	}
	/* Tests drive the raw_tp programs of a running agent with BPF_PROG_TEST_RUN (tp_btf ones cannot be). */
	bool btf = f->tp_btf && f->task_storage && !cgs_test_disable_design(CGS_DESIGN_MEM_TP_BTF);

	e = btf ? mem_load(m, true) : f->raw_tp ? mem_load(m, false) : -EOPNOTSUPP;
	if (e && btf && f->raw_tp) {
		cgs_log_info(LOG_COMP, "tp_btf programs with task storage refused (%s); using raw_tp", strerror(-e));
		e = mem_load(m, false);
	}
	if (!e) {
		m->rb = ring_buffer__new(bpf_map__fd(m->skel->maps.oom_events), on_oom, m, NULL);
		e = m->rb ? 0 : -errno;
	}
	if (!e)
		e = cgs_slots_watch(ctx->slots, mem_reset_slot, NULL, m);
	if (e) {
		if (why)
			*why = "loading or attaching the BPF programs failed";
		goto fail;
	}
	cgs_log_info(LOG_COMP, "%s programs (per-thread state in %s): page faults %s, memcg reclaim %s, OOM kills %s",
		     m->btf ? "tp_btf" : "raw_tp", m->btf ? "task local storage" : "a tid hash",
		     m->fault ? "on" : "off (no tracepoint)", m->reclaim ? "on" : "off (no tracepoint)",
		     !m->oom ? "off (no tracepoint)" : m->victim_task ? "on" : "on (pid only)");
	if (m->oom && m->ev.path[0])
		cgs_log_info(LOG_COMP, "OOM kills are appended to %s", m->ev.path);
	*state = m;
	return 0;
fail:
	mem_destroy(m);
	return e < 0 ? e : -EINVAL;
}

static int mem_fd(void *state)
{
	struct mem *m = state;

	return ring_buffer__epoll_fd(m->rb);
}

static int mem_poll(void *state)
{
	struct mem *m = state;
	int n = ring_buffer__consume(m->rb);

	int r = cgs_evfile_sync(&m->ev); /* once per batch: a burst of kills costs one fdatasync */

	if (r < 0)
		cgs_log_ratelimited(CGS_LOG_WARN, LOG_COMP, "fdatasync of %s: %s", m->ev.path, strerror(-r));
	m->lost_seen = __atomic_load_n(&m->skel->bss->lost, __ATOMIC_RELAXED);
	return n < 0 ? n : 0;
}

/* Drops pid-only counts of containers that are gone. */
static int mem_begin(void *state)
{
	struct mem *m = state;
	size_t k = 0;

	for (size_t i = 0; i < m->npid_only; i++)
		if (cgs_registry_lookup(m->ctx.registry, m->pid_only[i].cgid))
			m->pid_only[k++] = m->pid_only[i];
	m->npid_only = k;
	return 0;
}

/* Reads dir/memory.stat into m->text: 1 read, 0 absent, -1 failed. */
static int read_memory_stat(struct mem *m, const char *dir)
{
	char path[PATH_MAX];
	size_t len = 0;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/memory.stat", dir) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ENODEV ? 0 : -1;
	while (len < MEM_STAT_MAX - 1 && (n = read(fd, m->text + len, MEM_STAT_MAX - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	m->text[len] = '\0';
	return 1;
}

/* Major faults from memory.stat; without any memory cgroup, the summed RSS. Errors counted. */
static int collect_cgroupfs(struct mem *m, const struct cgs_container *c, struct cgs_samples *out)
{
	const char *v1dir = c->v1_dir[CGS_V1_MEMORY];
	bool v1 = false;
	uint64_t v;
	int r = 0, n;

	if (c->dir)
		r = read_memory_stat(m, c->dir);
	if (r == 0 && v1dir && v1dir[0]) {
		r = read_memory_stat(m, v1dir);
		v1 = true;
	}
	if (r < 0)
		return 1;
	if (r > 0) {
		n = cgs_mem_parse_pgmajfault(m->text, v1, &v);
		if (n > 0)
			cgs_samples_add_l(out, CGS_M_MEMORY_FAILURES, "pgmajfault", "container", (double)v);
		return n < 0;
	}
	/* No memory cgroup anywhere for this container (the host pseudo container excepted). */
	if (c->host || !c->dir)
		return 0;
	if (m->procfd < 0)
		return 1;
	n = rss_sum_at(c->dir, m->procfd, m->page_size, &v);
	if (n >= 0)
		cgs_samples_add(out, CGS_M_MEMORY_RSS, (double)v);
	return n < 0 && n != -ENOENT && n != -ENODEV;
}

static int mem_collect(void *state, const struct cgs_container *c, struct cgs_samples *out)
{
	struct mem *m = state;
	struct cgs_mem_slot_stats t;
	int errs = 0;

	if (c->slot >= 0) {
		if (read_slot(m, c->slot, &t) < 0) {
			errs++;
		} else {
			if (m->fault)
				cgs_samples_add_l(out, CGS_M_MEMORY_FAILURES, "pgfault", "container", (double)t.pgfault);
			if (m->oom) {
				uint64_t n = t.oom_kills;

				for (size_t i = 0; i < m->npid_only; i++)
					if (m->pid_only[i].cgid == c->cgroup_id)
						n += m->pid_only[i].n;
				cgs_samples_add(out, CGS_M_OOM_EVENTS, (double)n);
			}
			if (m->reclaim) {
				uint64_t counts[CGS_MEM_HIST_BUCKETS], n = 0;

				for (int b = 0; b < CGS_MEM_HIST_BUCKETS; b++)
					n += counts[b] = t.reclaim_hist[b];
				/* 26 series: only for containers that did stall in reclaim. */
				if (n)
					cgs_samples_add_hist(out, CGS_M_MEMORY_RECLAIM, NULL, counts,
							     (double)t.reclaim_ns / 1e9);
			}
		}
	}
	return errs + collect_cgroupfs(m, c, out);
}

static int mem_collect_agent(void *state, struct cgs_samples *out)
{
	struct mem *m = state;

	return cgs_samples_add_l(out, CGS_M_AGENT_EVENTS_LOST, "mem", NULL,
				 (double)(m->lost_seen + m->bad + m->ev_failed));
}

static int mem_api_events(void *state, struct json_object *events)
{
	struct mem *m = state;

	return cgs_mem_oom_log_json(&m->log, events);
}

static const char *mem_variant(void *state, bool *fallback)
{
	const struct mem *m = state;

	*fallback = !m->btf;
	return m->btf ? "tp_btf+task_storage" : "raw_tp+tid_hash";
}

const struct cgs_collector_ops cgs_collector_mem = {
	.name = "mem",
	.bpf = true,
	.variant = mem_variant,
	.init = mem_init,
	.fd = mem_fd,
	.poll = mem_poll,
	.begin = mem_begin,
	.collect = mem_collect,
	.collect_agent = mem_collect_agent,
	.api_events = mem_api_events,
	.destroy = mem_destroy,
};
