"""The claims ledger's engine: loading the seed papers' claims, and the verdict rules.

The claims are data: one file per seed, `satrnn/ledger/seed_claims/NNN.json` (shipped as package data), the ONLY
place in satrnn where paper values appear; this module loads and validates them at import (every printed
value goes through `parse_printed`) and judges measurements against them. Every claim records the value
exactly as the paper prints it (`paper_value`, a string), the seed file and section, the statement, the
measurement that checks it (a key of `satrnn.ledger.measures.MEASURES` plus parameters), the definition
used, and a tolerance derived from the printed precision:

- a plain printed number ("0.123", "45.6%", "12,345", "+0.035", "4.7×10^-5"): half a unit in the last
  printed digit (integers and counts: exact);
- an approximate number ("~4.6", "~57k", "about +0.025", "≈ 3.14"): max(half a unit in the last printed
  digit, 10% of the printed value), the documented looser rule for "~"/"about";
- a range ("87–96%", "20–21"): every measured value within [low - half unit, high + half unit];
- a bound ("< 37%", "> 0.5"): every measured value beyond the bound, the bound widened by half a unit;
- an order of magnitude ("10^6"): |log10(measured) - 6| <= 0.5;
- labels (neuron ids, byte lists, offset lists, yes/no facts): exact equality (sets: as sets).

Verdicts: `reproduced`, `differs` (with the measured value and the difference), `not measurable` (with a
specific reason: the claim is about another architecture, it has no definition any program computes, or
the quantity does not exist on this model or text), `not applicable` (the claims describe the published
weights and text; on another model or text a claim that depends on them is not judged — its measured value
is still recorded — and its reason starts with "another model" or "another text"), `failed` (the
measurement crashed: a bug, reported with the error; `satrnn verify` and `satrnn report` exit 1). No claim is
dropped: `summarize` counts every claim per seed and per verdict.

Applicability: the published weights and text are recognised by the sha256 of their content (the float32
weights in file order, the text bytes), wherever they are stored (`Subject.of(model, xs)`). A claim depends
on the weights, the text or both, by its measurement (`depends_on(claim)`).

Some claims are *gated*: seed 001's redux table is evaluated against a full-model baseline bpc
which is not this model's bpc. Such a claim names its gate claim; if the gate does not reproduce on the
model at hand, the claim is `not measurable` (the measured value is still shown for reference).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np

from satrnn.rnn import elementary as em
from satrnn.rnn.record import Record, key

VERDICTS = ("reproduced", "differs", "not measurable", "not applicable", "failed")
KINDS = ("number", "approx", "range", "bound", "order", "label", "set", "bool")
APPROX_REL = 0.10  # relative tolerance of "~"/"about" claims (see module docstring)


# ---- printed values -> expectations ------------------------------------------------------------

@dataclass(frozen=True)
class Expected:
    """A parsed paper value: kind, central value (or bounds) and tolerance, with a precision note."""
    kind: str
    value: float | None = None
    lo: float | None = None
    hi: float | None = None
    tol: float = 0.0
    precision: str = ""
    op: str | None = None  # "<" or ">" for bounds


_NUM = r"[+\-−]?\d[\d,]*(?:\.\d+)?"


def _number(s: str) -> tuple[float, float, str]:
    """(value, half unit of the last printed digit, precision note) of one printed number."""
    s = s.strip().replace("−", "-").replace("+", "")
    mult, unit_note = 1.0, ""
    m = re.fullmatch(r"(-?[\d.,]+)\s*[×x]\s*10\^\{?([+\-−]?\d+)\}?", s)
    if m:
        mant, exp = m.group(1), int(m.group(2).replace("−", "-"))
        v, half, note = _number(mant)
        scale = float(f"1e{exp}")          # exact decimal parsing, not the host's pow()
        return v * scale, half * scale, note + f" ×10^{exp}"
    if s.endswith("k"):
        s, mult, unit_note = s[:-1], 1000.0, " (thousands)"
    if not re.fullmatch(r"-?\d[\d,]*(\.\d+)?", s):
        raise ValueError(f"not a printed number: {s!r}")
    decimals = len(s.split(".")[1]) if "." in s else 0
    v = float(s.replace(",", "")) * mult
    half = 0.5 * float(f"1e{-decimals}") * mult
    note = (f"{decimals} decimal{'s' if decimals != 1 else ''}" if decimals else "integer") + unit_note
    return v, half, note


def parse_printed(paper_value: str, kind: str) -> Expected:
    """Turn the printed string into an expectation with its tolerance (rules in the module docstring)."""
    s = paper_value.strip()
    pct = "%" in s
    s = s.replace("%", "").strip()
    unit = " (percent)" if pct else ""
    if kind in ("number", "approx"):
        approx = kind == "approx"
        s2 = re.sub(r"^(~|≈|about|nearly|approximately)\s*", "", s)
        approx = approx or s2 != s
        v, half, note = _number(s2)
        if approx:
            return Expected("approx", v, tol=max(half, APPROX_REL * abs(v)),
                            precision=f"approximate: max(half unit of {note}, 10%){unit}")
        return Expected("number", v, tol=half, precision=f"{note}{unit}")
    if kind == "range":
        parts = re.split(r"\s*[–—-]\s*(?=\d)", s.lstrip("~≈ "))
        lo, h1, n1 = _number(parts[0])
        hi, h2, _ = _number(parts[1])
        half = max(h1, h2)
        return Expected("range", lo=lo - half, hi=hi + half, tol=half, precision=f"range, {n1}{unit}")
    if kind == "bound":
        m = re.fullmatch(r"([<>])\s*(.+)", s)
        op, rest = m.group(1), m.group(2)
        v, half, note = _number(rest)
        return Expected("bound", v, tol=half, op=op, precision=f"bound {op} {note}{unit}")
    if kind == "order":
        m = re.fullmatch(r"10\^\{?([+\-−]?\d+)\}?", s)
        e = int(m.group(1).replace("−", "-"))
        return Expected("order", float(e), tol=0.5, precision="order of magnitude (log10 within 0.5)")
    if kind in ("label", "set", "bool"):
        return Expected(kind, precision="exact" if kind != "set" else "exact (as a set)")
    raise ValueError(f"unknown claim kind {kind!r}")


# ---- the claim record ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    id: str
    seed: str                    # the seed's file name
    section: str
    statement: str
    paper_value: str             # as printed
    measure: str | None          # key of ledger_measures.MEASURES; None = not measurable by nature
    params: tuple = ()           # ((name, value), ...) passed to the measurement
    kind: str = "number"
    expected: object = None      # structured paper value for label/set/bool claims
    definition: str = ""
    reason: str | None = None    # set: not measurable by nature (measurement, if any, shown for reference)
    scale: float = 1.0           # measured value is multiplied by this before comparing (fraction -> %)
    gate: str | None = None      # id of a claim that must reproduce for this one to be measurable
    table: str | None = None     # table key (see TABLES) when the claim is a table cell
    row: str | None = None       # the row label within that table

    @property
    def seed_key(self) -> str:
        return self.seed[:3]

    @property
    def parsed(self) -> Expected:
        return parse_printed(self.paper_value, self.kind)

    @property
    def kwargs(self) -> dict:
        return dict(self.params)

    @property
    def measurement(self) -> str | None:
        """The measurement call as text, e.g. "keep_top(field='bpc', k=15)" (ledger_measures.MEASURES key)."""
        if self.measure is None:
            return None
        return f"{self.measure}(" + ", ".join(f"{k}={v!r}" for k, v in self.params) + ")"


# Measurements that read only the weights, or only the text; every other measurement reads both.
WEIGHTS_ONLY = frozenset({"hidden_size", "params", "shape", "pattern_slots", "sig_patterns", "spectral_radius",
                          "wh_abs", "wh_pct", "wh_top_source", "redux_params", "redux_params_pct",
                          "params_minus_redux", "wy_cols_removed", "wy_kept_pct", "wy_role"})
TEXT_ONLY = frozenset({"text_byte", "counting", "greedy_order", "greedy_before"})

# The published weights (sat_model.bin: raw little-endian float32 Wx, Wh, bh, Wy, by) and text
# (enwik_1024.txt), identified by the sha256 of that content.
PUBLISHED_WEIGHTS_SHA256 = "239036a0c2319f6835f56ee54bbc3ae8d19a10ab1224c26c77a3f66e59d2b68b"
PUBLISHED_TEXT_SHA256 = "ef3e698d40b8b36d6d1776feccc25bab3d01de872a4fd8e56f5b929631568496"
VERIFY_PUBLISHED = "satrnn verify sat_model.bin enwik_1024.txt"


def depends_on(claim: Claim) -> frozenset:
    """{"weights"}, {"text"} or {"weights", "text"}: what the claim's value depends on."""
    if claim.measure in WEIGHTS_ONLY:
        return frozenset({"weights"})
    if claim.measure in TEXT_ONLY:
        return frozenset({"text"})
    return frozenset({"weights", "text"})


