"""The papers' sign-automaton figures, computed once each, with their quirks (DEFINITIONS 3, 4.2-4.4).

Paper orchestration on top of the automaton's kernels and thin API (`satrnn.automaton`):
- `boolean_report`: q1_boolean (DEFINITIONS 3) on the sign automaton, with its quirks list;
- `flip_sensitivity_paper`: the q1_boolean 3.3 figure (one-step flip sensitivity at t = 42), the one
  computation of it (`boolean_report`'s "flip_sensitivity" is this result);
- `influence_graph`: q1_bool_attractor 4.2; `paper_attractor_search`: 4.3 / 4.4 as the program computes them;
- `measure_flip_spread` (the whole `satrnn cascade` measurement), `trajectory_cascades`, `paper_flip_figures`,
  `spread_candidates` (every reading of "one flip changes N neurons", side by side).
Results are typed records (`satrnn.rnn.record.Record`), documented per type.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from satrnn.automaton.bitset import all_minus, all_plus, bit_weight_sums, hamming, pack, to_hex, unpack
from satrnn.automaton.cascade import (
    CascadeSummary,
    DerridaCurve,
    cascade_summary,
    check_text,
    derrida_curve,
    flip_cascades,
    float_sign_trajectory,
    self_flip_bits,
    sign_trajectory,
    step_many,
)
from satrnn.automaton.cycles import glibc_starts, trajectory
from satrnn.automaton.distinct import DistinctStates
from satrnn.automaton.margins import check_model_text
from satrnn.automaton.sign import FallbackStats, SignAutomaton
from satrnn.automaton.sign_readout import SignReadout
from satrnn.rnn import elementary as em
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.record import Record, key
from satrnn.rnn.shared_slices import SlicePool
from satrnn.rnn.stream import fold_chunks, prediction_chunks

f32 = np.float32


# ---- q1_boolean 3.3 and q1_bool_attractor 4.2 ---------------------------------------------------------------

@dataclass(frozen=True)
class FlipSensitivity(Record):
    """q1_boolean 3.3 at step t: beta_t from all-zero bits through x_0..x_t (state in hex, its bits 0..15),
    each neuron j flipped and stepped once with x_{t+1} (input_next): c (H,) neurons that change, most_affected
    (the largest differing index, -1 if none), mean_sensitivity = fl32(sum c) / H, rows_printed (the
    program's rows: j < 10 or c_j > 10)."""
    t: int
    input_next: int
    state: str
    state_first16: str
    c: list
    most_affected: list
    mean_sensitivity: float
    rows_printed: list


def flip_sensitivity_paper(automaton, xs, t: int = 42) -> FlipSensitivity:
    """q1_boolean 3.3: beta from all-zero bits through x_0..x_t, flip each j, one step with x_{t+1}."""
    xs = check_text(xs)
    H = automaton.H
    if not 0 <= t <= xs.shape[0] - 2:
        raise SatrnnInputError(f"t must be between 0 and {xs.shape[0] - 2}, got {t}")
    beta = sign_trajectory(automaton, xs[: t + 1])[t]
    a = np.repeat(beta[None, :], H, axis=0)
    jj = np.arange(H)
    a[jj, jj >> 6] ^= np.uint64(1) << (jj & 63).astype(np.uint64)
    x = np.full(H, xs[t + 1], dtype=np.uint8)
    base = step_many(automaton, beta[None, :], x[:1])[0]
    diff = unpack(step_many(automaton, a, x) ^ base[None, :], H)
    c = diff.sum(axis=1).astype(np.int64)
    most = [int(np.nonzero(row)[0][-1]) if row.any() else -1 for row in diff]
    bits = unpack(beta, H)
    return FlipSensitivity(t=t, input_next=int(xs[t + 1]), state=to_hex(beta, H),
                           state_first16="".join("1" if v else "0" for v in bits[:16]), c=c.tolist(),
                           most_affected=most, mean_sensitivity=float(np.float32(np.float32(c.sum()) / np.float32(H))),
                           rows_printed=[j for j in range(H) if j < 10 or c[j] > 10])


INFLUENCE_ROWS = 1024     # flip positions per batch of `influence_graph`


@dataclass(frozen=True)
class InfluenceEdge(Record):
    """An edge j -> i of q1_bool_attractor 4.2's influence graph: the fraction of steps at which flipping j
    changes i's next bit."""
    source: int
    target: int
    frac: float


@dataclass(frozen=True, eq=False)
class InfluenceGraph(Record):
    """q1_bool_attractor 4.2 over `positions` steps t (first_position..last_position): frac (H, H) float32
    [j][i] = fl32(C) / |T| with C (H, H) the counts (both kept out of the JSON), mean_influence (fl32 j-major
    sum / H^2), mean_out_degree (the mean number of neurons one flip changes in one step), top_edges (strict >,
    j-major, stable), ties_at_cut, out_deg / in_deg (H,) float32 (fl32 sums of frac's rows / columns),
    self_influence (H,) (JSON key "self": frac's diagonal)."""
    positions: int
    first_position: int
    last_position: int
    frac: np.ndarray = key(json=False)
    counts: np.ndarray = key(json=False)
    mean_influence: float
    mean_out_degree: float
    top_edges: tuple[InfluenceEdge, ...]
    ties_at_cut: int
    out_deg: np.ndarray
    in_deg: np.ndarray
    self_influence: np.ndarray = key("self")


def influence_graph(automaton, states, xs, positions=None, top: int = 20) -> InfluenceGraph:
    """q1_bool_attractor 4.2: C[j][i] counts of B(sigma_t ^ e_j, x_{t+1})_i != B(sigma_t, x_{t+1})_i over t
    in positions (default 10, 13, ... < n-2); frac = fl32(C)/|T| in float32 (see `InfluenceGraph`)."""
    xs = check_text(xs)
    H = automaton.H
    n = xs.shape[0]
    t_idx = np.arange(10, n - 2, 3, dtype=np.int64) if positions is None else np.asarray(positions, np.int64)
    states = np.ascontiguousarray(states, dtype=np.uint64)
    base = step_many(automaton, states[t_idx], xs[t_idx + 1])
    C = np.zeros((H, H), dtype=np.int64)
    jj = np.arange(H)
    flip = np.zeros((H, states.shape[1]), dtype=np.uint64)
    flip[jj, jj >> 6] = np.uint64(1) << (jj & 63).astype(np.uint64)
    for lo in range(0, t_idx.shape[0], INFLUENCE_ROWS):       # bounded memory: H rows per position
        sel = t_idx[lo:lo + INFLUENCE_ROWS]
        a = (states[sel][:, None, :] ^ flip[None, :, :]).reshape(-1, states.shape[1])
        nxt = step_many(automaton, a, np.repeat(xs[sel + 1], H)).reshape(sel.shape[0], H, -1)
        C += unpack((nxt ^ base[lo:lo + sel.shape[0], None, :]).reshape(-1, states.shape[1]), H) \
            .reshape(sel.shape[0], H, H).sum(axis=0)
    T = np.float32(t_idx.shape[0])
    frac = (C.astype(np.float32) / T).astype(np.float32)
    tot = em.inorder_sum(frac.ravel(), dtype=np.float32, start=0.0)  # the program's float32 running sum, j-major
    mean_inf = np.float32(tot / np.float32(H * H))
    flat = frac.ravel()
    order = np.argsort(-flat, kind="stable")
    top_edges = tuple(InfluenceEdge(source=int(e // H), target=int(e % H), frac=float(flat[e])) for e in order[:top])
    cut = flat[order[top - 1]] if flat.size >= top else None
    ties = int((flat == cut).sum() - (flat[order[:top]] == cut).sum()) if cut is not None else 0
    out_deg = em.inorder_sum(frac, axis=1, dtype=np.float32, start=0.0)
    in_deg = em.inorder_sum(frac, axis=0, dtype=np.float32, start=0.0)
    return InfluenceGraph(positions=int(t_idx.shape[0]), first_position=int(t_idx[0]),
                          last_position=int(t_idx[-1]), frac=frac, counts=C, mean_influence=float(mean_inf),
                          mean_out_degree=float(C.sum() / T / H), top_edges=top_edges, ties_at_cut=ties,
                          out_deg=out_deg, in_deg=in_deg, self_influence=np.diag(frac).copy())


# ---- everything at once (for the CLI and the claims ledger) -----------------------------------------------

FRAGILE_MARGIN = 1.0
PAPER_T = 42


@dataclass(frozen=True, eq=False)
class TrajectoryCascades(Record):
    """`CascadeSummary` of the flip cascades along the sign trajectory (from all -1) and/or along the float
    trajectory's signs (JSON key "float"); None where not computed."""
    sign: CascadeSummary | None = key(omit_none=True, default=None)
    float_: CascadeSummary | None = key("float", omit_none=True, default=None)

    def items(self):
        """(name, summary) of the trajectories computed, sign first."""
        return [(n, c) for n, c in (("sign", self.sign), ("float", self.float_)) if c is not None]


def trajectory_cascades(automaton, model, xs, k: int, which: str = "both", on_done=None) -> TrajectoryCascades:
    """cascade_summary for the sign trajectory (from all -1) and/or the float trajectory's signs, with the
    self-bit correction and, on the float trajectory, flips at fragile neuron-steps (|z_t[j]| < 1)."""
    xs = check_text(xs)
    srcs = []
    if which in ("both", "sign"):
        srcs.append(("sign", sign_trajectory(automaton, xs), None))
    if which in ("both", "float"):
        fst, zs = float_sign_trajectory(model, xs)
        srcs.append(("float", fst, zs))
    out = {}
    for name, states, zs in srcs:
        c = flip_cascades(automaton, states, xs, k)
        selfb = self_flip_bits(automaton, states, xs, c.t)
        fragile = np.abs(zs[c.t]) < FRAGILE_MARGIN if zs is not None else None
        s = cascade_summary(c, automaton.H, selfb, fragile)
        s = replace(s, start="all -1 (beta_-1 = 0 bits, q1_boolean)" if name == "sign" else "sigma(h_t), h_-1 = 0",
                    fragile_definition=(f"|z_t[j]| < {FRAGILE_MARGIN} on the float32 trajectory"
                                        if fragile is not None else None))
        out[name] = s
        if on_done is not None:
            on_done(name)
    return TrajectoryCascades(sign=out.get("sign"), float_=out.get("float"))


@dataclass(frozen=True, eq=False)
class PaperFlipFigures(Record):
    """The papers' flip figures in their f32-seq arithmetic: q1_boolean 3.3 at t = 42 (needs n > 43) and
    q1_bool_attractor 4.2 (needs n > 13)."""
    semantics: str
    flip_sensitivity_t42: FlipSensitivity | None = key(omit_none=True, default=None)
    influence_graph: InfluenceGraph | None = key(omit_none=True, default=None)


def paper_flip_figures(model, xs, pins=None) -> PaperFlipFigures:
    """q1_boolean 3.3 at t = 42 and q1_bool_attractor 4.2 stats, in the papers' f32-seq arithmetic."""
    xs = check_text(xs)
    A = SignAutomaton.from_model(model, "f32-seq", pins=pins)
    flip = ig = None
    if xs.shape[0] > PAPER_T + 1:
        flip = flip_sensitivity_paper(A, xs, PAPER_T)
    if xs.shape[0] > 13:
        fst, _ = float_sign_trajectory(model, xs)
        ig = influence_graph(A, fst, xs)
    return PaperFlipFigures(semantics="f32-seq", flip_sensitivity_t42=flip, influence_graph=ig)


@dataclass(frozen=True)
class DerridaPair(Record):
    """Derrida curves from random pairs and from pairs along the data."""
    random: DerridaCurve
    data: DerridaCurve

    def items(self):
        return [("random", self.random), ("data", self.data)]


@dataclass(frozen=True, eq=False)
class FlipSpread(Record):
    """The whole `satrnn cascade` measurement: semantics, k, seed; the cascades along each trajectory, the
    papers' flip figures (f32-seq), the Derrida curves (when pairs were asked for), and `candidates`: every
    reading of "one sign flip changes N other neurons" measured here, side by side (name -> value): the
    paper-compatible 3.3 mean at t = 42 and 4.2 mean out-degree, the one-step cascade d_1 along each
    trajectory (with and without the flipped neuron's own bit, and at fragile neuron-steps), the mean distance
    after 2 steps, and the Derrida slopes."""
    semantics: str
    k: int
    seed: int
    cascades: TrajectoryCascades
    paper_compatible: PaperFlipFigures
    derrida: DerridaPair | None = key(omit_none=True)
    candidates: dict


def _spread_candidates(cascades: TrajectoryCascades, paper: PaperFlipFigures, derrida: DerridaPair | None):
    c = {}
    if paper.flip_sensitivity_t42 is not None:
        c["q1_boolean_3.3_mean_sensitivity_t42"] = paper.flip_sensitivity_t42.mean_sensitivity
    if paper.influence_graph is not None:
        c["q1_bool_attractor_4.2_mean_out_degree"] = paper.influence_graph.mean_out_degree
    for name, s in cascades.items():
        c[f"{name}_trajectory_mean_d1"] = s.one_step.mean
        if s.one_step_others is not None:
            c[f"{name}_trajectory_mean_d1_excluding_own_bit"] = s.one_step_others
        if s.fragile_one_step is not None:
            c[f"{name}_trajectory_mean_d1_fragile_flips"] = s.fragile_one_step.mean
        if len(s.mean_distance_by_step) > 1:
            c[f"{name}_trajectory_mean_d2"] = s.mean_distance_by_step[1]
    for name, d in (derrida.items() if derrida is not None else ()):
        c[f"derrida_slope_{name}_pairs"] = d.derrida_coefficient.mean
    return c


def measure_flip_spread(model, xs, semantics: str = "exact", k: int = 16, which: str = "both",
                        derrida_pairs: int | None = 400, seed: int = 0, on_done=None, pins=None) -> FlipSpread:
    """The whole `satrnn cascade` measurement (see `FlipSpread`). pins: {neuron: +1 or -1} held in every
    automaton."""
    xs = check_text(xs)
    A = SignAutomaton.from_model(model, semantics, pins=pins)
    cascades = trajectory_cascades(A, model, xs, k, which, on_done)
    paper = paper_flip_figures(model, xs, pins)
    derrida = None
    if derrida_pairs:
        fst, _ = float_sign_trajectory(model, xs)
        derrida = DerridaPair(random=derrida_curve(A, xs, None, derrida_pairs, seed),
                              data=derrida_curve(A, xs, fst, derrida_pairs, seed))
    return FlipSpread(semantics=semantics, k=int(k), seed=int(seed), cascades=cascades, paper_compatible=paper,
                      derrida=derrida, candidates=_spread_candidates(cascades, paper, derrida))


@dataclass(frozen=True, eq=False)
class CascadeOverview(Record):
    """A short look at flip cascades (the report's): every neuron flipped at about `flips` evenly spaced steps
    (`positions`) of the float trajectory's signs, followed k steps (`summary`), and the Derrida curve along
    the data (`derrida`)."""
    k: int
    positions: np.ndarray
    summary: CascadeSummary
    derrida: DerridaCurve


def cascade_overview(automaton, model, xs, k: int = 8, flips: int = 64, pairs: int = 64,
                     ds=(1, 2, 4, 8, 16, 32, 64), seed: int = 0) -> CascadeOverview:
    """Flip cascades of k steps at about `flips` evenly spaced steps of sigma(h_t), and the Derrida curve along
    the data from `pairs` pairs per d in ds with d <= H (seeded), with `automaton`."""
    xs = check_text(xs)
    states, _ = float_sign_trajectory(model, xs)
    n = xs.shape[0]
    t_idx = np.arange(0, max(n - 1 - k, 1), max(1, (n - 1 - k) // flips))
    c = flip_cascades(automaton, states, xs, k, t_idx=t_idx)
    return CascadeOverview(k=k, positions=t_idx, summary=cascade_summary(c, automaton.H),
                           derrida=derrida_curve(automaton, xs, states=states, pairs=pairs, seed=seed,
                                                 ds=[d for d in ds if d <= automaton.H]))


# ---- q1_bool_attractor 4.3 / 4.4 ---------------------------------------------------------------------

@dataclass(frozen=True)
class TrialClass(Record):
    """Trials of 4.3 that ended in the same state: the first such trial, how many, their percent, the state."""
    first_trial: int
    size: int
    percent: float
    state: str


@dataclass(frozen=True)
class AttractorSearch(Record):
    """q1_bool_attractor 4.3 / 4.4 as the program computes them, under the constant input byte `input` with
    glibc srand(seed): `trials` random starts run `steps` steps; unique_final_states and their classes,
    converge_steps per trial (`steps` = never), mean_convergence (fl32 sum / trials), fixed_points_reached;
    4.4: from cycle_start, `warmup` steps then `record` more, cycle_period (0 = none <= max_period). The
    starts (hex) are kept so that an honest search can reuse them."""
    input: int
    seed: int
    trials: int
    steps: int
    unique_final_states: int
    classes: tuple[TrialClass, ...]
    converge_steps: list
    mean_convergence: float
    fixed_points_reached: int
    warmup: int
    record: int
    max_period: int
    cycle_period: int
    trial_starts: list
    cycle_start: str


def paper_attractor_search(automaton, x: int, seed: int = 42, trials: int = 50, steps: int = 100,
                           warmup: int = 100, record: int = 200, max_period: int = 100) -> AttractorSearch:
    """q1_bool_attractor 4.3 "Convergence from Random States" and 4.4 "Cycle Detection" as the program
    computes them (glibc rand, fixed input x, fixed-point detection only, period <= max_period after the
    warm-up), plus the start states so that an honest search can reuse them (see `AttractorSearch`).
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
    firsts: list[int] = []           # the first trial of each class of equal final states, and its size
    sizes: list[int] = []
    for k, s in enumerate(finals):
        for i, f in enumerate(firsts):
            if np.array_equal(finals[f], s):
                sizes[i] += 1
                break
        else:
            firsts.append(k)
            sizes.append(1)
    classes = tuple(TrialClass(first_trial=f, size=n, percent=100.0 * n / trials, state=to_hex(finals[f], H))
                    for f, n in zip(firsts, sizes))
    mean_conv = float(np.float32(np.float32(sum(conv)) / np.float32(trials)))
    tr = trajectory(automaton, cstart, seq, warmup + record)
    taus = tr[warmup:]
    period = 0
    for p in range(1, max_period + 1):
        if np.array_equal(taus[record - 1], taus[record - 1 - p]):
            period = p
            break
    return AttractorSearch(input=x, seed=seed, trials=trials, steps=steps, unique_final_states=len(classes),
                           classes=classes, converge_steps=conv, mean_convergence=mean_conv,
                           fixed_points_reached=int(sum(1 for c in conv if c < steps)), warmup=warmup,
                           record=record, max_period=max_period, cycle_period=period,
                           trial_starts=[to_hex(s, H) for s in starts], cycle_start=to_hex(cstart, H))


# ---- q1_boolean (DEFINITIONS 3) ---------------------------------------------------------------------------

def paper_hashes(words: np.ndarray, H: int) -> np.ndarray:
    """3.6 for every row of packed states (m, W): hash = sum_j beta[j] 31^(H-1-j) mod 2^64 (uint64).

    Horner's rule in wrapping 64-bit arithmetic equals this sum of bits times powers of 31 mod 2^64, so the
    rows are hashed as weighted bit sums (`automaton.bitset.bit_weight_sums`) instead of bit by bit."""
    p = np.empty(H, dtype=np.uint64)
    acc = 1
    for j in range(H - 1, -1, -1):             # p[j] = 31^(H-1-j) mod 2^64
        p[j] = acc
        acc = (acc * 31) & 0xFFFFFFFFFFFFFFFF
    return bit_weight_sums(words, H, p)


@dataclass(frozen=True)
class SignDynamicsSummary(Record):
    """3.5: the sign dynamics driven by the text over t = 0..n-2: bpc of the +-1 readout, total flips and
    mean flips per step (fl32(sum) / (n-1))."""
    bpc: float
    total_flips: int
    mean_flips: float


class _Dynamics:
    """3.5 streamed: the sign trajectory from `start`, stepped chunk by chunk (the state carried), with
    the flip count and the readout costs accumulated in index order (identical to the whole-text run)."""

    def __init__(self, aut: SignAutomaton, model: ElmanRNN, start: np.ndarray, distinct: bool = False,
                 readout: SignReadout | None = None):
        self.aut, self.model, self.state = aut, model, start
        self.readout = SignReadout.of(model) if readout is None else readout
        self.flips = 0
        self.cost = em.SequentialSum()
        self.distinct = DistinctStates(aut.W) if distinct else None
        # 3.6's hashes of the states, as they come: the hashes of the distinct states are the hashes of all
        # states, so no second pass over the distinct set is needed
        self.hashes = DistinctStates(1) if distinct else None

    def advance(self, x_in: np.ndarray, x_next: np.ndarray, slices: SlicePool | None = None):
        """Step the trajectory over one chunk: (its states beta_{t0} .. beta_{t0+m-1}, and a function that
        folds in their readout costs and distinct states). With `slices`, the readout runs as slices on that
        pool until the function is called (so the caller can step another trajectory meanwhile)."""
        traj = self.aut.run(self.state, x_in)                          # beta_{t0} .. beta_{t0+m-1}
        self.flips += int(hamming(traj[0], self.state)) + int(hamming(traj[1:], traj[:-1]).sum())
        self.state = traj[-1]
        if slices is None:
            job, costs = None, self.readout.costs(traj, x_next)     # = readout_costs of the +-1 vectors
        else:
            job, costs = self.readout.start_costs(traj, x_next, slices)

        def finish():
            if self.distinct is not None:
                self.distinct.add(traj)
                self.hashes.add(paper_hashes(traj, self.model.H)[:, None])
            if job is not None:
                job.finish()
            self.cost.add(costs)
        return traj, finish

    def summary(self, n1: int) -> SignDynamicsSummary:
        # float(sum)/n1 with the sum in index order: what sequential_mean computes on the whole vector
        return SignDynamicsSummary(bpc=float(self.cost.value) / n1, total_flips=self.flips,
                                   mean_flips=float(f32(f32(self.flips) / f32(n1))))


@dataclass(frozen=True)
class WhSignStructure(Record):
    """3.1: W_h entries > 0.001f, < -0.001f and in between; mean of the positive ones and of |negative| ones."""
    positive: int
    negative: int
    near_zero: int
    mean_positive: float
    mean_negative: float


@dataclass(frozen=True)
class BooleanNeurons(Record):
    """3.2 per neuron i (lists of H): fan-in (|Wh[i, j]| > 0.1f), bias, the program's 'threshold'
    (fl32(bh + max |Wx|) / fl32 sum |Wh[i]|), the dominant input j (largest |Wh[i, j]|, strict >) and its
    |weight|."""
    fan_in: list
    bias: list
    threshold: list
    dominant: list
    dominant_weight: list


@dataclass(frozen=True)
class ByteSensitivity(Record):
    """3.4 at t = 42: for each of the 256 input bytes x, the Hamming distance between B(beta_42, x) and
    B(beta_42, x_43): counts, min, max, mean, the actual byte x_43 and the minimum without it (corrected)."""
    counts: list
    min: int
    max: int
    mean: float
    actual_byte: int
    min_excluding_actual_byte: int


@dataclass(frozen=True)
class UniqueStates(Record):
    """3.6: distinct sign states of the dynamics by the papers' hash and exactly, their difference, the
    steps, and log2 of the hash count."""
    unique_hash: int
    unique_exact: int
    hash_collisions: int
    steps: int
    entropy_bits: float


@dataclass(frozen=True)
class FloatVsSign(Record):
    """Neuron-steps where sigma(h_t) of the float run differs from beta_t of the sign dynamics from all -1 /
    from all +1, of neuron_steps = H (n-1), and the first t of a difference (-1 if none)."""
    minus_start: int
    plus_start: int
    neuron_steps: int
    first_t_minus: int
    first_t_plus: int


@dataclass(frozen=True)
class BooleanReport(Record):
    """q1_boolean (DEFINITIONS 3) with the sign automaton in `semantics` over n = n_bytes bytes (steps = n-1):
    wh_sign_structure (3.1), per_neuron (3.2), mean_fan_in (fl32(sum)/H), printed_neurons (i < 20, fan-in < 5
    or > 50); flip_sensitivity (3.3) and input_byte_sensitivity (3.4), None when n < 44; dynamics (3.5, from
    all -1, the papers' start) and dynamics_plus_start (from all +1 = the sign of h = 0, a labelled
    alternative); unique (3.6); float_vs_sign; fallbacks (the automaton's counters over all of it); quirks."""
    semantics: str
    H: int
    n_bytes: int
    steps: int
    wh_sign_structure: WhSignStructure
    per_neuron: BooleanNeurons
    mean_fan_in: float
    printed_neurons: list
    flip_sensitivity: FlipSensitivity | None
    input_byte_sensitivity: ByteSensitivity | None
    dynamics: SignDynamicsSummary
    dynamics_plus_start: SignDynamicsSummary
    unique: UniqueStates
    float_vs_sign: FloatVsSign
    fallbacks: FallbackStats
    quirks: list


HEAD_BYTES = 44    # 3.3 / 3.4 look at x_0..x_43 only


def boolean_report(model: ElmanRNN, xs, semantics: str = "f32-seq", progress=None) -> BooleanReport:
    """q1_boolean (DEFINITIONS 3) of a text held in memory: `boolean_fold` fed by one streamed forward pass."""
    xs = check_model_text(model, xs)
    n1 = xs.shape[0] - 1
    tick = None if progress is None else (lambda done: progress(done, n1))
    (result,) = fold_chunks(prediction_chunks(model, xs, progress=tick, ahead=True),
                            boolean_fold(model, xs.shape[0], xs[:HEAD_BYTES], semantics))
    return result


def boolean_fold(model: ElmanRNN, n_bytes: int, head, semantics: str = "f32-seq", slices: SlicePool | None = None):
    """q1_boolean (DEFINITIONS 3) with the sign automaton in `semantics` ("f32-seq" = the papers' step B).

    The result is a `BooleanReport`.
    Streamed (issue 19): 3.5, 3.6 and float_vs_sign advance the float run and both sign trajectories chunk
    by chunk (rnn.stream.CHUNK bytes, the sign state carried across chunks); every value equals the
    whole-text computation. Memory: O(chunk x H) plus 3.6's set of distinct states (`DistinctStates`, in
    memory up to its cap, then on disk).
    A fold (rnn.stream.fold_chunks) over the `rnn.stream.PredictionChunk`s of a text of n = n_bytes bytes,
    whose first bytes `head` (at least min(n, HEAD_BYTES)) serve 3.3 / 3.4. slices: a
    `rnn.shared_slices.SlicePool` shared with the pass's other folds, for the two readouts (the same bits).
    """
    if n_bytes < 2:
        raise SatrnnInputError(f"text has {n_bytes} byte(s); this analysis needs at least 2")
    xs = as_bytes(head)[:HEAD_BYTES]     # 3.3 / 3.4 only
    if xs.shape[0] < min(int(n_bytes), HEAD_BYTES):
        raise SatrnnInputError(f"boolean_fold needs the text's first {min(int(n_bytes), HEAD_BYTES)} bytes")
    H = model.H
    n1 = int(n_bytes) - 1
    aut = SignAutomaton.from_model(model, semantics)
    Wh = model.Wh
    thr = f32(0.001)
    pos, neg = Wh > thr, Wh < -thr
    wh = WhSignStructure(positive=int(pos.sum()), negative=int(neg.sum()),
                         near_zero=int(Wh.size - pos.sum() - neg.sum()),
                         mean_positive=float(em.inorder_sum(Wh[pos])) / max(1, int(pos.sum())),
                         mean_negative=float(em.inorder_sum(-Wh[neg])) / max(1, int(neg.sum())))
    # 3.2
    fan_in = (np.abs(Wh) > f32(0.1)).sum(axis=1).astype(int)
    maxwx = np.abs(model.Wx).max(axis=1)
    thresholds, dom, domw = [], [], []
    for i in range(H):
        Ti = em.inorder_sum(np.abs(Wh[i]), dtype=np.float32, start=0.0)
        thresholds.append(float(f32(f32(model.bh[i] + maxwx[i]) / Ti)) if Ti != 0 else 0.0)
        best, arg = f32(0.0), -1
        for j in range(H):
            if abs(Wh[i, j]) > best:
                best, arg = abs(Wh[i, j]), j
        dom.append(arg)
        domw.append(float(best))
    per_neuron = BooleanNeurons(fan_in=fan_in.tolist(), bias=model.bh.astype(np.float64).tolist(),
                                threshold=thresholds, dominant=dom, dominant_weight=domw)
    mean_fan_in = float(f32(f32(int(fan_in.sum())) / f32(H)))
    printed = [i for i in range(H) if i < 20 or fan_in[i] < 5 or fan_in[i] > 50]
    # 3.3 / 3.4 at t = 42 (start all -1)
    minus = all_minus(H)
    flip = byte_sens = None
    if xs.shape[0] >= 44:
        flip = flip_sensitivity_paper(aut, xs, 42)
        b42 = aut.run(minus, xs[:43])[42]
        base = aut.step(b42, int(xs[43]))
        bc = [hamming(aut.step(b42, x), base) for x in range(256)]
        others = [c for x, c in enumerate(bc) if x != int(xs[43])]
        byte_sens = ByteSensitivity(counts=bc, min=int(min(bc)), max=int(max(bc)), mean=float(em.inorder_sum(bc)) / 256,
                                    actual_byte=int(xs[43]), min_excluding_actual_byte=int(min(others)))
    # 3.5 / 3.6 and float vs sign, streamed: the float run (rnn.stream) and both sign trajectories advance
    # chunk by chunk over t = 0..n-2, so memory is O(chunk x H) plus the distinct-state set of 3.6
    readout = SignReadout.of(model)
    dm = _Dynamics(aut, model, minus, distinct=True, readout=readout)
    dp = _Dynamics(aut, model, all_plus(H), readout=readout)
    d_minus = d_plus = 0
    first_minus = first_plus = -1
    try:
        while (chunk := (yield)) is not None:
            t0, hs, x_in, x_next = chunk.t0, chunk.hs, chunk.x, chunk.x_next
            trm, fold_m = dm.advance(x_in, x_next, slices)
            trp, fold_p = dp.advance(x_in, x_next, slices)
            fl = pack(hs >= 0)
            dmin = hamming(fl, trm)
            dplus = hamming(fl, trp)
            fold_m()
            fold_p()
            d_minus += int(dmin.sum())
            d_plus += int(dplus.sum())
            if first_minus < 0 and dmin.any():
                first_minus = t0 + int(np.flatnonzero(dmin)[0])
            if first_plus < 0 and dplus.any():
                first_plus = t0 + int(np.flatnonzero(dplus)[0])
        ue, uh = dm.distinct.count(), dm.hashes.count()
    finally:
        dm.distinct.close()      # the spill files (if any) go now, also on Ctrl-C or an error
        dm.hashes.close()
    unique = UniqueStates(unique_hash=uh, unique_exact=ue, hash_collisions=ue - uh, steps=n1,
                          entropy_bits=float(em.log2(float(uh))))
    fvs = FloatVsSign(minus_start=d_minus, plus_start=d_plus, neuron_steps=H * n1, first_t_minus=first_minus,
                      first_t_plus=first_plus)
    quirks = [
        "3.2: 'threshold' adds the largest |Wx| over all 256 bytes to the signed bias; it is not a flip threshold",
        "3.3/3.5: the Boolean start is all -1 (all-zero bits), not the float run's h = 0 (whose sign is all +1); "
        "dynamics_plus_start gives the latter",
        "3.4: min = 0 is trivial because the actual byte x_43 is among the 256 alternatives "
        "(min_excluding_actual_byte is the corrected minimum)",
        "3.6: the hash can collide; unique_exact counts distinct bit vectors",
    ]
    return BooleanReport(semantics=semantics, H=H, n_bytes=int(n_bytes), steps=n1, wh_sign_structure=wh,
                         per_neuron=per_neuron, mean_fan_in=mean_fan_in, printed_neurons=printed,
                         flip_sensitivity=flip, input_byte_sensitivity=byte_sens, dynamics=dm.summary(n1),
                         dynamics_plus_start=dp.summary(n1), unique=unique, float_vs_sign=fvs,
                         fallbacks=aut.fallback_stats(), quirks=quirks)
