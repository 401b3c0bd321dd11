"""Factor map, Table 1 and the explanation ladder (DEFINITIONS Part II sections 1-3; seed 003 section 3.3).

Alignment: h_t is the state after reading x_t; a factor-map "offset d" is the byte x_{t-d} relative to h_t
(so d = 1 is the byte before the current input, d + 1 bytes before the predicted byte x_{t+1}).
Analysis window T = {t : max(offsets) <= t <= N-1}; bpc window T' = T without N-1 (predicting x_{t+1}).

Paper-compatible (factor_map2.c / factor_map4.c): continuous target h_j[t], offsets
Omega = (1, 8, 20, 3, 27, 2, 12, 7), in-sample cell-mean R^2 (the correlation ratio). Labelled corrected
variants: sign target (the seed says sign(h_j)), Omega shifted by -1 (UM offsets: includes the current byte),
leave-one-out R^2, and a time-permutation null that keeps the cells and permutes h_j over T.
"""
from __future__ import annotations

import math

import numpy as np

from satrnn.rnn import elementary as em
from satrnn.rnn.elementary import exp_f32, log2_f64
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, forward, sequential_mean
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit, njit_parallel, prange

OMEGA = (1, 8, 20, 3, 27, 2, 12, 7)
TARGETS = ("continuous", "sign")
LADDER_COST_FLOOR = 1e-10
WL_CAP = 15
WHITESPACE = (0x20, 0x0A, 0x09)       # CR is not whitespace here


def omega_pairs(offsets=OMEGA) -> list[tuple[int, int]]:
    """All unordered pairs in list-index order, labelled in list order ((8, 2) denotes {2, 8})."""
    return [(offsets[i], offsets[k]) for i in range(len(offsets)) for k in range(i + 1, len(offsets))]


def dense_cells(*codes) -> tuple[np.ndarray, int]:
    """Dense cell ids (0..ncell-1) of the joint value of integer code arrays of equal length."""
    key = np.zeros(codes[0].shape[0], dtype=np.int64)
    for c in codes:
        c = np.asarray(c, dtype=np.int64)
        _, key = np.unique(key * (int(c.max()) + 1 if c.size else 1) + c, return_inverse=True)
        key = key.astype(np.int64).ravel()
    return key, int(key.max()) + 1 if key.size else 0


@njit_parallel
def _r2_kernel(inv, ncell, Y, r2, r2_loo):
    """Per column j of Y (m, J) float64: in-sample cell-mean R^2 and leave-one-out R^2.

    Cell sums and all residual sums run in t order, so two offset pairs that induce the same partition
    give bit-identical R^2 (an exact tie then goes to the earlier pair). Leave-one-out prediction:
    (S_c - y_t)/(n_c - 1), or the mean of the other m-1 points when t is alone in its cell.
    """
    m = Y.shape[0]
    for j in prange(Y.shape[1]):
        s = np.zeros(ncell)
        cnt = np.zeros(ncell, dtype=np.int64)
        tot = 0.0
        for t in range(m):
            s[inv[t]] += Y[t, j]
            cnt[inv[t]] += 1
            tot += Y[t, j]
        mean = tot / m
        sst = 0.0
        ssr = 0.0
        ssl = 0.0
        for t in range(m):
            c = inv[t]
            y = Y[t, j]
            e = y - s[c] / cnt[c]
            ssr += e * e
            g = y - mean
            sst += g * g
            if cnt[c] > 1:
                el = y - (s[c] - y) / (cnt[c] - 1)
            else:
                el = y - (tot - y) / (m - 1)
            ssl += el * el
        if sst > 0.0:
            r2[j] = 1.0 - ssr / sst
            r2_loo[j] = 1.0 - ssl / sst
        else:
            r2[j] = np.nan
            r2_loo[j] = np.nan


