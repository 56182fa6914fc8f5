"""Shared fixtures. Data sets load once per session; nothing seeds the global RNG."""

import numpy as np
import pytest

import brainlearn as bl


@pytest.fixture(scope="session")
def digits():
    return bl.datasets.load("digits")


@pytest.fixture(scope="session")
def digits64(digits):
    """The digits as float64 arrays."""
    return bl.datasets.Dataset(digits.x_train.astype(np.float64), digits.y_train,
                               digits.x_test.astype(np.float64), digits.y_test,
                               n_classes=10, name="digits", image_shape=(8, 8))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
