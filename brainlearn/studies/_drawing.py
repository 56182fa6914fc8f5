"""Drawing a study's figures from its stored results, and what the report says about them.

After the summary is written, the runner draws the figures (:meth:`Study.figures`) into
``figures/`` with ``figures/captions.json`` (:attr:`Study.captions`) and
``figures/findings.json`` (:meth:`Study.findings`: one sentence per figure stating its result,
computed from the stored summary), and ``figures/overview.json`` when the study chooses the
summary rows of the report's opening table (:meth:`Study.overview`). A sweep draws the study's
figures of every point, named ``NAME__POINT``, and the generic sweep figures.
:func:`redraw_figures` does the same from the stored files alone (``brainlearn figures DIR``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import traceback

from ..results import ResultsError, find_studies, read_json, write_json
from ._base import get_study
from ._sweep import grid_from_record, rows_of_point, summarize_points, without_columns

__all__ = ["draw_all", "note_figures", "redraw_figures"]


def _stored_summary(rd) -> list:
    """The rows of ``summary.csv`` as read back (what the report shows), [] without one."""
    return rd.read_summary() if os.path.isfile(rd.summary_path) else []


def _findings_of(study, summary, rows, config) -> dict:
    """:meth:`Study.findings`, checked: ``{figure name: sentence}``."""
    found = study.findings(summary, rows, config) or {}
    if not isinstance(found, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in found.items()):
        raise TypeError(f"study {study.name!r}: findings returned {found!r:.200}; allowed: a "
                        "dict of figure name (str) -> sentence (str)")
    return dict(found)


def _write_notes(rd, findings, overview=None) -> None:
    """``figures/findings.json`` and, when the study chooses the rows of the report's opening
    table, ``figures/overview.json`` (an older choice is removed when there is none now)."""
    write_json(os.path.join(rd.figures_dir, "findings.json"), findings)
    path = os.path.join(rd.figures_dir, "overview.json")
    if overview is not None:
        write_json(path, [dict(row) for row in overview])
    elif os.path.exists(path):
        os.remove(path)


def _draw(study, rows, config, rd):
    """Draw the study's figures into ``rd.figures_dir`` and write what the report says about
    them (captions, findings); ``(paths, error traceback or None)``."""
    import matplotlib

    from ..plotting import style
    os.makedirs(rd.figures_dir, exist_ok=True)
    errors = []
    try:
        with matplotlib.rc_context(style()):
            paths = [os.fspath(p) for p in (study.figures(rows, config, rd.figures_dir) or [])]
    except Exception:  # noqa: BLE001 - results are kept; the caller reports the error
        paths = []
        errors.append(traceback.format_exc())
    if study.captions:
        write_json(os.path.join(rd.figures_dir, "captions.json"), dict(study.captions))
    try:  # the findings come from the stored summary: they need no figure
        summary = _stored_summary(rd)
        _write_notes(rd, _findings_of(study, summary, rows, config),
                     study.overview(summary, config))
    except Exception:  # noqa: BLE001
        errors.append(f"the findings:\n{traceback.format_exc()}")
    return paths, ("\n".join(errors) or None)


def _draw_sweep(study, rows, grid, configs, summary, rd, points=True):
    """The figures of a sweep: the study's own figures of every point, from the point's rows
    (without the swept columns) and configuration, named ``NAME__POINT`` (``POINT`` the point's
    label, e.g. ``lr=0.01``), and the generic sweep figures ``sweep_METRIC`` of the summary
    (:mod:`brainlearn.studies._sweep_figures`); ``points=False``: the sweep figures only.
    ``(paths, error traceback or None)``."""
    import matplotlib

    from ..plotting import style
    from ._sweep_figures import draw_sweep
    figdir = rd.figures_dir
    os.makedirs(figdir, exist_ok=True)
    for name in os.listdir(figdir):  # scratch folders of an interrupted drawing
        if name.startswith(".point-"):
            shutil.rmtree(os.path.join(figdir, name), ignore_errors=True)
    paths, errors, captions, findings = [], [], {}, {}
    stored = _stored_summary(rd)
    with matplotlib.rc_context(style()):
        for index, (point, config) in enumerate(zip(grid.points, configs)):
            if not points:
                break
            mine = without_columns(rows_of_point(rows, grid, point), grid.columns)
            if not mine:
                continue
            label = grid.file_label(index)
            try:
                ours = without_columns(rows_of_point(stored, grid, point), grid.columns)
                findings.update({f"{stem}__{label}": text for stem, text in
                                 _findings_of(study, ours, mine, config).items()})
            except Exception:  # noqa: BLE001 - results are kept; the caller reports the error
                errors.append(f"the findings of point {grid.label(point)}:\n"
                              f"{traceback.format_exc()}")
            scratch = tempfile.mkdtemp(dir=figdir, prefix=".point-")
            try:
                study.figures(mine, config, scratch)
                for name in sorted(os.listdir(scratch)):
                    stem, ext = os.path.splitext(name)
                    if not os.path.isfile(os.path.join(scratch, name)) or ext == "" \
                            or ".tmp-" in ext:
                        continue
                    target = os.path.join(figdir, f"{stem}__{label}{ext}")
                    os.replace(os.path.join(scratch, name), target)
                    paths.append(target)
                    if stem in study.captions:
                        captions[f"{stem}__{label}"] = \
                            f"{study.captions[stem]} ({grid.label(point)})"
            except Exception:  # noqa: BLE001 - results are kept; the caller reports the error
                errors.append(f"point {grid.label(point)}:\n{traceback.format_exc()}")
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        try:
            drawn, notes = draw_sweep(summary, grid, figdir, study=study.name,
                                      names=getattr(study, "value_names", None))
            paths += drawn
            captions.update(notes)
        except Exception:  # noqa: BLE001
            errors.append(f"the sweep figures:\n{traceback.format_exc()}")
    try:
        found = study.sweep_findings(summary, grid) or {}
        if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
            raise TypeError(f"study {study.name!r}: sweep_findings returned {found!r:.200}; "
                            "allowed: a dict of figure name -> sentence")
        findings.update(found)
    except Exception:  # noqa: BLE001 - the figures are kept; the error is reported with them
        errors.append(f"the sweep findings:\n{traceback.format_exc()}")
    if captions:
        write_json(os.path.join(figdir, "captions.json"), captions)
    _write_notes(rd, findings)
    return paths, ("\n".join(errors) or None)


def draw_all(study, rows, grid, configs, summary, rd, points=True):
    """The figures of a study (:func:`_draw`) or of a sweep (:func:`_draw_sweep`; ``points``
    False: only the sweep figures, not every point's own)."""
    if not grid:
        return _draw(study, rows, configs[0], rd)
    return _draw_sweep(study, rows, grid, configs, summary, rd, points)


def note_figures(rd, paths, error) -> None:
    """Record the drawn figures' names and the drawing error (or None) in ``meta.json``."""
    meta = read_json(rd.meta_path, nonfinite=False)
    meta["figures"] = sorted({os.path.splitext(os.path.basename(p))[0] for p in paths})
    meta["figure_error"] = error
    write_json(rd.meta_path, meta)


def redraw_figures(path, points=True) -> list:
    """Redraw every figure of the stored results at ``path`` (``OUT/STUDY`` or ``OUT``) from
    ``metrics.csv`` (with ``timings.csv`` when there is one) and ``config.json`` alone, without
    running anything (a sweep: every point's figures and the sweep figures; ``points=False``:
    the sweep figures only).

    Returns ``[(ResultsDir, paths, error)]``, one per study; ``error`` is the traceback when the
    study's ``figures`` raised, else None. A folder without results, an unknown study or a study
    without ``metrics.csv`` raises :class:`ValueError` (one line).
    """
    done = []
    for rd in find_studies(path):
        if not os.path.isfile(rd.config_path):
            raise ResultsError(f"{rd.path} has no config.json: cannot redraw its figures")
        stored = rd.read_config()
        name = stored.get("study", rd.study) if isinstance(stored, dict) else rd.study
        study = get_study(name)
        if not os.path.isfile(rd.metrics_path):
            raise ResultsError(f"{rd.path} has no metrics.csv (the study did not finish): "
                               "finish it with --resume")
        config = study.config_from_dict(stored.get("config", {}))
        grid = grid_from_record(study, read_json(rd.config_path, nonfinite=False))
        configs = [dataclasses.replace(config, **point) for point in grid.points]
        rows = rd.read_metrics(include_timings=True)
        summary = summarize_points(study, rows, grid, configs) if grid else None
        paths, error = draw_all(study, rows, grid, configs, summary, rd, points)
        if os.path.isfile(rd.meta_path):
            note_figures(rd, paths, error)
        done.append((rd, paths, error))
    return done
