"""The engine runs any rule given as a compiled kernel inside its compiled drivers.

A rule defined here (as a researcher would define a plug-in) is checked against
a NumPy loop, in both drivers, fused and unfused, and next to backprop.
"""

import collections
from dataclasses import dataclass

import numba
import numpy as np
import pytest

import brainlearn as bl
from brainlearn.engine.fastpaths import register_fast_path
from brainlearn.engine.plan import make_plan
from brainlearn.engine.run import choose_driver
from brainlearn.rules import LocalRule, hyperparameter

DecayState = collections.namedtuple("DecayState", ["trace"])


@numba.njit(cache=True)
def _decaying_hebb_delta(W, pre, post, mod, params, state, dt, dW, db):
    # dW = lr * (post pre^T - decay * W); the trace counts presentations per neuron
    n_post, n_pre = W.shape
    for i in range(n_post):
        state.trace[i] += dt
        for j in range(n_pre):
            dW[i, j] += params.lr * (post[i] * pre[j] - params.decay * W[i, j])


@dataclass(frozen=True, repr=False)
class DecayingHebb(LocalRule):
    """Hebb with a passive decay: dW = lr (y x^T - decay W)."""

    lr: float = hyperparameter(0.01, low=0.0)
    decay: float = hyperparameter(0.1, low=0.0)
    tags = dict(elementwise=True)
    kernel = _decaying_hebb_delta

    def init_state(self, projection, rng):
        return DecayState(np.zeros(projection.W.shape[0], projection.W.dtype))


@dataclass(frozen=True, repr=False)
class DecayingHebbUnfused(DecayingHebb):
    tags = dict(elementwise=False)


def naive_decaying_hebb(W, X, lr, decay, acts="linear"):
    W = W.copy()
    for x in X:
        y = W @ x
        W += lr * (np.outer(y, x) - decay * W)
    return W


@pytest.fixture
def patterns(rng):
    return rng.normal(0, 1, (200, 8)) / 3


@pytest.mark.twin
@pytest.mark.parametrize("rule_cls", [DecayingHebb, DecayingHebbUnfused])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_user_rule_runs_in_the_online_driver(patterns, rule_cls, dtype):
    net = bl.Network(seed=0, dtype=dtype)
    x = net.add_input(8)
    y = net.add_population(4, activation="linear")
    p = net.connect(x, y, rule=rule_cls(lr=0.01, decay=0.1))
    W0 = p.W.astype(np.float64)
    bl.train(net, patterns, epochs=1, shuffle=False)
    expect = naive_decaying_hebb(W0, patterns, 0.01, 0.1)
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(p.W, expect, rtol=tol, atol=tol)
    assert p.W.dtype == np.dtype(dtype) and p.state.trace.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(p.state.trace, np.full(4, 200.0))  # state updated in place


@pytest.mark.twin
def test_user_rule_without_batch_kernel_averages_per_sample_deltas(patterns):
    net = bl.Network(seed=0)
    x, y = net.add_input(8), net.add_population(4, activation="linear")
    p = net.connect(x, y, rule=DecayingHebb(lr=0.01, decay=0.1))
    W = p.W.copy()
    bl.train(net, patterns[:20], epochs=1, batch_size=5, shuffle=False)
    for s in range(0, 20, 5):
        X = patterns[s:s + 5]
        Y = X @ W.T
        W = W + 0.01 * (Y.T @ X / 5 - 0.1 * W)
    np.testing.assert_allclose(p.W, W, rtol=1e-12)


def test_rule_defined_in_a_function_compiles_in_memory(patterns):
    """A kernel that cannot be imported by name (a closure) still runs in the driver."""
    scale = 0.5

    @numba.njit
    def kernel(W, pre, post, mod, params, state, dt, dW, db):
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                dW[i, j] += scale * params.lr * post[i] * pre[j]

    @dataclass(frozen=True)
    class HalfHebb(LocalRule):
        lr: float = hyperparameter(0.01, low=0.0)

    HalfHebb.kernel = staticmethod(kernel)
    net = bl.Network(seed=0)
    x, y = net.add_input(8), net.add_population(3, activation="linear")
    p = net.connect(x, y, rule=HalfHebb(lr=0.02))
    W = p.W.copy()
    bl.train(net, patterns[:30], shuffle=False)
    for v in patterns[:30]:
        W += 0.5 * 0.02 * np.outer(W @ v, v)
    np.testing.assert_allclose(p.W, W, rtol=1e-12)


