"""The documented sweep that chooses each rule's settings per data set for the learning study.

For each rule, a grid of settings is run through the learning study's own code
(:func:`brainlearn.studies.learning.run`, the same networks, data, order, evaluations and
metrics as ``brainlearn run learning``), for every seed, and the setting with the best
**criterion** (mean over the seeds) is chosen. The chosen values belong in
:data:`brainlearn.studies.settings.SETTINGS` (this script prints them as entries to paste);
``config.json`` of every learning study records the settings it ran with.

Grids (``--lr-factors``, default ``0.1,0.3,1,3,10``):

* every rule: learning rates ``lr = centre x factor`` (rounded to two significant digits), where
  ``centre`` is the rule's rate in :data:`CENTRES` (the settings before the first sweep, kept
  here so that the commands of ``docs/tuning.md`` reproduce its tables whatever ``SETTINGS``
  holds now; a rule not listed: its current rate in ``SETTINGS``, or its own default), or the
  rates given by ``--lrs``; the rest of the setting (units, input code, other
  hyperparameters) is the rule's current one in ``SETTINGS``;
* ``bcm``: crossed with the threshold scale ``y0`` in {0.1, 0.2, 0.5};
* ``competitive`` (when the rule has the ``conscience`` hyperparameter): crossed with
  ``conscience`` in {0, 0.3, 1, 3} x ``N s^2`` (rounded to two significant digits), ``N`` the
  hidden units and ``s^2`` the mean squared distance of the centred training inputs to their
  mean -- the scale the rule's docstring gives for DeSieno's gamma.

Ties: criteria within ``--tie`` (default 0.005) of the highest are not told apart (that is
within the seed-to-seed spread and the test-set noise: 0.005 is two images of the digits' 450).
Among the neighbouring rates (with the other hyperparameters of the highest) whose criterion is
within ``--tie`` of the highest, the middle one is chosen (the lower of two middles): the rate
farthest from both ends of the plateau, robust to a longer or shorter run (where criteria
saturate, e.g. Oja's alignment at 1.000 over two decades, the plain maximum picks a rate by
noise). ``--tie 0`` chooses the highest.

When the highest criterion's learning rate is at the edge of the rates tried, the grid is
extended by one more factor 3 beyond that edge (with its other hyperparameters), up to
``--extend`` times (default 2), so that the highest is a maximum, not a grid boundary.

Criterion per rule, computed from the study's metric rows (higher is better):

* gradient rules that train a classifier (role ``end_to_end`` -- backprop, feedback_alignment,
  direct_feedback_alignment -- and ``single_layer`` -- delta, reward_hebbian): the **mean test
  accuracy over the last three evaluation points**. A rate that makes the accuracy oscillate
  from one evaluation to the next is penalised (its troughs count), a rate too small to
  converge is too;
* ``oja``, ``sanger``: the final ``pc_alignment`` (Oja: mean ``|cos|`` of the first units with
  the first principal component; Sanger: of unit k with component k, k < 8);
* ``bcm``: the final ``selectivity``, among the settings whose final readout accuracy (mean over
  the seeds) is not below the ``random_features`` control's by more than 0.01 (a selectivity
  bought by destroying the representation does not count; the control is run once per seed)
  and not below the best accuracy reached in the run by more than 0.01 (mean over the seeds):
  BCM's selectivity grows with the rate right up to divergence, and a run heading for it first
  loses accuracy, slowly (on 784 inputs over 1.2M presentations: 0.862 at its best, 0.802 at
  the end, the weight change growing from 0.04 to 0.09 per chunk, where a rate 3 times smaller
  stays at 0.861 and 0.013) -- a setting that is losing what it learned has not converged;
* ``competitive``: the final readout accuracy, among the settings that leave no dead unit (final
  ``dead_units`` 0 for every seed);
* any other hidden-layer rule: the final readout accuracy.

A run that diverges (non-finite weights) is recorded as diverged and never chosen. Every table
also gives, per setting (means over the seeds): the final test accuracy, the range of the
accuracy over the last three evaluations (max - min: the oscillation), its drop from the best
accuracy of the run, the final ``weight_change`` (relative change of the weights over the last
evaluation chunk; smaller: converged) and the rule's objectives, and, for rules that train a
classifier, whether the final accuracy is below the random-features control's (the issue's
failure: backprop on 784 inputs at the digits' rate).

Budgets (``docs/tuning.md``): on the digits the study's full size (the defaults). On 784
inputs the full size (60000 x 20 epochs = 1.2M presentations) is too slow for a grid, and what
a run costs is its evaluations (they grow with ``--train-size``), not its presentations: the
gradient rules are swept on a short budget and checked at the full size, the local rules swept
on a subset with the full number of presentations -- on a short budget their criteria still
grow and reward the largest rate that has not diverged yet.

Usage::

    # digits, full size (LearningConfig's defaults: 20 epochs, 100 hidden units), seeds 0-1
    python experiments/tune_settings.py --out digits.md --csv digits.csv          # 2-4 min
    # the MNIST-size settings, on MNIST-like stand-in files
    python experiments/tools/make_mnist_like.py data/mnist_like
    M="--dataset mnist --mnist-path data/mnist_like"
    python experiments/tune_settings.py $M --train-size 6000 --epochs 5 \\
        --rules backprop feedback_alignment direct_feedback_alignment delta      # 1.5 min
    python experiments/tune_settings.py $M --train-size 6000 --epochs 200 \\
        --rules oja sanger --lrs 3e-5,1e-4,3e-4,1e-3                            # 12 min
    python experiments/tune_settings.py $M --train-size 6000 --epochs 200 \\
        --rules bcm --lrs 1e-5,3e-5,1e-4                                         # 7.5 min
    # check gradient rules at the full size
    python experiments/tune_settings.py $M --rules backprop --lrs 0.003,0.01,0.05 --extend 0
    python experiments/tune_settings.py --rules backprop --lr-factors 0.3,1,3 --workers 2

Each run is one :func:`~brainlearn.studies.learning.run`; ``--workers`` runs them in that many
processes. ``--out FILE`` writes the tables and the chosen settings as Markdown, ``--csv FILE``
one row per run (rule, setting, seed and the measures); ``--cache FILE`` takes the runs of such
a CSV instead of running them again (the same data set, sizes and seeds: nothing checks it), to
redo the choice with another ``--tie`` or to add rules.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import dataclasses
import math
import multiprocessing
import os
import shlex
import sys
import time

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

from brainlearn import DivergenceError  # noqa: E402
from brainlearn.rules import base as rules_base  # noqa: E402
from brainlearn.studies import learning, settings  # noqa: E402

DEFAULT_RULES = ("backprop", "feedback_alignment", "direct_feedback_alignment", "delta", "oja",
                 "sanger", "bcm", "competitive")
LR_FACTORS = (0.1, 0.3, 1.0, 3.0, 10.0)
#: the centres of the learning-rate grids per data set: the rates of ``SETTINGS`` before the
#: first sweep (docs/tuning.md)
CENTRES = {
    "digits": {"backprop": 0.05, "feedback_alignment": 0.05, "direct_feedback_alignment": 0.05,
               "delta": 0.05, "oja": 0.01, "sanger": 0.01, "hebb": 1e-3, "covariance": 1e-3,
               "bcm": 1e-3, "competitive": 0.05, "ltp": 0.01},
    "mnist": {"backprop": 0.01, "feedback_alignment": 0.01, "direct_feedback_alignment": 0.01,
              "delta": 0.01, "oja": 1e-3, "sanger": 1e-3, "hebb": 1e-4, "covariance": 1e-4,
              "bcm": 1e-4, "competitive": 0.05, "ltp": 0.01},
}
BCM_Y0 = (0.1, 0.2, 0.5)
CONSCIENCE_FACTORS = (0.0, 0.3, 1.0, 3.0)
#: BCM: how far below the random-features control the final accuracy may end
BCM_TOLERANCE = 0.01
#: criterion differences smaller than this are ties (see :func:`choose`)
TIE = 0.005
#: evaluation points averaged by the criterion of the rules that train a classifier
LAST = 3


def round_sig(x, digits=2) -> float:
    """``x`` rounded to ``digits`` significant digits."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits - 1}e}")


