"""Every built-in rule, run by the compiled engine, equals its textbook twin in tests/naive.py.

A network is trained by the engine (online, and minibatch with batch sizes 1 and 5) on seeded
data for two epochs, and its final weights, biases and rule state are compared with the naive
NumPy twin started from the same initial weights: float64 to rounding (rtol 1e-10), float32 to
its precision (the twin runs in float64 from the float32 weights and data). The sample counts
are not multiples of 5, so the last batch of every epoch is short.

Each local rule has a network of its own (input -> population, and a lateral projection
where the rule needs one): compiling drivers is most of a cold run, and this is the structure
of the conformance checks' example networks, so the two share their compiled drivers (one
network holding every rule was one large driver per run that nothing else could use). A
single projection trained without targets takes the engine's row-block path and is tested
apart.
These tests also run with ``NUMBA_DISABLE_JIT=1`` (tests/test_nojit.py), hence the small sizes.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.engine.plan import make_plan
from brainlearn.rules import (BCM, AntiHebbian, Clip, Competitive, Covariance, Delta,
                              DirectFeedbackAlignment, FeedbackAlignment, Hebb, Oja,
                              RewardHebbian, RowNormalize, Sanger, SynapticScaling, TagAndCapture,
                              ThresholdLTP, WeightDecay, chain)

import naive

pytestmark = pytest.mark.twin

#: the twin of each built-in rule (backprop's is naive.NaiveMLP, in test_backprop.py)
TWINS = {
    "hebb": naive.NaiveHebb, "oja": naive.NaiveOja, "sanger": naive.NaiveSanger,
    "bcm": naive.NaiveBCM, "covariance": naive.NaiveCovariance,
    "competitive": naive.NaiveCompetitive, "anti_hebbian": naive.NaiveAntiHebbian,
    "reward_hebbian": naive.NaiveRewardHebbian, "weight_decay": naive.NaiveWeightDecay,
    "clip": naive.NaiveClip, "row_normalize": naive.NaiveRowNormalize,
    "delta": naive.NaiveGradient, "feedback_alignment": naive.NaiveGradient,
    "direct_feedback_alignment": naive.NaiveGradient,
    # chained with backprop; the two-task twin tests are in test_consolidation_gradient.py
    "ewc": naive.NaiveEWC, "synaptic_intelligence": naive.NaiveSynapticIntelligence,
    "ltp": naive.NaiveThresholdLTP, "synaptic_scaling": naive.NaiveSynapticScaling,
    "tag_and_capture": naive.NaiveTagAndCapture,
    # spike-driven; its twin tests (kernel, rest kernel, training) are in test_ltp_calcium.py
    "calcium": naive.NaiveCalcium,
    # associative-memory storage rules; their twin tests are in test_memory_twins.py
    "hopfield_hebb": naive.NaiveHopfieldHebb, "storkey": naive.NaiveStorkey,
    "pseudo_inverse": naive.NaivePseudoInverse, "clipped_hebb": naive.NaiveClippedHebb,
    "stochastic_binary": naive.NaiveStochasticBinary, "cascade": naive.NaiveCascade,
}
#: how the error reaches a hidden population, per gradient rule (as the papers define it)
FEEDBACK = {"delta": "transpose", "feedback_alignment": "random",
            "direct_feedback_alignment": "direct"}

TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-4, atol=1e-5)}
EPOCHS, DT = 2, 0.5


def twin_of(rule, state=None):
    """A fresh twin with the rule's hyperparameters (B taken from ``state`` for FA/DFA)."""
    if isinstance(rule, bl.rules.Chain):
        return naive.NaiveChain([twin_of(r) for r in rule.rules])
    cls = TWINS[rule.name]
    if cls is naive.NaiveGradient:
        B = None if FEEDBACK[rule.name] == "transpose" else np.array(state.B, np.float64)
        return cls(**rule.get_params(), feedback=FEEDBACK[rule.name], B=B)
    return cls(**rule.get_params())