@dataclass(frozen=True)
class Subject:
    """What the ledger is run on: the sha256 of the weights and of the text, and whether they are the
    published ones (the ones the seeds' claims describe)."""
    weights_sha256: str
    text_sha256: str

    @property
    def published_weights(self) -> bool:
        return self.weights_sha256 == PUBLISHED_WEIGHTS_SHA256

    @property
    def published_text(self) -> bool:
        return self.text_sha256 == PUBLISHED_TEXT_SHA256

    @property
    def published(self) -> bool:
        return self.published_weights and self.published_text

    @classmethod
    def of(cls, model, xs) -> Subject:
        """The subject of a model (anything with Wx, Wh, bh, Wy, by; None = no model: only text claims can
        apply) and a text (uint8 bytes)."""
        text = hashlib.sha256(np.ascontiguousarray(xs, dtype=np.uint8).tobytes()).hexdigest()
        if model is None:
            return cls("none", text)
        h = hashlib.sha256()
        for name in ("Wx", "Wh", "bh", "Wy", "by"):
            h.update(np.ascontiguousarray(getattr(model, name), dtype="<f4").tobytes())
        return cls(h.hexdigest(), text)

    def not_applicable(self, claim: Claim) -> str | None:
        """Why the claim does not apply to this subject (None: it applies)."""
        dep = depends_on(claim)
        if "weights" in dep and not self.published_weights:
            return (f"another model: the claim describes the published weights "
                    f"(sha256 {PUBLISHED_WEIGHTS_SHA256[:12]}…), these are {self.weights_sha256[:12]}…; "
                    f"check it with `{VERIFY_PUBLISHED}`")
        if "text" in dep and not self.published_text:
            return (f"another text: the claim describes the published text (sha256 {PUBLISHED_TEXT_SHA256[:12]}…),"
                    f" this is {self.text_sha256[:12]}…; check it with `{VERIFY_PUBLISHED}`")
        return None


