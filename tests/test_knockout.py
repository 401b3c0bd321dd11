"""q3/q5 tables on the published weights, reproduced to the printed digits of seed 004 (values measured by
the code, asserted here), plus structural checks of the knockout analyses and their CLI."""
import json

import numpy as np
import pytest

import naive
from satrnn.analyses.knockout import (
    neuron_knockout,
    neurons_report,
    promotes_demotes,
    redux_report,
    tie_groups,
    weight_distribution,
)
from satrnn.automaton.redux import ReadoutCache, Redux
from satrnn.cli import main
from satrnn.rnn.forward import forward
from satrnn.rnn.model import random_model


@pytest.fixture(scope="module")
def q3(published, published_forward):
    model, xs = published
    return neurons_report(model, xs, ReadoutCache(model, xs, forward_result=published_forward))


@pytest.fixture(scope="module")
def q5(published, q3):
    model, xs = published
    return redux_report(model, xs, order=q3.knockout.order)


# Seed 004, knockout table: neuron, delta bpc (4 dp), |Wy| (2 dp), promotes, demotes.
SEED004_KNOCKOUT = [
    (8, "+0.0348", "6.10", "/i cd", "aeop:"), (56, "+0.0250", "4.43", " ysdl", "acnpe"),
    (68, "+0.0245", "5.83", "mienp", " k>h."), (99, "+0.0198", "5.02", ">ardU", "/iet "),
    (15, "+0.0196", "5.19", "s/gl\"", "k ht."), (52, "+0.0175", "5.83", "eia.p", "k</n\""),
    (76, "+0.0172", "4.56", "slmdc", " en</"), (90, "+0.0154", "4.69", "ak\"h=", "Mm.ps"),
    (73, "+0.0149", "4.32", "a\" n>", "rtkMl"), (50, "+0.0127", "3.29", "e\"k<0", "as c>"),
]

# Seed 004, keep-top-k table: k, bpc (3 dp), % gap (1 dp, 8-bit reference of DEFINITIONS 7.3).
SEED004_KEEP = [(1, "5.928", "26.2"), (5, "4.030", "50.1"), (10, "2.845", "65.1"), (15, "1.886", "77.2"),
                (20, "1.412", "83.2"), (30, "0.707", "92.1"), (50, "0.284", "97.4"), (80, "0.115", "99.5"),
                (120, "0.079", "100.0"), (128, "0.079", "100.0")]


def test_baseline(q3):
    assert f"{q3.baseline_bpc:.4f}" == "0.0792"


def test_seed004_knockout_table(published, q3):
    model, _ = published
    ko = q3.knockout
    assert [int(j) for j in ko.order[:10]] == [r[0] for r in SEED004_KNOCKOUT]
    for (j, d, w, up, down), role in zip(SEED004_KNOCKOUT, q3.top_neurons):
        assert f"{ko.delta[j]:+.4f}" == d
        assert f"{ko.wy_col_norm[j]:.2f}" == w
        assert role.neuron == j
        assert "".join(x.char for x in role.promotes) == up
        assert "".join(x.char for x in role.demotes) == down
    assert ko.ties == []  # no exact ties: the ranking feeding the subsets is unambiguous


def test_seed004_keep_top_k_table(q3):
    keep = q3.keep_top_k
    for k, bpc, pct in SEED004_KEEP:
        assert f"{keep.bpc[k]:.3f}" == bpc
        assert f"{keep.pct_of_gain[k]:.1f}" == pct


def test_seed004_cumulative_and_combined(q3, q5):
    cum = q3.cumulative
    assert f"{cum.bpc[10]:.2f}" == "0.93"  # "raises BPC from 0.08 to 0.93"
    assert cum.bpc[0] == q3.baseline_bpc
    comb = {(r.k, r.theta): r for r in q5.combined}
    assert f"{comb[(30, 0.0)].bpc:.3f}" == "0.707"
    assert f"{comb[(20, 0.0)].bpc:.3f}" == "1.412"
    assert f"{comb[(15, 0.0)].bpc:.3f}" == "1.886"
    assert f"{comb[(30, 0.0)].wy_pct_kept:.1f}" == "23.4"
    # Seed 004's "Redux (k=15, W_h pruned) 0.1% kept, 4.868": measured 4.677 with theta = 1.0 (10 Wh
    # entries kept, 0.06%) and 4.867 with theta = 2.0 (all of Wh zeroed; max |Wh| < 1.5). Neither is 4.868.
    assert comb[(15, 1.0)].wh_kept == 10 and f"{comb[(15, 1.0)].wh_pct_kept:.1f}" == "0.1"
    assert f"{comb[(15, 1.0)].bpc:.3f}" == "4.677"
    assert f"{comb[(15, 2.0)].bpc:.3f}" == "4.867" and comb[(15, 2.0)].wh_kept == 0
    # the theta = 0 rows equal q3's minimal subsets exactly
    for k in (5, 10, 15, 20, 30, 128):
        assert comb[(k, 0.0)].bpc == q3.keep_top_k.bpc[k]


