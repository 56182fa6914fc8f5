"""The :class:`Study` base class, the study registry and configuration handling.

A study is a named comparison: a frozen ``Config`` dataclass (full size by default,
``Config.quick()`` the quick size), one run per (rule, seed) returning tidy metric rows, and
figures drawn from those rows alone. :func:`brainlearn.studies.run_study` does everything else
(results folder, workers, resume, summary, figures).

Determinism: a run is seeded from (config, rule, seed) only, so ``metrics.csv`` is
byte-identical for the same settings. Metrics that measure the machine instead (wall time) are
declared in :attr:`Study.timing_metrics`; their rows are stored in ``timings.csv`` beside
``metrics.csv`` and reach :meth:`Study.summarize` and :meth:`Study.figures` with the others.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, Literal, Union

__all__ = ["Study", "register_study", "unregister_study", "get_study", "available_studies",
           "config_fields", "parse_overrides", "config_to_dict", "config_from_dict"]


class Study:
    """Base class of a study; subclass it, then register one instance with :func:`register_study`.

    Class attributes
    ----------------
    name : str
        The study's name (``brainlearn run NAME``; also the results folder ``OUT/NAME``).
    summary : str
        One line for ``brainlearn studies``.
    Config : type
        A frozen dataclass of the study's settings; its defaults are the full size and the
        classmethod ``Config.quick()`` (optional) gives the quick size. Fields may be bool, int,
        float, str, ``X | None``, ``Literal[...]`` or ``tuple[X, ...]``: ``--set key=value``
        parses the text to the field's type.
    headline : tuple of str
        The metrics summarised in ``summary.csv`` (the final value of each rule/seed/task,
        then mean, std and 95% CI over seeds). Empty: every metric.
    extra_columns : tuple of str
        Study-specific ``metrics.csv`` columns after the standard six.
    timing_metrics : tuple of str
        Metrics that measure the machine, not the model (e.g. ``"wall_time"``): they differ
        between two runs with the same seed, so their rows go to ``timings.csv`` (the same
        columns as ``metrics.csv``) and ``metrics.csv`` stays byte-identical for the same
        seeds. They are summarised (when in :attr:`headline`) and given to :meth:`figures`
        like any other metric.
    summary_by : tuple of str
        The columns that define a group of ``summary.csv`` (default rule, task, metric). Add
        the extra columns that name a condition (e.g. a scenario), so that conditions are not
        pooled as if they were seeds.
    captions : dict
        ``{figure name: one-sentence caption}``, written to ``figures/captions.json`` for the
        report.

    Methods to override: :meth:`run_one` (required), :meth:`figures`, :meth:`findings`,
    :meth:`overview`, :meth:`fits` (or :meth:`default_rules` / :meth:`valid_rules` when the
    study uses its own labels).

    Divergence: a run that diverges raises :class:`brainlearn.DivergenceError`; the runner
    records status ``diverged`` with ``exc.step`` and keeps the rows the study attached as
    ``exc.rows`` (e.g. the curve up to the divergence, and NaN final values so that
    ``summary.csv`` counts the run in ``n_nan``). Any other exception records ``failed`` with
    the traceback; the other runs go on.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Config: ClassVar[type] = None
    headline: ClassVar[tuple] = ()
    extra_columns: ClassVar[tuple] = ()
    timing_metrics: ClassVar[tuple] = ()
    summary_by: ClassVar[tuple] = ("rule", "task", "metric")
    captions: ClassVar[dict] = {}
    #: what a configuration value means where its number does not say it, for figure labels:
    #: ``{key: {value text: meaning}}`` (e.g. ``{"labels_per_class": {"0": "all"}}``)
    value_names: ClassVar[dict] = {}

    # -- rules ---------------------------------------------------------------------------------
    def fits(self, rule_cls) -> bool:
        """Whether the registered rule class ``rule_cls`` belongs in this study by default
        (decide by its metadata: ``family``, ``needs``, ``constraint``, ...). The base class
        takes every rule that is not a constraint (constraints only make sense in a chain)."""
        return not rule_cls.tags.constraint

    def default_rules(self, config) -> list:
        """The rules run when none are given: every registered rule (plug-ins included) that
        :meth:`fits`, sorted by name."""
        from .. import rules
        return [n for n in rules.available() if self.fits(rules.get(n))]

    def valid_rules(self, config) -> list:
        """Every rule label ``--rules`` accepts: the default rules and every registered rule that
        fits, sorted. Override when the study runs labels of its own (e.g. variants)."""
        from .. import rules
        fitting = [n for n in rules.available() if self.fits(rules.get(n))]
        return sorted(set(fitting) | set(self.default_rules(config)))

    # -- running and drawing ---------------------------------------------------------------------
    def run_one(self, config, rule: str, seed: int) -> list:
        """One run of ``rule`` with ``seed``: tidy rows ``{rule, seed, task, step, metric, value,
        **extra}``. Seeded from ``seed`` only; no Python loop per sample."""
        raise NotImplementedError(f"study {self.name!r} does not implement run_one")

    def figures(self, rows, config, figdir) -> list:
        """Draw every figure of the study from metric ``rows`` (as read back from
        ``metrics.csv`` and ``timings.csv``: :meth:`ResultsDir.read_metrics
        <brainlearn.results.ResultsDir.read_metrics>`) into ``figdir`` (PNG and SVG through
        :func:`brainlearn.plotting.save_figure`); return the file paths."""
        return []

    def summarize(self, rows, config) -> list:
        """The rows of ``summary.csv``: :func:`brainlearn.results.summarize` of the
        :attr:`headline` metrics by :attr:`summary_by` (final value of each series).
        ``rows`` holds every metric, the :attr:`timing_metrics` included."""
        from ..results import summarize
        by = [c for c in self.summary_by if not rows or c in rows[0]]
        return summarize(rows, metrics=list(self.headline) or None, by=by)

    def findings(self, summary_rows, rows, config) -> dict:
        """What each figure shows, one sentence each with the numbers: ``{figure name:
        sentence}`` (default: none), e.g. ``{"retention": "On permuted digits ewc keeps 0.62
        of task 1 against backprop's 0.31 (BWT -0.30 vs -0.57)."}``.

        ``summary_rows`` are the rows of ``summary.csv`` as read back (statistics as numbers,
        group columns as text), ``rows`` every metric row as :meth:`figures` gets them. The
        runner calls it after writing the summary (and ``brainlearn figures`` when it redraws)
        and stores the result as ``figures/findings.json``; the report prints each sentence in
        bold before its figure's caption. Figures without a finding are fine.
        """
        return {}

    def sweep_findings(self, summary_rows, grid) -> dict:
        """The sentences of a sweep's own figures (``sweep_METRIC``), from its summary rows (led
        by the swept columns of ``grid``); default: none. Stored with the other findings."""
        return {}

    def overview(self, summary_rows, config) -> list | None:
        """The summary rows of the report's opening table (a row per rule, a column per metric
        and condition), or None (the default): every row of ``summary.csv``. Override to keep
        that table short when the summary has many conditions (loads, intervals); the report
        lists every row further down. Stored as ``figures/overview.json``."""
        return None

    def settings_record(self, config, rules) -> dict | None:
        """What each rule runs with beyond ``config`` (e.g. tuned learning rates per data set),
        stored in ``config.json`` as ``rule_settings``: ``{rule: {...}}``, or None (the
        default) when the configuration says it all."""
        return None

    # -- configuration ---------------------------------------------------------------------------
    def make_config(self, quick: bool = False, overrides=None):
        """The resolved configuration: ``Config.quick()`` or ``Config()``, then ``overrides``
        (``{key: value}``, text values parsed to the field's type, see :func:`parse_overrides`)."""
        cls = self.Config
        base = cls.quick() if quick and hasattr(cls, "quick") else cls()
        if not overrides:
            return base
        return dataclasses.replace(base, **parse_overrides(cls, overrides))

    def config_from_dict(self, data):
        """A ``Config`` from its stored form (``config.json``'s ``config``): JSON lists become
        tuples where the field is a tuple; missing keys take the full-size defaults; keys the
        Config no longer has are ignored."""
        return config_from_dict(self.Config, data)

    def __repr__(self):
        return f"<study {self.name!r}: {type(self).__module__}.{type(self).__qualname__}>"


