"""Naive NumPy twins of the compiled kernels and drivers.

Written for clarity, not speed: each follows the textbook equation so that the
compiled code can be checked against it.
"""

from __future__ import annotations

import numpy as np

ACT = {
    "linear": (lambda z: z, lambda a, g: g),
    "tanh": (np.tanh, lambda a, g: g * (1 - a ** 2)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a, g: g * a * (1 - a)),
    "relu": (lambda z: np.maximum(z, 0), lambda a, g: g * (a > 0)),
    "softmax": (None, None),
}


def act_forward(name, z):
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return ACT[name][0](z)


def act_backward(name, a, g):
    """dL/dz from a and dL/da via the full Jacobian (softmax) or the derivative."""
    if name == "softmax":
        jac = np.diag(a) - np.outer(a, a)
        return jac.T @ g
    return ACT[name][1](a, g)


def loss_value(loss, a, t):
    """Per-sample loss computed directly from the definition (no fusing)."""
    if loss == "mse":
        return 0.5 * np.sum((a - t) ** 2)
    if loss == "binary_cross_entropy":
        return -np.sum(t * np.log(a) + (1 - t) * np.log(1 - a))
    if loss == "cross_entropy":
        return -np.sum(t * np.log(a))
    raise ValueError(loss)


def loss_grad_a(loss, a, t):
    if loss == "mse":
        return a - t
    if loss == "binary_cross_entropy":
        return -t / a + (1 - t) / (1 - a)
    return -t / a


def affine(W, x, b):
    return W @ x + b


class NaiveMLP:
    """A plain feed-forward net trained by per-sample (or per-batch) SGD with momentum."""

    def __init__(self, Ws, bs, acts, loss, lr, momentum=0.0, weight_decay=0.0):
        self.Ws = [W.astype(np.float64).copy() for W in Ws]
        self.bs = [b.astype(np.float64).copy() for b in bs]
        self.acts, self.loss = acts, loss
        self.lr, self.mu, self.wd = lr, momentum, weight_decay
        self.vW = [np.zeros_like(W) for W in self.Ws]
        self.vb = [np.zeros_like(b) for b in self.bs]

    def forward(self, x):
        a = [x]
        for W, b, act in zip(self.Ws, self.bs, self.acts):
            a.append(act_forward(act, W @ a[-1] + b))
        return a

    def gradients(self, x, t):
        a = self.forward(x)
        delta = act_backward(self.acts[-1], a[-1], loss_grad_a(self.loss, a[-1], t))
        gW, gb = [None] * len(self.Ws), [None] * len(self.Ws)
        for k in reversed(range(len(self.Ws))):
            gW[k] = np.outer(delta, a[k])
            gb[k] = delta
            if k:
                # the hidden error propagates through the *downstream* weights W[k]
                delta = act_backward(self.acts[k - 1], a[k], self.Ws[k].T @ delta)
        return gW, gb, loss_value(self.loss, a[-1], t)

    def step(self, xs, ts):
        """One SGD step on the mean gradient of the rows of xs."""
        grads = [self.gradients(x, t) for x, t in zip(xs, ts)]
        for k in range(len(self.Ws)):
            gW = np.mean([g[0][k] for g in grads], axis=0) + self.wd * self.Ws[k]
            gb = np.mean([g[1][k] for g in grads], axis=0)
            if self.mu:
                self.vW[k] = self.mu * self.vW[k] + gW
                self.vb[k] = self.mu * self.vb[k] + gb
                gW, gb = self.vW[k], self.vb[k]
            self.Ws[k] -= self.lr * gW
            self.bs[k] -= self.lr * gb
        return sum(g[2] for g in grads)


# -- learning rules -----------------------------------------------------------------------------
# Each twin follows its rule's docstring equation for ONE presentation, in plain NumPy.
# ``delta(W, x, y, mod, dt)`` returns the change (dW, db) the presentation asks for: it reads
# W and never writes it, and moves the twin's own state (thresholds, means, traces).
# Constraint twins instead return the constrained W from ``constrain(W)``. Constructors take
# exactly the rule's hyperparameters, so ``NaiveOja(**rule.get_params())`` is the twin of ``rule``.
class NaiveRule:
    """Base class of the rule twins (see the comment above)."""

    signal = "none"  # the third factor the rule reads: "none", "error" or "reward"
    feedback = "transpose"  # how an error crosses the projection (gradient rules)
    constraint = False
    updates_bias = False

    def reset(self, W):
        """Fresh state for a projection with weights W (n_post, n_pre)."""

    def delta(self, W, x, y, mod, dt):
        if self.constraint:
            return None, None
        raise NotImplementedError

    def constrain(self, W):
        return W


