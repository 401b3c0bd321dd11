"""The sign automaton of an Elman RNN on packed states: fast, with rigorous per-neuron sign proofs.

Contract (frozen API; `automaton/cycles.py`, `automaton/cascade.py` call the kernels from their own njit code):

State: s in {-1,+1}^H packed as uint64 words (W = ceil(H/64)); bit j % 64 of word j // 64 is 1 iff s_j = +1;
bits >= H are 0 (see `automaton.bitset`, which also defines the hex text form).

Transition under byte x: s'_i = +1 iff z_i >= 0 (a tie at exactly 0, and -0.0, go to +1), with the float32 terms
    bh[i], Wx[i, x], s_j * Wh[i, j] (j = 0..H-1; products with +-1 are exact).
Semantics of z_i (both exact by definition):
- "exact": the exact real-number sum of those float32 terms (order-independent);
- "f32-seq": the papers' arithmetic (DEFINITIONS 0.6 Boolean step B): z = fl32(bh[i] + Wx[i, x]), then
  z = fl32(z + s_j * Wh[i, j]) for j ascending; s'_i = +1 iff z >= 0.

Kernels (njit, callable from other njit functions; states must not alias):
- `_step_packed(tables, state_in (W,) uint64, x, state_out (W,) uint64) -> int` fallbacks in this step;
- `_step_packed_scratch(tables, state_in, x, state_out, z)` the same with a caller-owned scratch
  `z = _new_scratch(tables)` (no allocation per step: use in hot loops; one scratch per thread);
- `_run_packed(tables, state0, xs, out (n, W)) -> int`, row t = the state after reading xs[t];
- `_run_constant_packed(tables, state0, x, steps, final (W,)) -> int`.
`tables` is a `SignTables` namedtuple (one numba argument) holding everything the step needs.
Speed note: the run kernels take the arrays out of the tuple once and call `_tier1(...)` per step, only
when it returns True `_tier2(...)`, and only when that returns nonzero `_tier3_seq`/`_tier3` (the complete
`_resolve_arrays(...)` does the same but pays reference counting per call); that is several times faster
than `_step_packed_scratch` in a loop, so long-running foreign loops may copy `_run_packed`'s pattern.
Reference counting is the main hidden cost: numba increments and decrements every array argument of a
function (atomic operations, ~20 cycles each) on each call when that function passes arrays to another
call or allocates, and a view such as out[t] costs two per step. Hence the per-step kernels make no such
calls, and the run loops keep the states in two fixed buffers used alternately.

How a step decides each sign (three tiers, each rigorous; see "the rigorous bounds" below):
1. int16 fixed point: zq_i = baseq[x, i] + sum_c Tq[c, b_c, i], where b_c is the state's byte of chunk c
   (cs = chunk_size neurons), Tq[c, b, i] ~ sigma_i * sum_k (bit k of b ? +1 : -1) Wh[i, cs c + k] and
   baseq[x, i] ~ sigma_i (bh[i] + Wx[i, x]), rounded to integers with a scale sigma_i per neuron that
   uses the whole int16 range. C = ceil(H/cs) short vector additions per step instead of H*H multiply-adds. Decided if
   |zq_i| > boundq[x, i].
2. float64, for the rare neurons tier 1 leaves open: z~_i = base2[i, x] + the float64 sum of s_j Wh[i, j]
   (eight interleaved partial sums) for that neuron only; decided if |z~_i| > bound[x, i]. (The chunk
   tables T2 hold the same sums per chunk; reading Wh's row, which stays cached, is faster than T2's
   lookups, which miss the cache; T2 stays for cross-checks and `bound` covers both forms.)
3. Fallback: the neuron is recomputed in its semantics: exact with an error-free Shewchuk expansion
   (two-sum partials), f32-seq with the literal sequential float32 loop. These are the counted fallbacks.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit

from .bitset import _popcount64, all_minus, all_plus, from_hex, n_words
from .tier1 import (INT32_UNDECIDABLE, WIDE_SUM_LIMIT, _add_octet_pf, _wide_tier1, parse_tier1,
                    quantised_chunk_tables, tier1_of, wide_scale)

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

# ---- vector helpers (numba intrinsics: LLVM vector code for what numba's loops compile poorly) ---------


@intrinsic
def _positive_mask64(typingctx, a, at):
    """uint64 with bit i = (a[at + i] > 0), i < 64, for a contiguous int16 array (at + 64 <= a.size).

    The 64 comparisons as one LLVM vector compare whose <64 x i1> result is the mask itself: the scalar
    loop `m |= uint64(a[i] > 0) << i` compiles to far more instructions."""
    if not (isinstance(a, types.Array) and a.dtype == types.int16 and a.ndim == 1 and a.layout == "C"):
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        vty = ir.VectorType(ir.IntType(16), 64)
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), vty.as_pointer())
        v = builder.load(ptr, align=2)
        return builder.bitcast(builder.icmp_signed(">", v, ir.Constant(vty, None)), ir.IntType(64))
    return types.uint64(a, types.intp), codegen


@intrinsic
def _within_mask64(typingctx, a, at, b, bt):
    """uint64 with bit i = (|a[at + i]| <= b.flat[bt + i]), i < 64, for C-contiguous int16 arrays with no
    entry of a equal to -32768 (so |a| is exact in int16)."""
    for arr in (a, b):
        if not (isinstance(arr, types.Array) and arr.dtype == types.int16 and arr.layout == "C"):
            return None

    def codegen(context, builder, sig, args):
        vty = ir.VectorType(ir.IntType(16), 64)
        vals = []
        for arg, off, ty in ((args[0], args[1], sig.args[0]), (args[2], args[3], sig.args[2])):
            ary = context.make_array(ty)(context, builder, arg)
            ptr = builder.bitcast(builder.gep(ary.data, [off]), vty.as_pointer())
            vals.append(builder.load(ptr, align=2))
        neg = builder.sub(ir.Constant(vty, None), vals[0])
        absv = builder.select(builder.icmp_signed("<", vals[0], ir.Constant(vty, None)), neg, vals[0])
        return builder.bitcast(builder.icmp_signed("<=", absv, vals[1]), ir.IntType(64))
    return types.uint64(a, types.intp, b, types.intp), codegen


SEMANTICS = ("exact", "f32-seq")
SEM_EXACT = 0
SEM_F32_SEQ = 1
MAX_STEPS = 10**12

SignTables = namedtuple("SignTables", ["params", "baseq", "boundq", "Tq", "base2", "T2", "bound", "Wh", "Wx", "bh"])
SignTables.__doc__ = """Everything one step needs (arrays only, so numba takes it as one argument).

