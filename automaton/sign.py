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

Fast path. z~_i = base[x, i] + sum_c T[c, b_c, i], where base[x, i] = bh[i] + Wx[i, x] and T[c, b, i] is the
sum of the chunk's terms sum_k (bit k of b ? +1 : -1) * Wh[i, cs*c + k] over chunk c of cs = chunk_size
neurons (b_c = the chunk's bits of the state; neurons past H have weight 0). That is C = ceil(H/cs) vector
additions of length H per step instead of H*H multiply-adds. A neuron whose z~ is within a proven
rounding bound of 0 is recomputed ("fallback") in its semantics: exact with an error-free Shewchuk expansion
(two-sum partials), f32-seq with the literal sequential float32 loop. Fallbacks are counted.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from rnn.errors import SatrnnInputError
from rnn.model import ElmanRNN
from rnn.numba_config import njit

from .bitset import all_minus, all_plus, from_hex, n_words

SEMANTICS = ("exact", "f32-seq")
SEM_EXACT = 0
SEM_F32_SEQ = 1
MAX_STEPS = 10**12

SignTables = namedtuple("SignTables", ["params", "base", "bound", "T", "Wh", "Wx", "bh"])
SignTables.__doc__ = """Everything one step needs (arrays only, so numba takes it as one argument).

params: int64 [H, W, semantics (0 exact, 1 f32-seq), chunk_size (neurons per chunk), n_chunks].
base: (256, H) table dtype, fl(bh[i] + Wx[i, x]).   bound: (256, H) decision threshold per (x, i).
T: (n_chunks, 2^chunk_size, H) chunk partial sums.  Wh (H, H), Wx (H, 256), bh (H,): the float32 weights.
"""

# ---- the rigorous bound ----------------------------------------------------------------------------
#
# Let S[x, i] = |bh[i]| + |Wx[i, x]| + sum_j |Wh[i, j]| (state-independent: the terms are +-Wh[i, j]).
# Let N = cs * C + 2 be the number of summands including the zero-weight padding of the last chunk.
#
# (1) Fast path error. Every floating-point operation on the way to z~ is an addition (the +-1 "products"
#     are sign flips, exact) of values in the table dtype, with unit roundoff u (2^-53 float64, 2^-24
#     float32). Whatever the association (numpy's summation order inside a chunk, then base + chunk
#     partials left to right), z~ is a summation tree over the N summands; each summand passes through at most
#     N - 1 additions, and each addition obeys fl(a + b) = (a + b)(1 + d), |d| <= u, also for subnormal
#     results (addition never underflows inexactly). Hence (Higham, Accuracy and Stability, Lemma 3.1 and
#     eq. 4.3) |z~ - z| <= gamma_{N-1} S with gamma_m = m u / (1 - m u). The tables are built from the very
#     same float32 summands, so their rounding is inside this tree (base: one addition; T: cs - 1).
# (2) f32-seq error. The sequential float32 sum performs H + 1 additions of the same summands, so
#     |z_seq - z| <= gamma32_{H+1} S with u32 = 2^-24 (no overflow: |partial sums| <= 1.01 S < FLT_MAX,
#     checked below).
# (3) Computing the thresholds. S^ = fl64 sum of non-negative values >= S (1 - gamma64_{N}), so
#     S <= 1.01 S^. For m u <= 0.0099, gamma_m <= 1.01 m u. We store
#         E_fast = fl64(2 N u  * S^)     >= 2 N u S^ (1 - 2^-53) > 1.03 (N-1) u S^ >= gamma_{N-1} S,
#         E_seq  = fl64(2 (H+2) u32 * S^) >= likewise gamma32_{H+1} S,
#     (2 N u and 2 (H+2) u32 are exact powers-of-two multiples) and bound = E_fast (exact) or
#     fl64(E_fast + E_seq) (f32-seq), which is >= (E_fast + E_seq)(1 - 2^-53) and still covers both
#     errors because each stored E has a slack factor >= 1.9.
# Decision: z~ > bound  =>  z > 0 (exact) and z_seq >= z - gamma32 S > 0 (f32-seq)  => +1;
#           z~ < -bound =>  z < 0 and z_seq < 0 (strictly, so not a -0.0 tie)     => -1;
#           otherwise   =>  fallback: recompute this neuron in its semantics.
# If the conditions (m u <= 0.0099, no float32 overflow) fail, bound = +inf: every neuron falls back
# (correct, slow).

FLT_MAX_SAFE = 1e37


def _thresholds(model: ElmanRNN, semantics: int, table_dtype, chunk_size: int) -> np.ndarray:
    H = model.H
    cs = chunk_size
    C = (H + cs - 1) // cs
    N = cs * C + 2
    u = 2.0 ** -53 if table_dtype == np.float64 else 2.0 ** -24
    u32 = 2.0 ** -24
    row_abs = np.abs(model.Wh.astype(np.float64)).sum(axis=1)                         # (H,)
    S = (np.abs(model.bh.astype(np.float64))[None, :] + np.abs(model.Wx.T.astype(np.float64))
         + row_abs[None, :])                                                            # (256, H)
    bound = np.float64(2.0 * N * u) * S
    if N * u > 0.0099 or not np.isfinite(S).all() or S.max() * 1.03 > FLT_MAX_SAFE:
        return np.full((256, H), np.inf)
    if semantics == SEM_F32_SEQ:
        if (H + 2) * u32 > 0.0099:
            return np.full((256, H), np.inf)
        bound = bound + np.float64(2.0 * (H + 2) * u32) * S
    return np.ascontiguousarray(bound, dtype=np.float64)


def build_tables(model: ElmanRNN, semantics: str = "exact", chunk_size: int = 8, table_dtype=np.float32,
                 fast: bool = True) -> SignTables:
    """The transition tables of `model` (see the module docstring). `fast=False` forces every neuron
    through the fallback (slow; for tests and cross-checks)."""
    if semantics not in SEMANTICS:
        raise SatrnnInputError(f"unknown semantics {semantics!r} (use one of {', '.join(SEMANTICS)})")
    if chunk_size not in (1, 2, 4, 8):
        raise SatrnnInputError(f"chunk_size (neurons per table chunk) must be 1, 2, 4 or 8, got {chunk_size}")
    table_dtype = np.dtype(table_dtype)
    if table_dtype not in (np.float32, np.float64):
        raise SatrnnInputError(f"table dtype must be float32 or float64, got {table_dtype}")
    sem = SEM_EXACT if semantics == "exact" else SEM_F32_SEQ
    H = model.H
    W = n_words(H)
    cs = chunk_size
    C = (H + cs - 1) // cs
    Whp = np.zeros((H, C * cs), dtype=np.float64)
    Whp[:, :H] = model.Wh
    # signs[b, k] = +1 if bit k of b is set else -1; T[c, b, i] = sum_k signs[b, k] * Wh[i, cs c + k]
    b = np.arange(1 << cs)
    signs = np.where((b[:, None] >> np.arange(cs)[None, :]) & 1, 1.0, -1.0)           # (2^cs, cs)
    T = np.empty((C, 1 << cs, H), dtype=np.float64)
    for c in range(C):
        T[c] = signs @ Whp[:, c * cs:(c + 1) * cs].T
    base = model.bh.astype(np.float64)[None, :] + model.Wx.T.astype(np.float64)
    bound = _thresholds(model, sem, table_dtype, chunk_size) if fast else np.full((256, H), np.inf)
    params = np.array([H, W, sem, chunk_size, C], dtype=np.int64)
    return SignTables(params=params,
                      base=np.ascontiguousarray(base, dtype=table_dtype),
                      bound=bound,
                      T=np.ascontiguousarray(T, dtype=table_dtype),
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
def _exact_bit(tables, state_in, x, i):
    """[exact sum of bh[i], Wx[i, x], s_j Wh[i, j] >= 0]: the expansion's largest nonzero part has the sign
    of the total (nonoverlapping parts: each exceeds the sum of all smaller ones)."""
    H = tables.params[0]
    Wh = tables.Wh
    parts = np.empty(H + 2, dtype=np.float64)
    n = _grow_expansion(parts, 0, np.float64(tables.bh[i]))
    n = _grow_expansion(parts, n, np.float64(tables.Wx[i, x]))
    for j in range(H):
        w = np.float64(Wh[i, j])
        if ((state_in[j >> 6] >> np.uint64(j & 63)) & np.uint64(1)) == 0:
            w = -w
        n = _grow_expansion(parts, n, w)
    for k in range(n - 1, -1, -1):
        if parts[k] != 0.0:
            return 1 if parts[k] > 0.0 else 0
    return 1


@njit
def _seq_bit(tables, state_in, x, i):
    """[z >= 0] for the papers' sequential float32 sum (DEFINITIONS 0.6, step B)."""
    H = tables.params[0]
    Wh = tables.Wh
    z = np.float32(tables.bh[i] + tables.Wx[i, x])
    for j in range(H):
        w = Wh[i, j]
        if ((state_in[j >> 6] >> np.uint64(j & 63)) & np.uint64(1)) == 0:
            w = -w
        z = np.float32(z + w)
    return 1 if z >= np.float32(0.0) else 0


# ---- the step ----------------------------------------------------------------------------------------

@njit
def _new_scratch(tables):
    """Scratch for `_step_packed_scratch`: one per thread/loop, reused across steps."""
    return np.empty(tables.params[0] + 2, dtype=tables.base.dtype)


@njit
def _step_packed_scratch(tables, state_in, x, state_out, z):
    """One transition state_in -> state_out under byte x (see module docstring); returns #fallbacks."""
    # Sizes come from array shapes, not from loads of `params`: LLVM then knows they cannot change when z
    # is stored to, and vectorises the loops below.
    params = tables.params
    T = tables.T
    H = tables.bh.shape[0]
    W = state_in.shape[0]
    C = T.shape[0]
    cb = params[3]
    mask = np.uint64((1 << cb) - 1)
    per_word = 64 // cb
    bx = tables.base[x]
    # Chunk rows are added four at a time as ((r0 + r1) + (r2 + r3)): any summation tree is covered by the
    # bound, and fewer passes over z shorten the step's dependency chain (the step is latency-bound).
    nquad = C // 4
    if nquad == 0:
        for i in range(H):
            z[i] = bx[i]
    for q in range(nquad):
        c = 4 * q
        r0 = T[c, np.int64((state_in[c // per_word] >> np.uint64((c % per_word) * cb)) & mask)]
        r1 = T[c + 1, np.int64((state_in[(c + 1) // per_word] >> np.uint64(((c + 1) % per_word) * cb)) & mask)]
        r2 = T[c + 2, np.int64((state_in[(c + 2) // per_word] >> np.uint64(((c + 2) % per_word) * cb)) & mask)]
        r3 = T[c + 3, np.int64((state_in[(c + 3) // per_word] >> np.uint64(((c + 3) % per_word) * cb)) & mask)]
        if q == 0:
            for i in range(H):
                z[i] = bx[i] + ((r0[i] + r1[i]) + (r2[i] + r3[i]))
        else:
            for i in range(H):
                z[i] = z[i] + ((r0[i] + r1[i]) + (r2[i] + r3[i]))
    for c in range(4 * nquad, C):
        r0 = T[c, np.int64((state_in[c // per_word] >> np.uint64((c % per_word) * cb)) & mask)]
        for i in range(H):
            z[i] = z[i] + r0[i]
    bd = tables.bound[x]
    nfb = 0
    for k in range(W):
        lo = 64 * k
        hi = min(H, lo + 64)
        acc = np.uint64(0)
        undecided = False
        for i in range(lo, hi):
            zi = z[i]
            acc |= np.uint64(zi > 0) << np.uint64(i - lo)
            undecided |= abs(zi) <= bd[i]
        if undecided:
            for i in range(lo, hi):
                if abs(z[i]) <= bd[i]:
                    nfb += 1
                    if params[2] == 0:
                        bit = _exact_bit(tables, state_in, x, i)
                    else:
                        bit = _seq_bit(tables, state_in, x, i)
                    one = np.uint64(1) << np.uint64(i - lo)
                    if bit:
                        acc |= one
                    else:
                        acc &= ~one
        state_out[k] = acc
    return nfb


@njit
def _step_packed(tables, state_in, x, state_out):
    """One transition (allocates its scratch; in hot loops prefer `_step_packed_scratch`)."""
    z = _new_scratch(tables)
    return _step_packed_scratch(tables, state_in, x, state_out, z)


@njit
def _run_packed(tables, state0, xs, out):
    """out[t] = state after reading xs[t], starting from state0; returns total fallbacks."""
    z = _new_scratch(tables)
    nfb = _step_packed_scratch(tables, state0, xs[0], out[0], z) if xs.shape[0] > 0 else 0
    for t in range(1, xs.shape[0]):
        nfb += _step_packed_scratch(tables, out[t - 1], xs[t], out[t], z)
    return nfb


@njit
def _run_constant_packed(tables, state0, x, steps, final):
    """final = the state after `steps` steps under constant byte x; returns total fallbacks."""
    z = _new_scratch(tables)
    a = state0.copy()
    b = np.empty_like(state0)
    nfb = 0
    for _ in range(steps):
        nfb += _step_packed_scratch(tables, a, x, b, z)
        a, b = b, a
    final[:] = a
    return nfb


@njit
def _run_constant_trajectory(tables, state0, x, out):
    z = _new_scratch(tables)
    nfb = 0
    prev = state0
    for t in range(out.shape[0]):
        nfb += _step_packed_scratch(tables, prev, x, out[t], z)
        prev = out[t]
    return nfb


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

    @classmethod
    def from_model(cls, model: ElmanRNN, semantics: str = "exact", *, chunk_size: int = 8,
                   table_dtype=np.float32, fast: bool = True) -> "SignAutomaton":
        if not isinstance(model, ElmanRNN):
            raise SatrnnInputError(f"expected an ElmanRNN, got {type(model).__name__}")
        return cls(build_tables(model, semantics, chunk_size, table_dtype, fast), semantics)

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
        from rnn.forward import as_bytes
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
