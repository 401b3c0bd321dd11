"""What `satrnn explore` shows, computed once per (model, text) without any UI: the data model of the explorer.
`compute` reads every analysis through its unit from the shared cache (`satrnn.cache.Results`), so the
explorer shows exactly what the report and the ledger show.

Alignment (DEFINITIONS 0): h_t is the state after reading x_t and predicts x_{t+1}; h before the first byte
is 0. The per-neuron figures use the n-1 predicting states h_0..h_{n-2}, as the analysis modules do:
- knockout delta bpc: `analyses.knockout.neuron_knockout` (readout column zeroed; exact);
- mean margin: `automaton.margins.margin_report` per-neuron mean of |z_t[j]| (double sum / (n-1));
- flips and mean dwell: `analyses.saturation.saturation_report` (flips between h_{t-1} and h_t, t = 1..n-2;
  mean dwell over all closed dwells, the corrected variant);
- pattern sensitivity: the share of positions t = 0..n-2 at which the neuron is pattern-sensitive
  (`analyses.carrier.pattern_sensitive`, seed 003 section 5: some byte could give either sign);
- co-flip counts and Jaccard: `analyses.coflip.coflip_report`; the graph, its communities (seeded Louvain)
  and hub strengths: `analyses.coflip.coflip_graph` at a Jaccard threshold (recomputed on demand, cached).

Sign dynamics and pinning. The sign automaton (`automaton.sign.SignAutomaton`, semantics "exact" or "f32-seq")
is driven by the text from the all -1 start (the papers'; DEFINITIONS 3.5): beta_t = B(beta_{t-1}, x_t),
t = 0..n-2, and its bpc is the readout of the +-1 vectors (`rnn.forward.readout_costs`). Pinning neuron j
to c in {-1, +1} holds s_j = c in the start state (`SignAutomaton.apply_pins`) and in every successor
whatever its input (the kernels' pinning, `SignAutomaton.with_pins`). The readout always uses the original
model.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from satrnn.analyses.carrier import carriers, pattern_sensitive
from satrnn.analyses.coflip import CoflipReport, GraphSummary, coflip_graph, graph_summary
from satrnn.analyses.knockout import Roles, promotes_demotes
from satrnn.analyses.saturation import flip_matrix
from satrnn.automaton import cycles as cyc
from satrnn.automaton.bitset import all_minus, to_hex, to_signs, unpack
from satrnn.automaton.sign import SEMANTICS, SignAutomaton
from satrnn.cache import Results
from satrnn.ledger.claims import LedgerSummary
from satrnn.rnn import elementary as em
from satrnn.rnn.elementary import sequential_mean
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, readout_costs
from satrnn.rnn.model import ElmanRNN

VIEWS = {"graph": "Co-flip graph", "neurons": "Neurons", "raster": "Sign raster", "cycles": "Cycles",
         "ledger": "Ledger"}
DEFAULT_JACCARD = 0.3      # the report's co-flip graph threshold
JACCARD_STEP = 0.05
NEAR_ZERO = 0.1            # |z| < 0.1f: margin_report's "tiny" margins, highlighted in rasters
MAX_TEXT_BYTES = 1 << 18   # the explorer keeps (n, H) arrays and an (n, 256) readout cache in memory
N_PARTNERS = 12
CYCLE_INPUTS = 4           # constant inputs of the cycle search: the most frequent bytes of the text
CYCLE_STARTS = 4           # random starts per round
FIRST_BUDGET = 200_000     # detection budget per job of the search done at startup (steps)
MORE_BUDGET = 1_000_000    # ... and of each "search more" job
MAX_CYCLE_RASTER = 65_536  # states of a cycle unpacked for its raster (longer cycles: the first ones)
PIN_CYCLE_BUDGET = 2_000_000


def jaccard_key(j: float) -> float:
    """Thresholds on the 0.05 grid rounded to 2 decimals, so that cached graphs are found again."""
    return round(float(j), 2)


def parse_neuron(spec: str, H: int) -> int:
    """A neuron from 'h8' or '8' (one-line input error otherwise)."""
    s = str(spec).strip().lower()
    try:
        j = int(s[1:] if s.startswith("h") else s)
    except ValueError:
        raise SatrnnInputError(f"not a neuron: {spec!r} (use h0..h{H - 1})") from None
    if not 0 <= j < H:
        raise SatrnnInputError(f"neuron {j} outside h0..h{H - 1}")
    return j


# ---- pinning ------------------------------------------------------------------------------------------

def pinned(automaton: SignAutomaton, pins) -> tuple[SignAutomaton, tuple]:
    """(the automaton with these neurons pinned, the validated pins as sorted (neuron, +-1) pairs); no pins:
    the automaton itself. The kernels hold pinned neurons in every successor (`SignAutomaton.with_pins`)."""
    if not pins:
        return automaton, ()
    aut = automaton.with_pins(pins)
    return aut, tuple(sorted(aut.pins.items()))


@dataclass(frozen=True)
class SignDynamics:
    """The sign automaton driven by the text from all -1 (pinned bits set). traj (n-1, W): beta_t after
    reading x_t, t = 0..n-2; costs (n-1,) bits of x_{t+1} under the +-1 readout; bpc their sequential mean."""

    pins: tuple
    traj: np.ndarray
    costs: np.ndarray
    bpc: float
    flips: int


def sign_dynamics(model: ElmanRNN, xs, semantics: str = "exact", pins=None,
                  automaton: SignAutomaton | None = None) -> SignDynamics:
    """Sign-only dynamics on the text (DEFINITIONS 3.5, start all -1), optionally with pinned neurons.
    `automaton`: the model's unpinned automaton in `semantics` if already built."""
    xs = as_bytes(xs)
    if xs.shape[0] < 2:
        raise SatrnnInputError("sign dynamics need at least 2 bytes of text")
    H, n1 = model.H, xs.shape[0] - 1
    aut, pins = pinned(automaton or SignAutomaton.from_model(model, semantics), pins)
    start = aut.apply_pins(all_minus(H))
    traj = aut.run(start, xs[:n1])
    costs, _ = readout_costs(model, to_signs(traj, H), xs[1:])
    prev = np.vstack([start[None, :], traj[:-1]])
    flips = int(np.bitwise_count(traj ^ prev).sum())
    return SignDynamics(pins=pins, traj=traj, costs=costs, bpc=sequential_mean(costs),
                        flips=flips)


