"""Does the quick main job tell the story of the full studies? Rankings of rules, quick against full.

Runs the studies of the main job (``experiments/compare.py``: the learning study with its rules and
controls, and the retention study's scenarios) at the quick and at the full size with the same
rules and seeds, then prints, for every headline metric (and scenario), the mean of each rule at
both sizes, the two rankings and whether they agree. Rules whose means differ by less than the
larger of their two 95% confidence half-widths are tied: a swap between tied rules is not a
disagreement (the order of two rules within noise of each other is not a finding either size can
make).

::

    python experiments/quick_vs_full.py                  # results in results/quick_vs_full
    python experiments/quick_vs_full.py --seeds 5 --workers 2 --resume
"""

import argparse
import math
import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

from brainlearn.results import read_summary  # noqa: E402
from brainlearn.studies import run_study  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import PLAN  # noqa: E402


def _groups(summary):
    """``{(metric, condition): {rule: (mean, half-width)}}`` of a summary."""
    out = {}
    for r in summary:
        cond = r.get("scenario") or ""
        mean = float(r["mean"])
        half = float(r.get("ci95") or 0.0)
        if math.isfinite(mean):
            out.setdefault((r["metric"], cond), {})[r["rule"]] = (mean, half if math.isfinite(half)
                                                                  else 0.0)
    return out


def _disagreements(quick, full):
    """Pairs of rules ordered one way at the quick size and the other way at the full size,
    where neither size has them within noise of each other."""
    rules = sorted(set(quick) & set(full))
    bad = []
    for i, a in enumerate(rules):
        for b in rules[i + 1:]:
            dq = quick[a][0] - quick[b][0]
            df = full[a][0] - full[b][0]
            tied_q = abs(dq) <= max(quick[a][1], quick[b][1])
            tied_f = abs(df) <= max(full[a][1], full[b][1])
            if dq * df < 0 and not tied_q and not tied_f:
                bad.append((a, b))
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("results", "quick_vs_full"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--resume", action="store_true", help="keep finished runs")
    args = parser.parse_args(argv)
    mode = "resume" if args.resume else "force"
    status = 0
    for folder, study, rules, sets, grid, _ in PLAN:
        if grid:  # the sweep's points are the learning study's, at other sizes
            continue
        summaries, seconds = {}, {}
        for size in ("quick", "full"):
            start = time.perf_counter()
            res = run_study(study, rules=rules, seeds=args.seeds, quick=size == "quick",
                            out=os.path.join(args.out, size), overrides=sets, mode=mode,
                            workers=args.workers, figures=False, folder=folder)
            seconds[size] = time.perf_counter() - start
            summaries[size] = _groups(read_summary(res.summary_path))
        print(f"\n== {folder}: quick {seconds['quick']:.0f} s, full {seconds['full']:.0f} s "
              f"({args.seeds} seeds)")
        for key in sorted(set(summaries["quick"]) & set(summaries["full"])):
            q, f = summaries["quick"][key], summaries["full"][key]
            bad = _disagreements(q, f)
            metric, cond = key
            order_q = " > ".join(sorted(q, key=lambda r: -q[r][0]))
            order_f = " > ".join(sorted(f, key=lambda r: -f[r][0]))
            print(f"{metric}{' / ' + cond if cond else ''}: "
                  f"{'same ranking' if order_q == order_f else 'rankings agree within noise' if not bad else 'DISAGREE'}")
            for rule in sorted(f, key=lambda r: -f[r][0]):
                if rule in q:
                    print(f"    {rule:<24} quick {q[rule][0]:9.4g} +- {q[rule][1]:<8.2g} "
                          f"full {f[rule][0]:9.4g} +- {f[rule][1]:.2g}")
            for a, b in bad:
                print(f"    disagree: {a} vs {b}")
            status = max(status, 1 if bad and metric != "wall_time" else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
