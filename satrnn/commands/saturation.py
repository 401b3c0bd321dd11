"""`satrnn saturation MODEL TEXT`: per-neuron sign flips, |h|, saturation, dwell times (DEFINITIONS 5, q4)."""
from __future__ import annotations

from rich.table import Table

from satrnn.analyses.saturation import SAT_THRESHOLD, saturation_report
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    bytes_callback,
    check_float,
    check_int,
    console,
    emit_json,
    load_model_text_args,
    progress,
)
from satrnn.report import render


def register(sub) -> None:
    p = sub.add_parser("saturation", help="sign flips, saturation and dwell times per neuron (q4)")
    add_model_text_args(p)
    p.add_argument("--threshold", type=float, default=SAT_THRESHOLD,
                   help=f"|h| >= this counts as saturated (default {SAT_THRESHOLD})")
    p.add_argument("--top", type=int, default=30, help="neurons listed (by flips; default 30)")
    p.add_argument("--positions", action="store_true",
                   help="also print the paper's per-position rows (t < 10, every 5th below 50, every 50th, last; "
                        "t < 1024 and the last) and put the full per-position arrays in --json")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    th = check_float("--threshold", args.threshold, 1e-9, 1.0)
    model, xs = load_model_text_args(args)
    top = check_int("--top", args.top, 1, model.H)
    # streamed forward: memory does not grow with the text; per-position arrays only with --positions
    with progress() as bar:
        r = saturation_report(model, xs, threshold=th, keep_positions=args.positions,
                              progress=bytes_callback(bar, "saturation (bytes)"))
    rows = r.pop("printed_rows")
    if args.json:
        out = {k: v for k, v in r.items() if k != "dwell_hist_per_neuron"}
        out["printed_positions"] = rows
        emit_json(out)
        return 0
    if args.positions:
        t = Table(title="Per position (h_t after byte t)", title_justify="left")
        for c in ("t", "saturated", "flips", "min|h|", "flipped neurons"):
            t.add_column(c, justify="right")
        for row in rows:
            f = row["flipped"]
            t.add_row(str(row["t"]), str(row["n_sat"]), str(row["n_flip"]), f"{row['min_abs']:.4f}",
                      " ".join(map(str, f[:8])) + (" ..." if len(f) > 8 else ""))
        console.print(t)
    console.print(render.saturation(r, top=top))
    return 0
