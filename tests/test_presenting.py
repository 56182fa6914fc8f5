"""Showing data samples to spiking networks: bl.present, bl.train on spiking networks,
synaptic normalisation and frozen adaptive thresholds.

Every test uses one small structure (8 Poisson inputs onto 4 LIF neurons with an adaptive
threshold, pair STDP, normalised), so the suite compiles its simulator once.
"""

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.neurons import THETA

N_IN, N_OUT = 8, 4


def _net(seed=0, normalize=2.0, rule="stdp"):
    net = bl.Network(seed=seed)
    inp = net.add_poisson(N_IN, rate=0.0, name="input")
    out = net.add_population(N_OUT, neuron=bl.neurons.LIF(theta_plus=1e-3, tau_theta=0.5),
                             name="out")
    W = np.random.default_rng(seed).uniform(0.05, 0.5, (N_OUT, N_IN))
    net.connect(inp, out, rule=rule, init=W, normalize=normalize, name="in_out")
    return net


def _samples(n, seed=1):
    return np.random.default_rng(seed).random((n, N_IN))


def test_normalize_scales_each_neurons_incoming_weights_to_the_total():
    net = _net(normalize=3.0)
    W0 = net.projections[0].W.copy()
    bl.engine.spiking.normalize(net)
    np.testing.assert_allclose(net.projections[0].W, W0 * 3.0 / W0.sum(axis=1, keepdims=True),
                               rtol=1e-13)
    np.testing.assert_allclose(net.projections[0].W.sum(axis=1), 3.0, rtol=1e-13)


def test_normalize_precedes_every_sample_when_learning():
    """The weights after each sample are the rule's change from normalised weights: the
    row sums before a sample are the total, whatever the rule did in the last one."""
    net = _net(normalize=2.0)
    seen = []
    bl.present(net, _samples(3), protocol=bl.Presentation(time=0.05, rest=0.0, dt=1e-4,
                                                          max_rate=200.0),
               on_sample=lambda k: seen.append(net.projections[0].W.copy()), seed=0)
    assert any(not np.allclose(W.sum(axis=1), 2.0) for W in seen)  # STDP moved them
    bl.engine.spiking.normalize(net)
    np.testing.assert_allclose(net.projections[0].W.sum(axis=1), 2.0, rtol=1e-13)


def test_connect_refuses_a_bad_normalize():
    net = bl.Network(seed=0)
    a = net.add_poisson(3, rate=1.0)
    b = net.add_population(2, neuron=bl.neurons.LIF())
    with pytest.raises(ValueError, match=r"normalize=-1.*positive"):
        net.connect(a, b, normalize=-1)
    r = bl.Network(seed=0)
    x = r.add_input(3)
    y = r.add_population(2)
    with pytest.raises(ValueError, match="normalize=1.0 is for spiking projections"):
        r.connect(x, y, normalize=1.0)


def test_inputs_fire_at_the_sample_intensity_times_max_rate():
    net = _net(rule=None)
    x = np.linspace(0.0, 1.0, N_IN)[None, :].repeat(40, axis=0)
    p = bl.Presentation(time=0.5, rest=0.0, dt=1e-3, max_rate=100.0)
    r = bl.present(net, x, protocol=p, learn=False, seed=3)
    mean = r.counts["input"].mean(axis=0)
    expect = x[0] * 100.0 * 0.5
    # Poisson counts: the mean of 40 samples has standard deviation sqrt(expect / 40)
    assert np.all(np.abs(mean - expect) < 5 * np.sqrt(expect / 40) + 1e-12)
    assert r.counts["input"][:, 0].sum() == 0
    assert r.counts["out"].shape == (40, N_OUT)
    assert r.simulated == pytest.approx(40 * 0.5)


def test_learn_false_freezes_weights_traces_and_thresholds():
    net = _net()
    out = net.populations[1]
    out.neuron_state[THETA] = 5e-3
    bl.engine.spiking.normalize(net)
    Wn = net.projections[0].W.copy()
    r = bl.present(net, _samples(5), protocol=bl.Presentation(time=0.1, rest=0.05, dt=1e-4,
                                                              max_rate=300.0),
                   learn=False, seed=1)
    assert r.counts["out"].sum() > 0  # the neurons fired, and nothing learned
    np.testing.assert_array_equal(net.projections[0].W, Wn)
    np.testing.assert_array_equal(out.neuron_state[THETA], 5e-3)
    bl.present(net, _samples(5), protocol=bl.Presentation(time=0.1, rest=0.05, dt=1e-4,
                                                          max_rate=300.0), learn=True, seed=1)
    assert not np.array_equal(net.projections[0].W, Wn)
    assert not np.allclose(out.neuron_state[THETA], 5e-3)