PUBLISHED = Subject(PUBLISHED_WEIGHTS_SHA256, PUBLISHED_TEXT_SHA256)


# ---- the registry: one data file per seed ----------------------------------------------------------

CLAIM_FIELDS = {"id", "section", "statement", "paper_value", "measure", "params", "kind", "expected", "definition",
                "reason", "scale", "gate", "table", "row"}
DATA_PACKAGE = "satrnn.ledger.seed_claims"


def _tuples(v):
    """JSON lists in measurement parameters back to tuples (hashable, printed as before)."""
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def load_seed_file(text: str, where: str) -> tuple[str, str, list[tuple], list[Claim]]:
    """(seed key, seed file name, tables, claims) of one seed's data file, validated: every field known,
    every printed value parsed by `parse_printed`, kinds and ids well formed. Errors name the file and claim."""
    doc = json.loads(text)
    key, fname = doc.get("seed"), doc.get("file")
    if not (isinstance(key, str) and re.fullmatch(r"\d{3}", key) and isinstance(fname, str) and fname.startswith(key)):
        raise ValueError(f"{where}: 'seed' must be a three-digit key and 'file' the seed's file name")
    tables = [(key, t["key"], t["first_header"], int(t["rows"])) for t in doc.get("tables", [])]
    claims = []
    for i, d in enumerate(doc["claims"]):
        cid = d.get("id", f"#{i}")
        unknown = set(d) - CLAIM_FIELDS
        missing = {"id", "section", "statement", "paper_value", "kind"} - set(d)
        if unknown or missing:
            raise ValueError(f"{where}: claim {cid}: unknown fields {sorted(unknown)}, missing {sorted(missing)}")
        if not cid.startswith(f"s{key}."):
            raise ValueError(f"{where}: claim id {cid} does not start with s{key}.")
        if d["kind"] not in KINDS:
            raise ValueError(f"{where}: claim {cid}: unknown kind {d['kind']!r}")
        params = tuple(sorted((k, _tuples(v)) for k, v in (d.get("params") or {}).items()))
        c = Claim(id=cid, seed=fname, section=d["section"], statement=d["statement"], paper_value=d["paper_value"],
                  measure=d.get("measure"), params=params, kind=d["kind"], expected=d.get("expected"),
                  definition=d.get("definition", ""), reason=d.get("reason"), scale=float(d.get("scale", 1.0)),
                  gate=d.get("gate"), table=d.get("table"), row=d.get("row"))
        try:
            _ = c.parsed  # parse the printed value now, so a bad one fails at load
        except (ValueError, AttributeError, IndexError) as e:
            raise ValueError(f"{where}: claim {cid}: cannot parse the printed value {c.paper_value!r}: {e}") from None
        claims.append(c)
    return key, fname, tables, claims


