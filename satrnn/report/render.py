"""Renderers: one per analysis, used by its command and by the report (a renderable from the analysis's
result), plus the small helpers they share. Values are printed literally (never read as rich markup)."""
from __future__ import annotations

import math

import numpy as np
from rich.console import Group
from rich.highlighter import ReprHighlighter
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from satrnn.ledger.claims import VERDICTS
from satrnn.ledger.display import difference_text, measured_text
from satrnn.rnn.text import display_byte

BAR = 40
VERDICT_STYLE = {"reproduced": "green", "differs": "red", "not measurable": "yellow", "not applicable": "dim",
                 "failed": "bold red"}
SHORT_VERDICT = {"not measurable": "not meas.", "not applicable": "n/a"}


# ---- small rendering helpers ------------------------------------------------------------------------

def fmt(v, digits: int = 4) -> str:
    """Compact human formatting for measured values of any kind."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return str(v)
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
            return f"{v:.3e}"
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(digits - len(str(int(abs(v)))), 1)}f}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt(x, digits) for x in v) + "]"
    return str(v)


def bars(rows, width: int = 30, title: str | None = None, value_fmt=lambda v: fmt(v)) -> Table:
    """A horizontal bar chart as a rich table: rows of (label, value)."""
    t = Table(title=escape(title) if title else None, title_justify="left", box=None, pad_edge=False,
              show_header=False)
    t.add_column("label", justify="right", no_wrap=True)
    t.add_column("bar", no_wrap=True, overflow="crop", ratio=1)
    t.add_column("value", justify="right", no_wrap=True)
    vals = [float(v) for _, v in rows]
    top = max([abs(v) for v in vals] + [1e-300])
    for (label, v), fv in zip(rows, vals):
        n = int(round(width * abs(fv) / top))
        t.add_row(Text(str(label)), Text("█" * n + ("▏" if n == 0 and fv != 0 else ""),
                                   style="cyan" if fv >= 0 else "magenta"), value_fmt(v))
    return t


def kv_table(pairs, title: str | None = None) -> Table:
    t = Table(title=escape(title) if title else None, title_justify="left", show_header=False, box=None,
              pad_edge=False)
    t.add_column("quantity", style="bold")
    t.add_column("value", overflow="fold")
    for k, v in pairs:
        t.add_row(Text(k, style="bold"), v if isinstance(v, Text) else Text(v if isinstance(v, str) else fmt(v)))
    return t


_HIGHLIGHT = ReprHighlighter()


def line(text: str, markup: bool = True, style: str = "") -> Text:
    """One line as `console.print(text, style=style)` shows it: rich markup read (unless markup=False) and the
    console's default highlighting (numbers, quoted strings) applied. Renderers use it for the sentences
    commands print."""
    return _HIGHLIGHT(Text.from_markup(text, style=style) if markup else Text(text, style=style))


def notice(title: str, reason: str) -> Panel:
    return Panel(Text(reason, style="yellow"), title=escape(title), title_align="left", border_style="yellow")


# ---- the claims ledger (`satrnn verify`, report section ledger) -----------------------------------------------

class LedgerTable:
    """One seed's claims (`LedgerRecord`s) as a table that adapts to the width it is rendered at (statements when
    wide)."""

    def __init__(self, seed: str, records: list):
        self.seed, self.records = seed, records

    def __rich_console__(self, console, options):
        wide = options.max_width >= 120
        t = Table(title=self.seed, title_justify="left", expand=True)
        t.add_column("claim", overflow="fold", ratio=4 if wide else 3)
        t.add_column("paper", justify="right", overflow="fold", ratio=1)
        t.add_column("measured", justify="right", overflow="fold", ratio=1, min_width=8)
        t.add_column("verdict", no_wrap=True, min_width=10)
        t.add_column("difference / reason", overflow="fold", ratio=3)
        for r in self.records:
            v = r.verdict
            extra = ""
            if v == "differs":   # the difference and the tolerance, in the paper's unit
                extra = difference_text(r)
            elif v in ("not measurable", "failed"):
                extra = r.reason or ""
            elif v == "not applicable":
                extra = (r.reason or "").split(":")[0]
            if r.note:
                extra = (extra + "; " if extra else "") + r.note
            claim = Text(r.id, style="bold")
            if wide:
                claim += Text("\n" + r.statement, style="dim")
            t.add_row(claim, Text(r.paper_value), Text(measured_text(r)),
                      Text(v if wide else SHORT_VERDICT.get(v, v), style=VERDICT_STYLE[v]), Text(extra))
        yield t


def ledger(lg) -> Group:
    """The claims ledger (a `satrnn.ledger.claims.Ledger`) as `satrnn verify` prints it in full."""
    return Group(*ledger_renderables(lg.records, lg.summary))


def ledger_renderables(records, summary) -> list:
    """A table per seed (every claim, its paper value, measurement and verdict) and the summary table."""
    by_seed: dict[str, list] = {}
    for r in records:
        by_seed.setdefault(r.seed, []).append(r)
    out = [LedgerTable(seed, recs) for seed, recs in by_seed.items()]
    out.append(summary_table(summary))
    out.append(Text(summary_line(summary)))
    if summary.tanh is not None:
        out.append(Text(arithmetic_line(summary.tanh)))
    return out


def arithmetic_line(tanh: str) -> str:
    """Which float32 tanh the claims were judged under, and what that means for the papers' values."""
    if tanh == "fdlibm":
        return ("Arithmetic: judged under the fdlibm float32 tanh, bit-identical to the glibc <= 2.40 tanhf the "
                "papers' programs called (satrnn's own, the same on every host).")
    return (f"Arithmetic: judged under the {tanh} float32 tanh (correctly rounded); the papers' values come from "
            "the fdlibm tanhf (glibc <= 2.40), so quantities that depend on the last bits may differ from them.")


def summary_table(summary) -> Table:
    t = Table(title="Claims per seed and verdict", title_justify="left")
    t.add_column("seed")
    for v in VERDICTS:
        t.add_column(v, justify="right", style=VERDICT_STYLE[v])
    t.add_column("total", justify="right")
    for seed, d in summary.per_seed.items():
        t.add_row(seed, *(str(d[v]) for v in VERDICTS), str(d["total"]))
    tot = summary.total
    t.add_row(Text("all", style="bold"), *(str(tot[v]) for v in VERDICTS), str(tot["total"]))
    return t


def summary_line(summary) -> str:
    tot = summary.total
    return (f"{tot['total']} claims: " + ", ".join(f"{tot[v]} {v}" for v in VERDICTS) + " — " +
            "; ".join(f"{s[:3]}: " + "/".join(str(d[v]) for v in VERDICTS) for s, d in summary.per_seed.items()))


# ---- margins and the Boolean view (automaton.margins; `satrnn margins`, report sections margins and sign) ---

def _hist(title, rows, label) -> Table:
    t = Table(title=title, show_edge=False, title_justify="left")
    t.add_column("bin")
    t.add_column("count", justify="right")
    t.add_column("%", justify="right")
    t.add_column("", overflow="crop", no_wrap=True)
    top = max(r.pct for r in rows) if rows else 1.0
    for r in rows:
        t.add_row(label(r), f"{r.count:,}", f"{r.pct:.3f}", "#" * max(1, round(BAR * r.pct / top)))
    return t


def margins(m) -> Group:
    """q1_margins (an `automaton.margins.MarginReport`): summary, histograms, lowest neurons, smallest
    margins, the mantissa argument (paper-compatible and corrected)."""
    s = Table(title=f"Margin summary (float32 run, {m.steps:,} steps x {m.H} neurons)", show_edge=False,
              title_justify="left")
    s.add_column("quantity")
    s.add_column("value", justify="right")
    for k, v in [("neuron-steps", f"{m.neuron_steps:,}"), ("mean margin", f"{m.mean_margin:.4f}"),
                 ("median margin", f"{m.median_margin:.4f}"), ("min margin", f"{m.min_margin:.3e}"),
                 ("margins < 1", f"{m.small:,} ({m.small_pct:.2f}%)"),
                 ("margins < 0.1", f"{m.tiny:,} ({m.tiny_pct:.2f}%)"),
                 ("bpc (full readout)", f"{m.bpc_full:.4f}"),
                 ("bpc (sign readout, float recurrence)", f"{m.bpc_sign_readout:.4f}")]:
        s.add_row(k, v)
    parts = [s,
             _hist("Margin histogram (paper bins of width 5; last bin open)", m.histogram,
                   lambda r: f"[{r.lo:g}, {r.hi:g})" if math.isfinite(r.hi) else f">= {r.lo:g}"),
             _hist("Margin histogram (decades)", m.histogram_log,
                   lambda r: "exactly 0" if r.hi == 0 else f"[{r.lo:.0e}, {r.hi:.0e})")]
    t = Table(title="Neurons with the smallest mean margin", show_edge=False, title_justify="left")
    for c in ("neuron", "mean", "min", "steps < 1"):
        t.add_column(c, justify="right")
    for r in m.per_neuron_lowest[:10]:
        t.add_row(str(r.neuron), f"{r.mean:.3f}", f"{r.min:.2e}", str(r.n_small))
    parts.append(t)
    t = Table(title="Smallest margins", show_edge=False, title_justify="left")
    for c in ("t", "neuron", "z", "byte x_t", "next byte"):
        t.add_column(c, justify="right")
    for r in m.smallest[:10]:
        t.add_row(str(r.t), str(r.neuron), f"{r.z:+.3e}", str(r.byte), str(r.next_byte))
    parts.append(t)
    mm, mc = m.mantissa, m.mantissa_corrected
    parts.append(Text.assemble(("The mantissa cannot reach (paper-compatible): ", "bold"),
                               f"delta_max = {mm.delta_max:.3e}, mu_min = {mm.mu_min:.3e}, safety factor = "
                               f"{mm.safety_factor:.0f} (its closing line is printed unconditionally)"))
    parts.append(Text.assemble(("Corrected: ", "bold"),
                               f"min over neurons of min-margin/delta = {mc.min_ratio:.1f} (neuron "
                               f"{mc.argmin_neuron}); rigorous float32 accumulation bound up to "
                               f"{mc.max_accumulation_bound:.2e}; {mc.steps_within_accumulation_bound} "
                               f"neuron-step(s) have a margin within it (min margin/bound = "
                               f"{mc.min_margin_over_bound:.2f})"))
    return Group(*parts)


