"""Q1 attribution sparsity (seed 000; DEFINITIONS.md section 1, program q1_sparsity.c).

For every prediction t = 0..n-2 (y = x_{t+1}) each of the 81,920 pattern IDs gets an attribution A (running
maximum over depths, reset per position):
- Wy (neuron j, byte o): |g_t[j]| for o = y (g_t = d ln P_t[y] / d h_t), else 0;
- Wh (source j -> target i): max over d of |u^(d)[i] Wh[i, j]|, u^(d) = (1 - h_{t-d+1}^2) * b^(d-1);
- Wx (byte b, neuron j): max over offsets d with x_{t-d} = b of |Wx[j, b] b^(d)[j]|, b^(d) = d ln P_t[y] / d h_{t-d}.

Two variants (both labelled in every output):
- "paper": DEFINITIONS 1.3 literally, float32 roundings, skip rows |u| < 1e-8, with its quirks: no tanh
  derivative in the Wx score, no offset-0 input term, depth profile mixing units at d = 0, unclamped bpc,
  float32 means, median at index m // 2, never-active counts over all 256 bytes.
- "corrected": double arithmetic (same float32 states), Wx score |Wx[j, b] (1 - h_{t-d}[j]^2) b^(d)[j]| (the
  true weight x gradient at the pre-activation), an offset-0 term for x_t, a depth profile whose d = 0 entry is
  that offset-0 input mass (same units as d >= 1), double means, true median, fractions of all IDs, and
  never-active counts also restricted to bytes that can occur.
"""
from __future__ import annotations

import numpy as np

from satrnn.rnn import elementary as em
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import LN2, as_bytes, run_states
from satrnn.rnn.gradients import output_gradients
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit_parallel, prange

VARIANTS = ("paper", "corrected")
TAUS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
EVER_TAU = 0.01
SIG_THRESHOLD = 0.01
MAX_DEPTH = 50
CLASSES = ("Wx", "Wh", "Wy")
N_BLOCKS = 64


