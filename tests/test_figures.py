"""The figures of the retention and memory studies and of sweeps, checked on the matplotlib Figure
itself (not on file sizes): panels, axis labels, lines and bands per panel, shared axes, and
confidence bands that stay within the range of the metric they show.

The rows are made up (a few seeds with a wide spread close to the bounds), so that an unclipped
95% Student-t band would run past them; drawing needs no study run.
"""

import math

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection

from brainlearn.studies import _memory_figures as mf
from brainlearn.studies import _retention_figures as rf
from brainlearn.studies import _sweep_figures as sf
from brainlearn.studies import get_study, parse_grid


@pytest.fixture
def captured(monkeypatch):
    """The Figures the figure functions save, by file name (nothing is written)."""
    figures = {}

    def keep(fig, path, formats=("png", "svg")):
        figures[str(path).replace("\\", "/").rsplit("/", 1)[-1]] = fig
        return [f"{path}.png"]

    for module in (rf, mf, sf):
        monkeypatch.setattr(module, "save_figure", keep)
    return figures


def _bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def _curves(ax):
    """The data lines of a panel (not the reference lines: boundaries, alpha_c)."""
    return [line for line in ax.lines if not line.get_label().startswith("_")]


def _band_range(ax):
    ys = np.concatenate([p.vertices[:, 1] for c in _bands(ax) for p in c.get_paths()])
    return ys.min(), ys.max()


# -- retention -------------------------------------------------------------------------------------
ROLES = {"backprop": "end_to_end", "ewc": "consolidation", "oja": "hidden",
         "tag_and_capture": "hidden"}
SCENARIOS = ("class_incremental", "permuted")
T = 3


def _retention_rows():
    rng = np.random.default_rng(0)
    rows = []
    for rule, role in ROLES.items():
        for seed in range(3):
            for scenario in SCENARIOS:
                def row(metric, task, step, value, eval_task=None):
                    rows.append({"rule": rule, "seed": seed, "task": str(task), "step": step,
                                 "metric": metric, "value": float(value), "scenario": scenario,
                                 "eval_task": eval_task, "role": role})
                row("retention", 1, 0, 0.1, 1)
                for i in range(1, T + 1):
                    for k in (1, 2):
                        # close to 1 with a wide spread over seeds: the t band runs past 1
                        row("retention", i, 10 * (i - 1) + 5 * k,
                            min(1.0, 0.98 - 0.3 * rng.random() * (i > 1)), 1)
                    for j in range(1, T + 1):
                        row("accuracy", i, 10 * i, 0.99 if j == i else rng.random(), j)
                row("bwt", scenario, 10 * T, -0.97 + 0.6 * rng.random())
                row("avg_accuracy", scenario, 10 * T, 0.99 - 0.4 * rng.random() * seed)
                row("forgetting", scenario, 10 * T, 0.5)
    return rows


def test_retention_curves_on_the_figure(captured):
    rf.retention_curves(_retention_rows(), "/x/retention")
    fig = captured["retention"]
    axes = np.array(fig.axes).reshape(len(SCENARIOS), 3)
    # a row per scenario, a column per role; one accuracy scale for every panel
    assert [ax.get_title() for ax in axes[0]] == [rf._ROLE_TITLES[r] for r in
                                                  ("end_to_end", "consolidation", "hidden")]
    for ax in axes.flat:
        assert ax.get_shared_y_axes().joined(ax, axes[0, 0])
    assert "accuracy on task 1" in axes[0, 0].get_ylabel()
    assert axes[-1, 0].get_xlabel() == "training presentations seen (samples)"
    # lines and bands: backprop drawn as the reference beside consolidation and local rules
    expected = {0: ["backprop"], 1: ["backprop", "ewc"], 2: ["backprop", "oja", "tag_and_capture"]}
    for (si, pi), ax in np.ndenumerate(axes):
        labels = [line.get_label().split(" (")[0] for line in _curves(ax)]
        assert labels == expected[pi], (si, pi, labels)
        assert len(_bands(ax)) == len(labels)
        low, high = _band_range(ax)
        assert 0.0 <= low and high <= 1.0, (si, pi, low, high)
    assert "clipped to [0, 1]" in fig.get_suptitle()


@pytest.mark.parametrize("metric, name, lo, hi", [("bwt", "bwt", -1.0, 1.0),
                                                   ("avg_accuracy", "average_accuracy", 0.0,
                                                    1.0)])
