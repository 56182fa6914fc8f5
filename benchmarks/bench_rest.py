#!/usr/bin/env python
"""Rest throughput: one simulated hour of tag-and-capture dynamics without input.

``bl.rest(net, 3600, dt=DT)`` on a 1000 -> 100 projection (10^5 synapses, float32) with
the ``tag_and_capture`` rule: tag decay, protein synthesis and the bistable late phase,
advanced by the rule's compiled rest kernel (one call for the whole hour). The reference
is a NumPy loop of the same dynamics, one vectorised step over all synapses per ``dt``
(preallocated buffers, in-place operations), started from the same state.

Two cases:

* ``consolidating``: every neuron has tags and proteins, and late phases are on their
  way between the wells -- every synapse's late phase is integrated at every step;
* ``quiet``: tags decaying with no protein and every late phase in a well -- the kernel
  only decays the tags (in closed form) and leaves the late phase, as the dynamics do.

The wall time of the simulated hour is the figure of merit (target: well under a
second); the NumPy loop gives the ratio. Before timing, both are run from the same
state and must agree (float32 precision).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_rest.py            # full run
    PYTHONPATH=. python benchmarks/bench_rest.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

N_PRE, N_POST = 1000, 100
HOUR = 3600.0
#: rest step (s), as bl.rest's default
DT = 1.0
QUIET = 0.2
TARGET_S = 1.0


def make_case(bl, np, kind):
    """A network whose projection holds the state of the case, and that state's copy."""
    net = bl.Network(seed=0, dtype="float32")
    x = net.add_input(N_PRE)
    y = net.add_population(N_POST, activation="linear")
    q = net.connect(x, y, rule=bl.rules.TagAndCapture(), init=bl.init.Normal(std=0.1))
    rng = np.random.default_rng(1)
    st = q.state
    shape = (N_POST, N_PRE)
    st.tag_ltp[...] = rng.random(shape) * 0.8
    st.tag_ltd[...] = rng.random(shape) * (1.0 - st.tag_ltp) * 0.3
    if kind == "consolidating":
        st.late[...] = rng.random(shape) * 0.6
        st.protein[...] = 0.8
    else:
        st.tag_ltp[...] *= 0.3  # below the protein threshold
        st.tag_ltd[...] = 0.0
        st.late[...] = rng.random(shape) < 0.3
        st.protein[...] = 0.0
    early_late = (q.rule.ltp_weight * st.tag_ltp - q.rule.ltd_weight * st.tag_ltd
                  + q.rule.late_weight * st.late)
    q.W[...] = st.baseline + early_late
    init = {"W": q.W.copy(), **{f: getattr(st, f).copy() for f in st._fields}}
    return net, q, init


class NumpyRest:
    """The rest dynamics in NumPy: per step, from the values at its start, the protein
    trigger (fraction of tagged synapses), explicit Euler for the late phase, exact decay of
    the tags and exact protein dynamics (see brainlearn.rules.consolidation)."""

    def __init__(self, np, rule, init):
        self.np, self.rule, self.init = np, rule, init
        f32 = np.float32
        self.G = np.empty((N_POST, N_PRE), f32)
        self.T = np.empty((N_POST, N_PRE), f32)
        self.c = f32(DT / rule.tau_late)
        self.kappa = f32(rule.late_threshold)
        self.eh = f32(math.exp(-DT / rule.tau_tag_ltp))
        self.el = f32(math.exp(-DT / rule.tau_tag_ltd))
        self.need = f32(rule.protein_threshold * N_PRE)
        p_inf = rule.tau_protein_decay / (rule.tau_protein_rise + rule.tau_protein_decay)
        self.p_inf = f32(p_inf)
        self.rise = f32(math.exp(-DT * (1 / rule.tau_protein_rise + 1 / rule.tau_protein_decay)))
        self.fall = f32(math.exp(-DT / rule.tau_protein_decay))
        self.reset()

    def reset(self):
        self.a = {k: v.copy() for k, v in self.init.items()}

    def run(self, n_steps):
        np, a, G, T = self.np, self.a, self.G, self.T
        h, l, z, p = a["tag_ltp"], a["tag_ltd"], a["late"], a["protein"]
        r = self.rule
        f32 = np.float32
        z0 = z.copy()
        h0, l0 = h.copy(), l.copy()
        cg = f32(self.c * r.capture)
        one = f32(1.0)
        mul, add, sub = np.multiply, np.add, np.subtract
        for _ in range(n_steps):
            on = (h.sum(axis=1) + l.sum(axis=1)) >= self.need
            sub(h, l, out=G)  # gamma p (h - l) T / tau_z
            mul(G, (cg * p)[:, None], out=G)
            sub(one, z, out=T)  # z (1 - z) (z - kappa) T / tau_z
            mul(T, z, out=T)
            mul(T, z - self.kappa, out=T)
            mul(T, self.c, out=T)
            add(T, G, out=T)
            add(z, T, out=z)
            z[np.abs(z) < 1e-20] = 0.0
            mul(h, self.eh, out=h)
            mul(l, self.el, out=l)
            p[...] = np.where(on, self.p_inf + (p - self.p_inf) * self.rise, p * self.fall)
        a["W"] += (f32(r.ltp_weight) * (h - h0) - f32(r.ltd_weight) * (l - l0)
                   + f32(r.late_weight) * (z - z0))


