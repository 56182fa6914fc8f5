"""The conformance suite over the registered rules that tests/test_conformance.py leaves to
this file (names from "f" on): the two halves can run in separate processes."""

from brainlearn.testing import parametrize_with_checks
from test_conformance import BUILTIN_RULES, HALF

REST = [r for r in BUILTIN_RULES if r not in HALF]


@parametrize_with_checks(REST)
def test_registered_rules_conform(rule, check):
    check(rule)
