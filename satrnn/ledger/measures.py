"""Measurements behind the claims ledger: one function per measurement key, sharing one cached context.

`LedgerContext(model, xs)` holds what several measurements (and the report's sections) need: the float32
forward pass and every analysis result, as cached properties computed once. `MEASURES[key](ctx, **params)`
returns the measured value in the unit the claim compares (percent claims get a fraction times the claim's
`scale`, or a percent directly, as documented per key). A quantity that does not exist on this model or
text raises `NotAvailable(reason)` (the claim is then not measurable, with the reason); any other exception
is a crash, which the ledger reports as the verdict `failed`.

No paper value appears here: parameters (k, theta, tau, d, neuron, ...) come from the registry
(`satrnn/ledger/claims.py`) and select which quantity to compute, never what it should be.
"""
from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from functools import cached_property

import numpy as np

from satrnn.analyses import (
    boolean_figures,
    carrier,
    coflip,
    counting,
    factor_map,
    justify,
    knockout,
    model_info,
    offsets,
    pmi,
    saturation,
    sparse_diff,
    sparsity,
)
from satrnn.automaton import iso, margins, redux
from satrnn.automaton.sign import SignAutomaton
from satrnn.ledger.claims import Claim, Measured, NotAvailable
from satrnn.rnn import elementary as em
from satrnn.rnn.forward import forward, run_states
from satrnn.rnn.model import ElmanRNN

MEASURES: dict[str, Callable] = {}


def measure(key: str):
    def deco(fn):
        MEASURES[key] = fn
        return fn
    return deco


# The k values of cumulative removal and keep-top-k that the report shows (its knockout table and section).
REPORT_KS = tuple(sorted(set(knockout.PRINTED_CUMULATIVE_K) | set(knockout.PRINTED_KEEP_K)
                         | {1, 5, 10, 15, 20, 30, 50, 80, 120}))


