// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the YAML configuration loader and the mountinfo parser.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cgroup.h"
#include "agent/config.h"
#include "agent/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgs_config cfg;
	struct cgs_cgroup_mounts m;
	char err[512];
	char *t = malloc(size + 1);

	if (!t)
		return 0;
	cgs_config_defaults(&cfg);
	err[0] = '\0';
	if (cgs_config_load_string(&cfg, (const char *)data, size, "fuzz", err, sizeof(err)) != 0 && !err[0])
		abort(); /* every failure explains itself */
	memcpy(t, data, size);
	t[size] = '\0';
	cgs_cgroup_parse_mountinfo(t, &m);
	cgs_http_accepts_gzip(t);
	free(t);
	return 0;
}
