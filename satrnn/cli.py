"""The `satrnn` command. Subcommands live one per module in `satrnn/commands/` (each declares `COMMAND`, a
`satrnn.unit.Command`) and are discovered here.

Exit codes: 0 success, 1 a requested check failed (`iso` not isomorphic, `verify --strict` with a differing
claim, a crashed measurement or report section) or a run could not complete (a locked or full sweep store,
failed sweep jobs: one line on stderr), 2 bad input (one line on stderr, no traceback; also a closed stdout),
130 interrupted.
"""
from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
import warnings
import weakref

if "--multiprocessing-fork" in sys.argv:
    # A process that multiprocessing spawned from `satrnn` (a Dask LocalCluster worker, the explorer's ledger)
    # re-imports this module (its parent's __main__) before anything else, numpy included. It ignores SIGINT
    # from here on: a terminal's Ctrl-C reaches the whole process group, the parent stops its workers itself,
    # and a worker interrupted while starting would only print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

from satrnn import __version__
from satrnn.clikit import err_console, guard_paths, set_run_settings  # after the SIGINT line: numpy, rich
from satrnn.rnn.errors import SatrnnInputError, SatrnnRunError
from satrnn.unit import Command, command_module_for, command_modules


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line on stderr with exit code 2."""

    def error(self, message):
        raise SatrnnInputError(f"{self.prog}: {message}")


def build_parser(argv=None) -> argparse.ArgumentParser:
    """The parser of every command; with `argv` naming one command (`unit.command_module_for`), of that
    command alone (its module is the only one imported)."""
    parser = _Parser(prog="satrnn", description="Exact simulator and analysis toolkit for a trained "
                     "character-level Elman RNN, its Universal Model and its sign automaton.")
    parser.add_argument("--version", action="version", version=f"satrnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    one = command_module_for(argv) if argv is not None else None
    for module in [one] if one is not None else command_modules():   # COMMAND (data) or register()
        command = getattr(module, "COMMAND", None)
        if isinstance(command, Command):
            command.add_to(sub)
        elif callable(getattr(module, "register", None)):
            module.register(sub)
    return parser


def _fail(message: str, code: int = 2) -> int:
    err_console.print(f"satrnn: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return code


STDOUT_CLOSED = ("stdout is closed; satrnn writes its results there: open it (e.g. >/dev/null to discard "
                 "them)")


def _occupy_closed_std_fds() -> bool:
    """Give a closed stdin/stdout/stderr (`>&-`) /dev/null. Otherwise the first file this process opens (a
    sweep store, an output) would get that number, and anything written to "stdout" would land in it.
    Returns True when stdout was closed. A closed stderr only loses the messages; the exit code still tells."""
    stdout_closed = False
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        except OSError:
            pass
        if fd == 1:
            stdout_closed = True
        elif fd == 2:
            sys.stderr = open(2, "w", closefd=False)
    return stdout_closed or sys.stdout is None


def _silence_stdout() -> None:
    """After stdout failed (closed pipe, full disk), point it at /dev/null so the interpreter's final
    flush cannot print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _flush_stdout() -> str | None:
    if sys.stdout is None:
        return None
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as e:
        _silence_stdout()
        return f"cannot write to stdout: {e.strerror}"
    return None


def _exit_now_loses_nothing() -> bool:
    """True when skipping the interpreter's teardown (os._exit) loses nothing: no thread but this one still
    running (daemons aside), no child process, and no exit-time finalizer but numba's and llvmlite's own (their
    dispatchers and runtime: memory the process gives back anyway). Otherwise a temporary directory, a Dask
    worker or a pool's thread would be left behind, so the teardown runs."""
    me = threading.current_thread()
    if any(t is not me and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return False
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.active_children():
        return False
    registry = getattr(weakref.finalize, "_registry", None)
    if registry is None:
        return False
    return all(not info.atexit or (getattr(info.func, "__module__", None) or "").startswith(("numba.", "llvmlite."))
               for info in list(registry.values()))


def main(argv=None) -> int:
    # The start-up (the command's modules, numba's typing tables) makes some 10^5 objects that live for the
    # whole run; each pass of the cyclic collector would traverse them again (about 0.2 s of a run's start).
    # So the collector is off while they are made, and on the real command line they are frozen (never
    # traversed again) before the command runs.
    gc.disable()
    try:
        return _main(argv)
    finally:
        gc.enable()


def _main(argv) -> int:
    # Overflow/NaN in an analysis of an extreme model is reported in its results (NaN -> null); numpy's
    # RuntimeWarnings would only add source-code lines to stderr.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    if (argv is None and _occupy_closed_std_fds()) or sys.stdout is None:
        return _fail(STDOUT_CLOSED)
    try:
        parser = build_parser(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 2
        guard_paths(args)
        set_run_settings(args)
        if argv is None:       # the real command line: the process ends with the command
            gc.freeze()
        gc.enable()
        code = int(args.func(args) or 0)
        failed = _flush_stdout()
        if failed:
            return _fail(failed)
        if argv is None and _exit_now_loses_nothing():
            # The real command line, its outputs complete and flushed: the interpreter's teardown (numba's
            # runtime, every module, the heap: about 0.25 s) would change nothing, so skip it.
            sys.stderr.flush()
            os._exit(code)
        return code
    except SatrnnInputError as e:
        _flush_stdout()
        return _fail(str(e).splitlines()[0] if str(e) else "bad input")
    except SatrnnRunError as e:
        _flush_stdout()
        return _fail(str(e).splitlines()[0] if str(e) else "the run failed", code=1)
    except KeyboardInterrupt:
        err_console.print("satrnn: interrupted", markup=False)
        if argv is None:
            # The real command line: every `with` block (staged outputs, progress bars) has already been
            # unwound, so skip the interpreter's teardown (numba, threads, GC of large arrays: ~1-2 s on a
            # loaded machine) and exit at once.
            _flush_stdout()
            sys.stderr.flush()
            os._exit(130)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except OSError as e:  # a file-system failure no command anticipated: still one line, no traceback
        _flush_stdout()
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        return _fail(f"{e.strerror or type(e).__name__}{where}")
    except MemoryError:
        return _fail("out of memory; use a smaller input (e.g. --max-bytes)")


if __name__ == "__main__":
    sys.exit(main())
