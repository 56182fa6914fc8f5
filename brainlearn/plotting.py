"""Figures in one house style: ``plot_*(ax, data) -> artists``; never ``plt.show()``.

Colours come from one colour-blind-safe palette, Paul Tol's "muted" scheme (:data:`PALETTE`),
and a rule keeps its colour in every figure (:func:`rule_color`); the controls are greys
(:data:`CONTROL_COLORS`). Confidence bands go through :func:`band`, which clips them to the
range of the metric they show (an accuracy band never runs past 1).
"""

from __future__ import annotations

import os
import zlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

__all__ = ["PALETTE", "CONTROL_COLORS", "CONTROL_STYLES", "RULE_COLORS", "rule_color",
           "rule_linestyle", "style", "save_figure",
           "plot_learning_curve", "mean_ci", "band", "clipped_interval"]

#: the white margin around a saved figure's tight bounding box (matplotlib's default)
_PAD_INCHES = 0.1

#: Paul Tol's "muted" qualitative scheme (https://personal.sron.nl/~pault/#sec:qualitative):
#: nine colours told apart under the common colour-vision deficiencies and in print
PALETTE = ("#332288",  # indigo
           "#88CCEE",  # cyan
           "#44AA99",  # teal
           "#117733",  # green
           "#999933",  # olive
           "#DDCC77",  # sand
           "#CC6677",  # rose
           "#882255",  # wine
           "#AA4499")  # purple
_INDIGO, _CYAN, _TEAL, _GREEN, _OLIVE, _SAND, _ROSE, _WINE, _PURPLE = PALETTE

#: the controls of the learning study: greys, apart from every rule's hue
CONTROL_COLORS = {"pca": "#222222", "random_features": "#8C8C8C", "static_spiking": "#8C8C8C"}
#: the controls' line styles: references read as such, and a rule that reaches one stays
#: visible under it (Sanger's curve under the exact PCA's)
CONTROL_STYLES = {"pca": ":", "random_features": "--", "static_spiking": "--"}

#: the colour of every built-in rule. A study's default panels (rules drawn in one axes) get
#: distinct colours (tests/test_plotting.py checks them):
#:   learning   end to end {backprop, feedback_alignment, direct_feedback_alignment};
#:              one layer {delta, reward_hebbian}; hidden layer {hebb, oja, sanger, bcm,
#:              covariance, competitive, ltp} beside the greys (no indigo or olive there,
#:              the two closest to a grey line)
#:   retention  {backprop, ewc, synaptic_intelligence, feedback_alignment,
#:              direct_feedback_alignment}; hidden {oja, sanger, bcm, competitive, ltp,
#:              tag_and_capture} beside backprop
#:   memory     {hopfield_hebb, storkey, pseudo_inverse, clipped_hebb, stochastic_binary,
#:              cascade}
#:   spacing    {tag_and_capture, calcium}
#:   stdp       {stdp, stdp_soft, stdp_nearest, triplet_stdp, calcium, voltage_stdp}
#: Nine colours for 28 rules: rules that never share a default panel share a colour.
RULE_COLORS = {
    "backprop": _INDIGO, "feedback_alignment": _CYAN, "direct_feedback_alignment": _TEAL,
    "ewc": _ROSE, "synaptic_intelligence": _WINE,
    "delta": _ROSE, "reward_hebbian": _GREEN,
    "hebb": _ROSE, "oja": _GREEN, "sanger": _TEAL, "bcm": _PURPLE, "covariance": _SAND,
    "competitive": _CYAN, "ltp": _WINE,
    "tag_and_capture": _OLIVE, "calcium": _PURPLE,
    "hopfield_hebb": _ROSE, "storkey": _INDIGO, "pseudo_inverse": _TEAL, "clipped_hebb": _WINE,
    "stochastic_binary": _GREEN, "cascade": _PURPLE,
    "anti_hebbian": _SAND, "synaptic_scaling": _CYAN,
    # spiking: the pair rule and the stdp study's variants of it
    "stdp": _INDIGO, "stdp_soft": _CYAN, "stdp_nearest": _TEAL, "triplet_stdp": _ROSE,
    "reward_stdp": _GREEN, "voltage_stdp": _SAND,
    # constraints appear only chained to another rule
    "clip": _WINE, "row_normalize": _GREEN, "weight_decay": _SAND,
}


def rule_color(name: str) -> str:
    """The colour of a rule or control label.

    Built-in rules and the controls have fixed colours (:data:`RULE_COLORS`,
    :data:`CONTROL_COLORS`); any other name (a plug-in rule) gets a colour of :data:`PALETTE`
    chosen by a checksum of the name, so it is the same in every figure and every process.
    """
    if name in RULE_COLORS:
        return RULE_COLORS[name]
    if name in CONTROL_COLORS:
        return CONTROL_COLORS[name]
    # crc32, not hash(): str hashes are salted per process
    return PALETTE[zlib.crc32(str(name).encode("utf-8")) % len(PALETTE)]


