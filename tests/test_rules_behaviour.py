"""Each rule does what the literature says it does (../shared/REFERENCES.md), at sizes
that run in seconds. Full-size reproductions live in the studies and benchmarks."""

import numpy as np
import pytest

import brainlearn as bl
from brainlearn.engine.plan import make_plan

SPECTRUM = [5.0, 3.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1]

#: The drivers a single Hebbian layer trained without targets can take, each a different code
#: path to the same learning: "online" forces the per-sample loop over the rule's ``kernel``
#: (batch size 1, no fast path), "block" is what ``driver="auto"`` picks for a rule with an
#: ``affine_kernel`` (blocks of samples through matrix products), "minibatch" the mean change
#: of BATCH samples (the rule's ``batch_kernel``, or its ``kernel`` once per sample). A wrong
#: kernel that the block driver never calls fails under "online".
DRIVERS = ["online", "block", "minibatch"]
BATCH = 4


def _lr(lr, driver):
    """The rate that makes the same progress per sample: a minibatch takes one mean step of
    BATCH samples."""
    return lr * BATCH if driver == "minibatch" else lr


def _train(net, x, driver, **kw):
    if driver == "online":
        return bl.train(net, x, driver="online", **kw)
    if driver == "block":
        assert make_plan(net).block >= 0, "the block driver does not apply to this network"
        return bl.train(net, x, **kw)
    return bl.train(net, x, driver="minibatch", batch_size=BATCH, **kw)


@pytest.fixture(scope="module")
def gaussian_data():
    return bl.datasets.gaussian(20000, SPECTRUM, seed=0, dtype=np.float64)


def _single_layer(n_in, n_out, rule, seed=0, init=None, activation="linear", **params):
    net = bl.Network(seed=seed)
    x = net.add_input(n_in)
    y = net.add_population(n_out, activation=activation)
    p = net.connect(x, y, rule=rule, init=bl.init.Normal(std=0.1) if init is None else init,
                    **params)
    return net, p


def _cos(a, b):
    return abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))


# -- Hebbian family --------------------------------------------------------------------------------
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oja_finds_the_first_principal_component(gaussian_data, seed, driver):
    """Oja 1982: w -> +-e1 with |w| = 1 for small lr (here lr * lambda1 = 0.005)."""
    x, components = gaussian_data
    net, p = _single_layer(8, 1, "oja", seed=seed, lr=_lr(0.001, driver))
    _train(net, x, driver, epochs=2, seed=seed)
    w = p.W[0]
    assert _cos(w, components[0]) > 0.98
    assert np.linalg.norm(w) == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("driver", DRIVERS)
def test_oja_diverges_when_the_rate_is_too_large(gaussian_data, driver):
    x, _ = gaussian_data
    net, _ = _single_layer(8, 1, "oja", lr=0.5)
    with pytest.raises(bl.DivergenceError):
        _train(net, x * 3, driver, epochs=1)


def test_sanger_finds_the_top_components_in_order(gaussian_data):
    """Sanger 1989: unit k converges to the k-th principal component."""
    x, components = gaussian_data
    net, p = _single_layer(8, 3, "sanger", lr=0.002)
    bl.train(net, x, epochs=2, seed=0)
    for k in range(3):
        assert _cos(p.W[k], components[k]) > 0.98, k
        assert np.linalg.norm(p.W[k]) == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("driver", DRIVERS)
