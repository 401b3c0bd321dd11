"""Tier 1 of the sign automaton at any H: the tier-1 choices (which int16 chunk tables, summed in int16 or
int32), their table construction without float64 copies, and the prefetching adders that stream the rows.

Choices (`TIER1_CHOICES`; `auto_tier1(H)` picks one, `sign.build_tables(..., tier1=...)` overrides):
- "chunkK" (K = 8, 4, 2, 1 neurons per chunk): the int16 tables of `automaton.sign` summed in int16. With
  C = ceil(H/K) chunks and Hp = 64 ceil(H/64), a step adds C rows of Hp int16 (2 Hp C bytes) out of a table
  of C 2^K Hp int16 (about 2^K/K * 2 H^2 bytes: K = 8: 64 H^2, 64 MB at H = 1024; K = 4: 8 H^2; K = 2, 1: 4 H^2).
- "wideK" (K = 8, 4): the same tables scaled per neuron to the largest chunk sum and summed in int32
  (`_wide_tier1`): the same bytes per step, a bound ~C/2 times tighter (see "the wide tier 1" below), so
  tier 2 stays rare at large H.

Why no "dense int16 W_h" choice (z = baseq + sum_j s_j Wq[:, j], rows of one int16 matrix added or
subtracted): it streams one Hp row per neuron j (2 H^2 bytes per step; the rowsum trick
z = 2 sum_{s_j = +1} Wq_j - rowsum halves that to about H^2 for random states) from a 2 H^2 table, and
chunk2 already streams H^2 bytes from a 4 H^2 table with fewer operations per row; chunk2 measured half
the speed of chunk4 at every H from 64 to 2048 (benchmarks/bench_scale_h.py), so dense int16 would lose to
chunk4 (and wide4) everywhere and is not offered.

Prefetching: a step knows every row it will read from the start (the state's bytes), so the adders ask
the memory system for rows before they are needed (LLVM prefetch): the narrow adder (`sign._chunk_sum`)
the row eight chunks ahead, the wide one each row's next block of neurons. Rows that come from L3 or DRAM
then arrive while others are summed instead of one cache miss at a time.

Rigour: every choice is the tier 1 of `automaton.sign` with its own (K, C) and, for wideK, its own scale
(proofs below). The tiers 2 and 3 are the same for every choice, and whatever tier 1 decides, tier 2
would decide too, so trajectories, cycles and fallback counts do not depend on the choice.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from satrnn.rnn.errors import SatrnnInputError

# ---- tier-1 choices ----------------------------------------------------------------------------------
#
# Each choice "chunkK" is tier 1 of `automaton.sign` with cs = K and C = ceil(H/K); its bound is the one
# proven there with those values (nothing else changes):
#     sigma_i = (32767 - (C + 1)/2 - 2)(1 - 2^-40) / max_x S^[x, i],
#     |zq / sigma - z| <= (C + 1)/(2 sigma) + gamma_{K+1}(u64) S     (C + 1 roundings to integers, at most
#                                                                    K + 1 float64 roundings per summand),
#     boundq = ceil(((C + 1)/2 + sigma (E64 + E_seq or 0)) (1 + 2^-20)) + 1,  E64 = fl64(2 (K + 1) u64 S^),
# and |every partial sum| <= 32765, so the int16 additions are exact in any order (eight rows per vector
# pass here). chunk8: C = ceil(H/8), chunk4: ceil(H/4), chunk2: ceil(H/2), chunk1: C = H (its rows
# Tq[c, 1] = round(sigma Wh[:, c]) = -Tq[c, 0] are the dense int16 matrix). Tier 1 is disabled (C > 32000)
# only for H > 32000 with chunk1.
# The tables are built chunk by chunk (`quantised_chunk_tables`) with exactly the float64 operations of
# the proof (the K signed weights summed k = 0, 1, ..., times sigma, rounded), so they are the same integers
# `sign.build_tables` made from its full float64 table, without its memory.
#
# Fallback counts do not depend on the choice. Tier 1 decides +1 only if z >= 2/sigma + E_seq (see sign.py;
# -1 symmetrically), where 2/sigma >= 2 S^ / 32767 > 6e-5 S^. Tier 2 computes z~ with |z~ - z| <= E2 / 1.9
# and decides whenever |z~| > bound = E2 (+ E_seq) (rounded up by < u64); E2 = fl64(2 R2 u64 S^) < 1e-4 S^
# / 2 for R2 = H + 1 < 1e11 (any model that fits in memory). So |z~| >= 2/sigma + E_seq - E2/1.9 > bound:
# every neuron tier 1 decides, tier 2 would decide with the same sign. The tier-3 fallbacks are exactly
# the neurons tier 2 cannot decide, whatever tier 1 left open. (When tier 2 is disabled for the model,
# `sign.build_tables` disables tier 1 too, so this holds there as well.)

TIER1_CHOICES = ("chunk8", "chunk4", "chunk2", "chunk1", "wide8", "wide4")

# Automatic choice by H (measured on one core with benchmarks/bench_scale_h.py, load ~6 on 2 cores): the
# narrow chunk8 (int16 sums, `sign._chunk_sum`) up to AUTO_NARROW_MAX_H (H = 256: 1.9M steps/s against
# wide8's 1.5M); above it the wide int32 sums, whose bound stays small (the narrow one grows with H and
# hands tier 2 up to a quarter of the neurons at H = 2048): wide8 was 1.1x chunk8 at H = 512, 2.2x at 1024
# and 2.4x at 2048. wide8 while its table (64 H^2 bytes) is at most AUTO_WIDE8_MAX_BYTES (H = 2048: 268 MB,
# 466 MB peak RSS, build ~1 s, 1.5x wide4's speed), then wide4 (8 H^2 bytes).
AUTO_NARROW_MAX_H = 256
AUTO_WIDE8_MAX_BYTES = 320 << 20


def auto_tier1(H: int) -> str:
    """The tier-1 choice used when none is given (see AUTO_NARROW_MAX_H)."""
    if H <= AUTO_NARROW_MAX_H:
        return "chunk8"
    return "wide8" if table_bytes(H, 8) <= AUTO_WIDE8_MAX_BYTES else "wide4"


def tier1_of(tables) -> str:
    """The tier-1 choice a `sign.SignTables` was built with (its fields cb and tier1: 1 = wide)."""
    return tier1_name(int(tables.cb), int(tables.tier1) == 1)


def parse_tier1(tier1: str | None, H: int) -> tuple[int, bool]:
    """(neurons per chunk, wide int32 sums?) of a tier-1 choice (None: the automatic choice for H);
    exit-2 error if unknown."""
    name = auto_tier1(H) if tier1 is None else tier1
    if name not in TIER1_CHOICES:
        raise SatrnnInputError(f"unknown tier-1 choice {tier1!r} (use one of {', '.join(TIER1_CHOICES)})")
    return int(name[-1]), name.startswith("wide")


def tier1_name(chunk_size: int, wide: bool = False) -> str:
    """The name of the tier-1 choice with `chunk_size` neurons per chunk (wide: int32 sums)."""
    return f"{'wide' if wide else 'chunk'}{int(chunk_size)}"


def table_bytes(H: int, chunk_size: int) -> int:
    """Bytes of the int16 tier-1 table Tq for H neurons."""
    Hp = 64 * ((H + 63) // 64)
    C = (H + chunk_size - 1) // chunk_size
    return 2 * C * (1 << chunk_size) * Hp


# ---- table construction ------------------------------------------------------------------------------

def _huge_page_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array that starts on a 2 MiB boundary inside a block of at least 4 MiB
    (numpy asks Linux to back such blocks with transparent huge pages): its rows are read at random, and in
    4 KiB pages the speed depended on where the pages landed. Small arrays are ordinary."""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if n < (256 << 10):
        return np.empty(shape, dtype=dtype)
    block = 2 << 20
    buf = np.empty(n + 2 * block, dtype=np.uint8)
    off = (-buf.ctypes.data) % block
    return buf[off:off + n].view(dtype).reshape(shape)


