"""`satrnn sparsity MODEL TEXT`: Q1 attribution sparsity (seed 000, DEFINITIONS 1)."""
from __future__ import annotations

from satrnn.analyses.sparsity import VARIANTS, q1_sparsity
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    check_int,
    console,
    emit_json,
    load_model_text_args,
    progress,
)
from satrnn.report import render


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
    console.print(render.sparsity(out))
    return 0
