"""Example networks for the conformance checks, and the signals a kernel sees."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..datasets import load as load_dataset
from ..engine import end_task, train
from ..engine.run import default_loss
from ..memory import hopfield_network, random_patterns
from ..network import Network, init, mlp
from ..rules.base import LearningRule, kernel_params
from ..rules.consolidation_gradient import EWC, SynapticIntelligence
from ..rules.homeostatic import SynapticScaling
from ..rules.memory import _MemoryRule

#: presentations of the long-run finiteness check
LONG_RUN_STEPS = 10_000


class SkipCheck(Exception):
    """Raised by a check that does not apply to a rule; the message is the reason."""


# -- example networks ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _digits():
    d = load_dataset("digits")
    return np.asarray(d.x_train), np.asarray(d.y_train)


def _consolidated_example(rule, dtype, seed):
    """EWC, SI: a 64-16-10 MLP carrying ``rule`` alone, after one task, with weights moved off
    the anchor.

    Alone the rule never moves the weights, so the example moves them itself (seeded
    noise, as another rule in a chain would): during the first task, so that SI's
    path integral sees a change, and after :func:`~brainlearn.end_task`, so that the
    penalty has something to pull back. The conformance checks then exercise the
    importance, the anchor and the pull, not an all-zero state.
    """
    x, y = _digits()
    x, y = x[:200], y[:200]
    net = mlp([64, 16, 10], rule=rule, hidden="tanh", output="softmax", seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    for half in (slice(0, 100), slice(100, 200)):
        train(net, (x[half], y[half]), driver="online", seed=seed, quiet=True)
        for q in net.projections:
            q.W += (0.05 * rng.standard_normal(q.W.shape)).astype(q.W.dtype)
    end_task(net)
    for q in net.projections:
        q.W += (0.05 * rng.standard_normal(q.W.shape)).astype(q.W.dtype)
    return net, (x, y)


def _scaling_example(rule, dtype, seed):
    """Synaptic scaling: digits (x >= 0) into 8 linear units through positive weights, so that
    rates are non-negative and proportional to the weights."""
    net = Network(seed=seed, dtype=dtype)
    inp = net.add_input(64, name="input")
    pop = net.add_population(8, activation="linear", name="population")
    net.connect(inp, pop, rule=rule, init=init.Uniform(0.0, 0.05))
    return net, (np.asarray(_digits()[0][:200]),)


def _memory_example(rule, dtype, seed):
    """Memory-family rules: a memory network of 16 +-1 units and 40 random patterns."""
    net = hopfield_network(16, rule=rule, seed=seed, dtype=dtype)
    return net, (random_patterns(40, 16, seed=seed, dtype=dtype),)


#: the example networks of built-in rules that the default layout does not suit, by class (a
#: subclass takes its parent's); kept here so that ``rules/`` imports no network or engine
_BUILTIN_EXAMPLES = {EWC: _consolidated_example, SynapticIntelligence: _consolidated_example,
                     SynapticScaling: _scaling_example, _MemoryRule: _memory_example}


def own_example(rule):
    """The builder of ``rule``'s own example network, ``(rule, dtype, seed) -> (net, data)``:
    its class's ``example_network`` classmethod, or a built-in family's; None when the default
    layout applies."""
    override = getattr(type(rule), "example_network", None)
    if override is not None:
        return override
    for klass in type(rule).__mro__:
        if klass in _BUILTIN_EXAMPLES:
            return _BUILTIN_EXAMPLES[klass]
    return None


def example_network(rule, dtype="float64", seed=0, *, n_samples=200):
    """A small network that trains ``rule``, and the data to train it on.

    The layout follows the rule's metadata:

    * needs ``"error"``: a 64-16-10 tanh/softmax MLP with the rule on both
      projections (``output_only`` rules: one 64 -> 10 softmax projection);
    * needs ``"reward"``: 64 -> 2 softmax, on the digits 0 and 1;
    * ``lateral``: input(64) -> fixed projection -> linear population(8), plus a
      lateral projection (initialised with zeros) that carries the rule;
    * otherwise (local and constraint rules): input(64) -> linear
      population(8), weights drawn from Normal(std=0.1).

    A rule class may define a classmethod ``example_network(cls, rule, dtype, seed)``
    returning ``(net, data)``; it is used instead (and ``n_samples`` is ignored: the
    long-run check then repeats that data for 10^4 presentations). Some built-in families have
    their own here (:func:`own_example`: EWC and SI, synaptic scaling, the memory rules).

    Parameters
    ----------
    rule : LearningRule
        The rule instance to put on the network.
    dtype : {"float64", "float32"}
        The network's dtype.
    seed : int
        The network's seed.
    n_samples : int or None
        Number of digits samples (None: all of the training split).

    Returns
    -------
    net : Network
    data : tuple
        ``(x, y)`` when the rule needs an error or a reward, else ``(x,)``.
    """
    own = own_example(rule)
    if own is not None:
        return own(rule, dtype, seed)
    x, y = _digits()
    needs = set(rule.needs)
    if "reward" in needs:
        keep = y < 2
        x, y = x[keep], y[keep]
    x, y = x[:n_samples], y[:n_samples]
    if "error" in needs and not rule.tags.output_only:
        return mlp([64, 16, 10], rule=rule, hidden="tanh", output="softmax", seed=seed,
                   dtype=dtype), (x, y)
    net = Network(seed=seed, dtype=dtype)
    inp = net.add_input(64, name="input")
    if "error" in needs or "reward" in needs:
        out = net.add_population(2 if "reward" in needs else 10, activation="softmax",
                                 name="output")
        net.connect(inp, out, rule=rule)
        return net, (x, y)
    pop = net.add_population(8, activation="linear", name="population")
    if rule.tags.lateral:
        net.connect(inp, pop, init=init.Normal(std=0.1), name="feedforward")
        net.connect(pop, pop, rule=rule, init="zeros", name="lateral")
    else:
        net.connect(inp, pop, rule=rule, init=init.Normal(std=0.1))
    return net, (x,)


def _as_tuple(data):
    """(x, y) or (x,) from what example_network returned (a Dataset keeps its training split)."""
    if hasattr(data, "x_train"):
        return (data.x_train, data.y_train)
    if isinstance(data, tuple):
        return data
    return (data,)


def _train(net, data, **kwargs):
    # "online" unless asked: "auto" may pick the row-parallel epoch, one more compiled driver
    kwargs.setdefault("driver", "online")
    kwargs.setdefault("seed", 0)
    return train(net, _as_tuple(data), quiet=True, **kwargs)


def _rule_projections(net, rule):
    found = [q for q in net.projections if isinstance(q.rule, LearningRule) and q.rule == rule]
    assert found, f"the example network has no projection whose rule is {rule!r}"
    return found


def _states(q):
    return q.term_states()


def _arrays(net) -> dict:
    """Every learned array of ``net`` by a readable key: weights, biases, rule state."""
    out = {}
    for q in net.projections:
        out[f"W[{q.name}]"] = q.W
    for p in net.populations:
        if not p.is_input:
            out[f"bias[{p.name}]"] = p.bias
    for q in net.projections:
        for k, st in enumerate(_states(q)):
            for f in st._fields:
                out[f"state[{q.name}][{k}].{f}"] = getattr(st, f)
    return out


def _copy_state(st):
    return type(st)(*[np.array(v, copy=True) for v in st])


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _assert_bit_identical(a: dict, b: dict, what: str):
    assert a.keys() == b.keys(), f"{what}: arrays differ: {sorted(a)} vs {sorted(b)}"
    for k in a:
        if not _same_bits(a[k], b[k]):
            diff = _max_diff(a[k], b[k])
            raise AssertionError(f"{what}: {k} differs (max abs difference {diff:.3g})")


def _max_diff(a, b):
    try:
        return float(np.nanmax(np.abs(np.asarray(a, float) - np.asarray(b, float))))
    except ValueError:
        return math.nan


# -- the signals a kernel sees (computed in NumPy from the live network) ---------------------------
def _act(name, z):
    if name == "linear":
        return z
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "relu":
        return np.maximum(z, 0)
    if name == "sign":
        return np.where(z >= 0, 1.0, -1.0).astype(z.dtype)
    if name == "step":
        return (z > 0).astype(z.dtype)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _act_back(name, a, g):
    """dL/dz from dL/da and the activity ``a``."""
    if name == "tanh":
        return g * (1 - a * a)
    if name == "sigmoid":
        return g * a * (1 - a)
    if name == "relu":
        return g * (a > 0)
    if name in ("sign", "step"):
        return g * 0
    if name == "softmax":
        return a * (g - (a * g).sum(axis=-1, keepdims=True))
    return g


def _signals(net, x, y):
    """Activities and errors for inputs ``x`` (m, n_inputs), as the engine computes them.

    Returns ``(acts, deltas)``: ``acts[population index]`` is the activity (m, size);
    with targets ``y``, ``deltas[population index]`` is dL/dz (m, size) for the output
    and the populations behind it, carried back through ``W^T`` (for feedback-alignment
    rules a real error of the right scale, not the one their B would carry), and
    ``deltas["reward"]`` (m,) is 1 where the output is correct.
    """
    acts, off = {}, 0
    x = np.asarray(x, dtype=net.dtype)
    for p in net.inputs:
        acts[p.index] = x[:, off:off + p.size]
        off += p.size
    order = [p for p in net.topological_order() if not p.is_input]
    for p in order:
        z = sum(acts[q.pre.index] @ q.W.T for q in net.incoming(p) if not q.is_lateral) + p.bias
        a = _act(p.activation, z)
        lateral = [q for q in net.incoming(p) if q.is_lateral]
        if lateral:
            zf = z
            for _ in range(p.settle_steps):
                a = _act(p.activation, zf + sum(a @ q.W.T for q in lateral))
        acts[p.index] = a
    deltas = {}
    out = net.output
    if y is not None:
        a = acts[out.index]
        y = np.asarray(y)
        t = np.eye(out.size, dtype=net.dtype)[y] if y.dtype.kind in "iu" and out.size > 1 else \
            np.asarray(y, net.dtype).reshape(a.shape)
        pair = (out.activation, default_loss(net))
        fused = pair in (("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"))
        deltas[out.index] = a - t if fused else _act_back(out.activation, a, a - t)
        hit = (a.argmax(axis=1) == t.argmax(axis=1)) if out.size > 1 else \
            ((a[:, 0] > (0.0 if out.activation == "tanh" else 0.5)) == (t[:, 0] > 0.5))
        deltas["reward"] = hit.astype(net.dtype)
        for p in reversed(order):
            outs = [q for q in net.outgoing(p) if not q.is_lateral and q.post.index in deltas]
            if p is not out and outs:
                e = sum(deltas[q.post.index] @ q.W for q in outs)
                deltas[p.index] = _act_back(p.activation, acts[p.index], e)
    return acts, deltas


def _kernel_inputs(net, data, q, rule, rows):
    """Real (pre, post, mod) for projection ``q``, each of shape (len(rows), n)."""
    xy = _as_tuple(data)
    x = np.asarray(xy[0])[rows]
    y = np.asarray(xy[1])[rows] if len(xy) > 1 and xy[1] is not None else None
    acts, deltas = _signals(net, x, y)
    pre, post = acts[q.pre.index], acts[q.post.index]
    if "error" in rule.needs:
        mod = deltas[q.post.index]
    elif "reward" in rule.needs:
        mod = np.repeat(deltas["reward"][:, None], q.post.size, axis=1)
    else:
        mod = np.zeros_like(post)
    return tuple(np.ascontiguousarray(v, dtype=net.dtype) for v in (pre, post, mod))


def _call_kernel(kernel, q, rule, pre, post, mod, state, W=None, dW=None, db=None):
    """Call a kernel the way the engine does, on copies; returns (W, dW, db, state)."""
    W = q.W.copy() if W is None else W
    dW = np.zeros_like(W) if dW is None else dW
    if db is None:
        owns = rule.tags.updates_bias and not q.is_lateral
        db = np.zeros(q.post.size if owns else 0, W.dtype)
    state = _copy_state(state)
    kernel(W, pre, post, mod, kernel_params(rule, W.dtype), state, W.dtype.type(1.0), dW, db)
    return W, dW, db, state


def _trained(rule, dtype="float64", seed=0):
    """The example network after one online epoch (so the rule state is not the initial one)."""
    net, data = example_network(rule, dtype, seed)
    _train(net, data)
    return net, data