def boolean(b, float_bpc: float | None = None) -> Group:
    """q1_boolean (an `analyses.boolean_figures.BooleanReport`, the sign-only view): W_h sign structure, flip
    sensitivity, sign dynamics driven by the text from both starts, distinct sign states, automaton fallbacks;
    float_bpc: the float32 reference's bpc for comparison, if given."""
    w = b.wh_sign_structure
    parts = [Text.assemble((f"Boolean view ({b.semantics}): ", "bold"),
                           f"W_h > 0.001: {w.positive:,}, < -0.001: {w.negative:,}, near zero: "
                           f"{w.near_zero:,}; mean fan-in (|w| > 0.1) {b.mean_fan_in:.2f}")]
    if b.flip_sensitivity:
        f, ib = b.flip_sensitivity, b.input_byte_sensitivity
        parts.append(Text(f"flip sensitivity at t=42: mean {f.mean_sensitivity:.2f} neurons per flipped input "
                          f"neuron; input byte sensitivity min {ib.min} (excluding the actual byte: "
                          f"{ib.min_excluding_actual_byte}), max {ib.max}, mean {ib.mean:.2f}"))
    t = Table(title="Sign-only dynamics driven by the text", show_edge=False, title_justify="left")
    for c in ("start", "bpc", "mean flips/step", "disagreements with float signs"):
        t.add_column(c, justify="right")
    fv = b.float_vs_sign
    t.add_row("all -1 (papers')", f"{b.dynamics.bpc:.4f}", f"{b.dynamics.mean_flips:.2f}",
              f"{fv.minus_start:,} / {fv.neuron_steps:,}")
    t.add_row("all +1 (sign of h=0)", f"{b.dynamics_plus_start.bpc:.4f}",
              f"{b.dynamics_plus_start.mean_flips:.2f}", f"{fv.plus_start:,} / {fv.neuron_steps:,}")
    if float_bpc is not None:
        t.add_row("float32 reference", f"{float_bpc:.4f}", "", "")
    parts.append(t)
    u = b.unique
    parts.append(Text(f"unique sign vectors: {u.unique_hash} / {u.steps} by the papers' hash, "
                      f"{u.unique_exact} exactly (log2 = {u.entropy_bits:.1f}); automaton fallbacks "
                      f"{b.fallbacks.fallbacks:,} of {b.fallbacks.neuron_steps:,} neuron-steps"))
    return Group(*parts)


# ---- the claims an analysis measures (the commands offsets, pmi, factor-map, counting) -------------------------

def claim_entries(records, title: str = "Claims of the seeds this analysis measures (satrnn verify lists all)"):
    """The ledger's records for the claims an analysis command measures, as a ledger table."""
    return LedgerTable(title, records)


# ---- saturation (analyses.saturation; `satrnn saturation`, report section saturation) -------------------------

def saturation(r, top: int = 10) -> Group:
    """q4 saturation (an `analyses.saturation.SaturationReport`): the most volatile neurons, the flip and
    saturation classes, dwell times and the global dwell-time distribution (d = 1..49, as the paper prints it)."""
    from satrnn.analyses.saturation import CLASSES, PRINTED_DWELL_MAX, SAT_CLASSES
    th = r.threshold
    t = Table(title=f"Neurons by sign flips over {r.steps - 1:,} transitions"
                    + (f" (saturated: |h| >= {th:g})" if th is not None else ""), title_justify="left")
    for c in ("neuron", "flips", "mean|h|", "min|h|", "% sat", "dwell mode", "class (paper)", "saturation (corrected)"):
        t.add_column(c, justify="right")
    for j in r.order[:top]:
        t.add_row(f"h{j}", str(int(r.flips[j])), f"{r.mean_abs_h[j]:.4f}", f"{r.min_abs_h[j]:.4f}",
                  f"{r.pct_sat[j]:.1f}", str(int(r.dwell_mode[j])), r.flip_class[j], r.saturation_class[j])
    parts = [t,
             Text("classes by flip count (paper): " + ", ".join(f"{c} {r.class_counts[c]}" for c in CLASSES)),
             Text("classes by saturation (corrected): "
                  + ", ".join(f"{c} {r.saturation_class_counts[c]}" for c in SAT_CLASSES)),
             Text(f"mean flips per neuron {r.mean_flips:.1f}; one flip per {r.steps_per_flip:.2f} steps; "
                  f"saturated neuron-steps {r.neuron_steps_saturated_pct:.2f}%"),
             Text(f"mean dwell {r.mean_dwell:.3f} steps (paper-compatible, dwells < 100); "
                  f"{r.mean_dwell_all:.3f} including {r.dropped_dwells} dwell(s) >= 100 (corrected)")]
    G = np.asarray(r.dwell_hist)
    gmax = max(int(G[1:PRINTED_DWELL_MAX + 1].max()), 1)
    t = Table(title="Global dwell-time distribution (d = 1..49, as printed by the paper)", title_justify="left")
    for c in ("dwell", "count", ""):
        t.add_column(c, justify="left" if not c else "right", no_wrap=not c, overflow="crop")
    for d in range(1, min(PRINTED_DWELL_MAX + 1, G.shape[0])):
        if G[d] > 0:
            t.add_row(str(d), str(int(G[d])), Text("\u2588" * max(1, round(30 * int(G[d]) / gmax)), style="cyan"))
    parts.append(t)
    return Group(*parts)


def saturation_positions(rows) -> Table:
    """The paper's per-position rows of a `SaturationReport` (`satrnn saturation --positions`)."""
    t = Table(title="Per position (h_t after byte t)", title_justify="left")
    for c in ("t", "saturated", "flips", "min|h|", "flipped neurons"):
        t.add_column(c, justify="right")
    for row in rows:
        f = row.flipped
        t.add_row(str(row.t), str(row.n_sat), str(row.n_flip), f"{row.min_abs:.4f}",
                  " ".join(map(str, f[:8])) + (" ..." if len(f) > 8 else ""))
    return t


# ---- co-flips (analyses.coflip; `satrnn coflip`, report section coflip) -----------------------------------------

def coflip(rep, summ, min_jaccard, top_k=None, seed: int = 0, top: int | None = None) -> Group:
    """Co-flip pairs (by count), the Jaccard maximum, the graph (edges Jaccard >= min_jaccard and/or each
    node's top_k partners, seeded Louvain communities) and its hubs."""
    pairs = rep.top_pairs if top is None else rep.top_pairs[:top]
    t = Table(title=f"Top {len(pairs)} co-flipping pairs over {rep.transitions:,} transitions", title_justify="left")
    for c in ("pair", "co-flips", "Jaccard", "flips a", "flips b"):
        t.add_column(c, justify="right")
    for r in pairs:
        t.add_row(f"h{r.a}-h{r.b}", str(r.coflips), f"{r.jaccard:.3f}", str(r.flips_a),
                  str(r.flips_b))
    parts = [t]
    tie = rep.top_pairs_ties
    if tie.tie_at_cut:
        parts.append(Text(f"tie at the cut: {tie.pairs_with_count_at_cut} pairs have {tie.count_at_cut} "
                          "co-flips"))
    mj = rep.max_jaccard
    parts.append(Text(f"pairs with Jaccard > 0.5: {rep.pairs_jaccard_gt_half}"
                      + (f"; max Jaccard {mj.jaccard:.3f} (h{mj.a}-h{mj.b})" if mj else "")))
    parts.append(Text(f"graph: {summ.nodes} nodes, {summ.edges} edges (Jaccard >= {min_jaccard}"
                      + (f", top-{top_k} per node" if top_k else "") + f"), Louvain seed {seed}, "
                      f"modularity {summ.modularity:.3f}, {summ.n_components} component(s)"))
    t = Table(title="Communities (size >= 2)", title_justify="left")
    t.add_column("id", justify="right")
    t.add_column("size", justify="right")
    t.add_column("members", overflow="fold")
    for c in summ.communities:
        if c.size >= 2:
            t.add_row(str(c.id), str(c.size), " ".join(f"h{j}" for j in c.members))
    parts.append(t)
    t = Table(title="Hubs (by summed Jaccard)", title_justify="left")
    for c in ("neuron", "strength", "degree", "betweenness", "community", "flips", "promotes", "demotes"):
        t.add_column(c, justify="right")
    for h in summ.hubs:
        t.add_row(f"h{h.neuron}", f"{h.strength:.3f}", str(h.degree), f"{h.betweenness:.4f}",
                  str(h.community), str(h.flips), Text(repr(h.promotes_chars)), Text(repr(h.demotes_chars)))
    parts.append(t)
    return Group(*parts)


