"""The finding of each figure of the learning study: one sentence each, with the numbers the
figures show (means over seeds of the final values), computed from the stored rows alone."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["learning_findings"]

_CONTROLS = ("random_features", "pca", "static_spiking")


def _ends(rows, metric, last=True):
    """``{rule: mean over seeds of the metric's last (or first) value}`` (finite values only),
    rules in order of first appearance."""
    ends = {}
    for r in rows:
        if r["metric"] != metric:
            continue
        key = (r["rule"], int(r["seed"]))
        step = int(r["step"])
        if key not in ends or (step >= ends[key][0] if last else step < ends[key][0]):
            ends[key] = (step, float(r["value"]))
    out = {}
    for (rule, _), (_, v) in ends.items():
        if math.isfinite(v):
            out.setdefault(rule, []).append(v)
    return {rule: float(np.mean(v)) for rule, v in out.items()}


def _finals(rows, metric):
    return _ends(rows, metric, last=True)


def _firsts(rows, metric):
    return _ends(rows, metric, last=False)


def _listing(values, fmt="{:.2f}"):
    return ", ".join(f"{rule} {fmt.format(v)}" for rule, v in
                     sorted(values.items(), key=lambda kv: -kv[1]))


def _curves_sentence(rows):
    acc = _finals(rows, "test_accuracy")
    roles = {r["rule"]: r.get("role") for r in rows}
    supervised = {k: v for k, v in acc.items() if roles.get(k) in ("end_to_end", "single_layer")}
    local = {k: v for k, v in acc.items() if roles.get(k) == "hidden" and k not in _CONTROLS}
    parts = []
    if supervised:
        parts.append("Trained on the labels, " + _listing(supervised, "{:.3f}"))
    if local:
        text = "read out from their frozen hidden layers, " + _listing(local, "{:.3f}")
        refs = [f"{c.replace('_', ' ')} {acc[c]:.3f}" for c in _CONTROLS if c in acc]
        if refs:
            text += " against " + " and ".join(refs)
            if "random_features" in acc:
                base = acc["random_features"]
                above = sorted(k for k, v in local.items() if v > base + 0.01)
                text += (": none beats the random features by more than 0.01" if not above
                         else f": {', '.join(above)} beat{'s' if len(above) == 1 else ''} "
                              "the random features by more than 0.01")
        parts.append(text)
    start = _firsts(rows, "test_accuracy")
    fallen = {k: (start[k], v) for k, v in local.items() if k in start and v < start[k] - 0.05}
    for rule, (a, b) in sorted(fallen.items()):
        parts.append(f"{rule} falls from {a:.2f} to {b:.2f} as it learns")
    if not parts:
        return None
    return "; ".join(parts) + " (final test accuracy, mean over seeds)."


def _objectives_sentence(rows):
    parts = []
    pc = _finals(rows, "pc_alignment")
    pc0 = _firsts(rows, "pc_alignment")
    if "sanger" in pc:
        parts.append(f"Sanger's units align with the principal components in order "
                     f"({pc0.get('sanger', math.nan):.2f} -> {pc['sanger']:.2f} mean |cos|)")
    if "oja" in pc:
        parts.append(f"Oja's independent units all turn to the first component "
                     f"({pc0.get('oja', math.nan):.2f} -> {pc['oja']:.2f})")
    sel = _finals(rows, "selectivity")
    sel0 = _firsts(rows, "selectivity")
    learned = {k: v for k, v in sel.items() if k not in _CONTROLS and k in sel0}
    if learned:
        best = max(learned, key=learned.get)
        text = (f"{best} makes its units the most class-selective ({sel0[best]:.2f} -> "
                f"{learned[best]:.2f}")
        if "random_features" in sel:
            text += f"; random features {sel['random_features']:.2f}"
        parts.append(text + ")")
    dead = _finals(rows, "dead_units")
    if dead:
        worst = max(dead, key=dead.get)
        parts.append("no rule leaves dead units" if dead[worst] == 0 else
                     f"{worst} leaves the most dead units ({dead[worst]:.0f})")
    change = _finals(rows, "weight_change")
    change0 = _firsts(rows, "weight_change")
    if change:
        # with a constant learning rate the weights settle into fluctuations around their fixed
        # point: the change per chunk falls to a floor rather than to zero
        falls = {k: change0[k] / v for k, v in change.items() if k in change0 and v > 0}
        parts.append("the relative weight change per chunk falls from the first chunk to the "
                     "last by " + ", ".join(f"{k} {f:.0f}x" if f >= 1.95 else
                                            f"{k} {f:.1f}x" for k, f in
                                            sorted(falls.items(), key=lambda kv: -kv[1])))
    if not parts:
        return None
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _final_sentence(rows):
    acc = _finals(rows, "final_test_accuracy")
    if len(acc) < 2:
        return None
    best = max(acc, key=acc.get)
    worst = min(acc, key=acc.get)
    return (f"Final test accuracy ranges from {acc[worst]:.3f} ({worst}) to {acc[best]:.3f} "
            f"({best}).")


def _fields_sentence(rows):
    pc = _finals(rows, "pc_alignment")
    dead = _finals(rows, "dead_units")
    parts = []
    if "sanger" in pc:
        parts.append(f"Sanger's fields are the eigen-digits of the PCA row (alignment "
                     f"{pc['sanger']:.2f})")
    if "oja" in pc:
        parts.append(f"Oja's are all the first eigen-digit ({pc['oja']:.2f})")
    if "competitive" in dead:
        n = dead["competitive"]
        parts.append("competitive units become digit prototypes, none dead" if n == 0 else
                     f"competitive units become prototypes, but {n:.0f} never win")
    if not parts:
        return None
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def learning_findings(summary_rows, rows) -> dict:
    """``{figure: sentence}`` of the learning study's figures (those whose data are present)."""
    out = {}
    for name, make in (("learning_curves", _curves_sentence), ("objectives", _objectives_sentence),
                       ("final_accuracy", _final_sentence),
                       ("receptive_fields", _fields_sentence)):
        text = make(rows)
        if text:
            out[name] = text
    return out


def _num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _span(values):
    """``8, 16, 32`` for the swept values."""
    return ", ".join(f"{v:g}" for v in values)


def learning_sweep_findings(summary_rows, grid) -> dict:
    """The finding of ``sweep_final_test_accuracy``: where, along the first swept key (and in
    each panel of the others), a local rule's readout beats the random features by more than
    both 95% CIs, and how the exact PCA compares with backprop."""
    columns = list(grid.columns)
    if not columns:
        return {}
    x_col, others = columns[0], columns[1:]
    rows = [r for r in summary_rows if r["metric"] == "final_test_accuracy"]
    table = {}
    for r in rows:
        panel = tuple(str(r.get(c)) for c in others)
        table.setdefault(panel, {}).setdefault(r["rule"], {})[_num(r.get(x_col))] = (
            _num(r.get("mean")), _num(r.get("ci95")))
    parts = []
    for panel, rules in table.items():
        base = rules.get("random_features")
        if not base:
            continue
        where = {}
        for rule, pts in rules.items():
            if rule in _CONTROLS or rule == "backprop":
                continue
            wins = sorted(x for x, (m, h) in pts.items() if x in base and math.isfinite(m)
                          and m - np.nan_to_num(h) > base[x][0] + np.nan_to_num(base[x][1]))
            if wins:
                x = wins[0]
                where[rule] = f"{rule} at {x_col} {_span(wins)} ({pts[x][0]:.2f} against " \
                              f"{base[x][0]:.2f} at {x:g})"
        label = ", ".join(f"{c}={v}" + (" (all)" if c == "labels_per_class" and v == "0" else "")
                          for c, v in zip(others, panel))
        text = (f"{label}: " if label else "") + (
            "learned features beat the random ones (beyond both 95% CIs) with "
            + "; ".join(where.values()) if where else
            "no learned layer beats the random features beyond the 95% CIs")
        pca, bp = rules.get("pca"), rules.get("backprop")
        if pca and bp:
            top = max(set(pca) & set(bp))
            text += (f"; exact PCA {pca[top][0]:.2f} against backprop's {bp[top][0]:.2f} at "
                     f"{x_col} {top:g}")
        parts.append(text)
    if not parts:
        return {}
    return {"sweep_final_test_accuracy": ". ".join(parts) + "."}
