"""Generate, compile and cache the drivers for a Plan.

For each network structure we write a small Python module with three compiled
functions, specialised to the plan (population order, activations, loss,
rule kernels):

* ``online(X, T, order, dt, Ws, bs, Ms, bounds, params, states, dWs, acts, steps, loss,
  threshold)``
  runs a whole online epoch (batch size 1) in one compiled call;
* ``minibatch(...)`` the same with minibatches, matrix products through BLAS;
* ``forward(X, Ws, bs, acts, steps)`` the activities of every population for a batch.

Sizes, activations and the loss are run-time arguments, so networks that differ
only in those share one compiled driver. Rule kernels are inlined into the generated code (a copy compiled with
``inline="always"``), so Numba compiles a user's rule into the driver exactly as
it does a built-in one, and a kernel called with ``dW`` being ``W`` is seen to
update in place: LLVM then vectorises it instead of falling back to a scalar loop
behind a failed run-time overlap check. When every
kernel is importable by name, the module is written to the cache directory
and compiled with ``cache=True`` (a second process loads machine code); a
kernel defined in ``__main__`` or a notebook still works, compiled in memory.
"""

from __future__ import annotations


from .._version import __version__
from ..network import activations, losses
from . import kernels
from ._compile import build_module, cache_dir, cached, importable
from .plan import Plan

__all__ = ["drivers_for", "cache_dir"]

_DRIVERS: dict = {}


class _Emitter:
    def __init__(self):
        self.lines = []
        self.level = 0

    def __call__(self, line=""):
        self.lines.append("    " * self.level + line if line else "")

    def indent(self):
        self.level += 1

    def dedent(self):
        self.level -= 1


def _kernel_names(plan: Plan):
    """Aliases for every rule kernel, plus the import lines (None when not importable)."""
    imports, env, ok = [], {}, True
    for pp in plan.projections:
        for t in pp.terms:
            for prefix, fn in (("k", t.kernel), ("kb", t.batch_kernel), ("ka", t.affine),
                               ("kd", t.direction), ("kg", t.segment)):
                if fn is None:
                    continue
                alias = f"{prefix}{t.slot}"
                env[f"_src_{alias}"] = fn
                where = importable(fn)
                if where is None:
                    ok = False
                else:
                    imports.append(f"from {where[0]} import {where[1]} as _src_{alias}")
                imports.append(f"{alias} = inline_copy(_src_{alias})")
            if t.state_cls is not None:
                alias = f"SC{t.slot}"
                env[alias] = t.state_cls
                where = importable(t.state_cls)
                if where is None:
                    ok = False
                else:
                    imports.append(f"from {where[0]} import {where[1]} as {alias}")
    if not ok:
        return None, env
    return imports, env


def generate(plan: Plan) -> str:
    """The driver module's source for ``plan`` (without the import header)."""
    e = _Emitter()
    _emit_online(e, plan)
    e()
    _emit_minibatch(e, plan)
    e()
    _emit_forward(e, plan)
    if plan.rows >= 0:
        e()
        _emit_rows(e, plan)
    if plan.block >= 0:
        e()
        _emit_block(e, plan)
    return "\n".join(e.lines) + "\n"


#: samples whose corrections are summed one by one inside a block (the rest through a product)
_SUB = 16


def _emit_state_rows(e, t, var, rows):
    """``var`` = term ``t``'s state, its row-wise arrays (``t.state_fields``) cut to the rows
    lo..hi when ``rows`` (a driver that runs row ranges on threads); the others whole."""
    if rows and t.state_fields:
        fields = ", ".join(f"states[{t.slot}].{f}[lo:hi]" if f in t.state_fields
                           else f"states[{t.slot}].{f}" for f in t.state_cls._fields)
        e(f"{var} = SC{t.slot}({fields})")
    else:
        e(f"{var} = states[{t.slot}]")


