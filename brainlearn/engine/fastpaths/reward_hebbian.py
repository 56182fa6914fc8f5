"""The reward-segment fast path of the reward-modulated Hebbian rule.

A single layer trained with targets: weights and eligibility trace move in closed form
over blocks of samples, through matrix products, with the forward pass, the loss and
the reward computed here in the engine. Equal to the per-sample loop over the rule's
``kernel`` up to rounding (``check_rule`` compares them).
"""

from __future__ import annotations

import math

import numpy as np

from ..._jit import jit, jit_parallel, prange
from ...network.activations import act_forward
from ...network.losses import is_correct, loss_and_delta
from ...rules.three_factor import RewardHebbian
from ._registry import register_fast_path

__all__ = ["reward_hebbian_segment"]


#: samples per block of the segment kernel
_BLOCK = 32


@jit_parallel
def _drives(W, E, Xb, PW, PE, bounds):
    """PW = W Xb^T and PE = E Xb^T, their row ranges ``bounds`` on threads."""
    for p in prange(bounds.shape[0] - 1):
        lo = bounds[p]
        hi = bounds[p + 1]
        np.dot(W[lo:hi], Xb.T, PW[lo:hi])
        np.dot(E[lo:hi], Xb.T, PE[lo:hi])


@jit_parallel
def _fold(W, E, Xm, AG, AL, UW, UE, kap, lm, bounds):
    """W += kap E + AG Xm and E = lm E + AL Xm, their row ranges ``bounds`` on threads."""
    N = W.shape[1]
    for p in prange(bounds.shape[0] - 1):
        lo = bounds[p]
        hi = bounds[p + 1]
        np.dot(AG[lo:hi], Xm, UW[lo:hi])
        np.dot(AL[lo:hi], Xm, UE[lo:hi])
        for i in range(lo, hi):
            for j in range(N):
                e = E[i, j]
                W[i, j] += kap * e + UW[i, j]
                E[i, j] = lm * e + UE[i, j]


@jit
def reward_hebbian_segment(W, b, X, T, act, loss, threshold, params, state, dt, out):
    """Online learning of a single softmax (or element-wise) layer over the samples ``X``
    with targets ``T``, block by block through matrix products (the ``reward_segment_kernel``
    protocol of :mod:`brainlearn.rules.base`).

    Within a block of m samples, from W0 and E0 (lam = exp(-dt / tau_e), c_s = lr (R_s - Rbar_s),
    y_s the activity of sample s):

        E_k = lam^k E0 + sum_{u<k} lam^(k-1-u) y_u x_u^T,
        W_k = W0 + kappa_k E0 + sum_{u<k} gamma_{u,k} y_u x_u^T,
        kappa_k = sum_{s<k} c_s lam^(s+1),   gamma_{u,k} = sum_{s=u}^{k-1} c_s lam^(s-u),

    so the drive of sample k needs only W0 x_k, E0 x_k (two matrix products for the block)
    and the Gram products x_u . x_k; the samples are then stepped in order with scalars per
    sample (the activity of every unit, the loss, the reward and the coefficients), and two
    more products give W and E at the end of the block. The rows of the four products are
    split between the threads (the reward couples the units, so the sample steps are not).
    """
    M, N = W.shape
    dtype = W.dtype
    n = X.shape[0]
    B = _BLOCK
    lam = math.exp(-dt / params.tau_e)
    pw = np.empty(B + 1, np.float64)  # lam^k
    pw[0] = 1.0
    for k in range(1, B + 1):
        pw[k] = pw[k - 1] * lam
    rbar = state.baseline
    E = state.trace
    z = np.zeros(M, dtype)
    a = np.zeros(M, dtype)
    d = np.zeros(M, dtype)
    # the products' outputs, allocated once (a block's (M, m) view of each is contiguous)
    PWf = np.empty(M * B, dtype)
    PEf = np.empty(M * B, dtype)
    AGf = np.empty(M * B, dtype)
    ALf = np.empty(M * B, dtype)
    Y = np.zeros((B, M), dtype)
    UW = np.empty((M, N), dtype)
    UE = np.empty((M, N), dtype)
    gam = np.zeros(B, np.float64)
    # row ranges for the products, spread over the threads by prange: none below 16k
    # synapses (small products cost more to split than they save), else at least 16 rows each
    parts = max(1, min(8, M // 16, (M * N) // 16384))
    bounds = np.empty(parts + 1, np.int64)
    for p in range(parts + 1):
        bounds[p] = p * M // parts
    s = 0
    while s < n:
        m = min(B, n - s)
        Xb = X[s:s + m]
        G = np.dot(Xb, Xb.T)
        PW = PWf[:M * m].reshape((M, m))
        PE = PEf[:M * m].reshape((M, m))
        _drives(W, E, Xb, PW, PE, bounds)
        kap = 0.0
        bad = -1
        for k in range(m):
            kf = dtype.type(kap)
            for i in range(M):
                z[i] = PW[i, k] + kf * PE[i, k] + b[i]
            for u in range(k):
                cf = dtype.type(gam[u] * G[u, k])
                for i in range(M):
                    z[i] += cf * Y[u, i]
            act_forward(act, z, a)
            lk = loss_and_delta(loss, act, z, a, T[s + k], d)
            if not math.isfinite(lk):
                bad = k
                break
            out[0] += lk
            hit = is_correct(a, T[s + k], threshold)
            out[1] += hit
            c = params.lr * (hit - rbar[0])
            rbar[0] += params.beta * (hit - rbar[0])
            for i in range(M):
                Y[k, i] = a[i]
            kap += c * pw[k + 1]
            gam[k] = 0.0
            for u in range(k + 1):
                gam[u] += c * pw[k - u]
        if bad >= 0:
            m = bad  # the samples before it are folded in below; it and the rest are not
        if m > 0:
            AG = AGf[:M * m].reshape((M, m))
            AL = ALf[:M * m].reshape((M, m))
            for i in range(M):
                for u in range(m):
                    AG[i, u] = gam[u] * Y[u, i]
                    AL[i, u] = pw[m - 1 - u] * Y[u, i]
            _fold(W, E, X[s:s + m], AG, AL, UW, UE, dtype.type(kap), dtype.type(pw[m]), bounds)
        if bad >= 0:
            return s + bad
        s += m
    return -1


register_fast_path(RewardHebbian, reward_segment=reward_hebbian_segment)
