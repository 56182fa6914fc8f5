"""Time without input, and task boundaries.

:func:`rest` lets simulated time pass with no presentation: early-phase weights
decay, proteins are made and used, late-phase weights consolidate -- whatever the
rules' ``rest_kernel`` say (one compiled call per projection for the whole
period, no Python loop per step). :func:`end_task` tells every rule that a task
has ended (EWC and synaptic intelligence anchor their weights there).
"""

from __future__ import annotations

import math

import numpy as np

from ..rules.base import kernel_params

__all__ = ["rest", "end_task"]


def _check_net(net):
    from ..network import Network
    if not isinstance(net, Network):
        raise TypeError(f"net={net!r} must be a brainlearn Network")


def rest(net, duration, *, dt=1.0):
    """Let ``duration`` seconds pass without input, in steps of ``dt`` seconds.

    Every projection whose rule (or a rule of its chain) has a ``rest_kernel``
    advances its state and weights; mask, hard bounds and constraint rules
    (``clip``, ``row_normalize``) are applied to the result as after training.
    The last step is shortened so that exactly ``duration`` passes.

    Parameters
    ----------
    net : Network
    duration : float
        Seconds of rest (>= 0).
    dt : float
        Step of the rest dynamics in seconds (> 0). The rules' rest kernels are
        written for steps far shorter than their time constants (hours), so the
        default of one second is accurate for protein and late-phase dynamics.

    Returns
    -------
    float
        The simulated time that passed (``duration``).
    """
    _check_net(net)
    for name, v in (("duration", duration), ("dt", dt)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not math.isfinite(v):
            raise ValueError(f"{name}={v!r} must be a finite number of seconds")
    if duration < 0:
        raise ValueError(f"duration={duration!r} must be >= 0 seconds")
    if dt <= 0:
        raise ValueError(f"dt={dt!r} must be > 0 seconds")
    if duration == 0:
        return 0.0
    n_full = int(math.floor(duration / dt + 1e-9))
    last = duration - n_full * dt
    if last <= dt * 1e-9:
        last = 0.0
    for q in net.projections:
        if not any(r.rest_kernel is not None for r in q.chain.rules):
            continue
        q.refresh_state()
        W = q.W
        dtype = W.dtype
        dW = np.zeros_like(W)
        for rule, state in zip(q.chain.rules, q.states):
            if rule.rest_kernel is None:
                continue
            params = kernel_params(rule, dtype)
            if n_full:
                rule.rest_kernel(W, params, state, dtype.type(dt), n_full, dW)
            if last:
                rule.rest_kernel(W, params, state, dtype.type(last), 1, dW)
        W += dW
        _finish(q)
    return float(duration)


def _finish(q):
    """Constraint rules, mask and bounds, in the order the drivers apply them after an update."""
    W = q.W
    dtype = W.dtype
    empty = np.zeros(0, dtype)
    for rule, state in zip(q.chain.rules, q.states):
        if rule.tags.constraint:
            rule.kernel(W, np.zeros(W.shape[1], dtype), np.zeros(W.shape[0], dtype),
                        np.zeros(W.shape[0], dtype), kernel_params(rule, dtype), state, dtype.type(0.0),
                        W, empty)
    if q.mask is not None:
        W *= q.mask
    if q.bounds is not None:
        np.clip(W, q.bounds[0], q.bounds[1], out=W)


def end_task(net):
    """Tell every rule that the current task has ended.

    Calls ``rule.end_task(projection, state)`` for every rule on every
    projection (each rule of a chain) and keeps the state it returns. EWC and
    synaptic intelligence anchor the weights and their importance here; other
    rules ignore it.
    """
    _check_net(net)
    for q in net.projections:
        q.refresh_state()
        for k, (rule, state) in enumerate(zip(q.chain.rules, q.states)):
            new = rule.end_task(q, state)
            if new is None:
                raise TypeError(f"{type(rule).__name__}.end_task returned None; it must return "
                                "the (new or same) state")
            if new is not state:
                q.set_term_state(k, new)