def _emit_block(e, plan):
    """Online learning of one projection, block by block through matrix products.

    Every rule on the projection changes row i by ``alpha_i W_i + beta_i d`` (its
    ``affine`` fast path gives alpha and beta from the activity; ``d`` is the input ``x``,
    or the direction a single rule's ``direction`` fast path makes of it). Then, within a
    block of samples x_0..x_{m-1} with directions d_0..d_{m-1}, starting from weights W0,

        W_k = diag(A_k) (W0 + sum_{j<k} c_j d_j^T),
        A_{k+1} = A_k (1 + alpha_k),   c_k = beta_k / A_{k+1},

(A is kept as A - 1, so that a slow decay -- alpha of 1e-5 in float32 -- is not lost in
rounding 1 + alpha),

    and the activity for sample k needs only W0 x_k and the Gram products x_k . d_j:

        u_k = A_k * (W0 x_k + sum_{j<k} c_j (x_k . d_j)) + b.

    One matrix product gives W0 X^T (the drive of every sample), the samples are then
    stepped in order (corrections from earlier sub-blocks of _SUB samples through one
    more small product), and a last product gives W = diag(A) (W0 + C^T D). This is
    online learning -- each sample sees the weights left by the one before -- with the
    same result as the per-sample driver up to rounding, but the weights are read and
    written once per block instead of twice per sample. Should a row's factor A come
    near zero (a decay of the whole row in one step), the block ends there and that
    sample is applied directly.

    The Gram products do not depend on the weights: the engine computes them for the
    whole segment first (``G[c]`` for the chunk of samples ``cB .. cB+B-1``, shared by
    the threads that own row ranges), and blocks never cross a chunk boundary, so a
    block that starts after a cut reads a corner of its chunk's ``G``.
    """
    pp = plan.projections[plan.block]
    q, post = pp.index, pp.post
    direction = [t for t in pp.terms if t.direction is not None]
    if direction:
        t = direction[0]
        e("@jit")
        e("def block_directions(X, dt, params, states, D):")
        e("    # the direction of every sample of the segment, in order (input-side state only)")
        e(f"    P{t.slot} = params[{t.slot}]")
        e(f"    S{t.slot} = states[{t.slot}]")
        e("    for r in range(X.shape[0]):")
        e(f"        kd{t.slot}(X[r], P{t.slot}, S{t.slot}, dt, D[r])")
        e()
    e("@jit")
    e("def online_block(X, D, G, dt, Ws, bs, params, states, acts, B, lo, hi):")
    e.indent()
    e("# rows lo..hi only (the engine may run disjoint row ranges on separate threads when the")
    e("# rules are row-local and the activation element-wise: rows then evolve independently)")
    e(f"W = Ws[{q}][lo:hi]")
    e(f"b = bs[{post}][lo:hi]")
    for t in pp.terms:
        e(f"P{t.slot} = params[{t.slot}]")
        _emit_state_rows(e, t, f"S{t.slot}", plan.block_threads)
    e(f"code = acts[{post}]")
    e("dtype = W.dtype")
    e("n_post, n_pre = W.shape")
    e("n = X.shape[0]")
    e("S = np.empty((n_post, n_pre), dtype)")
    e("copy_into(S, W)")
    e("Am = np.zeros(n_post, dtype)  # A - 1: kept apart so a slow decay (A near 1) stays exact")
    e("C = np.zeros((B, n_post), dtype)")
    e("z = np.zeros(n_post, dtype)")
    e("a = np.zeros(n_post, dtype)")
    e("al = np.zeros(n_post, dtype)")
    e("be = np.zeros(n_post, dtype)")
    e("Pbuf = np.empty(n_post * B, dtype)  # the products' outputs, allocated once")
    e("U = np.empty((n_post, n_pre), dtype)")
    e("s = 0")
    e("bad = -1")
    e("while s < n:")
    e.indent()
    e("c = s // B")
    e("off = s - c * B")
    e("m = min(B - off, n - s)  # to the end of the chunk")
    e("Gk = G[c, off:off + m, off:off + m]  # x_k . d_j")
    e("P = Pbuf[:n_post * m].reshape((n_post, m))")
    e("np.dot(S, X[s:s + m].T, P)  # W0 x_k in column k")
    e("Am[:] = 0")
    e("cut = m  # samples folded into C (fewer when a factor came near zero)")
    e("direct = False")
    e(f"for r0 in range(0, m, {_SUB}):")
    e.indent()
    e(f"r1 = min(r0 + {_SUB}, m)")
    e("if r0 > 0:")
    e("    corr = np.dot(np.ascontiguousarray(Gk[r0:r1, :r0]), C[:r0])")
    e("for k in range(r0, r1):")
    e.indent()
    e("for i in range(n_post):")
    e("    z[i] = P[i, k]")
    e("if r0 > 0:")
    e("    for i in range(n_post):")
    e("        z[i] += corr[k - r0, i]")
    e("for j in range(r0, k):")
    e("    g = Gk[k, j]")
    e("    for i in range(n_post):")
    e("        z[i] += C[j, i] * g")
    e("for i in range(n_post):")
    e("    z[i] = z[i] + Am[i] * z[i] + b[i]")
    e("act_forward(code, z, a)")
    e("if not all_finite(a):")
    e("    bad = s + k")
    e("    break")
    e("al[:] = 0")
    e("be[:] = 0")
    e("x = X[s + k]")
    for t in pp.terms:
        e(f"ka{t.slot}(x, a, P{t.slot}, S{t.slot}, dt, al, be)")
    e("small = False")
    e("for i in range(n_post):")
    e("    if abs(1 + Am[i] + al[i] + Am[i] * al[i]) < 1e-3:")
    e("        small = True")
    e("if small:")
    e("    cut = k")
    e("    direct = True")
    e("    break")
    e("for i in range(n_post):")
    e("    Am[i] = Am[i] + al[i] + Am[i] * al[i]")
    e("    C[k, i] = be[i] / (1 + Am[i])")
    e.dedent()
    e("if bad >= 0 or direct:")
    e("    break")
    e.dedent()
    e("if bad >= 0:")
    e("    break")
    e("if cut > 0:")
    e("    np.dot(C[:cut].T, D[s:s + cut], U)")
    e("    for i in range(n_post):")
    e("        ai = Am[i]")
    e("        for j in range(n_pre):")
    e("            w = S[i, j] + U[i, j]")
    e("            S[i, j] = w + ai * w")
    e("if direct:  # sample `cut`, whose factor came near zero, straight into the weights")
    e("    d = D[s + cut]")
    e("    for i in range(n_post):")
    e("        f = 1 + al[i]")
    e("        cb = be[i]")
    e("        for j in range(n_pre):")
    e("            S[i, j] = f * S[i, j] + cb * d[j]")
    e("    cut += 1")
    e("s += cut")
    e.dedent()
    e("copy_into(W, S)")
    e("return s, bad")
    e.dedent()