def fmt_params(params) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items())


# -- the runs ------------------------------------------------------------------------------------
def _kind(config) -> str:
    return "digits" if config.mnist_path is None else "mnist"


def base_setting(rule, config):
    """The rule's current setting for the configured data set (the grid's centre)."""
    n_in = learning.load_data(config)[1].shape[1]
    return learning.rule_setting(rule, dataclasses.replace(config, lr=None), n_in)


def run_one(rule, params, config, seed):
    """One run of ``rule`` with hyperparameters ``params`` (None: the control) and ``seed``.

    The learning rate goes through ``config.lr`` (the study's own override); the other
    hyperparameters by replacing the rule's entry of ``SETTINGS`` in this process only.
    Returns ``(rows, diverged, seconds)``.
    """
    table = entry = kind = None
    if params is not None:
        base = base_setting(rule, config)
        kind = settings.dataset_kind(learning.load_data(config)[1].shape[1])
        table = settings.SETTINGS[kind]
        entry = table.get(rule)
        table[rule] = dataclasses.replace(base, params={**base.params, **params})
        if "lr" in params:
            config = dataclasses.replace(config, lr=float(params["lr"]))
    t0 = time.perf_counter()
    try:
        rows, diverged = learning.run(rule, config, seed), False
    except DivergenceError as exc:
        rows, diverged = list(getattr(exc, "rows", [])), True
    finally:  # SETTINGS as it was: the next run (and the report) starts from the real table
        if table is not None:
            if entry is None:
                table.pop(rule, None)
            else:
                table[rule] = entry
    return rows, diverged, time.perf_counter() - t0


