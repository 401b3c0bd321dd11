"""Cycles of the sign automaton under a fixed or periodic input: Brent's algorithm and exhaustive enumeration.

The map. With an input sequence u_0..u_{L-1} (L = 1 for a constant byte), one application of
F(s) = B(...B(B(s, u_0), u_1)..., u_{L-1}) is L Boolean steps. The joint system (state, phase) is periodic
iff the state at sequence boundaries (phase 0) is, and its period in steps is L times the period of F.

Per start (a packed state) Brent's algorithm returns, or states honestly that it could not within the budget:
- `period` (lambda) in steps, a multiple of L;
- `transient` (mu) in steps: the first step t with s_t = s_{t + lambda} (exact to the step, also for L > 1);
- `rep`: the canonical representative, the numerically smallest phase-0 state on the cycle (bitset integer
  order: neuron H-1 most significant).
Budget: the detection phase may use at most `budget` steps; a start that has not closed a cycle by then is
"unresolved" (status 0). Any start with 3 (mu + lambda) <= budget is always resolved (for L > 1 count mu and
lambda in whole sequences and the budget as floor(budget / L) sequences). After detection the
exact mu, lambda and rep cost about 2 mu + 2 lambda more steps, counted in `steps` but not in the budget.

Exhaustive mode (H <= 20): the successor of every one of the 2^H phase-0 states, then every cycle of that
functional graph with its exact basin size and every state's depth (distance to its cycle, in applications
of F).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.numba_config import njit, njit_parallel, prange

from .bitset import n_words, pack, to_hex
from .glibc_rand import GlibcRand
from .sign import SEM_F32_SEQ, _new_scratch, _tier1, _tier2, _tier3, _tier3_seq

MAX_BUDGET = 10**13
MAX_EXHAUSTIVE_H = 20

STATUS_UNRESOLVED = 0
STATUS_CYCLE = 1


# ---- small njit helpers on packed states ---------------------------------------------------------

@njit
def _equal(a, b):
    for k in range(a.shape[0]):
        if a[k] != b[k]:
            return False
    return True


@njit
def _less(a, b):
    """a < b as integers (highest word most significant)."""
    for k in range(a.shape[0] - 1, -1, -1):
        if a[k] != b[k]:
            return a[k] < b[k]
    return False


@njit
def _copy(src, dst):
    for k in range(src.shape[0]):
        dst[k] = src[k]


# The hot loops below take the table arrays out of the tuple once and call sign's tier kernels directly,
# the pattern of sign._run_packed: `_tier1`, then `_tier2` only if tier 1 left a neuron open, then
# `_tier3_seq`/`_tier3` only if tier 2 did. None of those passes arrays on or allocates, so a step does no
# reference counting; any call per step that does (the table tuple, `_resolve_arrays`, a view such as
# out[t]) costs atomic increments on arrays shared by all threads, which halves single-thread speed and stops
# two threads from scaling. Each "F(r)" block is the same code: one step of register r into tmp, copied
# back word by word (fixed buffers, no swapped array variables).

@njit
def _brent_one(tables, start, seq, max_evals, rep, tort, hare, tmp, z):
    """Brent's cycle detection for one start under F (seq). Writes rep (W,).

    Returns (status, mu_steps, lam_steps, steps, fallbacks); max_evals is the budget in applications of F.
    """
    Tq, baseq, boundq, cb = tables.Tq, tables.baseq, tables.boundq, tables.params[3]
    base2, bound, Wh, bh, Wx, sem = tables.base2, tables.bound, tables.Wh, tables.bh, tables.Wx, tables.params[2]
    L = seq.shape[0]
    W = start.shape[0]
    fb = 0
    evals = 0
    # Phase 1 (Brent): the tortoise jumps to the hare at powers of two; lam counts applications since.
    _copy(start, tort)
    _copy(start, hare)
    power = 1
    lam = 0
    while True:
        for q in range(L):  # F(hare)
            x = np.int64(seq[q])
            if _tier1(Tq, baseq, boundq, cb, hare, x, tmp, z):
                left = _tier2(base2, Wh, bound, hare, x, z, tmp)
                if left:
                    fb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, hare, x, z, tmp)
                    else:
                        _tier3(Wh, bh, Wx, sem, hare, x, z, tmp)
            for k in range(W):
                hare[k] = tmp[k]
        evals += 1
        lam += 1
        if _equal(tort, hare):
            break
        if evals >= max_evals:
            return STATUS_UNRESOLVED, -1, -1, evals * L, fb
        if power == lam:
            _copy(hare, tort)
            power *= 2
            lam = 0
    # Phase 2: mu in applications of F, with the hare lam applications ahead of the tortoise.
    _copy(start, tort)
    _copy(start, hare)
    for _ in range(lam):
        for q in range(L):  # F(hare)
            x = np.int64(seq[q])
            if _tier1(Tq, baseq, boundq, cb, hare, x, tmp, z):
                left = _tier2(base2, Wh, bound, hare, x, z, tmp)
                if left:
                    fb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, hare, x, z, tmp)
                    else:
                        _tier3(Wh, bh, Wx, sem, hare, x, z, tmp)
            for k in range(W):
                hare[k] = tmp[k]
    evals += lam
    mu = 0
    while not _equal(tort, hare):
        for q in range(L):  # F(tort), F(hare)
            x = np.int64(seq[q])
            if _tier1(Tq, baseq, boundq, cb, tort, x, tmp, z):
                left = _tier2(base2, Wh, bound, tort, x, z, tmp)
                if left:
                    fb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, tort, x, z, tmp)
                    else:
                        _tier3(Wh, bh, Wx, sem, tort, x, z, tmp)
            for k in range(W):
                tort[k] = tmp[k]
            if _tier1(Tq, baseq, boundq, cb, hare, x, tmp, z):
                left = _tier2(base2, Wh, bound, hare, x, z, tmp)
                if left:
                    fb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, hare, x, z, tmp)
                    else:
                        _tier3(Wh, bh, Wx, sem, hare, x, z, tmp)
            for k in range(W):
                hare[k] = tmp[k]
        evals += 2
        mu += 1
    # Phase 3: tort is the first cycle state at a boundary; walk the cycle for the smallest boundary state.
    _copy(tort, rep)
    _copy(tort, hare)
    for _ in range(lam - 1):
        for q in range(L):  # F(hare)
            x = np.int64(seq[q])
            if _tier1(Tq, baseq, boundq, cb, hare, x, tmp, z):
                left = _tier2(base2, Wh, bound, hare, x, z, tmp)
                if left:
                    fb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, hare, x, z, tmp)
                    else:
                        _tier3(Wh, bh, Wx, sem, hare, x, z, tmp)
            for k in range(W):
                hare[k] = tmp[k]
        if _less(hare, rep):
            _copy(hare, rep)
    evals += lam - 1
    steps = evals * L
    mu_steps = 0
    if mu > 0 and L > 1:
        # Exact transient in steps: it lies in ((mu-1) L, mu L]. Run s_{(mu-1)L} and s_{(mu-1)L + lam L}
        # side by side, step by step, until they agree.
        _copy(start, tort)
        for _ in range(mu - 1):
            for q in range(L):  # F(tort)
                x = np.int64(seq[q])
                if _tier1(Tq, baseq, boundq, cb, tort, x, tmp, z):
                    left = _tier2(base2, Wh, bound, tort, x, z, tmp)
                    if left:
                        fb += left
                        if sem == SEM_F32_SEQ:
                            _tier3_seq(Wh, bh, Wx, tort, x, z, tmp)
                        else:
                            _tier3(Wh, bh, Wx, sem, tort, x, z, tmp)
                for k in range(W):
                    tort[k] = tmp[k]
        _copy(tort, hare)
        for _ in range(lam):
            for q in range(L):  # F(hare)
                x = np.int64(seq[q])
                if _tier1(Tq, baseq, boundq, cb, hare, x, tmp, z):
                    left = _tier2(base2, Wh, bound, hare, x, z, tmp)
                    if left:
                        fb += left
                        if sem == SEM_F32_SEQ:
                            _tier3_seq(Wh, bh, Wx, hare, x, z, tmp)
                        else:
                            _tier3(Wh, bh, Wx, sem, hare, x, z, tmp)
                for k in range(W):
                    hare[k] = tmp[k]
        steps += (mu - 1 + lam) * L
        r = 0
        while not _equal(tort, hare):
            x = np.int64(seq[r])  # F(tort), F(hare) one step at a time
            if _tier1(Tq, baseq, boundq, cb, tort, x, tmp, z):
                left = _tier2(base2, Wh, bound, tort, x, z, tmp)
                if left:
                    fb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, tort, x, z, tmp)
                    else:
                        _tier3(Wh, bh, Wx, sem, tort, x, z, tmp)
            for k in range(W):
                tort[k] = tmp[k]
            if _tier1(Tq, baseq, boundq, cb, hare, x, tmp, z):
                left = _tier2(base2, Wh, bound, hare, x, z, tmp)
                if left:
                    fb += left
                    if sem == SEM_F32_SEQ:
                        _tier3_seq(Wh, bh, Wx, hare, x, z, tmp)
                    else:
                        _tier3(Wh, bh, Wx, sem, hare, x, z, tmp)
            for k in range(W):
                hare[k] = tmp[k]
            r += 1
            steps += 2
        mu_steps = (mu - 1) * L + r
    else:
        mu_steps = mu * L
    return STATUS_CYCLE, mu_steps, lam * L, steps, fb


@njit_parallel
def _brent_batch(tables, starts, seqs, job_start, job_seq, max_evals, status, mu, lam, rep, steps, fallbacks):
    """One Brent search per job (start index, sequence index); writes row j of every output only."""
    W = starts.shape[1]
    for jb in prange(job_start.shape[0]):
        tort = np.empty(W, dtype=np.uint64)
        hare = np.empty(W, dtype=np.uint64)
        tmp = np.empty(W, dtype=np.uint64)
        r = np.zeros(W, dtype=np.uint64)
        z = _new_scratch(tables)
        st, m, lm, sp, fb = _brent_one(tables, starts[job_start[jb]], seqs[job_seq[jb]], max_evals,
                                       r, tort, hare, tmp, z)
        status[jb] = st
        mu[jb] = m
        lam[jb] = lm
        steps[jb] = sp
        fallbacks[jb] = fb
        for k in range(W):
            rep[jb, k] = r[k]


@njit
def _trajectory(tables, start, seq, n_steps, out):
    """out[t] = state after t+1 steps from start, inputs seq[t % L]. Returns fallbacks."""
    Tq, baseq, boundq, cb = tables.Tq, tables.baseq, tables.boundq, tables.params[3]
    base2, bound, Wh, bh, Wx, sem = tables.base2, tables.bound, tables.Wh, tables.bh, tables.Wx, tables.params[2]
    W = start.shape[0]
    cur = start.copy()
    tmp = np.empty(W, dtype=np.uint64)
    z = _new_scratch(tables)
    fb = 0
    L = seq.shape[0]
    q = 0
    for t in range(n_steps):
        x = np.int64(seq[q])  # F(cur), then word copies into out (a view out[t] would be refcounted)
        if _tier1(Tq, baseq, boundq, cb, cur, x, tmp, z):
            left = _tier2(base2, Wh, bound, cur, x, z, tmp)
            if left:
                fb += left
                if sem == SEM_F32_SEQ:
                    _tier3_seq(Wh, bh, Wx, cur, x, z, tmp)
                else:
                    _tier3(Wh, bh, Wx, sem, cur, x, z, tmp)
        for k in range(W):
            cur[k] = tmp[k]
            out[t, k] = tmp[k]
        q += 1
        if q == L:
            q = 0
    return fb


SUCC_BLOCK = 1024


@njit_parallel
def _successors(tables, seq, H, succ):
    """succ[v] = F(v) as an integer, for every v < 2^H (H <= 20, one word).

    Fixed blocks of SUCC_BLOCK states per parallel iteration (buffers and table arrays set up once per
    block, the tier kernels called directly); every succ[v] is computed alone, so blocks and threads cannot
    change results."""
    N = succ.shape[0]
    L = seq.shape[0]
    for blk in prange((N + SUCC_BLOCK - 1) // SUCC_BLOCK):
        Tq, baseq, boundq, cb = tables.Tq, tables.baseq, tables.boundq, tables.params[3]
        base2, bound, Wh, bh, Wx, sem = (tables.base2, tables.bound, tables.Wh, tables.bh, tables.Wx,
                                         tables.params[2])
        cur = np.zeros(1, dtype=np.uint64)
        tmp = np.empty(1, dtype=np.uint64)
        z = _new_scratch(tables)
        for v in range(blk * SUCC_BLOCK, min(N, (blk + 1) * SUCC_BLOCK)):
            cur[0] = np.uint64(v)
            for q in range(L):  # F(cur)
                x = np.int64(seq[q])
                if _tier1(Tq, baseq, boundq, cb, cur, x, tmp, z):
                    if _tier2(base2, Wh, bound, cur, x, z, tmp):
                        if sem == SEM_F32_SEQ:
                            _tier3_seq(Wh, bh, Wx, cur, x, z, tmp)
                        else:
                            _tier3(Wh, bh, Wx, sem, cur, x, z, tmp)
                cur[0] = tmp[0]
            succ[v] = np.int64(cur[0])


@njit
def _functional_graph(succ, cycle_id, depth, cyc_rep, cyc_len, cyc_basin):
    """Cycles of the functional graph v -> succ[v]: per state its cycle id and depth; per cycle its
    smallest state, length and basin size. Returns the number of cycles."""
    N = succ.shape[0]
    mark = np.zeros(N, dtype=np.int8)  # 0 new, 1 on the current path, 2 done
    pos = np.zeros(N, dtype=np.int64)
    path = np.empty(N, dtype=np.int64)
    nc = 0
    for v0 in range(N):
        if mark[v0] != 0:
            continue
        n = 0
        u = v0
        while mark[u] == 0:
            mark[u] = 1
            pos[u] = n
            path[n] = u
            n += 1
            u = succ[u]
        if mark[u] == 1:  # a new cycle: path[pos[u]:n]
            c = nc
            nc += 1
            first = pos[u]
            mn = u
            for q in range(first, n):
                w = path[q]
                cycle_id[w] = c
                depth[w] = 0
                mark[w] = 2
                if w < mn:
                    mn = w
            cyc_rep[c] = mn
            cyc_len[c] = n - first
            n = first
        for q in range(n - 1, -1, -1):
            w = path[q]
            nx = succ[w]
            cycle_id[w] = cycle_id[nx]
            depth[w] = depth[nx] + 1
            mark[w] = 2
    for v in range(N):
        cyc_basin[cycle_id[v]] += 1
    return nc


# ---- public API --------------------------------------------------------------------------------------

@dataclass
class CycleSearch:
    """Per-job results of `find_cycles` (one job = one start under one input sequence).

    status (J,) 1 = cycle found, 0 = unresolved within the budget; mu, lam (J,) transient and period in
    steps (-1 if unresolved); rep (J, W) smallest phase-0 cycle state; steps (J,) Boolean steps spent;
    fallbacks (J,) exact recomputations in the step kernel; job_start, job_seq (J,) indices.
    """

    H: int
    status: np.ndarray
    mu: np.ndarray
    lam: np.ndarray
    rep: np.ndarray
    steps: np.ndarray
    fallbacks: np.ndarray
    job_start: np.ndarray
    job_seq: np.ndarray
    budget: int
    seconds: float

    def rep_hex(self, jb: int) -> str | None:
        return to_hex(self.rep[jb], self.H) if self.status[jb] == STATUS_CYCLE else None


def _check_seqs(seqs) -> np.ndarray:
    a = np.asarray(seqs)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    if a.ndim != 2 or a.shape[1] < 1 or a.shape[0] < 1:
        raise SatrnnInputError(f"input sequences must have shape (m, L) with L >= 1, got {a.shape}")
    if a.dtype.kind not in "iu" or a.min() < 0 or a.max() > 255:
        raise SatrnnInputError("input bytes must be integers in 0..255")
    return np.ascontiguousarray(a, dtype=np.uint8)


def _check_starts(automaton, starts) -> np.ndarray:
    s = np.asarray(starts)
    W = n_words(automaton.H)
    if s.ndim == 1:
        s = s.reshape(1, -1)
    if s.ndim != 2 or s.shape[1] != W or s.shape[0] < 1 or s.dtype != np.uint64:
        raise SatrnnInputError(f"starts must be packed uint64 states of shape (N, {W}), got {s.shape} {s.dtype}")
    H = automaton.H
    if H % 64 and (s[:, -1] >> np.uint64(H % 64)).any():
        raise SatrnnInputError(f"a start state sets bits beyond neuron {H - 1}")
    return np.ascontiguousarray(s)


def find_cycles(automaton, starts, seqs, budget: int, jobs=None, batch: int | None = None,
                on_batch=None) -> CycleSearch:
    """Brent's cycle search for each job (start i, input sequence m) in parallel over jobs.

    starts (N, W) uint64; seqs (m, L) bytes (a constant byte is L = 1); jobs = (job_start, job_seq) index
    arrays, default every start under every sequence (start-major). budget: detection steps per job
    (rounded down to whole sequences). on_batch(done_jobs, total_jobs, steps_so_far) is called after each
    batch (for progress bars); results never depend on batch size or thread count.
    """
    starts = _check_starts(automaton, starts)
    seqs = _check_seqs(seqs)
    L = seqs.shape[1]
    if not (L <= budget <= MAX_BUDGET):
        raise SatrnnInputError(f"budget must be between the sequence length {L} and {MAX_BUDGET} steps, got {budget}")
    if jobs is None:
        js, jq = np.meshgrid(np.arange(starts.shape[0]), np.arange(seqs.shape[0]), indexing="ij")
        job_start, job_seq = js.ravel().astype(np.int64), jq.ravel().astype(np.int64)
    else:
        job_start, job_seq = (np.ascontiguousarray(a, dtype=np.int64) for a in jobs)
    J = job_start.shape[0]
    W = starts.shape[1]
    status = np.zeros(J, dtype=np.int8)
    mu = np.full(J, -1, dtype=np.int64)
    lam = np.full(J, -1, dtype=np.int64)
    rep = np.zeros((J, W), dtype=np.uint64)
    steps = np.zeros(J, dtype=np.int64)
    fb = np.zeros(J, dtype=np.int64)
    max_evals = int(budget) // L
    batch = J if batch is None else max(1, int(batch))
    t0 = time.perf_counter()
    for lo in range(0, J, batch):
        hi = min(J, lo + batch)
        # Jobs differ wildly in length: hand them to threads one at a time (outputs are per job, so the
        # schedule cannot change results).
        with numba.parallel_chunksize(1):
            _brent_batch(automaton.tables, starts, seqs, job_start[lo:hi], job_seq[lo:hi], max_evals,
                         status[lo:hi], mu[lo:hi], lam[lo:hi], rep[lo:hi], steps[lo:hi], fb[lo:hi])
        if on_batch is not None:
            on_batch(hi, J, int(steps[:hi].sum()))
    return CycleSearch(H=automaton.H, status=status, mu=mu, lam=lam, rep=rep, steps=steps, fallbacks=fb,
                       job_start=job_start, job_seq=job_seq, budget=int(budget),
                       seconds=time.perf_counter() - t0)


def summarize(search: CycleSearch) -> dict:
    """Summary of a search. A cycle is identified by (input sequence, rep); its basin fraction is the share
    of that sequence's jobs that end on it. Keys: jobs, distinct_cycles, cycles [{input_index, rep, period,
    starts, basin_fraction, transient_min, transient_max}], periods, unresolved, fraction_unresolved,
    budget_steps, total_steps, seconds, steps_per_second, fallbacks."""
    J = search.status.shape[0]
    per_seq = np.bincount(search.job_seq, minlength=int(search.job_seq.max()) + 1 if J else 0)
    cycles: dict[tuple, dict] = {}
    for jb in range(J):
        if search.status[jb] != STATUS_CYCLE:
            continue
        q = int(search.job_seq[jb])
        h = search.rep_hex(jb)
        m = int(search.mu[jb])
        c = cycles.setdefault((q, h), {"input_index": q, "rep": h, "period": int(search.lam[jb]), "starts": 0,
                                       "transient_min": m, "transient_max": m})
        c["starts"] += 1
        c["transient_min"] = min(c["transient_min"], m)
        c["transient_max"] = max(c["transient_max"], m)
    for c in cycles.values():
        c["basin_fraction"] = c["starts"] / int(per_seq[c["input_index"]])
    unresolved = int((search.status == STATUS_UNRESOLVED).sum())
    total = int(search.steps.sum())
    return {"jobs": J, "distinct_cycles": len(cycles),
            "cycles": sorted(cycles.values(), key=lambda c: (c["input_index"], -c["starts"], c["period"], c["rep"])),
            "periods": sorted({c["period"] for c in cycles.values()}),
            "unresolved": unresolved, "fraction_unresolved": unresolved / J if J else 0.0,
            "budget_steps": search.budget, "total_steps": total, "seconds": search.seconds,
            "steps_per_second": total / search.seconds if search.seconds > 0 else None,
            "fallbacks": int(search.fallbacks.sum())}


def random_starts(H: int, n: int, seed: int) -> np.ndarray:
    """n uniformly random packed states from numpy's default_rng(seed) (each neuron +-1 with p = 1/2)."""
    rng = np.random.default_rng(seed)
    return pack(rng.random((int(n), H)) < 0.5)


