"""The study commands of the command line: ``studies``, ``run``, ``sweep``, ``figures``,
``report``, ``bench``.

The package :mod:`brainlearn.cli` builds the parser; :mod:`brainlearn.cli._base` owns the
error contract that every command shares. :func:`study_main` is the door the scripts in
``experiments/`` use: the same arguments and the same code as ``brainlearn run STUDY``.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import textwrap
import traceback

from ._base import UsageError, add_plugin_argument, load_cli_plugins

__all__ = ["add_commands", "add_run_arguments", "summary_table", "study_main"]


def _say(args, text) -> None:
    """An informational line on stderr (left out with --quiet)."""
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


def _last_line(text) -> str:
    lines = [line for line in str(text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


# -- studies ---------------------------------------------------------------------------------------
def _study_infos() -> list:
    from ..studies import available_studies, config_to_dict, get_study
    infos = []
    for name in available_studies():
        study = get_study(name)
        full = study.make_config(False)
        quick = study.make_config(True)
        infos.append({"name": name, "summary": study.summary,
                      "default_rules": list(study.default_rules(full)),
                      "headline": list(study.headline),
                      "extra_columns": list(study.extra_columns),
                      "timing_metrics": list(study.timing_metrics),
                      "config": config_to_dict(full), "quick_config": config_to_dict(quick)})
    return infos


def _studies_text(infos, width=None) -> str:
    """NAME and SUMMARY columns, the default rules under each summary; with ``width`` the text
    wraps inside the second column."""
    if not infos:
        return "No studies are registered.\n"
    name_width = max(len("NAME"), *(len(i["name"]) for i in infos))
    indent = " " * (name_width + 2)
    text_width = max(30, width - len(indent)) if width else None
    lines = [f"{'NAME':<{name_width}}  SUMMARY"]
    for info in infos:
        for k, text in enumerate((info["summary"], "default rules: "
                                  + (", ".join(info["default_rules"]) or "-"))):
            parts = textwrap.wrap(text, text_width, break_on_hyphens=False) if text_width \
                else [text]
            first = f"{info['name']:<{name_width}}  " if k == 0 else indent
            lines += [first + parts[0]] + [indent + p for p in parts[1:]]
    return "\n".join(lines) + "\n"


def _cmd_studies(args) -> int:
    infos = _study_infos()
    if args.json:
        from ..results import to_json
        sys.stdout.write(to_json(infos))
    else:
        from ._base import _table_width
        sys.stdout.write(_studies_text(infos, _table_width()))
    return 0


# -- run -------------------------------------------------------------------------------------------
def _int_at_least(minimum):
    """An argparse type: an int >= ``minimum``."""
    def parse(text) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an int") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is not >= {minimum}")
        return value
    return parse


_positive_int = _int_at_least(1)
_nonnegative_int = _int_at_least(0)


def add_run_arguments(parser, with_study=True, with_grid=False) -> None:
    """The arguments of ``brainlearn run`` (``with_study=False``: without the STUDY positional,
    for a script that runs one study; ``with_grid``: ``--grid``, for ``brainlearn sweep``)."""
    if with_study:
        parser.add_argument("study", metavar="STUDY", help="the study (brainlearn studies)")
    if with_grid:
        parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                            dest="grid",
                            help="sweep a configuration field over these values (repeatable: "
                                 "the Cartesian product of every --grid); values are parsed "
                                 "like --set; a field that is a list takes values separated "
                                 "by ';' (--grid widths='1,2;3,4')")
    parser.add_argument("--rules", metavar="A,B",
                        help="comma-separated rules (default: every registered rule that fits); "
                             "a rule defined in a file of your own needs --plugin FILE")
    add_plugin_argument(parser)
    parser.add_argument("--seeds", type=_positive_int, default=3, metavar="N",
                        help="run seeds 0..N-1 (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="the quick size (seconds; for trying things out and CI)")
    parser.add_argument("--out", default="results", metavar="DIR",
                        help="results go to DIR/STUDY (default: results)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        dest="sets", help="override a configuration field (repeatable)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                       help="run N runs at once in local worker processes (default 1: in this "
                            "process; same results)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a running Dask distributed scheduler, e.g. "
                            "tcp://HOST:8786 (needs pip install 'brainlearn[dask]'; same "
                            "results)")
    parser.add_argument("--retries", type=_nonnegative_int, default=2, metavar="N",
                        help="local workers: start a run again at most N times when its worker "
                             "process dies (default 2; then it is recorded failed)")
    parser.add_argument("--no-figures", action="store_false", dest="figures",
                        help="do not draw the figures (draw them later: brainlearn figures DIR)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="finish an interrupted study: run only what is missing (a "
                           "sweep keeps its stored grid)")
    mode.add_argument("--force", action="store_true",
                      help="replace the existing results of the study")


def _parse_sets(sets) -> dict:
    overrides = {}
    for item in sets:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--set {item}: expected KEY=VALUE")
        overrides[key.strip()] = value
    return overrides


def _parse_grid(items):
    """``{key: text}`` of the ``--grid KEY=V1,V2`` options (None when there are none)."""
    if not items:
        return None
    grid = {}
    for item in items:
        key, eq, values = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise UsageError(f"--grid {item}: expected KEY=V1,V2,...")
        if key in grid:
            raise UsageError(f"--grid {key}: the key is given twice (give its values once: "
                             f"--grid {key}=V1,V2,...)")
        grid[key] = values
    return grid


def _fmt(value, digits=4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}g}"


def summary_table(summary_rows, study=None) -> str:
    """The summary rows as a plain-text table: the group columns (``task`` only when there are
    several), the metric's unit when any metric has one (:func:`brainlearn.results.metric_info`
    of ``study``'s metrics), ``mean +- ci95`` and ``n`` (with the count of NaN values, e.g.
    diverged runs)."""
    from ..results import SUMMARY_COLUMNS, metric_info
    if not summary_rows:
        return "(no headline metrics)\n"
    groups = [k for k in summary_rows[0] if k not in SUMMARY_COLUMNS]
    if "task" in groups and len({r.get("task") for r in summary_rows}) == 1:
        groups.remove("task")
    units = [metric_info(r.get("metric", ""), study).unit for r in summary_rows]
    unit = "metric" in groups and any(units)
    header = [g.upper() for g in groups] + (["UNIT"] if unit else []) + ["MEAN +- 95% CI", "N"]
    cells = []
    for r, u in zip(summary_rows, units):
        n = str(r["n"]) + (f" ({r['n_nan']} nan)" if r.get("n_nan") else "")
        cells.append([str(r.get(g, "")) for g in groups] + ([u] if unit else [])
                     + [f"{_fmt(r['mean'])} +- {_fmt(r['ci95'], 2)}", n])
    widths = [max(len(row[c]) for row in [header] + cells) for c in range(len(header))]
    lines = ["  ".join(f"{v:<{w}}" for v, w in zip(row, widths)).rstrip()
             for row in [header] + cells]
    return "\n".join(lines) + "\n"


def _run(args, study) -> int:
    load_cli_plugins(args)  # first: --rules and the study's default rules may name their rules
    from ..results import ResultsError, path_problem
    from ..studies import execute, plan_study
    from ..studies._executors import SchedulerError
    from ..studies._runner import run_label
    problem = (path_problem(args.out, folder=True)
               or path_problem(os.path.join(args.out, study), folder=True))
    if problem:  # e.g. --out names a file: refused before anything is planned or written
        raise UsageError(f"--out {args.out}: {problem}; allowed: a folder, or a path where one "
                         "can be made")
    mode = "resume" if args.resume else ("force" if args.force else "new")
    plan = plan_study(study, rules=args.rules, seeds=args.seeds, quick=args.quick, out=args.out,
                      overrides=_parse_sets(args.sets), workers=args.workers, mode=mode,
                      progress=False if args.quiet else None,
                      grid=_parse_grid(getattr(args, "grid", None)),
                      scheduler=args.scheduler, retries=args.retries, figures=args.figures)
    try:
        res = execute(plan)
    except (ResultsError, SchedulerError) as exc:
        # the folder cannot be used as asked, or the scheduler cannot be reached: bad input
        raise UsageError(" ".join(str(exc).split())) from None
    except Exception as exc:  # noqa: BLE001 - a bug, not bad input: show where
        traceback.print_exc()
        print(f"brainlearn: error: study {study!r} stopped: {_last_line(exc) or type(exc)}",
              file=sys.stderr)
        return 1
    sys.stdout.write(summary_table(res.summary, study))
    counts = res.counts
    total = sum(counts.values())
    points = f" ({len(res.grid)} points)" if res.grid else ""
    print(f"{total} runs{points}: "
          + ", ".join(f"{counts[s]} {s}" for s in ("ok", "diverged", "failed"))
          + (f" ({total - len(res.ran)} resumed)" if len(res.ran) < total else ""))
    for r in res.diverged:
        print(f"  diverged: {run_label(r)} at step {r['step']}")
    for r in res.failed:
        print(f"  failed: {run_label(r)}: {_last_line(r['error'])}", file=sys.stderr)
    if res.figure_error:
        print(f"brainlearn: error: drawing the figures failed: {_last_line(res.figure_error)} "
              f"(traceback in {os.path.join(res.path, 'meta.json')})", file=sys.stderr)
    _say(args, f"results: {res.path} ({len(res.figure_paths)} figure files)" if args.figures
         else f"results: {res.path} (figures not drawn: brainlearn figures {res.path})")
    return res.exit_status


def _cmd_run(args) -> int:
    return _run(args, args.study)


_SWEEP_DESCRIPTION = """\
Sweep a study over a grid of configuration values: the Cartesian product of every --grid,
one run per (point, rule, seed). Values are parsed and checked like --set (a key is either set
or swept); a field that is a list takes its values separated by ';'. The swept values are
columns of metrics.csv and summary.csv (named after the key; grid_KEY when the study's rows
already have that column) and config.json records the grid. Figures: the study's own figures
of every point (NAME__KEY=VALUE.png) and sweep_METRIC.png, each headline metric against the
first swept key, one line per rule with 95% CIs, a panel per value of the other keys.

