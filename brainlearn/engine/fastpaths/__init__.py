"""Fast paths: faster drivers for particular rules, registered with the engine.

A rule is defined by its ``kernel``; the modules here register faster ways to run some
built-in rules (see :mod:`._registry` for the kinds). A rule author may register one for
a rule of their own with :func:`register_fast_path`; ``check_rule`` checks every
registered path against the kernel.
"""

from . import affine, reward_hebbian, tag_and_capture  # noqa: F401 - they register the paths
from ._registry import KINDS, FastPath, fast_path, register_fast_path, registered_fast_paths

__all__ = ["register_fast_path", "fast_path", "registered_fast_paths", "FastPath", "KINDS"]
