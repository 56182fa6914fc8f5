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
           "BCMState", "CovarianceState", "CompetitiveState"]


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
    tags = dict(elementwise=True, row_local=True, unstable=True)
    kernel = _hebb_delta
    batch_kernel = _hebb_delta_batch


# -- Oja -------------------------------------------------------------------------------------------
@jit
def _oja_delta(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    for i in range(W.shape[0]):
        y = post[i]
        c = lr * y
        for j in range(W.shape[1]):
            dW[i, j] += c * (pre[j] - y * W[i, j])


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
    tags = dict(elementwise=True, row_local=True)
    kernel = _oja_delta


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
    # in place: row i's weights are read (into recon) before they are written
    tags = dict(in_place=True)
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
    tags = dict(elementwise=True, row_local=True)
    kernel = _bcm_delta

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
    tags = dict(elementwise=True, unstable=True)
    kernel = _covariance_delta
    # row i moves along d = x - <x> (one direction for all rows, made before <x> moves)

    def init_state(self, projection, rng):
        W = projection.W
        return CovarianceState(np.zeros(W.shape[1], W.dtype), np.zeros(W.shape[0], W.dtype))


# -- competitive ----------------------------------------------------------------------------------
CompetitiveState = collections.namedtuple("CompetitiveState", ["wins"])


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
    n_post = W.shape[0]
    score = _match_scores(W, pre, post, params.by_distance)
    wins = state.wins
    gamma = params.conscience
    if gamma != 0:
        # DeSieno's conscience: a unit that has won less than its share 1/N is helped, one
        # that has won more is handicapped (the frequencies are read before they move)
        share = wins.dtype.type(1.0 / n_post)
        for i in range(n_post):
            score[i] += gamma * (share - wins[i])
    k = params.rank
    if k >= 2 and k <= n_post:
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
    # the win frequencies move after the competition has read them
    beta = params.conscience_rate
    one = wins.dtype.type(1)
    for i in range(n_post):
        target = one if i == win else wins.dtype.type(0)
        wins[i] += beta * (target - wins[i])


@register("competitive")
@dataclass(frozen=True, repr=False)
class Competitive(LocalRule):
    r"""Competitive (winner-take-all) Hebbian learning, optionally with a conscience.

    .. math::

        \Delta w_{k} = \eta\,(x - w_k) \text{ for the winner } k,\qquad
        \Delta w_{r} = -\Delta\,\eta\,(x - w_r) \text{ for the unit ranked } r

    The winner is the unit whose weight vector is closest to :math:`x`
    (``by_distance=True``) or the most active unit. With ``rank = 0`` only the
    winner learns (Rumelhart & Zipser 1985): units become prototypes of the input
    clusters. With ``rank = r >= 2`` the unit ranked :math:`r` is pushed away
    (anti-Hebbian, strength ``anti``), the ranking variant of Krotov & Hopfield (2019).

    **Conscience** (DeSieno 1988). A unit whose weights start far from the data never
    wins, so it never moves: a *dead unit*. With ``conscience`` :math:`\gamma > 0` each
    unit :math:`i` of the :math:`N` keeps an estimate :math:`p_i` of how often it wins
    (the state ``wins``, starting at :math:`1/N`), and the competition is biased by
    :math:`b_i = \gamma\,(1/N - p_i)`: a unit that has won less than its share is
    helped, one that has won more is handicapped,

    .. math::

        k = \arg\min_i\ \big(|x - w_i|^2 - b_i\big)
        \quad(\text{by activity: } \arg\max_i\ (y_i + b_i)),\qquad
        p_i \leftarrow p_i + \beta\,([i = k] - p_i),

    :math:`\beta` = ``conscience_rate``; the biases are read before the frequencies
    move. The ranking of the anti-Hebbian unit uses the same biased scores. Only the
    winner (and the rank-:math:`r` unit) learns, so in the long run every unit wins
    about :math:`1/N` of the inputs: no unit stays dead, and the units quantise the
    input density in cells of equal probability (not of least distortion: with
    clusters of very unequal mass, large clusters get more units). ``conscience=0``
    is the plain rule, exactly (the frequencies are still tracked in ``wins``).

    :math:`p_i` counts the wins of the biased competition, the units that learn (as
    the conscience bias ``learncon`` of Demuth & Beale's MATLAB Neural Network Toolbox
    does); DeSieno counts the wins of the unbiased one. On the digits below, DeSieno's
    count leaves a quantisation error that grows with :math:`\gamma` (1.14 at
    :math:`\gamma` = 300, 1.23 at 1000), the count used here does not (1.076, 1.074).

    Choosing :math:`\gamma`: the bias is in the units of the score, a squared distance
    (an activity with ``by_distance=False``: then :math:`\gamma` of the order of
    :math:`N`). A unit that never wins gets at most :math:`\gamma/N`, which must
    outweigh how much farther it is from the inputs than the winners are: with weights
    that start at the scale of the data, of the order of :math:`s^2 = E|x - \bar x|^2`
    (the mean squared distance of the inputs to their mean), and :math:`\gamma` = 1 to
    3 :math:`N s^2` worked at every size measured.
    DeSieno's :math:`\gamma = 10`, :math:`\beta = 10^{-4}` were for inputs of unit
    scale. Measured on the 8x8 digits (1347 centred training images, :math:`s^2 =
    4.7`; tanh units, ``lr=0.05``, 20 online epochs, :math:`\beta = 10^{-4}`, seeds
    0-4): with 100 units the plain rule leaves 50-57 units that never win, and a
    quantisation error (mean distance of a sample to its nearest unit) of 1.26;
    :math:`\gamma` = 100 leaves 11-14; 300 to 30000 leave none, with errors of
    1.074-1.078 from 300 to 3000 (batch k-means: 1.09), 1.10 at :math:`10^4`, 1.19
    at :math:`3 \cdot 10^4`. 25 units need :math:`\gamma \ge 30`, 400 units
    2000-3000. A faster ``conscience_rate`` makes the frequencies noisier (at
    :math:`\beta = 10^{-3}`, :math:`\gamma = 10^4` raises the error to 1.36). The
    frequencies adapt over about :math:`1/\beta` presentations. The default
    :math:`\gamma = 0` keeps the plain rule: no one value suits every :math:`N` and
    data scale, and a conscience changes what the rule learns (a single pattern
    presented over and over is then shared among the units).

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta`.
    rank : int
        Rank :math:`r \ge 2` of the unit that is pushed away; 0: none.
    anti : float
        Strength :math:`\Delta` of the anti-Hebbian update.
    by_distance : bool
        Winner by distance (True) or by activity (False).
    conscience : float
        :math:`\gamma \ge 0`, the strength of the conscience bias, in squared-distance
        units (activity units with ``by_distance=False``); 0: the plain rule.
    conscience_rate : float
        :math:`\beta \in (0, 1]`, the rate at which the win frequencies follow the wins.

    References
    ----------
    Rumelhart & Zipser (1985). Feature discovery by competitive learning. Cogn. Sci. 9, 75-112.
    DeSieno, D. (1988). Adding a conscience to competitive learning. Proc. IEEE Int. Conf.
    on Neural Networks, vol. I, 117-124.
    Krotov & Hopfield (2019). Unsupervised learning by competing hidden units. PNAS 116, 7723.
    """

    lr: float = hyperparameter(0.05, low=0.0, doc="learning rate")
    rank: int = hyperparameter(0, low=0, doc="rank of the anti-Hebbian unit (0: none)")
    anti: float = hyperparameter(0.4, low=0.0, doc="strength of the anti-Hebbian update")
    by_distance: bool = hyperparameter(True, doc="winner by distance (else by activity)")
    conscience: float = hyperparameter(
        0.0, low=0.0, doc="DeSieno's gamma: bias gamma (1/N - p_i) of the competition, in "
                          "squared-distance units (0: plain rule)")
    conscience_rate: float = hyperparameter(
        1e-4, low=0.0, high=1.0, low_open=True,
        doc="DeSieno's beta: rate of the win-frequency estimates p_i")

    summary = ("winner-take-all: the best-matching unit moves toward the input; a conscience "
               "revives dead units")

    def __post_init__(self):
        super().__post_init__()
        if self.rank == 1:
            raise ValueError("Competitive: rank=1 is the winner itself; allowed: rank=0 (no "
                             "anti-Hebbian unit) or rank >= 2")
    equation = (r"\Delta w_k = \eta (x - w_k),\ \Delta w_r = -\Delta\,\eta (x - w_r),\ "
                r"k = \arg\min_i (|x - w_i|^2 - \gamma (1/N - p_i)),\ "
                r"p_i \mathrel{+}= \beta ([i = k] - p_i)")
    reference = ("Rumelhart & Zipser 1985, Cogn. Sci. 9:75; DeSieno 1988, Proc. IEEE ICNN "
                 "I:117; Krotov & Hopfield 2019, PNAS 116:7723")
    # in place: all distances are read before the two updated rows are written
    tags = dict(in_place=True)
    kernel = _competitive_delta

    def init_state(self, projection, rng):
        W = projection.W
        n_post = W.shape[0]
        return CompetitiveState(np.full(n_post, 1.0 / n_post, dtype=W.dtype))


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
    tags = dict(elementwise=True, lateral=True)
    kernel = _anti_hebbian_delta
