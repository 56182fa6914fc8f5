"""Gradient-based credit assignment: backpropagation of errors."""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .base import GradientRule, hyperparameter, register

__all__ = ["Backprop", "BackpropState", "FeedbackAlignment", "DirectFeedbackAlignment", "Delta",
           "FeedbackState"]

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
    tags = dict(elementwise=True, updates_bias=True)
    kernel = _backprop_delta
    batch_kernel = _backprop_delta_batch

    def init_state(self, projection, rng):
        W, b = projection.W, projection.post.bias
        if self.momentum == 0:
            # Never read when momentum is 0; zero-size keeps memory flat.
            return BackpropState(np.zeros((0, 0), W.dtype), np.zeros(0, W.dtype))
        return BackpropState(np.zeros_like(W), np.zeros_like(b))


FeedbackState = collections.namedtuple("FeedbackState", ["velocity_W", "velocity_b", "B"])


@register("feedback_alignment")
@dataclass(frozen=True, repr=False)
class FeedbackAlignment(Backprop):
    r"""Feedback alignment: errors travel back through a fixed random matrix.

    The update of ``W`` is backprop's, :math:`\Delta W = -\eta\,\delta_{post} x^\top`,
    but the error sent to the presynaptic population is :math:`B^\top \delta_{post}`
    with a fixed random :math:`B` (same shape as ``W``, drawn once from the
    network seed) instead of :math:`W^\top \delta_{post}`. The forward weights come
    to align with :math:`B`, and the updates with the true gradient.

    References
    ----------
    Lillicrap, Cownden, Tweed & Akerman (2016). Random synaptic feedback weights
    support error backpropagation for deep learning. Nat. Commun. 7, 13276.
    """

    feedback_scale: float = hyperparameter(1.0, low=0.0, low_open=True,
                                           doc="scale of B relative to a Glorot draw")

    summary = "backprop's update, errors sent back through a fixed random matrix B"
    equation = r"\Delta W = -\eta\,\delta x^\top,\ \delta_{pre} = f'(z_{pre}) \odot B^\top \delta_{post}"
    reference = "Lillicrap et al. 2016, Nat. Commun. 7:13276"
    tags = dict(feedback="random")

    def init_state(self, projection, rng):
        W = projection.W
        st = Backprop.init_state(self, projection, rng)
        limit = self.feedback_scale * np.sqrt(6.0 / (W.shape[0] + W.shape[1]))
        B = rng.uniform(-limit, limit, size=W.shape).astype(W.dtype)
        return FeedbackState(st.velocity_W, st.velocity_b, B)


@register("direct_feedback_alignment")
@dataclass(frozen=True, repr=False)
class DirectFeedbackAlignment(Backprop):
    r"""Direct feedback alignment: each hidden layer gets the output error through its own B.

    .. math::

        \delta_h = f'(z_h) \odot B_h^\top e, \qquad \Delta W_h = -\eta\, \delta_h x^\top

    where :math:`e = \partial L / \partial z_{out}` and :math:`B_h` (n_out x n_h) is a
    fixed random matrix held by the projection into :math:`h`. On the projection into
    the output population it is plain gradient descent.

    References
    ----------
    Nøkland, A. (2016). Direct feedback alignment provides learning in deep neural
    networks. NeurIPS 29.
    """

    feedback_scale: float = hyperparameter(1.0, low=0.0, low_open=True,
                                           doc="scale of B relative to a Glorot draw")

    summary = "each hidden layer receives the output error through its own fixed random B"
    equation = r"\delta_h = f'(z_h) \odot B_h^\top e,\ \Delta W_h = -\eta\,\delta_h x^\top"
    reference = "Nokland 2016, NeurIPS 29"
    tags = dict(feedback="direct", state_uses_network=True)

    def init_state(self, projection, rng):
        W = projection.W
        st = Backprop.init_state(self, projection, rng)
        n_out = projection.network.output.size
        limit = self.feedback_scale * np.sqrt(6.0 / (n_out + W.shape[0]))
        B = rng.uniform(-limit, limit, size=(n_out, W.shape[0])).astype(W.dtype)
        return FeedbackState(st.velocity_W, st.velocity_b, B)


@register("delta")
@dataclass(frozen=True, repr=False)
class Delta(Backprop):
    r"""The delta rule (Widrow-Hoff LMS) for a single layer of output units.

    .. math:: \Delta W = -\eta\,(y - t) \odot f'(z)\; x^\top

    The error is the neuron's own teaching signal: the rule belongs on a
    projection into the output population (use ``loss="mse"`` for classic LMS).

    References
    ----------
    Widrow & Hoff (1960). Adaptive switching circuits. IRE WESCON Convention Record 4, 96-104.
    """

    summary = "Widrow-Hoff LMS on one layer: error of the output unit times its input"
    equation = r"\Delta W = -\eta\,(y - t) f'(z)\, x^\top"
    reference = "Widrow & Hoff 1960, IRE WESCON Conv. Rec. 4:96"
    tags = dict(locality="local", output_only=True)
