"""The learning-rule protocol and the rule registry.

A learning rule is three things kept apart (as in optax and Nengo):

* **hyperparameters**: the fields of a frozen dataclass, validated against the
  ranges declared with :func:`hyperparameter`;
* **state**: a NamedTuple of arrays made by :meth:`LearningRule.init_state`,
  owned by the projection and updated in place by the kernel;
* **a compiled kernel** that *adds* the weight change of one sample to ``dW``::

      kernel(W, pre, post, mod, params, state, dt, dW, db)

  ``W`` (n_post, n_pre) is read-only; ``pre`` (n_pre,) and ``post`` (n_post,)
  are activities, ``mod`` (n_post,) the third factor (the error dL/dz for
  rules that need ``"error"``, the reward, 1 or 0 in every entry, for rules that
  need ``"reward"``, zeros otherwise); ``params`` is the NamedTuple
  of numeric hyperparameters cast to ``W``'s dtype (:func:`kernel_params`); ``db``
  (n_post,) receives the bias change (length 0 when this projection does not own the
  bias). An optional ``batch_kernel`` has the same signature with ``pre``, ``post``
  and ``mod`` of shape (batch, n) and adds the *mean* change over the batch;
  without one, the engine calls ``kernel`` once per row.

Rules with slow dynamics of their own (decaying early-phase weights, protein
synthesis, consolidation) also give a ``rest_kernel``::

      rest_kernel(W, params, state, dt, n_steps, dW)

which advances the state through ``n_steps`` steps of ``dt`` seconds in which no
input arrives, adding the total weight change to ``dW`` (called by
:func:`brainlearn.rest`, one compiled call for the whole rest period). Rules that
consolidate at task boundaries (EWC, synaptic intelligence) override
:meth:`LearningRule.end_task`, called by :func:`brainlearn.end_task`.

Every kernel reads the pre-update ``W``; the engine sums the deltas of all rules
and applies them afterwards. What a rule tells the engine about itself (its family,
whether the change of ``W[i, j]`` reads other weights, whether rows are independent,
whether it is a constraint) is one :class:`Tags` object. Faster drivers for particular
rules (affine, segment and reward-segment paths) belong to the engine and are
registered there (:mod:`brainlearn.engine.fastpaths`); a rule never needs one.

The conventions a rule author needs (the meaning and sign of ``mod``, the order of
state and weight updates, ``dt``, what a state field may be) are in the docstring of
:class:`LearningRule` and in ``docs/authoring.md``. The registry: :func:`register`
(refuses a name taken by another rule unless ``replace=True``), :func:`get`,
:func:`available`, :func:`load_plugin` (a file or module of one's own, also for worker
processes through ``$BRAINLEARN_PLUGINS``) and the ``brainlearn.rules`` entry points
(:func:`plugin_errors`).
"""

from __future__ import annotations

import collections
import dataclasses
import importlib
import importlib.util
import inspect
import keyword
import math
import multiprocessing
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from . import _params

__all__ = ["LearningRule", "LocalRule", "GradientRule", "Tags", "hyperparameter", "kernel_params",
           "params_type", "register", "get",
           "available", "make", "plugin_errors", "load_plugin", "PluginWarning", "EmptyState",
           "SIGNALS", "FAMILIES", "PLUGINS_ENV", "dataclass_problem"]

SIGNALS = ("pre", "post", "error", "reward")
FAMILIES = ("gradient", "hebbian", "ltp", "homeostatic", "three-factor", "memory", "custom")

EmptyState = collections.namedtuple("EmptyState", [])


def hyperparameter(default, *, low=None, high=None, low_open=False, high_open=False, doc=""):
    """Declare a hyperparameter field with its valid range.

    ``low``/``high`` bound the value (inclusive unless ``low_open``/``high_open``);
    the range is checked when the rule is constructed and drives the docs.
    """
    meta = {"low": low, "high": high, "low_open": low_open, "high_open": high_open, "doc": doc}
    return field(default=default, metadata=meta)


