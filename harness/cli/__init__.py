"""The ``splitbrain`` command line.

Each command group lives in its own module exposing ``register(subparsers)``
and is listed in ``COMMAND_MODULES``.  Errors a user can fix (bad input, a
missing engine, an unknown checker) are :class:`UserError` or
``HistoryError`` and print as one line with exit code 2; a traceback is
shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .errors import UserError

COMMAND_MODULES = [
    "harness.cli.cmd_history",
    "harness.cli.cmd_report",
    "harness.cli.cmd_nodes",
    "harness.cli.cmd_run",
    "harness.cli.cmd_matrix",
    "harness.cli.cmd_list",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="splitbrain",
        description="Fault-inject real database clusters and check what clients saw.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in COMMAND_MODULES:
        importlib.import_module(mod).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from checkers.history import HistoryError
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, HistoryError) as e:
        if debug:
            raise
        print(f"splitbrain: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("splitbrain: interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 2
    except Exception as e:  # noqa: BLE001 - last line of defence: one line, not a traceback
        if debug:
            raise
        print(f"splitbrain: internal error: {type(e).__name__}: {e} (run with --debug for the "
              "traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
