"""Plug in a learning rule of your own, check it, and compare it with Oja and backprop.

The rule below (Grossberg's instar) takes under 30 lines: a compiled kernel that adds
the change of one presentation to ``dW``, and a frozen dataclass that declares its
hyperparameters and metadata. Once registered it is a rule like the built-in ones:
``bl.testing.check_rule`` runs the conformance suite on it, and it trains inside the
compiled epoch driver. It then learns the hidden layer of a 64-64-10 network on the
digits (a backprop readout on top), against Oja's rule and end-to-end backprop.

What the figure shows: units that learn independently (instar, Oja) all drift
toward the dominant directions of the input, so the 64 hidden features grow alike
and the readout loses accuracy as training goes on, while backprop's features keep
improving. Competition between units (``competitive``, lateral ``anti_hebbian``) is
what keeps Hebbian features diverse.

    python experiments/custom_rule.py [--quick]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

import numba
import numpy as np

import brainlearn as bl


# --- the rule: 22 lines ------------------------------------------------------------------------
@numba.njit
def _instar_delta(W, pre, post, mod, params, state, dt, dW, db):
    for i in range(W.shape[0]):
        c = params.lr * max(post[i], 0.0)  # only active neurons learn
        for j in range(W.shape[1]):
            dW[i, j] += c * (pre[j] - W[i, j])


@bl.rules.register("instar")
@dataclass(frozen=True, repr=False)
class Instar(bl.rules.LocalRule):
    r"""Instar: an active neuron moves its weights toward the input, :math:`\Delta w_i = \eta [y_i]_+ (x - w_i)`.

    References
    ----------
    Grossberg, S. (1976). Adaptive pattern classification and universal recoding. Biol. Cybern. 23, 121.
    """

    lr: float = bl.rules.hyperparameter(0.01, low=0.0, doc="learning rate")
    summary = "an active neuron's weights move toward the input"
    equation = r"\Delta w_i = \eta\, [y_i]_+ (x - w_i)"
    reference = "Grossberg 1976, Biol. Cybern. 23:121"
    tags = dict(elementwise=True, row_local=True)
    kernel = _instar_delta
# -------------------------------------------------------------------------------------------------


HIDDEN = {"instar (custom)": ("instar", 1e-4), "oja": ("oja", 1e-4), "backprop": ("backprop", 0.05)}


def hidden_net(rule, lr, seed):
    net = bl.Network(seed=seed, dtype="float32")
    x = net.add_input(64, name="input")
    h = net.add_population(64, activation="tanh", name="hidden")
    y = net.add_population(10, activation="softmax", name="output")
    net.connect(x, h, rule=rule, lr=lr, init=bl.init.Normal(std=0.1))
    net.connect(h, y, rule="backprop", lr=0.02)
    return net


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 5 epochs")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      os.pardir, "figures"))
    args = parser.parse_args(argv)
    seeds, epochs = (2, 5) if args.quick else (5, 15)

    results = bl.testing.check_rule(Instar)
    print(f"check_rule(Instar): {sum(r == 'passed' for _, r in results)} passed, "
          f"{sum(r != 'passed' for _, r in results)} skipped")

    data = bl.datasets.load("digits")
    curves = {}
    for label, (rule, lr) in HIDDEN.items():
        curves[label] = np.array([
            bl.train(hidden_net(rule, lr, seed), data, epochs=epochs, seed=seed)["test_accuracy"]
            for seed in range(seeds)])
        print(f"{label:<16} final test accuracy {curves[label][:, -1].mean():.3f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from brainlearn.plotting import (clipped_interval, mean_ci, plot_learning_curve, save_figure,
                                     style)
    with plt.rc_context(style()):
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        for label, c in curves.items():
            plot_learning_curve(ax, np.arange(1, epochs + 1), c, label)  # bands within [0, 1]
        # accuracy from the lowest band, rounded down to a tenth, up to 1; whole epochs only
        low = min(clipped_interval(*mean_ci(c), 0.0, 1.0)[0].min() for c in curves.values())
        ax.set_ylim(max(0.0, np.floor(10 * low) / 10), 1.0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (fraction correct)")
        ax.set_title(f"Hidden layer learned by each rule, backprop readout ({seeds} seeds)")
        ax.legend(loc="lower right")
        paths = save_figure(fig, os.path.join(os.path.normpath(args.out), "custom_rule"))
        plt.close(fig)
    print("wrote " + ", ".join(os.path.relpath(p) for p in paths))


if __name__ == "__main__":
    main()
