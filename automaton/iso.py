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

import numpy as np

from satrnn.automaton.um import (
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


def weights_roundtrip(model: ElmanRNN, table: PatternTable) -> dict:
    """Whether table.to_rnn() reproduces the model's weights bit for bit; per-matrix differing counts."""
    try:
        back = table.to_rnn()
    except SatrnnInputError as e:
        return {"identical": False, "differences": None, "error": str(e)}
    if back.H != model.H:
        return {"identical": False, "differences": None, "error": f"H {back.H} != {model.H}"}
    diff = {n: int((_bits(getattr(back, n)) != _bits(getattr(model, n))).sum()) for n in MATRICES}
    return {"identical": sum(diff.values()) == 0, "differences": diff, "error": None}


def _step_record(t, j, xs, h_rnn, h_um, z_rnn, z_um):
    hr, hu = h_rnn[t, j], h_um[t, j]
    return {"t": int(t), "neuron": int(j), "byte": int(xs[t]), "h_rnn": float(hr), "h_um": float(hu),
            "z_rnn": float(z_rnn[t, j]), "z_um": float(z_um[t, j]), "margin": float(abs(z_rnn[t, j])),
            "sign_differs": bool((hr >= 0) != (hu >= 0) or np.signbit(hr) != np.signbit(hu))}


def check_isomorphism(model: ElmanRNN, xs, precision: str = "f32", activation: str = "stable",
                      table: PatternTable | None = None, threshold: float = 0.01, clamp: bool = True,
                      tanh: str | None = None) -> dict:
    """Compare the UM (from `table`, default the model's own) with the reference RNN on the text, both
    under the float32 tanh semantics `tanh` (None: the model's).

    Returns a JSON-able dict; the keys the CLI promises: isomorphic, sign_mismatches, max_abs_diff,
    bpc_rnn, bpc_um, pattern_counts; plus verdict, first_disagreement, first_sign_disagreement,
    weights_roundtrip, states_bit_identical, preactivations, activation_check, compared.
    """
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
    if not rt["identical"]:
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
    return {
        "isomorphic": iso,
        "verdict": verdict,
        "precision": precision,
        "activation": activation,
        "tanh": tanh,
        "cost": "clamped at 1e-30" if clamp else "unclamped",
        "H": H,
        "bytes": n,
        "neuron_steps": n * H,
        "sign_mismatches": n_sign,
        "signbit_mismatches": n_signbit,
        "max_abs_diff": max_abs,
        "states_bit_identical": n_state == 0,
        "state_bit_differences": n_state,
        "bpc_rnn": ref.bpc,
        "bpc_um": u.bpc,
        "bpc_abs_diff": bpc_diff,
        "bpc_tolerance": BPC_TOLERANCE,
        "first_disagreement": first(state_diff),
        "first_sign_disagreement": first(sig_mis | bit_mis),
        "weights_roundtrip": rt["identical"],
        "weights_roundtrip_detail": rt,
        "preactivations": {
            "free_run_bit_differences": int((_bits(z_u) != _bits(z_r)).sum()),
            "forced_bit_differences": forced_diff,
            "forced_identical": forced_diff == 0,
            "note": "forced: the UM accumulates its patterns from the RNN's own previous states; 0 "
                    "differences means the same rounded contributions summed in the same order",
        },
        "activation_check": {
            "um": activation,
            "rnn": rnn_activation(precision, tanh),
            "bit_differences": int(act_diff.sum()),
            "max_abs_diff": float(np.abs(m_act.astype(np.float64) - h_r.astype(np.float64)).max()),
            "max_ulps": float(act_ulps.max()),
            "note": "the UM's 2 sigma(2z) - 1 evaluated on the RNN's own pre-activations",
        },
        "pattern_counts": pattern_counts(table, threshold),
        "compared": (f"UM forward from {len(table):,} patterns ({precision}, {activation} 2sigma(2z)-1) vs the "
                     f"reference RNN forward ({precision}, {rnn_activation(precision, tanh)}) over {n:,} bytes: sign "
                     f"[h>=0] and IEEE sign bit of all {n * H:,} neuron-steps, state bits, bpc of "
                     f"{n - 1:,} predictions (tolerance {BPC_TOLERANCE:g}), weight round trip"),
    }


def pruned_check(model: ElmanRNN, xs, threshold: float = 0.01, prune=("Wx", "Wh", "Wy"),
                 precision: str = "f32", tanh: str | None = None) -> dict:
    """The UM restricted to the patterns of the `prune` classes with strength > fl32(threshold) (all
    patterns of the other classes kept), run on the text and compared with the full RNN. Answers "is
    the thresholded pattern set (e.g. seed 000's |w| > 0.01) the model?" Keys: threshold, pruned_classes,
    patterns_kept, patterns_dropped, bpc_rnn, bpc_um_pruned, sign_mismatches, isomorphic."""
    from satrnn.automaton.um import CLASS_CODES
    t = from_rnn(model)
    names = [prune] if isinstance(prune, str) else list(prune)
    bad = [c for c in names if c not in CLASS_CODES]
    if bad:
        raise SatrnnInputError(f"unknown pattern class(es) {', '.join(bad)}")
    in_pruned = np.isin(t.cls, [CLASS_CODES[c] for c in names])
    keep = ~in_pruned | (t.strength > np.float32(threshold))
    d = check_isomorphism(model, xs, precision=precision, table=t.take(keep), threshold=threshold, tanh=tanh)
    return {"threshold": float(threshold), "pruned_classes": names, "patterns_kept": int(keep.sum()),
            "patterns_dropped": int((~keep).sum()), "bpc_rnn": d["bpc_rnn"], "bpc_um_pruned": d["bpc_um"],
            "sign_mismatches": d["sign_mismatches"], "isomorphic": d["isomorphic"], "precision": precision}
