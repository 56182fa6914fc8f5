"""The learning study: roles of the rules, a quick run through run_study, its files and values."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

import brainlearn as bl
import brainlearn.studies.learning as learning
from brainlearn.results import METRIC_COLUMNS, read_json, read_metrics, read_summary
from brainlearn.rules.base import LocalRule
from brainlearn.studies import features as feat
from brainlearn.studies import get_study, redraw_figures, run_study
from brainlearn.studies.settings import SETTINGS

RULES = ["backprop", "oja", "sanger", "delta", learning.CONTROL, learning.PCA]
SEEDS = 2
FIGURES = ("learning_curves", "objectives", "final_accuracy", "receptive_fields")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick run of the study: backprop (end to end), Oja and Sanger (hidden layer + readout),
    the delta rule (one layer) and the two controls, two seeds each. The rows: those of
    metrics.csv and of timings.csv (the wall times)."""
    out = tmp_path_factory.mktemp("learning")
    res = run_study("learning", rules=RULES, seeds=SEEDS, quick=True, out=str(out))
    rows = [r for name in ("metrics.csv", "timings.csv")
            for r in read_metrics(os.path.join(res.path, name), numeric=("unit", "pixel"))]
    return res, rows


def _values(rows, rule, metric, seed=None):
    return [r["value"] for r in rows if r["rule"] == rule and r["metric"] == metric
            and (seed is None or r["seed"] == seed)]


def _final(rows, rule):
    return np.array(_values(rows, rule, "final_test_accuracy"))


# -- roles and fits -------------------------------------------------------------------------------
FITTING = {"backprop": "end_to_end", "feedback_alignment": "end_to_end",
           "direct_feedback_alignment": "end_to_end", "delta": "single_layer",
           "reward_hebbian": "single_layer", "hebb": "hidden", "oja": "hidden",
           "sanger": "hidden", "bcm": "hidden", "covariance": "hidden", "competitive": "hidden",
           "ltp": "hidden"}
EXCLUDED = ("anti_hebbian", "clip", "row_normalize", "weight_decay", "ewc",
            "synaptic_intelligence", "synaptic_scaling", "calcium", "tag_and_capture")


@pytest.mark.parametrize("name", sorted(FITTING))
def test_builtin_rules_take_their_natural_role(name):
    cls = bl.rules.get(name)
    assert learning.role_of(cls) == FITTING[name]
    assert get_study("learning").fits(cls)


@pytest.mark.parametrize("name", EXCLUDED)
def test_rules_without_a_role_here_are_left_out_with_a_reason(name):
    cls = bl.rules.get(name)
    assert not get_study("learning").fits(cls)
    assert learning.exclusion(cls) or learning.role_of(cls) is None


def test_plugin_rules_fit_by_their_metadata():
    @dataclasses.dataclass(frozen=True)
    class Unsupervised(LocalRule):  # not registered: fits() reads the class alone
        family = "custom"

    @dataclasses.dataclass(frozen=True)
    class Lateral(LocalRule):
        lateral = True

    study = get_study("learning")
    assert study.fits(Unsupervised) and learning.role_of(Unsupervised) == "hidden"
    assert not study.fits(Lateral)
    config = study.make_config(quick=True)
    assert learning.input_code(Unsupervised, config) == "centred"
    assert learning.input_code(bl.rules.get("ltp"), config) == "rates"
    assert learning.input_code(bl.rules.get("backprop"), config) == "rates"


def test_default_rules_are_the_fitting_rules_and_the_control():
    study = get_study("learning")
    config = study.make_config(quick=True)
    default = study.default_rules(config)
    assert set(FITTING) <= set(default) and set(learning.CONTROLS) <= set(default)
    assert not set(EXCLUDED) & set(default)


def test_bad_config_and_rules_are_refused_in_one_line(tmp_path):
    with pytest.raises(ValueError, match="does not fit"):
        run_study("learning", rules=["anti_hebbian"], quick=True, out=str(tmp_path))
    with pytest.raises(ValueError, match="inputs"):
        run_study("learning", rules=["oja"], quick=True, out=str(tmp_path),
                  overrides={"inputs": "whitened"})
    with pytest.raises(ValueError, match="epochs"):
        learning.LearningConfig(epochs=0)
    with pytest.raises(ValueError, match="readout_l2"):
        learning.LearningConfig(readout_l2=-1.0)
    with pytest.raises(ValueError, match="labels_per_class"):
        learning.LearningConfig(labels_per_class=-5)
    with pytest.raises(ValueError, match="lr"):
        learning.LearningConfig(lr=0.0)
    assert os.listdir(tmp_path) == []


