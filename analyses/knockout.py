"""Readout knockout, kept subsets, sign-only readout and pruning tables (DEFINITIONS 7 q3_neurons, 8 q5_redux).

All bpc values are means over the n-1 predictions (DEFINITIONS 0.5) and identical to rerunning the float32
reference forward with the modified model (`automaton.redux`). Rankings use a stable sort (DEFINITIONS 0.9);
exact ties among ranking keys are reported under "ties" because the ranking feeds later computations
(cumulative and kept subsets).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from satrnn.automaton.redux import (
    ReadoutCache,
    Redux,
    ReduxDescription,
    ReduxParams,
    evaluate,
    evaluate_many,
    live_neurons,
    shrink,
)
from satrnn.rnn import elementary as em
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.record import Record, key
from satrnn.rnn.text import display_byte

# The grids of the reference programs (DEFINITIONS 7.2, 7.3, 8.2).
PRINTED_CUMULATIVE_K = tuple(range(0, 21)) + tuple(range(30, 121, 10)) + (128,)
PRINTED_KEEP_K = tuple(range(1, 21)) + tuple(range(30, 121, 10)) + (128,)
PRUNE_THETAS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0, 10.0)
COMBINED_K = (5, 10, 15, 20, 30, 128)
COMBINED_THETAS = (0.0, 1.0, 2.0, 3.0)
PERCENTILES = (10, 25, 50, 75, 90, 95, 99)
REDUX_K, REDUX_THETA = 15, 2.0  # DEFINITIONS 8.4's hard-coded redux
UNIFORM_BITS = 8.0


def tie_groups(keys: np.ndarray, order: np.ndarray) -> list[list[int]]:
    """Groups (of >= 2 ids, in rank order) whose ranking keys are exactly equal."""
    groups, cur = [], [int(order[0])] if len(order) else []
    for a in order[1:]:
        if keys[a] == keys[cur[-1]]:
            cur.append(int(a))
        else:
            if len(cur) > 1:
                groups.append(cur)
            cur = [int(a)]
    if len(cur) > 1:
        groups.append(cur)
    return groups


def rank_desc(keys: np.ndarray) -> np.ndarray:
    """Ids sorted by key descending, stable (equal keys keep ascending id order)."""
    return np.argsort(-np.asarray(keys), kind="stable")


def wy_column_norms(model: ElmanRNN) -> np.ndarray:
    """|Wy col|(j) = sqrt(sum_o dbl(fl32(Wy[o, j]^2))), the double sum in o order (DEFINITIONS 7.1)."""
    sq = (model.Wy * model.Wy).astype(np.float32)
    return np.sqrt(em.inorder_sum(sq, axis=0))


@dataclass(frozen=True)
class ByteWeight(Record):
    """An output byte o of a neuron's readout: the byte, its display character, Wy[o, j]."""
    byte: int  # output byte o
    char: str  # display char
    weight: float  # Wy[o, j]


@dataclass(frozen=True)
class Roles(Record):
    """A neuron's readout roles (DEFINITIONS 7.5): the n bytes with the largest Wy[o, j] (descending) and the n
    smallest (ascending)."""
    promotes: tuple[ByteWeight, ...]  # n largest Wy[o, j], descending
    demotes: tuple[ByteWeight, ...]  # n smallest, ascending


@dataclass(frozen=True)
class NeuronRoles(Record):
    """`Roles` of one neuron of a list."""
    neuron: int
    promotes: tuple[ByteWeight, ...]
    demotes: tuple[ByteWeight, ...]


def _roles(model: ElmanRNN, j: int, n: int = 5) -> tuple:
    r = promotes_demotes(model, j, n)
    return r.promotes, r.demotes


def promotes_demotes(model: ElmanRNN, j: int, n: int = 5) -> Roles:
    """The n bytes with the largest Wy[o, j] (descending) and the n smallest (ascending) (DEFINITIONS 7.5)."""
    col = model.Wy[:, j]
    up = np.argsort(-col, kind="stable")[:n]
    down = np.argsort(col, kind="stable")[:n]
    f = lambda idx: tuple(ByteWeight(byte=int(o), char=display_byte(int(o)), weight=float(col[o])) for o in idx)
    return Roles(promotes=f(up), demotes=f(down))