def rule_linestyle(name: str) -> str:
    """The line style of a rule: solid, but dashed or dotted for the controls."""
    return CONTROL_STYLES.get(name, "-")


def style() -> dict:
    """Matplotlib rc parameters of the house style (use with ``plt.rc_context``)."""
    return {
        "figure.dpi": 100, "savefig.dpi": 160, "font.size": 10, "axes.titlesize": 11,
        "axes.labelsize": 10, "legend.fontsize": 9, "legend.frameon": False,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
        "grid.alpha": 0.3, "lines.linewidth": 1.8, "svg.fonttype": "none",
        "svg.hashsalt": "brainlearn",  # stable element ids: the same figure gives the same file
    }


def mean_ci(values, axis=0, level=0.95):
    """Mean and half-width of the Student-t confidence interval along ``axis``."""
    from scipy import stats
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, np.zeros_like(mean)
    sem = values.std(axis=axis, ddof=1) / np.sqrt(n)
    return mean, sem * stats.t.ppf(0.5 + level / 2, n - 1)


def clipped_interval(mean, half, lo=None, hi=None):
    """``(low, high)`` of ``mean -+ half`` clipped to the metric's range ``[lo, hi]``.

    A Student-t interval over a few seeds is symmetric and can run past what the metric can
    take (an accuracy of 1.2); clipping keeps the part that is possible. ``lo``/``hi`` None:
    no bound on that side. A NaN half-width (one seed) counts as 0.
    """
    mean = np.asarray(mean, dtype=float)
    half = np.nan_to_num(np.asarray(half, dtype=float), nan=0.0)
    low, high = mean - half, mean + half
    if lo is not None or hi is not None:
        low, high = np.clip(low, lo, hi), np.clip(high, lo, hi)
    return low, high


def band(ax, x, mean, half, color, lo=None, hi=None, alpha=0.18, **kw):
    """Draw the confidence band ``mean -+ half`` clipped to ``[lo, hi]``; return the
    PolyCollection.

    Parameters
    ----------
    ax : matplotlib Axes
    x, mean, half : array_like
        Positions, means and half-widths of the interval (e.g. from :func:`mean_ci`).
    color : str
        The band's colour (that of its line).
    lo, hi : float, optional
        The range of the metric (accuracy and fractions: 0 and 1); None: unbounded.
    alpha : float
        Opacity of the band.
    **kw
        Passed to ``ax.fill_between``.
    """
    low, high = clipped_interval(mean, half, lo, hi)
    kw.setdefault("linewidth", 0)
    return ax.fill_between(np.asarray(x, dtype=float), low, high, color=color, alpha=alpha, **kw)


def plot_learning_curve(ax, samples, curves, label, color=None, lo=0.0, hi=1.0):
    """Mean curve with its 95% CI band; ``curves`` has shape (n_seeds, n_points).

    The band is clipped to ``[lo, hi]``, the metric's range: by default that of an accuracy
    (0 to 1); pass None for a metric without bounds.
    """
    mean, half = mean_ci(curves)
    color = color or rule_color(label)
    line, = ax.plot(samples, mean, color=color, label=label)
    area = band(ax, samples, mean, half, color, lo=lo, hi=hi, alpha=0.2)
    return line, area


def save_figure(fig, path_without_ext, formats=("png", "svg")):
    """Save ``fig`` as PNG and SVG atomically (temporary name, then rename).

    The layout is computed once: the figure is drawn, its layout engine (constrained layout)
    is frozen and its tight bounding box measured, and every format is written with that box.
    ``savefig(bbox_inches="tight")`` would lay the figure out and measure it again for every
    format, which is most of the time a figure with many panels takes. The layout engine is
    restored afterwards, so the figure can still be changed and saved again.
    """
    folder = os.path.dirname(os.path.abspath(path_without_ext))
    os.makedirs(folder, exist_ok=True)
    engine = fig.get_layout_engine()
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # runs the layout engine once, drawing no pixel
    bbox = fig.get_tightbbox(canvas.get_renderer()).padded(_PAD_INCHES)
    paths = []
    try:
        if engine is not None:
            fig.set_layout_engine(None)  # keep the positions just computed
        for fmt in formats:
            final = f"{path_without_ext}.{fmt}"
            tmp = f"{final}.tmp-{os.getpid()}"
            meta = {"Date": None} if fmt == "svg" else {}
            fig.savefig(tmp, format=fmt, bbox_inches=bbox, metadata=meta)
            os.replace(tmp, final)
            paths.append(final)
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
    return paths
