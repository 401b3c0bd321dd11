"""automaton.sign_readout: the incremental readout of sign-state trajectories equals the reference readout of
the +-1 vectors (tests/naive.readout_cost, DEFINITIONS 0.4) bit for bit, exact outputs and inexact ones."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.automaton.bitset import pack, to_signs
from satrnn.automaton.sign_readout import SignReadout, exact_outputs
from satrnn.rnn.forward import readout_costs
from satrnn.rnn.model import ElmanRNN, random_model


def adversarial(H, seed):
    """A model whose readout rows mix magnitudes so that some outputs are not exact: tiny and huge weights
    in one row, subnormal weights, zero rows, a negative-zero bias."""
    m = random_model(H, seed)
    rng = np.random.default_rng(seed)
    Wy = m.Wy.copy()
    Wy[: 64, 0] = np.float32(1e-30)                   # quantum 2^-149..: with O(1) terms, not exact
    Wy[64:80, :] = np.float32(3e-39)                  # subnormal rows (exact: one quantum)
    Wy[80:90, :] = 0                                  # all-zero rows
    Wy[90:100] *= np.float32(1e6)
    by = m.by.copy()
    by[100] = np.float32(-0.0)
    by[101] = np.float32(1e-40)
    Wy[rng.integers(0, 256, 30), rng.integers(0, H, 30)] = np.float32(2.0 ** -140)
    return m.replace(Wy=Wy, by=by)


def both_ways(m):
    """The model's SignReadout with pattern tables (if its H allows them) and one forced onto deltas."""
    tables = SignReadout(m)
    deltas = SignReadout(m)
    deltas.b = 0
    return [tables, deltas] if tables.b else [deltas]


def trajectory(H, n, seed, flip_prob):
    rng = np.random.default_rng(seed)
    s = rng.random(H) < 0.5
    rows = []
    for _ in range(n):
        s = s ^ (rng.random(H) < flip_prob)
        rows.append(s.copy())
    return pack(np.array(rows))


@pytest.mark.parametrize("H", [1, 5, 64, 65, 128, 130])
def test_equals_the_literal_readout(H):
    m = adversarial(H, H)
    ex = exact_outputs(m)
    assert H < 8 or (~ex).any()                       # the adversarial rows make some outputs inexact
    bits = trajectory(H, 60, H + 1, 0.3)
    y = np.random.default_rng(H).integers(0, 256, 60).astype(np.uint8)
    S = to_signs(bits, H)
    want = [naive.readout_cost(m.Wy, m.by, S[t], int(y[t])) for t in range(60)]
    for r in both_ways(m):
        assert np.array_equal(r.costs(bits, y), np.array(want))


@settings(max_examples=25, deadline=None)
@given(H=st.integers(1, 140), n=st.integers(1, 5000), seed=st.integers(0, 2**31 - 1),
       flip=st.sampled_from([0.0, 0.02, 0.4, 1.0]), clamp=st.booleans())
def test_equals_the_float_readout_of_the_signs(H, n, seed, flip, clamp):
    """Any trajectory (segments of 2,048 steps included), any flip rate, against rnn.forward.readout_costs."""
    m = adversarial(H, seed) if seed % 2 else random_model(H, seed, scale=3.0)
    bits = trajectory(H, n, seed, flip)
    y = np.random.default_rng(seed).integers(0, 256, n).astype(np.uint8)
    want, _ = readout_costs(m, to_signs(bits, H).reshape(n, H), y, clamp=clamp)
    for r in both_ways(m):
        assert np.array_equal(r.costs(bits, y, clamp=clamp), want)


def test_vocabulary_outputs_stay_at_probability_zero():
    H = 8
    m = random_model(H, 3)
    vocab = tuple(range(97, 110))
    outside = np.ones(256, bool)
    outside[list(vocab)] = False
    z = lambda a, ax: np.where(np.expand_dims(outside, ax), np.float32(0), a).astype(np.float32)
    mv = ElmanRNN(Wx=z(m.Wx, 0), Wh=m.Wh, bh=m.bh, Wy=z(m.Wy, 1), by=np.where(outside, 0, m.by).astype(np.float32),
                  vocab=vocab)
    bits = trajectory(H, 300, 4, 0.3)
    y = np.random.default_rng(4).choice(np.array(vocab, np.uint8), 300)
    want, _ = readout_costs(mv, to_signs(bits, H), y)
    for r in both_ways(mv):
        assert np.array_equal(r.costs(bits, y), want)


def test_published_sign_dynamics(published):
    from satrnn.automaton import bitset
    from satrnn.automaton.sign import SignAutomaton
    model, xs = published
    traj = SignAutomaton.from_model(model, "exact").run(bitset.all_minus(model.H), xs[:-1])
    want, _ = readout_costs(model, to_signs(traj, model.H), xs[1:])
    r = SignReadout(model)
    assert r.b == 8                                  # H = 128: tables of 8 neurons
    for r in both_ways(model):
        assert np.array_equal(r.costs(traj, xs[1:]), want)


@pytest.mark.parametrize("H,b", [(1, 8), (7, 8), (128, 8), (129, 7), (200, 7), (256, 6), (1000, 4), (1100, 0)])
def test_group_width_keeps_the_tables_within_their_budget(H, b):
    from satrnn.automaton import sign_readout as sr
    assert sr.group_width(H) == b
    if b:
        assert -(-H // b) * (1 << b) * 256 * 8 <= sr._TABLE_BYTES


@pytest.mark.parametrize("H", [3, 8, 9, 63, 64, 65, 127, 129])
def test_tables_hold_every_signed_sum_of_their_group(H):
    """Every table row equals the literal signed sum of its group's weights (tests/naive order) for an exact
    model, including groups that straddle a 64-bit word and a last group shorter than b."""
    m = random_model(H, H)
    r = SignReadout(m)
    T = r.tables.reshape(-1, 1 << r.b, 256)
    Wy = m.Wy.astype(np.float64)
    rng = np.random.default_rng(H)
    for g in range(T.shape[0]):
        for p in rng.integers(0, 1 << r.b, 12):
            js = [g * r.b + k for k in range(r.b) if g * r.b + k < H]
            want = np.zeros(256)
            for k, j in enumerate(js):
                want = want + (Wy[:, j] if (p >> k) & 1 else -Wy[:, j])
            np.testing.assert_array_equal(T[g, p][r.exact], want[r.exact])
