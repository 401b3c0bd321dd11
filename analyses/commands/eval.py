"""`satrnn eval MODEL TEXT`: bits per character of the reference forward."""
from __future__ import annotations

from satrnn.rnn.forward import PRECISIONS, forward

from ..clikit import add_json_flag, add_model_text_args, console, emit_json, load_model_text_args


def register(sub) -> None:
    p = sub.add_parser("eval", help="bits per character of the float32 reference forward on a text")
    add_model_text_args(p)
    p.add_argument("--precision", choices=PRECISIONS, default="f32",
                   help="f32: the papers' bit-exact float32 arithmetic (default); f64: double cross-check")
    p.add_argument("--unclamped", action="store_true",
                   help="cost -ln P / ln 2 without the 1e-30 floor (q1_sparsity's convention)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    model, xs = load_model_text_args(args)
    r = forward(model, xs, precision=args.precision, clamp=not args.unclamped)
    out = {"bpc": r.bpc, "predictions": r.predictions, "bytes": int(xs.shape[0]), "H": model.H,
           "precision": args.precision, "cost": "unclamped" if args.unclamped else "clamped at 1e-30",
           "max_cost_bits": float(r.costs.max()), "start_state": "zeros"}
    if args.json:
        emit_json(out)
    else:
        console.print(f"[bold]{r.bpc:.6f}[/bold] bpc over {r.predictions:,} predictions "
                      f"({xs.shape[0]:,} bytes, H = {model.H}, {args.precision}, h_-1 = 0)")
    return 0
