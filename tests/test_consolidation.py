"""Tag-trigger-consolidation (Clopath et al. 2008; Frey & Morris 1997, 1998): literature
behaviour, the kernels against their NumPy twin, and bad input.

One neuron with two pathways -- S (strong) and W (weak) -- of k synapses each (the paper: 100
each, all of the neuron's 200 synapses), baseline weight 1, driven by spike protocols
(bl.protocols.apply) or by rate presentations (bl.train) and rest (bl.rest). A pathway's
captured fraction is the fraction of its synapses whose late phase is up.
"""

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.rules import TagAndCapture
from brainlearn.rules.consolidation import tag_thresholds

import naive

P = bl.protocols
PATH1, PATH2 = np.arange(100), np.arange(100, 200)
HOUR, MIN = 3600.0, 60.0
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


def captured(q, idx):
    """The fraction of the synapses ``idx`` whose late phase is up."""
    return float(np.mean(q.state.late[0, idx] > 0.5))


def pairing(gap, k=100, n_pre=200, weak=WEAK, block_weak=False, after=4 * HOUR):
    """A strong tetanus to S = 0..k-1 and a weak one to W = k..2k-1, ``gap`` minutes apart:
    gap > 0 strong first (from its last train to the weak tetanus), gap < 0 weak first (from
    the weak tetanus to the first train); ``after`` seconds of rest after the second.
    ``block_weak``: protein synthesis blocked from 10 min before to 1 h after the weak
    tetanus (anisomycin, Frey & Morris 1997). Returns (projection, S, W)."""
    _, q = neuron(n_pre=n_pre)
    s, w = np.arange(k), np.arange(k, 2 * k)
    second = weak
    if block_weak:
        second = P.protein_block(P.silence(10 * MIN) + weak + P.silence(HOUR))
        after -= HOUR
    if gap >= 0:
        P.apply(q, STRONG + P.silence(gap * MIN - (10 * MIN if block_weak else 0.0)), pre=s)
        P.apply(q, second + P.silence(after), pre=w)
    else:
        P.apply(q, weak + P.silence(-gap * MIN), pre=w)
        P.apply(q, STRONG + P.silence(after), pre=s)
    return q, s, w


# -- the phases on their own ------------------------------------------------------------------------
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
    assert np.all(trace.protein == 0), "a weak tetanus alone triggered proteins"
    assert np.all(q.state.late == 0), "weak alone consolidated"
    assert mean_w(q, PATH2) == 1.0, "the unstimulated pathway changed"


def test_strong_tetanus_is_consolidated_and_bounded():
    _, q = neuron()
    trace = P.apply(q, STRONG + P.silence(8 * HOUR), pre=PATH1, record_every=5 * MIN)
    rule = q.rule
    # nearly every synapse is tagged, so nearly every one is captured ...
    assert captured(q, PATH1) > 0.85, f"only {captured(q, PATH1):.2f} of pathway 1 consolidated"
    assert mean_w(q, PATH1) > 1.0 + 0.85 * rule.late_weight, "potentiation did not persist to 8 h"
    assert np.all(np.abs(rule.early(q.state)) < 0.01), "the early phase has not decayed"
    assert abs(mean_w(q, PATH2) - 1.0) < 1e-6, "the unstimulated, untagged pathway changed"
    # ... and the late phase never goes past its upper state while tags and proteins last
    assert trace.late.max() <= 1.0, f"the late phase overshot to {trace.late.max():.4f}"
    late_w = (trace.W[:, 0, PATH1] - trace.baseline[:, 0, PATH1]
              - rule.ltp_weight * trace.tag_ltp[:, 0, PATH1])
    assert late_w.max() <= rule.late_weight + 1e-12, "the late weight overshot late_weight"


def test_tags_end_within_three_hours_and_thresholds_are_spread_evenly():
    # Frey & Morris 1997: the tag lasts less than 3 h; with the floor no tag outlives
    # tau_h ln(1 / floor) = 3.0 h, whatever its early phase
    rule = TagAndCapture()
    assert rule.tau_tag_ltp * np.log(1.0 / rule.tag_floor) <= 3.0 * HOUR + 1.0
    _, q = neuron()
    u = q.state.tag_threshold
    np.testing.assert_array_equal(u, tag_thresholds((1, 200), rule.tag_floor))
    assert u.min() >= rule.tag_floor and u.max() < 1.0
    # any run of k synapses holds the uniform distribution to about 1/k
    for lo, k in ((0, 100), (100, 100), (37, 50), (150, 20)):
        run = np.sort(u[0, lo:lo + k])
        cdf = (run - rule.tag_floor) / (1.0 - rule.tag_floor)
        assert np.abs(cdf - (np.arange(k) + 0.5) / k).max() < 2.5 / k, (lo, k)


