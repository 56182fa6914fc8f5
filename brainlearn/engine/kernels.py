"""Small compiled building blocks the generated drivers call.

All take 1-D activity vectors and C-contiguous (n_post, n_pre) weights; none
allocates but ``block_grams`` (one matrix product per chunk). Their NumPy twins live in ``tests/naive.py``.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit

__all__ = ["affine", "matvec_add", "matvec_t_add", "zero", "copy_into", "copy_vec", "add_into", "add_scaled", "add_scaled_vec",
           "add_bias_rows", "apply_mask", "clip",
           "all_finite", "gather_rows", "is_run", "gather_chunks", "block_grams", "gathered_grams"]


@jit(reduction=True)
def _dots(W, x, z, add):
    """``z[i] = W[i] . x`` (``z[i] += W[i] . x`` with ``add``), four rows at a time: four
    independent sums, each vectorised over j exactly as one row alone (the same result,
    bit for bit), share the loads of ``x`` and hide each other's latency."""
    n_post, n_pre = W.shape
    zero = W.dtype.type(0)
    i = 0
    while i + 4 <= n_post:
        w0 = W[i]
        w1 = W[i + 1]
        w2 = W[i + 2]
        w3 = W[i + 3]
        s0 = s1 = s2 = s3 = zero
        for j in range(n_pre):
            xj = x[j]
            s0 += w0[j] * xj
            s1 += w1[j] * xj
            s2 += w2[j] * xj
            s3 += w3[j] * xj
        if add:
            z[i] += s0
            z[i + 1] += s1
            z[i + 2] += s2
            z[i + 3] += s3
        else:
            z[i] = s0
            z[i + 1] = s1
            z[i + 2] = s2
            z[i + 3] = s3
        i += 4
    while i < n_post:
        w0 = W[i]
        s0 = zero
        for j in range(n_pre):
            s0 += w0[j] * x[j]
        if add:
            z[i] += s0
        else:
            z[i] = s0
        i += 1


@jit
def affine(W, x, b, z):
    """z = W @ x + b (accumulated in W's dtype, like BLAS: float32 stays float32)."""
    _dots(W, x, z, False)
    for i in range(z.shape[0]):
        z[i] += b[i]


@jit
def matvec_add(W, x, z):
    """z += W @ x (accumulated in W's dtype)."""
    _dots(W, x, z, True)


@jit
def matvec_t_add(W, d, e):
    """e += W.T @ d (row-wise, so ``W`` is read contiguously)."""
    n_post, n_pre = W.shape
    for i in range(n_post):
        di = d[i]
        if di != 0.0:
            for j in range(n_pre):
                e[j] += W[i, j] * di


@jit
def zero(a):
    a[...] = 0.0


@jit
def copy_into(dst, src):
    """dst[...] = src for 2-D arrays of one shape.

    Written out because Numba's ``dst[:] = src`` broadcasts, and its shape-mismatch error
    formats a message: a few thousand lines of string code compiled into every caller.
    """
    n, m = src.shape
    for i in range(n):
        for j in range(m):
            dst[i, j] = src[i, j]


@jit
def copy_vec(dst, src):
    """dst[...] = src for 1-D arrays of one length (see :func:`copy_into`)."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@jit
def add_into(W, dW):
    """W += dW for 2-D arrays."""
    n, m = W.shape
    for i in range(n):
        for j in range(m):
            W[i, j] += dW[i, j]


@jit
def apply_mask(W, M):
    n, m = W.shape
    for i in range(n):
        for j in range(m):
            W[i, j] *= M[i, j]


@jit
def clip(W, lo, hi):
    n, m = W.shape
    for i in range(n):
        for j in range(m):
            w = W[i, j]
            if w < lo:
                W[i, j] = lo
            elif w > hi:
                W[i, j] = hi


@jit
def all_finite(a):
    """True when every element of the 1-D or 2-D array ``a`` is finite."""
    flat = a.reshape(-1) if a.flags.c_contiguous else a.copy().reshape(-1)
    for k in range(flat.shape[0]):
        if not math.isfinite(flat[k]):
            return False
    return True


@jit
def gather_rows(X, idx, out):
    """out[r] = X[idx[r]] for r < len(idx)."""
    n = X.shape[1]
    for r in range(idx.shape[0]):
        k = idx[r]
        for j in range(n):
            out[r, j] = X[k, j]


@jit
def add_scaled(W, dW, s):
    """W += s * dW for 2-D arrays."""
    n, m = W.shape
    for i in range(n):
        for j in range(m):
            W[i, j] += s * dW[i, j]


@jit
def add_scaled_vec(b, db, s):
    """b += s * db for 1-D arrays."""
    for i in range(b.shape[0]):
        b[i] += s * db[i]


@jit
def add_bias_rows(Z, b):
    """Z[r] += b for every row r."""
    m, n = Z.shape
    for r in range(m):
        for i in range(n):
            Z[r, i] += b[i]


@jit
def is_run(idx):
    """True when idx is k, k+1, ..., k+len-1."""
    for r in range(1, idx.shape[0]):
        if idx[r] != idx[0] + r:
            return False
    return True


@jit
def gather_chunks(x, idx, X, B, c0, c1):
    """``X[r] = x[idx[r]]`` for the rows of the chunks ``c0 .. c1-1`` of ``B`` consecutive rows
    of ``X`` (disjoint chunk ranges may run on threads)."""
    n = X.shape[0]
    for r in range(c0 * B, min(c1 * B, n)):
        k = idx[r]
        for j in range(X.shape[1]):
            X[r, j] = x[k, j]


@jit
def block_grams(X, D, B, G, c0, c1):
    """``G[c, :m, :m] = X_c D_c^T`` for the chunks ``c0 .. c1-1`` of ``B`` consecutive rows of
    ``X`` and ``D`` (``m`` rows in the last chunk): the Gram products of the block driver,
    ``G[c, k, j] = x_k . d_j``. Chunks are independent: disjoint ranges may run on threads."""
    n = X.shape[0]
    for c in range(c0, c1):
        s = c * B
        m = min(B, n - s)
        P = np.dot(X[s:s + m], D[s:s + m].T)
        for k in range(m):
            for j in range(m):
                G[c, k, j] = P[k, j]


@jit
def gathered_grams(x, idx, X, B, G, c0, c1):
    """:func:`gather_chunks` then :func:`block_grams` of ``X`` with itself, chunk by chunk
    (each chunk's rows are still in cache for its Gram product)."""
    for c in range(c0, c1):
        gather_chunks(x, idx, X, B, c, c + 1)
        block_grams(X, X, B, G, c, c + 1)
