"""Pre-activation margins on the float trajectory, and the Boolean (sign-only) view of the recurrence.

Follows DEFINITIONS.md section 2 (q1_margins) and section 3 (q1_boolean). Alignment: z_t and h_t come from
reading x_t; h_t (or its signs s_t) predicts x_{t+1}. The programs run t = 0..n-2 (n-1 predictions); pass
the first 1,024 bytes for the papers' n. Both public functions return plain dicts (JSON-able after
`satrnn.clikit` cleaning); keys are documented on each function. Paper-compatible values keep the
papers' arithmetic and quirks; corrected variants are labelled `*_corrected` / explained in `quirks`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from satrnn.automaton.bitset import pack
from satrnn.automaton.sign_readout import SignReadout
from satrnn.rnn.elementary import log_f64
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, readout_costs
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit
from satrnn.rnn.stream import SequentialSum, fold_chunks, prediction_chunks

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


def seq_sum32(a) -> np.float32:
    """fl32 sum with index ascending (the programs' float accumulators)."""
    s = f32(0.0)
    for v in np.asarray(a, dtype=np.float32).ravel():
        s = f32(s + v)
    return s


def seq_sum64(a) -> float:
    """Double sum in index order (cumsum is sequential)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    return float(np.cumsum(a)[-1]) if a.size else 0.0


_DECADE_OFFSET = 64        # float32 magnitudes span decades -46..38


# decade boundaries 10^k, k = -_DECADE_OFFSET.._DECADE_OFFSET, as numpy's float64 power gives them
# 10^k as correctly rounded doubles (Python's decimal parsing, never the host's pow)
_POW10 = np.array([float(f"1e{k}") for k in range(-_DECADE_OFFSET, _DECADE_OFFSET + 1)])
MEDIAN_WINDOW = 16         # top-16-bit buckets counted at full resolution on each side of the first estimate
# integer counters of _margin_chunk
_SMALL, _TINY, _ZEROS, _WITHIN_DELTA, _WITHIN, _NAN_RATIO = range(6)
# float64 accumulators of _margin_chunk
_MEAN_SUM, _MAX_BOUND, _MIN_RATIO = range(3)


@njit
def _margin_chunk(mu, bits, x_in, d32, abs_bh, abs_wxT, abs_wh_rows, gam, pow10, win_lo, ints, flts, S, mins,
                  ns, counts, decades, top16, low16):
    """Every per-neuron-step count of margin_report for one chunk, in one pass, into the accumulators.

    mu (m, H) float32 margins |z_t|, bits their uint32 patterns, x_in (m,) the bytes read. Sums run in the
    order of the whole-text loop (t ascending, then i), so chunked results equal one loop bit for bit:
    flts[_MEAN_SUM] += mu[t, i] (t, i order), S[i] += mu[t, i] (float64). The ratio minimum is per chunk
    (flts[_MIN_RATIO] reset by the caller); an undefined ratio (0 / 0: a zero margin under a zero bound) is
    counted in ints[_NAN_RATIO] and left out of the minimum. low16[b - win_lo, low 16 bits] counts the
    values whose top 16 bits b lie in the window.
    """
    m, H = mu.shape
    one, tenth, five = np.float32(1.0), np.float32(0.1), np.float32(5.0)
    nwin = low16.shape[0]
    for t in range(m):
        x = x_in[t]
        for i in range(H):
            v = mu[t, i]
            v64 = np.float64(v)
            flts[_MEAN_SUM] += v64
            S[i] += v64
            if v < one:
                ints[_SMALL] += 1
                ns[i] += 1
            if v < tenth:
                ints[_TINY] += 1
            if v < mins[i]:
                mins[i] = v
            q = np.float32(v / five)
            counts[int(min(np.float32(49.0), q))] += 1     # trunc of a non-negative float32, capped
            b = bits[t, i]
            if v == 0:
                ints[_ZEROS] += 1
            else:
                # a first guess from the binary exponent (floor(e log10 2) is within 1 of the decade for
                # normal numbers), then the boundaries decide; subnormals take log10
                e = np.int64(b >> np.uint32(23)) - 127
                k = int(math.floor(e * 0.30102999566398120)) if e > -127 \
                    else int(math.floor(log_f64(v64) * 0.4342944819032518))
                while pow10[k + 1 + _DECADE_OFFSET] <= v64:
                    k += 1
                while pow10[k + _DECADE_OFFSET] > v64:
                    k -= 1
                decades[k + _DECADE_OFFSET] += 1
            top = np.int64(b >> np.uint32(16))
            top16[top] += 1
            if win_lo <= top < win_lo + nwin:
                low16[top - win_lo, np.int64(b & np.uint32(0xFFFF))] += 1
            if v <= d32[i]:
                ints[_WITHIN_DELTA] += 1
            bound = gam * ((abs_bh[i] + abs_wxT[x, i]) + abs_wh_rows[i])
            if v64 <= bound:
                ints[_WITHIN] += 1
            if bound > flts[_MAX_BOUND]:
                flts[_MAX_BOUND] = bound
            r = v64 / bound
            if r != r:
                ints[_NAN_RATIO] += 1
            elif r < flts[_MIN_RATIO]:
                flts[_MIN_RATIO] = r


def _smallest_of_chunk(mu_flat: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of the k smallest values, ties by index (= argsort(kind='stable')[:k]), in O(size)."""
    if mu_flat.size <= k:
        return np.argsort(mu_flat, kind="stable")
    kth = np.partition(mu_flat, k - 1)[k - 1]
    idx = np.flatnonzero(mu_flat <= kth)             # ascending: a stable sort keeps ties by index
    return idx[np.argsort(mu_flat[idx], kind="stable")[:k]]


def _log_histogram_from_counts(zeros: int, decades: np.ndarray, total: int) -> list[dict]:
    out = []
    if zeros:
        out.append({"lo": 0.0, "hi": 0.0, "count": int(zeros), "pct": 100.0 * int(zeros) / total})
    for i in np.flatnonzero(decades):
        e, c = int(i) - _DECADE_OFFSET, int(decades[i])
        out.append({"lo": float(f"1e{e}"), "hi": float(f"1e{e + 1}"), "count": c, "pct": 100.0 * c / total})
    return out


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


def margin_report(model: ElmanRNN, xs, per_position_rows: int = PER_POSITION_ROWS, progress=None) -> dict:
    """q1_margins (DEFINITIONS 2) of a text held in memory: `margin_fold` fed by one streamed forward pass."""
    xs = check_model_text(model, xs)
    n1 = xs.shape[0] - 1
    tick = None if progress is None else (lambda done: progress(done, n1))
    tick2 = None if progress is None else (lambda done: progress(n1 + done, 2 * n1))
    (result,) = fold_chunks(prediction_chunks(model, xs, progress=tick),
                            margin_fold(model, xs.shape[0], per_position_rows,
                                        rerun=lambda: prediction_chunks(model, xs, progress=tick2)))
    return result


def margin_fold(model: ElmanRNN, n_bytes: int, per_position_rows: int = PER_POSITION_ROWS, rerun=None):
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

    Keys:
      n_bytes, steps (n-1), H, neuron_steps (H (n-1));
      mean_margin (double, t then i ascending), small / small_pct (mu < 1.0f), tiny / tiny_pct (mu < 0.1f),
      frac_below_1, frac_below_0_1, min_margin, median_margin, median_passes (forward passes it took);
      bpc_full, bpc_sign_readout (2.3: only the readout binarised, float recurrence; quirk in `quirks`);
      histogram (2.4 paper bins: list of {bin, lo, hi, count, pct}, non-empty only),
      histogram_log (decades: {lo, hi, count, pct}, exact zeros as lo = hi = 0);
      per_neuron: {mean (S_i/(n-1)), min, n_small} lists over i; per_neuron_lowest: the 20 neurons with the
        smallest S_i, ascending (2.5: {neuron, mean, min, n_small});
      smallest: the 20 smallest margins ({t, neuron, margin, z, byte (x_t), next_byte (x_{t+1})});
      per_position: list over t < per_position_rows (default 1024, the papers' n) and the last t of
        {t, min, mean (fl32 sum / H), n_small, n_tiny, bpc_full, bpc_sign, printed (the 2.2 row rule)};
        per_position_omitted: how many positions are not listed (bounded output for long texts);
      mantissa (2.6, paper-compatible): rows j = 0..4 {neuron, W, delta, mean_margin, ratio},
        delta_max, mu_min, safety_factor, closing_line_unconditional = True;
      mantissa_corrected: per-neuron ratio of MIN margin to delta ({min_ratio, argmin_neuron}), the number of
        neuron-steps with mu <= delta_i (a 2^-23 state perturbation could flip them), and the rigorous
        float32 accumulation error bound gamma_{H+1}(2^-24) (|bh| + |Wx[., x]| + sum_j |Wh[i, j]|) vs the
        margins ({max_bound, steps_within_bound, min_margin_over_bound});
      quirks: list of strings.
    """
    if not isinstance(model, ElmanRNN):
        raise SatrnnInputError(f"expected an ElmanRNN, got {type(model).__name__}")
    if n_bytes < 2:
        raise SatrnnInputError(f"text has {n_bytes} byte(s); this analysis needs at least 2")
    H = model.H
    n1 = int(n_bytes) - 1
    total = n1 * H
    one, tenth = f32(1.0), f32(0.1)
    sign_readout = SignReadout(model)          # 2.3's readout of the signs, exact and incremental
    # 2.6 constants (per neuron), needed inside the loop for the corrected counts
    Wabs = [seq_sum32(np.abs(model.Wh[j])) for j in range(H)]
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
    cost_sum, sign_sum = SequentialSum(), SequentialSum()
    ints = np.zeros(6, dtype=np.int64)
    flts = np.zeros(3, dtype=np.float64)
    min_over_bound = math.inf
    S = np.zeros(H, dtype=np.float64)
    counts = np.zeros(PAPER_BINS, dtype=np.int64)
    decades = np.zeros(2 * _DECADE_OFFSET, dtype=np.int64)
    top16 = np.zeros(1 << 16, dtype=np.int64)
    low16 = np.zeros((0, 1 << 16), dtype=np.int64)
    win_lo = -1
    mins = np.full(H, np.inf, dtype=np.float32)
    ns = np.zeros(H, dtype=np.int64)
    abs_wxT = np.ascontiguousarray(abs_wxT)
    cand = np.zeros((0, 5))          # smallest candidates: (margin, flat index, z, byte x_t, byte x_{t+1})
    per_pos, last_row = [], None
    while (chunk := (yield)) is not None:
        t0, hs, zs, x_in, x_next = chunk.t0, chunk.hs, chunk.zs, chunk.x, chunk.x_next
        m = zs.shape[0]
        _check_finite(zs, t0)
        mu = np.abs(zs).astype(np.float32)                                  # (m, H)
        bits = mu.view(np.uint32)
        flts[_MIN_RATIO] = math.inf
        _margin_chunk(mu, bits, x_in, d32, abs_bh, abs_wxT, abs_wh_rows, gam, _POW10, win_lo, ints, flts, S,
                      mins, ns, counts, decades, top16, low16)
        if win_lo < 0:
            # the first chunk fixes a window of buckets around the median so far; the buckets it covers are
            # counted at full resolution from here on (this chunk's by a second look at it), so the exact
            # median usually needs no second forward pass
            b = min(_middle_buckets(top16))
            win_lo = max(0, b - MEDIAN_WINDOW)
            low16 = np.zeros((min(1 << 16, b + MEDIAN_WINDOW + 1) - win_lo, 1 << 16), dtype=np.int64)
            top = (bits >> np.uint32(16)).astype(np.int64).ravel()
            inw = (top >= win_lo) & (top < win_lo + low16.shape[0])
            np.add.at(low16, (top[inw] - win_lo, (bits.ravel()[inw] & np.uint32(0xFFFF)).astype(np.int64)), 1)
        min_over_bound = min(min_over_bound, float(flts[_MIN_RATIO]))
        # the 20 smallest so far (stable: ties by flat index t * H + i); a chunk whose minimum cannot
        # enter the list is skipped
        mflat = mu.ravel()
        if cand.shape[0] < N_SMALLEST or float(mflat.min()) <= cand[-1, 0]:
            flat = _smallest_of_chunk(mflat, N_SMALLEST)
            new = np.column_stack([mflat[flat].astype(np.float64), (flat + t0 * H).astype(np.float64),
                                   zs.ravel()[flat].astype(np.float64), x_in[flat // H].astype(np.float64),
                                   x_next[flat // H].astype(np.float64)])
            cand = np.vstack([cand, new])
            cand = cand[np.lexsort((cand[:, 1], cand[:, 0]))][:N_SMALLEST]
        # readouts: full float state and its signs (2.3)
        costs, _ = readout_costs(model, hs, x_next)
        sign_costs = sign_readout.costs(pack(hs >= 0), x_next)
        cost_sum.add(costs)
        sign_sum.add(sign_costs)
        # 2.2 per-position rows (bounded: the first per_position_rows and the last)
        keep = list(range(0, max(0, min(m, per_position_rows - t0))))
        if t0 + m == n1 and (not keep or keep[-1] != m - 1):
            keep.append(m - 1)
        for j in keep:
            t = t0 + j
            row_mu = mu[j]
            ns_t = int((row_mu < one).sum())
            row = {"t": t, "min": float(row_mu.min()),
                   "mean": float(f32(np.cumsum(row_mu, dtype=np.float32)[-1] / f32(H))), "n_small": ns_t,
                   "n_tiny": int((row_mu < tenth).sum()), "bpc_full": float(costs[j]),
                   "bpc_sign": float(sign_costs[j]),
                   "printed": bool(t < 10 or (t < 100 and t % 10 == 0) or t % 50 == 0 or ns_t > 3 or t == n1 - 1)}
            if t < per_position_rows:
                per_pos.append(row)
            else:
                last_row = row
    small, tiny, zeros = int(ints[_SMALL]), int(ints[_TINY]), int(ints[_ZEROS])
    within_delta, within, max_bound = int(ints[_WITHIN_DELTA]), int(ints[_WITHIN]), float(flts[_MAX_BOUND])
    median = _median_from_buckets(
        top16, lambda b: low16[b - win_lo] if win_lo <= b < win_lo + low16.shape[0] else None)
    median_passes = 1
    if median is None:
        if rerun is None:
            raise SatrnnInputError("the exact median needs a second pass over the text, and no way to rerun "
                                   "it was given")
        median = _exact_median(rerun(), top16)
        median_passes = 2
    if last_row is not None:
        per_pos.append(last_row)
    hist = [{"bin": int(b), "lo": PAPER_BIN_WIDTH * b, "hi": (PAPER_BIN_WIDTH * (b + 1) if b < PAPER_BINS - 1
                                                            else math.inf),
             "count": int(c), "pct": 100.0 * int(c) / total} for b, c in enumerate(counts) if c]
    order = np.argsort(S, kind="stable")
    lowest = [{"neuron": int(i), "mean": float(S[i] / n1), "min": float(mins[i]), "n_small": int(ns[i])}
              for i in order[:20]]
    smallest = []
    for v, fi, z, b0, b1 in cand:
        f = int(fi)
        smallest.append({"t": f // H, "neuron": f % H, "margin": float(f32(v)), "z": float(f32(z)),
                         "byte": int(b0), "next_byte": int(b1)})
    # 2.6 "The Mantissa Cannot Reach" (paper-compatible)
    rows = []
    for j in range(min(5, H)):
        mbar = f32(S[j] / n1)
        ratio = float(mbar) / (float(delta[j]) if delta[j] != 0 else 1e-10)
        rows.append({"neuron": j, "W": float(Wabs[j]), "delta": float(delta[j]), "mean_margin": float(mbar),
                     "ratio": ratio})
    delta_max = max(f32(Wj / two23) for Wj in Wabs)
    mu_min = f32(mins.min())
    safety = float(f32(mu_min / delta_max)) if delta_max != 0 else math.inf
    mantissa = {"rows": rows, "delta_max": float(delta_max), "mu_min": float(mu_min), "safety_factor": safety,
                "closing_line_unconditional": True}
    with np.errstate(divide="ignore"):
        min_ratio = np.where(d > 0, mins / np.where(d > 0, d, 1.0), np.inf)
    corrected = {"min_ratio": float(min_ratio.min()), "argmin_neuron": int(np.argmin(min_ratio)),
                 "steps_with_margin_at_most_delta": within_delta,
                 "max_accumulation_bound": max_bound,
                 "steps_within_accumulation_bound": within,
                 "min_margin_over_bound": min_over_bound}
    quirks = [
        "2.3: bpc_sign_readout binarises only the readout; the recurrence keeps float h (not sign dynamics; "
        "see boolean_report dynamics)",
        "2.6: the closing line 'Mantissa CANNOT flip any sign' is printed unconditionally by the program",
        "2.6: per-neuron ratios use MEAN margins; whether a sign can flip depends on the MINIMUM margin "
        "(mantissa_corrected)",
        "2.6: the model assumption |dh| <= 2^-23 is not the float32 accumulation error of z; "
        "mantissa_corrected also gives the rigorous bound gamma_{H+1} * sum|terms|",
    ]
    return {
        "n_bytes": int(n_bytes), "steps": n1, "H": H, "neuron_steps": total,
        "mean_margin": float(flts[_MEAN_SUM]) / total, "small": small, "small_pct": 100.0 * small / total,
        "tiny": tiny, "tiny_pct": 100.0 * tiny / total, "frac_below_1": small / total,
        "frac_below_0_1": tiny / total, "min_margin": float(mu_min),
        "median_margin": median, "median_passes": median_passes,
        "bpc_full": float(cost_sum.value) / n1, "bpc_sign_readout": float(sign_sum.value) / n1,
        "histogram": hist, "histogram_log": _log_histogram_from_counts(zeros, decades, total),
        "per_neuron": {"mean": (S / n1).tolist(), "min": mins.astype(np.float64).tolist(),
                       "n_small": ns.astype(int).tolist()},
        "per_neuron_lowest": lowest, "smallest": smallest, "per_position": per_pos,
        "per_position_omitted": n1 - len(per_pos),
        "mantissa": mantissa, "mantissa_corrected": corrected, "quirks": quirks,
    }


@dataclass(frozen=True)
class MarginSummary:
    """The headline numbers of `margin_report`, typed (what the ledger, the report and `satrnn margins`
    read): neuron-steps H (n-1); mean / median / min margin |z|; small = margins < 1.0f and its percent;
    tiny = margins < 0.1f and its percent; bpc of the full readout and of the sign readout (float
    recurrence). Built from a report by `MarginSummary.of`, which fails at once on a missing key."""
    neuron_steps: int
    mean_margin: float
    median_margin: float
    min_margin: float
    small: int
    small_pct: float
    tiny: int
    tiny_pct: float
    bpc_full: float
    bpc_sign_readout: float

    @classmethod
    def of(cls, report: dict) -> MarginSummary:
        return cls(**{f.name: report[f.name] for f in fields(cls)})
