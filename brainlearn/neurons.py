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
``theta_plus`` and decays with ``tau_theta`` when those are set), and, for AdEx, the
after-spike current ``z`` and the offset ``vt`` of the exponential's threshold ``V_T``
(Clopath et al. 2010's additions; 0 unless set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from ._jit import jit

__all__ = ["NeuronModel", "LIF", "AdEx", "Izhikevich", "V", "GE", "GI", "W", "REF", "THETA", "Z",
           "VT", "N_VARS", "VARIABLES",
           "step_population", "step_lif", "step_adex", "step_izhikevich", "step_factors",
           "MODELS", "STEPPERS"]

#: rows of a population's state array
V, GE, GI, W, REF, THETA, Z, VT = range(8)
N_VARS = 8
VARIABLES = ("v", "ge", "gi", "w", "refractory", "theta", "z", "vt")

#: model codes (the first number of every parameter vector)
LIF_CONDUCTANCE, LIF_CURRENT, ADEX, IZHIKEVICH = 0, 1, 2, 3


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
        if self.theta_plus == 0 and not self.v_reset < self.v_thresh:
            # with an adaptive threshold, v_thresh may lie below the reset: Diehl & Cook's
            # threshold is v_thresh - 20 mV + theta, with theta starting at 20 mV
            raise ValueError(f"LIF: v_reset={self.v_reset!r} must be below "
                             f"v_thresh={self.v_thresh!r} (or the threshold adapt: theta_plus > 0)")

    @property
    def code(self):  # noqa: D401 - the two synapse kinds are two integrators
        return LIF_CONDUCTANCE if self.synapse == "conductance" else LIF_CURRENT


@dataclass(frozen=True)
class AdEx(NeuronModel):
    r"""Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005).

    .. math::

        C \frac{dv}{dt} = -g_L (v - E_L) + g_L \Delta_T e^{(v - V_T)/\Delta_T} - w + I
            + g_L \left[g_e (E_e - v) + g_i (E_i - v)\right]

        \tau_w \frac{dw}{dt} = a (v - E_L) - w

    When :math:`v > V_\mathrm{peak}`: :math:`v \leftarrow V_r`, :math:`w \leftarrow w + b`.
    Synaptic conductances are relative to the leak :math:`g_L` and decay with
    :math:`\tau_e`, :math:`\tau_i`; ``i_ext`` is a constant current (A). Integrated with
    forward Euler from the state at the start of the step, as in the paper (use
    ``dt`` <= 0.1 ms). The defaults are the paper's Fig. 2 cell (C 281 pF, g_L 30 nS,
    E_L -70.6 mV, V_T -50.4 mV, Delta_T 2 mV, tau_w 144 ms, a 4 nS, b 0.0805 nA),
    with V_r = E_L and V_peak = 20 mV.

    Clopath et al. (2010) added three things, each off by default (:meth:`clopath` turns
    them on with the paper's values):

    - a spike shape: for ``t_spike`` seconds after crossing :math:`V_\mathrm{peak}` the
      potential is held at ``V_spike``; the reset and the jumps below follow;
    - an after-spike depolarising current :math:`z`: :math:`z \leftarrow I_\mathrm{sp}` at
      the reset, :math:`\tau_z \, dz/dt = -z`, added to the input current;
    - an adaptive threshold of the exponential: :math:`V_T + v_t` with
      :math:`v_t \leftarrow` ``VT_jump`` at the reset and :math:`\tau_{V_T} \, dv_t/dt = -v_t`.

    References
    ----------
    Brette & Gerstner (2005). Adaptive exponential integrate-and-fire model as an effective
    description of neuronal activity. J. Neurophysiol. 94, 3637-3642.
    Clopath, Busing, Vasilaki & Gerstner (2010). Connectivity reflects coding: a model of
    voltage-based STDP with homeostasis. Nat. Neurosci. 13, 344-352 (Methods, Table 1a).
    """

    C: float = 281e-12
    g_L: float = 30e-9
    E_L: float = -70.6e-3
    V_T: float = -50.4e-3
    Delta_T: float = 2e-3
    tau_w: float = 144e-3
    a: float = 4e-9
    b: float = 0.0805e-9
    V_r: float = -70.6e-3
    V_peak: float = 20e-3
    t_ref: float = 0.0
    i_ext: float = 0.0
    tau_e: float = 5e-3
    tau_i: float = 10e-3
    E_e: float = 0.0
    E_i: float = -80e-3
    theta_plus: float = 0.0
    tau_theta: float = 1e7
    t_spike: float = 0.0
    V_spike: float = 29.4e-3
    I_sp: float = 0.0
    tau_z: float = 40e-3
    VT_jump: float = 0.0
    tau_VT: float = 50e-3

    code: ClassVar[int] = ADEX
    layout: ClassVar[tuple] = ("C", "g_L", "E_L", "V_T", "Delta_T", "tau_w", "a", "b", "V_r",
                               "V_peak", "t_ref", "i_ext", "tau_e", "tau_i", "E_e", "E_i",
                               "theta_plus", "tau_theta", "t_spike", "V_spike", "I_sp",
                               "tau_z", "VT_jump", "tau_VT")

    @classmethod
    def clopath(cls, **changes) -> "AdEx":
        """Clopath et al.'s (2010) cell (Table 1a, and the authors' published code for what
        the table leaves open): the defaults' AdEx with b = 0.805 pA, a 2 ms spike held at
        29.4 mV, reset to E_L + 21.1 mV, an after-spike current of 400 pA decaying in 40 ms
        and V_T raised by 20 mV at each spike, relaxing in 50 ms. Under a 1 nA step it fires
        94 spikes in 2 s at dt = 0.1 ms; the authors' code (1 ms Euler steps, b = 0.0805 pA)
        fires 97."""
        values = dict(b=0.805e-12, t_spike=2e-3, V_spike=29.4e-3, V_r=-70.6e-3 + 21.0984e-3,
                      I_sp=400e-12, tau_z=40e-3, VT_jump=20e-3, tau_VT=50e-3)
        values.update(changes)
        return cls(**values)

    def __post_init__(self):
        for k in ("C", "g_L", "Delta_T", "tau_w", "tau_e", "tau_i", "tau_theta", "tau_z",
                  "tau_VT"):
            _positive(f"AdEx: {k}", getattr(self, k))
        for k in ("E_L", "V_T", "a", "b", "V_r", "V_peak", "i_ext", "E_e", "E_i", "V_spike",
                  "I_sp", "VT_jump"):
            _finite(f"AdEx: {k}", getattr(self, k))
        for k in ("t_ref", "theta_plus", "t_spike"):
            _finite(f"AdEx: {k}", getattr(self, k))
            if getattr(self, k) < 0:
                raise ValueError(f"AdEx: {k}={getattr(self, k)!r}; allowed: >= 0")
        if not self.V_r < self.V_peak:
            raise ValueError(f"AdEx: V_r={self.V_r!r} must be below V_peak={self.V_peak!r}")

    def v_start(self) -> float:
        return float(self.E_L)


@dataclass(frozen=True)
class Izhikevich(NeuronModel):
    r"""Izhikevich's simple model (2003), in SI units outside and the paper's inside.

    With :math:`v` in mV and :math:`t` in ms:

    .. math::

        \frac{dv}{dt} = 0.04 v^2 + 5 v + 140 - u + I, \qquad \frac{du}{dt} = a (b v - u)

    When :math:`v \ge 30` mV: :math:`v \leftarrow c`, :math:`u \leftarrow u + d`.
    :math:`I` is ``i_ext`` plus the synaptic variables ``ge - gi`` (current-based, in the
    paper's units, decaying with ``tau_e``, ``tau_i``). ``v`` is stored in volts and ``c`` is
    given in volts. Integrated with forward Euler from the state at the start of the step
    (use ``dt`` <= 0.5 ms). The defaults are the paper's regular-spiking cell (a 0.02,
    b 0.2, c -65 mV, d 8).

    References
    ----------
    Izhikevich (2003). Simple model of spiking neurons. IEEE Trans. Neural Netw. 14,
    1569-1572.
    """

    a: float = 0.02
    b: float = 0.2
    c: float = -65e-3
    d: float = 8.0
    i_ext: float = 0.0
    tau_e: float = 5e-3
    tau_i: float = 10e-3
    theta_plus: float = 0.0
    tau_theta: float = 1e7

    code: ClassVar[int] = IZHIKEVICH
    layout: ClassVar[tuple] = ("a", "b", "c", "d", "i_ext", "tau_e", "tau_i", "theta_plus",
                               "tau_theta")

    def __post_init__(self):
        for k in ("tau_e", "tau_i", "tau_theta"):
            _positive(f"Izhikevich: {k}", getattr(self, k))
        for k in ("a", "b", "c", "d", "i_ext", "theta_plus"):
            _finite(f"Izhikevich: {k}", getattr(self, k))

    def initial_state(self, n) -> np.ndarray:
        s = super().initial_state(n)
        s[W] = self.b * s[V] * 1e3  # u = b v at rest (v in mV)
        return s

    def v_start(self) -> float:
        return -65e-3


MODELS = {"LIF": LIF, "AdEx": AdEx, "Izhikevich": Izhikevich}


@jit
def flush(x):
    """``x``, or 0 once it has decayed below 1e-200 in magnitude: a variable that decays
    forever would become subnormal, and arithmetic on subnormal numbers is many times slower
    on most CPUs."""
    return x if x > 1e-200 or x < -1e-200 else 0.0


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
    elif code == ADEX:
        out[0] = math.exp(-dt / p[13])
        out[1] = math.exp(-dt / p[14])
        out[2] = math.exp(-dt / p[18])
        out[3] = math.exp(-dt / p[22])  # z
        out[4] = math.exp(-dt / p[24])  # vt
    elif code == IZHIKEVICH:
        out[0] = math.exp(-dt / p[6])
        out[1] = math.exp(-dt / p[7])
        out[2] = math.exp(-dt / p[9])
    return out


@jit
def step_lif(p, F, S, dt, spiked):
    """:func:`step_population` for the LIF models (both synapse types)."""
    code = int(p[0])
    n = S.shape[1]
    count = 0
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
            # exp(-dt g / tau_m) = dm exp(-x): for small x a Taylor polynomial, exact to
            # rounding (x^6/720 < 2e-15), saves the exponential of most steps
            x = dt * (ge + gi) / tau_m
            if x < 0.01:
                f = dm * (1.0 - x * (1.0 - x * (0.5 - x * (1.0 / 6.0 - x * (1.0 / 24.0
                                                                        - x / 120.0)))))
            else:
                f = math.exp(-dt * g / tau_m)
            v = v_inf + (v - v_inf) * f
        else:
            v_inf = v_rest + ge - gi
            v = v_inf + (v - v_inf) * dm
        S[GE, k] = flush(ge * de)
        S[GI, k] = flush(gi * di)
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


@jit
def step_adex(p, F, S, dt, spiked):
    """:func:`step_population` for AdEx."""
    n = S.shape[1]
    count = 0
    C, gL, EL, VT0, DT = p[1], p[2], p[3], p[4], p[5]
    tau_w, a, b, Vr, Vpk, t_ref, I = p[6], p[7], p[8], p[9], p[10], p[11], p[12]
    E_e, E_i, th_plus = p[15], p[16], p[17]
    t_spike, V_spike, I_sp, VT_jump = p[19], p[20], p[21], p[23]
    de, di, dth, dz, dvt = F[0], F[1], F[2], F[3], F[4]
    for k in range(n):
        v = S[V, k]
        w = S[W, k]
        ge = S[GE, k]
        gi = S[GI, k]
        z = S[Z, k]
        vt = S[VT, k]
        reset = False
        if S[REF, k] > 0.0:
            # the spike's shape (the first t_spike of the hold), then the refractory
            # period at V_r
            shape = S[REF, k] > t_ref + 0.5 * dt
            S[REF, k] -= dt
            if shape and S[REF, k] > t_ref + 0.5 * dt:
                v_new = V_spike
            else:
                v_new = Vr
                reset = shape
                if S[REF, k] < 0.5 * dt:  # no rounding residue left to hold at V_r
                    S[REF, k] = 0.0
        else:
            x = min((v - VT0 - vt) / DT, 30.0)  # the spike is caught before exp overflows
            dv = (-gL * (v - EL) + gL * DT * math.exp(x) - w + z + I
                  + gL * (ge * (E_e - v) + gi * (E_i - v))) / C
            v_new = v + dt * dv
        w = w + dt * (a * (v - EL) - w) / tau_w
        S[GE, k] = flush(ge * de)
        S[GI, k] = flush(gi * di)
        z = flush(z * dz)
        vt = flush(vt * dvt)
        th = S[THETA, k] * dth
        if S[REF, k] <= 0.0 and v_new > Vpk + th:
            th += th_plus
            spiked[k] = 1
            count += 1
            if t_spike > 0.0:
                v_new = V_spike
                S[REF, k] = t_ref + t_spike
            else:
                v_new = Vr
                S[REF, k] = t_ref
                reset = True
        else:
            spiked[k] = 0
        if reset:
            w += b
            z = I_sp
            vt = VT_jump
        S[THETA, k] = th
        S[W, k] = w
        S[Z, k] = z
        S[VT, k] = vt
        S[V, k] = v_new
    return count


@jit
def step_izhikevich(p, F, S, dt, spiked):
    """:func:`step_population` for Izhikevich's model."""
    n = S.shape[1]
    count = 0
    a, b, c, d, I = p[1], p[2], p[3] * 1e3, p[4], p[5]
    th_plus = p[8]
    de, di, dth = F[0], F[1], F[2]
    h = dt * 1e3  # ms
    for k in range(n):
        v = S[V, k] * 1e3  # mV
        u = S[W, k]
        ge = S[GE, k]
        gi = S[GI, k]
        v_new = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + I + ge - gi)
        u = u + h * a * (b * v - u)
        S[GE, k] = flush(ge * de)
        S[GI, k] = flush(gi * di)
        th = S[THETA, k] * dth
        if v_new >= 30.0 + th * 1e3:
            v_new = c
            u += d
            th += th_plus
            spiked[k] = 1
            count += 1
        else:
            spiked[k] = 0
        S[THETA, k] = th
        S[W, k] = u
        S[V, k] = v_new * 1e-3
    return count


@jit
def step_population(p, F, S, dt, spiked):
    """Advance the neurons of one population by ``dt`` seconds; returns the spike count.

    ``p`` is the model's vector (:meth:`NeuronModel.values`), ``F`` its step factors
    (:func:`step_factors`), ``S`` the state (N_VARS, n), changed in place; ``spiked`` (n,)
    receives 1 for a neuron that spiked in this step, else 0.
    """
    code = int(p[0])
    if code == ADEX:
        return step_adex(p, F, S, dt, spiked)
    if code == IZHIKEVICH:
        return step_izhikevich(p, F, S, dt, spiked)
    return step_lif(p, F, S, dt, spiked)


#: the integrator of each model class, for the simulators generated per structure (each
#: inlines only its populations' models)
STEPPERS = {"LIF": "step_lif", "AdEx": "step_adex", "Izhikevich": "step_izhikevich"}
