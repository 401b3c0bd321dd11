"""Input-flip perturbations (DEFINITIONS 0.7, 0.8) and the Q2 depth analysis (q2_offsets, DEFINITIONS 6).

Alignment: h_t (row t of the stored states) is the state after reading x_t and predicts x_{t+1}.
R(t, p) is the state at time t when only x_p (p <= t) is replaced by flip(x_p) = x_p XOR 0x80: start from the
stored h_{p-1} (zeros for p = 0), step with the flipped byte, then with x_{p+1}..x_t, in the reference float32
arithmetic of `rnn.forward` (bit-identical; tested against `rnn.forward.run_states`).

q2 convention ("paper"): depth d flips p = t - d, so d = 1 flips x_{t-1} and the flipped byte is d + 1 bytes
before the predicted byte x_{t+1}. "corrected": p = t - d + 1 (the q7 convention: d = distance to the
predicted byte; d = 1 flips x_t).
"""
from __future__ import annotations

import numpy as np

from satrnn.rnn import elementary as em
from satrnn.rnn.elementary import tanh_code
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, readout_costs, run_states
from satrnn.rnn.forward import step_kernel as _step
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit_parallel, prange

FLIP_MASK = 0x80
Q2_POSITIONS = (42, 60, 80, 100, 120, 150, 200, 250, 300, 350, 400, 450, 500)
Q2_MAX_DEPTH = 30
MI_GREEDY_OFFSETS = (1, 3, 8, 20)
FACTOR_MAP_PAIR = (1, 7)
VARIANTS = ("paper", "corrected")
PROB_FLOOR = 1e-30


def flip(x):
    """flip(x) = (x + 128) mod 256 = x XOR 0x80 (DEFINITIONS 0.7); works on ints and uint8 arrays."""
    return x ^ FLIP_MASK


# ---- batched perturbed re-runs --------------------------------------------------------------------

@njit_parallel
def _perturbed_kernel(Wx, WhT, bh, xs, hs, starts, first_byte, rec_ptr, rec_t, rec_row, sem, out):
    """One trajectory per start p = starts[k]: h = hs[p-1] (zeros if p = 0), step with first_byte[k], then
    with xs[p+1..]; the state after step t is written to out[rec_row[r]] for every record r in
    rec_ptr[k]..rec_ptr[k+1] with rec_t[r] == t (rec_t ascending within a trajectory).

    The step is the reference `rnn.forward._step` itself. Trajectories write disjoint rows
    of `out`, so the result does not depend on the thread count.
    """
    H = WhT.shape[0]
    for k in prange(starts.shape[0]):
        p = starts[k]
        h = np.zeros(H, dtype=hs.dtype)
        if p > 0:
            for i in range(H):
                h[i] = hs[p - 1, i]
        z = np.empty(H, dtype=hs.dtype)
        r = rec_ptr[k]
        r_end = rec_ptr[k + 1]
        t = p
        while r < r_end:
            x = first_byte[k] if t == p else xs[t]
            _step(Wx, WhT, bh, x, h, z, sem)
            while r < r_end and rec_t[r] == t:
                row = rec_row[r]
                for i in range(H):
                    out[row, i] = h[i]
                r += 1
            t += 1


def perturbed_states(model: ElmanRNN, xs, hs: np.ndarray, ts, ps, replacement=None) -> np.ndarray:
    """R(t, p) for every pair (ts[k], ps[k]): (m, H) float32, row k = the state at time ts[k] with x_{ps[k]}
    replaced by flip(x_{ps[k]}) (or by replacement[k] if given).

    `hs` are the stored unperturbed float32 states of the same model and text (row t = h_t). Pairs sharing a
    start p share one trajectory, so a batch over many depths costs one run per distinct p.
    """
    xs = as_bytes(xs)
    ts = np.asarray(ts, dtype=np.int64).ravel()
    ps = np.asarray(ps, dtype=np.int64).ravel()
    if ts.shape != ps.shape:
        raise SatrnnInputError("perturbed_states: ts and ps must have the same length")
    hs = np.ascontiguousarray(hs, dtype=np.float32)
    if hs.ndim != 2 or hs.shape[1] != model.H or hs.shape[0] < xs.shape[0] - 1:
        raise SatrnnInputError(f"stored states have shape {hs.shape}, expected ({xs.shape[0]}, {model.H})")
    m = ts.shape[0]
    out = np.empty((m, model.H), dtype=np.float32)
    if m == 0:
        return out
    if ps.min() < 0 or (ps > ts).any() or ts.max() >= xs.shape[0]:
        raise SatrnnInputError("perturbed_states: need 0 <= p <= t < len(text) for every pair")
    if replacement is None:
        repl = None
    else:
        repl = np.asarray(replacement, dtype=np.int64).ravel()
        if repl.shape != ps.shape or repl.min() < 0 or repl.max() > 255:
            raise SatrnnInputError("perturbed_states: replacement must give one byte 0-255 per pair")
    # Group by (p, replacement byte), then by t ascending: one trajectory per group.
    rb = flip(xs[ps].astype(np.int64)) if repl is None else repl
    key = ps * 256 + rb
    order = np.lexsort((ts, key))
    skey = key[order]
    new = np.ones(m, dtype=bool)
    new[1:] = skey[1:] != skey[:-1]
    first = np.flatnonzero(new)
    rec_ptr = np.append(first, m).astype(np.int64)
    starts = np.ascontiguousarray(ps[order][first])
    first_byte = np.ascontiguousarray(rb[order][first]).astype(np.uint8)
    rec_t = np.ascontiguousarray(ts[order])
    _perturbed_kernel(model.Wx, np.ascontiguousarray(model.Wh.T), model.bh, xs, hs, starts, first_byte,
                      rec_ptr, rec_t, np.ascontiguousarray(order, dtype=np.int64), tanh_code(model.tanh), out)
    return out


