// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the log pipeline's state read back from disk, which a
// crash, a full disk or another writer may have left in any shape: lines of
// the position store, and spool files. Spool files are checked twice: as
// the raw bytes (torn files: the CRCs must reject them) and with valid CRCs
// computed over the input (so that the structure checks behind them are
// reached). Input for the latter: 2 bytes of header length, the header, the
// payload.
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "collectors/logs_store.h"

static int memfd = -1;
static char mempath[64];

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void spool_file(const void *a, size_t alen)
{
	struct cgs_spool_hdr h;
	struct cgs_spool_range *r = NULL;
	struct cgs_buf payload;

	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, a, alen, 0) != (ssize_t)alen)
		return;
	cgs_buf_init(&payload);
	if (cgs_spool_read(mempath, &h, &r, &payload) == 0) {
		if (h.nranges > CGS_SPOOL_MAX_RANGES || strnlen(h.tag, sizeof(h.tag)) == sizeof(h.tag) ||
		    payload.len != h.payload_len || payload.len > alen)
			abort();
	}
	free(r);
	cgs_buf_free(&payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *pathbuf = malloc(size + 1);

	if (memfd < 0) {
		memfd = memfd_create("fuzz-spool", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(mempath, sizeof(mempath), "/proc/self/fd/%d", memfd);
	}
	/* Position store lines, each from an exact-size copy. */
	while (pathbuf && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *l = malloc(n ? n : 1);
		struct cgs_logpos_entry e;

		if (l) {
			memcpy(l, p, n);
			if (cgs_logpos_parse_line(l, n, &e, pathbuf) == 0 &&
			    (e.id.fp_len > CGS_LOGID_FP_MAX || strlen(e.path) > n))
				abort();
			free(l);
		}
		p += n + (nl != NULL);
	}
	free(pathbuf);

	/* The raw bytes as a spool file. */
	spool_file(data, size);
	/* The same with the magic and valid CRCs around the input. */
	if (size >= 2) {
		size_t hlen = (size_t)(data[0] | data[1] << 8), rest = size - 2;

		if (hlen > rest)
			hlen = rest;
		size_t plen = rest - hlen, flen = 12 + hlen + 4 + plen + 4;
		unsigned char *f = malloc(flen);

		if (!f)
			return 0;
		memcpy(f, "CGSSPL1\n", 8);
		put_le32(f + 8, (uint32_t)hlen);
		memcpy(f + 12, data + 2, hlen);
		put_le32(f + 12 + hlen, (uint32_t)crc32(0, data + 2, (uInt)hlen));
		memcpy(f + 16 + hlen, data + 2 + hlen, plen);
		put_le32(f + 16 + hlen + plen, (uint32_t)crc32(0, data + 2 + hlen, (uInt)plen));
		spool_file(f, flen);
		free(f);
	}
	return 0;
}
