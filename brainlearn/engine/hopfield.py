"""Compiled dynamics of binary recurrent populations (Hopfield networks).

States are +-1 (``low = -1``) or 0/1 (``low = 0``) units; the field of unit i is
``z_i = sum_j W_ij s_j + b_i`` (``b`` = the population's bias, minus the threshold).
At temperature 0 a unit takes the high value where ``z_i > 0``, the low one where
``z_i < 0`` and keeps its state where ``z_i == 0``; at temperature ``T > 0``
(Glauber) it takes the high value with probability ``1 / (1 + exp(-gain z_i / T))``,
``gain`` = 2 for +-1 units and 1 for 0/1 units, so that the probabilities follow
the Boltzmann distribution of the energy ``E = -1/2 s^T W s - b^T s``.

Randomness (update orders, Glauber draws) comes from the counter-based generator of
:mod:`brainlearn._random`: cue ``c`` in sweep ``t`` uses the stream
``(key, t, c)``: its 32-bit draws ``0 .. n-2`` give the update order and its uniform
number ``n + i`` unit i's Glauber draw, so a cue's trajectory does not depend on the
other cues or on the threads. The NumPy twins are in ``tests/naive.py``.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from .._random import bits, stream, uniform

__all__ = ["async_recall", "sync_step", "sweep_order", "is_symmetric"]


@jit
def sweep_order(st, perm):
    """A random permutation of 0..n-1 into ``perm``: Fisher-Yates, the swap partner of
    position k (from the top) drawn from 32-bit draw ``n-1-k`` of ``st`` as
    ``(bits * (k + 1)) >> 32`` (integers only: exact, and no float conversion)."""
    n = perm.shape[0]
    for k in range(n):
        perm[k] = k
    for k in range(n - 1, 0, -1):
        j = int((bits(st, n - 1 - k) * np.uint64(k + 1)) >> np.uint64(32))
        t = perm[k]
        perm[k] = perm[j]
        perm[j] = t


@jit
def is_symmetric(W):
    """True when the square matrix ``W`` equals its transpose (compared tile by tile, so
    both reads stay in cache; stops at the first difference)."""
    n = W.shape[0]
    B = 64
    for i0 in range(0, n, B):
        for j0 in range(i0, n, B):
            for i in range(i0, min(i0 + B, n)):
                for j in range(max(j0, i + 1), min(j0 + B, n)):
                    if W[i, j] != W[j, i]:
                        return False
    return True


@jit
def _new_value(z, s, low, gain, temperature, st, m):
    """The unit's next value from its field ``z`` and current value ``s``."""
    if temperature > 0:
        p = 1.0 / (1.0 + math.exp(-gain * z / temperature))
        return 1.0 if uniform(st, m) < p else low
    if z > 0:
        return 1.0
    if z < 0:
        return low
    return s


@jit
def _async_one(WT, s, low, gain, steps, temperature, key, cue, h, perm):
    """Asynchronous sweeps of one state ``s`` (in place) from its fields ``h = W s + b``
    (updated in place); returns (sweeps run, converged).

    The fields are kept up to date after every flip (``h += (s_new - s_old) W[:, i]``, a
    row of ``WT``), so a sweep costs n plus n per flip instead of n^2.
    """
    n = s.shape[0]
    sweeps = 0
    converged = False
    for t in range(steps):
        st = stream(key, t, cue)
        sweep_order(st, perm)
        flips = 0
        for k in range(n):
            i = perm[k]
            old = s[i]
            new = _new_value(h[i], old, low, gain, temperature, st, n + i)
            if new != old:
                d = h.dtype.type(new - old)  # +-2 or +-1: exact in any float type
                s[i] = new
                col = WT[i]
                for r in range(n):
                    h[r] += d * col[r]
                flips += 1
        sweeps = t + 1
        converged = flips == 0
        if converged and temperature == 0:
            break
    return sweeps, converged


@jit
def async_recall(WT, H, S, low, gain, steps, temperature, key, cue0, out_steps, out_conv, lo, hi):
    """Asynchronous dynamics of rows ``lo..hi-1`` of ``S`` (in place), ``steps`` sweeps at most.

    ``H`` holds the rows' fields ``W s + b`` (one matrix product for all rows, made by the
    caller; updated in place). Each sweep updates every unit once, in a fresh random order.
    ``WT`` is ``W.T`` made C-contiguous (``W`` itself when symmetric). Row c uses the
    generator streams of cue ``cue0 + c``. Writes the sweeps run and whether the last sweep
    flipped nothing. Rows are independent (own state, fields and streams), so disjoint row
    ranges may run on separate threads (the function releases the GIL).
    """
    n = S.shape[1]
    perm = np.empty(n, np.int64)
    for c in range(lo, hi):
        sweeps, conv = _async_one(WT, S[c], low, gain, steps, temperature, key, cue0 + c,
                                  H[c], perm)
        out_steps[c] = sweeps
        out_conv[c] = conv


@jit
def sync_step(Z, rows, b, S, prev, low, gain, temperature, key, cue0, t, out_steps, out_conv,
              active):
    """One synchronous step of the rows ``rows`` of ``S`` (in place) from their fields
    ``Z[r] = W S[rows[r]]`` (without bias). At temperature 0 a row stops (``active`` False) at
    a fixed point (converged) or a 2-cycle (not converged)."""
    n = S.shape[1]
    new = np.empty(n, S.dtype)
    for r in range(rows.shape[0]):
        c = rows[r]
        st = stream(key, t, cue0 + c)
        changed = False
        back = True
        for i in range(n):
            old = S[c, i]
            v = _new_value(Z[r, i] + b[i], old, low, gain, temperature, st, n + i)
            new[i] = v
            changed = changed or v != old
            back = back and v == prev[c, i]
        for i in range(n):
            prev[c, i] = S[c, i]
            S[c, i] = new[i]
        out_steps[c] = t + 1
        out_conv[c] = not changed
        if temperature == 0 and (not changed or back):
            active[c] = False
