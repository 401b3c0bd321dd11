"""The float32 nearest to an exact real sum of products: the arithmetic of the PyTorch import mapping.

`f32_nearest_dot(A, B)` returns, for every (i, j), the float32 nearest (ties to even) to the exact real value
of sum_k A[i, k] * B[k, j], with A (n, K) and B (K, m) float64. No bit depends on the host: there is no BLAS,
no fused multiply-add and no summation order in the answer (the exact value has none).

Signed zeros follow IEEE 754 round-to-nearest addition of the products in any order: an exact sum of 0 is
-0.0 only when every product is -0.0 (e.g. b_ih = b_hh = -0.0), else +0.0; a nonzero sum too small for
float32 rounds to a zero of its own sign. A sum beyond the float32 range gives +-inf (callers refuse it).

How: a fast path sums the products in double in k order (each IEEE operation correctly rounded, vectorised
over i, j) and bounds the error rigorously (Higham, Accuracy and Stability, eq. 3.5 / 4.4):
    |s_computed - s_exact| <= (K + 2) * 2^-52 * sum_k |a_k b_k| + K * 2^-1073
(the K * 2^-1073 term covers products that underflow in double; float32, float16 and bfloat16 inputs have
exact double products). Rounding to float32 is monotone, so when both ends of [s - bound, s + bound] round to
the same float32 (same bits) every real in between does too, the exact sum included. The few entries whose
interval straddles a float32 rounding boundary (or that overflow) are recomputed with exact rational
arithmetic (`fractions.Fraction`) and rounded correctly.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

_F32_OVERFLOW = 2.0 ** 128   # the "next float32" after FLT_MAX, where rounding to float32 overflows


def f32_nearest_dot(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """float32 (n, m): nearest-even float32 of the exact sum_k A[i, k] B[k, j]; A (n, K), B (K, m) float64."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    B = np.ascontiguousarray(B, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0] or A.shape[1] < 1:
        raise ValueError(f"f32_nearest_dot: shapes {A.shape} and {B.shape} do not chain")
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise ValueError("f32_nearest_dot: inputs must be finite")
    K = A.shape[1]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        s = A[:, 0, None] * B[None, 0, :]           # starting from the first product keeps IEEE's zero signs
        mag = np.abs(s)
        for k in range(1, K):
            t = A[:, k, None] * B[None, k, :]
            s += t
            mag += np.abs(t)
        bound = (K + 2) * 2.0 ** -52 * mag + K * 2.0 ** -1073
        lo = np.nextafter(s - bound, -np.inf).astype(np.float32)
        hi = np.nextafter(s + bound, np.inf).astype(np.float32)
        out = s.astype(np.float32)
    # Products of exact zeros: the double sum is exact, its sign of zero is IEEE's.
    all_zero = ((A != 0).astype(np.float64) @ (B != 0).astype(np.float64)) == 0   # integer counts: exact
    decided = all_zero | ((lo.view(np.uint32) == hi.view(np.uint32)) & np.isfinite(lo) & np.isfinite(s))
    out = np.where(all_zero, out, lo)
    for i, j in zip(*np.nonzero(~decided)):
        out[i, j] = _nearest_f32_of_products(A[i, :], B[:, j])
    return out


def _nearest_f32_of_products(a: np.ndarray, b: np.ndarray) -> np.float32:
    """The slow exact path for one entry: sum the products as rationals, round once to float32."""
    q = sum((Fraction(float(x)) * Fraction(float(y)) for x, y in zip(a, b)), Fraction(0))
    if q == 0:
        # IEEE: -0.0 only if every product is -0.0 (an exactly zero product with a negative sign).
        neg_zero = all((x == 0 or y == 0) and (np.signbit(x) != np.signbit(y)) for x, y in zip(a, b))
        return np.float32(-0.0) if neg_zero else np.float32(0.0)
    return nearest_f32(q)


def nearest_f32(q: Fraction) -> np.float32:
    """The float32 nearest to the rational q, ties to even (+-inf beyond the float32 range).

    d = float(q) is the correctly rounded double (CPython divides integers with correct rounding). Double
    rounding through d can only go wrong when d is exactly halfway between two float32s: every other real
    within half a double ulp of d rounds the same way. At such a tie the sign of q - d decides.
    """
    d = float(q)                       # correctly rounded; may be +-inf only far beyond the float32 range
    if not np.isfinite(d):
        return np.float32(d)
    with np.errstate(over="ignore"):
        r = np.float32(d)
    r64 = float(r) if np.isfinite(r) else float(np.copysign(_F32_OVERFLOW, d))
    if r64 == d:
        return r
    toward = np.float32(np.inf) if d > r64 else np.float32(-np.inf)
    n = np.nextafter(r, toward)
    n64 = float(n) if np.isfinite(n) else float(np.copysign(_F32_OVERFLOW, r64))
    if d != (r64 + n64) / 2:           # not a float32 tie: rounding d equals rounding q
        return r
    diff = q - Fraction(d)
    if diff == 0:
        return r                       # a true tie: numpy's conversion rounded it to even
    want_up = diff > 0                 # q lies beyond d, away from or toward r
    pick_n = (n64 > r64) == want_up
    if not pick_n:
        return r
    return n if np.isfinite(n) else np.float32(np.copysign(np.inf, r64))
