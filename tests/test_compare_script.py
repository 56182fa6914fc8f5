"""The main job's script (experiments/compare.py): its plan is valid and it never replaces
results silently. (The job itself runs in the benchmarks and in README's first command.)"""

from __future__ import annotations

import importlib.util
import os

import pytest

from brainlearn.studies import plan_study

_PATH = os.path.join(os.path.dirname(__file__), os.pardir, "experiments", "compare.py")


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("compare_script", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_part_of_the_plan_is_a_valid_study_run(compare, tmp_path):
    """Each entry plans (rules, overrides and grid checked) without writing anything, and the
    learning runs carry both controls."""
    for folder, study, rules, sets, grid, figures in compare.PLAN:
        plan = plan_study(study, rules=rules, seeds=1, quick=True, out=str(tmp_path),
                          overrides=sets, grid=grid, figures=figures, folder=folder)
        assert plan.results.path == os.path.join(str(tmp_path), folder)
        if study == "learning":
            assert {"random_features", "pca"} <= set(plan.rules)
    assert os.listdir(tmp_path) == []


def test_existing_results_are_refused_without_force(compare, tmp_path, capsys):
    held = tmp_path / "learning"
    held.mkdir()
    (held / "config.json").write_text("{}")
    with pytest.raises(SystemExit) as info:
        compare.main(["--out", str(tmp_path), "--seeds", "1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "already holds results" in err and "--force" in err and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["learning"]
    assert os.listdir(held) == ["config.json"]
    with pytest.raises(SystemExit) as info:
        compare.main(["--out", str(tmp_path), "--force", "--resume"])
    assert info.value.code == 2
