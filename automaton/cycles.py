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

Exhaustive mode (at most 20 free neurons): the successor of every phase-0 state of the free-state space
(the 2^(H - p) states whose p pinned neurons hold their values, as in `automaton.landscape`; all 2^H states
when nothing is pinned), then every cycle of that functional graph with its exact basin size and every
state's depth (distance to its cycle, in applications of F).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from satrnn.automaton.bitset import n_words, pack, to_hex
from satrnn.automaton.glibc_rand import GlibcRand
from satrnn.automaton.sign import (
    _advance_rows,
    _new_parts,
    _new_scratch,
    _step,
    _step_work,
    check_pins,
    free_index,
    free_neurons,
    free_states,
    pin_words,
    step_work,
)
from satrnn.automaton.slices import run_jobs, run_rows
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.numba_config import njit, njit_leaf
from satrnn.rnn.record import Record, key

MAX_BUDGET = 10**13
MAX_EXHAUSTIVE_H = 20
MAX_SUCCESSOR_H = 26        # successor tables (landscapes): 2^(free neurons) int64

STATUS_UNRESOLVED = 0
STATUS_CYCLE = 1


# ---- Brent's algorithm as a resumable machine ----------------------------------------------------------
#
# One job's state is a register array R (6, W): the start, the smallest cycle state found so far (rep),
# and two rows each for the tortoise and the hare (a step writes the other row of the pair), plus the
# scalars in S (int64, S_FIELDS). `_brent` advances the machine by at most `limit` steps through its
# phases, with one step site; the wrapper calls it again until the phase is DONE, so a search of any
# budget runs in short slices (progress, Ctrl-C) with results identical to an uninterrupted run.
#
# Phases (counting applications of F, one F = L steps):
#   P1  Brent: the hare advances; the tortoise jumps to it at powers of two; lam = applications since;
#   P2A tortoise = hare = start, the hare advances lam;  P2B both advance until equal: mu;
#   P3  walk the cycle from the tortoise for the smallest boundary state (rep);
#   P4A, P4B, P4C (L > 1, mu > 0): the exact transient in steps: s_{(mu-1)L} and s_{(mu-1)L + lam L}
#       side by side, one step at a time, until they agree.

START, REP = 0, 1
P1, P2A, P2B, P3, P3END, P4A, P4B, P4C, DONE = range(9)
(F_PHASE, F_ENTER, F_Q, F_TORT, F_HARE, F_WHO, F_POWER, F_LAM, F_MU, F_EVALS, F_CNT, F_R, F_STEPS, F_FB,
 F_STATUS, F_MUSTEPS) = range(16)
S_FIELDS = 16


@njit_leaf
def _rows_equal(R, a, b):
    for k in range(R.shape[1]):
        if R[a, k] != R[b, k]:
            return False
    return True


@njit_leaf
def _row_less(R, a, b):
    """row a < row b as integers (highest word most significant)."""
    for k in range(R.shape[1] - 1, -1, -1):
        if R[a, k] != R[b, k]:
            return R[a, k] < R[b, k]
    return False


@njit_leaf
def _row_copy(R, src, dst):
    for k in range(R.shape[1]):
        R[dst, k] = R[src, k]