def trajectory(automaton, start, seq, n_steps: int) -> np.ndarray:
    """(n_steps, W) states after 1..n_steps steps from start, input seq[t % L]."""
    seq = _check_seqs(seq)[0]
    out = np.empty((int(n_steps), n_words(automaton.H)), dtype=np.uint64)
    _trajectory(automaton.tables, np.ascontiguousarray(start, dtype=np.uint64), seq, int(n_steps), out)
    return out


@dataclass
class Exhaustive:
    """Every cycle of F on all 2^H phase-0 states. reps/periods (in steps)/basins per cycle, sorted by rep;
    cycle_of (2^H,) index into reps; depth (2^H,) applications of F until the cycle (0 on it)."""

    H: int
    L: int
    reps: np.ndarray
    periods: np.ndarray
    basins: np.ndarray
    cycle_of: np.ndarray
    depth: np.ndarray

    def as_dict(self) -> dict:
        N = 1 << self.H
        return {"H": self.H, "states": N, "sequence_length": self.L, "n_cycles": int(self.reps.shape[0]),
                "cycles": [{"rep": format(int(r), f"0{(self.H + 3) // 4}x"), "period": int(p), "basin": int(b),
                            "basin_fraction": int(b) / N}
                           for r, p, b in zip(self.reps, self.periods, self.basins)],
                "max_depth": int(self.depth.max()), "mean_depth": float(self.depth.mean())}


