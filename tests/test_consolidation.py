"""Tag-trigger-consolidation (Clopath et al. 2008; Frey & Morris 1997): literature behaviour,
the rest kernel against its NumPy twin, and bad input.

One neuron with two pathways of 100 synapses each (as in the paper's simulations), baseline
weight 1, driven by spike protocols (bl.protocols.apply) or by rate presentations (bl.train)
and rest (bl.rest).
"""

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.rules import TagAndCapture

import naive

P = bl.protocols
PATH1, PATH2 = np.arange(100), np.arange(100, 200)
HOUR = 3600.0
WEAK = P.tetanus(21, 100.0)  # the paper's weak tetanus
STRONG = P.repeat(P.tetanus(100, 100.0), n=3, interval=600.0)  # three trains, 10 min apart


def neuron(rule=None, n_pre=200, dtype="float64"):
    net = bl.Network(seed=0, dtype=dtype)
    x = net.add_input(n_pre)
    y = net.add_population(1, activation="linear")
    q = net.connect(x, y, rule=rule or TagAndCapture(), init=np.ones((1, n_pre)))
    return net, q


def mean_w(q, idx):
    return float(q.W[0, idx].mean())


def test_weak_tetanus_decays_back_to_baseline():
    _, q = neuron()
    trace = P.apply(q, WEAK + P.silence(5 * HOUR), pre=PATH1, record_every=HOUR)
    w = trace.W[:, 0, PATH1].mean(axis=1)
    t = trace.t
    early = w[t == HOUR][0]
    assert early > 1.1, f"the weak tetanus did not potentiate (w = {early:.3f} at 1 h)"
    for hours in (3, 4, 5):
        wh = w[np.isclose(t, hours * HOUR)][0]
        assert abs(wh - 1.0) < 0.1, f"w = {wh:.3f} at {hours} h, not within 10% of baseline 1"
    assert np.all(q.state.late == 0) and q.state.protein[0] < 1e-6, "weak alone consolidated"
    assert mean_w(q, PATH2) == 1.0, "the unstimulated pathway changed"


def test_strong_tetanus_is_consolidated():
    _, q = neuron()
    P.apply(q, STRONG + P.silence(5 * HOUR), pre=PATH1)
    rule = q.rule
    assert mean_w(q, PATH1) > 1.0 + 0.9 * rule.late_weight, "potentiation did not persist to 5 h"
    assert np.all(q.state.late[0, PATH1] > 0.9), "the late phase of pathway 1 is not up"
    assert abs(mean_w(q, PATH2) - 1.0) < 1e-6, "the unstimulated, untagged pathway changed"
    assert np.all(np.abs(rule.early(q.state)) < 0.05), "the early phase has not decayed"


@pytest.mark.parametrize("gap", [600.0, 1800.0])
def test_weak_tetanus_is_captured_during_the_protein_window(gap):
    _, q = neuron()
    P.apply(q, STRONG + P.silence(gap), pre=PATH1)
    assert q.state.protein[0] > 0.5, "the strong tetanus did not trigger proteins"
    P.apply(q, WEAK + P.silence(5 * HOUR), pre=PATH2)
    assert np.all(q.state.late[0, PATH2] > 0.9), "the weak pathway was not captured"
    assert mean_w(q, PATH2) > 1.0 + 0.9 * q.rule.late_weight


def _late_after_repetitions(interval, x, rule, n_rep=3, presentations=40):
    """Mean late phase 24 h after n_rep blocks of the pattern x, onsets ``interval`` s apart
    (each block: ``presentations`` presentations of 1 s; interval 0: back to back)."""
    net, q = neuron(rule, n_pre=x.size)
    X = np.repeat(x[None], presentations, axis=0)
    for k in range(n_rep):
        bl.train(net, X, epochs=1, shuffle=False, dt=1.0)
        if k < n_rep - 1:
            bl.rest(net, max(interval - presentations, 0.0), dt=10.0)
    bl.rest(net, 24 * HOUR, dt=10.0)
    return float(q.state.late.mean())


