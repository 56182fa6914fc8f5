"""brainlearn.results: atomic files, exact CSV round trips, summaries, provenance, ResultsDir."""

import json
import math
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest
from scipy import stats

import brainlearn as bl
from brainlearn import results as R
from brainlearn.results import _provenance


def _listing(folder):
    return sorted(os.listdir(folder))


def _bits(x):
    return struct.pack("<d", x)


def _rows(rule="oja", seed=0, steps=3, metric="accuracy", task="digits", **extra):
    return [dict(rule=rule, seed=seed, task=task, step=s, metric=metric,
                 value=0.1 * s + 0.01 * seed, **extra) for s in range(steps)]


# -- atomic writes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("write, new", [(R.write_text, "new"), (R.write_bytes, b"new"),
                                        (R.write_json, {"new": 1})])
def test_failed_replace_keeps_the_previous_file(tmp_path, monkeypatch, write, new):
    path = tmp_path / "f.txt"
    R.write_text(path, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write(path, new)
    assert path.read_text() == "old"
    assert _listing(tmp_path) == ["f.txt"]  # the temporary file is gone


def test_failed_fsync_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    R.write_json(path, {"a": 1})

    def broken_fsync(fd):
        raise OSError("io error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="io error"):
        R.write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
    assert _listing(tmp_path) == ["f.json"]


def test_unencodable_json_raises_before_touching_the_file(tmp_path):
    path = tmp_path / "c.json"
    R.write_json(path, {"a": 1})
    with pytest.raises(TypeError, match=r"model\.rule: object value"):
        R.write_json(path, {"model": {"rule": object()}})
    assert json.loads(path.read_text()) == {"a": 1}


def test_write_creates_folders_and_gives_plain_file_mode(tmp_path):
    path = tmp_path / "a" / "b" / "x.txt"
    assert R.write_text(path, "hi") == str(path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_text() == "hi"
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


# -- JSON ------------------------------------------------------------------------------------------
def test_json_round_trip_with_nonfinite_numpy_and_exact_floats(tmp_path):
    obj = {"b": [0.1 + 0.2, 5e-324, 1e308, -0.0], "a": {"nan": math.nan, "inf": math.inf,
           "ninf": -math.inf}, "t": (1, 2), "np": {"f32": np.float32(0.1), "i": np.int64(7),
           "arr": np.arange(3), "flag": np.bool_(True)}, 3: "int key"}
    path = tmp_path / "x.json"
    R.write_json(path, obj)
    text = path.read_text()
    # strict JSON: no NaN/Infinity tokens; keys sorted
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard constant {c}"))
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"
    back = R.read_json(path)
    assert [_bits(x) for x in back["b"]] == [_bits(x) for x in obj["b"]]
    assert math.isnan(back["a"]["nan"]) and back["a"]["inf"] == math.inf
    assert back["a"]["ninf"] == -math.inf
    assert back["t"] == [1, 2] and back["3"] == "int key"
    assert back["np"] == {"f32": float(np.float32(0.1)), "i": 7, "arr": [0, 1, 2], "flag": True}
    assert R.read_json(path, nonfinite=False)["a"]["nan"] == "nan"


# -- metrics CSV -----------------------------------------------------------------------------------
def _awkward_rows(rng):
    values = list(rng.standard_normal(20) * 10.0 ** rng.integers(-300, 300, 20)) + [
        math.nan, math.inf, -math.inf, -0.0, 5e-324, 0.1 + 0.2, np.float32(0.1), 3]
    return [{"rule": "oja" if k % 2 else "back,prop", "seed": k % 3, "task": 'say "hi"', "step": k,
                 "metric": "loss", "value": v, "lr": [1e-3, 2, None, "x"][k % 4], "note": "a\nb"}
            for k, v in enumerate(values)]


def test_metrics_round_trip_is_exact_and_byte_stable(tmp_path, rng):
    rows = _awkward_rows(rng)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    R.write_metrics(a, rows, extra_columns=("lr", "note"))
    R.write_metrics(b, rows, extra_columns=("lr", "note"))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_text().splitlines()[0] == "rule,seed,task,step,metric,value,lr,note"
    back = R.read_metrics(a)
    assert len(back) == len(rows)
    for got, want in zip(back, rows):
        assert _bits(got["value"]) == _bits(float(want["value"]))
        assert type(got["seed"]) is int and type(got["step"]) is int
        assert (got["rule"], got["task"], got["metric"], got["note"]) == (
            want["rule"], want["task"], want["metric"], want["note"])
        assert got["lr"] == ("" if want["lr"] is None else str(want["lr"]))  # not declared
    # rows read back write the very same bytes
    R.write_metrics(b, back, extra_columns=("lr", "note"))
    assert a.read_bytes() == b.read_bytes()


def test_read_metrics_types_declared_numeric_columns(tmp_path):
    rows = [{"rule": "r", "seed": 0, "task": "t", "step": 0, "metric": "m", "value": 1.0, "n": v}
            for v in (3, 3.0, 1e-3, None, True, math.nan)]
    R.write_metrics(tmp_path / "m.csv", rows, extra_columns=("n",))
    got = [r["n"] for r in R.read_metrics(tmp_path / "m.csv", numeric=("n",))]
    assert got[:5] == [3, 3.0, 1e-3, None, True] and math.isnan(got[5])
    assert [type(v) for v in got[:5]] == [int, float, float, type(None), bool]


_BASE = {"rule": "r", "seed": 0, "task": "t", "step": 0, "metric": "m", "value": 1}


@pytest.mark.parametrize("row, extra, error, match", [
    ({k: v for k, v in _BASE.items() if k != "value"}, (), ValueError, "row 0: column 'value'"),
    ({**_BASE, "lr": 1}, (), ValueError, "row 0: unexpected column.*'lr'.*extra_columns"),
    ({**_BASE, "seed": 1.0}, (), TypeError, "column 'seed': 1.0 is not an int"),
    ({**_BASE, "step": True}, (), TypeError, "column 'step'"),
    ({**_BASE, "value": None}, (), TypeError, "column 'value': None is not a real number"),
    ({**_BASE, "rule": 1}, (), TypeError, "column 'rule': 1 is not a str"),
    (_BASE, ("seed",), ValueError, "extra_columns: 'seed' is a standard column"),
])
def test_write_metrics_rejects_bad_rows(tmp_path, row, extra, error, match):
    path = tmp_path / "m.csv"
    with pytest.raises(error, match=match):
        R.write_metrics(path, [row], extra_columns=extra)
    assert not path.exists()


def test_read_metrics_rejects_other_csv(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a metrics file"):
        R.read_metrics(path)


# -- summaries -------------------------------------------------------------------------------------
def test_summarize_final_values_against_scipy(rng):
    finals = {("oja", s): rng.random() for s in range(5)}
    finals.update({("hebb", s): rng.random() for s in range(3)})
    rows = []
    for (rule, seed), final in finals.items():
        for step in (0, 10, 20):
            v = final if step == 20 else rng.random()
            common = {"rule": rule, "seed": seed, "task": "t", "step": step}
            rows.append({**common, "metric": "acc", "value": v})
            rows.append({**common, "metric": "loss", "value": 9.0})
    rows.reverse()  # the last step is found by its number, not by row order
    out = R.summarize(rows, metrics="acc")
    assert [(r["rule"], r["metric"]) for r in out] == [("hebb", "acc"), ("oja", "acc")]
    for r in out:
        v = np.array([finals[(r["rule"], s)] for s in range(r["n"])])
        lo, hi = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
        assert r["mean"] == pytest.approx(v.mean(), rel=1e-12)
        assert r["std"] == pytest.approx(np.std(v, ddof=1), rel=1e-12)
        assert r["ci_low"] == pytest.approx(lo, rel=1e-12)
        assert r["ci_high"] == pytest.approx(hi, rel=1e-12)
        assert r["ci95"] == pytest.approx((hi - lo) / 2, rel=1e-12)
        assert r["n_nan"] == 0
    assert {r["n"] for r in out} == {5, 3}
    assert len(R.final_values(rows, "acc")) == 8


def test_summarize_nan_single_seed_where_and_reducers():
    rows = _rows("a", 0) + _rows("a", 1) + _rows("b", 0)
    rows[5]["value"] = math.nan  # the last step of ("a", seed 1): a diverged run
    (a, b) = R.summarize(rows)
    assert (a["n"], a["n_nan"], a["mean"]) == (1, 1, pytest.approx(0.2))
    assert math.isnan(a["std"]) and math.isnan(a["ci95"]) and math.isnan(b["ci_low"])
    only_b = R.summarize(rows, where={"rule": "b"})
    assert [r["rule"] for r in only_b] == ["b"]
    assert R.summarize(rows, where=lambda r: r["seed"] == 1, reduce="first")[0]["mean"] == \
        pytest.approx(0.01)
    assert R.summarize(rows, where={"rule": ["b"]}, reduce="mean")[0]["mean"] == \
        pytest.approx(0.1)
    assert R.summarize(rows, where={"rule": "a", "seed": 1}, reduce="max")[0]["mean"] == \
        pytest.approx(0.11)
    assert len(R.summarize(rows, reduce=None)) == 2
    assert R.summarize(rows, reduce=None)[0]["n"] == 5
    by_seed = R.summarize(rows, by=("rule", "seed"))
    assert [(r["rule"], r["seed"]) for r in by_seed] == [("a", 0), ("a", 1), ("b", 0)]
    with pytest.raises(ValueError, match="reduce='median'"):
        R.summarize(rows, reduce="median")
    with pytest.raises(ValueError, match="by: row 0 has no column 'lr'"):
        R.summarize(rows, by=("rule", "lr"))


def test_summary_round_trip(tmp_path):
    summary = R.summarize(_rows("a", 0) + _rows("a", 1) + _rows("b", 0))
    path = tmp_path / "summary.csv"
    R.write_summary(path, summary)
    assert path.read_text().splitlines()[0] == "rule,metric," + ",".join(R.SUMMARY_COLUMNS)
    back = R.read_summary(path)
    for got, want in zip(back, summary):
        assert got.keys() == want.keys()
        for k, v in want.items():
            if isinstance(v, float) and math.isnan(v):
                assert math.isnan(got[k])
            else:
                assert got[k] == v and type(got[k]) is type(v)


# -- provenance ------------------------------------------------------------------------------------
def test_provenance_keys_and_git_state():
    import platform
    info = R.provenance()
    for key in ("brainlearn", "python", "numpy", "numba", "scipy", "matplotlib", "platform",
                "git_commit", "git_dirty"):
        assert key in info
    assert info["numpy"] == np.__version__ and info["brainlearn"] == bl.__version__
    assert not {"host", "hostname", "node"} & set(info)
    assert not platform.node() or platform.node() not in json.dumps(info)
    root = _provenance._source_root()
    if os.path.isdir(os.path.join(root, ".git")) and shutil.which("git"):
        head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        assert info["git_commit"] == head and isinstance(info["git_dirty"], bool)


@pytest.mark.parametrize("status, dirty", [("", False), ("?? results/\n?? notes.txt\n", False),
                                           (" M brainlearn/cli.py\n", True),
                                           ("?? brainlearn/rules/new.py\n", True),
                                           ("M  tests/test_x.py\n", True)])
def test_git_dirty_flag(monkeypatch, status, dirty):
    root = _provenance._source_root()
    answers = {"rev-parse --show-toplevel": root + "\n", "rev-parse HEAD": "a" * 40 + "\n",
               "status --porcelain --untracked-files=normal": status}
    monkeypatch.setattr(_provenance, "_git", lambda r, *args: answers[" ".join(args)])
    assert _provenance._git_state() == ("a" * 40, dirty)


def test_provenance_never_fails_without_git(monkeypatch, tmp_path):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    info = R.provenance()
    assert info["git_commit"] is None and info["git_dirty"] is None
    monkeypatch.undo()

    def slow_git(*args, **kwargs):
        raise subprocess.TimeoutExpired("git", 5)

    monkeypatch.setattr(subprocess, "run", slow_git)
    assert R.provenance()["git_commit"] is None
    monkeypatch.undo()
    # not a checkout of brainlearn: no commit, even inside some other repository
    monkeypatch.setattr(_provenance, "_source_root", lambda: str(tmp_path))
    assert R.provenance()["git_commit"] is None


# -- ResultsDir ------------------------------------------------------------------------------------
CONFIG = {"epochs": 3, "model": {"lr": 0.01, "hidden": [64, 10]}, "tol": math.nan}


def _snapshot(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, folder)] = fh.read()
    return out


def test_prepare_new_writes_the_layout(tmp_path):
    rd = R.ResultsDir(tmp_path / "out", "learning")
    assert not rd.exists()
    rd.prepare(CONFIG)
    assert rd.exists()
    assert _listing(rd.path) == ["config.json", "figures", "meta.json", "runs"]
    assert _listing(tmp_path / "out") == ["learning"]  # no staging folder left
    assert R.read_json(rd.config_path, nonfinite=False)["tol"] == "nan"
    meta = rd.read_meta()
    assert meta["study"] == "learning" and meta["status"] == "running"
    assert meta["sessions"][0]["mode"] == "new" and "numpy" in meta["provenance"]


def test_prepare_new_refuses_existing_results_and_writes_nothing(tmp_path):
    rd = R.ResultsDir(tmp_path, "learning")
    rd.prepare(CONFIG)
    rd.write_run("oja", 0, _rows(), "ok", 1.0)
    before = _snapshot(tmp_path)
    with pytest.raises(R.ResultsError) as info:
        rd.prepare({"epochs": 5}, mode="new")
    message = str(info.value)
    assert "\n" not in message and "--resume" in message and "--force" in message
    assert rd.path in message
    assert _snapshot(tmp_path) == before


def test_prepare_resume_checks_the_config(tmp_path):
    rd = R.ResultsDir(tmp_path, "learning")
    rd.prepare(CONFIG)
    rd.write_run("oja", 0, _rows(), "ok", 1.0)
    rd.prepare(dict(CONFIG), mode="resume")  # equal, NaN included
    assert [s["mode"] for s in rd.read_meta()["sessions"]] == ["new", "resume"]
    assert rd.completed_runs() == {("oja", 0)}
    before = _snapshot(tmp_path)
    changed = {"epochs": 4, "model": {"lr": 0.01, "hidden": [64, 12]}, "tol": math.nan,
               "new": 1}
    with pytest.raises(R.ResultsError) as info:
        rd.prepare(changed, mode="resume")
    message = str(info.value)
    assert "\n" not in message and "--force" in message
    assert "at epochs, model.hidden[1], new:" in message
    assert _snapshot(tmp_path) == before
    with pytest.raises(R.ResultsError, match=r"at epochs:"):
        rd.prepare({**CONFIG, "epochs": 3.0}, mode="resume")  # 3 and 3.0 are different JSON


def test_prepare_resume_of_nothing_starts_afresh(tmp_path):
    rd = R.ResultsDir(tmp_path, "s")
    rd.prepare(CONFIG, mode="resume")
    assert rd.read_config()["epochs"] == 3 and rd.read_meta()["sessions"][0]["mode"] == "resume"


def test_prepare_force_replaces_the_whole_folder(tmp_path):
    rd = R.ResultsDir(tmp_path, "learning")
    rd.prepare(CONFIG)
    rd.write_run("oja", 0, _rows(), "ok", 1.0)
    rd.merge()
    rd.prepare({"epochs": 9}, mode="force")
    assert rd.read_config() == {"epochs": 9}
    assert rd.completed_runs() == set() and not os.path.exists(rd.metrics_path)
    assert _listing(tmp_path) == ["learning"]


def test_prepare_force_failing_midway_keeps_the_old_results(tmp_path, monkeypatch):
    rd = R.ResultsDir(tmp_path, "learning")
    rd.prepare(CONFIG)
    rd.write_run("oja", 0, _rows(), "ok", 1.0)
    before = _snapshot(rd.path)
    real_rename = os.rename

    def rename(src, dst):  # the fresh folder cannot be moved into place
        if os.path.basename(src).startswith(".learning.new-"):
            raise OSError("crash")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="crash"):
        rd.prepare({"epochs": 9}, mode="force")
    monkeypatch.undo()
    assert _snapshot(rd.path) == before
    assert _listing(tmp_path) == ["learning"]


def test_prepare_cleans_leftovers_of_interrupted_writes(tmp_path):
    rd = R.ResultsDir(tmp_path, "learning")
    (tmp_path / ".learning.new-abc").mkdir()
    (tmp_path / ".learning.old-def").mkdir()
    (tmp_path / ".learning.old-def" / "config.json").write_text("{}")
    rd.prepare(CONFIG)
    assert _listing(tmp_path) == ["learning"]
    leftovers = [os.path.join(rd.path, ".meta.json.x1y2.tmp"),
                 os.path.join(rd.runs_dir, ".oja__seed0.csv.abcd.tmp"),
                 os.path.join(rd.figures_dir, "curves.png.tmp-4242")]
    for path in leftovers:
        open(path, "w").close()
    with pytest.raises(R.ResultsError):
        rd.prepare(CONFIG, mode="new")  # a refusal changes nothing
    assert all(os.path.exists(p) for p in leftovers)
    rd.prepare(CONFIG, mode="resume")
    assert not any(os.path.exists(p) for p in leftovers)
    assert _listing(rd.path) == ["config.json", "figures", "meta.json", "runs"]


def test_prepare_resume_reports_a_damaged_config(tmp_path):
    rd = R.ResultsDir(tmp_path, "learning")
    rd.prepare(CONFIG)
    with open(rd.config_path, "w") as fh:
        fh.write("{broken")
    with pytest.raises(R.ResultsError, match=r"config.json: not valid JSON .*--force"):
        rd.prepare(CONFIG, mode="resume")


def test_read_json_names_a_damaged_file(tmp_path):
    path = tmp_path / "meta.json"
    path.write_text('{"study": "x",\n')
    with pytest.raises(ValueError) as info:
        R.read_json(path)
    assert str(info.value).startswith(f"{path}: not valid JSON (Expecting property name")
    assert str(info.value).endswith("at line 2 column 1)")
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ValueError, match=r"meta.json: not valid JSON \(not UTF-8 text: byte 7\)"):
        R.read_json(path)
    rd = R.ResultsDir(tmp_path, "s")
    rd.prepare(CONFIG)
    with open(os.path.join(rd.runs_dir, "a__seed0.json"), "w") as fh:
        fh.write("[")
    with pytest.raises(R.ResultsError) as info:
        rd.run_records()
    assert str(info.value).startswith(os.path.join(rd.runs_dir, "a__seed0.json")
                                      + ": not valid JSON (")
    assert str(info.value).count("a__seed0.json") == 1


def test_check_location_refuses_a_file_in_the_way_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("keep")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "s").write_text("keep")
    for out, problem in (("afile", "afile is a file, not a folder"),
                         ("afile/sub/deeper", "afile is a file, not a folder"),
                         ("out", os.path.join("out", "s") + " is a file, not a folder")):
        with pytest.raises(R.ResultsError) as info:
            R.ResultsDir(out, "s").check_location()
        assert str(info.value) == (f"out={out!r}: {problem}; allowed: a folder, or a path "
                                   "where one can be made")
    R.ResultsDir("new/deeper", "s").check_location()  # made when written
    R.ResultsDir(".", "t").check_location()
    assert _listing(tmp_path) == ["afile", "out"]
    assert R.path_problem("") == "an empty path"
    assert R.path_problem("out") == "out is a folder, not a file"
    assert R.path_problem("afile") is None and R.path_problem("new/x.html") is None


