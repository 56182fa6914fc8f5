#!/usr/bin/env python
"""Associative memory: storing and recalling patterns, against NumPy in the same run.

For N = 1000 and 4000 +-1 units (float32) and seeded random patterns:

* **store**: ``bl.memory.store`` of P = 0.1 N patterns with ``hopfield_hebb`` online (the
  rule's compiled kernel, pattern by pattern, into a network built beforehand whose
  weights are reset to 0; NumPy allocates a zero matrix) against a NumPy loop
  ``W += outer(x, x) / N`` (the diagonal zeroed at the end); ``one_shot=True`` (one matrix
  product through the rule's batch kernel) against NumPy ``X.T @ X / N``; and ``storkey``
  online (fewer patterns) against a NumPy loop of the vectorised Storkey update
  (``h = W x``; ``H_ij = h_i - w_ii x_i - w_ij x_j``; ``W += (x x^T - x H^T - H x^T) / N``).
  Throughput: patterns stored per second.
* **async recall**: ``bl.memory.recall(mode="async")`` from cues with 10% flipped bits
  (Hebbian weights at load 0.1, scaled by N so that they are integers and every field is
  exact in float32 on both sides) against two NumPy references that visit the units in the
  same orders (the update orders are computed beforehand and not timed for NumPy):
  ``numpy per-unit``, the textbook loop ``h_i = W[i] @ s`` for every unit of every
  sweep; and ``numpy incremental``, which keeps the fields and adds a column of W per
  flip (the most vectorised an asynchronous loop gets in NumPy). Throughput: unit updates
  per second (sweeps x N per cue). Target: >= 10x the per-unit NumPy loop.
* **sync recall**: ``mode="sync"`` against NumPy ``S = sign(S @ W.T)`` (ties keep their
  state) for the cues still changing; both are one matrix product per step.

Before timing, every pair is run once and must agree: the weights to float32 rounding,
the recalled states exactly. brainlearn's asynchronous recall runs its cues on the
engine's threads (--threads); the NumPy loops run in one Python thread (BLAS may thread
inside a product).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_memory.py            # full run
    PYTHONPATH=. python benchmarks/bench_memory.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

SIZES = (1000, 4000)
LOAD = 0.1
NOISE = 0.1
QUIET = 0.2
TARGET_ASYNC = 10.0


# -- NumPy references --------------------------------------------------------------------------------
def np_store_hebb(np, X):
    N = X.shape[1]
    W = np.zeros((N, N), X.dtype)
    inv = X.dtype.type(1.0 / N)
    for x in X:
        W += np.outer(x, x * inv)
    np.fill_diagonal(W, 0)
    return W


def np_store_hebb_one_shot(np, X):
    W = (X.T @ X) * X.dtype.type(1.0 / X.shape[1])
    np.fill_diagonal(W, 0)
    return W


def np_store_storkey(np, X):
    N = X.shape[1]
    W = np.zeros((N, N), X.dtype)
    c = X.dtype.type(1.0 / N)
    for x in X:
        h = W @ x
        H = (h - np.diagonal(W) * x)[:, None] - W * x[None, :]  # H[i, j] = h_ij
        dW = np.outer(x, x) - x[:, None] * H.T - H * x[None, :]
        np.fill_diagonal(dW, 0)
        W += c * dW
    return W


def orders(np, key, n_cues, sweeps, n):
    """The update order of sweep t of cue c, as brainlearn draws it (brainlearn's own
    compiled Fisher-Yates; tests/naive.py holds its NumPy twin). Not timed."""
    from brainlearn._random import stream
    from brainlearn.engine.hopfield import sweep_order
    out = {}
    for c in range(n_cues):
        for t in range(sweeps[c]):
            perm = np.empty(n, np.int64)
            sweep_order(stream(key, t, c), perm)
            out[c, t] = perm
    return out


def np_async_per_unit(np, W, cues, order, steps):
    S = cues.copy()
    for c in range(S.shape[0]):
        s = S[c]
        for t in range(steps):
            flips = 0
            for i in order[c, t]:
                h = W[i] @ s
                new = 1.0 if h > 0 else (-1.0 if h < 0 else s[i])
                if new != s[i]:
                    s[i] = new
                    flips += 1
            if flips == 0:
                break
    return S


def np_async_incremental(np, W, cues, order, steps):
    S = cues.copy()
    WT = np.ascontiguousarray(W.T)
    for c in range(S.shape[0]):
        s = S[c]
        h = W @ s
        for t in range(steps):
            flips = 0
            for i in order[c, t].tolist():
                hi = h[i]
                new = 1.0 if hi > 0 else (-1.0 if hi < 0 else s[i])
                if new != s[i]:
                    h += (new - s[i]) * WT[i]
                    s[i] = new
                    flips += 1
            if flips == 0:
                break
    return S


def np_sync(np, W, cues, steps):
    S = cues.copy()
    prev = S.copy()
    active = np.ones(S.shape[0], bool)
    for _ in range(steps):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        Z = S[rows] @ W.T
        new = np.where(Z > 0, 1.0, np.where(Z < 0, -1.0, S[rows])).astype(S.dtype)
        still = np.any(new != S[rows], axis=1) & np.any(new != prev[rows], axis=1)
        prev[rows] = S[rows]
        S[rows] = new
        active[rows] = still
    return S


# -- the run -----------------------------------------------------------------------------------------
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    C.add_common_args(p)
    p.add_argument("--only", default=None, metavar="TEXT",
                   help="run only the cases whose 'KIND N' contains TEXT (e.g. 'async 4000')")
    args = p.parse_args(argv)
    np, bl, _, _, threads, repeats, min_time, max_wait = C.start(args)
    M = bl.memory
    env = C.environment(threads, None)
    print(f"associative memory: store and recall, +-1 units, float32, load {LOAD:g} (Hebb), "
          f"cues with {NOISE:.0%} flipped bits")
    for line in C.describe_environment(env, threads, "not used by this benchmark"):
        print(line)
    print()
    rows, checks = [], []

    def run_case(kind, n, unit, work, impls, check):
        label = f"{kind} {n}"
        if args.only and args.only not in label:
            return
        check()
        C.settle(max_wait)
        timing = C.best_of_interleaved(impls, repeats, min_time, quiet_threshold=QUIET,
                                       extra_time=max_wait / 2)
        t_bl = timing["brainlearn"]["seconds"]
        noisy = not all(st["quiet"] for st in timing.values())
        for name, st in timing.items():
            if name == "brainlearn":
                continue
            ratio = st["seconds"] / t_bl
            target = ""
            if kind == "async recall" and name == "numpy per-unit":
                target = "met" if ratio >= TARGET_ASYNC else "NOT MET"
            rows.append([label, name, C.fmt_rate(work / t_bl) + ("?" if noisy else ""),
                         C.fmt_rate(work / st["seconds"]), C.fmt_ratio(ratio), unit, target])

    for n in SIZES:
        P = int(LOAD * n)
        X = M.random_patterns(P, n, seed=1, dtype="float32")
        n_cues = (8 if n > 2000 else 20) if args.quick else (20 if n > 2000 else 50)
        cues = M.flip_bits(X[:n_cues], NOISE, seed=2)

        # -- store ------------------------------------------------------------------------------
        nets = {r: M.hopfield_network(n, rule=r, seed=0, dtype="float32")
                for r in ("hopfield_hebb", "storkey")}

        def bl_store(one_shot=False, rule="hopfield_hebb", X=X, nets=nets):
            q = M.recurrent(nets[rule])  # built once; each call starts from empty synapses
            q.W[...] = 0
            q.reset_state()
            M.store(q, X, one_shot=one_shot)
            return q.W

        def check_store(a, b, what):
            def check():
                diff = float(np.max(np.abs(a() - b())))
                scale = float(np.max(np.abs(b())))
                ok = diff <= 1e-4 * max(scale, 1.0)
                checks.append((what, ok))
                print(f"{what}: max |W_bl - W_numpy| = {diff:.1e} (scale {scale:.2g})"
                      + ("  ok" if ok else "  WARNING: they disagree"), flush=True)
            return check

        run_case("store hebb", n, "patterns/s", P,
                 {"brainlearn": bl_store, "numpy loop": lambda X=X: np_store_hebb(np, X)},
                 check_store(bl_store, lambda X=X: np_store_hebb(np, X), f"store hebb {n}"))
        run_case("store hebb one-shot", n, "patterns/s", P,
                 {"brainlearn": lambda: bl_store(True),
                  "numpy X.T @ X": lambda X=X: np_store_hebb_one_shot(np, X)},
                 check_store(lambda: bl_store(True), lambda X=X: np_store_hebb_one_shot(np, X),
                             f"store hebb one-shot {n}"))
        Ps = 10 if args.quick else (25 if n > 2000 else 100)
        Xs = X[:Ps]
        run_case("store storkey", n, "patterns/s", Ps,
                 {"brainlearn": lambda Xs=Xs: bl_store(rule="storkey", X=Xs),
                  "numpy loop": lambda Xs=Xs: np_store_storkey(np, Xs)},
                 check_store(lambda Xs=Xs: bl_store(rule="storkey", X=Xs),
                             lambda Xs=Xs: np_store_storkey(np, Xs), f"store storkey {n}"))

        # -- recall -----------------------------------------------------------------------------
        # lr = n: integer weights sum_mu xi_i xi_j (the same dynamics as 1/n), so every field
        # is computed exactly in float32 by both sides, and ties (field 0) agree
        net = M.hopfield_network(n, seed=0, dtype="float32", lr=float(n))
        M.store(net, X)
        W = M.recurrent(net).W
        ref = M.recall(net, cues, seed=3)
        sweeps = ref.steps
        order = orders(np, 3, n_cues, sweeps, n)
        updates = int(sweeps.sum()) * n

        def check_async(n=n, ref=ref, W=W, cues=cues, order=order):
            for name, fn in (("per-unit", np_async_per_unit), ("incremental", np_async_incremental)):
                S = fn(np, W, cues, order, 100)
                ok = bool(np.array_equal(S, ref.states))
                checks.append((f"async {name} {n}", ok))
                print(f"async recall {n}, numpy {name}: states " + ("equal  ok" if ok else
                      "DIFFER: WARNING"), flush=True)

        run_case("async recall", n, "unit updates/s", updates,
                 {"brainlearn": lambda net=net, cues=cues: M.recall(net, cues, seed=3),
                  "numpy per-unit": lambda W=W, cues=cues, order=order:
                      np_async_per_unit(np, W, cues, order, 100),
                  "numpy incremental": lambda W=W, cues=cues, order=order:
                      np_async_incremental(np, W, cues, order, 100)},
                 check_async)

        sync = M.recall(net, cues, mode="sync")
        sync_updates = int(sync.steps.sum()) * n

        def check_sync(n=n, sync=sync, W=W, cues=cues):
            ok = bool(np.array_equal(np_sync(np, W, cues, 100), sync.states))
            checks.append((f"sync {n}", ok))
            print(f"sync recall {n}: states " + ("equal  ok" if ok else "DIFFER: WARNING"),
                  flush=True)

        run_case("sync recall", n, "unit updates/s", sync_updates,
                 {"brainlearn": lambda net=net, cues=cues: M.recall(net, cues, mode="sync"),
                  "numpy": lambda W=W, cues=cues: np_sync(np, W, cues, 100)},
                 check_sync)

    print()
    C.print_table(["case", "reference", "brainlearn", "reference rate", "vs reference", "unit",
                   f"target >= {TARGET_ASYNC:g}x"], rows, align="llrrrll")
    print()
    print("?: other processes used the CPUs during every call of some implementation")
    bad = [w for w, ok in checks if not ok]
    if bad:
        print("WARNING: checks failed: " + ", ".join(bad))
    if args.json:
        C.write_json(args.json, {"environment": env, "rows": rows, "checks": checks})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
