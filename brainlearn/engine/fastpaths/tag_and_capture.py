"""The segment fast path of the tag-and-capture rule: its early phase in closed form.

The engine's row-parallel driver hands a block of rows and a run of samples to
:func:`tag_and_capture_segment`; the result equals the per-sample loop over the rule's
``kernel`` up to rounding (``check_rule`` and tests/test_consolidation.py compare them).
"""

from __future__ import annotations

import math

import numpy as np

from ..._jit import jit
from ...network.activations import act_forward
from ...rules.consolidation import TagAndCapture, TagAndCaptureState, slow_row
from ..kernels import affine
from ._registry import register_fast_path

__all__ = ["tag_and_capture_segment", "BLOCK"]

_tag_and_capture_delta = TagAndCapture.kernel


#: samples per block of the segment kernel (its matrix products are rows x BLOCK x n_pre)
BLOCK = 64


@jit
def _tag_and_capture_one_row(W, b, X, act, params, state, dt, i, k0, k1):
    """Samples ``k0..k1-1`` of ``X`` one by one for row i alone (the per-sample kernel):
    returns the first sample whose activity is not finite, or -1."""
    z = np.zeros(1, W.dtype)
    y = np.zeros(1, W.dtype)
    mod = np.zeros(1, W.dtype)
    nob = np.zeros(0, W.dtype)
    Wi = W[i:i + 1]
    bi = b[i:i + 1]
    si = TagAndCaptureState(state.tag_ltp[i:i + 1], state.tag_ltd[i:i + 1], state.late[i:i + 1],
                            state.baseline[i:i + 1], state.protein[i:i + 1],
                            state.trace[i:i + 1], state.clock[i:i + 1],
                            state.tag_threshold[i:i + 1])
    for k in range(k0, k1):
        x = X[k]
        affine(Wi, x, bi, z)
        act_forward(act, z, y)
        if not math.isfinite(y[0]):
            return k
        _tag_and_capture_delta(Wi, x, y, mod, params, si, dt, Wi, nob)
    return -1


