"""Activation and loss kernels against their NumPy twins, and numerical stability."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from brainlearn.network.activations import ACTIVATIONS, act_backward, act_forward
from brainlearn.network.losses import LOSSES, VALID_OUTPUTS, check_loss_activation, loss_and_delta

import naive

pytestmark = pytest.mark.twin

finite = st.floats(-30, 30, allow_nan=False, width=64)


@settings(max_examples=40, deadline=None)
@given(z=arrays(np.float64, st.integers(1, 12), elements=finite),
       name=st.sampled_from(sorted(ACTIVATIONS)))
def test_activation_forward_matches_numpy(z, name):
    a = np.empty_like(z)
    act_forward(ACTIVATIONS[name], z, a)
    np.testing.assert_allclose(a, naive.act_forward(name, z), rtol=1e-12, atol=1e-300)


@settings(max_examples=40, deadline=None)
@given(z=arrays(np.float64, st.integers(1, 12), elements=finite),
       g=arrays(np.float64, 12, elements=st.floats(-5, 5, width=64)),
       name=st.sampled_from(sorted(ACTIVATIONS)))
def test_activation_backward_matches_jacobian(z, g, name):
    g = g[: z.shape[0]]
    a = naive.act_forward(name, z)
    out = np.empty_like(z)
    act_backward(ACTIVATIONS[name], a, g, out)
    np.testing.assert_allclose(out, naive.act_backward(name, a, g), rtol=1e-10, atol=1e-12)


PAIRS = [(loss, act) for loss, acts in VALID_OUTPUTS.items() for act in acts]


@pytest.mark.parametrize("loss,act", PAIRS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_and_delta_match_definition(loss, act, dtype, rng):
    for _ in range(20):
        n = 4
        z = rng.normal(0, 2, n).astype(dtype)
        a = naive.act_forward(act, z.astype(np.float64))
        if loss == "mse":
            t = rng.normal(0, 1, n)
        elif act == "softmax" and loss == "cross_entropy":
            t = np.eye(n)[rng.integers(n)]
        else:
            t = rng.integers(0, 2, n).astype(float)
        delta = np.empty(n, dtype)
        value = loss_and_delta(LOSSES[loss], ACTIVATIONS[act], z, a.astype(dtype), t.astype(dtype), delta)
        expect_delta = naive.act_backward(act, a, naive.loss_grad_a(loss, a, t))
        tol = 1e-10 if dtype == np.float64 else 2e-5
        assert value == pytest.approx(naive.loss_value(loss, a, t), rel=tol, abs=tol)
        np.testing.assert_allclose(delta, expect_delta, rtol=tol * 10, atol=tol)


@pytest.mark.parametrize("loss,act", [p for p in PAIRS if p[0] != "mse"])
def test_saturated_outputs_give_finite_loss_and_gradient(loss, act):
    z = np.array([200.0, -200.0, 0.0])
    a = naive.act_forward(act, z)
    t = np.array([0.0, 1.0, 0.0])
    delta = np.empty(3)
    value = loss_and_delta(LOSSES[loss], ACTIVATIONS[act], z, a, t, delta)
    assert np.isfinite(value) and value > 100  # confidently wrong costs a lot, but stays finite
    assert np.all(np.isfinite(delta))


def test_loss_rejects_incompatible_output():
    with pytest.raises(ValueError, match="binary_cross_entropy.*tanh"):
        check_loss_activation("binary_cross_entropy", "tanh")
    with pytest.raises(ValueError, match="loss='hinge'.*allowed"):
        check_loss_activation("hinge", "softmax")