#: bytes of weights per tile of rows in the row-parallel driver (measured at 784 -> 100:
#: ltp 9.3 G/s with 16 KB tiles, 13.0 with 32 KB, 11.7 with 64 KB)
_TILE_BYTES = 32768


def _emit_rows(e, plan):
    """One projection, row-local rules, no loss: rows lo..hi for a whole epoch.

    The engine runs disjoint row blocks on separate threads (the functions release
    the GIL); a block writes only its rows of W, b and the row-wise state, so there
    is no race and the result does not depend on the number of blocks.
    """
    pp = plan.projections[plan.rows]
    q, post = pp.index, pp.post
    if _segment_term(pp) is not None:
        _emit_rows_segment(e, plan)
        return
    e("@jit")
    e("def online_rows(X, order, dt, Ws, bs, Ms, bounds, params, states, acts, lo, hi):")
    e.indent()
    e(f"W = Ws[{q}]")
    e(f"b = bs[{post}]")
    for t in pp.terms:
        e(f"P{t.slot} = params[{t.slot}]")
        e(f"S{t.slot} = states[{t.slot}]")
    if pp.has_mask:
        e(f"M = Ms[{q}]")
    e(f"code = acts[{post}]")
    e("# tiles of rows that stay in cache between the forward pass and the update")
    e(f"tile = max(1, min(hi - lo, {_TILE_BYTES} // max(1, W.shape[1] * W.itemsize)))")
    e("z = np.zeros(tile, X.dtype)")
    e("a = np.zeros(tile, X.dtype)")
    e("mz = np.zeros(tile, X.dtype)")
    e("nob = np.zeros(0, X.dtype)")
    if not pp.fused and pp.deltas:
        e("dWr = np.zeros((tile, W.shape[1]), X.dtype)")
    e("for s in range(order.shape[0]):")
    e.indent()
    e("x = X[order[s]]")
    e("for t0 in range(lo, hi, tile):")
    e.indent()
    e("t1 = min(t0 + tile, hi)")
    e("r = t1 - t0")
    e("Wi = W[t0:t1]")
    e("zi = z[:r]")
    e("ai = a[:r]")
    e("affine(Wi, x, b[t0:t1], zi)")
    e("act_forward(code, zi, ai)")
    for t in pp.terms:
        if t.state_fields:
            fields = ", ".join(f"S{t.slot}.{f}[t0:t1]" for f in t.state_fields)
            e(f"Si{t.slot} = SC{t.slot}({fields})")
        else:
            e(f"Si{t.slot} = S{t.slot}")
    target = "Wi" if pp.fused else "dWi"
    if not pp.fused and pp.deltas:
        e("dWi = dWr[:r]")
        e("zero(dWi)")
    for t in pp.deltas:
        e(f"k{t.slot}(Wi, x, ai, mz[:r], P{t.slot}, Si{t.slot}, dt, {target}, nob)")
    if not pp.fused and pp.deltas:
        e("add_into(Wi, dWi)")
    for t in pp.constraints:
        e(f"k{t.slot}(Wi, x, ai, mz[:r], P{t.slot}, Si{t.slot}, dt, Wi, nob)")
    if pp.has_mask:
        e("apply_mask(Wi, M[t0:t1])")
    if pp.has_bounds:
        e(f"clip(Wi, bounds[{q}, 0], bounds[{q}, 1])")
    e.dedent()
    e.dedent()
    e("return 0")
    e.dedent()