def _range_text(name, meta) -> str:
    parts = []
    if meta.get("low") is not None:
        parts.append(f"{name} {'>' if meta['low_open'] else '>='} {meta['low']:g}")
    if meta.get("high") is not None:
        parts.append(f"{name} {'<' if meta['high_open'] else '<='} {meta['high']:g}")
    return " and ".join(parts) if parts else f"{name} finite"


_TAG_DOCS = {
    "family": "one of FAMILIES; studies choose their default rules by it",
    "locality": '"local" (reads what the synapse sees) or "nonlocal"',
    "elementwise": "the change of W[i, j] reads no other weight (may accumulate into W)",
    "in_place": "correct with dW being W although not elementwise (reads before it writes)",
    "row_local": "row i's change reads only row i of W and state, pre, post[i], mod[i]",
    "updates_bias": "the kernel writes db",
    "constraint": "edits W itself after the summed deltas (its kernel gets W as dW)",
    "feedback": 'how error crosses the projection: "transpose", "random" or "direct"',
    "lateral": "meant for a population-to-itself projection",
    "output_only": "a supervised local rule that belongs on a projection into the output",
    "unstable": "may diverge by design (plain Hebb): no long-run finiteness check",
    "state_uses_network": "init_state reads the rest of the network",
    "online_equals_batch1": "online training equals minibatches of one",
    "spike_counts": "the kernel reads pre/post as spike counts per step, so bl.simulate may "
                    "run it clock-driven on a spiking projection",
    "reads_voltage": "a spiking rule that reads the postsynaptic membrane potential (its "
                     "on_step kernel; mod holds it in volts for the clock-driven kernel): it "
                     "runs only on spiking projections, under bl.simulate",
}


@dataclass(frozen=True)
class Tags:
    """What a rule tells the engine, the studies and the conformance checks about itself.

    Every field has a default; a rule class sets only those that differ, as a dict that
    is merged over its parent's tags (``tags = dict(row_local=True)``), or as a full
    ``Tags(...)``. The model is scikit-learn's estimator tags.

    Fields
    ------
    """

    family: str = "custom"
    locality: str = "local"
    elementwise: bool = False
    in_place: bool = False
    row_local: bool = False
    updates_bias: bool = False
    constraint: bool = False
    feedback: str = "transpose"
    lateral: bool = False
    output_only: bool = False
    unstable: bool = False
    state_uses_network: bool = False
    online_equals_batch1: bool = True
    spike_counts: bool = False
    reads_voltage: bool = False

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"tags: family={self.family!r}; allowed: {', '.join(FAMILIES)}")
        if self.locality not in ("local", "nonlocal"):
            raise ValueError(f"tags: locality={self.locality!r}; allowed: local, nonlocal")
        if self.feedback not in ("transpose", "random", "direct"):
            raise ValueError(f"tags: feedback={self.feedback!r}; allowed: transpose, random, "
                             "direct")
        for f in dataclasses.fields(self):
            if f.type == "bool" and not isinstance(getattr(self, f.name), (bool, np.bool_)):
                raise TypeError(f"tags: {f.name}={getattr(self, f.name)!r} must be True or False")


if Tags.__doc__ is not None:  # None under python -OO
    Tags.__doc__ += "".join(f"    {k}\n        {v}\n" for k, v in _TAG_DOCS.items())

_TAG_NAMES = frozenset(f.name for f in dataclasses.fields(Tags))
#: the optional kernels a rule class may set (compiled functions, kept plain, not bound)
_KERNELS = ("kernel", "batch_kernel", "rest_kernel", "numpy_twin")
#: class attributes that used to be on the rule and now live in the engine's fast-path registry
_MOVED_TO_ENGINE = ("affine_kernel", "direction_kernel", "input_state", "segment_kernel",
                    "reward_segment_kernel")


