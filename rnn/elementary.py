"""satrnn's own elementary functions: every transcendental whose bits reach a result is computed here,
with IEEE-754 additions, multiplications and divisions only (no host libm, no FMA), so every host, CPU and
libm gives the same bits.

float32 tanh, two semantics (`TANH_SEMANTICS`, selected by `--tanh` / `tanh=`):
- "fdlibm" (the default): bit-identical to the single-precision tanhf of glibc up to 2.40 (fdlibm's
  algorithm on top of fdlibm's expm1f), which the papers' C programs called and which produced the
  published 0.0792014720 bpc. `expm1f_fdlibm` is bit-identical to that glibc's expm1f.
- "cr": the correctly rounded tanh (round to nearest even), as in glibc >= 2.41 (CORE-MATH) or any
  correctly rounded libm: tanh evaluated in double (`tanh_f64`, relative error < 3 ulp), rounded
  once to float32; the inputs on which that double lies too close to a float32 rounding boundary are
  listed in `_CR_FIXES` with their correctly rounded value (found and proven by
  `scripts/check_tanhf_exhaustive.py`, which checks all 2^32 inputs).

double functions, for the readout, the f64 forward, the trainer and the analyses (stated error bounds are
measured against mpmath by tests/test_elementary.py; each is a fixed sequence of IEEE operations, so its
bits are the same on every host):
- `exp_f64`: exp, |error| < 1 ulp (round to nearest on the reduced argument, degree-13 polynomial);
- `expm1_f64`: expm1, < 2 ulp;  `tanh_f64`: tanh, < 3 ulp (fdlibm's tanh formula on `expm1_f64`);
- `log_f64`, `log2_f64`: natural and base-2 logarithms, < 2 ulp;  `exp_f32`: fl32(exp_f64(x)).

Every function is branch-free (all paths computed, then selected), so that a loop over neurons or output
bytes compiles to 512-bit vector code (`tanh_f32_into`, `tanh_f64_into`, `exp_into`), and the scalar
function is exactly the vector function on one element: the same operations in the same order.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

# the semantics' names live with the model (numba-free, for the CLI); re-exported here with the arithmetic
from satrnn.rnn.model import (  # noqa: F401 (re-exported)
    DEFAULT_TANH,
    TANH_CODES,
    TANH_DESCRIPTIONS,
    TANH_SEMANTICS,
    tanh_code,
)
from satrnn.rnn.numba_config import NJIT_OPTIONS, njit

# ---- bit casts (LLVM bitcast: free, and vectorisable) -----------------------------------------------

@intrinsic
def _f32_bits(typingctx, x):
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def _f32_from_bits(typingctx, i):
    if not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        if v.type.width != 32:
            v = builder.trunc(v, ir.IntType(32))
        return builder.bitcast(v, ir.FloatType())
    return types.float32(i), codegen


@intrinsic
def _f64_bits(typingctx, x):
    if x != types.float64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _f64_from_bits(typingctx, i):
    if not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        if v.type.width != 64:
            v = builder.sext(v, ir.IntType(64))
        return builder.bitcast(v, ir.DoubleType())
    return types.float64(i), codegen


def _f32(bits: int) -> np.float32:
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


def _f64(bits: int) -> np.float64:
    return np.array([bits], dtype=np.uint64).view(np.float64)[0]


# ---- float32: fdlibm's expm1f and tanhf --------------------------------------------------------------
# Constants are float32 globals (numba freezes them as float32 constants, so no operation is widened).

_ZERO = np.float32(0.0)
_QUARTER = np.float32(0.25)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_TWO = np.float32(2.0)
_THREE = np.float32(3.0)
_SIX = np.float32(6.0)
_HUGE = np.float32(1.0e30)
_TINY = np.float32(1.0e-30)
_LN2_HI = _f32(0x3F317180)      # ln 2 rounded to 16 bits: k * _LN2_HI is exact for |k| <= 2^8
_LN2_LO = _f32(0x3717F7D1)      # ln 2 - _LN2_HI
_INVLN2 = _f32(0x3FB8AA3B)
_Q1 = _f32(0xBD088889)          # fdlibm's minimax coefficients of the scaled expm1 rational form
_Q2 = _f32(0x3AD00D01)
_Q3 = _f32(0xB8A670CD)
_Q4 = _f32(0x36867E54)
_Q5 = _f32(0xB457EDBB)
# thresholds on |x| (float32 order equals the order of the magnitude bits)
_X_TINY = _f32(0x33000000)      # 2^-25: expm1f(x) = x below
_X_HALFLN2 = _f32(0x3EB17218)   # 0.5 ln 2: no argument reduction up to here
_X_3HALFLN2 = _f32(0x3F851592)  # 1.5 ln 2: k = +-1 below
_X_27LN2 = _f32(0x4195B844)     # 27 ln 2: expm1f(x) = -1 below -27 ln 2
_X_OVER = _f32(0x42B17218)      # 128 ln 2 (rounded up): overflow above for x > 0
_T_TINY = _f32(0x24000000)      # 2^-55: tanhf(x) = x (1 + x) below
_T_SAT = _f32(0x41B00000)       # 22: tanhf(x) = +-1 from here
_K_CLAMP = np.float32(200.0)    # keeps the float-to-int conversion defined where its lane is discarded


@njit(inline="always")
def _scale_f32(y, k):
    """y with k added to its exponent field (fdlibm's SET_FLOAT_WORD(y, i + (k << 23)))."""
    return _f32_from_bits(_f32_bits(y) + (k << 23))


@njit(inline="always")
def expm1f_fdlibm(x):
    """expm1 of a float32, bit-identical to fdlibm's / glibc <= 2.40's expm1f (every path computed,
    then selected, in fdlibm's order of operations)."""
    ax = abs(x)
    neg = x < _ZERO
    # argument reduction: x = k ln2 + (hi - lo); k = 0 below 0.5 ln2, +-1 below 1.5 ln2, else rounded
    kr = _INVLN2 * x + (-_HALF if neg else _HALF)
    kr = min(max(kr, -_K_CLAMP), _K_CLAMP)
    k = np.int32(kr)                                   # C's truncation toward zero
    k = k if ax >= _X_3HALFLN2 else (np.int32(-1) if neg else np.int32(1))
    k = k if ax > _X_HALFLN2 else np.int32(0)
    kf = np.float32(k)
    hi = x - kf * _LN2_HI                              # exact (k * _LN2_HI has trailing zeros); hi = x if k = 0
    lo = kf * _LN2_LO
    r = hi - lo
    c = (hi - r) - lo
    # x is now r, |r| <= 0.5 ln2 (approximately)
    hfx = _HALF * r
    hxs = r * hfx
    r1 = _ONE + hxs * (_Q1 + hxs * (_Q2 + hxs * (_Q3 + hxs * (_Q4 + hxs * _Q5))))
    t = _THREE - r1 * hfx
    e = hxs * ((r1 - t) / (_SIX - r * t))
    y_k0 = r - (r * e - hxs)
    e = r * (e - c) - c
    e = e - hxs
    y_km1 = _HALF * (r - e) - _HALF
    y_k1 = -_TWO * (e - (r + _HALF)) if r < -_QUARTER else _ONE + _TWO * (r - e)
    y_far = _scale_f32(_ONE - (e - r), k) - _ONE                    # k <= -2 or k > 56
    ks = min(max(k, np.int32(0)), np.int32(31))
    t_lo = _f32_from_bits(np.int32(0x3F800000) - (np.int32(0x1000000) >> ks))   # 1 - 2^-k, 2 <= k < 23
    y_mid_lo = _scale_f32(t_lo - (e - r), k)
    t_hi = _f32_from_bits((np.int32(0x7F) - k) << 23)                          # 2^-k, 23 <= k <= 56
    y_mid_hi = _scale_f32((r - (e + t_hi)) + _ONE, k)
    y = y_mid_lo if k < 23 else y_mid_hi
    y = y_far if (k <= -2 or k > 56) else y
    y = y_k1 if k == 1 else y
    y = y_km1 if k == -1 else y
    y = y_k0 if k == 0 else y
    y = x if ax < _X_TINY else y
    y = (_TINY - _ONE) if (neg and ax >= _X_27LN2) else y            # -1 (also -inf)
    y = (_HUGE * _HUGE) if (not neg and ax >= _X_OVER) else y         # +inf (also +inf)
    return (x + x) if x != x else y                             # NaN


@njit(inline="always")
def tanhf_fdlibm(x):
    """tanh of a float32, bit-identical to fdlibm's / glibc <= 2.40's tanhf."""
    ax = abs(x)
    big = ax >= _ONE
    u = _TWO * ax
    t = expm1f_fdlibm(u if big else -u)
    z = _ONE - _TWO / (t + _TWO) if big else -t / (t + _TWO)
    z = (_ONE - _TINY) if ax >= _T_SAT else z
    z = z if x >= _ZERO else -z
    z = x * (_ONE + x) if ax < _T_TINY else z                        # also +-0
    return (x + x) if x != x else z


# ---- double: exp, expm1, log -------------------------------------------------------------------------

_D_LN2_HI = _f64(0x3FE62E42FEE00000)   # ln 2 with 32 trailing zero bits: k * _D_LN2_HI exact for |k| < 2^21
_D_LN2_LO = _f64(0x3DEA39EF35793C76)   # ln 2 - _D_LN2_HI
_D_INVLN2 = 1.4426950408889634         # 1 / ln 2 (only selects k; any k near x / ln 2 is exact enough)
_D_SHIFT = 6755399441055744.0          # 1.5 * 2^52: adding it rounds to an integer (round to nearest even)
_D_EXP_HI = 709.782712893384           # exp overflows above (ln(DBL_MAX))
_D_EXP_LO = -745.1332191019412         # exp underflows to 0 below (ln of half the smallest subnormal)
_D_INF = np.inf
# Taylor coefficients 1/n! for n = 2..13 as the correctly rounded doubles (|r| <= 0.347: remainder < 2^-58)
_C2, _C3, _C4, _C5 = 0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0
_C6, _C7, _C8, _C9 = 1.0 / 720.0, 1.0 / 5040.0, 1.0 / 40320.0, 1.0 / 362880.0
_C10, _C11, _C12, _C13 = 1.0 / 3628800.0, 1.0 / 39916800.0, 1.0 / 479001600.0, 1.0 / 6227020800.0


@njit(inline="always")
def _expm1_reduced(r):
    """expm1(r) for |r| <= 0.35 as r + r^2 (1/2 + r (1/6 + ...)) (a degree-13 Taylor polynomial)."""
    p = _C13
    p = _C12 + r * p
    p = _C11 + r * p
    p = _C10 + r * p
    p = _C9 + r * p
    p = _C8 + r * p
    p = _C7 + r * p
    p = _C6 + r * p
    p = _C5 + r * p
    p = _C4 + r * p
    p = _C3 + r * p
    p = _C2 + r * p
    return r + (r * r) * p


@njit(inline="always")
def _reduce_ln2(x):
    """(k, r) with x = k ln2 + r, k = round(x / ln 2) as a double, |r| <= 0.347 (Cody-Waite, two parts)."""
    kd = (x * _D_INVLN2 + _D_SHIFT) - _D_SHIFT
    r = (x - kd * _D_LN2_HI) - kd * _D_LN2_LO
    return kd, r


@njit(inline="always")
def _pow2(kd):
    """2^k for an integral double k in [-1022, 1023], exactly (built from the exponent field)."""
    return _f64_from_bits((np.int64(kd) + np.int64(1023)) << 52)


@njit(inline="always")
def exp_f64(x):
    """exp of a double: |error| < 1 ulp; exp(-inf) = 0, exp(+inf) = inf, NaN -> NaN; subnormal results
    rounded once."""
    xc = min(max(x, -746.0), 710.0)                    # keeps k in range on lanes that are discarded
    kd, r = _reduce_ln2(xc)
    p = 1.0 + _expm1_reduced(r)
    # 2^k in two exact factors, so that the result is rounded once also when it is subnormal
    k1 = np.floor(kd * 0.5)
    y = (p * _pow2(k1)) * _pow2(kd - k1)
    y = 0.0 if x < _D_EXP_LO else y
    y = _D_INF if x > _D_EXP_HI else y
    return (x + x) if x != x else y


@njit(inline="always")
def expm1_f64(x):
    """expm1 of a double: < 2 ulp; -1 below -38, inf above ln(DBL_MAX), NaN -> NaN."""
    xc = min(max(x, -40.0), 710.0)
    kd, r = _reduce_ln2(xc)
    p = _expm1_reduced(r)
    # e^x - 1 = 2^k (1 + p) - 1 = 2^k p + (2^k - 1); both terms exact for -40 <= x < 708 (k1 halves 2^k)
    k1 = np.floor(kd * 0.5)
    s1 = _pow2(k1)
    s2 = _pow2(kd - k1)
    y = (p * s1) * s2 + ((s1 * s2) - 1.0)
    y = ((1.0 + p) * s1) * s2 - 1.0 if kd > 56.0 else y     # 2^k - 1 = 2^k there (and 2^1024 would overflow)
    y = p if kd == 0.0 else y
    y = -1.0 if x < -38.0 else y
    y = _D_INF if x > _D_EXP_HI else y
    y = x if abs(x) < 1e-300 else y                    # keeps -0.0 and subnormals exact
    return (x + x) if x != x else y


_D_TANH_TINY = 2.0 ** -55
_D_TANH_SAT = 22.0


@njit(inline="always")
def tanh_f64(x):
    """tanh of a double, < 3 ulp: fdlibm's algorithm (the same formula as `tanhf_fdlibm`) on `expm1_f64`:
    -t / (t + 2) with t = expm1(-2|x|) below 1, 1 - 2 / (t + 2) with t = expm1(2|x|) up to 22, +-1 beyond,
    x (1 + x) = x below 2^-55; odd, tanh(+-0) = +-0, NaN -> NaN."""
    ax = abs(x)
    big = ax >= 1.0
    u = 2.0 * ax
    t = expm1_f64(u if big else -u)
    z = 1.0 - 2.0 / (t + 2.0) if big else -t / (t + 2.0)
    z = 1.0 if ax >= _D_TANH_SAT else z
    z = z if x >= 0.0 else -z
    z = x * (1.0 + x) if ax < _D_TANH_TINY else z
    return (x + x) if x != x else z



_D_SQRT_HALF = 0.7071067811865476
# 1/(2m)! and 1/(2m+1)! for m = 0..8, each the correctly rounded double (cos_f64's Horner coefficients)
_INV_FACT_EVEN = np.array([1.0 / f for f in (1.0, 2.0, 24.0, 720.0, 40320.0, 3628800.0, 479001600.0,
                                             87178291200.0, 20922789888000.0)])
_INV_FACT_ODD = np.array([1.0 / f for f in (1.0, 6.0, 120.0, 5040.0, 362880.0, 39916800.0, 6227020800.0,
                                            1307674368000.0, 355687428096000.0)])
_D_LOG2E = 1.4426950408889634          # 1 / ln 2
_L3, _L5, _L7, _L9 = 1.0 / 3.0, 1.0 / 5.0, 1.0 / 7.0, 1.0 / 9.0
_L11, _L13, _L15, _L17 = 1.0 / 11.0, 1.0 / 13.0, 1.0 / 15.0, 1.0 / 17.0
_L19, _L21, _L23 = 1.0 / 19.0, 1.0 / 21.0, 1.0 / 23.0
_D_TWO54 = 18014398509481984.0         # 2^54: lifts subnormals into the normal range


@njit(inline="always")
def _log_parts(x):
    """(e, lm) with x = 2^e m, m in [sqrt(1/2), sqrt(2)), lm = ln m = 2 atanh((m - 1) / (m + 1)) (series
    in s^2 <= 0.0295 to s^24: remainder < 2^-60). x > 0 finite; the callers select the other cases."""
    sub = x < 2.2250738585072014e-308
    xs = x * _D_TWO54 if sub else x
    bits = _f64_bits(xs)
    e = ((bits >> 52) & np.int64(0x7FF)) - np.int64(1023)
    e = e - np.int64(54) if sub else e
    m = _f64_from_bits((bits & np.int64(0x000FFFFFFFFFFFFF)) | np.int64(0x3FF0000000000000))
    big = m >= 1.4142135623730951
    m = m * 0.5 if big else m
    e = e + np.int64(1) if big else e
    f = m - 1.0                                        # exact (Sterbenz)
    s = f / (2.0 + f)
    z = s * s
    q = _L23
    q = _L21 + z * q
    q = _L19 + z * q
    q = _L17 + z * q
    q = _L15 + z * q
    q = _L13 + z * q
    q = _L11 + z * q
    q = _L9 + z * q
    q = _L7 + z * q
    q = _L5 + z * q
    q = _L3 + z * q
    # ln m = 2 s (1 + z q) = f - s f + 2 s z q  (with 2s = f - s f: the leading term is exact-ish)
    lm = (f - s * f) + (2.0 * s) * (z * q)
    return np.float64(e), lm


@njit(inline="always")
def log_f64(x):
    """Natural logarithm of a double: < 2 ulp; log(0) = -inf, log(x < 0) = NaN, log(inf) = inf."""
    ef, lm = _log_parts(x)
    y = (ef * _D_LN2_HI + lm) + ef * _D_LN2_LO
    y = -_D_INF if x == 0.0 else y
    y = np.nan if x < 0.0 else y
    y = x if x == _D_INF else y
    return (x + x) if x != x else y


@njit(inline="always")
def log2_f64(x):
    """Base-2 logarithm of a double: < 2 ulp; exact for powers of 2; the special cases of `log_f64`."""
    ef, lm = _log_parts(x)
    y = ef + lm * _D_LOG2E
    y = -_D_INF if x == 0.0 else y
    y = np.nan if x < 0.0 else y
    y = x if x == _D_INF else y
    return (x + x) if x != x else y


_D_PIO2_1 = _f64(0x3FF921FB54400000)   # pi/2 in three parts of 33, 33 and 53 bits: k * part exact for k < 2^20
_D_PIO2_2 = _f64(0x3DD0B4611A600000)
_D_PIO2_3 = _f64(0x3BA3198A2E037073)
_D_2OPI = 0.6366197723675814           # 2 / pi (only selects the quadrant)


@njit(inline="always")
def cos_f64(x):
    """cos of a double with |x| < 2^20 (the trainer's cosine schedule), < 2 ulp: x = k pi/2 + r with
    |r| <= pi/4 (three-part Cody-Waite), then the Taylor series of cos r or sin r (to r^18) by quadrant."""
    kd = (x * _D_2OPI + _D_SHIFT) - _D_SHIFT
    r = ((x - kd * _D_PIO2_1) - kd * _D_PIO2_2) - kd * _D_PIO2_3
    z = r * r
    c = 1.0 / 6402373705728000.0               # 1/18!
    s = 1.0 / 355687428096000.0                # 1/17!
    for n in range(16, 1, -2):                 # unrolled by numba: constant trip count
        c = _INV_FACT_EVEN[n // 2] - z * c
        s = _INV_FACT_ODD[n // 2] - z * s
    cr = 1.0 - z * c
    sr = r - (r * z) * s
    q = np.int64(kd) & np.int64(3)
    y = cr if q == 0 else (-sr if q == 1 else (-cr if q == 2 else sr))
    return (x - x) if not abs(x) < 1048576.0 else y


@njit(inline="always")
def exp_f32(x):
    """exp of a float32 argument, rounded once to float32 from `exp_f64`."""
    return np.float32(exp_f64(np.float64(x)))


# ---- float32 tanh, correctly rounded -----------------------------------------------------------------

# Inputs |x| (float32 bits, ascending) whose double evaluation below lies within its error bound of a
# float32 rounding boundary and rounds the wrong way, with the correctly rounded tanh (bits). Generated
# and proven by scripts/check_tanhf_exhaustive.py (an mpmath evaluation of every near-boundary input).
_CR_FIX_X = np.zeros(0, dtype=np.int32)
_CR_FIX_Y = np.zeros(0, dtype=np.int32)


@njit(inline="always")
def _tanh_abs_f64(ax):
    """tanh(ax) for a float32 ax >= 0 widened to double, relative error < 2^-50 (see `tanh_f64`)."""
    return tanh_f64(np.float64(ax))


@njit(inline="always")
def tanhf_cr(x):
    """tanh of a float32, correctly rounded to nearest even."""
    ax = abs(x)
    y = np.float32(_tanh_abs_f64(ax))                  # 1.0 from |x| ~ 9.01 on (also for +inf)
    y = y if x >= _ZERO else -y
    y = x if ax < _X_TINY else y                       # |tanh x - x| < ulp(x) / 2^22: rounds to x
    return (x + x) if x != x else y


@njit
def _tanhf_cr_fixed(x):
    """`tanhf_cr` with the table of proven hard cases applied (binary search on |x|'s bits)."""
    y = tanhf_cr(x)
    n = _CR_FIX_X.shape[0]
    if n == 0:
        return y
    b = _f32_bits(abs(x))
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if _CR_FIX_X[mid] < b:
            lo = mid + 1
        else:
            hi = mid
    if lo < n and _CR_FIX_X[lo] == b:
        v = _f32_from_bits(_CR_FIX_Y[lo])
        return v if x >= _ZERO else -v
    return y


# ---- array kernels: one loop per semantics, vectorised across elements -------------------------------

@njit
def _tanh_fdlibm_into(z, h, n):
    for i in range(n):
        h[i] = tanhf_fdlibm(z[i])


@njit
def _tanh_cr_into(z, h, n):
    for i in range(n):
        h[i] = tanhf_cr(z[i])
    if _CR_FIX_X.shape[0] != 0:
        for i in range(n):
            h[i] = _tanhf_cr_fixed(z[i])


@njit
def _tanh_f64_into(z, h, n):
    for i in range(n):
        h[i] = tanh_f64(z[i])


@njit
def tanh_f32_into(z, h, n, sem):
    """h[i] = tanh(z[i]) for i < n, float32, under semantics code `sem` (0 fdlibm, 1 cr)."""
    if sem == 0:
        _tanh_fdlibm_into(z, h, n)
    else:
        _tanh_cr_into(z, h, n)


@njit
def tanh_f64_into(z, h, n):
    """h[i] = tanh_f64(z[i]) for i < n (the f64 forward's activation)."""
    _tanh_f64_into(z, h, n)


@njit
def exp_into(x, out, n):
    """out[i] = exp_f64(x[i]) for i < n."""
    for i in range(n):
        out[i] = exp_f64(x[i])


# ---- numpy-facing wrappers (for analyses: the same functions on arrays of any shape) ----------------

@njit
def _map_exp(a, out):
    for i in range(a.shape[0]):
        out[i] = exp_f64(a[i])


@njit
def _map_log(a, out):
    for i in range(a.shape[0]):
        out[i] = log_f64(a[i])


@njit
def _map_log2(a, out):
    for i in range(a.shape[0]):
        out[i] = log2_f64(a[i])


@njit
def _map_expm1(a, out):
    for i in range(a.shape[0]):
        out[i] = expm1_f64(a[i])


@njit
def _map_cos(a, out):
    for i in range(a.shape[0]):
        out[i] = cos_f64(a[i])


@njit
def _map_tanh64(a, out):
    for i in range(a.shape[0]):
        out[i] = tanh_f64(a[i])


@njit
def _map_tanh32(a, out, sem):
    tanh_f32_into(a, out, a.shape[0], sem)


@njit
def _map_expm1f(a, out):
    for i in range(a.shape[0]):
        out[i] = expm1f_fdlibm(a[i])


def _apply64(kernel, x):
    a = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(a).reshape(-1)
    out = np.empty_like(flat)
    kernel(flat, out)
    return out.reshape(a.shape) if a.ndim else np.float64(out[0])


def exp(x):
    """Elementwise `exp_f64` of a float64 array (or scalar): numpy's np.exp with satrnn's own bits."""
    return _apply64(_map_exp, x)


def log(x):
    """Elementwise `log_f64` (natural logarithm)."""
    return _apply64(_map_log, x)


def log2(x):
    """Elementwise `log2_f64`."""
    return _apply64(_map_log2, x)


def log10(x):
    """Elementwise log10 as `log_f64(x) / ln 10` (< 3 ulp; not exact at powers of ten: for tolerances, not
    for bin edges, which take `float(f"1e{k}")`)."""
    return _apply64(_map_log, x) / _LN10


_LN10 = 2.302585092994046


def expm1(x):
    """Elementwise `expm1_f64`."""
    return _apply64(_map_expm1, x)


def cos(x):
    """Elementwise `cos_f64` (|x| < 2^20)."""
    return _apply64(_map_cos, x)


def tanh64(x):
    """Elementwise `tanh_f64` (double tanh)."""
    return _apply64(_map_tanh64, x)


def tanh32(x, tanh: str = DEFAULT_TANH):
    """Elementwise float32 tanh of a float32 array under the named semantics ("fdlibm" or "cr")."""
    sem = tanh_code(tanh)
    a = np.asarray(x, dtype=np.float32)
    flat = np.ascontiguousarray(a).reshape(-1)
    out = np.empty_like(flat)
    _map_tanh32(flat, out, sem)
    return out.reshape(a.shape) if a.ndim else np.float32(out[0])


def expm1f(x):
    """Elementwise fdlibm expm1f of a float32 array."""
    a = np.asarray(x, dtype=np.float32)
    flat = np.ascontiguousarray(a).reshape(-1)
    out = np.empty_like(flat)
    _map_expm1f(flat, out)
    return out.reshape(a.shape) if a.ndim else np.float32(out[0])


# ---- dtype-generic forms, for kernels written once for float32 and float64 arrays ---------------------

def tanh_like(x, sem):
    """tanh in x's own precision: float32 under semantics code `sem` (0 fdlibm, 1 cr), float64 `tanh_f64`.
    Callable from numba code only."""


@overload(tanh_like, jit_options=NJIT_OPTIONS)
def _tanh_like_impl(x, sem):
    if x == types.float32:
        return lambda x, sem: tanhf_fdlibm(x) if sem == 0 else _tanhf_cr_fixed(x)
    return lambda x, sem: tanh_f64(x)


def exp_like(x):
    """exp in x's own precision: float32 `exp_f32`, float64 `exp_f64`. Callable from numba code only."""


@overload(exp_like, jit_options=NJIT_OPTIONS)
def _exp_like_impl(x):
    if x == types.float32:
        return lambda x: exp_f32(x)
    return lambda x: exp_f64(x)


# ---- sums in index order (host-independent: no BLAS, whose blocking and FMA depend on the CPU) --------

def inorder_dot(a, b, axis: int = -1) -> np.ndarray:
    """sum_i a[i] * b[i] along `axis`, each product rounded to double and the sum taken strictly in index
    order (numpy's cumulative sum is sequential); a scalar for 1-D inputs."""
    p = np.multiply(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    if p.shape[axis] == 0:
        return np.sum(p, axis=axis)
    return np.take(np.cumsum(p, axis=axis), -1, axis=axis)


def inorder_norm(a, axis: int = -1) -> np.ndarray:
    """The Euclidean norm along `axis`: sqrt of the index-order sum of squares (sqrt is correctly rounded)."""
    return np.sqrt(inorder_dot(a, a, axis))
