"""The command line: --version, python -m brainlearn, rules listing, exit status for bad usage."""

import json
import subprocess
import sys

import brainlearn as bl
from brainlearn.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"brainlearn {bl.__version__}"


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "brainlearn", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"brainlearn {bl.__version__}"


def test_rules_lists_registered_rules(capsys):
    assert main(["rules"]) == 0
    assert "backprop" in capsys.readouterr().out
    assert main(["rules", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    backprop = next(r for r in rows if r["name"] == "backprop")
    assert backprop["family"] == "gradient" and "error" in backprop["needs"]


def test_bad_usage_exits_2_with_one_line_and_no_traceback():
    out = subprocess.run([sys.executable, "-m", "brainlearn", "frobnicate"], capture_output=True,
                         text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "invalid choice: 'frobnicate'" in out.stderr
