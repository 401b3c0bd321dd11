"""The `satrnn` command. Subcommands live one per module in `analyses/commands/` and are discovered here.

Exit codes: 0 success, 1 a requested check failed (e.g. `verify --strict`), 2 bad input (one line on
stderr, no traceback), 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from satrnn.rnn.errors import SatrnnInputError

from . import commands
from .clikit import err_console


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line on stderr with exit code 2."""

    def error(self, message):
        raise SatrnnInputError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="satrnn", description="Exact simulator and analysis toolkit for a trained "
                     "character-level Elman RNN, its Universal Model and its sign automaton.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def _fail(message: str) -> int:
    err_console.print(f"satrnn: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return 2


def main(argv=None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except SatrnnInputError as e:
        return _fail(str(e).splitlines()[0] if str(e) else "bad input")
    except KeyboardInterrupt:
        err_console.print("satrnn: interrupted", markup=False)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