def test_seed004_weight_distribution(published, q5):
    model, _ = published
    w = q5.weight_distribution
    assert f"{w.percentiles[50]:.3f}" == "0.047"
    assert f"{w.percentiles[90]:.3f}" == "0.186"
    assert f"{w.max:.3f}" == "1.393"
    a = np.sort(np.abs(model.Wh).ravel())
    assert [w.percentiles[p] for p in (10, 25, 50, 75, 90, 95, 99)] == \
        [float(a[i]) for i in (1638, 4096, 8192, 12288, 14745, 15564, 16220)]


def test_param_counts(published, q5):
    model, _ = published
    assert model.n_params == 82304
    pc = q5.param_count
    assert pc.total == 32768 + int((np.abs(model.Wh) >= np.float32(2.0)).sum()) + 128 + 15 * 256 + 256
    assert pc.full == 82304


def test_pruning_tables(published, q5):
    model, xs = published
    wh = {r.theta: r for r in q5.wh_pruning}
    assert wh[0.0].n_zeroed == 0 and wh[0.0].bpc == q5.baseline_bpc
    assert wh[2.0].n_zeroed == 16384  # max |Wh| < 1.5 on these weights
    assert wh[0.5].bpc == forward(Redux(wh_threshold=0.5).apply(model), xs).bpc
    wx = {r.theta: r for r in q5.wx_pruning}
    assert wx[1.0].n_zeroed == int((np.abs(model.Wx) < np.float32(1.0)).sum())
    synth = {r.label: r for r in q5.synthesis}
    assert synth["Wh<3"].bpc == synth["Wh<4"].bpc == wh[3.0].bpc
    assert synth["top20"].bpc == q5.combined[12].bpc


def test_sign_only(published, q3):
    model, xs = published
    so = q3.sign_only
    assert int(so.order[0]) == 8
    j = int(so.order[1])
    hs = forward(model, xs).hs
    assert so.bpc[j] == naive.masked_readout_bpc(model.Wy, model.by, hs, xs, snap=[j])


def test_tie_groups_and_stable_rank():
    keys = np.array([0.5, 0.1, 0.5, 0.1, 0.3])
    order = np.argsort(-keys, kind="stable")
    assert list(order) == [0, 2, 4, 1, 3]
    assert tie_groups(keys, order) == [[0, 2], [1, 3]]


def test_random_model_knockout_matches_slow_path():
    model = random_model(10, 3)
    xs = np.random.default_rng(0).integers(0, 256, 80, dtype=np.uint8)
    ko = neuron_knockout(model, xs)
    for j in range(10):
        Wy = np.array(model.Wy)
        Wy[:, j] = 0
        assert ko.bpc_ko[j] == forward(model.replace(Wy=Wy), xs).bpc
    assert sorted(ko.order) == list(range(10))
    assert list(ko.rank[ko.order]) == list(range(10))


def test_promotes_demotes_tie_order():
    model = random_model(3, 0)
    Wy = np.zeros((256, 3), np.float32)
    Wy[[5, 9], 0] = 2.0
    Wy[[7, 1], 0] = -2.0
    pd = promotes_demotes(model.replace(Wy=Wy), 0, n=3)
    assert [x.byte for x in pd.promotes] == [5, 9, 0]
    assert [x.byte for x in pd.demotes] == [1, 7, 0]


def test_weight_distribution_indices():
    W = np.arange(16384, dtype=np.float32).reshape(128, 128)
    w = weight_distribution(-W)
    assert w.percentiles[50] == 8192.0 and w.min == 0.0 and w.max == 16383.0


def test_cli_knockout_and_redux_json(model_path, text_path, capsys, tmp_path):
    assert main(["knockout", str(model_path), str(text_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["knockout"]["order"][:3] == [8, 56, 68]
    small = tmp_path / "small.npz"
    assert main(["redux", str(model_path), str(text_path), "--keep-top", "15", "--wh-threshold", "1.0",
                 "--out", str(small), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["small_model"]["bpc"] == out["bpc"] and small.exists()
    assert out["small_model"]["H"] == len(out["live_neurons"]) < 128
    assert main(["redux", str(model_path), str(text_path), "--keep-top", "999"]) == 2
    assert main(["redux", str(model_path), str(text_path), "--wh-threshold", "-1"]) == 2
    assert main(["redux", str(model_path), str(text_path), "--out", str(tmp_path / "nodir" / "x.npz")]) == 2
    assert main(["redux", str(model_path), str(text_path), "--out", str(tmp_path / "x.txt")]) == 2


def test_cli_redux_sweep_tables(model_path, text_path, capsys):
    assert main(["redux", str(model_path), str(text_path), "--sweep"]) == 0
    text = capsys.readouterr().out
    assert "Combined" in text and "Wh pruning" in text and "1.8862" in text


def test_keep_120_is_not_exactly_the_full_model(q3):
    """Seed 004: 'k=120 matches the full model exactly; the last 8 neurons contribute exactly zero'.
    Both print as 0.079, but keeping 120 is strictly better: the last 8 knockouts have negative delta."""
    keep, ko = q3.keep_top_k, q3.knockout
    assert keep.bpc[120] < keep.bpc[128] == q3.baseline_bpc
    assert (ko.delta[ko.order[120:]] < 0).all()
