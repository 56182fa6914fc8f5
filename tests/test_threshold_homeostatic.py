"""Threshold LTP/LTD (Artola, Brocher & Singer 1990) and synaptic scaling (Turrigiano et al.
1998; van Rossum, Bi & Turrigiano 2000) do what the literature says, at sizes that run in
seconds. Equality with the NumPy twins is in test_rule_twins.py."""

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.rules import SynapticScaling, ThresholdLTP, kernel_params

THETA_MINUS, THETA_PLUS = 0.2, 0.5


def _single_layer(n_in, n_out, rule, W0, bias=0.0, activation="linear"):
    net = bl.Network(seed=0)
    x = net.add_input(n_in)
    y = net.add_population(n_out, activation=activation, bias=bias)
    p = net.connect(x, y, rule=rule, init=np.asarray(W0, dtype=np.float64))
    return net, p


def _kernel_change(rule, W, pre, post, dt=1.0, state=None):
    """One call of the rule's kernel, as the engine makes it; returns dW."""
    W = np.asarray(W, np.float64)
    dW = np.zeros_like(W)
    rule.kernel(W, np.asarray(pre, np.float64), np.asarray(post, np.float64),
                np.zeros(W.shape[0]), kernel_params(rule, np.float64), state or bl.rules.EmptyState(),
                np.float64(dt), dW, np.zeros(0))
    return dW


# -- threshold LTP/LTD -----------------------------------------------------------------------------
@pytest.mark.parametrize("soft_bounds", [True, False])
def test_ltp_sign_follows_the_three_regimes(soft_bounds):
    """Artola et al. 1990: weak activation no change, intermediate LTD, strong LTP; the change
    is proportional to the presynaptic activity and to dt (rates per second)."""
    rule = ThresholdLTP(lr=0.1, ltd_scale=0.5, theta_minus=THETA_MINUS, theta_plus=THETA_PLUS,
                        soft_bounds=soft_bounds)
    # activities on both sides of, and exactly at, each threshold
    post = np.array([-1.0, 0.0, 0.19, 0.2, 0.35, 0.49, 0.5, 0.8, 3.0])
    regime = np.where(post < THETA_MINUS, 0, np.where(post < THETA_PLUS, -1, 1))
    pre = np.array([0.0, 0.3, 1.0])
    W = np.full((post.size, pre.size), 0.5)
    dW = _kernel_change(rule, W, pre, post)
    assert np.all(dW[:, 0] == 0), "a silent input changed its synapse"
    np.testing.assert_array_equal(np.sign(dW[:, 1:]), np.repeat(regime[:, None], 2, axis=1))
    # proportional to x_j (soft bounds: the room is the same for every synapse here)
    np.testing.assert_allclose(dW[:, 2], dW[:, 1] / 0.3, rtol=1e-12)
    # LTD is ltd_scale times LTP at equal room (w = 0.5 is mid-way between 0 and 1)
    np.testing.assert_allclose(dW[regime == -1, 2], -0.5 * 0.1 * 0.5 if soft_bounds else -0.05)
    np.testing.assert_allclose(dW[regime == 1, 2], 0.1 * 0.5 if soft_bounds else 0.1)
    np.testing.assert_allclose(_kernel_change(rule, W, pre, post, dt=0.25), 0.25 * dW, rtol=1e-12)


def test_ltp_soft_bounds_follow_the_sign_of_the_change():
    """A negative input reverses the change (as in Hebb's rule); the soft bound that scales it
    is the one it moves toward: w_max for an increase, w_min for a decrease."""
    rule = ThresholdLTP(lr=0.1, ltd_scale=0.5, theta_minus=THETA_MINUS, theta_plus=THETA_PLUS,
                        w_min=0.0, w_max=1.0)
    W = np.full((2, 2), 0.8)
    dW = _kernel_change(rule, W, [1.0, -1.0], [0.8, 0.3])  # potentiating, depressing row
    np.testing.assert_allclose(dW, [[0.1 * 0.2, -0.1 * 0.8], [-0.05 * 0.8, 0.05 * 0.2]],
                               rtol=1e-12)


def test_ltp_regimes_in_training():
    """Through the engine: three units held in the three regimes by their biases."""
    n_in = 5
    W0 = np.full((3, n_in), 0.01)
    net, p = _single_layer(n_in, 3, ThresholdLTP(lr=0.05), W0, bias=[0.0, 0.35, 0.8])
    x = np.random.default_rng(1).uniform(0.2, 1.0, (20, n_in))
    bl.train(net, x, epochs=1)
    change = p.W - W0
    assert np.all(change[0] == 0)
    assert np.all(change[1] < 0) and np.all(change[2] > 0)


