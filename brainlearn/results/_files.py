"""Atomic file writes and the JSON convention of results files."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import tempfile
from collections.abc import Mapping

import numpy as np


def _new_file_mode(path) -> int:
    """The mode a plain ``open(path, "w")`` would give (mkstemp makes files private)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory) -> None:
    """Make a rename durable; not every platform or file system can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; create missing parent folders; return ``path``.

    The bytes go to a temporary file in the same folder (``.NAME.XXXX.tmp``), are flushed and
    fsynced, and the file is renamed over ``path`` with :func:`os.replace`. If anything fails the
    temporary file is removed and ``path`` keeps its previous content.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)
    return path


def write_text(path, text: str) -> str:
    """Write ``text`` (UTF-8, newlines unchanged) to ``path`` atomically; return ``path``."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    return write_bytes(path, text.encode("utf-8"))


def _jsonable(obj, where: str):
    """``obj`` as plain JSON values (see the module docstring); ``where`` names it in errors."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.generic):
        return _jsonable(obj.item(), where)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        obj = float(obj)
        return obj if math.isfinite(obj) else repr(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist(), where)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            if isinstance(key, np.generic):
                key = key.item()
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"{where or 'object'}: key {key!r} cannot be a JSON key "
                                "(allowed: str or int)")
            name = str(key)
            if name in out:
                raise ValueError(f"{where or 'object'}: keys {key!r} and {name!r} collide in JSON")
            out[name] = _jsonable(value, f"{where}.{name}" if where else name)
        return out
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, (set, frozenset)):
        return sorted(_jsonable(v, where) for v in obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{where or 'object'}: {type(obj).__name__} value {obj!r:.60} cannot be "
                    "written as JSON (allowed: None, bool, int, float, str, list, tuple, dict, "
                    "numpy scalars and arrays, dataclasses)")


def to_json(obj) -> str:
    """``obj`` as the JSON text :func:`write_json` writes (sorted keys, indent 2, final newline)."""
    return json.dumps(_jsonable(obj, ""), sort_keys=True, indent=2, allow_nan=False,
                      ensure_ascii=False) + "\n"


def write_json(path, obj) -> str:
    """Write ``obj`` as JSON to ``path`` atomically (see the module docstring); return ``path``.

    The object is encoded before the file is touched, so a value that JSON cannot hold raises
    :class:`TypeError` naming its key and leaves ``path`` as it was.
    """
    return write_text(path, to_json(obj))


_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _restore_nonfinite(obj):
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, list):
        return [_restore_nonfinite(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _restore_nonfinite(v) for k, v in obj.items()}
    return obj


def read_json(path, nonfinite: bool = True):
    """Read a JSON file; with ``nonfinite`` the strings ``"nan"``, ``"inf"``, ``"-inf"`` become
    floats again (the inverse of :func:`write_json`).

    A file that is not valid JSON (or not UTF-8 text) raises :class:`ValueError` with one line
    naming the file and where it breaks: ``results/learning/meta.json: not valid JSON
    (Expecting value at line 1 column 1)``.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column "
                         f"{exc.colno})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON (not UTF-8 text: byte {exc.start})") from None
    return _restore_nonfinite(obj) if nonfinite else obj


def path_problem(path, folder: bool = False):
    """Why ``path`` cannot be written as a file (``folder=True``: made into, or used as, a
    folder), in a few words naming the part of ``path`` that is in the way; None when it can.

    Looks, without writing anything: an empty path; ``path`` itself a folder where a file is
    wanted (or a file where a folder is wanted); a part of the path above it that is a file,
    not a folder; the nearest existing folder not writable. Folders that do not exist yet are
    fine (they are made when written).
    """
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        return "an empty path"
    target = text.rstrip("/" + (os.altsep or "")) or text
    if os.path.isdir(target):
        if not folder:
            return f"{target} is a folder, not a file"
        parent = target
    elif os.path.lexists(target):
        if folder:
            return f"{target} is a file, not a folder"
        parent = os.path.dirname(target) or "."
    else:
        parent = os.path.dirname(target)
        while parent and not os.path.lexists(parent):
            above = os.path.dirname(parent)
            parent = "" if above == parent else above
        parent = parent or "."
    if not os.path.isdir(parent):
        return f"{parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"no permission to write in {parent}"
    return None
