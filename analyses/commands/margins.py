"""`satrnn margins MODEL TEXT`: pre-activation margins (q1_margins) and the Boolean view (q1_boolean)."""
from __future__ import annotations

from satrnn.automaton.margins import margin_report

from .. import render
from ..boolean_figures import boolean_report
from ..clikit import (add_json_flag, add_model_text_args, add_semantics_arg, bytes_callback, console, emit_json,
                      load_model_text_args, progress)


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
    with progress() as bar:
        m = margin_report(model, xs, progress=bytes_callback(bar, "margins (2 passes, bytes)"))
        b = boolean_report(model, xs, args.semantics, progress=bytes_callback(bar, "sign dynamics (bytes)"))
    if args.json:
        emit_json({"margins": m, "boolean": b})
        return 0
    console.print(render.margins(m))
    console.print(render.boolean(b))
    return 0
