"""`satrnn margins MODEL TEXT`: pre-activation margins (q1_margins) and the Boolean view (q1_boolean).

Two units: the margins (`automaton.margins.margin_report` -> `MarginReport`, `render.margins`, the report's
section "margins", the ledger's measurement "margins") and the Boolean view (`analyses.boolean_figures.
boolean_report` -> `BooleanReport`, `render.boolean`, the section "sign", the measurement "sign_dyn_gain")."""
from __future__ import annotations

import numpy as np

from satrnn import options as o
from satrnn.analyses.boolean_figures import HEAD_BYTES, BooleanReport, boolean_fold, boolean_report
from satrnn.automaton.margins import MarginReport, margin_fold, margin_report
from satrnn.cache import Results
from satrnn.clikit import bytes_callback, console, emit_json, model_and_text_source, progress
from satrnn.ledger.claims import Measured
from satrnn.report import render
from satrnn.rnn.shared_slices import SlicePool
from satrnn.rnn.stream import fold_chunks, prediction_chunks, wide_chunk
from satrnn.rnn.text import iter_text, load_text
from satrnn.unit import Analysis, Command, Section

_SUMMARY = ("neuron_steps", "mean_margin", "median_margin", "min_margin", "small", "small_pct", "tiny", "tiny_pct",
            "bpc_full", "bpc_sign_readout", "histogram", "histogram_log", "per_neuron_lowest", "smallest",
            "mantissa", "mantissa_corrected")


def _margins_section(results: Results):
    r = results.get(MARGINS)
    d = r.as_dict()
    return render.margins(r), {k: d[k] for k in _SUMMARY}


def _margins_measure(results: Results, field):
    r = results.get(MARGINS)
    if field == "pct_ge_1":
        return 100.0 - r.small_pct
    if field == "pct_small":
        return r.small_pct
    if field == "pct_tiny":
        return r.tiny_pct
    if field == "mean":
        return Measured(r.mean_margin, f"median {r.median_margin:.3g}, min {r.min_margin:.3g}")
    if field == "delta_max":
        return float(r.mantissa.delta_max)
    if field == "mean_over_delta":
        return r.mean_margin / float(r.mantissa.delta_max)
    low = r.per_neuron_lowest[0]
    if field == "min_mean_neuron":
        return Measured(int(low.neuron), f"mean margin {low.mean:.3g}")
    if field == "min_mean":
        return Measured(float(low.mean), f"h{low.neuron}")
    raise KeyError(field)


MARGINS = Analysis(
    name="margins", result=MarginReport,
    compute=lambda results: margin_report(results.model, results.xs),
    render=render.margins,
    section=Section("margins", "Pre-activation margins", _margins_section),
    measures={"margins": _margins_measure})


def _sign_section(results: Results):
    b = results.get(BOOLEAN)
    data = {"semantics": b.semantics, "dynamics": b.dynamics, "dynamics_plus_start": b.dynamics_plus_start,
            "unique": b.unique, "float_vs_sign": b.float_vs_sign, "fallbacks": b.fallbacks,
            "flip_sensitivity_mean": b.flip_sensitivity.mean_sensitivity if b.flip_sensitivity else None,
            "wh_sign_structure": b.wh_sign_structure, "float_bpc": results.fwd.bpc}
    return render.boolean(b, results.fwd.bpc), data


def _sign_dyn_gain(results: Results):
    """bpc(float32 forward) - bpc(sign-only dynamics from all -1, f32-seq step): positive = sign is better."""
    b = results.get(BOOLEAN).dynamics.bpc
    return Measured(float(results.fwd.bpc - b), f"sign dynamics {b:.4f} vs float {results.fwd.bpc:.4f} bpc")


BOOLEAN = Analysis(
    name="boolean", result=BooleanReport,
    compute=lambda results: boolean_report(results.model, results.xs, semantics="f32-seq"),
    render=render.boolean,
    options=(o.SEMANTICS_OPTION,),
    section=Section("sign", "Sign dynamics", _sign_section),
    measures={"sign_dyn_gain": _sign_dyn_gain})


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
    # the readouts of both folds run as slices on one pool (rnn.shared_slices), beside the recurrence
    # running ahead, the counting and the walks: the cores stay busy without parallel regions meeting
    with progress() as bar, SlicePool() as slices:
        tick = bytes_callback(bar, "margins and sign dynamics (one pass, bytes)")
        tick2 = bytes_callback(bar, "exact median (second pass, bytes)")
        m, b = fold_chunks(prediction_chunks(model, source, chunk=wide_chunk(model.H),
                                             progress=lambda done: tick(done, n1), ahead=True),
                           margin_fold(model, n, rerun=lambda: prediction_chunks(
                               model, again(), progress=lambda done: tick2(done, n1)), slices=slices),
                           boolean_fold(model, n, head, args.semantics, slices=slices), concurrent=True)
    if args.json:
        emit_json({"margins": m, "boolean": b})
        return 0
    console.print(render.margins(m))
    console.print(render.boolean(b))
    return 0


COMMAND = Command("margins", "pre-activation margins on the float run and the sign-only (Boolean) dynamics (papers' "
                             "q1_margins / q1_boolean; use the first 1024 bytes for their n); streams TEXT in one "
                             "forward pass (flat memory)", run,
                  options=(o.MODEL_TEXT, BOOLEAN.options, o.JSON), units=(MARGINS, BOOLEAN))
