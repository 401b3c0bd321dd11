"""`satrnn cycles MODEL [TEXT]`: cycles of the sign automaton under a fixed or periodic input (Brent's
algorithm per start, exhaustive enumeration of up to 20 free neurons, and the papers' 50-start search)."""
from __future__ import annotations

import numpy as np

from satrnn import options as o
from satrnn.analyses.boolean_figures import PAPER_T, AttractorSearch, paper_attractor_search
from satrnn.analyses.cycle_survey import DEFAULT_INPUTS, CycleSurvey, most_used_bytes, survey
from satrnn.automaton import cycles as cyc
from satrnn.automaton.bitset import from_hex, pack
from satrnn.automaton.sign import SignAutomaton
from satrnn.automaton.tier1 import auto_tier1, parse_tier1
from satrnn.cache import Results
from satrnn.clikit import (
    check_int,
    console,
    emit_json,
    load_model_arg,
    load_model_text_args,
    pins_arg,
    progress,
    steps_callback,
)
from satrnn.ledger.claims import Measured, NotAvailable
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import run_states
from satrnn.rnn.text import parse_byte
from satrnn.rnn.vocab import check_byte_in_vocab
from satrnn.unit import Analysis, Command, Section, option

MAX_STARTS = 1_000_000
MAX_JOBS = 10_000_000


def cycle_inputs(args, xs, model) -> tuple[np.ndarray, list]:
    """(seqs (m, L) uint8, labels): constant bytes or the text as one periodic sequence (shared with
    `satrnn sweep`). 'all' is every byte of the model's vocabulary; a byte outside it is refused."""
    if args.periodic_text:
        if args.input:
            raise SatrnnInputError("give either --input or --periodic-text, not both")
        if xs is None:
            raise SatrnnInputError("--periodic-text needs TEXT")
        return xs.reshape(1, -1).astype(np.uint8), ["text"]
    if not args.input:
        if args.paper:
            return np.zeros((0, 1), dtype=np.uint8), []
        raise SatrnnInputError("give --input X (a byte, repeatable, or 'all') or --periodic-text")
    bytes_: list[int] = []
    for v in args.input:
        if v.strip().lower() == "all":
            bytes_.extend(model.vocab_bytes())
        else:
            b = parse_byte(v)
            check_byte_in_vocab(model, b, "--input byte")
            bytes_.append(b)
    bytes_ = list(dict.fromkeys(bytes_))
    return np.array(bytes_, dtype=np.uint8).reshape(-1, 1), bytes_


def _starts(args, model, xs, H) -> tuple[np.ndarray, list[str]]:
    """Packed starts and a label per start."""
    blocks, labels = [], []
    for h in args.start or []:
        blocks.append(from_hex(h, H)[None, :])
        labels.append("hex")
    if args.from_trajectory:
        if xs is None:
            raise SatrnnInputError("--from-trajectory needs TEXT")
        stride = check_int("--stride", args.stride, 1, max(1, xs.shape[0]))
        hs, _ = run_states(model, xs, precision="f32")
        ts = np.arange(0, xs.shape[0], stride)
        blocks.append(pack(hs[ts]))
        labels.extend(f"sigma(h_{t})" for t in ts)
    n_random = args.starts
    if n_random is None:
        n_random = 0 if (args.start or args.from_trajectory) else 16
    n_random = check_int("--starts", n_random, 0, MAX_STARTS)
    if n_random:
        blocks.append(cyc.random_starts(H, n_random, args.seed))
        labels.extend(f"random {i}" for i in range(n_random))
    if not blocks:
        raise SatrnnInputError("no start states: give --starts N >= 1, --start HEX or --from-trajectory")
    return np.ascontiguousarray(np.concatenate(blocks)), labels


def _run_search(A, starts, seqs, budget, label="Brent"):
    """find_cycles with a progress bar (batches of a few jobs per thread) showing steps/s."""
    J = starts.shape[0] * seqs.shape[0]
    if J > MAX_JOBS:
        raise SatrnnInputError(f"{J} start x input jobs is more than {MAX_JOBS}")
    # load (compile or read from cache) the kernels first: the reported steps/s is kernel time only
    cyc.find_cycles(A, starts[:1], seqs[:1], seqs.shape[1])
    with progress() as bar:
        task = bar.add_task(label, total=J)
        return cyc.find_cycles(A, starts, seqs, budget, on_batch=steps_callback(bar, task, label, budget))


