"""Stimulation protocols (bl.protocols): spike times, sequences, apply() against a NumPy loop."""

import collections
import math
from dataclasses import dataclass

import numpy as np
import pytest

import brainlearn as bl
from brainlearn._jit import jit
from brainlearn.rules import LocalRule, hyperparameter

P = bl.protocols


# -- the schedules --------------------------------------------------------------------------------
def test_tetanus_spike_times():
    p = P.tetanus(n_pulses=5, freq=100.0)
    np.testing.assert_allclose(p.pre_times, [0.0, 0.01, 0.02, 0.03, 0.04])
    np.testing.assert_allclose(p.post_times, p.pre_times)
    assert p.duration == pytest.approx(0.05)
    assert P.tetanus(5, 100.0, post=False).post_times.size == 0


def test_low_frequency_spike_times():
    p = P.low_frequency(n_pulses=3, freq=1.0)
    np.testing.assert_allclose(p.pre_times, [0.0, 1.0, 2.0])
    assert p.post_times.size == 0 and p.duration == 3.0
    np.testing.assert_allclose(P.low_frequency(2, 0.5, post=True).post_times, [0.0, 2.0])
    assert P.low_frequency().pre_times.size == 900


@pytest.mark.parametrize("delay", [0.01, -0.01, 0.0])
def test_spike_pairing_spike_times(delay):
    p = P.spike_pairing(n_pairs=3, freq=2.0, delay=delay)
    np.testing.assert_allclose(p.post_times - p.pre_times, delay, atol=1e-12)
    first = min(p.pre_times[0], p.post_times[0])
    assert first == 0.0
    np.testing.assert_allclose(np.diff(p.pre_times), 0.5)
    assert p.duration == 1.5


def test_silence_has_no_spikes():
    p = P.silence(2.5)
    assert p.pre_times.size == 0 and p.post_times.size == 0 and p.duration == 2.5


def test_sequence_shifts_the_second_protocol():
    a, b = P.spike_pairing(2, 1.0, 0.01), P.tetanus(3, 100.0)
    s = a + P.silence(10.0) + b
    assert s.duration == pytest.approx(2.0 + 10.0 + 0.03)
    np.testing.assert_allclose(s.pre_times, np.r_[a.pre_times, 12.0 + b.pre_times])
    np.testing.assert_allclose(s.post_times, np.r_[a.post_times, 12.0 + b.post_times])
    assert "tetanus" in s.name and "pairing" in s.name


def test_repeat_spaced_and_massed():
    train = P.tetanus(100, 100.0)
    spaced = P.repeat(train, n=3, interval=600.0)
    assert spaced.duration == pytest.approx(1201.0)
    np.testing.assert_allclose(spaced.pre_times[::100], [0.0, 600.0, 1200.0])
    assert spaced.pre_times.size == 300
    massed = P.repeat(train, n=3, interval=train.duration)  # back to back: one long train
    assert massed.duration == pytest.approx(3.0)
    np.testing.assert_allclose(massed.pre_times, P.tetanus(300, 100.0).pre_times, atol=1e-9)
    assert P.repeat(train, 1, 5.0).duration == train.duration


def test_protocols_are_values():
    assert P.tetanus(5, 100.0) == P.tetanus(5, 100.0)
    assert hash(P.silence(1.0)) == hash(P.silence(1.0))
    assert P.tetanus(5, 100.0) != P.tetanus(5, 50.0)
    assert "5 pre and 5 post spikes" in repr(P.tetanus(5, 100.0))


def test_protein_block_windows_follow_the_protocol():
    base = P.silence(100.0)
    blocked = P.protein_block(base, 10.0, 20.0)
    assert blocked.protein_blocks == (P.ProteinBlock(10.0, 20.0),)
    assert blocked.duration == base.duration and blocked.pre == base.pre
    assert P.protein_block(base).protein_blocks == (P.ProteinBlock(0.0, 100.0),)
    # a sequence shifts the second protocol's windows; repeat repeats them
    assert (P.silence(5.0) + blocked).protein_blocks == (P.ProteinBlock(15.0, 25.0),)
    assert P.repeat(blocked, 2, 200.0).protein_blocks == (P.ProteinBlock(10.0, 20.0),
                                                          P.ProteinBlock(210.0, 220.0))
    # overlapping or touching windows are one
    twice = P.protein_block(P.protein_block(base, 30.0, 60.0), 10.0, 30.0)
    assert twice.protein_blocks == (P.ProteinBlock(10.0, 60.0),)
    assert P.Protocol(duration=9.0, protein_blocks=[(1, 2)]).protein_blocks == (
        P.ProteinBlock(1.0, 2.0),)
    assert "protein synthesis blocked 10-20 s" in repr(blocked)
    assert blocked != base and hash(blocked) == hash(P.protein_block(base, 10.0, 20.0))


