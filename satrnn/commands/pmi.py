"""`satrnn pmi MODEL TEXT`: Q7 data PMI by offset and its alignment with the RNN's flip sensitivity
(DEFINITIONS 10 q7_algebraic, 11 q7_higher_order). `satrnn pmi --data-only TEXT` needs no model.

The Q7 unit: `analyses.pmi.q7_algebraic` -> `Q7Algebraic`, drawn by `render.pmi`, with the ledger's
measurement pmi_aligned, whose claims the command shows under its output."""
from __future__ import annotations

from satrnn import options as o
from satrnn.analyses.offsets import VARIANTS, parse_int_list
from satrnn.analyses.pmi import (
    Q7_ALGEBRAIC_POSITIONS,
    Q7_MAX_OFFSET,
    TOP_PMI_MAX_OFFSET,
    Q7Algebraic,
    q7_algebraic,
    q7_higher_order,
    top_pmi_per_offset,
)
from satrnn.cache import Results
from satrnn.clikit import check_int, console, emit_json, load_model_text_args, progress
from satrnn.ledger.measures import claim_entries, row_where
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import run_states
from satrnn.rnn.text import load_text
from satrnn.unit import Analysis, Command, option


def _aligned(results: Results, d_lo, d_hi):
    r = results.get(Q7)
    if d_lo == 0:
        return float(r.total.aligned_percent)
    return [float(row_where(r.rows, "d", d, "q7 rows").aligned_percent) for d in range(d_lo, d_hi + 1)]


Q7 = Analysis(
    name="q7", result=Q7Algebraic,
    compute=lambda results: q7_algebraic(results.model, results.xs, hs=results.fwd.hs),
    render=render.pmi,
    options=(option("--variant", choices=VARIANTS, default="paper",
                    help="higher-order 'trigram' pair normalisation: paper n-1 (inconsistent) or corrected n-d "
                         "(the corrected run also reports totals over d >= 2, where the trigram is defined)"),
             o.POSITIONS.but(default=",".join(map(str, Q7_ALGEBRAIC_POSITIONS)),
                             help="q7_algebraic test positions (default the paper's 8)"),
             option("--max-offset", type=int, default=Q7_MAX_OFFSET, help="offsets 1..N (default 20)"),
             option("--stride", type=int, default=4,
                    help="higher-order positions t = 30, 30+stride, ... (default 4)"),
             option("--data-only", action="store_true",
                    help="only the data PMI table (no RNN re-runs); then TEXT alone is enough")),
    measures={"pmi_aligned": _aligned})


def run(args) -> int:
    positions = parse_int_list("--positions", args.positions)
    D = check_int("--max-offset", args.max_offset, 1, 1000)
    stride = check_int("--stride", args.stride, 1, 1 << 30)
    if args.data_only and args.model is not None and args.text is None:
        model, xs = None, load_text(args.model, max_bytes=args.max_bytes)   # `satrnn pmi --data-only TEXT`
    else:
        model, xs = load_model_text_args(args)
    if not args.data_only and not any(0 <= t < xs.shape[0] - 2 for t in positions):
        raise SatrnnInputError(f"no --positions value lies in 0..{xs.shape[0] - 3} (text has {xs.shape[0]} bytes); "
                               "give --positions or --data-only")
    top = top_pmi_per_offset(xs, min(TOP_PMI_MAX_OFFSET, D, xs.shape[0] - 1))
    out = {"top_pmi": top}
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
        results = Results(model, xs)
        if list(positions) == list(Q7_ALGEBRAIC_POSITIONS) and D == Q7_MAX_OFFSET:   # the ledger's own options
            results.put(Q7, alg)
        out["claims"], _ = claim_entries(results, Q7.measures)
    if args.json:
        emit_json(out)
        return 0
    console.print(render.pmi(alg, top, ho))
    if out["claims"]:
        console.print(render.claim_entries(out["claims"]))
    return 0


COMMAND = Command("pmi", "Q7: skip-bigram PMI of the data vs the RNN's input-flip sensitivity", run,
                  options=(o.MODEL_TEXT, Q7.options, o.JSON), units=(Q7,))
