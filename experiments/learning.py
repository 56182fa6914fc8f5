"""The ``learning`` study from a script: how each rule learns the digits.

Test accuracy against samples seen, final accuracy and receptive fields, per rule and seed.

One implementation, two doors: this script takes the options of ``brainlearn run learning``
(all but the study name) and runs the same code (:func:`brainlearn.studies.run_study`)::

    python experiments/learning.py --quick                   # quick size, 3 seeds
    python experiments/learning.py                           # full size
    python experiments/learning.py --rules backprop --seeds 5 --workers 2
    python experiments/learning.py --set KEY=VALUE --force   # override a Config field
    python experiments/learning.py --resume                  # finish an interrupted run

Results go to ``results/learning/`` (``--out``): config.json, metrics.csv (the same file for the
same seeds), timings.csv (the wall times), summary.csv, meta.json and figures/.
``brainlearn report results/learning`` makes an HTML report of them.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

from brainlearn.cli import study_main  # noqa: E402

if __name__ == "__main__":  # the guard also keeps worker processes (--workers) from rerunning it
    sys.exit(study_main("learning", prog="python experiments/learning.py"))