BAD = [
    (lambda: P.ProteinBlock(5.0, 5.0), ValueError, "end=5.0"),
    (lambda: P.ProteinBlock(-1.0, 2.0), ValueError, "start=-1.0"),
    (lambda: P.ProteinBlock("0", 2.0), TypeError, "start='0'"),
    (lambda: P.protein_block(P.silence(10.0), 0.0, 20.0), ValueError, "end=20.0"),
    (lambda: P.protein_block("silence", 0.0, 1.0), TypeError, "protocol='silence'"),
    (lambda: P.Protocol(duration=5.0, protein_blocks=[(1.0, 7.0)]), ValueError, "7.0"),
    (lambda: P.Protocol(duration=5.0, protein_blocks=[1.0]), TypeError, "protein_blocks"),
    (lambda: P.tetanus(n_pulses=0), ValueError, "n_pulses=0"),
    (lambda: P.tetanus(n_pulses=2.5), TypeError, "n_pulses=2.5"),
    (lambda: P.tetanus(freq=-5.0), ValueError, "freq=-5.0"),
    (lambda: P.tetanus(post="yes"), TypeError, "post='yes'"),
    (lambda: P.low_frequency(freq=math.nan), ValueError, "freq=nan"),
    (lambda: P.spike_pairing(delay=1.5), ValueError, "delay=1.5"),
    (lambda: P.spike_pairing(n_pairs=-1), ValueError, "n_pairs=-1"),
    (lambda: P.silence(-1.0), ValueError, "duration=-1.0"),
    (lambda: P.silence("1"), TypeError, "duration='1'"),
    (lambda: P.repeat(P.tetanus(100, 100.0), 3, 0.5), ValueError, "interval=0.5"),
    (lambda: P.repeat("tetanus", 3, 10.0), TypeError, "protocol='tetanus'"),
    (lambda: P.repeat(P.silence(1.0), 0, 10.0), ValueError, "n=0"),
    (lambda: P.Protocol(pre=[0.5], duration=0.5), ValueError, "duration=0.5"),
    (lambda: P.Protocol(pre=[-0.1], duration=1.0), ValueError, "-0.1"),
]


@pytest.mark.parametrize("make,error,shown", BAD, ids=[b[2] for b in BAD])
def test_bad_schedules_raise_one_line_errors(make, error, shown):
    with pytest.raises(error) as info:
        make()
    msg = str(info.value)
    assert shown in msg and "\n" not in msg


# -- apply() ----------------------------------------------------------------------------------------
def _numpy_loop(protocol, dt, W, pre_units, post_units, lr, decay, mask, bounds, record_every):
    """Step by step in NumPy: W += lr y x^T - decay dt W; mask; clip. Records every k steps."""
    n_steps = int(round(protocol.duration / dt))
    pre_at = collections.Counter(np.rint(protocol.pre_times / dt).astype(int).tolist())
    post_at = collections.Counter(np.rint(protocol.post_times / dt).astype(int).tolist())
    every = int(round(record_every / dt))
    W = W.copy()
    records = {0: W.copy()}
    for s in range(n_steps):
        x = np.zeros(W.shape[1])
        y = np.zeros(W.shape[0])
        x[pre_units] = pre_at.get(s, 0)
        y[post_units] = post_at.get(s, 0)
        W = W + lr * np.outer(y, x) - decay * dt * W
        W = np.clip(W * mask, *bounds)
        if (s + 1) % every == 0 or s + 1 == n_steps:
            records[s + 1] = W.copy()
    return records


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_apply_hebb_equals_a_numpy_loop(dtype):
    protocol = (P.spike_pairing(n_pairs=4, freq=10.0, delay=0.005) + P.silence(0.1)
                + P.tetanus(3, 100.0))
    dt, lr, decay = 1e-3, 0.2, 0.2
    rng = np.random.default_rng(0)
    W0 = rng.normal(0, 0.1, (3, 4))
    mask = (rng.random((3, 4)) < 0.8).astype(float)
    net = bl.Network(seed=0, dtype=dtype)
    x, y = net.add_input(4), net.add_population(3, activation="linear")
    q = net.connect(x, y, rule=bl.rules.chain(bl.rules.Hebb(lr=lr), bl.rules.WeightDecay(decay=decay)),
                    init=W0, mask=mask, bounds=(-0.2, 0.3))
    W_start = np.array(q.W, np.float64)
    trace = P.apply(q, protocol, dt=dt, pre=[0, 2], post=slice(1, 2), record_every=0.05)
    expected = _numpy_loop(protocol, dt, W_start, [0, 2], [1], lr, decay, mask, (-0.2, 0.3), 0.05)
    steps = np.rint(trace.t / dt).astype(int)
    assert list(steps) == sorted(expected), (steps, sorted(expected))
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    for k, s in enumerate(steps):
        np.testing.assert_allclose(trace.W[k], expected[s], err_msg=f"step {s}", **tol)
    np.testing.assert_array_equal(trace.W[-1], q.W)
    assert trace.W.dtype == np.dtype(dtype)
    assert trace.stepped == steps[-1]
    assert trace.rested == 0.0  # no rest kernel: every step is stepped
    assert np.abs(expected[steps[-1]] - W_start).max() > 0.05