def unigram_entropy(xs: np.ndarray) -> float:
    """Entropy in bits of the empirical distribution of the predicted bytes x_1..x_{n-1} (a corrected
    'no model' reference for the percentage of gain)."""
    c = np.bincount(np.asarray(xs[1:], dtype=np.int64), minlength=256).astype(np.float64)
    p = c[c > 0] / c.sum()
    return float(-(p * em.log2(p)).sum())


# ---- q3_neurons --------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class NeuronKnockout(Record):
    """Single-neuron readout knockout (DEFINITIONS 7.1). order: (H,) int, neurons by delta descending (stable,
    pi); rank: (H,) int, r(j) (rank[order] = 0..H-1); bpc_ko, delta (= bpc_ko - baseline), wy_col_norm,
    mean_abs_h: (H,) float64 per neuron j; ties: groups of neurons with exactly equal delta, in rank order;
    baseline_bpc: bits per character of the unmodified model and exact_cell_fraction (the fraction of logit
    cells the readout cache evaluated exactly) belong to the report that holds this one (`NeuronsReport`),
    so the JSON of this part (`satrnn knockout --json`'s `knockout`) leaves them out."""
    order: np.ndarray
    rank: np.ndarray
    bpc_ko: np.ndarray
    delta: np.ndarray
    wy_col_norm: np.ndarray
    mean_abs_h: np.ndarray
    ties: list
    baseline_bpc: float = key(json=False)
    exact_cell_fraction: float = key(json=False)

    @property
    def bpc(self) -> np.ndarray:
        """(H,) bpc with neuron j's readout knocked out (the Python API's name for bpc_ko)."""
        return self.bpc_ko


def neuron_knockout(model: ElmanRNN, xs, cache: ReadoutCache | None = None, on_chunk=None) -> NeuronKnockout:
    """Single-neuron readout knockout (DEFINITIONS 7.1), exact (see NeuronKnockout)."""
    cache = cache or ReadoutCache(model, xs)
    B = cache.baseline
    bpc_ko = cache.knockout_bpcs(on_chunk=on_chunk)
    delta = bpc_ko - B
    order = rank_desc(delta)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    mean_abs_h = em.inorder_sum(np.abs(cache.hs), axis=0) / cache.hs.shape[0]
    return NeuronKnockout(baseline_bpc=B, bpc_ko=bpc_ko, delta=delta, order=order, rank=rank,
                          wy_col_norm=wy_column_norms(model), mean_abs_h=mean_abs_h, ties=tie_groups(delta, order),
                          exact_cell_fraction=cache.exact_fraction)


def _ks(H: int, ks) -> np.ndarray:
    """The k values to evaluate: 0..H, or the given ones (sorted, distinct, those in 0..H)."""
    if ks is None:
        return np.arange(H + 1)
    return np.array(sorted({int(k) for k in ks if 0 <= int(k) <= H}), dtype=np.int64)


class _ByK(Record):
    """Values evaluated at several k (number of neurons): value arrays aligned with `k`."""

    def at(self, k: int, field: str = "bpc") -> float | None:
        """The value of `field` at k (None when k was not evaluated)."""
        i = int(np.searchsorted(self.k, k))
        return float(getattr(self, field)[i]) if i < self.k.size and self.k[i] == k else None


@dataclass(frozen=True, eq=False)
class Cumulative(_ByK):
    """Cumulative removal (DEFINITIONS 7.2): bpc with the Wy columns of the top-k knockout neurons zeroed;
    k (m,) int, bpc and delta (= bpc - baseline) (m,) float64 aligned with k."""
    k: np.ndarray
    bpc: np.ndarray
    delta: np.ndarray


@dataclass(frozen=True, eq=False)
class KeepTopK(_ByK):
    """Keep-top-k (DEFINITIONS 7.3): bpc keeping only the Wy columns of the top-k knockout neurons; k (m,),
    bpc (m,), pct_of_gain = 100 (8 - bpc) / (8 - B) (paper-compatible, 8-bit reference) and
    pct_of_gain_unigram (the unigram entropy `unigram_bits` of the predicted bytes as the reference, corrected)."""
    k: np.ndarray
    bpc: np.ndarray
    pct_of_gain: np.ndarray
    unigram_bits: float
    pct_of_gain_unigram: np.ndarray


