"""The full rich report (`satrnn report`): one function per section, each returning (renderable, dict).

Sections call the analysis modules through a shared `LedgerContext` (forward pass and analysis results
computed once). A section whose analysis module has not landed, or cannot run on this model, renders a
short notice and reports `{"available": false, "reason": ...}` in JSON instead of crashing. Workloads are
kept small so that a warm run on the published weights takes a few seconds.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from rnn.text import display_byte

from .claims import SEEDS, VERDICTS, Claim, NotAvailable
from .ledger_measures import LedgerContext, need, run_ledger

VERDICT_STYLE = {"reproduced": "green", "differs": "red", "not measurable": "yellow"}


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
    t = Table(title=title, title_justify="left", box=None, pad_edge=False, show_header=False)
    t.add_column("label", justify="right", no_wrap=True)
    t.add_column("bar", no_wrap=True, overflow="crop", ratio=1)
    t.add_column("value", justify="right", no_wrap=True)
    vals = [float(v) for _, v in rows]
    top = max([abs(v) for v in vals] + [1e-300])
    for (label, v), fv in zip(rows, vals):
        n = int(round(width * abs(fv) / top))
        t.add_row(str(label), Text("█" * n + ("▏" if n == 0 and fv != 0 else ""),
                                   style="cyan" if fv >= 0 else "magenta"), value_fmt(v))
    return t


def kv_table(pairs, title: str | None = None) -> Table:
    t = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    t.add_column("quantity", style="bold")
    t.add_column("value", overflow="fold")
    for k, v in pairs:
        t.add_row(k, v if isinstance(v, (str, Text)) else fmt(v))
    return t


def notice(title: str, reason: str) -> Panel:
    return Panel(Text(reason, style="yellow"), title=title, title_align="left", border_style="yellow")


# ---- the ledger (also used by `satrnn verify`) -------------------------------------------------------

def ledger_renderables(records, summary) -> list:
    """A table per seed (every claim, its paper value, measurement and verdict) and the summary table."""
    out = []
    by_seed: dict[str, list] = {}
    for r in records:
        by_seed.setdefault(r["seed"], []).append(r)
    for seed, recs in by_seed.items():
        t = Table(title=f"{seed}", title_justify="left", show_lines=False, expand=False)
        t.add_column("claim", overflow="fold", ratio=3)
        t.add_column("paper", justify="right", overflow="fold", ratio=1)
        t.add_column("measured", justify="right", overflow="fold", ratio=1)
        t.add_column("verdict", overflow="fold", ratio=1)
        t.add_column("difference / reason", overflow="fold", ratio=3)
        for r in recs:
            v = r["verdict"]
            extra = ""
            if v == "differs":
                extra = (f"Δ = {fmt(r['difference'])} (tol {r['tolerance']})" if r["difference"] is not None
                         else f"expected {r['tolerance']}")
            elif v == "not measurable":
                extra = r["reason"] or ""
            if r.get("note"):
                extra = (extra + "; " if extra else "") + r["note"]
            t.add_row(Text(f"{r['id']}\n", style="bold") + Text(r["statement"], style="dim"), r["paper_value"],
                      fmt(r["measured"]), Text(v, style=VERDICT_STYLE[v]), extra)
        out.append(t)
    out.append(summary_table(summary))
    return out


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


# ---- sections -----------------------------------------------------------------------------------------

SECTIONS: dict[str, tuple[str, Callable]] = {}


def section(name: str, title: str):
    def deco(fn):
        SECTIONS[name] = (title, fn)
        return fn
    return deco


@section("model", "Model summary")
def sec_model(ctx: LedgerContext):
    info = need("analyses.model_info")
    s = ctx.cached("model_summary", lambda: info.model_summary(ctx.model))
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


@section("ledger", "Claims ledger")
def sec_ledger(ctx: LedgerContext):
    records, summary = run_ledger(ctx.model, ctx.xs, ctx=ctx, show_progress=False)
    differs = [r for r in records if r["verdict"] == "differs"]
    t = Table(title="Claims that differ (all of them; `satrnn verify` lists every claim)", title_justify="left")
    t.add_column("claim", overflow="fold", ratio=2)
    t.add_column("paper", justify="right", overflow="fold", ratio=1)
    t.add_column("measured", justify="right", overflow="fold", ratio=1)
    for r in differs:
        t.add_row(r["id"], r["paper_value"], fmt(r["measured"]))
    nm: dict[str, int] = {}
    for r in records:
        if r["verdict"] == "not measurable":
            key = (r["reason"] or "").split(":")[0][:70]
            nm[key] = nm.get(key, 0) + 1
    t2 = Table(title="Why claims are not measurable", title_justify="left")
    t2.add_column("reason", overflow="fold")
    t2.add_column("claims", justify="right")
    for k, v in sorted(nm.items(), key=lambda kv: -kv[1]):
        t2.add_row(k, str(v))
    return Group(summary_table(summary), Text(summary_line(summary)), t, t2), {"summary": summary,
                                                                              "claims": records}


# ---- running the report -------------------------------------------------------------------------------

def run_section(name: str, ctx: LedgerContext):
    """(renderable, dict) of one section; missing modules and failures become a notice, never a crash."""
    title, fn = SECTIONS[name]
    t0 = time.perf_counter()
    try:
        r, d = fn(ctx)
        d = {"available": True, **d}
    except NotAvailable as e:
        r, d = notice(title, str(e)), {"available": False, "reason": str(e)}
    except Exception as e:  # noqa: BLE001 - a failing section is reported in the report, not hidden
        msg = f"section failed: {type(e).__name__}: {e}"
        r, d = notice(title, msg), {"available": False, "reason": msg}
    d["seconds"] = time.perf_counter() - t0
    return Panel(r, title=f"[bold]{title}", title_align="left"), d


def build_report(model, xs, sections=None, show_progress: bool = True):
    """Compute the chosen sections (default: all, in order). Returns (renderables, json dict)."""
    from .clikit import progress

    names = list(SECTIONS) if sections is None else list(sections)
    ctx = LedgerContext(model, xs)
    rends, data = [], {}
    if show_progress:
        with progress() as bar:
            task = bar.add_task("report", total=len(names))
            for n in names:
                bar.update(task, description=f"report: {SECTIONS[n][0]}")
                r, d = run_section(n, ctx)
                rends.append(r)
                data[n] = d
                bar.update(task, advance=1)
    else:
        for n in names:
            r, d = run_section(n, ctx)
            rends.append(r)
            data[n] = d
    return rends, data
