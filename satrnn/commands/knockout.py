"""`satrnn knockout MODEL TEXT`: single-neuron readout knockout, cumulative removal, keep-top-k, sign-only
(DEFINITIONS 7, q3_neurons). Every bpc is exact (identical to rerunning the forward with the column zeroed).

Two units: the knockout ranking (`analyses.knockout.neuron_knockout` -> `NeuronKnockout`, with the ledger's
knockout, keep-top-k, cumulative-removal and redux measurements) and q3_neurons (`neurons_report` ->
`NeuronsReport`, drawn by `render.knockout`, the report's section "knockout")."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.console import Group

from satrnn import options as o
from satrnn.analyses.knockout import (
    PRINTED_CUMULATIVE_K,
    PRINTED_KEEP_K,
    PRUNE_THETAS,
    NeuronKnockout,
    NeuronsReport,
    neuron_knockout,
    neurons_report,
)
from satrnn.automaton import redux
from satrnn.automaton.redux import ReadoutCache
from satrnn.cache import Results
from satrnn.clikit import check_int, console, emit_json, load_model_text_args, progress
from satrnn.figures import hook
from satrnn.ledger.claims import Measured
from satrnn.report import render
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.record import Record
from satrnn.unit import Analysis, Command, Section

# The k values of cumulative removal and keep-top-k that the report shows (its knockout table and section).
REPORT_KS = tuple(sorted(set(PRINTED_CUMULATIVE_K) | set(PRINTED_KEEP_K) | {1, 5, 10, 15, 20, 30, 50, 80, 120}))


# ---- readout evaluations by k, shared by the section and the measurements ---------------------------------

def _top_mask(results: Results, k: int, keep: bool) -> np.ndarray:
    order = results.get(KNOCKOUT).order
    mask = np.full((1, results.H), not keep, dtype=bool)
    mask[0, order[:k]] = keep
    return mask


def _top_k_bpc(results: Results, table: str, k: int, keep: bool) -> float:
    """bpc with only (keep) or without (not keep) the Wy columns of the top-k knockout neurons: read from
    q3_neurons when the report computed it at that k (the same kernel, bit for bit), else evaluated alone."""
    if results.has(NEURONS):
        v = getattr(results.get(NEURONS), table).at(k)
        if v is not None:
            return v
    return results.memo((table, k), lambda: float(results.readout_cache.bpcs(_top_mask(results, k, keep))[0]))


def keep_bpc(results: Results, k: int) -> float:
    """bpc keeping only the Wy columns of the top-k knockout neurons (DEFINITIONS 7.3)."""
    return _top_k_bpc(results, "keep_top_k", k, True)


def cum_bpc(results: Results, k: int) -> float:
    """bpc with the Wy columns of the top-k knockout neurons zeroed (DEFINITIONS 7.2)."""
    return _top_k_bpc(results, "cumulative", k, False)


def combined_bpc(results: Results, k: int, theta: float) -> float:
    """bpc of 'top-k readout + Wh pruned at theta' (DEFINITIONS 8.2), evaluated on demand."""
    if theta == 0.0:
        return keep_bpc(results, k)

    def build():
        keep = [int(j) for j in results.get(KNOCKOUT).order[:k]]
        return float(redux.evaluate(results.model, results.xs, redux.Redux(keep=keep, wh_threshold=theta),
                                    cache=results.readout_cache))
    return results.memo(("combined", k, theta), build)


def redux_param_count(model: ElmanRNN, k: int, theta: float) -> int:
    """Parameters of 'top-k readout + Wh pruned at theta' by DEFINITIONS 8.4's rule."""
    kept_wh = int(np.count_nonzero(np.abs(model.Wh) >= np.float32(theta)))
    return int(model.Wx.size + kept_wh + model.bh.size + k * model.Wy.shape[0] + model.by.size)