class NaiveHebb(NaiveRule):
    """dW = lr y x^T."""

    def __init__(self, lr):
        self.lr = lr

    def delta(self, W, x, y, mod, dt):
        return self.lr * np.outer(y, x), None


class NaiveOja(NaiveRule):
    """dw_ij = lr y_i (x_j - y_i w_ij)."""

    def __init__(self, lr):
        self.lr = lr

    def delta(self, W, x, y, mod, dt):
        return self.lr * (np.outer(y, x) - (y ** 2)[:, None] * W), None


class NaiveSanger(NaiveRule):
    """dW = lr (y x^T - LT[y y^T] W), LT the lower triangle with the diagonal."""

    def __init__(self, lr):
        self.lr = lr

    def delta(self, W, x, y, mod, dt):
        return self.lr * (np.outer(y, x) - np.tril(np.outer(y, y)) @ W), None


class NaiveBCM(NaiveRule):
    """dw_ij = lr x_j y_i (y_i - theta_i); then theta += dt / tau (y^2 / y0 - theta)."""

    def __init__(self, lr, y0, tau_theta, theta0):
        self.lr, self.y0, self.tau_theta, self.theta0 = lr, y0, tau_theta, theta0

    def reset(self, W):
        self.theta = np.full(W.shape[0], float(self.theta0))

    def delta(self, W, x, y, mod, dt):
        dW = self.lr * np.outer(y * (y - self.theta), x)  # reads theta before it moves
        self.theta = self.theta + dt / self.tau_theta * (y ** 2 / self.y0 - self.theta)
        return dW, None


class NaiveCovariance(NaiveRule):
    """dW = lr (y - <y>)(x - <x>)^T with the running means read before they move."""

    def __init__(self, lr, beta):
        self.lr, self.beta = lr, beta

    def reset(self, W):
        self.mean_pre = np.zeros(W.shape[1])
        self.mean_post = np.zeros(W.shape[0])

    def delta(self, W, x, y, mod, dt):
        dW = self.lr * np.outer(y - self.mean_post, x - self.mean_pre)
        self.mean_pre = self.mean_pre + self.beta * (x - self.mean_pre)
        self.mean_post = self.mean_post + self.beta * (y - self.mean_post)
        return dW, None


class NaiveCompetitive(NaiveRule):
    """The winner moves toward x: dw_k = lr (x - w_k); with rank r >= 2 the unit ranked r
    moves away: dw_r = -anti lr (x - w_r). Ranking by distance |x - w_i| (closest first) or
    by activity y_i (largest first)."""

    def __init__(self, lr, rank, anti, by_distance):
        self.lr, self.rank, self.anti, self.by_distance = lr, rank, anti, by_distance

    def delta(self, W, x, y, mod, dt):
        match = -np.sum((x - W) ** 2, axis=1) if self.by_distance else y
        order = np.argsort(-match, kind="stable")
        dW = np.zeros_like(W)
        winner = order[0]
        dW[winner] = self.lr * (x - W[winner])
        if 2 <= self.rank <= W.shape[0]:
            loser = order[self.rank - 1]
            dW[loser] = -self.anti * self.lr * (x - W[loser])
        return dW, None


class NaiveAntiHebbian(NaiveRule):
    """dw_ij = -lr (y_i y_j - p^2) for i != j; the diagonal never changes."""

    def __init__(self, lr, p):
        self.lr, self.p = lr, p

    def delta(self, W, x, y, mod, dt):
        dW = -self.lr * (np.outer(y, x) - self.p ** 2)
        np.fill_diagonal(dW, 0.0)
        return dW, None


