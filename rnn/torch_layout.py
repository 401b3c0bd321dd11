"""PyTorch's state-dict layout of a one-layer tanh Elman RNN, read from and written to safetensors (no torch).

Recognised (any module prefixes; `--ih`, `--hh`, ... name tensors where the names or shapes are ambiguous):
- optional `nn.Embedding`: `X.weight` (V, E); without it the input is one-hot and W_ih is (H, V);
- `nn.RNN(nonlinearity="tanh")`, one layer: `P.weight_ih_l0` (H, E or V), `P.weight_hh_l0` (H, H), and
  `P.bias_ih_l0`, `P.bias_hh_l0` (H,) (both, or neither for bias=False);
- the `nn.Linear` decoder: `D.weight` (V, H) and optionally `D.bias` (V,); 1 <= V <= 256.
Refused with one line saying why: more layers (`_l1`), LSTM / GRU (W_ih, W_hh with 4H / 3H rows, `weight_hr`),
bidirectional (`_reverse`), tensors that fit no role (e.g. a learned initial state: satrnn starts from h = 0).
A relu `nn.RNN` has the same tensors as a tanh one and cannot be told apart: satrnn assumes tanh.

The mapping to satrnn's ElmanRNN, which stays 256 bytes wide (vocab[v] is the byte of index v):
    Wh = fl32(W_hh)                       Wx[:, vocab[v]] = fl32(W_ih[:, v])      (one-hot input)
    bh = fl32(b_ih + b_hh)                Wx[:, vocab[v]] = fl32(W_ih @ E[v])     (embedding)
    Wy[vocab[v], :] = fl32(W_dec[v, :])   by[vocab[v]] = fl32(b_dec[v])
and zeros for the bytes outside the vocabulary. fl32(x) is the float32 nearest to the exact real value x,
ties to even (`rnn.exact_dot`): float16, bfloat16 and float32 tensors convert exactly, float64 values are
rounded once, the sums and dot products are exact before that one rounding. For float32 biases bh is therefore
bit for bit PyTorch's float32 `b_ih + b_hh` (IEEE addition is correctly rounded).

satrnn's float32 forward is its own arithmetic (in-order float32 sums, glibc tanhf), not PyTorch's, whose
float32 kernels may fuse multiply-adds and sum in another order: an imported model's states agree with a
float64 forward of the original tensors to within float32 rounding, not bit for bit with PyTorch.

Export writes the one-hot layout back (`rnn.weight_ih_l0` (H, V), ..., `decoder.weight`, `decoder.bias`, or
the tensor names recorded at import): W_ih = Wx's vocabulary columns, b_ih = bh and b_hh = -0.0 (adding -0.0
is the identity on every float, so importing the export gives the same bits), and the vocabulary in the
file's metadata (key `satrnn`: JSON with "vocab"), where a later import finds it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.exact_dot import f32_nearest_dot
from satrnn.rnn.files import atomic_write_bytes, read_regular
from satrnn.rnn.model import MAX_H, N_BYTES, ElmanRNN, check_vocab

MAX_E = MAX_H                                        # the widest embedding read
MAX_SAFETENSORS_BYTES = 8 * (2 * MAX_H * MAX_E + 4 * N_BYTES * MAX_H) + (1 << 20)   # all float64, with room
# safetensors metadata: one key (the format stores a hash map: one key keeps the file's bytes deterministic)
# holding a JSON object with "vocab" (the vocabulary's bytes) and "layout" (what was written).
METADATA_KEY = "satrnn"
NONE = "none"                                        # a flag value saying "this tensor is absent"

# role -> (command-line flag, what it is)
ROLES = {
    "weight_ih": ("--ih", "input-to-hidden weight P.weight_ih_l0 (H, E or V)"),
    "weight_hh": ("--hh", "hidden-to-hidden weight P.weight_hh_l0 (H, H)"),
    "bias_ih": ("--bias-ih", "input-to-hidden bias P.bias_ih_l0 (H,)"),
    "bias_hh": ("--bias-hh", "hidden-to-hidden bias P.bias_hh_l0 (H,)"),
    "embedding": ("--embedding", "embedding X.weight (V, E)"),
    "decoder": ("--decoder", "decoder weight D.weight (V, H)"),
    "decoder_bias": ("--decoder-bias", "decoder bias D.bias (V,)"),
}
OPTIONAL_ROLES = ("bias_ih", "bias_hh", "embedding", "decoder_bias")
EXPECTED = ("expected a one-layer tanh nn.RNN (P.weight_ih_l0 (H, E or V), P.weight_hh_l0 (H, H), P.bias_ih_l0 "
            "and P.bias_hh_l0 (H,)), a decoder D.weight (V, H) with optional D.bias (V,), and optionally an "
            "embedding X.weight (V, E), V <= 256")
MAPPING = ("bh = fl32(b_ih + b_hh); Wx[:, vocab[v]] = fl32(W_ih[:, v]) or fl32(W_ih @ E[v]); "
           "Wy[vocab[v]] = fl32(W_dec[v]); by[vocab[v]] = fl32(b_dec[v]); fl32 = float32 nearest the exact "
           "value, ties to even; bytes outside the vocabulary: zero")
_DEFAULT_NAMES = {"weight_ih": "rnn.weight_ih_l0", "weight_hh": "rnn.weight_hh_l0", "bias_ih": "rnn.bias_ih_l0",
                  "bias_hh": "rnn.bias_hh_l0", "decoder": "decoder.weight", "decoder_bias": "decoder.bias"}
_RNN_NAME = re.compile(r"^(?P<prefix>.*?)(?P<kind>weight|bias)_(?P<gate>ih|hh|hr)_l(?P<layer>\d+)(?P<rev>_reverse)?$")
_FLOAT_DTYPES = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}


# ---- reading ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tensor:
    """One tensor of a safetensors file: its dtype code (F32, BF16, ...), shape and raw little-endian bytes."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    data: bytes | bytearray

    def values64(self) -> np.ndarray:
        """The values as float64: exact for float16, bfloat16, float32 and float64."""
        if self.dtype == "BF16":   # numpy has no bfloat16: its bits are the top half of a float32's
            bits = np.frombuffer(self.data, dtype="<u2").astype(np.uint32) << np.uint32(16)
            a = bits.view(np.float32)
        elif self.dtype in ("F16", "F32", "F64"):
            a = np.frombuffer(self.data, dtype={"F16": "<f2", "F32": "<f4", "F64": "<f8"}[self.dtype])
        else:
            raise SatrnnInputError(f"tensor {self.name} has dtype {self.dtype}; expected float16, bfloat16, "
                                   "float32 or float64")
        return a.astype(np.float64).reshape(self.shape)