def test_prepare_never_touches_a_foreign_folder(tmp_path):
    folder = tmp_path / "learning"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    rd = R.ResultsDir(tmp_path, "learning")
    for mode in ("new", "force", "resume"):
        with pytest.raises(R.ResultsError, match="not brainlearn results"):
            rd.prepare(CONFIG, mode=mode)
    assert _listing(folder) == ["thesis.tex"]


def test_prepare_and_names_reject_bad_arguments(tmp_path):
    rd = R.ResultsDir(tmp_path, "s")
    with pytest.raises(ValueError, match="mode='append': allowed 'new', 'resume', 'force'"):
        rd.prepare(CONFIG, mode="append")
    with pytest.raises(TypeError, match="config: expected a dict"):
        rd.prepare([1, 2])
    for bad in ("", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="study: "):
            R.ResultsDir(tmp_path, bad)
    assert not rd.exists() and _listing(tmp_path) == []


def test_runs_resume_bookkeeping(tmp_path, monkeypatch):
    rd = R.ResultsDir(tmp_path, "learning")
    rd.prepare(CONFIG)
    rd.write_run("oja", 0, _rows("oja", 0), "ok", 1.5)
    rd.write_run("oja", 1, _rows("oja", 1)[:1], "diverged", 0.5, step=7)
    rd.write_run("hebb", 0, [], "failed", 0.1, error="Traceback\nValueError: boom")
    assert rd.completed_runs() == {("oja", 0), ("oja", 1)}
    assert rd.completed_runs(include_failed=True) == {("oja", 0), ("oja", 1), ("hebb", 0)}
    # an interrupted write (its record never lands) does not count as finished ...
    monkeypatch.setattr(R._folder, "write_json", lambda *a: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        rd.write_run("hebb", 1, _rows("hebb", 1), "ok", 1.0)
    # ... nor does a rerun of a failed run that is interrupted
    with pytest.raises(OSError):
        rd.write_run("hebb", 0, _rows("hebb", 0), "ok", 1.0)
    monkeypatch.undo()
    assert rd.completed_runs(include_failed=True) == {("oja", 0), ("oja", 1)}
    rd.write_run("hebb", 0, _rows("hebb", 0), "ok", 1.0)
    assert rd.completed_runs() == {("oja", 0), ("oja", 1), ("hebb", 0)}
    assert rd.read_run("oja", 0) == _rows("oja", 0)


def test_write_run_rejects_bad_arguments(tmp_path):
    rd = R.ResultsDir(tmp_path, "s")
    rd.prepare(CONFIG)
    cases = [({"rows": _rows("hebb")}, "row 0 belongs to rule='hebb'"),
             ({"status": "done"}, "status='done': allowed 'ok', 'diverged', 'failed'"),
             ({"status": "diverged"}, "step=None: a diverged run needs"),
             ({"status": "failed"}, "error=None: a failed run needs the error text"),
             ({"wall_time": -1.0}, "wall_time=-1.0")]
    for kwargs, match in cases:
        args = {"rows": _rows(), "status": "ok"} | kwargs
        with pytest.raises(ValueError, match=match):
            rd.write_run("oja", 0, args.pop("rows"), **args)
    with pytest.raises(TypeError, match="seed: expected an int"):
        rd.write_run("oja", "0", [])
    assert _listing(rd.runs_dir) == []


def test_rule_labels_become_safe_file_names(tmp_path):
    rd = R.ResultsDir(tmp_path, "s")
    rd.prepare(CONFIG)
    rd.write_run("oja+decay/2", 3, _rows("oja+decay/2", 3), "ok", 1.0)
    assert _listing(rd.runs_dir) == ["oja%2Bdecay%2F2__seed3.csv", "oja%2Bdecay%2F2__seed3.json"]
    assert rd.completed_runs() == {("oja+decay/2", 3)}


def test_merge_writes_metrics_and_meta(tmp_path):
    rd = R.ResultsDir(tmp_path, "learning")
    rd.prepare(CONFIG)
    runs = {("oja", 0): _rows("oja", 0, lr=0.01), ("oja", 1): _rows("oja", 1, lr=0.01),
            ("backprop", 0): _rows("backprop", 0, note="x")}
    for (rule, seed), rows in runs.items():  # finish in another order than the study's
        rd.write_run(rule, seed, rows, "ok", wall_time=2.0 + seed, extra={"loss": math.inf})
    rd.write_run("hebb", 0, [], "diverged", 0.5, step=12)
    expected = [("backprop", 0), ("oja", 0), ("oja", 1), ("hebb", 0), ("hebb", 1)]
    merged = rd.merge(expected=expected)
    want = runs[("backprop", 0)] + runs[("oja", 0)] + runs[("oja", 1)]
    assert merged == [{"lr": None, **r} if "note" in r else {"note": "", **r} for r in want]
    direct = tmp_path / "direct.csv"
    R.write_metrics(direct, want, extra_columns=("note", "lr"))
    with open(rd.metrics_path, "rb") as fh:
        assert fh.read() == direct.read_bytes()
    assert rd.read_metrics() == merged
    meta = rd.read_meta()
    assert meta["status"] == "incomplete" and meta["missing"] == [["hebb", 1]]
    assert [(r["rule"], r["seed"], r["status"]) for r in meta["runs"]] == [
        ("backprop", 0, "ok"), ("oja", 0, "ok"), ("oja", 1, "ok"), ("hebb", 0, "diverged")]
    assert meta["runs"][3]["step"] == 12 and meta["runs"][2]["wall_time"] == 3.0
    assert meta["runs"][0]["extra"] == {"loss": "inf"}
    assert meta["counts"] == {"ok": 3, "diverged": 1, "failed": 0}
    assert meta["rules"] == ["backprop", "oja", "hebb"] and meta["seeds"] == [0, 1]
    assert meta["run_time"] == pytest.approx(2 + 2 + 3 + 0.5)
    assert meta["started"] <= meta["finished"] and meta["elapsed"] >= 0
    assert meta["provenance"]["numpy"] == np.__version__ and meta["mixed_provenance"] is False
    assert meta["numeric_columns"] == ["lr"]
    # resuming finishes the rest; merging again completes the study
    rd.prepare(CONFIG, mode="resume")
    todo = [k for k in expected if k not in rd.completed_runs()]
    assert todo == [("hebb", 1)]
    rd.write_run("hebb", 1, _rows("hebb", 1), "ok", 1.0)
    rd.merge(expected=expected)
    meta = rd.read_meta()
    assert meta["status"] == "complete" and meta["missing"] == []
    assert len(meta["sessions"]) == 2
    rd.write_summary(R.summarize(rd.read_metrics()))
    assert {r["rule"] for r in rd.read_summary()} == {"backprop", "oja", "hebb"}


def test_merge_types_a_column_only_when_every_run_does(tmp_path):
    rd = R.ResultsDir(tmp_path, "s")
    rd.prepare(CONFIG)
    rd.write_run("a", 0, _rows("a", 0, size=3), "ok")
    rd.write_run("b", 0, _rows("b", 0, size="big", lr=0.5), "ok")
    merged = rd.merge()
    assert rd.read_meta()["numeric_columns"] == ["lr"]
    assert [r["size"] for r in rd.read_metrics()] == ["3"] * 3 + ["big"] * 3
    assert [r["lr"] for r in rd.read_metrics()] == [None] * 3 + [0.5] * 3
    assert merged[0]["size"] == 3  # the rows returned keep the types of each run


def test_merge_puts_timing_metrics_in_timings_csv(tmp_path):
    rd = R.ResultsDir(tmp_path, "s")
    rd.prepare(CONFIG)
    order = [("b", 0), ("a", 0)]
    runs = {}
    for rule, seed in order:
        runs[rule, seed] = (_rows(rule, seed, phase="x")
                            + _rows(rule, seed, steps=1, metric="wall_time", phase="y")
                            + _rows(rule, seed, steps=1, metric="loss", phase="z"))
        rd.write_run(rule, seed, runs[rule, seed], "ok", 1.0)
    merged = rd.merge(expected=order, timing_metrics=("wall_time",))
    other = [r for k in order for r in runs[k] if r["metric"] != "wall_time"]
    timed = [r for k in order for r in runs[k] if r["metric"] == "wall_time"]
    for name, rows in (("metrics.csv", other), ("timings.csv", timed)):
        R.write_metrics(tmp_path / name, rows, extra_columns=("phase",))
        assert (tmp_path / "s" / name).read_bytes() == (tmp_path / name).read_bytes(), name
    # the rows of every run, its timings after its other rows; read back the same
    want = [r for k in order for r in sorted(runs[k], key=lambda r: r["metric"] == "wall_time")]
    assert merged == want and rd.read_metrics() == want
    assert rd.read_metrics(include_timings=False) == other and rd.read_timings() == timed
    assert rd.read_meta()["timing_metrics"] == ["wall_time"]
    # without timing metrics: every row in metrics.csv, and the stale timings.csv goes
    assert rd.merge(expected=order) == [r for k in order for r in runs[k]]
    assert not os.path.exists(rd.timings_path) and rd.read_timings() == []
    with pytest.raises(TypeError, match="timing_metrics='wall_time': expected a sequence"):
        rd.merge(timing_metrics="wall_time")


def test_find_studies(tmp_path):
    for study in ("retention", "learning"):
        R.ResultsDir(tmp_path, study).prepare(CONFIG)
    (tmp_path / "notes").mkdir()
    assert [rd.study for rd in R.find_studies(tmp_path)] == ["learning", "retention"]
    assert [rd.path for rd in R.find_studies(tmp_path / "learning")] == \
        [os.path.join(str(tmp_path), "learning")]
    with pytest.raises(R.ResultsError, match="holds no results"):
        R.find_studies(tmp_path / "notes")
    with pytest.raises(R.ResultsError, match="no such folder"):
        R.find_studies(tmp_path / "missing")


# -- what the metrics measure: labels, units, ranges, digits ---------------------------------------
def test_metric_table_gives_labels_units_and_ranges():
    assert R.metric_label("final_test_accuracy") == "final test accuracy (fraction correct)"
    # the learning time of a rule is not the run time of meta.json
    assert R.metric_label("wall_time") == "learning time (s)"
    assert R.metric_range("test_accuracy") == (0.0, 1.0)
    assert R.metric_range("bwt") == (-1.0, 1.0) and R.metric_info("bwt").unit == "accuracy change"
    assert R.metric_range("overlap") == (-1.0, 1.0)
    assert R.metric_range("lifetime") == (0.0, None)
    # one name, two meanings: the spacing study's retention is a ratio without bounds
    assert R.metric_range("retention") == (0.0, 1.0)
    assert R.metric_range("retention", "spacing") == (None, None)
    # names of plug-in studies: accuracies and fractions are bounded, anything else is not
    assert R.metric_range("readout_accuracy") == (0.0, 1.0)
    assert R.metric_range("spike_fraction") == (0.0, 1.0)
    assert R.metric_range("energy") == (None, None) and R.metric_label("my_energy") == "my energy"
    every = {*R.METRICS, *(m for _, m in R.STUDY_METRICS)}
    assert all(R.metric_info(m).unit for m in every)


@pytest.mark.parametrize("mean, ci, metric, text", [
    (0.91234, 0.01321, "final_test_accuracy", "0.912 ± 0.013"),
    (-0.5, 0.25, "bwt", "-0.500 ± 0.250"),
    (1.2345, 0.2143, "wall_time", "1.2 ± 0.2"),
    (131.2, 12.3, "wall_time", "130 ± 10"),
    (0.01234, 0.00041, "wall_time", "0.012 ± 0.0004"),
    (12.34, 1.5, "lifetime", "12.3 ± 1.5"),
    (0.5, math.nan, "final_test_accuracy", "0.500"),
    (math.nan, math.nan, "final_test_accuracy", "n/a"),
])
def test_mean_and_interval_at_the_metrics_digits(mean, ci, metric, text):
    assert R.format_mean_ci(mean, ci, metric) == text
