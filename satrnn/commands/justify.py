"""`satrnn justify MODEL TEXT [--positions ...]`: Q6 justification chains (DEFINITIONS 9) + backbone counts.

The Q6 unit: `analyses.justify.q6_justify` -> `Q6Justify`, drawn by `render.justify` (its backbone in the
report's section "attribution"), with the measurement "justify_driver"."""
from __future__ import annotations

from satrnn import options as o
from satrnn.analyses.justify import POSITIONS, Q6Justify, q6_justify
from satrnn.cache import Results
from satrnn.clikit import console, emit_json, load_model_text_args
from satrnn.ledger.claims import Measured
from satrnn.report import render
from satrnn.unit import Analysis, Command


def _driver(results: Results, field):
    r = results.get(JUSTIFY)
    ranked = r.backbone.rank1
    top = ranked[0]
    tied = [e.neuron for e in ranked if e.count == top.count]
    note = f"over {len(r.positions)} positions" + (f"; tied: {[f'h{j}' for j in tied]}" if len(tied) > 1 else "")
    return Measured(int(top.neuron if field == "neuron" else top.count), note)


JUSTIFY = Analysis(
    name="justify", result=Q6Justify,
    compute=lambda results: q6_justify(results.model, results.xs, hs=results.fwd.hs),
    render=render.justify,
    options=(o.POSITIONS.but(type=int, nargs="+", default=list(POSITIONS), metavar="T",
                             help="positions t (kept if t < n-2, as q6_justify does); default the program's 12"),),
    measures={"justify_driver": _driver})


def run(args) -> int:
    model, xs = load_model_text_args(args)
    out = q6_justify(model, xs, args.positions)
    if args.json:
        emit_json(out)
        return 0
    console.print(render.justify(out))
    return 0


COMMAND = Command("justify", "Q6: per-position justification chains (top neurons by readout negation, their top Wh "
                             "inputs, a second hop) and backbone counts", run,
                  options=(o.MODEL_TEXT, JUSTIFY.options, o.JSON), units=(JUSTIFY,))