@dataclass(frozen=True)
class SafetensorsFile:
    path: Path
    sha256: str
    tensors: dict[str, Tensor]
    metadata: dict[str, str]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {n: t.shape for n, t in self.tensors.items()}


def read_safetensors(path: str | os.PathLike) -> SafetensorsFile:
    """Read a safetensors file (bounded: at most MAX_SAFETENSORS_BYTES; regular files only) with the
    `safetensors` package, keeping each tensor's raw bytes (numpy has no bfloat16)."""
    from safetensors import SafetensorError, deserialize

    p = Path(path)
    data = read_regular(p, "model file", MAX_SAFETENSORS_BYTES,
                        too_big=" (a one-layer RNN with H <= 4096 in float64); not a satrnn-sized model")
    try:
        entries = deserialize(bytes(data))
    except (SafetensorError, ValueError, TypeError, OverflowError) as e:
        raise SatrnnInputError(f"model file {p} is not a readable safetensors file ({_one_line(e)})") from None
    tensors = {name: Tensor(name, str(d["dtype"]), tuple(int(s) for s in d["shape"]), d["data"])
               for name, d in entries}
    # The header was validated by deserialize above; its optional __metadata__ is a str -> str map.
    (n,) = struct.unpack("<Q", data[:8])
    try:
        metadata = json.loads(data[8:8 + n]).get("__metadata__") or {}
    except (ValueError, UnicodeDecodeError, AttributeError):
        metadata = {}
    if not isinstance(metadata, dict):
        metadata = {}
    return SafetensorsFile(p, hashlib.sha256(data).hexdigest(), tensors, metadata)


