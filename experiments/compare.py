"""The main job: a quick comparison of how rules learn and how they retain, with a report.

Runs two studies at their quick sizes on the bundled digits -- ``learning`` (backprop, feedback
alignment, Oja, Sanger and BCM, the unsupervised ones scored through the shared readout) and
``retention`` (backprop, EWC and synaptic intelligence on split and permuted digits) -- with
three seeds each, draws their figures and writes one self-contained HTML report::

    python experiments/compare.py              # results/compare/{learning,retention}/, report.html
    python experiments/compare.py --out DIR    # somewhere else
    python experiments/compare.py --seeds 5 --workers 2

It is the same code as ``brainlearn run learning --quick --rules ...`` followed by
``brainlearn run retention --quick ...`` and ``brainlearn report``; this script replaces its
own earlier output (``results/compare`` by default) and says so.
"""

import argparse
import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

#: (study, rules, --set overrides) of the comparison
PLAN = [
    ("learning", ["backprop", "feedback_alignment", "oja", "sanger", "bcm"], {}),
    ("retention", ["backprop", "ewc", "synaptic_intelligence"],
     {"scenarios": "class_incremental,permuted"}),
]


def main(argv=None) -> int:
    from brainlearn._cli_studies import summary_table
    from brainlearn.report import write_report
    from brainlearn.studies import execute, plan_study

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("results", "compare"),
                        help="results folder (default: results/compare)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per rule (default 3)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.workers < 1:
        parser.exit(2, f"{parser.prog}: error: --seeds and --workers must be >= 1\n")

    t0 = time.perf_counter()
    plans = [plan_study(name, rules=rules, seeds=args.seeds, quick=True, out=args.out,
                        overrides=sets, workers=args.workers, mode="force")
             for name, rules, sets in PLAN]  # every argument checked before anything runs
    status = 0
    for (name, _, _), plan in zip(PLAN, plans):
        if os.path.isdir(os.path.join(args.out, name)):
            print(f"replacing {os.path.join(args.out, name)}")
        res = execute(plan)
        print(f"\n== {name} ({len(res.figure_paths)} figure files in {res.figures_dir})")
        sys.stdout.write(summary_table(res.summary))
        status = max(status, res.exit_status)
    report = write_report(args.out, os.path.join(args.out, "report.html"),
                          title="brainlearn: quick comparison")
    print(f"\nreport: {report}  ({time.perf_counter() - t0:.1f} s)")
    return status


if __name__ == "__main__":  # the guard also keeps worker processes (--workers) from rerunning it
    sys.exit(main())