@dataclass(frozen=True, eq=False)
class SignOnly(Record):
    """Per-neuron sign-only readout (DEFINITIONS 7.4): sd(j) = bpc with h_j -> sign(h_j) minus B, (H,); bpc =
    B + sd; abs_sd_f32 = |float32(sd)|, the ranking key; order (|sd| descending, stable); knockout_rank (the
    knockout's rank of each neuron); ties: equal-key groups."""
    sd: np.ndarray
    bpc: np.ndarray
    abs_sd_f32: np.ndarray
    order: np.ndarray
    knockout_rank: np.ndarray
    ties: list


def _first_k_masks(H: int, order: np.ndarray, ks) -> tuple[np.ndarray, np.ndarray]:
    """(k values, (len(ks), H) bool masks): row i marks the neurons order[0..k_i - 1]."""
    k_arr = _ks(H, ks)
    masks = np.zeros((k_arr.size, H), dtype=bool)
    for i, k in enumerate(k_arr):
        masks[i, order[:k]] = True
    return k_arr, masks


def cumulative_removal(cache: ReadoutCache, order: np.ndarray, ks=None) -> Cumulative:
    """bpc with the Wy columns of order[0..k-1] zeroed (DEFINITIONS 7.2), for k = 0..H or the given ks."""
    k_arr, first_k = _first_k_masks(cache.H, order, ks)
    bpc = cache.bpcs(~first_k)
    return Cumulative(k=k_arr, bpc=bpc, delta=bpc - cache.baseline)


def keep_top_k(cache: ReadoutCache, order: np.ndarray, xs, ks=None) -> KeepTopK:
    """bpc keeping only the Wy columns of order[0..k-1] (DEFINITIONS 7.3), for k = 0..H or the given ks."""
    k_arr, first_k = _first_k_masks(cache.H, order, ks)
    bpc = cache.bpcs(first_k)
    B = cache.baseline
    U = unigram_entropy(xs)
    return KeepTopK(k=k_arr, bpc=bpc, pct_of_gain=100.0 * (UNIFORM_BITS - bpc) / (UNIFORM_BITS - B), unigram_bits=U,
                    pct_of_gain_unigram=100.0 * (U - bpc) / (U - B))


def sign_only(cache: ReadoutCache, rank: np.ndarray) -> SignOnly:
    """Per-neuron sign-only readout (DEFINITIONS 7.4): sd(j) = bpc with h_j -> sign(h_j) minus B.

    order ranks |float32(sd)| descending (stable); ties lists equal-key groups.
    """
    sd = cache.sign_only_bpcs() - cache.baseline
    key_ = np.abs(sd.astype(np.float32))
    order = rank_desc(key_)
    return SignOnly(sd=sd, bpc=cache.baseline + sd, abs_sd_f32=key_, order=order, knockout_rank=rank,
                    ties=tie_groups(key_, order))


@dataclass(frozen=True, eq=False)
class NeuronsReport(Record):
    """Everything q3_neurons prints (DEFINITIONS 7.1-7.5) over the `predictions` = n-1 predictions of a text:
    the knockout, cumulative removal and keep-top-k at the evaluated k, the sign-only readout, and the readout
    roles of the `top` knockout neurons."""
    H: int
    predictions: int
    baseline_bpc: float
    knockout: NeuronKnockout
    cumulative: Cumulative
    keep_top_k: KeepTopK
    sign_only: SignOnly
    top_neurons: tuple[NeuronRoles, ...]


