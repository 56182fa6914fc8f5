"""bl.rest (time without input) and bl.end_task (task boundaries), on rules defined here."""

import collections
from dataclasses import dataclass

import numba
import numpy as np
import pytest

import brainlearn as bl
from brainlearn.rules import LocalRule, hyperparameter

DecayState = collections.namedtuple("DecayState", ["tasks"])


@numba.njit(cache=True)
def _no_delta(W, pre, post, mod, params, state, dt, dW, db):
    pass


@numba.njit(cache=True)
def _decay_rest(W, params, state, dt, n_steps, dW):
    # Euler steps of dw/dt = -w / tau, with the running weight kept in dW's frame
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            w = W[i, j] + dW[i, j]
            w0 = w
            for _ in range(n_steps):
                w -= dt * w / params.tau
            dW[i, j] += w - w0


@dataclass(frozen=True, repr=False)
class Fading(LocalRule):
    """Weights that fade toward zero at rest; counts the tasks it was told about."""

    tau: float = hyperparameter(100.0, low=0.0, low_open=True, doc="time constant (s)")
    name = "test_fading"
    kernel = _no_delta
    rest_kernel = _decay_rest

    def init_state(self, projection, rng):
        return DecayState(np.zeros(1, projection.W.dtype))

    def end_task(self, projection, state):
        return DecayState(state.tasks + 1)


def _net(rule=None, **kw):
    net = bl.Network(seed=0)
    a, b = net.add_input(6), net.add_population(4)
    net.connect(a, b, rule=rule or Fading(), init=bl.init.Uniform(0.5, 1.0), **kw)
    return net


def test_rest_runs_the_rest_kernel_for_the_whole_period():
    net = _net()
    W0 = net.projections[0].W.copy()
    assert bl.rest(net, 50.5, dt=1.0) == 50.5  # 50 full steps and one of 0.5 s
    expect = W0 * (1 - 1 / 100) ** 50 * (1 - 0.5 / 100)
    np.testing.assert_allclose(net.projections[0].W, expect, rtol=1e-12)


def test_rest_applies_mask_bounds_and_constraints():
    mask = np.ones((4, 6))
    mask[0, :3] = 0
    rule = bl.rules.chain(Fading(tau=10.0), bl.rules.RowNormalize(norm=2.0))
    net = _net(rule, mask=mask, bounds=(0.0, 0.9))
    W0 = net.projections[0].W.copy()
    bl.rest(net, 5.0)
    # as after a training step: constraints, then the mask, then the bounds
    W = W0 * (1 - 1 / 10) ** 5
    W = 2 * W / np.linalg.norm(W, axis=1, keepdims=True)
    expect = np.clip(W * mask, 0.0, 0.9)
    np.testing.assert_allclose(net.projections[0].W, expect, rtol=1e-12)
    assert np.all(expect[0, :3] == 0) and np.any(expect == 0.9)


def test_rest_leaves_rules_without_rest_dynamics_alone():
    net = _net(bl.rules.Oja())
    W0 = net.projections[0].W.copy()
    bl.rest(net, 3600.0)
    np.testing.assert_array_equal(net.projections[0].W, W0)


def test_end_task_reaches_every_rule_of_a_chain():
    net = _net(bl.rules.chain(Fading(), bl.rules.Hebb(), Fading(tau=5.0)))
    bl.end_task(net)
    bl.end_task(net)
    st = net.projections[0].state
    assert st[0].tasks[0] == 2 and st[2].tasks[0] == 2


@pytest.mark.parametrize("kwargs,match", [
    (dict(duration=-1.0), "duration=-1.0 must be >= 0"),
    (dict(duration=float("nan")), "duration=nan must be a finite number"),
    (dict(duration=10.0, dt=0.0), "dt=0.0 must be > 0"),
    (dict(duration="1h"), "duration='1h' must be a finite number"),
])
def test_bad_rest_arguments(kwargs, match):
    net = _net()
    W0 = net.projections[0].W.copy()
    with pytest.raises(ValueError, match=match):
        bl.rest(net, **kwargs)
    np.testing.assert_array_equal(net.projections[0].W, W0)


def test_rest_and_end_task_need_a_network():
    with pytest.raises(TypeError, match="must be a brainlearn Network"):
        bl.rest("net", 1.0)
    with pytest.raises(TypeError, match="must be a brainlearn Network"):
        bl.end_task(None)
