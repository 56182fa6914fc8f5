"""The calcium rule (Graupner & Brunel 2012, PNAS 109:3991): literature behaviour and NumPy twin.

Behaviour is measured the paper's way, many independent synapses at once: one projection from
one presynaptic neuron to N postsynaptic ones receives the protocol, so its N synapses see the
same calcium and differ only in their noise -- N trials in one compiled run. Half start DOWN
(rho = 0), half UP (rho = 1) (beta = 0.5); after the protocol a synapse counts as UP when
rho > rho*, and the "change in synaptic strength" is the ratio of mean weights after/before
with w_UP / w_DOWN = b = 5 (their Fig. 2).
"""

import math

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.rules import Calcium, kernel_params

import naive

P = bl.protocols
DP = Calcium()  # the defaults are the paper's "DP" parameter set
N_SYN = 2000
#: the calcium is integrated exactly within a step and the delayed presynaptic calcium lands at
#: its exact time, so the step only places the spikes: 5 ms puts every delay tested on the grid
DT = 5e-3


def pairing_change(rule, delay, n_syn=N_SYN, seed=0, dtype="float64"):
    """Change in synaptic strength after 60 pairs at 1 Hz with t_post - t_pre = delay (s)."""
    net = bl.Network(seed=seed, dtype=dtype)
    x = net.add_input(1)
    y = net.add_population(n_syn, activation="linear")
    q = net.connect(x, y, rule=rule, init=rule.initial_weights((n_syn, 1), seed=seed))
    rho0 = q.state.rho.copy()
    P.apply(q, P.spike_pairing(n_pairs=60, freq=1.0, delay=delay), dt=DT, settle=0.05)
    return rule.synaptic_change(rho0, q.state.rho), q


def paper_curve(rule, delay, n_pairs=60, freq=1.0):
    """The paper's analytic change for pairs at ``freq`` Hz (their SI, as in their Fig. 2 code).

    The calcium of one period is sampled every 5 microseconds to get the fractions of time
    alpha_d, alpha_p above the thresholds; rho then follows an Ornstein-Uhlenbeck process with
    Gamma = gamma * alpha, mean Gamma_p / (Gamma_p + Gamma_d), time constant tau / (Gamma_p +
    Gamma_d) and sigma_rho^2 = (alpha_p + alpha_d) sigma^2 / (Gamma_p + Gamma_d), whose
    probability of ending past rho* gives the DOWN->UP and UP->DOWN transition probabilities.
    """
    period = 1.0 / freq
    t = np.arange(0.0, period, 5e-6)
    t_post, t_pre_ca = 0.5 * period, 0.5 * period - delay + rule.delay
    c = np.zeros_like(t)
    for k in (-1, 0, 1):
        for t0, amp in ((t_post, rule.c_post), (t_pre_ca, rule.c_pre)):
            t_k = t0 + k * period
            c += amp * np.exp(-np.clip(t - t_k, 0, None) / rule.tau_ca) * (t >= t_k)
    a_d, a_p = (c > rule.theta_d).mean(), (c > rule.theta_p).mean()
    g_p, g_d = rule.gamma_p * a_p, rule.gamma_d * a_d
    rho_bar = g_p / (g_p + g_d)
    var2 = (a_p + a_d) * rule.sigma ** 2 / (g_p + g_d)
    decay = math.exp(-n_pairs * period * (g_p + g_d) / rule.tau)

    def past_star(rho0):
        mean = rho_bar + (rho0 - rho_bar) * decay
        return 0.5 * (1 - math.erf((rule.rho_star - mean) / math.sqrt(var2 * (1 - decay ** 2))))

    up, down = past_star(0.0), 1 - past_star(1.0)
    beta, b = rule.beta, rule.b  # beta: fraction DOWN at the start
    after = beta * (1 - up) + (1 - beta) * down + b * (beta * up + (1 - beta) * (1 - down))
    return after / (beta + (1 - beta) * b)


# -- behaviour ---------------------------------------------------------------------------------------
CURVE_DELAYS_MS = (-100, -50, -20, -10, 10, 20, 50, 100)


@pytest.fixture(scope="module")
def dp_curve():
    return {d: pairing_change(DP, d * 1e-3)[0] for d in CURVE_DELAYS_MS}


def test_dp_pairs_potentiate_at_plus_10ms_and_depress_at_minus_10ms(dp_curve):
    # REFERENCES.md / Graupner & Brunel 2012 Fig. 2 (DP): 60 pairs at 1 Hz
    assert dp_curve[10] > 1.15, dp_curve
    assert dp_curve[-10] < 0.93, dp_curve