class NaiveRewardHebbian(NaiveRule):
    """e = exp(-dt / tau_e) e + y x^T;  dW = lr (R - Rbar) e;  Rbar += beta (R - Rbar).

    ``mod`` is the reward broadcast to every postsynaptic unit (its first entry is R).
    """

    signal = "reward"

    def __init__(self, lr, tau_e, beta):
        self.lr, self.tau_e, self.beta = lr, tau_e, beta

    def reset(self, W):
        self.trace = np.zeros(W.shape)
        self.baseline = 0.0

    def delta(self, W, x, y, mod, dt):
        reward = mod[0]
        self.trace = np.exp(-dt / self.tau_e) * self.trace + np.outer(y, x)
        dW = self.lr * (reward - self.baseline) * self.trace
        self.baseline = self.baseline + self.beta * (reward - self.baseline)
        return dW, None


class NaiveGradient(NaiveRule):
    """Plain SGD on dL/dz of the post population (``mod``):
    dW = -lr (delta x^T + weight_decay W), db = -lr delta.

    The twin of backprop (momentum 0), delta (Widrow-Hoff), feedback alignment and direct
    feedback alignment: they differ only in how the error reaches a hidden population
    (``feedback``; B is the projection's fixed feedback matrix for "random" and "direct").
    """

    signal = "error"
    updates_bias = True

    def __init__(self, lr, momentum=0.0, weight_decay=0.0, feedback_scale=None, *,
                 feedback="transpose", B=None):
        if momentum:
            raise NotImplementedError("the twin is plain SGD; NaiveMLP covers momentum")
        self.lr, self.weight_decay = lr, weight_decay
        self.feedback, self.B = feedback, B

    def delta(self, W, x, y, mod, dt):
        return -self.lr * (np.outer(mod, x) + self.weight_decay * W), -self.lr * mod


class NaiveWeightDecay(NaiveRule):
    """dW = -decay dt W."""

    def __init__(self, decay):
        self.decay = decay

    def delta(self, W, x, y, mod, dt):
        return -self.decay * dt * W, None


class NaiveClip(NaiveRule):
    """W <- min(max(W, low), high) after every update."""

    constraint = True

    def __init__(self, low, high):
        self.low, self.high = low, high

    def constrain(self, W):
        return np.clip(W, self.low, self.high)


class NaiveRowNormalize(NaiveRule):
    """w_i <- norm w_i / |w_i| after every update (rows of norm 0 stay 0)."""

    constraint = True

    def __init__(self, norm):
        self.norm = norm

    def constrain(self, W):
        lengths = np.linalg.norm(W, axis=1, keepdims=True)
        return np.where(lengths > 0, self.norm * W / np.where(lengths > 0, lengths, 1.0), W)


class NaiveChain(NaiveRule):
    """Several rules on one projection: their changes summed (all read the same W), then the
    constraints applied in the order given."""

    def __init__(self, rules):
        self.rules = list(rules)
        signals = {r.signal for r in self.rules} - {"none"}
        self.signal = signals.pop() if signals else "none"
        self.updates_bias = any(r.updates_bias for r in self.rules)

    def reset(self, W):
        for r in self.rules:
            r.reset(W)

    def delta(self, W, x, y, mod, dt):
        dW, db = np.zeros_like(W), None
        for r in self.rules:
            if r.constraint:
                continue
            dWr, dbr = r.delta(W, x, y, mod, dt)
            dW = dW + dWr
            if dbr is not None:
                db = dbr if db is None else db + dbr
        return dW, db

    def constrain(self, W):
        for r in self.rules:
            if r.constraint:
                W = r.constrain(W)
        return W


def _mean_change(rule, W, xs, ys, mods, dt):
    """The mean change of a batch: every row read at the same W, the state moved row by row."""
    changes = [rule.delta(W, x, y, m, dt) for x, y, m in zip(xs, ys, mods)]
    dW = np.mean([c[0] for c in changes], axis=0) if changes[0][0] is not None else None
    db = np.mean([c[1] for c in changes], axis=0) if changes[0][1] is not None else None
    return dW, db


def settle(z_ff, W_lat, act, steps):
    """Activity of a population with a lateral projection: a = f(z_ff), then ``steps`` rounds
    of z = z_ff + W_lat a; a = f(z)."""
    a = act_forward(act, z_ff)
    for _ in range(steps):
        a = act_forward(act, z_ff + W_lat @ a)
    return a


def _batches(n, batch_size, epochs):
    """Row ranges of the batches, in presentation order; every epoch starts a new batch."""
    for _ in range(epochs):
        for start in range(0, n, batch_size):
            yield slice(start, min(start + batch_size, n))


