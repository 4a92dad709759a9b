/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growable byte buffer for encoders. Appends never fail silently: the
 * first allocation failure latches `err`, later appends are no-ops, and the
 * encoder reports it once at the end.
 */
#ifndef CGS_BUF_H
#define CGS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct cgs_buf {
	char *p;
	size_t len, cap;
	int err; /* 0 or -ENOMEM */
};

void cgs_buf_init(struct cgs_buf *b);
void cgs_buf_free(struct cgs_buf *b);
/* Hands the bytes to the caller (NUL-terminated); the buffer is empty afterwards. */
char *cgs_buf_steal(struct cgs_buf *b, size_t *len);
int cgs_buf_reserve(struct cgs_buf *b, size_t extra);
void cgs_buf_append(struct cgs_buf *b, const void *p, size_t n);
void cgs_buf_puts(struct cgs_buf *b, const char *s);
void cgs_buf_putc(struct cgs_buf *b, char c);
void cgs_buf_printf(struct cgs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cgs_buf_put_u64(struct cgs_buf *b, uint64_t v);

#endif
