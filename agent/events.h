/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's events file: structured events (OOM kills) appended as one
 * JSON object per line to a file the agent owns, whatever else is
 * configured. The log pipeline (`logs: true`) tails it like a container's
 * log file, so events reach Fluentd with the same at-least-once delivery
 * (acknowledged offsets, spool, restarts); any other tailer can read it too.
 *
 * Ownership: an exclusive flock on "<dir>/.<name>.lock" (a hidden name, so
 * it is never taken for a rotated sibling), taken at the first write; a
 * second agent on the same file gets -EBUSY. Size: past max_bytes the file
 * is renamed to "<path>.1" (replacing the previous one) and a new one is
 * started; a file is only rotated in a batch (appends between two syncs)
 * after the one that opened it, so a batch may pass max_bytes. A tailer
 * polled between batches (the log pipeline, in the same event loop) then
 * always meets every file, at its name or as "<path>.1", before it is
 * replaced. At most about 2 x max_bytes and a batch are on disk. A file moved away or
 * deleted behind our back is noticed at the next write and started anew.
 * Nothing is opened before the first event. Not thread-safe.
 */
#ifndef CGS_EVENTS_H
#define CGS_EVENTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cgs_evfile {
	char path[PATH_MAX];
	uint64_t max_bytes;
	int fd, lock_fd;
	uint64_t dev, ino;   /* of fd */
	uint64_t size;       /* bytes in fd */
	bool dirty;          /* written since the last sync */
	bool dir_dirty;      /* a file was created or renamed since the last sync */
	bool fresh;          /* opened since the last sync: not rotated in this batch */
	uint64_t written, rotations;
};

/* No I/O. An empty path disables the file (appends return -ENOENT). 0, or -ENAMETOOLONG. */
int cgs_evfile_init(struct cgs_evfile *e, const char *path, uint64_t max_bytes);
/*
 * Appends `line` (no newline in it) and a newline: rotates first when the
 * file would pass max_bytes (unless it was opened since the last sync). A failed or short write is undone (the file is
 * cut back), so the file only ever holds whole lines. 0, or -errno
 * (-EBUSY: another process owns the file).
 */
int cgs_evfile_append(struct cgs_evfile *e, const char *line, size_t len);
/* fdatasync of what was written (and of the directory after a rename/creation). 0 or -errno. */
int cgs_evfile_sync(struct cgs_evfile *e);
/* Syncs and closes (the lock too). */
void cgs_evfile_close(struct cgs_evfile *e);

#endif