class LedgerContext:
    """What the measurements and the report's sections share for one (model, text): the float32 forward
    pass and every analysis result, each computed on first use and kept (cached properties). The results
    are the analysis modules' own (documented keys). An analysis that raises is not cached: the exception
    reaches the caller (a failure, never "not measurable")."""

    def __init__(self, model: ElmanRNN, xs: np.ndarray):
        self.model = model
        self.xs = np.ascontiguousarray(xs, dtype=np.uint8)
        self._memo: dict = {}
        self._memo_lock = threading.Lock()
        self._key_locks: dict = {}

    @property
    def H(self) -> int:
        return self.model.H

    def memo(self, key, build: Callable):
        """build(), computed once per key (for results that take an argument). Thread-safe: the report
        builds some sections on a background thread, and a second caller of a key waits for the first."""
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    # ---- the forward passes ----
    @cached_property
    def fwd(self):
        """float32 forward with log-probabilities (clamped cost)."""
        return forward(self.model, self.xs, want_logp=True)

    @cached_property
    def fwd_unclamped(self):
        return forward(self.model, self.xs, clamp=False)

    @cached_property
    def fwd_f64(self):
        return forward(self.model, self.xs, precision="f64")

    # ---- analysis results ----
    @cached_property
    def model_summary(self) -> dict:
        return model_info.model_summary(self.model)

    @cached_property
    def iso(self) -> dict:
        return iso.check_isomorphism(self.model, self.xs, precision="f32")

    @cached_property
    def sparsity(self) -> dict:
        return sparsity.q1_sparsity(self.model, self.xs, variant="paper")

    @cached_property
    def q2(self) -> dict:
        return offsets.q2_offsets(self.model, self.xs, variant="paper", hs=self.fwd.hs)

    @cached_property
    def q2_corrected(self) -> dict:
        return offsets.q2_offsets(self.model, self.xs, variant="corrected", hs=self.fwd.hs)

    @cached_property
    def q7(self) -> dict:
        return pmi.q7_algebraic(self.model, self.xs, hs=self.fwd.hs)

    @cached_property
    def factor_map(self) -> dict:
        return factor_map.factor_map(self.model, self.xs, hs=self.fwd.hs)

    @cached_property
    def ladder(self) -> dict:
        return factor_map.explanation_ladder(self.model, self.xs, hs=self.fwd.hs, rnn_bpc=self.fwd.bpc)

    @cached_property
    def counting(self) -> dict:
        return counting.counting_report(self.xs)

    @cached_property
    def readout_cache(self):
        return redux.ReadoutCache(self.model, self.xs, forward_result=self.fwd)

    @cached_property
    def knockout(self) -> knockout.NeuronKnockout:
        return knockout.neuron_knockout(self.model, self.xs, cache=self.readout_cache)

    @cached_property
    def sparse_diff(self) -> dict:
        return sparse_diff.sparse_differentiation(self.model, self.xs, hs=self.fwd.hs)

    @cached_property
    def carrier(self) -> dict:
        return carrier.carrier_decomposition(self.model, self.xs, hs=self.fwd.hs)

    @cached_property
    def margins(self) -> dict:
        return margins.margin_report(self.model, self.xs)

    @cached_property
    def boolean(self) -> dict:
        return boolean_figures.boolean_report(self.model, self.xs, semantics="f32-seq")

    @cached_property
    def saturation(self) -> dict:
        return saturation.saturation_report(self.model, self.xs, forward_result=self.fwd)

    @cached_property
    def coflip(self) -> dict:
        return coflip.coflip_report(self.model, self.xs, forward_result=self.fwd)

    @cached_property
    def justify(self) -> dict:
        return justify.q6_justify(self.model, self.xs, hs=self.fwd.hs)

    def automaton(self, semantics: str = "f32-seq") -> SignAutomaton:
        return self.memo(("automaton", semantics), lambda: SignAutomaton.from_model(self.model, semantics))

    # ---- readout evaluations by k (one cached value per argument) ----
    def _top_mask(self, k: int, keep: bool) -> np.ndarray:
        order = self.knockout.order
        mask = np.full((1, self.H), not keep, dtype=bool)
        mask[0, order[:k]] = keep
        return mask

    @cached_property
    def neurons(self) -> dict:
        """knockout.neurons_report at the k values the report prints (REPORT_KS): knockout, cumulative
        removal and keep-top-k, sign-only."""
        return knockout.neurons_report(self.model, self.xs, self.readout_cache, knockout=self.knockout,
                                       ks=REPORT_KS + (self.H,))

    def _top_k_bpc(self, table: str, k: int, keep: bool) -> float:
        """bpc with only (keep) or without (not keep) the Wy columns of the top-k knockout neurons: read from
        `neurons` when that evaluated k (the same kernel, bit for bit), else evaluated alone and memoised."""
        if "neurons" in self.__dict__:
            v = knockout.at(self.neurons[table], k)
            if v is not None:
                return v
        return self.memo((table, k), lambda: float(self.readout_cache.bpcs(self._top_mask(k, keep))[0]))

    def keep_bpc(self, k: int) -> float:
        """bpc keeping only the Wy columns of the top-k knockout neurons (DEFINITIONS 7.3)."""
        return self._top_k_bpc("keep_top_k", k, True)

    def cum_bpc(self, k: int) -> float:
        """bpc with the Wy columns of the top-k knockout neurons zeroed (DEFINITIONS 7.2)."""
        return self._top_k_bpc("cumulative", k, False)

    def combined_row(self, k: int, theta: float) -> dict:
        """{bpc, delta} of 'top-k readout + Wh pruned at theta' (DEFINITIONS 8.2), evaluated on demand."""
        if theta == 0.0:
            b = self.keep_bpc(k)
            return {"bpc": b, "delta": b - self.fwd.bpc}

        def build():
            keep = [int(j) for j in self.knockout.order[:k]]
            return float(redux.evaluate(self.model, self.xs, redux.Redux(keep=keep, wh_threshold=theta),
                                        cache=self.readout_cache))
        b = self.memo(("combined", k, theta), build)
        return {"bpc": b, "delta": b - self.fwd.bpc}

    def zeroable(self, matrix: str) -> dict:
        """Walk q5's theta grid upwards (DEFINITIONS 8.2: zero |w| < theta, re-run the dynamics) and stop at
        the first theta whose bpc exceeds the full model's; the last row that did not (theta 0 prunes nothing)."""
        def build():
            W = getattr(self.model, matrix)
            best = {"theta": 0.0, "pct_zeroed": 0.0, "bpc": self.fwd.bpc, "first_worse": None}
            for theta in knockout.PRUNE_THETAS:
                r = redux.Redux(wh_threshold=theta) if matrix == "Wh" else redux.Redux(wx_threshold=theta)
                kept = int((r.wh_keep(self.model) if matrix == "Wh" else r.wx_keep(self.model)).sum())
                b = float(redux.evaluate(self.model, self.xs, r, cache=self.readout_cache))
                row = {"theta": float(theta), "pct_zeroed": 100.0 * (W.size - kept) / W.size, "bpc": b}
                if b > self.fwd.bpc:
                    best["first_worse"] = row
                    break
                best.update(row)
            return best
        return self.memo(("zeroable", matrix), build)


