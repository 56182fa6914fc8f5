"""Storage rules of associative memories (family ``memory``).

They sit on the recurrent projection of a population of binary units (see
:mod:`brainlearn.memory`): one presentation of a pattern :math:`\\xi` gives the
kernel ``pre = post = xi`` (``x`` and ``y`` in the equations below). Every rule is
``lateral`` (a population to itself) and leaves the diagonal alone, so
self-couplings stay at their initial 0 (except ``pseudo_inverse`` with
``zero_diagonal=False``, the plain projection rule). ``dt`` is not used: one presentation
stores one pattern.

* one-shot / incremental storage: :class:`HopfieldHebb` (Hopfield 1982),
  :class:`Storkey` (Storkey 1997), :class:`PseudoInverse` (projection rule);
* online palimpsests with bounded synapses (:mod:`brainlearn.rules.palimpsest`):
  :class:`~brainlearn.rules.ClippedHebb` (Parisi 1986),
  :class:`~brainlearn.rules.StochasticBinary` (Amit & Fusi 1994),
  :class:`~brainlearn.rules.Cascade` (Fusi, Drew & Abbott 2005).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._jit import jit
from .base import LocalRule, hyperparameter, register

__all__ = ["HopfieldHebb", "Storkey", "PseudoInverse", "PseudoInverseState"]


class _MemoryRule(LocalRule):
    """Base of the memory-family rules: lateral, with a memory network as example."""

    tags = dict(family="memory", lateral=True)
    #: optional ``sum_kernel`` (the batch kernel's signature) that adds the SUM of the changes
    #: of all rows, for rules whose change reads neither W nor a state (one-shot storage)
    sum_kernel: ClassVar = None


# -- Hopfield's outer-product rule -----------------------------------------------------------------
@jit
def _hopfield_hebb_delta(W, pre, post, mod, params, state, dt, dW, db):
    n_post, n_pre = W.shape
    a = params.offset
    scale = W.dtype.type(params.lr / n_pre)  # in W's dtype: float32 stays float32
    for i in range(n_post):
        c = scale * (post[i] - a)
        # two loops around the diagonal (j = i), which stays unchanged
        for j in range(min(i, n_pre)):
            dW[i, j] += c * (pre[j] - a)
        for j in range(i + 1, n_pre):
            dW[i, j] += c * (pre[j] - a)


@jit
def _add_outer_offdiagonal(pre, post, a, scale, dW):
    """dW += scale (post - a)^T (pre - a) off the diagonal, for rows of patterns (one product)."""
    G = np.dot(((post - a) * scale).T, pre - a)
    n_post, n_pre = dW.shape
    for i in range(n_post):
        for j in range(min(i, n_pre)):
            dW[i, j] += G[i, j]
        for j in range(i + 1, n_pre):
            dW[i, j] += G[i, j]


@jit
def _hopfield_hebb_batch(W, pre, post, mod, params, state, dt, dW, db):
    _add_outer_offdiagonal(pre, post, params.offset,
                           W.dtype.type(params.lr / (W.shape[1] * pre.shape[0])), dW)


@jit
def _hopfield_hebb_sum(W, pre, post, mod, params, state, dt, dW, db):
    _add_outer_offdiagonal(pre, post, params.offset, W.dtype.type(params.lr / W.shape[1]), dW)


@register("hopfield_hebb")
@dataclass(frozen=True, repr=False)
class HopfieldHebb(_MemoryRule):
    r"""Hopfield's outer-product (Hebbian) storage with zero self-coupling.

    .. math:: \Delta w_{ij} = \frac{\eta}{n} (y_i - a)(x_j - a) \quad (i \ne j)

    Storing :math:`P` +-1 patterns from :math:`W = 0` gives Hopfield's prescription
    :math:`w_{ij} = \frac{1}{n}\sum_\mu \xi_i^\mu \xi_j^\mu` (the order does not
    matter: one-shot and online storage agree). Recall from noisy cues is near
    perfect below the critical load :math:`\alpha_c = P/n \approx 0.138` and collapses
    above it; one synchronous step from a stored pattern flips a fraction
    :math:`Q(1/\sqrt{\alpha})` of its bits. For 0/1 patterns of coding level
    :math:`f`, ``offset`` :math:`a = f` and ``lr`` :math:`= 1/(f(1-f))` give the
    covariance rule of Tsodyks & Feigel'man (1988). This is not the plain
    ``hebb`` rule (:math:`\Delta W = \eta\, y x^\top`, no 1/n, diagonal learned).

    References
    ----------
    Hopfield, J. J. (1982). Neural networks and physical systems with emergent
    collective computational abilities. PNAS 79, 2554-2558.
    Amit, Gutfreund & Sompolinsky (1985). Storing infinite numbers of patterns in a
    spin-glass model of neural networks. Phys. Rev. Lett. 55, 1530.
    Tsodyks & Feigel'man (1988). The enhanced storage capacity in neural networks
    with low activity level. Europhys. Lett. 6, 101.
    """

    lr: float = hyperparameter(1.0, low=0.0, doc="scale of one pattern's increment (times 1/n)")
    offset: float = hyperparameter(0.0, low=-1.0, high=1.0,
                                   doc="subtracted from activities (coding level of 0/1 units)")

    summary = "Hopfield outer product (1/n) (y - a)(x - a)^T, zero diagonal; one-shot storage"
    equation = r"\Delta w_{ij} = \frac{\eta}{n} (y_i - a)(x_j - a),\ i \ne j"
    reference = "Hopfield 1982, PNAS 79:2554; Amit, Gutfreund & Sompolinsky 1985"
    tags = dict(elementwise=True)
    kernel = _hopfield_hebb_delta
    batch_kernel = _hopfield_hebb_batch
    #: the SUM of the changes of a batch of patterns, for ``bl.memory.store(..., one_shot=True)``
    #: (a pattern's change reads neither W nor a state, so storing is order-free)
    sum_kernel = staticmethod(_hopfield_hebb_sum)


# -- Storkey ------------------------------------------------------------------------------------
@jit(reduction=True)
def _fields(W, x):
    """h = W x (accumulated in W's dtype)."""
    n_post, n_pre = W.shape
    h = np.empty(n_post, W.dtype)
    for i in range(n_post):
        s = W.dtype.type(0)
        for j in range(n_pre):
            s += W[i, j] * x[j]
        h[i] = s
    return h


@jit
def _storkey_delta(W, pre, post, mod, params, state, dt, dW, db):
    n_post, n_pre = W.shape
    c = W.dtype.type(params.lr / n_pre)
    h = _fields(W, pre)
    # g_j = h_j - w_jj x_j, so that h_ji = g_j - w_ji x_i and h_ij = g_i - w_ij x_j
    g = np.empty(n_post, W.dtype)
    for i in range(n_post):
        g[i] = h[i] - W[i, i] * pre[i]
    for i in range(n_post):
        yi, xi, gi = post[i], pre[i], g[i]
        for j in range(n_pre):
            if j != i:
                xj = pre[j]
                h_ji = g[j] - W[j, i] * xi
                h_ij = gi - W[i, j] * xj
                dW[i, j] += c * (yi * xj - yi * h_ji - h_ij * xj)


@register("storkey")
@dataclass(frozen=True, repr=False)
class Storkey(_MemoryRule):
    r"""Storkey's incremental, local learning rule for Hopfield networks.

    .. math::

        \Delta w_{ij} = \frac{\eta}{n}\left(y_i x_j - y_i h_{ji} - h_{ij} x_j\right),
        \qquad h_{ij} = \sum_{k \ne i, j} w_{ik} x_k \quad (i \ne j)

    with :math:`h` read from the weights before the pattern (Storkey 1997, with
    :math:`\eta = 1`). The subtracted local fields remove the crosstalk of the stored
    patterns, raising the capacity from :math:`n / (2 \ln n)` (Hebb) to about
    :math:`n / \sqrt{2 \ln n}` patterns stored exactly; the rule stays local and
    incremental, and the weights stay symmetric when they start so.

    The rule is meant for one pass over the patterns: presenting the same patterns
    again and again makes the weights grow without bound (the subtracted fields feed
    back), hence ``unstable = True``. One pass over fewer patterns than the capacity
    keeps the weights finite, symmetric and of order 1 (the conformance suite's long-run
    check, run there in ``tests/test_memory.py``).

    References
    ----------
    Storkey, A. (1997). Increasing the capacity of a Hopfield network without
    sacrificing functionality. ICANN'97, LNCS 1327, 451-456.
    Storkey & Valabregue (1999). The basins of attraction of a new Hopfield learning
    rule. Neural Networks 12, 869-876.
    """

    lr: float = hyperparameter(1.0, low=0.0, doc="scale of one pattern's increment (times 1/n)")

    summary = "Storkey's rule: Hebb minus local-field crosstalk terms; higher capacity"
    equation = r"\Delta w_{ij} = \frac{\eta}{n}(y_i x_j - y_i h_{ji} - h_{ij} x_j)"
    reference = "Storkey 1997, ICANN'97 LNCS 1327:451"
    tags = dict(unstable=True)
    kernel = _storkey_delta


# -- pseudo-inverse (projection) rule ---------------------------------------------------------------
PseudoInverseState = collections.namedtuple("PseudoInverseState", ["P", "diag"])


@jit(reduction=True)
def _pinv_residual(P, x):
    """r = x - P x and its squared norm."""
    n = x.shape[0]
    r = np.empty(n, P.dtype)
    rr = P.dtype.type(0)
    for a in range(n):
        s = P.dtype.type(0)
        for b in range(n):
            s += P[a, b] * x[b]
        v = x[a] - s
        r[a] = v
        rr += v * v
    return r, rr


@jit
def _pseudo_inverse_delta(W, pre, post, mod, params, state, dt, dW, db):
    n_post, n_pre = W.shape
    P, d = state.P, state.diag
    r, rr = _pinv_residual(P, pre)
    xx = W.dtype.type(0)
    for j in range(n_pre):
        xx += pre[j] * pre[j]
    if not rr > params.tol * xx:
        return  # x lies in the span of the stored inputs: the projection rule leaves W alone
    inv = W.dtype.type(1) / rr
    # error of the full associator W + diag(d) on this pattern, read before any change
    e = _fields(W, pre)
    for i in range(n_post):
        full = e[i] + (d[i] * pre[i] if i < n_pre else 0.0)
        e[i] = (post[i] - full) * inv
    for i in range(n_post):
        ei = e[i]
        for j in range(n_pre):
            if j == i and params.zero_diagonal:
                d[i] += ei * r[j]
            else:
                dW[i, j] += ei * r[j]
    for a in range(n_pre):
        ra = r[a] * inv
        for b in range(n_pre):
            P[a, b] += ra * r[b]


@register("pseudo_inverse")
@dataclass(frozen=True, repr=False)
class PseudoInverse(_MemoryRule):
    r"""Pseudo-inverse (projection) rule, one pattern at a time (Greville's update).

    .. math::

        r = x - P x, \qquad
        \tilde W \leftarrow \tilde W + \frac{(y - \tilde W x)\, r^\top}{r^\top r}, \qquad
        P \leftarrow P + \frac{r r^\top}{r^\top r}

    :math:`P` (state) is the projector onto the span of the inputs stored so far and
    :math:`\tilde W` the full associator. From :math:`\tilde W = 0`, after patterns
    :math:`\Xi = [\xi^1 \dots \xi^P]` this is the closed form
    :math:`\tilde W = \Xi \Xi^+` (Greville's recursion for the pseudo-inverse), so every
    stored pattern is a fixed point up to :math:`P = n` linearly independent
    patterns (Personnaz, Guyon & Dreyfus 1986); basins shrink as the load grows. An
    input already in the span (:math:`r^\top r \le` ``tol`` :math:`x^\top x`) changes
    nothing. With ``zero_diagonal`` the weights are :math:`\tilde W` without its
    diagonal (Kanter & Sompolinsky 1987: larger basins), and the removed diagonal is
    kept in the state (``diag``) so that the next error is that of :math:`\tilde W`.

    References
    ----------
    Personnaz, Guyon & Dreyfus (1986). Collective computational properties of neural
    networks: new learning mechanisms. Phys. Rev. A 34, 4217.
    Kanter & Sompolinsky (1987). Associative recall of memory without errors.
    Phys. Rev. A 35, 380.
    Greville, T. N. E. (1960). Some applications of the pseudoinverse of a matrix.
    SIAM Review 2, 15-22.
    """

    tol: float = hyperparameter(1e-6, low=0.0, high=1.0,
                                doc="relative residual below which an input counts as stored")
    zero_diagonal: bool = hyperparameter(True, doc="keep self-couplings at 0")

    summary = "projection rule W = Xi Xi^+ by Greville's one-pattern update; capacity up to n"
    equation = (r"r = x - Px,\ \tilde W \mathrel{+}= (y - \tilde W x) r^\top / r^\top r,\ "
                r"P \mathrel{+}= r r^\top / r^\top r")
    reference = "Personnaz, Guyon & Dreyfus 1986, Phys. Rev. A 34:4217; Greville 1960"
    #: a synapse's change reads the projector of all stored inputs, not only its two neurons
    tags = dict(locality="nonlocal")
    kernel = _pseudo_inverse_delta

    def init_state(self, projection, rng):
        W = projection.W
        n_post, n_pre = W.shape
        return PseudoInverseState(np.zeros((n_pre, n_pre), W.dtype), np.zeros(n_post, W.dtype))
