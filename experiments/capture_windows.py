"""Synaptic tagging and capture with ``tag_and_capture``: the capture windows, measured.

One neuron of 200 synapses with two pathways of k synapses each (k = 67, 80, 100: a third,
two fifths and half of the synapses; baseline weight 1), driven by spike protocols as in
Frey & Morris (1997, 1998) and the paper's simulations (Clopath et al. 2008):

* strong tetanus: three trains of 100 pulses at 100 Hz, 10 min apart, to pathway S;
* weak tetanus: 21 pulses at 100 Hz to pathway W;
* interval: minutes from the end of the strong tetanus's last train to the weak tetanus
  (positive, strong first), or from the weak tetanus to the first train (negative, weak
  first); 4 h of rest after the second stimulation.

Tables (the late weight is ``late_weight * z``, averaged over the pathway; 2 = every synapse
captured; the captured fraction counts synapses with z > 1/2):

1. the weak pathway's late weight against the interval at the three pathway sizes;
2. the same with 18..24 pulses in the weak tetanus (k = 100);
3. against the pathway size, 35 min either way;
4. protein-synthesis blocks (bl.protocols.ProteinBlock): from 15 min before to 1 h after the
   strong tetanus; from 10 min before to 1 h after a weak tetanus given 35 or 60 min after
   the strong one;
5. the spacing study (brainlearn.studies.spacing, full size) over seeds: the late weight a
   day after three repetitions, and its difference from massed, paired by seed, with the
   95% Student-t CI.

    python experiments/capture_windows.py [--seeds N]

prints the tables as Markdown (docs/capture_windows.md holds a run of it).
"""

from __future__ import annotations

import argparse

import numpy as np

import brainlearn as bl
from brainlearn.plotting import mean_ci
from brainlearn.rules import TagAndCapture
from brainlearn.studies import spacing

P = bl.protocols
HOUR, MIN = 3600.0, 60.0
N_PRE = 200
STRONG = P.repeat(P.tetanus(100, 100.0), n=3, interval=600.0)
INTERVALS = (-240, -180, -120, -60, -35, -15, -5, 5, 15, 35, 60, 90, 120, 180, 240)
SIZES = (67, 80, 100)


def neuron(rule):
    net = bl.Network(seed=0)
    x, y = net.add_input(N_PRE), net.add_population(1, activation="linear")
    return net.connect(x, y, rule=rule, init=np.ones((1, N_PRE)))


def pairing(rule, gap, k=100, pulses=21, block_weak=False):
    """Strong tetanus to S = 0..k-1, weak to W = k..2k-1, ``gap`` minutes apart (see the
    module docstring); returns (late weight of W, captured fraction of W, late weight of S)."""
    q = neuron(rule)
    s, w = np.arange(k), np.arange(k, 2 * k)
    weak = P.tetanus(pulses, 100.0)
    if gap >= 0:
        if block_weak:  # anisomycin from 10 min before to 1 h after the weak tetanus
            P.apply(q, STRONG + P.silence(gap * MIN - 10 * MIN), pre=s)
            P.apply(q, P.protein_block(P.silence(10 * MIN) + weak + P.silence(HOUR))
                    + P.silence(3 * HOUR), pre=w)
        else:
            P.apply(q, STRONG + P.silence(gap * MIN), pre=s)
            P.apply(q, weak + P.silence(4 * HOUR), pre=w)
    else:
        P.apply(q, weak + P.silence(-gap * MIN), pre=w)
        P.apply(q, STRONG + P.silence(4 * HOUR), pre=s)
    late = rule.late(q.state)[0]
    return float(late[w].mean()), float(np.mean(q.state.late[0, w] > 0.5)), float(late[s].mean())


