"""Running a study: plan (validate everything, write nothing), then run, merge, summarise, draw.

``config.json`` of a study holds what defines its results::

    {"study": NAME, "quick": bool, "rules": [...], "seeds": [0, 1, ...], "config": {Config fields}}

plus, for a sweep, ``"grid": [{"key": KEY, "values": [...]}, ...]`` (``config`` then holds the
settings every point shares; each point replaces its swept keys). ``--resume`` continues only
with exactly these settings (a resumed sweep takes its grid from here), and ``brainlearn figures
DIR`` rebuilds the ``Config`` of every point from it to redraw the figures.

A sweep runs every (point, rule, seed) of the grid's Cartesian product
(:mod:`brainlearn.studies._sweep`); a study without a grid is a sweep of one point and writes
exactly what it always wrote. Runs go to an executor (:mod:`brainlearn.studies._executors`:
this process, local worker processes, or a Dask cluster); the driver writes each run's files as
its result arrives.

The rows of the study's :attr:`~brainlearn.studies.Study.timing_metrics` (wall time) go to
``timings.csv`` instead of ``metrics.csv`` (:meth:`~brainlearn.results.ResultsDir.merge`), so
``metrics.csv`` is byte-identical for the same settings and seeds; the summary and the figures
are made from the rows of both files.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import sys
import time

from ..datasets.mnist import folder_problem
from ..results import ResultsDir, ResultsError, read_json, run_key, to_json
from ._base import Study, config_to_dict, get_study
# redraw_figures is part of this module's API (brainlearn.studies imports it from here)
from ._drawing import draw_all, note_figures, redraw_figures
from ._executors import (DEFAULT_RETRIES, RunTask, check_scheduler, exit_if_bootstrapping,
                         make_executor)
from ._sweep import Grid, grid_from_record, parse_grid, summarize_points, value_text

__all__ = ["StudyPlan", "StudyResults", "plan_study", "execute", "run_study", "run_sweep",
           "redraw_figures"]

_MODES = ("new", "resume", "force")


@dataclasses.dataclass
class StudyPlan:
    """A validated study run: nothing is written until :func:`execute`."""

    study: Study
    config: object
    rules: list
    seeds: list
    quick: bool
    results: ResultsDir
    mode: str = "new"
    workers: int = 1
    progress: object = None
    grid: Grid = dataclasses.field(default_factory=Grid)
    configs: list = None
    scheduler: object = None
    retries: int = DEFAULT_RETRIES
    figures: bool | str = True  # True, False or "sweep" (the sweep figures only)

    def __post_init__(self):
        if self.configs is None:
            self.configs = [self.config]

    @property
    def points(self) -> list:
        """The grid's points, ``{key: value}`` each (``[{}]`` without a grid)."""
        return self.grid.points

    @property
    def runs(self) -> list:
        """Every run's key in the order of ``metrics.csv``: ``(rule, seed)`` pairs, rules
        outer; in a sweep ``(point, rule, seed)``, points outermost."""
        if not self.grid:
            return [(rule, seed) for rule in self.rules for seed in self.seeds]
        return [(p, rule, seed) for p in range(len(self.configs)) for rule in self.rules
                for seed in self.seeds]

    def task(self, key) -> RunTask:
        """The :class:`RunTask` of the run ``key``."""
        point, (rule, seed) = (None, key) if len(key) == 2 else (key[0], key[1:])
        config = self.configs[0 if point is None else point]
        stem = os.path.splitext(os.path.basename(self.results.run_paths(rule, seed, point)[0]))[0]
        return RunTask(key=tuple(key), rule=rule, seed=seed, config=config, name=stem)

    def config_record(self) -> dict:
        """What ``config.json`` holds (see the module docstring)."""
        record = {"study": self.study.name, "quick": bool(self.quick), "rules": list(self.rules),
                  "seeds": list(self.seeds), "config": config_to_dict(self.config)}
        settings = self.study.settings_record(self.config, list(self.rules))
        if settings is not None:
            record["rule_settings"] = settings
        if self.grid:
            record["grid"] = self.grid.record()
        return record