def brent_init(start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, S) of a fresh Brent machine at `start` (W,)."""
    W = start.shape[0]
    R = np.zeros((6, W), dtype=np.uint64)
    R[START] = start
    S = np.zeros(S_FIELDS, dtype=np.int64)
    S[F_PHASE], S[F_ENTER], S[F_TORT], S[F_HARE] = P1, 1, 2, 4
    return R, S


@njit
def _brent(T, seq, R, S, max_evals, limit):
    """Advance one Brent machine (R, S) under F (seq) until the step whose work reaches `limit` units
    (`sign._step_work`); max_evals is the detection budget in applications of F. Returns (steps done, work
    done); S[F_PHASE] == DONE when finished."""
    z = _new_scratch(T)
    parts = _new_parts(T)
    L = seq.shape[0]
    phase, enter, q, tort, hare, who = S[F_PHASE], S[F_ENTER], S[F_Q], S[F_TORT], S[F_HARE], S[F_WHO]
    power, lam, mu, evals, cnt, r = S[F_POWER], S[F_LAM], S[F_MU], S[F_EVALS], S[F_CNT], S[F_R]
    steps, fb, status, mu_steps = S[F_STEPS], S[F_FB], S[F_STATUS], S[F_MUSTEPS]
    done = 0
    work = 0
    while True:
        while enter:    # a phase's entry actions (a phase may end at once and enter the next)
            enter = 0
            if phase == P1:
                _row_copy(R, START, tort)
                _row_copy(R, START, hare)
                power, lam, who = 1, 0, 1
            elif phase == P2A:
                _row_copy(R, START, tort)
                _row_copy(R, START, hare)
                cnt, who = lam, 1
            elif phase == P2B:
                who = 0
                if _rows_equal(R, tort, hare):
                    phase, enter = P3, 1
            elif phase == P3:
                _row_copy(R, tort, REP)
                _row_copy(R, tort, hare)
                cnt, who = lam - 1, 1
                if cnt == 0:
                    phase, enter = P3END, 1
            elif phase == P3END:
                status = STATUS_CYCLE
                if mu > 0 and L > 1:
                    phase, enter = P4A, 1
                else:
                    mu_steps = mu * L
                    phase = DONE
            elif phase == P4A:
                _row_copy(R, START, tort)
                cnt, who = mu - 1, 0
                if cnt == 0:
                    phase, enter = P4B, 1
            elif phase == P4B:
                _row_copy(R, tort, hare)
                cnt, who = lam, 1
            elif phase == P4C:
                r, who = 0, 0
                if _rows_equal(R, tort, hare):
                    mu_steps = (mu - 1) * L
                    phase = DONE
        if phase == DONE or work >= limit:
            break
        src = tort if who == 0 else hare
        dst = src ^ 1
        x = np.int64(seq[r]) if phase == P4C else np.int64(seq[q])
        f = _step(T, R, src, dst, x, z, parts)
        fb += f
        work += _step_work(T, f)
        if who == 0:
            tort = dst
        else:
            hare = dst
        steps += 1
        done += 1
        if phase == P4C:    # tortoise and hare one step each, then compare
            if who == 0:
                who = 1
            else:
                who = 0
                r += 1
                if _rows_equal(R, tort, hare):
                    mu_steps = (mu - 1) * L + r
                    phase = DONE
            continue
        q += 1
        if q < L:
            continue
        q = 0               # one application of F completed
        if phase == P1:
            evals += 1
            lam += 1
            if _rows_equal(R, tort, hare):
                phase, enter = P2A, 1
            elif evals >= max_evals:
                status = STATUS_UNRESOLVED
                phase = DONE
            elif power == lam:
                _row_copy(R, hare, tort)
                power *= 2
                lam = 0
        elif phase == P2A:
            cnt -= 1
            if cnt == 0:
                phase, enter = P2B, 1
        elif phase == P2B:
            if who == 0:
                who = 1
            else:
                mu += 1
                phase, enter = P2B, 1
        elif phase == P3:
            if _row_less(R, hare, REP):
                _row_copy(R, hare, REP)
            cnt -= 1
            if cnt == 0:
                phase, enter = P3END, 1
        else:               # P4A, P4B
            cnt -= 1
            if cnt == 0:
                phase, enter = phase + 1, 1
    S[F_PHASE], S[F_ENTER], S[F_Q], S[F_TORT], S[F_HARE], S[F_WHO] = phase, enter, q, tort, hare, who
    S[F_POWER], S[F_LAM], S[F_MU], S[F_EVALS], S[F_CNT], S[F_R] = power, lam, mu, evals, cnt, r
    S[F_STEPS], S[F_FB], S[F_STATUS], S[F_MUSTEPS] = steps, fb, status, mu_steps
    return done, work


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

@dataclass(frozen=True)
class JobRow(Record):
    """One search (start i under input q) of a `CycleSearch`, for printing: the start (index, where it came
    from, hex), the input's label, status "cycle" or "unresolved", transient and period in steps (None if
    unresolved), the cycle's smallest state (hex; None if unresolved) and the steps spent."""
    start_index: int
    start_source: str
    start: str
    input: object
    status: str
    transient: int | None
    period: int | None
    rep: str | None
    steps: int


@dataclass(frozen=True)
class InputRow(Record):
    """The searches of a `CycleSearch` under one input: starts, resolved, distinct cycles, their periods
    (sorted), and the longest transient (None if none resolved)."""
    input: object
    starts: int
    resolved: int
    distinct_cycles: int
    periods: list
    max_transient: int | None


