"""Affine fast paths: rules whose change of row i is ``alpha_i W_i + beta_i d``.

``d`` is the input ``x`` for Hebb, Oja, BCM, weight decay and synaptic scaling, and
``x - <x>`` for the covariance rule (its ``direction`` path makes it and moves the
running mean of ``x``). The engine's block driver (:mod:`brainlearn.engine.codegen`)
then runs online learning of a single projection through matrix products, with the
same result as the per-sample loop over the rules' kernels.
"""

from __future__ import annotations

import math

from ..._jit import jit
from ...rules.composite import WeightDecay
from ...rules.hebbian import BCM, Covariance, Hebb, Oja
from ...rules.homeostatic import SynapticScaling
from ._registry import register_fast_path

__all__: list = []


@jit
def _hebb_affine(pre, post, params, state, dt, alpha, beta):
    for i in range(post.shape[0]):
        beta[i] += params.lr * post[i]


@jit
def _oja_affine(pre, post, params, state, dt, alpha, beta):
    lr = params.lr
    for i in range(post.shape[0]):
        y = post[i]
        alpha[i] -= lr * y * y
        beta[i] += lr * y


@jit
def _bcm_affine(pre, post, params, state, dt, alpha, beta):
    lr = params.lr
    theta = state.theta
    rate = dt / params.tau_theta
    for i in range(post.shape[0]):
        y = post[i]
        beta[i] += lr * y * (y - theta[i])
        theta[i] += rate * (y * y / params.y0 - theta[i])


@jit
def _covariance_direction(pre, params, state, dt, d):
    mx = state.mean_pre
    beta = params.beta
    for j in range(pre.shape[0]):
        d[j] = pre[j] - mx[j]
        mx[j] += beta * (pre[j] - mx[j])


@jit
def _covariance_affine(pre, post, params, state, dt, alpha, beta):
    lr = params.lr
    my = state.mean_post
    rate = params.beta
    for i in range(post.shape[0]):
        beta[i] += lr * (post[i] - my[i])
        my[i] += rate * (post[i] - my[i])


@jit
def _weight_decay_affine(pre, post, params, state, dt, alpha, beta):
    c = params.decay * dt
    for i in range(alpha.shape[0]):
        alpha[i] -= c


@jit
def _synaptic_scaling_affine(pre, post, params, state, dt, alpha, beta):
    # dW_i = alpha_i W_i (beta = 0): the same steps as the kernel, without touching W
    a = state.rate
    rho = -math.expm1(-dt / params.tau)
    c = params.lr * dt / params.target
    for i in range(post.shape[0]):
        ai = a[i] + rho * (post[i] - a[i])
        a[i] = ai
        alpha[i] += c * (params.target - ai)


register_fast_path(Hebb, affine=_hebb_affine)
register_fast_path(Oja, affine=_oja_affine)
register_fast_path(BCM, affine=_bcm_affine)
# the direction path moves the running mean of x; mean_post has one row per unit
register_fast_path(Covariance, affine=_covariance_affine, direction=_covariance_direction,
                   input_state=("mean_pre",))
register_fast_path(WeightDecay, affine=_weight_decay_affine)
register_fast_path(SynapticScaling, affine=_synaptic_scaling_affine)
