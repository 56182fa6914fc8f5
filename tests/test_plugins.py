"""Third-party rules through the ``brainlearn.rules`` entry-point group, end to end.

A tiny distribution is written to a temporary directory, installed with pip into
a temporary target (no index, no build isolation: nothing is downloaded), and a
fresh interpreter with that target on ``PYTHONPATH`` must find the rule, train
with it next to a built-in rule, and list it on the command line. A second entry
point names a module that raises on import: it is reported by name, and
everything else keeps working. A third module both declares an entry point and registers
its rule itself. The rest tests the registry (refusing a taken name, the missing
``@dataclass``, one class statement registered twice) and rules in files of one's own
(``bl.rules.load_plugin``, ``--plugin`` on the command line, in worker processes too).
"""

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
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
    tags = dict(elementwise=True, unstable=True)
    kernel = _scaled_hebb_delta
'''

BROKEN_MODULE = 'raise RuntimeError("tinyplugin_broken is broken on purpose")\n'

# A module that registers its rule itself and also declares it as an entry point.
SELF_REGISTERING_MODULE = '''
"""A plug-in that calls register itself and is also declared as an entry point."""

from dataclasses import dataclass

import brainlearn as bl


@bl.rules.register("self_registered")
@dataclass(frozen=True, repr=False)
class SelfRegistered(bl.rules.Oja):
    """Oja's rule, registered by its own module."""

    summary = "Oja's rule registered by its own module (a test plug-in)"
'''

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
self_registered = "tinyplugin_selfreg:SelfRegistered"

[tool.setuptools]
packages = ["tinyplugin"]
py-modules = ["tinyplugin_broken", "tinyplugin_selfreg"]
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
    (src / "tinyplugin_selfreg.py").write_text(SELF_REGISTERING_MODULE)
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
    env.pop(bl.rules.PLUGINS_ENV, None)
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
    # ... and so does the table (plug-in problems are left out with the plug-ins)
    res = run(plugin_env, "-m", "brainlearn", "rules", "--builtin")
    assert res.returncode == 0 and "scaled_hebb" not in res.stdout and res.stderr == ""


# -- a module that registers its rule and also declares it as an entry point ---------------------
SELF_REGISTERED_FIRST = '''
import json, warnings

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import tinyplugin_selfreg           # imported (and registered) before the entry points load
    import brainlearn as bl
    names = bl.rules.available()
print(json.dumps({"names": names, "errors": bl.rules.plugin_errors(),
                  "warnings": [str(w.message) for w in caught],
                  "same": bl.rules.get("self_registered") is tinyplugin_selfreg.SelfRegistered}))
'''


def test_module_with_entry_point_that_registers_itself_is_no_failed_plugin(plugin_env):
    res = run(plugin_env, "-c", SELF_REGISTERED_FIRST)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert "self_registered" in out["names"] and out["same"]
    assert set(out["errors"]) == {"broken_rule"}
    assert not [w for w in out["warnings"] if "self_registered" in w]
    # the same through the command line: --plugin imports the module before the entry points
    res = run(plugin_env, "-m", "brainlearn", "rules", "--plugin", "tinyplugin_selfreg")
    assert res.returncode == 0 and "self_registered" in res.stdout
    assert "self_registered" not in res.stderr and "broken_rule" in res.stderr


# -- a broken plug-in during a run with worker processes; a rule file through --plugin -----------
LOOKUP_STUDY = '''
"""A study whose runs look their rule up by name, as the real studies do, without training."""

from dataclasses import dataclass

import brainlearn as bl
from brainlearn.studies import Study


@dataclass(frozen=True)
class LookupConfig:
    steps: int = 1


class LookupStudy(Study):
    name = "lookup"
    summary = "runs that look their rule up by name"
    Config = LookupConfig
    headline = ("n_params",)

    def run_one(self, config, rule, seed):
        cls = bl.rules.get(rule)  # in a worker process: where plug-in rules must be found
        return [{"rule": rule, "seed": seed, "task": "t1", "step": 0, "metric": "n_params",
                 "value": float(len(cls().get_params()))}]

    def figures(self, rows, config, figdir):
        return []
'''

RULE_FILE = '''
"""A rule defined in a file of one's own (not installed)."""

from dataclasses import dataclass

import brainlearn as bl


@bl.rules.register("file_rule")
@dataclass(frozen=True, repr=False)
class FileRule(bl.rules.Oja):
    """Oja's rule, from a file."""

    summary = "Oja's rule from a file of one's own"
