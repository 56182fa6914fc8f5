"""One self-contained HTML report of stored study results (``brainlearn report DIR -o FILE``).

The report is a single HTML5 file that opens offline: figures are embedded (SVG inline, PNG as
base64 ``data:`` URIs), styles are inline, no script, no web font, no link to anything outside
the file. Per study it opens with an overview: one wide table (a row per rule, a column per
headline metric and condition, ``mean ± 95% CI`` at the metric's digits, units in the header)
and the finding of each figure. Then come the figures (``figures/``), every summary row
(``summary.csv``, with a unit column), the status and run time of every run and the provenance
(``meta.json``), and the configuration (``config.json``); a table of contents links the
sections. It is drawn only from the stored files (no timestamp of its own), so the same results
give the same report.

Results that are not complete are reported as such (:func:`find_problems`): a study whose
``metrics.csv`` is missing or unreadable, whose runs are not all there or which never finished
opens with its status shown as not complete and the list of what is wrong, and ``brainlearn
report`` names each problem on stderr and exits with status 1 (the report is still written).

Two times are told apart: the learning study's metric ``wall_time`` is the *learning time*
(seconds in the rule's training calls), a run's wall time in ``meta.json`` is its *run time*
(the whole run, evaluation included).

Files of ``figures/`` the report reads besides the images (all optional, by figure name without
extension): ``captions.json`` (``{"name": "caption"}``; default: the file name),
``findings.json`` (``{"name": "one sentence stating the finding"}``, shown in bold before the
caption; :meth:`brainlearn.studies.Study.findings`) and ``overview.json`` (the summary rows of
the opening table, when the study chose them; default: every row of ``summary.csv``).
"""

from __future__ import annotations

import base64
import html
import math
import os
import re

from ._version import __version__
from .results import (RUN_STATUSES, SUMMARY_COLUMNS, ResultsDir, find_studies, format_mean_ci,
                      metric_info, metric_label, path_problem, read_json, read_metrics, to_json,
                      write_text)

