"""`satrnn factor-map MODEL TEXT`: per-neuron best offset pair and R^2 (Table 1) and the explanation ladder
(DEFINITIONS Part II 2-3; seed 003 section 3.3)."""
from __future__ import annotations

from rich.table import Table

from satrnn.analyses.factor_map import OMEGA, TARGETS, explanation_ladder, factor_map
from satrnn.analyses.offsets import VARIANTS, parse_int_list
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    add_seed_arg,
    check_float,
    check_int,
    console,
    emit_json,
    load_model_text_args,
    progress,
)
from satrnn.ledger.measures import claim_entries
from satrnn.report import render
from satrnn.rnn.forward import forward


def register(sub) -> None:
    p = sub.add_parser("factor-map", help="factor map (best offset pair per neuron, R^2, Table 1) and the "
                                          "explanation ladder in bpc and X%%")
    add_model_text_args(p)
    p.add_argument("--variant", choices=VARIANTS, default="paper",
                   help="paper: Omega = 1,8,20,3,27,2,12,7 counted back from h_t's input; corrected: Omega - 1 "
                        "(UM offsets from the predicted byte, current byte included)")
    p.add_argument("--offsets", default=None, metavar="LIST", help="override the offset list (default Omega)")
    p.add_argument("--target", choices=TARGETS, default="continuous",
                   help="continuous h_j (factor_map2.c, default) or sign(h_j) as +-1 (what seed 003 says)")
    p.add_argument("--null-perms", type=int, default=3, help="time-permutation null: permutations (0 = off)")
    add_seed_arg(p)
    p.add_argument("--gain-baseline", type=float, default=None, metavar="M",
                   help="baseline M of the program's gain%% (default: unigram entropy of TEXT)")
    p.add_argument("--no-ladder", action="store_true", help="skip the explanation ladder")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    offsets = tuple(parse_int_list("--offsets", args.offsets, 0, 1 << 20)) if args.offsets else OMEGA
    if args.variant == "corrected":
        if min(offsets) < 1:
            from satrnn.rnn.errors import SatrnnInputError
            raise SatrnnInputError("--variant corrected shifts the offsets by -1; they must all be >= 1")
        offsets = tuple(d - 1 for d in offsets)
    if len(offsets) < 2 or len(set(offsets)) != len(offsets):
        from satrnn.rnn.errors import SatrnnInputError
        raise SatrnnInputError("--offsets needs at least two distinct offsets")
    perms = check_int("--null-perms", args.null_perms, 0, 1000)
    M = None if args.gain_baseline is None else check_float("--gain-baseline", args.gain_baseline, 0.0, 8.0)
    model, xs = load_model_text_args(args)
    ladder_ok = not args.no_ladder and 1 in offsets
    with progress() as bar:
        task = bar.add_task("forward, factor map, ladder", total=3)
        fwd = forward(model, xs)
        bar.advance(task)
        fm = factor_map(model, xs, offsets=offsets, target=args.target, null_perms=perms, seed=args.seed, hs=fwd.hs)
        bar.advance(task)
        pairs = [r["pair"] for r in fm["neurons"]] if args.target == "continuous" else None
        lad = explanation_ladder(model, xs, offsets=offsets, gain_baseline=M, hs=fwd.hs, rnn_bpc=fwd.bpc,
                                 table1_pairs=pairs) if ladder_ok else None
        bar.advance(task)
    out = {"variant": args.variant, "seed": args.seed, "factor_map": fm, "ladder": lad,
           "ladder_note": None if ladder_ok else "ladder skipped (needs offset 1 in the list, or --no-ladder)",
           "claims": claim_entries(model, xs, ("factor_map", "ladder"),
                                   {"factor_map": fm} if offsets == OMEGA and args.target == "continuous" else None)[0]}
    if args.json:
        emit_json(out)
        return 0
    console.print(f"[bold]factor map[/bold] ({fm['target']} target, offsets {fm['offsets']}, window t = "
                  f"{fm['window'][0]}..{fm['window'][1]}, {fm['cells_per_pair_mean']:.0f} cells per pair on average)")
    t = Table(title="Table 1: offset pairs (label in list order)")
    for c in ("pair", "neurons", "mean R^2", "mean LOO R^2"):
        t.add_column(c, justify="right")
    for r in fm["table"]:
        t.add_row(f"({r['pair'][0]}, {r['pair'][1]})", str(r["neurons"]), f"{r['mean_r2']:.3f}",
                  f"{r['mean_r2_loo']:.3f}")
    t.add_row("All", str(len(fm["neurons"])), f"[bold]{fm['overall_mean_r2']:.3f}[/bold]",
              f"{fm['overall_mean_r2_loo']:.3f}")
    console.print(t)
    other = [r for r in fm["table_paper_shape"] if r["pair"] == "Other"]
    if other:
        o = other[0]
        console.print(f"Paper-shaped 'Other' (groups beyond the top 5): {o['neurons']} neurons, mean R^2 "
                      f"{o['mean_r2']:.3f} (mean of group means {o['mean_of_group_means']:.3f})")
    if "null" in fm:
        console.print(f"Time-permutation null (seed {fm['null']['seed']}, {fm['null']['permutations']} perms): "
                      f"mean best-pair R^2 {fm['null']['mean_best_pair_r2']:.3f}; leave-one-out mean R^2 at the "
                      f"chosen pair {fm['overall_mean_r2_loo']:.3f}")
    if lad is not None:
        t = Table(title="Explanation ladder (in-sample cell means, float32 readout)")
        for c in ("explanation", "bpc", "X% (eq. 2)", "program gain%", "LOO bpc", "LOO X%"):
            t.add_column(c, justify="right")
        for r in lad["rows"]:
            loo = "bpc_loo" in r
            t.add_row(r["explanation"], f"{r['bpc']:.3f}", f"{r['x_percent_eq2']:.1f}",
                      f"{r['program_gain_percent']:.1f}", f"{r['bpc_loo']:.3f}" if loo else "",
                      f"{r['loo_x_percent_eq2']:.1f}" if loo else "")
        console.print(t)
        b = lad["L1_table1_pairs"]
        console.print(f"L1 with the Table-1 pairs instead of (1, d2): {b['bpc']:.3f} bpc ({b['x_percent_eq2']:.1f}%); "
                      f"gain% baseline M = {lad['gain_baseline_M']:.3f} ({lad['gain_baseline_source']})")
    console.print(render.claim_entries(out["claims"]))
    return 0
