/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The main view of `cgsight top`, its menus, help and keys (ctop's keys
 * where ctop has one). The single-container view is in single.c.
 */
#include "view.h"

#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct cgs_top_glyphs cgs_top_glyphs_utf8 = {
	.spark = { " ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588" },
	.bar = { " ", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589", "\u2588" },
	.asc = "\u25b2",
	.desc = "\u25bc",
	.ellipsis = "\u2026",
};

const struct cgs_top_glyphs cgs_top_glyphs_ascii = {
	.spark = { " ", "_", ".", "-", ":", "=", "+", "*", "#" },
	.bar = { " ", " ", " ", " ", "#", "#", "#", "#", "#" },
	.asc = "^",
	.desc = "v",
	.ellipsis = "~",
};

/* ---- drawing helpers ---------------------------------------------------------- */

int cgs_top_attr(const struct cgs_top_ui *ui, int pair, int fallback)
{
	return ui->color ? (int)COLOR_PAIR(pair) : fallback;
}

/* Length in bytes of the UTF-8 sequence starting with c (1 for anything invalid). */
static int u8len(unsigned char c)
{
	return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/*
 * Draws s in w cells at (y, x), cut with an ellipsis when too long, padded
 * with spaces, right-aligned on request. Counts one cell per character; in a
 * non-UTF-8 locale, bytes outside ASCII are drawn as '?'.
 */
void cgs_top_put(int y, int x, int w, const char *s, bool right, int attr, const struct cgs_top_ui *ui)
{
	char out[1024];
	size_t o = 0;
	int cells = 0, total = 0, pad;
	const char *p;

	if (w <= 0)
		return;
	for (p = s; *p; p += u8len((unsigned char)*p))
		total++;
	p = s;
	while (*p && cells < w && o + 8 < sizeof(out)) {
		int n = u8len((unsigned char)*p);

		if (total > w && cells == w - 1) {
			const char *e = ui->g->ellipsis;

			memcpy(out + o, e, strlen(e));
			o += strlen(e);
			cells++;
			break;
		}
		if ((unsigned char)*p >= 0x80 && !ui->utf8) {
			out[o++] = '?';
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			out[o++] = ' ';
			n = 1;
		} else {
			for (int i = 0; i < n && p[i]; i++)
				out[o++] = p[i];
		}
		for (int i = 0; i < n && *p; i++)
			p++;
		cells++;
	}
	out[o] = '\0';
	pad = w - cells;
	attron(attr);
	if (right && pad > 0) {
		mvprintw(y, x, "%*s", pad, "");
		mvaddstr(y, x + pad, out);
	} else {
		mvaddstr(y, x, out);
		if (pad > 0)
			printw("%*s", pad, "");
	}
	attroff(attr);
}

void cgs_top_view_message(struct cgs_top_ui *ui, double now, double secs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ui->msg, sizeof(ui->msg), fmt, ap);
	va_end(ap);
	ui->msg_until = now + secs;
}

void cgs_top_view_start(struct cgs_top_ui *ui, bool color)
{
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	ui->color = color && has_colors();
	if (ui->color) {
		start_color();
		use_default_colors();
		init_pair(CGS_TOP_P_TITLE, COLOR_BLACK, COLOR_CYAN);
		init_pair(CGS_TOP_P_GOOD, COLOR_GREEN, -1);
		init_pair(CGS_TOP_P_WARN, COLOR_YELLOW, -1);
		init_pair(CGS_TOP_P_BAD, COLOR_RED, -1);
		init_pair(CGS_TOP_P_DIM, COLOR_BLUE, -1);
		init_pair(CGS_TOP_P_SPARK, COLOR_CYAN, -1);
		init_pair(CGS_TOP_P_HEAD, COLOR_BLACK, COLOR_WHITE);
	}
}

void cgs_top_view_stop(void)
{
	if (!isendwin())
		endwin();
}

/* ---- the main view ---------------------------------------------------------- */

#define PER_S(v) (isnan(v) ? "" : "/s")

