"""Saving and loading networks without pickle: arrays in an .npz, topology as JSON."""

from __future__ import annotations

import json
import os
import zipfile
import zlib

import numpy as np

from .. import rules as _rules
from ._save import _FORMAT, save  # noqa: F401
from .core import Network

__all__ = ["save", "load"]

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
            fresh = proj.term_states()
            loaded = [type(st)(*[np.ascontiguousarray(arrays[f"state/{q['name']}/{k}/{f}"])
                                 if f in fields else getattr(st, f) for f in st._fields])
                      for k, (st, fields) in enumerate(zip(fresh, q["state_terms"]))]
            proj.states = tuple(loaded)
    for proj in net.projections:  # the loaded state belongs to the final structure
        proj._state_version = net._version
    return net