@dataclass(frozen=True)
class LearningRule:
    r"""Base class of every learning rule: hyperparameters, state and a compiled kernel.

    Write a rule as (the guide is ``docs/authoring.md``)::

        @register("my_rule")                    # outermost: registers the dataclass
        @dataclass(frozen=True, repr=False)     # required: else the fields are no hyperparameters
        class MyRule(LocalRule):
            "One-line summary, then a blank line and the details (numpydoc)."

            lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")

            summary = "what it does, in one line"
            equation = r"\Delta w_{ij} = \eta\, y_i x_j"
            reference = "Author Year, Journal vol:page"
            tags = dict(elementwise=True, row_local=True)   # only what differs (see Tags)
            kernel = _my_rule_delta             # a numba.njit function

    Set class attributes without annotations (an annotated one is a hyperparameter).
    Methods to override: :meth:`init_state`, :meth:`end_task`. Faster drivers for a
    rule are the engine's business (``brainlearn.engine.fastpaths.register_fast_path``).

    Attributes
    ----------
    name : str
        Set by :func:`register`; do not set it yourself.
    needs : frozenset of str
        The signals the kernel reads, from ``SIGNALS``: pre, post, and at most one third
        factor, ``error`` or ``reward``. Without one, ``mod`` is all zeros.
    summary, equation, reference : str
        One line, the update as LaTeX (no ``$``), the source. Required.
    tags : Tags
        Family, locality and behaviour flags; give a dict of what differs from the parent.
    kernel : numba dispatcher
        ``kernel(W, pre, post, mod, params, state, dt, dW, db)`` *adds* the change of one
        presentation to ``dW`` (and ``db``), reads ``W`` without writing it, advances
        ``state`` in place. Required.
    batch_kernel : numba dispatcher or None
        The same with ``pre``, ``post``, ``mod`` of shape (batch, n), adding the mean change.
    rest_kernel : numba dispatcher or None
        ``rest_kernel(W, params, state, dt, n_steps, dW)``: the state's own dynamics over
        ``n_steps`` steps without input (:func:`brainlearn.rest`).
    numpy_twin : callable or None
        ``numpy_twin(rule, W, pre, post, mod, state, dt) -> (dW, db)``, a NumPy reference
        that ``check_rule`` compares the kernel with.

    Notes
    -----
    ``mod`` is ``dL/dz`` of the postsynaptic units with ``"error"`` (gradient descent is
    ``dW = -lr * outer(mod, pre)``). With ``"reward"`` it is 1.0 when this sample's output
    was correct and 0.0 otherwise, in every entry, with no baseline subtracted: a rule
    ``lr * R * outer(y, x)`` on non-negative activities only grows weights and collapses
    onto one class; subtract a running baseline kept in the state. ``params`` is the
    NamedTuple of the numeric hyperparameters cast to ``W.dtype``. Every state field is an
    array of ``W.dtype`` (a scalar has shape ``(1,)``). ``dt`` is the simulated seconds
    of a presentation: write decays as ``exp(-dt / tau)``, not ``dt / tau``. Whether a
    rule moves its state before or after it reads it is its choice; every kernel of the
    rule and its twin use the same order.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[frozenset] = frozenset({"pre", "post"})
    summary: ClassVar[str] = ""
    equation: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    tags: ClassVar[Tags] = Tags()
    kernel: ClassVar = None
    batch_kernel: ClassVar = None
    rest_kernel: ClassVar = None
    numpy_twin: ClassVar = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Compiled dispatchers bind like methods when read through an instance; keep them plain.
        for attr in _KERNELS:
            val = cls.__dict__.get(attr)
            if val is not None and not isinstance(val, staticmethod):
                setattr(cls, attr, staticmethod(val))
        moved = [a for a in _MOVED_TO_ENGINE if a in cls.__dict__]
        if moved:
            raise TypeError(f"{cls.__name__}.{moved[0]}: fast paths are registered with the "
                            "engine now: brainlearn.engine.fastpaths.register_fast_path("
                            f"{cls.__name__}, ...) (see docs/authoring.md)")
        base = next((b.tags for b in cls.__mro__[1:] if isinstance(getattr(b, "tags", None), Tags)),
                    Tags())
        own = cls.__dict__.get("tags", {})
        if isinstance(own, dict):
            unknown = set(own) - _TAG_NAMES
            if unknown:
                raise TypeError(f"{cls.__name__}.tags has unknown tag(s) {sorted(unknown)}; "
                                f"allowed: {', '.join(sorted(_TAG_NAMES))}")
        elif not isinstance(own, Tags):
            raise TypeError(f"{cls.__name__}.tags={own!r}; allowed: a dict of tags or a Tags")
        # the old spelling, a flag as a class attribute (row_local = True), still works
        legacy = {k: cls.__dict__[k] for k in _TAG_NAMES if k in cls.__dict__}
        if legacy:
            warnings.warn(f"{cls.__name__}: {', '.join(f'{k} = {v!r}' for k, v in legacy.items())}"
                          f" as class attribute(s) are tags now; write tags = dict("
                          f"{', '.join(f'{k}={v!r}' for k, v in legacy.items())})",
                          DeprecationWarning, stacklevel=2)
            for k in legacy:
                delattr(cls, k)
        try:
            cls.tags = own if isinstance(own, Tags) and not legacy else \
                dataclasses.replace(base if not isinstance(own, Tags) else own,
                                    **(own if isinstance(own, dict) else {}), **legacy)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{cls.__name__}.{exc}") from None
        unknown = set(cls.needs) - set(SIGNALS)
        if unknown:
            raise TypeError(f"{cls.__name__}.needs has unknown signals {sorted(unknown)}; "
                            f"allowed: {', '.join(SIGNALS)}")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if not meta:
                continue
            label = f"{type(self).__name__}: {f.name}={value!r}"
            if isinstance(f.default, bool):
                if not isinstance(value, (bool, np.bool_)):
                    raise TypeError(f"{label} must be True or False")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"{label} must be a real number")
            if not math.isfinite(value):
                raise ValueError(f"{label} is not finite; allowed: {_range_text(f.name, meta)}")
            if isinstance(f.default, int) and value != int(value):
                raise TypeError(f"{label} must be an integer")
            lo, hi = meta.get("low"), meta.get("high")
            if (lo is not None and (value < lo or (meta["low_open"] and value == lo))) or \
               (hi is not None and (value > hi or (meta["high_open"] and value == hi))):
                raise ValueError(f"{label} is out of range; allowed: {_range_text(f.name, meta)}")

    def init_state(self, projection, rng) -> tuple:
        """Fresh state (a NamedTuple of arrays of ``projection.W.dtype``) for ``projection``.

        ``rng`` is a Generator derived from the network seed and the projection, for
        rules whose state is random (e.g. fixed feedback weights).
        """
        return EmptyState()

    def end_task(self, projection, state) -> tuple:
        """Called by :func:`brainlearn.end_task` when a task ends; returns the new state.

        The default keeps ``state``. Consolidation rules for gradient learning (EWC,
        synaptic intelligence) override it to anchor the current weights and their
        importance. ``projection.W`` holds the weights at the end of the task.
        """
        return state

    def get_params(self) -> dict:
        """Hyperparameters as a dict (exactly the constructor's keyword arguments)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def params_type(cls):
    """The NamedTuple class of the numeric hyperparameters of the rule class ``cls``: what
    its kernels receive as ``params``."""
    nt = cls.__dict__.get("_Params")
    if nt is None:
        # shared by every rule with the same field names, and importable by name from any
        # process (see brainlearn.rules._params): kernels cached on disk stay readable
        # whatever module the rule class was defined in
        names = [f.name for f in dataclasses.fields(cls) if _is_numeric_field(f)]
        nt = _params.params_type(names)
        cls._Params = nt
    return nt


def kernel_params(rule, dtype) -> tuple:
    """The ``params`` a kernel of ``rule`` receives: its numeric hyperparameters as a
    NamedTuple, floats cast to ``dtype`` (booleans and integers kept)."""
    dtype = np.dtype(dtype)
    nt = params_type(type(rule))
    vals = []
    for name in nt._fields:
        v = getattr(rule, name)
        if isinstance(v, (bool, np.bool_)):
            vals.append(bool(v))
        elif isinstance(v, (int, np.integer)) and isinstance(rule.__dataclass_fields__[name].default, int):
            vals.append(int(v))
        else:
            vals.append(dtype.type(v))
    return nt(*vals)


def _is_numeric_field(f) -> bool:
    return isinstance(f.default, (bool, int, float)) and not isinstance(f.default, str)


class LocalRule(LearningRule):
    """A rule that reads only signals available at the synapse (pre, post, a broadcast factor)."""

    tags = dict(family="hebbian", locality="local")


class GradientRule(LearningRule):
    """A rule that follows (an estimate of) the loss gradient through the error signal."""

    tags = dict(family="gradient", locality="nonlocal")
    needs: ClassVar[frozenset] = frozenset({"pre", "post", "error"})


# -- registry ----------------------------------------------------------------------------------
_REGISTRY: dict[str, type] = {}
_PLUGIN_ERRORS: dict[str, str] = {}
_ENTRY_POINT_GROUP = "brainlearn.rules"
_entry_points_loaded = False
#: the environment variable listing plug-in files and modules (separated by ``os.pathsep``)
#: that every process imports before it looks a rule up; :func:`load_plugin` adds to it, so
#: worker processes started afterwards (``--workers``) import the same plug-ins
PLUGINS_ENV = "BRAINLEARN_PLUGINS"


class PluginWarning(UserWarning):
    """A rule plug-in (an entry point, or a file or module in ``$BRAINLEARN_PLUGINS``) failed
    to load. The message is one line: the plug-in, what it points at, and the error."""


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _source_file(cls):
    """The real path of the file the module of ``cls`` was loaded from, or None."""
    path = getattr(sys.modules.get(cls.__module__), "__file__", None)
    return os.path.realpath(path) if path else None


def _describe(cls) -> str:
    """``module.QualName`` of a rule class, with its file when that is not a module's."""
    text = f"{cls.__module__}.{cls.__qualname__}"
    path = _source_file(cls)
    if cls.__module__ in ("__main__", "__mp_main__") and path:
        text += f" (defined in {os.path.basename(path)})"
    return text


def _same_definition(a, b) -> bool:
    """Whether two classes come from one class statement: the same qualified name in the same
    module (the module ran again: reloaded, a notebook cell run again), or in the same file
    imported under two module names (a script that is also imported by name)."""
    if a.__qualname__ != b.__qualname__:
        return False
    if a.__module__ == b.__module__:
        return True
    fa = _source_file(a)
    return fa is not None and fa == _source_file(b)


def dataclass_problem(cls):
    """Why the rule class ``cls`` is not the frozen dataclass a rule must be, or None.

    A subclass that is not decorated inherits its parent's dataclass fields, which is
    fine as long as it declares no field of its own; a field it declares without
    ``@dataclass`` is a plain class attribute, never a hyperparameter, and the kernel
    would not find it in ``params``.
    """
    own = cls.__dict__
    if "__dataclass_fields__" in own:
        params = own.get("__dataclass_params__")
        if params is not None and not params.frozen:
            return (f"rule {cls.__name__} is a dataclass but not frozen; decorate it with "
                    "@dataclass(frozen=True, repr=False)")
        return None
    stray = [k for k, v in own.items() if isinstance(v, dataclasses.Field)]
    for k, ann in inspect.get_annotations(cls).items():
        if "ClassVar" not in str(ann) and k not in stray:
            stray.append(k)
    if not stray:
        return None
    return (f"rule {cls.__name__} is not a dataclass, so {', '.join(map(repr, stray))} "
            f"{'is a plain class attribute' if len(stray) == 1 else 'are plain class attributes'}"
            ", not a hyperparameter; decorate the class with @dataclass(frozen=True, repr=False) "
            "(from dataclasses), below @register(...)")


def _check_rule_class(cls, where):
    if not (isinstance(cls, type) and issubclass(cls, LearningRule)):
        raise TypeError(f"{where} needs a LearningRule subclass, got {cls!r}")
    problem = dataclass_problem(cls)
    if problem:
        raise TypeError(f"{where}: {problem}")
    if cls.kernel is None:
        raise TypeError(f"{where}: rule {cls.__name__} has no kernel; set kernel = a "
                        "numba.njit function (see help(brainlearn.rules.LearningRule))")


def register(name: str, *, replace: bool = False):
    """Class decorator: register a rule class under ``name``.

    Parameters
    ----------
    name : str
        A lower-case identifier; it becomes the class's ``name``.
    replace : bool
        Replace a different rule already registered under ``name`` (a built-in one, say).
        Without it, that raises ``ValueError`` naming the registered rule.

    Returns
    -------
    callable
        The decorator. It checks the class (a ``LearningRule`` subclass, a frozen
        dataclass when it declares fields, with a ``kernel``) and returns the registered
        class.

    Notes
    -----
    A name may be registered again by the same class statement without ``replace``:

    * from the same module and qualified name (``importlib.reload``, a notebook cell
      run again): the newer class replaces the older one;
    * from the same file imported under another module name (a script that is also
      imported by name, through an entry point, ``--plugin`` or a worker process): the
      class registered first stays registered and the decorator returns it, so both
      module names refer to one rule class.
    """
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ValueError(f"rule name {name!r} is not allowed; allowed: a lower-case identifier "
                         "such as 'my_rule'")
    if not isinstance(replace, (bool, np.bool_)):
        raise TypeError(f"replace={replace!r}; allowed: True or False")

    def deco(cls):
        _check_rule_class(cls, f"register({name!r})")
        old = _REGISTRY.get(name)
        if old is not None and old is not cls and not replace:
            if not _same_definition(old, cls):
                raise ValueError(
                    f"register({name!r}): the name is taken by the rule {_describe(old)}; "
                    f"choose another name, or register({name!r}, replace=True) to replace it")
            if old.__module__ != cls.__module__:
                return old  # one file imported twice: one rule (see the notes)
        cls.name = name
        params_type(cls)
        _REGISTRY[name] = cls
        return cls

    return deco


# -- plug-ins --------------------------------------------------------------------------------------
class _PluginProblem(Exception):
    """A plug-in file or module cannot be loaded; the message says why (one line)."""


def _loaded_from(path):
    """The module already imported from the file ``path`` (e.g. the running script), or None."""
    base = os.path.basename(path)
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if isinstance(f, str) and os.path.basename(f) == base and os.path.realpath(f) == path:
            return mod
    return None


def _import_file(spec):
    path = os.path.realpath(spec)
    if not os.path.isfile(path):
        raise _PluginProblem("no such file; allowed: a Python file or an importable module name")
    mod = _loaded_from(path)
    if mod is not None:
        return mod, path
    name = os.path.splitext(os.path.basename(path))[0]
    if not name.isidentifier() or keyword.iskeyword(name):
        raise _PluginProblem(
            f"the file name must be a Python identifier (e.g. {_identifier(name)}.py): the "
            "engine imports rule kernels by module name")
    if name in sys.modules:
        raise _PluginProblem(f"a different module {name!r} is already imported (from "
                             f"{getattr(sys.modules[name], '__file__', None) or 'no file'}); "
                             "rename the file")
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        found = None
    if found is not None and found.origin and os.path.realpath(found.origin) == path:
        return _import_module(name), path
    if found is not None:
        raise _PluginProblem(f"its module name {name!r} is that of another module "
                             f"({found.origin}); rename the file")
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None:
        raise _PluginProblem("not a Python file; allowed: a Python file or an importable "
                             "module name")
    mod = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = mod  # before it runs: its kernels are imported back by this name
    try:
        loader_spec.loader.exec_module(mod)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, Exception):
            raise _PluginProblem(f"importing it raised {type(exc).__name__}: {_one_line(exc)}") \
                from exc
        raise
    return mod, path


