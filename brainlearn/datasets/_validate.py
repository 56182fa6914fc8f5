"""Argument checks shared by the loaders and generators.

Every check raises with the argument's name, the value received and what is
allowed, so that a message read on its own says what to fix.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (``bool`` is refused too).
    ValueError
        If ``value < minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value}")
    return value


def check_real(name: str, value) -> float:
    """Return ``value`` as a finite ``float``; refuse bools, strings and NaN/inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_open_unit(name: str, value) -> float:
    """Return ``value`` if it lies strictly between 0 and 1."""
    value = check_real(name, value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in the open interval (0, 1), got {value}")
    return value


def integer_labels(name: str, y) -> np.ndarray:
    """Return class labels ``y`` as an int64 array; floats are accepted when integral.

    Labels read from a CSV file or built with NumPy often arrive as floats
    (``0.0 .. 9.0``); those convert exactly. Any other dtype is returned as
    ``np.asarray(y)`` for the caller's own checks.

    Raises
    ------
    ValueError
        If ``y`` is floating point and holds a value that is not an integer (or NaN or
        inf); the message names the argument, the first such value and its index.
    """
    y = np.asarray(y)
    if y.dtype.kind != "f":
        return y
    bad = ~np.isfinite(y) | (y != np.round(y))
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        index = where[0] if len(where) == 1 else where
        raise ValueError(
            f"{name} must hold integer class labels; got the non-integral value "
            f"{y[where].item()!r} at index {index}"
        )
    return y.astype(np.int64)


def check_float_dtype(dtype) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is a floating-point type."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a floating-point dtype such as np.float32, got {dtype!r}") from exc
    if resolved.kind != "f":
        raise TypeError(
            f"dtype must be a floating-point dtype such as np.float32 or np.float64, got {resolved}"
        )
    return resolved


def as_rng(seed) -> np.random.Generator:
    """Return a Generator for ``seed``: a non-negative int, or a Generator used as is.

    ``None`` is refused on purpose: every result in brainlearn is reproducible
    from an explicit seed.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int("seed", seed, minimum=0))
