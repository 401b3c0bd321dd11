"""Renderers: one per analysis, used by its command and by the report (a renderable from the analysis's
result), plus the small helpers they share. Values are printed literally (never read as rich markup)."""
from __future__ import annotations

import math

import numpy as np
from rich.console import Group
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


def notice(title: str, reason: str) -> Panel:
    return Panel(Text(reason, style="yellow"), title=escape(title), title_align="left", border_style="yellow")


# ---- the claims ledger (`satrnn verify`, report section ledger) -----------------------------------------------

class LedgerTable:
    """One seed's claims as a table that adapts to the width it is rendered at (statements when wide)."""

    def __init__(self, seed: str, records: list[dict]):
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
            v = r["verdict"]
            extra = ""
            if v == "differs":   # the difference and the tolerance, in the paper's unit
                extra = difference_text(r)
            elif v in ("not measurable", "failed"):
                extra = r["reason"] or ""
            elif v == "not applicable":
                extra = (r["reason"] or "").split(":")[0]
            if r.get("note"):
                extra = (extra + "; " if extra else "") + r["note"]
            claim = Text(r["id"], style="bold")
            if wide:
                claim += Text("\n" + r["statement"], style="dim")
            t.add_row(claim, Text(r["paper_value"]), Text(measured_text(r)),
                      Text(v if wide else SHORT_VERDICT.get(v, v), style=VERDICT_STYLE[v]), Text(extra))
        yield t


def ledger_renderables(records, summary) -> list:
    """A table per seed (every claim, its paper value, measurement and verdict) and the summary table."""
    by_seed: dict[str, list] = {}
    for r in records:
        by_seed.setdefault(r["seed"], []).append(r)
    out = [LedgerTable(seed, recs) for seed, recs in by_seed.items()]
    out.append(summary_table(summary))
    out.append(Text(summary_line(summary)))
    if "tanh" in summary:
        out.append(Text(arithmetic_line(summary["tanh"])))
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
    for seed, d in summary["per_seed"].items():
        t.add_row(seed, *(str(d[v]) for v in VERDICTS), str(d["total"]))
    tot = summary["total"]
    t.add_row(Text("all", style="bold"), *(str(tot[v]) for v in VERDICTS), str(tot["total"]))
    return t


def summary_line(summary) -> str:
    tot = summary["total"]
    return (f"{tot['total']} claims: " + ", ".join(f"{tot[v]} {v}" for v in VERDICTS) + " — " +
            "; ".join(f"{s[:3]}: " + "/".join(str(d[v]) for v in VERDICTS) for s, d in summary["per_seed"].items()))


# ---- margins and the Boolean view (automaton.margins; `satrnn margins`, report sections margins and sign) ---

def _hist(title, rows, label) -> Table:
    t = Table(title=title, show_edge=False, title_justify="left")
    t.add_column("bin")
    t.add_column("count", justify="right")
    t.add_column("%", justify="right")
    t.add_column("", overflow="crop", no_wrap=True)
    top = max(r["pct"] for r in rows) if rows else 1.0
    for r in rows:
        t.add_row(label(r), f"{r['count']:,}", f"{r['pct']:.3f}", "#" * max(1, round(BAR * r["pct"] / top)))
    return t


