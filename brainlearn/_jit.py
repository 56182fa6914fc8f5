"""The one place where Numba is configured.

Every compiled function in brainlearn is created through :func:`jit` or
:func:`jit_parallel`, so compiler flags live here and nowhere else.

``fastmath`` is enabled *without* the ``nnan``/``ninf`` flags, so NaN and
infinity keep their IEEE meaning and a diverging run stays detectable.

Reassociation (``reassoc``) is what lets LLVM vectorise a sum, but in a loop
that also *stores* it makes results depend on memory addresses: the
vectoriser guards such loops with run-time overlap checks, and the vector body
and the scalar fallback reassociate differently, so the same seed could give
different last bits from run to run. Hence two flag sets: the default
:data:`FASTMATH` (no ``reassoc``; element-wise update loops still vectorise)
and :data:`REDUCTION_FASTMATH`, used only by pure reductions such as dot
products, whose inner loops load and never store.

``no_cfunc_wrapper=True``: nothing here is used as a first-class function value, so the C
wrapper Numba would otherwise compile next to every function (and every generated driver) is
left out; it was about a tenth of a driver's compile time.

``error_model="numpy"``: a float division by zero gives inf or NaN (which the
divergence checks catch) instead of raising; Python's error model puts a test
before every division, which keeps loops from vectorising.

Numba's on-disk cache is keyed on each kernel's own source file, not on this
one: after changing the flags here, delete the ``*.nbi``/``*.nbc`` files.
"""

from __future__ import annotations

import os

import numba

__all__ = ["FASTMATH", "REDUCTION_FASTMATH", "jit", "jit_parallel", "prange", "JIT_DISABLED", "set_num_threads",
           "inline_copy"]

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn"})
REDUCTION_FASTMATH = FASTMATH | {"reassoc"}

#: True when ``NUMBA_DISABLE_JIT=1``: every kernel then runs as plain Python.
JIT_DISABLED = bool(int(os.environ.get("NUMBA_DISABLE_JIT", "0") or 0))

prange = numba.prange


def jit(fn=None, *, cache: bool = True, reduction: bool = False):
    """Compile ``fn`` in nopython mode with the project's flags.

    Leaf kernels are cached on disk (``cache=True``) so that a second process
    loads machine code instead of recompiling. ``reduction=True`` adds
    ``reassoc``: only for kernels whose vectorised loops are pure reductions.
    """
    flags = REDUCTION_FASTMATH if reduction else FASTMATH

    def wrap(f):
        return numba.njit(fastmath=set(flags), cache=cache, nogil=True, error_model="numpy",
                          no_cfunc_wrapper=True)(f)

    return wrap(fn) if fn is not None else wrap


def jit_parallel(fn=None, *, cache: bool = True, reduction: bool = False):
    """Compile ``fn`` with ``parallel=True`` (``prange`` loops run on threads).

    Use only for loops over independent rows; callers choose between the
    serial and the parallel twin by problem size, because starting a parallel
    region costs microseconds.
    """

    flags = REDUCTION_FASTMATH if reduction else FASTMATH

    def wrap(f):
        return numba.njit(fastmath=set(flags), cache=cache, nogil=True, parallel=True,
                          error_model="numpy", no_cfunc_wrapper=True)(f)

    return wrap(fn) if fn is not None else wrap


def inline_copy(kernel):
    """A copy of a compiled kernel that Numba inlines into its callers (``inline="always"``).

    The engine inlines rule kernels into its drivers so that LLVM sees when ``dW`` and
    ``W`` are the same array. The copy is compiled with the project's flags.
    """
    py_func = getattr(kernel, "py_func", kernel)
    if JIT_DISABLED:
        return py_func
    return numba.njit(fastmath=set(FASTMATH), nogil=True, error_model="numpy", inline="always")(py_func)


def set_num_threads(n: int) -> None:
    """Set the number of threads Numba's parallel kernels use in this process."""
    if n < 1:
        raise ValueError(f"n_threads must be >= 1, got {n!r}")
    numba.set_num_threads(min(int(n), numba.config.NUMBA_NUM_THREADS))