def test_spaced_repetitions_consolidate_more_than_massed():
    # graded input: synapses differ in how strongly they are tagged, so how many reach the
    # late phase measures how much was consolidated (a homogeneous pathway is all or none)
    x = np.random.default_rng(0).random(200)
    rule = TagAndCapture(theta_ltd=0.0, theta_ltp=0.0)  # rate units: every presentation is LTP
    massed = _late_after_repetitions(0.0, x, rule)
    spaced = _late_after_repetitions(600.0, x, rule)
    too_far = _late_after_repetitions(2 * HOUR, x, rule)
    assert 0.2 < massed < 0.95, f"massed {massed:.3f}: nothing or everything consolidated"
    assert spaced > massed + 0.01, f"spaced {spaced:.3f} vs massed {massed:.3f}"
    # the tags of the first repetitions are gone before the last: too much spacing loses
    assert too_far < spaced, f"2 h spacing {too_far:.3f} vs 10 min {spaced:.3f}"


def test_rest_equals_stepping_without_input():
    """bl.rest in steps of consolidation_dt equals presentations of silence (x = 0)."""
    rule = TagAndCapture(consolidation_dt=10.0)
    nets = [neuron(rule) for _ in range(2)]
    for net, q in nets:
        P.apply(q, P.tetanus(60, 100.0), pre=PATH1)
        bl.rest(net, 10.0, dt=10.0)  # advances the stimulation time still pending: clock 0
    (a, qa), (b, qb) = nets
    bl.rest(a, 1800.0, dt=10.0)
    bl.train(b, np.zeros((1800, 200)), epochs=1, shuffle=False, dt=1.0)
    assert qa.state.protein[0] > 0.1 and qa.state.late.max() > 0.01, "nothing to compare"
    np.testing.assert_allclose(qa.W, qb.W, rtol=1e-9, atol=1e-12)
    for f in ("tag_ltp", "tag_ltd", "late", "protein"):
        np.testing.assert_allclose(getattr(qa.state, f), getattr(qb.state, f), rtol=1e-9,
                                   atol=1e-12, err_msg=f)


@pytest.mark.twin
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rest_kernel_equals_its_twin(dtype):
    rule = TagAndCapture(protein_threshold=0.2, capture=0.5, consolidation_dt=2.0,
                         tau_protein_rise=5.0, tau_late=20.0)
    rng = np.random.default_rng(3)
    net, q = neuron(rule, n_pre=12, dtype=dtype)
    net.projections[0].W[...] = rng.normal(1.0, 0.2, (1, 12))
    q.reset_state()
    twin = naive.NaiveTagAndCapture(**rule.get_params())
    twin.reset(np.array(q.W, np.float64))
    W = np.array(q.W, np.float64)
    X = rng.random((25, 12)) * 3.0
    for x in X:  # stimulation: the kernel through the engine, the twin by hand
        bl.train(net, x[None], epochs=1, shuffle=False, dt=0.5)
        dW, _ = twin.delta(W, x, W @ x, None, 0.5)
        W = W + dW
    assert twin.protein[0] > 0.1 and np.any(twin.late != 0), "nothing to compare"
    bl.rest(net, 2 * HOUR + 0.5, dt=5.0)  # a pending clock, 1440 full steps and a short one
    W = W + twin.rest(W, 5.0, 1440)
    W = W + twin.rest(W, 0.5, 1)
    tol = {"rtol": 1e-9, "atol": 1e-12} if dtype == "float64" else {"rtol": 2e-4, "atol": 2e-5}
    np.testing.assert_allclose(q.W, W, **tol)
    for f in ("tag_ltp", "tag_ltd", "late", "protein", "trace"):
        np.testing.assert_allclose(getattr(q.state, f), getattr(twin, f).reshape(
            getattr(q.state, f).shape), err_msg=f, **tol)
    np.testing.assert_allclose(q.W - q.state.baseline, rule.early(q.state) + rule.late(q.state),
                               **tol)


def test_up_fraction_starts_late_phase_up_and_keeps_the_weights():
    rule = TagAndCapture(up_fraction=0.3)
    _, q = neuron(rule)
    up = q.state.late[0]
    assert set(np.unique(up)) == {0.0, 1.0} and 40 < up.sum() < 80
    np.testing.assert_array_equal(q.W, 1.0)
    np.testing.assert_array_equal(q.state.baseline + rule.late(q.state), q.W)
    _, q2 = neuron(rule)
    np.testing.assert_array_equal(q2.state.late, q.state.late)  # seeded


def test_bad_thresholds_raise():
    with pytest.raises(ValueError, match=r"theta_ltd=3\.0.*theta_ltp=1\.0"):
        TagAndCapture(theta_ltd=3.0, theta_ltp=1.0)


