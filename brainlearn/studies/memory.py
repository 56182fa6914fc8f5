"""The ``memory`` study: attractor memories that store, recall and forget patterns.

Patterns are stored in the recurrent synapses of a population of +-1 units with Hopfield
dynamics (:mod:`brainlearn.memory`) and recalled from cues: a stored pattern with a fraction
``cue_noise`` of its bits flipped, run to a fixed point (asynchronous updates in a seeded
random order by default; ``recall_mode``, ``recall_steps``, ``temperature``). The quality of a
recall is the overlap of the final state with the pattern,
``m = (1/N) sum_i xi_i s_i`` (1: perfect; about 0 for an unrelated state), and a pattern counts
as recalled when ``m >= 0.95`` (:data:`RECALLED`). Two parts (``parts``):

``capacity`` (task ``capacity``)
    A network of ``n_neurons`` units stores random patterns one after the other; each time the
    number stored reaches ``P = round(load * N)`` for a load in ``loads``, up to ``max_cues``
    of the stored patterns (evenly spread over the storage order) are recalled from noisy cues.
    The patterns of a smaller load are the first of a larger one (nested sets, one network per
    run): every rule here stores incrementally, so this equals storing each set afresh. Rows
    per load: ``overlap`` (mean over the cues), ``recalled_fraction`` (fraction of cues with
    ``m >= 0.95``) and ``one_step_flip_fraction`` (fraction of the bits of all stored patterns
    that one synchronous step from the pattern itself flips:
    :func:`brainlearn.memory.one_step_flip_fraction`). Theory drawn in the figure: the
    capacity ``alpha_c = 0.138`` of Hebbian storage (Amit, Gutfreund & Sompolinsky 1985), the
    retrieval overlap of the replica-symmetric theory below it (:func:`ags_overlap`), and the
    one-step flip fraction ``Q(1/sqrt(alpha))`` (Gaussian crosstalk of variance ``alpha``;
    Hertz, Krogh & Palmer 1991, ch. 2).
``palimpsest`` (task ``palimpsest``)
    For each size ``N`` in ``palimpsest_sizes``, a network first stores ``burn_in * N`` random
    patterns (:meth:`MemoryConfig.burn_in_length`): bounded synapses reach their steady state,
    and every rule that does not forget is past its capacity (Hebb at 0.138 N, Storkey and the
    pseudo-inverse below N). Then it stores a tracked stream of ``L`` patterns
    (:meth:`MemoryConfig.stream_length`), online, one at a time, and afterwards each pattern of
    the stream is recalled from a noisy cue. A pattern's *age* is the number of patterns stored
    from it to the end (1: the newest). Rows per age: ``overlap`` and ``recalled_fraction`` (0
    or 1 for one pattern; the mean over seeds is the probability of recall); one row per N:
    ``lifetime``, the number of stream patterns recalled, ``sum_a R(a)``. When recall falls
    from 1 to 0 with age this is the age where it falls (the age of 50% recall when the fall is
    symmetric); a lifetime equal to ``L`` is censored (the whole stream was recalled). Rules
    without forgetting (``hopfield_hebb``, ``storkey``, ``pseudo_inverse``) are overloaded and
    recall nothing, new patterns included (the blackout catastrophe). Palimpsests (bounded
    synapses: ``clipped_hebb``, Parisi 1986; ``stochastic_binary``, Amit & Fusi 1994;
    ``cascade``, Fusi, Drew & Abbott 2005) forget the oldest patterns and keep the newest: the
    lifetime of clipped Hebbian synapses grows in proportion to N (about 0.04 N), that of
    stochastic binary synapses like ``ln(sqrt(N) q) / q``, and cascade synapses keep more than
    binary ones from N = 400 on (the default settings at full size).

Rules: every registered rule of family ``"memory"`` (plug-ins included), each as the rule of
the recurrent projection of :func:`brainlearn.memory.hopfield_network`, with the study's
settings in :data:`RULE_SETTINGS` (a rule not listed keeps its defaults). Every random choice
(patterns, cue bits, update orders, stochastic synapses) is drawn from the run's seed, so a
(config, rule, seed) triple gives identical rows.

Rows are tidy (``rule, seed, task, step, metric, value``) with the study's columns ``load``
(``P / N``; capacity rows), ``n_neurons`` (N, every row) and ``age`` (palimpsest rows per
pattern). ``step`` is the number of patterns stored (``P``) in the capacity part, the age in
the palimpsest curves, and the stream length for ``lifetime``. ``summary.csv`` holds the
capacity metrics per rule and load and the lifetime per rule and N.

Figures (from the rows alone; :mod:`brainlearn.studies._memory_figures`): ``capacity`` (overlap,
recalled fraction and one-step flip fraction against the load, theory drawn in),
``palimpsest_age`` (recall against age, a panel per N) and ``lifetime`` (lifetime against N).

References
----------
Hopfield, J. J. (1982). Neural networks and physical systems with emergent collective
computational abilities. PNAS 79, 2554-2558.
Amit, D. J., Gutfreund, H. & Sompolinsky, H. (1985). Storing infinite numbers of patterns in a
spin-glass model of neural networks. Phys. Rev. Lett. 55, 1530-1533.
Parisi, G. (1986). A memory which forgets. J. Phys. A 19, L617-L620.
Amit, D. J. & Fusi, S. (1994). Learning in neural networks with material synapses. Neural
Computation 6, 957-982.
Storkey, A. (1997). Increasing the capacity of a Hopfield network without sacrificing
functionality. ICANN, 451-456.
Fusi, S., Drew, P. J. & Abbott, L. F. (2005). Cascade models of synaptically stored memories.
Neuron 45, 599-611.
Hertz, J., Krogh, A. & Palmer, R. G. (1991). Introduction to the Theory of Neural Computation.
Addison-Wesley.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..engine import DivergenceError
from ..memory import ALPHA_C, ags_overlap, theory_flip_fraction
from ._base import Study, register_study
from ._findings import memory_findings

__all__ = ["MemoryConfig", "MemoryStudy", "PARTS", "RECALLED", "ALPHA_C", "RULE_SETTINGS",
           "ags_overlap", "theory_flip_fraction", "run_capacity", "run_palimpsest"]

PARTS = ("capacity", "palimpsest")
#: a recall counts as successful when the overlap with the pattern is at least this
RECALLED = 0.95
#: the study's hyperparameters of built-in memory rules (a rule not listed keeps its defaults);
#: the transition probability of ``stochastic_binary`` is the config's ``binary_q``
RULE_SETTINGS: dict = {}


# -- configuration ---------------------------------------------------------------------------------
_FULL_LOADS = tuple(round(0.02 * k, 2) for k in range(1, 21))  # 0.02 .. 0.40


@dataclass(frozen=True)
class MemoryConfig:
    """Configuration of the memory study (defaults: the full size; :meth:`quick` the quick one).

    Parameters
    ----------
    parts : tuple of str
        The parts to run, of ``capacity`` and ``palimpsest`` (``--set parts=capacity``).
    n_neurons : int
        Units of the capacity network (N).
    loads : tuple of float
        Loads ``alpha = P / N`` at which the capacity network is tested (increasing).
    cue_noise : float
        Fraction of the bits of a pattern flipped in its cue (both parts), in [0, 0.5].
    max_cues : int
        At most this many stored patterns are recalled per load (evenly spread over the storage
        order; all of them when fewer are stored).
    recall_mode : {"async", "sync"}
        Asynchronous updates (each sweep visits every unit once, in a seeded random order) or
        synchronous ones.
    recall_steps : int
        Most sweeps (async) or steps (sync) of a recall; it stops earlier at a fixed point.
    temperature : float
        Glauber temperature of the recall dynamics (0: deterministic).
    palimpsest_sizes : tuple of int
        The sizes N of the palimpsest networks.
    burn_in : float
        Patterns stored before the tracked stream (not tested), as a multiple of N
        (:meth:`burn_in_length`). Clipped Hebbian weights start at 0 and reach their steady
        state after about ``(bound / lr)^2 = 100`` patterns; binary and cascade synapses start
        in theirs. With 1 (the default) every rule without forgetting is overloaded.
    stream : int
        Length of the tracked stream at ``N = 100``; see :meth:`stream_length`. A lifetime
        equal to the stream length is censored (every pattern of the stream was recalled).
    binary_q : float
        Transition probability ``q`` of ``stochastic_binary`` synapses. The rule's default 0.1
        stores nothing at N <= 200 (the signal ``sqrt(N) q`` of the newest pattern is too
        small); at 0.3 the lifetime is a few patterns from N = 100 and grows like ``ln N``.
    dtype : {"float32", "float64"}
        Floating type of the weights and states.
    """

    parts: tuple[str, ...] = PARTS
    n_neurons: int = 1000
    loads: tuple[float, ...] = _FULL_LOADS
    cue_noise: float = 0.1
    max_cues: int = 100
    recall_mode: Literal["async", "sync"] = "async"
    recall_steps: int = 50
    temperature: float = 0.0
    palimpsest_sizes: tuple[int, ...] = (100, 200, 400, 800, 1600)
    burn_in: float = 1.0
    stream: int = 30
    binary_q: float = 0.3
    dtype: Literal["float32", "float64"] = "float64"

    @classmethod
    def quick(cls) -> MemoryConfig:
        """The quick size: N = 200 for capacity at five loads; palimpsest at N = 100 and 200."""
        return cls(n_neurons=200, loads=(0.05, 0.1, 0.15, 0.2, 0.3), max_cues=30,
                   palimpsest_sizes=(100, 200), stream=20)

    def stream_length(self, n: int) -> int:
        """Length of the tracked palimpsest stream at size ``n``: ``stream`` at N = 100, growing
        like ``sqrt(N / 100)`` (so that the stream outlasts lifetimes that grow with N)."""
        return max(1, round(self.stream * math.sqrt(n / 100.0)))

    def burn_in_length(self, n: int) -> int:
        """Patterns stored before the tracked palimpsest stream at size ``n``:
        ``round(burn_in * n)``."""
        return round(self.burn_in * n)

    def __post_init__(self):
        if isinstance(self.parts, str) or not self.parts:
            raise ValueError(f"parts={self.parts!r}; allowed: a non-empty tuple of "
                             f"{', '.join(PARTS)}")
        for name in self.parts:
            if name not in PARTS:
                raise ValueError(f"parts: {name!r} is not a part; allowed: {', '.join(PARTS)}")
        if len(set(self.parts)) != len(self.parts):
            raise ValueError(f"parts={self.parts!r} repeats a part")
        for name, low in (("n_neurons", 2), ("max_cues", 1), ("recall_steps", 1),
                          ("stream", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name}={value!r} must be an integer >= {low}")
        if not self.loads:
            raise ValueError("loads=(): give at least one load")
        for a in self.loads:
            if isinstance(a, bool) or not isinstance(a, (int, float)) or not (0 < a <= 1) \
                    or not math.isfinite(a):
                raise ValueError(f"loads: {a!r} is not a load; allowed: numbers in (0, 1]")
        if list(self.loads) != sorted(set(self.loads)):
            raise ValueError(f"loads={self.loads!r} must increase strictly")
        if not self.palimpsest_sizes:
            raise ValueError("palimpsest_sizes=(): give at least one size")
        for n in self.palimpsest_sizes:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
                raise ValueError(f"palimpsest_sizes: {n!r} is not a size; allowed: integers >= 2")
        if len(set(self.palimpsest_sizes)) != len(self.palimpsest_sizes):
            raise ValueError(f"palimpsest_sizes={self.palimpsest_sizes!r} repeats a size")
        if not (isinstance(self.cue_noise, (int, float)) and 0.0 <= self.cue_noise <= 0.5):
            raise ValueError(f"cue_noise={self.cue_noise!r}; allowed: a fraction in [0, 0.5]")
        if not (isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature)
                and self.temperature >= 0):
            raise ValueError(f"temperature={self.temperature!r}; allowed: a finite number >= 0")
        if not (isinstance(self.burn_in, (int, float)) and math.isfinite(self.burn_in)
                and self.burn_in >= 0):
            raise ValueError(f"burn_in={self.burn_in!r}; allowed: a finite number >= 0 (patterns "
                             "per unit)")
        if not (isinstance(self.binary_q, (int, float)) and 0.0 < self.binary_q <= 1.0):
            raise ValueError(f"binary_q={self.binary_q!r}; allowed: a probability in (0, 1]")
        if self.recall_mode not in ("async", "sync"):
            raise ValueError(f"recall_mode={self.recall_mode!r}; allowed: async, sync")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype={self.dtype!r}; allowed: float32, float64")


# -- runs ------------------------------------------------------------------------------------------
def _seed(seed, *key) -> int:
    """A 32-bit seed for one random choice of a run, from the run's seed and a key."""
    return int(np.random.SeedSequence([int(seed), *[int(k) for k in key]]).generate_state(1)[0])


