"""The ``learning`` study: how each rule learns to represent and classify digits, against controls.

Every rule learns the 8x8 digits (``bl.datasets.load("digits")``: 1347 training and 450 test
images, pixels in [0, 1]), or MNIST when ``mnist_path`` names a folder of IDX files
(``bl.datasets.load("mnist", path=...)``). It is scored by test accuracy as it learns, and by
measures of what its own objective makes of the weights.

Rules in their natural role (:func:`role_of`, decided from each rule's metadata, so plug-ins
take part when they fit):

``end_to_end``
    rules that read the error and may sit on any projection (``needs`` holds ``error``: backprop,
    feedback alignment, direct feedback alignment) train a ``64-hidden-10`` tanh/softmax MLP
    (MNIST: ``784-hidden-10``) end to end, the rule on both projections.
``single_layer``
    supervised local rules of one layer -- those marked ``output_only`` (the delta rule) and
    reward-modulated rules (``needs`` holds ``reward``: ``reward_hebbian``) -- learn a ``64-10``
    softmax layer from the pixels.
``hidden``
    unsupervised local rules (``needs`` is ``pre`` and ``post`` only: Hebb, Oja, Sanger, BCM,
    covariance, competitive, threshold LTP, plug-ins) learn a hidden layer of ``hidden`` units
    from the inputs alone, and are scored through **one shared readout**, the same for every
    rule (:func:`brainlearn.studies.features.readout_accuracy`): at each evaluation point the
    hidden layer is frozen, its activities on the training set are centred and scaled to unit
    mean square norm, and a multinomial logistic regression (L2 penalty ``readout_l2``) is
    fitted to them by a Newton method until its gradient vanishes (deterministic: no learning rate, no
    epochs, no order). Its test accuracy is the rule's.

``spiking``
    unsupervised spiking rules (``stdp``, ``triplet_stdp``, plug-ins that read pre and post
    spikes only) learn the input weights of Diehl & Cook's network (:mod:`brainlearn.models`:
    ``hidden`` excitatory LIF neurons with adaptive thresholds, lateral inhibition through as
    many inhibitory ones, synaptic normalisation), shown each sample for 350 ms with 150 ms
    of rest, rate-coded (:func:`brainlearn.models.scaled_for` the digits), for
    ``spiking_epochs`` passes (:func:`run_spiking`). Its features are the frozen layer's
    spike counts, read by the same shared readout (``test_accuracy``) and by the paper's
    labelling and voting (``vote_accuracy``). ``triplet_stdp`` runs Diehl & Cook's published
    rule, ``stdp`` its pair-based variant.

**Settings.** Each rule runs with the settings of its data set in
:data:`brainlearn.studies.settings.SETTINGS`: learning rate, and for hidden-layer rules the unit
activation and input code (``"centred"``: pixels minus the training mean, for the Hebbian rules
analysed on zero-mean inputs -- Oja's and Sanger's PCA on linear units, as their theory assumes;
``"rates"``: pixels in [0, 1], for LTP-style rules and the supervised ones). They were chosen by
the documented sweep ``experiments/tune_settings.py`` and are recorded in ``config.json`` under
``rule_settings``. ``lr`` set in the configuration replaces the learning rate of every rule
that has one (``--grid lr=...`` sweeps it); ``inputs`` other than ``"auto"`` imposes one input
code on every rule. Plain Hebb (marked ``unstable``) runs as it is, without a stabiliser: a run
whose weights become non-finite is recorded as diverged.

**Controls.** Three references are run like rules, read out by the same readout:

``random_features``
    the hidden layer left at its random initial weights (the same draw every hidden-role rule
    starts from with that seed), tanh units on centred inputs: does a rule's learning help its
    features at all?
``pca``
    the exact top ``min(hidden, inputs)`` principal components of the training inputs (a NumPy
    SVD), as linear units on centred inputs: what the PCA rules should reach, and the classic
    unsupervised baseline.
``static_spiking``
    the spiking layer's control: Diehl & Cook's network with the same initial weights and no
    plasticity on them (its adaptive thresholds, inhibition and normalisation still act),
    shown the same samples: what the spiking rules' learning adds.

**Labels.** ``labels_per_class`` (0: all) gives the readout, and the supervised rules, only that
many labelled training samples of each class (the same subset for every rule with the same
seed, :func:`~brainlearn.studies.features.label_subset`). Unsupervised rules still learn from
every training input, which is where learned features can pay: with few labels.

Protocol: the training presentations are ``epochs`` shuffled passes over the training set (the
order drawn from the run's seed, the same for every rule; supervised rules pass over their
labelled samples), online (``batch_size`` 1) with ``dt`` seconds each, cut into ``eval_points``
chunks of equal length; each chunk is one call of :func:`brainlearn.train` (compiled drivers,
no Python per sample), and the test set is scored before training and after every chunk. An
untimed warm-up call on a twin network first compiles (or loads) the drivers, so that the wall
time measures learning, not compiling.

Metrics (tidy rows; ``task`` is the data set's name; extra columns ``role``, ``unit``, ``pixel``),
against ``step`` = training presentations seen (from 0):

* ``test_accuracy``: test accuracy (the network's own output for supervised rules, the shared
  readout for the others);
* ``weight_change``: relative change of the learning weights over the chunk,
  ``|W_k - W_{k-1}|_F / |W_{k-1}|_F`` over every learning projection (every rule): it falls
  toward 0 as a rule converges;
* ``pc_alignment`` (rules with a principal-component objective, :data:`PC_TARGETS`, and the
  PCA control): mean ``|cos|`` between unit k and principal component k of the training inputs
  (Sanger) or between every unit and the first component (Oja), over the first ``pc_units``
  units (:func:`~brainlearn.studies.features.pc_alignment`);
* ``selectivity`` (every rule with a hidden layer, and the controls): mean over the hidden units
  of the sparseness of their class-mean responses on the training set (Rolls & Tovee 1995,
  normalised as Vinje & Gallant 2000; :func:`~brainlearn.studies.features.selectivity`);
* ``dead_units`` (the same): hidden units that never respond -- or, for winner-take-all rules
  (:data:`WINNER_TAKE_ALL`), never win -- on the training set;
* ``vote_accuracy`` (spiking layers): the test accuracy of Diehl & Cook's readout, each
  neuron labelled with the class of its highest mean spike count on the (labelled) training
  samples, the classes' neurons voting with their mean count; ``final_vote_accuracy``
  (headline) at the end;
* ``final_test_accuracy`` (headline): the test accuracy at the end; also headline the final
  ``pc_alignment``, ``selectivity`` and ``dead_units``;
* ``wall_time`` (headline; a timing metric): seconds spent in the rule's training calls
  (evaluation, readouts and the warm-up excluded), stored in ``timings.csv`` (same columns), so
  that ``metrics.csv`` is byte-identical for the same configuration and seeds;
* ``synaptic_updates``: weight updates made, ``n_pre * n_post`` per presentation summed over the
  projections that learn;
* ``rf``: the weights of the first ``rf_units`` units of the first layer (hidden units; for
  single-layer rules the output units, one per class; for the PCA control the components), seed
  0 only: ``unit`` and ``pixel`` give the weight's place, ``value`` the weight.

A run that diverges keeps its curves up to the divergence, NaN final accuracy and the time and
updates so far (``status`` diverged in ``meta.json``).

Figures (from ``metrics.csv`` and ``timings.csv`` alone;
:mod:`brainlearn.studies._learning_figures`): learning curves with 95% Student-t bands over seeds,
one panel per role, the controls drawn in the hidden panel; the rules' own objectives against
samples seen (weight change, PC alignment, selectivity, dead units); final accuracy and wall time
per rule; a grid of receptive fields per rule. Sweeps over ``hidden`` and ``labels_per_class``
(``brainlearn sweep learning --grid hidden=8,16,32,64,128 --grid labels_per_class=5,20,0``)
draw the final accuracy against the hidden size, with both controls, a panel per label budget.

References
----------
Oja, E. (1982). J. Math. Biol. 15, 267-273. Sanger, T. D. (1989). Neural Networks 2, 459-473.
Rolls, E. T. & Tovee, M. J. (1995). J. Neurophysiol. 73, 713-726.
Vinje, W. E. & Gallant, J. L. (2000). Science 287, 1273-1276.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import datasets, models
from ..engine import DivergenceError, evaluate, train
from ..engine.presenting import present
from ..network import Network
from ..rules import base as _rules
from ._base import Study, overrides_end_task, register_study
from . import features as feat
from ._learning_findings import learning_findings, learning_sweep_findings
from .settings import Setting, dataset_kind, setting

__all__ = ["LearningConfig", "LearningStudy", "ROLES", "CONTROL", "PCA", "SPIKING_CONTROL",
           "CONTROLS", "PC_TARGETS",
           "WINNER_TAKE_ALL", "role_of", "exclusion", "input_code", "rule_setting",
           "build_network", "checkpoints", "load_data"]

ROLES = ("end_to_end", "single_layer", "hidden", "spiking")
#: the label of the control: the hidden layer at its random initial weights, no learning
CONTROL = "random_features"
#: the label of the reference: the exact top principal components of the training inputs
PCA = "pca"
#: the label of the spiking layer's control: Diehl & Cook's network without plasticity
SPIKING_CONTROL = "static_spiking"
CONTROLS = (CONTROL, PCA, SPIKING_CONTROL)
#: the principal-component objective of a rule's units (see :func:`features.pc_alignment`):
#: Oja's rule on independent units -- every unit toward the first component; Sanger's GHA --
#: unit k toward component k
PC_TARGETS = {"oja": "first", "sanger": "ordered", PCA: "ordered", CONTROL: "ordered"}
#: rules whose units compete for each input (the winner is the unit nearest to the input): a
#: unit that wins no training input is dead
WINNER_TAKE_ALL = ("competitive",)


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
        Hidden units of the MLP (end to end), of the hidden layer of local rules and of the
        controls (PCA: at most as many components as inputs).
    epochs : int
        Passes over the training set.
    eval_points : int
        Evaluations of the test set during training (besides the one before training); 0: one
        evaluation, at the end only (for sweeps that compare final values).
    lr : float or None
        Learning rate of every rule that has one; None: each rule's tuned setting for the data
        set (:data:`brainlearn.studies.settings.SETTINGS`).
    batch_size : int
        1: online learning; larger: minibatches (the mean update of a batch).
    labels_per_class : int
        Labelled training samples per class given to the readout and to the supervised rules;
        0: all of them.
    readout_l2 : float
        L2 penalty of the shared readout (on features of unit mean square norm).
    inputs : {"auto", "rates", "centred"}
        Input code: each rule's setting (``auto``), pixels in [0, 1] for every rule, or pixels
        minus the training-set mean for every rule.
    rf_units : int
        Receptive fields stored per rule (seed 0).
    pc_units : int
        Units over which ``pc_alignment`` is averaged (the first ones).
    dt : float
        Seconds per presentation (passed to the rule kernels).
    dtype : {"float64", "float32"}
        Floating-point type of the networks.
    spiking_epochs : int
        Passes over the training set of the spiking layer (Diehl & Cook's network: 0.5 s of
        simulated time per sample; the paper's 100-neuron network learned MNIST in one).
    """

    mnist_path: str | None = None
    train_size: int | None = None
    hidden: int = 100
    epochs: int = 20
    eval_points: int = 10
    lr: float | None = None
    batch_size: int = 1
    labels_per_class: int = 0
    readout_l2: float = feat.READOUT_L2
    inputs: Literal["auto", "rates", "centred"] = "auto"
    rf_units: int = 8
    pc_units: int = 8
    dt: float = 1.0
    dtype: Literal["float64", "float32"] = "float64"
    spiking_epochs: int = 1

    @classmethod
    def quick(cls) -> "LearningConfig":
        """The quick size: half the passes, four evaluation points."""
        return cls(epochs=10, eval_points=4)

    def __post_init__(self):
        for name in ("hidden", "epochs", "batch_size", "pc_units", "spiking_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}={value!r} must be an integer >= 1")
        size = self.train_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))
                                 or size < 2):
            raise ValueError(f"train_size={size!r} must be None or an integer >= 2")
        for name in ("rf_units", "labels_per_class", "eval_points"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name}={value!r} must be an integer >= 0")
        names = ("dt", "readout_l2") + (("lr",) if self.lr is not None else ())
        for name in names:
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
    if getattr(rule_cls, "on_pre", None) is not None:  # a SpikingRule
        return spiking_exclusion(rule_cls)
    family = rule_cls.tags.family
    if rule_cls.tags.lateral:
        return "a lateral rule (a population to itself); the study's networks are feed-forward"
    if rule_cls.tags.constraint or not {"pre", "post"} <= needs:
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


