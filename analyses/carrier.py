"""Carrier/pattern decomposition (seed 003 section 5, eqs. 5-7, Tables 2-3, the output decomposition).

The program behind seed 003 section 5 is not published; this follows the seed's definitions literally.
Alignment (ours): h_t is the state after reading x_t; it predicts y_t = x_{t+1}.
- Carrier (eq. 5): c_t[j] = bh[j] + sum_k Wh[j, k] h_{t-1}[k] (h_{-1} = 0), in double with k ascending from
  the float32 reference states. The pre-activation is z_t = c_t + Wx[:, x_t].
- Pattern-sensitive (PS) at t: min_v (c_t[j] + Wx[j, v]) <= 0 <= max_v (c_t[j] + Wx[j, v]), v over all 256
  bytes (option byteset="occurring": only bytes occurring in the text).
- Carrier-only state: h_t with each PS neuron replaced by tanh(c_t[j]) (rounded to float32; option
  replace="all" replaces every neuron). Only the readout is recomputed; the dynamics are not re-run.
- Deviation (eq. 6): delta_s = h_s - tanh(c_s) on PS neurons, 0 elsewhere. The seed writes h_{t+1}: its h_{t+1}
  is the state produced by consuming x_t (its readout gradient starts at g_{T+1}), i.e. our h_t; this is
  alignment "same" (default). alignment="next" reads the subscripts in our indexing: the offset then counts
  from the predicted byte, so row d is row d-1 of "same" and row 0 is undefined.
- Influence (eq. 7): influence(t, d) = G_{t->t-d} . delta_{t-d}, with G_{t->t} = Wy[y_t] (the gradient of
  the correct byte's logit, target="logit", default) or Wy^T (e_y - P) (target="logprob"), back-propagated
  through diag(1 - h^2) Wh (rnn.gradients.backward_chain, double).
"""
from __future__ import annotations

import numpy as np

from satrnn.rnn import elementary as em
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, readout_costs, run_states, sequential_mean
from satrnn.rnn.gradients import backward_chain, output_gradients
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit_parallel, prange
from satrnn.rnn.text import display_byte

BYTESETS = ("all", "occurring")
REPLACE = ("sensitive", "all")
ALIGN = ("same", "next")
TARGETS = ("logit", "logprob")
GROUPS = ((5, 9), (10, 19), (20, 49))


@njit_parallel
def _carriers(Wh, bh, hs, C):
    """C[t, j] = bh[j] + sum_k Wh[j, k] hs[t-1, k] in double (k ascending); hs[-1] = 0."""
    n = hs.shape[0]
    H = Wh.shape[0]
    for t in prange(n):
        for j in range(H):
            acc = np.float64(bh[j])
            if t > 0:
                for k in range(H):
                    acc += np.float64(Wh[j, k]) * np.float64(hs[t - 1, k])
            C[t, j] = acc


def _mean_defined(values) -> float | None:
    """Mean over the defined values (None where a ratio had a zero denominator); None if there are none."""
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def _choice(name, value, allowed):
    if value not in allowed:
        raise SatrnnInputError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def carriers(model: ElmanRNN, hs) -> np.ndarray:
    """(n, H) float64 carrier c_t (eq. 5) of every step of the states hs (n, H)."""
    hs = np.asarray(hs)
    C = np.empty(hs.shape, dtype=np.float64)
    _carriers(model.Wh, model.bh, np.ascontiguousarray(hs), C)
    return C


def pattern_sensitive(model: ElmanRNN, C, xs, byteset: str = "all") -> np.ndarray:
    """(n, H) bool: neuron j is pattern-sensitive at t (some byte in the set could give either sign)."""
    _choice("byteset", byteset, BYTESETS)
    Wx = np.asarray(model.Wx, dtype=np.float64)
    cols = np.arange(256) if byteset == "all" else np.unique(as_bytes(xs))
    lo = Wx[:, cols].min(axis=1)
    hi = Wx[:, cols].max(axis=1)
    return (C + lo[None, :] <= 0.0) & (C + hi[None, :] >= 0.0)


def carrier_states(hs, C, ps, replace: str = "sensitive") -> np.ndarray:
    """float32 (n, H): h with PS neurons (or all, replace="all") replaced by tanh(carrier)."""
    _choice("replace", replace, REPLACE)
    hc = np.array(hs, dtype=np.float32, copy=True)
    tc = em.tanh64(C).astype(np.float32)     # satrnn's double tanh, then rounded to float32
    mask = ps if replace == "sensitive" else np.ones_like(ps)
    hc[mask] = tc[mask]
    return hc


