"""Bring your own RNN (issue 29): PyTorch state dicts in safetensors, built here with numpy in PyTorch's naming.

Checked: the mapping bit for bit against a literal rational reference (tests/naive.py), every dtype, V = 256 and
V < 256 with and without an embedding, the states against a float64 forward of the original tensors within a
rigorous float32 rounding bound, the round trip import -> export -> import, every refusal (one line, exit 2),
the vocabulary in the model and its .npz, and the commands on an imported model.
"""
from __future__ import annotations

import json
import math
import struct
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file

import naive
from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.exact_dot import f32_nearest_dot, nearest_f32
from satrnn.rnn.forward import forward
from satrnn.rnn.model import ElmanRNN, check_vocab, load_model, random_model, save_model
from satrnn.rnn.torch_layout import NONE, export_safetensors, import_safetensors, read_safetensors, recognise
from satrnn.rnn.vocab import check_text_file_in_vocab, check_text_in_vocab, parse_vocab

VOCAB12 = tuple(b"abc defghij\n")


def state_dict(H, V, E=None, seed=0, scale=0.5, bias=True, dec_bias=True, dtype=np.float32, hh_norm=None,
               rnn="rnn", emb="embedding", dec="decoder"):
    """A PyTorch-named state dict of Embedding (optional) + one-layer tanh RNN + Linear decoder."""
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    d = {}
    if E is not None:
        d[f"{emb}.weight"] = w(V, E)
    d[f"{rnn}.weight_ih_l0"] = w(H, V if E is None else E)
    Whh = w(H, H)
    if hh_norm is not None:   # max row sum of |W_hh| = hh_norm: the recurrence contracts errors
        Whh = (Whh.astype(np.float64) / np.abs(Whh.astype(np.float64)).sum(axis=1).max() * hh_norm).astype(dtype)
    d[f"{rnn}.weight_hh_l0"] = Whh
    if bias:
        d[f"{rnn}.bias_ih_l0"], d[f"{rnn}.bias_hh_l0"] = w(H), w(H)
    d[f"{dec}.weight"] = w(V, H)
    if dec_bias:
        d[f"{dec}.bias"] = w(V)
    return d


def write(path, tensors, metadata=None):
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path), metadata=metadata)
    return path


def write_raw(path, tensors, metadata=None):
    """A safetensors file from (dtype code, shape, raw bytes) triples: for dtypes numpy lacks (BF16)."""
    header, blobs, off = {}, [], 0
    for name, (code, shape, data) in tensors.items():
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    return path


def expected_model(d, vocab, rnn="rnn", emb="embedding", dec="decoder"):
    """The mapping of the module docstring, literally: exact rationals, one rounding per weight."""
    W_ih, W_hh = d[f"{rnn}.weight_ih_l0"], d[f"{rnn}.weight_hh_l0"]
    H = W_hh.shape[0]
    E = d.get(f"{emb}.weight")
    idx = list(range(256)) if vocab is None else list(vocab)
    Wx = np.zeros((H, 256), np.float32)
    for v, byte in enumerate(idx):
        for i in range(H):
            q = (naive.exact_dot_literal([W_ih[i, v]], [1.0]) if E is None
                 else naive.exact_dot_literal(W_ih[i, :], E[v, :]))
            Wx[i, byte] = naive.nearest_f32_literal(q)
    bh = np.zeros(H, np.float32)
    if f"{rnn}.bias_ih_l0" in d:
        for i in range(H):
            bh[i] = naive.nearest_f32_literal(naive.exact_dot_literal(
                [d[f"{rnn}.bias_ih_l0"][i], d[f"{rnn}.bias_hh_l0"][i]], [1.0, 1.0]))
    Wy = np.zeros((256, H), np.float32)
    by = np.zeros(256, np.float32)
    f32 = np.vectorize(lambda x: naive.nearest_f32_literal(naive.exact_dot_literal([x], [1.0])), otypes=[np.float32])
    Wy[idx, :] = f32(d[f"{dec}.weight"])
    if f"{dec}.bias" in d:
        by[idx] = f32(d[f"{dec}.bias"])
    return ElmanRNN(Wx=Wx, Wh=f32(W_hh), bh=bh, Wy=Wy, by=by, vocab=vocab)


def same_values(a, b):
    """Equal as numbers (zeros of either sign equal: the literal reference makes +0.0)."""
    return np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64))


# ---- the arithmetic: exact sums rounded once ------------------------------------------------------------

finite64 = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-2.0 ** 60, max_value=2.0 ** 60)
# products stay finite in float32
finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32, min_value=-2.0 ** 60, max_value=2.0 ** 60)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_exact_dot_equals_literal_rounding(data):
    K = data.draw(st.integers(1, 6))
    elem = finite64 if data.draw(st.booleans()) else finite32
    a = np.array(data.draw(st.lists(elem, min_size=K, max_size=K)), np.float64)
    b = np.array(data.draw(st.lists(finite32, min_size=K, max_size=K)), np.float64)
    r = f32_nearest_dot(a[None, :], b[:, None])[0, 0]
    q = naive.exact_dot_literal(a, b)
    want = naive.nearest_f32_literal(q)
    assert same_values(r, want), (a, b, r, want)
    if q != 0:
        assert np.signbit(r) == (q < 0)


