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
  rules that need ``"error"``, zeros otherwise); ``params`` is the NamedTuple
  of numeric hyperparameters cast to ``W``'s dtype; ``db`` (n_post,) receives
  the bias change (length 0 when this projection does not own the bias).
  An optional ``batch_kernel`` has the same signature with ``pre``, ``post``
  and ``mod`` of shape (batch, n) and adds the *mean* change over the batch;
  without one, the engine calls ``kernel`` once per row.

Rules whose change of row i is ``alpha_i W_i + beta_i x`` (an affine map of the row
plus a multiple of the input: Hebb, Oja, BCM, weight decay) may also give an
``affine_kernel``::

      affine_kernel(pre, post, params, state, dt, alpha, beta)

that adds their ``alpha`` and ``beta`` (n_post,) for one sample and updates the
state exactly as ``kernel`` does. A rule whose rows move along a direction ``d``
other than ``x`` that depends only on the inputs (the covariance rule's
``x - <x>``) also gives a ``direction_kernel``::

      direction_kernel(pre, params, state, dt, d)

that writes ``d`` for one sample and advances the input-side state (the rest of the
state stays with ``affine_kernel``); the engine calls it for the samples in order
before their ``affine_kernel`` calls. Such a rule names its input-side state fields in
``input_state``; when every other field has one row per postsynaptic unit, the block
driver may run ranges of rows on threads (the directions are made once, before). The engine then runs online learning of a
single projection block by block through matrix products (see
:mod:`brainlearn.engine.codegen`), with the same result as sample by sample.

A ``row_local`` rule that reads only ``pre`` and ``post`` may also give a
``segment_kernel``::

      segment_kernel(W, b, X, act, params, state, dt) -> int

that runs online learning of the rows ``W`` (a block of rows of the projection, changed
in place, with their bias ``b`` and their rows of every state array) over the samples
``X`` (n, n_pre; read-only: it may be a view of the training data) in order: for each sample ``z = W x + b``, ``y = act_forward(act, z)``
(:mod:`brainlearn.network.activations`), then the rule's change. It returns the first
sample whose activity is not finite, or -1, and must give the same result as the
per-sample loop over ``kernel`` up to rounding (``check_rule`` compares them). The
engine's row-parallel driver then hands it segments of samples on each thread, so that
the rule may take several samples at once (the tag-and-capture rule's early phase moves
in closed form between changes of regime, through matrix products).

A rule that reads the reward may give a ``reward_segment_kernel``::

      reward_segment_kernel(W, b, X, T, act, loss, threshold, params, state, dt, out) -> int

that runs online learning of a single layer (the only projection, from the input to the
output, with bias ``b``, which the rule does not change) over the samples ``X`` (n, n_pre)
with targets ``T`` (n, n_post), both read-only: for each sample the activity
``y = act_forward(act, W x + b)``, the loss ``loss_and_delta(loss, act, z, y, t, d)``
(:mod:`brainlearn.network.losses`), the reward ``is_correct(y, t, threshold)`` (1 or 0),
then the rule's change as its ``kernel`` makes it with that reward as ``mod``. It adds the
summed loss to ``out[0]`` and the number of rewarded samples to ``out[1]``, and returns the
first sample whose loss is not finite (that sample changes nothing), or -1. It may run
threads of its own (``prange``). ``check_rule`` compares it with the per-sample loop (the
reward-modulated Hebbian rule moves its weights and eligibility trace in closed form over
blocks of samples, through matrix products).

Rules with slow dynamics of their own (decaying early-phase weights, protein
synthesis, consolidation) also give a ``rest_kernel``::

      rest_kernel(W, params, state, dt, n_steps, dW)

which advances the state through ``n_steps`` steps of ``dt`` seconds in which no
input arrives, adding the total weight change to ``dW`` (called by
:func:`brainlearn.rest`, one compiled call for the whole rest period). Rules that
consolidate at task boundaries (EWC, synaptic intelligence) override
:meth:`LearningRule.end_task`, called by :func:`brainlearn.end_task`.