# ---- cycles ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FoundCycle:
    """A cycle of the sign automaton under the constant input `byte`: rep = smallest state on it (hex),
    period in steps; found by `starts` searches with transients transient_min..max; first_start = the hex
    start of the first search that reached it (for re-running it, e.g. pinned)."""

    byte: int
    rep: str
    period: int
    starts: int
    transient_min: int
    transient_max: int
    first_start: str


@dataclass
class CycleBook:
    """Cycles found so far (merged over search rounds), and the bookkeeping of the rounds."""

    inputs: tuple
    seed: int
    rounds: int = 0
    jobs: int = 0
    unresolved: int = 0
    steps: int = 0
    seconds: float = 0.0
    cycles: dict = field(default_factory=dict)  # (byte, rep) -> FoundCycle

    def add(self, search: cyc.CycleSearch, starts: np.ndarray, seqs: np.ndarray, H: int) -> int:
        """Merge a search; returns the number of cycles not seen before."""
        new = 0
        for jb in range(search.status.shape[0]):
            self.jobs += 1
            self.steps += int(search.steps[jb])
            if search.status[jb] != cyc.STATUS_CYCLE:
                self.unresolved += 1
                continue
            b = int(seqs[search.job_seq[jb], 0])
            rep = search.rep_hex(jb)
            mu = int(search.mu[jb])
            old = self.cycles.get((b, rep))
            if old is None:
                new += 1
                self.cycles[(b, rep)] = FoundCycle(b, rep, int(search.lam[jb]), 1, mu, mu,
                                                   to_hex(starts[search.job_start[jb]], H))
            else:
                self.cycles[(b, rep)] = FoundCycle(b, rep, old.period, old.starts + 1, min(old.transient_min, mu),
                                                   max(old.transient_max, mu), old.first_start)
        self.seconds += search.seconds
        return new

    def sorted(self) -> list[FoundCycle]:
        """By input byte, then most starts, then period, then rep."""
        return sorted(self.cycles.values(), key=lambda c: (c.byte, -c.starts, c.period, c.rep))


def frequent_bytes(xs: np.ndarray, k: int) -> tuple[int, ...]:
    """The k most frequent bytes of the text (ties: smaller byte first)."""
    c = np.bincount(as_bytes(xs), minlength=256)
    order = np.argsort(-c, kind="stable")
    return tuple(int(b) for b in order[:k] if c[b] > 0)


def round_starts(H: int, seed: int, rnd: int, n: int = CYCLE_STARTS) -> tuple[np.ndarray, int]:
    """The random starts of search round `rnd` (seed + rnd; round 0 is the search at startup)."""
    s = int(seed) + int(rnd)
    return cyc.random_starts(H, n, s), s


