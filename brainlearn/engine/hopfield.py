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

Asynchronous recall (see ``brainlearn.memory._async``) computes the initial fields of all
cues with :func:`fields` and checks the symmetry of W with :func:`symmetric_rows` (both
split over threads), then runs the cues with :func:`async_recall`: a flip costs one row of
``W.T`` (``W`` itself when symmetric), added to the fields while the row of the next unit
predicted to flip is prefetched. For a W larger than the caches the flips are bound by
the memory bandwidth.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import JIT_DISABLED, jit
from .._random import bits, stream, uniform
from .kernels import _dots

__all__ = ["async_recall", "fields", "is_symmetric", "sweep_order", "symmetric_rows", "sync_step"]

#: how far (in positions of the update order) an asynchronous sweep at temperature > 0 looks
#: ahead for the next unit to change, whose row of weights is prefetched while the current
#: flip is applied (at temperature 0 the prediction comes from the units unstable at the
#: sweep's start)
LOOKAHEAD = 256
#: from this many units on, a sweep at temperature 0 goes from candidate to candidate
#: (:func:`_sweep_by_candidates`); below, listing the candidates costs more than it saves
LISTED_UNITS = 512
#: weights larger than this (bytes) are read from memory rather than from the caches, and
#: only then does prefetching the next flip's row pay (below, it costs more than it saves)
PREFETCH_BYTES = 1 << 24


def _make_prefetch():
    """``prefetch(a, i)``: a hint to bring the cache line holding ``a[i]`` (1-d ``a``) into the
    outer cache levels (LLVM's ``llvm.prefetch``, read, locality 2). No effect on results; a
    no-op without the JIT."""
    if JIT_DISABLED:
        def prefetch(a, i):
            pass
        return prefetch
    from llvmlite import binding as llvm_binding
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    # the intrinsic's name carries the pointer type: "p0" once LLVM has opaque pointers
    name = "llvm.prefetch.p0" if llvm_binding.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"

    @intrinsic
    def prefetch(typingctx, a, i):
        if not isinstance(a, types.Array) or a.ndim != 1 or not isinstance(i, types.Integer):
            return None

        def codegen(context, builder, sig, args):
            aryty = sig.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                           wraparound=False)
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), name)
            builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 2),
                              ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.void(a, i), codegen

    return prefetch


prefetch = _make_prefetch()


@jit
def sweep_order(st, perm, draws):
    """A random permutation of 0..n-1 into ``perm``: Fisher-Yates, the swap partner of
    position k (from the top) drawn from 32-bit draw ``n-1-k`` of ``st`` as
    ``(bits * (k + 1)) >> 32`` (integers only: exact, and no float conversion).

    The draws are made first, into ``draws`` (uint32, at least n - 1 long), by a loop
    that vectorises; the swaps then only read them (twice as fast as drawing in the
    swap loop)."""
    n = perm.shape[0]
    for m in range(n - 1):
        draws[m] = bits(st, m)
    for k in range(n):
        perm[k] = k
    for k in range(n - 1, 0, -1):
        j = (np.uint64(draws[n - 1 - k]) * np.uint64(k + 1)) >> np.uint64(32)
        t = perm[k]
        perm[k] = perm[j]
        perm[j] = t