# ---- knockout (analyses.knockout.neurons_report; `satrnn knockout`, report section knockout) -------------------

def _ko_bar(value: float, vmax: float, width: int = 24) -> Text:
    """A bar proportional to max(value, 0) / vmax; negative values get a red marker."""
    if value < 0:
        return Text("-", style="red")
    return Text("\u2588" * (0 if vmax <= 0 else round(width * value / vmax)), style="cyan")


def knockout(rep, top: int = 30, sign_top: int = 20) -> Group:
    """q3_neurons (an `analyses.knockout.NeuronsReport`): single-neuron readout knockout ranking (top rows),
    ties, promoted/demoted bytes of the top neurons, cumulative removal and keep-top-k, per-neuron sign-only
    readout."""
    from satrnn.analyses.knockout import PRINTED_CUMULATIVE_K, PRINTED_KEEP_K
    ko, cum, keep, so = rep.knockout, rep.cumulative, rep.keep_top_k, rep.sign_only
    parts = [Text.assemble("baseline ", (f"{rep.baseline_bpc:.4f}", "bold"),
                           f" bpc over {rep.predictions:,} predictions; readout-only evaluation from one "
                           f"trajectory ({100 * ko.exact_cell_fraction:.4f}% exact logit cells)")]
    dmax = float(ko.delta.max())
    t = Table(title="Single-neuron readout knockout (Wy column zeroed), by delta bpc", title_justify="left")
    for c in ("rank", "neuron", "bpc", "delta", "", "|Wy col|", "mean|h|"):   # the bar column crops, never "…"
        t.add_column(c, justify="left" if c == "" else "right", overflow="crop" if c == "" else "ellipsis",
                     no_wrap=c == "")
    for r, j in enumerate(ko.order[:top]):
        d = float(ko.delta[j])
        t.add_row(str(r + 1), f"h{j}", f"{ko.bpc_ko[j]:.4f}", f"{d:+.4f}", _ko_bar(d, dmax),
                  f"{ko.wy_col_norm[j]:.2f}", f"{ko.mean_abs_h[j]:.3f}")
    parts.append(t)
    parts.append(Text("ties in the ranking: " + (", ".join(str(g) for g in ko.ties) if ko.ties else "none")))
    t = Table(title="Top neurons: promoted / demoted output bytes (largest / smallest Wy)", title_justify="left")
    for c in ("neuron", "promotes", "demotes"):
        t.add_column(c)
    for row in rep.top_neurons:
        t.add_row(f"h{row.neuron}", Text(" ".join(repr(x.char) for x in row.promotes)),
                  Text(" ".join(repr(x.char) for x in row.demotes)))
    parts.append(t)
    t = Table(title="Cumulative removal (top k columns zeroed) and keep-top-k", title_justify="left")
    for c in ("k", "removed: bpc", "delta", "kept: bpc", "% of gain (8 bit)", "% of gain (unigram)"):
        t.add_column(c, justify="right")

    def cell(table, k, field, spec, unit=""):  # "—" for a k the result did not evaluate
        v = table.at(k, field)
        return "—" if v is None else format(v, spec) + unit

    for k in sorted(set(PRINTED_CUMULATIVE_K) | set(PRINTED_KEEP_K)):
        if k > rep.H:
            continue
        t.add_row(str(k), cell(cum, k, "bpc", ".4f"), cell(cum, k, "delta", "+.4f"),
                  cell(keep, k, "bpc", ".4f") if k else "", cell(keep, k, "pct_of_gain", ".1f", "%") if k else "",
                  cell(keep, k, "pct_of_gain_unigram", ".1f", "%") if k else "")
    parts.append(t)
    t = Table(title="Per-neuron sign-only readout (h_j -> sign), by |delta|", title_justify="left")
    for c in ("neuron", "bpc", "delta", "knockout rank"):
        t.add_column(c, justify="right")
    for j in so.order[:sign_top]:
        t.add_row(f"h{j}", f"{so.bpc[j]:.4f}", f"{so.sd[j]:+.4f}", str(int(ko.rank[j]) + 1))
    parts.append(t)
    return Group(*parts)


def redux_table(rows) -> Table:
    """The report's redux rows (top-k readout + Wh pruned, dynamics re-run): dicts k, theta, bpc, delta, params."""
    t = Table(title="redux: top-k readout + Wh pruned (|w| < theta zeroed), dynamics re-run", title_justify="left")
    for c in ("k", "theta", "bpc", "Δ", "params (DEFINITIONS 8.4 rule)"):
        t.add_column(c, justify="right")
    for r in rows:
        t.add_row(str(r.k), str(r.theta), f"{r.bpc:.4f}", f"{r.delta:+.4f}", f"{r.params:,}")
    return t


def redux(out, model_H: int, wh_size: int, wx_size: int) -> Group:
    """One evaluated reduced model (`satrnn redux` without --sweep): what is kept, its bpc against the baseline,
    its parameter count, the smaller model (and where it was written)."""
    d = out.redux
    lines = [line(f"redux: {d.n_kept_readout} readout neuron(s) kept, Wh kept {d.wh_kept:,}/{wh_size:,}, Wx kept "
                  f"{d.wx_kept:,}/{wx_size:,} ({'strict |w| < T' if d.strict else '|w| <= T'})"),
             line(f"bpc [bold]{out.bpc:.4f}[/bold] (baseline {out.baseline_bpc:.4f}, delta {out.delta:+.4f})")]
    p = out.params
    lines.append(line(f"parameters (paper's count: Wx + kept Wh + bh + 256 k + by): {p.total:,} "
                      f"({p.pct_of_full:.1f}% of {p.full:,})"))
    s = out.small_model
    lines.append(line(f"smaller model: H = {s.H} live neuron(s), {s.stored_params:,} stored parameters, "
                      f"{s.nonzero_params:,} non-zero"))
    if out.out is not None:
        lines.append(line(f"wrote {out.out}; its bpc {s.bpc:.6f} equals the masked evaluation"))
    return Group(*lines)


def redux_sweep(rep) -> Group:
    """q5_redux (an `analyses.knockout.ReduxReport`): the Wh and Wx pruning grids, top-k x Wh pruning, seed
    001's minimal-model configurations, the |Wh| distribution and 8.4's parameter count."""
    parts = [line(f"baseline [bold]{rep.baseline_bpc:.4f}[/bold] bpc; ranking ties: {rep.ties or 'none'}")]
    for rows, title in ((rep.wh_pruning, "Wh pruning (|w| < theta zeroed)"),
                        (rep.wx_pruning, "Wx pruning (|w| < theta zeroed)")):
        t = Table(title=title, title_justify="left")
        for c in ("theta", "zeroed", "% zeroed", "bpc", "delta"):
            t.add_column(c, justify="right")
        for r in rows:
            t.add_row(f"{r.theta:.1f}", f"{r.n_zeroed:,}", f"{r.pct_zeroed:.1f}", f"{r.bpc:.4f}", f"{r.delta:+.4f}")
        parts.append(t)
    t = Table(title="Combined: keep top k readout neurons x Wh pruning", title_justify="left")
    for c in ("k", "theta", "Wy kept %", "Wh kept", "Wh kept %", "bpc", "delta", "params"):
        t.add_column(c, justify="right")
    for r in rep.combined:
        t.add_row(str(r.k), f"{r.theta:.1f}", f"{r.wy_pct_kept:.1f}", f"{r.wh_kept:,}", f"{r.wh_pct_kept:.1f}",
                  f"{r.bpc:.4f}", f"{r.delta:+.4f}", f"{r.params:,}")
    parts.append(t)
    t = Table(title="Seed 001 minimal-model configurations (measured)", title_justify="left")
    for c in ("configuration", "bpc", "delta", "params (8.4 rule)", "live neurons", "shrunk non-zero params"):
        t.add_column(c, justify="right")
    for r in rep.synthesis:
        t.add_row(r.label, f"{r.bpc:.4f}", f"{r.delta:+.4f}", f"{r.params:,}", str(r.live_neurons),
                  f"{r.shrunk_params_nonzero:,}")
    parts.append(t)
    w = rep.weight_distribution
    parts.append(line("|Wh| distribution: " + ", ".join(f"p{p} {v:.4f}" for p, v in w.percentiles.items())
                      + f", min {w.min:.2e}, max {w.max:.4f}, mean {w.mean:.4f}"))
    p = rep.param_count
    parts.append(line(f"redux parameter count (k = {p.k}, theta = {p.theta}): {p.total:,} of {p.full:,} "
                      f"({p.pct_of_full:.1f}%): Wx {p.Wx:,}, Wh {p.Wh:,}, bh {p.bh}, Wy {p.Wy:,}, by {p.by}"))
    return Group(*parts)


