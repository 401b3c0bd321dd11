"""`satrnn verify [MODEL TEXT]`: the claims ledger — every quantitative claim of the seeds with a verdict.

The ledger unit: every claim measured on the shared cache (`satrnn.ledger.measures.run_ledger`) -> `Ledger`,
drawn by `render.ledger_renderables` (by the command) and `render.ledger_section` (the report's section
"ledger")."""
from __future__ import annotations

from satrnn import options as o
from satrnn.cache import Results
from satrnn.clikit import console, emit_json, err_console, load_model_text_args
from satrnn.ledger.claims import SEEDS, Ledger, Subject, claims_for, seed_key
from satrnn.ledger.measures import run_ledger
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError
from satrnn.unit import Analysis, Command, Section, option


def _ledger(results: Results) -> Ledger:
    records, summary = run_ledger(results.model, results.xs, results=results, show_progress=False)
    return Ledger(records=tuple(records), summary=summary)


def _section(results: Results):
    """On the published weights and text: the verdict summary, every claim that differs, and why claims are not
    measurable. On another model or text: a short summary (satrnn.report.ledger_summary): counts that account
    for every claim, the command that checks them on the published files, this model's headline values."""
    lg = results.get(LEDGER)
    subject = Subject.of(results.model, results.xs)
    failed = [r for r in lg.records if r.verdict == "failed"]
    data = {"summary": lg.summary, "claims": lg.records, "published": subject.published,
            "weights_sha256": subject.weights_sha256, "text_sha256": subject.text_sha256}
    if failed:
        data["failures"] = [f"claim {r.id}: {r.reason}" for r in failed]
    renderable, extra = render.ledger_section(lg.records, lg.summary, subject)
    return renderable, data | extra


LEDGER = Analysis(
    name="ledger", result=Ledger, compute=_ledger,
    render=render.ledger,
    options=(option("--only", metavar="SEED", default=None,
                    help=f"only one seed's claims ({', '.join(SEEDS)}, or the seed's file name)"),
             option("--strict", action="store_true", help="exit 1 if any claim in the chosen set differs "
                    "(claims not applicable to another model never count)"),
             option("--verdict", choices=("reproduced", "differs", "not-measurable", "not-applicable", "failed"),
                    default=None,
                    help="list only claims with this verdict (the summary still counts the whole chosen set)")),
    section=Section("ledger", "Claims ledger", _section))


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
        shown = [r for r in records if r.verdict == args.verdict.replace("-", " ")]
    if args.json:
        emit_json(shown)
    else:
        for r in render.ledger_renderables(shown, summary):
            console.print(r)
    failed = [r for r in records if r.verdict == "failed"]
    for r in failed:  # a crashing measurement is a bug: named on stderr, exit 1
        err_console.print(f"verify: claim {r.id}: {r.reason}", markup=False, highlight=False)
    if failed or (args.strict and summary.total["differs"] > 0):
        return 1
    return 0


COMMAND = Command("verify", "claims ledger: each paper claim with its measured value and a verdict", run,
                  options=(o.MODEL_TEXT, LEDGER.options, o.JSON), units=(LEDGER,))
