"""The spacing study core (brainlearn.studies.spacing): tidy rows, the spacing curve, figures."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from brainlearn.studies import spacing  # noqa: E402

TINY = spacing.SpacingConfig(n_inputs=100, n_neurons=2, intervals=(0.0, 600.0, 7200.0),
                             delays=(0.0, 3600.0, 86400.0), trajectory_intervals=(0.0, 600.0),
                             record_every=1800.0, rest_dt=30.0)


@pytest.fixture(scope="module")
def rows():
    return spacing.run(TINY, "tag_and_capture", 0)


def _value(rows, **match):
    sel = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(sel) == 1, match
    return sel[0]["value"]


def test_rows_are_tidy(rows):
    keys = {"rule", "seed", "task", "step", "metric", "value"} | set(spacing.EXTRA_COLUMNS)
    assert all(set(r) == keys for r in rows)
    assert {r["task"] for r in rows} == {"retention", "trajectory"}
    assert {r["interval_s"] for r in rows if r["task"] == "trajectory"} == {0.0, 600.0}
    ret = [r for r in rows if r["task"] == "retention"]
    assert {r["metric"] for r in ret} == {"weight_change", "retention", "early", "late"}
    assert {r["phase"] for r in rows} == {"training", "gap", "rest", "retention"}
    for interval in TINY.intervals:
        assert _value(rows, task="retention", metric="retention", interval_s=interval,
                      delay_s=0.0) == 1.0


def test_spacing_curve(rows):
    late = {i: _value(rows, task="retention", metric="late", interval_s=i, delay_s=86400.0)
            for i in TINY.intervals}
    assert late[600.0] > late[0.0] > late[7200.0], late
    # what is left after a day is the late phase: the early phase has decayed
    early = _value(rows, task="retention", metric="early", interval_s=600.0, delay_s=86400.0)
    assert abs(early) < 1e-3 * late[600.0]


def test_same_seed_same_rows(rows):
    again = spacing.run(TINY, "tag_and_capture", 0)
    assert again == rows


def test_figures_draw_from_rows(rows):
    fig, axes = plt.subplots(1, 2)
    assert spacing.plot_retention_vs_interval(axes[0], rows)
    assert spacing.plot_trajectories(axes[1], rows)
    plt.close(fig)
    with pytest.raises(ValueError, match="retention"):
        spacing.plot_retention_vs_interval(axes[0], [r for r in rows if r["task"] == "trajectory"])


def test_bad_config_and_rule():
    with pytest.raises(ValueError, match="intervals: 10"):
        spacing.SpacingConfig(intervals=(0.0, 10.0))
    with pytest.raises(ValueError, match="trajectory_intervals"):
        spacing.SpacingConfig(trajectory_intervals=(5000.0,))
    with pytest.raises(ValueError, match="needs"):
        spacing.run(TINY, "backprop", 0)
    with pytest.raises(ValueError, match="seed"):
        spacing.run(TINY, "tag_and_capture", -1)