def compare(np, q, ref):
    got = {"W": q.W, **{f: getattr(q.state, f) for f in q.state._fields}}
    worst = ("", 0.0)
    for k in ("W", "tag_ltp", "tag_ltd", "late", "protein"):
        d = float(np.max(np.abs(np.asarray(got[k], np.float64) - ref.a[k])))
        if d > worst[1]:
            worst = (k, d)
    return worst


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    C.add_common_args(p)
    args = p.parse_args(argv)
    np, bl, _, _, threads, repeats, min_time, max_wait = C.start(args)
    hours = 0.25 if args.quick else 1.0
    n_steps = int(round(hours * HOUR / DT))
    env = C.environment(threads, None)
    print(f"rest throughput: {hours:g} simulated hour(s) of tag_and_capture rest, "
          f"{N_PRE} -> {N_POST} ({N_PRE * N_POST:,} synapses), float32, dt = {DT:g} s "
          f"({n_steps} steps)")
    for line in C.describe_environment(env, threads, "not used by this benchmark"):
        print(line)
    print("the rest kernel is serial (one thread); NumPy uses its BLAS threads where it can")
    print()
    rows = []
    for kind in ("consolidating", "quiet"):
        net, q, init = make_case(bl, np, kind)
        ref = NumpyRest(np, q.rule, init)

        def reset_bl(q=q, init=init):
            q.W[...] = init["W"]
            for f in q.state._fields:
                getattr(q.state, f)[...] = init[f]

        # check run (also the warm-up: compiles the kernel)
        reset_bl()
        bl.rest(net, n_steps * DT, dt=DT)
        ref.reset()
        ref.run(n_steps)
        which, diff = compare(np, q, ref)
        ok = diff <= 1e-4
        moved = float(np.max(np.abs(q.W - init["W"])))
        print(f"{kind}: check vs numpy: max |{which}_ref - {which}_bl| {diff:.1e} (max |dW| "
              f"{moved:.2e})" + ("  ok" if ok else "  WARNING: the NumPy loop disagrees"))

        def bl_call(net=net, reset_bl=reset_bl):
            reset_bl()
            bl.rest(net, n_steps * DT, dt=DT)

        def np_call(ref=ref):
            ref.reset()
            ref.run(n_steps)

        C.settle(max_wait)
        timing = C.best_of_interleaved({"brainlearn": bl_call, "numpy": np_call}, repeats,
                                       min_time, quiet_threshold=QUIET, extra_time=max_wait / 2)
        t_bl = timing["brainlearn"]["seconds"] * HOUR / (n_steps * DT)
        t_np = timing["numpy"]["seconds"] * HOUR / (n_steps * DT)
        noisy = not (timing["brainlearn"]["quiet"] and timing["numpy"]["quiet"])
        rows.append([kind, f"{t_bl:.3f}" + ("?" if noisy else ""), f"{t_np:.2f}",
                     f"{t_np / t_bl:.0f}x", f"{N_PRE * N_POST * HOUR / DT / t_bl / 1e9:.2f}",
                     "met" if t_bl < TARGET_S else "NOT MET"])
    print()
    C.print_table(["case", "brainlearn s / sim. hour", "NumPy s / sim. hour", "vs NumPy",
                   "G synapse-steps/s", f"target < {TARGET_S:g} s"], rows, align="lrrrrl")
    print()
    print("s / sim. hour: wall time per simulated hour (measured over the run, scaled); "
          "?: other processes used the CPUs during every call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