def neurons_report(model: ElmanRNN, xs, cache: ReadoutCache | None = None, top: int = 10,
                   on_stage=None, knockout: NeuronKnockout | None = None, ks=None) -> NeuronsReport:
    """Everything q3_neurons prints, computed exactly (DEFINITIONS 7.1-7.5). `knockout`: the
    `neuron_knockout` of this model and text, when already computed; `ks`: the k values of cumulative
    removal and keep-top-k (default 0..H)."""
    stage = on_stage or (lambda name: None)
    cache = cache or ReadoutCache(model, xs)
    stage("knockout")
    ko = knockout if knockout is not None else neuron_knockout(model, xs, cache)
    stage("cumulative")
    cum = cumulative_removal(cache, ko.order, ks)
    stage("keep-top-k")
    keep = keep_top_k(cache, ko.order, xs, ks)
    stage("sign-only")
    so = sign_only(cache, ko.rank)
    roles = tuple(NeuronRoles(int(j), *_roles(model, int(j))) for j in ko.order[:top])
    return NeuronsReport(H=model.H, predictions=int(cache.hs.shape[0]), baseline_bpc=ko.baseline_bpc, knockout=ko,
                         cumulative=cum, keep_top_k=keep, sign_only=so, top_neurons=roles)


# ---- q5_redux ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WeightDistribution(Record):
    """|W| over the n entries of a matrix (DEFINITIONS 8.3): percentiles p -> a[floor(p N / 100)] of the
    ascending float32 magnitudes, min, max and the double mean."""
    n: int
    percentiles: dict
    min: float
    max: float
    mean: float