class StudyResults(ResultsDir):
    """The results folder of a finished :func:`run_study` call, with what happened.

    Attributes (beyond :class:`~brainlearn.results.ResultsDir`): ``plan``, ``config``,
    ``grid`` (the sweep's :class:`~brainlearn.studies._sweep.Grid`; empty without one),
    ``records`` (every run's record: rule, seed, status, step, error, wall_time, attempts;
    point and params in a sweep), ``ran`` (the keys of the runs run in this call; the others
    were resumed), ``summary`` (the rows of ``summary.csv``), ``figure_paths``,
    ``figure_error`` (the traceback when drawing failed, else None), ``seconds`` (wall time of
    the phases: ``runs``, ``merge`` (files and summary), ``figures``).
    """

    def __init__(self, plan, records, ran, summary, figure_paths, figure_error, seconds=None):
        super().__init__(plan.results.out, plan.results.study)
        self.plan, self.config, self.grid = plan, plan.config, plan.grid
        self.records, self.ran, self.summary = records, ran, summary
        self.figure_paths, self.figure_error = figure_paths, figure_error
        self.seconds = dict(seconds or {})

    @property
    def counts(self) -> dict:
        """``{"ok": n, "diverged": n, "failed": n}`` over every run of the study."""
        out = {"ok": 0, "diverged": 0, "failed": 0}
        for r in self.records:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out

    @property
    def failed(self) -> list:
        return [r for r in self.records if r["status"] == "failed"]

    @property
    def diverged(self) -> list:
        return [r for r in self.records if r["status"] == "diverged"]

    @property
    def exit_status(self) -> int:
        """0 when every run finished (ok or diverged: both are results) and the figures were
        drawn, else 1."""
        return 1 if (self.failed or self.figure_error) else 0


# -- planning --------------------------------------------------------------------------------------
def _check_count(value, what) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what}={value!r}: expected an int >= 1")
    if value < 1:
        raise ValueError(f"{what}={value}: expected an int >= 1")
    return value


def _resolve_rules(study, config, rules) -> list:
    from .. import rules as registry
    valid = study.valid_rules(config)
    if rules is None:
        chosen = list(study.default_rules(config))
        if not chosen:
            raise ValueError(f"no registered rule fits study {study.name!r}: give --rules")
    else:
        if isinstance(rules, str):
            rules = rules.split(",")
        chosen = [r.strip() if isinstance(r, str) else r for r in rules]
        chosen = [r for r in chosen if r != ""]
        if not chosen:
            raise ValueError(f"rules: no rule given (valid for study {study.name!r}: "
                             f"{', '.join(valid)})")
    for rule in chosen:
        if not isinstance(rule, str):
            raise TypeError(f"rules: {rule!r} is not a rule name (a str)")
        if rule not in valid:
            known = rule in registry.available()
            what = (f"rule {rule!r} does not fit study {study.name!r}" if known
                    else f"unknown rule {rule!r} for study {study.name!r}")
            hint = "" if known else ("; a rule in a file of your own: --plugin FILE "
                                     "(bl.rules.load_plugin(FILE) in Python)")
            raise ValueError(f"{what} (valid: {', '.join(valid)}){hint}")
    return list(dict.fromkeys(chosen))


def _stored_grid(study, rd) -> Grid | None:
    """The grid of the stored ``config.json`` of ``rd`` (None: nothing stored to resume)."""
    if not os.path.isfile(rd.config_path):
        return None
    try:
        stored = read_json(rd.config_path, nonfinite=False)
    except ValueError as exc:  # the message names the file
        raise ResultsError(f"{exc}: repair it or use --force") from None
    return grid_from_record(study, stored)


#: configuration fields that name a folder of a data set's IDX files: ``{field: data set}``;
#: :func:`plan_study` checks the folder of every grid point before anything runs
DATA_FOLDERS = {"mnist_path": "mnist"}


def _check_data_folders(configs) -> None:
    for config in configs:
        for field, dataset in DATA_FOLDERS.items():
            folder = getattr(config, field, None)
            problem = None if folder is None else folder_problem(folder, dataset)
            if problem:
                raise ValueError(f"{field}={folder}: {problem}")