# Measurements whose parameter `k` counts neurons (the others' `k` is an offset or a depth).
_K_COUNTS_NEURONS = frozenset({"keep_top", "keep_top_better", "keep_top_equals_full", "cum_ko", "combined",
                               "combined_better", "combined_improvement", "wy_cols_removed", "wy_kept_pct",
                               "redux_params", "redux_params_pct", "params_minus_redux"})


def measure_claim(ctx: LedgerContext, claim: Claim):
    """Run the claim's measurement in the context (the ledger's measure_fn). A claim about a neuron
    (index, rank or count) that this model does not have is not measurable on it."""
    fn = MEASURES.get(claim.measure)
    if fn is None:
        raise NotAvailable(f"measurement {claim.measure!r} not implemented")
    kw = claim.kwargs
    for name in ("neuron", "rank") + (("k",) if claim.measure in _K_COUNTS_NEURONS else ()):
        v = kw.get(name)
        if isinstance(v, int) and v >= ctx.H + (name == "k"):
            raise NotAvailable(f"the model has {ctx.H} neurons; the claim's {name} is {v}")
    return fn(ctx, **kw)


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


@measure("sig_patterns")
def _sig_patterns(ctx, cls):
    s = ctx.model_summary
    if cls == "all":
        return int(s["significant_patterns_0.01"])
    return int(s["matrices"][cls]["count_abs_gt_0.01"])


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


def redux_param_count(model: ElmanRNN, k: int, theta: float) -> int:
    kept_wh = int(np.count_nonzero(np.abs(model.Wh) >= np.float32(theta)))
    return int(model.Wx.size + kept_wh + model.bh.size + k * model.Wy.shape[0] + model.by.size)


@measure("redux_params")
def _redux_params(ctx, k, theta):
    return redux_param_count(ctx.model, k, theta)


@measure("redux_params_pct")
def _redux_params_pct(ctx, k, theta):
    return 100.0 * redux_param_count(ctx.model, k, theta) / ctx.model.n_params


@measure("params_minus_redux")
def _params_minus_redux(ctx, k, theta):
    return int(ctx.model.n_params - redux_param_count(ctx.model, k, theta))


@measure("wy_cols_removed")
def _wy_cols_removed(ctx, k):
    return int(ctx.H - k)


@measure("wy_kept_pct")
def _wy_kept_pct(ctx, k):
    return 100.0 * k / ctx.H


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
    f = ctx.fwd
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

