"""`satrnn counting TEXT`: the UM counting models (bigram, skip-k-grams, greedy offsets; DEFINITIONS Part II 4).

Counting needs no model, so this command takes TEXT only (omitted = the default corpus).

The counting unit: `analyses.counting.counting_report` -> `CountingReport`, drawn by `render.counting`, with
the ledger's measurements counting, greedy_order, greedy_before and skip8_beats_rnn (the text-only ones'
claims are shown under the command's output)."""
from __future__ import annotations

import argparse

from satrnn import options as o
from satrnn.analyses.counting import GREEDY_CAP, GREEDY_STEPS, CountingReport, counting_report
from satrnn.analyses.offsets import parse_int_list
from satrnn.cache import Results
from satrnn.clikit import check_int, console, emit_json, load_model_text_args, progress
from satrnn.ledger.claims import Measured
from satrnn.ledger.measures import claim_entries
from satrnn.report import render
from satrnn.rnn.text import load_text
from satrnn.unit import Analysis, Command, option


def _counting(results: Results, model, field):
    r = results.get(COUNTING).models[model]
    return Measured(getattr(r, field), f"offsets {r.offsets}")


def _greedy_before(results: Results, first, second):
    order = [int(d) for d in results.get(COUNTING).greedy.order]
    if first not in order:
        return Measured(False, f"greedy order {order}")
    ok = second not in order or order.index(first) < order.index(second)
    return Measured(ok, f"greedy order {order}")


def _skip8_beats_rnn(results: Results):
    b = results.get(COUNTING).models["skip8"].bpc
    return Measured(b < results.fwd.bpc, f"skip-8 {b:.4f} vs RNN {results.fwd.bpc:.4f} bpc (different position sets)")


COUNTING = Analysis(
    name="counting", result=CountingReport,
    compute=lambda results: counting_report(results.xs),
    render=render.counting,
    options=(option("--offsets", default=None, metavar="LIST",
                    help="score these offsets (and their 4/8 prefixes) instead of the greedy order"),
             option("--steps", type=int, default=GREEDY_STEPS, help="greedy: number of offsets (default 8)"),
             option("--cap", type=int, default=GREEDY_CAP,
                    help="greedy: candidates 1..cap (default 30 = skip_kgram.c; um_learn.c uses 50)")),
    measures={"counting": _counting,
              "greedy_order": lambda results, n: [int(d) for d in results.get(COUNTING).greedy.order[:n]],
              "greedy_before": _greedy_before,
              "skip8_beats_rnn": _skip8_beats_rnn})

TEXT_MEASURES = ("counting", "greedy_order", "greedy_before")   # the ones that need no model


def run(args) -> int:
    steps = check_int("--steps", args.steps, 1, 64)
    cap = check_int("--cap", args.cap, 1, 1 << 20)
    offsets = parse_int_list("--offsets", args.offsets, 1, 1 << 30) if args.offsets else None
    if args.text is None:
        _, xs = load_model_text_args(argparse.Namespace(model=None, text=None, max_bytes=args.max_bytes))
    else:
        xs = load_text(args.text, max_bytes=args.max_bytes)
    with progress() as bar:
        task = bar.add_task("greedy offset search", total=max(steps - 1, 1) if offsets is None else 1)
        r = counting_report(xs, steps=steps, cap=cap, offsets=offsets, progress=lambda: bar.advance(task))
    results = Results(None, xs)
    if steps == GREEDY_STEPS and cap == GREEDY_CAP and offsets is None:   # the ledger's own options
        results.put(COUNTING, r)
    claims, _ = claim_entries(results, TEXT_MEASURES)
    if args.json:
        emit_json({**r.as_dict(), "claims": claims})
        return 0
    console.print(render.counting(r))
    console.print(render.claim_entries(claims))
    return 0


COMMAND = Command(
    "counting", "skip-k-gram counting models: bigram, skip-4, skip-8, greedy offset order (TEXT only; no model needed)",
    run, options=(option("text", nargs="?", default=None, metavar="TEXT", reads=True,
                         help="text file (omit for the default corpus)"),
                  o.MAX_BYTES.but(help="use only the first N bytes of TEXT"), COUNTING.options, o.JSON),
    units=(COUNTING,))
