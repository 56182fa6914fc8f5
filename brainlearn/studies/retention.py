"""The ``retention`` study: how much of earlier tasks a rule keeps while it learns new ones.

A network learns a sequence of tasks, one after the other, and after each task is tested on
every task of the sequence. This gives the accuracy matrix of Lopez-Paz & Ranzato (2017),
``R[i, j]`` = accuracy on task ``j`` after training through task ``i`` (tasks numbered from 1),
and from it the continual-learning metrics (:func:`continual_metrics`). The ``features``
scenario asks the same of what a rule's layer learned rather than of its network's output:
how much of the features learned on a first task survive a second one.

Scenarios, all on the bundled 8x8 digits; the config field ``scenarios`` lists those a run
trains (all four by default), each from a fresh network. The three task sequences of van de Ven
& Tolias (2019):

``task_incremental``
    split digits, five tasks of two classes ({0, 1}, {2, 3}, ..., {8, 9}); at evaluation the
    task is known: the prediction is the larger of the two output units of the task's classes
    (a multi-head network made by masking the shared 10-unit output at evaluation). Training
    uses the shared 10-way softmax, so the masking helps only at test time.
``class_incremental``
    the same five tasks, evaluated over all ten output units (one head, the task unknown).
``permuted``
    domain-incremental permuted digits: ``n_permuted`` tasks, each the full ten-class problem
    with its pixels shuffled by a fixed permutation drawn from the run's seed (task 1 is the
    original digits); one 10-way head shared by all tasks.

and the retention of learned features:

``features``
    task A is digits 0-4, task B digits 5-9 (:data:`FEATURE_CLASSES`; training samples of
    those classes). The rule's layer learns A for ``feature_epochs`` passes, then B (the protocol
    below; :func:`run_features`), and its **features** -- the activities of its hidden layer
    on task A's inputs -- are measured at the end of A and at the end of B with the shared
    readout of :mod:`brainlearn.studies.features` (multinomial logistic regression fitted to
    convergence, on features standardised by :func:`~brainlearn.studies.features.standardise`;
    5 classes, chance 0.2), fitted on A's training samples with A's labels and scored on A's
    test samples. The networks here: hidden-role rules learn an ``input -> hidden`` layer of
    ``hidden`` units alone, from the inputs only (no labels, no readout during the
    presentations), with the activation, input code and hyperparameters of
    :func:`brainlearn.studies.settings.setting` for the digits (centred inputs are the pixels
    minus the mean of all training inputs); end-to-end and consolidation rules learn the
    study's ``64-hidden-10`` network with the labels, and their features are its hidden
    layer's activities; single-layer rules (delta, reward-modulated) have no hidden layer:
    their features are the activities of their output layer (the 10 softmax units), measured
    the same way. The weights measured are those of the layer's incoming projection.
    Rule settings differ from those of the three sequences above for hidden-role rules
    (there: ``tanh`` units on pixels in [0, 1], :data:`HIDDEN_SETTINGS`).

Rules in their natural role (:func:`role_of`, from each rule's metadata, so plug-ins take part
when they fit; the roles are those of the learning study, plus the consolidation terms):

``end_to_end``
    gradient rules that read the error (backprop, feedback alignment, direct feedback
    alignment): a ``64-hidden-10`` tanh/softmax network with the rule on both projections,
    learning rate ``lr``.
``consolidation``
    gradient-family terms that consolidate at task boundaries (they override ``end_task``:
    EWC, synaptic intelligence): the same network and initial weights with
    ``chain("backprop", term)`` on both projections, the term's ``lr`` equal to backprop's and
    its ``strength`` the config's ``ewc_strength`` / ``si_strength``.
``single_layer``
    supervised local rules of one layer: the delta rule (``output_only``, learning rate
    ``lr``) and reward-modulated rules (``needs`` holds ``reward``, their own defaults) learn a
    ``64-10`` softmax layer from the pixels.
``hidden``
    the other local rules (Hebbian, threshold LTP, tag-and-capture, plug-ins): the rule learns
    the hidden layer (``tanh`` units, as in the gradient networks; rate-network settings in
    :data:`HIDDEN_SETTINGS`, a rule not listed keeps its defaults) while the **shared
    readout** -- the delta rule on the hidden-to-output projection at ``readout_lr``, the same
    for every local rule -- learns the classes from the hidden activity in the same
    presentations. Forgetting is then that of the features and of the readout together (a
    readout that is itself trained sequentially forgets like any single layer does).
    Tag-and-capture stands on the same footing as every other rule: it learns during the
    presentations (its early phase), and the rest after each task is where its proteins and
    late phase act.

``spiking``
    unsupervised spiking rules: Diehl & Cook's network of ``hidden`` excitatory neurons
    (:func:`spiking_network`; the rule in the learning study's parametrisation) learns each
    task's inputs without labels under the paper's presentation protocol; at the end of each
    task its neurons are labelled from that task's own training samples (the class means of
    the classes taught last are remembered, no replay), and the tests are read by the paper's
    vote (:func:`run_spiking_scenario`). In the ``features`` scenario its features are the
    frozen layer's spike counts, learned for ``feature_epochs // 5`` passes per task (a
    spiking sample costs 0.5 s of simulated time). Diehl & Cook's rule (``triplet_stdp``) runs
    by default, other spiking rules when asked for.

Left out by default (:func:`exclusion` gives the reason; ``--rules`` still runs a rule that has
a role): lateral rules, constraints and terms without pre and post activity (``weight_decay``),
homeostatic and associative-memory rules, rules marked ``unstable`` (``hebb``, ``covariance``:
their weights grow without bound), and spike-driven rules (a ``rates`` hyperparameter: they
read spike counts at millisecond steps -- ``calcium``; see :mod:`brainlearn.protocols`).

Every rule gets the same protocol: for each task, ``epochs`` passes over its training set in
an order drawn from the run's seed (online, ``batch_size`` 1, ``dt`` seconds per
presentation); then, between tasks, :func:`brainlearn.end_task` (EWC and SI consolidate, other
rules ignore it) and :func:`brainlearn.rest` for ``rest`` seconds (rules with rest dynamics --
tag-and-capture -- decay their tags and consolidate the late phase; for the others nothing
happens). Training runs in ``evals_per_task`` chunks per task, each one call of
:func:`brainlearn.train` (compiled drivers, no Python per sample); task 1's test set is scored
after each chunk, every task's at the end of each task (one forward pass each). The
``features`` scenario trains each task in one call (no chunks) and measures only at the end of
A and of B. The initial weights are drawn from the run's seed (the same for every rule with the
same architecture), and so are the presentation orders and the permutations.

Metrics (tidy rows; extra columns ``scenario``, ``eval_task`` and ``role``). Of the task
sequences:

* ``accuracy``: ``R[i, j]``, rows with ``task = str(i)`` (trained through task ``i``) and
  ``eval_task = j``, ``step`` the samples seen at the end of task ``i`` (before the rest);
* ``retention``: the accuracy on task 1 (``eval_task = 1``) at step 0 and after every chunk,
  through all later tasks; ``task`` is the task being trained, ``step`` the samples seen;
* ``avg_accuracy``, ``bwt``, ``forgetting`` (:func:`continual_metrics`; headline): ``task`` is
  the scenario's name, ``step`` the samples seen at the end.

Of the ``features`` scenario (one row each per run, all headline; :data:`FEATURE_METRICS`
gives each one's ``task`` and ``eval_task``; ``step`` the samples seen when it is measured).
"After A" and "after B" are the ends of the tasks' presentations, as for ``R``: between them
lie :func:`~brainlearn.end_task`, the rest and task B.

* ``feature_acc_before`` (``task`` 1, ``eval_task`` 1): accuracy on A's test set of the
  readout fitted on the layer's A training features after A;
* ``feature_acc_frozen`` (``task`` 2, ``eval_task`` 1): that readout, frozen, on the A test
  features after B, standardised with the centring and scale of the after-A training features
  -- what a downstream reader that learned A from this layer still gets;
* ``feature_acc_refit`` (``task`` 2, ``eval_task`` 1): a readout fitted afresh on the A
  training features after B -- whether the information about A is still in the layer at all;
* ``weight_drift`` (``task`` 2): relative change of the layer's weights from the end of A to
  the end of B, ``|W_B - W_A|_F / |W_A|_F`` (:func:`~brainlearn.studies.features.weight_change`);
* ``weight_change_a`` (``task`` 1): the same from the initial weights to the end of A (how much
  the layer learned on A: a small drift of a layer that learns little is no retention);
* ``feature_retention`` (the headline column; ``task`` ``features``): ``feature_acc_frozen /
  feature_acc_before``; ``refit_retention``: ``feature_acc_refit / feature_acc_before``. Both
  are ratios of accuracies, so a layer whose frozen readout falls to chance keeps about
  ``0.2 / feature_acc_before``, not 0.

The headline metrics are summarised per rule, scenario and metric: each scenario has its own
(a metric absent from a scenario has no row there).

A run that diverges keeps the rows of the scenarios (and tasks) it finished; ``status`` is
``diverged`` in ``meta.json``.

Figures (from ``metrics.csv`` alone; :mod:`brainlearn.studies._retention_figures`): the accuracy
matrices of every rule as heatmaps on one colour scale (one figure per task-sequence scenario),
the retention curves of task 1 with 95% bands (a row per task-sequence scenario, a column per
role; backprop is drawn with the consolidation terms as their reference), BWT and average
accuracy per rule with 95% confidence intervals, and ``feature_retention``: per rule, the
three readout accuracies of the ``features`` scenario and the weight changes, mean with 95%
confidence interval over seeds.

References
----------
Lopez-Paz, D. & Ranzato, M. (2017). Gradient episodic memory for continual learning. NeurIPS.
Chaudhry, A., Dokania, P. K., Ajanthan, T. & Torr, P. H. S. (2018). Riemannian walk for
incremental learning: understanding forgetting and intransigence. ECCV.
van de Ven, G. M. & Tolias, A. S. (2019). Three scenarios for continual learning. arXiv:1904.07734.
Davari, M., Asadi, N., Mudur, S., Aljundi, R. & Belilovsky, E. (2022). Probing representation
forgetting in supervised and unsupervised continual learning. CVPR. (A readout refitted on the
features after later tasks, against the frozen one, as in ``feature_acc_refit``.)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import datasets, models
from ..engine import DivergenceError, end_task, rest, train
from ..engine.presenting import present
from ..network import Network
from ..rules import base as _rules
from ..rules import chain, make
from ._base import Study, overrides_end_task, register_study
from . import features as _features
from . import settings as _settings
from ._findings import retention_findings
from .learning import spiking_exclusion, spiking_rule

__all__ = ["RetentionConfig", "RetentionStudy", "SCENARIOS", "SPLIT_CLASSES", "FEATURE_CLASSES",
           "HIDDEN_SETTINGS", "CONTINUAL_METRICS", "FEATURE_METRICS", "role_of", "exclusion",
           "continual_metrics", "accuracy_matrix", "make_tasks", "build_network",
           "build_feature_network", "feature_layer", "run_scenario", "run_features"]

#: the scenarios, in the order their random streams are numbered (append new ones at the end,
#: so that the others keep their draws)
SCENARIOS = ("task_incremental", "class_incremental", "permuted", "features")
#: the class pairs of split digits, in task order
SPLIT_CLASSES = ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))
#: the classes of the two tasks of the ``features`` scenario, A then B
FEATURE_CLASSES = ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))
#: the summary metrics of the sequence scenarios (:func:`continual_metrics`)
CONTINUAL_METRICS = ("avg_accuracy", "bwt", "forgetting")
#: the metrics of the ``features`` scenario, each with its ``(task, eval_task)`` (module docstring)
FEATURE_METRICS = {
    "feature_acc_before": ("1", 1),
    "feature_acc_frozen": ("2", 1),
    "feature_acc_refit": ("2", 1),
    "weight_drift": ("2", None),
    "weight_change_a": ("1", None),
    "feature_retention": ("features", None),
    "refit_retention": ("features", None),
}

#: rate-network settings of the built-in local rules in a hidden layer (inputs in [0, 1], one
#: second per presentation; the activity thresholds, in (0, 1), suit the tanh units used here
#: and the sigmoid units the learning study gives LTP-style rules); a rule not listed keeps
#: its own defaults
HIDDEN_SETTINGS = {
    # Oja at 1e-3 drives its tanh units into saturation within task 1 (every unit at +-1 on
    # every input: the readout stays at chance from the start); at 1e-4 they stay in range and
    # the layer's collapse onto one component shows as the tasks go by
    "oja": {"lr": 1e-4},
    "sanger": {"lr": 1e-3},
    "bcm": {"lr": 1e-3, "y0": 0.5},
    "competitive": {"lr": 0.05},
    "ltp": {"lr": 0.01, "theta_minus": 0.6, "theta_plus": 0.8, "w_min": -1.0, "w_max": 1.0},
    # early/late weights a fraction of the initial weights' scale (|W| ~ 0.1); thresholds on
    # the activity (its trace equals the activity when dt >> tau_trace)
    "tag_and_capture": {"theta_ltd": 0.6, "theta_ltp": 0.8, "ltp_weight": 0.1,
                        "ltd_weight": 0.05, "late_weight": 0.2},
}


@dataclass(frozen=True)
class RetentionConfig:
    """Configuration of the retention study (defaults: the full size).

    Parameters
    ----------
    scenarios : tuple of str
        The scenarios to run, of ``task_incremental``, ``class_incremental``, ``permuted``,
        ``features`` (``--set scenarios=class_incremental,features``; all by default).
    n_permuted : int
        Number of tasks of the permuted scenario.
    hidden : int
        Hidden units (all two-layer networks).
    epochs : int
        Passes over each task's training set.
    feature_epochs : int
        Passes over each task's training set in the ``features`` scenario: enough for every
        rule's layer to converge on task A (Oja's units reach the first component, Sanger's the
        components), so that what is measured is the retention of learned features, not of a
        layer caught halfway; the same at the quick size (two tasks of unsupervised learning
        are cheap).
    evals_per_task : int
        Evaluations of every task while each task is trained (points of the retention curve).
    lr : float
        Learning rate of the gradient rules (and of the consolidation terms' penalty step).
    readout_lr : float
        Learning rate of the shared delta-rule readout of the local rules.
    ewc_strength, si_strength : float
        Penalty strengths of EWC and synaptic intelligence. The defaults (3 and 0.1, below
        the rules' own 100 and 1, set for two tasks) are, of the documented sweep on the
        full-size permuted scenario (experiments/consolidation_sweep.py, docs/tuning.md: EWC
        1-100, SI 0.001-1 at windows 1-1024, seeds 0-4), the settings of the largest average
        accuracy; both then forget less than backprop (BWT). Stronger penalties keep more of
        the first tasks but learn the later ones less, and the average falls.
    si_window : int
        Presentations per step of synaptic intelligence's path integral (its ``window``):
        at 1, per-sample gradient noise inflates the importance and SI stops learning new
        tasks (see :class:`~brainlearn.rules.SynapticIntelligence`).
    rest : float
        Seconds of rest after each task (:func:`brainlearn.rest`).
    dt : float
        Seconds per presentation.
    batch_size : int
        1: online learning; larger: minibatches.
    dtype : str
        ``float32`` or ``float64``.
    """

    scenarios: tuple[str, ...] = SCENARIOS
    n_permuted: int = 5
    hidden: int = 100
    epochs: int = 3
    feature_epochs: int = 10
    evals_per_task: int = 8
    lr: float = 0.05
    readout_lr: float = 0.05
    ewc_strength: float = 3.0
    si_strength: float = 0.1
    si_window: int = 256
    rest: float = 3600.0
    dt: float = 1.0
    batch_size: int = 1
    dtype: Literal["float32", "float64"] = "float64"

    @classmethod
    def quick(cls) -> RetentionConfig:
        """The quick size: one pass per task, a smaller hidden layer, fewer evaluations."""
        return cls(hidden=48, epochs=1, evals_per_task=3)

    def __post_init__(self):
        if isinstance(self.scenarios, str) or not self.scenarios:
            raise ValueError(f"scenarios={self.scenarios!r}; allowed: a non-empty tuple of "
                             f"{', '.join(SCENARIOS)}")
        if len(set(self.scenarios)) != len(self.scenarios):
            raise ValueError(f"scenarios={self.scenarios!r} repeats a scenario")
        for name in self.scenarios:
            if name not in SCENARIOS:
                raise ValueError(f"scenarios: {name!r} is not a scenario; allowed: "
                                 f"{', '.join(SCENARIOS)}")
        for name in ("n_permuted", "hidden", "epochs", "feature_epochs", "evals_per_task",
                     "batch_size", "si_window"):
            value = getattr(self, name)
            low = 2 if name == "n_permuted" else 1
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name}={value!r} must be an integer >= {low}")
        for name in ("lr", "readout_lr", "ewc_strength", "si_strength", "rest", "dt"):
            value = getattr(self, name)
            positive = name == "dt"
            if not np.isfinite(value) or value < 0 or (positive and value == 0):
                raise ValueError(f"{name}={value!r} must be a finite number "
                                 f"{'> 0' if positive else '>= 0'}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype={self.dtype!r}; allowed: float32, float64")


# -- metrics ---------------------------------------------------------------------------------------
def continual_metrics(R) -> dict:
    """Average accuracy, backward transfer and forgetting of an accuracy matrix.

    With ``R[i, j]`` the accuracy on task ``j`` after training through task ``i`` (T x T,
    0-based here):

    .. math::

        \\mathrm{ACC} = \\frac{1}{T}\\sum_{j} R_{T,j}, \\qquad
        \\mathrm{BWT} = \\frac{1}{T-1}\\sum_{j<T} (R_{T,j} - R_{j,j}), \\qquad
        F = \\frac{1}{T-1}\\sum_{j<T} \\Big(\\max_{l<T} R_{l,j} - R_{T,j}\\Big)

    (Lopez-Paz & Ranzato 2017 for ACC and BWT; Chaudhry et al. 2018 for the forgetting, whose
    maximum runs over every earlier stage :math:`l \\in \\{1, \\dots, T-1\\}`). Negative BWT
    is forgetting; forgetting is at least ``-BWT``.
    """
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] < 2:
        raise ValueError(f"R has shape {R.shape}; allowed: (T, T) with T >= 2")
    T = R.shape[0]
    last = R[T - 1]
    return {"avg_accuracy": float(last.mean()),
            "bwt": float(np.mean(last[:T - 1] - np.diag(R)[:T - 1])),
            "forgetting": float(np.mean(R[:T - 1, :T - 1].max(axis=0) - last[:T - 1]))}


def accuracy_matrix(rows, rule, seed, scenario) -> np.ndarray:
    """``R`` (T x T) of one run and scenario from metric rows (``metric == "accuracy"``)."""
    cells = {(int(r["task"]), int(r["eval_task"])): r["value"] for r in rows
             if r["metric"] == "accuracy" and r["rule"] == rule and int(r["seed"]) == seed
             and r["scenario"] == scenario}
    if not cells:
        raise ValueError(f"no accuracy rows for rule={rule!r}, seed={seed}, scenario={scenario!r}")
    T = max(max(i, j) for i, j in cells)
    R = np.full((T, T), np.nan)
    for (i, j), v in cells.items():
        R[i - 1, j - 1] = v
    return R


# -- tasks -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One task: training and test arrays, and the classes evaluated (None: all)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple | None


def make_tasks(data, scenario, n_permuted, rng) -> list:
    """The task sequence of a scenario (permutations drawn from ``rng``); ``features``: task A
    (classes 0-4) and task B (classes 5-9)."""
    if scenario in ("task_incremental", "class_incremental"):
        tasks = []
        for pair in SPLIT_CLASSES:
            tr = np.isin(data.y_train, pair)
            te = np.isin(data.y_test, pair)
            tasks.append(Task(data.x_train[tr], data.y_train[tr], data.x_test[te], data.y_test[te],
                              pair if scenario == "task_incremental" else None))
        return tasks
    if scenario == "features":  # A then B; ``classes`` unused (features are read out)
        tasks = []
        for group in FEATURE_CLASSES:
            tr = np.isin(data.y_train, group)
            te = np.isin(data.y_test, group)
            tasks.append(Task(data.x_train[tr], data.y_train[tr], data.x_test[te], data.y_test[te],
                              None))
        return tasks
    if scenario == "permuted":
        n_in = data.x_train.shape[1]
        perms = [np.arange(n_in)] + [rng.permutation(n_in) for _ in range(n_permuted - 1)]
        return [Task(data.x_train[:, p], data.y_train, data.x_test[:, p], data.y_test, None)
                for p in perms]
    raise ValueError(f"scenario={scenario!r}; allowed: {', '.join(SCENARIOS)}")


# -- rules in their roles --------------------------------------------------------------------------
def exclusion(rule_cls) -> str | None:
    """Why a rule class is left out of the study by default, or None when it fits."""
    needs = set(getattr(rule_cls, "needs", ()))
    if getattr(rule_cls, "on_pre", None) is not None:  # a SpikingRule
        if spiking_exclusion(rule_cls):
            return spiking_exclusion(rule_cls)
        if rule_cls.name != "triplet_stdp":
            return ("a spiking rule other than Diehl & Cook's (triplet_stdp): a spiking layer's "
                    "run costs minutes here (0.5 s simulated per sample, repeats when a sample "
                    "draws too few spikes), so the study runs the published rule by default; "
                    "--rules runs this one in the same layer")
        return None
    family = rule_cls.tags.family
    if rule_cls.tags.lateral:
        return "a lateral rule (a population to itself); the study's networks are feed-forward"
    if rule_cls.tags.constraint:
        return "a constraint: it learns nothing alone (compose it with a rule in a chain)"
    if "error" in needs and family == "gradient" and overrides_end_task(rule_cls):
        return None  # a consolidation term, chained with backprop
    if not {"pre", "post"} <= needs:
        return "a term without presynaptic and postsynaptic activity: it learns nothing alone"
    if family == "homeostatic":
        return "a homeostatic rule: it scales weights toward a target rate, learns no features"
    if family == "memory":
        return "an associative-memory rule (recurrent storage and recall)"
    if rule_cls.tags.unstable:
        return "unstable by design (its weights grow without bound)"
    if "rates" in getattr(rule_cls, "__dataclass_fields__", {}):
        return ("a spike-driven rule (its signals are spike counts at millisecond steps); "
                "see brainlearn.protocols and the spacing study")
    return None


def role_of(rule_cls) -> str | None:
    """The role of a rule class in this study (see the module docstring), or None.

    A rule with a role may still be left out by default (:func:`exclusion`); asked for by name
    it runs in its role.
    """
    needs = set(getattr(rule_cls, "needs", ()))
    if getattr(rule_cls, "on_pre", None) is not None:  # a spiking rule: Diehl & Cook's layer
        return None if spiking_exclusion(rule_cls) else "spiking"
    if rule_cls.tags.lateral or rule_cls.tags.constraint:
        return None
    if "error" in needs and rule_cls.tags.family == "gradient" \
            and overrides_end_task(rule_cls) and not rule_cls.tags.output_only:
        return "consolidation"
    if not {"pre", "post"} <= needs:
        return None
    if rule_cls.tags.output_only or "reward" in needs:
        return "single_layer"
    if "error" in needs:
        return "end_to_end"
    return "hidden"


def _with(rule_cls, **params):
    """An instance of ``rule_cls`` with those of ``params`` it has as hyperparameters."""
    names = {f.name for f in dataclasses.fields(rule_cls)}
    return rule_cls(**{k: v for k, v in params.items() if k in names})


def build_network(rule, config, seed) -> Network:
    """The network of ``rule`` (a registered name) in its role, seeded by ``seed``."""
    cls = _rules.get(rule)
    role = role_of(cls)
    if role is None:
        raise ValueError(f"rule={rule!r} has no role in the retention study: "
                         f"{exclusion(cls) or 'it cannot learn a classifier here'}")
    net = Network(seed=seed, dtype=config.dtype)
    x = net.add_input(64, name="input")
    if role == "single_layer":
        out = net.add_population(10, activation="softmax", name="output")
        # the delta rule at the gradient rules' rate; reward-modulated rules as they come
        net.connect(x, out, rule=_with(cls, lr=config.lr) if "error" in cls.needs else cls())
        return net
    h = net.add_population(config.hidden, activation="tanh", name="hidden")
    out = net.add_population(10, activation="softmax", name="output")
    if role == "end_to_end":
        rules = [_with(cls, lr=config.lr)] * 2
    elif role == "consolidation":
        strength = {"ewc": config.ewc_strength,
                    "synaptic_intelligence": config.si_strength}.get(rule)
        extra = {} if strength is None else {"strength": strength}
        if rule == "synaptic_intelligence":
            extra["window"] = config.si_window
        term = _with(cls, lr=config.lr, **extra)
        rules = [chain(make("backprop", lr=config.lr), term)] * 2
    else:
        rules = [_with(cls, **HIDDEN_SETTINGS.get(rule, {})), make("delta", lr=config.readout_lr)]
    net.connect(x, h, rule=rules[0])
    net.connect(h, out, rule=rules[1])
    return net


def build_feature_network(rule, config, seed):
    """The network of ``rule`` in the ``features`` scenario and its input code: ``(net, code)``,
    ``code`` ``"rates"`` (pixels in [0, 1]) or ``"centred"`` (pixels minus the mean of every
    training input).

    Hidden-role rules learn an ``input -> hidden`` layer alone (no readout during the
    presentations) with ``config.hidden`` units, whose activation, input code and
    hyperparameters are the rule's :func:`brainlearn.studies.settings.setting` on the digits.
    The other roles use the network of the study (:func:`build_network`) on the pixels in
    [0, 1].
    """
    cls = _rules.get(rule)
    if role_of(cls) != "hidden":
        return build_network(rule, config, seed), "rates"
    s = _settings.setting(cls, "digits")
    net = Network(seed=seed, dtype=config.dtype)
    x = net.add_input(64, name="input")
    h = net.add_population(config.hidden, activation=s.activation, name="hidden")
    net.connect(x, h, rule=cls(**s.params))
    return net, s.inputs


def feature_layer(net) -> str:
    """The population whose activities are a network's features in the ``features`` scenario:
    the target of its first projection -- the hidden layer, or the output layer of a
    single-layer network."""
    return net.projections[0].post.name


# -- one run ---------------------------------------------------------------------------------------
def _evaluate_tasks(net, tasks, x_test) -> np.ndarray:
    """Accuracy on the test set of each of ``tasks`` (``x_test``: their inputs, concatenated;
    one forward pass)."""
    out = net.predict(x_test)
    accs = np.empty(len(tasks))
    start = 0
    for k, task in enumerate(tasks):
        o = out[start:start + len(task.y_test)]
        start += len(task.y_test)
        if task.classes is None:
            pred = o.argmax(axis=1)
        else:  # the task is known: compare only its own output units
            classes = np.asarray(task.classes)
            pred = classes[o[:, classes].argmax(axis=1)]
        accs[k] = np.mean(pred == task.y_test)
    return accs


def _train_task(net, data, config, seed, step, what) -> None:
    """One call of :func:`brainlearn.train` over ``data`` in its order; a divergence is raised
    again as ``what: ...`` with ``step`` the samples seen in the scenario."""
    try:
        train(net, data, epochs=1, batch_size=config.batch_size, shuffle=False, seed=seed,
              dt=config.dt, quiet=True)
    except DivergenceError as exc:
        raise DivergenceError(f"{what}: {exc}", exc.epoch, step + exc.step) from exc


def run_scenario(rule, config, seed, scenario, data=None, rows=None) -> list:
    """Train ``rule`` through the tasks of ``scenario``; append and return the metric rows
    (``features``: :func:`run_features`).

    Raises :class:`~brainlearn.DivergenceError` (with ``step`` the samples seen in this
    scenario) when training diverges; the rows recorded before are in ``rows``.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario={scenario!r}; allowed: {', '.join(SCENARIOS)}")
    if scenario == "features":
        return run_features(rule, config, seed, data, rows)
    if role_of(_rules.get(rule)) == "spiking":
        return run_spiking_scenario(rule, config, seed, scenario, data, rows)
    data = datasets.load("digits") if data is None else data
    rows = [] if rows is None else rows
    rng = np.random.default_rng([seed, SCENARIOS.index(scenario)])
    tasks = make_tasks(data, scenario, config.n_permuted, rng)
    net = build_network(rule, config, seed)
    role = role_of(_rules.get(rule))
    x_test = np.concatenate([t.x_test for t in tasks])
    T = len(tasks)
    R = np.zeros((T, T))

    def row(metric, task, step, value, eval_task=None):
        rows.append({"rule": rule, "seed": seed, "task": task, "step": step, "metric": metric,
                     "value": float(value), "scenario": scenario, "eval_task": eval_task,
                     "role": role})

    step = 0
    first = tasks[:1]  # between task ends only task 1 is scored (the retention curve)
    row("retention", "1", step, _evaluate_tasks(net, first, tasks[0].x_test)[0], 1)
    for i, task in enumerate(tasks, start=1):
        n = len(task.y_train)
        order = np.concatenate([rng.permutation(n) for _ in range(config.epochs)])
        chunks = np.array_split(order, min(config.evals_per_task, len(order)))
        for k, chunk in enumerate(chunks):
            _train_task(net, (task.x_train[chunk], task.y_train[chunk]), config, seed, step,
                        f"{rule} diverged in the {scenario} scenario, task {i}")
            step += len(chunk)
            if k == len(chunks) - 1:
                accs = _evaluate_tasks(net, tasks, x_test)
            else:
                accs = _evaluate_tasks(net, first, tasks[0].x_test)
            row("retention", str(i), step, accs[0], 1)
        R[i - 1] = accs
        for j in range(1, T + 1):
            row("accuracy", str(i), step, accs[j - 1], j)
        if i < T:
            end_task(net)
            if config.rest > 0:
                rest(net, config.rest)
    for name, value in continual_metrics(R).items():
        row(name, scenario, step, value)
    return rows


def run_features(rule, config, seed, data=None, rows=None) -> list:
    """The ``features`` scenario: how much of what ``rule``'s layer learned on task A (digits
    0-4) survives learning task B (digits 5-9). Appends and returns the metric rows.

    The layer (:func:`build_feature_network`, :func:`feature_layer`) learns A's training inputs
    for ``config.feature_epochs`` passes, then B's, in orders drawn from the run's seed (online, one
    call of :func:`brainlearn.train` per task; hidden-role rules without labels, the others
    with them), with :func:`brainlearn.end_task` and :func:`brainlearn.rest` in between. At the
    end of each task's presentations the layer's activities on A's training and test inputs
    are recorded, and the weights of its incoming projection. The shared readout
    (:func:`brainlearn.studies.features.fit_readout`, 5 classes, on features scaled by
    :func:`~brainlearn.studies.features.standardise` on the training features) fitted on A's
    training features after A gives ``feature_acc_before``; the same readout, frozen, on the
    test features after B (scaled with the centring and scale of the after-A training
    features) ``feature_acc_frozen``; a readout fitted afresh on A's training features after B
    ``feature_acc_refit``. The weight rows and the ratios: module docstring.

    Raises :class:`~brainlearn.DivergenceError` like :func:`run_scenario`; the rows of task A
    are kept when task B diverges.
    """
    data = datasets.load("digits") if data is None else data
    rows = [] if rows is None else rows
    rng = np.random.default_rng([seed, SCENARIOS.index("features")])
    tasks = make_tasks(data, "features", config.n_permuted, rng)
    task_a = tasks[0]
    cls = _rules.get(rule)
    role = role_of(cls)
    n_classes = len(FEATURE_CLASSES[0])
    y_a = np.searchsorted(FEATURE_CLASSES[0], task_a.y_train)
    yt_a = np.searchsorted(FEATURE_CLASSES[0], task_a.y_test)
    n_a = len(y_a)
    x_a = np.concatenate([task_a.x_train, task_a.x_test])
    if role == "spiking":  # spike counts of the frozen layer; a sample costs 0.5 s simulated
        net, protocol = spiking_network(rule, config, seed, data)
        epochs = max(1, config.feature_epochs // 5)

        def learn(i, x, y, step):
            train(net, (x,), epochs=1, shuffle=False, presentation=protocol,
                  seed=seed * 7919 + i, quiet=True)

        def activities(i):
            return _counts(net, x_a, protocol, seed * 100003 + i)

        def between():
            pass
    else:
        net, code = build_feature_network(rule, config, seed)
        offset = data.x_train.mean(axis=0, dtype=np.float64) if code == "centred" else 0.0
        layer = feature_layer(net)
        epochs = config.feature_epochs

        def inputs(x):
            return np.ascontiguousarray(x - offset, dtype=config.dtype)

        def learn(i, x, y, step):
            _train_task(net, (inputs(x), y) if role != "hidden" else (inputs(x),), config, seed,
                        step, f"{rule} diverged in the features scenario, task {'AB'[i - 1]}")

        def activities(i):
            return np.asarray(net.activities(inputs(x_a))[layer], dtype=np.float64)

        def between():
            end_task(net)
            if config.rest > 0:
                rest(net, config.rest)

    proj = net.projections[0]
    W_0 = proj.W.copy()

    def features(i):
        F = activities(i)
        return F[:n_a], F[n_a:]

    def row(metric, step, value):
        task, eval_task = FEATURE_METRICS[metric]
        rows.append({"rule": rule, "seed": seed, "task": task, "step": step, "metric": metric,
                     "value": float(value), "scenario": "features", "eval_task": eval_task,
                     "role": role})

    step = 0
    for i, task in enumerate(tasks, start=1):
        n = len(task.y_train)
        order = np.concatenate([rng.permutation(n) for _ in range(epochs)])
        learn(i, task.x_train[order], task.y_train[order], step)
        step += len(order)
        if i == 1:
            W_a = proj.W.copy()
            F_a, Ft_a = features(1)
            scaled = _features.standardise(F_a, Ft_a)
            if scaled is None:
                readout, before = None, np.nan
            else:
                readout = _features.fit_readout(scaled[0], y_a, n_classes)[:2]
                before = np.mean(_features.predict_readout(*readout, scaled[1]) == yt_a)
            row("feature_acc_before", step, before)
            row("weight_change_a", step, _features.weight_change([W_0], [W_a]))
            between()
    F_b, Ft_b = features(2)
    frozen = np.nan
    if readout is not None:
        scaled = _features.standardise(F_a, Ft_b)  # after-B test features, after-A scaling
        if scaled is not None:
            frozen = np.mean(_features.predict_readout(*readout, scaled[1]) == yt_a)
    refit = _features.readout_accuracy(F_b, y_a, Ft_b, yt_a, n_classes)
    row("feature_acc_frozen", step, frozen)
    row("feature_acc_refit", step, refit)
    row("weight_drift", step, _features.weight_change([W_a], [proj.W]))
    row("feature_retention", step, frozen / before if before > 0 else np.nan)
    row("refit_retention", step, refit / before if before > 0 else np.nan)
    return rows


# -- the spiking layer ----------------------------------------------------------------------------
def spiking_network(rule, config, seed, data):
    """Diehl & Cook's network of ``config.hidden`` neurons with ``rule`` in the learning study's
    parametrisation (:func:`brainlearn.studies.learning.spiking_rule`), scaled for the digits
    (:func:`brainlearn.models.scaled_for`), a sample shown at most 3 more times when it
    draws too few spikes (the paper shows it until it draws enough: after a first task the
    thresholds of a permuted task's neurons are high, and unbounded repeats would make the
    scenario's cost unbounded too): ``(net, presentation)``."""
    total, protocol = models.scaled_for(data.x_train)
    protocol = dataclasses.replace(protocol, max_retries=3)
    net = models.diehl_cook(64, config.hidden, rule=spiking_rule(_rules.get(rule)), seed=seed,
                            normalize=total, dtype=config.dtype)
    return net, protocol


def _counts(net, x, protocol, seed):
    return present(net, x, protocol=protocol, learn=False, seed=seed).counts["exc"].astype(
        np.float64)


def run_spiking_scenario(rule, config, seed, scenario, data=None, rows=None,
                         network=None) -> list:
    """A task sequence for a spiking rule in Diehl & Cook's network (role ``spiking``).

    The layer learns each task's training inputs without labels (``epochs`` passes, in
    ``evals_per_task`` calls of :func:`brainlearn.train`), then, at the end of the task, its
    neurons are labelled as in the paper -- but from the task's own training samples only,
    the data a sequential learner has: each neuron keeps, per class, its mean spike count on
    that class's samples when the class was last taught, and takes the class of the highest
    (:func:`brainlearn.models.assign_labels` over the remembered means). Tests are read by
    the paper's vote (:func:`brainlearn.models.vote`; task-incremental: among the task's two
    classes). No rest between tasks: the layer has no dynamics between presentations but
    its thresholds' decay, which presentations include. ``network``: a ``(net, presentation)``
    pair to run instead of :func:`spiking_network`'s (a variant of the layer)."""
    data = datasets.load("digits") if data is None else data
    rows = [] if rows is None else rows
    rng = np.random.default_rng([seed, SCENARIOS.index(scenario)])
    tasks = make_tasks(data, scenario, config.n_permuted, rng)
    net, protocol = spiking_network(rule, config, seed, data) if network is None else network
    T = len(tasks)
    R = np.zeros((T, T))
    means = np.zeros((10, config.hidden))  # per class: mean response when it was taught
    taught = np.zeros(10, bool)
    calls = iter(range(1, 10**9))

    def row(metric, task, step, value, eval_task=None):
        rows.append({"rule": rule, "seed": seed, "task": task, "step": step, "metric": metric,
                     "value": float(value), "scenario": scenario, "eval_task": eval_task,
                     "role": "spiking"})

    def accuracy(task):
        if not taught.any():
            return 0.1 if task.classes is None else 0.5
        assigned = np.argmax(np.where(taught[:, None], means, -1.0), axis=0)
        assigned[np.where(taught[:, None], means, -1.0).max(axis=0) <= 0] = -1
        F = _counts(net, task.x_test, protocol, seed * 100003 + next(calls))
        if task.classes is None:
            pred = models.vote(F, assigned, 10)
        else:
            classes = np.asarray(task.classes)
            score = np.stack([F[:, assigned == c].mean(axis=1) if np.any(assigned == c)
                              else np.full(len(F), -1.0) for c in classes], axis=1)
            pred = classes[np.argmax(score, axis=1)]
        return float(np.mean(pred == task.y_test))

    step = 0
    row("retention", "1", step, accuracy(tasks[0]), 1)
    for i, task in enumerate(tasks, start=1):
        n = len(task.y_train)
        order = np.concatenate([rng.permutation(n) for _ in range(config.epochs)])
        chunks = np.array_split(order, min(config.evals_per_task, len(order)))
        for k, chunk in enumerate(chunks):
            train(net, (task.x_train[chunk],), epochs=1, shuffle=False, presentation=protocol,
                  seed=seed * 7919 + next(calls), quiet=True)
            step += len(chunk)
            if k == len(chunks) - 1:  # the task's classes are labelled from its own samples
                F = _counts(net, task.x_train, protocol, seed * 100003 + next(calls))
                for c in np.unique(task.y_train):
                    means[c] = F[task.y_train == c].mean(axis=0)
                    taught[c] = True
                accs = [accuracy(t) for t in tasks]
            else:
                accs = [accuracy(tasks[0])]
            row("retention", str(i), step, accs[0], 1)
        R[i - 1] = accs
        for j in range(1, T + 1):
            row("accuracy", str(i), step, accs[j - 1], j)
    for name, value in continual_metrics(R).items():
        row(name, scenario, step, value)
    return rows


def _headline(scenario) -> tuple:
    """The summary metrics of a scenario."""
    return tuple(FEATURE_METRICS) if scenario == "features" else CONTINUAL_METRICS


def _nan_rows(rule, seed, scenario, step, role, done=()) -> list:
    """NaN rows of a scenario's summary metrics (those not in ``done``) for a diverged run."""
    out = []
    for metric in _headline(scenario):
        if metric in done:
            continue
        task, eval_task = FEATURE_METRICS[metric] if scenario == "features" else (scenario, None)
        out.append({"rule": rule, "seed": seed, "task": task, "step": step, "metric": metric,
                    "value": float("nan"), "scenario": scenario, "eval_task": eval_task,
                    "role": role})
    return out


class RetentionStudy(Study):
    """Sequential tasks on the digits: accuracy matrix, BWT, forgetting, retention of task 1,
    and retention of the features a layer learned (the ``features`` scenario)."""

    name = "retention"
    summary = ("sequential tasks (split and permuted digits): accuracy matrix, average accuracy, "
               "backward transfer, forgetting; retention of learned features (digits 0-4, "
               "then 5-9)")
    Config = RetentionConfig
    # weight_change_a (how far a layer moved while learning task A) is the context of the
    # retention numbers, not a ranking of the rules: it scales with the layer's size (the quick
    # and full sizes order competitive and Oja differently), so it stays out of the summary
    headline = CONTINUAL_METRICS + tuple(m for m in FEATURE_METRICS if m != "weight_change_a")
    extra_columns = ("scenario", "eval_task", "role")
    summary_by = ("rule", "scenario", "metric")
    captions = {
        **{f"accuracy_matrix_{s}": f"{t}: accuracy on task j (columns) after training through "
                                   "task i (rows), mean over seeds, one panel per rule; below "
                                   "the diagonal is what is retained, the diagonal what is "
                                   "learned."
           for s, t in (("task_incremental", "Split digits, task-incremental"),
                        ("class_incremental", "Split digits, class-incremental"),
                        ("permuted", "Permuted digits"))},
        "retention": "Accuracy on task 1 as the later tasks are learned (mean over seeds with "
                     "95% Student-t bands, clipped to [0, 1]), a row per scenario and a column "
                     "per role, backprop drawn beside the consolidation terms and the local "
                     "rules as the reference; dotted lines mark the task boundaries.",
        "bwt": "Backward transfer (mean change of earlier tasks' accuracy from just after they "
               "were learned to the end; negative is forgetting) per rule and scenario: seeds "
               "as dots, mean with its 95% confidence interval (clipped to [-1, 1]).",
        "average_accuracy": "Average accuracy over all tasks at the end of the sequence per "
                            "rule and scenario: seeds as dots, mean with its 95% confidence "
                            "interval (clipped to [0, 1]).",
        "feature_retention": "Retention of what each rule's layer learned on digits 0-4 (task "
                             "A) while it learns 5-9 (task B): test accuracy on A of the shared "
                             "readout fitted on the layer's A features after A, of the same "
                             "readout frozen after B, and of one refitted after B (chance 0.2), "
                             "with the relative weight change of the layer during A and from "
                             "the end of A to the end of B; seeds as dots, mean with its 95% "
                             "confidence interval.",
    }

    def fits(self, rule_cls) -> bool:
        """Rules with a role here (:func:`role_of`): gradient, consolidation and local rules."""
        return role_of(rule_cls) is not None and exclusion(rule_cls) is None

    def valid_rules(self, config) -> list:
        """Every registered rule with a role, also those left out by default (``--rules``)."""
        from .. import rules
        return sorted(n for n in rules.available() if role_of(rules.get(n)) is not None)

    def settings_record(self, config, rules) -> dict | None:
        """The settings of the hidden-role rules (``config.json``'s ``rule_settings``; the other
        roles run with the config's values): ``sequences`` in the task-sequence scenarios
        (:data:`HIDDEN_SETTINGS`, tanh units on pixels in [0, 1]) and ``features`` in the
        ``features`` scenario (:func:`brainlearn.studies.settings.setting`)."""
        out = {}
        for rule in rules:
            cls = _rules.get(rule)
            if role_of(cls) != "hidden":
                continue
            record = {}
            if any(s != "features" for s in config.scenarios):
                names = {f.name for f in dataclasses.fields(cls)}
                params = {k: v for k, v in HIDDEN_SETTINGS.get(rule, {}).items() if k in names}
                record["sequences"] = {"params": params, "activation": "tanh", "inputs": "rates"}
            if "features" in config.scenarios:
                record["features"] = _settings.setting(cls, "digits").record()
            out[rule] = record
        return out or None

    def run_one(self, config, rule, seed) -> list:
        rows = []
        data = datasets.load("digits")
        for k, scenario in enumerate(config.scenarios):
            try:
                run_scenario(rule, config, seed, scenario, data, rows)
            except DivergenceError as exc:
                # NaN headline values for this scenario and those not run: summary.csv counts
                # the run in n_nan instead of leaving it out silently
                role = role_of(_rules.get(rule))
                done = {r["metric"] for r in rows if r["scenario"] == scenario}
                rows.extend(_nan_rows(rule, seed, scenario, exc.step, role, done))
                for name in config.scenarios[k + 1:]:
                    rows.extend(_nan_rows(rule, seed, name, 0, role))
                exc.rows = rows
                raise
        return rows

    def findings(self, summary_rows, rows, config) -> dict:
        """The rule that keeps most of task 1 against backprop, the range of BWT and average
        accuracy per scenario, what each accuracy matrix keeps
        (:func:`brainlearn.studies._findings.retention_findings`)."""
        return retention_findings(summary_rows, rows)

    def figures(self, rows, config, figdir) -> list:
        from ._retention_figures import draw_all
        return draw_all(rows, figdir)


register_study(RetentionStudy())