# ---- flip cascades and Derrida curves (automaton.cascade; `satrnn cascade`, report section cascades) ----------

def cascade(name: str, s) -> Group:
    """One trajectory's flip cascades (an `automaton.cascade.CascadeSummary`, with `start` and the self-bit and
    fragile corrections when present): d_1, fates after k steps, distance by step, d_1 histogram, top input
    bytes and most contagious neurons."""
    o = s.one_step
    lines = [Text.assemble((f"{name} trajectory", "bold"), (f" ({s.start})" if s.start is not None else "")
                           + f": {s.flips:,} flips, k = {s.k}"),
             Text(f"  one-step cascade d_1: mean {o.mean:.3f} (95% CI {o.ci95[0]:.3f}..{o.ci95[1]:.3f}, "
                  f"{o.ci}), median {o.median:.0f}, max {o.max}"
                  + (f"; excluding the flipped neuron's own bit {s.one_step_others:.3f}"
                     if s.one_step_others is not None else ""))]
    if s.fragile_one_step is not None:
        f = s.fragile_one_step
        lines.append(Text(f"  flips at fragile neuron-steps ({s.fragile_definition}): mean d_1 {f.mean:.3f} "
                          f"over {f.flips:,}"))
    fa = s.fates
    lines.append(Text(f"  after {s.k} steps: died {100 * fa['died']:.1f}%, persisted (d = 1) "
                      f"{100 * fa['persisted']:.1f}%, spread (d > 1) {100 * fa['spread']:.1f}%"))
    lines.append(Text("  mean distance by step: " + " ".join(f"{v:.1f}" for v in s.mean_distance_by_step)))
    h = o.histogram
    last = max(i for i, v in enumerate(h) if v) if any(h) else 0
    lines.append(Text("  d_1 histogram: " + " ".join(f"{i}:{v}" for i, v in enumerate(h[: last + 1]) if v)))
    t = Table(title="Top input bytes x_{t+1} by mean d_1")
    for c in ("byte", "flips", "mean d_1"):
        t.add_column(c)
    for r in s.per_byte[:8]:
        t.add_row(Text(f"0x{r.byte:02x} '{display_byte(r.byte)}'"), f"{r.flips:,}", f"{r.mean_d1:.2f}")
    lines.append(t)
    pn = np.array(s.per_neuron_d1)
    top = np.argsort(-pn, kind="stable")[:8]
    lines.append(Text("  most contagious neurons (mean d_1): " + ", ".join(f"h{j} {pn[j]:.2f}" for j in top)))
    return Group(*lines)


def derrida(name: str, d) -> Text:
    """A Derrida curve (an `automaton.cascade.DerridaCurve`): its slope at d = 1 with the CI, and D(d) at powers
    of 2."""
    c = d.derrida_coefficient
    ds = list(d.d)
    return Text.assemble((f"Derrida ({name} pairs)", "bold"),
                         f": slope at d=1 = {c.mean:.3f} (95% CI {c.ci95[0]:.3f}..{c.ci95[1]:.3f}, "
                         f"{d.ci}, n = {c.n}); D(d) at d = "
                         + ", ".join(str(i) for i in ds if i & (i - 1) == 0) + ": "
                         + " ".join(f"{m:.1f}" for i, m in zip(ds, d.mean) if i & (i - 1) == 0))


def flip_spread(out) -> Group:
    """`satrnn cascade` (an `analyses.boolean_figures.FlipSpread`): each trajectory's cascades, the papers'
    flip-sensitivity figures, the readings of 'one flip changes N neurons', the Derrida curves."""
    parts = [cascade(name, s) for name, s in out.cascades.items()]
    p = out.paper_compatible
    if p.flip_sensitivity_t42 is not None:
        f = p.flip_sensitivity_t42
        parts.append(Text.assemble(("q1_boolean 3.3", "bold"), f" (f32-seq, beta from all-zero bits): state at "
                                   f"t={f.t} {f.state_first16}, mean sensitivity {f.mean_sensitivity:.2f}"))
    if p.influence_graph is not None:
        g = p.influence_graph
        parts.append(Text.assemble(("q1_bool_attractor 4.2", "bold"),
                                   f" ({g.positions} positions): mean influence per edge {g.mean_influence:.4f} "
                                   f"(= {g.mean_out_degree:.3f} neurons changed per flip); top edges "
                                   + ", ".join(f"h{e.source}->h{e.target} {e.frac:.3f}"
                                               for e in g.top_edges[:5])))
    t = Table(title="Readings of 'one flip changes N neurons' (all measured here)")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for name, v in out.candidates.items():
        t.add_row(Text(name), f"{v:.3f}")
    parts.append(t)
    for name, d in (out.derrida.items() if out.derrida is not None else ()):
        parts.append(derrida(name, d))
    return Group(*parts)


# ---- sparse differentiation and Q1 sparsity (`satrnn attribution`, `satrnn sparsity`, report section attribution)

def sparse_diff(out) -> Group:
    """Seed 002 (an `analyses.sparse_diff.SparseDiff`): gradient sparsity, backward norm growth,
    per-offset attribution, worked examples, notes."""
    g = out.gradient
    parts = [Text.assemble(("Sparse differentiation", "bold"),
                           f" ({', '.join(f'{k}={v}' for k, v in out.choices.as_dict().items())})"),
             Text(f"mean ||g_t|| = {g.mean_norm:.4f}; top-1/5/10 neurons capture "
                  + " / ".join(f"{100 * g.top_share[k]:.1f}%" for k in ("1", "5", "10")) + " of ||g_t||^2"),
             Text("most frequent argmax |g_t|: " + ", ".join(f"h{r.neuron} ({r.positions})"
                                                              for r in g.top1_neurons[:6]))]
    t = Table(title="Backward norm growth ||g_{t->t-k}||")
    for c in ("k", "mean (common)", "ratio", "mean (valid)", "ratio"):
        t.add_column(c, justify="right")
    for r in out.norm_growth:
        t.add_row(str(r.k), f"{r.mean_norm_common:.4f}", f"{r.ratio_common:.3f}",
                  f"{r.mean_norm_valid:.4f}", f"{r.ratio_valid:.3f}")
    parts.append(t)
    t = Table(title="Per-offset attribution attr(t, k) = Wx[:, x]^T g")
    for c in ("k", "mean attr", "mean |attr|", "positions"):
        t.add_column(c, justify="right")
    for r in out.attribution:
        t.add_row(str(r.k), f"{r.signed:+.4f}", f"{r.unsigned:.4f}", str(r.positions))
    parts.append(t)
    for e in out.examples:
        s = e.strongest_signed
        parts.append(Text(f"t = {e.t}: input {e.input_char!r} predicting {e.target_char!r} "
                          f"(p = {e.p_true:.4f}, {'correct' if e.correct else 'wrong'}), "
                          f"||g|| = {e.norm:.4f}; "
                          "top " + ", ".join(f"h{n.neuron} ({n.g:+.4f})" for n in e.top_neurons[:3])
                          + (f"; strongest k = {s.k} ({s.char!r}, {s.attr:+.4f})" if s else "")))
    parts += [Text(f"note: {note}", style="dim") for note in out.notes]
    return Group(*parts)


def sparsity(out) -> Group:
    """Q1 sparsity (an `analyses.sparsity.Q1Sparsity`): significant weights, the sparsity distribution, the
    breakdown by pattern class, never-active patterns, the depth profile, notes."""
    sig = out.significant
    parts = [Text.assemble(("Q1 sparsity", "bold"), " — variant ", (out.variant, "cyan"),
                           f"; significant |w| > 0.01: {sig.total:,} (Wx {sig.Wx:,}, Wh {sig.Wh:,}, "
                           f"Wy {sig.Wy:,}); bpc {out.forward.bpc:.4f} over "
                           f"{out.forward.predictions:,} predictions")]
    t = Table(title="Sparsity Distribution")
    for c in ("tau", "mean n", "median", "min", "max", "n/sig"):
        t.add_column(c, justify="right")
    for r in out.distribution:
        t.add_row(f"{r.tau:.0e}", f"{r.mean_n:.1f}", f"{r.median:g}", str(r.min), str(r.max),
                  f"{r.n_over_sig:.4f}")
    parts.append(t)
    t = Table(title="Breakdown by Pattern Class (mean per position)")
    for c in ("tau", "Wx", "Wh", "Wy", "Wh share"):
        t.add_column(c, justify="right")
    for r in out.class_breakdown:
        share = "-" if r.share_Wh is None else f"{100 * r.share_Wh:.1f}%"
        t.add_row(f"{r.tau:.0e}", f"{r.mean_Wx:.1f}", f"{r.mean_Wh:.1f}", f"{r.mean_Wy:.2f}", share)
    parts.append(t)
    na = out.never_active
    occ = na.occurring
    parts.append(Text(f"Never active (tau = 0.01): Wx {na.Wx:,}/{na.of['Wx']:,}, Wh {na.Wh:,}/"
                      f"{na.of['Wh']:,}, Wy {na.Wy:,}/{na.of['Wy']:,}, total {na.total:,}/"
                      f"{na.of['total']:,}; over occurring bytes: Wx {occ.Wx:,}/{occ.Wx_of:,}, "
                      f"Wy {occ.Wy:,}/{occ.Wy_of:,}"))
    t = Table(title="Depth Profile: Mean Attribution Mass by Offset")
    for c in ("d", "mean mass", "count", "fraction of d=0"):
        t.add_column(c, justify="right")
    for r in out.depth_profile:
        fr = "-" if r.fraction_of_d0 is None else f"{r.fraction_of_d0:.3f}"
        t.add_row(str(r.d), f"{r.mean_mass:.4f}", str(r.count), fr)
    parts.append(t)
    parts += [Text(f"note: {note}", style="dim") for note in out.notes]
    return Group(*parts)