@njit_parallel
def _sparsity_kernel(Wx, Wh, hs, xs, G, taus, ever_tau, skip, one, wx_gate, offset0, max_depth, t_lo, t_hi,
                     counts, mass, mass_in0, ever_x, ever_h, ever_y):
    """Positions t_lo..t_hi-1, split into ever_x.shape[0] fixed blocks (independent of the thread count).

    Arithmetic in the dtype of Wx/Wh/hs/G/taus/one. counts[t, c, k] = #{IDs of class c with A > taus[k]};
    mass[t, 0] = sum_j |g_t[j]|, mass[t, d] = sum_j (Wx score at depth d) as accumulated in the dtype;
    mass_in0[t] = the offset-0 input mass (only when offset0). ever_*[block] OR-accumulate A > ever_tau.
    """
    H = Wh.shape[0]
    T = taus.shape[0]
    nb = ever_x.shape[0]
    npos = t_hi - t_lo
    for blk in prange(nb):
        A_h = np.zeros((H, H), dtype=Wh.dtype)
        A_x = np.zeros((256, H), dtype=Wh.dtype)
        touched = np.zeros(256, dtype=np.bool_)
        b = np.empty(H, dtype=Wh.dtype)
        u = np.empty(H, dtype=Wh.dtype)
        lo = t_lo + (blk * npos) // nb
        hi = t_lo + ((blk + 1) * npos) // nb
        for t in range(lo, hi):
            y = xs[t + 1]
            for i in range(H):
                for j in range(H):
                    A_h[i, j] = 0
            for c in range(256):
                if touched[c]:
                    for j in range(H):
                        A_x[c, j] = 0
                    touched[c] = False
            zero = one - one
            # Wy class and the depth-0 output-gradient mass
            m0 = zero
            for j in range(H):
                a = abs(G[t, j])
                m0 = m0 + a
                for k in range(T):
                    if a > taus[k]:
                        counts[t, 2, k] += 1
                if a > ever_tau:
                    ever_y[blk, j, y] = True
            mass[t, 0] = m0
            if offset0:
                beta = xs[t]
                touched[beta] = True
                mi = zero
                for j in range(H):
                    gj = G[t, j]
                    if wx_gate:
                        hv = hs[t, j]
                        gj = (one - hv * hv) * gj
                    a = abs(Wx[j, beta] * gj)
                    mi = mi + a
                    if a > A_x[beta, j]:
                        A_x[beta, j] = a
                mass_in0[t] = mi
            for j in range(H):
                b[j] = G[t, j]
            D = min(max_depth, t)
            for d in range(1, D + 1):
                s = t - d + 1
                for i in range(H):
                    hv = hs[s, i]
                    u[i] = (one - hv * hv) * b[i]
                for i in range(H):
                    ui = u[i]
                    if abs(ui) >= skip:
                        for j in range(H):
                            a = abs(ui * Wh[i, j])
                            if a > A_h[i, j]:
                                A_h[i, j] = a
                for j in range(H):
                    b[j] = 0
                for i in range(H):
                    ui = u[i]
                    for j in range(H):
                        b[j] = b[j] + Wh[i, j] * ui
                beta = xs[t - d]
                touched[beta] = True
                md = zero
                for j in range(H):
                    gj = b[j]
                    if wx_gate:
                        hv = hs[t - d, j]
                        gj = (one - hv * hv) * gj
                    a = abs(Wx[j, beta] * gj)
                    md = md + a
                    if a > A_x[beta, j]:
                        A_x[beta, j] = a
                mass[t, d] = md
            for i in range(H):
                for j in range(H):
                    a = A_h[i, j]
                    for k in range(T):
                        if a > taus[k]:
                            counts[t, 1, k] += 1
                    if a > ever_tau:
                        ever_h[blk, i, j] = True
            for c in range(256):
                if touched[c]:
                    for j in range(H):
                        a = A_x[c, j]
                        for k in range(T):
                            if a > taus[k]:
                                counts[t, 0, k] += 1
                        if a > ever_tau:
                            ever_x[blk, c, j] = True


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise SatrnnInputError(f"unknown variant {variant!r} (use one of {', '.join(VARIANTS)})")
    return variant