# -- the segment kernel: many samples at once, as the row-parallel driver runs it ------------------
# thresholds that the activity crosses often (rows change between LTP, LTD and neither), fast
# tags, and the slow dynamics every 7 samples, so blocks end early and rows leave their branch
_SWITCHING = dict(ltp_rate=0.3, ltd_rate=0.2, theta_ltd=-0.05, theta_ltp=0.02, tau_trace=2.0,
                  ltp_weight=0.2, ltd_weight=0.1, consolidation_dt=7.0, protein_threshold=0.05,
                  up_fraction=0.3)


def _tag_net(n_pre, n_post, activation, seed=5, **params):
    net = bl.Network(seed=seed, dtype="float64")
    inp = net.add_input(n_pre)
    pop = net.add_population(n_post, activation=activation)
    q = net.connect(inp, pop, rule=TagAndCapture(**params), init=bl.init.Normal(std=0.1))
    return net, q


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid"])
def test_segment_kernel_training_equals_the_per_sample_driver(activation, monkeypatch):
    """bl.train's row-parallel driver hands segments of samples to the rule's segment kernel
    (two row blocks on threads, segments of 300 samples, the early phase in closed form
    between changes of regime): the same weights and state as the per-sample driver."""
    from brainlearn.engine import run
    monkeypatch.setattr(run, "SEGMENT", 300)
    x = np.random.default_rng(6).random((700, 180)) - 0.3
    params = _SWITCHING
    if activation == "sigmoid":  # activities in (0, 1): thresholds inside that range
        params = dict(_SWITCHING, theta_ltd=0.1, theta_ltp=0.4)
    nets = []
    for driver in ("auto", "online"):
        net, q = _tag_net(180, 113, activation, **params)  # 20,340 synapses: two row blocks
        bl.train(net, x, epochs=1, batch_size=1, shuffle=False, quiet=True, driver=driver)
        nets.append(q)
    seg, ref = nets
    assert np.abs(ref.W - _tag_net(180, 113, activation, **params)[1].W).max() > 1e-3
    for name in ("tag_ltp", "tag_ltd"):  # both branches were taken
        assert getattr(ref.state, name).max() > 0.1
    np.testing.assert_allclose(seg.W, ref.W, rtol=1e-9, atol=1e-11)
    for f in ref.state._fields:
        np.testing.assert_allclose(getattr(seg.state, f), getattr(ref.state, f), rtol=1e-9,
                                   atol=1e-11, err_msg=f)


def test_segment_kernel_splits_a_small_layer_between_threads():
    """A layer of 520 synapses: the per-sample row driver would keep it on one thread, the
    segment kernel's rows are split in two blocks; the same result as the per-sample
    driver."""
    import numba

    from brainlearn.engine import run
    x = np.random.default_rng(8).random((500, 40)) - 0.3
    net, q = _tag_net(40, 13, "linear", **_SWITCHING)
    plan = run.make_plan(net, None)
    assert plan.rows == 0 and run._row_blocks(net, plan) == min(2, numba.get_num_threads())
    bl.train(net, x, epochs=1, batch_size=1, shuffle=False, quiet=True)
    ref_net, ref = _tag_net(40, 13, "linear", **_SWITCHING)
    bl.train(ref_net, x, epochs=1, batch_size=1, shuffle=False, quiet=True, driver="online")
    np.testing.assert_allclose(q.W, ref.W, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(q.state.tag_ltp, ref.state.tag_ltp, rtol=1e-9, atol=1e-11)


def test_segment_kernel_reports_the_step_where_the_activity_overflowed(monkeypatch):
    """A sample whose drive overflows (in the second segment of 300 samples): both drivers
    raise DivergenceError at its step."""
    from brainlearn.engine import run
    monkeypatch.setattr(run, "SEGMENT", 300)
    x = np.random.default_rng(7).random((400, 180))
    x[357] = 1e308
    steps = []
    for driver in ("auto", "online"):
        net, _ = _tag_net(180, 113, "linear", **_SWITCHING)
        with pytest.raises(bl.DivergenceError) as err:
            bl.train(net, x, epochs=1, batch_size=1, shuffle=False, quiet=True, driver=driver)
        steps.append(err.value.step)
    assert steps == [357, 357]
