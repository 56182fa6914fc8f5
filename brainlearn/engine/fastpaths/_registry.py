"""The registry of fast paths: faster drivers for particular rules, kept by the engine.

A rule's ``kernel`` is the definition of what it does. A fast path is an optional,
faster way for the engine to run the same rule over many samples; it must give the
same result up to rounding, and ``brainlearn.testing.check_rule`` compares every fast
path registered for a rule with its ``kernel``. The rule class knows nothing of them.

The kinds of fast path (their signatures are in ``docs/authoring.md``):

``affine(pre, post, params, state, dt, alpha, beta)``
    for rules whose change of row i is ``alpha_i W_i + beta_i x``: adds ``alpha`` and
    ``beta`` (n_post,) for one sample and advances the state as ``kernel`` does. Online
    learning of a single projection then runs block by block through matrix products.
``direction(pre, params, state, dt, d)``, with ``input_state``
    with ``affine``, for rules whose rows move along a direction ``d`` made from the
    input alone (the covariance rule's ``x - <x>``); ``input_state`` names the state
    fields it advances (the rest stay with ``affine``).
``segment(W, b, X, act, params, state, dt) -> int``
    for ``row_local`` rules reading only pre and post: online learning of a block of
    rows over the samples ``X``, forward pass included; returns the first sample whose
    activity is not finite, or -1.
``reward_segment(W, b, X, T, act, loss, threshold, params, state, dt, out) -> int``
    for rules that read the reward, on a single layer trained with targets: online
    learning over the samples, loss and reward included; adds the summed loss to
    ``out[0]`` and the rewarded count to ``out[1]``; returns the first sample whose loss
    is not finite, or -1.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..._jit import JIT_DISABLED
from ...rules.base import LearningRule

__all__ = ["FastPath", "register_fast_path", "fast_path", "registered_fast_paths", "KINDS"]

KINDS = ("affine", "direction", "segment", "reward_segment")


@dataclass(frozen=True)
class FastPath:
    """The fast paths registered for one rule class (None where there is none)."""

    affine: object = None
    direction: object = None
    input_state: tuple | None = None
    segment: object = None
    reward_segment: object = None
    #: the rule's ``kernel`` and ``needs`` when the paths were registered: a subclass that
    #: keeps both inherits the paths, one that changes either does not
    kernel: object = None
    needs: frozenset = frozenset()

    def kinds(self) -> tuple:
        """The kinds of fast path present, in the order of ``KINDS``."""
        return tuple(k for k in KINDS if getattr(self, k) is not None)


_NONE = FastPath()
_REGISTRY: dict[type, FastPath] = {}


def register_fast_path(rule_cls, *, affine=None, direction=None, input_state=None, segment=None,
                       reward_segment=None, replace=False) -> FastPath:
    """Register faster drivers of ``rule_cls`` with the engine; returns the record.

    Parameters
    ----------
    rule_cls : type
        A :class:`~brainlearn.rules.LearningRule` subclass with a ``kernel``.
    affine, direction, segment, reward_segment : numba dispatcher, optional
        The compiled fast paths (see the module docstring). ``direction`` needs
        ``affine`` and ``input_state``.
    input_state : tuple of str, optional
        With ``direction``: the state fields it advances.
    replace : bool
        Replace other paths registered for the class before. Without it that raises;
        registering functions of the same names again (the file ran again: a notebook
        cell, a module imported under a second name) replaces them quietly.

    Notes
    -----
    A subclass inherits the paths of its nearest registered ancestor only while it
    keeps that ancestor's ``kernel`` and ``needs``: a subclass that changes what the rule
    does falls back to the generic drivers until it registers paths of its own.
    """
    if not (isinstance(rule_cls, type) and issubclass(rule_cls, LearningRule)):
        raise TypeError(f"register_fast_path: rule_cls={rule_cls!r}; allowed: a LearningRule "
                        "subclass")
    if rule_cls.kernel is None:
        raise TypeError(f"register_fast_path: rule {rule_cls.__name__} has no kernel")
    given = {"affine": affine, "direction": direction, "segment": segment,
             "reward_segment": reward_segment}
    if all(v is None for v in given.values()):
        raise ValueError(f"register_fast_path({rule_cls.__name__}): give at least one of "
                         f"{', '.join(KINDS)}")
    for kind, fn in given.items():
        if fn is not None and not JIT_DISABLED and not hasattr(fn, "py_func"):
            raise TypeError(f"register_fast_path({rule_cls.__name__}): {kind}="
                            f"{getattr(fn, '__name__', fn)!r} is not compiled; decorate it with "
                            "@numba.njit")
    if direction is not None and affine is None:
        raise ValueError(f"register_fast_path({rule_cls.__name__}): direction= needs affine= "
                         "(the rows move by alpha_i W_i + beta_i d)")
    if input_state is not None:
        if direction is None:
            raise ValueError(f"register_fast_path({rule_cls.__name__}): input_state= names the "
                             "state fields a direction= path advances; give direction=")
        if isinstance(input_state, str) or not all(isinstance(f, str) for f in input_state):
            raise TypeError(f"register_fast_path({rule_cls.__name__}): input_state="
                            f"{input_state!r}; allowed: a tuple of state field names")
        input_state = tuple(input_state)
    old = _REGISTRY.get(rule_cls)
    if old is not None and not replace and not _same_functions(old, given):
        raise ValueError(f"register_fast_path({rule_cls.__name__}): paths are registered for "
                         "this class already; pass replace=True to replace them")
    record = FastPath(affine, direction, input_state, segment, reward_segment,
                      kernel=rule_cls.kernel, needs=frozenset(rule_cls.needs))
    _REGISTRY[rule_cls] = record
    return record


def _same_functions(record, given) -> bool:
    """Whether ``given`` names the functions of ``record``: the same definitions run again."""
    def label(fn):
        return None if fn is None else getattr(fn, "__qualname__", None) or repr(fn)
    return all(label(getattr(record, k)) == label(fn) for k, fn in given.items())


def fast_path(rule) -> FastPath:
    """The fast paths registered for ``rule`` (an instance or a class), or an empty record.

    Looks up the class, then its ancestors; the nearest registration counts when the
    rule has the ``kernel`` and ``needs`` it was registered with.
    """
    cls = rule if isinstance(rule, type) else type(rule)
    for klass in cls.__mro__:
        record = _REGISTRY.get(klass)
        if record is not None:
            same = record.kernel is cls.kernel and record.needs == frozenset(cls.needs)
            return record if same else _NONE
    return _NONE


def registered_fast_paths() -> dict:
    """``{rule class: FastPath}`` for every registration, in registration order."""
    return dict(_REGISTRY)


# the FastPath field names double as register_fast_path's keywords
assert {f.name for f in fields(FastPath)} == set(KINDS) | {"input_state", "kernel", "needs"}