def zeroable(results: Results, matrix: str) -> dict:
    """Walk q5's theta grid upwards (DEFINITIONS 8.2: zero |w| < theta, re-run the dynamics) and stop at
    the first theta whose bpc exceeds the full model's; the last row that did not (theta 0 prunes nothing),
    with the first that did (`first_worse`, None if none)."""
    def build():
        W = getattr(results.model, matrix)
        best = {"theta": 0.0, "pct_zeroed": 0.0, "bpc": results.fwd.bpc, "first_worse": None}
        for theta in PRUNE_THETAS:
            r = redux.Redux(wh_threshold=theta) if matrix == "Wh" else redux.Redux(wx_threshold=theta)
            kept = int((r.wh_keep(results.model) if matrix == "Wh" else r.wx_keep(results.model)).sum())
            b = float(redux.evaluate(results.model, results.xs, r, cache=results.readout_cache))
            row = {"theta": float(theta), "pct_zeroed": 100.0 * (W.size - kept) / W.size, "bpc": b}
            if b > results.fwd.bpc:
                best["first_worse"] = row
                break
            best.update(row)
        return best
    return results.memo(("zeroable", matrix), build)


# ---- the ledger's measurements ------------------------------------------------------------------------------

def _ko(results, rank, field):
    r = results.get(KNOCKOUT)
    j = int(r.order[rank])
    return j if field == "neuron" else float(r.delta[j])


def _keep_top(results, k, field):
    b = keep_bpc(results, k)
    if field == "bpc":
        return b
    return 100.0 * (8.0 - b) / (8.0 - results.fwd.bpc)  # DEFINITIONS 7.3: % of gain vs 8 bits (uniform)


def _keep_top_better(results, k):
    b = keep_bpc(results, k)
    return Measured(b < results.fwd.bpc, f"keep top {k}: {b:.4f} vs full {results.fwd.bpc:.4f} bpc")


def _keep_top_equals_full(results, k):
    d = float(keep_bpc(results, k) - keep_bpc(results, results.H))
    return Measured(d == 0.0, f"bpc(keep {k}) - bpc(keep {results.H}) = {d:+.3g}")


def _combined_delta(results, k, theta) -> float:
    return combined_bpc(results, k, theta) - results.fwd.bpc


def _combined(results, k, theta, field):
    return float(combined_bpc(results, k, theta) if field == "bpc" else _combined_delta(results, k, theta))


def _combined_better(results, k, theta):
    d = float(_combined_delta(results, k, theta))
    return Measured(d < 0, f"delta = {d:+.4f} bpc")


def _minimal_all_better(results):
    cfgs = [(20, 0.0), (20, 3.0), (15, 3.0), (results.H, 3.0), (results.H, 4.0)]
    ds = [float(_combined_delta(results, k, th)) for k, th in cfgs]
    return Measured(all(d < 0 for d in ds), "deltas " + ", ".join(f"{d:+.3f}" for d in ds))


def _zeroable_pct(results, matrix):
    z = zeroable(results, matrix)
    fw = z["first_worse"]
    nxt = (f"; next theta {fw['theta']} zeroes {fw['pct_zeroed']:.1f}% and gives {fw['bpc']:.4f} bpc" if fw else "")
    return Measured(float(z["pct_zeroed"]), f"theta = {z['theta']}, bpc {z['bpc']:.4f}{nxt}")