params: int64 [H, W, semantics (0 exact, 1 f32-seq), chunk_size (neurons per chunk), n_chunks].
Neuron axes of the tables are padded to Hp = 64 W (pads: weight 0, never undecided, bit always 0).
baseq, boundq: (256, Hp) int16; Tq: (n_chunks, 2^chunk_size, Hp) int16  (tier 1, scaled by sigma_i).
base2: (Hp, 256) float64 fl64(bh + Wx) (tier 2); T2: (Hp, n_chunks, 2^chunk_size) float64 chunk sums
(the table form of tier 2's sums, for cross-checks; the kernels sum Wh directly); bound: (256, Hp)
float64 (tier 2, valid for both forms).  Wh (H, H), Wx (H, 256), bh (H,): float32 weights (tiers 2, 3).
"""

# ---- the rigorous bounds ---------------------------------------------------------------------------
#
# Notation. S[x, i] = |bh[i]| + |Wx[i, x]| + sum_j |Wh[i, j]| (state-independent: the terms are +-Wh[i, j]);
# z = the exact sum of the terms; u64 = 2^-53, u32 = 2^-24; gamma_m(u) = m u / (1 - m u). Every
# floating-point operation below is an addition, or the rounding of a value to a narrower format (the
# +-1 "products" are sign flips, exact). Each obeys
# fl(a) = a (1 + d), |d| <= u of the format (a float64 rounding also has |d| <= u32), also for subnormal
# results, since addition never underflows inexactly. So a summation tree in which every summand meets
# at most m roundings has error <= gamma_m S (Higham, Accuracy and Stability, Lemma 3.1).
#
# Tier 2 (float64). B64[x, i] = fl64(bh[i] + Wx[i, x]) (1 rounding). The kernels: z~ = B64 + (a tree of
# eight running sums of the signed weights, all in float64): a summation of the H + 2 summands in some
# order, so each meets at most H + 1 roundings. The table form (T2, for cross-checks): T64[c, b, i] = the
# chunk's cs signed weights summed k = 0, 1, ... in float64 (cs - 1 roundings); z~ = B64 + T64[0] + ... +
# T64[C-1] left to right (C roundings), at most cs + C roundings per summand. With R2 = max(H + 1, cs + C)
# both obey |z~ - z| <= gamma_R2(u64) S.
#
# f32-seq. The sequential float32 sum performs H + 1 additions of the same summands:
# |z_seq - z| <= gamma_{H+1}(u32) S (no overflow: every partial sum is <= 1.01 S < FLT_MAX, checked).
#
# Thresholds (float64). S^ = fl64 sum of the non-negative |terms| >= S (1 - gamma_{H+2}(u64)), so
# S <= 1.01 S^. For m u <= 0.0099, gamma_m(u) <= 1.01 m u, hence
#     E2    = fl64(2 R2 u64 S^)       >= 2 R2 u64 S^ (1 - u64) > 1.03 R2 u64 S^ >= gamma_R2(u64) S,
#     E_seq = fl64(2 (H+2) u32 S^)    >= gamma_{H+1}(u32) S,
# (2 R2 u64 and 2 (H+2) u32 are exact) and bound = E2 (exact) or fl64(E2 + E_seq) (f32-seq), which is
# >= (E2 + E_seq)(1 - u64) and still covers both errors since each stored E has slack >= 1.9.
# Tier-2 decision: z~ > bound  => z > 0 (exact) and z_seq >= z - gamma S > 0 (f32-seq)  => +1;
#                  z~ < -bound => z < 0 and z_seq < 0 (strictly, so not a -0.0 tie)      => -1.
#
# Table construction for tier 1: B64 and T64 as above, at most cs roundings per summand in total:
# sum of |errors| <= gamma_cs(u64) S.
#
# Tier 1 (int16). sigma_i = (32767 - (C + 1)/2 - 2)(1 - 2^-40) / max_x S^[x, i]; the factor 1 - 2^-40
# covers S <= S^ (1 + gamma_{H+2}(u64)). Every partial sum of the integers, over any subset of them (so in
# any order of addition: the kernel adds eight rows per vector pass), is bounded in magnitude by
# S sigma + (C + 1)/2 (+ float64 slack << 1) <= 32765, so the int16 additions are exact. (If 32767 - (C + 1)/2 - 2 <= 16384,
# i.e. C > 32000, tier 1 is disabled.)
# baseq = round(fl64(sigma B64)), Tq = round(fl64(sigma T64)): the products add one rounding (so the
# float64 values carry at most cs + 1 roundings per summand: sum of |errors| <= gamma_{cs+1}(u64) S sigma),
# and each integer is off by <= 1/2 from its float64 value. Hence
#     |zq / sigma - z| <= (C + 1) / (2 sigma) + gamma_{cs+1}(u64) S.
# boundq = ceil(((C + 1)/2 + sigma (E64 + E_seq or 0)) (1 + 2^-20)) + 1 with
# E64 = fl64(2 (cs + 1) u64 S^) >= gamma_{cs+1}(u64) S; the factor and the +1 absorb the roundings of this
# float64 computation. zq > boundq (so zq >= boundq + 1) then gives
# z >= (zq - (C + 1)/2)/sigma - E64 >= 2/sigma + E_seq > 0, hence z > 0 (exact) and z_seq > 0 (f32-seq): +1;
# zq < -boundq likewise gives -1.
#
# If a condition fails (m u > 0.0099, overflow possible, boundq would not fit int16), that tier's bound is
# made undecidable (bound = +inf, boundq = int16 max): the next tier decides (correct, slower).

FLT_MAX_SAFE = 1e37
INT16_MAX = 32767


def _abs_sums(model: ElmanRNN) -> np.ndarray:
    """S^[x, i] in float64 (see above), shape (256, H)."""
    row_abs = np.abs(model.Wh.astype(np.float64)).sum(axis=1)
    return (np.abs(model.bh.astype(np.float64))[None, :] + np.abs(model.Wx.T.astype(np.float64))
            + row_abs[None, :])


def _tier2_bound(S: np.ndarray, H: int, cs: int, C: int, semantics: int) -> np.ndarray:
    u64, u32 = 2.0 ** -53, 2.0 ** -24
    R2 = max(H + 1, cs + C)      # the direct sum (the kernels) and the chunk tables T2 (cross-checks)
    if (H + 2) * u32 > 0.0099 or R2 * u64 > 0.0099 or not np.isfinite(S).all() or S.max() * 1.03 > FLT_MAX_SAFE:
        return np.full(S.shape, np.inf)
    bound = np.float64(2.0 * R2 * u64) * S
    if semantics == SEM_F32_SEQ:
        bound = bound + np.float64(2.0 * (H + 2) * u32) * S
    return bound


def _tier1_scale_and_bound(S: np.ndarray, H: int, cs: int, C: int, semantics: int):
    """(sigma (H,) float64 scales, boundq (256, H) int64) for the int16 tier."""
    u64, u32 = 2.0 ** -53, 2.0 ** -24
    Smax = S.max(axis=0)
    # max_x S sigma <= span leaves room below 32767 for the (C + 1)/2 rounding excess (and 2 to spare)
    span = INT16_MAX - (C + 1) / 2.0 - 2.0
    ok = (Smax > 0) & np.isfinite(Smax) & (Smax < FLT_MAX_SAFE) & (span > 16384)
    sigma = np.where(ok, span / np.where(ok, Smax, 1.0), 0.0) * (1.0 - 2.0 ** -40)
    return sigma, _tier1_boundq(S, sigma, ok, H, cs, C, semantics, INT16_MAX, INT16_MAX)


def _tier1_boundq(S, sigma, ok, H: int, cs: int, C: int, semantics: int, limit, undecidable) -> np.ndarray:
    """boundq (256, H) int64 for scales sigma (see the bounds); `undecidable` where not ok or >= limit."""
    u64, u32 = 2.0 ** -53, 2.0 ** -24
    E = np.float64(2.0 * (cs + 1) * u64) * S
    if semantics == SEM_F32_SEQ:
        E = E + np.float64(2.0 * (H + 2) * u32) * S
    bq = np.ceil(((C + 1) / 2.0 + sigma[None, :] * E) * (1.0 + 2.0 ** -20)) + 1.0
    bad = ~ok[None, :] | ~np.isfinite(bq) | (bq >= limit)
    bq = np.where(bad, undecidable, bq)
    return bq.astype(np.int64)


T2_MAX_BYTES = 32 << 20      # the float64 cross-check table T2 is built only up to this size


def build_tables(model: ElmanRNN, semantics: str = "exact", chunk_size: int | None = None, fast: bool = True,
                 tier1: str | None = None) -> SignTables:
    """The transition tables of `model` (see the module docstring). `fast=False` makes tiers 1 and 2
    undecidable, so every neuron goes through the tier-3 fallback (slow; for tests and cross-checks).
    tier1: "chunk8", "chunk4", "chunk2" or "chunk1" (see `automaton.tier1`); chunk_size (8, 4, 2, 1) says the
    same; neither: the automatic choice for the model's H. T2 is empty (0 bytes) above T2_MAX_BYTES."""
    if semantics not in SEMANTICS:
        raise SatrnnInputError(f"unknown semantics {semantics!r} (use one of {', '.join(SEMANTICS)})")
    H = model.H
    if chunk_size is not None and chunk_size not in (1, 2, 4, 8):
        raise SatrnnInputError(f"chunk_size (neurons per table chunk) must be 1, 2, 4 or 8, got {chunk_size}")
    if chunk_size is not None and tier1 is None:
        cs, wide = int(chunk_size), False
    else:
        cs, wide = parse_tier1(tier1, H)
        if chunk_size is not None and chunk_size != cs:
            raise SatrnnInputError(f"tier1={tier1!r} and chunk_size={chunk_size} disagree")
    sem = SEM_EXACT if semantics == "exact" else SEM_F32_SEQ
    W = n_words(H)
    Hp = 64 * W          # neurons padded to whole words: fixed-length loops; pads have weight 0, bit 0
    C = (H + cs - 1) // cs
    B64 = np.zeros((256, Hp), dtype=np.float64)
    B64[:, :H] = model.bh.astype(np.float64)[None, :] + model.Wx.T.astype(np.float64)
    S = _abs_sums(model)
    if wide:     # int32 sums of the int16 rows (automaton/tier1.py): baseq, boundq int32 as int16 views
        sigma, ok = wide_scale(model.Wh, S, cs, FLT_MAX_SAFE)
        bq = _tier1_boundq(S, sigma, ok, H, cs, C, sem, 2 * WIDE_SUM_LIMIT, INT32_UNDECIDABLE)
        qtype, undecidable = np.int32, INT32_UNDECIDABLE
    else:
        sigma, bq = _tier1_scale_and_bound(S, H, cs, C, sem)
        qtype, undecidable = np.int16, INT16_MAX
    sig = np.ones(Hp)
    sig[:H] = sigma
    tier2 = _tier2_bound(S, H, cs, C, sem)
    # Tier 1 decides only what tier 2 would decide too (automaton/tier1.py), so fallback counts do not depend
    # on the tier-1 choice; where tier 2 gives up on the model, tier 1 gives up as well to keep that true.
    fast1 = fast and bool(np.isfinite(tier2).all())
    boundq = np.full((256, Hp), -1, dtype=qtype)            # pads: never undecided (zq = 0, bit 0)
    boundq[:, :H] = bq if fast1 else undecidable
    bound = np.full((256, Hp), -1.0)
    bound[:, :H] = tier2 if fast else np.inf
    params = np.array([H, W, sem, cs, C], dtype=np.int64)
    T2 = np.zeros((Hp, C, 0), dtype=np.float64)
    if Hp * C * (8 << cs) <= T2_MAX_BYTES:
        # T64[c, b, i] = sum_k (bit k of b ? +1 : -1) Wh[i, cs c + k], summed k = 0, 1, ... in float64
        Whp = np.zeros((Hp, C * cs), dtype=np.float64)
        Whp[:H, :H] = model.Wh
        b = np.arange(1 << cs)
        signs = np.where((b[:, None] >> np.arange(cs)[None, :]) & 1, 1.0, -1.0)           # (2^cs, cs)
        T2 = np.empty((Hp, C, 1 << cs), dtype=np.float64)
        for c in range(C):
            acc = signs[:, 0, None] * Whp[None, :, c * cs]
            for k in range(1, cs):
                acc = acc + signs[:, k, None] * Whp[None, :, c * cs + k]
            T2[:, c, :] = acc.T
    return SignTables(params=params,
                      baseq=np.ascontiguousarray(np.round(B64 * sig[None, :]), dtype=qtype).view(np.int16),
                      boundq=boundq.view(np.int16),
                      Tq=quantised_chunk_tables(model.Wh, cs, Hp, sig),
                      base2=np.ascontiguousarray(B64.T),
                      T2=T2,
                      bound=bound,
                      Wh=np.ascontiguousarray(model.Wh, dtype=np.float32),
                      Wx=np.ascontiguousarray(model.Wx, dtype=np.float32),
                      bh=np.ascontiguousarray(model.bh, dtype=np.float32))


# ---- fallbacks ---------------------------------------------------------------------------------------

@njit
def _grow_expansion(parts, n, v):
    """Add v to the nonoverlapping expansion parts[:n] (increasing magnitude) without error; returns new n.

    Two-sum partials as in Shewchuk (1997) / Python's math.fsum: every hi + lo split is exact, so the
    expansion always sums exactly to the true total of everything added.
    """
    m = 0
    for k in range(n):
        y = parts[k]
        if abs(v) < abs(y):
            t = v
            v = y
            y = t
        hi = v + y
        lo = y - (hi - v)
        if lo != 0.0:
            parts[m] = lo
            m += 1
        v = hi
    parts[m] = v
    return m + 1


@njit
def _exact_bit(Wh, bh, Wx, state_in, x, i):
    """[exact sum of bh[i], Wx[i, x], s_j Wh[i, j] >= 0]: the expansion's largest nonzero part has the sign
    of the total (nonoverlapping parts: each exceeds the sum of all smaller ones)."""
    H = Wh.shape[1]
    parts = np.empty(H + 2, dtype=np.float64)
    n = _grow_expansion(parts, 0, np.float64(bh[i]))
    n = _grow_expansion(parts, n, np.float64(Wx[i, x]))
    for j in range(H):
        w = np.float64(Wh[i, j])
        if ((state_in[j >> 6] >> np.uint64(j & 63)) & np.uint64(1)) == 0:
            w = -w
        n = _grow_expansion(parts, n, w)
    for k in range(n - 1, -1, -1):
        if parts[k] != 0.0:
            return 1 if parts[k] > 0.0 else 0
    return 1


# ---- the step ----------------------------------------------------------------------------------------

@njit
def _new_scratch(tables):
    """Scratch for `_step_packed_scratch`: one per thread/loop, reused across steps.

    int16: Hp tier-1 sums, then W uint64 masks of the neurons tier 1 left undecided (4 int16 slots each)."""
    Hp = tables.Tq.shape[2]
    return np.zeros(Hp + 4 * (Hp // 64), dtype=np.int16)


@njit
def _chunk_byte(state, c, cb):
    """Bits of chunk c (neurons cb*c .. cb*c + cb - 1; cb in 1, 2, 4, 8) of a packed state, as a table index.
    Shifts and masks only: an integer division by the run-time cb would dominate the step."""
    bit = c * cb
    return np.int64((state[bit >> 6] >> np.uint64(bit & 63)) & np.uint64((1 << cb) - 1))


@njit
def _get_mask(z, at):
    m = np.uint64(0)
    for q in range(4):
        m |= np.uint64(np.int64(z[at + q]) & 0xFFFF) << np.uint64(16 * q)
    return m


@njit
def _tier2(base2, Wh, bound, state_in, x, z, state_out):
    """Tier 2 for the neurons tier 1 left open (their masks are in z's tail): fixes the bits it decides in
    state_out, leaves in z's tail the masks of the neurons it cannot decide and returns their number.

    z~_n = base2[n, x] + the float64 sum of s_j Wh[n, j] in eight interleaved partial sums (j = r mod 8),
    added as a balanced tree. It reads Wh's row (H float32, cached: 64 KB in all for H = 128) rather than
    the float64 chunk tables T2 (4 MB, which miss the cache on every lookup and cost more than the sum).
    No call here takes an array and nothing is allocated: otherwise numba increments and decrements the
    reference count of every array argument on each call (atomic operations costing more than the sums)."""
    W = state_out.shape[0]
    H = Wh.shape[1]
    Hp = 64 * W
    H8 = H - H % 8
    left = 0
    for k in range(W):
        m = np.uint64(0)
        for q in range(4):
            m |= np.uint64(np.int64(z[Hp + 4 * k + q]) & 0xFFFF) << np.uint64(16 * q)
        open_ = np.uint64(0)
        while m != np.uint64(0):
            low = m & (~m + np.uint64(1))
            m ^= low
            n = 64 * k + _popcount64(low - np.uint64(1))
            # s_j = 2 bit_j - 1 is exactly +-1.0, so each product is an exact sign flip
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
            for j in range(0, H8, 8):
                wd = state_in[j >> 6] >> np.uint64(j & 63)
                a0 += np.float64(Wh[n, j]) * (np.float64(wd & np.uint64(1)) * 2.0 - 1.0)
                a1 += np.float64(Wh[n, j + 1]) * (np.float64((wd >> np.uint64(1)) & np.uint64(1)) * 2.0 - 1.0)
                a2 += np.float64(Wh[n, j + 2]) * (np.float64((wd >> np.uint64(2)) & np.uint64(1)) * 2.0 - 1.0)
                a3 += np.float64(Wh[n, j + 3]) * (np.float64((wd >> np.uint64(3)) & np.uint64(1)) * 2.0 - 1.0)
                a4 += np.float64(Wh[n, j + 4]) * (np.float64((wd >> np.uint64(4)) & np.uint64(1)) * 2.0 - 1.0)
                a5 += np.float64(Wh[n, j + 5]) * (np.float64((wd >> np.uint64(5)) & np.uint64(1)) * 2.0 - 1.0)
                a6 += np.float64(Wh[n, j + 6]) * (np.float64((wd >> np.uint64(6)) & np.uint64(1)) * 2.0 - 1.0)
                a7 += np.float64(Wh[n, j + 7]) * (np.float64((wd >> np.uint64(7)) & np.uint64(1)) * 2.0 - 1.0)
            for j in range(H8, H):
                a0 += np.float64(Wh[n, j]) * (np.float64((state_in[j >> 6] >> np.uint64(j & 63)) & np.uint64(1))
                                              * 2.0 - 1.0)
            z2 = base2[n, x] + (((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)))
            if abs(z2) > bound[x, n]:
                if z2 > 0:
                    state_out[k] |= low
                else:
                    state_out[k] &= ~low
            else:
                open_ |= low
                left += 1
        for q in range(4):
            z[Hp + 4 * k + q] = np.int16(np.int64((open_ >> np.uint64(16 * q)) & np.uint64(0xFFFF)))   # wraps
    return left


@njit
def _tier3_seq(Wh, bh, Wx, state_in, x, z, state_out):
    """Tier 3 in f32-seq semantics (DEFINITIONS 0.6 step B: z = fl32(bh + Wx), then z = fl32(z + s_j Wh[n, j]),
    j ascending; bit = [z >= 0]) for the neurons whose masks `_tier2` left in z's tail.

    Written out with no array-taking call (no per-call reference counting) and with the sign flips as
    multiplications by exactly +-1.0f (branch-free, same results, also for -0.0: 0 * -1 = -0)."""
    W = state_out.shape[0]
    H = Wh.shape[1]
    Hp = 64 * W
    for k in range(W):
        m = np.uint64(0)
        for q in range(4):
            m |= np.uint64(np.int64(z[Hp + 4 * k + q]) & 0xFFFF) << np.uint64(16 * q)
        while m != np.uint64(0):
            low = m & (~m + np.uint64(1))
            m ^= low
            n = 64 * k + _popcount64(low - np.uint64(1))
            zs = np.float32(bh[n] + Wx[n, x])
            for j in range(H):
                bitj = (state_in[j >> 6] >> np.uint64(j & 63)) & np.uint64(1)
                zs = np.float32(zs + Wh[n, j] * (np.float32(bitj) * np.float32(2.0) - np.float32(1.0)))
            if zs >= np.float32(0.0):
                state_out[k] |= low
            else:
                state_out[k] &= ~low


@njit
def _tier3(Wh, bh, Wx, sem, state_in, x, z, state_out):
    """Tier 3 (the fallback) for the neurons whose masks `_tier2` left in z's tail."""
    if sem == SEM_F32_SEQ:
        _tier3_seq(Wh, bh, Wx, state_in, x, z, state_out)
        return
    W = state_out.shape[0]
    for k in range(W):
        m = _get_mask(z, 64 * W + 4 * k)
        while m != np.uint64(0):
            low = m & (~m + np.uint64(1))
            m ^= low
            if _exact_bit(Wh, bh, Wx, state_in, x, 64 * k + _popcount64(low - np.uint64(1))):
                state_out[k] |= low
            else:
                state_out[k] &= ~low


@njit
def _resolve_arrays(base2, T2, cb, bound, Wh, bh, Wx, sem, state_in, x, z, state_out):
    """Tiers 2 and 3 for the neurons tier 1 left open (their masks are in z's tail); fixes their bits in
    state_out and returns the number of tier-3 fallbacks. T2 and cb are no longer read (the frozen call
    signature keeps them). Hot loops should call `_tier2` and, only when it returns nonzero, `_tier3_seq`
    or `_tier3` themselves (see `_run_packed`): this wrapper costs reference counting on every call."""
    nfb = _tier2(base2, Wh, bound, state_in, x, z, state_out)
    if nfb:
        _tier3(Wh, bh, Wx, sem, state_in, x, z, state_out)
    return nfb


@njit
def _tier1(Tq, baseq, boundq, cb, state_in, x, state_out, z):
    """Tier 1 on plain arrays. Writes every bit of state_out and the undecided masks (z's tail); returns
    True if some neuron is undecided. Like `_tier2`, it passes arrays to no real call (the intrinsics are
    inlined code), so numba does no reference counting per step. |z| <= 32765 (see the bounds), so the
    int16 sums are exact and `_within_mask64`'s |z| is too."""
    if baseq.shape[1] != Tq.shape[2]:         # the wide tier 1: int32 baseq/boundq (automaton/tier1.py)
        return _wide_tier1(Tq, baseq, boundq, cb, state_in, x, state_out, z) != np.uint64(0)
    W = state_in.shape[0]
    C = Tq.shape[0]
    Hp = baseq.shape[1]
    mask = np.uint64((1 << cb) - 1)
    # Eight chunks (8 cb <= 64 state bits, inside one word) per pass over z (exact integers: any order).
    noct = C // 8
    # While one octet is added, the next octet's rows are prefetched (automaton/tier1.py).
    bit = 0
    w = state_in[0]
    for o in range(noct):
        pf = 1 if o + 1 < noct else 0
        nbit = bit + 8 * cb if pf else bit
        wn = state_in[nbit >> 6] >> np.uint64(nbit & 63)
        if o == 0:
            _add_octet_pf(z, Tq, 0, w, wn, pf, cb, baseq, x)
        else:
            _add_octet_pf(z, Tq, 8 * o, w, wn, pf, cb, z, 0)
        bit = nbit
        w = wn
    if noct == 0:
        for i in range(Hp):
            z[i] = baseq[x, i]
    for c in range(8 * noct, C):
        bit = c * cb
        b = np.int64((state_in[bit >> 6] >> np.uint64(bit & 63)) & mask)
        for i in range(Hp):
            z[i] += Tq[c, b, i]
    undecided = False
    for k in range(W):
        state_out[k] = _positive_mask64(z, 64 * k)
        und = _within_mask64(z, 64 * k, boundq, x * Hp + 64 * k)
        if und != np.uint64(0):
            undecided = True
        for q in range(4):
            z[Hp + 4 * k + q] = np.int16(np.int64((und >> np.uint64(16 * q)) & np.uint64(0xFFFF)))   # wraps
    return undecided


@njit
def _step_packed_scratch(tables, state_in, x, state_out, z):
    """One transition state_in -> state_out under byte x (see module docstring); returns #fallbacks."""
    if _tier1(tables.Tq, tables.baseq, tables.boundq, tables.params[3], state_in, x, state_out, z):
        return _resolve_arrays(tables.base2, tables.T2, tables.params[3], tables.bound, tables.Wh, tables.bh,
                               tables.Wx, tables.params[2], state_in, x, z, state_out)
    return 0


@njit
def _step_packed(tables, state_in, x, state_out):
    """One transition (allocates its scratch; in hot loops prefer `_step_packed_scratch`)."""
    z = _new_scratch(tables)
    return _step_packed_scratch(tables, state_in, x, state_out, z)


# The run loops take the table arrays out of the tuple once: per-step tuple unpacking (reference counting
# of the arrays) would cost as much as tier 1 itself.
# The three-tier step is written out in each loop (here and in cycles.py / cascade.py) on purpose: a
# helper taking the arrays, even one inlined with numba's inline='always', brings the reference counting
# back and halved the speed when tried (bench_sign: 72x -> 33x against the straightforward loop).

@njit
def _run_packed(tables, state0, xs, out):
    """out[t] = state after reading xs[t], starting from state0; returns total fallbacks."""
    Tq, baseq, boundq, cb = tables.Tq, tables.baseq, tables.boundq, tables.params[3]
    base2, bound, Wh, bh, Wx, sem = tables.base2, tables.bound, tables.Wh, tables.bh, tables.Wx, tables.params[2]
    z = _new_scratch(tables)
    W = state0.shape[0]
    # Two fixed buffers, used alternately, and word copies into out: views of out (out[t]) or swapped array
    # variables would cost an atomic reference-count update each per step.
    a = state0.copy()
    b = np.empty_like(state0)
    nfb = 0
    for t in range(xs.shape[0]):
        x = xs[t]
        if t & 1 == 0:
            if _tier1(Tq, baseq, boundq, cb, a, x, b, z):
                left = _tier2(base2, Wh, bound, a, x, z, b)
                if left:
                    nfb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, a, x, z, b)
                    else:
                        _tier3(Wh, bh, Wx, sem, a, x, z, b)
            for k in range(W):
                out[t, k] = b[k]
        else:
            if _tier1(Tq, baseq, boundq, cb, b, x, a, z):
                left = _tier2(base2, Wh, bound, b, x, z, a)
                if left:
                    nfb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, b, x, z, a)
                    else:
                        _tier3(Wh, bh, Wx, sem, b, x, z, a)
            for k in range(W):
                out[t, k] = a[k]
    return nfb


@njit
def _run_constant_packed(tables, state0, x, steps, final):
    """final = the state after `steps` steps under constant byte x; returns total fallbacks."""
    Tq, baseq, boundq, cb = tables.Tq, tables.baseq, tables.boundq, tables.params[3]
    base2, bound, Wh, bh, Wx, sem = tables.base2, tables.bound, tables.Wh, tables.bh, tables.Wx, tables.params[2]
    z = _new_scratch(tables)
    a = state0.copy()
    b = np.empty_like(state0)
    nfb = 0
    for t in range(steps):
        if t & 1 == 0:
            if _tier1(Tq, baseq, boundq, cb, a, x, b, z):
                left = _tier2(base2, Wh, bound, a, x, z, b)
                if left:
                    nfb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, a, x, z, b)
                    else:
                        _tier3(Wh, bh, Wx, sem, a, x, z, b)
        else:
            if _tier1(Tq, baseq, boundq, cb, b, x, a, z):
                left = _tier2(base2, Wh, bound, b, x, z, a)
                if left:
                    nfb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, b, x, z, a)
                    else:
                        _tier3(Wh, bh, Wx, sem, b, x, z, a)
    if steps & 1:
        final[:] = b
    else:
        final[:] = a
    return nfb