Runs go to --workers N local processes (default 1: this process) or to a running Dask
scheduler (--scheduler tcp://HOST:8786; pip install 'brainlearn[dask]'); metrics.csv is the
same either way. Each run is written when it finishes: after an interruption (even SIGKILL)
--resume runs only what is missing, with the stored grid. A run whose worker process dies is
started again (--retries) and then recorded failed.

Exit status 0 when every run finished (diverged runs are results), 1 when runs failed, 2 for
bad usage or input (nothing is written)."""

_SWEEP_EPILOG = """\
examples:
  brainlearn sweep learning --quick --rules backprop,feedback_alignment --grid lr=0.01,0.05,0.2
  brainlearn sweep learning --quick --grid lr=0.01,0.1 --grid hidden=50,100 --workers 2
  brainlearn sweep learning --quick --grid lr=0.01,0.1 --scheduler tcp://10.0.0.5:8786
  brainlearn sweep learning --quick --grid lr=0.01,0.1 --resume"""


def _cmd_sweep(args) -> int:
    return _run(args, args.study)


def study_main(study, argv=None, prog=None) -> int:
    """``brainlearn run STUDY`` as a script: the same options (without STUDY), the same code.

    Used by ``experiments/STUDY.py``: ``sys.exit(study_main("learning"))``.
    """
    from ._base import _Parser, run_guarded
    parser = _Parser(prog=prog or f"brainlearn run {study}",
                     description=f"Run the {study!r} study (the same as `brainlearn run {study}`).")
    add_run_arguments(parser, with_study=False)
    parser.add_argument("--quiet", action="store_true", help="no progress bar or notes")
    return run_guarded(parser, argv, lambda args: _run(args, study))


# -- figures, report, bench ------------------------------------------------------------------------
def _cmd_figures(args) -> int:
    from ..studies import redraw_figures
    status = 0
    for rd, paths, error in redraw_figures(args.dir):
        if error:
            print(f"brainlearn: error: the figures of {rd.path} failed: {_last_line(error)}",
                  file=sys.stderr)
            status = 1
        else:
            _say(args, f"{rd.path}: {len(paths)} figure files redrawn")
    return status


def _cmd_report(args) -> int:
    from ..report import find_problems, output_problem, write_report
    if args.output is not None:
        problem = output_problem(args.output)
        if problem:
            raise UsageError(f"--output {args.output or repr(args.output)}: {problem}")
    path = write_report(args.dir, args.output, title=args.title)
    _say(args, f"report: {path}")
    problems = find_problems(args.dir)
    for problem in problems:  # the report states them too; exit status 1
        print(f"brainlearn: error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _bench_scripts(folder) -> list:
    """The ``bench_*.py`` files in ``folder``, sorted (none: an empty list)."""
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if n.startswith("bench_") and n.endswith(".py"))


def _benchmark_candidates() -> list:
    """Where ``bench`` looks, in order: ``benchmarks/`` beside the imported package (a source
    checkout, or an editable install), then ``benchmarks/`` in the current folder (the root
    of a clone after ``pip install .``)."""
    # brainlearn/cli/_studies.py -> the folder that holds the brainlearn package
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return list(dict.fromkeys([os.path.join(root, "benchmarks"),
                               os.path.join(os.getcwd(), "benchmarks")]))


def benchmarks_dir():
    """The first folder of :func:`_benchmark_candidates` that holds ``bench_*.py`` scripts,
    or None."""
    for path in _benchmark_candidates():
        if _bench_scripts(path):
            return path
    return None


def _cmd_bench(args) -> int:
    folder = benchmarks_dir()
    if folder is None:
        raise UsageError("bench runs the scripts benchmarks/bench_*.py of a clone of the "
                         "brainlearn repository; found none in "
                         + " nor in ".join(_benchmark_candidates())
                         + ": run it from the root of the clone")
    root = os.path.dirname(folder)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    status = 0
    for name in _bench_scripts(folder):
        _say(args, f"== {name} ==")
        sys.stdout.flush()
        cmd = [sys.executable, os.path.join(folder, name)] + (["--quick"] if args.quick else [])
        done = subprocess.run(cmd, cwd=root, env=env, check=False)
        if done.returncode != 0:
            print(f"brainlearn: error: {name} exited with status {done.returncode}",
                  file=sys.stderr)
            status = 1
    return status


def add_commands(sub, quiet_parent) -> None:
    """Add the study commands to the subparsers ``sub`` (``quiet_parent`` gives --quiet)."""
    parents = [quiet_parent]
    p = sub.add_parser("studies", parents=parents, help="list the studies",
                       description="List the registered studies and the rules each runs.")
    p.add_argument("--json", action="store_true",
                   help="JSON: name, summary, default rules, headline metrics, configurations")
    p.set_defaults(func=_cmd_studies)

    p = sub.add_parser("run", parents=parents, help="run a study (rules x seeds)",
                       description="Run a study: every rule with every seed; write config.json, "
                                   "metrics.csv (timings.csv: wall times), summary.csv, "
                                   "meta.json and figures/ to "
                                   "OUT/STUDY, then print the summary. Exit status 0 when the "
                                   "study completed (diverged runs are results), 1 when runs "
                                   "failed, 2 for bad usage or input.")
    add_run_arguments(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("sweep", parents=parents,
                       help="sweep a study over a grid of settings (points x rules x seeds)",
                       description=_SWEEP_DESCRIPTION, epilog=_SWEEP_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(p, with_grid=True)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("figures", parents=parents, help="redraw the figures of stored results",
                       description="Redraw every figure from the stored CSV files (no run).")
    p.add_argument("dir", metavar="DIR", help="a study's results (OUT/STUDY) or OUT")
    p.set_defaults(func=_cmd_figures)

    p = sub.add_parser("report", parents=parents, help="write a self-contained HTML report",
                       description="One HTML file that opens offline: per study a table of "
                                   "rules x headline metrics (mean +- 95% CI, units in the "
                                   "header) and the finding of each figure first, then the "
                                   "figures, every summary row, the runs, configuration and "
                                   "provenance. Exit status 0 when every study is complete; "
                                   "1 when the report was written but a study is not "
                                   "(metrics.csv missing or unreadable, runs missing, the "
                                   "study not finished: each problem is stated in the report "
                                   "and on stderr); 2 for bad usage or input (nothing "
                                   "written).")
    p.add_argument("dir", metavar="DIR", help="a study's results (OUT/STUDY) or OUT")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="default: DIR/report.html; missing folders are made, an existing "
                        "HTML file is replaced, another existing file is refused")
    p.add_argument("--title", help="the page title")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("bench", parents=parents, help="run the benchmarks (source checkout)",
                       description="Run the scripts benchmarks/bench_*.py of a clone of the "
                                   "repository: those beside the imported brainlearn package, "
                                   "else those in ./benchmarks (run it from the root of the "
                                   "clone after pip install .).")
    p.add_argument("--quick", action="store_true", help="smoke-run sizes")
    p.set_defaults(func=_cmd_bench)

