"""The ``retention`` study from a script: how much of earlier tasks each rule keeps.

Accuracy matrices, backward transfer and forgetting on sequential tasks, per rule and seed.

One implementation, two doors: this script takes the options of ``brainlearn run retention``
(all but the study name) and runs the same code (:func:`brainlearn.studies.run_study`)::

    python experiments/retention.py --quick                   # quick size, 3 seeds
    python experiments/retention.py                           # full size
    python experiments/retention.py --rules backprop --seeds 5 --workers 2
    python experiments/retention.py --set KEY=VALUE --force   # override a Config field
    python experiments/retention.py --resume                  # finish an interrupted run

Results go to ``results/retention/`` (``--out``): config.json, metrics.csv, summary.csv, meta.json
and figures/. ``brainlearn report results/retention`` makes an HTML report of them.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

from brainlearn.cli import study_main  # noqa: E402

if __name__ == "__main__":  # the guard also keeps worker processes (--workers) from rerunning it
    sys.exit(study_main("retention", prog="python experiments/retention.py"))
