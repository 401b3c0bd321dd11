"""`satrnn carrier MODEL TEXT`: carrier/pattern decomposition (seed 003 section 5)."""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from satrnn.analyses.carrier import ALIGN, BYTESETS, REPLACE, TARGETS, carrier_decomposition
from satrnn.clikit import add_json_flag, add_model_text_args, check_int, console, emit_json, load_model_text_args


def register(sub) -> None:
    p = sub.add_parser("carrier", help="carrier/pattern decomposition: pattern-sensitive neurons, carrier-only "
                                       "bpc, influence by offset, output decomposition (seed 003 s5)")
    add_model_text_args(p)
    p.add_argument("--byteset", choices=BYTESETS, default="all",
                   help="bytes v in the pattern-sensitivity test (all 256, or those occurring in TEXT)")
    p.add_argument("--replace", choices=REPLACE, default="sensitive",
                   help="carrier-only state: replace pattern-sensitive neurons (default) or all by tanh(carrier)")
    p.add_argument("--alignment", choices=ALIGN, default="same",
                   help="eq. 6: delta_s = h_s - tanh(c_s) (same, default) or the literal h_{s+1} in our indexing")
    p.add_argument("--target", choices=TARGETS, default="logit",
                   help="gradient of the correct byte's logit (default, eq. 7) or of its log-probability")
    p.add_argument("--depth", type=int, default=50, help="offsets d = 0..depth-1 (default 50)")
    p.add_argument("--t2-first", type=int, default=0, help="first position of Table 2 (default 0)")
    p.add_argument("--t3-first", type=int, default=None, help="first position of Table 3 (default 50, or 0 "
                   "for texts too short)")
    p.add_argument("--t-last", type=int, default=None, help="last position of both tables (default n-2)")
    p.add_argument("--example", type=int, default=None,
                   help="position of the output decomposition (default 29, skipped if the text is shorter)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    depth = check_int("--depth", args.depth, 1, 1000)
    model, xs = load_model_text_args(args)
    m = xs.shape[0] - 1
    last = m - 1 if args.t_last is None else check_int("--t-last", args.t_last, 0, m - 1)
    t2 = (check_int("--t2-first", args.t2_first, 0, last), last)
    t3_first = min(50, last) if args.t3_first is None else check_int("--t3-first", args.t3_first, 0, last)
    t3 = (t3_first, last)
    ex = (29 if 29 <= m - 1 else -1) if args.example is None else check_int("--example", args.example, 0, m - 1)
    out = carrier_decomposition(model, xs, byteset=args.byteset, replace=args.replace, alignment=args.alignment,
                                target=args.target, depth=depth, table2_positions=t2, table3_positions=t3,
                                example_t=ex)
    if args.json:
        emit_json(out)
        return 0
    t2r = out["table2"]
    console.print(f"[bold]Carrier/pattern decomposition[/bold] "
                  f"({', '.join(f'{k}={v}' for k, v in out['choices'].items())})")
    t = Table(title=f"Table 2: t = {t2r['positions'][0]}..{t2r['positions'][1]} ({t2r['count']} positions)")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("mean pattern-sensitive neurons", f"{t2r['mean_pattern_sensitive']:.2f} / {model.H} "
              f"({100 * t2r['fraction_pattern_sensitive']:.1f}%)")
    t.add_row("mean carrier-determined neurons", f"{t2r['mean_carrier_determined']:.2f}")
    t.add_row("actual bpc", f"{t2r['actual_bpc']:.4f}")
    t.add_row("carrier-only bpc", f"{t2r['carrier_only_bpc']:.4f}")
    t.add_row("pattern gain (bpc)", f"{t2r['pattern_gain']:.4f}")
    bif = t2r["byte_identity_fraction"]
    t.add_row("byte-identity fraction", "-" if bif is None else f"{100 * bif:.1f}%")
    t.add_row("top pattern-sensitive",
              ", ".join(f"h{r['neuron']} ({r['positions']})" for r in t2r["top_sensitive"][:6]))
    console.print(t)
    t3r = out["table3"]
    t = Table(title=f"Table 3: influence by offset, t = {t3r['positions'][0]}..{t3r['positions'][1]}")
    for c in ("d", "signed", "unsigned", "|grad|", "decay"):
        t.add_column(c, justify="right")
    fmt = lambda v, f: "-" if v is None else format(v, f)
    for r in t3r["rows"]:
        if r["d"] < 5 or r["d"] % 5 == 0:
            t.add_row(str(r["d"]), fmt(r["signed"], "+.3f"), fmt(r["unsigned"], ".3f"), fmt(r["grad_norm"], ".2f"),
                      fmt(r["decay"], ".3f"))
    for g in t3r["groups"]:
        t.add_row(f"{g['d'][0]}-{g['d'][1]}", fmt(g["signed"], "+.3f"), fmt(g["unsigned"], ".3f"),
                  fmt(g["grad_norm"], ".2f"), fmt(g["decay"], ".3f"))
    console.print(t)
    d = out["decomposition"]
    if d:
        wb = d["with_bias"]
        console.print(f"Output decomposition at t = {d['t']} ({escape(repr(d['input_char']))} -> "
                      f"{escape(repr(d['target_char']))}): logit "
                      f"{wb['total']:+.2f} = carrier {wb['carrier']:+.2f} ({100 * wb['carrier_fraction']:.1f}%) + "
                      f"pattern {wb['pattern']:+.2f} (by\\[y] = {d['bias']:+.2f} included); carrier-only cost "
                      f"{d['carrier_only_bits']:.4f} bits; top " + ", ".join(
                          f"h{n['neuron']} ({n['wy_dh']:+.2f})" for n in d["top_neurons"][:3]))
    for note in out["notes"]:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    return 0
