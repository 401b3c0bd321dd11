"""The reference forward pass and the double-precision readout (DEFINITIONS.md sections 0.3-0.5).

Alignment: row t of `hs` is h_t, the state after reading byte x_t; it predicts x_{t+1}. h_{-1} = 0 unless a
start state is given. `costs[t]` (t = 0..n-2) is the cost in bits of x_{t+1} under P(h_t).

float32 ("f32") arithmetic is the papers': for each neuron i, z = bh[i] + Wx[i, x_t], then
z += Wh[i, j] * h[j] for j ascending, every product and sum rounded to float32 (no FMA), h = tanhf(z).
tanhf is satrnn's own (`rnn.elementary`), never the host's: `tanh="fdlibm"` (the default) is bit-identical
to the tanhf of glibc <= 2.40 that the papers' programs called, `tanh="cr"` is correctly rounded (glibc >=
2.41). The "f64" variant widens the weights to double and uses satrnn's double tanh, for cross-checks. The
readout's exp and log are satrnn's own doubles too, so every bit of a state, a cost and a bpc is the same on
every host.

Speed without reordering: every sum (the recurrence's over j, the readout's over j) is vectorised across
its outputs (neurons, output bytes), never along its own order (`_matvec_acc`); tanh and exp are
branch-free and vectorised across neurons and output bytes. Long texts stream: `iter_states` (states chunk
by chunk, O(H) state carried) and `evaluate` (bpc; each chunk's readout in parallel over positions,
overlapped with the next chunk's recurrence); the in-memory `forward`/`run_states` remain for analyses that
keep states.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

from satrnn.rnn.elementary import (
    DEFAULT_TANH,
    exp_f64,
    log2_f64,
    log_f64,
    sequential_mean,
    tanh_code,
    tanh_f32_into,
    tanh_f64_into,
)
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import NJIT_OPTIONS, njit, njit_parallel, prange
from satrnn.rnn.shared_slices import SlicePool

PRECISIONS = ("f32", "f64")
COST_FLOOR = 1e-30
LN2 = 0.6931471805599453       # ln 2 correctly rounded to double (the papers' log(2.0))


# ---- the recurrence ----------------------------------------------------------------------------------

# Vectors of 512 bits whose running sums stay in registers together (independent add chains), largest
# first: the outputs go in passes of the largest group that still fits, then the smaller ones, then one at a
# time. 8 vectors (128 float32 neurons) hold a 128-unit recurrence in one pass (1.05 against 1.26-1.36 us
# a byte with groups of 4: `run_states` on 256 KB, one thread, best of 3, alternating); the widening readout
# keeps 8 double vectors (64 outputs; 16 were slower, 3.5 against 3.0 us a step), the table rows of the sign
# readout (additions only) 16.
_GROUPS = (8, 4, 2, 1)
_GROUPS_WIDEN = (8, 4, 2, 1)
_GROUPS_UNIT = (16, 8, 4, 2, 1)


def _matvec_codegen(sparse: bool, unit: bool = False):
    """The LLVM of `_matvec_acc` (every row j of WT, j ascending), of `_matvec_rows_acc` (the rows
    rows[0..n-1], in that order) and of `_rows_sum_acc` (unit: the rows themselves, no product): one code
    generator, so the sums are the same arithmetic."""

    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        wt = context.get_value_type(sig.args[1].dtype)
        zt = context.get_value_type(sig.args[0].dtype)
        widen = sig.args[0].dtype != sig.args[1].dtype
        wsize = 4 if sig.args[1].dtype == types.float32 else 8
        zsize = 4 if sig.args[0].dtype == types.float32 else 8
        # widening (float32 products summed in double): 8 lanes, so each 256-bit product vector widens
        # to one 512-bit double vector with no lane extraction; otherwise one 512-bit vector of W's dtype
        lanes = 8 if widen else 64 // wsize
        groups = _GROUPS_UNIT if unit else _GROUPS_WIDEN if widen else _GROUPS
        wvty, zvty = ir.VectorType(wt, lanes), ir.VectorType(zt, lanes)
        za = context.make_array(sig.args[0])(context, builder, args[0])
        wa = context.make_array(sig.args[1])(context, builder, args[1])
        if unit:        # the rows to add: rows[k] for k < n (args 2 and 3)
            ra = context.make_array(sig.args[2])(context, builder, args[2])
            nrows = args[3]
        else:
            va = context.make_array(sig.args[2])(context, builder, args[2])
        nrows0, ncols = cgutils.unpack_tuple(builder, wa.shape, 2)
        if sparse and not unit:     # rows[k] for k < n (args 3 and 4)
            ra = context.make_array(sig.args[3])(context, builder, args[3])
            nrows = args[4]
        elif not sparse:
            nrows = nrows0
        accs = [cgutils.alloca_once(builder, zvty) for _ in range(groups[0])]    # promoted to registers
        zero_mask = ir.Constant(ir.VectorType(ir.IntType(32), lanes), None)

        def vptr(base, off, vty):
            return builder.bitcast(builder.gep(base, [off]), vty.as_pointer())

        def term(w, x, ty):     # the product rounded to W's dtype, then widened exactly
            p = builder.fmul(w, x)
            return builder.fpext(p, ty) if widen else p

        done = ir.Constant(i64, 0)
        for group in groups:
            width = lanes * group
            ngroups = builder.udiv(builder.sub(ncols, done), ir.Constant(i64, width))
            with cgutils.for_range(builder, ngroups) as g:
                base = builder.add(done, builder.mul(g.index, ir.Constant(i64, width)))
                offs = [builder.add(base, ir.Constant(i64, k * lanes)) for k in range(group)]
                for k in range(group):
                    builder.store(builder.load(vptr(za.data, offs[k], zvty), align=zsize), accs[k])
                with cgutils.for_range(builder, nrows) as jl:
                    jrow = builder.load(builder.gep(ra.data, [jl.index])) if sparse or unit else jl.index
                    row = builder.mul(jrow, ncols)
                    if not unit:
                        vj = builder.load(builder.gep(va.data, [jl.index]))
                        vv = builder.shuffle_vector(builder.insert_element(ir.Constant(wvty, ir.Undefined), vj,
                                                                           ir.Constant(ir.IntType(32), 0)),
                                                    ir.Constant(wvty, ir.Undefined), zero_mask)
                    for k in range(group):
                        w = builder.load(vptr(wa.data, builder.add(row, offs[k]), wvty), align=wsize)
                        builder.store(builder.fadd(builder.load(accs[k]), w if unit else term(w, vv, zvty)),
                                      accs[k])
                for k in range(group):
                    builder.store(builder.load(accs[k]), vptr(za.data, offs[k], zvty), align=zsize)
            done = builder.add(done, builder.mul(ngroups, ir.Constant(i64, width)))
        acc = cgutils.alloca_once(builder, zt)
        with cgutils.for_range_slice(builder, done, ncols, ir.Constant(i64, 1), inc=True) as (i, _):
            zi = builder.gep(za.data, [i])
            builder.store(builder.load(zi), acc)
            with cgutils.for_range(builder, nrows) as jl:
                jrow = builder.load(builder.gep(ra.data, [jl.index])) if sparse or unit else jl.index
                w = builder.load(builder.gep(wa.data, [builder.add(builder.mul(jrow, ncols), i)]))
                if not unit:
                    vj = builder.load(builder.gep(va.data, [jl.index]))
                    w = term(w, vj, zt)
                builder.store(builder.fadd(builder.load(acc), w), acc)
            builder.store(builder.load(acc), zi)
        return context.get_dummy_value()
    return codegen


def _matvec_types_ok(z, WT, v) -> bool:
    arrs = (z, WT, v)
    if not all(isinstance(a, types.Array) and a.layout == "C" for a in arrs):
        return False
    if WT.ndim != 2 or z.ndim != 1 or v.ndim != 1 or v.dtype != WT.dtype:
        return False
    return WT.dtype in (types.float32, types.float64) and z.dtype in (WT.dtype, types.float64)


@intrinsic
def _matvec_acc(typingctx, z, WT, v):
    """z[i] <- (...((z[i] + W[i, 0] * v[0]) + W[i, 1] * v[1]) ...) + W[i, m-1] * v[m-1], for every i < K.

    WT = W.T: C-contiguous (m, K) float32 or float64 (row j = the weights leaving input j); v: contiguous
    (>= m,) of WT's dtype; z: contiguous (>= K,) of WT's dtype or float64. Each product is rounded to WT's
    dtype, widened exactly to z's dtype and added to z[i] in z's dtype, j ascending: per output a
    sequential sum in the order of DEFINITIONS 0.3 (z float32: the recurrence, W = Wh) and 0.4 (z float64,
    W = Wy float32: the readout's dbl(fl32(Wy[o][j] v[j]))). The vectorisation is ACROSS outputs: lane l
    is output i = base + l, so no sum is reordered. Products and sums are separate LLVM `fmul` and `fadd`
    without fast-math flags, which LLVM may not contract into FMA (tests/test_forward.py checks the
    machine code and a case where an FMA would change the bit). Outputs are taken in groups of up to 8
    vectors of 512-bit loads (128 float32 or 64 float64 outputs; `_GROUPS`, largest first) whose running
    sums stay in registers for the whole j loop (independent add chains); the outputs past the last whole
    vector are summed one at a time.
    """
    if not _matvec_types_ok(z, WT, v):
        return None
    return types.void(z, WT, v), _matvec_codegen(False)


@intrinsic
def _matvec_rows_acc(typingctx, z, WT, v, rows, n):
    """`_matvec_acc` over a list of rows: z[i] += W[i, rows[k]] * v[k] for k = 0..n-1 in that order (rows
    int64, C-contiguous, each < m; v has >= n entries): the incremental sign readout's deltas
    (`automaton.sign_readout`), with the same register-resident groups of outputs."""
    if not _matvec_types_ok(z, WT, v):
        return None
    if not (isinstance(rows, types.Array) and rows.dtype == types.int64 and rows.ndim == 1 and rows.layout == "C"):
        return None
    if not isinstance(n, types.Integer):
        return None
    return types.void(z, WT, v, rows, types.int64), _matvec_codegen(True)


@intrinsic
def _rows_sum_acc(typingctx, z, T, rows, n):
    """z[i] += T[rows[0], i] + T[rows[1], i] + ... + T[rows[n-1], i] (k ascending) for every i < K; z, T
    float64 (T (m, K) C-contiguous, rows int64 C-contiguous, each < m). No product: the sign readout's pattern
    tables (`automaton.sign_readout`), whose rows are exact, so their sums are exact in any order. Groups of
    up to 16 double vectors (128 outputs) stay in registers: 0.30 against 0.67 us for 16 rows of 256 through
    `_matvec_rows_acc` with unit factors."""
    arrs = (z, T, rows)
    if not all(isinstance(a, types.Array) and a.layout == "C" for a in arrs):
        return None
    if z.ndim != 1 or T.ndim != 2 or rows.ndim != 1 or z.dtype != types.float64 or T.dtype != types.float64:
        return None
    if rows.dtype != types.int64 or not isinstance(n, types.Integer):
        return None
    return types.void(z, T, rows, types.int64), _matvec_codegen(True, unit=True)


def _squash(z, h, H, sem):
    """h[i] = tanh(z[i]) for i < H: satrnn's float32 tanh under semantics code `sem` (0 fdlibm, 1 cr) for
    float32 arrays, satrnn's double tanh for float64 (`rnn.elementary`). Dispatches on the dtype."""


@overload(_squash, jit_options=NJIT_OPTIONS)
def _squash_impl(z, h, H, sem):
    if z.dtype == types.float32:
        return lambda z, h, H, sem: tanh_f32_into(z, h, H, sem)
    return lambda z, h, H, sem: tanh_f64_into(z, h, H)


@njit
def _step(Wx, WhT, bh, x, h, z, sem):
    """One step of the reference recurrence, in place: z <- pre-activation under byte x, h <- tanh(z).

    Wx (H, 256), WhT = Wh.T (H, H) C-contiguous, bh (H,), h and z (H,) contiguous, one dtype; sem the tanh
    semantics code (`rnn.elementary.tanh_code`). z[i] = bh[i] + Wx[i, x], then the products Wh[i, j] * h[j]
    added for j ascending (`_matvec_acc`), every operation rounded to the dtype. This and `_states_chunk`
    are the only places the step is written.
    """
    H = WhT.shape[0]
    for i in range(H):
        z[i] = bh[i] + Wx[i, x]
    _matvec_acc(z, WhT, h)
    _squash(z, h, H, sem)


@njit
def _states_chunk(WxT, WhT, bh, xs, h, z, hs, zs, sem):
    """The recurrence over xs from state h (updated in place to the state after the last byte).

    WxT = Wx.T (256, H), WhT = Wh.T (H, H), bh (H,), h and z (H,), all C-contiguous, one dtype; sem the
    tanh semantics code. Writes hs[t] = h_t (hs has >= n rows) and, if zs has n rows, zs[t] = z_t. The step
    is `_step`'s arithmetic with the input column read as a contiguous row of WxT.
    """
    n = xs.shape[0]
    H = WhT.shape[0]
    want_z = zs.shape[0] == n
    for t in range(n):
        x = xs[t]
        for i in range(H):
            z[i] = bh[i] + WxT[x, i]
        _matvec_acc(z, WhT, h)
        _squash(z, h, H, sem)
        for i in range(H):
            hs[t, i] = h[i]
        if want_z:
            for i in range(H):
                zs[t, i] = z[i]


@njit
def _forward_kernel(Wx, WhT, bh, xs, h0, hs, zs, sem):
    """The recurrence over xs from h0 in the dtype of the arrays, tanh semantics code sem. Writes hs, zs
    (n, H)."""
    h = h0.copy()
    z = np.empty_like(h0)
    _states_chunk(np.ascontiguousarray(Wx.T), WhT, bh, xs, h, z, hs, zs, sem)


# ---- the readout ------------------------------------------------------------------------------------

@njit
def _logits(Wy, by, v, L):
    """L[o] = dbl(by[o]) + sum_j dbl(Wy[o, j] * v[j]), j ascending (a float32 product for float32 v).

    The scalar form, for callers holding Wy (256, H); the readout itself uses `_logits_t` (same sums)."""
    H = v.shape[0]
    for o in range(256):
        acc = np.float64(by[o])
        for j in range(H):
            acc += Wy[o, j] * v[j]
        L[o] = acc


@njit
def _logits_t(WyT, by, v, L):
    """L[o] = dbl(by[o]) + sum_j dbl(WyT[j, o] * v[j]), j ascending; WyT = Wy.T (H, 256) C-contiguous.

    The products are rounded to WyT's dtype (float32 for the papers' readout), the sums are double."""
    for o in range(256):
        L[o] = np.float64(by[o])
    _matvec_acc(L, WyT, v)


@njit
def _softmax_terms(L, E):
    """(mx, Z) of the double softmax of L (256,) (DEFINITIONS 0.4): mx = max_o L[o], E[o] = exp(L[o] - mx)
    (satrnn's `exp_f64`, vectorised) and Z = sum_o E[o] with o ascending. P_o = E[o] / Z. The one place the
    softmax's exponentials and partition sum are written; every readout, gradient and trainer uses it."""
    mx = L[0]
    for o in range(1, 256):
        if L[o] > mx:
            mx = L[o]
    for o in range(256):
        E[o] = exp_f64(L[o] - mx)
    Z = 0.0
    for o in range(256):
        Z += E[o]
    return mx, Z


@njit
def _cost_bits(py, clamp):
    """Cost in bits of a probability: -log2(max(py, 1e-30)) when clamp, else -ln(py) / ln 2 (q1_sparsity)."""
    if clamp:
        return -log2_f64(max(py, 1e-30))
    return -log_f64(py) / LN2


@njit
def _softmax_cost(L, y, clamp):
    """Cost in bits of byte y under softmax(L) in double, o ascending (DEFINITIONS 0.4).

    clamp: -log2(max(P_y, 1e-30)); otherwise -ln(P_y)/ln 2 (q1_sparsity's convention).
    """
    E = np.empty(256, dtype=np.float64)
    mx, Z = _softmax_terms(L, E)
    return _cost_bits(E[y] / Z, clamp)


_ROWS = 4   # readout rows whose softmax maxima and sums run interleaved (`_softmax_rows` is written for 4)


@njit
def _softmax_rows(L, E, mx, Z):
    """`_softmax_terms` for the _ROWS = 4 rows of L (4, 256) at once: mx[k] = max_o L[k, o], E[k, o] =
    exp(L[k, o] - mx[k]), Z[k] = sum_o E[k, o] with o ascending: per row the same operations in the same order
    as `_softmax_terms` (so the same bits), the four rows' sequential maxima and sums interleaved in registers
    (independent chains hide the latency of each)."""
    m0, m1, m2, m3 = L[0, 0], L[1, 0], L[2, 0], L[3, 0]
    for o in range(1, 256):
        v0, v1, v2, v3 = L[0, o], L[1, o], L[2, o], L[3, o]
        m0 = v0 if v0 > m0 else m0
        m1 = v1 if v1 > m1 else m1
        m2 = v2 if v2 > m2 else m2
        m3 = v3 if v3 > m3 else m3
    mx[0], mx[1], mx[2], mx[3] = m0, m1, m2, m3
    for k in range(4):
        m = mx[k]
        for o in range(256):
            E[k, o] = exp_f64(L[k, o] - m)
    z0 = z1 = z2 = z3 = 0.0
    for o in range(256):
        z0 += E[0, o]
        z1 += E[1, o]
        z2 += E[2, o]
        z3 += E[3, o]
    Z[0], Z[1], Z[2], Z[3] = z0, z1, z2, z3


@njit
def _softmax_scratch():
    """The scratch of one block of _ROWS readout rows: L, E (_ROWS, 256) float64 and mx, Z (_ROWS,) float64."""
    return (np.empty((_ROWS, 256), dtype=np.float64), np.empty((_ROWS, 256), dtype=np.float64),
            np.empty(_ROWS, dtype=np.float64), np.empty(_ROWS, dtype=np.float64))


@njit
def _readout_block(WyT, by, V, targets, clamp, costs, logp, r0, L, E, mx, Z):
    """Rows r0 .. r0 + _ROWS - 1 of `_readout` (fewer at the end of V), in the block's scratch arrays L, E
    (_ROWS, 256), mx, Z (_ROWS,). A short last block repeats its last row (computed, never stored)."""
    m = V.shape[0]
    R = min(_ROWS, m - r0)
    for k in range(_ROWS):
        _logits_t(WyT, by, V[r0 + min(k, R - 1)], L[k])
    _softmax_rows(L, E, mx, Z)
    want = logp.shape[0] == m
    for k in range(R):
        r = r0 + k
        costs[r] = _cost_bits(E[k, targets[r]] / Z[k], clamp)
        if want:
            lz = log_f64(Z[k])
            for o in range(256):
                logp[r, o] = (L[k, o] - mx[k]) - lz


@njit_parallel
def _readout(WyT, by, V, targets, clamp, costs, logp):
    """Double-precision readout of rows of V (m, H) against targets (m,); WyT = Wy.T (H, 256).

    L[o] = dbl(by[o]) + sum_j dbl(Wy[o, j] * V[r, j]) with j ascending; with float32 V the product is a
    float32 product (rounded), as in DEFINITIONS 0.4. Softmax in double with o ascending. costs[r] is
    -log2(max(P_y, 1e-30)) when clamp, else -ln(P_y)/ln 2. If logp has m rows, logp[r, o] = ln P_o =
    (L[o] - mx) - ln Z. Rows go in blocks of _ROWS (`_readout_block`); blocks are independent and each
    writes only its own outputs, so the result is the same for any number of threads.
    """
    nblk = (V.shape[0] + _ROWS - 1) // _ROWS
    for blk in prange(nblk):
        L, E, mx, Z = _softmax_scratch()
        _readout_block(WyT, by, V, targets, clamp, costs, logp, blk * _ROWS, L, E, mx, Z)


@njit
def _readout_serial(WyT, by, V, targets, clamp, costs, logp):
    """`_readout` on the calling thread, with no parallel region: for callers that run several readouts at
    once on threads of their own. numba's workqueue threading layer (the one left where neither OpenMP nor
    TBB is installed, e.g. a minimal Debian) aborts the process when two threads launch parallel regions at
    the same time."""
    L, E, mx, Z = _softmax_scratch()
    for blk in range((V.shape[0] + _ROWS - 1) // _ROWS):
        _readout_block(WyT, by, V, targets, clamp, costs, logp, blk * _ROWS, L, E, mx, Z)


@njit
def _fold_costs(costs, start, total, worst):
    """(total + costs[0] + costs[1] + ..., max(worst, costs)) with the sum taken strictly in index order:
    folding chunk after chunk gives the same double as one sequential pass over all predictions."""
    for r in range(start, costs.shape[0]):
        total += costs[r]
        if costs[r] > worst:
            worst = costs[r]
    return total, worst


def as_bytes(xs) -> np.ndarray:
    """Validate and convert an input sequence to a contiguous uint8 array."""
    a = np.asarray(xs)
    if a.ndim != 1:
        raise SatrnnInputError(f"input must be a 1-D byte sequence, got shape {a.shape}")
    if a.size and a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() > 255:
            raise SatrnnInputError("input bytes must be integers in 0-255")
    return np.ascontiguousarray(a, dtype=np.uint8)


def _dtype_of(precision: str):
    if precision not in PRECISIONS:
        raise SatrnnInputError(f"unknown precision {precision!r} (use one of {', '.join(PRECISIONS)})")
    return np.float32 if precision == "f32" else np.float64


def _start_state(model: ElmanRNN, h0, dtype) -> np.ndarray:
    if h0 is None:
        return np.zeros(model.H, dtype=dtype)
    h = np.asarray(h0)
    if h.shape != (model.H,):
        raise SatrnnInputError(f"start state has shape {h.shape}, expected ({model.H},)")
    if not np.isfinite(h).all():
        raise SatrnnInputError("start state contains NaN/Inf")
    return np.ascontiguousarray(h, dtype=dtype)


@dataclass(frozen=True)
class Weights:
    """A model's weights laid out for the kernels, in one dtype: WxT = Wx.T (256, H), WhT = Wh.T (H, H),
    WyT = Wy.T (H, 256), bh (H,), by (256,), all C-contiguous (transposes make every inner loop run over
    contiguous neurons or output bytes)."""

    WxT: np.ndarray
    WhT: np.ndarray
    bh: np.ndarray
    WyT: np.ndarray
    by: np.ndarray
    sem: int          # tanh semantics code of the recurrence (`rnn.elementary.tanh_code`)
    tanh: str

    @classmethod
    def of(cls, model: ElmanRNN, precision: str = "f32", tanh: str | None = None) -> Weights:
        """The layout of `model` in `precision`, under `tanh` (None: the model's own semantics)."""
        dt = _dtype_of(precision)
        tanh = model.tanh if tanh is None else tanh
        c = lambda a: np.ascontiguousarray(a, dtype=dt)
        return cls(WxT=c(model.Wx.T), WhT=c(model.Wh.T), bh=c(model.bh), WyT=c(model.Wy.T), by=model.readout_bias64(),
                   sem=tanh_code(tanh), tanh=tanh)

    @property
    def H(self) -> int:
        return int(self.bh.shape[0])


READOUT_SLICE = 256   # positions per readout slice in `evaluate` (~1 ms of work at H = 128)


def chunk_bytes(H: int) -> int:
    """Bytes per kernel call in the chunked paths: about 0.1 s of work on one core at any H, so an interrupt
    or a progress update is never more than ~0.2 s away. Cost per byte: ~3 ns per neuron for the vectorised
    tanh plus the H^2 multiply-adds, ~0.06 ns each while Wh fits in the cache and ~0.5 ns each beyond (Wh is
    then read from memory at every step: measured 14.6 ms per byte at H = 4096 under load)."""
    per_mac = 0.06 if 4 * H * H <= (1 << 21) else 0.5
    per_byte_ns = 3.0 * H + per_mac * H * H + 300.0
    return int(min(1 << 16, max(1, 1e8 / per_byte_ns)))


def run_states(model: ElmanRNN, xs, precision: str = "f32", h0=None,
               tanh: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hidden states and pre-activations (hs, zs), both (n, H); row t = after reading x_t.

    precision "f32": the papers' bit-exact float32 arithmetic; "f64": double weights and tanh.
    tanh: the float32 tanh semantics (None: `model.tanh`). Runs in slices of `chunk_bytes(H)` bytes
    (Ctrl-C is honoured between slices).
    """
    xs = as_bytes(xs)
    W = Weights.of(model, precision, tanh)
    dt = W.bh.dtype
    n = xs.shape[0]
    hs = np.empty((n, model.H), dtype=dt)
    zs = np.empty((n, model.H), dtype=dt)
    h = _start_state(model, h0, dt).copy()
    z = np.empty(model.H, dtype=dt)
    step = chunk_bytes(model.H)
    for a in range(0, n, step):
        b = min(n, a + step)
        _states_chunk(W.WxT, W.WhT, W.bh, xs[a:b], h, z, hs[a:b], zs[a:b], W.sem)
    return hs, zs


def readout_costs(model: ElmanRNN, V: np.ndarray, targets, clamp: bool = True, want_logp: bool = False,
                  Wy: np.ndarray | None = None):
    """Per-row costs in bits of `targets` under the readout of rows of V (m, H), float32 or float64.

    Returns (costs (m,) float64, logp (m, 256) float64 natural-log probabilities or None). `Wy` overrides
    the model's readout matrix (e.g. knocked-out columns); it must have the model's dtype and shape.
    """
    V = np.asarray(V)
    if V.ndim != 2 or V.shape[1] != model.H:
        raise SatrnnInputError(f"readout input has shape {V.shape}, expected (m, {model.H})")
    if V.dtype not in (np.float32, np.float64):
        raise SatrnnInputError(f"readout input dtype {V.dtype} must be float32 or float64")
    targets = as_bytes(targets)
    if targets.shape[0] != V.shape[0]:
        raise SatrnnInputError(f"{V.shape[0]} readout rows but {targets.shape[0]} targets")
    Wy = model.Wy if Wy is None else np.ascontiguousarray(Wy, dtype=np.float32)
    if Wy.shape != model.Wy.shape:
        raise SatrnnInputError(f"Wy override has shape {Wy.shape}, expected {model.Wy.shape}")
    m = V.shape[0]
    costs = np.empty(m, dtype=np.float64)
    logp = np.empty((m if want_logp else 0, 256), dtype=np.float64)
    dt = V.dtype
    _readout(np.ascontiguousarray(Wy.T, dtype=dt), model.readout_bias64(), np.ascontiguousarray(V), targets,
             clamp, costs, logp)
    return costs, (logp if want_logp else None)


class SlicedReadout:
    """`readout_costs` (no logp, the model's Wy) as slices on a `rnn.shared_slices.SlicePool`: serial
    kernels on the pool's threads and the caller's, no parallel region. The transposed readout is made once.
    The same bits as `readout_costs`."""

    def __init__(self, model: ElmanRNN, dtype=np.float32):
        self.H = model.H
        self.dtype = np.dtype(dtype)
        self.WyT = np.ascontiguousarray(model.Wy.T, dtype=self.dtype)
        self.by = model.readout_bias64()
        self._no_logp = np.empty((0, 256), dtype=np.float64)

    def start(self, V: np.ndarray, targets, slices, clamp: bool = True):
        """(job, costs): the costs (m,) of `targets` under rows of V (m, H) of this readout's dtype, filled
        once `job.finish()` has returned."""
        V = np.ascontiguousarray(V)
        if V.ndim != 2 or V.shape[1] != self.H or V.dtype != self.dtype:
            raise SatrnnInputError(f"readout input has shape {V.shape} and dtype {V.dtype}, expected (m, {self.H}) "
                                   f"{self.dtype}")
        targets = as_bytes(targets)
        if targets.shape[0] != V.shape[0]:
            raise SatrnnInputError(f"{V.shape[0]} readout rows but {targets.shape[0]} targets")
        costs = np.empty(V.shape[0], dtype=np.float64)
        WyT, by, none = self.WyT, self.by, self._no_logp

        def fn(a, b):
            _readout_serial(WyT, by, V[a:b], targets[a:b], clamp, costs[a:b], none)
        return slices.start(fn, V.shape[0]), costs


# The float32 step, the whole forward and the softmax cost as numba building blocks for kernels of the
# other layers (UM, redux, offsets), which must share these definitions: njit functions, call them only
# from numba code. Public names, so no layer imports another's private kernels.
step_kernel = _step
forward_kernel = _forward_kernel
softmax_cost_kernel = _softmax_cost
logits_kernel = _logits_t
softmax_terms_kernel = _softmax_terms
softmax_rows_kernel = _softmax_rows
softmax_scratch_kernel = _softmax_scratch
READOUT_ROWS = _ROWS
cost_bits_kernel = _cost_bits
matvec_rows_kernel = _matvec_rows_acc
rows_sum_kernel = _rows_sum_acc


@dataclass(frozen=True, eq=False)
class ForwardResult:
    """Everything a forward pass over a text produces.

    hs, zs: (n, H) states and the pre-activations that produced them (row t = after x_t).
    costs: (n-1,) bits for predicting x_{t+1} from h_t. bpc: their sequential mean.
    logp: (n-1, 256) natural-log next-byte probabilities, when requested.
    tanh: the float32 tanh semantics the states were computed under; model: the model that ran.
    The Python API's names (`satrnn.forward`): states, preactivations, log_probs, and logits (computed from
    the model's readout in float64 on first use).
    """

    hs: np.ndarray
    zs: np.ndarray
    costs: np.ndarray
    bpc: float
    precision: str
    logp: np.ndarray | None = None
    tanh: str = DEFAULT_TANH
    model: ElmanRNN | None = field(default=None, repr=False)

    @property
    def predictions(self) -> int:
        return int(self.costs.shape[0])

    @property
    def states(self) -> np.ndarray:
        """(n, H) float32: row t = h_t, the state after byte t."""
        return self.hs

    @property
    def preactivations(self) -> np.ndarray:
        """(n, H) float32: the z_t that gave the states."""
        return self.zs

    @property
    def log_probs(self) -> np.ndarray | None:
        """(n-1, 256) float64 natural-log next-byte probabilities (softmax in double, as the costs)."""
        return self.logp

    @cached_property
    def logits(self) -> np.ndarray:
        """(n-1, 256) float64 logits by[o] + sum_j Wy[o, j] h_t[j] (float64 arithmetic; log_probs is their
        log-softmax up to the rounding of the readout kernel's float32 products)."""
        m = self.model
        return self.hs[:-1].astype(np.float64) @ m.Wy.T.astype(np.float64) + m.by.astype(np.float64)


def forward(model: ElmanRNN, xs, precision: str = "f32", h0=None, clamp: bool = True,
            want_logp: bool = False, tanh: str | None = None) -> ForwardResult:
    """Run the model over the text and read out every prediction (n-1 of them, needs n >= 2).

    tanh: the float32 tanh semantics (None: `model.tanh`). Keeps all n states in memory; for long texts
    use `evaluate` (bpc) or `iter_states` (states)."""
    xs = as_bytes(xs)
    if xs.shape[0] < 2:
        raise SatrnnInputError(f"text has {xs.shape[0]} byte(s); at least 2 are needed for a prediction")
    tanh = model.tanh if tanh is None else tanh
    hs, zs = run_states(model, xs, precision, h0, tanh=tanh)
    costs, logp = readout_costs(model, hs[:-1], xs[1:], clamp=clamp, want_logp=want_logp)
    return ForwardResult(hs=hs, zs=zs, costs=costs, bpc=sequential_mean(costs), precision=precision, logp=logp,
                         tanh=tanh, model=model)


# ---- streaming: chunks of text, O(H) state carried across them -----------------------------------

@dataclass(frozen=True)
class StateBlock:
    """One chunk of a streamed forward pass (views into reused buffers: valid until the block after next).

    xs: the chunk's bytes (m,); start: index of xs[0] in the whole text; hs: (m + 1, H) with hs[0] the
    state before xs[0] (h_{start-1}; zeros or h0 for the first chunk) and hs[1 + t] = h_{start+t};
    zs: (m, H) pre-activations (zs[t] produced hs[1 + t]) or None when not requested."""

    xs: np.ndarray
    start: int
    hs: np.ndarray
    zs: np.ndarray | None


def _byte_chunks(source, size: int):
    """Writable uint8 arrays of at most `size` bytes, in order, from a byte array (views) or from an
    iterable of uint8 arrays (e.g. `rnn.text.iter_text`, split or copied as needed)."""
    if isinstance(source, np.ndarray):
        source = (source,)
    for part in source:
        part = as_bytes(part)
        if not part.flags.writeable:
            part = part.copy()       # one numba specialisation (writable arrays) for every caller
        for a in range(0, part.shape[0], size):
            yield part[a:a + size]


def iter_states(model: ElmanRNN, source, precision: str = "f32", h0=None, want_z: bool = False,
                chunk: int | None = None, weights: Weights | None = None, tanh: str | None = None,
                buffers: int = 2):
    """Stream the reference recurrence over `source` (a byte array, or an iterable of byte arrays such as
    `rnn.text.iter_text(path)`), yielding a StateBlock per chunk. Memory is O(chunk * H), whatever the length:
    `buffers` alternating buffers (at least 2), so a block stays valid while the next buffers - 1 are
    computed. tanh: the float32 tanh semantics (None: `model.tanh`; ignored when `weights` is given, which
    carries its own)."""
    W = Weights.of(model, precision, tanh) if weights is None else weights
    dt = W.bh.dtype
    H = model.H
    size = chunk_bytes(H) if chunk is None else int(chunk)
    if size < 1:
        raise SatrnnInputError(f"chunk size must be >= 1, got {size}")
    h = _start_state(model, h0, dt).copy()
    z = np.empty(H, dtype=dt)
    nbuf = max(2, int(buffers))
    hbufs = [np.empty((size + 1, H), dtype=dt) for _ in range(nbuf)]
    zbufs = [np.empty((size if want_z else 0, H), dtype=dt) for _ in range(nbuf)]
    start = 0
    for k, xs in enumerate(_byte_chunks(source, size)):
        m = xs.shape[0]
        if m == 0:
            continue
        hb, zb = hbufs[k % nbuf], zbufs[k % nbuf]
        hb[0] = h
        _states_chunk(W.WxT, W.WhT, W.bh, xs, h, z, hb[1:m + 1], zb[:m] if want_z else zb, W.sem)
        yield StateBlock(xs=xs, start=start, hs=hb[:m + 1], zs=zb[:m] if want_z else None)
        start += m


@dataclass(frozen=True)
class EvalResult:
    """bpc of a streamed evaluation: the plain mean of the per-prediction costs, summed in text order
    (identical to `forward(...).bpc` for any chunk size and thread count)."""

    bpc: float
    predictions: int
    bytes: int
    max_cost: float
    precision: str
    clamp: bool
    tanh: str = DEFAULT_TANH


def evaluate(model: ElmanRNN, source, precision: str = "f32", h0=None, clamp: bool = True,
             chunk: int | None = None, threads: int | None = None, progress=None,
             tanh: str | None = None) -> EvalResult:
    """bpc of the model on `source` (byte array or iterable of them, e.g. `rnn.text.iter_text(path)`) in
    O(chunk * H) memory.

    The recurrence runs chunk by chunk on the calling thread. Each chunk's readout (independent over
    positions) is cut into slices of READOUT_SLICE positions that threads - 1 worker threads take in turn
    (`rnn.shared_slices.SlicePool`) while the calling thread computes the next chunk's recurrence; the
    calling thread then takes the slices left. So `threads` threads share all the work, none waits on a
    fixed share (a parallel loop's static schedule stalls when the recurrence holds a core), and no core is
    oversubscribed. The costs are folded in text order, so the bpc is the same for any chunk size and thread
    count. threads: default numba's current setting; with 1 there is no worker. progress(bytes_done) is
    called after every chunk.
    """
    import numba

    W = Weights.of(model, precision, tanh)
    nthreads = numba.get_num_threads() if threads is None else int(threads)
    if nthreads < 1:
        raise SatrnnInputError(f"threads must be >= 1, got {nthreads}")
    nthreads = min(nthreads, numba.config.NUMBA_NUM_THREADS)
    empty_logp = np.empty((0, 256), dtype=np.float64)
    total, worst, npred, nbytes = 0.0, -math.inf, 0, 0
    pending = None          # (the previous chunk's readout job, its block, its costs)

    def start(block: StateBlock, slices: SlicePool):
        costs = np.empty(block.xs.shape[0], dtype=np.float64)

        def fn(a, b):
            _readout_serial(W.WyT, W.by, block.hs[a:b], block.xs[a:b], clamp, costs[a:b], empty_logp)
        return slices.start(fn, block.xs.shape[0]), block, costs

    def finish(job_block_costs) -> None:
        """The calling thread takes the slices the workers have not, then the costs are folded in order."""
        nonlocal total, worst, npred
        job, block, costs = job_block_costs
        job.finish()
        skip = 1 if block.start == 0 else 0   # nothing predicts byte 0
        total, worst = _fold_costs(costs, skip, total, worst)
        npred += block.xs.shape[0] - skip

    with SlicePool(nthreads, slice_rows=READOUT_SLICE) as slices:
        try:
            for block in iter_states(model, source, precision, h0, chunk=chunk, weights=W):
                if pending is not None:
                    finish(pending)
                    pending = None
                nbytes = block.start + block.xs.shape[0]
                # the block stays valid while the next one is computed (iter_states' two buffers)
                pending = start(block, slices)
                if nthreads == 1:
                    finish(pending)
                    pending = None
                if progress is not None:
                    progress(nbytes)
            if pending is not None:
                finish(pending)
                pending = None
        finally:
            if pending is not None:      # Ctrl-C or an error: the workers stop after their current slice
                pending[0].stop()
    if npred < 1:
        raise SatrnnInputError(f"text has {nbytes} byte(s); at least 2 are needed for a prediction")
    return EvalResult(bpc=total / npred, predictions=npred, bytes=nbytes, max_cost=worst, precision=precision,
                      clamp=clamp, tanh=W.tanh)