__all__ = ["write_report", "render_report", "find_problems", "output_problem"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a;
       line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem;
       margin-top: 2.5rem; } h3 { margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #007a3d; } .diverged { color: #b35900; } .failed { color: #b00020; }
figure { margin: 1rem 0 2rem; } figcaption { font-size: .9rem; color: #444; }
figcaption strong { color: #1a1a1a; } table.overview td.num { white-space: nowrap; }
ul.findings li { margin: .2rem 0; }
figure svg, figure img { max-width: 100%; height: auto; }
pre { background: #f7f7f7; padding: .6rem; overflow-x: auto; font-size: .85rem; }
nav ol { margin: .2rem 0; } .muted { color: #666; font-size: .9rem; }
details pre { white-space: pre-wrap; }
"""

_IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
                ".jpeg": "image/jpeg"}
_PREFERENCE = (".svg", ".png", ".jpg", ".jpeg")


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _slug(text) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "x"


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.4g}"
    return str(value)


def _seconds(value) -> str:
    """Seconds at two significant digits, without an exponent (``0.012``, ``1.3``, ``130``)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return ""
    if value <= 0:
        return "0"
    return f"{value:.{max(0, 1 - math.floor(math.log10(value)))}f}"


def _fmt_seconds(value) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.2f} h"


def _table(header, rows, numeric=()) -> str:
    """An HTML table; ``rows`` are lists of cell values (formatted here)."""
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header)
           + "</tr></thead>", "<tbody>"]
    for row in rows:
        cells = []
        for h, v in zip(header, row):
            cls = ' class="num"' if h in numeric or (isinstance(v, (int, float))
                                                      and not isinstance(v, bool)) else ""
            cells.append(f"<td{cls}>{_e(_fmt(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


# -- figures ---------------------------------------------------------------------------------------
def _inline_svg(text, prefix) -> str:
    """An SVG file as an element to put in HTML: without the XML declaration, DOCTYPE, comments,
    ``<metadata>`` and ``xmlns`` attributes (HTML needs none of them, and they hold URLs), with
    every ``id`` prefixed so that several figures in one page do not share ids."""
    text = re.sub(r"<\?xml.*?\?>", "", text, flags=re.DOTALL)
    text = re.sub(r"<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", "", text, flags=re.DOTALL | re.IGNORECASE)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    text = re.sub(r"<metadata\b.*?</metadata>|<metadata\b[^>]*/>", "", text, flags=re.DOTALL)
    text = re.sub(r"\s+xmlns(:[\w.-]+)?\s*=\s*(\"[^\"]*\"|'[^']*')", "", text)
    ids = set(re.findall(r"\bid=\"([^\"]+)\"", text))
    if ids:
        def scoped(match):
            name = match.group(2)
            return f"{match.group(1)}{prefix}-{name}" if name in ids else match.group(0)
        text = re.sub(r"(\bid=\")([^\"]+)(?=\")", scoped, text)
        text = re.sub(r"(url\(#)([^)]+)(?=\))", scoped, text)
        text = re.sub(r"(href=\"#)([^\"]+)(?=\")", scoped, text)
    start = text.find("<svg")
    if start < 0:
        raise ValueError("not an SVG document (no <svg> element)")
    return text[start:].strip()


def _figures(rd) -> list:
    """``[(name, path)]``: one file per figure name, SVG preferred over PNG, sorted by name."""
    if not os.path.isdir(rd.figures_dir):
        return []
    best = {}
    for entry in sorted(os.listdir(rd.figures_dir)):
        stem, ext = os.path.splitext(entry)
        ext = ext.lower()
        if entry.startswith(".") or ext not in _IMAGE_TYPES:
            continue
        if stem not in best or _PREFERENCE.index(ext) < _PREFERENCE.index(best[stem][1]):
            best[stem] = (os.path.join(rd.figures_dir, entry), ext)
    return [(stem, best[stem][0]) for stem in sorted(best)]


def _figure_html(path, fig_id, caption, finding=None) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".svg":
        with open(path, encoding="utf-8") as fh:
            body = _inline_svg(fh.read(), fig_id)
    else:
        with open(path, "rb") as fh:
            data = base64.b64encode(fh.read()).decode("ascii")
        body = f'<img src="data:{_IMAGE_TYPES[ext]};base64,{data}" alt="{_e(caption)}">'
    text = f"<strong>{_e(finding)}</strong> {_e(caption)}" if finding else _e(caption)
    return f'<figure id="{fig_id}">\n{body}\n<figcaption>{text}</figcaption>\n</figure>'


# -- the tables of a study's summary ---------------------------------------------------------------
def _condition_text(condition) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in condition)


def _overview_table(rows, study) -> str:
    """The opening table: a row per rule, a column per metric (and per condition -- the values
    of the other group columns that vary among the metric's rows, e.g. a scenario), cells
    ``mean ± 95% CI`` at the metric's digits, the metric's label and unit in the header."""
    conditions = [k for k in rows[0] if k not in SUMMARY_COLUMNS and k not in ("rule", "metric")]
    rules = list(dict.fromkeys(r["rule"] for r in rows))
    columns, cells = [], {}
    for metric in dict.fromkeys(r["metric"] for r in rows):
        mine = [r for r in rows if r["metric"] == metric]
        varying = [c for c in conditions if len({_fmt(r.get(c)) for r in mine}) > 1]
        for r in mine:
            key = (metric, tuple((c, r.get(c)) for c in varying))
            if key not in columns:
                columns.append(key)
            cells[key, r["rule"]] = r
    split = any(cond for _, cond in columns)
    top = ['<th rowspan="2">rule</th>' if split else "<th>rule</th>"]
    sub = []
    for metric in dict.fromkeys(m for m, _ in columns):
        conds = [c for m, c in columns if m == metric]
        label = _e(metric_label(metric, study))
        if conds == [()]:
            top.append(f'<th rowspan="2">{label}</th>' if split else f"<th>{label}</th>")
        else:
            top.append(f'<th colspan="{len(conds)}">{label}</th>')
            sub += [f"<th>{_e(_condition_text(c))}</th>" for c in conds]
    head = "<tr>" + "".join(top) + "</tr>" + ("<tr>" + "".join(sub) + "</tr>" if split else "")
    body = []
    for rule in rules:
        tds = [f"<td>{_e(rule)}</td>"]
        for metric, cond in columns:
            r = cells.get(((metric, cond), rule))
            text = "" if r is None else format_mean_ci(r.get("mean"), r.get("ci95"), metric,
                                                        study)
            if r is not None and r.get("n_nan"):
                text += f" ({r['n_nan']} nan)"
            tds.append(f'<td class="num">{_e(text)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return "\n".join(['<table class="overview">', f"<thead>{head}</thead>", "<tbody>", *body,
                      "</tbody>", "</table>"])


def _summary_table(rows, study) -> str:
    """Every summary row, a unit column after the metric."""
    header = list(rows[0].keys())
    at = header.index("metric") + 1 if "metric" in header else len(header)
    header.insert(at, "unit")
    return _table(header, [[r.get(h) if h != "unit" else metric_info(r.get("metric", ""),
                                                                     study).unit
                            for h in header] for r in rows])


def _findings_html(findings, figure_ids) -> str:
    """The finding of each figure, a link to the figure where it is drawn."""
    items = []
    for name, text in findings.items():
        fid = figure_ids.get(name)
        title = f'<a href="#{fid}">{_e(name)}</a>' if fid else _e(name)
        items.append(f"<li>{title}: {_e(text)}</li>")
    return '<ul class="findings">\n' + "\n".join(items) + "\n</ul>" if items else ""


# -- one study -------------------------------------------------------------------------------------
def _read_or_none(path, reader):
    if not os.path.isfile(path):
        return None
    return reader(path)


def _study_problems(rd, meta=None) -> list:
    """What keeps the stored results of one study from being complete, a line each (empty:
    nothing): ``metrics.csv`` missing or unreadable, ``timings.csv`` unreadable, ``meta.json``
    missing or not recording the status ``complete`` (runs missing, the study not finished).
    ``meta``: the study's ``meta.json`` when already read."""
    problems = []
    if not os.path.isfile(rd.metrics_path):
        problems.append("metrics.csv is missing, so the measurements of the runs are not there "
                        "(the study's command with --resume rebuilds it from runs/)")
    for path in (rd.metrics_path, rd.timings_path):
        if os.path.isfile(path):
            try:
                read_metrics(path)
            except (OSError, ValueError) as exc:
                text = " ".join(str(exc).split()).replace(f"{path}: ", "")
                problems.append(f"{os.path.basename(path)} cannot be read: {text}")
    if meta is None and os.path.isfile(rd.meta_path):
        meta = read_json(rd.meta_path, nonfinite=False)
    if not meta:
        problems.append("meta.json is missing, so the status of the runs is not known")
    elif meta.get("status") != "complete":
        missing = len(meta.get("missing") or [])
        problems.append(f"meta.json records the status {meta.get('status')!r}"
                        + (f" ({missing} runs missing)" if missing else
                           " (the study did not finish)"))
    return problems


def find_problems(results_dir) -> list:
    """``["OUT/STUDY: problem", ...]``: what keeps each study under ``results_dir`` from being
    complete (:func:`_study_problems`); empty when every study is complete. The report states
    the same problems at the top of each study's section."""
    if isinstance(results_dir, ResultsDir):
        results_dir = results_dir.path
    return [f"{rd.path}: {problem}" for rd in find_studies(results_dir)
            for problem in _study_problems(rd)]


def _status_line(meta, problems=()) -> str:
    notes = ""
    if problems:
        notes = ('\n<p class="failed"><strong>Not complete:</strong></p>\n<ul class="problems">'
                 + "".join(f"<li>{_e(p)}</li>" for p in problems) + "</ul>")
    if not meta:
        return '<p class="muted">No meta.json.</p>' + notes
    counts = meta.get("counts") or {}
    status = meta.get("status")
    if problems and status == "complete":  # the files say otherwise
        status = "not complete"
    parts = [f"status: <strong>{_e(status)}</strong>"]
    if counts:
        order = list(RUN_STATUSES) + sorted(set(counts) - set(RUN_STATUSES))
        parts.append(", ".join(f'<span class="{_e(s)}">{_e(counts[s])} {_e(s)}</span>'
                               for s in order if s in counts))
    if meta.get("missing"):
        parts.append(f"{len(meta['missing'])} missing")
    if meta.get("seeds"):
        parts.append("seeds " + _e(", ".join(map(str, meta["seeds"]))))
    if meta.get("started"):
        parts.append(f"started {_e(meta['started'])}")
    if meta.get("finished"):
        parts.append(f"finished {_e(meta['finished'])}")
    if meta.get("run_time") is not None:
        parts.append(f"total run time {_e(_fmt_seconds(meta['run_time']))}")
    return "<p>" + " &middot; ".join(parts) + "</p>" + notes


def _runs_html(meta) -> str:
    runs = (meta or {}).get("runs") or []
    if not runs:
        return '<p class="muted">No finished runs recorded in meta.json.</p>'
    # the run time: the whole run, evaluation included (a learning time is a metric)
    out = ["<table>", ("<thead><tr><th>rule</th><th>seed</th><th>status</th><th>step</th>"
                       "<th>run time (s)</th><th>error</th></tr></thead>"), "<tbody>"]
    for run in runs:
        error = run.get("error") or ""
        # the last line of a traceback names the exception; the whole text folds out
        last = error.strip().splitlines()[-1] if error.strip() else ""
        err = (f"<details><summary>{_e(last)}</summary><pre>{_e(error)}</pre></details>"
               if error.strip() else "")
        status = str(run.get("status", ""))
        out.append(f"<tr><td>{_e(run.get('rule'))}</td><td class=\"num\">{_e(run.get('seed'))}"
                   f"</td><td class=\"{_e(status)}\">{_e(status)}</td>"
                   f"<td class=\"num\">{_e(_fmt(run.get('step')))}</td>"
                   f"<td class=\"num\">{_e(_seconds(run.get('wall_time')))}</td>"
                   f"<td>{err}</td></tr>")
    if meta.get("missing"):
        for rule, seed in meta["missing"]:
            out.append(f"<tr><td>{_e(rule)}</td><td class=\"num\">{_e(seed)}</td>"
                       "<td>missing</td><td></td><td></td><td></td></tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _provenance_html(meta) -> str:
    prov = (meta or {}).get("provenance")
    if not prov:
        return '<p class="muted">No provenance recorded.</p>'
    out = [_table(["key", "value"], [[k, v] for k, v in prov.items()])]
    sessions = meta.get("sessions") or []
    if len(sessions) > 1:
        out.append("<p>Sessions (the study was resumed):</p>")
        out.append(_table(["mode", "started", "brainlearn", "git commit", "dirty"],
                          [[s.get("mode"), s.get("started"),
                            (s.get("provenance") or {}).get("brainlearn"),
                            (s.get("provenance") or {}).get("git_commit"),
                            (s.get("provenance") or {}).get("git_dirty")] for s in sessions]))
    if meta.get("mixed_provenance"):
        out.append("<p><strong>Note:</strong> the runs were made by different versions of the "
                   "code (see the sessions).</p>")
    return "\n".join(out)


def _study_sections(rd, sid):
    """``(title, [(sub_id, heading, html)])`` of one study."""
    meta = _read_or_none(rd.meta_path, lambda p: read_json(p, nonfinite=False))
    config = _read_or_none(rd.config_path, lambda p: read_json(p, nonfinite=False))
    summary = _read_or_none(rd.summary_path, lambda p: rd.read_summary())
    study = title = (meta or {}).get("study") or rd.study
    notes = {name: _read_or_none(os.path.join(rd.figures_dir, f"{name}.json"), read_json)
             for name in ("captions", "findings", "overview")}
    captions, findings = notes["captions"] or {}, notes["findings"] or {}
    figures = _figures(rd)
    figure_ids = {name: f"{sid}-fig{k}" for k, (name, _) in enumerate(figures)}
    parts = []

    overview = notes["overview"] or summary
    body = [_status_line(meta, _study_problems(rd, meta))]
    if overview and {"rule", "metric"} <= set(overview[0]):
        body.append(_overview_table(overview, study))
    elif not overview:
        body.append('<p class="muted">No summary.csv.</p>')
    body.append(_findings_html(findings, figure_ids))
    parts.append(("overview", "Overview", "\n".join(b for b in body if b)))

    if figures:
        body = "\n".join(_figure_html(path, figure_ids[name], captions.get(name, name),
                                      findings.get(name))
                         for name, path in figures)
    else:
        body = '<p class="muted">No figures.</p>'
    parts.append(("figures", "Figures", body))
    body = (_summary_table(summary, study) if summary
            else '<p class="muted">No summary.csv.</p>')
    parts.append(("summary", "Summary (every row)", body))
    parts.append(("runs", "Runs", _runs_html(meta)))
    body = (f"<pre><code>{_e(to_json(config).rstrip())}</code></pre>" if config is not None
            else '<p class="muted">No config.json.</p>')
    parts.append(("config", "Configuration", body))
    parts.append(("provenance", "Provenance", _provenance_html(meta)))
    return title, parts


def render_report(results_dir, title=None) -> str:
    """The HTML text of the report of ``results_dir`` (one study, or a folder of studies)."""
    studies = find_studies(results_dir)
    name = os.path.basename(os.path.abspath(os.fspath(results_dir)))
    title = title or f"brainlearn results: {name}"
    toc, sections, used = [], [], set()
    for rd in studies:
        sid = "study-" + _slug(rd.study)
        while sid in used:
            sid += "-x"
        used.add(sid)
        study_title, parts = _study_sections(rd, sid)
        toc.append(f'<li><a href="#{sid}">{_e(study_title)}</a><ol>'
                   + "".join(f'<li><a href="#{sid}-{k}">{_e(h)}</a></li>' for k, h, _ in parts)
                   + "</ol></li>")
        body = "\n".join(f'<h3 id="{sid}-{k}">{_e(h)}</h3>\n{html_}' for k, h, html_ in parts)
        sections.append(f'<section id="{sid}">\n<h2>{_e(study_title)}</h2>\n{body}\n</section>')
    count = f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="brainlearn {_e(__version__)}">',
        f"<title>{_e(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
        "<header>", f"<h1>{_e(title)}</h1>",
        (f'<p class="muted">{count}, report made by brainlearn {_e(__version__)} from the stored '
         "results (summary.csv, figures/, meta.json, config.json).</p>"), "</header>",
        '<nav id="contents">', "<h2>Contents</h2>", "<ol>", *toc, "</ol>", "</nav>",
        "<main>", *sections, "</main>", "</body>", "</html>", ""])


