"""Tier 1 of the sign automaton at any H: which int16 chunk tables to use (the "tier-1 choice"), how to build
them without float64 copies, and the prefetching adder that streams their rows.

Choices (`TIER1_CHOICES`): "chunkK" = the int16 chunk tables of `automaton.sign` with K = 8, 4, 2 or 1 neurons
per chunk. With C = ceil(H/K) chunks and Hp = 64 ceil(H/64) padded neurons, one step adds C table rows of Hp
int16 (2 Hp C bytes read per step) out of a table of C 2^K Hp int16 (about 2^K/K * 2 H^2 bytes: chunk8
64 H^2 = 64 MB at H = 1024, chunk4 8 H^2, chunk2 and chunk1 4 H^2). Few chunks read little per step but
make a big table; the table falls out of cache for large H, and then what matters is how many bytes a
step streams and whether the rows arrive in time.

Why no "dense int16 W_h" choice (z = baseq + sum_j s_j Wq[:, j], rows of one int16 matrix added or
subtracted): it streams one Hp row per neuron j (2 H^2 bytes per step; the rowsum trick
z = 2 sum_{s_j = +1} Wq_j - rowsum halves that to about H^2 for random states) from a 2 H^2 table, and
chunk2 already streams H^2 bytes from a 4 H^2 table with fewer operations per row; chunk2 measured half
the speed of chunk4 at every H from 64 to 2048 (benchmarks/bench_scale_h.py), so dense int16 would lose to
chunk4 everywhere and is not offered.

The adder (`_add_octet_pf`): a step knows every row it will read from the start (the state's bytes), so
while it adds eight rows it asks the memory system for the next eight (LLVM prefetch). Rows that come from
L3 or DRAM then arrive while the current ones are summed instead of one cache miss at a time; this is what
keeps the throughput per weight from falling with H (measured with bench_scale_h.py).

Rigour: every choice is the tier 1 of `automaton.sign` with its own (K, C): see "the rigorous bounds" there
and "tier-1 choices" below. The tiers 2 and 3 are the same for every choice, and whatever tier 1 decides,
tier 2 would decide too, so trajectories, cycles and fallback counts do not depend on the choice.
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

TIER1_CHOICES = ("chunk8", "chunk4", "chunk2", "chunk1")

# Automatic choice by H (measured on one core, benchmarks/bench_scale_h.py, Xeon with 2 MB L2 per core):
# chunk8 is fastest while its table (64 H^2 bytes) is small; chunk4 (8 H^2 bytes) from H = 384 on, where
# chunk8's table no longer fits the cache well and costs seconds to build; chunk8 again where its
# larger rows read fewer bytes than chunk4 is not worth 64 H^2 bytes of memory.
AUTO_CHUNK8_MAX_H = 256


def auto_tier1(H: int) -> str:
    """The tier-1 choice used when none is given (see AUTO_CHUNK8_MAX_H)."""
    return "chunk8" if H <= AUTO_CHUNK8_MAX_H else "chunk4"


def chunk_size_of(tier1: str | None, H: int) -> int:
    """Neurons per chunk of a tier-1 choice (None: the automatic choice for H); exit-2 error if unknown."""
    name = auto_tier1(H) if tier1 is None else tier1
    if name not in TIER1_CHOICES:
        raise SatrnnInputError(f"unknown tier-1 choice {tier1!r} (use one of {', '.join(TIER1_CHOICES)})")
    return int(name[len("chunk"):])


def tier1_name(chunk_size: int) -> str:
    """The name of the tier-1 choice with `chunk_size` neurons per chunk."""
    return f"chunk{int(chunk_size)}"


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
    time: peak memory is the int16 table plus two (2^cs, Hp) float64 blocks."""
    H = Wh.shape[0]
    C = (H + cs - 1) // cs
    Whp = np.zeros((C * cs, Hp), dtype=np.float64)       # column j of Wh as row j (contiguous reads)
    Whp[:H, :H] = Wh.T
    b = np.arange(1 << cs)
    signs = np.where((b[:, None] >> np.arange(cs)[None, :]) & 1, 1.0, -1.0)           # (2^cs, cs)
    Tq = _huge_page_empty((C, 1 << cs, Hp), np.int16)
    acc = np.empty((1 << cs, Hp), dtype=np.float64)
    tmp = np.empty_like(acc)
    for c in range(C):
        np.multiply(signs[:, 0, None], Whp[None, c * cs], out=acc)
        for k in range(1, cs):
            np.multiply(signs[:, k, None], Whp[None, c * cs + k], out=tmp)
            np.add(acc, tmp, out=acc)
        np.multiply(acc, sig[None, :], out=acc)
        np.round(acc, out=acc)
        Tq[c] = acc
    return Tq


