"""What every `satrnn` subcommand shares: consoles, argument helpers, JSON output, safe file writes.

Conventions (keep them in every command module under `satrnn/commands/`):
- a module defines `register(subparsers)` that adds one parser and `set_defaults(func=run)`;
- `run(args) -> int` prints with `console` (stdout) or, with `--json`, prints exactly one JSON document
  via `emit_json`; progress bars go to stderr (`progress()`), so JSON on stdout stays clean;
- bad input raises `SatrnnInputError` (one line); the CLI prints it on stderr and exits 2;
- files are written with `write_file` / `save_npy` (temporary sibling + rename: nothing half-written);
  a command writing several files wraps the writes in `with StagedOutputs():` (all of them or none);
- every option naming a file is declared: `declare_outputs(p, "out", ...)` / `declare_inputs(p, "resume")`
  (MODEL and TEXT from `add_model_arg` / `add_model_text_args` are declared already). Before `run` the
  CLI calls `guard_paths(args)`: an output that is one of the inputs, a special file, too long a name or
  in a missing/unwritable directory is refused on one line (exit 2) before anything is computed.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.files import StagedOutputs, atomic_write_bytes, check_distinct, check_output
from satrnn.rnn.model import ElmanRNN, load_model
from satrnn.rnn.record import Record
from satrnn.rnn.text import DEFAULT_TEXT_CAP, check_max_bytes, iter_text, load_text, text_size
from satrnn.rnn.vocab import check_text_file_in_vocab, check_text_in_vocab

__all__ = ["StagedOutputs"]  # re-exported for commands

# Output that goes to a pipe or a file (`satrnn verify | less`, `> out.txt`) is rendered at least this wide,
# so that no table cell is cut ("…") and no word or number is split across lines; a terminal keeps its own
# width. Saved exports (report --html/--svg) always render at SAVE_WIDTH, whatever ran the command.
PIPE_WIDTH = 160
SAVE_WIDTH = 160


def _stdout_width() -> int | None:
    """None (rich measures the terminal) for a terminal; else max($COLUMNS, PIPE_WIDTH)."""
    try:
        if sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        pass
    cols = os.environ.get("COLUMNS", "")
    return max(int(cols) if cols.isdigit() else 0, PIPE_WIDTH)


console = Console(width=_stdout_width())
err_console = Console(stderr=True)


def saving_console() -> Console:
    """A recording console for saved exports (HTML, SVG, text): SAVE_WIDTH columns and full colour, the same
    for every terminal, pipe or COLUMNS setting; nothing is printed anywhere."""
    return Console(record=True, width=SAVE_WIDTH, file=io.StringIO(), color_system="truecolor", force_terminal=True,
                   force_jupyter=False, legacy_windows=False, soft_wrap=False)


MAX_STEPS = 10**12
MAX_SEED = 2**63 - 1


# ---- files named by options: inputs and outputs ---------------------------------------------

_INPUTS, _OUTPUTS, _MAY_REPLACE = "_satrnn_inputs", "_satrnn_outputs", "_satrnn_may_replace"


def _declare(p: argparse.ArgumentParser, key: str, dests) -> None:
    p.set_defaults(**{key: tuple(p.get_default(key) or ()) + tuple(dests)})


def declare_inputs(p: argparse.ArgumentParser, *dests: str) -> None:
    """Mark options (by dest) whose value is a file this command reads."""
    _declare(p, _INPUTS, dests)


def declare_outputs(p: argparse.ArgumentParser, *dests: str, may_replace: tuple[str, ...] = ()) -> None:
    """Mark options (by dest) whose value is a file this command writes ('-' = stdout, never checked).

    `may_replace` names input dests these outputs may deliberately rewrite (train's --checkpoint may be the
    --resume file: the checkpoint it writes is again resumable)."""
    _declare(p, _OUTPUTS, dests)
    _declare(p, _MAY_REPLACE, tuple((d, m) for d in dests for m in may_replace))


def _option(dest: str) -> str:
    return dest.upper() if dest in ("model", "text") else "--" + dest.replace("_", "-")


def guard_paths(args) -> None:
    """Refuse, before any work, outputs that would clobber an input or a special file (one line, exit 2)."""
    allowed = set(getattr(args, _MAY_REPLACE, ()))
    outputs = {}
    for d in getattr(args, _OUTPUTS, ()):
        v = getattr(args, d, None)
        if isinstance(v, (str, os.PathLike)) and v != "-":
            inputs = [getattr(args, i, None) for i in getattr(args, _INPUTS, ()) if (d, i) not in allowed]
            check_output(v, [i for i in inputs if isinstance(i, (str, os.PathLike))], what=_option(d))
            outputs[_option(d)] = v
    check_distinct(outputs)


# ---- arguments --------------------------------------------------------------------------------

# The shared options are defined once, in `satrnn.options`; these add them to a parser built by hand (the
# commands declared as data list them in their `Command.options` instead).

def add_json_flag(p: argparse.ArgumentParser) -> None:
    from satrnn.options import JSON
    JSON.add_to(p)


def add_model_arg(p: argparse.ArgumentParser) -> None:
    from satrnn.options import MODEL
    MODEL.add_to(p)


def add_tanh_arg(p: argparse.ArgumentParser) -> None:
    """--tanh: the float32 tanh of the reference forward (and the UM), applied to the loaded model."""
    from satrnn.options import TANH
    TANH.add_to(p)


def add_model_text_args(p: argparse.ArgumentParser) -> None:
    from satrnn.options import MODEL_TEXT
    for o in MODEL_TEXT:
        o.add_to(p)


def add_semantics_arg(p: argparse.ArgumentParser) -> None:
    from satrnn.options import SEMANTICS_OPTION
    SEMANTICS_OPTION.add_to(p)


def add_tier1_arg(p: argparse.ArgumentParser) -> None:
    """--tier1 (sign automaton tier-1 tables; checked by automaton.tier1.parse_tier1)."""
    from satrnn.options import TIER1
    TIER1.add_to(p)


def seed_type(value: str) -> int:
    """argparse type for seeds: an integer 0..2^63-1, checked while parsing (before any computing)."""
    try:
        v = int(value, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}, got {v}")
    return v


def add_seed_arg(p: argparse.ArgumentParser, default: int = 0) -> None:
    from satrnn.options import seed
    seed(default).add_to(p)


def _default_model_and_text():
    """The bundled default model and corpus (rnn.default, trained on first use)."""
    try:
        from satrnn.rnn import default as default_mod  # provided by the trainer work
    except ImportError:
        raise SatrnnInputError("no MODEL given and this satrnn has no default model; pass MODEL and TEXT") from None
    return default_mod.default_model_and_text(progress_factory=progress)


def _with_tanh(model: ElmanRNN, args) -> ElmanRNN:
    """The model under the command's --tanh (unchanged when the command has no such option)."""
    return model.with_tanh(getattr(args, "tanh", None))


