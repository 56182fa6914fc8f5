"""Published networks built from brainlearn's public parts.

:func:`diehl_cook` is Diehl & Cook's (2015) unsupervised spiking network: Poisson inputs,
an excitatory layer with adaptive thresholds learning by STDP with synaptic normalisation,
and lateral inhibition through an inhibitory layer. :func:`assign_labels` and :func:`vote`
are its readout: each neuron takes the class it responds to most, and the neurons of a class
vote with their mean spike count.

The parameters are the paper's and those of its published code (Brian 1, 2015), in
brainlearn's units (seconds, volts, conductances relative to leak). What differs, and why:

- the excitatory threshold is written ``v_thresh = -72 mV`` plus an adaptive ``theta`` that
  starts at 20 mV, which is the code's ``v > theta - offset + v_thresh_e`` with offset 20 mV
  and v_thresh_e -52 mV;
- the code's STDP is the nearest-spike triplet rule with only the triplet potentiation term
  and the pair depression term (``nu_post`` 0.01, ``nu_pre`` 0.0001, traces 20, 20 and 40 ms,
  ``w_max`` 1): here ``bl.rules.TripletSTDP(nearest=True, a3_plus=0.01, a2_minus=1e-4,
  a2_plus=0, a3_minus=0, ...)`` (:func:`diehl_cook_rule`);
- the code's input-to-excitatory delays (0-10 ms) and excitatory-to-inhibitory delays are
  left out: brainlearn's projections deliver at the next step;
- every excitatory neuron receives normalised weights summing to ``normalize`` (78 for the
  784 MNIST pixels: a mean weight of 0.1, well below ``w_max`` = 1). On other images
  :func:`scaled_for` keeps that mean weight (``78 * n_inputs / 784``) and scales the input
  rates so that each neuron gets MNIST's mean drive: an 8x8 digit's pixel stands for about
  12 MNIST pixels, so it fires about 12 times as fast (``max_rate = 63.75 * 784 * 0.1307 /
  (n_inputs * mean(x))`` Hz, 0.1307 being MNIST's mean intensity), and the repeat step grows
  with it.

References
----------
Diehl & Cook (2015). Unsupervised learning of digit recognition using spike-timing-dependent
plasticity. Front. Comput. Neurosci. 9:99.
"""

from __future__ import annotations

import math

import numpy as np

from .engine.presenting import Presentation
from .network import Network
from .neurons import LIF, THETA
from .rules.stdp import TripletSTDP

__all__ = ["diehl_cook", "diehl_cook_rule", "scaled_for", "assign_labels", "vote",
           "MNIST_MEAN_INTENSITY", "DIEHL_COOK_ACCURACY"]

#: mean pixel intensity of the MNIST training images (in [0, 1])
MNIST_MEAN_INTENSITY = 0.1307
#: Diehl & Cook (2015), Table 1: MNIST test accuracy against the number of excitatory
#: neurons, the larger networks trained on more passes over the 60 000 samples (1, 3, 7 and
#: 15). 95.0% for 6400 is in the abstract; the three smaller values are as we read the
#: table, with no second source available here to check them against.
DIEHL_COOK_ACCURACY = {100: 0.829, 400: 0.870, 1600: 0.919, 6400: 0.950}


def diehl_cook_rule(**changes) -> TripletSTDP:
    """The STDP of Diehl & Cook's published code as a :class:`~brainlearn.rules.TripletSTDP`:
    nearest-spike, depression ``1e-4 * o1`` at a presynaptic spike, potentiation
    ``0.01 * r1 * o2`` at a postsynaptic spike (o2 read before its own bump), w in [0, 1]."""
    values = dict(nearest=True, a2_plus=0.0, a3_plus=0.01, a2_minus=1e-4, a3_minus=0.0,
                  tau_plus=20e-3, tau_x=20e-3, tau_minus=20e-3, tau_y=40e-3, w_min=0.0,
                  w_max=1.0)
    values.update(changes)
    return TripletSTDP(**values)


