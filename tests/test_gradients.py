"""Backprop gradients equal finite differences for every activation x loss pair.

The engine's gradient is read off one online SGD step with lr = 1 on a single
sample (dW = -grad); the finite differences use the engine's own loss through
``bl.evaluate``. Networks have two hidden layers, so the hidden error must be
propagated through the downstream weights (the classic listing bug).
"""

import zlib

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.network.activations import ACTIVATIONS
from brainlearn.network.losses import VALID_OUTPUTS

import naive

HIDDEN = sorted(ACTIVATIONS)
PAIRS = [(loss, act) for loss, acts in VALID_OUTPUTS.items() for act in acts]


def _sample(rng, loss, out_act, n_out):
    x = rng.uniform(-1, 1, (1, 5))
    if loss == "mse":
        return x, rng.normal(0, 1, (1, n_out))
    if loss == "cross_entropy" and out_act == "softmax":
        return x, np.array([rng.integers(n_out)])
    return x, rng.integers(0, 2, (1, n_out)).astype(float)


def _engine_grads(net, x, y, loss):
    before = [q.W.copy() for q in net.projections] + [p.bias.copy() for p in net.populations[1:]]
    bl.train(net, (x, y), epochs=1, batch_size=1, loss=loss, shuffle=False)
    after = [q.W for q in net.projections] + [p.bias for p in net.populations[1:]]
    return [b - a for b, a in zip(before, after)], before


def _fd_grads(net, params, x, y, loss, eps=1e-6):
    grads = []
    for P in params:
        g = np.empty_like(P)
        for idx in np.ndindex(P.shape):
            old = P[idx]
            P[idx] = old + eps
            up = bl.evaluate(net, (x, y), loss=loss)["loss"]
            P[idx] = old - eps
            down = bl.evaluate(net, (x, y), loss=loss)["loss"]
            P[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("loss,out_act", PAIRS)
def test_backprop_gradient_equals_finite_differences(hidden, loss, out_act):
    # a seed from the case's name (str hashes change between processes)
    rng = np.random.default_rng(zlib.crc32(f"{hidden} {loss} {out_act}".encode()))
    net = bl.mlp([5, 4, 3, 3], rule="backprop", hidden=hidden, output=out_act, lr=1.0,
                 seed=int(rng.integers(1000)), init=bl.init.Normal(std=0.7))
    for p in net.populations[1:]:
        p.bias[:] = rng.normal(0, 0.3, p.size)
    x, y = _sample(rng, loss, out_act, 3)
    engine, before = _engine_grads(net, x, y, loss)
    # finite differences at the pre-update parameters
    for q, W in zip(net.projections, before):
        q.W[...] = W
    for p, b in zip(net.populations[1:], before[len(net.projections):]):
        p.bias[...] = b
    params = [q.W for q in net.projections] + [p.bias for p in net.populations[1:]]
    fd = _fd_grads(net, params, x, y, loss)
    loss_value = bl.evaluate(net, (x, y), loss=loss)["loss"]
    for ge, gf in zip(engine, fd):
        # central differences with eps = 1e-6 carry a rounding error of about
        # 1e-16 * loss / eps = 1e-10 * loss per entry: a floor of 1e-8 on the error norm
        err, scale = np.linalg.norm(ge - gf), np.linalg.norm(ge) + np.linalg.norm(gf)
        assert err < 1e-6 * scale + 1e-8 * max(1.0, loss_value), \
            (hidden, loss, out_act, err, scale, loss_value)


def test_gradient_equals_naive_backprop(rng):
    """The textbook listing (tanh hidden, sigmoid output, BCE), written out in NumPy."""
    net = bl.mlp([6, 5, 2], rule="backprop", hidden="tanh", output="sigmoid", lr=1.0, seed=3)
    ref = naive.NaiveMLP([q.W for q in net.projections], [p.bias for p in net.populations[1:]],
                         ["tanh", "sigmoid"], "binary_cross_entropy", lr=1.0)
    x = rng.uniform(0, 1, (1, 6))
    t = np.array([[1.0, 0.0]])
    gW, gb, _ = ref.gradients(x[0], t[0])
    engine, _ = _engine_grads(net, x, t, "binary_cross_entropy")
    for ge, gr in zip(engine, gW + gb):
        np.testing.assert_allclose(ge, gr, rtol=1e-12, atol=1e-15)


def test_gradient_through_a_skip_connection(rng):
    """A DAG: input feeds both the hidden layer and the output directly."""
    net = bl.Network(seed=1)
    x_in = net.add_input(4)
    h = net.add_population(3, activation="tanh")
    out = net.add_population(2, activation="softmax")
    net.connect(x_in, h, rule="backprop", lr=1.0)
    net.connect(h, out, rule="backprop", lr=1.0)
    net.connect(x_in, out, rule="backprop", lr=1.0)
    x, y = rng.uniform(-1, 1, (1, 4)), np.array([1])
    engine, before = _engine_grads(net, x, y, "cross_entropy")
    for q, W in zip(net.projections, before):
        q.W[...] = W
    for p, b in zip([h, out], before[3:]):
        p.bias[...] = b
    fd = _fd_grads(net, [q.W for q in net.projections] + [h.bias, out.bias], x, y, "cross_entropy")
    for ge, gf in zip(engine, fd):
        np.testing.assert_allclose(ge, gf, rtol=1e-6, atol=1e-9)