def load_model_arg(args) -> ElmanRNN:
    """The model named by args.model, or the default model when it is omitted, under --tanh if given."""
    if getattr(args, "model", None) is None:
        return _with_tanh(_default_model_and_text()[0], args)
    return _with_tanh(load_model(args.model), args)


def load_model_text_args(args, min_bytes: int = 2) -> tuple[ElmanRNN, np.ndarray]:
    """(model, text bytes) from args.model / args.text; both omitted = the default model and corpus. A text
    with a byte outside the model's vocabulary is refused (one line, naming the first position)."""
    if args.model is None and args.text is None:
        model, xs = _default_model_and_text()
        if args.max_bytes is not None:
            xs = xs[: check_max_bytes(args.max_bytes)]
        return _with_tanh(model, args), xs
    if args.text is None:
        raise SatrnnInputError("TEXT is missing: give MODEL and TEXT, or neither for the default model")
    model = _with_tanh(load_model(args.model), args)
    xs = load_text(args.text, max_bytes=args.max_bytes, min_bytes=min_bytes)
    check_text_in_vocab(model, xs, f"text file {args.text}")
    return model, xs


def model_and_text_source(args, min_bytes: int = 2) -> tuple[ElmanRNN, object, int]:
    """(model, text, n bytes) for the streaming commands (eval, trace): the default model and corpus (an
    array) when MODEL and TEXT are both omitted, else the model and TEXT as an iterator of uint8 chunks
    (`rnn.text.iter_text`: read as it is consumed, never whole). TEXT is checked (regular file, length
    >= min_bytes after --max-bytes, every byte inside the model's vocabulary) before anything is computed."""
    if args.model is None and args.text is None:
        model, xs = load_model_text_args(args, min_bytes=min_bytes)
        if xs.shape[0] < min_bytes:
            raise SatrnnInputError(f"the default corpus cut to {xs.shape[0]} byte(s) is too short; "
                                   f"at least {min_bytes} are needed")
        return model, xs, int(xs.shape[0])
    if args.text is None:
        raise SatrnnInputError("TEXT is missing: give MODEL and TEXT, or neither for the default model")
    model = _with_tanh(load_model(args.model), args)
    n = text_size(args.text, args.max_bytes)
    if args.max_bytes is None and n > DEFAULT_TEXT_CAP:   # streaming needs no cap; hours of work should be asked for
        raise SatrnnInputError(f"text file {args.text} has {n:,} bytes, more than the {DEFAULT_TEXT_CAP:,} read "
                               "without --max-bytes; pass --max-bytes N to use its first N bytes")
    if n == 0:
        raise SatrnnInputError(f"text file {args.text} is empty")
    if n < min_bytes:
        raise SatrnnInputError(f"text file {args.text} has {n} byte(s); at least {min_bytes} are needed")
    check_text_file_in_vocab(model, args.text, args.max_bytes)   # one read ahead, only for a model with a vocabulary
    return model, iter_text(args.text, args.max_bytes), n


def check_int(name: str, value: int, lo: int, hi: int) -> int:
    """Validate an integer option (step counts, sizes); out of range is a one-line input error."""
    if value is None or not (lo <= value <= hi):
        raise SatrnnInputError(f"{name} must be between {lo} and {hi}, got {value}")
    return int(value)


