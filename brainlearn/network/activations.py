"""Activation functions of rate populations, as compiled per-sample kernels.

Each activation has a code (an ``int`` the compiled drivers branch on) and two
kernels: ``act_forward`` writes ``a = f(z)`` and ``act_backward`` turns
``g = dL/da`` into ``dL/dz`` using only the activity ``a`` (so the engine does
not keep pre-activations of hidden populations).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit

__all__ = ["ACTIVATIONS", "activation_code", "act_forward", "act_backward",
           "act_forward_rows", "act_backward_rows"]

LINEAR, TANH, SIGMOID, RELU, SOFTMAX = 0, 1, 2, 3, 4

#: name -> code, in the order the docs list them.
ACTIVATIONS = {"linear": LINEAR, "tanh": TANH, "sigmoid": SIGMOID, "relu": RELU, "softmax": SOFTMAX}


def activation_code(name: str, argname: str = "activation") -> int:
    """Return the code of activation ``name`` or raise a ValueError naming the choices."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"{argname}={name!r} is not a known activation; allowed: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


@jit
def act_forward(code, z, a):
    """a = f(z) for one sample (1-D arrays; ``a`` may be ``z``)."""
    n = z.shape[0]
    if code == LINEAR:
        for i in range(n):
            a[i] = z[i]
    elif code == TANH:
        for i in range(n):
            a[i] = np.tanh(z[i])
    elif code == SIGMOID:
        for i in range(n):
            # exp(-z) overflows to inf for very negative z, giving exactly 0: no NaN.
            a[i] = 1.0 / (1.0 + math.exp(-z[i]))
    elif code == RELU:
        for i in range(n):
            a[i] = z[i] if z[i] > 0 else 0.0
    else:  # SOFTMAX, shifted by the maximum so exp never overflows
        m = z[0]
        for i in range(1, n):
            if z[i] > m:
                m = z[i]
        s = 0.0
        for i in range(n):
            e = math.exp(z[i] - m)
            a[i] = e
            s += e
        inv = 1.0 / s
        for i in range(n):
            a[i] = a[i] * inv


@jit
def act_backward(code, a, g, out):
    """out = dL/dz from a = f(z) and g = dL/da (``out`` may be ``g``)."""
    n = a.shape[0]
    if code == LINEAR:
        for i in range(n):
            out[i] = g[i]
    elif code == TANH:
        for i in range(n):
            out[i] = g[i] * (1.0 - a[i] * a[i])
    elif code == SIGMOID:
        for i in range(n):
            out[i] = g[i] * a[i] * (1.0 - a[i])
    elif code == RELU:
        for i in range(n):
            out[i] = g[i] if a[i] > 0 else 0.0
    else:  # SOFTMAX: J^T g = a * (g - <a, g>)
        s = 0.0
        for i in range(n):
            s += a[i] * g[i]
        for i in range(n):
            out[i] = a[i] * (g[i] - s)


@jit
def act_forward_rows(code, z, a):
    """Row-wise :func:`act_forward` for a batch (2-D arrays)."""
    for r in range(z.shape[0]):
        act_forward(code, z[r], a[r])


@jit
def act_backward_rows(code, a, g, out):
    """Row-wise :func:`act_backward` for a batch (2-D arrays)."""
    for r in range(a.shape[0]):
        act_backward(code, a[r], g[r], out[r])
