"""Saving and loading networks without pickle: arrays in an .npz, topology as JSON."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from .. import rules as _rules
from .._version import __version__
from .core import Network

__all__ = ["save", "load"]

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


def _is_chain(rule):
    return getattr(rule, "rules", None) is not None


def _state_list(proj):
    """The rule states of a projection as a list (one per rule of a chain)."""
    if proj.state is None:
        return []
    return list(proj.state) if _is_chain(proj.rule) else [proj.state]


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
        for k, st in enumerate(_state_list(q)):
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


def _read(path):
    """(topology, arrays) of a network file; ValueError naming the file for anything else."""
    def refuse(why):
        return ValueError(f"{path!r} is not a brainlearn network file ({why})")

    try:
        z = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise  # the file cannot be opened: say so, not what it contains
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        # NumPy reads an unknown file as a pickle and refuses it with advice about
        # allow_pickle, which would mislead here: say what the file is not instead
        raise refuse("not an .npz archive of arrays") from exc
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise refuse("a single array, not an .npz archive")
    with z:
        if "__topology__" not in z.files:
            raise refuse("no topology")
        try:
            topo = json.loads(z["__topology__"].tobytes().decode())
            arrays = {k: z[k] for k in z.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise refuse(f"unreadable content: {type(exc).__name__}") from exc
    if not isinstance(topo, dict):
        raise refuse("the topology is not a JSON object")
    if topo.get("format") != _FORMAT:
        raise ValueError(f"{path!r} has network format {topo.get('format')!r}; this version "
                         f"reads format {_FORMAT}")
    missing = [k for k in ("seed", "dtype", "populations", "projections") if k not in topo]
    if missing:
        raise refuse(f"the topology lacks {', '.join(missing)}")
    return topo, arrays


def load(path) -> Network:
    """Read a network written by :func:`save` (or ``Network.save``).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a brainlearn network file (the message names it), or was written
        in another format version.
    """
    path = os.fspath(path)
    topo, arrays = _read(path)
    net = Network(seed=topo["seed"], dtype=topo["dtype"])
    pops = {}
    for p in topo["populations"]:
        if p["activation"] == "input":
            pops[p["name"]] = net.add_input(p["size"], name=p["name"])
        else:
            pops[p["name"]] = net.add_population(p["size"], activation=p["activation"],
                                                 bias=arrays[f"bias/{p['name']}"], name=p["name"],
                                                 settle_steps=p.get("settle_steps", 10))
    for q in topo["projections"]:
        rule = None
        if q["rule"] == "chain":
            rule = _rules.chain(*[_rules.make(r["rule"], **r["params"])
                                  for r in q["rule_params"]["rules"]])
        elif q["rule"] is not None:
            rule = _rules.make(q["rule"], **q["rule_params"])
        proj = net.connect(pops[q["pre"]], pops[q["post"]], rule=rule, init=arrays[f"W/{q['name']}"],
                           mask=arrays.get(f"mask/{q['name']}"), bounds=q["bounds"], name=q["name"])
        if rule is not None:
            # a field the file lacks (the rule gained state since the file was saved) keeps
            # its fresh value
            fresh = _state_list(proj)
            loaded = [type(st)(*[np.ascontiguousarray(arrays[f"state/{q['name']}/{k}/{f}"])
                                 if f in fields else getattr(st, f) for f in st._fields])
                      for k, (st, fields) in enumerate(zip(fresh, q["state_terms"]))]
            proj.state = tuple(loaded) if _is_chain(rule) else loaded[0]
    for proj in net.projections:  # the loaded state belongs to the final structure
        proj._state_version = net._version
    return net
