"""satrnn's Python API: one function per analysis, typed results (frozen dataclasses), no CLI needed.

Conventions shared by every function:
- `model` is an `ElmanRNN` (from `load_model`); `text` is bytes, a str (encoded as UTF-8), or a 1-D array of
  integers 0..255.
- Alignment: h_t is the hidden state after reading byte t and predicts byte t+1; the state before the first
  byte is 0 (float) or all -1 (sign automaton starts, unless given).
- Sign states are packed: a (W,) uint64 array, W = ceil(H / 64), bit j of word j // 64 = neuron j is +1;
  `SignAutomaton.to_hex` / `from_hex` convert to the CLI's hex text (neuron 0 = lowest bit).
- Every random choice takes a `seed`; the same seed gives the same result for any thread count.
- Bad input raises `satrnn.SatrnnInputError` with one line of explanation.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes
from satrnn.rnn.forward import forward as _forward_pass
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.model import load_model as _load_model
from satrnn.rnn.model import save_model as _save_model

__all__ = ["ElmanRNN", "SatrnnInputError", "load_model", "save_model", "load_text", "default_model", "forward",
           "Forward", "SignAutomaton", "check_isomorphism", "IsoVerdict", "find_cycles", "flip_cascades",
           "CascadeSummary", "derrida", "DerridaCurve", "knockout", "Knockout", "coflip_graph", "verify",
           "LedgerRecord", "landscape", "estimate_landscape"]


def _text(text) -> np.ndarray:
    if isinstance(text, str):
        text = text.encode("utf-8")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(text), dtype=np.uint8).copy()
    return as_bytes(text)


def _model(model) -> ElmanRNN:
    if not isinstance(model, ElmanRNN):
        raise SatrnnInputError(f"expected a model from satrnn.load_model, got {type(model).__name__}")
    return model


# ---- models and texts ---------------------------------------------------------------------------------

def load_model(path) -> ElmanRNN:
    """A model from a `.bin` file (raw little-endian float32 Wx[H][256], Wh[H][H], bh[H], Wy[256][H], by[256];
    H inferred from the size) or a self-describing `.npz`. Wrong size, NaN/Inf, bad dtype: SatrnnInputError."""
    return _load_model(path)


def save_model(model: ElmanRNN, path) -> None:
    """Write a model as `.bin` or `.npz` (by the suffix); written atomically, round-trips bit for bit."""
    _save_model(_model(model), path)


def load_text(path, max_bytes: int | None = None) -> np.ndarray:
    """A file's bytes as a uint8 array (the first `max_bytes` if given)."""
    from satrnn.rnn.text import load_text as _load_text
    return _load_text(path, max_bytes=max_bytes)


def default_model() -> tuple[ElmanRNN, np.ndarray]:
    """(model, text): the default model shipped with satrnn and the corpus it was trained on."""
    from satrnn.rnn.default import default_model_and_text
    return default_model_and_text()


# ---- the float32 reference ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Forward:
    """The bit-exact float32 forward pass over a text of n bytes.

    states (n, H) float32: row t = h_t, the state after byte t. preactivations (n, H) float32: the z_t that
    gave them. costs (n-1,) float64: bits to predict byte t+1 from h_t. bpc: their sequential mean.
    log_probs (n-1, 256) float64: natural-log next-byte probabilities (softmax in double, as the costs).
    """
    states: np.ndarray
    preactivations: np.ndarray
    costs: np.ndarray
    bpc: float
    log_probs: np.ndarray
    Wy: np.ndarray
    by: np.ndarray

    @cached_property
    def logits(self) -> np.ndarray:
        """(n-1, 256) float64 logits by[o] + sum_j Wy[o, j] h_t[j] (float64 arithmetic; log_probs is their
        log-softmax up to the rounding of the readout kernel's float32 products)."""
        return self.states[:-1].astype(np.float64) @ self.Wy.T.astype(np.float64) + self.by.astype(np.float64)

    @property
    def predictions(self) -> int:
        return int(self.costs.shape[0])


def forward(model: ElmanRNN, text) -> Forward:
    """Run the model over the text (at least 2 bytes) with the papers' float32 arithmetic."""
    m = _model(model)
    r = _forward_pass(m, _text(text), want_logp=True)
    return Forward(states=r.hs, preactivations=r.zs, costs=r.costs, bpc=float(r.bpc), log_probs=r.logp,
                   Wy=m.Wy, by=m.by)


