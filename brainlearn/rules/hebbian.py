"""Hebbian rules: plain Hebb, Oja, Sanger (GHA), BCM, covariance, competitive, anti-Hebbian.

Each kernel adds the change of one presentation to ``dW`` (see
:mod:`brainlearn.rules.base` for the protocol); ``pre`` is the presynaptic
activity :math:`x`, ``post`` the postsynaptic activity :math:`y`.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .base import LocalRule, hyperparameter, register

__all__ = ["Hebb", "Oja", "Sanger", "BCM", "Covariance", "Competitive", "AntiHebbian",
           "BCMState", "CovarianceState"]


# -- plain Hebb ------------------------------------------------------------------------------------
@jit
def _hebb_delta(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    for i in range(W.shape[0]):
        c = lr * post[i]
        for j in range(W.shape[1]):
            dW[i, j] += c * pre[j]


@jit
def _hebb_delta_batch(W, pre, post, mod, params, state, dt, dW, db):
    m = pre.shape[0]
    scaled = np.empty_like(post)
    for r in range(m):
        for i in range(post.shape[1]):
            scaled[r, i] = post[r, i] * (params.lr / m)
    G = np.dot(scaled.T, pre)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            dW[i, j] += G[i, j]


@jit
def _hebb_affine(pre, post, params, state, dt, alpha, beta):
    for i in range(post.shape[0]):
        beta[i] += params.lr * post[i]


@register("hebb")
@dataclass(frozen=True, repr=False)
class Hebb(LocalRule):
    r"""Plain Hebbian learning.

    .. math:: \Delta W = \eta\, y\, x^\top

    Unstable by design: with a linear neuron the weight norm grows like
    :math:`(1 + \eta \lambda_1)^n` (:math:`\lambda_1` the top eigenvalue of
    :math:`E[x x^\top]`); combine it with ``weight_decay``, ``clip`` or
    ``row_normalize`` in a :func:`~brainlearn.rules.chain`.

    References
    ----------
    Hebb, D. O. (1949). The Organization of Behavior. Wiley.
    """

    lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")

    summary = "dW = lr y x^T; grows without bound"
    equation = r"\Delta W = \eta\, y x^\top"
    reference = "Hebb 1949, The Organization of Behavior"
    elementwise = True
    row_local = True
    unstable = True
    kernel = _hebb_delta
    batch_kernel = _hebb_delta_batch
    affine_kernel = _hebb_affine


# -- Oja -------------------------------------------------------------------------------------------
@jit
def _oja_delta(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    for i in range(W.shape[0]):
        y = post[i]
        c = lr * y
        for j in range(W.shape[1]):
            dW[i, j] += c * (pre[j] - y * W[i, j])


@jit
def _oja_affine(pre, post, params, state, dt, alpha, beta):
    lr = params.lr
    for i in range(post.shape[0]):
        y = post[i]
        alpha[i] -= lr * y * y
        beta[i] += lr * y


@register("oja")
@dataclass(frozen=True, repr=False)
class Oja(LocalRule):
    r"""Oja's rule: Hebbian growth with a multiplicative, norm-keeping decay.

    .. math:: \Delta w_{ij} = \eta\, y_i (x_j - y_i w_{ij})

    A linear neuron converges to :math:`\pm` the unit-norm first principal
    component of :math:`E[x x^\top]` for small constant :math:`\eta`
    (:math:`\eta \lambda_1 \ll 1`).

    References
    ----------
    Oja, E. (1982). A simplified neuron model as a principal component analyzer.
    J. Math. Biol. 15, 267-273.
    """

    lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")

    summary = "Hebb with multiplicative decay; learns the first principal component"
    equation = r"\Delta w_{ij} = \eta\, y_i (x_j - y_i w_{ij})"
    reference = "Oja 1982, J. Math. Biol. 15:267"
    elementwise = True
    row_local = True
    kernel = _oja_delta
    affine_kernel = _oja_affine


# -- Sanger / GHA ------------------------------------------------------------------------------------
@jit
def _sanger_delta(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    n_post, n_pre = W.shape
    # recon = sum_{k <= i} y_k W_k, accumulated row by row (the lower triangle of y y^T W),
    # in the same pass that writes row i's change
    recon = np.zeros(n_pre, dW.dtype)
    for i in range(n_post):
        y = post[i]
        c = lr * y
        for j in range(n_pre):
            r = recon[j] + y * W[i, j]
            recon[j] = r
            dW[i, j] += c * (pre[j] - r)


@register("sanger")
@dataclass(frozen=True, repr=False)
class Sanger(LocalRule):
    r"""Sanger's generalized Hebbian algorithm (GHA).

    .. math:: \Delta W = \eta\,\left(y x^\top - \mathrm{LT}[y y^\top]\, W\right)

    (LT: lower triangle including the diagonal). Linear units converge to the
    top principal components in order: unit 1 to the first, unit 2 to the
    second, ...

    References
    ----------
    Sanger, T. D. (1989). Optimal unsupervised learning in a single-layer linear
    feedforward neural network. Neural Networks 2, 459-473.
    """

    lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")

    summary = "generalized Hebbian algorithm; learns the top principal components in order"
    equation = r"\Delta W = \eta\,(y x^\top - \mathrm{LT}[y y^\top] W)"
    reference = "Sanger 1989, Neural Networks 2:459"
    in_place = True  # row i's weights are read (into recon) before they are written
    kernel = _sanger_delta


# -- BCM ---------------------------------------------------------------------------------------------
BCMState = collections.namedtuple("BCMState", ["theta"])


@jit
def _bcm_delta(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    theta = state.theta
    rate = dt / params.tau_theta
    for i in range(W.shape[0]):
        y = post[i]
        c = lr * y * (y - theta[i])
        for j in range(W.shape[1]):
            dW[i, j] += c * pre[j]
    # the threshold moves after the update has read it
    for i in range(W.shape[0]):
        theta[i] += rate * (post[i] * post[i] / params.y0 - theta[i])


@jit
def _bcm_affine(pre, post, params, state, dt, alpha, beta):
    lr = params.lr
    theta = state.theta
    rate = dt / params.tau_theta
    for i in range(post.shape[0]):
        y = post[i]
        beta[i] += lr * y * (y - theta[i])
        theta[i] += rate * (y * y / params.y0 - theta[i])


@register("bcm")
@dataclass(frozen=True, repr=False)
class BCM(LocalRule):
    r"""Bienenstock-Cooper-Munro rule with a sliding threshold (Intrator & Cooper form).

    .. math::

        \Delta w_{ij} = \eta\, x_j\, y_i (y_i - \theta_i), \qquad
        \tau_\theta\, \dot\theta_i = y_i^2 / y_0 - \theta_i

    The threshold tracks :math:`E[y^2]/y_0` faster than the weights move. With
    :math:`K` orthogonal, equiprobable patterns the neuron becomes selective:
    the response to one pattern goes to :math:`K y_0`, to the others to 0.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta`.
    y0 : float
        Target scale :math:`y_0 > 0` of the threshold.
    tau_theta : float
        Time constant of the threshold, in the units of ``dt`` (seconds).
    theta0 : float
        Initial threshold.

    References
    ----------
    Bienenstock, Cooper & Munro (1982). J. Neurosci. 2, 32-48.
    Intrator & Cooper (1992). Neural Networks 5, 3-17.
    """

    lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")
    y0: float = hyperparameter(1.0, low=0.0, low_open=True, doc="threshold scale")
    tau_theta: float = hyperparameter(20.0, low=0.0, low_open=True, doc="threshold time constant")
    theta0: float = hyperparameter(0.0, low=0.0, doc="initial threshold")

    summary = "Hebbian with a sliding LTP/LTD threshold; becomes pattern selective"
    equation = r"\Delta w_{ij} = \eta\, x_j y_i (y_i - \theta_i),\ \tau_\theta \dot\theta = y^2/y_0 - \theta"
    reference = "Bienenstock, Cooper & Munro 1982, J. Neurosci. 2:32; Intrator & Cooper 1992"
    elementwise = True
    row_local = True
    kernel = _bcm_delta
    affine_kernel = _bcm_affine

    def init_state(self, projection, rng):
        W = projection.W
        return BCMState(np.full(W.shape[0], self.theta0, dtype=W.dtype))


# -- covariance ------------------------------------------------------------------------------------
CovarianceState = collections.namedtuple("CovarianceState", ["mean_pre", "mean_post"])


@jit
def _covariance_delta(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    mx = state.mean_pre
    my = state.mean_post
    for i in range(W.shape[0]):
        c = lr * (post[i] - my[i])
        for j in range(W.shape[1]):
            dW[i, j] += c * (pre[j] - mx[j])
    beta = params.beta
    for j in range(W.shape[1]):
        mx[j] += beta * (pre[j] - mx[j])
    for i in range(W.shape[0]):
        my[i] += beta * (post[i] - my[i])


@jit
def _covariance_direction(pre, params, state, dt, d):
    mx = state.mean_pre
    beta = params.beta
    for j in range(pre.shape[0]):
        d[j] = pre[j] - mx[j]
        mx[j] += beta * (pre[j] - mx[j])


@jit
def _covariance_affine(pre, post, params, state, dt, alpha, beta):
    lr = params.lr
    my = state.mean_post
    rate = params.beta
    for i in range(post.shape[0]):
        beta[i] += lr * (post[i] - my[i])
        my[i] += rate * (post[i] - my[i])


@register("covariance")
@dataclass(frozen=True, repr=False)
class Covariance(LocalRule):
    r"""Covariance rule: Hebbian learning on deviations from running means.

    .. math::

        \Delta W = \eta\, (y - \langle y\rangle)(x - \langle x\rangle)^\top, \qquad
        \langle\cdot\rangle \leftarrow \langle\cdot\rangle + \beta(\cdot - \langle\cdot\rangle)

    The means are read before they are updated with the current sample.

    References
    ----------
    Sejnowski, T. J. (1977). Storing covariance with nonlinearly interacting
    neurons. J. Math. Biol. 4, 303-321.
    """

    lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")
    beta: float = hyperparameter(0.01, low=0.0, high=1.0, low_open=True,
                                 doc="update rate of the running means")

    summary = "Hebb on deviations from running means (LTP and LTD)"
    equation = r"\Delta W = \eta\,(y - \langle y\rangle)(x - \langle x\rangle)^\top"
    reference = "Sejnowski 1977, J. Math. Biol. 4:303"
    elementwise = True
    unstable = True
    kernel = _covariance_delta
    # row i moves along d = x - <x> (one direction for all rows, made before <x> moves)
    affine_kernel = _covariance_affine
    direction_kernel = _covariance_direction
    input_state = ("mean_pre",)  # moved by direction_kernel; mean_post has one row per unit

    def init_state(self, projection, rng):
        W = projection.W
        return CovarianceState(np.zeros(W.shape[1], W.dtype), np.zeros(W.shape[0], W.dtype))


# -- competitive ----------------------------------------------------------------------------------
@jit(reduction=True)
def _match_scores(W, pre, post, by_distance):
    """How well each unit matches the input: minus the squared distance, or the activity."""
    n_post, n_pre = W.shape
    score = np.empty(n_post, W.dtype)
    for i in range(n_post):
        if by_distance:
            s = W.dtype.type(0)
            for j in range(n_pre):
                d = pre[j] - W[i, j]
                s += d * d
            score[i] = -s
        else:
            score[i] = post[i]
    return score


@jit
def _competitive_delta(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    score = _match_scores(W, pre, post, params.by_distance)
    k = params.rank
    if k >= 2 and k <= W.shape[0]:
        order = np.argsort(-score)
        win = order[0]
        lose = order[k - 1]
        c = -params.anti * lr
        for j in range(W.shape[1]):
            dW[lose, j] += c * (pre[j] - W[lose, j])
    else:
        win = np.argmax(score)  # no sort needed for plain winner-take-all
    for j in range(W.shape[1]):
        dW[win, j] += lr * (pre[j] - W[win, j])


@register("competitive")
@dataclass(frozen=True, repr=False)
class Competitive(LocalRule):
    r"""Competitive (winner-take-all) Hebbian learning.

    .. math::

        \Delta w_{k} = \eta\,(x - w_k) \text{ for the winner } k,\qquad
        \Delta w_{r} = -\Delta\,\eta\,(x - w_r) \text{ for the unit ranked } r

    The winner is the unit whose weight vector is closest to :math:`x`
    (``by_distance=True``) or the most active unit. With ``rank = 0`` only the
    winner learns (Rumelhart & Zipser 1985): units become prototypes of the input
    clusters. With ``rank = r >= 2`` the unit ranked :math:`r` is pushed away
    (anti-Hebbian, strength ``anti``), the ranking variant of Krotov & Hopfield (2019).

    References
    ----------
    Rumelhart & Zipser (1985). Feature discovery by competitive learning. Cogn. Sci. 9, 75-112.
    Krotov & Hopfield (2019). Unsupervised learning by competing hidden units. PNAS 116, 7723.
    """

    lr: float = hyperparameter(0.05, low=0.0, doc="learning rate")
    rank: int = hyperparameter(0, low=0, doc="rank of the anti-Hebbian unit (0: none)")
    anti: float = hyperparameter(0.4, low=0.0, doc="strength of the anti-Hebbian update")
    by_distance: bool = hyperparameter(True, doc="winner by distance (else by activity)")

    summary = "winner-take-all: the best-matching unit moves toward the input"

    def __post_init__(self):
        super().__post_init__()
        if self.rank == 1:
            raise ValueError("Competitive: rank=1 is the winner itself; allowed: rank=0 (no "
                             "anti-Hebbian unit) or rank >= 2")
    equation = r"\Delta w_k = \eta (x - w_k),\ \Delta w_r = -\Delta\,\eta (x - w_r)"
    reference = "Rumelhart & Zipser 1985, Cogn. Sci. 9:75; Krotov & Hopfield 2019, PNAS 116:7723"
    in_place = True  # all distances are read before the two updated rows are written
    kernel = _competitive_delta


# -- anti-Hebbian lateral connections ----------------------------------------------------------------
@jit
def _anti_hebbian_delta(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    p2 = params.p * params.p
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            if i != j:
                dW[i, j] -= lr * (post[i] * pre[j] - p2)


@register("anti_hebbian")
@dataclass(frozen=True, repr=False)
class AntiHebbian(LocalRule):
    r"""Anti-Hebbian lateral connections that decorrelate a population (Földiák 1990).

    .. math:: \Delta w_{ij} = -\eta\,(y_i y_j - p^2) \quad (i \ne j)

    The diagonal (self-connections) is not learned: initialise the lateral weights
    with ``init="zeros"`` so that it stays 0.

    For a lateral projection (``net.connect(pop, pop, rule="anti_hebbian")``), where
    ``pre`` and ``post`` are both the settled activity of the population. With
    :math:`p = 0` it removes correlations; :math:`p` is Földiák's target firing
    probability for binary units.

    References
    ----------
    Földiák, P. (1990). Forming sparse representations by local anti-Hebbian
    learning. Biol. Cybern. 64, 165-170.
    """

    lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")
    p: float = hyperparameter(0.0, low=0.0, high=1.0, doc="target co-activity (Foldiak's p)")

    summary = "lateral anti-Hebbian weights that decorrelate a population"
    equation = r"\Delta w_{ij} = -\eta\,(y_i y_j - p^2),\ i \ne j"
    reference = "Foldiak 1990, Biol. Cybern. 64:165"
    elementwise = True
    lateral = True
    kernel = _anti_hebbian_delta