'''

# the command line, with the lookup study registered first (a study cannot be a plug-in)
LOOKUP_CLI = ("import sys, lookup_study; from brainlearn.studies import register_study; "
              "register_study(lookup_study.LookupStudy()); from brainlearn.cli import main; "
              "sys.exit(main(sys.argv[1:]))")


@pytest.fixture(scope="module")
def lookup_env(plugin_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lookup")
    (tmp / "lookup_study.py").write_text(LOOKUP_STUDY)
    (tmp / "file_rule.py").write_text(RULE_FILE)
    env = dict(plugin_env)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp), env["PYTHONPATH"]])
    return env, tmp


def test_run_with_workers_reports_a_broken_plugin_once_and_finds_a_plugin_file(lookup_env):
    env, tmp = lookup_env
    out = tmp / "results"
    # scaled_hebb (installed) and file_rule (--plugin FILE) are looked up in the workers
    res = run(env, "-c", LOOKUP_CLI, "run", "lookup", "--rules", "scaled_hebb,file_rule",
              "--plugin", str(tmp / "file_rule.py"), "--workers", "2", "--seeds", "2",
              "--out", str(out), "--no-figures", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "4 runs: 4 ok, 0 diverged, 0 failed" in res.stdout
    # the broken plug-in: one line, once (not again from each worker), no source line
    assert res.stderr.splitlines() == [
        "brainlearn: warning: rule plug-in 'broken_rule' (tinyplugin_broken:Rule) failed to "
        "load: RuntimeError: tinyplugin_broken is broken on purpose"], res.stderr
    # without --plugin the file's rule is unknown, and the message says how to load it
    res = run(env, "-c", LOOKUP_CLI, "run", "lookup", "--rules", "file_rule", "--out",
              str(tmp / "other"), "--quiet")
    assert res.returncode == 2 and "unknown rule 'file_rule'" in res.stderr


def test_rules_command_lists_a_rule_from_a_file(lookup_env):
    env, tmp = lookup_env
    res = run(env, "-m", "brainlearn", "rules", "--plugin", str(tmp / "file_rule.py"))
    assert res.returncode == 0
    assert "Oja's rule from a file of one's own" in res.stdout


@pytest.mark.parametrize("plugin, message", [
    ("no_such_file.py", "--plugin no_such_file.py: no such file; allowed: a Python file or an "
                        "importable module name"),
    ("no_such_module_xyz", "--plugin no_such_module_xyz: no such module or file; allowed: a "
                           "Python file (.py) or an importable module name"),
    ("broken_rule_file.py", "--plugin broken_rule_file.py: importing it raised RuntimeError: "
                            "broken on purpose"),
    ("my-rules.py", "--plugin my-rules.py: the file name must be a Python identifier (e.g. "
                    "my_rules.py): the engine imports rule kernels by module name"),
])
def test_bad_plugin_is_one_line_and_exit_2(plugin, message, tmp_path, monkeypatch, capsys):
    from brainlearn import cli
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(bl.rules.PLUGINS_ENV, "")
    (tmp_path / "broken_rule_file.py").write_text('raise RuntimeError("broken\\non purpose")\n')
    (tmp_path / "my-rules.py").write_text("")
    for argv in (["rules", "--plugin", plugin], ["run", "learning", "--quick", "--plugin", plugin],
                 ["sweep", "learning", "--quick", "--grid", "lr=0.1,0.2", "--plugin", plugin]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == [f"brainlearn: error: {message}"], err
    assert "broken_rule_file" not in sys.modules


# -- the registry ----------------------------------------------------------------------------------
@pytest.fixture
def registry(monkeypatch):
    """A private copy of the registry (and of the plug-in list) for one test."""
    base = bl.rules.base
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.setenv(bl.rules.PLUGINS_ENV, "")
    return base._REGISTRY


def _rule_class(name="Documented", lr=1e-3):
    """A documented Oja variant made by one class statement (same module and qualname)."""

    @dataclass(frozen=True, repr=False)
    class Documented(bl.rules.Oja):
        """Oja's rule, defined in a test."""

        rate: float = bl.rules.hyperparameter(lr, low=0.0, doc="a second rate")

    return Documented


def test_register_refuses_a_taken_name_unless_replace(registry):
    mine = _rule_class()
    with pytest.raises(ValueError, match=r"register\('oja'\): the name is taken by the rule "
                                         r"brainlearn\.rules\.hebbian\.Oja; choose another name, "
                                         r"or register\('oja', replace=True\) to replace it"):
        bl.rules.register("oja")(mine)
    assert bl.rules.get("oja") is bl.rules.Oja
    assert bl.rules.register("oja", replace=True)(mine) is mine
    assert bl.rules.get("oja") is mine and mine.name == "oja"
    # the same class again is fine, and so is a class statement run again (a reload, a
    # notebook cell): the newer class replaces the older one
    assert bl.rules.register("oja")(mine) is mine
    newer = _rule_class()
    assert bl.rules.register("oja")(newer) is newer and bl.rules.get("oja") is newer
    # an instance of the older class is told what happened
    with pytest.raises(AssertionError, match="was registered as 'oja' again after this class "
                                             "was made"):
        bl.testing.check_metadata(mine())


def test_register_says_the_dataclass_decorator_is_missing(registry):
    class Undecorated(bl.rules.LocalRule):
        """A rule whose author forgot @dataclass."""

        lr: float = bl.rules.hyperparameter(0.01, low=0.0, doc="learning rate")
        summary, equation, reference = "s", "e", "r"
        kernel = bl.rules.Oja.kernel

    message = (r"rule Undecorated is not a dataclass, so 'lr' is a plain class attribute, not a "
               r"hyperparameter; decorate the class with @dataclass\(frozen=True, repr=False\) "
               r"\(from dataclasses\), below @register\(...\)")
    with pytest.raises(TypeError, match=r"register\('undecorated'\): " + message):
        bl.rules.register("undecorated")(Undecorated)
    assert "undecorated" not in registry
    # the conformance suite says the same of an unregistered class (no Numba typing error)
    with pytest.raises(AssertionError, match="failed check_constructible: " + message):
        bl.testing.check_rule(Undecorated)
    # a subclass that declares no field of its own needs no decorator
    class Renamed(bl.rules.Oja):
        summary = "Oja under another name"

    assert bl.rules.register("renamed_oja")(Renamed) is Renamed


ONE_FILE = '''
from dataclasses import dataclass

