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
    "sign": (lambda z: np.where(z >= 0, 1.0, -1.0), lambda a, g: g * 0.0),
    "step": (lambda z: np.where(z > 0, 1.0, 0.0), lambda a, g: g * 0.0),
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
    by activity y_i (largest first), plus DeSieno's conscience b_i = gamma (1/N - p_i) on the
    score (the distance minus b_i, the activity plus b_i); then p_i += beta ([i = k] - p_i)
    for the winner k, p starting at 1/N."""

    def __init__(self, lr, rank, anti, by_distance, conscience, conscience_rate):
        self.lr, self.rank, self.anti, self.by_distance = lr, rank, anti, by_distance
        self.gamma, self.beta = conscience, conscience_rate

    def reset(self, W):
        self.wins = np.full(W.shape[0], 1.0 / W.shape[0])

    def delta(self, W, x, y, mod, dt):
        match = -np.sum((x - W) ** 2, axis=1) if self.by_distance else np.asarray(y, float)
        match = match + self.gamma * (1.0 / W.shape[0] - self.wins)  # reads p before it moves
        order = np.argsort(-match, kind="stable")
        dW = np.zeros_like(W)
        winner = order[0]
        dW[winner] = self.lr * (x - W[winner])
        if 2 <= self.rank <= W.shape[0]:
            loser = order[self.rank - 1]
            dW[loser] = -self.anti * self.lr * (x - W[loser])
        self.wins = self.wins + self.beta * ((np.arange(W.shape[0]) == winner) - self.wins)
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


class NaiveThresholdLTP(NaiveRule):
    """Artola-Brocher-Singer threshold rule: g(y) = 0 (y < theta_minus), -ltd_scale
    (theta_minus <= y < theta_plus), 1 (y >= theta_plus); step = lr dt g(y_i) x_j.
    Soft bounds: a positive step times (w_max - w), a negative one times (w - w_min).
    Hard bounds: rows with g != 0 become clip(w + step, w_min, w_max)."""

    def __init__(self, lr, ltd_scale, theta_minus, theta_plus, w_min, w_max, soft_bounds):
        self.lr, self.ltd_scale = lr, ltd_scale
        self.theta_minus, self.theta_plus = theta_minus, theta_plus
        self.w_min, self.w_max, self.soft_bounds = w_min, w_max, soft_bounds

    def delta(self, W, x, y, mod, dt):
        g = np.where(y < self.theta_minus, 0.0,
                     np.where(y < self.theta_plus, -self.ltd_scale, 1.0))
        step = self.lr * dt * np.outer(g, x)
        if self.soft_bounds:
            room = np.where(step > 0, self.w_max - W, W - self.w_min)
            return step * room, None
        changed = (g != 0)[:, None]
        return np.where(changed, np.clip(W + step, self.w_min, self.w_max) - W, 0.0), None


class NaiveSynapticScaling(NaiveRule):
    """rate += (1 - exp(-dt / tau)) (y - rate) (from rate = target); then
    dw_ij = lr dt (1 - rate_i / target) w_ij with the updated rate."""

    def __init__(self, lr, target, tau):
        self.lr, self.target, self.tau = lr, target, tau

    def reset(self, W):
        self.rate = np.full(W.shape[0], float(self.target))

    def delta(self, W, x, y, mod, dt):
        self.rate = self.rate + (1 - np.exp(-dt / self.tau)) * (y - self.rate)
        return self.lr * dt * (1 - self.rate / self.target)[:, None] * W, None


class NaiveEWC(NaiveRule):
    """Elastic weight consolidation (Kirkpatrick et al. 2017). Per presentation:
    fisher_sum += (mod x^T)^2, count += 1; dW = -min(lr strength fisher, 1) (W - anchor).
    At a task end: F_task = fisher_sum / count; fisher = gamma fisher + F_task; anchor = W
    (online) or the fisher-weighted mean (gamma fisher_old anchor + F_task W) / fisher."""

    signal = "error"

    def __init__(self, strength, lr, gamma, online):
        self.strength, self.lr, self.gamma, self.online = strength, lr, gamma, online

    def reset(self, W):
        self.fisher_sum = np.zeros_like(W)
        self.count = 0.0
        self.fisher = np.zeros_like(W)
        self.anchor = W.copy()

    def delta(self, W, x, y, mod, dt):
        coef = np.minimum(self.lr * self.strength * self.fisher, 1.0)  # reads the old state
        self.fisher_sum = self.fisher_sum + np.outer(mod, x) ** 2
        self.count += 1.0
        return -coef * (W - self.anchor), None

    def end_task(self, W):
        task = self.fisher_sum / self.count if self.count else np.zeros_like(W)
        old = self.gamma * self.fisher
        fisher = old + task
        if self.online:
            self.anchor = W.copy()
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                self.anchor = np.where(fisher > 0, (old * self.anchor + task * W) / fisher, W)
        self.fisher = fisher
        self.fisher_sum = np.zeros_like(W)
        self.count = 0.0


class NaiveSynapticIntelligence(NaiveRule):
    """Synaptic intelligence (Zenke, Poole & Ganguli 2017) with a path integral in windows of
    ``window`` presentations. Per batch: if the open window holds ``window`` or more
    presentations it is closed, omega -= (grad_sum / count) (W - W_prev), W_prev = W,
    grad_sum = 0, count = 0; then grad_sum += sum over the batch of mod x^T, count += batch
    size; dW = -clip(lr strength importance, 0, 1) (W - anchor). At a task end the open window
    is closed the same way, importance += omega / ((W - W_start)^2 + xi), and omega is zeroed
    and W_prev = W_start = anchor = W."""

    signal = "error"

    def __init__(self, strength, lr, xi, window=1):
        self.strength, self.lr, self.xi, self.window = strength, lr, xi, window

    def reset(self, W):
        self.importance = np.zeros_like(W)
        self.reset_path(W)

    def _close(self, W):
        if self.count > 0:
            self.omega = self.omega - self.grad_sum / self.count * (W - self.W_prev)
        self.W_prev, self.grad_sum, self.count = W.copy(), np.zeros_like(W), 0

    def batch_delta(self, W, xs, ys, mods, dt):
        if self.count >= self.window:
            self._close(W)
        self.grad_sum = self.grad_sum + np.sum([np.outer(m, x) for x, m in zip(xs, mods)],
                                               axis=0)
        self.count += len(xs)
        coef = np.clip(self.lr * self.strength * self.importance, 0.0, 1.0)
        return -coef * (W - self.anchor), None

    def delta(self, W, x, y, mod, dt):
        return self.batch_delta(W, [x], [y], [mod], dt)

    def end_task(self, W):
        self._close(W)
        self.importance = self.importance + self.omega / ((W - self.W_start) ** 2 + self.xi)
        self.reset_path(W)

    def reset_path(self, W):
        self.omega = np.zeros_like(W)
        self.grad_sum = np.zeros_like(W)
        self.count = 0
        self.W_prev, self.W_start, self.anchor = W.copy(), W.copy(), W.copy()


def _fmix32(x):
    """murmur3's 32-bit finaliser on uint64 arrays holding 32-bit values."""
    mask = np.uint64(0xFFFFFFFF)
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(0x85EBCA6B)) & mask
    x = x ^ (x >> np.uint64(13))
    x = (x * np.uint64(0xC2B2AE35)) & mask
    return x ^ (x >> np.uint64(16))


