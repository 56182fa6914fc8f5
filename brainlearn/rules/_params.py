"""The NamedTuple types of rule hyperparameters: one per tuple of field names, importable
by name from any process.

A rule's kernel receives its numeric hyperparameters as a NamedTuple, and a kernel
cached on disk records that type by module and name. A type made in a script, a
notebook or a test module (a subclass of a built-in rule, say) could not be imported by
the next process that reads the cache index of a library kernel compiled with it, and
Numba fails on the whole index. So the types live here, named after their fields
(``Params_2_lr5_decay`` for ``(lr, decay)``: each name preceded by its length), and
the module rebuilds any of them from its name on first access.
"""

from __future__ import annotations

import collections
import threading

_LOCK = threading.Lock()


def _name(fields) -> str:
    return "Params_" + "".join(f"{len(f)}_{f}" for f in fields)


def _fields(name: str) -> tuple:
    rest = name[len("Params_"):]
    out = []
    while rest:
        size, sep, rest = rest.partition("_")
        if not (size.isdigit() and sep) or int(size) > len(rest):
            raise AttributeError(f"{name!r} does not name a hyperparameter type")
        out.append(rest[:int(size)])
        rest = rest[int(size):]
    return tuple(out)


def params_type(fields):
    """The NamedTuple class with these field names (the same class for the same names)."""
    fields = tuple(fields)
    name = _name(fields)
    with _LOCK:
        nt = globals().get(name)
        if nt is None:
            nt = collections.namedtuple(name, fields)
            nt.__module__ = __name__
            globals()[name] = nt
    return nt


def __getattr__(name):
    if name.startswith("Params_"):
        return params_type(_fields(name))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
