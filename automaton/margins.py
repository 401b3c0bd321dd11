"""Pre-activation margins on the float trajectory, and the Boolean (sign-only) view of the recurrence.

Follows DEFINITIONS.md section 2 (q1_margins) and section 3 (q1_boolean). Alignment: z_t and h_t come from
reading x_t; h_t (or its signs s_t) predicts x_{t+1}. The programs run t = 0..n-2 (n-1 predictions); pass
the first 1,024 bytes for the papers' n. The result is a `MarginReport` (fields documented there).
Paper-compatible values keep the papers' arithmetic and quirks; corrected variants are labelled
`*_corrected` / explained in `quirks`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from satrnn.automaton.bitset import pack
from satrnn.automaton.sign_readout import SignReadout
from satrnn.rnn import elementary as em
from satrnn.rnn.elementary import log_f64
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import SlicedReadout, as_bytes, readout_costs
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit
from satrnn.rnn.record import Record, key
from satrnn.rnn.shared_slices import SlicePool
from satrnn.rnn.stream import fold_chunks, prediction_chunks

f32 = np.float32
N_SMALLEST = 20
PAPER_BIN_WIDTH = 5.0
PAPER_BINS = 50
PER_POSITION_ROWS = 1024   # per-position rows listed: the papers' n (plus the last position)


def check_model_text(model: ElmanRNN, xs, min_bytes: int = 2) -> np.ndarray:
    if not isinstance(model, ElmanRNN):
        raise SatrnnInputError(f"expected an ElmanRNN, got {type(model).__name__}")
    xs = as_bytes(xs)
    if xs.shape[0] < min_bytes:
        raise SatrnnInputError(f"text has {xs.shape[0]} byte(s); this analysis needs at least {min_bytes}")
    return xs


def _check_finite(zs: np.ndarray, t0: int) -> None:
    """Margins of an overflowing run are undefined: say where, on one line."""
    bad = ~np.isfinite(zs)
    if bad.any():
        t, i = np.argwhere(bad)[0]
        raise SatrnnInputError(f"the model's pre-activation z overflows float32 at t={t0 + int(t)}, neuron {int(i)} "
                               f"(|z| = inf); margins are undefined for this model")


_DECADE_OFFSET = 64        # float32 magnitudes span decades -46..38


# decade boundaries 10^k, k = -_DECADE_OFFSET.._DECADE_OFFSET, as numpy's float64 power gives them
# 10^k as correctly rounded doubles (Python's decimal parsing, never the host's pow)
_POW10 = np.array([float(f"1e{k}") for k in range(-_DECADE_OFFSET, _DECADE_OFFSET + 1)])


def _decade_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per float32 exponent field e = 1..254: the decade k (10^k <= v < 10^(k+1), _POW10's doubles) of the
    binade's smallest value, stored as k + _DECADE_OFFSET, and the bit pattern of the binade's smallest value
    in decade k + 1 (0xFFFFFFFF when none: a binade spans a factor 2, so it meets at most one boundary).
    The decade of a normal v is then lo[e] + (bits(v) >= thr[e]), with no search; e = 0 (zero, subnormals)
    and 255 are left to the caller."""
    lo = np.zeros(256, dtype=np.int64)
    thr = np.full(256, 0xFFFFFFFF, dtype=np.uint32)
    for e in range(1, 255):
        v = math.ldexp(1.0, e - 127)
        k = int(np.searchsorted(_POW10, v, side="right")) - 1 - _DECADE_OFFSET
        lo[e] = k + _DECADE_OFFSET
        p = _POW10[k + 1 + _DECADE_OFFSET]
        if p < 2.0 * v:
            f = np.float32(p)
            if float(f) < p:
                f = np.nextafter(f, np.float32(np.inf))
            thr[e] = np.array([f], dtype=np.float32).view(np.uint32)[0]
    return lo, thr


