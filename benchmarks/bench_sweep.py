#!/usr/bin/env python
"""Sweep throughput: the same sweep of 40 quick learning runs with 1 local worker (the sweep's
own process), 2 local worker processes, and a Dask LocalCluster of 2 single-threaded worker
processes (through its scheduler address, as ``--scheduler`` would).

The sweep: the ``learning`` study, quick size with ``epochs=100`` (about 0.7 s a run after
compilation on a 2-core machine; ``--epochs`` changes it), rules backprop and feedback
alignment, ``lr`` swept over two values, 10 seeds: 2 x 2 x 10 = 40 runs, figures not drawn. A
warm-up sweep first compiles every kernel the runs use into Numba's disk cache, so no
measurement includes compiling. Each measured sweep then runs in a fresh process, as
``brainlearn sweep --workers N`` does: every process that runs runs (the sweep's own with 1
worker; each worker process of a local pool, started afresh) loads brainlearn's kernels from
the cache on its first run, and that is in its time. The Dask cluster is started before its
measurement (a running cluster), its workers fresh, and closed after it.

The figure of merit is runs per second of the run phase (from the first run submitted to the
last run recorded; the merge and summary that follow are the same for every executor) and its
ratio to 1 worker. Target: 2 local workers >= 1.7x 1 worker on 2 cores. A local worker costs
about 1.2 s before its runs go at full speed (0.8 s to start Python and import brainlearn, 0.4 s
to load Numba's registries and the cached kernels on its first run), so the ratio approaches
2x as runs get longer: 1.7-1.9x with the default runs, 1.6-1.75x with runs of 0.25 s
(``--epochs 30``), on a quiet 2-core machine (best of 3; single measurements vary by about
10%). The three
sweeps must write the same metrics.csv (checked). "other CPUs" is the CPU time of processes
other than the benchmark and the measured sweep (the Dask cluster's workers count as other).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_sweep.py            # full run, about 2 minutes
    PYTHONPATH=. python benchmarks/bench_sweep.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

TARGET = 1.7
RULES = "backprop,feedback_alignment"
GRID = {"lr": [0.02, 0.05]}


#: passes over the digits per run: about 0.7 s a run on a 2-core machine
EPOCHS = 100


def overrides(quick, epochs=EPOCHS):
    return {"epochs": 6 if quick else epochs, "eval_points": 2, "rf_units": 0}


def sweep(bl_studies, out, seeds, quick, epochs=EPOCHS, **where):
    return bl_studies.run_sweep("learning", GRID, rules=RULES, seeds=seeds, quick=True,
                                out=out, overrides=overrides(quick, epochs), mode="force",
                                figures=False, **where)


def child(spec) -> int:
    """One measured sweep in this (fresh) process; prints its timings as JSON."""
    from brainlearn import studies as S
    t0 = time.perf_counter()
    res = sweep(S, spec["out"], spec["seeds"], spec["quick"], spec["epochs"], **spec["where"])
    total = time.perf_counter() - t0
    print(json.dumps({"seconds": res.seconds, "total": total, "counts": res.counts,
                      "runs": len(res.records), "metrics_path": res.metrics_path}))
    return 0


def measure(label, out, seeds, quick, epochs, max_wait, where):
    """Time one sweep in a fresh process (as ``brainlearn sweep`` would run it)."""
    C.settle(max_wait)
    spec = {"out": out, "seeds": seeds, "quick": quick, "epochs": epochs, "where": where}
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    mon = C.CpuMonitor()
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                           json.dumps(spec)], capture_output=True, text=True, env=env,
                          check=False)
    load = mon.foreign_cpus()
    if done.returncode != 0:
        raise SystemExit(f"{label}: the sweep failed:\n{done.stderr}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    n = got["runs"]
    if got["counts"]["ok"] != n:
        raise SystemExit(f"{label}: {got['counts']} (expected every run ok)")
    runs = got["seconds"]["runs"]
    if C.VERBOSE:
        print(f"  {label}: {n} runs in {runs:.2f} s (the sweep call {got['total']:.2f} s, other "
              f"processes {load if load is not None else float('nan'):.2f} CPUs)", flush=True)
    with open(got["metrics_path"], "rb") as fh:
        metrics = fh.read()
    return {"executor": label, "runs": n, "run_seconds": runs, "runs_per_s": n / runs,
            "total_seconds": got["total"], "after_runs_seconds": got["total"] - runs,
            "foreign_cpus": load, "metrics": metrics}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(parser)
    parser.add_argument("--no-dask", action="store_true", help="leave the Dask cluster out")
    parser.add_argument("--epochs", type=int, default=EPOCHS, metavar="E",
                        help=f"passes over the digits per run (default {EPOCHS}): the length "
                             "of a run")
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(json.loads(args.child))
    C.VERBOSE = args.verbose
    try:
        import brainlearn  # noqa: F401
    except ImportError:  # run from a checkout without PYTHONPATH
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from brainlearn import studies as S
    from brainlearn.studies._executors import cores

    seeds = 2 if args.quick else 10
    max_wait = args.max_wait if args.max_wait is not None else (0.0 if args.quick else 120.0)
    repeats = args.repeats or 1
    env = C.environment(cores())
    print(f"brainlearn {env.get('brainlearn', '?')} ({env.get('brainlearn_commit') or '?'}), "
          f"numpy {env['numpy']}, numba {env['numba']}; python {env['python']}")
    print(f"cpu: {env['cpu']} ({cores()} cores for this process); threads: each executor "
          "shares the cores among its workers (1 worker: Numba's default)")
    n_runs = 2 * 2 * seeds
    print(f"sweep: learning --quick, rules {RULES}, --grid lr={','.join(map(str, GRID['lr']))}, "
          f"{seeds} seeds: {n_runs} runs; settings {overrides(args.quick, args.epochs)}")

    scratch = tempfile.mkdtemp(prefix="bench_sweep-")
    try:
        t0 = time.perf_counter()
        sweep(S, os.path.join(scratch, "warm"), 1, True)  # compile, fill the disk cache
        print(f"warm-up (compiling, one seed): {time.perf_counter() - t0:.1f} s", flush=True)

        cases = [("1 worker", {}), ("2 local workers", {"workers": 2})]
        LocalCluster = None
        if not args.no_dask:
            try:
                from distributed import LocalCluster
            except ImportError:
                print("Dask: distributed is not installed (pip install 'brainlearn[dask]'); "
                      "left out")
            else:
                import logging
                logging.getLogger("distributed").setLevel(logging.WARNING)
                cases.append(("Dask, 2 workers", None))
        results = {}
        for _ in range(repeats):
            for label, where in cases:
                out = os.path.join(scratch, label.replace(" ", "_").replace(",", ""))
                cluster = None
                if where is None:
                    # started for its measurement only: its idle workers and scheduler would
                    # take CPU from the others
                    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
                    where = {"scheduler": cluster.scheduler_address}
                try:
                    got = measure(label, out, seeds, args.quick, args.epochs, max_wait,
                                  where)
                finally:
                    if cluster is not None:
                        cluster.close()
                best = results.get(label)
                if best is None or got["run_seconds"] < best["run_seconds"]:
                    results[label] = got

        base = results["1 worker"]
        same = all(r["metrics"] == base["metrics"] for r in results.values())
        rows = []
        for label, _ in cases:
            r = results[label]
            ratio = r["runs_per_s"] / base["runs_per_s"]
            target = f">= {TARGET}x: {'met' if ratio >= TARGET else 'MISSED'}" \
                if label == "2 local workers" else ""
            load = r["foreign_cpus"]
            rows.append([label, str(r["runs"]), f"{r['run_seconds']:.2f}",
                         f"{r['runs_per_s']:.2f}", C.fmt_ratio(ratio),
                         "n/a" if load is None else f"{load:.2f}", target])
        print()
        C.print_table(["executor", "runs", "run s", "runs/s", "vs 1 worker", "other CPUs",
                       "target"], rows)
        print(f"\nmetrics.csv identical across executors: {'yes' if same else 'NO'}")
        if args.json:
            C.write_json(args.json, {
                "environment": env, "runs": n_runs,
                "settings": overrides(args.quick, args.epochs),
                "results": {k: {kk: vv for kk, vv in v.items() if kk != "metrics"}
                            for k, v in results.items()},
                "metrics_identical": same})
        return 0 if same else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":  # the guard keeps the worker processes from running it again
    sys.exit(main())