def weight_distribution(W: np.ndarray) -> WeightDistribution:
    """|W| percentiles a[floor(p N / 100)] of the ascending float32 magnitudes, min, max, double mean
    (DEFINITIONS 8.3)."""
    a = np.sort(np.abs(np.asarray(W, dtype=np.float32)).ravel())
    N = a.size
    pct = {int(p): float(a[(p * N) // 100]) for p in PERCENTILES}
    return WeightDistribution(n=int(N), percentiles=pct, min=float(a[0]), max=float(a[-1]),
                              mean=float(em.inorder_sum(a) / N))


def _keep_ids(order: np.ndarray, k: int) -> np.ndarray:
    return np.sort(np.asarray(order[:k]))


@dataclass(frozen=True, eq=False)
class PruningGrids:
    """The q5 configuration grids (DEFINITIONS 8.2) and seed 001's minimal-model configurations, as `Redux`
    descriptions: Wh pruning, Wx pruning, top-k x Wh pruning, and the synthesis table."""
    wh: list
    wx: list
    combined: list
    synthesis: list

    def all(self) -> list:
        return [*self.wh, *self.wx, *self.combined, *self.synthesis]


def pruning_reduxes(order: np.ndarray, H: int) -> PruningGrids:
    """The q5 configuration grids (DEFINITIONS 8.2) plus the configurations of seed 001's minimal-model
    table, as Redux descriptions."""
    wh = [Redux(wh_threshold=t, label=f"Wh<{t}") for t in PRUNE_THETAS]
    wx = [Redux(wx_threshold=t, label=f"Wx<{t}") for t in PRUNE_THETAS]
    comb = [Redux(keep=_keep_ids(order, k), wh_threshold=t, label=f"top{k}+Wh<{t}")
            for k in COMBINED_K if k <= H for t in COMBINED_THETAS]
    synth = [Redux(keep=_keep_ids(order, 20), label="top20"),
             Redux(keep=_keep_ids(order, 20), wh_threshold=3.0, label="top20+Wh<3"),
             Redux(keep=_keep_ids(order, 15), wh_threshold=3.0, label="top15+Wh<3"),
             Redux(wh_threshold=3.0, label="Wh<3"),
             Redux(wh_threshold=4.0, label="Wh<4")]
    return PruningGrids(wh=wh, wx=wx, combined=comb, synthesis=synth)


@dataclass(frozen=True)
class NeuronDelta(Record):
    """A neuron and its knockout delta bpc."""
    neuron: int  # j
    delta: float  # bits: knocked-out bpc - baseline


@dataclass(frozen=True)
class PruningRow(Record):
    """Entries |w| < theta of one matrix zeroed (n_zeroed, pct_zeroed percent), dynamics re-run: bpc, delta."""
    theta: float  # threshold
    n_zeroed: int  # entries zeroed
    pct_zeroed: float  # percent of the matrix
    bpc: float  # bits per byte, re-run
    delta: float  # bits: bpc - baseline


@dataclass(frozen=True)
class CombinedRow(Record):
    """Top-k readout neurons kept (wy_pct_kept percent of the columns) and Wh pruned at theta (wh_kept entries,
    wh_pct_kept percent): bpc, delta, and params counted by DEFINITIONS 8.4's rule."""
    k: int
    theta: float
    wy_pct_kept: float
    wh_kept: int
    wh_pct_kept: float
    bpc: float
    delta: float
    params: int


@dataclass(frozen=True)
class SynthesisRow(Record):
    """One of seed 001's minimal-model configurations: label, kept readout neurons k, Wh threshold, bpc,
    delta, params (8.4's rule), the live neurons of the shrunk model and its non-zero and stored parameters."""
    label: str
    k: int
    wh_threshold: float | None
    bpc: float
    delta: float
    params: int
    live_neurons: int
    shrunk_params_nonzero: int
    shrunk_params_stored: int


@dataclass(frozen=True, eq=False)
class ReduxReport(Record):
    """Everything q5_redux prints (DEFINITIONS 8.1-8.4), plus seed 001's minimal-model configurations:
    baseline_bpc, H, ties in the knockout ranking; the Wh / Wx pruning rows, the combined (top-k x theta)
    rows, the synthesis rows; the |Wh| distribution; the parameter count of 8.4's redux (k = 15, theta = 2.0);
    knockout_top10 (neuron, delta) when the report ranked the neurons itself or was given the knockout."""
    baseline_bpc: float  # bits per byte
    H: int  # neurons
    ties: list  # equal-delta groups of the ranking
    wh_pruning: tuple[PruningRow, ...]  # one row per theta
    wx_pruning: tuple[PruningRow, ...]  # one row per theta
    combined: tuple[CombinedRow, ...]  # top-k x theta
    synthesis: tuple[SynthesisRow, ...]  # seed 001's minimal models
    weight_distribution: WeightDistribution  # |Wh| percentiles
    param_count: ReduxParams  # 8.4's redux (k = 15, theta = 2)
    knockout_top10: tuple[NeuronDelta, ...] | None = key(omit_none=True, default=None)


def redux_report(model: ElmanRNN, xs, cache: ReadoutCache | None = None, order: np.ndarray | None = None,
                 on_done=None, knockout: NeuronKnockout | None = None) -> ReduxReport:
    """Everything q5_redux prints (DEFINITIONS 8.1-8.4), plus seed 001's minimal-model configurations (see
    `ReduxReport`). The ranking: `knockout` if given, else `order` if given (then no ties and no
    knockout_top10 are reported), else the knockout computed here."""
    cache = cache or ReadoutCache(model, xs)
    if knockout is None and order is None:
        knockout = neuron_knockout(model, xs, cache)
    if knockout is not None:
        order, ties = knockout.order, knockout.ties
        top10 = tuple(NeuronDelta(int(j), float(knockout.delta[j])) for j in order[:10])
    else:
        ties, top10 = [], None
    B = cache.baseline
    grids = pruning_reduxes(order, model.H)
    bpcs = evaluate_many(model, xs, grids.all(), cache=cache, on_done=on_done)
    it = iter(bpcs)
    pruning = {}
    for name, n_total in (("wh", model.Wh.size), ("wx", model.Wx.size)):
        rows = []
        for r in getattr(grids, name):
            b = next(it)
            kept = int((r.wh_keep(model) if name == "wh" else r.wx_keep(model)).sum())
            rows.append(PruningRow(theta=r.wh_threshold if name == "wh" else r.wx_threshold, n_zeroed=n_total - kept,
                                   pct_zeroed=100.0 * (n_total - kept) / n_total, bpc=float(b), delta=float(b - B)))
        pruning[name] = tuple(rows)
    combined = []
    for r in grids.combined:
        b = next(it)
        k = int(r.keep_mask(model.H).sum())
        whk = int(r.wh_keep(model).sum())
        combined.append(CombinedRow(k=k, theta=r.wh_threshold, wy_pct_kept=100.0 * k / model.H, wh_kept=whk,
                                    wh_pct_kept=100.0 * whk / model.Wh.size, bpc=float(b), delta=float(b - B),
                                    params=r.param_count(model).total))
    synthesis = []
    for r in grids.synthesis:
        b = next(it)
        small = shrink(model, r)
        synthesis.append(SynthesisRow(
            label=r.label, k=int(r.keep_mask(model.H).sum()), wh_threshold=r.wh_threshold, bpc=float(b),
            delta=float(b - B), params=r.param_count(model).total, live_neurons=len(small.meta["neuron_ids"]),
            shrunk_params_nonzero=int(sum(int(np.count_nonzero(a)) for a in small.arrays().values())),
            shrunk_params_stored=small.n_params))
    pc = Redux(keep=_keep_ids(order, REDUX_K), wh_threshold=REDUX_THETA).param_count(model)
    return ReduxReport(baseline_bpc=B, H=model.H, ties=ties, wh_pruning=pruning["wh"], wx_pruning=pruning["wx"],
                       combined=tuple(combined), synthesis=tuple(synthesis),
                       weight_distribution=weight_distribution(model.Wh),
                       param_count=replace(pc, k=REDUX_K, theta=REDUX_THETA), knockout_top10=top10)


@dataclass(frozen=True)
class SmallModel(Record):
    """A shrunk model (`automaton.redux.shrink`): H live neurons, stored and non-zero parameters, and its bpc
    when it was re-run (equal to the masked evaluation)."""
    H: int
    stored_params: int
    nonzero_params: int
    bpc: float | None = key(omit_none=True, default=None)


@dataclass(frozen=True, eq=False)
class ReduxEvaluation(Record):
    """One reduced model evaluated (`satrnn redux`): the baseline and reduced bpc and their delta, what the
    redux keeps, its parameter count (8.4's rule), the neurons that can still affect the output, the smaller
    model (also as `small`, not in the JSON), ties in the knockout ranking, and the file it was written to."""
    baseline_bpc: float
    bpc: float
    delta: float
    redux: ReduxDescription
    params: ReduxParams
    live_neurons: list
    small_model: SmallModel
    ranking_ties: list
    small: ElmanRNN = key(json=False)
    out: str | None = key(omit_none=True, default=None)


def evaluate_redux(model: ElmanRNN, xs, redux: Redux, cache: ReadoutCache, ranking_ties=(),
                   rerun_small: bool = False) -> ReduxEvaluation:
    """Evaluate `redux` exactly (readout from the cached trajectory, or the dynamics re-run) and shrink the model
    to its live neurons; with rerun_small, run the forward of the smaller model too (its bpc must equal the
    masked one: an invariant of `shrink`)."""
    bpc = evaluate(model, xs, redux, cache=cache)
    small = shrink(model, redux)
    small_bpc = None
    if rerun_small:
        small_bpc = forward(small, xs).bpc
        if small_bpc != bpc:  # an invariant of shrink(); never expected
            raise RuntimeError(f"small model bpc {small_bpc!r} differs from masked bpc {bpc!r}")
    return ReduxEvaluation(
        baseline_bpc=cache.baseline, bpc=bpc, delta=bpc - cache.baseline, redux=redux.describe(model),
        params=redux.param_count(model), live_neurons=[int(j) for j in live_neurons(model, redux)],
        small_model=SmallModel(H=small.H, stored_params=small.n_params,
                               nonzero_params=int(sum(np.count_nonzero(a) for a in small.arrays().values())),
                               bpc=small_bpc),
        ranking_ties=list(ranking_ties), small=small)


def parse_keep(spec: str | None, order: np.ndarray, keep_top: int | None, H: int) -> np.ndarray | None:
    """Kept readout neurons from --keep-top K (knockout ranking) and/or --keep 'ids'. None = all."""
    ids = set()
    if keep_top is not None:
        if not 0 <= keep_top <= H:
            raise SatrnnInputError(f"--keep-top must be between 0 and {H}, got {keep_top}")
        ids.update(int(j) for j in order[:keep_top])
    if spec:
        for part in spec.replace(",", " ").split():
            try:
                j = int(part.lstrip("h"))
            except ValueError:
                raise SatrnnInputError(f"--keep: not a neuron id: {part!r}") from None
            if not 0 <= j < H:
                raise SatrnnInputError(f"--keep: neuron {j} outside 0..{H - 1}")
            ids.add(j)
    if keep_top is None and not spec:
        return None
    return np.array(sorted(ids), dtype=np.int64)