# ---- the prefetching octet adder -----------------------------------------------------------------------

_I32 = ir.IntType(32)


@intrinsic
def _add_octet_pf(typingctx, z, Tq, c0, w, wnext, prefetch, cb, src, srow):
    """z[:Hp] = src.flat[srow Hp:(srow + 1) Hp] + sum_{j < 8} Tq[c0 + j, (w >> j cb) & (2^cb - 1), :], and
    if prefetch != 0, a prefetch of the eight rows Tq[c0 + 8 + j, (wnext >> j cb) & (2^cb - 1), :] (the next
    octet's) spread over the same pass.

    Tq: C-contiguous (C, 2^cb, Hp) int16 with Hp a multiple of 64; z: int16 of size >= Hp; src: z itself
    (srow = 0) or baseq (srow = x). LLVM vector code over blocks of 64 neurons with the running sum in
    registers (numba's loop would check at run time whether z overlaps each row); the additions wrap, which
    is exact whenever the true sum fits int16 (see the bounds in automaton/sign.py)."""
    if not (isinstance(Tq, types.Array) and Tq.ndim == 3 and Tq.dtype == types.int16 and Tq.layout == "C"):
        return None

    def codegen(context, builder, sig, args):
        zv, tv, c0v, wv, wnv, pfv, cbv, sv, srowv = args
        i64 = ir.IntType(64)
        vty = ir.VectorType(ir.IntType(16), 64)
        za = context.make_array(sig.args[0])(context, builder, zv)
        ta = context.make_array(sig.args[1])(context, builder, tv)
        sa = context.make_array(sig.args[7])(context, builder, sv)
        shape = cgutils.unpack_tuple(builder, ta.shape, 3)
        nb, hp = shape[1], shape[2]
        cb64 = builder.sext(cbv, i64) if cbv.type.width < 64 else cbv
        pf64 = builder.sext(pfv, i64) if pfv.type.width < 64 else pfv
        bmask = builder.sub(builder.shl(ir.Constant(i64, 1), cb64), ir.Constant(i64, 1))

        def rows_of(word, first):
            out = []
            for j in range(8):
                b = builder.and_(builder.lshr(word, builder.mul(cb64, ir.Constant(i64, j))), bmask)
                r = builder.add(builder.mul(builder.add(first, ir.Constant(i64, j)), nb), b)
                out.append(builder.gep(ta.data, [builder.mul(r, hp)]))
            return out
        rows = rows_of(wv, c0v)
        nrows = rows_of(wnv, builder.add(c0v, ir.Constant(i64, 8)))
        i8p = ir.IntType(8).as_pointer()
        pf = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, _I32, _I32, _I32]),
                                            "llvm.prefetch.p0")
        do_pf = builder.icmp_signed("!=", pf64, ir.Constant(i64, 0))
        sbase = builder.gep(sa.data, [builder.mul(srowv, hp)])
        nblk = builder.udiv(hp, ir.Constant(i64, 64))
        with cgutils.for_range(builder, nblk) as loop:
            off = builder.mul(loop.index, ir.Constant(i64, 64))
            with builder.if_then(do_pf):
                for r in nrows:                  # 64 int16 = two 64-byte lines per row and block
                    for half in (0, 32):
                        p = builder.gep(r, [builder.add(off, ir.Constant(i64, half))])
                        # read, high temporal locality, data cache
                        builder.call(pf, [builder.bitcast(p, i8p), ir.Constant(_I32, 0), ir.Constant(_I32, 3),
                                          ir.Constant(_I32, 1)])

            def vload(base):
                return builder.load(builder.bitcast(builder.gep(base, [off]), vty.as_pointer()), align=2)
            acc = vload(sbase)
            for r in rows:
                acc = builder.add(acc, vload(r))
            builder.store(acc, builder.bitcast(builder.gep(za.data, [off]), vty.as_pointer()), align=2)
        return context.get_dummy_value()
    return (types.void(z, Tq, types.intp, types.uint64, types.uint64, types.intp, types.intp, src, types.intp),
            codegen)
