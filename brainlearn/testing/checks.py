"""The conformance checks: ``check_*(rule)`` functions (see :mod:`brainlearn.testing`)."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import tempfile

import numpy as np

from .. import rules as _rules
from .._jit import JIT_DISABLED
from ..engine import DivergenceError
from ..engine.fastpaths import fast_path
from ..network.io import load
from ..rules.base import FAMILIES, SIGNALS, LearningRule, _describe, _same_definition, kernel_params, \
    dataclass_problem

from ._examples import (LONG_RUN_STEPS, SkipCheck, _act, _act_back, _arrays, _as_tuple,  # noqa: F401
                        _assert_bit_identical, _call_kernel, _copy_state, _digits, _kernel_inputs,
                        _max_diff, _rule_projections, _same_bits, _signals, _states, _train, _trained,
                        example_network, own_example)


# -- the checks ------------------------------------------------------------------------------------
_CHECK_DOC = """

    Parameters
    ----------
    rule : LearningRule
        The rule to check (an instance).

    Raises
    ------
    AssertionError
        The rule fails the check; the message says what is wrong.
    SkipCheck
        The check does not apply to the rule; the message gives the reason.
    """


def _check(fn):
    """Give a check the numpydoc sections every check shares."""
    if fn.__doc__ is not None:  # None under python -OO
        fn.__doc__ = fn.__doc__.rstrip() + _CHECK_DOC
    return fn


def _on_rate_networks(fn):
    """A check made on the rate example networks: skipped for a rule that reads the
    postsynaptic membrane potential (tagged ``reads_voltage``), which runs only on spiking
    projections; :func:`check_spike_driven` checks it there."""

    @functools.wraps(fn)
    def check(rule):
        if rule.tags.reads_voltage:
            raise SkipCheck("the rule reads the postsynaptic membrane potential: it runs only "
                            "on spiking projections, where check_spike_driven checks it")
        return fn(rule)

    return check


@_check
def check_constructible(rule):
    """The class builds with its defaults, is a frozen dataclass; ``repr`` shows its parameters."""
    cls = type(rule)
    assert isinstance(rule, LearningRule), f"{cls.__name__} is not a LearningRule subclass"
    problem = dataclass_problem(cls)
    assert problem is None, problem
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, \
        f"{cls.__name__} must be a @dataclass(frozen=True)"
    default = cls()
    assert default == cls() and hash(default) == hash(cls()), \
        f"two default {cls.__name__}() instances are not equal (or hash differently)"
    text = repr(rule)
    assert isinstance(text, str) and text.startswith(f"{cls.__name__}("), \
        f"repr(rule) = {text!r} should start with {cls.__name__}("
    for k, v in rule.get_params().items():
        assert f"{k}={v!r}" in text, f"repr(rule) = {text!r} does not show {k}={v!r}"
    for attr in ("kernel", "batch_kernel"):
        fn = getattr(rule, attr)
        if fn is None and attr == "batch_kernel":
            continue
        assert callable(fn) and (JIT_DISABLED or hasattr(fn, "py_func")), \
            f"{cls.__name__}.{attr} is {fn!r}, not a compiled function (use @numba.njit)"


def _numpydoc_problems(cls) -> list:
    doc = cls.__dict__.get("__doc__") or ""
    if not doc.strip() or doc.startswith(f"{cls.__name__}("):  # dataclass's generated signature
        return ["has no docstring of its own"]
    lines = doc.strip().splitlines()
    problems = []
    if not lines[0].strip():
        problems.append("docstring does not open with a one-line summary")
    if len(lines) > 1 and lines[1].strip():
        problems.append("docstring summary is not followed by a blank line")
    for k in range(1, len(lines) - 1):
        under = lines[k + 1].strip()
        if under and set(under) == {"-"} and len(under) != len(lines[k].strip()):
            problems.append(f"numpydoc section {lines[k].strip()!r} has an underline of the wrong "
                            "length")
    return problems


def _registered(name):
    """The class registered as ``name``, or None."""
    try:
        return _rules.get(name)
    except ValueError:
        return None


@_check
def check_metadata(rule):
    """Name, family, locality, signals, summary, equation, reference and docstring are complete.

    The name is a lower-case identifier not registered to another class, ``family``
    is one of ``FAMILIES``, ``needs`` a subset of ``SIGNALS``; ``summary``,
    ``equation``, ``reference`` and every ``hyperparameter(doc=...)`` are non-empty;
    the class has a numpydoc docstring of its own.
    """
    cls = type(rule)
    name = cls.name
    assert isinstance(name, str) and name.isidentifier() and name == name.lower(), \
        f"{cls.__name__}.name = {name!r}: register the rule or give it a lower-case identifier name"
    registered = _registered(name)
    if registered is not None and registered is not cls:
        if _same_definition(registered, cls):
            raise AssertionError(
                f"{cls.__name__} was registered as {name!r} again after this class was made: "
                f"the registered class is now {_describe(registered)} and this one is "
                f"{_describe(cls)} (the module ran again: reloaded, or a notebook cell run "
                f"again); use the registered class, bl.rules.get({name!r})")
        inherited = any(getattr(base, "name", None) == name for base in cls.__mro__[1:])
        raise AssertionError(
            f"{cls.__name__}.name = {name!r} belongs to the registered rule "
            f"{registered.__qualname__} of {registered.__module__}"
            + (f", and {cls.__name__} inherits the name from its parent class: register it "
               "under a name of its own" if inherited and "name" not in cls.__dict__ else
               f", a different class: register {cls.__name__} under a name of its own"))
    assert cls.tags.family in FAMILIES, f"family = {cls.tags.family!r}; allowed: {', '.join(FAMILIES)}"
    assert cls.tags.locality in ("local", "nonlocal"), \
        f"locality = {cls.tags.locality!r}; allowed: local, nonlocal"
    assert set(cls.needs) <= set(SIGNALS), \
        f"needs = {sorted(cls.needs)}; allowed signals: {', '.join(SIGNALS)}"
    for attr in ("summary", "equation", "reference"):
        val = getattr(cls, attr)
        assert isinstance(val, str) and val.strip(), f"{attr} = {val!r}; give a non-empty string"
    for f in dataclasses.fields(cls):
        if f.metadata and "doc" in f.metadata:
            assert f.metadata["doc"], \
                f"hyperparameter {f.name!r} has no doc (hyperparameter(doc=...))"
    problems = _numpydoc_problems(cls)
    assert not problems, f"{cls.__name__} " + "; ".join(problems)


def _numeric_fields(cls):
    return [f for f in dataclasses.fields(cls)
            if isinstance(f.default, (bool, int, float)) and not isinstance(f.default, str)]


def _bad_values(f):
    """(value, expected exception, what it tests) for one field."""
    meta, out = f.metadata or {}, []
    is_int = isinstance(f.default, int) and not isinstance(f.default, bool)
    lo, hi = meta.get("low"), meta.get("high")
    if lo is not None:
        out.append((lo - 1 if is_int else lo - 1.0, ValueError, "below the range"))
        if meta.get("low_open"):
            out.append((lo, ValueError, "on the open lower bound"))
    if hi is not None:
        out.append((hi + 1 if is_int else hi + 1.0, ValueError, "above the range"))
        if meta.get("high_open"):
            out.append((hi, ValueError, "on the open upper bound"))
    out.append((str(f.default), TypeError, "a string"))
    if isinstance(f.default, bool):  # a switch: anything but True/False is the wrong type
        out.append((0.5, TypeError, "a number for a bool"))
        out.append((math.nan, TypeError, "NaN for a bool"))
        return out
    out.append((math.nan, ValueError, "NaN"))
    out.append((math.inf, ValueError, "infinite"))
    return out


@_check
def check_bad_hyperparameters(rule):
    """Out-of-range, non-finite and non-numeric hyperparameters raise, naming field and value.

    For every numeric field: below or above its declared range (and on an open
    bound) raises ValueError, NaN and inf raise ValueError, a string raises
    TypeError, and a number for a bool field raises TypeError.
    """
    cls = type(rule)
    for f in _numeric_fields(cls):
        for value, expected, what in _bad_values(f):
            try:
                cls(**{f.name: value})
            except expected as exc:
                msg = str(exc)
                shown = {repr(value), str(value)}
                if isinstance(value, float):
                    shown.add(f"{value:g}")
                assert f.name in msg and any(s in msg for s in shown), \
                    f"{cls.__name__}({f.name}={value!r}) ({what}) raised {expected.__name__} " \
                    f"with a message that does not name the field and the value: {msg!r}"
            except Exception as exc:  # noqa: BLE001 - the wrong kind is the failure
                raise AssertionError(
                    f"{cls.__name__}({f.name}={value!r}) ({what}) raised {type(exc).__name__}: "
                    f"{exc}; expected {expected.__name__}") from exc
            else:
                raise AssertionError(f"{cls.__name__}({f.name}={value!r}) ({what}) was accepted; "
                                     f"expected {expected.__name__}")


@_check
@_on_rate_networks
def check_params_round_trip(rule):
    """``type(rule)(**rule.get_params()) == rule``, and a trained network survives save/load.

    The loaded network has the same rules, weights, biases and state, and one more
    epoch of training gives both networks the same arrays, bit for bit.
    """
    cls = type(rule)
    params = rule.get_params()
    assert set(params) == {f.name for f in dataclasses.fields(cls)}, \
        f"get_params() keys {sorted(params)} are not the constructor's fields"
    again = cls(**params)
    assert again == rule, f"{cls.__name__}(**get_params()) = {again!r} != {rule!r}"
    if _registered(cls.name) is not cls:
        raise SkipCheck(f"save/load part: {cls.__name__} is not registered under its name "
                        f"{cls.name!r}, and bl.load restores rules by registered name")
    net, data = _trained(rule)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.npz")
        net.save(path)
        net2 = load(path)
    assert (len(net.populations), len(net.projections)) == \
        (len(net2.populations), len(net2.projections)), "the loaded network has another structure"
    for p, p2 in zip(net.populations, net2.populations):
        for attr in ("name", "size", "activation", "settle_steps"):
            assert getattr(p, attr) == getattr(p2, attr), \
                f"population {p.name!r}: {attr} {getattr(p, attr)!r} loads as {getattr(p2, attr)!r}"
    for q, q2 in zip(net.projections, net2.projections):
        assert (q.pre.name, q.post.name, q.bounds) == (q2.pre.name, q2.post.name, q2.bounds), \
            f"projection {q.name!r} loads as {q2!r}"
        assert q.rule == q2.rule, f"projection {q.name!r}: rule {q.rule!r} loads as {q2.rule!r}"
    _assert_bit_identical(_arrays(net), _arrays(net2), "after save and load")
    # the loaded network must also go on learning exactly as the saved one
    _train(net, data, seed=1)
    _train(net2, data, seed=1)
    _assert_bit_identical(_arrays(net), _arrays(net2), "one more epoch after save and load")


@_check
@_on_rate_networks
def check_kernel_never_writes_W(rule):
    """The kernel (and batch kernel) leave ``W`` bit-identical: changes go to ``dW`` only.

    Called directly on a copy of the trained ``W`` with a separate zero ``dW``, real
    activities, errors or reward, and the trained state. Skipped for constraint rules.
    """
    if rule.tags.constraint:
        raise SkipCheck("constraint rules edit W by design")
    net, data = _trained(rule)
    rows = np.arange(4)
    for q in _rule_projections(net, rule):
        pre, post, mod = _kernel_inputs(net, data, q, rule, rows)
        W0 = q.W.copy()
        W, *_ = _call_kernel(rule.kernel, q, rule, pre[0], post[0], mod[0], q.state)
        assert _same_bits(W, W0), \
            f"kernel wrote W of projection {q.name!r} (max change {_max_diff(W, W0):.3g})"
        if rule.batch_kernel is not None:
            W, *_ = _call_kernel(rule.batch_kernel, q, rule, pre, post, mod, q.state)
            assert _same_bits(W, W0), \
                f"batch_kernel wrote W of projection {q.name!r} (max change {_max_diff(W, W0):.3g})"


@_check
@_on_rate_networks
def check_kernel_adds_to_dW(rule):
    """The kernel adds its change to ``dW``/``db`` (deltas of several rules are summed there)."""
    if rule.tags.constraint:
        raise SkipCheck("constraint rules edit W by design and write no delta")
    net, data = _trained(rule)
    for q in _rule_projections(net, rule):
        pre, post, mod = (v[0] for v in _kernel_inputs(net, data, q, rule, np.arange(1)))
        _, dW, db, _ = _call_kernel(rule.kernel, q, rule, pre, post, mod, q.state)
        _, again, _, _ = _call_kernel(rule.kernel, q, rule, pre, post, mod, q.state)
        assert _same_bits(dW, again), \
            f"two kernel calls on identical inputs give different dW on projection {q.name!r}"
        _, dW1, db1, _ = _call_kernel(rule.kernel, q, rule, pre, post, mod, q.state,
                                      dW=np.full_like(q.W, 0.5), db=np.full_like(db, 0.5))
        for name, base, got in (("dW", dW, dW1), ("db", db, db1)):
            assert np.allclose(got - 0.5, base, rtol=1e-9, atol=1e-12), \
                f"kernel overwrites {name} of projection {q.name!r} instead of adding to it " \
                f"(max difference {_max_diff(got - 0.5, base):.3g})"


@_check
@_on_rate_networks
def check_elementwise_claim(rule):
    """A rule declaring ``elementwise`` or ``in_place`` gives the same result accumulated
    straight into W (the engine then passes ``dW`` = ``W``)."""
    if not (rule.tags.elementwise or rule.tags.in_place) or rule.tags.constraint:
        raise SkipCheck("the rule has neither the elementwise nor the in_place tag")
    net, data = _trained(rule)
    for q in _rule_projections(net, rule):
        pre, post, mod = (v[0] for v in _kernel_inputs(net, data, q, rule, np.arange(1)))
        _, dW, _, _ = _call_kernel(rule.kernel, q, rule, pre, post, mod, q.state)
        fused = q.W.copy()
        _call_kernel(rule.kernel, q, rule, pre, post, mod, q.state, W=fused, dW=fused)
        expect = q.W + dW
        assert np.allclose(fused, expect, rtol=1e-12, atol=1e-12), \
            f"elementwise/in_place = True, but adding into W in place differs from W + dW on projection " \
            f"{q.name!r} (max difference {_max_diff(fused, expect):.3g}): the change of W[i, j] " \
            "reads other weights"


def _row_block(state, lo, hi):
    return type(state)(*[v[lo:hi].copy() for v in state])


@_check
@_on_rate_networks
def check_row_local_claim(rule):
    """A rule tagged ``row_local`` gives the same rows when run on blocks of rows.

    The engine may then give each thread a block of rows of ``W`` (and of every state
    array) for a whole epoch.
    """
    if not rule.tags.row_local:
        raise SkipCheck("the rule is not tagged row_local")
    net, data = _trained(rule)
    for q in _rule_projections(net, rule):
        if any(np.shape(v)[:1] != (q.post.size,) for v in q.state):
            raise SkipCheck("the state has arrays that are not row-wise, so the engine never "
                            "splits this rule's rows")
        pre, post, mod = (v[0] for v in _kernel_inputs(net, data, q, rule, np.arange(1)))
        target = (lambda W: W) if rule.tags.constraint else (lambda W: np.zeros_like(W))
        W = q.W.copy()
        _, full, _, full_state = _call_kernel(rule.kernel, q, rule, pre, post, mod, q.state, W=W,
                                              dW=target(W), db=np.zeros(0, W.dtype))
        n = q.post.size
        for lo, hi in ((0, 1), (1, n // 2 + 1), (n // 2 + 1, n)):
            Wb = np.ascontiguousarray(q.W[lo:hi])
            _, part, _, part_state = _call_kernel(
                rule.kernel, q, rule, pre, post[lo:hi].copy(), mod[lo:hi].copy(),
                _row_block(q.state, lo, hi), W=Wb, dW=target(Wb), db=np.zeros(0, W.dtype))
            pairs = [("dW" if not rule.tags.constraint else "W", part, full[lo:hi])]
            pairs += [(f"state.{f}", getattr(part_state, f), getattr(full_state, f)[lo:hi])
                      for f in part_state._fields]
            for name, a, b in pairs:
                assert np.allclose(a, b, rtol=1e-12, atol=1e-14), \
                    f"tagged row_local, but rows {lo}..{hi - 1} of {name} computed on their own " \
                    f"differ from the same rows of the whole projection {q.name!r} (max " \
                    f"difference {_max_diff(a, b):.3g}): the update of a row reads other rows"


@_check
@_on_rate_networks
def check_state(rule):
    """``init_state`` gives a NamedTuple whose every field is a NumPy array of ``W.dtype``
    (at least one-dimensional), in float64 and float32 networks.

    A kernel changes its state in place, which only an array allows: a float field
    could never change (a NamedTuple cannot be assigned to inside a kernel), and a
    0-d array comes back from ``bl.load`` with another shape. A scalar is an array of
    shape ``(1,)``, read and written as ``state.x[0]``.
    """
    for dtype in ("float64", "float32"):
        net, _ = example_network(rule, dtype)
        for q in _rule_projections(net, rule):
            st = q.state
            assert isinstance(st, tuple) and hasattr(st, "_fields"), \
                f"init_state gave {type(st).__name__} {st!r} on projection {q.name!r}; it must " \
                "give a NamedTuple of arrays (collections.namedtuple; EmptyState() for none)"
            for f, v in zip(st._fields, st):
                if not isinstance(v, np.ndarray):
                    raise AssertionError(
                        f"state field {f!r} is {v!r} ({type(v).__name__}), not a NumPy array; "
                        f"every state field must be an array of W.dtype: for a scalar use "
                        f"np.zeros(1, projection.W.dtype), read and written as state.{f}[0] "
                        "in the kernel")
                assert v.ndim >= 1, \
                    f"state field {f!r} is a 0-d array; use shape (1,) (state.{f}[0] in the " \
                    "kernel): a 0-d array is not saved and loaded with its shape"
                assert v.dtype == q.W.dtype, \
                    f"state field {f!r} has dtype {v.dtype} in a {dtype} network; the state " \
                    f"follows W.dtype (np.zeros(..., projection.W.dtype))"


def _kernel_step(rule, q, pre, post, mod, state):
    """``(dW, db, state after)`` of one kernel call on copies."""
    _, dW, db, st = _call_kernel(rule.kernel, q, rule, pre, post, mod, state)
    return dW, db, st


def _same_step(a, b) -> bool:
    return _same_bits(a[0], b[0]) and _same_bits(a[1], b[1]) and \
        all(_same_bits(x, y) for x, y in zip(a[2], b[2]))


def _signal_cases(rule, rows=8):
    """``(what, projection, pre, post, mod, state)`` for real samples of the example network
    as built, after one epoch, and after that epoch's ``end_task``."""
    cases = []
    fresh, data = example_network(rule)
    trained, _ = _trained(rule)
    for what, net in (("as built", fresh), ("after one epoch", trained)):
        for q in _rule_projections(net, rule):
            pre, post, mod = _kernel_inputs(net, data, q, rule, np.arange(rows))
            states = [(what, q.state)]
            if what != "as built" and type(rule).end_task is not LearningRule.end_task:
                states.append(("after end_task", rule.end_task(q, _copy_state(q.state))))
            for label, st in states:
                cases += [(label, q, pre[r], post[r], mod[r], st) for r in range(len(pre))]
    return cases


