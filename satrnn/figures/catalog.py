"""The figures `satrnn figures` writes (and the report embeds): one entry per analysis, in report order.

`FIGURES[name]` is a `FigureSpec`: a title, the panel functions of `satrnn.figures.plots` it draws side by side,
and `data(results, seed)`, which reads what those panels draw from the shared cache (`satrnn.cache.Results`:
each analysis unit's result, computed once and shared with the report's sections), or raises
`NothingToShow(reason)` when the analysis has nothing to draw on this model and text (no cycle found, say):
the command then lists the figure as skipped with the reason, never an empty plot.

The cycle and basin figures show the report's own searches (the units `cycle_survey` and `landscape`) and,
for the shipped default model, the precomputed cycles of `satrnn.report.known_cycles`, each re-verified here
first (one period of steps from its state) and marked as found by the precomputed search.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from satrnn.figures import new_figure, plots


class NothingToShow(Exception):
    """The analysis has nothing to draw on this model and text; the message says what was searched."""


@dataclass(frozen=True)
class FigureSpec:
    """A figure file: `title`; `panels`: plot functions drawn side by side; `data(results, seed)` -> one tuple
    (args, kwargs) per panel, or NothingToShow."""
    title: str
    panels: tuple[Callable, ...]
    data: Callable


FIGURES: dict[str, FigureSpec] = {}


def figure(name: str, title: str, *panels):
    def deco(fn):
        FIGURES[name] = FigureSpec(title, tuple(panels), fn)
        return fn
    return deco


def _available(build):
    """build(), with an analysis that cannot run on this model or text turned into NothingToShow."""
    from satrnn.ledger.claims import NotAvailable
    from satrnn.rnn.errors import SatrnnInputError
    try:
        return build()
    except (NotAvailable, SatrnnInputError) as e:
        raise NothingToShow(str(e)) from None


@figure("margins", "Margin |z| distribution", plots.margin_distribution)
def _margins(results, seed):
    return [((results.fwd.zs[:-1],), {})]


@figure("sign-raster", "Sign raster (time x neuron, flips marked)", plots.sign_raster)
def _raster(results, seed):
    return [((results.fwd.hs,), {})]


@figure("knockout", "Readout knockout and keep-top-k", plots.knockout_delta, plots.keep_top_k)
def _knockout(results, seed):
    from satrnn.commands.knockout import KNOCKOUT, NEURONS
    return [((results.get(KNOCKOUT),), {}), ((results.get(NEURONS),), {})]


@figure("derrida", "Derrida curve with its interval", plots.derrida_curve)
def _derrida(results, seed):
    """The report's Derrida curve (section cascades: exact semantics, pairs along the float trajectory's
    signs, seed 0); another seed draws its own curve with the same options."""
    from satrnn.commands.cascade import CASCADES
    if seed == 0:
        return [((_available(lambda: results.get(CASCADES)).derrida,), {})]

    def build():
        from satrnn.analyses.boolean_figures import cascade_overview
        return cascade_overview(results.automaton("exact"), results.model, results.xs, seed=seed).derrida
    return [((_available(lambda: results.memo(("derrida", seed), build)),), {})]


@figure("dwell-times", "Dwell times", plots.dwell_times)
def _dwell(results, seed):
    from satrnn.commands.saturation import SATURATION
    return [((results.get(SATURATION).dwell_hist,), {})]


@figure("cycles", "Cycle periods vs transients per input", plots.cycle_periods)
def _cycles(results, seed):
    from satrnn.commands.cycles import CYCLE_SURVEY
    from satrnn.report.known_cycles import verified_known
    sv = results.get(CYCLE_SURVEY)
    rows = [{"input": c.input, "period": c.period, "transient": c.transient, "search": "the report's search"}
            for c in sv.cycles]
    live = {(c.input, c.smallest_state) for c in sv.cycles}
    _, verified = verified_known(results)   # the precomputed ones not found again here, each re-verified
    rows += [{"input": v.cycle.input, "period": v.cycle.period, "transient": v.cycle.transient,
              "search": "a precomputed search"} for v in verified
             if v.ok and (v.cycle.input, v.cycle.smallest_state) not in live]
    if not rows:
        raise NothingToShow(f"no cycle: {sv.jobs} searches ({sv.starts} starts x {len(sv.inputs)} inputs, "
                            f"{sv.budget:,} steps each) closed none")
    return [((rows,), {})]


@figure("basins", "Basin fractions with their intervals", plots.basin_fractions)
def _basins(results, seed):
    from satrnn.commands.landscape import LANDSCAPE
    from satrnn.report.known_cycles import verified_known
    result = results.get(LANDSCAPE).result
    if result.attractors:
        return [((result,), {})]
    # nothing found here: the precomputed landscape under this byte, else under another byte (verified cycles)
    known, verified = verified_known(results)
    if known is not None and all(v.ok for v in verified):
        x = int(result.seq[0]) if len(result.seq) == 1 else None
        inputs = ([x] if x is not None else []) + sorted({j.seq[0] for j in known.landscape_jobs if len(j.seq) == 1})
        for b in inputs:
            pre = known.landscape(b)
            if pre is not None and pre.attractors:
                return [((pre,), {"note": f"precomputed: {known.landscape_search(b).command}"})]
    raise NothingToShow(f"no attractor: none of the {result.starts} starts closed a cycle within "
                        f"{result.budget:,} steps under byte 0x{result.seq[0]:02x}")


@figure("coflip-graph", "Co-flip graph with communities", plots.coflip_graph)
def _coflip(results, seed):
    from satrnn.commands.coflip import report_graph
    return [((report_graph(results, seed),), {"seed": seed})]


@figure("attribution", "Attribution and offset profiles", plots.attribution_profile, plots.offset_profile)
def _attribution(results, seed):
    from satrnn.commands.attribution import SPARSE_DIFF
    from satrnn.commands.offsets import Q2
    return [((_available(lambda: results.get(SPARSE_DIFF)),), {}), ((_available(lambda: results.get(Q2)),), {})]


def draw(name: str, results, subject: str | None, seed: int = 0):
    """(matplotlib Figure, title) of one catalogue figure drawn from `results` (a `satrnn.cache.Results`);
    NothingToShow if it has nothing to draw."""
    spec = FIGURES[name]
    panels = spec.data(results, seed)
    w, h = spec.panels[0].size
    fig, axes = new_figure(len(spec.panels), w, h)
    for fn, ax, (args, kwargs) in zip(spec.panels, axes, panels):
        fn(*args, ax=ax, subject=subject, **kwargs)
    return fig, f"{spec.title} ({subject})" if subject else spec.title
