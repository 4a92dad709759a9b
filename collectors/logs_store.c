/* SPDX-License-Identifier: Apache-2.0 */
/* Position store and spool files of the log pipeline; see logs_store.h. */
#include "logs_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

uint64_t cgs_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void cgs_logpos_format(struct cgs_buf *out, const struct cgs_logpos_entry *e)
{
	cgs_buf_printf(out, "%" PRIu64 " %" PRIu64 " %" PRIu32 " %016" PRIx64 " %" PRIu64 " %" PRIu64 " ",
		       e->id.dev, e->id.ino, e->id.fp_len, e->id.fp, e->offset, e->size);
	/* The path is the rest of the line: escape what would end it. */
	for (const char *p = e->path ? e->path : ""; *p; p++) {
		if (*p == '\n')
			cgs_buf_puts(out, "\\n");
		else if (*p == '\\')
			cgs_buf_puts(out, "\\\\");
		else
			cgs_buf_putc(out, *p);
	}
	cgs_buf_putc(out, '\n');
}

static int parse_u64(const char **p, const char *end, int base, uint64_t *v)
{
	uint64_t x = 0;
	const char *s = *p;

	while (s < end && *s != ' ') {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			return -EBADMSG;
		if (x > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -EBADMSG;
		x = x * (uint64_t)base + (uint64_t)d;
		s++;
	}
	if (s == *p || s >= end)
		return -EBADMSG;
	*p = s + 1;
	*v = x;
	return 0;
}

int cgs_logpos_parse_line(const char *line, size_t len, struct cgs_logpos_entry *e, char *pathbuf)
{
	const char *p = line, *end = line + len;
	uint64_t fpl;
	size_t o = 0;

	if (parse_u64(&p, end, 10, &e->id.dev) || parse_u64(&p, end, 10, &e->id.ino) ||
	    parse_u64(&p, end, 10, &fpl) || parse_u64(&p, end, 16, &e->id.fp) ||
	    parse_u64(&p, end, 10, &e->offset) || parse_u64(&p, end, 10, &e->size) || fpl > CGS_LOGID_FP_MAX)
		return -EBADMSG;
	e->id.fp_len = (uint32_t)fpl;
	for (; p < end; p++) {
		if (*p == '\\') {
			if (++p >= end || (*p != 'n' && *p != '\\'))
				return -EBADMSG;
			pathbuf[o++] = *p == 'n' ? '\n' : '\\';
		} else {
			pathbuf[o++] = *p;
		}
	}
	pathbuf[o] = '\0';
	e->path = pathbuf;
	return 0;
}

int cgs_read_file(const char *path, size_t max, struct cgs_buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	for (;;) {
		if (cgs_buf_reserve(out, 65536) < 0) {
			r = -ENOMEM;
			break;
		}
		ssize_t n = read(fd, out->p + out->len, out->cap - out->len - 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len > max) {
			r = -EFBIG;
			break;
		}
	}
	if (!r)
		out->p[out->len] = '\0';
out:
	close(fd);
	return r;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, r = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* temp + write + fsync + rename; the directory is fsync'ed when `dir_sync`. */
static int write_replace(const char *path, const struct iovec *iov, int n, bool dir_sync)
{
	char tmp[PATH_MAX];
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = 0;
	for (int i = 0; i < n && !r; i++)
		r = write_all(fd, iov[i].iov_base, iov[i].iov_len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	return dir_sync ? fsync_dir_of(path) : 0;
}

int cgs_write_atomic(const char *path, const void *data, size_t len)
{
	struct iovec iov = { (void *)(uintptr_t)data, len };

	return write_replace(path, &iov, 1, true);
}

int cgs_store_lock(const char *path)
{
	char lk[PATH_MAX];
	int fd;

	if (snprintf(lk, sizeof(lk), "%s.lock", path) >= (int)sizeof(lk))
		return -ENAMETOOLONG;
	fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* ---- spool files ----------------------------------------------------------
 * "CGSSPL1\n" | u32 hlen | header (hlen bytes) | u32 crc32(header) | payload | u32 crc32(payload)
 * header: u64 seq, u32 records, u32 flags (1: gzip), u32 nranges, u16 taglen, tag,
 *         nranges x (u64 dev, u64 ino, u32 fp_len, u64 fp, u64 start, u64 end), u64 payload_len
 * Integers little-endian.
 */
#define SPOOL_MAGIC "CGSSPL1\n"
#define RANGE_BYTES (8 + 8 + 4 + 8 + 8 + 8)

static void put_le(struct cgs_buf *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		cgs_buf_putc(b, (char)(v >> (8 * i)));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void cgs_spool_name(const char *dir, uint64_t seq, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%016" PRIx64 ".chunk", dir, seq);
}

long long cgs_spool_write(const char *dir, const struct cgs_spool_hdr *h, const struct cgs_spool_range *r,
			  const void *payload)
{
	struct cgs_buf b;
	char path[PATH_MAX];
	size_t tl = strnlen(h->tag, sizeof(h->tag) - 1);
	uint32_t crc;
	unsigned char tail[4];
	int e;

	if (h->nranges > CGS_SPOOL_MAX_RANGES)
		return -E2BIG;
	cgs_buf_init(&b);
	cgs_buf_append(&b, SPOOL_MAGIC, 8);
	put_le(&b, 0, 4); /* header length, filled below */
	put_le(&b, h->seq, 8);
	put_le(&b, h->records, 4);
	put_le(&b, h->gzip ? 1 : 0, 4);
	put_le(&b, h->nranges, 4);
	put_le(&b, tl, 2);
	cgs_buf_append(&b, h->tag, tl);
	for (uint32_t i = 0; i < h->nranges; i++) {
		put_le(&b, r[i].id.dev, 8);
		put_le(&b, r[i].id.ino, 8);
		put_le(&b, r[i].id.fp_len, 4);
		put_le(&b, r[i].id.fp, 8);
		put_le(&b, r[i].start, 8);
		put_le(&b, r[i].end, 8);
	}
	put_le(&b, h->payload_len, 8);
	if (b.err) {
		cgs_buf_free(&b);
		return -ENOMEM;
	}
	uint32_t hlen = (uint32_t)(b.len - 12);

	for (int i = 0; i < 4; i++)
		b.p[8 + i] = (char)(hlen >> (8 * i));
	crc = (uint32_t)crc32(0, (const Bytef *)b.p + 12, hlen);
	put_le(&b, crc, 4);
	/* The payload's CRC goes after the payload, written in the same file. */
	crc = (uint32_t)crc32(0, payload, (uInt)h->payload_len);
	for (int i = 0; i < 4; i++)
		tail[i] = (unsigned char)(crc >> (8 * i));
	cgs_spool_name(dir, h->seq, path, sizeof(path));
	if (b.err) {
		cgs_buf_free(&b);
		return -ENOMEM;
	}
	struct iovec iov[3] = {
		{ b.p, b.len },
		{ (void *)(uintptr_t)payload, h->payload_len },
		{ tail, 4 },
	};
	long long total = (long long)(b.len + h->payload_len + 4);

	/*
	 * No directory fsync: a spool file lost to a power cut only means its
	 * records are read again from their log file (offsets were not committed).
	 */
	e = write_replace(path, iov, 3, false);
	cgs_buf_free(&b);
	return e ? e : total;
}

int cgs_spool_read(const char *path, struct cgs_spool_hdr *h, struct cgs_spool_range **rp,
		   struct cgs_buf *payload)
{
	unsigned char pre[12], *hb = NULL;
	struct cgs_spool_range *r = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = -EBADMSG;
	uint32_t hlen;
	size_t o;

	*rp = NULL;
	if (fd < 0)
		return -errno;
	if (pread(fd, pre, 12, 0) != 12 || memcmp(pre, SPOOL_MAGIC, 8))
		goto out;
	hlen = (uint32_t)get_le(pre + 8, 4);
	if (hlen < 8 + 4 + 4 + 4 + 2 + 8 || hlen > 64 + 256 + (size_t)CGS_SPOOL_MAX_RANGES * RANGE_BYTES)
		goto out;
	hb = malloc(hlen + 4);
	if (!hb) {
		e = -ENOMEM;
		goto out;
	}
	if (pread(fd, hb, hlen + 4, 12) != (ssize_t)(hlen + 4) ||
	    (uint32_t)crc32(0, hb, hlen) != (uint32_t)get_le(hb + hlen, 4))
		goto out;
	memset(h, 0, sizeof(*h));
	h->seq = get_le(hb, 8);
	h->records = (uint32_t)get_le(hb + 8, 4);
	h->gzip = get_le(hb + 12, 4) & 1;
	h->nranges = (uint32_t)get_le(hb + 16, 4);
	size_t tl = (size_t)get_le(hb + 20, 2);

	o = 22;
	if (tl >= sizeof(h->tag) || h->nranges > CGS_SPOOL_MAX_RANGES ||
	    o + tl + (size_t)h->nranges * RANGE_BYTES + 8 != hlen)
		goto out;
	memcpy(h->tag, hb + o, tl);
	h->tag[tl] = '\0';
	o += tl;
	r = calloc(h->nranges ? h->nranges : 1, sizeof(*r));
	if (!r) {
		e = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < h->nranges; i++, o += RANGE_BYTES) {
		r[i].id.dev = get_le(hb + o, 8);
		r[i].id.ino = get_le(hb + o + 8, 8);
		r[i].id.fp_len = (uint32_t)get_le(hb + o + 16, 4);
		r[i].id.fp = get_le(hb + o + 20, 8);
		r[i].start = get_le(hb + o + 28, 8);
		r[i].end = get_le(hb + o + 36, 8);
	}
	h->payload_len = get_le(hb + o, 8);
	if (h->payload_len > (UINT64_C(1) << 31))
		goto out;
	if (payload) {
		unsigned char crc[4];
		off_t at = 12 + (off_t)hlen + 4;
		struct stat st;

		/* A payload longer than the file is a corrupt header (never allocate what a header claims). */
		if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < (uint64_t)at + h->payload_len + 4)
			goto out;

		if (cgs_buf_reserve(payload, h->payload_len) < 0) {
			e = -ENOMEM;
			goto out;
		}
		if (pread(fd, payload->p + payload->len, h->payload_len, at) != (ssize_t)h->payload_len ||
		    pread(fd, crc, 4, at + (off_t)h->payload_len) != 4 ||
		    (uint32_t)crc32(0, (const Bytef *)payload->p + payload->len, (uInt)h->payload_len) !=
			    (uint32_t)get_le(crc, 4))
			goto out;
		payload->len += h->payload_len;
	}
	*rp = r;
	r = NULL;
	e = 0;
out:
	free(r);
	free(hb);
	close(fd);
	return e;
}
