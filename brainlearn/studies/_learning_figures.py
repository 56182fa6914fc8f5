"""Figures of the learning study, drawn from its metric rows alone (as read back from
metrics.csv and timings.csv, which holds the ``wall_time`` rows)."""

from __future__ import annotations

import math
import os

import numpy as np

from ..plotting import band, clipped_interval, rule_color, rule_linestyle, save_figure, style

__all__ = ["draw_all", "learning_curves", "objectives", "final_accuracy", "receptive_fields"]

#: the references of the hidden-layer panels, drawn as dashed lines (their labels)
_CONTROLS = ("random_features", "pca", "static_spiking")

_ROLE_TITLES = {
    "end_to_end": "Gradient rules, end to end (MLP)",
    "single_layer": "Supervised local rules, one layer",
    "hidden": "Local rules: hidden layer + shared readout",
    "spiking": "Spiking layer (Diehl & Cook) + shared readout",
}
_ROLE_ORDER = ("end_to_end", "single_layer", "hidden", "spiking")
#: classes of the data sets the study knows (for the chance line)
_CLASSES = {"digits": 10, "mnist": 10}


def _num(value):
    return None if value in (None, "") else int(value)


def _series(rows, metric):
    """``{rule: {seed: (steps, values)}}`` of one metric, rules in order of first appearance."""
    out = {}
    for r in rows:
        if r["metric"] != metric:
            continue
        out.setdefault(r["rule"], {}).setdefault(int(r["seed"]), []).append(
            (int(r["step"]), float(r["value"])))
    return {rule: {seed: tuple(np.array(v) for v in zip(*sorted(pts)))
                   for seed, pts in seeds.items()} for rule, seeds in out.items()}


def _roles(rows):
    return {r["rule"]: r.get("role") or "hidden" for r in rows}


def _mean_ci(values):
    """Mean and 95% Student-t half-width over the finite entries of each column of ``values``
    (n_seeds, n_points); half-width 0 where fewer than two values."""
    from scipy import stats
    values = np.asarray(values, dtype=float)
    mean = np.full(values.shape[1], np.nan)
    half = np.zeros(values.shape[1])
    for k in range(values.shape[1]):
        v = values[:, k][np.isfinite(values[:, k])]
        if v.size:
            mean[k] = v.mean()
        if v.size > 1:
            half[k] = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return mean, half


def _chance(rows):
    tasks = {r["task"] for r in rows}
    classes = {_CLASSES.get(t) for t in tasks}
    return 1.0 / classes.pop() if len(classes) == 1 and None not in classes else None


def _grid(seeds):
    """``(steps, values (n_seeds, n_steps))`` of one rule's series, NaN where a seed has no
    value at a step (a diverged run)."""
    steps = sorted({int(s) for st, _ in seeds.values() for s in st})
    grid = np.full((len(seeds), len(steps)), np.nan)
    where = {s: k for k, s in enumerate(steps)}
    for i, (st, val) in enumerate(seeds.values()):
        for s, v in zip(st, val):
            grid[i, where[int(s)]] = v
    return np.array(steps), grid


def _draw_series(ax, rule, seeds, lo=None, hi=None, label_n=True):
    """One rule's mean curve and its 95% band, clipped to ``[lo, hi]``; controls dashed."""
    steps, grid = _grid(seeds)
    mean, half = _mean_ci(grid)
    color = rule_color(rule)
    label = f"{rule} (n={len(seeds)})" if label_n else rule
    ax.plot(steps, mean, color=color, linestyle=rule_linestyle(rule), label=label)
    band(ax, steps, mean, half, color, lo=lo, hi=hi)
    return mean, half