Every kernel reads the pre-update ``W``; the engine sums the deltas of all rules
and applies them afterwards. A rule whose change of ``W[i, j]`` depends on no
other weight declares ``elementwise = True``, and the engine may then let it
accumulate straight into ``W`` (equivalent, one memory pass saved); so may a rule
that reads each weight before it writes it (``in_place = True``).
"""

from __future__ import annotations

import collections
import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from . import _params

__all__ = ["LearningRule", "LocalRule", "GradientRule", "hyperparameter", "register", "get",
           "available", "make", "plugin_errors", "EmptyState", "SIGNALS", "FAMILIES"]

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


@dataclass(frozen=True)
class LearningRule:
    """Base class of every learning rule (see the module docstring for the protocol).

    Subclasses are frozen dataclasses whose fields are the hyperparameters, and set
    the class attributes below.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = "custom"
    locality: ClassVar[str] = "local"
    needs: ClassVar[frozenset] = frozenset({"pre", "post"})
    summary: ClassVar[str] = ""
    equation: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    elementwise: ClassVar[bool] = False
    #: True when the kernel is also correct with dW being W although it is not elementwise:
    #: it reads every weight it needs before writing it (e.g. Sanger's row-ordered pass)
    in_place: ClassVar[bool] = False
    updates_bias: ClassVar[bool] = False
    #: how an error crosses a projection with this rule: through W^T ("transpose"),
    #: a fixed random B^T in the state ("random"), or straight from the output ("direct")
    feedback: ClassVar[str] = "transpose"
    #: True for rules that edit W after the deltas (clipping, normalisation)
    constraint: ClassVar[bool] = False
    #: True for rules meant for lateral (population-to-itself) projections
    lateral: ClassVar[bool] = False
    #: True when the rule may diverge by design (plain Hebb): the finiteness check is skipped
    unstable: ClassVar[bool] = False
    #: True when the change of row i reads only row i of W and of the state, x, y_i and
    #: mod_i: the engine may then run rows on separate threads for a whole epoch
    row_local: ClassVar[bool] = False
    #: True when init_state reads the rest of the network (e.g. the output size): the state
    #: is then rebuilt when the network's structure has changed since it was made
    state_uses_network: ClassVar[bool] = False
    #: True for supervised local rules that must sit on a projection into the output
    output_only: ClassVar[bool] = False
    #: True when online training equals minibatch training with batch size 1
    online_equals_batch1: ClassVar[bool] = True
    #: optional NumPy twin: ``numpy_twin(rule, W, pre, post, mod, state, dt) -> (dW, db)``
    #: (state updated in place), used by the conformance checks
    numpy_twin: ClassVar = None
    kernel: ClassVar = None
    batch_kernel: ClassVar = None
    #: optional ``affine_kernel(pre, post, params, state, dt, alpha, beta)`` for rules whose change
    #: is ``dW_i = alpha_i W_i + beta_i x`` (see the module docstring); lets the engine run
    #: online epochs block by block through matrix products
    affine_kernel: ClassVar = None
    #: optional ``direction_kernel(pre, params, state, dt, d)``: with ``affine_kernel``, for
    #: rules whose change is ``dW_i = alpha_i W_i + beta_i d`` with ``d`` made from the input
    #: alone (see the module docstring)
    direction_kernel: ClassVar = None
    #: the state fields a ``direction_kernel`` advances (the input side, e.g. the covariance
    #: rule's ``("mean_pre",)``); None: not declared, and the block driver keeps the rows
    #: of such a rule on one thread
    input_state: ClassVar = None
    #: optional ``segment_kernel(W, b, X, act, params, state, dt) -> int`` for ``row_local``
    #: rules: online learning of a block of rows over a run of samples (see the module
    #: docstring); the engine's row-parallel driver then calls it instead of ``kernel``
    segment_kernel: ClassVar = None
    #: optional ``reward_segment_kernel(W, b, X, T, act, loss, threshold, params, state, dt,
    #: out) -> int`` for rules that read the reward, on a single layer trained with targets:
    #: online learning over a run of samples (see the module docstring); the engine then
    #: calls it instead of its per-sample driver
    reward_segment_kernel: ClassVar = None
    #: optional ``rest_kernel(W, params, state, dt, n_steps, dW)``: the state's own dynamics
    #: through a period without input (see the module docstring); None: nothing changes at rest
    rest_kernel: ClassVar = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Compiled dispatchers bind like methods when read through an instance; keep them plain.
        for attr in ("kernel", "batch_kernel", "numpy_twin", "rest_kernel", "affine_kernel",
                     "direction_kernel", "segment_kernel", "reward_segment_kernel"):
            val = cls.__dict__.get(attr)
            if val is not None and not isinstance(val, staticmethod):
                setattr(cls, attr, staticmethod(val))
        if cls.feedback not in ("transpose", "random", "direct"):
            raise TypeError(f"{cls.__name__}.feedback={cls.feedback!r}; allowed: transpose, "
                            "random, direct")
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

    # -- what the engine calls -------------------------------------------------------------
    @classmethod
    def params_type(cls):
        """The NamedTuple class holding the numeric hyperparameters the kernel reads."""
        nt = cls.__dict__.get("_Params")
        if nt is None:
            # shared by every rule with the same field names, and importable by name from
            # any process (see brainlearn.rules._params): kernels cached on disk stay
            # readable whatever module the rule class was defined in
            names = [f.name for f in dataclasses.fields(cls) if _is_numeric_field(f)]
            nt = _params.params_type(names)
            cls._Params = nt
        return nt

    def params(self, dtype) -> tuple:
        """Numeric hyperparameters as a NamedTuple, floats cast to ``dtype``."""
        dtype = np.dtype(dtype)
        nt = self.params_type()
        vals = []
        for name in nt._fields:
            v = getattr(self, name)
            if isinstance(v, (bool, np.bool_)):
                vals.append(bool(v))
            elif isinstance(v, (int, np.integer)) and isinstance(self.__dataclass_fields__[name].default, int):
                vals.append(int(v))
            else:
                vals.append(dtype.type(v))
        return nt(*vals)

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