def search_round(automaton: SignAutomaton, book: CycleBook, budget: int, should_stop=lambda: False,
                 n_starts: int = CYCLE_STARTS, jobs_per_call: int = 2) -> int:
    """One round of Brent searches (n_starts new seeded starts x the book's inputs), merged into the book.

    The work is cut into calls of `jobs_per_call` jobs; `should_stop()` is checked between calls, so a
    cancelled round stops within one call (the jobs done so far are kept). Returns the new cycles found."""
    H = automaton.H
    starts, _ = round_starts(H, book.seed, book.rounds, n_starts)
    seqs = np.array(book.inputs, dtype=np.uint8).reshape(-1, 1)
    js, jq = np.meshgrid(np.arange(starts.shape[0]), np.arange(seqs.shape[0]), indexing="ij")
    js, jq = js.ravel().astype(np.int64), jq.ravel().astype(np.int64)
    new = 0
    for lo in range(0, js.shape[0], jobs_per_call):
        if should_stop():
            break
        sl = slice(lo, lo + jobs_per_call)
        search = cyc.find_cycles(automaton, starts, seqs, budget, jobs=(js[sl], jq[sl]))
        new += book.add(search, starts, seqs, H)
    book.rounds += 1
    return new


def cycle_states(automaton: SignAutomaton, c: FoundCycle, cap: int = MAX_CYCLE_RASTER) -> np.ndarray:
    """Bool (min(period, cap), H): the states of the cycle from its rep, one per step (row 0 = rep)."""
    from satrnn.automaton.bitset import from_hex
    H = automaton.H
    rep = from_hex(c.rep, H)
    n = min(int(c.period), int(cap))
    seq = np.array([[c.byte]], dtype=np.uint8)
    if n <= 1:
        return unpack(rep[None, :], H)
    tr = cyc.trajectory(automaton, rep, seq, n - 1)
    return unpack(np.vstack([rep[None, :], tr]), H)


@dataclass(frozen=True)
class PinEffect:
    """Pinning neuron j to c: sign-dynamics bpc (and flips) unpinned vs pinned; the reference cycle re-run
    from its first start (pinned bit set) under its input, with period/transient/rep unpinned vs pinned
    (status 'cycle' or 'unresolved' within the budget)."""

    neuron: int
    value: int
    bpc: float
    bpc_pinned: float
    flips: int
    flips_pinned: int
    cycle_byte: int | None = None
    cycle_start: str | None = None
    period: int | None = None
    transient: int | None = None
    rep: str | None = None
    period_pinned: int | None = None
    transient_pinned: int | None = None
    rep_pinned: str | None = None
    budget: int = 0
    seconds: float = 0.0


def pin_effect(model: ElmanRNN, xs, automaton: SignAutomaton, j: int, c: int, base: SignDynamics,
               cycle: FoundCycle | None, budget: int = PIN_CYCLE_BUDGET) -> PinEffect:
    """The effect of pinning neuron j to c (+-1) on the sign-dynamics bpc and on a cycle (module docstring);
    `automaton` is the model's unpinned automaton (its semantics is used)."""
    from satrnn.automaton.bitset import from_hex
    t0 = time.perf_counter()
    aut, pins = pinned(automaton, {j: c})
    dyn = sign_dynamics(model, xs, automaton.semantics, pins, automaton=automaton)
    kw = {}
    if cycle is not None:
        H = model.H
        start = from_hex(cycle.first_start, H)
        seq = np.array([[cycle.byte]], dtype=np.uint8)
        a = cyc.find_cycles(automaton, start[None, :], seq, budget)
        b = cyc.find_cycles(aut, aut.apply_pins(start)[None, :], seq, budget)
        ok_a, ok_b = a.status[0] == cyc.STATUS_CYCLE, b.status[0] == cyc.STATUS_CYCLE
        kw = dict(cycle_byte=cycle.byte, cycle_start=cycle.first_start,
                  period=int(a.lam[0]) if ok_a else None, transient=int(a.mu[0]) if ok_a else None,
                  rep=a.rep_hex(0), period_pinned=int(b.lam[0]) if ok_b else None,
                  transient_pinned=int(b.mu[0]) if ok_b else None, rep_pinned=b.rep_hex(0), budget=int(budget))
    return PinEffect(neuron=j, value=c, bpc=base.bpc, bpc_pinned=dyn.bpc, flips=base.flips,
                     flips_pinned=dyn.flips, seconds=time.perf_counter() - t0, **kw)


