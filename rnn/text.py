"""Training/evaluation text as bytes: x_t = data[t], unsigned 0..255."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import SatrnnInputError


def load_text(path: str | os.PathLike, max_bytes: int | None = None, min_bytes: int = 2) -> np.ndarray:
    """Read a file as a uint8 array (optionally only its first `max_bytes`).

    At least `min_bytes` bytes are required (2 by default: one input and one byte to predict).
    """
    p = Path(path)
    if not p.exists():
        raise SatrnnInputError(f"text file not found: {p}")
    if p.is_dir():
        raise SatrnnInputError(f"text path is a directory: {p}")
    if max_bytes is not None and max_bytes < 1:
        raise SatrnnInputError(f"--max-bytes must be >= 1, got {max_bytes}")
    try:
        with open(p, "rb") as f:
            data = f.read() if max_bytes is None else f.read(max_bytes)
    except OSError as e:
        raise SatrnnInputError(f"cannot read text file {p}: {e.strerror}") from None
    if len(data) == 0:
        raise SatrnnInputError(f"text file {p} is empty")
    if len(data) < min_bytes:
        raise SatrnnInputError(f"text file {p} has {len(data)} byte(s); at least {min_bytes} are needed")
    return np.frombuffer(data, dtype=np.uint8).copy()


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
