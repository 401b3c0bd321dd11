"""`satrnn offsets MODEL TEXT`: Q2 depth sensitivity of the sign pattern (DEFINITIONS 6, q2_offsets).

The Q2 unit: `analyses.offsets.q2_offsets` -> `Q2Offsets` (per `variant`: paper or corrected), drawn by
`render.offsets`, with the ledger's measurements offset_hist_pct, offset_mode and mi_greedy_pct, whose claims
the command shows under its output."""
from __future__ import annotations

from satrnn import options as o
from satrnn.analyses.offsets import (
    Q2_MAX_DEPTH,
    Q2_POSITIONS,
    VARIANTS,
    Q2Offsets,
    flip_column_check,
    parse_int_list,
    q2_offsets,
)
from satrnn.cache import Results
from satrnn.clikit import check_int, console, emit_json, load_model_text_args, progress
from satrnn.figures import hook
from satrnn.ledger.claims import Measured
from satrnn.ledger.measures import claim_entries, row_where
from satrnn.report import render
from satrnn.rnn.forward import run_states
from satrnn.unit import Analysis, Command, option


def _corrected_note(results: Results, get) -> str:
    """The same quantity under the corrected offset convention (DEFINITIONS 6.3), as a note."""
    try:
        return f"corrected convention (d = 1 flips x_t): {get(results.get(Q2, variant='corrected'))}"
    except Exception:  # noqa: BLE001 - the note is optional; the paper-compatible value stands alone
        return ""


def _hist_pct(results: Results, d):
    get = lambda r: f"{row_where(r.offset_histogram, 'd', d, 'q2 offset histogram').percent:.2f}%"
    return Measured(row_where(results.get(Q2).offset_histogram, "d", d, "q2 offset histogram").percent,
                    _corrected_note(results, get))


def _mode(results: Results):
    p = results.get(Q2).histogram_peak
    note = _corrected_note(results, lambda r: f"mode d = {r.histogram_peak.d}")
    return Measured(int(p.d), f"{p.count} neurons ({p.percent:.1f}%); {note}")


def _mi_greedy_pct(results: Results):
    return Measured(float(results.get(Q2).mi_greedy.total_percent),
                    _corrected_note(results, lambda r: f"{r.mi_greedy.total_percent:.2f}%"))


Q2 = Analysis(
    name="q2", result=Q2Offsets, figure=hook("offset_profile"),
    compute=lambda results, variant="paper": q2_offsets(results.model, results.xs, variant=variant,
                                                        hs=results.fwd.hs),
    render=render.offsets,
    options=(option("--variant", choices=VARIANTS, default="paper",
                    help="paper: depth d flips x_{t-d} (q2's off-by-one, d+1 before the predicted byte); "
                         "corrected: d flips x_{t-d+1} (distance d to the predicted byte, the q7 convention)"),
             o.POSITIONS.but(default=",".join(map(str, Q2_POSITIONS)),
                             help="test positions t (comma list; default the paper's 13; t >= len-1 are dropped)"),
             option("--max-depth", type=int, default=Q2_MAX_DEPTH, help="depths 1..N (default 30)")),
    measures={"offset_hist_pct": _hist_pct, "offset_mode": _mode, "mi_greedy_pct": _mi_greedy_pct})


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
    flip_check = flip_column_check(model, xs)
    results = Results(model, xs)
    if list(positions) == list(Q2_POSITIONS) and depth == Q2_MAX_DEPTH:   # the ledger's own options
        results.put(Q2, r, variant=args.variant)
    claims, _ = claim_entries(results, Q2.measures)
    if args.json:
        emit_json({**r.as_dict(), "flip_check": flip_check, "claims": claims, "per_depth_S": r.S})
        return 0
    console.print(render.offsets(r, flip_check))
    console.print(render.claim_entries(claims))
    return 0


COMMAND = Command("offsets", "Q2: which input depths flip the hidden sign pattern (q2_offsets)", run,
                  options=(o.MODEL_TEXT, Q2.options, o.JSON), units=(Q2,))
