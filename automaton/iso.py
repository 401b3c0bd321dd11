"""The RNN-UM isomorphism check on a text (seed 003 section 3.1), measured rather than asserted.

`check_isomorphism(model, xs, precision, activation, table)` runs the reference RNN forward
(`rnn.forward.forward`, at `precision`) and the UM forward computed from the pattern table
(`automaton.um.um_forward`, same precision) and compares, at every neuron-step (t, j):
    - the sign sigma(h) = [h >= 0] (DEFINITIONS 0.6, +0 and -0 positive) and the IEEE sign bit;
    - the state values (max |h_UM - h_RNN|, count of bit-level differences, the first one);
    - the pre-activations, free-running and with the UM fed the RNN's own previous states (this isolates
      the pattern accumulation from the activation: equal bits = same float order of accumulation);
    - the UM's evaluation of 2 sigma(2z) - 1 against the RNN's tanh on the RNN's own z (activation check);
and the bpc of both (same readout convention), and the weight round trip table -> RNN (bit-identical,
-0.0 distinct from +0.0). Verdict "isomorphic to the bit" only when every sign and sign bit agree, the
round-tripped weights are bit-identical, and |bpc_UM - bpc_RNN| <= 1e-9 at the same precision.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from satrnn.automaton.um import (
    PatternCounts,
    PatternTable,
    from_rnn,
    pattern_counts,
    um_activation,
    um_forward,
    um_preactivations_forced,
)
from satrnn.rnn.elementary import TANH_DESCRIPTIONS, tanh_code
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, forward
from satrnn.rnn.model import MATRICES, ElmanRNN
from satrnn.rnn.record import Record

BPC_TOLERANCE = 1e-9
def rnn_activation(precision: str, tanh: str) -> str:
    """How the reference RNN's activation is computed, in words."""
    return f"satrnn's {TANH_DESCRIPTIONS[tanh]} on float32" if precision == "f32" else \
        "satrnn's double tanh (fdlibm's formula on its own expm1)"


def _ordered(a: np.ndarray) -> np.ndarray:
    """Float bits mapped to integers whose differences count ulps (monotone across +-0)."""
    if a.dtype == np.float32:
        b = a.view(np.int32).astype(np.int64)
        return np.where(b < 0, -(b & 0x7FFFFFFF), b)
    b = a.view(np.int64)
    return np.where(b < 0, -(b & 0x7FFFFFFFFFFFFFFF), b).astype(np.float64)


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@dataclass(frozen=True)
class WeightsRoundtrip(Record):
    """Whether `PatternTable.to_rnn()` reproduces the model's weights bit for bit (-0.0 distinct from +0.0):
    identical, differing entries per matrix (None when the table could not be turned back into a model), and
    why not (error)."""
    identical: bool
    differences: dict | None
    error: str | None


def weights_roundtrip(model: ElmanRNN, table: PatternTable) -> WeightsRoundtrip:
    """Whether table.to_rnn() reproduces the model's weights bit for bit; per-matrix differing counts."""
    try:
        back = table.to_rnn()
    except SatrnnInputError as e:
        return WeightsRoundtrip(identical=False, differences=None, error=str(e))
    if back.H != model.H:
        return WeightsRoundtrip(identical=False, differences=None, error=f"H {back.H} != {model.H}")
    diff = {n: int((_bits(getattr(back, n)) != _bits(getattr(model, n))).sum()) for n in MATRICES}
    return WeightsRoundtrip(identical=sum(diff.values()) == 0, differences=diff, error=None)


@dataclass(frozen=True)
class StepRecord(Record):
    """A neuron-step (t, neuron; x_t = byte) where the UM and the RNN disagree: both states and
    pre-activations, the RNN's margin |z|, and whether the sign ([h >= 0] or the IEEE sign bit) differs."""
    t: int
    neuron: int
    byte: int
    h_rnn: float
    h_um: float
    z_rnn: float
    z_um: float
    margin: float
    sign_differs: bool


def _step_record(t, j, xs, h_rnn, h_um, z_rnn, z_um) -> StepRecord:
    hr, hu = h_rnn[t, j], h_um[t, j]
    return StepRecord(t=int(t), neuron=int(j), byte=int(xs[t]), h_rnn=float(hr), h_um=float(hu),
                      z_rnn=float(z_rnn[t, j]), z_um=float(z_um[t, j]), margin=float(abs(z_rnn[t, j])),
                      sign_differs=bool((hr >= 0) != (hu >= 0) or np.signbit(hr) != np.signbit(hu)))