def test_dp_curve_has_the_published_shape(dp_curve):
    """Fig. 2 (DP panel): LTD for post-before-pre, deepest between -30 and -20 ms; LTP for small
    positive delays, largest near +5..+10 ms and smaller by +50 ms; back to no change at
    |delay| = 100 ms (their curve there: 0.99 and 1.005)."""
    assert dp_curve[-20] < dp_curve[-10] < 1 and dp_curve[-20] < 0.85, dp_curve
    assert dp_curve[-50] < 1, dp_curve
    assert dp_curve[10] > dp_curve[20] > dp_curve[50] > 1, dp_curve
    assert abs(dp_curve[100] - 1) < 0.05 and abs(dp_curve[-100] - 1) < 0.05, dp_curve


def test_dp_curve_equals_the_papers_analytic_curve(dp_curve):
    """Within sampling error (N = 2000 synapses: SE about 0.015) of the paper's mean-field theory."""
    for d, value in dp_curve.items():
        expected = paper_curve(DP, d * 1e-3)
        assert abs(value - expected) < 0.06, f"delay {d} ms: {value:.3f} vs theory {expected:.3f}"


def test_rho_relaxes_to_the_nearer_stable_state_at_rest():
    """Without calcium the cubic drift makes 0 (DOWN) and 1 (UP) stable, rho* the boundary."""
    net = bl.Network(seed=1)
    x, y = net.add_input(2), net.add_population(2, activation="linear")
    w = DP.w0 + np.array([[0.3, 0.45], [0.55, 0.7]]) * (DP.b - 1) * DP.w0
    q = net.connect(x, y, rule=DP, init=w)
    bl.rest(net, 7200.0)
    rho = q.state.rho
    assert rho[0, 0] < 0.1 and rho[0, 1] < 0.45 and rho[1, 0] > 0.55 and rho[1, 1] > 0.9, rho
    np.testing.assert_allclose(q.W, DP.w0 + rho * (DP.b - 1) * DP.w0, rtol=1e-12)


def test_poisson_rates_give_the_shot_noise_mean_calcium():
    """With rates=True, spikes at rate nu: the mean calcium is nu * C_post * tau_Ca (Campbell)."""
    rule = Calcium(rates=True, c_pre=0.0, sigma=0.0)
    net = bl.Network(seed=2)
    x, y = net.add_input(1), net.add_population(400, activation="linear")
    q = net.connect(x, y, rule=rule, init=np.full((400, 1), rule.w0))
    dt, nu, steps = 1e-3, 50.0, 4000
    pre, post, mod = np.zeros(1), np.full(400, nu), np.zeros(400)
    dW, db = np.zeros_like(q.W), np.zeros(0)
    params = kernel_params(rule, q.W.dtype)
    total = np.zeros(400)
    for _ in range(steps):  # a direct kernel loop: the per-step calcium is what is measured
        rule.kernel(q.W, pre, post, mod, params, q.state, dt, dW, db)
        total += q.state.c_post
    mean = total.mean() / steps
    # after each step the calcium has decayed by exp(-dt/tau_ca) from the jump at its start
    expected = nu * rule.c_post * rule.tau_ca * math.exp(-dt / rule.tau_ca) * (dt / rule.tau_ca) \
        / (1 - math.exp(-dt / rule.tau_ca))
    assert mean == pytest.approx(expected, rel=0.03)


def test_same_seed_same_run_other_seed_other_noise():
    a = pairing_change(DP, 0.01, n_syn=50, seed=3)[1].state.rho
    b = pairing_change(DP, 0.01, n_syn=50, seed=3)[1].state.rho
    c = pairing_change(DP, 0.01, n_syn=50, seed=4)[1].state.rho
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_resting_through_gaps_equals_stepping_through_them():
    """The calcium is integrated exactly, so handing the silent 0.95 s of each period to the rest
    kernel (1 s steps) gives what 0.5 ms steps give (noise off; the cubic drift by Euler)."""
    rule = Calcium(sigma=0.0)
    runs = []
    for settle in (0.05, 2.0):  # 2 s: every gap is stepped
        net = bl.Network(seed=5)
        x, y = net.add_input(1), net.add_population(3, activation="linear")
        q = net.connect(x, y, rule=rule, init=DP.w0 + np.array([[0.2], [0.5], [0.8]]) * 4 * DP.w0)
        trace = P.apply(q, P.spike_pairing(10, 1.0, 0.01), dt=0.5e-3, settle=settle)
        runs.append((q.W.copy(), trace))
    (W_rest, t_rest), (W_step, t_step) = runs
    assert t_rest.rested > 8.0 and t_step.rested == 0.0
    assert np.abs(W_step - rule.initial_weights((3, 1))).max() > 0  # something happened
    np.testing.assert_allclose(W_rest, W_step, atol=2e-4)