def plan_study(name, *, rules=None, seeds=3, quick=False, out="results", overrides=None,
               workers=1, mode="new", progress=None, grid=None, scheduler=None,
               retries=DEFAULT_RETRIES, figures=True, folder=None) -> StudyPlan:
    """Validate the arguments of :func:`run_study` and resolve the configuration of every grid
    point and the rules; write nothing. Bad input raises :class:`ValueError` /
    :class:`TypeError` with one line.

    With ``workers > 1`` the worker processes import the calling script (they are spawned), so
    a script must run the study under ``if __name__ == "__main__":``; without the guard each
    worker stops at once with one line saying so, and every run is recorded ``failed``."""
    exit_if_bootstrapping()
    study = get_study(name)
    _check_count(seeds, "seeds")
    _check_count(workers, "workers")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries={retries!r}: expected an int >= 0")
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}: allowed {', '.join(map(repr, _MODES))}")
    if scheduler is not None:
        if workers > 1:
            raise ValueError(f"workers={workers} and scheduler={scheduler!r}: give one (local "
                             "worker processes or a Dask scheduler), not both")
        check_scheduler(scheduler)
    if overrides is not None and not hasattr(overrides, "items"):
        raise TypeError(f"overrides: expected a dict of key -> value, got "
                        f"{type(overrides).__name__}")
    overrides = dict(overrides or {})
    config = study.make_config(bool(quick), overrides)
    results = ResultsDir(out, study.name if folder is None else folder)
    results.check_location()  # a file in the way of the output folder: refused now
    sweep = parse_grid(study, grid, overrides)
    if mode == "resume":
        stored = _stored_grid(study, results)
        if stored is not None and grid is None:
            sweep = parse_grid(study, dict(zip(stored.keys, stored.values)), overrides)
        elif stored is not None and to_json(stored.record()) != to_json(sweep.record()):
            def show(g):
                return f"--grid {g.describe()}" if g else "no grid"
            raise ResultsError(f"{results.config_path}: the grid differs from the stored one "
                               f"(stored: {show(stored)}; given: {show(sweep)}): resume with "
                               "the stored grid (leave --grid out) or use --force to start "
                               "again")
    configs = [study.make_config(bool(quick), {**overrides, **point}) for point in sweep.points]
    _check_data_folders(configs)
    chosen = _resolve_rules(study, config, rules)
    if workers > 1 or scheduler is not None:
        where = f"workers={workers}" if scheduler is None else f"scheduler={scheduler!r}"
        try:
            pickle.dumps((study, configs))
        except Exception as exc:  # noqa: BLE001 - any pickling failure means: not sendable
            raise ValueError(f"{where}: study {study.name!r} cannot be sent to worker "
                             f"processes ({type(exc).__name__}: {exc}); use workers=1") from None
    return StudyPlan(study=study, config=config, rules=chosen, seeds=list(range(seeds)),
                     quick=bool(quick), results=results, mode=mode, workers=workers,
                     progress=progress, grid=sweep, configs=configs, scheduler=scheduler,
                     retries=retries, figures=figures if figures == "sweep" else bool(figures))


# -- one run's result, recorded by the driver -------------------------------------------------------
def _record(plan, task, result, attempts) -> dict:
    """Write the result of ``task`` (from any executor) to ``runs/``; return the record. A
    sweep's rows get the point's swept columns."""
    rd = plan.results
    point = task.key[0] if len(task.key) == 3 else None
    params = None if point is None else plan.points[point]
    status, rows, error = result["status"], list(result["rows"]), result["error"]
    kwargs = dict(point=point, params=params, attempts=max(1, int(attempts)))
    try:
        if point is not None:
            cells = plan.grid.cells(params)
            for row in rows:
                taken = [c for c in cells if c in row]
                if taken:
                    raise ValueError(f"the study's rows already have the column {taken[0]!r}, "
                                     "which the sweep uses for the swept values")
            rows = [{**row, **cells} for row in rows]
        return rd.write_run(task.rule, task.seed, rows, status, result["wall_time"],
                            step=result["step"], error=error, **kwargs)
    except (ValueError, TypeError) as exc:  # the study returned rows that cannot be stored
        text = f"the run's rows cannot be recorded: {type(exc).__name__}: {exc}"
        if error:
            text = f"{error}\n{text}"
        return rd.write_run(task.rule, task.seed, [], "failed", result["wall_time"], error=text,
                            **kwargs)


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s=""):
        pass

    def close(self):
        pass


