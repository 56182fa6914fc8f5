"""Regenerate every curated figure in ``figures/``.

1. Runs each built-in study (``learning``, ``retention``, ``spacing``, ``stdp``) at full size into a
   results folder (default ``results/curated``), through :func:`brainlearn.studies.run_study`:
   the same code as ``brainlearn run``; and ``representations``, the learning study swept over
   the hidden size and the readout's labels per class (:data:`VARIANTS`). Existing results there are replaced (``--resume``
   finishes an interrupted regeneration instead).
2. Copies every figure of those studies to ``figures/`` as ``STUDY_NAME.png`` and ``.svg`` (a
   figure whose name already starts with the study's name keeps it).
3. Runs the other figure scripts of ``experiments/`` (:data:`SCRIPTS`), which write to
   ``figures/`` themselves.

::

    python experiments/make_figures.py                          # full size: slow
    python experiments/make_figures.py --workers 2 --resume     # continue, two processes
    python experiments/make_figures.py --studies learning       # one study only
    python experiments/make_figures.py --quick                  # smoke run of the pipeline

``--quick`` never touches ``figures/``: the quick figures go to ``OUT/figures`` (``--dest``),
and only the scripts that can write elsewhere are run.
"""

import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(HERE)
if os.path.isfile(os.path.join(_ROOT, "brainlearn", "__init__.py")):
    sys.path.insert(0, _ROOT)  # in a checkout, use its brainlearn rather than an installed one

STUDIES = ("learning", "representations", "retention", "spacing", "stdp")
#: studies run under another name: folder -> (study, rules, --set overrides, --grid, figures)
VARIANTS = {
    # where learned features could matter: the learning study swept over the hidden size and
    # the labels the readout gets, the local rules against both controls and backprop
    "representations": ("learning", ["backprop", "oja", "sanger", "bcm", "competitive",
                                     "random_features", "pca"],
                        {"eval_points": 0},
                        {"hidden": [8, 16, 32, 64, 128], "labels_per_class": [5, 20, 0]},
                        "sweep"),
}
#: other scripts that draw curated figures: name -> the option that sets their output folder
#: (None: the script always writes to figures/, so a --quick run skips it)
SCRIPTS = {"learning_curve.py": "--out", "custom_rule.py": "--out", "calcium_stdp.py": None}


def _copy(src, dst) -> None:
    """Copy atomically: a reader of ``dst`` sees the old figure or the new one."""
    tmp = f"{dst}.tmp-{os.getpid()}"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def copy_figures(results, dest) -> list:
    """Copy every PNG/SVG of ``results.figures_dir`` to ``dest``, prefixed with the study."""
    os.makedirs(dest, exist_ok=True)
    copied = []
    for name in sorted(os.listdir(results.figures_dir)):
        stem, ext = os.path.splitext(name)
        if ext.lower() not in (".png", ".svg") or name.startswith("."):
            continue
        target = stem if stem.startswith(results.study) else f"{results.study}_{stem}"
        _copy(os.path.join(results.figures_dir, name), os.path.join(dest, target + ext))
        copied.append(os.path.join(dest, target + ext))
    return copied


def main(argv=None) -> int:
    from brainlearn.cli import _Parser, run_guarded

    parser = _Parser(prog="python experiments/make_figures.py",
                     description="Regenerate every curated figure (figures/).")
    parser.add_argument("--quick", action="store_true",
                        help="quick sizes; figures go to OUT/figures, not figures/")
    parser.add_argument("--seeds", type=int, default=None,
                        help="seeds per rule (default 5; 3 with --quick)")
    parser.add_argument("--studies", default=",".join(STUDIES), metavar="A,B",
                        help=f"studies to run (default {','.join(STUDIES)})")
    parser.add_argument("--out", default=os.path.join("results", "curated"), metavar="DIR",
                        help="results folder (default results/curated)")
    parser.add_argument("--dest", default=None, metavar="DIR",
                        help="where the figures go (default figures/; OUT/figures with --quick)")
    parser.add_argument("--workers", type=int, default=1, metavar="N")
    parser.add_argument("--resume", action="store_true",
                        help="keep finished runs in OUT (default: replace them)")
    parser.add_argument("--no-scripts", action="store_true",
                        help=f"do not run {', '.join(SCRIPTS)}")
    return run_guarded(parser, argv, _make)


def _make(args) -> int:
    from brainlearn.cli._studies import summary_table
    from brainlearn.studies import run_study

    seeds = args.seeds or (3 if args.quick else 5)
    dest = args.dest or (os.path.join(args.out, "figures") if args.quick
                         else os.path.join(_ROOT, "figures"))
    status = 0
    for name in [s.strip() for s in args.studies.split(",") if s.strip()]:
        start = time.perf_counter()
        print(f"== {name} ({'quick' if args.quick else 'full'} size, {seeds} seeds) ==",
              flush=True)
        study, rules, sets, grid, figures = VARIANTS.get(name, (name, None, None, None, True))
        res = run_study(study, rules=rules, seeds=seeds, quick=args.quick, out=args.out,
                        workers=args.workers, mode="resume" if args.resume else "force",
                        overrides=sets, grid=grid, figures=figures, folder=name)
        sys.stdout.write(summary_table(res.summary))
        copied = copy_figures(res, dest)
        print(f"{res.counts} in {time.perf_counter() - start:.0f} s; {len(copied)} figure files "
              f"-> {dest}", flush=True)
        status = max(status, res.exit_status)
    if not args.no_scripts:
        for script, out_option in SCRIPTS.items():
            path = os.path.join(HERE, script)
            if not os.path.isfile(path) or (args.quick and out_option is None):
                continue
            cmd = [sys.executable, path] + (["--quick", out_option, dest] if args.quick else [])
            print(f"== {script} ==", flush=True)
            env = dict(os.environ)  # the scripts import the same brainlearn as this one
            env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
            if subprocess.run(cmd, cwd=_ROOT, env=env, check=False).returncode != 0:
                print(f"make_figures: {script} failed", file=sys.stderr)
                status = 1
    return status


if __name__ == "__main__":  # the guard also keeps worker processes (--workers) from rerunning it
    sys.exit(main())
