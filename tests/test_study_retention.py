"""The retention study: files, columns, figures, the continual-learning metrics, and behaviour.

One quick run (backprop, EWC chained with backprop, one local rule; two seeds) is shared by the
tests. Literature behaviour checked on it: plain gradient descent on sequential tasks forgets
the earlier ones (catastrophic forgetting; Lopez-Paz & Ranzato 2017), completely so in the
class-incremental scenario (van de Ven & Tolias 2019), and EWC forgets less than backprop on
permuted digits (Kirkpatrick et al. 2017). In the ``features`` scenario backprop's hidden layer
drifts while it learns task B, yet a refitted readout still reads task A from it (the
information stays; Davari et al. 2022), and EWC's penalty keeps its weights closer to task A's.
The feature metrics are checked against a readout fitted and applied by hand on activities
computed by hand.
"""

import csv
import dataclasses
import itertools
import os
from dataclasses import dataclass

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.results import read_json, read_metrics
from brainlearn.studies import features as ft
from brainlearn.studies import get_study, run_study
from brainlearn.studies import retention as rt
from brainlearn.studies import settings as rule_settings

import naive

LOCAL_RULE = "tag_and_capture"
RULES = ["backprop", "ewc", LOCAL_RULE]
SEEDS = 2
T_SPLIT = 5
FIGURES = ["accuracy_matrix_task_incremental", "accuracy_matrix_class_incremental",
           "accuracy_matrix_permuted", "retention", "bwt", "average_accuracy",
           "feature_retention"]
FEATURE_METRICS = ("feature_acc_before", "feature_acc_frozen", "feature_acc_refit",
                   "weight_drift", "weight_change_a", "feature_retention", "refit_retention")


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    # a rule that is not registered is a regression: fail here, never skip
    missing = [r for r in RULES if r not in bl.rules.available()]
    assert not missing, f"rules not registered: {', '.join(missing)}"
    out = tmp_path_factory.mktemp("retention")
    res = run_study("retention", rules=RULES, seeds=SEEDS, quick=True, out=str(out))
    assert res.exit_status == 0, (res.counts, res.figure_error)
    return os.path.join(str(out), "retention")


@pytest.fixture(scope="module")
def rows(study_dir):
    return read_metrics(os.path.join(study_dir, "metrics.csv"), numeric=("eval_task",))


@pytest.fixture(scope="module")
def config():
    return rt.RetentionConfig.quick()


@pytest.fixture(scope="module")
def sequences(config):
    """The task-sequence scenarios of the run (all but ``features``)."""
    assert "features" in config.scenarios  # a default scenario
    return [s for s in config.scenarios if s != "features"]


def _matrix(rows, rule, seed, scenario):
    return rt.accuracy_matrix(rows, rule, seed, scenario)


def _value(rows, rule, seed, scenario, metric):
    (v,) = [r["value"] for r in rows if r["rule"] == rule and r["seed"] == seed
            and r["scenario"] == scenario and r["metric"] == metric]
    return v