class CounterStream:
    """The calcium rule's counter-based generator: uniforms keyed by (key, step, element)."""

    def __init__(self, key, step):
        lo, hi = np.uint64(step % 2 ** 22), np.uint64(step // 2 ** 22)
        h = _fmix32(np.array([key], np.uint64) ^ np.uint64(0x2545F491))
        h = _fmix32(h ^ lo)
        self.stream = _fmix32(((h + np.uint64(0x9E3779B9)) & np.uint64(0xFFFFFFFF)) ^ hi)[0]

    def uniform(self, m):
        m = np.asarray(m, dtype=np.uint64)
        h = _fmix32(self.stream ^ (m & np.uint64(0xFFFFFFFF)))
        h = _fmix32(h ^ (m >> np.uint64(32)) ^ np.uint64(0x9E3779B9))
        return (h.astype(np.float64) + 0.5) / 2.0 ** 32

    def normal(self, m):
        m = np.asarray(m, dtype=np.uint64)
        u1, u2 = self.uniform(2 * m), self.uniform(2 * m + 1)
        return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


class NaiveCalcium(NaiveRule):
    """Graupner & Brunel (2012): calcium c = c_pre[j] + c_post[i] jumps by C_pre (after the delay D)
    and C_post per spike and decays with tau_Ca;
    tau drho/dt = -rho(1-rho)(rho*-rho) + gamma_p(1-rho)H(c-theta_p) - gamma_d rho H(c-theta_d)
    + sigma sqrt(tau) sqrt(H(c-theta_d) + H(c-theta_p)) eta, dW = (b-1) w0 drho.

    One step of h seconds: spikes at its start; the cubic drift by Euler in sub-steps of at most
    tau/100; then, piece by piece between arrivals of delayed presynaptic calcium, the time c spends
    above each threshold (c decays exponentially) and over it the exact Ornstein-Uhlenbeck solution
    of the (then linear) equation. ``key`` is the generator key from the rule state.
    """

    draws = 32  # normal draws reserved per synapse and step

    def __init__(self, tau_ca, c_pre, c_post, theta_d, theta_p, gamma_d, gamma_p, sigma, tau,
                 rho_star, delay, beta, b, w0, rates, key=0):
        self.p = dict(tau_ca=tau_ca, c_pre=c_pre, c_post=c_post, theta_d=theta_d, theta_p=theta_p,
                      gamma_d=gamma_d, gamma_p=gamma_p, sigma=sigma, tau=tau, rho_star=rho_star,
                      delay=delay, b=b, w0=w0)
        self.rates, self.key = rates, int(key)

    def reset(self, W):
        p = self.p
        self.rho = np.clip((W - p["w0"]) / ((p["b"] - 1) * p["w0"]), 0, 1)
        self.c_pre, self.c_post = np.zeros(W.shape[1]), np.zeros(W.shape[0])
        self.queue = [[] for _ in range(W.shape[1])]  # [remaining time, count] in flight
        self.step = 0

    def _counts(self, v, h, rng, elements):
        v = np.maximum(np.asarray(v, np.float64), 0.0)
        if self.rates:
            return (rng.uniform(elements) < v * h).astype(np.float64) * (v > 0)
        return v

    def _relax(self, r, gp, gd, k, t, rng, m, on):
        """Exact OU step over t (vectors) where ``on``; returns (rho, next draw index)."""
        p = self.p
        t = np.where(on, t, 0.0)
        lam = (gp + gd) / p["tau"]
        target = gp / (gp + gd)
        r = np.where(on, target + (r - target) * np.exp(-lam * t), r)
        if p["sigma"] > 0:
            var = p["sigma"] ** 2 * k / p["tau"] * -np.expm1(-2 * lam * t) / (2 * lam)
            r = np.where(on, r + np.sqrt(var) * rng.normal(m), r)
        return r, m + on

    def _segment(self, r, c, t, rng, m, active):
        p = self.p
        with np.errstate(divide="ignore"):
            tp = np.where(c > p["theta_p"], np.minimum(p["tau_ca"] * np.log(c / p["theta_p"]), t), 0)
            td = np.where(c > p["theta_d"], np.minimum(p["tau_ca"] * np.log(c / p["theta_d"]), t), 0)
        both = np.minimum(tp, td)
        r, m = self._relax(r, p["gamma_p"], p["gamma_d"], 2, both, rng, m, active & (both > 0))
        r, m = self._relax(r, p["gamma_p"], 0.0, 1, tp - td, rng, m, active & (tp > td))
        r, m = self._relax(r, 0.0, p["gamma_d"], 1, td - tp, rng, m, active & (td > tp))
        return r, m

    def delta(self, W, x, y, mod, dt):
        p, h = self.p, float(dt)
        n_post, n_pre = W.shape
        rng = CounterStream(self.key, self.step)
        extra = n_post * n_pre * self.draws * 2
        self.c_post = self.c_post + p["c_post"] * self._counts(y, h, rng, extra + n_pre + np.arange(n_post))
        spikes = self._counts(x, h, rng, extra + np.arange(n_pre))
        arrivals = []
        for j in range(n_pre):
            now = [(p["delay"], spikes[j])] if spikes[j] > 0 and p["delay"] < h else []
            if spikes[j] > 0 and p["delay"] >= h:
                self.queue[j].append([p["delay"], spikes[j]])
            now += [(r, n) for r, n in self.queue[j] if r < h]
            self.queue[j] = [[r - h, n] for r, n in self.queue[j] if r >= h]
            arrivals.append(sorted(now, key=lambda a: a[0]))
        rho = self.rho.copy()
        n_sub = max(1, int(np.ceil(h / (0.01 * p["tau"]))))
        for _ in range(n_sub):
            rho = rho + h / n_sub / p["tau"] * (-rho * (1 - rho) * (p["rho_star"] - rho))
        theta = min(p["theta_d"], p["theta_p"])
        for j in range(n_pre):
            c = self.c_pre[j] + self.c_post
            active = (c > theta) | (len(arrivals[j]) > 0)
            m = (np.arange(n_post) * n_pre + j) * self.draws
            r, s = rho[:, j], 0.0
            for offset, count in arrivals[j]:
                if offset > s:
                    r, m = self._segment(r, c, offset - s, rng, m, active)
                    c = c * np.exp(-(offset - s) / p["tau_ca"])
                    s = offset
                c = c + p["c_pre"] * count
            r, m = self._segment(r, c, h - s, rng, m, active)
            rho[:, j] = r
        dW = (p["b"] - 1) * p["w0"] * (rho - self.rho)
        self.rho = rho
        decay = np.exp(-h / p["tau_ca"])
        self.c_post = self.c_post * decay
        self.c_pre = self.c_pre * decay + np.array(
            [sum(p["c_pre"] * n * np.exp(-(h - o) / p["tau_ca"]) for o, n in a) for a in arrivals])
        self.step += 1
        return dW, None

    def rest(self, W, dt, n_steps):
        """n_steps steps without spikes: the weight change."""
        return sum(self.delta(W, np.zeros(W.shape[1]), np.zeros(W.shape[0]), None, dt)[0]
                   for _ in range(n_steps))


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

    def batch_delta(self, W, xs, ys, mods, dt):
        """Each rule's change of the batch (see _mean_change), summed."""
        dW, db = np.zeros_like(W), None
        for r in self.rules:
            if r.constraint:
                continue
            dWr, dbr = _mean_change(r, W, xs, ys, mods, dt)
            dW = dW + dWr
            if dbr is not None:
                db = dbr if db is None else db + dbr
        return dW, db

    def end_task(self, W):
        for r in self.rules:
            if hasattr(r, "end_task"):
                r.end_task(W)


def _mean_change(rule, W, xs, ys, mods, dt):
    """The mean change of a batch: every row read at the same W, the state moved row by row
    (a twin whose state moves once per batch, such as SI's path integral, gives batch_delta)."""
    if hasattr(rule, "batch_delta"):
        return rule.batch_delta(W, xs, ys, mods, dt)
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


def train_layers(X, T, Ws, bs, acts, rules, *, loss, batch_size=1, epochs=1, dt=1.0,
                 reset=True):
    """Naive training of a chain input -> h1 -> ... -> output; ``rules[k]`` on projection k.

    Per row: the forward pass; the output error dL/dz; the hidden errors, each taken through
    the downstream projection's W ("transpose"), its fixed random B ("random", feedback
    alignment), or straight from the output error through the B of the projection into the
    population ("direct", DFA); the reward R = 1 if argmax(output) == argmax(target) else 0.
    Each rule reads its third factor (error of its post population, R broadcast, or zeros).
    Per batch the mean change is applied, then constraints. Returns ``(Ws, bs)``.
    ``reset=False`` keeps the rules' state (training continues, e.g. on the next task).
    """
    Ws = [np.array(W, dtype=np.float64) for W in Ws]
    bs = [np.array(b, dtype=np.float64) for b in bs]
    n_layers = len(Ws)
    for rule, W in zip(rules, Ws):
        if reset:
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


class NaiveTagAndCapture(NaiveRule):
    """Tag-trigger-consolidation, mean field (Clopath et al. 2008), all rows at once, float64.

    Each step: trace = exp(-dt/tau_trace) trace + y; rows with trace >= theta_ltp move the
    untagged fraction u = 1 - h - l into h with probability q = clip(ltp_rate x_j, 0, 1),
    rows with theta_ltd <= trace < theta_ltp into l (ltd_rate); dW = g_h dh - g_l dl.
    clock += dt; when clock >= consolidation_dt, one slow step of T = clock (then clock = 0):
    from the values at its start, with the per-synapse thresholds
    theta_ij = floor + (1 - floor) frac(g (j + 1) + r (i + 1)) (g the golden ratio's
    conjugate, r = sqrt(2) - 1), a synapse is tagged for LTP when h > theta, for LTD when
    l > 1 + floor - theta; z += T/tau_late z(1-z)(z-kappa) + T/tau_late gamma p (1 - z) for an
    LTP tag, - T/tau_late gamma p z for an LTD tag, then clipped to [0, 1] (< 1e-20 -> 0);
    h *= exp(-T/tau_h), l *= exp(-T/tau_l); p relaxes exactly over T with synthesis rate
    a / tau_pm (a = protein_synthesis when sum_j (h + l) >= theta_p n_pre, else 0) and decay
    rate 1 / tau_pd. ``rest`` runs the pending clock, then n steps of dt.
    """

    def __init__(self, ltp_rate, ltd_rate, theta_ltd, theta_ltp, tau_trace, tau_tag_ltp,
                 tau_tag_ltd, protein_threshold, tau_protein_rise, tau_protein_decay, tau_late,
                 late_threshold, capture, tag_floor, protein_synthesis, ltp_weight, ltd_weight,
                 late_weight, up_fraction, consolidation_dt):
        self.ltp_rate, self.ltd_rate = ltp_rate, ltd_rate
        self.theta_ltd, self.theta_ltp, self.tau_trace = theta_ltd, theta_ltp, tau_trace
        self.tau_h, self.tau_l = tau_tag_ltp, tau_tag_ltd
        self.theta_p, self.tau_pm, self.tau_pd = protein_threshold, tau_protein_rise, tau_protein_decay
        self.tau_z, self.kappa, self.gamma = tau_late, late_threshold, capture
        self.floor, self.synthesis = tag_floor, protein_synthesis
        self.g_h, self.g_l, self.g_z = ltp_weight, ltd_weight, late_weight
        self.consolidation_dt = consolidation_dt
        assert up_fraction == 0, "the twin starts with every late phase down"

    def reset(self, W):
        n_post, n_pre = W.shape
        self.tag_ltp, self.tag_ltd, self.late = (np.zeros(W.shape) for _ in range(3))
        self.baseline = np.array(W, dtype=np.float64)
        self.protein, self.trace, self.clock = (np.zeros(n_post) for _ in range(3))
        i, j = np.meshgrid(np.arange(n_post), np.arange(n_pre), indexing="ij")
        weyl = (0.6180339887498949 * (j + 1) + 0.41421356237309515 * (i + 1)) % 1.0
        self.tag_threshold = self.floor + (1 - self.floor) * weyl

    def _slow(self, T):
        """One slow step of T seconds; returns the weight change."""
        h, l, z, p = self.tag_ltp, self.tag_ltd, self.late, self.protein
        ltp = h > self.tag_threshold
        ltd = ~ltp & (l > 1 + self.floor - self.tag_threshold)
        gp = T / self.tau_z * self.gamma * p[:, None]
        z_new = (z + T / self.tau_z * z * (1 - z) * (z - self.kappa)
                 + np.where(ltp, gp * (1 - z), 0.0) - np.where(ltd, gp * z, 0.0))
        z_new = np.where(z_new < 1e-20, 0.0, np.minimum(z_new, 1.0))
        h_new, l_new = h * np.exp(-T / self.tau_h), l * np.exp(-T / self.tau_l)
        on = (h + l).sum(axis=1) >= self.theta_p * h.shape[1]
        s = np.where(on, self.synthesis, 0.0) / self.tau_pm
        rate = s + 1 / self.tau_pd
        p_inf = s / rate
        self.protein = p_inf + (p - p_inf) * np.exp(-T * rate)
        dW = self.g_h * (h_new - h) - self.g_l * (l_new - l) + self.g_z * (z_new - z)
        self.tag_ltp, self.tag_ltd, self.late = h_new, l_new, z_new
        return dW

    def delta(self, W, x, y, mod, dt):
        self.trace = np.exp(-dt / self.tau_trace) * self.trace + y
        ltp = self.trace >= self.theta_ltp
        ltd = (self.trace >= self.theta_ltd) & ~ltp
        u = 1 - self.tag_ltp - self.tag_ltd
        t_h = u * np.clip(np.outer(np.where(ltp, self.ltp_rate, 0.0), x), 0, 1)
        t_l = u * np.clip(np.outer(np.where(ltd, self.ltd_rate, 0.0), x), 0, 1)
        self.tag_ltp = self.tag_ltp + t_h
        self.tag_ltd = self.tag_ltd + t_l
        dW = self.g_h * t_h - self.g_l * t_l
        self.clock = self.clock + dt
        if np.any(self.clock >= self.consolidation_dt):  # every row has the same clock
            dW = dW + self._slow(float(self.clock.max()))
            self.clock = np.zeros_like(self.clock)
        return dW, None

    def rest(self, W, dt, n_steps):
        """The weight change of ``n_steps`` steps of ``dt`` seconds without input."""
        dW = np.zeros(W.shape)
        if np.any(self.clock > 0):
            dW += self._slow(float(self.clock.max()))
            self.clock = np.zeros_like(self.clock)
        for _ in range(n_steps):
            dW += self._slow(dt)
        self.trace = self.trace * np.exp(-dt * n_steps / self.tau_trace)
        return dW


# -- associative memory: storage rules and Hopfield dynamics (brainlearn.memory) ----------------
def _offdiag(M):
    """M with its diagonal set to 0 (self-couplings never change)."""
    M = np.array(M, dtype=np.float64)
    k = min(M.shape)
    M[np.arange(k), np.arange(k)] = 0.0
    return M


def counter_bits(key, lo, hi, m):
    """The 32-bit draws ``bits(stream(key, lo, hi), m)`` of brainlearn._random (m an array)."""
    s = CounterStream(key, int(lo) + int(hi) * 2 ** 22).stream
    return _fmix32(s ^ (np.asarray(m, dtype=np.uint64) & np.uint64(0xFFFFFFFF)))


def counter_threshold(p):
    """floor(p 2^32), 0 for p <= 0 and 2^32 for p >= 1: P(bits < threshold) = p."""
    if not p > 0:
        return 0
    return 2 ** 32 if p >= 1 else int(np.float64(p) * 2.0 ** 32)


class NaiveHopfieldHebb(NaiveRule):
    """dw_ij = lr / n (y_i - a)(x_j - a) for i != j."""

    def __init__(self, lr, offset):
        self.lr, self.offset = lr, offset

    def delta(self, W, x, y, mod, dt):
        return _offdiag(self.lr / len(x) * np.outer(y - self.offset, x - self.offset)), None


class NaiveStorkey(NaiveRule):
    """dw_ij = lr / n (y_i x_j - y_i h_ji - h_ij x_j), h_ij = sum_{k != i, j} w_ik x_k, i != j."""

    def __init__(self, lr):
        self.lr = lr

    def delta(self, W, x, y, mod, dt):
        n = len(x)
        H = np.empty((n, n))  # H[i, j] = h_ij, summed term by term
        for i in range(n):
            for j in range(n):
                H[i, j] = sum(W[i, k] * x[k] for k in range(n) if k != i and k != j)
        dW = self.lr / n * (np.outer(y, x) - y[:, None] * H.T - H * x[None, :])
        return _offdiag(dW), None


class NaivePseudoInverse(NaiveRule):
    """The projection rule, one pattern at a time (Greville): P = X X^+ projects onto the span
    of the inputs stored so far (from np.linalg.pinv); r = x - P x; if r.r > tol x.x:
    M += (y - M x) r^T / r.r for the full associator M; W = M (without its diagonal)."""

    def __init__(self, tol, zero_diagonal):
        self.tol, self.zero_diagonal = tol, zero_diagonal

    def reset(self, W):
        self.M = np.array(W, dtype=np.float64)
        self.inputs = []

    def delta(self, W, x, y, mod, dt):
        P = np.zeros((len(x), len(x)))
        if self.inputs:
            X = np.array(self.inputs).T
            P = X @ np.linalg.pinv(X)
        r = x - P @ x
        if not r @ r > self.tol * (x @ x):
            return np.zeros(W.shape), None
        self.inputs.append(np.array(x, dtype=np.float64))
        M = self.M + np.outer(y - self.M @ x, r) / (r @ r)
        old = _offdiag(self.M) if self.zero_diagonal else self.M
        new = _offdiag(M) if self.zero_diagonal else M
        self.M = M
        return new - old, None


class NaiveClippedHebb(NaiveRule):
    """w_ij <- clip(w_ij + lr y_i x_j, -bound, bound) for i != j."""

    def __init__(self, lr, bound):
        self.lr, self.bound = lr, bound

    def delta(self, W, x, y, mod, dt):
        return _offdiag(np.clip(W + self.lr * np.outer(y, x), -self.bound, self.bound) - W), None


def _memory_events(x, y, sparse):
    """+1 potentiation, -1 depression, 0 none, per synapse (i, j)."""
    if sparse:
        ya, xa = (y > 0.5)[:, None], (x > 0.5)[None, :]
        return np.where(ya & xa, 1, np.where(ya != xa, -1, 0))
    return np.sign(np.outer(y, x)).astype(int)


class _NaiveCounterRule(NaiveRule):
    """A stochastic rule's draws: step t's 32-bit draw for synapse (i, j) is element i n + j of
    the stream (key, t); the key is the rule state's (set ``key`` before ``reset``)."""

    key = 0

    def reset(self, W):
        self.step = 0

    def draws(self, shape):
        lo, hi = self.step % 2 ** 22, self.step // 2 ** 22
        self.step += 1
        m = np.arange(shape[0] * shape[1], dtype=np.uint64).reshape(shape)
        return counter_bits(self.key, lo, hi, m)


class NaiveStochasticBinary(_NaiveCounterRule):
    """A depressed synapse (w <= (w_low + w_high)/2) with a potentiation event becomes w_high
    with probability q; a potentiated one with a depression event becomes w_low with
    probability q ltd_ratio; diagonal unchanged."""

    def __init__(self, q, ltd_ratio, w_low, w_high, sparse):
        self.q, self.ltd_ratio, self.w_low, self.w_high, self.sparse = q, ltd_ratio, w_low, w_high, sparse

    def delta(self, W, x, y, mod, dt):
        u = self.draws(W.shape)
        ev = _memory_events(x, y, self.sparse)
        high = W > (self.w_low + self.w_high) / 2
        up = (ev > 0) & ~high & (u < counter_threshold(self.q))
        down = (ev < 0) & high & (u < counter_threshold(self.q * self.ltd_ratio))
        target = np.where(up, self.w_high, np.where(down, self.w_low, W))
        return _offdiag(target - W), None


class NaiveCascade(_NaiveCounterRule):
    """Fusi, Drew & Abbott (2005), levels k = 0..n-1: an event along the efficacy moves the
    synapse one level deeper with probability p_k = x^(k+1) / (1 - x) (k < n-1); an event
    against it switches the efficacy and resets the level to 0 with probability q_k = x^k
    (q_{n-1} = x^(n-1) / (1 - x)); diagonal unchanged. ``level`` is the state's."""

    def __init__(self, n_levels, x, w_low, w_high, sparse):
        self.n, self.x, self.w_low, self.w_high, self.sparse = n_levels, x, w_low, w_high, sparse
        self.level = None

    def delta(self, W, xin, y, mod, dt):
        n, x = self.n, float(self.x)
        q = [x ** k for k in range(n)]
        if n > 1:
            q[n - 1] = x ** (n - 1) / (1 - x)
        p = [x ** (k + 1) / (1 - x) if k < n - 1 else 0.0 for k in range(n)]
        tq = np.array([counter_threshold(v) for v in q], dtype=np.uint64)
        tp = np.array([counter_threshold(v) for v in p], dtype=np.uint64)
        u = self.draws(W.shape)
        ev = _memory_events(xin, y, self.sparse)
        k = self.level.astype(int)
        high = W > (self.w_low + self.w_high) / 2
        along = (ev > 0) == high
        offd = ~np.eye(*W.shape, dtype=bool)
        go = (ev != 0) & offd & (u < np.where(along, tp[k], tq[k]))
        deeper = go & along
        switch = go & ~along
        self.level = np.where(deeper, k + 1, np.where(switch, 0, k)).astype(float)
        target = np.where(switch, np.where(ev > 0, self.w_high, self.w_low), W)
        return target - W, None


def hopfield_field_order(key, t, cue, n):
    """The asynchronous update order of sweep t of cue ``cue``: Fisher-Yates; position k (from
    the top) swaps with j = floor(b (k + 1) / 2^32), b the 32-bit draw n-1-k of the stream
    (key, t, cue)."""
    s = CounterStream(key, t + cue * 2 ** 22)
    b = counter_bits(key, t, cue, np.arange(max(n - 1, 0))).tolist()
    perm = list(range(n))
    for k in range(n - 1, 0, -1):
        j = (int(b[n - 1 - k]) * (k + 1)) >> 32
        perm[k], perm[j] = perm[j], perm[k]
    return perm, s


def _hopfield_value(z, s, low, temperature, u):
    gain = 2.0 if low < 0 else 1.0
    if temperature > 0:
        return 1.0 if u < 1.0 / (1.0 + np.exp(-gain * z / temperature)) else low
    return 1.0 if z > 0 else (low if z < 0 else s)


def hopfield_async(W, b, cues, low, steps, temperature, key):
    """Asynchronous dynamics, textbook: each unit in the sweep's order takes the value of its
    field h_i = W_i . s + b_i, computed afresh from the current state. Returns
    (states, sweeps, converged)."""
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    out, sweeps, conv = [], [], []
    for c, cue in enumerate(np.asarray(cues, np.float64)):
        s = cue.copy()
        n = len(s)
        done, ok = 0, False
        for t in range(steps):
            perm, st = hopfield_field_order(key, t, c, n)
            flips = 0
            for i in perm:
                new = _hopfield_value(W[i] @ s + b[i], s[i], low, temperature, st.uniform(n + i))
                flips += new != s[i]
                s[i] = new
            done, ok = t + 1, flips == 0
            if ok and temperature == 0:
                break
        out.append(s)
        sweeps.append(done)
        conv.append(ok)
    return np.array(out), np.array(sweeps), np.array(conv)


def hopfield_sync(W, b, cues, low, steps, temperature, key):
    """Synchronous dynamics: s <- f(W s + b) for all units at once; at temperature 0 a cue stops
    at a fixed point (converged) or a 2-cycle. Returns (states, steps, converged)."""
    W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
    out, steps_run, conv = [], [], []
    for c, cue in enumerate(np.asarray(cues, np.float64)):
        s, prev = cue.copy(), cue.copy()
        n = len(s)
        done, ok = 0, False
        for t in range(steps):
            st = CounterStream(key, t + c * 2 ** 22)
            z = W @ s + b
            new = np.array([_hopfield_value(z[i], s[i], low, temperature, st.uniform(n + i))
                            for i in range(n)])
            ok = bool(np.all(new == s))
            back = bool(np.all(new == prev))
            prev, s = s, new
            done = t + 1
            if temperature == 0 and (ok or back):
                break
        out.append(s)
        steps_run.append(done)
        conv.append(ok)
    return np.array(out), np.array(steps_run), np.array(conv)
