"""Provenance of a result: versions, platform, git state of the brainlearn source tree."""

from __future__ import annotations

import os
import platform
import subprocess

from .._version import __version__


def _package_version(name):
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _source_root() -> str:
    """The folder that holds the ``brainlearn`` package (a checkout's root when run from one)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.dirname(package)


def _git(root, *args):
    """``git -C root ARGS`` stdout, or None on any failure (no git, not a repository, timeout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_OPTIONAL_LOCKS="0", LC_ALL="C")  # a status must not take the index lock
    try:
        done = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                              timeout=5, env=env, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return done.stdout if done.returncode == 0 else None


def _git_state():
    """``(commit, dirty)`` of the brainlearn source tree, ``(None, None)`` when not a checkout.

    Dirty means a tracked file differs from the commit, or an untracked file sits inside the
    ``brainlearn`` package (untracked results or notes elsewhere do not count).
    """
    root = _source_root()
    top = _git(root, "rev-parse", "--show-toplevel")
    # an installed copy inside some other repository must not report that repository's commit
    if not top or os.path.realpath(top.strip()) != os.path.realpath(root):
        return None, None
    commit = (_git(root, "rev-parse", "HEAD") or "").strip() or None
    status = _git(root, "status", "--porcelain", "--untracked-files=normal")
    if commit is None or status is None:
        return commit, None
    dirty = any(not line.startswith("??") or line[3:].startswith("brainlearn/")
                for line in status.splitlines() if line.strip())
    return commit, dirty


def provenance() -> dict:
    """What produced a result: versions, platform and the git state of brainlearn; never raises.

    Keys: ``brainlearn``, ``python``, ``python_implementation``, ``numpy``, ``numba``, ``scipy``,
    ``matplotlib`` (versions; None when not installed), ``platform`` (:func:`platform.platform`),
    ``machine``, ``cpu_count``, ``numba_disable_jit``, ``git_commit`` and ``git_dirty`` (None when
    brainlearn does not run from a git checkout or git is unavailable). The host name is left out.
    """
    info = {"brainlearn": __version__, "python": platform.python_version(),
            "python_implementation": platform.python_implementation()}
    for name in ("numpy", "numba", "scipy", "matplotlib"):
        info[name] = _package_version(name)
    info.update(platform=platform.platform(), machine=platform.machine(), cpu_count=os.cpu_count(),
                numba_disable_jit=os.environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0"))
    info["git_commit"], info["git_dirty"] = _git_state()
    return info
