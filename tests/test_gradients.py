"""rnn.gradients: finite differences (float64), naive references (float64 and the paper's float32), links to
rnn.bptt's parameter gradients, thread-count determinism and input validation."""
import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import run_states
from satrnn.rnn.gradients import backward_chain, gate, output_gradients, output_probabilities, state_gradients
from satrnn.rnn.model import random_model
from tests import naive


def _text(n, seed, alphabet=256):
    return np.random.default_rng(seed).integers(0, alphabet, n).astype(np.uint8)


def _lnp(model, h, y):
    return math.log(output_probabilities(model, h[None, :], "f64")[0, y])


@pytest.mark.parametrize("H,seed,scale", [(6, 1, 1.0), (9, 2, 0.5), (12, 3, 1.5)])
def test_finite_differences_f64(H, seed, scale):
    """d ln P_t[y] / d h_{t-d}: perturb h_{t-d} and re-run the float64 forward from there."""
    m = random_model(H, seed, scale=scale)
    xs = _text(24, seed)
    hs, _ = run_states(m, xs, "f64")
    B, _ = state_gradients(m, hs, xs, 10, "f64")
    eps = 1e-6
    for t in (3, 11, 22):
        y = int(xs[t + 1])
        for d in range(0, min(10, t) + 1):
            fd = np.empty(H)
            for j in range(H):
                vals = []
                for sgn in (1, -1):
                    h = hs[t - d].copy()
                    h[j] += sgn * eps
                    if d > 0:
                        h = run_states(m, xs[t - d + 1:t + 1], "f64", h0=h)[0][-1]
                    vals.append(_lnp(m, h, y))
                fd[j] = (vals[0] - vals[1]) / (2 * eps)
            np.testing.assert_allclose(B[t, d], fd, rtol=2e-5, atol=1e-8)


def test_output_gradient_vs_naive_both_precisions():
    m = random_model(7, 4)
    xs = _text(12, 4)
    hs, _ = run_states(m, xs)
    for prec, paper in (("f64", False), ("f32", True)):
        G, P = output_gradients(m, hs[:-1], xs[1:], prec)
        for t in range(len(xs) - 1):
            ref = naive.output_gradient_naive(m.Wy, m.by, hs[t], int(xs[t + 1]), paper)
            if paper:
                assert G.dtype == np.float32
                np.testing.assert_array_equal(G[t], np.array(ref, dtype=np.float32))
            else:
                np.testing.assert_allclose(G[t], ref, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(P[t], naive.probs_naive(m.Wy, m.by, hs[t], paper), rtol=1e-12)
    # the matrix form G = Wy^T (e_y - P), by a different code path
    G, P = output_gradients(m, hs[:-1], xs[1:], "f64")
    E = -P.copy()
    E[np.arange(len(xs) - 1), xs[1:]] += 1.0
    np.testing.assert_allclose(G, E @ m.Wy.astype(np.float64), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("paper", [False, True])
def test_backward_chain_vs_naive(paper):
    m = random_model(5, 8, scale=3.0)  # partly saturated: exact zero gates in float32
    xs = _text(16, 8, alphabet=6)
    hs, _ = run_states(m, xs)
    prec = "f32" if paper else "f64"
    B, _ = state_gradients(m, hs, xs, 7, prec)
    G, _ = output_gradients(m, hs[:-1], xs[1:], prec)
    for t in (0, 1, 6, 14):
        ref = naive.backward_chain_naive(m.Wh, hs, G[t], t, 7, paper)
        for d, row in enumerate(ref):
            if paper:
                np.testing.assert_array_equal(B[t, d], np.array(row, dtype=np.float32))
            else:
                np.testing.assert_allclose(B[t, d], row, rtol=1e-12, atol=1e-300)
        assert np.isnan(B[t, len(ref):]).all()


@settings(max_examples=15, deadline=None)
@given(H=st.integers(1, 9), n=st.integers(2, 14), depth=st.integers(0, 6), seed=st.integers(0, 10**6))
def test_backward_chain_property(H, n, depth, seed):
    """Matches an explicit Jacobian product for any size; NaN exactly where t - d < 0."""
    m = random_model(H, seed % 1000)
    xs = _text(n, seed)
    hs, _ = run_states(m, xs, "f64")
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, H))
    ends = np.arange(n)
    B = backward_chain(m, hs, G, ends, depth, "f64")
    Wh = m.Wh.astype(np.float64)
    for t in range(n):
        v = G[t]
        for d in range(depth + 1):
            if t - d < 0:
                assert np.isnan(B[t, d]).all()
                continue
            if d > 0:
                J = (1 - hs[t - d + 1] ** 2)[:, None] * Wh
                v = J.T @ v
            np.testing.assert_allclose(B[t, d], v, rtol=1e-9, atol=1e-12)


def test_links_to_bptt_parameter_gradients():
    """Summing the state gradients over all (t, d) with the gates gives rnn.bptt's dL/dbh and dL/dWx."""
    bptt = pytest.importorskip("satrnn.rnn.bptt")
    m = random_model(6, 5)
    xs = _text(18, 5, alphabet=9)
    hs, _ = run_states(m, xs, "f64")
    T = len(xs) - 1
    B, _ = state_gradients(m, hs, xs, T, "f64")
    Gz = np.nan_to_num(B * gate(hs, np.arange(T), T))   # d ln P_t / d z_{t-d}
    gbh = -Gz.sum(axis=(0, 1)) / T
    gWx = np.zeros((6, 256))
    gWh = np.zeros((6, 6))
    for t in range(T):
        for d in range(t + 1):
            gWx[:, xs[t - d]] -= Gz[t, d] / T
            if t - d >= 1:
                gWh -= np.outer(Gz[t, d], hs[t - d - 1]) / T
    ref = bptt.loss_and_gradients(m, xs, precision="f64")
    np.testing.assert_allclose(gbh, ref.grads["bh"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gWx, ref.grads["Wx"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gWh, ref.grads["Wh"], rtol=1e-9, atol=1e-12)


def test_deterministic_across_thread_counts():
    m = random_model(16, 6)
    xs = _text(80, 6)
    hs, _ = run_states(m, xs)
    old = numba.get_num_threads()
    try:
        outs = []
        for k in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(k)
            outs.append(state_gradients(m, hs, xs, 12, "f32")[0])
    finally:
        numba.set_num_threads(old)
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_bad_input():
    m = random_model(4, 0)
    xs = _text(6, 0)
    hs, _ = run_states(m, xs)
    with pytest.raises(SatrnnInputError):
        state_gradients(m, hs, xs, 3, "f16")
    with pytest.raises(SatrnnInputError):
        backward_chain(m, hs, np.zeros((2, 4)), [0, 6], 2)
    with pytest.raises(SatrnnInputError):
        backward_chain(m, hs, np.zeros((2, 4)), [0, 1], -1)
    with pytest.raises(SatrnnInputError):
        output_gradients(m, hs[:, :3], xs[1:])
    bad = hs.copy()
    bad[0, 0] = np.nan
    with pytest.raises(SatrnnInputError):
        state_gradients(m, bad, xs, 2)


def test_published_gradient_norm_growth(published, published_forward):
    """Seed 002 section 3.1 computed on the published weights: the backward norm grows with depth."""
    model, xs = published
    B, _ = state_gradients(model, published_forward.hs, xs, 8, "f64")
    norms = np.linalg.norm(B, axis=2)
    means = [np.nanmean(norms[k:, k]) for k in range(9)]
    assert round(means[0], 3) == 0.103
    assert all(means[k + 1] > means[k] for k in range(8))