# ---- the co-flip graph at a threshold ---------------------------------------------------------------

@dataclass(frozen=True)
class GraphView:
    """The co-flip graph at one Jaccard threshold: the networkx graph, its summary (communities, hubs),
    and per-neuron community and strength arrays (H,)."""

    threshold: float
    seed: int
    graph: nx.Graph
    summary: GraphSummary
    community: np.ndarray
    strength: np.ndarray


# ---- everything, once --------------------------------------------------------------------------------

STAGES = ("forward", "knockout", "margins", "saturation", "co-flip", "pattern sensitivity", "sign dynamics",
          "co-flip graph")


@dataclass
class ExploreData:
    """Everything the explorer shows for one (model, text). Arrays over neurons have shape (H,); over
    time, (n-1, H) with row t = h_t (t = 0..n-2). `graphs` caches the co-flip graph per threshold."""

    model: ElmanRNN
    xs: np.ndarray
    source: str
    semantics: str
    seed: int
    baseline_bpc: float
    hs: np.ndarray              # (n-1, H) float32 h_0..h_{n-2}
    margins: np.ndarray         # (n-1, H) float32 |z_t|
    signs: np.ndarray           # (n-1, H) bool sigma(h_t) = [h_t >= 0]
    flips_tj: np.ndarray        # (n-1, H) bool: flip of neuron j between h_{t-1} and h_t (row 0 all False)
    ko_delta: np.ndarray
    mean_margin: np.ndarray
    flips: np.ndarray
    mean_dwell: np.ndarray      # NaN for a neuron with fewer than two flips
    pattern_sensitivity: np.ndarray  # fraction of t = 0..n-2
    coflip: CoflipReport        # co-flip counts (H, H) int64 (diagonal = flips) and Jaccard (H, H) float32
    dynamics: SignDynamics
    automaton: SignAutomaton
    book: CycleBook
    graphs: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    @property
    def H(self) -> int:
        return self.model.H

    @property
    def coflips(self) -> np.ndarray:
        """(H, H) int64 co-flip counts, diagonal = flips."""
        return self.coflip.counts

    @property
    def jaccard(self) -> np.ndarray:
        """(H, H) float32 paper-compatible Jaccard."""
        return self.coflip.jaccard

    @property
    def steps(self) -> int:
        return int(self.hs.shape[0])

    def graph(self, threshold: float) -> GraphView:
        """The co-flip graph with edges Jaccard >= threshold, communities by Louvain with the data's seed."""
        key = jaccard_key(threshold)
        if not 0.0 <= key <= 1.0:
            raise SatrnnInputError(f"Jaccard threshold must be between 0 and 1, got {threshold}")
        if key not in self.graphs:
            G = coflip_graph(self.model, self.coflip, min_jaccard=key, seed=self.seed)
            summ = graph_summary(G, n_hubs=self.H)
            comm = np.array([G.nodes[j]["community"] for j in range(self.H)], dtype=np.int64)
            strength = np.array([G.nodes[j]["strength"] for j in range(self.H)], dtype=np.float64)
            self.graphs[key] = GraphView(key, self.seed, G, summ, comm, strength)
        return self.graphs[key]

    def partners(self, j: int, k: int = N_PARTNERS) -> list[dict]:
        """The k neurons with the highest Jaccard with j (ties: more co-flips, then lower id), with counts."""
        J, C = self.jaccard[j].astype(np.float64), self.coflips[j]
        cand = [i for i in range(self.H) if i != j and C[i] > 0]
        cand.sort(key=lambda i: (-J[i], -int(C[i]), i))
        return [{"neuron": i, "coflips": int(C[i]), "jaccard": float(self.jaccard[j, i])} for i in cand[:k]]

    def roles(self, j: int, n: int = 8) -> Roles:
        return promotes_demotes(self.model, j, n)

    def margin_histogram(self, j: int) -> list[tuple[str, int]]:
        """Counts of neuron j's margins |z_t| (t = 0..n-2) per decade [10^k, 10^(k+1)), plus exact zeros."""
        mu = self.margins[:, j].astype(np.float64)
        out = []
        zeros = int((mu == 0).sum())
        if zeros:
            out.append(("0", zeros))
        pos = mu[mu > 0]
        if pos.size:
            # decade edges as doubles; searchsorted compares exactly (no log10 rounding at the edges)
            lo = int(math.floor(float(em.log10(float(pos.min()))))) - 1
            hi = int(math.ceil(float(em.log10(float(pos.max()))))) + 1
            edges = np.array([float(f"1e{k}") for k in range(lo, hi + 1)])   # exact decimal parsing
            counts = np.bincount(np.searchsorted(edges, pos, side="right") - 1, minlength=edges.size)
            nz = np.flatnonzero(counts)
            for i in range(nz[0], nz[-1] + 1):
                out.append((f"[1e{lo + i}, 1e{lo + i + 1})", int(counts[i])))
        return out


