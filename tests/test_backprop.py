"""Backprop learns what the literature says it learns, in float32 and float64,
and the online driver equals the minibatch driver at batch size 1."""

import numpy as np
import pytest

import brainlearn as bl

import naive

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_textbook_network_solves_xor(seed):
    """tanh hidden, sigmoid output, binary cross-entropy: the reference network."""
    net = bl.mlp([2, 3, 1], rule="backprop", hidden="tanh", output="sigmoid", lr=0.5, seed=seed)
    hist = bl.train(net, (XOR_X, XOR_Y), epochs=2000, loss="binary_cross_entropy", seed=seed)
    out = net.predict(XOR_X).ravel()
    assert np.all((out > 0.5) == XOR_Y.astype(bool)), out
    assert hist["loss"][-1] < 0.01
    assert hist["accuracy"][-1] == 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_digits_reaches_97_percent(digits, dtype):
    net = bl.mlp([64, 64, 10], rule="backprop", hidden="tanh", output="softmax", lr=0.05, seed=0,
                 dtype=dtype)
    hist = bl.train(net, digits, epochs=20, batch_size=1, seed=0)
    acc = bl.evaluate(net, digits)["accuracy"]
    assert acc >= 0.97
    assert hist["test_accuracy"][-1] == pytest.approx(acc)
    assert net.projections[0].W.dtype == np.dtype(dtype)
    assert net.predict(digits.x_test[:3]).dtype == np.dtype(dtype)


def test_digits_accuracy_is_not_one_lucky_seed(digits):
    accs = []
    for seed in (1, 2, 3):
        net = bl.mlp([64, 64, 10], rule="backprop", lr=0.05, seed=seed, dtype="float32")
        bl.train(net, digits, epochs=20, seed=seed)
        accs.append(bl.evaluate(net, digits)["accuracy"])
    assert np.mean(accs) > 0.96, accs


def test_minibatch_training_learns_digits(digits):
    net = bl.mlp([64, 64, 10], rule="backprop", lr=0.1, momentum=0.9, seed=0, dtype="float32")
    bl.train(net, digits, epochs=30, batch_size=32, seed=0)
    assert bl.evaluate(net, digits)["accuracy"] >= 0.96


@pytest.mark.parametrize("momentum,weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.5, 1e-3)])
def test_online_equals_minibatch_of_one(digits64, momentum, weight_decay):
    # (a modest step size: with a large effective rate the dynamics are chaotic and
    # the last-bit differences between BLAS and the compiled loops would grow)
    kw = dict(rule="backprop", lr=0.01, momentum=momentum, weight_decay=weight_decay, seed=4)
    a = bl.mlp([64, 16, 10], **kw)
    b = bl.mlp([64, 16, 10], **kw)
    data = (digits64.x_train[:400], digits64.y_train[:400])
    bl.train(a, data, epochs=2, batch_size=1, driver="online", seed=1)
    bl.train(b, data, epochs=2, batch_size=1, driver="minibatch", seed=1)
    for qa, qb in zip(a.projections, b.projections):
        np.testing.assert_allclose(qa.W, qb.W, rtol=1e-10, atol=1e-12)
    for pa, pb in zip(a.populations, b.populations):
        np.testing.assert_allclose(pa.bias, pb.bias, rtol=1e-10, atol=1e-12)


@pytest.mark.twin
@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("momentum,weight_decay", [(0.0, 0.0), (0.9, 1e-3)])
def test_training_equals_naive_sgd(digits64, batch_size, momentum, weight_decay):
    net = bl.mlp([64, 12, 10], rule="backprop", hidden="sigmoid", lr=0.1, momentum=momentum,
                 weight_decay=weight_decay, seed=2)
    ref = naive.NaiveMLP([q.W for q in net.projections], [p.bias for p in net.populations[1:]],
                         ["sigmoid", "softmax"], "cross_entropy", lr=0.1, momentum=momentum,
                         weight_decay=weight_decay)
    x, y = digits64.x_train[:50], digits64.y_train[:50]
    hist = bl.train(net, (x, y), epochs=1, batch_size=batch_size, shuffle=False)
    t = np.eye(10)[y]
    total = 0.0
    for s in range(0, 50, batch_size):
        total += ref.step(x[s:s + batch_size], t[s:s + batch_size])
    for q, W in zip(net.projections, ref.Ws):
        np.testing.assert_allclose(q.W, W, rtol=1e-9, atol=1e-12)
    for p, b in zip(net.populations[1:], ref.bs):
        np.testing.assert_allclose(p.bias, b, rtol=1e-9, atol=1e-12)
    assert hist["loss"][-1] == pytest.approx(total / 50, rel=1e-9)


def test_float32_tracks_float64(digits64):
    nets = {dt: bl.mlp([64, 32, 10], rule="backprop", lr=0.05, seed=5, dtype=dt)
            for dt in ("float32", "float64")}
    for dt, net in nets.items():
        bl.train(net, (digits64.x_train, digits64.y_train), epochs=1, seed=0)
        assert all(q.W.dtype == np.dtype(dt) for q in net.projections)
        assert all(p.bias.dtype == np.dtype(dt) for p in net.populations)
    W32, W64 = nets["float32"].projections[0].W, nets["float64"].projections[0].W
    assert np.max(np.abs(W32 - W64)) < 1e-3


def test_same_seed_same_weights_other_seed_differs(digits):
    def run(shuffle_seed):
        net = bl.mlp([64, 8, 10], rule="backprop", seed=0)
        bl.train(net, digits, epochs=1, seed=shuffle_seed)
        return net.projections[0].W

    assert np.array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


def test_weight_decay_shrinks_weights_without_error_signal(rng):
    """With a zero error (targets equal to outputs) only the decay acts: W <- (1 - lr wd) W."""
    net = bl.mlp([3, 2], rule="backprop", output="linear", lr=0.1, weight_decay=0.5, seed=0)
    W0 = net.projections[0].W.copy()
    x = rng.normal(size=(1, 3))
    y = net.predict(x)
    bl.train(net, (x, y), loss="mse")
    np.testing.assert_allclose(net.projections[0].W, W0 * (1 - 0.1 * 0.5), rtol=1e-12)


def test_repeated_runs_are_bit_identical(digits64):
    """Same seed, same bits: results must not depend on where arrays happen to sit in memory."""
    data = (digits64.x_train[:200], digits64.y_train[:200])
    runs = []
    for _ in range(6):
        net = bl.mlp([64, 10, 10], rule="backprop", lr=0.05, momentum=0.9, weight_decay=1e-4, seed=1)
        bl.train(net, data, epochs=1, seed=0)
        runs.append([q.W.copy() for q in net.projections])
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)
