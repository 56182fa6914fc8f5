"""The grid of a sweep: ``--grid key=v1,v2`` parsed to the field types, its points (the Cartesian
product), the columns the swept values take in ``metrics.csv`` and ``summary.csv``, labels, and
the summary per point.

A grid is a list of ``(key, values)`` in the order given; the points are every combination of
one value per key, the first key outermost. A swept value is a column of every row of the
point's runs, named after its key (``lr``), or ``grid_KEY`` when the key is already a column
of the study's rows (a standard column or one of :attr:`Study.extra_columns`, e.g. the memory
study's ``n_neurons``). A tuple value is stored as its ``--set`` text (``1,2``).

A study without a grid is a sweep of one point with no swept columns, so ``brainlearn run``
writes exactly the files it always wrote.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import types
import typing
from typing import Union
from urllib.parse import quote

from ._base import config_fields, parse_overrides

__all__ = ["Grid", "parse_grid", "grid_from_record", "summarize_points"]

#: the prefix of a swept column whose key is already a column of the study's rows
COLUMN_PREFIX = "grid_"
_STANDARD = ("rule", "seed", "task", "step", "metric", "value")


def _is_sequence_type(tp) -> bool:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return any(_is_sequence_type(a) for a in typing.get_args(tp) if a is not type(None))
    return origin in (tuple, list) or tp in (tuple, list)


def value_text(value) -> str:
    """A swept value as text: ``--set`` syntax (tuples comma-separated, None as ``none``)."""
    if value is None:
        return "none"
    if isinstance(value, (tuple, list)):
        return ",".join(value_text(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _cell(value):
    """A swept value as it is stored in a CSV cell: scalars as they are, tuples as text."""
    if isinstance(value, (tuple, list)):
        return value_text(value)
    return value


def _same(a, b) -> bool:
    return json.dumps(_jsonable(a)) == json.dumps(_jsonable(b))


def _jsonable(value):
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


@dataclasses.dataclass(frozen=True)
class Grid:
    """The grid of a sweep: ``keys`` (configuration fields, in the order given), ``values`` (a
    tuple of parsed values per key) and ``columns`` (the column of each key in the results).
    An empty grid (no keys) has one point, ``{}``."""

    keys: tuple = ()
    values: tuple = ()
    columns: tuple = ()

    def __bool__(self) -> bool:
        return bool(self.keys)

    def __len__(self) -> int:
        """The number of points."""
        return math.prod(len(v) for v in self.values)

    @property
    def points(self) -> list:
        """Every point, ``{key: value}``, the first key outermost (``[{}]`` without a grid)."""
        return [dict(zip(self.keys, combo)) for combo in itertools.product(*self.values)]

    def cells(self, point) -> dict:
        """``{column: cell value}`` of a point: what its rows carry in the swept columns."""
        return {c: _cell(point[k]) for k, c in zip(self.keys, self.columns)}

    def label(self, point) -> str:
        """``lr=0.01,hidden=20``: a point in words (for messages and figure titles)."""
        return ",".join(f"{k}={value_text(point[k])}" for k in self.keys)

    def file_label(self, index) -> str:
        """A file-name-safe label of point ``index`` (its :meth:`label`; ``pINDEX`` when that
        would be long)."""
        text = quote(self.label(self.points[index]), safe="=,.-+_")
        return text if len(text) <= 80 else f"p{index}"

    def record(self) -> list:
        """The grid as ``config.json`` stores it: ``[{"key": KEY, "values": [...]}, ...]`` (a
        list, so that the order of the keys is kept)."""
        return [{"key": k, "values": list(v)} for k, v in zip(self.keys, self.values)]

    def describe(self) -> str:
        """``lr=0.01,0.05 hidden=20,40``: the grid as ``--grid`` options would give it."""
        return " ".join(f"{k}=" + (";" if any(isinstance(v, (tuple, list)) for v in vals)
                                   else ",").join(value_text(v) for v in vals)
                        for k, vals in zip(self.keys, self.values))


def _split_text(key, text, sequence) -> list:
    """The values of ``--grid KEY=TEXT``: comma-separated; semicolon-separated for a field that
    is itself a list (``--grid widths=1,2;3,4``)."""
    sep = ";" if sequence else ","
    parts = [p.strip() for p in text.split(sep)]
    if not text.strip() or (not sequence and any(p == "" for p in parts)):
        raise ValueError(f"--grid {key}={text}: expected values separated by '{sep}' "
                         f"(--grid {key}=V1{sep}V2{sep}...)")
    return parts


def parse_grid(study, grid, overrides=None) -> Grid:
    """The :class:`Grid` of ``grid`` for ``study``, every value parsed and checked like
    ``--set`` (:func:`~brainlearn.studies.parse_overrides`).

    Parameters
    ----------
    grid : dict or list of (key, values), optional
        ``{key: values}``: ``values`` a list of values (text parsed to the field's type, other
        values of the field's type), or one text of comma-separated values (semicolons for a
        field that is a list itself). None or empty: no grid.
    overrides : dict, optional
        The ``--set`` keys: a key may not be both set and swept.

    Raises
    ------
    ValueError, TypeError
        One line naming the key and the value: unknown key, a value of the wrong type, no
        values, a value given twice, a key also in ``overrides``.
    """
    if grid is None:
        return Grid()
    if hasattr(grid, "items"):
        items = list(grid.items())
    elif isinstance(grid, (list, tuple)) and all(isinstance(i, (list, tuple)) and len(i) == 2
                                                 for i in grid):
        items = [tuple(i) for i in grid]
    else:
        raise TypeError(f"grid: expected a dict of key -> values, got {type(grid).__name__}")
    fields = config_fields(study.Config)
    allowed = ", ".join(fields)
    taken = set(overrides or ())
    keys, values, seen = [], [], set()
    for key, given in items:
        if not isinstance(key, str) or key not in fields:
            raise ValueError(f"--grid {key}: unknown key (allowed: {allowed})")
        if key in seen:
            raise ValueError(f"--grid {key}: the key is given twice (give its values once: "
                             f"--grid {key}=V1,V2,...)")
        seen.add(key)
        if key in taken:
            raise ValueError(f"--grid {key}: the key is also given with --set (a key is either "
                             "set or swept)")
        sequence = _is_sequence_type(fields[key])
        if isinstance(given, str):
            texts = _split_text(key, given, sequence)
        elif isinstance(given, (list, tuple)):
            texts = list(given)
            if not texts:
                raise ValueError(f"--grid {key}: no values")
        else:
            raise TypeError(f"--grid {key}={given!r}: expected a list of values")
        parsed = []
        for text in texts:
            value = parse_overrides(study.Config, {key: text}, option="--grid")[key]
            if any(_same(value, v) for v in parsed):
                raise ValueError(f"--grid {key}: the value {value_text(value)} is given twice")
            parsed.append(value)
        keys.append(key)
        values.append(tuple(parsed))
    taken_columns = set(_STANDARD) | set(study.extra_columns)
    columns = tuple(COLUMN_PREFIX + k if k in taken_columns else k for k in keys)
    return Grid(tuple(keys), tuple(values), columns)


def grid_from_record(study, stored) -> Grid:
    """The :class:`Grid` a ``config.json`` (``stored``) records (empty when it has none)."""
    from ._base import _from_json
    entries = stored.get("grid") if isinstance(stored, dict) else None
    if not entries:
        return Grid()
    fields = config_fields(study.Config)
    grid = {}
    try:
        for entry in entries:
            key = entry["key"]
            grid[key] = [_from_json(v, fields.get(key, typing.Any)) for v in entry["values"]]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"config.json: the stored grid {entries!r:.80} is not a list of "
                         f"{{key, values}} ({type(exc).__name__}: {exc})") from None
    return parse_grid(study, grid)


def rows_of_point(rows, grid, point) -> list:
    """The rows of one point (matched on the swept columns as stored in the CSV files)."""
    want = {c: _text(v) for c, v in grid.cells(point).items()}
    return [r for r in rows if all(_text(r.get(c)) == t for c, t in want.items())]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def without_columns(rows, columns) -> list:
    """Copies of ``rows`` without ``columns``."""
    if not columns:
        return rows
    drop = set(columns)
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def summarize_points(study, rows, grid, configs) -> list:
    """The rows of ``summary.csv`` of a sweep: the study's own summary of every point
    (:meth:`Study.summarize` of the point's rows, without the swept columns, and the point's
    configuration), each row led by the swept columns. Without a grid: the study's summary."""
    if not grid:
        return study.summarize(rows, configs[0])
    out = []
    for point, config in zip(grid.points, configs):
        mine = without_columns(rows_of_point(rows, grid, point), grid.columns)
        if not mine:
            continue
        out += [{**grid.cells(point), **row} for row in study.summarize(mine, config)]
    return out

