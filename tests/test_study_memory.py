"""The memory study: files, columns, figures, reproducibility, theory, and behaviour.

One quick run (Hebbian storage and stochastic binary synapses, two seeds) is shared by the
tests. Literature behaviour checked on it: Hebbian storage recalls almost perfectly well below
the capacity and fails above it (Amit, Gutfreund & Sompolinsky 1985), its one-step flip
fraction follows Q(1/sqrt(alpha)) (Hertz, Krogh & Palmer 1991), overloaded Hebbian storage
recalls nothing (the blackout of a memory that does not forget), and binary synapses keep the
newest patterns of a stream (a palimpsest; Amit & Fusi 1994).
"""

import csv
import math
import os
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

import brainlearn as bl
from brainlearn.results import read_json, read_metrics
from brainlearn.studies import get_study, run_study
from brainlearn.studies import memory as mem

RULES = ["hopfield_hebb", "stochastic_binary"]
SEEDS = 2
FIGURES = ["capacity", "palimpsest_age", "lifetime"]
COLUMNS = ["rule", "seed", "task", "step", "metric", "value", "load", "n_neurons", "age"]


def _run(out):
    res = run_study("memory", rules=RULES, seeds=SEEDS, quick=True, out=str(out))
    assert res.exit_status == 0, (res.counts, res.failed, res.figure_error)
    return os.path.join(str(out), "memory")


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    # a rule that is not registered is a regression: fail here, never skip
    missing = [r for r in RULES if r not in bl.rules.available()]
    assert not missing, f"rules not registered: {', '.join(missing)}"
    return _run(tmp_path_factory.mktemp("memory"))


@pytest.fixture(scope="module")
def rows(study_dir):
    return read_metrics(os.path.join(study_dir, "metrics.csv"),
                        numeric=("load", "n_neurons", "age"))


@pytest.fixture(scope="module")
def config():
    return mem.MemoryConfig.quick()


def _mean(rows, rule, task, metric, **where):
    values = [r["value"] for r in rows if r["rule"] == rule and r["task"] == task
              and r["metric"] == metric and all(r[k] == v for k, v in where.items())]
    assert len(values) == SEEDS, (rule, task, metric, where, len(values))
    return float(np.mean(values))


# -- files, columns, figures --------------------------------------------------------------------
def test_files_columns_and_figures(study_dir, config):
    for name in ("config.json", "metrics.csv", "summary.csv", "meta.json"):
        assert os.path.isfile(os.path.join(study_dir, name)), name
    with open(os.path.join(study_dir, "metrics.csv"), newline="") as fh:
        assert next(csv.reader(fh)) == COLUMNS
    meta = read_json(os.path.join(study_dir, "meta.json"))
    assert sorted(meta["figures"]) == sorted(FIGURES) and meta["figure_error"] is None
    for name in FIGURES:
        for ext in ("png", "svg"):
            path = os.path.join(study_dir, "figures", f"{name}.{ext}")
            assert os.path.getsize(path) > 1000, path
    with open(os.path.join(study_dir, "summary.csv"), newline="") as fh:
        summary = list(csv.DictReader(fh))
    keys = {(s["rule"], s["task"], s["metric"], s["n_neurons"], s["load"]) for s in summary}
    expected = {(r, "capacity", m, str(config.n_neurons), str(a)) for r in RULES
                for a in config.loads
                for m in ("overlap", "recalled_fraction", "one_step_flip_fraction")}
    expected |= {(r, "palimpsest", "lifetime", str(n), "") for r in RULES
                 for n in config.palimpsest_sizes}
    assert keys == expected
    assert all(int(s["n"]) == SEEDS for s in summary)


def test_rows_have_the_right_shape(rows, config):
    for rule in RULES:
        for seed in range(SEEDS):
            mine = [r for r in rows if r["rule"] == rule and r["seed"] == seed]
            cap = [r for r in mine if r["task"] == "capacity"]
            assert len(cap) == 3 * len(config.loads)
            for r in cap:
                assert r["n_neurons"] == config.n_neurons and r["age"] is None
                assert r["step"] == round(r["load"] * config.n_neurons)  # P patterns stored
                assert 0.0 <= r["value"] <= 1.0 or r["metric"] == "overlap"
                assert -1.0 <= r["value"] <= 1.0
            assert sorted({r["load"] for r in cap}) == list(config.loads)
            for n in config.palimpsest_sizes:
                L = config.stream_length(n)
                pal = [r for r in mine if r["task"] == "palimpsest" and r["n_neurons"] == n]
                recalled = {r["age"]: r["value"] for r in pal
                            if r["metric"] == "recalled_fraction"}
                overlaps = {r["age"]: r["value"] for r in pal if r["metric"] == "overlap"}
                assert sorted(recalled) == sorted(overlaps) == list(range(1, L + 1))
                assert all(recalled[a] == float(overlaps[a] >= mem.RECALLED) for a in recalled)
                (life,) = [r for r in pal if r["metric"] == "lifetime"]
                assert life["value"] == sum(recalled.values()) and life["step"] == L
                assert all(r["load"] is None for r in pal)


def test_same_seed_gives_an_identical_metrics_file(study_dir, tmp_path):
    again = _run(tmp_path)
    with open(os.path.join(study_dir, "metrics.csv"), "rb") as a, \
            open(os.path.join(again, "metrics.csv"), "rb") as b:
        assert a.read() == b.read()


