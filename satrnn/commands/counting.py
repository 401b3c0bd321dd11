"""`satrnn counting TEXT`: the UM counting models (bigram, skip-k-grams, greedy offsets; DEFINITIONS Part II 4).

Counting needs no model, so this command takes TEXT only (omitted = the default corpus)."""
from __future__ import annotations

import argparse

from rich.table import Table

from satrnn.analyses.counting import GREEDY_CAP, GREEDY_STEPS, counting_report
from satrnn.analyses.offsets import parse_int_list
from satrnn.clikit import add_json_flag, check_int, console, declare_inputs, emit_json, load_model_text_args, progress
from satrnn.ledger.measures import claim_entries
from satrnn.report import render


def register(sub) -> None:
    p = sub.add_parser("counting", help="skip-k-gram counting models: bigram, skip-4, skip-8, greedy offset order "
                                        "(TEXT only; no model needed)")
    p.add_argument("text", nargs="?", default=None, metavar="TEXT", help="text file (omit for the default corpus)")
    declare_inputs(p, "text")
    p.add_argument("--max-bytes", type=int, default=None, metavar="N", help="use only the first N bytes of TEXT")
    p.add_argument("--offsets", default=None, metavar="LIST",
                   help="score these offsets (and their 4/8 prefixes) instead of the greedy order")
    p.add_argument("--steps", type=int, default=GREEDY_STEPS, help="greedy: number of offsets (default 8)")
    p.add_argument("--cap", type=int, default=GREEDY_CAP,
                   help="greedy: candidates 1..cap (default 30 = skip_kgram.c; um_learn.c uses 50)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    steps = check_int("--steps", args.steps, 1, 64)
    cap = check_int("--cap", args.cap, 1, 1 << 20)
    offsets = parse_int_list("--offsets", args.offsets, 1, 1 << 30) if args.offsets else None
    ns = argparse.Namespace(model=None, text=args.text, max_bytes=args.max_bytes)
    if args.text is None:
        _, xs = load_model_text_args(ns)
    else:
        from satrnn.rnn.text import load_text
        xs = load_text(args.text, max_bytes=args.max_bytes)
    with progress() as bar:
        task = bar.add_task("greedy offset search", total=max(steps - 1, 1) if offsets is None else 1)
        r = counting_report(xs, steps=steps, cap=cap, offsets=offsets, progress=lambda: bar.advance(task))
    default = steps == GREEDY_STEPS and cap == GREEDY_CAP and offsets is None
    r["claims"], _ = claim_entries(None, xs, ("counting", "greedy_order", "greedy_before"),
                                   {"counting": r} if default else None)
    if args.json:
        emit_json(r)
        return 0
    if r["greedy"] is not None:
        t = Table(title=f"Greedy offset order (candidates 1..{r['greedy']['cap']})")
        for c in ("k", "added", "offsets", "bpc", "patterns", "positions"):
            t.add_column(c, justify="right")
        for s in r["greedy"]["steps"]:
            t.add_row(str(s["k"]), str(s["added"]), ",".join(map(str, s["offsets"])), f"{s['bpc']:.4f}",
                      str(s["patterns"]), str(s["positions"]))
        console.print(t)
    t = Table(title="Counting models (in-sample = the paper's; sequential KT = a real adaptive code)")
    for c in ("model", "offsets", "bpc", "patterns", "contexts", "singleton ctx %", "seq. KT bpc"):
        t.add_column(c, justify="right")
    for name, m in r["models"].items():
        t.add_row(name, ",".join(map(str, m["offsets"])), f"{m['bpc']:.4f}", str(m["patterns"]), str(m["contexts"]),
                  f"{100 * m['singleton_context_share']:.1f}", f"{m['bpc_sequential_kt']:.3f}")
    console.print(t)
    console.print(render.claim_entries(r["claims"]))
    return 0
