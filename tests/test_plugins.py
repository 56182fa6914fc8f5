"""Third-party rules through the ``brainlearn.rules`` entry-point group, end to end.

A tiny distribution is written to a temporary directory, installed with pip into
a temporary target (no index, no build isolation: nothing is downloaded), and a
fresh interpreter with that target on ``PYTHONPATH`` must find the rule, train
with it next to a built-in rule, and list it on the command line. A second entry
point names a module that raises on import: it is reported by name, and
everything else keeps working.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import brainlearn as bl

pytestmark = pytest.mark.slow

PLUGIN_MODULE = '''
"""A third-party brainlearn rule: Hebb scaled by a constant factor."""

from dataclasses import dataclass

import numba

from brainlearn.rules import LocalRule, hyperparameter


@numba.njit(cache=True)
def _scaled_hebb_delta(W, pre, post, mod, params, state, dt, dW, db):
    c = params.lr * params.scale
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            dW[i, j] += c * post[i] * pre[j]


@dataclass(frozen=True, repr=False)
class ScaledHebb(LocalRule):
    """Hebb scaled by a constant: dW = lr * scale * y x^T."""

    lr: float = hyperparameter(0.01, low=0.0, doc="learning rate")
    scale: float = hyperparameter(0.5, low=0.0, high=1.0, doc="factor on the Hebbian term")

    summary = "Hebb scaled by a constant factor (a test plug-in)"
    equation = r"\\Delta W = \\eta\\, s\\, y x^\\top"
    reference = "(test plug-in)"
    elementwise = True
    unstable = True
    kernel = _scaled_hebb_delta
'''

BROKEN_MODULE = 'raise RuntimeError("tinyplugin_broken is broken on purpose")\n'

PYPROJECT = '''
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "tinyplugin"
version = "0.1"

[project.entry-points."brainlearn.rules"]
scaled_hebb = "tinyplugin:ScaledHebb"
broken_rule = "tinyplugin_broken:Rule"

[tool.setuptools]
packages = ["tinyplugin"]
py-modules = ["tinyplugin_broken"]
'''

# Runs in the fresh interpreter; prints one JSON object for the test to check.
CHECK = '''
import json, warnings

import numpy as np

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import brainlearn as bl
    names = bl.rules.available()

import tinyplugin

out = {"names": names, "warnings": [str(w.message) for w in caught],
       "errors": bl.rules.plugin_errors(),
       "get_is_class": bl.rules.get("scaled_hebb") is tinyplugin.ScaledHebb,
       "rule_name": tinyplugin.ScaledHebb.name}
try:
    bl.rules.get("broken_rule")
except ValueError as exc:
    out["get_broken"] = str(exc)

# the plug-in and a built-in rule side by side in one compiled epoch
X = np.random.default_rng(0).normal(0.0, 0.25, (40, 6))
net = bl.Network(seed=0)
x = net.add_input(6)
h = net.add_population(3, activation="linear")
g = net.add_population(2, activation="linear")
p = net.connect(x, h, rule="scaled_hebb", lr=0.05, scale=0.5)
q = net.connect(x, g, rule="oja", lr=0.05)
W0, V0 = p.W.copy(), q.W.copy()
bl.train(net, X, epochs=1, shuffle=False)
W, V = W0.copy(), V0.copy()
for v in X:
    y, z = W @ v, V @ v
    W += 0.05 * 0.5 * np.outer(y, v)
    V += 0.05 * z[:, None] * (v[None, :] - z[:, None] * V)
out["plugin_error"] = float(np.abs(W - p.W).max())
out["oja_error"] = float(np.abs(V - q.W).max())
out["moved"] = float(np.abs(p.W - W0).max())
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    """Environment of a fresh interpreter that sees brainlearn and the installed plug-in."""
    pytest.importorskip("setuptools", reason="building the plug-in needs setuptools installed")
    tmp = tmp_path_factory.mktemp("plugin")
    src = tmp / "src"
    (src / "tinyplugin").mkdir(parents=True)
    (src / "tinyplugin" / "__init__.py").write_text(PLUGIN_MODULE)
    (src / "tinyplugin_broken.py").write_text(BROKEN_MODULE)
    (src / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    target = tmp / "site"
    # --no-index and --no-build-isolation: nothing is downloaded, the installed setuptools builds it
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
           "--no-index", "--no-cache-dir", "--disable-pip-version-check", "--quiet",
           "--target", str(target), str(src)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"pip install of the test plug-in failed:\n{res.stdout}\n{res.stderr}"
    # the same brainlearn this test imported (a checkout or an installed copy)
    here = str(Path(bl.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(target), here] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["BRAINLEARN_CACHE_DIR"] = str(tmp / "cache")  # keep compiled drivers out of the user cache
    env.pop("COLUMNS", None)
    return env


def run(env, *args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_installed_plugin_is_found_trains_and_a_broken_one_is_reported(plugin_env):
    res = run(plugin_env, "-c", CHECK)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])

    # the good plug-in: listed, registered under its entry-point name, returns the class
    assert "scaled_hebb" in out["names"]
    assert out["get_is_class"] and out["rule_name"] == "scaled_hebb"
    # the built-in rules are all still there
    assert set(bl.rules.available()) <= set(out["names"])
    # it trains in a compiled epoch, exactly as the NumPy loop, next to a built-in rule
    assert out["moved"] > 1e-3
    assert out["plugin_error"] < 1e-12 and out["oja_error"] < 1e-12

    # the broken plug-in: reported by name with its error, as a warning and in plugin_errors()
    assert "broken_rule" not in out["names"]
    assert out["errors"] == {"broken_rule": "RuntimeError: tinyplugin_broken is broken on purpose"}
    warned = [w for w in out["warnings"] if "'broken_rule'" in w]
    assert len(warned) == 1 and "tinyplugin_broken is broken on purpose" in warned[0]
    assert "plug-in failed to load" in out["get_broken"]


def test_command_line_lists_the_plugin_and_reports_the_broken_one(plugin_env):
    res = run(plugin_env, "-m", "brainlearn", "rules")
    assert res.returncode == 0, res.stderr
    rows = {line.split()[0]: line for line in res.stdout.splitlines()[1:]}
    assert "scaled_hebb" in rows and "a test plug-in" in rows["scaled_hebb"]
    assert "oja" in rows and "broken_rule" not in rows
    assert res.stderr.splitlines() == [
        "1 rule plug-in(s) failed to load:",
        "  broken_rule: RuntimeError: tinyplugin_broken is broken on purpose"]

    res = run(plugin_env, "-m", "brainlearn", "rules", "--json")
    assert res.returncode == 0, res.stderr
    row = next(r for r in json.loads(res.stdout) if r["name"] == "scaled_hebb")
    assert row["class"] == "tinyplugin.ScaledHebb" and row["needs"] == ["pre", "post"]
    assert [(h["name"], h["default"], h["range"]) for h in row["hyperparameters"]] == \
        [("lr", 0.01, "[0, inf)"), ("scale", 0.5, "[0, 1]")]

    # the committed reference documents the built-in rules only, whatever is installed
    res = run(plugin_env, "-m", "brainlearn", "rules", "--markdown", "--builtin")
    assert res.returncode == 0 and "scaled_hebb" not in res.stdout and res.stderr == ""
