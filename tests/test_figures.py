"""The figures of the learning, retention and memory studies and of sweeps, checked on the matplotlib Figure
itself (not on file sizes): panels, axis labels, lines and bands per panel, shared axes, and
confidence bands that stay within the range of the metric they show.

The rows are made up (a few seeds with a wide spread close to the bounds), so that an unclipped
95% Student-t band would run past them; drawing needs no study run.
"""

import math

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection

from brainlearn.plotting import mean_ci
from brainlearn.studies import _learning_figures as lf
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

    for module in (lf, rf, mf, sf):
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


def _intervals(ax):
    """``(low, high, y)`` of every horizontal error bar of a panel (ax.errorbar with xerr)."""
    out = []
    for container in ax.containers:
        for lines in container.lines[2]:
            for seg in lines.get_segments():
                seg = np.asarray(seg)
                if len(seg):
                    out.append((seg[:, 0].min(), seg[:, 0].max(), seg[0, 1]))
    return out


# -- learning --------------------------------------------------------------------------------------
LEARNING_ROLES = {"backprop": "end_to_end", "feedback_alignment": "end_to_end",
                  "delta": "single_layer", "oja": "hidden", "bcm": "hidden",
                  "random_features": "hidden", "pca": "hidden"}
LEARNING_SEEDS = 3
STEPS = (0, 100, 200, 300)


def _learning_rows():
    """Every metric the learning figures read: curves that end close to 1 with a wide spread
    over 3 seeds (an unclipped t band runs past 1), objectives near their bounds, final
    accuracies (one diverged run), wall times and receptive fields of 4 units of 2x2 pixels."""
    rng = np.random.default_rng(2)
    rows = []

    def row(rule, seed, metric, step, value, **extra):
        rows.append(dict({"rule": rule, "seed": seed, "task": "digits", "step": step,
                          "metric": metric, "value": float(value),
                          "role": LEARNING_ROLES[rule]}, **extra))

    for k, rule in enumerate(LEARNING_ROLES):
        for seed in range(LEARNING_SEEDS):
            for step in STEPS:
                if LEARNING_ROLES[rule] == "hidden":
                    # a converged readout of fixed features: flat, the four layers within 0.05
                    acc = 0.99 - 0.01 * k + 0.004 * (seed - 1)
                else:  # learning end to end: from chance to close to 1, far apart over seeds
                    acc = 0.1 + 0.85 * step / STEPS[-1] + 0.12 * rng.random() * (seed - 1)
                row(rule, seed, "test_accuracy", step, min(1.0, acc))
                if LEARNING_ROLES[rule] == "hidden" or rule == "backprop":
                    row(rule, seed, "weight_change", step, 0.0 if step == 0 else
                        0.5 / step * (1 + rng.random()))
                    row(rule, seed, "pc_alignment", step, min(1.0, 0.9 + 0.2 * rng.random()))
                    row(rule, seed, "selectivity", step, max(0.0, 0.1 * rng.random() - 0.05))
                    row(rule, seed, "dead_units", step, float(seed == 0) * 2)
            final = np.nan if (rule == "delta" and seed == 2) else \
                min(1.0, 0.99 - 0.1 * rng.random() * seed)
            row(rule, seed, "final_test_accuracy", STEPS[-1], final)
            row(rule, seed, "wall_time", STEPS[-1], 0.0 if rule in ("random_features", "pca")
                else 1.0 + seed)
        for unit in range(4):
            for pixel in range(4):
                row(rule, 0, "rf", STEPS[-1], rng.normal(), unit=unit, pixel=pixel)
    return rows


def _rules_of(role):
    return [rule for rule, r in LEARNING_ROLES.items() if r == role]