def exhaustive_cycles(automaton, seq) -> Exhaustive:
    """Enumerate all 2^H states (H <= 20): every cycle of F with its exact basin."""
    H = automaton.H
    if H > MAX_EXHAUSTIVE_H:
        raise SatrnnInputError(f"--exhaustive needs H <= {MAX_EXHAUSTIVE_H}, this model has H = {H}")
    seq = _check_seqs(seq)[0]
    N = 1 << H
    succ = np.empty(N, dtype=np.int64)
    _successors(automaton.tables, seq, H, succ)
    cycle_id = np.empty(N, dtype=np.int64)
    depth = np.empty(N, dtype=np.int64)
    rep = np.empty(N, dtype=np.int64)
    ln = np.empty(N, dtype=np.int64)
    basin = np.zeros(N, dtype=np.int64)
    nc = _functional_graph(succ, cycle_id, depth, rep, ln, basin)
    order = np.argsort(rep[:nc], kind="stable")
    remap = np.empty(nc, dtype=np.int64)
    remap[order] = np.arange(nc)
    return Exhaustive(H=H, L=int(seq.shape[0]), reps=rep[:nc][order], periods=ln[:nc][order] * seq.shape[0],
                      basins=basin[:nc][order], cycle_of=remap[cycle_id], depth=depth)


