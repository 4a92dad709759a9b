/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding the cgroup hierarchies and a container's v1 directories; see
 * cgroup.h. Nothing here ever writes to a cgroup file.
 */
#include "cgroup.h"
#include "cgpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const v1_names[CGS_V1__COUNT] = {
	[CGS_V1_CPU] = "cpu",
	[CGS_V1_CPUACCT] = "cpuacct",
	[CGS_V1_MEMORY] = "memory",
	[CGS_V1_BLKIO] = "blkio",
	[CGS_V1_PIDS] = "pids",
};

const char *cgs_v1_ctrl_name(enum cgs_v1_ctrl c)
{
	return c < CGS_V1__COUNT ? v1_names[c] : "?";
}

/* Is `name` one of the comma-separated words of `list`? */
static int has_word(const char *list, size_t len, const char *name)
{
	size_t nl = strlen(name);
	const char *p = list, *end = list + len;

	while (p < end) {
		const char *q = memchr(p, ',', (size_t)(end - p));
		size_t wl = q ? (size_t)(q - p) : (size_t)(end - p);

		if (wl == nl && memcmp(p, name, nl) == 0)
			return 1;
		if (!q)
			break;
		p = q + 1;
	}
	return 0;
}

/* Copies a mountinfo path field, undoing its octal escapes (\040 for space). */
static void unescape_field(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < outlen; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' &&
		    s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' &&
		    s[i + 3] <= '7') {
			out[o++] = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

struct mi_entry {
	char mnt[PATH_MAX];
	int kind;        /* 0 other, 1 cgroup v1, 2 cgroup2 */
	char opts[256];  /* super options of a v1 mount */
};

/* Is mount point `a` equal to `b` or an ancestor of it? */
static int covers(const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la == 1 && a[0] == '/')
		return 1;
	return strncmp(a, b, la) == 0 && (b[la] == '\0' || b[la] == '/');
}

int cgs_cgroup_parse_mountinfo(const char *text, struct cgs_cgroup_mounts *m)
{
	const char *line = text;
	struct mi_entry *v = NULL;
	size_t n = 0, cap = 0;
	int found = 0;

	memset(m, 0, sizeof(*m));
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);
		const char *f[11] = { 0 };
		size_t fl[11] = { 0 };
		int nf = 0;
		const char *p = line, *end = line + ll, *sep = NULL;

		/* Fields: id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		while (p < end && nf < 11) {
			const char *q = memchr(p, ' ', (size_t)(end - p));
			size_t wl = q ? (size_t)(q - p) : (size_t)(end - p);

			if (wl == 1 && *p == '-' && !sep) {
				sep = p;
				nf = 6; /* fields after the separator start at index 6 */
			} else if (!sep && nf >= 6) {
				/* optional field: skip */
			} else {
				f[nf] = p;
				fl[nf] = wl;
				nf++;
			}
			if (!q)
				break;
			p = q + 1;
		}
		if (f[4]) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct mi_entry *nv = realloc(v, ncap * sizeof(*nv));

				if (!nv) {
					free(v);
					return -ENOMEM;
				}
				v = nv;
				cap = ncap;
			}
			struct mi_entry *e = &v[n++];

			unescape_field(f[4], fl[4], e->mnt, sizeof(e->mnt));
			e->kind = 0;
			e->opts[0] = '\0';
			if (sep && nf >= 9 && f[6]) {
				if (fl[6] == 7 && memcmp(f[6], "cgroup2", 7) == 0) {
					e->kind = 2;
				} else if (fl[6] == 6 && memcmp(f[6], "cgroup", 6) == 0) {
					e->kind = 1;
					snprintf(e->opts, sizeof(e->opts), "%.*s", (int)fl[8], f[8]);
				}
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	/*
	 * A mount is visible only if no later mount covers its mount point
	 * (e.g. cgroup2 mounted over the /sys/fs/cgroup tmpfs of a hybrid host
	 * in a private mount namespace hides the v1 and unified mounts below).
	 */
	for (size_t i = 0; i < n; i++) {
		if (!v[i].kind)
			continue;
		int hidden = 0;

		for (size_t j = i + 1; j < n && !hidden; j++)
			hidden = covers(v[j].mnt, v[i].mnt);
		if (hidden)
			continue;
		if (v[i].kind == 2 && !m->v2[0]) {
			snprintf(m->v2, sizeof(m->v2), "%s", v[i].mnt);
			found = 1;
		} else if (v[i].kind == 1) {
			for (int c = 0; c < CGS_V1__COUNT; c++) {
				if (!m->v1[c][0] && has_word(v[i].opts, strlen(v[i].opts), v1_names[c])) {
					snprintf(m->v1[c], sizeof(m->v1[c]), "%s", v[i].mnt);
					found = 1;
				}
			}
		}
	}
	free(v);
	for (int c = 0; c < CGS_V1__COUNT; c++)
		if (m->v1[c][0] && m->v2[0])
			m->hybrid = true;
	return found ? 0 : -ENOENT;
}

