"""The sign automaton of an Elman RNN on packed states: fast, with rigorous per-neuron sign proofs.

State: s in {-1,+1}^H packed as uint64 words (W = ceil(H/64)); bit j % 64 of word j // 64 is 1 iff s_j = +1;
bits >= H are 0 (see `automaton.bitset`, which also defines the hex text form).

Transition under byte x: s'_i = +1 iff z_i >= 0 (a tie at exactly 0, and -0.0, go to +1), with the float32 terms
    bh[i], Wx[i, x], s_j * Wh[i, j] (j = 0..H-1; products with +-1 are exact).
Semantics of z_i (both exact by definition):
- "exact": the exact real-number sum of those float32 terms (order-independent);
- "f32-seq": the papers' arithmetic (DEFINITIONS 0.6 Boolean step B): z = fl32(bh[i] + Wx[i, x]), then
  z = fl32(z + s_j * Wh[i, j]) for j ascending; s'_i = +1 iff z >= 0.
Pinning: neurons in a pin set are held at +1 or -1 in every successor, whatever their input (the dynamical
analogue of a knockout); start states are used as given. `SignAutomaton(..., pins={8: +1, 56: -1})`.

Kernel core (njit, callable from other njit code): states live in rows of one 2-D register array R
(uint64, (rows, W)); `_step(tables, R, src, dst, x, z, parts)` writes row dst = B(row src, x) and returns
its tier-3 fallbacks. It is the only place that applies the tiers; every kernel calls it at exactly one
site, choosing rows by integer (`_walk` in this module, `_advance_rows`, `cycles._brent`,
`cascade._cascade`). `tables` is a `SignTables` named tuple (one numba argument).

How a step decides each sign (three tiers, each rigorous; see "the rigorous bounds" below):
1. int16 fixed point: zq_i = baseq[x, i] + sum_c Tq[c, b_c, i], where b_c is the state's byte of chunk c
   (cs = chunk_size neurons), Tq[c, b, i] ~ sigma_i * sum_k (bit k of b ? +1 : -1) Wh[i, cs c + k] and
   baseq[x, i] ~ sigma_i (bh[i] + Wx[i, x]), rounded to integers with a scale sigma_i per neuron that
   uses the whole int16 range. C = ceil(H/cs) short vector additions per step instead of H*H multiply-adds. Decided if
   |zq_i| > boundq[x, i].
2. float64, for the rare neurons tier 1 leaves open: z~_i = base2[i, x] + the float64 sum of s_j Wh[i, j]
   (eight vector lanes of every eighth term, then the lanes pairwise: any order is covered) for that
   neuron only; decided if |z~_i| > bound[x, i]. (`bound` also covers the same sums taken from float64
   chunk tables T2; tests build T2 to cross-check the bound.)
3. Fallback: the neuron is recomputed in its semantics: exact with an error-free Shewchuk expansion
   (two-sum partials), f32-seq with the literal sequential float32 loop. These are the counted fallbacks.
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from satrnn.automaton.bitset import all_minus, all_plus, from_hex, n_words, popcount64, to_hex, to_signs
from satrnn.automaton.tier1 import (
    INT32_UNDECIDABLE,
    WIDE_SUM_LIMIT,
    _wide_tier1,
    parse_tier1,
    quantised_chunk_tables,
    tier1_of,
    wide_scale,
)
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit, njit_leaf
from satrnn.rnn.record import Record

# ---- vector helpers (numba intrinsics: LLVM vector code for what numba's loops compile poorly) ---------


PREFETCH_CHUNKS = 8
PREFETCH_MIN_ENTRIES = 2 << 20     # int16 entries of Tq (4 MB) above which `_chunk_sum` prefetches: smaller
                                   # tables stay in L2, where the prefetches only cost time (H = 128: 1 MB)


@intrinsic
def _chunk_sum(typingctx, z, Tq, baseq, x, R, src, cb):
    """z[:Hp] = baseq[x, :] + sum_{c < C} Tq[c, bits c cb .. c cb + cb - 1 of row src of R, :] (tier 1's sum).

    Tq: C-contiguous (C, 2^cb, Hp) int16 with Hp a multiple of 64; baseq (256, Hp) int16; R (rows, W) uint64;
    z int16 of size >= Hp. LLVM vector code: per block of 128 (or 64) neurons the running sum stays in
    registers over all C chunk rows and is stored once (numba's loop would reload and check z per chunk), and,
    for tables over PREFETCH_MIN_ENTRIES, each row read prefetches the same block of the row PREFETCH_CHUNKS
    chunks later (its address is known from the state's bits, so it arrives while other rows are summed)."""
    ok = (isinstance(Tq, types.Array) and Tq.ndim == 3 and Tq.dtype == types.int16 and Tq.layout == "C"
          and isinstance(baseq, types.Array) and baseq.ndim == 2 and baseq.dtype == types.int16
          and baseq.layout == "C" and isinstance(R, types.Array) and R.ndim == 2 and R.dtype == types.uint64
          and R.layout == "C" and isinstance(z, types.Array) and z.dtype == types.int16 and z.layout == "C")
    if not ok:
        return None

    def codegen(context, builder, sig, args):
        zv, tv, bv, xv, rv, srcv, cbv = args
        i64 = ir.IntType(64)
        za = context.make_array(sig.args[0])(context, builder, zv)
        ta = context.make_array(sig.args[1])(context, builder, tv)
        ba = context.make_array(sig.args[2])(context, builder, bv)
        ra = context.make_array(sig.args[4])(context, builder, rv)
        C, nb, hp = cgutils.unpack_tuple(builder, ta.shape, 3)
        W = cgutils.unpack_tuple(builder, ra.shape, 2)[1]
        x64 = builder.sext(xv, i64) if xv.type.width < 64 else xv
        cb64 = builder.sext(cbv, i64) if cbv.type.width < 64 else cbv
        rrow = builder.gep(ra.data, [builder.mul(srcv, W)])
        brow = builder.gep(ba.data, [builder.mul(x64, hp)])
        bmask = builder.sub(builder.shl(ir.Constant(i64, 1), cb64), ir.Constant(i64, 1))
        wide = builder.icmp_unsigned("==", builder.urem(hp, ir.Constant(i64, 128)), ir.Constant(i64, 0))

        i32 = ir.IntType(32)
        i8p = ir.IntType(8).as_pointer()
        pf = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")

        big = builder.icmp_unsigned(">", builder.mul(builder.mul(C, nb), hp), ir.Constant(i64, PREFETCH_MIN_ENTRIES))

        def chunk_row(c):
            bit = builder.mul(c, cb64)
            word = builder.load(builder.gep(rrow, [builder.lshr(bit, ir.Constant(i64, 6))]))
            b = builder.and_(builder.lshr(word, builder.and_(bit, ir.Constant(i64, 63))), bmask)
            return builder.gep(ta.data, [builder.mul(builder.add(builder.mul(c, nb), b), hp)])

        def blocks(lanes):
            vty = ir.VectorType(ir.IntType(16), lanes)
            acc = cgutils.alloca_once(builder, vty)
            with cgutils.for_range(builder, builder.udiv(hp, ir.Constant(i64, lanes))) as blk:
                off = builder.mul(blk.index, ir.Constant(i64, lanes))

                def vload(ptr):
                    return builder.load(builder.bitcast(builder.gep(ptr, [off]), vty.as_pointer()), align=2)
                builder.store(vload(brow), acc)
                with cgutils.for_range(builder, C) as ch:
                    row = chunk_row(ch.index)
                    builder.store(builder.add(builder.load(acc), vload(row)), acc)
                    # large tables: prefetch the same block of the row chunk c + 8 will read (from L3/DRAM)
                    with builder.if_then(big, likely=False):
                        ahead = builder.add(ch.index, ir.Constant(i64, PREFETCH_CHUNKS))
                        late = builder.icmp_unsigned(">=", ahead, C)
                        pfrow = chunk_row(builder.select(late, builder.sub(C, ir.Constant(i64, 1)), ahead))
                        for line in range(0, lanes, 32):     # 32 int16 = one 64-byte line
                            p = builder.bitcast(builder.gep(pfrow, [builder.add(off, ir.Constant(i64, line))]), i8p)
                            builder.call(pf, [p, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
                builder.store(builder.load(acc),
                              builder.bitcast(builder.gep(za.data, [off]), vty.as_pointer()), align=2)

        with builder.if_else(wide) as (then, otherwise):
            with then:
                blocks(128)
            with otherwise:
                blocks(64)
        return context.get_dummy_value()
    return types.void(z, Tq, baseq, types.intp, R, types.intp, types.intp), codegen


@intrinsic
def _signed_row_sum(typingctx, Wh, n, R, src, H8):
    """The float64 sum of s_j Wh[n, j] over j < H8 (a multiple of 8), s_j = +1 if bit j of row src of R is
    set, else -1: eight float64 lanes, each adding every eighth term (the sign flips are exact), then the
    lanes added pairwise. (Tier 2's bound holds for any order of summation.) Wh: C-contiguous (H, H) float32."""
    if not (isinstance(Wh, types.Array) and Wh.ndim == 2 and Wh.dtype == types.float32 and Wh.layout == "C"
            and isinstance(R, types.Array) and R.ndim == 2 and R.dtype == types.uint64 and R.layout == "C"):
        return None

    def codegen(context, builder, sig, args):
        whv, nv, rv, srcv, h8v = args
        i64 = ir.IntType(64)
        f64 = ir.DoubleType()
        v8f = ir.VectorType(ir.FloatType(), 8)
        v8d = ir.VectorType(f64, 8)
        wa = context.make_array(sig.args[0])(context, builder, whv)
        ra = context.make_array(sig.args[2])(context, builder, rv)
        H = cgutils.unpack_tuple(builder, wa.shape, 2)[1]
        W = cgutils.unpack_tuple(builder, ra.shape, 2)[1]
        wrow = builder.gep(wa.data, [builder.mul(nv, H)])
        rrow = builder.bitcast(builder.gep(ra.data, [builder.mul(srcv, W)]), ir.IntType(8).as_pointer())
        acc = cgutils.alloca_once(builder, v8d)
        builder.store(ir.Constant(v8d, None), acc)
        with cgutils.for_range(builder, builder.udiv(h8v, ir.Constant(i64, 8))) as loop:
            # byte `loop.index` of the state (little-endian words) holds the bits of neurons 8 idx .. 8 idx + 7
            bits = builder.bitcast(builder.load(builder.gep(rrow, [loop.index])), ir.VectorType(ir.IntType(1), 8))
            w = builder.fpext(builder.load(builder.bitcast(builder.gep(wrow, [builder.mul(loop.index,
                                                                                        ir.Constant(i64, 8))]),
                                                           v8f.as_pointer()), align=4), v8d)
            builder.store(builder.fadd(builder.load(acc), builder.select(bits, w, builder.fneg(w))), acc)
        v = builder.load(acc)
        lanes = [builder.extract_element(v, ir.Constant(ir.IntType(32), i)) for i in range(8)]
        while len(lanes) > 1:
            lanes = [builder.fadd(lanes[i], lanes[i + 1]) for i in range(0, len(lanes), 2)]
        return lanes[0]
    return types.float64(Wh, types.intp, R, types.intp, types.intp), codegen


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

TIER1_CHUNKS = 0   # `SignTables.tier1`: int16 chunk tables summed in int16 (`_chunk_sum`), "chunkK"
TIER1_WIDE = 1     # the same tables summed in int32 (`tier1._wide_tier1`), "wideK"; see automaton/tier1.py

SignTables = namedtuple("SignTables", ["H", "W", "Hp", "sem", "cb", "C", "tier1", "baseq", "boundq", "Tq",
                                       "base2", "bound", "Wh", "Wx", "bh", "free", "pinval"])
SignTables.__doc__ = """Everything one step needs, as one numba argument (a named tuple of ints and arrays).

H neurons, W = ceil(H/64) words, Hp = 64 W; sem (SEM_EXACT, SEM_F32_SEQ); cb = chunk_size (neurons per
chunk), C = ceil(H/cb) chunks; tier1: which tier-1 arithmetic `_step` uses (TIER1_CHUNKS: int16 sums,
TIER1_WIDE: int32 sums, see automaton/tier1.py).
Neuron axes of the tables are padded to Hp (pads: weight 0, never undecided, bit always 0).
baseq, boundq: (256, Hp) int16 (TIER1_WIDE: int32 (256, Hp) kept as int16 views (256, 2 Hp), so every
choice has one numba type); Tq: (C, 2^cb, Hp) int16  (tier 1, scaled by sigma_i).
base2: (Hp, 256) float64 fl64(bh + Wx) (tier 2); bound: (256, Hp) float64 (tier 2).
Wh (H, H), Wx (H, 256), bh (H,): float32 weights (tiers 2, 3).
free, pinval: (W,) uint64 pinning masks: bit i of free is 0 iff neuron i is pinned, and then bit i of
pinval is its value (1 = +1); every successor gets (B(s) & free) | pinval. Nothing pinned: free = all ones,
pinval = 0 (the same arithmetic, so pinning costs nothing when unused).
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
# Tier 2 (float64). B64[x, i] = fl64(bh[i] + Wx[i, x]) (1 rounding). The kernels: z~ = B64 + (eight
# vector lanes of running sums of the signed weights, the lanes added pairwise, then the H mod 8 last
# terms, all in float64): a summation of the H + 2 summands in some order, so each meets at most H + 1
# roundings. The table form (T2, for cross-checks): T64[c, b, i] = the
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
# S sigma + (C + 1)/2 (+ float64 slack << 1) <= 32765, so the int16 additions are exact.
# (If 32767 - (C + 1)/2 - 2 <= 16384, i.e. C > 32000, tier 1 is disabled.)
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


def chunk_sums64(Wh: np.ndarray, cs: int, Hp: int) -> np.ndarray:
    """T64 (C, 2^cs, Hp) float64: T64[c, b, i] = sum_k (bit k of b ? +1 : -1) Wh[i, cs c + k], summed
    k = 0, 1, ... in float64 (the tier-1 tables before scaling; neurons and chunk columns zero-padded)."""
    H = Wh.shape[0]
    C = (H + cs - 1) // cs
    Whp = np.zeros((Hp, C * cs), dtype=np.float64)
    Whp[:H, :H] = Wh
    b = np.arange(1 << cs)
    signs = np.where((b[:, None] >> np.arange(cs)[None, :]) & 1, 1.0, -1.0)           # (2^cs, cs)
    T64 = np.empty((C, 1 << cs, Hp), dtype=np.float64)
    for c in range(C):
        acc = signs[:, 0, None] * Whp[None, :, c * cs]
        for k in range(1, cs):
            acc = acc + signs[:, k, None] * Whp[None, :, c * cs + k]
        T64[c] = acc
    return T64


def check_pins(pins, H: int) -> tuple[tuple[int, int], ...]:
    """A validated pin set as sorted ((neuron, +1 or -1), ...); accepts a dict or (neuron, sign) pairs."""
    if pins is None:
        return ()
    items = list(pins.items()) if isinstance(pins, dict) else list(pins)
    out: dict[int, int] = {}
    for item in items:
        try:
            j, v = item
        except (TypeError, ValueError):
            raise SatrnnInputError(f"a pin must be (neuron, +1 or -1), got {item!r}") from None
        if isinstance(j, (bool, np.bool_)) or not isinstance(j, (int, np.integer)) or not 0 <= int(j) < H:
            raise SatrnnInputError(f"pinned neuron {j!r} is not in 0..{H - 1}")
        if isinstance(v, (bool, np.bool_)) or v not in (1, -1):
            raise SatrnnInputError(f"pin of neuron {int(j)} must be +1 or -1, got {v!r}")
        if int(j) in out:
            raise SatrnnInputError(f"neuron {int(j)} is pinned twice")
        out[int(j)] = int(v)
    return tuple(sorted(out.items()))


def parse_pins(text: str | None, H: int) -> tuple[tuple[int, int], ...]:
    """Parse '8=+1,56=-1' (neuron=sign, comma separated; signs +1, 1, -1, +, -)."""
    if text is None or not text.strip():
        return ()
    pairs = []
    for part in text.split(","):
        j, sep, v = part.partition("=")
        sign = {"+1": 1, "1": 1, "+": 1, "-1": -1, "-": -1}.get(v.strip())
        if not sep or sign is None or not j.strip().isdigit():
            raise SatrnnInputError(f"bad pin {part.strip()!r}: use NEURON=+1 or NEURON=-1, e.g. 8=+1,56=-1")
        pairs.append((int(j), sign))
    return check_pins(pairs, H)


def format_pins(pins, sep: str = ",") -> str:
    """The canonical text of a validated pin set (sorted ((neuron, sign), ...)): "" or "8=+1,56=-1" (`sep`
    between pins); `parse_pins` reads it back."""
    return sep.join(f"{j}={v:+d}" for j, v in pins)


def pin_words(H: int, pins) -> tuple[np.ndarray, np.ndarray]:
    """(free, pinval) (W,) uint64 for a pin set (dict {neuron: +1 or -1} or pairs; None = no pins):
    see `SignTables`."""
    W = n_words(H)
    free = np.full(W, np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    pinval = np.zeros(W, dtype=np.uint64)
    for j, v in check_pins(pins, H):
        bit = np.uint64(1) << np.uint64(j & 63)
        free[j >> 6] &= ~bit
        if v == 1:
            pinval[j >> 6] |= bit
    return free, pinval


def hold(states, free: np.ndarray, pinval: np.ndarray) -> np.ndarray:
    """Packed states ((W,) or (N, W)) with the pinned neurons set to their values: (s & free) | pinval
    (`pin_words`): the one way pins are applied to a state."""
    return np.ascontiguousarray((np.asarray(states, dtype=np.uint64) & free) | pinval)


def apply_pins(states, pins, H: int) -> np.ndarray:
    """Packed states ((W,) or (N, W)) with the neurons of a pin set ({neuron: +1 or -1} or pairs) set to their
    values (a new array)."""
    return hold(states, *pin_words(H, pins))


# ---- the free-state space ---------------------------------------------------------------------------
#
# With p neurons pinned, the pinned automaton lives on the 2^(H - p) states whose pinned neurons hold their
# values (every successor is one of them). Exhaustive enumerations (`cycles.exhaustive_cycles`,
# `landscape.landscape`) index exactly these states by a compressed index c: bit k of c is free neuron k
# (free neurons in ascending order), so c -> state is increasing, and with nothing pinned c is the state.

def free_neurons(H: int, pins) -> np.ndarray:
    """The unpinned neurons (int64, ascending)."""
    pinned = {j for j, _ in check_pins(pins, H)}
    return np.array([j for j in range(H) if j not in pinned], dtype=np.int64)


def _free_runs(free: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(k, word, bit, length): free neurons free[k .. k + length - 1] = bits bit .. bit + length - 1 of one
    word (maximal runs of consecutive neurons within a word), so a run moves with one shift and mask."""
    runs: list[list[int]] = []
    for k, j in enumerate(free.tolist()):
        if runs and j == free[k - 1] + 1 and j & 63:
            runs[-1][3] += 1
        else:
            runs.append([k, j >> 6, j & 63, 1])
    return [tuple(r) for r in runs]


def free_states(idx, free: np.ndarray, pinval: np.ndarray) -> np.ndarray:
    """Packed states (n, W) of compressed indices idx (n,): bit k of idx[r] becomes free neuron free[k];
    the other neurons hold pinval's bits (`pin_words`)."""
    u = np.asarray(idx, dtype=np.uint64).reshape(-1)
    out = np.empty((u.shape[0], pinval.shape[0]), dtype=np.uint64)
    out[:] = pinval
    for k, w, b, n in _free_runs(free):
        out[:, w] |= ((u >> np.uint64(k)) & np.uint64((1 << n) - 1)) << np.uint64(b)
    return out


def free_index(states: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Compressed indices (int64 (n,)) of packed states (n, W): bit k = free neuron free[k] (`free_states`'
    inverse on the free-state space; pinned bits are ignored)."""
    s = np.asarray(states, dtype=np.uint64)
    out = np.zeros(s.shape[0], dtype=np.uint64)
    for k, w, b, n in _free_runs(free):
        out |= ((s[:, w] >> np.uint64(b)) & np.uint64((1 << n) - 1)) << np.uint64(k)
    return out.astype(np.int64)


def build_tables(model: ElmanRNN, semantics: str = "exact", chunk_size: int | None = None, fast: bool = True,
                 tier1: str | None = None, pins=None) -> SignTables:
    """The transition tables of `model` (see the module docstring). `fast=False` makes tiers 1 and 2
    undecidable, so every neuron goes through the tier-3 fallback (slow; for tests and cross-checks).
    tier1: "chunk8", "chunk4", "chunk2", "chunk1", "wide8" or "wide4" (see `automaton.tier1`); chunk_size
    (8, 4, 2, 1) says the same for chunkK; neither: the automatic choice for the model's H.
    pins: {neuron: +1 or -1} held in every successor (see `SignTables`)."""
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
    free, pinval = pin_words(H, pins)
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
    return SignTables(H=H, W=W, Hp=Hp, sem=sem, cb=cs, C=C, tier1=TIER1_WIDE if wide else TIER1_CHUNKS,
                      baseq=np.ascontiguousarray(np.round(B64 * sig[None, :]), dtype=qtype).view(np.int16),
                      boundq=boundq.view(np.int16),
                      Tq=quantised_chunk_tables(model.Wh, cs, Hp, sig),
                      base2=np.ascontiguousarray(B64.T),
                      bound=bound,
                      Wh=np.ascontiguousarray(model.Wh, dtype=np.float32),
                      Wx=np.ascontiguousarray(model.Wx, dtype=np.float32),
                      bh=np.ascontiguousarray(model.bh, dtype=np.float32), free=free, pinval=pinval)


# ---- tier 3: the fallbacks -----------------------------------------------------------------------------

@njit_leaf
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


@njit_leaf
def _exact_bit(T, R, src, x, i, parts):
    """[exact sum of bh[i], Wx[i, x], s_j Wh[i, j] >= 0] for the state in row src of R: the expansion's
    largest nonzero part has the sign of the total (nonoverlapping parts: each exceeds the sum of all
    smaller ones). parts: float64 scratch of size >= H + 2."""
    Wh = T.Wh
    n = _grow_expansion(parts, 0, np.float64(T.bh[i]))
    n = _grow_expansion(parts, n, np.float64(T.Wx[i, x]))
    for j in range(T.H):
        w = np.float64(Wh[i, j])
        if ((R[src, j >> 6] >> np.uint64(j & 63)) & np.uint64(1)) == 0:
            w = -w
        n = _grow_expansion(parts, n, w)
    for k in range(n - 1, -1, -1):
        if parts[k] != 0.0:
            return 1 if parts[k] > 0.0 else 0
    return 1


@njit_leaf
def _seq_bit(T, R, src, x, i):
    """[z >= 0] for z in f32-seq semantics (DEFINITIONS 0.6 step B: z = fl32(bh + Wx), then
    z = fl32(z + s_j Wh[i, j]), j ascending), the sign flips as multiplications by exactly +-1.0f
    (branch-free, same results, also for -0.0: 0 * -1 = -0)."""
    Wh = T.Wh
    zs = np.float32(T.bh[i] + T.Wx[i, x])
    for j in range(T.H):
        bitj = (R[src, j >> 6] >> np.uint64(j & 63)) & np.uint64(1)
        zs = np.float32(zs + Wh[i, j] * (np.float32(bitj) * np.float32(2.0) - np.float32(1.0)))
    return 1 if zs >= np.float32(0.0) else 0


@njit_leaf
def _tier3(T, R, src, dst, x, z, parts):
    """Tier 3 (the counted fallback) for the neurons whose masks `_tier2` left in z's tail: each is
    recomputed in its semantics and its bit set in row dst of R."""
    Hp = T.Hp
    for k in range(T.W):
        m = _get_mask(z, Hp + 4 * k)
        while m != np.uint64(0):
            low = m & (~m + np.uint64(1))
            m ^= low
            i = 64 * k + popcount64(low - np.uint64(1))
            if T.sem == SEM_F32_SEQ:
                bit = _seq_bit(T, R, src, x, i)
            else:
                bit = _exact_bit(T, R, src, x, i, parts)
            if bit:
                R[dst, k] |= low
            else:
                R[dst, k] &= ~low


@njit_leaf
def _get_mask(z, at):
    m = np.uint64(0)
    for q in range(4):
        m |= np.uint64(np.int64(z[at + q]) & 0xFFFF) << np.uint64(16 * q)
    return m


# ---- the step: the one place that applies the three tiers -----------------------------------------------
#
# Reference counting is the main hidden cost: numba increments and decrements the reference count of every
# array argument of a function (atomic operations, ~20 cycles each) on each call when that function passes
# arrays to another call or allocates. The step and its tier-3 helpers are therefore compiled without
# reference counting (`njit_leaf`: they allocate nothing; the vector helpers are intrinsics, inline LLVM
# code), and kernels keep their states in rows of one register array and pass row numbers, so no view
# (R[t], another refcounted array) is made per step.

@njit_leaf
def _step(T, R, src, dst, x, z, parts):
    """One transition: row dst of the register array R (uint64 (rows, W)) = B(row src, byte x), src != dst;
    pinned neurons get their pinned value. Returns the number of tier-3 fallbacks.
    z = `_new_scratch(T)`, parts = `_new_parts(T)` (one of each per thread).

    Tier 1 (`T.tier1` selects the arithmetic; each writes row dst's bits and z's tail = undecided masks;
    another variant plugs in here the same way): TIER1_CHUNKS, int16 sums:
    z[:Hp] = baseq[x] + sum_c Tq[c, byte c of the state]; |z| <= 32765 (see the bounds), so the int16
    sums are exact in any order and `_within_mask64`'s |z| too. TIER1_WIDE: the same tables summed in int32
    (`automaton.tier1._wide_tier1`, its own scale and bound).
    Tier 2, for the neurons tier 1 leaves open: z~_n = base2[n, x] + the float64 sum of s_j Wh[n, j]
    (`_signed_row_sum`: eight vector lanes, then the rest); its bound holds for any order of summation.
    It reads Wh's row (H float32, cached: 64 KB in all for H = 128), not float64 chunk tables (4 MB, which
    miss the cache).
    Tier 3 (`_tier3`) for the neurons tier 2 leaves open."""
    Hp = T.Hp
    W = T.W
    free, pinval = T.free, T.pinval
    undecided = np.uint64(0)
    if T.tier1 == TIER1_CHUNKS:
        _chunk_sum(z, T.Tq, T.baseq, x, R, src, T.cb)
        boundq = T.boundq
        for k in range(W):
            R[dst, k] = (_positive_mask64(z, 64 * k) & free[k]) | pinval[k]
            und = _within_mask64(z, 64 * k, boundq, x * Hp + 64 * k) & free[k]
            undecided |= und
            for q in range(4):
                z[Hp + 4 * k + q] = np.int16(np.int64((und >> np.uint64(16 * q)) & np.uint64(0xFFFF)))  # wraps
    else:   # TIER1_WIDE: bits and undecided masks from the intrinsic, then the pins
        _wide_tier1(T.Tq, T.baseq, T.boundq, T.cb, R[src], x, R[dst], z)
        for k in range(W):
            R[dst, k] = (R[dst, k] & free[k]) | pinval[k]
            und = np.uint64(0)
            for q in range(4):
                und |= np.uint64(np.int64(z[Hp + 4 * k + q]) & 0xFFFF) << np.uint64(16 * q)
            und &= free[k]
            undecided |= und
            for q in range(4):
                z[Hp + 4 * k + q] = np.int16(np.int64((und >> np.uint64(16 * q)) & np.uint64(0xFFFF)))  # wraps
    if undecided == np.uint64(0):
        return 0
    # tier 2
    Wh, base2, bound = T.Wh, T.base2, T.bound
    H = T.H
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
            n = 64 * k + popcount64(low - np.uint64(1))
            a = _signed_row_sum(Wh, n, R, src, H8)
            for j in range(H8, H):
                a += np.float64(Wh[n, j]) * (np.float64((R[src, j >> 6] >> np.uint64(j & 63)) & np.uint64(1))
                                             * 2.0 - 1.0)
            z2 = base2[n, x] + a
            if abs(z2) > bound[x, n]:
                if z2 > 0:
                    R[dst, k] |= low
                else:
                    R[dst, k] &= ~low
            else:
                open_ |= low
                left += 1
        for q in range(4):
            z[Hp + 4 * k + q] = np.int16(np.int64((open_ >> np.uint64(16 * q)) & np.uint64(0xFFFF)))   # wraps
    if left:
        _tier3(T, R, src, dst, x, z, parts)
    return left


# Work units (see automaton/slices.py): a step costs C x Hp tier-1 additions, and each tier-3 neuron about
# FALLBACK_WORK x H (measured on the 2-core development machine: a tier-3 neuron costs 7.5 ns x H under
# "exact", 2 ns x H under "f32-seq"; a tier-1 addition 0.07-0.3 ns). Tier 2 is not counted: a step whose
# every neuron goes to tier 2 costs about 2.5 tier-1 steps, well within the slack of a slice.
FALLBACK_WORK = 32


@njit_leaf
def _step_work(T, fallbacks):
    """Work units of one step that had `fallbacks` tier-3 neurons."""
    return T.C * T.Hp + FALLBACK_WORK * T.H * fallbacks


def step_work(tables) -> int:
    """Work units of one step without fallbacks (estimates of total work, for `slices.threads_for`)."""
    return int(tables.C) * int(tables.Hp)


@njit
def _new_scratch(tables):
    """Scratch for `_step`: one per thread/loop, reused across steps. int16: Hp tier-1 sums, then W
    uint64 masks of the neurons left undecided (4 int16 slots each)."""
    return np.zeros(tables.Hp + 4 * tables.W, dtype=np.int16)


@njit
def _new_parts(tables):
    """Float64 scratch for tier 3's exact expansion (H + 2 parts)."""
    return np.zeros(tables.H + 2, dtype=np.float64)


# ---- kernels ---------------------------------------------------------------------------------------------

@njit
def _walk(T, R, cur, seq, q0, n, out, store, limit):
    """Advance the state in row cur of R (2 rows) by up to n steps, input seq[(q0 + t) % L] at step t,
    stopping after the step whose work reaches `limit` units; with store, out[t] = the state after step t.
    Returns (fallbacks, the row now holding the state, steps done, work done)."""
    z = _new_scratch(T)
    parts = _new_parts(T)
    L = seq.shape[0]
    q = q0 % L
    fb = 0
    work = 0
    t = 0
    while t < n and work < limit:
        x = np.int64(seq[q])
        f = _step(T, R, cur, 1 - cur, x, z, parts)
        fb += f
        work += _step_work(T, f)
        cur = 1 - cur
        if store:
            for k in range(T.W):
                out[t, k] = R[cur, k]
        t += 1
        q += 1
        if q == L:
            q = 0
    return fb, cur, t, work


@njit
def _advance_rows(T, A, seqs, out, fallbacks, r0, limit):
    """out[r] = the state A[r] after the steps seqs[r, 0], ..., seqs[r, L-1] (seqs with one row: the same
    sequence for every r); fallbacks[r] their tier-3 count. Rows are independent: rows r0, r0 + 1, ... are
    done until the row whose work reaches `limit` units. Returns (the next row to do, work done)."""
    z = _new_scratch(T)
    parts = _new_parts(T)
    W = T.W
    R = np.empty((2, W), dtype=np.uint64)
    L = seqs.shape[1]
    shared = seqs.shape[0] == 1
    work = 0
    r = r0
    while r < A.shape[0] and work < limit:
        for k in range(W):
            R[0, k] = A[r, k]
        cur = 0
        fb = 0
        sr = 0 if shared else r
        for q in range(L):
            x = np.int64(seqs[sr, q])
            f = _step(T, R, cur, 1 - cur, x, z, parts)
            fb += f
            work += _step_work(T, f)
            cur = 1 - cur
        for k in range(W):
            out[r, k] = R[cur, k]
        fallbacks[r] = fb
        r += 1
    return r, work


# ---- public wrapper ----------------------------------------------------------------------------------

def _check_steps(steps) -> int:
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)) \
            or not 0 <= int(steps) <= MAX_STEPS:
        raise SatrnnInputError(f"steps must be an integer between 0 and {MAX_STEPS}, got {steps!r}")
    return int(steps)


@dataclass(frozen=True)
class FallbackStats(Record):
    """Neuron-steps of a sign automaton whose sign tiers 1 and 2 could not decide (recomputed exactly, tier 3),
    of all neuron-steps it computed, and their fraction; under `semantics`."""
    semantics: str
    fallbacks: int
    neuron_steps: int
    fallback_fraction: float


class SignAutomaton:
    """The sign automaton of a model, s_{t+1} = sign(bh + Wx[:, x] + Wh s_t) decided exactly, under one
    semantics ("exact": the sign of the real sum of the float32 terms; "f32-seq": the papers' sequential
    float32 sum), optionally with pinned neurons held at +1 or -1 in every successor whatever their input.

    `SignAutomaton(model, semantics="exact", pin={8: +1})` is the Python API's form (`satrnn.SignAutomaton`):
    with pin_starts=True (its default) the pinned values are also set in every state a method is given, so
    every state of a run carries them. `SignAutomaton.from_model(model, semantics, pins=...)` is the kernels'
    form (pin_starts=False: start states are used as given, as `satrnn sign --pin` prints them).
    States are packed (W,) uint64 arrays (bit j of word j // 64 = neuron j is +1) or, where a method says so,
    hex text and "minus"/"plus" (all -1 / all +1); `to_hex` / `from_hex` convert (neuron 0 = lowest bit).

    Attributes: H, W, semantics, pins ({neuron: +1 or -1}, empty if none; `pin` is the API's name), tables (a
    `SignTables`, pass it to the njit kernels), and fallback counters: `fallbacks` (neuron-steps whose sign the
    rigorous bound could not decide and which were recomputed, cumulative over calls), `neuron_steps` (all
    neuron-steps computed), `last_fallbacks` (of the last call).
    Long runs go in slices of about 0.1 s: `on_progress(steps_done)` is called between them and Ctrl-C
    stops a run within a slice.
    """

    def __init__(self, model_or_tables, semantics: str = "exact", pins=None, *, pin=None,
                 pin_starts: bool | None = None, tier1: str | None = None):
        if pins is not None and pin is not None:
            raise SatrnnInputError("give the pinned neurons once (pin= or pins=)")
        pins = pin if pins is None else pins
        if isinstance(model_or_tables, ElmanRNN):
            if semantics not in SEMANTICS:
                raise SatrnnInputError(f"semantics must be 'exact' or 'f32-seq', got {semantics!r}")
            model_or_tables = build_tables(model_or_tables, semantics, tier1=tier1, pins=pins)
            pin_starts = True if pin_starts is None else pin_starts
        elif not isinstance(model_or_tables, SignTables):
            raise SatrnnInputError(f"expected a model from satrnn.load_model, got {type(model_or_tables).__name__}")
        tables = model_or_tables
        self.tables = tables
        self.semantics = semantics
        self.pins = dict(check_pins(pins, int(tables.H)))
        self.pin_starts = bool(pin_starts)
        self.H = int(tables.H)
        self.W = int(tables.W)
        self.fallbacks = 0
        self.neuron_steps = 0
        self.last_fallbacks = 0

    @property
    def pin(self) -> dict:
        """The pinned neurons {neuron: +1 or -1} (the Python API's name for `pins`)."""
        return self.pins

    @property
    def tier1(self) -> str:
        """The tier-1 choice of the tables ("chunk8", "wide8", ...; see `automaton.tier1`)."""
        return tier1_of(self.tables)

    @classmethod
    def from_model(cls, model: ElmanRNN, semantics: str = "exact", *, chunk_size: int | None = None,
                   fast: bool = True, tier1: str | None = None, pins=None) -> SignAutomaton:
        """The automaton of `model`. tier1: the tier-1 choice (`automaton.tier1.TIER1_CHOICES`; None =
        automatic by H). pins: {neuron: +1 or -1}, neurons held at that value in every successor whatever
        their input (start states are used as given); see `with_pins`."""
        if not isinstance(model, ElmanRNN):
            raise SatrnnInputError(f"expected an ElmanRNN, got {type(model).__name__}")
        return cls(build_tables(model, semantics, chunk_size, fast, tier1=tier1, pins=pins), semantics, pins,
                   pin_starts=False)

    def with_pins(self, pins) -> SignAutomaton:
        """The same automaton (sharing its tables) with these neurons pinned instead ({neuron: +1 or -1};
        None or {} = nothing pinned). Counters start at 0."""
        free, pinval = pin_words(self.H, pins)
        return SignAutomaton(self.tables._replace(free=free, pinval=pinval), self.semantics, pins,
                             pin_starts=self.pin_starts)

    def pinned(self, pins) -> SignAutomaton:
        """The automaton with exactly these neurons pinned: itself if its pins are already these, else
        `with_pins`."""
        pins = check_pins(pins, self.H)
        return self if dict(pins) == self.pins else self.with_pins(dict(pins))

    def apply_pins(self, state) -> np.ndarray:
        """`state` with the pinned neurons set to their values."""
        return hold(self.check_state(state), self.tables.free, self.tables.pinval)

    def _start(self, state) -> np.ndarray:
        """A state a method was given: parsed (hex or a word, see `state`) and validated, with the pinned
        values set when pin_starts."""
        s = self.state(state)
        return hold(s, self.tables.free, self.tables.pinval) if self.pin_starts else s

    # ---- states as text ----
    def state(self, s) -> np.ndarray:
        """A packed state from a packed array, a hex string, or "minus"/"plus" (all -1 / all +1)."""
        if isinstance(s, str):
            return self.parse_state(s)
        return self.check_state(s)

    def from_hex(self, text: str) -> np.ndarray:
        return from_hex(text, self.H)

    def to_hex(self, state) -> str:
        return to_hex(self.state(state), self.H)

    def signs(self, state) -> np.ndarray:
        """(H,) int8 of +1/-1 for a packed or hex state."""
        return np.asarray(to_signs(self.state(state)[None, :], self.H)[0], dtype=np.int8)

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
    def _walk(self, s, seq, n: int, out, on_progress=None) -> np.ndarray:
        """n steps from s with inputs seq[t % L], in slices; out (n, W) gets every state if given.
        Returns the final state."""
        from satrnn.automaton.slices import run_jobs
        R = np.zeros((2, self.W), dtype=np.uint64)
        R[0] = s
        pos = {"t": 0, "cur": 0, "fb": 0}
        store = out is not None
        dummy = np.empty((1, self.W), dtype=np.uint64)

        def work(_, limit):
            t = pos["t"]
            fb, pos["cur"], k, used = _walk(self.tables, R, pos["cur"], seq, t % seq.shape[0], n - t,
                                            out[t:] if store else dummy, store, limit)
            pos["fb"] += fb
            pos["t"] = t + k
            return pos["t"] >= n, k, used

        if n > 0:
            run_jobs(1, work, threads=1,
                     on_progress=None if on_progress is None else lambda _, steps: on_progress(steps))
        self._count(pos["fb"], n)
        return R[pos["cur"]].copy()

    def step(self, state, x) -> np.ndarray:
        """The successor (W,) uint64 of `state` under byte x."""
        s = self._start(state)
        R = np.zeros((2, self.W), dtype=np.uint64)
        R[0] = s
        seq = np.array([self._check_byte(x)], dtype=np.uint8)
        fb, cur, _, _ = _walk(self.tables, R, 0, seq, 0, 1, R, False, NO_LIMIT)
        self._count(fb, 1)
        return R[cur].copy()

    def run(self, state, xs, on_progress=None) -> np.ndarray:
        """Trajectory (n, W) uint64 under the byte sequence xs; row t = the state after reading xs[t]."""
        from satrnn.rnn.forward import as_bytes
        s = self._start(state)
        xs = as_bytes(xs)
        out = np.empty((xs.shape[0], self.W), dtype=np.uint64)
        if xs.shape[0]:
            self._walk(s, xs, xs.shape[0], out, on_progress)
        else:
            self._count(0, 0)
        return out

    def run_constant(self, state, x, steps: int, trajectory: bool = False, on_progress=None) -> np.ndarray:
        """`steps` steps under the constant byte x: the final state (W,), or with trajectory=True all
        states (steps, W) (row t = after t+1 steps)."""
        s = self._start(state)
        seq = np.array([self._check_byte(x)], dtype=np.uint8)
        steps = _check_steps(steps)
        out = np.empty((steps, self.W), dtype=np.uint64) if trajectory else None
        final = self._walk(s, seq, steps, out, on_progress)
        return out if trajectory else final

    def step_rows(self, states, xs) -> np.ndarray:
        """B(states[r], xs[r]) for every row r: (m, W) -> (m, W) (rows independent; threads for large m)."""
        from satrnn.automaton.slices import run_rows
        a = np.ascontiguousarray(states, dtype=np.uint64)
        if a.ndim != 2 or a.shape[1] != self.W:
            raise SatrnnInputError(f"states must have shape (m, {self.W}), got {a.shape}")
        xs = np.ascontiguousarray(np.asarray(xs, dtype=np.uint8).reshape(-1, 1))
        if xs.shape[0] != a.shape[0]:
            raise SatrnnInputError(f"{a.shape[0]} states but {xs.shape[0]} input bytes")
        out = np.empty_like(a)
        fb = np.zeros(a.shape[0], dtype=np.int64)
        m = a.shape[0]

        def advance(r, hi, limit):
            return _advance_rows(self.tables, a[:hi], xs[:hi], out[:hi], fb[:hi], r, limit)

        run_rows(m, step_work(self.tables), advance)
        self._count(int(fb.sum()), m)
        return out

    def fallback_stats(self) -> FallbackStats:
        """The fallback counters accumulated over all calls."""
        return FallbackStats(semantics=self.semantics, fallbacks=self.fallbacks, neuron_steps=self.neuron_steps,
                             fallback_fraction=self.fallbacks / self.neuron_steps if self.neuron_steps else 0.0)


NO_LIMIT = 1 << 62   # a work limit no run reaches
