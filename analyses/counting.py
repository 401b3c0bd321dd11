"""Counting models: the UM "learning by counting" skip-k-grams (DEFINITIONS Part II 4; seed 003 section 3.4).

Convention (UM): offset d means x_{t-d} when predicting x_t, so offset 1 is the RNN's current input. For an
offset tuple D the scored positions are T_D = {t : max D <= t <= N-1}; the context c_t = (x_{t-d}, d in D) is one
joint context. n(c, y) counts t in T_D with c_t = c and x_t = y.

Paper-compatible ("in-sample"): P(y | c) = n(c, y)/n(c) with the final counts, which include position t
itself; bpc = mean over T_D of -log2 P(x_t | c_t) (the training-set conditional entropy; most deep contexts
occur once and cost 0 bits). Corrected ("sequential"): an adaptive code that predicts x_t from the counts of
positions before t only, with the Krichevsky-Trofimov estimator
P = (n_<t(c, y) + 1/2) / (n_<t(c) + 128) - a real code length, comparable with a model's held-out bpc.
Patterns = distinct (context, next byte) pairs with nonzero count.

All counting is vectorised (sorting / bincount) or in numba kernels; nothing loops over positions in Python.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from satrnn.rnn.elementary import log2_f64, sequential_mean
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes
from satrnn.rnn.numba_config import njit, njit_parallel, prange
from satrnn.rnn.record import Record, key

GREEDY_CAP = 30
GREEDY_STEPS = 8
KT_ALPHA = 0.5
CODES = ("in-sample", "sequential")


def _check_offsets(offsets, n: int) -> tuple[int, ...]:
    D = tuple(int(d) for d in offsets)
    if not D:
        raise SatrnnInputError("give at least one offset")
    if min(D) < 1:
        raise SatrnnInputError("offsets must be >= 1 (offset 1 is the byte just before the predicted one)")
    if len(set(D)) != len(D):
        raise SatrnnInputError(f"offsets must be distinct, got {list(D)}")
    if max(D) > n - 1:
        raise SatrnnInputError(f"offset {max(D)} leaves no position to score in a text of {n} bytes")
    return D


def context_groups(xs, offsets, t0: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions t = t0..N-1 (t0 = max offsets) grouped by their joint context (x_{t-d}, d in offsets).

    Returns (order, grp_ptr): `order` lists the positions t, group by group, t ascending within a group;
    group g is order[grp_ptr[g]:grp_ptr[g+1]]. Up to 7 context bytes are packed into one int64 word, so
    a context of up to 7 offsets costs one stable sort.
    """
    x = as_bytes(xs).astype(np.int64)
    t0 = max(offsets) if t0 is None else t0
    T = np.arange(t0, x.shape[0])
    words = []
    for a in range(0, len(offsets), 7):
        w = np.zeros(T.shape[0], dtype=np.int64)
        for d in offsets[a:a + 7]:
            w = (w << 8) | x[T - d]
        words.append(w)
    order = np.lexsort(words[::-1]) if len(words) > 1 else np.argsort(words[0], kind="stable")
    diff = np.zeros(T.shape[0], dtype=bool)
    for w in words:
        sw = w[order]
        diff[1:] |= sw[1:] != sw[:-1]
    brk = np.flatnonzero(diff[1:]) + 1
    grp_ptr = np.concatenate(([0], brk, [T.shape[0]])).astype(np.int64)
    return (order + t0).astype(np.int64), grp_ptr


@njit
def _count_groups(order, grp_ptr, x, n_cy, n_c, r_cy, r_c):
    """Per position t (indexing the outputs by t): final counts n(c, y), n(c) and the numbers of earlier
    positions with the same (c, y) and c. One scratch table of 256 counts, reset after each group."""
    cnt = np.zeros(256, dtype=np.int64)
    for g in range(grp_ptr.shape[0] - 1):
        lo = grp_ptr[g]
        hi = grp_ptr[g + 1]
        for r in range(lo, hi):
            t = order[r]
            r_c[t] = r - lo
            r_cy[t] = cnt[x[t]]
            cnt[x[t]] += 1
        for r in range(lo, hi):
            t = order[r]
            n_cy[t] = cnt[x[t]]
            n_c[t] = hi - lo
        for r in range(lo, hi):
            cnt[x[order[r]]] = 0


@njit
def _neg_log2_ratio(num, den, out):
    """out = -log2(num / den) with the same log2 as the greedy kernel (satrnn's `log2_f64`: bit-identical
    scores, on every host)."""
    for i in range(num.shape[0]):
        out[i] = -log2_f64(num[i] / den[i])


