"""Attractor landscapes of the sign automaton: every basin exactly for small H, estimated for any H.

The map is F of `automaton.cycles`: one application reads the whole input sequence u_0..u_{L-1} (L = 1 for
a constant byte), so states are compared at sequence boundaries ("phase 0"), heights count applications of
F, and periods are given in Boolean steps (L times the cycle length of F).

Pinning. A pin set {j: +1 or -1} clamps neuron j at that sign whatever its input, through the kernels' pin
masks (`SignAutomaton.with_pins`: every successor is (B(s) & free) | pinval). The pinned automaton's state
space is the 2^(H - p) states that carry the pinned values (p = number of pins): every state below (starts,
cycle states, graph nodes) is one of those, and the exhaustive landscape enumerates exactly them. Every
function takes `pins=None` to mean the automaton's own pins (`SignAutomaton.from_model(..., pins=...)`).
(It equals the automaton of the model whose pinned rows have Wh[j, :] = 0, Wx[j, :] = 0, bh[j] = +-1: tested.)

Exact landscape (`landscape`, H - p <= 24, any H): the successor of every state once (`cycles.successors`, the
packed kernel on the free-state space, sliced by work), then
an iterative labelling of the functional graph (no recursion): in-degrees, a peel of the in-degree-0 states
(Kahn's order), what remains is the union of the cycles, each labelled by a walk from its smallest state,
then heights and attractors in reverse peel order. Results: per attractor its cycle states (hex, in cycle
order from the smallest), period, basin size, Garden-of-Eden states and heights; overall basin entropy
(nats and bits), the height and in-degree histograms and, for H - p <= 16, the state transition graph as a
networkx.DiGraph (GraphML export).

Estimated landscape (`estimate_landscape`, any H): N seeded uniformly random starts (pinned values set),
each run with Brent (`cycles.find_cycles`) to its cycle or to the budget; an attractor is identified by its
smallest phase-0 state. Basin fraction = starts that reached it / all N starts, with a Clopper-Pearson
(exact binomial) 95% interval (automaton.intervals); unresolved starts are counted and reported, never
dropped silently. Basin entropy is the plug-in entropy of the resolved starts' attractor frequencies, with a
seeded nonparametric bootstrap percentile interval (automaton.intervals). `landscape_job` is the
deterministic per-job unit (for sweeps); `merge_jobs` combines jobs into one estimate.

Sensitivity: for a state s, an input byte x and a neuron j, d_j(s, x) = Hamming(B(s, x), B(s ^ e_j, x)), the
number of neurons that differ one step after neuron j is flipped (d_1 of `cascade.flip_cascades`). The
average sensitivity of neuron j is the mean of d_j over the states; overall is the mean over the (unpinned)
neurons. Exact over given (state, input) pairs or all states; estimated over sampled states with a normal
95% interval over the samples.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from satrnn.automaton import cycles as cyc
from satrnn.automaton.bitset import to_hex
from satrnn.automaton.cascade import flip_cascades
from satrnn.automaton.intervals import LN2, bootstrap_entropy_interval, clopper_pearson, entropy_nats
from satrnn.automaton.sign import SignAutomaton, apply_pins, check_pins, free_neurons, free_states, pin_words
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.numba_config import njit
from satrnn.rnn.record import Record

MAX_EXACT_FREE = 24          # exhaustive landscapes: at most 2^24 states
MAX_GRAPH_FREE = 16          # state transition graphs: at most 2^16 nodes
MAX_STARTS = 10_000_000
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 9999
Z95 = 1.959963984540054


# ---- pins --------------------------------------------------------------------------------------------

def resolve_pins(automaton: SignAutomaton, pins) -> tuple[tuple[int, int], ...]:
    """The pin set to use: `pins` if given (() = none), else the automaton's own pins."""
    return check_pins(automaton.pins if pins is None else pins, automaton.H)


# ---- kernels -----------------------------------------------------------------------------------------

