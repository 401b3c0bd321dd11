"""Saturation, sign flips and dwell times along the float trajectory (DEFINITIONS 5, q4_saturation).

Alignment: the states are h_0..h_{n-2} (the n-1 states that make predictions; the last byte is never
consumed). A flip of neuron j at t (t = 1..n-2) means sigma(h_t[j]) != sigma(h_{t-1}[j]), with
sigma(v) = [v >= 0] (+0 and -0 are positive). A run (dwell) is the number of steps between two
consecutive flips of the same neuron.

Paper-compatible values follow the program's quirks (dwells >= 100 dropped, the class depends only on
the flip count). Corrected variants are labelled `*_corrected` / `*_all`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from satrnn.rnn import elementary as em
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.record import Record, key
from satrnn.rnn.stream import prediction_chunks

SAT_THRESHOLD = 0.999
MAX_RECORDED_DWELL = 100  # the paper's histogram keeps dwells 1..99 only
PRINTED_DWELL_MAX = 49
CLASSES = ("frozen", "settled", "active", "volatile")
SAT_CLASSES = ("saturated", "mostly saturated", "graded")
PRINTED_ROWS = 1024  # per-position rows listed: the papers' n (plus the last position)


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


def state_rows(model: ElmanRNN, xs, forward_result, progress=None):
    """Chunks (t0, hs) of the states h_0..h_{n-2}: from a given forward result, else streamed (rnn.stream)."""
    if forward_result is not None:
        hs = np.asarray(forward_result.hs[:-1])
        if hs.shape[0] < 1:
            raise SatrnnInputError("need at least 2 bytes of text")
        yield 0, hs
        return
    xs = as_bytes(xs)
    if xs.shape[0] < 2:
        raise SatrnnInputError("need at least 2 bytes of text")
    n1 = xs.shape[0] - 1
    tick = None if progress is None else (lambda done: progress(done, n1))
    for c in prediction_chunks(model, xs, progress=tick):
        yield c.t0, c.hs


def chunk_flips(prev_signs, hs: np.ndarray, t0: int) -> tuple[np.ndarray, np.ndarray]:
    """Flips inside one chunk of states: (F bool (H, k), signs of the chunk's last row).

    Column c of F is the flip at step t0 + c (+1 when prev_signs, the signs of h_{t0-1}, are known):
    with prev_signs None (t0 = 0) the first row starts the trajectory and has no flip.
    """
    s = np.asarray(hs) >= 0
    full = s if prev_signs is None else np.vstack([prev_signs[None, :], s])
    return np.ascontiguousarray((full[1:] != full[:-1]).T), s[-1].copy()


@dataclass(frozen=True)
class PositionRow(Record):
    """One row of the paper's per-position table: position t (h_t, the state after byte t), saturated
    neurons n_sat, flips n_flip (between h_{t-1} and h_t), min |h_t| and the flipped neurons."""
    t: int
    n_sat: int
    n_flip: int
    min_abs: float
    flipped: list


@dataclass(frozen=True, eq=False)
class SaturationReport(Record):
    """Per-neuron and per-position saturation, flips and dwells (DEFINITIONS 5.1-5.3) over the m = n-1
    predicting states h_0..h_{m-1}.

    Per neuron j, arrays of length H: flips (sign changes between h_{t-1} and h_t, t = 1..m-1), mean_abs_h
    (float32 running sum / m in float32), min_abs_h, sat_steps (|h| >= threshold), pct_sat (float32 percent),
    dwell_mode (most frequent recorded dwell, 0 = none), dwell_hist_per_neuron (H, 100) (not in the JSON),
    flip_class (paper, from the flip count) and saturation_class (corrected) as lists of names,
    mean_dwell_per_neuron_all (all closed dwells; NaN under two flips), longest_dwell, first_open_run and
    last_open_run (steps before the first / after the last flip; m without flips). Global: order (neurons by
    flips descending, stable), class_counts and saturation_class_counts (class -> neurons), printed_rows (the
    paper's per-position rows with t < printed_rows_limit, plus the last), dwell_hist (G[d], d = 0..99,
    paper-compatible: dwells >= 100 dropped), mean_dwell (paper-compatible, recorded dwells < 100),
    mean_dwell_all (corrected, all closed dwells), dropped_dwells (dwells >= 100), recorded_dwells,
    mean_flips per neuron, total_flips, neuron_steps_saturated_pct (percent), steps_per_flip (m-1 over the
    mean flips). Per position (length m, only with keep_positions, else None): n_sat, n_flip, min_abs.
    """
    steps: int
    H: int
    threshold: float
    flips: np.ndarray
    mean_abs_h: np.ndarray
    min_abs_h: np.ndarray
    sat_steps: np.ndarray
    pct_sat: np.ndarray
    dwell_mode: np.ndarray
    dwell_hist_per_neuron: np.ndarray = key(json=False)
    flip_class: list
    saturation_class: list
    mean_dwell_per_neuron_all: np.ndarray
    longest_dwell: np.ndarray
    first_open_run: np.ndarray
    last_open_run: np.ndarray
    order: np.ndarray
    class_counts: dict
    saturation_class_counts: dict
    printed_rows: tuple[PositionRow, ...]
    printed_rows_limit: int
    dwell_hist: np.ndarray
    mean_dwell: float
    mean_dwell_all: float
    dropped_dwells: int
    recorded_dwells: int
    mean_flips: float
    total_flips: int
    neuron_steps_saturated_pct: float
    steps_per_flip: float
    n_sat: np.ndarray | None = key(omit_none=True, default=None)
    n_flip: np.ndarray | None = key(omit_none=True, default=None)
    min_abs: np.ndarray | None = key(omit_none=True, default=None)

    @property
    def most_volatile(self) -> int:
        """The neuron with the most flips (the first in stable order on ties)."""
        return int(self.order[0])

    @property
    def most_volatile_flips(self) -> int:
        return int(self.flips[self.most_volatile])


def saturation_report(model: ElmanRNN, xs, forward_result=None, threshold: float = SAT_THRESHOLD,
                      keep_positions: bool = True, printed_rows: int = PRINTED_ROWS,
                      progress=None) -> SaturationReport:
    """Per-neuron and per-position saturation, flips and dwells (DEFINITIONS 5.1-5.3): a `SaturationReport`.

    Without `forward_result` the forward is streamed in chunks: memory is O(chunk x H) plus the outputs;
    the per-position arrays (8 + 8 + 4 bytes per byte of text) are kept only with keep_positions.
    printed_rows: the paper's per-position rows (`printed_positions`) kept are those with t < printed_rows,
    plus the last. `progress(done, total)`, if given, is called after every streamed chunk.
    """
    if not (0.0 < float(threshold) <= 1.0):
        raise SatrnnInputError(f"saturation threshold must be in (0, 1], got {threshold}")
    th = np.float32(threshold)
    H = np.asarray(forward_result.hs).shape[1] if forward_result is not None else model.H
    abs_sum = np.zeros(H, dtype=np.float32)
    min_abs = np.full(H, np.float32(2.0), dtype=np.float32)
    sat_steps = np.zeros(H, dtype=np.int64)
    flips = np.zeros(H, dtype=np.int64)
    hist = np.zeros((H, MAX_RECORDED_DWELL), dtype=np.int64)
    dwell_sum_all = np.zeros(H, dtype=np.int64)
    dwell_n_all = np.zeros(H, dtype=np.int64)
    longest = np.zeros(H, dtype=np.int64)
    first_flip = np.full(H, -1, dtype=np.int64)
    last_flip = np.full(H, -1, dtype=np.int64)
    sat_total = 0
    pos_sat, pos_flip, pos_min, rows = [], [], [], []
    prev = None
    m = 0
    for t0, hs in state_rows(model, xs, forward_result, progress):
        hs = np.asarray(hs, dtype=np.float32)
        k = hs.shape[0]
        m = t0 + k
        a = np.abs(hs)
        abs_sum = em.inorder_sum(a, axis=0, dtype=np.float32, start=abs_sum)   # float32, t order, across chunks
        min_abs = np.minimum(min_abs, a.min(axis=0))
        sat = a >= th
        sat_steps += sat.sum(axis=0)
        sat_total += int(sat.sum())
        F, last_signs = chunk_flips(prev, hs, t0)        # F[:, c] = flip at step t0 + off + c
        off = 1 if prev is None else 0                   # h_0 starts the trajectory: no flip at t = 0
        prev = last_signs
        flips += F.sum(axis=1)
        jj, cc = np.nonzero(F)                           # j ascending, then time ascending
        tt = cc.astype(np.int64) + (t0 + off)
        if jj.size:
            # dwell = time since the previous flip of the same neuron (possibly in an earlier chunk)
            prev_t = np.empty_like(tt)
            prev_t[1:] = tt[:-1]
            starts = np.ones(jj.size, dtype=bool)
            starts[1:] = jj[1:] != jj[:-1]
            prev_t[starts] = last_flip[jj[starts]]
            closed = prev_t >= 0
            d, dj = tt[closed] - prev_t[closed], jj[closed]
            rec = d < MAX_RECORDED_DWELL
            np.add.at(hist, (dj[rec], d[rec]), 1)
            np.add.at(dwell_sum_all, dj, d)
            np.add.at(dwell_n_all, dj, 1)
            np.maximum.at(longest, dj, d)
            ends = np.ones(jj.size, dtype=bool)
            ends[:-1] = jj[1:] != jj[:-1]
            last_flip[jj[ends]] = tt[ends]
            new_first = starts & (first_flip[jj] < 0)
            first_flip[jj[new_first]] = tt[new_first]
        n_flip_chunk = np.zeros(k, dtype=np.int64)
        n_flip_chunk[off:] = F.sum(axis=0)
        n_sat_chunk, min_chunk = sat.sum(axis=1), a.min(axis=1)
        if keep_positions:
            pos_sat.append(n_sat_chunk)
            pos_flip.append(n_flip_chunk)
            pos_min.append(min_chunk)
        chunk = (t0, off, F, n_sat_chunk, n_flip_chunk, min_chunk)
        # the paper's printed rows, bounded to t < printed_rows (the last row is added after the loop)
        rows.extend(_table_row(chunk, t - t0) for t in range(t0, min(m, printed_rows)) if _printed(t))
        last = _table_row(chunk, k - 1)
    if not rows or rows[-1].t != m - 1:
        rows.append(last)
    mean_abs = (abs_sum / np.float32(m)).astype(np.float32)
    pct_sat = (np.float32(100.0) * sat_steps.astype(np.float32) / np.float32(m)).astype(np.float32)
    first_open = np.where(first_flip >= 0, first_flip, m)
    last_open = np.where(last_flip >= 0, m - last_flip, m)
    dropped = int(dwell_n_all.sum() - hist.sum())
    dwell_mode = np.array([int(np.argmax(hist[j, 1:]) + 1) if hist[j, 1:].any() else 0 for j in range(H)])
    order = np.argsort(-flips, kind="stable")
    G = hist.sum(axis=0)
    d = np.arange(MAX_RECORDED_DWELL)
    mean_dwell = float((d * G).sum() / G.sum()) if G.sum() else float("nan")
    tot_n = int(dwell_n_all.sum())
    mean_dwell_all = float(dwell_sum_all.sum() / tot_n) if tot_n else float("nan")
    fcls = [flip_class(int(f)) for f in flips]
    scls = [saturation_class(float(p)) for p in pct_sat]
    return SaturationReport(
        steps=m, H=H, threshold=float(th), flips=flips, mean_abs_h=mean_abs, min_abs_h=min_abs,
        sat_steps=sat_steps, pct_sat=pct_sat, dwell_mode=dwell_mode, dwell_hist_per_neuron=hist,
        flip_class=fcls, saturation_class=scls,
        mean_dwell_per_neuron_all=np.where(dwell_n_all > 0, dwell_sum_all / np.maximum(dwell_n_all, 1), np.nan),
        longest_dwell=longest, first_open_run=first_open, last_open_run=last_open,
        order=order, class_counts={c: fcls.count(c) for c in CLASSES},
        saturation_class_counts={c: scls.count(c) for c in SAT_CLASSES},
        printed_rows=tuple(rows), printed_rows_limit=printed_rows,
        dwell_hist=G, mean_dwell=mean_dwell, mean_dwell_all=mean_dwell_all,
        dropped_dwells=dropped, recorded_dwells=int(G.sum()),
        mean_flips=float(flips.mean()), total_flips=int(flips.sum()),
        neuron_steps_saturated_pct=float(100.0 * sat_total / (m * H)),
        steps_per_flip=float((m - 1) / flips.mean()) if flips.sum() else float("inf"),
        n_sat=np.concatenate(pos_sat) if keep_positions else None,
        n_flip=np.concatenate(pos_flip) if keep_positions else None,
        min_abs=np.concatenate(pos_min) if keep_positions else None)


def _table_row(chunk: tuple, c: int) -> PositionRow:
    """The per-position table row of row c of a chunk (t0, off, F, n_sat, n_flip, min_abs): position t0 + c;
    F[:, c - off] are the flips at it."""
    t0, off, F, n_sat, n_flip, min_abs = chunk
    flipped = [int(j) for j in np.flatnonzero(F[:, c - off])] if c >= off else []
    return PositionRow(t=t0 + c, n_sat=int(n_sat[c]), n_flip=int(n_flip[c]), min_abs=float(min_abs[c]),
                       flipped=flipped)


def _printed(t: int) -> bool:
    return t < 10 or (t < 50 and t % 5 == 0) or t % 50 == 0


def printed_positions(m: int) -> list[int]:
    """Rows the paper's per-position table prints (DEFINITIONS 5.1): t < 10; t < 50 and t % 5 == 0;
    t % 50 == 0; t = m-1 (the last state)."""
    return [t for t in range(m) if _printed(t) or t == m - 1]
