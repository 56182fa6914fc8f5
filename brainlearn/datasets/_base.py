"""The :class:`Dataset` container shared by every loader."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_rng, check_int, integer_labels


@dataclass(eq=False, repr=False)
class Dataset:
    """A labelled data set split into a training and a test part.

    Loaders return ``x`` as C-contiguous floating-point arrays (float32 unless
    asked otherwise) with values in [0, 1], one sample a row, and ``y`` as
    int64 class labels in ``0 .. n_classes - 1``.

    Parameters
    ----------
    x_train, x_test : ndarray of shape (n_train, n_features), (n_test, n_features)
        Inputs; must be floating point, of one dtype. Stored C-contiguous.
    y_train, y_test : ndarray of shape (n_train,), (n_test,)
        Integer class labels; stored as int64. Floats are accepted when every
        value is an integer (``0.0 .. 9.0``).
    n_classes : int
        Number of classes; every label lies in ``0 .. n_classes - 1``.
    name : str, optional
        Short name used in reprs, tables and figures.
    image_shape : tuple of int or None, optional
        Shape of one sample as an image, e.g. ``(8, 8)``; its product must be
        ``n_features``. None when the samples are not images.

    Raises
    ------
    ValueError
        If shapes disagree, labels fall outside ``0 .. n_classes - 1`` or are
        floats that are not integers, or ``image_shape`` does not match
        ``n_features``.
    TypeError
        If ``x`` is not floating point or ``y`` neither integer nor float.

    Examples
    --------
    >>> import brainlearn.datasets as bd
    >>> data = bd.load("digits")
    >>> data.n_features, data.image_shape
    (64, (8, 8))
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str = "dataset"
    image_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        self.n_classes = check_int("n_classes", self.n_classes)
        self.x_train = _as_inputs("x_train", self.x_train)
        self.x_test = _as_inputs("x_test", self.x_test)
        self.y_train = _as_labels("y_train", self.y_train, self.n_classes)
        self.y_test = _as_labels("y_test", self.y_test, self.n_classes)
        if self.x_train.dtype != self.x_test.dtype:
            raise ValueError(
                f"x_train and x_test must have one dtype, got {self.x_train.dtype} and {self.x_test.dtype}"
            )
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise ValueError(
                f"x_train and x_test must have the same number of features, got "
                f"{self.x_train.shape[1]} and {self.x_test.shape[1]}"
            )
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) != len(y):
                raise ValueError(
                    f"x_{split} and y_{split} must have the same length, got {len(x)} and {len(y)}"
                )
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {self.name!r}")
        if self.image_shape is not None:
            shape = tuple(self.image_shape)
            if not shape or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
                raise ValueError(f"image_shape must be a tuple of positive integers or None, got {self.image_shape!r}")
            shape = tuple(int(s) for s in shape)
            if int(np.prod(shape)) != self.n_features:
                raise ValueError(
                    f"image_shape {shape} holds {int(np.prod(shape))} pixels, but the samples "
                    f"have n_features={self.n_features}"
                )
            self.image_shape = shape

    @property
    def n_features(self) -> int:
        """Number of input features (columns of ``x``)."""
        return int(self.x_train.shape[1])

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return int(self.x_test.shape[0])

    @property
    def dtype(self) -> np.dtype:
        """Floating-point dtype of ``x_train`` and ``x_test``."""
        return self.x_train.dtype

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.image_shape)) if self.image_shape else str(self.n_features)
        return (
            f"Dataset({self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
            f"features={shape}, n_classes={self.n_classes}, dtype={self.dtype})"
        )

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> "Dataset":
        """Return a smaller data set with about the same class proportions.

        Each split is reduced independently: class ``c`` keeps
        ``n * count_c / N`` samples, rounded by the largest-remainder method so
        the total is exactly ``n``; within a class the kept samples are drawn
        without replacement from ``np.random.default_rng(seed)``, and the
        result keeps the original sample order.

        Parameters
        ----------
        n_train, n_test : int or None
            Sizes of the new splits, ``0 <= n <= current size``; None keeps the
            whole split (as a copy).
        seed : int
            Seed of the draw. The same seed gives the same subset.

        Returns
        -------
        Dataset
            New arrays; the original is left untouched.
        """
        rng = as_rng(seed)
        keep = {}
        for split, n in (("train", n_train), ("test", n_test)):
            y = getattr(self, f"y_{split}")
            if n is None:
                keep[split] = np.arange(len(y))
            else:
                n = check_int(f"n_{split}", n, minimum=0)
                if n > len(y):
                    raise ValueError(f"n_{split} must be at most the split's size {len(y)}, got {n}")
                keep[split] = stratified_indices(y, n, self.n_classes, rng)
        return Dataset(
            self.x_train[keep["train"]],
            self.y_train[keep["train"]],
            self.x_test[keep["test"]],
            self.y_test[keep["test"]],
            n_classes=self.n_classes,
            name=self.name,
            image_shape=self.image_shape,
        )


def stratified_indices(y: np.ndarray, n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n`` samples of ``y`` drawn in proportion to the class sizes."""
    counts = np.bincount(y, minlength=n_classes)
    exact = n * counts / max(len(y), 1)
    quota = np.floor(exact).astype(np.int64)
    # Largest remainder: hand the leftover samples to the classes whose share
    # was rounded down the most (stable sort, so ties go to the lower label).
    leftover = n - int(quota.sum())
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[:leftover]] += 1
    chosen = [rng.permutation(np.flatnonzero(y == c))[: quota[c]] for c in range(n_classes)]
    return np.sort(np.concatenate(chosen))


def _as_inputs(name: str, x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(
            f"{name} must be floating point (scale integer pixels into [0, 1] first), got dtype {x.dtype}"
        )
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {x.shape}")
    return np.ascontiguousarray(x)


def _as_labels(name: str, y, n_classes: int) -> np.ndarray:
    y = integer_labels(name, y)  # integral floats (0.0 .. 9.0) become int64
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got shape {y.shape}")
    y = np.ascontiguousarray(y, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"{name} must lie in 0 .. n_classes - 1 = {n_classes - 1}, got values from {y.min()} to {y.max()}"
        )
    return y
