#!/usr/bin/env python
"""Backprop training throughput: brainlearn against NumPy and PyTorch, in one process.

Measures samples per second of plain SGD (forward + backward + update; tanh
hidden layer, softmax output, cross-entropy) for

* 64-64-10 on the bundled digits data, batch 1 and batch 32;
* 784-256-10 on seeded synthetic data (784 features in [0, 1], 10 classes),
  batch 1 and batch 64;

for brainlearn (``bl.train``, one compiled call per epoch), a NumPy
implementation (per-sample loop with preallocated buffers at batch 1,
minibatch matrix products otherwise) and PyTorch (``nn.Sequential`` +
``F.cross_entropy`` + ``torch.optim.SGD``; skipped when torch is not
installed). All three run in float32 on the same samples with the same thread
count; each figure is the best of several repeats. Before timing, each case
checks that the references compute the same thing: from brainlearn's initial
weights, one epoch of each must give the same mean loss and final weights.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_backprop.py            # full run, a few minutes
    PYTHONPATH=. python benchmarks/bench_backprop.py --quick    # smoke run, under ~30 s
    PYTHONPATH=. python benchmarks/bench_backprop.py --threads 1 --json backprop.json
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402  (stdlib only at import: safe before configure_threads)

LR = 0.01
SEED = 0
#: verification tolerances: relative difference of the epoch's mean loss, and max |W - W_ref|
LOSS_RTOL = 1e-3
W_ATOL = 1e-3
#: a timed call during which other processes used more CPUs than this counts as noisy
QUIET = 0.2
#: seconds of rest before each timed call (lets spinning BLAS/OpenMP threads of the previous one idle)
PAUSE = 0.25


# -- the cases -----------------------------------------------------------------------------------
# target: minimum ratio brainlearn / reference, per reference
CASES = [
    # name, sizes, data, batch, samples (full, quick), verify samples, target
    ("64-64-10 digits", (64, 64, 10), "digits", 1, (20_205, 4_041), 1_347,
     {"torch": 20.0, "numpy": 3.0}),
    ("64-64-10 digits", (64, 64, 10), "digits", 32, (202_050, 40_410), 1_347,
     {"torch": 1.0, "numpy": 1.0}),
    ("784-256-10 synthetic", (784, 256, 10), "synthetic", 1, (24_000, 2_000), 2_000,
     {"torch": 2.0}),
    ("784-256-10 synthetic", (784, 256, 10), "synthetic", 64, (120_000, 12_000), 2_048,
     {"torch": 1.0, "numpy": 1.0}),
]


def flops_per_sample(sizes) -> int:
    """2*(forward MACs) + 2*(backward MACs down to the first hidden layer) + 2*(update MACs).

    For n0-n1-n2: forward n0*n1 + n1*n2, backward n1*n2 (no error is sent to the
    input), update n0*n1 + n1*n2, so 4*n0*n1 + 6*n1*n2. Activations, softmax,
    loss and biases are O(n) and not counted.
    """
    total = 0
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        total += 2 * a * b * (2 + (k > 0))
    return total


# -- data ------------------------------------------------------------------------------------------
def load_data(kind, n, n_in, n_out, np, bl):
    """float32 C-contiguous x in [0, 1] of shape (n, n_in) and int64 labels (n,)."""
    if kind == "digits":
        d = bl.datasets.load("digits")
        x0 = np.ascontiguousarray(d.x_train, dtype=np.float32)
        y0 = np.asarray(d.y_train, dtype=np.int64)
        reps = -(-n // len(x0))
        x = np.ascontiguousarray(np.tile(x0, (reps, 1))[:n])
        y = np.ascontiguousarray(np.tile(y0, reps)[:n])
        return x, y
    rng = np.random.default_rng(SEED)
    x = rng.random((n, n_in), dtype=np.float32)
    # labels from a fixed random linear map, so the task is learnable
    proj = rng.standard_normal((n_in, n_out)).astype(np.float32)
    y = np.empty(n, np.int64)
    for s in range(0, n, 8192):
        xs = x[s:s + 8192]
        y[s:s + 8192] = np.argmax((xs - 0.5) @ proj, axis=1)
    return x, y


# -- NumPy reference -------------------------------------------------------------------------------
class NumpyMLP:
    """Two-layer tanh/softmax MLP trained by plain SGD on cross-entropy, in NumPy (float32).

    Batch 1 is a per-sample loop over preallocated buffers (np.dot, outer
    products as (n, 1) x (1, m) np.dot into a buffer -- faster than np.outer or a
    broadcast multiply here -- and in-place updates); larger batches use
    minibatch matrix products and the mean gradient of the batch.
    """

    def __init__(self, np, W1, b1, W2, b2, lr):
        self.np = np
        f32 = np.float32
        self.W1, self.b1 = np.array(W1, f32, order="C"), np.array(b1, f32)
        self.W2, self.b2 = np.array(W2, f32, order="C"), np.array(b2, f32)
        self.lr = lr
        n1, n0 = self.W1.shape
        n2 = self.W2.shape[0]
        self.G1 = np.empty((n1, n0), f32)
        self.G2 = np.empty((n2, n1), f32)
        self._bufs = {}

    def epoch(self, X, Y, batch_size, track_loss=False):
        """One pass over (X, Y) in order; returns the mean loss (None unless ``track_loss``)."""
        if batch_size == 1:
            return self._online(X, Y, track_loss)
        return self._minibatch(X, Y, batch_size, track_loss)

    def _online(self, X, Y, track):
        np = self.np
        W1, b1, W2, b2, G1, G2 = self.W1, self.b1, self.W2, self.b2, self.G1, self.G2
        n2, n1 = W2.shape
        h = np.empty(n1, np.float32)
        o = np.empty(n2, np.float32)
        e = np.empty(n1, np.float32)
        t = np.empty(n1, np.float32)
        o_col, e_col, h_row = o[:, None], e[:, None], h[None, :]  # views of the buffers
        nlr = np.float32(-self.lr)
        dot, mul, sub, tanh, exp = np.dot, np.multiply, np.subtract, np.tanh, np.exp
        ys = Y.tolist()
        loss = 0.0
        for k in range(X.shape[0]):
            x = X[k]
            yk = ys[k]
            dot(W1, x, out=h)  # forward
            h += b1
            tanh(h, out=h)
            dot(W2, h, out=o)
            o += b2
            o -= o.max()
            if track:
                zy = float(o[yk])
            exp(o, out=o)
            s = o.sum()
            if track:
                loss += math.log(s) - zy
            o /= s  # softmax
            o[yk] -= 1.0  # dL/dz of the output
            dot(o, W2, out=e)  # backward: W2.T @ delta, at the pre-update W2
            mul(h, h, out=t)
            sub(1.0, t, out=t)
            e *= t
            o *= nlr  # update: W -= lr * delta x^T, b -= lr * delta
            e *= nlr
            dot(o_col, h_row, out=G2)  # outer products as k=1 matrix products (BLAS)
            W2 += G2
            b2 += o
            dot(e_col, x[None, :], out=G1)
            W1 += G1
            b1 += e
        return loss / X.shape[0] if track else None

    def _minibatch(self, X, Y, B, track):
        np = self.np
        W1, b1, W2, b2, G1, G2 = self.W1, self.b1, self.W2, self.b2, self.G1, self.G2
        n2, n1 = W2.shape
        if B not in self._bufs:
            self._bufs[B] = tuple(np.empty((B, k), np.float32) for k in (n1, n2, n1, n1))
        Hb, Ob, Eb, Tb = self._bufs[B]
        rows = np.arange(B)
        dot, mul, sub, tanh, exp = np.dot, np.multiply, np.subtract, np.tanh, np.exp
        n = X.shape[0]
        loss = 0.0
        for s in range(0, n, B):
            m = min(B, n - s)
            xb, yb = X[s:s + m], Y[s:s + m]
            if m == B:
                H, O, E, T, r = Hb, Ob, Eb, Tb, rows
            else:
                H, O, E, T, r = Hb[:m], Ob[:m], Eb[:m], Tb[:m], rows[:m]
            dot(xb, W1.T, out=H)  # forward
            H += b1
            tanh(H, out=H)
            dot(H, W2.T, out=O)
            O += b2
            O -= O.max(axis=1, keepdims=True)
            if track:
                zy = O[r, yb].astype(np.float64)
            exp(O, out=O)
            ssum = O.sum(axis=1, keepdims=True)
            if track:
                loss += float(np.log(ssum[:, 0].astype(np.float64)).sum() - zy.sum())
            O /= ssum
            O[r, yb] -= 1.0
            O *= np.float32(-self.lr / m)  # mean gradient of the batch, times -lr
            dot(O, W2, out=E)  # backward at the pre-update W2
            mul(H, H, out=T)
            sub(1.0, T, out=T)
            E *= T
            dot(O.T, H, out=G2)  # update
            W2 += G2
            b2 += O.sum(axis=0)
            dot(E.T, xb, out=G1)
            W1 += G1
            b1 += E.sum(axis=0)
        return loss / n if track else None

    def params(self):
        return self.W1, self.b1, self.W2, self.b2


# -- PyTorch reference -------------------------------------------------------------------------------
class TorchMLP:
    """nn.Sequential(Linear, Tanh, Linear) + F.cross_entropy + torch.optim.SGD (float32)."""

    def __init__(self, torch, W1, b1, W2, b2, lr):
        self.torch = torch
        nn = torch.nn
        n1, n0 = W1.shape
        n2 = W2.shape[0]
        self.model = nn.Sequential(nn.Linear(n0, n1), nn.Tanh(), nn.Linear(n1, n2))
        with torch.no_grad():
            for p, v in zip(self.model.parameters(), (W1, b1, W2, b2)):
                p.copy_(torch.from_numpy(v))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr)

    def epoch(self, X, Y, batch_size, track_loss=False):
        """One pass over tensors (X, Y) in order; returns the mean loss (None unless ``track_loss``)."""
        torch = self.torch
        F = torch.nn.functional
        model, opt = self.model, self.opt
        total = torch.zeros((), dtype=torch.float64)
        for xb, yb in zip(X.split(batch_size), Y.split(batch_size)):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            if track_loss:
                with torch.no_grad():
                    total += loss.detach().double() * xb.shape[0]
        return float(total) / X.shape[0] if track_loss else None

    def params(self):
        return tuple(p.detach().numpy() for p in self.model.parameters())


# -- one case ------------------------------------------------------------------------------------------
def _net_params(net):
    return (net.projections[0].W, net.populations[1].bias,
            net.projections[1].W, net.populations[2].bias)


def _compare(name, loss_bl, params_bl, loss_ref, params_ref):
    rel = abs(loss_ref - loss_bl) / max(abs(loss_bl), 1e-12)
    dw = max(float(abs(a.astype("float64") - b.astype("float64")).max())
             for a, b in zip(params_bl, params_ref))
    ok = bool(rel <= LOSS_RTOL and dw <= W_ATOL and math.isfinite(loss_ref))
    return {"ref": name, "loss": float(loss_ref), "loss_rel_diff": float(rel), "max_abs_dW": dw,
            "ok": ok}


def _settle(max_wait):
    if max_wait <= 0:
        return
    waited, quiet = C.wait_for_quiet(max_wait)
    if waited > 2 or not quiet:
        print(f"  waited {waited:.0f} s for other processes to leave the CPUs"
              + ("" if quiet else " (gave up: measuring anyway)"), flush=True)


def run_case(case, args, np, bl, torch, repeats, min_time, max_wait):
    name, sizes, kind, B, (n_full, n_quick), n_verify, target = case
    n = n_quick if args.quick else n_full
    x, y = load_data(kind, n, sizes[0], sizes[-1], np, bl)
    n_verify = min(n_verify, n)
    xv, yv = x[:n_verify], y[:n_verify]
    train_kw = dict(epochs=1, batch_size=B, loss="cross_entropy", shuffle=False, quiet=True)

    def make_net():
        return bl.mlp(list(sizes), rule="backprop", hidden="tanh", output="softmax", lr=LR,
                      seed=SEED, dtype="float32")

    # verification, which is also the warm-up (compilation) of every implementation
    net = make_net()
    init = [p.copy() for p in _net_params(net)]
    hist = bl.train(net, (xv, yv), **train_kw)
    loss_bl = float(hist["loss"][-1])
    checks = []
    ref_np = NumpyMLP(np, *init, LR)
    checks.append(_compare("numpy", loss_bl, _net_params(net),
                           ref_np.epoch(xv, yv, B, track_loss=True), ref_np.params()))
    if torch is not None:
        ref_t = TorchMLP(torch, *init, LR)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        checks.append(_compare("torch", loss_bl, _net_params(net),
                               ref_t.epoch(xt[:n_verify], yt[:n_verify], B, track_loss=True),
                               ref_t.params()))

    # timing, in turns: each implementation keeps training from where its check left it
    fns = {"brainlearn": lambda: bl.train(net, (x, y), **train_kw),
           "numpy": lambda: ref_np.epoch(x, y, B)}
    if torch is not None:
        fns["torch"] = lambda: ref_t.epoch(xt, yt, B)
    _settle(max_wait)
    monitor = C.CpuMonitor()
    timing = C.best_of_interleaved(fns, repeats, min_time, quiet_threshold=QUIET,
                                   extra_time=max_wait / 2, pause=PAUSE)
    foreign = monitor.foreign_cpus()

    rates = {k: (n / timing[k]["seconds"] if k in timing else None)
             for k in ("brainlearn", "numpy", "torch")}
    ratios = {ref: (rates["brainlearn"] / rates[ref] if rates[ref] else None)
              for ref in ("numpy", "torch")}
    met = {ref: (ratios[ref] >= need if ratios[ref] is not None else None)
           for ref, need in target.items()}
    return {"case": name, "sizes": list(sizes), "data": kind, "batch": B, "samples": n,
            "samples_per_s": rates, "ratio": ratios, "target": target, "met": met,
            "flops_per_sample": flops_per_sample(sizes), "verify_samples": n_verify,
            "verify_loss": loss_bl, "checks": checks, "timing": timing, "foreign_cpus": foreign}


def _target_text(target):
    names = {"torch": "PyTorch", "numpy": "NumPy"}
    return ", ".join(f">={v:g}x {names[k]}" for k, v in target.items())


def _status(met):
    vals = list(met.values())
    if any(v is False for v in vals):
        return "NOT MET"
    if any(v is None for v in vals):
        return "met*"
    return "met"


# -- main ----------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    C.add_common_args(p)
    p.add_argument("--only", default=None, metavar="TEXT",
                   help='run only the cases whose "name bBATCH" contains TEXT (e.g. "784", "b1")')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    np, bl, torch, why, threads, repeats, min_time, max_wait = C.start(args)

    env = C.environment(threads, torch)
    print("backprop training throughput (samples/s, float32, plain SGD, tanh hidden, "
          "softmax + cross-entropy)")
    commit = f" ({env['brainlearn_commit']})" if env.get("brainlearn_commit") else ""
    print(f"brainlearn {env.get('brainlearn', '?')}{commit}, numpy {env['numpy']}, numba {env['numba']}, "
          f"torch {env['torch'] or 'not installed'}; python {env['python']}")
    print(f"cpu: {env['cpu']} ({env['cpus']} cpus); threads: {threads} (Numba, BLAS, torch)")
    blas = "; ".join(f"{k}: {v}" for k, v in env["blas"].items()) or "unknown"
    print(f"BLAS: {blas}")
    if env["openblas_env"]:
        print("OpenBLAS environment: " + ", ".join(f"{k}={v}" for k, v in env["openblas_env"].items()))
    if torch is None:
        print(f"torch not available ({why}); the torch column shows n/a")
    print(f"mode: {'quick' if args.quick else 'full'}; best of >= {repeats} repeat(s)"
          + (f", repeated until >= {min_time:g} s in total" if min_time else "")
          + f"; implementations timed in turns, {PAUSE:g} s rest before each call")

    _settle(max_wait)
    ceil = C.machine_ceiling(repeats=3 if args.quick else 10, quiet_threshold=QUIET,
                             extra_time=max_wait / 2)
    ceiling = ceil["gflops"]
    print(f"machine ceiling: np.dot 1024x1024 float32 = {ceiling:,.1f} GFLOP/s ({threads} threads, "
          f"best of {ceil['calls']})" + ("" if ceil["quiet"] else
                                         " -- measured while other processes used the CPUs: "
                                         "unreliable, and the % peak column with it"))
    print("flops per sample (n0-n1-n2) = 2*fwd MACs (n0*n1 + n1*n2) + 2*backward MACs to the hidden "
          "layer (n1*n2) + 2*update MACs (n0*n1 + n1*n2) = 4*n0*n1 + 6*n1*n2")
    print()

    results = []
    cases = [c for c in CASES if args.only is None or args.only in f"{c[0]} b{c[3]}"]
    if not cases:
        raise SystemExit(f"--only {args.only!r} matches no case")
    for case in cases:
        print(f"running {case[0]} batch {case[3]} ...", flush=True)
        res = run_case(case, args, np, bl, torch, repeats, min_time, max_wait)
        res["fraction_of_ceiling"] = (res["samples_per_s"]["brainlearn"] * res["flops_per_sample"]
                                      / (ceiling * 1e9))
        for c in res["checks"]:
            line = (f"  check vs {c['ref']:<5}: one epoch of {res['verify_samples']:,} samples from "
                    f"brainlearn's initial weights: loss {c['loss']:.6f} vs brainlearn "
                    f"{res['verify_loss']:.6f} (rel diff {c['loss_rel_diff']:.1e}), "
                    f"max |dW| {c['max_abs_dW']:.1e}")
            print(line + ("  ok" if c["ok"] else
                          f"  WARNING: {c['ref']} reference disagrees with brainlearn "
                          f"(tolerance rel {LOSS_RTOL:g}, |dW| {W_ATOL:g})"))
        noisy = [k for k, st in res["timing"].items() if not st["quiet"]]
        calls = ", ".join(f"{k} {st['calls']}" for k, st in res["timing"].items())
        print(f"  timed calls: {calls}; other processes' load during the case "
              f"{res['foreign_cpus'] or 0:.2f} CPUs")
        if noisy:
            print(f"  note: no quiet call for {', '.join(noisy)}: other processes were using the "
                  "CPUs; those figures are noisy and likely low")
        results.append(res)

    print()
    headers = ["case", "batch", "samples", "brainlearn/s", "NumPy/s", "torch/s", "vs NumPy",
               "vs torch", "% peak", "target", "status"]
    rows = []
    any_noisy = False
    for r in results:
        sps, rat, tim = r["samples_per_s"], r["ratio"], r["timing"]
        noisy = {k: k in tim and not tim[k]["quiet"] for k in ("brainlearn", "numpy", "torch")}
        any_noisy = any_noisy or any(noisy.values())

        def mark(text, *keys):
            return text + ("?" if any(noisy[k] for k in keys) else "")

        status = _status(r["met"])
        if any(noisy["brainlearn"] or noisy[k] for k in r["target"]):
            status += " (noisy)"
        rows.append([r["case"], str(r["batch"]), f"{r['samples']:,}",
                     mark(C.fmt_rate(sps["brainlearn"]), "brainlearn"),
                     mark(C.fmt_rate(sps["numpy"]), "numpy"), mark(C.fmt_rate(sps["torch"]), "torch"),
                     mark(C.fmt_ratio(rat["numpy"]), "brainlearn", "numpy"),
                     mark(C.fmt_ratio(rat["torch"]), "brainlearn", "torch"),
                     f"{100 * r['fraction_of_ceiling']:.1f}%", _target_text(r["target"]), status])
    C.print_table(headers, rows, align="lrrrrrrrrll")
    print()
    print("% peak: brainlearn flops/s (flops per sample x samples/s) as a fraction of the machine "
          f"ceiling (np.dot on {threads} thread(s); batch 1 is matrix-vector work) -- flops per sample: "
          + ", ".join(f"{'-'.join(map(str, s))}: {flops_per_sample(s):,}"
                      for s in dict.fromkeys(tuple(c[1]) for c in cases)))
    if torch is None:
        print("met*: the torch target could not be checked (torch not installed)")
    if any_noisy:
        print("?: no call of that implementation ran while the machine was quiet (other processes "
              "used the CPUs); the figure is unreliable, rerun on an idle machine")
    bad = [f"{r['case']} b{r['batch']} vs {c['ref']}" for r in results for c in r["checks"] if not c["ok"]]
    if bad:
        print("WARNING: reference check failed for " + "; ".join(bad))

    if args.json:
        C.write_json(args.json, {
            "benchmark": "backprop", "mode": "quick" if args.quick else "full",
            "repeats": repeats, "environment": env, "ceiling_gflops": ceiling,
            "ceiling_quiet": ceil["quiet"],
            "flops_formula": "4*n0*n1 + 6*n1*n2", "results": results})
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