def _identifier(text) -> str:
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in text)
    return out if out.isidentifier() else f"_{out}"


def _import_module(name):
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise _PluginProblem("no such module or file; allowed: a Python file (.py) or an "
                             "importable module name")
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any error in the plug-in's code
        raise _PluginProblem(f"importing it raised {type(exc).__name__}: {_one_line(exc)}") \
            from exc


def _import_plugin(spec):
    """``(module, key)`` of the plug-in ``spec`` (a file path or a module name), imported once;
    ``key`` is what goes into ``$BRAINLEARN_PLUGINS`` (a file's real path, or the name)."""
    if not isinstance(spec, str) or not spec.strip():
        raise _PluginProblem("allowed: a Python file (.py) or an importable module name")
    spec = spec.strip()
    if spec.endswith(".py") or os.sep in spec or (os.altsep and os.altsep in spec) \
            or os.path.isfile(spec):
        return _import_file(spec)
    return _import_module(spec), spec


def _env_plugins() -> list:
    return [s for s in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if s.strip()]


def load_plugin(plugin):
    """Import a Python file or module that registers rules; return the module.

    The rules it registers (with :func:`register`) are then available by name, to
    ``net.connect(..., rule="my_rule")`` and to the studies. The command line's
    ``--plugin FILE_OR_MODULE`` calls this.

    Parameters
    ----------
    plugin : str
        A path to a Python file (``my_rules.py``) or the name of an importable module
        (``my_package.rules``). A file is imported as the module named after it
        (``my_rules``), once: a file already imported (the running script, say) is not
        imported again. Its name must be a Python identifier, and must not be that of
        another module.

    Returns
    -------
    module

    Raises
    ------
    ValueError
        ``plugin`` names no file or importable module, or a file whose name cannot be
        a module name.
    ImportError
        Importing it raised; the message gives the error (the original is chained).

    Notes
    -----
    The plug-in is also added to the environment variable ``BRAINLEARN_PLUGINS``
    (paths and module names separated by ``os.pathsep``), which every process imports
    before it looks a rule up: worker processes started afterwards (``workers=N``,
    ``--workers N``) find the same rules. Setting the variable yourself does the same.
    Dask workers on other machines do not see it: install such a rule as a package
    with an entry point there.
    """
    try:
        module, key = _import_plugin(plugin)
    except _PluginProblem as exc:
        kind = ImportError if isinstance(exc.__cause__, Exception) else ValueError
        error = kind(f"plugin={plugin!r}: {exc}")
        error.reason = str(exc)  # the message without the argument (the CLI names its option)
        raise error from exc.__cause__
    known = _env_plugins()
    if key not in known:
        os.environ[PLUGINS_ENV] = os.pathsep.join(known + [key])
    return module


