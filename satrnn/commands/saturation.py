"""`satrnn saturation MODEL TEXT`: per-neuron sign flips, |h|, saturation, dwell times (DEFINITIONS 5, q4).

The saturation unit: `analyses.saturation.saturation_report` -> `SaturationReport`, drawn by
`render.saturation`, the report's section "saturation" and the ledger's measurement "saturation"."""
from __future__ import annotations

from satrnn import options as o
from satrnn.analyses.saturation import SAT_THRESHOLD, SaturationReport, saturation_report
from satrnn.cache import Results
from satrnn.clikit import bytes_callback, check_float, check_int, console, emit_json, load_model_text_args, progress
from satrnn.figures import hook
from satrnn.ledger.claims import Measured
from satrnn.report import render
from satrnn.unit import Analysis, Command, Section, option


def _section(results: Results):
    r = results.get(SATURATION)
    data = {"class_counts": r.class_counts, "saturation_class_counts": r.saturation_class_counts,
            "mean_dwell": r.mean_dwell, "mean_dwell_all": r.mean_dwell_all,
            "saturated_pct": r.neuron_steps_saturated_pct,
            "top_volatile": [{"neuron": int(j), "flips": int(r.flips[j])} for j in r.order[:10]],
            "dwell_hist": r.dwell_hist[:50].tolist()}
    return render.saturation(r, top=10), data


def _measure(results: Results, field):
    r = results.get(SATURATION)
    if field == "n_volatile":
        return int(r.class_counts["volatile"])
    if field == "mean_dwell":
        return Measured(float(r.mean_dwell), f"corrected (all closed dwells): {r.mean_dwell_all:.3f}")
    if field == "max_flips_neuron":
        return Measured(r.most_volatile, f"{r.most_volatile_flips} flips")
    if field == "max_flips":
        return r.most_volatile_flips
    raise KeyError(field)


SATURATION = Analysis(
    name="saturation", result=SaturationReport, figure=hook("dwell_times", "dwell_hist"),
    compute=lambda results: saturation_report(results.model, results.xs, forward_result=results.fwd),
    render=render.saturation,
    options=(option("--threshold", type=float, default=SAT_THRESHOLD,
                    help=f"|h| >= this counts as saturated (default {SAT_THRESHOLD})"),
             o.TOP.but(help="neurons listed (by flips; default 30)"),
             option("--positions", action="store_true",
                    help="also print the paper's per-position rows (t < 10, every 5th below 50, every 50th, last; "
                         "t < 1024 and the last) and put the full per-position arrays in --json")),
    section=Section("saturation", "Saturation, flips and dwell times", _section),
    measures={"saturation": _measure})


def run(args) -> int:
    th = check_float("--threshold", args.threshold, 1e-9, 1.0)
    model, xs = load_model_text_args(args)
    top = check_int("--top", args.top, 1, model.H)
    # streamed forward: memory does not grow with the text; per-position arrays only with --positions
    with progress() as bar:
        r = saturation_report(model, xs, threshold=th, keep_positions=args.positions,
                              progress=bytes_callback(bar, "saturation (bytes)"))
    if args.json:
        doc = r.as_dict()
        doc["printed_positions"] = doc.pop("printed_rows")
        emit_json(doc)
        return 0
    if args.positions:
        console.print(render.saturation_positions(r.printed_rows))
    console.print(render.saturation(r, top=top))
    return 0


COMMAND = Command("saturation", "sign flips, saturation and dwell times per neuron (q4)", run,
                  options=(o.MODEL_TEXT, SATURATION.options, o.JSON), units=(SATURATION,))
