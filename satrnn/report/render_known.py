"""The precomputed cycles of the default model (`satrnn.report.known_cycles`) as the report shows them.

`known_cycles_part(results)` and `known_landscape_part(results, x)` (`results`: the shared cache,
`satrnn.cache.Results`) return (renderables, JSON dict) for the cycle
and landscape sections, or ([], None) for a model without precomputed cycles. Every cycle shown was
re-verified in this run (`verify_cycle`); one that fails is shown as failed, in red, never silently.
"""
from __future__ import annotations

from rich.table import Table
from rich.text import Text

from satrnn.report.known_cycles import verified_known
from satrnn.rnn.text import display_byte


def _input(x: int) -> str:
    return f"0x{x:02x} '{display_byte(x)}'"


def _search_lines(known, names) -> list[Text]:
    out = []
    for name in names:
        s = known.search(name)
        if s is None:
            continue
        out.append(Text.assemble((f"{s.name}: ", "bold"),
                                 f"{s.what}: {s.resolved} of {s.jobs} closed a cycle, {s.total_steps:,} steps "
                                 f"({s.seconds:,.0f} s when precomputed); reproduce with ", (s.command, "cyan")))
    return out


def _verified_rows(verified) -> list[dict]:
    return [{"input": v.cycle.input, "period": v.cycle.period, "transient": v.cycle.transient,
             "transient_max": v.cycle.transient_max, "starts": v.cycle.starts,
             "smallest_state": v.cycle.smallest_state, "search": v.cycle.search, "verified": v.ok,
             "verify_seconds": v.seconds, "problem": v.problem or None} for v in verified]


def known_cycles_part(results):
    """(renderables, dict) of the precomputed cycles for the cycle section."""
    known, verified = verified_known(results)
    if known is None:
        return [], None
    ok = [v for v in verified if v.ok]
    head = Text.assemble(("Known cycles of this model", "bold"),
                         f" (the shipped default model, weights sha256 {known.weights_sha256[:16]}): "
                         f"{len(verified)} found by the precomputed searches below, {len(ok)} re-verified now "
                         "(one period of steps from the stored state returns to it, and to nothing smaller, first)")
    parts = [head]
    if verified:
        t = Table(title="Precomputed cycles (exact semantics), re-verified in this run", title_justify="left")
        for c in ("input", "period", "transient", "smallest state (hex)", "found by", "check"):
            t.add_column(c, justify="right" if c in ("period", "transient") else "left")
        for v in verified:
            c = v.cycle
            tr = f"{c.transient:,}" + (f"..{c.transient_max:,}" if c.transient_max != c.transient else "")
            check = Text(f"verified ({1000 * v.seconds:.0f} ms)", style="green") if v.ok else \
                Text(f"FAILED: {v.problem}", style="bold red")
            t.add_row(Text(_input(c.input)), f"{c.period:,}", tr, Text(c.smallest_state), Text(c.search), check)
        parts.append(t)
    else:
        parts.append(Text("The precomputed searches closed no cycle."))
    parts += _search_lines(known, [s.name for s in known.searches])
    data = {"weights_sha256": known.weights_sha256, "generated_by": known.generated_by,
            "searches": [s.__dict__ | {"inputs": list(s.inputs)} for s in known.searches],
            "cycles": _verified_rows(verified)}
    if any(not v.ok for v in verified):
        data["failures"] = [f"precomputed cycle under {_input(v.cycle.input)} (period {v.cycle.period:,}) failed "
                            f"its re-verification: {v.problem}" for v in verified if not v.ok]
    return parts, data


def known_landscape_part(results, x: int):
    """(renderables, dict) of the precomputed landscapes for the landscape section: under byte x (the text's
    most used) and under the other bytes with a precomputed cycle."""
    from satrnn.report.render_landscape import render_landscape
    known, verified = verified_known(results)
    if known is None:
        return [], None
    bad = {v.cycle.smallest_state for v in verified if not v.ok}
    parts, data = [], {"landscapes": []}
    inputs = [x] + sorted({j.seq[0] for j in known.landscape_jobs if len(j.seq) == 1} - {x})
    for b in inputs:
        est = known.landscape(b)
        s = known.landscape_search(b)
        if est is None or s is None:
            continue
        if est.attractors:
            ok = not any(a.rep in bad for a in est.attractors)
            parts.append(Text.assemble((f"Precomputed landscape under {_input(b)}", "bold"),
                                       f" ({s.what}; every attractor's cycle re-verified now: "
                                       + ("yes" if ok else "NO, see the cycle section") + ")",
                                       style=None if ok else "red"))
            parts.append(render_landscape(est, None, max_rows=8))
        else:
            parts.append(Text.assemble((f"Precomputed landscape under {_input(b)}", "bold"),
                                       f": {s.what} ({s.total_steps:,} steps in all): no start closed a cycle."))
        parts.append(Text.assemble("reproduce with ", (s.command, "cyan")))
        data["landscapes"].append({"input": b, "command": s.command, **est.as_dict()})
    return parts, data