def margins(m: dict) -> Group:
    """q1_margins (automaton.margins.margin_report): summary, histograms, lowest neurons, smallest margins,
    the mantissa argument (paper-compatible and corrected)."""
    from satrnn.automaton.margins import MarginSummary
    sm = MarginSummary.of(m)
    s = Table(title=f"Margin summary (float32 run, {m['steps']:,} steps x {m['H']} neurons)", show_edge=False,
              title_justify="left")
    s.add_column("quantity")
    s.add_column("value", justify="right")
    for k, v in [("neuron-steps", f"{sm.neuron_steps:,}"), ("mean margin", f"{sm.mean_margin:.4f}"),
                 ("median margin", f"{sm.median_margin:.4f}"), ("min margin", f"{sm.min_margin:.3e}"),
                 ("margins < 1", f"{sm.small:,} ({sm.small_pct:.2f}%)"),
                 ("margins < 0.1", f"{sm.tiny:,} ({sm.tiny_pct:.2f}%)"),
                 ("bpc (full readout)", f"{sm.bpc_full:.4f}"),
                 ("bpc (sign readout, float recurrence)", f"{sm.bpc_sign_readout:.4f}")]:
        s.add_row(k, v)
    parts = [s,
             _hist("Margin histogram (paper bins of width 5; last bin open)", m["histogram"],
                   lambda r: f"[{r['lo']:g}, {r['hi']:g})" if math.isfinite(r["hi"]) else f">= {r['lo']:g}"),
             _hist("Margin histogram (decades)", m["histogram_log"],
                   lambda r: "exactly 0" if r["hi"] == 0 else f"[{r['lo']:.0e}, {r['hi']:.0e})")]
    t = Table(title="Neurons with the smallest mean margin", show_edge=False, title_justify="left")
    for c in ("neuron", "mean", "min", "steps < 1"):
        t.add_column(c, justify="right")
    for r in m["per_neuron_lowest"][:10]:
        t.add_row(str(r["neuron"]), f"{r['mean']:.3f}", f"{r['min']:.2e}", str(r["n_small"]))
    parts.append(t)
    t = Table(title="Smallest margins", show_edge=False, title_justify="left")
    for c in ("t", "neuron", "z", "byte x_t", "next byte"):
        t.add_column(c, justify="right")
    for r in m["smallest"][:10]:
        t.add_row(str(r["t"]), str(r["neuron"]), f"{r['z']:+.3e}", str(r["byte"]), str(r["next_byte"]))
    parts.append(t)
    mm, mc = m["mantissa"], m["mantissa_corrected"]
    parts.append(Text.assemble(("The mantissa cannot reach (paper-compatible): ", "bold"),
                               f"delta_max = {mm['delta_max']:.3e}, mu_min = {mm['mu_min']:.3e}, safety factor = "
                               f"{mm['safety_factor']:.0f} (its closing line is printed unconditionally)"))
    parts.append(Text.assemble(("Corrected: ", "bold"),
                               f"min over neurons of min-margin/delta = {mc['min_ratio']:.1f} (neuron "
                               f"{mc['argmin_neuron']}); rigorous float32 accumulation bound up to "
                               f"{mc['max_accumulation_bound']:.2e}; {mc['steps_within_accumulation_bound']} "
                               f"neuron-step(s) have a margin within it (min margin/bound = "
                               f"{mc['min_margin_over_bound']:.2f})"))
    return Group(*parts)


