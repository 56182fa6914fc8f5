"""What every command of the command line shares: the parser class, the error contract
(:func:`run_guarded`: one line and exit status 2 for bad input, 130 on Ctrl-C), plug-in
loading, the table width and atomic output files."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import warnings

from ..results import path_problem, write_text

__all__ = ["UsageError", "run_guarded", "add_plugin_argument", "load_cli_plugins",
           "write_atomic"]


class UsageError(Exception):
    """Bad usage or input found after parsing: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2 (argparse would print the usage too)
        self.exit(2, f"{self.prog}: error: {message}\n")


# -- rule metadata -------------------------------------------------------------------------------
def _table_width():
    """Terminal width on a terminal, else ``$COLUMNS`` when set, else None (no wrapping)."""
    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) > 0:
        return int(cols)
    isatty = getattr(sys.stdout, "isatty", None)
    if isatty is not None and isatty():
        return shutil.get_terminal_size().columns
    return None


def add_plugin_argument(parser) -> None:
    """``--plugin FILE_OR_MODULE`` (repeatable), for the commands that look rules up."""
    parser.add_argument("--plugin", action="append", default=[], dest="plugins",
                        metavar="FILE_OR_MODULE",
                        help="import a Python file or module that registers rules "
                             "(@bl.rules.register) before the rules are looked up; repeatable; "
                             "local worker processes import it too (docs/authoring.md)")


def load_cli_plugins(args) -> None:
    """Import every ``--plugin`` of ``args`` (:func:`brainlearn.rules.load_plugin`); one that
    cannot be imported is bad input (one line, exit status 2)."""
    specs = getattr(args, "plugins", None) or []
    if not specs:
        return
    from ..rules import load_plugin
    for spec in specs:
        try:
            load_plugin(spec)
        except (ValueError, ImportError) as exc:
            raise UsageError(f"--plugin {spec}: {getattr(exc, 'reason', exc)}") from None


@contextlib.contextmanager
def _one_line_plugin_warnings():
    """Show a rule plug-in's warning (:class:`brainlearn.rules.PluginWarning`) as one line,
    ``brainlearn: warning: ...``, without the source line; other warnings as usual."""
    with warnings.catch_warnings():
        show = warnings.showwarning

        def one_line(message, category, filename, lineno, file=None, line=None):
            if category.__name__ == "PluginWarning" and \
                    category.__module__.startswith("brainlearn."):
                print(f"brainlearn: warning: {' '.join(str(message).split())}", file=sys.stderr)
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = one_line
        yield


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`brainlearn.results.write_text`), in an
    existing folder; a path that cannot be written is bad input, named (``--output``)."""
    parent = os.path.dirname(path) or "."
    if os.path.isdir(path) or not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        what = (f"{path} is a folder, not a file" if os.path.isdir(path) else
                f"{parent} is a file, not a folder" if os.path.lexists(parent) else
                f"directory {parent} does not exist")
        raise UsageError(f"--output {path}: {what}; allowed: a file path in an existing folder")
    problem = path_problem(path)
    if problem is not None:
        raise UsageError(f"--output {path}: {problem}")
    write_text(path, text)


def run_guarded(parser, argv=None, func=None) -> int:
    """Parse ``argv`` with ``parser`` and run ``func(args)`` (default: the command's function)
    under the error contract; return the exit status."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed already
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    func = func or getattr(args, "func", None)
    if not func:
        parser.print_help()
        return 0
    try:
        with _one_line_plugin_warnings():
            return func(args)
    except BrokenPipeError:
        # The reader went away (``brainlearn rules | head``): end quietly. Point stdout at
        # devnull so that the interpreter's final flush does not complain either.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 1
    except UsageError as exc:
        print(f"brainlearn: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        print(f"brainlearn: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"brainlearn: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("brainlearn: interrupted", file=sys.stderr)
        return 130


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
