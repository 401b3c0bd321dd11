"""`satrnn knockout MODEL TEXT`: single-neuron readout knockout, cumulative removal, keep-top-k, sign-only
(DEFINITIONS 7, q3_neurons). Every bpc is exact (identical to rerunning the forward with the column zeroed)."""
from __future__ import annotations

from satrnn.analyses.knockout import neurons_report
from satrnn.automaton.redux import ReadoutCache
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    check_int,
    console,
    emit_json,
    load_model_text_args,
    progress,
)
from satrnn.report import render


def register(sub) -> None:
    p = sub.add_parser("knockout", help="readout knockout ranking, cumulative removal, keep-top-k, sign-only (q3)")
    add_model_text_args(p)
    p.add_argument("--top", type=int, default=30, help="neurons shown in the ranking table (default 30)")
    add_json_flag(p)
    p.set_defaults(func=run)


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
                   "exact_cell_fraction": ko.exact_cell_fraction, "knockout": ko.to_json(),
                   "cumulative": cum, "keep_top_k": keep,
                   "sign_only": {k: so[k] for k in ("sd", "bpc", "order", "ties")},
                   "top_neurons": rep["top_neurons"]})
        return 0
    console.print(render.knockout(rep, top))
    return 0
