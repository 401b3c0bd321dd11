"""Training/evaluation text as bytes: x_t = data[t], unsigned 0..255."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.files import open_regular, read_regular

MAX_BYTES_LIMIT = 1 << 40          # the largest --max-bytes accepted (1 TiB)
DEFAULT_TEXT_CAP = 1 << 30         # without --max-bytes, a TEXT read into memory holds at most 1 GiB


def check_max_bytes(max_bytes, lo: int = 1) -> int | None:
    """Validate --max-bytes (None = not given): an integer in lo..2^40, else a one-line error."""
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) \
            or not lo <= max_bytes <= MAX_BYTES_LIMIT:
        raise SatrnnInputError(f"--max-bytes must be between {lo} and {MAX_BYTES_LIMIT}, got {max_bytes}")
    return int(max_bytes)


def load_text(path: str | os.PathLike, max_bytes: int | None = None, min_bytes: int = 2) -> np.ndarray:
    """Read a file as a uint8 array (optionally only its first `max_bytes`).

    At least `min_bytes` bytes are required (2 by default: one input and one byte to predict). Only regular
    files are read (a FIFO or device such as /dev/zero is refused without blocking); without `max_bytes` a
    file over DEFAULT_TEXT_CAP bytes is refused with a hint to pass --max-bytes.
    """
    p = Path(path)
    max_bytes = check_max_bytes(max_bytes)
    cap = DEFAULT_TEXT_CAP if max_bytes is None else max(max_bytes, DEFAULT_TEXT_CAP)
    data = read_regular(p, "text file", cap, limit=max_bytes,
                        too_big="; pass --max-bytes N to use its first N bytes")
    if len(data) == 0:
        raise SatrnnInputError(f"text file {p} is empty")
    if len(data) < min_bytes:
        raise SatrnnInputError(f"text file {p} has {len(data)} byte(s); at least {min_bytes} are needed")
    return np.frombuffer(data, dtype=np.uint8).copy()


def text_size(path: str | os.PathLike, max_bytes: int | None = None) -> int:
    """Bytes a streaming command will read from TEXT (regular files only), without reading them."""
    f, size = open_regular(path, "text file")
    f.close()
    mb = check_max_bytes(max_bytes)
    return size if mb is None else min(size, mb)


def iter_text(path: str | os.PathLike, max_bytes: int | None = None, chunk: int = 1 << 20):
    """Stream a regular TEXT file as uint8 arrays of at most `chunk` bytes (memory O(chunk))."""
    mb = check_max_bytes(max_bytes)
    f, size = open_regular(path, "text file")
    left = size if mb is None else min(size, mb)
    with f:
        while left > 0:
            try:
                data = f.read(min(chunk, left))
            except OSError as e:
                raise SatrnnInputError(f"cannot read text file {path}: {e.strerror}") from None
            if not data:
                break
            left -= len(data)
            yield np.frombuffer(data, dtype=np.uint8)


def parse_byte(value: str) -> int:
    """Parse a byte given as decimal (65), hex (0x41) or a single quoted character ('A' or A)."""
    v = value.strip()
    try:
        if len(v) == 1 and not v.isdigit():
            b = ord(v)
        elif len(v) == 3 and v[0] == v[2] and v[0] in "'\"":
            b = ord(v[1])
        else:
            b = int(v, 0)
    except (ValueError, TypeError):
        raise SatrnnInputError(f"not a byte: {value!r} (give 0-255, 0x00-0xff or one character)") from None
    if not 0 <= b <= 255:
        raise SatrnnInputError(f"byte {value!r} is outside 0-255")
    return b


def display_byte(b: int) -> str:
    """A byte shown as itself if printable ASCII (32..126), else as '.' (DEFINITIONS 0.11)."""
    return chr(b) if 32 <= b < 127 else "."
