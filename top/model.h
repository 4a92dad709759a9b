/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The view model of `cgsight top`: what the agent's /api/v1/containers said
 * (parsed snapshots), what the screen shows (rows with rates, history for
 * sparklines, windowed histograms), and the view state (sort, filter, all vs.
 * running, cursor). Pure: no terminal, no I/O, so it is tested without one.
 *
 * Every metric is optional: a value the agent did not send is NAN and is shown
 * as "-". Rates come from two snapshots of different generations (counter
 * delta / timestamp delta, a counter that went backwards restarts from zero,
 * a generation that went backwards means the agent restarted).
 */
#ifndef CGS_TOP_MODEL_H
#define CGS_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Values kept per container: one per family (labelled families summed or picked). */
enum cgs_top_val {
	CGS_TOP_V_CPU,          /* counter: seconds of CPU */
	CGS_TOP_V_CPU_USER,
	CGS_TOP_V_CPU_SYSTEM,
	CGS_TOP_V_THROTTLED,    /* counter: throttled seconds */
	CGS_TOP_V_DELAY,        /* counter: run-queue delay seconds */
	CGS_TOP_V_MEM_WS,       /* gauge: bytes */
	CGS_TOP_V_MEM_USAGE,
	CGS_TOP_V_MEM_RSS,
	CGS_TOP_V_MEM_CACHE,
	CGS_TOP_V_MEM_SWAP,
	CGS_TOP_V_MEM_LIMIT,    /* gauge: 0 = unlimited */
	CGS_TOP_V_CPU_QUOTA,
	CGS_TOP_V_CPU_PERIOD,
	CGS_TOP_V_NET_RX,       /* counters: bytes, all interfaces */
	CGS_TOP_V_NET_TX,
	CGS_TOP_V_NET_RX_PKT,
	CGS_TOP_V_NET_TX_PKT,
	CGS_TOP_V_IO_R,         /* counters: bytes */
	CGS_TOP_V_IO_W,
	CGS_TOP_V_PROCS,        /* gauges */
	CGS_TOP_V_THREADS,
	CGS_TOP_V_OOM,          /* counter: OOM kills */
	CGS_TOP_V_CSW_VOL,      /* counters: context switches */
	CGS_TOP_V_CSW_INVOL,
	CGS_TOP_V_SYSCALLS,     /* counter: all syscalls */
	CGS_TOP_V_SYSCALL_ERR,
	CGS_TOP_V_TCP_OK,       /* counters: active opens by result */
	CGS_TOP_V_TCP_FAIL,
	CGS_TOP_V_TCP_ACCEPT,
	CGS_TOP_V_TCP_ACTIVE,   /* gauge */
	CGS_TOP_V_TCP_RETRANS,
	CGS_TOP_V_PSI_CPU,      /* counters: pressure "waiting" seconds */
	CGS_TOP_V_PSI_MEM,
	CGS_TOP_V_PSI_IO,
	CGS_TOP_V__COUNT
};

/* How a family maps to a value. */
struct cgs_top_valdef {
	const char *family;
	const char *label;  /* NULL: the unlabelled value, or the sum over all label values */
	bool label_not;     /* sum over label values other than `label` */
	bool counter;
};
extern const struct cgs_top_valdef cgs_top_vals[CGS_TOP_V__COUNT];

enum cgs_top_hid {
	CGS_TOP_H_RUNQ,         /* container_cpu_runqueue_latency_seconds */
	CGS_TOP_H_SYSCALL,      /* container_syscall_latency_seconds, all classes merged */
	CGS_TOP_H_TCP_CONNECT,  /* container_tcp_connect_latency_seconds */
	CGS_TOP_H_RECLAIM,      /* container_memory_reclaim_seconds */
	CGS_TOP_H__COUNT
};
extern const char *const cgs_top_hist_family[CGS_TOP_H__COUNT];

#define CGS_TOP_HIST_MAX 24 /* the agent's log2 histograms: 23 bounds + overflow */
#define CGS_TOP_CLASSES_MAX 16

/* A histogram as the API sends it: upper bounds (last INFINITY) and cumulative counts. */
struct cgs_top_hist {
	bool present;
	uint8_t n;
	double le[CGS_TOP_HIST_MAX];
	double cum[CGS_TOP_HIST_MAX];
	double sum;
};

struct cgs_top_class {
	char name[32];
	struct cgs_top_hist h;
};

/* One container in one snapshot. Strings are owned (never NULL once parsed). */
struct cgs_top_ct {
	uint64_t cgroup_id;
	char *path, *container_id, *runtime, *name, *image, *container, *pod, *namespace, *pod_uid, *qos;
	double start_time;
	double v[CGS_TOP_V__COUNT]; /* NAN: absent */
	struct cgs_top_hist h[CGS_TOP_H__COUNT];
	struct cgs_top_class *cls;  /* syscall latency by class */
	uint8_t ncls;
};

