"""Spike-timing-dependent plasticity: the spiking rule protocol and the pair rule.

A spiking rule (:class:`SpikingRule`) learns from spike times through per-neuron traces. The
engine keeps the traces: ``x_pre`` (k_pre, n_pre) and ``x_post`` (k_post, n_post), each row
decaying with the time constant named in the rule's ``traces`` (hyperparameter names). It
calls two compiled event kernels::

    on_pre(W, j, x_pre, x_post, params, state)    # presynaptic neuron j spiked
    on_post(W, i, x_pre, x_post, params, state)   # postsynaptic neuron i spiked

with every trace they read decayed to the time of the spike. ``on_pre`` changes column j of
``W`` (and may read ``x_post`` of every neuron), ``on_post`` row i; each also bumps the traces
of its own neuron (``x_pre[:, j]``, ``x_post[:, i]``), which is how a rule chooses between
all-to-all (``x += 1``) and nearest-spike (``x = 1``) pairing. Work is proportional to the
spikes times the fan-out, not to n_pre x n_post per step.

Within one time step the order is Brian2's: the neurons are integrated and spike, then every
presynaptic spike of the step is delivered (``on_pre``), then every postsynaptic spike
(``on_post``). A presynaptic and a postsynaptic spike in the same step therefore count as
pre-before-post.

The clock-driven ``kernel`` of the rate protocol (:mod:`brainlearn.rules.base`) is made from
the two event kernels (:func:`clock_kernel`): ``pre`` and ``post`` are the spike counts of one
step of ``dt`` seconds, the traces live in the state. It is what ``bl.protocols.apply`` runs
and what ``check_rule`` compares with the rule's NumPy twin, a clock-driven loop over the
same equations.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._jit import jit
from .base import LocalRule, hyperparameter, register

__all__ = ["SpikingRule", "STDP", "TripletSTDP", "RewardSTDP", "STDPState", "RewardSTDPState",
           "clock_kernel", "clock_kernel_reward", "clock_kernel_voltage", "TRIPLET_PARAMETERS"]

#: the state every spiking rule has (traces and their decay rates), before its own fields
STDPState = collections.namedtuple("STDPState", ["x_pre", "x_post", "rate_pre", "rate_post"])
#: reward-modulated STDP adds an eligibility per synapse, the time it was last brought up to
#: date, and the rule's clock ``now`` (seconds; bl.simulate keeps it, across calls)
RewardSTDPState = collections.namedtuple("RewardSTDPState",
                                         STDPState._fields + ("elig", "elig_t", "now"))


class SpikingRule(LocalRule):
    """Base class of the rules driven by spike times (see the module docstring).

    Class attributes beyond :class:`~brainlearn.rules.LearningRule`'s: ``traces``, a dict
    ``{"pre": (names...), "post": (names...)}`` of the hyperparameters holding the time
    constants (seconds) of each trace, and the event kernels ``on_pre`` and ``on_post``.
    A subclass that sets ``on_pre`` and ``on_post`` gets its clock-driven ``kernel`` made
    from them.
    """

    traces: ClassVar[dict] = {"pre": (), "post": ()}
    on_pre: ClassVar = None
    on_post: ClassVar = None
    on_reward: ClassVar = None
    on_step: ClassVar = None
    tags = dict(family="ltp")

    def __init_subclass__(cls, **kwargs):
        for attr in ("on_pre", "on_post", "on_reward", "on_step"):
            val = cls.__dict__.get(attr)
            if val is not None and not isinstance(val, staticmethod):
                setattr(cls, attr, staticmethod(val))
        if cls.__dict__.get("on_pre") is not None and "kernel" not in cls.__dict__:
            if cls.on_step is not None:
                cls.kernel = clock_kernel_voltage(cls.on_pre, cls.on_post, cls.on_step)
            elif cls.on_reward is None:
                cls.kernel = clock_kernel(cls.on_pre, cls.on_post)
            else:
                cls.kernel = clock_kernel_reward(cls.on_pre, cls.on_post, cls.on_reward)
        super().__init_subclass__(**kwargs)

    def prepare_state(self, state, dt):
        """The state to run with steps of ``dt`` seconds (called by ``bl.simulate`` before a
        run, and by whoever drives the clock-driven kernel): a rule whose state depends on the
        step (a delay line) resizes it here. The default returns ``state``."""
        return state

    def trace_rates(self):
        """``(1/tau_pre..., ), (1/tau_post..., )``: the decay rates of the traces, per second."""
        return (tuple(1.0 / getattr(self, k) for k in self.traces["pre"]),
                tuple(1.0 / getattr(self, k) for k in self.traces["post"]))

    def init_state(self, projection, rng):
        W = projection.W
        ratep, ratq = self.trace_rates()
        return STDPState(np.zeros((len(ratep), W.shape[1]), W.dtype),
                         np.zeros((len(ratq), W.shape[0]), W.dtype),
                         np.array(ratep, W.dtype), np.array(ratq, W.dtype))


@jit
def decay_traces(x, rates, dt):
    """One step of ``dt`` seconds of decay for every trace (row r of ``x`` at ``rates[r]``)."""
    for r in range(x.shape[0]):
        f = math.exp(-dt * rates[r])
        for k in range(x.shape[1]):
            x[r, k] *= f


def clock_kernel(on_pre, on_post):
    """The clock-driven kernel of a spiking rule from its event kernels.

    One step of ``dt``: every trace decays by ``exp(-dt / tau)``, then ``on_pre`` runs for
    each presynaptic neuron with a spike in ``pre`` and ``on_post`` for each postsynaptic one
    in ``post`` (once per spike), on a copy of ``W`` whose change is added to ``dW``.
    """

    @jit(cache=False)
    def kernel(W, pre, post, mod, params, state, dt, dW, db):
        Wn = W.copy()
        xp = state.x_pre
        xq = state.x_post
        decay_traces(xp, state.rate_pre, dt)
        decay_traces(xq, state.rate_post, dt)
        for j in range(pre.shape[0]):
            for _ in range(int(pre[j] + 0.5)):
                on_pre(Wn, j, xp, xq, params, state)
        for i in range(post.shape[0]):
            for _ in range(int(post[i] + 0.5)):
                on_post(Wn, i, xp, xq, params, state)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                dW[i, j] += Wn[i, j] - W[i, j]

    return kernel


def clock_kernel_voltage(on_pre, on_post, on_step):
    """The clock-driven kernel of a rule with an ``on_step`` kernel (tagged
    ``reads_voltage``): as :func:`clock_kernel`, with ``on_step(W, v, ...)`` run after the
    traces decay and before the step's spikes, ``v = mod`` the postsynaptic membrane
    potentials (volts) of the step."""

    @jit(cache=False)
    def kernel(W, pre, post, mod, params, state, dt, dW, db):
        Wn = W.copy()
        xp = state.x_pre
        xq = state.x_post
        decay_traces(xp, state.rate_pre, dt)
        decay_traces(xq, state.rate_post, dt)
        on_step(Wn, mod, xp, xq, params, state, dt)
        for j in range(pre.shape[0]):
            for _ in range(int(pre[j] + 0.5)):
                on_pre(Wn, j, xp, xq, params, state)
        for i in range(post.shape[0]):
            for _ in range(int(post[i] + 0.5)):
                on_post(Wn, i, xp, xq, params, state)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                dW[i, j] += Wn[i, j] - W[i, j]

    return kernel


def clock_kernel_reward(on_pre, on_post, on_reward):
    """The clock-driven kernel of a spiking rule with a reward kernel: as
    :func:`clock_kernel`, with the state's clock ``now`` advanced by ``dt`` first and
    ``on_reward(W, r, ...)`` called at the end of the step when the reward ``r = mod[0]`` is
    not 0."""

    @jit(cache=False)
    def kernel(W, pre, post, mod, params, state, dt, dW, db):
        state.now[0] += dt
        Wn = W.copy()
        xp = state.x_pre
        xq = state.x_post
        decay_traces(xp, state.rate_pre, dt)
        decay_traces(xq, state.rate_post, dt)
        for j in range(pre.shape[0]):
            for _ in range(int(pre[j] + 0.5)):
                on_pre(Wn, j, xp, xq, params, state)
        for i in range(post.shape[0]):
            for _ in range(int(post[i] + 0.5)):
                on_post(Wn, i, xp, xq, params, state)
        if mod.shape[0] > 0 and mod[0] != 0.0:
            on_reward(Wn, mod[0], xp, xq, params, state)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                dW[i, j] += Wn[i, j] - W[i, j]

    return kernel


# -- pair-based STDP ----------------------------------------------------------------------------
@jit
def _stdp_on_pre(W, j, x_pre, x_post, params, state):
    # the presynaptic trace first (Brian2's on_pre: Apre += dApre; w = clip(w + Apost))
    if params.nearest:
        x_pre[0, j] = 1.0
    else:
        x_pre[0, j] += 1.0
    a = params.a_minus
    for i in range(W.shape[0]):
        w = W[i, j]
        if params.soft:
            w -= a * x_post[0, i] * (w - params.w_min)
        else:
            w -= a * params.w_max * x_post[0, i]
        W[i, j] = min(max(w, params.w_min), params.w_max)


@jit
def _stdp_on_post(W, i, x_pre, x_post, params, state):
    if params.nearest:
        x_post[0, i] = 1.0
    else:
        x_post[0, i] += 1.0
    a = params.a_plus
    for j in range(W.shape[1]):
        w = W[i, j]
        if params.soft:
            w += a * x_pre[0, j] * (params.w_max - w)
        else:
            w += a * params.w_max * x_pre[0, j]
        W[i, j] = min(max(w, params.w_min), params.w_max)


def _stdp_twin(rule, W, pre, post, mod, state, dt):
    """Clock-driven NumPy twin: decay the traces, then the pre spikes, then the post spikes."""
    Wn = W.astype(np.float64).copy()
    xp, xq = state.x_pre, state.x_post
    xp *= np.exp(-dt / rule.tau_plus)
    xq *= np.exp(-dt / rule.tau_minus)
    lo, hi = rule.w_min, rule.w_max
    for j in np.flatnonzero(pre):
        for _ in range(int(pre[j] + 0.5)):  # spike counts, rounded as the kernel does
            xp[0, j] = 1.0 if rule.nearest else xp[0, j] + 1.0
            dep = rule.a_minus * xq[0] * ((Wn[:, j] - lo) if rule.soft else hi)
            Wn[:, j] = np.clip(Wn[:, j] - dep, lo, hi)
    for i in np.flatnonzero(post):
        for _ in range(int(post[i] + 0.5)):
            xq[0, i] = 1.0 if rule.nearest else xq[0, i] + 1.0
            pot = rule.a_plus * xp[0] * ((hi - Wn[i]) if rule.soft else hi)
            Wn[i] = np.clip(Wn[i] + pot, lo, hi)
    return Wn - W, np.zeros(0)


@register("stdp")
@dataclass(frozen=True, repr=False)
class STDP(SpikingRule):
    r"""Pair-based spike-timing-dependent plasticity with per-neuron traces.

    Each presynaptic spike bumps the trace :math:`x_j` and depresses, each postsynaptic
    spike bumps :math:`y_i` and potentiates:

    .. math::

        \tau_+ \frac{dx_j}{dt} = -x_j, \qquad \tau_- \frac{dy_i}{dt} = -y_i

        \text{pre spike: } x_j \mathrel{+}= 1,\ \ w_{ij} \mathrel{-}= A_- \, y_i \, f_-(w_{ij});
        \qquad
        \text{post spike: } y_i \mathrel{+}= 1,\ \ w_{ij} \mathrel{+}= A_+ \, x_j \, f_+(w_{ij})

    so a pair at :math:`\Delta t = t_\mathrm{post} - t_\mathrm{pre}` changes the weight by
    :math:`A_+ e^{-\Delta t/\tau_+}` (:math:`\Delta t > 0`) or
    :math:`-A_- e^{\Delta t/\tau_-}` (:math:`\Delta t < 0`), in units of ``w_max``.
    Additive (``soft=False``; Song, Miller & Abbott 2000): :math:`f_\pm = w_\max` with hard
    bounds :math:`[w_\min, w_\max]`. Multiplicative (``soft=True``; van Rossum, Bi &
    Turrigiano 2000): :math:`f_+ = w_\max - w`, :math:`f_- = w - w_\min`. ``nearest=True``
    pairs each spike only with the latest spike of the other neuron (traces reset to 1
    instead of adding 1). The defaults are those of Brian2's example of Song et al.:
    :math:`A_+ = 0.01`, :math:`A_- = 1.05 A_+` (with :math:`\tau_- = \tau_+` = 20 ms), so
    that depression slightly outweighs potentiation.

    References
    ----------
    Song, Miller & Abbott (2000). Competitive Hebbian learning through spike-timing-dependent
    synaptic plasticity. Nat. Neurosci. 3, 919-926.
    van Rossum, Bi & Turrigiano (2000). Stable Hebbian learning from spike timing-dependent
    plasticity. J. Neurosci. 20, 8812-8821.
    Bi & Poo (1998). Synaptic modifications in cultured hippocampal neurons. J. Neurosci.
    18, 10464-10472.
    """

    a_plus: float = hyperparameter(0.01, low=0.0, doc="potentiation per pair, in units of w_max")
    a_minus: float = hyperparameter(0.0105, low=0.0, doc="depression per pair, in units of w_max")
    tau_plus: float = hyperparameter(20e-3, low=0.0, low_open=True,
                                     doc="presynaptic trace time constant (s)")
    tau_minus: float = hyperparameter(20e-3, low=0.0, low_open=True,
                                      doc="postsynaptic trace time constant (s)")
    w_min: float = hyperparameter(0.0, doc="lower weight bound")
    w_max: float = hyperparameter(0.01, low=0.0, low_open=True, doc="upper weight bound")
    soft: bool = hyperparameter(False, doc="multiplicative (soft) bounds instead of additive")
    nearest: bool = hyperparameter(False, doc="nearest-spike pairing instead of all-to-all")

    summary = "pair-based STDP with traces; additive or multiplicative bounds"
    equation = (r"\Delta w = A_+ e^{-\Delta t/\tau_+}\ (\Delta t > 0),\ "
                r"-A_- e^{\Delta t/\tau_-}\ (\Delta t < 0)")
    reference = "Song, Miller & Abbott 2000, Nat. Neurosci. 3:919; van Rossum et al. 2000"
    traces = {"pre": ("tau_plus",), "post": ("tau_minus",)}
    on_pre = _stdp_on_pre
    on_post = _stdp_on_post
    numpy_twin = _stdp_twin

    def __post_init__(self):
        super().__post_init__()
        if not self.w_min < self.w_max:
            raise ValueError(f"STDP: w_min={self.w_min!r} must be below w_max={self.w_max!r}")


# -- triplet STDP -------------------------------------------------------------------------------
@jit
def _triplet_on_pre(W, j, x_pre, x_post, params, state):
    # depression by the pair term and the triplet term of the long presynaptic trace, read
    # before this spike bumps it (r2(t - eps) in Pfister & Gerstner's equations)
    r2 = x_pre[1, j]
    a = params.a2_minus + params.a3_minus * r2
    for i in range(W.shape[0]):
        w = W[i, j] - a * params.w_max * x_post[0, i]
        W[i, j] = min(max(w, params.w_min), params.w_max)
    if params.nearest:
        x_pre[0, j] = 1.0
        x_pre[1, j] = 1.0
    else:
        x_pre[0, j] += 1.0
        x_pre[1, j] += 1.0


@jit
def _triplet_on_post(W, i, x_pre, x_post, params, state):
    o2 = x_post[1, i]
    a = params.a2_plus + params.a3_plus * o2
    for j in range(W.shape[1]):
        w = W[i, j] + a * params.w_max * x_pre[0, j]
        W[i, j] = min(max(w, params.w_min), params.w_max)
    if params.nearest:
        x_post[0, i] = 1.0
        x_post[1, i] = 1.0
    else:
        x_post[0, i] += 1.0
        x_post[1, i] += 1.0


def _triplet_twin(rule, W, pre, post, mod, state, dt):
    """Clock-driven NumPy twin of the triplet rule (traces r1, r2 and o1, o2 as rows)."""
    Wn = W.astype(np.float64).copy()
    xp, xq = state.x_pre, state.x_post
    xp[0] *= np.exp(-dt / rule.tau_plus)
    xp[1] *= np.exp(-dt / rule.tau_x)
    xq[0] *= np.exp(-dt / rule.tau_minus)
    xq[1] *= np.exp(-dt / rule.tau_y)
    lo, hi = rule.w_min, rule.w_max
    for j in np.flatnonzero(pre):
        for _ in range(int(pre[j] + 0.5)):
            dep = (rule.a2_minus + rule.a3_minus * xp[1, j]) * xq[0] * hi
            Wn[:, j] = np.clip(Wn[:, j] - dep, lo, hi)
            xp[:, j] = 1.0 if rule.nearest else xp[:, j] + 1.0
    for i in np.flatnonzero(post):
        for _ in range(int(post[i] + 0.5)):
            pot = (rule.a2_plus + rule.a3_plus * xq[1, i]) * xp[0] * hi
            Wn[i] = np.clip(Wn[i] + pot, lo, hi)
            xq[:, i] = 1.0 if rule.nearest else xq[:, i] + 1.0
    return Wn - W, np.zeros(0)


#: Pfister & Gerstner (2006), Table 4: the full triplet model fitted to the visual-cortex
#: data of Sjostrom et al. (2001) and to the hippocampal data of Wang et al. (2005), for
#: all-to-all and nearest-spike interactions. tau_plus = 16.8 ms and tau_minus = 33.7 ms
#: (Bi & Poo's window) in every set; times in seconds.
TRIPLET_PARAMETERS = {
    ("visual_cortex", "all_to_all"): dict(tau_x=101e-3, tau_y=125e-3, a2_plus=5e-10,
                                          a3_plus=6.2e-3, a2_minus=7e-3, a3_minus=2.3e-4),
    ("visual_cortex", "nearest"): dict(tau_x=714e-3, tau_y=40e-3, a2_plus=8.8e-11,
                                       a3_plus=5.3e-2, a2_minus=6.6e-3, a3_minus=3.1e-3),
    ("hippocampal", "all_to_all"): dict(tau_x=946e-3, tau_y=27e-3, a2_plus=6.1e-3,
                                        a3_plus=6.7e-3, a2_minus=1.6e-3, a3_minus=1.4e-3),
    ("hippocampal", "nearest"): dict(tau_x=575e-3, tau_y=47e-3, a2_plus=4.6e-3,
                                     a3_plus=9.1e-3, a2_minus=3e-3, a3_minus=7.5e-9),
}


@register("triplet_stdp")
@dataclass(frozen=True, repr=False)
class TripletSTDP(SpikingRule):
    r"""Triplet spike-timing-dependent plasticity (Pfister & Gerstner 2006).

    Two traces per presynaptic neuron (:math:`r_1` fast, :math:`r_2` slow) and two per
    postsynaptic neuron (:math:`o_1` fast, :math:`o_2` slow) decay with
    :math:`\tau_+, \tau_x, \tau_-, \tau_y`; a spike bumps its neuron's traces by 1
    (all-to-all) or sets them to 1 (``nearest=True``). A presynaptic spike depresses by a
    pair and a triplet term, a postsynaptic spike potentiates:

    .. math::

        \text{pre: } w \mathrel{-}= o_1(t)\,[A_2^- + A_3^-\, r_2(t-\epsilon)], \qquad
        \text{post: } w \mathrel{+}= r_1(t)\,[A_2^+ + A_3^+\, o_2(t-\epsilon)]

    (:math:`t-\epsilon`: the slow trace before the spike's own bump), in units of ``w_max``,
    with hard bounds :math:`[w_\min, w_\max]`. The triplet terms make potentiation grow with
    the postsynaptic rate, so the rule reproduces the frequency dependence of pairing
    (Sjostrom, Turrigiano & Nelson 2001) that the pair rule misses, and for Poisson trains it
    is a BCM rule. The defaults are the visual-cortex all-to-all set of the paper's Table 4;
    :data:`TRIPLET_PARAMETERS` holds the four sets (visual cortex or hippocampal, all-to-all
    or nearest-spike) and :meth:`fitted` makes a rule from one.

    References
    ----------
    Pfister & Gerstner (2006). Triplets of spikes in a model of spike timing-dependent
    plasticity. J. Neurosci. 26, 9673-9682.
    Sjostrom, Turrigiano & Nelson (2001). Rate, timing, and cooperativity jointly determine
    cortical synaptic plasticity. Neuron 32, 1149-1164.
    """

    a2_plus: float = hyperparameter(5e-10, low=0.0, doc="pair potentiation amplitude")
    a3_plus: float = hyperparameter(6.2e-3, low=0.0, doc="triplet potentiation amplitude")
    a2_minus: float = hyperparameter(7e-3, low=0.0, doc="pair depression amplitude")
    a3_minus: float = hyperparameter(2.3e-4, low=0.0, doc="triplet depression amplitude")
    tau_plus: float = hyperparameter(16.8e-3, low=0.0, low_open=True,
                                     doc="fast presynaptic trace r1 (s)")
    tau_x: float = hyperparameter(101e-3, low=0.0, low_open=True,
                                  doc="slow presynaptic trace r2 (s)")
    tau_minus: float = hyperparameter(33.7e-3, low=0.0, low_open=True,
                                      doc="fast postsynaptic trace o1 (s)")
    tau_y: float = hyperparameter(125e-3, low=0.0, low_open=True,
                                  doc="slow postsynaptic trace o2 (s)")
    w_min: float = hyperparameter(0.0, doc="lower weight bound")
    w_max: float = hyperparameter(1.0, low=0.0, low_open=True, doc="upper weight bound")
    nearest: bool = hyperparameter(False, doc="nearest-spike interactions instead of all-to-all")

    summary = "triplet STDP: pair and triplet terms; frequency-dependent (Pfister & Gerstner)"
    equation = (r"\text{pre: } \Delta w = -o_1 [A_2^- + A_3^- r_2],\ "
                r"\text{post: } \Delta w = r_1 [A_2^+ + A_3^+ o_2]")
    reference = "Pfister & Gerstner 2006, J. Neurosci. 26:9673"
    traces = {"pre": ("tau_plus", "tau_x"), "post": ("tau_minus", "tau_y")}
    on_pre = _triplet_on_pre
    on_post = _triplet_on_post
    numpy_twin = _triplet_twin

    def __post_init__(self):
        super().__post_init__()
        if not self.w_min < self.w_max:
            raise ValueError(f"TripletSTDP: w_min={self.w_min!r} must be below "
                             f"w_max={self.w_max!r}")

    @classmethod
    def fitted(cls, data="visual_cortex", nearest=False, **kwargs) -> "TripletSTDP":
        """The rule with one of the paper's fitted parameter sets (Table 4): ``data`` is
        ``"visual_cortex"`` (Sjostrom et al. 2001) or ``"hippocampal"`` (Wang et al. 2005);
        ``kwargs`` override (bounds, say)."""
        key = (data, "nearest" if nearest else "all_to_all")
        if key not in TRIPLET_PARAMETERS:
            raise ValueError(f"data={data!r}; allowed: "
                             + ", ".join(sorted({k[0] for k in TRIPLET_PARAMETERS})))
        return cls(**{**TRIPLET_PARAMETERS[key], "nearest": bool(nearest), **kwargs})


# -- reward-modulated STDP -----------------------------------------------------------------------
@jit
def _rstdp_on_pre(W, j, x_pre, x_post, params, state):
    x_pre[0, j] += 1.0
    t = state.now[0]
    c = state.elig
    tc = state.elig_t
    for i in range(W.shape[0]):
        c[i, j] = c[i, j] * math.exp((tc[i, j] - t) / params.tau_c) - params.a_minus * x_post[0, i]
        tc[i, j] = t


@jit
def _rstdp_on_post(W, i, x_pre, x_post, params, state):
    x_post[0, i] += 1.0
    t = state.now[0]
    c = state.elig
    tc = state.elig_t
    for j in range(W.shape[1]):
        c[i, j] = c[i, j] * math.exp((tc[i, j] - t) / params.tau_c) + params.a_plus * x_pre[0, j]
        tc[i, j] = t


@jit
def _rstdp_on_reward(W, r, x_pre, x_post, params, state):
    t = state.now[0]
    c = state.elig
    tc = state.elig_t
    g = params.lr * r * params.w_max
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            c[i, j] *= math.exp((tc[i, j] - t) / params.tau_c)
            tc[i, j] = t
            W[i, j] = min(max(W[i, j] + g * c[i, j], params.w_min), params.w_max)


def _rstdp_twin(rule, W, pre, post, mod, state, dt):
    """NumPy twin, step by step: the traces decay; each spike brings the eligibilities it
    touches to now (``c exp(-(now - t_c) / tau_c)``) and adds its pair terms; a reward
    (``mod[0]``) at the end of the step brings every eligibility to now and moves the
    weights along it. The state holds each eligibility as of its time ``elig_t``, as the
    kernels do."""
    Wn = W.astype(np.float64).copy()
    xp, xq, c, tc = state.x_pre, state.x_post, state.elig, state.elig_t
    state.now[0] += dt
    now = float(state.now[0])
    xp *= np.exp(-dt / rule.tau_plus)
    xq *= np.exp(-dt / rule.tau_minus)
    for j in np.flatnonzero(pre):
        for _ in range(int(pre[j] + 0.5)):
            xp[0, j] += 1.0
            c[:, j] = c[:, j] * np.exp((tc[:, j] - now) / rule.tau_c) - rule.a_minus * xq[0]
            tc[:, j] = now
    for i in np.flatnonzero(post):
        for _ in range(int(post[i] + 0.5)):
            xq[0, i] += 1.0
            c[i] = c[i] * np.exp((tc[i] - now) / rule.tau_c) + rule.a_plus * xp[0]
            tc[i] = now
    r = 0.0 if mod is None or len(mod) == 0 else float(mod[0])
    if r != 0.0:
        c *= np.exp((tc - now) / rule.tau_c)
        tc[...] = now
        Wn = np.clip(Wn + rule.lr * r * rule.w_max * c, rule.w_min, rule.w_max)
    return Wn - W, np.zeros(0)


@register("reward_stdp")
@dataclass(frozen=True, repr=False)
class RewardSTDP(SpikingRule):
    r"""Reward-modulated STDP: pairs write an eligibility trace, a reward applies it.

    Izhikevich (2007); Florian (2007). Each synapse has an eligibility :math:`c_{ij}` that decays with :math:`\tau_c`; the pair
    rule's changes go into it instead of the weight (all-to-all traces :math:`x_j`,
    :math:`y_i` with :math:`\tau_+`, :math:`\tau_-`):

    .. math::

        \tau_c \frac{dc_{ij}}{dt} = -c_{ij}, \qquad
        \text{pre: } c_{ij} \mathrel{-}= A_-\, y_i, \qquad \text{post: } c_{ij} \mathrel{+}= A_+\, x_j

    and a reward :math:`r` (a pulse of dopamine, given to :func:`brainlearn.simulate` as
    ``reward=(times, values)``) changes every weight by
    :math:`\Delta w_{ij} = \eta\, r\, c_{ij}\, w_\max`, clipped to :math:`[w_\min, w_\max]`.
    A pairing is credited by a reward up to a few :math:`\tau_c` later: Izhikevich's
    distal-reward problem. The reward as a pulse is Florian's MSTDPET with the reward signal a
    sum of deltas, and the limit of short dopamine transients of Izhikevich's model.
    Eligibilities decay lazily (each synapse carries the time it was last brought up to
    date), so the work stays proportional to the spikes times the fan-out, plus the number of
    synapses per reward.

    In a rate protocol (:func:`brainlearn.protocols.apply`, ``check_rule``) the reward is
    ``mod[0]`` of the step. The state follows the weights' dtype, the rule's clock ``now``
    included: in a float32 network the eligibilities' timing is exact to about 1e-7 of the
    simulated time.

    References
    ----------
    Izhikevich (2007). Solving the distal reward problem through linkage of STDP and dopamine
    signaling. Cereb. Cortex 17, 2443-2452.
    Florian (2007). Reinforcement learning through modulation of spike-timing-dependent
    synaptic plasticity. Neural Comput. 19, 1468-1502.
    """

    lr: float = hyperparameter(1.0, low=0.0, doc="weight change per unit reward and eligibility")
    a_plus: float = hyperparameter(0.01, low=0.0, doc="eligibility of a pre-before-post pair")
    a_minus: float = hyperparameter(0.0105, low=0.0, doc="eligibility of a post-before-pre pair")
    tau_plus: float = hyperparameter(20e-3, low=0.0, low_open=True,
                                     doc="presynaptic trace time constant (s)")
    tau_minus: float = hyperparameter(20e-3, low=0.0, low_open=True,
                                      doc="postsynaptic trace time constant (s)")
    tau_c: float = hyperparameter(1.0, low=0.0, low_open=True,
                                  doc="eligibility time constant (s; Izhikevich: 1 s)")
    w_min: float = hyperparameter(0.0, doc="lower weight bound")
    w_max: float = hyperparameter(0.01, low=0.0, low_open=True, doc="upper weight bound")

    summary = "reward-modulated STDP: pairs set an eligibility trace, a reward applies it"
    equation = (r"\tau_c \dot c = -c + \mathrm{STDP}(\Delta t),\ "
                r"\Delta w = \eta\, r\, c\, w_\max")
    reference = "Izhikevich 2007, Cereb. Cortex 17:2443; Florian 2007, Neural Comput. 19:1468"
    needs = frozenset({"pre", "post", "reward"})
    traces = {"pre": ("tau_plus",), "post": ("tau_minus",)}
    on_pre = _rstdp_on_pre
    on_post = _rstdp_on_post
    on_reward = _rstdp_on_reward
    numpy_twin = _rstdp_twin

    def __post_init__(self):
        super().__post_init__()
        if not self.w_min < self.w_max:
            raise ValueError(f"RewardSTDP: w_min={self.w_min!r} must be below "
                             f"w_max={self.w_max!r}")

    def init_state(self, projection, rng):
        base = super().init_state(projection, rng)
        W = projection.W
        return RewardSTDPState(*base, np.zeros(W.shape, W.dtype), np.zeros(W.shape, W.dtype),
                               np.zeros(1, W.dtype))