LABEL_SLICE = 1 << 20   # states per labelling kernel call: Ctrl-C between calls stays well under a second


def _sliced(n: int, call) -> None:
    """call(lo, hi) over [0, n) in slices of LABEL_SLICE (Python regains control between them)."""
    for lo in range(0, n, LABEL_SLICE):
        call(lo, min(n, lo + LABEL_SLICE))


@njit
def _in_degrees(succ, indeg, lo, hi):
    """indeg[v] += number of states u in [lo, hi) with succ[u] = v (indeg zeroed by the caller)."""
    for u in range(lo, hi):
        indeg[succ[u]] += 1


@njit
def _peel_seed(indeg, order, tail, lo, hi):
    """Kahn's peel, first part: append the in-degree-0 (Garden-of-Eden) states v in [lo, hi) to order.
    Returns the new tail."""
    for v in range(lo, hi):
        if indeg[v] == 0:
            order[tail] = v
            tail += 1
    return tail


@njit
def _peel_run(succ, indeg, order, head, tail, limit):
    """Kahn's peel of v -> succ[v], resumable: pop at most `limit` states from order[head:tail], consuming
    indeg and appending states whose in-degree reaches 0. Returns (head, tail); done when head == tail.
    Afterwards order[:tail] holds the non-cycle states (the seeded ones first) and the states left with
    indeg > 0 are exactly the union of the cycles."""
    stop = head + limit
    while head < tail and head < stop:
        u = succ[order[head]]
        head += 1
        indeg[u] -= 1
        if indeg[u] == 0:
            order[tail] = u
            tail += 1
    return head, tail


@njit
def _label_cycles(succ, indeg, attractor, height, reps, lengths, nc, lo, hi):
    """After the peel (attractor filled with -1): label the cycles met by a scan of v in [lo, hi); indices
    ascend with the smallest cycle state, the first cycle state a scan by v meets. reps[a], lengths[a] per
    attractor. Returns the number of attractors so far."""
    for v in range(lo, hi):
        if indeg[v] > 0 and attractor[v] < 0:
            u = v
            n = 0
            while attractor[u] < 0:
                attractor[u] = nc
                height[u] = 0
                u = succ[u]
                n += 1
            reps[nc] = v
            lengths[nc] = n
            nc += 1
    return nc


@njit
def _label_trees(succ, order, attractor, height, lo, hi):
    """Tree states order[q], q from hi - 1 down to lo (reverse peel order: a state's successor is labelled
    before it): attractor and height (applications of F until the cycle) from the successor's."""
    for q in range(hi - 1, lo - 1, -1):
        v = order[q]
        u = succ[v]
        attractor[v] = attractor[u]
        height[v] = height[u] + 1


@njit
def _per_attractor_states(attractor, height, basin, hsum, hmax, lo, hi):
    """Per attractor, over states v in [lo, hi): basin size, height sum and maximum."""
    for v in range(lo, hi):
        a = attractor[v]
        basin[a] += 1
        hsum[a] += height[v]
        if height[v] > hmax[a]:
            hmax[a] = height[v]


@njit
def _per_attractor_goe(attractor, order, goe_per, lo, hi):
    """Garden-of-Eden states per attractor, over order[lo:hi] (order[:goe] are the GoE states)."""
    for q in range(lo, hi):
        goe_per[attractor[order[q]]] += 1


@njit
def _walk(succ, v, out):
    """out[q] = F^q(v), q < out.size (a cycle in F order from v)."""
    for q in range(out.shape[0]):
        out[q] = v
        v = succ[v]


# ---- exact landscapes --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attractor(Record):
    """One attractor of an exact landscape. states: its phase-0 cycle states (hex), in cycle order from the
    smallest (= rep); period in Boolean steps; basin_size in states (cycle included); garden_of_eden: basin
    states with no predecessor; max_height / mean_height in applications of F."""

    rep: str
    states: tuple[str, ...]
    period: int
    basin_size: int
    basin_fraction: float
    garden_of_eden: int
    max_height: int
    mean_height: float

    def as_dict(self) -> dict:
        return {"rep": self.rep, "states": list(self.states), "period": self.period,
                "basin_size": self.basin_size, "basin_fraction": self.basin_fraction,
                "garden_of_eden": self.garden_of_eden, "max_height": self.max_height,
                "mean_height": self.mean_height}


