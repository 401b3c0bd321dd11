"""Packed sign states: s in {-1,+1}^H as uint64 words.

Encoding (frozen; other modules and saved files depend on it):
- W = n_words(H) = ceil(H / 64) words; bit (j % 64) of word j // 64 is 1 iff neuron j is +1
  (sigma = 1, DEFINITIONS 0.6). Bits at positions >= H in the last word are always 0.
- Text form: ceil(H/4) lowercase hex digits of the integer sum_j bit_j * 2^j, most significant digit first,
  so neuron 0 is the lowest bit of the LAST digit. For H = 128 that is 32 digits.

Public helpers work on numpy arrays; `popcount64` (the one popcount of a word, used by the co-flip counts too)
is njit-callable from other numba kernels, as are `_hamming_words` and `_popcount_words` within this floor.
"""
from __future__ import annotations

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.numba_config import njit

_HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def n_words(H: int) -> int:
    """Number of uint64 words holding H sign bits."""
    if H < 1:
        raise SatrnnInputError(f"hidden size must be >= 1, got {H}")
    return (int(H) + 63) // 64


def _as_bits(signs) -> np.ndarray:
    a = np.asarray(signs)
    if a.dtype == np.bool_:
        return a
    if a.dtype.kind in "iuf":
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise SatrnnInputError("sign vector contains NaN/Inf")
        return a >= 0  # sigma(v) = [v >= 0]: +1 and +-0 are positive, -1 negative
    raise SatrnnInputError(f"cannot pack signs of dtype {a.dtype}")


def pack(signs) -> np.ndarray:
    """Pack signs (H,) or (N, H) into uint64 words (W,) or (N, W).

    Boolean input: True = +1. Numeric input (e.g. +-1 or float states): +1 iff value >= 0 (DEFINITIONS 0.6).
    """
    bits = _as_bits(signs)
    if bits.ndim not in (1, 2) or bits.shape[-1] < 1:
        raise SatrnnInputError(f"signs must have shape (H,) or (N, H), got {bits.shape}")
    H = bits.shape[-1]
    W = n_words(H)
    flat = bits.reshape(-1, H)
    padded = np.zeros((flat.shape[0], 64 * W), dtype=np.uint8)
    padded[:, :H] = flat
    by = np.packbits(padded, axis=1, bitorder="little")
    words = np.ascontiguousarray(by).view("<u8").astype(np.uint64)
    return words.reshape(W) if bits.ndim == 1 else words.reshape(bits.shape[0], W)


def unpack(words, H: int) -> np.ndarray:
    """Unpack uint64 words (W,) or (N, W) into booleans (H,) or (N, H) (True = +1)."""
    w = np.asarray(words)
    W = n_words(H)
    if w.ndim not in (1, 2) or w.shape[-1] != W:
        raise SatrnnInputError(f"packed state has shape {w.shape}, expected (..., {W}) for H={H}")
    flat = np.ascontiguousarray(w.reshape(-1, W), dtype="<u8").view(np.uint8)
    bits = np.unpackbits(flat, axis=1, bitorder="little")[:, :H].astype(bool)
    return bits.reshape(H) if w.ndim == 1 else bits


def to_signs(words, H: int) -> np.ndarray:
    """Unpacked +-1 float32 vectors (H,) or (N, H), as used by the sign readouts."""
    return np.where(unpack(words, H), np.float32(1.0), np.float32(-1.0)).astype(np.float32)


def to_int(words) -> int:
    """The state as one Python integer sum_j bit_j 2^j."""
    w = np.asarray(words, dtype=np.uint64).reshape(-1)
    v = 0
    for k in range(w.shape[0] - 1, -1, -1):
        v = (v << 64) | int(w[k])
    return v


def from_int(value: int, H: int) -> np.ndarray:
    """Words from an integer 0 <= value < 2^H."""
    if value < 0 or value >> H:
        raise SatrnnInputError(f"state value has bits beyond neuron {H - 1}")
    W = n_words(H)
    return np.array([(value >> (64 * k)) & 0xFFFFFFFFFFFFFFFF for k in range(W)], dtype=np.uint64)


