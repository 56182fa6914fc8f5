"""Sweeps (``brainlearn sweep``, :func:`brainlearn.studies.run_sweep`): grid parsing and bad
input, the swept columns of metrics.csv and summary.csv, config.json's grid and resume, the
figures, and local worker processes that die (retried, then recorded failed).

The fake studies of tests/fake_study.py and tests/sweep_study.py run no network; the Dask
cluster and the SIGKILL of a driver have files of their own (test_sweep_dask.py,
test_sweep_kill.py).
"""

import csv
import importlib.util
import json
import os
import subprocess
import sys

import fake_study
import pytest
from fake_study import FakeStudy, one_error_line, read
from sweep_study import DyingStudy, attempts

from brainlearn import results as R
from brainlearn.cli import main
from brainlearn.studies import parse_grid, register_study, run_sweep, unregister_study

pytestmark = pytest.mark.usefixtures("calls")


@pytest.fixture(autouse=True, scope="module")
def studies():
    registered = [register_study(FakeStudy()), register_study(DyingStudy())]
    yield registered
    for study in registered:
        unregister_study(study.name)


def header(path):
    with open(path, newline="") as fh:
        return next(csv.reader(fh))


# -- the grid --------------------------------------------------------------------------------------
def test_grid_values_are_parsed_like_set_in_the_order_given():
    grid = parse_grid(FakeStudy(), {"scale": "1, 2.5", "widths": "1,2;3", "note": "none,x",
                                    "noisy": [True, "false"]})
    assert grid.keys == ("scale", "widths", "note", "noisy")
    assert grid.values == ((1.0, 2.5), ((1, 2), (3,)), (None, "x"), (True, False))
    assert grid.columns == grid.keys and len(grid) == 16 == len(grid.points)
    assert grid.points[0] == {"scale": 1.0, "widths": (1, 2), "note": None, "noisy": True}
    assert grid.points[-1] == {"scale": 2.5, "widths": (3,), "note": "x", "noisy": False}
    # a tuple value is a CSV cell in its --set syntax; labels name the point
    assert grid.cells(grid.points[0]) == {"scale": 1.0, "widths": "1,2", "note": None,
                                          "noisy": True}
    assert grid.label(grid.points[1]) == "scale=1.0,widths=1,2,note=none,noisy=False"
    assert not parse_grid(FakeStudy(), None) and parse_grid(FakeStudy(), None).points == [{}]


class _Phase(FakeStudy):
    """A study whose rows have a column named like a configuration field (``kind``)."""
    name = "fake_kind"
    extra_columns = ("phase", "kind")


def test_a_swept_key_that_is_already_a_column_is_stored_as_grid_key(tmp_path):
    study = register_study(_Phase())
    try:
        assert parse_grid(study, {"kind": "a,b"}).columns == ("grid_kind",)
        res = run_sweep("fake_kind", {"kind": "a,b"}, seeds=1, quick=True, out=tmp_path)
        assert header(res.metrics_path)[6:] == ["grid_kind", "phase", "kind"]
        assert header(res.summary_path)[:3] == ["grid_kind", "rule", "task"]
    finally:
        unregister_study("fake_kind")


@pytest.mark.parametrize("grid, overrides, match", [
    ({"nope": "1"}, None, r"--grid nope: unknown key \(allowed: steps, scale, noisy, diverge, "),
    ({"steps": "1,abc"}, None, r"--grid steps=abc: expected an int"),
    ({"steps": ""}, None, r"--grid steps=: expected values separated by ','"),
    ({"steps": "1,,2"}, None, r"--grid steps=1,,2: expected values separated by ','"),
    ({"steps": []}, None, r"--grid steps: no values"),
    ({"scale": "1,1.0"}, None, r"--grid scale: the value 1.0 is given twice"),
    ({"steps": "1,2"}, {"steps": "2"}, r"--grid steps: the key is also given with --set"),
    ({"steps": "2,0"}, None, r"steps=0: expected an int >= 1"),  # the Config's own check
    ({"steps": 3}, None, r"--grid steps=3: expected a list of values"),
    (["steps"], None, r"grid: expected a dict of key -> values"),
])
def test_bad_grid_raises_one_line_and_writes_nothing(tmp_path, grid, overrides, match, calls):
    with pytest.raises((ValueError, TypeError), match=match) as info:
        run_sweep("fake", grid, quick=True, out=tmp_path / "out", overrides=overrides)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists() and calls == []


