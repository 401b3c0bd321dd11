"""The readout of a trajectory of sign states, exactly and fast.

The costs are those of `rnn.forward.readout_costs` on the +-1 float32 vectors of the states (DEFINITIONS 0.4
with v = +-1: L[o] = dbl(by[o]) + sum_j dbl(fl32(Wy[o][j] s_j)), j ascending, then the double softmax), bit
for bit, without the ordered sum over all H neurons at every step:

- For an output o whose terms are all multiples of one quantum q (the ulp of its smallest nonzero float32
  term: Wy[o][j], or by[o]) and whose magnitude bound |by[o]| + sum_j |Wy[o][j]| is at most 2^52 q, every
  signed subset sum of its terms is an exactly representable double, so the ordered double sum equals the
  exact sum whatever the signs and whatever the order ("exact" outputs; the same test as `automaton.redux`'s
  exact cells).
- The other outputs are summed again in the reference order at every step.

Two ways to add the exact outputs' terms, both exact, chosen by H:
- tables (H up to about 1,000): the neurons in groups of b (8 at H = 128); per group, a table of the 2^b
  logit vectors sum_{j in group} s_j Wy[.][j], one per sign pattern (8 MB at most). A step adds H / b table
  rows (16 at H = 128), whatever flipped. Steps are independent.
- deltas (larger H): a step adds 2 s_j Wy[o][j] for each neuron j that flipped. A trajectory is cut into
  segments of fixed length, each starting from a full ordered readout.
Either way the result does not depend on the number of threads. Outputs outside a model's vocabulary stay
at -inf.
"""
from __future__ import annotations

import math

import numpy as np

from satrnn.automaton.bitset import trailing_zeros64
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import READOUT_ROWS as _ROWS
from satrnn.rnn.forward import as_bytes
from satrnn.rnn.forward import cost_bits_kernel as _cost_bits
from satrnn.rnn.forward import logits_kernel as _logits_t
from satrnn.rnn.forward import matvec_rows_kernel as _matvec_rows
from satrnn.rnn.forward import rows_sum_kernel as _rows_sum
from satrnn.rnn.forward import softmax_rows_kernel as _softmax_rows
from satrnn.rnn.forward import softmax_scratch_kernel as _softmax_scratch
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit, njit_parallel, prange
from satrnn.rnn.shared_slices import SlicePool

_SEGMENT = 128      # steps per segment (each starts with one full readout, about 3 steps' worth of deltas); a
                    # 2,048-byte chunk is 16 segments, 4 tasks of _LANES; fixed, so any thread count gives the
                    # same segments (and exact sums the same bits)
_LANES = _ROWS      # segments advanced together: the rows `_softmax_rows` interleaves
_BLOCKS_PER_TASK = 32   # table blocks of _LANES steps per parallel task (128 steps): scratch allocated per task


def exact_outputs(model: ElmanRNN) -> np.ndarray:
    """bool (256,): the outputs whose sign readout is exact for every sign pattern (module docstring)."""
    Wy = model.Wy.astype(np.float64)
    by = model.by.astype(np.float64)
    terms = np.concatenate([Wy, by[:, None]], axis=1)
    nz = terms != 0
    exp_field = (model.Wy.view(np.uint32) >> 23) & 0xFF
    exp_field = np.concatenate([exp_field, ((model.by.view(np.uint32) >> 23) & 0xFF)[:, None]], axis=1)
    e = np.where(nz, np.maximum(exp_field, 1), 255).min(axis=1).astype(np.int64)
    bound = np.abs(terms).sum(axis=1)        # rounding of this bound is covered by the 2x margin below
    limit = np.array([math.ldexp(1.0, int(k) - 150 + 52) for k in e])
    return (e == 255) | (bound <= limit)


@njit
def _unpack_signs(words, H, s):
    for j in range(H):
        s[j] = np.float32(1.0) if (words[j >> 6] >> np.uint64(j & 63)) & np.uint64(1) else np.float32(-1.0)


@njit
def _inexact_logits(WyT, by64, inexact, s, L):
    """L[o] for the inexact outputs o, summed again in the reference order: dbl(by[o]) + sum_j
    dbl(fl32(Wy[o][j] s_j)), j ascending (s float32 +-1)."""
    for q in range(inexact.shape[0]):
        o = inexact[q]
        acc = by64[o]
        for j in range(s.shape[0]):
            acc += WyT[j, o] * s[j]          # the float32 product, widened
        L[o] = acc