def claim_entries(model: ElmanRNN | None, xs, measures, known: dict | None = None):
    """(records, summary) of the ledger for the claims that one of `measures` (measurement keys) checks:
    what an analysis command shows next to its own output. known: LedgerContext property name -> that
    analysis's result, already computed by the command with the ledger's (default) options, reused instead
    of recomputed. model None: a text-only analysis (only text claims can apply)."""
    from satrnn.ledger import claims as registry
    ctx = LedgerContext(model, xs)
    for name, value in (known or {}).items():
        if not isinstance(inspect.getattr_static(LedgerContext, name, None), cached_property):
            raise ValueError(f"{name!r} is not a LedgerContext result")
        ctx.__dict__[name] = value  # what the cached property would have computed
    claims = [c for c in registry.CLAIMS if c.measure in set(measures)]
    return run_ledger(model, ctx.xs, claims, show_progress=False, ctx=ctx)


def run_ledger(model: ElmanRNN, xs, claims=None, show_progress: bool = True, ctx: LedgerContext | None = None):
    """(records, summary) for the claims (default: all) on a model and text, sharing one context.

    The verdicts depend on whether model and text are the published ones (`claims.Subject`): on others,
    claims that depend on them are `not applicable` and keep only the measured value.
    """
    from satrnn.clikit import progress
    from satrnn.ledger import claims as registry

    claims = registry.CLAIMS if claims is None else list(claims)
    ctx = ctx or LedgerContext(model, xs)
    subject = registry.Subject.of(model, ctx.xs)
    if show_progress:
        with progress() as bar:
            task = bar.add_task("measuring claims", total=len(claims))

            def fn(c):
                bar.update(task, advance=1, description=f"measuring {c.id}")
                return measure_claim(ctx, c)
            records = registry.evaluate(claims, fn, subject)
    else:
        records = registry.evaluate(claims, lambda c: measure_claim(ctx, c), subject)
    summary = registry.summarize(records)
    summary["tanh"] = ctx.model.tanh          # the float32 tanh every measurement was made under
    for r in records:
        r["tanh"] = ctx.model.tanh
    return records, summary


def _row(rows, key, value, what):
    for r in rows:
        v = r.get(key)
        if v == value:
            return r
        # float32-stored grid values (e.g. tau = fl32(1e-4)) match their printed float64 value
        if (isinstance(value, float) and isinstance(v, (int, float)) and not isinstance(v, bool)
                and abs(v - value) <= 1e-6 * max(abs(value), 1e-30)):
            return r
    raise NotAvailable(f"{what}: no row with {key} = {value}")


# ---- seed 000: q1_sparsity ------------------------------------------------------------------------------

_SPARSE_FIELD = {"mean": "mean_n", "median": "median", "min": "min", "max": "max", "frac": "n_over_sig"}


@measure("sparsity_dist")
def _sparsity_dist(ctx, tau, field):
    return _row(ctx.sparsity["distribution"], "tau", tau, "q1_sparsity distribution")[_SPARSE_FIELD[field]]


@measure("sparsity_class")
def _sparsity_class(ctx, tau, cls):
    return _row(ctx.sparsity["class_breakdown"], "tau", tau, "q1_sparsity classes")["mean_" + cls]


@measure("sparsity_wh_share")
def _sparsity_wh_share(ctx, tau):
    return _row(ctx.sparsity["class_breakdown"], "tau", tau, "q1_sparsity classes")["share_Wh"]


@measure("sparsity_mean_gt_median")
def _sparsity_mean_gt_median(ctx):
    rows = [r for r in ctx.sparsity["distribution"] if r["mean_n"] > 0 or r["median"] > 0]
    bad = [r["tau"] for r in rows if not r["mean_n"] > r["median"]]
    return Measured(not bad, f"mean <= median at tau = {bad}" if bad else "mean > median at every tau with counts")


@measure("never_active")
def _never_active(ctx, cls, field):
    na = ctx.sparsity["never_active"]
    key = "total" if cls == "all" else cls
    cnt, of = na[key], na["of"][key]
    occ = na.get("occurring") or {}
    note = ""
    if cls in ("Wx", "Wy") and f"{cls}_of" in occ:  # DEFINITIONS 1.6 corrected variant
        note = (f"corrected (only the {occ['input_bytes' if cls == 'Wx' else 'target_bytes']} bytes that can occur): "
                f"{occ[cls]:,} of {occ[cls + '_of']:,} never active")
    if field == "count":
        return Measured(int(cnt), note)
    pct = 100.0 * cnt / of
    return Measured(pct if field == "pct" else 100.0 - pct, note)