def test_local_rule_and_backprop_in_one_network(digits64):
    """Hidden layer learns by a local rule, readout by backprop; y is needed for the readout only."""
    net = bl.Network(seed=1)
    x = net.add_input(64)
    h = net.add_population(40, activation="tanh")
    out = net.add_population(10, activation="softmax")
    hebb = net.connect(x, h, rule=DecayingHebb(lr=1e-5, decay=0.01), init=bl.init.Normal(std=0.3))
    readout = net.connect(h, out, rule="backprop", lr=0.05)
    W_hidden = hebb.W.copy()
    hist = bl.train(net, digits64, epochs=5, seed=0)
    assert hist["test_accuracy"][-1] > 0.8
    assert not np.array_equal(hebb.W, W_hidden)
    assert readout.rule.name == "backprop"


def test_unlabelled_training_for_local_rules(patterns):
    net = bl.Network(seed=0)
    x, y = net.add_input(8), net.add_population(4, activation="linear")
    net.connect(x, y, rule=DecayingHebb())
    hist = bl.train(net, patterns, epochs=2)
    assert len(hist) == 2 and "loss" not in hist


def test_backprop_without_targets_is_a_clear_error(patterns):
    net = bl.mlp([8, 4, 3], rule="backprop", seed=0)
    with pytest.raises(ValueError, match="y is required.*needs an error signal"):
        bl.train(net, patterns)


def test_divergence_is_detected_with_epoch_and_step(rng):
    """Plain Hebb with a large rate grows without bound (REFERENCES.md): a DivergenceError."""
    net = bl.Network(seed=0)
    x, y = net.add_input(8), net.add_population(8, activation="linear")
    net.connect(x, y, rule=DecayingHebb(lr=0.5, decay=0.0), init=bl.init.Normal(std=1.0))
    data = rng.normal(0, 1, (5000, 8))
    with pytest.raises(bl.DivergenceError) as info:
        bl.train(net, data, epochs=3)
    assert info.value.epoch == 0
    assert 0 < info.value.step < 5000
    assert "diverged" in str(info.value)


def test_divergence_of_backprop_is_detected(digits64):
    net = bl.mlp([64, 32, 10], rule="backprop", hidden="relu", output="linear", lr=50.0, seed=0)
    with pytest.raises(bl.DivergenceError):
        bl.train(net, (digits64.x_train, np.eye(10)[digits64.y_train] * 100), loss="mse", epochs=3)


def test_history_records_epochs_and_learning_curve_points(digits):
    net = bl.mlp([64, 16, 10], rule="backprop", seed=0)
    n = digits.n_train
    hist = bl.train(net, digits, epochs=2, eval_every=500)
    # records at 500, 1000, epoch end, 1500 (= 500 into epoch 2 ... on multiples), 2000, 2500, end
    samples = list(hist["samples"])
    assert samples == sorted(samples) and samples[-1] == 2 * n
    assert {500, 1000, 1500, 2000, 2500, n, 2 * n} <= set(samples)
    assert set(hist.keys()) >= {"epoch", "samples", "loss", "accuracy", "test_loss",
                                "test_accuracy", "wall_time"}
    assert np.all(np.diff(hist["wall_time"]) >= 0)


def test_two_input_populations_split_the_columns(rng):
    net = bl.Network(seed=0)
    a, b = net.add_input(3, name="a"), net.add_input(2, name="b")
    out = net.add_population(2, activation="linear")
    pa = net.connect(a, out, rule="backprop", lr=0.1)
    pb = net.connect(b, out, rule="backprop", lr=0.1)
    x = rng.normal(size=(4, 5))
    expect = x[:, :3] @ pa.W.T + x[:, 3:] @ pb.W.T + out.bias
    np.testing.assert_allclose(net.predict(x), expect, rtol=1e-12)
    for batch_size in (1, 2):
        bl.train(net, (x, rng.normal(size=(4, 2))), loss="mse", batch_size=batch_size)


