"""The Elman RNN value and its two file formats.

Shapes (H hidden neurons, 256 bytes): Wx (H, 256), Wh (H, H), bh (H,), Wy (256, H), by (256,), all float32.
`Wh[i, j]` is the weight from neuron j to neuron i; `Wx[i, b]` from byte b to neuron i; `Wy[o, j]` from
neuron j to output byte o.

Formats:
- `.bin`: the papers' raw little-endian float32 stream Wx, Wh, bh, Wy, by (H^2 + 513 H + 256 floats);
  H is inferred from the file size.
- `.npz`: named arrays plus `format_version` and an optional JSON `meta` string (e.g. a neuron index map);
  a model with a vocabulary also holds `vocab` (uint8, the byte of each index) and is written as
  format_version 2, so a satrnn that cannot honour the vocabulary refuses the file instead of misreading it.

Vocabulary: a model imported from a V-symbol PyTorch model (rnn/torch_layout.py) stays 256 bytes wide. `vocab`
lists the byte of each of its V indices; a byte outside it has a zero Wx column, a zero Wy row and a zero by
entry, and `readout_bias64()` gives it the bias -inf, so the double readout assigns it probability exactly 0.
`vocab=None` means all 256 bytes in byte order (the papers' model and every model before vocabularies).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.files import NpzReader, atomic_write_bytes, open_regular, read_regular

N_BYTES = 256
NPZ_FORMAT_VERSION = 1         # written for a model without a vocabulary (and by training checkpoints)
NPZ_VOCAB_FORMAT_VERSION = 2   # written for a model with a vocabulary; the newest version read
MATRICES = ("Wx", "Wh", "bh", "Wy", "by")
MAX_H = 4096   # the largest hidden size satrnn reads (and trains): bounds every model read


def n_floats_for(H: int) -> int:
    """Number of float32 values in a raw `.bin` model with H hidden neurons."""
    return H * H + 513 * H + 256


def hidden_size_for(n_floats: int) -> int | None:
    """The H with n_floats_for(H) == n_floats, or None when no H fits."""
    if n_floats < n_floats_for(1):
        return None
    # Positive root of H^2 + 513 H + (256 - n) = 0, then check the integer neighbours exactly.
    root = (-513 + math.sqrt(513 * 513 - 4 * (256 - n_floats))) / 2
    for H in (int(root) - 1, int(root), int(root) + 1):
        if H >= 1 and n_floats_for(H) == n_floats:
            return H
    return None


MAX_MODEL_BYTES = 4 * n_floats_for(MAX_H)
# A training checkpoint is also a model .npz: the model plus float64 params, m and v (3 * 8 bytes per weight).
MAX_NPZ_BYTES = 28 * n_floats_for(MAX_H) + (1 << 24)


TANH_SEMANTICS = ("fdlibm", "cr")   # the float32 tanh of the forward; computed by rnn.elementary
DEFAULT_TANH = "fdlibm"
TANH_CODES = {"fdlibm": 0, "cr": 1}
TANH_DESCRIPTIONS = {
    "fdlibm": "fdlibm tanhf (bit-identical to glibc <= 2.40, the papers' arithmetic)",
    "cr": "correctly rounded tanhf (as glibc >= 2.41, CORE-MATH)",
}


def tanh_code(tanh: str) -> int:
    """The kernels' integer code of a tanh semantics name; one clear error for an unknown name."""
    try:
        return TANH_CODES[tanh]
    except (KeyError, TypeError):
        raise SatrnnInputError(f"unknown tanh semantics {tanh!r} (use one of {', '.join(TANH_SEMANTICS)})") \
            from None


def _shapes(H: int) -> dict[str, tuple[int, ...]]:
    return {"Wx": (H, N_BYTES), "Wh": (H, H), "bh": (H,), "Wy": (N_BYTES, H), "by": (N_BYTES,)}


