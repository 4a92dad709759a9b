// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the body an OTLP/HTTP endpoint answers an export with
// (ExportTraceServiceResponse, protobuf), decoded from an exact-size copy.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *p = malloc(size ? size : 1);
	int64_t rejected = -1;
	int r;

	if (!p)
		return 0;
	memcpy(p, data, size);
	r = cgs_otlp_decode_response(p, size, &rejected);
	if (r != 0 && r != -EBADMSG)
		abort();
	if (r == 0 && rejected < 0)
		abort();
	free(p);
	return 0;
}
