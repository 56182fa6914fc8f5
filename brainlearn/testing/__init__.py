"""The conformance suite for learning rules, public so that rule authors run it too.

Every check is a plain function ``check_*(rule)`` that takes a rule instance and
raises ``AssertionError`` saying what is wrong, or :class:`SkipCheck` with the
reason it does not apply (as scikit-learn's ``check_estimator``). Each check
builds its own small network for the rule with :func:`example_network`; networks
of one structure share their compiled drivers, so the suite compiles three per
rule (online in float64 and float32, minibatch in float64).

A rule author runs all checks on a new rule at once; the first failure raises
``AssertionError`` naming the rule and the check:

>>> import brainlearn as bl
>>> for name, status in bl.testing.check_rule(bl.rules.Oja):   # doctest: +SKIP
...     print(name, status)
check_constructible passed
check_metadata passed
...
check_numpy_twin skipped: no NumPy twin
check_finite_long_run passed

or, in a pytest module, one test per (rule, check)::

    from brainlearn.testing import parametrize_with_checks

    @parametrize_with_checks([MyRule(), MyRule(lr=0.1)])
    def test_my_rule(rule, check):
        check(rule)

The checks, in the order :func:`check_rule` runs them: constructible with its
defaults; metadata complete; bad hyperparameters rejected; the state a NamedTuple of
arrays of ``W``'s dtype; parameters and a trained network survive ``get_params`` and
save/load; deterministic for a seed; the kernel never writes ``W``, adds to ``dW``,
changes ``W`` under real signals and reads the third factor it declares in ``needs``
(and no other); it keeps its ``elementwise`` and ``row_local`` tags; float32 and float64 kept; online training equals
minibatches of one; equal to the rule's ``numpy_twin``; every fast path the engine has
registered for the rule (:mod:`brainlearn.engine.fastpaths`: ``affine``, ``segment``,
``reward_segment``) gives what the per-sample loop over the kernel gives; for a spiking
rule, its event kernels run by ``bl.simulate`` equal its twin's clock-driven replay of the
recorded spike trains; a ``rest_kernel`` that leaves ``W`` alone, is deterministic
and gives the same for n steps at once as for n single steps; finite after 10^4
presentations of the digits.
"""


from __future__ import annotations

import functools

from .. import rules as _rules
from ..rules.base import LearningRule
from ._examples import SkipCheck, example_network
from .checks import (_CHECKS, check_affine_kernel, check_bad_hyperparameters,
                     check_constructible, check_deterministic, check_dtypes_kept,
                     check_elementwise_claim, check_finite_long_run, check_kernel_adds_to_dW,
                     check_kernel_never_writes_W, check_metadata, check_numpy_twin,
                     check_online_equals_batch1, check_params_round_trip, check_rest_kernel,
                     check_reward_segment_kernel, check_row_local_claim, check_segment_kernel,
                     check_spike_driven,
                     check_signals, check_state)

__all__ = ["SkipCheck", "check_rule", "rule_checks", "parametrize_with_checks", "example_network",
           "check_constructible", "check_metadata", "check_bad_hyperparameters", "check_state",
           "check_params_round_trip", "check_kernel_never_writes_W", "check_kernel_adds_to_dW",
           "check_signals",
           "check_elementwise_claim", "check_row_local_claim", "check_dtypes_kept",
           "check_deterministic",
           "check_online_equals_batch1", "check_numpy_twin", "check_affine_kernel",
           "check_segment_kernel", "check_reward_segment_kernel", "check_rest_kernel",
           "check_spike_driven",
           "check_finite_long_run"]