# a rule with a rest kernel: a presynaptic trace e (decaying with tau) read at postsynaptic spikes
TraceState = collections.namedtuple("TraceState", ["e"])


@jit
def _trace_delta(W, pre, post, mod, params, state, dt, dW, db):
    e = state.e
    f = math.exp(-dt / params.tau)
    for j in range(W.shape[1]):
        e[j] = e[j] * f + pre[j]
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            dW[i, j] += params.lr * post[i] * e[j]


@jit
def _trace_rest(W, params, state, dt, n_steps, dW):
    f = math.exp(-dt * n_steps / params.tau)
    for j in range(W.shape[1]):
        state.e[j] *= f


@dataclass(frozen=True, repr=False)
class _PreTrace(LocalRule):
    """A presynaptic trace read at postsynaptic spikes (a test rule with a rest kernel)."""

    lr: float = hyperparameter(0.1, low=0.0, doc="learning rate")
    tau: float = hyperparameter(0.5, low=0.0, low_open=True, doc="trace time constant (s)")
    summary = "test rule"
    equation = r"\Delta w_{ij} = \eta\, y_i e_j"
    reference = "(test)"
    kernel = _trace_delta
    rest_kernel = _trace_rest

    def init_state(self, projection, rng):
        return TraceState(np.zeros(projection.W.shape[1], projection.W.dtype))


