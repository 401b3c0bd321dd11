"""Figures of the analyses, drawn with matplotlib: one function per figure (`satrnn.figures.plots`).

Each function takes an analysis result (or plain arrays) and an optional matplotlib Axes, draws on it and
returns it; with no Axes it makes a new figure (through pyplot, so a notebook shows it). Every figure is
labelled: a title naming what it shows and, when given, the model and text (`subject`), and axis labels
with units.

Reproducible bytes: figures are drawn under one fixed style (`STYLE`: DejaVu Sans, which ships with
matplotlib, at fixed sizes; text drawn as paths, so an SVG needs no font) and saved by `save` with no date,
no software version and a fixed SVG hash salt, so the same inputs give the same bytes (SVG, PNG, PDF) on the
same matplotlib version. Random layouts (the co-flip graph) take a seed.

matplotlib is imported only here and in `plots`, and nothing imports this package at command start-up: the
CLI pays for matplotlib only when a figure is made.
"""
from __future__ import annotations

import io

FORMATS = ("svg", "png", "pdf")

# The figure style: fixed fonts and sizes (the defaults of a matplotlibrc would otherwise apply).
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 7.5,
    "figure.titlesize": 10.0,
    "figure.dpi": 100.0,
    "savefig.dpi": 150.0,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "path",        # glyphs as paths: the SVG needs no font, and looks the same everywhere
    "svg.hashsalt": "satrnn",      # ids in the SVG from this salt, not from a random one
    "svg.image_inline": True,
    "pdf.fonttype": 42,
    "path.simplify": False,        # every point drawn, independently of the renderer's heuristics
    "image.interpolation": "nearest",
    "image.resample": False,
}

# No date, no producer/software version: the file depends on the inputs only (a None entry also keeps
# SOURCE_DATE_EPOCH out).
_METADATA = {"svg": {"Date": None, "Creator": None}, "png": {"Software": None},
             "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}}


def hook(plot: str, field: str | None = None):
    """An analysis unit's figure hook (`satrnn.unit.Analysis.figure`): hook(result, ax) draws `result` (or its
    `field`) with `satrnn.figures.plots.<plot>` on ax (None: a new figure) and returns the Axes; plots (and
    matplotlib) are imported only when it runs."""
    def draw(result, ax=None):
        from satrnn.figures import plots
        return getattr(plots, plot)(getattr(result, field) if field else result, ax=ax)
    draw.__qualname__ = f"hook({plot!r}{'' if field is None else f', {field!r}'})"
    return draw


def style():
    """A context manager applying STYLE (matplotlib's rc_context)."""
    import matplotlib
    return matplotlib.rc_context(STYLE)


def new_figure(panels: int = 1, width: float = 6.4, height: float = 3.6):
    """(figure, [axes]) of `panels` side-by-side Axes of width x height inches each, made without pyplot (no
    global state, no GUI)."""
    from matplotlib.figure import Figure
    with style():
        fig = Figure(figsize=(width * panels, height), layout="constrained")
        axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    return fig, axes


def save(fig, fmt: str, title: str | None = None) -> bytes:
    """The figure as `fmt` bytes ("svg", "png" or "pdf"), reproducibly (see the module docstring); `title`
    goes into the file's metadata."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r} (use {', '.join(FORMATS)})")
    meta = dict(_METADATA[fmt])
    if title:
        meta["Title"] = title
    buf = io.BytesIO()
    with style():
        freeze_layout(fig)
        fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()


def freeze_layout(fig) -> None:
    """Run the figure's layout engine once and keep its result. Constrained layout is iterative: every draw
    would move the axes a little again (by a legend outside the axes, say), so the bytes of a save would
    depend on how often the figure was drawn before and in which format."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine
    if isinstance(fig.get_layout_engine(), (ConstrainedLayoutEngine, TightLayoutEngine)):
        fig.draw_without_rendering()   # twice: the second pass sees legends and labels placed by the first
        fig.draw_without_rendering()
        fig.set_layout_engine("none")


def svg_inline(fig, title: str | None = None) -> str:
    """The figure as an `<svg>` element to inline in HTML (no XML declaration or DOCTYPE)."""
    text = save(fig, "svg", title).decode("utf-8")
    return text[text.index("<svg"):]



def register_result_plots() -> None:
    """Give the typed results their `.plot(ax=None)` (`satrnn.rnn.record.register_plot`): every analysis unit's
    figure hook, and the results the API returns directly (a landscape, a Derrida curve) with theirs."""
    from satrnn.automaton.cascade import DerridaCurve
    from satrnn.automaton.landscape import EstimatedLandscape, ExactLandscape
    from satrnn.rnn.record import register_plot
    from satrnn.unit import units
    for unit in units().values():
        if unit.figure is not None:
            register_plot(unit.result, unit.figure)
    for cls, plot in ((ExactLandscape, "basin_fractions"), (EstimatedLandscape, "basin_fractions"),
                      (DerridaCurve, "derrida_curve")):
        register_plot(cls, hook(plot))
