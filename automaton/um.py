"""The doubled-event-space Universal Model (UM) of an Elman RNN: a pattern table and its forward pass.

Event spaces
    - input byte space "x" (256 events, exactly one certain at each step);
    - for every hidden neuron j a binary space {h_j, not-h_j} (the doubled event space), with
      p(h_j) = sigma(2 z_j) and hence tanh(z_j) = 2 p(h_j) - 1 = p(h_j) - p(not-h_j);
    - output byte space "y" (256 events, softmax);
    - one always-on space "on" (a single event with probability 1).

Biases (documented choice): bh[j] and by[o] are patterns from the always-on event, not priors. A prior
would be a property of the target space; a pattern from an always-on event keeps every parameter a
pattern with a strength and a sign, so the table is the whole model and `to_rnn()` is a plain inverse.

Patterns (one row per weight, so the table has exactly the model's H^2 + 513 H + 256 rows)
    strength = |w| (float32, so +0.0 for both zeros) and sign = -1 iff the float32 sign bit of w is set
    (so w = -0.0 is stored as strength 0, sign -1, and `to_rnn()` gives back -0.0: bit-identical).
    Class Wx:  source (x, byte b)         -> target (h_j, event h_j if sign > 0 else not-h_j).
    Class Wh:  source (h_k, event h_k)    -> target (h_j, event h_j if sign > 0 else not-h_j); the row
               stands for the pair h_k -> e and not-h_k -> not-e of equal strength, which act together as
               strength * (p(h_k) - p(not-h_k)) = strength * (2 p(h_k) - 1), i.e. Wh[j, k] * h_k.
    Class Wy:  source (h_j, event h_j)    -> target (y, byte o), the same pair reading with `sign`.
    Class bh:  source (on)                -> target (h_j, h_j or not-h_j by sign).
    Class by:  source (on)                -> target (y, byte o).
    Space codes: hidden neuron k is its index k >= 0; SPACE_ON = -1, SPACE_X = -2, SPACE_Y = -3.
    Events: bytes for x and y; EVENT_H = 0 (h_j) and EVENT_NOT_H = 1 (not-h_j) for hidden spaces; 0 for on.

Forward (`um_forward`): a Numba kernel accumulates each target's net evidence z_j (half the log-odds of
h_j) from source-event probabilities, never touching a weight matrix: every target starts from its bias
pattern (always-on event) and the pattern of the certain input byte, then the Wh patterns, grouped by
source, are scattered source by source in ascending order, so each target receives its contributions in
the order of DEFINITIONS 0.3. From z_j it forms the event probabilities of the binary space and the
signed probability m_j = p(h_j) - p(not-h_j) = 2 p(h_j) - 1, which the next step's patterns read. Two
evaluations of m are offered:
    "stable" (default): m = p(h) - p(not-h) over the common denominator, with 1 - e^{-2|z|} formed by
        expm1 so nothing cancels: m = -t / (t + 2), t = expm1(-2|z|) for |z| < 1, and
        m = 1 - 2 p(not-h) = 1 - 2 / (t + 2), t = expm1(2|z|) for 1 <= |z| < 22; m = z for |z| < 2^-55
        (first order) and m = +-1 for |z| >= 22. fdlibm's tanh/tanhf are derived from this same identity,
        so under the "fdlibm" tanh semantics this is, operation for operation, satrnn's `tanhf_fdlibm`
        (float32, on fdlibm's expm1f) and `tanh_f64` (float64); under "cr" m is the correctly rounded
        float32 of the real number p(h) - p(not-h) = tanh z (`tanhf_cr`). The UM follows the tanh
        semantics of the RNN it is compared with (`tanh=`); `automaton.iso` measures (not assumes) that the
        two agree on the text.
    "naive": p = 1 / (1 + exp(-2 z)), then m = 2 p - 1, in the working precision; the subtraction
        cancels for small |z|, so in float32 m differs from tanhf(z) in the last bits (measured by iso).
Every exponential is satrnn's own (`rnn.elementary`): no bit depends on the host's libm.
Float32 arithmetic mirrors DEFINITIONS 0.3: z = (bias + input) then + sign * fl32(strength * m_k), k
ascending, every operation rounded to float32 (negation and sign-symmetric rounding make that equal to
fl32(w * h_k)). The readout is DEFINITIONS 0.4 computed from the Wy/by patterns. Alignment: row t is the
state after reading x_t; it predicts x_{t+1}; the state before x_0 is m = 0 (p = 1/2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from satrnn.rnn.elementary import DEFAULT_TANH, exp_like, tanh_code, tanh_like
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, sequential_mean
from satrnn.rnn.forward import softmax_cost_kernel as _softmax_cost
from satrnn.rnn.model import N_BYTES, ElmanRNN
from satrnn.rnn.numba_config import njit, njit_parallel, prange

CLASS_NAMES = ("Wx", "Wh", "Wy", "bh", "by")
CLASS_CODES = {name: code for code, name in enumerate(CLASS_NAMES)}
CLASS_FILTERS = ("Wx", "Wh", "Wy", "bias", "bh", "by")
C_WX, C_WH, C_WY, C_BH, C_BY = range(5)
SPACE_ON, SPACE_X, SPACE_Y = -1, -2, -3
EVENT_H, EVENT_NOT_H = 0, 1
ACTIVATIONS = ("stable", "naive")
PRECISIONS = ("f32", "f64")
COLUMNS = ("src_space", "src_event", "dst_space", "dst_event", "strength", "sign", "cls")


def _space_name(code: int) -> str:
    return {SPACE_ON: "on", SPACE_X: "x", SPACE_Y: "y"}.get(int(code), f"h{int(code)}")


def event_label(space: int, event: int) -> str:
    """A readable event name: 'on', 'x=0x41', 'y=0x41', 'h5' or 'not-h5'."""
    space, event = int(space), int(event)
    if space == SPACE_ON:
        return "on"
    if space in (SPACE_X, SPACE_Y):
        return f"{_space_name(space)}=0x{event:02x}"
    return f"h{space}" if event == EVENT_H else f"not-h{space}"


@dataclass(frozen=True)
class PatternTable:
    """Struct-of-arrays pattern table of a UM over H hidden neurons (one row per pattern).

    Columns (all 1-D, same length, read-only): src_space int32, src_event int16, dst_space int32,
    dst_event int16, strength float32 (= |w|), sign int8 (+1 / -1, -1 iff the weight's sign bit is set),
    cls int8 (index into CLASS_NAMES). See the module docstring for the encoding.
    """

    H: int
    src_space: np.ndarray
    src_event: np.ndarray
    dst_space: np.ndarray
    dst_event: np.ndarray
    strength: np.ndarray
    sign: np.ndarray
    cls: np.ndarray
    vocab: tuple[int, ...] | None = None   # the events of the byte spaces x and y (None: all 256 bytes)

    def __post_init__(self):
        from satrnn.rnn.model import check_vocab
        object.__setattr__(self, "vocab", check_vocab(self.vocab))
        dtypes = dict(src_space=np.int32, src_event=np.int16, dst_space=np.int32, dst_event=np.int16,
                      strength=np.float32, sign=np.int8, cls=np.int8)
        n = None
        for name, dt in dtypes.items():
            a = np.array(getattr(self, name), dtype=dt, copy=True).ravel()
            if n is None:
                n = a.shape[0]
            elif a.shape[0] != n:
                raise SatrnnInputError(f"pattern column {name} has {a.shape[0]} rows, expected {n}")
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        if int(self.H) < 1:
            raise SatrnnInputError(f"pattern table needs H >= 1, got {self.H}")
        object.__setattr__(self, "H", int(self.H))
        if n:
            if not np.isfinite(self.strength).all() or (self.strength < 0).any() or np.signbit(self.strength).any():
                raise SatrnnInputError("pattern strengths must be finite and non-negative (+0.0 for zero)")
            if not np.isin(self.sign, (-1, 1)).all():
                raise SatrnnInputError("pattern signs must be +1 or -1")
            if ((self.cls < 0) | (self.cls >= len(CLASS_NAMES))).any():
                raise SatrnnInputError("pattern class codes must be 0-4")
            hid = self.dst_space >= 0
            if (self.dst_event[hid] != (self.sign[hid] < 0)).any():
                raise SatrnnInputError("a hidden-target pattern must point at h_j (event 0) when its sign is +1 "
                                       "and at not-h_j (event 1) when it is -1")
            if (self.src_event[self.src_space >= 0] != EVENT_H).any():
                raise SatrnnInputError("hidden-source patterns are written from the event h_k (event 0)")

    def __len__(self) -> int:
        return int(self.strength.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in COLUMNS}

    def weights(self) -> np.ndarray:
        """The signed float32 weight of every row: sign * strength (giving -0.0 for sign -1, strength 0)."""
        return np.where(self.sign < 0, -self.strength, self.strength).astype(np.float32)

    def take(self, idx) -> PatternTable:
        """The rows idx (boolean mask or index array), in that order."""
        return PatternTable(self.H, **{name: getattr(self, name)[idx] for name in COLUMNS}, vocab=self.vocab)

    # ---- queries ----------------------------------------------------------------------------------
    def mask(self, cls=None, neuron: int | None = None, byte: int | None = None,
             min_strength: float | None = None) -> np.ndarray:
        """Boolean row mask. cls: a name in CLASS_FILTERS ("bias" = bh and by) or a list of them;
        neuron J: rows with hidden neuron J as source or target; byte B: rows with input byte B as source
        or output byte B as target; min_strength W: strength > fl32(W) (strict, float32)."""
        m = np.ones(len(self), dtype=bool)
        if cls is not None:
            names = [cls] if isinstance(cls, str) else list(cls)
            codes = set()
            for name in names:
                if name == "bias":
                    codes |= {C_BH, C_BY}
                elif name in CLASS_CODES:
                    codes.add(CLASS_CODES[name])
                else:
                    raise SatrnnInputError(f"unknown pattern class {name!r} (use {', '.join(CLASS_FILTERS)})")
            m &= np.isin(self.cls, sorted(codes))
        if neuron is not None:
            if not 0 <= int(neuron) < self.H:
                raise SatrnnInputError(f"neuron {neuron} is outside 0-{self.H - 1}")
            m &= (self.src_space == neuron) | (self.dst_space == neuron)
        if byte is not None:
            if not 0 <= int(byte) <= 255:
                raise SatrnnInputError(f"byte {byte} is outside 0-255")
            m &= ((self.src_space == SPACE_X) & (self.src_event == byte)) | \
                 ((self.dst_space == SPACE_Y) & (self.dst_event == byte))
        if min_strength is not None:
            if not math.isfinite(min_strength):
                raise SatrnnInputError(f"minimum strength must be finite, got {min_strength}")
            m &= self.strength > np.float32(min_strength)
        return m

    def filter(self, cls=None, neuron=None, byte=None, min_strength=None) -> PatternTable:
        """The sub-table selected by `mask` (a pruned UM; `um_forward` accepts it, `to_rnn` needs fill)."""
        return self.take(self.mask(cls, neuron, byte, min_strength))

    def counts(self, threshold: float | None = None) -> dict:
        return pattern_counts(self, threshold)

    def with_pattern(self, index: int, strength: float | None = None, sign: int | None = None) -> PatternTable:
        """A copy with one row's strength and/or sign replaced (used to corrupt a UM on purpose)."""
        if not 0 <= index < len(self):
            raise SatrnnInputError(f"pattern index {index} is outside 0-{len(self) - 1}")
        cols = {name: np.array(getattr(self, name)) for name in COLUMNS}
        if strength is not None:
            cols["strength"][index] = np.float32(strength)
        if sign is not None:
            cols["sign"][index] = sign
            if cols["dst_space"][index] >= 0:
                cols["dst_event"][index] = EVENT_NOT_H if sign < 0 else EVENT_H
        return PatternTable(self.H, **cols, vocab=self.vocab)

    # ---- back to the RNN --------------------------------------------------------------------------
    def to_rnn(self, fill_missing: bool = False) -> ElmanRNN:
        """The Elman RNN these patterns encode, bit-identical to the one they came from.

        Every weight must appear exactly once; with fill_missing, absent weights become +0.0 (for a
        filtered table). Duplicates and rows that fit no weight are errors.
        """
        H = self.H
        arrays = {"Wx": np.zeros((H, N_BYTES), np.float32), "Wh": np.zeros((H, H), np.float32),
                  "bh": np.zeros(H, np.float32), "Wy": np.zeros((N_BYTES, H), np.float32),
                  "by": np.zeros(N_BYTES, np.float32)}
        seen = {name: np.zeros(a.shape, np.int64) for name, a in arrays.items()}
        w = self.weights()
        for code, name in enumerate(CLASS_NAMES):
            rows = np.flatnonzero(self.cls == code)
            if rows.size == 0:
                continue
            idx = _weight_index(self, code, rows)
            np.add.at(seen[name], idx, 1)
            arrays[name][idx] = w[rows]
        for name, s in seen.items():
            if (s > 1).any():
                raise SatrnnInputError(f"pattern table has {int((s > 1).sum())} duplicated {name} weight(s)")
            if not fill_missing and (s == 0).any():
                raise SatrnnInputError(
                    f"pattern table lacks {int((s == 0).sum())} {name} weight(s); use fill_missing for a pruned table")
        return ElmanRNN(**arrays, meta={"from": "um.to_rnn"}, vocab=self.vocab)

    # ---- files ------------------------------------------------------------------------------------
    def npz_payload(self) -> dict:
        extra = {} if self.vocab is None else {"vocab": np.array(self.vocab, dtype=np.uint8)}
        return dict(self.columns(), H=np.int64(self.H), classes=np.array(CLASS_NAMES),
                    format=np.array("satrnn-um-patterns-v1"), **extra)

    @classmethod
    def load_npz(cls, path) -> PatternTable:
        """Read a table written by `npz_payload`; bounded (H <= MAX_H, header-checked), one-line errors."""
        from satrnn.rnn.files import NpzReader
        from satrnn.rnn.model import MAX_H, MAX_NPZ_BYTES, n_floats_for

        with NpzReader(path, "pattern table", MAX_NPZ_BYTES) as z:
            H = z.scalar_int("H")
            if not 1 <= H <= MAX_H:
                raise SatrnnInputError(f"pattern table {path}: H must be between 1 and {MAX_H}, got {H}")
            rows = n_floats_for(H)
            vocab = tuple(int(b) for b in z.array("vocab", 256, kinds="iu")) if "vocab" in z else None
            return cls(H, **{name: z.array(name, rows, kinds="biuf") for name in COLUMNS}, vocab=vocab)


def _weight_index(t: PatternTable, code: int, rows: np.ndarray):
    """Matrix indices of the rows of one class; rows whose spaces do not fit the class are errors."""
    H = t.H
    ss, se, ds, de = t.src_space[rows], t.src_event[rows], t.dst_space[rows], t.dst_event[rows]
    hid_t = (ds >= 0) & (ds < H)
    if code == C_WX:
        ok = (ss == SPACE_X) & (se >= 0) & (se < 256) & hid_t
        idx = (ds, se)
    elif code == C_WH:
        ok = (ss >= 0) & (ss < H) & hid_t
        idx = (ds, ss)
    elif code == C_WY:
        ok = (ss >= 0) & (ss < H) & (ds == SPACE_Y) & (de >= 0) & (de < 256)
        idx = (de, ss)
    elif code == C_BH:
        ok = (ss == SPACE_ON) & hid_t
        idx = (ds,)
    else:
        ok = (ss == SPACE_ON) & (ds == SPACE_Y) & (de >= 0) & (de < 256)
        idx = (de,)
    if not ok.all():
        raise SatrnnInputError(f"{int((~ok).sum())} {CLASS_NAMES[code]} pattern(s) have spaces/events that fit "
                               "no weight")
    return tuple(np.asarray(i, dtype=np.int64) for i in idx)


def from_rnn(model: ElmanRNN) -> PatternTable:
    """The UM pattern table of an Elman RNN: one row per weight (order: per hidden target j its bias,
    its 256 input patterns, its H recurrent patterns by source; then per output byte o its H readout
    patterns by source and its bias)."""
    H = model.H
    j = np.arange(H)
    b = np.arange(N_BYTES)
    full = lambda shape, v: np.full(shape, v, dtype=np.int64)
    # hidden targets, grouped by target j: [bh_j, Wx[j, 0..255], Wh[j, 0..H-1]]
    hid_w = np.concatenate([model.bh[:, None], model.Wx, model.Wh], axis=1)
    hid = dict(
        src_space=np.concatenate([full((H, 1), SPACE_ON), full((H, N_BYTES), SPACE_X),
                                  np.broadcast_to(j, (H, H))], axis=1),
        src_event=np.concatenate([full((H, 1), 0), np.broadcast_to(b, (H, N_BYTES)), full((H, H), 0)], axis=1),
        dst_space=np.broadcast_to(j[:, None], hid_w.shape),
        dst_event=np.signbit(hid_w).astype(np.int64),          # the event the weight points at
        cls=np.concatenate([full((H, 1), C_BH), full((H, N_BYTES), C_WX), full((H, H), C_WH)], axis=1))
    # output targets: Wy[o, 0..H-1] then by[o]
    out_w = np.concatenate([model.Wy, model.by[:, None]], axis=1)
    out = dict(
        src_space=np.concatenate([np.broadcast_to(j, (N_BYTES, H)), full((N_BYTES, 1), SPACE_ON)], axis=1),
        src_event=full(out_w.shape, 0),
        dst_space=full(out_w.shape, SPACE_Y),
        dst_event=np.broadcast_to(b[:, None], out_w.shape),
        cls=np.concatenate([full((N_BYTES, H), C_WY), full((N_BYTES, 1), C_BY)], axis=1))
    w = np.concatenate([hid_w.ravel(), out_w.ravel()])
    cols = {k: np.concatenate([np.ravel(hid[k]), np.ravel(out[k])]) for k in hid}
    return PatternTable(H, strength=np.abs(w), sign=np.where(np.signbit(w), -1, 1), **cols, vocab=model.vocab)


def as_table(model_or_table) -> PatternTable:
    if isinstance(model_or_table, PatternTable):
        return model_or_table
    if isinstance(model_or_table, ElmanRNN):
        return from_rnn(model_or_table)
    raise SatrnnInputError(f"expected an ElmanRNN or a PatternTable, got {type(model_or_table).__name__}")


def pattern_counts(model_or_table, threshold: float | None = 0.01) -> dict:
    """Patterns per class with strength > fl32(threshold) (strict float32, DEFINITIONS 1.1), or all rows
    when threshold is None. Keys: Wx, Wh, Wy, bh, by, bias (= bh + by), total (= Wx + Wh + Wy, the
    weight-matrix patterns that seed 000 counts), all (every class), threshold, comparison."""
    t = as_table(model_or_table)
    keep = np.ones(len(t), bool) if threshold is None else t.strength > np.float32(threshold)
    per = np.bincount(t.cls[keep].astype(np.int64), minlength=len(CLASS_NAMES))
    out = {name: int(per[code]) for code, name in enumerate(CLASS_NAMES)}
    out["bias"] = out["bh"] + out["by"]
    out["total"] = out["Wx"] + out["Wh"] + out["Wy"]
    out["all"] = int(keep.sum())
    out["threshold"] = None if threshold is None else float(threshold)
    out["comparison"] = "all patterns" if threshold is None else "strength |w| > fl32(threshold), strict"
    return out


# ---- the compiled plan: patterns indexed for the scatter --------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    H: int
    bias_s: np.ndarray      # (H,) strength of target j's bias pattern (0 if absent)
    bias_neg: np.ndarray    # (H,) bool
    bias_has: np.ndarray    # (H,) bool
    in_s: np.ndarray        # (H, 256) strength of the pattern x=b -> j
    in_neg: np.ndarray
    in_has: np.ndarray
    rec_ptr: np.ndarray     # (H+1,) CSR of the Wh patterns over their source neuron k
    rec_dst: np.ndarray     # target neuron of each
    rec_s: np.ndarray
    rec_neg: np.ndarray     # bool; the kernels get it as +-1.0 (multiplying by +-1 is exact)
    out_b_s: np.ndarray     # (256,) output bias patterns
    out_b_neg: np.ndarray
    out_b_has: np.ndarray
    out_ptr: np.ndarray     # (H+1,) CSR of the Wy patterns over their source neuron j
    out_dst: np.ndarray     # target output byte of each
    out_s: np.ndarray
    out_neg: np.ndarray
    out_ok: np.ndarray      # (256,) bool: the output byte is in the vocabulary (else probability 0)


def _plan(t: PatternTable) -> _Plan:
    """Index the patterns for the kernels (any input order): bias and input patterns by target; Wh and Wy
    patterns grouped by source, so scattering sources in ascending order gives every target its
    contributions in DEFINITIONS 0.3/0.4 order."""
    H = t.H
    for code in range(len(CLASS_NAMES)):
        rows = np.flatnonzero(t.cls == code)
        if rows.size:
            idx = _weight_index(t, code, rows)
            flat = np.ravel_multi_index(idx, {C_WX: (H, 256), C_WH: (H, H), C_WY: (256, H),
                                              C_BH: (H,), C_BY: (256,)}[code])
            if np.unique(flat).size != flat.size:
                raise SatrnnInputError(f"pattern table has duplicated {CLASS_NAMES[code]} patterns")
    neg = t.sign < 0

    def dense(code, shape, idx_fn):
        s = np.zeros(shape, np.float32)
        n = np.zeros(shape, bool)
        has = np.zeros(shape, bool)
        rows = np.flatnonzero(t.cls == code)
        idx = idx_fn(rows)
        s[idx], n[idx], has[idx] = t.strength[rows], neg[rows], True
        return s, n, has

    bias = dense(C_BH, (H,), lambda r: (t.dst_space[r].astype(np.int64),))
    inp = dense(C_WX, (H, 256), lambda r: (t.dst_space[r].astype(np.int64), t.src_event[r].astype(np.int64)))
    obias = dense(C_BY, (256,), lambda r: (t.dst_event[r].astype(np.int64),))

    def by_source(code, tgt):
        rows = np.flatnonzero(t.cls == code)
        order = rows[np.lexsort((tgt[rows], t.src_space[rows]))]
        ptr = np.zeros(H + 1, np.int64)
        np.cumsum(np.bincount(t.src_space[order].astype(np.int64), minlength=H), out=ptr[1:])
        return (ptr, tgt[order].astype(np.int64), np.ascontiguousarray(t.strength[order]),
                np.ascontiguousarray(neg[order]))

    rec = by_source(C_WH, t.dst_space)
    out = by_source(C_WY, t.dst_event)
    ok = np.ones(256, dtype=bool)
    if t.vocab is not None:
        ok[:] = False
        ok[list(t.vocab)] = True
    return _Plan(H, *bias, *inp, *rec, *obias, *out, ok)


# ---- kernels ------------------------------------------------------------------------------------------

@njit
def _activation(z, mode, sem, one, two):
    """(m, p) for net evidence z: m = p(h) - p(not-h) = 2 sigma(2z) - 1 and p = p(h) = sigma(2z), in
    the dtype of z, whose 1 and 2 the caller passes; sem is the tanh semantics code (see the module
    docstring for the evaluations of m)."""
    a = abs(z)
    e = exp_like(-two * a)                 # odds of the less likely event, in (0, 1]
    p_small = e / (one + e)                # its probability, without overflow
    p = one - p_small if z >= 0 else p_small
    if mode == 0:
        m = tanh_like(z, sem)              # p(h) - p(not-h) over the common denominator (module docstring)
    else:
        pn = one / (one + exp_like(-two * z))
        m = two * pn - one
        p = pn
    return m, p


@njit
def _um_states(bias_s, bias_neg, bias_has, in_s, in_neg, in_has, rec_ptr, rec_dst, rec_s, rec_sg,
               xs, m0, mode, sem, teacher, zs, ms, ps):
    """The UM recurrence. Writes zs (net evidence), ms (2p - 1) and ps (p(h_j)), all (n, H).

    Each target j starts from its bias pattern, then adds the pattern of the certain input event; then
    the Wh patterns are scattered source by source, k ascending, each adding sign * (strength * m_k) to
    its target, so every target receives its contributions in ascending source order, each operation in
    the arrays' dtype. When teacher has n rows, step t reads teacher[t-1] (m0 at t = 0) instead of its
    own previous state, which isolates the accumulation from the activation.
    """
    n = xs.shape[0]
    H = bias_s.shape[0]
    forced = teacher.shape[0] == n
    m = m0.copy()
    z = np.empty_like(m0)
    zero = m0.dtype.type(0)
    one = m0.dtype.type(1)
    two = m0.dtype.type(2)
    for t in range(n):
        x = xs[t]
        if forced and t > 0:
            for k in range(H):
                m[k] = teacher[t - 1, k]
        for j in range(H):
            if bias_has[j]:
                zj = -bias_s[j] if bias_neg[j] else bias_s[j]
                if in_has[j, x]:
                    zj = zj - in_s[j, x] if in_neg[j, x] else zj + in_s[j, x]
            elif in_has[j, x]:
                zj = -in_s[j, x] if in_neg[j, x] else in_s[j, x]
            else:
                zj = zero
            z[j] = zj
        for k in range(H):
            mk = m[k]
            for q in range(rec_ptr[k], rec_ptr[k + 1]):
                d = rec_dst[q]
                z[d] = z[d] + rec_sg[q] * (rec_s[q] * mk)
        for j in range(H):
            mj, pj = _activation(z[j], mode, sem, one, two)
            zs[t, j] = z[j]
            ms[t, j] = mj
            ps[t, j] = pj
            m[j] = mj


@njit_parallel
def _um_readout(out_b_s, out_b_neg, out_b_has, out_ok, out_ptr, out_dst, out_s, out_sg, M, targets, clamp, costs):
    """Output-space evidence from the by/Wy patterns: each byte starts from its bias pattern, then the
    Wy patterns are scattered source by source (j ascending), each rounded contribution added in double;
    softmax in double over bytes ascending, bytes outside the vocabulary (out_ok False) at -inf (probability
    exactly 0, as `ElmanRNN.readout_bias64`); cost of the target in bits. Rows are independent (the parallel
    loop writes disjoint outputs)."""
    rows = M.shape[0]
    H = out_ptr.shape[0] - 1
    for r in prange(rows):
        L = np.zeros(256, dtype=np.float64)
        for o in range(256):
            if out_b_has[o]:
                L[o] = -np.float64(out_b_s[o]) if out_b_neg[o] else np.float64(out_b_s[o])
        for j in range(H):
            mj = M[r, j]
            for q in range(out_ptr[j], out_ptr[j + 1]):
                d = out_dst[q]
                L[d] = L[d] + out_sg[q] * (out_s[q] * mj)
        for o in range(256):
            if not out_ok[o]:
                L[o] = -np.inf
        costs[r] = _softmax_cost(L, targets[r], clamp)  # the readout's shared softmax definition


# ---- public forward ---------------------------------------------------------------------------------

@dataclass
class UMForward:
    """The UM run over a text. hs = 2 p - 1 (as evaluated, see `activation`), ps = p(h_j), zs = net
    evidence (half log-odds), all (n, H), row t after x_t; costs (n-1,) bits of x_{t+1}; bpc their mean."""

    hs: np.ndarray
    ps: np.ndarray
    zs: np.ndarray
    costs: np.ndarray
    bpc: float
    precision: str
    activation: str
    tanh: str = DEFAULT_TANH


def _check_precision_activation(precision, activation):
    if precision not in PRECISIONS:
        raise SatrnnInputError(f"unknown precision {precision!r} (use one of {', '.join(PRECISIONS)})")
    if activation not in ACTIVATIONS:
        raise SatrnnInputError(f"unknown activation {activation!r} (use one of {', '.join(ACTIVATIONS)})")


def _sg(neg: np.ndarray, dt) -> np.ndarray:
    """Signs as +-1.0 in the working dtype: sgn * (strength * m) then rounds exactly like w * m."""
    return np.where(neg, dt(-1.0), dt(1.0)).astype(dt)


def plan_of(t: PatternTable) -> _Plan:
    """The table's compiled plan (see `_plan`), built once per table and kept on it."""
    plan = t.__dict__.get("_plan_cache")
    if plan is None:
        plan = _plan(t)
        object.__setattr__(t, "_plan_cache", plan)
    return plan


def _tanh_of(model_or_table, tanh: str | None) -> str:
    """The tanh semantics of a UM run: the given one, else the model's, else the default."""
    if tanh is None:
        tanh = model_or_table.tanh if isinstance(model_or_table, ElmanRNN) else DEFAULT_TANH
    tanh_code(tanh)
    return tanh


def _run_states(plan: _Plan, xs, dt, mode, sem, teacher=None):
    n, H = xs.shape[0], plan.H
    cast = lambda a: np.ascontiguousarray(a, dtype=dt)
    zs, ms, ps = (np.empty((n, H), dt) for _ in range(3))
    teacher = np.zeros((0, H), dt) if teacher is None else np.ascontiguousarray(teacher, dtype=dt)
    _um_states(cast(plan.bias_s), plan.bias_neg, plan.bias_has, cast(plan.in_s), plan.in_neg, plan.in_has,
               plan.rec_ptr, plan.rec_dst, cast(plan.rec_s), _sg(plan.rec_neg, dt), xs, np.zeros(H, dt), mode,
               sem, teacher, zs, ms, ps)
    return zs, ms, ps


def um_forward(model_or_table, xs, precision: str = "f32", activation: str = "stable",
               clamp: bool = True, tanh: str | None = None) -> UMForward:
    """Run the UM (built from a model, or a given possibly pruned/corrupted pattern table) over a text.

    precision "f32": float32 patterns and probabilities, float32 accumulation in DEFINITIONS 0.3 order;
    "f64": strengths widened to double, double arithmetic. Readout per DEFINITIONS 0.4 from the Wy/by
    patterns; clamp = the 1e-30 floor (False: q1_sparsity's unclamped cost). tanh: the float32 tanh
    semantics of the "stable" activation (None: the model's; "fdlibm" for a pattern table).
    """
    _check_precision_activation(precision, activation)
    tanh = _tanh_of(model_or_table, tanh)
    t = as_table(model_or_table)
    xs = as_bytes(xs)
    if xs.shape[0] < 2:
        raise SatrnnInputError(f"text has {xs.shape[0]} byte(s); at least 2 are needed for a prediction")
    plan = plan_of(t)
    dt = np.float32 if precision == "f32" else np.float64
    zs, ms, ps = _run_states(plan, xs, dt, ACTIVATIONS.index(activation), tanh_code(tanh))
    costs = np.empty(xs.shape[0] - 1, np.float64)
    _um_readout(plan.out_b_s.astype(dt), plan.out_b_neg, plan.out_b_has, plan.out_ok, plan.out_ptr, plan.out_dst,
                plan.out_s.astype(dt), _sg(plan.out_neg, dt), ms[:-1], xs[1:], clamp, costs)
    return UMForward(hs=ms, ps=ps, zs=zs, costs=costs, bpc=sequential_mean(costs), precision=precision,
                     activation=activation, tanh=tanh)


def um_preactivations_forced(model_or_table, xs, states, precision: str = "f32") -> np.ndarray:
    """Net evidence z_t (n, H) computed from the patterns with the given previous states (row t-1 of
    `states`, zeros before x_0) instead of the UM's own: isolates the accumulation from the activation."""
    _check_precision_activation(precision, "stable")
    t = as_table(model_or_table)
    xs = as_bytes(xs)
    dt = np.float32 if precision == "f32" else np.float64
    states = np.asarray(states)
    if states.shape != (xs.shape[0], t.H):
        raise SatrnnInputError(f"states have shape {states.shape}, expected ({xs.shape[0]}, {t.H})")
    return _run_states(plan_of(t), xs, dt, 0, 0, teacher=states)[0]


def um_activation(z: np.ndarray, activation: str = "stable",
                  tanh: str = DEFAULT_TANH) -> tuple[np.ndarray, np.ndarray]:
    """(2p - 1, p) of net evidence z (any shape, float32 or float64), evaluated as in the forward under
    the tanh semantics `tanh`."""
    _check_precision_activation("f32", activation)
    sem = tanh_code(tanh)
    z = np.asarray(z)
    if z.dtype not in (np.float32, np.float64):
        raise SatrnnInputError(f"net evidence dtype {z.dtype} must be float32 or float64")
    flat = np.ascontiguousarray(z.ravel())
    m, p = np.empty_like(flat), np.empty_like(flat)
    _activation_vec(flat, ACTIVATIONS.index(activation), sem, m, p)
    return m.reshape(z.shape), p.reshape(z.shape)


@njit
def _activation_vec(z, mode, sem, m, p):
    one = z.dtype.type(1)
    two = z.dtype.type(2)
    for i in range(z.shape[0]):
        m[i], p[i] = _activation(z[i], mode, sem, one, two)