def test_learn_false_does_not_normalise():
    net = _net(normalize=10.0)
    W0 = net.projections[0].W.copy()
    bl.present(net, _samples(2), protocol=bl.Presentation(time=0.01, rest=0.0, dt=1e-4),
               learn=False, seed=0)
    np.testing.assert_array_equal(net.projections[0].W, W0)


def test_the_same_seed_gives_the_same_responses_and_weights():
    def run(seed):
        net = _net()
        r = bl.present(net, _samples(4), protocol=bl.Presentation(time=0.1, rest=0.02,
                                                                  dt=1e-4, max_rate=200.0),
                       seed=seed)
        return r.counts["out"], net.projections[0].W

    a, b, c = run(5), run(5), run(6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_a_silent_sample_is_shown_again_at_higher_rates_up_to_max_retries():
    net = _net(rule=None)
    x = np.zeros((2, N_IN))
    x[1] = 1.0
    p = bl.Presentation(time=0.02, rest=0.01, dt=1e-4, max_rate=10.0, min_spikes=10**6,
                        rate_step=5.0, max_retries=3)
    r = bl.present(net, x, protocol=p, learn=False, seed=0)
    np.testing.assert_array_equal(r.repeats, [3, 3])
    np.testing.assert_allclose(r.max_rate, [25.0, 25.0])
    assert r.simulated == pytest.approx(2 * 4 * 0.03)


def test_a_sample_that_draws_enough_spikes_is_shown_once():
    net = _net(rule=None)
    p = bl.Presentation(time=0.05, rest=0.0, dt=1e-4, max_rate=500.0, min_spikes=1,
                        watch="out")
    net.projections[0].W[:] = 5.0  # every input spike makes the neurons fire
    r = bl.present(net, np.ones((3, N_IN)), protocol=p, learn=False, seed=0)
    np.testing.assert_array_equal(r.repeats, 0)
    assert np.all(r.counts["out"].sum(axis=1) >= 1)


def test_train_on_a_spiking_network_records_its_history():
    net = _net()
    p = bl.Presentation(time=0.05, rest=0.01, dt=1e-4, max_rate=200.0)
    h = bl.train(net, (_samples(6), np.zeros(6, int)), epochs=2, eval_every=3,
                 presentation=p, seed=0)
    np.testing.assert_array_equal(h["samples"], [3, 6, 9, 12])
    np.testing.assert_allclose(h["epoch"], [0.5, 1.0, 1.5, 2.0])
    assert {"wall_time", "spikes", "repeats"} <= set(h.keys())
    # the same seed trains the same weights
    net2 = _net()
    bl.train(net2, (_samples(6), np.zeros(6, int)), epochs=2, eval_every=3, presentation=p,
             seed=0)
    np.testing.assert_array_equal(net.projections[0].W, net2.projections[0].W)


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 4}, "batch_size=4 does not apply to a spiking network"),
    ({"loss": "mse"}, "loss='mse' does not apply"),
    ({"dt": 0.5}, "dt=0.5 does not apply"),
    ({"presentation": "fast"}, "presentation='fast'; allowed: a bl.Presentation"),
])
def test_train_on_a_spiking_network_refuses_what_does_not_apply(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bl.train(_net(), _samples(2), **kwargs)


def test_train_on_a_rate_network_refuses_a_presentation():
    net = bl.mlp([3, 2], rule="hebb", seed=0)
    with pytest.raises(ValueError, match="presentation= applies to spiking networks"):
        bl.train(net, np.zeros((2, 3)), presentation=bl.Presentation())


@pytest.mark.parametrize("x, match", [
    (np.zeros((2, 5)), r"x has shape \(2, 5\); allowed: \(n_samples, 8\)"),
    (np.full((2, 8), 2.0), r"x spans \[2, 2\]; allowed: values in \[0, 1\]"),
    (np.full((2, 8), np.nan), "x contains NaN or inf"),
])
def test_present_refuses_bad_samples(x, match):
    with pytest.raises(ValueError, match=match):
        bl.present(_net(), x)


@pytest.mark.parametrize("field, value", [("time", 0.0), ("dt", -1.0), ("rest", -0.1),
                                          ("min_spikes", 1.5), ("max_rate", float("nan"))])
def test_presentation_refuses_bad_values(field, value):
    with pytest.raises(ValueError, match=f"Presentation: {field}="):
        bl.Presentation(**{field: value})


def test_present_refuses_an_unknown_watched_population():
    with pytest.raises(ValueError, match="watch='nope' is not a population"):
        bl.present(_net(), _samples(1), protocol=bl.Presentation(watch="nope"))