import brainlearn as bl


@bl.rules.register("one_file_rule")
@dataclass(frozen=True, repr=False)
class OneFileRule(bl.rules.Oja):
    """Oja's rule, in a file imported under two module names."""
'''


def _import_as(path, name, monkeypatch):
    """Import the file ``path`` as the module ``name``, as an import statement would."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def test_one_file_imported_under_two_module_names_is_one_rule(registry, tmp_path, monkeypatch):
    """A script that is also imported by name (an entry point, --plugin, a worker process)
    runs its @register twice, from two module names: one rule, the class registered first."""
    path = tmp_path / "one_file.py"
    path.write_text(ONE_FILE)
    first = _import_as(path, "one_file_as_script", monkeypatch)
    second = _import_as(path, "one_file_as_module", monkeypatch)
    assert second.OneFileRule is first.OneFileRule is bl.rules.get("one_file_rule")
    bl.testing.check_metadata(second.OneFileRule())


SCRIPT_IMPORTED_BY_NAME = ONE_FILE + '''

if __name__ == "__main__":
    import one_script_rule                     # the script imports itself by its module name
    loaded = bl.rules.load_plugin(__file__)    # and as a plug-in file: not imported again
    print(one_script_rule.OneFileRule is OneFileRule, loaded.__name__,
          bl.rules.get("one_file_rule") is OneFileRule)
    bl.testing.check_metadata(OneFileRule())
    print("check_metadata passed")
'''


def test_script_that_is_also_imported_by_name_passes_the_metadata_check(tmp_path):
    path = tmp_path / "one_script_rule.py"
    path.write_text(SCRIPT_IMPORTED_BY_NAME)
    env = dict(os.environ)
    here = str(Path(bl.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([here] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    env.pop(bl.rules.PLUGINS_ENV, None)
    res = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env,
                         timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["True __main__ True", "check_metadata passed"]


def test_load_plugin_imports_a_file_once_and_lists_it_for_workers(registry, tmp_path):
    path = tmp_path / "load_plugin_rule.py"
    path.write_text(ONE_FILE.replace("one_file_rule", "load_plugin_rule"))
    module = bl.rules.load_plugin(str(path))
    assert module.__name__ == "load_plugin_rule" and sys.modules["load_plugin_rule"] is module
    assert bl.rules.get("load_plugin_rule") is module.OneFileRule
    assert bl.rules.load_plugin(str(path)) is module            # once
    assert os.environ[bl.rules.PLUGINS_ENV].split(os.pathsep) == [str(path.resolve())]
    assert bl.rules.load_plugin("json").__name__ == "json"      # a module name
    assert os.environ[bl.rules.PLUGINS_ENV].split(os.pathsep) == [str(path.resolve()), "json"]
    with pytest.raises(ValueError, match=r"plugin='nothing_here\.py': no such file"):
        bl.rules.load_plugin("nothing_here.py")
    # a name nobody registered points to the way of loading a file
    with pytest.raises(ValueError, match=r"rule='not_loaded_rule' is not a registered rule \(a "
                                         r"rule in a file of your own: load it with --plugin "
                                         r"FILE or bl\.rules\.load_plugin\(FILE\)\)"):
        bl.rules.get("not_loaded_rule")
