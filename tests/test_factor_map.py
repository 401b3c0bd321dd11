"""Factor map, Table 1 and the explanation ladder (DEFINITIONS Part II 2-3) against literal references."""
import json

import numpy as np
import pytest

import naive
from satrnn.analyses.factor_map import (
    OMEGA,
    cell_r2,
    dense_cells,
    explanation_ladder,
    factor_map,
    in_tag,
    omega_pairs,
    readout_f32_costs,
    word_length,
)
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.rnn.model import random_model

TEXT = (b"<page>\n  <title>The cat</title>\n\t<id>12</id>\r\n<text xml:space=\"preserve\">the cat sat on "
        b"the mat, the rat sat on the hat; a bat sat at the gate</text>\n</page>\n<page><title>Dog</title>")


def run_cmd(argv):
    from satrnn.cli import _Parser
    from satrnn.commands import factor_map as cmd
    parser = _Parser(prog="satrnn")
    cmd.COMMAND.add_to(parser.add_subparsers(parser_class=_Parser))
    args = parser.parse_args(argv)
    return args.func(args)


def test_pairs_in_list_order():
    pairs = omega_pairs()
    assert len(pairs) == 28 and pairs[0] == (1, 8) and (8, 2) in pairs and (2, 8) not in pairs


def test_cell_r2_by_hand_and_literal(rng):
    # two cells {0, 1} with values (1, 3) and (5, 5): SSR = 2, mean 3.5, SST = 6.25+0.25+2.25+2.25 = 11
    r2, loo = cell_r2(np.array([0, 0, 1, 1]), np.array([[1.0], [3.0], [5.0], [5.0]]))
    assert r2[0] == pytest.approx(1 - 2 / 11, abs=1e-15)
    # LOO predictions 3, 1, 5, 5: SSL = 4 + 4 = 8
    assert loo[0] == pytest.approx(1 - 8 / 11, abs=1e-15)
    cells = rng.integers(0, 7, 80)
    Y = rng.normal(size=(80, 3))
    r2, _ = cell_r2(cells, Y)
    for j in range(3):
        assert r2[j] == pytest.approx(naive.cell_r2(cells.tolist(), Y[:, j].tolist()), abs=1e-12)


def test_identical_partitions_tie_exactly_first_pair_wins():
    """Period-3 text: offsets 1 and 4 see the same byte, so pairs (1, 2) and (4, 2) induce the same
    partition; their R^2 must be bit-identical and the earlier pair in list order must win."""
    xs = np.frombuffer(b"abc" * 40, np.uint8)
    rng = np.random.default_rng(1)
    hs = rng.normal(size=(len(xs), 3)).astype(np.float32)
    model = random_model(3, 0)
    r = factor_map(model, xs, offsets=(4, 2, 1, 5), hs=hs)
    R = {}
    for a, b in omega_pairs((4, 2, 1, 5)):
        t = np.arange(5, len(xs))
        R[(a, b)], _ = cell_r2(xs[t - a].astype(np.int64) * 256 + xs[t - b], hs[5:])
    assert np.array_equal(R[(4, 2)], R[(2, 1)])       # {4,2} and {2,1}: same partition on a period-3 text
    assert all(n.pair == [4, 2] for n in r.neurons)   # every pair gives the same partition here


def test_factor_map_matches_literal():
    model = random_model(5, 9)
    xs = np.frombuffer(TEXT, np.uint8)
    offsets = (1, 3, 5, 2)
    hs = forward(model, xs).hs
    r = factor_map(model, xs, offsets=offsets, hs=hs)
    ref = naive.factor_map_best(list(xs), hs.tolist(), offsets)
    for nr, (pair, r2) in zip(r.neurons, ref):
        assert tuple(nr.pair) == pair and nr.r2 == pytest.approx(r2, abs=1e-12)
    assert sum(row.neurons for row in r.table) == 5
    assert r.overall_mean_r2 == pytest.approx(np.mean([v for _, v in ref]), abs=1e-12)


def test_word_length_and_in_tag_by_hand():
    xs = np.frombuffer(b"ab c\r\n<x y>z", np.uint8)
    assert word_length(xs).tolist() == [1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 3]
    assert in_tag(xs).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0]
    big = np.frombuffer(TEXT + b"x" * 40, np.uint8)
    assert word_length(big).tolist() == naive.word_length(list(big))
    assert in_tag(big).tolist() == naive.in_tag(list(big))
    assert word_length(big).max() == 15


def test_readout_f32_bit_exact():
    model = random_model(6, 3)
    rng = np.random.default_rng(2)
    V = rng.uniform(-1, 1, (5, 6)).astype(np.float32) * 30   # large logits: exercises the 1e-10 floor
    tg = rng.integers(0, 256, 5).astype(np.uint8)
    c = readout_f32_costs(model, V, tg)
    for r in range(5):
        assert c[r] == naive.readout_cost_f32(model.Wy, model.by, V[r], int(tg[r]))


