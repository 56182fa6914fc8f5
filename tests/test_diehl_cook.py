"""Diehl & Cook's (2015) network (bl.models): wiring, its homeostasis against NumPy twins,
labelling and voting on hand-made responses, and a small run that becomes selective."""

import numpy as np
import pytest

import brainlearn as bl
from brainlearn import models
from brainlearn.neurons import THETA


def test_wiring_counts_signs_one_to_one_and_all_but_one():
    net = models.diehl_cook(12, 5, seed=0)
    names = [p.name for p in net.populations]
    assert names == ["input", "exc", "inh"]
    assert [p.size for p in net.populations] == [12, 5, 5]
    q_in, q_ei, q_ie = net.projections
    assert (q_in.pre.name, q_in.post.name, q_in.target) == ("input", "exc", "exc")
    assert q_in.W.shape == (5, 12) and np.all(q_in.W > 0)
    assert q_in.normalize == 78.0 and isinstance(q_in.rule, bl.rules.TripletSTDP)
    np.testing.assert_array_equal(q_ei.W, np.eye(5) * 10.4)  # one to one, excitatory
    assert q_ei.target == "exc" and q_ei.rule is None
    np.testing.assert_array_equal(q_ie.W, (1 - np.eye(5)) * 17.0)  # all but one, inhibitory
    assert q_ie.target == "inh" and q_ie.rule is None
    np.testing.assert_array_equal(net.populations[1].neuron_state[THETA], 20e-3)


def test_a_fixed_threshold_is_the_initial_adaptive_one():
    fixed = models.diehl_cook(4, 3, seed=0, theta_plus=0.0)
    exc = fixed.populations[1]
    assert exc.neuron.v_thresh == pytest.approx(-52e-3)
    np.testing.assert_array_equal(exc.neuron_state[THETA], 0.0)


def test_the_rule_is_the_published_codes_stdp():
    r = models.diehl_cook_rule()
    assert (r.nearest, r.a2_plus, r.a3_plus, r.a2_minus, r.a3_minus) == (True, 0.0, 0.01, 1e-4, 0.0)
    assert (r.tau_plus, r.tau_minus, r.tau_y, r.w_min, r.w_max) == (20e-3, 20e-3, 40e-3, 0.0, 1.0)


def test_adaptive_threshold_and_normalisation_follow_their_numpy_twins():
    """A sample shown with learning on: before it the input weights are scaled to the total
    per neuron, during it theta grows by theta_plus per spike and decays with tau_theta
    (exactly, per step of dt), and the weights change only by the rule."""
    net = models.diehl_cook(16, 4, seed=1, rule=False, normalize=5.0, tau_theta=0.2)
    x = np.random.default_rng(0).random((1, 16))
    p = bl.Presentation(time=0.2, rest=0.0, dt=5e-4, max_rate=400.0)
    W0 = net.projections[0].W.copy()
    theta0 = net.populations[1].neuron_state[THETA].copy()
    spikes = []

    mon = bl.Monitor(spikes=["exc"])
    # the same sample through simulate, to see the spike times the twin needs
    twin_net = models.diehl_cook(16, 4, seed=1, rule=False, normalize=5.0, tau_theta=0.2)
    twin_net.populations[0].rate = x[0] * 400.0
    r = bl.simulate(twin_net, 0.2, dt=5e-4, seed=3, monitor=mon)
    t, i = r.spikes["exc"]
    assert len(t) > 0
    steps = int(round(0.2 / 5e-4))
    theta = theta0.copy()
    f = np.exp(-5e-4 / 0.2)
    spiked_at = {}
    for ti, ii in zip(np.round(t / 5e-4).astype(int) - 1, i):
        spiked_at.setdefault(ti, []).append(ii)
    for s in range(steps):
        theta *= f
        for k in spiked_at.get(s, []):
            theta[k] += 0.05e-3
    np.testing.assert_allclose(twin_net.populations[1].neuron_state[THETA], theta, rtol=1e-12)
    np.testing.assert_allclose(twin_net.projections[0].W,
                               W0 * 5.0 / W0.sum(axis=1, keepdims=True), rtol=1e-13)
    # present() normalises before the sample, like simulate at its start
    bl.present(net, x, protocol=p, learn=True, seed=0, on_sample=lambda k: spikes.append(k))
    np.testing.assert_allclose(net.projections[0].W.sum(axis=1), 5.0, rtol=1e-13)
    assert spikes == [0]