def _span(name, lo, hi, m):
    if not (isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer)) and 0 <= lo <= hi < m):
        raise SatrnnInputError(f"{name} positions must satisfy 0 <= first <= last <= {m - 1}, got {lo}..{hi}")
    return int(lo), int(hi)


def carrier_decomposition(model: ElmanRNN, xs, byteset: str = "all", replace: str = "sensitive",
                          alignment: str = "same", target: str = "logit", depth: int = 50,
                          table2_positions: tuple[int, int] | None = None,
                          table3_positions: tuple[int, int] | None = None, example_t: int = 29,
                          hs=None) -> dict:
    """Seed 003 section 5 as a JSON-able dict.

    Keys: choices, notes, table2{positions, mean_pattern_sensitive, fraction_pattern_sensitive,
    mean_carrier_determined, actual_bpc, carrier_only_bpc, pattern_gain, byte_identity_fraction,
    top_sensitive[neuron, positions]}, table3{positions, rows[d, signed, unsigned, grad_norm, decay, count],
    groups[...]}, decomposition{t, ... with_bias / without_bias, carrier_only_bits, top_neurons},
    gate_fraction_above_0_1.
    Defaults: Table 2 over all predictions t = 0..n-2; Table 3 over t = 50..n-2 (the seed's stated range).
    """
    xs = as_bytes(xs)
    n = xs.shape[0]
    m = n - 1
    if n < 2:
        raise SatrnnInputError("need at least 2 bytes")
    for nm, v, al in (("byteset", byteset, BYTESETS), ("replace", replace, REPLACE), ("alignment", alignment, ALIGN),
                      ("target", target, TARGETS)):
        _choice(nm, v, al)
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or not 1 <= depth <= 1000:
        raise SatrnnInputError(f"depth must be in 1..1000, got {depth!r}")
    t2 = _span("table 2", *(table2_positions or (0, m - 1)), m)
    t3 = _span("table 3", *(table3_positions or (min(50, m - 1), m - 1)), m)
    if hs is None:
        hs, _ = run_states(model, xs, "f32")
    C = carriers(model, hs)
    ps = pattern_sensitive(model, C, xs, byteset)
    hc = carrier_states(hs, C, ps, replace)
    y = xs[1:]
    cost_act, _ = readout_costs(model, hs[:-1], y)
    cost_car, _ = readout_costs(model, hc[:-1], y)
    a, b = t2
    sl = slice(a, b + 1)
    nps = ps[:-1][sl].sum(axis=1)
    act = sequential_mean(cost_act[sl])
    car = sequential_mean(cost_car[sl])
    counts = ps[:-1][sl].sum(axis=0)
    order = np.argsort(-counts, kind="stable")
    table2 = {"positions": [a, b], "count": b - a + 1, "mean_pattern_sensitive": float(nps.mean()),
              "fraction_pattern_sensitive": float(nps.mean() / model.H),
              "mean_carrier_determined": float(model.H - nps.mean()),
              "actual_bpc": act, "carrier_only_bpc": car, "pattern_gain": car - act,
              "byte_identity_fraction": (car - act) / car if car else None,
              "top_sensitive": [{"neuron": int(j), "positions": int(counts[j])} for j in order[:10]]}
    # Table 3: influence by offset
    a3, b3 = t3
    ends = np.arange(a3, b3 + 1)
    if target == "logit":
        G0 = np.asarray(model.Wy, dtype=np.float64)[y[ends]]
    else:
        G0, _ = output_gradients(model, hs[ends], y[ends], "f64")
    Bc = backward_chain(model, hs, G0, ends, depth - 1, "f64")  # (T, depth, H), gradients at h_{t-d}
    delta = np.where(ps, np.asarray(hs, dtype=np.float64) - em.tanh64(C), 0.0)
    rows = []
    unsigned0 = None
    for d in range(depth):
        if alignment == "same":
            dd = d
        else:
            dd = d - 1
        if dd < 0:
            rows.append({"d": d, "signed": None, "unsigned": None, "grad_norm": None, "decay": None, "count": 0})
            continue
        pos = ends - dd
        ok = pos >= 0
        if not ok.any():
            rows.append({"d": d, "signed": None, "unsigned": None, "grad_norm": None, "decay": None, "count": 0})
            continue
        infl = em.inorder_dot(Bc[ok, dd], delta[pos[ok]], axis=1)
        gn = em.inorder_norm(Bc[ok, dd], axis=1)
        u = float(np.mean(np.abs(infl)))
        if unsigned0 is None:
            unsigned0 = u
        rows.append({"d": d, "signed": float(np.mean(infl)), "unsigned": u, "grad_norm": float(np.mean(gn)),
                     "decay": u / unsigned0 if unsigned0 else None, "count": int(ok.sum())})
    groups = []
    for g_lo, g_hi in GROUPS:
        sel = [r for r in rows if g_lo <= r["d"] <= g_hi and r["count"]]
        if sel:
            groups.append({"d": [g_lo, g_hi], **{k: _mean_defined([r[k] for r in sel])
                                                 for k in ("signed", "unsigned", "grad_norm", "decay")}})
    table3 = {"positions": [a3, b3], "count": b3 - a3 + 1, "rows": rows, "groups": groups}
    # output decomposition at one position
    dec = None
    if 0 <= example_t < m:
        t = int(example_t)
        yy = int(y[t])
        Wyr = np.asarray(model.Wy[yy], dtype=np.float64)
        prod_h = (model.Wy[yy] * hs[t]).astype(np.float64)   # float32 products as in DEFINITIONS 0.4
        prod_c = (model.Wy[yy] * hc[t]).astype(np.float64)
        tot = float(prod_h.sum())
        carr = float(prod_c.sum())
        bias = float(model.by[yy])
        dh = np.asarray(hs[t], dtype=np.float64) - np.asarray(hc[t], dtype=np.float64)
        contrib = Wyr * dh
        top = np.argsort(-np.abs(contrib), kind="stable")[:5]

        def parts(total, carrier):
            return {"total": total, "carrier": carrier, "pattern": total - carrier,
                    "carrier_fraction": carrier / total if total else None,
                    "pattern_fraction": (total - carrier) / total if total else None}
        dec = {"t": t, "input": int(xs[t]), "input_char": display_byte(int(xs[t])), "target": yy,
               "target_char": display_byte(yy), "with_bias": parts(tot + bias, carr + bias),
               "without_bias": parts(tot, carr), "bias": bias,
               "actual_bits": float(cost_act[t]), "carrier_only_bits": float(cost_car[t]),
               "pattern_sensitive": [int(j) for j in np.nonzero(ps[t])[0]],
               "top_neurons": [{"neuron": int(j), "wy_dh": float(contrib[j]), "h": float(hs[t, j]),
                                "h_carrier": float(hc[t, j]), "carrier": float(C[t, j])} for j in top]}
    gate_frac = float(np.mean(1.0 - np.asarray(hs[:-1], dtype=np.float64) ** 2 > 0.1))
    notes = [
        "the seed's program is not published; definitions implemented literally, choices listed in `choices`.",
        "carrier c_t = bh + Wh h_{t-1} in double from the float32 reference states; PS uses <= 0 <= (ties count).",
        "carrier-only bpc recomputes only the readout (PS neurons set to tanh(carrier)); dynamics not re-run.",
        "byte_identity_fraction = (carrier_only_bpc - actual_bpc) / carrier_only_bpc.",
        f"Table 3 averages t = {a3}..{b3} ({b3 - a3 + 1} positions); offset d scores byte x_{{t-d}} "
        "(d = 0 is the consumed byte x_t)" + ("" if alignment == "same" else " shifted by one (alignment next)") + ".",
        "decay = unsigned(d) / unsigned(0); grad_norm = mean ||G_{t->t-d}|| (the logit gradient when target=logit).",
        "decomposition: carrier = logit with the carrier-only state; pattern = total - carrier; reported with "
        "and without the output bias by[y].",
    ]
    return {"choices": {"byteset": byteset, "replace": replace, "alignment": alignment, "target": target,
                        "depth": int(depth), "table2_positions": list(t2), "table3_positions": list(t3),
                        "example_t": int(example_t)},
            "notes": notes, "table2": table2, "table3": table3, "decomposition": dec,
            "gate_fraction_above_0_1": gate_frac}
