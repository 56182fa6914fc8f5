"""The associative-memory kernels equal their textbook NumPy twins (tests/naive.py).

Storage: every memory rule, stored pattern by pattern through ``bl.memory.store`` (the
rule's kernel called directly) equals its twin applied in order, and equals
``bl.train`` on the same network (the engine's compiled driver). Recall: the compiled
asynchronous and synchronous dynamics (temperature 0 and Glauber) equal the twins that
recompute every field from scratch, for +-1 and 0/1 units. Weights of the recall tests are
integers, so both sides compute fields exactly and ties (field exactly 0) agree.
These tests also run with ``NUMBA_DISABLE_JIT=1`` (tests/test_nojit.py): sizes are small.
"""

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.rules import (Cascade, ClippedHebb, HopfieldHebb, PseudoInverse, StochasticBinary,
                              Storkey)

import naive

pytestmark = pytest.mark.twin

M = bl.memory
N, P = 12, 20
TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=2e-4, atol=2e-5)}

#: (rule, its twin); exact binary fractions where float32 casts of the parameters matter
CASES = {
    "hopfield_hebb": (HopfieldHebb(lr=1.5, offset=0.0), naive.NaiveHopfieldHebb),
    "hopfield_hebb_offset": (HopfieldHebb(lr=2.0, offset=0.25), naive.NaiveHopfieldHebb),
    "storkey": (Storkey(lr=1.0), naive.NaiveStorkey),
    "pseudo_inverse": (PseudoInverse(), naive.NaivePseudoInverse),
    "pseudo_inverse_diagonal": (PseudoInverse(zero_diagonal=False), naive.NaivePseudoInverse),
    "clipped_hebb": (ClippedHebb(lr=0.25, bound=0.5), naive.NaiveClippedHebb),
    "stochastic_binary": (StochasticBinary(q=0.25, ltd_ratio=2.0), naive.NaiveStochasticBinary),
    "stochastic_binary_sparse": (StochasticBinary(q=0.5, ltd_ratio=0.5, w_low=0.0, w_high=1.0,
                                                  sparse=True), naive.NaiveStochasticBinary),
    "cascade": (Cascade(n_levels=4, x=0.5), naive.NaiveCascade),
    "cascade_sparse": (Cascade(n_levels=3, x=0.25, w_low=0.0, w_high=2.0, sparse=True),
                       naive.NaiveCascade),
}


def _network(rule, dtype, seed=0):
    sparse = getattr(rule, "sparse", False) or getattr(rule, "offset", 0) > 0
    if sparse:
        net = M.hopfield_network(N, rule=rule, units="binary", coding_level=0.25, seed=seed,
                                 dtype=dtype)
        X = M.random_patterns(P, N, units="binary", coding_level=0.25, seed=seed + 1, dtype=dtype)
    else:
        net = M.hopfield_network(N, rule=rule, seed=seed, dtype=dtype)
        X = M.random_patterns(P, N, seed=seed + 1, dtype=dtype)
    return net, X


def _twin(rule, twin_cls, proj):
    twin = twin_cls(**rule.get_params())
    if hasattr(proj.state, "rng"):
        twin.key = int(proj.state.rng[0])
    twin.reset(np.array(proj.W, np.float64))
    if hasattr(proj.state, "level"):
        twin.level = np.array(proj.state.level, np.float64)
    return twin


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_storage_equals_twin(case, dtype):
    rule, twin_cls = CASES[case]
    net, X = _network(rule, dtype)
    proj = M.recurrent(net)
    twin = _twin(rule, twin_cls, proj)
    W = np.array(proj.W, np.float64)
    for x in np.asarray(X, np.float64):
        dW, _ = twin.delta(W.copy(), x, x, np.zeros_like(x), 1.0)
        W = W + dW
    M.store(net, X)
    np.testing.assert_allclose(proj.W, W, err_msg=case, **TOL[dtype])
    assert proj.W.dtype == np.dtype(dtype)
    if getattr(rule, "zero_diagonal", True):
        assert np.all(np.diag(proj.W) == 0), "self-couplings must stay 0"
    if hasattr(proj.state, "level"):
        np.testing.assert_array_equal(proj.state.level, twin.level)
    if hasattr(proj.state, "rng"):
        assert proj.state.rng[1] == P  # one step of the generator per pattern