def _warn(message):
    # a worker process (started by multiprocessing: --workers, Dask) stays quiet: the process
    # that started it has reported the same plug-ins already
    if multiprocessing.parent_process() is not None:
        return
    warnings.warn(message, PluginWarning, stacklevel=5)


def _plugin_failed(key, target, error):
    _PLUGIN_ERRORS[key] = error
    where = f" ({target})" if target and target != key else ""
    _warn(f"rule plug-in {key!r}{where} failed to load: {error}")


def _entry_point_is(cls, ep) -> bool:
    """Whether the entry point ``ep`` names the class statement of ``cls`` (its file and
    qualified name), e.g. the running script's own rule: then it need not be imported."""
    module, _, attr = ep.value.partition(":")
    if attr.strip() != cls.__qualname__:
        return False
    path = _source_file(cls)
    if path is None:
        return False
    try:
        found = importlib.util.find_spec(module.strip())
    except Exception:  # noqa: BLE001 - a module that cannot be found is not this one
        return False
    return found is not None and bool(found.origin) and os.path.realpath(found.origin) == path


def _load_entry_points():
    """Import the plug-ins listed in ``$BRAINLEARN_PLUGINS``, then the third-party rules
    declared in the ``brainlearn.rules`` entry-point group, once per process.

    A plug-in that fails to load is recorded (see :func:`plugin_errors`) and reported
    with a one-line :class:`PluginWarning` naming it (not in worker processes, whose
    parent reports it); the other rules stay usable. An entry point whose rule is
    already registered (its module was imported first and registered it) is not an
    error; one whose name is taken by another rule is.
    """
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for spec in _env_plugins():
        try:
            _import_plugin(spec)
        except _PluginProblem as exc:
            _plugin_failed(spec, None, str(exc))
    try:
        eps = entry_points(group=_ENTRY_POINT_GROUP)
    except Exception as exc:  # noqa: BLE001 - broken metadata must not break brainlearn
        _warn(f"could not read the {_ENTRY_POINT_GROUP!r} entry points: {_one_line(exc)}")
        return
    for ep in eps:
        old = _REGISTRY.get(ep.name)
        try:
            if old is not None and _entry_point_is(old, ep):
                continue  # this rule, registered already (e.g. by the running script)
            obj = ep.load()
            if not (isinstance(obj, type) and issubclass(obj, LearningRule)):
                raise TypeError(f"the entry point gives {obj!r}, not a LearningRule subclass")
            old = _REGISTRY.get(ep.name)
            if old is not None and old is not obj and not _same_definition(old, obj):
                _plugin_failed(ep.name, ep.value, f"the name is taken by the rule {_describe(old)}")
                continue
            register(ep.name)(obj)
        except Exception as exc:  # noqa: BLE001
            _plugin_failed(ep.name, ep.value, f"{type(exc).__name__}: {_one_line(exc)}")


