"""Threshold LTP/LTD: the sign of the change set by how strongly the postsynaptic cell is driven.

Artola, Bröcher & Singer (1990) tetanised slices of rat visual cortex while holding the
postsynaptic membrane at different levels: weak depolarisation left the synapses
unchanged, intermediate depolarisation (past a first threshold) depressed them, and
strong depolarisation (past a second, NMDA-receptor-dependent threshold) potentiated
them. Their "ABS" rule is the two-threshold shape that the BCM curve also has.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._jit import jit
from .base import LocalRule, hyperparameter, register

__all__ = ["ThresholdLTP"]


@jit
def _threshold_ltp_delta(W, pre, post, mod, params, state, dt, dW, db):
    n_post, n_pre = W.shape
    theta_minus = params.theta_minus
    theta_plus = params.theta_plus
    w_min = params.w_min
    w_max = params.w_max
    k_ltp = params.lr * dt
    k_ltd = params.lr * params.ltd_scale * dt
    soft = params.soft_bounds
    # rates are non-negative as a rule: then the sign of a row's change is that of g(y_i), and
    # each row moves toward one bound (a bitwise or, so that the check vectorises)
    negative = False
    if soft:
        for j in range(n_pre):
            negative |= pre[j] < 0
    for i in range(n_post):
        y = post[i]
        if y < theta_minus:
            continue  # weak activation: no change (and no pass over the row)
        potentiate = y >= theta_plus
        if soft and not negative:
            k = k_ltp if potentiate else k_ltd
            bound = w_max if potentiate else w_min
            for j in range(n_pre):
                dW[i, j] += (k * pre[j]) * (bound - W[i, j])
        elif soft:
            # a positive change is scaled by the room below w_max, a negative one by the room
            # above w_min (negative inputs reverse the sign of the change)
            s = k_ltp if potentiate else -k_ltd
            for j in range(n_pre):
                v = s * pre[j]
                w = W[i, j]
                room = w_max - w if v > 0 else w - w_min
                dW[i, j] += v * room
        else:
            s = k_ltp if potentiate else -k_ltd
            for j in range(n_pre):
                w = W[i, j]
                v = w + s * pre[j]
                v = w_min if v < w_min else (w_max if v > w_max else v)
                dW[i, j] += v - w


@register("ltp")
@dataclass(frozen=True, repr=False)
class ThresholdLTP(LocalRule):
    r"""Threshold LTP/LTD (the Artola-Bröcher-Singer rule) with soft or hard weight bounds.

    .. math::

        \Delta w_{ij} = \eta\,\Delta t\, x_j\, g(y_i), \qquad
        g(y) = \begin{cases} 0 & y < \theta_- \\
                             -\beta & \theta_- \le y < \theta_+ \\
                             1 & y \ge \theta_+ \end{cases}

    Weak postsynaptic activation (below :math:`\theta_-`) leaves the synapses
    unchanged, intermediate activation depresses them and strong activation
    (at or above :math:`\theta_+`) potentiates them, in proportion to the
    presynaptic activity :math:`x_j` (Artola, Bröcher & Singer 1990; the same
    no-change / LTD / LTP sequence as the BCM curve). :math:`g` is piecewise
    constant: the amplitude of each regime does not grow with :math:`y`, so the
    rule encodes the sign rule of the experiments and nothing more.

    With ``soft_bounds=True`` (default) a positive change (potentiation) is
    scaled by the room left below :math:`w_{max}` and a negative one (depression)
    by the room left above :math:`w_{min}`:

    .. math::

        \Delta w_{ij} = \begin{cases} d_{ij}\,(w_{max} - w_{ij}) & d_{ij} > 0 \\
                                      d_{ij}\,(w_{ij} - w_{min}) & d_{ij} \le 0 \end{cases},
        \qquad d_{ij} = \eta\,\Delta t\, x_j\, g(y_i)

    so every step moves a weight toward one bound by the fraction
    :math:`|d_{ij}|` of its distance to it (for rates :math:`x \ge 0` the sign of
    :math:`d` is that of :math:`g`; a negative input reverses it, as in Hebb's
    rule, and stays bounded). Weights that start in :math:`[w_{min}, w_{max}]`
    stay there while :math:`|d_{ij}| \le 1` (e.g. :math:`\eta\Delta t\,|x_j| \le 1`
    and :math:`\eta\beta\Delta t\,|x_j| \le 1`); weights outside are drawn back in.
    With ``soft_bounds=False`` the change is additive and the weights of every
    row that changes are clipped: :math:`w_{ij} \leftarrow \mathrm{clip}(w_{ij} +
    \Delta w_{ij}, w_{min}, w_{max})` (rows below :math:`\theta_-` are not
    touched). In a :func:`~brainlearn.rules.chain` the bounds apply to this rule's
    own contribution; ``net.connect(..., bounds=(a, b))`` bounds the sum.

    Parameters
    ----------
    lr : float
        :math:`\eta`, the rate of potentiation per second per unit of presynaptic
        activity (times ``dt``, the seconds per presentation, at every step).
    ltd_scale : float
        :math:`\beta \ge 0`, the rate of depression relative to potentiation.
    theta_minus : float
        :math:`\theta_-`, the postsynaptic activity from which synapses depress.
    theta_plus : float
        :math:`\theta_+ \ge \theta_-`, the activity from which they potentiate.
    w_min, w_max : float
        The weight bounds (:math:`w_{min} < w_{max}`).
    soft_bounds : bool
        Soft (multiplicative) bounds if True, additive change and clipping if False.

    References
    ----------
    Artola, A., Bröcher, S. & Singer, W. (1990). Different voltage-dependent thresholds
    for inducing long-term depression and long-term potentiation in slices of rat visual
    cortex. Nature 347, 69-72.
    Bienenstock, E. L., Cooper, L. N. & Munro, P. W. (1982). Theory for the development of
    neuron selectivity. J. Neurosci. 2, 32-48.
    """

    lr: float = hyperparameter(0.01, low=0.0, doc="potentiation rate per second (times dt)")
    ltd_scale: float = hyperparameter(1.0, low=0.0, doc="depression rate relative to lr")
    theta_minus: float = hyperparameter(0.2, doc="activity from which synapses depress "
                                             "(<= theta_plus)")
    theta_plus: float = hyperparameter(0.5, doc="activity from which synapses potentiate")
    w_min: float = hyperparameter(0.0, doc="lower weight bound (< w_max)")
    w_max: float = hyperparameter(1.0, doc="upper weight bound")
    soft_bounds: bool = hyperparameter(True, doc="soft (multiplicative) bounds, else clip")

    tags = dict(family="ltp", elementwise=True, row_local=True)
    summary = "no change / LTD / LTP as post activity crosses two thresholds; soft or hard bounds"
    equation = (r"\Delta w_{ij} = \eta\,\Delta t\,x_j\,g(y_i),\ g = 0\ (y < \theta_-),\ "
                r"-\beta\ (\theta_- \le y < \theta_+),\ 1\ (y \ge \theta_+)")
    reference = "Artola, Brocher & Singer 1990, Nature 347:69; Bienenstock, Cooper & Munro 1982"
    kernel = _threshold_ltp_delta

    def __post_init__(self):
        super().__post_init__()
        if self.theta_minus > self.theta_plus:
            raise ValueError(f"ThresholdLTP: theta_minus={self.theta_minus!r} is above "
                             f"theta_plus={self.theta_plus!r}; allowed: theta_minus <= theta_plus")
        if not self.w_min < self.w_max:
            raise ValueError(f"ThresholdLTP: w_min={self.w_min!r} is not below "
                             f"w_max={self.w_max!r}; allowed: w_min < w_max")