def test_learning_curves_on_the_figure(captured):
    rows = _learning_rows()
    final = [r["value"] for r in rows if r["rule"] == "backprop" and r["step"] == STEPS[-1]
             and r["metric"] == "test_accuracy"]
    mean, half = mean_ci(final)
    assert mean + half > 1.0  # the made-up data do put an unclipped band past 1
    lf.learning_curves(rows, "/x/learning_curves")
    axes = captured["learning_curves"].axes
    roles = ("end_to_end", "single_layer", "hidden")
    assert [ax.get_title() for ax in axes] == [lf._ROLE_TITLES[r] for r in roles]
    assert axes[0].get_ylabel() == "test accuracy (fraction correct)"
    assert axes[0].get_ylim() == (0.0, 1.02)
    for ax, role in zip(axes, roles):
        assert ax.get_shared_y_axes().joined(ax, axes[0])
        assert ax.get_xlabel() == "training presentations seen (samples)"
        lines = [line.get_label() for line in _curves(ax)]
        # a line per rule of the role (the controls last), then the chance line at 1/10
        rules = sorted(_rules_of(role), key=lambda r: r in ("random_features", "pca"))
        assert lines == [f"{r} (n={LEARNING_SEEDS})" for r in rules] + ["chance"]
        (chance,) = [line for line in ax.lines if line.get_label() == "chance"]
        assert tuple(chance.get_ydata()) == (0.1, 0.1)
        assert len(_bands(ax)) == len(rules)
        low, high = _band_range(ax)
        assert 0.0 <= low and high <= 1.0, (role, low, high)
    # the four hidden-layer curves lie within 0.05 of each other: magnified in an inset, whose
    # bands stay within [0, 1] too; the other panels are already readable
    (inset,) = axes[2].child_axes
    assert inset.get_title() == "the top, magnified" and len(_bands(inset)) == 4
    low, high = _band_range(inset)
    assert 0.0 <= low and high <= 1.0, (low, high)
    assert not axes[0].child_axes and not axes[1].child_axes


def test_objectives_on_the_figure(captured):
    lf.objectives(_learning_rows(), "/x/objectives")
    axes = [ax for ax in captured["objectives"].axes if ax.get_visible()]
    assert [ax.get_ylabel() for ax in axes] == [label for _, label, _, _ in lf._OBJECTIVES]
    for ax, (metric, _, (lo, hi), log) in zip(axes, lf._OBJECTIVES):
        assert ax.get_xlabel() == "training presentations seen (samples)"
        assert ax.get_yscale() == ("log" if log else "linear")
        # the hidden layers, the controls and backprop; never the other end-to-end rules
        drawn = [line.get_label() for line in _curves(ax)]
        assert sorted(drawn) == sorted(["backprop", "oja", "bcm", "random_features", "pca"])
        assert len(_bands(ax)) == len(drawn)
        low, high = _band_range(ax)
        assert lo <= low and (hi is None or high <= hi), (metric, low, high)
    # a zero weight change has no place on the log axis: the first chunk is left out
    (oja,) = [line for line in _curves(axes[0]) if line.get_label() == "oja"]
    assert min(oja.get_xdata()) == STEPS[1]


def test_final_accuracy_on_the_figure(captured):
    rows = _learning_rows()
    finals = {rule: [r["value"] for r in rows if r["rule"] == rule
                     and r["metric"] == "final_test_accuracy"] for rule in LEARNING_ROLES}
    # the made-up data put an unclipped t interval past 1
    assert max(float(np.sum(lf._mean_ci(np.array(v)[:, None]))) for v in finals.values()) > 1.0
    lf.final_accuracy(rows, "/x/final_accuracy")
    ax_acc, ax_time = captured["final_accuracy"].axes
    assert ax_acc.get_xlabel() == "final test accuracy (fraction correct; mean, 95% CI)"
    assert ax_time.get_xlabel() == "wall time of learning (s; geometric mean, 95% CI)"
    assert ax_acc.get_xlim() == (0.0, 1.0) and ax_time.get_xscale() == "log"
    means = {rule: np.nanmean(v) for rule, v in finals.items()}
    labels = [t.get_text() for t in ax_acc.get_yticklabels()]
    assert labels == [r + (" (1 diverged)" if r == "delta" else "")
                      for r in sorted(means, key=means.get)]  # the best on top
    acc = _intervals(ax_acc)
    assert len(acc) == len(LEARNING_ROLES)  # a mean with its interval per rule
    for low, high, y in acc:
        rule = sorted(means, key=means.get)[round(y)]
        assert low <= means[rule] <= high
        assert 0.0 <= low and high <= 1.0, (rule, low, high)  # an accuracy stays in [0, 1]
    # the controls do not learn: no time interval, a note instead
    assert len(_intervals(ax_time)) == len(LEARNING_ROLES) - 2
    assert [t.get_text() for t in ax_time.texts].count("no learning") == 2