def _segment_term(pp):
    """The term whose ``segment`` fast path runs the rows (a single rule, straight into W, with
    no mask, bounds or constraint), or None."""
    if len(pp.terms) != 1 or not pp.fused or pp.has_mask or pp.has_bounds:
        return None
    t = pp.terms[0]
    return t if t.segment is not None and not t.constraint else None


def _emit_rows_segment(e, plan):
    """``online_segment``: the rule's segment kernel on rows lo..hi of one segment of
    gathered samples ``X`` (it runs the forward pass and the update; see
    :class:`brainlearn.rules.LocalRule`). Returns the first sample whose activity is not
    finite, or -1."""
    pp = plan.projections[plan.rows]
    t = _segment_term(pp)
    e("@jit")
    e("def online_segment(X, dt, Ws, bs, params, states, acts, lo, hi):")
    e.indent()
    e(f"W = Ws[{pp.index}][lo:hi]")
    e(f"b = bs[{pp.post}][lo:hi]")
    e(f"P = params[{t.slot}]")
    _emit_state_rows(e, t, "S", True)
    e(f"return kg{t.slot}(W, b, X, acts[{pp.post}], P, S, dt)")
    e.dedent()


def _unpack(e, plan, learn=True):
    for pp in plan.projections:
        e(f"W{pp.index} = Ws[{pp.index}]")
    for p in plan.order:
        e(f"b{p} = bs[{p}]")
    if not learn:
        return
    for pp in plan.projections:
        if pp.has_mask:
            e(f"M{pp.index} = Ms[{pp.index}]")
        for t in pp.terms:
            e(f"P{t.slot} = params[{t.slot}]")
            e(f"S{t.slot} = states[{t.slot}]")
        if pp.needs_buffer:
            e(f"dW{pp.index} = dWs[{pp.index}]")


def _mod_name(plan, pp, t, batch):
    suffix = "b" if batch else ""
    if t.signal == "error":
        return f"d{pp.post}"
    if t.signal == "reward":
        return f"mr{suffix}{pp.post}"
    return f"mz{suffix}{pp.post}"


def _zero_mod_pops(plan):
    return sorted({pp.post for pp in plan.projections for t in pp.terms if t.signal == "none"})


