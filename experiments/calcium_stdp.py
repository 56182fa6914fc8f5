"""The STDP curve of the calcium-based rule (Graupner & Brunel 2012, PNAS 109:3991, Fig. 2 DP).

60 pre/post spike pairs at 1 Hz, for delays t_post - t_pre from -100 to +100 ms. Every point
is measured on one projection from one presynaptic neuron to 1000 postsynaptic ones (1000
independent synapses in one compiled run; half start DOWN, half UP), repeated for 5 seeds;
the "change in synaptic strength" is the ratio of the mean weight after/before, a synapse
counting as UP when rho > rho* (w_UP / w_DOWN = b = 5). The line is the paper's mean-field
theory (time above threshold -> Ornstein-Uhlenbeck transition probabilities).

    python experiments/calcium_stdp.py [--quick]

writes figures/calcium_stdp.png and .svg and prints the table of measured vs theory.
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np

import brainlearn as bl
from brainlearn.plotting import mean_ci, rule_color, save_figure, style

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURE = os.path.join(HERE, "..", "figures", "calcium_stdp")


def measured_change(rule, delay, n_syn, seed, dt=5e-3):
    """Change after 60 pairs at 1 Hz (delay in s); dt = 5 ms puts every delay on the grid (the
    calcium itself is integrated exactly, the delayed presynaptic calcium lands at its own time)."""
    net = bl.Network(seed=seed)
    x, y = net.add_input(1), net.add_population(n_syn, activation="linear")
    q = net.connect(x, y, rule=rule, init=rule.initial_weights((n_syn, 1), seed=seed))
    rho0 = q.state.rho.copy()
    bl.protocols.apply(q, bl.protocols.spike_pairing(60, 1.0, delay), dt=dt, settle=0.05)
    return rule.synaptic_change(rho0, q.state.rho)


def theory_change(rule, delay, n_pairs=60, freq=1.0):
    """The paper's analytic change: fractions of time above threshold, then the OU transition
    probabilities of rho past rho* after n_pairs periods (their SI)."""
    period = 1.0 / freq
    t = np.arange(0.0, period, 5e-6)
    c = np.zeros_like(t)
    for t0, amp in ((0.5 * period, rule.c_post), (0.5 * period - delay + rule.delay, rule.c_pre)):
        c += amp * np.exp(-np.clip(t - t0, 0, None) / rule.tau_ca) * (t >= t0)
    a_d, a_p = (c > rule.theta_d).mean(), (c > rule.theta_p).mean()
    g_p, g_d = rule.gamma_p * a_p, rule.gamma_d * a_d
    rho_bar = g_p / (g_p + g_d)
    var2 = (a_p + a_d) * rule.sigma ** 2 / (g_p + g_d)
    decay = math.exp(-n_pairs * period * (g_p + g_d) / rule.tau)

    def past_star(rho0):
        mean = rho_bar + (rho0 - rho_bar) * decay
        return 0.5 * (1 - math.erf((rule.rho_star - mean) / math.sqrt(var2 * (1 - decay ** 2))))

    up, down = past_star(0.0), 1 - past_star(1.0)
    beta, b = rule.beta, rule.b
    after = beta * (1 - up) + (1 - beta) * down + b * (beta * up + (1 - beta) * (1 - down))
    return after / (beta + (1 - beta) * b)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer delays and synapses")
    args = parser.parse_args(argv)
    rule = bl.rules.Calcium()  # the DP set
    step = 20 if args.quick else 5
    delays_ms = np.arange(-100, 101, step)
    n_syn, seeds = (400, 2) if args.quick else (1000, 5)
    values = np.array([[measured_change(rule, d * 1e-3, n_syn, s) for d in delays_ms]
                       for s in range(seeds)])
    fine = np.arange(-100, 100.5, 1.0)
    theory = np.array([theory_change(rule, d * 1e-3) for d in fine])
    mean, half = mean_ci(values)

    print(f"{'delay (ms)':>10} {'measured':>9} {'95% CI':>7} {'theory':>7}")
    for d, m, h in zip(delays_ms, mean, half):
        print(f"{d:>10d} {m:>9.3f} {h:>7.3f} {theory_change(rule, d * 1e-3):>7.3f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with plt.rc_context(style()):
        fig, ax = plt.subplots(figsize=(5.2, 3.6))
        color = rule_color("calcium")
        ax.axhline(1.0, color="0.5", lw=1, ls="--")
        ax.axvline(0.0, color="0.5", lw=1, ls="--")
        ax.plot(fine, theory, color="0.2", lw=1.5, label="theory (Graupner & Brunel 2012)")
        ax.errorbar(delays_ms, mean, yerr=half, fmt="o", ms=4, color=color, capsize=2,
                    label=f"brainlearn: {seeds} x {n_syn} synapses, 95% CI")
        ax.set_xlabel(r"$\Delta t = t_\mathrm{post} - t_\mathrm{pre}$ (ms)")
        ax.set_ylabel("change in synaptic strength")
        ax.set_title("Calcium rule, DP set: 60 pairs at 1 Hz")
        ax.set_ylim(0.5, 1.3)  # room for the legend under the curve
        ax.legend(loc="lower right")
        paths = save_figure(fig, os.path.normpath(FIGURE))
        plt.close(fig)
    print("wrote", ", ".join(os.path.relpath(p) for p in paths))


if __name__ == "__main__":
    main()