# ---- the sign automaton ---------------------------------------------------------------------------------

class SignAutomaton:
    """The sign automaton of a model: s_{t+1} = sign(bh + Wx[:, x] + Wh s_t), decided exactly.

    semantics: "exact" (the real sum of the float32 terms) or "f32-seq" (the papers' sequential float32 sum).
    pin: {neuron: +1 or -1} neurons held at that sign whatever their input (the dynamical analogue of a
    knockout), by `automaton.landscape`'s exact clamping (the pinned rows get Wh = 0, Wx = 0, bh = +-1); the
    start state is given the pinned values, so every state of a run carries them. States are packed (W,)
    uint64 arrays or hex strings (see `from_hex`; "minus"/"plus" = all -1 / all +1); every method returns
    packed arrays. Runs go through the packed kernels at full speed, pinned or not.
    """

    def __init__(self, model: ElmanRNN, semantics: str = "exact", pin: dict | None = None):
        from satrnn.automaton.landscape import check_pins, pin_masks, pinned_automaton
        from satrnn.automaton.sign import SignAutomaton as _Kernel
        if semantics not in ("exact", "f32-seq"):
            raise SatrnnInputError(f"semantics must be 'exact' or 'f32-seq', got {semantics!r}")
        m = _model(model)
        pins = check_pins(pin or {}, m.H)
        self._a = pinned_automaton(_Kernel.from_model(m, semantics), pins)
        self.H, self.W, self.semantics = self._a.H, self._a.W, semantics
        self.pin = dict(pins)
        self._held, self._on = pin_masks(pins, self.H)

    def _apply_pin(self, states: np.ndarray) -> np.ndarray:
        return (states & ~self._held) | self._on

    def state(self, s) -> np.ndarray:
        """A packed state from a packed array, a hex string, or "minus"/"plus" (all -1 / all +1)."""
        if isinstance(s, str):
            return self._a.parse_state(s)
        return self._a.check_state(s)

    def from_hex(self, text: str) -> np.ndarray:
        from satrnn.automaton.bitset import from_hex
        return from_hex(text, self.H)

    def to_hex(self, state) -> str:
        from satrnn.automaton.bitset import to_hex
        return to_hex(self.state(state), self.H)

    def signs(self, state) -> np.ndarray:
        """(H,) int8 of +1/-1 for a packed or hex state."""
        from satrnn.automaton.bitset import to_signs
        return np.asarray(to_signs(self.state(state)[None, :], self.H)[0], dtype=np.int8)

    def step(self, state, x: int) -> np.ndarray:
        """The successor of `state` under byte x."""
        return self._a.step(self._apply_pin(self.state(state)), x)

    def run(self, state, xs) -> np.ndarray:
        """(n, W) trajectory under the bytes xs; row t = the state after reading xs[t]."""
        return self._a.run(self._apply_pin(self.state(state)), _text(xs))

    def run_constant(self, state, x: int, steps: int, trajectory: bool = False) -> np.ndarray:
        """`steps` steps under the constant byte x: the final state, or all states (steps, W) if trajectory."""
        return self._a.run_constant(self._apply_pin(self.state(state)), x, steps, trajectory=trajectory)

    @property
    def fallbacks(self) -> int:
        """Neuron-steps whose sign the rigorous bound could not decide and that were recomputed exactly."""
        return int(self._a.fallbacks)


# ---- isomorphism ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IsoVerdict:
    """The Universal Model (pattern table) against the reference RNN on a text: isomorphic (every state
    bit-identical in sign), sign_mismatches (neuron-steps), max_abs_diff of the states, both bpcs, and the
    pattern counts |w| > 0.01 per class."""
    isomorphic: bool
    sign_mismatches: int
    max_abs_diff: float
    bpc_rnn: float
    bpc_um: float
    pattern_counts: dict


def check_isomorphism(model: ElmanRNN, text, precision: str = "f32") -> IsoVerdict:
    """Is the UM computed from the model's pattern table isomorphic to the RNN on this text?"""
    from satrnn.automaton.iso import check_isomorphism as _iso
    r = _iso(_model(model), _text(text), precision=precision)
    return IsoVerdict(isomorphic=bool(r["isomorphic"]), sign_mismatches=int(r["sign_mismatches"]),
                      max_abs_diff=float(r["max_abs_diff"]), bpc_rnn=float(r["bpc_rnn"]), bpc_um=float(r["bpc_um"]),
                      pattern_counts=dict(r["pattern_counts"]))