def as64(a):
    """A float64 copy (never a view of live weights that training moves)."""
    return np.array(a, dtype=np.float64)


def assert_close(actual, expected, dtype, what):
    np.testing.assert_allclose(as64(actual), expected, err_msg=what, **TOL[dtype])


def assert_state_equals_twin(state, twin, dtype, what):
    """Rule state that the twin also keeps (thresholds, running means, traces)."""
    if isinstance(twin, naive.NaiveChain):
        for st, tw in zip(state, twin.rules):
            assert_state_equals_twin(st, tw, dtype, what)
        return
    for field in getattr(state, "_fields", ()):
        value = getattr(state, field)
        assert value.dtype == np.dtype(dtype), f"{what}: state {field} has dtype {value.dtype}"
        if hasattr(twin, field):
            assert_close(value, np.reshape(getattr(twin, field), value.shape), dtype,
                         f"{what}: state {field}")


# (dtype, driver, batch size): every driver in float64; float32 online and in batches of 5
RUNS = [("float64", "online", 1), ("float64", "minibatch", 1), ("float64", "minibatch", 5),
        ("float32", "online", 1), ("float32", "minibatch", 5)]
RUN_IDS = [f"{d}-{drv}{'' if drv == 'online' else b}" for d, drv, b in RUNS]


def train(net, data, run, **kwargs):
    dtype, driver, batch_size = run
    return bl.train(net, data, epochs=EPOCHS, batch_size=batch_size, driver=driver,
                    shuffle=False, dt=DT, **kwargs)


def test_every_builtin_rule_has_a_twin():
    builtin = {name for name in bl.rules.available()
               if bl.rules.get(name).__module__.startswith("brainlearn.rules.")}
    # the spiking rules' twins are clock-driven loops over spike trains (tests/test_spiking.py)
    spiking = {name for name in builtin if issubclass(bl.rules.get(name), bl.rules.SpikingRule)}
    assert builtin - {"backprop"} - spiking == set(TWINS)


# -- local rules: one network, a population per rule ----------------------------------------------
#: tag-and-capture with time constants of minutes and weights large enough to show
TAC = TagAndCapture(ltp_rate=0.2, ltd_rate=0.1, theta_ltd=-0.2, theta_ltp=0.5, tau_trace=0.2,
                    tau_tag_ltp=120.0, tau_tag_ltd=180.0, protein_threshold=0.25,
                    tau_protein_rise=20.0, tau_protein_decay=200.0, tau_late=30.0, capture=1.0,
                    ltp_weight=0.3, ltd_weight=0.2, late_weight=0.4, consolidation_dt=4.0)


@dataclass(frozen=True)
class LocalCase:
    rule: object
    activation: str = "linear"
    init_std: float = 0.3
    lateral: object = None  # the rule of a lateral projection of the population, if any


