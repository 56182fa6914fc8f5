"""A counter-based random generator for compiled kernels.

Kernels that need randomness (stochastic synapses, asynchronous update orders,
Glauber dynamics) draw it from a pure function of ``(key, counter, element)``
instead of a generator object: the same key gives the same numbers in every
process, in any order of evaluation, on any number of threads, and under
``NUMBA_DISABLE_JIT=1``. The key comes from a seed (for rules: from the
projection's state generator, so the network seed fixes it); the counter is a
step number kept in the rule state; the element indexes the draws within a step.

The mixing function is murmur3's 32-bit finaliser, chained over the key, the two
halves of the counter and the two halves of the element index (:func:`uniform`, a
float in (0, 1)). Kernels that draw for every synapse use :func:`bits` instead: one
finaliser over the element (below 2**32), compared with an integer
:func:`threshold`; integer compares keep those loops vectorised, where converting a
64-bit integer to a float does not. All arithmetic
is on 32-bit values held in ``uint64``, so no product overflows and NumPy (the
twin in ``tests/naive.py``) computes exactly the same bits.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["mix32", "stream", "uniform", "bits", "threshold", "COUNTER_WRAP"]

_MASK = np.uint64(0xFFFFFFFF)
_M1 = np.uint64(0x85EBCA6B)
_M2 = np.uint64(0xC2B2AE35)
_GOLD = np.uint64(0x9E3779B9)
_SALT = np.uint64(0x2545F491)
_S13, _S16, _S32 = np.uint64(13), np.uint64(16), np.uint64(32)

#: the low half of a counter kept in float state wraps here, so that both halves stay
#: exact in float32 (integers up to 2**24)
COUNTER_WRAP = 4194304  # 2**22


@jit
def mix32(x):
    """murmur3's 32-bit finaliser of a uint64 holding a 32-bit value."""
    x = x ^ (x >> _S16)
    x = (x * _M1) & _MASK
    x = x ^ (x >> _S13)
    x = (x * _M2) & _MASK
    return x ^ (x >> _S16)


@jit
def stream(key, lo, hi):
    """The stream of one step: from the key and the two halves ``lo``, ``hi`` of the counter
    (non-negative integers below 2**32, passed as integers or integral floats)."""
    h = mix32(np.uint64(key) ^ _SALT)
    h = mix32(h ^ np.uint64(lo))
    return mix32(((h + _GOLD) & _MASK) ^ np.uint64(hi))


@jit
def uniform(s, m):
    """Element ``m`` (an integer >= 0) of stream ``s``: a float64 uniform in (0, 1)."""
    m = np.uint64(m)
    h = mix32(s ^ (m & _MASK))
    h = mix32(h ^ (m >> _S32) ^ _GOLD)
    return (float(h) + 0.5) * 2.3283064365386963e-10  # 2**-32


@jit
def bits(s, m):
    """Element ``m`` (an integer in [0, 2**32)) of stream ``s`` as 32 random bits (a uint64)."""
    return mix32(s ^ (np.uint64(m) & _MASK))


@jit
def threshold(p):
    """The integer t with ``bits(s, m) < t`` true with probability ``p`` (p clipped to [0, 1];
    exactly ``floor(p * 2**32) / 2**32``)."""
    if not p > 0:
        return np.uint64(0)
    if p >= 1:
        return np.uint64(4294967296)  # 2**32: every draw passes
    return np.uint64(p * 4294967296.0)