BAD_CLI = [
    (["--grid", "nope=1"], "--grid nope: unknown key (allowed: steps, scale"),
    (["--grid", "steps=abc"], "--grid steps=abc: expected an int"),
    (["--grid", "steps="], "--grid steps=: expected values separated by ','"),
    (["--grid", "steps"], "--grid steps: expected KEY=V1,V2,..."),
    (["--grid", "steps=1,1"], "--grid steps: the value 1 is given twice"),
    (["--grid", "steps=1,2", "--set", "steps=2"], "--grid steps: the key is also given with --set"),
    (["--grid", "steps=1", "--grid", "steps=2"], "--grid steps: the key is given twice"),
    (["--grid", "steps=1", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
     "argument --scheduler: not allowed with argument --workers"),
    (["--grid", "steps=1", "--retries", "-1"], "argument --retries: -1 is not >= 0"),
    (["--grid", "steps=1", "--scheduler", " "], "--scheduler: expected the address of a Dask"),
]


@pytest.mark.parametrize("args, message", BAD_CLI, ids=[" ".join(a) for a, _ in BAD_CLI])
def test_cli_bad_grid_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args, message,
                                                            calls):
    out = tmp_path / "out"
    assert main(["sweep", "fake", "--quick", "--out", str(out)] + args) == 2
    captured = capsys.readouterr()
    assert message in one_error_line(captured.err)
    assert captured.out == "" and calls == [] and not out.exists()