_PART_KEY = {"capacity": 1, "palimpsest": 2}
_PATTERNS, _CUES, _NET, _RECALL = 1, 2, 3, 4


def _network(rule, n, config, seed):
    from .. import memory
    params = dict(RULE_SETTINGS.get(rule, {}))
    if rule == "stochastic_binary":
        params["q"] = float(config.binary_q)
    return memory.hopfield_network(n, rule=rule, seed=seed, dtype=config.dtype, **params)


def _recall_overlaps(net, patterns, config, cue_seed, recall_seed):
    """Overlap of the recalled state with each pattern (recalled from its noisy cue)."""
    from .. import memory
    cues = memory.flip_bits(patterns, config.cue_noise, seed=cue_seed)
    res = memory.recall(net, cues, mode=config.recall_mode, steps=config.recall_steps,
                        temperature=config.temperature, seed=recall_seed)
    return np.asarray(memory.overlap(res.states, patterns), dtype=float)


def _cue_indices(P, max_cues) -> np.ndarray:
    """Up to ``max_cues`` indices of ``P`` stored patterns, evenly spread (all when P <= max)."""
    if P <= max_cues:
        return np.arange(P)
    return np.unique(np.round(np.linspace(0, P - 1, max_cues)).astype(np.int64))


def run_capacity(config, rule, seed) -> list:
    """The capacity part of one run (see the module docstring): rows per load."""
    from .. import memory
    n = int(config.n_neurons)
    counts = [max(1, round(a * n)) for a in config.loads]
    key = _PART_KEY["capacity"]
    patterns = memory.random_patterns(max(counts), n, seed=_seed(seed, key, _PATTERNS, n),
                                      dtype=config.dtype)
    net = _network(rule, n, config, _seed(seed, key, _NET, n))
    rows, stored = [], 0
    for k, (alpha, P) in enumerate(zip(config.loads, counts)):
        if P > stored:
            memory.store(net, patterns[stored:P])
            stored = P
        idx = _cue_indices(P, config.max_cues)
        m = _recall_overlaps(net, patterns[idx], config, _seed(seed, key, _CUES, n, k),
                             _seed(seed, key, _RECALL, n, k))
        flips = float(memory.one_step_flip_fraction(net, patterns[:P]))
        for metric, value in (("overlap", float(m.mean())),
                              ("recalled_fraction", float(np.mean(m >= RECALLED))),
                              ("one_step_flip_fraction", flips)):
            rows.append({"rule": rule, "seed": seed, "task": "capacity", "step": P,
                         "metric": metric, "value": value, "load": float(alpha),
                         "n_neurons": n, "age": None})
    return rows