def _emit_settle(e, plan, p, batch):
    """Lateral projections: iterate z = z_ff + sum W_lat a, a = f(z) for steps[p] rounds."""
    lat = plan.incoming(p, lateral=True)
    if not lat:
        return
    if batch:
        e(f"zf{p} = z{p}.copy()")
        e(f"for it in range(steps[{p}]):")
        e(f"    z{p} = zf{p} + np.dot(a{p}, W{lat[0].index}.T)")
        for q in lat[1:]:
            e(f"    z{p} += np.dot(a{p}, W{q.index}.T)")
        e(f"    act_forward_rows(acts[{p}], z{p}, a{p})")
    else:
        e(f"copy_vec(zf{p}, z{p})")
        e(f"for it in range(steps[{p}]):")
        e(f"    copy_vec(z{p}, zf{p})")
        for q in lat:
            e(f"    matvec_add(W{q.index}, a{p}, z{p})")
        e(f"    act_forward(acts[{p}], z{p}, a{p})")


def _emit_online(e, plan):
    e("@jit")
    e("def online(X, T, order, dt, Ws, bs, Ms, bounds, params, states, dWs, acts, steps, loss, "
      "threshold):")
    e.indent()
    e("dtype = X.dtype")
    _unpack(e, plan)
    e("nob = np.zeros(0, dtype)")
    for p in plan.order:
        for buf in ("z", "a") + (("d", "e") if p in plan.delta_pops else ()) + \
                (("zf",) if plan.incoming(p, lateral=True) else ()):
            e(f"{buf}{p} = np.zeros(b{p}.shape[0], dtype)")
    for p in _zero_mod_pops(plan):
        e(f"mz{p} = np.zeros(b{p}.shape[0], dtype)")
    for p in plan.reward_pops:
        e(f"mr{p} = np.zeros(b{p}.shape[0], dtype)")
    out = plan.output
    dout = f"d{out}" if out in plan.delta_pops else f"dl{out}"
    if plan.loss >= 0 and out not in plan.delta_pops:
        e(f"dl{out} = np.zeros(b{out}.shape[0], dtype)")
    e("loss_sum = 0.0")
    e("correct = 0")
    e("bad = -1")
    e("done = 0")
    e("for s in range(order.shape[0]):")
    e.indent()
    e("k = order[s]")
    e("x = X[k]")
    multi = len(plan.inputs) > 1  # one input population: its size stays out of the text
    for p, off, n in plan.inputs:
        e(f"a{p} = x[{off}:{off + n}]" if multi else f"a{p} = x")
    for p in plan.order:
        inc = plan.incoming(p)
        e(f"affine(W{inc[0].index}, a{inc[0].pre}, b{p}, z{p})")
        for q in inc[1:]:
            e(f"matvec_add(W{q.index}, a{q.pre}, z{p})")
        e(f"act_forward(acts[{p}], z{p}, a{p})")
        _emit_settle(e, plan, p, batch=False)
    if plan.loss >= 0:
        e(f"l = loss_and_delta(loss, acts[{out}], z{out}, a{out}, T[k], {dout})")
        e("if not math.isfinite(l):")
        e("    bad = s")
        e("    break")
        e("loss_sum += l")
        e(f"hit = is_correct(a{out}, T[k], threshold)")
        e("correct += hit")
        for p in plan.reward_pops:
            e(f"mr{p}[:] = hit")
    else:
        e(f"if not all_finite(a{out}):")
        e("    bad = s")
        e("    break")
    _emit_backward(e, plan, batch=False)
    _emit_updates(e, plan, batch=False)
    e("done += 1")
    e.dedent()
    e("return loss_sum, correct, done, bad")
    e.dedent()


def _transport(plan, q):
    """The matrix that carries dL/dz back across projection q (W or a fixed random B)."""
    for t in q.terms:
        if t.signal == "error" and t.feedback == "random":
            return f"S{t.slot}.B"
    return f"W{q.index}"


def _emit_backward(e, plan, batch):
    out = plan.output
    for p in reversed(plan.order):
        if p not in plan.delta_pops or p == out:
            continue
        slot = plan.direct_slot(p)
        if slot is not None:
            sources = [(f"S{slot}.B", out)]
        else:
            sources = [(_transport(plan, q), q.post) for q in plan.outgoing(p)
                       if q.post in plan.delta_pops]
        if batch:
            e(f"e{p} = np.dot(d{sources[0][1]}, {sources[0][0]})")
            for mat, post in sources[1:]:
                e(f"e{p} += np.dot(d{post}, {mat})")
            e(f"d{p} = np.empty_like(e{p})")
            e(f"act_backward_rows(acts[{p}], a{p}, e{p}, d{p})")
        else:
            e(f"zero(e{p})")
            for mat, post in sources:
                e(f"matvec_t_add({mat}, d{post}, e{p})")
            e(f"act_backward(acts[{p}], a{p}, e{p}, d{p})")