@njit
def _lanes(WyT, Wd, by64, inexact, bits, targets, clamp, costs, t0, t1):
    """Segments [t0[k], t1[k]) for the _LANES = 4 lanes k, advanced in lockstep so that their softmax sums
    run interleaved (`rnn.forward._softmax_rows`: four independent add chains hide each other's latency).

    Each lane starts with a full ordered readout; a step adds the deltas Wd[j, o] * (+-2) of its flipped
    neurons (exact outputs: Wd holds Wy.T there, in float32 when 2 Wy is finite, so a delta row is half the
    bytes; zeros elsewhere) and recomputes the inexact outputs in the reference order. A lane past its end
    keeps its last logits (computed, never stored); an empty lane reads nothing."""
    H = WyT.shape[0]
    W = bits.shape[1]
    L, E, mx, Z = _softmax_scratch()
    L[:] = 0.0                                  # an empty lane's logits: read by the softmax, never stored
    s = np.empty((_LANES, H), dtype=np.float32)
    rows = np.empty(H, dtype=np.int64)          # one lane's flipped neurons at this step and their deltas 2 s_j
    vals = np.empty(H, dtype=Wd.dtype)
    two = Wd.dtype.type(2.0)
    n = 0
    for k in range(_LANES):
        n = max(n, t1[k] - t0[k])
    for i in range(n):
        for k in range(_LANES):
            t = t0[k] + i
            if t >= t1[k]:
                continue
            Lk = L[k]
            sk = s[k]
            if i == 0:
                _unpack_signs(bits[t], H, sk)
                _logits_t(WyT, by64, sk, Lk)
                continue
            nf = 0
            for w in range(W):
                d = bits[t, w] ^ bits[t - 1, w]
                while d != np.uint64(0):
                    b = np.uint64(trailing_zeros64(d))
                    d ^= np.uint64(1) << b
                    j = w * 64 + np.int64(b)
                    up = ((bits[t, w] >> b) & np.uint64(1)) == np.uint64(1)
                    sk[j] = np.float32(1.0) if up else np.float32(-1.0)
                    rows[nf] = j
                    vals[nf] = two if up else -two
                    nf += 1
            _matvec_rows(Lk, Wd, vals, rows, nf)    # L[o] += 2 s_j Wy[o][j] for the flips: exact outputs exactly
            _inexact_logits(WyT, by64, inexact, sk, Lk)
        _softmax_rows(L, E, mx, Z)
        for k in range(_LANES):
            t = t0[k] + i
            if t < t1[k]:
                costs[t] = _cost_bits(E[k, targets[t]] / Z[k], clamp)


@njit
def _segment_bounds(g, n, t0, t1):
    """t0, t1 (_LANES,): the segments of task g of a trajectory of n steps (_LANES consecutive segments of
    _SEGMENT steps, the last one shorter; empty past the end)."""
    for k in range(_LANES):
        seg = g * _LANES + k
        t0[k] = min(n, seg * _SEGMENT)
        t1[k] = min(n, (seg + 1) * _SEGMENT)