def test_assign_labels_and_vote_on_hand_made_responses():
    counts = np.array([[5, 0, 1, 0],   # class 0
                       [4, 1, 0, 0],   # class 0
                       [0, 3, 0, 0],   # class 1
                       [1, 0, 2, 0]])  # class 2
    labels = np.array([0, 0, 1, 2])
    a = models.assign_labels(counts, labels, 3)
    np.testing.assert_array_equal(a, [0, 1, 2, -1])  # the silent neuron has no class
    test = np.array([[9, 0, 0, 7],    # neuron 0 votes 0 (the unassigned one does not count)
                     [0, 2, 3, 0],    # class 2's neuron beats class 1's
                     [0, 0, 0, 0]])   # no spikes: a tie, the first class
    np.testing.assert_array_equal(models.vote(test, a, 3), [0, 2, 0])


def test_vote_averages_over_a_class_neurons():
    a = np.array([0, 0, 1])
    # class 0: mean of (4, 0) = 2; class 1: 3
    np.testing.assert_array_equal(models.vote(np.array([[4, 0, 3]]), a, 2), [1])


@pytest.mark.parametrize("call, match", [
    (lambda: models.assign_labels(np.zeros((3, 2)), np.zeros(4, int), 2),
     r"counts has shape \(3, 2\) and labels \(4,\)"),
    (lambda: models.vote(np.zeros((3, 2)), np.zeros(3, int), 2),
     r"counts has shape \(3, 2\) and assignments \(3,\)"),
    (lambda: models.diehl_cook(0, 5), "n_inputs=0; allowed: an integer >= 1"),
    (lambda: models.scaled_for(np.zeros((3, 4))), "mean intensity 0.0"),
])
def test_bad_input_is_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_scaled_for_mnist_is_the_papers_setting():
    x = np.full((2, 784), models.MNIST_MEAN_INTENSITY)
    total, p = models.scaled_for(x)
    assert total == pytest.approx(78.0)
    assert p.max_rate == pytest.approx(63.75) and p.rate_step == pytest.approx(31.875)
    assert (p.time, p.rest, p.dt, p.min_spikes) == (0.35, 0.15, 5e-4, 5)


def test_traces_stay_bounded_across_presented_samples():
    """Nearest-spike traces are at most 1 at every moment, however many samples a call
    shows (a simulator reused across runs must restart its trace clocks consistently)."""
    d = bl.datasets.load("digits")
    total, p = models.scaled_for(d.x_train)
    net = models.diehl_cook(64, 10, seed=0, normalize=total)
    bl.present(net, d.x_train[:6], protocol=p, seed=0)
    st = net.projections[0].state
    assert st.x_pre.max() <= 1.0 + 1e-12 and st.x_post.max() <= 1.0 + 1e-12
    assert st.x_pre.max() > 0.0


def _selectivity(rule):
    d = bl.datasets.load("digits")
    keep = d.y_train < 2
    x, y = d.x_train[keep], d.y_train[keep]
    total, p = models.scaled_for(d.x_train)
    net = models.diehl_cook(64, 10, seed=0, normalize=total, rule=rule)
    bl.train(net, (x[:100],), presentation=p, seed=0)
    r = bl.present(net, x[100:200], protocol=p, learn=False, seed=1)
    c = r.counts["exc"].astype(float)
    per_class = np.stack([c[y[100:200] == k].mean(axis=0) for k in (0, 1)])
    active = per_class.sum(axis=0) > 0
    index = (per_class.max(axis=0)[active] / per_class.sum(axis=0)[active]).mean()
    return index, active.sum(), models.assign_labels(r.counts["exc"], y[100:200], 2)


def test_a_small_network_becomes_class_selective_on_digits():
    """100 presentations of digits 0 and 1 to 10 neurons: the neurons' class preferences,
    measured on other samples, are far above chance (selectivity index: the fraction of its
    spikes a neuron fires for its preferred class, averaged over active neurons; chance is
    0.5), and above the same network without plasticity (random weights, adaptive
    thresholds and inhibition alone: 0.78 here)."""
    learned, active, a = _selectivity(None)
    control, _, _ = _selectivity(False)
    assert active >= 2 and learned > 0.9 and learned > control + 0.1
    assert set(a[a >= 0]) == {0, 1}  # both classes have neurons