def test_scheduler_without_distributed_names_the_extra(tmp_path, capsys, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else find_spec(name, *a))
    out = tmp_path / "out"
    assert main(["sweep", "fake", "--quick", "--grid", "steps=1,2", "--out", str(out),
                 "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "needs Dask distributed" in line and "pip install 'brainlearn[dask]'" in line
    assert not out.exists()


def test_importing_brainlearn_does_not_import_distributed():
    code = ("import sys, brainlearn, brainlearn.studies, brainlearn.cli, brainlearn.cli._studies; "
            "print(sorted(m for m in ('distributed', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the results of a sweep ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """``brainlearn sweep fake`` over scale x noisy, 2 rules, 2 seeds (serial), and the same
    study run at one of its points with --set."""
    out = tmp_path_factory.mktemp("swept")
    args = ["sweep", "fake", "--quick", "--seeds", "2", "--out", str(out / "sweep"),
            "--grid", "scale=1,2.5", "--grid", "noisy=true,false", "--quiet"]
    assert main(args) == 0
    assert main(["run", "fake", "--quick", "--seeds", "2", "--out", str(out / "point"),
                 "--set", "scale=2.5", "--set", "noisy=true", "--quiet"]) == 0
    assert main(["run", "fake", "--quick", "--seeds", "2", "--out", str(out / "plain"),
                 "--quiet"]) == 0
    return R.ResultsDir(out / "sweep", "fake"), R.ResultsDir(out / "point", "fake"), \
        R.ResultsDir(out / "plain", "fake")


def test_swept_values_are_columns_of_metrics_and_summary(swept):
    rd, point, _ = swept
    assert header(rd.metrics_path) == ["rule", "seed", "task", "step", "metric", "value",
                                       "scale", "noisy", "phase"]
    rows = rd.read_metrics()
    assert {(r["scale"], r["noisy"]) for r in rows} == {(1.0, True), (1.0, False), (2.5, True),
                                                       (2.5, False)}
    # a point's rows are exactly the rows of a run with --set of its values
    mine = [{k: v for k, v in r.items() if k not in ("scale", "noisy")} for r in rows
            if (r["scale"], r["noisy"]) == (2.5, True)]
    assert mine == point.read_metrics()
    assert len(rows) == 4 * len(point.read_metrics())
    # the summary is grouped by point too
    summary = rd.read_summary()
    assert header(rd.summary_path)[:5] == ["scale", "noisy", "rule", "task", "metric"]
    assert len(summary) == 4 * 2 and {(s["scale"], s["noisy"]) for s in summary} == \
        {("1.0", "True"), ("1.0", "False"), ("2.5", "True"), ("2.5", "False")}
    want = [{k: v for k, v in s.items()} for s in point.read_summary()]
    got = [{k: v for k, v in s.items() if k not in ("scale", "noisy")} for s in summary
           if (s["scale"], s["noisy"]) == ("2.5", "True")]
    assert json.dumps(got) == json.dumps(want)


def test_config_meta_and_run_files_of_a_sweep(swept):
    rd, _, _ = swept
    config = R.read_json(rd.config_path)
    assert config["grid"] == [{"key": "scale", "values": [1.0, 2.5]},
                              {"key": "noisy", "values": [True, False]}]
    assert config["config"]["scale"] == 1.0 and config["rules"] == ["alpha", "beta"]
    meta = rd.read_meta()
    assert meta["status"] == "complete" and meta["counts"]["ok"] == 16
    assert meta["point_columns"] == ["scale", "noisy"]
    first = meta["runs"][0]
    assert (first["point"], first["rule"], first["seed"], first["attempts"]) == (0, "alpha", 0, 1)
    assert first["params"] == {"scale": 1.0, "noisy": True}
    assert sorted(os.listdir(rd.runs_dir))[:2] == ["p0__alpha__seed0.csv", "p0__alpha__seed0.json"]
    assert len(os.listdir(rd.runs_dir)) == 32
    assert rd.completed_runs() == {(p, r, s) for p in range(4) for r in ("alpha", "beta")
                                   for s in (0, 1)}


def test_run_is_a_sweep_of_one_point_with_the_files_it_always_wrote(swept, tmp_path):
    _, _, plain = swept
    assert header(plain.metrics_path) == ["rule", "seed", "task", "step", "metric", "value",
                                          "phase"]
    assert "grid" not in R.read_json(plain.config_path)
    assert "point_columns" not in plain.read_meta()
    assert sorted(os.listdir(plain.runs_dir))[:2] == ["alpha__seed0.csv", "alpha__seed0.json"]
    same = run_sweep("fake", None, seeds=2, quick=True, out=tmp_path)  # no grid: a run
    assert read(same.metrics_path) == read(plain.metrics_path)
    assert read(same.summary_path) == read(plain.summary_path)


def test_sweep_figures_per_point_and_against_the_swept_key(swept, calls):
    rd, _, _ = swept
    names = sorted(os.listdir(rd.figures_dir))
    for label in ("scale=1.0,noisy=True", "scale=2.5,noisy=False"):
        assert f"fake_curves__{label}.png" in names and f"fake_curves__{label}.svg" in names
    assert "sweep_score.png" in names and "sweep_score.svg" in names
    captions = R.read_json(os.path.join(rd.figures_dir, "captions.json"))
    assert captions["fake_curves__scale=2.5,noisy=True"].endswith("(scale=2.5,noisy=True)")
    assert "against the swept scale" in captions["sweep_score"] and \
        "a panel per value of noisy" in captions["sweep_score"]
    assert rd.read_meta()["figure_error"] is None
    # redrawn from the CSV files and config.json alone: the same files
    svg = os.path.join(rd.figures_dir, "sweep_score.svg")
    before = read(svg)
    os.unlink(svg)
    assert main(["figures", rd.path, "--quiet"]) == 0
    assert read(svg) == before and calls == []
    assert sorted(os.listdir(rd.figures_dir)) == names


# -- resume ----------------------------------------------------------------------------------------
def test_resume_takes_the_stored_grid_and_refuses_another(tmp_path, capsys, calls):
    args = ["sweep", "fake", "--quick", "--seeds", "2", "--out", str(tmp_path), "--quiet"]
    grid = ["--grid", "scale=1,2"]
    fake_study.INTERRUPT[0] = ("beta", 1)  # stops the sweep at its first point's 4th run
    assert main(args + grid) == 130
    rd = R.ResultsDir(tmp_path, "fake")
    assert rd.completed_runs() == {(0, "alpha", 0), (0, "alpha", 1), (0, "beta", 0)}
    fake_study.INTERRUPT[0] = None
    capsys.readouterr()
    before = {n: read(os.path.join(rd.runs_dir, n)) for n in os.listdir(rd.runs_dir)}

    for other in (["--grid", "scale=1,3"], ["--grid", "steps=1,2"]):
        assert main(args + other + ["--resume"]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert "the grid differs from the stored one (stored: --grid scale=1.0,2.0; given: " \
               "--grid " in line and "--force" in line
    calls.clear()
    assert main(args + ["--resume"]) == 0  # no --grid: the stored one
    assert "8 runs (2 points): 8 ok, 0 diverged, 0 failed (3 resumed)" in capsys.readouterr().out
    assert calls == [("beta", 1), ("alpha", 0), ("alpha", 1), ("beta", 0), ("beta", 1)]
    assert {n: read(os.path.join(rd.runs_dir, n)) for n in before} == before
    assert len(os.listdir(rd.runs_dir)) == 16 and rd.read_meta()["status"] == "complete"
    calls.clear()
    assert main(args + grid + ["--resume"]) == 0 and calls == []  # the same grid given again
    assert main(["run", "fake", "--quick", "--seeds", "2", "--out", str(tmp_path), "--resume",
                 "--quiet"]) == 0 and calls == []  # run --resume of a sweep keeps its grid


# -- runs that fail, and worker processes that die ---------------------------------------------------
def test_a_run_that_raises_is_failed_and_a_dead_worker_is_retried_then_failed(tmp_path):
    """Local workers: beta's worker process dies on beta's first attempt (point 0) or on every
    attempt (point 1); gamma raises; alpha is fine. The others go on. A run whose worker was
    stopped because another worker died (the pool breaks as a whole) is started again without
    being charged: every record's attempts are the times its run started (marker files)."""
    markers = tmp_path / "markers"
    markers.mkdir()
    res = run_sweep("dying", {"die_always": [False, True]}, rules="alpha,beta,gamma", seeds=1,
                    quick=True, out=tmp_path, workers=2, retries=1, figures=False,
                    overrides={"die": "beta", "fail": "gamma", "markers": str(markers)})
    records = {(r["point"], r["rule"]): r for r in res.records}
    assert res.exit_status == 1 and res.counts == {"ok": 3, "diverged": 0, "failed": 3}
    for (point, rule), record in records.items():
        assert record["attempts"] == attempts(markers, rule, 0, die_always=bool(point))

    once, always = records[0, "beta"], records[1, "beta"]
    assert once["status"] == "ok" and once["attempts"] >= 2
    assert always["status"] == "failed" and always["attempts"] >= 2  # retries=1: 2 deaths
    assert "the worker process running it died 2 times (last: exit status 3); gave up after " \
           f"{always['attempts']} attempts" in always["error"]
    for point in (0, 1):  # the runs beside the dying ones were never charged a death
        assert records[point, "alpha"]["status"] == "ok"
        assert records[point, "gamma"]["status"] == "failed"
        assert "RuntimeError: the gamma run broke on purpose" in records[point, "gamma"]["error"]
    meta = res.read_meta()
    assert [r["attempts"] for r in meta["runs"]] == [r["attempts"] for r in res.records]
    rows = res.read_metrics()
    assert {(r["die_always"], r["rule"]) for r in rows} == {(False, "alpha"), (False, "beta"),
                                                            (True, "alpha")}


def test_local_workers_start_with_their_share_of_the_threads(monkeypatch):
    from brainlearn.studies import _executors
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "x")
    with _executors.worker_environment(3):
        assert os.environ["NUMBA_NUM_THREADS"] == os.environ["OPENBLAS_NUM_THREADS"] == "3"
        assert os.environ["OMP_NUM_THREADS"] == "1"  # a smaller setting is kept
        assert os.environ["MKL_NUM_THREADS"] == "3"
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["MKL_NUM_THREADS"] == "x"
