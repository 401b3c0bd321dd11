"""Co-flip counts, Jaccard similarity and the co-flip graph of the neurons (DEFINITIONS 5.4).

A flip of neuron j at step t (t = 1..n-2) is a sign change between h_{t-1} and h_t (sigma(v) = [v >= 0]).
The flip matrix (H, T) is packed over time into uint64 words (bit t-1 of neuron j's bitset = flip at t);
C[a, b] = popcount(bits_a AND bits_b) summed over words; F_a = C[a, a].
Jaccard (paper-compatible) = fl32(C) / fl32(F_a + F_b - C) in float32, 0 if the union is 0.

The graph has neurons as nodes (int ids), edges weighted by Jaccard for pairs with Jaccard >= min_jaccard
and/or the top-k partners of each node; communities by seeded Louvain, centralities, components, and each
node's top promoted/demoted output bytes (from its Wy column).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import networkx as nx
import numpy as np

from satrnn.analyses.knockout import promotes_demotes
from satrnn.analyses.saturation import chunk_flips, state_rows
from satrnn.automaton import bitset
from satrnn.automaton.bitset import popcount64
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit_parallel, prange
from satrnn.rnn.record import Record, key
from satrnn.rnn.text import display_byte

TOP_PAIRS = 15


def pack_time(F: np.ndarray) -> np.ndarray:
    """Pack a bool (H, T) matrix along time into uint64 words (H, max(1, ceil(T/64))); bit k%64 of word k//64
    (each neuron's flips as one packed row: `automaton.bitset.pack`, the one packing of bits into words)."""
    F = np.asarray(F, dtype=bool)
    return bitset.pack(F) if F.shape[1] else np.zeros((F.shape[0], 1), dtype=np.uint64)


@njit_parallel
def _coflip_counts(bits, C):
    """C[a, b] = popcount(bits[a] & bits[b]) over words, for all a, b; row a written by one iteration."""
    H, W = bits.shape
    for a in prange(H):
        for b in range(H):
            s = 0
            for w in range(W):
                s += popcount64(bits[a, w] & bits[b, w])
            C[a, b] = s


def coflip_counts(F: np.ndarray) -> np.ndarray:
    """(H, H) int64 co-flip counts from a bool flip matrix (H, T); the diagonal is each neuron's flips."""
    bits = pack_time(F)
    H = bits.shape[0]
    C = np.empty((H, H), dtype=np.int64)
    _coflip_counts(bits, C)
    return C


def jaccard_f32(C: np.ndarray) -> np.ndarray:
    """Paper-compatible float32 Jaccard for every pair: fl32(C) / fl32(F_a + F_b - C); 0 where the union is 0."""
    f = np.diag(C)
    U = f[:, None] + f[None, :] - C
    J = np.zeros(C.shape, dtype=np.float32)
    nz = U > 0
    J[nz] = C[nz].astype(np.float32) / U[nz].astype(np.float32)
    return J


@dataclass(frozen=True)
class CoflipPair(Record):
    """A neuron pair a < b: co-flips (steps where both flip), paper-compatible float32 Jaccard, each one's flips."""
    a: int  # neuron, a < b
    b: int  # neuron
    coflips: int  # steps where both flip
    jaccard: float  # fl32(C) / fl32(F_a + F_b - C)
    flips_a: int  # steps where a flips
    flips_b: int  # steps where b flips


@dataclass(frozen=True)
class TopPairsTies(Record):
    """Ties at the cut of the top-k pairs by co-flip count (all None when nothing was cut): the count at the
    cut, the pairs with that count, how many of them are listed, whether the first pair left out has it."""
    count_at_cut: int | None = key(omit_none=True, default=None)
    pairs_with_count_at_cut: int | None = key(omit_none=True, default=None)
    listed_at_cut: int | None = key(omit_none=True, default=None)
    tie_at_cut: bool | None = key(omit_none=True, default=None)


@dataclass(frozen=True, eq=False)
class CoflipReport(Record):
    """Co-flip counts and Jaccard for every neuron pair over the `transitions` = m-1 flip steps of the
    predicting states h_0..h_{m-1} (DEFINITIONS 5.4). counts (H, H) int64 (diagonal = each neuron's flips),
    jaccard (H, H) float32 (paper-compatible), flips (H,); top_pairs (by co-flip count, a < b ascending on
    ties) and top_pairs_ties; jaccard_top_pairs (by Jaccard, a corrected view); pairs_with_coflips,
    pairs_jaccard_gt_half (Jaccard > 0.5); max_jaccard (the first of jaccard_top_pairs, None for H = 1)."""
    H: int
    transitions: int
    counts: np.ndarray
    jaccard: np.ndarray
    flips: np.ndarray
    top_pairs: tuple[CoflipPair, ...]
    top_pairs_ties: TopPairsTies
    jaccard_top_pairs: tuple[CoflipPair, ...]
    pairs_with_coflips: int
    pairs_jaccard_gt_half: int
    max_jaccard: CoflipPair | None


def top_pairs(C: np.ndarray, J: np.ndarray, k: int = TOP_PAIRS) -> tuple[tuple[CoflipPair, ...], TopPairsTies]:
    """The k pairs with the most co-flips (C > 0, enumerated a < b ascending, stable sort by C descending)
    and a tie report at the cut (DEFINITIONS 5.4 / 0.9)."""
    H = C.shape[0]
    a, b = np.triu_indices(H, 1)
    c = C[a, b]
    sel = c > 0
    a, b, c = a[sel], b[sel], c[sel]
    order = np.argsort(-c, kind="stable")
    f = np.diag(C)
    rows = tuple(CoflipPair(a=int(a[i]), b=int(b[i]), coflips=int(c[i]), jaccard=float(J[a[i], b[i]]),
                            flips_a=int(f[a[i]]), flips_b=int(f[b[i]])) for i in order[:k])
    tie = TopPairsTies()
    if 0 < k < order.size:
        cut = int(c[order[k - 1]])
        tie = TopPairsTies(count_at_cut=cut, pairs_with_count_at_cut=int((c == cut).sum()),
                           listed_at_cut=int(sum(1 for r in rows if r.coflips == cut)),
                           tie_at_cut=bool(c[order[k]] == cut))
    return rows, tie


def coflip_report(model: ElmanRNN, xs, forward_result=None, top: int = TOP_PAIRS, progress=None) -> CoflipReport:
    """Co-flip counts and Jaccard for every neuron pair (DEFINITIONS 5.4): a `CoflipReport`.

    Without `forward_result` the forward is streamed in chunks (rnn.stream) and the counts are summed chunk
    by chunk: memory O(chunk x H + H^2), whatever the text length.
    """
    C, transitions, prev = None, 0, None
    for t0, hs in state_rows(model, xs, forward_result, progress):
        F, prev_new = chunk_flips(prev, hs, t0)
        prev = prev_new
        transitions += F.shape[1]
        Cc = coflip_counts(F) if F.shape[1] else np.zeros((F.shape[0],) * 2, dtype=np.int64)
        C = Cc if C is None else C + Cc
    J = jaccard_f32(C)
    rows, tie = top_pairs(C, J, top)
    H = C.shape[0]
    a, b = np.triu_indices(H, 1)
    jv = J[a, b]
    jo = np.argsort(-jv, kind="stable")[:top]
    f = np.diag(C)
    jrows = tuple(CoflipPair(a=int(a[i]), b=int(b[i]), coflips=int(C[a[i], b[i]]), jaccard=float(jv[i]),
                             flips_a=int(f[a[i]]), flips_b=int(f[b[i]])) for i in jo)
    return CoflipReport(H=H, transitions=int(transitions), counts=C, jaccard=J, flips=f.copy(), top_pairs=rows,
                        top_pairs_ties=tie, jaccard_top_pairs=jrows, pairs_with_coflips=int((C[a, b] > 0).sum()),
                        pairs_jaccard_gt_half=int((jv > np.float32(0.5)).sum()),
                        max_jaccard=jrows[0] if jrows else None)


# ---- the graph ---------------------------------------------------------------------------------

def _bytes_attr(items) -> str:
    return " ".join(f"{it.byte:02x}" for it in items)


def coflip_graph(model: ElmanRNN, report: CoflipReport, min_jaccard: float | None = 0.3, top_k: int | None = None,
                 seed: int = 0, n_bytes: int = 5) -> nx.Graph:
    """Neurons as nodes; an edge (weight = Jaccard, coflips = count) for every pair with Jaccard >=
    min_jaccard, plus each node's top_k partners by Jaccard (ties: lower id first). Node attributes:
    flips, community (seeded Louvain), degree, strength, betweenness (distance 1 - Jaccard), component,
    promotes/demotes (hex byte lists) and their display characters."""
    if min_jaccard is None and top_k is None:
        raise SatrnnInputError("give --min-jaccard and/or --top-k to choose the graph's edges")
    if min_jaccard is not None and not (0.0 <= min_jaccard <= 1.0):
        raise SatrnnInputError(f"--min-jaccard must be between 0 and 1, got {min_jaccard}")
    C, J = report.counts, report.jaccard
    H = C.shape[0]
    if top_k is not None and not (1 <= top_k < H):
        raise SatrnnInputError(f"--top-k must be between 1 and {H - 1}, got {top_k}")
    G = nx.Graph(min_jaccard=-1.0 if min_jaccard is None else float(min_jaccard),
                 top_k=0 if top_k is None else int(top_k), seed=int(seed), transitions=int(report.transitions))
    for j in range(H):
        pd = promotes_demotes(model, j, n_bytes)
        G.add_node(j, flips=int(C[j, j]), promotes=_bytes_attr(pd.promotes), demotes=_bytes_attr(pd.demotes),
                   promotes_chars="".join(display_byte(it.byte) for it in pd.promotes),
                   demotes_chars="".join(display_byte(it.byte) for it in pd.demotes))
    edges = set()
    if min_jaccard is not None:
        a, b = np.triu_indices(H, 1)
        sel = (J[a, b] >= np.float32(min_jaccard)) & (C[a, b] > 0)
        edges.update(zip(a[sel].tolist(), b[sel].tolist()))
    if top_k is not None:
        for j in range(H):
            row = J[j].astype(np.float64).copy()
            row[j] = -1.0
            for p in np.argsort(-row, kind="stable")[:top_k]:
                if C[j, p] > 0:
                    edges.add((min(j, int(p)), max(j, int(p))))
    for a_, b_ in sorted(edges):
        G.add_edge(a_, b_, weight=float(J[a_, b_]), coflips=int(C[a_, b_]), distance=float(1.0 - J[a_, b_]))
    comms = nx.community.louvain_communities(G, weight="weight", seed=seed) if G.number_of_edges() else \
        [{j} for j in range(H)]
    comms = sorted((sorted(c) for c in comms), key=lambda c: (-len(c), c[0]))
    for ci, c in enumerate(comms):
        for j in c:
            G.nodes[j]["community"] = ci
    comps = sorted((sorted(c) for c in nx.connected_components(G)), key=lambda c: (-len(c), c[0]))
    for ci, c in enumerate(comps):
        for j in c:
            G.nodes[j]["component"] = ci
    bet = nx.betweenness_centrality(G, weight="distance") if G.number_of_edges() else {j: 0.0 for j in range(H)}
    for j in range(H):
        G.nodes[j]["degree"] = int(G.degree(j))
        G.nodes[j]["strength"] = float(sum(d["weight"] for _, _, d in G.edges(j, data=True)))
        G.nodes[j]["betweenness"] = float(bet[j])
    return G


@dataclass(frozen=True)
class Community(Record):
    """A Louvain community of the co-flip graph: its id (by size, then smallest member), size, members."""
    id: int  # 0 = largest
    size: int  # members
    members: list  # neuron ids, ascending


@dataclass(frozen=True)
class Hub(Record):
    """A node of the co-flip graph ranked by strength (summed Jaccard of its edges), with its degree,
    betweenness (distance 1 - Jaccard), community, flips and the display characters of the output bytes its
    Wy column promotes / demotes most."""
    neuron: int  # node
    strength: float  # sum of its edges' Jaccard
    degree: int  # edges
    betweenness: float  # normalised, distance 1 - Jaccard
    community: int  # Community.id
    flips: int  # its flip count
    promotes_chars: str  # display chars of its top Wy bytes
    demotes_chars: str  # display chars of its bottom Wy bytes


@dataclass(frozen=True)
class GraphSummary(Record):
    """The co-flip graph in numbers: nodes, edges, the Louvain seed, communities, modularity, connected
    components (member lists, largest first), hubs (by strength, ties by id)."""
    nodes: int
    edges: int
    seed: int | None
    communities: tuple[Community, ...]
    modularity: float
    components: list
    n_components: int
    hubs: tuple[Hub, ...]


def graph_summary(G: nx.Graph, n_hubs: int = 10) -> GraphSummary:
    """Communities with members, components, hubs (by strength, ties by id)."""
    H = G.number_of_nodes()
    comm = {}
    for j, d in G.nodes(data=True):
        comm.setdefault(d["community"], []).append(j)
    comps = {}
    for j, d in G.nodes(data=True):
        comps.setdefault(d["component"], []).append(j)
    hubs = sorted(G.nodes, key=lambda j: (-G.nodes[j]["strength"], j))[:n_hubs]
    modularity = (nx.community.modularity(G, [set(v) for v in comm.values()], weight="weight")
                  if G.number_of_edges() else 0.0)
    node = G.nodes
    return GraphSummary(
        nodes=H, edges=G.number_of_edges(), seed=G.graph.get("seed"),
        communities=tuple(Community(id=k, size=len(v), members=sorted(v)) for k, v in sorted(comm.items())),
        modularity=float(modularity), components=[sorted(v) for _, v in sorted(comps.items())],
        n_components=len(comps),
        hubs=tuple(Hub(neuron=j, strength=node[j]["strength"], degree=node[j]["degree"],
                       betweenness=node[j]["betweenness"], community=node[j]["community"], flips=node[j]["flips"],
                       promotes_chars=node[j]["promotes_chars"], demotes_chars=node[j]["demotes_chars"])
                   for j in hubs))


def graph_to_json(G: nx.Graph) -> dict:
    """Node-link JSON of the graph (a serializer: networkx's node-link document, JSON-able)."""
    return nx.node_link_data(G, edges="links")


def write_graphml(G: nx.Graph, path) -> None:
    """Write GraphML atomically (the networkx writer into a temporary sibling, then rename)."""
    import io

    from satrnn.rnn.model import atomic_write_bytes

    buf = io.BytesIO()
    nx.write_graphml(G, buf)
    data = buf.getvalue()
    atomic_write_bytes(path, lambda f: f.write(data))


def read_graphml(path) -> nx.Graph:
    """Read a co-flip graph written by `write_graphml` (int node ids)."""
    return nx.read_graphml(path, node_type=int)


def graph_json_text(G: nx.Graph) -> str:
    return json.dumps(graph_to_json(G), sort_keys=True)