def plugin_errors() -> dict:
    """Plug-ins that failed to load: ``{entry point name or $BRAINLEARN_PLUGINS entry: error}``."""
    _load_entry_points()
    return dict(_PLUGIN_ERRORS)


def available() -> list[str]:
    """Registered rule names (built-in, registered in this process, and plug-ins), sorted."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get(name: str) -> type:
    """The rule class registered as ``name``."""
    if isinstance(name, str) and name not in _REGISTRY:
        _load_entry_points()
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    if name in _PLUGIN_ERRORS:
        hint = f" (plug-in failed to load: {_PLUGIN_ERRORS[name]})"
    else:  # a rule defined in a file of one's own must be imported first
        hint = " (a rule in a file of your own: load it with --plugin FILE or " \
               "bl.rules.load_plugin(FILE))"
    raise ValueError(f"rule={name!r} is not a registered rule{hint}; available: "
                     f"{', '.join(available())}")


def make(rule, **params):
    """A rule instance from a name, a class or an instance (``None`` stays ``None``)."""
    if rule is None:
        if params:
            raise ValueError(f"rule parameters {sorted(params)} given without a rule")
        return None
    if isinstance(rule, LearningRule) or hasattr(rule, "rules"):  # an instance or a Chain
        if params:
            raise ValueError(f"rule parameters {sorted(params)} given with a rule instance "
                             f"{rule!r}; set them on the instance")
        return rule
    if isinstance(rule, type) and issubclass(rule, LearningRule):
        cls = rule
    elif isinstance(rule, str):
        cls = get(rule)
    else:
        raise TypeError(f"rule={rule!r} must be a rule name, a LearningRule class or instance, "
                        "or a chain")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(params) - names
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(sorted(unknown))} for rule "
                         f"{cls.name or cls.__name__!r}; allowed: {', '.join(sorted(names)) or 'none'}")
    return cls(**params)