def test_ladder_L1_matches_literal():
    model = random_model(4, 17)
    xs = np.frombuffer(TEXT, np.uint8)
    offsets = (1, 3, 5, 2)
    f = forward(model, xs)
    lad = explanation_ladder(model, xs, offsets=offsets, hs=f.hs, rnn_bpc=f.bpc)
    T = list(range(5, len(xs)))
    x = list(xs)
    hhat = np.empty((len(T), 4))
    for j in range(4):
        y = [float(f.hs[t][j]) for t in T]
        best, d2 = -1e300, None
        for d in (3, 5, 2):
            v = naive.cell_r2([(x[t - 1], x[t - d]) for t in T], y)
            if v > best:
                best, d2 = v, d
        assert lad.d2[j] == d2
        cells = [(x[t - 1], x[t - d2]) for t in T]
        sums, cnt = {}, {}
        for c, v in zip(cells, y):
            sums[c] = sums.get(c, 0.0) + v
            cnt[c] = cnt.get(c, 0) + 1
        hhat[:, j] = [sums[c] / cnt[c] for c in cells]
    costs = [naive.readout_cost_f32(model.Wy, model.by, hhat[k].astype(np.float32), x[t + 1])
             for k, t in enumerate(T) if t <= len(xs) - 2]
    L1 = [r for r in lad.rows if r.level == "L1"][0]
    assert L1.bpc == pytest.approx(sum(costs) / len(costs), abs=1e-12)
    assert L1.x_percent_eq2 == pytest.approx(100 * (8 - L1.bpc) / (8 - f.bpc), abs=1e-12)


def test_dense_cells():
    inv, k = dense_cells(np.array([5, 5, 7, 1]), np.array([0, 1, 0, 0]))
    assert k == 4 and inv[0] != inv[1] and len(set(inv.tolist())) == 4
    inv, k = dense_cells(np.array([3, 3, 9, 3]))
    assert k == 2 and inv.tolist()[0] == inv.tolist()[1] == inv.tolist()[3] != inv.tolist()[2]


def test_published_table1_and_ladder(published, published_forward):
    """Seed 003 Table 1 and the ladder, as measured on the published weights (continuous target)."""
    model, xs = published
    fm = factor_map(model, xs, hs=published_forward.hs, null_perms=1, seed=0)
    top = [(tuple(r.pair), r.neurons) for r in fm.table[:5]]
    assert top == [((1, 7), 52), ((1, 8), 20), ((8, 2), 18), ((1, 12), 9), ((2, 7), 8)]
    assert [round(r.mean_r2, 3) for r in fm.table[:5]] == [0.844, 0.838, 0.835, 0.818, 0.825]
    other = fm.table_paper_shape[-1]
    assert other.pair == "Other" and other.neurons == 21 and round(other.mean_r2, 3) == 0.833
    assert round(fm.overall_mean_r2, 3) == 0.837
    assert fm.overall_mean_r2_loo < 0.7 * fm.overall_mean_r2           # in-sample inflation
    assert 0.3 < fm.null.mean_best_pair_r2 < fm.overall_mean_r2      # the null is substantial
    lad = explanation_ladder(model, xs, hs=published_forward.hs, rnn_bpc=published_forward.bpc)
    b = {r.level: r for r in lad.rows}
    assert [round(b[k].bpc, 2) for k in ("L1", "L2", "L3")] == [0.85, 0.50, 0.43]
    assert [round(b[k].x_percent_eq2, 1) for k in ("L1", "L2", "L3")] == [90.2, 94.7, 95.6]
    assert all(b[k].bpc_loo > 3 * b[k].bpc for k in ("L1", "L2", "L3"))
    assert lad.L1_table1_pairs.bpc < b["L1"].bpc
    sign = factor_map(model, xs, target="sign", hs=published_forward.hs)
    assert sign.overall_mean_r2 < fm.overall_mean_r2
    shifted = factor_map(model, xs, offsets=tuple(d - 1 for d in OMEGA), hs=published_forward.hs)
    assert shifted.overall_mean_r2 > fm.overall_mean_r2


def test_factor_map_errors():
    model = random_model(3, 0)
    with pytest.raises(SatrnnInputError):
        factor_map(model, np.arange(20, dtype=np.uint8))          # too short for offset 27
    with pytest.raises(SatrnnInputError):
        factor_map(model, np.arange(60, dtype=np.uint8), target="bogus")
    with pytest.raises(SatrnnInputError):
        explanation_ladder(model, np.arange(60, dtype=np.uint8), offsets=(2, 3))


def test_cli_factor_map(model_path, text_path, capsys):
    assert run_cmd(["factor-map", str(model_path), str(text_path), "--json", "--null-perms", "0",
                    "--variant", "corrected", "--no-ladder"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["factor_map"]["offsets"] == [0, 7, 19, 2, 26, 1, 11, 6] and out["ladder"] is None
    assert run_cmd(["factor-map", str(model_path), str(text_path), "--null-perms", "1"]) == 0
    assert "Explanation ladder" in capsys.readouterr().out
    with pytest.raises(SatrnnInputError):
        run_cmd(["factor-map", str(model_path), str(text_path), "--offsets", "3,3"])
    with pytest.raises(SatrnnInputError):
        run_cmd(["factor-map", str(model_path), str(text_path), "--gain-baseline", "nan"])
