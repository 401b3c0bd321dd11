"""rnn.bptt: exact chunk gradients, checked by central finite differences (float64) on entries of every
matrix and the start state, and against the textbook numpy BPTT of tests/naive.py."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.rnn.bptt import loss_and_gradients
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import run_states
from satrnn.rnn.model import MATRICES, random_model

NAMES = ("Wx", "Wh", "bh", "Wy", "by")


def _params(H, seed, scale=1.0):
    return {k: v.astype(np.float64) for k, v in random_model(H, seed, scale=scale).arrays().items()}


def _fd(P, xs, h0, name, idx, eps=1e-6):
    def loss(Q, h):
        return loss_and_gradients(Q, xs, h).loss_nats
    if name == "h0":
        hp, hm = h0.copy(), h0.copy()
        hp[idx] += eps
        hm[idx] -= eps
        return (loss(P, hp) - loss(P, hm)) / (2 * eps)
    Pp = {k: v.copy() for k, v in P.items()}
    Pm = {k: v.copy() for k, v in P.items()}
    Pp[name][idx] += eps
    Pm[name][idx] -= eps
    return (loss(Pp, h0) - loss(Pm, h0)) / (2 * eps)


@pytest.mark.parametrize("H,T,seed", [(5, 8, 0), (3, 1, 1), (9, 20, 2)])
def test_finite_differences_every_matrix(H, T, seed):
    rng = np.random.default_rng(seed)
    P = _params(H, seed)
    xs = rng.integers(0, 256, T + 1).astype(np.uint8)
    xs[T // 2] = xs[0]                       # a repeated byte: its Wx column gets two contributions
    h0 = rng.uniform(-0.9, 0.9, H)
    r = loss_and_gradients(P, xs, h0)
    checked = {n: 0 for n in (*NAMES, "h0")}
    cases = []
    for n in NAMES:
        a = P[n]
        for k in rng.choice(a.size, min(6, a.size), replace=False):
            cases.append((n, np.unravel_index(int(k), a.shape)))
    # entries that certainly matter: input columns of bytes read, output rows of bytes predicted
    for t in range(T):
        cases.append(("Wx", (int(rng.integers(H)), int(xs[t]))))
        cases.append(("Wy", (int(xs[t + 1]), int(rng.integers(H)))))
    cases += [("h0", (j,)) for j in range(H)]
    for n, idx in cases:
        fd = _fd(P, xs, h0, n, idx)
        an = r.grads[n][idx]
        assert abs(fd - an) <= 1e-7 + 1e-6 * abs(an), (n, idx, fd, an)
        checked[n] += 1
    assert all(c > 0 for c in checked.values())
    # some checked gradients are far from zero, so the comparison has teeth
    assert max(abs(r.grads["Wh"]).max(), abs(r.grads["Wx"]).max()) > 1e-3


def test_matches_naive_reference_and_forward():
    rng = np.random.default_rng(7)
    for H in (1, 4, 17):
        P = _params(H, H)
        xs = rng.integers(0, 256, 31).astype(np.uint8)
        h0 = rng.uniform(-1, 1, H)
        r = loss_and_gradients(P, xs, h0)
        loss, g, h_last = naive.bptt_loss_grads(*(P[n] for n in NAMES), xs, h0)
        assert r.loss_nats == pytest.approx(loss, rel=1e-12)
        assert r.bpc == pytest.approx(loss / math.log(2), rel=1e-12)
        for n in (*NAMES, "h0"):
            np.testing.assert_allclose(r.grads[n], g[n], rtol=1e-9, atol=1e-13, err_msg=n)
        np.testing.assert_allclose(r.h_last, h_last, rtol=0, atol=1e-14)
        assert r.predictions == 30


def test_last_state_is_the_forward_state():
    m = random_model(16, 3)
    xs = np.frombuffer(b"<page><title>abc</title></page>", np.uint8)
    hs, _ = run_states(m, xs[:-1], precision="f64")
    r = loss_and_gradients(m, xs)
    np.testing.assert_allclose(r.h_last, hs[-1], rtol=0, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(H=st.integers(1, 6), data=st.binary(min_size=2, max_size=12), seed=st.integers(0, 1000),
       scale=st.sampled_from([0.1, 1.0, 8.0]))
def test_property_against_naive(H, data, seed, scale):
    P = _params(H, seed, scale)
    xs = np.frombuffer(data, np.uint8)
    r = loss_and_gradients(P, xs)
    loss, g, _ = naive.bptt_loss_grads(*(P[n] for n in NAMES), xs)
    assert r.loss_nats == pytest.approx(loss, rel=1e-11, abs=1e-12)
    for n in (*NAMES, "h0"):
        np.testing.assert_allclose(r.grads[n], g[n], rtol=1e-8, atol=1e-12, err_msg=n)


def test_saturated_units_pass_no_gradient():
    # pre-activations of +-1000: tanh is exactly +-1 in double, so 1 - h^2 = 0 and nothing reaches Wx, Wh, bh
    H = 4
    P = _params(H, 5)
    P["Wx"][:] = 0.0
    P["Wh"][:] = 0.0
    P["bh"][:] = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    xs = np.frombuffer(b"abcab", np.uint8)
    r = loss_and_gradients(P, xs)
    for n in ("Wx", "Wh", "bh", "h0"):
        assert not r.grads[n].any(), n
    assert r.grads["Wy"].any() and r.grads["by"].any()
    # by's gradient is mean(p - onehot): it sums to zero over outputs
    assert abs(r.grads["by"].sum()) < 1e-15


def test_zero_preactivation_is_handled_exactly():
    # all-zero weights: h = tanh(0) = 0, uniform softmax, loss = ln 256 exactly-ish, gradient 1/256 - onehot
    H = 3
    P = {"Wx": np.zeros((H, 256)), "Wh": np.zeros((H, H)), "bh": np.zeros(H), "Wy": np.zeros((256, H)),
         "by": np.zeros(256)}
    xs = np.frombuffer(b"xyz", np.uint8)
    r = loss_and_gradients(P, xs)
    assert r.loss_nats == pytest.approx(math.log(256), rel=1e-15)
    want = np.full(256, 1 / 256)
    want[ord("y")] -= 0.5
    want[ord("z")] -= 0.5
    np.testing.assert_allclose(r.grads["by"], want, rtol=1e-15, atol=1e-17)
    assert not r.grads["Wy"].any() and not r.grads["Wh"].any()


def test_float32_close_to_float64():
    m = random_model(32, 9)
    xs = np.random.default_rng(1).integers(0, 256, 51).astype(np.uint8)
    r64 = loss_and_gradients(m, xs, precision="f64")
    r32 = loss_and_gradients(m, xs, precision="f32")
    assert r32.grads["Wh"].dtype == np.float32
    assert r32.loss_nats == pytest.approx(r64.loss_nats, rel=1e-5)
    for n in MATRICES:
        scale = np.abs(r64.grads[n]).max()
        assert np.abs(r32.grads[n] - r64.grads[n]).max() <= 1e-4 * scale + 1e-7, n


def test_bad_input():
    m = random_model(4, 0)
    with pytest.raises(SatrnnInputError):
        loss_and_gradients(m, np.array([1], np.uint8))
    with pytest.raises(SatrnnInputError):
        loss_and_gradients(m, [1, 2, 300])
    with pytest.raises(SatrnnInputError):
        loss_and_gradients(m, [1, 2], h0=np.zeros(5))
    with pytest.raises(SatrnnInputError):
        loss_and_gradients(m, [1, 2], h0=np.array([0, 0, np.nan, 0]))
    with pytest.raises(SatrnnInputError):
        loss_and_gradients(m, [1, 2], precision="f16")
    bad = {k: v.astype(np.float64) for k, v in m.arrays().items()}
    bad["Wh"] = np.zeros((4, 5))
    with pytest.raises(SatrnnInputError):
        loss_and_gradients(bad, [1, 2])
    bad["Wh"] = np.full((4, 4), np.inf)
    with pytest.raises(SatrnnInputError):
        loss_and_gradients(bad, [1, 2])
