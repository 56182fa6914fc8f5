"""The results folder of one study, ``OUT/STUDY/``: prepare, record runs, resume, merge.

Sweeps: a study swept over a grid of configuration values runs every (point, rule, seed); such
a run is recorded with its ``point`` (the index of the grid point) and ``params`` (the swept
values), its files are ``runs/pP__RULE__seedK.*``, and its key is ``(point, rule, seed)``
instead of ``(rule, seed)``. The swept values are columns of its rows (``point_columns`` of
:meth:`ResultsDir.merge`, kept in ``meta.json``), which is how ``metrics.csv`` tells the
points apart.

Timing metrics: measurements of the machine rather than of the model (e.g. the wall time of
learning) differ between two runs with the same seed. :meth:`ResultsDir.merge` puts the rows
of the metrics named in ``timing_metrics`` into ``timings.csv`` (the same columns as
``metrics.csv``) and every other row into ``metrics.csv``, so that a seeded study's
``metrics.csv`` is byte-identical for the same configuration and seeds. The per-run files
``runs/RULE__seedK.csv`` keep all the rows of a run, and both files are rebuilt from them on
every merge (so a resumed study gets them right). :meth:`ResultsDir.read_metrics` gives the
rows of both files back together.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

from ._files import (_fsync_directory, _restore_nonfinite, path_problem, read_json, to_json,
                     write_json)
from ._provenance import provenance
from ._tables import (METRIC_COLUMNS, _check_extra_columns, extra_columns_of, read_metrics,
                      read_summary, write_metrics, write_summary)

#: the status of a finished run: ``ok``; ``diverged`` (with the step); ``failed`` (with the error)
RUN_STATUSES = ("ok", "diverged", "failed")
_MODES = ("new", "resume", "force")
_MARKERS = ("config.json", "meta.json", "metrics.csv", "summary.csv")
_FORMAT = 1  # meta.json "format": bump when the layout of the folder changes


class ResultsError(ValueError):
    """A results folder cannot be used as asked (already holds results, a different
    configuration, not a results folder). A :class:`ValueError` with a one-line message, which
    the command line prints as is (exit status 2)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _seconds_between(start, end):
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


def _check_name(value, what="study") -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what}: expected a str, got {type(value).__name__}")
    if (not value.strip() or value.startswith(".") or "/" in value or os.sep in value
            or (os.altsep and os.altsep in value)):
        raise ValueError(f"{what}: {value!r} is not a file name (non-empty, no path separator, "
                         "not starting with '.')")
    return value


def _check_run(rule, seed, point=None):
    if not isinstance(rule, str) or not rule:
        raise TypeError(f"rule: expected a non-empty str, got {rule!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed: expected an int, got {seed!r}")
    if point is not None and (isinstance(point, bool) or not isinstance(point, int)
                              or point < 0):
        raise TypeError(f"point: expected None or an int >= 0 (a grid point), got {point!r}")


def _run_stem(rule, seed, point=None) -> str:
    """``RULE__seedK`` (``pP__RULE__seedK`` for grid point P) with RULE percent-encoded: a safe,
    injective file name for any rule label."""
    stem = f"{quote(rule, safe='')}__seed{seed}"
    return stem if point is None else f"p{point}__{stem}"


def run_key(record) -> tuple:
    """The key of a run record: ``(rule, seed)``, or ``(point, rule, seed)`` for a run of a grid
    point (a sweep)."""
    point = record.get("point")
    return (record["rule"], record["seed"]) if point is None else \
        (point, record["rule"], record["seed"])


def _split_key(key) -> tuple:
    """``(point or None, rule, seed)`` of a run key (a pair or a triple)."""
    key = tuple(key)
    if len(key) == 2:
        point, (rule, seed) = None, key
    elif len(key) == 3:
        point, rule, seed = key
    else:
        raise TypeError(f"run key {key!r}: expected (rule, seed) or (point, rule, seed)")
    _check_run(rule, seed, point)
    return point, rule, seed


