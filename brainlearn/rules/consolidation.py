"""Tag-trigger-consolidation: early and late LTP/LTD with synaptic tagging and capture.

Clopath, Ziegler, Vasilaki, Büsing & Gerstner (2008) model the phases of
long-term plasticity found by Frey & Morris (1997): an early phase that decays
over hours and marks (tags) the synapses that changed; a trigger for protein
synthesis when enough synapses of a neuron are tagged; and a bistable late phase
into which tagged synapses move while proteins are present (capture). This module
implements the mean-field form of that model as a rule for brainlearn projections.

Four compiled pieces share one set of equations: the per-step kernel
(induction of tags on every step, the slow dynamics every ``consolidation_dt``
seconds), the row function for the slow dynamics, the segment kernel that the
engine's row-parallel driver runs over many samples at once (the induction in
closed form, through matrix products), and the rest kernel that runs the slow
dynamics through a period without input (:func:`brainlearn.rest`).
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from ..engine.kernels import affine
from ..network.activations import act_forward
from .base import LocalRule, hyperparameter, register

__all__ = ["TagAndCapture", "TagAndCaptureState"]

TagAndCaptureState = collections.namedtuple(
    "TagAndCaptureState",
    ["tag_ltp", "tag_ltd", "late", "baseline", "protein", "trace", "clock"])
TagAndCaptureState.__doc__ = """State of :class:`TagAndCapture` (arrays of ``W``'s dtype).

tag_ltp, tag_ltd : (n_post, n_pre)
    Occupancy of the early-LTP and early-LTD states, :math:`h_{ij}, l_{ij} \\in [0, 1]`
    (:math:`h + l \\le 1`). In the model the early-phase change *is* the tag: a synapse in
    the early-LTP state is tagged for LTP. Their weight is the early phase.
late : (n_post, n_pre)
    The late-phase variable :math:`z_{ij}` of the bistable consolidation dynamics
    (stable states 0 and 1).
baseline : (n_post, n_pre)
    The weight of the synapse with no early phase and its late phase down (``z = 0``):
    ``W = baseline + ltp_weight * tag_ltp - ltd_weight * tag_ltd + late_weight * late``.
protein : (n_post,)
    Plasticity-related protein of each postsynaptic neuron, :math:`p_i \\in [0, 1)`.
trace : (n_post,)
    Low-pass filtered postsynaptic activity :math:`\\bar y_i` that selects LTP or LTD.
clock : (n_post,)
    Seconds of stimulation since the slow dynamics were last advanced.
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
def _protein_step(p, triggered, dt, params):
    """Exact update of one neuron's protein over dt with the trigger fixed during the step."""
    if triggered:
        rate = 1.0 / params.tau_protein_rise + 1.0 / params.tau_protein_decay
        p_inf = params.tau_protein_decay / (params.tau_protein_rise + params.tau_protein_decay)
        return p_inf + (p - p_inf) * math.exp(-dt * rate)
    return p * math.exp(-dt / params.tau_protein_decay)


@jit
def _slow_row(h, l, z, dWr, p, dt, n_steps, params):
    """``n_steps`` steps of dt of the slow dynamics of one row; returns the new protein.

    Per step, from the values at its start: the protein trigger from the fraction of
    tagged synapses, explicit Euler for the late phase, exact exponential decay of the
    tags and exact protein dynamics. The weight change is added to ``dWr``.
    """
    dtype = dWr.dtype.type
    n = h.shape[0]
    one = dtype(1)
    zero = dtype(0)
    kappa = dtype(params.late_threshold)
    c = dtype(dt / params.tau_late)
    tiny = dtype(1e-20)
    eh1 = dtype(math.exp(-dt / params.tau_tag_ltp))
    el1 = dtype(math.exp(-dt / params.tau_tag_ltd))
    need = dtype(params.protein_threshold * n)
    sh = _row_sum(h)
    sl = _row_sum(l)
    gz = dtype(params.late_weight)
    if n_steps == 1:
        # online: one fused pass over the row
        gp = dtype(c * params.capture * p)
        p = _protein_step(p, sh + sl >= need, dt, params)
        gh = dtype(params.ltp_weight)
        gl = dtype(params.ltd_weight)
        for j in range(n):
            hh = h[j]
            ll = l[j]
            zz = z[j]
            zn = zz + c * (zz * (one - zz) * (zz - kappa)) + gp * (hh - ll)
            zn = zero if abs(zn) < tiny else zn  # keep z out of the denormal range near 0
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
        p = _protein_step(p, sh * eh + sl * el >= need, dt, params)
        if gp != zero:
            moving = True
        if moving:
            a = gp * eh
            b = gp * el
            for j in range(n):
                zz = z[j]
                zn = zz + c * (zz * (one - zz) * (zz - kappa)) + (a * h[j] - b * l[j])
                z[j] = zero if abs(zn) < tiny else zn
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
            protein[i] = _slow_row(h[i], l[i], z[i], dW[i], protein[i], t, 1, params)
            t = dtype(0)
        clock[i] = t


#: samples per block of the segment kernel (its matrix products are rows x BLOCK x n_pre)
BLOCK = 64


@jit
def _tag_and_capture_one_row(W, b, X, act, params, state, dt, i, k0, k1):
    """Samples ``k0..k1-1`` of ``X`` one by one for row i alone (the per-sample kernel):
    returns the first sample whose activity is not finite, or -1."""
    z = np.zeros(1, W.dtype)
    y = np.zeros(1, W.dtype)
    mod = np.zeros(1, W.dtype)
    nob = np.zeros(0, W.dtype)
    Wi = W[i:i + 1]
    bi = b[i:i + 1]
    si = TagAndCaptureState(state.tag_ltp[i:i + 1], state.tag_ltd[i:i + 1], state.late[i:i + 1],
                            state.baseline[i:i + 1], state.protein[i:i + 1],
                            state.trace[i:i + 1], state.clock[i:i + 1])
    for k in range(k0, k1):
        x = X[k]
        affine(Wi, x, bi, z)
        act_forward(act, z, y)
        if not math.isfinite(y[0]):
            return k
        _tag_and_capture_delta(Wi, x, y, mod, params, si, dt, Wi, nob)
    return -1


@jit
def _tag_and_capture_segment(W, b, X, act, params, state, dt):
    """Online learning of the rows ``W`` over the samples ``X``, several at a time.

    While a row stays in one branch (LTP, LTD or neither) the untagged fraction
    ``u = 1 - h - l`` of each synapse only shrinks by ``(1 - q_j)`` per sample, with
    ``q_j = clip(A x_j)`` the same for every row of the branch. So after k samples of a
    block that starts at ``u0``, ``W0``:

        tag_k = tag_0 + u0 * D_k,   W_k = W0 + g u0 * D_k,   D_{k+1} = D_k + (1 - D_k) q_k

    (``D_0 = 0``), and the drive of sample k is ``W0 x_k + g u0 . (D_k x_k)``: one matrix
    product for ``W0 X^T`` and one per branch for ``U0 (D X)^T`` give every drive of the
    block, the samples are then stepped in order with scalars only (trace, branch), and
    the tags and weights are written once at the end. Blocks hold at most ``BLOCK``
    samples and end at the first slow step of any row; a row whose trace leaves its
    branch within the block is written at that sample and finishes the block sample by
    sample with the per-step kernel. The same result as the per-step kernel up to
    rounding (the conformance suite and tests/test_consolidation.py compare them).
    Returns the first sample whose activity is not finite, or -1.
    """
    h = state.tag_ltp
    l = state.tag_ltd
    trace = state.trace
    clock = state.clock
    dtype = W.dtype.type
    n_rows, n_pre = W.shape
    n = X.shape[0]
    one = dtype(1)
    zero = dtype(0)
    keep = dtype(math.exp(-dt / params.tau_trace))
    gain = (dtype(params.ltp_weight), dtype(-params.ltd_weight))
    rates = (dtype(params.ltp_rate), dtype(params.ltd_rate))
    D = np.zeros((2, BLOCK + 1, n_pre), W.dtype)
    Y = np.zeros((2, BLOCK, n_pre), W.dtype)
    U = np.empty((n_rows, n_pre), W.dtype)
    z = np.empty(n_rows, W.dtype)
    y = np.empty(n_rows, W.dtype)
    branch = np.empty(n_rows, np.int64)  # 0: LTP, 1: LTD, 2: neither
    pos = np.empty(n_rows, np.int64)  # the row's place in U (grouped by branch)
    cut = np.empty(n_rows, np.int64)  # the sample where the row left its branch, or L
    s = 0
    while s < n:
        # the block ends at the first slow step of any row (after that sample's induction)
        L = min(BLOCK, n - s)
        for i in range(n_rows):
            t = clock[i]
            for k in range(L):
                t = t + dt
                if t >= params.consolidation_dt:
                    L = k + 1
                    break
        Xb = X[s:s + L]
        A = np.dot(W, Xb.T)  # W0 x_k for every row and sample
        # sample 0 (whose drive is W0 x_0) decides each row's branch for the block
        for i in range(n_rows):
            z[i] = A[i, 0] + b[i]
        act_forward(act, z, y)
        counts = [0, 0, 0]
        for i in range(n_rows):
            if not math.isfinite(y[i]):
                return s
            yb = trace[i] * keep + y[i]
            trace[i] = yb
            c = 0 if yb >= params.theta_ltp else (1 if yb >= params.theta_ltd else 2)
            branch[i] = c
            counts[c] += 1
            cut[i] = L
        start = (0, counts[0])
        fill = [0, counts[0]]
        for i in range(n_rows):
            c = branch[i]
            if c < 2:
                p = fill[c]
                fill[c] += 1
                pos[i] = p
                for j in range(n_pre):
                    U[p, j] = one - h[i, j] - l[i, j]
        # per branch: D[c, k], the fraction of the untagged synapses tagged after k samples,
        # and the drive the tags gained add at sample k, u0 . (D_k x_k), for its rows
        Bm = (A, A)
        for c in range(2):
            if counts[c] == 0:
                continue
            rate = rates[c]
            Dc = D[c]
            Yc = Y[c]
            for k in range(L):
                x = Xb[k]
                for j in range(n_pre):
                    q = min(max(x[j] * rate, zero), one)
                    d = Dc[k, j]
                    Yc[k, j] = d * x[j]
                    Dc[k + 1, j] = d + (one - d) * q
            Bc = np.dot(U[start[c]:start[c] + counts[c]], Yc[:L].T)
            Bm = (Bc, Bm[1]) if c == 0 else (Bm[0], Bc)
        # samples 1..L-1 while each row keeps its branch
        for k in range(1, L):
            for i in range(n_rows):
                c = branch[i]
                if cut[i] < L:
                    z[i] = zero
                elif c < 2:
                    z[i] = A[i, k] + gain[c] * Bm[c][pos[i] - start[c], k] + b[i]
                else:
                    z[i] = A[i, k] + b[i]
            act_forward(act, z, y)
            for i in range(n_rows):
                if cut[i] < L:
                    continue
                if not math.isfinite(y[i]):
                    return s + k
                yb = trace[i] * keep + y[i]
                c = 0 if yb >= params.theta_ltp else (1 if yb >= params.theta_ltd else 2)
                if c != branch[i]:
                    cut[i] = k  # from here on the row goes sample by sample
                else:
                    trace[i] = yb
        # the state after the block (or at the cut): tags and weights in closed form
        for i in range(n_rows):
            c = branch[i]
            m = cut[i]
            if c < 2:
                g = gain[c]
                tag = h[i] if c == 0 else l[i]
                Dm = D[c, m]
                w = W[i]
                u = U[pos[i]]
                for j in range(n_pre):
                    e = u[j] * Dm[j]
                    tag[j] += e
                    w[j] += g * e
            t = clock[i]
            for k in range(m):
                t = t + dt
            if m == L and t >= params.consolidation_dt:
                state.protein[i] = _slow_row(h[i], l[i], state.late[i], W[i], state.protein[i], t,
                                             1, params)
                t = zero
            clock[i] = t
            if m < L:
                bad = _tag_and_capture_one_row(W, b, Xb, act, params, state, dt, i, m, L)
                if bad >= 0:
                    return s + bad
        s += L
    return -1


@jit
def _tag_and_capture_rest(W, params, state, dt, n_steps, dW):
    h = state.tag_ltp
    l = state.tag_ltd
    z = state.late
    protein = state.protein
    clock = state.clock
    zero = dW.dtype.type(0)
    fade = dW.dtype.type(math.exp(-dt * n_steps / params.tau_trace))
    for i in range(W.shape[0]):
        p = protein[i]
        if clock[i] > zero:  # first the stimulation time not yet advanced
            p = _slow_row(h[i], l[i], z[i], dW[i], p, clock[i], 1, params)
            clock[i] = zero
        protein[i] = _slow_row(h[i], l[i], z[i], dW[i], p, dt, n_steps, params)
        state.trace[i] *= fade


# -- the rule --------------------------------------------------------------------------------------
@register("tag_and_capture")
@dataclass(frozen=True, repr=False)
class TagAndCapture(LocalRule):
    r"""Tag-trigger-consolidation: decaying early LTP/LTD, protein trigger, bistable late phase.

    The mean-field form of the tag-trigger-consolidation model of Clopath et al.
    (2008), after the synaptic tagging and capture experiments of Frey & Morris
    (1997). Every synapse is in one of three early-phase states -- untagged,
    early-LTP (tagged for LTP) or early-LTD (tagged for LTD) -- and has a late-phase
    variable :math:`z`; :math:`h_{ij}` and :math:`l_{ij}` are the probabilities of
    the two tagged states. The weight is

    .. math::

        w_{ij} = b_{ij} + g_h h_{ij} - g_l l_{ij} + g_z z_{ij}

    with the baseline :math:`b_{ij}` (the initial weight). **Induction** (each step):
    an untagged synapse is tagged with probability :math:`q = \min(\max(A x_j, 0), 1)`
    per step, for LTP (:math:`A = A_{ltp}`) when the postsynaptic trace
    :math:`\bar y_i` is at least :math:`\theta_{ltp}`, for LTD (:math:`A = A_{ltd}`)
    when it lies in :math:`[\theta_{ltd}, \theta_{ltp})`, not at all below:

    .. math::

        \bar y_i \leftarrow e^{-\Delta t/\tau_y}\,\bar y_i + y_i, \qquad
        h_{ij} \leftarrow h_{ij} + (1 - h_{ij} - l_{ij})\, q_{ij} \ \text{(LTP)}, \qquad
        l_{ij} \leftarrow l_{ij} + (1 - h_{ij} - l_{ij})\, q_{ij} \ \text{(LTD)}

    **Maintenance** (slow dynamics, hours):

    .. math::

        \dot h_{ij} = -h_{ij}/\tau_h, \qquad \dot l_{ij} = -l_{ij}/\tau_l, \\
        \dot p_i = -\frac{p_i}{\tau_{pd}} + \frac{1 - p_i}{\tau_{pm}}\,
                   \Theta\Big[\sum_j (h_{ij} + l_{ij}) - \theta_p\, n_{pre}\Big], \\
        \tau_z \dot z_{ij} = z_{ij}(1 - z_{ij})(z_{ij} - \kappa) + \gamma\, p_i\,(h_{ij} - l_{ij})

    Tags decay in about an hour (LTP) and an hour and a half (LTD); proteins are
    made while more than a fraction :math:`\theta_p` of the neuron's synapses are
    tagged; the late phase is bistable (0 and 1, unstable point :math:`\kappa`) and
    tagged synapses cross into the other well only while proteins are present. A
    weak stimulus alone decays back to the baseline within hours; a strong one
    (repeated trains) triggers proteins and is consolidated; a weak stimulus to
    other synapses of the same neuron while proteins are present is captured.

    **Adaptations** (documented departures from the paper, whose model has binary
    stochastic tags and a voltage-based induction rule for an adaptive
    exponential integrate-and-fire neuron):

    * Mean field: :math:`h, l` are the expected occupancies of the stochastic
      three-state chain (its exact mean dynamics for given transition
      probabilities), so the rule is deterministic. The late phase keeps the
      paper's cubic, driven by the graded tag; with graded tags the paper's
      :math:`\gamma = 0.1` (for tags of 0 or 1) would capture only synapses tagged
      above about one half, so ``capture`` defaults to 0.3: a weak tetanus given up
      to about half an hour after a strong one is captured, and the capture is slow
      enough (tens of minutes) that repetitions spaced by about ten minutes
      consolidate more than the same repetitions massed.
    * Induction: the paper's voltage thresholds (LTD above rest, LTP near firing)
      become two thresholds on a trace of postsynaptic activity. ``pre`` and
      ``post`` are read as the activity in the step: spike counts (0 or 1) under
      :func:`brainlearn.protocols.apply`, the unit's activity in
      :func:`brainlearn.train` (one presentation of ``dt`` seconds); ``dt`` is in
      seconds and advances every clock. With the defaults, paired pre and post
      spikes at 1 Hz tag for LTD and a 100 Hz tetanus tags for LTP from its third
      pulse on; a weak tetanus (21 pulses at 100 Hz) tags about half of the
      stimulated synapses, a strong one (3 x 100 pulses) nearly all. For rate
      networks, set ``theta_ltd`` and ``theta_ltp`` in the units of the activities.
    * The protein threshold is a fraction of the neuron's synapses (the paper:
      60 tags of 200 synapses), so it carries over to layers of any size.
    * Time stepping: the slow dynamics advance every ``consolidation_dt`` seconds
      of stimulation (exact exponentials for tags and protein, explicit Euler for
      :math:`z`; their time constants are minutes to hours), and through rest in
      the steps of :func:`brainlearn.rest`. :math:`|z| < 10^{-20}` is set to 0.

    Parameters
    ----------
    ltp_rate, ltd_rate : float
        :math:`A_{ltp}, A_{ltd}`: probability per presynaptic event that an untagged
        synapse is tagged for LTP / LTD.
    theta_ltd, theta_ltp : float
        Thresholds of the postsynaptic trace for LTD and for LTP (:math:`\theta_{ltd}
        \le \theta_{ltp}`), in activity units (spike counts).
    tau_trace : float
        :math:`\tau_y`, time constant of the postsynaptic trace (s).
    tau_tag_ltp, tau_tag_ltd : float
        :math:`\tau_h = 1/k_h` (3600 s) and :math:`\tau_l = 1/k_l` (5400 s).
    protein_threshold : float
        :math:`\theta_p`, fraction of the neuron's synapses that must be tagged for
        protein synthesis (0.3: 60 of 200).
    tau_protein_rise, tau_protein_decay : float
        :math:`\tau_{pm}` (360 s) and :math:`\tau_{pd}` (3600 s).
    tau_late : float
        :math:`\tau_z` (360 s).
    late_threshold : float
        :math:`\kappa`, the unstable point of the late phase (0.5).
    capture : float
        :math:`\gamma`, how strongly tag and protein push the late phase.
    ltp_weight, ltd_weight, late_weight : float
        :math:`g_h, g_l, g_z` (1, 0.5, 2 in the paper, in units of the baseline weight).
    up_fraction : float
        Fraction of synapses whose late phase starts up (:math:`z = 1`; the paper: 0.3,
        which makes late LTD possible); drawn from the projection's seeded generator.
    consolidation_dt : float
        Seconds of stimulation between two advances of the slow dynamics.

    References
    ----------
    Clopath, C., Ziegler, L., Vasilaki, E., Büsing, L. & Gerstner, W. (2008).
    Tag-trigger-consolidation: a model of early and late long-term-potentiation and
    depression. PLoS Comput. Biol. 4(12), e1000248.
    Frey, U. & Morris, R. G. M. (1997). Synaptic tagging and long-term potentiation.
    Nature 385, 533-536.
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
    capture: float = hyperparameter(0.3, low=0.0, doc="drive of the late phase by tag x protein")
    ltp_weight: float = hyperparameter(1.0, low=0.0, doc="weight of early LTP")
    ltd_weight: float = hyperparameter(0.5, low=0.0, doc="weight of early LTD")
    late_weight: float = hyperparameter(2.0, low=0.0, doc="weight of the late phase")
    up_fraction: float = hyperparameter(0.0, low=0.0, high=1.0,
                                        doc="fraction of synapses whose late phase starts up")
    consolidation_dt: float = hyperparameter(60.0, low=0.0, low_open=True,
                                             doc="seconds between advances of the slow dynamics")

    family = "ltp"
    summary = "early LTP/LTD tags decay over hours; protein trigger; bistable late phase captures tags"
    equation = (r"w = b + g_h h - g_l l + g_z z,\ \dot h = -h/\tau_h,\ "
                r"\dot p = -p/\tau_{pd} + (1-p)/\tau_{pm}\,\Theta[\sum(h+l) - \theta_p n],\ "
                r"\tau_z \dot z = z(1-z)(z-\kappa) + \gamma p (h - l)")
    reference = ("Clopath, Ziegler, Vasilaki, Busing & Gerstner 2008, PLoS Comput. Biol. "
                 "4:e1000248; Frey & Morris 1997, Nature 385:533")
    elementwise = True
    row_local = True
    kernel = _tag_and_capture_delta
    segment_kernel = _tag_and_capture_segment
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
        return TagAndCaptureState(np.zeros_like(W), np.zeros_like(W), late,
                                  np.ascontiguousarray(baseline, dtype=dt), np.zeros(n, dt),
                                  np.zeros(n, dt), np.zeros(n, dt))

    # -- read-outs ---------------------------------------------------------------------------------
    def early(self, state):
        """The early-phase weight ``ltp_weight * tag_ltp - ltd_weight * tag_ltd``."""
        return self.ltp_weight * state.tag_ltp - self.ltd_weight * state.tag_ltd

    def late(self, state):
        """The late-phase weight ``late_weight * late`` (relative to a late phase all down)."""
        return self.late_weight * state.late