# -- running the checks ----------------------------------------------------------------------------
def _as_rule(rule_or_class):
    """(rule instance or None, label, construction error or None)."""
    obj = rule_or_class
    if isinstance(obj, str):
        obj = _rules.get(obj)
    if isinstance(obj, type):
        if not issubclass(obj, LearningRule):
            raise TypeError(f"{obj!r} is not a LearningRule subclass")
        try:
            return obj(), obj.name or obj.__name__, None
        except Exception as exc:  # noqa: BLE001 - reported by check_constructible
            return None, obj.name or obj.__name__, exc
    if not isinstance(obj, LearningRule):
        raise TypeError(f"rule={rule_or_class!r} must be a LearningRule instance, class or "
                        "registered name")
    cls = type(obj)
    try:
        default = obj == cls()
    except Exception:  # noqa: BLE001
        default = False
    return obj, (cls.name or cls.__name__) if default else repr(obj), None


def _failed_construction(exc, label):
    def check_constructible(rule=None):
        raise AssertionError(f"{label}() with default parameters raised "
                             f"{type(exc).__name__}: {exc}")
    return check_constructible


def rule_checks(rule_or_class):
    """Yield ``(check_name, check)`` for every conformance check, ``check()`` taking no argument.

    Parameters
    ----------
    rule_or_class : LearningRule, LearningRule subclass or str
        A rule instance, a rule class (instantiated with its defaults) or a
        registered rule name.

    Yields
    ------
    name : str
    check : callable
        Runs the check on the rule; raises ``AssertionError`` or :class:`SkipCheck`.
    """
    rule, label, error = _as_rule(rule_or_class)
    if error is not None:
        yield "check_constructible", _failed_construction(error, label)
        return
    for fn in _CHECKS:
        yield fn.__name__, functools.partial(fn, rule)


def check_rule(rule_or_class):
    """Run every conformance check on a rule; raise on the first failure.

    Parameters
    ----------
    rule_or_class : LearningRule, LearningRule subclass or str
        A rule instance, a rule class (instantiated with its defaults) or a
        registered rule name.

    Returns
    -------
    list of (str, str)
        ``(check name, "passed" or "skipped: <reason>")`` in the order run.

    Raises
    ------
    AssertionError
        On the first failing check; the message names the rule and the check.
    """
    label = _as_rule(rule_or_class)[1]
    results = []
    for name, check in rule_checks(rule_or_class):
        try:
            check()
        except SkipCheck as exc:
            results.append((name, f"skipped: {exc}"))
            continue
        except AssertionError as exc:
            raise AssertionError(f"rule {label} failed {name}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - name the check for any error
            raise AssertionError(
                f"rule {label} failed {name}: {type(exc).__name__}: {exc}") from exc
        results.append((name, "passed"))
    return results


def _pytest_check(fn):
    @functools.wraps(fn)
    def run(rule):
        import pytest
        try:
            fn(rule)
        except SkipCheck as exc:
            pytest.skip(str(exc))
    return run


def parametrize_with_checks(rules, *, expected_failures=None):
    """Pytest decorator: one test per (rule, check), parametrized as ``rule`` and ``check``.

    Parameters
    ----------
    rules : iterable of LearningRule, LearningRule subclass or str
        Rules to check (classes are instantiated with their defaults).
    expected_failures : callable, optional
        ``expected_failures(rule) -> {check name: reason}``: those tests are marked
        ``xfail(strict=True)`` with the reason, so a fix shows up as an unexpected pass.

    Returns
    -------
    pytest.MarkDecorator

    Examples
    --------
    >>> from brainlearn.testing import parametrize_with_checks
    >>> @parametrize_with_checks(["oja", "sanger"])
    ... def test_rule(rule, check):
    ...     check(rule)
    """
    import pytest

    params = []
    for r in rules:
        rule, label, _ = _as_rule(r)
        known = {}
        if expected_failures is not None and rule is not None:
            known = expected_failures(rule)
        for name, bound in rule_checks(r):
            fn = bound.func if isinstance(bound, functools.partial) else bound
            marks = [pytest.mark.xfail(reason=known[name], strict=True)] if name in known else []
            params.append(pytest.param(rule, _pytest_check(fn), id=f"{label}-{name}", marks=marks))
    return pytest.mark.parametrize("rule, check", params)

