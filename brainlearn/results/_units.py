"""What each metric measures: its label, unit, range and how many digits a table shows.

One table (:data:`METRICS`) serves the report (unit columns, the headers of the opening
table), the command line's summary table and the figures (confidence bands clipped to a
metric's range). A metric not in the table gets a plain description from its name:
``...accuracy`` is a fraction correct in [0, 1], ``..._fraction`` a fraction in [0, 1];
anything else has no unit and no bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MetricInfo", "METRICS", "STUDY_METRICS", "metric_info", "metric_label",
           "metric_range", "format_mean_ci"]


@dataclass(frozen=True)
class MetricInfo:
    """How a metric reads.

    Parameters
    ----------
    label : str
        What the metric is, in words (``"learning time"`` for ``wall_time``).
    unit : str
        Its unit (``"s"``, ``"fraction correct"``); empty for none.
    lo, hi : float or None
        The range of values the metric can take (None: unbounded on that side).
    decimals : int or None
        Fixed decimals in tables (accuracies: 3); None: ``significant`` digits instead.
    significant : int
        Significant digits in tables when ``decimals`` is None (times: 2).
    """

    label: str
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    decimals: int | None = None
    significant: int = 3


_ACCURACY = dict(unit="fraction correct", lo=0.0, hi=1.0, decimals=3)

#: metric name -> how it reads, for the metrics of the built-in studies
METRICS = {
    # learning
    "test_accuracy": MetricInfo("test accuracy", **_ACCURACY),
    "final_test_accuracy": MetricInfo("final test accuracy", **_ACCURACY),
    # seconds in the rule's training calls only; a run's whole time is meta.json's "run time"
    "wall_time": MetricInfo("learning time", "s", lo=0.0, significant=2),
    "synaptic_updates": MetricInfo("synaptic updates", "updates", lo=0.0, significant=2),
    "rf": MetricInfo("input weight", "a.u."),
    # retention
    "accuracy": MetricInfo("accuracy", **_ACCURACY),
    "retention": MetricInfo("accuracy on task 1", **_ACCURACY),
    "avg_accuracy": MetricInfo("average accuracy", **_ACCURACY),
    "bwt": MetricInfo("backward transfer", "accuracy change", lo=-1.0, hi=1.0, decimals=3),
    "forgetting": MetricInfo("forgetting", "accuracy drop", lo=-1.0, hi=1.0, decimals=3),
    # memory
    "overlap": MetricInfo("mean overlap after recall", "overlap", lo=-1.0, hi=1.0, decimals=3),
    "recalled_fraction": MetricInfo("fraction recalled", "fraction of patterns", lo=0.0,
                                    hi=1.0, decimals=3),
    "one_step_flip_fraction": MetricInfo("one-step flip fraction", "fraction of bits", lo=0.0,
                                         hi=1.0, significant=2),
    "lifetime": MetricInfo("lifetime", "patterns", lo=0.0, decimals=1),
    # spacing: weights in the network's own, arbitrary units (a.u.)
    "weight_change": MetricInfo("weight change", "a.u.", significant=3),
    "early": MetricInfo("early-phase weight", "a.u.", significant=3),
    "late": MetricInfo("late-phase weight", "a.u.", significant=3),
}

#: (study, metric) -> how it reads, where a study uses a name differently from :data:`METRICS`
STUDY_METRICS = {
    ("spacing", "retention"): MetricInfo("retention", "fraction of the change at 0 h",
                                         significant=3),
}


def metric_info(metric: str, study: str | None = None) -> MetricInfo:
    """How ``metric`` (of ``study``, when given) reads; see the module docstring for names
    not in the table."""
    if (study, metric) in STUDY_METRICS:
        return STUDY_METRICS[(study, metric)]
    if metric in METRICS:
        return METRICS[metric]
    words = str(metric).replace("_", " ")
    if str(metric).endswith("accuracy"):
        return MetricInfo(words, **_ACCURACY)
    if str(metric).endswith("fraction"):
        return MetricInfo(words, "fraction", lo=0.0, hi=1.0, decimals=3)
    return MetricInfo(words)


def metric_label(metric: str, study: str | None = None) -> str:
    """``"label (unit)"`` of a metric, e.g. ``"learning time (s)"``; the label alone without
    a unit."""
    info = metric_info(metric, study)
    return f"{info.label} ({info.unit})" if info.unit else info.label


def metric_range(metric: str, study: str | None = None) -> tuple:
    """``(lo, hi)``: the values ``metric`` can take (None: unbounded on that side)."""
    info = metric_info(metric, study)
    return info.lo, info.hi


def _plain(value, significant) -> tuple:
    """``(text, decimals)``: ``value`` at ``significant`` digits without an exponent when it
    is between 1e-4 and 1e6 (``130``, not ``1.3e+02``); ``decimals`` is the place of the last
    digit shown (negative: tens, hundreds), None in exponent form."""
    if value == 0:
        return "0", 0
    magnitude = math.floor(math.log10(abs(value)))
    if -4 <= magnitude < 6:
        decimals = significant - 1 - magnitude
        return _at(value, decimals), decimals
    return f"{value:.{significant}g}", None


def _at(value, decimals) -> str:
    """``value`` rounded to ``decimals`` places (negative: to tens, hundreds, ...)."""
    return f"{value:.{decimals}f}" if decimals >= 0 else f"{round(value, decimals):.0f}"


def format_mean_ci(mean, ci, metric: str, study: str | None = None, sep: str = " ± ") -> str:
    """``"mean ± ci"`` at the metric's digits: fixed decimals for both (accuracies
    ``0.912 ± 0.013``), or the mean at its significant digits and the interval to the same
    decimal place (times ``1.3 ± 0.2``; at least one significant digit of the interval). The
    mean alone when ``ci`` is None or NaN (fewer than two values); ``n/a`` for no mean."""
    info = metric_info(metric, study)
    if mean is None or math.isnan(float(mean)):
        return "n/a"
    mean = float(mean)
    if info.decimals is not None:
        text, decimals = f"{mean:.{info.decimals}f}", info.decimals
    else:
        text, decimals = _plain(mean, info.significant)
    if ci is None or math.isnan(float(ci)):
        return text
    ci = float(ci)
    if decimals is None or (ci > 0 and round(ci, decimals) == 0):
        return f"{text}{sep}{_plain(ci, 1)[0]}"
    return f"{text}{sep}{_at(ci, decimals)}"
