"""The finding of each figure of the retention, memory and spacing studies: one sentence that
states the result with its numbers (:meth:`brainlearn.studies.Study.findings`).

Each function takes the rows of ``summary.csv`` as read back (statistics as numbers, group
columns as text) and the metric rows the figures are drawn from, and returns ``{figure name:
sentence}``; a figure whose data are missing gets no sentence. The numbers are those the
figures show (means over seeds), so a sentence can be checked against its figure.
"""

from __future__ import annotations

import math

import numpy as np


def fit_label(a, b) -> str:
    """``"fit: a + b ln N"`` with the sign of ``b`` written out and enough digits to show
    it (``fit: 1.67 + 0.0031 ln N``, ``fit: 2.5 - 0.12 ln N``)."""
    if abs(b) < 1e-12 * max(1.0, abs(a)):  # a flat fit, up to rounding
        b = 0.0
    sign = "-" if b < 0 else "+"
    return f"fit: {a:.3g} {sign} {abs(b):.2g} ln N"


__all__ = ["retention_findings", "memory_findings", "spacing_findings"]

_SCENARIO_WORDS = {"task_incremental": "task-incremental split digits",
                   "class_incremental": "class-incremental split digits",
                   "permuted": "permuted digits"}
_SCENARIO_ORDER = tuple(_SCENARIO_WORDS)


