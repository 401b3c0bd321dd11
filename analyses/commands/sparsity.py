"""`satrnn sparsity MODEL TEXT`: Q1 attribution sparsity (seed 000, DEFINITIONS 1)."""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from ..clikit import (add_json_flag, add_model_text_args, check_int, console, emit_json, load_model_text_args,
                      progress)
from ..sparsity import VARIANTS, q1_sparsity


def register(sub) -> None:
    p = sub.add_parser("sparsity", help="Q1: how many patterns each prediction's backward attribution uses")
    add_model_text_args(p)
    p.add_argument("--variant", choices=VARIANTS, default="paper",
                   help="paper: q1_sparsity.c literally (float32, its quirks); corrected: tanh derivative in "
                        "the Wx score, offset-0 input term, consistent depth-profile units, double")
    p.add_argument("--max-depth", type=int, default=50, help="backward depth (default 50, the program's)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    depth = check_int("--max-depth", args.max_depth, 0, 10_000)
    model, xs = load_model_text_args(args)
    with progress() as bar:
        task = bar.add_task(f"attribution ({args.variant})", total=None)
        out = q1_sparsity(model, xs, args.variant, max_depth=depth,
                          progress=lambda done, total: bar.update(task, completed=done, total=total))
    if args.json:
        emit_json(out)
        return 0
    sig = out["significant"]
    console.print(f"[bold]Q1 sparsity[/bold] — variant [cyan]{out['variant']}[/cyan]; significant |w| > 0.01: "
                  f"{sig['total']:,} (Wx {sig['Wx']:,}, Wh {sig['Wh']:,}, Wy {sig['Wy']:,}); "
                  f"bpc {out['forward']['bpc']:.4f} over {out['forward']['predictions']:,} predictions")
    t = Table(title="Sparsity Distribution")
    for c in ("tau", "mean n", "median", "min", "max", "n/sig"):
        t.add_column(c, justify="right")
    for r in out["distribution"]:
        t.add_row(f"{r['tau']:.0e}", f"{r['mean_n']:.1f}", f"{r['median']:g}", str(r["min"]), str(r["max"]),
                  f"{r['n_over_sig']:.4f}")
    console.print(t)
    t = Table(title="Breakdown by Pattern Class (mean per position)")
    for c in ("tau", "Wx", "Wh", "Wy", "Wh share"):
        t.add_column(c, justify="right")
    for r in out["class_breakdown"]:
        share = "-" if r["share_Wh"] is None else f"{100 * r['share_Wh']:.1f}%"
        t.add_row(f"{r['tau']:.0e}", f"{r['mean_Wx']:.1f}", f"{r['mean_Wh']:.1f}", f"{r['mean_Wy']:.2f}", share)
    console.print(t)
    na = out["never_active"]
    occ = na["occurring"]
    console.print(f"Never active (tau = 0.01): Wx {na['Wx']:,}/{na['of']['Wx']:,}, Wh {na['Wh']:,}/{na['of']['Wh']:,}, "
                  f"Wy {na['Wy']:,}/{na['of']['Wy']:,}, total {na['total']:,}/{na['of']['total']:,}; over occurring "
                  f"bytes: Wx {occ['Wx']:,}/{occ['Wx_of']:,}, Wy {occ['Wy']:,}/{occ['Wy_of']:,}")
    t = Table(title="Depth Profile: Mean Attribution Mass by Offset")
    for c in ("d", "mean mass", "count", "fraction of d=0"):
        t.add_column(c, justify="right")
    for r in out["depth_profile"]:
        fr = "-" if r["fraction_of_d0"] is None else f"{r['fraction_of_d0']:.3f}"
        t.add_row(str(r["d"]), f"{r['mean_mass']:.4f}", str(r["count"]), fr)
    console.print(t)
    for note in out["notes"]:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    return 0
