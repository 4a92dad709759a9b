/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's events file; see events.h. */
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int cgs_evfile_init(struct cgs_evfile *e, const char *path, uint64_t max_bytes)
{
	memset(e, 0, sizeof(*e));
	e->fd = e->lock_fd = -1;
	e->max_bytes = max_bytes;
	if (snprintf(e->path, sizeof(e->path), "%s", path ? path : "") >= (int)sizeof(e->path)) {
		e->path[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

/* The directory of `path` ("." or "/" for names there). */
static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

static int mkdir_p(char *dir)
{
	for (char *s = dir + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	dir_of(path, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int lock(struct cgs_evfile *e)
{
	const char *slash = strrchr(e->path, '/');
	const char *base = slash ? slash + 1 : e->path;
	char dir[PATH_MAX], lk[PATH_MAX + 8];
	int fd, r;

	if (!*base)
		return -EINVAL;
	dir_of(e->path, dir, sizeof(dir));
	if (strcmp(dir, ".") && strcmp(dir, "/") && (r = mkdir_p(dir)) < 0)
		return r;
	/* "<dir>/.<name>.lock": hidden, so no tailer takes it for a rotated "<name>.*". */
	if (snprintf(lk, sizeof(lk), "%.*s.%s.lock", (int)(base - e->path), e->path, base) >= (int)sizeof(lk))
		return -ENAMETOOLONG;
	fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return r;
	}
	e->lock_fd = fd;
	return 0;
}

/* Opens (creates) the file at e->path. A last line left without its newline is ended first. */
static int open_file(struct cgs_evfile *e)
{
	struct stat st;
	char last = '\n';
	int fd;

	errno = 0;
	fd = open(e->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int r = errno ? -errno : -EINVAL;

		close(fd);
		return r;
	}
	e->fd = fd;
	e->fresh = true;
	e->dev = (uint64_t)st.st_dev;
	e->ino = (uint64_t)st.st_ino;
	e->size = (uint64_t)st.st_size;
	if (st.st_size == 0) {
		e->dir_dirty = true; /* (probably) created now */
		return 0;
	}
	/* O_APPEND ignores the offset for writes; reading the last byte needs a readable fd. */
	int rfd = open(e->path, O_RDONLY | O_CLOEXEC);

	if (rfd >= 0) {
		if (pread(rfd, &last, 1, st.st_size - 1) != 1)
			last = '\n';
		close(rfd);
	}
	if (last != '\n') {
		/* A torn line (power cut): end it, so that ours starts a line of its own. */
		if (write(fd, "\n", 1) == 1)
			e->size++;
		e->dirty = true;
	}
	return 0;
}

static void close_file(struct cgs_evfile *e)
{
	if (e->fd < 0)
		return;
	if (e->dirty)
		fdatasync(e->fd);
	e->dirty = false;
	close(e->fd);
	e->fd = -1;
}

static int rotate(struct cgs_evfile *e)
{
	char to[PATH_MAX + 2];

	if (snprintf(to, sizeof(to), "%s.1", e->path) >= (int)sizeof(to))
		return -ENAMETOOLONG;
	/* What was written reaches the disk before its name changes. */
	close_file(e);
	if (rename(e->path, to) < 0 && errno != ENOENT)
		return -errno;
	e->dir_dirty = true;
	e->rotations++;
	return open_file(e);
}

int cgs_evfile_append(struct cgs_evfile *e, const char *line, size_t len)
{
	struct iovec iov[2] = { { (void *)(uintptr_t)line, len }, { (void *)(uintptr_t)"\n", 1 } };
	struct stat st;
	ssize_t n;
	int r;

	if (!e->path[0])
		return -ENOENT;
	if (e->lock_fd < 0 && (r = lock(e)) < 0)
		return r;
	/* Moved away or deleted by someone else: a new file at the path. */
	if (e->fd >= 0 && (stat(e->path, &st) < 0 || (uint64_t)st.st_ino != e->ino || (uint64_t)st.st_dev != e->dev))
		close_file(e);
	if (e->fd < 0 && (r = open_file(e)) < 0)
		return r;
	if (e->size && e->size + len + 1 > e->max_bytes && !e->fresh && (r = rotate(e)) < 0)
		return r;
	do
		n = writev(e->fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(len + 1)) {
		r = n < 0 ? -errno : -ENOSPC;
		/* Never leave part of a line: the next one would be glued to it. */
		if (n > 0 && ftruncate(e->fd, (off_t)e->size) < 0)
			close_file(e); /* reopened (and the torn line ended) at the next append */
		return r;
	}
	e->size += len + 1;
	e->dirty = true;
	e->written++;
	return 0;
}

int cgs_evfile_sync(struct cgs_evfile *e)
{
	int r = 0;

	if (e->fd >= 0 && e->dirty) {
		if (fdatasync(e->fd) < 0)
			r = -errno;
		e->dirty = false;
	}
	if (e->dir_dirty) {
		sync_dir(e->path);
		e->dir_dirty = false;
	}
	e->fresh = false;
	return r;
}

void cgs_evfile_close(struct cgs_evfile *e)
{
	cgs_evfile_sync(e);
	close_file(e);
	if (e->lock_fd >= 0)
		close(e->lock_fd);
	e->lock_fd = -1;
}
