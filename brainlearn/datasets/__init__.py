"""Data sets: bundled digits, MNIST-style IDX files and synthetic patterns.

>>> import brainlearn.datasets as bd
>>> data = bd.load("digits")                  # bundled, no download
>>> data.x_train.dtype, data.n_classes
(dtype('float32'), 10)

``load("mnist", path=DIR)`` reads the standard IDX files from ``DIR`` (or from
a per-user cache, see :func:`data_dir`), downloading them when asked with
``download=True``. :mod:`brainlearn.datasets.synthetic` generates the inputs of
the classic local-learning experiments: random patterns for associative
memory, Földiák's bars, Gaussian data with a chosen spectrum, clusters.
"""

from ._base import Dataset
from ._download import ChecksumError
from ._registry import available, load
from .digits import digits_raw, load_digits
from .idx import read_idx, write_idx
from .mnist import data_dir, load_fashion_mnist, load_mnist
from .synthetic import bars, clusters, gaussian, random_patterns

__all__ = [
    "ChecksumError",
    "Dataset",
    "available",
    "bars",
    "clusters",
    "data_dir",
    "digits_raw",
    "gaussian",
    "load",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "random_patterns",
    "read_idx",
    "write_idx",
]