def flip_column_check(model: ElmanRNN, xs) -> dict:
    """DEFINITIONS 0.7 interpretation check: Wx column norms of bytes occurring in the text vs their flips.

    If no flipped byte occurs in the text, its Wx column never got a training signal and a flip acts more
    like deleting the input than like substituting a plausible byte.
    """
    xs = as_bytes(xs)
    occurring = np.unique(xs).astype(np.int64)
    flipped = np.unique(flip(occurring))
    norms = em.inorder_norm(model.Wx.astype(np.float64), axis=0)
    flipped_absent = np.setdiff1d(flipped, occurring)
    return {"occurring_bytes": int(occurring.size),
            "flipped_bytes_occurring_in_text": int(np.intersect1d(flipped, occurring).size),
            "mean_wx_norm_occurring": float(norms[occurring].mean()),
            "mean_wx_norm_flipped_absent": float(norms[flipped_absent].mean()) if flipped_absent.size else None,
            "all_bytes_below_0x80": bool(xs.max() < FLIP_MASK)}


# ---- q2_offsets ------------------------------------------------------------------------------------

def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise SatrnnInputError(f"unknown variant {variant!r} (use paper or corrected)")
    return variant


def kl_bits(logp_base: np.ndarray, logp_pert: np.ndarray) -> np.ndarray:
    """KL(base || perturbed) in bits per row, o ascending, dropping terms where either P <= 1e-30
    (DEFINITIONS 6.1; probabilities from the double readout's natural-log output)."""
    pb = em.exp(logp_base)
    pp = em.exp(logp_pert)
    keep = (pb > PROB_FLOOR) & (pp > PROB_FLOOR)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(keep, pb * em.log2(pb / pp), 0.0)
    return np.cumsum(terms, axis=1)[:, -1] if terms.shape[0] else np.zeros(0)   # sequential sum over o


def dominant_offsets(N: np.ndarray) -> np.ndarray:
    """dom_offset(j) = the smallest d attaining max_d N_j(d) (strict '>' scan upward from a best of 0),
    d = 1 if every N_j(d) is 0. N is (H, D) with column d-1 for depth d. Returns (H,) int64 depths."""
    N = np.asarray(N)
    dom = np.argmax(N, axis=1) + 1     # argmax returns the first maximum = the smallest d
    dom[N.max(axis=1) <= 0] = 1
    return dom.astype(np.int64)


