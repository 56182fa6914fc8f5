"""The one place where Numba is configured.

Every compiled function in brainlearn is created through :func:`jit` or
:func:`jit_parallel`, so compiler flags live here and nowhere else.

``fastmath`` is enabled *without* the ``nnan``/``ninf`` flags: the compiler may
reassociate and contract floating-point operations (so reductions vectorise),
but NaN and infinity keep their IEEE meaning and a diverging run stays
detectable by ``np.isfinite``.
"""

from __future__ import annotations

import os

import numba

__all__ = ["FASTMATH", "jit", "jit_parallel", "prange", "JIT_DISABLED", "set_num_threads"]

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: True when ``NUMBA_DISABLE_JIT=1``: every kernel then runs as plain Python.
JIT_DISABLED = bool(int(os.environ.get("NUMBA_DISABLE_JIT", "0") or 0))

prange = numba.prange


def jit(fn=None, *, cache: bool = True, inline: str = "never"):
    """Compile ``fn`` in nopython mode with the project's flags.

    Leaf kernels are cached on disk (``cache=True``) so that a second process
    loads machine code instead of recompiling.
    """

    def wrap(f):
        return numba.njit(fastmath=set(FASTMATH), cache=cache, nogil=True, inline=inline)(f)

    return wrap(fn) if fn is not None else wrap


def jit_parallel(fn=None, *, cache: bool = True):
    """Compile ``fn`` with ``parallel=True`` (``prange`` loops run on threads).

    Use only for loops over independent rows; callers choose between the
    serial and the parallel twin by problem size, because starting a parallel
    region costs microseconds.
    """

    def wrap(f):
        return numba.njit(fastmath=set(FASTMATH), cache=cache, nogil=True, parallel=True)(f)

    return wrap(fn) if fn is not None else wrap


def set_num_threads(n: int) -> None:
    """Set the number of threads Numba's parallel kernels use in this process."""
    if n < 1:
        raise ValueError(f"n_threads must be >= 1, got {n!r}")
    numba.set_num_threads(min(int(n), numba.config.NUMBA_NUM_THREADS))
