"""Derive the rational approximation of tanh used for float32 activations.

tanh(x) ~ x P(x^2) / Q(x^2) on [0, 9] (float32 tanh is 1 to the last bit beyond
about 8.7), P and Q of degree 4 with Q(0) = 1, fitted by iteratively reweighted
linear least squares on the relative error (Sanathanan-Koerner iteration).
Prints the coefficients pasted into brainlearn/network/activations.py and the
worst error of the float32 evaluation in units in the last place.

    python experiments/tools/fit_tanh_float32.py
"""

import numpy as np
from numpy.polynomial import polynomial as poly

X_MAX = 9.0


def fit(p=4, q=4, iterations=60):
    x = np.linspace(1e-4, X_MAX, 40000)
    t, s = np.tanh(x), x * x
    q_prev = np.ones_like(x)
    for _ in range(iterations):
        cols = [x * s ** k for k in range(p + 1)] + [-t * s ** k for k in range(1, q + 1)]
        A = np.stack(cols, 1) / (t * q_prev)[:, None]
        c, *_ = np.linalg.lstsq(A, 1.0 / q_prev, rcond=None)
        P, Q = c[: p + 1], np.concatenate([[1.0], c[p + 1:]])
        q_prev = poly.polyval(s, Q)
    return P, Q


def worst_float32_ulp(P, Q):
    z = np.random.default_rng(0).uniform(-12, 12, 2_000_000)
    z = np.concatenate([z, np.logspace(-10, 1.2, 20000), -np.logspace(-10, 1.2, 20000)]).astype(np.float32)
    zc = np.clip(z, np.float32(-X_MAX), np.float32(X_MAX))
    s = zc * zc
    P32, Q32 = P.astype(np.float32), Q.astype(np.float32)
    num, den = P32[-1], Q32[-1]
    for k in range(len(P) - 2, -1, -1):
        num = num * s + P32[k]
    for k in range(len(Q) - 2, -1, -1):
        den = den * s + Q32[k]
    a = np.clip(zc * (num / den), -1, 1)
    ref = np.tanh(z.astype(np.float64))
    return np.max(np.abs(a - ref) / np.spacing(np.abs(ref).astype(np.float32)))


if __name__ == "__main__":
    P, Q = fit()
    print("P =", [float(v) for v in P])
    print("Q =", [float(v) for v in Q])
    print(f"worst float32 error: {worst_float32_ulp(P, Q):.1f} ulp")
