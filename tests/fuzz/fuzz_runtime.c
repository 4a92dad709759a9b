// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: runtime state parsers (OCI config.json, Docker config.v2.json).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgs_meta m = { 0 };

	if (cgs_runtime_parse_oci((const char *)data, size, &m) == 0) {
		if (!m.name || !m.image || !m.container || !m.pod || !m.namespace || !m.pod_uid)
			abort();
		cgs_meta_clear(&m);
	}
	memset(&m, 0, sizeof(m));
	if (cgs_runtime_parse_docker((const char *)data, size, &m) == 0) {
		if (!m.name || !m.image)
			abort();
		cgs_meta_clear(&m);
	}
	return 0;
}