def strong_alone(rule, k, block=False):
    """Late weight of S 8 h after a strong tetanus alone (optionally under a block from 15 min
    before to 1 h after it) and the early weight 40 min after its first train."""
    q = neuron(rule)
    protocol = P.silence(15 * MIN) + STRONG + P.silence(HOUR)
    if block:
        protocol = P.protein_block(protocol)
    trace = P.apply(q, protocol + P.silence(7 * HOUR), pre=np.arange(k), record_every=5 * MIN)
    at40 = np.flatnonzero(np.isclose(trace.t, 55 * MIN))[0]
    early = (rule.ltp_weight * trace.tag_ltp[at40, 0, :k].mean()
             - rule.ltd_weight * trace.tag_ltd[at40, 0, :k].mean())
    return float(rule.late(q.state)[0, :k].mean()), float(early), float(trace.protein.max())


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def windows(rule):
    rows = []
    results = {k: {g: pairing(rule, g, k=k) for g in INTERVALS} for k in SIZES}
    for g in INTERVALS:
        row = [f"{g:+d}"]
        for k in SIZES:
            late, frac, _ = results[k][g]
            row.append(f"{late:.3f} ({frac:.2f})")
        rows.append(row)
    strong = [f"{results[k][35][2]:.3f}" for k in SIZES]
    header = ["interval (min)"] + [f"k = {k} ({k / N_PRE:.2f} of the synapses)" for k in SIZES]
    return table(header, rows + [["strong pathway, +35"] + strong])


def pulses(rule):
    gaps = (-35, 35, 60)
    rows = []
    for n in range(18, 25):
        rows.append([n] + [f"{pairing(rule, g, pulses=n)[0]:.3f}" for g in gaps])
    return table(["weak pulses"] + [f"{g:+d} min" for g in gaps], rows)


def sizes(rule):
    rows = []
    for k in (50, 55, 60, 62, 64, 67, 70, 75, 80, 90, 100):
        weak_first, strong_first = pairing(rule, -35, k=k), pairing(rule, 35, k=k)
        rows.append([k, f"{strong_alone(rule, k)[0]:.3f}", f"{strong_first[0]:.3f}",
                     f"{weak_first[0]:.3f}"])
    return table(["k", "strong alone, S at 8 h", "weak +35 min", "weak -35 min"], rows)


def blocks(rule):
    late, early, p_max = strong_alone(rule, 100)
    late_b, early_b, p_max_b = strong_alone(rule, 100, block=True)
    rows = [["none", f"{early:.3f}", f"{late:.3f}", f"{p_max:.3f}"],
            ["-15 min to +1 h around the strong tetanus", f"{early_b:.3f}", f"{late_b:.3f}",
             f"{p_max_b:.3f}"]]
    out = table(["strong tetanus, protein synthesis blocked", "early weight at 40 min",
                 "late weight of S at 8 h", "max protein"], rows)
    rows = []
    for gap in (35, 60):
        free, blocked = pairing(rule, gap), pairing(rule, gap, block_weak=True)
        rows.append([f"+{gap}", f"{free[0]:.3f} ({free[1]:.2f})",
                     f"{blocked[0]:.3f} ({blocked[1]:.2f})"])
    out += "\n\n" + table(["weak tetanus after the strong one", "no block",
                           "blocked -10 min to +1 h around the weak tetanus"], rows)
    return out


def spacing_over_seeds(n_seeds):
    config = spacing.SpacingConfig(delays=(86400.0,), trajectory_intervals=())
    late = {}
    for seed in range(n_seeds):
        for r in spacing.run(config, "tag_and_capture", seed):
            if r["metric"] == "late":
                late.setdefault(r["interval_s"], []).append(r["value"])
    massed = np.array(late[0.0])
    rows = []
    for interval in sorted(late):
        v = np.array(late[interval])
        mean, half = mean_ci(v)
        dm, dh = mean_ci(v - massed)
        diff = "-" if interval == 0 else \
            f"{dm:+.4f} [{dm - dh:+.4f}, {dm + dh:+.4f}] ({dm / massed.mean():+.1%})"
        rows.append([f"{interval / 60:g}", f"{mean:.4f} +- {half:.4f}", diff,
                     "-" if interval == 0 else f"{int(np.sum(v > massed))}/{n_seeds}"])
    return table(["interval (min)", "late weight at 24 h (95% CI)",
                  "minus massed, paired (95% CI; relative)", "seeds above massed"], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=12, help="seeds of the spacing study")
    args = parser.parse_args(argv)
    rule = TagAndCapture()
    print("## 1. Capture windows: late weight of the weak pathway (captured fraction)\n")
    print(windows(rule))
    print("\n## 2. Pulses in the weak tetanus (k = 100): late weight of the weak pathway\n")
    print(pulses(rule))
    print("\n## 3. Pathway size k (of 200 synapses): late weights\n")
    print(sizes(rule))
    print("\n## 4. Protein-synthesis blocks (k = 100)\n")
    print(blocks(rule))
    print(f"\n## 5. Spacing study, full size, {args.seeds} seeds\n")
    print(spacing_over_seeds(args.seeds))


if __name__ == "__main__":
    main()