def measures(rows, diverged) -> dict:
    """What the criteria read from one run's rows."""
    def series(metric):
        pts = sorted((r["step"], r["value"]) for r in rows if r["metric"] == metric)
        return [v for _, v in pts]

    acc = series("test_accuracy")
    last = acc[-LAST:] if len(acc) >= LAST else acc
    out = {"diverged": diverged,
           "final_acc": math.nan if diverged or not acc else acc[-1],
           "last3_acc": math.nan if diverged or not last else float(np.mean(last)),
           "last3_range": math.nan if diverged or not last else float(max(last) - min(last)),
           "drop": math.nan if diverged or not acc else float(max(acc) - acc[-1])}
    for metric in ("weight_change", "pc_alignment", "selectivity", "dead_units"):
        values = series(metric)
        out[metric] = math.nan if diverged or not values else values[-1]
    return out


# -- the criteria ----------------------------------------------------------------------------------
def criterion_of(rule, role) -> tuple:
    """``(measure, description)`` of the rule's criterion."""
    if role in ("end_to_end", "single_layer"):
        return "last3_acc", f"mean test accuracy over the last {LAST} evaluation points"
    if rule in learning.PC_TARGETS:
        return "pc_alignment", ("final pc_alignment (" + ("mean |cos| with PC1"
                                if learning.PC_TARGETS[rule] == "first" else
                                "unit k with PC k, ordered") + ")")
    if rule == "bcm":
        return "selectivity", ("final selectivity, among settings whose final readout accuracy "
                               f"is at most {BCM_TOLERANCE} below random features' and at most "
                               f"{BCM_TOLERANCE} below the best it reached in the run")
    if rule in learning.WINNER_TAKE_ALL:
        return "final_acc", "final readout accuracy, among settings with 0 dead units"
    return "final_acc", "final readout accuracy"


def eligible(rule, runs, reference) -> bool:
    """Whether a setting (its runs over the seeds) may be chosen."""
    if any(m["diverged"] for m in runs):
        return False
    if rule == "bcm":
        return (np.mean([m["final_acc"] for m in runs]) >= reference - BCM_TOLERANCE
                and np.mean([m["drop"] for m in runs]) <= BCM_TOLERANCE)
    if rule in learning.WINNER_TAKE_ALL:
        return all(m["dead_units"] == 0 for m in runs)
    return True


# -- grids -----------------------------------------------------------------------------------------
def input_scale(config) -> float:
    """``s^2``: mean squared distance of the centred training inputs to their mean."""
    x = np.asarray(learning.load_data(config)[1], dtype=np.float64)
    return float(np.mean(np.sum((x - x.mean(axis=0)) ** 2, axis=1)))