def scaled_for(x, *, time=0.35, rest=0.15, dt=5e-4, min_spikes=5):
    """``(normalize, presentation)`` for Diehl & Cook's network on images ``x`` (n, n_inputs)
    of intensities in [0, 1]: the mean input weight of the paper (78 / 784 = 0.1) and the
    input rates that give each neuron MNIST's mean drive (see the module docstring). For
    MNIST itself: 78 and the paper's 63.75 Hz, 31.875 Hz more per repeat."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"x has shape {x.shape}; allowed: (n_samples, n_inputs)")
    m = float(x.mean())
    if not m > 0:
        raise ValueError(f"x has mean intensity {m!r}; allowed: a positive mean")
    n_in = x.shape[1]
    gain = 784 * MNIST_MEAN_INTENSITY / (n_in * m)
    return 78.0 * n_in / 784, Presentation(time=time, rest=rest, dt=dt, max_rate=63.75 * gain,
                                           rate_step=31.875 * gain, min_spikes=min_spikes)


def diehl_cook(n_inputs=784, n_neurons=100, *, rule=None, seed=None, normalize=78.0,
               exc_inh=10.4, inh_exc=17.0, theta_plus=0.05e-3, tau_theta=1e4,
               theta_start=20e-3, dtype="float64") -> Network:
    """Diehl & Cook's (2015) network: ``n_inputs`` Poisson inputs, ``n_neurons`` excitatory
    and as many inhibitory conductance LIF neurons.

    Populations ``input`` (Poisson; samples are shown with :func:`brainlearn.present` or
    :func:`brainlearn.train` and a :class:`brainlearn.Presentation`), ``exc`` and ``inh``;
    projections ``input_exc`` (all-to-all, the learning rule, initial weights uniform in
    [0.003, 0.303] as in the code, normalised to ``normalize`` per neuron before each
    sample), ``exc_inh`` (one-to-one, weight ``exc_inh``) and ``inh_exc`` (every inhibitory
    neuron onto every excitatory neuron but its partner, weight ``inh_exc``, inhibitory).

    Parameters
    ----------
    rule : rule, str or None
        The rule of ``input_exc`` (default: :func:`diehl_cook_rule`; ``False`` for none).
    normalize : float
        Sum of each excitatory neuron's input weights (78 for MNIST; see :func:`scaled_for`
        for other images).
    theta_plus, tau_theta, theta_start : float
        Adaptive threshold: growth per spike (0.05 mV), decay (10^4 s) and initial value
        (20 mV, on a threshold of -72 mV).
    """
    for name, value in (("n_inputs", n_inputs), ("n_neurons", n_neurons)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}={value!r}; allowed: an integer >= 1")
    for name, value in (("exc_inh", exc_inh), ("inh_exc", inh_exc), ("theta_plus", theta_plus),
                        ("theta_start", theta_start)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}={value!r}; allowed: a number >= 0")
    net = Network(seed=seed, dtype=dtype)
    inp = net.add_poisson(n_inputs, rate=0.0, name="input")
    # a fixed threshold (theta_plus 0) is written without theta: -72 mV + theta_start
    fixed = theta_plus == 0
    exc = net.add_population(n_neurons, name="exc", neuron=LIF(
        tau_m=100e-3, v_rest=-65e-3, v_reset=-65e-3,
        v_thresh=-72e-3 + (theta_start if fixed else 0.0), t_ref=5e-3, tau_e=1e-3,
        tau_i=2e-3, E_e=0.0, E_i=-100e-3, theta_plus=theta_plus, tau_theta=tau_theta))
    inh = net.add_population(n_neurons, name="inh", neuron=LIF(
        tau_m=10e-3, v_rest=-60e-3, v_reset=-45e-3, v_thresh=-40e-3, t_ref=2e-3,
        tau_e=1e-3, tau_i=2e-3, E_e=0.0, E_i=-85e-3))
    exc.neuron_state[THETA] = 0.0 if fixed else theta_start
    rng = np.random.default_rng(np.random.SeedSequence(net.seed, spawn_key=(19,)))
    W = (rng.random((n_neurons, n_inputs)) + 0.01) * 0.3
    the_rule = diehl_cook_rule() if rule is None else (None if rule is False else rule)
    net.connect(inp, exc, rule=the_rule, init=W, normalize=normalize, name="input_exc")
    eye = np.eye(n_neurons)
    net.connect(exc, inh, init=eye * exc_inh, mask=eye, name="exc_inh")
    net.connect(inh, exc, init=(1.0 - eye) * inh_exc, mask=1.0 - eye, target="inh",
                name="inh_exc")
    return net


def assign_labels(counts, labels, n_classes) -> np.ndarray:
    """Each neuron's class: the one whose samples draw its highest mean spike count
    (Diehl & Cook); -1 for a neuron that never fired. ``counts`` (n_samples, n_neurons)."""
    counts = np.asarray(counts, dtype=np.float64)
    labels = np.asarray(labels)
    if counts.ndim != 2 or labels.shape != (counts.shape[0],):
        raise ValueError(f"counts has shape {counts.shape} and labels {labels.shape}; allowed: "
                         "(n_samples, n_neurons) and (n_samples,)")
    means = np.zeros((n_classes, counts.shape[1]))
    for c in range(n_classes):
        if np.any(labels == c):
            means[c] = counts[labels == c].mean(axis=0)
    out = np.argmax(means, axis=0)
    out[means.max(axis=0) <= 0] = -1
    return out


def vote(counts, assignments, n_classes) -> np.ndarray:
    """The predicted class of each sample: the class whose assigned neurons have the highest
    mean spike count (Diehl & Cook); a class without neurons gets no votes."""
    counts = np.asarray(counts, dtype=np.float64)
    assignments = np.asarray(assignments)
    if counts.ndim != 2 or assignments.shape != (counts.shape[1],):
        raise ValueError(f"counts has shape {counts.shape} and assignments "
                         f"{assignments.shape}; allowed: (n_samples, n_neurons) and "
                         "(n_neurons,)")
    score = np.full((counts.shape[0], n_classes), -1.0)
    for c in range(n_classes):
        members = assignments == c
        if members.any():
            score[:, c] = counts[:, members].mean(axis=1)
    return np.argmax(score, axis=1)