def _make_block_differs():
    """``block_differs(W, a, c)``: True when the 8 x 8 block ``W[a:a+8, c:c+8]`` of a
    C-contiguous float matrix differs from the transpose of its mirror block
    ``W[c:c+8, a:a+8]`` (``!=`` on floats: a NaN differs, -0.0 equals 0.0).

    Compiled as 16 vector loads, one transposing shuffle (LLVM makes it a few permutes)
    and one vector compare: the element-by-element comparison reads the mirror block one
    element at a time, at a stride of a row, which bounds it by the loads, not the memory.
    """
    if JIT_DISABLED:
        def block_differs(W, a, c):
            return bool(np.any(W[a:a + 8, c:c + 8] != W[c:c + 8, a:a + 8].T))
        return block_differs
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    @intrinsic
    def block_differs(typingctx, W, a, c):
        if not (isinstance(W, types.Array) and W.ndim == 2 and W.layout == "C"
                and isinstance(W.dtype, types.Float) and isinstance(a, types.Integer)
                and isinstance(c, types.Integer)):
            return None

        def codegen(context, builder, sig, args):
            aryty = sig.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            r0 = context.cast(builder, args[1], sig.args[1], types.intp)
            c0 = context.cast(builder, args[2], sig.args[2], types.intp)
            vec8 = ir.VectorType(context.get_data_type(aryty.dtype), 8)
            i32 = ir.IntType(32)

            def block(row, col):  # the 8 rows of W[row:row+8, col:col+8] as one 64-vector
                parts = []
                for k in range(8):
                    r = builder.add(row, ir.Constant(row.type, k))
                    ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [r, col],
                                                   wraparound=False)
                    parts.append(builder.load(builder.bitcast(ptr, vec8.as_pointer()),
                                              align=aryty.dtype.bitwidth // 8))
                while len(parts) > 1:
                    w = 2 * parts[0].type.count
                    both = ir.Constant(ir.VectorType(i32, w), list(range(w)))
                    parts = [builder.shuffle_vector(parts[q], parts[q + 1], both)
                             for q in range(0, len(parts), 2)]
                return parts[0]

            mine = block(r0, c0)
            mirror = block(c0, r0)
            transpose = ir.Constant(ir.VectorType(i32, 64),
                                    [q * 8 + k for k in range(8) for q in range(8)])
            differs = builder.fcmp_unordered("!=", mine,
                                             builder.shuffle_vector(mirror, mirror, transpose))
            bits = builder.bitcast(differs, ir.IntType(64))
            return builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(64), 0))

        return types.boolean(W, a, c), codegen

    return block_differs


block_differs = _make_block_differs()


@jit
def _rows_differ(W, r0, r1, c_lo):
    """Whether a row ``a`` in ``r0..r1-1`` differs from its column at some ``c >= c_lo``,
    ``c > a`` (element by element)."""
    n = W.shape[0]
    bad = 0
    for a in range(r0, r1):
        ua = np.uint64(a)
        for c in range(max(c_lo, a + 1), n):
            uc = np.uint64(c)  # unsigned: no negative-index check
            bad |= np.int64(W[ua, uc] != W[uc, ua])
    return bad != 0


