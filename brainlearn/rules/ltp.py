"""LTP-style rules: the calcium-based synapse of Graupner & Brunel (2012).

The rule is driven by spikes: ``pre[j]`` and ``post[i]`` are the numbers of spikes
neuron ``j`` / ``i`` fires at the start of the step (run it with
:func:`brainlearn.protocols.apply`), or firing rates in Hz with ``rates=True``.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import numpy as np

from .. import _random as _rnd
from .._jit import jit
from .base import LocalRule, hyperparameter, register

__all__ = ["Calcium", "CalciumState"]

CalciumState = collections.namedtuple(
    "CalciumState", ["rho", "c_pre", "c_post", "pending", "in_flight", "rng"])

#: presynaptic spikes a neuron can have in flight (within the delay D) at once; more are
#: merged into the latest one (at D = 13.7 ms that takes a rate above 580 Hz)
PENDING = 8
#: normal draws reserved per synapse and step (at most 2 per piece between calcium arrivals,
#: and at most PENDING + 2 pieces)
_DRAWS = 32

# -- randomness: the counter-based generator of brainlearn._random ---------------------------------
_stream = _rnd.stream
_uniform = _rnd.uniform


@jit
def _normal(stream, m):
    """A standard normal number from elements 2m and 2m + 1 (Box-Muller)."""
    u1 = _uniform(stream, 2 * m)
    u2 = _uniform(stream, 2 * m + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)


# -- the dynamics ---------------------------------------------------------------------------------
@jit
def _relax(r, gp, gd, k, t, params, stream, m):
    """rho over ``t`` seconds with potentiation (rate gp) and/or depression (gd) on: exact OU step.

    tau drho/dt = gp (1 - rho) - gd rho + sigma sqrt(tau k) eta  (k thresholds crossed).
    """
    lam = (gp + gd) / params.tau
    target = gp / (gp + gd)
    e = math.exp(-lam * t)
    r = target + (r - target) * e
    if params.sigma > 0:
        var = params.sigma * params.sigma * k / params.tau * (-math.expm1(-2.0 * lam * t)) / (2.0 * lam)
        r += math.sqrt(var) * _normal(stream, m)
    return r


@jit
def _segment(r, c, t, params, stream, m):
    """rho over ``t`` seconds while the calcium decays from ``c``; returns (rho, next draw)."""
    tp = 0.0
    if c > params.theta_p:
        tp = min(params.tau_ca * math.log(c / params.theta_p), t)
    td = 0.0
    if c > params.theta_d:
        td = min(params.tau_ca * math.log(c / params.theta_d), t)
    both = min(tp, td)
    if both > 0:
        r = _relax(r, params.gamma_p, params.gamma_d, 2.0, both, params, stream, m)
        m += 1
    if tp > td:
        r = _relax(r, params.gamma_p, 0.0, 1.0, tp - td, params, stream, m)
        m += 1
    elif td > tp:
        r = _relax(r, 0.0, params.gamma_d, 1.0, td - tp, params, stream, m)
        m += 1
    return r, m


@jit
def _spikes(v, h, rates, stream, m):
    """Spike count from a signal: a count (negative: none), or with ``rates`` a Bernoulli draw."""
    if v <= 0:
        return 0.0
    if rates:
        return 1.0 if _uniform(stream, m) < v * h else 0.0
    return v


@jit
def _calcium_step(params, state, h, pre, post, dW):
    """One step of ``h`` seconds, spikes ``pre``/``post`` at its start; adds the change to dW."""
    rho, c_pre, c_post = state.rho, state.c_pre, state.c_post
    pend, fly, rng = state.pending, state.in_flight, state.rng
    n_post, n_pre = rho.shape
    cap = pend.shape[1]
    stream = _stream(rng[0], rng[1], rng[2])
    extra = n_post * n_pre * _DRAWS * 2  # stream elements beyond the synapses' normal draws
    for i in range(n_post):
        c_post[i] += params.c_post * _spikes(post[i], h, params.rates, stream, extra + n_pre + i)
    # presynaptic calcium arriving in this step: (offset, count) per neuron, sorted by offset
    at = np.empty((n_pre, cap + 1))
    amount = np.empty((n_pre, cap + 1))
    n_at = np.zeros(n_pre, np.int64)
    for j in range(n_pre):
        v = _spikes(pre[j], h, params.rates, stream, extra + j)
        m = 0
        if v > 0 and params.delay < h:
            at[j, 0] = params.delay
            amount[j, 0] = v
            m = 1
        elif v > 0:
            free = -1
            last = 0
            for k in range(cap):
                if pend[j, k] < 0 and free < 0:
                    free = k
                if pend[j, k] > pend[j, last]:
                    last = k
            if free >= 0:
                pend[j, free] = params.delay
                fly[j, free] = v
            else:
                fly[j, last] += v
        for k in range(cap):
            r = pend[j, k]
            if r < 0:
                continue
            if r >= h:
                pend[j, k] = r - h
                continue
            pos = m  # arrives in this step, at offset r: insert in order
            while pos > 0 and at[j, pos - 1] > r:
                at[j, pos] = at[j, pos - 1]
                amount[j, pos] = amount[j, pos - 1]
                pos -= 1
            at[j, pos] = r
            amount[j, pos] = fly[j, k]
            m += 1
            pend[j, k] = -1
            fly[j, k] = 0
        n_at[j] = m
    theta = min(params.theta_d, params.theta_p)
    n_sub = max(1, int(math.ceil(h / (0.01 * params.tau))))
    hs = h / n_sub
    scale = params.w0 * (params.b - 1)
    for i in range(n_post):
        for j in range(n_pre):
            r0 = rho[i, j]
            r = r0
            for _ in range(n_sub):  # the bistable drift (explicit Euler, steps << tau)
                r += hs / params.tau * (-r * (1 - r) * (params.rho_star - r))
            c = c_pre[j] + c_post[i]
            if c > theta or n_at[j] > 0:
                m = (i * n_pre + j) * _DRAWS
                s = 0.0
                for a in range(n_at[j]):
                    o = at[j, a]
                    if o > s:
                        r, m = _segment(r, c, o - s, params, stream, m)
                        c *= math.exp(-(o - s) / params.tau_ca)
                        s = o
                    c += params.c_pre * amount[j, a]
                r, m = _segment(r, c, h - s, params, stream, m)
            rho[i, j] = r
            dW[i, j] += scale * (r - r0)
    decay = math.exp(-h / params.tau_ca)
    for i in range(n_post):
        c_post[i] *= decay
    for j in range(n_pre):
        c = c_pre[j] * decay
        for a in range(n_at[j]):
            c += params.c_pre * amount[j, a] * math.exp(-(h - at[j, a]) / params.tau_ca)
        c_pre[j] = c
    rng[1] += 1
    if rng[1] >= 4194304:  # 2**22: both halves stay exact in float32
        rng[1] = 0
        rng[2] += 1


@jit
def _calcium_delta(W, pre, post, mod, params, state, dt, dW, db):
    _calcium_step(params, state, dt, pre, post, dW)


@jit
def _calcium_rest(W, params, state, dt, n_steps, dW):
    no_pre = np.zeros(W.shape[1], W.dtype)
    no_post = np.zeros(W.shape[0], W.dtype)
    for _ in range(n_steps):
        _calcium_step(params, state, dt, no_pre, no_post, dW)


@register("calcium")
@dataclass(frozen=True, repr=False)
class Calcium(LocalRule):
    r"""Calcium-based synaptic plasticity with a bistable efficacy (Graupner & Brunel 2012).

    Each synapse has a calcium concentration :math:`c` and an efficacy
    :math:`\rho`. A presynaptic spike adds :math:`C_\mathrm{pre}` to the calcium
    after a delay :math:`D`, a postsynaptic spike adds :math:`C_\mathrm{post}`
    at once, and calcium decays with :math:`\tau_\mathrm{Ca}`:

    .. math::

        \frac{dc}{dt} = -\frac{c}{\tau_\mathrm{Ca}}
            + C_\mathrm{pre} \sum_k \delta(t - t^\mathrm{pre}_k - D)
            + C_\mathrm{post} \sum_k \delta(t - t^\mathrm{post}_k)

    .. math::

        \tau \frac{d\rho}{dt} = -\rho (1 - \rho)(\rho_\star - \rho)
            + \gamma_p (1 - \rho)\, \Theta(c - \theta_p)
            - \gamma_d\, \rho\, \Theta(c - \theta_d)
            + \sigma \sqrt{\tau}\, \sqrt{\Theta(c - \theta_d) + \Theta(c - \theta_p)}\; \eta(t)

    (:math:`\Theta` the Heaviside function, :math:`\eta` white noise; the noise
    term as in the paper's correction, doi:10.1073/pnas.1220044110). Without
    calcium the cubic term makes :math:`\rho = 0` (DOWN) and :math:`\rho = 1` (UP)
    stable, with the boundary at :math:`\rho_\star`. The weight follows the efficacy,
    :math:`w = w_0 + \rho\,(w_1 - w_0)` with :math:`w_1 = b\, w_0`: the kernel adds
    :math:`(b - 1) w_0\, \Delta\rho` to ``dW``, and the state starts from
    :math:`\rho = (W - w_0) / ((b - 1) w_0)` clipped to [0, 1]
    (:meth:`initial_weights` gives the paper's start, a fraction ``beta`` DOWN).
    The defaults are the paper's "DP" set (Fig. 2, Table S1): 60 pairs at 1 Hz
    potentiate at :math:`\Delta t = +10` ms and depress at :math:`-10` ms.

    Signals: ``pre[j]``/``post[i]`` are spike counts at the start of the step
    (fractional or negative values: calcium jumps in proportion / none), or with
    ``rates=True`` rates in Hz, from which a spike is drawn with probability
    ``rate * dt``. Use :func:`brainlearn.protocols.apply` to drive it with spike trains
    (with ``rates=False``: apply hands the kernel spike counts).

    Parameters
    ----------
    tau_ca : float
        Calcium decay time constant :math:`\tau_\mathrm{Ca}` (s).
    c_pre, c_post : float
        Calcium jumps of a presynaptic and a postsynaptic spike.
    theta_d, theta_p : float
        Depression and potentiation thresholds.
    gamma_d, gamma_p : float
        Depression and potentiation rates.
    sigma : float
        Noise amplitude (0: deterministic).
    tau : float
        Time constant of the efficacy (s).
    rho_star : float
        Boundary between the DOWN and UP basins.
    delay : float
        Delay :math:`D` of the presynaptic calcium (s).
    beta : float
        Fraction of synapses DOWN at the start, in :meth:`initial_weights`.
    b : float
        Ratio :math:`w_1 / w_0` of the UP and DOWN weights.
    w0 : float
        Weight of the DOWN state.
    rates : bool
        Read ``pre``/``post`` as firing rates (Hz) and draw Bernoulli spikes.

    Notes
    -----
    Discretisation: spikes arrive at the start of a step, and the calcium is
    integrated exactly in between, so the time spent above each threshold is
    exact (delayed presynaptic calcium lands at its exact offset within a step).
    While the calcium is above a threshold the :math:`\rho` equation is linear
    and is solved exactly (an Ornstein-Uhlenbeck step); the cubic drift is added
    by explicit Euler in sub-steps of at most :math:`\tau / 100`. The result is
    accurate for any step, so the rest kernel (no spikes: in-flight calcium
    arrives and decays, :math:`\rho` relaxes) runs with steps of seconds. Noise
    comes from a counter-based generator whose key is drawn from the
    projection's state generator: the same network seed gives the same run.

    References
    ----------
    Graupner, M. & Brunel, N. (2012). Calcium-based plasticity model explains
    sensitivity of synaptic changes to spike pattern, rate, and dendritic
    location. PNAS 109, 3991-3996; correction of the noise term, doi:10.1073/pnas.1220044110.
    """

    tau_ca: float = hyperparameter(0.02, low=0.0, low_open=True, doc="calcium decay time constant (s)")
    c_pre: float = hyperparameter(1.0, low=0.0, doc="calcium jump of a presynaptic spike")
    c_post: float = hyperparameter(2.0, low=0.0, doc="calcium jump of a postsynaptic spike")
    theta_d: float = hyperparameter(1.0, low=0.0, low_open=True, doc="depression threshold")
    theta_p: float = hyperparameter(1.3, low=0.0, low_open=True, doc="potentiation threshold")
    gamma_d: float = hyperparameter(200.0, low=0.0, low_open=True, doc="depression rate")
    gamma_p: float = hyperparameter(321.808, low=0.0, low_open=True, doc="potentiation rate")
    sigma: float = hyperparameter(2.8284, low=0.0, doc="noise amplitude")
    tau: float = hyperparameter(150.0, low=0.0, low_open=True, doc="efficacy time constant (s)")
    rho_star: float = hyperparameter(0.5, low=0.0, high=1.0, low_open=True, high_open=True,
                                     doc="boundary between the DOWN and UP basins")
    delay: float = hyperparameter(0.0137, low=0.0, doc="delay of the presynaptic calcium (s)")
    beta: float = hyperparameter(0.5, low=0.0, high=1.0,
                                 doc="fraction of synapses DOWN at the start (initial_weights)")
    b: float = hyperparameter(5.0, low=1.0, low_open=True, doc="UP/DOWN weight ratio w1/w0")
    w0: float = hyperparameter(1.0, low=0.0, low_open=True, doc="weight of the DOWN state")
    rates: bool = hyperparameter(False, doc="pre/post are rates in Hz (Bernoulli spikes)")

    tags = dict(family="ltp", elementwise=True, spike_counts=True)
    summary = "calcium thresholds for LTD/LTP on a bistable, noisy efficacy (spike-driven)"
    equation = (r"\tau \dot\rho = -\rho(1-\rho)(\rho_\star-\rho) + \gamma_p(1-\rho)\Theta(c-\theta_p)"
                r" - \gamma_d \rho\, \Theta(c-\theta_d) + \mathrm{noise}")
    reference = "Graupner & Brunel 2012, PNAS 109:3991"
    kernel = _calcium_delta
    rest_kernel = _calcium_rest

    def init_state(self, projection, rng):
        W = projection.W
        dtype = W.dtype
        rho = np.clip((np.asarray(W, np.float64) - self.w0) / ((self.b - 1) * self.w0), 0.0, 1.0)
        n_post, n_pre = W.shape
        key = int(rng.integers(0, 2 ** 24))
        return CalciumState(np.ascontiguousarray(rho, dtype=dtype), np.zeros(n_pre, dtype),
                            np.zeros(n_post, dtype), np.full((n_pre, PENDING), -1.0, dtype),
                            np.zeros((n_pre, PENDING), dtype), np.array([key, 0, 0], dtype))

    def initial_weights(self, shape, seed=0, dtype="float64") -> np.ndarray:
        """Weights of the paper's start: ``round(beta * size)`` synapses DOWN (``w0``), the rest
        UP (``b * w0``), in a random order drawn from ``seed``."""
        shape = tuple(np.atleast_1d(shape).tolist())
        size = int(np.prod(shape))
        down = np.random.default_rng(seed).permutation(size) < round(self.beta * size)
        return np.where(down, self.w0, self.b * self.w0).reshape(shape).astype(dtype)

    def synaptic_change(self, rho_before, rho_after) -> float:
        r"""The paper's "change in synaptic strength": mean weight after / before.

        Each synapse counts as UP (weight :math:`b w_0`) when :math:`\rho > \rho_\star`,
        else DOWN (:math:`w_0`).
        """
        before = np.asarray(rho_before) > self.rho_star
        after = np.asarray(rho_after) > self.rho_star
        return float((1 + (self.b - 1) * after.mean()) / (1 + (self.b - 1) * before.mean()))
