"""Synthetic inputs for the classic local-learning experiments.

Every generator takes ``seed`` (a non-negative int, or a
``numpy.random.Generator`` used as is) and ``dtype``; the same seed gives the
same output, and the global NumPy random state is never used.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_rng, check_float_dtype, check_int, check_open_unit, check_real

_KINDS = ("bipolar", "binary")


def random_patterns(
    n_patterns: int,
    n_units: int,
    kind: str = "bipolar",
    coding_level: float = 0.5,
    seed=0,
    dtype=np.float32,
) -> np.ndarray:
    """Random binary patterns, e.g. the memories of a Hopfield network.

    Every unit of every pattern is active independently with probability
    ``coding_level``.

    Parameters
    ----------
    n_patterns, n_units : int
        Number of patterns P and of units N, both positive.
    kind : {"bipolar", "binary"}, default "bipolar"
        Active units are 1 in both; inactive units are -1 ("bipolar") or 0
        ("binary").
    coding_level : float, default 0.5
        Probability that a unit is active, in (0, 1). Sparse patterns use a
        small value (Tsodyks & Feigel'man 1988).
    seed : int or numpy.random.Generator, default 0
    dtype : floating dtype, default np.float32

    Returns
    -------
    ndarray of shape (n_patterns, n_units)

    References
    ----------
    J. J. Hopfield (1982). Neural networks and physical systems with emergent
    collective computational abilities. PNAS 79(8), 2554-2558.
    """
    n_patterns = check_int("n_patterns", n_patterns)
    n_units = check_int("n_units", n_units)
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, _KINDS))}, got {kind!r}")
    coding_level = check_open_unit("coding_level", coding_level)
    dtype = check_float_dtype(dtype)
    active = as_rng(seed).random((n_patterns, n_units)) < coding_level
    off = -1 if kind == "bipolar" else 0
    return np.where(active, 1, off).astype(dtype)


def bars(n_samples: int, size: int = 8, p: float | None = None, seed=0, dtype=np.float32):
    """Földiák's bars: images made of randomly chosen horizontal and vertical bars.

    Each of the ``size`` horizontal bars (rows) and ``size`` vertical bars
    (columns) of a ``size x size`` image is on independently with probability
    ``p``; a pixel is 1 when at least one bar through it is on (logical OR),
    else 0. Learning the bars as independent features is the classic test of
    competitive Hebbian learning with anti-Hebbian decorrelation.

    Parameters
    ----------
    n_samples : int
        Number of images, positive.
    size : int, default 8
        Side of the square image, positive.
    p : float or None, default None
        Probability that a bar is on, in [0, 1]; None means ``1 / size``.
    seed : int or numpy.random.Generator, default 0
    dtype : floating dtype, default np.float32

    Returns
    -------
    x : ndarray of shape (n_samples, size * size)
        The images, row-major, values 0 or 1.
    which : ndarray of bool, shape (n_samples, 2 * size)
        Which bars are on: columns ``0 .. size-1`` are the horizontal bars
        (image rows ``0 .. size-1``), columns ``size .. 2*size-1`` the vertical
        bars (image columns ``0 .. size-1``).

    References
    ----------
    P. Földiák (1990). Forming sparse representations by local anti-Hebbian
    learning. Biological Cybernetics 64(2), 165-170.
    """
    n_samples = check_int("n_samples", n_samples)
    size = check_int("size", size)
    if p is None:
        p = 1.0 / size
    p = check_real("p", p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    dtype = check_float_dtype(dtype)
    which = as_rng(seed).random((n_samples, 2 * size)) < p
    rows, cols = which[:, :size], which[:, size:]
    images = rows[:, :, None] | cols[:, None, :]
    return images.reshape(n_samples, size * size).astype(dtype), which


def gaussian(n_samples: int, spectrum, seed=0, rotate: bool = True, dtype=np.float32):
    """Zero-mean Gaussian samples whose covariance has a given eigenvalue spectrum.

    The covariance is ``C = Q diag(spectrum) Q^T`` with ``Q`` a random
    orthogonal matrix (Haar-distributed, drawn from ``seed``) when ``rotate``,
    else the identity (axis ``i`` then has variance ``spectrum[i]``). The
    principal subspace of such data is what Oja's and Sanger's rules should
    find.

    Parameters
    ----------
    n_samples : int
        Number of samples, positive.
    spectrum : array_like, 1-D
        The d variances along the principal directions, non-negative and
        finite, in any order.
    seed : int or numpy.random.Generator, default 0
    rotate : bool, default True
        Rotate the axes by a random orthogonal matrix.
    dtype : floating dtype, default np.float32

    Returns
    -------
    x : ndarray of shape (n_samples, d)
        The samples (population mean 0, population covariance ``C``).
    components : ndarray of shape (d, d)
        Row ``k`` is the unit-length principal direction with the ``k``-th
        largest variance, ``np.sort(spectrum)[::-1][k]`` (ties keep the order
        of ``spectrum``).

    References
    ----------
    E. Oja (1982). Simplified neuron model as a principal component analyzer.
    J. Math. Biology 15(3), 267-273.
    """
    n_samples = check_int("n_samples", n_samples)
    variances = _check_spectrum(spectrum)
    dtype = check_float_dtype(dtype)
    if not isinstance(rotate, (bool, np.bool_)):
        raise TypeError(f"rotate must be a bool, got {rotate!r}")
    rng = as_rng(seed)
    d = len(variances)
    basis = _random_orthogonal(d, rng) if rotate else np.eye(d)
    z = rng.standard_normal((n_samples, d))
    # Column i of `basis` is the direction with variance variances[i].
    x = (z * np.sqrt(variances)) @ basis.T
    order = np.argsort(-variances, kind="stable")
    components = basis[:, order].T
    return x.astype(dtype), np.ascontiguousarray(components, dtype=dtype)


def clusters(
    n_samples: int, n_clusters: int, n_features: int, spread: float = 0.1, seed=0, dtype=np.float32
):
    """Isotropic Gaussian clusters around random centres in the unit cube.

    The centres are drawn uniformly from [0, 1]^n_features. Samples are
    assigned to clusters as evenly as possible (sizes differ by at most one)
    in a random order, and each sample is its centre plus
    ``spread * N(0, I)`` noise. The samples are not clipped, so a few may fall
    slightly outside [0, 1].

    Parameters
    ----------
    n_samples, n_clusters, n_features : int
        All positive.
    spread : float, default 0.1
        Standard deviation of the noise along every axis, >= 0.
    seed : int or numpy.random.Generator, default 0
    dtype : floating dtype, default np.float32

    Returns
    -------
    x : ndarray of shape (n_samples, n_features)
    labels : ndarray of int64, shape (n_samples,)
        The cluster of each sample, in ``0 .. n_clusters - 1``.
    centres : ndarray of shape (n_clusters, n_features)
    """
    n_samples = check_int("n_samples", n_samples)
    n_clusters = check_int("n_clusters", n_clusters)
    n_features = check_int("n_features", n_features)
    spread = check_real("spread", spread)
    if spread < 0:
        raise ValueError(f"spread must be >= 0, got {spread}")
    dtype = check_float_dtype(dtype)
    rng = as_rng(seed)
    centres = rng.random((n_clusters, n_features))
    labels = rng.permutation(np.arange(n_samples, dtype=np.int64) % n_clusters)
    x = centres[labels] + spread * rng.standard_normal((n_samples, n_features))
    return x.astype(dtype), labels, centres.astype(dtype)


def _check_spectrum(spectrum) -> np.ndarray:
    try:
        values = np.asarray(spectrum, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"spectrum must be a 1-D sequence of real numbers, got {spectrum!r}") from exc
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"spectrum must be 1-D and non-empty, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"spectrum must be finite, got {values}")
    if np.any(values < 0):
        raise ValueError(f"spectrum values (variances) must be >= 0, got {values}")
    return values


def _random_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-distributed orthogonal matrix: QR of a Gaussian matrix with the signs fixed."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    # Without the sign correction QR's convention biases the distribution (Mezzadri 2007).
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)
