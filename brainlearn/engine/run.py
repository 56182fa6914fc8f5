"""Training, evaluation and prediction: the Python side of the engine.

``train`` validates the data, builds the plan, fetches the compiled driver and
calls it once per epoch (or per evaluation chunk), so no Python runs per
sample. Divergence (a non-finite loss, activity or weight) raises
:class:`DivergenceError` carrying the epoch and the step, which studies record
as a diverged run.
"""

from __future__ import annotations

import math
import sys
import time
from typing import NamedTuple

import numpy as np

from ..datasets._validate import integer_labels
from ..network.core import set_forward
from ..network.losses import canonical_loss, count_correct_rows, loss_and_delta_rows, loss_code
from .codegen import _segment_term, drivers_for
from .fastpaths import fast_path
from .kernels import block_grams, gather_chunks, gathered_grams, is_run
from ..rules.base import kernel_params
from .plan import make_plan
from . import presenting as _presenting

__all__ = ["train", "evaluate", "predict", "activities", "History", "DivergenceError",
           "default_loss"]


class DivergenceError(FloatingPointError):
    """Training produced NaN or inf.

    Attributes
    ----------
    epoch : int
        Epoch (0-based) in which the divergence was detected.
    step : int
        Number of samples presented (over all epochs) when it was detected.
    """

    def __init__(self, message, epoch, step):
        super().__init__(message)
        self.epoch = epoch
        self.step = step


class History:
    """Metrics recorded during :func:`train`: ``history["loss"]`` etc., one entry per record.

    Records are taken at every epoch end (and every ``eval_every`` samples when given).
    Keys: ``epoch``, ``samples`` (seen so far), ``loss``, ``accuracy`` (training, running
    over the samples since the previous record), ``test_loss``, ``test_accuracy`` (when
    a test split is available), ``wall_time`` (seconds since training started).
    """

    def __init__(self):
        self.records: dict[str, list] = {}

    def append(self, **values):
        n = len(next(iter(self.records.values()), []))
        for k in values:
            if k not in self.records:
                self.records[k] = [math.nan] * n
        for k in self.records:
            self.records[k].append(values.get(k, math.nan))

    def __getitem__(self, key):
        return np.asarray(self.records[key])

    def __contains__(self, key):
        return key in self.records

    def keys(self):
        return self.records.keys()

    def __len__(self):
        return len(next(iter(self.records.values()), []))

    def last(self) -> dict:
        return {k: v[-1] for k, v in self.records.items()} if len(self) else {}

    def __repr__(self):
        return f"History({len(self)} records; last: {self.last()})"


# -- input checking ------------------------------------------------------------------------------
def _rate_network(net):
    if getattr(net, "is_spiking", False):
        raise ValueError("net is a spiking network (spiking populations, spike sources); run it "
                         "with bl.simulate(net, duration, ...), show it samples with "
                         "bl.present(net, x) (spike counts) or bl.train; predict and evaluate "
                         "read rate outputs")


def _as_inputs(net, x, argname="x"):
    _rate_network(net)
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:  # noqa: BLE001
            raise TypeError(f"{argname} must be an array, got {type(x).__name__}") from exc
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{argname} has dtype {x.dtype}; allowed: a real numeric dtype")
    n_in = net.n_inputs
    if x.ndim == 1 and x.shape[0] == n_in:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != n_in:
        raise ValueError(f"{argname} has shape {x.shape}; allowed: (n_samples, {n_in}) for this "
                         f"network's {n_in} input neurons")
    x = np.ascontiguousarray(x, dtype=net.dtype)
    # min and max are NaN when any element is, and infinite when any element is:
    # two fast reductions instead of a boolean copy of the whole array
    if x.size and not (np.isfinite(x.min()) and np.isfinite(x.max())):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{argname} contains NaN or inf (first at row {bad[0]}, column {bad[1]})")
    return x