def _paper(model, xs, args, budget):
    """(the papers' search, Brent from its starts: search, summary, rows) for --paper."""
    if xs is None or xs.shape[0] <= PAPER_T:
        raise SatrnnInputError(f"--paper needs TEXT with more than {PAPER_T} bytes (input x_{PAPER_T})")
    x = int(xs[PAPER_T])
    A_paper = SignAutomaton.from_model(model, "f32-seq", tier1=args.tier1, pins=pins_arg(args, model.H))
    paper = paper_attractor_search(A_paper, x, seed=42)
    A = SignAutomaton.from_model(model, args.semantics, tier1=args.tier1, pins=pins_arg(args, model.H))
    starts = cyc.glibc_starts(model.H, 42, paper.trials + 1)
    search = _run_search(A, starts, np.array([[x]], dtype=np.uint8), budget, label="Brent from the paper's starts")
    labels = [f"trial {k}" for k in range(paper.trials)] + ["cycle-detection start"]
    return paper, cyc.summarize(search).labelled([x]), search.job_rows(labels, [x], starts)


def run(args) -> int:
    budget = check_int("--budget", args.budget, 1, cyc.MAX_BUDGET)
    if args.text is None and args.model is not None:
        model, xs = load_model_arg(args), None
    else:
        model, xs = load_model_text_args(args)
    H = model.H
    pins = pins_arg(args, H)
    seqs, input_labels = cycle_inputs(args, xs, model)
    if seqs.shape[0] and seqs.shape[1] > budget:
        raise SatrnnInputError(f"--budget {budget} is shorter than one input period ({seqs.shape[1]} steps)")
    parse_tier1(args.tier1, H)                 # an unknown choice: exit 2 before any work
    out = {"command": "cycles", "H": H, "semantics": args.semantics, "seed": args.seed, "budget": budget,
           "pins": {str(j): v for j, v in pins.items()},
           "tier1": args.tier1 or auto_tier1(H),
           "inputs": [lab if isinstance(lab, str) else int(lab) for lab in input_labels],
           "sequence_length": int(seqs.shape[1]) if seqs.shape[0] else None}
    if args.exhaustive:
        if H - len(pins) > cyc.MAX_EXHAUSTIVE_H:
            raise SatrnnInputError(f"--exhaustive needs at most {cyc.MAX_EXHAUSTIVE_H} free neurons, this model has "
                                   f"H = {H} with {len(pins)} pinned")
        A = SignAutomaton.from_model(model, args.semantics, tier1=args.tier1, pins=pins)
        found = [cyc.exhaustive_cycles(A, seqs[q]) for q in range(seqs.shape[0])]
        if args.json:
            out["exhaustive"] = [dict(ex.as_dict(), input=input_labels[q]) for q, ex in enumerate(found)]
            emit_json(out)
        else:
            for q, ex in enumerate(found):
                console.print(render.exhaustive_cycles(ex, input_labels[q], bool(pins)))
        return 0
    paper = None
    if args.paper:
        paper = _paper(model, xs, args, budget)
        out["paper"] = {"paper_compatible": paper[0], "brent_same_starts": {
            "semantics": args.semantics, "summary": paper[1], "results": paper[2]}}
        if not seqs.shape[0]:
            if args.json:
                emit_json(out)
            else:
                console.print(render.paper_cycles(paper[0], args.semantics, paper[1], paper[2]))
            return 0
    starts, labels = _starts(args, model, xs, H)
    if not args.json:
        console.print(f"seed {args.seed}, {starts.shape[0]} start(s) x {seqs.shape[0]} input(s), "
                          f"semantics {args.semantics}, budget {budget:,} steps")
    A = SignAutomaton.from_model(model, args.semantics, tier1=args.tier1, pins=pins)
    search = _run_search(A, starts, seqs, budget)
    out["starts"] = {"total": int(starts.shape[0]), "random": sum(1 for s in labels if s.startswith("random")),
                     "hex": sum(1 for s in labels if s == "hex"),
                     "trajectory": sum(1 for s in labels if s.startswith("sigma"))}
    summary = cyc.summarize(search).labelled(out["inputs"])
    per_input = search.per_input(out["inputs"])
    rows = search.job_rows(labels, out["inputs"], starts)
    out.update(summary=summary, per_input=per_input, results=rows)
    if args.json:
        emit_json(out)
    else:
        if paper is not None:
            console.print(render.paper_cycles(paper[0], args.semantics, paper[1], paper[2]))
        console.print(render.cycles(summary, per_input, rows, args.per_start or len(rows) <= 20))
    return 0


