"""Activation functions of rate populations, as compiled per-sample kernels.

Each activation has a code (an ``int`` the compiled drivers branch on) and two
kernels: ``act_forward`` writes ``a = f(z)`` and ``act_backward`` turns
``g = dL/da`` into ``dL/dz`` using only the activity ``a`` (so the engine does
not keep pre-activations of hidden populations).

For float32 arrays, tanh and sigmoid use a rational approximation
:math:`\tanh x \approx x P(x^2) / Q(x^2)` (degree 4 over 4, |x| clamped to 9,
within 6 units in the last place of float32; derived by
``experiments/tools/fit_tanh_float32.py``). It is plain arithmetic, so the
loop vectorises, where a call to the C library's ``tanhf`` costs about 20 ns an
element. float64 keeps the C library's functions.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit

__all__ = ["ACTIVATIONS", "activation_code", "act_forward", "act_backward",
           "act_forward_rows", "act_backward_rows"]

LINEAR, TANH, SIGMOID, RELU, SOFTMAX, SIGN, STEP = 0, 1, 2, 3, 4, 5, 6

#: name -> code, in the order the docs list them. ``sign`` (+-1 units: +1 where z >= 0) and
#: ``step`` (0/1 units: 1 where z > 0) are the binary neurons of associative memories
#: (:mod:`brainlearn.memory`); their derivative is 0 wherever it exists, so no error crosses them.
ACTIVATIONS = {"linear": LINEAR, "tanh": TANH, "sigmoid": SIGMOID, "relu": RELU, "softmax": SOFTMAX,
               "sign": SIGN, "step": STEP}


def activation_code(name: str, argname: str = "activation") -> int:
    """Return the code of activation ``name`` or raise a ValueError naming the choices."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"{argname}={name!r} is not a known activation; allowed: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


# tanh(x) ~ x P(x^2) / Q(x^2), float32 only (see the module docstring)
_P0, _P1, _P2, _P3, _P4 = (np.float32(0.9999999832261465), np.float32(0.13392432168555057),
                           np.float32(0.003509133654525135), np.float32(2.0831937698078864e-05),
                           np.float32(1.3663396976016375e-08))
_Q1, _Q2, _Q3, _Q4 = (np.float32(0.4672575081747591), np.float32(0.02592851836538381),
                      np.float32(0.0003307784863959004), np.float32(7.902931073430073e-07))
_XMAX = np.float32(9.0)
_ONE = np.float32(1.0)
_HALF = np.float32(0.5)


@jit
def _tanh32(x):
    # selects rather than min/max, so the loop vectorises
    x = x if x < _XMAX else _XMAX
    x = x if x > -_XMAX else -_XMAX
    s = x * x
    num = (((_P4 * s + _P3) * s + _P2) * s + _P1) * s + _P0
    den = (((_Q4 * s + _Q3) * s + _Q2) * s + _Q1) * s + _ONE
    r = x * (num / den)
    r = r if r < _ONE else _ONE
    return r if r > -_ONE else -_ONE


@jit
def act_forward(code, z, a):
    """a = f(z) for one sample (1-D arrays; ``a`` may be ``z``)."""
    n = z.shape[0]
    single = z.itemsize == 4
    if code == LINEAR:
        for i in range(n):
            a[i] = z[i]
    elif code == TANH:
        if single:
            for i in range(n):
                a[i] = _tanh32(z[i])
        else:
            for i in range(n):
                a[i] = np.tanh(z[i])
    elif code == SIGMOID:
        if single:
            for i in range(n):
                a[i] = _HALF + _HALF * _tanh32(_HALF * z[i])
        else:
            for i in range(n):
                # exp(-z) overflows to inf for very negative z, giving exactly 0: no NaN.
                a[i] = 1.0 / (1.0 + math.exp(-z[i]))
    elif code == RELU:
        for i in range(n):
            a[i] = z[i] if z[i] > 0 else 0.0
    elif code == SIGN:
        for i in range(n):
            a[i] = 1.0 if z[i] >= 0 else -1.0
    elif code == STEP:
        for i in range(n):
            a[i] = 1.0 if z[i] > 0 else 0.0
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
    elif code == SIGN or code == STEP:
        for i in range(n):
            out[i] = 0.0
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
