"""`satrnn margins MODEL TEXT`: pre-activation margins (q1_margins) and the Boolean view (q1_boolean)."""
from __future__ import annotations

import numpy as np

from satrnn.analyses.boolean_figures import HEAD_BYTES, boolean_fold
from satrnn.automaton.margins import margin_fold
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    add_semantics_arg,
    bytes_callback,
    console,
    emit_json,
    model_and_text_source,
    progress,
)
from satrnn.report import render
from satrnn.rnn.stream import fold_chunks, prediction_chunks
from satrnn.rnn.text import iter_text, load_text


def register(sub) -> None:
    p = sub.add_parser("margins", help="pre-activation margins on the float run and the sign-only (Boolean) "
                                       "dynamics (papers' q1_margins / q1_boolean; use the first 1024 bytes "
                                       "for their n); streams TEXT in one forward pass (flat memory)")
    add_model_text_args(p)
    add_semantics_arg(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    model, source, n = model_and_text_source(args)
    if isinstance(source, np.ndarray):      # the default corpus
        head = source[:HEAD_BYTES]

        def again():
            return source
    else:                                   # a file, read as it is consumed (twice if the median needs it)
        head = load_text(args.text, max_bytes=min(n, HEAD_BYTES))

        def again():
            return iter_text(args.text, args.max_bytes)
    n1 = n - 1
    with progress() as bar:
        tick = bytes_callback(bar, "margins and sign dynamics (one pass, bytes)")
        tick2 = bytes_callback(bar, "exact median (second pass, bytes)")
        m, b = fold_chunks(prediction_chunks(model, source, progress=lambda done: tick(done, n1)),
                           margin_fold(model, n, rerun=lambda: prediction_chunks(
                               model, again(), progress=lambda done: tick2(done, n1))),
                           boolean_fold(model, n, head, args.semantics))
    if args.json:
        emit_json({"margins": m, "boolean": b})
        return 0
    console.print(render.margins(m))
    console.print(render.boolean(b))
    return 0
