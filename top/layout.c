/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The main view's columns: their definitions, which of them fit a terminal
 * of a given width (dropped by priority), and the text of each cell with
 * human units. Pure, like the rest of the model.
 */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const struct cgs_top_coldef cgs_top_cols[CGS_TOP_C__COUNT] = {
	[CGS_TOP_C_NAME] = { "name", "NAME", "pod/container, name, or cgroup path", 16, 0, false, false },
	[CGS_TOP_C_ID] = { "id", "ID", "container id (short)", 12, 4, false, false },
	[CGS_TOP_C_CPU] = { "cpu", "CPU%", "CPU use, % of one core (or of the node)", 6, 1, true, true },
	[CGS_TOP_C_DELAY] = { "delay", "DELAY%", "run-queue delay, % of wall time", 6, 10, true, true },
	[CGS_TOP_C_MEM] = { "mem", "MEM", "memory working set / limit", 11, 2, true, true },
	[CGS_TOP_C_MEMBAR] = { "membar", "MEM%", "working set as a share of the limit", 12, 11, false, true },
	[CGS_TOP_C_NETRX] = { "netrx", "NET RX", "network received, bytes/s", 7, 6, true, true },
	[CGS_TOP_C_NETTX] = { "nettx", "NET TX", "network transmitted, bytes/s", 7, 7, true, true },
	[CGS_TOP_C_IOR] = { "ior", "IO R", "block IO read, bytes/s", 7, 8, true, true },
	[CGS_TOP_C_IOW] = { "iow", "IO W", "block IO written, bytes/s", 7, 9, true, true },
	[CGS_TOP_C_PIDS] = { "pids", "PIDS", "processes", 5, 5, true, true },
	[CGS_TOP_C_P99] = { "p99", "SYS p99", "syscall latency, 99th percentile", 7, 12, true, true },
	[CGS_TOP_C_OOM] = { "oom", "OOM", "OOM kills", 4, 13, true, true },
	[CGS_TOP_C_STATUS] = { "status", "STATUS", "running, empty (no process) or exited", 7, 3, false, false },
};

int cgs_top_col_parse(const char *key)
{
	for (int i = 0; i < CGS_TOP_C__COUNT; i++)
		if (!strcasecmp(key, cgs_top_cols[i].key))
			return i;
	return -1;
}

int cgs_top_cols_parse(const char *list, unsigned *mask)
{
	unsigned m = 1u << CGS_TOP_C_NAME;
	const char *p = list;

	while (*p) {
		char key[32];
		size_t n = strcspn(p, ", ");
		int c;

		if (n && n < sizeof(key)) {
			memcpy(key, p, n);
			key[n] = '\0';
			c = cgs_top_col_parse(key);
			if (c < 0)
				return -EINVAL;
			m |= 1u << c;
		} else if (n) {
			return -EINVAL;
		}
		p += n;
		p += strspn(p, ", ");
	}
	*mask = m;
	return 0;
}

int cgs_top_fit(unsigned mask, int width, int name_want, int x[CGS_TOP_C__COUNT], int w[CGS_TOP_C__COUNT])
{
	unsigned shown = (mask | (1u << CGS_TOP_C_NAME)) & CGS_TOP_COLS_ALL;
	int need, count, pos = 0;

	for (;;) {
		int worst = -1;

		need = -1;
		count = 0;
		for (int c = 0; c < CGS_TOP_C__COUNT; c++) {
			if (!(shown & (1u << c)))
				continue;
			need += cgs_top_cols[c].width + 1;
			count++;
			if (c != CGS_TOP_C_NAME && (worst < 0 || cgs_top_cols[c].priority > cgs_top_cols[worst].priority))
				worst = c;
		}
		if (need <= width || worst < 0)
			break;
		shown &= ~(1u << worst);
	}
	for (int c = 0; c < CGS_TOP_C__COUNT; c++) {
		x[c] = 0;
		w[c] = 0;
		if (!(shown & (1u << c)))
			continue;
		w[c] = cgs_top_cols[c].width;
	}
	if (need > width) {
		/* Only NAME is left and even it does not fit. */
		w[CGS_TOP_C_NAME] = width > 0 ? width : 0;
	} else {
		int want = name_want > CGS_TOP_NAME_MAX ? CGS_TOP_NAME_MAX : name_want;
		int extra = want - w[CGS_TOP_C_NAME];

		if (extra > width - need)
			extra = width - need;
		if (extra > 0)
			w[CGS_TOP_C_NAME] += extra;
	}
	for (int c = 0; c < CGS_TOP_C__COUNT; c++) {
		if (!w[c])
			continue;
		x[c] = pos;
		pos += w[c] + 1;
	}
	return count;
}

