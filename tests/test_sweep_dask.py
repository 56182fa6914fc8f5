"""Sweeps on a Dask distributed cluster (``--scheduler``): a LocalCluster of two single-threaded
worker processes on 127.0.0.1, started here, runs a small learning sweep through its scheduler
address and writes the same metrics.csv as one local worker (this process) and two local
worker processes; a worker process that dies has its run rescheduled, and a run whose workers
keep dying is recorded failed (KilledWorker).

distributed comes with the test extra (pip install ".[test]").
"""

import os

import dask
import pytest
from distributed import LocalCluster
from fake_study import read
from sweep_study import DyingStudy, attempts

from brainlearn import results as R
from brainlearn.cli import main
from brainlearn.studies import _executors, register_study, run_sweep, unregister_study

#: a learning sweep that takes well under a second a run: 2 points x 2 rules x 1 seed (the
#: figures are not drawn: they come from metrics.csv, which is compared)
LEARNING = ["--quick", "--rules", "backprop,oja", "--seeds", "1", "--grid", "lr=0.02,0.1",
            "--set", "train_size=200", "--set", "hidden=16", "--set", "eval_points=2",
            "--set", "rf_units=2", "--no-figures", "--quiet"]


@pytest.fixture(scope="module")
def cluster():
    # a task is failed after its second dead worker (the default allows 3 deaths)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.worker.daemon": False}):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=None)
    register_study(DyingStudy())
    yield local
    unregister_study("dying")
    local.close()


def test_a_dask_cluster_writes_the_same_metrics_as_one_and_two_local_workers(cluster, tmp_path,
                                                                             capsys):
    sweep = ["sweep", "learning"] + LEARNING
    assert main(sweep + ["--out", str(tmp_path / "one")]) == 0
    assert main(sweep + ["--out", str(tmp_path / "two"), "--workers", "2"]) == 0
    assert main(sweep + ["--out", str(tmp_path / "dask"),
                         "--scheduler", cluster.scheduler_address]) == 0
    assert "4 runs (2 points): 4 ok, 0 diverged, 0 failed" in capsys.readouterr().out
    one, two, dask_ = (R.ResultsDir(tmp_path / n, "learning") for n in ("one", "two", "dask"))
    assert read(one.metrics_path) == read(two.metrics_path) == read(dask_.metrics_path)
    assert len(dask_.read_timings()) == 4  # the wall times, which differ, are kept apart
    assert [r["attempts"] for r in dask_.read_meta()["runs"]] == [1, 1, 1, 1]
    assert R.read_json(dask_.config_path) == R.read_json(one.config_path)


def test_an_unreachable_scheduler_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr(_executors, "CONNECT_TIMEOUT", 1)
    out = tmp_path / "out"
    assert main(["sweep", "learning", "--quick", "--grid", "lr=0.1,0.2", "--out", str(out),
                 "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("brainlearn: error: --scheduler tcp://127.0.0.1:9: "
                                               "cannot connect to a Dask scheduler there")
    assert not out.exists()


def test_a_dead_dask_worker_has_its_run_rescheduled_then_killed_worker_is_failed(cluster,
                                                                                 tmp_path):
    """One run that dies at a time: distributed counts a worker's death against every task the
    worker holds (also one assigned to it that had not started), so two dying runs at once
    could charge each other (allowed-failures is 1 here)."""
    markers = tmp_path / "markers"
    markers.mkdir()
    kwargs = dict(quick=True, scheduler=cluster.scheduler_address, figures=False)
    once = run_sweep("dying", None, rules="alpha,beta", seeds=1, out=tmp_path / "once",
                     overrides={"die": "beta", "markers": str(markers)}, **kwargs)
    assert once.exit_status == 0 and once.counts["ok"] == 2
    record = next(r for r in once.records if r["rule"] == "beta")
    assert record["attempts"] == 2 == attempts(markers, "beta", 0)  # the first one died
    lines = read(once.metrics_path).splitlines()
    assert len(lines) == len(set(lines)) and b"\nbeta,0," in read(once.metrics_path)

    always = run_sweep("dying", None, rules="beta", seeds=1, out=tmp_path / "always",
                       overrides={"die": "beta", "die_always": True, "markers": str(markers)},
                       **kwargs)
    (record,) = always.records
    assert always.exit_status == 1 and record["status"] == "failed"
    assert "the worker running it died 2 times (distributed.KilledWorker" in record["error"]
    assert record["attempts"] == 2 == attempts(markers, "beta", 0, die_always=True)
    assert always.read_meta()["status"] == "complete"
    assert not [n for n in os.listdir(always.runs_dir) if n.startswith(".")]