def skipgram_costs(xs, offsets, code: str = "in-sample") -> tuple[np.ndarray, int, int, float]:
    """Per-position bits over T_D (t ascending), the numbers of patterns and distinct contexts, and the
    share of positions whose context occurs once."""
    if code not in CODES:
        raise SatrnnInputError(f"unknown code {code!r} (use in-sample or sequential)")
    xs = as_bytes(xs)
    D = _check_offsets(offsets, xs.shape[0])
    t0 = max(D)
    order, ptr = context_groups(xs, D, t0)
    n = xs.shape[0]
    n_cy, n_c, r_cy, r_c = (np.zeros(n, dtype=np.int64) for _ in range(4))
    _count_groups(order, ptr, xs.astype(np.int64), n_cy, n_c, r_cy, r_c)
    n_cy, n_c, r_cy, r_c = n_cy[t0:], n_c[t0:], r_cy[t0:], r_c[t0:]
    bits = np.empty(n - t0)
    if code == "in-sample":
        _neg_log2_ratio(n_cy.astype(np.float64), n_c.astype(np.float64), bits)
    else:
        _neg_log2_ratio(r_cy + KT_ALPHA, r_c + 256 * KT_ALPHA, bits)
    patterns = int(np.count_nonzero(r_cy == 0))
    contexts = int(ptr.shape[0] - 1)
    return bits, patterns, contexts, float(np.mean(n_c == 1))


@dataclass(frozen=True)
class SkipgramModel(Record):
    """A skip-k-gram counting model with these offsets (DEFINITIONS Part II 4) under `code` (in-sample, the
    paper's, or sequential KT): positions scored, bpc (their sequential mean), patterns (distinct (context,
    byte)), distinct contexts, and the share of positions whose context occurs once."""
    offsets: list
    code: str
    positions: int
    bpc: float
    patterns: int
    contexts: int
    singleton_context_share: float


def skipgram_model(xs, offsets, code: str = "in-sample") -> SkipgramModel:
    """bpc, pattern and context counts of the skip-k-gram with the given offsets (DEFINITIONS Part II 4)."""
    bits, patterns, contexts, singles = skipgram_costs(xs, offsets, code)
    D = tuple(int(d) for d in offsets)
    return SkipgramModel(offsets=list(D), code=code, positions=int(bits.shape[0]), bpc=sequential_mean(bits),
                         patterns=patterns, contexts=contexts, singleton_context_share=singles)


@njit_parallel
def _score_candidates(order, grp_ptr, x, cands, tbase, sums, counts, patterns):
    """For each candidate offset d = cands[k]: the in-sample conditional entropy of x_t given
    (current context, x_{t-d}) over t >= max(tbase, d).

    `order` lists positions grouped by current context id (t ascending within a group). Per-position bits
    -log2(n(c,b,y)/n(c,b)) are summed in t order (so two candidates inducing the same partition tie exactly).
    Each candidate uses its own scratch tables; outputs are disjoint per candidate.
    """
    n = x.shape[0]
    for k in prange(cands.shape[0]):
        d = cands[k]
        tmin = max(tbase, d)
        cby = np.zeros(65536, dtype=np.int64)
        cb = np.zeros(256, dtype=np.int64)
        bits = np.zeros(n)
        npat = 0
        for g in range(grp_ptr.shape[0] - 1):
            lo = grp_ptr[g]
            hi = grp_ptr[g + 1]
            for r in range(lo, hi):
                t = order[r]
                if t >= tmin:
                    b = x[t - d]
                    key = b * 256 + x[t]
                    if cby[key] == 0:
                        npat += 1
                    cby[key] += 1
                    cb[b] += 1
            for r in range(lo, hi):
                t = order[r]
                if t >= tmin:
                    b = x[t - d]
                    bits[t] = -log2_f64(cby[b * 256 + x[t]] / cb[b])
            for r in range(lo, hi):
                t = order[r]
                if t >= tmin:
                    b = x[t - d]
                    cby[b * 256 + x[t]] = 0
                    cb[b] = 0
        s = 0.0
        for t in range(tmin, n):
            s += bits[t]
        sums[k] = s
        counts[k] = n - tmin
        patterns[k] = npat


