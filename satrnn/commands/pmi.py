"""`satrnn pmi MODEL TEXT`: Q7 data PMI by offset and its alignment with the RNN's flip sensitivity
(DEFINITIONS 10 q7_algebraic, 11 q7_higher_order). `satrnn pmi --data-only TEXT` needs no model."""
from __future__ import annotations

from rich.table import Table

from satrnn.analyses.offsets import VARIANTS, parse_int_list
from satrnn.analyses.pmi import (
    Q7_ALGEBRAIC_POSITIONS,
    Q7_MAX_OFFSET,
    TOP_PMI_MAX_OFFSET,
    q7_algebraic,
    q7_higher_order,
    top_pmi_per_offset,
)
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


def register(sub) -> None:
    p = sub.add_parser("pmi", help="Q7: skip-bigram PMI of the data vs the RNN's input-flip sensitivity")
    add_model_text_args(p)
    p.add_argument("--variant", choices=VARIANTS, default="paper",
                   help="higher-order 'trigram' pair normalisation: paper n-1 (inconsistent) or corrected n-d "
                        "(the corrected run also reports totals over d >= 2, where the trigram is defined)")
    p.add_argument("--positions", default=",".join(map(str, Q7_ALGEBRAIC_POSITIONS)), metavar="LIST",
                   help="q7_algebraic test positions (default the paper's 8)")
    p.add_argument("--max-offset", type=int, default=Q7_MAX_OFFSET, help="offsets 1..N (default 20)")
    p.add_argument("--stride", type=int, default=4, help="higher-order positions t = 30, 30+stride, ... (default 4)")
    p.add_argument("--data-only", action="store_true",
                   help="only the data PMI table (no RNN re-runs); then TEXT alone is enough")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    positions = parse_int_list("--positions", args.positions)
    D = check_int("--max-offset", args.max_offset, 1, 1000)
    stride = check_int("--stride", args.stride, 1, 1 << 30)
    if args.data_only and args.model is not None and args.text is None:
        from satrnn.rnn.text import load_text  # `satrnn pmi --data-only TEXT`: no model needed
        model, xs = None, load_text(args.model, max_bytes=args.max_bytes)
    else:
        model, xs = load_model_text_args(args)
    if not args.data_only and not any(0 <= t < xs.shape[0] - 2 for t in positions):
        from satrnn.rnn.errors import SatrnnInputError
        raise SatrnnInputError(f"no --positions value lies in 0..{xs.shape[0] - 3} (text has {xs.shape[0]} bytes); "
                               "give --positions or --data-only")
    out = {"top_pmi": top_pmi_per_offset(xs, min(TOP_PMI_MAX_OFFSET, D, xs.shape[0] - 1))}
    alg = ho = None
    if not args.data_only:
        with progress() as bar:
            task = bar.add_task("flip re-runs (q7_algebraic, q7_higher_order)", total=3)
            hs, _ = run_states(model, xs)
            bar.advance(task)
            alg = q7_algebraic(model, xs, positions=positions, max_offset=D, hs=hs)
            bar.advance(task)
            ho = q7_higher_order(model, xs, max_offset=D, variant=args.variant, hs=hs,
                                 positions=range(30, max(30, xs.shape[0] - 2), stride))
            bar.advance(task)
        out["q7_algebraic"] = alg
        out["q7_higher_order"] = ho
    out["claims"] = []
    if alg is not None:
        default = list(positions) == list(Q7_ALGEBRAIC_POSITIONS) and D == Q7_MAX_OFFSET
        out["claims"], _ = claim_entries(model, xs, ("pmi_aligned",), {"q7": alg} if default else None)
    if args.json:
        emit_json(out)
        return 0
    t = Table(title="Top skip-bigram PMI per offset (ties -> smallest (x, y))")
    for c in ("d", "x", "y", "PMI", "J_d", "tied cells"):
        t.add_column(c, justify="right")
    for r in out["top_pmi"]:
        if r["x"] is not None:
            t.add_row(str(r["d"]), repr(r["x_char"]), repr(r["y_char"]), f"{r['pmi']:.2f}", str(r["joint"]),
                      str(r["ties"]))
    console.print(t)
    if alg is not None:
        t = Table(title=f"q7_algebraic: flip attribution vs PMI > 0.5 ({len(alg['positions'])} positions)")
        for c in ("d", "sum |delta| (A)", "aligned (B)", "aligned %"):
            t.add_column(c, justify="right")
        for r in alg["rows"]:
            t.add_row(str(r["d"]), f"{r['A']:.3f}", f"{r['B']:.3f}", f"{r['aligned_percent']:.1f}")
        tot = alg["total"]
        t.add_row("total", f"{tot['A']:.3f}", f"{tot['B']:.3f}", f"[bold]{tot['aligned_percent']:.1f}[/bold]")
        console.print(t)
        console.print(f"signed agreement (corrected: flip raises cost AND PMI > 0.5): "
                      f"{alg['signed_aligned_percent_corrected']:.1f}%")
        t = Table(title=f"q7_higher_order ({ho['variant']}, {ho['n_positions']} positions)")
        for c in ("d", "R_d", "bigram %", "trigram %"):
            t.add_column(c, justify="right")
        for r in ho["rows"]:
            t.add_row(str(r["d"]), f"{r['rnn_sensitivity']:.3f}", f"{r['bigram_aligned_percent']:.1f}",
                      f"{r['trigram_aligned_percent']:.1f}")
        tot = ho["total"]
        t.add_row("total", f"{tot['rnn_sensitivity']:.3f}", f"{tot['bigram_aligned_percent']:.1f}",
                  f"{tot['trigram_aligned_percent']:.1f}")
        console.print(t)
        console.print(f"Improvement (trigram - bigram): [bold]{tot['improvement_points']:+.2f}[/bold] points")
        if "total_d2_plus" in ho:
            t2 = ho["total_d2_plus"]
            console.print(f"over d >= 2 only: bigram {t2['bigram_aligned_percent']:.1f}%, trigram "
                          f"{t2['trigram_aligned_percent']:.1f}%, improvement {t2['improvement_points']:+.2f} points")
    if out["claims"]:
        console.print(render.claim_entries(out["claims"]))
    return 0