def spiking_exclusion(rule_cls) -> str | None:
    """Why a spiking rule cannot learn in Diehl & Cook's layer, or None when it can (the
    ``spiking`` role of this study and of the retention study)."""
    if rule_cls.tags.reads_voltage:
        return ("a spiking rule that reads the membrane potential of AdEx cells: the spiking "
                "layer here is Diehl & Cook's, of LIF neurons, whose potential never reaches "
                "the rule's potentiation threshold")
    if set(getattr(rule_cls, "needs", ())) & {"error", "reward"}:
        return ("a spiking rule that needs a reward or an error: the spiking layer here "
                "(Diehl & Cook's) learns without a teaching signal")
    return None


def role_of(rule_cls) -> str | None:
    """The role of a rule class in the study (see the module docstring), or None when the rule
    cannot learn a classifier here (lateral, or without presynaptic and postsynaptic activity)."""
    needs = set(getattr(rule_cls, "needs", ()))
    if getattr(rule_cls, "on_pre", None) is not None:  # a spiking rule: Diehl & Cook's layer
        return None if spiking_exclusion(rule_cls) else "spiking"
    if rule_cls.tags.lateral or not {"pre", "post"} <= needs:
        return None
    if rule_cls.tags.output_only:
        return "single_layer"
    if "error" in needs:
        return "end_to_end"
    if "reward" in needs:
        return "single_layer"
    return "hidden"