def _load_registry():
    seeds, tables, claims, by_id = {}, [], [], {}
    files = sorted((f for f in resources.files(DATA_PACKAGE).iterdir() if f.name.endswith(".json")),
                   key=lambda f: f.name)
    for f in files:
        key, fname, t, cs = load_seed_file(f.read_text(encoding="utf-8"), f"seed_claims/{f.name}")
        seeds[key] = fname
        tables += t
        for c in cs:
            if c.id in by_id:
                raise ValueError(f"seed_claims/{f.name}: duplicate claim id {c.id}")
            by_id[c.id] = c
        claims += cs
    keys = {t[1] for t in tables}
    for c in claims:
        if c.gate is not None and c.gate not in by_id:
            raise ValueError(f"claim {c.id}: gate {c.gate} is not a claim")
        if c.table is not None and c.table not in keys:
            raise ValueError(f"claim {c.id}: table {c.table} is not in its seed's tables")
    return seeds, tables, claims, by_id


# SEEDS: seed key -> file name; TABLES: (seed, table key, first header cell, data rows) in order of
# appearance (tests/test_claims.py checks them against the seed texts); CLAIMS in registry order.
SEEDS, TABLES, CLAIMS, _BY_ID = _load_registry()


def get_claim(cid: str) -> Claim:
    return _BY_ID[cid]


# ---- the verdict engine ---------------------------------------------------------------------------

class NotAvailable(Exception):
    """Raised by a measurement whose analysis module has not landed (or cannot run on this model)."""


@dataclass(frozen=True)
class Measured:
    """A measurement result with an optional human note (e.g. the fraction behind a yes/no)."""
    value: object
    note: str = ""