def test_rest_kernel_takes_the_silent_stretches_and_gives_the_stepped_result():
    protocol = P.spike_pairing(3, 1.0, 0.02) + P.silence(2.0) + P.tetanus(4, 50.0)
    results = []
    for settle in (0.01, 100.0):  # 100 s: nothing is left for the rest kernel
        net = bl.Network(seed=1)
        x, y = net.add_input(2), net.add_population(2, activation="linear")
        q = net.connect(x, y, rule=_PreTrace(), init=np.zeros((2, 2)))
        trace = P.apply(q, protocol, dt=1e-3, post=[0], settle=settle, record_every=1.0)
        results.append((trace, q))
    (rested, q_rest), (stepped, _) = results
    assert rested.rested > 4.0 and stepped.rested == 0.0
    assert rested.stepped < stepped.stepped / 10
    np.testing.assert_allclose(rested.t, stepped.t)
    np.testing.assert_allclose(rested.W, stepped.W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(rested.e, stepped.e, rtol=1e-10, atol=1e-13)
    assert q_rest.W[0].min() > 0.1 and np.all(q_rest.W[1] == 0)  # only post unit 0 fired


def test_trace_records_the_rule_state():
    net = bl.Network(seed=2)
    x, y = net.add_input(1), net.add_population(4, activation="linear")
    rule = bl.rules.Calcium()
    q = net.connect(x, y, rule=rule, init=rule.initial_weights((4, 1)))
    trace = P.apply(q, P.spike_pairing(5, 1.0, 0.01), dt=1e-3, record_every=1.0)
    np.testing.assert_allclose(trace.t, [0, 1, 2, 3, 4, 5])
    assert trace.W.shape == (6, 4, 1) and trace.rho.shape == (6, 4, 1)
    assert trace.state["c_post"].shape == (6, 4)
    np.testing.assert_allclose(trace.W, rule.w0 + trace.rho * (rule.b - 1) * rule.w0, rtol=1e-12)
    with pytest.raises(AttributeError, match="state fields"):
        trace.nonexistent  # noqa: B018


def test_apply_bad_input():
    net = bl.Network(seed=0)
    x, y = net.add_input(3), net.add_population(2, activation="linear")
    fixed = net.connect(x, y, init="zeros")
    q = net.connect(x, net.add_population(2), rule="hebb")
    sup = net.connect(y, net.add_population(2, activation="softmax"), rule="backprop")
    p = P.tetanus(3, 100.0)
    cases = [
        (lambda: P.apply("W", p), TypeError, "projection='W'"),
        (lambda: P.apply(fixed, p), ValueError, "no learning rule"),
        (lambda: P.apply(q, "tetanus"), TypeError, "protocol='tetanus'"),
        (lambda: P.apply(q, p, dt=0.0), ValueError, "dt=0.0"),
        (lambda: P.apply(q, p, rest_dt=-1), ValueError, "rest_dt=-1"),
        (lambda: P.apply(q, p, pre=[3]), ValueError, "pre=[3]"),
        (lambda: P.apply(q, p, post=[0.5]), TypeError, "post=[0.5]"),
        (lambda: P.apply(q, p, record_every=0), ValueError, "record_every=0"),
        (lambda: P.apply(sup, p), ValueError, "needs error"),
    ]
    for make, error, shown in cases:
        with pytest.raises(error) as info:
            make()
        assert shown in str(info.value) and "\n" not in str(info.value), str(info.value)


# -- protein-synthesis blocks in apply() -----------------------------------------------------------
def _tag_neuron(**params):
    net = bl.Network(seed=0)
    x, y = net.add_input(200), net.add_population(1, activation="linear")
    rule = bl.rules.TagAndCapture(**params)
    return net.connect(x, y, rule=rule, init=np.ones((1, 200)))


STRONG = P.repeat(P.tetanus(100, 100.0), n=3, interval=600.0)


def test_a_block_over_the_whole_protocol_equals_the_rule_with_synthesis_off():
    protocol = STRONG + P.silence(3600.0)
    a, b = _tag_neuron(), _tag_neuron(protein_synthesis=0.0)
    ta = P.apply(a, P.protein_block(protocol), pre=np.arange(100), record_every=600.0)
    tb = P.apply(b, protocol, pre=np.arange(100), record_every=600.0)
    np.testing.assert_array_equal(ta.t, tb.t)
    np.testing.assert_array_equal(ta.W, tb.W)
    for f in a.state._fields:
        np.testing.assert_array_equal(ta.state[f], tb.state[f], err_msg=f)
    assert np.all(ta.protein == 0) and ta.tag_ltp.max() > 0.8  # tagged, yet no proteins


def test_inside_a_block_proteins_only_decay_with_their_lifetime():
    """Proteins triggered by a strong tetanus (tags stay above the trigger for 20 min after
    it); synthesis blocked from 10 to 40 min after the tetanus, then free again."""
    q = _tag_neuron()
    tetanus = P.tetanus(300, 100.0)  # 3 s
    protocol = tetanus + P.silence(597.0) + P.protein_block(P.silence(1800.0)) + P.silence(600.0)
    trace = P.apply(q, protocol, pre=np.arange(100), record_every=300.0)
    p = trace.protein[:, 0]
    at = {round(t): k for k, t in enumerate(trace.t)}
    assert p[at[600]] > p[at[300]] > 0.3, "the tetanus did not trigger proteins"
    decay = np.exp(-300.0 / q.rule.tau_protein_decay)
    for t in range(900, 2401, 300):  # blocked: exact decay in every record interval
        np.testing.assert_allclose(p[at[t]], p[at[t - 300]] * decay, rtol=1e-12)
    tags = trace.tag_ltp[at[2400], 0, :100].sum() + trace.tag_ltd[at[2400], 0, :100].sum()
    assert tags < q.rule.protein_threshold * 200 and p[at[2700]] < p[at[2400]]
    # without the block the proteins keep rising while the tags last
    free = P.apply(_tag_neuron(), tetanus + P.silence(2997.0), pre=np.arange(100),
                   record_every=300.0)
    assert free.protein[at[1200], 0] > p[at[1200]] * 1.2
    np.testing.assert_array_equal(free.protein[:at[600] + 1], trace.protein[:at[600] + 1])


def test_a_block_needs_a_rule_that_makes_proteins():
    net = bl.Network(seed=0)
    x, y = net.add_input(2), net.add_population(1, activation="linear")
    q = net.connect(x, y, rule="hebb", lr=0.1)
    with pytest.raises(ValueError, match="protein_synthesis") as info:
        P.apply(q, P.protein_block(P.tetanus(3, 100.0)))
    assert "\n" not in str(info.value)