def _differing_keys(stored, new, prefix="") -> list:
    """Dotted paths where two JSON values differ (``a.b``, ``layers[1]``); exact JSON equality,
    so ``1`` and ``1.0`` or ``true`` and ``1`` differ."""
    if isinstance(stored, dict) and isinstance(new, dict):
        keys = []
        for k in sorted(set(stored) | set(new)):
            path = f"{prefix}.{k}" if prefix else k
            keys += [path] if (k not in stored or k not in new) else \
                _differing_keys(stored[k], new[k], path)
        return keys
    if isinstance(stored, list) and isinstance(new, list) and len(stored) == len(new):
        return [k for i, (a, b) in enumerate(zip(stored, new))
                for k in _differing_keys(a, b, f"{prefix}[{i}]")]
    same = json.dumps(stored, sort_keys=True) == json.dumps(new, sort_keys=True)
    return [] if same else [prefix or "(the whole configuration)"]


def _read_stored(path):
    """A stored JSON file as is (no nan/inf restoring); a damaged one is a :class:`ResultsError`."""
    try:
        return read_json(path, nonfinite=False)
    except ValueError as exc:  # the message names the file: "PATH: not valid JSON (...)"
        raise ResultsError(f"{exc}: repair it or use --force") from None


def _check_timing_metrics(timing_metrics) -> tuple:
    if isinstance(timing_metrics, str):
        raise TypeError(f"timing_metrics={timing_metrics!r}: expected a sequence of metric "
                        "names, not one str")
    names = tuple(timing_metrics)
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(f"timing_metrics: {name!r} is not a metric name (a non-empty str)")
    return names


def _by_run(rows, point_columns=()) -> list:
    """``rows`` regrouped run by run (runs in order of first appearance), each run's rows in
    their order: metrics rows followed by timing rows give every run's timings after its
    metrics. A run is told apart by rule, seed and the ``point_columns`` (a sweep's swept
    values)."""
    def key(row):
        return (row["rule"], row["seed"]) + tuple(str(row.get(c)) for c in point_columns)

    first = {}
    for row in rows:
        first.setdefault(key(row), len(first))
    return sorted(rows, key=lambda r: first[key(r)])  # stable


def _typed_columns(rows, columns) -> list:
    """The extra columns whose values are all numbers or bools (read back typed)."""
    out = []
    for c in columns:
        values = [r.get(c) for r in rows if r.get(c) is not None]
        if values and all(not isinstance(v, str) for v in values):
            out.append(c)
    return out