def test_interval_plots_share_their_value_axis_and_clip_the_intervals(captured, metric, name,
                                                                      lo, hi, tmp_path):
    rf.draw_all(_retention_rows(), str(tmp_path))
    fig = captured[name]
    axes = fig.axes
    assert len(axes) == len(SCENARIOS)
    assert [ax.get_title() for ax in axes] == [rf.SCENARIO_TITLES[s] for s in SCENARIOS]
    for ax in axes:
        assert ax.get_shared_x_axes().joined(ax, axes[0])
        bars = [c for c in ax.collections if isinstance(c, LineCollection)]
        assert len(bars) == len(ROLES)  # an interval per rule
        xs = np.concatenate([np.asarray(seg)[:, 0] for c in bars for seg in c.get_segments()])
        assert lo <= xs.min() and xs.max() <= hi, (metric, xs.min(), xs.max())
    assert [t.get_text() for t in axes[0].get_yticklabels()] == \
        ["tag_and_capture", "oja", "ewc", "backprop"]


# -- memory ----------------------------------------------------------------------------------------
MEMORY_RULES = ("hopfield_hebb", "storkey")
LOADS = (0.05, 0.1, 0.2)


def _memory_rows():
    rng = np.random.default_rng(1)
    rows = []
    for rule in MEMORY_RULES:
        for seed in range(3):
            for load in LOADS:
                for metric, value in (("overlap", 1.0 - 0.4 * rng.random() * load * 5),
                                      ("recalled_fraction", 1.0 - 0.5 * rng.random() * load * 5),
                                      ("one_step_flip_fraction", 0.01 * rng.random())):
                    rows.append({"rule": rule, "seed": seed, "task": "capacity",
                                 "step": round(load * 100), "metric": metric,
                                 "value": float(value), "load": load, "n_neurons": 100,
                                 "age": None})
            for n in (100, 400):
                for age in (1, 2, 3):
                    rows.append({"rule": rule, "seed": seed, "task": "palimpsest", "step": age,
                                 "metric": "recalled_fraction",
                                 "value": float(rng.random() < 0.5), "load": None,
                                 "n_neurons": n, "age": age})
                life = (2.0 + 0.5 * math.log(n) if rule == "storkey" else 0.0) + seed % 2
                rows.append({"rule": rule, "seed": seed, "task": "palimpsest", "step": 30,
                             "metric": "lifetime", "value": life, "load": None,
                             "n_neurons": n, "age": None})
    return rows


def test_capacity_figure_on_the_figure(captured):
    mf.capacity_figure(_memory_rows(), "/x/capacity")
    fig = captured["capacity"]
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["mean overlap after recall",
                                                "fraction recalled (overlap >= 0.95)",
                                                "one-step flip fraction"]
    assert all(ax.get_xlabel() == "load alpha = P / N" for ax in axes)
    for ax, (lo, hi) in zip(axes, ((-1.0, 1.0), (0.0, 1.0), (0.0, 1.0))):
        rules = [line for line in _curves(ax) if not line.get_label().startswith("theory")]
        assert len(rules) == len(MEMORY_RULES) and len(_bands(ax)) == len(MEMORY_RULES)
        low, high = _band_range(ax)
        assert lo <= low and high <= hi, (ax.get_ylabel(), low, high)
    # the theory: AGS overlap in the first panel, Q(1/sqrt(alpha)) in the third
    assert any(line.get_label().startswith("theory") for line in _curves(axes[0]))
    assert any(line.get_label().startswith("theory") for line in _curves(axes[2]))


