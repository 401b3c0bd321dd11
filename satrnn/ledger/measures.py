"""Measurements behind the claims ledger: one function per measurement key, on one shared cache.

`MEASURES[key](results, **params)` (results: a `satrnn.cache.Results`, where every analysis is computed once)
returns the measured value in the unit the claim compares (percent claims get a fraction times the claim's
`scale`, or a percent directly, as documented per key). A quantity that does not exist on this model or
text raises `NotAvailable(reason)` (the claim is then not measurable, with the reason); any other exception
is a crash, which the ledger reports as the verdict `failed`.

No paper value appears here: parameters (k, theta, tau, d, neuron, ...) come from the registry
(`satrnn/ledger/claims.py`) and select which quantity to compute, never what it should be.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from satrnn.analyses import model_info
from satrnn.cache import Results
from satrnn.ledger.claims import Claim, Measured, NotAvailable
from satrnn.rnn import elementary as em
from satrnn.rnn.forward import run_states
from satrnn.rnn.model import ElmanRNN
from satrnn.unit import Collected, units

_OWN: dict[str, Callable] = {}


def measure(key: str):
    """A measurement that belongs to no analysis unit (static facts of the weights, the forward pass)."""
    def deco(fn):
        _OWN[key] = fn
        return fn
    return deco


def _collect_measures() -> dict[str, Callable]:
    """measurement key -> fn(results, **params): this module's own and every analysis unit's `measures`."""
    d = dict(_OWN)
    for u in units().values():
        for k, fn in u.measures.items():
            if d.setdefault(k, fn) is not fn:
                raise RuntimeError(f"measurement {k!r} declared twice")
    return d


MEASURES = Collected(_collect_measures)


# Measurements whose parameter `k` counts neurons (the others' `k` is an offset or a depth).
_K_COUNTS_NEURONS = frozenset({"keep_top", "keep_top_better", "keep_top_equals_full", "cum_ko", "combined",
                               "combined_better", "combined_improvement", "wy_cols_removed", "wy_kept_pct",
                               "redux_params", "redux_params_pct", "params_minus_redux"})


def measure_claim(results: Results, claim: Claim):
    """Run the claim's measurement on the shared cache (the ledger's measure_fn). A claim about a neuron
    (index, rank or count) that this model does not have is not measurable on it."""
    fn = MEASURES.get(claim.measure)
    if fn is None:
        raise NotAvailable(f"measurement {claim.measure!r} not implemented")
    kw = claim.kwargs
    for name in ("neuron", "rank") + (("k",) if claim.measure in _K_COUNTS_NEURONS else ()):
        v = kw.get(name)
        if isinstance(v, int) and v >= results.H + (name == "k"):
            raise NotAvailable(f"the model has {results.H} neurons; the claim's {name} is {v}")
    return fn(results, **kw)


# ---- static facts of the weights ------------------------------------------------------------------

@measure("hidden_size")
def _hidden_size(ctx):
    return ctx.H


@measure("params")
def _params(ctx, matrix=None):
    if matrix is None:
        return int(ctx.model.n_params)
    return int(getattr(ctx.model, matrix).size)


@measure("shape")
def _shape(ctx, matrix):
    return "×".join(str(s) for s in getattr(ctx.model, matrix).shape)


@measure("pattern_slots")
def _pattern_slots(ctx, cls):
    sizes = {"Wx": ctx.model.Wx.size, "Wh": ctx.model.Wh.size, "Wy": ctx.model.Wy.size}
    return int(sum(sizes.values()) if cls == "all" else sizes[cls])


@measure("spectral_radius")
def _spectral(ctx):
    return float(model_info.spectral_radius(ctx.model.Wh))


@measure("wh_abs")
def _wh_abs(ctx, p):
    a = np.sort(np.abs(ctx.model.Wh).ravel())
    if p == 100:
        return float(a[-1])
    return model_info.floor_percentile(a, p)


@measure("wh_pct")
def _wh_pct(ctx, theta, side):
    """Percent of Wh entries kept (|w| >= theta) or below (|w| < theta), the q5 strict pruning rule."""
    a = np.abs(ctx.model.Wh)
    below = int(np.count_nonzero(a < np.float32(theta)))
    n = a.size
    cnt = below if side == "below" else n - below
    return Measured(100.0 * cnt / n, f"{cnt} of {n} entries")


@measure("wh_top_source")
def _wh_top_source(ctx, neuron):
    row = np.abs(ctx.model.Wh[neuron])
    return int(np.argmax(row))  # first index wins ties, as the strict '>' scan of DEFINITIONS §4.5


@measure("wy_role")
def _wy_role(ctx, neuron, field):
    """|Wy column| (DEFINITIONS §7.1) and the top/bottom 5 output bytes of a neuron (§7.5)."""
    col = ctx.model.Wy[:, neuron]
    if field == "norm":
        return float(np.sqrt(np.sum((col * col).astype(np.float64))))
    order = np.argsort(-col, kind="stable") if field == "promotes" else np.argsort(col, kind="stable")
    top = [int(b) for b in order[:5]]
    # compared as the programs print them (DEFINITIONS 0.11: bytes outside 32..126 show as '.')
    return Measured([chr(b) if 32 <= b < 127 else "." for b in top], "bytes " + " ".join(f"{b:02x}" for b in top))


@measure("text_byte")
def _text_byte(ctx, pos):
    if pos >= ctx.xs.shape[0]:
        raise NotAvailable(f"the text has no byte at position {pos}")
    return int(ctx.xs[pos])


# ---- the float32 forward ----------------------------------------------------------------------------

@measure("bpc")
def _bpc(ctx, variant="clamped"):
    return float(ctx.fwd.bpc if variant == "clamped" else ctx.fwd_unclamped.bpc)


@measure("p_gt_099_majority")
def _p_gt_099(ctx):
    f = ctx.fwd_logp
    n = f.predictions
    py = em.exp(f.logp[np.arange(n), ctx.xs[1:n + 1]])
    frac = float(np.mean(py > 0.99))
    return Measured(frac > 0.5, f"{100 * frac:.1f}% of predictions have P(y) > 0.99")


@measure("gate_open_pct")
def _gate_open(ctx):
    h = ctx.fwd.hs[:-1].astype(np.float64)
    return 100.0 * float(np.mean(1.0 - h * h > 0.1))


@measure("wh_top_fraction_unchanged")
def _wh_top_fraction_unchanged(ctx, frac):
    """Keep the largest `frac` of |Wh| (ties at the cut kept), re-run the forward, compare sign bits."""
    a = np.abs(ctx.model.Wh)
    n_keep = int(round(frac * a.size))
    cut = np.sort(a.ravel())[::-1][max(n_keep - 1, 0)]
    Wh = np.where(a >= cut, ctx.model.Wh, np.float32(0)).astype(np.float32)
    hs2, _ = run_states(ctx.model.replace(Wh=Wh), ctx.xs[:-1])
    hs = ctx.fwd.hs[:-1]
    diff = int(np.count_nonzero((hs >= 0) != (hs2 >= 0)))
    return Measured(diff == 0, f"{diff} of {hs.size} neuron-step signs differ with {n_keep} of {a.size} Wh kept")


# ---- running the ledger --------------------------------------------------------------------------------

def claim_entries(results: Results, measures):
    """(records, summary) of the ledger for the claims that one of `measures` (measurement keys) checks: what an
    analysis command shows next to its own output. `results`: the shared cache of the command's model and text
    (model None: a text-only analysis, so only text claims can apply), holding the analyses the command
    computed with the ledger's own options (`Results.put`), which are reused instead of recomputed."""
    from satrnn.ledger import claims as registry
    claims = [c for c in registry.CLAIMS if c.measure in set(measures)]
    return run_ledger(results.model, results.xs, claims, show_progress=False, results=results)