LOCAL = {
    "hebb": LocalCase(Hebb(lr=0.001)),
    "oja": LocalCase(Oja(lr=0.01)),
    "sanger": LocalCase(Sanger(lr=0.01)),
    "bcm": LocalCase(BCM(lr=0.01, y0=0.5, tau_theta=5.0, theta0=0.2), "tanh"),
    "covariance": LocalCase(Covariance(lr=0.002, beta=0.05)),
    "competitive": LocalCase(Competitive(lr=0.05)),
    "competitive_rank2_by_activity": LocalCase(Competitive(lr=0.05, rank=2, anti=0.4,
                                                           by_distance=False)),
    "competitive_rank3_by_distance": LocalCase(Competitive(lr=0.05, rank=3, anti=0.3)),
    # DeSieno's conscience, strong and fast enough to change winners within 2 x 303 samples
    # (the test checks that it does): gamma ~ 2 N E|x - <x>|^2 by distance, ~ N by activity
    "competitive_conscience": LocalCase(Competitive(lr=0.05, conscience=50.0,
                                                    conscience_rate=0.05)),
    "competitive_conscience_rank2_by_activity": LocalCase(
        Competitive(lr=0.05, rank=2, anti=0.4, by_distance=False, conscience=2.0,
                    conscience_rate=0.05)),
    "competitive_conscience_rank3_by_distance": LocalCase(
        Competitive(lr=0.05, rank=3, anti=0.3, conscience=50.0, conscience_rate=0.05)),
    "chain_oja_clip": LocalCase(chain(Oja(lr=0.02), Clip(low=-0.25, high=0.25))),
    "chain_hebb_decay_normalize": LocalCase(chain(Hebb(lr=0.005), WeightDecay(decay=0.02),
                                                  RowNormalize(norm=1.5))),
    # sigmoid activities cross both thresholds; the data are N(0, 1), so x < 0 occurs too
    "ltp_soft": LocalCase(ThresholdLTP(lr=0.2, ltd_scale=0.5, theta_minus=0.4, theta_plus=0.6,
                                       w_min=-0.5, w_max=0.5), "sigmoid"),
    "ltp_hard": LocalCase(ThresholdLTP(lr=0.05, theta_minus=0.4, theta_plus=0.6, w_min=-0.3,
                                       w_max=0.4, soft_bounds=False), "sigmoid"),
    "synaptic_scaling": LocalCase(SynapticScaling(lr=0.1, target=0.3, tau=2.0), "relu"),
    # minutes instead of hours, so that 2 x 303 steps of 0.5 s trigger proteins and capture
    "tag_and_capture": LocalCase(TAC),
    "anti_hebbian_lateral": LocalCase(Hebb(lr=0.002), "tanh", init_std=0.5,
                                      lateral=AntiHebbian(lr=0.02, p=0.1)),
}
N_IN, N_POST, N_SAMPLES, SETTLE = 6, 4, 303, 5


def local_data():
    rng = np.random.default_rng(2024)
    # anisotropic, so that principal components and competition are well defined
    return rng.normal(0.0, 1.0, (N_SAMPLES, N_IN)) * np.linspace(1.5, 0.5, N_IN)


@dataclass
class LocalRun:
    run: tuple
    X: np.ndarray  # the data as the network saw it, in float64
    projections: dict  # case -> (feed-forward projection, lateral projection or None)
    initial: dict  # case -> (W, bias, W_lat or None), float64 copies


@pytest.fixture(scope="module", params=RUNS, ids=RUN_IDS)
def local_run(request):
    dtype = request.param[0]
    X = local_data()
    rng = np.random.default_rng(99)
    projections, initial = {}, {}
    for name, case in LOCAL.items():
        # a network per rule: input -> population (+ lateral), the structure of the
        # conformance checks' example networks, whose compiled drivers these runs share
        net = bl.Network(seed=7, dtype=dtype)
        x = net.add_input(N_IN)
        pop = net.add_population(N_POST, activation=case.activation, name=name,
                                 bias=rng.normal(0.0, 0.1, N_POST), settle_steps=SETTLE)
        ff = net.connect(x, pop, rule=case.rule, init=bl.init.Normal(std=case.init_std))
        lat = None
        if case.lateral is not None:
            lat = net.connect(pop, pop, rule=case.lateral, init="zeros")
        projections[name] = (ff, lat)
        initial[name] = (as64(ff.W), as64(pop.bias), None if lat is None else as64(lat.W))
        try:
            train(net, X, request.param)
        except bl.DivergenceError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
    return LocalRun(request.param, as64(X.astype(dtype)), projections, initial)


