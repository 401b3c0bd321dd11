"""A model's vocabulary: reading `--vocab`, and refusing text with a byte outside it.

A vocabulary is the byte of each index of a V-symbol model (see `rnn.model.check_vocab`; None = all 256 bytes).
`--vocab` takes
- an inline JSON list (the argument starts with `[`): byte values 0-255 and/or one-character strings whose
  code point is below 256 (`json.dumps(chars)` of a training script's `chars = sorted(set(text))` works);
- a `.json` file holding such a list;
- any other file: its bytes, exactly as stored (latin-1: one byte per character, a final newline included),
  are the V characters in index order.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.files import read_regular
from satrnn.rnn.model import N_BYTES, ElmanRNN, check_vocab
from satrnn.rnn.text import iter_text

MAX_VOCAB_FILE_BYTES = 1 << 16


def parse_vocab(value: str) -> tuple[int, ...]:
    """The vocabulary named by a `--vocab` value (inline JSON list, .json file or a file of V characters)."""
    if value.lstrip().startswith("["):
        return _from_json(value, "--vocab")
    p = Path(value)
    data = read_regular(p, "vocabulary file", MAX_VOCAB_FILE_BYTES)
    if not data:
        raise SatrnnInputError(f"vocabulary file {p} is empty")
    if p.suffix.lower() == ".json":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SatrnnInputError(f"vocabulary file {p} is not UTF-8 JSON") from None
        return _from_json(text, f"vocabulary file {p}")
    return _checked(list(data), f"vocabulary file {p} (its bytes, a final newline included)")


def _from_json(text: str, what: str) -> tuple[int, ...]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        raise SatrnnInputError(f"{what} is not a valid JSON list ({e.msg} at char {e.pos})") from None
    if not isinstance(items, list):
        raise SatrnnInputError(f"{what} must be a JSON list of byte values, got a {type(items).__name__}")
    out = []
    for i, v in enumerate(items):
        if isinstance(v, str) and len(v) == 1 and ord(v) < N_BYTES:
            out.append(ord(v))
        elif isinstance(v, int) and not isinstance(v, bool) and 0 <= v < N_BYTES:
            out.append(v)
        else:
            raise SatrnnInputError(f"{what}: entry {i} is {v!r}; expected a byte value 0-255 or one character "
                                   "with a code point below 256")
    return _checked(out, what)


def _checked(items: list[int], what: str) -> tuple[int, ...]:
    try:
        v = check_vocab(items)
    except SatrnnInputError as e:
        raise SatrnnInputError(f"{what}: {e}") from None
    return tuple(range(N_BYTES)) if v is None else v


def show_byte(b: int) -> str:
    """A byte as a short readable token: the character if printable ASCII, else an escape (\\n, 0x80)."""
    if 32 <= b < 127:
        return repr(chr(b))
    return {9: r"'\t'", 10: r"'\n'", 13: r"'\r'"}.get(b, f"0x{b:02x}")


def show_vocab(vocab: tuple[int, ...] | None, limit: int = 96) -> str:
    """The vocabulary's characters in index order for display (None: all 256 bytes)."""
    if vocab is None:
        return "all 256 bytes"
    more = f" ... ({len(vocab) - limit} more)" if len(vocab) > limit else ""
    return f"{len(vocab)} bytes: {bytes(vocab[:limit]).decode('latin-1')!r}{more}"


def check_text_in_vocab(model: ElmanRNN, xs: np.ndarray, source: str | os.PathLike = "text",
                        offset: int = 0) -> None:
    """Refuse (one line) a text with a byte outside the model's vocabulary, naming the first such position.

    `offset` is the position of xs[0] in the whole text (for chunks of a stream). No-op without a vocabulary.
    """
    if model.vocab is None:
        return
    xs = np.asarray(xs, dtype=np.uint8)
    bad = ~model.vocab_mask()[xs]
    if bad.any():
        t = int(np.argmax(bad))
        b = int(xs[t])
        raise SatrnnInputError(f"{source}: byte {b} ({show_byte(b)}) at position {offset + t:,} is outside the "
                               f"model's vocabulary ({show_vocab(model.vocab, limit=40)})")


def check_text_file_in_vocab(model: ElmanRNN, path: str | os.PathLike, max_bytes: int | None = None) -> None:
    """`check_text_in_vocab` over a TEXT file read in chunks (memory O(chunk)); no-op without a vocabulary."""
    if model.vocab is None:
        return
    done = 0
    for chunk in iter_text(path, max_bytes):
        check_text_in_vocab(model, chunk, f"text file {path}", offset=done)
        done += chunk.shape[0]


def check_byte_in_vocab(model: ElmanRNN, b: int, what: str = "input byte") -> None:
    """Refuse (one line) a single input byte outside the model's vocabulary."""
    if model.vocab is not None and b not in model.vocab:
        raise SatrnnInputError(f"{what} {b} ({show_byte(b)}) is outside the model's vocabulary "
                               f"({show_vocab(model.vocab, limit=40)})")
