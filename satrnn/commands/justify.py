"""`satrnn justify MODEL TEXT [--positions ...]`: Q6 justification chains (DEFINITIONS 9) + backbone counts."""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from satrnn.analyses.justify import POSITIONS, q6_justify
from satrnn.clikit import add_json_flag, add_model_text_args, console, emit_json, load_model_text_args


def register(sub) -> None:
    p = sub.add_parser("justify", help="Q6: per-position justification chains (top neurons by readout "
                                       "negation, their top Wh inputs, a second hop) and backbone counts")
    add_model_text_args(p)
    p.add_argument("--positions", type=int, nargs="+", default=list(POSITIONS), metavar="T",
                   help="positions t (kept if t < n-2, as q6_justify does); default the program's 12")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    model, xs = load_model_text_args(args)
    out = q6_justify(model, xs, args.positions)
    if args.json:
        emit_json(out)
        return 0
    for c in out["chains"]:
        j = c["justification"]
        verdict = "[green]CORRECT[/green]" if j["correct"] else (
            f"[red]wrong[/red], true {escape(repr(c['target_char']))} P = {j['true_p']:.4f}")
        console.print(f"[bold]t = {c['t']}[/bold] context {escape(repr(c['context']))} -> "
                      f"{escape(repr(c['target_char']))}: P(true) = {c['p_true']:.4f}, {c['bits']:.3f} bits; predicts "
                      f"{escape(repr(j['predicted_char']))} with P = {j['p']:.3f} ({j['surprisal_bits']:.1f} bits) "
                      f"{verdict}; driven by h{j['driven_by']} (delta {j['delta']:+.3f}, {j['label']})")
        console.print("  top predictions: "
                      + escape(", ".join(f"{p['char']!r} {p['p']:.3f}" for p in c["top_predictions"])))
        t = Table(show_header=True, box=None, pad_edge=False)
        for col in ("neuron", "sign", "Wy*h", "delta bits", "z", "bias", "Wx[x_t]", "top Wh", "second hop"):
            t.add_column(col, justify="right")
        for e in c["neurons"]:
            tw = " ".join(f"h{w['k']}({w['c']:+.1f})" for w in e.get("top_wh", []))
            sh = e.get("second_hop")
            shs = f"h{sh['neuron']} z={sh['z']:.1f} <- h{sh['top_source']}({sh['c']:+.1f})" if sh else "-"
            t.add_row(f"h{e['neuron']}", f"{e['sign']:+d}", f"{e['contrib']:+.3f}", f"{e['delta']:+.3f}",
                      f"{e['z']:.1f}" if "z" in e else "-", f"{e['bias']:+.2f}" if "bias" in e else "-",
                      f"{e['wx']:+.2f}" if "wx" in e else "-", tw or "-", shs)
        console.print(t)
    b = out["backbone"]
    console.print(f"[bold]Backbone counts over {b['positions']} positions[/bold]: rank-1 ('driven by') "
                  + ", ".join(f"h{r['neuron']} {r['count']}" for r in b["rank1"][:6])
                  + "; in top 5: " + ", ".join(f"h{r['neuron']} {r['count']}" for r in b["top5"][:6])
                  + "; rank-1 first Wh source: "
                  + ", ".join(f"h{r['neuron']} {r['count']}" for r in b["rank1_first_source"][:4]))
    if out["dropped"]:
        console.print(f"dropped (t >= n-2): {out['dropped']}")
    for note in out["notes"]:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    return 0
