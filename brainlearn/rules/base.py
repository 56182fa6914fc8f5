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

__all__ = ["LearningRule", "LocalRule", "GradientRule", "hyperparameter", "register", "get",
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


@dataclass(frozen=True)
class LearningRule:
    r"""Base class of every learning rule.

    A rule is a frozen dataclass whose fields are its hyperparameters (declared with
    :func:`hyperparameter`), with class attributes that describe it to the engine, the
    documentation and the conformance checks (:func:`brainlearn.testing.check_rule`).
    The guide for rule authors is ``docs/authoring.md``; the protocol of the optional
    kernels is in the docstring of :mod:`brainlearn.rules.base`. Write a rule as::

        @register("my_rule")                    # outermost: registers the dataclass
        @dataclass(frozen=True, repr=False)     # required: else the fields are no hyperparameters
        class MyRule(LocalRule):
            "One-line summary, then a blank line and the details (numpydoc)."

            lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")

            summary = "what it does, in one line"
            equation = r"\Delta w_{ij} = \eta\, y_i x_j"
            reference = "Author Year, Journal vol:page"
            kernel = _my_rule_delta             # a numba.njit function, see below

    Set the class attributes without annotations (an annotated ``x: float = 1`` in a
    dataclass is a hyperparameter field, not a class attribute). :class:`LocalRule`
    (family ``hebbian``, locality ``local``) and :class:`GradientRule` (``gradient``,
    ``nonlocal``, needs ``error``) give other defaults.

    Attributes
    ----------
    name : str
        The registered name. Set by :func:`register` (or by the entry-point name of a
        plug-in); do not set it yourself. A subclass inherits its parent's name until it
        is registered under its own.
    family : str
        One of ``FAMILIES``: ``gradient``, ``hebbian``, ``ltp``, ``homeostatic``,
        ``three-factor``, ``memory`` or ``custom`` (the default). Studies choose their
        default rules by it.
    locality : str
        ``"local"`` (reads only what the synapse sees: pre, post, a broadcast factor)
        or ``"nonlocal"``.
    needs : frozenset of str
        The signals the kernel reads, from ``SIGNALS``: ``pre``, ``post``, and at most
        one third factor, ``error`` or ``reward``. The engine computes a backward pass
        only for rules that need ``error``, and the reward only for rules that need
        ``reward``; for every other rule ``mod`` is all zeros. A rule that reads ``mod``
        must declare its signal (``check_rule`` fails one that does not).
    summary, equation, reference : str
        One line for ``brainlearn rules``, the update as LaTeX (no ``$``), and the
        source; all three are required by ``check_rule`` and shown by ``brainlearn rules``.
    kernel : numba dispatcher
        ``kernel(W, pre, post, mod, params, state, dt, dW, db)``: *adds* the change of
        one presentation to ``dW`` (and ``db``), reads ``W`` without writing it, and
        advances ``state`` in place. Required.
    constraint : bool
        True for a rule that edits ``W`` itself after the summed deltas (clipping,
        normalisation): its kernel is handed ``W`` as ``dW``. Such a rule need not
        change ``W`` under every signal (``check_rule`` checks the others do).
    elementwise : bool
        True when the change of ``W[i, j]`` reads no other weight; the engine may then
        accumulate straight into ``W``.
    in_place : bool
        True when the kernel stays correct with ``dW`` being ``W`` although it is not
        elementwise (it reads every weight before writing it).
    row_local : bool
        True when the change of row ``i`` reads only row ``i`` of ``W`` and of the
        state, ``pre``, ``post[i]`` and ``mod[i]``: rows may run on separate threads.
    updates_bias : bool
        True when the kernel writes ``db`` (the postsynaptic bias change; ``db`` has
        length 0 where the projection does not own the bias).
    feedback : str
        For rules that need ``error``: how the error crosses this projection on its
        way back, ``"transpose"`` (``W^T``), ``"random"`` (a fixed random ``B^T`` in the
        state) or ``"direct"`` (from the output, through the rule's own ``B``).
    lateral : bool
        True for rules meant for a population-to-itself projection.
    output_only : bool
        True for supervised local rules that belong on a projection into the output.
    unstable : bool
        True when the rule may diverge by design (plain Hebb); the long-run finiteness
        check is skipped.
    state_uses_network : bool
        True when ``init_state`` reads the rest of the network (the state is rebuilt
        when the network's structure changes).
    online_equals_batch1 : bool
        False when online training differs from minibatches of one.
    numpy_twin : callable or None
        ``numpy_twin(rule, W, pre, post, mod, state, dt) -> (dW, db)``, a NumPy
        reference that ``check_rule`` compares the kernel with, step by step.
    batch_kernel, affine_kernel, direction_kernel, segment_kernel, reward_segment_kernel, rest_kernel
        Optional compiled kernels for faster paths and for rest periods (see the module
        docstring); each is checked against ``kernel`` by ``check_rule``.
    input_state : tuple of str or None
        With a ``direction_kernel``: the state fields it advances.

    Notes
    -----
    What a kernel receives (one presentation, every array in ``W.dtype``):

    * ``W`` (n_post, n_pre): the weights before this step's update (read-only);
      ``pre`` (n_pre,) and ``post`` (n_post,): the activities of this presentation,
      after the forward pass.
    * ``mod`` (n_post,): the third factor. With ``"error"``: ``dL/dz`` of the
      postsynaptic units for this sample (positive where raising ``z`` raises the
      loss; gradient descent is ``dW = -lr * outer(mod, pre)``; at a softmax output
      with cross-entropy it is ``y - t``; in a hidden layer the error carried back
      through ``W^T`` or the rule's ``B``, times the derivative of the activation). With ``"reward"``: 1.0 when this
      sample's output was correct and 0.0 otherwise, the same value in every entry,
      with no baseline subtracted. A baseline-free rule ``dW = lr * R * outer(y, x)``
      on non-negative activities (the digits, softmax or sigmoid units) can then only
      grow weights, toward the inputs it was rewarded on; the unit that wins early
      grows fastest and ends up winning every input: the output collapses onto one
      class. Subtract a running reward baseline kept in the state (``R - R_bar``), as
      ``reward_hebbian`` does. Without either signal ``mod`` is all zeros.
    * ``params``: the NamedTuple of the numeric hyperparameters, floats cast to
      ``W.dtype`` (booleans and integers kept).
    * ``state``: the NamedTuple from :meth:`init_state`, changed in place. It stays
      with the projection from one presentation to the next (and is saved with the
      network). Every field is a NumPy array of ``W.dtype`` (a scalar is an array of
      shape ``(1,)``, read and written as ``state.x[0]``): a NamedTuple cannot be
      assigned to inside a kernel, and ``check_rule`` rejects other fields.
    * ``dt``: the simulated seconds of this presentation (``bl.train(dt=...)``,
      default 1.0), in ``W.dtype``. A kernel must be right for any ``dt > 0``: write
      rates per second times ``dt``, and decays as ``exp(-dt / tau)`` or
      ``-expm1(-dt / tau)`` (between 0 and 1 for every ``dt``) rather than Euler's
      ``dt / tau``, which overshoots when ``dt > tau`` and diverges when ``dt > 2 tau``.

    Whether a rule advances its state before or after it computes its weight change
    is the rule's choice, and part of its equation: the built-in rules move an
    eligibility trace or a rate estimate that should include the current sample
    first (``reward_hebbian``'s trace, ``synaptic_scaling``'s rate), and a running
    mean or threshold that the update is measured against after the update has read
    it (``bcm``'s threshold, ``covariance``'s means, ``reward_hebbian``'s baseline).
    Every kernel of a rule, and its ``numpy_twin``, must use the same order.
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
        cls.params_type()
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
