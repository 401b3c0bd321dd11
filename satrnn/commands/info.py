"""`satrnn info MODEL`: shapes, parameter counts, weight magnitudes, spectral radius of Wh, vocabulary and
import provenance.

The model-summary unit: `analyses.model_info.model_summary` -> `ModelSummary`, drawn by `render.info`, the
report's section "model" and the ledger's measurement "sig_patterns"."""
from __future__ import annotations

from satrnn import options as o
from satrnn.analyses.model_info import ModelSummary, model_summary
from satrnn.cache import Results
from satrnn.clikit import console, emit_json, load_model_arg
from satrnn.report import render
from satrnn.rnn.vocab import show_vocab
from satrnn.unit import Analysis, Command, Section


def _section(results: Results):
    s = results.get(MODEL_SUMMARY)
    f = results.fwd
    data = {"summary": s, "bpc": f.bpc, "predictions": f.predictions, "bytes": int(results.xs.shape[0])}
    return render.model_section(s, f.bpc, f.predictions, int(results.xs.shape[0])), data


def _sig_patterns(results: Results, cls):
    s = results.get(MODEL_SUMMARY)
    if cls == "all":
        return int(s.significant_patterns_001)
    return int(s.matrices[cls].count_abs_gt_001)


MODEL_SUMMARY = Analysis(
    name="model_summary", result=ModelSummary,
    compute=lambda results: model_summary(results.model),
    render=render.info,
    section=Section("model", "Model summary", _section),
    measures={"sig_patterns": _sig_patterns})


def run(args) -> int:
    model = load_model_arg(args)
    s = model_summary(model)
    if args.json:
        emit_json(s)
        return 0
    console.print(render.info(s, show_vocab(model.vocab)))
    return 0


COMMAND = Command("info", "shapes, parameter counts, |w| percentiles, spectral radius of Wh", run,
                  options=(o.MODEL, o.JSON), units=(MODEL_SUMMARY,))