def _progress_bar(plan, total, initial):
    show = plan.progress
    if show is None:
        isatty = getattr(sys.stderr, "isatty", None)
        show = bool(isatty and isatty())
    if not show or total == initial:
        return _NoBar()
    from tqdm import tqdm
    try:  # a terminal that reports no size (some containers) would hide the bar
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        size = os.terminal_size((0, 0))
    if size.columns > 0 and size.lines > 0:
        size = dict(dynamic_ncols=True)
    else:
        fallback = shutil.get_terminal_size()
        size = dict(ncols=fallback.columns, nrows=fallback.lines)
    return tqdm(total=total, initial=initial, desc=plan.study.name, unit="run", file=sys.stderr,
                leave=True, **size)


def run_label(record) -> str:
    """``rule seed K`` of a run record, ``lr=0.1 rule seed K`` for a sweep's run."""
    text = f"{record['rule']} seed {record['seed']}"
    params = record.get("params")
    if record.get("point") is not None and params:
        text = ",".join(f"{k}={value_text(v)}" for k, v in params.items()) + " " + text
    return text


def _describe(record) -> str:
    text = f"{run_label(record)}: {record['status']}"
    if record["status"] == "diverged":
        text += f" at step {record['step']}"
    return text


# -- the whole study -------------------------------------------------------------------------------
def execute(plan: StudyPlan, executor=None) -> StudyResults:
    """Run a planned study or sweep (see :func:`run_study`).

    ``executor``: where the runs go, in place of the plan's ``workers`` and ``scheduler``; it
    stays open, so that studies run one after the other share it (e.g. one pool of worker
    processes, ``make_executor(2, keep=True)``; the caller closes it).
    """
    exit_if_bootstrapping()
    study, rd, grid = plan.study, plan.results, plan.grid
    own = executor is None
    if own:
        executor = make_executor(plan.workers, plan.scheduler, plan.retries)
        executor.open()  # e.g. connect to the Dask scheduler: a bad address writes nothing
    try:
        rd.prepare(plan.config_record(), plan.mode)
        done = rd.completed_runs()
        todo = [k for k in plan.runs if k not in done]
        bar = _progress_bar(plan, len(plan.runs), len(plan.runs) - len(todo))

        def finished(task, result, attempts):
            record = _record(plan, task, result, attempts)
            bar.update(1)
            bar.set_postfix_str(_describe(record))

        start = time.perf_counter()
        try:
            executor.run(study, [plan.task(k) for k in todo], finished)
        finally:
            bar.close()
        seconds = {"runs": time.perf_counter() - start}
    finally:
        if own:
            executor.close()
    start = time.perf_counter()
    extra = tuple(grid.columns) + tuple(c for c in study.extra_columns if c not in grid.columns)
    rows = rd.merge(expected=plan.runs, extra_columns=extra, timing_metrics=study.timing_metrics,
                    point_columns=grid.columns)
    summary = summarize_points(study, rows, grid, plan.configs)
    rd.write_summary(summary)
    seconds["merge"] = time.perf_counter() - start
    start = time.perf_counter()
    paths, error = [], None
    if plan.figures:
        paths, error = draw_all(study, rd.read_metrics(include_timings=True), grid,
                                plan.configs, summary, rd, points=plan.figures != "sweep")
        note_figures(rd, paths, error)
    seconds["figures"] = time.perf_counter() - start
    keys = set(plan.runs)
    records = [r for r in rd.run_records() if run_key(r) in keys]
    return StudyResults(plan, records, todo, summary, paths, error, seconds)


