"""`satrnn redux MODEL TEXT`: evaluate a reduced model (kept readout neurons, pruned Wh/Wx), emit the
genuinely smaller model, or run the q5 sweeps (DEFINITIONS 8)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from satrnn import options as o
from satrnn.analyses.knockout import evaluate_redux, neuron_knockout, parse_keep, redux_report
from satrnn.automaton.redux import ReadoutCache, Redux
from satrnn.clikit import (
    check_float,
    check_int,
    check_writable,
    console,
    emit_json,
    load_model_text_args,
    progress,
)
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import save_model
from satrnn.unit import Arguments, Command, option


def _strictness(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--strict", dest="strict", action="store_true", default=True,
                   help="prune |w| < T (default; the papers' rule)")
    g.add_argument("--non-strict", dest="strict", action="store_false", help="prune |w| <= T")


def run(args) -> int:
    for name in ("wh_threshold", "wx_threshold"):
        v = getattr(args, name)
        if v is not None:
            check_float("--" + name.replace("_", "-"), v, 0.0)
    if args.out is not None:
        if Path(args.out).suffix.lower() not in (".npz", ".bin"):
            raise SatrnnInputError(f"--out {args.out}: use a .npz (keeps the neuron id map) or .bin file name")
        check_writable(args.out)
    model, xs = load_model_text_args(args)
    if args.keep_top is not None:
        check_int("--keep-top", args.keep_top, 0, model.H)
    with progress() as pb:
        task = pb.add_task("forward + logits", total=None)
        cache = ReadoutCache(model, xs)
        pb.update(task, description="knockout ranking")
        ko = neuron_knockout(model, xs, cache)
        if args.sweep:
            pb.update(task, description="q5 sweeps", total=50, completed=0)
            rep = redux_report(model, xs, cache, knockout=ko, on_done=lambda k: pb.update(task, completed=k))
    if args.sweep:
        if args.json:
            emit_json(rep)
        else:
            console.print(render.redux_sweep(rep))
        return 0
    keep = parse_keep(args.keep, ko.order, args.keep_top, model.H)
    r = Redux(keep=keep, wh_threshold=args.wh_threshold, wx_threshold=args.wx_threshold, strict=args.strict)
    ev = evaluate_redux(model, xs, r, cache, ranking_ties=ko.ties, rerun_small=args.out is not None)
    if args.out is not None:
        save_model(ev.small, args.out)
        ev = replace(ev, out=args.out)
    if args.json:
        emit_json(ev)
        return 0
    console.print(render.redux(ev, model.H, model.Wh.size, model.Wx.size))
    return 0


COMMAND = Command(
    "redux", "evaluate / shrink a reduced model, or --sweep the q5 pruning grids", run,
    options=(o.MODEL_TEXT,
             option("--keep-top", type=int, default=None, metavar="K",
                    help="keep the Wy columns of the top K neurons of the knockout ranking (others zeroed)"),
             option("--keep", default=None, metavar="IDS", help="also keep these neurons' readout (e.g. '8,56,h68')"),
             option("--wh-threshold", type=float, default=None, metavar="T", help="zero Wh entries with |w| < T"),
             option("--wx-threshold", type=float, default=None, metavar="T", help="zero Wx entries with |w| < T"),
             Arguments(_strictness),
             o.OUT.but(metavar="SMALL.npz",
                       help="save the smaller model (neurons that can no longer affect the output dropped)"),
             option("--sweep", action="store_true", help="run the q5 grids (Wh, Wx, combined top-k x theta)"),
             o.JSON))
