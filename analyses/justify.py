"""Q6 per-position justification chains (DEFINITIONS.md section 9, program q6_justify.c) and a backbone summary.

Alignment: h_t is the stored state after x_t; y = x_{t+1}. Readout costs follow DEFINITIONS 0.4 (clamped).
For each position: P(true), the single-position cost in bits, the top-5 predictions, per-neuron
contrib_j = fl32(Wy[y][j] h_t[j]) and delta_j = cost(h_t with component j negated) - cost(h_t) (readout only),
the 5 neurons with the largest |delta_j|, each with its float32 pre-activation z, bias, Wx[j][x_t], the
3 largest |c_k| = |fl32(Wh[j][k] h_{t-1}[k])| ("top Wh", t > 0) and a second hop from the first of them (t > 1).

The "routing backbone" (seed 001) is not a quantity of q6_justify.c (DEFINITIONS 9.6); `backbone_summary`
measures what such a claim could mean: how often each neuron is the rank-1 ("driven by") neuron, is among
the top 5, is the first top-Wh source of a rank-1 neuron, or is that source's second-hop source.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from satrnn.rnn import elementary as em
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import as_bytes, readout_costs, run_states
from satrnn.rnn.gradients import output_probabilities
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.record import Record, key
from satrnn.rnn.text import display_byte

POSITIONS = (10, 20, 42, 50, 80, 100, 150, 200, 250, 300, 400, 500)
TOP_NEURONS = 5
TOP_WH = 3
CONTEXT = 30

f32 = np.float32


@dataclass(frozen=True)
class WhTerm(Record):
    """A recurrent term c = fl32(Wh[j][k] h_{t-1}[k]) of neuron j's pre-activation, from source neuron k."""
    k: int  # source neuron
    c: float  # fl32(Wh[j][k] h_{t-1}[k])


@dataclass(frozen=True)
class SecondHop(Record):
    """The first Wh source k0 of a neuron, one step back (t-1): its pre-activation z, its own largest |term|
    source and that term, and the byte x_{t-1} it read."""
    neuron: int  # k0, the first Wh source
    z: float  # its pre-activation at t-1
    top_source: int  # its largest |term| source
    c: float  # that term
    input: int  # x_{t-1}
    input_char: str  # display char of x_{t-1}


@dataclass(frozen=True)
class ChainNeuron(Record):
    """One of the 5 neurons whose negation changes the prediction's bits most (delta): its sign, h_t, readout
    contribution Wy[y] h and delta; for t > 0 its pre-activation z (fl32, 0.3 order), bias, Wx[x_t] and the
    3 largest |Wh| terms; for t > 1 the second hop. Absent parts are None and left out of the JSON."""
    neuron: int  # j
    sign: int  # +1 or -1
    h: float  # h_t[j]
    contrib: float  # Wy[y, j] h_t[j]
    delta: float  # bits: cost change when h_t[j] is negated
    z: float | None = key(omit_none=True, default=None)
    bias: float | None = key(omit_none=True, default=None)
    wx: float | None = key(omit_none=True, default=None)
    input: int | None = key(omit_none=True, default=None)
    input_char: str | None = key(omit_none=True, default=None)
    top_wh: tuple[WhTerm, ...] | None = key(omit_none=True, default=None)
    second_hop: SecondHop | None = key(omit_none=True, default=None)


@dataclass(frozen=True)
class Prediction(Record):
    """A predicted byte, its character and probability."""
    byte: int  # output byte
    char: str  # display char
    p: float  # probability


@dataclass(frozen=True)
class Justification(Record):
    """q6_justify's verdict at a position: the argmax byte and its probability and surprisal, whether it is
    the true byte (and the true byte's probability), the rank-1 neuron ('driven by'), its delta and label."""
    predicted: int  # argmax byte
    predicted_char: str  # display char
    p: float  # its probability
    surprisal_bits: float  # -log2 p
    correct: bool  # predicted == x_{t+1}
    true_p: float  # P(x_{t+1})
    driven_by: int  # rank-1 neuron by |delta|
    delta: float  # its delta, bits
    label: str  # the verdict's words


@dataclass(frozen=True, eq=False)
class Chain(Record):
    """DEFINITIONS 9.1-9.5 at position t: the context (up to 30 bytes before and x_t), target x_{t+1},
    P(target) and its bits, the top 5 predictions, the 5 neurons by |delta| (ties: tie_at_top5_cut), the
    justification; delta_all (H,) every neuron's delta (not in the JSON)."""
    t: int  # position (h_t predicts x_{t+1})
    context: str  # up to 30 bytes before x_t, and x_t
    input: int  # x_t
    target: int  # x_{t+1}
    target_char: str  # display char
    p_true: float  # P(x_{t+1})
    bits: float  # -log2 p_true
    top_predictions: tuple[Prediction, ...]  # 5, most probable first
    neurons: tuple[ChainNeuron, ...]  # 5, largest |delta| first
    tie_at_top5_cut: bool  # a 6th neuron ties the 5th
    justification: Justification  # the verdict
    delta_all: np.ndarray = key(json=False)