def _one_line(e: Exception) -> str:
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__


# ---- recognising the layout ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TorchLayout:
    """Which tensor plays which role (None: absent) and the sizes found: H hidden, V symbols, E embedding."""

    weight_ih: str
    weight_hh: str
    bias_ih: str | None
    bias_hh: str | None
    embedding: str | None
    decoder: str
    decoder_bias: str | None
    H: int
    V: int
    E: int | None

    @property
    def kind(self) -> str:
        return "one-hot" if self.embedding is None else "embedding"

    def names(self) -> dict[str, str | None]:
        return {role: getattr(self, role) for role in ROLES}


def _listing(shapes: dict[str, tuple[int, ...]], limit: int = 12) -> str:
    items = [f"{n} {_shape(s)}" for n, s in sorted(shapes.items())]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more if items else "none"


def _shape(s: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, s)) + (",)" if len(s) == 1 else ")")


def recognise(shapes: dict[str, tuple[int, ...]], given: dict[str, str | None] | None = None,
              source: str = "model file") -> TorchLayout:
    """The roles of a state dict's tensors from their names and shapes.

    `given` maps roles (ROLES) to tensor names the user named (NONE: absent); the others are found.
    Anything not a one-layer tanh RNN with a linear decoder is a one-line SatrnnInputError.
    """
    given = {r: v for r, v in (given or {}).items() if v is not None}
    found = f"found: {_listing(shapes)}"
    for role, name in given.items():
        if role not in ROLES:
            raise ValueError(f"unknown role {role}")
        if name == NONE and role not in OPTIONAL_ROLES:
            raise SatrnnInputError(f"{ROLES[role][0]} cannot be '{NONE}': the {ROLES[role][1]} is required")
        if name != NONE and name not in shapes:
            raise SatrnnInputError(f"{ROLES[role][0]} {name}: no such tensor in {source}; {found}")
    _refuse_other_recurrences(shapes, source)

    # The recurrent module.
    ih = given.get("weight_ih") or _unique_suffix(shapes, "weight_ih_l0", "--ih", source, found)
    prefix = ih[: -len("weight_ih_l0")] if ih.endswith("weight_ih_l0") else None

    def partner(role: str, suffix: str, required: bool) -> str | None:
        if role in given:
            return None if given[role] == NONE else given[role]
        name = None if prefix is None else prefix + suffix
        if name in shapes:
            return name
        if required:
            raise SatrnnInputError(f"{source}: no {prefix or ''}{suffix} beside {ih}; name the "
                                   f"{ROLES[role][1]} with {ROLES[role][0]}; {found}")
        return None

    hh = partner("weight_hh", "weight_hh_l0", True)
    b_ih, b_hh = partner("bias_ih", "bias_ih_l0", False), partner("bias_hh", "bias_hh_l0", False)
    if (b_ih is None) != (b_hh is None):
        have, lack = (b_ih, "bias_hh") if b_hh is None else (b_hh, "bias_ih")
        raise SatrnnInputError(f"{source}: {have} has no partner {lack}: an nn.RNN has both biases or neither; "
                               f"name it with {ROLES[lack][0]}")
    H = _check_recurrent_shapes(shapes, ih, hh, b_ih, b_hh, source)
    n_in = shapes[ih][1]

    # The decoder and the optional embedding: every assignment that fits the shapes; all tensors must be used.
    rest = [n for n in shapes if n not in (ih, hh, b_ih, b_hh)]
    if "decoder" in given:
        decoders = [given["decoder"]]
        d_shape = shapes[decoders[0]]
        if len(d_shape) != 2 or d_shape[1] != H or not 1 <= d_shape[0] <= N_BYTES:
            raise SatrnnInputError(f"--decoder {decoders[0]} has shape {_shape(d_shape)}; expected (V, {H}) "
                                   f"with 1 <= V <= {N_BYTES}")
    else:
        decoders = [n for n in rest if len(shapes[n]) == 2 and shapes[n][1] == H and 1 <= shapes[n][0] <= N_BYTES]
    fits, misfits = [], []     # misfits: why a decoder candidate does not go with the tensors the user named
    for d in decoders:
        V = shapes[d][0]
        if "decoder_bias" in given:
            db = None if given["decoder_bias"] == NONE else given["decoder_bias"]
            if db is not None and shapes[db] != (V,):
                misfits.append(f"--decoder-bias {db} has shape {_shape(shapes[db])}; expected ({V},) for the "
                               f"decoder {d}")
                continue
        else:
            guess = d[: -len("weight")] + "bias" if d.endswith("weight") else None
            db = guess if guess in rest and shapes[guess] == (V,) else None
        if "embedding" in given:
            embs = [None if given["embedding"] == NONE else given["embedding"]]
            e = embs[0]
            if e is not None and shapes[e] != (V, n_in):
                misfits.append(f"--embedding {e} has shape {_shape(shapes[e])}; expected ({V}, {n_in}) (V from the "
                               f"decoder {d}, E from {ih})")
                continue
            if e is None and n_in != V:
                misfits.append(f"--embedding {NONE}: {ih} has {n_in} columns but the decoder {d} has {V} rows; a "
                               f"one-hot input needs W_ih of shape ({H}, {V})")
                continue
        else:
            embs = ([None] if n_in == V else []) + [n for n in rest if n not in (d, db) and shapes[n] == (V, n_in)]
        for e in embs:
            left = [n for n in rest if n not in (d, db, e)]
            fits.append((d, db, e, left))
    complete = [f for f in fits if not f[3]]
    if len(complete) > 1:
        options = "; ".join(f"decoder {d}" + (f" + {db}" if db else "") + (f", embedding {e}" if e else
                                                                          ", one-hot input")
                            for d, db, e, _ in complete[:4])
        raise SatrnnInputError(f"{source}: ambiguous layout, the tensors fit {len(complete)} ways ({options}); "
                               "name them with --decoder, --decoder-bias and --embedding (or --embedding none)")
    if not complete:
        if misfits and not fits:
            raise SatrnnInputError(f"{source}: {misfits[0]}")
        if fits:
            d, db, e, left = min(fits, key=lambda f: len(f[3]))
            raise SatrnnInputError(f"{source}: tensor(s) {_listing({n: shapes[n] for n in left})} fit no role "
                                   f"(satrnn reads no other module, and starts from h = 0); {EXPECTED}")
        raise SatrnnInputError(f"{source}: unknown layout: no decoder weight of shape (V, {H}) with V <= {N_BYTES}"
                               f"{'' if n_in <= N_BYTES else f' and no embedding for the {n_in}-wide W_ih'}; "
                               f"{found}; {EXPECTED}")
    d, db, e, _ = complete[0]
    if e is not None and n_in > MAX_E:
        raise SatrnnInputError(f"{source}: the embedding {e} is {n_in} wide; satrnn reads at most {MAX_E}")
    return TorchLayout(weight_ih=ih, weight_hh=hh, bias_ih=b_ih, bias_hh=b_hh, embedding=e, decoder=d,
                       decoder_bias=db, H=H, V=shapes[d][0], E=None if e is None else n_in)


