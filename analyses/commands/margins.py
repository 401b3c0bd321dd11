"""`satrnn margins MODEL TEXT`: pre-activation margins (q1_margins) and the Boolean view (q1_boolean)."""
from __future__ import annotations

import math

from rich.table import Table

from satrnn.automaton.margins import boolean_report, margin_report

from ..clikit import (add_json_flag, add_model_text_args, add_semantics_arg, console, emit_json,
                      load_model_text_args)

BAR = 40


def register(sub) -> None:
    p = sub.add_parser("margins", help="pre-activation margins on the float run and the sign-only (Boolean) "
                                       "dynamics (papers' q1_margins / q1_boolean; use the first 1024 bytes "
                                       "for their n)")
    add_model_text_args(p)
    add_semantics_arg(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    model, xs = load_model_text_args(args, min_bytes=2)
    m = margin_report(model, xs)
    b = boolean_report(model, xs, args.semantics)
    if args.json:
        emit_json({"margins": m, "boolean": b})
        return 0
    _print(m, b)
    return 0


def _bars(title, rows, label):
    t = Table(title=title, show_edge=False)
    t.add_column("bin")
    t.add_column("count", justify="right")
    t.add_column("%", justify="right")
    t.add_column("")
    top = max(r["pct"] for r in rows) if rows else 1.0
    for r in rows:
        t.add_row(label(r), f"{r['count']:,}", f"{r['pct']:.3f}", "#" * max(1, round(BAR * r["pct"] / top)))
    console.print(t)


def _print(m, b):
    s = Table(title=f"Margin summary (float32 run, {m['steps']:,} steps x {m['H']} neurons)", show_edge=False)
    s.add_column("quantity")
    s.add_column("value", justify="right")
    for k, v in [("neuron-steps", f"{m['neuron_steps']:,}"), ("mean margin", f"{m['mean_margin']:.4f}"),
                 ("median margin", f"{m['median_margin']:.4f}"), ("min margin", f"{m['min_margin']:.3e}"),
                 ("margins < 1", f"{m['small']:,} ({m['small_pct']:.2f}%)"),
                 ("margins < 0.1", f"{m['tiny']:,} ({m['tiny_pct']:.2f}%)"),
                 ("bpc (full readout)", f"{m['bpc_full']:.4f}"),
                 ("bpc (sign readout, float recurrence)", f"{m['bpc_sign_readout']:.4f}")]:
        s.add_row(k, v)
    console.print(s)
    _bars("Margin histogram (paper bins of width 5; last bin open)", m["histogram"],
          lambda r: f"[{r['lo']:g}, {r['hi']:g})" if math.isfinite(r["hi"]) else f">= {r['lo']:g}")
    _bars("Margin histogram (decades)", m["histogram_log"],
          lambda r: "exactly 0" if r["hi"] == 0 else f"[{r['lo']:.0e}, {r['hi']:.0e})")
    t = Table(title="Neurons with the smallest mean margin", show_edge=False)
    for c in ("neuron", "mean", "min", "steps < 1"):
        t.add_column(c, justify="right")
    for r in m["per_neuron_lowest"]:
        t.add_row(str(r["neuron"]), f"{r['mean']:.3f}", f"{r['min']:.2e}", str(r["n_small"]))
    console.print(t)
    t = Table(title="Smallest margins", show_edge=False)
    for c in ("t", "neuron", "z", "byte x_t", "next byte"):
        t.add_column(c, justify="right")
    for r in m["smallest"][:10]:
        t.add_row(str(r["t"]), str(r["neuron"]), f"{r['z']:+.3e}", str(r["byte"]), str(r["next_byte"]))
    console.print(t)
    mm, mc = m["mantissa"], m["mantissa_corrected"]
    console.print(f"[bold]The mantissa cannot reach (paper-compatible):[/bold] delta_max = {mm['delta_max']:.3e}, "
                  f"mu_min = {mm['mu_min']:.3e}, safety factor = {mm['safety_factor']:.0f} "
                  f"(its closing line is printed unconditionally)")
    console.print(f"[bold]Corrected:[/bold] min over neurons of min-margin/delta = {mc['min_ratio']:.1f} "
                  f"(neuron {mc['argmin_neuron']}); rigorous float32 accumulation bound up to "
                  f"{mc['max_accumulation_bound']:.2e}; {mc['steps_within_accumulation_bound']} neuron-step(s) "
                  f"have a margin within it (min margin/bound = {mc['min_margin_over_bound']:.2f})")
    w = b["wh_sign_structure"]
    console.print(f"\n[bold]Boolean view ({b['semantics']})[/bold]: W_h > 0.001: {w['positive']:,}, "
                  f"< -0.001: {w['negative']:,}, near zero: {w['near_zero']:,}; mean fan-in (|w| > 0.1) "
                  f"{b['mean_fan_in']:.2f}")
    if b["flip_sensitivity"]:
        f, ib = b["flip_sensitivity"], b["input_byte_sensitivity"]
        console.print(f"flip sensitivity at t=42: mean {f['mean']:.2f} neurons per flipped input neuron; "
                      f"input byte sensitivity min {ib['min']} (excluding the actual byte: "
                      f"{ib['min_excluding_actual_byte']}), max {ib['max']}, mean {ib['mean']:.2f}")
    t = Table(title="Sign-only dynamics driven by the text", show_edge=False)
    for c in ("start", "bpc", "mean flips/step", "disagreements with float signs"):
        t.add_column(c, justify="right")
    fv = b["float_vs_sign"]
    t.add_row("all -1 (papers')", f"{b['dynamics']['bpc']:.4f}", f"{b['dynamics']['mean_flips']:.2f}",
              f"{fv['minus_start']:,} / {fv['neuron_steps']:,}")
    t.add_row("all +1 (sign of h=0)", f"{b['dynamics_plus_start']['bpc']:.4f}",
              f"{b['dynamics_plus_start']['mean_flips']:.2f}", f"{fv['plus_start']:,} / {fv['neuron_steps']:,}")
    console.print(t)
    u = b["unique"]
    console.print(f"unique sign vectors: {u['unique_hash']} / {u['steps']} by the papers' hash, "
                  f"{u['unique_exact']} exactly (log2 = {u['entropy_bits']:.1f}); automaton fallbacks "
                  f"{b['fallbacks']['fallbacks']:,} of {b['fallbacks']['neuron_steps']:,} neuron-steps")