# -- the NumPy twin (also run with NUMBA_DISABLE_JIT=1) --------------------------------------------
TWIN_TOL = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-5)}


def _projection(rule, dtype, shape=(3, 4), seed=6):
    net = bl.Network(seed=seed, dtype=dtype)
    x, y = net.add_input(shape[1]), net.add_population(shape[0], activation="linear")
    w = rule.w0 + np.random.default_rng(seed).uniform(0, 1, shape) * (rule.b - 1) * rule.w0
    return net, net.connect(x, y, rule=rule, init=w)


def _twin(rule, q):
    twin = naive.NaiveCalcium(**rule.get_params(), key=int(q.state.rng[0]))
    twin.reset(np.array(q.W, np.float64))
    return twin


def _compare(q, twin, dtype, what):
    tol = TWIN_TOL[dtype]
    assert all(v.dtype == np.dtype(dtype) for v in q.state), f"{what}: state dtype changed"
    for name, mine, theirs in (("rho", q.state.rho, twin.rho), ("c_pre", q.state.c_pre, twin.c_pre),
                               ("c_post", q.state.c_post, twin.c_post)):
        np.testing.assert_allclose(np.asarray(mine, np.float64), theirs, err_msg=f"{what}: {name}",
                                   **tol)


@pytest.mark.twin
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["spikes", "rates"])
def test_kernel_and_rest_kernel_equal_the_twin(dtype, mode):
    rates = mode == "rates"
    # calcium that crosses both thresholds often; spikes in flight across steps (delay > dt)
    rule = Calcium(rates=rates, c_pre=1.2, delay=0.0055)
    _, q = _projection(rule, dtype)
    twin = _twin(rule, q)
    rng = np.random.default_rng(7)
    dt = 2e-3
    W0 = np.array(q.W, np.float64)
    dW, db = np.zeros_like(q.W), np.zeros(0, q.W.dtype)
    W_twin = W0.copy()
    params = kernel_params(rule, q.W.dtype)
    for step in range(40):
        if rates:
            pre, post = rng.uniform(0, 300, 4), rng.uniform(0, 300, 3)
        else:
            pre, post = (rng.random(4) < 0.3) * 1.0, (rng.random(3) < 0.2) * rng.integers(1, 3, 3)
        rule.kernel(q.W, pre.astype(dtype), post.astype(dtype), np.zeros(3, dtype), params, q.state,
                    q.W.dtype.type(dt), dW, db)
        W_twin += twin.delta(W_twin, pre, post, None, dt)[0]
        _compare(q, twin, dtype, f"{mode} step {step}")
    np.testing.assert_allclose(np.asarray(dW, np.float64), W_twin - W0, **TWIN_TOL[dtype])
    assert np.abs(W_twin - W0).max() > 0.05, "the twin hardly moved: the test would prove little"
    # rest: the spikes still in flight arrive, calcium decays, rho relaxes (steps of 0.5 s)
    rest = np.zeros_like(q.W)
    rule.rest_kernel(q.W, params, q.state, q.W.dtype.type(0.5), 3, rest)
    expected = twin.rest(W_twin, 0.5, 3)
    _compare(q, twin, dtype, f"{mode} rest")
    np.testing.assert_allclose(np.asarray(rest, np.float64), expected, **TWIN_TOL[dtype])


@pytest.mark.twin
def test_training_with_the_rule_equals_the_twin():
    """bl.train (online driver, dt = 0.5 s: the delay falls inside a step) against the twin's loop."""
    rule = Calcium(w0=0.2, c_pre=1.5)
    net, q = _projection(rule, "float64", shape=(3, 5), seed=8)
    X = (np.random.default_rng(9).random((30, 5)) < 0.5) * 1.0
    twin = _twin(rule, q)
    W0, bias = np.array(q.W), np.array(q.post.bias)
    W, _ = naive.train_population(X, W0, bias, "linear", twin, epochs=1, dt=0.5)
    bl.train(net, X, epochs=1, shuffle=False, dt=0.5, driver="online")
    assert np.abs(W - W0).max() > 0.05
    np.testing.assert_allclose(q.W, W, **TWIN_TOL["float64"])
    _compare(q, twin, "float64", "training")
