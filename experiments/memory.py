"""The ``memory`` study from a script: storing, recalling and forgetting patterns.

Capacity (recall from noisy cues against the load P/N, theory drawn in) and palimpsests
(recall of patterns stored online against their age, lifetime against N), per storage rule.

One implementation, two doors: this script takes the options of ``brainlearn run memory``
(all but the study name) and runs the same code (:func:`brainlearn.studies.run_study`)::

    python experiments/memory.py --quick                   # quick size, 3 seeds
    python experiments/memory.py --workers 2               # full size
    python experiments/memory.py --rules hopfield_hebb,storkey --set parts=capacity
    python experiments/memory.py --set n_neurons=500 --set cue_noise=0.2 --force
    python experiments/memory.py --resume                  # finish an interrupted run

Results go to ``results/memory/`` (``--out``): config.json, metrics.csv, summary.csv, meta.json
and figures/. ``brainlearn report results/memory`` makes an HTML report of them.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

from brainlearn.cli import study_main  # noqa: E402

if __name__ == "__main__":  # the guard also keeps worker processes (--workers) from rerunning it
    sys.exit(study_main("memory", prog="python experiments/memory.py"))