def _bounds_run(soft_bounds, lr):
    """Uniform inputs into units that depress or potentiate, far more steps than needed to
    reach the bounds; returns the final W."""
    rng = np.random.default_rng(3)
    n_in, n_out = 10, 8
    W0 = rng.uniform(0.3, 0.6, (n_out, n_in))
    # the drive W x is about 2.2: the biases put half the units below theta_plus, where they
    # depress (no theta_minus in range), which lowers their drive further; the others potentiate
    bias = np.linspace(-3.5, -1.0, n_out)
    rule = ThresholdLTP(lr=lr, ltd_scale=1.0, theta_minus=-100.0, theta_plus=THETA_PLUS,
                        w_min=0.0, w_max=1.0, soft_bounds=soft_bounds)
    net, p = _single_layer(n_in, n_out, rule, W0, bias=bias)
    bl.train(net, rng.uniform(0.0, 1.0, (400, n_in)), epochs=1, dt=0.5)
    return np.array(p.W)


def test_ltp_soft_bounds_keep_weights_within_bounds():
    """Steps of up to half the distance to the bound (lr dt x <= 0.5): additive steps of that
    size would leave [0, 1] within a few presentations; soft-bounded ones approach it."""
    W = _bounds_run(soft_bounds=True, lr=1.0)
    assert np.all((W > 0.0) & (W <= 1.0)), (W.min(), W.max())  # 0 is approached, never hit
    assert W.max() > 0.99 and W.min() < 0.01, "no weight came near a bound: the test proves little"


def test_ltp_hard_bounds_clip():
    W = _bounds_run(soft_bounds=False, lr=0.1)
    assert W.min() == 0.0 and W.max() == 1.0
    assert np.sum(W == 1.0) > 5 and np.sum(W == 0.0) > 5, "the bounds were hardly reached"


@pytest.mark.parametrize("kwargs,names", [
    ({"theta_minus": 0.6, "theta_plus": 0.5}, ("theta_minus=0.6", "theta_plus=0.5")),
    ({"w_min": 1.0, "w_max": 1.0}, ("w_min=1.0", "w_max=1.0")),
])
def test_ltp_bad_thresholds_and_bounds_are_rejected(kwargs, names):
    with pytest.raises(ValueError) as info:
        ThresholdLTP(**kwargs)
    msg = str(info.value)
    assert "\n" not in msg and all(n in msg for n in names), msg


def test_ltp_equal_thresholds_leave_no_depression_window():
    rule = ThresholdLTP(theta_minus=0.4, theta_plus=0.4)
    dW = _kernel_change(rule, np.full((3, 2), 0.5), [1.0, 1.0], [0.39, 0.4, 0.41])
    assert np.all(dW[0] == 0) and np.all(dW[1:] > 0)


# -- synaptic scaling ------------------------------------------------------------------------------
# trained by the per-sample driver: the block driver that "auto" picks for this rule costs a
# compilation of its own, and equals the per-sample one (test_rule_twins.py, single projection)
TARGET = 1.0


def test_scaling_brings_too_high_and_too_low_rates_to_the_target():
    """Turrigiano et al. 1998: neurons firing above or below their set point scale all their
    synapses by a common factor until the rate is back at it; ratios within a row are kept."""
    rng = np.random.default_rng(0)
    n_in = 50
    x = rng.uniform(0.0, 1.0, (3000, n_in))
    start = np.array([3.0, 2.0, 0.5, 0.3])  # initial rate / target
    W0 = rng.uniform(0.0, 1.0, (start.size, n_in))
    W0 *= (start * TARGET / (W0 @ x.mean(axis=0)))[:, None]
    net, p = _single_layer(n_in, start.size, SynapticScaling(lr=0.02, target=TARGET, tau=2.0),
                           W0, activation="relu")
    bl.train(net, x, epochs=1, dt=1.0, driver="online")
    rate = np.maximum(x @ p.W.T, 0.0).mean(axis=0)
    np.testing.assert_allclose(rate, TARGET, rtol=0.03)
    np.testing.assert_allclose(p.state.rate, TARGET, rtol=0.1)
    ratio = p.W / W0
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones_like(ratio), rtol=1e-9)
    assert np.all(ratio[:2] < 0.6) and np.all(ratio[2:] > 1.8), "the weights hardly moved"


@pytest.mark.parametrize("dt", [0.05, 0.01])
def test_scaling_time_constant_is_one_over_lr(dt):
    """Documented: for a linear unit read without lag (tau << dt) a small relative rate error
    decays like exp(-lr t), whatever the step dt (rates per second)."""
    lr, err0, t = 1.0, 0.02, 1.0
    rule = SynapticScaling(lr=lr, target=TARGET, tau=1e-4)
    x = np.ones((round(t / dt), 2))
    net, p = _single_layer(2, 1, rule, [[0.5 * TARGET * (1 + err0)] * 2])
    bl.train(net, x, epochs=1, shuffle=False, dt=dt, driver="online")
    err = p.W.sum() / TARGET - 1
    assert err == pytest.approx(err0 * np.exp(-lr * t), rel=0.05)


def test_scaling_rejects_a_nonpositive_target():
    with pytest.raises(ValueError, match="target=0.0"):
        SynapticScaling(target=0.0)