def check_vocab(vocab) -> tuple[int, ...] | None:
    """A vocabulary as a tuple of distinct bytes (the byte of each index), or None for all 256 in byte order.

    The identity order of all 256 bytes is normalised to None; anything else that is not 1 to 256 distinct
    integers 0..255 is a one-line input error.
    """
    if vocab is None:
        return None
    try:
        items = list(vocab)
    except TypeError:
        raise SatrnnInputError(f"vocabulary must be a sequence of byte values, got {type(vocab).__name__}") from None
    if not 1 <= len(items) <= N_BYTES:
        raise SatrnnInputError(f"vocabulary has {len(items)} entries; it needs 1 to {N_BYTES}")
    out = []
    for i, b in enumerate(items):
        if isinstance(b, (bool, np.bool_)) or not isinstance(b, (int, np.integer)) or not 0 <= b < N_BYTES:
            raise SatrnnInputError(f"vocabulary entry {i} is {b!r}, not a byte value 0-255")
        out.append(int(b))
    seen: dict[int, int] = {}
    for i, b in enumerate(out):
        if b in seen:
            raise SatrnnInputError(f"vocabulary entries {seen[b]} and {i} are both byte {b} (0x{b:02x}); "
                                   "each byte may appear once")
        seen[b] = i
    t = tuple(out)
    return None if t == tuple(range(N_BYTES)) else t


@dataclass(frozen=True)
class ElmanRNN:
    """An immutable Elman RNN: h_t = tanh(bh + Wx[:, x_t] + Wh h_{t-1}); logits = by + Wy h_t.

    Arrays are float32, C-contiguous and read-only. `meta` carries optional provenance (JSON-able dict).
    `tanh` names the float32 tanh every forward of this model uses (`TANH_SEMANTICS`:
    "fdlibm", the papers' glibc tanhf and the default, or "cr", correctly rounded); it is a choice of
    arithmetic, not a weight, so files do not store it (`with_tanh` makes the same model under another).
    `vocab` is the byte of each index of the model's vocabulary (None: all 256 bytes); bytes outside it must
    have a zero Wx column, Wy row and by entry, and get probability 0 from the readout (`readout_bias64`).
    """

    Wx: np.ndarray
    Wh: np.ndarray
    bh: np.ndarray
    Wy: np.ndarray
    by: np.ndarray
    meta: dict = field(default_factory=dict, compare=False)
    tanh: str = "fdlibm"
    vocab: tuple[int, ...] | None = None

    def __post_init__(self):
        tanh_code(self.tanh)
        arrays = {}
        for name in MATRICES:
            a = getattr(self, name)
            if not isinstance(a, np.ndarray):
                raise SatrnnInputError(f"model array {name} is not a numpy array")
            if a.dtype != np.float32:
                raise SatrnnInputError(f"model array {name} has dtype {a.dtype}, expected float32")
            arrays[name] = a
        H = arrays["bh"].shape[0] if arrays["bh"].ndim == 1 else -1
        if H < 1:
            raise SatrnnInputError(f"model array bh has shape {arrays['bh'].shape}, expected (H,)")
        for name, shape in _shapes(H).items():
            if arrays[name].shape != shape:
                raise SatrnnInputError(
                    f"model array {name} has shape {arrays[name].shape}, expected {shape} for H={H}")
        for name in MATRICES:
            a = arrays[name]
            if not np.isfinite(a).all():
                bad = int((~np.isfinite(a)).sum())
                raise SatrnnInputError(f"model array {name} contains {bad} NaN/Inf value(s)")
            a = np.array(a, dtype=np.float32, order="C", copy=True)
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        vocab = check_vocab(self.vocab)
        object.__setattr__(self, "vocab", vocab)
        if vocab is not None:
            outside = np.flatnonzero(~self.vocab_mask())
            nonzero = {"Wx column": (self.Wx[:, outside] != 0).any(axis=0),
                       "Wy row": (self.Wy[outside, :] != 0).any(axis=1),
                       "by entry": self.by[outside] != 0}
            for what, bad in nonzero.items():
                if bad.any():
                    b = int(outside[np.argmax(bad)])
                    raise SatrnnInputError(f"model has a nonzero {what} for byte {b} (0x{b:02x}), which is "
                                           f"outside its vocabulary of {len(vocab)} bytes")

    @property
    def H(self) -> int:
        """Number of hidden neurons."""
        return int(self.bh.shape[0])

    @property
    def n_params(self) -> int:
        return n_floats_for(self.H)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in MATRICES}

    def replace(self, **changes) -> ElmanRNN:
        """A new model with some arrays (or meta, tanh, vocab) replaced; arrays are copied and validated."""
        kw = {**self.arrays(), "meta": dict(self.meta), "tanh": self.tanh, "vocab": self.vocab}
        kw.update(changes)
        return ElmanRNN(**kw)

    def with_tanh(self, tanh: str | None) -> ElmanRNN:
        """This model under another tanh semantics (None: unchanged); shares the read-only arrays."""
        if tanh is None or tanh == self.tanh:
            return self
        tanh_code(tanh)
        twin = object.__new__(ElmanRNN)
        for name in MATRICES:
            object.__setattr__(twin, name, getattr(self, name))
        object.__setattr__(twin, "meta", dict(self.meta))
        object.__setattr__(twin, "tanh", tanh)
        object.__setattr__(twin, "vocab", self.vocab)
        return twin

    def equal_bits(self, other: ElmanRNN) -> bool:
        """True iff every weight has the identical float32 bit pattern (distinguishes -0.0 from +0.0) and
        the vocabularies are equal."""
        return self.H == other.H and self.vocab == other.vocab and all(
            np.array_equal(getattr(self, n).view(np.uint32), getattr(other, n).view(np.uint32))
            for n in MATRICES)

    # ---- vocabulary ----------------------------------------------------------------------------
    def vocab_bytes(self) -> tuple[int, ...]:
        """The byte of each vocabulary index (all 256 in byte order when the model has no vocabulary)."""
        return tuple(range(N_BYTES)) if self.vocab is None else self.vocab

    def vocab_mask(self) -> np.ndarray:
        """bool (256,): True for the bytes inside the vocabulary (all True without one)."""
        mask = np.zeros(N_BYTES, dtype=bool)
        mask[list(self.vocab_bytes())] = True
        return mask

    def readout_bias64(self) -> np.ndarray:
        """float64 (256,): dbl(by[o]) for bytes o inside the vocabulary, -inf outside.

        The double readout's logits start from this bias, so a byte outside the vocabulary gets
        exp(-inf) = 0, an output probability of exactly 0, whatever Wy h is (its Wy row is zero anyway).
        """
        b = self.by.astype(np.float64)
        if self.vocab is not None:
            b[~self.vocab_mask()] = -np.inf
        return b

    # ---- I/O ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike) -> ElmanRNN:
        return load_model(path)

    def save(self, path: str | os.PathLike) -> None:
        save_model(self, path)


