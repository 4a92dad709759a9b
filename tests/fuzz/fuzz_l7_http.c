// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the HTTP/1.x head parser, chunked bodies, trace-context
// headers and query redaction on arbitrary bytes (an exact-size copy, so
// any read past the input is an ASan report), with the parser's contract
// checked on what it returns.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/l7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cgs_l7_redact *red;
	char *p = malloc(size ? size : 1), out[512];
	struct cgs_http_head h;
	struct cgs_trace_ctx tc;
	int r;

	if (!p)
		return 0;
	if (!red)
		red = cgs_l7_redact_new("x-secret", "token,key", "x-request-id");
	memcpy(p, data, size);
	r = cgs_http_parse(p, size, &h);
	if (r != 1 && r != 0 && r != -EBADMSG)
		abort();
	if (r == 1) {
		if (h.nhdr > CGS_HTTP_MAX_HEADERS || (h.complete && h.head_len > size))
			abort();
		for (size_t i = 0; i < h.nhdr; i++)
			if (h.hdr[i].name.p < p || h.hdr[i].name.p + h.hdr[i].name.n > p + size ||
			    h.hdr[i].value.p < p || h.hdr[i].value.p + h.hdr[i].value.n > p + size)
				abort();
		if (h.kind == CGS_HTTP_REQUEST) {
			if (h.method < 0 || h.method >= CGS_HTTP_M__COUNT || !h.path.n)
				abort();
			if (h.query.n && cgs_l7_redact_query(red, h.query.p, h.query.n, out, sizeof(out)) >= sizeof(out))
				abort();
		} else if (h.status < 100 || h.status > 999) {
			abort();
		}
		if (h.complete) {
			ssize_t c = cgs_http_chunked_len(p + h.head_len, size - h.head_len);

			if (c > (ssize_t)(size - h.head_len))
				abort();
		}
		for (size_t i = 0; i < h.nhdr; i++) {
			cgs_tracectx_parse_traceparent(h.hdr[i].value.p, h.hdr[i].value.n, &tc);
			cgs_tracectx_parse_uber(h.hdr[i].value.p, h.hdr[i].value.n, &tc);
			cgs_l7_capture_header(red, h.hdr[i].name.p, h.hdr[i].name.n);
		}
	}
	cgs_http_starts_message(p, size);
	cgs_tracectx_parse_traceparent(p, size, &tc);
	cgs_tracectx_parse_uber(p, size, &tc);
	free(p);
	return 0;
}
