"""analyses.justify (DEFINITIONS 9): negation deltas, ranking, float32 pre-activation chains, insertion-scan
tie rules, the second hop, the backbone counts, CLI, and the published-weight measurements."""
import json

import numpy as np
import pytest

from satrnn.analyses.justify import _top_abs_insertion, justify_position, q6_justify
from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import run_states
from satrnn.rnn.model import random_model, save_model
from tests import naive


def _text(n, seed, alphabet=15):
    return (np.random.default_rng(seed).integers(0, alphabet, n) + 97).astype(np.uint8)


@pytest.mark.parametrize("H,seed", [(6, 1), (10, 2)])
def test_position_vs_naive(H, seed):
    m = random_model(H, seed, scale=2.0)
    xs = _text(20, seed)
    hs, zs = run_states(m, xs)
    for t in (0, 1, 2, 9, 17):
        r = justify_position(m, xs, hs, t)
        y = int(xs[t + 1])
        base = naive.readout_cost(m.Wy, m.by, hs[t], y)
        deltas = []
        for j in range(H):
            v = hs[t].copy()
            v[j] = -v[j]
            deltas.append(naive.readout_cost(m.Wy, m.by, v, y) - base)
        np.testing.assert_allclose(r.delta_all, deltas, rtol=1e-9, atol=1e-12)
        assert r.bits == pytest.approx(base, rel=1e-12)
        order = sorted(range(H), key=lambda j: -abs(deltas[j]))
        assert [e.neuron for e in r.neurons] == order[:5]
        P = naive.probs_naive(m.Wy, m.by, hs[t])
        assert r.p_true == pytest.approx(P[y], rel=1e-12)
        assert [p.byte for p in r.top_predictions] == sorted(range(256), key=lambda o: -P[o])[:5]
        for e in r.neurons:
            j = e.neuron
            assert e.contrib == float(np.float32(m.Wy[y, j] * hs[t, j]))
            if t == 0:
                assert e.z is None and "z" not in e.as_dict()
                continue
            # bit-identical to the forward's pre-activation, hence tanhf(z) = h_t[j]
            assert e.z == float(zs[t, j])
            c = [np.float32(m.Wh[j, k] * hs[t - 1, k]) for k in range(H)]
            assert [(w.k, w.c) for w in e.top_wh] == naive.top_abs_insertion_naive(c)
            if t > 1:
                k0 = e.top_wh[0].k
                c2 = [abs(float(np.float32(m.Wh[k0, k] * hs[t - 2, k]))) for k in range(H)]
                assert e.second_hop.top_source == int(np.argmax(c2))
                assert e.second_hop.z == float(zs[t - 1, k0])


def test_insertion_ties_and_zero_defaults():
    c = np.array([0.0, -2.0, 2.0, 0.0, 1.0], np.float32)
    assert [(w.k, w.c) for w in _top_abs_insertion(c, 3)] == [(1, -2.0), (2, 2.0), (4, 1.0)]
    z = np.array([0.0, 0.0, 3.0], np.float32)
    assert [(w.k, w.c) for w in _top_abs_insertion(z, 3)] == [(2, 3.0), (0, 0.0), (0, 0.0)]
    assert naive.top_abs_insertion_naive(z) == [(2, 3.0), (0, 0.0), (0, 0.0)]


def test_labels_and_backbone():
    m = random_model(8, 3, scale=3.0)
    xs = _text(40, 3)
    out = q6_justify(m, xs, [5, 10, 37, 38, 50])
    assert out.positions == [5, 10, 37] and out.dropped == [38, 50]
    for c in out.chains:
        j = c.justification
        d = j.delta
        assert j.label == ("HURT if flipped" if d > 0.1 else "HELP if flipped" if d < -0.1 else "marginal effect")
        assert j.correct == (j.predicted == c.target)
        assert j.surprisal_bits == pytest.approx(-np.log2(j.p))
    b = out.backbone
    assert sum(r.count for r in b.rank1) == 3 == sum(b.rank1_counts)
    assert sum(b.top5_counts) == 15
    json.dumps(out.as_dict())
    with pytest.raises(SatrnnInputError):
        q6_justify(m, xs, [-1])
    with pytest.raises(SatrnnInputError):
        q6_justify(m, xs, [39])


def test_cli(tmp_path, capsys):
    m = random_model(8, 4)
    mp, tp = tmp_path / "m.bin", tmp_path / "t.txt"
    save_model(m, mp)
    tp.write_bytes(bytes(_text(60, 4)))
    assert main(["justify", str(mp), str(tp), "--json", "--positions", "3", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["positions"] == [3, 20]
    assert main(["justify", str(mp), str(tp), "--positions", "3"]) == 0
    assert "Backbone" in capsys.readouterr().out
    assert main(["justify", str(mp), str(tp), "--positions", "x"]) == 2


def test_published_chains(published):
    """Q6 on the published weights (DEFINITIONS 9 positions). Regression values of the measurement."""
    model, xs = published
    out = q6_justify(model, xs)
    assert out.positions == [10, 20, 42, 50, 80, 100, 150, 200, 250, 300, 400, 500]
    assert all(c.justification.correct for c in out.chains)
    rank1 = [c.justification.driven_by for c in out.chains]
    assert rank1 == [52, 90, 61, 99, 20, 68, 8, 90, 56, 101, 68, 76]
    assert out.backbone.rank1_counts[54] == 0 and out.backbone.top5_counts[54] == 0
