"""The handwritten digits shipped with brainlearn (UCI optdigits, test set).

The data are the 1797 8x8 images of the test set of the UCI "Optical
Recognition of Handwritten Digits" data (E. Alpaydin, C. Kaynak, 1998;
CC BY 4.0). See ``data/DIGITS_README.md`` for attribution and provenance.
"""

from __future__ import annotations

import functools
import io
from importlib import resources

import numpy as np

from ._base import Dataset
from ._validate import as_rng, check_float_dtype, check_open_unit

#: Largest pixel value in the bundled images (counts of "on" pixels in a 4x4 block).
MAX_PIXEL = 16


@functools.lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """Decode ``digits.npz`` once per process; the cached arrays are read-only."""
    blob = resources.files(__package__).joinpath("data", "digits.npz").read_bytes()
    with np.load(io.BytesIO(blob)) as archive:
        images, labels = archive["images"], archive["labels"]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """Return the bundled digits unprocessed, in file order.

    Returns
    -------
    images : ndarray of uint8, shape (1797, 64)
        Row-major 8x8 images with values 0..16.
    labels : ndarray of uint8, shape (1797,)
        Digits 0..9.

    Notes
    -----
    The arrays are fresh copies: changing them does not affect later calls.
    """
    images, labels = _raw_digits()
    return images.copy(), labels.copy()


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a per-class split: see :func:`load_digits` for the rule."""
    rng = as_rng(seed)
    test = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n_test = int(round(test_fraction * len(members)))
        test.append(rng.permutation(members)[:n_test])
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[np.concatenate(test)] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def load_digits(test_fraction: float = 0.25, seed: int = 0, dtype=np.float32) -> Dataset:
    """Load the bundled 8x8 handwritten digits, split into train and test.

    Parameters
    ----------
    test_fraction : float, default 0.25
        Share of every class that goes to the test split, in (0, 1).
    seed : int or numpy.random.Generator, default 0
        Seed of the split (a non-negative int). The same seed always gives the
        same split.
    dtype : floating dtype, default np.float32
        dtype of ``x_train`` and ``x_test``.

    Returns
    -------
    Dataset
        ``name="digits"``, ``n_classes=10``, ``image_shape=(8, 8)``, 64
        features ``x = pixel / 16`` in [0, 1], int64 labels 0..9. With the
        default fraction: 1347 training and 450 test samples.

    Notes
    -----
    The split is stratified and fixed by ``seed``: a generator
    ``rng = np.random.default_rng(seed)`` visits the classes in order
    0, 1, ..., 9; for each class it draws one permutation of that class's row
    indices (in file order), and the first ``round(test_fraction * n_class)``
    of them (Python's ``round``: to nearest, ties to even) go to the test
    split, the rest to training. Both splits then keep the original file order
    (sorted indices), so each class appears in both splits in the same
    proportion, up to rounding.

    Source: the test set of the UCI "Optical Recognition of Handwritten
    Digits" data, E. Alpaydin and C. Kaynak (1998), CC BY 4.0.

    Examples
    --------
    >>> from brainlearn.datasets import load_digits
    >>> data = load_digits(seed=1)
    >>> data.x_train.shape, data.x_test.shape
    ((1347, 64), (450, 64))
    """
    test_fraction = check_open_unit("test_fraction", test_fraction)
    dtype = check_float_dtype(dtype)
    images, labels = _raw_digits()
    train, test = stratified_split(labels, test_fraction, seed)

    def inputs(rows: np.ndarray) -> np.ndarray:
        x = images[rows].astype(dtype)  # fancy indexing copies: the cache is never exposed
        x /= MAX_PIXEL
        return x

    return Dataset(
        inputs(train),
        labels[train].astype(np.int64),
        inputs(test),
        labels[test].astype(np.int64),
        n_classes=10,
        name="digits",
        image_shape=(8, 8),
    )