def cell_r2(cells: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(in-sample R^2, leave-one-out R^2) per column of Y for the categorical cells (m,)."""
    inv, ncell = dense_cells(cells)
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    r2 = np.empty(Y.shape[1])
    loo = np.empty(Y.shape[1])
    if Y.shape[0] < 2:
        raise SatrnnInputError("R^2 needs at least 2 positions")
    _r2_kernel(inv, ncell, Y, r2, loo)
    return r2, loo


def _window(xs, offsets) -> np.ndarray:
    n = xs.shape[0]
    lo = max(offsets)
    if lo > n - 2:
        raise SatrnnInputError(f"text of {n} bytes is too short for offsets up to {lo}")
    return np.arange(lo, n, dtype=np.int64)


def _targets(hs: np.ndarray, T: np.ndarray, target: str) -> np.ndarray:
    if target not in TARGETS:
        raise SatrnnInputError(f"unknown factor-map target {target!r} (use continuous or sign)")
    Y = hs[T].astype(np.float64)
    return Y if target == "continuous" else np.where(Y >= 0, 1.0, -1.0)


def pair_r2_matrix(xs, hs, offsets=OMEGA, target: str = "continuous", perm=None):
    """R^2 of every offset pair for every neuron: (in-sample (P, H), leave-one-out (P, H), pairs, T).

    `perm` (optional permutation of range(|T|)) permutes the targets in time (the null)."""
    xs = as_bytes(xs)
    T = _window(xs, offsets)
    Y = _targets(hs, T, target)
    if perm is not None:
        Y = Y[perm]
    pairs = omega_pairs(offsets)
    x = xs.astype(np.int64)
    R = np.empty((len(pairs), Y.shape[1]))
    L = np.empty_like(R)
    for k, (a, b) in enumerate(pairs):        # 28 pairs; the kernel is vectorised over positions
        R[k], L[k] = cell_r2(x[T - a] * 256 + x[T - b], Y)
    return R, L, pairs, T


def _first_strict_argmax(R: np.ndarray) -> np.ndarray:
    """Per column, the first row attaining the maximum (a strict '>' scan in list order)."""
    return np.argmax(np.where(np.isnan(R), -np.inf, R), axis=0)


def factor_map(model: ElmanRNN, xs, offsets=OMEGA, target: str = "continuous", null_perms: int = 0,
               seed: int = 0, hs=None) -> dict:
    """Per neuron the best offset pair and its R^2 (DEFINITIONS Part II 2), Table 1, and diagnostics.

    Keys: neurons (pair, r2, r2_loo_at_pair), table (all pair groups by count), table_paper_shape (top 5 +
    merged Other), overall_mean_r2, overall_mean_r2_loo, null (time-permutation null: mean best-pair R^2).
    """
    xs = as_bytes(xs)
    hs = forward(model, xs).hs if hs is None else hs
    R, L, pairs, T = pair_r2_matrix(xs, hs, offsets, target)
    best = _first_strict_argmax(R)
    H = R.shape[1]
    r2 = R[best, np.arange(H)]
    loo = L[best, np.arange(H)]
    neurons = [{"neuron": j, "pair": list(pairs[best[j]]), "r2": float(r2[j]), "r2_loo_at_pair": float(loo[j]),
                "r2_loo_best_pair": float(np.nanmax(L[:, j]))} for j in range(H)]
    groups = {}
    for j in range(H):
        groups.setdefault(int(best[j]), []).append(j)
    order = sorted(groups, key=lambda k: (-len(groups[k]), k))
    table = [{"pair": list(pairs[k]), "neurons": len(groups[k]), "mean_r2": float(np.mean(r2[groups[k]])),
              "mean_r2_loo": float(np.mean(loo[groups[k]]))} for k in order]
    named, rest = order[:5], order[5:]
    shape = [dict(r) for r in table[:5]]
    if rest:
        js = [j for k in rest for j in groups[k]]
        shape.append({"pair": "Other", "neurons": len(js), "mean_r2": float(np.mean(r2[js])),
                      "groups": len(rest),
                      "mean_of_group_means": float(np.mean([np.mean(r2[groups[k]]) for k in rest]))})
    out = {"definition": "factor_map2 (DEFINITIONS Part II 2)", "target": target, "offsets": list(offsets),
           "window": [int(T[0]), int(T[-1])], "positions": int(T.size),
           "cells_per_pair_mean": float(np.mean([np.unique(xs[T - a].astype(np.int64) * 256 + xs[T - b]).size
                                                 for a, b in pairs])),
           "neurons": neurons, "table": table, "table_paper_shape": shape,
           "named_pairs": [list(pairs[k]) for k in named],
           "overall_mean_r2": float(np.mean(r2)), "overall_mean_r2_loo": float(np.mean(loo)),
           "overall_mean_r2_loo_best_pair": float(np.mean(np.nanmax(L, axis=0)))}
    if null_perms > 0:
        rng = np.random.default_rng(seed)
        means = []
        for _ in range(null_perms):
            Rp, _, _, _ = pair_r2_matrix(xs, hs, offsets, target, perm=rng.permutation(T.size))
            means.append(float(np.mean(np.nanmax(Rp, axis=0))))
        out["null"] = {"seed": seed, "permutations": null_perms, "mean_best_pair_r2": float(np.mean(means)),
                       "per_permutation": means,
                       "description": "h_j permuted over T (same permutation for all neurons), same cells, "
                                      "best of the same pairs"}
    return out


# ---- explanation ladder (factor_map4.c) ------------------------------------------------------------

def word_length(xs) -> np.ndarray:
    """wl[t] = min(counter, 15) after x_t; the counter resets to 0 on space, LF or TAB, else increments."""
    xs = as_bytes(xs)
    ws = np.isin(xs, WHITESPACE)
    idx = np.arange(xs.shape[0])
    last_ws = np.maximum.accumulate(np.where(ws, idx, -1))
    return np.minimum(idx - last_ws, WL_CAP).astype(np.int64)   # no whitespace yet: counts from -1


def in_tag(xs) -> np.ndarray:
    """it[t] = 1 after '<', 0 after '>', unchanged otherwise (flag after processing x_t; no nesting)."""
    xs = as_bytes(xs)
    ev = np.where(xs == ord("<"), 1, np.where(xs == ord(">"), 0, -1))
    idx = np.arange(xs.shape[0])
    last = np.maximum.accumulate(np.where(ev >= 0, idx, -1))
    return np.where(last >= 0, ev[np.maximum(last, 0)], 0).astype(np.int64)


@njit
def _cell_predict(inv, ncell, y, pred, pred_loo):
    """In-sample cell mean of y and the leave-one-out cell mean (NaN for a singleton cell), t order."""
    m = y.shape[0]
    s = np.zeros(ncell)
    cnt = np.zeros(ncell, dtype=np.int64)
    for t in range(m):
        s[inv[t]] += y[t]
        cnt[inv[t]] += 1
    for t in range(m):
        c = inv[t]
        pred[t] = s[c] / cnt[c]
        pred_loo[t] = (s[c] - y[t]) / (cnt[c] - 1) if cnt[c] > 1 else np.nan


@njit_parallel
def _readout_f32(Wy, by, V, targets, floor, costs):
    """float32 readout: L[o] = by[o] + sum_j Wy[o, j] * v[j] (float32, j ascending), float32 softmax with
    expf and o ascending, cost = -log2(max(q_y, floor)) in double."""
    m = V.shape[0]
    H = V.shape[1]
    for r in prange(m):
        L = np.empty(256, dtype=np.float32)
        for o in range(256):
            acc = by[o]
            for j in range(H):
                acc = acc + Wy[o, j] * V[r, j]
            L[o] = acc
        mx = L[0]
        for o in range(1, 256):
            if L[o] > mx:
                mx = L[o]
        Z = np.float32(0.0)
        for o in range(256):
            Z = Z + exp_f32(L[o] - mx)
        q = exp_f32(L[targets[r]] - mx) / Z
        costs[r] = -log2_f64(max(np.float64(q), floor))


def readout_f32_costs(model: ElmanRNN, V, targets, floor: float = LADDER_COST_FLOOR) -> np.ndarray:
    """Per-row bits of targets under the float32 readout of rows of V (DEFINITIONS Part II 3)."""
    V = np.ascontiguousarray(V, dtype=np.float32)
    targets = as_bytes(targets)
    costs = np.empty(V.shape[0])
    by32 = np.where(model.vocab_mask(), model.by, np.float32(-np.inf)).astype(np.float32)  # outside: P = 0
    _readout_f32(model.Wy, by32, V, targets, float(floor), costs)
    return costs


def _mean(c: np.ndarray) -> float:
    return sequential_mean(c)     # plain mean summed in t order


def unigram_entropy(xs) -> float:
    """In-sample byte entropy of the text in bits (the quantity the program's gain% baseline rounds)."""
    c = np.bincount(as_bytes(xs), minlength=256).astype(np.float64)
    p = c[c > 0] / c.sum()
    return float(-(p * em.log2(p)).sum())


def explanation_ladder(model: ElmanRNN, xs, offsets=OMEGA, gain_baseline: float | None = None,
                       hs=None, rnn_bpc: float | None = None, table1_pairs=None) -> dict:
    """The explanation table of factor_map4.c (DEFINITIONS Part II 3) plus labelled variants.

    L1: per neuron the cell (x_{t-1}, x_{t-d2_j}) with d2_j in Omega minus {1} maximising in-sample R^2;
    L2 adds word length wl[t]; L3 adds wl[t] and in-tag it[t]. h_hat = in-sample cell mean over T, read out
    with the trained readout in float32; bpc = mean over T' of -log2 max(q, 1e-10).
    X% (seed 003 eq. 2) = 100 (8 - bpc) / (8 - bpc_trained) with bpc_trained the RNN's bpc on the whole text
    (DEFINITIONS 0.5); `x_percent_eq2_from_printed_bpc` applies eq. 2 by hand to the bpc values as a table
    prints them (%.2f, the RNN %.3f), which is how a hand-computed X% column comes out; gain% (the program's)
    = 100 (M - bpc) / (M - bpc_RNN on T') with M = gain_baseline or the text's unigram entropy (the program
    hard-codes a rounded constant).
    Variants: leave-one-out at each level (singleton cells fall back to the next coarser level, then to the
    leave-one-out mean), and L1 with the Table-1 pair of each neuron (`table1_pairs`: per-neuron pairs from
    a `factor_map` result on the same offsets; computed if None).
    """
    if 1 not in offsets or len(offsets) < 2:
        raise SatrnnInputError("the ladder needs offset 1 and at least one other offset")
    xs = as_bytes(xs)
    if hs is None or rnn_bpc is None:
        f = forward(model, xs)
        hs, rnn_bpc = f.hs, f.bpc
    T = _window(xs, offsets)
    x = xs.astype(np.int64)
    Y = hs[T].astype(np.float64)
    H = Y.shape[1]
    cands = [d for d in offsets if d != 1]
    R = np.empty((len(cands), H))
    for k, d in enumerate(cands):
        R[k], _ = cell_r2(x[T - 1] * 256 + x[T - d], Y)
    d2 = np.array([cands[k] for k in _first_strict_argmax(R)], dtype=np.int64)
    wl, it = word_length(xs)[T], in_tag(xs)[T]
    if table1_pairs is None:
        table1_pairs = [r["pair"] for r in factor_map(model, xs, offsets, hs=hs)["neurons"]]
    t1_pairs = [tuple(p) for p in table1_pairs]
    m = T.shape[0]
    preds = {k: np.empty((m, H)) for k in ("L1", "L2", "L3", "L1_table1")}
    loos = {k: np.empty((m, H)) for k in ("L1", "L2", "L3")}
    tmp_p, tmp_l = np.empty(m), np.empty(m)
    glob_loo = (Y.sum(axis=0)[None, :] - Y) / (m - 1)
    for j in range(H):                      # per neuron: its own cells; each kernel call is O(m)
        y = np.ascontiguousarray(Y[:, j])
        l1 = x[T - 1] * 256 + x[T - d2[j]]
        levels = {"L1": (l1,), "L2": (l1, wl), "L3": (l1, wl, it)}
        for name, codes in levels.items():
            inv, nc = dense_cells(*codes)
            _cell_predict(inv, nc, y, tmp_p, tmp_l)
            preds[name][:, j] = tmp_p
            loos[name][:, j] = tmp_l
        a, b = t1_pairs[j]
        inv, nc = dense_cells(x[T - a] * 256 + x[T - b])
        _cell_predict(inv, nc, y, tmp_p, tmp_l)
        preds["L1_table1"][:, j] = tmp_p
    # Leave-one-out fallbacks: L3 -> L2 -> L1 -> global leave-one-out mean.
    loos["L1"] = np.where(np.isnan(loos["L1"]), glob_loo, loos["L1"])
    loos["L2"] = np.where(np.isnan(loos["L2"]), loos["L1"], loos["L2"])
    loos["L3"] = np.where(np.isnan(loos["L3"]), loos["L2"], loos["L3"])
    Tp = T[T <= xs.shape[0] - 2]
    rows_p = slice(0, Tp.shape[0])
    tgt = xs[Tp + 1]

    def bpc_of(P):
        return _mean(readout_f32_costs(model, P[rows_p].astype(np.float32), tgt))

    rnn_bpc_T = _mean(readout_f32_costs(model, hs[Tp], tgt))
    M = unigram_entropy(xs) if gain_baseline is None else float(gain_baseline)

    def pct(num: float, den: float) -> float:  # NaN (JSON null) when the RNN is no better than the baseline
        return 100.0 * num / den if den != 0 else math.nan

    def pcts(b):
        return {"x_percent_eq2": pct(8.0 - b, 8.0 - rnn_bpc),
                "x_percent_eq2_from_printed_bpc": pct(8.0 - round(b, 2), 8.0 - round(rnn_bpc, 3)),
                "x_percent_eq2_rnn_on_window": pct(8.0 - b, 8.0 - rnn_bpc_T),
                "program_gain_percent": pct(M - b, M - rnn_bpc_T)}

    labels = {"L1": "2-offset conditional mean", "L2": "+ word length", "L3": "+ word length + in-tag"}
    rows = [{"level": "uniform", "explanation": "No context (uniform)", "bpc": 8.0, **pcts(8.0)}]
    for k in ("L1", "L2", "L3"):
        b = bpc_of(preds[k])
        rows.append({"level": k, "explanation": labels[k], "bpc": b, **pcts(b), "bpc_loo": bpc_of(loos[k]),
                     **{f"loo_{key}": v for key, v in pcts(bpc_of(loos[k])).items()}})
    rows.append({"level": "rnn", "explanation": "Trained RNN", "bpc": rnn_bpc, **pcts(rnn_bpc),
                 "bpc_float32_readout_on_window": rnn_bpc_T})
    b1t = bpc_of(preds["L1_table1"])
    return {"definition": "factor_map4 (DEFINITIONS Part II 3)", "offsets": list(offsets),
            "window": [int(T[0]), int(T[-1])], "bpc_positions": int(Tp.shape[0]),
            "d2": [int(v) for v in d2], "d2_counts": {int(v): int((d2 == v).sum()) for v in np.unique(d2)},
            "rows": rows, "L1_table1_pairs": {"bpc": b1t, **pcts(b1t)},
            "gain_baseline_M": M, "gain_baseline_source": "given" if gain_baseline is not None
            else "unigram entropy of TEXT (the program hard-codes a rounded constant)",
            "rnn_bpc_all_predictions": rnn_bpc, "rnn_bpc_float32_readout_on_window": rnn_bpc_T,
            "singleton_share": {k: float(np.mean(np.isnan(_raw_loo(x, T, d2, wl, it, k)))) for k in ("L1", "L2", "L3")}}


def _raw_loo(x, T, d2, wl, it, level):
    """Indicator (NaN) of positions alone in their level cell, per neuron: (m, H)."""
    out = np.zeros((T.shape[0], d2.shape[0]))
    for j in range(d2.shape[0]):
        l1 = x[T - 1] * 256 + x[T - d2[j]]
        codes = {"L1": (l1,), "L2": (l1, wl), "L3": (l1, wl, it)}[level]
        inv, nc = dense_cells(*codes)
        cnt = np.bincount(inv, minlength=nc)
        out[:, j] = np.where(cnt[inv] == 1, np.nan, 0.0)
    return out