static void header(struct cgs_top_ui *ui, struct cgs_top_model *m, double now)
{
	const struct cgs_top_totals *t = &m->tot;
	char left[256], right[128], clock[16], a[16], b[16], c[16], d[16], e[16];
	time_t tt = (time_t)now;
	struct tm tm;
	int W = COLS;

	localtime_r(&tt, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	snprintf(left, sizeof(left), " cgsight top  %s", ui->source);
	if (!m->have)
		snprintf(right, sizeof(right), "waiting for data  %s ", clock);
	else
		snprintf(right, sizeof(right), "gen %llu, %.0fs old  %s ", (unsigned long long)m->generation,
			 now - m->timestamp > 0 ? now - m->timestamp : 0, clock);
	move(0, 0);
	cgs_top_put(0, 0, W, left, false, cgs_top_attr(ui, CGS_TOP_P_TITLE, A_REVERSE), ui);
	if ((int)strlen(right) < W - (int)strlen(left))
		cgs_top_put(0, W - (int)strlen(right), (int)strlen(right), right, true,
			    cgs_top_attr(ui, CGS_TOP_P_TITLE, A_REVERSE), ui);

	if (ui->conn_err[0]) {
		char line[320];

		snprintf(line, sizeof(line), " agent not answering: %s (retrying every %.0fs)", ui->conn_err,
			 ui->refresh_s);
		cgs_top_put(1, 0, W, line, false, cgs_top_attr(ui, CGS_TOP_P_BAD, A_BOLD) | A_BOLD, ui);
		return;
	}
	char line[400], cpu[64] = "", mem[64] = "", iow[16], pids[16] = "-";

	snprintf(a, sizeof(a), isnan(t->cpu) ? "-" : "%.2f", t->cpu);
	cgs_top_fmt_bytes(t->mem, b, sizeof(b));
	cgs_top_fmt_bytes(t->rx, c, sizeof(c));
	cgs_top_fmt_bytes(t->tx, d, sizeof(d));
	cgs_top_fmt_bytes(t->ior, e, sizeof(e));
	cgs_top_fmt_bytes(t->iow, iow, sizeof(iow));
	if (!isnan(t->pids))
		snprintf(pids, sizeof(pids), "%.0f", t->pids);
	if (m->node_cpus > 0 && !isnan(t->cpu))
		snprintf(cpu, sizeof(cpu), " (%.1f%% of %.0f)", t->cpu * 100 / m->node_cpus, m->node_cpus);
	if (m->node_mem > 0) {
		char nm[16];

		cgs_top_fmt_bytes(m->node_mem, nm, sizeof(nm));
		snprintf(mem, sizeof(mem), " of %s", nm);
	}
	snprintf(line, sizeof(line), " %zu containers, %zu running  CPU %s cores%s  MEM %s%s  NET rx %s%s tx %s%s"
		 "  IO r %s%s w %s%s  PIDS %s",
		 t->total, t->running, a, cpu, b, mem, c, PER_S(t->rx), d, PER_S(t->tx), e, PER_S(t->ior), iow,
		 PER_S(t->iow), pids);
	cgs_top_put(1, 0, W, line, false, A_BOLD, ui);
}

/* NAME's width: what the longest name of the list needs (all of it, so columns do not move on scrolling). */
static int name_want(const struct cgs_top_model *m)
{
	int want = cgs_top_cols[CGS_TOP_C_NAME].width;

	for (size_t i = 0; i < m->nvis && want < CGS_TOP_NAME_MAX; i++) {
		int l = (int)strlen(m->vis[i]->display);

		if (l > want)
			want = l;
	}
	return want;
}

static void draw_bar(int y, int x, int w, double frac, int attr, int base, const struct cgs_top_ui *ui)
{
	int eighths, full;
	char pct[8];

	if (w < 6 || isnan(frac)) {
		cgs_top_put(y, x, w, isnan(frac) ? "-" : "", true, base, ui);
		return;
	}
	snprintf(pct, sizeof(pct), "%3.0f%%", frac * 100 > 999 ? 999 : frac * 100);
	w -= 5; /* " 100%" */
	if (frac > 1)
		frac = 1;
	eighths = (int)lround(frac * w * 8);
	full = eighths / 8;
	move(y, x);
	attron(attr | base);
	for (int i = 0; i < w; i++) {
		int k = i < full ? 8 : i == full ? eighths % 8 : 0;

		/* ASCII has no eighths: round half cells to '#'. */
		addstr(ui->g->bar[k]);
	}
	attroff(attr | base);
	attron(base);
	if (!ui->color) {
		/* Without colour, show the bar's extent. */
		for (int i = (eighths + 7) / 8; i < w; i++)
			mvaddstr(y, x + i, ui->utf8 ? "\u00b7" : ".");
	}
	mvprintw(y, x + w, " %s", pct);
	attroff(base);
}

static int level_attr(const struct cgs_top_ui *ui, double v, double warn, double bad)
{
	if (isnan(v) || !ui->color)
		return 0;
	return v >= bad ? (int)COLOR_PAIR(CGS_TOP_P_BAD) : v >= warn ? (int)COLOR_PAIR(CGS_TOP_P_WARN) : 0;
}

static int cell_attr(const struct cgs_top_ui *ui, const struct cgs_top_model *m, const struct cgs_top_row *r,
		     enum cgs_top_col c)
{
	switch (c) {
	case CGS_TOP_C_CPU:
		return level_attr(ui, cgs_top_cpu_pct(m, r), 50, 90);
	case CGS_TOP_C_DELAY:
		return level_attr(ui, r->rate[CGS_TOP_V_DELAY] * 100, 5, 25);
	case CGS_TOP_C_OOM:
		return level_attr(ui, r->ct.v[CGS_TOP_V_OOM], 1, 1);
	case CGS_TOP_C_STATUS:
		switch (cgs_top_row_status(r)) {
		case CGS_TOP_RUNNING:
			return cgs_top_attr(ui, CGS_TOP_P_GOOD, 0);
		case CGS_TOP_EMPTY:
			return cgs_top_attr(ui, CGS_TOP_P_DIM, A_DIM);
		default:
			return cgs_top_attr(ui, CGS_TOP_P_BAD, A_BOLD);
		}
	default:
		return 0;
	}
}

static void table(struct cgs_top_ui *ui, struct cgs_top_model *m, int y0, int rows)
{
	int x[CGS_TOP_C__COUNT], w[CGS_TOP_C__COUNT];
	int head = cgs_top_attr(ui, CGS_TOP_P_HEAD, A_REVERSE) | A_BOLD;

	cgs_top_model_move(m, 0, (size_t)rows);
	cgs_top_fit(m->cols, COLS, name_want(m), x, w);
	move(y0, 0);
	attron(head);
	printw("%*s", COLS, "");
	attroff(head);
	for (int c = 0; c < CGS_TOP_C__COUNT; c++) {
		char t[32];

		if (!w[c])
			continue;
		snprintf(t, sizeof(t), "%s%s", cgs_top_cols[c].title,
			 m->sort == (enum cgs_top_col)c
				 ? (cgs_top_cols[c].numeric != m->reverse ? ui->g->desc : ui->g->asc)
				 : "");
		cgs_top_put(y0, x[c], w[c], t, cgs_top_cols[c].right, head, ui);
	}
	if (!m->nvis) {
		const char *why = !m->have ? "waiting for the agent's first answer"
				  : m->filter[0] ? "no container matches the filter (Esc clears it)"
				  : m->running_only && m->tot.total ? "no running container (a shows all)"
								    : "no containers on this node";

		cgs_top_put(y0 + 2, 2, COLS - 4, why, false, A_DIM, ui);
		return;
	}
	for (int i = 0; i < rows && m->top + (size_t)i < m->nvis; i++) {
		size_t k = m->top + (size_t)i;
		const struct cgs_top_row *r = m->vis[k];
		bool sel = k == m->cursor;
		int base = sel ? A_REVERSE : (r->present ? 0 : A_DIM);
		int y = y0 + 1 + i;

		if (sel) {
			move(y, 0);
			attron(A_REVERSE);
			printw("%*s", COLS, "");
			attroff(A_REVERSE);
		}
		for (int c = 0; c < CGS_TOP_C__COUNT; c++) {
			char t[192];

			if (!w[c])
				continue;
			if (c == CGS_TOP_C_MEMBAR) {
				double f = cgs_top_mem_frac(m, r);

				int bar = 0;

				if (!sel && ui->color)
					bar = f * 100 < 70 ? (int)COLOR_PAIR(CGS_TOP_P_GOOD) : level_attr(ui, f * 100, 70, 90);
				draw_bar(y, x[c], w[c], f, bar, base, ui);
				continue;
			}
			cgs_top_cell(m, r, (enum cgs_top_col)c, t, sizeof(t));
			if (c == CGS_TOP_C_NAME && t[0] == '/') {
				/* A cgroup path: its end tells containers apart, cut the start. */
				size_t n = strlen(t);

				if ((int)n > w[c] && w[c] > 1) {
					char tail[192];

					snprintf(tail, sizeof(tail), "%s%s", ui->g->ellipsis, t + n - (size_t)(w[c] - 1));
					snprintf(t, sizeof(t), "%s", tail);
				}
			}
			cgs_top_put(y, x[c], w[c], t, cgs_top_cols[c].right, base | (sel ? 0 : cell_attr(ui, m, r, c)),
				    ui);
		}
	}
}

static void footer(struct cgs_top_ui *ui, struct cgs_top_model *m, double now)
{
	int y = LINES - 1;
	char line[320];

	if (ui->mode == CGS_TOP_MODE_FILTER) {
		snprintf(line, sizeof(line), " filter: %s_   (Enter keeps it, Esc clears it)", m->filter);
		cgs_top_put(y, 0, COLS, line, false, A_BOLD, ui);
		return;
	}
	if (ui->msg[0] && now < ui->msg_until) {
		cgs_top_put(y, 0, COLS, ui->msg, false, cgs_top_attr(ui, CGS_TOP_P_WARN, A_BOLD) | A_BOLD, ui);
		return;
	}
	if (ui->mode == CGS_TOP_MODE_SINGLE)
		snprintf(line, sizeof(line), " Esc/q back  arrows scroll  l logs  h help");
	else
		snprintf(line, sizeof(line),
			 " %zu/%zu shown%s%s%s  %s | s sort  r reverse  f filter  a %s  Enter details  c columns  h help  q quit",
			 m->nvis, m->nrows, m->filter[0] ? "  filter: " : "", m->filter,
			 m->running_only ? "  running only" : "", m->cpu_of_node ? "CPU% of node" : "CPU% of a core",
			 m->running_only ? "all" : "running");
	cgs_top_put(y, 0, COLS, line, false, A_DIM, ui);
}

/* A box with a title, for menus and help; returns the first inner line. */
static int box_at(int h, int w, int *y0, int *x0, const char *title, const struct cgs_top_ui *ui)
{
	if (h > LINES - 2)
		h = LINES - 2;
	if (w > COLS - 2)
		w = COLS - 2;
	*y0 = (LINES - h) / 2;
	*x0 = (COLS - w) / 2;
	for (int i = 0; i < h; i++)
		mvprintw(*y0 + i, *x0, "%*s", w, "");
	mvaddch(*y0, *x0, ACS_ULCORNER);
	mvaddch(*y0, *x0 + w - 1, ACS_URCORNER);
	mvaddch(*y0 + h - 1, *x0, ACS_LLCORNER);
	mvaddch(*y0 + h - 1, *x0 + w - 1, ACS_LRCORNER);
	mvhline(*y0, *x0 + 1, ACS_HLINE, w - 2);
	mvhline(*y0 + h - 1, *x0 + 1, ACS_HLINE, w - 2);
	mvvline(*y0 + 1, *x0, ACS_VLINE, h - 2);
	mvvline(*y0 + 1, *x0 + w - 1, ACS_VLINE, h - 2);
	cgs_top_put(*y0, *x0 + 2, (int)strlen(title) < w - 4 ? (int)strlen(title) : w - 4, title, false, A_BOLD, ui);
	return h;
}

static void menu(struct cgs_top_ui *ui, struct cgs_top_model *m, bool columns)
{
	int y0, x0, h = CGS_TOP_C__COUNT + 3, w = 62;

	h = box_at(h, w, &y0, &x0, columns ? " Columns: Space toggles, Esc closes " : " Sort by: Enter picks, Esc closes ",
		   ui);
	w = w > COLS - 2 ? COLS - 2 : w;
	for (int c = 0; c < CGS_TOP_C__COUNT && 1 + c < h - 1; c++) {
		char line[160];
		const char *mark = columns ? ((m->cols >> c) & 1 ? "[x]" : "[ ]") : (m->sort == (enum cgs_top_col)c ? " * " : "   ");

		snprintf(line, sizeof(line), "%s %-8s %s", mark, cgs_top_cols[c].title, cgs_top_cols[c].desc);
		cgs_top_put(y0 + 1 + c, x0 + 2, w - 4, line, false, c == ui->menu ? A_REVERSE : 0, ui);
	}
}

static const char *const help_lines[] = {
	"Main view",
	"  Up/Down, PgUp/PgDn, Home/End   move",
	"  s          sort by a column (menu); r reverses",
	"  f or /     filter by name, pod, namespace, image, id",
	"  Esc        clear the filter",
	"  a          all containers vs. running only",
	"  Enter, o   single-container view",
	"  l          logs of the container",
	"  c          choose the columns",
	"  h or ?     this help;  q  quit",
	"Single view",
	"  Up/Down, PgUp/PgDn  scroll;  Esc, q, Enter  back",
	"Columns",
	"  CPU% of one core (--node-cpu: of the node); DELAY% run-queue",
	"  wait per second of wall time; NET/IO in bytes per second;",
	"  SYS p99 syscall latency over the last collection interval.",
	"  '-' means the agent does not measure it (yet).",
	"Press any key to close.",
};

static void help(struct cgs_top_ui *ui)
{
	int n = (int)(sizeof(help_lines) / sizeof(help_lines[0]));
	int y0, x0, w = 68, h = box_at(n + 2, w, &y0, &x0, " cgsight top: help ", ui);

	w = w > COLS - 2 ? COLS - 2 : w;
	for (int i = 0; i < n && i < h - 2; i++)
		cgs_top_put(y0 + 1 + i, x0 + 2, w - 4, help_lines[i], false, help_lines[i][0] != ' ' ? A_BOLD : 0, ui);
}

void cgs_top_view_draw(struct cgs_top_ui *ui, struct cgs_top_model *m, double now)
{
	enum cgs_top_mode under = ui->mode == CGS_TOP_MODE_HELP ? ui->back : ui->mode;

	if (under == CGS_TOP_MODE_SINGLE && !cgs_top_model_find(m, ui->single_id)) {
		/* Its row was dropped (exited long enough ago): back to the list. */
		ui->mode = ui->back = under = CGS_TOP_MODE_MAIN;
		cgs_top_view_message(ui, now, 5, " the container has gone");
	}
	erase();
	if (LINES < 5 || COLS < 20) {
		mvaddstr(0, 0, "terminal too small");
		refresh();
		return;
	}
	if (under == CGS_TOP_MODE_SINGLE) {
		cgs_top_single_draw(ui, m, now);
	} else {
		header(ui, m, now);
		ui->page = LINES - 4;
		table(ui, m, 2, ui->page);
	}
	footer(ui, m, now);
	if (ui->mode == CGS_TOP_MODE_SORT || ui->mode == CGS_TOP_MODE_COLUMNS)
		menu(ui, m, ui->mode == CGS_TOP_MODE_COLUMNS);
	else if (ui->mode == CGS_TOP_MODE_HELP)
		help(ui);
	refresh();
}

/* ---- keys ------------------------------------------------------------------------ */

#define KEY_ESC 27
#define CTRL(c) ((c) & 0x1f)

static bool is_enter(int k)
{
	return k == '\n' || k == '\r' || k == KEY_ENTER;
}

static void logs(struct cgs_top_ui *ui, struct cgs_top_model *m, double now)
{
	const struct cgs_top_row *r = ui->mode == CGS_TOP_MODE_SINGLE ? cgs_top_model_find(m, ui->single_id)
								      : cgs_top_model_selected(m);

	cgs_top_view_message(ui, now, 5, " logs of %s: log pipeline not available", r ? r->display : "(none)");
}

static int key_main(struct cgs_top_ui *ui, struct cgs_top_model *m, int k, double now)
{
	size_t page = ui->page > 0 ? (size_t)ui->page : 1;

	switch (k) {
	case 'q':
	case 'Q':
		return 1;
	case KEY_UP:
	case 'k':
		cgs_top_model_move(m, -1, page);
		break;
	case KEY_DOWN:
	case 'j':
		cgs_top_model_move(m, 1, page);
		break;
	case KEY_PPAGE:
		cgs_top_model_move(m, -(long)page, page);
		break;
	case KEY_NPAGE:
	case ' ':
		cgs_top_model_move(m, (long)page, page);
		break;
	case KEY_HOME:
	case 'g':
		cgs_top_model_move(m, -(long)m->nvis, page);
		break;
	case KEY_END:
	case 'G':
		cgs_top_model_move(m, (long)m->nvis, page);
		break;
	case 's':
		ui->mode = CGS_TOP_MODE_SORT;
		ui->menu = (int)m->sort;
		break;
	case 'r':
		m->reverse = !m->reverse;
		cgs_top_model_refresh(m);
		break;
	case 'f':
	case '/':
		ui->mode = CGS_TOP_MODE_FILTER;
		break;
	case KEY_ESC:
		cgs_top_model_set_filter(m, "");
		break;
	case 'a':
		m->running_only = !m->running_only;
		cgs_top_model_refresh(m);
		cgs_top_view_message(ui, now, 3, " showing %s", m->running_only ? "running containers only" : "all containers");
		break;
	case 'o':
	case '\n':
	case '\r':
	case KEY_ENTER:
	case KEY_RIGHT: {
		const struct cgs_top_row *r = cgs_top_model_selected(m);

		if (r) {
			ui->single_id = r->ct.cgroup_id;
			ui->scroll = 0;
			ui->mode = CGS_TOP_MODE_SINGLE;
		}
		break;
	}
	case 'l':
		logs(ui, m, now);
		break;
	case 'c':
		ui->mode = CGS_TOP_MODE_COLUMNS;
		ui->menu = 0;
		break;
	case 'h':
	case '?':
	case KEY_F(1):
		ui->back = ui->mode;
		ui->mode = CGS_TOP_MODE_HELP;
		break;
	default:
		break;
	}
	return 0;
}

static void key_filter(struct cgs_top_ui *ui, struct cgs_top_model *m, int k)
{
	char f[CGS_TOP_FILTER_MAX];
	size_t n = strlen(m->filter);

	memcpy(f, m->filter, n + 1);
	if (k == KEY_ESC) {
		f[0] = '\0';
		ui->mode = CGS_TOP_MODE_MAIN;
	} else if (is_enter(k)) {
		ui->mode = CGS_TOP_MODE_MAIN;
		return;
	} else if (k == KEY_BACKSPACE || k == 127 || k == CTRL('h')) {
		/* Whole UTF-8 characters. */
		while (n > 0 && ((unsigned char)f[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			n--;
		f[n] = '\0';
	} else if (k == CTRL('u')) {
		f[0] = '\0';
	} else if (k == KEY_UP || k == KEY_DOWN) {
		cgs_top_model_move(m, k == KEY_UP ? -1 : 1, (size_t)(ui->page > 0 ? ui->page : 1));
		return;
	} else if (k >= 0x20 && k < 0x100 && k != 0x7f && n + 1 < sizeof(f)) {
		f[n] = (char)k;
		f[n + 1] = '\0';
	} else {
		return;
	}
	cgs_top_model_set_filter(m, f);
	cgs_top_model_move(m, 0, (size_t)(ui->page > 0 ? ui->page : 1));
}

static void key_menu(struct cgs_top_ui *ui, struct cgs_top_model *m, int k)
{
	if (k == KEY_UP || k == 'k')
		ui->menu = ui->menu > 0 ? ui->menu - 1 : CGS_TOP_C__COUNT - 1;
	else if (k == KEY_DOWN || k == 'j')
		ui->menu = ui->menu + 1 < CGS_TOP_C__COUNT ? ui->menu + 1 : 0;
	else if (k == KEY_ESC || k == 'q' || (ui->mode == CGS_TOP_MODE_SORT && k == 's') ||
		 (ui->mode == CGS_TOP_MODE_COLUMNS && (k == 'c' || is_enter(k))))
		ui->mode = CGS_TOP_MODE_MAIN;
	else if (ui->mode == CGS_TOP_MODE_SORT && is_enter(k)) {
		if (m->sort != (enum cgs_top_col)ui->menu)
			m->reverse = false;
		m->sort = (enum cgs_top_col)ui->menu;
		cgs_top_model_refresh(m);
		ui->mode = CGS_TOP_MODE_MAIN;
	} else if (ui->mode == CGS_TOP_MODE_SORT && k == 'r') {
		m->reverse = !m->reverse;
		cgs_top_model_refresh(m);
	} else if (ui->mode == CGS_TOP_MODE_COLUMNS && k == ' ' && ui->menu != CGS_TOP_C_NAME) {
		m->cols ^= 1u << ui->menu;
	}
}

static void key_single(struct cgs_top_ui *ui, struct cgs_top_model *m, int k, double now)
{
	int page = LINES - 3 > 1 ? LINES - 3 : 1;

	switch (k) {
	case KEY_ESC:
	case 'q':
	case 'Q':
	case 'o':
	case '\n':
	case '\r':
	case KEY_ENTER:
	case KEY_LEFT:
	case KEY_BACKSPACE:
	case 127:
		ui->mode = CGS_TOP_MODE_MAIN;
		break;
	case KEY_UP:
	case 'k':
		ui->scroll--;
		break;
	case KEY_DOWN:
	case 'j':
		ui->scroll++;
		break;
	case KEY_PPAGE:
		ui->scroll -= page;
		break;
	case KEY_NPAGE:
	case ' ':
		ui->scroll += page;
		break;
	case KEY_HOME:
	case 'g':
		ui->scroll = 0;
		break;
	case KEY_END:
	case 'G':
		ui->scroll = ui->single_lines;
		break;
	case 'l':
		logs(ui, m, now);
		break;
	case 'h':
	case '?':
		ui->back = ui->mode;
		ui->mode = CGS_TOP_MODE_HELP;
		break;
	}
	if (ui->scroll > ui->single_lines - page)
		ui->scroll = ui->single_lines - page;
	if (ui->scroll < 0)
		ui->scroll = 0;
}

int cgs_top_view_key(struct cgs_top_ui *ui, struct cgs_top_model *m, int k, double now)
{
	switch (ui->mode) {
	case CGS_TOP_MODE_MAIN:
		return key_main(ui, m, k, now);
	case CGS_TOP_MODE_FILTER:
		key_filter(ui, m, k);
		return 0;
	case CGS_TOP_MODE_SORT:
	case CGS_TOP_MODE_COLUMNS:
		key_menu(ui, m, k);
		return 0;
	case CGS_TOP_MODE_SINGLE:
		key_single(ui, m, k, now);
		return 0;
	case CGS_TOP_MODE_HELP:
		ui->mode = ui->back;
		return 0;
	}
	return 0;
}
