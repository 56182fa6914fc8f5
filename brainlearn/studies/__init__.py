"""Studies: named comparisons of learning rules, run as rules x seeds into a results folder.

::

    from brainlearn.studies import run_study, available_studies
    res = run_study("learning", rules=["backprop", "oja"], seeds=3, quick=True, out="results")
    res.path                      # results/learning: config.json, metrics.csv, summary.csv, ...

The command line is the other door to the same code: ``brainlearn run learning --quick``.

A study is a :class:`Study` subclass (a frozen ``Config`` dataclass with full-size defaults and a
``Config.quick()``, ``run_one(config, rule, seed) -> rows``, ``figures(rows, config, figdir)``)
registered with :func:`register_study`. :func:`run_study` resolves the configuration (``--set``
overrides parsed to the field types), checks the rules, prepares ``OUT/NAME`` (new, resume or
force), runs every missing (rule, seed) pair (in worker processes when ``workers > 1``; the
results are the same), records each run's status (``ok``, ``diverged`` with the step, ``failed``
with the error) and wall time, merges ``metrics.csv`` and ``meta.json``, writes ``summary.csv``
from the study's headline metrics and draws the figures from the stored CSV files. The rows of
the study's timing metrics (``Study.timing_metrics``, e.g. the learning study's ``wall_time``)
go to ``timings.csv`` instead of ``metrics.csv``, so that ``metrics.csv`` is byte-identical
for the same settings and seeds; summary and figures use both files.

Built-in studies: ``learning``, ``retention``, ``spacing``, ``memory`` (see each module's
docstring for the rules it takes, their roles and the networks).
"""

from ._base import (Study, available_studies, config_fields, config_from_dict, config_to_dict,
                    get_study, parse_overrides, register_study, unregister_study)
from ._executors import make_executor
from ._runner import (StudyPlan, StudyResults, execute, plan_study, redraw_figures,
                      run_study, run_sweep)
from ._sweep import Grid, parse_grid

__all__ = ["Study", "register_study", "unregister_study", "get_study", "available_studies",
           "run_study", "run_sweep", "plan_study", "execute", "StudyPlan", "StudyResults",
           "redraw_figures", "make_executor", "Grid", "parse_grid",
           "config_fields", "parse_overrides", "config_to_dict", "config_from_dict"]

# The built-in studies register themselves on import (after the names above exist: they
# import Study and register_study from this package).
from . import learning, memory, retention, spacing, stdp  # noqa: E402,F401