def _preactivation_terms(model: ElmanRNN, hs, xs, t: int, j: int):
    """(z, c) with c[k] = fl32(Wh[j][k] h_{t-1}[k]) and z accumulated in float32 from fl32(bh + Wx) (0.3 order)."""
    z = f32(model.bh[j]) + f32(model.Wx[j, xs[t]])
    hprev = hs[t - 1] if t > 0 else np.zeros(model.H, np.float32)
    c = (model.Wh[j] * hprev).astype(np.float32)
    for k in range(model.H):
        z = f32(z + c[k])
    return z, c


def _top_abs_insertion(c, K: int):
    """The K largest |c_k| by strict '>' insertion (ties to the smaller k); zeros never enter (default k = 0)."""
    best_a = [0.0] * K
    best_k = [0] * K
    best_c = [0.0] * K
    for k in range(len(c)):
        a = abs(float(c[k]))
        for slot in range(K):
            if a > best_a[slot]:
                best_a.insert(slot, a)
                best_k.insert(slot, k)
                best_c.insert(slot, float(c[k]))
                del best_a[K:], best_k[K:], best_c[K:]
                break
    return tuple(WhTerm(k=best_k[s], c=best_c[s]) for s in range(K))


def _argmax_abs(c):
    best, bk = -1.0, 0
    for k in range(len(c)):
        a = abs(float(c[k]))
        if a > best:
            best, bk = a, k
    return bk


def justify_position(model: ElmanRNN, xs, hs, t: int) -> Chain:
    """DEFINITIONS 9.1-9.5 for one position t (0 <= t <= n-2)."""
    xs = as_bytes(xs)
    n = xs.shape[0]
    if not 0 <= t <= n - 2:
        raise SatrnnInputError(f"position {t} outside 0..{n - 2}")
    y = int(xs[t + 1])
    h = np.asarray(hs[t], dtype=np.float32)
    P = output_probabilities(model, h[None, :], "f32")[0]
    base, _ = readout_costs(model, h[None, :], np.array([y], np.uint8))
    V = np.repeat(h[None, :], model.H, axis=0)
    V[np.arange(model.H), np.arange(model.H)] = -h
    neg, _ = readout_costs(model, V, np.full(model.H, y, np.uint8))
    delta = neg - base[0]
    contrib = (model.Wy[y] * h).astype(np.float32)
    order = np.argsort(-np.abs(delta), kind="stable")
    cut = np.abs(delta[order[min(TOP_NEURONS, model.H) - 1]])
    tie_at_cut = bool(np.sum(np.abs(delta) == cut) > 1)
    top_pred = np.argsort(-P, kind="stable")[:5]
    neurons = []
    for j in order[:TOP_NEURONS]:
        j = int(j)
        entry = ChainNeuron(neuron=j, sign=1 if h[j] >= 0 else -1, h=float(h[j]), contrib=float(contrib[j]),
                            delta=float(delta[j]))
        if t > 0:
            z, c = _preactivation_terms(model, hs, xs, t, j)
            tops = _top_abs_insertion(c, TOP_WH)
            entry = replace(entry, z=float(z), bias=float(model.bh[j]), wx=float(model.Wx[j, xs[t]]),
                            input=int(xs[t]), input_char=display_byte(int(xs[t])), top_wh=tops)
            if t > 1:
                k0 = tops[0].k
                z2, c2 = _preactivation_terms(model, hs, xs, t - 1, k0)
                ks = _argmax_abs(c2)
                entry = replace(entry, second_hop=SecondHop(neuron=k0, z=float(z2), top_source=ks, c=float(c2[ks]),
                                                            input=int(xs[t - 1]),
                                                            input_char=display_byte(int(xs[t - 1]))))
        neurons.append(entry)
    am = int(top_pred[0])
    d1 = neurons[0].delta
    label = "HURT if flipped" if d1 > 0.1 else ("HELP if flipped" if d1 < -0.1 else "marginal effect")
    lo = max(0, t - CONTEXT)
    return Chain(t=int(t), context="".join(display_byte(int(b)) for b in xs[lo:t + 1]), input=int(xs[t]), target=y,
                 target_char=display_byte(y), p_true=float(P[y]), bits=float(base[0]),
                 top_predictions=tuple(Prediction(byte=int(o), char=display_byte(int(o)), p=float(P[o]))
                                       for o in top_pred),
                 neurons=tuple(neurons), tie_at_top5_cut=tie_at_cut,
                 justification=Justification(predicted=am, predicted_char=display_byte(am), p=float(P[am]),
                                             surprisal_bits=-float(em.log2(float(P[am]))), correct=am == y,
                                             true_p=float(P[y]), driven_by=neurons[0].neuron, delta=d1, label=label),
                 delta_all=delta)