def quantised_chunk_tables(Wh: np.ndarray, cs: int, Hp: int, sig: np.ndarray) -> np.ndarray:
    """Tq (C, 2^cs, Hp) int16: Tq[c, b, i] = round(fl64(sig[i] * T64[c, b, i])) with T64[c, b, i] = sum_k
    (bit k of b ? +1 : -1) Wh[i, cs c + k] summed k = 0, 1, ... in float64 (zero-padded), one chunk at a
    time: peak memory is the int16 table plus one (2^cs, Hp) float64 block.

    The sums are built by doubling: the entries for bits 0..k are those for bits 0..k-1 plus or minus
    Wh[:, cs c + k], which is exactly the left-to-right sum of each entry (the same float64 operations as
    summing every entry separately, 2^(cs+1) row operations per chunk instead of 2 cs 2^cs)."""
    H = Wh.shape[0]
    C = (H + cs - 1) // cs
    Whp = np.zeros((C * cs, Hp), dtype=np.float64)       # column j of Wh as row j (contiguous reads)
    Whp[:H, :H] = Wh.T
    Tq = _huge_page_empty((C, 1 << cs, Hp), np.int16)
    acc = np.empty((1 << cs, Hp), dtype=np.float64)
    for c in range(C):
        acc[0] = -Whp[c * cs]
        acc[1] = Whp[c * cs]
        for k in range(1, cs):
            n = 1 << k
            w = Whp[c * cs + k]
            np.add(acc[:n], w[None, :], out=acc[n:2 * n])        # bit k set: + w
            np.subtract(acc[:n], w[None, :], out=acc[:n])        # bit k clear: - w
        np.multiply(acc, sig[None, :], out=acc)
        np.round(acc, out=acc)
        Tq[c] = acc
    return Tq