def run_palimpsest(config, rule, seed) -> list:
    """The palimpsest part of one run (see the module docstring): rows per N and age."""
    from .. import memory
    rows = []
    key = _PART_KEY["palimpsest"]
    for n in config.palimpsest_sizes:
        n = int(n)
        L = config.stream_length(n)
        B = config.burn_in_length(n)
        patterns = memory.random_patterns(B + L, n,
                                          seed=_seed(seed, key, _PATTERNS, n), dtype=config.dtype)
        net = _network(rule, n, config, _seed(seed, key, _NET, n))
        memory.store(net, patterns)  # online, in order: the burn-in, then the tracked stream
        stream = patterns[B:]
        m = _recall_overlaps(net, stream, config, _seed(seed, key, _CUES, n),
                             _seed(seed, key, _RECALL, n))
        for a in range(1, L + 1):
            value = float(m[L - a])
            for metric, v in (("overlap", value), ("recalled_fraction", float(value >= RECALLED))):
                rows.append({"rule": rule, "seed": seed, "task": "palimpsest", "step": a,
                             "metric": metric, "value": v, "load": None, "n_neurons": n,
                             "age": a})
        rows.append({"rule": rule, "seed": seed, "task": "palimpsest", "step": L,
                     "metric": "lifetime", "value": float(np.sum(m >= RECALLED)), "load": None,
                     "n_neurons": n, "age": None})
    return rows