@pytest.mark.parametrize("case", list(CASES))
def test_store_equals_engine_training(case):
    """bl.memory.store (kernel called per pattern) gives what bl.train gives on the network."""
    rule = CASES[case][0]
    (a, X), (b, _) = _network(rule, "float64"), _network(rule, "float64")
    M.store(a, X[:7])
    M.store(a, X[7:])  # a second call continues the stream
    bl.train(b, (X,), shuffle=False, quiet=True)
    np.testing.assert_allclose(M.recurrent(a).W, M.recurrent(b).W, rtol=1e-12, atol=1e-13)
    for f, u, v in zip(M.recurrent(a).state._fields, M.recurrent(a).state, M.recurrent(b).state):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-13, err_msg=f)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_shot_equals_online_hebb(dtype):
    (a, X), (b, _) = _network(HopfieldHebb(), dtype), _network(HopfieldHebb(), dtype)
    M.store(a, X)
    M.store(b, X, one_shot=True)
    assert M.recurrent(b).W.dtype == np.dtype(dtype)
    np.testing.assert_allclose(M.recurrent(a).W, M.recurrent(b).W, **TOL[dtype])


def test_pseudo_inverse_is_the_closed_form():
    """From W = 0, Greville's updates give W = Xi Xi^+ (off the diagonal) for N patterns and
    more: once the inputs span the space, further patterns change nothing."""
    net, X = _network(PseudoInverse(zero_diagonal=False), "float64")
    M.store(net, X[:8])
    Xi = X[:8].T
    np.testing.assert_allclose(M.recurrent(net).W, Xi @ np.linalg.pinv(Xi), atol=1e-10)
    M.store(net, X[8:])
    np.testing.assert_allclose(M.recurrent(net).W, np.eye(N), atol=1e-9)


# -- recall -----------------------------------------------------------------------------------------
def _integer_weights(units, symmetric, dtype, N=N):
    rng = np.random.default_rng(7)
    if units == "pm1":
        X = np.where(rng.random((4, N)) < 0.5, 1.0, -1.0)
        W = X.T @ X  # even number of patterns: fields of exactly 0 occur (ties)
    else:
        X = (rng.random((4, N)) < 0.3).astype(float)
        W = (X - 0.3).T @ (X - 0.3) * 10
        W = np.round(W)
    if not symmetric:
        W = W + rng.integers(-2, 3, W.shape)
    np.fill_diagonal(W, 0)
    b = np.zeros(N) if units == "pm1" else np.full(N, -1.0)
    cues = M.flip_bits(np.vstack([X, X]), 0.25, seed=3, units=units)
    return W.astype(dtype), b, cues.astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["async", "sync"])
@pytest.mark.parametrize("units,symmetric,temperature", [
    ("pm1", True, 0.0), ("pm1", False, 0.0), ("pm1", True, 2.0), ("binary", True, 0.0),
    ("binary", False, 1.5)])
def test_recall_equals_twin(units, symmetric, temperature, mode, dtype):
    W, b, cues = _integer_weights(units, symmetric, dtype)
    low = -1.0 if units == "pm1" else 0.0
    twin = naive.hopfield_async if mode == "async" else naive.hopfield_sync
    S, steps, conv = twin(W, b, cues, low, 6, temperature, 11)
    res = M.recall(W, cues, mode=mode, steps=6, temperature=temperature, seed=11, units=units,
                   threshold=-b)
    np.testing.assert_array_equal(res.states, S)
    np.testing.assert_array_equal(res.steps, steps)
    np.testing.assert_array_equal(res.converged, conv)
    assert res.states.dtype == np.dtype(dtype)


@pytest.mark.parametrize("units,symmetric", [("pm1", True), ("pm1", False), ("binary", True),
                                             ("binary", False)])
def test_async_recall_from_candidate_to_candidate_equals_twin(units, symmetric):
    """From LISTED_UNITS units on, a sweep at temperature 0 goes from one unit unstable at
    its start to the next (the units between checked together): the twin's states, sweeps
    and convergence, ties included."""
    from brainlearn.engine.hopfield import LISTED_UNITS
    n = LISTED_UNITS + 88
    W, b, cues = _integer_weights(units, symmetric, "float32", N=n)
    low = -1.0 if units == "pm1" else 0.0
    S, steps, conv = naive.hopfield_async(W, b, cues, low, 6, 0.0, 11)
    res = M.recall(W, cues, steps=6, seed=11, units=units, threshold=-b)
    np.testing.assert_array_equal(res.states, S)
    np.testing.assert_array_equal(res.steps, steps)
    np.testing.assert_array_equal(res.converged, conv)


def test_recall_of_a_network_reads_its_threshold():
    """A network's units and threshold come from its population (bias = -threshold)."""
    net = M.hopfield_network(N, units="binary", coding_level=0.25, seed=0)
    X = M.random_patterns(3, N, units="binary", coding_level=0.25, seed=1)
    M.store(net, X)
    q = M.recurrent(net)
    S, steps, _ = naive.hopfield_async(q.W, q.post.bias, X, 0.0, 5, 0.0, 4)
    res = M.recall(net, X, steps=5, seed=4)
    np.testing.assert_array_equal(res.states, S)
    np.testing.assert_array_equal(res.steps, steps)
    np.testing.assert_allclose(q.post.bias, -(0.5 - 0.25))
