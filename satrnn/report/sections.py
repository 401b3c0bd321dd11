"""The full rich report (`satrnn report`): the report sections of the analysis units, run in one order.

Each analysis unit (`satrnn.unit.Analysis`, declared in its command's module) may declare a report section
(`satrnn.unit.Section`): build(results) -> (renderable, JSON dict), reading the analyses from the shared cache
(`satrnn.cache.Results`: the forward passes and every analysis computed once). A section that cannot run on
this model or text (NotAvailable) renders a short notice and reports `{"available": false, "reason": ...}`; a
section that crashes is a failure (`{"failed": true, "reason": ...}`, and `satrnn report` exits 1 naming it).
The sections run in the order of `ORDER`; a unit's section not listed there comes after them. Workloads are
kept small so that a warm run on the published weights takes a few seconds.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from satrnn.automaton import slices
from satrnn.cache import Results
from satrnn.ledger.claims import NotAvailable
from satrnn.rnn.record import json_value
from satrnn.unit import Collected, Section, units

# The order of the report. A unit's section that is not listed comes after these, in discovery order.
ORDER = ("model", "reference", "margins", "sign", "saturation", "coflip", "cascades", "cycles", "landscape",
         "knockout", "attribution", "ledger")


@dataclass(frozen=True)
class ReportSection:
    """A section of the report as the report runs it: the `satrnn.unit.Section` an analysis unit declares,
    the name of that analysis (`analysis`) and the dotted name of the renderer that draws it (`renderer`,
    shared with the analysis's command)."""
    section: Section
    analysis: str
    renderer: str

    @property
    def title(self) -> str:
        return self.section.title

    @property
    def build(self) -> Callable:
        return self.section.build

    @property
    def background(self) -> bool:
        return self.section.background


def _dotted(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}" if fn is not None else ""


def _collect_sections() -> dict[str, ReportSection]:
    """name -> ReportSection in the report's order: every analysis unit's section (`satrnn.unit.units()`)."""
    found = {u.section.name: ReportSection(u.section, u.name, _dotted(u.render))
             for u in units().values() if u.section is not None}
    order = [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]
    return {n: found[n] for n in order}


SECTIONS = Collected(_collect_sections)


# ---- running the report -------------------------------------------------------------------------------

def run_section(name: str, results: Results):
    """(renderable, dict) of one section. A section that cannot run on this model or text (NotAvailable)
    becomes a notice with `available: false`; a crash, or a section that reports `failures`, is a failure:
    `failed: true` with the reason (the report then exits 1), never hidden."""
    title, fn = SECTIONS[name].title, SECTIONS[name].build
    t0 = time.perf_counter()
    try:
        r, d = fn(results)
        d = json_value(d)             # the section's JSON document: its typed results as their as_dict()
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


def build_report(model, xs, sections=None, show_progress: bool = True, source_args=("MODEL", "TEXT"),
                 results: Results | None = None):
    """Compute the chosen sections (default: all, in order). Returns (renderables, json dict); a section's
    dict has `failed: true` when it crashed (see `failures`). source_args = how commands printed by the
    report name the model and text (() for the default model). Background sections (the kernel searches)
    run on one background thread from the start, in order; results and their order do not depend on it.
    Ctrl-C stops them after their current slice. `results`: the shared cache (`Results`) of this model and
    text to compute in (the caller keeps it to draw the figures from the same results), else a new one."""
    from satrnn.clikit import progress

    names = list(SECTIONS) if sections is None else list(sections)
    results = Results(model, xs) if results is None else results
    results.source_args = tuple(source_args)
    rends, data = [], {}
    cancel = threading.Event()

    def in_background(n):
        with slices.cancelled_by(cancel):
            return run_section(n, results)

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
                    r, d = run_section(n, results)
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