def grid(rule, config, factors, lrs=None) -> list:
    """The settings tried for ``rule`` (dicts of hyperparameters), the learning rate first:
    ``lrs`` when given, else the centre of :data:`CENTRES` times ``factors``."""
    cls = rules_base.get(rule)
    fields = {f.name for f in dataclasses.fields(cls)}
    base = base_setting(rule, config)
    out = [{}]
    if "lr" in fields and lrs:
        out = [{"lr": float(v)} for v in lrs]
    elif "lr" in fields:
        lr0 = CENTRES[_kind(config)].get(rule)
        if lr0 is None:
            lr0 = float(base.params.get("lr", getattr(cls(), "lr")))
        out = [{"lr": round_sig(lr0 * f)} for f in factors]
    if rule == "bcm" and "y0" in fields:
        out = [{**p, "y0": y0} for p in out for y0 in BCM_Y0]
    if rule == "competitive" and "conscience" in fields:
        scale = config.hidden * input_scale(config)
        out = [{**p, "conscience": round_sig(scale * f)} for p in out
               for f in CONSCIENCE_FACTORS]
    return out


# -- the sweep -------------------------------------------------------------------------------------
class Sweep:
    """Runs (in this process or in workers), cached by (rule, setting, seed)."""

    def __init__(self, config, seeds, workers, log):
        self.config, self.seeds, self.log = config, list(seeds), log
        self.results = {}  # (rule, key, seed) -> (measures, seconds)
        self.pool = None
        if workers > 1:
            self.pool = concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"))

    def run(self, rule, settings_list):
        """Run every setting of ``settings_list`` (None: the control) for every seed."""
        todo = [(p, s) for p in settings_list for s in self.seeds
                if (rule, _key(p), s) not in self.results]
        if self.pool is None:
            done = ((p, s, run_one(rule, p, self.config, s)) for p, s in todo)
        else:
            futures = [(p, s, self.pool.submit(run_one, rule, p, self.config, s))
                       for p, s in todo]
            done = ((p, s, f.result()) for p, s, f in futures)
        for p, s, (rows, diverged, seconds) in done:
            m = measures(rows, diverged)
            self.results[(rule, _key(p), s)] = (m, seconds)
            what = "diverged" if diverged else (
                f"acc {m['final_acc']:.3f} last3 {m['last3_acc']:.3f} "
                f"dw {m['weight_change']:.3g}")
            self.log(f"  {rule} {fmt_params(p or {}) or '-'} seed {s}: {what} ({seconds:.1f} s)")

    def load(self, path):
        """Take the runs of a CSV written by :func:`write_csv` (same configuration!)."""
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                params = None if row["setting"] == "-" else parse_params(row["setting"])
                m = {k: float(row.get(k, "nan")) for k in MEASURES if k != "diverged"}
                m["diverged"] = row["diverged"] == "True"
                self.results[(row["rule"], _key(params), int(row["seed"]))] = (
                    m, float(row["seconds"]))

    def runs(self, rule, params):
        return [self.results[(rule, _key(params), s)][0] for s in self.seeds]

    def seconds(self, rule):
        return sum(sec for (r, _, _), (_, sec) in self.results.items() if r == rule)

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()


def _key(params):
    return None if params is None else tuple(sorted(params.items()))


def _mean(runs, name):
    values = [m[name] for m in runs]
    return math.nan if any(not math.isfinite(v) for v in values) else float(np.mean(values))


def score(rule, measure, runs, reference):
    ok = eligible(rule, runs, reference)
    return (_mean(runs, measure) if ok else -math.inf), ok


def _others(p):
    return {k: v for k, v in p.items() if k != "lr"}