@dataclass(frozen=True)
class NeuronTally(Record):
    """A neuron and how often it appears."""
    neuron: int  # j
    count: int  # appearances


@dataclass(frozen=True)
class Rank1Chain(Record):
    """At position t, the rank-1 neuron, its first Wh source and that source's own first source (None at t = 1)."""
    t: int  # position
    neuron: int  # rank-1 neuron
    source: int  # its first Wh source
    second_source: int | None  # that source's first source


@dataclass(frozen=True)
class Backbone(Record):
    """Counts over the justified positions: rank-1 ('driven by') neurons, top-5 membership, the rank-1 neurons'
    first Wh sources and second-hop sources, every top-5 neuron's first source (tallies by count descending,
    ties by neuron), the rank-1 chains, the Wh entries listed per position, and per-neuron rank-1 / top-5
    counts (H,)."""
    positions: int
    rank1: tuple[NeuronTally, ...]
    top5: tuple[NeuronTally, ...]
    rank1_first_source: tuple[NeuronTally, ...]
    rank1_second_hop_source: tuple[NeuronTally, ...]
    top5_first_source: tuple[NeuronTally, ...]
    rank1_chains: tuple[Rank1Chain, ...]
    wh_entries_listed_per_position: int
    rank1_counts: list
    top5_counts: list


def backbone_summary(chains, H: int = 128) -> Backbone:
    """Counts over the justified positions (`Chain`s): rank-1 neurons, top-5 membership, sources."""
    rank1 = Counter(c.neurons[0].neuron for c in chains)
    top5 = Counter(e.neuron for c in chains for e in c.neurons)
    src = Counter()
    hop2 = Counter()
    edges = []
    for c in chains:
        e = c.neurons[0]
        if e.top_wh is not None:
            k0 = e.top_wh[0].k
            src[k0] += 1
            s2 = e.second_hop.top_source if e.second_hop is not None else None
            if s2 is not None:
                hop2[s2] += 1
            edges.append(Rank1Chain(t=c.t, neuron=e.neuron, source=k0, second_source=s2))
    top_all_src = Counter(w.k for c in chains for e in c.neurons for w in (e.top_wh or ())[:1])

    def ranked(cnt):
        return tuple(NeuronTally(int(k), int(v)) for k, v in sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0])))
    return Backbone(positions=len(chains), rank1=ranked(rank1), top5=ranked(top5), rank1_first_source=ranked(src),
                    rank1_second_hop_source=ranked(hop2), top5_first_source=ranked(top_all_src),
                    rank1_chains=tuple(edges), wh_entries_listed_per_position=TOP_NEURONS * TOP_WH,
                    rank1_counts=[int(rank1.get(j, 0)) for j in range(H)],
                    top5_counts=[int(top5.get(j, 0)) for j in range(H)])


@dataclass(frozen=True)
class Q6Justify(Record):
    """Q6 justification chains at the kept positions (t < n-2, as the program keeps them; the others in
    `dropped`), the backbone counts, and notes."""
    positions: list
    dropped: list
    chains: tuple[Chain, ...]
    backbone: Backbone
    notes: list


def q6_justify(model: ElmanRNN, xs, positions=POSITIONS, hs=None) -> Q6Justify:
    """All positions (keeping t < n-2 as the program does) plus the backbone summary (a `Q6Justify`)."""
    xs = as_bytes(xs)
    n = xs.shape[0]
    pos = [int(p) for p in positions]
    if any(p < 0 for p in pos):
        raise SatrnnInputError("positions must be >= 0")
    if not pos:
        raise SatrnnInputError("no positions given")
    kept = [p for p in pos if p < n - 2]
    dropped = [p for p in pos if p >= n - 2]
    if not kept:
        raise SatrnnInputError(f"no position below n-2 = {n - 2}")
    if hs is None:
        hs, _ = run_states(model, xs[: n - 1], "f32")
    chains = tuple(justify_position(model, xs, hs, t) for t in kept)
    notes = ["q6_justify keeps positions t < n-2; others are listed in `dropped`.",
             "delta_j negates h_t[j] (value -h, not +-1) and recomputes only the readout; bits are single-position.",
             "the 'caused by input x_t ... and the state from context' clause of the program is canned text, "
             "not computed; 'routing backbone' is not a quantity of q6_justify (DEFINITIONS 9.6): `backbone` "
             "counts what such a claim could mean.",
             "ranking uses a stable sort (ties to the smaller neuron index); tie_at_top5_cut flags a tie at the cut."]
    return Q6Justify(positions=kept, dropped=dropped, chains=chains, backbone=backbone_summary(chains, model.H),
                     notes=notes)
