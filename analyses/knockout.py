"""Readout knockout, kept subsets, sign-only readout and pruning tables (DEFINITIONS 7 q3_neurons, 8 q5_redux).

All bpc values are means over the n-1 predictions (DEFINITIONS 0.5) and identical to rerunning the float32
reference forward with the modified model (`automaton.redux`). Rankings use a stable sort (DEFINITIONS 0.9);
exact ties among ranking keys are reported under "ties" because the ranking feeds later computations
(cumulative and kept subsets).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from satrnn.automaton.redux import ReadoutCache, Redux, evaluate_many, shrink
from satrnn.rnn import elementary as em
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.text import display_byte

# The grids of the reference programs (DEFINITIONS 7.2, 7.3, 8.2).
PRINTED_CUMULATIVE_K = tuple(range(0, 21)) + tuple(range(30, 121, 10)) + (128,)
PRINTED_KEEP_K = tuple(range(1, 21)) + tuple(range(30, 121, 10)) + (128,)
PRUNE_THETAS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0, 10.0)
COMBINED_K = (5, 10, 15, 20, 30, 128)
COMBINED_THETAS = (0.0, 1.0, 2.0, 3.0)
PERCENTILES = (10, 25, 50, 75, 90, 95, 99)
REDUX_K, REDUX_THETA = 15, 2.0  # DEFINITIONS 8.4's hard-coded redux
UNIFORM_BITS = 8.0


def _seq_sum(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """Sum in index order (np.cumsum is sequential; np.sum is pairwise and may round differently)."""
    a = np.asarray(a, dtype=np.float64)
    return np.cumsum(a, axis=axis).take(-1, axis=axis)


def tie_groups(keys: np.ndarray, order: np.ndarray) -> list[list[int]]:
    """Groups (of >= 2 ids, in rank order) whose ranking keys are exactly equal."""
    groups, cur = [], [int(order[0])] if len(order) else []
    for a in order[1:]:
        if keys[a] == keys[cur[-1]]:
            cur.append(int(a))
        else:
            if len(cur) > 1:
                groups.append(cur)
            cur = [int(a)]
    if len(cur) > 1:
        groups.append(cur)
    return groups


def rank_desc(keys: np.ndarray) -> np.ndarray:
    """Ids sorted by key descending, stable (equal keys keep ascending id order)."""
    return np.argsort(-np.asarray(keys), kind="stable")


def wy_column_norms(model: ElmanRNN) -> np.ndarray:
    """|Wy col|(j) = sqrt(sum_o dbl(fl32(Wy[o, j]^2))), the double sum in o order (DEFINITIONS 7.1)."""
    sq = (model.Wy * model.Wy).astype(np.float32)
    return np.sqrt(_seq_sum(sq, axis=0))


def promotes_demotes(model: ElmanRNN, j: int, n: int = 5) -> dict:
    """The n bytes with the largest Wy[o, j] (descending) and the n smallest (ascending) (DEFINITIONS 7.5)."""
    col = model.Wy[:, j]
    up = np.argsort(-col, kind="stable")[:n]
    down = np.argsort(col, kind="stable")[:n]
    f = lambda idx: [{"byte": int(o), "char": display_byte(int(o)), "weight": float(col[o])} for o in idx]
    return {"promotes": f(up), "demotes": f(down)}


def unigram_entropy(xs: np.ndarray) -> float:
    """Entropy in bits of the empirical distribution of the predicted bytes x_1..x_{n-1} (a corrected
    'no model' reference for the percentage of gain)."""
    c = np.bincount(np.asarray(xs[1:], dtype=np.int64), minlength=256).astype(np.float64)
    p = c[c > 0] / c.sum()
    return float(-(p * em.log2(p)).sum())


# ---- q3_neurons --------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class NeuronKnockout:
    """Single-neuron readout knockout (DEFINITIONS 7.1). baseline_bpc: bits per character of the unmodified
    model; bpc_ko, delta (= bpc_ko - baseline), wy_col_norm, mean_abs_h: (H,) float64 per neuron j; order:
    (H,) int, neurons by delta descending (stable, pi); rank: (H,) int, r(j) (rank[order] = 0..H-1); ties:
    groups of neurons with exactly equal delta, in rank order; exact_cell_fraction: fraction of logit cells
    the readout cache evaluated exactly."""
    baseline_bpc: float
    bpc_ko: np.ndarray
    delta: np.ndarray
    order: np.ndarray
    rank: np.ndarray
    wy_col_norm: np.ndarray
    mean_abs_h: np.ndarray
    ties: list
    exact_cell_fraction: float

    def to_json(self) -> dict:
        """The per-neuron arrays and ties as `satrnn knockout --json` prints them (key `knockout`)."""
        return {"order": self.order, "rank": self.rank, "bpc_ko": self.bpc_ko, "delta": self.delta,
                "wy_col_norm": self.wy_col_norm, "mean_abs_h": self.mean_abs_h, "ties": self.ties}


def neuron_knockout(model: ElmanRNN, xs, cache: ReadoutCache | None = None, on_chunk=None) -> NeuronKnockout:
    """Single-neuron readout knockout (DEFINITIONS 7.1), exact (see NeuronKnockout)."""
    cache = cache or ReadoutCache(model, xs)
    B = cache.baseline
    bpc_ko = cache.knockout_bpcs(on_chunk=on_chunk)
    delta = bpc_ko - B
    order = rank_desc(delta)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    mean_abs_h = _seq_sum(np.abs(cache.hs).astype(np.float64), axis=0) / cache.hs.shape[0]
    return NeuronKnockout(baseline_bpc=B, bpc_ko=bpc_ko, delta=delta, order=order, rank=rank,
                          wy_col_norm=wy_column_norms(model), mean_abs_h=mean_abs_h, ties=tie_groups(delta, order),
                          exact_cell_fraction=cache.exact_fraction)


def _ks(H: int, ks) -> np.ndarray:
    """The k values to evaluate: 0..H, or the given ones (sorted, distinct, those in 0..H)."""
    if ks is None:
        return np.arange(H + 1)
    return np.array(sorted({int(k) for k in ks if 0 <= int(k) <= H}), dtype=np.int64)


def cumulative_removal(cache: ReadoutCache, order: np.ndarray, ks=None) -> dict:
    """bpc with the Wy columns of order[0..k-1] zeroed (DEFINITIONS 7.2), for k = 0..H or the given ks;
    `bpc[i]` and `delta[i]` belong to `k[i]` (`at(result, k)` reads one)."""
    H = cache.H
    k_arr = _ks(H, ks)
    keep = np.ones((k_arr.size, H), dtype=bool)
    for i, k in enumerate(k_arr):
        keep[i, order[:k]] = False
    bpc = cache.bpcs(keep)
    return {"k": k_arr, "bpc": bpc, "delta": bpc - cache.baseline}


def keep_top_k(cache: ReadoutCache, order: np.ndarray, xs, ks=None) -> dict:
    """bpc keeping only the Wy columns of order[0..k-1] (DEFINITIONS 7.3), for k = 0..H or the given ks;
    values at index i belong to `k[i]`.

    pct_of_gain = 100 (8 - bpc) / (8 - B) (paper-compatible, 8-bit reference); pct_of_gain_unigram uses
    the unigram entropy of the predicted bytes as the reference instead (corrected variant).
    """
    H = cache.H
    k_arr = _ks(H, ks)
    keep = np.zeros((k_arr.size, H), dtype=bool)
    for i, k in enumerate(k_arr):
        keep[i, order[:k]] = True
    bpc = cache.bpcs(keep)
    B = cache.baseline
    U = unigram_entropy(xs)
    return {"k": k_arr, "bpc": bpc, "pct_of_gain": 100.0 * (UNIFORM_BITS - bpc) / (UNIFORM_BITS - B),
            "unigram_bits": U, "pct_of_gain_unigram": 100.0 * (U - bpc) / (U - B)}


def sign_only(cache: ReadoutCache, rank: np.ndarray) -> dict:
    """Per-neuron sign-only readout (DEFINITIONS 7.4): sd(j) = bpc with h_j -> sign(h_j) minus B.

    order ranks |float32(sd)| descending (stable); ties lists equal-key groups.
    """
    sd = cache.sign_only_bpcs() - cache.baseline
    key = np.abs(sd.astype(np.float32))
    order = rank_desc(key)
    return {"sd": sd, "bpc": cache.baseline + sd, "abs_sd_f32": key, "order": order,
            "knockout_rank": rank, "ties": tie_groups(key, order)}


def at(table: dict, k: int, field: str = "bpc") -> float | None:
    """table[field] at k for a cumulative_removal / keep_top_k result (None when k was not evaluated)."""
    i = int(np.searchsorted(table["k"], k))
    return float(table[field][i]) if i < table["k"].size and table["k"][i] == k else None


def neurons_report(model: ElmanRNN, xs, cache: ReadoutCache | None = None, top: int = 10,
                   on_stage=None, knockout: NeuronKnockout | None = None, ks=None) -> dict:
    """Everything q3_neurons prints, computed exactly (DEFINITIONS 7.1-7.5). `knockout`: the
    `neuron_knockout` of this model and text, when already computed; `ks`: the k values of cumulative
    removal and keep-top-k (default 0..H)."""
    stage = on_stage or (lambda name: None)
    cache = cache or ReadoutCache(model, xs)
    stage("knockout")
    ko = knockout if knockout is not None else neuron_knockout(model, xs, cache)
    stage("cumulative")
    cum = cumulative_removal(cache, ko.order, ks)
    stage("keep-top-k")
    keep = keep_top_k(cache, ko.order, xs, ks)
    stage("sign-only")
    so = sign_only(cache, ko.rank)
    roles = [{"neuron": int(j), **promotes_demotes(model, int(j))} for j in ko.order[:top]]
    return {"H": model.H, "predictions": int(cache.hs.shape[0]), "baseline_bpc": ko.baseline_bpc,
            "knockout": ko, "cumulative": cum, "keep_top_k": keep, "sign_only": so, "top_neurons": roles}


# ---- q5_redux ----------------------------------------------------------------------------------

def weight_distribution(W: np.ndarray) -> dict:
    """|W| percentiles a[floor(p N / 100)] of the ascending float32 magnitudes, min, max, double mean
    (DEFINITIONS 8.3)."""
    a = np.sort(np.abs(np.asarray(W, dtype=np.float32)).ravel())
    N = a.size
    pct = {int(p): float(a[(p * N) // 100]) for p in PERCENTILES}
    return {"n": int(N), "percentiles": pct, "min": float(a[0]), "max": float(a[-1]),
            "mean": float(_seq_sum(a.astype(np.float64)) / N)}


def _keep_ids(order: np.ndarray, k: int) -> np.ndarray:
    return np.sort(np.asarray(order[:k]))


def pruning_reduxes(order: np.ndarray, H: int) -> dict[str, list[Redux]]:
    """The q5 configuration grids (DEFINITIONS 8.2) plus the configurations of seed 001's minimal-model
    table, as Redux descriptions."""
    wh = [Redux(wh_threshold=t, label=f"Wh<{t}") for t in PRUNE_THETAS]
    wx = [Redux(wx_threshold=t, label=f"Wx<{t}") for t in PRUNE_THETAS]
    comb = [Redux(keep=_keep_ids(order, k), wh_threshold=t, label=f"top{k}+Wh<{t}")
            for k in COMBINED_K if k <= H for t in COMBINED_THETAS]
    synth = [Redux(keep=_keep_ids(order, 20), label="top20"),
             Redux(keep=_keep_ids(order, 20), wh_threshold=3.0, label="top20+Wh<3"),
             Redux(keep=_keep_ids(order, 15), wh_threshold=3.0, label="top15+Wh<3"),
             Redux(wh_threshold=3.0, label="Wh<3"),
             Redux(wh_threshold=4.0, label="Wh<4")]
    return {"wh": wh, "wx": wx, "combined": comb, "synthesis": synth}


def redux_report(model: ElmanRNN, xs, cache: ReadoutCache | None = None, order: np.ndarray | None = None,
                 on_done=None) -> dict:
    """Everything q5_redux prints (DEFINITIONS 8.1-8.4), plus seed 001's minimal-model configurations.

    Keys: baseline_bpc; knockout_top10 [(neuron, delta)]; wh_pruning / wx_pruning rows (theta, n_zeroed,
    pct_zeroed, bpc, delta); combined rows (k, theta, wy_pct_kept, wh_kept, wh_pct_kept, bpc, delta);
    weight_distribution (|Wh|); param_count (k=15, theta=2.0); synthesis rows (label, bpc, delta,
    params per 8.4's rule, live neurons and parameters of the shrunk model); ties in the ranking.
    """
    cache = cache or ReadoutCache(model, xs)
    if order is None:
        ko = neuron_knockout(model, xs, cache)
        order, delta, ties = ko.order, ko.delta, ko.ties
    else:
        delta, ties = None, []
    B = cache.baseline
    grids = pruning_reduxes(order, model.H)
    allr = [r for g in grids.values() for r in g]
    bpcs = evaluate_many(model, xs, allr, cache=cache, on_done=on_done)
    it = iter(bpcs)
    out = {"baseline_bpc": B, "H": model.H, "ties": ties}
    if delta is not None:
        out["knockout_top10"] = [{"neuron": int(j), "delta": float(delta[j])} for j in order[:10]]
    for name, n_total in (("wh", model.Wh.size), ("wx", model.Wx.size)):
        rows = []
        for r in grids[name]:
            b = next(it)
            kept = int((r.wh_keep(model) if name == "wh" else r.wx_keep(model)).sum())
            rows.append({"theta": r.wh_threshold if name == "wh" else r.wx_threshold,
                         "n_zeroed": n_total - kept, "pct_zeroed": 100.0 * (n_total - kept) / n_total,
                         "bpc": float(b), "delta": float(b - B)})
        out[f"{name}_pruning"] = rows
    rows = []
    for r in grids["combined"]:
        b = next(it)
        k = int(r.keep_mask(model.H).sum())
        whk = int(r.wh_keep(model).sum())
        rows.append({"k": k, "theta": r.wh_threshold, "wy_pct_kept": 100.0 * k / model.H, "wh_kept": whk,
                     "wh_pct_kept": 100.0 * whk / model.Wh.size, "bpc": float(b), "delta": float(b - B),
                     "params": r.param_count(model)["total"]})
    out["combined"] = rows
    rows = []
    for r in grids["synthesis"]:
        b = next(it)
        small = shrink(model, r)
        rows.append({"label": r.label, "k": int(r.keep_mask(model.H).sum()), "wh_threshold": r.wh_threshold,
                     "bpc": float(b), "delta": float(b - B), "params": r.param_count(model)["total"],
                     "live_neurons": len(small.meta["neuron_ids"]),
                     "shrunk_params_nonzero": int(sum(int(np.count_nonzero(a)) for a in small.arrays().values())),
                     "shrunk_params_stored": small.n_params})
    out["synthesis"] = rows
    out["weight_distribution"] = weight_distribution(model.Wh)
    full = model.n_params
    pc = Redux(keep=_keep_ids(order, REDUX_K), wh_threshold=REDUX_THETA).param_count(model)
    out["param_count"] = {"k": REDUX_K, "theta": REDUX_THETA, **pc, "full": full}
    return out


def parse_keep(spec: str | None, order: np.ndarray, keep_top: int | None, H: int) -> np.ndarray | None:
    """Kept readout neurons from --keep-top K (knockout ranking) and/or --keep 'ids'. None = all."""
    ids = set()
    if keep_top is not None:
        if not 0 <= keep_top <= H:
            raise SatrnnInputError(f"--keep-top must be between 0 and {H}, got {keep_top}")
        ids.update(int(j) for j in order[:keep_top])
    if spec:
        for part in spec.replace(",", " ").split():
            try:
                j = int(part.lstrip("h"))
            except ValueError:
                raise SatrnnInputError(f"--keep: not a neuron id: {part!r}") from None
            if not 0 <= j < H:
                raise SatrnnInputError(f"--keep: neuron {j} outside 0..{H - 1}")
            ids.add(j)
    if keep_top is None and not spec:
        return None
    return np.array(sorted(ids), dtype=np.int64)