# -- registry --------------------------------------------------------------------------------------
_STUDIES: dict = {}


def overrides_end_task(rule_cls) -> bool:
    """True for a rule class that consolidates at task boundaries (it overrides
    :meth:`~brainlearn.rules.LearningRule.end_task`, as EWC and synaptic intelligence do)."""
    from ..rules import LearningRule
    return getattr(rule_cls, "end_task", None) is not LearningRule.end_task


def _check_study(study) -> None:
    if isinstance(study, type):
        raise TypeError(f"register_study: expected a Study instance, got the class "
                        f"{study.__qualname__} (register {study.__qualname__}())")
    if not isinstance(study, Study):
        raise TypeError(f"register_study: expected a Study instance, got {type(study).__name__}")
    name = study.name
    if (not isinstance(name, str) or not name or name.startswith(".") or "/" in name
            or "\\" in name or name != name.strip()):
        raise ValueError(f"study name {name!r}: expected a non-empty file name (no path "
                         "separator, not starting with '.')")
    cls = study.Config
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)
            and cls.__dataclass_params__.frozen):
        raise TypeError(f"study {name!r}: Config must be a @dataclass(frozen=True) class, "
                        f"got {cls!r}")
    for attr in ("headline", "extra_columns", "timing_metrics", "summary_by"):
        value = getattr(study, attr)
        if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"study {name!r}: {attr} must be a tuple of str, got {value!r}")
    if type(study).run_one is Study.run_one:
        raise TypeError(f"study {name!r}: {type(study).__qualname__} does not implement run_one")