def from_flat(flat: np.ndarray, H: int, meta: dict | None = None) -> ElmanRNN:
    """Split a float32 vector in the papers' order Wx, Wh, bh, Wy, by into a model."""
    arrays, off = {}, 0
    for name, shape in _shapes(H).items():
        size = int(np.prod(shape))
        arrays[name] = flat[off:off + size].reshape(shape)
        off += size
    return ElmanRNN(**arrays, meta=meta or {})


def to_flat(model: ElmanRNN) -> np.ndarray:
    """The papers' float32 order Wx, Wh, bh, Wy, by as one little-endian vector."""
    return np.concatenate([getattr(model, n).ravel() for n in MATRICES]).astype("<f4")


def _nearby_sizes(n_bytes: int) -> str:
    n = n_bytes // 4
    lo = 1
    while n_floats_for(lo + 1) <= n:
        lo += 1
    cands = [H for H in (lo - 1, lo, lo + 1, lo + 2) if H >= 1]
    return ", ".join(f"H={H}: {4 * n_floats_for(H)} bytes" for H in cands)


def load_model(path: str | os.PathLike) -> ElmanRNN:
    """Load a `.bin` (raw) or `.npz` model; raises SatrnnInputError with one clear line on bad input.

    Reads are bounded: a `.bin` larger than the largest valid model (H = MAX_H) is refused before reading,
    an `.npz` member is read only after its header's shape fits; devices, FIFOs and sockets are refused
    without blocking.
    """
    p = Path(path)
    f, size = open_regular(p, "model file")
    with f:
        try:
            head = f.read(4)
        except OSError as e:
            raise SatrnnInputError(f"cannot read model file {p}: {e.strerror}") from None
    if head.startswith(b"PK"):
        return _load_npz(p)
    if p.suffix.lower() == ".npz":
        raise SatrnnInputError(f"model file {p} has the .npz suffix but is not a zip archive")
    return _load_bin(p)


