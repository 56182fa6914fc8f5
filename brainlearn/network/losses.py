"""Losses with their gradients, fused with the output activation for stability.

Per sample, with output activity ``a = f(z)`` and target ``t``:

* ``mse``: :math:`L = \\tfrac12 \\sum_i (a_i - t_i)^2`, any output activation.
* ``binary_cross_entropy``: :math:`L = -\\sum_i t_i \\log a_i + (1 - t_i) \\log(1 - a_i)`,
  output ``sigmoid`` or ``softmax``.
* ``cross_entropy``: :math:`L = -\\sum_i t_i \\log a_i`, output ``softmax`` or ``sigmoid``.

The logarithms are computed from ``z`` (log-sum-exp, softplus), never from a
clipped ``a``, so losses and gradients stay finite for saturated outputs. The
loss of a data set is the mean over samples.
"""

from __future__ import annotations

import math

from .._jit import jit
from .activations import ACTIVATIONS, SIGMOID, SOFTMAX, act_backward

__all__ = ["LOSSES", "loss_code", "check_loss_activation", "loss_and_delta", "loss_and_delta_rows",
           "is_correct", "count_correct_rows", "correct_rows"]

MSE, BCE, CE = 0, 1, 2
LOSSES = {"mse": MSE, "binary_cross_entropy": BCE, "cross_entropy": CE}
_ALIASES = {"bce": "binary_cross_entropy", "ce": "cross_entropy", "nll": "cross_entropy"}
#: output activations each loss is defined for
VALID_OUTPUTS = {
    "mse": tuple(ACTIVATIONS),
    "binary_cross_entropy": ("sigmoid", "softmax"),
    "cross_entropy": ("softmax", "sigmoid"),
}


def loss_code(name: str) -> int:
    """Return the code of loss ``name`` (aliases: bce, ce) or raise ValueError."""
    if isinstance(name, str):
        name = _ALIASES.get(name, name)
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss={name!r} is not a known loss; allowed: {', '.join(LOSSES)}")
    return LOSSES[name]


def canonical_loss(name: str) -> str:
    """The canonical name of loss ``name`` (resolves aliases; raises for unknown names)."""
    loss_code(name)
    return _ALIASES.get(name, name)


def check_loss_activation(loss: str, activation: str) -> None:
    """Raise ValueError when ``loss`` is not defined for output ``activation``."""
    loss = canonical_loss(loss)
    if activation not in VALID_OUTPUTS[loss]:
        raise ValueError(
            f"loss={loss!r} needs an output activation in {{{', '.join(VALID_OUTPUTS[loss])}}}, "
            f"got {activation!r}; use loss='mse' or change the output activation")


@jit
def _softplus(x):
    """log(1 + exp(x)) without overflow."""
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@jit
def _logsumexp(z):
    m = z[0]
    for i in range(1, z.shape[0]):
        if z[i] > m:
            m = z[i]
    s = 0.0
    for i in range(z.shape[0]):
        s += math.exp(z[i] - m)
    return m + math.log(s)


@jit
def _log1m_softmax(z, lse, i):
    """log(1 - softmax(z)_i), accurate also when softmax(z)_i is close to 1."""
    ai = math.exp(z[i] - lse)
    if ai < 0.5:
        return math.log1p(-ai)
    # 1 - a_i = sum_{j != i} a_j: summing the others avoids the cancellation.
    s = 0.0
    for j in range(z.shape[0]):
        if j != i:
            s += math.exp(z[j] - lse)
    return math.log(s) if s > 0 else -math.inf


@jit
def loss_and_delta(loss, act, z, a, t, delta):
    """Return the loss of one sample and write ``delta = dL/dz``."""
    n = a.shape[0]
    total = 0.0
    if loss == MSE:
        for i in range(n):
            g = a[i] - t[i]
            total += 0.5 * g * g
            delta[i] = g
        act_backward(act, a, delta, delta)
    elif loss == BCE:
        if act == SIGMOID:
            for i in range(n):
                zi = z[i]
                # -t log s(z) - (1 - t) log(1 - s(z)) = softplus(z) - t z
                total += _softplus(zi) - t[i] * zi
                delta[i] = a[i] - t[i]
        else:  # softmax outputs scored independently
            lse = _logsumexp(z)
            # dL/da_i = (a_i - t_i) / (a_i (1 - a_i)); through the softmax Jacobian this is
            # delta_j = r_j - a_j * sum_i r_i with r_i = (a_i - t_i) / (1 - a_i): no division by a_i.
            s = 0.0
            for i in range(n):
                log_a = z[i] - lse
                log_1ma = _log1m_softmax(z, lse, i)
                total -= t[i] * log_a + (1.0 - t[i]) * log_1ma
                r = (a[i] - t[i]) * math.exp(-log_1ma)
                delta[i] = r
                s += r
            for i in range(n):
                delta[i] = delta[i] - a[i] * s
    else:  # CE
        if act == SOFTMAX:
            # -sum t_i log a_i, one log per target unit (a = softmax(z)); when a target unit's
            # probability is tiny (a confidently wrong output), log a_i = z_i - logsumexp(z)
            # is taken instead: exact where a_i has underflowed
            st = 0.0
            tiny = False
            for i in range(n):
                ti = t[i]
                if ti != 0:
                    if a[i] > 1e-30:
                        total -= ti * math.log(a[i])
                    else:
                        tiny = True
                st += ti
            if tiny:
                lse = _logsumexp(z)
                total = 0.0
                for i in range(n):
                    total -= t[i] * (z[i] - lse)
            for i in range(n):
                delta[i] = a[i] * st - t[i]
        else:  # sigmoid: -t log s(z) = t softplus(-z)
            for i in range(n):
                total += t[i] * _softplus(-z[i])
                delta[i] = -t[i] * (1.0 - a[i])
    return total


@jit
def loss_and_delta_rows(loss, act, z, a, t, delta):
    """Row-wise :func:`loss_and_delta`; returns the summed loss of the batch."""
    total = 0.0
    for r in range(a.shape[0]):
        total += loss_and_delta(loss, act, z[r], a[r], t[r], delta[r])
    return total


@jit
def is_correct(a, t, threshold):
    """1 when the prediction matches the target: argmax for several outputs, a
    threshold for a single output."""
    n = a.shape[0]
    if n == 1:
        return 1 if (a[0] > threshold) == (t[0] > threshold) else 0
    ia = 0
    it = 0
    for i in range(1, n):
        if a[i] > a[ia]:
            ia = i
        if t[i] > t[it]:
            it = i
    return 1 if ia == it else 0


@jit
def count_correct_rows(a, t, threshold):
    c = 0
    for r in range(a.shape[0]):
        c += is_correct(a[r], t[r], threshold)
    return c


@jit
def correct_rows(a, t, threshold, hits):
    """Like :func:`count_correct_rows`, also writing each row's 0/1 into ``hits``."""
    c = 0
    for r in range(a.shape[0]):
        h = is_correct(a[r], t[r], threshold)
        hits[r] = h
        c += h
    return c
