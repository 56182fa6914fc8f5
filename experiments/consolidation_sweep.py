"""The documented sweep behind the consolidation defaults of the retention study.

EWC and synaptic intelligence (SI) are chained with backprop at batch size 1 on the retention
study's full-size permuted digits (5 tasks, 3 passes each, 100 tanh hidden units, lr 0.05), and
compared with backprop alone over the same seeds. For each setting it prints the average
accuracy after the last task, the backward transfer (BWT) and the mean accuracy of each task
just after it was learned (the diagonal of the accuracy matrix: a penalty so strong that the
network stops learning shows there first), as mean +- 95% CI over seeds::

    python experiments/consolidation_sweep.py                  # the sweep (seeds 0-4)
    python experiments/consolidation_sweep.py --defaults --seeds 5   # the defaults, 5 seeds

The chosen defaults are the settings of the largest average accuracy whose BWT beats
backprop's: ``RetentionConfig.ewc_strength``, ``RetentionConfig.si_strength`` and
``RetentionConfig.si_window`` (the presentations per step of SI's path integral,
``SynapticIntelligence.window``). The tables
of the last sweep are in ``docs/tuning.md``.
"""

import argparse
import dataclasses
import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

import numpy as np  # noqa: E402

from brainlearn import datasets  # noqa: E402
from brainlearn.plotting import mean_ci  # noqa: E402
from brainlearn.studies import retention  # noqa: E402

EWC_STRENGTHS = (1.0, 3.0, 10.0, 30.0, 100.0)
SI_STRENGTHS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
SI_WINDOWS = (1, 64, 256, 1024)


def run(rule, seed, data, window=None, **overrides):
    """``(average accuracy, BWT, mean diagonal)`` of one permuted-digits run."""
    if window is not None:
        overrides["si_window"] = window
    config = dataclasses.replace(retention.RetentionConfig(scenarios=("permuted",)),
                                 **overrides)
    rows = retention.run_scenario(rule, config, seed, "permuted", data)
    value = {r["metric"]: r["value"] for r in rows if r["metric"] in ("avg_accuracy", "bwt")}
    diagonal = [r["value"] for r in rows
                if r["metric"] == "accuracy" and r["task"] == str(r["eval_task"])]
    return value["avg_accuracy"], value["bwt"], float(np.mean(diagonal))


def line(label, results) -> str:
    a = np.array(results)
    cells = []
    for k in range(3):
        mean, half = mean_ci(a[:, [k]])  # (seeds, 1)
        cells.append(f"{mean[0]:+.3f} +- {half[0]:.3f}" if k == 1 else
                     f"{mean[0]:.3f} +- {half[0]:.3f}")
    return f"| {label} | " + " | ".join(cells) + " |"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--defaults", action="store_true",
                        help="only backprop and the defaults of EWC and SI")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.exit(2, f"{parser.prog}: error: --seeds must be >= 2 (a CI needs two)\n")
    data = datasets.load("digits")
    seeds = range(args.seeds)
    start = time.perf_counter()
    print(f"permuted digits, full size, batch size 1, seeds 0-{args.seeds - 1} "
          "(mean +- 95% CI)\n")
    print("| setting | average accuracy | BWT | accuracy just after learning |")
    print("|---|---|---|---|")

    def show(label, rule, **kw):
        print(line(label, [run(rule, s, data, **kw) for s in seeds]), flush=True)

    show("backprop", "backprop")
    defaults = retention.RetentionConfig()
    if args.defaults:
        show(f"EWC, strength {defaults.ewc_strength:g}", "ewc")
        show(f"SI, strength {defaults.si_strength:g}", "synaptic_intelligence")
    else:
        for strength in EWC_STRENGTHS:
            show(f"EWC, strength {strength:g}", "ewc", ewc_strength=strength)
        for window in SI_WINDOWS:
            for strength in SI_STRENGTHS:
                show(f"SI, window {window}, strength {strength:g}", "synaptic_intelligence",
                     window=window, si_strength=strength)
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