def train_population(X, W, b, act, rule, *, W_lat=None, lateral_rule=None, settle_steps=10,
                     batch_size=1, epochs=1, dt=1.0):
    """Naive training of one projection input -> population (optionally with a lateral
    projection that settles) by a local rule, rows presented in order.

    Per batch: each row's activity with the pre-update weights; each rule's change of each
    row (state moved row by row, in order); the mean change applied; then the constraints.
    Returns ``(W, W_lat)`` (``W_lat`` None without a lateral projection).
    """
    W = np.array(W, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    rule.reset(W)
    if W_lat is not None:
        W_lat = np.array(W_lat, dtype=np.float64)
        if lateral_rule is not None:
            lateral_rule.reset(W_lat)
    for rows in _batches(len(X), batch_size, epochs):
        xs = np.asarray(X[rows], dtype=np.float64)
        if W_lat is None:
            ys = [act_forward(act, W @ x + b) for x in xs]
        else:
            ys = [settle(W @ x + b, W_lat, act, settle_steps) for x in xs]
        zeros = [np.zeros(W.shape[0])] * len(xs)
        dW, _ = _mean_change(rule, W, xs, ys, zeros, dt)
        dW_lat = None
        if lateral_rule is not None:
            dW_lat, _ = _mean_change(lateral_rule, W_lat, ys, ys, zeros, dt)
        if dW is not None:
            W = W + dW
        W = rule.constrain(W)
        if dW_lat is not None:
            W_lat = lateral_rule.constrain(W_lat + dW_lat)
    return W, W_lat


def train_layers(X, T, Ws, bs, acts, rules, *, loss, batch_size=1, epochs=1, dt=1.0):
    """Naive training of a chain input -> h1 -> ... -> output; ``rules[k]`` on projection k.

    Per row: the forward pass; the output error dL/dz; the hidden errors, each taken through
    the downstream projection's W ("transpose"), its fixed random B ("random", feedback
    alignment), or straight from the output error through the B of the projection into the
    population ("direct", DFA); the reward R = 1 if argmax(output) == argmax(target) else 0.
    Each rule reads its third factor (error of its post population, R broadcast, or zeros).
    Per batch the mean change is applied, then constraints. Returns ``(Ws, bs)``.
    """
    Ws = [np.array(W, dtype=np.float64) for W in Ws]
    bs = [np.array(b, dtype=np.float64) for b in bs]
    n_layers = len(Ws)
    for rule, W in zip(rules, Ws):
        rule.reset(W)
    for rows in _batches(len(X), batch_size, epochs):
        xs = np.asarray(X[rows], dtype=np.float64)
        ts = np.asarray(T[rows], dtype=np.float64)
        rows = []
        for x, t in zip(xs, ts):
            a = [x]
            for W, b, act in zip(Ws, bs, acts):
                a.append(act_forward(act, W @ a[-1] + b))
            d = [None] * (n_layers + 1)
            d[n_layers] = act_backward(acts[-1], a[-1], loss_grad_a(loss, a[-1], t))
            for k in range(n_layers - 1, 0, -1):  # population a[k] receives projection k - 1
                if rules[k - 1].feedback == "direct":
                    e = rules[k - 1].B.T @ d[n_layers]
                else:
                    down = rules[k]
                    M = down.B if (down.signal == "error" and down.feedback == "random") else Ws[k]
                    e = M.T @ d[k + 1]
                d[k] = act_backward(acts[k - 1], a[k], e)
            reward = float(np.argmax(a[-1]) == np.argmax(t))
            rows.append((a, d, reward))
        changes = []
        for k, rule in enumerate(rules):
            n_post = Ws[k].shape[0]
            mods = [d[k + 1] if rule.signal == "error" else
                    np.full(n_post, reward) if rule.signal == "reward" else np.zeros(n_post)
                    for a, d, reward in rows]
            changes.append(_mean_change(rule, Ws[k], [r[0][k] for r in rows],
                                        [r[0][k + 1] for r in rows], mods, dt))
        for k, (rule, (dW, db)) in enumerate(zip(rules, changes)):
            if dW is not None:
                Ws[k] = Ws[k] + dW
            if db is not None and rule.updates_bias:
                bs[k] = bs[k] + db
            Ws[k] = rule.constrain(Ws[k])
    return Ws, bs
