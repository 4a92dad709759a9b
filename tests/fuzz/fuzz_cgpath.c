// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: container recognition from arbitrary cgroup paths.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cgpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);
	struct cgs_cgpath m;

	if (!p)
		return 0;
	memcpy(p, data, size);
	p[size] = '\0';
	if (cgs_cgpath_match(p, &m) == 1) {
		/* The contract: the container prefix lies within the path, ids are hex. */
		if (m.container_len > strlen(p) || strlen(m.id) > CGS_CONTAINER_ID_MAX)
			abort();
	}
	free(p);
	return 0;
}
