"""Packed sign states: pack/unpack, the hex text form, Hamming distance, popcount, njit helpers."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.automaton import bitset
from satrnn.rnn.errors import SatrnnInputError

HS = [1, 4, 5, 63, 64, 65, 127, 128, 130, 200]


@st.composite
def sign_vectors(draw, H=None):
    H = draw(st.sampled_from(HS)) if H is None else H
    bits = draw(st.lists(st.booleans(), min_size=H, max_size=H))
    return np.array(bits, dtype=bool)


@settings(max_examples=200, deadline=None)
@given(sign_vectors())
def test_pack_unpack_roundtrip_and_encoding(bits):
    H = bits.shape[0]
    w = bitset.pack(bits)
    assert w.dtype == np.uint64 and w.shape == (bitset.n_words(H),)
    assert np.array_equal(bitset.unpack(w, H), bits)
    assert bitset.to_int(w) == naive.sign_bits_to_int(bits)          # bit j of word j//64 = neuron j
    for j in range(H):
        assert ((int(w[j // 64]) >> (j % 64)) & 1) == bits[j]
    if H % 64:
        assert int(w[-1]) >> (H % 64) == 0                              # last word masked


@settings(max_examples=200, deadline=None)
@given(sign_vectors())
def test_hex_roundtrip_and_format(bits):
    H = bits.shape[0]
    w = bitset.pack(bits)
    h = bitset.to_hex(w, H)
    assert len(h) == (H + 3) // 4 and h == h.lower()
    assert int(h, 16) == naive.sign_bits_to_int(bits)
    assert int(h[-1], 16) & 1 == bits[0]                                # neuron 0 = lowest bit of last digit
    assert np.array_equal(bitset.from_hex(h, H), w)
    assert np.array_equal(bitset.from_hex("0x" + h.upper(), H), w)


def test_hex_examples():
    H = 128
    w = bitset.pack(np.arange(H) == 0)
    assert bitset.to_hex(w, H) == "0" * 31 + "1"
    w = bitset.pack(np.arange(H) == 127)
    assert bitset.to_hex(w, H) == "8" + "0" * 31
    assert bitset.to_hex(bitset.all_plus(5), 5) == "1f"
    assert bitset.to_hex(bitset.all_minus(130), 130) == "0" * 33


@pytest.mark.parametrize("text,H,msg", [
    ("0" * 31, 128, "hex digits"), ("0" * 33, 128, "hex digits"), ("g" + "0" * 31, 128, "not hexadecimal"),
    ("", 128, "not hexadecimal"), ("3f", 5, "beyond neuron 4"), ("4" + "0" * 32, 130, "beyond neuron 129"),
    ("0x", 8, "not hexadecimal"), (" 1-2", 8, "not hexadecimal"),
])
def test_from_hex_errors(text, H, msg):
    with pytest.raises(SatrnnInputError, match=msg):
        bitset.from_hex(text, H)


def test_pack_numeric_and_2d():
    s = np.array([[1.0, -1.0, 0.0, -0.0], [-1.0, -1.0, 1.0, 1.0]], dtype=np.float32)
    w = bitset.pack(s)
    assert w.shape == (2, 1)
    assert [int(v) for v in w[:, 0]] == [0b1101, 0b1100]               # +-0 count as +1 (DEFINITIONS 0.6)
    assert np.array_equal(bitset.unpack(w, 4), s >= 0)
    assert np.array_equal(bitset.to_signs(w, 4), np.where(s >= 0, 1, -1).astype(np.float32))
    with pytest.raises(SatrnnInputError):
        bitset.pack(np.array([np.nan, 1.0]))
    with pytest.raises(SatrnnInputError):
        bitset.unpack(np.zeros(3, np.uint64), 128)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_hamming_popcount(data):
    H = data.draw(st.sampled_from(HS))
    a = data.draw(sign_vectors(H))
    b = data.draw(sign_vectors(H))
    wa, wb = bitset.pack(a), bitset.pack(b)
    assert bitset.hamming(wa, wb) == int((a != b).sum())
    assert bitset.popcount(wa) == int(a.sum())
    assert bitset._hamming_words(wa, wb) == int((a != b).sum())
    assert bitset._popcount_words(wa) == int(a.sum())
    both = bitset.pack(np.stack([a, b]))
    assert list(bitset.hamming(both, wa)) == [0, int((a != b).sum())]
    assert list(bitset.popcount(both)) == [int(a.sum()), int(b.sum())]
    for j in (0, H - 1, H // 2):
        assert bitset._get_bit(wa, j) == int(a[j])


def test_popcount64_edge_values():
    for v in (0, 1, 2**63, 2**64 - 1, 0x5555555555555555, 0xF0F0F0F0F0F0F0F0, 12345678901234567):
        assert bitset.popcount64(np.uint64(v)) == bin(v).count("1")


def test_int_roundtrip_and_errors():
    assert bitset.to_int(bitset.from_int(2**129 + 5, 130)) == 2**129 + 5
    with pytest.raises(SatrnnInputError):
        bitset.from_int(2**130, 130)
    with pytest.raises(SatrnnInputError):
        bitset.n_words(0)