def run_ledger(model: ElmanRNN | None, xs, claims=None, show_progress: bool = True, results: Results | None = None):
    """(records, summary) for the claims (default: all) on a model and text, measured on one shared cache
    (`results`, a new one if not given).

    The verdicts depend on whether model and text are the published ones (`claims.Subject`): on others,
    claims that depend on them are `not applicable` and keep only the measured value. Every record and the
    summary name the float32 tanh the measurements were made under (None without a model).
    """
    from satrnn.clikit import progress
    from satrnn.ledger import claims as registry

    claims = registry.CLAIMS if claims is None else list(claims)
    results = results if results is not None else Results(model, xs)
    subject = registry.Subject.of(model, results.xs)
    if show_progress:
        with progress() as bar:
            task = bar.add_task("measuring claims", total=len(claims))

            def fn(c):
                bar.update(task, advance=1, description=f"measuring {c.id}")
                return measure_claim(results, c)
            records = registry.evaluate(claims, fn, subject)
    else:
        records = registry.evaluate(claims, lambda c: measure_claim(results, c), subject)
    tanh = results.model.tanh if results.model is not None else None   # the float32 tanh measured under
    records = [replace(r, tanh=tanh) for r in records]
    return records, registry.summarize(records, tanh)


def row_where(rows, field: str, value, what: str):
    """The first row (a record) whose `field` equals `value`; a float32-stored grid value (e.g. tau = fl32(1e-4))
    matches its printed float64 value. No such row: NotAvailable (the claim is not measurable)."""
    for r in rows:
        v = getattr(r, field)
        if v == value:
            return r
        if (isinstance(value, float) and isinstance(v, (int, float)) and not isinstance(v, bool)
                and abs(v - value) <= 1e-6 * max(abs(value), 1e-30)):
            return r
    raise NotAvailable(f"{what}: no row with {field} = {value}")