def boolean(b: dict, float_bpc: float | None = None) -> Group:
    """q1_boolean (the sign-only view): W_h sign structure, flip sensitivity, sign dynamics driven by the
    text from both starts, distinct sign states, automaton fallbacks; float_bpc: the float32 reference's
    bpc for comparison, if given."""
    w = b["wh_sign_structure"]
    parts = [Text.assemble((f"Boolean view ({b['semantics']}): ", "bold"),
                           f"W_h > 0.001: {w['positive']:,}, < -0.001: {w['negative']:,}, near zero: "
                           f"{w['near_zero']:,}; mean fan-in (|w| > 0.1) {b['mean_fan_in']:.2f}")]
    if b["flip_sensitivity"]:
        f, ib = b["flip_sensitivity"], b["input_byte_sensitivity"]
        parts.append(Text(f"flip sensitivity at t=42: mean {f['mean_sensitivity']:.2f} neurons per flipped input "
                          f"neuron; input byte sensitivity min {ib['min']} (excluding the actual byte: "
                          f"{ib['min_excluding_actual_byte']}), max {ib['max']}, mean {ib['mean']:.2f}"))
    t = Table(title="Sign-only dynamics driven by the text", show_edge=False, title_justify="left")
    for c in ("start", "bpc", "mean flips/step", "disagreements with float signs"):
        t.add_column(c, justify="right")
    fv = b["float_vs_sign"]
    t.add_row("all -1 (papers')", f"{b['dynamics']['bpc']:.4f}", f"{b['dynamics']['mean_flips']:.2f}",
              f"{fv['minus_start']:,} / {fv['neuron_steps']:,}")
    t.add_row("all +1 (sign of h=0)", f"{b['dynamics_plus_start']['bpc']:.4f}",
              f"{b['dynamics_plus_start']['mean_flips']:.2f}", f"{fv['plus_start']:,} / {fv['neuron_steps']:,}")
    if float_bpc is not None:
        t.add_row("float32 reference", f"{float_bpc:.4f}", "", "")
    parts.append(t)
    u = b["unique"]
    parts.append(Text(f"unique sign vectors: {u['unique_hash']} / {u['steps']} by the papers' hash, "
                      f"{u['unique_exact']} exactly (log2 = {u['entropy_bits']:.1f}); automaton fallbacks "
                      f"{b['fallbacks']['fallbacks']:,} of {b['fallbacks']['neuron_steps']:,} neuron-steps"))
    return Group(*parts)


# ---- the claims an analysis measures (the commands offsets, pmi, factor-map, counting) -------------------------

def claim_entries(records, title: str = "Claims of the seeds this analysis measures (satrnn verify lists all)"):
    """The ledger's records for the claims an analysis command measures, as a ledger table."""
    return LedgerTable(title, records)


# ---- saturation (analyses.saturation; `satrnn saturation`, report section saturation) -------------------------

def saturation(r: dict, top: int = 10) -> Group:
    """q4 saturation: the most volatile neurons, the flip and saturation classes, dwell times and the global
    dwell-time distribution (d = 1..49, as the paper prints it)."""
    from satrnn.analyses.saturation import CLASSES, PRINTED_DWELL_MAX, SAT_CLASSES, SaturationSummary
    s = SaturationSummary.of(r)
    th = s.threshold
    t = Table(title=f"Neurons by sign flips over {s.steps - 1:,} transitions"
                    + (f" (saturated: |h| >= {th:g})" if th is not None else ""), title_justify="left")
    for c in ("neuron", "flips", "mean|h|", "min|h|", "% sat", "dwell mode", "class (paper)", "saturation (corrected)"):
        t.add_column(c, justify="right")
    for j in r["order"][:top]:
        t.add_row(f"h{j}", str(int(r["flips"][j])), f"{r['mean_abs_h'][j]:.4f}", f"{r['min_abs_h'][j]:.4f}",
                  f"{r['pct_sat'][j]:.1f}", str(int(r["dwell_mode"][j])), r["flip_class"][j], r["saturation_class"][j])
    parts = [t,
             Text("classes by flip count (paper): " + ", ".join(f"{c} {s.class_counts[c]}" for c in CLASSES)),
             Text("classes by saturation (corrected): "
                  + ", ".join(f"{c} {s.saturation_class_counts[c]}" for c in SAT_CLASSES)),
             Text(f"mean flips per neuron {s.mean_flips:.1f}; one flip per {s.steps_per_flip:.2f} steps; "
                  f"saturated neuron-steps {s.neuron_steps_saturated_pct:.2f}%"),
             Text(f"mean dwell {s.mean_dwell:.3f} steps (paper-compatible, dwells < 100); "
                  f"{s.mean_dwell_all:.3f} including {s.dropped_dwells} dwell(s) >= 100 (corrected)")]
    G = np.asarray(r["dwell_hist"])
    gmax = max(int(G[1:PRINTED_DWELL_MAX + 1].max()), 1)
    t = Table(title="Global dwell-time distribution (d = 1..49, as printed by the paper)", title_justify="left")
    for c in ("dwell", "count", ""):
        t.add_column(c, justify="left" if not c else "right", no_wrap=not c, overflow="crop")
    for d in range(1, min(PRINTED_DWELL_MAX + 1, G.shape[0])):
        if G[d] > 0:
            t.add_row(str(d), str(int(G[d])), Text("\u2588" * max(1, round(30 * int(G[d]) / gmax)), style="cyan"))
    parts.append(t)
    return Group(*parts)


