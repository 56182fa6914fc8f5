"""The ``brainlearn`` command line.

Bad usage or bad input prints one line on stderr and exits with status 2,
without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from ._version import __version__

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage too; keep it short)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _cmd_rules(args) -> int:
    from . import rules
    rows = []
    for name in rules.available():
        cls = rules.get(name)
        rows.append({"name": name, "family": cls.family, "locality": cls.locality,
                     "needs": sorted(cls.needs), "summary": cls.summary})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['family']:<10} {r['locality']:<9} "
              f"{','.join(r['needs']):<20} {r['summary']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="brainlearn", description="Biologically inspired plasticity simulator.")
    parser.add_argument("--version", action="version", version=f"brainlearn {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    p = sub.add_parser("rules", help="list the registered learning rules")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_rules)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"brainlearn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