def _refuse_other_recurrences(shapes, source: str) -> None:
    for name in sorted(shapes):
        m = _RNN_NAME.match(name)
        if m is None:
            continue
        if m["gate"] == "hr":
            raise SatrnnInputError(f"{source}: {name} is the projection of an LSTM (proj_size > 0); satrnn imports "
                                   "a one-layer tanh nn.RNN only")
        if m["rev"]:
            raise SatrnnInputError(f"{source}: {name} belongs to a bidirectional RNN (bidirectional=True); satrnn "
                                   "imports a one-direction, one-layer tanh nn.RNN only")
        if int(m["layer"]) > 0:
            raise SatrnnInputError(f"{source}: {name} is layer {int(m['layer']) + 1} of a multi-layer RNN "
                                   "(num_layers > 1); satrnn imports a one-layer tanh nn.RNN only")


def _unique_suffix(shapes, suffix: str, flag: str, source: str, found: str) -> str:
    names = sorted(n for n in shapes if n.endswith(suffix))
    if len(names) == 1:
        return names[0]
    if not names:
        raise SatrnnInputError(f"{source}: unknown layout: no *.{suffix} tensor (name it with {flag}); "
                               f"{found}; {EXPECTED}")
    raise SatrnnInputError(f"{source}: several recurrent modules ({', '.join(names)}); name one with {flag}")


