"""The generic figure of a sweep: every headline metric of the study's summary against the swept
parameter, drawn for any study from its ``summary.csv`` rows alone.

One figure per metric, ``sweep_METRIC``: the x axis is the first swept key (a logarithmic axis
for positive numbers spanning more than a decade, categories for text), one line per rule with
its mean over seeds and the 95% Student-t interval as a band, clipped to the metric's range
(:func:`brainlearn.results.metric_range`: accuracies to [0, 1]); every panel shares one y
axis (one metric). There is one panel per
combination of the other swept keys' values (columns) and per combination of the summary's
other group columns that vary among the metric's rows (rows, e.g. the retention study's
scenario; a column with one value per point, which follows the swept values, does not split
panels), at most :data:`MAX_PANELS` panels in each direction (the rest are left out and the
title says so).
"""

from __future__ import annotations

import math
import os
from urllib.parse import quote

from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from ..plotting import band, rule_color, rule_linestyle, save_figure
from ..results import metric_label, metric_range
from ._sweep import value_text

__all__ = ["draw_sweep", "MAX_PANELS"]

#: panels drawn at most per row and per column of a sweep figure
MAX_PANELS = 6
_STATS = ("mean", "std", "ci95", "ci_low", "ci_high", "n", "n_nan")


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _key(value) -> str:
    return "" if value is None else value_text(value)


def _axis(values):
    """``(positions, tick labels or None, log)`` of the x values (in order of first appearance)."""
    numbers = [_number(v) for v in values]
    if values and all(n is not None and math.isfinite(n) for n in numbers):
        positive = all(n > 0 for n in numbers)
        log = positive and max(numbers) / min(numbers) > 10
        return numbers, None, log
    return list(range(len(values))), [_key(v) for v in values], False


def _fmt(values, keys, names=None) -> str:
    """``key=value, ...``; ``names`` (``{key: {value text: name}}``) adds a value's meaning."""
    names = names or {}
    out = []
    for k, v in zip(keys, values):
        name = names.get(k, {}).get(_key(v))
        out.append(f"{k}={_key(v)}" + (f" ({name})" if name else ""))
    return ", ".join(out)