def test_eval_points_zero_scores_only_the_end():
    """eval_points=0 (sweeps of final values): one evaluation, after all the training."""
    config = dataclasses.replace(learning.LearningConfig.quick(), eval_points=0, epochs=1,
                                 train_size=200, rf_units=0)
    rows = learning.run("sanger", config, 0)
    for metric in ("test_accuracy", "pc_alignment", "selectivity", "weight_change"):
        assert [r["step"] for r in rows if r["metric"] == metric] == [200], metric
    with pytest.raises(ValueError, match="eval_points"):
        learning.LearningConfig(eval_points=-1)


def test_checkpoints_start_at_zero_and_end_at_the_total():
    assert list(learning.checkpoints(10, 4)) == [0, 2, 5, 8, 10]
    assert list(learning.checkpoints(3, 8)) == [0, 1, 2, 3]


# -- a quick run ----------------------------------------------------------------------------------
def test_quick_run_writes_every_file(quick):
    res, _ = quick
    assert res.exit_status == 0 and res.counts == {"ok": len(RULES) * SEEDS, "diverged": 0,
                                                   "failed": 0}
    for name in ("config.json", "metrics.csv", "timings.csv", "summary.csv", "meta.json"):
        assert os.path.isfile(os.path.join(res.path, name)), name
    for fig in FIGURES:
        for ext in ("png", "svg"):
            path = os.path.join(res.path, "figures", f"{fig}.{ext}")
            assert os.path.getsize(path) > 1000, path
    for name in ("metrics.csv", "timings.csv"):
        with open(os.path.join(res.path, name)) as fh:
            header = fh.readline().strip().split(",")
        assert header == list(METRIC_COLUMNS) + ["role", "unit", "pixel"], name


def test_wall_times_are_in_timings_csv(quick):
    """The wall time (a measurement of the machine) is stored in timings.csv, one row per run,
    positive for every rule that learns and 0 for the control; metrics.csv holds none."""
    res, _ = quick
    metrics = read_metrics(res.metrics_path)
    timings = read_metrics(res.timings_path)
    assert "wall_time" not in {r["metric"] for r in metrics}
    assert sorted((r["rule"], r["seed"]) for r in timings) == sorted(
        (rule, seed) for rule in RULES for seed in range(SEEDS))
    assert {r["metric"] for r in timings} == {"wall_time"}
    for r in timings:
        if r["rule"] in (learning.CONTROL, learning.PCA):
            assert r["value"] == 0.0
        else:
            assert r["value"] > 0, r


def test_same_seed_gives_an_identical_metrics_csv(quick, tmp_path):
    """The study again with the same settings and seeds (three of its rules: one end to end,
    one hidden layer, one control): their lines of metrics.csv are the same, byte for byte (only
    timings.csv, the wall times, may differ)."""
    res, _ = quick
    subset = ["backprop", "sanger", learning.PCA]
    again = run_study("learning", rules=subset, seeds=SEEDS, quick=True, out=str(tmp_path))
    assert again.exit_status == 0

    def lines(path):
        with open(path, "rb") as fh:
            head, *body = fh.read().splitlines(keepends=True)
        return [head] + [line for line in body if line.split(b",", 1)[0].decode() in subset]

    first, second = lines(res.metrics_path), lines(again.metrics_path)
    assert len(first) > 100 and first == second
    assert [(r["rule"], r["seed"], r["metric"]) for r in read_metrics(again.timings_path)] == \
        [(r["rule"], r["seed"], r["metric"]) for r in read_metrics(res.timings_path)
         if r["rule"] in subset]


