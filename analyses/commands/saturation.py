"""`satrnn saturation MODEL TEXT`: per-neuron sign flips, |h|, saturation, dwell times (DEFINITIONS 5, q4)."""
from __future__ import annotations

from rich.table import Table

from ..clikit import (add_json_flag, add_model_text_args, bytes_callback, check_float, check_int, console,
                      emit_json, load_model_text_args, progress)
from ..saturation import CLASSES, PRINTED_DWELL_MAX, SAT_CLASSES, SAT_THRESHOLD, saturation_report


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
    t = Table(title=f"Neurons by sign flips over {r['steps'] - 1:,} transitions (saturated: |h| >= {th:g})",
              title_justify="left")
    for c in ("neuron", "flips", "mean|h|", "min|h|", "% sat", "dwell mode", "class (paper)", "saturation (corrected)"):
        t.add_column(c, justify="right")
    for j in r["order"][:top]:
        t.add_row(f"h{j}", str(int(r["flips"][j])), f"{r['mean_abs_h'][j]:.4f}", f"{r['min_abs_h'][j]:.4f}",
                  f"{r['pct_sat'][j]:.1f}", str(int(r["dwell_mode"][j])), r["flip_class"][j], r["saturation_class"][j])
    console.print(t)
    console.print("classes by flip count (paper): " + ", ".join(f"{c} {r['class_counts'][c]}" for c in CLASSES))
    console.print("classes by saturation (corrected): "
                  + ", ".join(f"{c} {r['saturation_class_counts'][c]}" for c in SAT_CLASSES))
    console.print(f"mean flips per neuron {r['mean_flips']:.1f}; one flip per {r['steps_per_flip']:.2f} steps; "
                  f"saturated neuron-steps {r['neuron_steps_saturated_pct']:.2f}%")
    console.print(f"mean dwell {r['mean_dwell']:.3f} steps (paper-compatible, dwells < 100); "
                  f"{r['mean_dwell_all']:.3f} including {r['dropped_dwells']} dwell(s) >= 100 (corrected)")
    G = r["dwell_hist"]
    gmax = max(int(G[1:PRINTED_DWELL_MAX + 1].max()), 1)
    t = Table(title="Global dwell-time distribution (d = 1..49, as printed by the paper)", title_justify="left")
    for c in ("dwell", "count", ""):
        t.add_column(c, justify="left" if not c else "right")
    for d in range(1, PRINTED_DWELL_MAX + 1):
        if G[d] > 0:
            t.add_row(str(d), str(int(G[d])), "[cyan]" + "\u2588" * max(1, round(30 * int(G[d]) / gmax)) + "[/cyan]")
    console.print(t)
    return 0