@measure("depth_profile")
def _depth_profile(ctx, d, field):
    r = _row(ctx.sparsity["depth_profile"], "d", d, "q1_sparsity depth profile")
    return r["mean_mass"] if field == "mass" else r["fraction_of_d0"]


@measure("depth_peak")
def _depth_peak(ctx):
    return int(ctx.sparsity["structural"]["depth_profile_peak_d"])


@measure("depth_peak_exceeds_d0")
def _depth_peak_exceeds(ctx):
    f = ctx.sparsity["structural"]["depth_profile_peak_fraction"]
    return Measured(f is not None and f > 1.0, f"peak / d=0 mass = {f:.3f}" if f is not None else "")


# ---- UM isomorphism -----------------------------------------------------------------------------------

@measure("iso")
def _iso(ctx, field):
    r = ctx.iso
    if field == "isomorphic":
        return Measured(bool(r["isomorphic"]), f"{r['sign_mismatches']} sign mismatches, max |dh| = "
                                               f"{r['max_abs_diff']:.3g}, bpc RNN {r['bpc_rnn']:.6f}")
    return float(r[field])


# ---- q2 offsets, q7 PMI, factor map, counting ---------------------------------------------------------------

def _q2_note(ctx, get) -> str:
    """The same quantity under the corrected offset convention (DEFINITIONS 6.3), as a note."""
    try:
        return f"corrected convention (d = 1 flips x_t): {get(ctx.q2_corrected)}"
    except Exception:  # noqa: BLE001 - the note is optional; the paper-compatible value stands alone
        return ""


@measure("offset_hist_pct")
def _offset_hist_pct(ctx, d):
    get = lambda r: f"{_row(r['offset_histogram'], 'd', d, 'q2 offset histogram')['percent']:.2f}%"
    return Measured(_row(ctx.q2["offset_histogram"], "d", d, "q2 offset histogram")["percent"],
                    _q2_note(ctx, get))


@measure("offset_mode")
def _offset_mode(ctx):
    p = ctx.q2["histogram_peak"]
    note = _q2_note(ctx, lambda r: f"mode d = {r['histogram_peak']['d']}")
    return Measured(int(p["d"]), f"{p['count']} neurons ({p['percent']:.1f}%); {note}")


@measure("mi_greedy_pct")
def _mi_greedy_pct(ctx):
    return Measured(float(ctx.q2["mi_greedy"]["total_percent"]),
                    _q2_note(ctx, lambda r: f"{r['mi_greedy']['total_percent']:.2f}%"))


@measure("pmi_aligned")
def _pmi_aligned(ctx, d_lo, d_hi):
    r = ctx.q7
    if d_lo == 0:
        return float(r["total"]["aligned_percent"])
    return [float(_row(r["rows"], "d", d, "q7 rows")["aligned_percent"]) for d in range(d_lo, d_hi + 1)]


@measure("factor_map")
def _factor_map(ctx, pair, field, exclude=()):
    r = ctx.factor_map
    if pair == "all":
        if field == "r2":
            return float(r["overall_mean_r2"])
        return len(r["neurons"])
    ns = r["neurons"]
    if pair == "other":
        ex = {tuple(sorted(p)) for p in exclude}
        sel = [n for n in ns if tuple(sorted(n["pair"])) not in ex]
    else:
        sel = [n for n in ns if tuple(sorted(n["pair"])) == tuple(sorted(pair))]
    if field == "neurons":
        return len(sel)
    if not sel:
        raise NotAvailable("no neuron has this pair, so its mean R^2 is undefined")
    return float(np.mean([n["r2"] for n in sel]))


@measure("ladder")
def _ladder(ctx, level, field):
    levels = {"l1": "L1", "l2": "L2", "l3": "L3", "uniform": "uniform", "rnn": "rnn"}
    r = _row(ctx.ladder["rows"], "level", levels[level], "explanation ladder")
    return float(r["bpc"] if field == "bpc" else r["x_percent_eq2"])