@_check
@_on_rate_networks
def check_signals(rule):
    """The rule changes ``W`` under real signals, reads the third factor it declares in
    ``needs``, and no undeclared one.

    On real samples of the example network (as built, after one epoch, and after
    ``end_task`` for a rule that overrides it), calling the kernel directly:

    * some sample gives a non-zero ``dW`` or ``db``;
    * with ``"reward"`` in ``needs``: reward 1 and reward 0 give different updates
      (``dW``, ``db`` or the state);
    * with ``"error"``: the real error and another error give different updates;
    * with neither: ``mod`` = 0.5 everywhere gives the same as ``mod`` = 0. The engine
      hands such a rule zeros, so a kernel that reads ``mod`` without declaring its
      signal sees nothing and may still pass every other check.

    Skipped for constraint rules (they edit ``W`` by design and read no signal).
    """
    if rule.tags.constraint:
        raise SkipCheck("constraint rules edit W by design and read no signal")
    needs = set(rule.needs)
    cases = _signal_cases(rule)
    steps = [_kernel_step(rule, q, pre, post, mod, st) for _, q, pre, post, mod, st in cases]
    if not any(np.any(dW != 0) or np.any(db != 0) for dW, db, _ in steps):
        if needs & {"error", "reward"}:
            hint = "check that the kernel adds its change to dW"
        else:
            hint = ("if the kernel reads mod, declare its signal in needs ('reward' or "
                    "'error'): without one the engine passes mod = 0")
        raise AssertionError(
            "dW and db are zero on every sample of the example network (as built and after "
            f"one epoch): the rule never changes W; {hint} (a rule that edits W itself "
            "is tagged constraint)")
    for signal in ("reward", "error"):
        if signal not in needs:
            continue
        differs = False
        for (_, q, pre, post, mod, st), step in zip(cases, steps):
            if signal == "reward":
                one = _kernel_step(rule, q, pre, post, np.ones_like(mod), st)
                zero = _kernel_step(rule, q, pre, post, np.zeros_like(mod), st)
                differs = not _same_step(one, zero)
            else:
                other = _kernel_step(rule, q, pre, post, 2 * mod + mod.dtype.type(0.25), st)
                differs = not _same_step(step, other)
            if differs:
                break
        assert differs, \
            f"needs declares {signal!r}, but the kernel gives the same dW, db and state " \
            f"for {'reward 1 and reward 0' if signal == 'reward' else 'two different errors'} " \
            "on every sample: it does not read mod (the engine passes the " \
            f"{signal} as mod)"
    if not needs & {"reward", "error"}:
        for (what, q, pre, post, mod, st), step in zip(cases, steps):
            half = _kernel_step(rule, q, pre, post, np.full_like(mod, 0.5), st)
            zero = _kernel_step(rule, q, pre, post, np.zeros_like(mod), st)
            assert _same_step(half, zero), \
                "the kernel reads mod (mod = 0.5 and mod = 0 give different updates), but " \
                "needs declares neither 'reward' nor 'error': the engine then passes " \
                "mod = 0, so the rule never sees its third factor; add the signal to needs"


