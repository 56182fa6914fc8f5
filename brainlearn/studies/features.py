"""Measuring learned representations: the shared readout and what a hidden layer has learned.

Every study that scores a hidden layer uses these functions, so that every rule is measured
the same way:

* :func:`readout_accuracy` -- the **shared linear readout**: multinomial logistic regression on
  standardised frozen features, fitted to convergence by a Newton method (deterministic; no
  learning rate, no epochs, no order);
* :func:`pc_alignment` -- how close the units' weight vectors are to principal components
  (Oja 1982: every unit to the first; Sanger 1989: unit k to the k-th);
* :func:`selectivity` -- the sparseness of a unit's mean responses over the classes
  (Rolls & Tovee 1995; Vinje & Gallant 2000);
* :func:`dead_units` -- units that never respond (their activity does not vary over the inputs)
  or, for winner-take-all rules, never win;
* :func:`weight_change` -- relative change of the weights between two evaluations;
* :func:`principal_components` and :func:`label_subset`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

__all__ = ["Readout", "readout_accuracy", "fit_readout", "predict_readout", "standardise",
           "principal_components", "pc_alignment", "selectivity", "class_means", "dead_units",
           "weight_change", "label_subset", "READOUT_L2", "READOUT_TOL"]

#: L2 penalty of the readout, on features of unit mean square norm (:func:`standardise`): small
#: enough not to limit the readout on the full training set, large enough to make the problem
#: strictly convex (a unique optimum) when a few labels make the classes separable
READOUT_L2 = 1e-4
#: the readout's convergence criterion: the fit stops when the largest gradient component of
#: the penalised loss falls below this (or after READOUT_MAXITER Newton iterations)
READOUT_TOL = 1e-5
READOUT_MAXITER = 200


# -- the shared readout ---------------------------------------------------------------------------
def standardise(F, Ft):
    """Features scaled on the training features ``F``: each unit centred on its training mean,
    then the whole layer divided by one number, the root mean square norm of the centred
    training feature vectors. One factor for the layer keeps the representation's geometry
    (units that vary little stay small, as they are in the layer; z-scoring each unit would
    blow up the smallest principal components and the noise of quiet units), and makes the
    readout's penalty mean the same for every layer and size. Returns ``(F, Ft)`` as float64,
    or None when a feature is not finite."""
    F = np.asarray(F, dtype=np.float64)
    Ft = np.asarray(Ft, dtype=np.float64)
    if F.ndim != 2 or Ft.ndim != 2 or F.shape[1] != Ft.shape[1]:
        raise ValueError(f"features have shapes {F.shape} and {Ft.shape}; allowed: (n, d) and "
                         "(m, d)")
    if not (np.isfinite(F).all() and np.isfinite(Ft).all()):
        return None
    mu = F.mean(axis=0)
    F = F - mu
    rms = math.sqrt(float(np.mean(np.sum(F * F, axis=1))))
    scale = 1.0 / rms if rms > 1e-300 else 0.0
    return F * scale, (Ft - mu) * scale


def _loss_grad(theta, F, Y, l2):
    """Mean cross-entropy of a softmax layer (weights and bias in ``theta``) plus
    ``l2 / 2 * |weights|^2``, and its gradient."""
    n, d = F.shape
    k = Y.shape[1]
    W = theta[:d * k].reshape(d, k)
    b = theta[d * k:]
    Z = F @ W + b
    Z -= Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    S = E.sum(axis=1, keepdims=True)
    P = E / S
    loss = float(np.mean(np.log(S[:, 0]) - np.sum(Z * Y, axis=1))) + 0.5 * l2 * float(np.sum(W * W))
    G = (P - Y) / n
    gW = F.T @ G + l2 * W
    gb = G.sum(axis=0)
    return loss, np.concatenate([gW.ravel(), gb])


class _Objective:
    """The readout's penalised loss, its gradient and Hessian-vector products.

    The loss and gradient are exact (float64): they decide where the fit stops and what it
    converges to. The Hessian-vector products only steer the Newton steps (an inexact Newton
    method converges to the same optimum), so they are computed in float32, about 1.5x faster
    at a few more conjugate-gradient steps; the softmax of the last point is kept, since the
    steps ask for many products at one point."""

    def __init__(self, F, Y, l2):
        self.F, self.Y, self.l2 = F, Y, l2
        self.F32 = F.astype(np.float32)
        self.at = None
        self.P = None  # the softmax at ``at`` divided by n, float32

    def _softmax(self, theta):
        if self.at is None or not np.array_equal(theta, self.at):
            n, d = self.F.shape
            k = self.Y.shape[1]
            Z = self.F @ theta[:d * k].reshape(d, k) + theta[d * k:]
            Z -= Z.max(axis=1, keepdims=True)
            P = np.exp(Z)
            P /= P.sum(axis=1, keepdims=True) * n
            self.at, self.P = theta.copy(), P.astype(np.float32)
        return self.P

    def loss_grad(self, theta):
        return _loss_grad(theta, self.F, self.Y, self.l2)

    def hessp(self, theta, v):
        F = self.F32
        d = F.shape[1]
        k = self.Y.shape[1]
        P = self._softmax(theta)  # already divided by n
        V = v[:d * k].reshape(d, k)
        U = F @ V.astype(np.float32) + v[d * k:].astype(np.float32)
        PU = P * U
        R = PU - P * (PU.sum(axis=1, keepdims=True) * F.shape[0])
        return np.concatenate([(F.T @ R + self.l2 * V).ravel(), R.sum(axis=0)])


def fit_readout(F, y, n_classes, l2=READOUT_L2, start=None):
    """Fit the readout on features ``F`` (already standardised) and integer labels ``y``:
    ``(W (d, n_classes), b (n_classes,), converged)``.

    The penalised cross-entropy is convex; it is minimised from zero weights (or from
    ``start``, an earlier ``(W, b)`` of the same shapes) by a Newton trust-region method with
    exact Hessian-vector products (SciPy's ``trust-ncg``), which reaches the optimum in about
    ten iterations where first-order methods crawl on these ill-conditioned problems. The
    same features, labels and start always give the same readout. ``converged`` is True when
    the largest gradient component is below :data:`READOUT_TOL`.
    """
    F = np.ascontiguousarray(F, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n, d = F.shape
    Y = np.zeros((n, n_classes))
    Y[np.arange(n), y] = 1.0
    theta0 = np.zeros(d * n_classes + n_classes)
    if start is not None:
        W0, b0 = (np.asarray(a, dtype=np.float64) for a in start)
        if W0.shape != (d, n_classes) or b0.shape != (n_classes,):
            raise ValueError(f"start: shapes {W0.shape} and {b0.shape}; allowed: "
                             f"({d}, {n_classes}) and ({n_classes},)")
        theta0 = np.concatenate([W0.ravel(), b0])
    objective = _Objective(F, Y, float(l2))
    # products of a few hundred thousand flops each: BLAS threads only cost here (and fight
    # with the other worker processes of a study)
    with threadpool_limits(1, user_api="blas"):
        res = optimize.minimize(objective.loss_grad, theta0, jac=True, hessp=objective.hessp,
                                method="trust-ncg",
                                options={"maxiter": READOUT_MAXITER, "gtol": READOUT_TOL})
    theta = res.x
    W = theta[:d * n_classes].reshape(d, n_classes)
    b = theta[d * n_classes:]
    converged = bool(np.max(np.abs(res.jac)) <= READOUT_TOL)
    return W, b, converged


def predict_readout(W, b, F) -> np.ndarray:
    """Predicted classes of standardised features ``F``."""
    return np.argmax(np.asarray(F, dtype=np.float64) @ W + b, axis=1)


class Readout:
    """The shared readout of one layer measured again and again as the layer learns: each fit
    starts from the optimum of the one before. The penalised loss is convex, so the optimum
    reached is the same (within :data:`READOUT_TOL`); a layer that changed little (or a fixed
    control) needs few Newton iterations instead of about ten."""

    def __init__(self, n_classes, l2=READOUT_L2):
        self.n_classes, self.l2 = int(n_classes), float(l2)
        self.last = None  # (W, b) of the last fit

    def accuracy(self, F, y, Ft, yt, labelled=None) -> float:
        """:func:`readout_accuracy`, started from the last fit's readout."""
        scaled = standardise(F, Ft)
        if scaled is None:
            return math.nan
        F, Ft = scaled
        y = np.asarray(y)
        if labelled is not None:
            F, y = F[labelled], y[labelled]
        W, b, _ = fit_readout(F, y, self.n_classes, self.l2, start=self.last)
        self.last = (W, b)
        return float(np.mean(predict_readout(W, b, Ft) == np.asarray(yt)))


def readout_accuracy(F, y, Ft, yt, n_classes, labelled=None, l2=READOUT_L2) -> float:
    """Test accuracy of the shared readout on frozen features.

    ``F`` (n_train, d) and ``Ft`` (n_test, d) are a layer's activities on the training and test
    inputs. They are standardised on all training inputs (:func:`standardise`: unlabelled data
    is what an unsupervised layer learned from, so its statistics are fair to use); the readout
    is then fitted on the rows ``labelled`` of the training set (None: all) by
    :func:`fit_readout`. NaN when a feature is not finite.
    """
    return Readout(n_classes, l2).accuracy(F, y, Ft, yt, labelled)


def label_subset(y, per_class, seed) -> np.ndarray:
    """Indices of ``per_class`` training samples of each class, drawn with ``seed`` (sorted;
    the same subset for every rule with the same seed). ``per_class = 0``: every sample. A class
    with fewer samples gives all it has."""
    y = np.asarray(y)
    if per_class == 0:
        return np.arange(len(y))
    if per_class < 0:
        raise ValueError(f"per_class={per_class!r} must be >= 0 (0: every sample)")
    rng = np.random.default_rng([int(seed), 7])
    picks = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        picks.append(rng.permutation(idx)[:per_class])
    return np.sort(np.concatenate(picks))


# -- what the weights have become ------------------------------------------------------------------
def principal_components(X, k=None):
    """The top ``k`` principal components of the rows of ``X`` (unit-norm rows, largest
    variance first; signs fixed so that each component's largest entry is positive) and their
    variances, from a NumPy SVD of the centred data."""
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    k = Vt.shape[0] if k is None else min(int(k), Vt.shape[0])
    V = Vt[:k].copy()
    flip = np.sign(V[np.arange(k), np.argmax(np.abs(V), axis=1)])
    V *= flip[:, None]
    return V, (s[:k] ** 2) / len(X)


def pc_alignment(W, components, units=8, target="ordered") -> float:
    """Mean ``|cos|`` between the first ``units`` rows of ``W`` and principal components.

    ``target="ordered"``: row k against component k (Sanger's GHA learns the components in
    order); ``"first"``: every row against the first component (Oja's single-unit rule, run
    on independent units). ``components`` as from :func:`principal_components`. A row of
    zeros counts as 0. Also returns nothing else: one number in [0, 1].
    """
    W = np.asarray(W, dtype=np.float64)
    V = np.asarray(components, dtype=np.float64)
    if W.ndim != 2 or V.ndim != 2 or W.shape[1] != V.shape[1]:
        raise ValueError(f"W has shape {W.shape} and components {V.shape}; allowed: rows of the "
                         "same length")
    if target not in ("ordered", "first"):
        raise ValueError(f"target={target!r}; allowed: ordered, first")
    k = min(int(units), W.shape[0], V.shape[0] if target == "ordered" else W.shape[0])
    if k < 1:
        raise ValueError(f"units={units!r} must be >= 1")
    rows = W[:k]
    norms = np.linalg.norm(rows, axis=1)
    targets = V[:k] if target == "ordered" else np.repeat(V[:1], k, axis=0)
    cos = np.zeros(k)
    ok = norms > 0
    cos[ok] = np.abs(np.sum(rows[ok] * targets[ok], axis=1)) / norms[ok]
    return float(cos.mean())


def class_means(F, y, n_classes) -> np.ndarray:
    """Mean response of each unit to each class: (n_classes, n_units)."""
    F = np.asarray(F, dtype=np.float64)
    y = np.asarray(y)
    M = np.zeros((n_classes, F.shape[1]))
    for c in range(n_classes):
        rows = F[y == c]
        if len(rows):
            M[c] = rows.mean(axis=0)
    return M


def selectivity(means) -> np.ndarray:
    r"""Selectivity of each unit over the classes, from its class-mean responses ``means``
    (n_classes, n_units): the sparseness of Rolls & Tovee (1995) in the normalised form of
    Vinje & Gallant (2000),

    .. math:: S = \frac{1 - \left(\sum_c r_c / C\right)^2 / \left(\sum_c r_c^2 / C\right)}{1 - 1/C}

    on the responses measured from the unit's weakest class, :math:`r_c = m_c - \min_c m_c`
    (so that signed units -- tanh, linear -- are measured like rectified ones). 0: the unit
    responds alike to every class; 1: to one class only. A unit whose class means are all equal
    has selectivity 0.
    """
    M = np.asarray(means, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] < 2:
        raise ValueError(f"means has shape {M.shape}; allowed: (n_classes >= 2, n_units)")
    C = M.shape[0]
    R = M - M.min(axis=0)
    mean = R.mean(axis=0)
    sq = (R * R).mean(axis=0)
    out = np.zeros(M.shape[1])
    ok = sq > 0
    out[ok] = (1.0 - mean[ok] ** 2 / sq[ok]) / (1.0 - 1.0 / C)
    return np.clip(out, 0.0, 1.0)


def dead_units(F, winners=None, rtol=1e-6) -> int:
    """Units that never respond or never win.

    A unit never responds when its activity over the inputs ``F`` (n, n_units) varies by no more
    than ``rtol`` times the largest variation of any unit of the layer (a silent rectified unit,
    a saturated sigmoid, a unit whose weights stayed zero). For winner-take-all rules, give
    ``winners`` (n,), the winning unit of each input: a unit that wins no input is dead too.
    """
    F = np.asarray(F, dtype=np.float64)
    spread = F.max(axis=0) - F.min(axis=0)
    top = float(spread.max(initial=0.0))
    silent = spread <= rtol * top if top > 0 else np.ones(F.shape[1], dtype=bool)
    if winners is not None:
        won = np.zeros(F.shape[1], dtype=bool)
        won[np.asarray(winners, dtype=np.int64)] = True
        silent |= ~won
    return int(silent.sum())


def weight_change(before, after) -> float:
    """Relative change of the weights, ``|after - before|_F / |before|_F`` over all the arrays
    given (lists of arrays, one per projection); NaN when the weights before are all zero."""
    num = sum(float(np.sum((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
              for a, b in zip(after, before))
    den = sum(float(np.sum(np.asarray(b, np.float64) ** 2)) for b in before)
    return math.sqrt(num / den) if den > 0 else math.nan