@jit
def tag_and_capture_segment(W, b, X, act, params, state, dt):
    """Online learning of the rows ``W`` over the samples ``X``, several at a time.

    While a row stays in one branch (LTP, LTD or neither) the untagged fraction
    ``u = 1 - h - l`` of each synapse only shrinks by ``(1 - q_j)`` per sample, with
    ``q_j = clip(A x_j)`` the same for every row of the branch. So after k samples of a
    block that starts at ``u0``, ``W0``:

        tag_k = tag_0 + u0 * D_k,   W_k = W0 + g u0 * D_k,   D_{k+1} = D_k + (1 - D_k) q_k

    (``D_0 = 0``), and the drive of sample k is ``W0 x_k + g u0 . (D_k x_k)``: one matrix
    product for ``W0 X^T`` and one per branch for ``U0 (D X)^T`` give every drive of the
    block, the samples are then stepped in order with scalars only (trace, branch), and
    the tags and weights are written once at the end. Blocks hold at most ``BLOCK``
    samples and end at the first slow step of any row; a row whose trace leaves its
    branch within the block is written at that sample and finishes the block sample by
    sample with the per-step kernel. The same result as the per-step kernel up to
    rounding (the conformance suite and tests/test_consolidation.py compare them).
    Returns the first sample whose activity is not finite, or -1.
    """
    h = state.tag_ltp
    l = state.tag_ltd
    trace = state.trace
    clock = state.clock
    dtype = W.dtype.type
    n_rows, n_pre = W.shape
    n = X.shape[0]
    one = dtype(1)
    zero = dtype(0)
    keep = dtype(math.exp(-dt / params.tau_trace))
    gain = (dtype(params.ltp_weight), dtype(-params.ltd_weight))
    rates = (dtype(params.ltp_rate), dtype(params.ltd_rate))
    D = np.zeros((2, BLOCK + 1, n_pre), W.dtype)
    Y = np.zeros((2, BLOCK, n_pre), W.dtype)
    U = np.empty((n_rows, n_pre), W.dtype)
    z = np.empty(n_rows, W.dtype)
    y = np.empty(n_rows, W.dtype)
    branch = np.empty(n_rows, np.int64)  # 0: LTP, 1: LTD, 2: neither
    pos = np.empty(n_rows, np.int64)  # the row's place in U (grouped by branch)
    cut = np.empty(n_rows, np.int64)  # the sample where the row left its branch, or L
    s = 0
    while s < n:
        # the block ends at the first slow step of any row (after that sample's induction)
        L = min(BLOCK, n - s)
        for i in range(n_rows):
            t = clock[i]
            for k in range(L):
                t = t + dt
                if t >= params.consolidation_dt:
                    L = k + 1
                    break
        Xb = X[s:s + L]
        A = np.dot(W, Xb.T)  # W0 x_k for every row and sample
        # sample 0 (whose drive is W0 x_0) decides each row's branch for the block
        for i in range(n_rows):
            z[i] = A[i, 0] + b[i]
        act_forward(act, z, y)
        counts = [0, 0, 0]
        for i in range(n_rows):
            if not math.isfinite(y[i]):
                return s
            yb = trace[i] * keep + y[i]
            trace[i] = yb
            c = 0 if yb >= params.theta_ltp else (1 if yb >= params.theta_ltd else 2)
            branch[i] = c
            counts[c] += 1
            cut[i] = L
        start = (0, counts[0])
        fill = [0, counts[0]]
        for i in range(n_rows):
            c = branch[i]
            if c < 2:
                p = fill[c]
                fill[c] += 1
                pos[i] = p
                for j in range(n_pre):
                    U[p, j] = one - h[i, j] - l[i, j]
        # per branch: D[c, k], the fraction of the untagged synapses tagged after k samples,
        # and the drive the tags gained add at sample k, u0 . (D_k x_k), for its rows
        Bm = (A, A)
        for c in range(2):
            if counts[c] == 0:
                continue
            rate = rates[c]
            Dc = D[c]
            Yc = Y[c]
            for k in range(L):
                x = Xb[k]
                for j in range(n_pre):
                    q = min(max(x[j] * rate, zero), one)
                    d = Dc[k, j]
                    Yc[k, j] = d * x[j]
                    Dc[k + 1, j] = d + (one - d) * q
            Bc = np.dot(U[start[c]:start[c] + counts[c]], Yc[:L].T)
            Bm = (Bc, Bm[1]) if c == 0 else (Bm[0], Bc)
        # samples 1..L-1 while each row keeps its branch
        for k in range(1, L):
            for i in range(n_rows):
                c = branch[i]
                if cut[i] < L:
                    z[i] = zero
                elif c < 2:
                    z[i] = A[i, k] + gain[c] * Bm[c][pos[i] - start[c], k] + b[i]
                else:
                    z[i] = A[i, k] + b[i]
            act_forward(act, z, y)
            for i in range(n_rows):
                if cut[i] < L:
                    continue
                if not math.isfinite(y[i]):
                    return s + k
                yb = trace[i] * keep + y[i]
                c = 0 if yb >= params.theta_ltp else (1 if yb >= params.theta_ltd else 2)
                if c != branch[i]:
                    cut[i] = k  # from here on the row goes sample by sample
                else:
                    trace[i] = yb
        # the state after the block (or at the cut): tags and weights in closed form
        for i in range(n_rows):
            c = branch[i]
            m = cut[i]
            if c < 2:
                g = gain[c]
                tag = h[i] if c == 0 else l[i]
                Dm = D[c, m]
                w = W[i]
                u = U[pos[i]]
                for j in range(n_pre):
                    e = u[j] * Dm[j]
                    tag[j] += e
                    w[j] += g * e
            t = clock[i]
            for k in range(m):
                t = t + dt
            if m == L and t >= params.consolidation_dt:
                state.protein[i] = slow_row(h[i], l[i], state.late[i], state.tag_threshold[i],
                                             W[i], state.protein[i], t, 1, params)
                t = zero
            clock[i] = t
            if m < L:
                bad = _tag_and_capture_one_row(W, b, Xb, act, params, state, dt, i, m, L)
                if bad >= 0:
                    return s + bad
        s += L
    return -1


register_fast_path(TagAndCapture, segment=tag_and_capture_segment)
