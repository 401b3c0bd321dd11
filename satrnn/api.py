"""satrnn's Python API: one function per analysis, typed results (frozen dataclasses), no CLI needed.

The result types are the analyses' own (`Forward` is `rnn.forward.ForwardResult`, `IsoVerdict`, `Knockout`
(`analyses.knockout.NeuronKnockout`), `CascadeSummary`, `DerridaCurve`, `LedgerRecord`, ...), re-exported here:
what the CLI's `--json` prints is their `as_dict()`.

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

import networkx as nx
import numpy as np

from satrnn.analyses.knockout import NeuronKnockout as Knockout
from satrnn.automaton.cascade import CascadeSummary, DerridaCurve
from satrnn.automaton.iso import IsoVerdict
from satrnn.automaton.sign import SignAutomaton
from satrnn.ledger.claims import LedgerRecord
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import ForwardResult, as_bytes
from satrnn.rnn.forward import forward as _forward_pass
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.model import load_model as _load_model
from satrnn.rnn.model import save_model as _save_model
from satrnn.rnn.record import register_plot_loader


def _register_plots() -> None:
    from satrnn.figures import register_result_plots  # matplotlib only when a figure is drawn
    register_result_plots()


register_plot_loader(_register_plots)   # results' .plot(ax=None): the figures, registered on first use

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

Forward = ForwardResult


def forward(model: ElmanRNN, text) -> Forward:
    """Run the model over the text (at least 2 bytes) with the papers' float32 arithmetic: a `Forward` (states
    (n, H) float32, row t = h_t after byte t; preactivations; costs (n-1,) bits of byte t+1; bpc; log_probs
    (n-1, 256) float64; logits)."""
    return _forward_pass(_model(model), _text(text), want_logp=True)


# ---- the sign automaton ---------------------------------------------------------------------------------
# `SignAutomaton` (re-exported above): SignAutomaton(model, semantics="exact", pin={8: +1, 56: -1}).


# ---- isomorphism ----------------------------------------------------------------------------------------

def check_isomorphism(model: ElmanRNN, text, precision: str = "f32") -> IsoVerdict:
    """Is the UM computed from the model's pattern table isomorphic to the RNN on this text? An `IsoVerdict`
    (isomorphic, sign_mismatches, max_abs_diff, bpc_rnn, bpc_um, pattern_counts, and the details)."""
    from satrnn.automaton.iso import check_isomorphism as _iso
    return _iso(_model(model), _text(text), precision=precision)


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
    return ls.landscape(SignAutomaton.from_model(_model(model), semantics), inputs, pins=pins)


def estimate_landscape(model: ElmanRNN, inputs, *, starts: int = 256, budget: int = 1_000_000, seed: int = 0,
                       semantics: str = "exact", pins=None):
    """The attractor landscape estimated for any H from `starts` random starts (seeded), each run with Brent
    to its cycle or for `budget` steps: an `EstimatedLandscape` (basin fractions with 95% Clopper-Pearson
    intervals, basin entropy with a seeded bootstrap interval, the unresolved count)."""
    from satrnn.automaton import landscape as ls
    return ls.estimate_landscape(SignAutomaton.from_model(_model(model), semantics), inputs, starts=starts,
                                 budget=budget, seed=seed, pins=pins)


def flip_cascades(model: ElmanRNN, text, k: int = 8, positions=None, semantics: str = "exact") -> CascadeSummary:
    """Flip each neuron of sigma(h_t) at each position t (default: every t with t + k <= n - 1), run k steps
    under the text's next bytes, and measure how far the flip spreads: a `CascadeSummary` (distances (m, H, k)
    int32 Hamming distances after 1..k steps; positions (m,) the flip steps t; mean_by_step (k,);
    one_step_mean; fates: the fractions that died (distance 0), persisted (1) or spread (> 1) after k steps)."""
    from satrnn.automaton import cascade as cas
    m, xs = _model(model), _text(text)
    states, _ = cas.float_sign_trajectory(m, xs)
    c = cas.flip_cascades(SignAutomaton.from_model(m, semantics), states, xs, k, t_idx=positions)
    return cas.cascade_summary(c, m.H)


def derrida(model: ElmanRNN, text, pairs: int = 200, seed: int = 0, ds=None, along_data: bool = True,
            semantics: str = "exact") -> DerridaCurve:
    """The Derrida curve from `pairs` sampled pairs per d (default d = 1..H), states along the data's sign
    trajectory (or uniformly random with along_data=False): a `DerridaCurve` (d, mean, ci95 per d;
    coefficient = the slope at d = 1 and coefficient_ci95; seed)."""
    from satrnn.automaton import cascade as cas
    m, xs = _model(model), _text(text)
    states = cas.float_sign_trajectory(m, xs)[0] if along_data else None
    return cas.derrida_curve(SignAutomaton.from_model(m, semantics), xs, states=states, pairs=pairs, seed=seed,
                             ds=ds)


# ---- knockout, co-flips ---------------------------------------------------------------------------------------

def knockout(model: ElmanRNN, text) -> Knockout:
    """Knock out each neuron's readout in turn (bit-identical to re-running the forward per neuron): a
    `Knockout` (baseline_bpc; bpc (H,) with neuron j knocked out; delta = bpc - baseline; order: neurons by
    delta, most important first; and rank, ties, |Wy column| and mean |h| per neuron)."""
    from satrnn.analyses.knockout import neuron_knockout
    return neuron_knockout(_model(model), _text(text))


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

def verify(model: ElmanRNN, text, seed: str | None = None) -> list[LedgerRecord]:
    """The claims ledger (`satrnn verify`): every claim of the seed papers (or one seed's, e.g. "004"), as
    `LedgerRecord`s."""
    from satrnn.ledger.claims import claims_for
    from satrnn.ledger.measures import run_ledger
    records, _ = run_ledger(_model(model), _text(text), claims_for(seed), show_progress=False)
    return records
