"""Naive NumPy twins of the compiled kernels and drivers.

Written for clarity, not speed: each follows the textbook equation so that the
compiled code can be checked against it.
"""

from __future__ import annotations

import numpy as np

ACT = {
    "linear": (lambda z: z, lambda a, g: g),
    "tanh": (np.tanh, lambda a, g: g * (1 - a ** 2)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a, g: g * a * (1 - a)),
    "relu": (lambda z: np.maximum(z, 0), lambda a, g: g * (a > 0)),
    "softmax": (None, None),
}


def act_forward(name, z):
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return ACT[name][0](z)


def act_backward(name, a, g):
    """dL/dz from a and dL/da via the full Jacobian (softmax) or the derivative."""
    if name == "softmax":
        jac = np.diag(a) - np.outer(a, a)
        return jac.T @ g
    return ACT[name][1](a, g)


def loss_value(loss, a, t):
    """Per-sample loss computed directly from the definition (no fusing)."""
    if loss == "mse":
        return 0.5 * np.sum((a - t) ** 2)
    if loss == "binary_cross_entropy":
        return -np.sum(t * np.log(a) + (1 - t) * np.log(1 - a))
    if loss == "cross_entropy":
        return -np.sum(t * np.log(a))
    raise ValueError(loss)


def loss_grad_a(loss, a, t):
    if loss == "mse":
        return a - t
    if loss == "binary_cross_entropy":
        return -t / a + (1 - t) / (1 - a)
    return -t / a


def affine(W, x, b):
    return W @ x + b


class NaiveMLP:
    """A plain feed-forward net trained by per-sample (or per-batch) SGD with momentum."""

    def __init__(self, Ws, bs, acts, loss, lr, momentum=0.0, weight_decay=0.0):
        self.Ws = [W.astype(np.float64).copy() for W in Ws]
        self.bs = [b.astype(np.float64).copy() for b in bs]
        self.acts, self.loss = acts, loss
        self.lr, self.mu, self.wd = lr, momentum, weight_decay
        self.vW = [np.zeros_like(W) for W in self.Ws]
        self.vb = [np.zeros_like(b) for b in self.bs]

    def forward(self, x):
        a = [x]
        for W, b, act in zip(self.Ws, self.bs, self.acts):
            a.append(act_forward(act, W @ a[-1] + b))
        return a

    def gradients(self, x, t):
        a = self.forward(x)
        delta = act_backward(self.acts[-1], a[-1], loss_grad_a(self.loss, a[-1], t))
        gW, gb = [None] * len(self.Ws), [None] * len(self.Ws)
        for k in reversed(range(len(self.Ws))):
            gW[k] = np.outer(delta, a[k])
            gb[k] = delta
            if k:
                # the hidden error propagates through the *downstream* weights W[k]
                delta = act_backward(self.acts[k - 1], a[k], self.Ws[k].T @ delta)
        return gW, gb, loss_value(self.loss, a[-1], t)

    def step(self, xs, ts):
        """One SGD step on the mean gradient of the rows of xs."""
        grads = [self.gradients(x, t) for x, t in zip(xs, ts)]
        for k in range(len(self.Ws)):
            gW = np.mean([g[0][k] for g in grads], axis=0) + self.wd * self.Ws[k]
            gb = np.mean([g[1][k] for g in grads], axis=0)
            if self.mu:
                self.vW[k] = self.mu * self.vW[k] + gW
                self.vb[k] = self.mu * self.vb[k] + gb
                gW, gb = self.vW[k], self.vb[k]
            self.Ws[k] -= self.lr * gW
            self.bs[k] -= self.lr * gb
        return sum(g[2] for g in grads)
