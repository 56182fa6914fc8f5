"""Tag-trigger-consolidation: early and late LTP/LTD with synaptic tagging and capture.

Clopath, Ziegler, Vasilaki, Büsing & Gerstner (2008) model the phases of
long-term plasticity found by Frey & Morris (1997): an early phase that decays
over hours and marks (tags) the synapses that changed; a trigger for protein
synthesis when enough synapses of a neuron are tagged; and a bistable late phase
into which tagged synapses move while proteins are present (capture). This module
implements that model as a rule for brainlearn projections: the early phase in mean
field, the tags per synapse (each synapse's early phase against its own threshold).

Three compiled pieces here share one set of equations: the per-step kernel
(induction of tags on every step, the slow dynamics every ``consolidation_dt``
seconds), the row function for the slow dynamics (:func:`slow_row`), and the rest
kernel that runs the slow dynamics through a period without input
(:func:`brainlearn.rest`). The engine registers a fourth, a fast path that runs the
induction of many samples at once in closed form
(:mod:`brainlearn.engine.fastpaths.tag_and_capture`).
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .base import LocalRule, hyperparameter, register

__all__ = ["TagAndCapture", "TagAndCaptureState", "tag_thresholds", "slow_row"]

TagAndCaptureState = collections.namedtuple(
    "TagAndCaptureState",
    ["tag_ltp", "tag_ltd", "late", "baseline", "protein", "trace", "clock", "tag_threshold"])
TagAndCaptureState.__doc__ = """State of :class:`TagAndCapture` (arrays of ``W``'s dtype).

tag_ltp, tag_ltd : (n_post, n_pre)
    Occupancy of the early-LTP and early-LTD states, :math:`h_{ij}, l_{ij} \\in [0, 1]`
    (:math:`h + l \\le 1`): the expected state of the paper's three-state chain. Their
    weight is the early phase.
late : (n_post, n_pre)
    The late-phase variable :math:`z_{ij} \\in [0, 1]` of the bistable consolidation
    dynamics (stable states 0 and 1).
baseline : (n_post, n_pre)
    The weight of the synapse with no early phase and its late phase down (``z = 0``):
    ``W = baseline + ltp_weight * tag_ltp - ltd_weight * tag_ltd + late_weight * late``.
protein : (n_post,)
    Plasticity-related protein of each postsynaptic neuron, :math:`p_i \\in [0, 1)`.
trace : (n_post,)
    Low-pass filtered postsynaptic activity :math:`\\bar y_i` that selects LTP or LTD.
clock : (n_post,)
    Seconds of stimulation since the slow dynamics were last advanced.
tag_threshold : (n_post, n_pre)
    The synapse's tagging threshold :math:`\\vartheta_{ij} \\in [\\vartheta_0, 1)`
    (:func:`tag_thresholds`; fixed): the synapse is tagged for LTP while
    :math:`h_{ij} > \\vartheta_{ij}`, for LTD while :math:`l_{ij} > 1 + \\vartheta_0 -
    \\vartheta_{ij}`.
"""


# -- compiled pieces -------------------------------------------------------------------------------
@jit(reduction=True)
def _row_sum(a):
    """Sum of a 1-D array (a pure reduction: vectorised with reassociation)."""
    s = a.dtype.type(0)
    for j in range(a.shape[0]):
        s += a[j]
    return s


@jit
def _induce_row(tag, other, pre, rate, weight, dWr):
    """Untagged synapses enter the state ``tag`` with probability min(rate x_j, 1) this step."""
    one = dWr.dtype.type(1)
    zero = dWr.dtype.type(0)
    for j in range(tag.shape[0]):
        q = min(max(pre[j] * rate, zero), one)
        t = (one - tag[j] - other[j]) * q
        tag[j] += t
        dWr[j] += weight * t


@jit
def _synthesis(tagged, n, params):
    """The protein-synthesis drive of a neuron with ``tagged`` (expected) tags among ``n``
    synapses: ``protein_synthesis`` (1 normally, 0 under an inhibitor) while at least
    ``protein_threshold * n`` synapses are tagged, else 0."""
    if tagged >= params.protein_threshold * n:
        return params.protein_synthesis
    return 0.0


@jit
def _protein_step(p, a, dt, params):
    """Exact update of one neuron's protein over dt with the synthesis drive a fixed."""
    s = a / params.tau_protein_rise
    if s > 0.0:
        rate = s + 1.0 / params.tau_protein_decay
        p_inf = s / rate
        return p_inf + (p - p_inf) * math.exp(-dt * rate)
    return p * math.exp(-dt / params.tau_protein_decay)


@jit
def _late_step(zz, c, kappa, gp, ltp, ltd, zero, one):
    """One explicit Euler step of the late phase from ``zz``: the bistable cubic, plus the
    capture drive of a realised LTP tag (towards 1) or LTD tag (towards 0); clipped to
    [0, 1] (the continuous dynamics never leave it) and 0 below 1e-20 (no denormals)."""
    d = c * (zz * (one - zz) * (zz - kappa))
    if ltp:
        d += gp * (one - zz)
    elif ltd:
        d -= gp * zz
    zn = zz + d
    if zn < 1e-20:
        return zero
    if zn > one:
        return one
    return zn


@jit
def slow_row(h, l, z, u, dWr, p, dt, n_steps, params):
    """``n_steps`` steps of dt of the slow dynamics of one row; returns the new protein.

    Per step, from the values at its start: the protein drive from the expected number of
    tagged synapses, the realised tags (``h > u`` for LTP, ``l > 1 + tag_floor - u`` for
    LTD), explicit Euler for the late phase, exact exponential decay of the tags and exact
    protein dynamics. The weight change is added to ``dWr``.
    """
    dtype = dWr.dtype.type
    n = h.shape[0]
    zero = dtype(0)
    one = dtype(1)
    kappa = dtype(params.late_threshold)
    c = dtype(dt / params.tau_late)
    eh1 = dtype(math.exp(-dt / params.tau_tag_ltp))
    el1 = dtype(math.exp(-dt / params.tau_tag_ltd))
    top = dtype(1.0 + params.tag_floor)
    sh = _row_sum(h)
    sl = _row_sum(l)
    gz = dtype(params.late_weight)
    if n_steps == 1:
        # online: one fused pass over the row
        gp = dtype(c * params.capture * p)
        p = _protein_step(p, _synthesis(sh + sl, n, params), dt, params)
        gh = dtype(params.ltp_weight)
        gl = dtype(params.ltd_weight)
        for j in range(n):
            hh = h[j]
            ll = l[j]
            zz = z[j]
            zn = _late_step(zz, c, kappa, gp, hh > u[j], ll > top - u[j], zero, one)
            hn = hh * eh1
            ln = ll * el1
            h[j] = hn
            l[j] = ln
            z[j] = zn
            dWr[j] += gh * (hn - hh) - gl * (ln - ll) + gz * (zn - zz)
        return p
    # rest: the tags only decay, so h(t) = h0 e^{-t/tau} and the sums follow in closed
    # steps; only z needs a pass per step, and not even that while z sits on 0 or 1
    # with no protein
    moving = False
    for j in range(n):
        zz = z[j]
        if zz != zero and zz != one:
            moving = True
            break
    for j in range(n):
        dWr[j] -= gz * z[j]
    eh = one
    el = one
    for s in range(n_steps):
        gp = dtype(c * params.capture * p)
        p = _protein_step(p, _synthesis(sh * eh + sl * el, n, params), dt, params)
        if gp != zero:
            moving = True
        if moving:
            for j in range(n):
                z[j] = _late_step(z[j], c, kappa, gp, h[j] * eh > u[j], l[j] * el > top - u[j],
                                  zero, one)
        eh *= eh1
        el *= el1
    gh = dtype(params.ltp_weight)
    gl = dtype(params.ltd_weight)
    for j in range(n):
        hh = h[j]
        ll = l[j]
        hn = hh * eh
        ln = ll * el
        h[j] = hn
        l[j] = ln
        dWr[j] += gh * (hn - hh) - gl * (ln - ll) + gz * z[j]
    return p


@jit
def _tag_and_capture_delta(W, pre, post, mod, params, state, dt, dW, db):
    h = state.tag_ltp
    l = state.tag_ltd
    z = state.late
    u = state.tag_threshold
    protein = state.protein
    trace = state.trace
    clock = state.clock
    dtype = dW.dtype.type
    keep = dtype(math.exp(-dt / params.tau_trace))
    theta_ltd = params.theta_ltd
    theta_ltp = params.theta_ltp
    ltp_rate = params.ltp_rate
    ltd_rate = params.ltd_rate
    gh = params.ltp_weight
    gl = -params.ltd_weight
    for i in range(W.shape[0]):
        yb = trace[i] * keep + post[i]
        trace[i] = yb
        if yb >= theta_ltp:
            _induce_row(h[i], l[i], pre, ltp_rate, gh, dW[i])
        elif yb >= theta_ltd:
            _induce_row(l[i], h[i], pre, ltd_rate, gl, dW[i])
        t = clock[i] + dt
        if t >= params.consolidation_dt:
            protein[i] = slow_row(h[i], l[i], z[i], u[i], dW[i], protein[i], t, 1, params)
            t = dtype(0)
        clock[i] = t


@jit
def _tag_and_capture_rest(W, params, state, dt, n_steps, dW):
    h = state.tag_ltp
    l = state.tag_ltd
    z = state.late
    u = state.tag_threshold
    protein = state.protein
    clock = state.clock
    zero = dW.dtype.type(0)
    fade = dW.dtype.type(math.exp(-dt * n_steps / params.tau_trace))
    for i in range(W.shape[0]):
        p = protein[i]
        if clock[i] > zero:  # first the stimulation time not yet advanced
            p = slow_row(h[i], l[i], z[i], u[i], dW[i], p, clock[i], 1, params)
            clock[i] = zero
        protein[i] = slow_row(h[i], l[i], z[i], u[i], dW[i], p, dt, n_steps, params)
        state.trace[i] *= fade


# -- the rule --------------------------------------------------------------------------------------
#: the steps of the per-synapse tagging thresholds along the presynaptic and the
#: postsynaptic index: the golden ratio's conjugate and sqrt(2) - 1 (a Weyl sequence)
_STEP_PRE = 0.6180339887498949
_STEP_POST = 0.41421356237309515


def tag_thresholds(shape, floor):
    """Per-synapse tagging thresholds, spread evenly over ``[floor, 1)`` (float64).

    ``floor + (1 - floor) * frac(a (j + 1) + b (i + 1))`` for synapse ``(i, j)``, with
    ``a`` the golden ratio's conjugate and ``b = sqrt(2) - 1``: a low-discrepancy (Weyl)
    sequence, so any run of k synapses of a row holds the uniform distribution to about
    1/k -- the tagged fraction of a pathway is smooth in its early phase, without the
    sampling noise of random draws -- and the thresholds are the same in every process.
    """
    n_post, n_pre = shape
    i = np.arange(1, n_post + 1, dtype=np.float64)[:, None]
    j = np.arange(1, n_pre + 1, dtype=np.float64)[None, :]
    return floor + (1.0 - floor) * np.mod(_STEP_PRE * j + _STEP_POST * i, 1.0)

@register("tag_and_capture")
@dataclass(frozen=True, repr=False)
class TagAndCapture(LocalRule):
    r"""Tag-trigger-consolidation: early LTP/LTD, per-synapse tags, proteins, a bistable late phase.

    The tag-trigger-consolidation model of Clopath et al. (2008), after the synaptic
    tagging and capture experiments of Frey & Morris (1997, 1998). Every synapse is in
    one of three early-phase states -- untagged, early-LTP or early-LTD -- with
    expected occupancies :math:`h_{ij}, l_{ij}`, and has a late-phase variable
    :math:`z_{ij} \in [0, 1]`. The weight is

    .. math::

        w_{ij} = b_{ij} + g_h h_{ij} - g_l l_{ij} + g_z z_{ij}

    with the baseline :math:`b_{ij}` (the initial weight). **Induction** (each step):
    an untagged synapse enters early LTP with probability :math:`q = \min(\max(A x_j, 0),
    1)` per step (:math:`A = A_{ltp}`) when the postsynaptic trace :math:`\bar y_i` is at
    least :math:`\theta_{ltp}`, early LTD (:math:`A = A_{ltd}`) when it lies in
    :math:`[\theta_{ltd}, \theta_{ltp})`, neither below:

    .. math::

        \bar y_i \leftarrow e^{-\Delta t/\tau_y}\,\bar y_i + y_i, \qquad
        h_{ij} \leftarrow h_{ij} + (1 - h_{ij} - l_{ij})\, q_{ij} \ \text{(LTP)}, \qquad
        l_{ij} \leftarrow l_{ij} + (1 - h_{ij} - l_{ij})\, q_{ij} \ \text{(LTD)}

    **Tags** are set per synapse: synapse :math:`ij` carries an LTP tag while
    :math:`h_{ij} > \vartheta_{ij}` and an LTD tag while :math:`l_{ij} > 1 + \vartheta_0 -
    \vartheta_{ij}` (:math:`T^+_{ij}, T^-_{ij} \in \{0, 1\}`), with per-synapse
    thresholds :math:`\vartheta_{ij}` spread evenly over :math:`[\vartheta_0, 1)`
    (:func:`tag_thresholds`). **Maintenance** (hours):

    .. math::

        \dot h_{ij} = -h_{ij}/\tau_h, \qquad \dot l_{ij} = -l_{ij}/\tau_l, \\
        \dot p_i = -\frac{p_i}{\tau_{pd}} + \frac{1 - p_i}{\tau_{pm}}\, s\,
                   \Theta\Big[\sum_j (h_{ij} + l_{ij}) - \theta_p\, n_{pre}\Big], \\
        \tau_z \dot z_{ij} = z_{ij}(1 - z_{ij})(z_{ij} - \kappa)
                   + \gamma\, p_i \big[T^+_{ij} (1 - z_{ij}) - T^-_{ij} z_{ij}\big]

    (:math:`s` is ``protein_synthesis``: 1, or 0 under a protein-synthesis inhibitor).
    Proteins are made while enough synapses of the neuron are tagged; a tagged synapse
    crosses into the other well of the bistable late phase while proteins are present.
    So: a weak tetanus alone (21 pulses at 100 Hz) tags about half of its synapses,
    triggers no proteins and decays back to the baseline within about 3 h; a strong one
    (three trains of 100 pulses, 10 min apart) tags nearly all of them, triggers proteins
    and is consolidated; a weak tetanus to another pathway of the neuron is captured when
    it comes up to about an hour after the strong one (its proteins last) or before it
    (its tags last), even with protein synthesis blocked around the weak tetanus (Frey &
    Morris 1997), and not 3 h or more apart; the captured part of a pathway is the part of
    its synapses still tagged, so capture is graded. Proteins are made by the neuron, so
    capture needs a protein trigger of the whole neuron: two pathways of a third, two
    fifths or half of its synapses are captured alike, while a strong tetanus to a quarter
    of its synapses tags too few to trigger proteins at all (``protein_threshold``).

    **Parameters and their sources.** From the paper (and its ModelDB code, entry 118199,
    by the authors): :math:`\tau_h = 1/k_h` = 3600 s, :math:`\tau_l = 1/k_l` = 5400 s,
    :math:`\theta_p` = 60 tags of the 200 synapses (0.3), :math:`\tau_{pm}` = 360 s,
    :math:`\tau_{pd}` = 3600 s, :math:`\tau_z` = 360 s, :math:`\kappa` = 0.5,
    :math:`g_h, g_l, g_z` = 1, 0.5, 2. Chosen here: the induction parameters
    (:math:`A_{ltp}, A_{ltd}, \theta_{ltd}, \theta_{ltp}, \tau_y`; the paper derives the
    rates from a voltage-based rule for an AdEx neuron), calibrated so that 1 Hz pairing
    tags for LTD, a 100 Hz tetanus tags for LTP from its third pulse on, a weak tetanus
    tags about half of the stimulated synapses and a strong one nearly all;
    :math:`\gamma` = 0.8 and :math:`\vartheta_0` = 0.05 (below).

    **Differences from the paper** (Clopath et al. 2008), each with its reason:

    * Mean-field early phase: :math:`h, l` are the expected occupancies of the paper's
      stochastic three-state chain, so the early-phase weight is smooth and the rule is
      deterministic (and the engine's segment fast path can move it in closed form).
    * Tags are realised per synapse by comparing the occupancy with the synapse's fixed
      threshold, where the paper draws binary states at random. Over identically
      stimulated synapses the tagged fraction is :math:`(h - \vartheta_0) / (1 -
      \vartheta_0)`, the paper's fraction :math:`h` less the floor, and it decays as the
      paper's does; the floor :math:`\vartheta_0` bounds a tag's life by
      :math:`\tau_h \ln(1/\vartheta_0)` = 3.0 h (the paper's exponential lifetimes have
      no end; Frey & Morris 1997: the tag lasts less than 3 h). Evenly spread thresholds
      (a Weyl sequence) make the tagged fraction of any run of k synapses exact to about
      1/k, without sampling noise. Tagging a synapse with a mean-field occupancy instead
      (this rule's earlier form) put the tag of a weak tetanus right at the late phase's
      barrier: capture flipped on one pulse, was all or none per pathway and vanished
      weak-before-strong.
    * The capture drive is :math:`\gamma p (1 - z)` for an LTP tag and :math:`-\gamma p z`
      for an LTD tag (the paper: :math:`\pm\gamma p`), so the late phase stays in
      [0, 1]: with the paper's drive it settles at 1.13 (13% above the late weight)
      while tag and proteins last. Capture then needs :math:`\gamma p > \kappa^2 / 4`.
    * :math:`\gamma` = 0.8 (the paper: 0.1). With the paper's drive and value, capture
      needs :math:`p > 0.48` and takes 53 min at full protein, longer than most tags of
      a weak tetanus last; capture 35-60 min after a strong tetanus then relies on the
      weak tetanus triggering proteins itself, which Frey & Morris' anisomycin
      experiment excludes, and fails for pathways of a third of the neuron's synapses.
      Here capture needs :math:`p > 0.08` and takes 6 min at full protein (21 min at
      :math:`p = 0.3`); the window is set by the protein lifetime after a strong
      tetanus and by the tag lifetime before it, as the paper describes.
    * The protein trigger counts the expected tags :math:`\sum_j (h + l)` (the paper:
      the realised count), as a fraction of the neuron's synapses (the paper: 60 of 200),
      so that it carries over to layers of any size.
    * ``protein_synthesis`` scales the synthesis term: the paper's protein-synthesis
      block (a time window in its code) is :class:`brainlearn.protocols.ProteinBlock`,
      which sets it to 0 for a stretch of a protocol.
    * Induction: the paper's voltage thresholds (LTD above rest, LTP near firing) become
      two thresholds on a trace of postsynaptic activity. ``pre`` and ``post`` are read
      as the activity in the step: spike counts (0 or 1) under
      :func:`brainlearn.protocols.apply`, the unit's activity in
      :func:`brainlearn.train` (one presentation of ``dt`` seconds); ``dt`` is in seconds
      and advances every clock. For rate networks, set ``theta_ltd`` and ``theta_ltp`` in
      the units of the activities.
    * Time stepping: the slow dynamics advance every ``consolidation_dt`` seconds of
      stimulation (exact exponentials for tags and protein, explicit Euler for
      :math:`z`, clipped to [0, 1]; their time constants are minutes to hours), and
      through rest in the steps of :func:`brainlearn.rest`. :math:`z < 10^{-20}` is set
      to 0.
    * ``up_fraction`` defaults to 0 (the paper: 0.3 of the synapses start with their late
      phase up, which late LTD needs).

    Parameters
    ----------
    ltp_rate, ltd_rate : float
        :math:`A_{ltp}, A_{ltd}`: probability per presynaptic event that an untagged
        synapse enters early LTP / early LTD (0.036, 0.002; calibrated, see above).
    theta_ltd, theta_ltp : float
        Thresholds of the postsynaptic trace for LTD and for LTP (:math:`\theta_{ltd}
        \le \theta_{ltp}`), in activity units (spike counts; 0.5, 2).
    tau_trace : float
        :math:`\tau_y`, time constant of the postsynaptic trace (0.1 s).
    tau_tag_ltp, tau_tag_ltd : float
        :math:`\tau_h = 1/k_h` (3600 s) and :math:`\tau_l = 1/k_l` (5400 s): decay of early
        LTP and LTD, and so of their tags.
    protein_threshold : float
        :math:`\theta_p`, fraction of the neuron's synapses that must be tagged for
        protein synthesis (0.3: the paper's 60 of 200).
    tau_protein_rise, tau_protein_decay : float
        :math:`\tau_{pm}` (360 s) and :math:`\tau_{pd}` (3600 s): protein synthesis and
        protein lifetime.
    tau_late : float
        :math:`\tau_z` (360 s).
    late_threshold : float
        :math:`\kappa`, the unstable point of the late phase (0.5).
    capture : float
        :math:`\gamma`, how strongly tag and protein push the late phase (0.8; the paper
        0.1 with its unbounded drive, see above).
    tag_floor : float
        :math:`\vartheta_0`, the lowest per-synapse tagging threshold (0.05): tags end
        once the early phase decays below it, at most :math:`\tau_h \ln(1/\vartheta_0)`
        after it was set.
    protein_synthesis : float
        :math:`s`, the protein synthesis rate relative to normal (1; 0: blocked, as by
        anisomycin). :func:`brainlearn.protocols.apply` sets it to 0 inside a protocol's
        :class:`~brainlearn.protocols.ProteinBlock` windows.
    ltp_weight, ltd_weight, late_weight : float
        :math:`g_h, g_l, g_z` (1, 0.5, 2 as in the paper, in units of the baseline weight).
    up_fraction : float
        Fraction of synapses whose late phase starts up (:math:`z = 1`; the paper: 0.3,
        which makes late LTD possible); drawn from the projection's seeded generator.
    consolidation_dt : float
        Seconds of stimulation between two advances of the slow dynamics (60 s).

    References
    ----------
    Clopath, C., Ziegler, L., Vasilaki, E., Büsing, L. & Gerstner, W. (2008).
    Tag-trigger-consolidation: a model of early and late long-term-potentiation and
    depression. PLoS Comput. Biol. 4(12), e1000248 (code: ModelDB 118199).
    Frey, U. & Morris, R. G. M. (1997). Synaptic tagging and long-term potentiation.
    Nature 385, 533-536.
    Frey, U. & Morris, R. G. M. (1998). Weak before strong: dissociating synaptic tagging
    and plasticity-factor accounts of late-LTP. Neuropharmacology 37, 545-552.
    """

    ltp_rate: float = hyperparameter(0.036, low=0.0, doc="probability of an LTP tag per pre event")
    ltd_rate: float = hyperparameter(0.002, low=0.0, doc="probability of an LTD tag per pre event")
    theta_ltd: float = hyperparameter(0.5, doc="post trace from which synapses are tagged for LTD")
    theta_ltp: float = hyperparameter(2.0, doc="post trace from which synapses are tagged for LTP")
    tau_trace: float = hyperparameter(0.1, low=0.0, low_open=True,
                                      doc="time constant of the post trace (s)")
    tau_tag_ltp: float = hyperparameter(3600.0, low=0.0, low_open=True,
                                        doc="decay time of early LTP and its tag (s)")
    tau_tag_ltd: float = hyperparameter(5400.0, low=0.0, low_open=True,
                                        doc="decay time of early LTD and its tag (s)")
    protein_threshold: float = hyperparameter(0.3, low=0.0, high=1.0,
                                              doc="fraction of tagged synapses that triggers proteins")
    tau_protein_rise: float = hyperparameter(360.0, low=0.0, low_open=True,
                                             doc="protein synthesis time constant (s)")
    tau_protein_decay: float = hyperparameter(3600.0, low=0.0, low_open=True,
                                              doc="protein degradation time constant (s)")
    tau_late: float = hyperparameter(360.0, low=0.0, low_open=True,
                                     doc="time constant of the late phase (s)")
    late_threshold: float = hyperparameter(0.5, low=0.0, high=1.0, low_open=True, high_open=True,
                                           doc="unstable point of the bistable late phase")
    capture: float = hyperparameter(0.8, low=0.0, doc="drive of the late phase by tag x protein")
    tag_floor: float = hyperparameter(0.05, low=0.0, high=1.0, high_open=True,
                                      doc="lowest per-synapse tagging threshold")
    protein_synthesis: float = hyperparameter(1.0, low=0.0, high=1.0,
                                              doc="protein synthesis rate factor (0: blocked)")
    ltp_weight: float = hyperparameter(1.0, low=0.0, doc="weight of early LTP")
    ltd_weight: float = hyperparameter(0.5, low=0.0, doc="weight of early LTD")
    late_weight: float = hyperparameter(2.0, low=0.0, doc="weight of the late phase")
    up_fraction: float = hyperparameter(0.0, low=0.0, high=1.0,
                                        doc="fraction of synapses whose late phase starts up")
    consolidation_dt: float = hyperparameter(60.0, low=0.0, low_open=True,
                                             doc="seconds between advances of the slow dynamics")

    tags = dict(family="ltp", elementwise=True, row_local=True)
    summary = ("early LTP/LTD decays over hours; per-synapse tags; protein trigger; tagged "
               "synapses move into a bistable late phase")
    equation = (r"w = b + g_h h - g_l l + g_z z,\ \dot h = -h/\tau_h,\ "
                r"\dot p = -p/\tau_{pd} + s (1-p)/\tau_{pm}\,\Theta[\sum(h+l) - \theta_p n],\ "
                r"\tau_z \dot z = z(1-z)(z-\kappa) + \gamma p [T^+ (1-z) - T^- z]")
    reference = ("Clopath, Ziegler, Vasilaki, Busing & Gerstner 2008, PLoS Comput. Biol. "
                 "4:e1000248; Frey & Morris 1997, Nature 385:533; Frey & Morris 1998, "
                 "Neuropharmacology 37:545")
    kernel = _tag_and_capture_delta
    rest_kernel = _tag_and_capture_rest

    def __post_init__(self):
        super().__post_init__()
        if self.theta_ltd > self.theta_ltp:
            raise ValueError(f"TagAndCapture: theta_ltd={self.theta_ltd!r} is above "
                             f"theta_ltp={self.theta_ltp!r}; allowed: theta_ltd <= theta_ltp")

    def init_state(self, projection, rng):
        W = projection.W
        dt = W.dtype
        late = np.zeros_like(W)
        if self.up_fraction > 0:
            late[...] = rng.random(W.shape) < self.up_fraction
        baseline = W - dt.type(self.late_weight) * late
        n = W.shape[0]
        thresholds = tag_thresholds(W.shape, self.tag_floor).astype(dt)
        return TagAndCaptureState(np.zeros_like(W), np.zeros_like(W), late,
                                  np.ascontiguousarray(baseline, dtype=dt), np.zeros(n, dt),
                                  np.zeros(n, dt), np.zeros(n, dt), thresholds)

    # -- read-outs ---------------------------------------------------------------------------------
    def early(self, state):
        """The early-phase weight ``ltp_weight * tag_ltp - ltd_weight * tag_ltd``."""
        return self.ltp_weight * state.tag_ltp - self.ltd_weight * state.tag_ltd

    def late(self, state):
        """The late-phase weight ``late_weight * late`` (relative to a late phase all down)."""
        return self.late_weight * state.late