_DECADE_LO, _DECADE_THR = _decade_tables()
MEDIAN_WINDOW = 8          # top-16-bit buckets counted at full resolution on each side of the first estimate
                           # (17 x 2^16 uint32 counters: 4.5 MB; the median of a 1 MB text stays within 2
                           # buckets of its first chunk's; beyond the window a second pass finds it)
_WINDOW_FLUSH = (1 << 32) - 1   # uint32 window counters are folded into int64 before this many increments
# per-neuron integer counters of _margin_chunk (rows of `pn`)
_SMALL, _TINY, _ZEROS, _WITHIN_DELTA, _WITHIN, _NAN_RATIO = range(6)
_COPIES = 4                # interleaved copies of the small histograms: consecutive neurons often share a bin,
                           # and increments of one counter in a row wait on each other


@njit
def _margin_chunk(mu, bits, x_in, d32, abs_bh, abs_wxT, abs_wh_rows, gam, dec_lo, dec_thr, pow10, win_lo, pn,
                  S, mins, minr, maxb, mean_sum, counts, decades, top16, low16, cand_thr, cand, scratch):
    """Every per-neuron-step count of margin_report for one chunk, into the accumulators; returns the running
    (t, i)-ordered double sum of the margins and the number of candidates for the smallest margins.

    mu (m, H) float32 margins |z_t|, bits their uint32 patterns, x_in (m,) the bytes read. Per neuron i,
    across the neurons (so the compiler vectorises it): pn[_SMALL.._NAN_RATIO, i] counts (mu < 1, mu < 0.1,
    mu == 0, mu <= d32[i], mu <= the accumulation bound, bound ratio 0 / 0), S[i] += mu (float64, t
    ascending), mins[i], minr[i] (the smallest defined mu / bound), maxb[i] (the largest bound). Then per
    step, one element at a time: mean_sum += mu[t, i] (i ascending, the whole-text order, so chunked sums
    equal one loop bit for bit), the paper's bins counts[c, bin] and decades[c, k] (c = i % _COPIES), top16
    and low16[b - win_lo, low 16 bits] for the top-16-bit buckets b in the window. Flat indices t H + i of
    the margins <= cand_thr go to cand (the count is returned even past its capacity).
    """
    m, H = mu.shape
    one, tenth, five, cap = np.float32(1.0), np.float32(0.1), np.float32(5.0), np.float32(49.0)
    nwin = low16.shape[0]
    ncand = 0
    bins = scratch
    for t in range(m):
        x = x_in[t]
        for i in range(H):
            v = mu[t, i]
            v64 = np.float64(v)
            S[i] += v64
            pn[_SMALL, i] += np.int64(v < one)
            pn[_TINY, i] += np.int64(v < tenth)
            pn[_ZEROS, i] += np.int64(v == 0)
            pn[_WITHIN_DELTA, i] += np.int64(v <= d32[i])
            mins[i] = v if v < mins[i] else mins[i]
            bound = gam * ((abs_bh[i] + abs_wxT[x, i]) + abs_wh_rows[i])
            pn[_WITHIN, i] += np.int64(v64 <= bound)
            maxb[i] = bound if bound > maxb[i] else maxb[i]
            r = v64 / bound
            pn[_NAN_RATIO, i] += np.int64(r != r)
            minr[i] = r if r < minr[i] else minr[i]
            q = np.float32(v / five)
            bins[i] = np.int64(q if q < cap else cap)       # trunc of a non-negative float32, capped at 49
        for i in range(H):
            mean_sum += np.float64(mu[t, i])
        for i in range(H):
            c = i & (_COPIES - 1)
            counts[c, bins[i]] += 1
            b = bits[t, i]
            e = np.int64(b >> np.uint32(23))
            if e != 0:
                decades[c, dec_lo[e] + np.int64(b >= dec_thr[e])] += 1
            elif b != 0:      # subnormal: log10 for a first guess, then the boundaries decide
                v64 = np.float64(mu[t, i])
                k = int(math.floor(log_f64(v64) * 0.4342944819032518))
                while pow10[k + 1 + _DECADE_OFFSET] <= v64:
                    k += 1
                while pow10[k + _DECADE_OFFSET] > v64:
                    k -= 1
                decades[c, k + _DECADE_OFFSET] += 1
            top = np.int64(b >> np.uint32(16))
            top16[top] += 1
            if win_lo <= top < win_lo + nwin:
                low16[top - win_lo, np.int64(b & np.uint32(0xFFFF))] += 1
            if mu[t, i] <= cand_thr:
                if ncand < cand.shape[0]:
                    cand[ncand] = t * H + i
                ncand += 1
    return mean_sum, ncand