# ---- cycles, cascades, Derrida ----------------------------------------------------------------------------

def find_cycles(model: ElmanRNN, inputs, starts: int = 2, budget: int = 1_000_000, seed: int = 0,
                semantics: str = "exact"):
    """Brent's cycle search of the sign automaton: `starts` random states (numpy default_rng(seed)) under
    each constant input byte in `inputs`, `budget` steps per search. Returns a `CycleSurvey` whose `cycles`
    are `CycleRecord`s (input, period, transient, smallest_state, ...); `.command()` is the equivalent
    `satrnn cycles` command line."""
    from satrnn.analyses.cycle_survey import survey
    if isinstance(inputs, (int, np.integer)):
        inputs = [inputs]
    return survey(_model(model), list(inputs), starts=starts, budget=budget, seed=seed, semantics=semantics)


def landscape(model: ElmanRNN, inputs, *, semantics: str = "exact", pins=None):
    """The exact attractor landscape of the sign automaton over all 2^(H - pinned) states (at most 24 free
    neurons) under one input byte or a periodic byte sequence `inputs`: an `ExactLandscape` (per attractor:
    cycle states, period, basin size, heights, Garden-of-Eden states; basin entropy in nats and bits, in-degree
    and height histograms; `.to_networkx()` for up to 16 free neurons). pins: {neuron: +1 or -1}."""
    from satrnn.automaton import landscape as ls
    from satrnn.automaton.sign import SignAutomaton as _Kernel
    return ls.landscape(_Kernel.from_model(_model(model), semantics), inputs, pins=pins)


def estimate_landscape(model: ElmanRNN, inputs, *, starts: int = 256, budget: int = 1_000_000, seed: int = 0,
                       semantics: str = "exact", pins=None):
    """The attractor landscape estimated for any H from `starts` random starts (seeded), each run with Brent
    to its cycle or for `budget` steps: an `EstimatedLandscape` (basin fractions with 95% Clopper-Pearson
    intervals, basin entropy with a seeded bootstrap interval, the unresolved count)."""
    from satrnn.automaton import landscape as ls
    from satrnn.automaton.sign import SignAutomaton as _Kernel
    return ls.estimate_landscape(_Kernel.from_model(_model(model), semantics), inputs, starts=starts,
                                 budget=budget, seed=seed, pins=pins)


@dataclass(frozen=True)
class CascadeSummary:
    """Single-neuron flips of the sign state along the data: every neuron flipped at each position t, then
    k steps of the automaton. distances (m, H, k) int32 Hamming distance to the unflipped run after 1..k
    steps; positions (m,) the flip steps t; mean_by_step (k,); one_step_mean; fates: fractions that died
    (distance 0), persisted (1) or spread (> 1) after k steps."""
    distances: np.ndarray
    positions: np.ndarray
    k: int
    mean_by_step: tuple
    one_step_mean: float
    fates: dict


def flip_cascades(model: ElmanRNN, text, k: int = 8, positions=None, semantics: str = "exact") -> CascadeSummary:
    """Flip each neuron of sigma(h_t) at each position t (default: every t with t + k <= n - 1), run k steps
    under the text's next bytes, and measure how far the flip spreads."""
    from satrnn.automaton import cascade as cas
    from satrnn.automaton.sign import SignAutomaton as _Kernel
    m, xs = _model(model), _text(text)
    a = _Kernel.from_model(m, semantics)
    states, _ = cas.float_sign_trajectory(m, xs)
    c = cas.flip_cascades(a, states, xs, k, t_idx=positions)
    s = cas.cascade_summary(c, m.H)
    return CascadeSummary(distances=c.d, positions=c.t, k=c.k, mean_by_step=tuple(s["mean_distance_by_step"]),
                          one_step_mean=float(s["one_step"]["mean"]), fates=dict(s["fates"]))


