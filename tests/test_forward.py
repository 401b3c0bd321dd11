"""The reference forward equals the literal float32 reference bit for bit; readout and bpc match too."""
import math
import re

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.rnn import forward as fw
from satrnn.rnn.forward import evaluate, forward, iter_states, readout_costs, run_states
from satrnn.rnn.model import ElmanRNN, random_model
from satrnn.rnn.numba_config import NJIT_OPTIONS


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


# ---- the vectorised kernels: bit-identity sweep, FMA, adversarial values, streaming -------------------


def same_bits(a, b):
    """Equal bit patterns (NaNs included), float32 or float64."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    it = np.uint32 if a.dtype == np.float32 else np.uint64
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(it), b.view(it))


def naive_check(model, xs, h0=None):
    """The kernel's states, pre-activations and bpc against the literal reference, bit for bit."""
    hs, zs = run_states(model, xs, h0=h0)
    rh, rz = naive.forward_f32(model.Wx, model.Wh, model.bh, xs, h0=h0)
    assert same_bits(hs, rh) and same_bits(zs, rz)
    if len(xs) >= 2:
        ref = naive.bpc(model.Wy, model.by, rh, xs)
        got = forward(model, xs, h0=h0).bpc
        e = evaluate(model, xs, h0=h0, chunk=max(1, len(xs) // 3))
        assert (got == ref and e.bpc == ref) or (math.isnan(ref) and math.isnan(got) and math.isnan(e.bpc))
    return hs, zs


@pytest.mark.parametrize("H", [1, 2, 7, 15, 16, 17, 31, 32, 48, 63, 64, 65, 127, 128, 129, 200, 240, 255])
def test_hidden_size_sweep_bit_exact(H):
    """Every group/tail split of the vectorised sums: passes of 128, 64, 32 and 16 float32 neurons (the
    groups of 8, 4, 2 and 1 vectors, largest first: 240 takes each once, 127 all but the first), then a
    scalar tail."""
    model = random_model(H, 100 + H)
    xs = np.random.default_rng(H).integers(0, 256, 48 if H <= 128 else 24, dtype=np.uint8)
    naive_check(model, xs)


@pytest.mark.parametrize("K", [1, 7, 8, 9, 16, 63, 64, 65, 127, 128, 129, 200, 255, 256, 257, 384])
def test_rows_sum_adds_the_listed_rows_in_order(K):
    """`rows_sum_kernel` (the sign readout's table rows, no product) for every pass split of K outputs
    (groups of 16, 8, 4, 2, 1 double vectors, then a scalar tail), against the literal sum k ascending,
    with repeated rows, n = 0 and inexact sums (so the order shows)."""
    rng = np.random.default_rng(K)
    T = rng.standard_normal((40, K)) * np.exp2(rng.integers(-30, 30, (40, K)))
    for rows in ([], [3], [5, 5, 0, 39], list(rng.integers(0, 40, 23))):
        z0 = rng.standard_normal(K)
        z = z0.copy()
        r = np.array(rows, dtype=np.int64)
        _rows_sum_into(z, T, r, r.shape[0])
        ref = z0.copy()
        for o in range(K):
            acc = float(z0[o])
            for k in rows:
                acc += float(T[k, o])
            ref[o] = acc
        assert same_bits(z, ref)


@numba.njit
def _rows_sum_into(z, T, rows, n):
    fw.rows_sum_kernel(z, T, rows, n)


def test_published_weights_stream_equals_reference(published, published_forward):
    model, xs = published
    for chunk in (1, 3, 511, 1024, 5000):
        for threads in (1, 2):
            e = evaluate(model, xs, chunk=chunk, threads=threads)
            assert e.bpc == published_forward.bpc and e.predictions == 1023
            assert e.max_cost == published_forward.costs.max() and e.bytes == 1024
    rows = np.concatenate([b.hs[1:].copy() for b in iter_states(model, xs, chunk=100)])   # views: copy
    assert same_bits(rows, published_forward.hs)


def _fma_case(H):
    """A model whose step-0 pre-activations are (-1 + w v) with w = v = 1 + 2^-12: float32 rounding of
    the product gives exactly 2^-11; a fused multiply-add would give 2^-11 + 2^-24."""
    w = np.float32(1 + 2.0 ** -12)
    Wx = np.zeros((H, 256), np.float32)
    Wx[:, 65] = -1.0
    Wh = np.zeros((H, H), np.float32)
    Wh[:, 0] = w
    Wy = np.zeros((256, H), np.float32)
    Wy[:, 0] = w
    m = ElmanRNN(Wx=Wx, Wh=Wh, bh=np.zeros(H, np.float32), Wy=Wy, by=np.full(256, -1.0, np.float32))
    h0 = np.zeros(H, np.float32)
    h0[0] = w
    return m, h0


@pytest.mark.parametrize("H", [1, 64, 65, 128])
def test_no_fma_contraction_numerically(H):
    m, h0 = _fma_case(H)
    hs, zs = naive_check(m, np.array([65, 65, 66], np.uint8), h0=h0)
    assert (zs[0] == np.float32(2.0 ** -11)).all()          # not 2^-11 + 2^-24
    assert float(np.float32(-1) + np.float32(1 + 2.0 ** -12) * np.float32(1 + 2.0 ** -12)) == 2.0 ** -11


def _fresh_asm(dispatcher, *args):
    """Machine code of a kernel compiled now (not loaded from the cache) with the project's options."""
    opts = {k: v for k, v in NJIT_OPTIONS.items() if k != "cache"}
    f = numba.njit(**opts)(dispatcher.py_func)
    f(*args)
    return "\n".join(f.inspect_asm().values())


@pytest.mark.parametrize("tanh", ["fdlibm", "cr"])
def test_no_fma_and_no_libm_in_machine_code(tanh):
    """No fused multiply-add anywhere in the recurrence or the readout, and no call into the host's libm
    or a vector math library: tanh and exp are satrnn's own (`rnn.elementary`) and vectorised (512-bit
    divisions in the recurrence's activation, in the softmax's exponentials); the sums are vectorised."""
    model = random_model(128, 1)
    W = fw.Weights.of(model, tanh=tanh)
    xs = np.arange(10, dtype=np.uint8)
    h, z = np.zeros(128, np.float32), np.empty(128, np.float32)
    hs, zs = np.empty((10, 128), np.float32), np.empty((10, 128), np.float32)
    asm = _fresh_asm(fw._states_chunk, W.WxT, W.WhT, W.bh, xs, h, z, hs, zs, W.sem)
    L = np.empty(256)
    asm_r = _fresh_asm(fw._logits_t, W.WyT, W.by, hs[0], L)
    E = np.empty(256)
    asm_s = _fresh_asm(fw._softmax_terms, L, E)
    for a in (asm, asm_r, asm_s):
        assert not re.search(r"\bv?f(n)?m(add|sub)\w*", a), "FMA instruction emitted"
        assert "svml" not in a.lower()
        assert not re.search(r"call\w*\s+\S*(tanh|exp|log|expm1)", a), "a libm call remains"
    assert "zmm" in asm and re.search(r"vmulps\s+[^\n]*zmm", asm) and re.search(r"vdivps\s+[^\n]*zmm", asm)
    assert re.search(r"vcvtps2pd", asm_r) and "zmm" in asm_r
    assert re.search(r"vmulpd\s+[^\n]*zmm", asm_s)


def test_subnormal_values_bit_exact():
    """Subnormal biases, weights, products and states (no flush-to-zero anywhere)."""
    H = 70
    rng = np.random.default_rng(7)
    tiny = np.float32(1e-20)
    sub = np.float32(3e-39)                               # subnormal float32
    Wx = (rng.standard_normal((H, 256)) * 1e-20).astype(np.float32)
    Wh = (rng.standard_normal((H, H)) * 1e-20).astype(np.float32)   # products 1e-40: subnormal
    Wh[:, 3] = sub
    bh = np.full(H, tiny, np.float32)
    bh[::5] = sub
    bh[1::5] = -sub
    Wx[::5] = 0                                           # these neurons' z: subnormal bias + subnormal terms
    Wy = rng.standard_normal((256, H)).astype(np.float32) * np.float32(1e-30)
    m = ElmanRNN(Wx=Wx, Wh=Wh, bh=bh, Wy=Wy, by=rng.standard_normal(256).astype(np.float32))
    xs = rng.integers(0, 256, 30, dtype=np.uint8)
    hs, zs = naive_check(m, xs)
    assert ((np.abs(zs) < np.finfo(np.float32).tiny) & (zs != 0)).any()   # subnormals really occur


def test_overflow_to_inf_and_nan_bit_exact():
    """Weights near float32's maximum: partial sums overflow to +-inf (and stay there: |h| <= 1 keeps
    every product finite, so inf - inf cannot occur); tanhf(+-inf) = +-1; the readout sums in double."""
    H = 66
    rng = np.random.default_rng(8)
    big = np.float32(3e38)
    Wh = (np.sign(rng.standard_normal((H, H))) * big).astype(np.float32)
    Wx = (rng.uniform(-1, 1, (H, 256)) * 1e38).astype(np.float32)
    m = ElmanRNN(Wx=Wx, Wh=Wh, bh=np.full(H, big, np.float32), Wy=np.full((256, H), big, np.float32),
                 by=np.zeros(256, np.float32))
    xs = rng.integers(0, 256, 12, dtype=np.uint8)
    with np.errstate(all="ignore"):
        hs, zs = naive_check(m, xs)
    assert (zs == np.inf).any() and (zs == -np.inf).any() and (np.abs(hs) == 1).any()


@settings(max_examples=25, deadline=None)
@given(H=st.integers(1, 80), n=st.integers(2, 200), chunk=st.integers(1, 250), threads=st.integers(1, 2),
       seed=st.integers(0, 2**31 - 1), clamp=st.booleans())
def test_streamed_bpc_identical_for_any_chunking(H, n, chunk, threads, seed, clamp):
    model = random_model(H, seed, scale=3.0)
    xs = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
    r = forward(model, xs, clamp=clamp)
    e = evaluate(model, xs, clamp=clamp, chunk=chunk, threads=threads)
    assert e.bpc == r.bpc and e.predictions == n - 1 and e.max_cost == r.costs.max()
    blocks = list(iter_states(model, xs, chunk=chunk, want_z=True))
    assert same_bits(np.concatenate([b.zs for b in blocks[-2:]]), r.zs[blocks[-2].start if len(blocks) > 1 else 0:])


def test_f64_streamed_equals_in_memory(published):
    model, xs = published
    r = forward(model, xs, precision="f64")
    for chunk, threads in ((7, 1), (300, 2)):
        assert evaluate(model, xs, precision="f64", chunk=chunk, threads=threads).bpc == r.bpc
    hs, _ = run_states(model, xs, precision="f64")
    assert np.array_equal(hs >= 0, naive.forward_f64(model.Wx, model.Wh, model.bh, xs) >= 0)


@pytest.mark.parametrize("H,m", [(1, 1), (5, 3), (70, 9), (128, 13)])
def test_serial_readout_equals_parallel_and_naive(H, m):
    """`_readout_serial` (evaluate's concurrent slices) gives the bits of `_readout` and of the literal
    naive.readout_cost, on adversarial rows: all-zero states (every logit = by, ties in the softmax), states of
    +-1 (saturation), tiny and huge values, a target with probability far below the 1e-30 clamp, m not a
    multiple of the block size; clamped and unclamped."""
    rng = np.random.default_rng(H * 31 + m)
    model = random_model(H, H + m, scale=3.0)
    V = rng.standard_normal((m, H)).astype(np.float32)
    V[0] = 0.0
    if m > 1:
        V[1] = np.sign(rng.standard_normal(H)).astype(np.float32)
    if m > 2:
        V[2] = np.float32(1e-38) * np.sign(rng.standard_normal(H)).astype(np.float32)
    W = fw.Weights.of(model)
    by = model.readout_bias64()
    for clamp in (True, False):
        targets = rng.integers(0, 256, m, dtype=np.uint8)
        par, ser = np.empty(m), np.empty(m)
        lp = np.empty((0, 256))
        fw._readout(W.WyT, by, V, targets, clamp, par, lp)
        fw._readout_serial(W.WyT, by, V, targets, clamp, ser, lp)
        assert same_bits(par, ser)
        for r in range(m):
            assert ser[r] == naive.readout_cost(model.Wy, model.by, V[r], int(targets[r]), clamp=clamp)
    Wy = np.zeros_like(model.Wy)
    Wy[7] = np.float32(1e4)                     # one output dominates: every other P is ~exp(-1e4), clamped
    m2 = ElmanRNN(Wx=model.Wx, Wh=model.Wh, bh=model.bh, Wy=Wy, by=model.by)
    W2 = fw.Weights.of(m2)
    ones = np.ones((m, H), np.float32)
    t = np.full(m, 3, np.uint8)
    out = np.empty(m)
    fw._readout_serial(W2.WyT, m2.readout_bias64(), ones, t, True, out, np.empty((0, 256)))
    assert all(out[r] == naive.readout_cost(Wy, m2.by, ones[r], 3, clamp=True) for r in range(m))


@pytest.mark.parametrize("slice_rows", [1, 7, 256])
def test_evaluate_slices_give_the_same_bits(published, monkeypatch, slice_rows):
    """evaluate's readout slices, taken by the workers and the calling thread in any order, fold to the bits
    of the in-memory forward for any slice size, chunk size and thread count."""
    model, xs = published
    r = forward(model, xs)
    monkeypatch.setattr(fw, "READOUT_SLICE", slice_rows)
    for chunk, threads in ((100, 2), (1000, 2), (333, 1)):
        e = evaluate(model, xs, chunk=chunk, threads=threads)
        assert e.bpc == r.bpc and e.max_cost == r.costs.max() and e.predictions == xs.shape[0] - 1


def test_evaluate_under_the_workqueue_threading_layer(tmp_path, published):
    """Where neither OpenMP nor TBB is installed numba falls back to its workqueue layer, which aborts the
    process when two threads launch parallel regions at once: evaluate's concurrent readouts use a serial
    kernel, so it runs there with two threads and gives the same bits."""
    import subprocess
    import sys
    model, xs = published
    code = ("import sys, numpy as np; from satrnn.rnn.forward import evaluate; from satrnn.rnn.model import "
            "load_model; m = load_model(sys.argv[1]); xs = np.fromfile(sys.argv[2], dtype=np.uint8); "
            "print(repr(evaluate(m, np.tile(xs, 8), chunk=1500, threads=2).bpc))")
    mp, tp = tmp_path / "m.npz", tmp_path / "t.bin"
    from satrnn.rnn.model import save_model
    save_model(model, mp)
    xs.tofile(tp)
    env = dict(__import__("os").environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2")
    p = subprocess.run([sys.executable, "-c", code, str(mp), str(tp)], capture_output=True, text=True, env=env,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-800:]
    assert float(p.stdout.strip()) == evaluate(model, np.tile(xs, 8), threads=1).bpc


def test_evaluate_needs_two_bytes():
    from satrnn.rnn.errors import SatrnnInputError
    with pytest.raises(SatrnnInputError, match="at least 2"):
        evaluate(random_model(3, 1), np.array([5], np.uint8))
