"""Results of a study: atomic files, tidy metrics, summaries, provenance, the results folder.

A study writes into ``OUT/STUDY/`` (:class:`ResultsDir`)::

    config.json    the fully resolved configuration (written by ResultsDir.prepare)
    runs/          one finished run (rule, seed) a pair of files: RULE__seedK.csv (its metric
                   rows) and RULE__seedK.json (its record: status, wall time, attempts, ...).
                   The record is written last, so a run counts as finished exactly when its
                   record exists. In a sweep a run is (point, rule, seed): pP__RULE__seedK.*
    metrics.csv    every run's rows in tidy long format (ResultsDir.merge), except those of
                   the study's timing metrics
    timings.csv    the rows of the timing metrics (e.g. wall time: measurements of the machine,
                   which differ between runs with the same seed), same columns as metrics.csv;
                   only when the study declares timing metrics (ResultsDir.merge), so that a
                   seeded study's metrics.csv is byte-identical for the same configuration and
                   seeds; ResultsDir.read_metrics() gives the rows of both files together.
    meta.json      provenance, start/end time, per-run status and wall time (prepare, merge)
    summary.csv    mean, std and 95% CI over seeds (summarize + ResultsDir.write_summary)
    figures/       PNG and SVG figures drawn from the CSVs

Every file is written atomically: a temporary file in the same directory, flushed and fsynced,
then renamed over the target (:func:`write_bytes`), so a reader or a crash sees either the old
file or the new one, never a part.

JSON (:func:`write_json`) has sorted keys and two-space indentation. JSON has no NaN or infinity,
so the floats ``nan``, ``inf`` and ``-inf`` are written as the strings ``"nan"``, ``"inf"`` and
``"-inf"`` (their ``repr``) and :func:`read_json` turns exactly those strings back into floats.
(A genuine string ``"nan"`` therefore reads back as a float.) Tuples become lists, numpy scalars
and arrays become numbers and lists, dataclass instances become objects, integer keys become
strings.

CSV files hold every float as its ``repr``, the shortest text that reads back as the same
double, so :func:`read_metrics` returns bit-identical numbers and the same rows always give a
byte-identical file.

The API in one screen::

    write_bytes(path, data) / write_text(path, text) / write_json(path, obj) -> path
    read_json(path, nonfinite=True) -> object (bad JSON: ValueError naming the file)
    to_json(obj) -> str;  path_problem(path, folder=False) -> why it cannot be written, or None
    write_metrics(path, rows, extra_columns=()) -> path;  read_metrics(path, numeric=()) -> rows
    final_values(rows, metrics=None) -> rows at the last step of each series
    summarize(rows, metrics=None, by=("rule", "metric"), where=None, reduce="last") -> rows
    write_summary(path, summary_rows) -> path;  read_summary(path) -> rows
    metric_info(metric, study=None) -> MetricInfo (label, unit, range, digits);
        metric_label(metric) -> "label (unit)";  metric_range(metric) -> (lo, hi);
        format_mean_ci(mean, ci, metric) -> "0.912 ± 0.013"
    provenance() -> dict
    ResultsDir(out, study): check_location(), prepare(config, mode), completed_runs(),
        write_run(...),
        merge(expected, extra_columns, timing_metrics, point_columns) -> rows (metrics and
        timings),
        read_metrics(include_timings=True) -> rows, read_timings() -> rows
    find_studies(path) -> [ResultsDir, ...]
"""

from ._files import path_problem, read_json, to_json, write_bytes, write_json, write_text
from ._folder import RUN_STATUSES, ResultsDir, ResultsError, find_studies, run_key
from ._provenance import provenance
from ._tables import (METRIC_COLUMNS, SUMMARY_COLUMNS, extra_columns_of, final_values,
                      read_metrics, read_summary, summarize, write_metrics, write_summary)
from ._units import (METRICS, STUDY_METRICS, MetricInfo, format_mean_ci, metric_info,
                     metric_label, metric_range)

__all__ = [
    "write_bytes", "write_text", "write_json", "read_json", "to_json", "path_problem",
    "METRIC_COLUMNS", "SUMMARY_COLUMNS", "write_metrics", "read_metrics", "extra_columns_of",
    "final_values", "summarize", "write_summary", "read_summary",
    "MetricInfo", "METRICS", "STUDY_METRICS", "metric_info", "metric_label", "metric_range",
    "format_mean_ci",
    "provenance", "RUN_STATUSES", "ResultsError", "ResultsDir", "find_studies", "run_key",
]