def test_fixed_projection_does_not_learn(digits64):
    net = bl.Network(seed=0)
    x, h, out = net.add_input(64), net.add_population(16), net.add_population(10, "softmax")
    fixed = net.connect(x, h)
    net.connect(h, out, rule="backprop")
    W = fixed.W.copy()
    bl.train(net, digits64, epochs=1)
    np.testing.assert_array_equal(fixed.W, W)


# -- bad input to train / evaluate / predict ----------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(epochs=0), r"epochs=0 must be an integer >= 1"),
    (dict(batch_size=-2), r"batch_size=-2"),
    (dict(loss="hinge"), r"loss='hinge'.*allowed: mse"),
    (dict(driver="gpu"), r"driver='gpu'"),
    (dict(dt=-1.0), r"dt=-1.0 must be"),
    (dict(seed=-3), r"seed=-3"),
])
def test_bad_train_arguments(digits, kwargs, match):
    net = bl.mlp([64, 8, 10], seed=0)
    with pytest.raises(ValueError, match=match):
        bl.train(net, digits, **kwargs)


def test_bad_data_is_rejected_before_training(digits):
    net = bl.mlp([64, 8, 10], seed=0)
    W = net.projections[0].W.copy()
    x = digits.x_train[:10].copy()
    y = digits.y_train[:10]
    with pytest.raises(ValueError, match=r"x has shape \(10, 63\); allowed: \(n_samples, 64\)"):
        bl.train(net, (x[:, :63], y))
    bad = x.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN or inf \(first at row 3, column 5\)"):
        bl.train(net, (bad, y))
    with pytest.raises(ValueError, match=r"y has labels in \[\d+, 10\]; allowed: 0..9"):
        bl.train(net, (x, np.where(y == y[0], 10, y)))
    with pytest.raises(ValueError, match=r"y has shape \(9,\)"):
        bl.train(net, (x, y[:9]))
    with pytest.raises(TypeError, match="x has dtype <U1"):
        bl.train(net, (np.full((10, 64), "a"), y))
    with pytest.raises(ValueError, match="binary_cross_entropy.*softmax|needs an output"):
        bl.train(bl.mlp([64, 3], output="tanh"), (x, np.zeros((10, 3))), loss="binary_cross_entropy")
    np.testing.assert_array_equal(net.projections[0].W, W)  # nothing was touched
    with pytest.raises(ValueError, match=r"x has shape \(2, 3\)"):
        net.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="evaluate needs targets"):
        bl.evaluate(net, x)


