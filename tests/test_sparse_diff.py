"""analyses.sparse_diff (seed 002): per-offset attribution vs literal loops, energy shares, norm tables,
options, CLI, and the seed's tables measured on the published weights."""
import json

import numpy as np
import pytest

from satrnn.analyses.sparse_diff import offset_attributions, sparse_differentiation
from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import run_states
from satrnn.rnn.gradients import state_gradients
from satrnn.rnn.model import random_model, save_model
from tests import naive


def _text(n, seed, alphabet=12):
    return (np.random.default_rng(seed).integers(0, alphabet, n) + 97).astype(np.uint8)


@pytest.mark.parametrize("offset_from", ["consumed", "predicted"])
@pytest.mark.parametrize("gate", [False, True])
def test_offset_attr_vs_naive(offset_from, gate):
    m = random_model(7, 3)
    xs = _text(20, 3)
    hs, _ = run_states(m, xs)
    B, _ = state_gradients(m, hs, xs, 6)
    A = offset_attributions(m, xs, B, hs, 6, offset_from, gate)
    for t in range(len(xs) - 1):
        for k in range(7):
            d = k if offset_from == "consumed" else k - 1
            if d < 0 or t - d < 0:
                assert np.isnan(A[t, k])
                continue
            ref = naive.offset_attr_naive(m.Wx, hs, xs, B[t], t, k, offset_from, gate)
            assert A[t, k] == pytest.approx(ref, rel=1e-10, abs=1e-14)


def test_tables_vs_direct_computation():
    m = random_model(9, 5)
    xs = _text(50, 5)
    hs, _ = run_states(m, xs)
    out = sparse_differentiation(m, xs, max_k=4, positions="valid", examples=(10,))
    B, P = state_gradients(m, hs, xs, 4)
    mm = len(xs) - 1
    norms = [float(np.linalg.norm(B[t, 0])) for t in range(mm)]
    assert out.gradient.mean_norm == pytest.approx(np.mean(norms), rel=1e-12)
    shares = []
    for t in range(mm):
        e = sorted((B[t, 0] ** 2).tolist(), reverse=True)
        shares.append(sum(e[:5]) / sum(e))
    assert out.gradient.top_share["5"] == pytest.approx(np.mean(shares), rel=1e-12)
    for row in out.norm_growth:
        k = row.k
        valid = [np.linalg.norm(B[t, k]) for t in range(k, mm)]
        common = [np.linalg.norm(B[t, k]) for t in range(4, mm)]
        assert row.mean_norm_valid == pytest.approx(np.mean(valid), rel=1e-12)
        assert row.mean_norm_common == pytest.approx(np.mean(common), rel=1e-12)
        assert row.mean_norm == row.mean_norm_valid
    for row in out.attribution:
        k = row.k
        vals = [naive.offset_attr_naive(m.Wx, hs, xs, B[t], t, k) for t in range(k, mm)]
        assert row.signed == pytest.approx(np.mean(vals), rel=1e-9, abs=1e-15)
        assert row.unsigned == pytest.approx(np.mean(np.abs(vals)), rel=1e-9)
        assert row.positions == mm - k
    ex = out.examples[0]
    assert ex.t == 10 and ex.target == xs[11] and ex.input == xs[10]
    assert ex.p_true == pytest.approx(P[10, xs[11]])
    assert ex.strongest_abs.attr == max((o.attr for o in ex.offsets if o.k >= 1), key=abs)
    json.dumps(out.as_dict())


def test_options_and_errors():
    m = random_model(5, 1)
    xs = _text(30, 1)
    a = sparse_differentiation(m, xs, max_k=3, offset_from="predicted", examples=())
    b = sparse_differentiation(m, xs, max_k=3, offset_from="consumed", positions="valid", examples=())
    # predicted-from k equals consumed-from k-1 (same byte, same gradient), over the valid positions
    bp = sparse_differentiation(m, xs, max_k=3, offset_from="predicted", positions="valid", examples=())
    for rp, rc in zip(bp.attribution, b.attribution):
        assert rp.k == rc.k + 1 and rp.positions == rc.positions
        assert rp.signed == pytest.approx(rc.signed, rel=1e-12)
    assert a.choices.offset_from == "predicted"
    for kw in ({"offset_from": "x"}, {"positions": "all"}, {"share": "z"}, {"max_k": 0}, {"examples": (99,)}):
        with pytest.raises(SatrnnInputError):
            sparse_differentiation(m, xs, **kw)


def test_cli_json(tmp_path, capsys):
    m = random_model(8, 2)
    mp, tp = tmp_path / "m.bin", tmp_path / "t.txt"
    save_model(m, mp)
    tp.write_bytes(bytes(_text(60, 2)))
    assert main(["attribution", str(mp), str(tp), "--json", "--gate", "--examples", "12", "30"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["choices"]["gate"] is True and [e["t"] for e in out["examples"]] == [12, 30]
    assert main(["attribution", str(mp), str(tp)]) == 0
    assert "attribution" in capsys.readouterr().out.lower()
    assert main(["attribution", str(mp), str(tp), "--examples", "500"]) == 2


def test_seed002_on_published_weights(published, published_forward):
    """Seed 002 tables reproduced (issue 7): gradient sparsity, norm growth, per-offset attribution, examples."""
    model, xs = published
    out = sparse_differentiation(model, xs, hs=published_forward.hs)
    g = out.gradient
    assert round(g.mean_norm, 3) == 0.103
    assert [round(100 * g.top_share[k], 1) for k in ("1", "5", "10")] == [19.4, 50.8, 67.9]
    ratios = [round(r.ratio_common, 2) for r in out.norm_growth]
    assert ratios == [1.00, 1.38, 1.48, 1.61, 1.74, 1.92, 2.05, 2.20, 2.36]
    att = [(r.signed, r.unsigned) for r in out.attribution if r.k >= 1]
    # printed to 3 decimals; k = 7 measures 0.07149 (|attr|), printed 0.072 in the seed: allow 0.6e-3
    assert np.array(att) == pytest.approx(np.array([(0.005, 0.041), (0.0, 0.057), (0.006, 0.053), (0.029, 0.070),
                                                    (0.002, 0.081), (-0.016, 0.081), (0.002, 0.072), (0.006, 0.079)]),
                                          abs=6e-4)
    e10, e28 = out.examples
    assert (e10.input_char, e10.target_char, round(e10.p_true, 3), round(e10.norm, 3)) == \
        (" ", "x", 0.996, 0.013)
    assert [n.neuron for n in e10.top_neurons[:3]] == [99, 68, 52]
    s10, s28 = e10.strongest_signed, e28.strongest_signed
    assert (s10.k, s10.char, round(s10.attr, 3)) == (1, "i", 0.020)
    assert (s28.k, s28.char, round(s28.attr, 3)) == (4, "/", 0.016)
    assert round(e28.p_true, 3) == 0.998
