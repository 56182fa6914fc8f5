"""Tidy metric tables (CSV with exact floats) and their summaries over seeds."""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
from collections.abc import Mapping

import numpy as np

from ._files import write_text

#: the standard columns of ``metrics.csv``, in order; study-specific columns come after them
METRIC_COLUMNS = ("rule", "seed", "task", "step", "metric", "value")
_STR_COLUMNS = ("rule", "task", "metric")
_INT_COLUMNS = ("seed", "step")


def _cell(value, column, index) -> str:
    """The CSV text of one value: floats as ``repr`` (exact), None as an empty cell."""
    kind = type(value)  # the common types first
    if kind is float:
        return repr(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return ""
    if isinstance(value, (str, bool)):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    raise TypeError(f"row {index}, column {column!r}: {type(value).__name__} value {value!r:.40} "
                    "cannot be written to CSV (allowed: str, int, float, bool, None)")


def _standard_cells(row, index) -> list:
    try:  # the common row: exact built-in types, checked at once (the studies write ~10^5)
        rule, seed, task, step, metric, value = (row["rule"], row["seed"], row["task"],
                                                 row["step"], row["metric"], row["value"])
    except KeyError:
        pass
    else:
        if (type(rule) is str and type(task) is str and type(metric) is str
                and type(seed) is int and type(step) is int and type(value) is float):
            return [rule, str(seed), task, str(step), metric, repr(value)]
    cells = []
    for column in METRIC_COLUMNS:
        if column not in row:
            raise ValueError(f"row {index}: column {column!r} is missing (every row needs "
                             f"{', '.join(METRIC_COLUMNS)})")
        value = row[column]
        if column in _STR_COLUMNS and not isinstance(value, str):
            raise TypeError(f"row {index}, column {column!r}: {value!r} is not a str")
        if column in _INT_COLUMNS and (isinstance(value, (bool, np.bool_))
                                       or not isinstance(value, numbers.Integral)):
            raise TypeError(f"row {index}, column {column!r}: {value!r} is not an int")
        if column == "value" and (isinstance(value, (bool, np.bool_))
                                  or not isinstance(value, numbers.Real)):
            raise TypeError(f"row {index}, column 'value': {value!r} is not a real number")
        cells.append(repr(float(value)) if column == "value" else _cell(value, column, index))
    return cells


def extra_columns_of(rows) -> tuple:
    """The keys of ``rows`` beyond :data:`METRIC_COLUMNS`, in the order they first appear."""
    seen = {}
    for row in rows:
        for key in row:
            if key not in METRIC_COLUMNS:
                seen.setdefault(key, None)
    return tuple(seen)


def _check_extra_columns(extra_columns) -> tuple:
    extra = tuple(extra_columns)
    for name in extra:
        if not isinstance(name, str) or not name:
            raise TypeError(f"extra_columns: {name!r} is not a column name (a non-empty str)")
        if name in METRIC_COLUMNS:
            raise ValueError(f"extra_columns: {name!r} is a standard column")
    if len(set(extra)) != len(extra):
        raise ValueError(f"extra_columns: {list(extra)} repeats a name")
    return extra


def _csv_text(header, lines) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue()


def write_metrics(path, rows, extra_columns=()) -> str:
    """Write metric rows to ``path`` as tidy CSV, atomically; return ``path``.

    Parameters
    ----------
    rows : iterable of dict
        One measurement a row, with the keys :data:`METRIC_COLUMNS`: ``rule``, ``task`` and
        ``metric`` str; ``seed`` and ``step`` int; ``value`` a real number (written as a float),
        plus the ``extra_columns`` (str, int, float, bool or None; a missing key is None).
    extra_columns : sequence of str
        Study-specific columns, written after the standard ones in this order. A row key that
        is neither standard nor listed raises :class:`ValueError` (:func:`extra_columns_of`
        lists a set of rows' extra keys).

    Rows are written in the order given; floats as ``repr`` and None as an empty cell, so the
    same rows give a byte-identical file and :func:`read_metrics` gives the same numbers back.
    """
    extra = _check_extra_columns(extra_columns)
    allowed = set(METRIC_COLUMNS) | set(extra)
    lines = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"row {index}: expected a dict, got {type(row).__name__}")
        unknown = [k for k in row if k not in allowed]
        if unknown:
            raise ValueError(f"row {index}: unexpected column(s) {', '.join(map(repr, unknown))}; "
                             "list study-specific columns in extra_columns")
        lines.append(_standard_cells(row, index) + [_cell(row.get(c), c, index) for c in extra])
    return write_text(path, _csv_text(METRIC_COLUMNS + extra, lines))