# -- helpers ---------------------------------------------------------------------------------------
def _num(value):
    """A cell as a float (CSV text or a number); None for an empty cell or text."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _means(rows, key, **match):
    """``{key(row): mean value over the rows}`` of the rows matching ``match`` (finite values
    only), keys in order of first appearance."""
    groups = {}
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()):
            v = float(r["value"])
            if math.isfinite(v):
                groups.setdefault(key(r), []).append(v)
    return {k: float(np.mean(v)) for k, v in groups.items()}


def _summary_means(summary_rows, **match):
    """``{rule: mean}`` of the summary rows matching ``match`` (compared as text)."""
    out = {}
    for r in summary_rows:
        if all(str(r.get(k)) == str(v) for k, v in match.items()):
            mean = _num(r.get("mean"))
            if mean is not None and math.isfinite(mean):
                out[r["rule"]] = mean
    return out


def _best_worst(values):
    """``(best rule, worst rule)`` of ``{rule: value}`` (highest and lowest value)."""
    best = max(values, key=values.get)
    worst = min(values, key=values.get)
    return best, worst


def _scenarios(rows):
    present = {r.get("scenario") for r in rows if r.get("scenario") in _SCENARIO_WORDS}
    return [s for s in _SCENARIO_ORDER if s in present]


# -- retention -------------------------------------------------------------------------------------
def _final_task1(rows, scenario):
    """``{rule: mean accuracy on task 1 after the last task}`` of a scenario."""
    acc = [r for r in rows if r["metric"] == "accuracy" and r.get("scenario") == scenario]
    if not acc:
        return {}
    last = max(int(r["task"]) for r in acc)
    return _means([r for r in acc if _num(r.get("eval_task")) == 1 and int(r["task"]) == last],
                  lambda r: r["rule"])


def _matrix_sentence(rows, scenario):
    """The accuracy matrix of a scenario: what the tasks score just after they are learned and
    what the earlier ones keep at the end (means over seeds, range over rules)."""
    cells = {}
    for r in rows:
        if r["metric"] == "accuracy" and r.get("scenario") == scenario:
            i, j, v = int(r["task"]), _num(r.get("eval_task")), float(r["value"])
            if j is not None and math.isfinite(v):
                cells.setdefault(r["rule"], {}).setdefault((i, int(j)), []).append(v)
    diag, kept = {}, {}
    for rule, cs in cells.items():
        T = max(i for i, _ in cs)
        d = [np.mean(cs[(i, i)]) for i in range(1, T + 1) if (i, i) in cs]
        k = [np.mean(cs[(T, j)]) for j in range(1, T) if (T, j) in cs]
        if d and k:
            diag[rule], kept[rule] = float(np.mean(d)), float(np.mean(k))
    if not diag:
        return None
    hi, lo = _best_worst(kept)
    text = (f"On {_SCENARIO_WORDS[scenario]} a task scores {min(diag.values()):.2f} to "
            f"{max(diag.values()):.2f} just after it is learned (the diagonal, range over "
            "rules); after the last task the earlier tasks score ")
    if f"{kept[hi]:.2f}" == f"{kept[lo]:.2f}":
        return text + f"{kept[lo]:.2f} with every rule."
    return text + f"{kept[lo]:.2f} ({lo}) to {kept[hi]:.2f} ({hi})."


def _spread_sentence(summary_rows, metric, words, scenarios):
    """``"<words> ranges from x (A) to y (B) on S1; ..."``: best and worst rule per scenario."""
    fmt = "{:+.2f}" if metric == "bwt" else "{:.2f}"
    parts = []
    for scenario in scenarios:
        means = _summary_means(summary_rows, scenario=scenario, metric=metric)
        if not means:
            continue
        best, worst = _best_worst(means)
        if means[best] == means[worst]:
            parts.append(f"is {fmt.format(means[best])} for every rule on "
                         f"{_SCENARIO_WORDS[scenario]}")
        else:
            parts.append(f"ranges from {fmt.format(means[best])} ({best}) to "
                         f"{fmt.format(means[worst])} ({worst}) on {_SCENARIO_WORDS[scenario]}")
    if not parts:
        return None
    parts[1:] = [p.removeprefix("ranges ") for p in parts[1:]]
    return f"{words} " + "; ".join(parts) + "."


def retention_findings(summary_rows, rows) -> dict:
    """The findings of the retention study's figures (``retention``, ``bwt``,
    ``average_accuracy``, ``accuracy_matrix_SCENARIO``)."""
    out = {}
    scenarios = _scenarios(rows)
    for scenario in scenarios:
        text = _matrix_sentence(rows, scenario)
        if text:
            out[f"accuracy_matrix_{scenario}"] = text
    # the retention curves: the rule that keeps most of task 1 against backprop, on the
    # permuted digits when they ran (the scenario where every rule learns every task)
    for scenario in sorted(scenarios, key=lambda s: s != "permuted"):
        kept = _final_task1(rows, scenario)
        if len(kept) < 2:
            continue
        bwt = _summary_means(summary_rows, scenario=scenario, metric="bwt")
        best = max(kept, key=kept.get)
        other = "backprop" if "backprop" in kept and best != "backprop" else min(kept, key=kept.get)
        text = (f"On {_SCENARIO_WORDS[scenario]} {best} keeps {kept[best]:.2f} accuracy on task 1 "
                f"after the last task against {other}'s {kept[other]:.2f}")
        if best in bwt and other in bwt:
            text += f" (BWT {bwt[best]:+.2f} vs {bwt[other]:+.2f})"
        out["retention"] = text + "."
        break
    text = _spread_sentence(summary_rows, "bwt", "Backward transfer (0: nothing forgotten)",
                            scenarios)
    if text:
        out["bwt"] = text
    text = _spread_sentence(summary_rows, "avg_accuracy", "Average accuracy at the end",
                            scenarios)
    if text:
        out["average_accuracy"] = text
    text = _features_sentence(summary_rows)
    if text:
        out["feature_retention"] = text
    return out


def _features_sentence(summary_rows):
    """The features scenario: how much of task A each layer's features keep under the frozen
    readout after task B, what a refitted readout recovers, and the weight drift."""
    kept = _summary_means(summary_rows, scenario="features", metric="feature_retention")
    if not kept:
        return None
    frozen = _summary_means(summary_rows, scenario="features", metric="feature_acc_frozen")
    refit = _summary_means(summary_rows, scenario="features", metric="feature_acc_refit")
    drift = _summary_means(summary_rows, scenario="features", metric="weight_drift")
    order = sorted(kept, key=lambda r: -kept[r])
    listing = ", ".join(f"{r} {kept[r]:.2f}" for r in order)
    text = (f"After digits 5-9, a readout fitted on the task-A (0-4) features and then frozen "
            f"keeps this fraction of its accuracy: {listing}")
    worst = order[-1]
    if worst in frozen and worst in refit:
        text += (f"; re-fitted, {worst}'s features score {refit[worst]:.2f} against "
                 f"{frozen[worst]:.2f} frozen (part of the loss is a re-coding, not an "
                 "erasure)")
    if drift:
        most = max(drift, key=drift.get)
        least = min(drift, key=drift.get)
        text += (f"; weight drift from {drift[least]:.2f} ({least}) to {drift[most]:.2f} "
                 f"({most})")
    return text + "."


# -- memory ----------------------------------------------------------------------------------------
def _capacity_sentence(summary_rows, alpha_c):
    rows = [r for r in summary_rows if r.get("task") == "capacity"
            and r.get("metric") == "recalled_fraction" and _num(r.get("load")) is not None]
    loads = sorted({_num(r["load"]) for r in rows})
    if not loads:
        return None
    below = [a for a in loads if a < alpha_c]
    above = [a for a in loads if a > alpha_c]
    parts = []
    if below:
        a = below[-1]
        means = {r["rule"]: r["mean"] for r in rows if _num(r["load"]) == a
                 and _num(r.get("mean")) is not None}
        good = sorted(rule for rule, m in means.items() if m >= 0.9)
        verb = "recalls" if len(good) == 1 else "recall"
        parts.append(f"at load {a:g}, below alpha_c = {alpha_c:g}, {len(good)} of {len(means)} "
                     f"rules {verb} at least 90% of the patterns"
                     + (f" ({', '.join(good)})" if 0 < len(good) < len(means) else ""))
    if above:
        a = above[0]
        means = {r["rule"]: float(r["mean"]) for r in rows if _num(r["load"]) == a
                 and _num(r.get("mean")) is not None}
        if means:
            best, worst = _best_worst(means)
            text = f"at {a:g} {best} still recalls {means[best]:.2f} of them"
            if worst != best:
                text += f" and {worst} {means[worst]:.2f}"
            parts.append(text)
    return ("; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + ".") if parts else None


def _palimpsest_sentence(rows):
    pts = [r for r in rows if r["task"] == "palimpsest" and r["metric"] == "recalled_fraction"
           and _num(r.get("age")) is not None]
    if not pts:
        return None
    n = max(int(_num(r["n_neurons"])) for r in pts)
    probs = _means([r for r in pts if int(_num(r["n_neurons"])) == n],
                   lambda r: (r["rule"], int(_num(r["age"]))))
    reach = {}
    for (rule, age), p in probs.items():
        reach.setdefault(rule, 0)
        if p >= 0.5:
            reach[rule] = max(reach[rule], age)
    some = sorted((r for r in reach if reach[r]), key=lambda r: -reach[r])
    none = sorted(r for r in reach if not reach[r])
    parts = []
    if some:
        parts.append("a pattern is recalled with probability at least 0.5 up to age "
                     + _and([f"{reach[r]} for {r}" for r in some]))
    if none:
        parts.append(f"{_and(none)} recall{'s' if len(none) == 1 else ''} not even the newest "
                     "pattern that often")
    return f"At N = {n} " + "; ".join(parts) + "."


def _lifetime_sentence(summary_rows):
    rows = [r for r in summary_rows if r.get("metric") == "lifetime"
            and _num(r.get("n_neurons")) is not None and _num(r.get("mean")) is not None]
    sizes = sorted({int(_num(r["n_neurons"])) for r in rows})
    if len(sizes) < 2:
        return None
    life = {}
    for r in rows:
        life.setdefault(r["rule"], {})[int(_num(r["n_neurons"]))] = float(r["mean"])
    n0, n1 = sizes[0], sizes[-1]
    both = {rule: v for rule, v in life.items() if n0 in v and n1 in v}
    if not both:
        return None
    best = max(both, key=lambda rule: both[rule][n1])
    text = (f"From N = {n0} to N = {n1} the lifetime of {best}, the longest at N = {n1}, goes "
            f"from {both[best][n0]:.1f} to {both[best][n1]:.1f} patterns")
    binary = life.get("stochastic_binary", {})
    if len(binary) >= 2:
        ns = sorted(binary)
        b, a = np.polyfit(np.log(ns), [binary[k] for k in ns], 1)
        text += f"; stochastic_binary's least-squares {fit_label(a, b)}"
    return text + "."


def memory_findings(summary_rows, rows, alpha_c) -> dict:
    """The findings of the memory study's figures (``capacity``, ``palimpsest_age``,
    ``lifetime``); ``alpha_c`` is the critical load of Hebbian storage, which separates the
    loads compared in the capacity sentence."""
    out = {}
    for name, text in (("capacity", _capacity_sentence(summary_rows, alpha_c)),
                       ("palimpsest_age", _palimpsest_sentence(rows)),
                       ("lifetime", _lifetime_sentence(summary_rows))):
        if text:
            out[name] = text
    return out


# -- spacing ---------------------------------------------------------------------------------------
def _delay_words(seconds) -> str:
    return "A day" if seconds == 86400 else f"{seconds / 3600:g} h"


def _interval_words(seconds) -> str:
    return "massed" if seconds == 0 else f"{seconds / 60:g} min apart"


def _and(parts) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def spacing_findings(rows) -> dict:
    """The findings of the spacing study's figures (``spacing_retention``,
    ``spacing_trajectories``): what each rule keeps at the longest delay, best interval
    against massed, and how its phases end."""
    out = {}
    ret = [r for r in rows if r["task"] == "retention"]
    if ret:
        delay = max(float(r["delay_s"]) for r in ret)
        parts = []
        for rule in sorted({r["rule"] for r in ret}):
            mine = [r for r in ret if r["rule"] == rule and float(r["delay_s"]) == delay]
            metric = "late" if any(r["metric"] == "late" for r in mine) else "weight_change"
            kept = _means(mine, lambda r: float(r["interval_s"]), metric=metric)
            if not kept:
                continue
            best = max(kept, key=kept.get)
            what = "a late-phase weight" if metric == "late" else "a weight change"
            text = f"{rule} keeps {what} of {kept[best]:.3g}"
            text += " massed" if best == 0 else f" with repetitions {best / 60:g} min apart"
            if best != 0 and 0.0 in kept:
                text += f" against {kept[0.0]:.3g} massed"
            parts.append(text)
        if parts:
            out["spacing_retention"] = (f"{_delay_words(delay)} after the last repetition, "
                                        + "; ".join(parts) + ".")
    tra = [r for r in rows if r["task"] == "trajectory"]
    parts, end = [], None
    for rule in sorted({r["rule"] for r in tra}):
        mine = [r for r in tra if r["rule"] == rule]
        end = max(float(r["delay_s"]) for r in mine)
        last = [r for r in mine if float(r["delay_s"]) == end]
        metric = "late" if any(r["metric"] == "late" for r in last) else "weight_change"
        final = _means(last, lambda r: float(r["interval_s"]), metric=metric)
        if not final:
            continue
        ends = _and([f"{v:.3g} ({_interval_words(i)})" for i, v in sorted(final.items())])
        if metric == "late":
            early = _means(mine, lambda r: float(r["delay_s"]), metric="early")
            peak = max(early.values()) if early else math.nan
            left = early.get(end, math.nan)
            gone = ("has decayed below 0.1% of it" if abs(left) < 1e-3 * abs(peak)
                    else f"has decayed to {left:.3g}")
            parts.append(f"{rule}'s early phase peaks at {peak:.3g} and {gone}, while its late "
                         f"phase settles at {ends}")
        else:
            parts.append(f"{rule}'s weight change is {ends}")
    if parts:
        out["spacing_trajectories"] = (f"{_delay_words(end)} after the last repetition, "
                                       + "; ".join(parts) + ".")
    return out
