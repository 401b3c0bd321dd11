"""`satrnn iso MODEL TEXT`: is the UM computed from the pattern table isomorphic to the RNN, to the bit?

Compares the UM forward (probability domain, from the patterns) with the reference RNN forward at the same
precision: every neuron-step's sign, the states, the bpc (tolerance 1e-9) and the weight round trip. A
verification command: exit 0 when isomorphic, 1 when not (the verdict and its evidence are printed, or in
--json, either way); --strict is accepted for compatibility and changes nothing.
"""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from satrnn.automaton.iso import check_isomorphism
from satrnn.automaton.um import ACTIVATIONS, PRECISIONS, PatternTable
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    check_float,
    console,
    declare_inputs,
    emit_json,
    load_model_text_args,
)
from satrnn.rnn.errors import SatrnnInputError


def register(sub) -> None:
    p = sub.add_parser("iso", help="RNN-UM isomorphism check on a text (signs, states, bpc, weight round trip)")
    add_model_text_args(p)
    p.add_argument("--precision", choices=PRECISIONS, default="f32",
                   help="f32: UM in float32 vs the papers' float32 forward (default); f64: both in double")
    p.add_argument("--activation", choices=ACTIVATIONS, default="stable",
                   help="UM's evaluation of 2 sigma(2z) - 1: stable (cancellation-free, default) or naive "
                        "(p = 1/(1+exp(-2z)), then 2p - 1)")
    p.add_argument("--patterns", metavar="FILE.npz", default=None,
                   help="check this pattern table (from `satrnn um --out FILE.npz`, possibly edited) "
                        "instead of the model's own")
    declare_inputs(p, "patterns")
    p.add_argument("--threshold", type=float, default=0.01, metavar="W",
                   help="pattern-count threshold, strength > W (default 0.01)")
    p.add_argument("--unclamped", action="store_true",
                   help="cost -ln P / ln 2 without the 1e-30 floor (q1_sparsity's convention), for both")
    p.add_argument("--strict", action="store_true",
                   help="(kept for compatibility: iso always exits 1 when the verdict is not isomorphic)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    threshold = check_float("--threshold", args.threshold, 0.0)
    if args.patterns is not None and not str(args.patterns).lower().endswith(".npz"):
        raise SatrnnInputError(f"pattern file {args.patterns} must be a .npz written by `satrnn um`")
    model, xs = load_model_text_args(args)
    table = PatternTable.load_npz(args.patterns) if args.patterns is not None else None
    r = check_isomorphism(model, xs, precision=args.precision, activation=args.activation, table=table,
                          threshold=threshold, clamp=not args.unclamped)
    r["patterns_file"] = args.patterns
    if args.json:
        emit_json(r)
    else:
        _print(r)
    return 0 if r["isomorphic"] else 1   # exit 1: the check failed (the verdict is printed either way)


def _print(r: dict) -> None:
    colour = "green" if r["isomorphic"] else "red"
    console.print(f"[bold {colour}]{escape(r['verdict'])}[/]")
    console.print(r["compared"], style="dim", markup=False)
    t = Table(show_header=False)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    rows = [
        ("sign mismatches [h >= 0] / IEEE sign bit", f"{r['sign_mismatches']:,} / {r['signbit_mismatches']:,} "
                                                     f"of {r['neuron_steps']:,}"),
        ("states bit-identical", f"{r['states_bit_identical']} ({r['state_bit_differences']:,} differ)"),
        ("max |h_UM - h_RNN|", f"{r['max_abs_diff']:.3g}"),
        ("bpc RNN", f"{r['bpc_rnn']:.12f}"),
        ("bpc UM", f"{r['bpc_um']:.12f}"),
        ("|bpc diff| (tolerance)", f"{r['bpc_abs_diff']:.3g} ({r['bpc_tolerance']:g})"),
        ("weights round trip bit-identical", str(r["weights_roundtrip"])),
        ("pre-activations, UM fed RNN states: bit differences", f"{r['preactivations']['forced_bit_differences']:,}"),
        ("pre-activations, free run: bit differences", f"{r['preactivations']['free_run_bit_differences']:,}"),
        (f"activation {r['activation_check']['um']} vs {r['activation_check']['rnn']}",
         f"{r['activation_check']['bit_differences']:,} differ, max {r['activation_check']['max_ulps']:.0f} ulp"),
    ]
    c = r["pattern_counts"]
    rows.append((f"patterns with |w| > {c['threshold']}",
                 f"Wx {c['Wx']:,}  Wh {c['Wh']:,}  Wy {c['Wy']:,}  (total {c['total']:,}; bias {c['bias']:,})"))
    for k, v in rows:
        t.add_row(escape(k), escape(v))
    console.print(t)
    for key, title in (("first_sign_disagreement", "first sign disagreement"),
                       ("first_disagreement", "first state difference")):
        d = r[key]
        if d is not None:
            console.print(f"{title}: t={d['t']} neuron {d['neuron']} (byte 0x{d['byte']:02x}): "
                          f"h_RNN={d['h_rnn']:.9g} h_UM={d['h_um']:.9g} z_RNN={d['z_rnn']:.9g} "
                          f"z_UM={d['z_um']:.9g} margin |z_RNN|={d['margin']:.3g}")
