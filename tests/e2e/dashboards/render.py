#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Draws each dashboard from a Prometheus the way Grafana lays it out: every
panel at its gridPos (24 columns), its queries run with query_range over
[START, END] (Grafana's $__interval and $__rate_interval for that range),
time series (stacked where the panel stacks), heatmaps from histogram
buckets (de-accumulated, like Grafana's heatmap format), stats (last value),
titles, units, legends with mean and max. Needs python3-matplotlib only.

Usage: render.py PROM_URL DASHBOARD_DIR OUT_DIR START END SELECTION_JSON EXEMPT_FILE SCRAPE_S
SCRAPE_S is the data source's scrape interval setting, which $__rate_interval is derived from.
Writes OUT_DIR/<dashboard file name without cgsight- and .json>.png. Exit 1
when a panel that is not exempt drew no data.
"""
import datetime
import json
import math
import os
import sys
import textwrap

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap, LogNorm  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

import dashlib  # noqa: E402

# Grafana's dark theme and classic palette.
BG, PANEL, BORDER, TEXT, DIM, GRID = "#111217", "#181b1f", "#2c3235", "#ccccdc", "#8e8e9c", "#24282c"
PALETTE = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0",
           "#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477"]
W_PX, ROW_PX, TOP_PX, DPI = 1800, 30, 74, 100
COL_PX = W_PX / 24


def si(v, units, base=1000.0, digits=3):
    """3 significant digits with the unit of the right magnitude."""
    if v == 0 or not math.isfinite(v):
        return "0" + (" " + units[0] if units[0] else "") if v == 0 else str(v)
    i = 0
    while abs(v) >= base and i < len(units) - 1:
        v /= base
        i += 1
    s = ("%." + str(digits) + "g") % v
    return s + (" " + units[i] if units[i] else "")


def fmt(v, unit):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if unit == "percentunit":
        return "%.3g%%" % (v * 100)
    if unit == "bytes":
        return si(v, ["B", "KiB", "MiB", "GiB", "TiB"], 1024.0)
    if unit == "Bps":
        return si(v, ["B/s", "kB/s", "MB/s", "GB/s"])
    if unit == "pps":
        return si(v, ["p/s", "kp/s", "Mp/s"])
    if unit == "s":
        a = abs(v)
        if a == 0:
            return "0 s"
        for lim, div, u in ((1e-6, 1e-9, "ns"), (1e-3, 1e-6, "µs"), (1, 1e-3, "ms"), (60, 1, "s"),
                            (3600, 60, "min"), (86400, 3600, "h")):
            if a < lim:
                return "%.3g %s" % (v / div, u)
        return "%.3g day" % (v / 86400)
    return si(v, ["", "K", "Mil", "Bil"])


class Series:
    def __init__(self, name, xs, ys):
        self.name, self.xs, self.ys = name, xs, ys

    def finite(self):
        return [y for y in self.ys if math.isfinite(y)]


def shorten(s, n):
    """At most n characters, cut in the middle: both ends of a legend say something."""
    if len(s) <= n:
        return s
    head = (n - 1) * 3 // 5
    return s[:head] + "…" + s[len(s) - (n - 1 - head):]


def grid_times(start, end, step):
    n = int((end - start) // step) + 1
    return [start + i * step for i in range(n)]


def fetch(prom, panel, sel, start, end, step, scrape):
    """[Series] over the step grid (NaN where Prometheus has no point), and errors."""
    interval = step
    rate_interval = max(interval + scrape, 4 * scrape)
    times = grid_times(start, end, step)
    idx = {round(t, 3): i for i, t in enumerate(times)}
    out, errors = [], []
    for t in panel["targets"]:
        expr = dashlib.substitute(t["expr"], sel, interval, rate_interval)
        res = prom.query_range(expr, start, times[-1], step)
        if res.get("status") != "success":
            errors.append("%s: %s" % (t["refId"], res.get("error")))
            continue
        for r in res["data"]["result"]:
            ys = [math.nan] * len(times)
            for ts, v in r["values"]:
                i = idx.get(round(float(ts), 3))
                if i is not None:
                    ys[i] = float(v)
            out.append(Series(dashlib.legend(t.get("legendFormat"), r["metric"]), times, ys))
    return out, errors


def to_dt(ts):
    return [datetime.datetime.fromtimestamp(t, datetime.timezone.utc) for t in ts]


def style_axes(ax, unit, span):
    ax.set_facecolor(PANEL)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.tick_params(colors=DIM, labelsize=8, length=0)
    ax.grid(True, color=GRID, linewidth=0.8)
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v, unit)))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7, tz=datetime.timezone.utc))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S" if span < 900 else "%H:%M",
                                                      tz=datetime.timezone.utc))
    if unit == "bytes":
        ax.yaxis.set_major_locator(BinaryLocator())


class BinaryLocator(MaxNLocator):
    """Byte axes: ticks at round KiB/MiB/GiB steps, as Grafana draws them."""

    def __init__(self):
        super().__init__(4, steps=[1, 2, 2.5, 4, 5, 8, 10])

    def tick_values(self, vmin, vmax):
        m = 1.0
        while vmax / m >= 1024:
            m *= 1024
        return [v * m for v in super().tick_values(vmin / m, vmax / m)]


def draw_timeseries(fig, box, panel, series, unit):
    x0, y0, w, h = box
    legend_w = min(0.46 * w, 440) if w > 500 else 0
    ax = fig.add_axes(px(fig, x0 + 62, y0 + 24, w - legend_w - 74, h - 52))
    series = sorted(series, key=lambda s: s.name)
    style_axes(ax, unit, series[0].xs[-1] - series[0].xs[0])
    stack = panel["fieldConfig"]["defaults"].get("custom", {}).get("stacking", {}).get("mode") == "normal"
    dts = to_dt(series[0].xs)
    lo = min(min(s.finite() or [0]) for s in series)
    if stack:
        ys = [[y if math.isfinite(y) else 0 for y in s.ys] for s in series]
        ax.stackplot(dts, ys, colors=[PALETTE[i % len(PALETTE)] for i in range(len(series))], alpha=0.35,
                     linewidth=0)
        acc = [0] * len(dts)
        for i, s in enumerate(ys):
            acc = [a + b for a, b in zip(acc, s)]
            ax.plot(dts, acc, color=PALETTE[i % len(PALETTE)], linewidth=1.2)
    else:
        for i, s in enumerate(series):
            c = PALETTE[i % len(PALETTE)]
            ax.plot(dts, s.ys, color=c, linewidth=1.2)
            ax.fill_between(dts, s.ys, 0, color=c, alpha=0.10, linewidth=0)
    if lo >= 0:
        ax.set_ylim(bottom=0)
    ax.set_xlim(dts[0], dts[-1])
    if legend_w:
        draw_legend(fig, (x0 + w - legend_w, y0 + 24, legend_w - 8, h - 30), series, unit)


def draw_legend(fig, box, series, unit):
    x0, y0, w, h = box
    ax = fig.add_axes(px(fig, x0, y0, w, h))
    ax.axis("off")
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    line = 14
    rows = max(1, int((h - line) // line))
    name_chars = int((w - 160) / 6.0)
    ax.text(w - 70, 0, "Mean", color=DIM, fontsize=7.5, ha="right", va="top", fontweight="bold")
    ax.text(w - 5, 0, "Max", color=DIM, fontsize=7.5, ha="right", va="top", fontweight="bold")
    shown = series if len(series) <= rows else series[:rows - 1]
    for i, s in enumerate(shown):
        y = line * (i + 1)
        vals = s.finite()
        ax.add_patch(plt.Rectangle((0, y + 4), 10, 3, color=PALETTE[i % len(PALETTE)]))
        name = shorten(s.name, name_chars)
        ax.text(14, y, name, color=TEXT, fontsize=7.5, va="top")
        ax.text(w - 70, y, fmt(sum(vals) / len(vals), unit) if vals else "-", color=TEXT, fontsize=7.5,
                ha="right", va="top")
        ax.text(w - 5, y, fmt(max(vals), unit) if vals else "-", color=TEXT, fontsize=7.5, ha="right", va="top")
    if len(shown) < len(series):
        ax.text(14, line * (len(shown) + 1), "+ %d more" % (len(series) - len(shown)), color=DIM, fontsize=7.5,
                va="top")


def le_value(s):
    return math.inf if s.name in ("+Inf", "Inf") else float(s.name)


def draw_heatmap(fig, box, panel, series):
    x0, y0, w, h = box
    yunit = panel.get("options", {}).get("yAxis", {}).get("unit", "short")
    series = sorted(series, key=le_value)
    n, t = len(series), len(series[0].xs)
    # Cumulative buckets -> per-bucket rates; then only the rows from the first to the last non-empty bucket.
    cells = []
    for i in range(n):
        prev = series[i - 1].ys if i else [0.0] * t
        cells.append([max(0.0, a - b) if math.isfinite(a) and math.isfinite(b) else math.nan
                      for a, b in zip(series[i].ys, prev)])
    used = [i for i in range(n) if any(v > 0 for v in cells[i] if math.isfinite(v))]
    if not used:
        return False
    lo, hi = used[0], used[-1]
    rows = cells[lo:hi + 1]
    labels = [fmt(le_value(s), yunit) if math.isfinite(le_value(s)) else "+Inf" for s in series[lo:hi + 1]]
    ax = fig.add_axes(px(fig, x0 + 62, y0 + 24, w - 74 - 70, h - 52))
    style_axes(ax, "short", series[0].xs[-1] - series[0].xs[0])
    ax.grid(False)
    z = np.ma.masked_invalid(np.array(rows, dtype=float))
    z = np.ma.masked_less_equal(z, 0)
    dts = mdates.date2num(to_dt(series[0].xs))
    step = dts[1] - dts[0] if len(dts) > 1 else 1.0 / 86400
    xe = np.append(dts - step / 2, dts[-1] + step / 2)
    ye = np.arange(len(rows) + 1)
    # Grafana's dark theme runs a scheme from dark (few) to bright (many).
    base = plt.get_cmap(panel.get("options", {}).get("color", {}).get("scheme", "Oranges") + "_r")
    cmap = ListedColormap(base(np.linspace(0.05, 0.7, 256)))
    vmax = float(z.max()) if z.count() else 1.0
    vmin = max(float(z.min()) if z.count() else 1e-3, vmax / 1e4)
    mesh = ax.pcolormesh(xe, ye, z, cmap=cmap, norm=LogNorm(vmin=vmin, vmax=vmax), edgecolors="none")
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(0, len(rows))
    every = max(1, math.ceil(len(rows) / 8))
    ax.set_yticks([i + 0.5 for i in range(0, len(rows), every)])
    ax.set_yticklabels(["≤ " + labels[i] for i in range(0, len(rows), every)])
    cax = fig.add_axes(px(fig, x0 + w - 62, y0 + 30, 10, h - 64))
    cb = fig.colorbar(mesh, cax=cax)
    cb.outline.set_visible(False)
    cb.ax.tick_params(colors=DIM, labelsize=7, length=0)
    cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: si(v, ["/s", "K/s", "M/s"])))
    return True


def draw_stat(fig, box, panel, series, unit):
    x0, y0, w, h = box
    ax = fig.add_axes(px(fig, x0 + 6, y0 + 26, w - 12, h - 32))
    ax.axis("off")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    series = sorted(series, key=lambda s: s.name)[:6]
    n = len(series)
    for i, s in enumerate(series):
        vals = s.finite()
        v = fmt(vals[-1], unit) if vals else "-"
        cx = (i + 0.5) / n
        size = 34 if n == 1 else max(14, 30 - 4 * n)
        ax.text(cx, 0.5, v, color="#73BF69", fontsize=size, fontweight="bold", ha="center", va="center")
        if n > 1 or s.name:
            name = shorten(s.name, int(w / n / 6.5))
            ax.text(cx, 0.12, name, color=DIM, fontsize=7.5, ha="center", va="center")


def px(fig, x, y, w, h):
    """Axes rectangle from pixels measured from the top left."""
    W, H = fig.get_size_inches() * DPI
    return [x / W, 1 - (y + h) / H, max(w, 1) / W, max(h, 1) / H]


def no_data(fig, box, why, failed):
    x0, y0, w, h = box
    ax = fig.add_axes(px(fig, x0 + 10, y0 + 26, w - 20, h - 32))
    ax.axis("off")
    ax.text(0.5, 0.6, "No data", color="#E24D42" if failed else DIM, fontsize=13, ha="center", va="center",
            transform=ax.transAxes)
    if why:
        ax.text(0.5, 0.35, "\n".join(textwrap.wrap(why, int(w / 6.5))), color=DIM, fontsize=7.5, ha="center",
                va="center", transform=ax.transAxes)


def render(prom, name, d, out, start, end, sel, exempt, scrape):
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in d["panels"])
    H = TOP_PX + rows * ROW_PX + 10
    fig = plt.figure(figsize=(W_PX / DPI, H / DPI), dpi=DPI, facecolor=BG)
    step = max(1, round((end - start) / 300))
    selection = "   ".join("%s: %s" % (v, ", ".join(sel.get(v) or ["All"])) for v in dashlib.CONTAINER_VARS)
    span = "%s – %s UTC" % (datetime.datetime.fromtimestamp(start, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
                            datetime.datetime.fromtimestamp(end, datetime.timezone.utc).strftime("%H:%M:%S"))
    fig.text(12 / W_PX, 1 - 26 / H, d["title"], color=TEXT, fontsize=15, fontweight="bold", va="center")
    fig.text(12 / W_PX, 1 - 52 / H, "%s    %s    (%d s steps, $__rate_interval %d s)" %
             (selection, span, step, max(step + scrape, 4 * scrape)), color=DIM, fontsize=9, va="center")
    empty = []
    for p in d["panels"]:
        g = p["gridPos"]
        x0, y0 = g["x"] * COL_PX + 4, TOP_PX + g["y"] * ROW_PX + 4
        w, h = g["w"] * COL_PX - 8, g["h"] * ROW_PX - 8
        if p["type"] == "row":
            fig.text(x0 / W_PX, 1 - (y0 + h / 2) / H, p["title"], color=TEXT, fontsize=11, fontweight="bold",
                     va="center")
            continue
        frame = fig.add_axes(px(fig, x0, y0, w, h))
        frame.set_xticks([])
        frame.set_yticks([])
        frame.set_facecolor(PANEL)
        for s in frame.spines.values():
            s.set_color(BORDER)
        frame.text(8 / w, 1 - 12 / h, p["title"], color=TEXT, fontsize=9.5, fontweight="bold", va="center",
                   transform=frame.transAxes)
        unit = p["fieldConfig"]["defaults"].get("unit", "short")
        series, errors = fetch(prom, p, sel, start, end, step, scrape)
        series = [s for s in series if s.finite()]
        box = (x0, y0, w, h)
        drawn = bool(series)
        if series and p["type"] == "heatmap":
            drawn = draw_heatmap(fig, box, p, series)
        elif series and p["type"] == "stat":
            draw_stat(fig, box, p, series, unit)
        elif series:
            draw_timeseries(fig, box, p, series, unit)
        if not drawn:
            why = dashlib.exempt_reason(exempt, p["title"], "A")
            if errors:
                why = "; ".join(errors)
            no_data(fig, box, why, not dashlib.exempt_reason(exempt, p["title"], "A"))
            if errors or not dashlib.exempt_reason(exempt, p["title"], "A"):
                empty.append("%s: %s%s" % (name, p["title"], " (%s)" % why if why else ""))
    base = name[len("cgsight-"):] if name.startswith("cgsight-") else name
    path = os.path.join(out, base[:-len(".json")] + ".png")
    fig.savefig(path, facecolor=BG, metadata={"Software": None})
    plt.close(fig)
    print("wrote", path)
    return empty


def main():
    prom_url, dashdir, out, start, end, selfile, exf, scrape = sys.argv[1:9]
    prom = dashlib.Prometheus(prom_url)
    with open(selfile) as f:
        sel = json.load(f)["select"]
    exempt = dashlib.load_exempt(exf)
    os.makedirs(out, exist_ok=True)
    empty = []
    for name, d in dashlib.dashboards(dashdir):
        empty += render(prom, name, d, out, float(start), float(end), sel, exempt, float(scrape))
    for e in empty:
        print("EMPTY", e)
    sys.exit(1 if empty else 0)


if __name__ == "__main__":
    main()
