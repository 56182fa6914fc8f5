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
  exact in float32 on both sides) against three NumPy references that visit the units in
  the same orders (the update orders are computed beforehand and not timed for NumPy):
  ``numpy per-unit``, the textbook loop ``h_i = W[i] @ s`` for every unit of every
  sweep; ``numpy incremental``, brainlearn's algorithm: the initial fields of all cues by
  one matrix product (as brainlearn computes them), then a Python loop over the units that
  adds a column of W to the fields per flip; and ``numpy skip-ahead``, the same with the
  units between two flips checked 256 at a time by array operations (the fields are
  exact until the next flip), the fastest NumPy version we know. Throughput: unit updates
  per second (sweeps x N per cue). Target (tracker issue 6): >= 10x the fastest NumPy
  version. The workload is the memory study's: the study recalls min(P, max_cues = 100)
  cues per load, so 100 cues at both N (load 0.1), each a stored pattern with 10% of its
  bits flipped. brainlearn's cost is a matrix product for the initial fields (as NumPy's),
  a symmetry check of W (read once), and one row of W per flip per cue; at N = 4000 the
  64 MB float32 W does not fit the caches, so the flips are bound by the memory bandwidth,
  which the run measures and prints (see the line after the table).
* **sync recall**: ``mode="sync"`` against NumPy ``S = sign(S @ W.T)`` (ties keep their
  state) for the cues still changing; both are one matrix product per step.

Before timing, every pair is run once and must agree: the weights to float32 rounding,
the recalled states exactly. brainlearn's asynchronous recall runs its cues on the
engine's threads (--threads); the NumPy loops run in one Python thread (BLAS may thread
inside a product).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_memory.py            # full run
    PYTHONPATH=. python benchmarks/bench_memory.py --quick    # smoke run
    PYTHONPATH=. python benchmarks/bench_memory.py --only "async 4000" --cues 20
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
N_CUES = 100  # the memory study's max_cues (it recalls min(P, 100) stored patterns per load)
SKIP_CHUNK = 256  # units checked together by the skip-ahead NumPy reference
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
    draws = np.empty(n, np.uint32)
    for c in range(n_cues):
        for t in range(sweeps[c]):
            perm = np.empty(n, np.int64)
            sweep_order(stream(key, t, c), perm, draws)
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
    H = S @ W.T  # the initial fields of all cues by one product, as brainlearn
    tmp = np.empty(S.shape[1], S.dtype)
    for c in range(S.shape[0]):
        s, h = S[c], H[c]
        for t in range(steps):
            flips = 0
            for i in order[c, t].tolist():
                hi = h[i]
                new = 1.0 if hi > 0 else (-1.0 if hi < 0 else s[i])
                if new != s[i]:
                    np.multiply(WT[i], new - s[i], out=tmp)
                    h += tmp
                    s[i] = new
                    flips += 1
            if flips == 0:
                break
    return S


def np_async_skip(np, W, cues, order, steps, chunk=SKIP_CHUNK):
    """The incremental algorithm, with the units up to the next flip found by array
    operations: the fields are exact until a flip, so the next ``chunk`` units of the order
    are checked at once and the loop jumps to the first that changes (ties keep their
    state). Returns the states and the number of flips."""
    S = cues.copy()
    WT = np.ascontiguousarray(W.T)
    H = S @ W.T
    tmp = np.empty(S.shape[1], S.dtype)
    total = 0
    for c in range(S.shape[0]):
        s, h = S[c], H[c]
        for t in range(steps):
            o = order[c, t]
            n, k, flips = o.size, 0, 0
            while k < n:
                idx = o[k:k + chunk]
                hv, sv = h[idx], s[idx]
                change = ((hv > 0) & (sv < 0)) | ((hv < 0) & (sv > 0))
                j = int(change.argmax())
                if not change[j]:
                    k += idx.size
                    continue
                i = int(idx[j])
                np.multiply(WT[i], -2 * s[i], out=tmp)
                h += tmp
                s[i] = -s[i]
                flips += 1
                k += j + 1
            total += flips
            if flips == 0:
                break
    return S, total


