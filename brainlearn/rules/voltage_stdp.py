"""Voltage-based STDP (Clopath, Busing, Vasilaki & Gerstner 2010).

The rule reads the postsynaptic membrane potential :math:`u` every step (its ``on_step``
kernel), besides the presynaptic spikes. Two low-pass filters of the potential,
:math:`\\bar u_-` (:math:`\\tau_-`) and :math:`\\bar u_+` (:math:`\\tau_+`), and a
presynaptic trace :math:`\\bar x` (:math:`\\tau_x`, +1 per spike) drive depression at each
presynaptic spike and potentiation whenever the potential is high:

.. math::

    \\text{pre spike: } \\Delta w = -A_\\mathrm{LTD}\\,[\\bar u_-(t - d) - \\theta_-]_+

    \\frac{dw}{dt} = A_\\mathrm{LTP}\\, \\frac{\\bar x}{\\tau_x}\\, [u - \\theta_+]_+\\,
        [\\bar u_+(t - d) - \\theta_-]_+

with potentials in mV, :math:`A_\\mathrm{LTD}` in mV\\ :sup:`-1`, :math:`A_\\mathrm{LTP}` in
mV\\ :sup:`-2`, hard bounds :math:`[w_\\min, w_\\max]`. The filtered potentials are read
:math:`d` = ``delay`` late (3 ms, as in the authors' published code, where ``u_md(t-3)``
and ``u_mp(t-3)`` are read with 1 ms steps): so that a spike's own depolarisation does not
enter its own potentiation. With ``u_ref2 > 0`` depression is homeostatic,
:math:`A_\\mathrm{LTD} \\bar{\\bar u}^2 / u_\\mathrm{ref}^2`, :math:`\\bar{\\bar u}` the mean
depolarisation :math:`u - E_L` (mV) over ``tau_homeostasis``.

The defaults are Table 1b's visual-cortex fit (Sjostrom et al. 2001's data): A_LTD
14e-5 / mV, A_LTP 8e-5 / mV^2, theta_- -70.6 mV, theta_+ -45.3 mV, tau_- 10 ms, tau_+ 7 ms,
tau_x 15 ms. The postsynaptic neuron should be Clopath's AdEx
(:meth:`brainlearn.neurons.AdEx.clopath`), whose 2 ms spike at 29.4 mV is what the
potentiation term integrates.

Run by ``bl.simulate`` on spiking projections only (tagged ``reads_voltage``); the
clock-driven kernel, for the NumPy twin and the conformance checks, reads the step's
potentials (volts) in ``mod``.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .base import hyperparameter, register
from .stdp import STDPState, SpikingRule

__all__ = ["VoltageSTDP", "VoltageSTDPState"]

#: the traces of every spiking rule, then the filtered potentials (volts), their delay lines
#: (one column per step of the delay; ``pos``, a whole number kept in W's dtype, the
#: oldest), the delayed values of this step,
#: and the mean depolarisation (mV) of the homeostasis
VoltageSTDPState = collections.namedtuple(
    "VoltageSTDPState",
    STDPState._fields + ("u_minus", "u_plus", "line_minus", "line_plus", "pos", "lag_minus",
                         "lag_plus", "mean_u"))


@jit
def _vstdp_on_step(W, v, x_pre, x_post, params, state, dt):
    um, up = state.u_minus, state.u_plus
    lm, lp = state.line_minus, state.line_plus
    d = lm.shape[1]
    pos = int(state.pos[0])
    fm = math.exp(-dt / params.tau_minus)
    fp = math.exp(-dt / params.tau_plus)
    fh = math.exp(-dt / params.tau_homeostasis)
    c = params.a_ltp * dt / params.tau_x
    for i in range(W.shape[0]):
        u = v[i]
        if d > 0:  # the filtered potentials of d steps ago, and this step's into the line
            a_m = lm[i, pos]
            a_p = lp[i, pos]
            lm[i, pos] = um[i]
            lp[i, pos] = up[i]
        else:
            a_m = um[i]
            a_p = up[i]
        state.lag_minus[i] = a_m
        state.lag_plus[i] = a_p
        high = (u - params.theta_plus) * 1e3
        filt = (a_p - params.theta_minus) * 1e3
        if high > 0.0 and filt > 0.0:
            g = c * high * filt
            for j in range(W.shape[1]):
                w = W[i, j] + g * x_pre[0, j]
                W[i, j] = min(max(w, params.w_min), params.w_max)
        um[i] = u + (um[i] - u) * fm
        up[i] = u + (up[i] - u) * fp
        dep = (u - params.e_l) * 1e3
        state.mean_u[i] = dep + (state.mean_u[i] - dep) * fh
    if d > 0:
        state.pos[0] = (pos + 1) % d


@jit
def _vstdp_on_pre(W, j, x_pre, x_post, params, state):
    for i in range(W.shape[0]):
        low = (state.lag_minus[i] - params.theta_minus) * 1e3
        if low > 0.0:
            a = params.a_ltd
            if params.u_ref2 > 0.0:
                a *= state.mean_u[i] * state.mean_u[i] / params.u_ref2
            w = W[i, j] - a * low
            W[i, j] = min(max(w, params.w_min), params.w_max)
    x_pre[0, j] += 1.0


@jit
def _vstdp_on_post(W, i, x_pre, x_post, params, state):
    pass  # the postsynaptic side acts through the potential, every step


def _vstdp_twin(rule, W, pre, post, mod, state, dt):
    """Clock-driven NumPy twin: decay the presynaptic trace; potentiation from this step's
    potential ``mod`` (volts) and the delayed filtered potentials; the filters and the
    delay lines advance; then depression at this step's presynaptic spikes."""
    Wn = W.astype(np.float64).copy()
    xp = state.x_pre
    xp *= np.exp(-dt / rule.tau_x)
    u = np.asarray(mod, np.float64)
    d = state.line_minus.shape[1]
    if d:
        pos = int(state.pos[0])
        a_m, a_p = state.line_minus[:, pos].copy(), state.line_plus[:, pos].copy()
        state.line_minus[:, pos], state.line_plus[:, pos] = state.u_minus, state.u_plus
        state.pos[0] = (pos + 1) % d
    else:
        a_m, a_p = state.u_minus.copy(), state.u_plus.copy()
    state.lag_minus[:], state.lag_plus[:] = a_m, a_p
    high = np.maximum((u - rule.theta_plus) * 1e3, 0.0)
    filt = np.maximum((a_p - rule.theta_minus) * 1e3, 0.0)
    g = rule.a_ltp * dt / rule.tau_x * high * filt
    Wn = np.clip(Wn + g[:, None] * xp[0][None, :], rule.w_min, rule.w_max)
    state.u_minus[:] = u + (state.u_minus - u) * np.exp(-dt / rule.tau_minus)
    state.u_plus[:] = u + (state.u_plus - u) * np.exp(-dt / rule.tau_plus)
    dep = (u - rule.e_l) * 1e3
    state.mean_u[:] = dep + (state.mean_u - dep) * np.exp(-dt / rule.tau_homeostasis)
    a = np.full(W.shape[0], rule.a_ltd)
    if rule.u_ref2 > 0:
        a = a * state.mean_u ** 2 / rule.u_ref2
    low = np.maximum((a_m - rule.theta_minus) * 1e3, 0.0)
    for j in np.flatnonzero(pre):
        for _ in range(int(pre[j] + 0.5)):
            Wn[:, j] = np.clip(Wn[:, j] - a * low, rule.w_min, rule.w_max)
            xp[0, j] += 1.0
    return Wn - W, np.zeros(0)