# ---- paper-compatible searches (DEFINITIONS 4.3, 4.4) ---------------------------------------------------

def glibc_starts(H: int, seed: int, n: int) -> np.ndarray:
    """n packed states with sigma[j] = rand() & 1 after srand(seed), state-major, neuron-minor (the
    program's call order). With n = trials + 1: the 4.3 trial starts, then the 4.4 cycle-detection start."""
    g = GlibcRand(seed)
    return pack(g.bits(int(n) * H).reshape(int(n), H).astype(bool))


def paper_attractor_search(automaton, x: int, seed: int = 42, trials: int = 50, steps: int = 100,
                           warmup: int = 100, record: int = 200, max_period: int = 100) -> dict:
    """q1_bool_attractor 4.3 "Convergence from Random States" and 4.4 "Cycle Detection" as the program
    computes them (glibc rand, fixed input x, fixed-point detection only, period <= max_period after the
    warm-up), plus the start states so that an honest search can reuse them.

    Keys: unique_final_states, classes [{first_trial, size, percent, state}], converge_steps (per trial),
    mean_convergence (fl32 sum / trials), fixed_points_reached, cycle_period (0 = none <= max_period),
    trial_starts (hex), cycle_start (hex).
    """
    H = automaton.H
    x = int(x)
    if not 0 <= x <= 255:
        raise SatrnnInputError(f"input byte must be in 0..255, got {x}")
    allst = glibc_starts(H, seed, trials + 1)
    starts, cstart = allst[:trials], allst[trials]
    seq = np.array([x], dtype=np.uint8)
    finals, conv = [], []
    for k in range(trials):
        tr = trajectory(automaton, starts[k], seq, steps)  # tr[s] = sigma^(s+1)
        prev = np.concatenate([starts[k:k + 1], tr[:-1]])
        same = np.all(tr == prev, axis=1)
        conv.append(int(np.argmax(same)) if same.any() else steps)
        finals.append(tr[-1])
    classes: list[dict] = []
    for k, s in enumerate(finals):
        for c in classes:
            if np.array_equal(finals[c["first_trial"]], s):
                c["size"] += 1
                break
        else:
            classes.append({"first_trial": k, "size": 1})
    for c in classes:
        c["percent"] = 100.0 * c["size"] / trials
        c["state"] = to_hex(finals[c["first_trial"]], H)
    mean_conv = float(np.float32(np.float32(sum(conv)) / np.float32(trials)))
    tr = trajectory(automaton, cstart, seq, warmup + record)
    taus = tr[warmup:]
    period = 0
    for p in range(1, max_period + 1):
        if np.array_equal(taus[record - 1], taus[record - 1 - p]):
            period = p
            break
    return {"input": x, "seed": seed, "trials": trials, "steps": steps, "unique_final_states": len(classes),
            "classes": classes, "converge_steps": conv, "mean_convergence": mean_conv,
            "fixed_points_reached": int(sum(1 for c in conv if c < steps)),
            "warmup": warmup, "record": record, "max_period": max_period, "cycle_period": period,
            "trial_starts": [to_hex(s, H) for s in starts], "cycle_start": to_hex(cstart, H)}