def _is_numeric_field(f) -> bool:
    return isinstance(f.default, (bool, int, float)) and not isinstance(f.default, str)


class LocalRule(LearningRule):
    """A rule that reads only signals available at the synapse (pre, post, a broadcast factor)."""

    family: ClassVar[str] = "hebbian"
    locality: ClassVar[str] = "local"


class GradientRule(LearningRule):
    """A rule that follows (an estimate of) the loss gradient through the error signal."""

    family: ClassVar[str] = "gradient"
    locality: ClassVar[str] = "nonlocal"
    needs: ClassVar[frozenset] = frozenset({"pre", "post", "error"})


# -- registry ----------------------------------------------------------------------------------
_REGISTRY: dict[str, type] = {}
_PLUGIN_ERRORS: dict[str, str] = {}
_ENTRY_POINT_GROUP = "brainlearn.rules"
_entry_points_loaded = False


def register(name: str):
    """Class decorator: register a rule under ``name`` (lower-case identifier)."""
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ValueError(f"rule name {name!r} must be a lower-case identifier")

    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, LearningRule)):
            raise TypeError(f"register({name!r}) needs a LearningRule subclass, got {cls!r}")
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"rule {cls.__name__} must be a @dataclass(frozen=True)")
        if cls.kernel is None:
            raise TypeError(f"rule {cls.__name__} has no kernel")
        cls.name = name
        cls.params_type()
        _REGISTRY[name] = cls
        return cls

    return deco


def _load_entry_points():
    """Import third-party rules declared in the ``brainlearn.rules`` entry-point group, once.

    A plug-in that fails to import is recorded (see :func:`plugin_errors`) and
    reported with a warning naming it; the other rules stay usable.
    """
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    import warnings
    from importlib.metadata import entry_points

    try:
        eps = entry_points(group=_ENTRY_POINT_GROUP)
    except Exception as exc:  # noqa: BLE001 - broken metadata must not break brainlearn
        warnings.warn(f"could not read the {_ENTRY_POINT_GROUP!r} entry points: {exc}", stacklevel=3)
        return
    for ep in eps:
        if ep.name in _REGISTRY:
            _PLUGIN_ERRORS[ep.name] = f"the name is taken by {_REGISTRY[ep.name].__qualname__}"
            warnings.warn(f"brainlearn rule plug-in {ep.name!r} ({ep.value}) was not loaded: the "
                          "name is already registered", stacklevel=3)
            continue
        try:
            obj = ep.load()
            if not (isinstance(obj, type) and issubclass(obj, LearningRule)):
                raise TypeError(f"the entry point gives {obj!r}, not a LearningRule subclass")
            register(ep.name)(obj)
        except Exception as exc:  # noqa: BLE001
            _PLUGIN_ERRORS[ep.name] = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"brainlearn rule plug-in {ep.name!r} ({ep.value}) failed to load: "
                          f"{type(exc).__name__}: {exc}", stacklevel=3)


def plugin_errors() -> dict:
    """Plug-ins that failed to load: ``{entry point name: error}``."""
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
    hint = f" (plug-in failed to load: {_PLUGIN_ERRORS[name]})" if name in _PLUGIN_ERRORS else ""
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
