"""The ``brainlearn`` command line (also ``python -m brainlearn``).

Commands: ``rules``, ``studies``, ``run``, ``sweep``, ``figures``, ``report``, ``bench`` (the
study commands live in :mod:`brainlearn.cli._studies`, what every command shares in
:mod:`brainlearn.cli._base`); global ``--version`` and ``--quiet``.

Error contract: bad usage or bad input prints one line on stderr naming the
problem and exits with status 2, without a traceback. ``run`` and ``sweep`` exit with 0
when the study completed (diverged runs are results) and 1 when runs failed. :func:`main`
takes the argument list and returns the exit status instead of exiting, so tests can
call it.

``brainlearn rules`` reads every rule's metadata from the registry (the class
attributes and the hyperparameter fields declared with
:func:`brainlearn.rules.hyperparameter`), so the table, the JSON and the
Markdown reference (``docs/rules.md``) are always what the code says.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import textwrap
import warnings

from .._version import __version__
from ._base import (UsageError, _one_line_plugin_warnings, _Parser, _table_width,  # noqa: F401
                    add_plugin_argument, load_cli_plugins, run_guarded, write_atomic)
from ._studies import add_commands
from ._studies import study_main as _study_main

__all__ = ["main", "study_main", "build_parser", "run_guarded", "rule_info", "rules_table",
           "rules_markdown"]

#: the command that regenerates the committed rule reference
DOCS_COMMAND = "brainlearn rules --markdown --builtin --output docs/rules.md"

_SIGNAL_TEXT = {
    "pre": "presynaptic activity",
    "post": "postsynaptic activity",
    "error": "the error dL/dz of the postsynaptic population, passed as `mod`",
    "reward": "the reward, 1 when the output was correct and 0 otherwise, passed as `mod`",
}


def _signal_order(needs) -> list:
    from ..rules import SIGNALS
    return sorted(needs, key=lambda s: (SIGNALS.index(s) if s in SIGNALS else len(SIGNALS), s))


def _json_number(value):
    """``value`` unchanged unless it is a float JSON cannot hold (inf, NaN): then its text."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _hyperparameter_info(f) -> dict:
    meta = f.metadata or {}
    if f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    else:
        default = None
    if isinstance(default, bool):
        kind = "bool"
    elif isinstance(default, int):
        kind = "int"
    elif isinstance(default, float):
        kind = "float"
    else:
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return {
        "name": f.name,
        "type": kind,
        "default": _json_number(default),
        "low": _json_number(meta.get("low")),
        "high": _json_number(meta.get("high")),
        "low_open": bool(meta.get("low_open", False)),
        "high_open": bool(meta.get("high_open", False)),
        "range": _interval(meta, kind),
        "doc": meta.get("doc", ""),
    }