def _check_recurrent_shapes(shapes, ih, hh, b_ih, b_hh, source: str) -> int:
    s_hh, s_ih = shapes[hh], shapes[ih]
    if len(s_hh) != 2 or s_hh[1] < 1 or s_hh[0] % s_hh[1]:
        raise SatrnnInputError(f"{source}: {hh} has shape {_shape(s_hh)}; expected (H, H)")
    H = s_hh[1]
    gates = s_hh[0] // H
    if len(s_ih) == 2 and s_ih[0] != H and s_ih[0] % H == 0 and gates == 1:
        gates = s_ih[0] // H
    if gates in (3, 4):
        kind = "an LSTM (4H rows: input, forget, cell, output gates)" if gates == 4 else \
            "a GRU (3H rows: reset, update, new gates)"
        raise SatrnnInputError(f"{source}: {hh} {_shape(s_hh)} and {ih} {_shape(s_ih)} are {kind}; satrnn "
                               "imports a one-layer tanh nn.RNN only")
    if gates != 1:
        raise SatrnnInputError(f"{source}: {hh} has shape {_shape(s_hh)}; expected (H, H)")
    if H > MAX_H:
        raise SatrnnInputError(f"{source}: {hh} has H = {H} hidden neurons; satrnn reads at most {MAX_H}")
    if len(s_ih) != 2 or s_ih[0] != H or s_ih[1] < 1:
        raise SatrnnInputError(f"{source}: {ih} has shape {_shape(s_ih)}; expected ({H}, E or V)")
    for b in (b_ih, b_hh):
        if b is not None and shapes[b] != (H,):
            raise SatrnnInputError(f"{source}: {b} has shape {_shape(shapes[b])}; expected ({H},)")
    return H


# ---- the mapping --------------------------------------------------------------------------------------

def _values(f: SafetensorsFile, name: str) -> np.ndarray:
    t = f.tensors[name]
    if t.dtype not in _FLOAT_DTYPES:
        raise SatrnnInputError(f"model file {f.path}: tensor {name} has dtype {t.dtype}; expected float16, "
                               "bfloat16, float32 or float64")
    a = t.values64()
    if not np.isfinite(a).all():
        raise SatrnnInputError(f"model file {f.path}: tensor {name} contains {int((~np.isfinite(a)).sum())} "
                               "NaN/Inf value(s)")
    return a


def _f32(a: np.ndarray, what: str) -> np.ndarray:
    """Round float64 values to the nearest float32 (ties to even); beyond the float32 range is refused."""
    with np.errstate(over="ignore"):
        r = a.astype(np.float32)
    if not np.isfinite(r).all():
        raise SatrnnInputError(f"{what} exceeds the float32 range (largest {float(np.max(np.abs(a))):.6g})")
    return r