def _parse_number(text, column, where):
    """An int for integer text, True/False for booleans, else a float; None for an empty cell."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}, column {column!r}: {text!r} is not a number") from None


def _read_csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{os.fspath(path)}: empty file (expected a CSV header)")
        return header, list(reader)


def read_metrics(path, numeric=()) -> list:
    """Read a metrics CSV written by :func:`write_metrics` into a list of dicts.

    ``seed`` and ``step`` come back as int and ``value`` as float (bit-identical to what was
    written). Extra columns are str, except those named in ``numeric``: those are parsed by their
    text (``"3"`` -> int, ``"3.0"``/``"nan"`` -> float, ``"True"`` -> bool, empty -> None), which
    restores what :func:`write_metrics` was given since it writes floats with a decimal point.
    """
    path = os.fspath(path)
    header, lines = _read_csv(path)
    if tuple(header[:len(METRIC_COLUMNS)]) != METRIC_COLUMNS:
        raise ValueError(f"{path}: not a metrics file: the header must start with "
                         f"{','.join(METRIC_COLUMNS)}, found {','.join(header)}")
    numeric = set(numeric)
    rows = []
    for k, cells in enumerate(lines, start=2):
        if len(cells) != len(header):
            raise ValueError(f"{path}, line {k}: {len(cells)} cells for {len(header)} columns")
        row = dict(zip(header, cells))
        try:
            row["seed"], row["step"], row["value"] = (int(row["seed"]), int(row["step"]),
                                                      float(row["value"]))
        except ValueError as exc:
            raise ValueError(f"{path}, line {k}: {exc}") from None
        for column in header[len(METRIC_COLUMNS):]:
            if column in numeric:
                row[column] = _parse_number(row[column], column, f"{path}, line {k}")
        rows.append(row)
    return rows


# -- summaries -------------------------------------------------------------------------------------

#: the statistics columns of a summary row, in order (after the ``by`` columns)
SUMMARY_COLUMNS = ("mean", "std", "ci95", "ci_low", "ci_high", "n", "n_nan")
_REDUCERS = ("last", "first", "mean", "max", "min")


def _filter(rows, metrics, where):
    if isinstance(metrics, str):
        metrics = (metrics,)
    if metrics is not None:
        metrics = set(metrics)
    if where is not None and not (callable(where) or isinstance(where, Mapping)):
        raise TypeError(f"where: expected a dict of column -> value(s) or a function of a row, "
                        f"got {type(where).__name__}")
    out = []
    for row in rows:
        if metrics is not None and row["metric"] not in metrics:
            continue
        if callable(where) and not where(row):
            continue
        if isinstance(where, Mapping) and not all(
                row.get(k) in v if isinstance(v, (list, tuple, set, frozenset)) else row.get(k) == v
                for k, v in where.items()):
            continue
        out.append(row)
    return out


def _reduce_series(rows, reduce):
    """One row per series (every column but ``step`` and ``value``), reduced over its steps."""
    if reduce not in _REDUCERS:
        raise ValueError(f"reduce={reduce!r}: allowed {', '.join(map(repr, _REDUCERS))} or None")
    series = {}
    for row in rows:
        key = tuple(sorted((k, v) for k, v in row.items() if k not in ("step", "value")))
        series.setdefault(key, []).append(row)
    out = []
    for members in series.values():
        if reduce in ("last", "first"):
            # max/min keep the first of equal steps; for "last" the later row of a tie wins
            pick = (max(reversed(members), key=lambda r: r["step"]) if reduce == "last"
                    else min(members, key=lambda r: r["step"]))
            out.append(dict(pick))
            continue
        values = np.array([r["value"] for r in members], dtype=float)
        finite = values[~np.isnan(values)]
        row = dict(max(reversed(members), key=lambda r: r["step"]))
        if reduce == "mean":
            row["value"] = float(finite.mean()) if finite.size else math.nan
        elif finite.size:
            best = int(np.flatnonzero(values == (finite.max() if reduce == "max"
                                                 else finite.min()))[0])
            row = dict(members[best])
        else:
            row["value"] = math.nan
        out.append(row)
    return out


def final_values(rows, metrics=None) -> list:
    """The row of the last step of every series: one per (rule, seed, task, metric, extra columns).

    ``metrics`` (a name or a list of names) keeps only those metrics. Of rows with the same
    step, the later one wins. Rows keep their order of first appearance.
    """
    return _reduce_series(_filter(rows, metrics, None), "last")


def _stats(values) -> dict:
    from scipy import stats
    values = np.asarray(values, dtype=float)
    nan = np.isnan(values)
    v = values[~nan]
    n = int(v.size)
    mean = float(v.mean()) if n else math.nan
    if n > 1:
        std = float(v.std(ddof=1))
        half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))
    else:
        std = half = math.nan
    return {"mean": mean, "std": std, "ci95": half, "ci_low": mean - half, "ci_high": mean + half,
            "n": n, "n_nan": int(nan.sum())}


def summarize(rows, metrics=None, by=("rule", "metric"), where=None, reduce="last") -> list:
    """Mean, standard deviation and 95% confidence interval of metric values, per group.

    Parameters
    ----------
    rows : list of dict
        Metric rows (:func:`read_metrics`, or the rows a study produced).
    metrics : str or list of str, optional
        Keep only these metrics (default: all).
    by : sequence of str
        The columns that define a group; one summary row per distinct combination, in the order
        of first appearance. Include ``"task"`` when a study has several tasks.
    where : dict or callable, optional
        Keep only matching rows: ``{column: value}`` (or a list of allowed values), or a function
        ``row -> bool``.
    reduce : {"last", "first", "mean", "max", "min"} or None
        First reduce every series (the rows that differ only in ``step`` and ``value``: one rule,
        seed, task, metric) to one value: its last step (default: the final value of each seed),
        first step, mean over steps, or best (max/min) value. None uses the rows as they are.

    Returns
    -------
    list of dict
        The ``by`` columns, then ``mean``, ``std`` (ddof=1), ``ci95`` (half-width of the Student-t
        interval, ``t.ppf(0.975, n - 1) * std / sqrt(n)``), ``ci_low``, ``ci_high``, ``n`` (values
        used) and ``n_nan`` (NaN values left out, e.g. diverged runs). With ``n == 1`` std and the
        interval are NaN.
    """
    by = (by,) if isinstance(by, str) else tuple(by)
    rows = _filter(rows, metrics, where)
    if reduce is not None:
        rows = _reduce_series(rows, reduce)
    groups = {}
    for index, row in enumerate(rows):
        missing = [c for c in by if c not in row]
        if missing:
            raise ValueError(f"by: row {index} has no column {missing[0]!r}")
        groups.setdefault(tuple(row[c] for c in by), []).append(row["value"])
    return [{**dict(zip(by, key)), **_stats(values)} for key, values in groups.items()]


def write_summary(path, summary_rows) -> str:
    """Write :func:`summarize` rows to ``path`` as CSV, atomically: the group columns (in order of
    first appearance), then :data:`SUMMARY_COLUMNS`; floats as ``repr``. Returns ``path``."""
    summary_rows = list(summary_rows)
    keys = {}
    for row in summary_rows:
        for key in row:
            if key not in SUMMARY_COLUMNS:
                keys.setdefault(key, None)
    header = tuple(keys) + SUMMARY_COLUMNS
    lines = [[_cell(row.get(c), c, i) for c in header] for i, row in enumerate(summary_rows)]
    return write_text(path, _csv_text(header, lines))


def read_summary(path) -> list:
    """Read a summary CSV: statistics as float (``n``, ``n_nan`` int), group columns as str."""
    header, lines = _read_csv(path)
    rows = []
    for k, cells in enumerate(lines, start=2):
        row = dict(zip(header, cells))
        for column in SUMMARY_COLUMNS:
            if column in row:
                row[column] = _parse_number(row[column], column, f"{os.fspath(path)}, line {k}")
                if column not in ("n", "n_nan") and row[column] is not None:
                    row[column] = float(row[column])
        rows.append(row)
    return rows