def _fmt_number(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _interval(meta, kind) -> str:
    """The valid range as an interval: ``[0, inf)``, ``(0, 1]``, ``true/false``."""
    if kind == "bool":
        return "true/false"
    if kind not in ("int", "float"):
        return "any"
    lo, hi = meta.get("low"), meta.get("high")
    left = "(-inf" if lo is None else ("(" if meta.get("low_open") else "[") + _fmt_number(lo)
    right = "inf)" if hi is None else _fmt_number(hi) + (")" if meta.get("high_open") else "]")
    text = f"{left}, {right}"
    return f"integer in {text}" if kind == "int" else text


def _public_path(cls) -> str:
    from .. import rules
    if getattr(rules, cls.__name__, None) is cls:
        return f"brainlearn.rules.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def metadata_fields() -> dict:
    """``{name: type}`` of the metadata every rule has: ``family`` and ``locality`` (its
    tags), ``needs``, ``summary``, ``equation``, ``reference``, then its other tags (read
    from :class:`~brainlearn.rules.Tags`, so a new tag shows up in ``brainlearn rules
    --json`` without touching this module)."""
    from ..rules import Tags
    tags = {f.name: str(f.type) for f in dataclasses.fields(Tags)}
    head = {k: tags.pop(k) for k in ("family", "locality")}
    return {"name": "str", **head, "needs": "frozenset", "summary": "str", "equation": "str", "reference": "str",
            **tags}


def _metadata_value(key, annotation, value):
    if key == "needs":
        return _signal_order(value)
    if "bool" in annotation:
        return bool(value)
    if isinstance(value, (frozenset, set, tuple, list)):
        return sorted(map(str, value))
    if value is None or isinstance(value, (str, int, float)):
        return _json_number(value)
    return str(value)


def rule_info(name: str, cls) -> dict:
    """Every metadata field of the rule class ``cls`` registered as ``name``, JSON-ready.

    ``name``, ``class`` (import path), the metadata (``family``, ``locality``, ``needs``,
    ``summary``, ``equation``, ``reference`` and the other tags), then
    ``hyperparameters``: name, type, default, low, high, low_open, high_open, range, doc.
    """
    info = {"name": name, "class": _public_path(cls)}
    for key, annotation in metadata_fields().items():
        if key != "name":
            value = getattr(cls.tags, key) if key in type(cls.tags).__dataclass_fields__ else \
                getattr(cls, key, None)
            info[key] = _metadata_value(key, annotation, value)
    info["hyperparameters"] = [_hyperparameter_info(f) for f in dataclasses.fields(cls)]
    return info


def _builtin(info) -> bool:
    return info["class"].startswith("brainlearn.")


def collect_rules(builtin_only: bool = False):
    """``(infos, plugin_errors, other_warnings)`` for every registered rule, sorted by name.

    The registry's warnings about plug-ins that failed to load are swallowed here
    (the caller lists ``plugin_errors`` itself); any other warning is returned.
    """
    from .. import rules
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = rules.available()
        errors = rules.plugin_errors()
    infos = [rule_info(name, rules.get(name)) for name in names]
    if builtin_only:
        infos = [i for i in infos if _builtin(i)]
    others = [str(w.message) for w in caught
              if not any(repr(name) in str(w.message) for name in errors)]
    return infos, errors, others


# -- renderers -----------------------------------------------------------------------------------
_TABLE_COLUMNS = (("name", "NAME"), ("family", "FAMILY"), ("locality", "LOCALITY"),
                  ("needs", "SIGNALS"), ("summary", "SUMMARY"))
_MIN_SUMMARY = 24


def rules_table(infos, width=None) -> str:
    """A plain-text table of ``infos``; with ``width``, the summaries wrap inside their column.

    When the fixed columns leave fewer than ~24 characters, each summary goes on its
    own indented lines under its row instead.
    """
    cells = [[(",".join(i[k]) if k == "needs" else str(i[k])) for k, _ in _TABLE_COLUMNS]
             for i in infos]
    header = [h for _, h in _TABLE_COLUMNS]
    widths = [max(len(r[c]) for r in [header] + cells) for c in range(len(header) - 1)]
    indent = sum(widths) + 2 * len(widths)

    def fixed(row):
        return "  ".join(f"{v:<{w}}" for v, w in zip(row, widths)) + "  "

    lines = []
    stacked = width is not None and width - indent < _MIN_SUMMARY
    for row in [header] + cells:
        summary = row[-1]
        if width is None:
            lines.append(fixed(row) + summary)
        elif stacked:
            lines.append(fixed(row).rstrip())
            lines.extend(textwrap.wrap(summary, max(width, 20), initial_indent="    ",
                                       subsequent_indent="    ", break_on_hyphens=False))
        else:
            parts = textwrap.wrap(summary, width - indent, break_on_hyphens=False) or [""]
            lines.append(fixed(row) + parts[0])
            lines.extend(" " * indent + p for p in parts[1:])
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _yes(flag) -> str:
    return "yes" if flag else "no"


_FEEDBACK_TEXT = {
    "transpose": "the error sent on to the presynaptic population goes through `W^T`",
    "random": "the error sent on to the presynaptic population goes through a fixed random `B^T` "
              "held in the rule's state",
    "direct": "a hidden population receives the output error directly, through its own fixed "
              "random `B`",
}


def _rule_section(info) -> list:
    out = [f"## {info['name']}", "", f"{info['summary']}", ""]
    if info["equation"]:
        out += ["$$", info["equation"], "$$", ""]
    out += [f"- class: `{info['class']}`",
            f"- family: {info['family']}; locality: {info['locality']}",
            "- signals: " + "; ".join(f"`{s}` ({_SIGNAL_TEXT.get(s, s)})" for s in info["needs"])]
    if info["reference"]:
        out.append(f"- reference: {info['reference']}")
    if "error" in info["needs"]:
        feedback = info.get("feedback")
        text = _FEEDBACK_TEXT.get(feedback)
        out.append(f"- feedback: `{feedback}`" + (f", {text}" if text else ""))
    notes = []
    if info.get("elementwise"):
        notes.append("elementwise (the change of `W[i, j]` reads no other weight)")
    if info.get("updates_bias"):
        notes.append("updates the postsynaptic bias")
    if info.get("constraint"):
        notes.append("a constraint: edits `W` after the summed deltas (compose with `chain`)")
    if info.get("lateral"):
        notes.append("meant for lateral (population-to-itself) projections")
    if info.get("output_only"):
        notes.append("belongs on a projection into the output population")
    if info.get("unstable"):
        notes.append("may diverge by design (no finiteness check)")
    if info.get("state_uses_network"):
        notes.append("its state depends on the network (rebuilt when the structure changes)")
    if not info.get("online_equals_batch1", True):
        notes.append("online training differs from minibatches of size 1")
    if notes:
        out.append("- properties: " + "; ".join(notes))
    out.append("")
    hps = info["hyperparameters"]
    if hps:
        out += ["| hyperparameter | default | valid range | description |",
                "| --- | --- | --- | --- |"]
        for h in hps:
            out.append(f"| `{h['name']}` | `{_fmt_number(h['default'])}` | {_md_cell(h['range'])} "
                       f"| {_md_cell(h['doc'])} |")
    else:
        out.append("No hyperparameters.")
    out.append("")
    return out


def rules_markdown(infos) -> str:
    """The rule reference as a Markdown document: a summary table, then one section per rule."""
    out = ["# Learning rules", "",
           f"<!-- Generated by `{DOCS_COMMAND}`; do not edit by hand. -->", "",
           "Every rule registered with brainlearn, with its update equation, reference, "
           "hyperparameters (defaults and valid ranges) and the signals its kernel reads. "
           "A rule is used by name (`net.connect(a, b, rule=\"oja\", lr=1e-3)`) or as an "
           "instance (`bl.rules.Oja(lr=1e-3)`); several rules on one projection are combined "
           "with `bl.rules.chain(...)` (deltas summed, constraints applied after). "
           "Out-of-range hyperparameters raise `ValueError` when the rule is made. "
           "To write a rule of your own, see the [authoring guide](authoring.md).", "",
           "Signals a kernel may read: " + "; ".join(f"`{s}`: {t}" for s, t in _SIGNAL_TEXT.items())
           + ".", "",
           "| rule | family | locality | signals | summary |",
           "| --- | --- | --- | --- | --- |"]
    for i in infos:
        out.append(f"| [`{i['name']}`](#{i['name']}) | {i['family']} | {i['locality']} | "
                   f"{', '.join(i['needs'])} | {_md_cell(i['summary'])} |")
    out.append("")
    for i in infos:
        out += _rule_section(i)
    return "\n".join(out).rstrip("\n") + "\n"


def _cmd_rules(args) -> int:
    load_cli_plugins(args)
    infos, errors, others = collect_rules(builtin_only=args.builtin)
    if args.json:
        text = json.dumps(infos, indent=2) + "\n"
    elif args.markdown:
        text = rules_markdown(infos)
    else:
        text = rules_table(infos, None if args.output else _table_width())
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    for message in others:
        print(f"brainlearn: warning: {message}", file=sys.stderr)
    if errors and not args.builtin:
        print(f"{len(errors)} rule plug-in(s) failed to load:", file=sys.stderr)
        for name, err in sorted(errors.items()):
            print(f"  {name}: {err}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="brainlearn", description="Biologically inspired plasticity simulator.")
    parser.add_argument("--version", action="version", version=f"brainlearn {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar or informational notes (results still printed)")
    # --quiet also after the command; SUPPRESS keeps a global --quiet from being reset
    quiet = _Parser(add_help=False)
    quiet.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                       help="no progress bar or informational notes")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    p = sub.add_parser("rules", parents=[quiet], help="list the registered learning rules",
                       description="List the registered learning rules (built-in and plug-ins).")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="a JSON list with every metadata field and the hyperparameters")
    fmt.add_argument("--markdown", action="store_true",
                     help="a Markdown reference (summary table, one section per rule)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write to FILE (atomically) instead of standard output")
    p.add_argument("--builtin", action="store_true",
                   help="only the rules that ship with brainlearn (no plug-ins); "
                        f"used for docs/rules.md: {DOCS_COMMAND}")
    add_plugin_argument(p)
    p.set_defaults(func=_cmd_rules)
    add_commands(sub, quiet)
    return parser


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    return run_guarded(build_parser(), argv)


def study_main(study, argv=None, prog=None) -> int:
    """``brainlearn run STUDY`` as a script (the ``experiments/`` scripts): the same options but
    STUDY, the same code, the same exit status. ``sys.exit(study_main("learning"))``."""
    return _study_main(study, argv, prog)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