def test_palimpsest_panels_share_the_probability_axis(captured):
    mf.palimpsest_age_figure(_memory_rows(), "/x/palimpsest_age")
    axes = [ax for ax in captured["palimpsest_age"].axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["N = 100", "N = 400"]
    assert axes[1].get_shared_y_axes().joined(axes[0], axes[1])
    assert axes[0].get_ylabel() == "probability of recall"
    assert all(len(_curves(ax)) == len(MEMORY_RULES) for ax in axes)


def test_lifetime_fit_is_written_with_its_sign_and_digits(captured):
    assert mf.fit_label(1.6666, 0.0031) == "fit: 1.67 + 0.0031 ln N"
    assert mf.fit_label(2.5, -0.1234) == "fit: 2.5 - 0.12 ln N"
    assert mf.fit_label(1.67, -1e-17) == "fit: 1.67 + 0 ln N"
    rows = [dict(r, rule="stochastic_binary") if r["rule"] == "storkey" else r
            for r in _memory_rows()]
    mf.lifetime_figure(rows, "/x/lifetime")
    (ax,) = captured["lifetime"].axes
    assert ax.get_ylabel() == "lifetime (stream patterns recalled)"
    fit = [line.get_label() for line in _curves(ax) if "fit" in line.get_label()]
    means = [np.mean([2.0 + 0.5 * math.log(n) + s % 2 for s in range(3)]) for n in (100, 400)]
    b, a = np.polyfit(np.log([100, 400]), means, 1)
    assert fit == [f"stochastic_binary: fit: {a:.3g} + {b:.2g} ln N"]
    low, _ = _band_range(ax)
    assert low >= 0.0  # no negative lifetime in a band


# -- sweeps ----------------------------------------------------------------------------------------
def test_sweep_figure_panels_share_y_and_clip_bands(captured, tmp_path):
    grid = parse_grid(get_study("memory"), {"cue_noise": "0.05,0.1,0.2"})
    summary = []
    for k, noise in enumerate((0.05, 0.1, 0.2)):
        for load in (0.1, 0.2):
            for rule in ("hopfield_hebb", "storkey"):
                mean = 0.97 - 0.2 * k * (rule == "hopfield_hebb")
                summary.append({"cue_noise": noise, "rule": rule, "task": "capacity",
                                "n_neurons": 100, "load": load, "metric": "recalled_fraction",
                                "mean": mean, "std": 0.1, "ci95": 0.25, "ci_low": mean - 0.25,
                                "ci_high": mean + 0.25, "n": 3, "n_nan": 0})
    paths, captions = sf.draw_sweep(summary, grid, str(tmp_path), study="memory")
    fig = captured["sweep_recalled_fraction"]
    axes = fig.axes
    assert len(axes) == 2  # a panel per load
    for ax in axes:
        assert ax.get_shared_y_axes().joined(ax, axes[0])
        assert len(_curves(ax)) == 2 and len(_bands(ax)) == 2
        low, high = _band_range(ax)
        assert 0.0 <= low and high <= 1.0
    assert axes[0].get_ylabel() == "fraction recalled (fraction of patterns)"
    assert axes[-1].get_xlabel() == "cue_noise"
    assert "clipped to the metric's range" in captions["sweep_recalled_fraction"]


# -- the findings: one sentence per figure, the numbers from the stored summary ---------------------
def _stored_summary(rows, by, tmp_path):
    """The summary as the runner hands it to ``findings``: written, then read back."""
    from brainlearn import results as R
    path = R.write_summary(tmp_path / "summary.csv", R.summarize(rows, by=by))
    return R.read_summary(path)


def test_retention_findings_state_the_numbers_of_the_figures(tmp_path):
    from brainlearn.studies._findings import retention_findings
    rows = _retention_rows()
    summary = _stored_summary([r for r in rows if r["metric"] in ("bwt", "avg_accuracy")],
                              ("rule", "scenario", "metric"), tmp_path)
    found = retention_findings(summary, rows)
    assert sorted(found) == ["accuracy_matrix_class_incremental", "accuracy_matrix_permuted",
                             "average_accuracy", "bwt", "retention"]
    # task 1 after the last task on permuted digits: the best rule against backprop, with BWT
    kept = {rule: np.mean([r["value"] for r in rows if r["rule"] == rule
                           and r["metric"] == "accuracy" and r["scenario"] == "permuted"
                           and r["task"] == str(T) and r["eval_task"] == 1]) for rule in ROLES}
    bwt = {s["rule"]: s["mean"] for s in summary
           if s["scenario"] == "permuted" and s["metric"] == "bwt"}
    best = max(kept, key=kept.get)
    other = "backprop" if best != "backprop" else min(kept, key=kept.get)
    assert found["retention"] == (
        f"On permuted digits {best} keeps {kept[best]:.2f} accuracy on task 1 after the last "
        f"task against {other}'s {kept[other]:.2f} (BWT {bwt[best]:+.2f} vs {bwt[other]:+.2f}).")
    top = max(bwt, key=bwt.get)
    assert f"{bwt[top]:+.2f} ({top})" in found["bwt"] and "permuted digits" in found["bwt"]


def test_memory_findings_compare_loads_around_alpha_c_and_fit_the_lifetime(tmp_path):
    from brainlearn.memory import ALPHA_C
    from brainlearn.studies._findings import memory_findings
    rows = [dict(r, rule="stochastic_binary") if r["rule"] == "storkey" else r
            for r in _memory_rows()]
    summary = _stored_summary([r for r in rows if r["task"] == "capacity"
                               or r["metric"] == "lifetime"],
                              ("rule", "task", "n_neurons", "load", "metric"), tmp_path)
    found = memory_findings(summary, rows, ALPHA_C)
    assert sorted(found) == ["capacity", "lifetime", "palimpsest_age"]
    assert found["capacity"].startswith(f"At load 0.1, below alpha_c = {ALPHA_C:g}, ")
    assert "at 0.2 " in found["capacity"]
    means = [np.mean([2.0 + 0.5 * math.log(n) + s % 2 for s in range(3)]) for n in (100, 400)]
    b, a = np.polyfit(np.log([100, 400]), means, 1)
    assert found["lifetime"] == (
        f"From N = 100 to N = 400 the lifetime of stochastic_binary, the longest at N = 400, "
        f"goes from {means[0]:.1f} to {means[1]:.1f} patterns; stochastic_binary's "
        f"least-squares {mf.fit_label(a, b)}.")
    assert found["palimpsest_age"].startswith("At N = 400 ")