# ---- co-flips (analyses.coflip; `satrnn coflip`, report section coflip) -----------------------------------------

def coflip(rep: dict, summ: dict, min_jaccard, top_k=None, seed: int = 0, top: int | None = None) -> Group:
    """Co-flip pairs (by count), the Jaccard maximum, the graph (edges Jaccard >= min_jaccard and/or each
    node's top_k partners, seeded Louvain communities) and its hubs."""
    pairs = rep["top_pairs"] if top is None else rep["top_pairs"][:top]
    t = Table(title=f"Top {len(pairs)} co-flipping pairs over {rep['transitions']:,} transitions", title_justify="left")
    for c in ("pair", "co-flips", "Jaccard", "flips a", "flips b"):
        t.add_column(c, justify="right")
    for r in pairs:
        t.add_row(f"h{r['a']}-h{r['b']}", str(r["coflips"]), f"{r['jaccard']:.3f}", str(r["flips_a"]),
                  str(r["flips_b"]))
    parts = [t]
    tie = rep["top_pairs_ties"]
    if tie.get("tie_at_cut"):
        parts.append(Text(f"tie at the cut: {tie['pairs_with_count_at_cut']} pairs have {tie['count_at_cut']} "
                          "co-flips"))
    mj = rep["max_jaccard"]
    parts.append(Text(f"pairs with Jaccard > 0.5: {rep['pairs_jaccard_gt_half']}"
                      + (f"; max Jaccard {mj['jaccard']:.3f} (h{mj['a']}-h{mj['b']})" if mj else "")))
    parts.append(Text(f"graph: {summ['nodes']} nodes, {summ['edges']} edges (Jaccard >= {min_jaccard}"
                      + (f", top-{top_k} per node" if top_k else "") + f"), Louvain seed {seed}, "
                      f"modularity {summ['modularity']:.3f}, {summ['n_components']} component(s)"))
    t = Table(title="Communities (size >= 2)", title_justify="left")
    t.add_column("id", justify="right")
    t.add_column("size", justify="right")
    t.add_column("members", overflow="fold")
    for c in summ["communities"]:
        if c["size"] >= 2:
            t.add_row(str(c["id"]), str(c["size"]), " ".join(f"h{j}" for j in c["members"]))
    parts.append(t)
    t = Table(title="Hubs (by summed Jaccard)", title_justify="left")
    for c in ("neuron", "strength", "degree", "betweenness", "community", "flips", "promotes", "demotes"):
        t.add_column(c, justify="right")
    for h in summ["hubs"]:
        t.add_row(f"h{h['neuron']}", f"{h['strength']:.3f}", str(h["degree"]), f"{h['betweenness']:.4f}",
                  str(h["community"]), str(h["flips"]), Text(repr(h["promotes_chars"])), Text(repr(h["demotes_chars"])))
    parts.append(t)
    return Group(*parts)


# ---- knockout (analyses.knockout.neurons_report; `satrnn knockout`, report section knockout) -------------------

def _ko_bar(value: float, vmax: float, width: int = 24) -> Text:
    """A bar proportional to max(value, 0) / vmax; negative values get a red marker."""
    if value < 0:
        return Text("-", style="red")
    return Text("\u2588" * (0 if vmax <= 0 else round(width * value / vmax)), style="cyan")


