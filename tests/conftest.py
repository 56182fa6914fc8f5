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


# -- the fake study (tests/fake_study.py) of the study runner and command-line tests -------------
@pytest.fixture(scope="module")
def fake():
    """The fake study, registered for the module."""
    from fake_study import FakeStudy

    from brainlearn.studies import register_study, unregister_study
    study = register_study(FakeStudy())
    yield study
    unregister_study(study.name)


@pytest.fixture
def calls():
    """The fake study's record of its runs, cleared (and its interrupt unset) around a test."""
    import fake_study
    fake_study.CALLS.clear()
    fake_study.INTERRUPT[0] = None
    yield fake_study.CALLS
    fake_study.INTERRUPT[0] = None
