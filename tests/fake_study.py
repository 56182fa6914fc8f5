"""A tiny study for testing the study runner and the command line: no network, no compiling.

It lives in its own module (not in a test file) so that worker processes started by the spawn
method can import its class when they unpickle the study.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

import brainlearn as bl
from brainlearn.plotting import rule_color, save_figure
from brainlearn.studies import Study

RULES = ("alpha", "beta", "gamma")

#: (rule, seed) of every run_one call made in this process, in order
CALLS = []
#: a (rule, seed) whose run raises KeyboardInterrupt (an interruption), or None
INTERRUPT = [None]
#: the "seconds" of TimedFakeStudy: a new value at every run, like a clock
_TICKS = itertools.count(1)


@dataclass(frozen=True)
class FakeConfig:
    steps: int = 6
    scale: float = 1.0
    noisy: bool = True
    diverge: str = ""            # the rule that diverges (seed 1 only)
    fail: str = ""               # the rule that fails (every seed)
    widths: tuple[int, ...] = (2, 3)
    note: str | None = None
    kind: str = "plain"

    @classmethod
    def quick(cls):
        return cls(steps=3)

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"steps={self.steps}: expected an int >= 1")


class FakeStudy(Study):
    name = "fake"
    summary = "A tiny study for tests: noisy curves from the seed alone."
    Config = FakeConfig
    headline = ("score",)
    extra_columns = ("phase",)
    captions = {"fake_curves": "Score against step for every rule."}

    def default_rules(self, config):
        return list(RULES[:2])

    def valid_rules(self, config):
        return list(RULES)

    def run_one(self, config, rule, seed):
        CALLS.append((rule, seed))
        if INTERRUPT[0] == (rule, seed):
            raise KeyboardInterrupt
        if rule == config.fail:
            raise RuntimeError(f"the {rule} run broke on purpose")
        rng = np.random.default_rng([seed, RULES.index(rule)])
        offset = config.scale * (1 + RULES.index(rule))
        rows = []
        for step in range(config.steps):
            value = offset * (step + 1) + (float(rng.normal()) if config.noisy else 0.0)
            if rule == config.diverge and seed == 1 and step == 2:
                exc = bl.DivergenceError("the fake run diverged", epoch=0, step=step)
                exc.rows = rows + [dict(rows[-1], step=step, value=float("nan"))]
                raise exc
            rows.append({"rule": rule, "seed": seed, "task": "t1", "step": step,
                         "metric": "score", "value": value, "phase": "train"})
        rows.append({"rule": rule, "seed": seed, "task": "t1", "step": config.steps,
                     "metric": "sum", "value": float(sum(r["value"] for r in rows)),
                     "phase": "end"})
        return rows

    def figures(self, rows, config, figdir):
        fig = Figure(figsize=(4, 3))
        ax = fig.add_subplot()
        for rule in dict.fromkeys(r["rule"] for r in rows):
            pts = sorted((r["step"], r["value"]) for r in rows
                         if r["rule"] == rule and r["metric"] == "score" and r["seed"] == 0)
            if pts:
                ax.plot(*zip(*pts), color=rule_color(rule), label=rule)
        ax.set_xlabel("step")
        ax.set_ylabel("score")
        if ax.lines:
            ax.legend()
        return save_figure(fig, f"{figdir}/fake_curves")


class TimedFakeStudy(FakeStudy):
    """The fake study with a timing metric: ``seconds``, a value that changes at every run
    (like a wall time), stored in timings.csv, summarised and drawn."""
    name = "fake_timed"
    headline = ("score", "seconds")
    timing_metrics = ("seconds",)

    def run_one(self, config, rule, seed):
        rows = super().run_one(config, rule, seed)
        return rows + [{"rule": rule, "seed": seed, "task": "t1", "step": config.steps,
                        "metric": "seconds", "value": float(next(_TICKS)), "phase": "end"}]

    def figures(self, rows, config, figdir):
        paths = list(super().figures(rows, config, figdir))
        seconds = {}
        for r in rows:
            if r["metric"] == "seconds":
                seconds.setdefault(r["rule"], []).append(r["value"])
        if seconds:
            fig = Figure(figsize=(4, 3))
            ax = fig.add_subplot()
            for k, (rule, values) in enumerate(seconds.items()):
                ax.plot([k] * len(values), values, "o", color=rule_color(rule))
            ax.set_ylabel("seconds")
            paths += save_figure(fig, f"{figdir}/fake_seconds")
        return paths


# -- helpers of the tests that use it ---------------------------------------------------------------
def read(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def one_error_line(err) -> str:
    """The command line's one-line error (no traceback) from captured stderr."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("brainlearn") and "Traceback" not in err
    return lines[0]
