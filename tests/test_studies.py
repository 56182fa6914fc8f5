"""The study framework (brainlearn.studies): registry, configuration overrides, the runner's
files, statuses, determinism across worker processes, resume and force.

Runs a tiny fake study (tests/fake_study.py: no network, no compiling), so these tests check the
runner itself; each real study has its own tests.
"""

import json
import math
import os
import shutil
from dataclasses import dataclass

import fake_study
import pytest
from fake_study import FakeConfig, FakeStudy, TimedFakeStudy, read

from brainlearn import results as R
from brainlearn.studies import (
    Study,
    available_studies,
    execute,
    get_study,
    make_executor,
    parse_overrides,
    plan_study,
    register_study,
    run_study,
    unregister_study,
)
from brainlearn.studies._executors import RunTask, seeds_outermost

pytestmark = pytest.mark.usefixtures("fake", "calls")


# -- registry --------------------------------------------------------------------------------------
def test_registry_lists_gets_and_refuses_bad_studies(fake):
    assert "fake" in available_studies() and available_studies() == sorted(available_studies())
    assert get_study("fake") is fake
    with pytest.raises(ValueError, match=r"unknown study 'nope' \(available: .*fake"):
        get_study("nope")
    with pytest.raises(TypeError, match="Study instance, got the class"):
        register_study(FakeStudy)

    @dataclass  # not frozen
    class Loose:
        x: int = 1

    class Bad(FakeStudy):
        Config = Loose
    with pytest.raises(TypeError, match="frozen"):
        register_study(Bad())

    class Other(FakeStudy):  # another class under a taken name
        pass
    with pytest.raises(ValueError, match="'fake' is taken"):
        register_study(Other())

    class NoRun(Study):
        name, Config = "norun", FakeConfig
    with pytest.raises(TypeError, match="run_one"):
        register_study(NoRun())
    assert "norun" not in available_studies()


def test_default_rules_come_from_the_rule_registry_by_metadata():
    class Gradients(FakeStudy):
        def fits(self, rule_cls):
            return rule_cls.tags.family == "gradient"
        default_rules = Study.default_rules
        valid_rules = Study.valid_rules

    rules = Gradients().default_rules(FakeConfig())
    assert "backprop" in rules and "oja" not in rules and rules == sorted(rules)
    # the base class takes every rule but constraints
    base = Study.default_rules(FakeStudy(), FakeConfig())
    assert "oja" in base and "backprop" in base and "clip" not in base


# -- configuration ---------------------------------------------------------------------------------
def test_overrides_are_parsed_to_the_field_types(fake):
    config = fake.make_config(True, {"steps": "5", "scale": "0.5", "noisy": "false",
                                     "widths": "4, 5,6", "note": "none", "kind": "x=y"})
    assert config == FakeConfig(steps=5, scale=0.5, noisy=False, widths=(4, 5, 6), note=None,
                                kind="x=y")
    assert fake.make_config(True).steps == 3 and fake.make_config(False).steps == 6
    assert fake.make_config(False, {"note": "hello", "scale": 2}).scale == 2.0
    assert parse_overrides(FakeConfig, {"widths": ""}) == {"widths": ()}


