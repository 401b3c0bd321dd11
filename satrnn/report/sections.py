"""The full rich report (`satrnn report`): one function per section, each returning (renderable, dict).

Sections read the analyses through a shared `LedgerContext` (forward pass and analysis results computed
once, as its cached properties). A section that cannot run on this model or text (NotAvailable) renders a
short notice and reports `{"available": false, "reason": ...}`; a section that crashes is a failure
(`{"failed": true, "reason": ...}`, and `satrnn report` exits 1 naming it). Adding a section is one
decorated function: `@section(name, title)`. Workloads are kept small so that a warm run on the published
weights takes a few seconds.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import re
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from satrnn.analyses import boolean_figures
from satrnn.automaton import slices
from satrnn.ledger.claims import NotAvailable, Subject
from satrnn.ledger.display import difference_text, measured_text
from satrnn.ledger.measures import LedgerContext, redux_param_count, run_ledger
from satrnn.report import render
from satrnn.report.render import (  # noqa: F401 - re-exported
    LedgerTable,
    bars,
    fmt,
    kv_table,
    ledger_renderables,
    notice,
    summary_line,
    summary_table,
)

# ---- sections -----------------------------------------------------------------------------------------

class Section(NamedTuple):
    """A report section: its title, the function ctx -> (renderable, JSON dict), the analysis whose result
    it shows, and the renderer that draws it (shared with the analysis's command where one exists)."""
    title: str
    build: Callable
    analysis: str
    renderer: str
    background: bool = False


SECTIONS: dict[str, Section] = {}


def register_section(name: str, title: str, build: Callable, analysis: str, renderer: str = "",
                     background: bool = False) -> None:
    """Add a section to the report (in registration order): one line per section. A `background` section
    spends its time in nogil kernels (slices.run_jobs): the report starts it on a background thread at the
    beginning, so its kernels use the cores the other sections' Python leaves idle. It must touch the
    shared context only through thread-safe accessors (`LedgerContext.memo`)."""
    SECTIONS[name] = Section(title, build, analysis, renderer or f"{build.__module__}.{build.__name__}",
                             background)


def section(name: str, title: str, analysis: str, renderer: str = "", background: bool = False):
    """Decorator form of `register_section`."""
    def deco(fn):
        register_section(name, title, fn, analysis, renderer, background)
        return fn
    return deco


@section("model", "Model summary", analysis="analyses.model_info.model_summary")
def sec_model(ctx: LedgerContext):
    s = ctx.model_summary
    f = ctx.fwd
    t = Table(title=f"Elman RNN, H = {s['H']}, {s['params']:,} parameters, text {ctx.xs.shape[0]:,} bytes",
              title_justify="left")
    t.add_column("matrix")
    t.add_column("shape", justify="right")
    t.add_column("params", justify="right")
    t.add_column("|w|>0.01", justify="right")
    t.add_column("median |w|", justify="right")
    t.add_column("max |w|", justify="right")
    for name, m in s["matrices"].items():
        t.add_row(name, "×".join(map(str, m["shape"])), f"{m['params']:,}", f"{m['count_abs_gt_0.01']:,}",
                  fmt(m["abs_percentiles"]["50"]), fmt(m["abs_max"]))
    kv = kv_table([("bpc (float32, clamped)", f"{f.bpc:.6f} over {f.predictions:,} predictions"),
                   ("spectral radius of Wh", fmt(s["spectral_radius_Wh"]))])
    data = {"summary": s, "bpc": f.bpc, "predictions": f.predictions, "bytes": int(ctx.xs.shape[0])}
    return Group(t, kv), data


@section("reference", "Float32 reference and RNN-UM isomorphism", analysis="automaton.iso.check_isomorphism")
def sec_reference(ctx: LedgerContext):
    f64 = ctx.fwd_f64
    f = ctx.fwd
    r = ctx.iso
    sign_diff = int(np.count_nonzero((f.hs >= 0) != (f64.hs >= 0)))
    verdict = Text("isomorphic to the bit" if r["isomorphic"] else "NOT isomorphic",
                   style="green" if r["isomorphic"] else "red")
    rows = [("bpc float32 (papers' arithmetic)", f"{f.bpc:.8f}"), ("bpc float64 cross-check", f"{f64.bpc:.8f}"),
            ("float32 vs float64 sign bits differing", f"{sign_diff:,} of {f.hs.size:,}"),
            ("UM (pattern table) bpc", f"{r['bpc_um']:.8f}"), ("UM sign mismatches", fmt(r["sign_mismatches"])),
            ("max |h_UM - h_RNN|", fmt(r["max_abs_diff"])), ("UM-RNN verdict", verdict)]
    pc = r.get("pattern_counts") or {}
    if pc:
        rows.append(("UM patterns |w| > 0.01", ", ".join(f"{k} {fmt(v)}" for k, v in pc.items()
                                                         if isinstance(v, (int, np.integer)))))
    data = {"bpc_f32": f.bpc, "bpc_f64": f64.bpc, "f32_f64_sign_differences": sign_diff,
            "iso": {k: r[k] for k in ("isomorphic", "sign_mismatches", "max_abs_diff", "bpc_rnn", "bpc_um",
                                      "pattern_counts")}}
    return kv_table(rows), data


@section("margins", "Pre-activation margins", analysis="automaton.margins.margin_report",
         renderer="satrnn.report.render.margins")
def sec_margins(ctx: LedgerContext):
    from dataclasses import asdict

    from satrnn.automaton.margins import MarginSummary
    r = ctx.margins
    data = asdict(MarginSummary.of(r)) | {k: r[k] for k in ("histogram", "histogram_log", "per_neuron_lowest",
                                                           "smallest", "mantissa", "mantissa_corrected")}
    return render.margins(r), data


@section("sign", "Sign dynamics", analysis="analyses.boolean_figures.boolean_report",
         renderer="satrnn.report.render.boolean")
def sec_sign(ctx: LedgerContext):
    b = ctx.boolean
    data = {"semantics": b["semantics"], "dynamics": b["dynamics"], "dynamics_plus_start": b["dynamics_plus_start"],
            "unique": b["unique"], "float_vs_sign": b["float_vs_sign"], "fallbacks": b["fallbacks"],
            "flip_sensitivity_mean": b["flip_sensitivity"]["mean_sensitivity"] if b["flip_sensitivity"] else None,
            "wh_sign_structure": b["wh_sign_structure"], "float_bpc": ctx.fwd.bpc}
    return render.boolean(b, ctx.fwd.bpc), data


@section("saturation", "Saturation, flips and dwell times", analysis="analyses.saturation.saturation_report",
         renderer="satrnn.report.render.saturation")
def sec_saturation(ctx: LedgerContext):
    from satrnn.analyses.saturation import SaturationSummary
    r = ctx.saturation
    s = SaturationSummary.of(r)
    order = [int(j) for j in r["order"][:10]]
    data = {"class_counts": s.class_counts, "saturation_class_counts": s.saturation_class_counts,
            "mean_dwell": s.mean_dwell, "mean_dwell_all": s.mean_dwell_all,
            "saturated_pct": s.neuron_steps_saturated_pct, "top_volatile": [
                {"neuron": j, "flips": int(r["flips"][j])} for j in order],
            "dwell_hist": np.asarray(r["dwell_hist"])[:50].tolist()}
    return render.saturation(r, top=10), data


@section("coflip", "Co-flip graph", analysis="analyses.coflip.coflip_report", renderer="satrnn.report.render.coflip")
def sec_coflip(ctx: LedgerContext):
    from satrnn.analyses import coflip as cf
    r = ctx.coflip
    G = cf.coflip_graph(ctx.model, r, seed=0)
    s = cf.graph_summary(G)
    data = {"top_pairs": r["top_pairs"], "max_jaccard": r["max_jaccard"], "graph": s, "seed": 0}
    return render.coflip(r, s, G.graph["min_jaccard"], None, 0, top=8), data


@section("cascades", "Flip cascades and Derrida curve", analysis="automaton.cascade.flip_cascades",
         renderer="satrnn.report.render.cascade")
def sec_cascades(ctx: LedgerContext):
    from satrnn.automaton import cascade as cas
    a = ctx.automaton("exact")
    states, _ = cas.float_sign_trajectory(ctx.model, ctx.xs)
    n = ctx.xs.shape[0]
    k = 8
    t_idx = np.arange(0, max(n - 1 - k, 1), max(1, (n - 1 - k) // 64))
    c = cas.flip_cascades(a, states, ctx.xs, k, t_idx=t_idx)
    sm = cas.cascade_summary(c, ctx.H)
    dc = cas.derrida_curve(a, ctx.xs, states=states, pairs=64, seed=0, ds=[1, 2, 4, 8, 16, 32, 64])
    sens = boolean_figures.flip_sensitivity_paper(ctx.automaton("f32-seq"), ctx.xs, t=min(42, n - 2))
    rows = [("flips simulated", f"{c.d.shape[0] * c.d.shape[1]:,} (every neuron at {len(t_idx)} steps, k = {k})"),
            ("paper q1_boolean flip sensitivity at t = 42", f"{sens['mean_sensitivity']:.3f}")]
    grow = bars([(f"s={i + 1}", v) for i, v in enumerate(sm["mean_distance_by_step"])],
                title="mean Hamming distance after a single flip, by step")
    der = bars([(f"d={d}", v) for d, v in zip(dc["d"], dc["mean"])], title="Derrida curve D(d) (one step)")
    data = {"k": k, "positions": t_idx.tolist(), "summary": {kk: sm[kk] for kk in ("mean_distance_by_step", "fates")},
            "one_step_mean": sm["one_step"]["mean"], "derrida": {kk: dc[kk] for kk in ("d", "mean",
                                                                                        "derrida_coefficient")},
            "paper_sensitivity": sens["mean_sensitivity"], "seed": 0}
    return Group(kv_table(rows), render.cascade("float", sm), grow, render.derrida("data", dc), der), data


@section("cycles", "Cycle search", analysis="analyses.cycle_survey.survey", renderer="satrnn.report.render.cycles",
         background=True)
def sec_cycles(ctx: LedgerContext):
    """Brent's search from seeded random starts under the bytes the text uses most (analyses.cycle_survey).
    JSON: `cycles` = [{input, period, transient, transient_max, starts, smallest_state}], plus
    resolved_fraction, steps_per_second (kernel time only), total_steps, budget, and `command`."""
    from satrnn.analyses.cycle_survey import DEFAULT_INPUTS, most_used_bytes, survey
    inputs = most_used_bytes(ctx.xs, DEFAULT_INPUTS)
    sv = ctx.memo("cycle_survey", lambda: survey(ctx.model, inputs, automaton=ctx.automaton("exact")))
    cmd = sv.command(*getattr(ctx, "source_args", ("MODEL", "TEXT")))
    rate = sv.steps_per_second
    rows = [("searches (start x input)", f"{sv.jobs:,}: {sv.resolved:,} closed a cycle "
                                         f"({100 * sv.resolved_fraction:.0f}% resolved)"),
            ("distinct cycles", fmt(len(sv.cycles)) + (f", periods {fmt(sv.periods[:10])}" +
                                                       (f" and {len(sv.periods) - 10} more (--json)"
                                                        if len(sv.periods) > 10 else "") if sv.cycles else "")),
            ("steps simulated", f"{sv.total_steps:,} in {sv.kernel_seconds:.2f} s of kernel time"
                                + (f" ({rate:,.0f} steps/s)" if rate else ""))]
    if not sv.cycles:
        rows.append(("nothing found", f"no start closed a cycle within {sv.budget:,} steps under any of the "
                                      f"{len(sv.inputs)} inputs ({sv.total_steps:,} steps in all)"))
    rows.append(("same search", Text(cmd, style="cyan")))
    data = sv.as_dict() | {"command": cmd}
    head = Text(f"{sv.starts} random starts (seed {sv.seed}) x {len(sv.inputs)} most used bytes, "
                f"{sv.budget:,} steps each, {sv.semantics} semantics")
    from satrnn.report.render_known import known_cycles_part
    known_parts, known = known_cycles_part(ctx)   # the default model's precomputed cycles, re-verified now
    if known is not None:
        data["known"] = known
        if known.get("failures"):
            data["failures"] = known["failures"]
    return Group(head, kv_table(rows), render.cycles(sv.summary(), most=12), *known_parts), data


@section("landscape", "Attractor landscape", analysis="automaton.landscape.estimate_landscape",
         renderer="satrnn.report.render_landscape.render_landscape", background=True)
def sec_landscape(ctx: LedgerContext):
    """The landscape under the text's most used byte (render_landscape.landscape_report): exact for small H,
    else estimated from seeded starts with basin-fraction and entropy intervals and the unresolved count; for
    the default model also its precomputed landscapes, re-verified."""
    from satrnn.report.render_landscape import landscape_report
    return landscape_report(ctx)


@section("knockout", "Knockout and redux", analysis="analyses.knockout.neurons_report",
         renderer="satrnn.report.render.knockout")
def sec_knockout(ctx: LedgerContext):
    ko = ctx.knockout
    neurons = ctx.neurons
    order = [int(j) for j in ko.order[:10]]
    keep = []
    for k in (1, 5, 10, 15, 20, 30, 50, 80, 120, ctx.H):
        if k > ctx.H:
            continue
        b = ctx.keep_bpc(k)
        pct = 100.0 * (8.0 - b) / (8.0 - ctx.fwd.bpc)
        keep.append({"k": k, "bpc": b, "pct_of_gain": pct})
    t2 = Table(title="redux: top-k readout + Wh pruned (|w| < theta zeroed), dynamics re-run", title_justify="left")
    for c in ("k", "theta", "bpc", "Δ", "params (DEFINITIONS 8.4 rule)"):
        t2.add_column(c, justify="right")
    red = []
    for k, th in ((15, 2.0), (20, 1.0), (ctx.H, 0.5)):
        r = ctx.combined_row(min(k, ctx.H), th)
        prm = redux_param_count(ctx.model, min(k, ctx.H), th)
        red.append({"k": k, "theta": th, **r, "params": prm})
        t2.add_row(str(k), str(th), f"{r['bpc']:.4f}", f"{r['delta']:+.4f}", f"{prm:,}")
    data = {"knockout_top10": [{"neuron": j, "delta": float(ko.delta[j])} for j in order],
            "baseline_bpc": ctx.fwd.bpc, "keep_top_k": keep, "redux": red}
    return Group(render.knockout(neurons, top=10, sign_top=10),
                 t2), data


@section("attribution", "Attribution summaries", analysis="analyses.sparse_diff, sparsity, carrier, justify",
         renderer="satrnn.report.render.sparse_diff, satrnn.report.render.sparsity")
def sec_attribution(ctx: LedgerContext):
    parts, data = [], {}
    try:
        sd = ctx.sparse_diff
        g = sd["gradient"]
        parts.append(render.sparse_diff(sd))
        data["sparse_diff"] = {"gradient": g, "norm_growth": sd["norm_growth"]}
    except NotAvailable as e:
        parts.append(notice("sparse differentiation", str(e)))
    try:
        sp = ctx.sparsity
        parts.append(render.sparsity(sp))
        data["sparsity"] = {"distribution": sp["distribution"], "never_active": sp["never_active"]}
    except NotAvailable as e:
        parts.append(notice("sparsity", str(e)))
    try:
        ca = ctx.carrier["table2"]
        parts.append(kv_table([("pattern-sensitive neurons per position", f"{ca['mean_pattern_sensitive']:.1f}"),
                               ("bpc actual / carrier-only", f"{ca['actual_bpc']:.4f} / {ca['carrier_only_bpc']:.4f}"),
                               ("fraction of prediction from byte identity",
                                f"{100 * ca['byte_identity_fraction']:.1f}%")],
                              title="carrier / pattern decomposition (seed 003 §5)"))
        data["carrier"] = ca
    except NotAvailable as e:
        parts.append(notice("carrier", str(e)))
    try:
        js = ctx.justify
        bb = js["backbone"]
        parts.append(bars([(f"h{e['neuron']}", e["count"]) for e in bb["rank1"][:8]],
                          title=f"q6 'driven by' neuron over {bb['positions']} positions"))
        data["justify_backbone"] = {k: bb[k] for k in ("positions", "rank1", "rank1_first_source")}
    except NotAvailable as e:
        parts.append(notice("justify", str(e)))
    return Group(*parts), data


@section("ledger", "Claims ledger", analysis="satrnn.ledger.measures.run_ledger")
def sec_ledger(ctx: LedgerContext):
    """On the published weights and text: the verdict summary, every claim that differs, and why claims are not
    measurable. On another model or text: a short summary (satrnn.report.ledger_summary): counts that account
    for every claim, the command that checks them on the published files, this model's headline values."""
    records, summary = run_ledger(ctx.model, ctx.xs, ctx=ctx, show_progress=False)
    subject = Subject.of(ctx.model, ctx.xs)
    failed = [r for r in records if r["verdict"] == "failed"]
    parts = []
    if failed:
        parts.append(Text("\n".join(f"{r['id']}: {r['reason']}" for r in failed), style="bold red"))
    data = {"summary": summary, "claims": records, "published": subject.published,
            "weights_sha256": subject.weights_sha256, "text_sha256": subject.text_sha256}
    if failed:
        data["failures"] = [f"claim {r['id']}: {r['reason']}" for r in failed]
    if not subject.published:   # a short summary: counts for every claim, the command, this model's values
        from satrnn.report.ledger_summary import ledger_summary
        more, extra = ledger_summary(records, summary, subject)
        data |= extra
        return Group(*parts, *more), data
    differs = [r for r in records if r["verdict"] == "differs"]
    t = Table(title="Claims that differ (all of them; `satrnn verify` lists every claim)", title_justify="left",
              expand=True)
    t.add_column("claim", overflow="fold", ratio=3)
    t.add_column("paper", justify="right", overflow="fold", ratio=1)
    t.add_column("measured", justify="right", overflow="fold", ratio=1)
    t.add_column("difference (tolerance)", overflow="fold", ratio=2)
    for r in differs:   # digits enough to see why it differs, in the paper's unit (satrnn.ledger.display)
        t.add_row(Text(r["id"]), Text(r["paper_value"]), Text(measured_text(r)), Text(difference_text(r)))
    nm: dict[str, int] = {}
    for r in records:
        if r["verdict"] == "not measurable":
            key = re.split(r":|;| \(", r["reason"] or "")[0]
            nm[key] = nm.get(key, 0) + 1
    t2 = Table(title="Why claims are not measurable", title_justify="left")
    t2.add_column("reason", overflow="fold", max_width=100)
    t2.add_column("claims", justify="right")
    for k, v in sorted(nm.items(), key=lambda kv: -kv[1]):
        t2.add_row(Text(k), str(v))
    return Group(*parts, summary_table(summary), Text(summary_line(summary)), t, t2), data


# ---- running the report -------------------------------------------------------------------------------

def run_section(name: str, ctx: LedgerContext):
    """(renderable, dict) of one section. A section that cannot run on this model or text (NotAvailable)
    becomes a notice with `available: false`; a crash, or a section that reports `failures`, is a failure:
    `failed: true` with the reason (the report then exits 1), never hidden."""
    title, fn = SECTIONS[name].title, SECTIONS[name].build
    t0 = time.perf_counter()
    try:
        r, d = fn(ctx)
        d = {"available": True, "failed": bool(d.get("failures")), **d}
        if d["failed"]:
            d["reason"] = "; ".join(d["failures"])
    except NotAvailable as e:
        r, d = Text(str(e), style="yellow"), {"available": False, "failed": False, "reason": str(e)}
    except Exception as e:  # noqa: BLE001 - a crashing section is a failure, shown and counted
        msg = f"section failed: {type(e).__name__}: {e}"
        r, d = Text(msg, style="bold red"), {"available": False, "failed": True, "reason": msg}
    d["seconds"] = time.perf_counter() - t0
    return Panel(r, title=f"[bold]{escape(title)}", title_align="left",
                 border_style="red" if d["failed"] else "none"), d


def failures(data: dict) -> list[str]:
    """'section: reason' for every failed section of a report's JSON dict."""
    return [f"{name}: {d.get('reason')}" for name, d in data.items() if d.get("failed")]


def build_report(model, xs, sections=None, show_progress: bool = True, source_args=("MODEL", "TEXT"), ctx=None):
    """Compute the chosen sections (default: all, in order). Returns (renderables, json dict); a section's
    dict has `failed: true` when it crashed (see `failures`). source_args = how commands printed by the
    report name the model and text (() for the default model). Background sections (the kernel searches)
    run on one background thread from the start, in order; results and their order do not depend on it.
    Ctrl-C stops them after their current slice. `ctx`: a LedgerContext of this model and text to compute in
    (the caller keeps it to draw the figures from the same results), else a new one."""
    from satrnn.clikit import progress

    names = list(SECTIONS) if sections is None else list(sections)
    ctx = LedgerContext(model, xs) if ctx is None else ctx
    ctx.source_args = tuple(source_args)
    rends, data = [], {}
    cancel = threading.Event()

    def in_background(n):
        with slices.cancelled_by(cancel):
            return run_section(n, ctx)

    bg = [n for n in names if SECTIONS[n].background]
    pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-bg") if bg else None
    futures = {n: pool.submit(in_background, n) for n in bg} if pool else {}
    try:
        with (progress() if show_progress else contextlib.nullcontext()) as bar:
            task = bar.add_task("report", total=len(names)) if bar is not None else None
            done = {}
            # the foreground sections first, while the background ones run; then collect those
            for n in [n for n in names if n not in futures] + [n for n in names if n in futures]:
                if bar is not None:
                    bar.update(task, description=f"report: {SECTIONS[n].title}")
                if n in futures:
                    r, d = futures[n].result()
                    d["background"] = True
                else:
                    r, d = run_section(n, ctx)
                done[n] = (r, d)
                if bar is not None:
                    bar.update(task, advance=1)
        for n in names:
            rends.append(done[n][0])
            data[n] = done[n][1]
    except BaseException:
        cancel.set()
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return rends, data
