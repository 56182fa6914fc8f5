"""Figures of the retention study, drawn from its metric rows alone (as read from metrics.csv).

``draw_all`` writes, for the scenarios present in the rows:

* ``accuracy_matrix_SCENARIO``: the accuracy matrix ``R[i, j]`` of every rule (mean over seeds)
  as a grid of small heatmaps on one colour scale;
* ``retention``: the accuracy on task 1 against samples seen (mean and 95% Student-t band over
  seeds), a row per scenario and a column per role, task boundaries dotted;
* ``bwt`` and ``average_accuracy``: backward transfer and average accuracy per rule (seeds as
  dots, mean with its 95% confidence interval), a panel per scenario;
* ``feature_retention`` (the ``features`` scenario): per rule, the readout accuracy on task A
  after A, after B with the readout frozen and after B with it refitted (mean, 95% CI), and the
  relative weight change of the layer during A and from the end of A to the end of B.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..plotting import band, clipped_interval, mean_ci, rule_color, save_figure, style
from ..results import metric_range

__all__ = ["draw_all", "accuracy_matrices", "retention_curves", "interval_plot",
           "feature_retention"]

SCENARIO_TITLES = {
    "task_incremental": "Split digits, task-incremental",
    "class_incremental": "Split digits, class-incremental",
    "permuted": "Permuted digits (domain-incremental)",
}
_SCENARIO_ORDER = tuple(SCENARIO_TITLES)
_ROLE_TITLES = {
    "end_to_end": "Gradient rules, end to end",
    "consolidation": "Backprop + consolidation",
    "hidden": "Local rules: hidden layer + shared readout",
    "single_layer": "Supervised local rules, one layer",
}
_ROLE_ORDER = tuple(_ROLE_TITLES)
_DASHES = ("-", "--", ":", "-.")


def _scenarios(rows):
    present = {r["scenario"] for r in rows if r.get("scenario")}
    return [s for s in _SCENARIO_ORDER if s in present] + sorted(present - set(_SCENARIO_ORDER))


def _rules(rows):
    """Rules in order of first appearance."""
    return list(dict.fromkeys(r["rule"] for r in rows))


def _roles(rows):
    return {r["rule"]: r.get("role") or "hidden" for r in rows}


def _ordered_rules(rows):
    """Rules grouped by role (in the order of the roles), then by first appearance."""
    roles = _roles(rows)
    rank = {role: k for k, role in enumerate(_ROLE_ORDER)}
    return sorted(_rules(rows), key=lambda r: rank.get(roles[r], len(rank)))


def _matrices(rows, scenario):
    """``{rule: {seed: R}}`` of one scenario (T x T arrays, NaN where a cell is missing)."""
    cells = {}
    for r in rows:
        if r["metric"] != "accuracy" or r.get("scenario") != scenario:
            continue
        cells.setdefault(r["rule"], {}).setdefault(int(r["seed"]), {})[
            (int(r["task"]), int(r["eval_task"]))] = float(r["value"])
    out = {}
    for rule, seeds in cells.items():
        T = max(max(i, j) for cs in seeds.values() for i, j in cs)
        out[rule] = {}
        for seed, cs in seeds.items():
            R = np.full((T, T), np.nan)
            for (i, j), v in cs.items():
                R[i - 1, j - 1] = v
            out[rule][seed] = R
    return out


def accuracy_matrices(rows, scenario, path):
    """A grid of heatmaps of ``R[i, j]`` (mean over seeds), one per rule, shared colour scale."""
    from matplotlib.figure import Figure
    mats = _matrices(rows, scenario)
    rules = [r for r in _ordered_rules(rows) if r in mats]
    if not rules:
        return []
    n_cols = min(4, len(rules))
    n_rows = math.ceil(len(rules) / n_cols)
    fig = Figure(figsize=(2.3 * n_cols + 0.9, 2.35 * n_rows + 0.6), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    image = None
    for k, ax in enumerate(axes.flat):
        if k >= len(rules):
            ax.set_visible(False)
            continue
        rule = rules[k]
        stack = np.array(list(mats[rule].values()))
        with np.errstate(invalid="ignore"):
            R = np.nanmean(stack, axis=0) if np.isfinite(stack).any() else stack[0]
        T = R.shape[0]
        image = ax.imshow(R, vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
        ax.grid(False)
        if T <= 8:
            for i in range(T):
                for j in range(T):
                    if np.isfinite(R[i, j]):
                        ax.text(j, i, f"{R[i, j]:.2f}", ha="center", va="center", fontsize=6,
                                color="black" if R[i, j] > 0.6 else "white")
        ticks = np.arange(T)
        ax.set_xticks(ticks, [str(t + 1) for t in ticks], fontsize=7)
        ax.set_yticks(ticks, [str(t + 1) for t in ticks], fontsize=7)
        ax.set_title(f"{rule} (n={len(mats[rule])})", fontsize=9, color=rule_color(rule))
        if k % n_cols == 0:
            ax.set_ylabel("trained through task i", fontsize=8)
        if k >= len(rules) - n_cols:
            ax.set_xlabel("tested on task j", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.8, label="accuracy R[i, j] (fraction correct)")
    fig.suptitle(f"{SCENARIO_TITLES.get(scenario, scenario)}: accuracy matrix (mean over seeds)")
    return save_figure(fig, path)


def _curves(rows, scenario):
    """``{rule: (steps, values (n_seeds, n_points))}`` of the task-1 retention curves."""
    series = {}
    for r in rows:
        if r["metric"] == "retention" and r.get("scenario") == scenario:
            series.setdefault(r["rule"], {}).setdefault(int(r["seed"]), {})[int(r["step"])] = \
                float(r["value"])
    out = {}
    for rule, seeds in series.items():
        steps = sorted({s for pts in seeds.values() for s in pts})
        grid = np.array([[pts.get(s, np.nan) for s in steps] for pts in seeds.values()])
        out[rule] = (np.array(steps), grid)
    return out


def _boundaries(rows, scenario):
    """Samples seen at the end of each task (but the last) of a scenario."""
    ends = sorted({int(r["step"]) for r in rows
                   if r["metric"] == "accuracy" and r.get("scenario") == scenario})
    return ends[:-1]


def retention_curves(rows, path):
    """Accuracy on task 1 against samples seen: a row per scenario, a column per role."""
    from matplotlib.figure import Figure
    scenarios = _scenarios(rows)
    roles = _roles(rows)
    panels = [role for role in _ROLE_ORDER if role in roles.values()]
    panels += sorted(set(roles.values()) - set(panels))
    if not scenarios or not panels:
        return []
    fig = Figure(figsize=(3.9 * len(panels), 2.9 * len(scenarios) + 1.0), layout="constrained")
    axes = fig.subplots(len(scenarios), len(panels), squeeze=False, sharey=True)
    for si, scenario in enumerate(scenarios):
        curves = _curves(rows, scenario)
        for pi, role in enumerate(panels):
            ax = axes[si, pi]
            members = [r for r in _rules(rows) if roles[r] == role and r in curves]
            if role in ("consolidation", "hidden") and members and "backprop" in curves:
                # the reference: the gradient the terms are added to, or that local rules
                # replace in the hidden layer
                members = ["backprop"] + members
            used = {}
            for rule in members:
                steps, grid = curves[rule]
                color = rule_color(rule)
                dash = _DASHES[used.get(color, 0) % len(_DASHES)]
                used[color] = used.get(color, 0) + 1
                ok = np.isfinite(grid).all(axis=0)
                mean, half = mean_ci(grid[:, ok])
                ax.plot(steps[ok], mean, color=color, linestyle=dash,
                        label=f"{rule} (n={grid.shape[0]})")
                band(ax, steps[ok], mean, half, color, *metric_range("retention"))
            for b in _boundaries(rows, scenario):
                ax.axvline(b, color="0.6", linestyle=":", linewidth=0.9)
            ax.set_ylim(-0.02, 1.02)
            if si == 0:
                ax.set_title(_ROLE_TITLES.get(role, role))
            if pi == 0:
                ax.set_ylabel(f"{SCENARIO_TITLES.get(scenario, scenario)}\n"
                              "accuracy on task 1", fontsize=9)
            if si == len(scenarios) - 1:
                ax.set_xlabel("training presentations seen (samples)")
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2,
                              fontsize=8)
    fig.suptitle("Retention of task 1 while later tasks are learned (mean, 95% CI clipped to "
                 "[0, 1]; dotted: task boundaries)")
    return save_figure(fig, path)


def interval_plot(rows, metric, xlabel, path, zero_line=False, xlim=None):
    """One value per run (``metric``) per rule: seeds as dots, mean with its 95% CI (clipped to
    the metric's range), a panel per scenario on one shared value axis."""
    from matplotlib.figure import Figure
    scenarios = _scenarios(rows)
    values = {}
    for r in rows:
        if r["metric"] == metric:
            values.setdefault(r.get("scenario"), {}).setdefault(r["rule"], {})[int(r["seed"])] = \
                float(r["value"])
    scenarios = [s for s in scenarios if s in values]
    if not scenarios:
        return []
    order = [r for r in _ordered_rules(rows) if any(r in values[s] for s in scenarios)][::-1]
    fig = Figure(figsize=(3.4 * len(scenarios) + 1.6, 0.36 * len(order) + 1.5),
                 layout="constrained")
    # one metric in every panel: one value axis, so that panels compare at a glance
    axes = fig.subplots(1, len(scenarios), squeeze=False, sharex=True, sharey=True)[0]
    ypos = np.arange(len(order))
    for ax, scenario in zip(axes, scenarios):
        for y, rule in zip(ypos, order):
            vals = np.array(list(values[scenario].get(rule, {}).values()), dtype=float)
            vals = vals[np.isfinite(vals)]
            if not vals.size:
                continue
            color = rule_color(rule)
            ax.plot(vals, np.full(vals.size, y + 0.2), "o", color=color, alpha=0.45,
                    markersize=3.5, linestyle="none")
            mean, half = mean_ci(vals)
            low, high = clipped_interval(mean, half, *metric_range(metric))
            ax.errorbar(float(mean), y, xerr=[[float(mean - low)], [float(high - mean)]],
                        fmt="D", color=color, markersize=5.5, capsize=3)
        if zero_line:
            ax.axvline(0.0, color="0.5", linestyle="--", linewidth=1.0)
        if xlim is not None:
            ax.set_xlim(*xlim)
        ax.set_title(SCENARIO_TITLES.get(scenario, scenario), fontsize=10)
        ax.set_xlabel(xlabel)
    axes[0].set_yticks(ypos, order)
    axes[0].set_ylim(-0.6, len(order) - 0.4)
    for label, rule in zip(axes[0].get_yticklabels(), order):
        label.set_color(rule_color(rule))
    return save_figure(fig, path)


#: the ``features`` scenario's accuracies: metric, legend label, marker, filled
_FEATURE_ACCURACIES = (("feature_acc_before", "after A (readout fitted then)", "o", True),
                       ("feature_acc_frozen", "after B, that readout frozen", "s", True),
                       ("feature_acc_refit", "after B, readout refitted", "^", False))
_FEATURE_CHANGES = (("weight_change_a", "weights: initial to end of A", "o", False),
                    ("weight_drift", "weights: end of A to end of B", "D", True))
_FEATURES = "features"


def _run_values(rows, metric, scenario=_FEATURES):
    """``{rule: array of the finite per-seed values}`` of a one-value-per-run metric."""
    out = {}
    for r in rows:
        if r["metric"] == metric and r.get("scenario") == scenario:
            out.setdefault(r["rule"], {})[int(r["seed"])] = float(r["value"])
    return {rule: np.array([v for v in seeds.values() if np.isfinite(v)])
            for rule, seeds in out.items()}


def _marks(ax, order, values, spec, lo=None, hi=None, spread=0.26):
    """Seeds as small dots and mean with its 95% CI (clipped to ``[lo, hi]``), a row per rule,
    one offset per entry of ``spec`` (metric, label, marker, filled); returns legend handles
    (grey)."""
    handles = []
    offsets = np.linspace(spread, -spread, len(spec)) if len(spec) > 1 else [0.0]
    for (metric, label, marker, filled), dy in zip(spec, offsets):
        for y, rule in enumerate(order):
            vals = values[metric].get(rule)
            if vals is None or not vals.size:
                continue
            color = rule_color(rule)
            ax.plot(vals, np.full(vals.size, y + dy), ".", color=color, alpha=0.4, markersize=3,
                    linestyle="none")
            mean, half = mean_ci(vals)
            low, high = clipped_interval(mean, half, lo, hi)
            ax.errorbar(float(mean), y + dy, xerr=[[float(mean - low)], [float(high - mean)]],
                        fmt=marker, color=color, markerfacecolor=color if filled else "white",
                        markersize=5, capsize=2.5, elinewidth=1.2)
        handles.append(ax.errorbar([], [], xerr=[], fmt=marker, color="0.35",
                                   markerfacecolor="0.35" if filled else "white", markersize=5,
                                   label=label))
    return handles


def feature_retention(rows, path, chance=0.2):
    """The ``features`` scenario: per rule (a row each, grouped by role), the three readout
    accuracies on task A (left; ``chance`` dashed) and the relative weight changes of the
    layer (right); mean with its 95% confidence interval over seeds, seeds as dots."""
    from matplotlib.figure import Figure
    metrics = [m for m, *_ in _FEATURE_ACCURACIES + _FEATURE_CHANGES]
    values = {m: _run_values(rows, m) for m in metrics}
    order = [r for r in _ordered_rules(rows) if any(r in values[m] for m in metrics)][::-1]
    if not order:
        return []
    fig = Figure(figsize=(10.0, 0.5 * len(order) + 2.4), layout="constrained")
    ax_acc, ax_w = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": (1.5, 1.0)})
    for ax in (ax_acc, ax_w):
        ax.grid(axis="y", visible=False)
        for k in range(1, len(order)):
            ax.axhline(k - 0.5, color="0.88", linewidth=0.6)
    handles = _marks(ax_acc, order, values, _FEATURE_ACCURACIES, lo=0.0, hi=1.0)
    handles.append(ax_acc.axvline(chance, color="0.5", linestyle="--", linewidth=1.0,
                                  label=f"chance ({chance:g})"))
    ax_acc.set_xlim(0.0, 1.02)
    ax_acc.set_xlabel("readout accuracy on task A's test set (digits 0-4)")
    ax_acc.set_title("Task-A features, read out")
    fig.legend(handles=handles, loc="outside lower left", ncol=2, fontsize=8)
    handles = _marks(ax_w, order, values, _FEATURE_CHANGES, lo=0.0, spread=0.18)
    ax_w.set_xlim(left=0.0)
    ax_w.set_xlabel("relative weight change |dW|/|W| (Frobenius)")
    ax_w.set_title("Weight change of the layer")
    fig.legend(handles=handles, loc="outside lower right", ncol=1, fontsize=8)
    ax_acc.set_yticks(np.arange(len(order)), order)
    ax_acc.set_ylim(-0.6, len(order) - 0.4)
    for label, rule in zip(ax_acc.get_yticklabels(), order):
        label.set_color(rule_color(rule))
    fig.suptitle("Retention of task-A features: digits 0-4 learned, then 5-9 (mean, 95% CI)")
    return save_figure(fig, path)


def draw_all(rows, figdir) -> list:
    """Every figure of the study into ``figdir``; returns the file paths (PNG and SVG)."""
    import matplotlib
    os.makedirs(figdir, exist_ok=True)
    paths = []
    every_row = rows
    rows = [r for r in rows if r.get("scenario") != _FEATURES]  # the task-sequence scenarios
    with matplotlib.rc_context(style()):
        for scenario in _scenarios(rows):
            paths += accuracy_matrices(rows, scenario,
                                       os.path.join(figdir, f"accuracy_matrix_{scenario}"))
        paths += retention_curves(rows, os.path.join(figdir, "retention"))
        paths += interval_plot(rows, "bwt", "backward transfer BWT (mean, 95% CI within [-1, 1])",
                               os.path.join(figdir, "bwt"), zero_line=True)
        paths += interval_plot(rows, "avg_accuracy",
                               "average accuracy (mean, 95% CI within [0, 1])",
                               os.path.join(figdir, "average_accuracy"), xlim=(0.0, 1.0))
        paths += feature_retention(every_row, os.path.join(figdir, "feature_retention"))
    return [os.fspath(p) for p in paths]
