"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then
the data in C order, big-endian::

    byte 0, 1   0x00 0x00
    byte 2      type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte 3      number of dimensions
    then        ndim x uint32 (big-endian) sizes, then the data

Files may be gzip-compressed; compression is recognised from the content (the
gzip magic bytes 1f 8b), not from the file name.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

#: IDX type code -> NumPy dtype (big-endian, as stored in the file).
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into an array.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip compression is detected from the first two bytes.

    Returns
    -------
    ndarray
        A new, writeable array in native byte order whose dtype follows the
        file's type code (uint8, int8, int16, int32, float32 or float64) and
        whose shape is the file's dimensions.

    Raises
    ------
    ValueError
        If the magic number is wrong, the type code unknown, the file is
        truncated (header or data shorter than the header announces), it has
        bytes beyond the announced data, or its gzip stream is corrupt.
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> images = read_idx("train-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    path = Path(path)
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise ValueError(f"{path}: truncated IDX file, {len(buf)} bytes is shorter than the 4-byte magic number")
    if buf[0] != 0 or buf[1] != 0:
        raise ValueError(
            f"{path}: bad IDX magic number {buf[:4].hex(' ')}; an IDX file starts with two zero bytes, "
            f"a type code and the number of dimensions"
        )
    code, ndim = buf[2], buf[3]
    if code not in IDX_TYPES:
        allowed = ", ".join(f"0x{c:02X} ({IDX_TYPES[c].newbyteorder('=').name})" for c in IDX_TYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}; allowed: {allowed}")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions; at least 1 is needed")
    offset = 4 + 4 * ndim
    if len(buf) < offset:
        raise ValueError(
            f"{path}: truncated IDX file, the header of a {ndim}-D array needs {offset} bytes, found {len(buf)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(buf) - offset
    if found < expected:
        raise ValueError(
            f"{path}: truncated IDX file, shape {shape} of {dtype.newbyteorder('=').name} needs "
            f"{expected} data bytes, found {found}"
        )
    if found > expected:
        raise ValueError(
            f"{path}: IDX size mismatch, shape {shape} of {dtype.newbyteorder('=').name} needs "
            f"{expected} data bytes, found {found} ({found - expected} extra)"
        )
    data = np.frombuffer(buf, dtype=dtype, offset=offset, count=expected // dtype.itemsize)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def write_idx(path: str | os.PathLike, array, *, compress: bool | None = None) -> Path:
    """Write an array as an IDX file.

    Parameters
    ----------
    path : str or path-like
        Destination. Written atomically: to a temporary file in the same
        directory, then renamed.
    array : array_like
        Data of dtype uint8, int8, int16, int32, float32 or float64, with 1 to
        255 dimensions, each smaller than 2**32.
    compress : bool or None, default None
        Gzip the file. None compresses when ``path`` ends with ``.gz``.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    TypeError
        If the dtype has no IDX type code.
    ValueError
        If the array has 0 or more than 255 dimensions, or a dimension of
        2**32 or more.
    """
    path = Path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        allowed = ", ".join(d.name for d in _CODES)
        raise TypeError(f"array dtype must be one of {allowed} to be written as IDX, got {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"array must have 1 to 255 dimensions to be written as IDX, got shape {array.shape}")
    if max(array.shape) >= 2**32:
        raise ValueError(f"array dimensions must be below 2**32 to be written as IDX, got shape {array.shape}")
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)  # mtime=0: the same array gives the same bytes
    _atomic_write(path, payload)
    return path


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
        f.seek(0)
        if head != _GZIP_MAGIC:
            return f.read()
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as z:
                return z.read()
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc


def _atomic_write(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
