"""`satrnn factor-map MODEL TEXT`: per-neuron best offset pair and R^2 (Table 1) and the explanation ladder
(DEFINITIONS Part II 2-3; seed 003 section 3.3).

Two units: the factor map (`analyses.factor_map.factor_map` -> `FactorMap`, measurement factor_map) and the
explanation ladder (`explanation_ladder` -> `ExplanationLadder`, measurement ladder), both drawn by
`render.factor_map`; the command shows their claims under its output."""
from __future__ import annotations

import numpy as np

from satrnn import options as o
from satrnn.analyses.factor_map import OMEGA, TARGETS, ExplanationLadder, FactorMap, explanation_ladder, factor_map
from satrnn.analyses.offsets import VARIANTS, parse_int_list
from satrnn.cache import Results
from satrnn.clikit import check_float, check_int, console, emit_json, load_model_text_args, progress
from satrnn.ledger.claims import NotAvailable
from satrnn.ledger.measures import claim_entries, row_where
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.unit import Analysis, Command, option


def _factor_map(results: Results, pair, field, exclude=()):
    r = results.get(FACTOR_MAP)
    if pair == "all":
        if field == "r2":
            return float(r.overall_mean_r2)
        return len(r.neurons)
    if pair == "other":
        ex = {tuple(sorted(p)) for p in exclude}
        sel = [n for n in r.neurons if tuple(sorted(n.pair)) not in ex]
    else:
        sel = [n for n in r.neurons if tuple(sorted(n.pair)) == tuple(sorted(pair))]
    if field == "neurons":
        return len(sel)
    if not sel:
        raise NotAvailable("no neuron has this pair, so its mean R^2 is undefined")
    return float(np.mean([n.r2 for n in sel]))


def _ladder(results: Results, level, field):
    levels = {"l1": "L1", "l2": "L2", "l3": "L3", "uniform": "uniform", "rnn": "rnn"}
    r = row_where(results.get(LADDER).rows, "level", levels[level], "explanation ladder")
    return float(r.bpc if field == "bpc" else r.x_percent_eq2)


FACTOR_MAP = Analysis(
    name="factor_map", result=FactorMap,
    compute=lambda results: factor_map(results.model, results.xs, hs=results.fwd.hs),
    render=render.factor_map,
    options=(option("--variant", choices=VARIANTS, default="paper",
                    help="paper: Omega = 1,8,20,3,27,2,12,7 counted back from h_t's input; corrected: Omega - 1 "
                         "(UM offsets from the predicted byte, current byte included)"),
             option("--offsets", default=None, metavar="LIST", help="override the offset list (default Omega)"),
             option("--target", choices=TARGETS, default="continuous",
                    help="continuous h_j (factor_map2.c, default) or sign(h_j) as +-1 (what seed 003 says)"),
             option("--null-perms", type=int, default=3, help="time-permutation null: permutations (0 = off)"),
             o.SEED),
    measures={"factor_map": _factor_map})

LADDER = Analysis(
    name="ladder", result=ExplanationLadder,
    compute=lambda results: explanation_ladder(results.model, results.xs, hs=results.fwd.hs,
                                               rnn_bpc=results.fwd.bpc),
    render=render.ladder,
    options=(option("--gain-baseline", type=float, default=None, metavar="M",
                    help="baseline M of the program's gain%% (default: unigram entropy of TEXT)"),
             option("--no-ladder", action="store_true", help="skip the explanation ladder")),
    measures={"ladder": _ladder})


def run(args) -> int:
    offsets = tuple(parse_int_list("--offsets", args.offsets, 0, 1 << 20)) if args.offsets else OMEGA
    if args.variant == "corrected":
        if min(offsets) < 1:
            raise SatrnnInputError("--variant corrected shifts the offsets by -1; they must all be >= 1")
        offsets = tuple(d - 1 for d in offsets)
    if len(offsets) < 2 or len(set(offsets)) != len(offsets):
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
        pairs = [r.pair for r in fm.neurons] if args.target == "continuous" else None
        lad = explanation_ladder(model, xs, offsets=offsets, gain_baseline=M, hs=fwd.hs, rnn_bpc=fwd.bpc,
                                 table1_pairs=pairs) if ladder_ok else None
        bar.advance(task)
    results = Results(model, xs)
    if offsets == OMEGA and args.target == "continuous":   # the ledger's own options
        results.put(FACTOR_MAP, fm)
    out = {"variant": args.variant, "seed": args.seed, "factor_map": fm, "ladder": lad,
           "ladder_note": None if ladder_ok else "ladder skipped (needs offset 1 in the list, or --no-ladder)",
           "claims": claim_entries(results, {**FACTOR_MAP.measures, **LADDER.measures})[0]}
    if args.json:
        emit_json(out)
        return 0
    console.print(render.factor_map(fm, lad))
    console.print(render.claim_entries(out["claims"]))
    return 0


COMMAND = Command("factor-map", "factor map (best offset pair per neuron, R^2, Table 1) and the explanation ladder "
                                "in bpc and X%%", run,
                  options=(o.MODEL_TEXT, FACTOR_MAP.options, LADDER.options, o.JSON), units=(FACTOR_MAP, LADDER))
