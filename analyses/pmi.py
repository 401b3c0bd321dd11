"""Skip-bigram PMI of the data and its alignment with the RNN's flip sensitivity (Q7; DEFINITIONS 10, 11).

Data statistics (double): c(x) counts byte x over all n bytes; J_d(x, y) counts s in 0..n-1-d with x_s = x,
x_{s+d} = y. PMI_d(x, y) = log2((J_d/(n-d)) / ((c(x)/n)(c(y)/n))), defined only when all three counts are > 0
(NaN otherwise). Offset d is the distance between the two bytes.

Flip attribution: for a test position t (h_t predicts y = x_{t+1}) and d >= 1, p = t - d + 1 is flipped
(d = 1 flips x_t, the distance from x_p to y is exactly d), h' = R(t, p) (analyses.offsets), and
delta = cost(h', y) - cost(h_t, y) in bits (clamped double readout, DEFINITIONS 0.4).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from satrnn.analyses.offsets import VARIANTS, perturbed_states
from satrnn.rnn import elementary as em
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, readout_costs, run_states
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.record import Record, key

Q7_ALGEBRAIC_POSITIONS = (42, 80, 100, 150, 200, 300, 400, 500)
Q7_MAX_OFFSET = 20
TOP_PMI_MAX_OFFSET = 10
ALIGN_THRESHOLD = 0.5
TRIGRAM_MIN_PAIRS = 3
HIGHER_ORDER_START, HIGHER_ORDER_STRIDE = 30, 4


# ---- data statistics -------------------------------------------------------------------------------

def byte_counts(xs) -> np.ndarray:
    """c(x) over all n bytes: (256,) int64."""
    return np.bincount(as_bytes(xs), minlength=256).astype(np.int64)


def skip_bigram_counts(xs, max_offset: int = Q7_MAX_OFFSET) -> np.ndarray:
    """J[d-1, x, y] = #{s in 0..n-1-d : x_s = x, x_{s+d} = y} for d = 1..max_offset: (D, 256, 256) int64."""
    xs = as_bytes(xs).astype(np.int64)
    n = xs.shape[0]
    J = np.zeros((max_offset, 256, 256), dtype=np.int64)
    for d in range(1, max_offset + 1):         # a loop over offsets, never over positions
        if n - d > 0:
            J[d - 1] = np.bincount(xs[:-d] * 256 + xs[d:], minlength=65536).reshape(256, 256)
    return J


