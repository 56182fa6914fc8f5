"""Generating, caching and importing compiled driver modules: one place for the training
drivers (:mod:`brainlearn.engine.codegen`) and the protocol driver
(:mod:`brainlearn.engine.protocol_driver`).

A generated module imports its rule kernels by name. When every kernel can be imported back
by name, the text is written to the cache directory under a name that hashes the text, the
Numba version and the source files it depends on, and imported from there: Numba's
``cache=True`` then keeps machine code for a second process. A kernel defined in ``__main__``
or a notebook cannot be imported by name: the module is then compiled in memory.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import itertools
import os
import sys
import tempfile
import threading
from functools import lru_cache

import numba

__all__ = ["cache_dir", "importable", "build_module", "cached"]

_LOCK = threading.Lock()
_MEMORY_NAMES = itertools.count()


def cache_dir() -> str:
    """Where generated drivers are written: ``$BRAINLEARN_CACHE_DIR`` or the user cache."""
    root = os.environ.get("BRAINLEARN_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "brainlearn")
    return os.path.join(root, "drivers")


def importable(fn) -> tuple[str, str] | None:
    """(module, name) if ``fn`` can be imported back by name, else None."""
    mod, name = getattr(fn, "__module__", None), getattr(fn, "__name__", None)
    if not mod or not name or mod == "__main__" or "<" in name:
        return None
    try:
        found = getattr(importlib.import_module(mod), name, None)
    except Exception:  # noqa: BLE001 - any import problem means "not importable"
        return None
    return (mod, name) if found is fn else None


@lru_cache(maxsize=None)
def file_digest(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha1(fh.read()).hexdigest()[:12]


def source_digest(fn) -> str:
    """The digest of the file that defines ``fn`` ("nofile" when it has none)."""
    try:
        return file_digest(inspect.getsourcefile(getattr(fn, "py_func", fn)))
    except (TypeError, OSError):
        return "nofile"


def cached(store: dict, key, make):
    """``store[key]``, made by ``make()`` the first time (under one lock for every driver)."""
    with _LOCK:
        value = store.get(key)
        if value is None:
            value = make()
            store[key] = value
    return value


def build_module(prefix, header, body, imports, env, depends=(), memory_lines=""):
    """The module of generated ``body`` (behind ``header``, a format string taking
    ``version``, already filled in by the caller).

    ``imports``: the lines that import the kernels by name, or None when one cannot be
    imported (``env`` then holds the objects, and the module is compiled in memory with
    ``memory_lines`` after its header). ``depends``: source files whose content the compiled
    code depends on (their digests, with those of ``env``'s kernels, name the cached file).
    """
    if imports is not None:
        text = header + "\n".join(imports) + "\n\njit = lambda f: _jit(f, cache=True)\n\n\n" + body
        digests = sorted({source_digest(fn) for fn in env.values()})
        digests += [file_digest(path) for path in depends]
        tag = hashlib.sha1((text + numba.__version__ + "".join(digests)).encode()).hexdigest()[:20]
        mod = _load_file(f"{prefix}_{tag}", text)
        if mod is not None:
            return mod
    # in memory: no disk cache
    text = header + "\njit = lambda f: _jit(f, cache=False)\n" + memory_lines + "\n\n\n" + body
    name = f"{prefix}_mem_{next(_MEMORY_NAMES)}"
    mod = type(sys)(name)
    mod.__dict__.update(env)
    exec(compile(text, f"<brainlearn driver {name}>", "exec"), mod.__dict__)  # noqa: S102
    return mod


def _load_file(name, text):
    """Write ``text`` as module ``name`` in the cache directory (once) and import it; None
    when the cache directory cannot be written."""
    folder = cache_dir()
    path = os.path.join(folder, name + ".py")
    try:
        os.makedirs(folder, exist_ok=True)
        if not os.path.exists(path):
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.replace(tmp, path)  # atomic: concurrent writers produce the same text
    except OSError:
        return None
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules[name] = mod
    return mod
