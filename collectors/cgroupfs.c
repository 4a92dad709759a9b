/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroupfs collector: for one container, reads the controller files of
 * its cgroup2 directory and, for each v2 file that is missing there (hybrid
 * hosts, where cpu/memory/io/pids live on v1 mounts), the v1 equivalent from
 * the container's v1 directory, read only; then turns what it read into
 * samples. Everything is read before anything is emitted, so a container
 * removed mid-read yields no samples and no errors rather than a partial
 * set. Files are opened relative to a directory fd and read whole into one
 * per-instance buffer (no stdio, no allocation per file); the process count
 * walks the nested cgroups below the container with getdents64.
 */
#include "cgroupfs.h"
#include "collector.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../agent/log.h"

#define CGFS_COMP "collector:cgroupfs"

/* Controller files are small; a bigger one is refused (-EFBIG) as garbled. */
#define CGFS_FILE_MAX ((size_t)64 * 1024)
/* Nested cgroups below a container that the process count visits. */
#define CGFS_WALK_DEPTH 8
#define CGFS_WALK_MAX 1024
#define CGFS_DENTS_BUF 8192
/* v1 limits at or above this mean "no limit" (cAdvisor reports 0). */
#define CGFS_LIMIT_UNLIMITED (UINT64_C(1) << 62)

/*
 * Files found absent for a container are not looked for again on every
 * pass (an ENOENT open costs a path walk): one bit per file name, per
 * container, forgotten every CGFS_ABSENT_REPROBE passes so a controller
 * enabled later is still picked up. cgroup.procs is never cached: its
 * absence means the container is gone.
 */
#define CGFS_ABSENT_REPROBE 8
static const char *const cgfs_cached_names[] = { /* at most 32 */
	"cpu.stat", "cpu.max", "memory.current", "memory.stat", "memory.max", "memory.swap.current",
	"io.stat", "pids.current", "cpu.pressure", "memory.pressure", "io.pressure", "cgroup.threads",
	"cpuacct.usage", "cpuacct.stat", "cpu.cfs_quota_us", "cpu.cfs_period_us",
	"memory.usage_in_bytes", "memory.limit_in_bytes", "blkio.throttle.io_service_bytes_recursive",
	"blkio.throttle.io_service_bytes",
};

struct cgfs_absent {
	uint64_t id;       /* container cgroup id, 0 = empty slot */
	uint64_t mask;     /* bit i: cgfs_cached_names[i] absent in the v2 dir; bit 32 + i: in a v1 dir */
	uint32_t seen;     /* pass number it was last used in */
	uint32_t pad;
};

struct cgfs_state {
	long user_hz;
	bool hybrid;                 /* v1 controllers beside the v2 hierarchy */
	uint32_t pass;               /* collection passes (begin calls) */
	struct cgfs_absent *absent;  /* open addressing, power-of-two capacity */
	size_t absent_cap, absent_n;
	/* One getdents64 buffer per walk depth; records are 8-byte aligned. */
	_Alignas(8) char dents[CGFS_WALK_DEPTH + 1][CGFS_DENTS_BUF];
	char buf[CGFS_FILE_MAX + 1];
};

/* One collection pass over one container. */
struct cgfs_pass {
	struct cgfs_state *st;
	const struct cgs_container *c;
	int v2fd;
	int v1fd[CGS_V1__COUNT];  /* -1 not opened yet, -2 none or absent */
	int errors;
	bool gone;                /* the cgroup went away: emit nothing */
	struct cgfs_absent *absent; /* this container's cache entry, or NULL */
	bool reprobe;             /* look for every file this pass */
	struct cgs_cgfs_stats s;
	bool has_cpu_split;       /* user/system known alongside usage */
};

