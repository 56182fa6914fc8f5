"""Homeostatic plasticity: synaptic scaling of a neuron's incoming weights toward a target rate."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .base import LocalRule, hyperparameter, register

__all__ = ["SynapticScaling", "SynapticScalingState"]

SynapticScalingState = collections.namedtuple("SynapticScalingState", ["rate"])


@jit
def _synaptic_scaling_delta(W, pre, post, mod, params, state, dt, dW, db):
    a = state.rate
    rho = -math.expm1(-dt / params.tau)  # 1 - exp(-dt / tau), in W's dtype (no float literal)
    c = params.lr * dt / params.target
    for i in range(W.shape[0]):
        # the estimate takes in this presentation first, then sets the scaling of the row
        ai = a[i] + rho * (post[i] - a[i])
        a[i] = ai
        s = c * (params.target - ai)
        for j in range(W.shape[1]):
            dW[i, j] += s * W[i, j]


@register("synaptic_scaling")
@dataclass(frozen=True, repr=False)
class SynapticScaling(LocalRule):
    r"""Synaptic scaling: each neuron scales all its incoming weights toward a target rate.

    .. math::

        a_i \leftarrow a_i + (1 - e^{-\Delta t/\tau})\,(y_i - a_i), \qquad
        \Delta w_{ij} = \eta\,\Delta t\,\left(1 - \frac{a_i}{a^*}\right) w_{ij}

    :math:`a_i` is a running estimate of neuron :math:`i`'s rate (an exponential
    average over the last :math:`\tau` seconds; it starts at the target
    :math:`a^*` and takes in the current presentation before it is read). A neuron
    that fires above its target scales every incoming weight down by the same
    factor, one that fires below scales them up (Turrigiano et al. 1998), so the
    ratios between a neuron's weights, and with them what Hebbian learning stored
    in them, are kept.

    The update is van Rossum, Bi & Turrigiano's (2000)
    :math:`\dot w = \beta\, w\, (a^* - a)` with :math:`\beta = \eta / a^*`:
    dividing by the target makes :math:`\eta` a rate in 1/s that does not depend
    on the units of activity, and for a neuron whose rate is proportional to its
    weights (linear or rectified-linear units) it is the rate at which the relative
    rate error decays, :math:`1/\eta` the time constant of the homeostasis when
    :math:`\tau \ll 1/\eta` (with :math:`\tau > 1/(4\eta)` the rate overshoots and
    rings). The rule assumes excitatory weights and non-negative rates: a neuron
    that cannot reach its target (negative drive, saturated activation) scales its
    weights without bound. One step multiplies :math:`w_{ij}` by
    :math:`1 + \eta\Delta t(1 - a_i/a^*)`, which stays positive while
    :math:`\eta\Delta t\,(a_i/a^* - 1) < 1`.

    Parameters
    ----------
    lr : float
        :math:`\eta`, the scaling rate per second (times ``dt``, the seconds per
        presentation, at every step).
    target : float
        :math:`a^* > 0`, the target rate (in the units of the population's activity).
    tau : float
        :math:`\tau > 0`, the time constant (seconds) of the rate estimate.

    References
    ----------
    Turrigiano, G. G., Leslie, K. R., Desai, N. S., Rutherford, L. C. & Nelson, S. B. (1998).
    Activity-dependent scaling of quantal amplitude in neocortical neurons. Nature 391, 892-896.
    van Rossum, M. C. W., Bi, G. Q. & Turrigiano, G. G. (2000). Stable Hebbian learning from
    spike timing-dependent plasticity. J. Neurosci. 20, 8812-8821.
    """

    lr: float = hyperparameter(0.01, low=0.0, doc="scaling rate per second (times dt)")
    target: float = hyperparameter(0.1, low=0.0, low_open=True, doc="target rate")
    tau: float = hyperparameter(10.0, low=0.0, low_open=True,
                                doc="time constant of the rate estimate (s)")

    tags = dict(family="homeostatic", elementwise=True, row_local=True)
    summary = "multiplicative scaling of each neuron's weights toward a target rate"
    equation = (r"\Delta w_{ij} = \eta\,\Delta t\,(1 - a_i/a^*)\,w_{ij},\ "
                r"a_i \leftarrow a_i + (1 - e^{-\Delta t/\tau})(y_i - a_i)")
    reference = ("Turrigiano et al. 1998, Nature 391:892; van Rossum, Bi & Turrigiano 2000, "
                 "J. Neurosci. 20:8812")
    kernel = _synaptic_scaling_delta

    def init_state(self, projection, rng):
        W = projection.W
        return SynapticScalingState(np.full(W.shape[0], self.target, dtype=W.dtype))
