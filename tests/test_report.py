"""brainlearn.report: one self-contained, well-formed HTML file with every figure and table."""

import base64
import math
import os
from html.parser import HTMLParser

import pytest
from matplotlib.figure import Figure

from brainlearn import plotting, report
from brainlearn import results as R

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _Checker(HTMLParser):
    """Parses the report and checks that every element is closed in order; collects what the
    tests look at (ids, figures, links, external references, tables)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.ids, self.links, self.external = [], [], [], [], []
        self.figures, self.tables, self.doctype = {}, 0, None
        self._figure = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self._attrs(tag, attrs)
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):  # <path .../> inside inline SVG
        self._attrs(tag, attrs)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag == "figure":
            self._figure = None

    def _attrs(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "figure":
            self._figure = attrs["id"]
            self.figures[self._figure] = []
        elif tag in ("svg", "img") and self._figure and self.stack[-1] == "figure":
            self.figures[self._figure].append((tag, attrs))
        if tag == "table":
            self.tables += 1
        for key in ("href", "xlink:href", "src"):
            value = attrs.get(key)
            if value is None:
                continue
            if tag == "a":
                self.links.append(value)
            if not value.startswith(("#", "data:")):
                self.external.append(value)


def _parse(text):
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.doctype == "DOCTYPE html"
    assert checker.errors == [] and checker.stack == []
    assert len(checker.ids) == len(set(checker.ids)), "duplicate ids"
    assert all(link[1:] in checker.ids for link in checker.links if link.startswith("#"))
    return checker


def _read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _figure(path, formats, style=True):
    import matplotlib
    with matplotlib.rc_context(plotting.style() if style else {}):
        fig = Figure(figsize=(2.5, 1.8))
        ax = fig.add_subplot()
        plotting.plot_learning_curve(ax, [0, 1, 2], [[0.1, 0.5, 0.7], [0.2, 0.4, 0.8]], "oja")
        ax.legend()
        plotting.save_figure(fig, path, formats=formats)


def _study(out, study, rules=("oja", "backprop"), figures=()):
    rd = R.ResultsDir(out, study)
    rd.prepare({"study": study, "epochs": 2, "lr": 0.01, "label": "<b>bold</b> & co"})
    for rule in rules:
        for seed in (0, 1):
            rows = [{"rule": rule, "seed": seed, "task": "digits", "step": s, "metric": "accuracy",
                         "value": 0.5 + 0.1 * s + 0.01 * seed} for s in range(3)]
            rd.write_run(rule, seed, rows, "ok", wall_time=1.25)
    rd.write_run("hebb", 0, [], "diverged", 0.5, step=17)
    rd.write_run("hebb", 1, [], "failed", 0.1, error="Traceback\nValueError: weights <nan>")
    rows = rd.merge(expected=[(r, s) for r in (*rules, "hebb") for s in (0, 1)])
    rd.write_summary(R.summarize(rows))
    for name, formats, style in figures:
        _figure(rd.figure_path(name), formats, style)
    return rd


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    _study(out, "learning", figures=[("curves", ("png", "svg"), True),
                                     ("glyph_text", ("svg",), False),
                                     ("png_only", ("png",), True)])
    _study(out, "retention", rules=("bcm",), figures=[("curves", ("png", "svg"), True)])
    R.write_json(os.path.join(out, "retention", "figures", "captions.json"),
                 {"curves": "Retention of task A"})
    return out


def test_report_of_one_study(out, tmp_path):
    rd = R.ResultsDir(out, "learning")
    path = report.write_report(rd.path, tmp_path / "one.html")
    assert path == str(tmp_path / "one.html")
    text = _read(path)
    page = _parse(text)
    # every figure, SVG inline when there is one, PNG as a data URI otherwise
    assert len(page.figures) == 3
    kinds = {fid: [tag for tag, _ in found] for fid, found in page.figures.items()}
    assert sorted(kinds.values()) == [["img"], ["svg"], ["svg"]]
    for found in page.figures.values():
        for tag, attrs in found:
            if tag == "img":
                prefix = "data:image/png;base64,"
                assert attrs["src"].startswith(prefix)
                assert base64.b64decode(attrs["src"][len(prefix):])[:8] == b"\x89PNG\r\n\x1a\n"
    for caption in ("curves", "glyph_text", "png_only"):
        assert f"<figcaption>{caption}</figcaption>" in text
    # the tables: overview, summary (every row, with its unit), runs (every status),
    # provenance; the configuration
    summary = rd.read_summary()
    for row in summary:
        assert (f"<td>{row['rule']}</td><td>accuracy</td><td>fraction correct</td>"
                f"<td class=\"num\">{row['mean']:.4g}") in text
        assert f"<td class=\"num\">{row['mean']:.3f} ± {row['ci95']:.3f}</td>" in text
    assert page.tables == 4
    assert 'class="diverged">diverged' in text and 'class="failed">failed' in text
    assert "ValueError: weights &lt;nan&gt;" in text
    assert "&quot;label&quot;: &quot;&lt;b&gt;bold&lt;/b&gt; &amp; co&quot;" in text
    assert "<b>bold</b>" not in text
    for key in ("git_commit", "numpy", "numba", "python"):
        assert f"<td>{key}</td>" in text
    # nothing outside the file
    assert page.external == []
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text and "@import" not in text


def test_report_of_several_studies(out):
    path = report.write_report(out)
    assert path == os.path.join(str(out), "report.html")
    text = _read(path)
    page = _parse(text)
    assert len(page.figures) == 4
    for study in ("learning", "retention"):
        assert f'<section id="study-{study}">' in text
        assert f'<a href="#study-{study}">{study}</a>' in text
    assert "<figcaption>Retention of task A</figcaption>" in text
    assert "<td>bcm</td>" in text and page.external == []
    assert "http://" not in text and "https://" not in text
    # the three inline SVGs (two named "curves") keep their own ids
    ids = [i for i in page.ids if i.endswith("figure_1")]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_report_is_reproducible_and_written_atomically(out, tmp_path, monkeypatch):
    a = report.write_report(out, tmp_path / "a.html")
    b = report.write_report(out, tmp_path / "b.html")
    assert _read(a) == _read(b)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        report.write_report(os.path.join(out, "learning"), a)
    monkeypatch.undo()
    assert _read(a) == _read(b)


def test_inline_svg_is_cleaned_and_scoped():
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"\n'
           '  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
           '<!-- made with https://example.org -->\n'
           '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           '<metadata><rdf:RDF xmlns:dc="http://purl.org/dc/elements/1.1/"/></metadata>'
           '<defs><path id="m1" d="M0 0"/><clipPath id="p2"><rect/></clipPath></defs>'
           '<g clip-path="url(#p2)"><use xlink:href="#m1"/><a href="#elsewhere"/></g></svg>')
    out = report._inline_svg(svg, "f0")
    assert out.startswith("<svg>") and "http" not in out
    assert 'id="f0-m1"' in out and 'id="f0-p2"' in out
    assert 'url(#f0-p2)' in out and 'xlink:href="#f0-m1"' in out
    assert 'href="#elsewhere"' in out  # not an id of this figure: left alone


def test_report_of_a_partial_study_and_of_nothing(tmp_path):
    rd = R.ResultsDir(tmp_path, "memory")
    rd.prepare({"epochs": 1, "tol": math.inf})
    text = _read(report.write_report(rd.path))
    _parse(text)
    assert "No summary.csv." in text and "No figures." in text
    assert "&quot;tol&quot;: &quot;inf&quot;" in text
    (tmp_path / "empty").mkdir()
    with pytest.raises(R.ResultsError, match="holds no results"):
        report.write_report(tmp_path / "empty")


def test_report_states_what_keeps_a_study_from_being_complete(tmp_path):
    rd = _study(tmp_path, "learning")
    assert report.find_problems(tmp_path) == []
    assert "status: <strong>complete</strong>" in report.render_report(rd.path)
    os.unlink(rd.metrics_path)
    problem = (f"{rd.path}: metrics.csv is missing, so the measurements of the runs are not "
               "there (the study's command with --resume rebuilds it from runs/)")
    assert report.find_problems(tmp_path) == [problem]
    text = _read(report.write_report(rd.path))  # still written, saying so
    _parse(text)
    assert "status: <strong>not complete</strong>" in text
    assert "status: <strong>complete</strong>" not in text
    assert "<li>metrics.csv is missing, so the measurements" in text
    with open(rd.metrics_path, "w") as fh:
        fh.write("rule,seed\n")
    assert report.find_problems(rd) == [
        f"{rd.path}: metrics.csv cannot be read: not a metrics file: the header must start "
        "with rule,seed,task,step,metric,value, found rule,seed"]
    partial = R.ResultsDir(tmp_path, "memory")
    partial.prepare({"epochs": 1})
    assert report.find_problems(partial.path)[1:] == [
        f"{partial.path}: meta.json records the status 'running' (the study did not finish)"]


def test_report_refuses_an_output_it_cannot_write_before_writing(tmp_path, monkeypatch):
    rd = _study(tmp_path, "learning")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("keep")
    before = sorted(os.listdir(tmp_path))
    for out_path, said in (
            ("learning", "learning is a folder, not a file; allowed: a file path, e.g. "
                         f"{os.path.join('learning', 'report.html')}"),
            ("afile/x.html", "afile is a file, not a folder; allowed: a file path whose "
                             "folders exist or can be made"),
            (os.path.join("learning", "summary.csv"),
             f"{os.path.join('learning', 'summary.csv')} exists and is not an HTML file")):
        with pytest.raises(ValueError) as info:
            report.write_report(rd.path, out_path)
        assert str(info.value).startswith(f"out_path={out_path!r}: {said}")
    assert sorted(os.listdir(tmp_path)) == before
    assert sorted(os.listdir(rd.path)) == ["config.json", "figures", "meta.json", "metrics.csv",
                                           "runs", "summary.csv"]


# -- the opening of a study: the wide table and the findings ---------------------------------------
def _timed_study(out):
    """A learning-like study: accuracy and learning time per rule, a figure with a finding."""
    rd = R.ResultsDir(out, "learning")
    rd.prepare({"study": "learning"})
    for rule in ("backprop", "oja"):
        for seed in (0, 1, 2):
            rows = [{"rule": rule, "seed": seed, "task": "digits", "step": 10,
                     "metric": "final_test_accuracy", "value": 0.93 + 0.011 * seed},
                    {"rule": rule, "seed": seed, "task": "digits", "step": 10,
                     "metric": "wall_time", "value": 1.2345 + 0.1 * seed}]
            rd.write_run(rule, seed, rows, "ok", wall_time=5.25)
    rows = rd.merge(expected=[(r, s) for r in ("backprop", "oja") for s in (0, 1, 2)])
    rd.write_summary(R.summarize(rows, by=("rule", "task", "metric")))
    _figure(rd.figure_path("curves"), ("svg",))
    _figure(rd.figure_path("plain"), ("svg",))
    R.write_json(os.path.join(rd.figures_dir, "captions.json"),
                 {"curves": "Test accuracy against samples seen.", "plain": "No finding here."})
    R.write_json(os.path.join(rd.figures_dir, "findings.json"),
                 {"curves": "Backprop reaches 0.94 & oja 0.94."})
    return rd


def test_report_opens_with_a_wide_table_with_units_then_the_findings(tmp_path):
    rd = _timed_study(tmp_path)
    text = report.render_report(rd.path)
    _parse(text)
    wide = text.index('<table class="overview">')
    long = text.index("<th>unit</th>")
    assert wide < text.index('<ul class="findings">') < text.index("<figure") < long
    # rules as rows, the headline metrics as columns, units in the header
    head = text[wide:text.index("</thead>", wide)]
    assert "<th>rule</th><th>final test accuracy (fraction correct)</th>" \
           "<th>learning time (s)</th>" in head
    summary = {(r["rule"], r["metric"]): r for r in rd.read_summary()}
    body = text[wide:text.index("</table>", wide)]
    for rule in ("backprop", "oja"):
        acc, time = summary[rule, "final_test_accuracy"], summary[rule, "wall_time"]
        # accuracy at 3 decimals; times at 2 significant digits (1.3 s), the interval to the
        # same decimal place
        assert (f"<tr><td>{rule}</td><td class=\"num\">{acc['mean']:.3f} ± {acc['ci95']:.3f}"
                f"</td><td class=\"num\">{time['mean']:.1f} ± {time['ci95']:.1f}</td></tr>"
                ) in body
    # the finding: listed in the overview (linked to its figure) and bold before the caption
    assert "Backprop reaches 0.94 &amp; oja 0.94." in text[wide:text.index("<figure")]
    assert ("<figcaption><strong>Backprop reaches 0.94 &amp; oja 0.94.</strong> Test accuracy "
            "against samples seen.</figcaption>") in text
    assert "<figcaption>No finding here.</figcaption>" in text
    # the long table keeps every row with its unit; the two times have different names
    assert "<td>wall_time</td><td>s</td>" in text
    assert "<th>run time (s)</th>" in text and "<td class=\"num\">5.2</td>" in text
    assert "wall time" not in text


def test_report_overview_follows_the_studys_choice_and_splits_conditions(tmp_path):
    rd = R.ResultsDir(tmp_path, "retention")
    rd.prepare({"study": "retention"})
    for rule in ("backprop", "ewc"):
        for seed in (0, 1):
            rows = [{"rule": rule, "seed": seed, "task": s, "step": 5, "metric": m,
                     "value": v + 0.01 * seed, "scenario": s}
                    for s in ("permuted", "class_incremental")
                    for m, v in (("bwt", -0.4), ("avg_accuracy", 0.6), ("forgetting", 0.4))]
            rd.write_run(rule, seed, rows, "ok", wall_time=1.0)
    rows = rd.merge(expected=[(r, s) for r in ("backprop", "ewc") for s in (0, 1)],
                    extra_columns=("scenario",))
    summary = R.summarize(rows, by=("rule", "scenario", "metric"))
    rd.write_summary(summary)
    text = report.render_report(rd.path)
    _parse(text)
    wide = text[text.index('<table class="overview">'):]
    wide = wide[:wide.index("</table>")]
    # a column per metric and scenario: the metric (with its unit) spans its scenarios
    assert '<th colspan="2">backward transfer (accuracy change)</th>' in wide
    assert "<th>scenario=permuted</th><th>scenario=class_incremental</th>" in wide
    assert "forgetting (accuracy drop)" in wide
    # the study's choice of rows (figures/overview.json) narrows the opening table only
    R.write_json(os.path.join(rd.figures_dir, "overview.json"),
                 [r for r in summary if r["metric"] == "bwt" and r["scenario"] == "permuted"])
    text = report.render_report(rd.path)
    wide = text[text.index('<table class="overview">'):]
    wide = wide[:wide.index("</table>")]
    assert "<th>rule</th><th>backward transfer (accuracy change)</th>" in wide
    assert "forgetting" not in wide and "<td>forgetting</td>" in text
