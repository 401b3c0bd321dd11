"""`satrnn knockout MODEL TEXT`: single-neuron readout knockout, cumulative removal, keep-top-k, sign-only
(DEFINITIONS 7, q3_neurons). Every bpc is exact (identical to rerunning the forward with the column zeroed)."""
from __future__ import annotations

from rich.table import Table

from satrnn.automaton.redux import ReadoutCache

from ..clikit import (add_json_flag, add_model_text_args, check_int, console, emit_json, load_model_text_args,
                      progress)
from ..knockout import PRINTED_CUMULATIVE_K, PRINTED_KEEP_K, neurons_report


def register(sub) -> None:
    p = sub.add_parser("knockout", help="readout knockout ranking, cumulative removal, keep-top-k, sign-only (q3)")
    add_model_text_args(p)
    p.add_argument("--top", type=int, default=30, help="neurons shown in the ranking table (default 30)")
    add_json_flag(p)
    p.set_defaults(func=run)


def bar(value: float, vmax: float, width: int = 24) -> str:
    """A text bar proportional to max(value, 0) / vmax; negative values get a marker."""
    if value < 0:
        return "[red]-[/red]"
    n = 0 if vmax <= 0 else round(width * value / vmax)
    return "[cyan]" + "\u2588" * n + "[/cyan]"


def run(args) -> int:
    model, xs = load_model_text_args(args)
    top = check_int("--top", args.top, 1, model.H)
    with progress() as pb:
        task = pb.add_task("forward + logits", total=4)
        cache = ReadoutCache(model, xs)
        pb.update(task, description="knockout")
        rep = neurons_report(model, xs, cache, on_stage=lambda s: (pb.update(task, description=s),
                                                                    pb.advance(task)))
    ko, cum, keep, so = rep["knockout"], rep["cumulative"], rep["keep_top_k"], rep["sign_only"]
    if args.json:
        emit_json({"baseline_bpc": rep["baseline_bpc"], "H": model.H, "predictions": rep["predictions"],
                   "exact_cell_fraction": ko["exact_cell_fraction"],
                   "knockout": {k: ko[k] for k in ("order", "rank", "bpc_ko", "delta", "wy_col_norm", "mean_abs_h",
                                                   "ties")},
                   "cumulative": cum, "keep_top_k": keep,
                   "sign_only": {k: so[k] for k in ("sd", "bpc", "order", "ties")},
                   "top_neurons": rep["top_neurons"]})
        return 0
    B = rep["baseline_bpc"]
    console.print(f"baseline [bold]{B:.4f}[/bold] bpc over {rep['predictions']:,} predictions; readout-only "
                  f"evaluation from one trajectory ({100 * ko['exact_cell_fraction']:.4f}% exact logit cells)")
    dmax = float(ko["delta"].max())
    t = Table(title="Single-neuron readout knockout (Wy column zeroed), by delta bpc", title_justify="left")
    for c in ("rank", "neuron", "bpc", "delta", "", "|Wy col|", "mean|h|"):
        t.add_column(c, justify="left" if c == "" else "right")
    for r, j in enumerate(ko["order"][:top]):
        d = float(ko["delta"][j])
        t.add_row(str(r), f"h{j}", f"{ko['bpc_ko'][j]:.4f}", f"{d:+.4f}", bar(d, dmax),
                  f"{ko['wy_col_norm'][j]:.2f}", f"{ko['mean_abs_h'][j]:.3f}")
    console.print(t)
    console.print("ties in the ranking: " + (", ".join(str(g) for g in ko["ties"]) if ko["ties"] else "none"))
    t = Table(title="Top neurons: promoted / demoted output bytes (largest / smallest Wy)", title_justify="left")
    for c in ("neuron", "promotes", "demotes"):
        t.add_column(c)
    for row in rep["top_neurons"]:
        t.add_row(f"h{row['neuron']}", " ".join(repr(x["char"]) for x in row["promotes"]),
                  " ".join(repr(x["char"]) for x in row["demotes"]))
    console.print(t)
    t = Table(title="Cumulative removal (top k columns zeroed) and keep-top-k", title_justify="left")
    for c in ("k", "removed: bpc", "delta", "kept: bpc", "% of gain (8 bit)", "% of gain (unigram)"):
        t.add_column(c, justify="right")
    for k in sorted(set(PRINTED_CUMULATIVE_K) | set(PRINTED_KEEP_K)):
        if k > model.H:
            continue
        t.add_row(str(k), f"{cum['bpc'][k]:.4f}", f"{cum['delta'][k]:+.4f}",
                  f"{keep['bpc'][k]:.4f}" if k else "", f"{keep['pct_of_gain'][k]:.1f}%" if k else "",
                  f"{keep['pct_of_gain_unigram'][k]:.1f}%" if k else "")
    console.print(t)
    t = Table(title="Per-neuron sign-only readout (h_j -> sign), by |delta|", title_justify="left")
    for c in ("neuron", "bpc", "delta", "knockout rank"):
        t.add_column(c, justify="right")
    for j in so["order"][:20]:
        t.add_row(f"h{j}", f"{so['bpc'][j]:.4f}", f"{so['sd'][j]:+.4f}", str(int(ko["rank"][j])))
    console.print(t)
    return 0