@measure("counting")
def _counting(ctx, model, field):
    r = ctx.counting["models"][model]
    return Measured(r[field], f"offsets {r['offsets']}")


@measure("greedy_order")
def _greedy_order(ctx, n):
    return [int(d) for d in ctx.counting["greedy"]["order"][:n]]


@measure("greedy_before")
def _greedy_before(ctx, first, second):
    order = [int(d) for d in ctx.counting["greedy"]["order"]]
    if first not in order:
        return Measured(False, f"greedy order {order}")
    ok = second not in order or order.index(first) < order.index(second)
    return Measured(ok, f"greedy order {order}")


@measure("skip8_beats_rnn")
def _skip8_beats_rnn(ctx):
    b = ctx.counting["models"]["skip8"]["bpc"]
    return Measured(b < ctx.fwd.bpc, f"skip-8 {b:.4f} vs RNN {ctx.fwd.bpc:.4f} bpc (different position sets)")


# ---- knockout, keep-top-k, redux ------------------------------------------------------------------------

@measure("ko")
def _ko(ctx, rank, field):
    r = ctx.knockout
    j = int(r.order[rank])
    return j if field == "neuron" else float(r.delta[j])


@measure("cum_ko")
def _cum_ko(ctx, k):
    return ctx.cum_bpc(k)


@measure("keep_top")
def _keep_top(ctx, k, field):
    b = ctx.keep_bpc(k)
    if field == "bpc":
        return b
    return 100.0 * (8.0 - b) / (8.0 - ctx.fwd.bpc)  # DEFINITIONS 7.3: % of gain vs 8 bits (uniform)


@measure("keep_top_better")
def _keep_top_better(ctx, k):
    b = ctx.keep_bpc(k)
    return Measured(b < ctx.fwd.bpc, f"keep top {k}: {b:.4f} vs full {ctx.fwd.bpc:.4f} bpc")


@measure("keep_top_equals_full")
def _keep_top_equals_full(ctx, k):
    d = float(ctx.keep_bpc(k) - ctx.keep_bpc(ctx.H))
    return Measured(d == 0.0, f"bpc(keep {k}) - bpc(keep {ctx.H}) = {d:+.3g}")


@measure("combined")
def _combined(ctx, k, theta, field):
    return float(ctx.combined_row(k, theta)[field])


@measure("combined_improvement")
def _combined_improvement(ctx, k, theta):
    return -float(ctx.combined_row(k, theta)["delta"])


@measure("combined_better")
def _combined_better(ctx, k, theta):
    d = float(ctx.combined_row(k, theta)["delta"])
    return Measured(d < 0, f"delta = {d:+.4f} bpc")


@measure("minimal_all_better")
def _minimal_all_better(ctx):
    cfgs = [(20, 0.0), (20, 3.0), (15, 3.0), (ctx.H, 3.0), (ctx.H, 4.0)]
    ds = [float(ctx.combined_row(k, th)["delta"]) for k, th in cfgs]
    return Measured(all(d < 0 for d in ds), "deltas " + ", ".join(f"{d:+.3f}" for d in ds))


@measure("zeroable_pct")
def _zeroable_pct(ctx, matrix):
    z = ctx.zeroable(matrix)
    fw = z["first_worse"]
    nxt = (f"; next theta {fw['theta']} zeroes {fw['pct_zeroed']:.1f}% and gives {fw['bpc']:.4f} bpc" if fw else "")
    return Measured(float(z["pct_zeroed"]), f"theta = {z['theta']}, bpc {z['bpc']:.4f}{nxt}")


# ---- seed 002: sparse differentiation -------------------------------------------------------------------

@measure("grad_stats")
def _grad_stats(ctx, field):
    g = ctx.sparse_diff["gradient"]
    if field == "mean_norm":
        return float(g["mean_norm"])
    return float(g["top_share"][field[3:].split("_")[0]])


