"""Associative memory: store patterns in recurrent synapses, recall them from cues.

A memory network is an ordinary :class:`~brainlearn.Network` (see
:func:`hopfield_network`): an input population ``cue`` drives a population
``memory`` of binary units (+-1 ``"sign"`` units, or 0/1 ``"step"`` units with a
coding level) one to one, and the recurrent projection ``recurrent`` (memory to
itself) carries a storage rule of the ``memory`` family (``hopfield_hebb``,
``storkey``, ``pseudo_inverse``, ``clipped_hebb``, ``stochastic_binary``,
``cascade``). Storing presents the patterns through the engine exactly as
:func:`brainlearn.train` does; recall runs the compiled Hopfield dynamics of
:mod:`brainlearn.engine.hopfield`.

>>> import brainlearn as bl
>>> net = bl.memory.hopfield_network(200, rule="hopfield_hebb", seed=0)
>>> patterns = bl.memory.random_patterns(10, 200, seed=1)
>>> _ = bl.memory.store(net, patterns)
>>> cues = bl.memory.flip_bits(patterns, 0.1, seed=2)
>>> res = bl.memory.recall(net, cues, mode="async", seed=3)
>>> bool(bl.memory.overlap(res.states, patterns).min() == 1.0)
True
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from . import rules as _rules
from .rules.base import kernel_params
from .network import Network
from .network.core import Projection, check_dtype, check_size

__all__ = ["ALPHA_C", "RecallResult", "hopfield_network", "recurrent", "store", "recall", "energy",
           "overlap", "one_step_flip_fraction", "theory_flip_fraction", "ags_overlap",
           "random_patterns", "flip_bits"]

#: critical load P/N of Hebbian storage in a +-1 Hopfield network (Amit, Gutfreund &
#: Sompolinsky 1985)
ALPHA_C = 0.138

_UNITS = {"pm1": "sign", "binary": "step"}


class RecallResult(NamedTuple):
    """What :func:`recall` returns."""

    #: (n_cues, n) final states, +-1 or 0/1, of the weights' dtype
    states: np.ndarray
    #: (n_cues,) int64: sweeps (asynchronous) or steps (synchronous) run
    steps: np.ndarray
    #: (n_cues,) bool: at temperature 0, a fixed point was reached; at T > 0, the last
    #: sweep changed no unit
    converged: np.ndarray


# -- building ---------------------------------------------------------------------------------------
def hopfield_network(n, rule="hopfield_hebb", *, units="pm1", coding_level=None, threshold=None,
                     seed=None, dtype="float64", **rule_params) -> Network:
    """A network of ``n`` binary units whose recurrent synapses store patterns.

    Parameters
    ----------
    n : int
        Number of units.
    rule : str, LearningRule or rule class
        The storage rule of the recurrent projection (a ``memory``-family rule).
    units : {"pm1", "binary"}
        +-1 units (activation ``"sign"``) or 0/1 units (activation ``"step"``).
    coding_level : float, optional
        Fraction f of active units of the patterns; needed for ``units="binary"``. For
        ``hopfield_hebb`` it sets ``offset = f`` and ``lr = 1 / (f (1 - f))`` (the
        covariance rule of Tsodyks & Feigel'man) unless given.
    threshold : float or array, optional
        Unit thresholds (the population's bias is ``-threshold``). Default 0 for +-1
        units and ``1/2 - f`` for 0/1 units (halfway between the fields of silent and
        active units of a stored pattern under the covariance rule).
    seed : int, optional
        Network seed (initial weights of binary synapses, the rule's random key).
    dtype : {"float64", "float32"}
    **rule_params
        Hyperparameters of a rule given by name.

    Returns
    -------
    Network
        Populations ``cue`` (input) and ``memory``; projections ``drive`` (cue to memory,
        the identity, fixed: a pattern clamps the units while it is stored) and
        ``recurrent`` (memory to memory, the rule; weights start at 0, or at
        ``rule.initial_weights`` for binary synapses; the diagonal is 0).
    """
    n = check_size(n, "n")
    if units not in _UNITS:
        raise ValueError(f"units={units!r} is not a unit type; allowed: {', '.join(_UNITS)}")
    if units == "binary":
        if coding_level is None:
            raise ValueError("units='binary' needs coding_level (the fraction f of active units)")
        f = _check_fraction(coding_level, "coding_level", open_ends=True)
    elif coding_level is not None:
        raise ValueError(f"coding_level={coding_level!r} is for units='binary'; +-1 units have none")
    if isinstance(rule, str) and _rules.get(rule) is _rules.get("hopfield_hebb") and units == "binary":
        rule_params.setdefault("offset", f)
        rule_params.setdefault("lr", 1.0 / (f * (1.0 - f)))
    rule = _rules.make(rule, **rule_params)
    if threshold is None:
        threshold = 0.0 if units == "pm1" else 0.5 - f
    net = Network(seed=seed, dtype=dtype)
    cue = net.add_input(n, name="cue")
    mem = net.add_population(n, activation=_UNITS[units], bias=-np.asarray(threshold, float),
                             name="memory", settle_steps=0)
    net.connect(cue, mem, init=np.eye(n), name="drive")
    init = "zeros"
    if rule is not None and hasattr(rule, "initial_weights"):
        init = rule.initial_weights((n, n), seed=0 if seed is None else seed, dtype=net.dtype)
    net.connect(mem, mem, rule=rule, init=init, name="recurrent")
    return net


def recurrent(target) -> Projection:
    """The recurrent projection of a memory network (a lateral Projection is returned as is)."""
    if isinstance(target, Projection):
        if not target.is_lateral:
            raise ValueError(f"target={target.name!r} goes {target.pre.name!r} -> "
                             f"{target.post.name!r}; allowed: a recurrent (lateral) projection")
        return target
    if isinstance(target, Network):
        lateral = [q for q in target.projections if q.is_lateral]
        named = [q for q in lateral if q.name == "recurrent"]
        if len(named) == 1 or len(lateral) == 1:
            return (named or lateral)[0]
        raise ValueError(f"target network has {len(lateral)} lateral projections and none named "
                         "'recurrent'; pass the projection itself")
    raise TypeError(f"target of type {type(target).__name__} is not supported; allowed: a memory "
                    "Network (hopfield_network) or its recurrent Projection")


# -- storing ----------------------------------------------------------------------------------------
def store(target, patterns, *, one_shot=False, dt=1.0) -> Projection:
    """Store ``patterns`` in the recurrent synapses, one at a time and in order.

    Each pattern clamps the units and the rule's kernel sees ``pre = post = pattern``,
    with the result of :func:`brainlearn.train` on the memory network (``shuffle=False``,
    one epoch): the rule state (a projector, a generator counter, cascade levels) moves
    on, so calling ``store`` again continues an online stream. For a single rule on a
    projection without mask or bounds the kernel is called directly, pattern by pattern
    (each call costs O(n^2), so the Python call is negligible, and the identity drive
    costs nothing); otherwise (chains, masks, bounds) this runs :func:`brainlearn.train`.

    Parameters
    ----------
    target : Network or Projection
        A network from :func:`hopfield_network` or its recurrent projection.
    patterns : array, shape (n_patterns, n) or (n,)
        +-1 (or 0/1) patterns.
    one_shot : bool
        Store all patterns at once through the rule's ``sum_kernel`` (one matrix
        product), for rules whose change reads neither the weights nor a state
        (``hopfield_hebb``): the same weights as online storage, up to rounding.
    dt : float
        Seconds per presentation (the memory rules do not use it).

    Returns
    -------
    Projection
        The recurrent projection (its ``W`` holds the stored patterns).
    """
    proj = recurrent(target)
    net = proj.network
    drive = [q for q in net.incoming(proj.post) if not q.is_lateral]
    if len(net.inputs) != 1 or len(drive) != 1 or drive[0].pre is not net.inputs[0] or \
            drive[0].rule is not None or net.inputs[0].size != proj.post.size:
        raise ValueError(f"projection {proj.name!r} is not in a memory network (one input "
                         "population driving the memory population one to one); build it with "
                         "bl.memory.hopfield_network")
    if proj.rule is None:
        raise ValueError(f"projection {proj.name!r} has no learning rule; nothing can be stored")
    if not isinstance(one_shot, (bool, np.bool_)):
        raise TypeError(f"one_shot={one_shot!r} must be True or False")
    x = _as_states(patterns, proj.post.size, "patterns", net.dtype)
    rule = proj.rule
    simple = isinstance(rule, _rules.LearningRule) and not rule.tags.constraint and \
        proj.mask is None and proj.bounds is None
    if one_shot and not (simple and getattr(rule, "sum_kernel", None) is not None):
        raise ValueError(f"one_shot=True needs a rule whose change reads neither the weights "
                         f"nor a state (hopfield_hebb); {getattr(rule, 'name', rule)!r} on "
                         f"{proj.name!r} stores online (one_shot=False)")
    if not simple:
        from .engine import train
        train(net, (x,), epochs=1, batch_size=1, shuffle=False, dt=dt, quiet=True, driver="online")
        return proj
    from .engine.run import _live_arrays
    _live_arrays(net)  # the live W as the engine would see it (dtype, C order)
    if proj.state is None:
        proj.reset_state()
    proj.refresh_state()
    W, state, params = proj.W, proj.state, kernel_params(rule, net.dtype)
    dtv = net.dtype.type(dt)
    nob = np.zeros(0, net.dtype)
    mod = np.zeros((x.shape[0], x.shape[1]), net.dtype)
    if one_shot:
        # the rule reads neither W nor a state: its summed change goes straight into W
        rule.sum_kernel(W, x, x, mod, params, state, dtv, W, nob)
    else:
        fused = rule.tags.elementwise or rule.tags.in_place
        dW = W if fused else np.zeros_like(W)
        for k in range(x.shape[0]):
            rule.kernel(W, x[k], x[k], mod[k], params, state, dtv, dW, nob)
            if not fused:
                W += dW
                dW[...] = 0
    from .engine.kernels import all_finite
    if not all_finite(W):
        from .engine import DivergenceError
        raise DivergenceError(f"storing diverged: non-finite weights in {proj.name!r}", 0,
                              x.shape[0])
    return proj


# -- recall -------------------------------------------------------------------------------------------
def _weights(target, units, threshold):
    """(W, bias, low value) of a recall target."""
    if isinstance(target, np.ndarray):
        W = target
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(f"W has shape {W.shape}; allowed: a square (n, n) weight matrix")
        dt = check_dtype(W.dtype)
        if units not in (None, *_UNITS):
            raise ValueError(f"units={units!r} is not a unit type; allowed: {', '.join(_UNITS)}")
        low = 0.0 if units == "binary" else -1.0
        th = np.broadcast_to(np.asarray(0.0 if threshold is None else threshold, dt), W.shape[:1])
        return np.ascontiguousarray(W), np.ascontiguousarray(-th), low
    proj = recurrent(target)
    if units is not None or threshold is not None:
        raise ValueError("units and threshold come from the network; give them only with a "
                         "weight array")
    act = proj.post.activation
    if act not in ("sign", "step"):
        raise ValueError(f"population {proj.post.name!r} has activation {act!r}; allowed: 'sign' "
                         "(+-1 units) or 'step' (0/1 units)")
    return np.ascontiguousarray(proj.W), np.ascontiguousarray(proj.post.bias), \
        (-1.0 if act == "sign" else 0.0)


def recall(target, cues, *, mode="async", steps=100, temperature=0.0, seed=0, units=None,
           threshold=None) -> RecallResult:
    """Run the network's dynamics from each cue until a fixed point (or ``steps`` sweeps).

    Parameters
    ----------
    target : Network, Projection or array
        A memory network, its recurrent projection, or an (n, n) weight matrix (then
        ``units`` and ``threshold`` may be given; default +-1 units, threshold 0).
    cues : array, shape (n_cues, n) or (n,)
        Initial states (+-1, or 0/1 for binary units).
    mode : {"async", "sync"}
        ``"async"``: each sweep updates every unit once, in a fresh seeded random order,
        each unit seeing the current state (the energy never rises at T = 0 with
        symmetric W and zero diagonal). ``"sync"``: all units at once (Little dynamics).
    steps : int
        Maximal number of sweeps (async) or steps (sync).
    temperature : float
        0: deterministic (a unit with field exactly 0 keeps its state). > 0: Glauber,
        P(s_i = +1) = 1 / (1 + exp(-2 h_i / T)) for +-1 units, P(s_i = 1) =
        1 / (1 + exp(-h_i / T)) for 0/1 units, with h = W s + bias.
    seed : int
        Key of the counter-based generator (update orders, Glauber draws).

    Returns
    -------
    RecallResult
        ``states`` (n_cues, n), ``steps`` (n_cues,), ``converged`` (n_cues,).
    """
    W, b, low = _weights(target, units, threshold)
    n = W.shape[0]
    if mode not in ("async", "sync"):
        raise ValueError(f"mode={mode!r} is not a recall mode; allowed: async, sync")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps={steps!r} must be an integer >= 1")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or \
            not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature={temperature!r} must be a finite number >= 0")
    key = _check_seed(seed)
    single = np.ndim(cues) == 1
    S = _as_states(cues, n, "cues", W.dtype, low=low).copy()
    m = S.shape[0]
    out_steps = np.zeros(m, np.int64)
    out_conv = np.zeros(m, np.bool_)
    gain = 2.0 if low < 0 else 1.0
    T = float(temperature)
    if mode == "async":
        _async(W, b, S, low, gain, int(steps), T, key, out_steps, out_conv)
    else:
        _sync(W, b, S, low, gain, int(steps), T, key, out_steps, out_conv)
    if single:
        return RecallResult(S[0], out_steps[0], out_conv[0])
    return RecallResult(S, out_steps, out_conv)


def _async(W, b, S, low, gain, steps, T, key, out_steps, out_conv):
    """Asynchronous recall of every row of S on the engine's threads.

    Two phases: (1) the initial fields ``H = S W^T + b`` of all cues (W read once for
    every 6 cues; ranges of rows of W taken by the threads in turn) and the symmetry check
    of W (strips of rows, taken in turn after the fields), then (2) the dynamics, cue
    by cue; the threads take chunks of cues (smaller towards the end) from a shared list,
    so a thread that gets cues needing more sweeps does not hold the other up. A cue's
    trajectory depends only on its own state, fields and random streams, not on the threads.
    """
    import numba

    from .engine.hopfield import FIELD_STATES, async_recall, fields, symmetric_rows
    m, n = S.shape
    threads = max(1, numba.get_num_threads())
    # the fields kernel takes states FIELD_STATES at a time: pad with zero states
    m4 = -(-m // FIELD_STATES) * FIELD_STATES
    S4 = np.zeros((m4, n), S.dtype)
    S4[:m] = S
    H = np.empty((m4, n), S.dtype)
    b = b.astype(S.dtype, copy=False)
    # phase 1 on threads once W is big enough to be worth starting them: the threads take
    # tasks from one list (the fields of a range of rows of W for all cues, then the
    # symmetry check of a strip of rows), so that they finish together
    parts = threads if n * n * max(m4, 8) >= 1 << 22 and n >= 64 * threads else 1
    if parts == 1:
        fields(W, S4, b, H, 0, n)
        sym = symmetric_rows(W, 0, n)
    else:
        n_f = 4 * parts
        tasks = [(fields, k * (n // 4) // n_f * 4, (k + 1) * (n // 4) // n_f * 4 if k < n_f - 1
                  else n) for k in range(n_f)]
        tasks += [(symmetric_rows, r, min(r + SYMMETRY_STRIP, n))
                  for r in range(0, n, SYMMETRY_STRIP)]
        results = []

        def prepare(task):
            fn, r0, r1 = task
            if fn is fields:
                fields(W, S4, b, H, r0, r1)
            else:
                results.append(symmetric_rows(W, r0, r1))  # list.append: atomic

        _share(tasks, prepare, parts)
        sym = all(results)
    WT = W if sym else np.ascontiguousarray(W.T)
    # phase 2: chunks of cues taken from a shared list, shrinking towards the end (a quarter
    # of what is left per thread), so that the threads finish close together
    blocks = max(1, min(threads, m, (m * n * 20) // 200_000))
    args = (WT, H, S, low, gain, steps, T, key, 0, out_steps, out_conv)
    if blocks == 1:
        async_recall(*args, 0, m)
        return
    chunks, c0 = [], 0
    while c0 < m:
        c1 = c0 + max(1, (m - c0) // (4 * blocks))
        chunks.append((c0, c1))
        c0 = c1
    _share(chunks, lambda chunk: async_recall(*args, *chunk), blocks)


def _share(tasks, run, threads):
    """``run(task)`` for every task of the list, on ``threads`` of the engine's threads that
    take the next task as they become free (the kernels release the GIL)."""
    import itertools

    from .engine.run import _run_row_blocks
    taken = itertools.count()  # next() is atomic under the GIL

    def worker(lo, hi):
        k = next(taken)
        while k < len(tasks):
            run(tasks[k])
            k = next(taken)

    _run_row_blocks(worker, threads, threads, ())


#: rows per task of the symmetry check of W on threads (the strips at the top of the
#: triangle are the longest and come first; the last, short ones balance the threads)
SYMMETRY_STRIP = 256


def _sync(W, b, S, low, gain, steps, T, key, out_steps, out_conv):
    """Synchronous recall: one matrix product per step for the rows still running."""
    from .engine.hopfield import sync_step
    prev = S.copy()
    active = np.ones(S.shape[0], np.bool_)
    for t in range(steps):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        Z = np.ascontiguousarray(S[rows] @ W.T)
        sync_step(Z, rows, b, S, prev, low, gain, T, key, 0, t, out_steps, out_conv, active)


def energy(target, states, *, threshold=None) -> np.ndarray:
    """Hopfield energy ``E = -1/2 s^T W s - bias . s`` of each state (float64, (n_states,)).

    ``target`` as in :func:`recall`; ``threshold`` only with a weight array.
    """
    W, b, _ = _weights(target, None, threshold)
    S = _as_states(states, W.shape[0], "states", W.dtype, low=None)
    W64, S64 = W.astype(np.float64, copy=False), S.astype(np.float64, copy=False)
    E = -0.5 * np.einsum("ki,ki->k", S64 @ W64.T, S64) - S64 @ b.astype(np.float64)
    return E[0] if np.ndim(states) == 1 else E


# -- measures ----------------------------------------------------------------------------------------
def overlap(states, patterns, coding_level=None) -> np.ndarray:
    """Row-wise overlap of ``states`` with ``patterns`` (same shape; float64).

    +-1 values: :math:`m = \\frac{1}{n}\\sum_i s_i \\xi_i` (1 for a perfect recall, 0 for
    an unrelated state); other binary values: :math:`1 - 2 d_H / n` (``d_H`` the
    Hamming distance); with ``coding_level`` f (0/1 patterns):
    :math:`\\sum_i (\\xi_i - f) s_i / (n f (1 - f))`.
    """
    S = np.asarray(states, dtype=np.float64)
    X = np.asarray(patterns, dtype=np.float64)
    if S.shape != X.shape or S.ndim not in (1, 2) or S.shape[-1] == 0:
        raise ValueError(f"states has shape {S.shape} and patterns {X.shape}; allowed: equal "
                         "shapes (n,) or (n_patterns, n)")
    n = S.shape[-1]
    if coding_level is not None:
        f = _check_fraction(coding_level, "coding_level", open_ends=True)
        return ((X - f) * S).sum(axis=-1) / (n * f * (1 - f))
    if np.all(np.abs(X) == 1) and np.all(np.abs(S) == 1):
        return (S * X).sum(axis=-1) / n
    return 1.0 - 2.0 * (S != X).sum(axis=-1) / n


def one_step_flip_fraction(target, patterns) -> float:
    """Fraction of the bits of ``patterns`` that one synchronous update flips (T = 0)."""
    X = np.atleast_2d(np.asarray(patterns))
    res = recall(target, X, mode="sync", steps=1)
    return float(np.mean(res.states != X))


def theory_flip_fraction(alpha):
    r"""Signal-to-noise prediction of :func:`one_step_flip_fraction` for Hebbian storage:
    :math:`Q(1/\sqrt{\alpha}) = \frac{1}{2}\mathrm{erfc}(1/\sqrt{2\alpha})`.

    The crosstalk on a bit of a stored pattern is about Gaussian with variance ``alpha = P/N``;
    a bit flips when it outweighs the signal 1 (Hertz, Krogh & Palmer 1991, eq. 2.14).
    ``alpha``: a load (a float back) or an array of loads (an array back), each positive.
    """
    if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        if not alpha > 0 or not math.isfinite(alpha):
            raise ValueError(f"alpha={alpha!r} must be a positive number (the load P/N)")
        return 0.5 * math.erfc(1.0 / math.sqrt(2.0 * alpha))
    try:
        loads = None if isinstance(alpha, bool) else np.asarray(alpha, dtype=float)
    except (TypeError, ValueError):
        loads = None
    if loads is None or loads.ndim == 0 or loads.size == 0 or \
            not (np.isfinite(loads) & (loads > 0)).all():
        raise ValueError(f"alpha={alpha!r} must be a positive number (the load P/N) or an "
                         "array of them")
    return np.vectorize(theory_flip_fraction, otypes=[float])(loads)


def ags_overlap(alpha):
    """Retrieval overlap ``m(alpha)`` of the Hopfield model with Hebbian storage at zero
    temperature (replica-symmetric theory of Amit, Gutfreund & Sompolinsky 1985, 1987).

    With ``y = m / sqrt(2 alpha r)`` the saddle-point equations reduce to (Hertz, Krogh &
    Palmer 1991, sec. 10.2)

    .. math::

        \\sqrt{2\\alpha} = \\frac{\\operatorname{erf}(y)}{y} - \\frac{2}{\\sqrt{\\pi}}
        e^{-y^2}, \\qquad m = \\operatorname{erf}(y),

    whose largest root ``y`` is the retrieval state. The right side has a maximum; above the
    load where ``sqrt(2 alpha)`` exceeds it (``alpha_c ~ 0.138``, ``m ~ 0.967``) there is no
    retrieval solution and NaN is returned.
    """
    from scipy.optimize import brentq, minimize_scalar
    from scipy.special import erf

    def g(y):
        return erf(y) / y - 2.0 / math.sqrt(math.pi) * math.exp(-y * y)

    peak = minimize_scalar(lambda y: -g(y), bounds=(0.1, 5.0), method="bounded",
                           options={"xatol": 1e-12})
    y_peak, g_peak = float(peak.x), float(-peak.fun)
    alphas = np.atleast_1d(np.asarray(alpha, dtype=float))
    out = np.full(alphas.shape, np.nan)
    for k, a in enumerate(alphas):
        if a <= 0:
            out[k] = 1.0
            continue
        target = math.sqrt(2.0 * a)
        if target > g_peak:
            continue
        hi = max(2.0 * y_peak, 2.0 / target)  # g(y) < 1/y, so g(hi) < target
        y = brentq(lambda t, c=target: g(t) - c, y_peak, hi, xtol=1e-14)
        out[k] = float(erf(y))
    return float(out[0]) if np.ndim(alpha) == 0 else out


# -- patterns and cues ---------------------------------------------------------------------------------
def random_patterns(n_patterns, n, *, units="pm1", coding_level=None, seed=None,
                    dtype="float64") -> np.ndarray:
    """Random patterns, shape (n_patterns, n): each unit independently active with
    probability ``coding_level`` (default 1/2); +-1 values (``units="pm1"``) or 0/1."""
    n_patterns = check_size(n_patterns, "n_patterns")
    n = check_size(n, "n")
    if units not in _UNITS:
        raise ValueError(f"units={units!r} is not a unit type; allowed: {', '.join(_UNITS)}")
    f = 0.5 if coding_level is None else _check_fraction(coding_level, "coding_level", True)
    dt = check_dtype(dtype)
    active = np.random.default_rng(_check_seed(seed, allow_none=True)).random((n_patterns, n)) < f
    low = -1.0 if units == "pm1" else 0.0
    return np.where(active, 1.0, low).astype(dt)


def flip_bits(patterns, fraction, *, seed=None, units=None) -> np.ndarray:
    """A copy of ``patterns`` with exactly ``round(fraction * n)`` bits of each row flipped.

    +-1 values are negated, 0/1 values replaced by ``1 - x`` (``units`` is inferred from
    the values when None: any -1 means +-1). The flipped positions are drawn from
    ``seed``, independently per row.
    """
    X = np.array(patterns, copy=True)
    if X.ndim not in (1, 2) or X.shape[-1] == 0 or X.dtype.kind != "f":
        raise ValueError(f"patterns has shape {X.shape} and dtype {X.dtype}; allowed: a float "
                         "array (n,) or (n_patterns, n)")
    frac = _check_fraction(fraction, "fraction", open_ends=False)
    if units is None:
        units = "pm1" if np.any(X == -1) else "binary"
    if units not in _UNITS:
        raise ValueError(f"units={units!r} is not a unit type; allowed: {', '.join(_UNITS)}")
    rows = np.atleast_2d(X)
    n = rows.shape[1]
    k = round(frac * n)
    rng = np.random.default_rng(_check_seed(seed, allow_none=True))
    for r in range(rows.shape[0]):
        idx = rng.choice(n, size=k, replace=False)
        rows[r, idx] = -rows[r, idx] if units == "pm1" else 1 - rows[r, idx]
    return X


# -- checks ------------------------------------------------------------------------------------------
def _check_fraction(value, argname, open_ends):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = 0 < value < 1 if open_ends else 0 <= value <= 1
    if not ok:
        interval = "(0, 1)" if open_ends else "[0, 1]"
        raise ValueError(f"{argname}={value!r} must be a number in {interval}")
    return float(value)


def _check_seed(seed, allow_none=False):
    if seed is None and allow_none:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed={seed!r} must be an integer in [0, 2**32)")
    return int(seed)


def _as_states(values, n, argname, dtype, low=-2.0):
    """A C-contiguous (m, n) array of ``dtype``; with ``low`` given, values must be +-1 or 0/1
    (low -1: +-1 only; low 0: 0/1 only; -2: either)."""
    try:
        X = np.asarray(values)
    except Exception as exc:
        raise TypeError(f"{argname} must be an array, got {type(values).__name__}") from exc
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{argname} has dtype {X.dtype}; allowed: a real numeric dtype")
    X2 = np.atleast_2d(X)
    if X.ndim not in (1, 2) or X2.shape[1] != n or X2.shape[0] == 0:
        raise ValueError(f"{argname} has shape {X.shape}; allowed: (n_patterns, {n}) or ({n},)")
    if low is not None:
        allowed = {-1.0: (-1, 1), 0.0: (0, 1)}.get(low, (-1, 0, 1))
        ok = X2 == allowed[0]
        for v in allowed[1:]:
            ok |= X2 == v
        if not ok.all():
            raise ValueError(f"{argname} has values other than {' or '.join(map(str, allowed))}; "
                             f"allowed: {'+-1' if low == -1 else '0/1' if low == 0 else '+-1 or 0/1'}"
                             " states")
    return np.ascontiguousarray(X2, dtype=dtype)
