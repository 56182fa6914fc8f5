"""The command line: --version, python -m brainlearn, ``rules`` (table, JSON, Markdown), and the
error contract (bad usage or input: one line on stderr, exit status 2, no traceback)."""

import dataclasses
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import brainlearn as bl
from brainlearn import cli
from brainlearn.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "rules.md"

REQUIRED_KEYS = {"name", "class", "family", "locality", "needs", "summary", "equation", "reference",
                 "elementwise", "updates_bias", "feedback", "constraint", "lateral", "unstable",
                 "output_only", "state_uses_network", "online_equals_batch1", "hyperparameters"}
HYPERPARAMETER_KEYS = {"name", "type", "default", "low", "high", "low_open", "high_open", "range",
                       "doc"}


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "brainlearn", *args], capture_output=True,
                          text=True, env=env)


@pytest.fixture
def rules_json(capsys):
    assert main(["rules", "--json"]) == 0
    return {r["name"]: r for r in json.loads(capsys.readouterr().out)}


# -- version and entry points -------------------------------------------------------------------
def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"brainlearn {bl.__version__}"


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "brainlearn", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"brainlearn {bl.__version__}"


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "rules" in capsys.readouterr().out
    assert main(["rules", "--help"]) == 0
    assert "--markdown" in capsys.readouterr().out


