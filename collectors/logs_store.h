/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log pipeline's state on disk:
 *
 * - the position store: for each file identity (device, inode, fingerprint
 *   of its first bytes), the offset up to which every record was
 *   acknowledged. One text file, replaced atomically (write a temporary
 *   file, fsync, rename, fsync the directory), so a crash or power loss
 *   leaves either the old or the new version, never a mix;
 * - the spool: chunks that did not fit the memory budget, one file each
 *   (header with the file ranges the chunk holds, payload, CRC-32s),
 *   written the same way. A torn or corrupt spool file is detected and
 *   reported, never sent.
 *
 * Encoding and parsing are pure; the write and read functions do the I/O.
 */
#ifndef CGS_LOGS_STORE_H
#define CGS_LOGS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../agent/buf.h"

/* A file identity: a reused inode with other first bytes is another file. */
struct cgs_logid {
	uint64_t dev, ino;
	uint32_t fp_len; /* bytes the fingerprint covers (0..CGS_LOGID_FP_MAX) */
	uint64_t fp;     /* FNV-1a 64 of the first fp_len bytes */
};
#define CGS_LOGID_FP_MAX 256

/* FNV-1a 64, continued from `h` (start with CGS_FNV_OFFSET). */
#define CGS_FNV_OFFSET 0xcbf29ce484222325ull
uint64_t cgs_fnv1a(uint64_t h, const void *p, size_t n);

struct cgs_logpos_entry {
	struct cgs_logid id;
	uint64_t offset; /* every byte before was acknowledged */
	uint64_t size;   /* file size last seen: what a file deleted unread lost */
	const char *path; /* last known path (informational; used to find rotated files) */
};

/* Appends one entry line. */
void cgs_logpos_format(struct cgs_buf *out, const struct cgs_logpos_entry *e);
/* The header line every position file starts with. */
#define CGS_LOGPOS_HEADER "# cgsight log positions v1\n"

/*
 * Parses one line (without "\n") into `e`; e->path is unescaped into
 * `pathbuf` (at least as long as the line). 0, or -EBADMSG.
 */
int cgs_logpos_parse_line(const char *line, size_t len, struct cgs_logpos_entry *e, char *pathbuf);

/* Reads a whole file into `out` (NUL-terminated). 0, -ENOENT, -EFBIG beyond `max`, -errno. */
int cgs_read_file(const char *path, size_t max, struct cgs_buf *out);
/* Replaces `path` with `data` atomically and durably (temp + fsync + rename + fsync dir). 0 or -errno. */
int cgs_write_atomic(const char *path, const void *data, size_t len);
/* Takes an exclusive lock on `<path>.lock` (so two agents never share a store). fd, or -EBUSY / -errno. */
int cgs_store_lock(const char *path);

/* One file range a spooled chunk holds. */
struct cgs_spool_range {
	struct cgs_logid id;
	uint64_t start, end;
};

struct cgs_spool_hdr {
	uint64_t seq;
	uint32_t records;
	bool gzip;
	char tag[256];
	uint32_t nranges;
	uint64_t payload_len;
};

#define CGS_SPOOL_MAX_RANGES 65536

/*
 * Writes a chunk as <dir>/<seq as 16 hex>.chunk (temp + fsync + rename).
 * Returns the bytes the file takes, or -errno.
 */
long long cgs_spool_write(const char *dir, const struct cgs_spool_hdr *h, const struct cgs_spool_range *r,
			  const void *payload);
/*
 * Reads the header and ranges of a spool file (ranges malloc'ed into *r).
 * With `payload`, also reads and checks the payload into it. 0, -EBADMSG
 * (torn or corrupt), -errno.
 */
int cgs_spool_read(const char *path, struct cgs_spool_hdr *h, struct cgs_spool_range **r,
		   struct cgs_buf *payload);
/* The spool file name of a sequence number. */
void cgs_spool_name(const char *dir, uint64_t seq, char *out, size_t outlen);

#endif
