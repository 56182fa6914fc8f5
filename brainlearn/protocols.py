"""Stimulation protocols as data, and :func:`apply`, which drives a projection's rule with them.

A :class:`Protocol` is a schedule of presynaptic and postsynaptic spike times and
a duration: every unit that receives it fires at those times. Protocols are
built from the classic induction paradigms of slice physiology and combined::

    import brainlearn as bl
    P = bl.protocols
    tbs = P.tetanus(n_pulses=100, freq=100.0)            # 1 s at 100 Hz; the cell fires with it
    spaced = P.repeat(tbs, n=3, interval=600.0)          # three trains, 10 min apart (onset to onset)
    massed = P.repeat(tbs, n=3, interval=1.0)            # the same three trains back to back
    stdp = P.spike_pairing(n_pairs=60, freq=1.0, delay=0.010)   # post 10 ms after pre, at 1 Hz
    session = stdp + P.silence(3600.0) + P.low_frequency(n_pulses=900, freq=1.0)
    session.duration, session.pre_times, session.post_times
    # anisomycin from 10 min before to 1 h after a weak tetanus (Frey & Morris 1997)
    blocked = P.protein_block(P.silence(600.0) + P.tetanus(21) + P.silence(3600.0))

:func:`apply` runs a protocol through a projection's learning rule in one
compiled loop (see :mod:`brainlearn.engine.protocol_driver`): at every step of
``dt`` seconds the rule's kernel sees, as ``pre[j]`` and ``post[i]``, the number of
spikes unit ``j`` (``i``) fires in that step. Long silent stretches are handed to
the rule's rest kernel instead of being stepped, as :func:`brainlearn.rest` does.
During a protocol's :class:`ProteinBlock` windows, rules that model protein synthesis
(a ``protein_synthesis`` hyperparameter, e.g. ``tag_and_capture``) run with it set to 0.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

import numpy as np

from .rules.base import kernel_params
from .rules.composite import is_chain, rule_terms

__all__ = ["Protocol", "ProteinBlock", "Trace", "tetanus", "low_frequency", "spike_pairing",
           "repeat", "silence", "protein_block", "apply"]


# -- validation -------------------------------------------------------------------------------------
def _real(name, value, *, low=None, low_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r} must be a real number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}={value!r} is not finite; allowed: a finite number")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name}={value!r} is out of range; allowed: {name} "
                         f"{'>' if low_open else '>='} {low:g}")
    return value


def _count(name, value, minimum=1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r} must be an integer")
    if value < minimum:
        raise ValueError(f"{name}={value!r} is out of range; allowed: {name} >= {minimum}")
    return int(value)


def _times(name, values) -> tuple:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name}={values!r} must be a sequence of spike times in seconds")
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{name}={values!r} must be a sequence of spike times in seconds") from None
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has a non-finite spike time; allowed: finite times >= 0 s")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} has the spike time {arr.min()!r}; allowed: times >= 0 s")
    return tuple(float(t) for t in np.sort(arr))


# -- protocols --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProteinBlock:
    """A window of a protocol during which protein synthesis is inhibited.

    The protocol-level counterpart of a protein-synthesis inhibitor in the bath
    (anisomycin or emetine; Frey & Morris 1997, Nature 385:533): from ``start`` to
    ``end`` seconds after the protocol's start, :func:`apply` runs every rule that
    models protein synthesis -- a rule with a ``protein_synthesis`` hyperparameter,
    such as :class:`brainlearn.rules.TagAndCapture` -- with ``protein_synthesis=0``:
    no new proteins are made, those already made decay with their own lifetime. Add
    windows with :func:`protein_block`.

    Parameters
    ----------
    start, end : float
        Seconds from the protocol's start, ``0 <= start < end``.
    """

    start: float
    end: float

    def __post_init__(self):
        start = _real("start", self.start, low=0.0)
        end = _real("end", self.end, low=0.0)
        if end <= start:
            raise ValueError(f"end={end!r} is out of range; allowed: end > start = {start!r} s")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def shifted(self, by) -> "ProteinBlock":
        """The same window ``by`` seconds later."""
        return ProteinBlock(self.start + by, self.end + by)


def _merged(windows) -> tuple:
    """ProteinBlock windows sorted, with overlapping or touching ones joined."""
    out = []
    for w in sorted(windows, key=lambda w: (w.start, w.end)):
        if out and w.start <= out[-1].end:
            out[-1] = ProteinBlock(out[-1].start, max(out[-1].end, w.end))
        else:
            out.append(w)
    return tuple(out)


def _windows(value) -> tuple:
    if isinstance(value, ProteinBlock):
        value = (value,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"protein_blocks={value!r} must be a sequence of ProteinBlock(start, end)")
    out = []
    for w in value:
        if isinstance(w, ProteinBlock):
            out.append(w)
        elif isinstance(w, (tuple, list)) and len(w) == 2:
            out.append(ProteinBlock(*w))
        else:
            raise TypeError(f"protein_blocks has {w!r}; allowed: ProteinBlock(start, end) or "
                            "(start, end) pairs in seconds")
    return _merged(out)


@dataclass(frozen=True, repr=False)
class Protocol:
    """A stimulation schedule: spike times of the stimulated units and a duration.

    Every presynaptic unit that receives the protocol fires at ``pre_times``, every
    postsynaptic one at ``post_times`` (seconds from the protocol's start). Build
    protocols with :func:`tetanus`, :func:`low_frequency`, :func:`spike_pairing`,
    :func:`silence` and :func:`repeat`, join them in sequence with ``+``, and inhibit
    protein synthesis during a stretch with :func:`protein_block`.

    Parameters
    ----------
    pre, post : sequence of float
        Spike times in seconds, >= 0 and before ``duration`` (sorted on construction).
    duration : float
        Length of the protocol in seconds (> every spike time).
    name : str
        A readable description.
    protein_blocks : sequence of ProteinBlock or (start, end) pairs
        Windows during which protein synthesis is inhibited (each ending by ``duration``);
        overlapping windows are joined.
    """

    pre: tuple = ()
    post: tuple = ()
    duration: float = 0.0
    name: str = ""
    protein_blocks: tuple = ()

    def __post_init__(self):
        pre, post = _times("pre", self.pre), _times("post", self.post)
        duration = _real("duration", self.duration, low=0.0)
        last = max(pre[-1:] + post[-1:], default=None)
        if last is not None and last >= duration:
            raise ValueError(f"duration={duration!r} is out of range; allowed: longer than the "
                             f"last spike time {last!r} s")
        if not isinstance(self.name, str):
            raise TypeError(f"name={self.name!r} must be a string")
        windows = _windows(self.protein_blocks)
        if windows and windows[-1].end > duration:
            raise ValueError(f"protein_blocks ends at {windows[-1].end!r} s; allowed: windows "
                             f"within the protocol's duration {duration!r} s")
        object.__setattr__(self, "protein_blocks", windows)
        object.__setattr__(self, "pre", pre)
        object.__setattr__(self, "post", post)
        object.__setattr__(self, "duration", duration)

    @property
    def pre_times(self) -> np.ndarray:
        """Presynaptic spike times (s), sorted."""
        return np.array(self.pre, dtype=np.float64)

    @property
    def post_times(self) -> np.ndarray:
        """Postsynaptic spike times (s), sorted."""
        return np.array(self.post, dtype=np.float64)

    def __add__(self, other):
        """``a + b``: ``b`` starts when ``a`` ends."""
        if not isinstance(other, Protocol):
            return NotImplemented
        shift = self.duration
        return Protocol(self.pre + tuple(t + shift for t in other.pre),
                        self.post + tuple(t + shift for t in other.post),
                        self.duration + other.duration, _join(self.name, other.name),
                        self.protein_blocks + tuple(w.shifted(shift) for w in other.protein_blocks))

    def __repr__(self):
        blocked = "".join(f", protein synthesis blocked {w.start:g}-{w.end:g} s"
                          for w in self.protein_blocks)
        return (f"Protocol({self.name or 'custom'!s}: {len(self.pre)} pre and {len(self.post)} post "
                f"spikes in {self.duration:g} s{blocked})")


def _join(a, b):
    return " + ".join(x for x in (a, b) if x)


def _train(n, freq, argn="n_pulses"):
    n = _count(argn, n)
    freq = _real("freq", freq, low=0.0, low_open=True)
    return n, freq, tuple(k / freq for k in range(n))


def tetanus(n_pulses=100, freq=100.0, *, post=True) -> Protocol:
    """High-frequency stimulation: ``n_pulses`` presynaptic pulses at ``freq`` Hz.

    The pulses are at ``k / freq`` (k = 0..n_pulses-1); the protocol lasts
    ``n_pulses / freq`` seconds, so repeated trains keep the rhythm. With
    ``post=True`` (the default) the postsynaptic cell fires with every pulse, as a
    tetanus strong enough to induce LTP makes it do.

    Parameters
    ----------
    n_pulses : int
        Number of pulses (>= 1).
    freq : float
        Pulse frequency in Hz (> 0).
    post : bool
        Whether the postsynaptic units fire with the pulses.
    """
    n, freq, times = _train(n_pulses, freq)
    post = _flag("post", post)
    return Protocol(times, times if post else (), n / freq,
                    f"tetanus({n} pulses at {freq:g} Hz)")


def low_frequency(n_pulses=900, freq=1.0, *, post=False) -> Protocol:
    """Low-frequency stimulation (LFS): ``n_pulses`` presynaptic pulses at ``freq`` Hz.

    The classic LTD induction protocol (900 pulses at 1 Hz; Dudek & Bear 1992, PNAS
    89:4363). By default only the presynaptic units fire; ``post=True`` makes the
    postsynaptic units fire with every pulse.
    """
    n, freq, times = _train(n_pulses, freq)
    post = _flag("post", post)
    return Protocol(times, times if post else (), n / freq, f"LFS({n} pulses at {freq:g} Hz)")


def spike_pairing(n_pairs=60, freq=1.0, delay=0.010) -> Protocol:
    """Pre/post spike pairs repeated at ``freq`` Hz, the postsynaptic spike ``delay`` s after the pre.

    ``delay = t_post - t_pre``: positive is pre-before-post (the LTP side of STDP),
    negative post-before-pre. Pair ``k`` starts at ``k / freq`` (its first spike
    there); the protocol lasts ``n_pairs / freq`` seconds.

    Parameters
    ----------
    n_pairs : int
        Number of pairs (>= 1).
    freq : float
        Repetition frequency in Hz (> 0).
    delay : float
        ``t_post - t_pre`` in seconds; ``|delay| < 1 / freq``.
    """
    n, freq, starts = _train(n_pairs, freq, "n_pairs")
    delay = _real("delay", delay)
    if abs(delay) >= 1.0 / freq:
        raise ValueError(f"delay={delay!r} is out of range; allowed: |delay| < 1/freq = "
                         f"{1.0 / freq:g} s")
    first = max(0.0, -delay)
    pre = tuple(t + first for t in starts)
    post = tuple(t + delay for t in pre)
    return Protocol(pre, post, n / freq,
                    f"pairing({n} pairs at {freq:g} Hz, delay {delay * 1e3:+g} ms)")


def silence(duration) -> Protocol:
    """``duration`` seconds without spikes (a rest between stimulations)."""
    duration = _real("duration", duration, low=0.0)
    return Protocol((), (), duration, f"silence({duration:g} s)")


def repeat(protocol, n, interval) -> Protocol:
    """``n`` copies of ``protocol``, one starting every ``interval`` seconds (onset to onset).

    A long interval gives *spaced* repetitions, an interval equal to the protocol's
    duration *massed* ones (back to back). The result lasts
    ``(n - 1) * interval + protocol.duration`` seconds.

    Parameters
    ----------
    protocol : Protocol
    n : int
        Number of repetitions (>= 1).
    interval : float
        Seconds from the start of one repetition to the start of the next
        (>= ``protocol.duration``).
    """
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol={protocol!r} must be a Protocol (from tetanus(), "
                        "spike_pairing(), ...)")
    n = _count("n", n)
    interval = _real("interval", interval, low=0.0)
    if interval < protocol.duration:
        raise ValueError(f"interval={interval!r} is out of range; allowed: interval >= the "
                         f"protocol's duration {protocol.duration:g} s (repetitions may not overlap)")
    pre = tuple(t + k * interval for k in range(n) for t in protocol.pre)
    post = tuple(t + k * interval for k in range(n) for t in protocol.post)
    windows = tuple(w.shifted(k * interval) for k in range(n) for w in protocol.protein_blocks)
    return Protocol(pre, post, (n - 1) * interval + protocol.duration,
                    f"{n} x ({protocol.name}) every {interval:g} s", windows)


def protein_block(protocol, start=0.0, end=None) -> Protocol:
    """``protocol`` with protein synthesis inhibited from ``start`` to ``end`` seconds.

    Times are seconds from the protocol's start; ``end=None`` is its end, so
    ``protein_block(P.silence(600) + weak + P.silence(3600))`` blocks synthesis from
    10 min before a weak tetanus to an hour after it, as the anisomycin of Frey &
    Morris (1997) did. See :class:`ProteinBlock` for what :func:`apply` does with it.

    Parameters
    ----------
    protocol : Protocol
    start : float
        Seconds from the protocol's start (>= 0).
    end : float or None
        Seconds from the protocol's start (> start, <= the protocol's duration); None:
        the protocol's duration.
    """
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol={protocol!r} must be a Protocol (from tetanus(), "
                        "silence(), ...)")
    window = ProteinBlock(start, protocol.duration if end is None else end)
    if window.end > protocol.duration:
        raise ValueError(f"end={window.end!r} is out of range; allowed: end <= the protocol's "
                         f"duration {protocol.duration:g} s")
    return Protocol(protocol.pre, protocol.post, protocol.duration, protocol.name,
                    protocol.protein_blocks + (window,))


def _flag(name, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be True or False")
    return bool(value)


# -- running a protocol -----------------------------------------------------------------------------
class Trace:
    """What :func:`apply` recorded.

    Attributes
    ----------
    t : ndarray, shape (n_records,)
        Recording times in seconds from the protocol's start (the first is 0, the
        last the protocol's end).
    W : ndarray, shape (n_records, n_post, n_pre)
        The weights at those times.
    state : dict of str to ndarray
        Every array of the rule state at those times, shape (n_records, ...), by
        field name (for a chain ``"<rule name>.<field>"``). Fields are also
        attributes: ``trace.rho`` is ``trace.state["rho"]``.
    protocol : Protocol
    dt : float
        The step (s).
    stepped : int
        Number of steps of ``dt`` the rule kernels were called for.
    rested : float
        Seconds handed to rest kernels.
    """

    def __init__(self, t, W, state, protocol, dt, stepped, rested):
        self.t, self.W, self.state = t, W, state
        self.protocol, self.dt, self.stepped, self.rested = protocol, dt, stepped, rested

    def __getattr__(self, name):
        state = self.__dict__.get("state", {})
        if name in state:
            return state[name]
        raise AttributeError(f"Trace has no attribute or state field {name!r}; state fields: "
                             f"{', '.join(state) or 'none'}")

    def __repr__(self):
        what = self.protocol.name or "a protocol"
        return (f"Trace({len(self.t)} records over {self.t[-1]:g} s of {what}"
                f"; W{self.W.shape[1:]}, state {list(self.state)})")


def _units(value, n, argname, side):
    """Indices of the units that receive the protocol (int64, unique, sorted)."""
    if value is None:
        return np.arange(n, dtype=np.int64)
    if isinstance(value, slice):
        return np.arange(n, dtype=np.int64)[value]
    if isinstance(value, (bool, str, bytes)):
        raise TypeError(f"{argname}={value!r} must be None, a slice or integer indices of the "
                        f"{side} units")
    arr = np.atleast_1d(np.asarray(value))
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise TypeError(f"{argname}={value!r} must be None, a slice or a 1-D array of integer "
                        f"indices of the {side} units")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(f"{argname}={value!r} is out of range; allowed: indices 0..{n - 1} of "
                         f"the projection's {n} {side} units")
    return np.unique(arr.astype(np.int64))


def _terms(projection):
    """The rules and states of the projection's rule terms, and the field labels of the trace
    (a chain's fields prefixed with the term's name, numbered when a name repeats)."""
    rules, states = list(rule_terms(projection.rule)), list(projection.term_states())
    if not is_chain(projection.rule):
        return rules, states, [""]
    names = [r.name for r in rules]
    labels = [f"{n}#{k}" if names.count(n) > 1 else n for k, n in enumerate(names)]
    return rules, states, [f"{lab}." for lab in labels]


def _spike_steps(times, dt, n_total):
    """Sorted unique steps of the time grid holding the spikes, and the count in each."""
    steps = np.floor(np.asarray(times) / dt + 1e-6).astype(np.int64)
    return np.unique(np.minimum(steps, max(n_total - 1, 0)), return_counts=True)


def _window_steps(protocol, dt, n_total):
    """The protein-block windows as (first, stop) steps of the grid (int64, shape (n, 2);
    a window holds the steps first..stop-1), placed as spikes are (floor of t / dt)."""
    steps = [[min(int(math.floor(w.start / dt + 1e-6)), n_total),
              min(int(math.floor(w.end / dt + 1e-6)), n_total)] for w in protocol.protein_blocks]
    steps = np.array(steps, dtype=np.int64).reshape(-1, 2)
    return steps[steps[:, 1] > steps[:, 0]]


def _blocks(n_total, spikes, n_settle, use_rest, cuts):
    """Blocks (kind, start, stop) of the time grid, split at ``cuts`` (sorted record steps).

    Without rest kernels one stepping block covers everything. With them, each spike
    and the ``n_settle`` steps after it are stepped (overlapping or touching windows
    make one run), and the silent stretches between runs are rest blocks.
    """
    from .engine.protocol_driver import REST, STEP
    if not use_rest:
        edges, kinds = np.array([0, n_total]), np.array([STEP])
    elif spikes.size == 0:
        edges, kinds = np.array([0, n_total]), np.array([REST])
    else:
        ends = np.minimum(spikes + n_settle, n_total)  # non-decreasing, as spikes are sorted
        first = np.flatnonzero(np.r_[True, spikes[1:] > ends[:-1]])  # the first spike of a run
        starts = spikes[first]
        stops = ends[np.r_[first[1:] - 1, spikes.size - 1]]
        edges = np.unique(np.concatenate([[0, n_total], starts, stops]))
        kinds = np.where(np.isin(edges[:-1], starts), STEP, REST)
    all_edges = np.unique(np.concatenate([edges, cuts]))
    kind = kinds[np.searchsorted(edges, all_edges[:-1], side="right") - 1]
    blocks = np.stack([kind, all_edges[:-1], all_edges[1:]], axis=1).astype(np.int64)
    return blocks[blocks[:, 2] > blocks[:, 1]]


def apply(projection, protocol, dt=0.5e-3, pre=None, post=None, record_every=None, rest_dt=1.0,
          settle=0.2) -> Trace:
    """Drive ``projection``'s learning rule with the spike trains of ``protocol``.

    At each step of ``dt`` seconds the rule's kernel (every kernel of a chain) is
    called with ``pre[j]`` / ``post[i]`` the number of spikes unit ``j`` / ``i`` fires
    in that step (0 when it does not receive the protocol) and a zero third
    factor; the deltas are added to ``W``, then constraint rules, the mask and the
    hard bounds are applied, as in training. The whole loop is compiled: no Python
    runs per step.

    Silent stretches: when a rule of the projection has a ``rest_kernel``, the rule
    is stepped for ``settle`` seconds after each spike (so fast traces such as
    calcium decay under the fine step), and the silent time beyond is handed to the
    rest kernels in steps of ``rest_dt`` (rules of a chain without a rest kernel do
    not change there, as in :func:`brainlearn.rest`). A rule without a rest kernel
    is stepped through silent stretches with zero input -- exactly what a
    step-by-step simulation does, so rules whose state moves without input (traces,
    decays) are simulated faithfully.

    Protein-synthesis blocks: inside the protocol's :class:`ProteinBlock` windows
    (placed on the step grid), every rule with a ``protein_synthesis`` hyperparameter
    runs with ``protein_synthesis=0``; other rules are unaffected. A rule whose slow
    dynamics advance in steps (``tag_and_capture``: every ``consolidation_dt`` seconds
    of stimulation) applies the block from its next slow step.

    Parameters
    ----------
    projection : Projection
        A projection with a learning rule that reads ``pre``/``post`` only (rules
        needing an error or a reward cannot be driven by spike trains).
    protocol : Protocol
    dt : float
        Step in seconds (> 0). Spike times are put on this grid (a spike at ``t``
        falls in step ``floor(t / dt)``).
    pre, post : None, slice or array of int
        The presynaptic / postsynaptic units that receive the protocol (None: all).
    record_every : float or None
        Record ``W`` and the rule state every this many seconds (rounded to a
        multiple of ``dt``); None: only at the start and at the end.
    rest_dt : float
        Step of the rest kernels in seconds (> 0).
    settle : float
        Seconds of stepping after each spike before a silent stretch counts as rest (>= 0).

    Returns
    -------
    Trace
        Times, weights and rule state at the recording times. ``projection.W`` and
        ``projection.state`` hold the final values.

    Examples
    --------
    >>> import numpy as np, brainlearn as bl
    >>> net = bl.Network(seed=0)
    >>> x, y = net.add_input(2), net.add_population(1, activation="linear")
    >>> p = net.connect(x, y, rule="hebb", lr=0.25, init=np.zeros((1, 2)))
    >>> trace = bl.protocols.apply(p, bl.protocols.tetanus(4, 100.0), pre=[0])
    >>> trace.W[-1]
    array([[1., 0.]])
    """
    from .engine.protocol_driver import driver_for
    from .engine.run import DivergenceError
    from .network import Projection

    if not isinstance(projection, Projection):
        raise TypeError(f"projection={projection!r} must be a brainlearn Projection")
    if projection.rule is None:
        raise ValueError(f"projection {projection.name!r} has no learning rule; allowed: a "
                         "projection with a rule (connect(..., rule=...))")
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol={protocol!r} must be a Protocol (from bl.protocols.tetanus(), "
                        "spike_pairing(), ...)")
    dt = _real("dt", dt, low=0.0, low_open=True)
    rest_dt = _real("rest_dt", rest_dt, low=0.0, low_open=True)
    settle = _real("settle", settle, low=0.0)
    if record_every is not None:
        record_every = _real("record_every", record_every, low=0.0, low_open=True)
    projection.refresh_state()
    rules, states, prefixes = _terms(projection)
    for r in rules:
        bad = set(r.needs) & {"error", "reward"}
        if bad:
            raise ValueError(f"rule {r.name!r} needs {min(bad)}, which a spike protocol does "
                             "not give; allowed: rules that read pre and post only")
        if r.tags.reads_voltage:
            raise ValueError(f"rule {r.name!r} reads the postsynaptic membrane potential, "
                             "which a spike protocol does not give; run it with bl.simulate "
                             "onto spiking neurons")
    q = projection
    dtype = q.network.dtype
    if q.W.dtype != dtype or not q.W.flags.c_contiguous or not q.W.flags.writeable:
        q.W = np.array(q.W, dtype=dtype, order="C")
    W = q.W
    n_post, n_pre = W.shape
    pre_idx = _units(pre, n_pre, "pre", "presynaptic")
    post_idx = _units(post, n_post, "post", "postsynaptic")

    n_total = max(int(math.ceil(protocol.duration / dt - 1e-6)), 0)
    pre_steps, pre_counts = _spike_steps(protocol.pre, dt, n_total)
    post_steps, post_counts = _spike_steps(protocol.post, dt, n_total)
    if not pre_idx.size:
        pre_steps, pre_counts = pre_steps[:0], pre_counts[:0]
    if not post_idx.size:
        post_steps, post_counts = post_steps[:0], post_counts[:0]
    windows = _window_steps(protocol, dt, n_total)
    params_free = tuple(kernel_params(r, dtype) for r in rules)
    params_blocked = params_free
    if windows.size:
        synthesis = [r for r in rules if "protein_synthesis" in r.get_params()]
        if not synthesis:
            raise ValueError(f"protocol={protocol!r} blocks protein synthesis, but no rule of "
                             f"projection {q.name!r} models it; allowed: a projection whose rule "
                             "has a protein_synthesis hyperparameter (e.g. tag_and_capture)")
        params_blocked = tuple(
            kernel_params(dataclasses.replace(r, protein_synthesis=0.0) if r in synthesis else r,
                          dtype) for r in rules)
    use_rest = any(r.rest_kernel is not None for r in rules)
    spikes = np.union1d(pre_steps, post_steps)
    n_settle = max(int(math.ceil(settle / dt - 1e-9)), 1)
    if record_every is None:
        cuts = np.array([0, n_total], dtype=np.int64)
    else:
        every = max(int(round(record_every / dt)), 1)
        cuts = np.union1d(np.arange(0, n_total, every, dtype=np.int64), [n_total])
    edges = np.union1d(cuts, windows.ravel())  # chunks end at records and window edges
    blocks = _blocks(n_total, spikes, n_settle, use_rest, edges)

    drive = driver_for(rules)
    dW = np.zeros_like(W)
    M = q.mask if q.mask is not None else np.ones((0, 0), dtype)
    lo, hi = (q.bounds if q.bounds is not None else (-np.inf, np.inf))
    buffers = (np.zeros(n_pre, dtype), np.zeros(n_post, dtype), np.zeros(n_post, dtype),
               np.zeros(0, dtype))
    ptr = np.zeros(2, np.int64)
    spike_args = (pre_idx, post_idx, pre_steps, pre_counts.astype(dtype), post_steps,
                  post_counts.astype(dtype), ptr)
    check = not any(r.tags.unstable for r in rules)

    records_t, records_W, records_S = [], [], []

    def record(step):
        records_t.append(step * dt)
        records_W.append(W.copy())
        records_S.append([np.array(v, copy=True) for st in states for v in st])

    record(0)
    stepped, rested = 0, 0
    recorded = set(cuts.tolist())
    bounds_of_chunks = np.searchsorted(blocks[:, 1], edges[1:-1], side="left")
    for chunk in np.split(blocks, bounds_of_chunks):
        if chunk.shape[0] == 0:
            continue
        first = chunk[0, 1]
        blocked = bool(np.any((windows[:, 0] <= first) & (first < windows[:, 1])))
        params = params_blocked if blocked else params_free
        stepped += drive(chunk, dtype.type(dt), dt, dtype.type(rest_dt), rest_dt, W, dW, M,
                         dtype.type(lo), dtype.type(hi), q.mask is not None, q.bounds is not None,
                         *spike_args, *buffers, params, tuple(states))
        rested += int(np.sum((chunk[:, 2] - chunk[:, 1])[chunk[:, 0] == 1]))
        end = int(chunk[-1, 2])
        if check and not np.all(np.isfinite(W)):
            raise DivergenceError(f"projection {q.name!r}: weights became non-finite before "
                                  f"{end * dt:g} s of {protocol.name or 'the protocol'}", 0, end)
        if end in recorded:
            record(end)
    if len(records_t) == 1 and n_total > 0:  # nothing ran (no blocks): still end at the end
        record(n_total)
    labels = [f"{pre}{f}" for pre, st in zip(prefixes, states) for f in st._fields]
    state = {lab: np.stack([rec[k] for rec in records_S]) for k, lab in enumerate(labels)}
    return Trace(np.array(records_t), np.stack(records_W), state, protocol, dt, stepped,
                 rested * dt)