def test_quick_run_rows_are_complete(quick):
    res, rows = quick
    config = res.config
    n = len(bl.datasets.load("digits").y_train)
    total = config.epochs * n
    steps = list(learning.checkpoints(total, config.eval_points))
    for rule in RULES:
        for seed in range(SEEDS):
            curve = [r for r in rows if r["rule"] == rule and r["seed"] == seed
                     and r["metric"] == "test_accuracy"]
            assert [r["step"] for r in curve] == steps
            for metric in ("final_test_accuracy", "wall_time", "synaptic_updates"):
                (row,) = [r for r in rows if r["rule"] == rule and r["seed"] == seed
                          and r["metric"] == metric]
                assert row["step"] == total
            rf = [r for r in rows if r["rule"] == rule and r["seed"] == seed
                  and r["metric"] == "rf"]
            assert len(rf) == (config.rf_units * 64 if seed == 0 else 0)
    roles = {r["rule"]: r["role"] for r in rows}
    assert roles == {"backprop": "end_to_end", "oja": "hidden", "sanger": "hidden",
                     "delta": "single_layer", learning.CONTROL: "hidden", learning.PCA: "hidden"}
    summary = read_summary(os.path.join(res.path, "summary.csv"))
    with_hidden = [r for r in RULES if r != "delta"]
    expected = {(rule, m) for rule in RULES for m in ("final_test_accuracy", "wall_time")}
    expected |= {(rule, m) for rule in with_hidden for m in ("selectivity", "dead_units")}
    expected |= {(rule, "pc_alignment") for rule in learning.PC_TARGETS if rule in RULES}
    assert {(s["rule"], s["metric"]) for s in summary} == expected
    assert all(s["n"] == SEEDS for s in summary)
    # the weight change of every chunk, for every rule that learns
    for rule in ("backprop", "oja", "sanger", "delta"):
        assert len(_values(rows, rule, "weight_change", 0)) == len(steps) - 1
    assert not _values(rows, learning.CONTROL, "weight_change")


def test_config_records_the_settings_each_rule_ran_with(quick):
    res, _ = quick
    stored = read_json(os.path.join(res.path, "config.json"))["rule_settings"]
    assert set(stored) == set(RULES)
    oja = SETTINGS["digits"]["oja"]
    assert stored["oja"] == {"params": dict(oja.params), "activation": "linear",
                             "inputs": "centred"}
    assert stored["backprop"]["inputs"] == "rates"
    assert stored[learning.PCA]["activation"] == "linear"


def test_quick_run_values_are_plausible(quick):
    res, rows = quick
    total = res.config.epochs * len(bl.datasets.load("digits").y_train)
    acc = [r["value"] for r in rows if r["metric"] in ("test_accuracy", "final_test_accuracy")]
    assert all(0.0 <= a <= 1.0 for a in acc)
    # the reference 64-h-10 network reaches about 0.97 after full training
    assert _final(rows, "backprop").min() > 0.9
    assert _final(rows, "delta").min() > 0.85
    assert _values(rows, "backprop", "test_accuracy")[0] < 0.3  # untrained: near chance
    # synaptic updates: n_pre * n_post per presentation over the learning projections
    h = res.config.hidden
    assert _values(rows, "backprop", "synaptic_updates") == [(64 * h + h * 10) * total] * SEEDS
    assert _values(rows, "oja", "synaptic_updates") == [64 * h * total] * SEEDS
    assert _values(rows, "delta", "synaptic_updates") == [64 * 10 * total] * SEEDS
    for control in (learning.CONTROL, learning.PCA):
        assert _values(rows, control, "synaptic_updates") == [0.0] * SEEDS
    assert all(t > 0 for t in _values(rows, "oja", "wall_time"))


def test_pca_rules_reach_their_components(quick):
    """Oja's rule on independent linear units drives every unit to the first principal
    component (Oja 1982) and Sanger's GHA its units to the components in order (Sanger 1989);
    random weights align only by chance (E|cos| ~ sqrt(2 / (pi d)) = 0.1 for d = 64)."""
    res, rows = quick
    points = res.config.eval_points + 1
    for seed in range(SEEDS):
        assert _values(rows, "oja", "pc_alignment", seed)[-1] > 0.95
        assert _values(rows, "sanger", "pc_alignment", seed)[-1] > 0.9
        assert _values(rows, learning.PCA, "pc_alignment", seed) == \
            pytest.approx([1.0] * points)
        assert _values(rows, learning.CONTROL, "pc_alignment", seed)[0] < 0.25
    # Sanger's units span the top components: its readout matches the exact PCA's, while
    # Oja's collapsed units carry one direction and lose accuracy as they learn
    assert abs(_final(rows, "sanger").mean() - _final(rows, learning.PCA).mean()) < 0.02
    assert _final(rows, "oja").max() < _final(rows, learning.PCA).min() - 0.2


def test_pc_alignment_rows_equal_an_svd_of_the_stored_fields(quick, digits):
    """The stored pc_alignment of seed 0 at the end, from the stored receptive fields (the
    first rf_units units) and the components of an SVD computed here."""
    res, rows = quick
    x = digits.x_train.astype(np.float64)
    _, _, Vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    for rule, target in (("oja", "first"), ("sanger", "ordered")):
        rf = {}
        for r in rows:
            if r["rule"] == rule and r["metric"] == "rf":
                rf.setdefault(r["unit"], {})[r["pixel"]] = r["value"]
        W = np.array([[units[p] for p in sorted(units)] for _, units in sorted(rf.items())])
        k = min(res.config.pc_units, len(W))
        T = Vt[:k] if target == "ordered" else np.repeat(Vt[:1], k, axis=0)
        cos = np.abs(np.sum(W[:k] * T, axis=1)) / np.linalg.norm(W[:k], axis=1)
        assert _values(rows, rule, "pc_alignment", 0)[-1] == pytest.approx(cos.mean(), abs=1e-9)