def compute(model: ElmanRNN, xs, source: str = "", semantics: str = "exact", seed: int = 0,
            on_stage=None, results: Results | None = None) -> ExploreData:
    """Compute everything once, reading the analyses from the shared cache `results` (a new one for (model, xs)
    if not given; the units' own computations, so the explorer shows what the report and the ledger show).
    on_stage(index, name) is called before each stage (progress screens)."""
    from satrnn.commands.coflip import COFLIP
    from satrnn.commands.knockout import KNOCKOUT
    from satrnn.commands.margins import MARGINS
    from satrnn.commands.saturation import SATURATION
    if semantics not in SEMANTICS:
        raise SatrnnInputError(f"semantics must be exact or f32-seq, got {semantics!r}")
    xs = as_bytes(xs)
    if xs.shape[0] < 3:
        raise SatrnnInputError(f"text has {xs.shape[0]} byte(s); the explorer needs at least 3")
    if xs.shape[0] > MAX_TEXT_BYTES:
        raise SatrnnInputError(f"text has {xs.shape[0]:,} bytes; the explorer keeps per-step arrays in memory, "
                               f"use --max-bytes N with N <= {MAX_TEXT_BYTES:,}")
    results = results if results is not None else Results(model, xs)
    stage = on_stage or (lambda i, name: None)
    timings = {}
    clock = [time.perf_counter()]

    def tick(i):
        now = time.perf_counter()
        if i > 0:
            timings[STAGES[i - 1]] = now - clock[0]
        clock[0] = now
        if i < len(STAGES):
            stage(i, STAGES[i])

    H = model.H
    tick(0)
    fr = results.fwd
    hs = np.ascontiguousarray(fr.hs[:-1])
    n1 = hs.shape[0]
    tick(1)
    ko = results.get(KNOCKOUT)
    tick(2)
    mr = results.get(MARGINS)
    tick(3)
    sat = results.get(SATURATION)
    tick(4)
    co = results.get(COFLIP)
    tick(5)
    ps = pattern_sensitive(model, carriers(model, fr.hs), xs)[:-1]
    tick(6)
    aut = results.automaton(semantics)
    dyn = sign_dynamics(model, xs, semantics, automaton=aut)
    F = flip_matrix(hs)  # (H, n1-1)
    flips_tj = np.zeros((n1, H), dtype=bool)
    flips_tj[1:] = F.T
    data = ExploreData(
        model=model, xs=xs, source=source, semantics=semantics, seed=int(seed), baseline_bpc=float(fr.bpc),
        hs=hs, margins=np.abs(fr.zs[:n1]).astype(np.float32), signs=hs >= 0, flips_tj=flips_tj,
        ko_delta=np.asarray(ko.delta, dtype=np.float64),
        mean_margin=np.asarray(mr.per_neuron.mean, dtype=np.float64),
        flips=np.asarray(sat.flips, dtype=np.int64),
        mean_dwell=np.asarray(sat.mean_dwell_per_neuron_all, dtype=np.float64),
        pattern_sensitivity=ps.sum(axis=0) / n1, coflip=co, dynamics=dyn,
        automaton=aut, book=CycleBook(inputs=frequent_bytes(xs, CYCLE_INPUTS), seed=int(seed)), timings=timings)
    tick(7)
    data.graph(DEFAULT_JACCARD)
    tick(8)
    return data


def first_cycles(data: ExploreData, should_stop=lambda: False) -> int:
    """The first round of cycle searches (budget FIRST_BUDGET per job); the explorer runs it in the background
    once its first screen is up (in short calls, so that quitting does not wait). Returns the cycles found."""
    t0 = time.perf_counter()
    n = search_round(data.automaton, data.book, FIRST_BUDGET, should_stop=should_stop)
    data.timings["cycles"] = time.perf_counter() - t0
    return n


# ---- the claims ledger (published weights only) ---------------------------------------------------------

