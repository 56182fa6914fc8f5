#!/usr/bin/env python
"""Online local-rule throughput: brainlearn against NumPy and PyTorch, in one process.

Measures synaptic updates per second (n_pre x n_post x samples / s) of online
learning (batch size 1) with every local rule -- hebb, oja, sanger, bcm,
covariance, competitive, anti_hebbian (lateral), reward_hebbian, ltp (threshold LTP/LTD),
tag_and_capture and the chain hebb + weight_decay -- at 784 -> 100 and 64 -> 100, float32, for

* brainlearn: ``bl.train(net, x, epochs=1, batch_size=1, shuffle=False, quiet=True)``
  on ``input(n_pre) -> population(n_post)`` with the rule (one compiled call per epoch);
* NumPy: a per-sample loop over preallocated buffers (forward ``y = f(W x)``, then
  the rule's update with in-place operations);
* PyTorch: the same loop with tensor operations (``torch.no_grad``, in-place,
  ``torch.set_num_threads`` equal to Numba's thread count); skipped without torch.

All three run on the same samples with the same thread count; every timed call
starts from the same initial weights and rule state. Before timing, each case
checks that the references compute what brainlearn computes: from identical
initial weights, a short run must give the same final weights and rule state.
The script also measures the machine ceiling (float32 matrix multiply, at 4
flops per synaptic update) and reports each brainlearn figure as a fraction of it.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_rules.py            # full run, a few minutes
    PYTHONPATH=. python benchmarks/bench_rules.py --quick    # smoke run
    PYTHONPATH=. python benchmarks/bench_rules.py --only oja --threads 1 --json rules.json
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402  (stdlib only at import: safe before configure_threads)

SEED = 0
N_POST = 100
#: input sizes, with (full, quick) samples per timed call and samples of the check run
SIZES = {784: ((20_000, 2_000), 500), 64: ((50_000, 5_000), 2_000)}
#: settle rounds of the population that carries the lateral anti-Hebbian projection
SETTLE_STEPS = 10
#: flops per synaptic update used for the ceiling (forward MAC + update MAC)
FLOPS_PER_SYNAPSE = 4
#: check tolerance: max |W_ref - W_bl| <= RTOL * max |W_bl - W_0| + ATOL * max(1, max |W_bl|)
CHECK_RTOL = 1e-3
CHECK_ATOL = 1e-6
#: a timed call during which other processes used more CPUs than this counts as noisy
QUIET = 0.2
#: seconds of rest before each timed call (lets spinning BLAS/OpenMP threads of the previous one idle)
PAUSE = 0.25
#: targets of the absolute rules (evaluated at 784 -> 100)
ABS_TARGET = {"rate": 20e9, "numpy": 15.0, "torch": 10.0}
#: every other rule: at least this fraction of oja's brainlearn throughput at the same size
OJA_FRACTION = 1.0 / 3.0


# -- the rules -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # compared and hashed by identity
class RuleCase:
    key: str  # case name and the reference implementations' dispatch key
    params: dict  # hyperparameters (brainlearn rule constructor / references)
    data: str  # "uniform" (in [0, 1]) or "standard" (N(0, 1))
    activation: str = "linear"
    lateral: bool = False  # the rule sits on a population-to-itself projection
    labels: bool = False  # the rule reads a reward: train on (x, labels)
    absolute: bool = False  # held to ABS_TARGET at 784 -> 100 (else to OJA_FRACTION of oja)
    note: str = ""
    init_std: float = 0.01

    def make_rule(self, bl):
        R = bl.rules
        if self.key == "hebb+weight_decay":
            return R.chain(R.Hebb(lr=self.params["lr"]), R.WeightDecay(decay=self.params["decay"]))
        return R.make(self.key, **self.params)


RULES = [
    RuleCase("hebb", {"lr": 1e-5}, "standard", absolute=True,
             note="standardised data and a tiny lr: plain Hebb grows like (1 + lr*lambda_1)^n"),
    RuleCase("oja", {"lr": 1e-4}, "uniform", absolute=True, note="lr*lambda_1 ~ 0.02 on [0, 1] data"),
    RuleCase("sanger", {"lr": 1e-4}, "uniform"),
    RuleCase("bcm", {"lr": 1e-5}, "uniform", absolute=True, note="y0=1, tau_theta=20"),
    RuleCase("covariance", {"lr": 1e-5}, "standard", note="beta=0.01; unstable by design: tiny lr"),
    RuleCase("competitive", {"lr": 0.05}, "uniform", note="winner by distance, no anti-Hebbian unit"),
    RuleCase("anti_hebbian", {"lr": 1e-4}, "standard", activation="tanh", lateral=True,
             note=f"lateral n_post x n_post, on a tanh population fed by a fixed Normal(1/sqrt(n_pre)) "
                  f"projection, {SETTLE_STEPS} settle rounds; only the lateral synapses are counted"),
    RuleCase("reward_hebbian", {"lr": 1e-3}, "uniform", activation="softmax", labels=True,
             note="softmax output, random labels, reward = 1 when argmax is right; "
                  "tau_e=0.5, beta=0.05"),
    RuleCase("ltp", {"lr": 1e-4, "theta_minus": -1.0, "theta_plus": 0.05}, "uniform",
             note="threshold LTP/LTD, soft bounds [0, 1]; activity never falls below theta_minus "
                  "here, so every row depresses or potentiates at every step (the worst case: "
                  "rows below theta_minus are skipped)"),
    RuleCase("tag_and_capture", {"ltp_rate": 0.01, "ltd_rate": 0.005, "theta_ltd": -1.0,
                                 "theta_ltp": 0.0, "ltp_weight": 1e-3, "ltd_weight": 5e-4,
                                 "late_weight": 2e-3}, "uniform",
             note="tag-trigger-consolidation; dt = 1 s per sample, slow dynamics every 60 s; "
                  "activity never falls below theta_ltd here, so every row is tagged at every "
                  "step (about half for LTP, half for LTD), proteins are triggered and the late "
                  "phase moves within the run"),
    RuleCase("hebb+weight_decay", {"lr": 1e-5, "decay": 1e-5}, "standard",
             note="chain(hebb, weight_decay): two deltas, so not fused into W"),
]


def case_name(rc, n_pre):
    return f"{rc.key} {n_pre}->{N_POST}"


# -- data ------------------------------------------------------------------------------------------
_DATA = {}


def load_data(kind, n, n_pre, np):
    """Seeded float32 C-contiguous samples (n, n_pre) and int64 labels in 0..N_POST-1."""
    key = (kind, n, n_pre)
    if key not in _DATA:
        rng = np.random.default_rng([SEED, n_pre, 0 if kind == "uniform" else 1])
        if kind == "uniform":
            x = rng.random((n, n_pre), dtype=np.float32)
        else:
            x = rng.standard_normal((n, n_pre), dtype=np.float32)
        labels = rng.integers(0, N_POST, n).astype(np.int64)
        _DATA[key] = (np.ascontiguousarray(x), labels)
    return _DATA[key]


# -- brainlearn --------------------------------------------------------------------------------------
class BrainlearnCase:
    """The network, its initial weights and state, and a reset-then-train call."""

    def __init__(self, bl, np, rc, n_pre):
        self.bl, self.np, self.rc = bl, np, rc
        net = bl.Network(seed=SEED, dtype="float32")
        inp = net.add_input(n_pre)
        if rc.lateral:
            pop = net.add_population(N_POST, activation=rc.activation, settle_steps=SETTLE_STEPS)
            self.ff = net.connect(inp, pop, rule=None, init=bl.init.Normal(std=1.0 / math.sqrt(n_pre)))
            self.proj = net.connect(pop, pop, rule=rc.make_rule(bl), init="zeros")
        else:
            pop = net.add_population(N_POST, activation=rc.activation)
            self.ff = None
            self.proj = net.connect(inp, pop, rule=rc.make_rule(bl),
                                    init=bl.init.Normal(std=rc.init_std))
        if np.any(pop.bias != 0):
            raise AssertionError("the references assume a zero bias")
        self.net = net
        rule = self.proj.rule
        # every hyperparameter, defaults included (a chain: the case's own)
        self.hp = dict(rc.params) if hasattr(rule, "rules") else rule.get_params()
        self.W0 = self.proj.W.copy()
        self.state0 = {k: v.copy() for k, v in self.state().items()}

    def state(self):
        """Rule state arrays by name (a chain's states flattened)."""
        st = self.proj.state
        parts = st if (isinstance(st, tuple) and not hasattr(st, "_fields")) else (st,)
        out = {}
        for part in parts:
            for k in getattr(part, "_fields", ()):
                out[k] = getattr(part, k)
        return out

    def arrays(self):
        return {"W": self.proj.W, **self.state()}

    def initial(self):
        return {"W": self.W0, **self.state0}

    def reset(self):
        self.proj.W[...] = self.W0
        for k, v in self.state().items():
            v[...] = self.state0[k]

    def train(self, x, labels):
        data = (x, labels) if self.rc.labels else x
        self.bl.train(self.net, data, epochs=1, batch_size=1, shuffle=False, quiet=True)


# -- NumPy reference ---------------------------------------------------------------------------------
class NumpyRule:
    """Per-sample NumPy loop: y = f(W x) (np.dot), then the rule's update, in place.

    Outer products are (n, 1) x (1, m) np.dot products into a preallocated buffer
    (faster here than np.outer or a broadcast multiply); the bias is 0 and no rule
    changes it, so it is left out. Sanger's lower-triangular term uses a cumulative
    sum over rows (O(n_post n_pre), not the O(n_post^2 n_pre) product LT(y y^T) W);
    competitive finds the winner from ||w_i||^2 - 2 w_i.x, reusing y = W x and
    keeping the row norms up to date, and updates only the winner's row.
    """

    def __init__(self, np, rc, hp, init, extra):
        self.np, self.rc = np, rc
        f32 = np.float32
        self.f32 = f32
        self.init = {k: np.array(v, f32, order="C") for k, v in init.items()}
        self.extra = {k: np.array(v, f32, order="C") for k, v in extra.items()}
        self.p = {k: f32(v) for k, v in hp.items()}
        self.dt = f32(1.0)
        self.reset()
        n_post, n_pre = self.W.shape
        self.y = np.empty(n_post, f32)
        self.c = np.empty(n_post, f32)
        self.s = np.empty(n_post, f32)
        self.e = np.empty(n_post, f32)
        self.d = np.empty(n_pre, f32)
        self.G = np.empty((n_post, n_pre), f32)
        self.T = np.empty((n_post, n_pre), f32)
        self.loop = getattr(self, "_" + rc.key.replace("+", "_"))
        if rc.key == "competitive" and (int(hp["rank"]) != 0 or not hp["by_distance"]
                                        or float(hp["conscience"]) != 0.0):
            raise NotImplementedError("the competitive references implement rank=0, by_distance=True")

    def reset(self):
        np = self.np
        self.a = {k: v.copy() for k, v in self.init.items()}
        self.W = self.a["W"]
        if self.rc.key == "competitive":
            self.norms = np.einsum("ij,ij->i", self.W, self.W)

    def arrays(self):
        return self.a

    def run(self, X, labels):
        self.loop(X, labels)

    # each loop keeps everything in locals: attribute look-ups per sample cost
    def _hebb(self, X, L):
        np = self.np
        W, y, c, G = self.W, self.y, self.c, self.G
        lr = self.p["lr"]
        dot, mul, add = np.dot, np.multiply, np.add
        c_col = c[:, None]
        for x, xr in zip(X, X[:, None]):
            dot(W, x, out=y)
            mul(y, lr, out=c)
            dot(c_col, xr, out=G)
            add(W, G, out=W)

    def _hebb_weight_decay(self, X, L):
        # dW = lr y x^T - decay dt W, summed, then added: W *= (1 - decay dt) would be one pass
        # less, but 1 - 1e-5 rounded to float32 is off by 0.6% of the decay
        np = self.np
        W, y, c, G, T = self.W, self.y, self.c, self.G, self.T
        lr = self.p["lr"]
        shrink = -self.p["decay"] * self.dt
        dot, mul, add = np.dot, np.multiply, np.add
        c_col = c[:, None]
        for x, xr in zip(X, X[:, None]):
            dot(W, x, out=y)
            mul(y, lr, out=c)
            dot(c_col, xr, out=G)
            mul(W, shrink, out=T)
            add(G, T, out=G)
            add(W, G, out=W)

    def _oja(self, X, L):
        # dW = lr y x^T - lr y^2 W: scale the rows, then add the outer product
        np = self.np
        W, y, c, s, G = self.W, self.y, self.c, self.s, self.G
        lr, one = self.p["lr"], self.f32(1.0)
        dot, mul, add, sub = np.dot, np.multiply, np.add, np.subtract
        c_col, s_col = c[:, None], s[:, None]
        for x, xr in zip(X, X[:, None]):
            dot(W, x, out=y)
            mul(y, lr, out=c)
            mul(c, y, out=s)
            sub(one, s, out=s)
            mul(W, s_col, out=W)
            dot(c_col, xr, out=G)
            add(W, G, out=W)

    def _sanger(self, X, L):
        # row i: dw_i = lr y_i (x - sum_{k <= i} y_k w_k); the sum is a cumulative sum over rows
        np = self.np
        W, y, c, G, T = self.W, self.y, self.c, self.G, self.T
        lr = self.p["lr"]
        dot, mul, add, sub, cumsum = np.dot, np.multiply, np.add, np.subtract, np.cumsum
        y_col, c_col = y[:, None], c[:, None]
        for x, xr in zip(X, X[:, None]):
            dot(W, x, out=y)
            mul(y_col, W, out=G)
            cumsum(G, axis=0, out=T)
            sub(xr, T, out=T)
            mul(y, lr, out=c)
            mul(T, c_col, out=T)
            add(W, T, out=W)

    def _bcm(self, X, L):
        np = self.np
        W, y, c, s, G = self.W, self.y, self.c, self.s, self.G
        th = self.a["theta"]
        lr, y0 = self.p["lr"], self.p["y0"]
        rate = self.dt / self.p["tau_theta"]
        dot, mul, add, sub, div = np.dot, np.multiply, np.add, np.subtract, np.divide
        c_col = c[:, None]
        for x, xr in zip(X, X[:, None]):
            dot(W, x, out=y)
            sub(y, th, out=c)  # c = lr y (y - theta), with the threshold before its update
            mul(c, y, out=c)
            mul(c, lr, out=c)
            dot(c_col, xr, out=G)
            add(W, G, out=W)
            mul(y, y, out=s)  # theta += dt/tau (y^2 / y0 - theta)
            div(s, y0, out=s)
            sub(s, th, out=s)
            mul(s, rate, out=s)
            add(th, s, out=th)

    def _covariance(self, X, L):
        np = self.np
        W, y, c, e, d, G = self.W, self.y, self.c, self.e, self.d, self.G
        mx, my = self.a["mean_pre"], self.a["mean_post"]
        lr, beta = self.p["lr"], self.p["beta"]
        dot, mul, add, sub = np.dot, np.multiply, np.add, np.subtract
        c_col, d_row = c[:, None], d[None, :]
        for x in X:
            dot(W, x, out=y)
            sub(y, my, out=e)
            mul(e, lr, out=c)
            sub(x, mx, out=d)
            dot(c_col, d_row, out=G)
            add(W, G, out=W)
            mul(d, beta, out=d)  # the means move after the update has read them
            add(mx, d, out=mx)
            mul(e, beta, out=e)
            add(my, e, out=my)

    def _competitive(self, X, L):
        np = self.np
        W, y, s, d, norms = self.W, self.y, self.s, self.d, self.norms
        wins = self.a["wins"]
        lr, m2 = self.p["lr"], self.f32(-2.0)
        beta = self.f32(self.p["conscience_rate"])
        dot, mul, add, sub = np.dot, np.multiply, np.add, np.subtract
        for x in X:
            dot(W, x, out=y)
            mul(y, m2, out=s)  # ||x - w_i||^2 - ||x||^2 = ||w_i||^2 - 2 w_i.x
            add(s, norms, out=s)
            k = s.argmin()
            row = W[k]
            sub(x, row, out=d)
            mul(d, lr, out=d)
            add(row, d, out=row)
            norms[k] = dot(row, row)
            # the win frequencies (read only by the conscience, which is off here) move after
            # the competition: p_i += beta (1[i = k] - p_i)
            wins -= beta * wins
            wins[k] += beta

    def _anti_hebbian(self, X, L):
        np = self.np
        Wl = self.W
        Wff = self.extra["Wff"]
        n = Wl.shape[0]
        zf, z, a, c = self.y, self.s, self.e, self.c
        G = self.G  # (n_post, n_post): W is the lateral matrix
        lr = self.p["lr"]
        shift = self.p["lr"] * self.p.get("p", self.f32(0.0)) ** 2
        diag = Wl.reshape(-1)[::n + 1]
        dot, mul, add, sub, tanh = np.dot, np.multiply, np.add, np.subtract, np.tanh
        c_col, a_row = c[:, None], a[None, :]
        steps = range(SETTLE_STEPS)
        for x in X:
            dot(Wff, x, out=zf)
            tanh(zf, out=a)
            for _ in steps:
                dot(Wl, a, out=z)
                add(z, zf, out=z)
                tanh(z, out=a)
            mul(a, lr, out=c)  # dW = -lr (a a^T - p^2), off the diagonal
            dot(c_col, a_row, out=G)
            sub(Wl, G, out=Wl)
            if shift:
                add(Wl, shift, out=Wl)
            diag[...] = 0.0

    def _reward_hebbian(self, X, L):
        np = self.np
        W, z, a, G = self.W, self.y, self.s, self.G
        E, rbar = self.a["trace"], self.a["baseline"]
        f32 = self.f32
        lr, beta = self.p["lr"], self.p["beta"]
        decay = f32(math.exp(-self.dt / self.p["tau_e"]))
        one, zero = f32(1.0), f32(0.0)
        dot, mul, add, sub, exp = np.dot, np.multiply, np.add, np.subtract, np.exp
        a_col = a[:, None]
        for x, xr, label in zip(X, X[:, None], L.tolist()):
            dot(W, x, out=z)
            sub(z, z.max(), out=a)  # softmax
            exp(a, out=a)
            mul(a, one / a.sum(), out=a)
            r = one if a.argmax() == label else zero
            c = lr * (r - rbar[0])
            mul(E, decay, out=E)  # e = decay e + y x^T; W += lr (R - Rbar) e
            dot(a_col, xr, out=G)
            add(E, G, out=E)
            mul(E, c, out=G)
            add(W, G, out=W)
            rbar[0] += beta * (r - rbar[0])


    def _ltp(self, X, L):
        # x >= 0 here, so a row's change has the sign of g(y_i): dW = |c_i| x_j (bound_i - w_ij)
        # with |c_i| = lr dt (LTP), lr ltd_scale dt (LTD) or 0, bound_i = w_max (LTP) or w_min
        np = self.np
        W, y, c, s, e, G, T = self.W, self.y, self.c, self.s, self.e, self.G, self.T
        p = self.p
        k_ltp, k_ltd = p["lr"] * self.dt, p["lr"] * p["ltd_scale"] * self.dt
        tm, tp, w_min, w_max = p["theta_minus"], p["theta_plus"], p["w_min"], p["w_max"]
        if not p["soft_bounds"]:
            raise NotImplementedError("the ltp references implement soft bounds")
        dot, mul, add, sub, ge = np.dot, np.multiply, np.add, np.subtract, np.greater_equal
        c_col, e_col = c[:, None], e[:, None]
        for x, xr in zip(X, X[:, None]):
            dot(W, x, out=y)
            ge(y, tm, out=s)  # 1.0 at or above theta_minus
            ge(y, tp, out=e)  # 1.0 at or above theta_plus
            mul(s, k_ltd, out=c)
            mul(e, k_ltp - k_ltd, out=s)
            add(c, s, out=c)
            mul(e, w_max - w_min, out=e)
            add(e, w_min, out=e)
            sub(e_col, W, out=T)
            dot(c_col, xr, out=G)
            mul(G, T, out=G)
            add(W, G, out=W)

    def _tag_and_capture(self, X, L):
        # per sample: trace, LTP/LTD rows, induction on the untagged fraction; every
        # consolidation_dt seconds the slow step (see brainlearn.rules.consolidation)
        np = self.np
        W, y, G, T = self.W, self.y, self.G, self.T
        a = self.a
        h, l, tr, clock = a["tag_ltp"], a["tag_ltd"], a["trace"], a["clock"]
        p, f32 = self.p, self.f32
        n_post = W.shape[0]
        keep = f32(math.exp(-1.0 / p["tau_trace"]))
        rate, gain, is_ltp, is_ltd = (np.empty((n_post, 1), f32) for _ in range(4))
        b_ltp, b_ltd = (np.empty(n_post, bool) for _ in range(2))
        one = f32(1.0)
        dot, mul, add, sub, minimum, ge = (np.dot, np.multiply, np.add, np.subtract, np.minimum,
                                           np.greater_equal)
        for x, xr in zip(X, X[:, None]):
            dot(W, x, out=y)
            mul(tr, keep, out=tr)
            add(tr, y, out=tr)
            ge(tr, p["theta_ltp"], out=b_ltp)
            ge(tr, p["theta_ltd"], out=b_ltd)
            b_ltd &= ~b_ltp
            is_ltp[:, 0] = b_ltp
            is_ltd[:, 0] = b_ltd
            rate[:, 0] = is_ltp[:, 0] * p["ltp_rate"] + is_ltd[:, 0] * p["ltd_rate"]
            gain[:, 0] = is_ltp[:, 0] * p["ltp_weight"] - is_ltd[:, 0] * p["ltd_weight"]
            dot(rate, xr, out=G)  # q = min(rate_i x_j, 1) (x >= 0 here)
            minimum(G, one, out=G)
            sub(one, h, out=T)  # t = (1 - h - l) q
            sub(T, l, out=T)
            mul(T, G, out=T)
            mul(T, is_ltp, out=G)
            add(h, G, out=h)
            mul(T, is_ltd, out=G)
            add(l, G, out=l)
            mul(T, gain, out=T)
            add(W, T, out=W)
            clock += one
            if clock[0] >= p["consolidation_dt"]:
                self._tac_slow(float(clock[0]))
                clock[...] = 0

    def _tac_slow(self, T_s):
        # one step of T_s seconds of the slow dynamics, from the values at its start (see
        # brainlearn.rules.consolidation._slow_row): the protein drive from the tagged count,
        # the realised per-synapse tags (h > u for LTP, l > 1 + tag_floor - u for LTD), the
        # bounded capture drive and the bistable late phase (explicit Euler, clipped to
        # [0, 1]), exact decay of the tags, exact protein dynamics
        np, a, p, f32 = self.np, self.a, self.p, self.f32
        W = self.W
        h, l, z, prot, u = a["tag_ltp"], a["tag_ltd"], a["late"], a["protein"], a["tag_threshold"]
        n_pre = W.shape[1]
        c = f32(T_s / p["tau_late"])
        gp = (c * f32(p["capture"]) * prot)[:, None].astype(f32)  # the protein before it moves
        tagged = h.sum(axis=1) + l.sum(axis=1)
        drive = np.where(tagged >= p["protein_threshold"] * n_pre, p["protein_synthesis"], 0.0)
        s_ = drive / p["tau_protein_rise"]
        rate = s_ + 1.0 / p["tau_protein_decay"]
        p_inf = s_ / rate
        prot[...] = np.where(s_ > 0, p_inf + (prot - p_inf) * np.exp(-T_s * rate),
                             prot * math.exp(-T_s / p["tau_protein_decay"]))
        ltp = h > u
        ltd = ~ltp & (l > f32(1.0 + p["tag_floor"]) - u)
        one = f32(1.0)
        d = c * (z * (one - z) * (z - f32(p["late_threshold"])))
        d += np.where(ltp, gp * (one - z), np.where(ltd, -gp * z, f32(0.0)))
        zn = z + d
        zn[zn < 1e-20] = 0.0
        zn[zn > one] = one
        hn = h * f32(math.exp(-T_s / p["tau_tag_ltp"]))
        ln = l * f32(math.exp(-T_s / p["tau_tag_ltd"]))
        W += (f32(p["ltp_weight"]) * (hn - h) - f32(p["ltd_weight"]) * (ln - l)
              + f32(p["late_weight"]) * (zn - z))
        h[...], l[...], z[...] = hn, ln, zn


# -- PyTorch reference -------------------------------------------------------------------------------
class TorchRule:
    """Per-sample PyTorch loop under ``torch.no_grad``: ``torch.mv`` forward, in-place updates
    (``addr_`` for outer products, ``out=`` buffers), the same algorithms as :class:`NumpyRule`."""

    def __init__(self, torch, np, rc, hp, init, extra):
        self.torch, self.np, self.rc = torch, np, rc
        self.init = {k: torch.from_numpy(np.array(v, np.float32, order="C")) for k, v in init.items()}
        self.extra = {k: torch.from_numpy(np.array(v, np.float32, order="C")) for k, v in extra.items()}
        self.p = {k: float(np.float32(v)) for k, v in hp.items()}
        self.reset()
        n_post, n_pre = self.W.shape
        e = torch.empty
        self.y, self.c, self.s, self.e = (e(n_post) for _ in range(4))
        self.d = e(n_pre)
        self.G, self.T = e(n_post, n_pre), e(n_post, n_pre)
        self.loop = getattr(self, "_" + rc.key.replace("+", "_"))

    def reset(self):
        self.a = {k: v.clone() for k, v in self.init.items()}
        self.W = self.a["W"]
        if self.rc.key == "competitive":
            self.norms = (self.W * self.W).sum(dim=1)

    def arrays(self):
        return {k: v.numpy() for k, v in self.a.items()}

    def run(self, X, labels):
        with self.torch.no_grad():
            self.loop(X, labels)

    def _hebb(self, X, L):
        torch, W, y = self.torch, self.W, self.y
        lr = self.p["lr"]
        mv = torch.mv
        for x in X.unbind(0):
            mv(W, x, out=y)
            W.addr_(y, x, alpha=lr)

    def _hebb_weight_decay(self, X, L):
        torch, W, y, T = self.torch, self.W, self.y, self.T
        lr, shrink = self.p["lr"], -self.p["decay"]
        mv, mul = torch.mv, torch.mul
        for x in X.unbind(0):
            mv(W, x, out=y)
            mul(W, shrink, out=T)  # dW = -decay W + lr y x^T (see NumpyRule)
            T.addr_(y, x, alpha=lr)
            W.add_(T)

    def _oja(self, X, L):
        torch, W, y, s = self.torch, self.W, self.y, self.s
        lr = self.p["lr"]
        mv, mul = torch.mv, torch.mul
        s_col = s.unsqueeze(1)
        for x in X.unbind(0):
            mv(W, x, out=y)
            mul(y, y, out=s)
            s.mul_(-lr).add_(1.0)
            W.mul_(s_col)
            W.addr_(y, x, alpha=lr)

    def _sanger(self, X, L):
        torch, W, y, c, G, T = self.torch, self.W, self.y, self.c, self.G, self.T
        lr = self.p["lr"]
        mv, mul, sub, cumsum = torch.mv, torch.mul, torch.sub, torch.cumsum
        y_col, c_col = y.unsqueeze(1), c.unsqueeze(1)
        for x in X.unbind(0):
            mv(W, x, out=y)
            mul(y_col, W, out=G)
            cumsum(G, 0, out=T)
            sub(x, T, out=T)
            mul(y, lr, out=c)
            T.mul_(c_col)
            W.add_(T)

    def _bcm(self, X, L):
        torch, W, y, c, s = self.torch, self.W, self.y, self.c, self.s
        th = self.a["theta"]
        lr, y0, rate = self.p["lr"], self.p["y0"], 1.0 / self.p["tau_theta"]
        mv, sub, mul = torch.mv, torch.sub, torch.mul
        for x in X.unbind(0):
            mv(W, x, out=y)
            sub(y, th, out=c)
            c.mul_(y)
            W.addr_(c, x, alpha=lr)
            mul(y, y, out=s)
            s.div_(y0).sub_(th).mul_(rate)
            th.add_(s)

    def _covariance(self, X, L):
        torch, W, y, e, d = self.torch, self.W, self.y, self.e, self.d
        mx, my = self.a["mean_pre"], self.a["mean_post"]
        lr, beta = self.p["lr"], self.p["beta"]
        mv, sub = torch.mv, torch.sub
        for x in X.unbind(0):
            mv(W, x, out=y)
            sub(y, my, out=e)
            sub(x, mx, out=d)
            W.addr_(e, d, alpha=lr)
            mx.add_(d, alpha=beta)
            my.add_(e, alpha=beta)

    def _competitive(self, X, L):
        torch, W, y, s, d, norms = self.torch, self.W, self.y, self.s, self.d, self.norms
        wins, beta = self.a["wins"], self.p["conscience_rate"]
        lr = self.p["lr"]
        mv, add, sub, argmin, dot = torch.mv, torch.add, torch.sub, torch.argmin, torch.dot
        for x in X.unbind(0):
            mv(W, x, out=y)
            add(norms, y, alpha=-2.0, out=s)
            k = int(argmin(s))
            row = W[k]
            sub(x, row, out=d)
            row.add_(d, alpha=lr)
            norms[k] = dot(row, row)
            wins.sub_(wins * beta)  # the win frequencies, as in the NumPy reference
            wins[k] += beta

    def _anti_hebbian(self, X, L):
        torch, Wl = self.torch, self.W
        Wff = self.extra["Wff"]
        zf, z, a = self.y, self.s, self.e
        lr = self.p["lr"]
        shift = self.p["lr"] * self.p.get("p", 0.0) ** 2
        diag = Wl.diagonal()
        mv, tanh = torch.mv, torch.tanh
        steps = range(SETTLE_STEPS)
        for x in X.unbind(0):
            mv(Wff, x, out=zf)
            tanh(zf, out=a)
            for _ in steps:
                mv(Wl, a, out=z)
                z.add_(zf)
                tanh(z, out=a)
            Wl.addr_(a, a, alpha=-lr)
            if shift:
                Wl.add_(shift)
            diag.zero_()

    def _reward_hebbian(self, X, L):
        torch, W, z, a = self.torch, self.W, self.y, self.s
        E, rbar_t = self.a["trace"], self.a["baseline"]
        lr, beta = self.p["lr"], self.p["beta"]
        decay = math.exp(-1.0 / self.p["tau_e"])
        rbar = float(rbar_t[0])
        mv, sub, argmax = torch.mv, torch.sub, torch.argmax
        for x, label in zip(X.unbind(0), L.tolist()):
            mv(W, x, out=z)
            sub(z, z.max(), out=a)
            a.exp_()
            a.div_(a.sum())
            r = 1.0 if int(argmax(a)) == label else 0.0
            c = lr * (r - rbar)
            E.mul_(decay)
            E.addr_(a, x)
            W.add_(E, alpha=c)
            rbar += beta * (r - rbar)
        rbar_t[0] = rbar


    def _ltp(self, X, L):
        torch, W, y, c, s, e, G, T = (self.torch, self.W, self.y, self.c, self.s, self.e, self.G,
                                      self.T)
        p = self.p
        k_ltp, k_ltd = p["lr"], p["lr"] * p["ltd_scale"]  # dt = 1
        tm, tp, w_min, w_max = p["theta_minus"], p["theta_plus"], p["w_min"], p["w_max"]
        if not p["soft_bounds"]:
            raise NotImplementedError("the ltp references implement soft bounds")
        mv, ge, outer, sub = torch.mv, torch.ge, torch.outer, torch.sub
        m1, m2 = torch.empty(y.shape, dtype=torch.bool), torch.empty(y.shape, dtype=torch.bool)
        e_col = e.unsqueeze(1)
        for x in X.unbind(0):  # the algorithm of NumpyRule._ltp
            mv(W, x, out=y)
            ge(y, tm, out=m1)
            ge(y, tp, out=m2)
            c.copy_(m1).mul_(k_ltd)
            s.copy_(m2)
            c.add_(s, alpha=k_ltp - k_ltd)
            e.copy_(s).mul_(w_max - w_min).add_(w_min)
            sub(e_col, W, out=T)
            outer(c, x, out=G)
            T.mul_(G)
            W.add_(T)


    def _tag_and_capture(self, X, L):
        # the algorithm of NumpyRule._tag_and_capture, with tensors
        torch, W, y, G, T = self.torch, self.W, self.y, self.G, self.T
        a, p = self.a, self.p
        h, l, tr, clock = a["tag_ltp"], a["tag_ltd"], a["trace"], a["clock"]
        keep = math.exp(-1.0 / p["tau_trace"])
        n_post = W.shape[0]
        e = torch.empty
        rate, gain, is_ltp, is_ltd = (e(n_post, 1) for _ in range(4))
        b_ltp, b_ltd = (e(n_post, dtype=torch.bool) for _ in range(2))
        mv, ge, outer = torch.mv, torch.ge, torch.outer
        for x in X.unbind(0):
            mv(W, x, out=y)
            tr.mul_(keep).add_(y)
            ge(tr, p["theta_ltp"], out=b_ltp)
            ge(tr, p["theta_ltd"], out=b_ltd)
            b_ltd.logical_and_(b_ltp.logical_not())
            is_ltp[:, 0].copy_(b_ltp)
            is_ltd[:, 0].copy_(b_ltd)
            torch.mul(is_ltp, p["ltp_rate"], out=rate)
            rate.add_(is_ltd, alpha=p["ltd_rate"])
            torch.mul(is_ltp, p["ltp_weight"], out=gain)
            gain.add_(is_ltd, alpha=-p["ltd_weight"])
            outer(rate[:, 0], x, out=G)
            G.clamp_(max=1.0)
            torch.neg(h, out=T)
            T.add_(1.0).sub_(l).mul_(G)
            torch.mul(T, is_ltp, out=G)
            h.add_(G)
            torch.mul(T, is_ltd, out=G)
            l.add_(G)
            W.add_(T.mul_(gain))
            clock.add_(1.0)
            if float(clock[0]) >= p["consolidation_dt"]:
                self._tac_slow(float(clock[0]))
                clock.zero_()

    def _tac_slow(self, T_s):
        # the algorithm of NumpyRule._tac_slow, with tensors
        torch, a, p = self.torch, self.a, self.p
        W = self.W
        h, l, z, prot, u = a["tag_ltp"], a["tag_ltd"], a["late"], a["protein"], a["tag_threshold"]
        c = T_s / p["tau_late"]
        gp = (prot * (c * p["capture"])).unsqueeze(1)
        tagged = h.sum(dim=1) + l.sum(dim=1)
        on = tagged >= p["protein_threshold"] * W.shape[1]
        s_ = p["protein_synthesis"] / p["tau_protein_rise"]
        if s_ > 0:
            rate = s_ + 1.0 / p["tau_protein_decay"]
            p_inf = s_ / rate
            grown = p_inf + (prot - p_inf) * math.exp(-T_s * rate)
        else:
            grown = prot * math.exp(-T_s / p["tau_protein_decay"])
        prot.copy_(torch.where(on, grown, prot * math.exp(-T_s / p["tau_protein_decay"])))
        ltp = h > u
        ltd = ~ltp & (l > (1.0 + p["tag_floor"]) - u)
        d = c * (z * (1.0 - z) * (z - p["late_threshold"]))
        d = d + torch.where(ltp, gp * (1.0 - z), torch.where(ltd, -gp * z, torch.zeros_like(z)))
        zn = z + d
        zn[zn < 1e-20] = 0.0
        zn.clamp_(max=1.0)
        hn = h * math.exp(-T_s / p["tau_tag_ltp"])
        ln = l * math.exp(-T_s / p["tau_tag_ltd"])
        W.add_(p["ltp_weight"] * (hn - h) - p["ltd_weight"] * (ln - l) + p["late_weight"] * (zn - z))
        h.copy_(hn)
        l.copy_(ln)
        z.copy_(zn)


# -- one case ------------------------------------------------------------------------------------------
def _compare(name, bl_arrays, bl_initial, ref_arrays):
    """Compare W and the state arrays of a reference with brainlearn's after the same run.

    Each array must satisfy max|ref - bl| <= CHECK_RTOL * max|bl - initial| + CHECK_ATOL *
    max(1, max|bl|). Reports W, or the first array that fails.
    """
    import numpy as np
    rows = []
    for k, v in bl_arrays.items():
        b = np.asarray(v, np.float64)
        r = np.asarray(ref_arrays[k], np.float64)
        if not b.size:
            continue
        diff = float(np.max(np.abs(r - b)))
        change = float(np.max(np.abs(b - np.asarray(bl_initial[k], np.float64))))
        scale = max(1.0, float(np.max(np.abs(b))))
        ok = bool(np.all(np.isfinite(r)) and diff <= CHECK_RTOL * change + CHECK_ATOL * scale)
        rows.append({"array": k, "max_abs_diff": diff, "max_change": change, "ok": ok})
    bad = [row for row in rows if not row["ok"]]
    shown = bad[0] if bad else rows[0]
    return {"ref": name, "ok": not bad, **{k: shown[k] for k in ("array", "max_abs_diff", "max_change")},
            "arrays": rows}


def run_case(rc, n_pre, args, np, bl, torch, repeats, min_time, max_wait):
    (n_full, n_quick), n_verify = SIZES[n_pre]
    n = n_quick if args.quick else n_full
    x, labels = load_data(rc.data, n, n_pre, np)
    n_verify = min(n_verify, n)
    n_syn = (N_POST * N_POST) if rc.lateral else (n_pre * N_POST)
    res = {"case": case_name(rc, n_pre), "rule": rc.key, "n_pre": n_pre, "n_post": N_POST,
           "synapses": n_syn, "samples": n, "data": rc.data, "activation": rc.activation,
           "params": None, "verify_samples": n_verify, "checks": [], "diverged": None,
           "syn_per_s": {"brainlearn": None, "numpy": None, "torch": None}, "timing": {}}

    # check run from brainlearn's initial weights, which is also every implementation's warm-up
    blc = BrainlearnCase(bl, np, rc, n_pre)
    res["params"] = blc.hp
    init = {k: v.copy() for k, v in blc.initial().items()}
    extra = {"Wff": blc.ff.W.copy()} if blc.ff is not None else {}
    try:
        blc.train(x[:n_verify], labels[:n_verify])
        bl_after = {k: v.copy() for k, v in blc.arrays().items()}
        blc.reset()
        blc.train(x, labels)  # a full-length run: divergence shows here, not in the timing
    except bl.DivergenceError as exc:
        res["diverged"] = str(exc)
        return res
    refs = {"numpy": NumpyRule(np, rc, blc.hp, init, extra)}
    xs = {"numpy": x}
    if torch is not None:
        refs["torch"] = TorchRule(torch, np, rc, blc.hp, init, extra)
        xs["torch"] = torch.from_numpy(x)
    for name, ref in refs.items():
        ref.run(xs[name][:n_verify], labels[:n_verify])
        res["checks"].append(_compare(name, bl_after, init, ref.arrays()))

    # timing, in turns; every call starts from the initial weights and state
    def timed(obj, xx):
        def call():
            obj.reset()
            (obj.train if obj is blc else obj.run)(xx, labels)
        return call

    fns = {"brainlearn": timed(blc, x)}
    for name, ref in refs.items():
        fns[name] = timed(ref, xs[name])
    C.settle(max_wait)
    monitor = C.CpuMonitor()
    try:
        timing = C.best_of_interleaved(fns, repeats, min_time, quiet_threshold=QUIET,
                                       extra_time=max_wait / 2, pause=PAUSE)
    except bl.DivergenceError as exc:  # deterministic runs: should have shown above
        res["diverged"] = str(exc)
        return res
    res["foreign_cpus"] = monitor.foreign_cpus()
    res["timing"] = timing
    for k, st in timing.items():
        res["syn_per_s"][k] = n_syn * n / st["seconds"]
    res["ref_finite"] = {k: bool(all(np.all(np.isfinite(v)) for v in ref.arrays().values()))
                         for k, ref in refs.items()}
    return res


# -- targets -----------------------------------------------------------------------------------------
def evaluate_targets(results):
    """Fill in ratio, target and status of every result (needs oja's result at each size)."""
    oja = {r["n_pre"]: r["syn_per_s"]["brainlearn"] for r in results if r["rule"] == "oja"}
    for r in results:
        rates = r["syn_per_s"]
        bl_rate = rates["brainlearn"]
        r["ratio"] = {ref: (bl_rate / rates[ref] if bl_rate and rates[ref] else None)
                      for ref in ("numpy", "torch")}
        rc = next(rc for rc in RULES if rc.key == r["rule"])
        met = {}
        if rc.absolute and r["n_pre"] == 784:
            r["target"] = dict(ABS_TARGET)
            met["rate"] = bl_rate >= ABS_TARGET["rate"] if bl_rate else None
            for ref in ("numpy", "torch"):
                met[ref] = r["ratio"][ref] >= ABS_TARGET[ref] if r["ratio"][ref] else None
        elif not rc.absolute:
            r["target"] = {"oja_fraction": OJA_FRACTION}
            ref = oja.get(r["n_pre"])
            r["ratio"]["oja"] = bl_rate / ref if bl_rate and ref else None
            met["oja"] = r["ratio"]["oja"] >= OJA_FRACTION if r["ratio"]["oja"] else None
        else:
            r["target"] = {}
        r["met"] = met


def _target_text(target):
    if not target:
        return "-"
    if "oja_fraction" in target:
        return f">= 1/{1 / target['oja_fraction']:g} of oja"
    return (f">= {target['rate'] / 1e9:g} G/s, >= {target['numpy']:g}x NumPy, "
            f">= {target['torch']:g}x torch")


def _status(r):
    if r["diverged"]:
        return "diverged"
    vals = list(r["met"].values())
    if not vals:
        return "-"
    status = "NOT MET" if any(v is False for v in vals) else ("met*" if any(v is None for v in vals)
                                                             else "met")
    if "oja" in r["ratio"] and r["ratio"]["oja"] is not None:
        status += f" ({r['ratio']['oja']:.2f}x oja)"
    return status


# -- main ----------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    C.add_common_args(p)
    p.add_argument("--only", default=None, metavar="TEXT",
                   help='run only the cases whose name ("RULE NPRE->100") contains TEXT (e.g. "oja", '
                        '"784", "bcm 64"); oja at the same size is added when a target needs it')
    return p.parse_args(argv)


def select_cases(only):
    cases = [(rc, n_pre) for n_pre in SIZES for rc in RULES]
    if only is None:
        return cases
    chosen = [(rc, n) for rc, n in cases if only in case_name(rc, n)]
    if not chosen:
        raise SystemExit(f"--only {only!r} matches no case; cases: "
                         + ", ".join(case_name(rc, n) for rc, n in cases))
    oja = next(rc for rc in RULES if rc.key == "oja")
    for n in dict.fromkeys(n for rc, n in chosen if not rc.absolute):
        if (oja, n) not in chosen:
            chosen.insert(0, (oja, n))
    return chosen


def main(argv=None):
    args = parse_args(argv)
    np, bl, torch, why, threads, repeats, min_time, max_wait = C.start(args)
    cases = select_cases(args.only)

    env = C.environment(threads, torch)
    print("online local-rule throughput (synaptic updates per second = n_pre x n_post x samples / s, "
          "float32, batch 1)")
    for line in C.describe_environment(env, threads, why):
        print(line)
    print(f"mode: {'quick' if args.quick else 'full'}; best of >= {repeats} repeat(s)"
          + (f", repeated until >= {min_time:g} s in total" if min_time else "")
          + f"; implementations timed in turns, {PAUSE:g} s rest before each call; every call "
            "starts from the same weights and rule state")
    print("rules (population of 100 units, linear unless stated; weights Normal(0.01); data: "
          "'uniform' in [0, 1], 'standard' N(0, 1)):")
    for rc in dict.fromkeys(rc for rc, _ in cases):
        params = ", ".join(f"{k}={v:g}" for k, v in rc.params.items())
        act = "" if rc.activation == "linear" else f", {rc.activation}"
        print(f"  {rc.key:<18} {params}; {rc.data} data{act}" + (f"; {rc.note}" if rc.note else ""))

    C.settle(max_wait)
    ceil = C.machine_ceiling(repeats=3 if args.quick else 10, quiet_threshold=QUIET,
                             extra_time=max_wait / 2)
    ceiling = ceil["gflops"] * 1e9 / FLOPS_PER_SYNAPSE
    print(f"machine ceiling: np.dot 1024x1024 float32 = {ceil['gflops']:,.1f} GFLOP/s ({threads} "
          f"threads, best of {ceil['calls']}) / {FLOPS_PER_SYNAPSE} flops per synaptic update "
          f"(forward MAC + update MAC) = {ceiling / 1e9:.2f} G syn/s"
          + ("" if ceil["quiet"] else " -- measured while other processes used the CPUs: "
             "unreliable, and the % ceiling column with it"))
    print()

    results = []
    for rc, n_pre in cases:
        print(f"running {case_name(rc, n_pre)} ...", flush=True)
        res = run_case(rc, n_pre, args, np, bl, torch, repeats, min_time, max_wait)
        if res["diverged"]:
            print(f"  diverged: {res['diverged']}")
        for c in res["checks"]:
            line = (f"  check vs {c['ref']:<5}: {res['verify_samples']:,} samples from identical "
                    f"initial weights: max |{c['array']}_ref - {c['array']}_bl| {c['max_abs_diff']:.1e} "
                    f"(max change {c['max_change']:.1e})")
            print(line + ("  ok" if c["ok"] else
                          f"  WARNING: {c['ref']} reference disagrees with brainlearn (tolerance "
                          f"{CHECK_RTOL:g} x max change + {CHECK_ATOL:g} x max(1, max |W|))"))
        for k, fin in res.get("ref_finite", {}).items():
            if not fin:
                print(f"  WARNING: the {k} reference's weights are not finite after the timed run")
        if res["timing"]:
            calls = ", ".join(f"{k} {st['calls']}" for k, st in res["timing"].items())
            print(f"  timed calls: {calls}; other processes' load during the case "
                  f"{res.get('foreign_cpus') or 0:.2f} CPUs")
            noisy = [k for k, st in res["timing"].items() if not st["quiet"]]
            if noisy:
                print(f"  note: no quiet call for {', '.join(noisy)}: other processes were using "
                      "the CPUs; those figures are noisy and likely low")
        rate = res["syn_per_s"]["brainlearn"]
        res["fraction_of_ceiling"] = rate / ceiling if rate else None
        results.append(res)
    evaluate_targets(results)

    print()
    headers = ["rule", "size", "brainlearn G syn/s", "NumPy G syn/s", "torch G syn/s", "vs NumPy",
               "vs torch", "% ceiling", "target", "status"]
    rows, any_noisy = [], False
    for r in results:
        rates, rat, tim = r["syn_per_s"], r["ratio"], r["timing"]
        noisy = {k: k in tim and not tim[k]["quiet"] for k in ("brainlearn", "numpy", "torch")}
        any_noisy = any_noisy or any(noisy.values())

        def mark(text, *keys):
            return text + ("?" if any(noisy[k] for k in keys) else "")

        status = _status(r)
        if r["met"] and any(noisy.values()):
            status += " (noisy)"
        size = f"{r['n_pre']}->{r['n_post']}" + (" (lat)" if r["rule"] == "anti_hebbian" else "")
        frac = r["fraction_of_ceiling"]
        rows.append([r["rule"], size,
                     mark(C.fmt_giga(rates["brainlearn"]), "brainlearn"),
                     mark(C.fmt_giga(rates["numpy"]), "numpy"),
                     mark(C.fmt_giga(rates["torch"]), "torch"),
                     mark(C.fmt_ratio(rat.get("numpy")), "brainlearn", "numpy") if not r["diverged"]
                     else "n/a",
                     mark(C.fmt_ratio(rat.get("torch")), "brainlearn", "torch") if not r["diverged"]
                     else "n/a",
                     f"{100 * frac:.1f}%" if frac is not None else "n/a",
                     _target_text(r["target"]) if not r["diverged"] else "-", status])
    C.print_table(headers, rows, align="llrrrrrrll")
    print()
    print(f"% ceiling: brainlearn synaptic updates/s x {FLOPS_PER_SYNAPSE} flops as a fraction of "
          f"np.dot's float32 rate on {threads} thread(s) (batch 1 is matrix-vector work and cannot "
          "reach it). anti_hebbian (lat): n_post x n_post lateral synapses counted; the fixed "
          f"{N_POST}-unit feed-forward projection and the {SETTLE_STEPS} settle rounds are extra work.")
    print(f"targets: hebb, oja, bcm at 784->100 >= {ABS_TARGET['rate'] / 1e9:g} G syn/s, "
          f">= {ABS_TARGET['numpy']:g}x NumPy and >= {ABS_TARGET['torch']:g}x torch; every other rule "
          "within 3x of oja's brainlearn throughput at the same size; '-': no target")
    if torch is None:
        print("met*: a torch target could not be checked (torch not installed)")
    if any_noisy:
        print("?: no call of that implementation ran while the machine was quiet (other processes "
              "used the CPUs); the figure is unreliable, rerun on an idle machine")
    bad = [f"{r['case']} vs {c['ref']}" for r in results for c in r["checks"] if not c["ok"]]
    if bad:
        print("WARNING: reference check failed for " + "; ".join(bad))
    div = [r["case"] for r in results if r["diverged"]]
    if div:
        print("diverged (brainlearn raised DivergenceError; not timed): " + ", ".join(div))

    if args.json:
        C.write_json(args.json, {
            "benchmark": "rules", "mode": "quick" if args.quick else "full", "repeats": repeats,
            "environment": env, "ceiling_gflops": ceil["gflops"], "ceiling_quiet": ceil["quiet"],
            "ceiling_syn_per_s": ceiling, "flops_per_synapse": FLOPS_PER_SYNAPSE,
            "results": results})
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