def _as_targets(net, y, n, argname="y"):
    """Targets as a float (n, n_out) array, plus whether they are class labels."""
    n_out = net.output.size
    y = np.asarray(y)
    if y.dtype.kind == "f" and y.ndim == 1 and n_out > 1:
        # one float per sample for several outputs can only be class labels (0.0 .. 9.0)
        y = integer_labels(argname, y)
    if y.shape[0:1] != (n,):
        raise ValueError(f"{argname} has shape {y.shape}; allowed: ({n},) labels or ({n}, {n_out}) "
                         "targets, one per sample of x")
    if y.dtype.kind in "biu":
        if y.ndim != 1:
            raise ValueError(f"{argname} has integer dtype and shape {y.shape}; allowed: ({n},) labels")
        lo, hi = (int(y.min()), int(y.max())) if n else (0, 0)
        n_cls = max(n_out, 2)
        if lo < 0 or hi >= n_cls:
            raise ValueError(f"{argname} has labels in [{lo}, {hi}]; allowed: 0..{n_cls - 1} for "
                             f"an output of {n_out} neuron(s)")
        if n_out == 1:
            return np.ascontiguousarray(y.reshape(n, 1), dtype=net.dtype), True
        t = np.zeros((n, n_out), dtype=net.dtype)
        t[np.arange(n), y] = 1
        return t, True
    if y.dtype.kind != "f":
        raise TypeError(f"{argname} has dtype {y.dtype}; allowed: integer labels or float targets")
    if y.ndim == 1 and n_out == 1:
        y = y.reshape(n, 1)
    if y.shape != (n, n_out):
        raise ValueError(f"{argname} has shape {y.shape}; allowed: ({n}, {n_out}) targets or ({n},) "
                         "integer labels")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{argname} contains NaN or inf")
    return np.ascontiguousarray(y, dtype=net.dtype), False


def _split(net, data):
    """(x, y, x_test, y_test) from a Dataset, an (x, y) / (x,) tuple or an array."""
    if hasattr(data, "x_train"):
        return data.x_train, data.y_train, getattr(data, "x_test", None), getattr(data, "y_test", None)
    if isinstance(data, tuple):
        if len(data) == 2:
            return data[0], data[1], None, None
        if len(data) == 1:
            return data[0], None, None, None
        raise ValueError(f"data is a tuple of {len(data)} items; allowed: (x,) or (x, y)")
    if isinstance(data, (np.ndarray, list)):
        return data, None, None, None
    raise TypeError(f"data of type {type(data).__name__} is not supported; allowed: a Dataset, "
                    "an (x, y) tuple or an array x")


def default_loss(net) -> str:
    """cross_entropy for softmax outputs, binary_cross_entropy for sigmoid, else mse."""
    return {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}.get(
        net.output.activation, "mse")