@dataclass(frozen=True)
class ExactLandscape(Record):
    """All 2^(H - p) states of the (pinned) automaton under the periodic input `seq`.

    States are indexed by compressed index c (bit k of c = free neuron k; unpinned: c is the state itself).
    Arrays (not compared): successor (N,) int64 compressed index of F(c); attractor (N,) int32 index into
    `attractors`; height (N,) int32; in_degree (N,) int32 (None above 16 free neurons, to save memory).
    Histograms are tuples indexed by value. Memory: about 24 bytes per state while labelling (successors
    8, in-degrees, peel order, attractor and height 4 each), 16 bytes per state kept.
    """

    H: int
    semantics: str
    seq: tuple[int, ...]
    pins: tuple[tuple[int, int], ...]
    n_states: int
    attractors: tuple[Attractor, ...]
    basin_entropy: float
    basin_entropy_bits: float
    garden_of_eden: int
    in_degree_histogram: tuple[int, ...]
    height_histogram: tuple[int, ...]
    seconds: float
    successor: np.ndarray = field(repr=False, compare=False)
    attractor: np.ndarray = field(repr=False, compare=False)
    height: np.ndarray = field(repr=False, compare=False)
    in_degree: np.ndarray | None = field(repr=False, compare=False)

    @property
    def free_neurons(self) -> np.ndarray:
        return free_neurons(self.H, self.pins)

    def full_states(self, idx) -> np.ndarray:
        """Packed states (n, W) uint64 of compressed indices (n,)."""
        return free_states(np.atleast_1d(idx), self.free_neurons, pin_words(self.H, self.pins)[1])

    def state_hex(self, idx) -> list[str]:
        return [to_hex(s, self.H) for s in self.full_states(idx)]

    def as_dict(self) -> dict:
        return {"kind": "exact", "H": self.H, "semantics": self.semantics, "sequence": list(self.seq),
                "pins": [{"neuron": j, "sign": v} for j, v in self.pins], "states": self.n_states,
                "n_attractors": len(self.attractors), "attractors": [a.as_dict() for a in self.attractors],
                "basin_entropy": self.basin_entropy, "basin_entropy_bits": self.basin_entropy_bits,
                "garden_of_eden": self.garden_of_eden, "in_degree_histogram": list(self.in_degree_histogram),
                "height_histogram": list(self.height_histogram),
                "max_height": len(self.height_histogram) - 1,
                "mean_height": float(np.dot(np.arange(len(self.height_histogram)), self.height_histogram)
                                     / self.n_states),
                "seconds": self.seconds}

    def to_networkx(self):
        """The state transition graph (H - p <= 16): nodes = hex states with attributes attractor (index),
        height, on_cycle, in_degree; one edge per state to its successor (self-loops at fixed points)."""
        import networkx as nx
        if self.H - len(self.pins) > MAX_GRAPH_FREE:
            raise SatrnnInputError(f"the state graph needs at most {MAX_GRAPH_FREE} free neurons, "
                                   f"this landscape has {self.H - len(self.pins)}")
        names = self.state_hex(np.arange(self.n_states))
        g = nx.DiGraph(H=self.H, semantics=self.semantics, sequence=",".join(str(b) for b in self.seq),
                       pins=",".join(f"{j}={v:+d}" for j, v in self.pins))
        att, hgt, deg = self.attractor.tolist(), self.height.tolist(), self.in_degree.tolist()
        g.add_nodes_from((names[c], {"attractor": att[c], "height": hgt[c], "on_cycle": hgt[c] == 0,
                                     "in_degree": deg[c]}) for c in range(self.n_states))
        g.add_edges_from((names[c], names[s]) for c, s in enumerate(self.successor.tolist()))
        return g


