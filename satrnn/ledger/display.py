"""How a claim's measured value is displayed next to the paper's: with enough digits that the display agrees
with the verdict, in the paper's unit.

A measured value is shown with two more decimals than the paper printed, and more when needed: until the
displayed value lies on the same side of the tolerance as the exact one (133.473 against "134 ± 0.5" is
shown as 133.47, not 133.5, which would look within the tolerance). A paper value printed with "%" gets its
measured value with "%" (the ledger compares percent claims in percent). The difference is shown the same
way, with the tolerance next to it (`difference_text`).
"""
from __future__ import annotations

import math
import re

from satrnn.ledger.claims import Expected, LedgerRecord, get_claim

MAX_DECIMALS = 12


def _printed_decimals(paper_value: str) -> int:
    """Decimals of the first number the paper printed ("0.342" -> 3, "134" -> 0, "4.7×10^-5" -> 1)."""
    m = re.search(r"\d[\d,]*(?:\.(\d+))?", paper_value)
    return len(m.group(1)) if m and m.group(1) else 0


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _inside(e: Expected, v: float) -> bool | None:
    """Is v within the paper's tolerance (None: the kind has no numeric tolerance)."""
    if e.kind in ("number", "approx"):
        return abs(v - e.value) <= e.tol * (1 + 1e-9) + 1e-15
    if e.kind == "range":
        return e.lo - 1e-12 <= v <= e.hi + 1e-12
    if e.kind == "bound":
        return v < e.value + e.tol if e.op == "<" else v > e.value - e.tol
    return None


def _decimals_for(e: Expected, v: float, start: int) -> int:
    """The fewest decimals >= start at which the displayed value is judged like the exact one."""
    truth = _inside(e, v)
    d = start
    while truth is not None and d < MAX_DECIMALS and _inside(e, round(v, d)) != truth:
        d += 1
    return d


def _scientific(paper_value: str) -> bool:
    return "10^" in paper_value or "e-" in paper_value.lower()


def number_text(v, paper_value: str, e: Expected | None = None, signed: bool = False) -> str:
    """A measured number (or a difference, signed) formatted against the paper's printed value."""
    if not _is_number(v):
        return "—" if v is None else str(v)
    pct = "%" if "%" in paper_value else ""
    if (isinstance(v, int) or (signed and float(v).is_integer())) and "." not in paper_value:
        return (f"{int(v):+,d}" if signed else f"{int(v):,d}") + pct
    v = float(v)
    if _scientific(paper_value) or (v != 0 and abs(v) < 1e-4):
        return f"{v:+.3e}" if signed else f"{v:.3e}"
    start = _printed_decimals(paper_value) + 2
    d = _decimals_for(e, v, start) if (e is not None and not signed) else start
    return (f"{v:+,.{d}f}" if signed else f"{v:,.{d}f}") + pct


def measured_text(rec: LedgerRecord) -> str:
    """The record's measured value as the ledger tables show it (lists element by element)."""
    v = rec.measured
    try:
        e = get_claim(rec.id).parsed
    except KeyError:
        e = None
    if isinstance(v, (list, tuple)) and v and all(_is_number(x) for x in v):
        return "[" + ", ".join(number_text(x, rec.paper_value, e) for x in v) + "]"
    if _is_number(v):
        return number_text(v, rec.paper_value, e)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None:
        return "—"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


def difference_text(rec: LedgerRecord) -> str:
    """"Δ = -0.527 (tolerance ±0.5)" for a numeric claim, else the tolerance or expectation alone."""
    tol = rec.tolerance or ""
    d = rec.difference
    if d is None:
        return f"expected {tol}" if tol and tol != "exact" else ("expected exactly the paper's value" if tol else "")
    if tol.startswith("log10"):
        return f"Δ = {d:+.3f} in log10 (tolerance {tol})"
    if "%" in rec.paper_value:   # a difference of percentages is in percentage points
        return f"Δ = {number_text(d, rec.paper_value.replace('%', ''), signed=True)} pp (tolerance {tol} pp)"
    return f"Δ = {number_text(d, rec.paper_value, signed=True)} (tolerance {tol})"
