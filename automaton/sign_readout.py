"""The readout of a trajectory of sign states, exactly and incrementally.

The costs are those of `rnn.forward.readout_costs` on the +-1 float32 vectors of the states (DEFINITIONS 0.4
with v = +-1: L[o] = dbl(by[o]) + sum_j dbl(fl32(Wy[o][j] s_j)), j ascending, then the double softmax), bit
for bit, but a step costs the neurons that flipped, not all of them:

- For an output o whose terms are all multiples of one quantum q (the ulp of its smallest nonzero float32
  term: Wy[o][j], or by[o]) and whose magnitude bound |by[o]| + sum_j |Wy[o][j]| is at most 2^52 q, every
  partial sum of every sign pattern is an exactly representable double, so the ordered double sum equals
  the exact sum whatever the signs ("exact" outputs; the same test as `automaton.redux`'s exact cells). Its
  logit then moves by exactly 2 s_j Wy[o][j] when neuron j flips to s_j, and deltas can be added in any order.
- The other outputs are summed again in the reference order at every step.
A trajectory is cut into segments (one per thread); each segment starts from a full ordered readout, so the
result does not depend on the number of threads. Outputs outside a model's vocabulary stay at -inf.
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
from satrnn.rnn.forward import softmax_rows_kernel as _softmax_rows
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit, njit_parallel, prange

_SEGMENT = 128      # steps per segment (each starts with one full readout, about 3 steps' worth of deltas); a
                    # 2,048-byte chunk is 16 segments, 4 tasks of _LANES; fixed, so any thread count gives the
                    # same segments (and exact sums the same bits)
_LANES = _ROWS      # segments advanced together: the rows `_softmax_rows` interleaves


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
def _lanes(WyT, Wd, by64, inexact, bits, targets, clamp, costs, t0, t1):
    """Segments [t0[k], t1[k]) for the _LANES = 4 lanes k, advanced in lockstep so that their softmax sums
    run interleaved (`rnn.forward._softmax_rows`: four independent add chains hide each other's latency).

    Each lane starts with a full ordered readout; a step adds the deltas Wd[j, o] * (+-2) of its flipped
    neurons (exact outputs: Wd holds Wy.T there, in float32 when 2 Wy is finite, so a delta row is half the
    bytes; zeros elsewhere) and recomputes the inexact outputs in the reference order. A lane past its end
    keeps its last logits (computed, never stored); an empty lane reads nothing."""
    H = WyT.shape[0]
    W = bits.shape[1]
    L = np.zeros((_LANES, 256), dtype=np.float64)
    E = np.empty((_LANES, 256), dtype=np.float64)
    mx = np.empty(_LANES, dtype=np.float64)
    Z = np.empty(_LANES, dtype=np.float64)
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
            for q in range(inexact.shape[0]):
                o = inexact[q]
                acc = by64[o]
                for j in range(H):
                    acc += WyT[j, o] * sk[j]         # the float32 product, widened: the reference order
                Lk[o] = acc
        _softmax_rows(L, E, mx, Z)
        for k in range(_LANES):
            t = t0[k] + i
            if t < t1[k]:
                costs[t] = _cost_bits(E[k, targets[t]] / Z[k], clamp)


@njit_parallel
def _trajectory_costs(WyT, Wd, by64, inexact, bits, targets, clamp, costs):
    """Segments of _SEGMENT steps (the last one shorter), _LANES consecutive ones to a task (`_lanes`); the
    tasks are independent, so any number of threads gives the same bits."""
    n = bits.shape[0]
    nseg = (n + _SEGMENT - 1) // _SEGMENT
    ntask = (nseg + _LANES - 1) // _LANES
    for g in prange(ntask):
        t0 = np.empty(_LANES, dtype=np.int64)
        t1 = np.empty(_LANES, dtype=np.int64)
        for k in range(_LANES):
            seg = g * _LANES + k
            t0[k] = min(n, seg * _SEGMENT)
            t1[k] = min(n, (seg + 1) * _SEGMENT)
        _lanes(WyT, Wd, by64, inexact, bits, targets, clamp, costs, t0, t1)


class SignReadout:
    """The sign readout of one model, its exact outputs classified once (`exact_outputs`)."""

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

    def costs(self, bits: np.ndarray, targets, clamp: bool = True) -> np.ndarray:
        """Costs in bits (m,) of targets (m,) under the sign states bits (m, W) packed uint64 (row t's
        prediction of targets[t]): bit-identical to `readout_costs(model, to_signs(bits), targets)`."""
        bits = np.ascontiguousarray(bits, dtype=np.uint64)
        targets = as_bytes(targets)
        W = (self.H + 63) // 64
        if bits.ndim != 2 or bits.shape[1] != W:
            raise SatrnnInputError(f"packed states have shape {bits.shape}, expected (m, {W})")
        if targets.shape[0] != bits.shape[0]:
            raise SatrnnInputError(f"{bits.shape[0]} states but {targets.shape[0]} targets")
        m = bits.shape[0]
        costs = np.empty(m, dtype=np.float64)
        if m == 0:
            return costs
        _trajectory_costs(self.WyT, self.Wd, self.by64, self.inexact, bits, targets, clamp, costs)
        return costs