@dataclass(frozen=True)
class PreactivationCheck(Record):
    """Bit differences of the pre-activations: free-running, and with the UM fed the RNN's own previous states
    (forced: 0 differences means the same rounded contributions summed in the same order)."""
    free_run_bit_differences: int
    forced_bit_differences: int
    forced_identical: bool
    note: str


@dataclass(frozen=True)
class ActivationCheck(Record):
    """The UM's evaluation of 2 sigma(2z) - 1 (`um`) against the RNN's tanh (`rnn`) on the RNN's own
    pre-activations: bit differences, max |difference|, max ulps."""
    um: str
    rnn: str
    bit_differences: int
    max_abs_diff: float
    max_ulps: float
    note: str


@dataclass(frozen=True)
class IsoVerdict(Record):
    """The Universal Model (pattern table) against the reference RNN on a text of n = `bytes` bytes at one
    precision: isomorphic ("isomorphic to the bit": every sign and sign bit agree, the weights round-trip
    bit-identically and |bpc_um - bpc_rnn| <= bpc_tolerance), the verdict in words, the arithmetic compared
    (precision, activation, tanh, cost); sign_mismatches ([h >= 0]) and signbit_mismatches (IEEE) of the
    neuron_steps = n H; max_abs_diff of the states, states_bit_identical and state_bit_differences; both bpcs
    and their difference; the first state difference and first sign disagreement; the weight round trip;
    the pre-activation and activation checks; pattern_counts (|w| > threshold) and what was compared."""
    isomorphic: bool
    verdict: str
    precision: str
    activation: str
    tanh: str
    cost: str
    H: int
    bytes: int
    neuron_steps: int
    sign_mismatches: int
    signbit_mismatches: int
    max_abs_diff: float
    states_bit_identical: bool
    state_bit_differences: int
    bpc_rnn: float
    bpc_um: float
    bpc_abs_diff: float
    bpc_tolerance: float
    first_disagreement: StepRecord | None
    first_sign_disagreement: StepRecord | None
    weights_roundtrip: bool
    weights_roundtrip_detail: WeightsRoundtrip
    preactivations: PreactivationCheck
    activation_check: ActivationCheck
    pattern_counts: PatternCounts
    compared: str