def _smallest_of_chunk(mu_flat: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of the k smallest values, ties by index (= argsort(kind='stable')[:k]), in O(size)."""
    if mu_flat.size <= k:
        return np.argsort(mu_flat, kind="stable")
    kth = np.partition(mu_flat, k - 1)[k - 1]
    idx = np.flatnonzero(mu_flat <= kth)             # ascending: a stable sort keeps ties by index
    return idx[np.argsort(mu_flat[idx], kind="stable")[:k]]


@dataclass(frozen=True)
class MarginBin(Record):
    """A histogram bin of margins |z| in [lo, hi) (hi = inf: open; lo = hi = 0: the exact zeros), count and
    percent of the neuron-steps; `bin` the paper's bin index (2.4), None for the decade histogram."""
    lo: float
    hi: float
    count: int
    pct: float
    bin: int | None = key(omit_none=True, default=None)

    def as_dict(self) -> dict:
        d = super().as_dict()     # the paper's bin index first, as 2.4 lists it
        return {"bin": d.pop("bin"), **d} if "bin" in d else d


@dataclass(frozen=True)
class PerNeuronMargins(Record):
    """Per neuron i (lists of H): mean margin S_i / (n-1), min margin, steps with margin < 1."""
    mean: list
    min: list
    n_small: list


@dataclass(frozen=True)
class NeuronMargin(Record):
    """A neuron's mean margin S_i / (n-1), min margin and steps with margin < 1 (2.5)."""
    neuron: int
    mean: float
    min: float
    n_small: int


@dataclass(frozen=True)
class SmallMargin(Record):
    """One of the smallest margins: step t (z_t from reading x_t = byte; next_byte = x_{t+1}), neuron, the
    margin |z| and z (float32 values)."""
    t: int
    neuron: int
    margin: float
    z: float
    byte: int
    next_byte: int


@dataclass(frozen=True)
class PositionMargins(Record):
    """2.2 at step t: min and mean (fl32 sum / H) margin, neurons with margin < 1 and < 0.1, the bits of
    x_{t+1} under the full and the sign readout, and whether the program prints the row."""
    t: int
    min: float
    mean: float
    n_small: int
    n_tiny: int
    bpc_full: float
    bpc_sign: float
    printed: bool


@dataclass(frozen=True)
class MantissaRow(Record):
    """2.6 for neuron j: W = fl32 sum |Wh[j]|, delta = W 2^-23, the mean margin and mean margin / delta."""
    neuron: int
    W: float
    delta: float
    mean_margin: float
    ratio: float


@dataclass(frozen=True)
class Mantissa(Record):
    """2.6 "The Mantissa Cannot Reach", paper-compatible: rows j = 0..4, delta_max, mu_min (the smallest
    margin), safety_factor = mu_min / delta_max; the program prints its closing line unconditionally."""
    rows: tuple[MantissaRow, ...]
    delta_max: float
    mu_min: float
    safety_factor: float
    closing_line_unconditional: bool


@dataclass(frozen=True)
class MantissaCorrected(Record):
    """2.6 corrected: min over neurons of MIN margin / delta_i (and which neuron), neuron-steps with margin <=
    delta_i (a 2^-23 state perturbation could flip them), the rigorous float32 accumulation error bound
    gamma_{H+1}(2^-24) (|bh| + |Wx[., x]| + sum_j |Wh[i, j]|) at its largest, the neuron-steps with a margin
    within it, and the smallest margin / bound."""
    min_ratio: float
    argmin_neuron: int
    steps_with_margin_at_most_delta: int
    max_accumulation_bound: float
    steps_within_accumulation_bound: int
    min_margin_over_bound: float


@dataclass(frozen=True)
class MarginReport(Record):
    """q1_margins (DEFINITIONS 2) on the float32 data trajectory (h_{-1} = 0), t = 0..n-2 of n = n_bytes bytes.

    steps = n-1, H, neuron_steps = H (n-1); mean_margin (double, t then i ascending), small / small_pct
    (mu < 1.0f), tiny / tiny_pct (mu < 0.1f), frac_below_1, frac_below_0_1, min_margin, median_margin (exact),
    median_passes (forward passes it took); bpc_full, bpc_sign_readout (2.3: only the readout binarised,
    float recurrence); histogram (2.4 paper bins, non-empty only), histogram_log (decades, exact zeros first);
    per_neuron; per_neuron_lowest (the 20 neurons with the smallest mean, ascending, 2.5); smallest (the 20
    smallest margins); per_position (2.2 rows for t < per_position_rows and the last t), per_position_omitted;
    mantissa (2.6, paper-compatible), mantissa_corrected; quirks."""
    n_bytes: int
    steps: int
    H: int
    neuron_steps: int
    mean_margin: float
    small: int
    small_pct: float
    tiny: int
    tiny_pct: float
    frac_below_1: float
    frac_below_0_1: float
    min_margin: float
    median_margin: float
    median_passes: int
    bpc_full: float
    bpc_sign_readout: float
    histogram: tuple[MarginBin, ...]
    histogram_log: tuple[MarginBin, ...]
    per_neuron: PerNeuronMargins
    per_neuron_lowest: tuple[NeuronMargin, ...]
    smallest: tuple[SmallMargin, ...]
    per_position: tuple[PositionMargins, ...]
    per_position_omitted: int
    mantissa: Mantissa
    mantissa_corrected: MantissaCorrected
    quirks: list


def _log_histogram_from_counts(zeros: int, decades: np.ndarray, total: int) -> tuple[MarginBin, ...]:
    out = []
    if zeros:
        out.append(MarginBin(lo=0.0, hi=0.0, count=int(zeros), pct=100.0 * int(zeros) / total))
    for i in np.flatnonzero(decades):
        e, c = int(i) - _DECADE_OFFSET, int(decades[i])
        out.append(MarginBin(lo=float(f"1e{e}"), hi=float(f"1e{e + 1}"), count=c, pct=100.0 * c / total))
    return tuple(out)


def _window_row(low16: np.ndarray, low16_total, r: int) -> np.ndarray:
    """Row r of the window's counts as int64: the uint32 counts plus those folded away before."""
    row = low16[r].astype(np.int64)
    return row if low16_total is None else row + low16_total[r]


def _median_from_buckets(top16: np.ndarray, low_of_bucket) -> float | None:
    """np.median of all float32 margins (the middle value, or the float32 mean of the two middle ones) from
    the counts of their top 16 bits and, per bucket, of their low 16 bits: `low_of_bucket(b)` gives the
    (65536,) counts of bucket b, or None when they were not counted (then the result is None).

    Non-negative float32 values sort like their bit patterns as uint32, so the k-th smallest is found by a
    2 x 16-bit radix count."""
    cum = np.cumsum(top16)
    total = int(cum[-1])
    k1, k2 = (total - 1) // 2, total // 2
    vals = []
    for k in (k1, k2):
        b = int(np.searchsorted(cum, k, side="right"))
        low = low_of_bucket(b)
        if low is None:
            return None
        before = int(cum[b - 1]) if b > 0 else 0
        lo16 = int(np.searchsorted(np.cumsum(low), k - before, side="right"))
        vals.append(np.uint32((b << 16) | lo16).view(np.float32))
    return float(np.median(np.array(vals, dtype=np.float32))) if k1 != k2 else float(vals[0])


def _middle_buckets(top16: np.ndarray) -> set[int]:
    """The top-16-bit buckets that hold the middle ranks."""
    cum = np.cumsum(top16)
    total = int(cum[-1])
    return {int(np.searchsorted(cum, k, side="right")) for k in ((total - 1) // 2, total // 2)}


def _exact_median(chunks, top16: np.ndarray) -> float:
    """The median by a second pass over the same prediction `chunks`: the low 16 bits of the margins in the
    buckets that hold the middle ranks, in bounded memory."""
    low = {b: np.zeros(1 << 16, dtype=np.int64) for b in _middle_buckets(top16)}
    for c in chunks:
        bits = np.abs(c.zs).astype(np.float32).view(np.uint32).ravel()
        hi = bits >> np.uint32(16)
        for b, counts in low.items():
            sel = bits[hi == b]
            if sel.size:
                counts += np.bincount((sel & np.uint32(0xFFFF)).astype(np.int64), minlength=1 << 16)
    return _median_from_buckets(top16, low.get)


def margin_report(model: ElmanRNN, xs, per_position_rows: int = PER_POSITION_ROWS,
                  progress=None) -> MarginReport:
    """q1_margins (DEFINITIONS 2) of a text held in memory: `margin_fold` fed by one streamed forward pass."""
    xs = check_model_text(model, xs)
    n1 = xs.shape[0] - 1
    tick = None if progress is None else (lambda done: progress(done, n1))
    tick2 = None if progress is None else (lambda done: progress(n1 + done, 2 * n1))
    (result,) = fold_chunks(prediction_chunks(model, xs, progress=tick, ahead=True),
                            margin_fold(model, xs.shape[0], per_position_rows,
                                        rerun=lambda: prediction_chunks(model, xs, progress=tick2)))
    return result


def margin_fold(model: ElmanRNN, n_bytes: int, per_position_rows: int = PER_POSITION_ROWS, rerun=None,
                slices: SlicePool | None = None):
    """q1_margins (DEFINITIONS 2) on the float32 data trajectory (h_{-1} = 0), t = 0..n-2 of a text of
    n = n_bytes bytes, as a fold over its `rnn.stream.PredictionChunk`s (driven by `rnn.stream.fold_chunks`,
    possibly together with other folds over the same forward pass; the text itself is never needed whole).
    `rerun()` returns the prediction chunks again, for the rare second pass of the median.

    Computed in chunks of the text (rnn.stream): memory is O(chunk x H) plus the outputs, whatever the text
    length; every value equals the whole-text computation (sums carried in index order). One numba pass per
    chunk (`_margin_chunk`) does every per-neuron-step count. The median is an exact order statistic by a
    2 x 16-bit radix count: the low 16 bits are counted for a window of buckets around the first chunk's
    median; only when the final middle ranks fall outside it does a second forward pass run
    (`median_passes`: 1 or 2).

    The result is a `MarginReport`. per_position_rows bounds the 2.2 rows kept (default 1024, the papers' n;
    the last position is always kept). slices: a `rnn.shared_slices.SlicePool` shared with the pass's other
    folds: the two readouts then run as slices on it while this thread counts (the same bits).
    """
    if not isinstance(model, ElmanRNN):
        raise SatrnnInputError(f"expected an ElmanRNN, got {type(model).__name__}")
    if n_bytes < 2:
        raise SatrnnInputError(f"text has {n_bytes} byte(s); this analysis needs at least 2")
    H = model.H
    n1 = int(n_bytes) - 1
    total = n1 * H
    one, tenth = f32(1.0), f32(0.1)
    sign_readout = SignReadout.of(model)       # 2.3's readout of the signs, exact
    # 2.6 constants (per neuron), needed inside the loop for the corrected counts
    Wabs = [em.inorder_sum(np.abs(model.Wh[j]), dtype=np.float32, start=0.0) for j in range(H)]
    two23 = f32(2.0 ** 23)
    delta = [f32(Wj * f32(2.0 ** -23)) for Wj in Wabs]
    d = np.array([float(v) for v in delta])
    d32 = d.astype(np.float32)
    u32 = 2.0 ** -24
    gam = (H + 1) * u32 / (1 - (H + 1) * u32)
    abs_bh = np.abs(model.bh.astype(np.float64))
    abs_wxT = np.abs(model.Wx.T.astype(np.float64))
    abs_wh_rows = np.abs(model.Wh.astype(np.float64)).sum(axis=1)
    # running accumulators (see _margin_chunk)
    cost_sum, sign_sum = em.SequentialSum(), em.SequentialSum()
    pn = np.zeros((6, H), dtype=np.int64)
    mean_sum = 0.0
    minr = np.full(H, np.inf)
    maxb = np.zeros(H)
    S = np.zeros(H, dtype=np.float64)
    counts = np.zeros((_COPIES, PAPER_BINS), dtype=np.int64)
    decades = np.zeros((_COPIES, 2 * _DECADE_OFFSET), dtype=np.int64)
    scratch = np.empty(H, dtype=np.int64)
    found = np.empty(1024, dtype=np.int64)       # flat indices of a chunk's candidates for the smallest margins
    top16 = np.zeros(1 << 16, dtype=np.int64)
    low16 = np.zeros((0, 1 << 16), dtype=np.uint32)   # the window's counts since the last fold into low16_total
    low16_total = None                                # int64, made at the first fold (after 2^32 - 1 counts)
    in_window = 0                                     # increments since then (bounds every uint32 counter)
    win_lo = -1
    mins = np.full(H, np.inf, dtype=np.float32)
    abs_wxT = np.ascontiguousarray(abs_wxT)
    cand = np.zeros((0, 5))          # smallest candidates: (margin, flat index, z, byte x_t, byte x_{t+1})
    per_pos, last_row = [], None
    sliced = SlicedReadout(model) if slices is not None else None
    jobs = []
    try:
        while (chunk := (yield)) is not None:
            t0, hs, zs, x_in, x_next = chunk.t0, chunk.hs, chunk.zs, chunk.x, chunk.x_next
            m = zs.shape[0]
            _check_finite(zs, t0)
            if sliced is not None:      # 2.3's readouts (full float state and its signs) beside the counting
                fjob, costs = sliced.start(hs, x_next, slices)
                sjob, sign_costs = sign_readout.start_costs(pack(hs >= 0), x_next, slices)
                jobs = [fjob, sjob]
            mu = np.abs(zs).astype(np.float32, copy=False)                      # (m, H)
            bits = mu.view(np.uint32)
            cand_thr = cand[-1, 0] if cand.shape[0] == N_SMALLEST else math.inf
            if low16.shape[0] and in_window + mu.size > _WINDOW_FLUSH:     # no uint32 counter can overflow
                low16_total = low16.astype(np.int64) if low16_total is None else low16_total + low16
                low16[:] = 0
                in_window = 0
            in_window += mu.size
            mean_sum, nfound = _margin_chunk(mu, bits, x_in, d32, abs_bh, abs_wxT, abs_wh_rows, gam, _DECADE_LO,
                                             _DECADE_THR, _POW10, win_lo, pn, S, mins, minr, maxb, mean_sum,
                                             counts, decades, top16, low16, cand_thr, found, scratch)
            # readouts: full float state and its signs (2.3)
            if sliced is None:
                costs, _ = readout_costs(model, hs, x_next)
                sign_costs = sign_readout.costs(pack(hs >= 0), x_next)
            for job in jobs:
                job.finish()
            jobs = []
            cost_sum.add(costs)
            sign_sum.add(sign_costs)
            if win_lo < 0:
                # the first chunk fixes a window of buckets around the median so far; the buckets it covers are
                # counted at full resolution from here on (this chunk's by a second look at it), so the exact
                # median usually needs no second forward pass
                b = min(_middle_buckets(top16))
                win_lo = max(0, b - MEDIAN_WINDOW)
                low16 = np.zeros((min(1 << 16, b + MEDIAN_WINDOW + 1) - win_lo, 1 << 16), dtype=np.uint32)
                top = (bits >> np.uint32(16)).astype(np.int64).ravel()
                inw = (top >= win_lo) & (top < win_lo + low16.shape[0])
                np.add.at(low16, (top[inw] - win_lo, (bits.ravel()[inw] & np.uint32(0xFFFF)).astype(np.int64)), 1)
            # the 20 smallest so far (stable: ties by flat index t * H + i); only the chunk's margins <= the
            # 20th so far can enter the list (the kernel lists them; a chunk with more than `found` holds is
            # partitioned whole)
            mflat = mu.ravel()
            if nfound:
                if nfound <= found.shape[0]:
                    idx = found[:nfound]                   # ascending flat index: a stable sort keeps ties by index
                    flat = idx[np.argsort(mflat[idx], kind="stable")[:N_SMALLEST]]
                else:
                    flat = _smallest_of_chunk(mflat, N_SMALLEST)
                new = np.column_stack([mflat[flat].astype(np.float64), (flat + t0 * H).astype(np.float64),
                                       zs.ravel()[flat].astype(np.float64), x_in[flat // H].astype(np.float64),
                                       x_next[flat // H].astype(np.float64)])
                cand = np.vstack([cand, new])
                cand = cand[np.lexsort((cand[:, 1], cand[:, 0]))][:N_SMALLEST]
            # 2.2 per-position rows (bounded: the first per_position_rows and the last)
            keep = list(range(0, max(0, min(m, per_position_rows - t0))))
            if t0 + m == n1 and (not keep or keep[-1] != m - 1):
                keep.append(m - 1)
            for j in keep:
                t = t0 + j
                row_mu = mu[j]
                ns_t = int((row_mu < one).sum())
                row = PositionMargins(
                    t=t, min=float(row_mu.min()), mean=float(f32(em.inorder_sum(row_mu, dtype=np.float32) / f32(H))),
                    n_small=ns_t, n_tiny=int((row_mu < tenth).sum()), bpc_full=float(costs[j]),
                    bpc_sign=float(sign_costs[j]),
                    printed=bool(t < 10 or (t < 100 and t % 10 == 0) or t % 50 == 0 or ns_t > 3 or t == n1 - 1))
                if t < per_position_rows:
                    per_pos.append(row)
                else:
                    last_row = row
    finally:
        for job in jobs:        # an error or Ctrl-C: no slice of this chunk starts any more
            job.stop()
    ns = pn[_SMALL]
    small, tiny, zeros = (int(pn[k].sum()) for k in (_SMALL, _TINY, _ZEROS))
    within_delta, within, max_bound = int(pn[_WITHIN_DELTA].sum()), int(pn[_WITHIN].sum()), float(maxb.max())
    min_over_bound = float(minr.min())
    counts = counts.sum(axis=0)
    decades = decades.sum(axis=0)
    median = _median_from_buckets(
        top16, lambda b: _window_row(low16, low16_total, b - win_lo) if win_lo <= b < win_lo + low16.shape[0] else None)
    median_passes = 1
    if median is None:
        if rerun is None:
            raise SatrnnInputError("the exact median needs a second pass over the text, and no way to rerun "
                                   "it was given")
        median = _exact_median(rerun(), top16)
        median_passes = 2
    if last_row is not None:
        per_pos.append(last_row)
    hist = tuple(MarginBin(bin=int(b), lo=PAPER_BIN_WIDTH * b,
                           hi=PAPER_BIN_WIDTH * (b + 1) if b < PAPER_BINS - 1 else math.inf, count=int(c),
                           pct=100.0 * int(c) / total) for b, c in enumerate(counts) if c)
    order = np.argsort(S, kind="stable")
    lowest = tuple(NeuronMargin(neuron=int(i), mean=float(S[i] / n1), min=float(mins[i]), n_small=int(ns[i]))
                   for i in order[:20])
    smallest = []
    for v, fi, z, b0, b1 in cand:
        f = int(fi)
        smallest.append(SmallMargin(t=f // H, neuron=f % H, margin=float(f32(v)), z=float(f32(z)), byte=int(b0),
                                    next_byte=int(b1)))
    # 2.6 "The Mantissa Cannot Reach" (paper-compatible)
    rows = []
    for j in range(min(5, H)):
        mbar = f32(S[j] / n1)
        ratio = float(mbar) / (float(delta[j]) if delta[j] != 0 else 1e-10)
        rows.append(MantissaRow(neuron=j, W=float(Wabs[j]), delta=float(delta[j]), mean_margin=float(mbar),
                                ratio=ratio))
    delta_max = max(f32(Wj / two23) for Wj in Wabs)
    mu_min = f32(mins.min())
    safety = float(f32(mu_min / delta_max)) if delta_max != 0 else math.inf
    mantissa = Mantissa(rows=tuple(rows), delta_max=float(delta_max), mu_min=float(mu_min), safety_factor=safety,
                        closing_line_unconditional=True)
    with np.errstate(divide="ignore"):
        min_ratio = np.where(d > 0, mins / np.where(d > 0, d, 1.0), np.inf)
    corrected = MantissaCorrected(min_ratio=float(min_ratio.min()), argmin_neuron=int(np.argmin(min_ratio)),
                                  steps_with_margin_at_most_delta=within_delta, max_accumulation_bound=max_bound,
                                  steps_within_accumulation_bound=within, min_margin_over_bound=min_over_bound)
    quirks = [
        "2.3: bpc_sign_readout binarises only the readout; the recurrence keeps float h (not sign dynamics; "
        "see boolean_report dynamics)",
        "2.6: the closing line 'Mantissa CANNOT flip any sign' is printed unconditionally by the program",
        "2.6: per-neuron ratios use MEAN margins; whether a sign can flip depends on the MINIMUM margin "
        "(mantissa_corrected)",
        "2.6: the model assumption |dh| <= 2^-23 is not the float32 accumulation error of z; "
        "mantissa_corrected also gives the rigorous bound gamma_{H+1} * sum|terms|",
    ]
    return MarginReport(
        n_bytes=int(n_bytes), steps=n1, H=H, neuron_steps=total, mean_margin=float(mean_sum) / total,
        small=small, small_pct=100.0 * small / total, tiny=tiny, tiny_pct=100.0 * tiny / total,
        frac_below_1=small / total, frac_below_0_1=tiny / total, min_margin=float(mu_min), median_margin=median,
        median_passes=median_passes, bpc_full=float(cost_sum.value) / n1,
        bpc_sign_readout=float(sign_sum.value) / n1, histogram=hist,
        histogram_log=_log_histogram_from_counts(zeros, decades, total),
        per_neuron=PerNeuronMargins(mean=(S / n1).tolist(), min=mins.astype(np.float64).tolist(),
                                    n_small=ns.astype(int).tolist()),
        per_neuron_lowest=lowest, smallest=tuple(smallest), per_position=tuple(per_pos),
        per_position_omitted=n1 - len(per_pos), mantissa=mantissa, mantissa_corrected=corrected, quirks=quirks)
