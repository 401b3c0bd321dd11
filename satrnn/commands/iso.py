"""`satrnn iso MODEL TEXT`: is the UM computed from the pattern table isomorphic to the RNN, to the bit?

Compares the UM forward (probability domain, from the patterns) with the reference RNN forward at the same
precision: every neuron-step's sign, the states, the bpc (tolerance 1e-9) and the weight round trip. A
verification command: exit 0 when isomorphic, 1 when not (the verdict and its evidence are printed, or in
--json, either way); --strict is accepted for compatibility and changes nothing.
"""
from __future__ import annotations

import numpy as np

from satrnn import options as o
from satrnn.automaton.iso import IsoVerdict, check_isomorphism
from satrnn.automaton.um import ACTIVATIONS, PRECISIONS, PatternTable
from satrnn.cache import Results
from satrnn.clikit import check_float, console, emit_json, load_model_text_args
from satrnn.ledger.claims import Measured
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError
from satrnn.unit import Analysis, Command, Section, option


def _section(results: Results):
    f64, f, r = results.fwd_f64, results.fwd, results.get(ISO)
    sign_diff = int(np.count_nonzero((f.hs >= 0) != (f64.hs >= 0)))
    data = {"bpc_f32": f.bpc, "bpc_f64": f64.bpc, "f32_f64_sign_differences": sign_diff,
            "iso": {"isomorphic": r.isomorphic, "sign_mismatches": r.sign_mismatches, "max_abs_diff": r.max_abs_diff,
                    "bpc_rnn": r.bpc_rnn, "bpc_um": r.bpc_um, "pattern_counts": r.pattern_counts}}
    return render.reference(f, f64, r, sign_diff), data


def _measure(results: Results, field):
    r = results.get(ISO)
    if field == "isomorphic":
        return Measured(bool(r.isomorphic), f"{r.sign_mismatches} sign mismatches, max |dh| = "
                                            f"{r.max_abs_diff:.3g}, bpc RNN {r.bpc_rnn:.6f}")
    return float(getattr(r, field))


ISO = Analysis(
    name="iso", result=IsoVerdict,
    compute=lambda results: check_isomorphism(results.model, results.xs, precision="f32"),
    render=render.iso,
    options=(o.PRECISION.but(choices=PRECISIONS,
                             help="f32: UM in float32 vs the papers' float32 forward (default); f64: both in double"),
             option("--activation", choices=ACTIVATIONS, default="stable",
                    help="UM's evaluation of 2 sigma(2z) - 1: stable (cancellation-free, default) or naive "
                         "(p = 1/(1+exp(-2z)), then 2p - 1)"),
             option("--patterns", metavar="FILE.npz", default=None, reads=True,
                    help="check this pattern table (from `satrnn um --out FILE.npz`, possibly edited) "
                         "instead of the model's own"),
             option("--threshold", type=float, default=0.01, metavar="W",
                    help="pattern-count threshold, strength > W (default 0.01)"),
             o.UNCLAMPED.but(help="cost -ln P / ln 2 without the 1e-30 floor (q1_sparsity's convention), for both"),
             option("--strict", action="store_true",
                    help="(kept for compatibility: iso always exits 1 when the verdict is not isomorphic)")),
    section=Section("reference", "Float32 reference and RNN-UM isomorphism", _section),
    measures={"iso": _measure})


def run(args) -> int:
    threshold = check_float("--threshold", args.threshold, 0.0)
    if args.patterns is not None and not str(args.patterns).lower().endswith(".npz"):
        raise SatrnnInputError(f"pattern file {args.patterns} must be a .npz written by `satrnn um`")
    model, xs = load_model_text_args(args)
    table = PatternTable.load_npz(args.patterns) if args.patterns is not None else None
    r = check_isomorphism(model, xs, precision=args.precision, activation=args.activation, table=table,
                          threshold=threshold, clamp=not args.unclamped)
    if args.json:
        emit_json({**r.as_dict(), "patterns_file": args.patterns})
    else:
        console.print(render.iso(r))
    return 0 if r.isomorphic else 1   # exit 1: the check failed (the verdict is printed either way)


COMMAND = Command("iso", "RNN-UM isomorphism check on a text (signs, states, bpc, weight round trip)", run,
                  options=(o.MODEL_TEXT, ISO.options, o.JSON), units=(ISO,))
