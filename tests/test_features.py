"""Measures of learned representations (brainlearn.studies.features), each against a
computation written out here: an SVD, hand-made class responses, a plain gradient descent."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brainlearn.studies import features as feat


# -- principal components and alignment -------------------------------------------------------------
@pytest.fixture(scope="module")
def cloud():
    """Samples with a known covariance: variances 9, 4, 1, 0.25, 0.04 along a random rotation."""
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    z = rng.standard_normal((4000, 5)) * np.array([3.0, 2.0, 1.0, 0.5, 0.2])
    return z @ Q.T + 7.0, Q.T  # rows of Q.T: the true components, largest variance first


def test_principal_components_are_those_of_an_svd(cloud):
    X, _ = cloud
    V, var = feat.principal_components(X)
    _, s, Vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    assert np.allclose(np.abs(V @ Vt.T), np.eye(5), atol=1e-10)
    assert np.allclose(var, s ** 2 / len(X))
    assert np.all(np.diff(var) < 0)
    assert np.all(V[np.arange(5), np.argmax(np.abs(V), axis=1)] > 0)  # the sign convention


def test_pc_alignment_of_components_and_of_their_mixtures(cloud):
    X, true = cloud
    V, _ = feat.principal_components(X)
    # the components themselves, with any signs and lengths: alignment 1 in order
    W = V * np.array([[-2.0], [0.5], [1.0], [-3.0], [1.0]])
    assert feat.pc_alignment(W, V, units=5, target="ordered") == pytest.approx(1.0)
    # in the wrong order they align only where the order is right
    swapped = V[[1, 0, 2, 3, 4]]
    assert feat.pc_alignment(swapped, V, units=5) == pytest.approx(3 / 5)
    # every unit on the first component: "first" is 1, "ordered" only its first unit
    same = np.repeat(V[:1], 4, axis=0)
    assert feat.pc_alignment(same, V, units=4, target="first") == pytest.approx(1.0)
    assert feat.pc_alignment(same, V, units=4, target="ordered") == pytest.approx(1 / 4)
    # a mixture: the mean |cos| written out
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 5))
    cos = [abs(M[k] @ V[k]) / np.linalg.norm(M[k]) for k in range(3)]
    assert feat.pc_alignment(M, V, units=3) == pytest.approx(np.mean(cos))
    # the sample components approach the true ones
    assert feat.pc_alignment(V, true, units=3) > 0.99
    # a unit of zeros counts as 0
    assert feat.pc_alignment(np.vstack([V[:1], np.zeros(5)]), V, units=2) == pytest.approx(0.5)


def test_pc_alignment_refuses_bad_arguments(cloud):
    V, _ = feat.principal_components(cloud[0])
    with pytest.raises(ValueError, match="target"):
        feat.pc_alignment(V, V, target="last")
    with pytest.raises(ValueError, match="shape"):
        feat.pc_alignment(np.ones((2, 4)), V)


# -- selectivity -----------------------------------------------------------------------------------
def test_selectivity_of_hand_made_responses():
    C = 10
    one_hot = np.eye(C)[:, :3] * np.array([1.0, 5.0, 0.2])  # three units, one class each
    assert np.allclose(feat.selectivity(one_hot), 1.0)
    flat = np.full((C, 2), 0.7)
    assert np.allclose(feat.selectivity(flat), 0.0)
    # half of the classes at 1, half at 0: (1 - 0.5^2 / 0.5) / (1 - 1/10) = 5/9
    half = np.repeat([[1.0], [0.0]], C // 2, axis=0)
    assert feat.selectivity(half)[0] == pytest.approx(5 / 9)
    # measured from the weakest class: an offset (or a sign) changes nothing
    assert feat.selectivity(half + 3.0)[0] == pytest.approx(5 / 9)
    assert feat.selectivity(one_hot * -1.0 + 1.0)[0] == pytest.approx(
        (1 - 0.9 ** 2 / 0.9) / 0.9)  # one class low, nine high: 1/9
    # the formula, on arbitrary responses
    rng = np.random.default_rng(1)
    m = rng.random((C, 1))
    r = m[:, 0] - m.min()
    expected = (1 - r.mean() ** 2 / np.mean(r ** 2)) / (1 - 1 / C)
    assert feat.selectivity(m)[0] == pytest.approx(expected)


def test_class_means_and_bad_shapes():
    F = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0]])
    y = np.array([0, 0, 1])
    assert np.allclose(feat.class_means(F, y, 3), [[2.0, 3.0], [10.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="means"):
        feat.selectivity(np.ones(4))


# -- dead units, weight change ---------------------------------------------------------------------
def test_dead_units_never_respond_or_never_win():
    F = np.column_stack([np.linspace(0, 1, 6), np.zeros(6), np.full(6, 0.3),
                         np.linspace(0, 1e-9, 6)])
    assert feat.dead_units(F) == 3  # constant, constant, and a variation 1e-9 of the largest
    winners = np.array([0, 0, 1, 1, 0, 1])  # unit 2 and 3 never win
    assert feat.dead_units(F[:, :1].repeat(4, axis=1), winners) == 2
    assert feat.dead_units(np.zeros((5, 3))) == 3


def test_weight_change_is_the_relative_frobenius_change():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((4, 3)), rng.standard_normal((2, 2))
    A2, B2 = A + 0.1, B * 2.0
    num = np.sum((A2 - A) ** 2) + np.sum((B2 - B) ** 2)
    den = np.sum(A ** 2) + np.sum(B ** 2)
    assert feat.weight_change([A, B], [A2, B2]) == pytest.approx(math.sqrt(num / den))
    assert math.isnan(feat.weight_change([np.zeros(3)], [np.ones(3)]))


# -- the readout -------------------------------------------------------------------------------------
def test_standardise_centres_and_scales_the_layer_as_one():
    rng = np.random.default_rng(4)
    F = rng.standard_normal((50, 3)) * np.array([10.0, 1.0, 0.1]) + 5.0
    Ft = rng.standard_normal((7, 3))
    S, St = feat.standardise(F, Ft)
    assert np.allclose(S.mean(axis=0), 0.0, atol=1e-12)
    assert np.mean(np.sum(S * S, axis=1)) == pytest.approx(1.0)
    # one factor for every unit: the ratios of the units' spreads are kept
    assert S[:, 0].std() / S[:, 2].std() == pytest.approx(F[:, 0].std() / F[:, 2].std())
    scale = S[0, 0] / (F[0, 0] - F[:, 0].mean())
    assert np.allclose(St, (Ft - F.mean(axis=0)) * scale)
    assert feat.standardise(np.array([[np.nan, 1.0]]), np.ones((1, 2))) is None


def test_readout_reaches_the_optimum_of_its_convex_loss():
    """The Newton fit and a long plain gradient descent on the same penalised cross-entropy
    end at the same weights (the loss is strictly convex), with a vanishing gradient."""
    rng = np.random.default_rng(5)
    n, d, k = 120, 4, 3
    centres = rng.standard_normal((k, d)) * 1.5
    y = rng.integers(0, k, n)
    F = centres[y] + rng.standard_normal((n, d))
    F, _ = feat.standardise(F, F)
    l2 = 1e-2
    W, b, converged = feat.fit_readout(F, y, k, l2)
    assert converged
    Y = np.eye(k)[y]
    Wg, bg = np.zeros((d, k)), np.zeros(k)
    for _ in range(20000):
        Z = F @ Wg + bg
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        G = (P - Y) / n
        Wg -= 0.5 * (F.T @ G + l2 * Wg)
        bg -= 0.5 * G.sum(axis=0)
    assert np.allclose(W, Wg, atol=1e-5) and np.allclose(b, bg, atol=1e-5)
    pred = feat.predict_readout(W, b, F)
    assert np.array_equal(pred, np.argmax(F @ Wg + bg, axis=1))


def test_hessian_vector_products_match_the_exact_float64_formula():
    """The products (float32 inside, an inexact Newton step) agree with the float64 product
    H v of the penalised cross-entropy to float32 precision."""
    rng = np.random.default_rng(8)
    n, d, k, l2 = 200, 12, 4, 1e-3
    F = rng.standard_normal((n, d))
    y = rng.integers(0, k, n)
    theta = 0.3 * rng.standard_normal(d * k + k)
    v = rng.standard_normal(d * k + k)
    W, V = theta[:d * k].reshape(d, k), v[:d * k].reshape(d, k)
    Z = F @ W + theta[d * k:]
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    U = F @ V + v[d * k:]
    R = (P * U - P * np.sum(P * U, axis=1, keepdims=True)) / n
    exact = np.concatenate([(F.T @ R + l2 * V).ravel(), R.sum(axis=0)])
    got = feat._Objective(F, np.eye(k)[y], l2).hessp(theta, v)
    assert got.dtype == np.float64
    assert np.max(np.abs(got - exact)) < 1e-5 * np.max(np.abs(exact))


def test_a_readout_started_from_the_last_fit_reaches_the_same_optimum():
    """Fits of a layer as it changes, each started from the one before (Readout), end where
    fits from zero end, and give the same test predictions."""
    rng = np.random.default_rng(9)
    n, d, k = 300, 6, 3
    centres = rng.standard_normal((k, d)) * 1.5
    y = rng.integers(0, k, n)
    yt = rng.integers(0, k, 60)
    base = centres[y] + rng.standard_normal((n, d))
    base_t = centres[yt] + rng.standard_normal((60, d))
    warm = feat.Readout(k, l2=1e-2)
    for drift in (0.0, 0.1, 0.2):  # the layer drifts a little between evaluations
        M = np.eye(d) + drift * rng.standard_normal((d, d))
        F, Ft = base @ M, base_t @ M
        acc = warm.accuracy(F, y, Ft, yt)
        S, St = feat.standardise(F, Ft)
        W, b, _ = feat.fit_readout(S, y, k, 1e-2)
        assert acc == feat.readout_accuracy(F, y, Ft, yt, k, l2=1e-2)
        assert np.allclose(warm.last[0], W, atol=1e-4)  # the bias is fixed up to a shift
        assert np.array_equal(feat.predict_readout(*warm.last, St),
                              feat.predict_readout(W, b, St))
    with pytest.raises(ValueError, match="start"):
        feat.fit_readout(S, y, k, 1e-2, start=(np.zeros((d + 1, k)), np.zeros(k)))


def test_readout_accuracy_on_separable_classes_and_a_label_subset():
    rng = np.random.default_rng(6)
    y = np.repeat(np.arange(4), 30)
    F = np.eye(4)[y] * 3.0 + 0.1 * rng.standard_normal((120, 4))
    yt = np.repeat(np.arange(4), 5)
    Ft = np.eye(4)[yt] * 3.0
    assert feat.readout_accuracy(F, y, Ft, yt, 4) == 1.0
    few = feat.label_subset(y, 2, seed=0)
    assert feat.readout_accuracy(F, y, Ft, yt, 4, labelled=few) == 1.0
    assert math.isnan(feat.readout_accuracy(F * np.inf, y, Ft, yt, 4))


def test_label_subset_takes_k_per_class_the_same_for_a_seed():
    y = np.array([0] * 10 + [1] * 3 + [2] * 7)
    idx = feat.label_subset(y, 5, seed=1)
    assert np.array_equal(np.bincount(y[idx]), [5, 3, 5])  # a class with fewer gives all it has
    assert np.array_equal(idx, feat.label_subset(y, 5, seed=1))
    assert not np.array_equal(idx, feat.label_subset(y, 5, seed=2))
    assert np.array_equal(feat.label_subset(y, 0, seed=1), np.arange(len(y)))
    with pytest.raises(ValueError, match="per_class"):
        feat.label_subset(y, -1, seed=0)


# -- the learning study's findings -----------------------------------------------------------------
def test_learning_findings_state_the_numbers_of_hand_made_rows():
    from brainlearn.studies._learning_findings import learning_findings

    def rows(rule, role, metric, values):
        return [{"rule": rule, "seed": seed, "step": step, "metric": metric, "value": v,
                 "role": role} for seed, series in enumerate(values)
                for step, v in zip((0, 100), series)]

    data = (rows("sanger", "hidden", "test_accuracy", [(0.90, 0.95), (0.90, 0.97)])
            + rows("oja", "hidden", "test_accuracy", [(0.90, 0.40), (0.90, 0.42)])
            + rows("random_features", "hidden", "test_accuracy", [(0.94, 0.94), (0.94, 0.94)])
            + rows("backprop", "end_to_end", "test_accuracy", [(0.1, 0.97), (0.1, 0.97)])
            + rows("sanger", "hidden", "pc_alignment", [(0.1, 0.98), (0.1, 0.96)])
            + rows("competitive", "hidden", "dead_units", [(5, 2), (5, 4)]))
    found = learning_findings([], data)
    curves = found["learning_curves"]
    assert "backprop 0.970" in curves and "sanger 0.960" in curves
    assert "random features 0.940" in curves and "sanger beats the random features" in curves
    assert "oja falls from 0.90 to 0.41" in curves
    assert "(0.10 -> 0.97 mean |cos|)" in found["objectives"]
    assert "competitive leaves the most dead units (3)" in found["objectives"]
    assert "3 never win" in found["receptive_fields"]


def test_sweep_findings_name_where_learned_features_beat_random_ones():
    from brainlearn.studies import get_study, parse_grid
    from brainlearn.studies._learning_findings import learning_sweep_findings

    summary = []
    for labels in (5, 0):
        for hidden, rf, comp, pca, bp in ((8, 0.55, 0.73, 0.81, 0.78), (128, 0.84, 0.82, 0.87,
                                                                          0.86)):
            for rule, mean in (("random_features", rf), ("competitive", comp), ("pca", pca),
                               ("backprop", bp)):
                summary.append({"hidden": hidden, "labels_per_class": labels, "rule": rule,
                                "metric": "final_test_accuracy", "mean": mean, "ci95": 0.02})
    grid = parse_grid(get_study("learning"), {"hidden": [8, 128], "labels_per_class": [5, 0]})
    text = learning_sweep_findings(summary, grid)["sweep_final_test_accuracy"]
    assert "labels_per_class=5: learned features beat the random ones" in text
    assert "competitive at hidden 8 (0.73 against 0.55 at 8)" in text
    assert "labels_per_class=0 (all)" in text
    assert "exact PCA 0.87 against backprop's 0.86 at hidden 128" in text


def test_feature_retention_finding_lists_what_each_layer_keeps():
    from brainlearn.studies._findings import retention_findings

    def row(rule, metric, mean):
        return {"rule": rule, "scenario": "features", "metric": metric, "mean": mean}

    summary = [row("bcm", "feature_retention", 0.97), row("oja", "feature_retention", 0.27),
               row("oja", "feature_acc_frozen", 0.24), row("oja", "feature_acc_refit", 0.56),
               row("bcm", "weight_drift", 0.2), row("oja", "weight_drift", 1.27)]
    text = retention_findings(summary, [])["feature_retention"]
    assert "bcm 0.97, oja 0.27" in text
    assert "oja's features score 0.56 against 0.24 frozen" in text
    assert "from 0.20 (bcm) to 1.27 (oja)" in text
