"""Gradient-side consolidation: elastic weight consolidation and synaptic intelligence.

Both rules add a quadratic pull toward the weights an earlier task ended with,
weighted by how important each weight was for that task, and are meant to be
chained with a gradient rule on every projection of a network::

    rule = bl.rules.chain("backprop", bl.rules.EWC(strength=100.0))
    net = bl.mlp([64, 64, 10], rule=rule)
    bl.train(net, task1, epochs=5); bl.end_task(net)
    bl.train(net, task2, epochs=5); bl.end_task(net)

The chain sums the deltas (both read the pre-update ``W``) and the consolidation
term reads the same backpropagated error ``mod`` = dL/dz as the gradient rule,
from which it measures importance: the squared per-sample gradients for EWC,
the gradient times the weight change along the learning path for SI.
:func:`brainlearn.end_task` turns what was measured during a task into the
importance and anchor used from then on.

Shared conventions
------------------
* **Learning rate.** The penalty step is :math:`-\\eta\\lambda\\Omega(W - W^*)`
  with the rule's own ``lr`` :math:`\\eta` (a kernel does not see the
  hyperparameters of the rules it is chained with). Give it the learning rate of
  the gradient rule in the chain (both default to 0.05): the summed step is then
  one gradient step of size :math:`\\eta` on the loss plus the penalty.
* **Stability.** An explicit gradient step on a quadratic overshoots the anchor
  when :math:`\\eta\\lambda\\Omega > 1` and diverges above 2, which a large
  importance reaches easily; the coefficient is therefore capped,
  :math:`\\min(\\eta\\lambda\\Omega, 1)` (a step never carries a weight past its
  anchor). Below the cap the update is exactly the gradient of the penalty.
* **Defaults.** ``EWC(strength=100)`` and ``SynapticIntelligence(strength=1,
  window=256)`` with ``lr=0.05`` are the settings of the two-task digits test
  (tests/test_consolidation_gradient.py): both keep about 0.55-0.7 of the first
  task where plain SGD keeps chance, and learn the second to 0.85-0.92. A stronger
  penalty keeps more of old tasks and learns new ones less. The retention study
  chooses its own strengths for five tasks (experiments/consolidation_sweep.py).
* **Biases are not consolidated.** A kernel receives the bias change ``db`` but
  not the bias itself, so the penalty covers the weights only; the chained
  gradient rule keeps updating the biases freely.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .base import GradientRule, hyperparameter, register

__all__ = ["EWC", "EWCState", "SynapticIntelligence", "SIState"]


@jit
def _pull_to_anchor(W, importance, anchor, k, dW):
    """dW += -min(max(k * importance, 0), 1) * (W - anchor), reading each W[i, j] first."""
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            c = k * importance[i, j]
            w = W[i, j]
            if c >= 1.0:
                dW[i, j] += anchor[i, j] - w
            elif c > 0.0:
                dW[i, j] += -c * (w - anchor[i, j])


# -- elastic weight consolidation ---------------------------------------------------------------
EWCState = collections.namedtuple("EWCState", ["fisher_sum", "count", "fisher", "anchor"])


@jit
def _ewc_delta(W, pre, post, mod, params, state, dt, dW, db):
    acc = state.fisher_sum
    for i in range(W.shape[0]):
        e = mod[i]
        for j in range(W.shape[1]):
            g = e * pre[j]
            acc[i, j] += g * g
    state.count[0] += 1.0
    _pull_to_anchor(W, state.fisher, state.anchor, params.lr * params.strength, dW)


@jit
def _ewc_delta_batch(W, pre, post, mod, params, state, dt, dW, db):
    # per-sample squared gradients: sum_r (mod[r, i] pre[r, j])^2 = (mod^2)^T (pre^2)
    G = np.dot((mod * mod).T, pre * pre)
    acc = state.fisher_sum
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            acc[i, j] += G[i, j]
    state.count[0] += pre.shape[0]
    # the same at every row of the batch, so the batch mean is one pull
    _pull_to_anchor(W, state.fisher, state.anchor, params.lr * params.strength, dW)


@register("ewc")
@dataclass(frozen=True, repr=False)
class EWC(GradientRule):
    r"""Elastic weight consolidation: a Fisher-weighted pull toward earlier tasks' weights.

    .. math::

        \Delta W = -\min(\eta\lambda F, 1) \odot (W - W^*)

    the gradient step :math:`-\eta\lambda F \odot (W - W^*)` on the penalty
    :math:`\tfrac{\lambda}{2}\sum_{ij} F_{ij} (W_{ij} - W^*_{ij})^2`, capped so that
    no step carries a weight past its anchor. During a task the rule accumulates the
    diagonal empirical Fisher information from the per-sample gradients of the loss,
    :math:`g_{ij} = \delta_i x_j` (``mod`` = dL/dz, as backprop sees it):
    :math:`F^{task}_{ij} = \langle g_{ij}^2 \rangle`, the mean over every
    presentation of the task (the weights move during the task, so this is the
    Fisher averaged along the learning path, not only at its end).
    :func:`brainlearn.end_task` then consolidates:

    * ``online=False`` (Kirkpatrick et al.'s multi-task EWC): one penalty per
      finished task, :math:`\sum_t \tfrac{\lambda}{2} F_t (W - W^*_t)^2`, kept exactly
      as one quadratic with :math:`F = \sum_t F_t` and the Fisher-weighted anchor
      :math:`W^* = \sum_t F_t W^*_t / F`;
    * ``online=True`` (online EWC, Schwarz et al. 2018; Huszár 2018): one penalty
      at the weights of the latest task end, :math:`W^* = W_{end}`.

    In both, earlier Fisher information is scaled by :math:`\gamma` at each task
    end, :math:`F \leftarrow \gamma F + F^{task}` (:math:`\gamma = 1`: no decay).
    Before the first task ends :math:`F = 0` and the rule changes nothing.
    The coefficient is capped at 1, the bias is not penalised, and ``lr`` should
    equal the chained gradient rule's (see :mod:`brainlearn.rules.consolidation_gradient`).

    Parameters
    ----------
    strength : float
        Penalty strength :math:`\lambda \ge 0`.
    lr : float
        Learning rate :math:`\eta \ge 0` of the penalty step (use the gradient rule's).
    gamma : float
        Decay :math:`\gamma \in [0, 1]` of earlier Fisher information at each task end.
    online : bool
        Anchor at the latest task end (online EWC) instead of keeping every task's
        penalty (multi-task EWC).

    References
    ----------
    Kirkpatrick, J. et al. (2017). Overcoming catastrophic forgetting in neural
    networks. PNAS 114(13), 3521-3526.
    Schwarz, J. et al. (2018). Progress & compress: a scalable framework for
    continual learning. ICML.
    Huszár, F. (2018). Note on the quadratic penalties in elastic weight
    consolidation. PNAS 115(11), E2496-E2497.
    """

    strength: float = hyperparameter(100.0, low=0.0, doc="penalty strength lambda")
    lr: float = hyperparameter(0.05, low=0.0,
                               doc="learning rate of the penalty step (the chained rule's)")
    gamma: float = hyperparameter(1.0, low=0.0, high=1.0,
                                  doc="decay of earlier Fisher information at each task end")
    online: bool = hyperparameter(False, doc="anchor at the latest task end (online EWC)")

    needs = frozenset({"pre", "error"})
    summary = "Fisher-weighted pull toward earlier tasks' weights (chain with backprop)"
    equation = (r"\Delta W = -\min(\eta\lambda F, 1) \odot (W - W^*),\ "
                r"F = \langle (\delta x^\top)^2 \rangle")
    reference = "Kirkpatrick et al. 2017, PNAS 114:3521"
    tags = dict(elementwise=True)
    kernel = _ewc_delta
    batch_kernel = _ewc_delta_batch

    def init_state(self, projection, rng):
        W = projection.W
        return EWCState(np.zeros_like(W), np.zeros(1, W.dtype), np.zeros_like(W), W.copy())

    def end_task(self, projection, state):
        """Consolidate the task's mean squared gradients into the importance and anchor."""
        W = projection.W
        dtype = W.dtype.type
        n = state.count[0]
        task = state.fisher_sum / n if n > 0 else np.zeros_like(W)
        old = dtype(self.gamma) * state.fisher
        fisher = old + task
        if self.online:
            anchor = W.copy()
        else:
            safe = np.where(fisher > 0, fisher, dtype(1))
            anchor = np.where(fisher > 0, (old * state.anchor + task * W) / safe, W)
        return EWCState(np.zeros_like(W), np.zeros(1, W.dtype), fisher.astype(W.dtype),
                        anchor.astype(W.dtype))


# -- synaptic intelligence ----------------------------------------------------------------------
#: presentations per step of synaptic intelligence's path integral (its ``window``)
_SI_WINDOW = 256

SIState = collections.namedtuple("SIState", ["omega", "W_prev", "grad_sum", "count", "W_start",
                                             "importance", "anchor"])


@jit
def _si_close_window(W, state):
    """omega -= mean gradient of the open window x the weight change across it; a new window
    starts at ``W`` (nothing to close when the window is empty)."""
    n = state.count[0]
    if n <= 0.0:
        return
    inv = 1.0 / n
    om = state.omega
    Wp = state.W_prev
    gs = state.grad_sum
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            w = W[i, j]
            om[i, j] -= gs[i, j] * inv * (w - Wp[i, j])
            Wp[i, j] = w
            gs[i, j] = 0.0
    state.count[0] = 0.0


@jit
def _si_delta(W, pre, post, mod, params, state, dt, dW, db):
    # the window closes before the presentation that would overfill it; the gradient
    # mod pre^T is added on the fly (no array per presentation)
    if state.count[0] >= params.window:
        _si_close_window(W, state)
    gs = state.grad_sum
    for i in range(W.shape[0]):
        e = mod[i]
        for j in range(W.shape[1]):
            gs[i, j] += e * pre[j]
    state.count[0] += 1.0
    _pull_to_anchor(W, state.importance, state.anchor, params.lr * params.strength, dW)


@jit
def _si_delta_batch(W, pre, post, mod, params, state, dt, dW, db):
    # a batch adds its summed gradient (the update follows its mean) and its size
    if state.count[0] >= params.window:
        _si_close_window(W, state)
    grad = np.dot(mod.T, pre)
    gs = state.grad_sum
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            gs[i, j] += grad[i, j]
    state.count[0] += pre.shape[0]
    _pull_to_anchor(W, state.importance, state.anchor, params.lr * params.strength, dW)


@register("synaptic_intelligence")
@dataclass(frozen=True, repr=False)
class SynapticIntelligence(GradientRule):
    r"""Synaptic intelligence: importance from each weight's contribution to the loss decrease.

    .. math::

        \omega_{ij} \leftarrow \omega_{ij} - \bar g_{ij}(k)\,\big(W_{ij}(t_{k+1}) - W_{ij}(t_k)\big),
        \qquad
        \Omega_{ij} \leftarrow \Omega_{ij} + \frac{\omega_{ij}}{(W_{ij}^{end} - W_{ij}^{start})^2 + \xi},
        \qquad
        \Delta W = -\mathrm{clip}(\eta\, c\, \Omega, 0, 1) \odot (W - W^*)

    The path integral advances in windows :math:`k` of ``window`` presentations (starting at
    :math:`t_k`): :math:`\bar g(k)` is the mean over the window of the gradient of the loss
    alone, :math:`g = \delta x^\top` (``mod`` = dL/dz), and :math:`W(t_{k+1}) - W(t_k)` the
    actual change across it, whatever caused it (the chained gradient rule, this penalty,
    momentum), so :math:`\omega` is the path integral of the loss decrease each weight is
    responsible for. A window holds whole minibatches: with ``window`` at most the batch size
    each batch is one step with its mean gradient, the form of Zenke et al. (2017), who
    trained on minibatches.

    Why a window: a step of plain SGD on one sample contributes :math:`-g\,\Delta W = \eta
    g^2`, whose mean is :math:`\eta(\langle g\rangle^2 + \mathrm{Var}\,g)`. At batch size 1
    the variance term dominates: every weight that carried gradient noise counts as
    important, the importance is inflated by the noise, and a penalty strong enough to
    protect old tasks stops the network learning new ones (on permuted digits the accuracy on
    each new task fell to 0.93, 0.72, 0.59, 0.27, 0.14 at strength 0.01, window 1). Over a
    window of :math:`M` presentations the contribution is :math:`\eta M \bar g^2`, whose
    noise term is :math:`\mathrm{Var}\,g / M`: the importance measures the loss decrease
    along the slow path, as with minibatches (experiments/consolidation_sweep.py,
    docs/tuning.md). ``window=1`` is the per-sample path integral.

    :func:`brainlearn.end_task` closes the open window, adds :math:`\omega` normalised by the
    squared distance travelled during the task (damped by :math:`\xi`) to the importance
    :math:`\Omega`, resets :math:`\omega`, and sets the anchor :math:`W^*` and the start of
    the next task's path to the current weights. Before the first task ends :math:`\Omega =
    0` and the rule changes nothing. The path starts at the weights the projection had when
    the rule's state was made.

    Below the clip this is the gradient step on the penalty
    :math:`\tfrac{c}{2}\sum_{ij} \Omega_{ij} (W_{ij} - W^*_{ij})^2`. The
    coefficient :math:`\eta c \Omega` is clipped to :math:`[0, 1]`: at most a
    step back to the anchor, and no push away from it where a weight's path
    integral came out negative (the loss rose along it). The bias is not
    penalised, and ``lr`` should equal the chained gradient rule's (see
    :mod:`brainlearn.rules.consolidation_gradient`).

    Parameters
    ----------
    strength : float
        Penalty strength :math:`c \ge 0`.
    lr : float
        Learning rate :math:`\eta \ge 0` of the penalty step (use the gradient rule's).
    xi : float
        Damping :math:`\xi > 0` of the normalisation by the squared distance travelled.
    window : int
        Presentations per step of the path integral (whole minibatches).

    References
    ----------
    Zenke, F., Poole, B. & Ganguli, S. (2017). Continual learning through synaptic
    intelligence. ICML, PMLR 70, 3987-3995.
    """

    strength: float = hyperparameter(1.0, low=0.0, doc="penalty strength c")
    lr: float = hyperparameter(0.05, low=0.0,
                               doc="learning rate of the penalty step (the chained rule's)")
    xi: float = hyperparameter(1e-3, low=0.0, low_open=True,
                               doc="damping of the squared distance travelled in a task")
    window: int = hyperparameter(_SI_WINDOW, low=1,
                                 doc="presentations per step of the path integral")

    needs = frozenset({"pre", "error"})
    summary = "importance = path integral of gradient x weight change (chain with backprop)"
    equation = (r"\Delta W = -\mathrm{clip}(\eta c\, \Omega, 0, 1) \odot (W - W^*),\ "
                r"\Omega \mathrel{+}= \frac{-\sum_t g(t)\, \Delta W(t)}{(W^{end} - W^{start})^2 + \xi}")
    reference = "Zenke, Poole & Ganguli 2017, ICML (PMLR 70:3987)"
    tags = dict(elementwise=True)
    kernel = _si_delta
    batch_kernel = _si_delta_batch

    def init_state(self, projection, rng):
        W = projection.W
        return SIState(np.zeros_like(W), W.copy(), np.zeros_like(W), np.zeros(1, W.dtype),
                       W.copy(), np.zeros_like(W), W.copy())

    def end_task(self, projection, state):
        """Close the task's path integral into the importance; anchor at the current weights."""
        W = projection.W
        omega = state.omega
        n = state.count[0]
        if n > 0:  # the task's last, open window
            omega = omega - state.grad_sum / n * (W - state.W_prev)
        travelled = W - state.W_start
        importance = state.importance + omega / (travelled * travelled + W.dtype.type(self.xi))
        return SIState(np.zeros_like(W), W.copy(), np.zeros_like(W), np.zeros(1, W.dtype),
                       W.copy(), importance.astype(W.dtype), W.copy())