# ---- the report's cycle survey and the ledger's paper search -------------------------------------------------

def _survey_section(results: Results):
    """Brent's search from seeded random starts under the bytes the text uses most (analyses.cycle_survey).
    JSON: `cycles` = [{input, period, transient, transient_max, starts, smallest_state}], plus
    resolved_fraction, steps_per_second (kernel time only), total_steps, budget, and `command`; for the default
    model also `known`, its precomputed cycles, each re-verified in this run."""
    sv = results.get(CYCLE_SURVEY)
    cmd = sv.command(*results.source_args)
    data = sv.as_dict() | {"command": cmd}
    from satrnn.report.render_known import known_cycles_part
    known_parts, known = known_cycles_part(results)   # the default model's precomputed cycles, re-verified now
    if known is not None:
        data["known"] = known
        if known.get("failures"):
            data["failures"] = known["failures"]
    return render.cycle_survey(sv, cmd, *known_parts), data


CYCLE_SURVEY = Analysis(
    name="cycle_survey", result=CycleSurvey,
    compute=lambda results: survey(results.model, most_used_bytes(results.xs, DEFAULT_INPUTS),
                                   automaton=results.automaton("exact")),
    render=render.cycles,
    section=Section("cycles", "Cycle search", _survey_section, background=True))


def _attractor_cycles(results: Results, field):
    r = results.get(PAPER_ATTRACTORS)
    n = int(r.fixed_points_reached) + (1 if r.cycle_period else 0)
    return Measured(n, f"{r.fixed_points_reached} of 50 trials reached a fixed point within 100 steps; "
                       f"cycle period after warm-up: {r.cycle_period or 'none <= 100'}")


def _paper_attractors(results: Results) -> AttractorSearch:
    if results.xs.shape[0] <= PAPER_T:
        raise NotAvailable(f"the text has no byte x_{PAPER_T}")
    return paper_attractor_search(results.automaton("f32-seq"), int(results.xs[PAPER_T]))


PAPER_ATTRACTORS = Analysis(
    name="paper_attractors", result=AttractorSearch, compute=_paper_attractors,
    measures={"attractor_cycles": _attractor_cycles})


COMMAND = Command(
    "cycles", "cycle search of the sign automaton under a constant or periodic input", run,
    options=(o.MODEL_TEXT,
             option("--input", action="append", default=None, metavar="X",
                    help="constant input byte (65, 0x41, 'A'); repeat for several, or 'all' for 0..255"),
             option("--periodic-text", action="store_true",
                    help="input = TEXT repeated; states compared at text boundaries, periods in steps"),
             option("--starts", type=int, default=None, metavar="N",
                    help="N seeded random start states (default 16 unless --start/--from-trajectory is given)"),
             o.SEED,
             option("--start", action="append", default=None, metavar="HEX",
                    help="a start state (hex; repeatable)"),
             option("--from-trajectory", action="store_true",
                    help="start from sigma(h_t) of the float32 forward on TEXT, t = 0, stride, 2 stride, ..."),
             option("--stride", type=int, default=1, help="with --from-trajectory: every stride-th state"),
             option("--budget", type=int, default=10**6, metavar="STEPS",
                    help="detection budget per start in Boolean steps (default 1e6); beyond it a start is "
                         "reported unresolved"),
             o.SEMANTICS_OPTION, o.TIER1,
             option("--exhaustive", action="store_true",
                    help=f"enumerate all 2^(H - pins) states whose pinned neurons hold their values (at most "
                         f"{cyc.MAX_EXHAUSTIVE_H} free neurons; as satrnn landscape): every cycle and its exact "
                         "basin"),
             option("--paper", action="store_true",
                    help="q1_bool_attractor 4.3/4.4 (glibc srand(seed 42), input x_42, f32-seq) and Brent from "
                         "the same 51 starts"),
             option("--per-start", action="store_true", help="print a row per start (tables mode)"),
             o.PIN, o.JSON),
    units=(CYCLE_SURVEY, PAPER_ATTRACTORS))