def _rule_class(rule):
    return None if rule in CONTROLS else _rules.get(rule)


def rule_setting(rule, config, n_inputs) -> Setting:
    """The :class:`~brainlearn.studies.settings.Setting` a rule (a registered name or a control)
    runs with in this configuration: the data set's tuned setting, with ``config.lr`` and
    ``config.inputs`` applied."""
    if rule == CONTROL:
        base = Setting({}, "tanh", "centred")
    elif rule == SPIKING_CONTROL:
        base = Setting({}, "lif", "rates")
    elif rule == PCA:
        base = Setting({}, "linear", "centred")
    elif role_of(_rules.get(rule)) == "spiking":
        r = spiking_rule(_rules.get(rule))
        base = Setting({f.name: getattr(r, f.name) for f in dataclasses.fields(r)}, "lif",
                       "rates")
    else:
        cls = _rules.get(rule)
        base = setting(cls, dataset_kind(n_inputs))
        if config.lr is not None and "lr" in {f.name for f in dataclasses.fields(cls)}:
            base = dataclasses.replace(base, params={**base.params, "lr": config.lr})
    if config.inputs != "auto" and rule not in CONTROLS:
        base = dataclasses.replace(base, inputs=config.inputs)
    return base


def input_code(rule_cls, config) -> str:
    """``"rates"`` (pixels in [0, 1]) or ``"centred"`` (pixels minus the training mean) for a rule
    class (None: the random-features control) on the digits."""
    if rule_cls is None:
        return config.inputs if config.inputs != "auto" else "centred"
    base = setting(rule_cls, "digits")
    return config.inputs if config.inputs != "auto" else base.inputs