KNOCKOUT = Analysis(
    name="knockout", result=NeuronKnockout, figure=hook("knockout_delta"),
    compute=lambda results: neuron_knockout(results.model, results.xs, cache=results.readout_cache),
    measures={
        "ko": _ko,
        "cum_ko": lambda results, k: cum_bpc(results, k),
        "keep_top": _keep_top,
        "keep_top_better": _keep_top_better,
        "keep_top_equals_full": _keep_top_equals_full,
        "combined": _combined,
        "combined_improvement": lambda results, k, theta: -float(_combined_delta(results, k, theta)),
        "combined_better": _combined_better,
        "minimal_all_better": _minimal_all_better,
        "zeroable_pct": _zeroable_pct,
        "redux_params": lambda results, k, theta: redux_param_count(results.model, k, theta),
        "redux_params_pct": lambda results, k, theta:
            100.0 * redux_param_count(results.model, k, theta) / results.model.n_params,
        "params_minus_redux": lambda results, k, theta:
            int(results.model.n_params - redux_param_count(results.model, k, theta)),
        "wy_cols_removed": lambda results, k: int(results.H - k),
        "wy_kept_pct": lambda results, k: 100.0 * k / results.H,
    })


# ---- q3_neurons and its report section -------------------------------------------------------------------

@dataclass(frozen=True)
class ReduxRow(Record):
    """A row of the report's redux table: top-k readout (k at most H) + Wh pruned at theta, dynamics re-run:
    bpc, delta against the full model, params by DEFINITIONS 8.4's rule."""
    k: int
    theta: float
    bpc: float
    delta: float
    params: int


def _section(results: Results):
    ko = results.get(KNOCKOUT)
    neurons = results.get(NEURONS)
    keep = []
    for k in (1, 5, 10, 15, 20, 30, 50, 80, 120, results.H):
        if k > results.H:
            continue
        b = keep_bpc(results, k)
        keep.append({"k": k, "bpc": b, "pct_of_gain": 100.0 * (8.0 - b) / (8.0 - results.fwd.bpc)})
    rows = []
    for k, th in ((15, 2.0), (20, 1.0), (results.H, 0.5)):
        kk = min(k, results.H)
        b = combined_bpc(results, kk, th)
        rows.append(ReduxRow(k=k, theta=th, bpc=b, delta=b - results.fwd.bpc,
                             params=redux_param_count(results.model, kk, th)))
    data = {"knockout_top10": [{"neuron": int(j), "delta": float(ko.delta[j])} for j in ko.order[:10]],
            "baseline_bpc": results.fwd.bpc, "keep_top_k": keep, "redux": [r.as_dict() for r in rows]}
    return Group(render.knockout(neurons, top=10, sign_top=10), render.redux_table(rows)), data


NEURONS = Analysis(
    name="neurons", result=NeuronsReport, figure=hook("keep_top_k"),
    compute=lambda results: neurons_report(results.model, results.xs, results.readout_cache,
                                           knockout=results.get(KNOCKOUT), ks=REPORT_KS + (results.H,)),
    render=render.knockout,
    options=(o.TOP.but(help="neurons shown in the ranking table (default 30)"),),
    section=Section("knockout", "Knockout and redux", _section))


def run(args) -> int:
    model, xs = load_model_text_args(args)
    top = check_int("--top", args.top, 1, model.H)
    with progress() as pb:
        task = pb.add_task("forward + logits", total=4)
        cache = ReadoutCache(model, xs)
        pb.update(task, description="knockout")
        rep = neurons_report(model, xs, cache, on_stage=lambda s: (pb.update(task, description=s),
                                                                    pb.advance(task)))
    if args.json:
        ko, so = rep.knockout, rep.sign_only
        emit_json({"baseline_bpc": rep.baseline_bpc, "H": model.H, "predictions": rep.predictions,
                   "exact_cell_fraction": ko.exact_cell_fraction, "knockout": ko,
                   "cumulative": rep.cumulative, "keep_top_k": rep.keep_top_k,
                   "sign_only": {"sd": so.sd, "bpc": so.bpc, "order": so.order, "ties": so.ties},
                   "top_neurons": rep.top_neurons})
        return 0
    console.print(render.knockout(rep, top))
    return 0


COMMAND = Command("knockout", "readout knockout ranking, cumulative removal, keep-top-k, sign-only (q3)", run,
                  options=(o.MODEL_TEXT, NEURONS.options, o.JSON), units=(KNOCKOUT, NEURONS))