# ---- cycle searches (automaton.cycles.summarize; `satrnn cycles`, report section cycles) ---------------------

def input_label(lab) -> str:
    """A cycle search's input: a constant byte as hex and glyph, or a sequence's label as given."""
    return lab if isinstance(lab, str) else f"0x{lab:02x} '{display_byte(lab)}'"


def cycles(summary, per_input=(), rows=(), show_rows: bool = False, most: int = 30) -> Group:
    """A cycle search (an `automaton.cycles.CycleSummary` labelled by input, or the report's
    `analyses.cycle_survey.CycleSurvey`, drawn by its summary): the headline, the per-input table (when more
    than one input), the distinct cycles (first `most`) and, with show_rows, a row per start."""
    s = summary.summary() if callable(getattr(summary, "summary", None)) else summary
    parts = [Text.assemble((f"{s.jobs:,}", "bold"),
                           f" searches, budget {s.budget_steps:,} steps each: {s.distinct_cycles} distinct "
                           f"cycle(s), {s.unresolved} unresolved ({100 * s.fraction_unresolved:.1f}%), "
                           f"{s.total_steps:,} steps in {s.seconds:.1f} s "
                           f"({(s.steps_per_second or 0):,.0f} steps/s), {s.fallbacks} fallbacks")]
    if len(per_input) > 1:
        t = Table(title="Per input")
        for c in ("input", "resolved", "distinct cycles", "periods (steps)", "max transient"):
            t.add_column(c)
        for r in per_input:
            ps = ", ".join(str(p) for p in r.periods[:6]) + (" ..." if len(r.periods) > 6 else "")
            t.add_row(Text(input_label(r.input)), f"{r.resolved}/{r.starts}", str(r.distinct_cycles),
                      ps, str(r.max_transient) if r.max_transient is not None else "-")
        parts.append(t)
    if s.cycles:
        t = Table(title="Cycles (rep = smallest state on the cycle at sequence boundaries)")
        for c in ("input", "rep", "period", "starts", "basin fraction", "transient min..max"):
            t.add_column(c)
        for c in s.cycles[:most]:
            t.add_row(Text(input_label(c.input)), Text(c.rep), f"{c.period:,}", str(c.starts),
                      f"{c.basin_fraction:.3f}", f"{c.transient_min:,}..{c.transient_max:,}")
        parts.append(t)
        if len(s.cycles) > most:
            parts.append(Text(f"... {len(s.cycles) - most} more cycles (use --json)"))
    if show_rows:
        t = Table(title="Per start")
        for c in ("start", "input", "status", "transient", "period", "rep"):
            t.add_column(c)
        for r in rows:
            t.add_row(Text(r.start_source), Text(input_label(r.input)), r.status,
                      str(r.transient) if r.transient is not None else "-",
                      str(r.period) if r.period is not None else "-",
                      Text(r.rep or "no cycle within budget"))
        parts.append(t)
    return Group(*parts)


def class_lines(classes, most: int = 12) -> list[str]:
    """The paper's final-state classes (`analyses.boolean_figures.TrialClass`), one line per class size:
    classes of the same size are listed together (50 singleton classes are one line, not 50 identical ones)."""
    groups: dict[int, list] = {}
    for c in classes:
        groups.setdefault(int(c.size), []).append(c)
    lines = []
    for size, cs in sorted(groups.items(), key=lambda kv: -kv[0]):
        trials = ", ".join(str(c.first_trial) for c in cs[:most]) + (", ..." if len(cs) > most else "")
        each = f"{size} trial{'s' if size != 1 else ''} ({cs[0].percent:.0f}%)"
        lines.append(f"class of trial {trials}: {each}" if len(cs) == 1 else
                     f"{len(cs)} classes of {each} each, first trials {trials}")
    return lines


def paper_cycles(paper, semantics: str, summary, rows) -> Group:
    """`satrnn cycles --paper`: q1_bool_attractor 4.3 / 4.4 as the program computes them (an
    `analyses.boolean_figures.AttractorSearch`), then Brent (`semantics`) from the same starts."""
    a = paper
    lines = [line(f"[bold]Paper-compatible[/bold] (q1_bool_attractor 4.3/4.4, f32-seq, srand({a.seed}), input "
                  f"x_42 = 0x{a.input:02x} '{display_byte(a.input)}'):"),
             line(f"  4.3: {a.unique_final_states} unique final states out of {a.trials} after "
                  f"{a.steps} steps; fixed points reached {a.fixed_points_reached}; mean convergence step "
                  f"{a.mean_convergence:.1f} ({a.steps} = never)")]
    for cl in class_lines(a.classes):
        lines.append(Text("       " + cl))
    per = a.cycle_period
    lines.append(line(f"  4.4: period {per}" + (" (no cycle <= 100)" if per == 0 else "")
                      + f" after {a.warmup} warm-up steps"))
    lines.append(line(f"[bold]Honest version[/bold]: Brent ({semantics}) from the same {len(rows)} starts:"))
    lines.append(cycles(summary, [], rows, True))
    return Group(*lines)


def exhaustive_cycles(ex, input_lab, pinned: bool) -> Table:
    """Every cycle of an exhaustive enumeration (an `automaton.cycles.Exhaustive`) under one input (its label):
    rep, period, basin and basin fraction of the first 40."""
    N = ex.n_states
    free = f" ({ex.H - len(ex.pins)} free neurons)" if pinned else ""
    t = Table(title=f"All {N:,} states{free}, input {input_label(input_lab)}: {int(ex.reps.shape[0])} cycle(s), "
                    f"max depth {int(ex.depth.max())}"
                    + (f" passes of the {ex.L}-byte sequence" if ex.L > 1 else " steps"))
    for c in ("rep", "period", "basin", "basin fraction"):
        t.add_column(c)
    for h, p, b in list(zip(ex.rep_hex(), ex.periods, ex.basins))[:40]:
        t.add_row(h, str(int(p)), f"{int(b):,}", f"{int(b) / N:.4f}")
    return t


def cycle_survey(sv, command: str, *more) -> Group:
    """The report's cycle survey (an `analyses.cycle_survey.CycleSurvey`): what was searched, what closed, the
    kernel's speed, the command that repeats it, and its cycles."""
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
    rows.append(("same search", Text(command, style="cyan")))
    head = Text(f"{sv.starts} random starts (seed {sv.seed}) x {len(sv.inputs)} most used bytes, "
                f"{sv.budget:,} steps each, {sv.semantics} semantics")
    return Group(head, kv_table(rows), cycles(sv.summary(), most=12), *more)


# ---- the model and the reference (`satrnn info`, `satrnn iso`, report sections model and reference) ---------

def info(s, vocab: str) -> Group:
    """`satrnn info` (an `analyses.model_info.ModelSummary`): the per-array table, significant patterns,
    spectral radius, the vocabulary (shown as `vocab`) and the import provenance."""
    from satrnn.analyses.model_info import PERCENTILES
    names = list(s.matrices)
    t = Table(title=f"Elman RNN, H = {s.H}, {s.params:,} parameters", title_justify="left")
    t.add_column("")
    for name in names:
        t.add_column(name, justify="right")
    mats = s.matrices
    t.add_row("shape", *("x".join(map(str, mats[n].shape)) for n in names))
    t.add_row("params", *(f"{mats[n].params:,}" for n in names))
    t.add_row("|w| > 0.01", *(f"{mats[n].count_abs_gt_001:,}" for n in names))
    t.add_row("min |w|", *(f"{mats[n].abs_min:.3g}" for n in names))
    for p in PERCENTILES:
        t.add_row(f"p{p} |w|", *(f"{mats[n].abs_percentiles[str(p)]:.4g}" for n in names))
    t.add_row("max |w|", *(f"{mats[n].abs_max:.4g}" for n in names))
    t.add_row("mean |w|", *(f"{mats[n].abs_mean:.4g}" for n in names))
    parts = [t, line(f"significant patterns (|w| > 0.01 in Wx, Wh, Wy): {s.significant_patterns_001:,}"),
             line(f"spectral radius of Wh: {s.spectral_radius_Wh:.4f}"), line(f"vocabulary: {vocab}", markup=False)]
    prov = s.provenance
    if prov:
        parts.append(line(f"imported from {prov.get('format')} file {prov.get('file')} (sha256 {prov.get('sha256')}), "
                          f"{prov.get('layout')} layout, V = {prov.get('V')}, E = {prov.get('E')}; tensors: "
                          + ", ".join(f"{r}={n}" for r, n in (prov.get("tensors") or {}).items() if n is not None),
                          markup=False))
    return Group(*parts)