def spiking_rule(cls):
    """The rule of the spiking layer: Diehl & Cook's published STDP for ``triplet_stdp``
    (:func:`brainlearn.models.diehl_cook_rule`), its pair-based variant for ``stdp``
    (nearest-spike, potentiation 0.01 x_pre at a postsynaptic spike, depression 1e-4 x_post
    at a presynaptic one, w in [0, 1]: the paper's "pre-and-post" rule), any other spiking
    rule with its defaults and ``w_max`` = 1 when it has one."""
    from ..rules.stdp import STDP
    if cls.name == "triplet_stdp":
        return models.diehl_cook_rule()
    if cls.name == "stdp":
        return STDP(nearest=True, a_plus=0.01, a_minus=1e-4, tau_plus=20e-3, tau_minus=20e-3,
                    w_min=0.0, w_max=1.0)
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(w_max=1.0) if "w_max" in names else cls()


def _make_rule(cls, params):
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in params.items() if k in names})


def build_network(rule, config, seed, n_in, n_classes):
    """The network of ``rule`` (a registered name or :data:`CONTROL`) in its role.

    Returns ``(net, role)``. For the hidden role the network is ``input -> hidden`` only (the
    readout is separate); the control's hidden projection has no rule. (The PCA control has no
    network: see :func:`run`.)
    """
    if rule == PCA:
        raise ValueError("the PCA control has no network (its features come from an SVD)")
    cls = _rule_class(rule)
    role = "spiking" if rule == SPIKING_CONTROL else "hidden" if cls is None else role_of(cls)
    if role is None:
        raise ValueError(f"rule={rule!r} has no role in the learning study (lateral, or it reads "
                         "no presynaptic and postsynaptic activity)")
    chosen = rule_setting(rule, config, n_in)
    if role == "spiking":
        total, _ = models.scaled_for(load_data(config)[1])
        net = models.diehl_cook(n_in, config.hidden, seed=seed, normalize=total,
                                rule=False if cls is None else spiking_rule(cls),
                                dtype=config.dtype)
        return net, role
    net = Network(seed=seed, dtype=config.dtype)
    x = net.add_input(n_in, name="input")
    if role == "single_layer":
        out = net.add_population(n_classes, activation="softmax", name="output")
        net.connect(x, out, rule=_make_rule(cls, chosen.params))
        return net, role
    if role == "end_to_end":
        h = net.add_population(config.hidden, activation=chosen.activation, name="hidden")
        out = net.add_population(n_classes, activation="softmax", name="output")
        net.connect(x, h, rule=_make_rule(cls, chosen.params))
        net.connect(h, out, rule=_make_rule(cls, chosen.params))
        return net, role
    h = net.add_population(config.hidden, activation=chosen.activation, name="hidden")
    net.connect(x, h, rule=None if cls is None else _make_rule(cls, chosen.params))
    return net, role


