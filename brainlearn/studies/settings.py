"""The settings under which each built-in rule learns a data set in the studies.

A rule's own defaults are generic; a study needs, per data set, the learning rate (and for local
rules the unit type and input code) under which the rule converges within the study's budget.
They were chosen by the documented sweep ``experiments/tune_settings.py`` (its printout gives
the criterion and every value tried) and are recorded in each study's ``config.json`` under
``rule_settings``.

Two data-set sizes are known: ``"digits"`` (64 inputs) and ``"mnist"`` (784 inputs: MNIST,
Fashion-MNIST, or any 28x28 set). A rule not listed runs with its own defaults, in the code of
its family (:func:`setting`).

Each entry is a :class:`Setting`: the rule's hyperparameters, and for a rule that learns a
hidden layer the activation of its units and the input code (``"centred"``: pixels minus the
training mean; ``"rates"``: pixels in [0, 1]).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["Setting", "SETTINGS", "DATASETS", "setting", "dataset_kind"]

DATASETS = ("digits", "mnist")


@dataclass(frozen=True)
class Setting:
    """How a rule runs on a data set: hyperparameters, unit activation and input code."""

    params: dict = field(default_factory=dict)
    activation: str = "tanh"
    inputs: str = "centred"

    def record(self) -> dict:
        """The setting as stored in ``config.json``."""
        return {"params": dict(self.params), "activation": self.activation,
                "inputs": self.inputs}


#: the LTP-style rules, the same on every data set (activity thresholds on rates in (0, 1);
#: tag-and-capture's early and late weights a fraction of the initial weights' scale); not swept
_RATE_RULES = {
    "ltp": Setting({"lr": 0.01, "theta_minus": 0.6, "theta_plus": 0.8, "w_min": -1.0,
                    "w_max": 1.0}, "sigmoid", "rates"),
    "tag_and_capture": Setting({"theta_ltd": 0.6, "theta_ltp": 0.8, "ltp_weight": 0.1,
                                "ltd_weight": 0.05, "late_weight": 0.2}, "tanh", "rates"),
}

#: ``{data set: {rule: Setting}}`` (see the module docstring; docs/tuning.md has the sweep's
#: tables: each value is the best of its grid by the rule's own criterion)
SETTINGS = {
    "digits": {
        "backprop": Setting({"lr": 0.05}, "tanh", "rates"),
        "feedback_alignment": Setting({"lr": 0.05}, "tanh", "rates"),
        "direct_feedback_alignment": Setting({"lr": 0.15}, "tanh", "rates"),
        "delta": Setting({"lr": 0.05}, "softmax", "rates"),
        # PCA rules on linear units, as their theory assumes (Oja 1982; Sanger 1989)
        "oja": Setting({"lr": 0.003}, "linear", "centred"),
        "sanger": Setting({"lr": 0.01}, "linear", "centred"),
        "hebb": Setting({"lr": 1e-3}, "tanh", "centred"),
        "covariance": Setting({"lr": 1e-3}, "tanh", "centred"),
        # rectified units (non-negative rates, as in Law & Cooper 1994) on zero-mean inputs
        # (Intrator & Cooper 1992)
        "bcm": Setting({"lr": 0.001, "y0": 0.1}, "relu", "centred"),
        # DeSieno's conscience against dead units; gamma ~ 1-3 x N x E|x - <x>|^2 (4.7 here)
        "competitive": Setting({"lr": 0.015, "conscience": 1400.0}, "tanh", "centred"),
        **_RATE_RULES,
    },
    # swept on 784-input stand-in files (experiments/tools/make_mnist_like.py): the gradient
    # rules on 6000 samples x 5 epochs and checked at 60000 x 20; the local rules at the full
    # run's 1.2M presentations (short runs favour rates that are too large)
    "mnist": {
        "backprop": Setting({"lr": 0.01}, "tanh", "rates"),
        "feedback_alignment": Setting({"lr": 0.03}, "tanh", "rates"),
        "direct_feedback_alignment": Setting({"lr": 0.03}, "tanh", "rates"),
        "delta": Setting({"lr": 0.003}, "softmax", "rates"),
        "oja": Setting({"lr": 3e-5}, "linear", "centred"),
        "sanger": Setting({"lr": 3e-4}, "linear", "centred"),
        "hebb": Setting({"lr": 1e-4}, "tanh", "centred"),  # not swept
        "covariance": Setting({"lr": 1e-4}, "tanh", "centred"),  # not swept
        "bcm": Setting({"lr": 1e-5, "y0": 0.1}, "relu", "centred"),
        # gamma scaled by E|x - <x>|^2 (about 50 on centred 784-pixel images); not swept
        "competitive": Setting({"lr": 0.05, "conscience": 1.0e4}, "tanh", "centred"),
        **_RATE_RULES,
    },
}


def dataset_kind(n_inputs: int) -> str:
    """``"digits"`` for 64 inputs or fewer, else ``"mnist"`` (the settings of 784 inputs)."""
    return "digits" if n_inputs <= 64 else "mnist"


def setting(rule_cls, dataset: str) -> Setting:
    """The :class:`Setting` of a rule class on ``dataset`` (``"digits"`` or ``"mnist"``).

    A rule not in :data:`SETTINGS` keeps its own hyperparameters; its units and input code
    follow its family: LTP-style rules (family ``ltp``) read rates through sigmoid units,
    the other local rules centred pixels through tanh units, rules that read an error or a
    reward the pixels in [0, 1].
    """
    if dataset not in SETTINGS:
        raise ValueError(f"dataset={dataset!r}; allowed: {', '.join(SETTINGS)}")
    name = getattr(rule_cls, "name", "")
    known = SETTINGS[dataset].get(name)
    if known is not None:
        names = {f.name for f in dataclasses.fields(rule_cls)}
        return dataclasses.replace(known, params={k: v for k, v in known.params.items()
                                                  if k in names})
    needs = set(getattr(rule_cls, "needs", ()))
    if needs & {"error", "reward"}:
        return Setting({}, "tanh", "rates")
    if rule_cls.tags.family == "ltp":
        return Setting({}, "sigmoid", "rates")
    return Setting({}, "tanh", "centred")