@_check
@_on_rate_networks
def check_dtypes_kept(rule):
    """After training in float32 and in float64, W, biases and every state array keep the dtype."""
    for dtype in ("float32", "float64"):
        net, data = example_network(rule, dtype)
        assert net.dtype == np.dtype(dtype), f"example network asked for {dtype} is {net.dtype}"
        _train(net, data)
        for key, arr in _arrays(net).items():
            assert isinstance(arr, np.ndarray), \
                f"{dtype}: {key} is a {type(arr).__name__}, not an array"
            assert arr.dtype == np.dtype(dtype), f"{dtype} network: {key} has dtype {arr.dtype}"


@_check
@_on_rate_networks
def check_deterministic(rule):
    """Two identical trainings (online, then minibatch) give bit-identical weights and state."""
    for kwargs in ({"driver": "online"}, {"driver": "minibatch", "batch_size": 8}):
        runs = []
        for _ in range(2):
            net, data = example_network(rule)
            _train(net, data, epochs=2, seed=3, **kwargs)
            runs.append(_arrays(net))
        _assert_bit_identical(runs[0], runs[1], f"two identical trainings ({kwargs['driver']})")


@_check
@_on_rate_networks
def check_online_equals_batch1(rule):
    """Online training equals minibatch training with batch size 1 (rtol 1e-10, float64).

    The two drivers sum in different orders (loops against BLAS), and training
    amplifies those last-bit differences (with momentum 0.9, to 1e-6 after 200
    presentations), so the comparison is made after 50 presentations.
    """
    if not rule.tags.online_equals_batch1:
        raise SkipCheck("the rule declares online_equals_batch1 = False")
    (a, data), (b, _) = example_network(rule), example_network(rule)
    data = tuple(np.asarray(v)[:50] for v in _as_tuple(data))
    _train(a, data, driver="online")
    _train(b, data, driver="minibatch", batch_size=1)
    got, expect = _arrays(a), _arrays(b)
    for k in expect:
        scale = float(np.max(np.abs(expect[k]), initial=0.0))
        assert np.allclose(got[k], expect[k], rtol=1e-10, atol=1e-10 * scale), \
            f"online and minibatch(batch_size=1) differ in {k} (max abs difference " \
            f"{_max_diff(got[k], expect[k]):.3g}, scale {scale:.3g})"


