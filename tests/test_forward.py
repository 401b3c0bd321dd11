"""The reference forward equals the literal float32 reference bit for bit; readout and bpc match too."""
import numpy as np
import pytest

import naive
from satrnn.rnn.forward import forward, readout_costs, run_states
from satrnn.rnn.model import random_model


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def test_published_bpc(published_forward):
    r = published_forward
    assert r.predictions == 1023
    assert round(r.bpc, 4) == 0.0792


def test_published_states_bit_exact(published, published_forward):
    """The whole 1,024-step trajectory against the pure-Python np.float32 + glibc tanhf reference."""
    model, xs = published
    hs, zs = naive.forward_f32(model.Wx, model.Wh, model.bh, xs)
    assert np.array_equal(bits(published_forward.hs), bits(hs))
    assert np.array_equal(bits(published_forward.zs), bits(zs))


def test_published_bpc_matches_naive_readout(published, published_forward):
    model, xs = published
    assert naive.bpc(model.Wy, model.by, published_forward.hs, xs) == published_forward.bpc


def test_f32_f64_agree_in_sign(published, published_forward):
    model, xs = published
    r64 = forward(model, xs, precision="f64")
    assert np.array_equal(r64.hs >= 0, published_forward.hs >= 0)
    assert np.abs(r64.hs - published_forward.hs).max() < 1e-3
    ref = naive.forward_f64(model.Wx, model.Wh, model.bh, xs)
    assert np.array_equal(ref >= 0, r64.hs >= 0)


@pytest.mark.parametrize("H,seed", [(7, 1), (200, 2), (1, 3)])
def test_random_models_bit_exact(H, seed):
    model = random_model(H, seed)
    xs = np.random.default_rng(seed).integers(0, 256, 60, dtype=np.uint8)
    r = forward(model, xs)
    hs, zs = naive.forward_f32(model.Wx, model.Wh, model.bh, xs)
    assert np.array_equal(bits(r.hs), bits(hs)) and np.array_equal(bits(r.zs), bits(zs))
    assert r.bpc == naive.bpc(model.Wy, model.by, r.hs, xs)


def test_near_zero_preactivations_and_signed_zero():
    """A model whose pre-activations are exactly 0 or a few ulps from it: the kernel must still match."""
    H = 9
    m = random_model(H, 5)
    Wh = np.zeros((H, H), np.float32)
    Wx = np.array(m.Wx)
    bh = np.zeros(H, np.float32)
    bh[0] = np.float32(1e-38)                     # subnormal-adjacent
    bh[1] = -0.0
    Wx[1, :] = -0.0                               # (-0) + (-0) = -0: z = -0.0, tanhf(-0) = -0
    Wx[2, :] = np.nextafter(np.float32(0), np.float32(1))
    Wh[3, 4], Wh[3, 5] = np.float32(0.5), np.float32(-0.5)  # cancels to exactly 0 when h4 == h5
    m = m.replace(Wh=Wh, Wx=Wx, bh=bh)
    xs = np.arange(0, 40, dtype=np.uint8)
    r = forward(m, xs)
    hs, zs = naive.forward_f32(m.Wx, m.Wh, m.bh, xs)
    assert np.array_equal(bits(r.hs), bits(hs)) and np.array_equal(bits(r.zs), bits(zs))
    assert (r.zs[:, 1] == 0).all() and (r.hs[:, 1] == 0).all()   # exact-zero pre-activations occur


def test_start_state_and_unclamped():
    m = random_model(6, 8)
    xs = np.array([1, 2, 3, 250, 0], np.uint8)
    h0 = np.linspace(-1, 1, 6).astype(np.float32)
    hs, _ = run_states(m, xs, h0=h0)
    ref, _ = naive.forward_f32(m.Wx, m.Wh, m.bh, xs, h0=h0)
    assert np.array_equal(bits(hs), bits(ref))
    c_cl, _ = readout_costs(m, hs[:-1], xs[1:], clamp=True)
    c_un, logp = readout_costs(m, hs[:-1], xs[1:], clamp=False, want_logp=True)
    for t in range(4):
        assert c_cl[t] == naive.readout_cost(m.Wy, m.by, hs[t], int(xs[t + 1]), True)
        assert abs(c_un[t] - naive.readout_cost(m.Wy, m.by, hs[t], int(xs[t + 1]), False)) < 1e-12
    assert np.allclose(np.exp(logp).sum(axis=1), 1.0)