def test_exact_dot_ties_and_cancellation():
    """Sums that land exactly on a float32 midpoint, and just beside one: a double sum would be exact or
    wrong by an ulp of a double; the one rounding must see the tiny term."""
    mid = 1.0 + 2.0 ** -24                    # halfway between 1 and the next float32
    tiny = 2.0 ** -70
    cases = [([mid, 0.0], 1.0), ([mid, tiny], 1.0 + 2.0 ** -23), ([mid, -tiny], 1.0),
             ([1.0 + 3 * 2.0 ** -24, 0.0], 1.0 + 4 * 2.0 ** -24),              # tie to even, upwards
             ([1e30, 1.0, -1e30], 1.0), ([1e30, tiny, -1e30], np.float32(tiny)),   # cancellation
             ([2.0 ** -150, 0.0], 0.0), ([2.0 ** -150, tiny * 2.0 ** -100], 2.0 ** -149)]
    for terms, want in cases:
        r = f32_nearest_dot(np.array([terms]), np.ones((len(terms), 1)))[0, 0]
        assert r == np.float32(want), (terms, r, want)
        assert same_values(r, naive.nearest_f32_literal(naive.exact_dot_literal(terms, [1.0] * len(terms))))


def test_exact_dot_signed_zeros():
    """IEEE addition's zero signs: -0 only when every product is -0."""
    A = np.array([[-0.0, -0.0], [-0.0, 0.0], [1.0, -1.0], [0.0, 0.0], [-1.0, 0.0]])
    r = f32_nearest_dot(A, np.array([[1.0], [1.0]]))[:, 0]
    assert list(np.signbit(r)) == [True, False, False, False, True]
    assert list(r) == [0.0, 0.0, 0.0, 0.0, -1.0]
    assert np.signbit(f32_nearest_dot(np.array([[-2.0 ** -200]]), np.array([[1.0]]))[0, 0])   # underflow keeps sign


def test_bias_sum_is_pytorch_float32_addition():
    """For float32 biases, bh = fl32(b_ih + b_hh) is bit for bit the float32 sum PyTorch computes."""
    rng = np.random.default_rng(3)
    n = 50000
    a = (rng.standard_normal(n) * 2.0 ** rng.integers(-140, 100, n)).astype(np.float32)
    b = (rng.standard_normal(n) * 2.0 ** rng.integers(-140, 100, n)).astype(np.float32)
    b[:1000] = -a[:1000]                                         # exact cancellation: +0.0
    special = np.array([0.0, -0.0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1.0], np.float32)
    a = np.concatenate([a, np.repeat(special, len(special))])
    b = np.concatenate([b, np.tile(special, len(special))])
    with np.errstate(over="ignore"):
        want = a + b
    r = f32_nearest_dot(np.stack([a, b], 1).astype(np.float64), np.ones((2, 1)))[:, 0]
    assert np.array_equal(r.view(np.uint32), want.view(np.uint32))


def test_nearest_f32_overflow_edge():
    from fractions import Fraction
    top = float(np.finfo(np.float32).max)
    mid = Fraction((top + 2.0 ** 128) / 2)
    assert nearest_f32(mid - Fraction(1, 2 ** 200)) == np.float32(top)
    assert np.isinf(nearest_f32(mid)) and np.isinf(nearest_f32(mid + 1))


# ---- the mapping: V = 256 and V < 256, with and without an embedding ------------------------------------

@pytest.mark.parametrize("V,E", [(256, None), (256, 5), (12, None), (12, 7)])
def test_import_matches_literal_mapping(tmp_path, V, E):
    H = 6
    d = state_dict(H, V, E, seed=V + (E or 0))
    p = write(tmp_path / "m.safetensors", d)
    vocab = None if V == 256 else VOCAB12
    m = import_safetensors(p, vocab=vocab)
    want = expected_model(d, vocab)
    for name in ("Wx", "Wh", "bh", "Wy", "by"):
        assert same_values(getattr(m, name), getattr(want, name)), name
    assert m.vocab == vocab
    prov = m.meta["import"]
    assert prov["layout"] == ("one-hot" if E is None else "embedding") and prov["V"] == V and prov["E"] == E
    assert prov["sha256"] == __import__("hashlib").sha256(p.read_bytes()).hexdigest()
    assert prov["vocab"] == list(vocab or range(256))
    if V < 256:
        out = ~m.vocab_mask()
        assert out.sum() == 256 - V
        assert not m.Wx[:, out].any() and not m.Wy[out].any() and not m.by[out].any()


def test_one_hot_float32_is_copied_bit_for_bit(tmp_path):
    d = state_dict(5, 12, seed=1)
    d["rnn.weight_hh_l0"][0, 0] = -0.0
    d["rnn.weight_ih_l0"][1, 2] = -0.0
    m = import_safetensors(write(tmp_path / "m.safetensors", d), vocab=VOCAB12)
    assert np.array_equal(m.Wh.view(np.uint32), d["rnn.weight_hh_l0"].view(np.uint32))
    assert np.array_equal(m.Wx[:, list(VOCAB12)].view(np.uint32), d["rnn.weight_ih_l0"].view(np.uint32))
    assert np.array_equal(m.Wy[list(VOCAB12)].view(np.uint32), d["decoder.weight"].view(np.uint32))
    assert np.array_equal(m.bh.view(np.uint32), (d["rnn.bias_ih_l0"] + d["rnn.bias_hh_l0"]).view(np.uint32))


