"""`satrnn eval MODEL TEXT`: bits per character of the reference forward, streamed (flat memory)."""
from __future__ import annotations

import time

from satrnn.clikit import add_json_flag, add_model_text_args, console, emit_json, model_and_text_source, progress
from satrnn.rnn.forward import PRECISIONS, evaluate


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
    model, source, total = model_and_text_source(args)
    t0 = time.perf_counter()
    with progress() as bar:
        task = bar.add_task(f"eval ({args.precision})", total=total)
        r = evaluate(model, source, precision=args.precision, clamp=not args.unclamped,
                     progress=lambda done: bar.update(task, completed=done))
    seconds = time.perf_counter() - t0
    out = {"bpc": r.bpc, "predictions": r.predictions, "bytes": r.bytes, "H": model.H,
           "precision": args.precision, "cost": "unclamped" if args.unclamped else "clamped at 1e-30",
           "max_cost_bits": r.max_cost, "start_state": "zeros", "seconds": seconds}
    if args.json:
        emit_json(out)
    else:
        console.print(f"[bold]{r.bpc:.6f}[/bold] bpc over {r.predictions:,} predictions "
                      f"({r.bytes:,} bytes, H = {model.H}, {args.precision}, h_-1 = 0; {seconds:.1f} s)")
    return 0