@njit
def _run_constant_trajectory(tables, state0, x, out):
    """out[t] = the state after t + 1 steps under constant byte x; returns total fallbacks."""
    xs = np.empty(out.shape[0], dtype=np.uint8)
    xs[:] = x
    return _run_packed(tables, state0, xs, out)


# ---- public wrapper ----------------------------------------------------------------------------------

class SignAutomaton:
    """The sign automaton of a model under one semantics ("exact" or "f32-seq").

    Attributes: H, W, semantics, tables (a `SignTables`, pass it to the njit kernels), and fallback counters:
    `fallbacks` (neuron-steps whose sign the rigorous bound could not decide and which were recomputed,
    cumulative over calls), `neuron_steps` (all neuron-steps computed), `last_fallbacks` (of the last call).
    """

    def __init__(self, tables: SignTables, semantics: str):
        self.tables = tables
        self.semantics = semantics
        self.H = int(tables.params[0])
        self.W = int(tables.params[1])
        self.fallbacks = 0
        self.neuron_steps = 0
        self.last_fallbacks = 0

    @property
    def tier1(self) -> str:
        """The tier-1 choice of the tables ("chunk8", "chunk4", ...; see `automaton.tier1`)."""
        return tier1_of(self.tables)

    @classmethod
    def from_model(cls, model: ElmanRNN, semantics: str = "exact", *, chunk_size: int | None = None,
                   fast: bool = True, tier1: str | None = None) -> "SignAutomaton":
        """tier1: the tier-1 choice (`automaton.tier1.TIER1_CHOICES`; None = automatic by H)."""
        if not isinstance(model, ElmanRNN):
            raise SatrnnInputError(f"expected an ElmanRNN, got {type(model).__name__}")
        return cls(build_tables(model, semantics, chunk_size, fast, tier1=tier1), semantics)

    # ---- validation ----
    def check_state(self, state) -> np.ndarray:
        """A validated contiguous uint64 (W,) copy of a packed state."""
        s = np.asarray(state)
        if s.shape != (self.W,):
            raise SatrnnInputError(f"packed state has shape {s.shape}, expected ({self.W},) for H={self.H}")
        if s.dtype != np.uint64:
            if s.dtype.kind not in "iu" or (s < 0).any():
                raise SatrnnInputError(f"packed state dtype {s.dtype} is not uint64")
        s = np.array(s, dtype=np.uint64)
        r = self.H % 64
        if r and int(s[-1]) >> r:
            raise SatrnnInputError(f"packed state sets bits beyond neuron {self.H - 1}")
        return s

    @staticmethod
    def _check_byte(x) -> int:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
            raise SatrnnInputError(f"input byte must be an integer 0-255, got {x!r}")
        if not 0 <= int(x) <= 255:
            raise SatrnnInputError(f"input byte {int(x)} is outside 0-255")
        return int(x)

    def parse_state(self, text: str) -> np.ndarray:
        """A state from hex text, or the words "zeros"/"minus" (all -1) and "ones"/"plus" (all +1)."""
        t = text.strip().lower()
        if t in ("zeros", "minus", "all-minus"):
            return all_minus(self.H)
        if t in ("ones", "plus", "all-plus"):
            return all_plus(self.H)
        return from_hex(text, self.H)

    def _count(self, nfb: int, steps: int) -> None:
        self.last_fallbacks = int(nfb)
        self.fallbacks += int(nfb)
        self.neuron_steps += int(steps) * self.H

    # ---- transitions ----
    def step(self, state, x) -> np.ndarray:
        """The successor (W,) uint64 of `state` under byte x."""
        s = self.check_state(state)
        out = np.empty(self.W, dtype=np.uint64)
        self._count(_step_packed(self.tables, s, np.int64(self._check_byte(x)), out), 1)
        return out

    def run(self, state, xs) -> np.ndarray:
        """Trajectory (n, W) uint64 under the byte sequence xs; row t = the state after reading xs[t]."""
        from satrnn.rnn.forward import as_bytes
        s = self.check_state(state)
        xs = as_bytes(xs)
        out = np.empty((xs.shape[0], self.W), dtype=np.uint64)
        self._count(_run_packed(self.tables, s, xs, out), xs.shape[0])
        return out

    def run_constant(self, state, x, steps: int, trajectory: bool = False) -> np.ndarray:
        """`steps` steps under the constant byte x: the final state (W,), or with trajectory=True all
        states (steps, W) (row t = after t+1 steps)."""
        s = self.check_state(state)
        x = self._check_byte(x)
        if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)) \
                or not 0 <= int(steps) <= MAX_STEPS:
            raise SatrnnInputError(f"steps must be an integer between 0 and {MAX_STEPS}, got {steps!r}")
        steps = int(steps)
        if trajectory:
            out = np.empty((steps, self.W), dtype=np.uint64)
            self._count(_run_constant_trajectory(self.tables, s, np.int64(x), out), steps)
            return out
        final = np.empty(self.W, dtype=np.uint64)
        self._count(_run_constant_packed(self.tables, s, np.int64(x), np.int64(steps), final), steps)
        return final

    def fallback_stats(self) -> dict:
        """{'semantics', 'fallbacks', 'neuron_steps', 'fallback_fraction'} accumulated over all calls."""
        return {"semantics": self.semantics, "fallbacks": self.fallbacks, "neuron_steps": self.neuron_steps,
                "fallback_fraction": self.fallbacks / self.neuron_steps if self.neuron_steps else 0.0}