@pytest.mark.parametrize("case", list(LOCAL))
def test_local_rule_equals_its_twin(local_run, case):
    dtype, _, batch_size = local_run.run
    spec = LOCAL[case]
    ff, lat = local_run.projections[case]
    W0, b, W_lat0 = local_run.initial[case]
    twin = twin_of(spec.rule)
    lateral_twin = None if spec.lateral is None else twin_of(spec.lateral)
    W, W_lat = naive.train_population(local_run.X, W0, b, spec.activation, twin,
                                      W_lat=W_lat0, lateral_rule=lateral_twin,
                                      settle_steps=SETTLE, batch_size=batch_size,
                                      epochs=EPOCHS, dt=DT)
    assert np.abs(W - W0).max() > 0.05, "the twin hardly learned: the test would prove little"
    if getattr(spec.rule, "conscience", 0.0) > 0:
        plain = twin_of(dataclasses.replace(spec.rule, conscience=0.0))
        W_plain, _ = naive.train_population(local_run.X, W0, b, spec.activation, plain,
                                            batch_size=batch_size, epochs=EPOCHS, dt=DT)
        assert np.abs(W - W_plain).max() > 0.05, \
            "the conscience changed no winner: the test would prove little"
    assert ff.W.dtype == np.dtype(dtype)
    assert_close(ff.W, W, dtype, f"{case}: W")
    assert_state_equals_twin(ff.state, twin, dtype, case)
    if lat is not None:
        assert np.abs(W_lat).max() > 0.05
        assert_close(lat.W, W_lat, dtype, f"{case}: lateral W")


# -- one projection trained without targets: the row-block path ---------------------------------
SINGLE = {
    "weight_decay": (WeightDecay(decay=0.02), "linear", (4, 6)),
    "row_normalize": (RowNormalize(norm=2.0), "linear", (4, 6)),
    "bcm": (BCM(lr=0.01, y0=0.5, tau_theta=5.0, theta0=0.2), "tanh", (4, 6)),
    "chain_hebb_decay_normalize": (chain(Hebb(lr=0.005), WeightDecay(decay=0.02),
                                         RowNormalize(norm=1.5)), "linear", (4, 6)),
    "chain_oja_clip": (chain(Oja(lr=0.02), Clip(low=-0.25, high=0.25)), "tanh", (4, 6)),
    "ltp": (ThresholdLTP(lr=0.2, ltd_scale=0.5, theta_minus=0.4, theta_plus=0.6, w_min=-0.5,
                         w_max=0.5), "sigmoid", (4, 6)),
    "synaptic_scaling": (SynapticScaling(lr=0.1, target=0.3, tau=2.0), "relu", (4, 6)),
    "tag_and_capture": (TAC, "linear", (4, 6)),
    # enough synapses for several row blocks on threads (when there are several cores)
    "bcm_many_rows": (BCM(lr=0.02, y0=0.5, tau_theta=5.0, theta0=0.2), "tanh", (101, 200)),
}
SINGLE_RUNS = [(case, "float64") for case in SINGLE] + [("chain_hebb_decay_normalize", "float32")]


@pytest.mark.parametrize("case,dtype", SINGLE_RUNS, ids=[f"{c}-{d}" for c, d in SINGLE_RUNS])
def test_single_projection_equals_its_twin(case, dtype):
    rule, activation, (n_post, n_pre) = SINGLE[case]
    n_samples = 40 if n_post * n_pre > 1000 else N_SAMPLES
    X = np.random.default_rng(5).normal(0.0, 1.0, (n_samples, n_pre)) / np.sqrt(n_pre / 6)
    net = bl.Network(seed=11, dtype=dtype)
    x = net.add_input(n_pre)
    pop = net.add_population(n_post, activation=activation, bias=0.05)
    p = net.connect(x, pop, rule=rule, init=bl.init.Normal(std=0.3))
    assert make_plan(net).rows == 0, "no longer the row-block path: update this test"
    W0 = as64(p.W)
    bl.train(net, X, epochs=EPOCHS, shuffle=False, dt=DT)  # driver "auto"
    twin = twin_of(rule)
    W, _ = naive.train_population(as64(X.astype(dtype)), W0, as64(pop.bias), activation, twin,
                                  epochs=EPOCHS, dt=DT)
    assert np.abs(W - W0).max() > 0.05, "the twin hardly learned: the test would prove little"
    assert_close(p.W, W, dtype, f"{case}: W")
    assert_state_equals_twin(p.state, twin, dtype, case)


