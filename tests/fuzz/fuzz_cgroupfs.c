// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: every cgroupfs file parser, v1 and v2.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/cgroupfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgs_cgfs_stats st;
	char *t = malloc(size + 1);
	uint64_t v;
	bool is_max;

	if (!t)
		return 0;
	memcpy(t, data, size);
	t[size] = '\0';
	memset(&st, 0, sizeof(st));
	cgs_cgfs_parse_cpu_stat_v2(t, &st);
	cgs_cgfs_parse_cpu_max_v2(t, &st);
	cgs_cgfs_parse_memory_stat_v2(t, &st);
	cgs_cgfs_parse_io_stat_v2(t, &st);
	for (int w = 0; w < 3; w++)
		cgs_cgfs_parse_pressure(t, w, &st);
	cgs_cgfs_parse_cpuacct_stat_v1(t, 100, &st);
	cgs_cgfs_parse_cpu_stat_v1(t, &st);
	cgs_cgfs_parse_memory_stat_v1(t, &st);
	cgs_cgfs_parse_blkio_v1(t, &st);
	cgs_cgfs_parse_u64(t, &v, &is_max);
	free(t);
	return 0;
}