def read_bandwidth(np, threads, mbytes=256):
    """Memory read bandwidth (bytes/s): best of 5 sums of a ``mbytes`` float32 array (far
    larger than the caches), by a compiled loop on 1 and on ``threads`` threads."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import numba

    @numba.njit(nogil=True, fastmath=True)
    def part(a, lo, hi):
        acc = np.float32(0)
        for k in range(hi - lo):
            acc += a[np.uint64(lo + k)]
        return acc

    a = np.ones(mbytes * 2 ** 18, np.float32)
    part(a, 0, 16)
    out = {}
    with ThreadPoolExecutor(threads) as pool:
        for k in sorted({1, threads}):
            cuts = [a.size * q // k for q in range(k + 1)]
            best = float("inf")
            for _ in range(5):
                t0 = time.perf_counter()
                list(pool.map(part, [a] * k, cuts[:-1], cuts[1:]))
                best = min(best, time.perf_counter() - t0)
            out[k] = a.nbytes / best
    return out


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
    p.add_argument("--cues", type=int, default=None, metavar="K",
                   help=f"cues recalled per size (default {N_CUES}; 20 and 8 with --quick)")
    args = p.parse_args(argv)
    np, bl, _, _, threads, repeats, min_time, max_wait = C.start(args)
    M = bl.memory
    env = C.environment(threads, None)
    print(f"associative memory: store and recall, +-1 units, float32, load {LOAD:g} (Hebb), "
          f"cues with {NOISE:.0%} flipped bits")
    for line in C.describe_environment(env, threads, "not used by this benchmark"):
        print(line)
    print()
    rows, checks, notes = [], [], []

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
            if kind == "async recall" and name == "numpy skip-ahead":  # the fastest NumPy
                target = "met" if ratio >= TARGET_ASYNC else "NOT MET"
            rows.append([label, name, C.fmt_rate(work / t_bl) + ("?" if noisy else ""),
                         C.fmt_rate(work / st["seconds"]), C.fmt_ratio(ratio), unit, target])
        return t_bl

    for n in SIZES:
        P = int(LOAD * n)
        X = M.random_patterns(P, n, seed=1, dtype="float32")
        n_cues = args.cues or ((8 if n > 2000 else 20) if args.quick else N_CUES)
        if n_cues > P:
            raise SystemExit(f"--cues {n_cues}: at most the {P} stored patterns at N = {n}")
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

        flips = {}

        def check_async(n=n, ref=ref, W=W, cues=cues, order=order, flips=flips):
            for name, fn in (("per-unit", np_async_per_unit), ("incremental", np_async_incremental),
                             ("skip-ahead", np_async_skip)):
                S = fn(np, W, cues, order, 100)
                if name == "skip-ahead":
                    S, flips[n] = S
                ok = bool(np.array_equal(S, ref.states))
                checks.append((f"async {name} {n}", ok))
                print(f"async recall {n}, numpy {name}: states " + ("equal  ok" if ok else
                      "DIFFER: WARNING"), flush=True)

        t_async = run_case(
            "async recall", n, "unit updates/s", updates,
            {"brainlearn": lambda net=net, cues=cues: M.recall(net, cues, seed=3),
             "numpy per-unit": lambda W=W, cues=cues, order=order:
                 np_async_per_unit(np, W, cues, order, 100),
             "numpy incremental": lambda W=W, cues=cues, order=order:
                 np_async_incremental(np, W, cues, order, 100),
             "numpy skip-ahead": lambda W=W, cues=cues, order=order:
                 np_async_skip(np, W, cues, order, 100)},
            check_async)
        if t_async is not None:
            # what brainlearn reads from memory: W for the fields and for the symmetry check,
            # then one row of W per flip of every cue
            rows_mb = flips[n] * n * W.itemsize / 1e6
            notes.append(f"async recall {n}: {n_cues} cues, {int(sweeps.sum())} sweeps, "
                         f"{flips[n]} flips; brainlearn reads {rows_mb:.0f} MB of rows of W (one "
                         f"per flip) + 2 x {W.nbytes / 1e6:.0f} MB (fields, symmetry check) in "
                         f"{t_async * 1e3:.1f} ms: {(rows_mb + 2 * W.nbytes / 1e6) / t_async / 1e3:.1f}"
                         " GB/s")

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
    for line in notes:
        print(line)
    if notes:
        bw = read_bandwidth(np, threads)
        print("memory read bandwidth of this machine (a 256 MB array): "
              + ", ".join(f"{bw[k] / 1e9:.1f} GB/s on {k} thread{'s' if k > 1 else ''}"
                          for k in sorted(bw)))
        env["read_bandwidth"] = bw
    print("?: other processes used the CPUs during every call of some implementation")
    bad = [w for w, ok in checks if not ok]
    if bad:
        print("WARNING: checks failed: " + ", ".join(bad))
    if args.json:
        C.write_json(args.json, {"environment": env, "rows": rows, "checks": checks,
                                 "notes": notes})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