@jit
def symmetric_rows(W, lo, hi):
    """True when rows ``lo..hi-1`` of the square C-contiguous matrix ``W`` equal the
    matching columns (``W[i, j] == W[j, i]`` for ``lo <= i < hi``, ``j > i``); so
    ``symmetric_rows(W, 0, n)`` tells whether ``W`` is symmetric, and disjoint row ranges
    may be checked on separate threads.

    Compares 8 x 8 blocks with their mirror blocks (:func:`block_differs`), in tiles of
    128 x 128 whose mirror tiles stay in the cache, prefetching the next pair of tiles
    meanwhile; the blocks on the diagonal, and the rows and columns past the last multiple
    of 8, element by element. Stops after the first strip of tiles with a difference.
    """
    n = W.shape[0]
    n8 = n // 8 * 8
    b0 = min(-(-lo // 8) * 8, hi)  # the rows b0..b1-1 go by blocks
    b1 = max(min(hi, n8) // 8 * 8, b0)
    if _rows_differ(W, lo, b0, 0) or _rows_differ(W, b1, hi, 0):
        return False
    B = 128
    for i0 in range(b0, b1, B):
        i1 = min(i0 + B, b1)
        bad = _rows_differ(W, i0, i1, n8)
        for a0 in range(i0, i1, 8):  # the diagonal blocks
            for a in range(a0, a0 + 8):
                ua = np.uint64(a)
                for c in range(a + 1, a0 + 8):
                    uc = np.uint64(c)
                    bad |= W[ua, uc] != W[uc, ua]
        for j0 in range(i0, n8, B):
            j1 = min(j0 + B, n8)
            for a0 in range(i0, i1, 8):
                if j1 < n8:  # the next tile pair: these 8 rows at j1.., 8 mirror rows at i0..
                    for a in range(a0, a0 + 8):
                        ra = W[a]
                        for q in range(j1, min(j1 + B, n8), 16):
                            prefetch(ra, q)
                        if j1 + a - i0 < n:
                            rm = W[j1 + a - i0]
                            for q in range(i0, i1, 16):
                                prefetch(rm, q)
                for c0 in range(max(j0, a0 + 8), j1, 8):
                    bad |= block_differs(W, a0, c0)
        if bad:
            return False
    return True


@jit
def is_symmetric(W):
    """True when the square matrix ``W`` equals its transpose."""
    return symmetric_rows(W, 0, W.shape[0])


#: states taken together by :func:`fields` (the number of rows of ``S`` is a multiple of it)
FIELD_STATES = 6


@jit(reduction=True)
def fields(W, S, b, H, lo, hi):
    """``H[c, i] = sum_j W[i, j] S[c, j] + b[i]`` for the rows ``lo <= i < hi`` of ``W`` and
    every row c of ``S`` (a multiple of :data:`FIELD_STATES` rows; ``H`` has as many rows).

    4 rows of ``W`` times 6 states at a time (24 sums in registers, vectorised over j: W
    is read once per 6 states, a state once per 4 rows). Every sum is made by the same
    code in the same order whatever the other states are and however the rows are split,
    as long as ``lo`` and ``hi`` are multiples of 4 or ``hi = n`` (the last ``n % 4`` rows
    go one by one): the fields of a state do not depend on the threads or on the other
    cues (tests/test_memory.py checks it).
    """
    n = W.shape[1]
    m = S.shape[0]
    if m % 6 != 0 or H.shape[0] != m:
        raise ValueError("fields: S and H must have the same number of rows, a multiple of 6")
    zero = H.dtype.type(0)
    i = lo
    while i + 4 <= hi:
        w0 = W[i]
        w1 = W[i + 1]
        w2 = W[i + 2]
        w3 = W[i + 3]
        for c in range(0, m, 6):
            s0 = S[c]
            s1 = S[c + 1]
            s2 = S[c + 2]
            s3 = S[c + 3]
            s4 = S[c + 4]
            s5 = S[c + 5]
            a00 = a01 = a02 = a03 = a04 = a05 = a10 = a11 = a12 = a13 = a14 = a15 = zero
            a20 = a21 = a22 = a23 = a24 = a25 = a30 = a31 = a32 = a33 = a34 = a35 = zero
            for j in range(n):
                x0 = w0[j]
                x1 = w1[j]
                x2 = w2[j]
                x3 = w3[j]
                y0 = s0[j]
                y1 = s1[j]
                y2 = s2[j]
                y3 = s3[j]
                y4 = s4[j]
                y5 = s5[j]
                a00 += x0 * y0
                a01 += x0 * y1
                a02 += x0 * y2
                a03 += x0 * y3
                a04 += x0 * y4
                a05 += x0 * y5
                a10 += x1 * y0
                a11 += x1 * y1
                a12 += x1 * y2
                a13 += x1 * y3
                a14 += x1 * y4
                a15 += x1 * y5
                a20 += x2 * y0
                a21 += x2 * y1
                a22 += x2 * y2
                a23 += x2 * y3
                a24 += x2 * y4
                a25 += x2 * y5
                a30 += x3 * y0
                a31 += x3 * y1
                a32 += x3 * y2
                a33 += x3 * y3
                a34 += x3 * y4
                a35 += x3 * y5
            H[c, i] = a00 + b[i]
            H[c + 1, i] = a01 + b[i]
            H[c + 2, i] = a02 + b[i]
            H[c + 3, i] = a03 + b[i]
            H[c + 4, i] = a04 + b[i]
            H[c + 5, i] = a05 + b[i]
            H[c, i + 1] = a10 + b[i + 1]
            H[c + 1, i + 1] = a11 + b[i + 1]
            H[c + 2, i + 1] = a12 + b[i + 1]
            H[c + 3, i + 1] = a13 + b[i + 1]
            H[c + 4, i + 1] = a14 + b[i + 1]
            H[c + 5, i + 1] = a15 + b[i + 1]
            H[c, i + 2] = a20 + b[i + 2]
            H[c + 1, i + 2] = a21 + b[i + 2]
            H[c + 2, i + 2] = a22 + b[i + 2]
            H[c + 3, i + 2] = a23 + b[i + 2]
            H[c + 4, i + 2] = a24 + b[i + 2]
            H[c + 5, i + 2] = a25 + b[i + 2]
            H[c, i + 3] = a30 + b[i + 3]
            H[c + 1, i + 3] = a31 + b[i + 3]
            H[c + 2, i + 3] = a32 + b[i + 3]
            H[c + 3, i + 3] = a33 + b[i + 3]
            H[c + 4, i + 3] = a34 + b[i + 3]
            H[c + 5, i + 3] = a35 + b[i + 3]
        i += 4
    six = np.empty(6, H.dtype)
    while i < hi:
        for c in range(0, m, 6):
            _dots(S[c:c + 6], W[i], six, False)  # 6 states times the row
            for q in range(6):
                H[c + q, i] = six[q] + b[i]
        i += 1


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
def _new_unit(z, v, low, gain, temperature, st, m):
    """:func:`_new_value` for a value ``v`` held as int8 (``low`` too): the next value,
    int8, compared with ``v`` as integers (the checks between flips are most of a sweep)."""
    if temperature > 0:
        p = 1.0 / (1.0 + math.exp(-gain * z / temperature))
        return np.int8(1) if uniform(st, m) < p else low
    if z > 0:
        return np.int8(1)
    if z < 0:
        return low
    return v


@jit
def _next_flip(h, v, perm, k0, k1, low, gain, temperature, st):
    """The first unit at positions ``k0..k1-1`` of the order that would change under the
    fields ``h`` (-1 if none): a prediction of the next flip, made before the current flip
    is added to the fields (it changes them little, so the prediction is nearly always
    right; a wrong one only costs a useless prefetch)."""
    n = v.shape[0]
    for k in range(k0, k1):
        i = perm[k]
        if _new_unit(h[i], v[i], low, gain, temperature, st, n + i) != v[i]:
            return i
    return -1


@jit
def _add_row(h, col, d, ahead, nxt):
    """``h += d * col``; with ``ahead``, the row ``nxt`` is prefetched meanwhile (one cache
    line per 16 elements), so that the next flip's row comes from cache, not memory."""
    n = h.shape[0]
    if not ahead:
        for r in range(n):
            h[r] += d * col[r]
        return
    for r0 in range(0, n, 64):
        prefetch(nxt, r0)
        prefetch(nxt, min(r0 + 16, n - 1))
        prefetch(nxt, min(r0 + 32, n - 1))
        prefetch(nxt, min(r0 + 48, n - 1))
        for q in range(min(64, n - r0)):
            r = np.uint64(r0 + q)  # unsigned: no negative-index check, so the loop vectorises
            h[r] += d * col[r]


@jit
def _changes(z, v, low):
    """Whether a unit of value ``v`` (int8; ``low`` the low value) changes at temperature 0
    under the field ``z``: a bool from comparisons only, no branch, so that loops over
    units stay branch-free."""
    return ((z > 0) & (v != 1)) | ((z < 0) & (v != low))


@jit
def _unstable(h, v, low):
    """How many units would change at temperature 0 under the fields ``h`` (values ``v``,
    int8; ``low`` the low value)."""
    count = 0
    for i in range(v.shape[0]):
        count += _changes(h[i], v[i], low)
    return count


@jit
def _sweep_by_candidates(WT, h, v, perm, cand, n_cand, low, far):
    """One sweep at temperature 0 (``perm`` the order), from candidate to candidate:
    ``cand[:n_cand]`` are the positions of the units that would change under the fields
    at the sweep's start. Returns the number of flips.

    The same decisions, in the same order, as visiting every position: the positions
    between two candidates are checked together, without a branch per unit, and the
    loop branches only where something unexpected happens (one of them changes after
    all, or the candidate does not). So the processor predicts the branches, and starts
    on the candidate's row while the checks are still being made, where a branch per
    unit taken at every flip would be mispredicted at every flip. With ``far`` (W larger
    than the caches), the row of the next candidate is prefetched while a flip is added,
    skipping candidates that no longer would change (3% of them in the benchmark's
    recall keep their value).
    """
    n = v.shape[0]
    flips = 0
    k = 0  # the next position to decide
    u = 0  # the next candidate
    while k < n:
        while u < n_cand and cand[u] < k:
            u += 1
        p = cand[u] if u < n_cand else n
        surprise = 0
        for q in range(k, p):
            i = perm[q]
            surprise |= _changes(h[i], v[i], low)
        if surprise:  # a unit before the candidate changes: find it, go on after it
            q = k
            while not _changes(h[perm[q]], v[perm[q]], low):
                q += 1
            p = q
        elif p == n:
            break
        i = perm[p]
        k = p + 1
        if _changes(h[i], v[i], low):
            new = np.int8(1) if h[i] > 0 else low
            d = h.dtype.type(np.int32(new) - np.int32(v[i]))  # +-2 or +-1: exact
            v[i] = new
            if u < n_cand and cand[u] == p:
                u += 1
            nxt = -1
            if far:  # the next candidate still unstable (up to 4 looked at) is prefetched
                w = u
                while w < min(u + 4, n_cand):
                    j = perm[cand[w]]
                    if _changes(h[j], v[j], low):
                        nxt = j
                        break
                    w += 1
            _add_row(h, WT[i], d, nxt >= 0, WT[max(nxt, 0)])
            flips += 1
    return flips


@jit
def _async_one(WT, s, low, gain, steps, temperature, key, cue, h, perm, draws, v, cand):
    """Asynchronous sweeps of one state ``s`` (in place) from its fields ``h = W s + b``
    (updated in place); returns (sweeps run, converged).

    The fields are kept up to date after every flip (``h += (s_new - s_old) W[:, i]``, a
    row of ``WT``), so a sweep costs n plus n per flip instead of n^2. While a flip's row is
    added, the row of the next unit predicted to flip is prefetched (rows of a large W come
    from memory, and one row at a time keeps too few reads in flight). The units' values
    are kept in ``v`` (int8, exact for 1, 0 and -1), a quarter of ``s``'s bytes: the
    checks between flips, which read it at random, then stay in the fastest cache while
    rows stream through it.

    At temperature 0 a sweep changes nothing when no unit would change under the fields
    at its start (a unit that keeps its value leaves the fields as they are), so such a
    sweep is recognised by one pass over the units, without drawing its order. Otherwise
    (from :data:`LISTED_UNITS` units on) ``cand`` lists the positions of the units that
    would change at the sweep's start (the flips move few other units across their
    threshold), and :func:`_sweep_by_candidates` runs the sweep from one to the next,
    prefetching the next one's row. At temperature > 0 the next change is looked for in the next
    :data:`LOOKAHEAD` positions of the order.
    """
    n = s.shape[0]
    for i in range(n):
        v[i] = np.int8(s[i])
    low8 = np.int8(low)
    far = WT.size * WT.itemsize > PREFETCH_BYTES
    listed = temperature == 0 and n >= LISTED_UNITS
    sweeps = 0
    converged = False
    for t in range(steps):
        if temperature == 0 and _unstable(h, v, low8) == 0:
            sweeps = t + 1
            converged = True
            break
        st = stream(key, t, cue)
        sweep_order(st, perm, draws)
        if listed:
            n_cand = 0
            for k in range(n):
                i = perm[k]
                cand[n_cand] = k
                n_cand += _changes(h[i], v[i], low8)
            if far and n_cand > 0:  # the first flip's row is fetched while the order is read
                first = WT[perm[cand[0]]]
                for r in range(0, n, 16):
                    prefetch(first, r)
            flips = _sweep_by_candidates(WT, h, v, perm, cand, n_cand, low8, far)
            sweeps = t + 1
            converged = flips == 0
            if converged:
                break
            continue
        flips = 0
        for k in range(n):
            i = perm[k]
            old = v[i]
            new = _new_unit(h[i], old, low8, gain, temperature, st, n + i)
            if new != old:
                d = h.dtype.type(np.int32(new) - np.int32(old))  # +-2 or +-1: exact
                v[i] = new
                nxt = -1
                if far:
                    nxt = _next_flip(h, v, perm, k + 1, min(n, k + 1 + LOOKAHEAD), low8, gain,
                                     temperature, st)
                _add_row(h, WT[i], d, nxt >= 0, WT[max(nxt, 0)])
                flips += 1
        sweeps = t + 1
        converged = flips == 0
        if converged and temperature == 0:
            break
    for i in range(n):
        s[i] = v[i]
    return sweeps, converged


@jit
def async_recall(WT, H, S, low, gain, steps, temperature, key, cue0, out_steps, out_conv, lo, hi):
    """Asynchronous dynamics of rows ``lo..hi-1`` of ``S`` (in place), ``steps`` sweeps at most.

    ``H`` holds the rows' fields ``W s + b`` (made by the caller for all rows at once, with
    :func:`fields`; updated in place). Each sweep updates every unit once, in a fresh random order.
    ``WT`` is ``W.T`` made C-contiguous (``W`` itself when symmetric). Row c uses the
    generator streams of cue ``cue0 + c``. Writes the sweeps run and whether the last sweep
    flipped nothing. Rows are independent (own state, fields and streams), so disjoint row
    ranges may run on separate threads (the function releases the GIL).
    """
    n = S.shape[1]
    perm = np.empty(n, np.int32)
    draws = np.empty(n, np.uint32)
    v = np.empty(n, np.int8)
    cand = np.empty(n, np.int32)
    for c in range(lo, hi):
        sweeps, conv = _async_one(WT, S[c], low, gain, steps, temperature, key, cue0 + c,
                                  H[c], perm, draws, v, cand)
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