def _check_int(value, argname, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{argname}={value!r} must be an integer >= {minimum}")
    return int(value)


# -- the arguments the drivers take ----------------------------------------------------------------
def _live_arrays(net):
    """Check the live parameters (users may have replaced them) and collect them."""
    dt = net.dtype
    for q in net.projections:
        shape = (q.post.size, q.pre.size)
        if getattr(q.W, "shape", None) != shape:
            raise ValueError(f"projection {q.name!r}: W has shape {getattr(q.W, 'shape', None)}; "
                             f"allowed: {shape}")
        if q.W.dtype != dt or not q.W.flags.c_contiguous or not q.W.flags.writeable:
            q.W = np.array(q.W, dtype=dt, order="C")
    for p in net.populations:
        if not p.is_input:
            if getattr(p.bias, "shape", None) != (p.size,):
                raise ValueError(f"population {p.name!r}: bias has shape "
                                 f"{getattr(p.bias, 'shape', None)}; allowed: ({p.size},)")
            if p.bias.dtype != dt or not p.bias.flags.c_contiguous or not p.bias.flags.writeable:
                p.bias = np.array(p.bias, dtype=dt, order="C")
    Ws = tuple(q.W for q in net.projections)
    bs = tuple(p.bias for p in net.populations)
    return Ws, bs


#: samples per block of the block driver (large enough for efficient matrix products, small
#: enough that the Gram products, BLOCK / (2 n_post) of the work, stay small: oja at
#: 784 -> 100 measured 17.4-18.3 G/s with 32 against 15.7-17.4 with 64, alternating runs)
BLOCK = 32
#: samples per segment of the block and segment drivers: their inputs (and the block driver's
#: Gram products, SEGMENT * BLOCK numbers) are made at once
SEGMENT = 4096


class EpochArrays(NamedTuple):
    """What a driver reads and updates for one stretch of an epoch, in one bundle (the
    network's arrays as the plan orders them; ``part``, the samples' order, is given apart)."""

    x: np.ndarray
    T: np.ndarray
    dt: object
    batch_size: int
    Ws: list
    bs: list
    Ms: list
    bounds: list
    params: list
    states: list
    dWs: list
    acts: np.ndarray
    steps: np.ndarray
    n_blocks: int


def choose_driver(plan, batch_size, has_targets, driver="auto") -> str:
    """The driver that trains ``plan`` (one of :data:`DRIVER_NAMES`).

    ``driver`` "online" or "minibatch" is taken as asked. Otherwise minibatches (``batch_size
    > 1``) take the minibatch driver; at batch size 1 a rule's fast path is taken where the plan
    found one -- ``reward_segment`` (a single layer whose rule gives a reward segment kernel)
    with targets, ``block`` (rules that change a row by ``alpha_i W_i + beta_i x``: blocks of
    samples through BLAS), then ``segment`` or ``rows`` (one projection with row-local rules:
    threads own row blocks) without -- and the online driver when there is none.
    """
    if driver != "auto":
        return driver
    if batch_size != 1:
        return "minibatch"
    if has_targets:
        return "reward_segment" if plan.reward_segment >= 0 else "online"
    if plan.block >= 0:
        return "block"
    if plan.rows >= 0:
        return "segment" if _segment_term(plan.projections[plan.rows]) is not None else "rows"
    return "online"


def _online(net, mod, plan, a, part):
    return mod.online(a.x, a.T, part, a.dt, a.Ws, a.bs, a.Ms, a.bounds, a.params, a.states,
                      a.dWs, a.acts, a.steps, plan.loss, plan.threshold)


def _minibatch(net, mod, plan, a, part):
    return mod.minibatch(a.x, a.T, part, a.dt, a.batch_size, a.Ws, a.bs, a.Ms, a.bounds,
                         a.params, a.states, a.dWs, a.acts, a.steps, plan.loss, plan.threshold)


def _block(net, mod, plan, a, part):
    return (0.0, 0) + _block_epoch(mod, plan, a.n_blocks, a.x, part, a.dt, a.Ws, a.bs, a.params,
                                   a.states, a.acts)


def _segment(net, mod, plan, a, part):
    return (0.0, 0) + _segment_epoch(mod, plan, a.n_blocks, a.x, part, a.dt, a.Ws, a.bs,
                                     a.params, a.states, a.acts)


def _rows(net, mod, plan, a, part):
    _run_row_blocks(mod.online_rows, a.n_blocks, a.Ws[plan.rows].shape[0],
                    (a.x, part, a.dt, a.Ws, a.bs, a.Ms, a.bounds, a.params, a.states, a.acts))
    return 0.0, 0, len(part), -1


def _reward_segment(net, mod, plan, a, part):
    return _reward_segment_epoch(net, plan, a.x, a.T, part, a.dt, a.Ws, a.bs, a.params,
                                 a.states, a.acts)


#: every driver has one interface: ``(net, module, plan, arrays, part) -> (summed loss,
#: correct, samples done, step of divergence or -1)``
_DRIVERS = {"online": _online, "minibatch": _minibatch, "block": _block, "segment": _segment,
            "rows": _rows, "reward_segment": _reward_segment}
#: the drivers :func:`choose_driver` picks from
DRIVER_NAMES = tuple(_DRIVERS)


def _segment_inputs(x, idx, n_threads):
    """``x[idx]`` for one segment: a view when ``idx`` is a run of consecutive samples, else
    gathered on the engine's threads."""
    if is_run(idx):
        return x[idx[0]:idx[0] + len(idx)]
    X = np.empty((len(idx), x.shape[1]), x.dtype)
    n_chunks = -(-len(idx) // BLOCK)
    _run_row_blocks(gather_chunks, min(n_threads, n_chunks), n_chunks, (x, idx, X, BLOCK))
    return X


def _segment_epoch(mod, plan, n_blocks, x, part, dtv, Ws, bs, params, states, acts):
    """A rule's segment kernel over ``part``: each segment's inputs are gathered once and
    shared by the threads, which own row ranges. Returns (samples done, step of divergence
    or -1)."""
    import numba
    n_rows = Ws[plan.rows].shape[0]
    n_threads = max(1, numba.get_num_threads())
    with _blas_threads(1):  # the kernel's matrix products run on the engine's threads
        for s0 in range(0, len(part), SEGMENT):
            X = _segment_inputs(x, part[s0:s0 + SEGMENT], n_threads)
            res = _run_row_blocks(mod.online_segment, n_blocks, n_rows,
                                  (X, dtv, Ws, bs, params, states, acts))
            bads = [r for r in res if r >= 0]
            if bads:
                return s0 + min(bads), s0 + min(bads)
    return len(part), -1


def _reward_segment_epoch(net, plan, x, T, part, dtv, Ws, bs, params, states, acts):
    """A rule's reward segment kernel over ``part``, segment by segment (inputs and targets
    gathered once per segment; the kernel runs threads of its own). Returns (summed loss,
    samples rewarded, samples done, step of divergence or -1)."""
    import numba
    import numba.core.errors as nerr
    pp = plan.projections[plan.reward_segment]
    t = pp.terms[0]
    q = net.projections[pp.index]
    rule = q.chain.rules[0]
    segment = fast_path(rule).reward_segment
    W, b = Ws[pp.index], bs[pp.post]
    n_threads = max(1, numba.get_num_threads())
    out = np.zeros(2)
    with _blas_threads(1):  # the kernel's matrix products run on its own threads
        for s0 in range(0, len(part), SEGMENT):
            idx = part[s0:s0 + SEGMENT]
            X = _segment_inputs(x, idx, n_threads)
            Tt = _segment_inputs(T, idx, n_threads)
            try:
                bad = segment(W, b, X, Tt, acts[pp.post], plan.loss, plan.threshold,
                              params[t.slot], states[t.slot], dtv, out)
            except nerr.NumbaError as exc:
                raise TypeError(f"rule {rule.name or type(rule).__name__!r} on projection "
                                f"{q.name!r}: Numba cannot compile its reward_segment fast path:"
                                f"\n{exc}") from None
            if bad >= 0:
                return out[0], int(out[1]), s0 + bad, s0 + bad
    return out[0], int(out[1]), len(part), -1


def _block_epoch(mod, plan, n_blocks, x, part, dtv, Ws, bs, params, states, acts):
    """The block driver over ``part``, segment by segment: the segment's inputs (and the
    directions of a rule with a ``direction`` fast path) are gathered, the Gram products of
    its chunks computed once on the engine's threads, then row ranges run on the threads.
    Returns (samples done, step of divergence or -1)."""
    import numba
    n_rows = Ws[plan.block].shape[0]
    has_direction = hasattr(mod, "block_directions")
    n_threads = max(1, numba.get_num_threads())
    G = None
    done = 0
    with _blas_threads(1):
        for s0 in range(0, len(part), SEGMENT):
            idx = part[s0:s0 + SEGMENT]
            n_chunks = -(-len(idx) // BLOCK)
            if G is None:
                G = np.empty((n_chunks, BLOCK, BLOCK), x.dtype)
            n_par = min(n_threads, n_chunks)
            if has_direction:
                X = _segment_inputs(x, idx, n_threads)
                D = np.empty_like(X)
                mod.block_directions(X, dtv, params, states, D)
                _run_row_blocks(block_grams, n_par, n_chunks, (X, D, BLOCK, G))
            elif is_run(idx):  # samples in order: a view, no copy
                X = D = x[idx[0]:idx[0] + len(idx)]
                _run_row_blocks(block_grams, n_par, n_chunks, (X, D, BLOCK, G))
            else:  # each thread gathers its chunks and makes their Gram products
                X = D = np.empty((len(idx), x.shape[1]), x.dtype)
                _run_row_blocks(gathered_grams, n_par, n_chunks, (x, idx, X, BLOCK, G))
            if n_blocks == 1:
                res = [mod.online_block(X, D, G, dtv, Ws, bs, params, states, acts, BLOCK, 0,
                                        n_rows)]
            else:
                res = _run_row_blocks(mod.online_block, n_blocks, n_rows,
                                      (X, D, G, dtv, Ws, bs, params, states, acts, BLOCK))
            bads = [r[1] for r in res if r[1] >= 0]
            if bads:
                return done + min(r[0] for r in res), s0 + min(bads)
            done += len(X)
    return done, -1


class _compile_guard:
    """Turn a Numba compilation failure of the driver into an error that names the rule.

    When the generated driver does not compile, each rule kernel is compiled alone (by
    calling it once on copies of its real arguments) to find the culprit, and Numba's
    message is quoted.
    """

    def __init__(self, net, plan):
        self.net, self.plan = net, plan

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        import numba.core.errors as nerr
        if exc is None or not isinstance(exc, nerr.NumbaError):
            return False
        for q in self.net.projections:
            for r, st in zip(q.chain.rules, q.states):
                err = _try_kernel(r, q, st)
                if err is not None:
                    raise TypeError(f"rule {r.name or type(r).__name__!r} on projection {q.name!r}: "
                                    f"Numba cannot compile its kernel:\n{err}") from None
        return False


def _try_kernel(rule, proj, state):
    """None if ``rule.kernel`` compiles and runs on copies of real arguments, else the message."""
    import copy

    import numba.core.errors as nerr
    W = proj.W.copy()
    dt = W.dtype
    z = np.zeros
    args = (W, z(W.shape[1], dt), z(W.shape[0], dt), z(W.shape[0], dt), kernel_params(rule, dt),
            copy.deepcopy(state), dt.type(1.0), z(W.shape, dt), z(0, dt))
    try:
        rule.kernel(*args)
    except nerr.NumbaError as exc:
        import re
        return re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # drop terminal colours
    except Exception:  # noqa: BLE001 - a run-time failure is not a compile failure
        return None
    return None


_POOL = None


def _run_row_blocks(fn, n_blocks, n_rows, args):
    """Run ``fn(*args, lo, hi)`` on disjoint row blocks, on threads (the kernels release the GIL)."""
    global _POOL
    bounds = [(k * n_rows // n_blocks, (k + 1) * n_rows // n_blocks) for k in range(n_blocks)]
    if n_blocks == 1:
        return [fn(*args, 0, n_rows)]
    if _POOL is None or _POOL._max_workers < n_blocks:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(max_workers=n_blocks, thread_name_prefix="brainlearn-rows")
    futures = [_POOL.submit(fn, *args, lo, hi) for lo, hi in bounds[1:]]
    first = fn(*args, *bounds[0])
    return [first] + [f.result() for f in futures]


_BLAS = None


class _blas_threads:
    """Limit the BLAS library's threads inside the block (the engine's own threads own row
    ranges, and BLAS threads that wait on each other inside small products are slow on a
    busy machine). A no-op without threadpoolctl."""

    def __init__(self, n):
        self.n = n
        self.ctx = None

    def __enter__(self):
        global _BLAS
        if _BLAS is None:
            try:
                import scipy.linalg.cython_blas  # noqa: F401 - the BLAS Numba calls: load it first
                from threadpoolctl import ThreadpoolController
                _BLAS = ThreadpoolController()
            except Exception:  # noqa: BLE001 - optional: without it BLAS keeps its threads
                _BLAS = False
        if _BLAS:
            self.ctx = _BLAS.limit(limits=self.n, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.restore_original_limits()
        return False


def _row_blocks(net, plan):
    """Threads for the row-parallel driver: one block of rows each, none for tiny layers
    (starting threads costs more than it saves below about 20k synapses), except when a
    rule's segment kernel runs the rows (one call per thread per segment of samples)."""
    import numba
    k = plan.rows if plan.rows >= 0 else plan.block
    q = net.projections[k]
    if q.W.size < 20_000 and _segment_term(plan.projections[k]) is None:
        return 1
    return max(1, min(numba.get_num_threads(), q.post.size))


def _settle_steps(net):
    return np.array([p.settle_steps for p in net.populations], dtype=np.int64)


def _driver_args(net, plan):
    dt = net.dtype
    Ws, bs = _live_arrays(net)
    empty2 = np.zeros((0, 0), dt)
    Ms = tuple(q.mask if q.mask is not None else empty2 for q in net.projections)
    bounds = np.array([q.bounds if q.bounds is not None else (-np.inf, np.inf)
                       for q in net.projections], dtype=dt).reshape(-1, 2)
    params, states = [], []
    for q in net.projections:
        rules = q.chain.rules
        if not rules:
            continue
        q.refresh_state()
        for r, s in zip(rules, q.states):
            params.append(kernel_params(r, dt))
            states.append(s)
    dWs = tuple(np.zeros_like(q.W) if pp.needs_buffer else empty2
                for q, pp in zip(net.projections, plan.projections))
    return Ws, bs, Ms, bounds, tuple(params), tuple(states), dWs


# -- public API -------------------------------------------------------------------------------------
def train(net, data, *, epochs=1, batch_size=1, loss=None, shuffle=True, seed=None, dt=1.0,
          eval_every=None, quiet=None, driver="auto", presentation=None) -> History:
    """Train ``net`` on ``data`` with the learning rules attached to its projections.

    Parameters
    ----------
    net : Network
    data : Dataset, (x, y), (x,) or x
        ``x`` of shape (n, n_inputs); ``y`` integer labels (n,) (integral floats such as
        ``0.0 .. 9.0`` too, for an output of several units) or float targets
        (n, n_out). ``y`` may be omitted when no rule needs an error signal.
        A Dataset's test split is evaluated at every record.
    epochs : int
        Passes over the data.
    batch_size : int
        1 runs the online driver (one compiled call per epoch); larger values the
        minibatch driver (BLAS products, mean update per batch).
    loss : str, optional
        ``mse``, ``binary_cross_entropy`` or ``cross_entropy``; default from the output
        activation (softmax: cross_entropy, sigmoid: binary_cross_entropy, else mse).
    shuffle : bool
        Present samples in a new random order each epoch (drawn from ``seed``).
    seed : int, optional
        Seed of the presentation order; defaults to the network's seed.
    dt : float
        Simulated time per presentation in seconds, passed to the rule kernels.
    eval_every : int, optional
        Also record metrics every this many samples (learning curves).
    quiet : bool, optional
        Hide the progress bar; by default it shows only when stderr is a terminal.
    driver : {"auto", "online", "minibatch"}
        Force a driver ("minibatch" with ``batch_size=1`` is the reference for
        the online driver). With "auto", a single projection whose rules are all
        ``row_local``, trained without targets, runs row blocks on separate threads
        for the whole epoch (the same result as "online", bit for bit); one whose
        rules all give an ``affine`` fast path (Hebb, Oja, BCM, weight decay) runs
        blocks of samples through matrix products instead (online learning all the
        same -- every sample sees the weights left by the one before -- equal to
        "online" up to rounding).
    presentation : Presentation, optional
        On a spiking network (Poisson inputs, spiking populations): how each sample is
        shown (time, rest, integration step, rates; :class:`brainlearn.Presentation`,
        default Diehl & Cook's protocol). ``bl.train`` then runs :func:`brainlearn.present`
        with learning on, one sample after another; ``y`` is not used, ``batch_size``,
        ``loss``, ``dt`` and ``driver`` do not apply, and the history records per record
        the samples seen, the wall time, ``spikes`` (the watched population's mean spike
        count per sample) and ``repeats`` (the fraction of samples shown again).

    Returns
    -------
    History

    Raises
    ------
    DivergenceError
        When the loss, the output activity or a weight becomes NaN or inf.
    """
    epochs = _check_int(epochs, "epochs", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    if eval_every is not None:
        eval_every = _check_int(eval_every, "eval_every", 1)
    if seed is not None:
        _check_int(seed, "seed", 0)
    if getattr(net, "is_spiking", False):
        for name, value, default in (("batch_size", batch_size, 1), ("loss", loss, None),
                                     ("dt", dt, 1.0), ("driver", driver, "auto")):
            if value != default:
                raise ValueError(f"{name}={value!r} does not apply to a spiking network; its "
                                 "samples are shown as presentation=bl.Presentation(...) says")
        return _train_spiking(net, data, epochs, shuffle, seed, presentation, eval_every, quiet)
    if presentation is not None:
        raise ValueError("presentation= applies to spiking networks; this one is a rate network")
    if driver not in ("auto", "online", "minibatch"):
        raise ValueError(f"driver={driver!r}; allowed: auto, online, minibatch")
    if driver == "online" and batch_size != 1:
        raise ValueError(f"driver='online' needs batch_size=1, got {batch_size}")
    if not (isinstance(dt, (int, float, np.floating)) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt={dt!r} must be a finite number > 0 (seconds)")
    x, y, x_test, y_test = _split(net, data)
    x = _as_inputs(net, x)
    n = x.shape[0]
    if n == 0:
        raise ValueError("x has no samples")
    signals = [(q.name, s) for q in net.projections for r in q.chain.rules
               for s in ("error", "reward") if s in r.needs]
    if loss is None:
        loss = default_loss(net)
    loss = canonical_loss(loss)
    if y is None:
        if signals:
            raise ValueError(f"y is required: projection {signals[0][0]!r} has a rule that needs "
                             f"{'an' if signals[0][1] == 'error' else 'a'} {signals[0][1]} signal")
        T, labels = np.zeros((n, 0), net.dtype), False
        plan, mod = _plan_and_driver(net, None)
    else:
        T, labels = _as_targets(net, y, n)
        plan, mod = _plan_and_driver(net, loss)
    test = None
    if x_test is not None and y_test is not None and len(x_test):
        test = (_as_inputs(net, x_test, "x_test"), y_test)
    Ws, bs, Ms, bounds, params, states, dWs = _driver_args(net, plan)
    dtv = net.dtype.type(dt)
    acts = np.array(plan.activations, dtype=np.int64)
    steps = _settle_steps(net)
    rng = np.random.default_rng(net.seed if seed is None else seed)
    chosen = choose_driver(plan, batch_size, y is not None, driver)
    threaded = chosen in ("rows", "segment") or (chosen == "block" and plan.block_threads)
    arrays = EpochArrays(x, T, dtv, batch_size, Ws, bs, Ms, bounds, params, states, dWs, acts,
                         steps, _row_blocks(net, plan) if threaded else 1)
    run_part = _DRIVERS[chosen]
    record_acc = labels or loss != "mse"

    history = History()
    chunk = eval_every or n
    check_compiles = _compile_guard(net, plan)
    bar = _progress(epochs * n, quiet)
    t0 = time.perf_counter()
    seen = 0
    try:
        for epoch in range(epochs):
            order = rng.permutation(n) if shuffle else np.arange(n)
            order = order.astype(np.int64)
            start = 0
            while start < n:
                # records fall on multiples of eval_every across epochs, and at epoch ends
                stop = min(n, start + (chunk - seen % chunk if eval_every else n))
                part = order[start:stop]
                with check_compiles:
                    res = run_part(net, mod, plan, arrays, part)
                loss_sum, correct, done, bad = res
                if bad >= 0:
                    raise DivergenceError(
                        f"training diverged in epoch {epoch} at step {seen + bad}: non-finite "
                        f"{'loss' if plan.loss >= 0 else 'output activity'}",
                        epoch, seen + bad)
                seen += done
                start = stop
                if not all(np.isfinite(W).all() for W in Ws) or \
                        not all(np.isfinite(b).all() for b in bs):
                    raise DivergenceError(
                        f"training diverged in epoch {epoch}: non-finite weights by step {seen}",
                        epoch, seen)
                if bar is not None:
                    bar.update(done)
                if stop == n or (eval_every and seen % eval_every == 0):
                    rec = {"epoch": epoch + stop / n, "samples": seen,
                           "wall_time": time.perf_counter() - t0}
                    if plan.loss >= 0:
                        rec["loss"] = loss_sum / done
                        if record_acc:
                            rec["accuracy"] = correct / done
                    if test is not None:
                        m = _evaluate_arrays(net, test[0], test[1], loss)
                        rec["test_loss"] = m["loss"]
                        if "accuracy" in m:
                            rec["test_accuracy"] = m["accuracy"]
                    history.append(**rec)
    finally:
        if bar is not None:
            bar.close()
    return history


def _train_spiking(net, data, epochs, shuffle, seed, protocol, eval_every, quiet):
    x = _split(net, data)[0]
    x = _presenting.check_samples(net, x)
    protocol = _presenting.Presentation() if protocol is None else protocol
    if not isinstance(protocol, _presenting.Presentation):
        raise TypeError(f"presentation={protocol!r}; allowed: a bl.Presentation")
    n = x.shape[0]
    if n == 0:
        raise ValueError("x has no samples")
    rng = np.random.default_rng(net.seed if seed is None else seed)
    watched = _presenting.watched(net, protocol)
    history = History()
    chunk = eval_every or n
    bar = _progress(epochs * n, quiet, at_least=500)
    t0 = time.perf_counter()
    seen = 0
    try:
        for epoch in range(epochs):
            order = rng.permutation(n) if shuffle else np.arange(n)
            start = 0
            while start < n:
                stop = min(n, start + (chunk - seen % chunk if eval_every else n))
                part = order[start:stop]
                r = _presenting.present(net, x[part], protocol=protocol, learn=True,
                                        seed=int(rng.integers(2**63)))
                if not all(np.isfinite(q.W).all() for q in net.projections):
                    raise DivergenceError(f"training diverged in epoch {epoch}: non-finite "
                                          f"weights by sample {seen + len(part)}", epoch,
                                          seen + len(part))
                seen += len(part)
                start = stop
                if bar is not None:
                    bar.update(len(part))
                history.append(epoch=epoch + stop / n, samples=seen,
                               wall_time=time.perf_counter() - t0,
                               spikes=float(r.counts[watched.name].sum(axis=1).mean()),
                               repeats=float((r.repeats > 0).mean()))
    finally:
        if bar is not None:
            bar.close()
    return history


def _progress(total, quiet, at_least=50_000):
    if quiet is None:
        quiet = not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    if quiet or total < at_least:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="sample", unit_scale=True, leave=False, desc="train")


def _plan_and_driver(net, loss, learn=True):
    """The plan and compiled driver module for ``net``, cached on the network.

    The key covers the structure (``net._version``) and the identity of every rule
    (rules are frozen; the cached value holds them, so their ids are not reused).
    """
    rules = tuple(q.rule for q in net.projections) if learn else ()
    key = (net._version, loss, learn, tuple(map(id, rules)))
    cache = net.__dict__.setdefault("_plan_cache", {})
    hit = cache.get(key)
    if hit is None:
        plan = make_plan(net, loss, learn=learn)
        hit = (plan, drivers_for(plan), rules)
        if len(cache) > 16:
            cache.clear()
        cache[key] = hit
    return hit[0], hit[1]


def _forward_all(net, x, batch_size=1024):
    plan, mod = _plan_and_driver(net, None, learn=False)
    Ws, bs = _live_arrays(net)
    codes = np.array(plan.activations, dtype=np.int64)
    steps = _settle_steps(net)
    outs, zs = [], []
    for s in range(0, x.shape[0], batch_size):
        acts, z = mod.forward(x[s:s + batch_size], Ws, bs, codes, steps)
        outs.append(acts)
        zs.append(z)
    return plan, outs, zs


def predict(net, x, batch_size=1024) -> np.ndarray:
    """Output activities, shape (n, n_out), for inputs ``x`` (n, n_inputs)."""
    batch_size = _check_int(batch_size, "batch_size", 1)
    x = _as_inputs(net, x)
    plan, outs, _ = _forward_all(net, x, batch_size)
    k = plan.order.index(plan.output)
    if not outs:
        return np.zeros((0, net.output.size), net.dtype)
    return np.concatenate([o[k] for o in outs])


def activities(net, x, batch_size=1024) -> dict:
    """Activities of every population, ``{name: (n, size) array}`` (inputs included)."""
    x = _as_inputs(net, x)
    plan, outs, _ = _forward_all(net, x, batch_size)
    res = {}
    for p, off, size in plan.inputs:
        res[net.populations[p].name] = x[:, off:off + size].copy()
    for k, p in enumerate(plan.order):
        res[net.populations[p].name] = np.concatenate([o[k] for o in outs]) if outs else \
            np.zeros((0, plan.sizes[p]), net.dtype)
    return res


set_forward(predict=predict, activities=activities)


def _evaluate_arrays(net, x, y, loss, batch_size=1024):
    plan, outs, zs = _forward_all(net, x, batch_size)
    k = plan.order.index(plan.output)
    a = np.concatenate([o[k] for o in outs])
    z = np.concatenate(zs)
    T, labels = _as_targets(net, y, x.shape[0])
    delta = np.empty_like(a)
    total = loss_and_delta_rows(loss_code(loss), plan.activations[plan.output], z, a, T, delta)
    out = {"loss": float(total) / max(1, x.shape[0])}
    if labels or loss != "mse":
        out["accuracy"] = count_correct_rows(a, T, plan.threshold) / max(1, x.shape[0])
    return out


def evaluate(net, data, *, loss=None, batch_size=1024) -> dict:
    """Loss and accuracy of ``net``: on the test split of a Dataset, or on ``(x, y)``.

    Returns ``{"loss": float, "accuracy": float}`` (accuracy for class labels or
    classification losses only).
    """
    batch_size = _check_int(batch_size, "batch_size", 1)
    _rate_network(net)
    if hasattr(data, "x_test"):
        x, y = data.x_test, data.y_test
    else:
        x, y, _, _ = _split(net, data)
        if y is None:
            raise ValueError("evaluate needs targets: pass (x, y) or a Dataset")
    loss = canonical_loss(loss if loss is not None else default_loss(net))
    from ..network.losses import check_loss_activation
    check_loss_activation(loss, net.output.activation)
    x = _as_inputs(net, x)
    return _evaluate_arrays(net, x, y, loss, batch_size)
