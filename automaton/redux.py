"""Reduced models ("redux"): readout knockout, Wh/Wx magnitude pruning, and their exact evaluation.

A `Redux` says which readout neurons are kept (the others get a zero Wy column), which Wh and Wx entries
survive (magnitude thresholds, strict `|w| < theta` zeroes as in DEFINITIONS 8.2, or explicit masks), and
optionally which readout inputs are snapped to their sign (DEFINITIONS 7.4). Pruned weights are exact
float32 zeros; bh and by are never touched.

Evaluation is always the bpc of DEFINITIONS 0.5 over the n-1 predictions of x_{t+1} from h_t (h_{-1} = 0),
bit-identical to `rnn.forward.forward(redux.apply(model), xs).bpc`:

- Readout-only changes (kept columns, sign snapping) leave the trajectory untouched, so they are
  evaluated from one cached trajectory (`ReadoutCache`). A logit is a double sum of float32 products
  L[o] = by[o] + sum_j fl32(Wy[o, j] h[j]) in j order. For a cell (t, o) where every product and by[o]
  is a multiple of the smallest float32 ulp q among them and |by| + sum_j max(|term_j|, |Wy[o, j]|) is
  at most 2^52 q, every partial sum of every subset (also with some terms replaced by +-Wy[o, j]) is an
  integer multiple of q below 2^53 q, hence exactly representable: the ordered double sum is exact and
  equals the full logit minus the removed terms. Such cells ("exact cells", almost all of them on the
  published weights) are updated by exact subtraction; the others are recomputed in j order with the
  zeroed columns, exactly as the slow path does. No forward is rerun.
- Dynamics changes (pruned Wh/Wx) rerun the float32 reference recurrence (`rnn.forward`'s kernel) per
  configuration, in parallel over configurations.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from satrnn.automaton.slices import run_jobs
from satrnn.rnn.elementary import tanh_code
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, forward
from satrnn.rnn.forward import forward_kernel as _forward_kernel
from satrnn.rnn.forward import softmax_cost_kernel as _softmax_cost
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit, njit_parallel, prange

COST_FLOOR = 1e-30


# ---- the description -----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Redux:
    """A reduced model, described relative to an original model with H neurons.

    keep: readout neurons whose Wy column is kept (iterable of ids or a bool (H,) mask); None = all.
    wh_threshold / wx_threshold: zero entries with |w| < theta (strict=True, the papers' rule) or
      |w| <= theta (strict=False); None = no pruning. theta = 0 with strict prunes nothing.
    wh_mask / wx_mask: explicit bool masks (True = entry survives), combined with the thresholds by AND.
    snap: readout inputs replaced by +-1.0 (sign of h, +0/-0 count as +), dynamics untouched.
    """

    keep: object = None
    wh_threshold: float | None = None
    wx_threshold: float | None = None
    strict: bool = True
    wh_mask: np.ndarray | None = None
    wx_mask: np.ndarray | None = None
    snap: object = None
    label: str = field(default="", compare=False)

    # -- masks for a concrete model --
    def keep_mask(self, H: int) -> np.ndarray:
        return _neuron_mask(self.keep, H, "keep", default=True)

    def snap_mask(self, H: int) -> np.ndarray:
        return _neuron_mask(self.snap, H, "snap", default=False)

    def wh_keep(self, model: ElmanRNN) -> np.ndarray:
        return _weight_mask(model.Wh, self.wh_threshold, self.strict, self.wh_mask, "Wh")

    def wx_keep(self, model: ElmanRNN) -> np.ndarray:
        return _weight_mask(model.Wx, self.wx_threshold, self.strict, self.wx_mask, "Wx")

    @property
    def changes_dynamics(self) -> bool:
        return (self.wh_threshold is not None or self.wx_threshold is not None
                or self.wh_mask is not None or self.wx_mask is not None)

    def apply(self, model: ElmanRNN) -> ElmanRNN:
        """The masked full-size model (zeroed Wy columns and pruned entries are exact +0.0f).

        Sign snapping is a readout-input change, not a weight change, so it cannot be applied here.
        """
        if self.snap_mask(model.H).any():
            raise SatrnnInputError("a redux with sign-snapped readout inputs is not a weight change")
        zero = np.float32(0.0)
        Wy = np.where(self.keep_mask(model.H)[None, :], model.Wy, zero).astype(np.float32)
        Wh = np.where(self.wh_keep(model), model.Wh, zero).astype(np.float32)
        Wx = np.where(self.wx_keep(model), model.Wx, zero).astype(np.float32)
        meta = dict(model.meta)
        meta["redux"] = self.describe(model)
        return model.replace(Wx=Wx, Wh=Wh, Wy=Wy, meta=meta)

    def describe(self, model: ElmanRNN) -> dict:
        """JSON-able summary with exact counts of what survives."""
        keep = self.keep_mask(model.H)
        whk, wxk = self.wh_keep(model), self.wx_keep(model)
        return {"label": self.label, "kept_readout": [int(j) for j in np.flatnonzero(keep)],
                "n_kept_readout": int(keep.sum()), "wh_threshold": self.wh_threshold,
                "wx_threshold": self.wx_threshold, "strict": bool(self.strict),
                "wh_kept": int(whk.sum()), "wx_kept": int(wxk.sum()),
                "snapped": [int(j) for j in np.flatnonzero(self.snap_mask(model.H))]}

    def param_count(self, model: ElmanRNN) -> dict:
        """Surviving parameters counted as DEFINITIONS 8.4 does: all of Wx that survives, kept Wh
        entries, bh, 256 per kept readout column, by."""
        H = model.H
        k = int(self.keep_mask(H).sum())
        wx, wh = int(self.wx_keep(model).sum()), int(self.wh_keep(model).sum())
        total = wx + wh + H + 256 * k + 256
        return {"Wx": wx, "Wh": wh, "bh": H, "Wy": 256 * k, "by": 256, "total": total,
                "full": model.n_params, "pct_of_full": 100.0 * total / model.n_params}


def _neuron_mask(spec, H: int, name: str, default: bool) -> np.ndarray:
    if spec is None:
        return np.full(H, default, dtype=bool)
    a = np.asarray(spec)
    if a.dtype == bool:
        if a.shape != (H,):
            raise SatrnnInputError(f"{name} mask has shape {a.shape}, expected ({H},)")
        return a.copy()
    a = a.ravel()
    if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= H):
        raise SatrnnInputError(f"{name} neuron ids must be integers in 0..{H - 1}")
    m = np.zeros(H, dtype=bool)
    m[a.astype(np.int64)] = True
    return m


def _weight_mask(W: np.ndarray, theta, strict: bool, mask, name: str) -> np.ndarray:
    keep = np.ones(W.shape, dtype=bool)
    if theta is not None:
        if not math.isfinite(float(theta)) or float(theta) < 0:
            raise SatrnnInputError(f"{name} threshold must be a finite number >= 0, got {theta}")
        th = np.float32(theta)  # the papers compare float32 magnitudes with a float32 threshold
        a = np.abs(W)
        keep &= (a >= th) if strict else (a > th)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != W.shape or m.dtype != bool:
            raise SatrnnInputError(f"{name} mask must be a bool array of shape {W.shape}")
        keep &= m
    return keep


# ---- readout-only evaluation from a cached trajectory ------------------------------------------

READOUT_WORK = 1 << 25     # multiply-adds per call of `_full_logits` (about 0.1 s on one core at any H)

@njit
def _exp_field(x):
    """Biased exponent field of a non-zero float32, at least 1 (subnormals share the ulp of 2^-126)."""
    e = (np.int64(np.float32(x).view(np.uint32)) >> 23) & 0xFF
    return max(e, 1)


@njit_parallel
def _full_logits(Wy, by, hs, L, exact):
    """L[t, o] in the reference order and the exact-cell flags (see module docstring).

    The float32 ulp of a non-zero value with biased exponent field e is 2^(max(e, 1) - 150), so the
    smallest ulp among a cell's terms comes from the smallest exponent field. The magnitude bound
    |by| + sum_j max(|term_j|, |Wy[o, j]|) is computed per cell.
    """
    m, H = hs.shape
    emin_w = np.empty(256, dtype=np.int64)
    for o in range(256):
        e = 255
        if by[o] != 0:
            e = _exp_field(by[o])
        for j in range(H):
            if Wy[o, j] != 0:
                e = min(e, _exp_field(Wy[o, j]))
        emin_w[o] = e
    for t in prange(m):
        for o in range(256):
            acc = np.float64(by[o])
            bound = abs(acc)
            e = emin_w[o]
            for j in range(H):
                p = Wy[o, j] * hs[t, j]  # float32 product, rounded
                acc += p
                if p != 0:
                    e = min(e, _exp_field(p))
                bound += max(abs(np.float64(p)), abs(np.float64(Wy[o, j])))
            L[t, o] = acc
            # all terms zero (e = 255): the sum is exact; otherwise bound <= 2^52 q (2x margin over
            # 2^53 q absorbs the rounding of `bound` itself)
            exact[t, o] = e == 255 or bound <= math.ldexp(1.0, e - 150 + 52)


@njit_parallel
def _readout_configs(Wy, WyT, by, hs, targets, Lfull, inexact_idx, inexact_ptr, keep, snap, any_snap,
                     chg_idx, chg_ptr, use_delta, clamp, force_ordered, costs):
    """costs[c, t] for readout-only configurations c (keep/snap (C, H)), one trajectory hs (m, H).

    Exact cells: the full logit plus the exact differences of the changed columns chg_idx[chg_ptr[c]:
    chg_ptr[c+1]] (use_delta[c]) or the exact sum of the new terms. The inexact cells of row t
    (inexact_idx[inexact_ptr[t]:inexact_ptr[t+1]]; all cells with force_ordered) are recomputed as the
    reference does: the ordered sum with zeroed columns. prange over t; outputs are disjoint.
    """
    m, H = hs.shape
    C = keep.shape[0]
    for t in prange(m):
        L = np.empty(256, dtype=np.float64)
        v = np.empty(H, dtype=np.float32)
        zero = np.float32(0.0)
        for c in range(C):
            for j in range(H):
                v[j] = hs[t, j]
            if any_snap[c]:
                for j in range(H):
                    if snap[c, j]:
                        v[j] = np.float32(1.0) if hs[t, j] >= 0 else np.float32(-1.0)
            if force_ordered:
                for o in range(256):
                    acc = np.float64(by[o])
                    for j in range(H):
                        w = Wy[o, j] if keep[c, j] else zero
                        acc += w * v[j]
                    L[o] = acc
            else:
                if use_delta[c]:
                    for o in range(256):
                        L[o] = Lfull[t, o]
                    for k in range(chg_ptr[c], chg_ptr[c + 1]):
                        j = chg_idx[k]
                        hj = hs[t, j]
                        for o in range(256):
                            L[o] -= WyT[j, o] * hj
                        if keep[c, j]:
                            vj = v[j]
                            for o in range(256):
                                L[o] += WyT[j, o] * vj
                else:
                    for o in range(256):
                        L[o] = np.float64(by[o])
                    for j in range(H):
                        if keep[c, j]:
                            vj = v[j]
                            for o in range(256):
                                L[o] += WyT[j, o] * vj
                for k in range(inexact_ptr[t], inexact_ptr[t + 1]):
                    o = inexact_idx[k]
                    acc = np.float64(by[o])
                    for j in range(H):
                        w = Wy[o, j] if keep[c, j] else zero
                        acc += w * v[j]
                    L[o] = acc
            costs[c, t] = _softmax_cost(L, targets[t], clamp)


@njit
def _means(costs, out):
    """Row means, each summed in t order (the papers' bpc accumulation)."""
    for c in range(costs.shape[0]):
        s = 0.0
        for t in range(costs.shape[1]):
            s += costs[c, t]
        out[c] = s / costs.shape[1]


class ReadoutCache:
    """One reference trajectory and its full logits, for exact readout-only evaluations.

    hs: (n, H) float32 states (row t = after x_t); the readout uses rows 0..n-2 against x_1..x_{n-1}.
    """

    def __init__(self, model: ElmanRNN, xs, clamp: bool = True, forward_result=None):
        xs = as_bytes(xs)
        if xs.shape[0] < 2:
            raise SatrnnInputError(f"text has {xs.shape[0]} byte(s); at least 2 are needed for a prediction")
        r = forward_result if forward_result is not None else forward(model, xs, clamp=clamp)
        if r.hs.shape != (xs.shape[0], model.H) or r.hs.dtype != np.float32:
            raise SatrnnInputError("cached forward result does not match the model and text")
        self.model, self.xs, self.clamp = model, xs, clamp
        self.hs = np.ascontiguousarray(r.hs[:-1])
        self.targets = np.ascontiguousarray(xs[1:])
        self.baseline = float(r.bpc)
        m = self.hs.shape[0]
        self.L = np.empty((m, 256), dtype=np.float64)
        self.exact = np.empty((m, 256), dtype=np.bool_)
        # in blocks of positions (rows are independent): each call is about READOUT_WORK multiply-adds, so
        # Ctrl-C is honoured within a fraction of a second at any H
        step = max(1, READOUT_WORK // (256 * model.H))
        for a in range(0, m, step):
            b = min(m, a + step)
            _full_logits(model.Wy, model.by, self.hs[a:b], self.L[a:b], self.exact[a:b])
        if model.vocab is not None:       # bytes outside the vocabulary: logit -inf, probability exactly 0
            self.L[:, ~model.vocab_mask()] = -np.inf
        self._by64 = model.readout_bias64()
        self._WyT = np.ascontiguousarray(model.Wy.T)
        t_idx, o_idx = np.nonzero(~self.exact)
        self._inexact_idx = np.ascontiguousarray(o_idx, dtype=np.int64)
        self._inexact_ptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(t_idx, minlength=m), out=self._inexact_ptr[1:])

    @property
    def H(self) -> int:
        return self.model.H

    @property
    def exact_fraction(self) -> float:
        """Fraction of (t, o) logit cells updated by exact subtraction (the rest are recomputed)."""
        return float(self.exact.mean())

    def bpcs(self, keep: np.ndarray, snap: np.ndarray | None = None, force_ordered: bool = False,
             return_costs: bool = False, chunk: int = 32, on_chunk=None):
        """bpc of each readout configuration: keep (C, H) bool kept columns, snap (C, H) sign-snapped.

        Identical to `forward(model with zeroed columns)` (and, for snap, to the readout of the
        sign-replaced states). `on_chunk(n_done)` is called after each chunk of configurations.
        """
        keep = np.ascontiguousarray(np.atleast_2d(keep), dtype=np.bool_)
        H = self.H
        if keep.ndim > 2:
            raise SatrnnInputError(f"keep masks must have shape (C, {H}), got {keep.shape}")
        if keep.ndim != 2 or keep.shape[1] != H:
            raise SatrnnInputError(f"keep masks must have shape (C, {H}), got {keep.shape}")
        snap = (np.zeros_like(keep) if snap is None
                else np.ascontiguousarray(np.atleast_2d(snap), dtype=np.bool_))
        if snap.shape != keep.shape:
            raise SatrnnInputError(f"snap masks must have shape {keep.shape}, got {snap.shape}")
        C, m = keep.shape[0], self.hs.shape[0]
        costs = np.empty((C, m), dtype=np.float64)
        inexact_per_t = self._inexact_idx.shape[0] / max(1, m)
        n_chunks = -(-C // chunk)
        pos = {}                       # chunk -> (its arguments, work per position, next position)

        def work(j, limit):
            # a chunk of configurations over a slice of positions (costs[c, t] are independent per t)
            if j not in pos:
                lo, hi = j * chunk, min(C, (j + 1) * chunk)
                k, s = keep[lo:hi], snap[lo:hi]
                changed = ~k | s
                counts = changed.sum(axis=1)
                ptr = np.zeros(hi - lo + 1, dtype=np.int64)
                np.cumsum(counts, out=ptr[1:])
                idx = np.ascontiguousarray(np.nonzero(changed)[1], dtype=np.int64)
                # Subtracting a few changed columns beats resumming the kept ones; both are exact.
                use_delta = counts <= (H + 1) // 2
                cols = np.where(use_delta, counts, k.sum(axis=1))
                per_t = 256 * H * (hi - lo) if force_ordered else \
                    int(256 * (cols + 1).sum() + inexact_per_t * H * (hi - lo))
                pos[j] = ((k, s, s.any(axis=1), idx, ptr, use_delta, lo, hi), max(1, per_t), 0)
            (k, s, any_s, idx, ptr, use_delta, lo, hi), per_t, a = pos[j]
            b = min(m, a + max(1, limit // per_t))
            block = np.empty((hi - lo, b - a), dtype=np.float64)
            _readout_configs(self.model.Wy, self._WyT, self._by64, self.hs[a:b], self.targets[a:b], self.L[a:b],
                             self._inexact_idx, self._inexact_ptr[a:b + 1], k, s, any_s, idx, ptr, use_delta,
                             self.clamp, force_ordered, block)
            costs[lo:hi, a:b] = block
            pos[j] = (pos[j][0], per_t, b)
            if b < m:
                return False, b - a, (b - a) * per_t
            del pos[j]
            if on_chunk is not None:
                on_chunk(hi)
            return True, b - a, (b - a) * per_t

        # one chunk at a time (the kernel is parallel over positions), in slices of positions
        run_jobs(n_chunks, work, threads=1)
        out = np.empty(C, dtype=np.float64)
        _means(costs, out)
        return (out, costs) if return_costs else out

    def knockout_bpcs(self, on_chunk=None) -> np.ndarray:
        """bpc with each single neuron's Wy column zeroed, (H,)."""
        return self.bpcs(~np.eye(self.H, dtype=bool), on_chunk=on_chunk)

    def sign_only_bpcs(self, on_chunk=None) -> np.ndarray:
        """bpc with each single neuron's readout input replaced by its sign (DEFINITIONS 7.4), (H,)."""
        H = self.H
        return self.bpcs(np.ones((H, H), dtype=bool), np.eye(H, dtype=bool), on_chunk=on_chunk)


# ---- dynamics changes: rerun the recurrence per configuration -----------------------------------

@njit
def _eval_dynamics(Wx, WhT, bh, Wy, by, xs, clamp, sem, costs, h, a, b):
    """One configuration, bytes a..b-1: the reference float32 recurrence with Wx, WhT from h (the state
    after byte a - 1; zeros for a = 0; updated in place to the state after byte b - 1), then the readout with
    Wy in the reference order (tanh semantics code sem); costs[t] for a <= t < min(b, n - 1). A text runs in
    any pieces with identical results (configurations run as jobs on threads, each in slices: `evaluate_many`)."""
    n = xs.shape[0]
    H = bh.shape[0]
    hs = np.empty((b - a, H), dtype=np.float32)
    zs = np.empty((b - a, H), dtype=np.float32)
    _forward_kernel(Wx, WhT, bh, xs[a:b], h, hs, zs, sem)
    for j in range(H):
        h[j] = hs[b - a - 1, j]
    L = np.empty(256, dtype=np.float64)
    for t in range(a, min(b, n - 1)):
        for o in range(256):
            acc = np.float64(by[o])
            for j in range(H):
                acc += Wy[o, j] * hs[t - a, j]
            L[o] = acc
        costs[t] = _softmax_cost(L, xs[t + 1], clamp)


def evaluate_many(model: ElmanRNN, xs, reduxes, cache: ReadoutCache | None = None, clamp: bool = True,
                  on_done=None) -> np.ndarray:
    """bpc of every redux (float64 (len(reduxes),)), each identical to forward(redux.apply(model)).

    Readout-only reduxes use the cached trajectory; the others rerun the recurrence in parallel.
    `on_done(k)` reports progress (number of configurations finished).
    """
    xs = as_bytes(xs)
    if xs.shape[0] < 2:
        raise SatrnnInputError(f"text has {xs.shape[0]} byte(s); at least 2 are needed for a prediction")
    reduxes = list(reduxes)
    H = model.H
    out = np.empty(len(reduxes), dtype=np.float64)
    # A threshold that prunes nothing (e.g. theta = 0, strict) leaves the dynamics as they are.
    prunes = [r.changes_dynamics and not (r.wh_keep(model).all() and r.wx_keep(model).all()) for r in reduxes]
    ro = [i for i, p in enumerate(prunes) if not p]
    dyn = [i for i, p in enumerate(prunes) if p]
    done = 0
    if ro:
        if cache is None:
            cache = ReadoutCache(model, xs, clamp=clamp)
        elif cache.clamp != clamp or not np.array_equal(cache.xs, xs) or cache.model is not model:
            raise SatrnnInputError("readout cache was built for another model, text or cost convention")
        keep = np.array([reduxes[i].keep_mask(H) for i in ro]).reshape(len(ro), H)
        snap = np.array([reduxes[i].snap_mask(H) for i in ro]).reshape(len(ro), H)
        out[ro] = cache.bpcs(keep, snap)
        done += len(ro)
        if on_done:
            on_done(done)
    for i in dyn:
        if reduxes[i].snap_mask(H).any():
            raise SatrnnInputError("sign snapping cannot be combined with pruned dynamics")
    n_ro = done

    n = xs.shape[0]
    by64 = model.readout_bias64()       # dbl(by), -inf outside the vocabulary
    per_byte = H * H + 256 * H          # work units of one byte (recurrence and readout multiply-adds)
    live: dict[int, tuple] = {}         # job -> (masked weights, h, costs, next byte) while it runs

    def work(j, limit):
        if j not in live:
            m = reduxes[dyn[j]].apply(model)
            live[j] = ((np.ascontiguousarray(m.Wx), np.ascontiguousarray(m.Wh.T), np.ascontiguousarray(m.Wy)),
                       np.zeros(H, dtype=np.float32), np.empty((1, n - 1), dtype=np.float64), 0)
        (Wx, WhT, Wy), h, costs, a = live[j]
        b = min(n, a + max(1, limit // per_byte))
        _eval_dynamics(Wx, WhT, model.bh, Wy, by64, xs, clamp, tanh_code(model.tanh), costs[0], h, a, b)
        if b < n:
            live[j] = ((Wx, WhT, Wy), h, costs, b)
            return False, b - a, (b - a) * per_byte
        del live[j]
        mean = np.empty(1, dtype=np.float64)
        _means(costs, mean)
        out[dyn[j]] = mean[0]
        return True, b - a, (b - a) * per_byte

    # one configuration per job, on threads (each writes only its own entry of out), in slices of text
    run_jobs(len(dyn), work, threads=None if len(dyn) > 1 else 1,
             on_progress=None if on_done is None else lambda jobs, _: on_done(n_ro + jobs))
    return out


def evaluate(model: ElmanRNN, xs, redux: Redux, cache: ReadoutCache | None = None, clamp: bool = True) -> float:
    """bpc of one redux on a text (identical to forward(redux.apply(model), xs).bpc)."""
    return float(evaluate_many(model, xs, [redux], cache=cache, clamp=clamp)[0])


# ---- a genuinely smaller model ------------------------------------------------------------------

def live_neurons(model: ElmanRNN, redux: Redux) -> np.ndarray:
    """Neurons that can still affect the output: the kept readout neurons with a non-zero Wy column,
    plus every neuron with a path through surviving (non-zero) Wh entries to one of them. Sorted ids."""
    H = model.H
    masked = redux.apply(model)
    targets = redux.keep_mask(H) & (masked.Wy != 0).any(axis=0)
    adj = masked.Wh != 0  # adj[i, j]: j feeds i
    live = targets.copy()
    frontier = np.flatnonzero(targets)
    while frontier.size:
        feeders = adj[frontier].any(axis=0) & ~live
        live |= feeders
        frontier = np.flatnonzero(feeders)
    return np.flatnonzero(live)


def shrink(model: ElmanRNN, redux: Redux) -> ElmanRNN:
    """The masked model restricted to `live_neurons`: a smaller ElmanRNN whose bpc on any text equals
    the masked evaluation (dropped neurons only ever contributed exact zero products).

    meta["neuron_ids"][k] is the original id of new neuron k. With no live neuron, one constant neuron
    (all weights zero) is kept, since a model needs H >= 1; it contributes nothing to the readout.
    """
    masked = redux.apply(model)
    ids = live_neurons(model, redux)
    dummy = ids.size == 0
    if dummy:
        ids = np.array([0], dtype=np.int64)
    Wx, Wh, bh, Wy = masked.Wx[ids], masked.Wh[np.ix_(ids, ids)], masked.bh[ids], masked.Wy[:, ids]
    if dummy:
        Wx, Wh, bh, Wy = (np.zeros_like(a) for a in (Wx, Wh, bh, Wy))
    meta = {k: v for k, v in masked.meta.items() if k not in ("source", "format")}
    meta.update({"neuron_ids": [int(j) for j in ids] if not dummy else [],
                 "source_H": model.H, "source": model.meta.get("source"),
                 "note": "neuron_ids maps each neuron of this model to its original id"})
    return ElmanRNN(Wx=np.ascontiguousarray(Wx), Wh=np.ascontiguousarray(Wh), bh=np.ascontiguousarray(bh),
                    Wy=np.ascontiguousarray(Wy), by=masked.by.copy(), meta=meta, tanh=model.tanh,
                    vocab=masked.vocab)