# -- capture: both orders, pathway sizes, pulse counts, protein-synthesis blocks -----------------
@pytest.mark.parametrize("k", [67, 80, 100])  # a third, two fifths and half of the synapses
@pytest.mark.parametrize("gap", [-60, -35, 35, 60])
def test_weak_tetanus_is_captured_within_an_hour_in_both_orders(k, gap):
    """Frey & Morris 1997 (strong, then weak 35 min later) and 1998 (weak before strong):
    the weak pathway is consolidated in part -- its synapses still tagged when proteins are
    there -- at pathway sizes from a third to half of the neuron's synapses."""
    q, s, w = pairing(gap, k=k)
    strong, weak = captured(q, s), captured(q, w)
    assert strong > 0.85, f"the strong pathway consolidated only {strong:.2f}"
    assert 0.08 < weak < 0.5, f"{weak:.2f} of the weak pathway captured"
    assert weak < 0.6 * strong, "capture is not graded: the weak pathway caught up the strong one"
    assert q.state.late.max() <= 1.0


@pytest.mark.parametrize("k", [67, 80, 100])
@pytest.mark.parametrize("gap", [-240, -180, 180, 240])
def test_nothing_is_captured_three_hours_apart_or_more(k, gap):
    """Frey & Morris 1997: the tag decays in less than 3 h; the strong tetanus's proteins are
    gone by then too."""
    q, s, w = pairing(gap, k=k)
    assert captured(q, s) > 0.85
    assert captured(q, w) == 0.0
    assert q.rule.late(q.state)[0, w].max() < 1e-4 * q.rule.late_weight  # none, not even a trace


@pytest.mark.parametrize("gap", [-35, 35])
def test_capture_grows_with_the_weak_tetanus_and_does_not_flip_on_one_pulse(gap):
    fractions = [captured(*pairing(gap, weak=P.tetanus(n, 100.0))[::2]) for n in range(18, 25)]
    steps = np.diff(fractions)
    assert min(fractions) > 0.08, fractions
    assert np.all(steps >= 0) and steps.max() <= 0.05, f"18..24 pulses: {fractions}"


def test_capture_is_per_synapse_and_scales_with_the_tagged_fraction():
    q, s, w = pairing(35)
    u = q.state.tag_threshold[0, w]
    up = q.state.late[0, w] > 0.5
    # the captured synapses are those tagged longest: the lowest thresholds
    assert up.any() and not up.all()
    assert u[up].max() < u[~up].min()
    # ... a share of those the weak tetanus tagged (h > threshold right after it)
    _, q0 = neuron()
    trace = P.apply(q0, WEAK, pre=w)
    tagged = np.mean(trace.tag_ltp[-1, 0, w] > q0.state.tag_threshold[0, w])
    assert 0.7 * tagged < captured(q, w) <= tagged, (captured(q, w), tagged)


def test_blocking_protein_synthesis_during_the_strong_tetanus_removes_the_late_phase():
    """Frey & Morris 1997: anisomycin during the tetanus leaves early LTP, blocks late LTP."""
    _, q = neuron()
    blocked = P.protein_block(P.silence(15 * MIN) + STRONG + P.silence(HOUR))
    trace = P.apply(q, blocked + P.silence(6 * HOUR), pre=PATH1, record_every=5 * MIN)
    w = trace.W[:, 0, PATH1].mean(axis=1)
    assert w[np.isclose(trace.t, 40 * MIN)][0] > 1.7, "no early LTP under the block"
    assert np.all(trace.protein == 0), "proteins were made"
    assert np.all(q.state.late == 0) and abs(mean_w(q, PATH1) - 1.0) < 0.05


def test_proteins_of_a_strong_tetanus_capture_a_weak_one_under_a_block():
    """Frey & Morris 1997, the central point: with protein synthesis blocked from 10 min before
    to 1 h after a weak tetanus given 35 min after a strong one, the weak tetanus is still
    consolidated -- by the proteins the strong one made."""
    free, _, w = pairing(35)
    q, _, w = pairing(35, block_weak=True)
    assert captured(q, w) > 0.3, f"only {captured(q, w):.2f} captured under the block"
    assert abs(captured(q, w) - captured(free, w)) < 0.06
    # and the proteins did only decay during the block
    _, q2 = neuron()
    P.apply(q2, STRONG + P.silence(25 * MIN), pre=PATH1)
    block = P.protein_block(P.silence(10 * MIN) + WEAK + P.silence(HOUR))
    trace = P.apply(q2, block, pre=PATH2, record_every=5 * MIN)
    assert trace.protein[0] > 0.3 and np.all(np.diff(trace.protein[:, 0]) <= 0)