def pmi_tables(xs, max_offset: int = Q7_MAX_OFFSET):
    """(PMI (D, 256, 256) float64 with NaN where undefined, c (256,), J (D, 256, 256))."""
    xs = as_bytes(xs)
    n = xs.shape[0]
    if n < 2:
        raise SatrnnInputError("PMI needs a text of at least 2 bytes")
    c = byte_counts(xs)
    J = skip_bigram_counts(xs, max_offset)
    d = np.arange(1, max_offset + 1, dtype=np.float64)[:, None, None]
    px = (c / n)[None, :, None]
    py = (c / n)[None, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = em.log2((J / (n - d)) / (px * py))      # same operation order as the definition
    defined = (J > 0) & (c[None, :, None] > 0) & (c[None, None, :] > 0)
    return np.where(defined, pmi, np.nan), c, J


@dataclass(frozen=True)
class TopPmi(Record):
    """The largest skip-bigram PMI at offset d: the pair (x, y) (None when no cell is defined) with display
    characters, PMI_d(x, y) in bits, the joint count J_d(x, y) and how many cells tie at the maximum."""
    d: int
    x: int | None
    y: int | None
    x_char: str | None = key(omit_none=True, default=None)
    y_char: str | None = key(omit_none=True, default=None)
    pmi: float | None = None
    joint: int = 0
    ties: int = 0


def top_pmi_per_offset(xs, max_offset: int = TOP_PMI_MAX_OFFSET) -> tuple[TopPmi, ...]:
    """Part 1 of q7_algebraic: per offset the first strict maximum of PMI_d scanning x then y ascending
    from an initial best of -99, so ties go to the lexicographically smallest (x, y). `ties` counts the
    cells attaining the maximum."""
    pmi, c, J = pmi_tables(xs, max_offset)
    rows = []
    for d in range(1, max_offset + 1):
        P = pmi[d - 1]
        ok = ~np.isnan(P)
        if not ok.any() or P[ok].max() <= -99:
            rows.append(TopPmi(d=d, x=None, y=None))
            continue
        best = P[ok].max()
        flat = int(np.flatnonzero(ok.ravel() & (P.ravel() == best))[0])   # row-major = (x, y) lexicographic
        x, y = divmod(flat, 256)
        rows.append(TopPmi(d=d, x=x, y=y, x_char=_show(x), y_char=_show(y), pmi=float(best),
                           joint=int(J[d - 1, x, y]), ties=int((ok & (P == best)).sum())))
    return tuple(rows)


def _show(b: int) -> str:
    return chr(b) if 32 <= b < 127 else "."


# ---- flip attribution ------------------------------------------------------------------------------

def flip_deltas(model: ElmanRNN, xs, positions, max_offset: int, hs=None, chunk: int = 65536):
    """delta[k, d-1] = cost(R(t_k, t_k-d+1), x_{t_k+1}) - cost(h_{t_k}, x_{t_k+1}) for d = 1..max_offset
    (NaN where t-d+1 < 0). `hs`: the stored float32 states (computed if None); only the test positions are
    read out, so long texts cost no full readout. Returns (delta (m, D) float64, base (m,) float64, hs)."""
    xs = as_bytes(xs)
    hs = run_states(model, xs)[0] if hs is None else hs
    T = np.asarray(positions, dtype=np.int64)
    D = max_offset
    delta = np.full((T.shape[0], D), np.nan)
    base = readout_costs(model, hs[T], xs[T + 1])[0] if T.size else np.zeros(0)
    base_rep = np.repeat(base, D)
    tt = np.repeat(T, D)
    dd = np.tile(np.arange(1, D + 1, dtype=np.int64), T.shape[0])
    pp = tt - dd + 1
    ok = np.flatnonzero(pp >= 0)
    flat = delta.reshape(-1)
    for a in range(0, ok.shape[0], chunk):      # bounded memory on long texts
        idx = ok[a:a + chunk]
        hp = perturbed_states(model, xs, hs, tt[idx], pp[idx])
        cost, _ = readout_costs(model, hp, xs[tt[idx] + 1])
        flat[idx] = cost - base_rep[idx]
    return delta, base, hs


def _pmi_lookup(pmi, xs, T, D):
    """pmi(t, d) = PMI_d(x_{t-d+1}, x_{t+1}), 0 where undefined or t-d+1 < 0: (m, D)."""
    out = np.zeros((T.shape[0], D))
    for d in range(1, D + 1):
        p = T - d + 1
        ok = p >= 0
        v = pmi[d - 1, xs[p[ok]], xs[T[ok] + 1]]
        out[ok, d - 1] = np.where(np.isnan(v), 0.0, v)
    return out


@dataclass(frozen=True)
class AlignRow(Record):
    """Offset d of q7_algebraic: A = sum_t |delta(t, d)|, B = the part where PMI > 0.5, aligned% = 100 B / A."""
    d: int  # offset
    A: float  # sum_t |delta(t, d)|, bits
    B: float  # the part with PMI > 0.5, bits
    aligned_percent: float  # 100 B / A


@dataclass(frozen=True)
class FlipCell(Record):
    """A printed cell (d <= 10 or |delta| > 0.3): position t, offset d, the flipped position and its original
    byte, the target x_{t+1}, delta bits and the PMI."""
    t: int
    d: int
    flipped_pos: int
    orig: int
    target: int
    delta: float
    pmi: float


@dataclass(frozen=True)
class Q7Context(Record):
    """A test position t: the 16 bytes up to x_t, the target x_{t+1} (shown as characters) and its bits."""
    t: int
    context: str
    target: str
    base_bits: float


@dataclass(frozen=True)
class AlignTotal(Record):
    """Sums of A and B over offsets, and the aligned percent."""
    A: float  # sum over d, bits
    B: float  # sum over d, bits
    aligned_percent: float  # 100 B / A


@dataclass(frozen=True)
class Q7Algebraic(Record):
    """RNN flip attribution vs data PMI by offset (DEFINITIONS 10.3) at the test positions (< n-2), offsets
    1..max_offset: rows, the printed cells, the contexts, totals, the signed agreement (corrected: the flip
    raises the cost and PMI > 0.5) and the aligned percent over offset bands ("d1_4": ..., sums over the band)."""
    definition: str  # DEFINITIONS reference
    positions: list  # test positions t
    max_offset: int  # d = 1..max_offset
    rows: tuple[AlignRow, ...]  # one per d
    cells: tuple[FlipCell, ...]  # the printed (t, d) cells
    contexts: tuple[Q7Context, ...]  # text around each position
    total: AlignTotal  # over all d
    signed_aligned_percent_corrected: float  # flip raises the cost and PMI > 0.5
    band_percent: dict  # "d1_4": aligned percent over d = 1..4, ...


def q7_algebraic(model: ElmanRNN, xs, positions=Q7_ALGEBRAIC_POSITIONS, max_offset: int = Q7_MAX_OFFSET,
                 hs=None) -> Q7Algebraic:
    """RNN flip attribution vs data PMI by offset (DEFINITIONS 10.3), a `Q7Algebraic`.

    A_d = sum_t |delta(t,d)|, B_d = sum_t |delta| [pmi(t,d) > 0.5], aligned% = 100 B_d / A_d; totals.
    Also (not in the reference) the signed agreement: the |delta|-weighted share of cells where the flip
    raises the cost and PMI > 0.5, which is what "same direction" would require.
    """
    xs = as_bytes(xs)
    n = xs.shape[0]
    T = np.array([t for t in positions if 0 <= t < n - 2], dtype=np.int64)
    if T.size == 0:
        raise SatrnnInputError(f"no q7 test position lies in 0..{n - 3} (text has {n} bytes)")
    pmi, _, _ = pmi_tables(xs, max_offset)
    delta, base, _ = flip_deltas(model, xs, T, max_offset, hs)
    P = _pmi_lookup(pmi, xs, T, max_offset)
    ab = np.where(np.isnan(delta), 0.0, np.abs(delta))
    aligned = P > ALIGN_THRESHOLD
    A = em.inorder_sum(ab)
    B = em.inorder_sum(ab * aligned)
    Bsigned = em.inorder_sum(ab * (aligned & (np.nan_to_num(delta) > 0)))
    rows = tuple(AlignRow(d=d, A=float(A[d - 1]), B=float(B[d - 1]), aligned_percent=_pct(B[d - 1], A[d - 1]))
                 for d in range(1, max_offset + 1))
    cells = []
    for k, t in enumerate(T):
        for d in range(1, max_offset + 1):
            if t - d + 1 >= 0 and (d <= 10 or abs(delta[k, d - 1]) > 0.3):
                p = int(t - d + 1)
                cells.append(FlipCell(t=int(t), d=d, flipped_pos=p, orig=int(xs[p]), target=int(xs[t + 1]),
                                      delta=float(delta[k, d - 1]), pmi=float(P[k, d - 1])))
    sA, sB = float(em.inorder_sum(A, start=0.0)), float(em.inorder_sum(B, start=0.0))
    # aligned % over offset bands: sums over the band, not a mean of percentages
    bands = {f"d{lo}_{hi}": _pct(float(em.inorder_sum(B[lo - 1:hi], start=0.0)),
                                 float(em.inorder_sum(A[lo - 1:hi], start=0.0)))
             for lo, hi in ((1, 4), (5, 8), (9, 15), (16, 20)) if hi <= A.shape[0]}
    return Q7Algebraic(
        definition="q7_algebraic (DEFINITIONS 10)", positions=T.tolist(), max_offset=max_offset, rows=rows,
        cells=tuple(cells),
        contexts=tuple(Q7Context(t=int(t), context="".join(_show(b) for b in xs[max(0, t - 15):t + 1]),
                                 target=_show(int(xs[t + 1])), base_bits=float(base[k])) for k, t in enumerate(T)),
        total=AlignTotal(A=sA, B=sB, aligned_percent=_pct(sB, sA)),
        signed_aligned_percent_corrected=_pct(float(em.inorder_sum(Bsigned, start=0.0)), sA), band_percent=bands)


def _pct(b, a) -> float:
    return 100.0 * float(b) / float(a) if a else 0.0


def higher_order_positions(n: int, start: int = HIGHER_ORDER_START, stride: int = HIGHER_ORDER_STRIDE):
    """t = start, start+stride, ... while t < n-2 (248 positions for n = 1024)."""
    return np.arange(start, max(start, n - 2), stride, dtype=np.int64)


@dataclass(frozen=True)
class HigherOrderRow(Record):
    """Offset d of q7_higher_order: R_d = sum_t |delta|, and the bigram- and trigram-aligned percent of it."""
    d: int
    rnn_sensitivity: float
    bigram_aligned_percent: float
    trigram_aligned_percent: float


@dataclass(frozen=True)
class HigherOrderTotal(Record):
    """Sums over offsets: R, the bigram- and trigram-aligned percent, and the improvement (trigram - bigram)."""
    rnn_sensitivity: float
    bigram_aligned_percent: float
    trigram_aligned_percent: float
    improvement_points: float


@dataclass(frozen=True)
class Q7HigherOrder(Record):
    """Bigram vs "trigram" PMI alignment (DEFINITIONS 11) in `variant` (the pair normalisation it uses) over
    n_positions test positions (first and last), offsets 1..max_offset: rows, totals, and (corrected only)
    totals over d >= 2, where the trigram is defined."""
    definition: str
    variant: str
    trigram_pair_normalisation: str
    n_positions: int
    positions_first_last: list
    max_offset: int
    rows: tuple[HigherOrderRow, ...]
    total: HigherOrderTotal
    total_d2_plus: HigherOrderTotal | None = key(omit_none=True, default=None)


def q7_higher_order(model: ElmanRNN, xs, max_offset: int = Q7_MAX_OFFSET, variant: str = "paper",
                    positions=None, hs=None) -> Q7HigherOrder:
    """Bigram vs "trigram" PMI alignment (DEFINITIONS 11), a `Q7HigherOrder`.

    delta = |cost(h') - base|; R_d = sum_t delta; Bi_d = sum delta [PMI_d(x_p, y) > 0.5];
    Tri_d (d >= 2) = sum delta [pmi3 > 0.5] with pmi3 = log2((ct/(n-d)) / ((cp/norm)(c(y)/n))) when cp >= 3
    and ct > 0, where over s = 0..n-d-1: cp = #(x_s, x_{s+1}) = (a, b), ct adds x_{s+d} = y;
    a = x_{t-d+1}, b = x_{t-d+2}. variant "paper": norm = n-1 (the reference's inconsistent normalisation);
    "corrected": norm = n-d (the number of start positions actually counted).
    "Improvement" = 100 (sum Tri - sum Bi) / sum R. The corrected variant also reports totals over d >= 2
    (Tri_1 is 0 by construction).
    """
    if variant not in VARIANTS:
        raise SatrnnInputError(f"unknown variant {variant!r} (use paper or corrected)")
    xs = as_bytes(xs)
    n = xs.shape[0]
    T = higher_order_positions(n) if positions is None else np.array(
        [t for t in positions if 0 <= t < n - 2], dtype=np.int64)
    if T.size == 0:
        raise SatrnnInputError(f"no higher-order test position lies in 0..{n - 3} (text has {n} bytes)")
    D = max_offset
    pmi, c, _ = pmi_tables(xs, D)
    delta, _, _ = flip_deltas(model, xs, T, D, hs)
    ab = np.where(np.isnan(delta), 0.0, np.abs(delta))
    P2 = _pmi_lookup(pmi, xs, T, D)
    P3 = trigram_pmi(xs, T, D, variant)
    R = em.inorder_sum(ab)
    Bi = em.inorder_sum(ab * (P2 > ALIGN_THRESHOLD))
    Tri = em.inorder_sum(ab * (P3 > ALIGN_THRESHOLD))
    rows = tuple(HigherOrderRow(d=d, rnn_sensitivity=float(R[d - 1]), bigram_aligned_percent=_pct(Bi[d - 1], R[d - 1]),
                                trigram_aligned_percent=_pct(Tri[d - 1], R[d - 1])) for d in range(1, D + 1))

    def total(lo: int) -> HigherOrderTotal:
        """The totals over d > lo (each summed in d order)."""
        r, b, t = (float(em.inorder_sum(v[lo:], start=0.0)) for v in (R, Bi, Tri))
        return HigherOrderTotal(rnn_sensitivity=r, bigram_aligned_percent=_pct(b, r),
                                trigram_aligned_percent=_pct(t, r), improvement_points=_pct(t - b, r))
    d2 = total(1) if variant == "corrected" and D >= 2 else None
    return Q7HigherOrder(definition="q7_higher_order (DEFINITIONS 11)", variant=variant,
                         trigram_pair_normalisation="n-1" if variant == "paper" else "n-d", n_positions=int(T.size),
                         positions_first_last=[int(T[0]), int(T[-1])], max_offset=D, rows=rows,
                         total=total(0), total_d2_plus=d2)


def trigram_pmi(xs, T, max_offset: int, variant: str = "paper") -> np.ndarray:
    """pmi3(t, d) of DEFINITIONS 11.1 for each test position and d = 1..max_offset: (m, D), 0 where not
    computed (d = 1, t-d+1 < 0, cp < 3 or ct = 0)."""
    xs = as_bytes(xs)
    x = xs.astype(np.int64)
    n = x.shape[0]
    T = np.asarray(T, dtype=np.int64)
    c = byte_counts(xs)
    out = np.zeros((T.shape[0], max_offset))
    for d in range(2, max_offset + 1):
        S = n - d                                   # start positions s = 0..n-d-1
        if S <= 0:
            continue
        p = T - d + 1
        ok = p >= 0
        a, b, y = x[p[ok]], x[p[ok] + 1], x[T[ok] + 1]
        pairs = x[:S] * 256 + x[1:S + 1]
        cp = np.bincount(pairs, minlength=65536)[a * 256 + b]
        trip = np.sort(pairs * 256 + x[d:d + S])
        q = (a * 256 + b) * 256 + y
        ct = np.searchsorted(trip, q, side="right") - np.searchsorted(trip, q, side="left")
        norm = (n - 1) if variant == "paper" else (n - d)
        use = (cp >= TRIGRAM_MIN_PAIRS) & (ct > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = em.log2((ct / (n - d)) / ((cp / norm) * (c[y] / n)))
        col = np.zeros(T.shape[0])
        col[ok] = np.where(use, v, 0.0)
        out[:, d - 1] = col
    return out