@measure("grad_top_neurons")
def _grad_top_neurons(ctx, n):
    return [int(e["neuron"]) for e in ctx.sparse_diff["gradient"]["energy_neurons"][:n]]


@measure("back_norm")
def _back_norm(ctx, k, field):
    r = _row(ctx.sparse_diff["norm_growth"], "k", k, "norm growth")
    if field == "norm":
        return Measured(float(r["mean_norm"]), f"over the {r['positions']} positions common to k = 0..8; over all "
                                               f"{r['positions_valid']} valid positions: {r['mean_norm_valid']:.4f}")
    return Measured(float(r["ratio"]), f"valid-position variant: {r['ratio_valid']:.3f}")


@measure("attr_offset")
def _attr_offset(ctx, k, field):
    return float(_row(ctx.sparse_diff["attribution"], "k", k, "attribution")[field])


@measure("example")
def _example(ctx, t, field, k=None):
    e = _row(ctx.sparse_diff["examples"], "t", t, "worked examples")
    if field == "p":
        return float(e["p_true"])
    if field == "gnorm":
        return float(e["norm"])
    if field == "top3":
        return [int(n["neuron"]) for n in e["top_neurons"][:3]]
    if field.startswith("top_g"):
        return float(e["top_neurons"][int(field[5:])]["g"])
    if field == "best_k":
        s = e["strongest_signed"]
        return Measured(int(s["k"]), f"byte {s['char']!r}, attr {s['attr']:+.4f}")
    if field == "attr":
        return float(_row(e["offsets"], "k", k, "example offsets")["attr"])
    raise KeyError(field)


# ---- seed 003 §5: carrier / pattern ---------------------------------------------------------------------------

@measure("carrier")
def _carrier(ctx, field):
    t = ctx.carrier["table2"]
    H = ctx.H
    vals = {"ps_mean": t["mean_pattern_sensitive"], "cd_mean": t["mean_carrier_determined"],
            "pattern_pct": 100.0 * t["fraction_pattern_sensitive"],
            "carrier_pct": 100.0 * t["mean_carrier_determined"] / H,
            "actual_bpc": t["actual_bpc"], "carrier_bpc": t["carrier_only_bpc"], "pattern_gain": t["pattern_gain"],
            "pattern_frac_pct": 100.0 * t["byte_identity_fraction"]}
    return float(vals[field])


@measure("carrier_ratio")
def _carrier_ratio(ctx):
    t = ctx.carrier["table2"]
    return float(t["carrier_only_bpc"] / t["actual_bpc"])


@measure("carrier_ps_neuron")
def _carrier_ps_neuron(ctx, rank, field):
    e = ctx.carrier["table2"]["top_sensitive"][rank]
    return int(e["neuron"] if field == "neuron" else e["positions"])


@measure("carrier_xpct")
def _carrier_xpct(ctx):
    c = ctx.carrier["table2"]["carrier_only_bpc"]
    return 100.0 * (8.0 - c) / (8.0 - ctx.fwd.bpc)


@measure("influence")
def _influence(ctx, d_lo, d_hi, field):
    rows = [r for r in ctx.carrier["table3"]["rows"] if d_lo <= r["d"] <= d_hi]
    if len(rows) != d_hi - d_lo + 1:
        raise NotAvailable(f"influence rows for d = {d_lo}..{d_hi} not computed")
    return float(np.mean([r[field] for r in rows]))


@measure("decomp")
def _decomp(ctx, field):
    d = ctx.carrier["decomposition"]
    wb = d["with_bias"]
    if field == "top_neuron":
        return int(d["top_neurons"][0]["neuron"])
    if field == "top_contrib":
        return float(d["top_neurons"][0]["wy_dh"])
    if field == "carrier_cost":
        return float(d["carrier_only_bits"])
    part, kind = field.rsplit("_", 1)
    nb = d.get("without_bias") or {}
    if kind == "logit":
        note = f"without the output bias: {nb[part]:+.3f}" if part in nb else ""
        return Measured(float(wb[part]), note)
    if part == "total":
        return 1.0
    key = f"{part}_fraction"
    return Measured(float(wb[key]), f"without the output bias: {100 * nb[key]:.1f}%" if key in nb else "")