@dataclass(frozen=True)
class Ledger:
    """The claims ledger for the explorer. available: the model and text are the published ones
    (`satrnn.ledger.claims.Subject`); records: the verdict records of `satrnn.ledger.claims.evaluate` when available;
    reason: why it is not shown otherwise."""

    available: bool
    records: tuple = ()
    summary: LedgerSummary | None = None
    reason: str = ""


def ledger_subject_reason(model: ElmanRNN, xs) -> str:
    """Why the ledger is not shown for (model, xs): '' for the published weights and text (sha256 of content)."""
    from satrnn.ledger.claims import PUBLISHED_TEXT_SHA256, PUBLISHED_WEIGHTS_SHA256, Subject
    sub = Subject.of(model, as_bytes(xs))
    if not sub.published_weights:
        return (f"the ledger is shown for the published weights only (sha256 {PUBLISHED_WEIGHTS_SHA256[:12]}…); "
                f"these weights are {sub.weights_sha256[:12]}… (run satrnn verify for the measured values)")
    if not sub.published_text:
        return (f"the ledger is shown for the published text only (sha256 {PUBLISHED_TEXT_SHA256[:12]}…); "
                f"this text is {sub.text_sha256[:12]}…")
    return ""


def ledger(model: ElmanRNN, xs, on_claim=None, should_stop=lambda: False, claims=None) -> Ledger:
    """Evaluate the claims (default: every claim of the registry) on the published weights and text.

    on_claim(done, total) reports progress; should_stop() makes the remaining measurements fail fast (the
    ledger is then incomplete and marked unavailable)."""
    from satrnn.ledger import claims as registry
    from satrnn.ledger.measures import measure_claim

    reason = ledger_subject_reason(model, xs)
    if reason:
        return Ledger(False, reason=reason)
    results = Results(model, as_bytes(xs))
    claims = list(registry.CLAIMS if claims is None else claims)
    done = [0]

    def fn(c):
        if should_stop():
            raise registry.NotAvailable("explorer closed")
        done[0] += 1
        if on_claim is not None:
            on_claim(done[0], len(claims))
        return measure_claim(results, c)

    records = registry.evaluate(claims, fn, registry.Subject.of(model, results.xs))
    if should_stop():
        return Ledger(False, reason="cancelled")
    return Ledger(True, tuple(records), registry.summarize(records))


def _ledger_child(conn, model: ElmanRNN, xs, claim_ids) -> None:
    """Child process: the ledger, with progress messages ("progress", done, total) and ("done", Ledger)."""
    import os
    import sys
    devnull = os.open(os.devnull, os.O_WRONLY)  # the parent's terminal belongs to its interface
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    from satrnn.ledger import claims as registry
    claims = None if claim_ids is None else [registry.get_claim(c) for c in claim_ids]
    try:
        lg = ledger(model, xs, lambda d, t: conn.send(("progress", d, t)), claims=claims)
    except Exception as e:  # noqa: BLE001 - reported by the parent
        lg = Ledger(False, reason=f"the ledger failed: {type(e).__name__}: {e}")
    conn.send(("done", lg))
    conn.close()


def prepare_subprocesses() -> None:
    """Start multiprocessing's resource tracker now: started later, from inside a Textual app, it would pass
    the app's captured stderr (fileno -1) to the new process and fail."""
    from multiprocessing import resource_tracker
    resource_tracker.ensure_running()


def ledger_in_subprocess(model: ElmanRNN, xs, on_claim=None, should_stop=lambda: False,
                         claim_ids=None, poll: float = 0.2) -> Ledger:
    """`ledger` in a separate (daemon, spawned) process: it neither competes with the caller for the GIL nor
    delays its exit; should_stop() (polled every `poll` s) terminates it. Inside a Textual app, call
    `prepare_subprocesses()` before the app starts."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_ledger_child, args=(child, model, as_bytes(xs), claim_ids), daemon=True,
                       name="satrnn-explore-ledger")
    proc.start()
    child.close()
    try:
        while True:
            if should_stop():
                return Ledger(False, reason="cancelled")
            if parent.poll(poll):
                try:
                    msg = parent.recv()
                except EOFError:
                    return Ledger(False, reason=f"the ledger process ended without a result (exit {proc.exitcode})")
                if msg[0] == "progress":
                    if on_claim is not None:
                        on_claim(msg[1], msg[2])
                else:
                    return msg[1]
            elif not proc.is_alive() and not parent.poll():
                return Ledger(False, reason=f"the ledger process ended without a result (exit {proc.exitcode})")
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(1.0)
        parent.close()
