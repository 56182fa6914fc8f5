"""Building networks: populations, projections, initialisers, masks, bounds, save/load."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainlearn as bl


def test_design_example_builds_the_documented_shapes():
    net = bl.Network(seed=0)
    x = net.add_input(64, name="input")
    h = net.add_population(100, activation="tanh", name="hidden")
    y = net.add_population(10, activation="softmax", name="output")
    p = net.connect(x, h, rule="backprop", lr=1e-3)
    q = net.connect(h, y, rule="backprop", lr=0.05)
    assert p.W.shape == (100, 64) and q.W.shape == (10, 100)
    assert net.populations == [x, h, y] and net.projections == [p, q]
    assert net.output is y and net.inputs == [x]
    assert q.rule.lr == 0.05 and isinstance(q.rule, bl.rules.Backprop)
    assert h.bias.shape == (100,)
    assert "hidden" in net.summary()


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 20), min_size=2, max_size=5),
       dtype=st.sampled_from(["float32", "float64"]), n=st.integers(1, 9))
def test_mlp_shapes_and_dtypes(sizes, dtype, n):
    net = bl.mlp(sizes, rule="backprop", hidden="relu", output="linear", seed=1, dtype=dtype)
    assert [q.W.shape for q in net.projections] == list(zip(sizes[1:], sizes[:-1]))
    out = net.predict(np.zeros((n, sizes[0])))
    assert out.shape == (n, sizes[-1]) and out.dtype == np.dtype(dtype)
    acts = net.activities(np.ones((n, sizes[0])))
    assert [a.shape for a in acts.values()] == [(n, s) for s in sizes]


def test_predict_matches_numpy_forward(rng):
    net = bl.mlp([5, 7, 3], hidden="sigmoid", output="softmax", seed=2)
    x = rng.normal(size=(11, 5))
    W1, W2 = (q.W for q in net.projections)
    h = 1 / (1 + np.exp(-(x @ W1.T + net.populations[1].bias)))
    z = h @ W2.T + net.populations[2].bias
    expect = np.exp(z - z.max(1, keepdims=True))
    expect /= expect.sum(1, keepdims=True)
    np.testing.assert_allclose(net.predict(x), expect, rtol=1e-12)
    np.testing.assert_allclose(net.predict(x[0]), expect[:1], rtol=1e-12)


def test_initialisers_have_their_documented_statistics():
    net = bl.Network(seed=0)
    a, b = net.add_input(400), net.add_population(300)
    glorot = net.connect(a, b).W
    assert np.abs(glorot).max() <= np.sqrt(6 / 700)
    assert glorot.std() == pytest.approx(np.sqrt(6 / 700) / np.sqrt(3), rel=0.02)
    c = net.add_population(300)
    he = net.connect(a, c, init="he").W
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    d = net.add_population(300)
    normal = net.connect(a, d, init=bl.init.Normal(std=0.3)).W
    assert normal.std() == pytest.approx(0.3, rel=0.02)
    e = net.add_population(300)
    assert not net.connect(a, e, init="zeros").W.any()
    f = net.add_population(2)
    user = np.arange(800.0).reshape(2, 400)
    np.testing.assert_array_equal(net.connect(a, f, init=user).W, user)


def test_same_seed_same_network():
    assert np.array_equal(bl.mlp([4, 5, 2], seed=3).projections[0].W,
                          bl.mlp([4, 5, 2], seed=3).projections[0].W)
    assert not np.array_equal(bl.mlp([4, 5, 2], seed=3).projections[0].W,
                              bl.mlp([4, 5, 2], seed=4).projections[0].W)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_mask_keeps_absent_synapses_at_zero(rng, batch_size):
    net = bl.Network(seed=0)
    x, h, y = net.add_input(6), net.add_population(5), net.add_population(3, "softmax")
    mask = rng.integers(0, 2, (5, 6))
    p = net.connect(x, h, rule="backprop", lr=0.5, mask=mask)
    net.connect(h, y, rule="backprop", lr=0.5)
    assert np.all(p.W[mask == 0] == 0)
    bl.train(net, (rng.normal(size=(40, 6)), rng.integers(0, 3, 40)), epochs=3, batch_size=batch_size)
    assert np.all(p.W[mask == 0] == 0)
    assert np.all(p.W[mask == 1] != 0)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_bounds_are_enforced_after_every_update(rng, batch_size):
    net = bl.mlp([6, 5, 3], rule="backprop", lr=2.0, seed=0)
    p = net.projections[0]
    p.bounds = (-0.05, 0.05)
    bl.train(net, (rng.normal(size=(60, 6)), rng.integers(0, 3, 60)), epochs=2, batch_size=batch_size)
    assert p.W.min() >= -0.05 and p.W.max() <= 0.05
    assert np.isclose(np.abs(p.W).max(), 0.05)  # the bound was actually reached
    assert np.abs(net.projections[1].W).max() > 0.05  # the other projection is unbounded


def test_save_load_round_trip_continues_identically(tmp_path, digits64):
    net = bl.mlp([64, 10, 10], rule="backprop", lr=0.05, momentum=0.9, seed=1)
    net.projections[1].bounds = (-2.0, 2.0)
    data = (digits64.x_train[:100], digits64.y_train[:100])
    bl.train(net, data, epochs=1, seed=0)
    net.save(tmp_path / "net.npz")
    back = bl.load(tmp_path / "net.npz")
    assert [p.name for p in back.populations] == [p.name for p in net.populations]
    assert back.projections[1].bounds == (-2.0, 2.0) and back.dtype == net.dtype
    assert back.projections[0].rule == net.projections[0].rule
    np.testing.assert_array_equal(back.predict(data[0]), net.predict(data[0]))
    # momentum state came along: further training is bit-identical
    bl.train(net, data, epochs=1, seed=7)
    bl.train(back, data, epochs=1, seed=7)
    for qa, qb in zip(net.projections, back.projections):
        np.testing.assert_array_equal(qa.W, qb.W)
    # no pickle in the file
    with np.load(tmp_path / "net.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_train_takes_integral_float_labels_as_class_labels(digits64):
    """Labels 0.0 .. 9.0 train exactly as the integers 0 .. 9; 2.5 is refused in one line that
    names the argument and the value."""
    x, y = digits64.x_train[:60], digits64.y_train[:60]
    weights = []
    for labels in (y, y.astype(np.float64), y.astype(np.float32)):
        net = bl.mlp([64, 10, 10], rule="backprop", lr=0.05, seed=1)
        history = bl.train(net, (x, labels), epochs=1, seed=0)
        weights.append([q.W.copy() for q in net.projections] + [history["accuracy"][-1]])
        assert bl.evaluate(net, (x, labels))["accuracy"] == bl.evaluate(net, (x, y))["accuracy"]
    for other in weights[1:]:
        for a, b in zip(weights[0], other):
            np.testing.assert_array_equal(a, b)
    bad = y.astype(np.float64)
    bad[4] = 2.5
    with pytest.raises(ValueError) as info:
        bl.train(bl.mlp([64, 10, 10], rule="backprop", seed=1), (x, bad))
    assert str(info.value) == "y must hold integer class labels; got the non-integral value 2.5 " \
                              "at index 4"


def test_bad_network_file_is_named_and_said_to_be_no_network_file(tmp_path):
    """A corrupt, truncated, empty or foreign file: one ValueError naming the file, no NumPy
    text about pickles or zip files."""
    net = bl.mlp([4, 3, 2], rule="backprop", seed=0)
    net.save(tmp_path / "good.npz")
    raw = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "garbage.npz").write_bytes(b"not a network at all " * 20)
    (tmp_path / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "empty.npz").write_bytes(b"")
    np.save(tmp_path / "array.npy", np.arange(3))
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    topo = json.dumps({"format": 2}).encode()[:-3]  # the topology cut short
    np.savez(tmp_path / "badjson.npz", __topology__=np.frombuffer(topo, dtype=np.uint8))
    for name in ("garbage.npz", "truncated.npz", "empty.npz", "array.npy", "other.npz",
                 "badjson.npz"):
        path = tmp_path / name
        with pytest.raises(ValueError) as info:
            bl.load(path)
        message = str(info.value)
        assert message.startswith(f"{str(path)!r} is not a brainlearn network file"), message
        assert "pickle" not in message and "\n" not in message, message
    with pytest.raises(FileNotFoundError):  # a missing file stays a missing file
        bl.load(tmp_path / "missing.npz")
    assert bl.load(tmp_path / "good.npz").projections[0].W.shape == (3, 4)


def test_save_load_keeps_masks_and_fixed_projections(tmp_path, rng):
    net = bl.Network(seed=0, dtype="float32")
    a, b = net.add_input(4, name="a"), net.add_population(3, "relu", name="b")
    net.connect(a, b, mask=rng.integers(0, 2, (3, 4)), name="fixed")
    bl.save(net, tmp_path / "m")
    back = bl.load(tmp_path / "m.npz")
    assert back.projections[0].rule is None
    np.testing.assert_array_equal(back.projections[0].mask, net.projections[0].mask)
    assert back.projections[0].W.dtype == np.float32


def test_a_file_saved_before_a_rule_gained_state_loads_with_fresh_state(tmp_path):
    """A network file without one of its rule's state arrays (the competitive rule's win
    frequencies were added after such files were written) loads, with that field fresh."""
    net = bl.Network(seed=0)
    x, h = net.add_input(4, name="x"), net.add_population(3, name="h")
    net.connect(x, h, rule="competitive", name="p")
    net.save(tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "state/p/0/wins"}
    topo = json.loads(arrays["__topology__"].tobytes().decode())
    topo["projections"][0]["state_terms"] = [[]]
    arrays["__topology__"] = np.frombuffer(json.dumps(topo).encode(), dtype=np.uint8)
    np.savez(tmp_path / "old.npz", **arrays)
    back = bl.load(tmp_path / "old.npz")
    np.testing.assert_array_equal(back.projections[0].state.wins, np.full(3, 1 / 3))
    np.testing.assert_array_equal(back.projections[0].W, net.projections[0].W)


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda n: n.add_input(0), r"size=0 must be a positive integer"),
    (lambda n: n.add_input(2.5), r"size=2.5"),
    (lambda n: n.add_population(3, activation="swish"), r"activation='swish'.*allowed: linear"),
    (lambda n: n.add_population(3, bias=[1, 2]), r"bias has shape \(2,\)"),
    (lambda n: n.connect("input", "input"), r"input population"),
    (lambda n: n.connect("input", "nope"), r"post='nope' is not a population.*input"),
    (lambda n: n.connect("input", "h", rule="hebbian_magic"), r"rule='hebbian_magic'.*backprop"),
    (lambda n: n.connect("input", "h", rule="backprop", lr=-1), r"lr=-1 is out of range.*lr >= 0"),
    (lambda n: n.connect("input", "h", rule="backprop", lr=float("nan")), r"lr=nan is not finite"),
    (lambda n: n.connect("input", "h", rule="backprop", momentum=1.0), r"momentum < 1"),
    (lambda n: n.connect("input", "h", rule="backprop", speed=2), r"unknown parameter.*speed"),
    (lambda n: n.connect("input", "h", init="xavier"), r"init='xavier'.*glorot"),
    (lambda n: n.connect("input", "h", init=np.zeros((2, 2))), r"init array has shape \(2, 2\)"),
    (lambda n: n.connect("input", "h", mask=np.ones((3, 3))), r"mask has shape"),
    (lambda n: n.connect("input", "h", bounds=(1, 0)), r"bounds=\(1, 0\) must satisfy"),
    (lambda n: n.add_population(3, settle_steps=-1), r"settle_steps=-1"),
])
def test_bad_construction_raises_clear_errors(call, match):
    net = bl.Network(seed=0)
    net.add_input(3, name="input")
    net.add_population(4, name="h")
    with pytest.raises((ValueError, TypeError, NotImplementedError), match=match):
        call(net)


def test_bad_network_level_arguments():
    with pytest.raises(TypeError, match="dtype='float16'"):
        bl.Network(dtype="float16")
    with pytest.raises(ValueError, match="seed=-1"):
        bl.Network(seed=-1)
    with pytest.raises(ValueError, match=r"sizes\[1\]=0"):
        bl.mlp([3, 0, 2])
    with pytest.raises(ValueError, match="hidden='sigmod'"):
        bl.mlp([3, 4, 2], hidden="sigmod")
    net = bl.Network()
    a, b, c = net.add_input(2), net.add_population(2), net.add_population(2)
    net.connect(a, b)
    net.connect(b, c)
    with pytest.raises(NotImplementedError, match="closes the cycle"):
        net.connect(c, b)
