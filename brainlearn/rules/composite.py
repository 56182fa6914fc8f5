"""Composable pieces: chains of rules, weight decay, clipping and row normalisation.

A :class:`Chain` puts several rules on one projection: their deltas are summed
(each reads the same pre-update ``W``), then constraint rules (``clip``,
``row_normalize``) edit ``W`` in the order given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._jit import jit
from .base import LearningRule, LocalRule, Tags, hyperparameter, make, register

__all__ = ["Chain", "chain", "rule_terms", "is_chain", "WeightDecay", "Clip", "RowNormalize"]


class Chain:
    """Several rules on one projection (make one with :func:`chain`).

    Attributes
    ----------
    rules : tuple of LearningRule
    """

    name = "chain"
    #: a chain's behaviour is that of its terms, which the engine reads one by one
    tags = Tags()

    def __init__(self, rules):
        self.rules = tuple(rules)
        self.needs = frozenset().union(*(r.needs for r in self.rules))
        self.family = "+".join(dict.fromkeys(r.tags.family for r in self.rules))

    def get_params(self) -> dict:
        return {"rules": [{"rule": r.name, "params": r.get_params()} for r in self.rules]}

    def __eq__(self, other):
        return isinstance(other, Chain) and self.rules == other.rules

    def __hash__(self):
        return hash(self.rules)

    def __repr__(self):
        return f"chain({', '.join(map(repr, self.rules))})"


def is_chain(rule) -> bool:
    """True for a :class:`Chain` (several rules on one projection)."""
    return isinstance(rule, Chain)


def rule_terms(rule) -> tuple:
    """The rules a projection's ``rule`` consists of, in order: a chain's terms, a single rule
    itself, nothing for None. A projection's state holds one state per term
    (``Projection.term_states``)."""
    if rule is None:
        return ()
    return rule.rules if isinstance(rule, Chain) else (rule,)


def chain(*rules) -> Chain:
    """Combine rules on one projection: deltas are summed, constraints applied after.

    >>> import brainlearn as bl
    >>> bl.rules.chain("hebb", bl.rules.WeightDecay(decay=1e-3), "row_normalize")
    chain(Hebb(lr=0.001), WeightDecay(decay=0.001), RowNormalize(norm=1.0))
    """
    flat = []
    for r in rules:
        r = r if isinstance(r, Chain) else make(r)
        if r is None:
            raise ValueError("chain() got None; give rules (names, classes or instances)")
        flat.extend(r.rules if isinstance(r, Chain) else (r,))
    if not flat:
        raise ValueError("chain() needs at least one rule")
    if sum(r.tags.updates_bias for r in flat) > 1:
        raise ValueError("chain() has more than one rule that updates the bias: "
                         + ", ".join(r.name for r in flat if r.tags.updates_bias))
    return Chain(flat)


@jit
def _weight_decay_delta(W, pre, post, mod, params, state, dt, dW, db):
    c = -params.decay * dt
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            dW[i, j] += c * W[i, j]


@register("weight_decay")
@dataclass(frozen=True, repr=False)
class WeightDecay(LocalRule):
    r"""Passive decay of every weight toward zero: :math:`\Delta W = -\lambda\, \Delta t\, W`."""

    decay: float = hyperparameter(1e-4, low=0.0, doc="decay rate per unit of time")

    tags = dict(family="homeostatic", elementwise=True, row_local=True)
    needs = frozenset()
    summary = "passive decay toward zero (compose with chain)"
    equation = r"\Delta W = -\lambda\,\Delta t\,W"
    reference = "(a standard regulariser)"
    kernel = _weight_decay_delta


@jit
def _clip_constraint(W, pre, post, mod, params, state, dt, dW, db):
    lo = params.low
    hi = params.high
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            w = W[i, j]
            W[i, j] = lo if w < lo else (hi if w > hi else w)


@register("clip")
@dataclass(frozen=True, repr=False)
class Clip(LocalRule):
    r"""Hard weight bounds applied after every update: :math:`W \leftarrow \min(\max(W, a), b)`."""

    low: float = hyperparameter(-1.0, doc="lower bound")
    high: float = hyperparameter(1.0, doc="upper bound")

    tags = dict(family="homeostatic", constraint=True, row_local=True)
    needs = frozenset()
    summary = "hard bounds on every weight (a constraint, compose with chain)"
    equation = r"W \leftarrow \mathrm{clip}(W, a, b)"
    reference = "(hard bounds)"
    kernel = _clip_constraint

    def __post_init__(self):
        super().__post_init__()
        if not self.low < self.high:
            raise ValueError(f"Clip: low={self.low!r} must be less than high={self.high!r}")


@jit
def _row_normalize_constraint(W, pre, post, mod, params, state, dt, dW, db):
    target = params.norm
    for i in range(W.shape[0]):
        s = 0.0
        for j in range(W.shape[1]):
            s += W[i, j] * W[i, j]
        if s > 0:
            c = target / math.sqrt(s)
            for j in range(W.shape[1]):
                W[i, j] *= c


@register("row_normalize")
@dataclass(frozen=True, repr=False)
class RowNormalize(LocalRule):
    r"""Rescale each neuron's weight vector to a fixed L2 norm after every update.

    .. math:: w_i \leftarrow \nu\, w_i / \lVert w_i \rVert

    The classic explicit normalisation that Oja's rule approximates (von der
    Malsburg 1973).
    """

    norm: float = hyperparameter(1.0, low=0.0, low_open=True, doc="target L2 norm of each row")

    tags = dict(family="homeostatic", constraint=True, row_local=True)
    needs = frozenset()
    summary = "keeps each row of W at a fixed L2 norm (a constraint)"
    equation = r"w_i \leftarrow \nu\, w_i / \lVert w_i \rVert"
    reference = "von der Malsburg 1973, Kybernetik 14:85"
    kernel = _row_normalize_constraint


def is_rule(obj) -> bool:
    return isinstance(obj, (LearningRule, Chain))
