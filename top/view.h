/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The terminal side of `cgsight top` (ncurses): drawing the main view, the
 * single-container view, menus and help, and what each key does. Every frame
 * is drawn into stdscr after erase() and sent with one refresh(), so ncurses
 * sends only the cells that changed: no flicker, whatever the row count.
 */
#ifndef CGS_TOP_VIEW_H
#define CGS_TOP_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

enum cgs_top_mode {
	CGS_TOP_MODE_MAIN,
	CGS_TOP_MODE_SINGLE,
	CGS_TOP_MODE_HELP,
	CGS_TOP_MODE_SORT,
	CGS_TOP_MODE_COLUMNS,
	CGS_TOP_MODE_FILTER,
};

/* The glyphs of bars and sparklines: Unicode blocks, or ASCII in other locales. */
struct cgs_top_glyphs {
	const char *spark[9]; /* levels 0 (empty) .. 8 (full) */
	const char *bar[9];   /* eighths of a cell: 0 empty .. 8 full */
	const char *asc, *desc, *ellipsis;
};

struct cgs_top_ui {
	enum cgs_top_mode mode, back; /* back: where help returns to */
	int menu;                     /* cursor in the sort and column menus */
	uint64_t single_id;           /* container of the single view */
	int scroll;                   /* first line of the single view */
	char msg[200];                /* transient message in the footer */
	double msg_until;
	bool utf8, color;
	const struct cgs_top_glyphs *g;
	/* Connection state, drawn in the header. */
	const char *source;           /* the URL, or "standalone" */
	char conn_err[256];           /* "" while the agent answers */
	double refresh_s;
	int page;                     /* table rows on screen, set by the last draw */
	int single_lines;             /* lines of the single view, set by the last draw */
};

extern const struct cgs_top_glyphs cgs_top_glyphs_utf8, cgs_top_glyphs_ascii;

/* Starts curses (the caller has called setlocale). color: honour NO_COLOR before asking. */
void cgs_top_view_start(struct cgs_top_ui *ui, bool color);
void cgs_top_view_stop(void);
/* Draws one frame; `now` is wall-clock seconds. */
void cgs_top_view_draw(struct cgs_top_ui *ui, struct cgs_top_model *m, double now);
/* Applies a key. Returns 1 to quit. */
int cgs_top_view_key(struct cgs_top_ui *ui, struct cgs_top_model *m, int key, double now);
/* Sets a footer message for `secs` seconds. */
void cgs_top_view_message(struct cgs_top_ui *ui, double now, double secs, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Drawing helpers shared by the single view (view.c). */
void cgs_top_put(int y, int x, int w, const char *s, bool right, int attr, const struct cgs_top_ui *ui);
int cgs_top_attr(const struct cgs_top_ui *ui, int pair, int fallback);
void cgs_top_single_draw(struct cgs_top_ui *ui, struct cgs_top_model *m, double now);

enum { CGS_TOP_P_TITLE = 1, CGS_TOP_P_GOOD, CGS_TOP_P_WARN, CGS_TOP_P_BAD, CGS_TOP_P_DIM, CGS_TOP_P_SPARK,
       CGS_TOP_P_HEAD };

#endif