/* A structured event (e.g. an OOM kill). `detail` is the event's other fields, "k=v ..." (cut). */
struct cgs_top_event {
	double time;
	uint64_t cgroup_id;
	char type[32];
	char detail[224];
};

struct cgs_top_snap {
	uint64_t generation;
	double timestamp;
	size_t n;
	struct cgs_top_ct *c;
	size_t nev;
	struct cgs_top_event *ev;
};

void cgs_top_ct_clear(struct cgs_top_ct *c);
void cgs_top_snap_free(struct cgs_top_snap *s);

/* Histogram helpers. Quantile q in (0,1]: the upper bound of the bucket holding it, NAN if empty. */
double cgs_top_hist_count(const struct cgs_top_hist *h);
double cgs_top_hist_quantile(const struct cgs_top_hist *h, double q);
/* out = a - b (bucket-wise, b's missing or reset buckets taken as zero). */
void cgs_top_hist_delta(const struct cgs_top_hist *a, const struct cgs_top_hist *b, struct cgs_top_hist *out);

/* Sparkline series kept per container, one point per collection pass. */
enum cgs_top_series {
	CGS_TOP_S_CPU,   /* cores */
	CGS_TOP_S_MEM,   /* bytes */
	CGS_TOP_S_RX,    /* bytes/s */
	CGS_TOP_S_TX,
	CGS_TOP_S_IOR,
	CGS_TOP_S_IOW,
	CGS_TOP_S_DELAY, /* seconds/s */
	CGS_TOP_S__COUNT
};
#define CGS_TOP_RING 240

enum cgs_top_status {
	CGS_TOP_RUNNING, /* in the latest snapshot with processes (or unknown) */
	CGS_TOP_EMPTY,   /* in the latest snapshot, no process in its cgroup */
	CGS_TOP_EXITED,  /* gone from the agent's snapshots */
};

struct cgs_top_row {
	struct cgs_top_ct ct;
	char display[160];      /* NAME column: pod/container, name, or the cgroup path */
	bool present;
	double gone_at;         /* snapshot timestamp at which it was first missing */
	/* Rate base: values at the time they were last verified current. */
	bool have_base;
	double base_t;
	double base_v[CGS_TOP_V__COUNT];
	struct cgs_top_hist base_h[CGS_TOP_H__COUNT];
	struct cgs_top_class *base_cls;
	uint8_t nbase_cls;
	/* Rates per second of the counters (NAN unknown), and windowed histograms. */
	double rate[CGS_TOP_V__COUNT];
	double window;          /* seconds the rates and windows span */
	struct cgs_top_hist win[CGS_TOP_H__COUNT];
	struct cgs_top_class *win_cls;
	uint8_t nwin_cls;
	/* History. */
	float ring[CGS_TOP_S__COUNT][CGS_TOP_RING];
	uint16_t ring_head, ring_n;
};

/* Oldest-first history point i (0 <= i < ring_n) of series s. */
float cgs_top_row_hist(const struct cgs_top_row *r, enum cgs_top_series s, unsigned i);
enum cgs_top_status cgs_top_row_status(const struct cgs_top_row *r);
/*
 * Memory of a row: the working set (what the kubelet evicts on), or where the
 * agent has none, the usage, or the RSS. NAN when none is known.
 */
double cgs_top_row_mem(const struct cgs_top_row *r);
/* Syscall p99 latency (seconds) of the last window, NAN when there is none. */
double cgs_top_row_p99(const struct cgs_top_row *r);

/* Columns of the main view. */
enum cgs_top_col {
	CGS_TOP_C_NAME,
	CGS_TOP_C_ID,
	CGS_TOP_C_CPU,
	CGS_TOP_C_DELAY,
	CGS_TOP_C_MEM,
	CGS_TOP_C_MEMBAR,
	CGS_TOP_C_NETRX,
	CGS_TOP_C_NETTX,
	CGS_TOP_C_IOR,
	CGS_TOP_C_IOW,
	CGS_TOP_C_PIDS,
	CGS_TOP_C_P99,
	CGS_TOP_C_OOM,
	CGS_TOP_C_STATUS,
	CGS_TOP_C__COUNT
};

struct cgs_top_coldef {
	const char *key;      /* for --columns and --sort: "name", "cpu", ... */
	const char *title;    /* heading */
	const char *desc;     /* for menus and help */
	int width;            /* fixed width (NAME: minimum) */
	int priority;         /* 0 is kept longest when the terminal is narrow */
	bool right;           /* right-aligned */
	bool numeric;         /* sorts descending first */
};
extern const struct cgs_top_coldef cgs_top_cols[CGS_TOP_C__COUNT];
#define CGS_TOP_COLS_ALL ((1u << CGS_TOP_C__COUNT) - 1)
#define CGS_TOP_NAME_MAX 48 /* widest the NAME column grows */

