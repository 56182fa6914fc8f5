"""MNIST and Fashion-MNIST from the standard IDX files.

Both data sets come as four files, each raw or gzip-compressed::

    train-images-idx3-ubyte   (60000, 28, 28) uint8
    train-labels-idx1-ubyte   (60000,) uint8
    t10k-images-idx3-ubyte    (10000, 28, 28) uint8
    t10k-labels-idx1-ubyte    (10000,) uint8

They are looked for in ``path`` or, by default, in :func:`data_dir` ``(name)``,
and downloaded there on request from the mirrors in :data:`MIRRORS`, checked
against the MD5 sums in :data:`MD5` (the ``.gz`` files' sums as published with
torchvision).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._base import Dataset
from ._download import download_from_mirrors
from ._validate import check_float_dtype
from .idx import read_idx

#: The four IDX files of a data set, without the ``.gz`` suffix.
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: Base URLs tried in order by ``download=True``; each is joined with ``FILE.gz``.
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion_mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}

#: MD5 of each compressed file, keyed by data set and file name.
MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

#: Class names, index = label.
CLASSES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion_mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}


def data_dir(name: str) -> Path:
    """Default directory of the downloadable data set ``name``.

    The first of these that is set (and not empty):

    1. ``$BRAINLEARN_DATA/<name>``: a folder of data sets;
    2. ``$BRAINLEARN_CACHE_DIR/datasets/<name>``: brainlearn's cache, the one that
       also holds the compiled drivers (``$BRAINLEARN_CACHE_DIR/drivers``);
    3. ``$XDG_CACHE_HOME/brainlearn/datasets/<name>``, with ``XDG_CACHE_HOME``
       defaulting to ``~/.cache``.

    The directory is not created here.
    """
    root = os.environ.get("BRAINLEARN_DATA")
    if root:
        return Path(root).expanduser() / name
    cache = os.environ.get("BRAINLEARN_CACHE_DIR")
    if cache:
        return Path(cache).expanduser() / "datasets" / name
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(cache).expanduser() / "brainlearn" / "datasets" / name


def _find(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def folder_problem(path, name: str = "mnist") -> str | None:
    """Why ``path`` is not a folder of the IDX files of ``name`` (one line, saying what is
    allowed), or None when it holds all four (each raw or ``.gz``). Looks at the names only:
    cheap enough to check a configuration before anything runs."""
    directory = Path(path).expanduser()
    files = ", ".join(FILES)
    allowed = (f"allowed: a folder holding {files} (each raw or .gz); "
               f"bl.datasets.load({name!r}, path=DIR, download=True) downloads them into DIR")
    if not directory.exists():
        return f"no such folder; {allowed}"
    if not directory.is_dir():
        return f"not a folder; {allowed}"
    missing = [stem for stem in FILES if _find(directory, stem) is None]
    if len(missing) == len(FILES):
        return f"{directory} holds no {name} IDX files; {allowed}"
    if missing:
        return f"{directory} lacks {', '.join(missing)}; {allowed}"
    return None


def _load_idx_set(
    name: str, path, download: bool, dtype, base_url: str | list[str] | None
) -> Dataset:
    dtype = check_float_dtype(dtype)
    directory = data_dir(name) if path is None else Path(path).expanduser()
    found = {stem: _find(directory, stem) for stem in FILES}
    missing = [stem for stem, file in found.items() if file is None]
    if missing and not download:
        raise FileNotFoundError(
            f"{name}: missing {', '.join(missing)} (raw or .gz) in {directory}; "
            f"call load({name!r}, download=True) to download them there, "
            f"or pass path= to a directory that holds them"
        )
    if missing:
        mirrors = MIRRORS[name] if base_url is None else ([base_url] if isinstance(base_url, str) else list(base_url))
        for stem in missing:
            filename = f"{stem}.gz"
            found[stem] = download_from_mirrors(mirrors, filename, directory / filename, MD5[name].get(filename))

    splits, shapes = {}, {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(found[f"{prefix}-images-idx3-ubyte"])
        labels = read_idx(found[f"{prefix}-labels-idx1-ubyte"])
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"{name}: {prefix} images must be a 3-D uint8 IDX array, got {images.dtype} of shape {images.shape}"
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f"{name}: {prefix} labels must be 1-D with one label per image ({len(images)}), "
                f"got shape {labels.shape}"
            )
        x = images.reshape(len(images), -1).astype(dtype)
        x /= 255
        splits[split] = (x, labels.astype(np.int64))
        shapes[split] = tuple(int(s) for s in images.shape[1:])
    if shapes["train"] != shapes["test"]:
        raise ValueError(f"{name}: train images are {shapes['train']} but test images are {shapes['test']}")
    return Dataset(
        *splits["train"],
        *splits["test"],
        n_classes=len(CLASSES[name]),
        name=name,
        image_shape=shapes["train"],
    )


_DOC = """Load {title} from its four IDX files.

    Parameters
    ----------
    path : str, path-like or None
        Directory of the files (each raw or ``.gz``). None uses
        :func:`data_dir` ``("{name}")``: ``$BRAINLEARN_DATA/{name}``, else
        ``$BRAINLEARN_CACHE_DIR/datasets/{name}``, else
        ``$XDG_CACHE_HOME/brainlearn/datasets/{name}`` (``~/.cache`` when
        unset).
    download : bool, default False
        Download the missing ``.gz`` files into the directory first, each
        checked against its MD5 sum in ``MD5["{name}"]`` and written
        atomically. Files already present are used as they are.
    dtype : floating dtype, default np.float32
        dtype of ``x``.
    base_url : str, list of str or None
        Base URL(s) to download from instead of ``MIRRORS["{name}"]``.

    Returns
    -------
    Dataset
        ``name="{name}"``, ``n_classes=10``, ``image_shape=(28, 28)``;
        ``x = pixel / 255`` in [0, 1] of shape (n, 784), int64 labels; the
        original 60000 / 10000 train / test split, in file order.

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download`` is False; the message names the
        directory and the missing files.
    ChecksumError
        If a downloaded file does not match its MD5 sum (nothing is kept).
    OSError
        If no mirror could be reached.
    ValueError
        If a file is not a valid IDX file or the files do not fit together.

    References
    ----------
    {reference}
    """


def load_mnist(path=None, download: bool = False, dtype=np.float32, base_url=None) -> Dataset:
    return _load_idx_set("mnist", path, download, dtype, base_url)


def load_fashion_mnist(path=None, download: bool = False, dtype=np.float32, base_url=None) -> Dataset:
    return _load_idx_set("fashion_mnist", path, download, dtype, base_url)


load_mnist.__doc__ = _DOC.format(
    title="MNIST handwritten digits",
    name="mnist",
    reference="Y. LeCun, L. Bottou, Y. Bengio, P. Haffner (1998). Gradient-based learning applied to "
    "document recognition. Proc. IEEE 86(11), 2278-2324.",
)
load_fashion_mnist.__doc__ = _DOC.format(
    title="Fashion-MNIST (Zalando article images, 10 clothing classes; see ``CLASSES``)",
    name="fashion_mnist",
    reference="H. Xiao, K. Rasul, R. Vollgraf (2017). Fashion-MNIST: a novel image dataset for "
    "benchmarking machine learning algorithms. arXiv:1708.07747.",
)