_HTML = (".html", ".htm")


def output_problem(path) -> str | None:
    """Why the report cannot be written to ``path``, with what is allowed (one line), or None:
    an empty path, a folder, a file in the way of a folder above it, a folder without write
    permission, or an existing file that is not HTML (``.html``, ``.htm``), which is never
    replaced (it could be a results file). Writes nothing."""
    path = os.fspath(path)
    problem = path_problem(path)
    if problem is None and os.path.isfile(path) and not path.lower().endswith(_HTML):
        problem = f"{path} exists and is not an HTML file (.html, .htm)"
        return f"{problem}; allowed: a new file, or an HTML file to replace"
    if problem is None:
        return None
    if os.path.isdir(path):
        return f"{problem}; allowed: a file path, e.g. {os.path.join(path, 'report.html')}"
    return f"{problem}; allowed: a file path whose folders exist or can be made"


def write_report(results_dir, out_path=None, title=None) -> str:
    """Write the self-contained HTML report of ``results_dir``; return its path.

    Parameters
    ----------
    results_dir : str or path or ResultsDir
        One study's folder (``OUT/STUDY``) or a folder of studies (``OUT``).
    out_path : str or path, optional
        Where to write (atomically); default ``results_dir/report.html``. Missing folders are
        made; an existing HTML file is replaced, any other existing file is refused.
    title : str, optional
        The page title (default ``brainlearn results: <folder name>``).

    A study whose results are not complete (:func:`find_problems`: ``metrics.csv`` missing or
    unreadable, runs missing, the study not finished) is reported with its problems stated
    at the top of its section and its status shown as not complete. An ``out_path`` that cannot
    be written (:func:`output_problem`) raises :class:`ValueError` before anything is written.
    """
    if isinstance(results_dir, ResultsDir):
        results_dir = results_dir.path
    out_path = os.fspath(out_path) if out_path is not None else \
        os.path.join(os.fspath(results_dir), "report.html")
    problem = output_problem(out_path)
    if problem:
        raise ValueError(f"out_path={out_path!r}: {problem}")
    text = render_report(results_dir, title)
    return write_text(out_path, text)