_I32 = ir.IntType(32)


# ---- the wide tier 1: int16 tables, int32 sums -----------------------------------------------------------
#
# Why: the narrow tier 1 (int16 sums) must keep |every partial sum| <= 32765, so its scale is
# sigma ~ 32767 / S (S = the neuron's whole absolute row sum) and its bound is about (C + 1)/2 units, a
# fraction (C + 1)/65534 of S, which grows with H. For random models the number of neurons tier 1 leaves
# to tier 2 (an H-term float64 sum each) grows like H^2.5: measured 0.35 per step at H = 128 (chunk8), 40
# at 1024 and 464 at 2048 (chunk4). Then tier 2, not tier 1, is the cost of a step.
# The wide tier 1 keeps the int16 tables (same bytes per step) but adds them in int32, so only each table
# entry must fit int16: sigma_i ~ 32766 / M_i with M_i the largest chunk sum |T64[c, b, i]|, about S / C.
# The bound, still about (C + 1)/2 units, is then a fraction ~ (C + 1) M_i / (65532 S) of S: ~C/2 times
# smaller, and tier 2 is rarely needed.
#
# The bound (same notation as sign.py's "rigorous bounds"; the proof there carries over with the new
# sigma, only the range argument changes):
#   A^_i = max_c fl64(sum_k |Wh[i, cs c + k]|) (float64, k ascending). Exactly, |T64 exact| <= the chunk's
#   absolute sum A, and the float64 sums satisfy |fl T64| <= A (1 + gamma_{cs-1}(u64)) and
#   fl A >= A (1 - gamma_{cs-1}(u64)), so |fl T64[c, b, i]| <= A^_i (1 + 2^-45) for cs <= 8.
#   sigma_i = min(32766 / A^_i, 2^29 / max_x S^[x, i]) (1 - 2^-30)  (0: tier 1 off for the neuron when
#   S^ is 0, not finite or >= FLT_MAX_SAFE).
#   Range: |fl64(sigma T64)| <= 32766 (1 - 2^-30)(1 + 2^-45)(1 + u64) < 32766, so every rounded entry
#   fits int16. The int32 sum of baseq and the C rows, over any subset and in any order, is bounded by
#   sigma S (1 + 2^-40) + (C + 1)/2 <= 2^29 + 2^15 < 2^31: the int32 additions are exact.
#   Error: baseq = round(fl64(sigma B64)) and Tq = round(fl64(sigma T64)) exactly as in sign.py, so again
#   |zq / sigma - z| <= (C + 1)/(2 sigma) + gamma_{cs+1}(u64) S, and boundq (int32) is the same formula:
#   ceil(((C + 1)/2 + sigma (E64 + E_seq or 0)) (1 + 2^-20)) + 1; where it would reach 2^30 the neuron is
#   made undecidable (boundq = 2^31 - 1). zq > boundq gives z >= 2/sigma + E_seq > 0 as there.
#   Tier 2 decides whatever this tier decides (see "tier-1 choices": now 2/sigma >= 2 S^ / 2^29 > 3.7e-9 S^,
#   still more than 2 E2 + ulps for H + 1 < 10^6).
#
# Storage: baseq and boundq are int32 (256, Hp), kept in the table tuple as int16 views (256, 2 Hp), so
# every tier-1 choice has the same numba type (one compilation for all) and `sign._step` selects the wide
# adder when baseq's rows are twice as long as Tq's.