def register_study(study) -> Study:
    """Register a :class:`Study` instance under ``study.name``; return it.

    Registering an instance of the same class again (e.g. a module imported twice) replaces
    the old one; another class under a taken name is a :class:`ValueError`.
    """
    _check_study(study)
    old = _STUDIES.get(study.name)
    if old is not None and (type(old).__module__, type(old).__qualname__) != \
            (type(study).__module__, type(study).__qualname__):
        raise ValueError(f"study name {study.name!r} is taken by {old!r}")
    _STUDIES[study.name] = study
    return study


def unregister_study(name: str) -> None:
    """Remove a study from the registry (for tests and interactive sessions)."""
    _STUDIES.pop(name, None)


def available_studies() -> list:
    """The registered study names, sorted."""
    return sorted(_STUDIES)


def get_study(name: str) -> Study:
    """The registered study ``name``; unknown: :class:`ValueError` listing the names."""
    if isinstance(name, str) and name in _STUDIES:
        return _STUDIES[name]
    names = ", ".join(available_studies()) or "none registered"
    raise ValueError(f"unknown study {name!r} (available: {names})")


# -- configuration fields and --set ----------------------------------------------------------------
def config_fields(config_cls) -> dict:
    """``{field name: type}`` of a Config dataclass (string annotations resolved)."""
    try:
        hints = typing.get_type_hints(config_cls)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: fall back per field
        hints = {}
    out = {}
    for f in dataclasses.fields(config_cls):
        if not f.init:
            continue
        tp = hints.get(f.name, f.type)
        if isinstance(tp, str):  # unresolved: infer from the default
            default = f.default if f.default is not dataclasses.MISSING else None
            tp = type(default) if default is not None else Any
        out[f.name] = tp
    return out


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        args = typing.get_args(tp)
        inner = _type_name(args[0]) if args else "value"
        return f"a comma-separated list of {inner}"
    if tp is type(None):
        return "none"
    if tp is bool:
        return "true/false"
    return {int: "an int", float: "a number", str: "text"}.get(tp, getattr(tp, "__name__", str(tp)))


class _BadValue(ValueError):
    pass