def _as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def compare(claim: Claim, measured) -> tuple[str, object, str]:
    """(verdict, difference, note) of a measured value against the claim's printed value."""
    e = claim.parsed
    eps = 1e-9
    if e.kind in ("number", "approx"):
        if not _is_num(measured):
            return "differs", None, f"measured a non-number {measured!r}"
        diff = float(measured) - e.value
        return ("reproduced" if abs(diff) <= e.tol * (1 + eps) + 1e-15 else "differs"), diff, ""
    if e.kind == "range":
        vals = _as_list(measured)
        if not vals or not all(_is_num(v) for v in vals):
            return "differs", None, "no numeric measurement"
        ok = all(e.lo - 1e-12 <= float(v) <= e.hi + 1e-12 for v in vals)
        return ("reproduced" if ok else "differs"), None, ""
    if e.kind == "bound":
        vals = _as_list(measured)
        if not vals or not all(_is_num(v) for v in vals):
            return "differs", None, "no numeric measurement"
        ok = all((float(v) < e.value + e.tol) if e.op == "<" else (float(v) > e.value - e.tol) for v in vals)
        return ("reproduced" if ok else "differs"), None, ""
    if e.kind == "order":
        if not _is_num(measured) or float(measured) <= 0:
            return "differs", None, "not a positive number"
        diff = float(em.log10(float(measured))) - e.value
        return ("reproduced" if abs(diff) <= e.tol else "differs"), diff, "difference in log10"
    if e.kind == "set":
        ok = sorted(_as_list(measured)) == sorted(_as_list(claim.expected))
        return ("reproduced" if ok else "differs"), None, ""
    if e.kind == "bool":
        return ("reproduced" if bool(measured) == bool(claim.expected) else "differs"), None, ""
    ok = _norm_label(measured) == _norm_label(claim.expected)
    return ("reproduced" if ok else "differs"), None, ""


def _norm_label(v):
    if isinstance(v, tuple):
        v = list(v)
    if isinstance(v, list):
        return [_norm_label(x) for x in v]
    if hasattr(v, "item"):
        return v.item()
    return v


def tolerance_text(claim: Claim) -> str:
    e = claim.parsed
    if e.kind in ("number", "approx"):
        return f"±{e.tol:.3g}"
    if e.kind == "range":
        return f"[{e.lo:.6g}, {e.hi:.6g}]"
    if e.kind == "bound":
        return f"{e.op} {e.value + (e.tol if e.op == '<' else -e.tol):.6g}"
    if e.kind == "order":
        return "log10 ±0.5"
    return "exact"


@dataclass(frozen=True)
class LedgerRecord(Record):
    """One claim of the seed papers judged on a model and text. verdict: reproduced, differs, not measurable,
    not applicable (the claim describes the published weights/text, this is another) or failed; paper_value
    as printed; measured in the claim's unit (None when not measured); difference from the paper value and the
    tolerance; reason for every verdict but reproduced/differs; note (how it was measured); the claim's table
    and row in its seed, its measurement key, and the float32 tanh it was measured under."""
    id: str
    seed: str
    section: str
    statement: str
    paper_value: str
    measured: object
    definition: str | None
    verdict: str
    difference: float | None
    tolerance: str
    precision: object
    reason: str | None
    note: str | None
    table: object
    row: object
    measurement: str | None
    tanh: str | None = key(omit_none=True, default=None)


@dataclass(frozen=True)
class LedgerSummary(Record):
    """Claims per seed and per verdict (seed -> verdict -> count, with "total"), the totals over seeds, and
    the float32 tanh the claims were measured under (None until the ledger records it)."""
    per_seed: dict
    total: dict
    tanh: str | None = key(omit_none=True, default=None)


@dataclass(frozen=True)
class Ledger(Record):
    """The claims ledger on one model and text: a `LedgerRecord` per claim, in registry order, and their
    `LedgerSummary`."""
    records: tuple[LedgerRecord, ...]
    summary: LedgerSummary


