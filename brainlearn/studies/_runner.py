"""Running a study: plan (validate everything, write nothing), then run, merge, summarise, draw.

``config.json`` of a study holds what defines its results::

    {"study": NAME, "quick": bool, "rules": [...], "seeds": [0, 1, ...], "config": {Config fields}}

so ``--resume`` continues only with exactly these settings, and ``brainlearn figures DIR``
rebuilds the ``Config`` from it to redraw the figures.

The rows of the study's :attr:`~brainlearn.studies.Study.timing_metrics` (wall time) go to
``timings.csv`` instead of ``metrics.csv`` (:meth:`~brainlearn.results.ResultsDir.merge`), so
``metrics.csv`` is byte-identical for the same settings and seeds; the summary and the figures
are made from the rows of both files.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed

from ..engine import DivergenceError
from ..results import ResultsDir, ResultsError, find_studies, read_json, write_json
from ._base import Study, config_to_dict, get_study

__all__ = ["StudyPlan", "StudyResults", "plan_study", "execute", "run_study", "redraw_figures"]

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

    @property
    def runs(self) -> list:
        """Every (rule, seed) pair of the study, rules outer, in the order of ``metrics.csv``."""
        return [(rule, seed) for rule in self.rules for seed in self.seeds]

    def config_record(self) -> dict:
        """What ``config.json`` holds (see the module docstring)."""
        return {"study": self.study.name, "quick": bool(self.quick), "rules": list(self.rules),
                "seeds": list(self.seeds), "config": config_to_dict(self.config)}


class StudyResults(ResultsDir):
    """The results folder of a finished :func:`run_study` call, with what happened.

    Attributes (beyond :class:`~brainlearn.results.ResultsDir`): ``plan``, ``config``,
    ``records`` (every run's record: rule, seed, status, step, error, wall_time, ...), ``ran``
    (the (rule, seed) pairs run in this call; the others were resumed), ``summary`` (the rows
    of ``summary.csv``), ``figure_paths``, ``figure_error`` (the traceback when drawing failed,
    else None).
    """

    def __init__(self, plan, records, ran, summary, figure_paths, figure_error):
        super().__init__(plan.results.out, plan.results.study)
        self.plan, self.config = plan, plan.config
        self.records, self.ran, self.summary = records, ran, summary
        self.figure_paths, self.figure_error = figure_paths, figure_error

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
            raise ValueError(f"{what} (valid: {', '.join(valid)})")
    return list(dict.fromkeys(chosen))


def plan_study(name, *, rules=None, seeds=3, quick=False, out="results", overrides=None,
               workers=1, mode="new", progress=None) -> StudyPlan:
    """Validate the arguments of :func:`run_study` and resolve the configuration and the rules;
    write nothing. Bad input raises :class:`ValueError` / :class:`TypeError` with one line."""
    study = get_study(name)
    _check_count(seeds, "seeds")
    _check_count(workers, "workers")
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}: allowed {', '.join(map(repr, _MODES))}")
    if overrides is not None and not hasattr(overrides, "items"):
        raise TypeError(f"overrides: expected a dict of key -> value, got "
                        f"{type(overrides).__name__}")
    config = study.make_config(bool(quick), overrides)
    chosen = _resolve_rules(study, config, rules)
    if workers > 1:
        try:
            pickle.dumps((study, config))
        except Exception as exc:  # noqa: BLE001 - any pickling failure means: not sendable
            raise ValueError(f"workers={workers}: study {study.name!r} cannot be sent to worker "
                             f"processes ({type(exc).__name__}: {exc}); use workers=1") from None
    return StudyPlan(study=study, config=config, rules=chosen, seeds=list(range(seeds)),
                     quick=bool(quick), results=ResultsDir(out, study.name), mode=mode,
                     workers=workers, progress=progress)


# -- one run (also the worker-process entry point: top level, so spawn can import it) -----------
def _run_and_record(study, config, rule, seed, out, name) -> dict:
    """Run ``study.run_one`` and record the run in ``OUT/NAME/runs``; return the record."""
    rd = ResultsDir(out, name)
    start = time.perf_counter()
    status, step, error, rows = "ok", None, None, []
    try:
        rows = list(study.run_one(config, rule, seed))
    except DivergenceError as exc:
        status = "diverged"
        step = getattr(exc, "step", None)
        step = int(step) if step is not None else -1
        rows = list(getattr(exc, "rows", None) or [])
    except Exception:  # noqa: BLE001 - a failed run is a result to record; the others go on
        status, error = "failed", traceback.format_exc()
    wall = time.perf_counter() - start
    try:
        return rd.write_run(rule, seed, rows, status, wall, step=step, error=error)
    except (ValueError, TypeError) as exc:  # the study returned rows that cannot be stored
        text = f"the run's rows cannot be recorded: {type(exc).__name__}: {exc}"
        if error:
            text = f"{error}\n{text}"
        return rd.write_run(rule, seed, [], "failed", wall, error=text)


def _init_worker(n_workers) -> None:
    """Worker processes leave Ctrl-C to the parent (which stops them) and share the cores."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import numba
        numba.set_num_threads(max(1, numba.config.NUMBA_NUM_THREADS // n_workers))
    except Exception:  # noqa: BLE001 - only a performance setting
        pass


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


def _describe(record) -> str:
    text = f"{record['rule']} seed {record['seed']}: {record['status']}"
    if record["status"] == "diverged":
        text += f" at step {record['step']}"
    return text


def _run_serial(plan, todo, bar) -> None:
    rd = plan.results
    for rule, seed in todo:
        bar.set_postfix_str(f"running {rule} seed {seed}")
        record = _run_and_record(plan.study, plan.config, rule, seed, rd.out, rd.study)
        bar.update(1)
        bar.set_postfix_str(_describe(record))


def _run_pool(plan, todo, bar) -> None:
    rd = plan.results
    n = min(plan.workers, len(todo))
    pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(n,))
    try:
        futures = {pool.submit(_run_and_record, plan.study, plan.config, rule, seed, rd.out,
                               rd.study): (rule, seed) for rule, seed in todo}
        for future in as_completed(futures):
            rule, seed = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - the worker process itself failed
                record = rd.write_run(rule, seed, [], "failed",
                                      error=f"the worker process failed: {type(exc).__name__}: "
                                            f"{exc}")
            bar.update(1)
            bar.set_postfix_str(_describe(record))
    except BaseException:
        # Ctrl-C or a failure here: stop the workers now (finished runs are already recorded,
        # a run cut short leaves no record and is run again by --resume)
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# -- figures ---------------------------------------------------------------------------------------
def _draw(study, rows, config, rd):
    """Draw the study's figures into ``rd.figures_dir``; ``(paths, error traceback or None)``."""
    import matplotlib

    from ..plotting import style
    os.makedirs(rd.figures_dir, exist_ok=True)
    try:
        with matplotlib.rc_context(style()):
            paths = [os.fspath(p) for p in (study.figures(rows, config, rd.figures_dir) or [])]
    except Exception:  # noqa: BLE001 - results are kept; the caller reports the error
        return [], traceback.format_exc()
    if study.captions:
        write_json(os.path.join(rd.figures_dir, "captions.json"), dict(study.captions))
    return paths, None


def _note_figures(rd, paths, error) -> None:
    meta = read_json(rd.meta_path, nonfinite=False)
    meta["figures"] = sorted({os.path.splitext(os.path.basename(p))[0] for p in paths})
    meta["figure_error"] = error
    write_json(rd.meta_path, meta)


def redraw_figures(path) -> list:
    """Redraw every figure of the stored results at ``path`` (``OUT/STUDY`` or ``OUT``) from
    ``metrics.csv`` (with ``timings.csv`` when there is one) and ``config.json`` alone, without
    running anything.

    Returns ``[(ResultsDir, paths, error)]``, one per study; ``error`` is the traceback when the
    study's ``figures`` raised, else None. A folder without results, an unknown study or a study
    without ``metrics.csv`` raises :class:`ValueError` (one line).
    """
    done = []
    for rd in find_studies(path):
        if not os.path.isfile(rd.config_path):
            raise ResultsError(f"{rd.path} has no config.json: cannot redraw its figures")
        stored = rd.read_config()
        name = stored.get("study", rd.study) if isinstance(stored, dict) else rd.study
        study = get_study(name)
        if not os.path.isfile(rd.metrics_path):
            raise ResultsError(f"{rd.path} has no metrics.csv (the study did not finish): "
                               "finish it with --resume")
        config = study.config_from_dict(stored.get("config", {}))
        paths, error = _draw(study, rd.read_metrics(include_timings=True), config, rd)
        if os.path.isfile(rd.meta_path):
            _note_figures(rd, paths, error)
        done.append((rd, paths, error))
    return done


# -- the whole study -------------------------------------------------------------------------------
def execute(plan: StudyPlan) -> StudyResults:
    """Run a planned study (see :func:`run_study`)."""
    study, rd = plan.study, plan.results
    rd.prepare(plan.config_record(), plan.mode)
    done = rd.completed_runs()
    todo = [k for k in plan.runs if k not in done]
    bar = _progress_bar(plan, len(plan.runs), len(plan.runs) - len(todo))
    try:
        if plan.workers > 1 and len(todo) > 1:
            _run_pool(plan, todo, bar)
        else:
            _run_serial(plan, todo, bar)
    finally:
        bar.close()
    rows = rd.merge(expected=plan.runs, extra_columns=study.extra_columns,
                    timing_metrics=study.timing_metrics)
    summary = study.summarize(rows, plan.config)
    rd.write_summary(summary)
    paths, error = _draw(study, rd.read_metrics(include_timings=True), plan.config, rd)
    _note_figures(rd, paths, error)
    records = [r for r in rd.run_records() if (r["rule"], r["seed"]) in set(plan.runs)]
    return StudyResults(plan, records, todo, summary, paths, error)


def run_study(name, *, rules=None, seeds=3, quick=False, out="results", overrides=None,
              workers=1, mode="new", progress=None) -> StudyResults:
    """Run study ``name`` for every rule and seed; write ``OUT/NAME``; return its results.

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
    workers : int
        Processes running runs at once; the results are identical to ``workers=1``.
    mode : {"new", "resume", "force"}
        ``new`` refuses a folder that holds results; ``resume`` runs only the missing (and
        failed) runs of the same configuration; ``force`` replaces the folder.
    progress : bool, optional
        Show a progress bar on stderr (default: only when stderr is a terminal).

    Returns
    -------
    StudyResults
        The :class:`~brainlearn.results.ResultsDir` with the run records, summary and figures;
        ``exit_status`` is 1 when a run failed or the figures could not be drawn.

    Bad arguments raise :class:`ValueError` or :class:`TypeError` before anything is written;
    an existing folder without ``resume``/``force`` raises
    :class:`~brainlearn.results.ResultsError` (a :class:`ValueError`), also without writing.
    """
    plan = plan_study(name, rules=rules, seeds=seeds, quick=quick, out=out, overrides=overrides,
                      workers=workers, mode=mode, progress=progress)
    return execute(plan)
