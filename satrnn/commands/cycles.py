"""`satrnn cycles MODEL [TEXT]`: cycles of the sign automaton under a fixed or periodic input (Brent's
algorithm per start, exhaustive enumeration of up to 20 free neurons, and the papers' 50-start search)."""
from __future__ import annotations

import numpy as np
from rich.table import Table

from satrnn.analyses.boolean_figures import paper_attractor_search
from satrnn.automaton import cycles as cyc
from satrnn.automaton.bitset import from_hex, pack, to_hex
from satrnn.automaton.sign import SignAutomaton
from satrnn.automaton.tier1 import auto_tier1, parse_tier1
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    add_pin_arg,
    add_seed_arg,
    add_semantics_arg,
    add_tier1_arg,
    check_int,
    console,
    emit_json,
    load_model_arg,
    load_model_text_args,
    pins_arg,
    progress,
    steps_callback,
)
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import run_states
from satrnn.rnn.text import display_byte, parse_byte
from satrnn.rnn.vocab import check_byte_in_vocab

MAX_STARTS = 1_000_000
MAX_JOBS = 10_000_000
PAPER_T = 42


def register(sub) -> None:
    p = sub.add_parser("cycles", help="cycle search of the sign automaton under a constant or periodic input")
    add_model_text_args(p)
    p.add_argument("--input", action="append", default=None, metavar="X",
                   help="constant input byte (65, 0x41, 'A'); repeat for several, or 'all' for 0..255")
    p.add_argument("--periodic-text", action="store_true",
                   help="input = TEXT repeated; states compared at text boundaries, periods in steps")
    p.add_argument("--starts", type=int, default=None, metavar="N",
                   help="N seeded random start states (default 16 unless --start/--from-trajectory is given)")
    add_seed_arg(p)
    p.add_argument("--start", action="append", default=None, metavar="HEX", help="a start state (hex; repeatable)")
    p.add_argument("--from-trajectory", action="store_true",
                   help="start from sigma(h_t) of the float32 forward on TEXT, t = 0, stride, 2 stride, ...")
    p.add_argument("--stride", type=int, default=1, help="with --from-trajectory: every stride-th state")
    p.add_argument("--budget", type=int, default=10**6, metavar="STEPS",
                   help="detection budget per start in Boolean steps (default 1e6); beyond it a start is "
                        "reported unresolved")
    add_semantics_arg(p)
    add_tier1_arg(p)
    p.add_argument("--exhaustive", action="store_true",
                   help=f"enumerate all 2^(H - pins) states whose pinned neurons hold their values (at most "
                        f"{cyc.MAX_EXHAUSTIVE_H} free neurons; as satrnn landscape): every cycle and its exact basin")
    p.add_argument("--paper", action="store_true",
                   help="q1_bool_attractor 4.3/4.4 (glibc srand(seed 42), input x_42, f32-seq) and Brent from "
                        "the same 51 starts")
    p.add_argument("--per-start", action="store_true", help="print a row per start (tables mode)")
    add_pin_arg(p)
    add_json_flag(p)
    p.set_defaults(func=run)


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


def _job_rows(search, labels, input_labels, starts, H) -> list[dict]:
    rows = []
    for jb in range(search.status.shape[0]):
        i, q = int(search.job_start[jb]), int(search.job_seq[jb])
        ok = search.status[jb] == cyc.STATUS_CYCLE
        rows.append({"start_index": i, "start_source": labels[i], "start": to_hex(starts[i], H),
                     "input": input_labels[q], "status": "cycle" if ok else "unresolved",
                     "transient": int(search.mu[jb]) if ok else None,
                     "period": int(search.lam[jb]) if ok else None,
                     "rep": search.rep_hex(jb), "steps": int(search.steps[jb])})
    return rows


def per_input_rows(search, input_labels) -> list[dict]:
    out = []
    for q, lab in enumerate(input_labels):
        sel = search.job_seq == q
        st = search.status[sel]
        reps = {search.rep_hex(jb) for jb in np.nonzero(sel)[0] if search.status[jb] == cyc.STATUS_CYCLE}
        lam = search.lam[sel][st == cyc.STATUS_CYCLE]
        mu = search.mu[sel][st == cyc.STATUS_CYCLE]
        out.append({"input": lab, "starts": int(sel.sum()), "resolved": int((st == cyc.STATUS_CYCLE).sum()),
                    "distinct_cycles": len(reps), "periods": sorted({int(v) for v in lam}),
                    "max_transient": int(mu.max()) if mu.size else None})
    return out


def label_cycle_inputs(summary, input_labels) -> dict:
    for c in summary["cycles"]:
        c["input"] = input_labels[c["input_index"]]
    return summary