def _check_seq(seq) -> np.ndarray:
    if isinstance(seq, (int, np.integer)) and not isinstance(seq, (bool, np.bool_)):
        seq = [int(seq)]
    a = cyc._check_seqs(seq)
    if a.shape[0] != 1:
        raise SatrnnInputError(f"give one input sequence, got {a.shape[0]}")
    return a[0]


def landscape(automaton: SignAutomaton, seq, pins=None, on_progress=None) -> ExactLandscape:
    """The exact landscape of all 2^(H - p) states under the input byte or periodic sequence `seq`.

    on_progress(done, total) is called as the successor map fills (states done of all)."""
    t0 = time.perf_counter()
    H = automaton.H
    pins = resolve_pins(automaton, pins)
    m = H - len(pins)
    if m > MAX_EXACT_FREE:
        raise SatrnnInputError(f"an exhaustive landscape needs at most {MAX_EXACT_FREE} free neurons "
                               f"(2^{MAX_EXACT_FREE} states), this model has {m}")
    seq = _check_seq(seq)
    N = 1 << m
    free = free_neurons(H, pins)
    succ = cyc.successors(automaton.pinned(pins), seq, on_progress)
    # the labelling runs in slices of LABEL_SLICE states, so Ctrl-C is honoured within a fraction of a second
    indeg = np.zeros(N, dtype=np.int32)
    _sliced(N, lambda lo, hi: _in_degrees(succ, indeg, lo, hi))  # noqa: F821 - runs before `del indeg`
    in_hist = np.bincount(indeg)
    # the per-state in-degrees are kept only for the state graph (memory: 4 bytes per state)
    in_degree = indeg.copy() if m <= MAX_GRAPH_FREE else None
    order = np.empty(N, dtype=np.int32)
    tail = 0
    for lo in range(0, N, LABEL_SLICE):
        tail = _peel_seed(indeg, order, tail, lo, min(N, lo + LABEL_SLICE))
    head = 0
    while head < tail:
        head, tail = _peel_run(succ, indeg, order, head, tail, LABEL_SLICE)
    attractor = np.full(N, -1, dtype=np.int32)
    height = np.empty(N, dtype=np.int32)
    reps = np.empty(N - tail, dtype=np.int64)
    lengths = np.empty(N - tail, dtype=np.int64)
    nc = 0
    for lo in range(0, N, LABEL_SLICE):
        nc = _label_cycles(succ, indeg, attractor, height, reps, lengths, nc, lo, min(N, lo + LABEL_SLICE))
    for hi in range(tail, 0, -LABEL_SLICE):
        _label_trees(succ, order, attractor, height, max(0, hi - LABEL_SLICE), hi)
    del indeg
    goe = int(in_hist[0]) if in_hist.size else 0
    basins = np.zeros(nc, dtype=np.int64)
    goe_per = np.zeros(nc, dtype=np.int64)
    hsum = np.zeros(nc, dtype=np.int64)
    hmax = np.zeros(nc, dtype=np.int64)
    _sliced(N, lambda lo, hi: _per_attractor_states(attractor, height, basins, hsum, hmax, lo, hi))
    _sliced(goe, lambda lo, hi: _per_attractor_goe(attractor, order, goe_per, lo, hi))  # noqa: F821 - before del
    del order
    L = int(seq.shape[0])
    pinval = pin_words(H, pins)[1]
    atts = []
    for a in range(nc):
        cyc_idx = np.empty(int(lengths[a]), dtype=np.int64)
        _walk(succ, int(reps[a]), cyc_idx)
        names = tuple(to_hex(v, H) for v in free_states(cyc_idx, free, pinval))
        atts.append(Attractor(rep=names[0], states=names, period=int(lengths[a]) * L, basin_size=int(basins[a]),
                              basin_fraction=int(basins[a]) / N, garden_of_eden=int(goe_per[a]),
                              max_height=int(hmax[a]), mean_height=float(hsum[a]) / int(basins[a])))
    ent = entropy_nats(basins)
    return ExactLandscape(H=H, semantics=automaton.semantics, seq=tuple(int(b) for b in seq), pins=pins,
                          n_states=N, attractors=tuple(atts), basin_entropy=ent, basin_entropy_bits=ent / LN2,
                          garden_of_eden=goe, in_degree_histogram=tuple(int(v) for v in in_hist),
                          height_histogram=tuple(int(v) for v in np.bincount(height)),
                          seconds=time.perf_counter() - t0, successor=succ, attractor=attractor, height=height,
                          in_degree=in_degree)


