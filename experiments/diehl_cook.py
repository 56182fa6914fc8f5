"""Diehl & Cook (2015) on the bundled digits: accuracy against neurons and samples, and the
receptive fields the network learns.

For each number of excitatory neurons (``--neurons``) and seed, Diehl & Cook's network
(``bl.models.diehl_cook``, scaled for the 8x8 digits by ``bl.models.scaled_for``) learns the
1347 training digits for ``--epochs`` passes under the paper's protocol (350 ms per sample,
150 ms rest, repeats at higher rates for samples that draw fewer than 5 spikes); after
every ``--eval-every`` samples the frozen network's spike counts on the training and test
sets are read in two ways: the paper's labelling and voting, and the learning study's
shared linear readout (``brainlearn.studies.features.Readout``). Writes
``results/diehl_cook/results.json`` and the figures ``diehl_cook_accuracy`` (accuracy
against samples seen, one line per network size, mean and 95% CI over seeds) and
``diehl_cook_fields`` (every neuron's input weights, seed 0, largest network up to 100
neurons shown, each titled with the class it was labelled with) into ``figures/`` (and the
results folder). Per run it also prints the wall time per 1000 training samples.

    python experiments/diehl_cook.py --workers 2       # 25, 100, 400 neurons, 5 seeds, 1 pass
    python experiments/diehl_cook.py --neurons 100 --seeds 1 --epochs 1 --quick

``--retention``: does the competition of adaptive thresholds protect old classes? The
class-incremental split digits of the retention study (five tasks of two classes, labels
from each task's own samples, the paper's vote; ``run_spiking_scenario``) for the network as
published, the same without adaptive thresholds (``theta_plus`` 0) and the same without
plasticity, ``--seeds`` seeds each, 100 neurons: average accuracy, backward transfer and
forgetting, with 95% CIs; written to ``retention.json``.

One pass, as the paper trained its 100-neuron network (on MNIST's 60 000 images): over more
passes of the 1347 digits the adaptive thresholds of these small networks keep climbing
(0.05 mV per spike, a 10^4 s decay) toward the excitatory reversal potential, samples need
more and more repeats at higher rates, and the accuracy falls (25 neurons, 3 passes: the vote
drops from 0.62 to 0.2).

MNIST: the same network on 784 inputs learns MNIST with ``brainlearn run learning --rules
triplet_stdp --set mnist_path=DIR --set hidden=400 --set spiking_epochs=3`` (docs/spiking.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

import brainlearn as bl  # noqa: E402
from brainlearn import models  # noqa: E402
from brainlearn.results import write_json  # noqa: E402
from brainlearn.studies import features as feat  # noqa: E402


def run(n_neurons, seed, epochs, eval_every, n_train=None):
    """One network: its accuracy curve (samples, vote, readout), final assignments and
    weights, and the wall time of learning per 1000 samples."""
    d = bl.datasets.load("digits")
    x, y = d.x_train[:n_train], d.y_train[:n_train]
    total, protocol = models.scaled_for(d.x_train)
    net = models.diehl_cook(64, n_neurons, seed=seed, normalize=total)
    readout = feat.Readout(10)
    curve = []

    def measure(seen, k):
        F = bl.present(net, x, protocol=protocol, learn=False, seed=seed * 1000 + 2 * k)
        Ft = bl.present(net, d.x_test, protocol=protocol, learn=False,
                        seed=seed * 1000 + 2 * k + 1)
        F, Ft = F.counts["exc"], Ft.counts["exc"]
        assigned = models.assign_labels(F, y, 10)
        vote = float(np.mean(models.vote(Ft, assigned, 10) == d.y_test))
        lin = readout.accuracy(F.astype(float), y, Ft.astype(float), d.y_test)
        curve.append((seen, vote, lin))
        return assigned

    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(y)) for _ in range(epochs)])
    assigned = measure(0, 0)
    wall = 0.0
    for k, start in enumerate(range(0, len(order), eval_every), 1):
        part = order[start:start + eval_every]
        t = time.perf_counter()
        bl.train(net, (x[part],), presentation=protocol, seed=seed * 7919 + k, quiet=True)
        wall += time.perf_counter() - t
        assigned = measure(start + len(part), k)
    return {"neurons": n_neurons, "seed": seed, "curve": curve,
            "assigned": assigned.tolist(), "W": net.projections[0].W.tolist(),
            "seconds_per_1000": wall / len(order) * 1000}


def retention_variants(seeds, n_neurons=100):
    """Class-incremental split digits for three variants of the layer (see the docstring)."""
    import dataclasses

    from brainlearn.plotting import mean_ci
    from brainlearn.studies import retention
    from brainlearn.studies.learning import spiking_rule
    d = bl.datasets.load("digits")
    total, protocol = models.scaled_for(d.x_train)
    protocol = dataclasses.replace(protocol, max_retries=3)
    cfg = retention.RetentionConfig(hidden=n_neurons, epochs=1, evals_per_task=1)
    variants = {"as published": dict(), "no adaptive threshold": dict(theta_plus=0.0),
                "no plasticity": dict(rule=False)}
    out = {}
    for name, kw in variants.items():
        got = {}
        for seed in range(seeds):
            kw2 = dict(kw)
            rule = kw2.pop("rule", spiking_rule(bl.rules.get("triplet_stdp")))
            net = models.diehl_cook(64, n_neurons, rule=rule, seed=seed, normalize=total, **kw2)
            rows = retention.run_spiking_scenario("triplet_stdp", cfg, seed, "class_incremental",
                                                  network=(net, protocol))
            for r in rows:
                if r["task"] == "class_incremental":
                    got.setdefault(r["metric"], []).append(r["value"])
        out[name] = {m: [float(x) for x in mean_ci(np.array(v))] for m, v in got.items()}
        print(name, {m: f"{v[0]:.3f} +- {v[1]:.3f}" for m, v in out[name].items()}, flush=True)
    return out


def figures(results, outdirs):
    from matplotlib.figure import Figure

    from brainlearn.plotting import PALETTE, band, mean_ci, save_figure
    sizes = sorted({r["neurons"] for r in results})
    fig = Figure(figsize=(9.5, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, which, title in ((axes[0], 1, "Diehl & Cook's labelling and vote"),
                             (axes[1], 2, "shared linear readout (learning study)")):
        for color, n in zip(PALETTE, sizes):
            runs = [r for r in results if r["neurons"] == n]
            steps = np.array([p[0] for p in runs[0]["curve"]])
            vals = np.array([[p[which] for p in r["curve"]] for r in runs])
            m, h = mean_ci(vals)
            ax.plot(steps, m, color=color, marker="o", ms=3,
                    label=f"{n} neurons ({len(runs)} seeds): {m[-1]:.3f}")
            band(ax, steps, m, h, color, lo=0.0, hi=1.0)
        ax.axhline(0.1, color="0.6", lw=0.8, ls=":")
        ax.set_title(title)
        ax.set_xlabel("training samples seen")
        ax.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel("test accuracy (450 digits)")
    fig.suptitle("Diehl & Cook's network learns the 8x8 digits without labels "
                 "(mean and 95% CI over seeds)", fontsize=10)
    for d in outdirs:
        save_figure(fig, os.path.join(d, "diehl_cook_accuracy"))
    r = next(r for r in results if r["neurons"] == max(n for n in sizes if n <= 100)
             and r["seed"] == 0)
    W, assigned = np.array(r["W"]), r["assigned"]
    n = W.shape[0]
    cols = 10
    rows = -(-n // cols)
    fig = Figure(figsize=(cols * 0.9, rows * 1.0 + 0.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    order = np.argsort([a if a >= 0 else 99 for a in assigned], kind="stable")
    for ax, k in zip(axes.ravel(), order):
        ax.imshow(W[k].reshape(8, 8), cmap="Greys", vmin=0, vmax=W.max())
        ax.set_title(str(assigned[k]) if assigned[k] >= 0 else "-", fontsize=8, pad=2)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Input weights of the {n} excitatory neurons after learning (seed 0), "
                 "sorted and titled by the class each was labelled with", fontsize=10)
    for d in outdirs:
        save_figure(fig, os.path.join(d, "diehl_cook_fields"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--neurons", default="25,100,400")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--eval-every", type=int, default=449)
    p.add_argument("--quick", action="store_true", help="400 training samples")
    p.add_argument("--out", default=os.path.join("results", "diehl_cook"))
    p.add_argument("--figures", default="figures", help="also write the figures here ('' not)")
    p.add_argument("--workers", type=int, default=1, help="processes running networks at once")
    p.add_argument("--retention", action="store_true",
                   help="only the retention comparison of three variants of the layer")
    args = p.parse_args(argv)
    if args.retention:
        os.makedirs(args.out, exist_ok=True)
        write_json(os.path.join(args.out, "retention.json"), retention_variants(args.seeds))
        return
    sizes = [int(v) for v in args.neurons.split(",")]
    jobs = [(n, seed) for n in sizes for seed in range(args.seeds)]
    n_train = 400 if args.quick else None
    with ProcessPoolExecutor(max(1, args.workers)) as pool:
        futures = [pool.submit(run, n, seed, args.epochs, args.eval_every, n_train)
                   for n, seed in jobs]
        results = []
        for (n, seed), f in zip(jobs, futures):
            r = f.result()
            results.append(r)
            print(f"{n} neurons, seed {seed}: vote {r['curve'][-1][1]:.3f}, readout "
                  f"{r['curve'][-1][2]:.3f}; learning {r['seconds_per_1000']:.2f} s per 1000 "
                  "samples", flush=True)
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "results.json"), {"args": vars(args), "runs": results})
    figures(results, [args.out] + ([args.figures] if args.figures else []))
    for n in sizes:
        v = np.array([r["curve"][-1][1] for r in results if r["neurons"] == n])
        lin = np.array([r["curve"][-1][2] for r in results if r["neurons"] == n])
        print(f"{n} neurons: vote {v.mean():.3f} (sd {v.std(ddof=1) if len(v) > 1 else 0:.3f}), "
              f"readout {lin.mean():.3f}")


if __name__ == "__main__":
    main()