@_check
@_on_rate_networks
def check_numpy_twin(rule):
    """The kernel equals the rule's ``numpy_twin`` on real signals, step by step (state included).

    ``numpy_twin(rule, W, pre, post, mod, state, dt) -> (dW, db)`` updates ``state``
    in place; for a constraint rule ``dW`` is the constrained ``W``.
    """
    twin = type(rule).numpy_twin
    if twin is None:
        raise SkipCheck("no NumPy twin")
    net, data = _trained(rule)
    q = _rule_projections(net, rule)[0]
    pre, post, mod = _kernel_inputs(net, data, q, rule, np.arange(10))
    W = q.W.copy()
    if rule.tags.constraint:  # trained weights already obey the constraint: give it work to do
        noise = np.random.default_rng(0).standard_normal(W.shape)
        W = 3 * W + noise.astype(W.dtype) * max(float(np.abs(W).max()), 1.0)
    k_state, t_state = _copy_state(q.state), _copy_state(q.state)
    dt = W.dtype.type(1.0)
    for r in range(pre.shape[0]):
        Wk = W.copy()
        # the engine hands a constraint W itself as the target
        extra = {"dW": Wk, "db": np.zeros(0, W.dtype)} if rule.tags.constraint else {}
        _, out, db, k_state = _call_kernel(rule.kernel, q, rule, pre[r], post[r], mod[r], k_state,
                                           W=Wk, **extra)
        got = (out, db)
        exp_dW, exp_db = twin(rule, W.copy(), pre[r].copy(), post[r].copy(), mod[r].copy(),
                              t_state, dt)
        exp_db = np.zeros_like(got[1]) if exp_db is None or np.size(exp_db) == 0 else exp_db
        pairs = [("W" if rule.tags.constraint else "dW", got[0], exp_dW), ("db", got[1], exp_db)]
        pairs += [(f"state.{f}", getattr(k_state, f), getattr(t_state, f)) for f in k_state._fields]
        for name, a, b in pairs:
            assert np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-9, atol=1e-12), \
                f"step {r}: {name} of the kernel and of numpy_twin differ (max abs difference " \
                f"{_max_diff(a, b):.3g})"
        W = 3 * got[0] if rule.tags.constraint else W + got[0]


