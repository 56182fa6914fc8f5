"""Learning curves of backprop on the bundled digits (the quick main job).

Trains the 64-64-10 tanh/softmax network with online SGD and with momentum
minibatches, over several seeds, records test accuracy as training goes, and
draws mean curves with 95% confidence bands to ``figures/digits_learning_curve``
(PNG and SVG).

    python experiments/learning_curve.py            # 5 seeds, 20 epochs
    python experiments/learning_curve.py --quick    # 3 seeds, 8 epochs
"""

from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import brainlearn as bl  # noqa: E402
from brainlearn.plotting import mean_ci, plot_learning_curve, save_figure, style  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = {
    "online SGD (batch 1)": dict(batch_size=1, lr=0.05, momentum=0.0),
    "minibatch 32 + momentum": dict(batch_size=32, lr=0.1, momentum=0.9),
}


def run(seeds, epochs, eval_every, out):
    data = bl.datasets.load("digits")
    print(f"{data}\n")
    results = {}
    for label, cfg in CONFIGS.items():
        curves, finals, wall = [], [], []
        for seed in range(seeds):
            net = bl.mlp([64, 64, 10], rule="backprop", hidden="tanh", output="softmax",
                         lr=cfg["lr"], momentum=cfg["momentum"], seed=seed, dtype="float32")
            t0 = time.perf_counter()
            hist = bl.train(net, data, epochs=epochs, batch_size=cfg["batch_size"], seed=seed,
                            eval_every=eval_every)
            wall.append(time.perf_counter() - t0)
            curves.append(hist["test_accuracy"])
            finals.append(bl.evaluate(net, data)["accuracy"])
        results[label] = (hist["samples"], np.array(curves), np.array(finals), np.median(wall))

    with plt.rc_context(style()):
        fig, ax = plt.subplots(figsize=(6, 3.8))
        for (label, (samples, curves, _, _)), color in zip(results.items(), ("#0072B2", "#E69F00")):
            plot_learning_curve(ax, samples, curves, label, color=color)
        ax.axhline(0.97, color="0.4", linestyle=":", linewidth=1)
        ax.text(samples[-1], 0.972, "0.97", ha="right", va="bottom", fontsize=8, color="0.3")
        ax.set_xlabel("training samples presented")
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0.5, 1.0)
        ax.set_title(f"Backprop, 64-64-10 tanh/softmax on digits (mean, 95% CI, {seeds} seeds)")
        ax.legend(loc="lower right")
        paths = save_figure(fig, os.path.join(out, "digits_learning_curve"))
        plt.close(fig)

    print(f"{'configuration':<26} {'final test accuracy':>24} {'s per run':>10}")
    for label, (_, _, finals, wall) in results.items():
        mean, half = mean_ci(finals)
        print(f"{label:<26} {mean:>14.4f} +- {half:<7.4f} {wall:>10.2f}")
    print("\nwrote " + ", ".join(os.path.relpath(p) for p in paths))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds, 8 epochs")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", default=os.path.join(HERE, os.pardir, "figures"),
                        help="folder for the figure (default: figures/)")
    args = parser.parse_args(argv)
    seeds = args.seeds or (3 if args.quick else 5)
    epochs = args.epochs or (8 if args.quick else 20)
    if seeds < 1 or epochs < 1:
        parser.error("--seeds and --epochs must be >= 1")
    run(seeds, epochs, eval_every=250, out=os.path.normpath(args.out))


if __name__ == "__main__":
    main()
