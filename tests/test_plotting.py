"""brainlearn.plotting: one colour-blind-safe palette, distinct colours within a panel, stable
colours across figures, and confidence bands clipped to a metric's range."""

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

import brainlearn as bl
from brainlearn import plotting

#: Paul Tol's "muted" scheme (https://personal.sron.nl/~pault/), as published
TOL_MUTED = {"#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
             "#882255", "#AA4499"}

#: the rules every study draws in one panel by default (a rule's colour must differ from every
#: other rule's in the same panel)
PANELS = {
    "learning, end to end": ["backprop", "feedback_alignment", "direct_feedback_alignment"],
    "learning, one layer": ["delta", "reward_hebbian"],
    "learning, hidden layer": ["hebb", "oja", "sanger", "bcm", "covariance", "competitive", "ltp",
                               "random_features", "pca"],
    "retention, gradient rules and consolidation": ["backprop", "ewc", "synaptic_intelligence",
                                                    "feedback_alignment",
                                                    "direct_feedback_alignment"],
    "retention, hidden layer": ["oja", "sanger", "bcm", "competitive", "ltp", "tag_and_capture",
                                "backprop", "triplet_stdp"],
    "learning, spiking layer": ["stdp", "triplet_stdp", "static_spiking"],
    "memory": ["hopfield_hebb", "storkey", "pseudo_inverse", "clipped_hebb", "stochastic_binary",
               "cascade"],
    "spacing": ["tag_and_capture", "calcium"],
    "stdp": ["stdp", "stdp_soft", "stdp_nearest", "triplet_stdp", "calcium", "voltage_stdp"],
    # the main job (experiments/compare.py) draws its rules together in the objectives figure
    # (the hidden layers and backprop's) and the feature-retention figure
    "main job, objectives": ["backprop", "oja", "sanger", "bcm", "competitive",
                             "random_features", "pca"],
    "main job, retention": ["backprop", "ewc", "synaptic_intelligence", "oja", "sanger", "bcm",
                            "competitive"],
}


@pytest.mark.parametrize("panel", sorted(PANELS))
def test_rules_drawn_together_get_distinct_colours(panel):
    colors = [plotting.rule_color(rule) for rule in PANELS[panel]]
    assert len(set(colors)) == len(colors), dict(zip(PANELS[panel], colors))


def test_the_memory_and_spacing_defaults_are_the_panels_tested():
    # the studies' own default rules, so that a new built-in rule joins a panel's test
    from brainlearn.studies import get_study
    for name in ("memory", "spacing", "stdp"):
        study = get_study(name)
        rules = study.default_rules(study.make_config(True))
        assert set(rules) <= set(PANELS[name]), (name, rules)


def test_every_rule_has_a_fixed_colour_of_the_declared_palette():
    assert set(plotting.PALETTE) == TOL_MUTED and len(plotting.PALETTE) == 9
    assert set(bl.rules.available()) <= set(plotting.RULE_COLORS)
    for rule, color in plotting.RULE_COLORS.items():
        assert color in plotting.PALETTE, rule
        assert plotting.rule_color(rule) == color


def test_controls_are_greys_apart_from_the_rules_and_from_each_other():
    pca, rand = plotting.rule_color("pca"), plotting.rule_color("random_features")
    assert pca != rand
    for color in (pca, rand):
        r, g, b = to_rgb(color)
        assert r == g == b, color  # grey: no hue to confuse with a rule
        assert color not in plotting.PALETTE
    assert sum(to_rgb(pca)) < sum(to_rgb(rand))  # PCA dark, random features mid grey


def test_unknown_names_get_a_stable_palette_colour():
    first = plotting.rule_color("my_plugin_rule")
    assert first in plotting.PALETTE
    assert plotting.rule_color("my_plugin_rule") == first
    # crc32 of the name (not hash(), salted per process): the same in every process
    import zlib
    index = zlib.crc32(b"my_plugin_rule") % len(plotting.PALETTE)
    assert first == plotting.PALETTE[index]


def test_band_is_clipped_to_the_range_and_left_alone_without_one():
    fig = Figure()
    ax = fig.add_subplot()
    x = np.arange(4.0)
    mean = np.array([0.1, 0.5, 0.95, 0.99])
    half = np.array([0.3, 0.1, 0.2, np.nan])  # NaN: one seed, no interval
    clipped = plotting.band(ax, x, mean, half, "#332288", lo=0.0, hi=1.0)
    ys = clipped.get_paths()[0].vertices[:, 1]
    assert ys.min() >= 0.0 and ys.max() <= 1.0
    assert ys.max() == 1.0 and ys.min() == 0.0
    free = plotting.band(ax, x, mean, half, "#332288")
    ys = free.get_paths()[0].vertices[:, 1]
    assert ys.max() == pytest.approx(1.15) and ys.min() == pytest.approx(-0.2)
    low, high = plotting.clipped_interval(mean, half, 0.0, 1.0)
    np.testing.assert_allclose(low, [0.0, 0.4, 0.75, 0.99])
    np.testing.assert_allclose(high, [0.4, 0.6, 1.0, 0.99])


def test_learning_curve_bands_stay_within_accuracy():
    fig = Figure()
    ax = fig.add_subplot()
    curves = np.array([[0.2, 0.9, 1.0], [0.6, 0.99, 0.9]])  # two seeds: a wide t interval
    line, area = plotting.plot_learning_curve(ax, [1, 2, 3], curves, "oja")
    ys = area.get_paths()[0].vertices[:, 1]
    assert ys.min() >= 0.0 and ys.max() <= 1.0
    assert line.get_color() == plotting.rule_color("oja")
    # a metric without bounds keeps the whole interval
    _, area = plotting.plot_learning_curve(ax, [1, 2, 3], curves, "oja", lo=None, hi=None)
    assert area.get_paths()[0].vertices[:, 1].max() > 1.0
