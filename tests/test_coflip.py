"""Co-flip counts from packed bitsets equal the naive loop; Jaccard; the graph round-trips through GraphML."""
import json

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.analyses.coflip import (
    coflip_counts,
    coflip_graph,
    coflip_report,
    graph_summary,
    graph_to_json,
    jaccard_f32,
    pack_time,
    read_graphml,
    top_pairs,
    write_graphml,
)
from satrnn.analyses.saturation import flip_matrix
from satrnn.cli import main
from satrnn.rnn.forward import forward
from satrnn.rnn.model import random_model


@settings(max_examples=30, deadline=None)
@given(H=st.integers(1, 7), T=st.sampled_from([1, 2, 63, 64, 65, 127, 128, 129, 200]), seed=st.integers(0, 10**6))
def test_pack_and_counts_match_naive(H, T, seed):
    rng = np.random.default_rng(seed)
    F = rng.random((H, T)) < rng.random()
    bits = pack_time(F)
    for j in range(H):
        for t in range(T):
            assert bool((int(bits[j, t // 64]) >> (t % 64)) & 1) == F[j, t]
    assert not any(int(bits[j, -1]) >> (T % 64) for j in range(H)) if T % 64 else True
    C = coflip_counts(F)
    ref = [[int(np.sum(F[a] & F[b])) for b in range(H)] for a in range(H)]
    assert C.tolist() == ref


def test_published_counts_equal_naive_loop(published_forward):
    hs = published_forward.hs[:-1]
    C = coflip_counts(flip_matrix(hs))
    ref = naive.coflips(hs)
    assert C.tolist() == ref
    J = jaccard_f32(C)
    for a, b in ((3, 36), (0, 1), (9, 37), (54, 54)):
        assert J[a, b] == naive.jaccard(ref, a, b)


def test_published_report(published):
    model, xs = published
    rep = coflip_report(model, xs)
    assert rep.transitions == 1022
    assert len(rep.top_pairs) == 15
    c = [r.coflips for r in rep.top_pairs]
    assert c == sorted(c, reverse=True)
    # measured: the most co-flipping pair and the pairs with Jaccard > 0.5
    assert (rep.top_pairs[0].a, rep.top_pairs[0].b, rep.top_pairs[0].coflips) == (3, 36, 494)
    assert rep.pairs_jaccard_gt_half == 17
    assert np.array_equal(rep.flips, flip_matrix(forward(model, xs).hs[:-1]).sum(axis=1))


def test_top_pairs_stable_ties():
    C = np.array([[3, 2, 2], [2, 3, 2], [2, 2, 3]])
    rows, tie = top_pairs(C, jaccard_f32(C), k=2)
    assert [(r.a, r.b) for r in rows] == [(0, 1), (0, 2)]
    assert tie.as_dict() == {"count_at_cut": 2, "pairs_with_count_at_cut": 3, "listed_at_cut": 2, "tie_at_cut": True}
    J = jaccard_f32(np.array([[0, 0], [0, 0]]))
    assert J.dtype == np.float32 and (J == 0).all()


def _small_report():
    model = random_model(10, 1)
    xs = np.random.default_rng(2).integers(0, 256, 300, dtype=np.uint8)
    return model, coflip_report(model, xs)


def test_graph_roundtrip_graphml(tmp_path):
    model, rep = _small_report()
    G = coflip_graph(model, rep, min_jaccard=0.2, top_k=2, seed=3)
    assert G.number_of_nodes() == 10 and G.number_of_edges() > 0
    for a, b, d in G.edges(data=True):
        assert d["weight"] == float(rep.jaccard[a, b]) and d["coflips"] == int(rep.counts[a, b])
    p = tmp_path / "g.graphml"
    write_graphml(G, p)
    G2 = read_graphml(p)
    assert sorted(G2.nodes) == sorted(G.nodes)
    assert sorted(G2.edges) == sorted(G.edges)
    for j in G.nodes:
        assert G2.nodes[j] == G.nodes[j]
    for a, b in G.edges:
        assert G2.edges[a, b] == G.edges[a, b]
    assert {k: G2.graph[k] for k in G.graph} == G.graph
    # JSON export is plain JSON and rebuilds the same graph
    data = json.loads(json.dumps(graph_to_json(G)))
    G3 = nx.node_link_graph(data, edges="links")
    assert sorted(G3.edges) == sorted(G.edges)


def test_communities_are_seeded_and_deterministic():
    model, rep = _small_report()
    s1 = graph_summary(coflip_graph(model, rep, min_jaccard=0.1, seed=5))
    s2 = graph_summary(coflip_graph(model, rep, min_jaccard=0.1, seed=5))
    assert s1 == s2
    members = sorted(j for c in s1.communities for j in c.members)
    assert members == list(range(10))


def test_graph_edge_selection():
    model, rep = _small_report()
    J = rep.jaccard
    G = coflip_graph(model, rep, min_jaccard=0.3, seed=0)
    a, b = np.triu_indices(10, 1)
    expect = {(int(x), int(y)) for x, y in zip(a, b) if J[x, y] >= np.float32(0.3) and rep.counts[x, y] > 0}
    assert set(G.edges) == expect
    Gk = coflip_graph(model, rep, min_jaccard=None, top_k=1, seed=0)
    for j in range(10):
        row = J[j].astype(float).copy()
        row[j] = -1
        best = int(np.argmax(row))
        if rep.counts[j, best] > 0:
            assert Gk.has_edge(j, best)


def test_cli_coflip(model_path, text_path, tmp_path, capsys):
    gml = tmp_path / "g.graphml"
    gj = tmp_path / "g.json"
    assert main(["coflip", str(model_path), str(text_path), "--graphml", str(gml), "--graph-json", str(gj),
                 "--min-jaccard", "0.5", "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seed"] == 1 and out["top_pairs"][0]["coflips"] == 494
    assert read_graphml(gml).number_of_edges() == out["graph"]["edges"] == 17
    assert json.loads(gj.read_text())["graph"]["seed"] == 1
    assert main(["coflip", str(model_path), str(text_path), "--min-jaccard", "2"]) == 2
    assert main(["coflip", str(model_path), str(text_path), "--graphml", str(tmp_path / "no" / "g.graphml")]) == 2
    assert main(["coflip", str(model_path), str(text_path), "--top", "5"]) == 0
    assert "Communities" in capsys.readouterr().out