/* linux_dirent64, as getdents64(2) returns it. */
struct cgfs_dirent {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static bool errno_gone(int err)
{
	return err == ENODEV;
}

static bool errno_absent(int err)
{
	/* EOPNOTSUPP: pressure files of a kernel booted with psi=0. */
	return err == ENOENT || err == EOPNOTSUPP;
}

/* Reads `name` below `dirfd` whole into st->buf, NUL-terminated. Length or -errno. */
static ssize_t cgfs_read_file(struct cgfs_state *st, int dirfd, const char *name)
{
	size_t len = 0;
	ssize_t n;
	int fd, err = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < CGFS_FILE_MAX) {
		n = read(fd, st->buf + len, CGFS_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (!err && len == CGFS_FILE_MAX) {
		char extra;

		do
			n = read(fd, &extra, 1);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			err = -errno;
		else if (n > 0)
			err = -EFBIG;
	}
	close(fd);
	if (err)
		return err;
	st->buf[len] = '\0';
	if (memchr(st->buf, '\0', len))
		return -EBADMSG;
	return (ssize_t)len;
}

/* Counts the lines of `name` below `dirfd` (cgroup.procs can pass 64 KiB). Count or -errno. */
static int64_t cgfs_count_lines(struct cgfs_state *st, int dirfd, const char *name)
{
	int64_t lines = 0;
	char last = '\n';
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, st->buf, CGFS_FILE_MAX);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (const char *q = st->buf, *end = st->buf + n;
		     (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
			lines++;
		last = st->buf[n - 1];
	}
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return last == '\n' ? lines : lines + 1;
}

/* Notes a failed read or parse of `name`: counted, or the end of the pass if the cgroup is gone. */
static void pass_fail(struct cgfs_pass *p, const char *name, int err)
{
	if (errno_gone(-err)) {
		p->gone = true;
		return;
	}
	p->errors++;
	cgs_log_debug(CGFS_COMP, "%s: %s: %s", p->c->path ? p->c->path : "?", name, strerror(-err));
}

/*
 * Reads `name` below `fd` into the buffer: 1 when read, 0 when absent (no
 * series; also when fd < 0), -1 when it failed (counted, or gone).
 */
static int cached_bit(const char *name)
{
	for (size_t i = 0; i < sizeof(cgfs_cached_names) / sizeof(cgfs_cached_names[0]); i++)
		if (!strcmp(cgfs_cached_names[i], name))
			return (int)i;
	return -1;
}

static int pass_read(struct cgfs_pass *p, int fd, const char *name)
{
	int bit = p->absent ? cached_bit(name) : -1;
	uint64_t m;
	ssize_t r;

	if (fd < 0 || p->gone)
		return 0;
	m = bit < 0 ? 0 : UINT64_C(1) << (bit + (fd == p->v2fd ? 0 : 32));
	if (m && !p->reprobe && (p->absent->mask & m))
		return 0;
	r = cgfs_read_file(p->st, fd, name);
	if (m) {
		if (r >= 0 || !errno_absent((int)-r))
			p->absent->mask &= ~m;
		else
			p->absent->mask |= m;
	}
	if (r >= 0)
		return 1;
	if (errno_absent((int)-r))
		return 0;
	pass_fail(p, name, (int)r);
	return -1;
}

/* Reads and parses `name`: 1 parsed, 0 absent, -1 failed (counted). */
static int pass_parse(struct cgfs_pass *p, int fd, const char *name,
		      int (*parse)(const char *, struct cgs_cgfs_stats *))
{
	int r = pass_read(p, fd, name), e;

	if (r <= 0)
		return r;
	e = parse(p->st->buf, &p->s);
	if (e < 0) {
		pass_fail(p, name, e);
		return -1;
	}
	return 1;
}

/* Reads a single-value file: 1 with *v set, 0 absent, -1 failed (counted). */
static int pass_u64(struct cgfs_pass *p, int fd, const char *name, uint64_t *v, bool *is_max)
{
	int r = pass_read(p, fd, name), e;

	if (r <= 0)
		return r;
	e = cgs_cgfs_parse_u64(p->st->buf, v, is_max);
	if (e < 0) {
		pass_fail(p, name, e);
		return -1;
	}
	return 1;
}

/* The container's v1 directory of controller `ctrl`, opened on first use; -1 if none. */
static int pass_v1(struct cgfs_pass *p, enum cgs_v1_ctrl ctrl)
{
	const char *dir = p->c->v1_dir[ctrl];

	if (p->v1fd[ctrl] == -1) {
		p->v1fd[ctrl] = -2;
		if (dir && dir[0] && !p->gone) {
			int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (fd >= 0)
				p->v1fd[ctrl] = fd;
			else if (errno != ENOENT)
				pass_fail(p, dir, -errno);
		}
	}
	return p->v1fd[ctrl] >= 0 ? p->v1fd[ctrl] : -1;
}

/* cpu.cfs_quota_us: microseconds per period, or -1 for none (then no quota series, as cAdvisor). */
static int parse_cfs_quota(const char *text, struct cgs_cgfs_stats *s)
{
	uint64_t v;

	if (text[0] == '-') {
		if (cgs_cgfs_parse_u64(text + 1, &v, NULL) < 0 || v != 1)
			return -EBADMSG;
		s->has_cpu_quota = false;
		return 0;
	}
	if (cgs_cgfs_parse_u64(text, &v, NULL) < 0)
		return -EBADMSG;
	s->has_cpu_quota = true;
	s->cpu_quota = (double)v;
	return 0;
}

static void read_cpu(struct cgfs_pass *p)
{
	struct cgs_cgfs_stats *s = &p->s;
	uint64_t v;
	int r;

	r = pass_parse(p, p->v2fd, "cpu.stat", cgs_cgfs_parse_cpu_stat_v2);
	p->has_cpu_split = s->has_cpu_usage;
	if (r == 0) {
		int fd = pass_v1(p, CGS_V1_CPUACCT);

		if (pass_u64(p, fd, "cpuacct.usage", &v, NULL) > 0) {
			s->has_cpu_usage = true;
			s->cpu_usage_s = (double)v / 1e9;
		}
		if (pass_read(p, fd, "cpuacct.stat") > 0) {
			int e = cgs_cgfs_parse_cpuacct_stat_v1(p->st->buf, p->st->user_hz, s);

			if (e < 0)
				pass_fail(p, "cpuacct.stat", e);
			p->has_cpu_split = e == 0 && s->has_cpu_usage;
		}
	}
	/* A v2 cpu.stat without the cfs keys: the cpu controller is on v1. */
	if (r == 0 || (r > 0 && !s->has_cfs))
		pass_parse(p, pass_v1(p, CGS_V1_CPU), "cpu.stat", cgs_cgfs_parse_cpu_stat_v1);

	if (pass_parse(p, p->v2fd, "cpu.max", cgs_cgfs_parse_cpu_max_v2) == 0) {
		int fd = pass_v1(p, CGS_V1_CPU);

		r = pass_read(p, fd, "cpu.cfs_quota_us");
		if (r > 0) {
			int e = parse_cfs_quota(p->st->buf, s);

			if (e < 0)
				pass_fail(p, "cpu.cfs_quota_us", e);
		}
		if (pass_u64(p, fd, "cpu.cfs_period_us", &v, NULL) > 0) {
			s->has_cpu_period = true;
			s->cpu_period = (double)v;
		}
	}
}

static void read_memory(struct cgfs_pass *p)
{
	struct cgs_cgfs_stats *s = &p->s;
	uint64_t v = 0;
	bool max = false;
	int r;

	r = pass_u64(p, p->v2fd, "memory.current", &v, NULL);
	if (r == 0)
		r = pass_u64(p, pass_v1(p, CGS_V1_MEMORY), "memory.usage_in_bytes", &v, NULL);
	if (r > 0) {
		s->has_mem_usage = true;
		s->mem_usage = v;
	}

	if (pass_parse(p, p->v2fd, "memory.stat", cgs_cgfs_parse_memory_stat_v2) == 0)
		pass_parse(p, pass_v1(p, CGS_V1_MEMORY), "memory.stat",
			   cgs_cgfs_parse_memory_stat_v1);

	r = pass_u64(p, p->v2fd, "memory.max", &v, &max);
	if (r == 0)
		r = pass_u64(p, pass_v1(p, CGS_V1_MEMORY), "memory.limit_in_bytes", &v, NULL);
	if (r > 0) {
		s->has_mem_limit = true;
		s->mem_limit = max || v >= CGFS_LIMIT_UNLIMITED ? 0 : v;
	}

	/* v1 swap came with memory.stat (total_swap). */
	if (pass_u64(p, p->v2fd, "memory.swap.current", &v, NULL) > 0) {
		s->has_mem_swap = true;
		s->mem_swap = v;
	}
}

static void read_io_pids_psi(struct cgfs_pass *p)
{
	static const char *const psi[3] = { "cpu.pressure", "memory.pressure", "io.pressure" };
	struct cgs_cgfs_stats *s = &p->s;
	uint64_t v;
	int fd, r;

	if (pass_parse(p, p->v2fd, "io.stat", cgs_cgfs_parse_io_stat_v2) == 0) {
		fd = pass_v1(p, CGS_V1_BLKIO);
		if (pass_parse(p, fd, "blkio.throttle.io_service_bytes_recursive",
			       cgs_cgfs_parse_blkio_v1) == 0)
			pass_parse(p, fd, "blkio.throttle.io_service_bytes", cgs_cgfs_parse_blkio_v1);
	}

	r = pass_u64(p, p->v2fd, "pids.current", &v, NULL);
	if (r == 0)
		r = pass_u64(p, pass_v1(p, CGS_V1_PIDS), "pids.current", &v, NULL);
	if (r > 0) {
		s->has_threads = true;
		s->threads = v;
	}

	for (int i = 0; i < 3; i++) {
		if (pass_read(p, p->v2fd, psi[i]) > 0) {
			int e = cgs_cgfs_parse_pressure(p->st->buf, i, s);

			if (e < 0)
				pass_fail(p, psi[i], e);
		}
	}
}

/* Whether entry `d` of `dirfd` is a directory other than "." and "..". */
static bool is_subdir(int dirfd, const struct cgfs_dirent *d)
{
	struct stat sb;

	if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
		return false;
	if (d->d_type != DT_UNKNOWN)
		return d->d_type == DT_DIR;
	return fstatat(dirfd, d->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
}

/* Line counts of cgroup.procs and cgroup.threads (v1: tasks) over a subtree. */
struct cgfs_walk {
	const char *procs_file, *threads_file;  /* threads_file NULL: not counted */
	uint64_t procs, threads;
	unsigned visited;
};

/*
 * Adds the lines of w->procs_file in `dirfd` and in every cgroup below it
 * to w->procs, and those of w->threads_file to w->threads until that file
 * turns out to be absent (then w->threads_file becomes NULL). 0, or -errno;
 * a nested cgroup removed meanwhile is skipped, the container's own gives
 * -ENOENT (gone). More cgroups or deeper ones than the bounds are -E2BIG.
 */

static int walk(struct cgfs_pass *p, struct cgfs_walk *w, int dirfd, unsigned depth)
{
	char *dbuf = p->st->dents[depth];
	int64_t n;
	long got;

	if (++w->visited > CGFS_WALK_MAX)
		return -E2BIG;
	n = cgfs_count_lines(p->st, dirfd, w->procs_file);
	if (n < 0)
		return (int)n;
	w->procs += (uint64_t)n;
	if (w->threads_file) {
		n = cgfs_count_lines(p->st, dirfd, w->threads_file);
		if (n >= 0)
			w->threads += (uint64_t)n;
		else if (n == -ENOENT)
			w->threads_file = NULL;   /* cgroup.threads came with Linux 4.14 */
		else
			return (int)n;
	}
	/* The registry knows whether a container has nested cgroups: skip the listing when not. */
	if (depth == 0 && dirfd == p->v2fd && p->c->nested_tracked && p->c->nested == 0)
		return 0;
	while ((got = syscall(SYS_getdents64, dirfd, dbuf, CGFS_DENTS_BUF)) > 0) {
		for (long off = 0; off < got;) {
			const struct cgfs_dirent *d = (const void *)(dbuf + off);
			int sub, r;

			off += d->d_reclen;
			if (!is_subdir(dirfd, d))
				continue;
			if (depth == CGFS_WALK_DEPTH)
				return -E2BIG;
			sub = openat(dirfd, d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub < 0) {
				if (errno == ENOENT)
					continue;
				return -errno;
			}
			r = walk(p, w, sub, depth + 1);
			close(sub);
			if (r < 0 && r != -ENOENT && r != -ENODEV)
				return r;
		}
	}
	return got < 0 ? -errno : 0;
}

/* Processes (and threads, when pids.current gave none) below the container. */
static void read_processes(struct cgfs_pass *p)
{
	static const enum cgs_v1_ctrl order[] = {
		CGS_V1_PIDS, CGS_V1_CPU, CGS_V1_CPUACCT, CGS_V1_MEMORY, CGS_V1_BLKIO,
	};
	struct cgs_cgfs_stats *s = &p->s;
	struct cgfs_walk w = { .procs_file = "cgroup.procs", .threads_file = "cgroup.threads" };
	int fd = p->v2fd, r;
	bool count_threads;

	if (p->gone)
		return;
	for (size_t i = 0; fd < 0 && i < sizeof(order) / sizeof(order[0]); i++) {
		fd = pass_v1(p, order[i]);
		w.threads_file = "tasks";
	}
	if (fd < 0)
		return;
	count_threads = !s->has_threads;
	if (!count_threads)
		w.threads_file = NULL;
	r = walk(p, &w, fd, 0);
	if (r == -ENOENT || r == -ENODEV) {
		/* cgroup.procs is in every cgroup directory: the container went away. */
		p->gone = true;
		return;
	}
	if (r < 0) {
		/* Past the bounds the count would be short: left out, not guessed. */
		pass_fail(p, r == -E2BIG ? "nested cgroups (too many or too deep)" : w.procs_file, r);
		return;
	}
	s->has_processes = true;
	s->processes = w.procs;
	if (count_threads && w.threads_file) {
		s->has_threads = true;
		s->threads = w.threads;
	}
}

/* Appends one sample; -ENOSPC is counted by the list itself. */
static void emit(struct cgfs_pass *p, struct cgs_samples *out, enum cgs_family_id f, double v)
{
	if (cgs_samples_add(out, f, v) == -ENOMEM)
		p->errors++;
}

static void emit_all(struct cgfs_pass *p, struct cgs_samples *out)
{
	static const enum cgs_family_id psi_fam[3][2] = {
		{ CGS_M_PRESSURE_CPU_WAITING, CGS_M_PRESSURE_CPU_STALLED },
		{ CGS_M_PRESSURE_MEMORY_WAITING, CGS_M_PRESSURE_MEMORY_STALLED },
		{ CGS_M_PRESSURE_IO_WAITING, CGS_M_PRESSURE_IO_STALLED },
	};
	const struct cgs_cgfs_stats *s = &p->s;

	if (s->has_cpu_usage) {
		emit(p, out, CGS_M_CPU_USAGE, s->cpu_usage_s);
		if (p->has_cpu_split) {
			emit(p, out, CGS_M_CPU_USER, s->cpu_user_s);
			emit(p, out, CGS_M_CPU_SYSTEM, s->cpu_system_s);
		}
	}
	if (s->has_cfs) {
		emit(p, out, CGS_M_CPU_CFS_PERIODS, (double)s->cfs_periods);
		emit(p, out, CGS_M_CPU_CFS_THROTTLED_PERIODS, (double)s->cfs_throttled_periods);
		emit(p, out, CGS_M_CPU_CFS_THROTTLED_SECONDS, s->cfs_throttled_s);
	}
	if (s->has_mem_usage) {
		emit(p, out, CGS_M_MEMORY_USAGE, (double)s->mem_usage);
		if (s->has_mem_stat) {
			uint64_t ws = s->mem_usage > s->mem_inactive_file ?
				      s->mem_usage - s->mem_inactive_file : 0;

			emit(p, out, CGS_M_MEMORY_WORKING_SET, (double)ws);
		}
	}
	if (s->has_mem_stat) {
		emit(p, out, CGS_M_MEMORY_RSS, (double)s->mem_rss);
		emit(p, out, CGS_M_MEMORY_CACHE, (double)s->mem_cache);
	}
	if (s->has_mem_swap)
		emit(p, out, CGS_M_MEMORY_SWAP, (double)s->mem_swap);
	if (s->has_mem_stat)
		emit(p, out, CGS_M_MEMORY_MAPPED_FILE, (double)s->mem_mapped_file);
	if (s->has_mem_limit)
		emit(p, out, CGS_M_SPEC_MEMORY_LIMIT, (double)s->mem_limit);
	if (s->has_cpu_quota)
		emit(p, out, CGS_M_SPEC_CPU_QUOTA, s->cpu_quota);
	if (s->has_cpu_period)
		emit(p, out, CGS_M_SPEC_CPU_PERIOD, s->cpu_period);
	if (s->has_io) {
		emit(p, out, CGS_M_FS_READS_BYTES, (double)s->io_read_bytes);
		emit(p, out, CGS_M_FS_WRITES_BYTES, (double)s->io_write_bytes);
	}
	if (s->has_processes)
		emit(p, out, CGS_M_PROCESSES, (double)s->processes);
	if (s->has_threads)
		emit(p, out, CGS_M_THREADS, (double)s->threads);
	for (int i = 0; i < 3; i++) {
		if (!s->has_psi[i])
			continue;
		emit(p, out, psi_fam[i][0], s->psi_some_s[i]);
		/* NAN: no "full" line (cpu.pressure before Linux 5.13). */
		if (!isnan(s->psi_full_s[i]))
			emit(p, out, psi_fam[i][1], s->psi_full_s[i]);
	}
}

static uint64_t absent_hash(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* Rebuilds the cache with only entries used in the last two passes, at twice the live size. */
static int absent_rebuild(struct cgfs_state *st, size_t want)
{
	size_t cap = 64;
	struct cgfs_absent *nv;

	while (cap < want * 2)
		cap *= 2;
	nv = calloc(cap, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	st->absent_n = 0;
	for (size_t i = 0; i < st->absent_cap; i++) {
		struct cgfs_absent *e = &st->absent[i];

		if (!e->id || st->pass - e->seen > 1)
			continue;
		size_t j = absent_hash(e->id) & (cap - 1);

		while (nv[j].id)
			j = (j + 1) & (cap - 1);
		nv[j] = *e;
		st->absent_n++;
	}
	free(st->absent);
	st->absent = nv;
	st->absent_cap = cap;
	return 0;
}

/* The cache entry of a container (created), or NULL when out of memory. */
static struct cgfs_absent *absent_get(struct cgfs_state *st, uint64_t id)
{
	if (!id)
		return NULL;
	if ((st->absent_n + 1) * 4 > st->absent_cap * 3 && absent_rebuild(st, st->absent_n + 1) < 0)
		return NULL;
	for (size_t i = absent_hash(id) & (st->absent_cap - 1);; i = (i + 1) & (st->absent_cap - 1)) {
		struct cgfs_absent *e = &st->absent[i];

		if (e->id == id || !e->id) {
			if (!e->id) {
				e->id = id;
				e->mask = 0;
				st->absent_n++;
			}
			e->seen = st->pass;
			return e;
		}
	}
}

static int cgfs_begin(void *state)
{
	struct cgfs_state *st = state;

	st->pass++;
	/* Forget containers not collected for two passes (removed ones). */
	if (st->absent_cap && st->pass % 16 == 0)
		return absent_rebuild(st, st->absent_n);
	return 0;
}

static int cgfs_collect(void *state, const struct cgs_container *c, struct cgs_samples *out)
{
	struct cgfs_pass p = { .st = state, .c = c, .v2fd = -1 };

	p.absent = absent_get(p.st, c->cgroup_id);
	/* Spread re-probes over passes instead of doing them all at once. */
	p.reprobe = p.absent && (p.st->pass + (uint32_t)c->cgroup_id) % CGFS_ABSENT_REPROBE == 0;

	for (int i = 0; i < CGS_V1__COUNT; i++)
		p.v1fd[i] = -1;
	if (c->dir) {
		p.v2fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (p.v2fd < 0)
			return errno == ENOENT || errno == ENODEV ? 0 : 1;
	}
	read_cpu(&p);
	read_memory(&p);
	read_io_pids_psi(&p);
	/* Last: a missing cgroup.procs explains every ENOENT before it. */
	read_processes(&p);
	if (!p.gone)
		emit_all(&p, out);
	if (p.v2fd >= 0)
		close(p.v2fd);
	for (int i = 0; i < CGS_V1__COUNT; i++)
		if (p.v1fd[i] >= 0)
			close(p.v1fd[i]);
	return p.gone ? 0 : p.errors;
}

static int cgfs_init(const struct cgs_collector_ctx *ctx, void **state, const char **why)
{
	struct cgfs_state *st;
	long hz;

	if (ctx && ctx->mounts) {
		bool any = ctx->mounts->v2[0] != '\0';

		for (int i = 0; i < CGS_V1__COUNT; i++)
			any = any || ctx->mounts->v1[i][0] != '\0';
		if (!any) {
			if (why)
				*why = "no cgroup hierarchy is mounted";
			return -EOPNOTSUPP;
		}
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	hz = sysconf(_SC_CLK_TCK);
	st->user_hz = hz > 0 ? hz : 100;
	st->hybrid = ctx && ctx->mounts && ctx->mounts->hybrid;
	*state = st;
	return 0;
}

static void cgfs_destroy(void *state)
{
	struct cgfs_state *st = state;

	if (st)
		free(st->absent);
	free(st);
}

/* Reading v1 controllers on a hybrid host is the host's layout, not a fallback. */
static const char *cgfs_variant(void *state, bool *fallback)
{
	const struct cgfs_state *st = state;

	*fallback = false;
	return st->hybrid ? "v2+v1" : "v2";
}

const struct cgs_collector_ops cgs_collector_cgroupfs = {
	.name = "cgroupfs",
	.variant = cgfs_variant,
	.init = cgfs_init,
	.begin = cgfs_begin,
	.collect = cgfs_collect,
	.destroy = cgfs_destroy,
};