class MemoryStudy(Study):
    """Associative memory: capacity against load, palimpsest recall against age and N."""

    name = "memory"
    summary = ("associative memory: recall against load (capacity, theory drawn in), "
               "palimpsest forgetting against age, memory lifetime against N")
    Config = MemoryConfig
    headline = ("overlap", "recalled_fraction", "one_step_flip_fraction", "lifetime")
    extra_columns = ("load", "n_neurons", "age")
    summary_by = ("rule", "task", "n_neurons", "load", "metric")
    captions = {
        "capacity": "Recall from cues with flipped bits against the load alpha = P/N (mean over "
                    "seeds with 95% Student-t bands, clipped to each metric's range: overlaps "
                    "to [-1, 1], fractions to [0, 1]): mean overlap (AGS theory for Hebbian "
                    "storage dashed), fraction of patterns recalled (overlap >= 0.95) and the "
                    "fraction of bits one synchronous step flips (theory Q(1/sqrt(alpha))); the "
                    "dotted line marks alpha_c = 0.138.",
        "palimpsest_age": "Patterns stored online after a burn-in: probability of recall "
                          "(overlap >= 0.95, mean over seeds) against the pattern's age (1 = "
                          "newest), a panel per network size N.",
        "lifetime": "Memory lifetime (stream patterns recalled) against the network size N "
                    "(log axis; lifetime axis linear below 1 and logarithmic above), mean over "
                    "seeds with 95% CI (clipped at 0, the shortest lifetime); dotted: the fit "
                    "a + b ln N of stochastic binary synapses; open triangles: lifetimes "
                    "censored by the stream length.",
    }

    def fits(self, rule_cls) -> bool:
        """Rules of family ``"memory"`` (storage rules of recurrent synapses)."""
        return rule_cls.tags.family == "memory" and \
            not rule_cls.tags.constraint

    def run_one(self, config, rule, seed) -> list:
        rows = []
        try:
            if "capacity" in config.parts:
                rows += run_capacity(config, rule, seed)
            if "palimpsest" in config.parts:
                rows += run_palimpsest(config, rule, seed)
        except DivergenceError as exc:  # storing made non-finite weights: keep the parts done
            exc.rows = rows
            raise
        return rows

    def summarize(self, rows, config) -> list:
        """Capacity metrics per rule and load (``n_neurons`` kept), lifetime per rule and N."""
        from ..results import summarize
        capacity = summarize(rows, metrics=["overlap", "recalled_fraction",
                                            "one_step_flip_fraction"],
                             by=("rule", "task", "n_neurons", "load", "metric"),
                             where={"task": "capacity"})
        lifetime = summarize(rows, metrics=["lifetime"],
                             by=("rule", "task", "n_neurons", "load", "metric"),
                             where={"task": "palimpsest"})
        return capacity + lifetime

    def figures(self, rows, config, figdir) -> list:
        from ._memory_figures import draw_all
        return draw_all(rows, figdir)

    def findings(self, summary_rows, rows, config) -> dict:
        """Recall below and above alpha_c, how far back the largest network recalls, and how
        the lifetime grows with N (:func:`brainlearn.studies._findings.memory_findings`)."""
        return memory_findings(summary_rows, rows, ALPHA_C)

    def overview(self, summary_rows, config) -> list:
        """The report's opening table: the fraction recalled at the loads just below and just
        above alpha_c, and the lifetime at every palimpsest size (at most three: the smallest,
        a middle one and the largest)."""
        def num(value):
            return float(value) if value not in (None, "") else None
        capacity = [r for r in summary_rows if r.get("metric") == "recalled_fraction"
                    and num(r.get("load")) is not None]
        loads = sorted({num(r["load"]) for r in capacity})
        keep = set([a for a in loads if a < ALPHA_C][-1:] + [a for a in loads if a > ALPHA_C][:1])
        out = [r for r in capacity if num(r["load"]) in keep]
        life = [r for r in summary_rows if r.get("metric") == "lifetime"]
        sizes = sorted({num(r["n_neurons"]) for r in life if num(r.get("n_neurons")) is not None})
        if len(sizes) > 3:
            sizes = [sizes[0], sizes[len(sizes) // 2], sizes[-1]]
        return out + [r for r in life if num(r.get("n_neurons")) in sizes]


register_study(MemoryStudy())
