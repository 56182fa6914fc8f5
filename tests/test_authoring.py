"""The rule author's documentation: ``help(bl.rules.LearningRule)`` and docs/authoring.md.

The guide's complete example is run as a reader would run it: its rule file is written to a
temporary folder, the usage block is executed there (``load_plugin``, ``check_rule``,
training), and the numbers the guide quotes are checked, including the collapse of the
baseline-free rule. Also: ``Network.incoming``/``outgoing`` take population names, as
``connect`` does.
"""

import dataclasses
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.rules import LearningRule

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "authoring.md"


def _class_attributes():
    """The class attributes a rule author may set: every ClassVar of LearningRule."""
    return [k for k, ann in LearningRule.__annotations__.items() if "ClassVar" in str(ann)]


def _section(text, heading):
    """The text under the Markdown heading ``heading`` (up to the next heading of its level)."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1:]
    end = re.search(rf"^{level} ", rest, flags=re.M)
    return rest[:end.start()] if end else rest


def _python_blocks(text):
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.M | re.S)


# -- the docstring and the guide -------------------------------------------------------------------
def test_help_of_learning_rule_explains_every_class_attribute():
    doc = LearningRule.__doc__
    lines = [line[4:] for line in doc.splitlines()]  # the docstring's body is indented by 4
    start, end = lines.index("Attributes"), lines.index("Notes")
    assert set(lines[start + 1]) == {"-"} and set(lines[end + 1]) == {"-"}
    documented = set()
    for line in lines[start + 2:end]:  # numpydoc: "name : type" or "a, b, c" at column 0
        if line and not line.startswith(" "):
            documented |= {n.strip() for n in line.split(" : ")[0].split(",")}
    assert set(_class_attributes()) <= documented, set(_class_attributes()) - documented
    # and the conventions of the signals, the state and the time step
    flat = " ".join(doc.split())
    for phrase in ("1.0 when this sample's output was correct", "no baseline subtracted",
                   "collapses", "dL/dz", "before or after", "shape ``(1,)``",
                   "exp(-dt / tau)", "docs/authoring.md"):
        assert phrase in flat, phrase


def test_guide_is_linked_and_lists_every_class_attribute():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rules_md = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert "](docs/authoring.md)" in readme and "](authoring.md)" in rules_md
    text = GUIDE.read_text(encoding="utf-8")
    table = _section(text, "## The class attributes")
    listed = set(re.findall(r"`(\w+)`", "\n".join(line.split("|")[1] for line in
                                                  table.splitlines() if line.startswith("| "))))
    assert set(_class_attributes()) <= listed, set(_class_attributes()) - listed
    # no machine paths or hosts in the guide
    assert not re.search(r"/(tmp|work|root|home)/", text)


@pytest.fixture
def own_registry(monkeypatch):
    monkeypatch.setattr(bl.rules.base, "_REGISTRY", dict(bl.rules.base._REGISTRY))
    monkeypatch.setenv(bl.rules.PLUGINS_ENV, "")


def test_guide_first_rule_registers_and_checks_its_ranges(tmp_path, own_registry, monkeypatch):
    code = _python_blocks(_section(GUIDE.read_text(encoding="utf-8"), "## A first rule"))[0]
    (tmp_path / "guide_first_rule.py").write_text(code)
    # an entry that monkeypatch removes after the test (with the module load_plugin puts there)
    monkeypatch.setitem(sys.modules, "guide_first_rule", None)
    del sys.modules["guide_first_rule"]
    module = bl.rules.load_plugin(str(tmp_path / "guide_first_rule.py"))
    assert bl.rules.get("scaled_hebb") is module.ScaledHebb
    with pytest.raises(ValueError, match=r"lr=-1.*out of range; allowed: lr >= 0"):
        module.ScaledHebb(lr=-1)


# -- the guide's complete example -----------------------------------------------------------------
@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The guide's example run as written: ``(namespace of the usage block, rule module)``."""
    blocks = _python_blocks(_section(GUIDE.read_text(encoding="utf-8"), "## A complete example"))
    assert len(blocks) == 2, "the example is the rule file, then the code that uses it"
    folder = tmp_path_factory.mktemp("guide")
    (folder / "trace_reward.py").write_text(blocks[0])
    mp = pytest.MonkeyPatch()
    mp.chdir(folder)
    mp.setattr(bl.rules.base, "_REGISTRY", dict(bl.rules.base._REGISTRY))
    mp.setenv(bl.rules.PLUGINS_ENV, "")
    namespace = {}
    try:
        exec(compile(blocks[1], str(GUIDE), "exec"), namespace)  # noqa: S102 - our own docs
        yield namespace, sys.modules["trace_reward"]
    finally:
        sys.modules.pop("trace_reward", None)
        mp.undo()