def to_model(f: SafetensorsFile, layout: TorchLayout, vocab: tuple[int, ...] | None) -> ElmanRNN:
    """The ElmanRNN of a recognised layout (mapping in the module docstring); meta is left empty."""
    H, V = layout.H, layout.V
    idx = list(range(N_BYTES)) if vocab is None else list(vocab)
    if len(idx) != V:
        raise ValueError("vocabulary length must equal V")
    src = f"model file {f.path}:"
    Wh = _f32(_values(f, layout.weight_hh), f"{src} {layout.weight_hh}")
    if layout.bias_ih is None:
        bh = np.zeros(H, dtype=np.float32)
    else:
        b = np.stack([_values(f, layout.bias_ih), _values(f, layout.bias_hh)], axis=1)
        bh = f32_nearest_dot(b, np.ones((2, 1)))[:, 0]
        if not np.isfinite(bh).all():
            raise SatrnnInputError(f"{src} {layout.bias_ih} + {layout.bias_hh} exceeds the float32 range")
    W_ih = _values(f, layout.weight_ih)
    if layout.embedding is None:
        cols = _f32(W_ih, f"{src} {layout.weight_ih}")
    else:
        cols = f32_nearest_dot(W_ih, _values(f, layout.embedding).T)
        if not np.isfinite(cols).all():
            raise SatrnnInputError(f"{src} {layout.weight_ih} @ {layout.embedding} exceeds the float32 range")
    Wx = np.zeros((H, N_BYTES), dtype=np.float32)
    Wx[:, idx] = cols
    Wy = np.zeros((N_BYTES, H), dtype=np.float32)
    Wy[idx, :] = _f32(_values(f, layout.decoder), f"{src} {layout.decoder}")
    by = np.zeros(N_BYTES, dtype=np.float32)
    if layout.decoder_bias is not None:
        by[idx] = _f32(_values(f, layout.decoder_bias), f"{src} {layout.decoder_bias}")
    return ElmanRNN(Wx=Wx, Wh=Wh, bh=bh, Wy=Wy, by=by, vocab=vocab)


def _metadata_vocab(f: SafetensorsFile) -> tuple[int, ...] | None:
    raw = f.metadata.get(METADATA_KEY)
    if raw is None:
        return None
    try:
        info = json.loads(raw)
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
        if info.get("vocab") is None:
            return None
        v = check_vocab(info["vocab"])
    except (ValueError, TypeError) as e:   # SatrnnInputError is a ValueError
        raise SatrnnInputError(f"model file {f.path}: metadata {METADATA_KEY!r} holds no valid vocabulary "
                               f"({_one_line(e)})") from None
    return tuple(range(N_BYTES)) if v is None else v


def import_safetensors(path: str | os.PathLike, vocab: tuple[int, ...] | None = None,
                       names: dict[str, str | None] | None = None) -> ElmanRNN:
    """Import a PyTorch state dict saved as safetensors (mapping and refusals in the module docstring).

    `vocab`: the byte of each of the model's V indices (required when V < 256 unless the file's metadata
    holds `satrnn.vocab`, as satrnn's export writes). `names`: role -> tensor name (or NONE) where the
    layout is ambiguous. The model's meta["import"] records the provenance.
    """
    f = read_safetensors(path)
    layout = recognise(f.shapes(), names, source=f"model file {f.path}")
    stored = _metadata_vocab(f)
    if vocab is not None:
        vocab = tuple(vocab)
        if len(vocab) != layout.V:
            raise SatrnnInputError(f"--vocab has {len(vocab)} entries but the model has V = {layout.V} symbols "
                                   f"(decoder {layout.decoder} has {layout.V} rows)")
        if stored is not None and stored != vocab:
            raise SatrnnInputError(f"--vocab differs from the vocabulary stored in {f.path}'s metadata "
                                   "(written by satrnn export); drop --vocab to use the stored one")
        vocab_from = "--vocab"
    elif stored is not None:
        if len(stored) != layout.V:
            raise SatrnnInputError(f"model file {f.path}: its metadata's vocabulary has {len(stored)} entries but "
                                   f"the model has V = {layout.V} symbols")
        vocab, vocab_from = stored, "safetensors metadata (satrnn export)"
    elif layout.V == N_BYTES:
        vocab, vocab_from = tuple(range(N_BYTES)), "none given: index = byte (V = 256)"
    else:
        raise SatrnnInputError(f"model file {f.path} has V = {layout.V} symbols, not 256: give --vocab (a JSON "
                               f"list of the {layout.V} byte values, or a file of the {layout.V} characters)")
    model = to_model(f, layout, check_vocab(vocab))
    dtypes = {role: _FLOAT_DTYPES.get(f.tensors[n].dtype, f.tensors[n].dtype)
              for role, n in layout.names().items() if n is not None}
    provenance = {"format": "safetensors", "file": f.path.name, "sha256": f.sha256, "layout": layout.kind,
                  "tensors": layout.names(), "dtypes": dtypes, "H": layout.H, "V": layout.V, "E": layout.E,
                  "vocab": list(vocab), "vocab_from": vocab_from, "mapping": MAPPING}
    return model.replace(meta={"import": provenance})