@dataclass(frozen=True)
class DerridaCurve:
    """Derrida map D(d): mean Hamming distance after one step between a state and a copy with d random
    neurons flipped. d, mean, ci95 per d; coefficient = slope at d = 1 (mean and 95% interval)."""
    d: tuple
    mean: tuple
    ci95: tuple
    coefficient: float
    coefficient_ci95: tuple
    seed: int


def derrida(model: ElmanRNN, text, pairs: int = 200, seed: int = 0, ds=None, along_data: bool = True,
            semantics: str = "exact") -> DerridaCurve:
    """The Derrida curve from `pairs` sampled pairs per d (default d = 1..H), states along the data's sign
    trajectory (or uniformly random with along_data=False)."""
    from satrnn.automaton import cascade as cas
    from satrnn.automaton.sign import SignAutomaton as _Kernel
    m, xs = _model(model), _text(text)
    a = _Kernel.from_model(m, semantics)
    states = cas.float_sign_trajectory(m, xs)[0] if along_data else None
    r = cas.derrida_curve(a, xs, states=states, pairs=pairs, seed=seed, ds=ds)
    dc = r["derrida_coefficient"] or {"mean": float("nan"), "ci95": (float("nan"), float("nan"))}  # no d = 1
    return DerridaCurve(d=tuple(int(v) for v in r["d"]), mean=tuple(float(v) for v in r["mean"]),
                        ci95=tuple(tuple(float(u) for u in c) for c in r["ci95"]), coefficient=float(dc["mean"]),
                        coefficient_ci95=tuple(float(u) for u in dc["ci95"]), seed=int(seed))


# ---- knockout, co-flips ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Knockout:
    """Single-neuron readout knockout (Wy column j zeroed, dynamics untouched). baseline_bpc; bpc (H,) with
    neuron j knocked out; delta = bpc - baseline; order: neurons by delta, most important first."""
    baseline_bpc: float
    bpc: np.ndarray
    delta: np.ndarray
    order: np.ndarray


def knockout(model: ElmanRNN, text) -> Knockout:
    """Knock out each neuron's readout in turn (bit-identical to re-running the forward per neuron)."""
    from satrnn.analyses.knockout import neuron_knockout
    r = neuron_knockout(_model(model), _text(text))
    return Knockout(baseline_bpc=float(r.baseline_bpc), bpc=np.asarray(r.bpc_ko), delta=np.asarray(r.delta),
                    order=np.asarray(r.order))


def coflip_graph(model: ElmanRNN, text, min_jaccard: float = 0.3, top_k: int | None = None,
                 seed: int = 0) -> nx.Graph:
    """The co-flip graph of the float32 trajectory's sign flips.

    Nodes: neurons 0..H-1 with attributes flips (sign changes over the text), community (seeded Louvain),
    degree, strength, betweenness (distance 1 - Jaccard), component, promotes / demotes (hex bytes of the
    neuron's 5 largest / smallest Wy entries) and promotes_chars / demotes_chars. Edges: pairs with Jaccard
    >= min_jaccard (plus each node's top_k partners), attributes weight (Jaccard of the two flip sets) and
    coflips (steps where both flip). Graph attributes: min_jaccard, top_k, seed, transitions."""
    from satrnn.analyses import coflip as cf
    m = _model(model)
    return cf.coflip_graph(m, cf.coflip_report(m, _text(text)), min_jaccard=min_jaccard, top_k=top_k, seed=seed)


# ---- the claims ledger --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerRecord:
    """One claim of the seed papers judged on a model and text. verdict: reproduced, differs, not measurable,
    not applicable (the claim describes the published weights/text, this is another) or failed; paper_value
    as printed; measured in the claim's unit; reason for every verdict but reproduced/differs."""
    id: str
    seed: str
    section: str
    statement: str
    paper_value: str
    measured: object
    verdict: str
    difference: float | None
    tolerance: str
    reason: str | None
    note: str | None
    measurement: str | None


def verify(model: ElmanRNN, text, seed: str | None = None) -> list[LedgerRecord]:
    """The claims ledger (`satrnn verify`): every claim of the seed papers (or one seed's, e.g. "004")."""
    from satrnn.ledger.claims import claims_for
    from satrnn.ledger.measures import run_ledger
    records, _ = run_ledger(_model(model), _text(text), claims_for(seed), show_progress=False)
    fields = LedgerRecord.__dataclass_fields__
    return [LedgerRecord(**{k: r.get(k) for k in fields}) for r in records]