def _parse(text: str, tp):
    """``text`` as a value of type ``tp``; :class:`_BadValue` when it is not one."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return text
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and text.strip().lower() in ("none", "null", ""):
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _parse(text, arg)
            except _BadValue:
                continue
        raise _BadValue
    if origin is Literal:
        for choice in typing.get_args(tp):
            if str(choice) == text or (isinstance(choice, str) and choice == text.strip()):
                return choice
        raise _BadValue
    if origin in (tuple, list) or tp in (tuple, list):
        args = typing.get_args(tp)
        parts = [p.strip() for p in text.split(",")] if text.strip() else []
        if args and (len(args) != 2 or args[1] is not Ellipsis):  # fixed-length tuple[X, Y]
            if len(parts) != len(args):
                raise _BadValue
            values = [_parse(p, a) for p, a in zip(parts, args)]
        else:
            values = [_parse(p, args[0] if args else Any) for p in parts]
        return list(values) if (origin or tp) is list else tuple(values)
    if tp is bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _BadValue
    if tp is int:
        try:
            return int(text.strip())
        except ValueError:
            raise _BadValue from None
    if tp is float:
        try:
            return float(text.strip())
        except ValueError:
            raise _BadValue from None
    if tp is str:
        return text
    raise _BadValue


def _accepts(value, tp) -> bool:
    """Whether a non-text override ``value`` is already of type ``tp`` (ints count as floats)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_accepts(value, a) for a in typing.get_args(tp))
    if origin is Literal:
        return value in typing.get_args(tp)
    if tp is type(None):
        return value is None
    if origin in (tuple, list):
        return isinstance(value, (tuple, list))
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(tp, type) and isinstance(value, tp)


def parse_overrides(config_cls, overrides, option: str = "--set") -> dict:
    """``{key: value}`` overrides for ``config_cls``, text values parsed to the field types.

    Parameters
    ----------
    overrides : dict
        ``{field name: value}``; a str value is parsed like ``--set key=value`` on the command
        line (bool: true/false/yes/no/1/0; ``X | None``: ``none``; tuples: comma-separated),
        other values must already have the field's type.
    option : str
        The command-line option named in error messages (``--set``; ``--grid`` for a sweep's
        values).

    Raises
    ------
    ValueError
        One line naming the key and the allowed keys (unknown key) or the value and the type
        expected.
    """
    fields = config_fields(config_cls)
    allowed = ", ".join(fields)
    out = {}
    for key, value in dict(overrides).items():
        if key not in fields:
            raise ValueError(f"{option} {key}: unknown key (allowed: {allowed})")
        tp = fields[key]
        if isinstance(value, str) and tp is not str:
            try:
                value = _parse(value, tp)
            except _BadValue:
                raise ValueError(f"{option} {key}={value}: expected {_type_name(tp)}") \
                    from None
        elif not _accepts(value, tp):
            raise ValueError(f"{option} {key}={value!r}: expected {_type_name(tp)}")
        if tp is float and isinstance(value, int):
            value = float(value)
        out[key] = value
    return out


def config_to_dict(config) -> dict:
    """The fields of a Config instance as a dict (tuples kept; JSON turns them into lists)."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def _from_json(value, tp):
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        for arg in typing.get_args(tp):
            if arg is not type(None) and _accepts(_from_json(value, arg), arg):
                return _from_json(value, arg)
        return value
    if isinstance(value, list) and (origin in (tuple, list) or tp in (tuple, list)):
        args = typing.get_args(tp)
        if args and (len(args) != 2 or args[1] is not Ellipsis):
            items = [_from_json(v, a) for v, a in zip(value, args)]
        else:
            items = [_from_json(v, args[0]) if args else v for v in value]
        return items if (origin or tp) is list else tuple(items)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return value


def config_from_dict(config_cls, data):
    """A ``config_cls`` instance from its JSON form (see :meth:`Study.config_from_dict`)."""
    fields = config_fields(config_cls)
    kwargs = {k: _from_json(v, fields[k]) for k, v in dict(data).items() if k in fields}
    return config_cls(**kwargs)

