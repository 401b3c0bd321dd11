"""Skip-bigram PMI and the q7 alignment tables (DEFINITIONS 10, 11) against literal loops."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.analyses.pmi import (
    flip_deltas,
    pmi_tables,
    q7_algebraic,
    q7_higher_order,
    skip_bigram_counts,
    top_pmi_per_offset,
    trigram_pmi,
)
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import random_model

TINY = (b"<page><title>AaA</title><id>1</id><text>the cat sat on the mat; the rat ate the hat.</text>"
        b"<page><title>BbB</title><id>2</id><text>a cat and a rat sat at the gate, late.</text></page>")


def run_cmd(argv):
    from satrnn.cli import _Parser
    from satrnn.commands import pmi as cmd
    parser = _Parser(prog="satrnn")
    cmd.COMMAND.add_to(parser.add_subparsers(parser_class=_Parser))
    args = parser.parse_args(argv)
    return args.func(args)


def test_pmi_by_hand():
    """'abcd', d = 1: three pairs, each J = 1, every c = 1, n = 4: PMI = log2((1/3)/(1/16)) for all three;
    the tie goes to the lexicographically smallest pair (a, b)."""
    rows = top_pmi_per_offset(np.frombuffer(b"abcd", np.uint8), 2)
    assert rows[0].x == ord("a") and rows[0].y == ord("b") and rows[0].ties == 3
    assert rows[0].pmi == math.log2((1 / 3) / (1 / 16)) and rows[0].joint == 1
    assert rows[1].ties == 2 and (rows[1].x, rows[1].y) == (ord("a"), ord("c"))


def test_pmi_tables_match_literal():
    xs = np.frombuffer(TINY, np.uint8)
    P, c, J = pmi_tables(xs, 6)
    lx = list(xs)
    for d in (1, 2, 5, 6):
        for x, y in [(ord("t"), ord("h")), (ord("a"), ord("t")), (ord("<"), ord("/")), (ord("z"), ord("a")),
                     (ord(" "), ord("t"))]:
            ref = naive.pmi(lx, d, x, y)
            if ref is None:
                assert np.isnan(P[d - 1, x, y])
            else:
                assert P[d - 1, x, y] == ref
    for d in range(1, 7):
        r = top_pmi_per_offset(xs, 6)[d - 1]
        ref = naive.top_pmi(lx, d)
        assert (r.x, r.y, r.pmi) == ref


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=3, max_size=60), st.integers(1, 4))
def test_skip_bigram_counts_property(data, d):
    xs = np.frombuffer(data, np.uint8)
    J = skip_bigram_counts(xs, 4)
    assert J[d - 1].sum() == max(len(data) - d, 0)
    for s in range(len(data) - d):
        assert J[d - 1, data[s], data[s + d]] >= 1


def _tiny_model_text():
    model = random_model(5, 21)
    rng = np.random.default_rng(8)
    xs = rng.choice(np.frombuffer(b"abcab cab<>", np.uint8), 120)
    return model, xs


def test_q7_algebraic_matches_literal():
    model, xs = _tiny_model_text()
    positions, D = [10, 25, 60, 100, 117, 118], 12
    r = q7_algebraic(model, xs, positions=positions, max_offset=D)
    assert r.positions == [10, 25, 60, 100, 117]          # t < n-2
    cells = naive.q7_cells(model.Wx, model.Wh, model.bh, model.Wy, model.by, xs, r.positions, D)
    A, B, tot = naive.q7_algebraic_table(xs, cells, D)
    for row, a, b in zip(r.rows, A, B):
        assert row.A == pytest.approx(a, abs=1e-12) and row.B == pytest.approx(b, abs=1e-12)
    assert r.total.aligned_percent == pytest.approx(tot, abs=1e-9)
    # per-cell deltas are the literal ones exactly
    delta, _, _ = flip_deltas(model, xs, np.array(r.positions), D)
    for (t, d), v in cells.items():
        assert delta[r.positions.index(t), d - 1] == v


@pytest.mark.parametrize("variant", ["paper", "corrected"])
def test_q7_higher_order_matches_literal(variant):
    model, xs = _tiny_model_text()
    D = 10
    r = q7_higher_order(model, xs, max_offset=D, variant=variant)
    T = list(range(30, 118, 4))
    assert r.n_positions == len(T)
    cells = naive.q7_cells(model.Wx, model.Wh, model.bh, model.Wy, model.by, xs, T, D)
    R, Bi, Tri = naive.q7_higher_order_table(xs, cells, D, corrected=variant == "corrected")
    for row, a, b, c in zip(r.rows, R, Bi, Tri):
        assert row.rnn_sensitivity == pytest.approx(a, abs=1e-12)
        assert row.bigram_aligned_percent == pytest.approx(100 * b / a if a else 0, abs=1e-9)
        assert row.trigram_aligned_percent == pytest.approx(100 * c / a if a else 0, abs=1e-9)
    assert r.rows[0].trigram_aligned_percent == 0.0                 # Tri_1 = 0 by construction
    assert r.total.improvement_points == pytest.approx(100 * (sum(Tri) - sum(Bi)) / sum(R), abs=1e-9)


def test_trigram_pmi_literal_and_normalisation():
    xs = np.frombuffer(TINY, np.uint8)
    T = np.arange(30, len(xs) - 2, 7)
    for variant in ("paper", "corrected"):
        P3 = trigram_pmi(xs, T, 8, variant)
        for k, t in enumerate(T):
            for d in range(2, 9):
                ref = naive.trigram_pmi(list(xs), int(t), d, len(xs) - 1 if variant == "paper" else len(xs) - d)
                assert P3[k, d - 1] == ref
    # the paper's n-1 normalisation biases pmi3 upward by log2((n-1)/(n-d)) wherever it is defined
    n, d = len(xs), 8
    p, c = trigram_pmi(xs, T, 8, "paper")[:, d - 1], trigram_pmi(xs, T, 8, "corrected")[:, d - 1]
    ok = p != 0
    assert ok.any() and np.allclose(p[ok] - c[ok], math.log2((n - 1) / (n - d)))


def test_published_q7_measured(published, published_forward):
    model, xs = published
    rows = top_pmi_per_offset(xs)
    assert [(r.x_char, r.y_char) for r in rows[:3]] == [("_", "P"), ("X", "L"), ("7", "I")]
    alg = q7_algebraic(model, xs, hs=published_forward.hs)
    assert round(alg.total.aligned_percent, 2) == 92.35
    ho = q7_higher_order(model, xs, hs=published_forward.hs)
    assert ho.n_positions == 248
    assert round(ho.total.bigram_aligned_percent, 1) == 72.6
    assert round(ho.total.trigram_aligned_percent, 1) == 74.2
    assert round(ho.total.improvement_points, 2) == 1.64


def test_pmi_errors():
    with pytest.raises(SatrnnInputError):
        pmi_tables(np.array([1], np.uint8))
    model = random_model(3, 0)
    with pytest.raises(SatrnnInputError):
        q7_algebraic(model, np.arange(20, dtype=np.uint8))
    with pytest.raises(SatrnnInputError):
        q7_higher_order(model, np.arange(40, dtype=np.uint8), variant="x")


def test_cli_pmi(model_path, text_path, capsys):
    assert run_cmd(["pmi", str(model_path), str(text_path), "--json", "--variant", "corrected"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["top_pmi"]) == 10 and out["q7_higher_order"]["variant"] == "corrected"
    assert "total_d2_plus" in out["q7_higher_order"]
    assert run_cmd(["pmi", str(model_path), str(text_path), "--data-only"]) == 0
    assert "Top skip-bigram PMI" in capsys.readouterr().out
    assert run_cmd(["pmi", str(text_path), "--data-only", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["top_pmi"][0]["x_char"] == "_" and "q7_algebraic" not in out
    with pytest.raises(SatrnnInputError):
        run_cmd(["pmi", str(model_path), str(text_path), "--max-offset", "0"])