def model_section(s, bpc: float, predictions: int, n_bytes: int) -> Group:
    """The report's model summary: a `ModelSummary`'s arrays, the float32 bpc over the text, the spectral
    radius of Wh."""
    t = Table(title=f"Elman RNN, H = {s.H}, {s.params:,} parameters, text {n_bytes:,} bytes", title_justify="left")
    t.add_column("matrix")
    t.add_column("shape", justify="right")
    t.add_column("params", justify="right")
    t.add_column("|w|>0.01", justify="right")
    t.add_column("median |w|", justify="right")
    t.add_column("max |w|", justify="right")
    for name, m in s.matrices.items():
        t.add_row(name, "×".join(map(str, m.shape)), f"{m.params:,}", f"{m.count_abs_gt_001:,}",
                  fmt(m.abs_percentiles["50"]), fmt(m.abs_max))
    kv = kv_table([("bpc (float32, clamped)", f"{bpc:.6f} over {predictions:,} predictions"),
                   ("spectral radius of Wh", fmt(s.spectral_radius_Wh))])
    return Group(t, kv)


def iso(r) -> Group:
    """`satrnn iso` (an `automaton.iso.IsoVerdict`): the verdict, what was compared, the comparison's numbers
    and the first disagreements."""
    colour = "green" if r.isomorphic else "red"
    parts = [line(f"[bold {colour}]{escape(r.verdict)}[/]"), line(r.compared, markup=False, style="dim")]
    t = Table(show_header=False)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    a, p = r.activation_check, r.preactivations
    rows = [
        ("sign mismatches [h >= 0] / IEEE sign bit", f"{r.sign_mismatches:,} / {r.signbit_mismatches:,} "
                                                     f"of {r.neuron_steps:,}"),
        ("states bit-identical", f"{r.states_bit_identical} ({r.state_bit_differences:,} differ)"),
        ("max |h_UM - h_RNN|", f"{r.max_abs_diff:.3g}"),
        ("bpc RNN", f"{r.bpc_rnn:.12f}"),
        ("bpc UM", f"{r.bpc_um:.12f}"),
        ("|bpc diff| (tolerance)", f"{r.bpc_abs_diff:.3g} ({r.bpc_tolerance:g})"),
        ("weights round trip bit-identical", str(r.weights_roundtrip)),
        ("pre-activations, UM fed RNN states: bit differences", f"{p.forced_bit_differences:,}"),
        ("pre-activations, free run: bit differences", f"{p.free_run_bit_differences:,}"),
        (f"activation {a.um} vs {a.rnn}", f"{a.bit_differences:,} differ, max {a.max_ulps:.0f} ulp"),
    ]
    c = r.pattern_counts
    rows.append((f"patterns with |w| > {c.threshold}",
                 f"Wx {c.Wx:,}  Wh {c.Wh:,}  Wy {c.Wy:,}  (total {c.total:,}; bias {c.bias:,})"))
    for k, v in rows:
        t.add_row(escape(k), escape(v))
    parts.append(t)
    for d, title in ((r.first_sign_disagreement, "first sign disagreement"),
                     (r.first_disagreement, "first state difference")):
        if d is not None:
            parts.append(line(f"{title}: t={d.t} neuron {d.neuron} (byte 0x{d.byte:02x}): h_RNN={d.h_rnn:.9g} "
                              f"h_UM={d.h_um:.9g} z_RNN={d.z_rnn:.9g} z_UM={d.z_um:.9g} margin |z_RNN|={d.margin:.3g}"))
    return Group(*parts)


def reference(f, f64, r, sign_diff: int) -> Table:
    """The report's reference section: the float32 and float64 bpc and sign agreement, and the UM check (an
    `IsoVerdict`) in brief."""
    verdict = Text("isomorphic to the bit" if r.isomorphic else "NOT isomorphic",
                   style="green" if r.isomorphic else "red")
    rows = [("bpc float32 (papers' arithmetic)", f"{f.bpc:.8f}"), ("bpc float64 cross-check", f"{f64.bpc:.8f}"),
            ("float32 vs float64 sign bits differing", f"{sign_diff:,} of {f.hs.size:,}"),
            ("UM (pattern table) bpc", f"{r.bpc_um:.8f}"), ("UM sign mismatches", fmt(r.sign_mismatches)),
            ("max |h_UM - h_RNN|", fmt(r.max_abs_diff)), ("UM-RNN verdict", verdict)]
    pc = r.pattern_counts
    rows.append(("UM patterns |w| > 0.01", ", ".join(f"{k} {fmt(v)}" for k, v in pc.items()
                                                     if isinstance(v, (int, np.integer)))))
    return kv_table(rows)


# ---- carrier / pattern and justification chains (`satrnn carrier`, `satrnn justify`) -----------------------

def carrier(out, H: int) -> Group:
    """Seed 003 section 5 (an `analyses.carrier.CarrierDecomposition`): Table 2, Table 3 (offsets < 5, every
    5th, and the groups), the output decomposition, notes."""
    t2r = out.table2
    parts = [line(f"[bold]Carrier/pattern decomposition[/bold] "
                  f"({', '.join(f'{k}={v}' for k, v in out.choices.as_dict().items())})")]
    t = Table(title=f"Table 2: t = {t2r.positions[0]}..{t2r.positions[1]} ({t2r.count} positions)")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("mean pattern-sensitive neurons", f"{t2r.mean_pattern_sensitive:.2f} / {H} "
              f"({100 * t2r.fraction_pattern_sensitive:.1f}%)")
    t.add_row("mean carrier-determined neurons", f"{t2r.mean_carrier_determined:.2f}")
    t.add_row("actual bpc", f"{t2r.actual_bpc:.4f}")
    t.add_row("carrier-only bpc", f"{t2r.carrier_only_bpc:.4f}")
    t.add_row("pattern gain (bpc)", f"{t2r.pattern_gain:.4f}")
    bif = t2r.byte_identity_fraction
    t.add_row("byte-identity fraction", "-" if bif is None else f"{100 * bif:.1f}%")
    t.add_row("top pattern-sensitive", ", ".join(f"h{r.neuron} ({r.positions})" for r in t2r.top_sensitive[:6]))
    parts.append(t)
    t3r = out.table3
    t = Table(title=f"Table 3: influence by offset, t = {t3r.positions[0]}..{t3r.positions[1]}")
    for c in ("d", "signed", "unsigned", "|grad|", "decay"):
        t.add_column(c, justify="right")
    fm = lambda v, f: "-" if v is None else format(v, f)
    for r in t3r.rows:
        if r.d < 5 or r.d % 5 == 0:
            t.add_row(str(r.d), fm(r.signed, "+.3f"), fm(r.unsigned, ".3f"), fm(r.grad_norm, ".2f"),
                      fm(r.decay, ".3f"))
    for g in t3r.groups:
        t.add_row(f"{g.d[0]}-{g.d[1]}", fm(g.signed, "+.3f"), fm(g.unsigned, ".3f"), fm(g.grad_norm, ".2f"),
                  fm(g.decay, ".3f"))
    parts.append(t)
    d = out.decomposition
    if d:
        wb = d.with_bias
        parts.append(line(f"Output decomposition at t = {d.t} ({escape(repr(d.input_char))} -> "
                          f"{escape(repr(d.target_char))}): logit "
                          f"{wb.total:+.2f} = carrier {wb.carrier:+.2f} ({100 * wb.carrier_fraction:.1f}%) + "
                          f"pattern {wb.pattern:+.2f} (by\\[y] = {d.bias:+.2f} included); carrier-only cost "
                          f"{d.carrier_only_bits:.4f} bits; top " + ", ".join(
                              f"h{n.neuron} ({n.wy_dh:+.2f})" for n in d.top_neurons[:3])))
    for note in out.notes:
        parts.append(line(f"[dim]note: {escape(note)}[/dim]"))
    return Group(*parts)


