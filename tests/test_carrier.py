"""analyses.carrier (seed 003 section 5): carriers, pattern sensitivity, carrier-only states, influence by
offset and the output decomposition against literal loops; options; CLI; published-weight structure."""
import json

import numpy as np
import pytest

from satrnn.analyses.carrier import carrier_decomposition, carrier_states, carriers, pattern_sensitive
from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import readout_costs, run_states
from satrnn.rnn.model import random_model, save_model
from tests import naive


def _text(n, seed, alphabet=10):
    return (np.random.default_rng(seed).integers(0, alphabet, n) + 97).astype(np.uint8)


def test_carriers_and_sensitivity_vs_naive():
    m = random_model(8, 2, scale=2.0)
    xs = _text(25, 2)
    hs, zs = run_states(m, xs)
    C = carriers(m, hs)
    ps_all = pattern_sensitive(m, C, xs, "all")
    ps_occ = pattern_sensitive(m, C, xs, "occurring")
    occ = sorted(set(xs.tolist()))
    for t in range(len(xs)):
        c = naive.carrier_naive(m.Wh, m.bh, hs, t)
        np.testing.assert_allclose(C[t], c, rtol=1e-13, atol=1e-13)
        assert list(ps_all[t]) == naive.pattern_sensitive_naive(m.Wx, c)
        assert list(ps_occ[t]) == naive.pattern_sensitive_naive(m.Wx, c, occ)
        # the carrier plus the consumed byte's input is the pre-activation (up to float32 rounding)
        np.testing.assert_allclose(C[t] + m.Wx[:, xs[t]], zs[t], rtol=1e-5, atol=1e-5)
    assert (ps_occ <= ps_all).all()


def test_sensitivity_boundary_ties():
    """A carrier exactly at -max Wx is pattern-sensitive (the definition uses <= and >=)."""
    m = random_model(3, 0)
    C = np.zeros((1, 3))
    C[0, 0] = -float(m.Wx[0].max())
    C[0, 1] = -float(m.Wx[1].max()) - 1.0
    ps = pattern_sensitive(m, C, np.array([0], np.uint8))
    assert ps[0, 0] and not ps[0, 1]


def test_influence_table_vs_naive():
    m = random_model(6, 7)
    xs = _text(30, 7)
    hs, _ = run_states(m, xs)
    depth = 5
    out = carrier_decomposition(m, xs, depth=depth, table3_positions=(6, 28), table2_positions=(0, 28),
                                example_t=20)
    C = carriers(m, hs)
    ps = pattern_sensitive(m, C, xs)
    hc = carrier_states(hs, C, ps)
    rows = out.table3.rows
    for d in range(depth):
        infl, norms = [], []
        for t in range(6, 29):
            G = m.Wy[xs[t + 1]].astype(np.float64)
            chain = naive.backward_chain_naive(m.Wh, hs, G, t, depth)
            g = np.array(chain[d])
            s = t - d
            delta = [(float(hs[s][j]) - np.tanh(C[s][j])) if ps[s][j] else 0.0 for j in range(6)]
            infl.append(float(np.dot(g, delta)))
            norms.append(np.linalg.norm(g))
        assert rows[d].signed == pytest.approx(np.mean(infl), rel=1e-9, abs=1e-14)
        assert rows[d].unsigned == pytest.approx(np.mean(np.abs(infl)), rel=1e-9, abs=1e-14)
        assert rows[d].grad_norm == pytest.approx(np.mean(norms), rel=1e-12)
    t2 = out.table2
    act, _ = readout_costs(m, hs[:-1], xs[1:])
    car, _ = readout_costs(m, hc[:-1], xs[1:])
    assert t2.actual_bpc == pytest.approx(act.mean(), rel=1e-12)
    assert t2.carrier_only_bpc == pytest.approx(car.mean(), rel=1e-12)
    assert t2.pattern_gain == pytest.approx(car.mean() - act.mean(), rel=1e-9, abs=1e-12)
    assert t2.mean_pattern_sensitive == pytest.approx(ps[:-1].sum(axis=1).mean())
    dec = out.decomposition
    for part in ("with_bias", "without_bias"):
        p = getattr(dec, part)
        assert p.carrier + p.pattern == pytest.approx(p.total, rel=1e-12)
    assert dec.with_bias.total - dec.without_bias.total == pytest.approx(dec.bias)
    y = xs[21]
    assert dec.without_bias.pattern == pytest.approx(
        float(np.dot(m.Wy[y].astype(np.float64), hs[20].astype(np.float64) - hc[20].astype(np.float64))), abs=1e-5)
    json.dumps(out.as_dict())


def test_alignment_next_is_shift():
    m = random_model(5, 3)
    xs = _text(40, 3)
    a = carrier_decomposition(m, xs, depth=6, alignment="same").table3.rows
    b = carrier_decomposition(m, xs, depth=6, alignment="next").table3.rows
    assert b[0].signed is None
    for d in range(1, 6):
        assert b[d].signed == pytest.approx(a[d - 1].signed, rel=1e-12)


def test_replace_all_and_errors():
    m = random_model(5, 4)
    xs = _text(30, 4)
    out = carrier_decomposition(m, xs, replace="all", target="logprob", depth=3)
    assert out.choices.replace == "all"
    for kw in ({"byteset": "x"}, {"replace": "none"}, {"alignment": "prev"}, {"target": "p"}, {"depth": 0},
               {"table3_positions": (5, 400)}):
        with pytest.raises(SatrnnInputError):
            carrier_decomposition(m, xs, **kw)


def test_cli_json(tmp_path, capsys):
    m = random_model(8, 5)
    mp, tp = tmp_path / "m.bin", tmp_path / "t.txt"
    save_model(m, mp)
    tp.write_bytes(bytes(_text(80, 5)))
    assert main(["carrier", str(mp), str(tp), "--json", "--depth", "10", "--t3-first", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["table3"]["positions"] == [20, 78] and len(out["table3"]["rows"]) == 10
    assert main(["carrier", str(mp), str(tp), "--depth", "10"]) == 0
    assert "Carrier" in capsys.readouterr().out
    assert main(["carrier", str(mp), str(tp), "--alignment", "later"]) == 2


def test_published_structure(published, published_forward):
    """Seed 003 section 5 on the published weights: measured values recorded (the seed's program is not
    published, so these are regression values with the documented default choices)."""
    model, xs = published
    out = carrier_decomposition(model, xs, hs=published_forward.hs)
    t2 = out.table2
    assert round(t2.mean_pattern_sensitive, 1) == 17.8
    assert [r.neuron for r in t2.top_sensitive[:5]] == [8, 68, 16, 52, 112]
    assert t2.carrier_only_bpc > t2.actual_bpc
    rows = out.table3.rows
    assert out.table3.count == 973
    assert (round(rows[0].signed, 2), round(rows[0].unsigned, 2), round(rows[1].signed, 2)) == \
        (1.75, 1.82, 0.78)
    dec = out.decomposition
    assert (dec.input_char, dec.target_char) == ("m", "e")
    assert dec.top_neurons[0].neuron == 8
