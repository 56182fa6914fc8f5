"""Weight initialisers.

An initialiser is called as ``init(shape, rng, dtype)`` with ``shape =
(n_post, n_pre)`` and returns a new array. ``Network.connect(init=...)`` takes
one of these objects, its name (``"glorot"``, ``"he"``, ``"normal"``,
``"zeros"``) or an explicit array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Initializer", "Glorot", "He", "Normal", "Uniform", "Zeros", "get", "available", "describe"]


class Initializer:
    """Base class: subclasses implement ``__call__(shape, rng, dtype)``."""

    name = ""

    def __call__(self, shape, rng, dtype):  # pragma: no cover - interface
        raise NotImplementedError

    def to_json(self) -> dict:
        return {"name": self.name, **{k: v for k, v in vars(self).items()}}


@dataclass(frozen=True)
class Glorot(Initializer):
    """Uniform in :math:`\\pm\\sqrt{6 / (n_{pre} + n_{post})}` (Glorot & Bengio 2010). The default."""

    name = "glorot"
    gain: float = 1.0

    def __call__(self, shape, rng, dtype):
        limit = self.gain * math.sqrt(6.0 / (shape[0] + shape[1]))
        return rng.uniform(-limit, limit, size=shape).astype(dtype)


@dataclass(frozen=True)
class He(Initializer):
    """Normal with std :math:`\\sqrt{2 / n_{pre}}` (He et al. 2015), for ReLU populations."""

    name = "he"

    def __call__(self, shape, rng, dtype):
        return (rng.standard_normal(size=shape) * math.sqrt(2.0 / shape[1])).astype(dtype)


@dataclass(frozen=True)
class Normal(Initializer):
    """Normal with mean ``mean`` and standard deviation ``std``."""

    name = "normal"
    std: float = 0.01
    mean: float = 0.0

    def __post_init__(self):
        if not (np.isfinite(self.std) and self.std >= 0):
            raise ValueError(f"std={self.std!r} must be a finite number >= 0")

    def __call__(self, shape, rng, dtype):
        return (self.mean + self.std * rng.standard_normal(size=shape)).astype(dtype)


@dataclass(frozen=True)
class Uniform(Initializer):
    """Uniform in ``[low, high)``."""

    name = "uniform"
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        if not self.high > self.low:
            raise ValueError(f"high={self.high!r} must be greater than low={self.low!r}")

    def __call__(self, shape, rng, dtype):
        return rng.uniform(self.low, self.high, size=shape).astype(dtype)


@dataclass(frozen=True)
class Zeros(Initializer):
    """All zeros."""

    name = "zeros"

    def __call__(self, shape, rng, dtype):
        return np.zeros(shape, dtype=dtype)


_BY_NAME = {cls.name: cls for cls in (Glorot, He, Normal, Uniform, Zeros)}


def available() -> list[str]:
    """Names accepted by ``connect(init=...)``."""
    return list(_BY_NAME)


def get(init) -> Initializer:
    """Resolve a name or an Initializer instance (a dict from :meth:`describe` also works)."""
    if isinstance(init, Initializer):
        return init
    if isinstance(init, dict):
        params = dict(init)
        name = params.pop("name", None)
        return get(name).__class__(**params)
    if isinstance(init, str) and init in _BY_NAME:
        return _BY_NAME[init]()
    raise ValueError(
        f"init={init!r} is not a known initialiser; allowed: {', '.join(_BY_NAME)}, "
        "an Initializer instance, or an array of shape (n_post, n_pre)")


def describe(init: Initializer) -> dict:
    """A JSON-able description that :func:`get` turns back into the initialiser."""
    return {"name": init.name, **{k: getattr(init, k) for k in init.__dataclass_fields__}}