# -- behaviour -----------------------------------------------------------------------------------
def test_hebbian_storage_recalls_below_capacity_and_fails_above(rows):
    low = _mean(rows, "hopfield_hebb", "capacity", "overlap", load=0.05)
    high = _mean(rows, "hopfield_hebb", "capacity", "overlap", load=0.3)
    assert low > 0.98, low
    assert high < 0.6, high
    assert _mean(rows, "hopfield_hebb", "capacity", "recalled_fraction", load=0.05) == 1.0
    assert _mean(rows, "hopfield_hebb", "capacity", "recalled_fraction", load=0.3) < 0.2


def test_hebbian_one_step_flips_follow_the_crosstalk_theory(rows):
    # N = 200, 40-60 patterns: about 100 flipped bits of 8000-12000 (10% noise)
    for alpha in (0.2, 0.3):
        got = _mean(rows, "hopfield_hebb", "capacity", "one_step_flip_fraction", load=alpha)
        assert got == pytest.approx(mem.theory_flip_fraction(alpha), rel=0.3), alpha
    assert _mean(rows, "hopfield_hebb", "capacity", "one_step_flip_fraction", load=0.05) < 1e-3


def test_palimpsest_keeps_the_newest_patterns_and_hebb_blacks_out(rows, config):
    for n in config.palimpsest_sizes:
        # the burn-in (100 patterns) overloads Hebbian storage: nothing is recalled
        assert _mean(rows, "hopfield_hebb", "palimpsest", "lifetime", n_neurons=n) == 0.0
    n = max(config.palimpsest_sizes)
    assert _mean(rows, "stochastic_binary", "palimpsest", "recalled_fraction", n_neurons=n,
                 age=1) == 1.0
    L = config.stream_length(n)
    assert _mean(rows, "stochastic_binary", "palimpsest", "recalled_fraction", n_neurons=n,
                 age=L) == 0.0
    assert 1.0 <= _mean(rows, "stochastic_binary", "palimpsest", "lifetime", n_neurons=n) < L / 2


# -- theory --------------------------------------------------------------------------------------
def test_theory_curves():
    assert mem.theory_flip_fraction(0.1) == pytest.approx(stats.norm.sf(1 / math.sqrt(0.1)),
                                                          rel=1e-12)
    loads = np.array([0.05, 0.138, 0.3])
    assert np.allclose(mem.theory_flip_fraction(loads),
                       [bl.memory.theory_flip_fraction(a) for a in loads], rtol=1e-12)
    assert mem.ags_overlap(0.05) == pytest.approx(1.0, abs=1e-4)
    # the retrieval solution ends at alpha_c ~ 0.138 with m ~ 0.967 (Amit et al. 1985)
    assert 0.96 < mem.ags_overlap(0.1378) < 0.975
    assert np.isnan(mem.ags_overlap(0.1382))
    m = mem.ags_overlap(np.array([0.02, 0.08, 0.12, 0.2]))
    assert np.all(np.diff(m[:3]) < 0) and np.isnan(m[3])


# -- rules by metadata, configuration ------------------------------------------------------------
def test_fits_memory_rules_by_metadata():
    study = get_study("memory")
    for name in bl.rules.available():
        cls = bl.rules.get(name)
        assert study.fits(cls) == (cls.tags.family == "memory"), name

    @dataclass(frozen=True, repr=False)
    class PlugIn(bl.rules.LocalRule):  # never registered: fits() reads metadata only
        family = "memory"
        lr: float = bl.rules.hyperparameter(1.0, low=0.0)

    assert study.fits(PlugIn)
    assert set(RULES) <= set(study.default_rules(mem.MemoryConfig.quick()))


def test_set_overrides_change_sizes():
    cfg = get_study("memory").make_config(
        quick=True, overrides={"n_neurons": "300", "cue_noise": "0.2", "loads": "0.1,0.2",
                               "palimpsest_sizes": "50,100", "parts": "palimpsest"})
    assert (cfg.n_neurons, cfg.cue_noise, cfg.loads, cfg.palimpsest_sizes, cfg.parts) == \
        (300, 0.2, (0.1, 0.2), (50, 100), ("palimpsest",))


@pytest.mark.parametrize("key, value, match", [
    ("parts", "capacity,nope", "nope"),
    ("loads", "0.2,0.1", "loads"),
    ("loads", "1.5", "loads"),
    ("cue_noise", "0.7", "cue_noise"),
    ("palimpsest_sizes", "1", "palimpsest_sizes"),
    ("n_neurons", "1", "n_neurons"),
    ("binary_q", "0", "binary_q"),
    ("recall_mode", "chaotic", "recall_mode"),
])
def test_bad_config_values(key, value, match):
    with pytest.raises(ValueError, match=match):
        get_study("memory").make_config(quick=True, overrides={key: value})


def test_divergence_keeps_the_parts_done(monkeypatch):
    def diverging(config, rule, seed):
        raise bl.DivergenceError("storing diverged", 0, 3)

    monkeypatch.setattr(mem, "run_palimpsest", diverging)
    cfg = get_study("memory").make_config(quick=True, overrides={"n_neurons": "50",
                                                                 "loads": "0.05,0.1"})
    with pytest.raises(bl.DivergenceError) as info:
        get_study("memory").run_one(cfg, "hopfield_hebb", 0)
    kept = info.value.rows
    assert {r["task"] for r in kept} == {"capacity"} and len(kept) == 3 * 2
