"""Data sets by name: :func:`load` and :func:`available`."""

from __future__ import annotations

from typing import Callable

from ._base import Dataset
from .digits import load_digits
from .mnist import load_fashion_mnist, load_mnist

_LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": load_digits,
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
}


def available() -> list[str]:
    """Names accepted by :func:`load`, sorted.

    Examples
    --------
    >>> from brainlearn.datasets import available
    >>> available()
    ['digits', 'fashion_mnist', 'mnist']
    """
    return sorted(_LOADERS)


def load(name: str, **kwargs) -> Dataset:
    """Load a data set by name.

    Parameters
    ----------
    name : str
        One of :func:`available`: ``"digits"`` (bundled, see
        :func:`load_digits`), ``"mnist"`` (:func:`load_mnist`) or
        ``"fashion_mnist"`` (:func:`load_fashion_mnist`). A hyphen is read as
        an underscore and case is ignored.
    **kwargs
        Passed to the loader, e.g. ``test_fraction`` and ``seed`` for the
        digits, ``path`` and ``download`` for MNIST.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        If ``name`` is not a known data set.

    Examples
    --------
    >>> from brainlearn.datasets import load
    >>> load("digits")
    Dataset('digits', n_train=1347, n_test=450, features=8x8, n_classes=10, dtype=float32)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {name!r} of type {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    if key not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(available())}")
    return _LOADERS[key](**kwargs)
