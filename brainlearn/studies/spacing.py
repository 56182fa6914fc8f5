"""The spacing study: the same repetitions massed or spaced, and what is left hours later.

Repetitions spread out in time consolidate better than the same repetitions given back to
back (the spacing effect; Benna & Fusi 2016; Smolen, Zhang & Byrne 2016); with synaptic
tagging and capture (Frey & Morris 1997; Clopath et al. 2008) the repetitions of a pattern
set tags, enough tags trigger proteins, and tags present while proteins are there move into
the late phase. In ``tag_and_capture`` a repetition helps while the proteins of the
earlier ones are there and their capture is under way (minutes): 2-5 min apart consolidates
about 3% more than massed, 10 min apart the same within noise, 20 min or more apart less
(docs/capture_windows.md has the numbers over seeds).

This study presents one graded input pattern to a population in ``repetitions`` blocks
whose onsets are ``interval_s`` apart (0: massed, back to back), lets the network rest for
up to a simulated day (:func:`brainlearn.rest`), and reads out:

* ``retention`` (task): at each delay after the last repetition, the mean weight change
  of the stimulated synapses (``weight_change``), that change relative to the one right
  after the last repetition (``retention``), and for rules with early and late phases
  (``tag_and_capture``) the mean early-phase and late-phase weights (``early``, ``late``);
* ``trajectory`` (task): for a few intervals, early, late and total weight change every
  ``record_every`` seconds from the first repetition to the last delay.

Rows are tidy (``rule, seed, task, step, metric, value``) with the study's columns
``interval_s`` (onset to onset, 0 for massed), ``delay_s`` (seconds since the end of the
last repetition; negative during training) and ``phase`` (``training``, ``gap``, ``rest``,
or ``retention`` for the read-outs). The figure functions draw from such rows only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..plotting import PALETTE, band, mean_ci, rule_color
from ..results import metric_range

__all__ = ["SpacingConfig", "run", "plot_retention_vs_interval", "plot_trajectories",
           "RULE_PARAMS", "EXTRA_COLUMNS", "HEADLINE"]

#: hyperparameters of rules in this study (rate units: every presentation tags for LTP)
RULE_PARAMS = {
    "tag_and_capture": {"theta_ltd": 0.0, "theta_ltp": 0.0},
    "hebb": {"lr": 1e-3},
    "oja": {"lr": 1e-3},
}
EXTRA_COLUMNS = ("interval_s", "delay_s", "phase")
HEADLINE = ("late", "retention")
HOUR = 3600.0


@dataclass(frozen=True)
class SpacingConfig:
    """Configuration of the spacing study (defaults: the full size; :meth:`quick` the quick one).

    Parameters
    ----------
    n_inputs, n_neurons : int
        Size of the input and of the (linear) population.
    active_fraction : float
        Fraction of the inputs the pattern drives (intensities uniform in (0, 1]); the
        others stay silent, so their synapses are a control.
    repetitions : int
        Number of repetitions (blocks) of the pattern.
    presentations : int
        Presentations per repetition (each ``dt`` seconds).
    dt : float
        Seconds per presentation.
    intervals : tuple of float
        Onset-to-onset intervals between repetitions in seconds; 0 means massed (back to
        back). Spaced intervals must be at least one block (``presentations * dt``).
    delays : tuple of float
        Read-out times in seconds after the end of the last repetition (up to a day).
    trajectory_intervals : tuple of float
        Intervals whose early/late trajectories are recorded (each one of ``intervals``).
    record_every : float
        Seconds between trajectory samples.
    rest_dt : float
        Step of the rest dynamics in seconds.
    init_weight : float
        Initial weights are uniform in [0.5, 1.5] x ``init_weight``.
    dtype : str
        ``float32`` or ``float64``.
    """

    n_inputs: int = 400
    n_neurons: int = 8
    active_fraction: float = 1.0
    repetitions: int = 3
    presentations: int = 40
    dt: float = 1.0
    intervals: tuple[float, ...] = (0.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
    delays: tuple[float, ...] = (0.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0)
    trajectory_intervals: tuple[float, ...] = (0.0, 600.0, 3600.0)
    record_every: float = 300.0
    rest_dt: float = 10.0
    init_weight: float = 0.1
    dtype: str = "float64"

    @classmethod
    def quick(cls) -> "SpacingConfig":
        """The quick size: a smaller population, fewer intervals and delays."""
        return cls(n_inputs=200, n_neurons=2, intervals=(0.0, 300.0, 600.0, 1800.0, 3600.0),
                   delays=(0.0, 3600.0, 14400.0, 86400.0), trajectory_intervals=(0.0, 600.0),
                   record_every=900.0, rest_dt=20.0)

    def __post_init__(self):
        for name in ("n_inputs", "n_neurons", "repetitions", "presentations"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}={v!r} must be an integer >= 1")
        for name in ("dt", "record_every", "rest_dt", "init_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not np.isfinite(v) or v <= 0:
                raise ValueError(f"{name}={v!r} must be a finite number > 0")
        if not 0 < self.active_fraction <= 1:
            raise ValueError(f"active_fraction={self.active_fraction!r} must be in (0, 1]")
        block = self.presentations * self.dt
        for v in self.intervals:
            if not (v == 0 or v >= block):
                raise ValueError(f"intervals: {v!r} is shorter than one repetition ({block:g} s); "
                                 "allowed: 0 (massed) or >= presentations * dt")
        if not self.intervals:
            raise ValueError("intervals is empty; allowed: one or more intervals in seconds")
        if not self.delays or min(self.delays) < 0:
            raise ValueError(f"delays={self.delays!r}; allowed: one or more delays >= 0 s")
        missing = [v for v in self.trajectory_intervals if v not in self.intervals]
        if missing:
            raise ValueError(f"trajectory_intervals {missing} are not in intervals "
                             f"{self.intervals}; allowed: a subset of intervals")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype={self.dtype!r}; allowed: float32, float64")


# -- one run -----------------------------------------------------------------------------------------
def _make_rule(rule):
    from .. import rules
    if isinstance(rule, str):
        return rules.make(rule, **RULE_PARAMS.get(rule, {}))
    return rules.make(rule)


def _pattern(config, seed):
    rng = np.random.default_rng([seed, 1])
    x = np.zeros(config.n_inputs)
    n_active = max(1, int(round(config.active_fraction * config.n_inputs)))
    active = np.sort(rng.permutation(config.n_inputs)[:n_active])
    x[active] = 1.0 - rng.random(n_active)  # in (0, 1]
    W0 = config.init_weight * (0.5 + rng.random((config.n_neurons, config.n_inputs)))
    return x, active, W0


def _readout(q, rule, active, W0):
    """Mean weight change, early and late weights of the stimulated synapses."""
    out = {"weight_change": float((q.W[:, active] - W0[:, active]).mean())}
    if hasattr(rule, "early") and hasattr(rule, "late"):
        st = q.state
        out["early"] = float(rule.early(st)[:, active].mean())
        out["late"] = float(rule.late(st)[:, active].mean())
    return out


def _simulate(config, rule, seed, interval, trajectory):
    """One interval: returns (retention values per delay, trajectory samples)."""
    from .. import engine
    from ..network import Network
    x, active, W0 = _pattern(config, seed)
    net = Network(seed=seed, dtype=config.dtype)
    inp = net.add_input(config.n_inputs)
    pop = net.add_population(config.n_neurons, activation="linear")
    q = net.connect(inp, pop, rule=rule, init=W0)
    W0 = np.array(q.W, dtype=np.float64)
    block = config.presentations * config.dt
    onset = interval if interval > 0 else block
    t_end = (config.repetitions - 1) * onset + block
    X = np.repeat(x[None], config.presentations, axis=0)
    samples = []  # (time since the end, phase, readout)
    t = 0.0

    def record(phase):
        if trajectory:
            samples.append((t - t_end, phase, _readout(q, rule, active, W0)))

    def rest_until(t_stop, phase):
        nonlocal t
        while t < t_stop - 1e-9:
            step = min(config.record_every, t_stop - t) if trajectory else t_stop - t
            engine.rest(net, step, dt=config.rest_dt)
            t += step
            record(phase)

    record("training")
    for k in range(config.repetitions):
        engine.train(net, X, epochs=1, shuffle=False, dt=config.dt, quiet=True)
        t += block
        record("training")
        if k < config.repetitions - 1:
            rest_until((k + 1) * onset, "gap")
    retention = {}
    for delay in sorted(set(config.delays)):
        rest_until(t_end + delay, "rest")
        retention[delay] = _readout(q, rule, active, W0)
    return retention, samples


def run(config, rule, seed) -> list:
    """Run the study for one rule and seed; returns tidy rows (see the module docstring).

    Parameters
    ----------
    config : SpacingConfig
    rule : str or LearningRule
        A registered rule name (hyperparameters from :data:`RULE_PARAMS`, else defaults) or
        a rule instance. It must read ``pre`` and ``post`` only.
    seed : int
        Seed of the pattern, the initial weights and the network.
    """
    if not isinstance(config, SpacingConfig):
        raise TypeError(f"config={config!r} must be a SpacingConfig")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an integer >= 0")
    r = _make_rule(rule)
    if set(r.needs) - {"pre", "post"}:
        raise ValueError(f"rule={rule!r} needs {sorted(set(r.needs) - {'pre', 'post'})}; "
                         "allowed: rules that read pre and post only")
    label = rule if isinstance(rule, str) else (r.name or type(r).__name__)
    rows = []

    def add(task, step, metric, value, interval, delay, phase):
        rows.append({"rule": label, "seed": int(seed), "task": task, "step": int(step),
                     "metric": metric, "value": float(value), "interval_s": float(interval),
                     "delay_s": float(delay), "phase": phase})

    for interval in config.intervals:
        retention, samples = _simulate(config, r, seed, interval,
                                       interval in config.trajectory_intervals)
        first = retention[min(retention)]["weight_change"]
        for k, delay in enumerate(sorted(retention)):
            vals = dict(retention[delay])
            vals["retention"] = vals["weight_change"] / first if first != 0 else np.nan
            for metric, value in vals.items():
                add("retention", k, metric, value, interval, delay, "retention")
        for k, (delay, phase, vals) in enumerate(samples):
            for metric, value in vals.items():
                add("trajectory", k, metric, value, interval, delay, phase)
    return rows


# -- figures -----------------------------------------------------------------------------------------
def _select(rows, **match):
    return [r for r in rows if all(r[k] == v for k, v in match.items())]


_METRIC_WORDS = {"late": "late-phase weight", "weight_change": "weight change",
                 "retention": "retention (fraction of the change at 0 h)",
                 "early": "early-phase weight"}


def _own_metric(rows, rule):
    """What is left of a rule: its late phase when it has one, else its weight change."""
    return "late" if any(r["metric"] == "late" and r["rule"] == rule for r in rows) \
        else "weight_change"


#: curves of one rule at two delays that differ by at most this fraction of their largest value
#: are drawn as one line labelled with both delays
_SAME = 0.005


def plot_retention_vs_interval(ax, rows, metric=None, delays=None):
    """What is left at a delay against the interval between repetitions, one line per rule
    (and line style per delay), mean and 95% CI over seeds; massed at interval 0. Every rule
    with rows is drawn.

    ``metric`` defaults, per rule, to ``late`` for a rule with early and late phases, else
    ``weight_change`` (both are weight changes of the stimulated synapses: after a day the
    early phase is gone and the two agree); ``delays`` (seconds) default to the longest delay
    and the one nearest an hour.
    """
    ret = _select(rows, task="retention")
    if not ret:
        raise ValueError("rows have no task='retention' rows (from brainlearn.studies.spacing.run)")
    rules = sorted({r["rule"] for r in ret})
    drawn = {rule: metric or _own_metric(ret, rule) for rule in rules}
    all_delays = sorted({r["delay_s"] for r in ret})
    if delays is None:
        hour = min(all_delays, key=lambda d: abs(d - HOUR))
        delays = sorted({hour, all_delays[-1]})
    styles = ["-", "--", ":", "-."]
    artists = []
    for rule in rules:
        color = rule_color(rule)
        m = drawn[rule]
        curves = []  # (delays, intervals, mean, half) per distinct curve
        for delay in delays:
            sel = _select(ret, rule=rule, metric=m, delay_s=delay)
            if not sel:
                continue
            intervals = sorted({r["interval_s"] for r in sel})
            seeds = sorted({r["seed"] for r in sel})
            vals = np.full((len(seeds), len(intervals)), np.nan)
            for r in sel:
                vals[seeds.index(r["seed"]), intervals.index(r["interval_s"])] = r["value"]
            mean, half = mean_ci(vals)
            last = curves[-1] if curves else None
            if last is not None and last[1] == intervals and \
                    np.allclose(mean, last[2], rtol=0.0,
                                atol=_SAME * max(1e-12, float(np.nanmax(np.abs(mean))))):
                # the same curve at a later delay (the late phase settled): one line, both
                # delays in its label, instead of two lines drawn on top of each other
                last[0].append(delay)
                continue
            curves.append(([delay], intervals, mean, half))
        for k, (ds, intervals, mean, half) in enumerate(curves):
            xs = np.array(intervals) / 60.0
            what = f", {_METRIC_WORDS.get(m, m)}" if len(set(drawn.values())) > 1 else ""
            when = " and ".join(f"{d / HOUR:g} h" for d in ds)
            line, = ax.plot(xs, mean, styles[k % len(styles)], marker="o", markersize=3.5,
                            color=color, label=f"{rule}, {when}{what}")
            area = band(ax, xs, mean, half, color, *metric_range(m, "spacing"), alpha=0.15)
            artists += [line, area]
    ax.set_xscale("symlog", linthresh=5.0)
    ticks = sorted({r["interval_s"] / 60.0 for r in ret})
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("interval between repetitions (min, onset to onset; 0 = massed)")
    shown = sorted(set(drawn.values()))
    ax.set_ylabel(_METRIC_WORDS.get(shown[0], shown[0]) if len(shown) == 1
                  else "weight change left\n(late phase where the rule has one)")
    ax.legend(fontsize=8)
    return artists


def plot_trajectories(ax, rows, rule=None):
    """Early (dashed) and late (solid) weights of the stimulated synapses against time since
    the last repetition, one colour per interval (mean over seeds), for one rule (default: the
    first rule with early and late phases, else the first rule); a rule without phases: its
    weight change (solid)."""
    tra = _select(rows, task="trajectory")
    if not tra:
        raise ValueError("rows have no task='trajectory' rows (from brainlearn.studies.spacing.run)")
    rules = sorted({r["rule"] for r in tra})
    if rule is None:
        with_late = sorted({r["rule"] for r in tra if r["metric"] == "late"})
        rule = (with_late or rules)[0]
    tra = _select(tra, rule=rule)
    has_late = any(r["metric"] == "late" for r in tra)
    parts = (("early", "--"), ("late", "-")) if has_late else (("weight_change", "-"),)
    artists = []
    for k, interval in enumerate(sorted({r["interval_s"] for r in tra})):
        color = PALETTE[k % len(PALETTE)]
        name = "massed" if interval == 0 else f"{interval / 60:g} min"
        for metric, ls in parts:
            sel = _select(tra, interval_s=interval, metric=metric)
            steps = sorted({r["step"] for r in sel})
            t = np.array([next(r["delay_s"] for r in sel if r["step"] == s) for s in steps])
            v = np.array([np.mean([r["value"] for r in sel if r["step"] == s]) for s in steps])
            line, = ax.plot(t / HOUR, v, ls, color=color,
                            label=f"{name}, {metric}" if has_late else name)
            artists.append(line)
    ax.axvline(0.0, color="0.5", linewidth=0.8)
    ax.set_xlabel("time since the last repetition (h)")
    ax.set_ylabel("weight change of the stimulated synapses")
    ax.set_title(f"{rule}: early (dashed) and late (solid) phase" if has_late
                 else f"{rule}: weight change")
    ax.legend(fontsize=8, ncol=2)
    return artists


# -- the study on the runner (brainlearn run spacing) --------------------------------------------
from ._base import Study, register_study  # noqa: E402 - the study API, after the core above
from ._findings import spacing_findings  # noqa: E402


def _reads_pre_post_only(rule_cls) -> bool:
    return (set(rule_cls.needs) <= {"pre", "post"} and not rule_cls.tags.constraint
            and not rule_cls.tags.lateral
            and getattr(rule_cls, "on_pre", None) is None)  # spiking rules: bl.simulate


class SpacingStudy(Study):
    """The spacing study on the study runner: :func:`run` per (rule, seed), the two figures.

    By default it runs the rules with dynamics of their own during rest (a ``rest_kernel``:
    consolidation, e.g. ``tag_and_capture``) that read ``pre`` and ``post`` only; any rule
    reading only ``pre`` and ``post`` may be given with ``--rules`` (e.g. ``hebb`` as a
    control without consolidation). ``summary.csv``: the :data:`HEADLINE` metrics at the
    longest delay, per rule and interval.
    """

    name = "spacing"
    summary = ("repetitions massed or spaced, then a day of rest: the late-phase weight left "
               "against the interval (the spacing effect)")
    Config = SpacingConfig
    headline = HEADLINE
    extra_columns = EXTRA_COLUMNS
    summary_by = ("rule", "interval_s", "metric")
    captions = {
        "spacing_retention": "Weight change of the stimulated synapses left 1 h and 24 h after "
                             "three repetitions against the interval between them (0 = "
                             "massed), every rule that ran: the late phase for rules with "
                             "early and late phases, the whole change otherwise; mean and 95% "
                             "CI over seeds (weights have no bounded range: the bands are not "
                             "clipped). For tag_and_capture a day later: 2-5 min apart keeps "
                             "about 3% more than massed (paired over 12 seeds, the 95% CI "
                             "excludes zero); 10 min apart keeps the same within noise (+0.3%, "
                             "below the spread between seeds); 20 min or more apart keeps "
                             "less, as each repetition is then captured on its own and they "
                             "no longer add up (docs/capture_windows.md).",
        "spacing_trajectories": "Early (dashed) and late (solid) phase of the stimulated "
                                "synapses (the whole weight change for rules without phases) "
                                "from the first repetition to a day later, for a few intervals "
                                "(mean over seeds), a panel per rule on one weight axis.",
    }

    def fits(self, rule_cls) -> bool:
        return _reads_pre_post_only(rule_cls) and rule_cls.rest_kernel is not None

    def valid_rules(self, config) -> list:
        from .. import rules
        return sorted(n for n in rules.available() if _reads_pre_post_only(rules.get(n)))

    def run_one(self, config, rule, seed) -> list:
        return run(config, rule, seed)

    def summarize(self, rows, config) -> list:
        from ..results import summarize
        return summarize(rows, metrics=list(self.headline), by=self.summary_by,
                         where={"task": "retention", "delay_s": max(config.delays)})

    def figures(self, rows, config, figdir) -> list:
        import os

        from matplotlib.figure import Figure

        from ..plotting import save_figure
        paths = []
        fig = Figure(figsize=(6.6, 4.0), layout="constrained")
        ax = fig.add_subplot()
        plot_retention_vs_interval(ax, rows)
        ax.set_title(f"Spacing: {config.repetitions} repetitions, what is left "
                     "(mean and 95% CI over seeds)")
        paths += save_figure(fig, os.path.join(figdir, "spacing_retention"))
        rules = sorted({r["rule"] for r in rows if r["task"] == "trajectory"})
        if rules:
            fig = Figure(figsize=(6.8 * min(len(rules), 2), 3.8 * math.ceil(len(rules) / 2)),
                         layout="constrained")
            # one quantity (a weight change) in every panel: one weight axis
            axes = fig.subplots(math.ceil(len(rules) / 2), min(len(rules), 2), squeeze=False,
                                sharey=True)
            for k, ax in enumerate(axes.flat):
                if k < len(rules):
                    plot_trajectories(ax, rows, rule=rules[k])
                    if k % 2:
                        ax.set_ylabel("")  # the left panel's axis label holds for the row
                else:
                    ax.set_visible(False)
            paths += save_figure(fig, os.path.join(figdir, "spacing_trajectories"))
        return paths

    def findings(self, summary_rows, rows, config) -> dict:
        """What each rule keeps a day later, best interval against massed, and how its phases
        end (:func:`brainlearn.studies._findings.spacing_findings`)."""
        return spacing_findings(rows)

    def overview(self, summary_rows, config) -> list | None:
        """The report's opening table: massed, the interval nearest 10 min and the longest
        (None, every summary row, when there are no more intervals than that)."""
        intervals = sorted({float(r["interval_s"]) for r in summary_rows})
        if len(intervals) <= 3:
            return None
        keep = {intervals[0], min(intervals, key=lambda v: abs(v - 600.0)), intervals[-1]}
        return [r for r in summary_rows if float(r["interval_s"]) in keep]


register_study(SpacingStudy())
