"""`satrnn redux MODEL TEXT`: evaluate a reduced model (kept readout neurons, pruned Wh/Wx), emit the
genuinely smaller model, or run the q5 sweeps (DEFINITIONS 8)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.table import Table

from satrnn.analyses.knockout import neuron_knockout, parse_keep, redux_report
from satrnn.automaton.redux import ReadoutCache, Redux, evaluate, live_neurons, shrink
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    check_float,
    check_int,
    check_writable,
    console,
    declare_outputs,
    emit_json,
    load_model_text_args,
    progress,
)
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.rnn.model import save_model


def register(sub) -> None:
    p = sub.add_parser("redux", help="evaluate / shrink a reduced model, or --sweep the q5 pruning grids")
    add_model_text_args(p)
    p.add_argument("--keep-top", type=int, default=None, metavar="K",
                   help="keep the Wy columns of the top K neurons of the knockout ranking (others zeroed)")
    p.add_argument("--keep", default=None, metavar="IDS", help="also keep these neurons' readout (e.g. '8,56,h68')")
    p.add_argument("--wh-threshold", type=float, default=None, metavar="T", help="zero Wh entries with |w| < T")
    p.add_argument("--wx-threshold", type=float, default=None, metavar="T", help="zero Wx entries with |w| < T")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--strict", dest="strict", action="store_true", default=True,
                   help="prune |w| < T (default; the papers' rule)")
    g.add_argument("--non-strict", dest="strict", action="store_false", help="prune |w| <= T")
    p.add_argument("--out", default=None, metavar="SMALL.npz",
                   help="save the smaller model (neurons that can no longer affect the output dropped)")
    p.add_argument("--sweep", action="store_true", help="run the q5 grids (Wh, Wx, combined top-k x theta)")
    declare_outputs(p, "out")
    add_json_flag(p)
    p.set_defaults(func=run)


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
            rep = redux_report(model, xs, cache, order=ko.order, on_done=lambda k: pb.update(task, completed=k))
            rep["ties"] = ko.ties
            rep["knockout_top10"] = [{"neuron": int(j), "delta": float(ko.delta[j])} for j in ko.order[:10]]
    if args.sweep:
        return _print_sweep(rep, args.json)
    keep = parse_keep(args.keep, ko.order, args.keep_top, model.H)
    r = Redux(keep=keep, wh_threshold=args.wh_threshold, wx_threshold=args.wx_threshold, strict=args.strict)
    bpc = evaluate(model, xs, r, cache=cache)
    small = shrink(model, r)
    out = {"baseline_bpc": cache.baseline, "bpc": bpc, "delta": bpc - cache.baseline, "redux": r.describe(model),
           "params": r.param_count(model), "live_neurons": [int(j) for j in live_neurons(model, r)],
           "small_model": {"H": small.H, "stored_params": small.n_params,
                           "nonzero_params": int(sum(np.count_nonzero(a) for a in small.arrays().values()))},
           "ranking_ties": ko.ties}
    if args.out is not None:
        small_bpc = forward(small, xs).bpc
        if small_bpc != bpc:  # an invariant of shrink(); never expected
            raise RuntimeError(f"small model bpc {small_bpc!r} differs from masked bpc {bpc!r}")
        save_model(small, args.out)
        out["out"] = args.out
        out["small_model"]["bpc"] = small_bpc
    if args.json:
        emit_json(out)
        return 0
    d = out["redux"]
    console.print(f"redux: {d['n_kept_readout']} readout neuron(s) kept, Wh kept {d['wh_kept']:,}/{model.Wh.size:,}, "
                  f"Wx kept {d['wx_kept']:,}/{model.Wx.size:,} ({'strict |w| < T' if args.strict else '|w| <= T'})")
    console.print(f"bpc [bold]{bpc:.4f}[/bold] (baseline {cache.baseline:.4f}, delta {bpc - cache.baseline:+.4f})")
    p = out["params"]
    console.print(f"parameters (paper's count: Wx + kept Wh + bh + 256 k + by): {p['total']:,} "
                  f"({p['pct_of_full']:.1f}% of {p['full']:,})")
    s = out["small_model"]
    console.print(f"smaller model: H = {s['H']} live neuron(s), {s['stored_params']:,} stored parameters, "
                  f"{s['nonzero_params']:,} non-zero")
    if args.out is not None:
        console.print(f"wrote {args.out}; its bpc {s['bpc']:.6f} equals the masked evaluation")
    return 0


def _print_sweep(rep: dict, as_json: bool) -> int:
    if as_json:
        emit_json(rep)
        return 0
    B = rep["baseline_bpc"]
    console.print(f"baseline [bold]{B:.4f}[/bold] bpc; ranking ties: {rep['ties'] or 'none'}")
    for name, title in (("wh_pruning", "Wh pruning (|w| < theta zeroed)"),
                        ("wx_pruning", "Wx pruning (|w| < theta zeroed)")):
        t = Table(title=title, title_justify="left")
        for c in ("theta", "zeroed", "% zeroed", "bpc", "delta"):
            t.add_column(c, justify="right")
        for r in rep[name]:
            t.add_row(f"{r['theta']:.1f}", f"{r['n_zeroed']:,}", f"{r['pct_zeroed']:.1f}", f"{r['bpc']:.4f}",
                      f"{r['delta']:+.4f}")
        console.print(t)
    t = Table(title="Combined: keep top k readout neurons x Wh pruning", title_justify="left")
    for c in ("k", "theta", "Wy kept %", "Wh kept", "Wh kept %", "bpc", "delta", "params"):
        t.add_column(c, justify="right")
    for r in rep["combined"]:
        t.add_row(str(r["k"]), f"{r['theta']:.1f}", f"{r['wy_pct_kept']:.1f}", f"{r['wh_kept']:,}",
                  f"{r['wh_pct_kept']:.1f}", f"{r['bpc']:.4f}", f"{r['delta']:+.4f}", f"{r['params']:,}")
    console.print(t)
    t = Table(title="Seed 001 minimal-model configurations (measured)", title_justify="left")
    for c in ("configuration", "bpc", "delta", "params (8.4 rule)", "live neurons", "shrunk non-zero params"):
        t.add_column(c, justify="right")
    for r in rep["synthesis"]:
        t.add_row(r["label"], f"{r['bpc']:.4f}", f"{r['delta']:+.4f}", f"{r['params']:,}", str(r["live_neurons"]),
                  f"{r['shrunk_params_nonzero']:,}")
    console.print(t)
    w = rep["weight_distribution"]
    console.print("|Wh| distribution: " + ", ".join(f"p{p} {v:.4f}" for p, v in w["percentiles"].items())
                  + f", min {w['min']:.2e}, max {w['max']:.4f}, mean {w['mean']:.4f}")
    p = rep["param_count"]
    console.print(f"redux parameter count (k = {p['k']}, theta = {p['theta']}): {p['total']:,} of {p['full']:,} "
                  f"({p['pct_of_full']:.1f}%): Wx {p['Wx']:,}, Wh {p['Wh']:,}, bh {p['bh']}, Wy {p['Wy']:,}, "
                  f"by {p['by']}")
    return 0
