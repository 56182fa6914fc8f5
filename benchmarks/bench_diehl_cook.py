"""Diehl & Cook's (2015) network learning: brainlearn against BindsNET, per sample.

The case is the paper's training protocol on 784 inputs (28x28 images): 100 or 400
excitatory and as many inhibitory LIF neurons, STDP on the input weights with synaptic
normalisation, adaptive thresholds, 350 ms per sample at dt = 0.5 ms and 150 ms of rest,
learning on (``bl.train`` on ``bl.models.diehl_cook``). The images are MNIST's when
``--mnist DIR`` names a folder of its IDX files, else the bundled 8x8 digits upsampled to
28x28 (each pixel repeated 4x4 and the 32x32 image cropped to its centre), with input rates
scaled so that each neuron gets MNIST's mean drive (``bl.models.scaled_for``): as many input
spikes per sample as MNIST at the paper's rates. Reported: samples per second, milliseconds
per sample, and simulated seconds per wall second (showings, repeats and rests included).

BindsNET (``bindsnet.models.DiehlAndCook2015``, the network of its ``eth_mnist.py``) runs in
a subprocess of the Python given by ``--bindsnet-python`` (a virtual environment with
BindsNET and a CPU torch), on the same images, 350 ms per sample at dt = 0.5 ms, learning
on; it resets the network's state between samples instead of simulating a rest (brainlearn
simulates the rest: 43% more steps). BindsNET 0.3.4 asks for torch >= 2.14 and torchvision;
it runs here with the CPU torch 2.13 and a stub ``torchvision`` module (BindsNET imports it
only for its dataset wrappers), with ``ale-py``, ``gymnasium``, ``scikit-image``, ``pandas``
and ``tensorboardX`` installed for its imports. Without it
the reference is the figure BindsNET's README gives for ``eth_mnist.py``: about one hour per
MNIST epoch (60 000 samples) on a desktop CPU, 60 ms per sample. The target is 10x BindsNET
per sample.

    PYTHONPATH=. python benchmarks/bench_diehl_cook.py [--bindsnet-python VENV/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

#: BindsNET's README: "about 1 hour" per epoch of eth_mnist.py (60 000 samples), CPU
BINDSNET_README_MS_PER_SAMPLE = 3600.0 / 60000 * 1000
TARGET = 10.0

BINDSNET_SCRIPT = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import torch
    from bindsnet.encoding import PoissonEncoder
    from bindsnet.models import DiehlAndCook2015
    torch.set_num_threads(int(sys.argv[4]))
    images = np.load(sys.argv[1])          # (n, 784) intensities in [0, 1]
    n_neurons, max_rate = int(sys.argv[2]), float(sys.argv[3])
    dt, time_ms = 0.5, 350
    torch.manual_seed(0)
    net = DiehlAndCook2015(n_inpt=784, n_neurons=n_neurons, exc=22.5, inh=17.5, dt=dt,
                           norm=78.4, theta_plus=0.05, inpt_shape=(1, 28, 28), batch_size=1)
    encoder = PoissonEncoder(time=time_ms, dt=dt)
    def run(k):
        x = torch.tensor(images[k].reshape(1, 28, 28) * max_rate, dtype=torch.float32)
        net.run(inputs={"X": encoder(x).unsqueeze(1)}, time=time_ms)
        net.reset_state_variables()
    run(0)                                  # warm-up
    t = time.perf_counter()
    for k in range(1, images.shape[0]):
        run(k)
    wall = time.perf_counter() - t
    print(json.dumps({"samples": images.shape[0] - 1, "time": wall}))
''')


def images(mnist, n):
    """(n, 784) images in [0, 1]: MNIST's, or the digits upsampled to 28x28."""
    import brainlearn as bl
    if mnist:
        return np.asarray(bl.datasets.load("mnist", path=mnist).x_train[:n], np.float64)
    x = np.asarray(bl.datasets.load("digits").x_train, np.float64)
    x = np.resize(x, (max(n, 1), 64))
    big = np.kron(x.reshape(-1, 8, 8), np.ones((1, 4, 4)))[:, 2:30, 2:30]
    return np.ascontiguousarray(big.reshape(-1, 784))


def run_brainlearn(x, n_neurons, seed=0):
    """Train on ``x`` (one pass): (wall seconds, simulated seconds, repeats per sample)."""
    import brainlearn as bl
    total, protocol = bl.models.scaled_for(x)
    net = bl.models.diehl_cook(784, n_neurons, seed=seed, normalize=total)
    bl.train(net, (x[:2],), presentation=protocol, seed=seed)  # compile (or load) the simulator
    t = time.perf_counter()
    r = bl.present(net, x, protocol=protocol, learn=True, seed=seed + 1)
    wall = time.perf_counter() - t
    return wall, r.simulated, float(r.repeats.mean()), protocol.max_rate


def run_bindsnet(python, x, n_neurons, max_rate, threads):
    if not python:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "images.npy")
        np.save(path, x)
        script = os.path.join(tmp, "bn.py")
        with open(script, "w") as f:
            f.write(BINDSNET_SCRIPT)
        out = subprocess.run([python, script, path, str(n_neurons), str(max_rate),
                              str(threads)], capture_output=True, text=True, timeout=7200)
    if out.returncode != 0:
        print(f"BindsNET failed: {out.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(p)
    p.add_argument("--mnist", default=None, metavar="DIR",
                   help="a folder of MNIST IDX files (default: digits upsampled to 28x28)")
    p.add_argument("--bindsnet-python", default=os.environ.get("BINDSNET_PYTHON"),
                   metavar="PATH", help="the Python of a virtual environment with BindsNET")
    p.add_argument("--samples", type=int, default=None,
                   help="samples per measurement (default 300; 30 with --quick)")
    args = p.parse_args(argv)
    if args.threads is None:
        args.threads = 1
    _, _, _, _, threads, _, _, max_wait = C.start(args)
    env = C.environment(threads, None)
    for line in C.describe_environment(env, threads, "not used by this benchmark"):
        print(line)
    n = args.samples or (30 if args.quick else 300)
    x = images(args.mnist, n)
    print(f"Diehl & Cook 2015, learning: 784 inputs, {n} samples "
          f"({'MNIST' if args.mnist else 'digits upsampled to 28x28'}), 350 ms + 150 ms rest "
          "per sample, dt 0.5 ms")
    rows = []
    for n_neurons in (100, 400):
        C.settle(max_wait)
        wall, simulated, repeats, max_rate = run_brainlearn(x, n_neurons)
        ms = wall / n * 1000
        ref = run_bindsnet(args.bindsnet_python, x[: max(2, n // 10) + 1], n_neurons,
                           max_rate, threads)
        if ref is not None:
            ref_ms = ref["time"] / ref["samples"] * 1000
            ref_name = "BindsNET, same run"
        else:
            ref_ms = BINDSNET_README_MS_PER_SAMPLE
            ref_name = "BindsNET README (1 h per MNIST epoch)"
        rows.append([str(n_neurons), f"{n / wall:.1f}", f"{ms:.2f}", f"{simulated / wall:.0f}",
                     f"{repeats:.2f}", f"{ref_ms:.1f}", ref_name, f"{ref_ms / ms:.1f}x"])
    C.print_table(["exc neurons", "samples/s", "ms/sample", "sim s per wall s",
                   "repeats/sample", "reference ms/sample", "reference", "faster by"], rows)
    worst = min(float(r[-1][:-1]) for r in rows)
    print(f"target: >= {TARGET:g}x BindsNET per sample: {worst:.1f}x "
          f"({'met' if worst >= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