def test_plain_hebb_norm_grows_like_one_plus_lr_lambda1(gaussian_data, driver):
    """E[w_{n+1}] = (1 + lr C) E[w_n]: along e1 the norm grows by (1 + lr lambda1) a step."""
    x, components = gaussian_data
    lr, n = 1e-4, 8000
    net, p = _single_layer(8, 1, "hebb", lr=_lr(lr, driver), init=components[:1] * 0.1)
    norms = []
    for chunk in np.split(x[:n], 8):
        _train(net, chunk, driver, shuffle=False)
        norms.append(np.linalg.norm(p.W))
    rate = np.polyfit(np.arange(8) * (n // 8), np.log(norms), 1)[0]
    assert rate == pytest.approx(np.log1p(lr * SPECTRUM[0]), rel=0.1)


@pytest.mark.parametrize("driver", DRIVERS)
def test_bcm_becomes_selective_with_a_seed_dependent_winner(driver):
    """BCM with K orthogonal equiprobable patterns: one response near K*y0, the others near 0."""
    K, y0 = 4, 1.0
    patterns = np.zeros((K, 8))
    for k in range(K):
        patterns[k, 2 * k:2 * k + 2] = 1 / np.sqrt(2)
    winners = set()
    for seed in range(4):
        stream = patterns[np.random.default_rng(seed).integers(0, K, 60000)]
        net, p = _single_layer(8, 1, "bcm", seed=seed, lr=_lr(0.001, driver), y0=y0,
                               tau_theta=100.0, init=bl.init.Uniform(0.0, 0.3))
        _train(net, stream, driver, shuffle=False)
        r = net.predict(patterns).ravel()
        win = int(np.argmax(r))
        winners.add(win)
        assert r[win] == pytest.approx(K * y0, rel=0.15), r
        assert np.all(np.abs(np.delete(r, win)) < 0.1 * y0), r
        assert p.state.theta[0] == pytest.approx(K * y0, rel=0.2)  # theta tracks E[y^2]/y0
    assert len(winners) >= 2  # which pattern wins depends on the initial weights


@pytest.mark.parametrize("driver", DRIVERS)
def test_covariance_rule_follows_the_input_output_covariance(rng, driver):
    """Averaged over many presentations at (nearly) fixed W, dW ~ lr Cov(y, x): LTP and LTD."""
    x = rng.normal(0, 1, (40000, 4)) + 2.0  # non-zero means: plain Hebb would see them
    net, p = _single_layer(4, 2, "covariance", lr=_lr(1e-6, driver), beta=0.01)
    _train(net, x[:2000], driver, shuffle=False)  # let the running means settle
    W0 = p.W.copy()
    _train(net, x[2000:], driver, shuffle=False)
    y = x[2000:] @ W0.T
    expected = 1e-6 * len(y) * np.cov(y.T, x[2000:].T)[:2, 2:]
    np.testing.assert_allclose(p.W - W0, expected, rtol=0.05, atol=1e-6)
    assert np.any(p.W - W0 < 0) and np.any(p.W - W0 > 0)


def test_competitive_units_become_cluster_prototypes():
    """Rumelhart & Zipser 1985: each unit ends up at one cluster centre (units start on data
    points of different clusters, the usual remedy for dead units)."""
    x, labels, centres = bl.datasets.clusters(3000, 4, 16, spread=0.05, seed=3, dtype=np.float64)
    init = x[[np.flatnonzero(labels == k)[0] for k in range(4)]][::-1]  # one sample per cluster
    net, p = _single_layer(16, 4, "competitive", lr=0.05, init=init + 0.05)
    bl.train(net, x, epochs=2, seed=0)
    cos = np.array([[_cos(w, c) for c in centres] for w in p.W])
    assert sorted(cos.argmax(axis=1)) == [0, 1, 2, 3]  # one unit per centre
    assert np.all(cos.max(axis=1) > 0.9)


def test_conscience_revives_dead_competitive_units():
    """DeSieno 1988: units that start far from the data never win under the plain rule (dead
    units); with a conscience, a unit that wins less than its share 1/N is favoured until it
    wins, so every unit ends at a cluster centre, one unit per cluster."""
    k = 6
    x, _, centres = bl.datasets.clusters(300, k, 16, spread=0.05, seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    away = rng.normal(size=16)
    # every unit in a bunch on one side of the data: the first to win comes closest to all
    # the clusters and keeps winning
    init = x.mean(axis=0) + 2.0 * away / np.linalg.norm(away) + 0.1 * rng.normal(size=(k, 16))

    def trained(conscience):
        # beta = 0.002: the win frequencies adapt within 500 of the 3000 presentations
        net, p = _single_layer(16, k, "competitive", lr=0.05, init=init, conscience=conscience,
                               conscience_rate=0.002)
        bl.train(net, x, epochs=10, seed=0)
        wins = np.bincount(np.argmin(((x[:, None] - p.W[None]) ** 2).sum(-1), axis=1),
                           minlength=k)
        return p, wins

    plain, wins = trained(0.0)
    dead = wins == 0
    assert dead.sum() >= 3, wins
    assert np.all(plain.state.wins[dead] < 0.1 / k)  # the plain rule tracks its winners too
    # gamma/N ~ 8 outweighs how much farther (squared) the bunch is from the data, ~2^2
    p, wins = trained(50.0)
    assert np.all(wins > 0), wins
    dist = np.linalg.norm(p.W[:, None] - centres[None], axis=-1)
    assert sorted(dist.argmin(axis=1)) == list(range(k))  # one unit per centre
    assert dist.min(axis=1).max() < 0.1  # half a typical sample's distance, 0.05 * sqrt(16)
    np.testing.assert_allclose(p.state.wins, 1 / k, atol=0.05)


def test_ranked_competitive_pushes_the_runner_up_away():
    """Krotov & Hopfield 2019: the k-th ranked unit gets an anti-Hebbian update."""
    x = np.tile([[1.0, 0.0]], (50, 1))
    W = np.array([[0.9, 0.1], [0.7, 0.3]])
    for rank, moves_away in [(0, False), (2, True)]:
        net, p = _single_layer(2, 2, "competitive", lr=0.1, rank=rank, anti=0.5, init=W)
        bl.train(net, x, shuffle=False)
        assert np.linalg.norm(p.W[0] - [1, 0]) < 0.01  # the winner converges to the input
        d_after = np.linalg.norm(p.W[1] - [1, 0])
        assert (d_after > np.linalg.norm(W[1] - [1, 0])) == moves_away


def test_anti_hebbian_lateral_weights_decorrelate_outputs(rng):
    """Foldiak 1990: lateral anti-Hebbian learning removes output correlations (>= 10x)."""
    n_in, n_out = 10, 4
    mix = rng.normal(size=(n_in, n_in))
    x = rng.normal(size=(30000, n_in)) @ mix.T / np.sqrt(n_in)  # correlated inputs
    net = bl.Network(seed=0)
    inp = net.add_input(n_in)
    y = net.add_population(n_out, activation="linear", settle_steps=40)
    ff = net.connect(inp, y, init=bl.init.Normal(std=0.3))
    lat = net.connect(y, y, rule="anti_hebbian", lr=2e-3, init="zeros")

    def off_diagonal_corr():
        c = np.corrcoef(net.predict(x[:5000]).T)
        return np.abs(c[~np.eye(n_out, dtype=bool)]).mean()

    before = off_diagonal_corr()
    bl.train(net, x, epochs=2, seed=0)
    after = off_diagonal_corr()
    assert before > 0.2
    assert after < before / 10, (before, after)
    assert np.all(np.diag(lat.W) == 0)
    assert ff.rule is None


# -- gradient-side credit assignment ---------------------------------------------------------------
@pytest.mark.parametrize("rule", ["feedback_alignment", "direct_feedback_alignment"])
def test_feedback_alignment_rules_learn_digits(digits, rule):
    net = bl.mlp([64, 64, 64, 10], rule=rule, lr=0.05, seed=0, dtype="float32")
    bl.train(net, digits, epochs=15, seed=0)
    assert bl.evaluate(net, digits)["accuracy"] >= 0.93


def _hidden_update(net, x, y, rule):
    """The change of the first hidden weights that one minibatch step of ``rule`` makes."""
    clone = bl.Network(seed=net.seed)
    pops = [clone.add_input(net.populations[0].size)]
    for p in net.populations[1:]:
        pops.append(clone.add_population(p.size, activation=p.activation, bias=p.bias))
    for q, src in zip(net.projections, net.projections):
        c = clone.connect(pops[q.pre.index], pops[q.post.index], rule=rule, lr=1.0,
                          init=src.W.copy())
        if rule == "feedback_alignment":
            c.state = src.state
    W0 = clone.projections[0].W.copy()
    bl.train(clone, (x, y), batch_size=len(x), shuffle=False)
    return clone.projections[0].W - W0


def test_feedback_alignment_update_aligns_with_the_gradient(digits):
    """Lillicrap 2016: after a little training the FA update is within 90 degrees of backprop's."""
    net = bl.mlp([64, 32, 10], rule="feedback_alignment", lr=0.05, seed=1)
    bl.train(net, (digits.x_train[:400], digits.y_train[:400]), epochs=2, seed=0)
    x, y = digits.x_train[400:800].astype(np.float64), digits.y_train[400:800]
    fa = _hidden_update(net, x, y, "feedback_alignment").ravel()
    bp = _hidden_update(net, x, y, "backprop").ravel()
    angle = np.degrees(np.arccos(fa @ bp / (np.linalg.norm(fa) * np.linalg.norm(bp))))
    assert angle < 90, angle


def test_delta_rule_reaches_the_least_squares_solution(rng):
    """Widrow-Hoff LMS on a linear unit converges to the least-squares weights."""
    x = rng.normal(size=(4000, 5))
    w_true = rng.normal(size=5)
    t = x @ w_true + 0.3 + 0.05 * rng.normal(size=4000)
    net = bl.mlp([5, 1], rule="delta", output="linear", lr=0.01, seed=0)
    bl.train(net, (x, t), loss="mse", epochs=5, seed=0)
    coef, *_ = np.linalg.lstsq(np.c_[x, np.ones(len(x))], t, rcond=None)
    np.testing.assert_allclose(net.projections[0].W[0], coef[:5], atol=0.02)
    assert net.output.bias[0] == pytest.approx(coef[5], abs=0.02)


def test_delta_rule_is_refused_on_a_hidden_layer():
    with pytest.raises(ValueError, match="belongs on a projection into"):
        net = bl.mlp([5, 4, 2], rule="delta", seed=0)
        bl.train(net, (np.zeros((3, 5)), np.array([0, 1, 0])))


# -- three-factor ------------------------------------------------------------------------------------
def test_reward_hebbian_learns_a_two_class_task(digits):
    keep, keep_test = digits.y_train < 2, digits.y_test < 2
    two = bl.datasets.Dataset(digits.x_train[keep], digits.y_train[keep], digits.x_test[keep_test],
                              digits.y_test[keep_test], n_classes=2)
    net = bl.mlp([64, 2], rule="reward_hebbian", output="softmax", lr=0.05, seed=0)
    before = bl.evaluate(net, two)["accuracy"]
    bl.train(net, two, epochs=5, seed=0)
    after = bl.evaluate(net, two)["accuracy"]
    assert after > 0.9 > before + 0.2
    assert 0.5 < net.projections[0].state.baseline[0] <= 1.0  # the baseline tracks the reward


# -- composition ------------------------------------------------------------------------------------
def test_chain_stabilises_plain_hebb_into_pca(gaussian_data):
    """Hebb followed by explicit normalisation (von der Malsburg) also finds the first PC."""
    x, components = gaussian_data
    rule = bl.rules.chain(bl.rules.Hebb(lr=0.001), "row_normalize")
    net, p = _single_layer(8, 1, rule)
    bl.train(net, x, epochs=1, seed=0)
    assert _cos(p.W[0], components[0]) > 0.98
    assert np.linalg.norm(p.W[0]) == pytest.approx(1.0, abs=1e-9)


def test_chain_sums_deltas_read_at_the_same_weights(rng):
    x = rng.normal(size=(1, 6))
    W = rng.normal(size=(3, 6))
    net, p = _single_layer(6, 3, bl.rules.chain(bl.rules.Hebb(lr=0.1), bl.rules.WeightDecay(decay=0.2)),
                           init=W)
    bl.train(net, x)
    y = W @ x[0]
    np.testing.assert_allclose(p.W, W + 0.1 * np.outer(y, x[0]) - 0.2 * W, rtol=1e-12)


def test_clip_rule_bounds_weights(rng):
    rule = bl.rules.chain(bl.rules.Hebb(lr=0.05), bl.rules.Clip(low=-0.2, high=0.3))
    net, p = _single_layer(6, 3, rule)
    bl.train(net, rng.uniform(0, 1, (500, 6)))
    assert p.W.max() == pytest.approx(0.3) and p.W.min() >= -0.2