def test_the_control_is_read_out_from_its_initial_weights(quick, digits):
    """The random-features control: tanh units with the network's initial weights on centred
    inputs, read out by the shared readout -- the same accuracy computed here by hand."""
    res, rows = quick
    config = res.config
    mean = digits.x_train.astype(np.float64).mean(axis=0)
    for seed in range(SEEDS):
        net, _ = learning.build_network(learning.CONTROL, config, seed, 64, 10)
        W = net.projections[0].W
        F = np.tanh((digits.x_train - mean) @ W.T)
        Ft = np.tanh((digits.x_test - mean) @ W.T)
        acc = feat.readout_accuracy(F, digits.y_train, Ft, digits.y_test, 10)
        stored = _values(rows, learning.CONTROL, "test_accuracy", seed)
        assert stored == pytest.approx([acc] * len(stored), abs=1e-9)


@pytest.mark.parametrize("rule, seed", [("oja", 0), ("backprop", 1)])
def test_same_seed_gives_identical_rows(quick, rule, seed):
    """A run again from (config, rule, seed): the rows stored in metrics.csv, bit for bit (the
    wall time, a measurement of the machine, is stored in timings.csv instead)."""
    res, _ = quick
    again = learning.run(rule, res.config, seed)
    stored = [r for r in read_metrics(res.metrics_path, numeric=("unit", "pixel"))
              if r["rule"] == rule and r["seed"] == seed]

    def key(r):
        return {k: r[k] for k in METRIC_COLUMNS + ("role", "unit", "pixel")}

    keep = [key(r) for r in again if r["metric"] not in get_study("learning").timing_metrics]
    assert stored and [key(r) for r in stored] == keep


def test_figures_redraw_from_the_csv_files_alone(quick, monkeypatch):
    """``brainlearn figures DIR``: the same figures again from metrics.csv and timings.csv (the
    wall times of the final-accuracy figure), without the runs' files."""
    res, _ = quick
    study = get_study("learning")
    given = []

    def figures(rows, config, figdir, draw=study.figures):
        given.append(rows)
        return draw(rows, config, figdir)

    monkeypatch.setattr(study, "figures", figures)
    figdir = os.path.join(res.path, "figures")
    with open(os.path.join(figdir, "final_accuracy.svg"), "rb") as fh:
        drawn = fh.read()
    for name in os.listdir(figdir):
        os.remove(os.path.join(figdir, name))
    ((_, paths, error),) = redraw_figures(res.path)
    assert error is None
    assert sorted(os.path.basename(p) for p in paths) == sorted(
        f"{f}.{e}" for f in FIGURES for e in ("png", "svg"))
    (rows,) = given
    assert len([r for r in rows if r["metric"] == "wall_time"]) == len(RULES) * SEEDS
    with open(os.path.join(figdir, "final_accuracy.svg"), "rb") as fh:
        assert fh.read() == drawn


def test_a_diverged_run_keeps_its_curve(monkeypatch):
    """A divergence in the second chunk: the error carries the presentations seen at the
    divergence and the rows so far, with a NaN final accuracy (the runner records them)."""
    calls = []
    real = learning.train

    def diverging(net, data, **kw):
        calls.append(len(data[0]))
        if len(calls) == 3:  # the warm-up call, one chunk, then the divergence
            raise bl.DivergenceError("non-finite weights", 0, 5)
        return real(net, data, **kw)

    monkeypatch.setattr(learning, "train", diverging)
    config = dataclasses.replace(learning.LearningConfig.quick(), eval_points=2, epochs=1,
                                 rf_units=0)
    with pytest.raises(bl.DivergenceError) as info:
        learning.run("delta", config, 0)
    first = calls[1]
    assert info.value.step == first + 5
    rows = info.value.rows
    assert [r["step"] for r in rows if r["metric"] == "test_accuracy"] == [0, first]
    (final,) = [r for r in rows if r["metric"] == "final_test_accuracy"]
    assert np.isnan(final["value"]) and final["step"] == first + 5
    (updates,) = [r for r in rows if r["metric"] == "synaptic_updates"]
    assert updates["value"] == 64 * 10 * (first + 5)


