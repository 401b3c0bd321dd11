"""Flip cascades, Derrida curves and the papers' flip figures (automaton.cascade, `satrnn cascade`)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import naive
from satrnn.analyses import boolean_figures as bf
from satrnn.automaton import cascade as cas
from satrnn.automaton.bitset import pack, unpack
from satrnn.automaton.sign import SignAutomaton
from satrnn.cli import main
from satrnn.rnn.model import ElmanRNN, random_model, save_model

SEMANTICS = ("exact", "f32-seq")


def step_x(model, sem):
    return lambda s, x: naive.bool_step(model.Wx, model.Wh, model.bh, x, s, sem)


def as_pm(words, H):
    return tuple(1 if b else -1 for b in unpack(words, H))


def tie_model(H, seed) -> ElmanRNN:
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.integers(-1, 2, s).astype(np.float32)
    return ElmanRNN(Wx=f(H, 256), Wh=f(H, H), bh=f(H), Wy=np.zeros((256, H), np.float32),
                    by=np.zeros(256, np.float32))


@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("H,seed,kind", [(12, 1, "random"), (9, 2, "ties"), (70, 3, "random")])
def test_cascades_match_naive(sem, H, seed, kind, slicing):
    model = random_model(H, seed, scale=2.0) if kind == "random" else tie_model(H, seed)
    A = SignAutomaton.from_model(model, sem)
    rng = np.random.default_rng(seed)
    xs = rng.integers(0, 256, 14).astype(np.uint8)
    states = cas.sign_trajectory(A, xs)
    # the sign trajectory itself: beta_{-1} = all -1
    s = tuple([-1] * H)
    for t in range(xs.shape[0]):
        s = step_x(model, sem)(s, int(xs[t]))
        assert as_pm(states[t], H) == s
    k = 4
    t_idx = np.array([0, 3, 9]) if H > 20 else None
    c = cas.flip_cascades(A, states, xs, k, t_idx)
    js = range(H) if H <= 20 else [0, 1, 63, 64, 69]
    for r, t in enumerate(c.t):
        for j in js:
            ref = naive.flip_cascade(step_x(model, sem), as_pm(states[t], H), xs[t + 1:t + 1 + k], j, k)
            assert c.d[r, j].tolist() == ref, (t, j)
    assert c.x_next.tolist() == xs[c.t + 1].tolist()


def test_cascade_summary_bookkeeping():
    H = 10
    model = random_model(H, 4, scale=2.0)
    A = SignAutomaton.from_model(model, "exact")
    xs = np.random.default_rng(0).integers(0, 256, 40).astype(np.uint8)
    states = cas.sign_trajectory(A, xs)
    c = cas.flip_cascades(A, states, xs, 6)
    selfb = cas.self_flip_bits(A, states, xs, c.t)
    s = cas.cascade_summary(c, H, selfb)
    m = c.t.shape[0]
    assert m == 40 - 6 and sum(s.one_step.histogram) == m * H
    assert abs(sum(s.fates.values()) - 1) < 1e-12
    assert all(a <= b for a, b in zip(s.died_by_step, s.died_by_step[1:]))  # healed flips stay healed
    assert sum(r.flips for r in s.per_byte) == m * H
    assert s.one_step.ci95[0] <= s.one_step.mean <= s.one_step.ci95[1]
    # self bits: did neuron j's own next bit change? checked literally
    for r, t in enumerate(c.t[:5]):
        base = naive.bool_step(model.Wx, model.Wh, model.bh, int(xs[t + 1]), as_pm(states[t], H), "exact")
        for j in range(H):
            fl = list(as_pm(states[t], H))
            fl[j] = -fl[j]
            o = naive.bool_step(model.Wx, model.Wh, model.bh, int(xs[t + 1]), fl, "exact")
            assert selfb[r, j] == int(o[j] != base[j])
    assert abs(s.one_step_others - (c.d[:, :, 0] - selfb).mean()) < 1e-12


@pytest.mark.parametrize("sem", SEMANTICS)
def test_flip_sensitivity_paper_matches_literal(sem):
    H = 20
    model = random_model(H, 8, scale=2.0)
    A = SignAutomaton.from_model(model, sem)
    xs = np.random.default_rng(8).integers(0, 256, 60).astype(np.uint8)
    got = bf.flip_sensitivity_paper(A, xs, 42)
    cs, most, mean, state = naive.flip_sensitivity_paper(step_x(model, sem), xs, H, 42)
    assert got.c == cs and got.most_affected == most and got.mean_sensitivity == float(mean)
    assert got.state_first16 == "".join("1" if v > 0 else "0" for v in state[:16])


@pytest.mark.parametrize("sem", SEMANTICS)
def test_influence_graph_matches_literal(sem):
    H = 10
    model = random_model(H, 9, scale=2.0)
    A = SignAutomaton.from_model(model, sem)
    xs = np.random.default_rng(9).integers(0, 256, 44).astype(np.uint8)
    states, _ = cas.float_sign_trajectory(model, xs)
    got = bf.influence_graph(A, states, xs)
    frac, mean_inf, nT = naive.influence_graph_paper(step_x(model, sem), [as_pm(v, H) for v in states], xs, H)
    assert got.positions == nT == len(range(10, 42, 3))
    assert np.array_equal(got.frac, frac) and got.mean_influence == float(mean_inf)
    # the mean out-degree equals the mean one-step cascade over the same flips (a second kernel)
    c = cas.flip_cascades(A, states, xs, 1, np.arange(10, 42, 3))
    assert abs(got.mean_out_degree - c.d[:, :, 0].mean()) < 1e-12
    assert np.array_equal(got.counts.sum(axis=1), c.d[:, :, 0].sum(axis=0))


def test_derrida_identity_and_decoupled_networks():
    H = 16
    xs = np.arange(30, dtype=np.uint8)
    copy = ElmanRNN(Wx=np.zeros((H, 256), np.float32), Wh=np.eye(H, dtype=np.float32), bh=np.zeros(H, np.float32),
                    Wy=np.zeros((256, H), np.float32), by=np.zeros(256, np.float32))
    d = cas.derrida_curve(SignAutomaton.from_model(copy, "exact"), xs, pairs=20, seed=3)
    assert list(d.mean) == [float(v) for v in range(1, H + 1)]  # B(s) = s: distance preserved exactly
    dead = copy.replace(Wh=np.zeros((H, H), np.float32), bh=np.ones(H, np.float32))
    d0 = cas.derrida_curve(SignAutomaton.from_model(dead, "exact"), xs, pairs=20, seed=3)
    assert list(d0.mean) == [0.0] * H and d0.derrida_coefficient.mean == 0.0


def test_derrida_pairs_have_exact_distance_and_seed_determinism():
    rng = np.random.default_rng(0)
    for d in (1, 5, 70, 130):
        m = cas._flip_masks(rng, 50, 130, d)
        assert (np.bitwise_count(m).sum(axis=1) == d).all()
    model = random_model(24, 2, scale=2.0)
    A = SignAutomaton.from_model(model, "exact")
    xs = np.random.default_rng(1).integers(0, 256, 50).astype(np.uint8)
    a = cas.derrida_curve(A, xs, pairs=30, seed=7)
    b = cas.derrida_curve(A, xs, pairs=30, seed=7)
    assert a == b and a.seed == 7 and len(a.d) == 24
    ci = a.derrida_coefficient.ci95
    assert ci[0] <= a.mean[0] <= ci[1]


def test_published_paper_figures(published, published_forward):
    """q1_boolean 3.3 at t=42 against the literal program (f32-seq), and the 4.2 stats on the float signs."""
    model, xs = published
    A = SignAutomaton.from_model(model, "f32-seq")
    got = bf.flip_sensitivity_paper(A, xs, 42)
    H = model.H
    cs, most, mean, state = naive.flip_sensitivity_paper(step_x(model, "f32-seq"), xs, H, 42)
    assert got.c == cs and got.most_affected == most and got.mean_sensitivity == float(mean)
    states = pack(published_forward.hs)
    ig = bf.influence_graph(A, states, xs)
    assert ig.positions == 338 and ig.first_position == 10 and ig.last_position == 1021
    c = cas.flip_cascades(A, states, xs, 1, np.arange(10, 1022, 3))
    assert abs(ig.mean_out_degree - c.d[:, :, 0].mean()) < 1e-12


def test_cascade_cli_json_and_threads(tmp_path):
    path, tpath = tmp_path / "m.bin", tmp_path / "t.txt"
    save_model(random_model(20, 5, scale=2.0), path)
    tpath.write_bytes(bytes(np.random.default_rng(2).integers(32, 127, 80).astype(np.uint8)))
    outs = []
    for threads in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
        p = subprocess.run([sys.executable, "-m", "satrnn", "cascade", str(path), str(tpath), "--k", "5",
                            "--derrida", "--pairs", "20", "--seed", "4", "--json"],
                           capture_output=True, text=True, env=env)
        assert p.returncode == 0, p.stderr
        outs.append(json.loads(p.stdout))
    assert outs[0] == outs[1]
    d = outs[0]
    assert d["seed"] == 4 and set(d["cascades"]) == {"sign", "float"}
    assert d["cascades"]["sign"]["flips"] == (80 - 5) * 20
    assert "derrida_coefficient" in d["derrida"]["random"]


@pytest.mark.parametrize("extra", [["--k", "0"], ["--k", "1000000"], ["--pairs", "1"]])
def test_cascade_cli_bad_input(tmp_path, capsys, extra):
    path, tpath = tmp_path / "m.bin", tmp_path / "t.txt"
    save_model(random_model(8, 1), path)
    tpath.write_bytes(b"hello world")
    assert main(["cascade", str(path), str(tpath), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satrnn: error:") and len(err.strip().splitlines()) == 1


def test_measure_flip_spread_keys_and_candidates():
    H = 12
    model = random_model(H, 6, scale=2.0)
    xs = np.random.default_rng(6).integers(0, 256, 60).astype(np.uint8)
    r = bf.measure_flip_spread(model, xs, "exact", k=3, derrida_pairs=20, seed=1)
    assert set(r.as_dict()) >= {"cascades", "paper_compatible", "derrida", "candidates"}
    c = r.candidates
    assert c["sign_trajectory_mean_d1"] == r.cascades.sign.one_step.mean
    assert c["q1_boolean_3.3_mean_sensitivity_t42"] == r.paper_compatible.flip_sensitivity_t42.mean_sensitivity
    assert c["derrida_slope_random_pairs"] == r.derrida.random.mean[0]
    assert r.paper_compatible.semantics == "f32-seq"