@dataclass(frozen=True)
class GreedyStep(Record):
    """The greedy search after k offsets: the offsets so far, the one added, the in-sample bpc, patterns and
    positions of that model, and (after the first step) the candidates tied at the minimum."""
    k: int  # offsets chosen so far
    offsets: list  # the chosen offsets, in order
    added: int  # offset chosen at this step
    bpc: float  # in-sample bits per byte
    patterns: int  # distinct (context, byte) pairs
    positions: int  # positions scored
    tied_candidates: list | None = key(omit_none=True, default=None)


@dataclass(frozen=True)
class GreedyOrder(Record):
    """Greedy offset selection: the order, the candidate cap (1..cap) and every step."""
    order: list  # offsets in the order chosen
    cap: int  # candidates 1..cap
    steps: tuple[GreedyStep, ...]  # one per chosen offset


def greedy_offsets(xs, steps: int = GREEDY_STEPS, cap: int = GREEDY_CAP, start=(1,), progress=None) -> GreedyOrder:
    """Greedy offset selection (DEFINITIONS Part II 4): from D = start, repeatedly add the offset in 1..cap
    minimising the in-sample bpc of D + (d,) on its own T_D, smallest d on ties, until |D| = steps (or no
    candidate is left). Returns the order and, per step, bpc and pattern count."""
    xs = as_bytes(xs)
    n = xs.shape[0]
    cap = min(int(cap), n - 1)
    D = list(_check_offsets(start, n))
    if steps < len(D):
        raise SatrnnInputError(f"greedy steps ({steps}) must be >= the start size ({len(D)})")
    x = xs.astype(np.int64)
    first = skipgram_model(xs, D)
    trace = [GreedyStep(k=len(D), offsets=list(D), added=D[-1], bpc=first.bpc, patterns=first.patterns,
                        positions=first.positions)]
    while len(D) < steps:
        cands = np.array([d for d in range(1, cap + 1) if d not in D], dtype=np.int64)
        if cands.size == 0:
            break
        tbase = max(D)
        order, grp_ptr = context_groups(xs, D, t0=tbase)
        sums = np.empty(cands.size)
        counts = np.empty(cands.size, dtype=np.int64)
        pats = np.empty(cands.size, dtype=np.int64)
        _score_candidates(order, grp_ptr, x, cands, tbase, sums, counts, pats)
        bpcs = sums / counts
        k = int(np.argmin(bpcs))                        # first minimum = smallest d (cands ascending)
        D.append(int(cands[k]))
        trace.append(GreedyStep(k=len(D), offsets=list(D), added=int(cands[k]), bpc=float(bpcs[k]),
                                patterns=int(pats[k]), positions=int(counts[k]),
                                tied_candidates=[int(c) for c in cands[bpcs == bpcs[k]]]))
        if progress is not None:
            progress()
    return GreedyOrder(order=D, cap=cap, steps=tuple(trace))


@dataclass(frozen=True)
class CountingModel(SkipgramModel):
    """A counting model (bigram, skip4, skip8, ...): its in-sample (paper) `SkipgramModel` and the bpc of the
    sequential KT code (corrected: a real adaptive code)."""
    bpc_sequential_kt: float


@dataclass(frozen=True)
class CountingReport(Record):
    """The UM counting models of a text of n_bytes bytes: the greedy order (None when offsets were given) and
    the models by name (bigram, skip4, skip8, or skipN for given offsets)."""
    definition: str
    n_bytes: int
    greedy: GreedyOrder | None
    models: dict


def counting_report(xs, steps: int = GREEDY_STEPS, cap: int = GREEDY_CAP, offsets=None,
                    progress=None) -> CountingReport:
    """Bigram, skip-4 and skip-8 (first 4 / 8 greedy offsets, or the given offsets' prefixes), each with the
    in-sample (paper) and sequential (corrected) code, plus the greedy order."""
    xs = as_bytes(xs)
    if offsets is None:
        g = greedy_offsets(xs, steps=steps, cap=cap, progress=progress)
        order = g.order
    else:
        g = None
        order = list(_check_offsets(offsets, xs.shape[0]))
    models = {"bigram": [1]}
    for k in (4, 8):
        if len(order) >= k:
            models[f"skip{k}"] = order[:k]
    if len(order) not in (1, 4, 8):
        models[f"skip{len(order)}"] = order
    out = {}
    for name, D in models.items():
        paper = skipgram_model(xs, D)
        seq = skipgram_model(xs, D, code="sequential")
        out[name] = CountingModel(**asdict(paper), bpc_sequential_kt=seq.bpc)
    return CountingReport(definition="skip_kgram (DEFINITIONS Part II 4)", n_bytes=int(xs.shape[0]), greedy=g,
                          models=out)
