"""`satrnn landscape MODEL --input X`: the attractor landscape of the sign automaton under a constant or periodic
input, exact over all states (--exhaustive, H - pins <= 24) or estimated from seeded random starts."""
from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
from rich.console import Group

from satrnn import options as o
from satrnn.analyses.landscape import TextLandscape, text_landscape
from satrnn.automaton import cycles as cyc
from satrnn.automaton import landscape as ls
from satrnn.automaton.sign import SignAutomaton
from satrnn.automaton.tier1 import auto_tier1, parse_tier1
from satrnn.clikit import (
    check_int,
    console,
    emit_json,
    load_model_arg,
    pins_arg,
    progress,
    steps_callback,
)
from satrnn.figures import hook
from satrnn.report.render_landscape import input_label, render_landscape
from satrnn.report.render_landscape import text_landscape as render_text_landscape
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import atomic_write_bytes
from satrnn.rnn.text import parse_byte
from satrnn.rnn.vocab import check_byte_in_vocab
from satrnn.unit import Analysis, Command, Section, option

MAX_SEQUENCE = 1 << 16
MAX_SENSITIVITY = 1 << 20
MAX_BOOTSTRAP = 1_000_000


def _sequence(args, model=None) -> np.ndarray:
    """The input byte or periodic sequence (with a model: each byte inside its vocabulary)."""
    if (args.input is None) == (args.sequence is None):
        raise SatrnnInputError("give exactly one of --input X or --sequence X,Y,...")
    if args.input is not None:
        seq = [parse_byte(args.input)]
    else:
        parts = [v for v in args.sequence.split(",")]
        if not 1 <= len(parts) <= MAX_SEQUENCE:
            raise SatrnnInputError(f"--sequence must have 1 to {MAX_SEQUENCE} bytes")
        seq = [parse_byte(v) for v in parts]
    if model is not None:
        for b in seq:
            check_byte_in_vocab(model, b, "--input byte" if args.input is not None else "--sequence byte")
    return np.array(seq, dtype=np.uint8)


def _check_graphml(path: str) -> Path:
    p = Path(path)
    if p.suffix.lower() != ".graphml":
        raise SatrnnInputError(f"--graphml file {p} must end in .graphml")
    return p


def _exact(A, seq, pins, args):
    with progress() as bar:
        task = bar.add_task(f"successors of all 2^{A.H - len(pins)} states", total=1 << (A.H - len(pins)))
        return ls.landscape(A, seq, pins, on_progress=lambda done, total: bar.update(task, completed=done))


def _estimate(A, seq, pins, starts, budget, args):
    label = "Brent from random starts"
    with progress() as bar:
        task = bar.add_task(label, total=starts)
        return ls.estimate_landscape(A, seq, starts=starts, budget=budget, seed=args.seed, pins=pins,
                                     bootstrap_resamples=args.bootstrap, on_batch=steps_callback(bar, task, label),
                                     batch=max(1, 4 * numba.get_num_threads()))