def test_backward_pass_runs_only_where_a_rule_needs_error():
    from brainlearn.engine.plan import make_plan

    net = bl.Network(seed=0)
    x = net.add_input(6)
    h1 = net.add_population(5)
    h2 = net.add_population(4)
    out = net.add_population(3, activation="softmax")
    net.connect(x, h1, rule=DecayingHebb())
    net.connect(h1, h2, rule="backprop")
    net.connect(h2, out, rule="backprop")
    plan = make_plan(net, "cross_entropy")
    assert set(plan.delta_pops) == {h2.index, out.index}  # nothing flows back into h1
    net.projections[0].rule = None
    net.projections[1].rule = DecayingHebb()
    plan = make_plan(net, "cross_entropy")
    assert set(plan.delta_pops) == {out.index}


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys, rng):
    net = bl.Network(seed=0)
    x, y = net.add_input(2), net.add_population(2, activation="linear")
    net.connect(x, y, rule=DecayingHebb(lr=1e-4))
    data = rng.normal(size=(60_000, 2))
    bl.train(net, data)  # stderr is not a terminal under pytest
    assert capsys.readouterr().err == ""
    bl.train(net, data, quiet=False)
    assert "sample" in capsys.readouterr().err
    bl.train(net, data, quiet=True)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("rule", [
    bl.rules.Oja(lr=1e-3),
    bl.rules.BCM(lr=1e-3, tau_theta=5.0),
    bl.rules.chain(bl.rules.Hebb(lr=1e-3), bl.rules.WeightDecay(decay=1e-2), "row_normalize"),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_row_parallel_epoch_equals_the_online_driver(rng, rule, dtype):
    """A single projection with row-local rules runs row blocks on threads: same bits."""
    x = rng.uniform(0, 1, (300, 300))
    mask = rng.integers(0, 2, (90, 300))
    nets = []
    for driver in ("auto", "online"):
        net = bl.Network(seed=3, dtype=dtype)
        inp, out = net.add_input(300), net.add_population(90, activation="tanh")
        net.connect(inp, out, rule=rule, init=bl.init.Normal(std=0.05), mask=mask, bounds=(-0.2, 0.2))
        bl.train(net, x, driver=driver, seed=0)
        nets.append(net)
    from brainlearn.engine.plan import make_plan
    assert make_plan(nets[0], None).rows == 0  # the row-parallel path was eligible
    np.testing.assert_array_equal(nets[0].projections[0].W, nets[1].projections[0].W)
    for a, b in zip(np.atleast_1d(nets[0].projections[0].state), np.atleast_1d(nets[1].projections[0].state)):
        for fa, fb in zip(a, b):
            np.testing.assert_array_equal(fa, fb)


@pytest.mark.parametrize("rule,act", [
    (bl.rules.Oja(lr=2e-3), "linear"),
    (bl.rules.BCM(lr=1e-3, tau_theta=5.0), "sigmoid"),
    (bl.rules.chain(bl.rules.Hebb(lr=1e-3), bl.rules.WeightDecay(decay=1e-2)), "softmax"),
    (bl.rules.Covariance(lr=2e-3, beta=0.05), "tanh"),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_block_driver_equals_the_online_driver(rng, rule, act, dtype):
    """Rules with an affine fast path run blocks of samples through matrix products: online
    learning all the same, equal to the per-sample driver up to rounding. 150 samples:
    four full blocks (with corrections from earlier sub-blocks) and a short one."""
    x = rng.uniform(0, 1, (150, 40))
    nets = []
    for driver in ("auto", "online"):
        net = bl.Network(seed=3, dtype=dtype)
        inp, out = net.add_input(40), net.add_population(12, activation=act)
        net.connect(inp, out, rule=rule, init=bl.init.Normal(std=0.1))
        out.bias[:] = np.linspace(-0.1, 0.1, 12)
        W0 = net.projections[0].W.copy()
        bl.train(net, x, driver=driver, seed=0, epochs=2, dt=0.5)
        nets.append(net)
    from brainlearn.engine.plan import make_plan
    assert make_plan(nets[0], None).block == 0  # the block path was eligible
    Wa, Wb = nets[0].projections[0].W, nets[1].projections[0].W
    change = np.abs(Wb - W0).max()
    assert change > 1e-3  # the rule did learn
    tol = 1e-9 if dtype == "float64" else 2e-4
    assert np.abs(Wa - Wb).max() <= tol * change
    for fa, fb in zip(_state_arrays(nets[0].projections[0].state),
                      _state_arrays(nets[1].projections[0].state)):
        np.testing.assert_allclose(fa, fb, rtol=tol * 10, atol=tol)


def _state_arrays(state):
    """The arrays of a rule's state (a NamedTuple, or a tuple of them for a chain)."""
    if isinstance(state, np.ndarray):
        return [state]
    return [a for part in (state or ()) for a in _state_arrays(part)]


@pytest.mark.parametrize("shuffle", [True, False], ids=["gathered", "in-order"])
@pytest.mark.parametrize("rule", [bl.rules.Oja(lr=1e-3), bl.rules.Covariance(lr=1e-3, beta=0.05)],
                         ids=["oja", "covariance"])
def test_block_driver_across_segments_and_row_threads(rng, monkeypatch, rule, shuffle):
    """Segments of two blocks (inputs gathered on threads, or taken as a view when the samples
    come in order; directions and Gram products made per segment, the Gram products shared
    by two threads that own half of the rows each): still the per-sample driver's result."""
    import numba

    from brainlearn.engine import run as engine_run
    from brainlearn.engine.plan import make_plan
    monkeypatch.setattr(engine_run, "SEGMENT", 2 * engine_run.BLOCK)
    x = rng.uniform(0, 1, (300, 250))
    nets = []
    for driver in ("auto", "online"):
        net = bl.Network(seed=4)
        inp, out = net.add_input(250), net.add_population(100, activation="linear")
        net.connect(inp, out, rule=rule, init=bl.init.Normal(std=0.05))
        W0 = net.projections[0].W.copy()
        bl.train(net, x, driver=driver, seed=1, shuffle=shuffle)
        nets.append(net)
    if numba.get_num_threads() > 1:  # rows on threads (covariance: its directions made first)
        plan = make_plan(nets[0], None)
        assert plan.block_threads and engine_run._row_blocks(nets[0], plan) > 1
    Wa, Wb = nets[0].projections[0].W, nets[1].projections[0].W
    change = np.abs(Wb - W0).max()
    assert change > 1e-3
    assert np.abs(Wa - Wb).max() <= 1e-9 * change
    for fa, fb in zip(nets[0].projections[0].state, nets[1].projections[0].state):
        np.testing.assert_allclose(fa, fb, rtol=1e-9, atol=1e-12)


def test_block_driver_keeps_rows_of_an_undeclared_direction_rule_on_one_thread():
    """A rule with a direction fast path is not row_local; its rows go on threads in the
    block driver only when the path names the state it moves (``input_state``)."""
    from dataclasses import dataclass

    from brainlearn.engine.fastpaths import fast_path, register_fast_path
    from brainlearn.engine.plan import make_plan

    @dataclass(frozen=True, repr=False)
    class Undeclared(bl.rules.Covariance):
        pass

    known = fast_path(bl.rules.Covariance)
    register_fast_path(Undeclared, affine=known.affine, direction=known.direction)

    plans = {}
    for rule in (bl.rules.Covariance(), Undeclared()):
        net = bl.Network(seed=0)
        net.connect(net.add_input(250), net.add_population(100), rule=rule)
        net.projections[0].reset_state()
        plans[type(rule).__name__] = make_plan(net, None)
    assert plans["Covariance"].block == 0 and plans["Covariance"].block_threads
    assert plans["Undeclared"].block == 0 and not plans["Undeclared"].block_threads


@pytest.mark.parametrize("act,n_out,n_in,shuffle", [("softmax", 64, 600, True),
                                                     ("sigmoid", 3, 50, False)],
                         ids=["softmax-row-threads-gathered", "sigmoid-one-thread-in-order"])
def test_reward_segment_driver_equals_the_online_driver(rng, monkeypatch, act, n_out, n_in,
                                                        shuffle):
    """A single layer learning by reward-modulated Hebb runs its reward_segment fast path
    (blocks of 32 samples through matrix products; 64 x 600: row ranges on threads):
    the per-sample driver's weights, eligibility trace, baseline, loss and accuracy, across
    segments of 100 samples (short last blocks)."""
    from brainlearn.engine import run as engine_run
    from brainlearn.engine.plan import make_plan
    monkeypatch.setattr(engine_run, "SEGMENT", 100)
    x = rng.uniform(0, 1, (300, n_in))
    labels = rng.integers(0, n_out, 300)
    nets, hists = [], []
    for driver in ("auto", "online"):
        net = bl.Network(seed=3)
        inp, out = net.add_input(n_in), net.add_population(n_out, activation=act)
        net.connect(inp, out, rule=bl.rules.RewardHebbian(lr=0.05, tau_e=2.0, beta=0.1),
                    init=bl.init.Normal(std=0.3 / np.sqrt(n_in / 50)))
        out.bias[:] = np.linspace(-0.1, 0.1, n_out)
        W0 = net.projections[0].W.copy()
        hists.append(bl.train(net, (x, labels), driver=driver, seed=0, epochs=2, dt=0.5,
                              shuffle=shuffle))
        nets.append(net)
    assert make_plan(nets[0], "cross_entropy" if act == "softmax" else
                     "binary_cross_entropy").reward_segment == 0
    qa, qb = nets[0].projections[0], nets[1].projections[0]
    change = np.abs(qb.W - W0).max()
    assert change > 1e-3 and 0 < qb.state.baseline[0] < 1  # learnt, from mixed rewards
    assert np.abs(qa.W - qb.W).max() <= 1e-9 * change
    np.testing.assert_allclose(qa.state.trace, qb.state.trace, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(qa.state.baseline, qb.state.baseline, rtol=1e-12)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(hists[0][key], hists[1][key], rtol=1e-9)


def test_reward_segment_driver_reports_divergence_at_the_step(rng):
    """A sample whose drive overflows stops the reward segment kernel where the per-sample
    driver stops: same step in the error, same weights before it."""
    x = rng.uniform(0, 1, (200, 20))
    x[157] = 1e308  # W x overflows: inf - inf in the softmax
    labels = rng.integers(0, 4, 200)
    steps, Ws = [], []
    for driver in ("auto", "online"):
        net = bl.Network(seed=3)
        q = net.connect(net.add_input(20), net.add_population(4, activation="softmax"),
                        rule=bl.rules.RewardHebbian(lr=0.05), init=bl.init.Normal(std=0.3))
        q.W[:] = np.abs(q.W)  # positive weights: the drive of sample 157 overflows
        with pytest.raises(bl.DivergenceError, match="step 157") as err:
            bl.train(net, (x, labels), driver=driver, shuffle=False)
        steps.append(err.value.step)
        Ws.append(net.projections[0].W.copy())
    assert steps == [157, 157]
    np.testing.assert_allclose(Ws[0], Ws[1], rtol=1e-9)


def test_reward_segment_path_that_does_not_compile_is_named(rng):
    """A reward_segment fast path Numba cannot compile: an error naming the rule and the path,
    quoting Numba's message."""
    @numba.njit
    def broken(W, b, X, T, act, loss, threshold, params, state, dt, out):
        return W + "not a number"

    @dataclass(frozen=True, repr=False)
    class BrokenReward(bl.rules.RewardHebbian):
        name = "broken_reward_segment"

    register_fast_path(BrokenReward, reward_segment=broken)

    net = bl.Network(seed=0)
    net.connect(net.add_input(5), net.add_population(3, activation="softmax"),
                rule=BrokenReward())
    with pytest.raises(TypeError, match="'broken_reward_segment'.*reward_segment fast path:\n"):
        bl.train(net, (rng.uniform(0, 1, (10, 5)), rng.integers(0, 3, 10)))


def test_block_driver_keeps_a_slow_decay_exact_in_float32(rng):
    """A decay of 1e-5 per step is lost in rounding 1 - 1e-5 in float32; the block driver
    keeps its factor as A - 1, so it is no less accurate than the per-sample driver."""
    x = rng.standard_normal((1000, 30)).astype(np.float32)
    rule = bl.rules.chain(bl.rules.Hebb(lr=1e-5), bl.rules.WeightDecay(decay=1e-5))
    W = {}
    for dtype, driver in (("float64", "online"), ("float32", "online"), ("float32", "auto")):
        net = bl.Network(seed=2, dtype=dtype)
        inp, out = net.add_input(30), net.add_population(20)
        net.connect(inp, out, rule=rule, init=bl.init.Normal(std=0.01))
        bl.train(net, x, driver=driver, shuffle=False)
        W[dtype, driver] = net.projections[0].W.astype(np.float64)
    ref = W["float64", "online"]
    err_block = np.abs(W["float32", "auto"] - ref).max()
    err_online = np.abs(W["float32", "online"] - ref).max()
    assert err_block <= 2 * err_online + 1e-9, (err_block, err_online)


def test_block_driver_applies_a_whole_row_decay_directly(rng, monkeypatch):
    """A step that scales a row to (near) zero cannot be folded into the block's factors:
    the driver ends the block and applies that sample straight to W (blocks after the cut
    end at the chunk boundary of the Gram products, across two segments here)."""
    from brainlearn.engine import run as engine_run
    monkeypatch.setattr(engine_run, "SEGMENT", 2 * engine_run.BLOCK)
    x = rng.uniform(0, 1, (300, 20))
    rule = bl.rules.chain(bl.rules.Hebb(lr=0.1), bl.rules.WeightDecay(decay=1.0))
    nets = []
    for driver in ("auto", "online"):
        net = bl.Network(seed=1)
        inp, out = net.add_input(20), net.add_population(5, activation="tanh")
        net.connect(inp, out, rule=rule)
        bl.train(net, x, driver=driver, shuffle=False)
        nets.append(net)
    # decay * dt = 1: each step replaces W by lr * y x^T of the last sample
    np.testing.assert_allclose(nets[0].projections[0].W, nets[1].projections[0].W, rtol=1e-12)
    net = nets[0]
    W = net.projections[0].W
    assert np.linalg.matrix_rank(W) == 1


def test_a_kernel_numba_cannot_compile_is_reported_by_rule_name(patterns):
    @numba.njit
    def broken(W, pre, post, mod, params, state, dt, dW, db):
        dW[0, 0] += params.lr * "text"  # a type error Numba refuses

    @dataclass(frozen=True)
    class Broken(LocalRule):
        lr: float = hyperparameter(0.01, low=0.0)

    Broken.kernel = staticmethod(broken)
    net = bl.Network(seed=0)
    x, y = net.add_input(8), net.add_population(3, activation="linear")
    p = net.connect(x, y, rule=Broken())
    W = p.W.copy()
    with pytest.raises(TypeError, match=r"(?s)rule 'Broken' on projection 'proj0': Numba cannot "
                                        r"compile its kernel:\n.*No implementation of function"):
        bl.train(net, patterns)
    np.testing.assert_array_equal(p.W, W)


def test_a_kernel_that_is_not_compiled_is_refused(patterns):
    @dataclass(frozen=True)
    class Plain(LocalRule):
        lr: float = hyperparameter(0.01, low=0.0)

    def kernel(W, pre, post, mod, params, state, dt, dW, db):
        pass

    Plain.kernel = staticmethod(kernel)
    net = bl.Network(seed=0)
    x, y = net.add_input(8), net.add_population(3, activation="linear")
    net.connect(x, y, rule=Plain())
    from brainlearn._jit import JIT_DISABLED
    if JIT_DISABLED:
        pytest.skip("with NUMBA_DISABLE_JIT every kernel is plain Python")
    with pytest.raises(TypeError, match="is not compiled; decorate it with @numba.njit"):
        bl.train(net, patterns)


# -- the driver selector -----------------------------------------------------------------------
def _one_layer(rule, n_out=8, activation="linear"):
    net = bl.Network(seed=0)
    x = net.add_input(64, name="input")
    y = net.add_population(n_out, activation=activation, name="out")
    net.connect(x, y, rule=rule)
    return net


@pytest.mark.parametrize("rule,expected", [
    ("oja", "block"),               # affine_kernel: blocks of samples through BLAS
    ("covariance", "block"),        # direction_kernel
    ("tag_and_capture", "segment"),  # segment_kernel on row blocks
    ("ltp", "rows"),                # row-local: threads own rows
    ("sanger", "online"),           # reads other rows: no fast path
    ("competitive", "online"),
])
def test_choose_driver_takes_a_rules_fast_path_at_batch_size_one_without_targets(rule, expected):
    plan = make_plan(_one_layer(rule), None)
    assert choose_driver(plan, 1, False) == expected
    assert choose_driver(plan, 8, False) == "minibatch"
    assert choose_driver(plan, 1, False, "online") == "online"


def test_choose_driver_with_targets_and_when_a_driver_is_asked_for():
    mlp = make_plan(bl.mlp([64, 16, 10], rule="backprop", seed=0), "cross_entropy")
    assert [choose_driver(mlp, 1, True), choose_driver(mlp, 32, True),
            choose_driver(mlp, 1, True, "minibatch")] == ["online", "minibatch", "minibatch"]
    reward = make_plan(_one_layer("reward_hebbian", 10, "softmax"), "cross_entropy")
    assert choose_driver(reward, 1, True) == "reward_segment"
    assert choose_driver(reward, 1, True, "online") == "online"


# -- the fast-path registry ------------------------------------------------------------------------
def test_fast_paths_are_registered_with_the_engine_not_the_rule():
    from brainlearn.engine.fastpaths import fast_path, registered_fast_paths

    assert fast_path(bl.rules.Oja).kinds() == ("affine",)
    assert fast_path(bl.rules.Covariance).kinds() == ("affine", "direction")
    assert fast_path(bl.rules.Covariance).input_state == ("mean_pre",)
    assert fast_path(bl.rules.TagAndCapture).kinds() == ("segment",)
    assert fast_path(bl.rules.RewardHebbian).kinds() == ("reward_segment",)
    assert fast_path(bl.rules.Sanger()).kinds() == ()
    assert {cls.name for cls in registered_fast_paths()} >= {
        "hebb", "oja", "bcm", "covariance", "weight_decay", "synaptic_scaling",
        "tag_and_capture", "reward_hebbian"}
    for cls in (bl.rules.Oja, bl.rules.TagAndCapture, bl.rules.RewardHebbian):
        assert not any("kernel" in k and k not in ("kernel", "batch_kernel", "rest_kernel")
                       for k in vars(cls)), cls


def test_a_subclass_inherits_fast_paths_only_with_its_parents_kernel_and_needs():
    from brainlearn.engine.fastpaths import fast_path

    @dataclass(frozen=True, repr=False)
    class Tuned(bl.rules.Oja):
        """Oja with another default rate: the same kernel."""

        lr: float = hyperparameter(5e-3, low=0.0, doc="learning rate")

    @dataclass(frozen=True, repr=False)
    class Changed(bl.rules.Oja):
        """Oja with a kernel of its own."""

        kernel = bl.rules.Hebb.kernel

    assert fast_path(Tuned()) is fast_path(bl.rules.Oja)
    assert fast_path(Changed()).kinds() == ()
    net = bl.Network(seed=0)
    net.connect(net.add_input(20), net.add_population(5), rule=Changed())
    net.projections[0].reset_state()
    assert make_plan(net, None).block == -1   # the generic drivers, not Oja's affine path


def test_register_fast_path_refuses_bad_registrations_by_name():
    from brainlearn.engine.fastpaths import fast_path, register_fast_path

    affine = fast_path(bl.rules.Oja).affine
    with pytest.raises(TypeError, match="rule_cls=.*allowed: a LearningRule subclass"):
        register_fast_path(object, affine=affine)
    with pytest.raises(ValueError, match="give at least one of affine, direction"):
        register_fast_path(bl.rules.Sanger)
    with pytest.raises(ValueError, match="direction= needs affine="):
        register_fast_path(bl.rules.Sanger, direction=affine)
    with pytest.raises(ValueError, match="input_state= names the state fields"):
        register_fast_path(bl.rules.Sanger, affine=affine, input_state=("x",))
    with pytest.raises(ValueError, match="registered for this class already; pass replace=True"):
        register_fast_path(bl.rules.Oja, affine=fast_path(bl.rules.Hebb).affine)
    if not bl._jit.JIT_DISABLED:
        with pytest.raises(TypeError, match="is not compiled"):
            register_fast_path(bl.rules.Sanger, affine=lambda *a: None)
    # the same functions again (a file run twice) are taken quietly
    assert register_fast_path(bl.rules.Oja, affine=affine).affine is affine


def test_a_fast_path_set_on_the_rule_class_is_refused_with_the_new_spelling():
    with pytest.raises(TypeError, match=r"Old\.affine_kernel: fast paths are registered with "
                                        r"the engine now: .*register_fast_path\(Old, \.\.\.\)"):
        @dataclass(frozen=True, repr=False)
        class Old(bl.rules.Oja):
            affine_kernel = bl.rules.Oja.kernel


def test_tags_merge_over_the_parents_and_refuse_unknown_names_and_values():
    assert bl.rules.Oja.tags.family == "hebbian" and bl.rules.Oja.tags.row_local
    assert bl.rules.Backprop.tags.locality == "nonlocal"

    @dataclass(frozen=True, repr=False)
    class Child(bl.rules.Oja):
        tags = dict(unstable=True)

    assert Child.tags.unstable and Child.tags.row_local and Child.tags.elementwise
    assert not bl.rules.Oja.tags.unstable
    with pytest.raises(TypeError, match=r"Typo\.tags has unknown tag\(s\) \['row_locl'\]"):
        class Typo(bl.rules.Oja):
            tags = dict(row_locl=True)
    with pytest.raises(ValueError, match=r"feedback='sideways'; allowed: transpose, random, direct"):
        class Sideways(bl.rules.Oja):
            tags = dict(feedback="sideways")
    with pytest.raises(TypeError, match=r"tags: lateral='yes' must be True or False"):
        class Yes(bl.rules.Oja):
            tags = dict(lateral="yes")
    # the old spelling still works, with a warning that shows the new one
    with pytest.warns(DeprecationWarning, match=r"write tags = dict\(unstable=True\)"):
        class Legacy(bl.rules.Oja):
            unstable = True
    assert Legacy.tags.unstable and Legacy.tags.row_local and "unstable" not in vars(Legacy)
