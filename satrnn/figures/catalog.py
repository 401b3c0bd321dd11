"""The figures `satrnn figures` writes (and the report embeds): one entry per analysis, in report order.

`FIGURES[name]` is a `FigureSpec`: a title, the panel functions of `satrnn.figures.plots` it draws side by side,
and `data(ctx)`, which computes (once, in the shared `LedgerContext`) what those panels draw, or raises
`NothingToShow(reason)` when the analysis has nothing to draw on this model and text (no cycle found, say):
the command then lists the figure as skipped with the reason, never an empty plot.

The cycle and basin figures show the report's own searches (the same seeded calls, memoised under the same
keys) and, for the shipped default model, the precomputed cycles of `satrnn.report.known_cycles`, each
re-verified here first (one period of steps from its state) and marked as found by the precomputed search.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from satrnn.figures import new_figure, plots

DERRIDA_DS = (1, 2, 4, 8, 16, 32, 64)   # the report's Derrida curve (section cascades)
DERRIDA_PAIRS = 64


class NothingToShow(Exception):
    """The analysis has nothing to draw on this model and text; the message says what was searched."""


@dataclass(frozen=True)
class FigureSpec:
    """A figure file: `title`; `panels`: plot functions drawn side by side; `data(ctx, seed)` -> one tuple
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
def _margins(ctx, seed):
    return [((ctx.fwd.zs[:-1],), {})]


@figure("sign-raster", "Sign raster (time x neuron, flips marked)", plots.sign_raster)
def _raster(ctx, seed):
    return [((ctx.fwd.hs,), {})]


@figure("knockout", "Readout knockout and keep-top-k", plots.knockout_delta, plots.keep_top_k)
def _knockout(ctx, seed):
    return [((ctx.knockout,), {}), ((ctx.neurons,), {})]


def derrida_data(ctx, seed: int = 0) -> dict:
    """The report's Derrida curve (exact semantics, pairs along the float trajectory's signs), memoised."""
    def build():
        from satrnn.automaton import cascade as cas
        states, _ = cas.float_sign_trajectory(ctx.model, ctx.xs)
        return cas.derrida_curve(ctx.automaton("exact"), ctx.xs, states=states, pairs=DERRIDA_PAIRS, seed=seed,
                                 ds=[d for d in DERRIDA_DS if d <= ctx.H])
    return ctx.memo(("derrida", seed), build)


@figure("derrida", "Derrida curve with its interval", plots.derrida_curve)
def _derrida(ctx, seed):
    return [((_available(lambda: derrida_data(ctx, seed)),), {})]


@figure("dwell-times", "Dwell times", plots.dwell_times)
def _dwell(ctx, seed):
    return [((ctx.saturation["dwell_hist"],), {})]


def cycle_survey(ctx):
    """The report's cycle survey (section cycles: the text's most used bytes), memoised under its key."""
    from satrnn.analyses.cycle_survey import DEFAULT_INPUTS, most_used_bytes, survey
    return ctx.memo("cycle_survey", lambda: survey(ctx.model, most_used_bytes(ctx.xs, DEFAULT_INPUTS),
                                                   automaton=ctx.automaton("exact")))


def verified_known(ctx):
    """(KnownCycles or None, [VerifiedCycle]) for this model: every distinct precomputed cycle checked once."""
    from satrnn.report.known_cycles import load_known, verify_cycle

    def build():
        k = load_known(ctx.model, "exact")
        if k is None:
            return None, []
        return k, [verify_cycle(ctx.automaton("exact"), c) for c in k.distinct()]
    return ctx.memo("known_cycles", build)


def model_arg(ctx) -> str | None:
    """How commands printed for this context name the model: its path, or None for the default model."""
    src = getattr(ctx, "source_args", ("MODEL", "TEXT"))
    return src[0] if src else None


def text_landscape(ctx):
    """The report's landscape (section landscape: the text's most used byte), memoised."""
    from satrnn.analyses.landscape import text_landscape as tl
    return ctx.memo("text_landscape", lambda: tl(ctx.model, ctx.xs, model_arg=model_arg(ctx)))


@figure("cycles", "Cycle periods vs transients per input", plots.cycle_periods)
def _cycles(ctx, seed):
    sv = cycle_survey(ctx)
    rows = [{"input": c.input, "period": c.period, "transient": c.transient, "search": "the report's search"}
            for c in sv.cycles]
    live = {(c.input, c.smallest_state) for c in sv.cycles}
    _, verified = verified_known(ctx)   # the precomputed ones not found again here, each re-verified
    rows += [{"input": v.cycle.input, "period": v.cycle.period, "transient": v.cycle.transient,
              "search": "a precomputed search"} for v in verified
             if v.ok and (v.cycle.input, v.cycle.smallest_state) not in live]
    if not rows:
        raise NothingToShow(f"no cycle: {sv.jobs} searches ({sv.starts} starts x {len(sv.inputs)} inputs, "
                            f"{sv.budget:,} steps each) closed none")
    return [((rows,), {})]


@figure("basins", "Basin fractions with their intervals", plots.basin_fractions)
def _basins(ctx, seed):
    result, _, _ = text_landscape(ctx)
    if result.attractors:
        return [((result,), {})]
    # nothing found here: the precomputed landscape under this byte, else under another byte (verified cycles)
    known, verified = verified_known(ctx)
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
def _coflip(ctx, seed):
    from satrnn.analyses import coflip as cf
    G = ctx.memo(("coflip_graph", seed), lambda: cf.coflip_graph(ctx.model, ctx.coflip, seed=seed))
    return [((G,), {"seed": seed})]


@figure("attribution", "Attribution and offset profiles", plots.attribution_profile, plots.offset_profile)
def _attribution(ctx, seed):
    return [((_available(lambda: ctx.sparse_diff),), {}), ((_available(lambda: ctx.q2),), {})]


def draw(name: str, ctx, subject: str | None, seed: int = 0):
    """(matplotlib Figure, title) of one catalogue figure; NothingToShow if it has nothing to draw."""
    spec = FIGURES[name]
    panels = spec.data(ctx, seed)
    w, h = spec.panels[0].size
    fig, axes = new_figure(len(spec.panels), w, h)
    for fn, ax, (args, kwargs) in zip(spec.panels, axes, panels):
        fn(*args, ax=ax, subject=subject, **kwargs)
    return fig, f"{spec.title} ({subject})" if subject else spec.title
