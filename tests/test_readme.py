"""README's Python works as written, after ``import brainlearn as bl``.

* every name ``bl.a.b`` the README mentions (in code blocks or in the text) resolves;
* every inline call ``bl.f(...)`` in the text binds to the signature of ``f``;
* the ``python`` code blocks run, in order, as one module in a temporary folder (as a reader
  pastes them into a file), and the results they state in a comment (``# about 0.97``,
  ``# ~1.0``) hold. Calls under ``if __name__ == "__main__":`` (the studies and sweeps, which
  run for minutes) are not run, but must bind to the signatures of what they call.
"""

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import brainlearn as bl

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: a fenced code block: its language and body
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
#: a result stated in a comment on a line of code: "# about 0.97", "# ~1.0"
CLAIM = re.compile(r"^(?P<code>[^#]*?\S)\s*#\s*(?:about|~)\s*(?P<value>-?\d+(?:\.\d+)?)")


def _python_blocks():
    return [body for lang, body in FENCE.findall(README) if lang == "python"]


def _prose():
    """The README without its fenced code blocks."""
    return FENCE.sub("", README)


def _resolve(dotted):
    obj = bl
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def test_the_readme_has_python_blocks_and_bl_names():
    assert len(_python_blocks()) >= 5
    assert "import brainlearn as bl" in _python_blocks()[0]


@pytest.mark.parametrize("name", sorted(set(re.findall(r"\bbl(?:\.[A-Za-z_]\w*)+", README))))
def test_every_bl_name_in_the_readme_resolves(name):
    try:
        _resolve(name)
    except AttributeError as exc:
        pytest.fail(f"README uses {name}, but after `import brainlearn as bl`: {exc}")


class _Anything:
    """A value the README's text leaves open (``net``, ``x``, ``DIR``, ``...``)."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


class _Binding:
    """A brainlearn object whose call binds its arguments to the signature instead of running."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __getattr__(self, attr):
        return _Binding(getattr(self.obj, attr), f"{self.name}.{attr}")

    def __call__(self, *args, **kwargs):
        try:
            inspect.signature(self.obj).bind(*args, **kwargs)
        except TypeError as exc:
            raise AssertionError(f"{self.name}(...) in the README: {exc}") from None
        return _Anything()


class _Open(dict):
    def __missing__(self, key):
        return _Anything()


def _inline_calls():
    spans = (" ".join(s.split()) for s in re.findall(r"`([^`]+)`", _prose()))
    return sorted({s for s in spans if re.match(r"bl(\.\w+)+\(", s)})


def test_the_inline_calls_are_found():
    assert 'bl.datasets.load("digits")' in _inline_calls()
    assert any(call.startswith("bl.train(") for call in _inline_calls())


@pytest.mark.parametrize("call", _inline_calls())
def test_every_inline_call_in_the_readme_binds_to_its_signature(call):
    """``bl.train(net, (x, y))`` in the text: the names resolve and the arguments fit."""
    eval(compile(call, "README.md", "eval"), {"bl": _Binding(bl, "bl")}, _Open())  # noqa: S307


def _module_source():
    """The python blocks as one module; after each line stating a result, a line recording
    that result (line number in the module, value, stated value)."""
    out = ["_readme_claims = []"]
    for block in _python_blocks():
        for line in block.splitlines():
            out.append(line)
            m = CLAIM.match(line)
            if not m:
                continue
            code = m["code"].strip()
            call = re.fullmatch(r"print\((.*)\)", code)
            expr = call[1] if call else code
            ast.parse(expr, mode="eval")  # a stated result belongs to an expression
            indent = line[:len(line) - len(line.lstrip())]
            out.append(f"{indent}_readme_claims.append(({len(out)}, {code!r}, float({expr}), "
                       f"{m['value']!r}))")
        out.append("")
    return "\n".join(out) + "\n"


PROBE = textwrap.dedent('''
    import ast, inspect, json, sys
    sys.path.insert(0, ".")
    import readme_example as module   # runs every python block of the README, in order
    import brainlearn as bl

    class Anything:
        def __getattr__(self, name):
            return self
        def __call__(self, *args, **kwargs):
            return self

    class Binding:
        def __init__(self, obj):
            self.obj = obj
        def __call__(self, *args, **kwargs):
            inspect.signature(self.obj).bind(*args, **kwargs)
            return Anything()

    def ours(v):
        return callable(v) and (getattr(v, "__module__", "") or "").startswith("brainlearn")

    # what runs under `if __name__ == "__main__":` calls brainlearn with bound arguments only
    guarded = 0
    source = ast.parse(open(module.__file__).read())
    for node in source.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            ns = {k: Binding(v) if ours(v) else v for k, v in vars(module).items()}
            ns["bl"] = Anything()
            exec(compile(ast.Module(node.body, []), "README.md", "exec"), ns)
            guarded += 1
    print(json.dumps({"claims": module._readme_claims, "guarded": guarded}))
''')


def test_the_readme_python_blocks_run_and_their_stated_results_hold(tmp_path):
    (tmp_path / "readme_example.py").write_text(_module_source(), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    # the quick start's accuracy and Storkey's recall: each stated result was checked
    assert len(found["claims"]) >= 2, found
    for line, code, got, stated in found["claims"]:
        decimals = len(stated.split(".")[1]) if "." in stated else 0
        tolerance = 1.5 * 10.0 ** -decimals  # "about 0.97": within 0.015
        assert abs(got - float(stated)) <= tolerance, \
            f"README states {code} is about {stated}; it gives {got:.4g}"
    assert found["guarded"] >= 1  # the sweep example, bound to run_sweep's signature