def attribution_arrays(model: ElmanRNN, xs, variant: str = "paper", max_depth: int = MAX_DEPTH,
                       taus=TAUS, hs=None, progress=None) -> dict:
    """Per-position raw results of DEFINITIONS 1.3 (or the corrected variant).

    Returns dict: counts (n-1, 3, len(taus)) int64 [class Wx, Wh, Wy]; mass (n-1, max_depth+1) float64 with
    mass[t, d] the depth-d mass (NaN where d > t; d = 0 is sum |g_t|); mass_input0 (n-1,) (corrected only,
    else NaN); ever_x (256, H) [byte, neuron], ever_h (H, H) [target, source], ever_y (H, 256) [neuron, byte]
    bool (A > 0.01 at some t); P (n-1, 256) probabilities; hs (n, H) float32 states; taus as used.
    `progress(done, total)` is called between chunks of positions.
    """
    _check_variant(variant)
    xs = as_bytes(xs)
    n = xs.shape[0]
    if n < 2:
        raise SatrnnInputError(f"text has {n} byte(s); at least 2 are needed for a prediction")
    if isinstance(max_depth, bool) or not isinstance(max_depth, (int, np.integer)) or not 0 <= max_depth <= 10_000:
        raise SatrnnInputError(f"max depth must be an integer in 0..10000, got {max_depth!r}")
    taus = np.asarray(taus, dtype=np.float64)
    if taus.ndim != 1 or taus.size == 0 or not np.isfinite(taus).all() or (taus < 0).any():
        raise SatrnnInputError("thresholds must be a non-empty list of finite non-negative numbers")
    paper = variant == "paper"
    dt = np.float32 if paper else np.float64
    if hs is None:
        hs, _ = run_states(model, xs, "f32")
    elif np.shape(hs) != (n, model.H) or not np.isfinite(hs).all():
        raise SatrnnInputError(f"states must be finite with shape ({n}, {model.H}), got {np.shape(hs)}")
    H = model.H
    G, P = output_gradients(model, hs[:-1], xs[1:], "f32" if paper else "f64")
    m = n - 1
    counts = np.zeros((m, 3, taus.size), dtype=np.int64)
    mass = np.full((m, max_depth + 1), np.nan, dtype=np.float64)
    mass_in0 = np.full(m, np.nan, dtype=np.float64)
    nb = max(1, min(N_BLOCKS, m))
    chunks = max(1, min(8, m // 64))
    ever = [np.zeros((nb, 256, H), np.bool_), np.zeros((nb, H, H), np.bool_), np.zeros((nb, H, 256), np.bool_)]
    args = (np.ascontiguousarray(model.Wx, dtype=dt), np.ascontiguousarray(model.Wh, dtype=dt),
            np.ascontiguousarray(hs, dtype=dt), xs, np.ascontiguousarray(G, dtype=dt), taus.astype(dt),
            dt(EVER_TAU), dt(1e-8) if paper else dt(0.0), dt(1.0), not paper, not paper, int(max_depth))
    bounds = [(k * m) // chunks for k in range(chunks + 1)]
    for k in range(chunks):
        _sparsity_kernel(*args, bounds[k], bounds[k + 1], counts, mass, mass_in0, *ever)
        if progress is not None:
            progress(k + 1, chunks)
    return {"counts": counts, "mass": mass, "mass_input0": mass_in0, "ever_x": ever[0].any(axis=0),
            "ever_h": ever[1].any(axis=0), "ever_y": ever[2].any(axis=0), "P": P, "hs": hs,
            "taus": taus.astype(dt), "G": G}


def significant_counts(model: ElmanRNN, threshold: float = SIG_THRESHOLD) -> dict:
    """DEFINITIONS 1.1: #{|w| > 0.01f} per matrix (strict float32 comparison)."""
    th = np.float32(threshold)
    out = {c: int((np.abs(getattr(model, c)) > th).sum()) for c in CLASSES}
    out["total"] = out["Wx"] + out["Wh"] + out["Wy"]
    return out


def _f32_mean(total: int, m: int) -> float:
    """fl32(integer sum) / m in float32 (DEFINITIONS 1.4)."""
    return float(np.float32(np.float32(total) / np.float32(m)))


def average_ranks(a) -> np.ndarray:
    """Ranks 1..n of a 1-D array, ties sharing the mean of their ranks (as scipy.stats.rankdata's 'average')."""
    a = np.asarray(a)
    order = np.argsort(a, kind="stable")
    s = a[order]
    first = np.r_[True, s[1:] != s[:-1]]         # the first element of each group of equal values
    starts = np.flatnonzero(first)
    sizes = np.diff(np.r_[starts, a.size])
    ranks = np.empty(a.size, dtype=np.float64)
    ranks[order] = (starts + (sizes + 1) / 2.0)[np.cumsum(first) - 1]
    return ranks


def spearman(a, b) -> float | None:
    """Spearman's rank correlation of two 1-D samples (Pearson's r of the average ranks); None when either is
    constant. Equal to scipy.stats.spearmanr(a, b).statistic (tested), without importing scipy.stats: that
    import costs about 0.5 s, a tenth of the report's time budget, for this one number."""
    a, b = np.asarray(a), np.asarray(b)
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    ra, rb = average_ranks(a), average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    return float(em.inorder_dot(ra, rb) / np.sqrt(em.inorder_dot(ra, ra) * em.inorder_dot(rb, rb)))


def _mean_or_none(v):
    return float(np.mean(v)) if v.size else None


def q1_sparsity(model: ElmanRNN, xs, variant: str = "paper", max_depth: int = MAX_DEPTH, taus=TAUS,
                progress=None, arrays: dict | None = None) -> dict:
    """All tables of seed 000 / DEFINITIONS 1.1-1.7 as a JSON-able dict (see module docstring for variants).

    Keys: variant, notes, significant, forward{bpc, positions_printed, predictions}, distribution[rows:
    tau, mean_n, median, min, max, n_over_sig (+ n_over_ids)], class_breakdown[rows: tau, mean_Wx, mean_Wh,
    mean_Wy, share_Wh], never_active{tau, Wx, Wh, Wy, total, of, occurring{...}}, depth_profile[rows: d,
    mean_mass, count, fraction_of_d0], structural{...}.
    """
    xs = as_bytes(xs)
    r = arrays if arrays is not None else attribution_arrays(model, xs, variant, max_depth, taus, progress=progress)
    paper = variant == "paper"
    n = xs.shape[0]
    m = n - 1
    H = model.H
    counts = r["counts"]
    tot = counts.sum(axis=1)  # (m, T)
    sig = significant_counts(model)
    n_ids = 256 * H + H * H + H * 256
    notes = []
    y = xs[1:].astype(np.int64)
    Py = r["P"][np.arange(m), y]
    with np.errstate(divide="ignore"):
        nl = -em.log(Py)
    if paper:
        s = 0.0
        for v in nl:
            s += float(v)
        bpc = s / (m * LN2)
        notes.append("bpc is q1_sparsity's unclamped -ln P / ln 2 over n-1 predictions; 'positions_printed' "
                     "is n as the program prints it (DEFINITIONS 1.2 quirk).")
    else:
        bpc = float(np.mean(-em.log2(np.maximum(Py, 1e-30))))
        notes.append("corrected: bpc clamped at P >= 1e-30 like every other program, double arithmetic.")
    dist, klass = [], []
    for k, tau in enumerate(r["taus"]):
        col = tot[:, k]
        srt = np.sort(col)
        if paper:
            mean_n = _f32_mean(int(col.sum()), m)
            median = int(srt[m // 2])
        else:
            mean_n = float(col.sum() / m)
            median = float(np.median(col))
        row = {"tau": float(tau), "mean_n": mean_n, "median": median, "min": int(col.min()),
               "max": int(col.max()),
               "n_over_sig": float(np.float32(np.float32(mean_n) / np.float32(sig["total"]))) if paper
               else mean_n / sig["total"]}
        if not paper:
            row["n_over_ids"] = mean_n / n_ids
        dist.append(row)
        cls = {"tau": float(tau)}
        for c, name in enumerate(CLASSES):
            sc = int(counts[:, c, k].sum())
            cls["mean_" + name] = _f32_mean(sc, m) if paper else sc / m
        total_active = int(col.sum())
        cls["share_Wh"] = (int(counts[:, 1, k].sum()) / total_active) if total_active else None
        klass.append(cls)
    if paper:
        notes.append("n_over_sig divides a count over all 81,920 IDs by the number of |w| > 0.01 weights; "
                     "it is not a fraction (DEFINITIONS 1.4 quirk).")
        notes.append("median is element m//2 of the sorted per-position counts (index 511 for 1023).")
    # never active
    ever = {"Wx": r["ever_x"], "Wh": r["ever_h"], "Wy": r["ever_y"]}
    never = {"tau": EVER_TAU}
    for c in CLASSES:
        never[c] = int((~ever[c]).sum())
    never["total"] = never["Wx"] + never["Wh"] + never["Wy"]
    never["of"] = {"Wx": 256 * H, "Wh": H * H, "Wy": H * 256, "total": n_ids}
    in_bytes = np.unique(xs[: n - 1] if not paper else xs[: max(0, n - 2)])
    out_bytes = np.unique(xs[1:])
    occ_x = ever["Wx"][in_bytes]
    occ_y = ever["Wy"][:, out_bytes]
    never["occurring"] = {
        "Wx": int((~occ_x).sum()), "Wx_of": int(occ_x.size), "input_bytes": int(in_bytes.size),
        "Wy": int((~occ_y).sum()), "Wy_of": int(occ_y.size), "target_bytes": int(out_bytes.size),
        "Wh": never["Wh"], "Wh_of": H * H}
    notes.append(f"never-active Wx/Wy counts include the 128 IDs of each byte that cannot occur as an input "
                 f"({256 - in_bytes.size} bytes) or target ({256 - out_bytes.size} bytes); 'occurring' restricts "
                 f"to bytes that can (DEFINITIONS 1.6).")
    # depth profile
    mass = r["mass"]
    prof = []
    if paper:
        s0 = 0.0
        for v in mass[:, 0]:
            s0 += float(v)
        M0 = s0 / m
        notes.append("depth profile: d = 0 is sum_j |g_t[j]| (no weight factor), d >= 1 is sum_j |Wx[j, x_{t-d}] "
                     "b_j| (weighted): fraction_of_d0 mixes units (DEFINITIONS 1.7 quirk).")
    else:
        M0 = float(np.sum(r["mass_input0"]) / m)
        notes.append("corrected depth profile: d = 0 is the offset-0 input mass sum_j |Wx[j, x_t] (1 - h_t^2)_j "
                     "g_t[j]|, same units as d >= 1; output_gradient_mass is sum_j |g_t[j]|.")
    prof.append({"d": 0, "mean_mass": M0, "count": m, "fraction_of_d0": 1.0 if M0 else None})
    for d in range(1, mass.shape[1]):
        cnt = m - d
        if cnt <= 0:
            break
        s = 0.0
        for v in mass[d:, d]:
            s += float(v)
        Md = s / cnt
        prof.append({"d": d, "mean_mass": Md, "count": cnt, "fraction_of_d0": Md / M0 if M0 else None})
    if paper:
        notes.append("Wx scores lack the tanh derivative of step t-d and x_t gets no offset-0 score "
                     "(DEFINITIONS 1.3 quirks i-ii); see --variant corrected.")
    notes.append("seed 000's method text scores Wy as |g_j| times an indicator that h_j has the correct sign; "
                 "q1_sparsity.c (both variants here) uses |g_t[j]| with no indicator (DEFINITIONS 1.3 step 2). "
                 "Predictions are t = 0..n-2, not 0..n-1.")
    cost = nl / LN2
    k01 = int(np.argmin(np.abs(np.asarray(r["taus"], dtype=np.float64) - EVER_TAU)))
    rho = spearman(tot[:, k01], cost)
    peak = max(prof[1:], key=lambda row: row["mean_mass"]) if len(prof) > 1 else None
    structural = {
        "t0_only_Wy_nonzero": bool((counts[0, 0] == 0).all() and (counts[0, 1] == 0).all()) if paper else None,
        "depth_profile_peak_d": peak["d"] if peak else None,
        "depth_profile_peak_fraction": peak["fraction_of_d0"] if peak else None,
        "output_gradient_mass_mean": float(np.mean(mass[:, 0])),
        "count_cost_spearman": {"tau": float(r["taus"][k01]), "rho": rho},
        "mean_cost_bits_above_median_count": _mean_or_none(cost[tot[:, k01] > np.median(tot[:, k01])]),
        "mean_cost_bits_at_or_below_median_count": _mean_or_none(cost[tot[:, k01] <= np.median(tot[:, k01])]),
        "Wh_ever_active_fraction": float(ever["Wh"].mean()),
    }
    return {"variant": variant, "notes": notes, "significant": sig,
            "forward": {"bpc": float(bpc), "positions_printed": int(n), "predictions": int(m)},
            "max_depth": int(mass.shape[1] - 1), "distribution": dist, "class_breakdown": klass,
            "never_active": never, "depth_profile": prof, "structural": structural}