def check_isomorphism(model: ElmanRNN, xs, precision: str = "f32", activation: str = "stable",
                      table: PatternTable | None = None, threshold: float = 0.01, clamp: bool = True,
                      tanh: str | None = None) -> IsoVerdict:
    """Compare the UM (from `table`, default the model's own) with the reference RNN on the text, both
    under the float32 tanh semantics `tanh` (None: the model's); see `IsoVerdict`."""
    xs = as_bytes(xs)
    table = from_rnn(model) if table is None else table
    if table.H != model.H:
        raise SatrnnInputError(f"pattern table has H={table.H} but the model has H={model.H}")
    tanh = model.tanh if tanh is None else tanh
    tanh_code(tanh)
    ref = forward(model, xs, precision=precision, clamp=clamp, tanh=tanh)
    u = um_forward(table, xs, precision=precision, activation=activation, clamp=clamp, tanh=tanh)
    h_r, h_u, z_r, z_u = ref.hs, u.hs, ref.zs, u.zs
    n, H = h_r.shape

    sig_mis = (h_r >= 0) != (h_u >= 0)
    bit_mis = np.signbit(h_r) != np.signbit(h_u)
    state_diff = _bits(h_r) != _bits(h_u)
    z_forced = um_preactivations_forced(table, xs, h_r, precision)
    forced_diff = int((_bits(z_forced) != _bits(z_r)).sum())
    m_act, _ = um_activation(z_r, activation, tanh=tanh)
    act_diff = _bits(m_act) != _bits(h_r)
    act_ulps = np.abs(_ordered(m_act) - _ordered(h_r))

    def first(mask):
        hits = np.flatnonzero(mask.ravel())
        if hits.size == 0:
            return None
        t, j = divmod(int(hits[0]), H)
        return _step_record(t, j, xs, h_r, h_u, z_r, z_u)

    rt = weights_roundtrip(model, table)
    bpc_diff = abs(u.bpc - ref.bpc)
    n_sign = int(sig_mis.sum())
    n_signbit = int(bit_mis.sum())
    n_state = int(state_diff.sum())
    max_abs = float(np.abs(h_u.astype(np.float64) - h_r.astype(np.float64)).max())
    reasons = []
    if n_sign:
        reasons.append(f"{n_sign} sign mismatch(es)")
    if n_signbit and n_signbit != n_sign:
        reasons.append(f"{n_signbit} sign-bit mismatch(es)")
    if not rt.identical:
        reasons.append("weights do not round-trip bit-identically")
    if not bpc_diff <= BPC_TOLERANCE:
        reasons.append(f"|bpc_um - bpc_rnn| = {bpc_diff:.3g} > {BPC_TOLERANCE:g}")
    iso = not reasons
    if iso:
        verdict = "isomorphic to the bit" + (
            " (states bit-identical)" if n_state == 0 else
            f" (signs, weights and bpc agree; {n_state} state values differ, max |diff| {max_abs:.3g})")
    else:
        verdict = "NOT isomorphic: " + "; ".join(reasons)
    return IsoVerdict(
        isomorphic=iso, verdict=verdict, precision=precision, activation=activation, tanh=tanh,
        cost="clamped at 1e-30" if clamp else "unclamped", H=H, bytes=n, neuron_steps=n * H,
        sign_mismatches=n_sign, signbit_mismatches=n_signbit, max_abs_diff=max_abs, states_bit_identical=n_state == 0,
        state_bit_differences=n_state, bpc_rnn=ref.bpc, bpc_um=u.bpc, bpc_abs_diff=bpc_diff,
        bpc_tolerance=BPC_TOLERANCE, first_disagreement=first(state_diff),
        first_sign_disagreement=first(sig_mis | bit_mis), weights_roundtrip=rt.identical,
        weights_roundtrip_detail=rt,
        preactivations=PreactivationCheck(
            free_run_bit_differences=int((_bits(z_u) != _bits(z_r)).sum()), forced_bit_differences=forced_diff,
            forced_identical=forced_diff == 0,
            note="forced: the UM accumulates its patterns from the RNN's own previous states; 0 differences "
                 "means the same rounded contributions summed in the same order"),
        activation_check=ActivationCheck(
            um=activation, rnn=rnn_activation(precision, tanh), bit_differences=int(act_diff.sum()),
            max_abs_diff=float(np.abs(m_act.astype(np.float64) - h_r.astype(np.float64)).max()),
            max_ulps=float(act_ulps.max()),
            note="the UM's 2 sigma(2z) - 1 evaluated on the RNN's own pre-activations"),
        pattern_counts=pattern_counts(table, threshold),
        compared=(f"UM forward from {len(table):,} patterns ({precision}, {activation} 2sigma(2z)-1) vs the "
                  f"reference RNN forward ({precision}, {rnn_activation(precision, tanh)}) over {n:,} bytes: sign "
                  f"[h>=0] and IEEE sign bit of all {n * H:,} neuron-steps, state bits, bpc of "
                  f"{n - 1:,} predictions (tolerance {BPC_TOLERANCE:g}), weight round trip"))


@dataclass(frozen=True)
class PrunedCheck(Record):
    """The UM restricted to the patterns of `pruned_classes` with strength > fl32(threshold) (all patterns of
    the other classes kept) against the full RNN: patterns kept and dropped, both bpcs, sign mismatches,
    whether it is still isomorphic."""
    threshold: float
    pruned_classes: list
    patterns_kept: int
    patterns_dropped: int
    bpc_rnn: float
    bpc_um_pruned: float
    sign_mismatches: int
    isomorphic: bool
    precision: str


def pruned_check(model: ElmanRNN, xs, threshold: float = 0.01, prune=("Wx", "Wh", "Wy"),
                 precision: str = "f32", tanh: str | None = None) -> PrunedCheck:
    """The UM restricted to the patterns of the `prune` classes with strength > fl32(threshold) (all
    patterns of the other classes kept), run on the text and compared with the full RNN. Answers "is
    the thresholded pattern set (e.g. seed 000's |w| > 0.01) the model?" (see `PrunedCheck`)."""
    from satrnn.automaton.um import CLASS_CODES
    t = from_rnn(model)
    names = [prune] if isinstance(prune, str) else list(prune)
    bad = [c for c in names if c not in CLASS_CODES]
    if bad:
        raise SatrnnInputError(f"unknown pattern class(es) {', '.join(bad)}")
    in_pruned = np.isin(t.cls, [CLASS_CODES[c] for c in names])
    keep = ~in_pruned | (t.strength > np.float32(threshold))
    d = check_isomorphism(model, xs, precision=precision, table=t.take(keep), threshold=threshold, tanh=tanh)
    return PrunedCheck(threshold=float(threshold), pruned_classes=names, patterns_kept=int(keep.sum()),
                       patterns_dropped=int((~keep).sum()), bpc_rnn=d.bpc_rnn, bpc_um_pruned=d.bpc_um,
                       sign_mismatches=d.sign_mismatches, isomorphic=d.isomorphic, precision=precision)
