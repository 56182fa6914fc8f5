"""Saving and loading networks without pickle: arrays in an .npz, topology as JSON."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from .. import rules as _rules
from .._version import __version__
from .core import Network

__all__ = ["save", "load"]

_FORMAT = 1


def _describe(net) -> dict:
    return {
        "format": _FORMAT,
        "brainlearn": __version__,
        "seed": net.seed,
        "dtype": net.dtype.name,
        "populations": [{"name": p.name, "size": p.size, "activation": p.activation}
                        for p in net.populations],
        "projections": [{
            "name": q.name, "pre": q.pre.name, "post": q.post.name,
            "rule": None if q.rule is None else q.rule.name or type(q.rule).__name__,
            "rule_params": None if q.rule is None else q.rule.get_params(),
            "bounds": None if q.bounds is None else list(q.bounds),
            "has_mask": q.mask is not None,
            "state_fields": [] if q.state is None else list(getattr(q.state, "_fields", [])),
        } for q in net.projections],
    }


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
        if q.state is not None:
            for f in getattr(q.state, "_fields", []):
                arrays[f"state/{q.name}/{f}"] = getattr(q.state, f)
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


def load(path) -> Network:
    """Read a network written by :func:`save` (or ``Network.save``)."""
    path = os.fspath(path)
    with np.load(path, allow_pickle=False) as z:
        if "__topology__" not in z.files:
            raise ValueError(f"{path!r} is not a brainlearn network file (no topology)")
        topo = json.loads(z["__topology__"].tobytes().decode())
        if topo.get("format") != _FORMAT:
            raise ValueError(f"{path!r} has network format {topo.get('format')!r}; this version "
                             f"reads format {_FORMAT}")
        arrays = {k: z[k] for k in z.files}
    net = Network(seed=topo["seed"], dtype=topo["dtype"])
    pops = {}
    for p in topo["populations"]:
        if p["activation"] == "input":
            pops[p["name"]] = net.add_input(p["size"], name=p["name"])
        else:
            pops[p["name"]] = net.add_population(p["size"], activation=p["activation"],
                                                 bias=arrays[f"bias/{p['name']}"], name=p["name"])
    for q in topo["projections"]:
        rule = None
        if q["rule"] is not None:
            rule = _rules.make(q["rule"], **q["rule_params"])
        proj = net.connect(pops[q["pre"]], pops[q["post"]], rule=rule, init=arrays[f"W/{q['name']}"],
                           mask=arrays.get(f"mask/{q['name']}"), bounds=q["bounds"], name=q["name"])
        if q["state_fields"]:
            st = proj.state
            proj.state = type(st)(*[np.ascontiguousarray(arrays[f"state/{q['name']}/{f}"])
                                    for f in q["state_fields"]])
    return net
