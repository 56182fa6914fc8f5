"""Gradient-based credit assignment: backpropagation of errors."""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .base import GradientRule, hyperparameter, register

__all__ = ["Backprop", "BackpropState"]

BackpropState = collections.namedtuple("BackpropState", ["velocity_W", "velocity_b"])


@jit
def _backprop_delta(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    mu = params.momentum
    wd = params.weight_decay
    n_post, n_pre = W.shape
    has_bias = db.shape[0] > 0
    if mu == 0:
        for i in range(n_post):
            c = -lr * mod[i]
            if wd == 0:
                for j in range(n_pre):
                    dW[i, j] += c * pre[j]
            else:
                for j in range(n_pre):
                    dW[i, j] += c * pre[j] - lr * wd * W[i, j]
            if has_bias:
                db[i] += c
    else:
        vW = state.velocity_W
        vb = state.velocity_b
        for i in range(n_post):
            g = mod[i]
            for j in range(n_pre):
                v = mu * vW[i, j] + g * pre[j] + wd * W[i, j]
                vW[i, j] = v
                dW[i, j] -= lr * v
            if has_bias:
                vb[i] = mu * vb[i] + g
                db[i] -= lr * vb[i]


@jit
def _backprop_delta_batch(W, pre, post, mod, params, state, dt, dW, db):
    lr = params.lr
    mu = params.momentum
    wd = params.weight_decay
    m = pre.shape[0]
    n_post, n_pre = W.shape
    has_bias = db.shape[0] > 0
    if mu == 0:
        # Scale the errors first: for m == 1 this rounds exactly like the online kernel.
        scaled = np.empty_like(mod)
        sc = -lr / m
        for r in range(m):
            for i in range(n_post):
                scaled[r, i] = mod[r, i] * sc
        G = np.dot(scaled.T, pre)
        for i in range(n_post):
            if wd == 0:
                for j in range(n_pre):
                    dW[i, j] += G[i, j]
            else:
                for j in range(n_pre):
                    dW[i, j] += G[i, j] - lr * wd * W[i, j]
        if has_bias:
            for r in range(m):  # row by row: contiguous reads
                for i in range(n_post):
                    db[i] += scaled[r, i]
    else:
        vW = state.velocity_W
        vb = state.velocity_b
        G = np.dot(mod.T, pre)
        inv = 1.0 / m
        for i in range(n_post):
            for j in range(n_pre):
                v = mu * vW[i, j] + G[i, j] * inv + wd * W[i, j]
                vW[i, j] = v
                dW[i, j] -= lr * v
        if has_bias:
            gb = np.zeros(n_post, vb.dtype)
            for r in range(m):
                for i in range(n_post):
                    gb[i] += mod[r, i]
            for i in range(n_post):
                vb[i] = mu * vb[i] + gb[i] * inv
                db[i] -= lr * vb[i]


@register("backprop")
@dataclass(frozen=True, repr=False)
class Backprop(GradientRule):
    r"""Backpropagation of errors with stochastic gradient descent.

    .. math::

        \delta_{post} = \partial L / \partial z_{post}, \qquad
        v \leftarrow \mu v + \delta_{post}\, x_{pre}^\top + \lambda W, \qquad
        W \leftarrow W - \eta\, v

    (with :math:`\mu = 0`, plain SGD: :math:`\Delta W = -\eta(\delta x^\top + \lambda W)`).
    The bias of the postsynaptic population follows :math:`-\eta\,\delta` (no weight
    decay on biases). In a minibatch the gradient is the mean over the batch.

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta \ge 0`.
    momentum : float
        Heavy-ball momentum :math:`\mu \in [0, 1)`.
    weight_decay : float
        L2 coefficient :math:`\lambda \ge 0` added to the gradient.

    References
    ----------
    Rumelhart, Hinton & Williams (1986). Learning representations by
    back-propagating errors. Nature 323, 533-536.
    """

    lr: float = hyperparameter(0.05, low=0.0, doc="learning rate")
    momentum: float = hyperparameter(0.0, low=0.0, high=1.0, high_open=True, doc="momentum")
    weight_decay: float = hyperparameter(0.0, low=0.0, doc="L2 weight decay")

    summary = "gradient descent on the loss, errors sent back through W^T"
    equation = r"\Delta W = -\eta\,(\delta_{post} x_{pre}^\top + \lambda W)"
    reference = "Rumelhart, Hinton & Williams 1986, Nature 323:533"
    elementwise = True
    updates_bias = True
    kernel = _backprop_delta
    batch_kernel = _backprop_delta_batch

    def init_state(self, projection, rng):
        W, b = projection.W, projection.post.bias
        if self.momentum == 0:
            # Never read when momentum is 0; zero-size keeps memory flat.
            return BackpropState(np.zeros((0, 0), W.dtype), np.zeros(0, W.dtype))
        return BackpropState(np.zeros_like(W), np.zeros_like(b))