def _emit_updates(e, plan, batch):
    # every kernel first reads the pre-update W; fused terms touch only their own W
    for pp in plan.projections:
        if not pp.deltas:
            continue
        q = pp.index
        target = f"W{q}" if pp.fused else f"dW{q}"
        if not pp.fused:
            e(f"zero(dW{q})")
        bias = f"b{pp.post}" if pp.owns_bias else "nob"
        for t in pp.deltas:
            mod = _mod_name(plan, pp, t, batch)
            args = f"P{t.slot}, S{t.slot}, dt"
            if not batch:
                e(f"k{t.slot}(W{q}, a{pp.pre}, a{pp.post}, {mod}, {args}, {target}, {bias})")
            elif t.batch_kernel is not None:
                e(f"kb{t.slot}(W{q}, a{pp.pre}, a{pp.post}, {mod}, {args}, {target}, {bias})")
            else:
                # mean of per-sample deltas, each read at the same pre-update W
                tmp, tmpb = f"tw{t.slot}", f"tb{t.slot}"
                e(f"{tmp} = np.zeros_like(W{q})")
                e(f"{tmpb} = np.zeros(b{pp.post}.shape[0] if {int(pp.owns_bias)} else 0, dtype)")
                e("for r in range(m):")
                e(f"    k{t.slot}(W{q}, a{pp.pre}[r], a{pp.post}[r], {mod}[r], {args}, {tmp}, {tmpb})")
                e(f"add_scaled({target}, {tmp}, 1.0 / m)")
                if pp.owns_bias:
                    e(f"add_scaled_vec({bias}, {tmpb}, 1.0 / m)")
    for pp in plan.projections:
        q = pp.index
        if pp.needs_buffer:
            e(f"add_into(W{q}, dW{q})")
        for t in pp.constraints:
            mod = _mod_name(plan, pp, t, batch)
            if batch and t.batch_kernel is not None:
                e(f"kb{t.slot}(W{q}, a{pp.pre}, a{pp.post}, {mod}, P{t.slot}, S{t.slot}, dt, W{q}, nob)")
            elif batch:
                e(f"k{t.slot}(W{q}, a{pp.pre}[m - 1], a{pp.post}[m - 1], {mod}[m - 1], P{t.slot}, "
                  f"S{t.slot}, dt, W{q}, nob)")
            else:
                e(f"k{t.slot}(W{q}, a{pp.pre}, a{pp.post}, {mod}, P{t.slot}, S{t.slot}, dt, W{q}, nob)")
        if pp.terms and pp.has_mask:
            e(f"apply_mask(W{q}, M{q})")
        if pp.terms and pp.has_bounds:
            e(f"clip(W{q}, bounds[{q}, 0], bounds[{q}, 1])")


def _emit_batch_forward(e, plan, x="xb"):
    multi = len(plan.inputs) > 1
    for p, off, n in plan.inputs:
        e(f"a{p} = np.ascontiguousarray({x}[:, {off}:{off + n}])" if multi else f"a{p} = {x}")
    for p in plan.order:
        inc = plan.incoming(p)
        e(f"z{p} = np.dot(a{inc[0].pre}, W{inc[0].index}.T)")
        for q in inc[1:]:
            e(f"z{p} += np.dot(a{q.pre}, W{q.index}.T)")
        e(f"add_bias_rows(z{p}, b{p})")
        e(f"a{p} = np.empty_like(z{p})")
        e(f"act_forward_rows(acts[{p}], z{p}, a{p})")
        _emit_settle(e, plan, p, batch=True)


