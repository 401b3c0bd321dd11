"""Saturation, sign flips and dwell times along the float trajectory (DEFINITIONS 5, q4_saturation).

Alignment: the states are h_0..h_{n-2} (the n-1 states that make predictions; the last byte is never
consumed). A flip of neuron j at t (t = 1..n-2) means sigma(h_t[j]) != sigma(h_{t-1}[j]), with
sigma(v) = [v >= 0] (+0 and -0 are positive). A run (dwell) is the number of steps between two
consecutive flips of the same neuron.

Paper-compatible values follow the program's quirks (dwells >= 100 dropped, the class depends only on
the flip count). Corrected variants are labelled `*_corrected` / `*_all`.
"""
from __future__ import annotations

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.rnn.model import ElmanRNN

SAT_THRESHOLD = 0.999
MAX_RECORDED_DWELL = 100  # the paper's histogram keeps dwells 1..99 only
PRINTED_DWELL_MAX = 49
CLASSES = ("frozen", "settled", "active", "volatile")
SAT_CLASSES = ("saturated", "mostly saturated", "graded")


def flip_class(n_flips: int) -> str:
    """The paper's class from the flip count only: 0 frozen, 1-5 settled, 6-50 active, > 50 volatile."""
    if n_flips == 0:
        return "frozen"
    if n_flips <= 5:
        return "settled"
    if n_flips <= 50:
        return "active"
    return "volatile"


def saturation_class(pct_sat: float) -> str:
    """Corrected, saturation-based label: >= 90% of steps saturated, >= 50%, or graded."""
    if pct_sat >= 90.0:
        return "saturated"
    if pct_sat >= 50.0:
        return "mostly saturated"
    return "graded"


def flip_matrix(hs: np.ndarray) -> np.ndarray:
    """Bool (H, T) with T = m-1 transitions: F[j, t-1] = flip of neuron j at step t (t = 1..m-1)."""
    s = np.asarray(hs) >= 0
    return np.ascontiguousarray((s[1:] != s[:-1]).T)