void cgs_top_fmt_bytes(double v, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	int u = 0;

	if (isnan(v) || v < 0) {
		snprintf(buf, len, "-");
		return;
	}
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0fB", v);
	else if (v < 9.95)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
}

void cgs_top_fmt_secs(double v, char *buf, size_t len)
{
	if (isnan(v) || v < 0)
		snprintf(buf, len, "-");
	else if (v < 1e-3)
		snprintf(buf, len, "%.0fus", v * 1e6);
	else if (v < 1)
		snprintf(buf, len, v < 9.95e-3 ? "%.1fms" : "%.0fms", v * 1e3);
	else
		snprintf(buf, len, "%.2fs", v);
}

double cgs_top_cpu_pct(const struct cgs_top_model *m, const struct cgs_top_row *r)
{
	double v = r->rate[CGS_TOP_V_CPU];

	if (isnan(v))
		return NAN;
	if (m->cpu_of_node && m->node_cpus > 0)
		return v * 100 / m->node_cpus;
	return v * 100;
}

double cgs_top_mem_frac(const struct cgs_top_model *m, const struct cgs_top_row *r)
{
	double ws = cgs_top_row_mem(r), lim = r->ct.v[CGS_TOP_V_MEM_LIMIT];

	if (isnan(ws))
		return NAN;
	if (isnan(lim) || lim <= 0 || (m->node_mem > 0 && lim > m->node_mem))
		lim = m->node_mem; /* unlimited: the node's memory is the limit */
	return lim > 0 ? ws / lim : NAN;
}

static void fmt_pct(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v < 999.95)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
}

static void fmt_count(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v < 1e5)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.0fk", v / 1e3);
}

static void fmt_rate(double v, char *buf, size_t len)
{
	cgs_top_fmt_bytes(v, buf, len);
}

static const char *const status_names[] = { "running", "empty", "exited" };

void cgs_top_cell(const struct cgs_top_model *m, const struct cgs_top_row *r, enum cgs_top_col col, char *buf,
		  size_t len)
{
	char a[16], b[16];

	switch (col) {
	case CGS_TOP_C_NAME:
		snprintf(buf, len, "%s", r->display);
		break;
	case CGS_TOP_C_ID:
		snprintf(buf, len, "%.12s", r->ct.container_id && *r->ct.container_id ? r->ct.container_id : "-");
		break;
	case CGS_TOP_C_CPU:
		fmt_pct(cgs_top_cpu_pct(m, r), buf, len);
		break;
	case CGS_TOP_C_DELAY:
		fmt_pct(r->rate[CGS_TOP_V_DELAY] * 100, buf, len);
		break;
	case CGS_TOP_C_MEM: {
		double lim = r->ct.v[CGS_TOP_V_MEM_LIMIT];

		cgs_top_fmt_bytes(cgs_top_row_mem(r), a, sizeof(a));
		if (isnan(lim) || lim <= 0) {
			snprintf(buf, len, "%s", a);
		} else {
			cgs_top_fmt_bytes(lim, b, sizeof(b));
			snprintf(buf, len, "%s/%s", a, b);
		}
		break;
	}
	case CGS_TOP_C_MEMBAR: {
		double f = cgs_top_mem_frac(m, r);

		if (isnan(f))
			snprintf(buf, len, "-");
		else
			snprintf(buf, len, "%.0f%%", f * 100);
		break;
	}
	case CGS_TOP_C_NETRX:
		fmt_rate(r->rate[CGS_TOP_V_NET_RX], buf, len);
		break;
	case CGS_TOP_C_NETTX:
		fmt_rate(r->rate[CGS_TOP_V_NET_TX], buf, len);
		break;
	case CGS_TOP_C_IOR:
		fmt_rate(r->rate[CGS_TOP_V_IO_R], buf, len);
		break;
	case CGS_TOP_C_IOW:
		fmt_rate(r->rate[CGS_TOP_V_IO_W], buf, len);
		break;
	case CGS_TOP_C_PIDS:
		fmt_count(r->ct.v[CGS_TOP_V_PROCS], buf, len);
		break;
	case CGS_TOP_C_P99:
		cgs_top_fmt_secs(cgs_top_row_p99(r), buf, len);
		break;
	case CGS_TOP_C_OOM:
		fmt_count(r->ct.v[CGS_TOP_V_OOM], buf, len);
		break;
	case CGS_TOP_C_STATUS:
		snprintf(buf, len, "%s", status_names[cgs_top_row_status(r)]);
		break;
	default:
		snprintf(buf, len, "?");
	}
}
