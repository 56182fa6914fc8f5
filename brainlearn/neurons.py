"""Spiking neuron models for ``net.add_population(n, neuron=...)``.

Every model is a frozen dataclass of its parameters in SI units (seconds, volts; synaptic
conductances relative to the leak conductance, as in Brian2's STDP example), with the
equations and the source in its docstring. The engine (:mod:`brainlearn.engine.spiking`)
integrates a population with :func:`step_population`, one compiled function for every
model: a model is a ``code`` and a vector of numbers (:meth:`NeuronModel.values`), so that
networks that differ only in their models' parameters share a compiled simulator.

State of a population (an array of shape (``N_VARS``, n)): the membrane potential ``v``,
the excitatory and inhibitory synaptic variables ``ge`` and ``gi`` (conductances relative
to leak, or currents in volts for current-based synapses), the adaptation variable ``w``
(AdEx, Izhikevich's ``u``; unused by LIF), the time left in the refractory period, and the
adaptive threshold ``theta`` (added to the threshold; grows with each spike by
``theta_plus`` and decays with ``tau_theta`` when those are set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from ._jit import jit

__all__ = ["NeuronModel", "LIF", "V", "GE", "GI", "W", "REF", "THETA", "N_VARS", "VARIABLES",
           "step_population", "step_factors", "MODELS"]

#: rows of a population's state array
V, GE, GI, W, REF, THETA = range(6)
N_VARS = 6
VARIABLES = ("v", "ge", "gi", "w", "refractory", "theta")

#: model codes (the first number of every parameter vector)
LIF_CONDUCTANCE, LIF_CURRENT = 0, 1


def _positive(name, value):
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r}; allowed: a positive number")


def _finite(name, value):
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value)):
        raise ValueError(f"{name}={value!r}; allowed: a finite number")


@dataclass(frozen=True)
class NeuronModel:
    """Base class of the neuron models: parameters in SI units, one compiled integrator."""

    code: ClassVar[int] = -1
    #: the parameters packed for the integrator, in this order, after the code
    layout: ClassVar[tuple] = ()

    def values(self) -> np.ndarray:
        """The model as a float64 vector: its code, then its parameters in ``layout``."""
        return np.array([float(self.code)] + [float(getattr(self, k)) for k in self.layout])

    def initial_state(self, n) -> np.ndarray:
        """The state of ``n`` neurons at rest (shape (N_VARS, n), float64)."""
        s = np.zeros((N_VARS, n))
        s[V] = self.v_start()
        return s

    def v_start(self) -> float:
        return float(getattr(self, "v_rest"))

    def get_params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class LIF(NeuronModel):
    r"""Leaky integrate-and-fire neuron with conductance- or current-based synapses.

    Conductance-based (``synapse="conductance"``; conductances relative to leak):

    .. math::

        \tau_m \frac{dv}{dt} = v_\mathrm{rest} - v + g_e (E_e - v) + g_i (E_i - v),
        \qquad \tau_e \frac{dg_e}{dt} = -g_e, \qquad \tau_i \frac{dg_i}{dt} = -g_i

    Current-based (``synapse="current"``; ``g_e``, ``g_i`` in volts):

    .. math:: \tau_m \frac{dv}{dt} = v_\mathrm{rest} - v + g_e - g_i

    A presynaptic spike adds the synapse's weight to :math:`g_e` (excitatory projection)
    or :math:`g_i` (inhibitory). When :math:`v > v_\mathrm{thresh} + \theta` the neuron
    spikes, :math:`v \leftarrow v_\mathrm{reset}`, and :math:`v` is held there for
    ``t_ref`` seconds. With ``theta_plus > 0`` the threshold adapts: :math:`\theta`
    grows by ``theta_plus`` at each spike and decays with ``tau_theta`` (Diehl & Cook
    2015). Each step integrates :math:`v` exactly for the conductances at the start of
    the step (exponential Euler), then decays the conductances exactly.

    The defaults are those of Song, Miller & Abbott (2000) as in Brian2's STDP example:
    :math:`\tau_m` = 10 ms, :math:`v_\mathrm{rest}` = -74 mV, threshold -54 mV, reset
    -60 mV, :math:`E_e` = 0 mV, :math:`\tau_e` = 5 ms.

    References
    ----------
    Lapicque (1907); Gerstner, Kistler, Naud & Paninski (2014), Neuronal Dynamics, ch. 1.3
    and 3.1; Song, Miller & Abbott (2000), Nat. Neurosci. 3, 919-926.
    """

    tau_m: float = 10e-3
    v_rest: float = -74e-3
    v_reset: float = -60e-3
    v_thresh: float = -54e-3
    t_ref: float = 0.0
    synapse: str = "conductance"
    tau_e: float = 5e-3
    tau_i: float = 10e-3
    E_e: float = 0.0
    E_i: float = -80e-3
    theta_plus: float = 0.0
    tau_theta: float = 1e7

    layout: ClassVar[tuple] = ("tau_m", "v_rest", "v_reset", "v_thresh", "t_ref", "tau_e",
                               "tau_i", "E_e", "E_i", "theta_plus", "tau_theta")

    def __post_init__(self):
        for k in ("tau_m", "tau_e", "tau_i", "tau_theta"):
            _positive(f"LIF: {k}", getattr(self, k))
        for k in ("v_rest", "v_reset", "v_thresh", "E_e", "E_i"):
            _finite(f"LIF: {k}", getattr(self, k))
        for k in ("t_ref", "theta_plus"):
            _finite(f"LIF: {k}", getattr(self, k))
            if getattr(self, k) < 0:
                raise ValueError(f"LIF: {k}={getattr(self, k)!r}; allowed: >= 0")
        if self.synapse not in ("conductance", "current"):
            raise ValueError(f"LIF: synapse={self.synapse!r}; allowed: conductance, current")
        if not self.v_reset < self.v_thresh:
            raise ValueError(f"LIF: v_reset={self.v_reset!r} must be below "
                             f"v_thresh={self.v_thresh!r}")

    @property
    def code(self):  # noqa: D401 - the two synapse kinds are two integrators
        return LIF_CONDUCTANCE if self.synapse == "conductance" else LIF_CURRENT


MODELS = {"LIF": LIF}


@jit
def step_factors(p, dt):
    """The per-step constants of a model for steps of ``dt`` (the decay factors), made once
    per simulation for :func:`step_population`."""
    code = int(p[0])
    out = np.zeros(8)
    if code == LIF_CONDUCTANCE or code == LIF_CURRENT:
        out[0] = math.exp(-dt / p[6])   # ge
        out[1] = math.exp(-dt / p[7])   # gi
        out[2] = math.exp(-dt / p[11])  # theta
        out[3] = math.exp(-dt / p[1])   # v, current-based
    return out


@jit
def step_population(p, F, S, dt, spiked):
    """Advance the neurons of one population by ``dt`` seconds; returns the spike count.

    ``p`` is the model's vector (:meth:`NeuronModel.values`), ``F`` its step factors
    (:func:`step_factors`), ``S`` the state (N_VARS, n), changed in place; ``spiked`` (n,)
    receives 1 for a neuron that spiked in this step, else 0.
    """
    code = int(p[0])
    n = S.shape[1]
    count = 0
    if code == LIF_CONDUCTANCE or code == LIF_CURRENT:
        tau_m, v_rest, v_reset, v_th, t_ref = p[1], p[2], p[3], p[4], p[5]
        E_e, E_i, th_plus = p[8], p[9], p[10]
        de, di, dth, dm = F[0], F[1], F[2], F[3]
        for k in range(n):
            ge = S[GE, k]
            gi = S[GI, k]
            v = S[V, k]
            if S[REF, k] > 0.0:
                S[REF, k] -= dt
                v = v_reset
            elif code == LIF_CONDUCTANCE:
                g = 1.0 + ge + gi
                v_inf = (v_rest + ge * E_e + gi * E_i) / g
                v = v_inf + (v - v_inf) * math.exp(-dt * g / tau_m)
            else:
                v_inf = v_rest + ge - gi
                v = v_inf + (v - v_inf) * dm
            S[GE, k] = ge * de
            S[GI, k] = gi * di
            th = S[THETA, k] * dth
            if v > v_th + th:
                v = v_reset
                S[REF, k] = t_ref
                th += th_plus
                spiked[k] = 1
                count += 1
            else:
                spiked[k] = 0
            S[THETA, k] = th
            S[V, k] = v
    return count