@pytest.mark.parametrize("dtype", ["F16", "BF16", "F64"])
def test_dtypes_convert_exactly_or_round_once(tmp_path, dtype):
    d64 = state_dict(4, 12, E=3, seed=5, dtype=np.float64)
    if dtype == "F64":
        p = write(tmp_path / "m.safetensors", d64)
        d = d64
    elif dtype == "F16":
        d = {k: v.astype(np.float16) for k, v in d64.items()}
        p = write(tmp_path / "m.safetensors", d)
    else:   # bfloat16: the top 16 bits of a float32
        bits = {k: (v.astype(np.float32).view(np.uint32) >> 16).astype("<u2") for k, v in d64.items()}
        p = write_raw(tmp_path / "m.safetensors", {k: ("BF16", b.shape, b.tobytes()) for k, b in bits.items()})
        d = {k: (b.astype(np.uint32) << 16).view(np.float32) for k, b in bits.items()}
    m = import_safetensors(p, vocab=VOCAB12)
    want = expected_model({k: v.astype(np.float64) for k, v in d.items()}, VOCAB12)
    for name in ("Wx", "Wh", "bh", "Wy", "by"):
        assert same_values(getattr(m, name), getattr(want, name)), name
    if dtype != "F64":     # exact conversion: the weights used directly are the stored values
        assert np.array_equal(m.Wh, d["rnn.weight_hh_l0"].astype(np.float32))
    assert set(m.meta["import"]["dtypes"].values()) == {{"F16": "float16", "BF16": "bfloat16",
                                                         "F64": "float64"}[dtype]}


def test_bias_free_model(tmp_path):
    d = state_dict(5, 12, bias=False, dec_bias=False, seed=2)
    m = import_safetensors(write(tmp_path / "m.safetensors", d), vocab=VOCAB12)
    assert not m.bh.view(np.uint32).any() and not m.by.view(np.uint32).any()
    assert m.meta["import"]["tensors"]["bias_ih"] is None


# ---- precision: satrnn's float32 forward against a float64 forward of the original tensors ---------------

def _text_indices(n, V, seed):
    return np.random.default_rng(seed).integers(0, V, n)


@pytest.mark.parametrize("V,E", [(256, None), (12, 7), (12, None)])
def test_states_agree_with_float64_forward_within_float32_rounding(tmp_path, V, E):
    """Teacher-forced, each satrnn step from its own float32 state h_{t-1} is within a rigorous bound of the
    float64 step from the original tensors: the float32 rounding of the weights (bh, Wx), of the sequential
    float32 sum of H + 2 terms, and glibc tanhf (< 2 ulp). Free-running, with max row sum |W_hh| = 0.5 the
    recurrence halves old errors, so the whole trajectory stays within twice the largest step bound."""
    H = 24
    d = state_dict(H, V, E, seed=11, scale=0.6, hh_norm=0.5)
    vocab = None if V == 256 else VOCAB12
    m = import_safetensors(write(tmp_path / "m.safetensors", d), vocab=vocab)
    idxs = _text_indices(400, V, seed=2)
    byte_of = np.array(m.vocab_bytes())
    hs = forward(m, byte_of[idxs].astype(np.uint8)).hs.astype(np.float64)

    W_ih, W_hh = d["rnn.weight_ih_l0"].astype(np.float64), d["rnn.weight_hh_l0"].astype(np.float64)
    b = d["rnn.bias_ih_l0"].astype(np.float64) + d["rnn.bias_hh_l0"].astype(np.float64)
    emb = None if E is None else d["embedding.weight"].astype(np.float64)
    u = 2.0 ** -24
    gamma = (H + 2) * u / (1 - (H + 2) * u)
    h_prev = np.zeros(H)
    worst = 0.0
    for t, v in enumerate(idxs):
        x = W_ih[:, v] if emb is None else W_ih @ emb[v]
        z = x + b + W_hh @ h_prev
        S = np.abs(m.bh) + np.abs(m.Wx[:, byte_of[v]]) + np.abs(m.Wh.astype(np.float64)) @ np.abs(h_prev)
        bound = gamma * S + u * (np.abs(b) + np.abs(x)) + 2 * u + 2.0 ** -140
        err = np.abs(hs[t] - np.tanh(z))
        assert (err <= bound).all(), (t, float((err - bound).max()))
        worst = max(worst, float(bound.max()))
        h_prev = hs[t]
    h64 = naive.torch_rnn_forward_f64(d["rnn.weight_ih_l0"], d["rnn.weight_hh_l0"], d["rnn.bias_ih_l0"],
                                      d["rnn.bias_hh_l0"], idxs, emb)
    assert np.abs(hs - h64).max() <= 2 * worst


def test_bpc_agrees_with_float64_reference_v256(tmp_path):
    """V = 256: the readout over all bytes is PyTorch's decoder softmax; bpc within the bound that the states'
    differences and the float32 products of the readout allow."""
    H = 16
    d = state_dict(H, 256, 4, seed=4, scale=0.5, hh_norm=0.5)
    m = import_safetensors(write(tmp_path / "m.safetensors", d))
    idxs = _text_indices(300, 256, seed=5)
    r = forward(m, idxs.astype(np.uint8))
    emb = d["embedding.weight"]
    h64 = naive.torch_rnn_forward_f64(d["rnn.weight_ih_l0"], d["rnn.weight_hh_l0"], d["rnn.bias_ih_l0"],
                                      d["rnn.bias_hh_l0"], idxs, emb)
    ref = naive.torch_bpc_f64(h64, d["decoder.weight"], d["decoder.bias"], idxs)
    dh = np.abs(r.hs.astype(np.float64) - h64).max()
    dL = (np.abs(d["decoder.weight"].astype(np.float64)).sum(axis=1) * (dh + 2.0 ** -24)).max()
    assert abs(r.bpc - ref) <= 2 * dL / math.log(2) + 1e-12


def test_bpc_agrees_with_float64_reference_small_vocab(tmp_path):
    H = 16
    d = state_dict(H, 12, 5, seed=6, scale=0.5, hh_norm=0.5)
    m = import_safetensors(write(tmp_path / "m.safetensors", d), vocab=VOCAB12)
    idxs = _text_indices(300, 12, seed=7)
    r = forward(m, np.array(VOCAB12, np.uint8)[idxs])
    h64 = naive.torch_rnn_forward_f64(d["rnn.weight_ih_l0"], d["rnn.weight_hh_l0"], d["rnn.bias_ih_l0"],
                                      d["rnn.bias_hh_l0"], idxs, d["embedding.weight"])
    ref = naive.torch_bpc_f64(h64, d["decoder.weight"], d["decoder.bias"], idxs)
    assert abs(r.bpc - ref) < 1e-4