def _runs(flips_row: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(closed dwells between consecutive flips, first open span, final open span) for one neuron.

    flips_row[k] is the flip at step t = k+1; with no flip at all, the whole run is open on both ends.
    """
    t = np.flatnonzero(flips_row) + 1
    m = flips_row.shape[0] + 1
    if t.size == 0:
        return np.zeros(0, dtype=np.int64), m, m
    return np.diff(t), int(t[0]), int(m - t[-1])


def saturation_report(model: ElmanRNN, xs, forward_result=None, threshold: float = SAT_THRESHOLD) -> dict:
    """Per-neuron and per-position saturation, flips and dwells (DEFINITIONS 5.1-5.3).

    Keys (per neuron j, arrays of length H): flips, mean_abs_h (float32 running sum / m in float32),
    min_abs_h, sat_steps, pct_sat (float32), dwell_mode, flip_class (paper), saturation_class
    (corrected), mean_dwell_all. Per position (length m = n-1): n_sat, n_flip, min_abs. Global:
    order (flips descending, stable), class_counts, dwell_hist (G[d], d = 0..99, paper-compatible),
    mean_dwell (paper-compatible, recorded dwells < 100), mean_dwell_all (corrected, all closed dwells),
    dropped_dwells (count of dwells >= 100), mean_flips, steps.
    """
    if not (0.0 < float(threshold) <= 1.0):
        raise SatrnnInputError(f"saturation threshold must be in (0, 1], got {threshold}")
    r = forward_result if forward_result is not None else forward(model, xs)
    hs = np.ascontiguousarray(r.hs[:-1], dtype=np.float32)  # h_0..h_{n-2}
    m, H = hs.shape
    if m < 1:
        raise SatrnnInputError("need at least 2 bytes of text")
    a = np.abs(hs)
    th = np.float32(threshold)
    # float32 running sum in t order (np.add.accumulate is sequential), then a float32 division.
    mean_abs = (np.add.accumulate(a, axis=0, dtype=np.float32)[-1] / np.float32(m)).astype(np.float32)
    min_abs = np.minimum(np.float32(2.0), a.min(axis=0))
    sat = a >= th
    sat_steps = sat.sum(axis=0)
    pct_sat = (np.float32(100.0) * sat_steps.astype(np.float32) / np.float32(m)).astype(np.float32)
    F = flip_matrix(hs)  # (H, m-1)
    flips = F.sum(axis=1).astype(np.int64)
    hist = np.zeros((H, MAX_RECORDED_DWELL), dtype=np.int64)
    dwell_sum_all = np.zeros(H, dtype=np.int64)
    dwell_n_all = np.zeros(H, dtype=np.int64)
    dropped = 0
    first_open, last_open, longest = np.zeros(H, np.int64), np.zeros(H, np.int64), np.zeros(H, np.int64)
    for j in range(H):
        d, f0, f1 = _runs(F[j])
        first_open[j], last_open[j] = f0, f1
        rec = d[d < MAX_RECORDED_DWELL]
        np.add.at(hist[j], rec, 1)
        dropped += int((d >= MAX_RECORDED_DWELL).sum())
        dwell_sum_all[j], dwell_n_all[j] = int(d.sum()), int(d.size)
        longest[j] = int(d.max()) if d.size else 0
    dwell_mode = np.array([int(np.argmax(hist[j, 1:]) + 1) if hist[j, 1:].any() else 0 for j in range(H)])
    order = np.argsort(-flips, kind="stable")
    G = hist.sum(axis=0)
    d = np.arange(MAX_RECORDED_DWELL)
    mean_dwell = float((d * G).sum() / G.sum()) if G.sum() else float("nan")
    tot_n = int(dwell_n_all.sum())
    mean_dwell_all = float(dwell_sum_all.sum() / tot_n) if tot_n else float("nan")
    fcls = [flip_class(int(f)) for f in flips]
    scls = [saturation_class(float(p)) for p in pct_sat]
    n_flip = np.zeros(m, dtype=np.int64)
    n_flip[1:] = F.sum(axis=0)
    return {
        "steps": m, "H": H, "threshold": float(th),
        "flips": flips, "mean_abs_h": mean_abs, "min_abs_h": min_abs, "sat_steps": sat_steps,
        "pct_sat": pct_sat, "dwell_mode": dwell_mode, "dwell_hist_per_neuron": hist,
        "flip_class": fcls, "saturation_class": scls,
        "mean_dwell_per_neuron_all": np.where(dwell_n_all > 0, dwell_sum_all / np.maximum(dwell_n_all, 1), np.nan),
        "longest_dwell": longest, "first_open_run": first_open, "last_open_run": last_open,
        "order": order, "class_counts": {c: fcls.count(c) for c in CLASSES},
        "saturation_class_counts": {c: scls.count(c) for c in SAT_CLASSES},
        "n_sat": sat.sum(axis=1), "n_flip": n_flip, "min_abs": a.min(axis=1),
        "dwell_hist": G, "mean_dwell": mean_dwell, "mean_dwell_all": mean_dwell_all,
        "dropped_dwells": dropped, "recorded_dwells": int(G.sum()),
        "mean_flips": float(flips.mean()), "total_flips": int(flips.sum()),
        "neuron_steps_saturated_pct": float(100.0 * sat.sum() / sat.size),
        "steps_per_flip": float((m - 1) / flips.mean()) if flips.sum() else float("inf"),
    }


def flipped_at(hs: np.ndarray, t: int) -> list[int]:
    """Neurons (ascending) that flip at step t (t >= 1) of the trajectory hs."""
    if t < 1:
        return []
    s = np.asarray(hs) >= 0
    return [int(j) for j in np.flatnonzero(s[t] != s[t - 1])]


def printed_positions(m: int) -> list[int]:
    """Rows the paper's per-position table prints (DEFINITIONS 5.1): t < 10; t < 50 and t % 5 == 0;
    t % 50 == 0; t = m-1 (the last state)."""
    return [t for t in range(m) if t < 10 or (t < 50 and t % 5 == 0) or t % 50 == 0 or t == m - 1]