@_check
@_on_rate_networks
def check_affine_kernel(rule):
    """The ``affine`` fast path says what the kernel does: ``dW_i = alpha_i W_i + beta_i x``
    (``beta_i d`` with ``d`` from the ``direction`` fast path when the rule has one), with the
    same state after every step, on real signals."""
    fast = fast_path(rule)
    fn, direction = fast.affine, fast.direction
    if fn is None:
        raise SkipCheck("no affine fast path registered")
    net, data = _trained(rule)
    q = _rule_projections(net, rule)[0]
    pre, post, mod = _kernel_inputs(net, data, q, rule, np.arange(10))
    W = q.W.copy()
    k_state, a_state = _copy_state(q.state), _copy_state(q.state)
    fields = tuple(getattr(a_state, "_fields", ()))
    inputs = fast.input_state
    if inputs is not None:
        assert direction is not None and all(f in fields for f in inputs), \
            f"input_state {inputs!r} names state fields moved by the direction path; the " \
            f"rule's state has {fields!r}" + ("" if direction is not None else
                                              " and the rule has no the direction path")
    dt = W.dtype.type(0.5)
    for r in range(pre.shape[0]):
        dW = np.zeros_like(W)
        rule.kernel(W.copy(), pre[r], post[r], mod[r], kernel_params(rule, W.dtype), k_state, dt, dW,
                    np.zeros(0, W.dtype))
        d = pre[r]
        if direction is not None:
            d = np.full_like(pre[r], np.nan)
            before = _copy_state(a_state)
            direction(pre[r], kernel_params(rule, W.dtype), a_state, dt, d)
            for f in fields if inputs is not None else ():  # the declared split of the state
                if f not in inputs:
                    assert np.array_equal(getattr(a_state, f), getattr(before, f)), \
                        f"step {r}: the direction path changed state.{f}, which is not in " \
                        f"input_state {inputs!r}"
        before = _copy_state(a_state)
        alpha, beta = np.zeros(W.shape[0], W.dtype), np.zeros(W.shape[0], W.dtype)
        fn(pre[r], post[r], kernel_params(rule, W.dtype), a_state, dt, alpha, beta)
        for f in inputs or ():
            assert np.array_equal(getattr(a_state, f), getattr(before, f)), \
                f"step {r}: the affine path changed state.{f}, which input_state {inputs!r} " \
                f"leaves to the direction path"
        expect = alpha[:, None] * W + beta[:, None] * d[None, :]
        scale = float(np.max(np.abs(dW), initial=0.0))
        what = "beta_i d (d from the direction path)" if direction is not None else "beta_i x"
        assert np.allclose(dW, expect, rtol=1e-9, atol=1e-12 * max(scale, 1.0)), \
            f"step {r}: the kernel's dW is not alpha_i W_i + {what} from the affine path (max " \
            f"abs difference {_max_diff(dW, expect):.3g}, scale {scale:.3g})"
        for f in k_state._fields:
            a, b = getattr(k_state, f), getattr(a_state, f)
            assert np.allclose(a, b, rtol=1e-12, atol=0), \
                f"step {r}: state.{f} after the kernel and after the affine path differ " \
                f"(max abs difference {_max_diff(a, b):.3g})"
        W = W + dW


