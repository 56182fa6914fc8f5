"""Writing a network file: arrays in an .npz, topology as JSON (:func:`save`; read by
:func:`brainlearn.network.io.load`). Apart from :mod:`~brainlearn.network.io` so that
``Network.save`` needs no module that imports :class:`~brainlearn.network.Network`."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from .._version import __version__

__all__ = ["save"]

_FORMAT = 2


def _describe(net) -> dict:
    return {
        "format": _FORMAT,
        "brainlearn": __version__,
        "seed": net.seed,
        "dtype": net.dtype.name,
        "populations": [{"name": p.name, "size": p.size, "activation": p.activation,
                         "settle_steps": p.settle_steps} for p in net.populations],
        "projections": [{
            "name": q.name, "pre": q.pre.name, "post": q.post.name,
            "rule": None if q.rule is None else q.rule.name or type(q.rule).__name__,
            "rule_params": None if q.rule is None else q.rule.get_params(),
            "state_terms": _state_terms(q.state) if q.rule is not None else [],
            "bounds": None if q.bounds is None else list(q.bounds),
            "has_mask": q.mask is not None,
        } for q in net.projections],
    }


def _state_terms(state):
    states = list(state) if isinstance(state, tuple) and not hasattr(state, "_fields") else [state]
    return [list(getattr(s, "_fields", [])) for s in states]


def save(net, path) -> None:
    """Write ``net`` to ``path`` (``.npz``) atomically: topology as JSON, arrays as arrays.

    Rules are stored by registered name and hyperparameters, so a network using a
    plug-in rule loads wherever that rule is registered.
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    arrays = {"__topology__": np.frombuffer(json.dumps(_describe(net)).encode(), dtype=np.uint8)}
    for p in net.populations:
        if not p.is_input:
            arrays[f"bias/{p.name}"] = p.bias
    for q in net.projections:
        arrays[f"W/{q.name}"] = q.W
        if q.mask is not None:
            arrays[f"mask/{q.name}"] = q.mask
        for k, st in enumerate(q.term_states()):
            for f in st._fields:
                arrays[f"state/{q.name}/{k}/{f}"] = getattr(st, f)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