WIDE_SPAN = 32766.0
WIDE_SUM_LIMIT = 2.0 ** 29
INT32_UNDECIDABLE = 2 ** 31 - 1
WIDE_PREFETCH_MIN_ENTRIES = 2 << 20   # int16 entries of Tq (4 MB) above which `_wide_tier1` prefetches:
                                      # smaller tables stay in L2, where prefetches only cost instructions


def wide_scale(Wh: np.ndarray, S: np.ndarray, cs: int, flt_max_safe: float) -> tuple[np.ndarray, np.ndarray]:
    """(sigma (H,) float64, ok (H,) bool) for the wide tier 1 (see above); S = S^ (256, H)."""
    H = Wh.shape[0]
    C = (H + cs - 1) // cs
    A = np.zeros((H, C * cs), dtype=np.float64)
    A[:, :H] = np.abs(Wh.astype(np.float64))
    Ahat = A.reshape(H, C, cs)[:, :, 0].copy()
    for k in range(1, cs):                       # k ascending, as the bound says
        Ahat += A.reshape(H, C, cs)[:, :, k]
    Ahat = Ahat.max(axis=1)
    Smax = S.max(axis=0)
    ok = (Smax > 0) & np.isfinite(Smax) & (Smax < flt_max_safe)
    with np.errstate(divide="ignore"):
        by_entry = np.where(Ahat > 0, WIDE_SPAN / np.where(Ahat > 0, Ahat, 1.0), np.inf)
    by_sum = WIDE_SUM_LIMIT / np.where(ok, Smax, 1.0)
    sigma = np.where(ok, np.minimum(by_entry, by_sum), 0.0) * (1.0 - 2.0 ** -30)
    return sigma, ok