def test_readout_bias64_gives_probability_zero_outside_vocab(tmp_path):
    d = state_dict(8, 12, seed=8)
    m = import_safetensors(write(tmp_path / "m.safetensors", d), vocab=VOCAB12)
    b = m.readout_bias64()
    assert b.dtype == np.float64 and b.shape == (256,)
    inside = list(VOCAB12)
    assert np.array_equal(b[inside], m.by[inside].astype(np.float64))
    assert np.isneginf(b[~m.vocab_mask()]).all()
    h = np.tanh(np.random.default_rng(0).standard_normal(8)).astype(np.float32)
    # DEFINITIONS 0.4's readout, literally, with the double bias in place of dbl(by)
    L = [float(b[o]) + sum(float(np.float32(m.Wy[o, j] * h[j])) for j in range(8)) for o in range(256)]
    mx = max(L)
    e = [math.exp(x - mx) for x in L]
    Z = sum(e)
    p = [x / Z for x in e]
    assert all(p[o] == 0.0 for o in range(256) if o not in VOCAB12)
    assert abs(sum(p[o] for o in VOCAB12) - 1.0) < 1e-12
    assert np.array_equal(random_model(3, 0).readout_bias64(), random_model(3, 0).by.astype(np.float64))


# ---- round trip ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("V,E,dtype,bias", [(256, None, np.float32, True), (12, 7, np.float32, True),
                                            (12, None, np.float64, True), (12, None, np.float32, False)])