def justify(out) -> Group:
    """Q6 (an `analyses.justify.Q6Justify`): each position's chain (its prediction, the neurons that drive it,
    their top Wh inputs and a second hop), the backbone counts, the dropped positions, notes."""
    parts = []
    for c in out.chains:
        j = c.justification
        verdict = "[green]CORRECT[/green]" if j.correct else (
            f"[red]wrong[/red], true {escape(repr(c.target_char))} P = {j.true_p:.4f}")
        parts.append(line(f"[bold]t = {c.t}[/bold] context {escape(repr(c.context))} -> "
                          f"{escape(repr(c.target_char))}: P(true) = {c.p_true:.4f}, {c.bits:.3f} bits; predicts "
                          f"{escape(repr(j.predicted_char))} with P = {j.p:.3f} ({j.surprisal_bits:.1f} bits) "
                          f"{verdict}; driven by h{j.driven_by} (delta {j.delta:+.3f}, {j.label})"))
        parts.append(line("  top predictions: "
                          + escape(", ".join(f"{p.char!r} {p.p:.3f}" for p in c.top_predictions))))
        t = Table(show_header=True, box=None, pad_edge=False)
        for col in ("neuron", "sign", "Wy*h", "delta bits", "z", "bias", "Wx[x_t]", "top Wh", "second hop"):
            t.add_column(col, justify="right")
        for e in c.neurons:
            tw = " ".join(f"h{w.k}({w.c:+.1f})" for w in (e.top_wh or ()))
            sh = e.second_hop
            shs = f"h{sh.neuron} z={sh.z:.1f} <- h{sh.top_source}({sh.c:+.1f})" if sh else "-"
            t.add_row(f"h{e.neuron}", f"{e.sign:+d}", f"{e.contrib:+.3f}", f"{e.delta:+.3f}",
                      f"{e.z:.1f}" if e.z is not None else "-", f"{e.bias:+.2f}" if e.bias is not None else "-",
                      f"{e.wx:+.2f}" if e.wx is not None else "-", tw or "-", shs)
        parts.append(t)
    b = out.backbone
    parts.append(line(f"[bold]Backbone counts over {b.positions} positions[/bold]: rank-1 ('driven by') "
                      + ", ".join(f"h{r.neuron} {r.count}" for r in b.rank1[:6])
                      + "; in top 5: " + ", ".join(f"h{r.neuron} {r.count}" for r in b.top5[:6])
                      + "; rank-1 first Wh source: "
                      + ", ".join(f"h{r.neuron} {r.count}" for r in b.rank1_first_source[:4])))
    if out.dropped:
        parts.append(line(f"dropped (t >= n-2): {out.dropped}"))
    for note in out.notes:
        parts.append(line(f"[dim]note: {escape(note)}[/dim]"))
    return Group(*parts)


def carrier_brief(t2) -> Table:
    """Table 2 of the carrier decomposition in three lines (the report's attribution section)."""
    return kv_table([("pattern-sensitive neurons per position", f"{t2.mean_pattern_sensitive:.1f}"),
                     ("bpc actual / carrier-only", f"{t2.actual_bpc:.4f} / {t2.carrier_only_bpc:.4f}"),
                     ("fraction of prediction from byte identity", f"{100 * t2.byte_identity_fraction:.1f}%")],
                    title="carrier / pattern decomposition (seed 003 §5)")


# ---- data statistics: q2 offsets, q7 PMI, the factor map, counting ----------------------------------------------

def _opt(v, k) -> str:
    return "-" if v is None else f"{v:.{k}f}"


def offsets(r, fc) -> Group:
    """q2_offsets (an `analyses.offsets.Q2Offsets`) and the flip check (a `FlipCheck`): the depth profile, the
    neurons the paper prints, the dominant-offset histogram, the MI-greedy offsets and the factor-map pair."""
    parts = [line(f"[bold]q2_offsets[/bold] ({r.variant}: {r.flip_convention}), "
                  f"{len(r.positions)} positions, depths 1..{r.max_depth}, {r.n_bytes:,} bytes")]
    t = Table(title="Depth profile")
    for c in ("d", "pairs", "mean sign changes", "mean output KL (bits)"):
        t.add_column(c, justify="right")
    for row in r.depth_profile:
        t.add_row(str(row.d), str(row.pairs), _opt(row.mean_sign_changes, 2), _opt(row.mean_output_kl_bits, 4))
    parts.append(t)
    t = Table(title="Per-neuron dominant offsets (rows printed by the paper: j < 20 or dom > 5)")
    for c in ("neuron", "dom", "total", "d=1", "N_j(1..10)"):
        t.add_column(c, justify="right")
    for nr in r.neurons:
        if nr.printed_by_paper:
            t.add_row(f"h{nr.neuron}", str(nr.dom_offset), str(nr.total_changes), str(nr.changes_at_d1),
                      " ".join(f"{v:2d}" for v in nr.profile))
    parts.append(t)
    t = Table(title="Dominant offset histogram")
    for c in ("d", "count", "%"):
        t.add_column(c, justify="right")
    for h in r.offset_histogram:
        if h.count:
            t.add_row(str(h.d), str(h.count), f"{h.percent:.1f}")
    parts.append(t)
    g = r.mi_greedy
    parts.append(line("MI-greedy offsets " + ", ".join(f"d={x.d}: {x.mean:.2f}/pos ({x.percent:.1f}%)"
                                                         for x in g.rows)
                      + f"; total [bold]{g.total_percent:.1f}%[/bold]"))
    fm = r.factor_map_pair
    parts.append(line(f"Factor-map pair: d=1 {fm.d1_percent:.1f}%, d=7 {fm.d7_percent:.1f}%, "
                      f"total {fm.total_percent:.1f}%"))
    parts.append(line(f"Flip check (0.7): {fc.flipped_bytes_occurring_in_text} flipped bytes occur in the text; "
                      f"mean |Wx column| occurring {fc.mean_wx_norm_occurring:.3f} vs flipped "
                      f"{_opt(fc.mean_wx_norm_flipped_absent, 3)}"))
    return Group(*parts)


def pmi(alg=None, top=None, ho=None) -> Group:
    """Q7: q7_algebraic (a `Q7Algebraic`: the Q7 unit's result), after the top skip-bigram PMI per offset
    (`TopPmi` rows) when given, and q7_higher_order (a `Q7HigherOrder`) when given."""
    parts = []
    if top is not None:
        t = Table(title="Top skip-bigram PMI per offset (ties -> smallest (x, y))")
        for c in ("d", "x", "y", "PMI", "J_d", "tied cells"):
            t.add_column(c, justify="right")
        for r in top:
            if r.x is not None:
                t.add_row(str(r.d), repr(r.x_char), repr(r.y_char), f"{r.pmi:.2f}", str(r.joint), str(r.ties))
        parts.append(t)
    if alg is None:
        return Group(*parts)
    t = Table(title=f"q7_algebraic: flip attribution vs PMI > 0.5 ({len(alg.positions)} positions)")
    for c in ("d", "sum |delta| (A)", "aligned (B)", "aligned %"):
        t.add_column(c, justify="right")
    for r in alg.rows:
        t.add_row(str(r.d), f"{r.A:.3f}", f"{r.B:.3f}", f"{r.aligned_percent:.1f}")
    tot = alg.total
    t.add_row("total", f"{tot.A:.3f}", f"{tot.B:.3f}", f"[bold]{tot.aligned_percent:.1f}[/bold]")
    parts.append(t)
    parts.append(line(f"signed agreement (corrected: flip raises cost AND PMI > 0.5): "
                      f"{alg.signed_aligned_percent_corrected:.1f}%"))
    if ho is None:
        return Group(*parts)
    t = Table(title=f"q7_higher_order ({ho.variant}, {ho.n_positions} positions)")
    for c in ("d", "R_d", "bigram %", "trigram %"):
        t.add_column(c, justify="right")
    for r in ho.rows:
        t.add_row(str(r.d), f"{r.rnn_sensitivity:.3f}", f"{r.bigram_aligned_percent:.1f}",
                  f"{r.trigram_aligned_percent:.1f}")
    tot = ho.total
    t.add_row("total", f"{tot.rnn_sensitivity:.3f}", f"{tot.bigram_aligned_percent:.1f}",
              f"{tot.trigram_aligned_percent:.1f}")
    parts.append(t)
    parts.append(line(f"Improvement (trigram - bigram): [bold]{tot.improvement_points:+.2f}[/bold] points"))
    if ho.total_d2_plus is not None:
        t2 = ho.total_d2_plus
        parts.append(line(f"over d >= 2 only: bigram {t2.bigram_aligned_percent:.1f}%, trigram "
                          f"{t2.trigram_aligned_percent:.1f}%, improvement {t2.improvement_points:+.2f} points"))
    return Group(*parts)


def factor_map(fm, lad=None) -> Group:
    """The factor map (an `analyses.factor_map.FactorMap`: Table 1, the paper-shaped 'Other' row, the
    permutation null) and the explanation ladder (an `ExplanationLadder`, if computed)."""
    parts = [line(f"[bold]factor map[/bold] ({fm.target} target, offsets {fm.offsets}, window t = "
                  f"{fm.window[0]}..{fm.window[1]}, {fm.cells_per_pair_mean:.0f} cells per pair on average)")]
    t = Table(title="Table 1: offset pairs (label in list order)")
    for c in ("pair", "neurons", "mean R^2", "mean LOO R^2"):
        t.add_column(c, justify="right")
    for r in fm.table:
        t.add_row(f"({r.pair[0]}, {r.pair[1]})", str(r.neurons), f"{r.mean_r2:.3f}", f"{r.mean_r2_loo:.3f}")
    t.add_row("All", str(len(fm.neurons)), f"[bold]{fm.overall_mean_r2:.3f}[/bold]", f"{fm.overall_mean_r2_loo:.3f}")
    parts.append(t)
    other = [r for r in fm.table_paper_shape if r.pair == "Other"]
    if other:
        o = other[0]
        parts.append(line(f"Paper-shaped 'Other' (groups beyond the top 5): {o.neurons} neurons, mean R^2 "
                          f"{o.mean_r2:.3f} (mean of group means {o.mean_of_group_means:.3f})"))
    if fm.null is not None:
        parts.append(line(f"Time-permutation null (seed {fm.null.seed}, {fm.null.permutations} perms): "
                          f"mean best-pair R^2 {fm.null.mean_best_pair_r2:.3f}; leave-one-out mean R^2 at the "
                          f"chosen pair {fm.overall_mean_r2_loo:.3f}"))
    if lad is not None:
        parts.append(ladder(lad))
    return Group(*parts)