# ---- estimated landscapes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class LandscapeJob(Record):
    """One job's outcome (a sweep unit): `starts` seeded random starts (numpy default_rng(seed), pinned
    values set) under `seq`, Brent with `budget` detection steps each. Per attractor found (sorted by rep):
    rep (hex), period (steps), count (starts that reached it), transient_min/max/sum (steps)."""

    model_digest: str | None
    semantics: str
    H: int
    seq: tuple[int, ...]
    pins: tuple[tuple[int, int], ...]
    seed: int
    starts: int
    budget: int
    reps: tuple[str, ...]
    periods: tuple[int, ...]
    counts: tuple[int, ...]
    transient_min: tuple[int, ...]
    transient_max: tuple[int, ...]
    transient_sum: tuple[int, ...]
    unresolved: int
    steps: int
    fallbacks: int
    seconds: float

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class EstimatedAttractor(Record):
    """An attractor met by the starts: basin_fraction = starts / all starts with its Clopper-Pearson interval."""

    rep: str
    period: int
    starts: int
    basin_fraction: float
    basin_fraction_ci: tuple[float, float]
    transient_min: int
    transient_max: int
    transient_mean: float

    def as_dict(self) -> dict:
        return {"rep": self.rep, "period": self.period, "starts": self.starts,
                "basin_fraction": self.basin_fraction, "basin_fraction_ci": list(self.basin_fraction_ci),
                "transient_min": self.transient_min, "transient_max": self.transient_max,
                "transient_mean": self.transient_mean}


@dataclass(frozen=True)
class EstimatedLandscape(Record):
    """The landscape estimated from random starts (see the module docstring for the estimators).

    basin_entropy (nats; bits in basin_entropy_bits) over the resolved starts, its bootstrap percentile
    interval basin_entropy_ci (nats) from `bootstrap_resamples` resamples seeded with `bootstrap_seed`;
    unresolved = starts that closed no cycle within the budget (fraction in unresolved_fraction)."""

    H: int
    semantics: str
    seq: tuple[int, ...]
    pins: tuple[tuple[int, int], ...]
    seeds: tuple[int, ...]
    starts: int
    budget: int
    attractors: tuple[EstimatedAttractor, ...]
    confidence: float
    basin_entropy: float
    basin_entropy_bits: float
    basin_entropy_ci: tuple[float, float]
    bootstrap_resamples: int
    bootstrap_seed: int
    unresolved: int
    unresolved_fraction: float
    steps: int
    seconds: float
    fallbacks: int

    @property
    def steps_per_second(self) -> float | None:
        return self.steps / self.seconds if self.seconds > 0 else None

    def as_dict(self) -> dict:
        ln2 = LN2
        return {"kind": "estimated", "H": self.H, "semantics": self.semantics, "sequence": list(self.seq),
                "pins": [{"neuron": j, "sign": v} for j, v in self.pins], "seeds": list(self.seeds),
                "starts": self.starts, "budget": self.budget, "n_attractors": len(self.attractors),
                "attractors": [a.as_dict() for a in self.attractors],
                "confidence": self.confidence, "basin_fraction_ci_method": "Clopper-Pearson (exact binomial)",
                "basin_entropy": self.basin_entropy, "basin_entropy_bits": self.basin_entropy_bits,
                "basin_entropy_ci": list(self.basin_entropy_ci),
                "basin_entropy_ci_bits": [v / ln2 for v in self.basin_entropy_ci],
                "basin_entropy_ci_method": f"bootstrap percentile, {self.bootstrap_resamples} resamples, "
                                           f"seed {self.bootstrap_seed}",
                "unresolved": self.unresolved, "unresolved_fraction": self.unresolved_fraction,
                "steps": self.steps, "seconds": self.seconds, "steps_per_second": self.steps_per_second,
                "fallbacks": self.fallbacks}


