"""The ``learning`` study: how well and how fast each rule learns to classify digits.

Every rule learns the 8x8 digits (``bl.datasets.load("digits")``: 1347 training and 450 test
images, pixels in [0, 1]), or MNIST when ``mnist_path`` names a folder of IDX files
(``bl.datasets.load("mnist", path=...)``), and is scored by test accuracy as it learns.

Rules in their natural role (:func:`role_of`, decided from each rule's metadata, so plug-ins
take part when they fit):

``end_to_end``
    rules that read the error and may sit on any projection (``needs`` holds ``error``: backprop,
    feedback alignment, direct feedback alignment) train a ``64-hidden-10`` tanh/softmax MLP
    (MNIST: ``784-hidden-10``) end to end, the rule on both projections, learning rate ``lr``.
``single_layer``
    supervised local rules of one layer -- those marked ``output_only`` (the delta rule, learning
    rate ``lr``) and reward-modulated rules (``needs`` holds ``reward``: ``reward_hebbian``, with
    its own defaults) -- learn a ``64-10`` softmax layer from the pixels, as they are.
``hidden``
    unsupervised local rules (``needs`` is ``pre`` and ``post`` only: Hebb, Oja, Sanger, BCM,
    covariance, competitive, threshold LTP, plug-ins) learn a hidden layer of ``hidden`` units
    from the inputs alone, and are scored through **one shared linear readout**, the same for
    every rule: at each evaluation point the hidden layer is frozen, its activities on the
    training set are standardised (each unit to zero mean and unit variance over the training
    set, units that never vary set to 0, then all divided by ``sqrt(hidden)`` so that a feature
    vector has unit mean square norm whatever the correlations between units), and a fresh
    softmax layer (zero initial weights) is trained on them by the delta rule -- on a softmax
    with cross-entropy, the gradient of the readout's own weights -- online, for
    ``readout_epochs`` passes at ``readout_lr``, in an order drawn from the run's seed. Its test
    accuracy is the rule's. The readout's own updates, time and samples are not counted as the
    rule's.

The input code follows the rule family (``inputs="auto"``): Hebbian rules (family ``hebbian``,
and plug-ins of family ``custom``) are analysed on zero-mean inputs (Oja's and Sanger's PCA,
the covariance rule, BCM in Intrator & Cooper's form), so they see the pixels minus the
training-set mean, through ``tanh`` units with their own default hyperparameters. LTP-style
rules (family ``ltp``) are driven by non-negative rates: they see the pixels in [0, 1] through
``sigmoid`` units, with the rate-network settings of the retention study
(:data:`brainlearn.studies.retention.HIDDEN_SETTINGS`; a rule not listed keeps its defaults).
Gradient and single-layer rules see the pixels in [0, 1]. ``inputs="rates"`` or ``"centred"``
imposes one code on every rule (rates: sigmoid hidden units for local rules; centred: tanh).
Plain Hebb (marked ``unstable``) runs as it is, without a stabiliser: its weights grow without
bound, which through tanh units saturates the features; a run whose weights become non-finite is
recorded as diverged.

Besides the rules, the study runs the control ``random_features``: the hidden layer left at its
random initial weights (the same draw every hidden-role rule starts from with that seed), with
the Hebbian rules' code (centred inputs, tanh units) under ``inputs="auto"``, read out by the same
readout. It answers whether a rule's learning helped its features at all.

Rules left out by default (:func:`exclusion` gives the reason; ``fits`` is False):

* lateral rules (``anti_hebbian``): they belong on a population's connections to itself, and
  the study's networks are feed-forward;
* constraints and terms without presynaptic and postsynaptic activity (``clip``,
  ``row_normalize``, ``weight_decay``; ``ewc`` and ``synaptic_intelligence``, which only pull
  towards earlier tasks' weights): they learn nothing alone -- compose them with a rule in a
  chain -- and the consolidation terms are compared in the retention study;
* homeostatic rules (``synaptic_scaling``): they regulate a neuron's rate by scaling all its
  weights together and learn no features alone;
* associative-memory rules (family ``memory``): they store patterns in recurrent weights;
* rules with dynamics of their own between presentations (a ``rest_kernel``: the spike-driven
  calcium rule, tag-and-capture): their protocols are spike trains and rest over seconds to
  hours, which the spacing and retention studies provide.

Protocol: the training presentations are ``epochs`` shuffled passes over the training set (the
order drawn from the run's seed, the same for every rule), online (``batch_size`` 1) with ``dt``
seconds each, cut into ``eval_points`` chunks of equal length; each chunk is one call of
:func:`brainlearn.train` (compiled drivers, no Python per sample), and the test set is scored
before training and after every chunk. An untimed warm-up call on a twin network first compiles
(or loads) the drivers, so that the wall time measures learning, not compiling.

Metrics (tidy rows; ``task`` is the data set's name; extra columns ``role``, ``unit``, ``pixel``):

* ``test_accuracy``: test accuracy against ``step`` = training presentations seen (from 0);
* ``final_test_accuracy`` (headline): the test accuracy at the end;
* ``wall_time`` (headline; a timing metric): seconds spent in the rule's training calls
  (evaluation, readouts and the warm-up excluded). It is the only value that differs between
  two runs with the same seed, so its rows are stored in ``timings.csv`` (same columns), not in
  ``metrics.csv``, which is byte-identical for the same configuration and seeds;
* ``synaptic_updates``: weight updates made, ``n_pre * n_post`` per presentation summed over
  the projections that learn (the readout excluded);
* ``rf``: the learned weights of the first ``rf_units`` units of the first layer (hidden units;
  for single-layer rules the output units, one per class), seed 0 only: ``unit`` and ``pixel``
  give the weight's place, ``value`` the weight.

A run that diverges keeps its curve up to the divergence, NaN final accuracy and the time and
updates so far (``status`` diverged in ``meta.json``).

Figures (from ``metrics.csv`` and ``timings.csv`` alone;
:mod:`brainlearn.studies._learning_figures`): learning curves with 95% Student-t bands over
seeds, one panel per role; final accuracy and wall time per rule with 95% confidence
intervals; a grid of receptive fields per rule.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import datasets
from ..engine import DivergenceError, evaluate, train
from ..network import Network
from ..rules import base as _rules
from ..rules import make
from . import Study, register_study
from ._base import overrides_end_task

__all__ = ["LearningConfig", "LearningStudy", "ROLES", "CONTROL", "role_of", "exclusion",
           "input_code", "build_network", "readout_accuracy", "checkpoints", "load_data"]

ROLES = ("end_to_end", "single_layer", "hidden")
#: the label of the control: the hidden layer at its random initial weights, no learning
CONTROL = "random_features"


@dataclass(frozen=True)
class LearningConfig:
    """Configuration of the learning study (defaults: the full size).

    Parameters
    ----------
    mnist_path : str or None
        A folder with the MNIST IDX files: learn MNIST instead of the bundled digits.
    train_size : int or None
        Use only the first ``train_size`` training samples (None: all).
    hidden : int
        Hidden units of the MLP (end to end) and of the hidden layer of local rules.
    epochs : int
        Passes over the training set.
    eval_points : int
        Evaluations of the test set during training (besides the one before training).
    lr : float
        Learning rate of the rules that read an error (backprop, feedback alignment, DFA, delta).
    batch_size : int
        1: online learning; larger: minibatches (the mean update of a batch).
    readout_epochs : int
        Passes of the shared readout over the training set, at every evaluation point.
    readout_lr : float
        Learning rate of the shared readout (on standardised features, see the module docstring).
    inputs : {"auto", "rates", "centred"}
        Input code: by rule family (``auto``), pixels in [0, 1] for every rule, or pixels minus
        the training-set mean for every rule.
    rf_units : int
        Receptive fields stored per rule (seed 0).
    dt : float
        Seconds per presentation (passed to the rule kernels).
    dtype : {"float64", "float32"}
        Floating-point type of the networks.
    """

    mnist_path: str | None = None
    train_size: int | None = None
    hidden: int = 100
    epochs: int = 20
    eval_points: int = 20
    lr: float = 0.05
    batch_size: int = 1
    readout_epochs: int = 10
    readout_lr: float = 0.5
    inputs: Literal["auto", "rates", "centred"] = "auto"
    rf_units: int = 8
    dt: float = 1.0
    dtype: Literal["float64", "float32"] = "float64"

    @classmethod
    def quick(cls) -> "LearningConfig":
        """The quick size: two passes, four evaluation points, a shorter readout."""
        return cls(epochs=2, eval_points=4, readout_epochs=5)

    def __post_init__(self):
        for name in ("hidden", "epochs", "eval_points", "batch_size", "readout_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}={value!r} must be an integer >= 1")
        size = self.train_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))
                                 or size < 2):
            raise ValueError(f"train_size={size!r} must be None or an integer >= 2")
        if isinstance(self.rf_units, bool) or not isinstance(self.rf_units, (int, np.integer)) \
                or self.rf_units < 0:
            raise ValueError(f"rf_units={self.rf_units!r} must be an integer >= 0")
        for name in ("lr", "readout_lr", "dt"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name}={value!r} must be a finite number > 0")
        if self.inputs not in ("auto", "rates", "centred"):
            raise ValueError(f"inputs={self.inputs!r}; allowed: auto, rates, centred")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype={self.dtype!r}; allowed: float64, float32")
        if self.mnist_path is not None and (not isinstance(self.mnist_path, str)
                                            or not self.mnist_path.strip()):
            raise ValueError(f"mnist_path={self.mnist_path!r} must be None or a folder path")


# -- rules in their roles -------------------------------------------------------------------------
def exclusion(rule_cls) -> str | None:
    """Why a rule class is left out of the study by default, or None when it fits."""
    needs = set(getattr(rule_cls, "needs", ()))
    family = getattr(rule_cls, "family", "custom")
    if getattr(rule_cls, "lateral", False):
        return "a lateral rule (a population to itself); the study's networks are feed-forward"
    if getattr(rule_cls, "constraint", False) or not {"pre", "post"} <= needs:
        return ("a constraint or a term without presynaptic and postsynaptic activity: it "
                "learns nothing alone (compose it with a rule in a chain)")
    if family == "homeostatic":
        return "a homeostatic rule: it scales weights toward a target rate, learns no features"
    if family == "memory":
        return "an associative-memory rule (recurrent storage and recall)"
    if overrides_end_task(rule_cls):
        return "a consolidation rule acting at task boundaries (the retention study)"
    if getattr(rule_cls, "rest_kernel", None) is not None:
        return ("a rule with dynamics of its own between presentations (rest_kernel): its "
                "protocols are spike trains and rest (the spacing and retention studies)")
    return None


def role_of(rule_cls) -> str | None:
    """The role of a rule class in the study (see the module docstring), or None when the rule
    cannot learn a classifier here (lateral, or without presynaptic and postsynaptic activity)."""
    needs = set(getattr(rule_cls, "needs", ()))
    if getattr(rule_cls, "lateral", False) or not {"pre", "post"} <= needs:
        return None
    if getattr(rule_cls, "output_only", False):
        return "single_layer"
    if "error" in needs:
        return "end_to_end"
    if "reward" in needs:
        return "single_layer"
    return "hidden"


def input_code(rule_cls, config) -> str:
    """``"rates"`` (pixels in [0, 1]) or ``"centred"`` (pixels minus the training mean) for a rule
    class (None: the control, coded like the Hebbian rules it is compared with)."""
    if config.inputs != "auto":
        return config.inputs
    if rule_cls is None:
        return "centred"
    if role_of(rule_cls) == "hidden" and getattr(rule_cls, "family", "custom") != "ltp":
        return "centred"
    return "rates"


def _with(rule_cls, **params):
    """An instance of ``rule_cls`` with those of ``params`` it has as hyperparameters."""
    names = {f.name for f in dataclasses.fields(rule_cls)}
    return rule_cls(**{k: v for k, v in params.items() if k in names})


def _rule_class(rule):
    return None if rule == CONTROL else _rules.get(rule)


def build_network(rule, config, seed, n_in, n_classes):
    """The network of ``rule`` (a registered name or :data:`CONTROL`) in its role.

    Returns ``(net, role)``. For the hidden role the network is ``input -> hidden`` only (the
    readout is separate); the control's hidden projection has no rule.
    """
    cls = _rule_class(rule)
    role = "hidden" if cls is None else role_of(cls)
    if role is None:
        raise ValueError(f"rule={rule!r} has no role in the learning study (lateral, or it reads "
                         "no presynaptic and postsynaptic activity)")
    net = Network(seed=seed, dtype=config.dtype)
    x = net.add_input(n_in, name="input")
    if role == "single_layer":
        out = net.add_population(n_classes, activation="softmax", name="output")
        rule_obj = _with(cls, lr=config.lr) if "error" in cls.needs else cls()
        net.connect(x, out, rule=rule_obj)
        return net, role
    if role == "end_to_end":
        h = net.add_population(config.hidden, activation="tanh", name="hidden")
        out = net.add_population(n_classes, activation="softmax", name="output")
        net.connect(x, h, rule=_with(cls, lr=config.lr))
        net.connect(h, out, rule=_with(cls, lr=config.lr))
        return net, role
    rates = input_code(cls, config) == "rates"
    h = net.add_population(config.hidden, activation="sigmoid" if rates else "tanh",
                           name="hidden")
    if cls is None:
        rule_obj = None
    elif rates:
        from .retention import HIDDEN_SETTINGS
        rule_obj = _with(cls, **HIDDEN_SETTINGS.get(rule, {}))
    else:
        rule_obj = cls()
    net.connect(x, h, rule=rule_obj)
    return net, role


# -- data, schedule, readout ----------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _load(mnist_path):
    if mnist_path is None:
        return datasets.load("digits")
    return datasets.load("mnist", path=mnist_path)


def load_data(config):
    """``(name, x_train, y_train, x_test, y_test, n_classes)`` of the configured data set."""
    data = _load(config.mnist_path)
    n = len(data.y_train) if config.train_size is None else min(config.train_size,
                                                                  len(data.y_train))
    return (data.name, data.x_train[:n], data.y_train[:n], data.x_test, data.y_test,
            int(data.n_classes))


def checkpoints(total, eval_points) -> np.ndarray:
    """The presentation counts at which the test set is scored: 0, then ``eval_points`` evenly
    spaced counts up to ``total`` (fewer when ``total`` is smaller)."""
    return np.unique(np.round(np.linspace(0, total, eval_points + 1)).astype(np.int64))


def _standardise(F, Ft):
    F = np.asarray(F, dtype=np.float64)
    Ft = np.asarray(Ft, dtype=np.float64)
    if not (np.isfinite(F).all() and np.isfinite(Ft).all()):
        return None
    mu = F.mean(axis=0)
    sd = F.std(axis=0)
    scale = np.zeros_like(sd)
    ok = sd > 1e-12 * max(1.0, float(np.abs(mu).max(initial=0.0)))
    scale[ok] = 1.0 / (sd[ok] * math.sqrt(F.shape[1]))
    return (F - mu) * scale, (Ft - mu) * scale


def readout_accuracy(F, y, Ft, yt, n_classes, config, seed) -> float:
    """Test accuracy of the shared readout trained on frozen features (module docstring).

    ``F`` (n_train, n_features) and ``Ft`` (n_test, n_features) are the hidden activities. NaN
    when the features are not finite.
    """
    scaled = _standardise(F, Ft)
    if scaled is None:
        return math.nan
    F, Ft = scaled
    net = Network(seed=seed, dtype=config.dtype)
    x = net.add_input(F.shape[1], name="features")
    out = net.add_population(n_classes, activation="softmax", name="readout")
    net.connect(x, out, rule=make("delta", lr=config.readout_lr), init="zeros")
    train(net, (F, y), epochs=config.readout_epochs, batch_size=1, shuffle=True,
          seed=int(np.random.default_rng([seed, 2]).integers(2**31)), quiet=True)
    return float(evaluate(net, (Ft, yt))["accuracy"])


# -- one run --------------------------------------------------------------------------------------
def _learning_updates(net) -> int:
    """Synapses updated per presentation: n_pre * n_post over the projections that learn."""
    return sum(q.pre.size * q.post.size for q in net.projections if q.rule is not None)


def run(rule, config, seed) -> list:
    """One run of ``rule`` (or :data:`CONTROL`) with ``seed``: its metric rows.

    Raises :class:`~brainlearn.DivergenceError` (``step``: presentations seen) when training
    diverges, with the rows recorded so far as ``exc.rows``.
    """
    name, x_tr, y_tr, x_te, y_te, n_classes = load_data(config)
    cls = _rule_class(rule)
    net, role = build_network(rule, config, seed, x_tr.shape[1], n_classes)
    if input_code(cls, config) == "centred":
        mean = x_tr.mean(axis=0)
        x_tr, x_te = x_tr - mean, x_te - mean
    x_tr = np.ascontiguousarray(x_tr, dtype=config.dtype)
    x_te = np.ascontiguousarray(x_te, dtype=config.dtype)
    supervised = role != "hidden"
    learns = cls is not None

    n = len(y_tr)
    rng = np.random.default_rng([seed, 1])
    order = np.concatenate([rng.permutation(n) for _ in range(config.epochs)])
    points = checkpoints(len(order), config.eval_points)
    per_step = _learning_updates(net) if learns else 0
    rows = []

    def row(metric, step, value, **extra):
        rows.append({"rule": rule, "seed": seed, "task": name, "step": int(step), "metric": metric,
                     "value": float(value), "role": role, "unit": None, "pixel": None, **extra})

    def score():
        if supervised:
            return float(evaluate(net, (x_te, y_te))["accuracy"])
        return readout_accuracy(net.predict(x_tr), y_tr, net.predict(x_te), y_te, n_classes,
                                config, seed)

    def data(idx):
        return (x_tr[idx], y_tr[idx]) if supervised else (x_tr[idx],)

    def fit(model, idx):
        train(model, data(idx), epochs=1, batch_size=config.batch_size, shuffle=False,
              seed=seed, dt=config.dt, quiet=True)

    if learns:  # compile (or load) the drivers outside the timed calls
        twin, _ = build_network(rule, config, seed, x_tr.shape[1], n_classes)
        fit(twin, order[:min(len(order), max(16, 2 * config.batch_size))])

    wall = 0.0
    acc = score()
    row("test_accuracy", 0, acc)
    for start, stop in zip(points[:-1], points[1:]):
        if learns:
            t0 = time.perf_counter()
            try:
                fit(net, order[start:stop])
            except DivergenceError as exc:
                wall += time.perf_counter() - t0
                seen = int(start) + int(exc.step)
                row("final_test_accuracy", seen, math.nan)
                row("wall_time", seen, wall)
                row("synaptic_updates", seen, per_step * seen)
                err = DivergenceError(f"{rule} diverged after {seen} presentations: {exc}",
                                      exc.epoch, seen)
                err.rows = rows
                raise err from exc
            wall += time.perf_counter() - t0
            acc = score()
        row("test_accuracy", stop, acc)
    total = int(points[-1])
    row("final_test_accuracy", total, acc)
    row("wall_time", total, wall)
    row("synaptic_updates", total, per_step * total)
    if seed == 0 and config.rf_units > 0:
        W = net.projections[0].W
        for unit in range(min(config.rf_units, W.shape[0])):
            for pixel in range(W.shape[1]):
                rows.append({"rule": rule, "seed": seed, "task": name, "step": total,
                             "metric": "rf", "value": float(W[unit, pixel]), "role": role,
                             "unit": unit, "pixel": pixel})
    return rows


class LearningStudy(Study):
    """Digits (or MNIST): test accuracy against samples seen, final accuracy, cost, features."""

    name = "learning"
    summary = ("learn digits (or MNIST): accuracy against samples seen, final accuracy, wall "
               "time, synaptic updates, receptive fields")
    Config = LearningConfig
    headline = ("final_test_accuracy", "wall_time")
    extra_columns = ("role", "unit", "pixel")
    timing_metrics = ("wall_time",)  # -> timings.csv: metrics.csv is the same for the same seed
    captions = {
        "learning_curves": "Test accuracy against training presentations seen (mean over seeds "
                           "with 95% Student-t bands), one panel per role; local rules are read "
                           "through the same linear readout on their frozen hidden layer.",
        "final_accuracy": "Final test accuracy and wall time of learning per rule (mean and 95% "
                          "confidence interval over seeds); the dashed line is chance.",
        "receptive_fields": "Learned input weights of the first units of each rule's first layer "
                            "(seed 0), each image scaled to its own largest |weight| (red "
                            "positive, blue negative).",
    }

    def fits(self, rule_cls) -> bool:
        """Rules with a role here and no reason to be left out (:func:`exclusion`)."""
        return role_of(rule_cls) is not None and exclusion(rule_cls) is None

    def default_rules(self, config) -> list:
        """Every registered rule that fits, then the control :data:`CONTROL`."""
        return super().default_rules(config) + [CONTROL]

    def valid_rules(self, config) -> list:
        return sorted(set(super().valid_rules(config)) | {CONTROL})

    def run_one(self, config, rule, seed) -> list:
        return run(rule, config, seed)

    def figures(self, rows, config, figdir) -> list:
        from ._learning_figures import draw_all
        return draw_all(rows, figdir)


register_study(LearningStudy())
