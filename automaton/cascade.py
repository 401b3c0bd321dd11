"""Flip cascades (damage spreading) of the sign automaton along a data trajectory, and Derrida curves.

Alignment: states[t] is the sign state after reading x_t (row t of a trajectory). A flip of neuron j "at
step t" negates bit j of states[t]; both copies then read x_{t+1}, ..., x_{t+k} and d_s is the Hamming
distance after s of those steps (s = 1..k). d_1 is q1_boolean's one-step flip sensitivity c_j (DEFINITIONS
3.3); the bit j itself is not excluded (it is recomputed like every other bit).

Fates after k steps: died (d_k = 0; equal states stay equal, so the flip has healed for good), persisted
(d_k = 1), spread (d_k > 1).

Derrida curve: for pairs (a, b) with Hamming(a, b) = d, D(d) = mean Hamming(B(a, x), B(b, x)); the Derrida
coefficient is the slope at d = 1, i.e. D(1) (D(0) = 0). Confidence intervals are normal 95% intervals
(mean +- 1.96 standard errors): over independent pairs for sampled curves, and clustered by time step
(standard error of the per-t means) for the exhaustive along-data value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from satrnn.automaton.bitset import n_words, pack, popcount64, unpack
from satrnn.automaton.cycles import trajectory
from satrnn.automaton.sign import _new_parts, _new_scratch, _step, _step_work, step_work
from satrnn.automaton.slices import run_jobs
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import run_states
from satrnn.rnn.numba_config import njit
from satrnn.rnn.record import Record, key

Z95 = 1.959963984540054


# ---- kernel -------------------------------------------------------------------------------------

# A job's position, saved between slices: P = [r, u, s, cur, fb] (flip step, run u = -1 base or the flipped
# neuron, steps done in the run, the register row holding its state, fallbacks of flip step r so far).
P_R, P_U, P_S, P_CUR, P_FB = range(5)


@njit
def _cascade(T, states, xs, t_idx, k, out, fallbacks, R, base, P, limit):
    """out[r, j, s] = d_{s+1} for the flip of neuron j at step t = t_idx[r] (inputs xs[t+1..t+k]).

    Per r, run u = -1 is the unflipped base (its k states kept in `base` (k, W)), runs u = 0..H-1 the flips
    of neuron u; one step site, the states in a register array R (2, W) (rows 0, 1 used alternately).
    Resumable: runs from position P (a fresh job: P = [0, -1, 0, 0, 0]) until the step whose work reaches
    `limit` units (`sign._step_work`) or the end (P[P_R] == t_idx.size); returns (steps, work) done. R,
    base and P carry the job between calls, so the results do not depend on where it stopped."""
    W = T.W
    H = T.H
    z = _new_scratch(T)
    parts = _new_parts(T)
    r, u, s, cur, fb = P[P_R], P[P_U], P[P_S], P[P_CUR], P[P_FB]
    steps = 0
    work = 0
    while r < t_idx.shape[0] and work < limit:
        t = t_idx[r]
        if s == 0:          # a run starts: its state is the trajectory's, neuron u flipped
            for q in range(W):
                R[0, q] = states[t, q]
            if u >= 0:
                R[0, u >> 6] ^= np.uint64(1) << np.uint64(u & 63)
            cur = 0
        x = np.int64(xs[t + 1 + s])
        f = _step(T, R, cur, 1 - cur, x, z, parts)
        fb += f
        work += _step_work(T, f)
        steps += 1
        cur = 1 - cur
        if u < 0:
            for q in range(W):
                base[s, q] = R[cur, q]
            s += 1
        else:
            d = 0
            for q in range(W):
                d += popcount64(R[cur, q] ^ base[s, q])
            out[r, u, s] = d
            s += 1
            if d == 0:      # identical states stay identical under identical inputs
                for s2 in range(s, k):
                    out[r, u, s2] = 0
                s = k
        if s == k:          # the run is over: the next neuron, or the next flip step
            s = 0
            u += 1
            if u == H:
                fallbacks[r] = fb
                fb = 0
                u = -1
                r += 1
    P[P_R], P[P_U], P[P_S], P[P_CUR], P[P_FB] = r, u, s, cur, fb
    return steps, work


# ---- trajectories ------------------------------------------------------------------------------------

def sign_trajectory(automaton, xs, start=None) -> np.ndarray:
    """(n, W) sign dynamics driven by the text: row t = B(row t-1, x_t); row -1 = start (default all -1,
    i.e. all-zero bits, q1_boolean's beta_{-1}; note the float RNN's h = 0 has sign +1)."""
    xs = check_text(xs)
    W = n_words(automaton.H)
    s0 = np.zeros(W, dtype=np.uint64) if start is None else np.asarray(start, dtype=np.uint64)
    return trajectory(automaton, s0, xs.reshape(1, -1), xs.shape[0])


def float_sign_trajectory(model, xs) -> tuple[np.ndarray, np.ndarray]:
    """(states (n, W), zs (n, H)): sigma(h_t) of the float32 reference forward (h_{-1} = 0) and the
    pre-activations that produced them."""
    hs, zs = run_states(model, check_text(xs), precision="f32")
    return pack(hs), zs


def check_text(xs) -> np.ndarray:
    a = np.asarray(xs)
    if a.ndim != 1 or a.shape[0] < 2:
        raise SatrnnInputError("text must be a 1-D byte sequence with at least 2 bytes")
    if a.dtype.kind not in "iu" or a.min() < 0 or a.max() > 255:
        raise SatrnnInputError("text bytes must be integers in 0..255")
    return np.ascontiguousarray(a, dtype=np.uint8)


# ---- cascades ----------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Cascades:
    """d (m, H, k) Hamming distances (d[r, j, s] = d_{s+1} after flipping neuron j at step t[r]); t (m,) flip
    steps; x_next (m,) first input after the flip (x_{t+1}); k steps followed; fallbacks of the automaton."""

    d: np.ndarray
    t: np.ndarray
    x_next: np.ndarray
    k: int
    fallbacks: int


CASCADE_WORK = 1 << 28      # work units per job of `flip_cascades` (2^17 steps at H = 128); each job runs
                            # in slices of about 0.1 s at any H (`slices.run_jobs`)


def flip_cascades(automaton, states, xs, k: int, t_idx=None) -> Cascades:
    """Flip every neuron at every step t in t_idx (default all t with t + k <= n - 1) and run k steps."""
    xs = check_text(xs)
    n = xs.shape[0]
    H = automaton.H
    k = int(k)
    if not 1 <= k <= n - 1:
        raise SatrnnInputError(f"--k must be between 1 and {n - 1} (text length - 1), got {k}")
    if t_idx is None:
        t_idx = np.arange(0, n - k, dtype=np.int64)
    t_idx = np.ascontiguousarray(t_idx, dtype=np.int64)
    if t_idx.size and (t_idx.min() < 0 or t_idx.max() + k > n - 1 or t_idx.max() >= states.shape[0]):
        raise SatrnnInputError("flip steps must satisfy 0 <= t and t + k <= n - 1")
    m = t_idx.shape[0]
    out = np.zeros((m, H, k), dtype=np.int32)
    fb = np.zeros(m, dtype=np.int64)
    states = np.ascontiguousarray(states, dtype=np.uint64)
    T = automaton.tables
    per = (H + 1) * k                  # steps per flip step t (at most: a healed flip stops early)
    block = max(1, CASCADE_WORK // (per * step_work(T)))
    live: dict[int, tuple] = {}        # job -> (R, base, P) while it runs

    def work(j, limit):
        lo, hi = j * block, min(m, (j + 1) * block)
        if j not in live:
            live[j] = (np.zeros((2, T.W), dtype=np.uint64), np.zeros((k, T.W), dtype=np.uint64),
                       np.array([0, -1, 0, 0, 0], dtype=np.int64))
        R, base, P = live[j]
        steps, used = _cascade(T, states, xs, t_idx[lo:hi], k, out[lo:hi], fb[lo:hi], R, base, P, limit)
        if P[P_R] < hi - lo:
            return False, steps, used
        del live[j]
        return True, steps, used

    run_jobs((m + block - 1) // block, work, total_work=m * float(per) * step_work(T))
    return Cascades(d=out, t=t_idx, x_next=xs[t_idx + 1], k=k, fallbacks=int(fb.sum()))


@dataclass(frozen=True)
class MeanCI(Record):
    """A sample mean with its normal 95% interval (mean +- 1.96 standard errors), the standard error and n."""
    mean: float
    ci95: tuple
    se: float
    n: int


def _mean_ci(samples) -> MeanCI:
    a = np.asarray(samples, dtype=np.float64)
    n = a.size
    m = float(a.mean()) if n else math.nan
    se = float(a.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return MeanCI(mean=m, ci95=(m - Z95 * se, m + Z95 * se), se=se, n=int(n))


@dataclass(frozen=True)
class OneStep(Record):
    """The one-step cascade d_1 over every flip: mean with its interval (clustered by t), median, max and the
    histogram of d_1 = 0..H."""
    mean: float
    ci95: tuple
    ci: str
    median: float
    max: int
    histogram: list


@dataclass(frozen=True)
class ByteCascade(Record):
    """Flips whose next input x_{t+1} is `byte`: how many, and their mean d_1."""
    byte: int
    flips: int
    mean_d1: float


@dataclass(frozen=True)
class FragileFlips(Record):
    """Flips at fragile neuron-steps (a mask given to `cascade_summary`): their mean d_1 and count."""
    mean: float
    flips: int


@dataclass(frozen=True, eq=False)
class CascadeSummary(Record):
    """Aggregates of `flip_cascades`: every neuron j flipped at each of the m steps t, followed k steps.

    flips = m H; k; mean_distance_by_step (k,) (s = 1..k); one_step (d_1, `OneStep`); fates: fractions that
    died (d_k = 0), persisted (d_k = 1) or spread (d_k > 1) after k steps; died_by_step (k,) (fraction with
    d_s = 0); per_neuron_d1, per_neuron_dk (H,); per_byte (by x_{t+1}, mean d_1 descending); per_t_d1 (m,);
    t (m,) the flip steps; fallbacks. Optional parts: one_step_others (d_1 minus the flipped neuron's own
    next bit), fragile_one_step, the trajectory's `start` and `fragile_definition`. distances (m, H, k) int32,
    the raw Hamming distances, is kept out of the JSON. The API's names: `positions` (t as an array),
    `mean_by_step` and `one_step_mean`."""
    flips: int
    k: int
    mean_distance_by_step: list
    one_step: OneStep
    fates: dict
    died_by_step: list
    per_neuron_d1: list
    per_neuron_dk: list
    per_byte: tuple[ByteCascade, ...]
    per_t_d1: list
    t: list
    fallbacks: int
    one_step_others: float | None = key(omit_none=True, default=None)
    fragile_one_step: FragileFlips | None = key(omit_none=True, default=None)
    start: str | None = key(omit_none=True, default=None)
    fragile_definition: str | None = key(omit_none=True, default=None)
    distances: np.ndarray | None = key(json=False, default=None)

    @property
    def positions(self) -> np.ndarray:
        """(m,) int64 flip steps t."""
        return np.asarray(self.t, dtype=np.int64)

    @property
    def mean_by_step(self) -> tuple:
        return tuple(self.mean_distance_by_step)

    @property
    def one_step_mean(self) -> float:
        return float(self.one_step.mean)


def cascade_summary(c: Cascades, H: int, self_bits=None, fragile=None) -> CascadeSummary:
    """Aggregates of `flip_cascades` (see `CascadeSummary`): one_step_others if self_bits (m, H) (1 where the
    flip changes the flipped neuron's own next bit) is given, fragile_one_step if a fragile mask (m, H) is."""
    d = c.d
    m, _, k = d.shape
    d1 = d[:, :, 0]
    dk = d[:, :, k - 1]
    per_t = d1.mean(axis=1)
    clustered = _mean_ci(per_t)
    one = OneStep(mean=float(d1.mean()), ci95=clustered.ci95, ci="normal 95%, clustered by t",
                  median=float(np.median(d1)), max=int(d1.max()),
                  histogram=np.bincount(d1.ravel(), minlength=H + 1)[: H + 1].tolist())
    bytes_ = []
    for b in np.unique(c.x_next):
        sel = c.x_next == b
        bytes_.append(ByteCascade(byte=int(b), flips=int(sel.sum() * H), mean_d1=float(d1[sel].mean())))
    bytes_.sort(key=lambda r: -r.mean_d1)
    return CascadeSummary(
        flips=int(m * H), k=k, mean_distance_by_step=d.mean(axis=(0, 1)).tolist(), one_step=one,
        fates={"died": float((dk == 0).mean()), "persisted": float((dk == 1).mean()),
               "spread": float((dk > 1).mean())},
        died_by_step=(d == 0).mean(axis=(0, 1)).tolist(), per_neuron_d1=d1.mean(axis=0).tolist(),
        per_neuron_dk=dk.mean(axis=0).tolist(), per_byte=tuple(bytes_), per_t_d1=per_t.tolist(), t=c.t.tolist(),
        fallbacks=c.fallbacks,
        one_step_others=float((d1 - self_bits).mean()) if self_bits is not None else None,
        fragile_one_step=(FragileFlips(mean=float(d1[fragile].mean()), flips=int(fragile.sum()))
                          if fragile is not None and fragile.any() else None),
        distances=d)


def self_flip_bits(automaton, states, xs, t_idx) -> np.ndarray:
    """(m, H) 1 where flipping neuron j at step t changes neuron j's own next bit (d_1 counts it)."""
    H = automaton.H
    m = len(t_idx)
    a = np.repeat(states[t_idx], H, axis=0)
    jj = np.tile(np.arange(H), m)
    a[np.arange(m * H), jj >> 6] ^= np.uint64(1) << (jj & 63).astype(np.uint64)
    xin = np.repeat(np.asarray(xs, dtype=np.uint8)[np.asarray(t_idx) + 1], H)
    fl = step_many(automaton, a, xin)
    base = np.repeat(step_many(automaton, np.ascontiguousarray(states[t_idx]), xin[::H]), H, axis=0)
    diff = unpack(fl ^ base, H)
    return diff[np.arange(m * H), jj].reshape(m, H).astype(np.int32)


def step_many(automaton, a, xs) -> np.ndarray:
    """B(a[r], xs[r]) for rows r: (m, W) -> (m, W)."""
    return automaton.step_rows(a, xs)


# ---- Derrida curve ---------------------------------------------------------------------------------

def _flip_masks(rng, m: int, H: int, d: int) -> np.ndarray:
    """m packed masks with exactly d random bits set."""
    idx = np.argsort(rng.random((m, H)), axis=1)[:, :d]
    bits = np.zeros((m, H), dtype=bool)
    np.put_along_axis(bits, idx, True, axis=1)
    return pack(bits)


@dataclass(frozen=True)
class DerridaCurve(Record):
    """The Derrida map D(d): mean Hamming distance after one step between a state and a copy with d random
    neurons negated, from `pairs` pairs per d. source: "random" (uniform states, input x_{t+1} at a uniform t)
    or "data" (a = sigma(h_t) along the data); d, mean, ci95 per d (normal, iid pairs); derrida_coefficient:
    the slope at d = 1 (`MeanCI`; None when d = 1 was not sampled); seed. The API's names: `coefficient`
    and `coefficient_ci95`."""
    source: str
    pairs: int
    seed: int
    d: tuple
    mean: tuple
    ci95: tuple
    derrida_coefficient: MeanCI | None
    ci: str

    @property
    def coefficient(self) -> float:
        return self.derrida_coefficient.mean if self.derrida_coefficient is not None else math.nan

    @property
    def coefficient_ci95(self) -> tuple:
        return tuple(self.derrida_coefficient.ci95) if self.derrida_coefficient is not None else (math.nan,) * 2


def derrida_curve(automaton, xs, states=None, pairs: int = 200, seed: int = 0, ds=None) -> DerridaCurve:
    """D(d) for d in ds (default 1..H) from `pairs` sampled pairs per d (see `DerridaCurve`).

    states None: random pairs (a uniform over {-1,+1}^H, input x_{t+1} at a uniform random t);
    else along the data: a = states[t] at a uniform random t in 0..n-2, input x_{t+1}. b = a with d
    distinct random neurons negated.
    """
    xs = check_text(xs)
    H = automaton.H
    n = xs.shape[0]
    rng = np.random.default_rng(seed)
    ds = list(range(1, H + 1)) if ds is None else [int(v) for v in ds]
    means, cis, raw1 = [], [], None
    for d in ds:
        t = rng.integers(0, n - 1, size=pairs)
        if states is None:
            a = pack(rng.random((pairs, H)) < 0.5)
        else:
            a = np.ascontiguousarray(states[t])
        b = a ^ _flip_masks(rng, pairs, H, d)
        xin = xs[t + 1]
        dist = np.bitwise_count(step_many(automaton, a, xin) ^ step_many(automaton, b, xin)).sum(axis=1)
        s = _mean_ci(dist)
        means.append(s.mean)
        cis.append(s.ci95)
        if d == 1:
            raw1 = s
    return DerridaCurve(source="random" if states is None else "data", pairs=pairs, seed=seed, d=tuple(ds),
                        mean=tuple(means), ci95=tuple(cis), derrida_coefficient=raw1,
                        ci="normal 95% over independent pairs")