@njit_parallel
def _trajectory_costs(WyT, Wd, by64, inexact, bits, targets, clamp, costs):
    """Segments of _SEGMENT steps (the last one shorter), _LANES consecutive ones to a task (`_lanes`); the
    tasks are independent, so any number of threads gives the same bits."""
    n = bits.shape[0]
    ntask = ((n + _SEGMENT - 1) // _SEGMENT + _LANES - 1) // _LANES
    for g in prange(ntask):
        t0 = np.empty(_LANES, dtype=np.int64)
        t1 = np.empty(_LANES, dtype=np.int64)
        _segment_bounds(g, n, t0, t1)
        _lanes(WyT, Wd, by64, inexact, bits, targets, clamp, costs, t0, t1)


@njit
def _trajectory_costs_serial(WyT, Wd, by64, inexact, bits, targets, clamp, costs):
    """`_trajectory_costs` on the calling thread (no parallel region: for `rnn.shared_slices`)."""
    n = bits.shape[0]
    ntask = ((n + _SEGMENT - 1) // _SEGMENT + _LANES - 1) // _LANES
    t0 = np.empty(_LANES, dtype=np.int64)
    t1 = np.empty(_LANES, dtype=np.int64)
    for g in range(ntask):
        _segment_bounds(g, n, t0, t1)
        _lanes(WyT, Wd, by64, inexact, bits, targets, clamp, costs, t0, t1)


_TABLE_BYTES = 1 << 23   # the largest pattern table (8 MB: H = 128 at b = 8; it sits in the last-level cache)


def group_width(H: int) -> int:
    """Neurons per table group: the largest b in 4..8 whose tables (ceil(H / b) 2^b rows of 256 doubles) fit
    in _TABLE_BYTES; 0 (use deltas) when even b = 4 does not (H > 1,024). A step then adds at most H / 4
    table rows, about as many as the neurons that flip in a step of the published trajectories (0.36 H)."""
    for b in range(8, 3, -1):
        if -(-H // b) * (1 << b) * 256 * 8 <= _TABLE_BYTES:
            return b
    return 0


@njit
def _fill_tables(WdT, b, T):
    """T[(g << b) + p, o] = sum over the neurons j = g b + k < H of (+Wd[j, o] if bit k of p else -Wd[j, o]):
    from the all-minus pattern, each pattern adds 2 Wd[j, o] for its lowest set bit to the pattern without
    it. Every intermediate is a signed subset sum of an exact output's terms, so every entry is exact."""
    H = WdT.shape[0]
    G = T.shape[0] >> b
    for g in range(G):
        base = g << b
        for o in range(256):
            T[base, o] = 0.0
        for k in range(b):
            j = g * b + k
            if j < H:
                for o in range(256):
                    T[base, o] -= np.float64(WdT[j, o])
        for p in range(1, 1 << b):
            k = 0
            while not (p >> k) & 1:
                k += 1
            j = g * b + k
            q = base + (p & (p - 1))
            for o in range(256):
                T[base + p, o] = T[q, o] + 2.0 * np.float64(WdT[j, o]) if j < H else T[q, o]


@njit
def _pattern_rows(b, bits, t, rows):
    """rows[g] = the table row of group g's sign pattern in state bits[t]: (g << b) + its b bits."""
    W = bits.shape[1]
    mask = np.uint64((1 << b) - 1)
    for g in range(rows.shape[0]):
        j = g * b
        w = j >> 6
        sh = j & 63
        v = bits[t, w] >> np.uint64(sh)
        if sh + b > 64 and w + 1 < W:
            v |= bits[t, w + 1] << np.uint64(64 - sh)
        rows[g] = (g << b) + np.int64(v & mask)


@njit
def _table_block(b, T, WyT, by64, inexact, bits, targets, clamp, costs, r0, L, E, mx, Z, rows, s):
    """Steps r0 .. r0 + _LANES - 1 (fewer at the end; a short block repeats its last step, computed, never
    stored): per step the group patterns' table rows added to by (exact outputs) and the inexact outputs in
    the reference order; then their softmax sums interleaved (`rnn.forward._softmax_rows`)."""
    m = bits.shape[0]
    H = WyT.shape[0]
    G = rows.shape[0]
    n = min(_LANES, m - r0)
    for k in range(_LANES):
        Lk = L[k]
        for o in range(256):
            Lk[o] = by64[o]
        _pattern_rows(b, bits, r0 + min(k, n - 1), rows)
        _rows_sum(Lk, T, rows, G)        # the exact outputs: a sum of exact values, in any order
        if inexact.shape[0]:
            _unpack_signs(bits[r0 + min(k, n - 1)], H, s)
            _inexact_logits(WyT, by64, inexact, s, Lk)
    _softmax_rows(L, E, mx, Z)
    for k in range(n):
        costs[r0 + k] = _cost_bits(E[k, targets[r0 + k]] / Z[k], clamp)


@njit_parallel
def _table_costs(b, T, WyT, by64, inexact, bits, targets, clamp, costs):
    """Blocks of _LANES steps (`_table_block`), _BLOCKS_PER_TASK to a task (one set of scratch arrays per
    task); each block writes only its own costs, so any number of threads gives the same bits."""
    nblk = (bits.shape[0] + _LANES - 1) // _LANES
    ntask = (nblk + _BLOCKS_PER_TASK - 1) // _BLOCKS_PER_TASK
    for task in prange(ntask):
        _table_blocks(b, T, WyT, by64, inexact, bits, targets, clamp, costs, task * _BLOCKS_PER_TASK,
                      min(nblk, (task + 1) * _BLOCKS_PER_TASK))


@njit
def _table_blocks(b, T, WyT, by64, inexact, bits, targets, clamp, costs, blk0, blk1):
    """Blocks blk0 .. blk1 - 1 of `_table_costs` on the calling thread, with one set of scratch arrays
    (blk0 = 0, blk1 = all: the whole trajectory with no parallel region, for `rnn.shared_slices`)."""
    H = WyT.shape[0]
    G = (H + b - 1) // b
    L, E, mx, Z = _softmax_scratch()
    rows = np.empty(G, dtype=np.int64)
    s = np.empty(H, dtype=np.float32)
    for blk in range(blk0, blk1):
        _table_block(b, T, WyT, by64, inexact, bits, targets, clamp, costs, blk * _LANES, L, E, mx, Z, rows, s)


_LAST: list = []      # the last SignReadout.of: (model, readout); one slot, so at most one model is kept alive


class SignReadout:
    """The sign readout of one model, its exact outputs classified once (`exact_outputs`)."""

    @classmethod
    def of(cls, model: ElmanRNN) -> SignReadout:
        """The readout of `model`, shared by the callers that ask for the same model object in a row (the
        margins and Boolean folds of one pass): one set of pattern tables, built once."""
        last = _LAST[:]
        if last and last[0][0] is model:
            return last[0][1]
        r = cls(model)
        _LAST[:] = [(model, r)]
        return r

    def __init__(self, model: ElmanRNN):
        self.model = model
        self.H = model.H
        self.WyT = np.ascontiguousarray(model.Wy.T)
        ex = exact_outputs(model)
        if model.vocab is not None:
            ex |= ~model.vocab_mask()            # -inf there: every delta (0) leaves it -inf
        self.exact = ex
        self.inexact = np.ascontiguousarray(np.flatnonzero(~ex), dtype=np.int64)
        # exact outputs take deltas 2 s Wy[o][j] (exact); the inexact ones are recomputed, their deltas unused.
        # The delta rows are float32 (half the bytes per flip) unless 2 Wy could overflow float32.
        dt = np.float32 if float(np.abs(model.Wy).max(initial=0.0)) < 2.0 ** 126 else np.float64
        self.Wd = np.ascontiguousarray(np.where(ex[None, :], self.WyT, 0).astype(dt))
        self.by64 = model.readout_bias64()
        self.b = group_width(self.H)
        self._tables = None

    @property
    def tables(self) -> np.ndarray | None:
        """The pattern tables (ceil(H / b) 2^b, 256) float64, made on first use; None when deltas are used."""
        if self.b and self._tables is None:
            T = np.empty(((-(-self.H // self.b)) << self.b, 256), dtype=np.float64)
            _fill_tables(self.Wd, self.b, T)
            self._tables = T
        return self._tables

    def costs(self, bits: np.ndarray, targets, clamp: bool = True, slices: SlicePool | None = None) -> np.ndarray:
        """Costs in bits (m,) of targets (m,) under the sign states bits (m, W) packed uint64 (row t's
        prediction of targets[t]): bit-identical to `readout_costs(model, to_signs(bits), targets)`.
        slices: run as slices on that pool (`start_costs`) instead of a parallel region."""
        if slices is not None:
            job, costs = self.start_costs(bits, targets, slices, clamp)
            job.finish()
            return costs
        bits, targets = self._checked(bits, targets)
        m = bits.shape[0]
        costs = np.empty(m, dtype=np.float64)
        if m == 0:
            return costs
        if self.b:
            _table_costs(self.b, self.tables, self.WyT, self.by64, self.inexact, bits, targets, clamp, costs)
        else:
            _trajectory_costs(self.WyT, self.Wd, self.by64, self.inexact, bits, targets, clamp, costs)
        return costs

    def start_costs(self, bits: np.ndarray, targets, slices: SlicePool, clamp: bool = True):
        """(job, costs): `costs(bits, targets, clamp)` started as slices on the pool `slices`
        (`rnn.shared_slices`: serial kernels, no parallel region); `costs` is filled once `job.finish()`
        has returned. The same bits as `costs`."""
        bits, targets = self._checked(bits, targets)
        costs = np.empty(bits.shape[0], dtype=np.float64)
        by64, inexact, WyT = self.by64, self.inexact, self.WyT
        if self.b:
            b, T = self.b, self.tables

            def fn(lo, hi):
                _table_blocks(b, T, WyT, by64, inexact, bits[lo:hi], targets[lo:hi], clamp, costs[lo:hi], 0,
                              (hi - lo + _LANES - 1) // _LANES)
        else:
            Wd = self.Wd

            def fn(lo, hi):
                _trajectory_costs_serial(WyT, Wd, by64, inexact, bits[lo:hi], targets[lo:hi], clamp, costs[lo:hi])
        return slices.start(fn, bits.shape[0]), costs

    def _checked(self, bits, targets):
        bits = np.ascontiguousarray(bits, dtype=np.uint64)
        targets = as_bytes(targets)
        W = (self.H + 63) // 64
        if bits.ndim != 2 or bits.shape[1] != W:
            raise SatrnnInputError(f"packed states have shape {bits.shape}, expected (m, {W})")
        if targets.shape[0] != bits.shape[0]:
            raise SatrnnInputError(f"{bits.shape[0]} states but {targets.shape[0]} targets")
        return bits, targets
