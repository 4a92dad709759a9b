/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The single-container view of `cgsight top`: metadata, sparklines of CPU,
 * memory, network, IO and run-queue delay over the history kept (one point
 * per collection pass), the run-queue and syscall latency histograms of the
 * last interval drawn as bars, TCP counters and recent OOM events. Lines are
 * laid out on a virtual page that scrolls.
 */
#include "view.h"

#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CGS_TOP_BAR_LINES 8

struct page {
	struct cgs_top_ui *ui;
	int vy;      /* next virtual line */
	int top, y0, rows;
};

/* The screen line of the next virtual line, or -1 when it is scrolled away. */
static int line(struct page *p)
{
	int v = p->vy++;

	return v >= p->top && v < p->top + p->rows ? p->y0 + v - p->top : -1;
}

static void text(struct page *p, int attr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void text(struct page *p, int attr, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int y = line(p);

	if (y < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cgs_top_put(y, 0, COLS, buf, false, attr, p->ui);
}

static void kv(struct page *p, const char *k, const char *v)
{
	int y = line(p);

	if (y < 0)
		return;
	cgs_top_put(y, 2, 13, k, false, A_BOLD, p->ui);
	cgs_top_put(y, 16, COLS - 16, v && *v ? v : "-", false, 0, p->ui);
}

static void spark(struct page *p, const struct cgs_top_row *r, const char *label, enum cgs_top_series s,
		  const char *value)
{
	const struct cgs_top_ui *ui = p->ui;
	int y = line(p), w = COLS - 10 - 44, n;
	float max = 0;

	if (y < 0)
		return;
	cgs_top_put(y, 1, 8, label, false, A_BOLD, ui);
	if (w < 8)
		w = 0;
	n = r->ring_n < w ? r->ring_n : w;
	for (int i = 0; i < n; i++) {
		float v = cgs_top_row_hist(r, s, r->ring_n - n + i);

		if (!isnan(v) && v > max)
			max = v;
	}
	move(y, 10);
	attron(cgs_top_attr(ui, CGS_TOP_P_SPARK, 0));
	for (int i = 0; i < w; i++) {
		int k = i - (w - n);
		float v = k >= 0 ? cgs_top_row_hist(r, s, r->ring_n - n + k) : NAN;
		int lv = 0;

		/* Zero is the baseline (level 1), anything above it at least level 2. */
		if (!isnan(v)) {
			lv = 1;
			if (v > 0 && max > 0) {
				lv = 1 + (int)lroundf(v / max * 7);
				if (lv < 2)
					lv = 2;
			}
		}
		addstr(k < 0 || isnan(v) ? " " : ui->g->spark[lv < 0 ? 0 : lv > 8 ? 8 : lv]);
	}
	attroff(cgs_top_attr(ui, CGS_TOP_P_SPARK, 0));
	cgs_top_put(y, 10 + w + 1, COLS - 11 - w, value, false, 0, ui);
}

static void fmt_rate(double v, char *buf, size_t len)
{
	char b[16];

	cgs_top_fmt_bytes(v, b, sizeof(b));
	snprintf(buf, len, isnan(v) ? "%s" : "%s/s", b);
}

/* The window a histogram section shows: the last interval if it saw anything, else everything. */
static const struct cgs_top_hist *pick(const struct cgs_top_hist *win, const struct cgs_top_hist *all,
				       const struct cgs_top_row *r, char *what, size_t len)
{
	if (win->present && cgs_top_hist_count(win) > 0) {
		snprintf(what, len, "last %.0fs", r->window);
		return win;
	}
	snprintf(what, len, "since start");
	return all;
}

static void hist_bars(struct page *p, const char *title, const struct cgs_top_hist *win,
		      const struct cgs_top_hist *all, const struct cgs_top_row *r)
{
	const struct cgs_top_ui *ui = p->ui;
	char what[32], p50[16], p99[16];
	const struct cgs_top_hist *h;
	int first = -1, last = -1, bw = COLS - 26;
	double max = 0;

	if (!all->present) {
		text(p, 0, " %s: -", title);
		return;
	}
	h = pick(win, all, r, what, sizeof(what));
	cgs_top_fmt_secs(cgs_top_hist_quantile(h, 0.5), p50, sizeof(p50));
	cgs_top_fmt_secs(cgs_top_hist_quantile(h, 0.99), p99, sizeof(p99));
	text(p, A_BOLD, " %s (%s: %.0f, p50 %s, p99 %s)", title, what, cgs_top_hist_count(h), p50, p99);
	for (int i = 0; i < h->n; i++) {
		double c = h->cum[i] - (i ? h->cum[i - 1] : 0);

		if (c > 0) {
			if (first < 0)
				first = i;
			last = i;
			if (c > max)
				max = c;
		}
	}
	if (first < 0 || bw < 4)
		return;
	/* At most CGS_TOP_BAR_LINES lines: neighbouring buckets are grouped when there are more. */
	int group = (last - first + CGS_TOP_BAR_LINES) / CGS_TOP_BAR_LINES;

	if (group > 1)
		max = 0;
	for (int i = first; group > 1 && i <= last; i += group) {
		int j = i + group - 1 > last ? last : i + group - 1;
		double c = h->cum[j] - (i ? h->cum[i - 1] : 0);

		if (c > max)
			max = c;
	}
	for (int i = first; i <= last; i += group) {
		int j = i + group - 1 > last ? last : i + group - 1;
		double c = h->cum[j] - (i ? h->cum[i - 1] : 0);
		char label[24], le[16], cnt[24];
		int y = line(p), eighths, full;

		if (y < 0)
			continue;
		if (isinf(h->le[j])) {
			cgs_top_fmt_secs(j ? h->le[j - 1] : 0, le, sizeof(le));
			snprintf(label, sizeof(label), ">%s", le);
		} else {
			cgs_top_fmt_secs(h->le[j], le, sizeof(le));
			snprintf(label, sizeof(label), "<=%s", le);
		}
		cgs_top_put(y, 3, 9, label, true, 0, ui);
		eighths = max > 0 ? (int)lround(c / max * bw * 8) : 0;
		if (c > 0 && eighths == 0)
			eighths = 1;
		full = eighths / 8;
		move(y, 13);
		attron(cgs_top_attr(ui, CGS_TOP_P_GOOD, 0));
		for (int k = 0; k < full; k++)
			addstr(ui->g->bar[8]);
		if (eighths % 8 && full < bw)
			addstr(ui->g->bar[ui->utf8 ? eighths % 8 : 8]);
		attroff(cgs_top_attr(ui, CGS_TOP_P_GOOD, 0));
		snprintf(cnt, sizeof(cnt), " %.0f", c);
		addstr(cnt);
	}
}

static void classes(struct page *p, const struct cgs_top_row *r)
{
	if (!r->ct.ncls)
		return;
	text(p, A_DIM, "   %-14s %10s %10s %10s", "class", "calls/s", "p50", "p99");
	for (unsigned i = 0; i < r->ct.ncls; i++) {
		const struct cgs_top_hist *all = &r->ct.cls[i].h, *win = NULL;
		char p50[16], p99[16], rate[16] = "-", what[32];
		const struct cgs_top_hist *h;

		for (unsigned j = 0; j < r->nwin_cls; j++)
			if (!strcmp(r->win_cls[j].name, r->ct.cls[i].name))
				win = &r->win_cls[j].h;
		if (win && r->window > 0)
			snprintf(rate, sizeof(rate), "%.1f", cgs_top_hist_count(win) / r->window);
		h = win ? pick(win, all, r, what, sizeof(what)) : all;
		cgs_top_fmt_secs(cgs_top_hist_quantile(h, 0.5), p50, sizeof(p50));
		cgs_top_fmt_secs(cgs_top_hist_quantile(h, 0.99), p99, sizeof(p99));
		text(p, 0, "   %-14s %10s %10s %10s", r->ct.cls[i].name, rate, p50, p99);
	}
}

/* A rate of seconds per second as a percentage. */
static void fmt_pct(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f%%", v * 100);
}

static void fmt_num(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f", v);
}

static void fmt_per_s(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f/s", v);
}

static void tcp(struct page *p, const struct cgs_top_row *r)
{
	const double *v = r->ct.v, *rt = r->rate;
	char ok[16], okr[16], fail[16], acc[16], act[16], rtx[16], rtxr[16], lat[16];

	fmt_num(v[CGS_TOP_V_TCP_OK], ok, sizeof(ok));
	fmt_per_s(rt[CGS_TOP_V_TCP_OK], okr, sizeof(okr));
	fmt_num(v[CGS_TOP_V_TCP_FAIL], fail, sizeof(fail));
	fmt_num(v[CGS_TOP_V_TCP_ACCEPT], acc, sizeof(acc));
	fmt_num(v[CGS_TOP_V_TCP_ACTIVE], act, sizeof(act));
	fmt_num(v[CGS_TOP_V_TCP_RETRANS], rtx, sizeof(rtx));
	fmt_per_s(rt[CGS_TOP_V_TCP_RETRANS], rtxr, sizeof(rtxr));
	cgs_top_fmt_secs(cgs_top_hist_quantile(&r->ct.h[CGS_TOP_H_TCP_CONNECT], 0.99), lat, sizeof(lat));
	text(p, A_BOLD, " TCP");
	text(p, 0, "   connects ok %s (%s), failed %s;  accepts %s;  established %s", ok, okr, fail, acc, act);
	text(p, 0, "   retransmits %s (%s);  connect latency p99 %s", rtx, rtxr, lat);
}

static void ooms(struct page *p, const struct cgs_top_model *m, const struct cgs_top_row *r)
{
	char n[16];
	int shown = 0;

	fmt_num(r->ct.v[CGS_TOP_V_OOM], n, sizeof(n));
	text(p, A_BOLD, " OOM kills: %s", n);
	for (size_t i = m->nev; i-- > 0 && shown < 8;) {
		const struct cgs_top_event *e = &m->ev[i];
		char when[32];
		time_t t = (time_t)e->time;
		struct tm tm;

		if (e->cgroup_id != r->ct.cgroup_id)
			continue;
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		text(p, strstr(e->type, "oom") ? cgs_top_attr(p->ui, CGS_TOP_P_BAD, A_BOLD) : 0, "   %s  %s  %s", when,
		     e->type, e->detail);
		shown++;
	}
	if (!shown)
		text(p, A_DIM, "   no recent events");
}

static void metadata(struct page *p, const struct cgs_top_row *r, double now)
{
	const struct cgs_top_ct *c = &r->ct;
	char buf[512], when[64] = "-";

	kv(p, "container id", c->container_id);
	snprintf(buf, sizeof(buf), "%s  (cgroup id %llu)", c->path, (unsigned long long)c->cgroup_id);
	kv(p, "cgroup", buf);
	snprintf(buf, sizeof(buf), "%s%s%s", c->runtime, c->qos && *c->qos ? "  qos " : "", c->qos ? c->qos : "");
	kv(p, "runtime", buf);
	kv(p, "name", c->name);
	kv(p, "image", c->image);
	if (c->pod && *c->pod) {
		snprintf(buf, sizeof(buf), "%s/%s  container %s  uid %s", c->namespace, c->pod, c->container,
			 c->pod_uid);
		kv(p, "pod", buf);
	}
	if (!isnan(c->start_time) && c->start_time > 0) {
		time_t t = (time_t)c->start_time;
		struct tm tm;
		double up = (r->present ? now : r->gone_at) - c->start_time;

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(buf, sizeof(buf), "%s  (up %dh%02dm%02ds)", when, (int)(up / 3600), (int)fmod(up / 60, 60),
			 (int)fmod(up, 60));
		kv(p, "started", buf);
	}
	char pr[16], th[16];

	fmt_num(c->v[CGS_TOP_V_PROCS], pr, sizeof(pr));
	fmt_num(c->v[CGS_TOP_V_THREADS], th, sizeof(th));
	snprintf(buf, sizeof(buf), "%s processes, %s threads", pr, th);
	kv(p, "tasks", buf);
}

static void series(struct page *p, const struct cgs_top_model *m, const struct cgs_top_row *r)
{
	const double *v = r->ct.v, *rt = r->rate;
	char buf[160], a[16], b[16], c[16], d[16];
	double pct = cgs_top_cpu_pct(m, r);

	if (isnan(pct))
		snprintf(a, sizeof(a), "-");
	else
		snprintf(a, sizeof(a), "%.1f%%", pct);
	fmt_pct(rt[CGS_TOP_V_CPU_USER], b, sizeof(b));
	fmt_pct(rt[CGS_TOP_V_CPU_SYSTEM], c, sizeof(c));
	fmt_pct(rt[CGS_TOP_V_THROTTLED], d, sizeof(d));
	snprintf(buf, sizeof(buf), "%s  user %s sys %s throttled %s", a, b, c, d);
	spark(p, r, "CPU", CGS_TOP_S_CPU, buf);
	cgs_top_fmt_bytes(cgs_top_row_mem(r), a, sizeof(a));
	cgs_top_fmt_bytes(v[CGS_TOP_V_MEM_LIMIT] > 0 ? v[CGS_TOP_V_MEM_LIMIT] : NAN, b, sizeof(b));
	cgs_top_fmt_bytes(v[CGS_TOP_V_MEM_RSS], c, sizeof(c));
	cgs_top_fmt_bytes(v[CGS_TOP_V_MEM_CACHE], d, sizeof(d));
	snprintf(buf, sizeof(buf), "%s %s / %s  rss %s cache %s", a,
		 !isnan(v[CGS_TOP_V_MEM_WS]) ? "ws" : !isnan(v[CGS_TOP_V_MEM_USAGE]) ? "used" : "rss",
		 v[CGS_TOP_V_MEM_LIMIT] > 0 ? b : "no limit", c, d);
	spark(p, r, "MEM", CGS_TOP_S_MEM, buf);
	fmt_rate(rt[CGS_TOP_V_NET_RX], a, sizeof(a));
	fmt_per_s(rt[CGS_TOP_V_NET_RX_PKT], b, sizeof(b));
	snprintf(buf, sizeof(buf), "%s  %s pkt", a, b);
	spark(p, r, "NET RX", CGS_TOP_S_RX, buf);
	fmt_rate(rt[CGS_TOP_V_NET_TX], a, sizeof(a));
	fmt_per_s(rt[CGS_TOP_V_NET_TX_PKT], b, sizeof(b));
	snprintf(buf, sizeof(buf), "%s  %s pkt", a, b);
	spark(p, r, "NET TX", CGS_TOP_S_TX, buf);
	fmt_rate(rt[CGS_TOP_V_IO_R], a, sizeof(a));
	spark(p, r, "IO R", CGS_TOP_S_IOR, a);
	fmt_rate(rt[CGS_TOP_V_IO_W], a, sizeof(a));
	spark(p, r, "IO W", CGS_TOP_S_IOW, a);
	if (isnan(rt[CGS_TOP_V_DELAY]))
		snprintf(buf, sizeof(buf), "-");
	else
		snprintf(buf, sizeof(buf), "%.1f%% run-queue wait", rt[CGS_TOP_V_DELAY] * 100);
	spark(p, r, "DELAY", CGS_TOP_S_DELAY, buf);
}

void cgs_top_single_draw(struct cgs_top_ui *ui, struct cgs_top_model *m, double now)
{
	const struct cgs_top_row *r = cgs_top_model_find(m, ui->single_id);
	struct page p = { .ui = ui, .vy = 0, .top = ui->scroll, .y0 = 1, .rows = LINES - 2 };
	static const char *const status[] = { "running", "empty", "exited" };
	char title[320], right[64];

	if (!r)
		return;
	snprintf(title, sizeof(title), " %s  %.12s  %s", r->display, r->ct.container_id,
		 status[cgs_top_row_status(r)]);
	if (r->window > 0)
		snprintf(right, sizeof(right), "rates over %.0fs ", r->window);
	else
		snprintf(right, sizeof(right), "rates after the next collection ");
	cgs_top_put(0, 0, COLS, title, false, cgs_top_attr(ui, CGS_TOP_P_TITLE, A_REVERSE), ui);
	if ((int)(strlen(title) + strlen(right)) < COLS)
		cgs_top_put(0, COLS - (int)strlen(right), (int)strlen(right), right, true,
			    cgs_top_attr(ui, CGS_TOP_P_TITLE, A_REVERSE), ui);
	if (ui->conn_err[0])
		text(&p, cgs_top_attr(ui, CGS_TOP_P_BAD, A_BOLD), " agent not answering: %s", ui->conn_err);
	metadata(&p, r, now);
	text(&p, 0, " ");
	series(&p, m, r);
	text(&p, 0, " ");
	hist_bars(&p, "Run-queue latency", &r->win[CGS_TOP_H_RUNQ], &r->ct.h[CGS_TOP_H_RUNQ], r);
	text(&p, 0, " ");
	hist_bars(&p, "Syscall latency", &r->win[CGS_TOP_H_SYSCALL], &r->ct.h[CGS_TOP_H_SYSCALL], r);
	classes(&p, r);
	text(&p, 0, " ");
	tcp(&p, r);
	text(&p, 0, " ");
	ooms(&p, m, r);
	ui->single_lines = p.vy;
}
