"""The claims ledger: every quantitative claim of the five seed papers, and the verdict engine.

This is the ONLY place in satrnn where paper values appear. Every claim records the value exactly as the
paper prints it (`paper_value`, a string), the seed file and section, the statement, the measurement that
checks it (a key of `analyses.ledger_measures.MEASURES` plus parameters), the definition used, and a
tolerance derived from the printed precision:

- a plain printed number ("0.0792", "77.2%", "82,304", "+0.035", "4.7×10^-5"): half a unit in the last
  printed digit (integers and counts: exact);
- an approximate number ("~4.6", "~57k", "about +0.025", "≈ 1.02"): max(half a unit in the last printed
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

Some claims are *gated*: seed 001's redux table is evaluated against a full-model baseline of 4.965 bpc,
which is not this model's bpc. Such a claim names its gate claim; if the gate does not reproduce on the
model at hand, the claim is `not measurable` (the measured value is still shown for reference).
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

import numpy as np

SEEDS = {
    "000": "000_3b3f07e07a60875e.txt",
    "001": "001_ff23284febb0b6d7.txt",
    "002": "002_99a0567bb420b12f.txt",
    "003": "003_664bfa62a7244ec9.txt",
    "004": "004_7b08942fa06d73e7.txt",
}
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
        return v * 10.0 ** exp, half * 10.0 ** exp, note + f" ×10^{exp}"
    if s.endswith("k"):
        s, mult, unit_note = s[:-1], 1000.0, " (thousands)"
    if not re.fullmatch(r"-?\d[\d,]*(\.\d+)?", s):
        raise ValueError(f"not a printed number: {s!r}")
    decimals = len(s.split(".")[1]) if "." in s else 0
    v = float(s.replace(",", "")) * mult
    half = 0.5 * 10.0 ** (-decimals) * mult
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


def depends_on(claim: "Claim") -> frozenset:
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
    def of(cls, model, xs) -> "Subject":
        """The subject of a model (anything with Wx, Wh, bh, Wy, by) and a text (uint8 bytes)."""
        h = hashlib.sha256()
        for name in ("Wx", "Wh", "bh", "Wy", "by"):
            h.update(np.ascontiguousarray(getattr(model, name), dtype="<f4").tobytes())
        text = hashlib.sha256(np.ascontiguousarray(xs, dtype=np.uint8).tobytes()).hexdigest()
        return cls(h.hexdigest(), text)

    def not_applicable(self, claim: "Claim") -> str | None:
        """Why the claim does not apply to this subject (None: it applies)."""
        dep = depends_on(claim)
        if "weights" in dep and not self.published_weights:
            return (f"another model: the claim describes the published weights (sha256 {PUBLISHED_WEIGHTS_SHA256[:12]}…),"
                    f" these are {self.weights_sha256[:12]}…; check it with `{VERIFY_PUBLISHED}`")
        if "text" in dep and not self.published_text:
            return (f"another text: the claim describes the published text (sha256 {PUBLISHED_TEXT_SHA256[:12]}…),"
                    f" this is {self.text_sha256[:12]}…; check it with `{VERIFY_PUBLISHED}`")
        return None


PUBLISHED = Subject(PUBLISHED_WEIGHTS_SHA256, PUBLISHED_TEXT_SHA256)


CLAIMS: list[Claim] = []
_BY_ID: dict[str, Claim] = {}


def _add(cid, seed, section, statement, paper_value, measure=None, *, kind=None, expected=None,
         definition="", reason=None, scale=1.0, gate=None, table=None, row=None, **params):
    if kind is None:
        kind = "approx" if re.match(r"^\s*(~|≈|about)", paper_value) else "number"
    c = Claim(id=cid, seed=SEEDS[seed], section=section, statement=statement, paper_value=paper_value,
              measure=measure, params=tuple(sorted(params.items())), kind=kind, expected=expected,
              definition=definition, reason=reason, scale=scale, gate=gate, table=table, row=row)
    if cid in _BY_ID:
        raise ValueError(f"duplicate claim id {cid}")
    c.parsed  # fail at import time on an unparsable printed value
    CLAIMS.append(c)
    _BY_ID[cid] = c
    return c


def get_claim(cid: str) -> Claim:
    return _BY_ID[cid]


# Definition labels (DEFINITIONS.md sections; "Part II" = the factor-map / counting part).
D_MODEL = "model file layout (DEFINITIONS §0.2)"
D_BPC = "paper-compatible: bpc of the float32 forward, clamped cost (DEFINITIONS §0.3-0.5)"
D_BPC_Q1 = "paper-compatible: q1_sparsity bpc, unclamped cost (DEFINITIONS §1.2)"
D_SIG = "paper-compatible: #|w| > 0.01f, strict float32 (DEFINITIONS §1.1)"
D_SPARSE = "paper-compatible: q1_sparsity (DEFINITIONS §1.3-1.4; quirks i-iii kept)"
D_CLASS = "paper-compatible: q1_sparsity class breakdown (DEFINITIONS §1.5)"
D_NEVER = "paper-compatible: q1_sparsity never-active at tau = 0.01 (DEFINITIONS §1.6; alphabet quirk kept)"
D_DEPTH = "paper-compatible: q1_sparsity depth profile (DEFINITIONS §1.7; unit-mixing quirk kept)"
D_MARGIN = "paper-compatible: q1_margins summary (DEFINITIONS §2.3)"
D_MANT = "paper-compatible: q1_margins 'mantissa cannot reach' (DEFINITIONS §2.6)"
D_PERNEURON_MARGIN = "paper-compatible: q1_margins per-neuron mean margin S_j/1023 (DEFINITIONS §2.5)"
D_BOOLSENS = "paper-compatible: q1_boolean flip sensitivity at t = 42 (DEFINITIONS §3.3)"
D_BOOLDYN = "paper-compatible: q1_boolean sign-only dynamics from all -1 (DEFINITIONS §3.5) vs float bpc (§0.5)"
D_ATTRACT = "paper-compatible: q1_bool_attractor 50 random starts, input x_42, period <= 100 (DEFINITIONS §4.3-4.4)"
D_TOPSRC = "paper-compatible: top source k* = argmax_k |Wh[j][k]| (DEFINITIONS §4.5-4.6 quirk: state-independent)"
D_SAT = "paper-compatible: q4_saturation classification by flip count (DEFINITIONS §5.1-5.2)"
D_DWELL = "paper-compatible: mean recorded dwell sum d*G[d] / sum G[d], dwells < 100 (DEFINITIONS §5.3)"
D_COFLIP = "paper-compatible: q4_saturation co-flip top 15 by count, max Jaccard among them (DEFINITIONS §5.4)"
D_Q2 = "paper-compatible: q2_offsets, d = 1 flips x_{t-1} (DEFINITIONS §6; off-by-one quirk kept)"
D_KO = "paper-compatible: q3_neurons readout knockout ranking (DEFINITIONS §7.1)"
D_CUM = "paper-compatible: q3_neurons cumulative knockout (DEFINITIONS §7.2)"
D_KEEP = "paper-compatible: q3_neurons minimal subset, % of gain vs 8 bits (DEFINITIONS §7.3)"
D_WYROLE = "paper-compatible: q3 'what do they predict' top/bottom 5 Wy entries (DEFINITIONS §7.5)"
D_WYNORM = "paper-compatible: |Wy col| = sqrt(sum_o Wy[o][j]^2) (DEFINITIONS §7.1)"
D_PRUNE = "paper-compatible: q5_redux pruning, strict |w| < theta, whole trajectory re-run (DEFINITIONS §8.2)"
D_COMB = "paper-compatible: q5_redux combined top-k x Wh threshold (DEFINITIONS §8.2)"
D_ZERO = ("operationalised: pct_zeroed at the largest theta of q5's grid up to which the re-run bpc never exceeds "
          "the full model's (DEFINITIONS §8.2)")
D_PCT = "paper-compatible: q5_redux weight magnitude floor percentile (DEFINITIONS §8.3)"
D_PARAMS = "paper-compatible: q5_redux parameter rule: all Wx + kept Wh + bh + k*256 Wy + by (DEFINITIONS §8.4)"
D_JUSTIFY = "paper-compatible: q6_justify 'driven by' rank-1 neuron over its 12 positions (DEFINITIONS §9.5)"
D_Q6NONE = ("no program computes it: q6_justify prints neither a weights-per-prediction count nor a "
            "routing chain (DEFINITIONS §9.6)")
D_PMI = "paper-compatible: q7_algebraic |delta|-weighted PMI alignment, 8 positions (DEFINITIONS §10.3)"
D_FM = "paper-compatible: factor_map2 continuous-h R^2 over the 28 pairs of Omega (DEFINITIONS Part II §2)"
D_LADDER = "paper-compatible: factor_map4 explanation ladder; X% by the seed's Eq. 2 (DEFINITIONS Part II §3)"
D_COUNT = "paper-compatible: skip_kgram in-sample counting model (DEFINITIONS Part II §4)"
D_GRAD = ("seed 002 §2 literal: g_t = Wy^T(e_y - P) at every t = 0..n-2; shares of ||g_t||^2 averaged over "
          "positions (no program published)")
D_BACK = ("seed 002 §3 literal: g_{t->t-k} = (prod J_s)^T g_t, J_s = diag(1 - h_s^2) Wh, mean norm over "
          "the positions common to k = 0..8, t >= 8 (analyses.sparse_diff default; no program published)")
D_ATTR = "seed 002 §4 literal: attr(t, k) = Wx[:, x_{t-k}] . g_{t->t-k}, mean over positions (no program published)"
D_EX = "seed 002 §5 worked example, definitions of seed 002 §2-4 at one position"
D_CARRIER = ("seed 003 §5.2-5.3 literal (no program published; choices documented by analyses.carrier): "
             "pattern-sensitive iff some byte could flip the sign given the carrier")
D_INFL = ("seed 003 §5.3 Eq. 7 literal: influence(d) = g_{t-d+1} . delta_{t-d}, averaged over t = 50..1022 "
          "(no program published)")
D_DECOMP = "seed 003 §5.4 literal: logit of the target split into carrier and pattern parts at t = 29"
D_STATIC = "computed from the weights (analyses.model_info)"
D_UM = "UM forward from the doubled-event-space pattern table vs the reference forward (automaton.iso)"
D_TRIVIAL = "arithmetic consequence of the configuration (no measurement needed beyond the model's H)"

R_OTHER_ARCH = ("about another architecture: the shift-register construction of seed 003 §4.1 (hashed Wx, "
                "diagonal Wh), not the trained weights")
R_REVERSE = ("the reverse-isomorphism construction and its Wy optimisation are not published; it is a new "
             "readout, not a property of these weights")
R_TRAINING = "training provenance is not recorded in the weight file (and satrnn does not re-run the papers' training)"
R_NODEF = "no definition: no reference program or DEFINITIONS.md entry computes this quantity"


# Tables of the seeds, in order of appearance: (seed, table key, first header cell, number of data rows).
# tests/test_claims.py detects the tables in the seed texts and checks this inventory against them and
# that every row has at least one claim.
TABLES = [
    ("000", "000.t3.1", "Threshold", 5),
    ("000", "000.t3.2", "Threshold", 3),
    ("000", "000.t3.4", "Offset", 11),
    ("001", "001.t1", "Question", 7),
    ("001", "001.t3", "Configuration", 6),
    ("001", "001.t4", "Neuron", 5),
    ("002", "002.t2.1", "Measure", 4),
    ("002", "002.t3.1", "k", 9),
    ("002", "002.t4", "offset k", 8),
    ("003", "003.t2", "Matrix", 6),
    ("003", "003.t1", "Offset pair", 7),
    ("003", "003.t3.3", "Explanation", 5),
    ("003", "003.t3.4", "Model", 4),
    ("003", "003.t4.1", "Construction", 3),
    ("003", "003.t2b", "Quantity", 6),
    ("003", "003.t3", "Offset", 8),
    ("003", "003.t5.4", "Component", 3),
    ("004", "004.knockout", "Neuron", 10),
    ("004", "004.keep_top_k", "Neurons Kept", 10),
    ("004", "004.redux", "Configuration", 5),
]


# =================================================================================================
# Seed 000 — Q1: How sparse is the explanation?
# =================================================================================================
S = "000"
_add("s000.abstract.hidden", S, "Abstract", "the sat-rnn has 128 hidden units", "128", "hidden_size",
     definition=D_MODEL)
_add("s000.abstract.bpc", S, "Abstract; §3", "the model achieves 0.079 bpc on 1024 bytes", "0.079", "bpc",
     definition=D_BPC_Q1, variant="unclamped")
_add("s000.abstract.patterns_eps", S, "Abstract; §1", "approximately 3048 patterns of the isomorphic UM survive a "
     "significance threshold epsilon > 0", "~3048", None,
     reason="the threshold epsilon is not stated (the same paper's own count at |w| > 0.01 is 44,794); no "
            "program prints 3048")
for cls, n in (("Wx", "32,768"), ("Wh", "16,384"), ("Wy", "32,768")):
    _add(f"s000.setup.slots.{cls.lower()}", S, "§1 Setup", f"there are up to {n} {cls} patterns", n,
         "pattern_slots", definition=D_MODEL, cls=cls)
_add("s000.results.sig.total", S, "§3 Results", "44,794 patterns have |w| > 0.01", "44,794", "sig_patterns",
     definition=D_SIG, cls="all")
for cls, n in (("Wx", "5,371"), ("Wh", "14,245"), ("Wy", "25,178")):
    _add(f"s000.results.sig.{cls.lower()}", S, "§3 Results", f"{n} {cls} patterns have |w| > 0.01", n,
         "sig_patterns", definition=D_SIG, cls=cls)

_T31 = [("1e-4", 1e-4, ("9807", "10283", "0", "19850", "0.219")),
        ("1e-3", 1e-3, ("4357", "1664", "0", "19352", "0.097")),
        ("1e-2", 1e-2, ("1166", "15", "0", "17710", "0.026")),
        ("1e-1", 1e-1, ("157", "0", "0", "11012", "0.004")),
        ("1", 1.0, ("8", "0", "0", "2127", "0.000"))]
for lab, tau, vals in _T31:
    for fld, v in zip(("mean", "median", "min", "max", "frac"), vals):
        _add(f"s000.sparsity.tau{lab}.{fld}", S, "§3.1 Sparsity distribution",
             f"at tau = {lab}, the {fld if fld != 'frac' else 'n/44794 ratio'} of active patterns per position "
             f"is {v}", v, "sparsity_dist", definition=D_SPARSE, table="000.t3.1", row=lab, tau=tau, field=fld)
_add("s000.sparsity.mean_gt_median", S, "§3.1 Sparsity distribution",
     "the distribution is highly skewed: mean >> median at every threshold", "mean > median at every tau",
     "sparsity_mean_gt_median", kind="bool", expected=True, definition=D_SPARSE)
_add("s000.sparsity.text_mean_tau1e-2", S, "§3.1; §4 Discussion",
     "at tau = 0.01 the median position uses only 15 patterns (out of 44,794); the mean is 1,166",
     "1,166", "sparsity_dist", definition=D_SPARSE, tau=1e-2, field="mean")

_T32 = [("1e-3", 1e-3, ("481", "3834", "42")), ("1e-2", 1e-2, ("136", "1018", "12")),
        ("1e-1", 1e-1, ("22", "134", "2"))]
for lab, tau, vals in _T32:
    for cls, v in zip(("Wx", "Wh", "Wy"), vals):
        _add(f"s000.breakdown.tau{lab}.{cls.lower()}", S, "§3.2 Breakdown by pattern class",
             f"at tau = {lab}, the mean number of active {cls} patterns is {v}", v, "sparsity_class",
             definition=D_CLASS, table="000.t3.2", row=lab, tau=tau, cls=cls)
_add("s000.breakdown.wh_share", S, "§3.2 Breakdown by pattern class",
     "Wh patterns account for ~87% of active patterns (measured at tau = 0.01, the paper's headline tau)",
     "~87%", "sparsity_wh_share", definition=D_CLASS + "; share = mean n_h / mean n", scale=100.0, tau=1e-2)

for cls, cnt, pct, tot in (("all", "57,335", "70%", "81,920"), ("Wx", "28,635", "87%", "32,768"),
                           ("Wh", "735", "4.5%", "16,384"), ("Wy", "27,965", "85%", "32,768")):
    k = cls.lower()
    _add(f"s000.never.{k}.count", S, "§3.3 Never-active patterns",
         f"at tau = 0.01, {cnt} of {tot} {cls if cls != 'all' else 'total'} patterns are never active", cnt,
         "never_active", definition=D_NEVER, cls=cls, field="count")
    _add(f"s000.never.{k}.pct", S, "§3.3 Never-active patterns",
         f"{pct} of the {cls if cls != 'all' else ''} patterns are never active at tau = 0.01", pct,
         "never_active", definition=D_NEVER, cls=cls, field="pct")
_add("s000.never.total_slots", S, "§3.3 Never-active patterns", "there are 81,920 patterns in total", "81,920",
     "pattern_slots", definition=D_MODEL, cls="all")
_add("s000.discussion.wh_active_pct", S, "§4 Discussion",
     "nearly all (95.5%) of the Wh patterns are active at some position", "95.5%", "never_active",
     definition=D_NEVER + "; active = 100 - never-active %", cls="Wh", field="active_pct")

_T34 = [(0, "0.757", "1.000"), (1, "0.176", "0.233"), (2, "0.181", "0.239"), (4, "0.243", "0.321"),
        (8, "0.342", "0.451"), (12, "0.406", "0.536"), (20, "0.729", "0.963"), (21, "0.827", "1.093"),
        (30, "0.421", "0.556"), (40, "0.571", "0.754"), (50, "0.421", "0.557")]
for d, mass, frac in _T34:
    _add(f"s000.depth.d{d}.mass", S, "§3.4 Depth profile", f"the mean attribution mass at offset d = {d} is {mass}",
         mass, "depth_profile", definition=D_DEPTH, table="000.t3.4", row=str(d), d=d, field="mass")
    _add(f"s000.depth.d{d}.fraction", S, "§3.4 Depth profile",
         f"the mass at d = {d} is {frac} of the d = 0 mass", frac, "depth_profile", definition=D_DEPTH,
         table="000.t3.4", row=str(d), d=d, field="fraction")
_add("s000.depth.peak", S, "§3.4 Depth profile; §4",
     "mass peaks at d ≈ 20-21 (argmax of the mean mass over d = 1..50)", "20–21", "depth_peak", kind="range",
     definition=D_DEPTH)
_add("s000.depth.peak_exceeds_d0", S, "§3.4 Depth profile", "the peak exceeds the d = 0 mass", "yes",
     "depth_peak_exceeds_d0", kind="bool", expected=True, definition=D_DEPTH)
_add("s000.discussion.greedy_order", S, "§4 Discussion",
     "offset 20 was selected third in the greedy MI ordering [1, 8, 20, ...]", "[1, 8, 20, ...]",
     "greedy_order", kind="label", expected=[1, 8, 20], definition=D_COUNT + "; candidates 1..30", n=3)


# =================================================================================================
# Seed 001 — Synthesis of Q1-Q7
# =================================================================================================
S = "001"
BASE = "s001.minimal.full.bpc"
_add("s001.abstract.hidden", S, "Abstract", "the sat-rnn has 128 hidden units", "128", "hidden_size",
     definition=D_MODEL)
_add("s001.abstract.bpc", S, "Abstract", "0.079 bpc on 1024 bytes", "0.079", "bpc", definition=D_BPC,
     variant="clamped")
_add("s001.abstract.margins", S, "Abstract; §2 Theorem 1; §5 step 2",
     "98.9% of neuron-steps have margins > 1.0", "98.9%", "margins", definition=D_MARGIN + "; 100 - small %",
     field="pct_ge_1")
_add("s001.abstract.redux_gain", S, "Abstract; Table 1 Q5",
     "20 neurons and 36% of Wh suffice for 0.15 bpc better-than-full performance", "0.15",
     "combined_improvement", definition=D_COMB + " (theta = 3.0)", gate=BASE, k=20, theta=3.0)
_add("s001.abstract.traceable", S, "Abstract; Table 1 Q6; §5 step 4",
     "each prediction is explained by ~15 neurons (0.1% of the weight matrix)", "~15", None, reason=D_Q6NONE)
_add("s001.abstract.mantissa_gain", S, "Abstract; §2",
     "the mantissa channel is noise: removing it improves bpc by 0.095", "0.095", None,
     reason="'sign + exponent' truncation is not defined by any program, and the figure is relative to the "
            "4.965-bpc baseline, which is not this model's bpc")
_add("s001.abstract.train_params", S, "Abstract", "training used ~82,000 parameters", "~82,000", "params",
     definition=D_STATIC)
_add("s001.abstract.infer_params", S, "Abstract; §6; §7",
     "inference needs ~26,000 parameters (the redux)", "~26,000", "redux_params",
     definition=D_PARAMS + " with the hard-coded redux k = 15, theta = 2.0", k=15, theta=2.0)

# Table: overview Q1-Q7
_add("s001.overview.q1.leverage", S, "§1 Overview (table)", "Q1: per-bit leverage hierarchy sign:exp:mant is 300:52:1",
     "300:52:1", None, kind="label", reason=R_NODEF + " (per-bit leverage)", table="001.t1", row="Q1")
_add("s001.overview.q1.rho", S, "§1 Overview (table)",
     "Q1: pattern ranking rho = 1.000 at BPTT depth >= 11", "1.000", None, reason=R_NODEF + " (pattern-ranking rho)",
     table="001.t1", row="Q1")
_add("s001.overview.q2.d25", S, "§1 Overview (table)", "Q2: 23.4% of neurons have dominant offset d = 25",
     "23.4%", "offset_hist_pct", definition=D_Q2 + "; offset histogram (§6.2 item 3)", table="001.t1", row="Q2",
     d=25)
_add("s001.overview.q2.deep", S, "§1 Overview (table); §6 item 8",
     "the RNN uses deep offsets d = 18-25 (mode of the dominant-offset histogram)", "18–25", "offset_mode",
     kind="range", definition=D_Q2, table="001.t1", row="Q2")
_add("s001.overview.q2.mi_greedy", S, "§1 Overview (table)",
     "MI-greedy [1,3,8,20] captures only 9.4% of the signal", "9.4%", "mi_greedy_pct",
     definition=D_Q2 + " (§6.2 item 4)", table="001.t1", row="Q2")
_add("s001.overview.q3.top_neuron", S, "§1 Overview (table)", "Q3: h28 is the one neuron that captures the most",
     "h28", "ko", kind="label", expected=28, definition=D_KO, table="001.t1", row="Q3", rank=0,
     field="neuron")
_add("s001.overview.q3.one_neuron", S, "§1 Overview (table)", "Q3: 1 neuron alone captures 99.7% of compression",
     "99.7%", "keep_top", definition=D_KEEP, table="001.t1", row="Q3", k=1, field="pct")
_add("s001.overview.q3.top15", S, "§1 Overview (table)", "Q3: the top 15 neurons capture 102% of compression",
     "102%", "keep_top", definition=D_KEEP, table="001.t1", row="Q3", k=15, field="pct")
_add("s001.overview.q3.other113", S, "§1 Overview (table)", "Q3: the other 113 neurons (beyond the top 15) are noise",
     "113", "wy_cols_removed", definition=D_TRIVIAL, table="001.t1", row="Q3", k=15)
_add("s001.overview.q4.volatile", S, "§1 Overview (table); §6 item 5",
     "Q4: 128/128 neurons are volatile", "128", "saturation", definition=D_SAT, table="001.t1", row="Q4",
     field="n_volatile")
_add("s001.overview.q4.dwell", S, "§1 Overview (table); Abstract",
     "all neurons flip sign every ~3 steps (mean dwell)", "~3", "saturation", definition=D_DWELL, table="001.t1",
     row="Q4", field="mean_dwell")
_add("s001.overview.q4.jaccard", S, "§1 Overview (table)", "co-flip pairs with Jaccard > 0.5", "> 0.5", "coflip",
     kind="bound", definition=D_COFLIP, table="001.t1", row="Q4", field="max_jaccard_top15")
_add("s001.overview.q5.bpc", S, "§1 Overview (table)", "Q5: 20 neurons + 36% of Wh give 4.81 bpc", "4.81",
     "combined", definition=D_COMB + " (theta = 3.0)", gate=BASE, table="001.t1", row="Q5", k=20, theta=3.0,
     field="bpc")
_add("s001.overview.q5.wh_kept", S, "§1 Overview (table)", "Q5: the redux keeps 36% of Wh (|Wh| >= 3.0)", "36%",
     "wh_pct", definition=D_COMB + "; wh_pct_kept at theta = 3.0", table="001.t1", row="Q5", theta=3.0,
     side="kept")
_add("s001.overview.q5.wh_zeroable", S, "§1 Overview (table)", "Q5: 78% of Wh can be zeroed", "78%",
     "zeroable_pct", definition=D_ZERO, table="001.t1", row="Q5", matrix="Wh")
_add("s001.overview.q5.wx_zeroable", S, "§1 Overview (table); §5 step 1",
     "Q5: 87% of Wx can be zeroed (only ~13% of Wx entries matter)", "87%", "zeroable_pct",
     definition=D_ZERO, table="001.t1", row="Q5", matrix="Wx")
_add("s001.overview.q6.weights", S, "§1 Overview (table)",
     "Q6: each prediction traces to ~5 neurons x ~3 backward steps = ~15 weights", "~15", None, reason=D_Q6NONE,
     table="001.t1", row="Q6")
_add("s001.overview.q7.total", S, "§1 Overview (table); Abstract", "Q7: 61% of RNN attribution is aligned with data PMI",
     "61%", "pmi_aligned", definition=D_PMI + "; total row", table="001.t1", row="Q7", d_lo=0, d_hi=0)
_add("s001.overview.q7.shallow", S, "§1 Overview (table); §6 item 9",
     "RNN attribution matches data PMI at d = 5-8 (87-96%)", "87–96%", "pmi_aligned", kind="range",
     definition=D_PMI + "; per-d rows d = 5..8", table="001.t1", row="Q7", d_lo=5, d_hi=8)
_add("s001.overview.q7.deep", S, "§1 Overview (table)", "alignment diverges at d > 15 (< 37%)", "< 37%",
     "pmi_aligned", kind="bound", definition=D_PMI + "; per-d rows d = 16..20", table="001.t1", row="Q7",
     d_lo=16, d_hi=20)
_add("s001.synthesis.deep_pmi", S, "§6 item 10", "at deep offsets, 24-37% PMI alignment", "24–37%", "pmi_aligned",
     kind="range", definition=D_PMI + "; per-d rows d = 16..20", d_lo=16, d_hi=20)

# §2 The Boolean automaton
_add("s001.boolean.fragile_pct", S, "§2 Theorem 1", "the remaining 1.1% of neuron-steps have margins < 1.0", "1.1%",
     "margins", definition=D_MARGIN, field="pct_small")
_add("s001.boolean.mean_margin", S, "§2 Evidence", "mean pre-activation margin: 60.5", "60.5", "margins",
     definition=D_MARGIN, field="mean")
_add("s001.boolean.delta_max", S, "§2 Evidence",
     "maximum mantissa perturbation to any pre-activation: 4.7×10^-5 (sum |Wh| * 2^-23)", "4.7×10^-5", "margins",
     definition=D_MANT + "; delta_max", field="delta_max")
_add("s001.boolean.ratio", S, "§2 Evidence", "the margin exceeds the perturbation by a factor of 10^6 on average",
     "10^6", "margins", kind="order", definition=D_MANT + "; mean margin / delta_max", field="mean_over_delta")
_add("s001.boolean.tiny_pct", S, "§2 Evidence", "0.11% of neuron-steps have margin < 0.1", "0.11%", "margins",
     definition=D_MARGIN, field="pct_tiny")
_add("s001.boolean.sensitivity", S, "§2 The mantissa mechanism",
     "each sign flip cascades to ~4.6 others (sensitivity)", "~4.6", "bool_sensitivity", definition=D_BOOLSENS)
_add("s001.boolean.flip_rate", S, "§2 The mantissa mechanism",
     "over 520 positions mantissa noise injects ~0.13 random flips per step", "~0.13", None, reason=R_NODEF)
_add("s001.boolean.sign_exp_bpc", S, "§2 The mantissa mechanism",
     "keeping only sign + exponent yields 4.870 bpc", "4.870", None,
     reason="'sign + exponent' truncation is not defined by any program; the figure belongs to the 4.965-bpc "
            "evaluation, which is not this model's")

# §3 The minimal model (table); gated on the 4.965 baseline
_T3 = [("full", "Full f32 (baseline)", None, None, ("4.965", "0", "82,304")),
       ("top20", "Top 20 neurons", 20, 0.0, ("4.882", "-0.083", "37,689")),
       ("top20_wh3", "Top 20 + W_h prune (> 3.0)", 20, 3.0, ("4.811", "-0.154", "25,857")),
       ("top15_wh3", "Top 15 + W_h prune (> 3.0)", 15, 3.0, ("4.879", "-0.086", "22,017")),
       ("wh3", "W_h prune (> 3.0) alone", 128, 3.0, ("4.903", "-0.063", "49,753")),
       ("wh4", "W_h prune (> 4.0) alone", 128, 4.0, ("4.963", "-0.002", "40,002"))]
for key, lab, k, th, (bpc, delta, prm) in _T3:
    if k is None:
        _add(BASE, S, "§3 The minimal model (table)", "full f32 baseline: 4.965 bpc", bpc, "bpc",
             definition=D_BPC, gate=BASE, table="001.t3", row=lab, variant="clamped")
        _add("s001.minimal.full.delta", S, "§3 The minimal model (table)", "full f32 baseline delta is 0", delta,
             "combined", definition=D_COMB, gate=BASE, table="001.t3", row=lab, k=128, theta=0.0, field="delta")
        _add("s001.minimal.full.params", S, "§3 The minimal model (table); §6",
             "the full model has 82,304 parameters", prm, "params", definition=D_STATIC, table="001.t3", row=lab)
        continue
    _add(f"s001.minimal.{key}.bpc", S, "§3 The minimal model (table)", f"{lab}: {bpc} bpc", bpc, "combined",
         definition=D_COMB, gate=BASE, table="001.t3", row=lab, k=k, theta=th, field="bpc")
    _add(f"s001.minimal.{key}.delta", S, "§3 The minimal model (table)", f"{lab}: delta {delta} bpc vs full",
         delta, "combined", definition=D_COMB, gate=BASE, table="001.t3", row=lab, k=k, theta=th, field="delta")
    _add(f"s001.minimal.{key}.params", S, "§3 The minimal model (table)", f"{lab}: {prm} parameters", prm,
         "redux_params", definition=D_PARAMS + " applied to this row's configuration", table="001.t3", row=lab,
         k=k, theta=th)
_add("s001.minimal.all_better", S, "§3 Observation 1",
     "every pruned variant in the table outperforms the full model", "yes", "minimal_all_better", kind="bool",
     expected=True, definition=D_COMB, gate=BASE)
_add("s001.minimal.best_param_pct", S, "§3 Observation 1",
     "the best redux (20 neurons, Wh threshold 3.0) uses 31% of the parameters", "31%", "redux_params_pct",
     definition=D_PARAMS, gate=BASE, k=20, theta=3.0)
_add("s001.minimal.wy_removed", S, "§3 What the redux removes", "108 of 128 Wy columns are removed (top 20 kept)",
     "108", "wy_cols_removed", definition=D_TRIVIAL, k=20)
_add("s001.minimal.wh_below3", S, "§3 What the redux removes",
     "64% of Wh entries have |Wh| < 3.0 (below the 64th percentile)", "64%", "wh_pct",
     definition="computed from the weights: 100 * #{|Wh| < 3.0} / 16384", theta=3.0, side="below")
_add("s001.flow.wh_top36", S, "§5 step 2; §6 item 4",
     "the top ~36% of Wh entries (|Wh| > 3.0) carry all the dynamically relevant signal", "~36%", "wh_pct",
     definition="computed from the weights: 100 * #{|Wh| >= 3.0} / 16384", theta=3.0, side="kept")
_add("s001.flow.readout20", S, "§5 step 3", "only ~20 neurons contribute meaningfully to the readout; the other 108 add "
     "noise", "~20", "keep_top", reason="qualitative: no criterion for 'contribute meaningfully' is stated (the top-20 "
     "readout's % of gain is shown for reference)", definition=D_KEEP, k=20, field="pct")
_add("s001.synthesis.wh36_unchanged", S, "§6 item 4",
     "36% of Wh entries (the largest by |w|) suffice for unchanged dynamics", "yes", "wh_top_fraction_unchanged",
     kind="bool", expected=True, definition="corrected operationalisation: keep the 36% largest |Wh| (zero the "
     "rest), re-run the float32 forward, compare every sign bit with the full model", frac=0.36)

# §4 Routing backbone (table)
_add("s001.routing.h54.driver", S, "§4 The routing backbone (table)",
     "h54 dominates the sampled predictions (most frequent rank-1 neuron)", "h54", "justify_driver", kind="label",
     expected=54, definition=D_JUSTIFY, table="001.t4", row="h54", field="neuron")
_add("s001.routing.h54.count", S, "§4 The routing backbone (table); Observation 2",
     "h54 dominates 7/12 sampled predictions", "7", "justify_driver", definition=D_JUSTIFY, table="001.t4",
     row="h54", field="count")
_add("s001.routing.h121", S, "§4 The routing backbone (table)", "h121 is h54's source", "h121", "wh_top_source",
     kind="label", expected=121, definition=D_TOPSRC, table="001.t4", row="h121", neuron=54)
_add("s001.routing.h78", S, "§4 The routing backbone (table)", "h78 is h121's source", "h78", "wh_top_source",
     kind="label", expected=78, definition=D_TOPSRC, table="001.t4", row="h78", neuron=121)
_add("s001.routing.secondary", S, "§4 The routing backbone (table)", "h0, h30 are secondary routes", "h0, h30",
     None, kind="label", reason=D_Q6NONE, table="001.t4", row="h0, h30")
_add("s001.routing.tertiary", S, "§4 The routing backbone (table)", "h7, h75 are tertiary routes through h56, h30",
     "h7, h75", None, kind="label", reason=D_Q6NONE, table="001.t4", row="h7, h75")
_add("s001.routing.min_margin_neuron", S, "§4 Observation 2", "h54 has the smallest mean margin", "h54",
     "margins", kind="label", expected=54, definition=D_PERNEURON_MARGIN, field="min_mean_neuron")
_add("s001.routing.min_margin", S, "§4 Observation 2", "the smallest per-neuron mean margin is 26.7 (h54's)", "26.7",
     "margins", definition=D_PERNEURON_MARGIN, field="min_mean")
_add("s001.routing.volatile_neuron", S, "§4 Observation 2", "h54 is the most volatile neuron", "h54", "saturation",
     kind="label", expected=54, definition=D_SAT, field="max_flips_neuron")
_add("s001.routing.max_flips", S, "§4 Observation 2", "the most volatile neuron flips 234 times", "234",
     "saturation", definition=D_SAT, field="max_flips")

# §6-7
_add("s001.training.random_bits", S, "§6 What training did", "~10 million random bits in the initial epsilon-field",
     "~10 million", None, kind="label", reason=R_NODEF + " (the initial weights are not published)")
_add("s001.training.sign_share", S, "§6 items 1-2",
     "the sign channel carries 99.7% of the compression, the mantissa 0.3%", "99.7%", None, reason=R_NODEF)
_add("s001.training.top20_better", S, "§6 item 3",
     "20 of 128 readout neurons suffice for better-than-full prediction", "yes", "keep_top_better", kind="bool",
     expected=True, definition=D_KEEP, k=20)
_add("s001.training.no_cycles", S, "§6 item 6; §7 Q2",
     "no cycles up to period 100 in 50 random starts (the dynamics is ergodic)", "0", "attractor_cycles",
     definition=D_ATTRACT, field="n_cycles")
_add("s001.training.scaffold", S, "§6", "the remaining ~56,000 parameters were scaffolding", "~56,000",
     "params_minus_redux", definition=D_PARAMS + " (k = 15, theta = 2.0)", k=15, theta=2.0)
_add("s001.training.backbone", S, "§6 item 7", "a 5-neuron routing backbone carries the plurality of signal", "5",
     None, reason=D_Q6NONE)


# =================================================================================================
# Seed 002 — Sparse differentiation
# =================================================================================================
S = "002"
_add("s002.abstract.top10", S, "Abstract; §6 item 1", "top-10 neurons capture 68% of gradient energy", "68%",
     "grad_stats", definition=D_GRAD, field="top10_share", scale=100.0)
_add("s002.abstract.growth8", S, "Abstract; §6 item 2", "the backward gradient grows 2.4x at k = 8", "2.4",
     "back_norm", definition=D_BACK, k=8, field="ratio")
_add("s002.gradient.norm", S, "§2.1 Gradient sparsity (table)", "mean ||g_t|| = 0.103", "0.103", "grad_stats",
     definition=D_GRAD, table="002.t2.1", row="Mean ||g_t||", field="mean_norm")
for k, v in ((1, "19.4%"), (5, "50.8%"), (10, "67.9%")):
    _add(f"s002.gradient.top{k}", S, "§2.1 Gradient sparsity (table)", f"top-{k} neurons capture {v} of ||g_t||^2",
         v, "grad_stats", definition=D_GRAD, table="002.t2.1", row=f"Top-{k}", field=f"top{k}_share",
         scale=100.0)
_add("s002.gradient.confident", S, "§2.1", "probabilities > 0.99 for most predictions (> 50% of positions)",
     "most", "p_gt_099_majority", kind="bool", expected=True, definition=D_BPC + "; share of P(y) > 0.99")
_add("s002.gradient.top_neurons", S, "§2.1; §6 item 1",
     "the same neurons dominate across positions: h68, h76, h99, h8", "h68, h76, h99, h8", "grad_top_neurons",
     kind="set", expected=[68, 76, 99, 8], definition=D_GRAD + "; top 4 by mean share", n=4)
_T_BACK = [(0, "0.103", "1.00"), (1, "0.143", "1.38"), (2, "0.154", "1.48"), (3, "0.167", "1.61"),
           (4, "0.181", "1.74"), (5, "0.199", "1.92"), (6, "0.214", "2.05"), (7, "0.229", "2.20"),
           (8, "0.246", "2.36")]
for k, nrm, rat in _T_BACK:
    _add(f"s002.backward.k{k}.norm", S, "§3.1 The gradient grows (table)", f"mean ||g_(t->t-{k})|| = {nrm}", nrm,
         "back_norm", definition=D_BACK, table="002.t3.1", row=str(k), k=k, field="norm")
    _add(f"s002.backward.k{k}.ratio", S, "§3.1 The gradient grows (table)", f"ratio to k = 0 at k = {k} is {rat}",
         rat, "back_norm", definition=D_BACK, table="002.t3.1", row=str(k), k=k, field="ratio")
_add("s002.backward.spectral", S, "§3.1", "the spectral radius of Wh exceeds 1", "> 1", "spectral_radius",
     kind="bound", definition=D_STATIC)
_add("s002.backward.greedy_8_before_2", S, "§3.1", "offset 8 is chosen before offset 2 by the greedy MI algorithm",
     "yes", "greedy_before", kind="bool", expected=True, definition=D_COUNT + "; candidates 1..30", first=8, second=2)
_T_ATTR = [(1, "+0.005", "0.041"), (2, "+0.000", "0.057"), (3, "+0.006", "0.053"), (4, "+0.029", "0.070"),
           (5, "+0.002", "0.081"), (6, "-0.016", "0.081"), (7, "+0.002", "0.072"), (8, "+0.006", "0.079")]
for k, sg, us in _T_ATTR:
    _add(f"s002.attr.k{k}.signed", S, "§4 Per-position attribution (table)", f"mean signed attr at k = {k} is {sg}",
         sg, "attr_offset", definition=D_ATTR, table="002.t4", row=str(k), k=k, field="signed")
    _add(f"s002.attr.k{k}.unsigned", S, "§4 Per-position attribution (table); §3.1",
         f"mean |attr| at k = {k} is {us}", us, "attr_offset", definition=D_ATTR, table="002.t4", row=str(k), k=k,
         field="unsigned")
# §5 worked examples
_add("s002.example.t10.input", S, "§5 Worked example", "t = 10: the input is a space", "' '", "text_byte",
     kind="label", expected=32, definition="the data byte x_10", pos=10)
_add("s002.example.t10.target", S, "§5 Worked example", "t = 10: predicting 'x'", "'x'", "text_byte", kind="label",
     expected=ord("x"), definition="the data byte x_11", pos=11)
_add("s002.example.t10.p", S, "§5 Worked example", "t = 10: P('x') = 0.996", "0.996", "example", definition=D_EX,
     t=10, field="p")
_add("s002.example.t10.gnorm", S, "§5 Worked example", "t = 10: gradient norm 0.013", "0.013", "example",
     definition=D_EX, t=10, field="gnorm")
_add("s002.example.t10.top_neurons", S, "§5 Worked example", "t = 10: top neurons h99, h68, h52 (by |g_t[j]|)",
     "h99, h68, h52", "example", kind="set", expected=[99, 68, 52], definition=D_EX, t=10, field="top3")
for r, v in enumerate(("+0.004", "+0.004", "-0.004")):
    _add(f"s002.example.t10.g_rank{r}", S, "§5 Worked example", f"t = 10: the rank-{r + 1} neuron's g_t is {v}", v,
         "example", definition=D_EX, t=10, field=f"top_g{r}")
_add("s002.example.t10.best_k", S, "§5 Worked example", "t = 10: the strongest contributor is k = 1 ('i')", "1",
     "example", kind="label", expected=1, definition=D_EX + "; argmax_k attr(t, k), k = 1..8", t=10, field="best_k")
_add("s002.example.t10.best_attr", S, "§5 Worked example", "t = 10: attr at k = 1 is +0.020", "+0.020", "example",
     definition=D_EX, t=10, field="attr", k=1)
_add("s002.example.t28.input", S, "§5 Worked example", "t = 28: the input is '.'", "'.'", "text_byte", kind="label",
     expected=ord("."), definition="the data byte x_28", pos=28)
_add("s002.example.t28.target", S, "§5 Worked example", "t = 28: predicting 'm'", "'m'", "text_byte", kind="label",
     expected=ord("m"), definition="the data byte x_29", pos=29)
_add("s002.example.t28.p", S, "§5 Worked example", "t = 28: P('m') = 0.998", "0.998", "example", definition=D_EX,
     t=28, field="p")
_add("s002.example.t28.best_k", S, "§5 Worked example", "t = 28: the strongest contributor is k = 4 ('/')", "4",
     "example", kind="label", expected=4, definition=D_EX + "; argmax_k attr(t, k), k = 1..8", t=28, field="best_k")
_add("s002.example.t28.best_attr", S, "§5 Worked example", "t = 28: attr at k = 4 is +0.016", "+0.016", "example",
     definition=D_EX, t=28, field="attr", k=4)
_add("s002.discussion.skip8", S, "§6 Discussion", "there are 834 skip-8 patterns", "834", "counting",
     definition=D_COUNT, model="skip8", field="patterns")


# =================================================================================================
# Seed 003 — Toward total interpretability
# =================================================================================================
S = "003"
_add("s003.abstract.hidden", S, "Abstract; §2", "128 hidden units", "128", "hidden_size", definition=D_MODEL)
_add("s003.abstract.bpc", S, "Abstract; §1; §2", "the model memorizes 1024 bytes at 0.079 bpc", "0.079", "bpc",
     definition=D_BPC, variant="clamped")
_add("s003.abstract.sign_determined", S, "Abstract; §3.2; §7", "98.9% sign-determined (margin > 1.0)", "98.9%",
     "margins", definition=D_MARGIN, field="pct_ge_1")
_add("s003.abstract.carrier_pct", S, "Abstract; §6.1", "the carrier regime is 86% of neurons", "86%", "carrier",
     definition=D_CARRIER, field="carrier_pct")
_add("s003.abstract.pattern_pct", S, "Abstract", "the pattern regime is 14% of neurons", "14%", "carrier",
     definition=D_CARRIER, field="pattern_pct")
_add("s003.abstract.logit_carrier", S, "Abstract; §6.1 item 1", "87% of the output logit comes from the carrier",
     "87%", "decomp", definition=D_DECOMP + " (the paper's only computed instance)", field="carrier_frac",
     scale=100.0)
_add("s003.abstract.logit_pattern", S, "Abstract; §6.1 item 2", "13% of the output logit comes from the current byte",
     "13%", "decomp", definition=D_DECOMP, field="pattern_frac", scale=100.0)
for key, name, prm, shape in (("wx", "Wx", "32,768", "128 × 256"), ("wh", "Wh", "16,384", "128 × 128"),
                              ("bh", "bh", "128", "128"), ("wy", "Wy", "32,768", "256 × 128"),
                              ("by", "by", "256", "256")):
    _add(f"s003.model.{key}.params", S, "§2 The model (table)", f"{name} has {prm} parameters", prm, "params",
         definition=D_STATIC, table="003.t2", row=name, matrix=name)
    _add(f"s003.model.{key}.shape", S, "§2 The model (table)", f"{name} has shape {shape}", shape, "shape",
         kind="label", expected=shape.replace(" ", ""), definition=D_MODEL, table="003.t2", row=name, matrix=name)
_add("s003.model.total", S, "§2 The model (table); Abstract", "82,304 parameters in total", "82,304", "params",
     definition=D_STATIC, table="003.t2", row="Total")
_add("s003.model.training", S, "§2", "trained with BPTT-50, Adam (eta = 0.001), 4000 epochs, seed 42", "4000 epochs",
     None, kind="label", reason=R_TRAINING)
_add("s003.iso.bpc", S, "§3.1 Stage 1", "UM and RNN produce identical bpc (0.07886)", "0.07886", "iso",
     definition=D_UM, field="bpc_um")
_add("s003.iso.exact", S, "§3.1 Stage 1", "the RNN-UM isomorphism is exact, not approximate", "exact", "iso",
     kind="bool", expected=True, definition=D_UM + "; every sign bit, weights round trip, bpc", field="isomorphic")
_add("s003.boolean.mean_abs_z", S, "§3.2 Stage 2; §5.1", "mean absolute pre-activation: 60.5", "60.5", "margins",
     definition=D_MARGIN, field="mean")
_add("s003.boolean.sign_better", S, "§3.2 Stage 2",
     "sign-only dynamics are better by 0.031 bpc than float32", "0.031", "sign_dyn_gain", definition=D_BOOLDYN)
_T1 = [("1,7", "(1, 7)", "52", "0.844"), ("1,8", "(1, 8)", "20", "0.838"), ("8,2", "(8, 2)", "18", "0.835"),
       ("1,12", "(1, 12)", "9", "0.818"), ("2,7", "(2, 7)", "8", "0.825")]
for key, lab, n, r2 in _T1:
    a, b = (int(v) for v in key.split(","))
    _add(f"s003.factor_map.{key.replace(',', '_')}.neurons", S, "§3.3 Table 1",
         f"{n} neurons have best offset pair {lab}", n, "factor_map", definition=D_FM, table="003.t1", row=lab,
         pair=(a, b), field="neurons")
    _add(f"s003.factor_map.{key.replace(',', '_')}.r2", S, "§3.3 Table 1", f"pair {lab}: mean R^2 {r2}", r2,
         "factor_map", definition=D_FM, table="003.t1", row=lab, pair=(a, b), field="r2")
_add("s003.factor_map.other.neurons", S, "§3.3 Table 1", "21 neurons have another best pair", "21", "factor_map",
     definition=D_FM + "; 'Other' = pairs not named in the table", table="003.t1", row="Other",
     pair="other", exclude=((1, 7), (1, 8), (8, 2), (1, 12), (2, 7)), field="neurons")
_add("s003.factor_map.other.r2", S, "§3.3 Table 1", "the other neurons' mean R^2 is 0.831", "0.831", "factor_map",
     definition=D_FM + "; 'Other' = pairs not named in the table", table="003.t1", row="Other",
     pair="other", exclude=((1, 7), (1, 8), (8, 2), (1, 12), (2, 7)), field="r2")
_add("s003.factor_map.all.neurons", S, "§3.3 Table 1", "all 128 neurons", "128", "hidden_size", definition=D_MODEL,
     table="003.t1", row="All 128")
_add("s003.factor_map.all.r2", S, "§3.3 Table 1; Abstract; §7", "mean R^2 over all 128 neurons is 0.837", "0.837",
     "factor_map", definition=D_FM, table="003.t1", row="All 128", pair="all", field="r2")
_T33 = [("uniform", "No context (uniform)", "8.00", "0%"), ("l1", "2-offset conditional mean", "0.85", "90.3%"),
        ("l2", "+ word length", "0.50", "94.7%"), ("l3", "+ word length + in-tag", "0.43", "95.6%"),
        ("rnn", "Trained RNN", "0.079", "100%")]
for key, lab, bpc, xp in _T33:
    _add(f"s003.ladder.{key}.bpc", S, "§3.3 Explanation table", f"{lab}: {bpc} bpc", bpc, "ladder",
         definition=D_LADDER if key not in ("uniform", "rnn") else (D_TRIVIAL if key == "uniform" else D_BPC),
         table="003.t3.3", row=lab, level=key, field="bpc")
    _add(f"s003.ladder.{key}.xpct", S, "§3.3 Explanation table", f"{lab}: X% = {xp}", xp, "ladder",
         definition=D_LADDER, table="003.t3.3", row=lab, level=key, field="xpct")
_add("s003.counting.bigram.bpc", S, "§3.4 Stage 4 (table)", "bigram counting: 2.05 bpc", "2.05", "counting",
     definition=D_COUNT, table="003.t3.4", row="Bigram", model="bigram", field="bpc")
_add("s003.counting.skip4.bpc", S, "§3.4 Stage 4 (table)", "skip-4-gram [1, 8, 20, 3]: 0.069 bpc", "0.069",
     "counting", definition=D_COUNT, table="003.t3.4", row="Skip-4-gram", model="skip4", field="bpc")
_add("s003.counting.skip4.patterns", S, "§3.4 Stage 4 (table)", "skip-4-gram: 712 patterns", "712", "counting",
     definition=D_COUNT, table="003.t3.4", row="Skip-4-gram", model="skip4", field="patterns")
_add("s003.counting.skip4.offsets", S, "§3.4 Stage 4 (table)", "the greedy skip-4 offsets are [1, 8, 20, 3]",
     "[1, 8, 20, 3]", "greedy_order", kind="label", expected=[1, 8, 20, 3], definition=D_COUNT + "; candidates 1..30",
     table="003.t3.4", row="Skip-4-gram", n=4)
_add("s003.counting.skip8.bpc", S, "§3.4 Stage 4 (table)", "skip-8-gram: 0.043 bpc", "0.043", "counting",
     definition=D_COUNT, table="003.t3.4", row="Skip-8-gram", model="skip8", field="bpc")
_add("s003.counting.skip8.patterns", S, "§3.4 Stage 4 (table)", "skip-8-gram: 834 patterns", "834", "counting",
     definition=D_COUNT, table="003.t3.4", row="Skip-8-gram", model="skip8", field="patterns")
_add("s003.counting.rnn.bpc", S, "§3.4 Stage 4 (table)", "trained RNN (BPTT-50): 0.079 bpc", "0.079", "bpc",
     definition=D_BPC, table="003.t3.4", row="Trained RNN", variant="clamped")
_add("s003.counting.rnn.cost", S, "§3.4 Stage 4 (table)", "training cost ~2×10^9 multiply-adds", "~2×10^9", None,
     reason=R_TRAINING, table="003.t3.4", row="Trained RNN")
_add("s003.counting.skip8_surpasses", S, "§3.4", "the skip-8-gram (0.043) surpasses the RNN (0.079)", "yes",
     "skip8_beats_rnn", kind="bool", expected=True, definition=D_COUNT + " vs " + D_BPC)
_add("s003.construction.analytic.bpc", S, "§4.1 (table)", "shift-register, analytic Wy: 1.890 bpc", "1.890", None,
     reason=R_OTHER_ARCH, table="003.t4.1", row="Analytic W_y")
_add("s003.construction.analytic.xpct", S, "§4.1 (table)", "shift-register, analytic Wy: 77.1%", "77.1%", None,
     reason=R_OTHER_ARCH, table="003.t4.1", row="Analytic W_y")
_add("s003.construction.optimized.bpc", S, "§4.1 (table)", "shift-register, optimized Wy: 0.587 bpc", "0.587", None,
     reason=R_OTHER_ARCH, table="003.t4.1", row="Optimized W_y")
_add("s003.construction.optimized.xpct", S, "§4.1 (table)", "shift-register, optimized Wy: 93.6%", "93.6%", None,
     reason=R_OTHER_ARCH, table="003.t4.1", row="Optimized W_y")
_add("s003.construction.optimized.iters", S, "§4.1 (table)", "1,000 SGD iterations", "1,000", None,
     reason=R_OTHER_ARCH, table="003.t4.1", row="Optimized W_y")
_add("s003.construction.trained.bpc", S, "§4.1 (table)", "trained model: 0.079 bpc", "0.079", "bpc",
     definition=D_BPC, table="003.t4.1", row="Trained model", variant="clamped")
_add("s003.construction.trained.xpct", S, "§4.1 (table)", "trained model: 100%", "100%", "ladder",
     definition=D_LADDER, table="003.t4.1", row="Trained model", level="rnn", field="xpct")
_add("s003.reverse.bpc", S, "§4.2", "the reverse isomorphism reaches 0.107 bpc", "0.107", None, reason=R_REVERSE)
_add("s003.reverse.xpct", S, "§4.2", "the reverse isomorphism explains 99.6%", "99.6%", None, reason=R_REVERSE)
_add("s003.failed.bptt_flat", S, "§5.1", "normalised BPTT attribution is flat at ~2% per offset", "~2%", None,
     reason=R_NODEF + " (normalisation of the failed BPTT attribution not specified)")
_add("s003.failed.bptt_peak", S, "§5.1", "the raw gradient is dominated by offsets 20-22", "20–22", None,
     kind="range", reason=R_NODEF + " (the raw-gradient attribution of §5.1 is not specified)")
_add("s003.failed.ablation_d1", S, "§5.1", "ablation attribution is 0.21 bits at d = 1", "0.21", None,
     reason=R_NODEF + " (ablation averaging not specified; no program published)")
_add("s003.failed.ablation_d28", S, "§5.1", "ablation attribution is 1.63 bits at d = 28", "1.63", None,
     reason=R_NODEF + " (ablation averaging not specified; no program published)")
_add("s003.failed.decisive_d1", S, "§5.1", "67% of neurons have a decisive input at offset 1", "67%", None,
     reason=R_NODEF + " (decisive-chain program not published)")
_add("s003.failed.decisive_d3", S, "§5.1", "2.6% of neurons have a decisive input at offset 3", "2.6%", None,
     reason=R_NODEF + " (decisive-chain program not published)")
_add("s003.failed.decisive_d4", S, "§5.1", "zero neurons have a decisive input at offset 4+", "0", None,
     reason=R_NODEF + " (decisive-chain program not published)")
_add("s003.carrier.quality", S, "§5.2; §6.1 item 2", "pattern-sensitive neurons account for 80% of prediction quality",
     "80%", "carrier", definition=D_CARRIER, field="pattern_frac_pct")
_add("s003.carrier.carrier_bpc_text", S, "§5.2", "the carrier alone achieves 0.40 bpc", "0.40", "carrier",
     definition=D_CARRIER, field="carrier_bpc")
_add("s003.carrier.actual_bpc_text", S, "§5.2", "the actual model: 0.08 bpc", "0.08", "carrier",
     definition=D_CARRIER, field="actual_bpc")
_add("s003.carrier.five_times", S, "§5.2", "the carrier alone is five times worse than the actual 0.08 bpc", "~5",
     "carrier_ratio", kind="approx", definition=D_CARRIER + "; carrier-only bpc / actual bpc")
for r, (nrn, cnt) in enumerate(((8, "825"), (68, "728"), (16, "666"), (52, "624"), (112, "526"))):
    _add(f"s003.carrier.ps_rank{r}.neuron", S, "§5.2", f"the rank-{r + 1} pattern-sensitive neuron is h{nrn}",
         f"h{nrn}", "carrier_ps_neuron", kind="label", expected=nrn, definition=D_CARRIER, rank=r, field="neuron")
    _add(f"s003.carrier.ps_rank{r}.count", S, "§5.2", f"h{nrn} is pattern-sensitive at {cnt}/1023 positions", cnt,
         "carrier_ps_neuron", definition=D_CARRIER, rank=r, field="count")
_T2B = [("ps_mean", "Mean pattern-sensitive neurons per position", "17.9", "ps_mean"),
        ("ps_pct", "Mean pattern-sensitive neurons per position", "14.0%", "pattern_pct"),
        ("cd_mean", "Mean carrier-determined neurons per position", "110.1", "cd_mean"),
        ("cd_pct", "Mean carrier-determined neurons per position", "86.0%", "carrier_pct"),
        ("actual", "Actual model performance", "0.081", "actual_bpc"),
        ("carrier_only", "Carrier-only performance", "0.401", "carrier_bpc"),
        ("gain", "Pattern gain", "0.320", "pattern_gain"),
        ("frac", "Fraction of prediction from byte identity", "79.8%", "pattern_frac_pct")]
for key, lab, v, fld in _T2B:
    _add(f"s003.carrier.table.{key}", S, "§5.3 Table 2", f"{lab}: {v}", v, "carrier", definition=D_CARRIER,
         table="003.t2b", row=lab, field=fld)
_add("s003.carrier.gate_open", S, "§5.3", "76% of neurons have 1 - h^2 > 0.1 (the gradient is not sparse)", "76%",
     "gate_open_pct", definition="computed from the float32 forward: share of neuron-steps t = 0..n-2 with "
     "1 - h_t[j]^2 > 0.1")
_T3I = [("0", 0, 0, ("+1.746", "1.818", "4.9", "1.000")), ("1", 1, 1, ("+0.780", "1.182", "5.9", "0.650")),
        ("2", 2, 2, ("+0.443", "1.193", "6.6", "0.656")), ("3", 3, 3, ("+0.166", "1.228", "6.9", "0.676")),
        ("4", 4, 4, ("-0.008", "1.150", "7.2", "0.633")), ("5–9", 5, 9, ("~0", "~1.3", "~8", "~0.7")),
        ("10–19", 10, 19, ("~0", "~1.6", "~11", "~0.9")), ("20–49", 20, 49, ("~0", "~2.1", "~13", "~1.2"))]
for lab, d0, d1, vals in _T3I:
    for fld, v in zip(("signed", "unsigned", "grad_norm", "decay"), vals):
        _add(f"s003.influence.d{lab.replace('–', '_')}.{fld}", S, "§5.3 Table 3",
             f"offset {lab}: {fld} influence column is {v}" + (" (mean over the range)" if d0 != d1 else ""), v,
             "influence", definition=D_INFL, table="003.t3", row=lab, d_lo=d0, d_hi=d1, field=fld)
_add("s003.influence.unsigned_flat", S, "§5.3", "the unsigned influence is nearly flat (~1.8 per offset, d = 0..49)",
     "~1.8", "influence", definition=D_INFL, d_lo=0, d_hi=49, field="unsigned")
_add("s003.influence.spectral", S, "§5.3", "spectral radius ≈ 1.02", "≈ 1.02", "spectral_radius",
     definition=D_STATIC + " (largest |eigenvalue| of Wh)")
_T54 = [("carrier", "Carrier (timing alone)", "+16.23", "86.5%"), ("pattern", "Pattern (byte m at offset 0)", "+2.53",
                                                                    "13.5%"), ("total", "Total", "+18.76", "100%")]
for key, lab, lg, fr in _T54:
    _add(f"s003.decomp.{key}.logit", S, "§5.4 Output decomposition (table)", f"t = 29, {lab}: logit {lg}", lg,
         "decomp", definition=D_DECOMP, table="003.t5.4", row=lab, field=f"{key}_logit")
    _add(f"s003.decomp.{key}.frac", S, "§5.4 Output decomposition (table)", f"t = 29, {lab}: {fr} of the logit", fr,
         "decomp", definition=D_DECOMP, table="003.t5.4", row=lab, field=f"{key}_frac", scale=100.0)
_add("s003.decomp.carrier_bpc", S, "§5.4", "the carrier alone predicts 'e' at 0.001 bpc", "0.001", "decomp",
     definition=D_DECOMP, field="carrier_cost")
_add("s003.decomp.top_neuron", S, "§5.4", "the top contributing neuron is h8", "h8", "decomp", kind="label",
     expected=8, definition=D_DECOMP, field="top_neuron")
_add("s003.decomp.top_contrib", S, "§5.4", "h8 contributes Wy . delta h = +1.87", "+1.87", "decomp",
     definition=D_DECOMP, field="top_contrib")
_add("s003.factor_map.feature_r", S, "§5.5", "word length / in-tag readable with covariance direction r = 0.58",
     "0.58", None, reason=R_NODEF + " (from the factor-map paper; no program published)")
_add("s003.factor_map.write_catastrophe", S, "§5.5", "step-by-step subtraction causes +7.3 bpc", "+7.3", None,
     reason=R_NODEF + " (from the factor-map paper; no program published)")
_add("s003.remains.carrier_gain", S, "§6.2 item 1", "the carrier dynamics account for 92.5% of the gain", "92.5%",
     "carrier_xpct", definition="operationalised: seed 003 Eq. 2 applied to the carrier-only bpc (" + D_CARRIER + ")")


# =================================================================================================
# Seed 004 — Knockout tables
# =================================================================================================
S = "004"
_add("s004.intro.hidden", S, "Introduction", "the sat-rnn has 128 hidden neurons", "128", "hidden_size",
     definition=D_MODEL)
_add("s004.intro.params", S, "Introduction", "82,304 trainable parameters", "82,304", "params", definition=D_STATIC)
_add("s004.intro.baseline", S, "Single-neuron knockout", "the baseline model achieves 0.0792 bpc", "0.0792", "bpc",
     definition=D_BPC, variant="clamped")
_add("s004.knockout.h8_text", S, "Single-neuron knockout", "h8 is by far the most important: removing it costs "
     "+0.035 bpc", "+0.035", "ko", definition=D_KO, rank=0, field="delta")
_add("s004.knockout.h56_about", S, "Single-neuron knockout", "h56 contributes about +0.025", "about +0.025", "ko",
     definition=D_KO, rank=1, field="delta")
_add("s004.knockout.h68_about", S, "Single-neuron knockout", "h68 contributes about +0.025", "about +0.025", "ko",
     definition=D_KO, rank=2, field="delta")
_add("s004.knockout.h50_text", S, "Single-neuron knockout", "the 10th neuron (h50) effect is only +0.013", "+0.013",
     "ko", definition=D_KO, rank=9, field="delta")
_add("s004.knockout.half", S, "Single-neuron knockout", "h8's cost is nearly half the total compression",
     "nearly half", None, kind="label", reason=R_NODEF + " ('total compression' is not defined)")
_TKO = [(8, "+0.0348", "6.10", "'/' 'i' ' ' 'c' 'd'", "'a' 'e' 'o' 'p' ':'"),
        (56, "+0.0250", "4.43", "' ' 'y' 's' 'd' 'l'", "'a' 'c' 'n' 'p' 'e'"),
        (68, "+0.0245", "5.83", "'m' 'i' 'e' 'n' 'p'", "' ' 'k' '>' 'h' '.'"),
        (99, "+0.0198", "5.02", "'>' 'a' 'r' 'd' 'U'", "'/' 'i' 'e' 't' ' '"),
        (15, "+0.0196", "5.19", "'s' '/' 'g' 'l' '\"'", "'k' ' ' 'h' 't' '.'"),
        (52, "+0.0175", "5.83", "'e' 'i' 'a' '.' 'p'", "'k' '<' '/' 'n' '\"'"),
        (76, "+0.0172", "4.56", "'s' 'l' 'm' 'd' 'c'", "' ' 'e' 'n' '<' '/'"),
        (90, "+0.0154", "4.69", "'a' 'k' '\"' 'h' '='", "'M' 'm' '.' 'p' 's'"),
        (73, "+0.0149", "4.32", "'a' '\"' ' ' 'n' '>'", "'r' 't' 'k' 'M' 'l'"),
        (50, "+0.0127", "3.29", "'e' '\"' 'k' '<' '0'", "'a' 's' ' ' 'c' '>'")]


def _chars(s: str) -> list[str]:
    return re.findall(r"'(.)'", s)


for r, (nrn, dl, wn, pro, dem) in enumerate(_TKO):
    row = f"h{nrn}"
    _add(f"s004.knockout.rank{r}.neuron", S, "Knockout table", f"rank {r + 1} by knockout delta is h{nrn}", f"h{nrn}",
         "ko", kind="label", expected=nrn, definition=D_KO, table="004.knockout", row=row, rank=r, field="neuron")
    _add(f"s004.knockout.rank{r}.delta", S, "Knockout table", f"h{nrn}: delta bpc {dl}", dl, "ko", definition=D_KO,
         table="004.knockout", row=row, rank=r, field="delta")
    _add(f"s004.knockout.rank{r}.wy_norm", S, "Knockout table", f"h{nrn}: |W_y| = {wn}", wn, "wy_role",
         definition=D_WYNORM, table="004.knockout", row=row, neuron=nrn, field="norm")
    _add(f"s004.knockout.rank{r}.promotes", S, "Knockout table", f"h{nrn} promotes {pro}", pro, "wy_role",
         kind="label", expected=_chars(pro), definition=D_WYROLE, table="004.knockout", row=row, neuron=nrn,
         field="promotes")
    _add(f"s004.knockout.rank{r}.demotes", S, "Knockout table", f"h{nrn} demotes {dem}", dem, "wy_role",
         kind="label", expected=_chars(dem), definition=D_WYROLE, table="004.knockout", row=row, neuron=nrn,
         field="demotes")
_add("s004.cumulative.k0", S, "Cumulative knockout", "BPC starts from 0.08 before any removal", "0.08", "cum_ko",
     definition=D_CUM, k=0)
_add("s004.cumulative.k10", S, "Cumulative knockout", "removing the top 10 neurons raises BPC to 0.93", "0.93",
     "cum_ko", definition=D_CUM, k=10)
_add("s004.cumulative.k30", S, "Cumulative knockout", "after ~30 neurons the model is barely compressing", "~30",
     None, reason="qualitative: 'barely compressing' has no stated threshold")
_TKEEP = [(1, "1 (h8 only)", "5.928", "26.2%"), (5, "5", "4.030", "50.1%"), (10, "10", "2.845", "65.1%"),
          (15, "15", "1.886", "77.2%"), (20, "20", "1.412", "83.2%"), (30, "30", "0.707", "92.1%"),
          (50, "50", "0.284", "97.4%"), (80, "80", "0.115", "99.5%"), (120, "120", "0.079", "100.0%"),
          (128, "128 (full)", "0.079", "100.0%")]
for k, lab, bpc, pct in _TKEEP:
    _add(f"s004.keep_top_k.k{k}.bpc", S, "Keep-top-k table", f"keeping the top {k} neurons gives {bpc} bpc", bpc,
         "keep_top", definition=D_KEEP, table="004.keep_top_k", row=lab, k=k, field="bpc")
    _add(f"s004.keep_top_k.k{k}.pct", S, "Keep-top-k table", f"keeping the top {k} neurons captures {pct} of the gap",
         pct, "keep_top", definition=D_KEEP, table="004.keep_top_k", row=lab, k=k, field="pct")
_add("s004.keep_top_k.k1_neuron", S, "Keep-top-k table", "k = 1 keeps h8 only", "h8", "ko", kind="label",
     expected=8, definition=D_KO, table="004.keep_top_k", row="1 (h8 only)", rank=0, field="neuron")
_add("s004.keep_top_k.saturates", S, "Keep-top-k", "the keep-top-k curve saturates near k = 80-100", "80–100", "keep_top",
     kind="range", reason="qualitative: no saturation criterion is stated (the % of gain at k = 80 is shown for "
     "reference)", definition=D_KEEP, k=80, field="pct")
_add("s004.keep_top_k.k120_exact", S, "Keep-top-k", "k = 120 matches the full model exactly (the last 8 neurons "
     "contribute exactly zero)", "exactly zero", "keep_top_equals_full", kind="bool", expected=True,
     definition=D_KEEP + "; bpc(120) == bpc(128) exactly", k=120)
_add("s004.keep_top_k.k120_dips", S, "Keep-top-k",
     "the curve dips slightly at k = 120 vs k = 128 (the full model is suboptimal)", "yes", "keep_top_better",
     kind="bool", expected=True, definition=D_KEEP + "; bpc(120) < bpc(128)", k=120)
_add("s004.redux.params_text", S, "Combined pruning", "the best pruned model uses only 26k of 82k parameters", "26k",
     "redux_params", definition=D_PARAMS + " with the hard-coded redux k = 15, theta = 2.0", k=15, theta=2.0)
_add("s004.redux.better_text", S, "Combined pruning", "the best pruned model achieves better BPC than the full model",
     "yes", "combined_better", kind="bool", expected=True, definition=D_COMB, k=15, theta=2.0)
_TRED = [("full", "Full model", 128, 0.0, ("100%", "100%", "0.0792", "82,304")),
         ("top30", "Top 30 neurons", 30, 0.0, ("23.4%", "100%", "0.707", "~57k")),
         ("top20", "Top 20 neurons", 20, 0.0, ("15.6%", "100%", "1.412", "~38k")),
         ("top15", "Top 15 neurons", 15, 0.0, ("11.7%", "100%", "1.886", "~37k")),
         ("redux", "Redux (k=15, W_h pruned)", 15, 2.0, ("11.7%", "0.1%", "4.868", "~37k"))]
for key, lab, k, th, (wy, wh, bpc, prm) in _TRED:
    _add(f"s004.redux.{key}.wy_kept", S, "Redux table", f"{lab}: W_y kept {wy}", wy, "wy_kept_pct",
         definition=D_COMB + "; wy_pct_kept = 100 k / 128", table="004.redux", row=lab, k=k)
    _add(f"s004.redux.{key}.wh_kept", S, "Redux table", f"{lab}: W_h kept {wh}", wh, "wh_pct",
         definition=D_COMB + "; wh_pct_kept (redux theta = 2.0, DEFINITIONS §8.4)", table="004.redux", row=lab,
         theta=th, side="kept")
    _add(f"s004.redux.{key}.bpc", S, "Redux table", f"{lab}: {bpc} bpc", bpc, "combined", definition=D_COMB,
         table="004.redux", row=lab, k=k, theta=th, field="bpc")
    _add(f"s004.redux.{key}.params", S, "Redux table", f"{lab}: {prm} parameters", prm, "redux_params",
         definition=D_PARAMS + " applied to this row", table="004.redux", row=lab, k=k, theta=th)
for p, v in ((50, "0.047"), (90, "0.186")):
    _add(f"s004.weights.wh_p{p}", S, "Weight magnitudes", f"|W_h| {'median' if p == 50 else '90th percentile'} is {v}",
         v, "wh_abs", definition=D_PCT, p=p)
_add("s004.weights.wh_max", S, "Weight magnitudes", "max |W_h| is 1.393", "1.393", "wh_abs", definition=D_PCT, p=100)


# ---- the verdict engine ---------------------------------------------------------------------------

class NotAvailable(Exception):
    """Raised by a measurement whose analysis module has not landed (or cannot run on this model)."""


@dataclass
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
        diff = math.log10(float(measured)) - e.value
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


def evaluate(claims, measure_fn, subject: Subject = PUBLISHED) -> list[dict]:
    """Verdict records for the claims. measure_fn(claim) -> value (or Measured); NotAvailable -> reason.

    On a subject other than the published weights and text, a claim that depends on what differs is
    `not applicable`: it is still measured (the record keeps the model's own value) but not compared.
    A gated claim is `not measurable` unless its gate claim reproduced (the gate is evaluated first).
    Any other exception in a measurement is the verdict `failed`, with the error: never hidden.
    """
    claims = list(claims)
    results: dict[str, dict] = {}

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
                gate_ok = run(g).get("gate_ok", False)
            rec["gate_ok"] = gate_ok
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

    out = [run(c) for c in claims]
    for r in out:
        r.pop("gate_ok", None)
    return out


def _fmt(v) -> str:
    if _is_num(v) and not isinstance(v, int):
        return f"{v:.6g}"
    return str(v)


def summarize(records) -> dict:
    """Counts per seed and per verdict (every claim counted exactly once)."""
    per_seed: dict[str, dict] = {}
    for r in records:
        d = per_seed.setdefault(r["seed"], {v: 0 for v in VERDICTS} | {"total": 0})
        d[r["verdict"]] += 1
        d["total"] += 1
    total = {v: sum(d[v] for d in per_seed.values()) for v in VERDICTS}
    total["total"] = len(records)
    return {"per_seed": per_seed, "total": total}


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