def choose(rule, measure, tried, sweep, reference, tie=0.0):
    """``(top, chosen)``: the eligible setting of the highest criterion (the first tried on
    ties), and the one chosen -- the middle rate (the lower of two middles) of the run of
    neighbouring rates, with ``top``'s other hyperparameters, whose criterion is within ``tie``
    of the top. Both None when no setting is eligible."""
    scores = {}
    for p in tried:
        value, ok = score(rule, measure, sweep.runs(rule, p), reference)
        if ok and math.isfinite(value):
            scores[_key(p)] = value
    top = None
    for p in tried:
        if _key(p) in scores and (top is None or scores[_key(p)] > scores[_key(top)]):
            top = p
    if top is None or tie <= 0 or "lr" not in top:
        return top, top
    line = sorted((p for p in tried if "lr" in p and _others(p) == _others(top)),
                  key=lambda p: p["lr"])
    i = j = next(k for k, p in enumerate(line) if _key(p) == _key(top))
    floor = scores[_key(top)] - tie
    while i > 0 and scores.get(_key(line[i - 1]), -math.inf) >= floor:
        i -= 1
    while j < len(line) - 1 and scores.get(_key(line[j + 1]), -math.inf) >= floor:
        j += 1
    return top, line[(i + j) // 2]


def tune_rule(rule, sweep, factors, extend, reference, lrs=None, tie=0.0):
    """Run the rule's grid (extending it at an edge), and return its table and choice."""
    config = sweep.config
    role = learning.role_of(rules_base.get(rule))
    measure, description = criterion_of(rule, role)
    tried = grid(rule, config, factors, lrs)
    sweep.run(rule, tried)
    best = choose(rule, measure, tried, sweep, reference)[0]
    for _ in range(extend):
        if best is None or "lr" not in best:
            break
        others = {k: v for k, v in best.items() if k != "lr"}
        lrs = sorted(p["lr"] for p in tried if {k: v for k, v in p.items() if k != "lr"} == others)
        if best["lr"] == lrs[-1]:
            step = {**others, "lr": round_sig(best["lr"] * 3)}
        elif best["lr"] == lrs[0]:
            step = {**others, "lr": round_sig(best["lr"] / 3)}
        else:
            break
        sweep.log(f"  {rule}: the best rate {best['lr']:g} is at the edge of the grid; "
                  f"trying {step['lr']:g}")
        step = {"lr": step["lr"], **others}
        tried.append(step)
        sweep.run(rule, [step])
        best = choose(rule, measure, tried, sweep, reference)[0]
    top, best = choose(rule, measure, tried, sweep, reference, tie)
    table = []
    for p in sorted(tried, key=lambda p: tuple(sorted(p.items()))):
        runs = sweep.runs(rule, p)
        value, ok = score(rule, measure, runs, reference)
        crit = [m[measure] for m in runs]
        table.append({
            "setting": fmt_params(p) or "-",
            "params": p,
            "criterion": _mean(runs, measure),
            "spread": (max(crit) - min(crit)) if all(map(math.isfinite, crit)) else math.nan,
            "final_acc": _mean(runs, "final_acc"),
            "last3_range": _mean(runs, "last3_range"),
            "drop": _mean(runs, "drop"),
            "weight_change": _mean(runs, "weight_change"),
            "pc_alignment": _mean(runs, "pc_alignment"),
            "selectivity": _mean(runs, "selectivity"),
            "dead_units": _mean(runs, "dead_units"),
            "diverged": sum(m["diverged"] for m in runs),
            "eligible": ok,
            "below_rf": role != "hidden" and _mean(runs, "final_acc") < reference,
            "chosen": p == best,
            "top": p == top,
        })
    return {"rule": rule, "role": role, "measure": measure, "description": description,
            "table": table, "best": best, "seconds": sweep.seconds(rule),
            "base": base_setting(rule, config)}


# -- output ----------------------------------------------------------------------------------------
def _f(x, digits=3):
    if isinstance(x, float) and not math.isfinite(x):
        return "-"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _time(seconds):
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def table_lines(result, reference, markdown):
    rule = result["rule"]
    extra = {"pc_alignment": "PC alignment", "selectivity": "selectivity",
             "dead_units": "dead units"}
    shown = [k for k in extra if any(math.isfinite(r[k]) for r in result["table"])
             and not (k == result["measure"])]
    drop = any(math.isfinite(r["drop"]) for r in result["table"])  # not in CSVs of old runs
    head = (["setting", "criterion", "spread", "final acc", "last-3 range"]
            + ["drop"] * drop + ["weight change"]
            + [extra[k] for k in shown] + ["note"])
    rows = []
    for r in result["table"]:
        notes = []
        if r["diverged"]:
            notes.append(f"diverged ({r['diverged']} seeds)")
        elif not r["eligible"]:
            notes.append("not eligible")
        if r["below_rf"] and not r["diverged"]:
            notes.append("below random features")
        if r["top"] and not r["chosen"]:
            notes.append("highest")
        if r["chosen"]:
            notes.append("**chosen**" if markdown else "<- chosen")
        rows.append([r["setting"], _f(r["criterion"]), _f(r["spread"]), _f(r["final_acc"]),
                     _f(r["last3_range"])] + [_f(r["drop"])] * drop
                    + [_f(r["weight_change"], 4)]
                    + [_f(r[k], 1 if k == "dead_units" else 3) for k in shown]
                    + ["; ".join(notes)])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return lines
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return lines


def chosen_dict(results, kind):
    out = {}
    for res in results:
        if res["best"] is not None:
            base = res["base"]
            out[res["rule"]] = {"params": {**base.params, **res["best"]},
                                "activation": base.activation, "inputs": base.inputs}
    return {kind: out}


def settings_lines(chosen) -> list:
    """The chosen settings as entries of ``SETTINGS`` (``settings.py``'s own notation)."""
    def number(v):
        return repr(int(v)) + ".0" if isinstance(v, float) and v.is_integer() else repr(v)

    lines = []
    for kind, table in chosen.items():
        lines.append(f'"{kind}": {{')
        for rule, entry in table.items():
            params = ", ".join(f'"{k}": {number(v)}' for k, v in entry["params"].items())
            lines.append(f'    "{rule}": Setting({{{params}}}, "{entry["activation"]}", '
                         f'"{entry["inputs"]}"),')
        lines.append("},")
    return lines


def report(results, reference, ref_runs, args, config, seconds, markdown, run_seconds=None):
    kind = _kind(config)
    run_seconds = seconds if run_seconds is None else run_seconds
    cached = f", taken from {args.cache}" if args.cache else ""
    lines = []
    title = f"Settings sweep on {kind}" + (f" ({config.mnist_path})" if config.mnist_path else "")
    cfg = (f"hidden {config.hidden}, epochs {config.epochs}, train_size "
           f"{config.train_size or 'all'}, eval_points {config.eval_points}, seeds "
           f"{', '.join(map(str, range(args.seeds)))}")
    if markdown:
        lines += [f"## {title}", "", "```", args.command, "```", "",
                  f"{cfg}; the runs took {_time(run_seconds)} (summed){cached}. Values are "
                  "means over the seeds; spread: max - min of the criterion over the seeds; "
                  "last-3 range: max - min of the test accuracy over the last three "
                  "evaluations; drop: the best test accuracy of the run (the one before "
                  "training included) minus the final one; weight change: relative change of "
                  "the weights over the last chunk.", "",
                  f"Reference: random_features, final readout accuracy "
                  f"{reference:.3f} (seeds: {', '.join(f'{v:.3f}' for v in ref_runs)}).", ""]
    else:
        lines += [title, f"{cfg}; runs {_time(run_seconds)}{cached}",
                  f"random_features: final accuracy {reference:.3f} (seeds: "
                  f"{', '.join(f'{v:.3f}' for v in ref_runs)})", ""]
    for res in results:
        best = fmt_params(res["best"]) if res["best"] is not None else "none eligible"
        if markdown:
            lines += [f"### {res['rule']} ({res['role']}, {_time(res['seconds'])})", "",
                      f"Criterion: {res['description']}. Chosen: `{best}` (SETTINGS now: "
                      f"`{fmt_params(res['base'].params)}`).", ""]
        else:
            lines += [f"{res['rule']} ({res['role']}; {_time(res['seconds'])}) -- criterion: "
                      f"{res['description']}"]
        lines += table_lines(res, reference, markdown)
        lines += ["" if markdown else f"chosen: {best}", ""]
    lines += (["Chosen settings (for `SETTINGS`):", "", "```python"] if markdown
              else ["chosen settings:"])
    lines += settings_lines(chosen_dict(results, kind))
    lines += ["```", ""] if markdown else [""]
    return "\n".join(lines)


MEASURES = ("final_acc", "last3_acc", "last3_range", "drop", "weight_change", "pc_alignment",
            "selectivity", "dead_units", "diverged")


def parse_params(text) -> dict:
    """The inverse of :func:`fmt_params` (numbers as floats)."""
    out = {}
    for item in text.split(", "):
        k, v = item.split("=", 1)
        out[k] = float(v)
    return out


def write_csv(path, sweep):
    names = list(MEASURES)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rule", "setting", "seed"] + names + ["seconds"])
        for (rule, key, seed), (m, sec) in sweep.results.items():
            w.writerow([rule, "-" if key is None else fmt_params(dict(key)), seed]
                       + [m[n] for n in names] + [f"{sec:.2f}"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python experiments/tune_settings.py",
        description="Choose each rule's learning rate (BCM: and y0; competitive: and the "
                    "conscience) for the learning study on a data set, by a documented sweep.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--mnist-path", help="folder of the MNIST (or MNIST-like) IDX files; "
                                             "required with --dataset mnist")
    parser.add_argument("--rules", nargs="+", default=list(DEFAULT_RULES))
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0 .. SEEDS-1")
    parser.add_argument("--train-size", type=int, help="first N training samples (all)")
    parser.add_argument("--epochs", type=int, default=learning.LearningConfig.epochs)
    parser.add_argument("--hidden", type=int, default=learning.LearningConfig.hidden)
    parser.add_argument("--eval-points", type=int, default=learning.LearningConfig.eval_points)
    parser.add_argument("--lr-factors", default=",".join(f"{f:g}" for f in LR_FACTORS),
                        help="learning rates tried: the grid centre (CENTRES) times these factors")
    parser.add_argument("--lrs", help="learning rates tried by every rule, comma-separated "
                                      "(instead of --lr-factors)")
    parser.add_argument("--extend", type=int, default=2,
                        help="times the rate grid may grow by a factor 3 at an edge")
    parser.add_argument("--tie", type=float, default=TIE,
                        help="criterion differences below this are ties: the middle rate of "
                             "the tied neighbours is chosen (0: the highest criterion)")
    parser.add_argument("--cache", help="a CSV written by --csv: its runs are taken from it, "
                                        "not run again")
    parser.add_argument("--workers", type=int, default=1, help="processes running the runs")
    parser.add_argument("--out", help="write the tables and the choice as Markdown here")
    parser.add_argument("--csv", help="write one row per run here")
    args = parser.parse_args(argv)
    if args.dataset == "mnist" and not args.mnist_path:
        parser.error("--dataset mnist needs --mnist-path")
    if args.dataset == "digits" and args.mnist_path:
        parser.error("--mnist-path is for --dataset mnist")
    if args.seeds < 1 or args.workers < 1 or args.extend < 0:
        parser.error("--seeds and --workers must be >= 1, --extend >= 0")
    try:
        factors = sorted(float(f) for f in args.lr_factors.split(","))
    except ValueError:
        parser.error(f"--lr-factors {args.lr_factors!r}: a comma-separated list of numbers")
    try:
        lrs = None if args.lrs is None else [float(v) for v in args.lrs.split(",")]
    except ValueError:
        parser.error(f"--lrs {args.lrs!r}: a comma-separated list of numbers")
    if lrs is not None and any(not math.isfinite(v) or v <= 0 for v in lrs):
        parser.error("--lrs: learning rates must be finite and > 0")
    for rule in args.rules:
        try:
            cls = rules_base.get(rule)
        except Exception as exc:  # unknown rule name
            parser.error(str(exc))
        if learning.role_of(cls) is None or learning.exclusion(cls) is not None:
            parser.error(f"{rule}: not a rule of the learning study")
    args.command = "python experiments/tune_settings.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    config = learning.LearningConfig(mnist_path=args.mnist_path, train_size=args.train_size,
                                     epochs=args.epochs, hidden=args.hidden,
                                     eval_points=args.eval_points)

    def log(msg):
        print(msg, flush=True)

    t0 = time.perf_counter()
    sweep = Sweep(config, range(args.seeds), args.workers, log)
    if args.cache:
        sweep.load(args.cache)
    results = []
    try:
        log(f"{learning.CONTROL} (the reference)")
        sweep.run(learning.CONTROL, [None])
        ref_runs = [m["final_acc"] for m in sweep.runs(learning.CONTROL, None)]
        reference = float(np.mean(ref_runs))
        for rule in args.rules:
            log(f"{rule}: {len(grid(rule, config, factors, lrs))} settings x {args.seeds} seeds")
            results.append(tune_rule(rule, sweep, factors, args.extend, reference, lrs,
                                     args.tie))
            log("\n".join(table_lines(results[-1], reference, False)))
    finally:
        sweep.close()
    seconds = time.perf_counter() - t0
    print()
    run_seconds = sum(sec for (rule, _, _), (_, sec) in sweep.results.items()
                      if rule in args.rules or rule == learning.CONTROL)
    print(report(results, reference, ref_runs, args, config, seconds, False, run_seconds))
    print(f"this invocation: {_time(seconds)}; the runs: {_time(run_seconds)}")
    if args.out:
        with open(args.out, "w") as f:
            f.write(report(results, reference, ref_runs, args, config, seconds, True,
                           run_seconds))
    if args.csv:
        write_csv(args.csv, sweep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