def _paper(model, xs, args, budget) -> dict:
    if xs is None or xs.shape[0] <= PAPER_T:
        raise SatrnnInputError(f"--paper needs TEXT with more than {PAPER_T} bytes (input x_{PAPER_T})")
    x = int(xs[PAPER_T])
    A_paper = SignAutomaton.from_model(model, "f32-seq", tier1=args.tier1, pins=pins_arg(args, model.H))
    paper = paper_attractor_search(A_paper, x, seed=42)
    A = SignAutomaton.from_model(model, args.semantics, tier1=args.tier1, pins=pins_arg(args, model.H))
    starts = cyc.glibc_starts(model.H, 42, paper["trials"] + 1)
    search = _run_search(A, starts, np.array([[x]], dtype=np.uint8), budget, label="Brent from the paper's starts")
    labels = [f"trial {k}" for k in range(paper["trials"])] + ["cycle-detection start"]
    honest = {"semantics": args.semantics, "summary": label_cycle_inputs(cyc.summarize(search), [x]),
              "results": _job_rows(search, labels, [x], starts, model.H)}
    return {"paper_compatible": paper, "brent_same_starts": honest}


def class_lines(classes, most: int = 12) -> list[str]:
    """The paper's final-state classes, one line per class size: classes of the same size are listed together
    (50 singleton classes are one line, not 50 identical ones)."""
    groups: dict[int, list] = {}
    for c in classes:
        groups.setdefault(int(c["size"]), []).append(c)
    lines = []
    for size, cs in sorted(groups.items(), key=lambda kv: -kv[0]):
        trials = ", ".join(str(c["first_trial"]) for c in cs[:most]) + (", ..." if len(cs) > most else "")
        each = f"{size} trial{'s' if size != 1 else ''} ({cs[0]['percent']:.0f}%)"
        lines.append(f"class of trial {trials}: {each}" if len(cs) == 1 else
                     f"{len(cs)} classes of {each} each, first trials {trials}")
    return lines


def _print_paper(p):
    a = p["paper_compatible"]
    console.print(f"[bold]Paper-compatible[/bold] (q1_bool_attractor 4.3/4.4, f32-seq, srand({a['seed']}), input "
                  f"x_42 = 0x{a['input']:02x} '{display_byte(a['input'])}'):")
    console.print(f"  4.3: {a['unique_final_states']} unique final states out of {a['trials']} after "
                  f"{a['steps']} steps; fixed points reached {a['fixed_points_reached']}; mean convergence step "
                  f"{a['mean_convergence']:.1f} ({a['steps']} = never)")
    for line in class_lines(a["classes"]):
        console.print("       " + line, markup=False, highlight=False)
    per = a["cycle_period"]
    console.print(f"  4.4: period {per}" + (" (no cycle <= 100)" if per == 0 else "")
                  + f" after {a['warmup']} warm-up steps")
    b = p["brent_same_starts"]
    console.print(f"[bold]Honest version[/bold]: Brent ({b['semantics']}) from the same {len(b['results'])} starts:")
    console.print(render.cycles(b["summary"], [], b["results"], True))


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
        out["exhaustive"] = [dict(cyc.exhaustive_cycles(A, seqs[q]).as_dict(), input=input_labels[q])
                             for q in range(seqs.shape[0])]
        if args.json:
            emit_json(out)
        else:
            for e in out["exhaustive"]:
                free = f" ({e['free_neurons']} free neurons)" if pins else ""
                t = Table(title=f"All {e['states']:,} states{free}, input {render.input_label(e['input'])}: "
                                f"{e['n_cycles']} cycle(s), max depth {e['max_depth']}"
                                + (f" passes of the {e['sequence_length']}-byte sequence" if e["sequence_length"] > 1
                                   else " steps"))
                for c in ("rep", "period", "basin", "basin fraction"):
                    t.add_column(c)
                for c in e["cycles"][:40]:
                    t.add_row(c["rep"], str(c["period"]), f"{c['basin']:,}", f"{c['basin_fraction']:.4f}")
                console.print(t)
        return 0
    if args.paper:
        out["paper"] = _paper(model, xs, args, budget)
        if not seqs.shape[0]:
            if args.json:
                emit_json(out)
            else:
                _print_paper(out["paper"])
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
    out["summary"] = label_cycle_inputs(cyc.summarize(search), out["inputs"])
    out["per_input"] = per_input_rows(search, out["inputs"])
    out["results"] = _job_rows(search, labels, out["inputs"], starts, H)
    if args.json:
        emit_json(out)
    else:
        if args.paper:
            _print_paper(out["paper"])
        console.print(render.cycles(out["summary"], out["per_input"], out["results"],
                                        args.per_start or len(out["results"]) <= 20))
    return 0
