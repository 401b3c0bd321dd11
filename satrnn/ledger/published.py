"""Where the published weights and text are on this machine, for the commands satrnn prints.

The claims are judged only on the papers' published weights and text (recognised by the sha256 of their
content, `satrnn.ledger.claims.Subject`). When another model is reported on, the report tells how to check
the claims: `verify_published_command()` is `satrnn verify MODEL TEXT` with the real paths of the published
files when they can be found ($SATRNN_DATA, the current folder, ./data, ../shared/data), checked by content,
and otherwise says where they come from.
"""
from __future__ import annotations

import hashlib
import os
import shlex
from pathlib import Path

from satrnn.ledger.claims import PUBLISHED_TEXT_SHA256, PUBLISHED_WEIGHTS_SHA256

MODEL_NAME = "sat_model.bin"
TEXT_NAME = "enwik_1024.txt"
SOURCE = "the papers' companion repository inimino/hutter (commit 86fbef8)"
_MAX_BYTES = 1 << 20     # the published files are 329,216 and 1,024 bytes


def _candidates() -> list[Path]:
    dirs = []
    env = os.environ.get("SATRNN_DATA")
    if env:
        dirs.append(Path(env))
    cwd = Path.cwd()
    dirs += [cwd, cwd / "data", cwd.parent / "shared" / "data", cwd / "shared" / "data"]
    seen, out = set(), []
    for d in dirs:
        try:
            key = d.resolve()
        except OSError:
            continue
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _sha256_of(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_BYTES:
            return None
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def find_published() -> tuple[Path, Path] | None:
    """(model, text) absolute paths of the published files if found in one of the usual folders, else None."""
    for d in _candidates():
        m, t = d / MODEL_NAME, d / TEXT_NAME
        # a raw .bin file is exactly the float32 content the weights digest covers (Wx, Wh, bh, Wy, by)
        if _sha256_of(m) == PUBLISHED_WEIGHTS_SHA256 and _sha256_of(t) == PUBLISHED_TEXT_SHA256:
            return Path(os.path.abspath(m)), Path(os.path.abspath(t))
    return None


def verify_published_command() -> tuple[str, str]:
    """(command, note): `satrnn verify` on the published files with their real paths when found (note says
    where), else with placeholder paths (note says where the files come from)."""
    found = find_published()
    if found is not None:
        m, t = found
        return f"satrnn verify {shlex.quote(str(m))} {shlex.quote(str(t))}", f"the published files found in {m.parent}"
    return (f"satrnn verify PATH/{MODEL_NAME} PATH/{TEXT_NAME}",
            f"the published files were not found in $SATRNN_DATA, ., ./data or ../shared/data; they come from {SOURCE}")
