"""`satrnn carrier MODEL TEXT`: carrier/pattern decomposition (seed 003 section 5).

The carrier unit: `analyses.carrier.carrier_decomposition` -> `CarrierDecomposition`, drawn by
`render.carrier` (briefly in the report's section "attribution"), with seed 003 section 5's measurements."""
from __future__ import annotations

import numpy as np

from satrnn import options as o
from satrnn.analyses.carrier import ALIGN, BYTESETS, REPLACE, TARGETS, CarrierDecomposition, carrier_decomposition
from satrnn.cache import Results
from satrnn.clikit import check_int, console, emit_json, load_model_text_args
from satrnn.ledger.claims import Measured, NotAvailable
from satrnn.report import render
from satrnn.unit import Analysis, Command, option


def _carrier(results: Results, field):
    t = results.get(CARRIER).table2
    vals = {"ps_mean": t.mean_pattern_sensitive, "cd_mean": t.mean_carrier_determined,
            "pattern_pct": 100.0 * t.fraction_pattern_sensitive,
            "carrier_pct": 100.0 * t.mean_carrier_determined / results.H,
            "actual_bpc": t.actual_bpc, "carrier_bpc": t.carrier_only_bpc, "pattern_gain": t.pattern_gain,
            "pattern_frac_pct": 100.0 * t.byte_identity_fraction}
    return float(vals[field])


def _ps_neuron(results: Results, rank, field):
    e = results.get(CARRIER).table2.top_sensitive[rank]
    return int(e.neuron if field == "neuron" else e.positions)


def _influence(results: Results, d_lo, d_hi, field):
    rows = [r for r in results.get(CARRIER).table3.rows if d_lo <= r.d <= d_hi]
    if len(rows) != d_hi - d_lo + 1:
        raise NotAvailable(f"influence rows for d = {d_lo}..{d_hi} not computed")
    return float(np.mean([getattr(r, field) for r in rows]))


def _decomp(results: Results, field):
    d = results.get(CARRIER).decomposition
    wb, nb = d.with_bias, d.without_bias
    if field == "top_neuron":
        return int(d.top_neurons[0].neuron)
    if field == "top_contrib":
        return float(d.top_neurons[0].wy_dh)
    if field == "carrier_cost":
        return float(d.carrier_only_bits)
    part, kind = field.rsplit("_", 1)
    if kind == "logit":
        return Measured(float(getattr(wb, part)), f"without the output bias: {getattr(nb, part):+.3f}")
    if part == "total":
        return 1.0
    key = f"{part}_fraction"
    return Measured(float(getattr(wb, key)), f"without the output bias: {100 * getattr(nb, key):.1f}%")


CARRIER = Analysis(
    name="carrier", result=CarrierDecomposition,
    compute=lambda results: carrier_decomposition(results.model, results.xs, hs=results.fwd.hs),
    render=render.carrier,
    options=(option("--byteset", choices=BYTESETS, default="all",
                    help="bytes v in the pattern-sensitivity test (all 256, or those occurring in TEXT)"),
             option("--replace", choices=REPLACE, default="sensitive",
                    help="carrier-only state: replace pattern-sensitive neurons (default) or all by tanh(carrier)"),
             option("--alignment", choices=ALIGN, default="same",
                    help="eq. 6: delta_s = h_s - tanh(c_s) (same, default) or the literal h_{s+1} in our indexing"),
             option("--target", choices=TARGETS, default="logit",
                    help="gradient of the correct byte's logit (default, eq. 7) or of its log-probability"),
             option("--depth", type=int, default=50, help="offsets d = 0..depth-1 (default 50)"),
             option("--t2-first", type=int, default=0, help="first position of Table 2 (default 0)"),
             option("--t3-first", type=int, default=None, help="first position of Table 3 (default 50, or 0 "
                    "for texts too short)"),
             option("--t-last", type=int, default=None, help="last position of both tables (default n-2)"),
             option("--example", type=int, default=None,
                    help="position of the output decomposition (default 29, skipped if the text is shorter)")),
    measures={"carrier": _carrier,
              "carrier_ratio": lambda results:
                  float(results.get(CARRIER).table2.carrier_only_bpc / results.get(CARRIER).table2.actual_bpc),
              "carrier_ps_neuron": _ps_neuron,
              "carrier_xpct": lambda results:
                  100.0 * (8.0 - results.get(CARRIER).table2.carrier_only_bpc) / (8.0 - results.fwd.bpc),
              "influence": _influence,
              "decomp": _decomp})


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
    console.print(render.carrier(out, model.H))
    return 0


COMMAND = Command("carrier", "carrier/pattern decomposition: pattern-sensitive neurons, carrier-only bpc, influence "
                             "by offset, output decomposition (seed 003 s5)", run,
                  options=(o.MODEL_TEXT, CARRIER.options, o.JSON), units=(CARRIER,))
