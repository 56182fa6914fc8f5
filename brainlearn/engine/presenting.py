"""Showing data samples to a spiking network: ``bl.present`` and ``bl.train`` on spiking nets.

A sample ``x`` (n_inputs values in [0, 1]) is rate-coded: the network's Poisson sources, in
the order they were added, are the input (their sizes sum to n_inputs) and unit k fires at
``x[k] * max_rate`` Hz for ``time`` seconds; then every source falls silent for ``rest``
seconds, so that potentials and conductances relax before the next sample. This is Diehl &
Cook's (2015) protocol: 350 ms per sample, 150 ms of rest, pixel intensity / 4 Hz (63.75 Hz
at full intensity), and when the watched population answers a sample with fewer than
``min_spikes`` spikes, the sample is shown again with ``rate_step`` Hz more at full
intensity (after a rest).

The whole sequence runs on one compiled simulator (:class:`brainlearn.engine.spiking._Sim`),
two calls per sample, with the network's state carried across samples. Learning is on
(``learn=True``: the rules run, adaptive thresholds grow and decay, synaptic normalisation
precedes each sample) or off (``learn=False``: weights, traces and thresholds frozen, for
labelling and testing, as Diehl & Cook test).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..neurons import THETA
from . import spiking as _sp

__all__ = ["Presentation", "Responses", "present"]


@dataclass(frozen=True)
class Presentation:
    """How samples are shown to a spiking network (Diehl & Cook 2015's protocol by default).

    Attributes
    ----------
    time, rest : float
        Seconds a sample is shown, and of silence after it.
    dt : float
        Integration step (seconds); Diehl & Cook's is 0.5 ms.
    max_rate : float
        Rate in Hz of an input of 1.0.
    min_spikes : int
        A sample that draws fewer spikes than this from the watched population is shown
        again, with ``rate_step`` Hz more at full intensity (0: never).
    rate_step : float
    max_retries : int
        At most this many repeats of one sample.
    watch : str or None
        The population whose spikes ``min_spikes`` counts (default: the last spiking
        population a Poisson source projects to).
    """

    time: float = 0.35
    rest: float = 0.15
    dt: float = 5e-4
    max_rate: float = 63.75
    min_spikes: int = 0
    rate_step: float = 31.875
    max_retries: int = 10
    watch: str | None = None

    def __post_init__(self):
        for k in ("time", "dt", "max_rate"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v <= 0:
                raise ValueError(f"Presentation: {k}={v!r}; allowed: a positive number")
        for k in ("rest", "rate_step"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v < 0:
                raise ValueError(f"Presentation: {k}={v!r}; allowed: a number >= 0")
        for k in ("min_spikes", "max_retries"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"Presentation: {k}={v!r}; allowed: an integer >= 0")
        if self.dt > self.time:
            raise ValueError(f"Presentation: dt={self.dt!r} is longer than time={self.time!r}")
        if self.watch is not None and not isinstance(self.watch, str):
            raise ValueError(f"Presentation: watch={self.watch!r}; allowed: a population name "
                             "or None")


@dataclass
class Responses:
    """What :func:`present` returns.

    Attributes
    ----------
    counts : dict
        ``{population: spike counts (n_samples, n)}`` during each sample's (last) showing,
        for every spiking population and spike source (the inputs too).
    max_rate : np.ndarray
        The full-intensity rate each sample was last shown at (Hz).
    repeats : np.ndarray
        How many times each sample was shown again for drawing too few spikes.
    wall_time, simulated : float
        Seconds of wall time, and of simulated time (repeats and rests included).
    """

    counts: dict
    max_rate: np.ndarray
    repeats: np.ndarray
    wall_time: float
    simulated: float


def _inputs(net):
    return [p for p in net.populations if p.activation == "poisson"]


def check_samples(net, x, argname="x") -> np.ndarray:
    """``x`` as a float64 (n, n_inputs) array of values in [0, 1] for the network's Poisson
    inputs, or a one-line error."""
    sources = _inputs(net)
    if not sources:
        raise ValueError("net has no Poisson source to show samples on; add one with "
                         "net.add_poisson(n_inputs, rate=0.0)")
    n_in = sum(p.size for p in sources)
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{argname} must be a numeric array") from None
    if x.ndim == 1 and x.shape[0] == n_in:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != n_in:
        raise ValueError(f"{argname} has shape {x.shape}; allowed: (n_samples, {n_in}) for this "
                         f"network's {n_in} Poisson input units")
    if x.size and not (np.isfinite(x.min()) and np.isfinite(x.max())):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{argname} contains NaN or inf (first at row {bad[0]}, column {bad[1]})")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"{argname} spans [{x.min():g}, {x.max():g}]; allowed: values in [0, 1] "
                         "(scaled to rates by the presentation's max_rate)")
    return np.ascontiguousarray(x)


def watched(net, protocol):
    if protocol.watch is not None:
        for p in net.populations:
            if p.name == protocol.watch:
                if not p.is_spiking:
                    raise ValueError(f"Presentation: watch={protocol.watch!r} is not a spiking "
                                     "population")
                return p
        names = ", ".join(p.name for p in net.populations if p.is_spiking)
        raise ValueError(f"Presentation: watch={protocol.watch!r} is not a population of this "
                         f"network; have: {names}")
    fed = [q.post for q in net.projections if q.pre.activation == "poisson"]
    return fed[-1] if fed else next(p for p in reversed(net.populations) if p.is_spiking)


def frozen_models(net):
    """The neuron vectors with adaptive thresholds frozen (no growth, no decay)."""
    out = []
    for p in net.populations:
        if not p.is_spiking:
            out.append(np.zeros(0))
            continue
        v = p.neuron.values().copy()
        layout = type(p.neuron).layout
        v[1 + layout.index("theta_plus")] = 0.0
        v[1 + layout.index("tau_theta")] = np.inf
        out.append(v)
    return out


def present(net, x, *, protocol=None, learn=True, seed=None, on_sample=None) -> Responses:
    """Show the samples ``x`` to a spiking network one after another; returns the spike
    counts every spiking population gave each sample.

    Parameters
    ----------
    net : Network
        A spiking network whose Poisson sources (``add_poisson``) are its input.
    x : array (n_samples, n_inputs)
        Intensities in [0, 1], rate-coded by ``protocol.max_rate``.
    protocol : Presentation, optional
        Timing and rates (default: Diehl & Cook's, without repeats).
    learn : bool
        True: the rules learn, adaptive thresholds adapt and normalised projections are
        normalised before each sample. False: weights and thresholds stay as they are.
    seed : int or None
        Seeds the input spikes (None: drawn from the network's generator).
    on_sample : callable, optional
        Called as ``on_sample(k)`` after sample k (progress, learning curves).

    Returns
    -------
    Responses
    """
    protocol = Presentation() if protocol is None else protocol
    if not isinstance(protocol, Presentation):
        raise TypeError(f"protocol={protocol!r}; allowed: a bl.Presentation")
    _sp._check(net, protocol.time, protocol.dt, seed)
    x = check_samples(net, x)
    watch = watched(net, protocol)
    sources = _inputs(net)
    cuts = np.cumsum([0] + [p.size for p in sources])
    dt = protocol.dt
    n_show = int(round(protocol.time / dt))
    n_rest = int(round(protocol.rest / dt))
    spiking = [p for p in net.populations if p.is_spiking or p.is_source]
    n = x.shape[0]
    counts = {p.name: np.zeros((n, p.size), np.int64) for p in spiking}
    rates = np.zeros(n)
    repeats = np.zeros(n, np.int64)
    monitor = _sp.Monitor(spikes=False)
    sim = _sp._Sim(net, dt, _sp._seed_from(net, seed), monitor, set(), max(n_show, n_rest))
    P = None if learn else frozen_models(net)
    simulated = 0.0
    start = time.perf_counter()
    for k in range(n):
        rate = protocol.max_rate
        for attempt in range(protocol.max_retries + 1):
            if learn:
                _sp.normalize(net)
            for c in sim.counts:
                c[:] = 0
            for i, p in enumerate(sources):
                sim.set_rate(p, x[k, cuts[i]:cuts[i + 1]] * rate)
            sim.run(n_show, learn=learn, P=P)
            simulated += n_show * dt
            drew = sim.counts[watch.index].sum()
            for q in spiking:  # the counts of the showing, not of the rest
                counts[q.name][k] = sim.counts[q.index]
            if n_rest:
                for p in sources:
                    sim.set_rate(p, 0.0)
                sim.run(n_rest, learn=learn, P=P)
                simulated += n_rest * dt
            if drew >= protocol.min_spikes or attempt == protocol.max_retries:
                break
            rate += protocol.rate_step
            repeats[k] += 1
        rates[k] = rate
        if on_sample is not None:
            on_sample(k)
    return Responses(counts, rates, repeats, time.perf_counter() - start, simulated)