def q2_offsets(model: ElmanRNN, xs, positions=Q2_POSITIONS, max_depth: int = Q2_MAX_DEPTH,
               variant: str = "paper", hs=None) -> dict:
    """Depth sensitivity of the hidden sign pattern (DEFINITIONS 6).

    variant "paper": depth d flips x_{t-d} (q2's convention; d = 1 never touches x_t).
    variant "corrected": depth d flips x_{t-d+1} (distance d to the predicted byte, as in q7).
    Returns a dict; keys: depth_profile, neurons, offset_histogram, mi_greedy, factor_map_pair, N (H x D).
    """
    _check_variant(variant)
    xs = as_bytes(xs)
    n = xs.shape[0]
    if n < 2:
        raise SatrnnInputError("q2_offsets needs a text of at least 2 bytes")
    if max_depth < 1:
        raise SatrnnInputError("max depth must be >= 1")
    shift = 0 if variant == "paper" else 1
    T = [int(t) for t in positions if 0 <= int(t) < n - 1]
    if not T:
        raise SatrnnInputError(f"no test position lies in 0..{n - 2} (text has {n} bytes)")
    hs = run_states(model, xs)[0] if hs is None else np.ascontiguousarray(hs, dtype=np.float32)
    pairs = [(t, d) for t in T for d in range(1, max_depth + 1) if t - d + shift >= 0]
    pt = np.array([t for t, _ in pairs], dtype=np.int64)
    pd = np.array([d for _, d in pairs], dtype=np.int64)
    pp = pt - pd + shift
    hp = perturbed_states(model, xs, hs, pt, pp)
    base = hs[pt]
    changed = (hp >= 0) != (base >= 0)                # sigma: +0 and -0 count as positive
    _, lb = readout_costs(model, base, xs[pt + 1], want_logp=True)
    _, lp = readout_costs(model, hp, xs[pt + 1], want_logp=True)
    kl = kl_bits(lb, lp)
    H, D = model.H, max_depth
    N = np.zeros((H, D), dtype=np.int64)
    np.add.at(N.T, pd - 1, changed.astype(np.int64))
    runs = np.bincount(pd - 1, minlength=D)
    S = N.sum(axis=0)                                 # S(d) = sum_t sum_j C(t, d, j)
    kl_sum = np.zeros(D)
    for k in range(len(pairs)):                       # t order within each d, as the reference accumulates
        kl_sum[pd[k] - 1] += kl[k]
    profile = [{"d": d, "pairs": int(runs[d - 1]),
                "mean_sign_changes": float(S[d - 1] / runs[d - 1]) if runs[d - 1] else None,
                "mean_output_kl_bits": float(kl_sum[d - 1] / runs[d - 1]) if runs[d - 1] else None}
               for d in range(1, D + 1)]
    dom = dominant_offsets(N)
    neurons = [{"neuron": j, "dom_offset": int(dom[j]), "total_changes": int(N[j].sum()),
                "changes_at_d1": int(N[j, 0]), "profile": [int(v) for v in N[j, :10]],
                "printed_by_paper": bool(j < 20 or dom[j] > 5)} for j in range(H)]
    counts = np.bincount(dom - 1, minlength=D)
    hist = [{"d": d, "count": int(counts[d - 1]), "percent": float(100.0 * counts[d - 1] / H)} for d in range(1, D + 1)]
    total = int(S.sum())

    def pct(v):
        return 100.0 * v / total if total else 0.0

    nT = len(T)
    greedy = [{"d": d, "S": int(S[d - 1]) if d <= D else 0, "mean": float(S[d - 1] / nT) if d <= D else 0.0,
               "percent": float(pct(S[d - 1])) if d <= D else 0.0} for d in MI_GREEDY_OFFSETS]
    fm = {f"d{d}_percent": (float(pct(S[d - 1])) if d <= D else 0.0) for d in FACTOR_MAP_PAIR}
    fm["total_percent"] = sum(fm.values())
    peak = int(np.argmax(counts)) + 1
    return {"definition": "q2_offsets (DEFINITIONS 6)", "variant": variant,
            "flip_convention": "p = t - d (d = 1 flips x_{t-1})" if variant == "paper"
            else "p = t - d + 1 (d = 1 flips x_t; d = distance to the predicted byte)",
            "positions": T, "max_depth": D, "n_bytes": int(n),
            "depth_profile": profile, "neurons": neurons, "offset_histogram": hist,
            "histogram_peak": {"d": peak, "count": int(counts[peak - 1]),
                               "percent": float(100.0 * counts[peak - 1] / H)},
            "deep_offsets_18_25_percent": float(100.0 * counts[17:25].sum() / H) if D >= 18 else 0.0,
            "total_sign_changes": total,
            "mi_greedy": {"offsets": list(MI_GREEDY_OFFSETS), "rows": greedy,
                          "total_percent": sum(r["percent"] for r in greedy)},
            "factor_map_pair": fm,
            "N": N, "S": S}


def parse_int_list(name: str, text: str, lo: int = 0, hi: int = 1 << 40) -> list[int]:
    """Parse '1,8,20' (CLI lists of offsets or positions); a bad item is a one-line input error."""
    try:
        vals = [int(v, 0) for v in str(text).replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise SatrnnInputError(f"{name} must be a comma-separated list of integers, got {text!r}") from None
    if not vals:
        raise SatrnnInputError(f"{name} is empty")
    bad = [v for v in vals if not lo <= v <= hi]
    if bad:
        raise SatrnnInputError(f"{name} values must lie in {lo}..{hi}, got {bad[0]}")
    return vals