class ResultsDir:
    """The results of one study in ``OUT/STUDY/`` (layout in :mod:`brainlearn.results`).

    A study runner uses it in this order::

        rd = ResultsDir("results", "learning")
        rd.prepare(config, mode="new")        # or "resume" / "force" (--resume / --force)
        done = rd.completed_runs()            # (rule, seed) pairs already finished
                                              # ((point, rule, seed) in a sweep)
        for rule, seed in todo:               # possibly in worker processes
            rd.write_run(rule, seed, rows, "ok", wall_time=12.3)
        rows = rd.merge(expected=todo)        # -> metrics.csv (timings.csv) and meta.json
        rd.write_summary(summarize(rows))     # -> summary.csv

    The object holds only paths, so it can be sent to worker processes; each run writes its own
    files, so runs may finish concurrently. Only :meth:`prepare` and :meth:`merge` (called by one
    process) write the shared files.
    """

    def __init__(self, out, study):
        self.out = os.fspath(out)
        self.study = _check_name(study)
        self.path = os.path.join(self.out, self.study)

    @classmethod
    def from_path(cls, path) -> ResultsDir:
        """The results folder at ``path`` (``OUT/STUDY``)."""
        path = os.path.normpath(os.fspath(path))
        out, study = os.path.split(path)
        if study in ("", ".", ".."):
            out, study = os.path.split(os.path.abspath(path))
        return cls(out or ".", study)

    def __fspath__(self):
        return self.path

    def __repr__(self):
        return f"ResultsDir({self.out!r}, {self.study!r})"

    config_path = property(lambda self: os.path.join(self.path, "config.json"))
    meta_path = property(lambda self: os.path.join(self.path, "meta.json"))
    metrics_path = property(lambda self: os.path.join(self.path, "metrics.csv"))
    timings_path = property(lambda self: os.path.join(self.path, "timings.csv"))
    summary_path = property(lambda self: os.path.join(self.path, "summary.csv"))
    figures_dir = property(lambda self: os.path.join(self.path, "figures"))
    runs_dir = property(lambda self: os.path.join(self.path, "runs"))

    def figure_path(self, name) -> str:
        """``figures/NAME`` without extension, for :func:`brainlearn.plotting.save_figure`."""
        _check_name(name, "name")
        return os.path.join(self.figures_dir, name)

    # -- state ---------------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the folder holds results (a config, meta, metrics or summary file or a run)."""
        return (any(os.path.exists(os.path.join(self.path, m)) for m in _MARKERS)
                or bool(self._record_names()))

    def _record_names(self) -> list:
        if not os.path.isdir(self.runs_dir):
            return []
        return sorted(n for n in os.listdir(self.runs_dir) if n.endswith(".json"))

    def read_config(self) -> dict:
        """The stored configuration (``nan``/``inf`` strings back as floats)."""
        return read_json(self.config_path)

    def read_meta(self) -> dict:
        """The stored ``meta.json``."""
        return read_json(self.meta_path, nonfinite=False)

    def read_metrics(self, include_timings: bool = True) -> list:
        """The study's metric rows, extra columns typed as when they were written.

        Parameters
        ----------
        include_timings : bool
            True (default): the rows of ``metrics.csv`` and of ``timings.csv`` (when it
            exists) together, run by run: the runs in their order in ``metrics.csv`` (a run
            with timing rows only after them), each run's timing rows after its other rows --
            the rows :meth:`merge` returned. False: the rows of ``metrics.csv`` only.
        """
        meta = self.read_meta() if os.path.exists(self.meta_path) else {}
        numeric = meta.get("numeric_columns", ())
        rows = read_metrics(self.metrics_path, numeric=numeric)
        if include_timings and os.path.exists(self.timings_path):
            rows = _by_run(rows + read_metrics(self.timings_path, numeric=numeric),
                           meta.get("point_columns", ()))
        return rows

    def read_timings(self) -> list:
        """The rows of ``timings.csv`` (no file: an empty list), typed as :meth:`read_metrics`."""
        if not os.path.exists(self.timings_path):
            return []
        numeric = self.read_meta().get("numeric_columns", ()) if os.path.exists(self.meta_path) \
            else ()
        return read_metrics(self.timings_path, numeric=numeric)

    def read_summary(self) -> list:
        """The rows of ``summary.csv``."""
        return read_summary(self.summary_path)

    def write_summary(self, summary_rows) -> str:
        """Write :func:`~brainlearn.results.summarize` rows to ``summary.csv`` (atomically)."""
        return write_summary(self.summary_path, summary_rows)

    # -- preparing -----------------------------------------------------------------------------
    def check_location(self) -> None:
        """Raise :class:`ResultsError` (one line) when the folder cannot be made or written where
        it is: a file in the way of ``out``, of a folder above it or of ``OUT/STUDY``, or no
        permission to write. Writes nothing; :func:`brainlearn.studies.plan_study` calls it, so
        a bad output folder is refused before anything runs."""
        problem = path_problem(self.out, folder=True) or path_problem(self.path, folder=True)
        if problem:
            raise ResultsError(f"out={self.out!r}: {problem}; allowed: a folder, or a path "
                               "where one can be made")

    def prepare(self, config, mode: str = "new") -> None:
        """Make the folder ready for a run of ``config`` (a dict or a dataclass).

        ``mode="new"``: the folder must not hold results yet; else :class:`ResultsError` telling
        to use ``--resume`` or ``--force``, and nothing is written. Writes ``config.json``,
        ``meta.json``, ``runs/`` and ``figures/``.

        ``mode="resume"``: ``config`` must equal the stored ``config.json`` (exact JSON
        equality), else :class:`ResultsError` naming the differing keys; finished runs are kept
        and a session is added to ``meta.json``. On a folder without results it starts afresh.

        ``mode="force"``: replaces the whole folder. The fresh folder is built under a hidden
        sibling name (``OUT/.STUDY.new-*``), the old folder is renamed away (``OUT/.STUDY.old-*``),
        the fresh one renamed into place, then the old one deleted. A crash at any point leaves
        ``OUT/STUDY`` holding either the complete old results, the fresh folder, or nothing
        (never a mix); leftover hidden folders are removed by the next ``prepare``. "new" uses
        the same steps, so a half-written ``config.json`` is never seen.

        A folder that holds other files than results is never touched (:class:`ResultsError`).
        """
        if mode not in _MODES:
            raise ValueError(f"mode={mode!r}: allowed {', '.join(map(repr, _MODES))}")
        encoded = json.loads(to_json(config))  # canonical JSON: nan as "nan", tuples as lists
        if not isinstance(encoded, dict):
            raise TypeError(f"config: expected a dict or a dataclass, got {type(config).__name__}")
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise ResultsError(f"{self.path} is a file, not a results folder")
        holds = self.exists()
        if not holds and os.path.isdir(self.path) and any(
                not n.startswith(".") for n in os.listdir(self.path)):
            raise ResultsError(f"{self.path} holds files that are not brainlearn results: "
                               "choose another output folder")
        if holds and mode == "new":
            raise ResultsError(f"{self.path} already holds results of study {self.study!r}: "
                               "use --resume to finish them or --force to replace them")
        if holds and mode == "resume":
            self._check_config(encoded)
        # every refusal above leaves the folder untouched; from here on it is changed
        self._remove_leftovers()
        if holds and mode == "resume":
            self._add_session("resume")
        else:
            self._install_fresh(encoded, mode)

    def _session(self, mode) -> dict:
        return {"mode": mode, "started": _now(), "provenance": provenance()}

    def _new_meta(self, session) -> dict:
        return {"format": _FORMAT, "study": self.study, "status": "running",
                "started": session["started"] if session else None, "finished": None,
                "sessions": [session] if session else [],
                "provenance": session["provenance"] if session else provenance()}

    def _check_config(self, encoded) -> None:
        if not os.path.exists(self.config_path):
            raise ResultsError(f"{self.config_path} is missing, so the configuration cannot be "
                               "checked: use --force to start again")
        keys = _differing_keys(_read_stored(self.config_path), encoded)
        if keys:
            shown = ", ".join(keys[:8]) + (f" and {len(keys) - 8} more" if len(keys) > 8 else "")
            raise ResultsError(f"{self.config_path}: the configuration differs from the stored "
                               f"one at {shown}: resume with the same settings or use --force "
                               "to start again")

    def _add_session(self, mode) -> None:
        session = self._session(mode)
        meta = _read_stored(self.meta_path) if os.path.exists(self.meta_path) else \
            self._new_meta(None)
        meta.update(status="running", finished=None, provenance=session["provenance"])
        meta.setdefault("sessions", []).append(session)
        if not meta.get("started"):
            meta["started"] = session["started"]
        os.makedirs(self.runs_dir, exist_ok=True)
        os.makedirs(self.figures_dir, exist_ok=True)
        write_json(self.meta_path, meta)

    def _install_fresh(self, encoded, mode) -> None:
        os.makedirs(self.out, exist_ok=True)
        stage = tempfile.mkdtemp(dir=self.out, prefix=f".{self.study}.new-")
        old = None
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(stage, 0o777 & ~umask)  # mkdtemp makes it private
            os.mkdir(os.path.join(stage, "runs"))
            os.mkdir(os.path.join(stage, "figures"))
            write_json(os.path.join(stage, "config.json"), encoded)
            write_json(os.path.join(stage, "meta.json"), self._new_meta(self._session(mode)))
            if os.path.lexists(self.path):
                old = os.path.join(self.out, f".{self.study}.old-{uuid.uuid4().hex[:12]}")
                os.rename(self.path, old)
            os.rename(stage, self.path)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            if old is not None and not os.path.lexists(self.path):
                try:  # put the previous results back
                    os.rename(old, self.path)
                    old = None
                except OSError:
                    pass
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        _fsync_directory(self.out)

    def _remove_leftovers(self) -> None:
        """Hidden staging folders of an interrupted prepare, temporary files of interrupted
        writes (``.NAME.XXXX.tmp``; ``NAME.tmp-PID`` from :func:`plotting.save_figure`)."""
        if os.path.isdir(self.out):
            for name in os.listdir(self.out):
                if name.startswith((f".{self.study}.new-", f".{self.study}.old-")):
                    shutil.rmtree(os.path.join(self.out, name), ignore_errors=True)
        temp = re.compile(r"(^\..*\.tmp$)|(\.tmp-\d+$)")
        for folder in (self.path, self.runs_dir, self.figures_dir):
            if os.path.isdir(folder):
                for name in os.listdir(folder):
                    path = os.path.join(folder, name)
                    if temp.search(name) and os.path.isfile(path):
                        os.unlink(path)

    # -- runs ----------------------------------------------------------------------------------
    def run_paths(self, rule, seed, point=None) -> tuple:
        """``(runs/RULE__seedK.csv, runs/RULE__seedK.json)``; RULE percent-encoded if needed;
        ``runs/pP__RULE__seedK.*`` for the run of grid point ``point``."""
        _check_run(rule, seed, point)
        stem = os.path.join(self.runs_dir, _run_stem(rule, seed, point))
        return stem + ".csv", stem + ".json"

    def write_run(self, rule, seed, rows, status="ok", wall_time=None, *, step=None, error=None,
                  extra=None, extra_columns=None, point=None, params=None,
                  attempts=1) -> dict:
        """Record one finished run: its metric rows, then its record; return the record.

        Parameters
        ----------
        rule, seed : str, int
            The run; every row must carry this ``rule`` and ``seed``.
        rows : iterable of dict
            The run's metric rows (:func:`~brainlearn.results.write_metrics`); may be empty, or
            partial for a run that diverged or failed.
        status : {"ok", "diverged", "failed"}
        wall_time : float, optional
            Seconds the run took.
        step : int, optional
            Required when ``status="diverged"``: the step at which it diverged.
        error : str, optional
            Required when ``status="failed"``: the error text (a traceback is fine).
        extra : dict, optional
            Anything JSON-able to keep in the record (e.g. the worker, final loss).
        extra_columns : sequence of str, optional
            The study-specific columns of ``rows`` (default: their keys beyond the standard).
        point : int, optional
            The grid point of a sweep's run (None: a run of a study without a grid); the run's
            key becomes ``(point, rule, seed)``.
        params : dict, optional
            The swept values of the point (``{key: value}``), kept in the record.
        attempts : int
            How many times the run was started (more than 1 when a worker process died while
            running it and it was retried).

        The rows go to ``runs/RULE__seedK.csv`` and the record to ``runs/RULE__seedK.json``,
        both atomically, the record last: a run is finished exactly when its record exists. A
        previous record of the same run is removed first, so an interrupted rerun counts as
        not finished.
        """
        _check_run(rule, seed, point)
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"attempts={attempts!r}: expected an int >= 1")
        if status not in RUN_STATUSES:
            raise ValueError(f"status={status!r}: allowed {', '.join(map(repr, RUN_STATUSES))}")
        if status == "diverged" and (isinstance(step, bool) or not isinstance(step, int)):
            raise ValueError(f"step={step!r}: a diverged run needs the int step where it diverged")
        if status == "failed" and (not isinstance(error, str) or not error.strip()):
            raise ValueError(f"error={error!r}: a failed run needs the error text")
        if wall_time is not None and not (isinstance(wall_time, (int, float))
                                          and wall_time >= 0):
            raise ValueError(f"wall_time={wall_time!r}: allowed None or seconds >= 0")
        rows = list(rows)
        for index, row in enumerate(rows):
            if row.get("rule") != rule or row.get("seed") != seed:
                raise ValueError(f"rows: row {index} belongs to rule={row.get('rule')!r}, "
                                 f"seed={row.get('seed')!r}, not to the run rule={rule!r}, "
                                 f"seed={seed!r}")
        columns = extra_columns_of(rows) if extra_columns is None else \
            _check_extra_columns(extra_columns)
        csv_path, json_path = self.run_paths(rule, seed, point)
        record = {"rule": rule, "seed": seed, "status": status,
                  "step": None if step is None else int(step),
                  "error": error, "wall_time": None if wall_time is None else float(wall_time),
                  "finished": _now(), "rows": len(rows), "csv": os.path.basename(csv_path),
                  "columns": list(columns), "numeric_columns": _typed_columns(rows, columns),
                  "attempts": attempts, "extra": {} if extra is None else extra}
        if point is not None:
            record.update(point=point, params={} if params is None else dict(params))
        text = to_json(record)  # fails on a bad ``extra`` before any file is touched
        os.makedirs(self.runs_dir, exist_ok=True)
        try:
            os.unlink(json_path)
        except FileNotFoundError:
            pass
        write_metrics(csv_path, rows, columns)
        write_json(json_path, json.loads(text))
        return record

    def run_records(self) -> list:
        """The records of every finished run (any status), sorted by (point, rule, seed)."""
        records = []
        for name in self._record_names():
            path = os.path.join(self.runs_dir, name)
            try:
                record = read_json(path, nonfinite=False)
                key = (record["rule"], record["seed"], record["status"], record["csv"])
            except ValueError as exc:  # not JSON: the message names the file
                raise ResultsError(f"{exc}: not a run record") from None
            except (OSError, KeyError, TypeError) as exc:
                raise ResultsError(f"{path}: not a run record ({type(exc).__name__}: {exc})") \
                    from None
            if os.path.exists(os.path.join(self.runs_dir, key[3])):
                record["extra"] = _restore_nonfinite(record.get("extra", {}))
                records.append(record)
        return sorted(records, key=lambda r: (-1 if r.get("point") is None else r["point"],
                                              r["rule"], r["seed"]))

    def completed_runs(self, include_failed: bool = False) -> set:
        """The keys of the runs already finished (:func:`run_key`: ``(rule, seed)``, or
        ``(point, rule, seed)`` in a sweep): status ok or diverged (a deterministic outcome),
        and failed ones too with ``include_failed``. A resumed study reruns the rest."""
        return {run_key(r) for r in self.run_records()
                if include_failed or r["status"] != "failed"}

    def read_run(self, rule, seed, point=None) -> list:
        """The metric rows of one finished run (typed as written)."""
        csv_path, json_path = self.run_paths(rule, seed, point)
        record = read_json(json_path, nonfinite=False)
        return read_metrics(csv_path, numeric=record.get("numeric_columns", ()))

    # -- merging -------------------------------------------------------------------------------
    def merge(self, expected=None, extra_columns=(), timing_metrics=(),
              point_columns=()) -> list:
        """Gather every finished run into ``metrics.csv`` (and ``timings.csv``) and
        ``meta.json``; return the rows.

        Parameters
        ----------
        expected : iterable of (rule, seed) or (point, rule, seed), optional
            The runs the study consists of (their keys, :func:`run_key`), in the order wanted
            in ``metrics.csv``; finished runs not listed come after, sorted. Without it runs
            are sorted by (point, rule, seed).
        extra_columns : sequence of str
            Study-specific columns to put first (others follow in order of appearance).
        timing_metrics : sequence of str
            Metrics that measure the machine, not the model (e.g. ``wall_time``): their rows go
            to ``timings.csv`` (same columns and run order as ``metrics.csv``), so that
            ``metrics.csv`` is the same file for the same seeds. Empty: no ``timings.csv`` (a
            stale one is removed).
        point_columns : sequence of str
            A sweep's swept columns (among the extra columns), which tell its points apart;
            kept in ``meta.json`` so that :meth:`read_metrics` groups the rows run by run.

        ``meta.json`` gets ``status`` ("complete", or "incomplete" when an expected run has no
        record; listed in ``missing``), ``started`` (first session), ``finished``, ``elapsed``
        (s), ``run_time`` (sum of wall times), ``rules``, ``seeds``, ``counts`` per status,
        ``runs`` (rule, seed, status, step, error, wall_time, finished, rows, extra, attempts;
        point and params in a sweep), ``point_columns`` (a sweep's), the
        ``sessions`` (mode, start, provenance each), ``provenance`` (of the latest session),
        ``mixed_provenance`` (sessions ran different code) and ``timing_metrics``. Metrics
        and timings are written before meta. The rows returned are every run's rows, timing
        rows included (each run's after its other rows), with every column (a missing one is
        None, or "" for a text column), typed as each run wrote them; :meth:`read_metrics`
        gives the same rows unless runs disagree on a column's type (then it reads back as
        text).
        """
        timing = list(dict.fromkeys(_check_timing_metrics(timing_metrics)))
        point_columns = list(_check_extra_columns(point_columns))
        records = self.run_records()
        by_key = {run_key(r): r for r in records}
        order, missing = [], []
        if expected is not None:
            wanted = list(dict.fromkeys(tuple(k) for k in expected))
            for key in wanted:
                _split_key(key)
            order = [k for k in wanted if k in by_key]
            missing = [k for k in wanted if k not in by_key]
        listed = set(order)
        order += [run_key(r) for r in records if run_key(r) not in listed]  # sorted
        columns, numeric, measured, timed, rows = \
            list(_check_extra_columns(extra_columns)), [], [], [], []
        for key in order:
            record = by_key[key]
            columns += [c for c in record.get("columns", ()) if c not in columns]
            numeric += [c for c in record.get("numeric_columns", ()) if c not in numeric]
            run_rows = read_metrics(os.path.join(self.runs_dir, record["csv"]),
                                    numeric=record.get("numeric_columns", ()))
            run_measured = [r for r in run_rows if r["metric"] not in timing]
            run_timed = [r for r in run_rows if r["metric"] in timing]
            measured += run_measured
            timed += run_timed
            rows += run_measured + run_timed  # run by run, each run's timings after its rows
        # a column is read back typed only if every run that has it wrote it typed
        numeric = [c for c in numeric if all(c in r.get("numeric_columns", ())
                                             for r in by_key.values() if c in r.get("columns", ()))]
        write_metrics(self.metrics_path, measured, columns)
        if timing:
            write_metrics(self.timings_path, timed, columns)
        elif os.path.exists(self.timings_path):
            os.unlink(self.timings_path)
        for row in rows:  # every row gets every column, as read_metrics gives them back
            for c in columns:
                row.setdefault(c, None if c in numeric else "")

        meta = _read_stored(self.meta_path) if os.path.exists(self.meta_path) else \
            self._new_meta(None)
        runs = []
        for key in order:
            record = by_key[key]
            run = {k: record.get(k) for k in ("rule", "seed", "status", "step", "error",
                                              "wall_time", "finished", "rows", "extra")}
            run["attempts"] = record.get("attempts", 1)
            if record.get("point") is not None:
                run.update(point=record["point"], params=record.get("params", {}))
            runs.append(run)
        finished = _now()
        sessions = meta.get("sessions", [])
        versions = {json.dumps([s.get("provenance", {}).get(k) for k in
                                ("brainlearn", "git_commit", "git_dirty")]) for s in sessions}
        meta.update(
            format=_FORMAT, study=self.study,
            status="incomplete" if missing else "complete", finished=finished,
            elapsed=_seconds_between(meta.get("started"), finished),
            run_time=sum(r["wall_time"] or 0.0 for r in runs),
            rules=list(dict.fromkeys(key[-2] for key in order)),
            seeds=sorted({key[-1] for key in order}),
            counts={s: sum(r["status"] == s for r in runs) for s in RUN_STATUSES},
            missing=[list(k) for k in missing], runs=runs,
            columns=list(METRIC_COLUMNS) + columns, numeric_columns=numeric,
            timing_metrics=timing, mixed_provenance=len(versions) > 1)
        if point_columns:
            meta["point_columns"] = point_columns
        else:
            meta.pop("point_columns", None)
        write_json(self.meta_path, meta)
        return rows


def _is_results(folder) -> bool:
    return any(os.path.isfile(os.path.join(folder, m)) for m in _MARKERS)


def find_studies(path) -> list:
    """The results folders at ``path``: ``[path]`` when it is one (``OUT/STUDY``), else its
    subfolders that are (``OUT/``), sorted by name. :class:`ResultsError` when there are none."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise ResultsError(f"{path}: no such folder")
    if _is_results(path):
        return [ResultsDir.from_path(path)]
    found = [ResultsDir.from_path(os.path.join(path, n)) for n in sorted(os.listdir(path))
             if not n.startswith(".") and _is_results(os.path.join(path, n))]
    if not found:
        raise ResultsError(f"{path} holds no results (no config.json, meta.json, metrics.csv or "
                           "summary.csv in it or in its subfolders)")
    return found
