"""The main job: how each rule learns, what it keeps, against honest controls, with a report.

Runs, at their quick sizes on the bundled digits, with three seeds each:

``learning``
    backprop and feedback alignment (end to end), Oja, Sanger, BCM and competitive learning (a
    hidden layer read out by the shared converged readout), beside the controls
    ``random_features`` (the untrained hidden layer) and ``pca`` (the exact principal
    components): test accuracy as they learn, each rule's own objective (alignment with the
    principal components, class selectivity, dead units, weight change) and receptive fields.
``representations``
    the same learning study swept over the hidden size (8, 32, 128 units) and the labels the
    readout gets (5 per class, or all): where, if anywhere, learned features beat random ones.
``retention``
    the same rules on split digits learned class by class, on permuted digits, and the
    ``features`` scenario (a layer learns digits 0-4, then 5-9: how much of its task-A
    features survive, read out frozen and re-fitted, and how far its weights drift); the
    consolidation terms EWC and synaptic intelligence beside backprop.

Then it writes one self-contained HTML report::

    python experiments/compare.py              # results/compare/: the three folders, report.html
    python experiments/compare.py --out DIR    # somewhere else
    python experiments/compare.py --force      # replace the results of an earlier run
    python experiments/compare.py --seeds 5 --workers 1

It is the same code as ``brainlearn run learning --quick --rules ...``, ``brainlearn sweep
learning --quick --grid hidden=8,32,128 --grid labels_per_class=5,0 --set eval_points=0
--set rf_units=0 ...`` and ``brainlearn run
retention --quick ...`` followed by ``brainlearn report``. Results are never replaced silently:
a study folder that already holds results is refused (exit status 2) unless ``--force``
(start again) or ``--resume`` (finish an interrupted run) is given.
"""

import argparse
import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

import multiprocessing  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

from brainlearn.cli._studies import summary_table  # noqa: E402
from brainlearn.report import write_report  # noqa: E402
from brainlearn.studies import (execute, make_executor, plan_study,  # noqa: E402
                                redraw_figures)

LOCAL = ["oja", "sanger", "bcm", "competitive"]
CONTROLS = ["random_features", "pca"]

#: (results folder, study, rules, --set overrides, --grid, figures) of the comparison, in the
#: order they run: the study whose figures take longest first, so that they are drawn while
#: the others run
PLAN = [
    ("retention", "retention", ["backprop", "ewc", "synaptic_intelligence"] + LOCAL,
     {"scenarios": "class_incremental,permuted,features"}, None, True),
    ("learning", "learning", ["backprop", "feedback_alignment"] + LOCAL + CONTROLS, {}, None,
     True),
    # scored at the end only, without receptive fields: the sweep's figures need neither
    ("representations", "learning", ["backprop"] + LOCAL + CONTROLS,
     {"eval_points": 0, "rf_units": 0}, {"hidden": [8, 32, 128], "labels_per_class": [5, 0]},
     "sweep"),
]


def _ready(_):
    """Nothing: started in each drawing process, so that all of them exist from the start."""
    return os.getpid()


def _draw(path, points):
    """Draw a study's figures from its stored results (in a worker process)."""
    return redraw_figures(path, points=points)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("results", "compare"),
                        help="results folder (default: results/compare)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per rule (default 3)")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes (default 2: the runs of a study share the cores)")
    parser.add_argument("--force", action="store_true",
                        help="replace the results of an earlier run in --out")
    parser.add_argument("--resume", action="store_true",
                        help="finish an interrupted run in --out (only the missing runs)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.workers < 1:
        parser.exit(2, f"{parser.prog}: error: --seeds and --workers must be >= 1\n")

    t0 = time.perf_counter()
    if args.force and args.resume:
        parser.exit(2, f"{parser.prog}: error: give --force or --resume, not both\n")
    mode = "force" if args.force else "resume" if args.resume else "new"
    try:  # every argument (and the output folder) checked before anything runs
        # the figures are drawn at the end, the studies side by side (figures=False here)
        plans = [plan_study(study, rules=rules, seeds=args.seeds, quick=True, out=args.out,
                            overrides=sets, workers=args.workers, mode=mode, grid=grid,
                            figures=False, folder=folder)
                 for folder, study, rules, sets, grid, _ in PLAN]
    except ValueError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    held = [plan.results.path for plan in plans if mode == "new" and plan.results.exists()]
    if held:  # refused before any study runs, so that no part is replaced or mixed
        parser.exit(2, f"{parser.prog}: error: {held[0]} already holds results: use --force to "
                       "replace them, --resume to finish them, or another --out\n")
    status = 0
    # the figures of a study are drawn (in a drawing process) while the next study runs. The
    # drawing processes are forked now, while this process has one thread (on Linux; spawned
    # elsewhere), and the runs of all studies share one pool of worker processes.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    drawers = max(1, min(args.workers, len(plans)))
    with ProcessPoolExecutor(drawers, mp_context=multiprocessing.get_context(method)) as drawing:
        list(drawing.map(_ready, range(drawers)))
        executor = make_executor(args.workers, keep=True)
        drawn = []
        try:
            for (folder, *_, figures), plan in zip(PLAN, plans):
                res = execute(plan, executor=executor)
                print(f"\n== {folder}")
                sys.stdout.write(summary_table(res.summary))
                status = max(status, res.exit_status)
                # a sweep's own figures only; its points' figures are left to `brainlearn
                # figures`
                points = figures is not False and figures != "sweep"
                drawn.append((res.path, drawing.submit(_draw, res.path, points)))
        finally:
            executor.close()
        for path, future in drawn:
            (_, paths, error), = future.result()
            print(f"{len(paths)} figure files in {os.path.join(path, 'figures')}"
                  + (f"; drawing failed:\n{error}" if error else ""))
            status = max(status, 1 if error else 0)
    report = write_report(args.out, os.path.join(args.out, "report.html"),
                          title="brainlearn: quick comparison")
    print(f"\nreport: {report}  ({time.perf_counter() - t0:.1f} s)")
    return status


if __name__ == "__main__":  # the guard also keeps worker processes (--workers) from rerunning it
    sys.exit(main())
