"""Voltage-based STDP (Clopath et al. 2010): its equations on given potentials, Sjostrom's
frequency dependence on Clopath's AdEx cell, and where it may not run.

The event-driven kernels against the NumPy twin (and the clock-driven kernel) are checked by
the conformance suite's check_spike_driven (tests/test_conformance_more.py).
"""

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.rules.base import kernel_params
from brainlearn.studies.stdp import voltage_pairing

RULE = bl.rules.VoltageSTDP()
DT = 1e-4


def _clock(rule, steps):
    """Drive the clock-driven kernel of one synapse with (pre spikes, potential) per step;
    returns the weight after every step."""
    net = bl.Network(seed=0)
    q = net.connect(net.add_poisson(1, rate=0.0), net.add_population(1, neuron=bl.neurons.AdEx()),
                    rule=rule, init=[[0.5]])
    state = rule.prepare_state(q.state, DT)
    params = kernel_params(rule, np.float64)
    W = np.array([[0.5]])
    out = []
    for pre, u in steps:
        dW, db = np.zeros_like(W), np.zeros(1)
        rule.kernel(W, np.array([float(pre)]), np.zeros(1), np.array([u]), params, state, DT,
                    dW, db)
        W += dW
        out.append(W[0, 0])
    return np.array(out)


def test_depression_at_a_presynaptic_spike_is_a_ltd_times_the_filtered_depolarisation():
    u = -60e-3
    w = _clock(RULE, [(0, u)] * 2000 + [(1, u)])  # the filters settle at u, then a spike
    assert w[-2] == 0.5  # below theta_plus nothing potentiates
    # the filter has settled to within exp(-2000 dt / tau_-) = 2e-9 of u
    assert w[-1] - w[-2] == pytest.approx(-RULE.a_ltd * (u - RULE.theta_minus) * 1e3, rel=1e-6)


def test_at_rest_a_presynaptic_spike_does_not_depress():
    w = _clock(RULE, [(0, RULE.theta_minus)] * 100 + [(1, RULE.theta_minus)])
    assert w[-1] == 0.5


def test_potentiation_integrates_the_presynaptic_trace_while_the_potential_is_high():
    """After one presynaptic spike, a potential held at u > theta_plus potentiates by
    A_LTP x/tau_x (u - theta_+)(u_+ - theta_-) dt per step, u_+ the filter read delay late."""
    u = -40e-3
    steps = [(0, -70.6e-3)] * 10 + [(1, -70.6e-3)] + [(0, -70.6e-3)] * 5 + [(0, u)] * 400
    w = _clock(RULE, steps)
    # the potentiation of the last step, with the trace decayed since the spike
    n_since = 400 + 5
    x = np.exp(-n_since * DT / RULE.tau_x)
    # at the 400th step at u, the filter read d steps late has seen u for 399 - d steps
    d = int(round(RULE.delay / DT))
    u_plus = u + (-70.6e-3 - u) * np.exp(-(399 - d) * DT / RULE.tau_plus)
    expect = RULE.a_ltp * DT / RULE.tau_x * x * (u - RULE.theta_plus) * 1e3 \
        * (u_plus - RULE.theta_minus) * 1e3
    assert w[-1] - w[-2] == pytest.approx(expect, rel=1e-6)
    assert np.all(np.diff(w[-300:]) > 0)


def test_the_filtered_potential_is_read_delay_late():
    """A potential that jumps above theta_plus potentiates only once the delayed filter of
    the potentiation term has left theta_minus: ``delay`` after the jump, not before."""
    steps = [(1, -70.6e-3)] + [(0, -70.6e-3)] * 9 + [(0, -40e-3)] * 60
    w = _clock(RULE, steps)
    d = int(round(RULE.delay / DT))
    jump = 10
    assert np.all(w[:jump + d] == 0.5)
    assert w[jump + d + 1] > 0.5


def test_voltage_stdp_follows_sjostroms_frequency_dependence():
    """Clopath et al. 2010 Fig. 2b (Sjostrom et al. 2001's data): pairing with post 10 ms
    after pre potentiates more at higher frequency and not at 0.1 Hz; post 10 ms before pre
    depresses at low frequencies and potentiates at 50 Hz."""
    fwd = {f: voltage_pairing(RULE, f, 0.01) for f in (0.1, 20.0, 50.0)}
    back = {f: voltage_pairing(RULE, f, -0.01) for f in (0.1, 20.0, 50.0)}
    assert abs(fwd[0.1]) < 0.05
    assert fwd[50.0] > fwd[20.0] > 0.05
    assert back[0.1] < -0.15 and back[20.0] < -0.15
    assert back[50.0] > 0.2


def test_the_rule_runs_only_onto_spiking_neurons():
    net = bl.Network(seed=0)
    x, y = net.add_input(3), net.add_population(2)
    with pytest.raises(ValueError, match="rule='voltage_stdp' reads the postsynaptic membrane "
                                         "potential; allowed only between spiking"):
        net.connect(x, y, rule="voltage_stdp")


def test_a_spike_protocol_refuses_the_rule():
    net = bl.Network(seed=0)
    q = net.connect(net.add_poisson(2, rate=1.0), net.add_population(1, neuron=bl.neurons.AdEx()),
                    rule="voltage_stdp")
    with pytest.raises(ValueError, match="reads the postsynaptic membrane potential, which a "
                                         "spike protocol does not give"):
        bl.protocols.apply(q, bl.protocols.spike_pairing(5, 10.0, 0.01))


def test_delay_lines_follow_the_step():
    net = bl.Network(seed=0)
    q = net.connect(net.add_poisson(2, rate=1.0), net.add_population(3, neuron=bl.neurons.AdEx()),
                    rule="voltage_stdp")
    assert q.state.line_minus.shape == (3, 0)
    bl.simulate(net, 0.01, dt=1e-4, seed=0)
    assert q.state.line_minus.shape == (3, 30)
    bl.simulate(net, 0.01, dt=5e-4, seed=0)
    assert q.state.line_plus.shape == (3, 6)
