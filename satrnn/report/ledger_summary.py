"""The report's ledger section on a model or text the seeds' claims do not describe: a short summary.

Counts that account for every claim (judged, not applicable and why, not measurable and why), the
`satrnn verify` command on the published files with their real paths (`satrnn.ledger.published`), and this
model's own values of the ledger's headline measurements under readable labels. No internal measurement
keys and no claim about a specific neuron of the published model are shown here (`satrnn verify` lists
every claim with its measurement).
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from satrnn.ledger.published import verify_published_command
from satrnn.report.render import fmt

# (measurement, label, unit): this model's own value of each, in the unit shown. Units: "%" (a percentage),
# "bpc", "steps", "neuron" (an index of this model, shown hN), "" (a count or a plain number).
HEADLINES = (
    ("bpc(variant='clamped')", "bpc on the text (float32 reference)", "bpc"),
    ("iso(field='isomorphic')", "Universal Model isomorphic to the RNN, to the bit", ""),
    ("sig_patterns(cls='all')", "patterns with |w| > 0.01", ""),
    ("spectral_radius()", "spectral radius of Wh", ""),
    ("margins(field='pct_ge_1')", "neuron-steps with margin |z| >= 1", "%"),
    ("margins(field='pct_tiny')", "neuron-steps with margin |z| < 0.1", "%"),
    ("margins(field='mean')", "mean margin |z|", ""),
    ("sign_dyn_gain()", "float32 bpc minus sign-dynamics bpc (negative: the signs alone predict worse)", "bpc"),
    ("bool_sensitivity()", "neurons changed one step after one sign flip (t = 42, papers' program)", ""),
    ("attractor_cycles(field='n_cycles')", "papers' 50-start search: fixed points or cycles of period <= 100", ""),
    ("saturation(field='n_volatile')", "volatile neurons (flip classes of the papers' program)", ""),
    ("saturation(field='mean_dwell')", "mean dwell: steps a neuron keeps its sign", "steps"),
    ("coflip(field='max_jaccard_top15')", "largest co-flip Jaccard among the most co-flipping pairs", ""),
    ("ko(field='neuron', rank=0)", "most important readout neuron (knockout rank 1)", "neuron"),
    ("ko(field='delta', rank=0)", "its knockout cost", "bpc"),
    ("keep_top(field='bpc', k=15)", "bpc keeping only the top 15 readout neurons", "bpc"),
    ("keep_top(field='pct', k=30)", "share of the gain over 8 bpc kept by the top 30 readout neurons", "%"),
    ("grad_stats(field='mean_norm')", "mean gradient norm ||g_t|| (d ln P / d h_t)", ""),
    ("grad_stats(field='top10_share')", "gradient energy in the 10 largest components", "%"),
    ("carrier(field='ps_mean')", "pattern-sensitive neurons per position", ""),
    ("carrier(field='carrier_bpc')", "bpc of the carrier alone", "bpc"),
    ("factor_map(field='r2', pair='all')", "factor map: mean R^2 over all neurons (in-sample)", ""),
    ("pmi_aligned(d_hi=0, d_lo=0)", "flips aligned with the data's PMI (all offsets)", "%"),
    ("counting(field='bpc', model='skip8')", "skip-8 counting model (the text alone)", "bpc"),
)

_REASON_GROUPS = (   # the first words of a "not measurable" reason -> a readable group
    ("no definition", "no reference program or DEFINITIONS.md entry defines it"),
    ("no program computes it", "no reference program computes it"),
    ("about another architecture", "about another architecture"),
    ("qualitative", "qualitative: no threshold is stated"),
    ("training provenance", "needs the training history, not in any weight file"),
)


def _value(v, unit: str) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, float, np.integer, np.floating)):
        v = float(v)
        if unit == "neuron":
            return f"h{int(v)}"
        if unit == "%":
            return f"{v:.2f}%"
        txt = f"{int(v):,}" if v.is_integer() and unit != "bpc" else fmt(v)
        return f"{txt} {unit}" if unit in ("bpc", "steps") else txt
    return str(v)


def _group(reason: str) -> str:
    for key, label in _REASON_GROUPS:
        if reason.startswith(key):
            return label
    return "other specific reasons (each one in `satrnn verify`)"


def ledger_summary(records, summary, subject) -> tuple[list, dict]:
    """(renderables, JSON dict) of the summary (module docstring) for a subject (`satrnn.ledger.claims.Subject`)
    that is not the published weights and text; `records`: the `LedgerRecord`s, `summary`: their
    `LedgerSummary`. Every claim is counted in exactly one line of the counts."""
    tot = summary.total
    na = [r for r in records if r.verdict == "not applicable"]
    nm = [r for r in records if r.verdict == "not measurable"]
    judged = [r for r in records if r.verdict in ("reproduced", "differs")]
    failed = [r for r in records if r.verdict == "failed"]
    why_na = Counter("describe the published weights" if (r.reason or "").startswith("another model")
                     else "describe the published text" for r in na)
    why_nm = Counter(_group(r.reason or "") for r in nm)
    cmd, where = verify_published_command()
    what = ("weights" if not subject.published_weights else "") + \
        (" and text" if not subject.published_weights and not subject.published_text else
         "text" if not subject.published_text else "")
    lines = [Text.assemble((f"{tot['total']} claims", "bold"),
                           f" of the seed papers; these are not the published {what} they describe, so none is "
                           "compared with the papers here:")]
    rows = [(f"{len(na)} not applicable", "; ".join(f"{n} {k}" for k, n in why_na.most_common())),
            (f"{len(nm)} not measurable on any model", "; ".join(f"{n}: {k}" for k, n in why_nm.most_common())),
            (f"{len(judged)} judged", "they depend only on what this model shares with the published ones: "
                                      + ", ".join(f"{sum(r['verdict'] == v for r in judged)} {v}"
                                                  for v in ("reproduced", "differs")) if judged else
             "no claim depends only on what this model shares with the published ones")]
    if failed:
        rows.append((f"{len(failed)} failed", "a measurement crashed (named above): a bug"))
    if sum(int(re.match(r"\d+", r[0]).group()) for r in rows) != tot["total"]:   # every claim, once
        raise RuntimeError("ledger summary: the counts do not add up to the number of claims")
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column("count", justify="right", style="bold", no_wrap=True)
    t.add_column("why", overflow="fold")
    for a, b in rows:
        t.add_row(Text(a), Text(b))
    check = Text.assemble("Check them on the published weights and text: ", (cmd, "cyan"), f"  ({where})")
    own = Table(title="This model's own values of the ledger's headline measurements (no paper values)",
                title_justify="left")
    own.add_column("quantity", overflow="fold")
    own.add_column("this model", justify="right", no_wrap=True)
    by_m = {r.measurement: r for r in records if r.measurement}
    values = []
    for m, label, unit in HEADLINES:
        r = by_m.get(m)
        if r is None or r.measured is None:
            continue
        v = r.measured
        own.add_row(Text(label), Text(_value(v, unit)))
        values.append({"quantity": label, "value": v, "unit": unit or None, "measurement": m})
    parts = [Panel(Group(*lines, t, check), title="claims not applicable to this model", title_align="left",
                   border_style="yellow"), own]
    data = {"counts": {"total": tot["total"], "not_applicable": dict(why_na), "not_measurable": dict(why_nm),
                       "judged": {v: sum(r.verdict == v for r in judged) for v in ("reproduced", "differs")},
                       "failed": len(failed)},
            "verify_published": cmd, "own_values": values}
    return parts, data