def learning_curves(rows, path):
    """Test accuracy against presentations seen, mean and 95% CI band per rule, a panel per role
    (the controls in the hidden-layer panel), on one accuracy scale."""
    from matplotlib.figure import Figure
    curves = _series(rows, "test_accuracy")
    roles = _roles(rows)
    panels = [role for role in _ROLE_ORDER if any(roles[r] == role for r in curves)]
    panels += sorted({roles[r] for r in curves} - set(panels))
    if not panels:
        return []
    chance = _chance(rows)
    fig = Figure(figsize=(4.3 * len(panels), 4.1), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, role in zip(axes, panels):
        drawn = {}
        for rule, seeds in sorted(curves.items(), key=lambda kv: kv[0] in _CONTROLS):
            if roles[rule] == role:
                drawn[rule] = (seeds, _draw_series(ax, rule, seeds, lo=0.0, hi=1.0))
        _magnify_top(ax, drawn)
        if chance is not None:
            ax.axhline(chance, color="0.5", linestyle=":", linewidth=1.0, label="chance")
        ax.set_title(_ROLE_TITLES.get(role, role))
        ax.set_xlabel("training presentations seen (samples)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8)
    axes[0].set_ylabel("test accuracy (fraction correct)")
    axes[0].set_ylim(0.0, 1.02)
    return save_figure(fig, path)


def _magnify_top(ax, drawn):
    """An inset that magnifies the curves ending near the top of a panel, when three or more of
    them share a band too thin to tell apart on the whole accuracy scale (the hidden layers of
    100 units and their controls end within 0.03 of each other). ``drawn``: ``{rule: (seeds,
    (mean, half))}``."""
    finals = {rule: float(mean[np.isfinite(mean)][-1]) for rule, (_, (mean, _)) in drawn.items()
              if np.isfinite(mean).any()}
    if len(finals) < 3:
        return None
    top = max(finals.values())
    cluster = [rule for rule, v in finals.items() if v >= top - 0.05]
    if len(cluster) < 3:
        return None
    lows = [np.nanmin(drawn[r][1][0] - drawn[r][1][1]) for r in cluster]
    highs = [np.nanmax(drawn[r][1][0] + drawn[r][1][1]) for r in cluster]
    lo, hi = max(0.0, min(lows) - 0.005), min(1.0, max(highs) + 0.005)
    if hi - lo > 0.2:  # already apart on the panel's scale
        return None
    inset = ax.inset_axes([0.1, 0.1, 0.86, 0.4])
    for rule in cluster:
        _draw_series(inset, rule, drawn[rule][0], lo=0.0, hi=1.0)
    inset.set_ylim(lo, hi)
    inset.tick_params(labelsize=7)
    inset.set_title("the top, magnified", fontsize=8)
    return inset


#: the panels of the objectives figure: (metric, y label, range of the metric, log scale)
_OBJECTIVES = (
    ("weight_change", "relative weight change per chunk\n|W_k - W_k-1| / |W_k-1|", (0.0, None),
     True),
    ("pc_alignment", "alignment with principal components\n(mean |cos|)", (0.0, 1.0), False),
    ("selectivity", "class selectivity of hidden units\n(sparseness, mean over units)",
     (0.0, 1.0), False),
    ("dead_units", "dead hidden units\n(never respond or never win)", (0.0, None), False),
)


def objectives(rows, path):
    """The rules' own objectives against presentations seen: weight change, PC alignment,
    selectivity and dead units, mean and 95% band per rule (controls dashed), a panel each."""
    from matplotlib.figure import Figure
    # the hidden layers of the local rules and the controls, and backprop's as the reference
    # of learning with an error signal (the other supervised rules share its panels' colours)
    roles = _roles(rows)
    rows = [r for r in rows if roles.get(r["rule"]) == "hidden" or r["rule"] == "backprop"]
    panels = [(m, label, rng, log) for m, label, rng, log in _OBJECTIVES
              if any(r["metric"] == m for r in rows)]
    if not panels:
        return []
    cols = 2 if len(panels) > 1 else 1
    nrows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(5.2 * cols, 3.4 * nrows + 1.0), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    handles = {}
    for ax, (metric, label, (lo, hi), log) in zip(axes, panels):
        series = _series(rows, metric)
        for rule, seeds in sorted(series.items(), key=lambda kv: kv[0] in _CONTROLS):
            if log:  # a chunk that changed nothing has no place on a log axis
                seeds = {s: (st[v > 0], v[v > 0]) for s, (st, v) in seeds.items()}
                if not any(len(st) for st, _ in seeds.values()):
                    continue
            _draw_series(ax, rule, seeds, lo=lo, hi=hi, label_n=False)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
        if log:
            ax.set_yscale("log")
        elif hi is not None:
            ax.set_ylim(lo, hi * 1.02)
        else:
            ax.set_ylim(bottom=lo)
        ax.set_ylabel(label)
        ax.set_xlabel("training presentations seen (samples)")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncol=min(6, len(handles)), fontsize=8)
    return save_figure(fig, path)


def final_accuracy(rows, path):
    """Final test accuracy and wall time per rule: seeds as dots, mean with its 95% CI (the
    accuracy's clipped to [0, 1])."""
    from matplotlib.figure import Figure
    final = {rule: [float(v[-1]) for _, v in seeds.values()]
             for rule, seeds in _series(rows, "final_test_accuracy").items()}
    wall = {rule: [float(v[-1]) for _, v in seeds.values()]
            for rule, seeds in _series(rows, "wall_time").items()}
    if not final:
        return []
    stats = {rule: _mean_ci(np.array(vals)[:, None]) for rule, vals in final.items()}
    # best on top; rules with no finite value (all diverged) at the bottom
    order = sorted(final, key=lambda r: (np.nan_to_num(stats[r][0][0], nan=-1.0), r))
    fig = Figure(figsize=(9.0, 0.42 * len(order) + 1.4), layout="constrained")
    ax_acc, ax_time = fig.subplots(1, 2, sharey=True, width_ratios=(3, 2))
    ypos = np.arange(len(order))
    labels = []
    for y, rule in zip(ypos, order):
        color = rule_color(rule)
        vals = np.array(final[rule])
        n_bad = int(np.sum(~np.isfinite(vals)))
        labels.append(rule + (f" ({n_bad} diverged)" if n_bad else ""))
        ax_acc.plot(vals[np.isfinite(vals)], np.full(np.sum(np.isfinite(vals)), y + 0.18), "o",
                    color=color, alpha=0.45, markersize=3.5, linestyle="none")
        mean, half = stats[rule][0][0], stats[rule][1][0]
        if np.isfinite(mean):
            # a t interval over a few seeds can run past 1: keep the part an accuracy can take
            low, high = clipped_interval(mean, half, 0.0, 1.0)
            ax_acc.errorbar(mean, y, xerr=[[mean - low], [high - mean]], fmt="D", color=color,
                            markersize=6, capsize=3)
        times = np.array(wall.get(rule, []), dtype=float)
        times = times[np.isfinite(times) & (times > 0)]
        if times.size:
            # times are positive and skewed: mean and interval of log10(time), drawn back in s
            lm, lh = (v[0] for v in _mean_ci(np.log10(times)[:, None]))
            centre = 10.0 ** lm
            err = [[centre - 10.0 ** (lm - lh)], [10.0 ** (lm + lh) - centre]]
            ax_time.plot(times, np.full(times.size, y + 0.18), "o", color=color, alpha=0.45,
                         markersize=3.5, linestyle="none")
            ax_time.errorbar(centre, y, xerr=err, fmt="D", color=color, markersize=6, capsize=3)
        elif rule in wall:
            ax_time.text(0.02, y, "no learning", transform=ax_time.get_yaxis_transform(),
                         color="0.4", fontsize=8, va="center")
    chance = _chance(rows)
    if chance is not None:
        ax_acc.axvline(chance, color="0.5", linestyle="--", linewidth=1.0)
        ax_acc.text(chance, len(order) - 0.4, " chance", color="0.4", fontsize=8, va="bottom")
    ax_acc.set_yticks(ypos, labels)
    ax_acc.set_ylim(-0.6, len(order) - 0.1)
    ax_acc.set_xlim(0.0, 1.0)
    ax_acc.set_xlabel("final test accuracy (fraction correct; mean, 95% CI)")
    ax_time.set_xscale("log")
    ax_time.set_xlabel("wall time of learning (s; geometric mean, 95% CI)")
    for y, rule in zip(ypos, order):
        ax_acc.get_yticklabels()[y].set_color(rule_color(rule))
    return save_figure(fig, path)


def receptive_fields(rows, path):
    """Input weights of the stored units of each rule (seed 0) as images, a row per rule.

    One mosaic image (each unit scaled by its own largest |weight|, white gaps between units)
    instead of an axes per unit: the same picture, drawn many times faster.
    """
    from matplotlib.figure import Figure
    fields = {}
    for r in rows:
        if r["metric"] != "rf" or int(r["seed"]) != 0:
            continue
        unit, pixel = _num(r.get("unit")), _num(r.get("pixel"))
        if unit is None or pixel is None:
            continue
        fields.setdefault(r["rule"], {}).setdefault(unit, {})[pixel] = float(r["value"])
    if not fields:
        return []
    roles = _roles(rows)
    n_cols = max(len(units) for units in fields.values())
    n_pix = max(len(px) for units in fields.values() for px in units.values())
    side = math.isqrt(n_pix)
    shape = (side, side) if side * side == n_pix else (1, n_pix)
    gap = max(1, shape[0] // 8)
    cell_h, cell_w = shape[0] + gap, shape[1] + gap
    mosaic = np.full((len(fields) * cell_h - gap, n_cols * cell_w - gap), np.nan)
    for i, units in enumerate(fields.values()):
        for j, unit in enumerate(sorted(units)):
            pixels = units[unit]
            w = np.full(n_pix, np.nan)
            for p, v in pixels.items():
                if p < n_pix:
                    w[p] = v
            m = np.nanmax(np.abs(w)) if np.isfinite(w).any() else 0.0
            if m > 0:  # the sign of a unit is arbitrary for most rules: largest weight positive
                m *= np.sign(w[np.nanargmax(np.abs(w))])
            img = (w / m if m != 0 else np.zeros_like(w)).reshape(shape)
            mosaic[i * cell_h:i * cell_h + shape[0], j * cell_w:j * cell_w + shape[1]] = img
    scale = 0.11 if shape[0] <= 10 else 0.04  # inches per pixel: 8x8 digits or 28x28 MNIST
    fig = Figure(figsize=(mosaic.shape[1] * scale + 2.4, mosaic.shape[0] * scale + 0.9),
                 layout="constrained")
    ax = fig.subplots()
    import matplotlib
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
    im = ax.imshow(mosaic, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xticks([j * cell_w + (shape[1] - 1) / 2 for j in range(n_cols)],
                  [str(j) for j in range(n_cols)])
    ax.tick_params(length=0)
    ax.set_xlabel("unit (hidden unit; for one-layer rules the output unit of that class)")
    ticks = [i * cell_h + (shape[0] - 1) / 2 for i in range(len(fields))]
    labels = [rule if roles.get(rule) != "hidden" else f"{rule} (+ readout)" for rule in fields]
    ax.set_yticks(ticks, labels)
    for tick, rule in zip(ax.get_yticklabels(), fields):
        tick.set_color(rule_color(rule))
    bar = fig.colorbar(im, ax=ax, shrink=min(1.0, 3.0 / max(1, len(fields))), pad=0.02)
    bar.set_label("weight / max |weight| of the unit")
    return save_figure(fig, path)


def draw_all(rows, figdir) -> list:
    """Every figure of the study into ``figdir``; returns the file paths (PNG and SVG)."""
    import matplotlib
    os.makedirs(figdir, exist_ok=True)
    paths = []
    with matplotlib.rc_context(style()):
        paths += learning_curves(rows, os.path.join(figdir, "learning_curves"))
        paths += objectives(rows, os.path.join(figdir, "objectives"))
        paths += final_accuracy(rows, os.path.join(figdir, "final_accuracy"))
        paths += receptive_fields(rows, os.path.join(figdir, "receptive_fields"))
    return [os.fspath(p) for p in paths]