def to_hex(words, H: int) -> str:
    """ceil(H/4) lowercase hex digits, most significant first (neuron 0 = lowest bit of the last digit)."""
    w = np.asarray(words)
    if w.shape != (n_words(H),):
        raise SatrnnInputError(f"packed state has shape {w.shape}, expected ({n_words(H)},) for H={H}")
    return format(to_int(w), f"0{(H + 3) // 4}x")


def from_hex(s: str, H: int) -> np.ndarray:
    """Parse the text form back to words. Exactly ceil(H/4) hex digits (an optional 0x prefix is allowed)."""
    if not isinstance(s, str):
        raise SatrnnInputError(f"state must be a hex string, got {type(s).__name__}")
    t = s.strip()
    if t[:2].lower() == "0x":
        t = t[2:]
    nd = (H + 3) // 4
    if not t or any(c not in _HEXDIGITS for c in t):
        raise SatrnnInputError(f"state {s!r} is not hexadecimal (expected {nd} hex digits for H={H})")
    if len(t) != nd:
        raise SatrnnInputError(f"state {s!r} has {len(t)} hex digits, expected {nd} for H={H}")
    v = int(t, 16)
    if v >> H:
        raise SatrnnInputError(f"state {s!r} sets bits beyond neuron {H - 1} (H={H})")
    return from_int(v, H)


def all_minus(H: int) -> np.ndarray:
    """The all -1 state (all bits 0)."""
    return np.zeros(n_words(H), dtype=np.uint64)


def all_plus(H: int) -> np.ndarray:
    """The all +1 state (bits 0..H-1 set): the sign of h = 0, since sigma(0) = 1."""
    return from_int((1 << H) - 1, H)


def popcount(words) -> np.ndarray | int:
    """Number of +1 neurons: an int for (W,), an int64 array (N,) for (N, W)."""
    w = np.asarray(words, dtype=np.uint64)
    c = np.bitwise_count(w).astype(np.int64).sum(axis=-1)
    return int(c) if w.ndim == 1 else c


def hamming(a, b) -> np.ndarray | int:
    """Number of differing neurons between packed states (broadcasting over leading axes)."""
    return popcount(np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64)))


def bit_weight_sums(words, H: int, weights: np.ndarray) -> np.ndarray:
    """(m,) uint64: for each row of packed states words (m, W), sum_j bit_j * weights[j] over j < H, in
    wrapping 64-bit arithmetic (weights (H,) uint64): a polynomial hash when weights are powers."""
    words = np.ascontiguousarray(words, dtype=np.uint64)
    out = np.empty(words.shape[0], dtype=np.uint64)
    _bit_weight_sums(words, H, np.ascontiguousarray(weights, dtype=np.uint64), out)
    return out


@njit
def _bit_weight_sums(words, H, weights, out):
    for r in range(words.shape[0]):
        acc = np.uint64(0)
        for j in range(H):
            acc += ((words[r, j >> 6] >> np.uint64(j & 63)) & np.uint64(1)) * weights[j]
        out[r] = acc


@njit
def popcount64(x):
    """Set bits of one uint64 (SWAR; njit-callable)."""
    x = np.uint64(x)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit
def trailing_zeros64(x):
    """Index of the lowest set bit of a nonzero uint64 (njit-callable): popcount of the bits below it."""
    x = np.uint64(x)
    return popcount64((x & (~x + np.uint64(1))) - np.uint64(1))


@njit
def _hamming_words(a, b):
    """Hamming distance between two packed states (W,) (njit-callable)."""
    d = 0
    for k in range(a.shape[0]):
        d += popcount64(a[k] ^ b[k])
    return d


@njit
def _popcount_words(a):
    """Set bits in a packed state (W,) (njit-callable)."""
    d = 0
    for k in range(a.shape[0]):
        d += popcount64(a[k])
    return d


@njit
def _get_bit(words, j):
    """1 if neuron j is +1 in the packed state, else 0 (njit-callable)."""
    return np.int64((words[j >> 6] >> np.uint64(j & 63)) & np.uint64(1))