def evaluate(claims, measure_fn, subject: Subject = PUBLISHED) -> list[LedgerRecord]:
    """Verdict records for the claims. measure_fn(claim) -> value (or Measured); NotAvailable -> reason.

    On a subject other than the published weights and text, a claim that depends on what differs is
    `not applicable`: it is still measured (the record keeps the model's own value) but not compared.
    A gated claim is `not measurable` unless its gate claim reproduced (the gate is evaluated first).
    Any other exception in a measurement is the verdict `failed`, with the error: never hidden.
    """
    claims = list(claims)
    results: dict[str, dict] = {}     # claim id -> its record while it is built (fields of LedgerRecord)
    gates: dict[str, bool] = {}       # claim id -> whether it reproduced, for the claims it gates

    def run(c: Claim) -> dict:
        if c.id in results:
            return results[c.id]
        rec = {"id": c.id, "seed": c.seed, "section": c.section, "statement": c.statement,
               "paper_value": c.paper_value, "measured": None, "definition": c.definition or None,
               "verdict": "not measurable", "difference": None, "tolerance": tolerance_text(c),
               "precision": c.parsed.precision, "reason": None, "note": None, "table": c.table, "row": c.row,
               "measurement": c.measurement}
        results[c.id] = rec
        measured, err = None, None
        if c.measure is not None:
            try:
                m = measure_fn(c)
                if isinstance(m, Measured):
                    rec["note"] = m.note or None
                    m = m.value
                measured = m if not _is_num(m) else (float(m) * c.scale if c.scale != 1.0 else m)
                rec["measured"] = measured
            except NotAvailable as ex:
                err = str(ex)
            except Exception as ex:  # noqa: BLE001 - a crashing measurement is a failure, reported
                rec["verdict"], rec["reason"] = "failed", f"measurement failed: {type(ex).__name__}: {ex}"
                return rec
        if c.reason is not None:
            rec["reason"] = c.reason
            return rec
        na = subject.not_applicable(c)
        if na is not None:
            rec["verdict"], rec["reason"] = "not applicable", na
            return rec
        if err is not None:
            rec["reason"] = err
            return rec
        verdict, diff, note = compare(c, measured)
        if c.gate is not None:
            g = _BY_ID[c.gate]
            if g.id == c.id:
                gate_ok = verdict == "reproduced"
            else:
                run(g)
                gate_ok = gates.get(g.id, False)
            gates[c.id] = gate_ok
            if not gate_ok:
                gm = results[g.id]["measured"]
                rec["reason"] = (f"baseline mismatch: the paper's full-model bpc is {g.paper_value}, this model's is "
                                 f"{_fmt(gm)}; the figure belongs to a different model or evaluation (measured value "
                                 "shown for reference)")
                return rec
        rec["verdict"], rec["difference"] = verdict, diff
        if note:
            rec["note"] = (rec["note"] + "; " if rec["note"] else "") + note
        return rec

    return [LedgerRecord(**run(c)) for c in claims]


def _fmt(v) -> str:
    if _is_num(v) and not isinstance(v, int):
        return f"{v:.6g}"
    return str(v)


def summarize(records, tanh: str | None = None) -> LedgerSummary:
    """Counts per seed and per verdict (every claim counted exactly once)."""
    per_seed: dict[str, dict] = {}
    for r in records:
        d = per_seed.setdefault(r.seed, {v: 0 for v in VERDICTS} | {"total": 0})
        d[r.verdict] += 1
        d["total"] += 1
    total = {v: sum(d[v] for d in per_seed.values()) for v in VERDICTS}
    total["total"] = len(records)
    return LedgerSummary(per_seed=per_seed, total=total, tanh=tanh)


def claims_for(only: str | None = None) -> list[Claim]:
    """All claims, or those of one seed (given as '001', '1', or the seed's file name)."""
    if only is None:
        return list(CLAIMS)
    key = seed_key(only)
    return [c for c in CLAIMS if c.seed_key == key]


def seed_key(name: str) -> str:
    s = str(name).strip()
    for k, fname in SEEDS.items():
        if s in (k, fname, fname.rsplit(".", 1)[0]) or (s.isdigit() and int(s) == int(k)):
            return k
    raise ValueError(f"unknown seed {name!r} (use one of {', '.join(SEEDS)})")