def test_mnist_from_a_path(tmp_path, digits):
    """``mnist_path`` loads MNIST IDX files. The stand-in here is the digits themselves written
    as IDX files (8x8 images, so that the compiled drivers of the digits are reused)."""
    for prefix, x, y in (("train", digits.x_train[:120], digits.y_train[:120]),
                         ("t10k", digits.x_test[:60], digits.y_test[:60])):
        images = np.round(x.reshape(-1, 8, 8) * 255).astype(np.uint8)
        bl.datasets.write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images)
        bl.datasets.write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", y.astype(np.uint8))
    study = get_study("learning")
    config = study.make_config(quick=True, overrides={
        "mnist_path": str(tmp_path), "epochs": "1", "eval_points": "2", "rf_units": "2"})
    rows = learning.run("oja", config, 0)
    assert {r["task"] for r in rows} == {"mnist"}
    assert _values(rows, "oja", "synaptic_updates") == [64 * config.hidden * 120]
    assert [r["step"] for r in rows if r["metric"] == "test_accuracy"] == [0, 60, 120]
    assert len([r for r in rows if r["metric"] == "rf"]) == 2 * 64


def test_receptive_fields_of_28x28_images(tmp_path):
    """MNIST-sized receptive fields (784 weights a unit) are drawn as 28x28 images."""
    from brainlearn.studies._learning_figures import receptive_fields
    w = np.sin(np.arange(784) / 20.0)
    rows = [{"rule": rule, "seed": 0, "task": "mnist", "step": 10, "metric": "rf",
             "value": float(sign * w[p]), "role": role, "unit": str(u), "pixel": str(p)}
            for rule, role, sign in (("oja", "hidden", 1), ("delta", "single_layer", -1))
            for u in range(3) for p in range(784)]
    paths = receptive_fields(rows, str(tmp_path / "rf"))
    assert [os.path.basename(p) for p in paths] == ["rf.png", "rf.svg"]


def test_curves_ending_close_together_are_magnified(monkeypatch, tmp_path):
    """Three hidden-layer curves ending within 0.02 of each other near the top get an inset
    whose scale tells them apart; a panel whose curves lie apart gets none."""
    from brainlearn.studies import _learning_figures as lf
    figs = []
    monkeypatch.setattr(lf, "save_figure", lambda fig, path: figs.append(fig) or [])

    def rows(ends):
        return [{"rule": rule, "seed": seed, "task": "digits", "step": step,
                 "metric": "test_accuracy", "value": v + 0.001 * seed, "role": "hidden"}
                for rule, end in ends.items() for seed in range(2)
                for step, v in ((0, 0.95), (100, end))]

    lf.learning_curves(rows({"sanger": 0.96, "bcm": 0.97, "pca": 0.955, "oja": 0.5}),
                       str(tmp_path / "a"))
    (ax,) = figs[-1].axes[:1]
    (inset,) = ax.child_axes
    low, high = inset.get_ylim()
    assert high - low < 0.1 and low < 0.955 and high > 0.97
    assert len(inset.get_lines()) == 3
    lf.learning_curves(rows({"sanger": 0.96, "bcm": 0.7, "pca": 0.5}), str(tmp_path / "b"))
    assert not figs[-1].axes[0].child_axes


def test_a_spiking_rule_learns_digits_in_diehl_and_cooks_layer_read_out_two_ways():
    """triplet_stdp in Diehl & Cook's network (20 neurons, 300 samples): the shared readout
    and the paper's labelling and voting both score its spike counts well above chance and
    above the control, the same network shown the same samples without plasticity."""
    cfg = learning.LearningConfig(hidden=20, train_size=300, eval_points=1, rf_units=2)
    rows = learning.run("triplet_stdp", cfg, 0)
    got = {(r["metric"], r["step"]): r["value"] for r in rows}
    assert {r["role"] for r in rows} == {"spiking"}
    assert got[("final_test_accuracy", 300)] > 0.5 and got[("final_vote_accuracy", 300)] > 0.4
    assert got[("test_accuracy", 300)] > got[("test_accuracy", 0)]
    assert sum(r["metric"] == "rf" for r in rows) == 2 * 64
    control = {(r["metric"], r["step"]): r["value"]
               for r in learning.run(learning.SPIKING_CONTROL, cfg, 0)}
    assert control[("synaptic_updates", 300)] == 0.0
    for metric in ("final_test_accuracy", "final_vote_accuracy"):
        assert got[(metric, 300)] > control[(metric, 300)] + 0.1