@register("voltage_stdp")
@dataclass(frozen=True, repr=False)
class VoltageSTDP(SpikingRule):
    r"""Voltage-based STDP (Clopath et al. 2010), gated by the postsynaptic potential.

    Depression at presynaptic spikes while the filtered potential is above
    :math:`\theta_-`, potentiation while the potential itself is above :math:`\theta_+`:

    .. math::

        \Delta w^- = -A_\mathrm{LTD} [\bar u_- - \theta_-]_+ \ \text{at pre spikes};\qquad
        \dot w^+ = A_\mathrm{LTP} \frac{\bar x}{\tau_x} [u - \theta_+]_+ [\bar u_+ - \theta_-]_+

    Potentials in mV inside the brackets; :math:`\bar u_\pm` read ``delay`` late. See
    :mod:`brainlearn.rules.voltage_stdp` for the details, and use it onto a population of
    :meth:`brainlearn.neurons.AdEx.clopath` cells.

    References
    ----------
    Clopath, Busing, Vasilaki & Gerstner (2010). Connectivity reflects coding: a model of
    voltage-based STDP with homeostasis. Nat. Neurosci. 13, 344-352.
    """

    a_ltd: float = hyperparameter(14e-5, low=0.0, doc="depression amplitude (1/mV)")
    a_ltp: float = hyperparameter(8e-5, low=0.0, doc="potentiation amplitude (1/mV^2)")
    theta_minus: float = hyperparameter(-70.6e-3, doc="depression threshold (V)")
    theta_plus: float = hyperparameter(-45.3e-3, doc="potentiation threshold (V)")
    tau_minus: float = hyperparameter(10e-3, low=0.0, low_open=True,
                                      doc="filter of the potential for depression (s)")
    tau_plus: float = hyperparameter(7e-3, low=0.0, low_open=True,
                                     doc="filter of the potential for potentiation (s)")
    tau_x: float = hyperparameter(15e-3, low=0.0, low_open=True,
                                  doc="presynaptic trace time constant (s)")
    delay: float = hyperparameter(3e-3, low=0.0, doc="how late the filtered potentials are "
                                  "read (s)")
    e_l: float = hyperparameter(-70.6e-3, doc="resting potential: where the filters start, "
                                "and the zero of the homeostasis's depolarisation (V)")
    u_ref2: float = hyperparameter(0.0, low=0.0, doc="homeostasis reference (mV^2); 0: off")
    tau_homeostasis: float = hyperparameter(1.0, low=0.0, low_open=True,
                                            doc="window of the mean depolarisation (s)")
    w_min: float = hyperparameter(0.0, doc="lower weight bound")
    w_max: float = hyperparameter(1.0, low=0.0, low_open=True, doc="upper weight bound")

    summary = "voltage-based STDP: depression and potentiation gated by filtered potentials"
    equation = (r"\Delta w = -A_\mathrm{LTD}[\bar u_- - \theta_-]_+ X + A_\mathrm{LTP}\bar x"
                r"[u - \theta_+]_+[\bar u_+ - \theta_-]_+")
    reference = "Clopath, Busing, Vasilaki & Gerstner 2010, Nat. Neurosci. 13:344"
    traces = {"pre": ("tau_x",), "post": ()}
    tags = dict(reads_voltage=True)
    on_step = _vstdp_on_step
    on_pre = _vstdp_on_pre
    on_post = _vstdp_on_post
    numpy_twin = _vstdp_twin

    def __post_init__(self):
        super().__post_init__()
        if not self.w_min < self.w_max:
            raise ValueError(f"VoltageSTDP: w_min={self.w_min!r} must be below "
                             f"w_max={self.w_max!r}")

    def init_state(self, projection, rng):
        base = super().init_state(projection, rng)
        n, dt = projection.W.shape[0], projection.W.dtype
        u = np.full(n, self.e_l, dt)
        return VoltageSTDPState(*base, u.copy(), u.copy(), np.zeros((n, 0), dt),
                                np.zeros((n, 0), dt), np.zeros(1, dt), u.copy(), u.copy(),
                                np.zeros(n, dt))

    def prepare_state(self, state, dt):
        """Delay lines of ``round(delay / dt)`` steps, filled with the present filtered
        potentials when their length changes."""
        d = int(round(self.delay / dt))
        if state.line_minus.shape[1] == d:
            return state
        n = state.u_minus.shape[0]
        line_m = np.repeat(state.u_minus[:, None], d, axis=1)
        line_p = np.repeat(state.u_plus[:, None], d, axis=1)
        return state._replace(line_minus=np.ascontiguousarray(line_m).reshape(n, d),
                              line_plus=np.ascontiguousarray(line_p).reshape(n, d),
                              pos=np.zeros(1, state.pos.dtype))
