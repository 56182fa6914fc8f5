"""Figures of the memory study, drawn from its metric rows alone (as read from metrics.csv).

``draw_all`` writes, for the parts present in the rows:

* ``capacity``: three panels against the load ``alpha = P/N`` -- the mean overlap after recall
  (with the zero-temperature retrieval overlap of Amit, Gutfreund & Sompolinsky dashed), the
  fraction of patterns recalled, and the one-step flip fraction (log scale, with
  ``Q(1/sqrt(alpha))``); mean over seeds with 95% Student-t bands, ``alpha_c = 0.138`` dotted;
* ``palimpsest_age``: the probability of recall (overlap >= 0.95) against the pattern's age, a
  panel per network size N, a line per rule;
* ``lifetime``: the lifetime against N (log axis; growth like ``ln N`` is a straight line on a
  linear lifetime axis, here symlog: linear below 1, logarithmic above, so that 0 shows),
  mean with its 95% CI per rule, and the least-squares line ``a + b ln N`` of the stochastic
  binary synapses (Amit & Fusi 1994) when present; open triangles mark censored lifetimes
  (the whole stream recalled).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..memory import ALPHA_C, ags_overlap, theory_flip_fraction
from ..plotting import band, mean_ci, rule_color, save_figure, style
from ..results import metric_range
from ._findings import fit_label

__all__ = ["draw_all", "capacity_figure", "palimpsest_age_figure", "lifetime_figure", "fit_label"]

_DASHES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _num(value):
    """A cell as a number (rows straight from a study carry numbers, rows from CSV may not)."""
    if value is None or value == "":
        return None
    return float(value)


def _rules(rows):
    """Rules in order of first appearance."""
    return list(dict.fromkeys(r["rule"] for r in rows))


def _styles(rules):
    """A (colour, dash, marker) per rule: rules sharing a colour get different dashes, and every
    other rule is dashed with its own marker, so that curves lying on each other stay visible."""
    used, out = {}, {}
    for k, rule in enumerate(rules):
        color = rule_color(rule)
        dash = _DASHES[(used.get(color, 0) + k % 2) % len(_DASHES)]
        out[rule] = (color, dash, _MARKERS[k % len(_MARKERS)])
        used[color] = used.get(color, 0) + 1
    return out


def _series(rows, task, metric, xcol):
    """``{rule: (x, values (n_seeds, n_x))}`` of one metric against column ``xcol``, NaN where
    a seed lacks a point."""
    data = {}
    for r in rows:
        if r["task"] != task or r["metric"] != metric:
            continue
        x = _num(r.get(xcol))
        if x is None:
            continue
        data.setdefault(r["rule"], {}).setdefault(int(r["seed"]), {})[x] = float(r["value"])
    out = {}
    for rule, seeds in data.items():
        xs = sorted({x for pts in seeds.values() for x in pts})
        grid = np.array([[pts.get(x, np.nan) for x in xs] for pts in seeds.values()])
        out[rule] = (np.array(xs), grid)
    return out


def _band(ax, x, grid, look, label, metric):
    """Mean over seeds (rows of ``grid``) with its 95% band, clipped to the range of ``metric``;
    points missing in a seed skipped."""
    color, dash, marker = look
    ok = np.isfinite(grid).all(axis=0)
    if not ok.any():
        return
    mean, half = mean_ci(grid[:, ok])
    ax.plot(x[ok], mean, color=color, linestyle=dash, marker=marker, markersize=3.5,
            label=label)
    band(ax, x[ok], mean, half, color, *metric_range(metric))


def capacity_figure(rows, path):
    """Overlap, recalled fraction and one-step flip fraction against the load, theory drawn in."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    panels = [("overlap", "mean overlap after recall"),
              ("recalled_fraction", "fraction recalled (overlap >= 0.95)"),
              ("one_step_flip_fraction", "one-step flip fraction")]
    series = {m: _series(rows, "capacity", m, "load") for m, _ in panels}
    rules = [r for r in _rules(rows) if any(r in s for s in series.values())]
    if not rules:
        return []
    sizes = sorted({int(_num(r["n_neurons"])) for r in rows if r["task"] == "capacity"})
    loads = [x for s in series.values() for _, (x, _) in s.items()]
    a_max = max(float(np.max(x)) for x in loads)
    grid = np.linspace(1e-3, max(a_max, ALPHA_C * 1.1), 400)
    looks = _styles(rules)
    fig = Figure(figsize=(13.0, 4.0), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (metric, ylabel) in zip(axes, panels):
        for rule in rules:
            if rule in series[metric]:
                x, values = series[metric][rule]
                _band(ax, x, values, looks[rule], f"{rule} (n={values.shape[0]})", metric)
        ax.axvline(ALPHA_C, color="0.4", linestyle=":", linewidth=1.0)
        ax.set_xlabel("load alpha = P / N")
        ax.set_ylabel(ylabel)
    m = ags_overlap(grid)
    axes[0].plot(grid, m, color="0.1", linestyle="--", linewidth=1.2, zorder=5,
                 label="theory, Hebb: retrieval overlap (AGS, T = 0)")
    axes[0].set_ylim(-0.05, 1.05)
    axes[1].set_ylim(-0.05, 1.05)
    axes[2].plot(grid, theory_flip_fraction(grid), color="0.1", linestyle="-.", linewidth=1.2,
                 zorder=5, label="theory, Hebb: Q(1/sqrt(alpha))")
    # zero flips (rules that store every pattern exactly) stay visible on a symlog axis
    axes[2].set_yscale("symlog", linthresh=1e-3, linscale=0.5)
    axes[2].set_ylim(0.0, 1.0)
    handles, labels = axes[0].get_legend_handles_labels()
    h2, l2 = axes[2].get_legend_handles_labels()
    handles.append(h2[-1])
    labels.append(l2[-1])
    handles.append(Line2D([], [], color="0.4", linestyle=":", linewidth=1.0))
    labels.append(f"alpha_c = {ALPHA_C} (Hebb)")
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)),
               fontsize=8)
    size = ", ".join(f"N = {n}" for n in sizes)
    fig.suptitle(f"Capacity: recall from noisy cues against the load ({size}; mean over seeds, "
                 "95% CI clipped to the metric's range)")
    return save_figure(fig, path)