def test_round_trip_import_export_import(tmp_path, V, E, dtype, bias):
    d = state_dict(6, V, E, seed=9, dtype=dtype, bias=bias, dec_bias=bias)
    if bias:
        d["rnn.bias_ih_l0"][0] = d["rnn.bias_hh_l0"][0] = -0.0    # bh = -0.0 must survive the export
    vocab = None if V == 256 else VOCAB12
    m1 = import_safetensors(write(tmp_path / "a.safetensors", d), vocab=vocab)
    if bias:
        assert np.signbit(m1.bh[0]) and m1.bh[0] == 0
    export_safetensors(m1, tmp_path / "b.safetensors")
    m2 = import_safetensors(tmp_path / "b.safetensors")          # the vocabulary comes from the metadata
    assert m2.equal_bits(m1)
    f = read_safetensors(tmp_path / "b.safetensors")
    shapes = f.shapes()
    assert shapes["rnn.weight_ih_l0"] == (6, V) and shapes["decoder.weight"] == (V, 6)
    assert ("rnn.bias_ih_l0" in shapes) == bias and ("decoder.bias" in shapes) == bias
    export_safetensors(m2, tmp_path / "c.safetensors")
    assert (tmp_path / "c.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


def test_round_trip_keeps_recorded_names(tmp_path):
    d = state_dict(5, 12, seed=10, rnn="core.cell", dec="head")
    m = import_safetensors(write(tmp_path / "a.safetensors", d), vocab=VOCAB12)
    export_safetensors(m, tmp_path / "b.safetensors")
    assert set(read_safetensors(tmp_path / "b.safetensors").shapes()) == set(d)


def test_round_trip_published_model(published, tmp_path):
    model, _ = published
    export_safetensors(model, tmp_path / "p.safetensors")
    back = import_safetensors(tmp_path / "p.safetensors")
    assert back.equal_bits(model) and back.vocab is None


@settings(max_examples=10, deadline=None)
@given(H=st.sampled_from([1, 3, 17]), seed=st.integers(0, 2**31), V=st.sampled_from([1, 5, 256]))
def test_round_trip_satrnn_models(tmp_path_factory, H, seed, V):
    """Any satrnn model (with a vocabulary or not, -0.0 weights included) survives export -> import."""
    m = random_model(H, seed)
    vocab = None
    if V < 256:
        vocab = tuple(int(b) for b in np.random.default_rng(seed).permutation(256)[:V])
        keep = np.zeros(256, bool)
        keep[list(vocab)] = True
        Wx, Wy, by = np.array(m.Wx), np.array(m.Wy), np.array(m.by)
        Wx[:, ~keep], Wy[~keep], by[~keep] = 0, 0, 0
        m = m.replace(Wx=Wx, Wy=Wy, by=by, vocab=vocab)
    Wh = np.array(m.Wh)
    Wh[0, 0] = -0.0
    m = m.replace(Wh=Wh)
    d = tmp_path_factory.mktemp("rt")
    export_safetensors(m, d / "m.safetensors")
    assert import_safetensors(d / "m.safetensors").equal_bits(m)


# ---- refusals --------------------------------------------------------------------------------------------

def _refused(tmp_path, tensors, match, vocab=VOCAB12, names=None, raw=False, metadata=None):
    p = (write_raw if raw else write)(tmp_path / "bad.safetensors", tensors, metadata)
    with pytest.raises(SatrnnInputError, match=match) as e:
        import_safetensors(p, vocab=vocab, names=names)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_refuse_unknown_layout(tmp_path):
    msg = _refused(tmp_path, {"foo": np.zeros((3, 3), np.float32), "bar.w": np.zeros(3, np.float32)},
                   "unknown layout")
    assert "foo (3, 3)" in msg and "bar.w (3,)" in msg and "expected a one-layer tanh nn.RNN" in msg


def test_refuse_lstm_gru_layers_bidirectional_projection(tmp_path):
    H, V = 4, 12
    d = state_dict(H, V)
    lstm = dict(d, **{"rnn.weight_ih_l0": np.zeros((4 * H, V), np.float32),
                      "rnn.weight_hh_l0": np.zeros((4 * H, H), np.float32),
                      "rnn.bias_ih_l0": np.zeros(4 * H, np.float32), "rnn.bias_hh_l0": np.zeros(4 * H, np.float32)})
    _refused(tmp_path, lstm, "LSTM")
    gru = {k: (np.zeros((3 * v.shape[0],) + v.shape[1:], np.float32) if k.startswith("rnn.") else v)
           for k, v in d.items()}
    _refused(tmp_path, gru, "GRU")
    two = dict(d, **{"rnn.weight_ih_l1": np.zeros((H, H), np.float32),
                     "rnn.weight_hh_l1": np.zeros((H, H), np.float32)})
    _refused(tmp_path, two, "multi-layer RNN")
    bi = dict(d, **{"rnn.weight_ih_l0_reverse": d["rnn.weight_ih_l0"],
                    "rnn.weight_hh_l0_reverse": d["rnn.weight_hh_l0"]})
    _refused(tmp_path, bi, "bidirectional")
    proj = dict(lstm, **{"rnn.weight_hr_l0": np.zeros((2, H), np.float32)})
    _refused(tmp_path, proj, "projection of an LSTM")


@pytest.mark.parametrize("change,match", [
    (lambda d: d.update({"rnn.weight_hh_l0": np.zeros((4, 5), np.float32)}), r"weight_hh_l0 has shape \(4, 5\)"),
    (lambda d: d.update({"rnn.bias_ih_l0": np.zeros(5, np.float32)}), r"bias_ih_l0 has shape \(5,\)"),
    (lambda d: d.update({"rnn.weight_ih_l0": np.zeros((5, 12), np.float32)}), r"weight_ih_l0 has shape"),
    (lambda d: d.update({"decoder.weight": np.zeros((12, 5), np.float32)}), "unknown layout: no decoder"),
    (lambda d: d.update({"decoder.weight": np.zeros((300, 4), np.float32)}), "V <= 256"),
    (lambda d: d.pop("rnn.bias_hh_l0"), "has no partner bias_hh"),
    (lambda d: d.pop("rnn.weight_hh_l0"), "no rnn.weight_hh_l0"),
    (lambda d: d.update({"h0": np.zeros((1, 4), np.float32)}), r"h0 \(1, 4\) fit no role"),
])
def test_refuse_wrong_shapes_and_missing_tensors(tmp_path, change, match):
    d = state_dict(4, 12)
    change(d)
    _refused(tmp_path, d, match)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_refuse_nan_and_inf(tmp_path, bad):
    d = state_dict(4, 12, E=3)
    d["embedding.weight"][2, 1] = bad
    _refused(tmp_path, d, r"tensor embedding.weight contains 1 NaN/Inf")


def test_refuse_overflow_to_float32(tmp_path):
    d = {k: v.astype(np.float64) for k, v in state_dict(4, 12).items()}
    d["rnn.weight_hh_l0"][0, 0] = 1e39
    _refused(tmp_path, d, "exceeds the float32 range")
    d = {k: v.astype(np.float64) for k, v in state_dict(4, 12, E=2).items()}
    d["embedding.weight"][:] = 1e30
    d["rnn.weight_ih_l0"][:] = 1e30
    _refused(tmp_path, d, r"weight_ih_l0 @ embedding.weight exceeds the float32 range")


def test_refuse_integer_dtype(tmp_path):
    d = state_dict(4, 12)
    d["decoder.bias"] = np.zeros(12, np.int64)
    _refused(tmp_path, d, "dtype I64")


@pytest.mark.parametrize("vocab,match", [
    (tuple(range(11)), "--vocab has 11 entries but the model has V = 12"),
    (None, "V = 12 symbols, not 256: give --vocab"),
])
def test_refuse_vocab_mismatch(tmp_path, vocab, match):
    _refused(tmp_path, state_dict(4, 12), match, vocab=vocab)


def test_refuse_bad_vocab_values():
    for bad, match in ([(1, 2, 1), "entries 0 and 2 are both byte 1"], [(1, 256), "entry 1 is 256"],
                       [(), "1 to 256"], [(True, 2), "entry 0 is True"]):
        with pytest.raises(SatrnnInputError, match=match):
            check_vocab(bad)
    assert check_vocab(range(256)) is None and check_vocab([3, 1]) == (3, 1)


def test_refuse_metadata_vocab_disagreement(tmp_path):
    d = state_dict(4, 12)
    _refused(tmp_path, d, "differs from the vocabulary stored", vocab=tuple(range(12)),
             metadata={"satrnn": json.dumps({"vocab": list(VOCAB12)})})
    _refused(tmp_path, d, "holds no valid vocabulary", vocab=None, metadata={"satrnn": '{"vocab": [1, 1]}'})
    _refused(tmp_path, d, "holds no valid vocabulary", vocab=None, metadata={"satrnn": "[1, 2]"})


def test_refuse_not_safetensors(tmp_path):
    for name, data in (("empty.safetensors", b""), ("junk.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{bad"),
                       ("huge_header.safetensors", struct.pack("<Q", 2**62) + b"{}")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(SatrnnInputError) as e:
            import_safetensors(tmp_path / name, vocab=VOCAB12)
        assert "\n" not in str(e.value)


def test_ambiguous_layout_needs_flags(tmp_path):
    """E = H and a bias-free decoder: embedding and decoder have the same shape; flags resolve it."""
    d = state_dict(4, 12, E=4, dec_bias=False, emb="a", dec="b")
    msg = _refused(tmp_path, d, "ambiguous layout")
    assert "--decoder" in msg and "--embedding" in msg
    p = tmp_path / "bad.safetensors"
    m = import_safetensors(p, vocab=VOCAB12, names={"decoder": "b.weight"})
    assert m.meta["import"]["tensors"]["embedding"] == "a.weight"
    want = expected_model({"embedding.weight": d["a.weight"], "rnn.weight_ih_l0": d["rnn.weight_ih_l0"],
                           "rnn.weight_hh_l0": d["rnn.weight_hh_l0"], "rnn.bias_ih_l0": d["rnn.bias_ih_l0"],
                           "rnn.bias_hh_l0": d["rnn.bias_hh_l0"], "decoder.weight": d["b.weight"]}, VOCAB12)
    assert same_values(m.Wx, want.Wx) and same_values(m.Wy, want.Wy)


def test_flags_name_tensors(tmp_path):
    d = state_dict(4, 12, rnn="x", dec="y")
    d = {"W1": d["x.weight_ih_l0"], "W2": d["x.weight_hh_l0"], "B1": d["x.bias_ih_l0"], "B2": d["x.bias_hh_l0"],
         "OUT": d["y.weight"], "OUTB": d["y.bias"]}
    p = write(tmp_path / "m.safetensors", d)
    with pytest.raises(SatrnnInputError, match="no .*weight_ih_l0 tensor"):
        import_safetensors(p, vocab=VOCAB12)
    names = {"weight_ih": "W1", "weight_hh": "W2", "bias_ih": "B1", "bias_hh": "B2", "decoder": "OUT",
             "decoder_bias": "OUTB"}
    m = import_safetensors(p, vocab=VOCAB12, names=names)
    assert m.meta["import"]["tensors"] == {**names, "embedding": None}
    with pytest.raises(SatrnnInputError, match="--hh NOPE: no such tensor"):
        import_safetensors(p, vocab=VOCAB12, names={**names, "weight_hh": "NOPE"})
    with pytest.raises(SatrnnInputError, match="--decoder OUTB has shape"):
        import_safetensors(p, vocab=VOCAB12, names={**names, "decoder": "OUTB"})


def test_recognise_prefers_nothing_silently():
    """Two RNN modules: refused, asking for --ih."""
    shapes = {"a.weight_ih_l0": (4, 12), "a.weight_hh_l0": (4, 4), "b.weight_ih_l0": (4, 12),
              "b.weight_hh_l0": (4, 4), "d.weight": (12, 4)}
    with pytest.raises(SatrnnInputError, match="several recurrent modules.*--ih"):
        recognise(shapes)
    with pytest.raises(SatrnnInputError, match="fit no role"):
        recognise(shapes, {"weight_ih": "a.weight_ih_l0"})
    with pytest.raises(SatrnnInputError, match="cannot be 'none'"):
        recognise(shapes, {"decoder": NONE})


# ---- the vocabulary: parsing, the model, the .npz, text checks --------------------------------------------

def test_parse_vocab_forms(tmp_path):
    assert parse_vocab("[97, 98, 10]") == (97, 98, 10)
    assert parse_vocab('["a", "b", "\\n", 255]') == (97, 98, 10, 255)
    (tmp_path / "v.json").write_text(json.dumps(list("ab\n")))
    assert parse_vocab(str(tmp_path / "v.json")) == (97, 98, 10)
    (tmp_path / "chars.txt").write_bytes(b"ab\n\xe9")
    assert parse_vocab(str(tmp_path / "chars.txt")) == (97, 98, 10, 0xE9)
    for bad, match in (("[1, 1]", "both byte 1"), ('["ab"]', "entry 0"), ("[1,", "not a valid JSON list"),
                       ("[300]", "entry 0 is 300"), ('{"a": 1}', "vocabulary file not found")):
        with pytest.raises(SatrnnInputError, match=match):
            parse_vocab(bad)
    (tmp_path / "dup.txt").write_bytes(b"abca")
    with pytest.raises(SatrnnInputError, match="a final newline included.*both byte 97"):
        parse_vocab(str(tmp_path / "dup.txt"))
    with pytest.raises(SatrnnInputError, match="not found"):
        parse_vocab(str(tmp_path / "missing.txt"))


def test_model_vocab_invariants():
    m = random_model(3, 0)
    with pytest.raises(SatrnnInputError, match="nonzero Wx column for byte 0"):
        m.replace(vocab=(1, 2))
    Wx, Wy, by = np.zeros((3, 256), np.float32), np.zeros((256, 3), np.float32), np.zeros(256, np.float32)
    Wx[:, [1, 2]] = 1
    Wy[[1, 2]] = 1
    ok = m.replace(Wx=Wx, Wy=Wy, by=by, vocab=[2, 1])
    assert ok.vocab == (2, 1) and ok.vocab_bytes() == (2, 1)
    Wy[5, 0] = 1
    with pytest.raises(SatrnnInputError, match="nonzero Wy row for byte 5"):
        ok.replace(Wy=Wy)
    assert not ok.equal_bits(ok.replace(vocab=(1, 2)))
    assert m.replace(vocab=tuple(range(256))).vocab is None


def test_npz_keeps_vocab_and_provenance(tmp_path):
    m = import_safetensors(write(tmp_path / "m.safetensors", state_dict(4, 12, E=3)), vocab=VOCAB12)
    save_model(m, tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    assert back.equal_bits(m) and back.vocab == VOCAB12
    assert back.meta["import"] == m.meta["import"]
    with np.load(tmp_path / "m.npz") as z:
        assert int(z["format_version"]) == 2 and z["vocab"].dtype == np.uint8
    save_model(random_model(3, 1), tmp_path / "plain.npz")
    with np.load(tmp_path / "plain.npz") as z:
        assert int(z["format_version"]) == 1 and "vocab" not in z
    with pytest.raises(SatrnnInputError, match="no room for the model's vocabulary"):
        save_model(m, tmp_path / "m.bin")


def test_npz_bad_vocab_refused(tmp_path):
    m = random_model(3, 0)
    arrays = dict(m.arrays(), format_version=np.int64(2))
    for vocab, match in ((np.array([1, 1], np.uint8), "both byte 1"), (np.array([1, 2], np.uint8), "nonzero Wx"),
                         (np.zeros((2, 2), np.uint8), r"vocab has shape"),
                         (np.array([1.0, 2.0]), "dtype float64")):
        np.savez(tmp_path / "v.npz", **arrays, vocab=vocab)
        with pytest.raises(SatrnnInputError, match=match):
            load_model(tmp_path / "v.npz")


def test_text_checks_name_first_position(tmp_path):
    Wx, Wy = np.zeros((2, 256), np.float32), np.zeros((256, 2), np.float32)
    m = ElmanRNN(Wx=Wx, Wh=np.zeros((2, 2), np.float32), bh=np.zeros(2, np.float32), Wy=Wy,
                 by=np.zeros(256, np.float32), vocab=tuple(b"ab"))
    check_text_in_vocab(m, np.frombuffer(b"abba", np.uint8))
    with pytest.raises(SatrnnInputError, match=r"byte 122 \('z'\) at position 1,000,002 "):
        check_text_in_vocab(m, np.frombuffer(b"abz", np.uint8), offset=1_000_000)
    p = tmp_path / "t.txt"
    p.write_bytes(b"ab" * 700_000 + b"\n" + b"zz")      # the bad byte lies in the second 1 MiB chunk
    with pytest.raises(SatrnnInputError, match=r"byte 10 \('\\n'\) at position 1,400,000 "):
        check_text_file_in_vocab(m, p)
    check_text_file_in_vocab(m, p, max_bytes=1_400_000)
    check_text_in_vocab(random_model(2, 0), np.arange(256, dtype=np.uint8))   # no vocabulary: all bytes


# ---- the command line ------------------------------------------------------------------------------------

@pytest.fixture
def imported(tmp_path):
    """(model.npz, a text in its vocabulary, a text with one byte outside it, the safetensors file)."""
    src = write(tmp_path / "m.safetensors", state_dict(12, 12, E=5, seed=3, hh_norm=0.9))
    (tmp_path / "vocab.txt").write_bytes(bytes(VOCAB12))
    out = tmp_path / "m.npz"
    assert main(["import", str(src), "--vocab", str(tmp_path / "vocab.txt"), "--out", str(out)]) == 0
    text = tmp_path / "t.txt"
    text.write_bytes(b"abc def ghij\nbad cab fig jig\n" * 20)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"abc dd" * 10 + b"Z" + b"abc")
    return out, text, bad, src


def run_cli(*argv):
    p = subprocess.run([sys.executable, "-m", "satrnn", *map(str, argv)], capture_output=True, text=True,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


def assert_one_line_error(rc, err, needle):
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("satrnn: error:") and needle in lines[0], err


def test_cli_import_info_export(imported, tmp_path, capsys):
    out, _, _, src = imported
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["vocab"] == list(VOCAB12)
    assert info["provenance"]["sha256"] == read_safetensors(src).sha256
    assert info["provenance"]["layout"] == "embedding" and info["provenance"]["E"] == 5
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "vocabulary: 12 bytes" in text and "imported from safetensors" in text
    exp = tmp_path / "e.safetensors"
    assert main(["export", str(out), "--format", "safetensors", "--out", str(exp), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["V"] == 12
    assert main(["import", str(exp), "--out", str(tmp_path / "again.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["vocab_from"] == "safetensors metadata (satrnn export)"
    assert load_model(tmp_path / "again.npz").equal_bits(load_model(out))


def test_cli_commands_run_on_imported_model(imported, capsys):
    out, text, _, _ = imported
    capsys.readouterr()
    assert main(["eval", str(out), str(text), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"] == text.stat().st_size - 1
    assert main(["iso", str(out), str(text), "--json"]) == 0
    iso = json.loads(capsys.readouterr().out)
    assert iso["isomorphic"] and iso["sign_mismatches"] == 0
    assert main(["cycles", str(out), "--input", "a", "--starts", "2", "--budget", "20000", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["jobs"] == 2


def test_cli_refuses_text_outside_vocab(imported, tmp_path):
    out, _, bad, _ = imported
    for argv in (["eval", out, bad], ["trace", out, bad, "--out", tmp_path / "h.npy"], ["iso", out, bad],
                 ["sign", out, "--text", bad]):
        rc, _, err = run_cli(*argv)
        assert_one_line_error(rc, err, "byte 90 ('Z') at position 60 is outside the model's vocabulary")
    assert not (tmp_path / "h.npy").exists()
    rc, _, err = run_cli("sign", out, "--input", "Z", "--steps", "3")
    assert_one_line_error(rc, err, "--input byte 90 ('Z') is outside")
    rc, _, err = run_cli("cycles", out, "--input", "Z", "--starts", "1", "--budget", "100")
    assert_one_line_error(rc, err, "--input byte 90 ('Z') is outside")
    rc, _, err = run_cli("landscape", out, "--sequence", "a,Z", "--starts", "2", "--budget", "100")
    assert_one_line_error(rc, err, "--sequence byte 90 ('Z') is outside")


def test_cli_input_all_is_the_vocabulary(imported, capsys):
    out, _, _, _ = imported
    capsys.readouterr()
    assert main(["cycles", str(out), "--input", "all", "--starts", "1", "--budget", "2000", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(doc["inputs"]) == sorted(VOCAB12) and doc["summary"]["jobs"] == len(VOCAB12)


def test_cli_import_refusals_one_line(tmp_path, imported):
    _, _, _, src = imported
    d = state_dict(4, 12)
    lstm = dict(d, **{"rnn.weight_hh_l0": np.zeros((16, 4), np.float32),
                      "rnn.weight_ih_l0": np.zeros((16, 12), np.float32)})
    write(tmp_path / "lstm.safetensors", lstm)
    cases = [
        (["import", tmp_path / "lstm.safetensors", "--vocab", "[1,2,3,4,5,6,7,8,9,10,11,12]", "--out",
          tmp_path / "o.npz"], "LSTM"),
        (["import", src, "--vocab", "[1, 1]", "--out", tmp_path / "o.npz"], "both byte 1"),
        (["import", src, "--vocab", "[1, 2]", "--out", tmp_path / "o.npz"], "--vocab has 2 entries"),
        (["import", src, "--out", tmp_path / "o.npz"], "give --vocab"),
        (["import", src, "--out", src], "refusing to overwrite an input"),
        (["export", tmp_path / "m.npz", "--out", tmp_path / "x.bin"], "must end in .safetensors"),
    ]
    for argv, needle in cases:
        rc, _, err = run_cli(*argv)
        assert_one_line_error(rc, err, needle)
    assert not (tmp_path / "o.npz").exists()


def test_models_derived_from_an_imported_one_keep_its_vocabulary(tmp_path):
    from satrnn.automaton.redux import Redux, shrink
    m = import_safetensors(write(tmp_path / "m.safetensors", state_dict(6, 12, E=3)), vocab=VOCAB12)
    r = Redux(keep=[0, 2])
    assert r.apply(m).vocab == VOCAB12
    small = shrink(m, r)
    assert small.vocab == VOCAB12 and small.meta["neuron_ids"]


def test_named_tensors_that_fit_no_decoder(tmp_path):
    d = state_dict(4, 12, E=3)
    p = write(tmp_path / "m.safetensors", d)
    for names, match in (({"embedding": "decoder.bias"},
                          r"--embedding decoder.bias has shape \(12,\); expected \(12, 3\)"),
                         ({"embedding": NONE}, "--embedding none: rnn.weight_ih_l0 has 3 columns"),
                         ({"decoder_bias": "rnn.bias_ih_l0"}, r"--decoder-bias rnn.bias_ih_l0 has shape \(4,\)")):
        with pytest.raises(SatrnnInputError, match=match):
            import_safetensors(p, vocab=VOCAB12, names=names)


def test_with_tanh_keeps_the_vocabulary(tmp_path):
    m = import_safetensors(write(tmp_path / "m.safetensors", state_dict(4, 12)), vocab=VOCAB12)
    twin = m.with_tanh("cr")
    assert twin.tanh == "cr" and twin.vocab == VOCAB12 and twin.replace().vocab == VOCAB12


def test_every_readout_gives_probability_zero_outside_the_vocabulary(tmp_path):
    """The forward's readout (log-probabilities -inf outside), the streamed eval, the sign readout, the UM
    (isomorphic to the bit, its own readout masked too) and the knockout cache all agree on a V = 12 model."""
    from satrnn.automaton import redux
    from satrnn.automaton.bitset import pack
    from satrnn.automaton.iso import check_isomorphism
    from satrnn.automaton.sign_readout import SignReadout
    from satrnn.automaton.um import PatternTable, from_rnn
    from satrnn.rnn.forward import evaluate, readout_costs
    d = state_dict(16, 12, 5, seed=9, scale=0.5, hh_norm=0.5)
    m = import_safetensors(write(tmp_path / "m.safetensors", d), vocab=VOCAB12)
    xs = np.array(VOCAB12, np.uint8)[_text_indices(200, 12, seed=10)]
    f = forward(m, xs, want_logp=True)
    outside = ~m.vocab_mask()
    assert np.isneginf(f.logp[:, outside]).all() and np.isfinite(f.logp[:, ~outside]).all()
    assert np.allclose(np.exp(f.logp).sum(axis=1), 1.0)
    assert evaluate(m, xs, chunk=37).bpc == f.bpc
    # literal readout with the vocabulary's -inf bias (tests/naive.py's DEFINITIONS 0.4, masked)
    want = [naive.readout_cost(m.Wy, np.where(outside, -np.inf, m.by), f.hs[t], int(xs[t + 1])) for t in range(20)]
    assert np.array_equal(f.costs[:20], np.array(want))
    signs = np.where(f.hs[:-1] >= 0, 1.0, -1.0)
    assert np.array_equal(SignReadout(m).costs(pack(signs), xs[1:]),
                          readout_costs(m, signs.astype(np.float32), xs[1:])[0])
    r = check_isomorphism(m, xs)
    assert r["isomorphic"] and r["bpc_um"] == r["bpc_rnn"] == f.bpc
    t = from_rnn(m)
    assert t.vocab == m.vocab and t.to_rnn().equal_bits(m)
    p = tmp_path / "pat.npz"
    np.savez(p, **t.npz_payload())
    assert PatternTable.load_npz(p).vocab == m.vocab
    cache = redux.ReadoutCache(m, xs)
    ko = cache.knockout_bpcs()
    for j in (0, 7):
        Wy = m.Wy.copy()
        Wy[:, j] = 0
        assert ko[j] == forward(m.replace(Wy=Wy), xs).bpc
    dyn = redux.evaluate(m, xs, redux.Redux(wh_threshold=0.05), cache=cache)
    assert dyn == forward(redux.Redux(wh_threshold=0.05).apply(m), xs).bpc