static int is_dir_with(const char *dir, const char *file)
{
	char p[PATH_MAX];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s/%s", dir, file) >= (int)sizeof(p))
		return 0;
	return stat(p, &st) == 0;
}

/* Marker files that tell a v1 controller's mount from any other directory. */
static const char *const v1_markers[CGS_V1__COUNT] = {
	[CGS_V1_CPU] = "cpu.shares",
	[CGS_V1_CPUACCT] = "cpuacct.usage",
	[CGS_V1_MEMORY] = "memory.usage_in_bytes",
	[CGS_V1_BLKIO] = "blkio.weight",
	[CGS_V1_PIDS] = "pids.max",
};

static int find_under_root(const char *root, struct cgs_cgroup_mounts *m)
{
	char p[PATH_MAX];

	memset(m, 0, sizeof(*m));
	if (is_dir_with(root, "cgroup.controllers")) {
		snprintf(m->v2, sizeof(m->v2), "%s", root);
		return 0; /* pure v2: no v1 controllers beside it */
	}
	if (snprintf(p, sizeof(p), "%s/unified", root) < (int)sizeof(p) &&
	    is_dir_with(p, "cgroup.controllers"))
		snprintf(m->v2, sizeof(m->v2), "%s", p);
	for (int c = 0; c < CGS_V1__COUNT; c++) {
		if (snprintf(p, sizeof(p), "%s/%s", root, v1_names[c]) >= (int)sizeof(p))
			continue;
		/* A joined mount (cpu,cpuacct) is reached through the usual symlink; stat follows it. */
		if (is_dir_with(p, v1_markers[c]))
			snprintf(m->v1[c], sizeof(m->v1[c]), "%s", p);
		if (m->v1[c][0] && m->v2[0])
			m->hybrid = true;
	}
	return m->v2[0] ? 0 : -ENOENT;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (off + 1 < len && (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += (size_t)n;
	close(fd);
	buf[off] = '\0';
	return off + 1 >= len ? -E2BIG : 0;
}

int cgs_cgroup_find_mounts(const char *root, const char *mountinfo, struct cgs_cgroup_mounts *m)
{
	char *buf;
	int r;

	if (root && root[0])
		return find_under_root(root, m);
	buf = malloc(1 << 20);
	if (!buf)
		return -ENOMEM;
	r = read_small(mountinfo ? mountinfo : "/proc/self/mountinfo", buf, 1 << 20);
	if (r == 0)
		r = cgs_cgroup_parse_mountinfo(buf, m);
	free(buf);
	if (r == 0 && !m->v2[0])
		r = -ENOENT;
	return r;
}

int cgs_cgroup_v1_dir(const struct cgs_cgroup_mounts *m, enum cgs_v1_ctrl c, const char *rel,
		      const char *proc_root, char *out, size_t outlen)
{
	char p[PATH_MAX], buf[4096];
	struct stat st;
	const char *line;

	if (c >= CGS_V1__COUNT || !m->v1[c][0])
		return -ENOENT;
	if (snprintf(out, outlen, "%s%s", m->v1[c], rel) < (int)outlen && stat(out, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;

	/* Ask a process of the container where it is in the v1 hierarchy. */
	if (snprintf(p, sizeof(p), "%s%s/cgroup.procs", m->v2, rel) >= (int)sizeof(p) ||
	    read_small(p, buf, sizeof(buf)) < 0)
		return -ENOENT;
	int pid = atoi(buf);
	if (pid <= 0)
		return -ENOENT;
	snprintf(p, sizeof(p), "%s/%d/cgroup", proc_root ? proc_root : "/proc", pid);
	if (read_small(p, buf, sizeof(buf)) < 0)
		return -ENOENT;
	for (line = buf; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t ll = eol ? (size_t)(eol - line) : strlen(line);
		const char *c1 = memchr(line, ':', ll);
		const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - line)) : NULL;

		if (c2 && has_word(c1 + 1, (size_t)(c2 - c1 - 1), v1_names[c])) {
			char v1rel[PATH_MAX];
			struct cgs_cgpath mc, mv;
			int n = snprintf(v1rel, sizeof(v1rel), "%.*s", (int)(ll - (size_t)(c2 + 1 - line)), c2 + 1);

			/*
			 * Only a v1 cgroup of this same container counts: a container made
			 * in v2 alone leaves its processes in whatever v1 cgroup their
			 * parent had (a session's, a service's), whose numbers are not the
			 * container's.
			 */
			if (n >= (int)sizeof(v1rel) || cgs_cgpath_match(rel, &mc) != 1 ||
			    cgs_cgpath_match(v1rel, &mv) != 1 || strcmp(mc.id, mv.id) != 0)
				break;
			n = snprintf(out, outlen, "%s%s", m->v1[c], v1rel);
			if (n < (int)outlen && stat(out, &st) == 0 && S_ISDIR(st.st_mode))
				return 0;
			break;
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int cgs_cgroup_id(const char *dir, uint64_t *id)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return -errno;
	*id = (uint64_t)st.st_ino;
	return 0;
}
