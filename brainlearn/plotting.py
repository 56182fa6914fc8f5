"""Figures in one house style: ``plot_*(ax, data) -> artists``; never ``plt.show()``.

The palette is Okabe & Ito's colour-blind-safe set; a rule keeps its colour in
every figure (:func:`rule_color`).
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["PALETTE", "rule_color", "style", "save_figure", "plot_learning_curve", "mean_ci"]

#: Okabe & Ito (2008) colour-blind-safe palette (black last).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

_FIXED = {"backprop": "#0072B2", "feedback_alignment": "#56B4E9", "direct_feedback_alignment": "#009E73",
          "oja": "#E69F00", "hebb": "#D55E00", "bcm": "#CC79A7",
          # the learning study's panels: the local rules drawn together get distinct colours,
          # the single-layer rules differ from each other, the control is grey
          "sanger": "#009E73", "covariance": "#56B4E9", "competitive": "#0072B2", "ltp": "#000000",
          "delta": "#E69F00", "reward_hebbian": "#D55E00", "random_features": "#8C8C8C",
          # the retention study's panels: backprop + EWC / SI together; tag-and-capture among
          # the default local rules (hebb, the other vermillion, is not one of them there)
          "ewc": "#D55E00", "synaptic_intelligence": "#CC79A7", "tag_and_capture": "#D55E00",
          # the memory study's panels: the six storage rules drawn together
          "hopfield_hebb": "#D55E00", "storkey": "#0072B2", "pseudo_inverse": "#009E73",
          "clipped_hebb": "#E69F00", "stochastic_binary": "#56B4E9", "cascade": "#CC79A7"}


def rule_color(name: str) -> str:
    """The colour of a rule (or any label): fixed for known rules, stable by name otherwise."""
    if name in _FIXED:
        return _FIXED[name]
    h = sum((k + 1) * ord(c) for k, c in enumerate(name))
    return PALETTE[h % (len(PALETTE) - 1)]


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


def plot_learning_curve(ax, samples, curves, label, color=None):
    """Mean curve with its 95% CI band; ``curves`` has shape (n_seeds, n_points)."""
    mean, half = mean_ci(curves)
    color = color or rule_color(label)
    line, = ax.plot(samples, mean, color=color, label=label)
    band = ax.fill_between(samples, mean - half, mean + half, color=color, alpha=0.2, linewidth=0)
    return line, band


def save_figure(fig, path_without_ext, formats=("png", "svg")):
    """Save ``fig`` as PNG and SVG atomically (temporary name, then rename)."""
    folder = os.path.dirname(os.path.abspath(path_without_ext))
    os.makedirs(folder, exist_ok=True)
    paths = []
    for fmt in formats:
        final = f"{path_without_ext}.{fmt}"
        tmp = f"{final}.tmp-{os.getpid()}"
        meta = {"Date": None} if fmt == "svg" else {}
        fig.savefig(tmp, format=fmt, bbox_inches="tight", metadata=meta)
        os.replace(tmp, final)
        paths.append(final)
    return paths
