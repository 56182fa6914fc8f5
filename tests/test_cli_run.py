"""The study commands of the command line: studies, run, figures, report, bench, --quiet, and
every bad-input path (one line on stderr, exit status 2, nothing written).

Uses the tiny fake study of tests/fake_study.py, so no network is trained here.
"""

import json
import os
import shutil
from html.parser import HTMLParser

import fake_study
import pytest
from fake_study import FakeStudy, one_error_line

from brainlearn.cli import _studies as _cli_studies
from brainlearn import results as R
from brainlearn.cli import main

pytestmark = pytest.mark.usefixtures("fake", "calls")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def snapshot(folder):
    """Every file under ``folder`` with its bytes."""
    out = {}
    for here, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(here, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = fh.read()
    return out


# -- studies ---------------------------------------------------------------------------------------
def test_studies_lists_name_summary_and_default_rules(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["studies"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "SUMMARY"]
    fake = out.splitlines().index(next(line for line in out.splitlines()
                                       if line.startswith("fake ")))
    assert out.splitlines()[fake].split(None, 1) == ["fake", FakeStudy.summary]
    assert out.splitlines()[fake + 1].strip() == "default rules: alpha, beta"
    monkeypatch.setenv("COLUMNS", "60")  # wraps inside the summary column
    assert main(["studies"]) == 0
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 60 and "default rules: alpha, beta" in out
    assert main(["studies", "--json"]) == 0
    info = {s["name"]: s for s in json.loads(capsys.readouterr().out)}["fake"]
    assert info["default_rules"] == ["alpha", "beta"] and info["headline"] == ["score"]
    assert info["config"]["steps"] == 6 and info["quick_config"]["steps"] == 3


# -- run -------------------------------------------------------------------------------------------
def test_run_writes_results_and_prints_the_summary_table(tmp_path, capsys, calls):
    out = tmp_path / "res"
    assert main(["run", "fake", "--quick", "--seeds", "2", "--out", str(out),
                 "--set", "scale=2", "--set", "widths=1,2"]) == 0
    assert len(calls) == 4
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["RULE", "METRIC", "MEAN", "+-", "95%", "CI", "N"]
    summary = R.read_summary(out / "fake" / "summary.csv")
    for line, row in zip(lines[1:3], summary):
        assert line.split() == [row["rule"], "score", f"{row['mean']:.4g}", "+-",
                                f"{row['ci95']:.2g}", "2"]
    assert lines[3] == "4 runs: 4 ok, 0 diverged, 0 failed"
    assert f"results: {out / 'fake'}" in captured.err  # a note on stderr
    config = R.read_json(out / "fake" / "config.json")["config"]
    assert config["scale"] == 2.0 and config["widths"] == [1, 2]
    assert sorted(os.listdir(out / "fake")) == ["config.json", "figures", "meta.json",
                                                "metrics.csv", "runs", "summary.csv"]


def test_run_exit_status_1_when_runs_fail_and_diverged_runs_are_results(tmp_path, capsys):
    args = ["run", "fake", "--quick", "--seeds", "2", "--out", str(tmp_path)]
    assert main(args + ["--rules", "alpha,beta", "--set", "diverge=beta"]) == 0
    captured = capsys.readouterr()
    assert "4 runs: 3 ok, 1 diverged, 0 failed" in captured.out
    assert "diverged: beta seed 1 at step 2" in captured.out
    assert "1 (1 nan)" in captured.out  # beta's summary counts the diverged run as NaN

    assert main(args + ["--rules", "alpha,gamma", "--set", "fail=gamma", "--force"]) == 1
    captured = capsys.readouterr()
    assert "4 runs: 2 ok, 0 diverged, 2 failed" in captured.out
    assert "failed: gamma seed 0: RuntimeError: the gamma run broke on purpose" in captured.err
    meta = R.read_json(tmp_path / "fake" / "meta.json")
    assert meta["counts"] == {"ok": 2, "diverged": 0, "failed": 2}


def test_quiet_before_or_after_the_command(tmp_path, capsys):
    for k, args in enumerate((["--quiet", "run"], ["run", "-q"])):
        out = str(tmp_path / str(k))
        assert main(args + ["fake", "--quick", "--seeds", "1", "--out", out]) == 0
        captured = capsys.readouterr()
        assert captured.err == "" and "2 runs: 2 ok" in captured.out


BAD_INPUT = [
    (["run", "nosuch"], r"unknown study 'nosuch' (available: ", "fake"),
    (["run", "fake", "--rules", "alpha,nosuch"], "unknown rule 'nosuch'", "alpha, beta, gamma"),
    (["run", "fake", "--rules", "oja"], "rule 'oja' does not fit study 'fake'", "alpha, beta"),
    (["run", "fake", "--rules", ","], "no rule given", "alpha, beta, gamma"),
    (["run", "fake", "--set", "nosuch=1"], "--set nosuch: unknown key", "allowed: steps, scale"),
    (["run", "fake", "--set", "steps=abc"], "--set steps=abc: expected an int", ""),
    (["run", "fake", "--set", "noisy=maybe"], "--set noisy=maybe: expected true/false", ""),
    (["run", "fake", "--set", "steps"], "--set steps: expected KEY=VALUE", ""),
    (["run", "fake", "--set", "steps=0"], "steps=0: expected an int >= 1", ""),
    (["run", "fake", "--seeds", "0"], "argument --seeds: 0 is not >= 1", ""),
    (["run", "fake", "--workers", "two"], "argument --workers: 'two' is not an int", ""),
    (["run", "fake", "--resume", "--force"], "not allowed with argument --resume", ""),
    (["run"], "the following arguments are required: STUDY", ""),
    (["run", "fake", "--bogus"], "unrecognized arguments: --bogus", ""),
    (["nosuchcommand"], "invalid choice: 'nosuchcommand'", ""),
]


@pytest.mark.parametrize("args, message, listed", BAD_INPUT,
                         ids=[" ".join(a[0]) for a in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args, message,
                                                         listed, calls):
    out = tmp_path / "out"
    assert main(args + ["--out", str(out)] if args[0] == "run" and len(args) > 1 else args) == 2
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert message in line and listed in line
    assert captured.out == "" and calls == []
    assert not out.exists()


def test_existing_results_need_resume_or_force(tmp_path, capsys, calls):
    args = ["run", "fake", "--quick", "--seeds", "2", "--out", str(tmp_path)]
    assert main(args) == 0
    before = snapshot(tmp_path)
    capsys.readouterr()
    calls.clear()
    assert main(args) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "already holds results of study 'fake'" in line and "--resume" in line \
        and "--force" in line
    assert main(args + ["--resume", "--set", "scale=3"]) == 2
    assert "differs from the stored one at config.scale" in one_error_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before and calls == []

    assert main(args + ["--resume"]) == 0  # nothing missing: nothing run
    assert calls == [] and "(4 resumed)" in capsys.readouterr().out
    assert main(args + ["--force"]) == 0
    assert len(calls) == 4


def test_ctrl_c_stops_and_resume_finishes(tmp_path, capsys, calls):
    args = ["run", "fake", "--quick", "--seeds", "2", "--out", str(tmp_path)]
    fake_study.INTERRUPT[0] = ("alpha", 1)
    assert main(args) == 130
    assert capsys.readouterr().err.strip() == "brainlearn: interrupted"
    fake_study.INTERRUPT[0] = None
    calls.clear()
    assert main(args + ["--resume"]) == 0
    assert calls == [("alpha", 1), ("beta", 0), ("beta", 1)]


def test_experiment_script_door_is_the_same_run(tmp_path, capsys):
    from brainlearn.cli._studies import study_main
    assert main(["run", "fake", "--quick", "--out", str(tmp_path / "cli")]) == 0
    assert study_main("fake", ["--quick", "--out", str(tmp_path / "script")]) == 0
    with open(tmp_path / "cli" / "fake" / "metrics.csv", "rb") as a, \
            open(tmp_path / "script" / "fake" / "metrics.csv", "rb") as b:
        assert a.read() == b.read()
    capsys.readouterr()
    assert study_main("fake", ["--set", "nope=1", "--out", str(tmp_path / "x")]) == 2
    assert "unknown key" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("command", [["run", "fake"], ["sweep", "fake", "--grid", "scale=1,2"]])
@pytest.mark.parametrize("out, in_the_way", [("afile", "afile"), ("afile/sub", "afile"),
                                              ("res", "res/fake")])
def test_out_with_a_file_in_the_way_is_one_line_exit_2(tmp_path, capsys, calls, monkeypatch,
                                                        command, out, in_the_way):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("keep")
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "fake").write_text("keep")
    before = snapshot(tmp_path)
    assert main(command + ["--quick", "--out", out]) == 2
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert line == (f"brainlearn: error: --out {out}: {in_the_way} is a file, not a folder; "
                    "allowed: a folder, or a path where one can be made")
    assert calls == [] and captured.out == ""
    assert snapshot(tmp_path) == before and sorted(os.listdir(tmp_path)) == ["afile", "res"]


def test_mnist_path_without_idx_files_is_refused_before_any_run(tmp_path, capsys, monkeypatch):
    """Every point's folder is checked by its file names before anything runs or is written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "part").mkdir()
    (tmp_path / "part" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    (tmp_path / "idx").mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / "idx" / name).write_bytes(b"")
    args = ["--quick", "--rules", "backprop", "--seeds", "1", "--out", "res"]
    for command, said in (
            (["run", "learning", "--set", "mnist_path=empty"],
             "mnist_path=empty: empty holds no mnist IDX files; allowed: a folder holding "
             "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
             "t10k-labels-idx1-ubyte (each raw or .gz)"),
            (["run", "learning", "--set", "mnist_path=nosuch"],
             "mnist_path=nosuch: no such folder"),
            (["sweep", "learning", "--grid", "mnist_path=idx,part"],
             "mnist_path=part: part lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
             "t10k-labels-idx1-ubyte; allowed: ")):
        assert main(command + args) == 2
        captured = capsys.readouterr()
        assert said in one_error_line(captured.err) and captured.out == ""
        assert not (tmp_path / "res").exists()


def test_a_worker_importing_a_script_without_the_guard_stops_with_one_line(
        tmp_path, capsys, calls, monkeypatch):
    """In a spawned worker that is still importing the driver's script, running a study ends
    the worker at once (exit status GUARD_EXIT, one line naming the guard) before anything is
    planned or written: the driver's folder is never touched by it."""
    import multiprocessing

    from brainlearn.cli import study_main
    from brainlearn.studies._executors import GUARD_EXIT
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    for door in (lambda: main(["run", "fake", "--quick", "--workers", "2", "--out", "res"]),
                 lambda: study_main("fake", ["--quick", "--workers", "2", "--out", "res",
                                             "--force"])):
        with pytest.raises(SystemExit) as info:
            door()
        assert info.value.code == GUARD_EXIT
        line = one_error_line(capsys.readouterr().err)
        assert "which runs the study outside `if __name__ == \"__main__\":`" in line
        assert "put the code that runs it under that guard" in line
    assert calls == [] and os.listdir(tmp_path) == []


_UNGUARDED = """\
import sys
sys.path.insert(0, {tests!r})
from fake_study import FakeStudy
from brainlearn.studies import register_study
from brainlearn.cli import study_main
register_study(FakeStudy())
sys.exit(study_main("fake", ["--quick", "--seeds", "1", "--workers", "2", "--out", "res",
                             "--no-figures", "--force"]))
"""


@pytest.mark.slow
def test_a_script_without_the_guard_says_so_in_a_few_lines(tmp_path):
    """The whole story, end to end: a script that runs a study with workers=2 outside
    ``if __name__ == "__main__":`` prints one line per worker (no traceback), its runs are
    recorded failed with the same hint, and the workers did not replace its results."""
    import subprocess
    import sys
    script = tmp_path / "unguarded.py"
    script.write_text(_UNGUARDED.format(tests=os.path.join(ROOT, "tests")))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "bootstrapping" not in done.stderr
    hint = "each worker process imports unguarded.py, which runs the study outside " \
           "`if __name__ == \"__main__\":`: put the code that runs it under that guard"
    lines = done.stderr.strip().splitlines()
    assert 1 <= sum(line == f"brainlearn: error: {hint}" for line in lines) <= 2
    assert len(lines) <= 2 + 2 + 1  # the workers' lines, a failed line per run, results:
    meta = R.read_json(tmp_path / "res" / "fake" / "meta.json")
    assert meta["counts"] == {"ok": 0, "diverged": 0, "failed": 2}
    assert all(r["error"] == f"the worker processes could not start: {hint}"
               for r in meta["runs"])
    assert len(meta["sessions"]) == 1  # no worker prepared the folder again


# -- figures and report ----------------------------------------------------------------------------
@pytest.fixture
def finished(tmp_path, capsys):
    assert main(["run", "fake", "--quick", "--seeds", "2", "--out", str(tmp_path / "res")]) == 0
    capsys.readouterr()
    return tmp_path / "res" / "fake"


def test_figures_redraws_from_the_stored_csv(finished, capsys, calls):
    before = snapshot(finished / "figures")
    for target in (finished, finished.parent):  # a study's folder, or OUT
        shutil.rmtree(finished / "figures")
        calls.clear()
        assert main(["figures", str(target)]) == 0
        assert calls == []  # nothing was run
        assert f"{finished}: 2 figure files redrawn" in capsys.readouterr().err
        assert snapshot(finished / "figures") == before


def test_figures_and_report_bad_input(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for args, message in ((["figures", str(tmp_path / "none")], "no such folder"),
                          (["figures", str(tmp_path / "empty")], "holds no results"),
                          (["report", str(tmp_path / "empty")], "holds no results")):
        assert main(args) == 2
        assert message in one_error_line(capsys.readouterr().err)
    assert os.listdir(tmp_path / "empty") == []


class _Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.open, self.figures, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "figure":
            self.figures.append([])
        elif tag in ("svg", "img") and self.open and self.open[-1] == "figure":
            self.figures[-1].append(tag)
        if tag not in ("meta", "img", "br", "hr", "link", "input"):
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(tag)
        else:
            self.open.pop()

    def handle_data(self, data):
        if self.open and self.open[-1] == "figcaption":
            self.figures[-1].append(data.strip())


def test_report_is_html_with_every_figure(finished, tmp_path, capsys):
    target = tmp_path / "report.html"
    assert main(["report", str(finished), "-o", str(target)]) == 0
    assert f"report: {target}" in capsys.readouterr().err
    text = target.read_text(encoding="utf-8")
    parser = _Figures()
    parser.feed(text)
    assert text.startswith("<!DOCTYPE html>") and parser.errors == [] and parser.open == []
    names = {os.path.splitext(n)[0] for n in os.listdir(finished / "figures")
             if n.endswith((".png", ".svg"))}
    assert len(parser.figures) == len(names) == 1
    assert parser.figures[0] == ["svg", FakeStudy.captions["fake_curves"]]
    assert main(["report", str(finished.parent)]) == 0  # default: DIR/report.html
    assert (finished.parent / "report.html").is_file()


@pytest.mark.parametrize("name", ["meta.json", "config.json"])
def test_figures_and_report_name_a_damaged_json_file(finished, capsys, name):
    (finished / name).write_text('{"study": "fake",')
    before = snapshot(finished)
    for command in ("figures", "report"):
        assert main([command, str(finished)]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith(f"brainlearn: error: {finished / name}: not valid JSON (")
        assert "line 1 column" in line
    assert snapshot(finished) == before  # no report.html, no figure redrawn


@pytest.mark.parametrize("damage, said", [
    ("missing", "metrics.csv is missing"),
    ("corrupt", "metrics.csv cannot be read: not a metrics file: the header must start with "
                "rule,seed,task,step,metric,value")])
def test_report_of_results_without_readable_metrics_says_so_and_exits_1(finished, capsys,
                                                                         damage, said):
    if damage == "missing":
        os.unlink(finished / "metrics.csv")
    else:
        (finished / "metrics.csv").write_text('garbage,"x\n')
    assert main(["report", str(finished.parent)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"report: {finished.parent / 'report.html'}"
    assert err[1].startswith(f"brainlearn: error: {finished}: {said}") and len(err) == 2
    text = (finished.parent / "report.html").read_text(encoding="utf-8")
    assert "status: <strong>complete</strong>" not in text
    assert "status: <strong>not complete</strong>" in text and said in text
    os.unlink(finished.parent / "report.html")
    assert main(["report", "-q", str(finished.parent)]) == 1  # --quiet keeps the errors
    assert capsys.readouterr().err.strip() == err[1]


def test_report_output_that_cannot_be_written_is_one_line_exit_2(finished, tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outdir").mkdir()
    (tmp_path / "afile").write_text("keep")
    before = snapshot(tmp_path)
    metrics = os.path.relpath(finished / "metrics.csv", tmp_path)
    for output, said in (
            ("outdir", "outdir is a folder, not a file; allowed: a file path, e.g. "
                       f"{os.path.join('outdir', 'report.html')}"),
            ("afile/x.html", "afile is a file, not a folder; allowed: a file path whose folders "
                             "exist or can be made"),
            ("afile", "afile exists and is not an HTML file (.html, .htm); allowed: a new file, "
                      "or an HTML file to replace"),
            (metrics, f"{metrics} exists and is not an HTML file"),
            ("", "an empty path")):
        assert main(["report", str(finished), "-o", output]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith(f"brainlearn: error: --output {output or repr('')}: {said}")
        assert ".tmp" not in line
    assert snapshot(tmp_path) == before
    assert main(["report", str(finished), "-o", "new/sub/r.html"]) == 0  # folders are made
    assert (tmp_path / "new" / "sub" / "r.html").is_file()


# -- bench -----------------------------------------------------------------------------------------
def test_bench_runs_the_benchmark_scripts_or_says_why_not(tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(_cli_studies, "benchmarks_dir", lambda: None)
    assert main(["bench"]) == 2
    assert "bench runs the scripts benchmarks/bench_*.py" in one_error_line(capfd.readouterr().err)

    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "bench_echo.py").write_text("import sys\nprint('echo', sys.argv[1:])\n")
    (folder / "bench_fail.py").write_text("raise SystemExit(3)\n")
    monkeypatch.setattr(_cli_studies, "benchmarks_dir", lambda: str(folder))
    assert main(["bench", "--quick"]) == 1
    captured = capfd.readouterr()
    assert "echo ['--quick']" in captured.out
    assert "== bench_echo.py ==" in captured.err
    assert "bench_fail.py exited with status 3" in captured.err


def test_bench_finds_benchmarks_in_the_current_folder_after_pip_install(tmp_path, capfd,
                                                                         monkeypatch):
    """Installed (not editable), the package has no benchmarks/ beside it: run from the root of
    the clone, bench finds ./benchmarks; elsewhere it names both places it looked in."""
    site = tmp_path / "site-packages" / "brainlearn" / "cli"
    site.mkdir(parents=True)
    monkeypatch.setattr(_cli_studies, "__file__", str(site / "_studies.py"))
    clone = tmp_path / "clone"
    (clone / "benchmarks").mkdir(parents=True)
    (clone / "benchmarks" / "bench_echo.py").write_text("import sys\nprint('echo', sys.argv[1:])\n")
    monkeypatch.chdir(clone)
    assert main(["bench", "--quick"]) == 0
    captured = capfd.readouterr()
    assert "echo ['--quick']" in captured.out and "== bench_echo.py ==" in captured.err
    monkeypatch.chdir(tmp_path)
    assert main(["bench"]) == 2
    line = one_error_line(capfd.readouterr().err)
    assert line == ("brainlearn: error: bench runs the scripts benchmarks/bench_*.py of a clone "
                    f"of the brainlearn repository; found none in "
                    f"{tmp_path / 'site-packages' / 'benchmarks'} nor in "
                    f"{tmp_path / 'benchmarks'}: run it from the root of the clone")


def test_bench_finds_the_benchmarks_of_this_checkout():
    import brainlearn
    if not os.path.abspath(brainlearn.__file__).startswith(os.path.join(ROOT, "brainlearn")):
        pytest.skip("brainlearn is imported from an installed copy, not from this checkout")
    assert _cli_studies.benchmarks_dir() == os.path.join(ROOT, "benchmarks")


def test_python_dash_m_lists_the_builtin_studies_and_refuses_an_unknown_one(tmp_path):
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, "-m", "brainlearn", "studies", "--json"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {"learning", "retention", "spacing"} <= {s["name"] for s in json.loads(done.stdout)}
    done = subprocess.run([sys.executable, "-m", "brainlearn", "run", "nosuch", "--out", "res"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    line = one_error_line(done.stderr)
    assert "unknown study 'nosuch' (available: " in line
    assert all(name in line for name in ("learning", "retention", "spacing"))
    assert os.listdir(tmp_path) == []