/* The column of a key ("cpu", "mem", ...), case-insensitive; -1 if none. */
int cgs_top_col_parse(const char *key);
/* Parses "name,cpu,mem" into a mask; -EINVAL naming nothing known. NAME is always kept. */
int cgs_top_cols_parse(const char *list, unsigned *mask);

/*
 * Fits the enabled columns (mask) into `width` cells: drops the columns of
 * lowest priority until the rest fit with one space between columns, then
 * gives the slack to NAME (up to `name_want`, at most CGS_TOP_NAME_MAX).
 * Fills x[col] and w[col] (w = 0 for columns not shown); returns the number
 * of columns shown.
 */
int cgs_top_fit(unsigned mask, int width, int name_want, int x[CGS_TOP_C__COUNT], int w[CGS_TOP_C__COUNT]);

struct cgs_top_totals {
	size_t total, running, shown;
	double cpu;           /* cores */
	double mem;           /* working set bytes */
	double rx, tx, ior, iow; /* bytes/s */
	double pids;
};

#define CGS_TOP_EVENTS_MAX 64
#define CGS_TOP_FILTER_MAX 128

struct cgs_top_model {
	struct cgs_top_row **rows; /* all rows, present and exited */
	size_t nrows, cap;
	bool have;                 /* a snapshot was applied */
	uint64_t generation;
	double timestamp;
	double last_pass;          /* timestamp of the last collection pass seen */
	double last_verified;      /* ... of the last one in which some values moved */
	double interval_est;       /* seconds between collection passes, 0 unknown */
	unsigned passes;           /* collection passes seen */
	/* Node facts (0 unknown): for CPU % of the node and memory bars of unlimited containers. */
	double node_cpus, node_mem;
	bool cpu_of_node;
	/* Exited containers are kept this long (seconds) and at most this many. */
	double exited_keep;
	size_t exited_max;
	/* View state. */
	enum cgs_top_col sort;
	bool reverse;
	bool running_only;
	char filter[CGS_TOP_FILTER_MAX];
	unsigned cols;
	struct cgs_top_row **vis;  /* filtered and sorted */
	size_t nvis, viscap;
	size_t cursor, top;
	uint64_t sel_id;           /* cgroup id under the cursor, 0 none */
	struct cgs_top_totals tot;
	struct cgs_top_event ev[CGS_TOP_EVENTS_MAX]; /* newest last */
	size_t nev;
};

struct cgs_top_model *cgs_top_model_new(void);
void cgs_top_model_free(struct cgs_top_model *m);

/*
 * Applies a snapshot: takes ownership of its containers (the caller still
 * frees `s`, whose moved-out strings are NULL). A snapshot of the generation
 * already applied changes nothing. Returns 1 applied, 0 same generation,
 * -ENOMEM. Re-derives the visible list.
 */
int cgs_top_model_update(struct cgs_top_model *m, struct cgs_top_snap *s);

/* Re-derives the visible rows (filter, running-only, sort) and keeps the cursor on its container. */
int cgs_top_model_refresh(struct cgs_top_model *m);
void cgs_top_model_set_sort(struct cgs_top_model *m, enum cgs_top_col col);
void cgs_top_model_set_filter(struct cgs_top_model *m, const char *filter);
/* Moves the cursor by delta rows, clamped; keeps it inside a window of `page` rows from `top`. */
void cgs_top_model_move(struct cgs_top_model *m, long delta, size_t page);
/* The row under the cursor, or NULL. */
struct cgs_top_row *cgs_top_model_selected(const struct cgs_top_model *m);
/* The row of a cgroup id, or NULL. */
struct cgs_top_row *cgs_top_model_find(const struct cgs_top_model *m, uint64_t cgroup_id);
/* Whether a row matches the filter (case-insensitive substrings, all words). */
bool cgs_top_row_matches(const struct cgs_top_row *r, const char *filter);

/* Cell text of a row in a column (no padding). CPU % follows m->cpu_of_node. */
void cgs_top_cell(const struct cgs_top_model *m, const struct cgs_top_row *r, enum cgs_top_col col, char *buf,
		  size_t len);
/* Memory use of a row as a fraction of its limit (or of the node), NAN unknown. */
double cgs_top_mem_frac(const struct cgs_top_model *m, const struct cgs_top_row *r);
/* CPU % as shown (of one core, or of the node). NAN unknown. */
double cgs_top_cpu_pct(const struct cgs_top_model *m, const struct cgs_top_row *r);

/* Human units: "1.2K", "34M", "5.6G" (1024-based); "-" for NAN. */
void cgs_top_fmt_bytes(double v, char *buf, size_t len);
/* Seconds as "12us", "3.4ms", "1.2s"; "-" for NAN. */
void cgs_top_fmt_secs(double v, char *buf, size_t len);

#endif
