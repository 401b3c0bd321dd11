"""Rich rendering of attractor landscapes (`satrnn landscape`, `satrnn sweep landscape` and the report).

`render_landscape(result, sensitivity=None, max_rows=20)` takes an `automaton.landscape.ExactLandscape` or
`EstimatedLandscape` (and optionally a `Sensitivity`) and returns one rich renderable.
`text_landscape(tl)` draws an `analyses.landscape.TextLandscape` (the report's section: the landscape under the
text's most used byte) with the command that reproduces it.
"""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from satrnn.automaton.landscape import EstimatedLandscape, ExactLandscape, Sensitivity
from satrnn.automaton.sign import format_pins
from satrnn.rnn.text import display_byte


def input_label(seq) -> str:
    """'0x41 'A'' for one byte, else the sequence length and its first bytes."""
    seq = list(seq)
    if len(seq) == 1:
        return f"0x{seq[0]:02x} '{display_byte(seq[0])}'"
    head = " ".join(f"{b:02x}" for b in seq[:8])
    return f"{len(seq)}-byte sequence {head}{' ...' if len(seq) > 8 else ''}"


def _pins(pins) -> str:
    return format_pins(pins, ", ") if pins else "none"


def _cycle_text(states, limit: int = 4) -> str:
    return " > ".join(states[:limit]) + (f" > ... ({len(states)} states)" if len(states) > limit else "")


def _histogram_text(hist, limit: int = 12) -> str:
    items = [f"{k}: {v:,}" for k, v in enumerate(hist) if v][:limit]
    more = sum(1 for v in hist if v) - len(items)
    return ", ".join(items) + (f", ... ({more} more values)" if more > 0 else "")


def _render_exact(r: ExactLandscape, max_rows: int) -> list:
    head = Text.from_markup(
        f"[bold]Exact landscape[/bold]: all {r.n_states:,} states (H = {r.H}, pins {_pins(r.pins)}), input "
        f"{input_label(r.seq)}, {r.semantics}: [bold]{len(r.attractors)}[/bold] attractor(s), basin entropy "
        f"{r.basin_entropy:.4f} nats ({r.basin_entropy_bits:.4f} bits), Garden-of-Eden states "
        f"{r.garden_of_eden:,} ({100 * r.garden_of_eden / r.n_states:.1f}%), max height "
        f"{len(r.height_histogram) - 1} ({r.seconds:.2f} s)")
    t = Table(title="Attractors (by basin size; states in cycle order from the smallest)", title_justify="left")
    for c in ("rep", "period", "basin size", "fraction", "Garden of Eden", "max height", "cycle"):
        t.add_column(c, justify="right" if c not in ("rep", "cycle") else "left")
    order = sorted(r.attractors, key=lambda a: (-a.basin_size, a.rep))
    for a in order[:max_rows]:
        t.add_row(a.rep, f"{a.period:,}", f"{a.basin_size:,}", f"{a.basin_fraction:.4f}", f"{a.garden_of_eden:,}",
                  str(a.max_height), _cycle_text(a.states))
    out = [head, t]
    if len(order) > max_rows:
        out.append(Text(f"... {len(order) - max_rows} more attractors (use --json)"))
    out.append(Text(f"height histogram (applications of F): {_histogram_text(r.height_histogram)}"))
    out.append(Text(f"in-degree histogram: {_histogram_text(r.in_degree_histogram)}"))
    return out


def _render_estimated(r: EstimatedLandscape, max_rows: int) -> list:
    if not r.attractors:   # nothing to tabulate, no entropy to print: say what was searched
        return [Text.from_markup(
            f"[bold]Estimated landscape[/bold]: {r.starts:,} random starts (seed(s) "
            f"{', '.join(str(s) for s in r.seeds[:4])}{' ...' if len(r.seeds) > 4 else ''}), H = {r.H}, pins "
            f"{_pins(r.pins)}, input {input_label(r.seq)}, {r.semantics}: [bold]no start closed a cycle[/bold] "
            f"within {r.budget:,} steps ({r.steps:,} steps in {r.seconds:.2f} s, "
            f"{(r.steps_per_second or 0):,.0f} steps/s), so no attractor and no basin entropy can be given")]
    lo, hi = r.basin_entropy_ci
    head = Text.from_markup(
        f"[bold]Estimated landscape[/bold]: {r.starts:,} random starts (seed(s) "
        f"{', '.join(str(s) for s in r.seeds[:4])}{' ...' if len(r.seeds) > 4 else ''}), H = {r.H}, pins "
        f"{_pins(r.pins)}, input {input_label(r.seq)}, {r.semantics}, budget {r.budget:,} steps: "
        f"[bold]{len(r.attractors)}[/bold] attractor(s) found, [bold]{r.unresolved:,} unresolved[/bold] "
        f"({100 * r.unresolved_fraction:.1f}%); basin entropy {r.basin_entropy:.4f} nats "
        f"[{lo:.4f}, {hi:.4f}] ({100 * r.confidence:.0f}% bootstrap); {r.steps:,} steps in {r.seconds:.2f} s "
        f"({(r.steps_per_second or 0):,.0f} steps/s)")
    t = Table(title=f"Attractors (basin fraction with its {100 * r.confidence:.0f}% Clopper-Pearson interval)",
              title_justify="left")
    for c in ("rep", "period", "starts", "basin fraction", "interval", "transient min..max"):
        t.add_column(c, justify="left" if c == "rep" else "right")
    for a in r.attractors[:max_rows]:
        t.add_row(a.rep, f"{a.period:,}", f"{a.starts:,}", f"{a.basin_fraction:.4f}",
                  f"[{a.basin_fraction_ci[0]:.4f}, {a.basin_fraction_ci[1]:.4f}]",
                  f"{a.transient_min:,}..{a.transient_max:,}")
    out = [head, t]
    if len(r.attractors) > max_rows:
        out.append(Text(f"... {len(r.attractors) - max_rows} more attractors (use --json)"))
    return out


def _render_sensitivity(s: Sensitivity) -> Text:
    vals = [(j, v) for j, v in enumerate(s.per_neuron) if v is not None]
    if not vals:
        return Text("average sensitivity: undefined (every neuron is pinned: no neuron to flip)")
    top = sorted(vals, key=lambda jv: -jv[1])[:5]
    how = f"exact over all {s.states:,} states" if s.exact else \
        f"over {s.states:,} sampled states (seed {s.seed}), 95% CI [{s.overall_ci[0]:.4f}, {s.overall_ci[1]:.4f}]"
    return Text(f"average sensitivity (neurons that flip one step after one neuron is flipped): {s.overall:.4f}, "
                f"{how}; most sensitive neurons " + ", ".join(f"{j}: {v:.3f}" for j, v in top))


def render_landscape(result, sensitivity: Sensitivity | None = None, max_rows: int = 20):
    """One rich renderable for an exact or estimated landscape (and its sensitivity, if given)."""
    if isinstance(result, ExactLandscape):
        parts = _render_exact(result, max_rows)
    elif isinstance(result, EstimatedLandscape):
        parts = _render_estimated(result, max_rows)
    else:
        raise TypeError(f"not a landscape: {type(result).__name__}")
    if sensitivity is not None:
        parts.append(_render_sensitivity(sensitivity))
    return Group(*parts)


def text_landscape(tl):
    """The landscape under a text's most used byte (an `analyses.landscape.TextLandscape`), drawn with the
    command that reproduces it."""
    return Group(render_landscape(tl.result, tl.sensitivity, max_rows=8),
                 Text(f"same analysis: {tl.command}", style="cyan"))