# -- supervised and reward-driven networks on the digits -----------------------------------------
N_DIGITS = 203


def _reward_and_delta(dtype):
    """x -> hidden (reward-modulated Hebb) -> output (delta rule, mse)."""
    net = bl.Network(seed=3, dtype=dtype)
    x = net.add_input(64)
    h = net.add_population(12, activation="tanh", bias=0.05)
    out = net.add_population(10, activation="tanh")
    net.connect(x, h, rule=RewardHebbian(lr=0.01, tau_e=2.0, beta=0.1),
                init=bl.init.Normal(std=0.2))
    net.connect(h, out, rule=Delta(lr=0.05), init=bl.init.Normal(std=0.3))
    return net, "mse"


def _reward_at_output(dtype):
    """x -> softmax output learning by reward-modulated Hebb alone."""
    net = bl.Network(seed=4, dtype=dtype)
    x = net.add_input(64)
    out = net.add_population(10, activation="softmax")
    net.connect(x, out, rule=RewardHebbian(lr=0.05, tau_e=0.5, beta=0.05),
                init=bl.init.Normal(std=0.3))
    return net, "cross_entropy"


def _feedback_alignment(dtype):
    return bl.mlp([64, 12, 10, 10], rule=FeedbackAlignment(lr=0.05, weight_decay=1e-3),
                  hidden="tanh", output="softmax", seed=5, dtype=dtype), "cross_entropy"


def _direct_feedback_alignment(dtype):
    return bl.mlp([64, 12, 10, 10], rule=DirectFeedbackAlignment(lr=0.05), hidden="tanh",
                  output="softmax", seed=6, dtype=dtype), "cross_entropy"


SUPERVISED = {"reward_hebbian_and_delta": _reward_and_delta,
              "reward_hebbian_at_output": _reward_at_output,
              "feedback_alignment": _feedback_alignment,
              "direct_feedback_alignment": _direct_feedback_alignment}
SUPERVISED_RUNS = [(case, run) for case in SUPERVISED for run in RUNS[:4]]


@pytest.mark.parametrize("case,run", SUPERVISED_RUNS,
                         ids=[f"{c}-{RUN_IDS[RUNS.index(r)]}" for c, r in SUPERVISED_RUNS])
def test_supervised_network_equals_its_twin(digits64, case, run):
    dtype, _, batch_size = run
    net, loss = SUPERVISED[case](dtype)
    X = as64(digits64.x_train[:N_DIGITS].astype(dtype))
    labels = digits64.y_train[:N_DIGITS]
    projections = net.projections
    for p in projections:
        p.refresh_state()  # the DFA feedback matrices depend on the finished network
    twins = [twin_of(p.rule, p.state) for p in projections]
    Bs = [as64(p.state.B) if hasattr(p.state, "B") else None for p in projections]
    Ws, bs = naive.train_layers(X, np.eye(10)[labels], [as64(p.W) for p in projections],
                                [as64(p.post.bias) for p in projections],
                                [p.post.activation for p in projections], twins, loss=loss,
                                batch_size=batch_size, epochs=EPOCHS, dt=DT)
    train(net, (X.astype(dtype), labels), run, loss=loss)
    for k, (p, W, b, twin, B) in enumerate(zip(projections, Ws, bs, twins, Bs)):
        assert p.W.dtype == np.dtype(dtype)
        assert_close(p.W, W, dtype, f"{case}: W of projection {k}")
        assert_close(p.post.bias, b, dtype, f"{case}: bias of population {p.post.name}")
        if B is not None:
            np.testing.assert_array_equal(p.state.B, B, err_msg="the feedback matrix changed")
        assert_state_equals_twin(p.state, twin, dtype, f"{case}: projection {k}")
        if isinstance(twin, naive.NaiveRewardHebbian):
            assert 0.0 < twin.baseline < 1.0, "rewards all equal: the test would prove little"
