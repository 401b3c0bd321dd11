"""What the benchmark scripts share: best-of-N timing and the model/text they run on."""
from __future__ import annotations

import time

import numpy as np

from satrnn.rnn.model import load_model, random_model
from satrnn.rnn.text import load_text


def best_time_and_result(fn, repeats: int):
    """(best wall time in seconds over `repeats` calls, the last call's result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def best_time(fn, repeats: int) -> float:
    """Best wall time in seconds over `repeats` calls."""
    return best_time_and_result(fn, repeats)[0]


def model_and_text(model_path: str | None, text_path: str | None):
    """The given model and text, or a seeded random H = 128 model on 1,024 random bytes."""
    if model_path:
        return load_model(model_path), load_text(text_path)
    return random_model(128, 0), np.random.default_rng(0).integers(0, 256, 1024, dtype=np.uint8)


def published_or_random():
    """(model, text, label): the published weights and 1,024 bytes from SATRNN_DATA (default ../shared/data
    next to the repository), or a seeded random H = 128 model on random bytes when they are absent."""
    import os
    from pathlib import Path
    data = Path(os.environ.get("SATRNN_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    if (data / "sat_model.bin").is_file() and (data / "enwik_1024.txt").is_file():
        return load_model(data / "sat_model.bin"), np.fromfile(data / "enwik_1024.txt", dtype=np.uint8), "published"
    return random_model(128, 0), np.random.default_rng(0).integers(0, 256, 1024, dtype=np.uint8), "random H=128"
