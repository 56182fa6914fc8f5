"""Nothing lost when the driver of a sweep is killed: ``python -m brainlearn sweep`` in a
subprocess with two local worker processes is SIGKILLed as soon as its first runs are recorded;
its workers end by themselves, and ``--resume`` completes the missing runs without running the
recorded ones again, without duplicates and without partial files."""

import os
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest

from brainlearn import results as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWEEP = ["sweep", "learning", "--quick", "--rules", "backprop", "--seeds", "3",
         "--grid", "lr=0.02,0.1", "--set", "epochs=10", "--set", "eval_points=2",
         "--set", "rf_units=0", "--workers", "2", "--no-figures", "--quiet"]
RUNS = {f"p{p}__backprop__seed{s}" for p in (0, 1) for s in (0, 1, 2)}


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


def _recorded(runs_dir) -> set:
    if not os.path.isdir(runs_dir):
        return set()
    return {n[:-5] for n in os.listdir(runs_dir) if n.endswith(".json")}


def _files(folder) -> dict:
    """``{name: (bytes, mtime_ns)}`` of the files in ``folder``."""
    out = {}
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        with open(path, "rb") as fh:
            out[name] = (fh.read(), os.stat(path).st_mtime_ns)
    return out


def test_sigkill_of_the_driver_then_resume_completes_without_recomputing(tmp_path):
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "brainlearn"] + SWEEP + ["--out", str(out)]
    rd = R.ResultsDir(out, "learning")
    driver = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    workers = []
    try:
        deadline = time.monotonic() + 120
        while not _recorded(rd.runs_dir):
            assert driver.poll() is None, driver.stderr.read().decode()
            assert time.monotonic() < deadline, "no run was recorded in time"
            try:
                workers = psutil.Process(driver.pid).children(recursive=True) or workers
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.005)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.stderr.close()
    killed = _recorded(rd.runs_dir)
    assert killed and killed < RUNS  # some runs were recorded, some were not
    before = _files(rd.runs_dir)
    assert workers, "the driver had no worker processes"
    # the orphaned workers notice that their driver is gone and end (no one would record
    # their results)
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"worker processes left running: {alive}"
    assert _files(rd.runs_dir) == before  # nothing was written after the kill

    done = subprocess.run(cmd + ["--resume"], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert f"6 runs (2 points): 6 ok, 0 diverged, 0 failed ({len(killed)} resumed)" in done.stdout

    # complete, no duplicates, no partial or temporary files
    assert _recorded(rd.runs_dir) == RUNS
    after = _files(rd.runs_dir)
    assert set(after) == {f"{r}.{ext}" for r in RUNS for ext in ("csv", "json")}
    for name in before:  # the runs recorded before the kill were not run again
        if name[:-5] in killed or name[:-4] in killed:
            assert after[name] == before[name], name
    for folder, _, names in os.walk(out):
        partial = [n for n in names if n.startswith(".") or re.search(r"\.tmp", n)]
        assert not partial, (folder, partial)
    meta = rd.read_meta()
    assert meta["status"] == "complete" and meta["counts"] == {"ok": 6, "diverged": 0,
                                                               "failed": 0}
    assert [s["mode"] for s in meta["sessions"]] == ["new", "resume"]
    rows = rd.read_metrics(include_timings=False)
    per_run = {}
    for row in rows:
        key = (row["lr"], row["seed"], row["metric"], row["step"])
        assert key not in per_run, f"duplicate row {key}"
        per_run[key] = row
    assert {(r["lr"], r["seed"]) for r in rows} == {(lr, s) for lr in (0.02, 0.1)
                                                   for s in (0, 1, 2)}
    for name in RUNS:  # every run's files are whole
        record = R.read_json(os.path.join(rd.runs_dir, f"{name}.json"))
        assert record["status"] == "ok" and record["attempts"] == 1
        assert len(R.read_metrics(os.path.join(rd.runs_dir, f"{name}.csv"))) == record["rows"]


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip(reason="SIGKILL is POSIX")
