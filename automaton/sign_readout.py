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
from satrnn.rnn.forward import as_bytes
from satrnn.rnn.forward import cost_bits_kernel as _cost_bits
from satrnn.rnn.forward import logits_kernel as _logits_t
from satrnn.rnn.forward import matvec_rows_kernel as _matvec_rows
from satrnn.rnn.forward import softmax_terms_kernel as _softmax_terms
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit, njit_parallel, prange

_SEGMENT = 512      # steps per segment (each starts with one full readout; a 2,048-byte chunk is 4 parallel
                    # segments); fixed, so any thread count gives the same segments (and exact sums the same bits)


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
def _segment(WyT, WyT64, by64, exact, inexact, bits, targets, clamp, costs, t0, t1):
    H = WyT.shape[0]
    L = np.empty(256, dtype=np.float64)
    E = np.empty(256, dtype=np.float64)
    s = np.empty(H, dtype=np.float32)
    _unpack_signs(bits[t0], H, s)
    _logits_t(WyT, by64, s, L)
    mx, Z = _softmax_terms(L, E)
    costs[t0] = _cost_bits(E[targets[t0]] / Z, clamp)
    W = bits.shape[1]
    rows = np.empty(H, dtype=np.int64)          # this step's flipped neurons and their deltas 2 s_j
    vals = np.empty(H, dtype=np.float64)
    for t in range(t0 + 1, t1):
        nf = 0
        for w in range(W):
            d = bits[t, w] ^ bits[t - 1, w]
            while d != np.uint64(0):
                b = np.uint64(trailing_zeros64(d))
                d ^= np.uint64(1) << b
                j = w * 64 + np.int64(b)
                up = ((bits[t, w] >> b) & np.uint64(1)) == np.uint64(1)
                s[j] = np.float32(1.0) if up else np.float32(-1.0)
                rows[nf] = j
                vals[nf] = 2.0 if up else -2.0
                nf += 1
        _matvec_rows(L, WyT64, vals, rows, nf)   # L[o] += 2 s_j Wy[o][j] for the flips: exact outputs exactly
        for k in range(inexact.shape[0]):
            o = inexact[k]
            acc = by64[o]
            for j in range(H):
                acc += WyT[j, o] * s[j]          # the float32 product, widened: the reference order
            L[o] = acc
        mx, Z = _softmax_terms(L, E)
        costs[t] = _cost_bits(E[targets[t]] / Z, clamp)


@njit_parallel
def _trajectory_costs(WyT, WyT64, by64, exact, inexact, bits, targets, clamp, costs, nseg):
    n = bits.shape[0]
    for g in prange(nseg):
        t0 = (n * g) // nseg
        t1 = (n * (g + 1)) // nseg
        if t1 > t0:
            _segment(WyT, WyT64, by64, exact, inexact, bits, targets, clamp, costs, t0, t1)


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
        # exact outputs take deltas 2 s Wy[o][j] (exact); the inexact ones are recomputed, their deltas unused
        self.WyT64 = np.ascontiguousarray(np.where(ex[None, :], self.WyT.astype(np.float64), 0.0))
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
        nseg = max(1, -(-m // _SEGMENT))
        _trajectory_costs(self.WyT, self.WyT64, self.by64, self.exact, self.inexact, bits, targets, clamp, costs,
                          nseg)
        return costs