# ---- sign automaton: cascades, cycles ----------------------------------------------------------------------

@measure("bool_sensitivity")
def _bool_sensitivity(ctx):
    r = ctx.memo("flip_sens", lambda: boolean_figures.flip_sensitivity_paper(ctx.automaton("f32-seq"), ctx.xs, t=42))
    return float(r["mean_sensitivity"])


@measure("attractor_cycles")
def _attractor_cycles(ctx, field):
    if ctx.xs.shape[0] <= 42:
        raise NotAvailable("the text has no byte x_42")
    r = ctx.memo("attractor", lambda: boolean_figures.paper_attractor_search(ctx.automaton("f32-seq"), int(ctx.xs[42])))
    n = int(r["fixed_points_reached"]) + (1 if r["cycle_period"] else 0)
    return Measured(n, f"{r['fixed_points_reached']} of 50 trials reached a fixed point within 100 steps; "
                       f"cycle period after warm-up: {r['cycle_period'] or 'none <= 100'}")


# ---- margins, saturation, co-flip, justification (issue 3 / 6 / 7 modules) -----------------------------

@measure("margins")
def _margins(ctx, field):
    r = ctx.margins
    sm = margins.MarginSummary.of(r)
    if field == "pct_ge_1":
        return 100.0 - sm.small_pct
    if field == "pct_small":
        return sm.small_pct
    if field == "pct_tiny":
        return sm.tiny_pct
    if field == "mean":
        return Measured(sm.mean_margin, f"median {sm.median_margin:.3g}, min {sm.min_margin:.3g}")
    if field == "delta_max":
        return float(r["mantissa"]["delta_max"])
    if field == "mean_over_delta":
        return sm.mean_margin / float(r["mantissa"]["delta_max"])
    low = r["per_neuron_lowest"][0]
    if field == "min_mean_neuron":
        return Measured(int(low["neuron"]), f"mean margin {low['mean']:.3g}")
    if field == "min_mean":
        return Measured(float(low["mean"]), f"h{low['neuron']}")
    raise KeyError(field)


@measure("sign_dyn_gain")
def _sign_dyn_gain(ctx):
    """bpc(float32 forward) - bpc(sign-only dynamics from all -1, f32-seq step): positive = sign is better."""
    b = ctx.boolean["dynamics"]["bpc"]
    return Measured(float(ctx.fwd.bpc - b), f"sign dynamics {b:.4f} vs float {ctx.fwd.bpc:.4f} bpc")


@measure("saturation")
def _saturation(ctx, field):
    s = saturation.SaturationSummary.of(ctx.saturation)
    if field == "n_volatile":
        return int(s.class_counts["volatile"])
    if field == "mean_dwell":
        return Measured(float(s.mean_dwell), f"corrected (all closed dwells): {s.mean_dwell_all:.3f}")
    if field == "max_flips_neuron":
        return Measured(s.most_volatile, f"{s.most_volatile_flips} flips")
    if field == "max_flips":
        return s.most_volatile_flips
    raise KeyError(field)


@measure("coflip")
def _coflip(ctx, field):
    r = ctx.coflip
    best = max(r["top_pairs"], key=lambda p: p["jaccard"])
    return Measured(float(best["jaccard"]), f"pair h{best['a']}-h{best['b']}, {best['coflips']} co-flips; "
                                            f"over all pairs max {r['max_jaccard']['jaccard']:.3f}")


@measure("justify_driver")
def _justify_driver(ctx, field):
    r = ctx.justify
    ranked = r["backbone"]["rank1"]
    top = ranked[0]
    tied = [e["neuron"] for e in ranked if e["count"] == top["count"]]
    note = f"over {len(r['positions'])} positions" + (f"; tied: {[f'h{j}' for j in tied]}" if len(tied) > 1 else "")
    return Measured(int(top["neuron"] if field == "neuron" else top["count"]), note)
