"""Three-factor rules: Hebbian eligibility gated by a broadcast reward."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .base import LocalRule, hyperparameter, register

__all__ = ["RewardHebbian", "RewardHebbianState"]

RewardHebbianState = collections.namedtuple("RewardHebbianState", ["trace", "baseline"])


@jit
def _reward_hebbian_delta(W, pre, post, mod, params, state, dt, dW, db):
    E = state.trace
    rbar = state.baseline
    reward = mod[0]  # the engine broadcasts the reward to every postsynaptic neuron
    decay = math.exp(-dt / params.tau_e)
    c = params.lr * (reward - rbar[0])
    for i in range(W.shape[0]):
        y = post[i]
        for j in range(W.shape[1]):
            e = decay * E[i, j] + y * pre[j]
            E[i, j] = e
            dW[i, j] += c * e
    rbar[0] += params.beta * (reward - rbar[0])


@register("reward_hebbian")
@dataclass(frozen=True, repr=False)
class RewardHebbian(LocalRule):
    r"""Reward-modulated Hebbian learning with an eligibility trace and a reward baseline.

    .. math::

        e_{ij} \leftarrow e^{-\Delta t/\tau_e} e_{ij} + y_i x_j, \qquad
        \Delta w_{ij} = \eta\,(R - \bar R)\, e_{ij}, \qquad
        \bar R \leftarrow \bar R + \beta (R - \bar R)

    :math:`R` is the reward of the current presentation (1 when the network's
    output is correct, else 0) broadcast to every synapse as the third factor;
    subtracting the running baseline :math:`\bar R` makes the update follow the
    reward's covariance with the Hebbian term rather than its mean.

    References
    ----------
    Frémaux & Gerstner (2016). Neuromodulated spike-timing-dependent plasticity,
    and theory of three-factor learning rules. Front. Neural Circuits 9, 85.
    Williams (1992). Simple statistical gradient-following algorithms for
    connectionist reinforcement learning. Mach. Learn. 8, 229-256.
    """

    lr: float = hyperparameter(0.01, low=0.0, doc="learning rate")
    tau_e: float = hyperparameter(0.5, low=0.0, low_open=True, doc="eligibility time constant (s)")
    beta: float = hyperparameter(0.05, low=0.0, high=1.0, low_open=True,
                                 doc="update rate of the reward baseline")

    tags = dict(family="three-factor", elementwise=True)
    needs = frozenset({"pre", "post", "reward"})
    summary = "eligibility trace x (reward - running baseline)"
    equation = r"\Delta w_{ij} = \eta (R - \bar R)\, e_{ij},\ e_{ij} \leftarrow e^{-\Delta t/\tau_e} e_{ij} + y_i x_j"
    reference = "Fremaux & Gerstner 2016, Front. Neural Circuits 9:85; Williams 1992"
    kernel = _reward_hebbian_delta

    def init_state(self, projection, rng):
        W = projection.W
        return RewardHebbianState(np.zeros_like(W), np.zeros(1, W.dtype))
