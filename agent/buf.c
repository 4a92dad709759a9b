/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffer; see buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cgs_buf_init(struct cgs_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void cgs_buf_free(struct cgs_buf *b)
{
	free(b->p);
	cgs_buf_init(b);
}

char *cgs_buf_steal(struct cgs_buf *b, size_t *len)
{
	char *p;

	if (cgs_buf_reserve(b, 1) < 0)
		return NULL;
	p = b->p;
	p[b->len] = '\0';
	if (len)
		*len = b->len;
	cgs_buf_init(b);
	return p;
}

int cgs_buf_reserve(struct cgs_buf *b, size_t extra)
{
	size_t need, ncap;
	char *np;

	if (b->err)
		return b->err;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (!np)
		return b->err = -ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

void cgs_buf_append(struct cgs_buf *b, const void *p, size_t n)
{
	if (cgs_buf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void cgs_buf_puts(struct cgs_buf *b, const char *s)
{
	cgs_buf_append(b, s, strlen(s));
}

void cgs_buf_putc(struct cgs_buf *b, char c)
{
	if (cgs_buf_reserve(b, 1) < 0)
		return;
	b->p[b->len++] = c;
}

void cgs_buf_printf(struct cgs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (cgs_buf_reserve(b, 64) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (cgs_buf_reserve(b, (size_t)n) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void cgs_buf_put_u64(struct cgs_buf *b, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	cgs_buf_append(b, tmp + i, sizeof(tmp) - (size_t)i);
}