def test_receptive_fields_on_the_figure(captured):
    rows = _learning_rows()
    lf.receptive_fields(rows, "/x/receptive_fields")
    ax, bar = captured["receptive_fields"].axes
    (image,) = ax.get_images()
    mosaic = np.ma.filled(image.get_array().astype(float), np.nan)
    # a row of 4 units of 2x2 pixels per rule, one blank pixel between the cells
    assert mosaic.shape == (3 * len(LEARNING_ROLES) - 1, 3 * 4 - 1)
    assert image.get_clim() == (-1.0, 1.0)
    values = mosaic[np.isfinite(mosaic)]
    assert values.size == len(LEARNING_ROLES) * 4 * 4
    assert values.min() >= -1.0 and values.max() == 1.0  # each unit scaled by its largest |w|
    oja = np.array([r["value"] for r in rows if r["rule"] == "oja" and r["metric"] == "rf"
                    and r["unit"] == 0]).reshape(2, 2)
    k = list(LEARNING_ROLES).index("oja")
    scale = oja.flat[np.argmax(np.abs(oja))]
    np.testing.assert_allclose(mosaic[3 * k:3 * k + 2, 0:2], oja / scale)
    assert [t.get_text() for t in ax.get_yticklabels()] == \
        [r + (" (+ readout)" if role == "hidden" else "") for r, role in LEARNING_ROLES.items()]
    assert bar.get_ylabel() == "weight / max |weight| of the unit"


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


def test_accuracy_matrices_on_the_figure(captured):
    rows = _retention_rows()
    rf.accuracy_matrices(rows, "permuted", "/x/accuracy_matrix_permuted")
    fig = captured["accuracy_matrix_permuted"]
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert [ax.get_title() for ax in panels] == [f"{rule} (n=3)" for rule in ROLES]
    for ax, rule in zip(panels, ROLES):
        (image,) = ax.get_images()
        assert image.get_clim() == (0.0, 1.0)  # one colour scale: the range of an accuracy
        expected = np.zeros((T, T))
        for r in rows:
            if r["rule"] == rule and r["scenario"] == "permuted" and r["metric"] == "accuracy":
                expected[int(r["task"]) - 1, r["eval_task"] - 1] += r["value"] / 3
        np.testing.assert_allclose(image.get_array(), expected)  # R[i, j], mean over seeds
        assert len(ax.texts) == T * T  # every cell written out
    assert panels[0].get_ylabel() == "trained through task i"
    assert panels[-1].get_xlabel() == "tested on task j"
    assert "accuracy matrix" in fig.get_suptitle()


def _feature_rows():
    rng = np.random.default_rng(3)
    rows = []
    for rule, role in ROLES.items():
        for seed in range(3):
            for metric, value in (("feature_acc_before", 0.99 - 0.2 * rng.random() * seed),
                                  ("feature_acc_frozen", 0.02 + 0.5 * rng.random() * seed),
                                  ("feature_acc_refit", 0.9 + 0.1 * rng.random()),
                                  ("weight_change_a", 0.05 * rng.random() * seed),
                                  ("weight_drift", 0.01 + 0.3 * rng.random())):
                rows.append({"rule": rule, "seed": seed, "task": "B", "step": 100,
                             "metric": metric, "value": float(value), "scenario": "features",
                             "eval_task": None, "role": role})
    return rows


def test_feature_retention_on_the_figure(captured):
    rf.feature_retention(_feature_rows(), "/x/feature_retention", chance=0.2)
    ax_acc, ax_w = captured["feature_retention"].axes
    assert ax_acc.get_xlabel() == "readout accuracy on task A's test set (digits 0-4)"
    assert ax_w.get_xlabel() == "relative weight change |dW|/|W| (Frobenius)"
    assert ax_acc.get_shared_y_axes().joined(ax_acc, ax_w)
    # a row per rule, grouped by role, the first at the top
    assert [t.get_text() for t in ax_acc.get_yticklabels()] == list(ROLES)[::-1]
    acc, change = _intervals(ax_acc), _intervals(ax_w)
    assert len(acc) == 3 * len(ROLES) and len(change) == 2 * len(ROLES)
    assert all(0.0 <= low and high <= 1.0 for low, high, _ in acc)  # accuracies in [0, 1]
    assert all(low >= 0.0 for low, _, _ in change)  # a relative change is not negative
    assert any(line.get_label() == "chance (0.2)" for line in ax_acc.lines)


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
