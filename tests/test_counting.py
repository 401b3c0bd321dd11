"""Counting models (DEFINITIONS Part II 4) against literal dict loops; the 1 MB generated-text run."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.analyses.counting import counting_report, greedy_offsets, skipgram_costs, skipgram_model
from satrnn.rnn.errors import SatrnnInputError

TEXT = (b"<mediawiki><page><title>AccessibleComputing</title><id>10</id><revision><id>233192</id>"
        b"<text xml:space=\"preserve\">#REDIRECT [[Computer accessibility]]</text></revision></page>"
        b"<page><title>Anarchism</title><id>12</id><text>Anarchism is a political philosophy.</text></page>")


def run_cmd(argv):
    from satrnn.cli import _Parser
    from satrnn.commands import counting as cmd
    parser = _Parser(prog="satrnn")
    cmd.COMMAND.add_to(parser.add_subparsers(parser_class=_Parser))
    args = parser.parse_args(argv)
    return args.func(args)


def generated_text(n: int, seed: int = 0) -> np.ndarray:
    """Markup-like text from a small vocabulary (words, tags, digits), n bytes."""
    rng = np.random.default_rng(seed)
    vocab = [b"the ", b"cat ", b"<page>", b"</page>\n", b"<title>", b"</title>", b"sat ", b"on ", b"mat. ",
             b"[[link]] ", b"id=", b"12", b"7", b"\t", b"anarchism ", b"political ", b"philosophy, "]
    words = rng.integers(0, len(vocab), n // 3)
    data = b"".join(vocab[w] for w in words)
    while len(data) < n:
        data += data
    return np.frombuffer(data[:n], np.uint8).copy()


def test_by_hand():
    # "aab", D = (1): T = {1, 2}, context 'a' twice, next 'a' then 'b': 1 bit each, 2 patterns
    m = skipgram_model(np.frombuffer(b"aab", np.uint8), [1])
    assert (m.bpc, m.patterns, m.contexts, m.positions) == (1.0, 2, 1, 2)
    m = skipgram_model(np.frombuffer(b"abababab", np.uint8), [1])
    assert (m.bpc, m.patterns) == (0.0, 2)
    # sequential KT on "aab": t=1: (0+.5)/(0+128); t=2: (0+.5)/(1+128)
    s = skipgram_model(np.frombuffer(b"aab", np.uint8), [1], code="sequential")
    assert s.bpc == pytest.approx((-np.log2(0.5 / 128) - np.log2(0.5 / 129)) / 2, abs=1e-12)


@pytest.mark.parametrize("offsets", [[1], [2], [1, 3], [1, 8, 20, 3], [5, 1, 2], [1, 8, 20, 3, 27, 2, 12, 7]])
def test_matches_literal(offsets):
    xs = np.frombuffer(TEXT, np.uint8)
    m = skipgram_model(xs, offsets)
    bpc, pats = naive.skipgram_bpc(xs, offsets)
    assert m.bpc == pytest.approx(bpc, abs=1e-12) and m.patterns == pats
    assert skipgram_model(xs, offsets, "sequential").bpc == pytest.approx(naive.sequential_kt_bpc(xs, offsets),
                                                                              abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=8, max_size=80), st.lists(st.integers(1, 6), min_size=1, max_size=3, unique=True))
def test_property_literal(data, offsets):
    xs = np.frombuffer(data, np.uint8)
    if max(offsets) > len(data) - 1:
        return
    bits, pats, _, _ = skipgram_costs(xs, offsets)
    bpc, p = naive.skipgram_bpc(xs, offsets)
    assert bits.mean() == pytest.approx(bpc, abs=1e-12) and pats == p
    assert (bits >= 0).all()


def test_greedy_matches_literal_and_scores_are_bit_identical():
    xs = np.frombuffer(TEXT, np.uint8)
    g = greedy_offsets(xs, steps=5, cap=12)
    assert g.order == naive.greedy_offsets(xs, 5, 12)
    for s in g.steps:        # the numba greedy score equals the vectorised model bit for bit
        m = skipgram_model(xs, s.offsets)
        assert (m.bpc, m.patterns, m.positions) == (s.bpc, s.patterns, s.positions)


def test_greedy_tie_goes_to_smallest_offset():
    """Period-2 text: after D = (1), every candidate gives 0 bits; the smallest (2) must be chosen."""
    xs = np.frombuffer(b"ab" * 30, np.uint8)
    g = greedy_offsets(xs, steps=3, cap=6)
    assert g.order == [1, 2, 3] and g.steps[1].tied_candidates == [2, 3, 4, 5, 6]


def test_published_counting(text_path):
    from satrnn.rnn.text import load_text
    xs = load_text(text_path)
    r = counting_report(xs)
    assert r.greedy.order == [1, 8, 20, 3, 27, 2, 12, 7]
    m = r.models
    assert (round(m["bigram"].bpc, 2), m["bigram"].patterns) == (2.05, 231)
    assert (round(m["skip4"].bpc, 3), m["skip4"].patterns) == (0.069, 712)
    assert (round(m["skip8"].bpc, 3), m["skip8"].patterns) == (0.043, 834)
    assert all(v.bpc_sequential_kt > 5 for v in m.values())      # the in-sample numbers are not codes
    g50 = greedy_offsets(xs, steps=8, cap=50)
    assert g50.order[:2] == [1, 8] and g50.order != r.greedy.order
    assert min(s.bpc for s in g50.steps) == 0.0


def test_errors():
    xs = np.frombuffer(b"abc", np.uint8)
    with pytest.raises(SatrnnInputError):
        skipgram_model(xs, [0])
    with pytest.raises(SatrnnInputError):
        skipgram_model(xs, [3])
    with pytest.raises(SatrnnInputError):
        skipgram_model(xs, [1, 1])
    with pytest.raises(SatrnnInputError):
        skipgram_model(xs, [1], code="held-out")


def test_cli_counting(text_path, tmp_path, capsys):
    assert run_cmd(["counting", str(text_path), "--json", "--cap", "10", "--steps", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["greedy"]["cap"] == 10 and len(out["greedy"]["order"]) == 4
    assert run_cmd(["counting", str(text_path), "--offsets", "1,8,20,3"]) == 0
    assert "skip4" in capsys.readouterr().out
    with pytest.raises(SatrnnInputError):
        run_cmd(["counting", str(text_path), "--offsets", "1,x"])
    empty = tmp_path / "e.txt"
    empty.write_bytes(b"")
    with pytest.raises(SatrnnInputError):
        run_cmd(["counting", str(empty)])


def test_one_megabyte_generated_text():
    """~1 MB: counting (greedy, skip-4, sequential code), data PMI, and a small-H factor map / q2 / q7 subset.
    (The explanation ladder's float32 readouts of every position are benchmarked, not run here.)"""
    from satrnn.analyses.factor_map import factor_map
    from satrnn.analyses.offsets import q2_offsets
    from satrnn.analyses.pmi import q7_higher_order, top_pmi_per_offset
    from satrnn.rnn.forward import run_states
    from satrnn.rnn.model import random_model
    xs = generated_text(1 << 20)
    r = counting_report(xs, steps=4, cap=12)
    assert len(r.greedy.order) == 4 and r.models["skip4"].positions > 1_000_000
    assert r.models["bigram"].bpc > r.models["skip4"].bpc
    rows = top_pmi_per_offset(xs)
    assert len(rows) == 10 and all(row.pmi is not None for row in rows)
    model = random_model(8, 5)
    hs, _ = run_states(model, xs)
    fm = factor_map(model, xs, offsets=(1, 8, 20, 3), hs=hs)
    assert 0 <= fm.overall_mean_r2 <= 1 and sum(row.neurons for row in fm.table) == 8
    q2 = q2_offsets(model, xs, hs=hs)
    assert len(q2.positions) == 13
    ho = q7_higher_order(model, xs, hs=hs, positions=range(30, len(xs) - 2, 4096))
    assert ho.n_positions == 256