@intrinsic
def _wide_tier1(typingctx, Tq, baseq, boundq, cb, state_in, x, state_out, z):
    """The wide tier 1 (int32 sums of the int16 rows; see above): for each block of 64 neurons,
    acc = baseq32[x, block] + sum_c Tq[c, chunk c of state_in, block] in int32 registers; writes
    state_out[block] = the bits (acc > 0) and the undecided mask (|acc| <= boundq32[x, block]) into z's tail
    (z[Hp + 4 block ...], as `sign._step` does); returns the OR of the undecided masks.

    Tq: C-contiguous (C, 2^cb, Hp) int16; baseq, boundq: int16 (256, 2 Hp) views of int32 (256, Hp).
    For tables over WIDE_PREFETCH_MIN_ENTRIES, while a block is summed each row's next block is prefetched
    (into L2): a row is read again C rows later, so it arrives in time even from L3 or DRAM."""
    for arr in (Tq, baseq, boundq, z):
        if not (isinstance(arr, types.Array) and arr.dtype == types.int16 and arr.layout == "C"):
            return None

    def codegen(context, builder, sig, args):
        tv, bv, dv, cbv, sv, xv, ov, zv = args
        i64, i32 = ir.IntType(64), ir.IntType(32)
        v16 = ir.VectorType(ir.IntType(16), 64)
        v32 = ir.VectorType(i32, 64)

        def widen(val, ty):
            if val.type.width >= 64:
                return val
            return builder.sext(val, i64) if getattr(ty, "signed", True) else builder.zext(val, i64)
        ta = context.make_array(sig.args[0])(context, builder, tv)
        ba = context.make_array(sig.args[1])(context, builder, bv)
        da = context.make_array(sig.args[2])(context, builder, dv)
        sa = context.make_array(sig.args[4])(context, builder, sv)
        oa = context.make_array(sig.args[6])(context, builder, ov)
        za = context.make_array(sig.args[7])(context, builder, zv)
        C, nb, hp = cgutils.unpack_tuple(builder, ta.shape, 3)
        cb64 = widen(cbv, sig.args[3])
        x64 = widen(xv, sig.args[5])
        bmask = builder.sub(builder.shl(ir.Constant(i64, 1), cb64), ir.Constant(i64, 1))
        p32 = i32.as_pointer()
        brow = builder.gep(builder.bitcast(ba.data, p32), [builder.mul(x64, hp)])
        drow = builder.gep(builder.bitcast(da.data, p32), [builder.mul(x64, hp)])
        ztail = builder.gep(za.data, [hp])
        i8p = ir.IntType(8).as_pointer()
        pf = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, _I32, _I32, _I32]),
                                            "llvm.prefetch.p0")
        big = builder.icmp_unsigned(">", builder.mul(builder.mul(C, nb), hp),
                                    ir.Constant(i64, WIDE_PREFETCH_MIN_ENTRIES))
        acc = cgutils.alloca_once(builder, v32)
        anyund = cgutils.alloca_once_value(builder, ir.Constant(i64, 0))
        zero32 = ir.Constant(v32, None)
        with cgutils.for_range(builder, builder.udiv(hp, ir.Constant(i64, 64))) as blk:
            off = builder.mul(blk.index, ir.Constant(i64, 64))
            builder.store(builder.load(builder.bitcast(builder.gep(brow, [off]), v32.as_pointer()), align=4), acc)
            def chunk_loop(prefetch):
                with cgutils.for_range(builder, C) as ch:
                    bit = builder.mul(ch.index, cb64)
                    word = builder.load(builder.gep(sa.data, [builder.lshr(bit, ir.Constant(i64, 6))]))
                    b = builder.and_(builder.lshr(word, builder.and_(bit, ir.Constant(i64, 63))), bmask)
                    row = builder.gep(ta.data, [builder.mul(builder.add(builder.mul(ch.index, nb), b), hp)])
                    here = builder.gep(row, [off])
                    v = builder.load(builder.bitcast(here, v16.as_pointer()), align=2)
                    builder.store(builder.add(builder.load(acc), builder.sext(v, v32)), acc)
                    for ahead in ((64, 96) if prefetch else ()):   # the row's next block: two 64-byte lines
                        # (a prefetch never faults, so the last block needs no test)
                        builder.call(pf, [builder.bitcast(builder.gep(here, [ir.Constant(i64, ahead)]), i8p),
                                          ir.Constant(_I32, 0), ir.Constant(_I32, 2), ir.Constant(_I32, 1)])
            with builder.if_else(big) as (then, otherwise):
                with then:
                    chunk_loop(True)
                with otherwise:
                    chunk_loop(False)
            a = builder.load(acc)
            pos = builder.bitcast(builder.icmp_signed(">", a, zero32), i64)
            builder.store(pos, builder.gep(oa.data, [blk.index]))
            bnd = builder.load(builder.bitcast(builder.gep(drow, [off]), v32.as_pointer()), align=4)
            absa = builder.select(builder.icmp_signed("<", a, zero32), builder.sub(zero32, a), a)
            und = builder.bitcast(builder.icmp_signed("<=", absa, bnd), i64)
            # the mask's four 16-bit slots, little-endian, as sign._step writes them
            slot = builder.gep(ztail, [builder.mul(blk.index, ir.Constant(i64, 4))])
            builder.store(und, builder.bitcast(slot, i64.as_pointer()), align=2)
            builder.store(builder.or_(builder.load(anyund), und), anyund)
        return builder.load(anyund)
    return types.uint64(Tq, baseq, boundq, cb, state_in, x, state_out, z), codegen
