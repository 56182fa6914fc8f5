"""Palimpsest storage rules: bounded synapses that forget old patterns as new ones arrive.

Rules of the ``memory`` family (see :mod:`brainlearn.rules.memory`), for the recurrent
projection of a memory network: ``pre = post = pattern``, the diagonal never changes.
:class:`ClippedHebb` (Parisi 1986) clips analog weights; :class:`StochasticBinary`
(Amit & Fusi 1994) and :class:`Cascade` (Fusi, Drew & Abbott 2005) are binary synapses
with stochastic transitions, drawn from the counter-based generator of
:mod:`brainlearn._random` (key from the network seed, one counter step per pattern,
32-bit draw ``i n + j`` for synapse ``(i, j)``).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .._random import COUNTER_WRAP, bits, stream, threshold
from .base import hyperparameter, register
from .memory import _MemoryRule

__all__ = ["ClippedHebb", "StochasticBinary", "Cascade", "StochasticBinaryState", "CascadeState",
           "cascade_occupancy"]


# -- clipped Hebb -------------------------------------------------------------------------------------
@jit
def _clipped_hebb_delta(W, pre, post, mod, params, state, dt, dW, db):
    n_post, n_pre = W.shape
    hi = params.bound
    lo = -hi
    for i in range(n_post):
        c = params.lr * post[i]
        for j in range(n_pre):
            if j != i:
                w = W[i, j]
                v = w + c * pre[j]
                # selects rather than min/max, so the loop vectorises
                v = v if v < hi else hi
                v = v if v > lo else lo
                dW[i, j] += v - w


@register("clipped_hebb")
@dataclass(frozen=True, repr=False)
class ClippedHebb(_MemoryRule):
    r"""Hebbian storage with weights clipped to a bounded interval: a palimpsest.

    .. math:: w_{ij} \leftarrow \mathrm{clip}(w_{ij} + \eta\, y_i x_j,\ -B,\ B) \quad (i \ne j)

    Bounded weights forget: each new pattern pushes old ones out, so a stream of
    patterns never drives the network into the Hopfield catastrophe. Only the ratio
    :math:`B/\eta` matters for +-1 units (about :math:`(B/\eta)^2` recent patterns
    shape the weights); Parisi (1986) finds at most about :math:`0.04\, n` retrievable
    recent patterns at the best ratio.

    References
    ----------
    Parisi, G. (1986). A memory which forgets. J. Phys. A 19, L617.
    Nadal, Toulouse, Changeux & Dehaene (1986). Networks of formal neurons and memory
    palimpsests. Europhys. Lett. 1, 535.
    """

    lr: float = hyperparameter(0.1, low=0.0, doc="increment of one pattern")
    bound: float = hyperparameter(1.0, low=0.0, low_open=True, doc="weights stay in [-bound, bound]")

    summary = "Hebb with weights clipped to [-bound, bound]; forgets old patterns (palimpsest)"
    equation = r"w_{ij} \leftarrow \mathrm{clip}(w_{ij} + \eta\, y_i x_j, -B, B)"
    reference = "Parisi 1986, J. Phys. A 19:L617"
    tags = dict(elementwise=True)
    kernel = _clipped_hebb_delta


# -- stochastic binary synapses --------------------------------------------------------------------------
StochasticBinaryState = collections.namedtuple("StochasticBinaryState", ["rng"])


@jit
def _events(pre, y, sparse, ev):
    """Event of each synapse of a row with postsynaptic activity ``y``: +1 potentiation,
    -1 depression, 0 none (+-1 units: the sign of y x_j; sparse 0/1 units: both active
    potentiate, exactly one active depresses)."""
    if sparse:
        ya = y > 0.5
        for j in range(pre.shape[0]):
            xa = pre[j] > 0.5
            ev[j] = 1 if (ya and xa) else (-1 if ya != xa else 0)
    else:
        for j in range(pre.shape[0]):
            p = y * pre[j]
            ev[j] = 1 if p > 0 else (-1 if p < 0 else 0)


@jit
def _advance(rng):
    rng[1] += 1
    if rng[1] >= COUNTER_WRAP:
        rng[1] = 0
        rng[2] += 1


@jit
def _stochastic_binary_delta(W, pre, post, mod, params, state, dt, dW, db):
    n_post, n_pre = W.shape
    rng = state.rng
    st = stream(int(rng[0]), int(rng[1]), int(rng[2]))
    mid = 0.5 * (params.w_low + params.w_high)
    w_low, w_high = W.dtype.type(params.w_low), W.dtype.type(params.w_high)
    t_up = threshold(params.q)
    t_down = threshold(params.q * params.ltd_ratio)
    zero = np.uint64(0)
    ev = np.empty(n_pre, np.int64)
    # the row's change goes to a buffer first: the loop that reads W then vectorises even
    # when dW is W (a run-time overlap check would otherwise fall back to scalar code)
    d = np.empty(n_pre, W.dtype)
    for i in range(n_post):
        _events(pre, post[i], params.sparse, ev)
        base = i * n_pre
        # selects instead of branches, so that the loop vectorises
        for j in range(n_pre):
            w = W[i, j]
            high = w > mid
            up = ev[j] > 0 and not high
            down = ev[j] < 0 and high
            t = t_up if up else (t_down if down else zero)
            t = t if j != i else zero  # the diagonal never changes
            go = bits(st, base + j) < t
            d[j] = ((w_high if up else w_low) - w) if go else W.dtype.type(0)
        for j in range(n_pre):
            dW[i, j] += d[j]
    _advance(rng)


def _initial_binary(shape, seed, dtype, w_low, w_high):
    rng = np.random.default_rng(seed)
    up = rng.random(shape) < 0.5
    W = np.where(up, w_high, w_low).astype(dtype)
    n = min(shape)
    W[np.arange(n), np.arange(n)] = 0
    return W


def _rng_state(rng, dtype):
    """[key, counter low, counter high] of the counter-based generator (exact in float32)."""
    return np.array([int(rng.integers(0, 2 ** 24)), 0, 0], dtype)


@register("stochastic_binary")
@dataclass(frozen=True, repr=False)
class StochasticBinary(_MemoryRule):
    r"""Binary synapses with stochastic transitions (Amit & Fusi 1994).

    Each synapse is in one of two states, :math:`w_-` or :math:`w_+` (weights; a
    synapse counts as potentiated when :math:`w_{ij} > (w_- + w_+)/2`). A pattern
    makes a potentiation event at synapse :math:`(i, j)` when :math:`y_i x_j > 0` and a
    depression event when :math:`y_i x_j < 0` (+-1 units); with ``sparse`` (0/1
    units) potentiation when both are active and depression when exactly one is
    (active: activity > 1/2). Then

    .. math::

        w_{ij} \to w_+ \text{ with probability } q \text{ (potentiation)},\qquad
        w_{ij} \to w_- \text{ with probability } q\, r_{\mathrm{LTD}} \text{ (depression)}

    (:math:`i \ne j`). New patterns overwrite old ones: the trace of a pattern decays
    like :math:`(1-q)^t` while the noise stays :math:`\sqrt n`, so the memory lifetime
    grows only like :math:`\ln(n)/q` (a palimpsest with capacity of order
    :math:`\log n`). The uniform numbers come from a counter-based generator in the
    state (key drawn from the network seed; element :math:`i n + j`).

    References
    ----------
    Amit, D. J. & Fusi, S. (1994). Learning in neural networks with material synapses.
    Neural Computation 6, 957-982.
    """

    q: float = hyperparameter(0.1, low=0.0, high=1.0, doc="transition probability on an event")
    ltd_ratio: float = hyperparameter(1.0, low=0.0, doc="depression probability / q")
    w_low: float = hyperparameter(-1.0, doc="weight of a depressed synapse")
    w_high: float = hyperparameter(1.0, doc="weight of a potentiated synapse")
    sparse: bool = hyperparameter(False, doc="0/1 units: both active potentiate, one active depresses")

    summary = "two-state synapses switching with probability q on each event; log N lifetime"
    equation = r"w \to w_+ \text{ w.p. } q \text{ if } y_i x_j > 0;\ w \to w_- \text{ w.p. } q r \text{ if } y_i x_j < 0"
    reference = "Amit & Fusi 1994, Neural Comput. 6:957"
    tags = dict(elementwise=True)
    kernel = _stochastic_binary_delta

    def __post_init__(self):
        super().__post_init__()
        if not self.w_low < self.w_high:
            raise ValueError(f"{type(self).__name__}: w_low={self.w_low!r} must be below "
                             f"w_high={self.w_high!r}")
        if self.q * self.ltd_ratio > 1.0:
            raise ValueError(f"{type(self).__name__}: ltd_ratio={self.ltd_ratio!r} with q={self.q!r} "
                             "gives a depression probability above 1; allowed: q * ltd_ratio <= 1")

    def init_state(self, projection, rng):
        return StochasticBinaryState(_rng_state(rng, projection.W.dtype))

    def initial_weights(self, shape, seed=0, dtype="float64") -> np.ndarray:
        """Random ``w_low``/``w_high`` weights (each with probability 1/2), diagonal 0."""
        return _initial_binary(tuple(shape), seed, dtype, self.w_low, self.w_high)


# -- cascade synapses ------------------------------------------------------------------------------------
CascadeState = collections.namedtuple("CascadeState", ["level", "rng"])


@jit
def _cascade_thresholds(n, x):
    """Integer thresholds of q_k (switch) and p_k (one level deeper), k = 0..n-1 (0-based)."""
    tq = np.empty(n, np.uint64)
    tp = np.zeros(n, np.uint64)
    for k in range(n):
        tq[k] = threshold(x ** k)
        if k < n - 1:
            tp[k] = threshold(x ** (k + 1) / (1.0 - x))
    if n > 1:
        tq[n - 1] = threshold(x ** (n - 1) / (1.0 - x))
    return tq, tp


@jit
def _cascade_delta(W, pre, post, mod, params, state, dt, dW, db):
    n_post, n_pre = W.shape
    level, rng = state.level, state.rng
    st = stream(int(rng[0]), int(rng[1]), int(rng[2]))
    tq, tp = _cascade_thresholds(params.n_levels, np.float64(params.x))
    mid = 0.5 * (params.w_low + params.w_high)
    w_low, w_high = W.dtype.type(params.w_low), W.dtype.type(params.w_high)
    zero = np.uint64(0)
    ev = np.empty(n_pre, np.int64)
    d = np.empty(n_pre, W.dtype)  # the row's change (see _stochastic_binary_delta)
    for i in range(n_post):
        _events(pre, post[i], params.sparse, ev)
        base = i * n_pre
        for j in range(n_pre):
            e = ev[j]
            w = W[i, j]
            k = int(level[i, j])
            along = (e > 0) == (w > mid)  # the event confirms the efficacy
            t = tp[k] if along else tq[k]
            t = t if (e != 0 and j != i) else zero
            go = bits(st, base + j) < t
            # along: one level deeper; against: switch the efficacy, back to level 1
            level[i, j] = (k + 1 if along else 0) if go else k
            d[j] = ((w_high if e > 0 else w_low) - w) if (go and not along) else W.dtype.type(0)
        for j in range(n_pre):
            dW[i, j] += d[j]
    _advance(rng)


def cascade_occupancy(n_levels, x):
    """Stationary fraction of synapses at each level under balanced potentiation/depression."""
    k = np.arange(n_levels)
    q = x ** k
    q[-1] = x ** (n_levels - 1) / (1 - x) if n_levels > 1 else 1.0
    p = np.where(k < n_levels - 1, x ** (k + 1) / (1 - x), 0.0)
    pi = np.ones(n_levels)
    for j in range(1, n_levels):
        pi[j] = pi[j - 1] * p[j - 1] / (p[j] + q[j])
    return pi / pi.sum()


@register("cascade")
@dataclass(frozen=True, repr=False)
class Cascade(_MemoryRule):
    r"""Cascade synapses: binary efficacy with metaplastic levels (Fusi, Drew & Abbott 2005).

    A synapse is potentiated or depressed (weights :math:`w_+`, :math:`w_-`) and sits at
    a level :math:`k = 1 \dots n` of its cascade (state ``level``, stored 0-based). Events
    are those of :class:`StochasticBinary`. An event against the efficacy switches it,
    to level 1 of the other cascade, with probability :math:`q_k`; an event along the
    efficacy moves the synapse one level deeper with probability :math:`p_k`:

    .. math::

        q_k = x^{k-1}\ (k < n),\quad q_n = \frac{x^{n-1}}{1-x},\qquad
        p_k = \frac{x^k}{1-x}\ (k < n)

    so deep synapses are ever harder to switch. Memories then decay like a power law
    instead of an exponential: cascades keep a high initial signal (level 1 is as
    plastic as :math:`q = 1`) and a long lifetime (deep levels as stable as
    :math:`q = x^{n-1}`). With :math:`x = 1/2` every level is equally occupied at
    equilibrium; the initial levels are drawn from the equilibrium occupancy under
    balanced potentiation and depression (:func:`cascade_occupancy`).

    References
    ----------
    Fusi, S., Drew, P. J. & Abbott, L. F. (2005). Cascade models of synaptically
    stored memories. Neuron 45, 599-611.
    """

    n_levels: int = hyperparameter(5, low=1, high=30, doc="number of metaplastic levels n")
    x: float = hyperparameter(0.5, low=0.0, high=0.5, low_open=True,
                              doc="ratio of successive transition probabilities")
    w_low: float = hyperparameter(-1.0, doc="weight of a depressed synapse")
    w_high: float = hyperparameter(1.0, doc="weight of a potentiated synapse")
    sparse: bool = hyperparameter(False, doc="0/1 units: both active potentiate, one active depresses")

    summary = "binary synapses with metaplastic levels; power-law forgetting, longer lifetime"
    equation = r"q_k = x^{k-1},\ q_n = x^{n-1}/(1-x),\ p_k = x^k/(1-x)"
    reference = "Fusi, Drew & Abbott 2005, Neuron 45:599"
    tags = dict(elementwise=True)
    kernel = _cascade_delta

    def __post_init__(self):
        super().__post_init__()
        if not self.w_low < self.w_high:
            raise ValueError(f"{type(self).__name__}: w_low={self.w_low!r} must be below "
                             f"w_high={self.w_high!r}")

    def init_state(self, projection, rng):
        W = projection.W
        occ = cascade_occupancy(self.n_levels, self.x)
        level = rng.choice(self.n_levels, size=W.shape, p=occ).astype(W.dtype)
        return CascadeState(np.ascontiguousarray(level), _rng_state(rng, W.dtype))

    def initial_weights(self, shape, seed=0, dtype="float64") -> np.ndarray:
        """Random ``w_low``/``w_high`` weights (each with probability 1/2), diagonal 0."""
        return _initial_binary(tuple(shape), seed, dtype, self.w_low, self.w_high)