def ladder(lad) -> Group:
    """The explanation ladder (an `analyses.factor_map.ExplanationLadder`): each rung's bpc, X%, gain% and
    leave-one-out values, and L1 with the Table-1 pairs."""
    t = Table(title="Explanation ladder (in-sample cell means, float32 readout)")
    for c in ("explanation", "bpc", "X% (eq. 2)", "program gain%", "LOO bpc", "LOO X%"):
        t.add_column(c, justify="right")
    for r in lad.rows:
        loo = r.bpc_loo is not None
        t.add_row(r.explanation, f"{r.bpc:.3f}", f"{r.x_percent_eq2:.1f}", f"{r.program_gain_percent:.1f}",
                  f"{r.bpc_loo:.3f}" if loo else "", f"{r.loo_x_percent_eq2:.1f}" if loo else "")
    b = lad.L1_table1_pairs
    return Group(t, line(f"L1 with the Table-1 pairs instead of (1, d2): {b.bpc:.3f} bpc ({b.x_percent_eq2:.1f}%); "
                         f"gain% baseline M = {lad.gain_baseline_M:.3f} ({lad.gain_baseline_source})"))


def counting(r) -> Group:
    """The counting models (an `analyses.counting.CountingReport`): the greedy order (when searched) and each
    model's bpc, patterns and contexts under both codes."""
    parts = []
    if r.greedy is not None:
        t = Table(title=f"Greedy offset order (candidates 1..{r.greedy.cap})")
        for c in ("k", "added", "offsets", "bpc", "patterns", "positions"):
            t.add_column(c, justify="right")
        for s in r.greedy.steps:
            t.add_row(str(s.k), str(s.added), ",".join(map(str, s.offsets)), f"{s.bpc:.4f}", str(s.patterns),
                      str(s.positions))
        parts.append(t)
    t = Table(title="Counting models (in-sample = the paper's; sequential KT = a real adaptive code)")
    for c in ("model", "offsets", "bpc", "patterns", "contexts", "singleton ctx %", "seq. KT bpc"):
        t.add_column(c, justify="right")
    for name, m in r.models.items():
        t.add_row(name, ",".join(map(str, m.offsets)), f"{m.bpc:.4f}", str(m.patterns), str(m.contexts),
                  f"{100 * m.singleton_context_share:.1f}", f"{m.bpc_sequential_kt:.3f}")
    parts.append(t)
    return Group(*parts)


def ledger_section(records, summary, subject):
    """(renderable, extra JSON) of the report's ledger section. On the published weights and text: crashed
    measurements, the verdict summary, every claim that differs (with the difference and tolerance in the
    paper's unit, `satrnn.ledger.display`), and why claims are not measurable (extra is {}). On another model or
    text (`subject`, a `satrnn.ledger.claims.Subject`): a short summary (`satrnn.report.ledger_summary`): counts
    that account for every claim, the command that checks them on the published files, this model's headline
    values (extra: its JSON)."""
    import re

    failed = [r for r in records if r.verdict == "failed"]
    parts = []
    if failed:
        parts.append(Text("\n".join(f"{r.id}: {r.reason}" for r in failed), style="bold red"))
    if not subject.published:   # a short summary: counts for every claim, the command, this model's values
        from satrnn.report.ledger_summary import ledger_summary
        more, extra = ledger_summary(records, summary, subject)
        return Group(*parts, *more), extra
    differs = [r for r in records if r.verdict == "differs"]
    t = Table(title="Claims that differ (all of them; `satrnn verify` lists every claim)", title_justify="left",
              expand=True)
    t.add_column("claim", overflow="fold", ratio=3)
    t.add_column("paper", justify="right", overflow="fold", ratio=1)
    t.add_column("measured", justify="right", overflow="fold", ratio=1)
    t.add_column("difference (tolerance)", overflow="fold", ratio=2)
    for r in differs:   # digits enough to see why it differs, in the paper's unit (satrnn.ledger.display)
        t.add_row(Text(r.id), Text(r.paper_value), Text(measured_text(r)), Text(difference_text(r)))
    nm: dict[str, int] = {}
    for r in records:
        if r.verdict == "not measurable":
            key = re.split(r":|;| \(", r.reason or "")[0]
            nm[key] = nm.get(key, 0) + 1
    t2 = Table(title="Why claims are not measurable", title_justify="left")
    t2.add_column("reason", overflow="fold", max_width=100)
    t2.add_column("claims", justify="right")
    for k, v in sorted(nm.items(), key=lambda kv: -kv[1]):
        t2.add_row(Text(k), str(v))
    return Group(*parts, summary_table(summary), Text(summary_line(summary)), t, t2), {}


# ---- commands without an analysis: default, train, um ------------------------------------------------------

def _recipe_text(r) -> str:
    return (f"H={r.H}, {r.epochs} epochs, BPTT-{r.bptt}, {r.optimizer} lr={r.lr:g} "
            f"({r.schedule}{'' if r.schedule == 'constant' else f' to {r.lr_min:g}'}), clip={r.clip:g}, seed={r.seed}, "
            f"{r.precision}")


def default_model(info, doc: dict, recipe, n_bytes: int, tanh: str, cache_path) -> Table:
    """`satrnn default`: where the default model is read from, its status, bpc on the corpus, recipe, training
    time, and how to override it (`info`: rnn.default.build_model's `ModelSource`; `doc`: the command's JSON
    document)."""
    r = recipe
    t = Table(title="default model", title_justify="left", show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    t.add_row("file", info.path + (" (shipped with satrnn)" if info.status == "bundled" else ""))
    t.add_row("status", f"{info.status}" + (f" ({info.reason})" if info.status == "trained" else ""))
    t.add_row("bpc", f"{doc['bpc']:.4f} on the bundled corpus ({n_bytes:,} bytes; float32 reference forward, "
                     f"{tanh} tanh)")
    t.add_row("recipe", f"H={r.H}, {r.epochs} epochs, BPTT-{r.bptt}, {r.optimizer} lr={r.lr:g} {r.schedule}, "
                        f"clip={r.clip:g}, seed={r.seed}, {r.precision}")
    t.add_row("training time", f"{doc['train_seconds']:.1f} s (when it was built, {doc['created_utc']})")
    t.add_row("override", f"`satrnn default --rebuild` retrains into {cache_path} (used instead of the shipped file); "
                          "set SATRNN_HOME to cache elsewhere")
    return t


def trained(out, source: str, n_bytes: int, recipe, result, binp=None, ckpt=None) -> Table:
    """`satrnn train`: the text, the recipe, the bpc and the training time of a finished run (`result`:
    rnn.train.train's), and the extra files written."""
    st = result.state
    t = Table(title=f"trained {out}", title_justify="left", show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    t.add_row("text", f"{source} ({n_bytes:,} bytes)")
    t.add_row("recipe", _recipe_text(recipe))
    t.add_row("bpc", f"{result.bpc:.4f} (float32 reference forward); last epoch's training bpc "
                     f"{st.history[-1]:.4f}")
    t.add_row("time", f"{result.seconds:.1f} s ({st.epoch / max(result.seconds, 1e-9):.1f} epochs/s)"
              if math.isfinite(result.seconds) else "-")
    if binp:
        t.add_row("raw .bin", str(binp))
    if ckpt:
        t.add_row("checkpoint", str(ckpt))
    return t


def um_patterns(H: int, n_patterns: int, counts_all, counts_thr, counts_sel, threshold: float, strongest) -> Group:
    """`satrnn um`: pattern counts per class (all, above the threshold, selected; `PatternCounts`) and the
    strongest selected patterns (rows with class, source, target, strength, sign)."""
    from satrnn.automaton.um import CLASS_NAMES
    tab = Table(title=f"UM patterns of an H={H} model ({n_patterns:,} = one per weight)")
    tab.add_column("class")
    tab.add_column("all", justify="right")
    tab.add_column(f"|w| > {threshold}", justify="right")
    tab.add_column("selected", justify="right")
    for name in (*CLASS_NAMES, "total"):
        tab.add_row(name if name != "total" else "Wx+Wh+Wy", f"{counts_all[name]:,}", f"{counts_thr[name]:,}",
                    f"{counts_sel[name]:,}")
    parts = [tab]
    if strongest:
        st = Table(title=f"strongest {len(strongest)} selected patterns")
        for c in ("class", "source", "target", "strength", "sign"):
            st.add_column(c, justify="right" if c in ("strength", "sign") else "left")
        for r in strongest:
            st.add_row(r["class"], r["source"], r["target"], r["strength"], "+" if r["sign"] > 0 else "-")
        parts.append(st)
    return Group(*parts)