def run(args) -> int:
    seq = _sequence(args)
    L = int(seq.shape[0])
    sens_n = check_int("--sensitivity-samples", args.sensitivity_samples, 0, MAX_SENSITIVITY)
    if sens_n == 1:
        raise SatrnnInputError("--sensitivity-samples must be 0 (skip) or at least 2")
    check_int("--bootstrap", args.bootstrap, 100, MAX_BOOTSTRAP)
    rows = check_int("--rows", args.rows, 1, 1 << 20)
    if args.graphml and not args.exhaustive:
        raise SatrnnInputError("--graphml needs --exhaustive")
    if not args.exhaustive:
        starts = check_int("--starts", args.starts, 1, ls.MAX_STARTS)
        budget = check_int("--budget", args.budget, 1, cyc.MAX_BUDGET)
        if budget < L:
            raise SatrnnInputError(f"--budget {budget} is shorter than one input period ({L} steps)")
        if starts * budget > 10**15:
            raise SatrnnInputError(f"--starts x --budget = {starts * budget:.3g} steps is more than 1e15")
    model = load_model_arg(args)
    seq = _sequence(args, model)
    H = model.H
    pins = pins_arg(args, H)
    parse_tier1(args.tier1, H)  # an unknown choice: exit 2 before any work
    free = H - len(pins)
    if args.exhaustive and free > ls.MAX_EXACT_FREE:
        raise SatrnnInputError(f"--exhaustive needs at most {ls.MAX_EXACT_FREE} free neurons, this model has "
                               f"H = {H} with {len(pins)} pinned")
    graphml = None
    if args.graphml:
        if free > ls.MAX_GRAPH_FREE:
            raise SatrnnInputError(f"--graphml needs at most {ls.MAX_GRAPH_FREE} free neurons, this model has {free}")
        graphml = _check_graphml(args.graphml)
    A = SignAutomaton.from_model(model, args.semantics, tier1=args.tier1, pins=pins)
    if not args.json:
        console.print(f"H = {H}, input {input_label(seq)}, semantics {args.semantics}, pins "
                          f"{args.pin or 'none'}, seed {args.seed}"
                          + ("" if args.exhaustive else f", {starts:,} starts, budget {budget:,} steps"))
    if args.exhaustive:
        result = _exact(A, seq, pins, args)
    else:
        result = _estimate(A, seq, pins, starts, budget, args)
    sens = None
    if sens_n or (args.exhaustive and L == 1):
        if args.exhaustive and L == 1:
            sens = ls.landscape_sensitivity(result)
        else:
            sens = ls.estimate_sensitivity(A, seq, sens_n, args.seed, pins)
    if graphml is not None:
        import networkx as nx
        g = result.to_networkx()
        atomic_write_bytes(graphml, lambda f: nx.write_graphml(g, f))
    if args.json:
        emit_json({"command": "landscape", "model": args.model, "seed": args.seed, **result.as_dict(),
                   "input": int(seq[0]) if L == 1 else None, "tier1": args.tier1 or auto_tier1(H),
                   "sensitivity": sens, "graphml": str(graphml) if graphml is not None else None})
    else:
        console.print(render_landscape(result, sens, max_rows=rows))
        if graphml is not None:
            console.print(f"state transition graph ({result.n_states:,} nodes) written to {graphml}")
    return 0


def _model_arg(results) -> str | None:
    """How the printed command names the model: its path, or None for the default model (no MODEL)."""
    return results.source_args[0] if results.source_args else None


def _section(results):
    """The landscape under the text's most used byte (exact for small H, else estimated from seeded starts with
    basin-fraction and entropy intervals and the unresolved count), the command that repeats it with the real
    model path, and, for the default model, its precomputed landscapes (their cycles re-verified)."""
    from satrnn.report.render_known import known_landscape_part
    tl = results.get(LANDSCAPE)
    data = tl.as_dict()
    more, known = known_landscape_part(results, tl.input)
    if known is not None:
        data["known"] = known
    return Group(render_text_landscape(tl), *more), data


LANDSCAPE = Analysis(
    name="landscape", result=TextLandscape, figure=hook("basin_fractions", "result"),
    compute=lambda results: text_landscape(results.model, results.xs, automaton=results.automaton("exact"),
                                           model_arg=_model_arg(results)),
    render=render_text_landscape,
    section=Section("landscape", "Attractor landscape", _section, background=True))

COMMAND = Command(
    "landscape", "attractor landscape (basins, entropy, state graph) of the sign automaton", run,
    options=(o.MODEL,
             option("--input", default=None, metavar="X", help="constant input byte (65, 0x41, 'A')"),
             option("--sequence", default=None, metavar="X,Y,...",
                    help="periodic input: comma-separated bytes (states compared at sequence boundaries)"),
             option("--exhaustive", action="store_true",
                    help=f"all 2^(H - pins) states (at most 2^{ls.MAX_EXACT_FREE}): exact basins, entropy, heights"),
             option("--starts", type=int, default=256, metavar="N",
                    help="random starts to estimate from (default 256)"),
             option("--budget", type=int, default=10**6, metavar="STEPS",
                    help="Brent detection budget per start in Boolean steps (default 1e6); beyond it a start is "
                         "counted unresolved"),
             o.SEED, o.PIN, o.TIER1, o.SEMANTICS_OPTION,
             option("--graphml", default=None, metavar="PATH", writes=True,
                    help=f"with --exhaustive: write the state transition graph (H - pins <= {ls.MAX_GRAPH_FREE})"),
             option("--sensitivity-samples", type=int, default=1024, metavar="M",
                    help="sampled states for the average sensitivity (default 1024; 0 = skip); exhaustive runs "
                         "with one input byte compute it exactly over all states"),
             option("--bootstrap", type=int, default=ls.BOOTSTRAP_RESAMPLES, metavar="B",
                    help=f"bootstrap resamples for the entropy interval (default {ls.BOOTSTRAP_RESAMPLES})"),
             option("--rows", type=int, default=20, help="attractor rows in the tables (default 20)"),
             o.JSON),
    units=(LANDSCAPE,))