def random_pinned_starts(H: int, n: int, seed: int, pins=()) -> np.ndarray:
    """`cycles.random_starts(H, n, seed)` with the pinned neurons set to their values."""
    return apply_pins(cyc.random_starts(H, n, seed), check_pins(pins, H), H)


def landscape_job(automaton: SignAutomaton, seq, *, starts: int, budget: int, seed: int, pins=None,
                  model_digest: str | None = None, on_batch=None, batch: int | None = None) -> LandscapeJob:
    """One deterministic job: the same arguments give the same record for any thread count or batch size."""
    H = automaton.H
    pins = resolve_pins(automaton, pins)
    seq = _check_seq(seq)
    if isinstance(starts, (bool, np.bool_)) or not isinstance(starts, (int, np.integer)) \
            or not 1 <= int(starts) <= MAX_STARTS:
        raise SatrnnInputError(f"starts must be an integer between 1 and {MAX_STARTS}, got {starts!r}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise SatrnnInputError(f"seed must be a non-negative integer, got {seed!r}")
    A = automaton.pinned(pins)
    st = random_pinned_starts(H, int(starts), int(seed), pins)
    r = cyc.find_cycles(A, st, seq.reshape(1, -1), int(budget), batch=batch, on_batch=on_batch)
    ok = r.status == cyc.STATUS_CYCLE
    groups: dict[str, list] = {}
    for jb in np.nonzero(ok)[0]:
        h = r.rep_hex(int(jb))
        g = groups.setdefault(h, [int(r.lam[jb]), 0, int(r.mu[jb]), int(r.mu[jb]), 0])
        g[1] += 1
        g[2] = min(g[2], int(r.mu[jb]))
        g[3] = max(g[3], int(r.mu[jb]))
        g[4] += int(r.mu[jb])
    keys = sorted(groups)
    col = lambda i: tuple(groups[k][i] for k in keys)
    return LandscapeJob(model_digest=model_digest, semantics=automaton.semantics, H=H,
                        seq=tuple(int(b) for b in seq), pins=pins, seed=int(seed), starts=int(starts),
                        budget=int(budget), reps=tuple(keys), periods=col(0), counts=col(1), transient_min=col(2),
                        transient_max=col(3), transient_sum=col(4), unresolved=int((~ok).sum()),
                        steps=int(r.steps.sum()), fallbacks=int(r.fallbacks.sum()), seconds=r.seconds)


def merge_jobs(jobs, *, confidence: float = CONFIDENCE, bootstrap_resamples: int = BOOTSTRAP_RESAMPLES,
               bootstrap_seed: int | None = None) -> EstimatedLandscape:
    """Combine jobs of one (model, semantics, sequence, pins, budget) into one estimate."""
    jobs = list(jobs)
    if not jobs:
        raise SatrnnInputError("no landscape jobs to merge")
    j0 = jobs[0]
    for j in jobs[1:]:
        if (j.model_digest, j.semantics, j.H, j.seq, j.pins, j.budget) != \
                (j0.model_digest, j0.semantics, j0.H, j0.seq, j0.pins, j0.budget):
            raise SatrnnInputError("landscape jobs differ in model, semantics, input, pins or budget")
    if not 0 < confidence < 1:
        raise SatrnnInputError(f"confidence must be in (0, 1), got {confidence}")
    agg: dict[str, list] = {}
    for j in jobs:
        for k, rep in enumerate(j.reps):
            g = agg.setdefault(rep, [j.periods[k], 0, j.transient_min[k], j.transient_max[k], 0])
            g[1] += j.counts[k]
            g[2] = min(g[2], j.transient_min[k])
            g[3] = max(g[3], j.transient_max[k])
            g[4] += j.transient_sum[k]
    n = sum(j.starts for j in jobs)
    unresolved = sum(j.unresolved for j in jobs)
    atts = []
    for rep, (period, cnt, tmin, tmax, tsum) in agg.items():
        ci = clopper_pearson(cnt, n, confidence)
        atts.append(EstimatedAttractor(rep=rep, period=int(period), starts=int(cnt), basin_fraction=cnt / n,
                                       basin_fraction_ci=ci, transient_min=int(tmin),
                                       transient_max=int(tmax), transient_mean=tsum / cnt))
    atts.sort(key=lambda a: (-a.starts, a.rep))
    bseed = j0.seed if bootstrap_seed is None else int(bootstrap_seed)
    resolved = n - unresolved
    if resolved:
        labels = np.repeat(np.arange(len(atts)), [a.starts for a in atts])
        ent = entropy_nats(np.bincount(labels))
        if len(atts) > 1:
            eci = bootstrap_entropy_interval(labels, int(bootstrap_resamples), confidence, bseed)
        else:
            eci = (0.0, 0.0)  # every resample sees the single attractor
    else:
        ent, eci = math.nan, (math.nan, math.nan)
    return EstimatedLandscape(H=j0.H, semantics=j0.semantics, seq=j0.seq, pins=j0.pins,
                              seeds=tuple(j.seed for j in jobs), starts=n, budget=j0.budget, attractors=tuple(atts),
                              confidence=confidence, basin_entropy=ent, basin_entropy_bits=ent / LN2,
                              basin_entropy_ci=eci, bootstrap_resamples=int(bootstrap_resamples),
                              bootstrap_seed=bseed, unresolved=unresolved, unresolved_fraction=unresolved / n,
                              steps=sum(j.steps for j in jobs), seconds=sum(j.seconds for j in jobs),
                              fallbacks=sum(j.fallbacks for j in jobs))


def estimate_landscape(automaton: SignAutomaton, seq, *, starts: int, budget: int, seed: int, pins=None,
                       confidence: float = CONFIDENCE, bootstrap_resamples: int = BOOTSTRAP_RESAMPLES,
                       on_batch=None, batch: int | None = None) -> EstimatedLandscape:
    """The landscape estimated from `starts` seeded random starts (one `landscape_job`, summarised)."""
    job = landscape_job(automaton, seq, starts=starts, budget=budget, seed=seed, pins=pins, on_batch=on_batch,
                        batch=batch)
    return merge_jobs([job], confidence=confidence, bootstrap_resamples=bootstrap_resamples)


# ---- sensitivity -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sensitivity(Record):
    """Average sensitivity: per_neuron[j] = mean over the states of d_j (None for pinned neurons); overall =
    mean over the unpinned neurons (NaN when every neuron is pinned: there is no neuron to flip). exact: over
    all given / all states (overall_ci None); else over `samples` sampled states with a normal `confidence`
    interval of the per-state mean (iid samples)."""

    H: int
    pins: tuple[tuple[int, int], ...]
    states: int
    exact: bool
    per_neuron: tuple[float | None, ...]
    overall: float
    overall_ci: tuple[float, float] | None
    seed: int | None

    def as_dict(self) -> dict:
        return {"states": self.states, "exact": self.exact, "overall": self.overall,
                "overall_ci": list(self.overall_ci) if self.overall_ci else None, "seed": self.seed,
                "per_neuron": list(self.per_neuron),
                "definition": "mean number of neurons that differ one step after one neuron is flipped"}


def _sensitivity_from_d(d: np.ndarray, H: int, pins, exact: bool, seed) -> Sensitivity:
    """d (m, H): d_j per state; pinned columns are ignored."""
    free = free_neurons(H, pins)
    free_set = set(free.tolist())
    per = d.mean(axis=0)
    per_neuron = tuple(float(per[j]) if j in free_set else None for j in range(H))
    if not free.size:
        return Sensitivity(H=H, pins=pins, states=int(d.shape[0]), exact=exact, per_neuron=per_neuron,
                           overall=math.nan, overall_ci=None, seed=seed)
    row = d[:, free].mean(axis=1)
    overall = float(row.mean())
    ci = None
    if not exact and row.size > 1:
        se = float(row.std(ddof=1) / math.sqrt(row.size))
        ci = (overall - Z95 * se, overall + Z95 * se)
    return Sensitivity(H=H, pins=pins, states=int(d.shape[0]), exact=exact, per_neuron=per_neuron,
                       overall=overall, overall_ci=ci, seed=seed)


def sensitivity(automaton: SignAutomaton, states, inputs, pins=None, *, exact: bool = True,
                seed: int | None = None) -> Sensitivity:
    """Sensitivity over the given (state, input) pairs: states (m, W) packed, inputs (m,) bytes (or one byte).

    Computed with the one-step flip cascade (`cascade.flip_cascades`, k = 1) of the pinned automaton."""
    H = automaton.H
    pins = resolve_pins(automaton, pins)
    st = cyc._check_starts(automaton, states)
    m = st.shape[0]
    xin = np.asarray(inputs)
    if xin.ndim == 0:
        xin = np.full(m, int(xin))
    if xin.shape != (m,) or xin.dtype.kind not in "iu" or xin.min() < 0 or xin.max() > 255:
        raise SatrnnInputError(f"inputs must be {m} bytes in 0..255")
    A = automaton.pinned(pins)
    st = apply_pins(st, pins, H)
    xs = np.concatenate([[0], xin]).astype(np.uint8)  # flip_cascades reads x_{t+1} for the state at t
    c = flip_cascades(A, st, xs, 1, np.arange(m, dtype=np.int64))
    return _sensitivity_from_d(c.d[:, :, 0].astype(np.int64), H, pins, exact, seed)


def estimate_sensitivity(automaton: SignAutomaton, seq, samples: int, seed: int, pins=None) -> Sensitivity:
    """Sensitivity over `samples` seeded random states (pinned values set); sample r reads seq[r % L]."""
    seq = _check_seq(seq)
    samples = int(samples)
    if not 2 <= samples <= MAX_STARTS:
        raise SatrnnInputError(f"sensitivity samples must be between 2 and {MAX_STARTS}, got {samples}")
    pins = resolve_pins(automaton, pins)
    st = random_pinned_starts(automaton.H, samples, seed, pins)
    xin = seq[np.arange(samples) % seq.shape[0]]
    return sensitivity(automaton, st, xin, pins, exact=False, seed=int(seed))


def landscape_sensitivity(land: ExactLandscape) -> Sensitivity:
    """Exact sensitivity over all states of an exact landscape with a single input byte (L = 1), from its
    successor map alone: d_j(c) = popcount(succ[c] ^ succ[c with free neuron j flipped])."""
    if len(land.seq) != 1:
        raise SatrnnInputError("successor-map sensitivity needs a single input byte (L = 1)")
    H = land.H
    free = land.free_neurons
    N = land.n_states
    s = land.successor
    per = np.zeros(H)
    for k, j in enumerate(free):  # one neuron, one block of states at a time: memory and Ctrl-C bounded
        tot = 0
        for lo in range(0, N, LABEL_SLICE):
            idx = np.arange(lo, min(N, lo + LABEL_SLICE), dtype=np.int64)
            tot += int(np.bitwise_count(s[idx] ^ s[idx ^ (1 << k)]).sum(dtype=np.int64))
        per[j] = tot / N
    free_set = set(free.tolist())
    return Sensitivity(H=H, pins=land.pins, states=N, exact=True,
                       per_neuron=tuple(float(per[j]) if j in free_set else None for j in range(H)),
                       overall=float(per[free].mean()) if free.size else math.nan, overall_ci=None, seed=None)