@dataclass(frozen=True, eq=False)
class CycleSearch:
    """Per-job results of `find_cycles` (one job = one start under one input sequence).

    status (J,) 1 = cycle found, 0 = unresolved within the budget; mu, lam (J,) transient and period in
    steps (-1 if unresolved); rep (J, W) smallest phase-0 cycle state; steps (J,) Boolean steps spent;
    fallbacks (J,) exact recomputations in the step kernel; job_start, job_seq (J,) indices; seconds of
    kernel time.
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

    def job_rows(self, start_labels, input_labels, starts: np.ndarray) -> tuple[JobRow, ...]:
        """A row per job: start_labels[i] says where start i came from, input_labels[q] names input q."""
        rows = []
        for jb in range(self.status.shape[0]):
            i, q = int(self.job_start[jb]), int(self.job_seq[jb])
            ok = self.status[jb] == STATUS_CYCLE
            rows.append(JobRow(start_index=i, start_source=start_labels[i], start=to_hex(starts[i], self.H),
                               input=input_labels[q], status="cycle" if ok else "unresolved",
                               transient=int(self.mu[jb]) if ok else None, period=int(self.lam[jb]) if ok else None,
                               rep=self.rep_hex(jb), steps=int(self.steps[jb])))
        return tuple(rows)

    def per_input(self, input_labels) -> tuple[InputRow, ...]:
        """A row per input q (named input_labels[q])."""
        out = []
        for q, lab in enumerate(input_labels):
            sel = self.job_seq == q
            st = self.status[sel]
            reps = {self.rep_hex(jb) for jb in np.nonzero(sel)[0] if self.status[jb] == STATUS_CYCLE}
            lam = self.lam[sel][st == STATUS_CYCLE]
            mu = self.mu[sel][st == STATUS_CYCLE]
            out.append(InputRow(input=lab, starts=int(sel.sum()), resolved=int((st == STATUS_CYCLE).sum()),
                                distinct_cycles=len(reps), periods=sorted({int(v) for v in lam}),
                                max_transient=int(mu.max()) if mu.size else None))
        return tuple(out)


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
                on_batch=None, threads: int | None = None) -> CycleSearch:
    """Brent's cycle search for each job (start i, input sequence m) in parallel over jobs.

    starts (N, W) uint64; seqs (m, L) bytes (a constant byte is L = 1); jobs = (job_start, job_seq) index
    arrays, default every start under every sequence (start-major). budget: detection steps per job
    (rounded down to whole sequences). on_batch(done_jobs, total_jobs, steps_so_far) is called about every
    0.1 s (progress bars; Ctrl-C stops the search within a slice); results never depend on the slicing or
    the thread count (threads: default numba's). `batch` is accepted for compatibility and ignored.
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
    T = automaton.tables
    t0 = time.perf_counter()
    live: dict[int, tuple] = {}         # job -> its Brent machine (R, S) while it runs

    def work(jb, limit):
        if jb not in live:
            live[jb] = brent_init(starts[job_start[jb]])
        R, S = live[jb]
        done, used = _brent(T, seqs[job_seq[jb]], R, S, max_evals, limit)
        if S[F_PHASE] != DONE:
            return False, done, used
        del live[jb]
        status[jb] = S[F_STATUS]
        steps[jb] = S[F_STEPS]
        fb[jb] = S[F_FB]
        if S[F_STATUS] == STATUS_CYCLE:
            mu[jb] = S[F_MUSTEPS]
            lam[jb] = S[F_LAM] * L
            rep[jb] = R[REP]
        return True, done, used

    def progress(done_jobs, steps_so_far):
        if on_batch is not None:
            on_batch(done_jobs, J, steps_so_far)
    # Each job runs on one thread from start to end, in slices (outputs are per job, so neither the
    # schedule nor the slicing can change results).
    run_jobs(J, work, total_work=J * float(budget) * step_work(T), on_progress=progress,
             threads=None if threads is None else int(threads))
    return CycleSearch(H=automaton.H, status=status, mu=mu, lam=lam, rep=rep, steps=steps, fallbacks=fb,
                       job_start=job_start, job_seq=job_seq, budget=int(budget),
                       seconds=time.perf_counter() - t0)


@dataclass(frozen=True)
class SearchCycle(Record):
    """A distinct cycle of a search, identified by (input sequence, rep = its smallest state at sequence
    boundaries, hex): period in steps, the searches (starts) that reached it, their transients min..max, and
    its basin fraction = the share of that sequence's searches that end on it; `input` = the input's label
    once given (`CycleSummary.labelled`)."""
    input_index: int
    rep: str
    period: int
    starts: int
    transient_min: int
    transient_max: int
    basin_fraction: float
    input: object = key(omit_none=True, default=None)


@dataclass(frozen=True)
class CycleSummary(Record):
    """Summary of a cycle search: jobs, distinct cycles (by input, most starts, period, rep), the periods found,
    unresolved jobs and their fraction, the budget per job, steps in all, seconds of kernel time, steps per
    second (None when no time was measured), fallbacks."""
    jobs: int
    distinct_cycles: int
    cycles: tuple[SearchCycle, ...]
    periods: list
    unresolved: int
    fraction_unresolved: float
    budget_steps: int
    total_steps: int
    seconds: float
    steps_per_second: float | None
    fallbacks: int

    def labelled(self, input_labels) -> CycleSummary:
        """The same summary with each cycle's `input` set to input_labels[input_index]."""
        return replace(self, cycles=tuple(replace(c, input=input_labels[c.input_index]) for c in self.cycles))


def summarize(search: CycleSearch) -> CycleSummary:
    """Summary of a search (see `CycleSummary`)."""
    J = search.status.shape[0]
    per_seq = np.bincount(search.job_seq, minlength=int(search.job_seq.max()) + 1 if J else 0)
    found: dict[tuple, list] = {}                 # (q, rep) -> [period, starts, transient min, max]
    for jb in range(J):
        if search.status[jb] != STATUS_CYCLE:
            continue
        q = int(search.job_seq[jb])
        h = search.rep_hex(jb)
        m = int(search.mu[jb])
        c = found.setdefault((q, h), [int(search.lam[jb]), 0, m, m])
        c[1] += 1
        c[2] = min(c[2], m)
        c[3] = max(c[3], m)
    cycles = sorted((SearchCycle(input_index=q, rep=h, period=p, starts=n, transient_min=lo, transient_max=hi,
                                 basin_fraction=n / int(per_seq[q]))
                     for (q, h), (p, n, lo, hi) in found.items()),
                    key=lambda c: (c.input_index, -c.starts, c.period, c.rep))
    unresolved = int((search.status == STATUS_UNRESOLVED).sum())
    total = int(search.steps.sum())
    return CycleSummary(jobs=J, distinct_cycles=len(cycles), cycles=tuple(cycles),
                        periods=sorted({c.period for c in cycles}), unresolved=unresolved,
                        fraction_unresolved=unresolved / J if J else 0.0, budget_steps=search.budget,
                        total_steps=total, seconds=search.seconds,
                        steps_per_second=total / search.seconds if search.seconds > 0 else None,
                        fallbacks=int(search.fallbacks.sum()))


def random_starts(H: int, n: int, seed: int) -> np.ndarray:
    """n uniformly random packed states from numpy's default_rng(seed) (each neuron +-1 with p = 1/2)."""
    rng = np.random.default_rng(seed)
    return pack(rng.random((int(n), H)) < 0.5)


def trajectory(automaton, start, seq, n_steps: int, on_progress=None) -> np.ndarray:
    """(n_steps, W) states after 1..n_steps steps from start, input seq[t % L]."""
    seq = _check_seqs(seq)[0]
    out = np.empty((int(n_steps), n_words(automaton.H)), dtype=np.uint64)
    if n_steps:
        automaton._walk(np.ascontiguousarray(start, dtype=np.uint64), seq, int(n_steps), out, on_progress)
    return out


@dataclass(frozen=True, eq=False)
class Exhaustive(Record):
    """Every cycle of F on the free-state space: the N = 2^m phase-0 states whose pinned neurons hold their
    values (m = H - pins free neurons; nothing pinned: all 2^H states), indexed by compressed index c (bit k
    of c = free neuron k, `sign.free_states`; unpinned, c is the state). reps (compressed index of each
    cycle's smallest state), periods (in steps), basins (states) per cycle, sorted by rep; cycle_of (N,)
    index into reps; depth (N,) applications of F until the cycle (0 on it)."""

    H: int
    L: int
    pins: tuple[tuple[int, int], ...]
    reps: np.ndarray
    periods: np.ndarray
    basins: np.ndarray
    cycle_of: np.ndarray
    depth: np.ndarray

    @property
    def free_neurons(self) -> np.ndarray:
        return free_neurons(self.H, self.pins)

    @property
    def n_states(self) -> int:
        return 1 << (self.H - len(self.pins))

    def rep_hex(self) -> list[str]:
        """The cycles' smallest states as full hex states (pinned neurons included)."""
        free, pinval = self.free_neurons, pin_words(self.H, self.pins)[1]
        return [to_hex(s, self.H) for s in free_states(self.reps, free, pinval)]

    def as_dict(self) -> dict:
        """The JSON document: counts and one entry per cycle (full hex rep, period, basin, basin fraction),
        not the per-state arrays."""
        N = self.n_states
        return {"H": self.H, "pins": [{"neuron": j, "sign": v} for j, v in self.pins],
                "free_neurons": self.H - len(self.pins), "states": N, "sequence_length": self.L,
                "n_cycles": int(self.reps.shape[0]),
                "cycles": [{"rep": h, "period": int(p), "basin": int(b), "basin_fraction": int(b) / N}
                           for h, p, b in zip(self.rep_hex(), self.periods, self.basins)],
                "max_depth": int(self.depth.max()), "mean_depth": float(self.depth.mean())}


def successors(automaton, seq, on_progress=None) -> np.ndarray:
    """succ (2^m,) int64 over the free-state space of the automaton's pins (m free neurons, m <= 26):
    succ[c] = the compressed index of F(state c), F = the steps under seq (see `Exhaustive` for the
    indexing; nothing pinned: succ[v] = F(v) for every state v < 2^H). Rows run in jobs sliced by work
    (`slices.run_rows`: threads only if the work is large, Ctrl-C within a slice at any H);
    on_progress(states done, 2^m)."""
    H = automaton.H
    free = free_neurons(H, automaton.pins)
    m = int(free.shape[0])
    if m > MAX_SUCCESSOR_H:
        raise SatrnnInputError(f"a successor table needs at most {MAX_SUCCESSOR_H} free neurons, this automaton "
                               f"has {m} (H = {H}, {H - m} pinned)")
    seqs = _check_seqs(seq)[:1]
    N = 1 << m
    succ = np.empty(N, dtype=np.int64)
    T = automaton.tables
    pinval = np.ascontiguousarray(T.pinval)
    row_work = seqs.shape[1] * step_work(T)

    def advance(r, hi, limit):
        n = min(hi, r + limit // row_work + 1) - r   # rows the limit allows at least (a row costs >= row_work)
        a = free_states(np.arange(r, r + n), free, pinval)
        out = np.empty_like(a)
        done, used = _advance_rows(T, a, seqs, out, np.zeros(n, dtype=np.int64), 0, limit)
        succ[r:r + done] = free_index(out[:done], free)
        return r + done, used

    run_rows(N, row_work, advance, on_progress=None if on_progress is None else lambda done: on_progress(done, N))
    return succ


def exhaustive_cycles(automaton, seq, on_progress=None) -> Exhaustive:
    """Enumerate the free-state space of the automaton's pins (at most MAX_EXHAUSTIVE_H free neurons; all
    2^H states when nothing is pinned): every cycle of F with its exact basin."""
    H = automaton.H
    pins = check_pins(automaton.pins, H)
    m = H - len(pins)
    if m > MAX_EXHAUSTIVE_H:
        raise SatrnnInputError(f"--exhaustive needs at most {MAX_EXHAUSTIVE_H} free neurons, this model has "
                               f"H = {H} with {len(pins)} pinned")
    seq = _check_seqs(seq)[0]
    N = 1 << m
    succ = successors(automaton, seq, on_progress)
    cycle_id = np.empty(N, dtype=np.int64)
    depth = np.empty(N, dtype=np.int64)
    rep = np.empty(N, dtype=np.int64)
    ln = np.empty(N, dtype=np.int64)
    basin = np.zeros(N, dtype=np.int64)
    nc = _functional_graph(succ, cycle_id, depth, rep, ln, basin)
    order = np.argsort(rep[:nc], kind="stable")
    remap = np.empty(nc, dtype=np.int64)
    remap[order] = np.arange(nc)
    return Exhaustive(H=H, L=int(seq.shape[0]), pins=pins, reps=rep[:nc][order],
                      periods=ln[:nc][order] * seq.shape[0], basins=basin[:nc][order], cycle_of=remap[cycle_id],
                      depth=depth)


# ---- paper-compatible searches (DEFINITIONS 4.3, 4.4) ---------------------------------------------------

def glibc_starts(H: int, seed: int, n: int) -> np.ndarray:
    """n packed states with sigma[j] = rand() & 1 after srand(seed), state-major, neuron-minor (the
    program's call order). With n = trials + 1: the 4.3 trial starts, then the 4.4 cycle-detection start."""
    g = GlibcRand(seed)
    return pack(g.bits(int(n) * H).reshape(int(n), H).astype(bool))
