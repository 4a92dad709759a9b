// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: `cgsight top`'s reader of /api/v1/containers (the
// answer of whatever --url points at), whole and from its first bytes,
// from an exact-size copy; every snapshot it builds is freed (leaks are
// reports).
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "top/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	struct cgs_top_snap *s = NULL;
	uint64_t gen;
	int r;

	if (!p)
		return 0;
	memcpy(p, data, size);
	r = cgs_top_parse(p, size, &s);
	if (r == 0) {
		if (!s)
			abort();
		cgs_top_snap_free(s);
	} else if (r != -EBADMSG && r != -ENOMEM) {
		abort();
	}
	r = cgs_top_peek_generation(p, size, &gen);
	if (r != 0 && r != -EAGAIN && r != -EBADMSG)
		abort();
	free(p);
	return 0;
}