# -- rules: table -------------------------------------------------------------------------------
def test_rules_lists_registered_rules(capsys):
    assert main(["rules"]) == 0
    assert "backprop" in capsys.readouterr().out
    assert main(["rules", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    backprop = next(r for r in rows if r["name"] == "backprop")
    assert backprop["family"] == "gradient" and "error" in backprop["needs"]


def test_rules_table_has_one_aligned_row_per_rule(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "FAMILY", "LOCALITY", "SIGNALS", "SUMMARY"]
    assert [line.split()[0] for line in lines[1:]] == bl.rules.available()
    summary_col = lines[0].index("SUMMARY")
    for line in lines[1:]:
        name = line.split()[0]
        cls = bl.rules.get(name)
        assert line[summary_col:] == cls.summary  # every column lines up, even "three-factor"
        assert line[summary_col - 2:summary_col] == "  "


@pytest.mark.parametrize("width", [40, 80, 100, 120])
def test_rules_table_fits_the_terminal_width(capsys, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    for line in out.splitlines():
        # below ~80 columns the name/family/locality/signals row alone is wider than the
        # terminal; the summaries still wrap to fit, on indented lines of their own
        assert len(line) <= width or (width < 80 and not line.startswith(" ")), line
    words = " ".join(out.split())
    for name in bl.rules.available():  # wrapping loses no words of any summary
        assert " ".join(bl.rules.get(name).summary.split()) in words


def test_rules_table_lists_failed_plugins_on_stderr(capsys, monkeypatch):
    monkeypatch.setattr(bl.rules, "plugin_errors",
                        lambda: {"broken_rule": "ImportError: no module named 'nowhere'"})
    assert main(["rules"]) == 0
    captured = capsys.readouterr()
    assert "broken_rule" not in captured.out
    assert captured.err.splitlines() == ["1 rule plug-in(s) failed to load:",
                                         "  broken_rule: ImportError: no module named 'nowhere'"]


# -- rules: JSON ----------------------------------------------------------------------------------
def test_rules_json_has_every_metadata_field(rules_json):
    """Every tag and documentation attribute of a rule, plus the hyperparameters."""
    fields = cli.metadata_fields()
    assert REQUIRED_KEYS - {"class", "hyperparameters"} <= set(fields)
    assert sorted(rules_json) == bl.rules.available()
    for name, row in rules_json.items():
        cls = bl.rules.get(name)
        assert set(row) == set(fields) | {"class", "hyperparameters"}, name
        for key in ("summary", "equation", "reference"):
            assert row[key] == getattr(cls, key), (name, key)
        for key in ("family", "locality", "feedback"):
            assert row[key] == getattr(cls.tags, key), (name, key)
        for key in (k for k, annotation in fields.items() if "bool" in annotation):
            assert row[key] is bool(getattr(cls.tags, key)), (name, key)
        assert set(row["needs"]) == set(cls.needs)
        assert [h["name"] for h in row["hyperparameters"]] == \
            [f.name for f in dataclasses.fields(cls)]
        defaults = cls().get_params()
        for h in row["hyperparameters"]:
            assert set(h) == HYPERPARAMETER_KEYS
            assert h["default"] == defaults[h["name"]]


def test_rules_json_content_for_oja_and_bcm(rules_json):
    oja = rules_json["oja"]
    assert oja["class"] == "brainlearn.rules.Oja"
    assert (oja["family"], oja["locality"], oja["needs"]) == ("hebbian", "local", ["pre", "post"])
    assert oja["elementwise"] is True and oja["unstable"] is False and oja["constraint"] is False
    assert "Oja 1982" in oja["reference"] and "\\eta" in oja["equation"]
    assert oja["hyperparameters"] == [{
        "name": "lr", "type": "float", "default": 1e-3, "low": 0.0, "high": None,
        "low_open": False, "high_open": False, "range": "[0, inf)", "doc": "learning rate"}]
    bcm = {h["name"]: h for h in rules_json["bcm"]["hyperparameters"]}
    assert bcm["y0"]["low_open"] is True and bcm["y0"]["range"] == "(0, inf)"
    assert rules_json["backprop"]["needs"] == ["pre", "post", "error"]
    momentum = rules_json["backprop"]["hyperparameters"][1]
    assert (momentum["name"], momentum["high"], momentum["high_open"]) == ("momentum", 1.0, True)
    assert momentum["range"] == "[0, 1)"
    assert rules_json["reward_hebbian"]["needs"] == ["pre", "post", "reward"]
    competitive = {h["name"]: h for h in rules_json["competitive"]["hyperparameters"]}
    assert competitive["rank"]["type"] == "int" and competitive["by_distance"]["type"] == "bool"
    assert rules_json["clip"]["constraint"] is True and rules_json["anti_hebbian"]["lateral"] is True
    assert rules_json["delta"]["output_only"] is True
    assert rules_json["feedback_alignment"]["feedback"] == "random"


def test_json_ranges_agree_with_validation(rules_json):
    """The published range is the one the constructor enforces: the bounds pass, just outside fails."""
    for name, row in rules_json.items():
        cls = bl.rules.get(name)
        for h in row["hyperparameters"]:
            if h["type"] != "float":
                continue
            for bound, is_open, outside in ((h["low"], h["low_open"], -1e-3),
                                            (h["high"], h["high_open"], 1e-3)):
                if bound is None:
                    continue
                if not is_open:
                    cls(**{h["name"]: bound})
                with pytest.raises(ValueError, match=h["name"]):
                    cls(**{h["name"]: bound if is_open else bound + outside})


# -- rules: Markdown ----------------------------------------------------------------------------
def test_rules_markdown_has_summary_table_and_a_section_per_rule(capsys):
    assert main(["rules", "--markdown"]) == 0
    md = capsys.readouterr().out
    lines = md.splitlines()
    assert lines[0] == "# Learning rules"
    assert "| rule | family | locality | signals | summary |" in lines
    names = bl.rules.available()
    assert [line[3:] for line in lines if line.startswith("## ")] == names
    for name in names:
        assert f"| [`{name}`](#{name}) |" in md
    assert md.count("$$\n") == 2 * sum(bool(bl.rules.get(n).equation) for n in names)
    assert md.count("| hyperparameter | default | valid range | description |") == \
        sum(bool(dataclasses.fields(bl.rules.get(n))) for n in names)
    section = md[md.index("## bcm\n"):md.index("## clip\n")]
    assert "$$\n" + bl.rules.BCM.equation + "\n$$" in section
    assert "| `y0` | `1` | (0, inf) | threshold scale |" in section
    assert "Bienenstock, Cooper & Munro 1982" in section
    assert "`pre` (presynaptic activity)" in section


def test_committed_rule_reference_is_up_to_date(capsys):
    assert main(["rules", "--markdown", "--builtin"]) == 0
    expected = capsys.readouterr().out
    committed = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    assert committed == expected, (
        f"docs/rules.md is stale; regenerate it from the repository root with\n"
        f"    {cli.DOCS_COMMAND}\n(or: python -m brainlearn rules --markdown --builtin "
        f"--output docs/rules.md) and commit it")


def test_builtin_leaves_out_rules_registered_elsewhere(capsys, monkeypatch):
    @dataclass(frozen=True)
    class LocalTestRule(bl.rules.LocalRule):
        summary = "a rule registered by a test"
        kernel = bl.rules.Hebb.kernel

    monkeypatch.setattr(LocalTestRule, "name", "local_test_rule")
    monkeypatch.setitem(bl.rules.base._REGISTRY, "local_test_rule", LocalTestRule)
    assert main(["rules"]) == 0
    assert "a rule registered by a test" in capsys.readouterr().out
    assert main(["rules", "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "local_test_rule")
    assert row["class"].endswith("LocalTestRule") and row["hyperparameters"] == []
    assert main(["rules", "--markdown", "--builtin"]) == 0
    assert "local_test_rule" not in capsys.readouterr().out


def test_output_writes_the_file_atomically(tmp_path, capsys):
    target = tmp_path / "rules.md"
    target.write_text("old contents\n")
    assert main(["rules", "--markdown", "--output", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["rules", "--markdown"]) == 0
    assert target.read_text(encoding="utf-8") == capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["rules.md"]  # no temporary file left behind
    assert main(["rules", "--json", "-o", str(tmp_path / "rules.json")]) == 0
    assert "oja" in {r["name"] for r in json.loads((tmp_path / "rules.json").read_text())}


def test_closed_pipe_ends_quietly(capsys, monkeypatch):
    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["rules"]) == 1
    assert capsys.readouterr().err == ""


# -- error contract -----------------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["rules", "--bogus"], "unrecognized arguments: --bogus"),
    (["rules", "--json", "--markdown"], "not allowed with argument"),
    (["rules", "--output"], "expected one argument"),
    (["rules", "--markdown", "--output", os.path.join("no_such_dir", "x", "rules.md")],
     "does not exist"),
])
def test_bad_usage_exits_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and message in captured.err
    assert captured.err.startswith("brainlearn")


def test_rules_output_that_cannot_be_written_names_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("keep")
    for output, said in (("folder", "folder is a folder, not a file"),
                         (os.path.join("afile", "rules.md"), "afile is a file, not a folder")):
        assert main(["rules", "--output", output]) == 2
        captured = capsys.readouterr()
        assert captured.err == (f"brainlearn: error: --output {output}: {said}; allowed: a file "
                                "path in an existing folder\n")
    assert sorted(os.listdir(tmp_path)) == ["afile", "folder"]
    assert os.listdir(tmp_path / "folder") == []


def test_bad_input_from_the_library_is_one_line(capsys, monkeypatch):
    def boom(args):
        raise ValueError("Oja: lr=-1 is out of range;\n allowed: lr >= 0")

    monkeypatch.setattr(cli, "_cmd_rules", boom)
    assert main(["rules"]) == 2
    assert capsys.readouterr().err == "brainlearn: error: Oja: lr=-1 is out of range; allowed: lr >= 0\n"


def test_bad_usage_exits_2_with_one_line_and_no_traceback(tmp_path):
    out = run_cli("frobnicate")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "invalid choice: 'frobnicate'" in out.stderr
    out = run_cli("rules", "--markdown", "--output", str(tmp_path / "missing" / "rules.md"))
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.splitlines()) == 1 and "Traceback" not in out.stderr