def _emit_minibatch(e, plan):
    e("@jit")
    e("def minibatch(X, T, order, dt, batch_size, Ws, bs, Ms, bounds, params, states, dWs, acts, "
      "steps, loss, threshold):")
    e.indent()
    e("dtype = X.dtype")
    _unpack(e, plan)
    e("nob = np.zeros(0, dtype)")
    e("n = order.shape[0]")
    e("xbuf = np.empty((batch_size, X.shape[1]), dtype)")
    e("tbuf = np.empty((batch_size, T.shape[1]), dtype)")
    e("hits = np.zeros(batch_size, dtype)")
    e("loss_sum = 0.0")
    e("correct = 0")
    e("bad = -1")
    e("done = 0")
    e("for start in range(0, n, batch_size):")
    e.indent()
    e("m = min(batch_size, n - start)")
    e("idx = order[start:start + m]")
    e("if is_run(idx):  # presented in stored order: views, no copies")
    e("    xb = X[idx[0]:idx[0] + m]")
    e("    tb = T[idx[0]:idx[0] + m]")
    e("else:")
    e("    gather_rows(X, idx, xbuf)")
    e("    gather_rows(T, idx, tbuf)")
    e("    xb = xbuf[:m]")
    e("    tb = tbuf[:m]")
    _emit_batch_forward(e, plan)
    out = plan.output
    if plan.loss >= 0:
        dout = f"d{out}" if out in plan.delta_pops else f"dl{out}"
        e(f"{dout} = np.empty_like(a{out})")
        e(f"l = loss_and_delta_rows(loss, acts[{out}], z{out}, a{out}, tb, {dout})")
        e("if not math.isfinite(l):")
        e("    bad = start")
        e("    break")
        e("loss_sum += l")
        e(f"correct += correct_rows(a{out}, tb, threshold, hits)")
        for p in plan.reward_pops:
            e(f"mrb{p} = np.empty((m, b{p}.shape[0]), dtype)")
            e("for r in range(m):")
            e(f"    mrb{p}[r, :] = hits[r]")
    else:
        e(f"if not all_finite(a{out}):")
        e("    bad = start")
        e("    break")
    for p in _zero_mod_pops(plan):
        e(f"mzb{p} = np.zeros((m, b{p}.shape[0]), dtype)")
    _emit_backward(e, plan, batch=True)
    _emit_updates(e, plan, batch=True)
    e("done += m")
    e.dedent()
    e("return loss_sum, correct, done, bad")
    e.dedent()


def _emit_forward(e, plan):
    e("@jit")
    e("def forward(X, Ws, bs, acts, steps):")
    e.indent()
    _unpack(e, plan, learn=False)
    e("xb = np.ascontiguousarray(X)")
    _emit_batch_forward(e, plan)
    acts = ", ".join(f"a{p}" for p in plan.order)
    e(f"return ({acts},), z{plan.output}")
    e.dedent()


_HEADER = """\
# Generated by brainlearn {version}: compiled drivers for one network structure. Do not edit.
import math

import numpy as np

from brainlearn._jit import inline_copy
from brainlearn._jit import jit as _jit
from brainlearn.engine.kernels import (add_bias_rows, add_into, add_scaled, add_scaled_vec, affine,
                                       all_finite, apply_mask, clip, copy_into, copy_vec,
                                       gather_rows, is_run, matvec_add, matvec_t_add, zero)
from brainlearn.network.activations import (act_backward, act_backward_rows, act_forward,
                                            act_forward_rows)
from brainlearn.network.losses import (correct_rows, count_correct_rows, is_correct,
                                       loss_and_delta, loss_and_delta_rows)
"""


def drivers_for(plan: Plan):
    """The module holding ``online``, ``minibatch`` and ``forward`` for ``plan``."""
    body = generate(plan)
    imports, env = _kernel_names(plan)
    if imports is None:
        # a kernel that cannot be imported by name: compile in memory, keyed by identity
        key = (body, tuple(sorted((k, id(v)) for k, v in env.items())))
    else:
        key = (body, tuple(imports))
    return cached(_DRIVERS, key, lambda: _build(body, imports, env))


def _build(body, imports, env):
    inlines = "\n".join(f"{a[5:]} = inline_copy({a})" for a in env if a.startswith("_src_"))
    depends = [kernels.__file__, activations.__file__, losses.__file__]
    return build_module("_bl_driver", _HEADER.format(version=__version__), body, imports, env,
                        depends=depends, memory_lines=inlines)