@_check
@_on_rate_networks
def check_segment_kernel(rule):
    """The ``segment`` fast path gives what the engine's per-sample loop gives (forward pass,
    activation, then ``kernel``, one sample after another) on real inputs, up to rounding,
    for the whole projection and for blocks of its rows, and returns -1 when every
    activity is finite."""
    from ..network.activations import ACTIVATIONS, act_forward
    fn = fast_path(rule).segment
    if fn is None:
        raise SkipCheck("no segment fast path registered")
    assert rule.tags.row_local and set(rule.needs) <= {"pre", "post"}, \
        "a segment fast path is registered for a rule that is not row_local or reads more than " \
        "pre and post (the engine only uses it for row_local rules that read pre and post)"
    net, data = _trained(rule)
    q = _rule_projections(net, rule)[0]
    X = _kernel_inputs(net, data, q, rule, np.arange(min(150, len(_as_tuple(data)[0]))))[0]
    code = ACTIVATIONS[q.post.activation]
    params, dt = kernel_params(rule, q.W.dtype), q.W.dtype.type(1.0)
    b = np.ascontiguousarray(q.post.bias)
    # the reference: one sample at a time, as the engine's per-sample driver
    W_ref, st_ref = q.W.copy(), _copy_state(q.state)
    z = np.zeros(q.post.size, W_ref.dtype)
    y = np.zeros_like(z)
    for x in X:
        z[:] = W_ref @ x + b
        act_forward(code, z, y)
        dW = np.zeros_like(W_ref)
        rule.kernel(W_ref, x, y.copy(), np.zeros_like(y), params, st_ref, dt, dW,
                    np.zeros(0, W_ref.dtype))
        W_ref += dW
    n = q.post.size
    for lo, hi in ((0, n), (0, 1), (1, n // 2 + 1), (n // 2 + 1, n)):
        if lo >= hi:
            continue
        W = q.W[lo:hi].copy()
        st = _row_block(q.state, lo, hi)
        X_seen = X.copy()
        bad = fn(W, b[lo:hi].copy(), X_seen, code, params, st, dt)
        assert np.array_equal(X_seen, X), \
            f"rows {lo}..{hi - 1}: the segment path wrote X (the engine may pass a view of the " \
            "training data: X is read-only)"
        assert bad == -1, f"rows {lo}..{hi - 1}: the segment path returned {bad} although every " \
                          "activity is finite (it must return -1)"
        scale = float(np.max(np.abs(W_ref[lo:hi] - q.W[lo:hi]), initial=0.0))
        assert np.allclose(W, W_ref[lo:hi], rtol=1e-9, atol=1e-9 * max(scale, 1e-12)), \
            f"rows {lo}..{hi - 1}: W after the segment path differs from the per-sample loop over " \
            f"kernel (max abs difference {_max_diff(W, W_ref[lo:hi]):.3g}, change {scale:.3g})"
        for f in st._fields:
            a, r = getattr(st, f), getattr(st_ref, f)[lo:hi]
            assert np.allclose(a, r, rtol=1e-9, atol=1e-12), \
                f"rows {lo}..{hi - 1}: state.{f} after the segment path differs from the " \
                f"per-sample loop over kernel (max abs difference {_max_diff(a, r):.3g})"


@_check
@_on_rate_networks
def check_reward_segment_kernel(rule):
    """The ``reward_segment`` fast path gives what the engine's per-sample loop gives (forward
    pass, activation, loss, reward, then ``kernel`` with the reward, one sample after
    another) on real inputs and targets, up to rounding: weights, state, summed loss and
    rewards; returns -1 when every loss is finite, and writes neither X nor T."""
    from ..engine.plan import make_plan
    from ..engine.run import _as_targets, default_loss
    from ..network.activations import ACTIVATIONS, act_forward
    from ..network.losses import is_correct, loss_and_delta
    fn = fast_path(rule).reward_segment
    if fn is None:
        raise SkipCheck("no reward_segment fast path registered")
    assert "reward" in rule.needs, \
        "a reward_segment fast path is registered for a rule that does not read the reward " \
        "(the engine only uses it for rules that need a reward)"
    net, data = _trained(rule)
    q = _rule_projections(net, rule)[0]
    x, y = _as_tuple(data)[:2]
    n = min(150, len(x))
    dtype = q.W.dtype
    X = np.ascontiguousarray(x[:n], dtype=dtype)
    T = np.ascontiguousarray(_as_targets(net, y[:n], n)[0], dtype=dtype)  # as train makes them
    code = ACTIVATIONS[q.post.activation]
    plan = make_plan(net, default_loss(net))  # the loss code and decision threshold train uses
    loss, threshold = plan.loss, plan.threshold
    params, dt = kernel_params(rule, dtype), dtype.type(0.5)
    b = np.ascontiguousarray(q.post.bias)
    # the reference: one sample at a time, as the engine's per-sample driver
    W_ref, st_ref = q.W.copy(), _copy_state(q.state)
    z = np.zeros(q.post.size, dtype)
    a, d = np.zeros_like(z), np.zeros_like(z)
    loss_ref, hits_ref = 0.0, 0
    for k in range(n):
        z[:] = W_ref @ X[k] + b
        act_forward(code, z, a)
        loss_ref += loss_and_delta(loss, code, z, a, T[k], d)
        hit = is_correct(a, T[k], threshold)
        hits_ref += hit
        dW = np.zeros_like(W_ref)
        rule.kernel(W_ref, X[k], a.copy(), np.full_like(a, hit), params, st_ref, dt, dW,
                    np.zeros(0, dtype))
        W_ref += dW
    W, st, out = q.W.copy(), _copy_state(q.state), np.zeros(2)
    X_seen, T_seen = X.copy(), T.copy()
    bad = fn(W, b, X_seen, T_seen, code, loss, threshold, params, st, dt, out)
    assert np.array_equal(X_seen, X) and np.array_equal(T_seen, T), \
        "the reward_segment path wrote X or T (the engine may pass views of the training data)"
    assert bad == -1, f"the reward_segment path returned {bad} although every loss is finite " \
                      "(it must return -1)"
    scale = float(np.max(np.abs(W_ref - q.W), initial=0.0))
    assert np.allclose(W, W_ref, rtol=1e-9, atol=1e-9 * max(scale, 1e-12)), \
        f"W after the reward_segment path differs from the per-sample loop over kernel (max abs " \
        f"difference {_max_diff(W, W_ref):.3g}, change {scale:.3g})"
    for f in st._fields:
        u, r = getattr(st, f), getattr(st_ref, f)
        assert np.allclose(u, r, rtol=1e-9, atol=1e-12), \
            f"state.{f} after the reward_segment path differs from the per-sample loop over " \
            f"kernel (max abs difference {_max_diff(u, r):.3g})"
    assert math.isclose(out[0], loss_ref, rel_tol=1e-9) and out[1] == hits_ref, \
        f"the reward_segment path summed loss {out[0]:.10g} and {out[1]:g} rewards; the " \
        f"per-sample loop {loss_ref:.10g} and {hits_ref}"


@_check
@_on_rate_networks
def check_rest_kernel(rule):
    """The ``rest_kernel`` adds to ``dW`` without writing ``W``, is deterministic, and
    ``n`` steps in one call equal ``n`` calls of one step."""
    fn = type(rule).rest_kernel
    if fn is None:
        raise SkipCheck("no rest_kernel")
    net, _ = _trained(rule)
    q = _rule_projections(net, rule)[0]
    W0 = q.W.copy()
    params, dt = kernel_params(rule, W0.dtype), W0.dtype.type(2.0)
    runs = []
    for split in (False, False, True):
        W, st = W0.copy(), _copy_state(q.state)
        dW = np.full_like(W0, 0.25)
        if split:
            for _ in range(20):
                fn(W, params, st, dt, 1, dW)
        else:
            fn(W, params, st, dt, 20, dW)
        assert _same_bits(W, W0), "rest_kernel wrote W (it must add its change to dW)"
        runs.append((dW, st))
    (d1, s1), (d2, s2), (d3, s3) = runs
    assert _same_bits(d1, d2) and all(_same_bits(a, b) for a, b in zip(s1, s2)), \
        "rest_kernel is not deterministic: two calls from the same state differ"
    scale = float(np.max(np.abs(d1 - 0.25), initial=0.0))
    assert np.allclose(d1, d3, rtol=1e-9, atol=1e-12 * max(scale, 1.0)), \
        f"20 steps in one call and 20 calls of one step differ in dW (max abs difference " \
        f"{_max_diff(d1, d3):.3g}); also check that the kernel adds to dW instead of overwriting it"
    for f, a, b in zip(s1._fields, s1, s3):
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12), \
            f"20 steps in one call and 20 calls of one step differ in state.{f}"


@_check
@_on_rate_networks
def check_finite_long_run(rule):
    """10^4 online presentations of digits leave weights, biases and state finite."""
    if rule.tags.unstable:
        raise SkipCheck(f"{type(rule).__name__} is tagged unstable "
                        "(it may diverge by design)")
    if own_example(rule) is None:
        net, data = example_network(rule, n_samples=None)
    else:
        net, data = example_network(rule)
    n = len(_as_tuple(data)[0])
    epochs = -(-LONG_RUN_STEPS // n)
    try:
        _train(net, data, epochs=epochs, driver="online")
    except DivergenceError as exc:
        raise AssertionError(f"diverged after {exc.step} online presentations: {exc}") from exc
    for key, arr in _arrays(net).items():
        assert np.all(np.isfinite(arr)), f"{key} is not finite after {epochs * n} presentations"


#: the checks in the order they run: cheap ones first; determinism before the direct kernel
#: calls, so that a nondeterministic kernel is reported as such
@_check
def check_spike_driven(rule):
    """A spiking rule's event kernels, run by :func:`brainlearn.simulate` on Poisson inputs
    onto LIF neurons, give the weights its ``numpy_twin`` gives when it replays the recorded
    spike trains step by step (clock-driven: traces decay, then the step's presynaptic
    spikes, then its postsynaptic ones, then the step's reward as ``mod[0]`` for a rule with
    an ``on_reward`` kernel).

    A rule that reads the postsynaptic potential (``reads_voltage``) runs onto Clopath's
    AdEx cells instead, and the twin reads the recorded potentials of each step as ``mod``;
    its clock-driven ``kernel`` must give the twin's weights and state too.
    """
    from ..engine.spiking import Monitor, simulate
    from ..neurons import LIF, AdEx
    from ..network import Network
    from ..rules.stdp import SpikingRule
    if not isinstance(rule, SpikingRule):
        raise SkipCheck("no event kernels (not a spiking rule)")
    twin = type(rule).numpy_twin
    if twin is None:
        raise SkipCheck("no NumPy twin")
    voltage = rule.tags.reads_voltage
    hi = float(getattr(rule, "w_max", 0.05))
    if voltage:  # weights of the scale of Clopath's, moved by the potentials in a second
        hi = 0.02
    W0 = np.random.default_rng(0).uniform(0.1 * hi, 0.6 * hi, (3, 120))
    # inputs at the rate that drives the neurons to fire (a mean conductance of 0.6 for
    # the AdEx cells, 0.4 for the LIF ones); one source, so that the structure is that of
    # the rule's other tests and the compiled simulator is shared
    drive = 0.6 if voltage else 0.4
    rate = min(max(drive / max(float(W0.mean()) * 120 * 5e-3, 1e-12), 2.0), 400.0)
    net = Network(seed=3)
    src = net.add_poisson(120, rate=rate)
    out = net.add_population(3, neuron=AdEx.clopath() if voltage else LIF())
    q = net.connect(src, out, rule=rule, init=W0)
    dt, T = 1e-4, 1.0
    # a rule with a reward kernel gets reward pulses of both signs (mod[0] for the twin)
    rewarded = type(rule).on_reward is not None
    reward = ([0.25, 0.5, 0.75, 0.9], [1.0, -0.5, 2.0, 1.0]) if rewarded else None
    monitor = Monitor(state={out.name: ("v",)}, state_every=dt) if voltage else None
    r = simulate(net, T, dt=dt, seed=5, reward=reward, monitor=monitor)
    assert r.counts[out.name].sum() > 0, "the example neurons never fired"
    n = int(round(T / dt))
    mod = np.zeros((n, 3 if voltage else 1))
    if rewarded:
        np.add.at(mod[:, 0], np.floor(np.array(reward[0]) / dt + 1e-9).astype(int), reward[1])
    if voltage:
        mod[:] = r.state[out.name]["v"]
    pre = np.zeros((n, 120))
    post = np.zeros((n, 3))
    for counts, pop in ((pre, src), (post, out)):
        t, i = r.spikes[pop.name]
        np.add.at(counts, (np.round(t / dt).astype(int) - 1, i), 1)
    W = W0.astype(np.float64).copy()
    state = rule.prepare_state(rule.init_state(q, np.random.default_rng(0)), dt)
    for k in range(n):
        dW, _ = twin(rule, W, pre[k], post[k], mod[k] if rewarded or voltage else None, state,
                     dt)
        W += dW
    if rewarded:
        assert np.abs(W - W0).max() > 0.01 * hi, "the rewards hardly moved the twin's weights"
    if voltage:
        assert np.abs(W - W0).max() > 1e-3 * hi, "the potentials hardly moved the twin's weights"
    assert np.allclose(q.W, W, rtol=1e-9, atol=1e-12), \
        f"the event-driven kernels and numpy_twin's clock-driven replay differ (max abs " \
        f"difference {_max_diff(q.W, W):.3g})"
    if voltage:  # the clock-driven kernel, on the same signals
        Wk = W0.astype(np.float64).copy()
        st = rule.prepare_state(rule.init_state(q, np.random.default_rng(0)), dt)
        params = kernel_params(rule, Wk.dtype)
        dW, db = np.zeros_like(Wk), np.zeros(3)
        for k in range(n):
            dW[:] = 0.0
            rule.kernel(Wk, pre[k], post[k], mod[k], params, st, dt, dW, db)
            Wk += dW
        assert np.allclose(Wk, W, rtol=1e-9, atol=1e-12), \
            f"the clock-driven kernel and numpy_twin differ (max abs difference " \
            f"{_max_diff(Wk, W):.3g})"
        for f in st._fields:
            assert np.allclose(getattr(st, f), getattr(state, f), rtol=1e-9, atol=1e-12), \
                f"state.{f} of the clock-driven kernel and of numpy_twin differ"


_CHECKS = (check_constructible, check_metadata, check_bad_hyperparameters, check_state,
           check_params_round_trip, check_deterministic, check_kernel_never_writes_W,
           check_kernel_adds_to_dW, check_signals, check_elementwise_claim,
           check_row_local_claim, check_dtypes_kept,
           check_online_equals_batch1, check_numpy_twin, check_affine_kernel,
           check_segment_kernel, check_reward_segment_kernel, check_rest_kernel,
           check_spike_driven, check_finite_long_run)


