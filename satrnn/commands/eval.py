"""`satrnn eval MODEL TEXT`: bits per character of the reference forward, streamed (flat memory)."""
from __future__ import annotations

import time

from satrnn import options as o
from satrnn.clikit import console, emit_json, model_and_text_source, progress
from satrnn.rnn.forward import PRECISIONS, evaluate
from satrnn.unit import Command


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


COMMAND = Command("eval", "bits per character of the float32 reference forward on a text", run,
                  options=(o.MODEL_TEXT, o.PRECISION.but(choices=PRECISIONS), o.UNCLAMPED, o.JSON))