@pytest.mark.parametrize("overrides, match", [
    ({"nope": "1"}, r"--set nope: unknown key \(allowed: steps, scale, noisy, diverge, fail, "
                    r"widths, note, kind\)"),
    ({"steps": "abc"}, r"--set steps=abc: expected an int"),
    ({"steps": "2.5"}, r"--set steps=2.5: expected an int"),
    ({"noisy": "maybe"}, r"--set noisy=maybe: expected true/false"),
    ({"widths": "1,x"}, r"--set widths=1,x: expected a comma-separated list of an int"),
    ({"scale": "fast"}, r"--set scale=fast: expected a number"),
    ({"steps": 2.5}, r"--set steps=2.5: expected an int"),
    ({"steps": "0"}, r"steps=0: expected an int >= 1"),  # the Config's own validation
])
def test_bad_overrides_raise_one_line_and_write_nothing(tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match) as info:
        run_study("fake", quick=True, out=tmp_path / "out", overrides=overrides)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(rules=["alpha", "nosuch"]), ValueError,
     r"unknown rule 'nosuch' for study 'fake' \(valid: alpha, beta, gamma\)"),
    (dict(rules="oja"), ValueError, r"rule 'oja' does not fit study 'fake' \(valid: alpha"),
    (dict(rules=[]), ValueError, r"no rule given"),
    (dict(seeds=0), ValueError, r"seeds=0: expected an int >= 1"),
    (dict(seeds=True), TypeError, r"seeds=True"),
    (dict(workers=0), ValueError, r"workers=0"),
    (dict(mode="append"), ValueError, r"mode='append'"),
    (dict(overrides=["steps=1"]), TypeError, r"overrides: expected a dict"),
])
def test_bad_arguments_raise_before_anything_is_written(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        run_study("fake", quick=True, out=tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


# -- a run: files, columns, values -----------------------------------------------------------------
def test_run_writes_config_metrics_summary_meta_and_figures(tmp_path, calls):
    res = run_study("fake", seeds=2, quick=True, out=tmp_path)
    assert res.path == os.path.join(tmp_path, "fake") and res.exit_status == 0
    assert calls == [("alpha", 0), ("alpha", 1), ("beta", 0), ("beta", 1)]  # default rules
    config = R.read_json(res.config_path)
    assert config == {"study": "fake", "quick": True, "rules": ["alpha", "beta"], "seeds": [0, 1],
                      "config": {"steps": 3, "scale": 1.0, "noisy": True, "diverge": "",
                                 "fail": "", "widths": [2, 3], "note": None, "kind": "plain"}}

    with open(res.metrics_path) as fh:
        assert fh.readline().strip() == "rule,seed,task,step,metric,value,phase"
    rows = res.read_metrics()
    assert len(rows) == 4 * (3 + 1)
    assert [(r["rule"], r["seed"]) for r in rows[::4]] == calls  # ordered by rule, then seed

    summary = res.read_summary()
    assert [(s["rule"], s["task"], s["metric"], s["n"]) for s in summary] == \
        [("alpha", "t1", "score", 2), ("beta", "t1", "score", 2)]  # headline only
    finals = [r["value"] for r in rows if r["rule"] == "beta" and r["metric"] == "score"
              and r["step"] == 2]
    assert summary[1]["mean"] == pytest.approx(sum(finals) / 2)
    assert summary[1]["ci95"] > 0

    meta = res.read_meta()
    assert meta["status"] == "complete" and meta["counts"] == {"ok": 4, "diverged": 0,
                                                               "failed": 0}
    assert meta["seeds"] == [0, 1] and meta["figures"] == ["fake_curves"]
    assert all(r["status"] == "ok" and r["wall_time"] >= 0 for r in meta["runs"])
    assert {"brainlearn", "python", "numpy", "numba"} <= set(meta["provenance"])
    figures = sorted(os.listdir(res.figures_dir))
    assert figures == ["captions.json", "fake_curves.png", "fake_curves.svg", "findings.json"]
    assert sorted(res.figure_paths) == [os.path.join(res.figures_dir, f) for f in figures[1:3]]
    # a study without findings (the base class's hook) stores none
    assert R.read_json(os.path.join(res.figures_dir, "findings.json")) == {}


def test_diverged_and_failed_runs_are_recorded_and_the_others_go_on(tmp_path, calls):
    res = run_study("fake", rules=["alpha", "beta", "gamma"], seeds=2, quick=True, out=tmp_path,
                    overrides={"diverge": "beta", "fail": "gamma"})
    assert len(calls) == 6 and res.exit_status == 1
    assert res.counts == {"ok": 3, "diverged": 1, "failed": 2}
    runs = {(r["rule"], r["seed"]): r for r in res.read_meta()["runs"]}
    assert runs["beta", 1]["status"] == "diverged" and runs["beta", 1]["step"] == 2
    assert runs["gamma", 0]["status"] == "failed"
    assert "RuntimeError: the gamma run broke on purpose" in runs["gamma", 0]["error"]
    rows = res.read_metrics()
    assert not [r for r in rows if r["rule"] == "gamma"]
    diverged = [r["value"] for r in rows if (r["rule"], r["seed"]) == ("beta", 1)]
    assert len(diverged) == 3 and math.isnan(diverged[-1])  # the rows it attached
    beta = next(s for s in res.read_summary() if s["rule"] == "beta")
    assert (beta["n"], beta["n_nan"]) == (1, 1)
    assert os.path.exists(os.path.join(res.figures_dir, "fake_curves.svg"))


def test_same_seed_same_metrics_with_one_or_two_workers(tmp_path):
    kwargs = dict(rules="alpha,beta", seeds=2, quick=True, overrides={"diverge": "beta"})
    one = run_study("fake", out=tmp_path / "one", **kwargs)
    two = run_study("fake", out=tmp_path / "two", workers=2, **kwargs)
    assert two.counts == one.counts == {"ok": 3, "diverged": 1, "failed": 0}
    assert read(one.metrics_path) == read(two.metrics_path)
    assert read(one.summary_path) == read(two.summary_path)
    # the figures are drawn from the same CSV, so they are the same file
    svg = os.path.join("figures", "fake_curves.svg")
    assert read(os.path.join(one.path, svg)) == read(os.path.join(two.path, svg))


def test_progress_bar_only_when_asked_or_on_a_terminal(tmp_path, capsys):
    run_study("fake", seeds=1, quick=True, out=tmp_path / "a", progress=True)
    assert "2/2" in capsys.readouterr().err
    run_study("fake", seeds=1, quick=True, out=tmp_path / "b")  # stderr is not a terminal
    assert capsys.readouterr().err == ""


# -- resume and force ------------------------------------------------------------------------------
def test_resume_after_an_interruption_runs_only_what_is_missing(tmp_path, calls):
    fresh = run_study("fake", seeds=2, quick=True, out=tmp_path / "fresh")
    calls.clear()
    fake_study.INTERRUPT[0] = ("beta", 0)
    with pytest.raises(KeyboardInterrupt):
        run_study("fake", seeds=2, quick=True, out=tmp_path)
    rd = R.ResultsDir(tmp_path, "fake")
    assert rd.completed_runs() == {("alpha", 0), ("alpha", 1)}
    assert not os.path.exists(rd.metrics_path)

    fake_study.INTERRUPT[0] = None
    calls.clear()
    with pytest.raises(R.ResultsError, match="--resume"):
        run_study("fake", seeds=2, quick=True, out=tmp_path)
    res = run_study("fake", seeds=2, quick=True, out=tmp_path, mode="resume")
    assert calls == [("beta", 0), ("beta", 1)] and res.ran == calls
    assert read(res.metrics_path) == read(fresh.metrics_path)
    assert len(res.read_meta()["sessions"]) == 2

    # a run whose record is lost (killed while writing) is run again, and only it
    os.unlink(rd.run_paths("alpha", 1)[1])
    calls.clear()
    again = run_study("fake", seeds=2, quick=True, out=tmp_path, mode="resume")
    assert calls == [("alpha", 1)]
    assert read(again.metrics_path) == read(fresh.metrics_path)

    # failed runs are finished too, but run again on resume
    calls.clear()
    run_study("fake", seeds=1, quick=True, out=tmp_path / "f", overrides={"fail": "beta"})
    assert calls == [("alpha", 0), ("beta", 0)]


def test_resume_needs_the_same_configuration_and_force_replaces(tmp_path, calls):
    first = run_study("fake", seeds=2, quick=True, out=tmp_path)
    before = {n: read(os.path.join(first.path, n)) for n in ("config.json", "metrics.csv",
                                                              "meta.json", "summary.csv")}
    with pytest.raises(R.ResultsError, match=r"differs from the stored one at config\.scale"):
        run_study("fake", seeds=2, quick=True, out=tmp_path, mode="resume",
                  overrides={"scale": "2"})
    with pytest.raises(R.ResultsError, match=r"already holds results.*--resume.*--force"):
        run_study("fake", seeds=2, quick=True, out=tmp_path, overrides={"scale": "2"})
    assert before == {n: read(os.path.join(first.path, n)) for n in before}  # untouched

    calls.clear()
    forced = run_study("fake", seeds=1, quick=True, out=tmp_path, mode="force",
                       overrides={"scale": "2"})
    assert calls == [("alpha", 0), ("beta", 0)]
    assert R.read_json(forced.config_path)["config"]["scale"] == 2.0
    assert {(r["rule"], r["seed"]) for r in forced.read_metrics()} == {("alpha", 0),
                                                                        ("beta", 0)}
    assert len(os.listdir(forced.runs_dir)) == 4  # the old seed-1 runs are gone


# -- timing metrics --------------------------------------------------------------------------------
def test_timing_metrics_go_to_timings_csv_so_metrics_csv_is_the_same_for_the_same_seed(tmp_path):
    """TimedFakeStudy's ``seconds`` changes at every run (like a wall time): its rows go to
    timings.csv, so metrics.csv of two runs of the same study is the same file, also after an
    interruption and a resume; the summary and the figures still get the timings."""
    register_study(TimedFakeStudy())
    try:
        kwargs = dict(rules="alpha,beta", seeds=2, quick=True, overrides={"diverge": "beta"})
        one = run_study("fake_timed", out=tmp_path / "one", **kwargs)
        fake_study.INTERRUPT[0] = ("beta", 0)
        with pytest.raises(KeyboardInterrupt):
            run_study("fake_timed", out=tmp_path / "two", **kwargs)
        fake_study.INTERRUPT[0] = None
        two = run_study("fake_timed", out=tmp_path / "two", mode="resume", **kwargs)
        from brainlearn.studies import redraw_figures
        shutil.rmtree(two.figures_dir)
        shutil.rmtree(two.runs_dir)  # config.json, metrics.csv and timings.csv suffice
        ((_, paths, error),) = redraw_figures(two.path)
    finally:
        unregister_study("fake_timed")
    assert one.counts == two.counts == {"ok": 3, "diverged": 1, "failed": 0}
    assert read(one.metrics_path) == read(two.metrics_path)
    assert read(one.timings_path) != read(two.timings_path)  # other "seconds"
    with open(one.metrics_path) as a, open(one.timings_path) as b:
        assert a.readline() == b.readline() == "rule,seed,task,step,metric,value,phase\n"
    assert "seconds" not in {r["metric"] for r in one.read_metrics(include_timings=False)}
    timings = one.read_timings()
    assert [(r["rule"], r["seed"], r["metric"]) for r in timings] == [
        ("alpha", 0, "seconds"), ("alpha", 1, "seconds"), ("beta", 0, "seconds")]  # not diverged
    assert all(r["value"] >= 1 for r in timings)
    rows = one.read_metrics()  # both files: each run's timing after its other rows
    assert [r["metric"] for r in rows if (r["rule"], r["seed"]) == ("alpha", 0)][-2:] == \
        ["sum", "seconds"]
    assert one.read_meta()["timing_metrics"] == ["seconds"]
    summary = {(s["rule"], s["metric"]): s for s in one.read_summary()}
    assert sorted(summary) == [("alpha", "score"), ("alpha", "seconds"), ("beta", "score"),
                               ("beta", "seconds")]
    alpha = [r["value"] for r in timings if r["rule"] == "alpha"]
    assert summary["alpha", "seconds"]["mean"] == pytest.approx(sum(alpha) / 2)
    assert summary["beta", "seconds"]["n"] == 1
    assert error is None and sorted(os.path.basename(p) for p in paths) == [
        "fake_curves.png", "fake_curves.svg", "fake_seconds.png", "fake_seconds.svg"]


# -- figures from the stored files alone -----------------------------------------------------------
def test_redraw_figures_from_the_csv_alone(tmp_path):
    from brainlearn.studies import redraw_figures
    res = run_study("fake", seeds=2, quick=True, out=tmp_path)
    svg = read(os.path.join(res.figures_dir, "fake_curves.svg"))
    shutil.rmtree(res.figures_dir)
    shutil.rmtree(res.runs_dir)  # only config.json and metrics.csv are needed
    done = redraw_figures(tmp_path)  # OUT: every study in it
    assert [(rd.path, error) for rd, _, error in done] == [(res.path, None)]
    assert sorted(os.listdir(res.figures_dir)) == ["captions.json", "fake_curves.png",
                                                   "fake_curves.svg", "findings.json"]
    assert read(os.path.join(res.figures_dir, "fake_curves.svg")) == svg
    with open(os.path.join(res.figures_dir, "captions.json")) as fh:
        assert json.load(fh) == FakeStudy.captions


class _Careless(FakeStudy):
    """Rows with the wrong rule label for beta; figures that raise."""
    name = "careless"

    def run_one(self, config, rule, seed):
        rows = super().run_one(config, rule, seed)
        return [dict(r, rule="someone else") for r in rows] if rule == "beta" else rows

    def figures(self, rows, config, figdir):
        raise RuntimeError("no figure today")


def test_bad_rows_fail_the_run_and_a_figure_error_keeps_the_results(tmp_path):
    register_study(_Careless())
    try:
        res = run_study("careless", seeds=1, quick=True, out=tmp_path)
    finally:
        unregister_study("careless")
    assert res.counts == {"ok": 1, "diverged": 0, "failed": 1} and res.exit_status == 1
    assert "cannot be recorded" in res.failed[0]["error"]
    assert "RuntimeError: no figure today" in res.figure_error
    assert res.read_meta()["figure_error"] == res.figure_error
    assert os.path.isfile(res.metrics_path) and os.path.isfile(res.summary_path)


class _Telling(FakeStudy):
    """Findings from the stored summary; the opening table of the report narrowed to beta."""
    name = "telling"
    broken = False

    def findings(self, summary_rows, rows, config):
        if self.broken:
            raise ValueError("no finding today")
        best = max(summary_rows, key=lambda r: r["mean"])
        return {"fake_curves": f"{best['rule']} scores {best['mean']:.2f} in task "
                               f"{best['task']} ({len(rows)} rows)."}

    def overview(self, summary_rows, config):
        return [r for r in summary_rows if r["rule"] == "beta"]


def test_findings_and_overview_are_stored_after_the_summary_and_redrawn(tmp_path):
    from brainlearn.studies import redraw_figures
    study = register_study(_Telling())
    try:
        res = run_study("telling", seeds=2, quick=True, out=tmp_path)
        figdir = res.figures_dir
        summary = res.read_summary()
        best = max(summary, key=lambda r: r["mean"])
        rows = res.read_metrics()
        expected = {"fake_curves": f"{best['rule']} scores {best['mean']:.2f} in task t1 "
                                   f"({len(rows)} rows)."}
        assert R.read_json(os.path.join(figdir, "findings.json")) == expected
        assert R.read_json(os.path.join(figdir, "overview.json")) == \
            [r for r in summary if r["rule"] == "beta"]
        # brainlearn figures writes them again from the stored files
        os.remove(os.path.join(figdir, "findings.json"))
        ((_, _, error),) = redraw_figures(res.path)
        assert error is None
        assert R.read_json(os.path.join(figdir, "findings.json")) == expected
        # findings that raise: the figures and results are kept, the error is reported
        study.broken = True
        ((_, paths, error),) = redraw_figures(res.path)
        assert "ValueError: no finding today" in error and "the findings" in error
        assert sorted(os.path.basename(p) for p in paths) == ["fake_curves.png",
                                                              "fake_curves.svg"]
    finally:
        unregister_study("telling")


# -- the built-in studies --------------------------------------------------------------------------
def test_the_builtin_studies_are_registered_with_quick_sizes():
    assert {"learning", "retention", "spacing"} <= set(available_studies())
    for name in ("learning", "retention", "spacing"):
        study = get_study(name)
        assert study.summary and study.headline
        assert study.make_config(True) != study.make_config(False)
        assert study.default_rules(study.make_config(True))


def test_spacing_on_the_runner(tmp_path):
    """The spacing study through run_study: --set text parsed into its tuple fields, the
    summary at the longest delay per interval, both figures."""
    tiny = {"n_inputs": "100", "n_neurons": "2", "intervals": "0,300,7200",
            "delays": "0,3600,86400", "trajectory_intervals": "0,300", "record_every": "1800",
            "rest_dt": "30"}
    res = run_study("spacing", rules=["tag_and_capture"], seeds=2, quick=True, out=tmp_path,
                    overrides=tiny)
    assert res.exit_status == 0 and res.config.intervals == (0.0, 300.0, 7200.0)
    late = {s["interval_s"]: s for s in res.read_summary() if s["metric"] == "late"}
    assert sorted(late) == ["0.0", "300.0", "7200.0"] and all(s["n"] == 2 for s in late.values())
    assert late["300.0"]["mean"] > late["0.0"]["mean"] > late["7200.0"]["mean"]  # spacing effect
    assert sorted(os.listdir(res.figures_dir)) == [
        "captions.json", "findings.json", "spacing_retention.png", "spacing_retention.svg",
        "spacing_trajectories.png", "spacing_trajectories.svg"]
    findings = R.read_json(os.path.join(res.figures_dir, "findings.json"))
    assert sorted(findings) == ["spacing_retention", "spacing_trajectories"]
    # the best interval against massed, with the summary's numbers
    assert findings["spacing_retention"] == (
        "A day after the last repetition, tag_and_capture keeps a late-phase weight of "
        f"{late['300.0']['mean']:.3g} with repetitions 5 min apart against "
        f"{late['0.0']['mean']:.3g} massed.")


def test_studies_share_one_kept_pool_of_workers_and_give_the_same_results(tmp_path):
    """``execute(plan, executor=make_executor(2, keep=True))``: the second study runs on the
    first one's worker processes (started once), and the files are those of a serial run."""
    kwargs = dict(rules="alpha,beta", seeds=2, quick=True, overrides={"diverge": "beta"})
    executor = make_executor(2, keep=True)
    try:
        first = execute(plan_study("fake", out=tmp_path / "pool", folder="first", **kwargs),
                        executor=executor)
        pids = set(executor._kept[0]._processes)  # the pool's live worker processes
        second = execute(plan_study("fake", out=tmp_path / "pool", folder="second", **kwargs),
                         executor=executor)
        assert len(pids) == 2 and set(executor._kept[0]._processes) == pids
    finally:
        executor.close()
    assert executor._kept is None
    serial = run_study("fake", out=tmp_path / "serial", **kwargs)
    for res in (first, second):
        assert res.counts == {"ok": 3, "diverged": 1, "failed": 0}
        assert read(res.metrics_path) == read(serial.metrics_path)


def test_workers_get_the_runs_seeds_outermost():
    """Worker pools take the runs seed by seed (different rules start together: on a cold
    cache they compile different kernels), keeping the given order within a seed."""
    tasks = [RunTask((rule, seed), rule, seed, None, f"{rule}_{seed}")
             for rule in ("a", "b", "c") for seed in (3, 1)]
    assert [t.name for t in seeds_outermost(tasks)] == ["a_3", "b_3", "c_3", "a_1", "b_1", "c_1"]