# -- files, columns, figures --------------------------------------------------------------------
def test_files_columns_and_figures(study_dir, config, sequences):
    for name in ("config.json", "metrics.csv", "summary.csv", "meta.json"):
        assert os.path.isfile(os.path.join(study_dir, name)), name
    with open(os.path.join(study_dir, "metrics.csv"), newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["rule", "seed", "task", "step", "metric", "value",
                      "scenario", "eval_task", "role"]
    # drawn by the runner from metrics.csv as read back (brainlearn figures redraws the same way)
    figdir = os.path.join(study_dir, "figures")
    meta = read_json(os.path.join(study_dir, "meta.json"))
    assert sorted(meta["figures"]) == sorted(FIGURES) and meta["figure_error"] is None
    for name in FIGURES:
        for ext in ("png", "svg"):
            path = os.path.join(figdir, f"{name}.{ext}")
            assert os.path.getsize(path) > 1000, path
    with open(os.path.join(study_dir, "summary.csv"), newline="") as fh:
        summary = list(csv.DictReader(fh))
    keys = {(s["rule"], s["scenario"], s["metric"]) for s in summary}
    assert keys == {(r, s, m) for r in RULES for s in sequences
                    for m in ("avg_accuracy", "bwt", "forgetting")} | \
        {(r, "features", m) for r in RULES for m in FEATURE_METRICS if m != "weight_change_a"}
    assert all(int(s["n"]) == SEEDS for s in summary)
    captions = read_json(os.path.join(figdir, "captions.json"))
    assert "chance 0.2" in captions["feature_retention"]
    # the features scenario's settings of the hidden-role rule are recorded
    settings = read_json(os.path.join(study_dir, "config.json"))["rule_settings"]
    assert set(settings) == {LOCAL_RULE}
    assert settings[LOCAL_RULE]["features"] == \
        rule_settings.setting(bl.rules.get(LOCAL_RULE), "digits").record()
    assert settings[LOCAL_RULE]["sequences"]["inputs"] == "rates"


def test_rows_have_the_right_shape(rows, config, sequences):
    roles = {"backprop": "end_to_end", "ewc": "consolidation", LOCAL_RULE: "hidden"}
    for rule in RULES:
        for seed in range(SEEDS):
            for scenario in sequences:
                T = config.n_permuted if scenario == "permuted" else T_SPLIT
                mine = [r for r in rows if r["rule"] == rule and r["seed"] == seed
                        and r["scenario"] == scenario]
                assert {r["role"] for r in mine} == {roles[rule]}
                acc = [r for r in mine if r["metric"] == "accuracy"]
                assert sorted((int(r["task"]), r["eval_task"]) for r in acc) == \
                    [(i, j) for i in range(1, T + 1) for j in range(1, T + 1)]
                R = _matrix(rows, rule, seed, scenario)
                assert R.shape == (T, T) and np.all((R >= 0) & (R <= 1))
                # the retention curve: step 0, then every chunk of every task; it ends at R[T, 1]
                curve = sorted((r["step"], r["value"]) for r in mine if r["metric"] == "retention")
                assert {r["eval_task"] for r in mine if r["metric"] == "retention"} == {1}
                assert len(curve) == 1 + T * config.evals_per_task
                assert curve[0][0] == 0 and curve[-1] == (acc[-1]["step"], R[T - 1, 0])
                assert all(b[0] > a[0] for a, b in itertools.pairwise(curve))
                # R[i, 1] is the curve's point at the end of task i
                ends = sorted({r["step"] for r in acc})
                points = dict(curve)
                assert [points[s] for s in ends] == list(R[:, 0])


def _metrics_by_hand(R):
    """ACC, BWT and forgetting written out from their definitions (float64)."""
    T = R.shape[0]
    acc = sum(R[T - 1, j] for j in range(T)) / T
    bwt = sum(R[T - 1, j] - R[j, j] for j in range(T - 1)) / (T - 1)
    forgetting = sum(max(R[l, j] for l in range(T - 1)) - R[T - 1, j]
                     for j in range(T - 1)) / (T - 1)
    return {"avg_accuracy": acc, "bwt": bwt, "forgetting": forgetting}


def test_metrics_equal_a_direct_computation_from_R(rows, sequences):
    for rule in RULES:
        for seed in range(SEEDS):
            for scenario in sequences:
                R = _matrix(rows, rule, seed, scenario)
                for metric, expected in _metrics_by_hand(R).items():
                    got = _value(rows, rule, seed, scenario, metric)
                    assert got == pytest.approx(expected, abs=1e-12), (rule, seed, scenario, metric)


def test_continual_metrics_on_a_known_matrix():
    R = np.array([[0.9, 0.1, 0.0],
                  [0.5, 0.8, 0.2],
                  [0.6, 0.4, 0.7]])
    m = rt.continual_metrics(R)
    assert m["avg_accuracy"] == pytest.approx((0.6 + 0.4 + 0.7) / 3)
    assert m["bwt"] == pytest.approx(((0.6 - 0.9) + (0.4 - 0.8)) / 2)
    assert m["forgetting"] == pytest.approx(((0.9 - 0.6) + (0.8 - 0.4)) / 2)
    # forgetting takes the best earlier accuracy, not the one just after learning
    R2 = np.array([[0.5, 0.0], [0.9, 0.8]])  # task 1 improved while task 2 was learned
    assert rt.continual_metrics(R2)["bwt"] == pytest.approx(0.4)
    assert rt.continual_metrics(R2)["forgetting"] == pytest.approx(-0.4)
    with pytest.raises(ValueError, match="R has shape"):
        rt.continual_metrics(np.zeros((2, 3)))


# -- behaviour -----------------------------------------------------------------------------------
def test_backprop_forgets_catastrophically(rows):
    for seed in range(SEEDS):
        R = _matrix(rows, "backprop", seed, "class_incremental")
        assert np.all(np.diag(R) > 0.9)  # every task is learned ...
        assert np.all(R[-1, :-1] < 0.1)  # ... and every earlier one lost by the end
        assert _value(rows, "backprop", seed, "class_incremental", "bwt") < -0.8
        assert _value(rows, "backprop", seed, "permuted", "bwt") < -0.2
        # knowing the task (two output units to choose from) keeps most of it
        assert _value(rows, "backprop", seed, "task_incremental", "avg_accuracy") > \
            _value(rows, "backprop", seed, "class_incremental", "avg_accuracy") + 0.5


def test_ewc_forgets_less_than_backprop_on_permuted_digits(rows):
    bwt = {r: np.mean([_value(rows, r, s, "permuted", "bwt") for s in range(SEEDS)])
           for r in ("backprop", "ewc")}
    assert bwt["ewc"] > bwt["backprop"] + 0.1, bwt


def test_same_seed_gives_identical_rows(rows, config):
    again = get_study("retention").run_one(config, "backprop", 1)
    stored = [{k: v for k, v in r.items()} for r in rows
              if r["rule"] == "backprop" and r["seed"] == 1]
    assert len(again) == len(stored)
    for a, b in zip(again, stored):
        assert a["value"] == b["value"] and a["step"] == b["step"]
        assert (a["task"], a["metric"], a["scenario"], a["eval_task"], a["role"]) == \
            (b["task"], b["metric"], b["scenario"], b["eval_task"], b["role"])


# -- the features scenario -------------------------------------------------------------------------
def test_features_rows(rows, config, digits):
    roles = {"backprop": "end_to_end", "ewc": "consolidation", LOCAL_RULE: "hidden"}
    n_a = int(np.sum(np.isin(digits.y_train, rt.FEATURE_CLASSES[0])))
    n_b = len(digits.y_train) - n_a
    for rule in RULES:
        for seed in range(SEEDS):
            mine = [r for r in rows if r["rule"] == rule and r["seed"] == seed
                    and r["scenario"] == "features"]
            assert sorted(r["metric"] for r in mine) == sorted(FEATURE_METRICS)  # one row each
            assert {r["role"] for r in mine} == {roles[rule]}
            got = {r["metric"]: r for r in mine}
            for metric, (task, eval_task) in rt.FEATURE_METRICS.items():
                assert (got[metric]["task"], got[metric]["eval_task"]) == (task, eval_task)
            assert got["feature_acc_before"]["step"] == config.feature_epochs * n_a
            assert got["feature_acc_frozen"]["step"] == config.feature_epochs * (n_a + n_b)
            v = {m: r["value"] for m, r in got.items()}
            for m in ("feature_acc_before", "feature_acc_frozen", "feature_acc_refit"):
                assert 0.0 <= v[m] <= 1.0, (rule, seed, m)
            assert v["feature_acc_before"] > 0.9  # A read out from the layer (chance 0.2)
            assert v["weight_drift"] > 0 and v["weight_change_a"] > 0
            assert v["feature_retention"] == pytest.approx(
                v["feature_acc_frozen"] / v["feature_acc_before"], rel=1e-12)
            assert v["refit_retention"] == pytest.approx(
                v["feature_acc_refit"] / v["feature_acc_before"], rel=1e-12)


def test_backprop_hidden_layer_drifts_but_keeps_task_a(rows):
    for seed in range(SEEDS):
        v = {m: _value(rows, "backprop", seed, "features", m) for m in FEATURE_METRICS}
        assert v["weight_drift"] > 0.3  # learning B moves the hidden weights a lot ...
        assert v["feature_acc_frozen"] < v["feature_acc_before"]  # ... A's readout suffers ...
        assert v["feature_acc_refit"] > 0.95  # ... but A is still in the hidden layer
        # EWC holds the weights that matter for A
        assert _value(rows, "ewc", seed, "features", "weight_drift") < v["weight_drift"] - 0.05


def _standardised(F, Ft):
    """Centre on the training features' mean, scale by one number: 1 / the RMS norm of the
    centred training rows (the shared readout's scaling, written out)."""
    mu = F.mean(axis=0)
    scale = 1.0 / np.sqrt(np.mean(np.sum((F - mu) * (F - mu), axis=1)))
    return (F - mu) * scale, (Ft - mu) * scale


def _accuracy(W, b, F, y):
    return np.mean(np.argmax(F @ W + b, axis=1) == y)


# oja: a hidden layer of linear units on centred pixels; backprop: the MLP's tanh hidden layer
# on pixels in [0, 1]; delta: no hidden layer, its softmax output layer is the feature layer
@pytest.mark.parametrize("rule, layer, activation, size", [
    ("oja", "hidden", "linear", None),
    ("backprop", "hidden", "tanh", None),
    ("delta", "output", "softmax", 10),
])
def test_feature_metrics_equal_a_readout_by_hand(monkeypatch, config, digits, rule, layer,
                                                 activation, size):
    a = np.isin(digits.y_train, rt.FEATURE_CLASSES[0])
    at = np.isin(digits.y_test, rt.FEATURE_CLASSES[0])
    y, yt = digits.y_train[a], digits.y_test[at]  # labels 0-4 are their own indices
    if rule == "oja":  # centred on the mean of every training input
        assert rule_settings.setting(bl.rules.get(rule), "digits").inputs == "centred"
        offset = digits.x_train.astype(np.float64).mean(axis=0)
    else:
        offset = 0.0
    x = np.ascontiguousarray(digits.x_train[a] - offset, dtype=np.float64)
    xt = np.ascontiguousarray(digits.x_test[at] - offset, dtype=np.float64)

    def activities(net):  # A's training and test inputs in one call, as the study does
        F = net.activities(np.concatenate([x, xt]))[layer]
        return F[:len(x)], F[len(x):]

    nets, end_of_a = [], {}
    real_build, real_end_task = rt.build_feature_network, rt.end_task

    def build(*args):
        net, code = real_build(*args)
        nets.append(net)
        end_of_a["W0"] = net.projections[0].W.copy()
        return net, code

    def end_task(net):  # called once, right after task A: the layer as task A left it
        q = net.projections[0]
        F, Ft = activities(net)
        end_of_a.update(W=q.W.copy(), bias=np.array(q.post.bias, copy=True), F=F, Ft=Ft)
        return real_end_task(net)

    monkeypatch.setattr(rt, "build_feature_network", build)
    monkeypatch.setattr(rt, "end_task", end_task)
    got = {r["metric"]: r["value"] for r in rt.run_features(rule, config, 0, digits)}
    (net,) = nets
    q = net.projections[0]
    assert rt.feature_layer(net) == layer == q.post.name and q.post.activation == activation
    assert q.post.size == (size or config.hidden)
    F_a, Ft_a = end_of_a["F"], end_of_a["Ft"]
    F_b, Ft_b = activities(net)
    # the features are the layer's activities: its activation of W x + bias
    assert np.allclose(Ft_a, naive.act_forward(activation, xt @ end_of_a["W"].T + end_of_a["bias"]),
                       atol=1e-10)
    assert np.allclose(F_b, naive.act_forward(activation, x @ q.W.T + q.post.bias), atol=1e-10)

    S_a, St_a = _standardised(F_a, Ft_a)
    W, b, converged = ft.fit_readout(S_a, y, 5)
    assert converged
    before = _accuracy(W, b, St_a, yt)
    frozen = _accuracy(W, b, _standardised(F_a, Ft_b)[1], yt)  # after-A scaling, frozen readout
    S_b, St_b = _standardised(F_b, Ft_b)
    refit = _accuracy(*ft.fit_readout(S_b, y, 5)[:2], St_b, yt)
    assert got["feature_acc_before"] == before
    assert got["feature_acc_frozen"] == frozen
    assert got["feature_acc_refit"] == refit
    assert got["feature_retention"] == pytest.approx(frozen / before, rel=1e-12)
    assert got["refit_retention"] == pytest.approx(refit / before, rel=1e-12)
    # relative Frobenius change of the layer's weights: end of A -> end of B, and during A
    drift = np.sqrt(np.sum((q.W - end_of_a["W"]) ** 2) / np.sum(end_of_a["W"] ** 2))
    assert got["weight_drift"] == pytest.approx(drift, rel=1e-12)
    change = np.linalg.norm(end_of_a["W"] - end_of_a["W0"]) / np.linalg.norm(end_of_a["W0"])
    assert got["weight_change_a"] == pytest.approx(change, rel=1e-12)


def test_features_divergence_keeps_task_a(monkeypatch, config):
    calls = {"n": 0}
    real = rt.train

    def diverging(net, data, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # task B
            raise bl.DivergenceError("weights are not finite", 0, 7)
        return real(net, data, **kw)

    monkeypatch.setattr(rt, "train", diverging)
    cfg = dataclasses.replace(config, scenarios=("features", "permuted"))
    with pytest.raises(bl.DivergenceError, match="features scenario, task B") as info:
        get_study("retention").run_one(cfg, "sanger", 0)
    kept = info.value.rows
    n_a = int(np.sum(np.isin(bl.datasets.load("digits").y_train, rt.FEATURE_CLASSES[0])))
    assert info.value.step == cfg.feature_epochs * n_a + 7
    finite = {r["metric"] for r in kept if np.isfinite(r["value"])}
    assert finite == {"feature_acc_before", "weight_change_a"}
    nan = {(r["scenario"], r["metric"]) for r in kept if np.isnan(r["value"])}
    assert nan == {("features", m) for m in FEATURE_METRICS} - \
        {("features", "feature_acc_before"), ("features", "weight_change_a")} | \
        {("permuted", m) for m in ("avg_accuracy", "bwt", "forgetting")}
    assert len(kept) == len(FEATURE_METRICS) + 3  # one row per metric: a series each


# -- rules by metadata, configuration, divergence -------------------------------------------------
def test_fits_by_metadata():
    study = get_study("retention")
    fitting = ("backprop", "feedback_alignment", "direct_feedback_alignment", "ewc",
               "synaptic_intelligence", "delta", "oja", "bcm", "tag_and_capture")
    excluded = ("anti_hebbian", "clip", "row_normalize", "weight_decay", "synaptic_scaling",
                "hebb", "calcium")
    # built-in rules: one that is not registered is a regression, not a reason to skip
    assert set(fitting + excluded) <= set(bl.rules.available())
    for name in fitting:
        assert study.fits(bl.rules.get(name)), name
    for name in excluded:
        assert not study.fits(bl.rules.get(name)), name
        assert rt.exclusion(bl.rules.get(name))

    @dataclass(frozen=True, repr=False)
    class PlugIn(bl.rules.LocalRule):  # never registered: fits() reads metadata only
        lr: float = bl.rules.hyperparameter(1e-3, low=0.0)

    assert study.fits(PlugIn) and rt.role_of(PlugIn) == "hidden"
    assert "hebb" in study.valid_rules(rt.RetentionConfig.quick())  # runs when asked by name


def test_hidden_settings_keep_the_units_responsive_in_the_task_sequences(digits, config):
    """After a pass over the digits, every hidden-role rule's tanh units still tell inputs
    apart (Oja at its former rate, 1e-3, put every unit at +-1 on every input: a spread of
    1e-5 and a readout at chance)."""
    assert set(rt.HIDDEN_SETTINGS) <= set(bl.rules.available())  # no rule left out unseen
    for rule in rt.HIDDEN_SETTINGS:
        net = rt.build_network(rule, config, 0)
        bl.train(net, (digits.x_train, digits.y_train), epochs=1, batch_size=1, shuffle=False,
                 seed=0, quiet=True)
        h = net.activities(digits.x_test)["hidden"]
        assert h.std(axis=0).mean() > 0.1, rule  # across inputs, averaged over units
        assert np.mean(np.abs(h) > 0.99) < 0.25, rule  # few saturated responses


def test_tasks_and_networks(digits, config):
    tasks = rt.make_tasks(digits, "task_incremental", 5, np.random.default_rng(0))
    assert [t.classes for t in tasks] == list(rt.SPLIT_CLASSES)
    assert sum(len(t.y_test) for t in tasks) == len(digits.y_test)
    perm = rt.make_tasks(digits, "permuted", 3, np.random.default_rng(0))
    assert np.array_equal(perm[0].x_train, digits.x_train)
    assert not np.array_equal(perm[1].x_test, perm[2].x_test)
    assert np.allclose(np.sort(perm[1].x_test, axis=1), np.sort(digits.x_test, axis=1))
    net = rt.build_network("ewc", config, 0)
    assert [type(q.rule).__name__ for q in net.projections] == ["Chain", "Chain"]
    assert np.array_equal(net.projections[0].W, rt.build_network("backprop", config, 0)
                          .projections[0].W)  # the same initial weights for both
    with pytest.raises(ValueError, match="anti_hebbian"):
        rt.build_network("anti_hebbian", config, 0)


@pytest.mark.parametrize("key, value, match", [
    ("scenarios", "class_incremental,nope", "nope"),
    ("scenarios", "feature", r"'feature' is not a scenario; allowed: .*permuted, features"),
    ("scenarios", "features,features", "repeats"),
    ("n_permuted", "1", "n_permuted"),
    ("dt", "0", "dt"),
    ("dtype", "float16", "dtype"),
])
def test_bad_config_values(key, value, match):
    with pytest.raises(ValueError, match=match):
        get_study("retention").make_config(quick=True, overrides={key: value})


def test_bad_scenario_names(config, digits):
    for call in (lambda: rt.run_scenario("backprop", config, 0, "feature", digits),
                 lambda: rt.make_tasks(digits, "feature", 5, np.random.default_rng(0))):
        with pytest.raises(ValueError, match=r"scenario='feature'; allowed: .*features"):
            call()


def test_divergence_keeps_the_rows_before(monkeypatch, config):
    calls = {"n": 0}
    real = rt.train

    def diverging(net, data, **kw):
        calls["n"] += 1
        if calls["n"] == 4:  # the first chunk of task 2
            raise bl.DivergenceError("loss is nan", 0, 5)
        return real(net, data, **kw)

    monkeypatch.setattr(rt, "train", diverging)
    cfg = dataclasses.replace(config, scenarios=("class_incremental", "permuted"))
    with pytest.raises(bl.DivergenceError) as info:
        get_study("retention").run_one(cfg, "backprop", 0)
    exc = info.value
    n_task1 = int(np.sum(np.isin(bl.datasets.load("digits").y_train, (0, 1))))
    assert exc.step == n_task1 + 5
    kept = exc.rows
    assert [r["task"] for r in kept if r["metric"] == "accuracy"] == ["1"] * T_SPLIT
    nan = [r for r in kept if np.isnan(r["value"])]
    assert {(r["scenario"], r["metric"]) for r in nan} == {
        (s, m) for s in cfg.scenarios for m in ("avg_accuracy", "bwt", "forgetting")}


def test_a_spiking_layer_learns_split_digits_in_sequence_and_keeps_features():
    """triplet_stdp in Diehl & Cook's network (12 neurons): the class-incremental sequence
    gives a full accuracy matrix whose first task is learned well above chance, and the
    features scenario measures its spike counts before and after task B."""
    import brainlearn.studies.retention as retention
    d = bl.datasets.load("digits")
    small = dataclasses.replace(d, x_train=d.x_train[:500], y_train=d.y_train[:500],
                                x_test=d.x_test[:200], y_test=d.y_test[:200])
    cfg = retention.RetentionConfig(hidden=12, epochs=1, evals_per_task=1, feature_epochs=5)
    rows = retention.run_scenario("triplet_stdp", cfg, 0, "class_incremental", data=small)
    acc = {(int(r["task"]), r["eval_task"]): r["value"] for r in rows if r["metric"] == "accuracy"}
    assert len(acc) == 25 and {r["role"] for r in rows} == {"spiking"}
    assert acc[(1, 1)] > 0.9  # digits 0 and 1, told apart by the neurons' labels
    assert all(acc[(1, j)] == 0.0 for j in range(2, 6))  # classes not yet taught: no votes
    metrics = {r["metric"]: r["value"] for r in rows if r["task"] == "class_incremental"}
    assert set(metrics) == {"avg_accuracy", "bwt", "forgetting"}
    rows = retention.run_scenario("triplet_stdp", cfg, 0, "features", data=small)
    got = {r["metric"]: r["value"] for r in rows}
    assert got["feature_acc_before"] > 0.6 and 0 <= got["weight_drift"]