def palimpsest_age_figure(rows, path, metric="recalled_fraction"):
    """Recall against the pattern's age, a panel per network size, a line per rule."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter
    pts = [r for r in rows if r["task"] == "palimpsest" and r["metric"] == metric]
    if not pts:
        return []
    sizes = sorted({int(_num(r["n_neurons"])) for r in pts})
    rules = _rules(pts)
    looks = _styles(rules)
    n_cols = min(3, len(sizes))
    n_rows = math.ceil(len(sizes) / n_cols)
    fig = Figure(figsize=(4.2 * n_cols, 3.1 * n_rows + 0.9), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharey=True)
    for k, ax in enumerate(axes.flat):
        if k >= len(sizes):
            ax.set_visible(False)
            continue
        n = sizes[k]
        mine = [r for r in pts if int(_num(r["n_neurons"])) == n]
        series = _series(mine, "palimpsest", metric, "age")
        for rule in rules:
            if rule in series:
                x, values = series[rule]
                color, dash, _ = looks[rule]
                ok = np.isfinite(values).all(axis=0)
                # one pattern per age and seed: the mean over seeds is the recall probability
                # (no band: a binomial with a few seeds has no useful t interval)
                ax.plot(x[ok], values[:, ok].mean(axis=0), color=color, linestyle=dash,
                        label=f"{rule} (n={values.shape[0]})")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_title(f"N = {n}")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("age (patterns stored since, 1 = newest; log scale)")
        if k % n_cols == 0:
            ax.set_ylabel("probability of recall" if metric == "recalled_fraction"
                          else "mean overlap after recall")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(6, len(labels)),
               fontsize=8)
    fig.suptitle("Palimpsest: recall of patterns stored online against their age "
                 "(mean over seeds)")
    return save_figure(fig, path)


def lifetime_figure(rows, path):
    """Lifetime against N per rule (log N axis), with the ``a + b ln N`` fit of binary
    synapses."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter
    series = _series(rows, "palimpsest", "lifetime", "n_neurons")
    rules = [r for r in _rules(rows) if r in series]
    if not rules:
        return []
    looks = _styles(rules)
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.subplots()
    for rule in rules:
        x, values = series[rule]
        color = looks[rule][0]
        _band(ax, x, values, looks[rule], f"{rule} (n={values.shape[0]})", "lifetime")
        if rule == "stochastic_binary" and len(x) >= 2:
            ok = np.isfinite(values).all(axis=0)
            if ok.sum() >= 2:
                b, a = np.polyfit(np.log(x[ok]), values[:, ok].mean(axis=0), 1)
                fine = np.geomspace(x[ok].min(), x[ok].max(), 50)
                ax.plot(fine, a + b * np.log(fine), color=color, linestyle=":", linewidth=1.2,
                        label=f"{rule}: {fit_label(a, b)}")
    # a lifetime equal to the stream length (the row's step) is censored: the whole stream
    # was recalled, and the true lifetime may be longer
    censored = {}
    for r in rows:
        if r["task"] == "palimpsest" and r["metric"] == "lifetime" and \
                float(r["value"]) >= int(r["step"]):
            censored.setdefault(r["rule"], set()).add(_num(r["n_neurons"]))
    label = "censored: whole stream recalled"
    for rule in rules:
        x, values = series[rule]
        hit = np.array([v in censored.get(rule, ()) for v in x])
        if hit.any():
            ax.plot(x[hit], np.nanmean(values[:, hit], axis=0), linestyle="none", marker="^",
                    markersize=9, markerfacecolor="none", markeredgecolor="0.2", label=label)
            label = None
    ax.set_xscale("log")
    xs = sorted({float(v) for _, (x, _) in series.items() for v in x})
    ax.set_xticks(xs, [str(int(v)) for v in xs])
    ax.minorticks_off()
    ax.set_xlabel("network size N (log scale)")
    ax.set_ylabel("lifetime (stream patterns recalled)")
    # lifetimes span 0 (blackout) to about 0.04 N (clipped Hebb): log above 1, linear below
    ax.set_yscale("symlog", linthresh=1.0, linscale=0.6)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("Memory lifetime against network size (mean over seeds, 95% CI clipped at 0)")
    return save_figure(fig, path)


def draw_all(rows, figdir) -> list:
    """Every figure of the study into ``figdir``; returns the file paths (PNG and SVG)."""
    import matplotlib
    os.makedirs(figdir, exist_ok=True)
    paths = []
    with matplotlib.rc_context(style()):
        paths += capacity_figure(rows, os.path.join(figdir, "capacity"))
        paths += palimpsest_age_figure(rows, os.path.join(figdir, "palimpsest_age"))
        paths += lifetime_figure(rows, os.path.join(figdir, "lifetime"))
    return [os.fspath(p) for p in paths]