# -- data, schedule -------------------------------------------------------------------------------
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


@functools.lru_cache(maxsize=8)
def _components(mnist_path, train_size):
    """Principal components and mean of the configured training inputs (cached per data set)."""
    data = _load(mnist_path)
    n = len(data.y_train) if train_size is None else min(train_size, len(data.y_train))
    x = np.asarray(data.x_train[:n], dtype=np.float64)
    V, variance = feat.principal_components(x)
    # components of (numerically) zero variance -- pixels that are always blank -- are no
    # features: the PCA control keeps those with variance
    keep = variance > 1e-10 * variance[0]
    return V[keep], x.mean(axis=0)


# -- one run --------------------------------------------------------------------------------------
def _learning_updates(net) -> int:
    """Synapses updated per presentation: n_pre * n_post over the projections that learn."""
    return sum(q.pre.size * q.post.size for q in net.projections if q.rule is not None)


def _winners(W, x):
    """The unit nearest to each input (squared distance), as the competitive rule picks it."""
    W = np.asarray(W, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    d = (W * W).sum(axis=1)[None, :] - 2.0 * x @ W.T
    return np.argmin(d, axis=1)


def run(rule, config, seed) -> list:
    """One run of ``rule`` (or a control, :data:`CONTROLS`) with ``seed``: its metric rows.

    Raises :class:`~brainlearn.DivergenceError` (``step``: presentations seen) when training
    diverges, with the rows recorded so far as ``exc.rows``.
    """
    name, x_tr, y_tr, x_te, y_te, n_classes = load_data(config)
    n_in = x_tr.shape[1]
    cls = _rule_class(rule)
    if rule == SPIKING_CONTROL or (cls is not None and role_of(cls) == "spiking"):
        return run_spiking(rule, config, seed)
    chosen = rule_setting(rule, config, n_in)
    components, mean = _components(config.mnist_path, config.train_size)
    if chosen.inputs == "centred":
        x_tr, x_te = x_tr - mean.astype(x_tr.dtype), x_te - mean.astype(x_te.dtype)
    x_tr = np.ascontiguousarray(x_tr, dtype=config.dtype)
    x_te = np.ascontiguousarray(x_te, dtype=config.dtype)
    if rule == PCA:
        net, role = None, "hidden"
        k = min(config.hidden, components.shape[0])
        V = np.ascontiguousarray(components[:k], dtype=config.dtype)

        def hidden(x):
            return x @ V.T
    else:
        net, role = build_network(rule, config, seed, n_in, n_classes)

        def hidden(x):
            return net.activities(x)["hidden"]
    supervised = role != "hidden"
    learns = cls is not None
    has_hidden = role != "single_layer"

    labelled = feat.label_subset(y_tr, config.labels_per_class, seed)
    pool = labelled if supervised else np.arange(len(y_tr))
    rng = np.random.default_rng([seed, 1])
    order = np.concatenate([pool[rng.permutation(len(pool))] for _ in range(config.epochs)])
    points = checkpoints(len(order), max(1, config.eval_points))
    per_step = _learning_updates(net) if learns else 0
    target = PC_TARGETS.get(rule)
    rows = []

    def row(metric, step, value, **extra):
        rows.append({"rule": rule, "seed": seed, "task": name, "step": int(step), "metric": metric,
                     "value": float(value), "role": role, "unit": None, "pixel": None, **extra})

    def weights():
        return [] if net is None else [q.W.copy() for q in net.projections if q.rule is not None]

    def first_weights():
        return V if net is None else net.projections[0].W

    readout = feat.Readout(n_classes, config.readout_l2)  # each fit starts from the last

    def measure(step):
        """Score the test set; for a hidden layer also what its units have become."""
        F = hidden(x_tr) if has_hidden else None
        if supervised:
            acc = float(evaluate(net, (x_te, y_te))["accuracy"])
        else:
            acc = readout.accuracy(F, y_tr, hidden(x_te), y_te, labelled=labelled)
        row("test_accuracy", step, acc)
        if has_hidden:
            F = np.asarray(F, dtype=np.float64)
            if np.isfinite(F).all():
                row("selectivity", step, feat.selectivity(
                    feat.class_means(F, y_tr, n_classes)).mean())
                wins = _winners(first_weights(), x_tr) if rule in WINNER_TAKE_ALL else None
                row("dead_units", step, feat.dead_units(F, wins))
            if target is not None:
                row("pc_alignment", step, feat.pc_alignment(first_weights(), components,
                                                            config.pc_units, target))
        return acc

    def data(idx):
        return (x_tr[idx], y_tr[idx]) if supervised else (x_tr[idx],)

    def fit(model, idx):
        train(model, data(idx), epochs=1, batch_size=config.batch_size, shuffle=False,
              seed=seed, dt=config.dt, quiet=True)

    if learns:  # compile (or load) the drivers outside the timed calls
        twin, _ = build_network(rule, config, seed, n_in, n_classes)
        fit(twin, order[:min(len(order), max(16, 2 * config.batch_size))])

    wall = 0.0
    acc = measure(0) if config.eval_points > 0 else math.nan
    for start, stop in zip(points[:-1], points[1:]):
        if learns:
            before = weights()
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
            row("weight_change", stop, feat.weight_change(before, weights()))
        acc = measure(stop)
    total = int(points[-1])
    row("final_test_accuracy", total, acc)
    row("wall_time", total, wall)
    row("synaptic_updates", total, per_step * total)
    if seed == 0 and config.rf_units > 0:
        W = first_weights()
        for unit in range(min(config.rf_units, W.shape[0])):
            for pixel in range(W.shape[1]):
                rows.append({"rule": rule, "seed": seed, "task": name, "step": total,
                             "metric": "rf", "value": float(W[unit, pixel]), "role": role,
                             "unit": unit, "pixel": pixel})
    return rows


def run_spiking(rule, config, seed) -> list:
    """One run of a spiking rule in Diehl & Cook's network (``hidden`` excitatory neurons):
    ``spiking_epochs`` passes of :func:`brainlearn.train` with the paper's presentation
    protocol (:func:`brainlearn.models.scaled_for` the data), and at each evaluation point
    the frozen layer's spike counts on the training and test sets (:func:`brainlearn.present`
    with ``learn=False``) read out by the shared readout (``test_accuracy``, as every local
    rule) and by the paper's labelling and voting (``vote_accuracy``)."""
    name, x_tr, y_tr, x_te, y_te, n_classes = load_data(config)
    n_in = x_tr.shape[1]
    net, role = build_network(rule, config, seed, n_in, n_classes)
    _, protocol = models.scaled_for(x_tr)
    q = net.projections[0]
    labelled = feat.label_subset(y_tr, config.labels_per_class, seed)
    rng = np.random.default_rng([seed, 1])
    order = np.concatenate([rng.permutation(len(y_tr)) for _ in range(config.spiking_epochs)])
    points = checkpoints(len(order), max(1, config.eval_points))
    rows = []
    readout = feat.Readout(n_classes, config.readout_l2)

    def row(metric, step, value, **extra):
        rows.append({"rule": rule, "seed": seed, "task": name, "step": int(step), "metric": metric,
                     "value": float(value), "role": role, "unit": None, "pixel": None, **extra})

    def measure(step, k):
        F = present(net, x_tr, protocol=protocol, learn=False, seed=seed * 1000 + 2 * k)
        Ft = present(net, x_te, protocol=protocol, learn=False, seed=seed * 1000 + 2 * k + 1)
        F, Ft = F.counts["exc"].astype(np.float64), Ft.counts["exc"].astype(np.float64)
        acc = readout.accuracy(F, y_tr, Ft, y_te, labelled=labelled)
        row("test_accuracy", step, acc)
        assigned = models.assign_labels(F[labelled], y_tr[labelled], n_classes)
        row("vote_accuracy", step, float(np.mean(models.vote(Ft, assigned, n_classes) == y_te)))
        row("selectivity", step, feat.selectivity(feat.class_means(F, y_tr, n_classes)).mean())
        row("dead_units", step, feat.dead_units(F, None))
        return acc

    wall = 0.0
    acc = measure(0, 0) if config.eval_points > 0 else math.nan
    for k, (start, stop) in enumerate(zip(points[:-1], points[1:]), 1):
        before = [q.W.copy()]
        t0 = time.perf_counter()
        train(net, (x_tr[order[start:stop]],), epochs=1, shuffle=False, presentation=protocol,
              seed=seed * 7919 + k, quiet=True)
        wall += time.perf_counter() - t0
        row("weight_change", stop, feat.weight_change(before, [q.W.copy()]))
        acc = measure(stop, k)
    total = int(points[-1])
    row("final_test_accuracy", total, acc)
    row("final_vote_accuracy", total, next(r["value"] for r in reversed(rows)
                                            if r["metric"] == "vote_accuracy"))
    row("wall_time", total, wall)
    row("synaptic_updates", total, q.pre.size * q.post.size * total if q.rule is not None else 0)
    if seed == 0 and config.rf_units > 0:
        for unit in range(min(config.rf_units, q.W.shape[0])):
            for pixel in range(q.W.shape[1]):
                rows.append({"rule": rule, "seed": seed, "task": name, "step": total,
                             "metric": "rf", "value": float(q.W[unit, pixel]), "role": role,
                             "unit": unit, "pixel": pixel})
    return rows


class LearningStudy(Study):
    """Digits (or MNIST): accuracy against samples seen, the rules' own objectives, controls."""

    name = "learning"
    summary = ("learn digits (or MNIST): accuracy against samples seen, the rules' objectives "
               "(PC alignment, selectivity, dead units, weight change), controls, receptive "
               "fields")
    Config = LearningConfig
    headline = ("final_test_accuracy", "final_vote_accuracy", "pc_alignment", "selectivity",
                "dead_units", "wall_time")
    extra_columns = ("role", "unit", "pixel")
    timing_metrics = ("wall_time",)  # -> timings.csv: metrics.csv is the same for the same seed
    value_names = {"labels_per_class": {"0": "all"}}
    captions = {
        "learning_curves": "Test accuracy against training presentations seen (mean over seeds "
                           "with 95% Student-t bands, clipped to [0, 1]), one panel per role; "
                           "local rules are read through the same converged linear readout on "
                           "their frozen hidden layer, beside the two controls (random "
                           "features, exact PCA); where three or more curves end close together at the top "
                           "of a panel, an inset magnifies them.",
        "objectives": "What each local rule's own objective makes of its hidden layer, with "
                      "backprop's for reference, against presentations seen (mean over seeds, "
                      "95% bands clipped to each "
                      "measure's range): relative weight change per evaluation chunk (log "
                      "scale; it falls as a rule converges), alignment of the units with the "
                      "principal components (Oja: every unit with PC1; Sanger: unit k with PC "
                      "k), class selectivity of the hidden units (sparseness of their class "
                      "means) and dead units.",
        "final_accuracy": "Final test accuracy and wall time of learning per rule (mean and 95% "
                          "confidence interval over seeds); the dashed line is chance.",
        "receptive_fields": "Learned input weights of the first units of each rule's first layer "
                            "(seed 0), each image scaled to its own largest |weight| and signed "
                            "so that it is positive (red positive, blue negative); the PCA row "
                            "shows the top principal components (eigen-digits).",
    }

    def fits(self, rule_cls) -> bool:
        """Rules with a role here and no reason to be left out (:func:`exclusion`)."""
        return role_of(rule_cls) is not None and exclusion(rule_cls) is None

    def default_rules(self, config) -> list:
        """Every registered rule that fits, then the controls :data:`CONTROLS`."""
        return super().default_rules(config) + list(CONTROLS)

    def valid_rules(self, config) -> list:
        return sorted(set(super().valid_rules(config)) | set(CONTROLS))

    def settings_record(self, config, rules) -> dict:
        """The settings each rule ran with (``config.json``'s ``rule_settings``)."""
        n_in = load_data(config)[1].shape[1]
        return {rule: rule_setting(rule, config, n_in).record() for rule in rules}

    def run_one(self, config, rule, seed) -> list:
        return run(rule, config, seed)

    def overview(self, summary_rows, config) -> list:
        """The report's opening table: the headline metrics in their order (accuracy first)."""
        order = {m: k for k, m in enumerate(self.headline)}
        return sorted(summary_rows, key=lambda r: order.get(r["metric"], len(order)))

    def sweep_findings(self, summary_rows, grid) -> dict:
        """Where learned features beat the random ones along the sweep
        (:func:`._learning_findings.learning_sweep_findings`)."""
        return learning_sweep_findings(summary_rows, grid)

    def findings(self, summary_rows, rows, config) -> dict:
        """The sentence of each figure (:func:`._learning_findings.learning_findings`)."""
        return learning_findings(summary_rows, rows)

    def figures(self, rows, config, figdir) -> list:
        from ._learning_figures import draw_all
        return draw_all(rows, figdir)


register_study(LearningStudy())