def test_strong_low_frequency_stimulation_depresses_the_late_phase():
    """The paper's late LTD: with 30% of the late phases up at the start, 900 pulses at 1 Hz
    that make the cell fire tag for LTD, trigger proteins and bring up synapses down."""
    _, q = neuron(TagAndCapture(up_fraction=0.3))
    z0 = q.state.late[0].copy()
    P.apply(q, P.low_frequency(900, 1.0, post=True) + P.silence(8 * HOUR), pre=PATH1)
    z = q.state.late[0]
    assert z0[PATH1].sum() > 20 and z[PATH1].sum() < 0.5 * z0[PATH1].sum()
    np.testing.assert_array_equal(z[PATH2], z0[PATH2])
    assert mean_w(q, PATH1) < 0.8


# -- the kernels: rest against stepping, and against the NumPy twin ---------------------------------
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
def test_kernels_equal_their_twin(dtype):
    """Three neurons -- one tagging for LTP, one for LTD, one quiet -- with half of the late
    phases up: stimulation through the engine's kernel, then rest through the rest kernel,
    against the NumPy twin (which starts from the rule's initial late phase)."""
    rule = TagAndCapture(protein_threshold=0.15, capture=0.5, consolidation_dt=2.0,
                         tau_protein_rise=5.0, tau_late=20.0, up_fraction=0.5, ltd_rate=0.04,
                         ltp_weight=0.05, ltd_weight=0.02, late_weight=0.1)
    rng = np.random.default_rng(3)
    net = bl.Network(seed=0, dtype=dtype)
    x = net.add_input(12)
    y = net.add_population(3, activation="linear")
    scale = np.array([[1.0], [0.07], [0.0]])  # drives of about 18, 1.3 and 0: LTP, LTD, none
    q = net.connect(x, y, rule=rule, init=rng.normal(1.0, 0.2, (3, 12)) * scale)
    twin = naive.NaiveTagAndCapture(**dict(rule.get_params(), up_fraction=0.0))
    W = np.array(q.W, np.float64)
    twin.reset(W)
    twin.late = np.array(q.state.late, np.float64)
    twin.baseline = np.array(q.state.baseline, np.float64)
    z0 = twin.late.copy()
    X = rng.random((25, 12)) * 3.0
    for xs in X:  # stimulation: the kernel through the engine, the twin by hand
        bl.train(net, xs[None], epochs=1, shuffle=False, dt=0.5)
        dW, _ = twin.delta(W, xs, W @ xs, None, 0.5)
        W = W + dW
    assert twin.protein[0] > 0.1 and twin.protein[1] > 0.1, "nothing to compare"
    bl.rest(net, 2 * HOUR + 0.5, dt=5.0)  # a pending clock, 1440 full steps and a short one
    W = W + twin.rest(W, 5.0, 1440)
    W = W + twin.rest(W, 0.5, 1)
    went_up, went_down = (z0 < 0.5) & (twin.late > 0.5), (z0 > 0.5) & (twin.late < 0.5)
    assert went_up[0].any() and not went_up[0][z0[0] < 0.5].all(), "LTP capture not graded"
    assert went_down[1].any() and not went_down[1][z0[1] > 0.5].all(), "LTD capture not graded"
    np.testing.assert_array_equal(twin.late[2], z0[2])
    tol = {"rtol": 1e-9, "atol": 1e-12} if dtype == "float64" else {"rtol": 2e-4, "atol": 2e-5}
    np.testing.assert_allclose(q.W, W, **tol)
    for f in ("tag_ltp", "tag_ltd", "late", "protein", "trace", "tag_threshold"):
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


def test_bad_hyperparameters_raise():
    with pytest.raises(ValueError, match=r"theta_ltd=3\.0.*theta_ltp=1\.0"):
        TagAndCapture(theta_ltd=3.0, theta_ltp=1.0)
    with pytest.raises(ValueError, match=r"tag_floor=1\.0.*tag_floor < 1"):
        TagAndCapture(tag_floor=1.0)
    with pytest.raises(ValueError, match=r"protein_synthesis=1\.5.*protein_synthesis <= 1"):
        TagAndCapture(protein_synthesis=1.5)


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
