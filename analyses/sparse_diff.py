"""Sparse differentiation (seed 002): gradient sparsity, backward norm growth, per-offset input attribution.

The seed's program (sparse_diff.c) is not published; this implements the seed's formulas literally:
- g_t = d ln P_t[y] / d h_t = Wy^T (e_y - P_t), y = x_{t+1}, t = 0..n-2;
- g_{t->t-k} = (prod_{s=t-k+1..t} J_s)^T g_t with J_s = diag(1 - h_s^2) Wh (gradient w.r.t. h_{t-k});
- attr(t, k) = Wx[:, x_{t-k}]^T g_{t->t-k}.
Choices (each is an option and is recorded in the output's `choices`):
- offset_from "consumed" (default): k counts back from the consumed byte x_t, so k = 1 scores x_{t-1}
  (the seed's t = 10 example: k = 1 is 'i' = x_9). "predicted": k = 1 scores x_t with g_{t->t} (k counts
  back from the predicted byte x_{t+1}).
- gate False (default): the literal formula uses the gradient at the post-activation h_{t-k}; True multiplies
  by (1 - h_{t-k}^2), the true gradient w.r.t. the one-hot input at step t-k.
- positions "common" (default): every k averages over the same positions t = K..n-2 (K = the largest offset);
  "valid": offset k averages over t = k..n-2.
- share "mean_of_ratios" (default): mean over t of (top-k g_j^2) / ||g_t||^2; "ratio_of_sums" pools energies.
- precision "f64" (default) or "f32" (the reference programs' float32 rounding of g and of the chain).
"""
from __future__ import annotations

import math

import numpy as np

from satrnn.rnn import elementary as em
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, run_states
from satrnn.rnn.gradients import state_gradients
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.text import display_byte

OFFSET_FROM = ("consumed", "predicted")
POSITIONS = ("common", "valid")
SHARES = ("mean_of_ratios", "ratio_of_sums")
EXAMPLES = (10, 28)
TOPK = (1, 5, 10)


def _choice(name, value, allowed):
    if value not in allowed:
        raise SatrnnInputError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def offset_attributions(model: ElmanRNN, xs, B, hs, max_k: int, offset_from: str = "consumed",
                        gate: bool = False) -> np.ndarray:
    """attr (n-1, max_k+1) float64: attr[t, k] for k = 0..max_k (NaN where the byte does not exist).

    consumed: attr[t, k] = Wx[:, x_{t-k}] . (gate_{t-k} *) B[t, k]; predicted: attr[t, k] = Wx[:, x_{t+1-k}] .
    (gate *) B[t, k-1] for k >= 1 (k = 0 would be the predicted byte itself: NaN).
    """
    xs = as_bytes(xs)
    m = xs.shape[0] - 1
    Wx = np.asarray(model.Wx, dtype=np.float64)
    hs64 = np.asarray(hs, dtype=np.float64)
    out = np.full((m, max_k + 1), np.nan)
    for k in range(max_k + 1):
        d = k if offset_from == "consumed" else k - 1
        if d < 0:
            continue
        ts = np.arange(d, m)
        g = np.asarray(B[ts, d], dtype=np.float64)
        if gate:
            g = g * (1.0 - hs64[ts - d] ** 2)
        out[ts, k] = em.inorder_dot(Wx[:, xs[ts - d]].T, g, axis=1)
    return out


