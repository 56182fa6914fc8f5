"""One self-contained HTML report of stored study results (``brainlearn report DIR -o FILE``).

The report is a single HTML5 file that opens offline: figures are embedded (SVG inline, PNG as
base64 ``data:`` URIs), styles are inline, no script, no web font, no link to anything outside
the file. Per study it shows the summary table (``summary.csv``), the figures (``figures/``),
the status and wall time of every run and the provenance (``meta.json``), and the configuration
(``config.json``); a table of contents links the sections. It is drawn only from the stored
files (no timestamp of its own), so the same results give the same report.

Figure captions: an optional ``figures/captions.json`` (``{"name": "caption", ...}``, by file
name without extension); otherwise the caption is the file name.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re

from ._version import __version__
from .results import RUN_STATUSES, ResultsDir, find_studies, read_json, to_json, write_text

__all__ = ["write_report", "render_report"]

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


def _figure_html(path, fig_id, caption) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext == ".svg":
        with open(path, encoding="utf-8") as fh:
            body = _inline_svg(fh.read(), fig_id)
    else:
        with open(path, "rb") as fh:
            data = base64.b64encode(fh.read()).decode("ascii")
        body = f'<img src="data:{_IMAGE_TYPES[ext]};base64,{data}" alt="{_e(caption)}">'
    return (f'<figure id="{fig_id}">\n{body}\n'
            f"<figcaption>{_e(caption)}</figcaption>\n</figure>")


# -- one study -------------------------------------------------------------------------------------
def _read_or_none(path, reader):
    if not os.path.isfile(path):
        return None
    return reader(path)


def _status_line(meta) -> str:
    if not meta:
        return '<p class="muted">No meta.json.</p>'
    counts = meta.get("counts") or {}
    parts = [f"status: <strong>{_e(meta.get('status'))}</strong>"]
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
        parts.append(f"run time {_e(_fmt_seconds(meta['run_time']))}")
    return "<p>" + " &middot; ".join(parts) + "</p>"


def _runs_html(meta) -> str:
    runs = (meta or {}).get("runs") or []
    if not runs:
        return '<p class="muted">No finished runs recorded in meta.json.</p>'
    out = ["<table>", ("<thead><tr><th>rule</th><th>seed</th><th>status</th><th>step</th>"
                       "<th>wall time</th><th>error</th></tr></thead>"), "<tbody>"]
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
                   f"<td class=\"num\">{_e(_fmt_seconds(run.get('wall_time')))}</td>"
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
    title = (meta or {}).get("study") or rd.study
    parts = []

    if summary:
        header = list(summary[0].keys())
        body = _table(header, [[row.get(h) for h in header] for row in summary])
    else:
        body = '<p class="muted">No summary.csv.</p>'
    parts.append(("summary", "Summary", _status_line(meta) + "\n" + body))

    figures = _figures(rd)
    captions = _read_or_none(os.path.join(rd.figures_dir, "captions.json"), read_json) or {}
    if figures:
        body = "\n".join(_figure_html(path, f"{sid}-fig{k}", captions.get(name, name))
                         for k, (name, path) in enumerate(figures))
    else:
        body = '<p class="muted">No figures.</p>'
    parts.append(("figures", "Figures", body))
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


def write_report(results_dir, out_path=None, title=None) -> str:
    """Write the self-contained HTML report of ``results_dir``; return its path.

    Parameters
    ----------
    results_dir : str or path or ResultsDir
        One study's folder (``OUT/STUDY``) or a folder of studies (``OUT``).
    out_path : str or path, optional
        Where to write (atomically); default ``results_dir/report.html``.
    title : str, optional
        The page title (default ``brainlearn results: <folder name>``).
    """
    if isinstance(results_dir, ResultsDir):
        results_dir = results_dir.path
    text = render_report(results_dir, title)
    out_path = os.fspath(out_path) if out_path is not None else \
        os.path.join(os.fspath(results_dir), "report.html")
    return write_text(out_path, text)