def _load_bin(p: Path) -> ElmanRNN:
    data = read_regular(p, "model file", MAX_MODEL_BYTES,
                        too_big=f" (the largest valid model, H={MAX_H}); not a satrnn model")
    if len(data) == 0:
        raise SatrnnInputError(f"model file {p} is empty")
    if len(data) % 4:
        raise SatrnnInputError(
            f"model file {p} has {len(data)} bytes, not a whole number of float32 values "
            f"(nearby valid sizes: {_nearby_sizes(len(data))})")
    n = len(data) // 4
    H = hidden_size_for(n)
    if H is None:
        raise SatrnnInputError(
            f"model file {p} has {n} float32 values, which fits no hidden size H (H^2+513H+256); "
            f"nearby valid sizes: {_nearby_sizes(len(data))}")
    flat = np.frombuffer(data, dtype="<f4").astype(np.float32)
    return from_flat(flat, H, meta={"source": str(p), "format": "bin"})


def _load_npz(p: Path) -> ElmanRNN:
    with NpzReader(p, "model file", MAX_NPZ_BYTES) as z:
        missing = [n for n in MATRICES if n not in z]
        if missing:
            raise SatrnnInputError(f"model file {p} lacks array(s) {', '.join(missing)}")
        version = z.scalar_int("format_version") if "format_version" in z else None
        if version is not None and not 0 <= version <= NPZ_VOCAB_FORMAT_VERSION:
            raise SatrnnInputError(f"model file {p} has format_version {version}; this satrnn reads 0 to "
                                   f"{NPZ_VOCAB_FORMAT_VERSION}")
        bh = z.array("bh", MAX_H, kinds="f")
        if bh.ndim != 1 or bh.shape[0] < 1:
            raise SatrnnInputError(f"model file {p}: bh has shape {bh.shape}, expected (H,) with 1 <= H <= {MAX_H}")
        shapes = _shapes(int(bh.shape[0]))
        arrays = {n: (bh if n == "bh" else z.array(n, int(np.prod(shapes[n])), shape=shapes[n], kinds="f"))
                  for n in MATRICES}
        meta = z.json_object("meta") if "meta" in z else {}
        vocab = None
        if "vocab" in z:
            v = z.array("vocab", N_BYTES, kinds="u")
            if v.ndim != 1:
                raise SatrnnInputError(f"model file {p}: vocab has shape {v.shape}, expected (V,)")
            vocab = tuple(int(b) for b in v)
            if not vocab:
                raise SatrnnInputError(f"model file {p}: vocab is empty")
    meta.setdefault("source", str(p))
    meta["format"] = "npz"
    try:
        return ElmanRNN(**arrays, meta=meta, vocab=vocab)
    except SatrnnInputError as e:
        raise SatrnnInputError(f"model file {p}: {e}") from None


def save_model(model: ElmanRNN, path: str | os.PathLike) -> None:
    """Save as `.bin` (raw, papers' format; meta is dropped; no vocabulary) or `.npz` (self-describing), by
    suffix."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".bin":
        if model.vocab is not None:
            raise SatrnnInputError(f"cannot save model to {p}: the raw .bin format has no room for the "
                                   f"model's vocabulary of {len(model.vocab)} bytes; use a .npz file name")
        atomic_write_bytes(p, lambda f: f.write(to_flat(model).tobytes()))
    elif suffix == ".npz":
        meta = {k: v for k, v in model.meta.items() if k not in ("source", "format")}
        payload = dict(model.arrays(), format_version=np.int64(NPZ_FORMAT_VERSION),
                       meta=np.array(json.dumps(meta, sort_keys=True)))
        if model.vocab is not None:
            payload.update(vocab=np.array(model.vocab, dtype=np.uint8),
                           format_version=np.int64(NPZ_VOCAB_FORMAT_VERSION))
        atomic_write_bytes(p, lambda f: np.savez(f, **payload))
    else:
        raise SatrnnInputError(f"cannot save model to {p}: use a .bin or .npz file name")


def random_model(H: int, seed: int, scale: float = 1.0) -> ElmanRNN:
    """A seeded random model (used by tests and benchmarks); weights ~ N(0, scale^2/H) float32."""
    if H < 1:
        raise SatrnnInputError(f"hidden size must be >= 1, got {H}")
    rng = np.random.default_rng(seed)
    s = scale / math.sqrt(H)
    f = lambda *shape: (rng.standard_normal(shape) * s).astype(np.float32)
    return ElmanRNN(Wx=f(H, N_BYTES) * np.float32(4.0), Wh=f(H, H) * np.float32(2.0), bh=f(H),
                    Wy=f(N_BYTES, H) * np.float32(4.0), by=f(N_BYTES), meta={"random_seed": seed})
