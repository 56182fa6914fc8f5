"""The ``spacing`` study from a script: massed or spaced repetitions, what is left a day later.

The late-phase weight left against the interval between repetitions, and the early/late
trajectories (tag-and-capture by default; see brainlearn.studies.spacing).

One implementation, two doors: this script takes the options of ``brainlearn run spacing``
(all but the study name) and runs the same code (:func:`brainlearn.studies.run_study`)::

    python experiments/spacing.py --quick                   # quick size, 3 seeds
    python experiments/spacing.py                           # full size
    python experiments/spacing.py --rules tag_and_capture,hebb --seeds 5 --workers 2
    python experiments/spacing.py --set KEY=VALUE --force   # override a Config field
    python experiments/spacing.py --resume                  # finish an interrupted run

Results go to ``results/spacing/`` (``--out``): config.json, metrics.csv, summary.csv, meta.json
and figures/. ``brainlearn report results/spacing`` makes an HTML report of them.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

from brainlearn.cli import study_main  # noqa: E402

if __name__ == "__main__":  # the guard also keeps worker processes (--workers) from rerunning it
    sys.exit(study_main("spacing", prog="python experiments/spacing.py"))
