"""`satrnn offsets MODEL TEXT`: Q2 depth sensitivity of the sign pattern (DEFINITIONS 6, q2_offsets)."""
from __future__ import annotations

from rich.table import Table

from satrnn.analyses.offsets import Q2_MAX_DEPTH, Q2_POSITIONS, VARIANTS, flip_column_check, parse_int_list, q2_offsets
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    check_int,
    console,
    emit_json,
    load_model_text_args,
    progress,
)
from satrnn.ledger.measures import claim_entries
from satrnn.report import render
from satrnn.rnn.forward import run_states

# the ledger's measurements that read q2_offsets (their claims are shown with the command's output)
MEASURES_Q2 = ("offset_hist_pct", "offset_mode", "mi_greedy_pct")


def register(sub) -> None:
    p = sub.add_parser("offsets", help="Q2: which input depths flip the hidden sign pattern (q2_offsets)")
    add_model_text_args(p)
    p.add_argument("--variant", choices=VARIANTS, default="paper",
                   help="paper: depth d flips x_{t-d} (q2's off-by-one, d+1 before the predicted byte); "
                        "corrected: d flips x_{t-d+1} (distance d to the predicted byte, the q7 convention)")
    p.add_argument("--positions", default=",".join(map(str, Q2_POSITIONS)), metavar="LIST",
                   help="test positions t (comma list; default the paper's 13; t >= len-1 are dropped)")
    p.add_argument("--max-depth", type=int, default=Q2_MAX_DEPTH, help="depths 1..N (default 30)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    positions = parse_int_list("--positions", args.positions)
    depth = check_int("--max-depth", args.max_depth, 1, 10_000)
    model, xs = load_model_text_args(args)
    with progress() as bar:
        task = bar.add_task("states + perturbed re-runs", total=2)
        hs, _ = run_states(model, xs)
        bar.advance(task)
        r = q2_offsets(model, xs, positions=positions, max_depth=depth, variant=args.variant, hs=hs)
        bar.advance(task)
    r["flip_check"] = flip_column_check(model, xs)
    default = list(positions) == list(Q2_POSITIONS) and depth == Q2_MAX_DEPTH
    r["claims"], _ = claim_entries(model, xs, MEASURES_Q2,
                                   {"q2" if args.variant == "paper" else "q2_corrected": r} if default else None)
    r.pop("N")  # the per-(t, d, j) change tensor is too large for JSON
    S = r.pop("S")
    if args.json:
        r["per_depth_S"] = S
        emit_json(r)
        return 0
    console.print(f"[bold]q2_offsets[/bold] ({r['variant']}: {r['flip_convention']}), "
                  f"{len(r['positions'])} positions, depths 1..{r['max_depth']}, {r['n_bytes']:,} bytes")
    t = Table(title="Depth profile")
    for c in ("d", "pairs", "mean sign changes", "mean output KL (bits)"):
        t.add_column(c, justify="right")
    for row in r["depth_profile"]:
        t.add_row(str(row["d"]), str(row["pairs"]), _f(row["mean_sign_changes"], 2), _f(row["mean_output_kl_bits"], 4))
    console.print(t)
    t = Table(title="Per-neuron dominant offsets (rows printed by the paper: j < 20 or dom > 5)")
    for c in ("neuron", "dom", "total", "d=1", "N_j(1..10)"):
        t.add_column(c, justify="right")
    for nr in r["neurons"]:
        if nr["printed_by_paper"]:
            t.add_row(f"h{nr['neuron']}", str(nr["dom_offset"]), str(nr["total_changes"]), str(nr["changes_at_d1"]),
                      " ".join(f"{v:2d}" for v in nr["profile"]))
    console.print(t)
    t = Table(title="Dominant offset histogram")
    for c in ("d", "count", "%"):
        t.add_column(c, justify="right")
    for h in r["offset_histogram"]:
        if h["count"]:
            t.add_row(str(h["d"]), str(h["count"]), f"{h['percent']:.1f}")
    console.print(t)
    g = r["mi_greedy"]
    console.print("MI-greedy offsets " + ", ".join(f"d={x['d']}: {x['mean']:.2f}/pos ({x['percent']:.1f}%)"
                                                    for x in g["rows"])
                  + f"; total [bold]{g['total_percent']:.1f}%[/bold]")
    fm = r["factor_map_pair"]
    console.print(f"Factor-map pair: d=1 {fm['d1_percent']:.1f}%, d=7 {fm['d7_percent']:.1f}%, "
                  f"total {fm['total_percent']:.1f}%")
    fc = r["flip_check"]
    console.print(f"Flip check (0.7): {fc['flipped_bytes_occurring_in_text']} flipped bytes occur in the text; "
                  f"mean |Wx column| occurring {fc['mean_wx_norm_occurring']:.3f} vs flipped "
                  f"{_f(fc['mean_wx_norm_flipped_absent'], 3)}")
    console.print(render.claim_entries(r["claims"]))
    return 0


def _f(v, k):
    return "-" if v is None else f"{v:.{k}f}"
