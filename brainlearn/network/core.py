"""Populations, projections and the Network that holds them."""

from __future__ import annotations

import numbers

import numpy as np

from .. import neurons as _neurons
from .. import rules as _rules
from . import init as _init
from ._save import save
from .activations import activation_code

__all__ = ["Population", "Projection", "Network", "check_size", "check_dtype"]

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_size(value, argname: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{argname}={value!r} must be a positive integer")
    return int(value)


def check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _DTYPES:
        raise TypeError(f"dtype={dtype!r} is not supported; allowed: float32, float64")
    return dt


class Population:
    """A group of neurons.

    Attributes
    ----------
    size : int
        Number of neurons.
    activation : str
        ``"input"`` for an input population, else one of linear, tanh, sigmoid, relu, softmax,
        sign (+-1 units), step (0/1 units).
    bias : ndarray, shape (size,)
        The live bias (threshold) of each neuron; empty for inputs.
    name : str
    index : int
        Position in ``Network.populations``.
    settle_steps : int
        With lateral projections, rounds of ``a = f(z_ff + W_lat a)`` per presentation.
    neuron : NeuronModel or None
        The spiking model of a spiking population (``activation == "spiking"``).
    rate : ndarray or None
        The firing rates (Hz, shape (size,)) of a Poisson source (``activation ==
        "poisson"``).
    spike_times, spike_indices : ndarray or None
        The given spike trains of a spike source (``activation == "spike_source"``).
    """

    def __init__(self, size, activation, bias, name, index, settle_steps=10, neuron=None):
        self.settle_steps = settle_steps
        self.neuron = neuron
        self.rate = None
        self.spike_times = None
        self.spike_indices = None
        self.size = size
        self.activation = activation
        self.bias = bias
        self.name = name
        self.index = index

    @property
    def is_input(self) -> bool:
        return self.activation == "input"

    @property
    def is_spiking(self) -> bool:
        """True for a population of spiking neurons."""
        return self.activation == "spiking"

    @property
    def neuron_state(self) -> np.ndarray:
        """The live state of a spiking population, shape (N_VARS, size): rows ``v``, ``ge``,
        ``gi``, ``w``, ``refractory``, ``theta`` (:data:`brainlearn.neurons.VARIABLES`),
        made at rest on first use; set entries to start a simulation elsewhere."""
        if not self.is_spiking:
            raise AttributeError(f"population {self.name!r} is not spiking: it has no "
                                 "neuron_state")
        if getattr(self, "_state", None) is None:
            self._state = self.neuron.initial_state(self.size)
        return self._state

    @property
    def is_source(self) -> bool:
        """True for a spike source (Poisson, or given spike trains): it receives nothing."""
        return self.activation in ("poisson", "spike_source")

    def __repr__(self):
        return f"Population({self.name!r}, size={self.size}, activation={self.activation!r})"


class Projection:
    """Synapses from population ``pre`` to population ``post``.

    Attributes
    ----------
    W : ndarray, shape (post.size, pre.size)
        The live weights.
    chain : Chain
        The rules acting on the projection, in order: a single rule is a chain of one,
        fixed weights a chain of none. The engine reads this.
    states : tuple
        One state per term of ``chain`` (NamedTuples of arrays, updated in place).
    rule : LearningRule, Chain or None
        The learning rule as it was given: the single rule of a chain of one, the chain
        of several, or None (fixed weights).
    state : NamedTuple, tuple or None
        The state as ``rule`` holds it: the single rule's state, a tuple of a chain's
        states, or None.
    mask : ndarray of W.dtype or None
        1 where a synapse exists, 0 where it does not; absent synapses stay 0.
    bounds : (float, float) or None
        Hard bounds applied after every update.
    """

    def __init__(self, network, pre, post, W, rule, mask, bounds, name, index):
        self.network = network
        self.pre = pre
        self.post = post
        self.W = W
        self.mask = mask
        self.bounds = bounds
        self.name = name
        self.index = index
        self.rule = rule  # (initialises the state)

    @property
    def rule(self):
        """The learning rule; assigning a new one (or None) re-initialises the state."""
        terms = self.chain.rules
        return None if not terms else terms[0] if self._single else self.chain

    @rule.setter
    def rule(self, rule):
        rule = _rules.make(rule)
        if rule is not None:
            _check_placement(rule, self)
        self._single = rule is not None and not _rules.is_chain(rule)
        self.chain = _rules.Chain(_rules.rule_terms(rule))
        self.reset_state()

    @property
    def state(self):
        """The rule's state: the single rule's state, a chain's tuple of states, or None."""
        if not self.chain.rules:
            return None
        return self.states[0] if self._single else self.states

    @state.setter
    def state(self, state):
        if not self.chain.rules:
            if state is not None:
                raise ValueError(f"projection {self.name!r} has no rule, so no state")
            self.states = ()
            return
        states = (state,) if self._single else tuple(state)
        if len(states) != len(self.chain.rules):
            raise ValueError(f"projection {self.name!r}: state has {len(states)} term(s); its "
                             f"rule has {len(self.chain.rules)}")
        self.states = states

    def refresh_state(self):
        """Rebuild the state of rules whose state depends on the network's structure, if the
        structure changed since the state was made (called by the engine before training)."""
        if self._state_version != self.network._version and \
                any(r.tags.state_uses_network for r in self.chain.rules):
            self.reset_state()
        self._state_version = self.network._version

    @property
    def is_lateral(self) -> bool:
        """True for a projection from a population to itself."""
        return self.pre is self.post

    def state_rng(self, term=0) -> np.random.Generator:
        """The generator a rule uses to initialise its state (e.g. random feedback weights):
        derived from the network seed, this projection's index and the rule's place in a chain."""
        seq = np.random.SeedSequence(self.network.seed, spawn_key=(self.index, term))
        return np.random.default_rng(seq)

    def reset_state(self):
        """Re-initialise the rule state (momentum, traces, running averages, feedback weights)."""
        self._state_version = self.network._version
        self.states = tuple(r.init_state(self, self.state_rng(k))
                            for k, r in enumerate(self.chain.rules))

    def term_states(self) -> tuple:
        """The state of each term of ``chain``, in order (``states``); () without a rule."""
        return self.states

    def set_term_state(self, k, state) -> None:
        """Replace the state of term ``k`` of ``chain``."""
        if not 0 <= k < len(self.states):
            raise IndexError(f"projection {self.name!r} has no rule term {k}")
        self.states = self.states[:k] + (state,) + self.states[k + 1:]

    def __repr__(self):
        rule = self.rule.name if self.rule is not None else None
        return (f"Projection({self.name!r}, {self.pre.name!r} -> {self.post.name!r}, "
                f"W{self.W.shape}, rule={rule!r})")


def _check_rates(rate, size, argname) -> np.ndarray:
    r = np.array(rate, dtype=np.float64)
    if r.ndim == 0:
        r = np.full(size, float(r))
    if r.shape != (size,):
        raise ValueError(f"{argname} has shape {r.shape}; allowed: a scalar or shape ({size},)")
    if not np.all(np.isfinite(r)) or r.min() < 0:
        raise ValueError(f"{argname} must be finite and >= 0 (Hz)")
    return np.ascontiguousarray(r)


def _check_placement(rule, proj):
    """Rules that only make sense on certain projections say so early, by name."""
    for r in _rules.rule_terms(rule):
        if r.tags.lateral and not proj.is_lateral:
            raise ValueError(f"rule {r.name!r} is for lateral projections (a population to itself); "
                             f"{proj.name!r} goes {proj.pre.name!r} -> {proj.post.name!r}")
        if proj.is_lateral and ("error" in r.needs or "reward" in r.needs):
            raise ValueError(f"rule {r.name!r} needs {'error' if 'error' in r.needs else 'reward'}, "
                             f"which lateral projection {proj.name!r} cannot carry")
        if r.tags.output_only and proj.network.output is not proj.post and \
                any(q.pre is proj.post for q in proj.network.projections if not q.is_lateral):
            raise ValueError(f"rule {r.name!r} learns from the output error and belongs on a "
                             f"projection into the output population, not into {proj.post.name!r}")


#: the engine's forward passes, ``{"predict": f, "activities": f}``, each ``f(net, x,
#: batch_size)``: registered by :mod:`brainlearn.engine` when it is imported
#: (:func:`set_forward`), so that the network layer runs networks without importing the engine
#: above it
_FORWARD: dict = {}


def set_forward(**passes) -> None:
    """Register the engine's forward passes (``predict=..., activities=...``)."""
    _FORWARD.update(passes)


def _forward(name):
    try:
        return _FORWARD[name]
    except KeyError:
        raise RuntimeError(f"Network.{name} needs the engine: import brainlearn") from None


class Network:
    """Populations and the projections between them.

    Parameters
    ----------
    seed : int or None
        Seeds the generator that initialises weights (the same seed gives the
        same network).
    dtype : {"float64", "float32"}
        Floating-point type of every weight, bias, activity and rule state.

    Examples
    --------
    >>> import brainlearn as bl
    >>> net = bl.Network(seed=0)
    >>> x = net.add_input(64, name="input")
    >>> h = net.add_population(100, activation="tanh", name="hidden")
    >>> p = net.connect(x, h, rule="backprop", lr=0.05)
    >>> p.W.shape
    (100, 64)
    """

    def __init__(self, seed=None, dtype="float64"):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                                 or seed < 0):
            raise ValueError(f"seed={seed!r} must be a non-negative integer or None")
        self.seed = None if seed is None else int(seed)
        self.dtype = check_dtype(dtype)
        self.rng = np.random.default_rng(self.seed)
        self.populations: list[Population] = []
        self.projections: list[Projection] = []
        self._version = 0  # bumped on every structural change (invalidates compiled plans)

    # -- building ------------------------------------------------------------------------------
    def _new_name(self, name, prefix, taken):
        if name is None:
            name = f"{prefix}{len(taken)}"
        if not isinstance(name, str) or not name:
            raise ValueError(f"name={name!r} must be a non-empty string")
        if any(o.name == name for o in taken):
            raise ValueError(f"name={name!r} is already used in this network")
        return name

    def add_input(self, size, name=None) -> Population:
        """Add an input population of ``size`` neurons whose activity is set by the data."""
        size = check_size(size, "size")
        name = self._new_name(name, "input", self.populations)
        pop = Population(size, "input", np.zeros(0, self.dtype), name, len(self.populations))
        self.populations.append(pop)
        self._version += 1
        return pop

    def add_population(self, size, activation="tanh", bias=0.0, name=None,
                       settle_steps=10, *, neuron=None) -> Population:
        """Add a rate population: activity ``f(sum_p W_p a_p + bias)``; or, with ``neuron``
        (a model of :mod:`brainlearn.neurons`, e.g. ``bl.neurons.LIF()``), a population of
        spiking neurons run by :func:`brainlearn.simulate`.

        ``bias`` is a scalar or an array of shape (size,). When the population has
        lateral projections (``connect(pop, pop)``), each presentation settles by
        ``settle_steps`` rounds of ``a = f(z_ff + W_lat a)`` starting from ``f(z_ff)``.
        """
        if neuron is not None:
            if not isinstance(neuron, _neurons.NeuronModel):
                raise TypeError(f"neuron={neuron!r}; allowed: a model of brainlearn.neurons, "
                                f"e.g. bl.neurons.LIF(); available: "
                                f"{', '.join(_neurons.MODELS)}")
            size = check_size(size, "size")
            name = self._new_name(name, "pop", self.populations)
            pop = Population(size, "spiking", np.zeros(size, self.dtype), name,
                             len(self.populations), 0, neuron=neuron)
            self.populations.append(pop)
            self._version += 1
            return pop
        if isinstance(settle_steps, bool) or not isinstance(settle_steps, numbers.Integral) \
                or settle_steps < 0:
            raise ValueError(f"settle_steps={settle_steps!r} must be an integer >= 0")
        size = check_size(size, "size")
        activation_code(activation)
        name = self._new_name(name, "pop", self.populations)
        b = np.array(bias, dtype=self.dtype)
        if b.ndim == 0:
            b = np.full(size, b, dtype=self.dtype)
        if b.shape != (size,):
            raise ValueError(f"bias has shape {b.shape}; allowed: a scalar or shape ({size},)")
        if not np.all(np.isfinite(b)):
            raise ValueError("bias contains NaN or inf")
        pop = Population(size, activation, np.ascontiguousarray(b), name, len(self.populations),
                         int(settle_steps))
        self.populations.append(pop)
        self._version += 1
        return pop

    def add_poisson(self, size, rate, name=None) -> Population:
        """Add ``size`` Poisson spike sources firing at ``rate`` Hz (a scalar, or one rate
        per unit of shape (size,)); change ``pop.rate`` between runs to present other
        rates. Spikes are drawn from exponential inter-spike intervals."""
        size = check_size(size, "size")
        r = _check_rates(rate, size, "rate")
        name = self._new_name(name, "poisson", self.populations)
        pop = Population(size, "poisson", np.zeros(0, self.dtype), name, len(self.populations))
        pop.rate = r
        self.populations.append(pop)
        self._version += 1
        return pop

    def add_spike_source(self, times, indices, size=None, name=None) -> Population:
        """Add a source that fires the given spikes: neuron ``indices[k]`` at ``times[k]``
        seconds (``size``: the number of neurons, default ``max(indices) + 1``)."""
        t = np.asarray(times, dtype=np.float64)
        idx = np.asarray(indices)
        if t.ndim != 1 or idx.shape != t.shape:
            raise ValueError(f"times and indices must be 1-d of the same length; got shapes "
                             f"{t.shape} and {idx.shape}")
        if not np.all(np.isfinite(t)) or (t.size and t.min() < 0):
            raise ValueError("times must be finite and >= 0 (seconds)")
        if idx.size and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0):
            raise ValueError("indices must be non-negative integers")
        n = int(idx.max()) + 1 if idx.size else 1
        size = n if size is None else check_size(size, "size")
        if idx.size and idx.max() >= size:
            raise ValueError(f"indices reach {int(idx.max())}; allowed: below size={size}")
        name = self._new_name(name, "source", self.populations)
        pop = Population(size, "spike_source", np.zeros(0, self.dtype), name,
                         len(self.populations))
        order = np.argsort(t, kind="stable")
        pop.spike_times, pop.spike_indices = t[order], idx[order].astype(np.int64)
        self.populations.append(pop)
        self._version += 1
        return pop

    @property
    def is_spiking(self) -> bool:
        """True when the network has spiking populations or spike sources."""
        return any(p.is_spiking or p.is_source for p in self.populations)

    def _resolve(self, pop, argname) -> Population:
        if isinstance(pop, str):
            for p in self.populations:
                if p.name == pop:
                    return p
            names = ", ".join(p.name for p in self.populations)
            raise ValueError(f"{argname}={pop!r} is not a population of this network; have: {names}")
        if not isinstance(pop, Population) or pop.index >= len(self.populations) \
                or self.populations[pop.index] is not pop:
            raise ValueError(f"{argname}={pop!r} is not a population of this network")
        return pop

    def connect(self, pre, post, rule=None, *, init="glorot", mask=None, bounds=None, name=None,
                target="exc", normalize=None, **rule_params) -> Projection:
        """Connect ``pre`` to ``post`` and return the new :class:`Projection`.

        Parameters
        ----------
        pre, post : Population or str
            Source and target (by object or name). ``post`` must not be an input.
        rule : str, LearningRule, rule class or None
            The learning rule; a name takes its hyperparameters from ``**rule_params``.
        init : str, Initializer or array
            Weight initialiser (default Glorot uniform) or an explicit (n_post, n_pre) array.
        mask : array of shape (n_post, n_pre), optional
            Connectivity: synapses where ``mask`` is 0 do not exist and stay 0.
        bounds : (low, high), optional
            Hard weight bounds enforced after every update.
        target : str
            Into a spiking population: ``"exc"`` (a spike adds the weight to ``ge``) or
            ``"inh"`` (to ``gi``).
        normalize : float, optional
            Synaptic normalisation of a spiking projection: each postsynaptic neuron's
            incoming weights are scaled to sum to ``normalize`` at the start of every
            ``bl.simulate`` call and before every sample ``bl.present`` and ``bl.train``
            show (Diehl & Cook 2015).
        """
        pre = self._resolve(pre, "pre")
        post = self._resolve(post, "post")
        if post.is_input or post.is_source:
            raise ValueError(f"post={post.name!r} is an input population; inputs receive no projections")
        spiking = post.is_spiking or pre.is_spiking or pre.is_source
        if spiking and not (post.is_spiking and (pre.is_spiking or pre.is_source)):
            raise ValueError(f"connect({pre.name!r}, {post.name!r}): spiking populations and "
                             "spike sources connect only to spiking populations")
        if target not in ("exc", "inh"):
            raise ValueError(f"target={target!r}; allowed: exc, inh")
        if normalize is not None:
            if not spiking:
                raise ValueError(f"normalize={normalize!r} is for spiking projections; a rate "
                                 "projection normalises with a rule (oja, weight_decay)")
            if isinstance(normalize, bool) or not isinstance(normalize, (int, float)) \
                    or not np.isfinite(normalize) or normalize <= 0:
                raise ValueError(f"normalize={normalize!r}; allowed: a positive number (the "
                                 "sum of each neuron's incoming weights) or None")
            normalize = float(normalize)
        name = self._new_name(name, "proj", self.projections)
        shape = (post.size, pre.size)
        if isinstance(init, (np.ndarray, list, tuple)):
            W = np.array(init, dtype=self.dtype)
            if W.shape != shape:
                raise ValueError(f"init array has shape {W.shape}; allowed: {shape} (n_post, n_pre)")
        else:
            W = np.asarray(_init.get(init)(shape, self.rng, self.dtype), dtype=self.dtype)
        if not np.all(np.isfinite(W)):
            raise ValueError("init gives weights with NaN or inf")
        W = np.ascontiguousarray(W)
        m = None
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != shape:
                raise ValueError(f"mask has shape {m.shape}; allowed: {shape} (n_post, n_pre)")
            if not np.all((m == 0) | (m == 1)):
                raise ValueError("mask must contain only 0/1 (or False/True)")
            m = np.ascontiguousarray(m, dtype=self.dtype)
            W *= m
        if bounds is not None:
            try:
                lo, hi = (float(v) for v in bounds)
            except (TypeError, ValueError):
                raise ValueError(f"bounds={bounds!r} must be a pair (low, high)") from None
            if not lo < hi or np.isnan(lo) or np.isnan(hi):
                raise ValueError(f"bounds={bounds!r} must satisfy low < high")
            bounds = (lo, hi)
            np.clip(W, lo, hi, out=W)
        rule = _rules.make(rule, **rule_params)
        for term in (getattr(rule, "rules", None) or (() if rule is None else (rule,))):
            if term.tags.reads_voltage and not (spiking and post.is_spiking):
                raise ValueError(f"rule={term.name!r} reads the postsynaptic membrane "
                                 "potential; allowed only between spiking populations or "
                                 "sources and a spiking population (run with bl.simulate)")
        if not spiking and pre is not post and (cycle := self._would_cycle(pre, post)):
            raise NotImplementedError(
                f"connecting {pre.name!r} -> {post.name!r} closes the cycle {cycle}; the "
                "feed-forward engine does not run recurrent projections yet")
        proj = Projection(self, pre, post, W, rule, m, bounds, name, len(self.projections))
        proj.target = target
        proj.normalize = normalize
        self.projections.append(proj)
        self._version += 1
        return proj

    def _would_cycle(self, pre, post):
        """The population path post -> ... -> pre, if the new edge pre -> post closes a cycle."""
        succ = {p.index: [] for p in self.populations}
        for q in self.projections:
            if not q.is_lateral:
                succ[q.pre.index].append(q.post.index)
        stack, parent = [post.index], {post.index: None}
        while stack:
            u = stack.pop()
            if u == pre.index:
                path, k = [], u
                while k is not None:
                    path.append(self.populations[k].name)
                    k = parent[k]
                return " -> ".join([pre.name] + path[::-1])
            for v in succ[u]:
                if v not in parent:
                    parent[v] = u
                    stack.append(v)
        return None

    # -- structure -----------------------------------------------------------------------------
    @property
    def inputs(self) -> list[Population]:
        return [p for p in self.populations if p.is_input]

    @property
    def output(self) -> Population:
        """The output population: the last-created population without outgoing projections."""
        sources = {q.pre.index for q in self.projections if not q.is_lateral}
        sinks = [p for p in self.populations if not p.is_input and p.index not in sources]
        if not sinks:
            raise ValueError("the network has no output population (add a non-input population)")
        return sinks[-1]

    @property
    def n_inputs(self) -> int:
        return sum(p.size for p in self.inputs)

    def topological_order(self) -> list[Population]:
        """Populations in evaluation order (creation order among independent ones)."""
        indeg = {p.index: 0 for p in self.populations}
        succ = {p.index: [] for p in self.populations}
        for q in self.projections:
            if not q.is_lateral:
                indeg[q.post.index] += 1
                succ[q.pre.index].append(q.post.index)
        ready = sorted(i for i, d in indeg.items() if d == 0)
        order = []
        while ready:
            i = ready.pop(0)
            order.append(self.populations[i])
            for j in succ[i]:
                indeg[j] -= 1
                if indeg[j] == 0:
                    ready.append(j)
            ready.sort()
        return order

    def incoming(self, pop) -> list[Projection]:
        """The projections into ``pop`` (a Population or its name), in creation order."""
        pop = self._resolve(pop, "pop")
        return [q for q in self.projections if q.post is pop]

    def outgoing(self, pop) -> list[Projection]:
        """The projections from ``pop`` (a Population or its name), in creation order."""
        pop = self._resolve(pop, "pop")
        return [q for q in self.projections if q.pre is pop]

    # -- running -------------------------------------------------------------------------------
    def predict(self, x, batch_size=1024) -> np.ndarray:
        """Output activities for inputs ``x`` of shape (n, n_inputs) (or (n_inputs,))."""
        return _forward("predict")(self, x, batch_size=batch_size)

    def activities(self, x, batch_size=1024) -> dict:
        """Activities of every population for inputs ``x``: ``{name: array (n, size)}``."""
        return _forward("activities")(self, x, batch_size=batch_size)

    def reset_state(self):
        """Reset the state of every rule (momentum, running averages, traces)."""
        for q in self.projections:
            q.reset_state()

    def save(self, path):
        """Save topology, parameters and rule state to ``path`` (a .npz file; no pickle)."""
        save(self, path)

    def summary(self) -> str:
        """A short text table of populations and projections."""
        lines = [f"Network(seed={self.seed}, dtype={self.dtype.name})"]
        for p in self.populations:
            lines.append(f"  population {p.name:<12} size {p.size:<6} {p.activation}")
        for q in self.projections:
            rule = q.rule.name if q.rule is not None else "fixed"
            lines.append(f"  projection {q.name:<12} {q.pre.name} -> {q.post.name}  "
                         f"W{q.W.shape}  {rule}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"Network({len(self.populations)} populations, {len(self.projections)} projections, "
                f"dtype={self.dtype.name})")


def mlp(sizes, rule="backprop", hidden="tanh", output="softmax", seed=None, dtype="float64",
        init="glorot", **rule_params) -> Network:
    """A feed-forward network ``sizes[0] -> ... -> sizes[-1]`` with one rule on every projection.

    >>> import brainlearn as bl
    >>> net = bl.mlp([64, 100, 10], rule="backprop", hidden="tanh", output="softmax", seed=0)
    >>> [p.W.shape for p in net.projections]
    [(100, 64), (10, 100)]
    """
    sizes = list(sizes) if not isinstance(sizes, (str, bytes)) else None
    if not sizes or len(sizes) < 2:
        raise ValueError(f"sizes={sizes!r} must list at least an input and an output size")
    for k, s in enumerate(sizes):
        check_size(s, f"sizes[{k}]")
    activation_code(hidden, "hidden")
    activation_code(output, "output")
    net = Network(seed=seed, dtype=dtype)
    prev = net.add_input(sizes[0], name="input")
    for k, s in enumerate(sizes[1:-1]):
        h = net.add_population(s, activation=hidden, name=f"hidden{k}" if len(sizes) > 3 else "hidden")
        net.connect(prev, h, rule=rule, init=init, **rule_params)
        prev = h
    out = net.add_population(sizes[-1], activation=output, name="output")
    net.connect(prev, out, rule=rule, init=init, **rule_params)
    return net

