"""brainlearn: a biologically inspired plasticity simulator.

One network abstraction carries backpropagation alongside Hebbian and
LTP-style local learning rules; a Numba-compiled engine runs them.

>>> import brainlearn as bl
>>> net = bl.mlp([64, 32, 10], rule="backprop", lr=0.05, seed=0)
>>> net.predict(bl.datasets.load("digits").x_test[:2]).shape
(2, 10)
"""

from . import datasets, neurons, rules
from ._version import __version__
from .engine import DivergenceError, History, end_task, evaluate, predict, rest, train
from .engine.presenting import Presentation, Responses, present
from .engine.spiking import Monitor, SimResult, simulate
from .network import Network, Population, Projection, init, mlp
from .network.io import load, save
from . import memory, models, protocols, testing


def __getattr__(name):
    """``bl.studies`` is imported on first use: it brings matplotlib and SciPy, which a
    script that only trains networks (and every command-line start) does not need."""
    if name == "studies":
        import importlib
        return importlib.import_module(f"{__name__}.studies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "__version__",
    "Network", "Population", "Projection", "mlp", "init",
    "train", "evaluate", "predict", "rest", "end_task", "History", "DivergenceError",
    "simulate", "Monitor", "SimResult", "present", "Presentation", "Responses", "neurons",
    "save", "load",
    "datasets", "rules", "testing", "protocols", "memory", "models", "studies",
]