# ---- export -------------------------------------------------------------------------------------------

def export_names(model: ElmanRNN) -> dict[str, str | None]:
    """Tensor names for export: those recorded at import, else rnn.* and decoder.* (also when the recorded
    names would collide). A bias the source did not have (None) stays out while it is all +0.0."""
    prov = model.meta.get("import")
    recorded = prov.get("tensors") if isinstance(prov, dict) else None
    names = dict(_DEFAULT_NAMES)
    if isinstance(recorded, dict):
        names = {role: recorded.get(role) for role in _DEFAULT_NAMES}
        if model.bh.view(np.uint32).any() and (names["bias_ih"] is None or names["bias_hh"] is None):
            names["bias_ih"], names["bias_hh"] = _DEFAULT_NAMES["bias_ih"], _DEFAULT_NAMES["bias_hh"]
        if model.by.view(np.uint32).any() and names["decoder_bias"] is None:
            names["decoder_bias"] = _DEFAULT_NAMES["decoder_bias"]
        used = [n for n in names.values() if n is not None]
        required = all(isinstance(names[r], str) and names[r] for r in ("weight_ih", "weight_hh", "decoder"))
        if not required or not all(isinstance(n, str) and n for n in used) or len(set(used)) != len(used):
            names = dict(_DEFAULT_NAMES)
    return names


def export_tensors(model: ElmanRNN) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) of the one-hot PyTorch layout of `model` (see the module docstring)."""
    idx = list(model.vocab_bytes())
    names = export_names(model)
    tensors = {names["weight_ih"]: np.ascontiguousarray(model.Wx[:, idx]),
               names["weight_hh"]: np.array(model.Wh),
               names["decoder"]: np.ascontiguousarray(model.Wy[idx, :])}
    if names["bias_ih"] is not None:
        tensors[names["bias_ih"]] = np.array(model.bh)
        tensors[names["bias_hh"]] = np.full(model.H, -0.0, dtype=np.float32)
    if names["decoder_bias"] is not None:
        tensors[names["decoder_bias"]] = np.ascontiguousarray(model.by[idx])
    layout = (f"one-layer tanh nn.RNN, one-hot input ({names['weight_ih']} is H x V), "
              f"{names['bias_hh'] or 'no bias'} = -0.0, decoder {names['decoder']}")
    info = {"layout": layout, "vocab": None if model.vocab is None else list(model.vocab)}
    metadata = {METADATA_KEY: json.dumps(info, sort_keys=True)}
    return tensors, metadata


def export_safetensors(model: ElmanRNN, path: str | os.PathLike) -> dict[str, str | None]:
    """Write `model` as a PyTorch state dict in safetensors (atomic); returns the tensor names used."""
    from safetensors.numpy import save

    tensors, metadata = export_tensors(model)
    payload = save(tensors, metadata=metadata)
    atomic_write_bytes(Path(path), lambda fh: fh.write(payload))
    return export_names(model)
