"""`satrnn verify [MODEL TEXT]`: the claims ledger — every quantitative claim of the seeds with a verdict."""
from __future__ import annotations

from satrnn.clikit import add_json_flag, add_model_text_args, console, emit_json, err_console, load_model_text_args
from satrnn.ledger.claims import SEEDS, claims_for, seed_key
from satrnn.ledger.measures import run_ledger
from satrnn.report.render import ledger_renderables
from satrnn.rnn.errors import SatrnnInputError


def register(sub) -> None:
    p = sub.add_parser("verify", help="claims ledger: each paper claim with its measured value and a verdict")
    add_model_text_args(p)
    p.add_argument("--only", metavar="SEED", default=None,
                   help=f"only one seed's claims ({', '.join(SEEDS)}, or the seed's file name)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any claim in the chosen set differs "
                   "(claims not applicable to another model never count)")
    p.add_argument("--verdict", choices=("reproduced", "differs", "not-measurable", "not-applicable", "failed"),
                   default=None,
                   help="list only claims with this verdict (the summary still counts the whole chosen set)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.only is not None:
        try:
            seed_key(args.only)
        except ValueError as e:
            raise SatrnnInputError(str(e)) from None
    claims = claims_for(args.only)
    model, xs = load_model_text_args(args)
    records, summary = run_ledger(model, xs, claims, show_progress=not args.json)
    shown = records
    if args.verdict is not None:
        shown = [r for r in records if r["verdict"] == args.verdict.replace("-", " ")]
    if args.json:
        emit_json(shown)
    else:
        for r in ledger_renderables(shown, summary):
            console.print(r)
    failed = [r for r in records if r["verdict"] == "failed"]
    for r in failed:  # a crashing measurement is a bug: named on stderr, exit 1
        err_console.print(f"verify: claim {r['id']}: {r['reason']}", markup=False, highlight=False)
    if failed or (args.strict and summary["total"]["differs"] > 0):
        return 1
    return 0