def draw_sweep(summary, grid, figdir, metrics=None, study=None, names=None) -> tuple:
    """Draw ``sweep_METRIC`` for every metric of ``summary`` (rows of ``summary.csv`` led by
    the swept columns of ``grid``) into ``figdir``; return ``(paths, captions)``. ``study``
    (its name) picks the metrics' units and ranges where the study uses a name of its own;
    ``names`` (``{key: {value text: meaning}}``, a study's ``value_names``) labels values
    whose number has a meaning (``labels_per_class=0 (all)``)."""
    if not grid or not summary:
        return [], {}
    columns, keys = list(grid.columns), list(grid.keys)
    x_column, x_key = columns[0], keys[0]
    other_columns, other_keys = columns[1:], keys[1:]
    candidates = [c for c in summary[0] if c not in _STATS and c not in columns
                  and c not in ("rule", "metric")]
    x_values = list(grid.values[0])
    x_cells = [grid.cells({**grid.points[0], x_key: v})[x_column] for v in x_values]
    xs, ticks, log = _axis(x_cells)
    position = {_key(c): x for c, x in zip(x_cells, xs)}
    wanted = list(dict.fromkeys(r["metric"] for r in summary)) if metrics is None else metrics

    paths, captions = [], {}
    for metric in wanted:
        rows = [r for r in summary if r["metric"] == metric]
        if not rows:
            continue
        group_columns = _panel_columns(rows, candidates, columns)
        col_keys = list(dict.fromkeys(tuple(_key(r.get(c)) for c in other_columns) for r in rows))
        row_keys = list(dict.fromkeys(tuple(_key(r.get(c)) for c in group_columns) for r in rows))
        left_out = max(0, len(col_keys) - MAX_PANELS) + max(0, len(row_keys) - MAX_PANELS)
        col_keys, row_keys = col_keys[:MAX_PANELS], row_keys[:MAX_PANELS]
        n_rows, n_cols = len(row_keys), len(col_keys)
        fig = Figure(figsize=(0.6 + 3.4 * n_cols, 0.8 + 2.7 * n_rows), layout="constrained")
        axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=True, sharey=True)
        lo, hi = metric_range(metric, study)
        handles = {}
        for i, rk in enumerate(row_keys):
            for j, ck in enumerate(col_keys):
                ax = axes[i][j]
                panel = [r for r in rows
                         if tuple(_key(r.get(c)) for c in other_columns) == ck
                         and tuple(_key(r.get(c)) for c in group_columns) == rk]
                for rule in dict.fromkeys(r["rule"] for r in panel):
                    pts = sorted((position[_key(r.get(x_column))], r) for r in panel
                                 if r["rule"] == rule and _key(r.get(x_column)) in position)
                    if not pts:
                        continue
                    x = [p for p, _ in pts]
                    mean = [_float(r.get("mean")) for _, r in pts]
                    half = [_float(r.get("ci95"), 0.0) for _, r in pts]
                    color = rule_color(rule)
                    handles[rule], = ax.plot(x, mean, marker="o", ms=4, color=color, label=rule,
                                             linestyle=rule_linestyle(rule))
                    band(ax, x, mean, half, color, lo, hi)
                if log:  # ticks at the swept values, not at powers of ten
                    ax.set_xscale("log")
                    ax.set_xticks(xs, [_key(c) for c in x_cells])
                    ax.xaxis.set_minor_locator(NullLocator())
                if ticks is not None:
                    ax.set_xticks(xs)
                    ax.set_xticklabels(ticks)
                title = " · ".join(t for t in (_fmt(ck, other_keys, names),
                                               _fmt(rk, group_columns, names)) if t)
                if title:
                    ax.set_title(title, fontsize=9)
                if i == n_rows - 1:
                    ax.set_xlabel(x_key if x_column == x_key
                                  else f"{x_key} (swept; column {x_column})")
                if j == 0:
                    ax.set_ylabel(metric_label(metric, study))
        if handles:
            axes[0][-1].legend(handles.values(), handles.keys(), fontsize=8, loc="best")
        clipped = "clipped to the metric's range" if (lo, hi) != (None, None) else ""
        head = f"{metric} against {x_key} (mean and 95% CI over seeds{', ' if clipped else ''}" \
            f"{clipped})"
        if left_out:
            head += f"; {left_out} more panel groups left out"
        fig.suptitle(head, fontsize=10)
        name = f"sweep_{quote(metric, safe='')}"
        paths += save_figure(fig, os.path.join(figdir, name))
        panels = list(other_keys) + list(group_columns)
        captions[name] = (f"{metric_label(metric, study)} at the end of each run against the "
                          f"swept {x_key} (mean over seeds with 95% Student-t confidence bands"
                          + (f", {clipped}" if clipped else "") + "), one line per rule"
                          + (f"; a panel per value of {' and '.join(panels)}" if panels else "")
                          + ".")
    return paths, captions


def _panel_columns(rows, candidates, point_columns) -> list:
    """The summary's group columns that split a metric's rows into panels: those that vary
    among the rows, except those that follow the point (one value per point, e.g. the memory
    study's ``n_neurons`` when ``n_neurons`` is swept): they are the x axis already."""
    out = []
    for c in candidates:
        if len({_key(r.get(c)) for r in rows}) < 2:
            continue
        per_point = {}
        for r in rows:
            per_point.setdefault(tuple(_key(r.get(p)) for p in point_columns), set()).add(
                _key(r.get(c)))
        if all(len(v) == 1 for v in per_point.values()):
            continue
        out.append(c)
    return out


def _float(value, default=math.nan) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(out) and not math.isnan(default) else out