@pytest.mark.slow
def test_guide_example_passes_check_rule_and_learns(example):
    namespace, module = example
    status = dict(namespace["results"])
    assert status["check_numpy_twin"] == "passed"  # its twin agrees with its kernel
    assert status["check_signals"] == "passed" and status["check_state"] == "passed"
    assert status["check_finite_long_run"] == "passed"
    assert all(s == "passed" or s.startswith("skipped: no ") or "row_local" in s
               or "elementwise" in s for s in status.values()), status
    assert namespace["TraceReward"] is module.TraceReward
    assert namespace["accuracy"] >= 0.95  # the guide: about 0.96 to 0.99


def _zero_one_accuracy(seed, **params):
    data = bl.datasets.load("digits")
    train, test = data.y_train < 2, data.y_test < 2
    net = bl.Network(seed=seed)
    inp = net.add_input(64, name="input")
    out = net.add_population(2, activation="softmax", name="output")
    net.connect(inp, out, rule="trace_reward", **params)
    bl.train(net, (data.x_train[train], data.y_train[train]), epochs=5, seed=seed, quiet=True)
    predicted = net.predict(data.x_test[test]).argmax(axis=1)
    return (predicted == data.y_test[test]).mean(), np.unique(predicted).size


@pytest.mark.slow
def test_reward_without_a_baseline_collapses_as_the_guide_says(example):
    """The reward is 0 or 1 with no baseline: without one of its own the rule only grows
    weights, and the layer predicts one digit for every image."""
    with_baseline = [_zero_one_accuracy(seed) for seed in range(3)]
    without = [_zero_one_accuracy(seed, tau_r=1e9) for seed in range(3)]
    assert all(0.95 <= acc <= 0.995 for acc, _ in with_baseline), with_baseline
    assert all(0.48 <= acc <= 0.52 and classes == 1 for acc, classes in without), without


@pytest.mark.slow
def test_guide_example_state_is_saved_and_follows_the_dtype(example, tmp_path):
    _, module = example
    net = bl.Network(seed=0, dtype="float32")
    q = net.connect(net.add_input(3), net.add_population(2, activation="softmax"),
                    rule="trace_reward")
    assert [(f, v.dtype, v.shape) for f, v in zip(q.state._fields, q.state)] == \
        [("trace", np.float32, (2, 3)), ("baseline", np.float32, (1,))]
    q.state.baseline[0] = 0.25
    net.save(tmp_path / "net.npz")
    loaded = bl.load(tmp_path / "net.npz").projections[0]
    assert loaded.state.baseline.shape == (1,) and loaded.state.baseline[0] == np.float32(0.25)
    assert dataclasses.is_dataclass(module.TraceReward)


# -- Network.incoming / outgoing by name -----------------------------------------------------------
def test_incoming_and_outgoing_take_population_names():
    net = bl.Network(seed=0)
    inp = net.add_input(4, name="input")
    out = net.add_population(2, name="output")
    p = net.connect("input", "output")
    assert net.incoming("output") == [p] == net.incoming(out)
    assert net.outgoing("input") == [p] == net.outgoing(inp)
    assert net.incoming("input") == [] and net.outgoing("output") == []
    with pytest.raises(ValueError, match=r"pop='hidden' is not a population of this network; "
                                         r"have: input, output"):
        net.incoming("hidden")
