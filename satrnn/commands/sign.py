"""`satrnn sign MODEL --input X --start HEX --steps N`: run the packed sign automaton, print the final state."""
from __future__ import annotations

import numpy as np

from satrnn import options as o
from satrnn.automaton.bitset import to_hex
from satrnn.automaton.sign import MAX_STEPS, SignAutomaton
from satrnn.clikit import (
    check_int,
    check_writable,
    console,
    declare_inputs,
    declare_outputs,
    emit_json,
    load_model_arg,
    pins_arg,
    progress,
    save_npy,
    write_file,
)
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.text import load_text, parse_byte
from satrnn.rnn.vocab import check_byte_in_vocab, check_text_in_vocab
from satrnn.unit import Arguments, Command, option

MAX_TRAJECTORY_STEPS = 50_000_000          # (steps, W) uint64 kept in memory
PROGRESS_STEPS = 5_000_000                 # longer runs show a progress bar


def _source(p) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--input", metavar="X", help="constant input byte: 65, 0x41 or A")
    src.add_argument("--text", metavar="FILE", help="drive by the bytes of FILE (one step per byte)")


def _files(p) -> None:
    declare_inputs(p, "text")
    declare_outputs(p, "trajectory")
    o.JSON.add_to(p)


def _inputs(args):
    """(constant byte or None, text bytes or None, steps)."""
    if args.input is None and args.text is None:
        raise SatrnnInputError("give --input X (a constant byte) or --text FILE")
    if args.input is not None:
        x = parse_byte(args.input)
        if args.steps is None:
            raise SatrnnInputError("--steps N is required with --input")
        return x, None, check_int("--steps", args.steps, 0, MAX_STEPS)
    xs = load_text(args.text, min_bytes=1)
    steps = xs.shape[0] if args.steps is None else check_int("--steps", args.steps, 0, xs.shape[0])
    return None, xs[:steps], steps


def run(args) -> int:
    x, xs, steps = _inputs(args)
    if args.trajectory is not None:
        check_writable(args.trajectory)
        if steps > MAX_TRAJECTORY_STEPS:
            raise SatrnnInputError(f"--trajectory keeps every state in memory: at most {MAX_TRAJECTORY_STEPS:,} "
                                   f"steps, got {steps:,}")
    model = load_model_arg(args)
    if xs is not None:
        check_text_in_vocab(model, xs, f"text file {args.text}")
    else:
        check_byte_in_vocab(model, x, "--input byte")
    pins = pins_arg(args, model.H)
    aut = SignAutomaton.from_model(model, args.semantics, tier1=args.tier1, pins=pins)
    start = aut.parse_state(args.start)
    traj = None
    if xs is not None:
        traj = aut.run(start, xs)
        final = traj[-1] if steps else start
    elif args.trajectory is not None:
        traj = aut.run_constant(start, x, steps, trajectory=True)
        final = traj[-1] if steps else start
    else:
        with progress() as bar:   # run_constant works in slices of ~0.1 s: progress, and Ctrl-C, between them
            task = bar.add_task("sign steps", total=steps) if steps > PROGRESS_STEPS else None
            final = aut.run_constant(start, x, steps, on_progress=None if task is None else
                                     lambda done: bar.update(task, completed=done))
    if args.trajectory is not None:
        _write_trajectory(args.trajectory, traj, model.H)
    out = {"final": to_hex(final, model.H), "H": model.H, "steps": steps, "semantics": args.semantics,
           "tier1": aut.tier1, "start": to_hex(start, model.H), "input": x, "text": args.text,
           "fallbacks": aut.fallbacks, "neuron_steps": aut.neuron_steps, "trajectory": args.trajectory,
           "pins": {str(j): v for j, v in pins.items()}}
    if args.json:
        emit_json(out)
    else:
        console.print(out["final"], markup=False, highlight=False)
        how = f"byte {x}" if x is not None else f"text {args.text}"
        console.print(f"[dim]{steps:,} steps under {how} from {out['start']} ({args.semantics}); "
                      f"fallbacks: {aut.fallbacks:,} of {aut.neuron_steps:,} neuron-steps[/dim]",
                      highlight=False)
    return 0


def _write_trajectory(path, traj: np.ndarray, H: int) -> None:
    if str(path).endswith(".npy"):
        save_npy(path, traj)
    else:
        write_file(path, "".join(to_hex(row, H) + "\n" for row in traj))


COMMAND = Command(
    "sign", "run the sign automaton (packed states) under a constant byte or a text", run,
    options=(o.MODEL,
             Arguments(_source),
             option("--start", default="zeros", metavar="HEX",
                    help="start state: ceil(H/4) hex digits (neuron 0 = lowest bit of the last digit), "
                         "'zeros' = all -1 (the papers' Boolean start, default) or 'ones' = all +1 (sign of h=0)"),
             option("--steps", type=int, default=None, metavar="N",
                    help="number of steps (required with --input; with --text at most the text length, "
                         "default all of it)"),
             o.SEMANTICS_OPTION, o.TIER1, o.PIN,
             option("--trajectory", metavar="FILE",
                    help="write every state: .npy (steps, W) uint64, else one hex state per line"),
             Arguments(_files)))