def check_float(name: str, value: float, lo: float = -math.inf, hi: float = math.inf) -> float:
    if value is None or not math.isfinite(value) or not (lo <= value <= hi):
        raise SatrnnInputError(f"{name} must be a finite number between {lo} and {hi}, got {value}")
    return float(value)


# ---- output -----------------------------------------------------------------------------------

def _jsonable(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return _finite_or_none(float(o))
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return [_jsonable(v) for v in o.tolist()] if o.dtype.kind == "f" else o.tolist()
    if isinstance(o, float):
        return _finite_or_none(o)
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _finite_or_none(x: float):
    return x if math.isfinite(x) else None


def _clean(o):
    """Recursively convert typed results (their `as_dict()`), numpy values and non-finite floats (JSON has no
    NaN/Inf: they become null)."""
    if isinstance(o, Record):
        return _clean(o.as_dict())
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, float):
        return _finite_or_none(o)
    if isinstance(o, (str, int, bool)) or o is None:
        return o
    return _clean(_jsonable(o))


def to_json(obj, indent: int | None = 2) -> str:
    return json.dumps(_clean(obj), indent=indent, allow_nan=False)


_RUN: dict = {}      # settings of the running command that every JSON document records (set by the CLI)


def set_run_settings(args) -> None:
    """Remember the command's arithmetic choices (--tanh) for `emit_json`."""
    _RUN.clear()
    if getattr(args, "tanh", None) is not None:
        _RUN["tanh"] = args.tanh


def emit_json(obj) -> None:
    """Print one JSON document on stdout (plain print: no rich markup or wrapping); a full disk or closed
    stdout is a one-line error. A typed result is written as its `as_dict()` (satrnn.rnn.record). A dict
    document records the command's --tanh as "tanh" (unless it says it already)."""
    if isinstance(obj, Record):
        obj = obj.as_dict()
    if isinstance(obj, dict) and _RUN:
        obj = {**obj, **{k: v for k, v in _RUN.items() if k not in obj}}
    text = to_json(obj)
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        raise SatrnnInputError(f"cannot write the JSON document to stdout: {e.strerror}") from None


def write_file(path: str | os.PathLike, data: bytes | str) -> None:
    """Write a whole file atomically; an unwritable path is a one-line input error."""
    payload = data.encode() if isinstance(data, str) else data
    atomic_write_bytes(path, lambda f: f.write(payload))


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    if not str(path).endswith(".npy"):
        raise SatrnnInputError(f"output file {path} must end in .npy")
    atomic_write_bytes(path, lambda f: np.save(f, array, allow_pickle=False))


def check_writable(path: str | os.PathLike, inputs=()) -> Path:
    """Fail early (before long computations) if an output file cannot be written safely: missing or
    unwritable directory, a directory, device, FIFO or symlink to one, too long a name, or one of `inputs`."""
    check_output(path, inputs)
    return Path(path)


class _Progress(Progress):
    """rich's Progress without the empty line its stop() prints when stderr is not a terminal (a stray blank
    line on every run through a pipe or in a log)."""

    def stop(self) -> None:
        if not self.disable:
            self.live.stop()


def progress(transient: bool = True) -> Progress:
    """A rich progress bar on stderr (stdout stays clean for --json); use as a context manager."""
    return _Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                     MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                     console=err_console, transient=transient)


def steps_callback(bar: Progress, task, label: str, budget: int | None = None):
    """An on_batch(done, total, steps) callback for `progress()` bars of step-counting searches: shows the
    jobs done and the aggregate steps/s; with `budget` (steps per job) also the longest time left at that
    rate (every unfinished job using its whole budget)."""
    def on_batch(done, total, steps):
        el = bar.tasks[task].elapsed or 0.0
        rate = steps / el if el > 0 else 0.0
        text = f"{label}: {steps:,} steps, {rate:,.0f} steps/s"
        if budget is not None and rate > 0 and done < total:
            text += f", at most {_duration((total - done) * budget / rate)} left"
        bar.update(task, completed=done, description=text)
    return on_batch


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.0f} s"


def add_pin_arg(p: argparse.ArgumentParser) -> None:
    from satrnn.options import PIN
    PIN.add_to(p)


def pins_arg(args, H: int) -> dict:
    """{neuron: +1 or -1} from --pin ('8=+1,56=-1'; empty without it). An unknown neuron, a sign other than
    +1/-1 or a neuron given twice is a one-line input error (see `satrnn.automaton.sign.parse_pins`)."""
    from satrnn.automaton.sign import parse_pins
    return dict(parse_pins(getattr(args, "pin", None), H))


def bytes_callback(bar: Progress, label: str):
    """A progress(done, total) callback for streamed analyses (bytes of text processed): creates the task
    on first use, so short runs that finish in one chunk show nothing."""
    state = {}

    def on_chunk(done, total):
        if "task" not in state:
            state["task"] = bar.add_task(label, total=total)
        bar.update(state["task"], completed=done, total=total)
    return on_chunk