def sparse_differentiation(model: ElmanRNN, xs, max_k: int = 8, norm_depth: int | None = None,
                           offset_from: str = "consumed", gate: bool = False, positions: str = "common",
                           share: str = "mean_of_ratios", precision: str = "f64", examples=EXAMPLES,
                           hs=None) -> dict:
    """Seed 002's tables as a JSON-able dict.

    Keys: choices, notes, gradient{mean_norm, top_share{1,5,10}, top1_neurons, energy_neurons},
    norm_growth[rows k, mean_norm, ratio, positions], attribution[rows k, signed, unsigned, positions],
    examples[per t: input, target, p_true, correct, norm, top_neurons, offsets[k, byte, attr], strongest_*].
    norm_depth (default max_k) extends the norm-growth table (e.g. to 50).
    """
    xs = as_bytes(xs)
    n = xs.shape[0]
    if n < 2:
        raise SatrnnInputError("need at least 2 bytes")
    _choice("offset_from", offset_from, OFFSET_FROM)
    _choice("positions", positions, POSITIONS)
    _choice("share", share, SHARES)
    m = n - 1
    if isinstance(max_k, bool) or not isinstance(max_k, (int, np.integer)) or not 1 <= max_k <= 1000:
        raise SatrnnInputError(f"max offset must be in 1..1000, got {max_k!r}")
    norm_depth = max_k if norm_depth is None else norm_depth
    if not isinstance(norm_depth, (int, np.integer)) or not 0 <= norm_depth <= 1000:
        raise SatrnnInputError(f"norm depth must be in 0..1000, got {norm_depth!r}")
    if max_k >= m:
        raise SatrnnInputError(f"max offset {max_k} needs more than {max_k + 1} bytes of text")
    if hs is None:
        hs, _ = run_states(model, xs, "f32")
    D = max(max_k, norm_depth)
    B, P = state_gradients(model, hs, xs, D, precision)
    B = np.asarray(B, dtype=np.float64)
    g = B[:, 0]
    energy = g ** 2
    tot = energy.sum(axis=1)
    srt = -np.sort(-energy, axis=1)
    shares = {}
    for k in TOPK:
        k2 = min(k, model.H)
        top = srt[:, :k2].sum(axis=1)
        ok = tot > 0
        shares[str(k)] = float(np.mean(top[ok] / tot[ok])) if share == "mean_of_ratios" \
            else float(top.sum() / tot.sum())
    top1 = np.argmax(np.abs(g), axis=1)
    t1c = np.bincount(top1, minlength=model.H)
    mean_share = np.mean(energy[tot > 0] / tot[tot > 0][:, None], axis=0)
    gradient = {
        "mean_norm": float(np.mean(np.sqrt(tot))), "top_share": shares,
        "top1_neurons": [{"neuron": int(j), "positions": int(t1c[j])} for j in np.argsort(-t1c, kind="stable")[:8]],
        "energy_neurons": [{"neuron": int(j), "mean_share": float(mean_share[j])}
                           for j in np.argsort(-mean_share, kind="stable")[:8]],
        "positions": int(m)}
    # backward norm growth
    norms = em.inorder_norm(B, axis=2)  # NaN where undefined
    rows = []
    for k in range(norm_depth + 1):
        vc = norms[norm_depth:, k]
        vv = norms[k:, k]
        rows.append({"k": k, "mean_norm_common": float(np.mean(vc)), "positions_common": int(vc.size),
                     "mean_norm_valid": float(np.mean(vv)), "positions_valid": int(vv.size)})
    def ratio(a: float, b: float) -> float:  # NaN (JSON null) when the k = 0 norm is 0 (saturated models)
        return a / b if b != 0 else math.nan

    for r in rows:
        r["ratio_common"] = ratio(r["mean_norm_common"], rows[0]["mean_norm_common"])
        r["ratio_valid"] = ratio(r["mean_norm_valid"], rows[0]["mean_norm_valid"])
        r["mean_norm"] = r["mean_norm_" + positions]
        r["ratio"] = r["ratio_" + positions]
        r["positions"] = r["positions_" + positions]
    # per-offset attribution
    attr = offset_attributions(model, xs, B, hs, max_k, offset_from, gate)
    arows = []
    k0 = 0 if offset_from == "consumed" else 1
    for k in range(k0, max_k + 1):
        need = k if offset_from == "consumed" else k - 1
        lo = max_k if positions == "common" else need
        v = attr[lo:, k]
        arows.append({"k": k, "signed": float(np.mean(v)), "unsigned": float(np.mean(np.abs(v))),
                      "positions": int(v.size)})
    ex = []
    for t in examples:
        if not 0 <= t < m:
            raise SatrnnInputError(f"example position {t} outside 0..{m - 1}")
        y = int(xs[t + 1])
        am = int(np.argmax(P[t]))
        order = np.argsort(-np.abs(g[t]), kind="stable")[:5]
        offs = []
        for k in range(k0, max_k + 1):
            pos = t - k if offset_from == "consumed" else t + 1 - k
            if pos < 0 or np.isnan(attr[t, k]):
                continue
            offs.append({"k": k, "position": pos, "byte": int(xs[pos]), "char": display_byte(int(xs[pos])),
                         "attr": float(attr[t, k])})
        pos_offs = [o for o in offs if o["k"] >= 1]
        ex.append({"t": t, "input": int(xs[t]), "input_char": display_byte(int(xs[t])), "target": y,
                   "target_char": display_byte(y), "p_true": float(P[t, y]), "argmax": am, "correct": am == y,
                   "norm": float(np.sqrt(tot[t])),
                   "top_neurons": [{"neuron": int(j), "g": float(g[t, j])} for j in order],
                   "offsets": offs,
                   "strongest_signed": max(pos_offs, key=lambda o: o["attr"]) if pos_offs else None,
                   "strongest_abs": max(pos_offs, key=lambda o: abs(o["attr"])) if pos_offs else None})
    notes = [
        "sparse_diff.c is not published: formulas implemented literally from the seed; see choices.",
        "attr uses the gradient w.r.t. the post-activation h_{t-k} (no tanh derivative) unless gate=True.",
        "norm_growth rows give both position sets: *_common averages every k over t = K..n-2 (K = norm_depth), "
        "*_valid averages offset k over t = k..n-2; ratios are to k = 0 over the same set; mean_norm/ratio "
        "follow the `positions` choice.",
        "the seed's 'same neurons dominate' is measured by top1_neurons (argmax |g_t| counts) and "
        "energy_neurons (mean share of ||g_t||^2).",
    ]
    return {"choices": {"offset_from": offset_from, "gate": bool(gate), "positions": positions, "share": share,
                        "precision": precision, "max_k": int(max_k), "norm_depth": int(norm_depth)},
            "notes": notes, "gradient": gradient, "norm_growth": rows, "attribution": arows, "examples": ex}