_RUN_PARAMETERS = """
    Parameters
    ----------
    name : str
        A registered study (:func:`available_studies`).
    rules : list of str or str, optional
        The rules (a list or ``"a,b"``); default the study's :meth:`Study.default_rules`.
        A rule the study does not accept raises :class:`ValueError` listing the valid ones.
    seeds : int
        Seeds ``0 .. seeds - 1``.
    quick : bool
        Start from ``Config.quick()`` instead of the full-size defaults.
    out : str or path
        The results go to ``OUT/NAME``.
    overrides : dict, optional
        ``{field: value}`` applied to the configuration, text parsed to the field's type as
        ``--set key=value`` (:func:`parse_overrides`).
    grid : dict, optional
        ``{field: values}``: sweep the Cartesian product of the values (a list, or the text of
        ``--grid``: comma-separated, semicolons for a field that is a list itself), one run
        per (point, rule, seed); values are parsed and checked like ``overrides``, and a key
        may not be in both. The swept values become columns of ``metrics.csv`` and
        ``summary.csv`` (named after the key; ``grid_KEY`` when the study's rows already have
        a column KEY). None (default): no grid, or with ``mode="resume"`` the stored grid.
    workers : int
        Local worker processes running runs at once (1: in this process); the results are
        identical whatever the number. The workers are spawned and import the calling script:
        a script must run the study under ``if __name__ == "__main__":`` (without the guard
        each worker stops with one line saying so and every run is recorded ``failed``).
    scheduler : str or distributed.Client, optional
        Run on a running Dask distributed scheduler at this address (``tcp://HOST:8786``)
        instead of local processes (needs the ``brainlearn[dask]`` extra); the results are
        identical. Not together with ``workers > 1``.
    retries : int
        Local worker processes: how many more times a run is started when its worker process
        dies while running it (then it is recorded ``failed``). On Dask the scheduler's
        ``distributed.scheduler.allowed-failures`` decides instead.
    mode : {"new", "resume", "force"}
        ``new`` refuses a folder that holds results; ``resume`` runs only the missing (and
        failed) runs of the same configuration and grid; ``force`` replaces the folder.
    progress : bool, optional
        Show a progress bar on stderr (default: only when stderr is a terminal).
    figures : bool or "sweep"
        Draw the figures (default); False leaves them to ``brainlearn figures DIR`` (or
        :func:`redraw_figures`) later, e.g. for a large sweep; ``"sweep"``: a sweep's own
        figures (``sweep_METRIC``) only, not every point's.
    folder : str, optional
        The results folder's name under ``out`` (default: the study's name), e.g. to keep a
        sweep of a study beside a plain run of it.

    Returns
    -------
    StudyResults
        The :class:`~brainlearn.results.ResultsDir` with the run records, summary and figures;
        ``exit_status`` is 1 when a run failed or the figures could not be drawn.

    Bad arguments raise :class:`ValueError` or :class:`TypeError` before anything is written;
    an existing folder without ``resume``/``force`` raises
    :class:`~brainlearn.results.ResultsError` (a :class:`ValueError`), also without writing.
    """


def run_study(name, *, rules=None, seeds=3, quick=False, out="results", overrides=None,
              workers=1, mode="new", progress=None, grid=None, scheduler=None,
              retries=DEFAULT_RETRIES, figures=True, folder=None) -> StudyResults:
    plan = plan_study(name, rules=rules, seeds=seeds, quick=quick, out=out, overrides=overrides,
                      workers=workers, mode=mode, progress=progress, grid=grid,
                      scheduler=scheduler, retries=retries, figures=figures, folder=folder)
    return execute(plan)


def run_sweep(name, grid=None, *, rules=None, seeds=3, quick=False, out="results",
              overrides=None, workers=1, scheduler=None, retries=DEFAULT_RETRIES, mode="new",
              progress=None, figures=True, folder=None) -> StudyResults:
    return run_study(name, rules=rules, seeds=seeds, quick=quick, out=out, overrides=overrides,
                     workers=workers, mode=mode, progress=progress, grid=grid,
                     scheduler=scheduler, retries=retries, figures=figures, folder=folder)


run_study.__doc__ = """Run study ``name`` for every rule and seed (and every point of ``grid``);
    write ``OUT/NAME``; return its results.
""" + _RUN_PARAMETERS
run_sweep.__doc__ = """Sweep study ``name`` over ``grid`` (``{field: values}``): one run per
    (point, rule, seed); the same as :func:`run_study` with ``grid=``.

    ``run_sweep("learning", {"lr": [0.01, 0.05], "hidden": [50, 100]}, rules="backprop",
    seeds=3, quick=True, workers=2)``
""" + _RUN_PARAMETERS