def knockout(rep: dict, top: int = 30, sign_top: int = 20) -> Group:
    """q3_neurons (analyses.knockout.neurons_report): single-neuron readout knockout ranking (top rows), ties,
    promoted/demoted bytes of the top neurons, cumulative removal and keep-top-k, per-neuron sign-only readout."""
    from satrnn.analyses.knockout import PRINTED_CUMULATIVE_K, PRINTED_KEEP_K, at
    ko, cum, keep, so = rep["knockout"], rep["cumulative"], rep["keep_top_k"], rep["sign_only"]
    H = rep["H"]
    parts = [Text.assemble("baseline ", (f"{rep['baseline_bpc']:.4f}", "bold"),
                           f" bpc over {rep['predictions']:,} predictions; readout-only evaluation from one "
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
    for row in rep["top_neurons"]:
        t.add_row(f"h{row['neuron']}", Text(" ".join(repr(x["char"]) for x in row["promotes"])),
                  Text(" ".join(repr(x["char"]) for x in row["demotes"])))
    parts.append(t)
    t = Table(title="Cumulative removal (top k columns zeroed) and keep-top-k", title_justify="left")
    for c in ("k", "removed: bpc", "delta", "kept: bpc", "% of gain (8 bit)", "% of gain (unigram)"):
        t.add_column(c, justify="right")

    def cell(table, k, field, spec, unit=""):  # "—" for a k the result did not evaluate
        v = at(table, k, field)
        return "—" if v is None else format(v, spec) + unit

    for k in sorted(set(PRINTED_CUMULATIVE_K) | set(PRINTED_KEEP_K)):
        if k > H:
            continue
        t.add_row(str(k), cell(cum, k, "bpc", ".4f"), cell(cum, k, "delta", "+.4f"),
                  cell(keep, k, "bpc", ".4f") if k else "", cell(keep, k, "pct_of_gain", ".1f", "%") if k else "",
                  cell(keep, k, "pct_of_gain_unigram", ".1f", "%") if k else "")
    parts.append(t)
    t = Table(title="Per-neuron sign-only readout (h_j -> sign), by |delta|", title_justify="left")
    for c in ("neuron", "bpc", "delta", "knockout rank"):
        t.add_column(c, justify="right")
    for j in so["order"][:sign_top]:
        t.add_row(f"h{j}", f"{so['bpc'][j]:.4f}", f"{so['sd'][j]:+.4f}", str(int(ko.rank[j]) + 1))
    parts.append(t)
    return Group(*parts)


# ---- flip cascades and Derrida curves (automaton.cascade; `satrnn cascade`, report section cascades) ----------

def cascade(name: str, s: dict) -> Group:
    """One trajectory's flip cascades (automaton.cascade.cascade_summary, plus `start` and the self-bit and
    fragile corrections when present): d_1, fates after k steps, distance by step, d_1 histogram, top input
    bytes and most contagious neurons."""
    o = s["one_step"]
    lines = [Text.assemble((f"{name} trajectory", "bold"), (f" ({s['start']})" if "start" in s else "")
                           + f": {s['flips']:,} flips, k = {s['k']}"),
             Text(f"  one-step cascade d_1: mean {o['mean']:.3f} (95% CI {o['ci95'][0]:.3f}..{o['ci95'][1]:.3f}, "
                  f"{o['ci']}), median {o['median']:.0f}, max {o['max']}"
                  + (f"; excluding the flipped neuron's own bit {s['one_step_others']:.3f}"
                     if "one_step_others" in s else ""))]
    if "fragile_one_step" in s:
        f = s["fragile_one_step"]
        lines.append(Text(f"  flips at fragile neuron-steps ({s['fragile_definition']}): mean d_1 {f['mean']:.3f} "
                          f"over {f['flips']:,}"))
    fa = s["fates"]
    lines.append(Text(f"  after {s['k']} steps: died {100 * fa['died']:.1f}%, persisted (d = 1) "
                      f"{100 * fa['persisted']:.1f}%, spread (d > 1) {100 * fa['spread']:.1f}%"))
    lines.append(Text("  mean distance by step: " + " ".join(f"{v:.1f}" for v in s["mean_distance_by_step"])))
    h = o["histogram"]
    last = max(i for i, v in enumerate(h) if v) if any(h) else 0
    lines.append(Text("  d_1 histogram: " + " ".join(f"{i}:{v}" for i, v in enumerate(h[: last + 1]) if v)))
    t = Table(title="Top input bytes x_{t+1} by mean d_1")
    for c in ("byte", "flips", "mean d_1"):
        t.add_column(c)
    for r in s["per_byte"][:8]:
        t.add_row(Text(f"0x{r['byte']:02x} '{display_byte(r['byte'])}'"), f"{r['flips']:,}", f"{r['mean_d1']:.2f}")
    lines.append(t)
    pn = np.array(s["per_neuron_d1"])
    top = np.argsort(-pn, kind="stable")[:8]
    lines.append(Text("  most contagious neurons (mean d_1): " + ", ".join(f"h{j} {pn[j]:.2f}" for j in top)))
    return Group(*lines)


def derrida(name: str, d: dict) -> Text:
    """A Derrida curve (automaton.cascade.derrida_curve): its slope at d = 1 with the CI, and D(d) at powers of 2."""
    c = d["derrida_coefficient"]
    ds = list(d["d"])
    return Text.assemble((f"Derrida ({name} pairs)", "bold"),
                         f": slope at d=1 = {c['mean']:.3f} (95% CI {c['ci95'][0]:.3f}..{c['ci95'][1]:.3f}, "
                         f"{d.get('ci', 'normal')}, n = {c['n']}); D(d) at d = "
                         + ", ".join(str(i) for i in ds if i & (i - 1) == 0) + ": "
                         + " ".join(f"{m:.1f}" for i, m in zip(ds, d["mean"]) if i & (i - 1) == 0))


def flip_spread(out: dict) -> Group:
    """`satrnn cascade` (analyses.boolean_figures.measure_flip_spread): each trajectory's cascades, the papers'
    flip-sensitivity figures, the readings of 'one flip changes N neurons', the Derrida curves."""
    parts = [cascade(name, s) for name, s in out["cascades"].items()]
    p = out["paper_compatible"]
    if "flip_sensitivity_t42" in p:
        f = p["flip_sensitivity_t42"]
        parts.append(Text.assemble(("q1_boolean 3.3", "bold"), f" (f32-seq, beta from all-zero bits): state at "
                                   f"t={f['t']} {f['state_first16']}, mean sensitivity {f['mean_sensitivity']:.2f}"))
    if "influence_graph" in p:
        g = p["influence_graph"]
        parts.append(Text.assemble(("q1_bool_attractor 4.2", "bold"),
                                   f" ({g['positions']} positions): mean influence per edge {g['mean_influence']:.4f} "
                                   f"(= {g['mean_out_degree']:.3f} neurons changed per flip); top edges "
                                   + ", ".join(f"h{e['source']}->h{e['target']} {e['frac']:.3f}"
                                               for e in g["top_edges"][:5])))
    t = Table(title="Readings of 'one flip changes N neurons' (all measured here)")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for name, v in out["candidates"].items():
        t.add_row(Text(name), f"{v:.3f}")
    parts.append(t)
    for name, d in out.get("derrida", {}).items():
        parts.append(derrida(name, d))
    return Group(*parts)


# ---- sparse differentiation and Q1 sparsity (`satrnn attribution`, `satrnn sparsity`, report section attribution)

def sparse_diff(out: dict) -> Group:
    """Seed 002 (analyses.sparse_diff.sparse_differentiation): gradient sparsity, backward norm growth,
    per-offset attribution, worked examples, notes."""
    g = out["gradient"]
    parts = [Text.assemble(("Sparse differentiation", "bold"),
                           f" ({', '.join(f'{k}={v}' for k, v in out['choices'].items())})"),
             Text(f"mean ||g_t|| = {g['mean_norm']:.4f}; top-1/5/10 neurons capture "
                  + " / ".join(f"{100 * g['top_share'][k]:.1f}%" for k in ("1", "5", "10")) + " of ||g_t||^2"),
             Text("most frequent argmax |g_t|: " + ", ".join(f"h{r['neuron']} ({r['positions']})"
                                                              for r in g["top1_neurons"][:6]))]
    t = Table(title="Backward norm growth ||g_{t->t-k}||")
    for c in ("k", "mean (common)", "ratio", "mean (valid)", "ratio"):
        t.add_column(c, justify="right")
    for r in out["norm_growth"]:
        t.add_row(str(r["k"]), f"{r['mean_norm_common']:.4f}", f"{r['ratio_common']:.3f}",
                  f"{r['mean_norm_valid']:.4f}", f"{r['ratio_valid']:.3f}")
    parts.append(t)
    t = Table(title="Per-offset attribution attr(t, k) = Wx[:, x]^T g")
    for c in ("k", "mean attr", "mean |attr|", "positions"):
        t.add_column(c, justify="right")
    for r in out["attribution"]:
        t.add_row(str(r["k"]), f"{r['signed']:+.4f}", f"{r['unsigned']:.4f}", str(r["positions"]))
    parts.append(t)
    for e in out["examples"]:
        s = e["strongest_signed"]
        parts.append(Text(f"t = {e['t']}: input {e['input_char']!r} predicting {e['target_char']!r} "
                          f"(p = {e['p_true']:.4f}, {'correct' if e['correct'] else 'wrong'}), "
                          f"||g|| = {e['norm']:.4f}; "
                          "top " + ", ".join(f"h{n['neuron']} ({n['g']:+.4f})" for n in e["top_neurons"][:3])
                          + (f"; strongest k = {s['k']} ({s['char']!r}, {s['attr']:+.4f})" if s else "")))
    parts += [Text(f"note: {note}", style="dim") for note in out["notes"]]
    return Group(*parts)


def sparsity(out: dict) -> Group:
    """Q1 sparsity (analyses.sparsity.q1_sparsity): significant weights, the sparsity distribution, the
    breakdown by pattern class, never-active patterns, the depth profile, notes."""
    sig = out["significant"]
    parts = [Text.assemble(("Q1 sparsity", "bold"), " — variant ", (out["variant"], "cyan"),
                           f"; significant |w| > 0.01: {sig['total']:,} (Wx {sig['Wx']:,}, Wh {sig['Wh']:,}, "
                           f"Wy {sig['Wy']:,}); bpc {out['forward']['bpc']:.4f} over "
                           f"{out['forward']['predictions']:,} predictions")]
    t = Table(title="Sparsity Distribution")
    for c in ("tau", "mean n", "median", "min", "max", "n/sig"):
        t.add_column(c, justify="right")
    for r in out["distribution"]:
        t.add_row(f"{r['tau']:.0e}", f"{r['mean_n']:.1f}", f"{r['median']:g}", str(r["min"]), str(r["max"]),
                  f"{r['n_over_sig']:.4f}")
    parts.append(t)
    t = Table(title="Breakdown by Pattern Class (mean per position)")
    for c in ("tau", "Wx", "Wh", "Wy", "Wh share"):
        t.add_column(c, justify="right")
    for r in out["class_breakdown"]:
        share = "-" if r["share_Wh"] is None else f"{100 * r['share_Wh']:.1f}%"
        t.add_row(f"{r['tau']:.0e}", f"{r['mean_Wx']:.1f}", f"{r['mean_Wh']:.1f}", f"{r['mean_Wy']:.2f}", share)
    parts.append(t)
    na = out["never_active"]
    occ = na["occurring"]
    parts.append(Text(f"Never active (tau = 0.01): Wx {na['Wx']:,}/{na['of']['Wx']:,}, Wh {na['Wh']:,}/"
                      f"{na['of']['Wh']:,}, Wy {na['Wy']:,}/{na['of']['Wy']:,}, total {na['total']:,}/"
                      f"{na['of']['total']:,}; over occurring bytes: Wx {occ['Wx']:,}/{occ['Wx_of']:,}, "
                      f"Wy {occ['Wy']:,}/{occ['Wy_of']:,}"))
    t = Table(title="Depth Profile: Mean Attribution Mass by Offset")
    for c in ("d", "mean mass", "count", "fraction of d=0"):
        t.add_column(c, justify="right")
    for r in out["depth_profile"]:
        fr = "-" if r["fraction_of_d0"] is None else f"{r['fraction_of_d0']:.3f}"
        t.add_row(str(r["d"]), f"{r['mean_mass']:.4f}", str(r["count"]), fr)
    parts.append(t)
    parts += [Text(f"note: {note}", style="dim") for note in out["notes"]]
    return Group(*parts)


# ---- cycle searches (automaton.cycles.summarize; `satrnn cycles`, report section cycles) ---------------------

def input_label(lab) -> str:
    """A cycle search's input: a constant byte as hex and glyph, or a sequence's label as given."""
    return lab if isinstance(lab, str) else f"0x{lab:02x} '{display_byte(lab)}'"


def cycles(summary: dict, per_input=(), rows=(), show_rows: bool = False, most: int = 30) -> Group:
    """A cycle search (automaton.cycles.summarize with cycles labelled by `input`): the headline, the
    per-input table (when more than one input), the distinct cycles (first `most`) and, with show_rows,
    a row per start."""
    s = summary
    parts = [Text.assemble((f"{s['jobs']:,}", "bold"),
                           f" searches, budget {s['budget_steps']:,} steps each: {s['distinct_cycles']} distinct "
                           f"cycle(s), {s['unresolved']} unresolved ({100 * s['fraction_unresolved']:.1f}%), "
                           f"{s['total_steps']:,} steps in {s['seconds']:.1f} s "
                           f"({(s['steps_per_second'] or 0):,.0f} steps/s), {s['fallbacks']} fallbacks")]
    if len(per_input) > 1:
        t = Table(title="Per input")
        for c in ("input", "resolved", "distinct cycles", "periods (steps)", "max transient"):
            t.add_column(c)
        for r in per_input:
            ps = ", ".join(str(p) for p in r["periods"][:6]) + (" ..." if len(r["periods"]) > 6 else "")
            t.add_row(Text(input_label(r["input"])), f"{r['resolved']}/{r['starts']}", str(r["distinct_cycles"]),
                      ps, str(r["max_transient"]) if r["max_transient"] is not None else "-")
        parts.append(t)
    if s["cycles"]:
        t = Table(title="Cycles (rep = smallest state on the cycle at sequence boundaries)")
        for c in ("input", "rep", "period", "starts", "basin fraction", "transient min..max"):
            t.add_column(c)
        for c in s["cycles"][:most]:
            t.add_row(Text(input_label(c["input"])), Text(c["rep"]), f"{c['period']:,}", str(c["starts"]),
                      f"{c['basin_fraction']:.3f}", f"{c['transient_min']:,}..{c['transient_max']:,}")
        parts.append(t)
        if len(s["cycles"]) > most:
            parts.append(Text(f"... {len(s['cycles']) - most} more cycles (use --json)"))
    if show_rows:
        t = Table(title="Per start")
        for c in ("start", "input", "status", "transient", "period", "rep"):
            t.add_column(c)
        for r in rows:
            t.add_row(Text(r["start_source"]), Text(input_label(r["input"])), r["status"],
                      str(r["transient"]) if r["transient"] is not None else "-",
                      str(r["period"]) if r["period"] is not None else "-",
                      Text(r["rep"] or "no cycle within budget"))
        parts.append(t)
    return Group(*parts)
