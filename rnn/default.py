"""The default model: shipped with satrnn, reproducible by retraining, cached when rebuilt.

The published weights cannot ship with satrnn, so every command given no MODEL/TEXT uses this model and
the bundled corpus `rnn/data/default_corpus.txt` (1,024 bytes of a mediawiki-like XML preamble written for
this project). The model is a pure function of DEFAULT_RECIPE and the corpus. Its weights ship as
`rnn/data/default_model.npz` (what training produced; tests/test_default.py retrains with the recipe and
requires the same bits), so a fresh install needs no training. Where it comes from, in order:
1. a valid `default_model.npz` in the cache directory (`satrnn default --rebuild` writes one):
   `$SATRNN_HOME` if set, else `$XDG_CACHE_HOME/satrnn`, else `~/.cache/satrnn`;
2. the shipped file;
3. training (a few seconds on one core), cached in the cache directory.

A file is used only if its meta records the current recipe digest, the corpus digest and a digest of its
own weights; otherwise the next source is tried (a changed recipe or trainer retrains). Building holds an
exclusive lock file in the cache directory, and the file is written by atomic rename, so concurrent builds
never see a partial file and train at most once each in turn (the second finds the first's result after
the lock). Regenerate the shipped file with `SATRNN_HOME=$(mktemp -d) satrnn default --rebuild` and copy
the cache file over rnn/data/default_model.npz (the test then checks it again).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN, load_model, save_model, to_flat
from satrnn.rnn.record import Record, key
from satrnn.rnn.train import Recipe, text_digest, train

DEFAULT_RECIPE = Recipe(H=128, epochs=200, bptt=50, lr=0.003, lr_min=0.0, optimizer="adam", schedule="cosine",
                        clip=1.0, seed=42, precision="f64")
MODEL_FILE = "default_model.npz"
LOCK_FILE = "default_model.lock"
KIND = "satrnn-default-model"


def default_corpus() -> np.ndarray:
    """The bundled corpus as uint8 bytes (read through importlib.resources: works installed or editable)."""
    data = resources.files("satrnn.rnn.data").joinpath("default_corpus.txt").read_bytes()
    return np.frombuffer(data, dtype=np.uint8).copy()


def cache_dir() -> Path:
    """Where the default model is cached (not created here)."""
    env = os.environ.get("SATRNN_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "satrnn"


def default_model_path() -> Path:
    return cache_dir() / MODEL_FILE


def weights_digest(model: ElmanRNN) -> str:
    """sha256 of the float32 weights in the papers' order (detects a damaged or edited cache file)."""
    return hashlib.sha256(to_flat(model).tobytes()).hexdigest()


def bundled_model_resource():
    """The shipped default model file (an importlib.resources Traversable)."""
    return resources.files("satrnn.rnn.data").joinpath(MODEL_FILE)


def check_bundled(recipe: Recipe, xs: np.ndarray) -> tuple[ElmanRNN | None, str]:
    """(model, "ok") if the shipped file holds the model of this recipe and corpus, else (None, reason)."""
    with resources.as_file(bundled_model_resource()) as p:
        return check_cached(Path(p), recipe, xs)


def _expected(recipe: Recipe, xs: np.ndarray) -> dict:
    return {"kind": KIND, "recipe_sha256": recipe.digest(), "text_sha256": text_digest(xs)}


_verified: dict = {}   # (path, mtime_ns, size, inode, expected digests) -> model already verified in this process


def check_cached(path: Path, recipe: Recipe, xs: np.ndarray) -> tuple[ElmanRNN | None, str]:
    """(model, "ok") if `path` holds the model of this recipe and corpus, else (None, reason)."""
    try:
        st = path.stat()
    except OSError:
        return None, "no cached model"
    if not path.is_file():
        return None, "no cached model"
    expected = _expected(recipe, xs)
    key = (str(path), st.st_mtime_ns, st.st_size, st.st_ino, tuple(sorted(expected.items())))
    if key in _verified:
        return _verified[key], "ok"
    try:
        model = load_model(path)
    except SatrnnInputError as e:
        return None, f"unreadable cache ({e})"
    for k, want in expected.items():
        if model.meta.get(k) != want:
            return None, f"cache is stale ({k} differs)"
    if model.meta.get("weights_sha256") != weights_digest(model):
        return None, "cache is damaged (weights digest differs)"
    _verified.clear()
    _verified[key] = model
    return model, "ok"


@contextlib.contextmanager
def _exclusive_lock(directory: Path):
    """Hold an exclusive advisory lock on a file in `directory` (no-op where fcntl is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: atomic rename alone still prevents partial files
        yield
        return
    lock = directory / LOCK_FILE
    try:
        f = open(lock, "a+b")
    except OSError as e:
        raise SatrnnInputError(f"cannot open the cache lock {lock} ({e.strerror}); remove it or set SATRNN_HOME "
                               "to another directory") from None
    with f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _ensure_dir(d: Path) -> Path:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SatrnnInputError(f"cannot create the cache directory {d} ({e.strerror}); "
                               "set SATRNN_HOME to a writable directory") from None
    if not os.access(d, os.W_OK):
        raise SatrnnInputError(f"cache directory {d} is not writable; set SATRNN_HOME to a writable directory")
    return d


@dataclass(frozen=True)
class ModelSource(Record):
    """Where `build_model` got the model: `path`, the file it was read from (the cache or the shipped file);
    `status`, "cached" | "bundled" | "trained"; `seconds` (wall time of the call); `reason`, why it was
    trained (None unless status is "trained")."""
    path: str
    status: str
    seconds: float
    reason: str | None = key(omit_none=True, default=None)


def build_model(progress_factory=None, recipe: Recipe = DEFAULT_RECIPE, xs: np.ndarray | None = None,
                directory: Path | None = None, rebuild: bool = False) -> tuple[ElmanRNN, ModelSource]:
    """Load the cached model of (recipe, corpus) or train and cache it. Returns (model, `ModelSource`).

    `rebuild` retrains even if a valid cache or shipped file exists. `progress_factory()` must return a rich
    Progress (a context manager); it is only called when training.
    """
    xs = default_corpus() if xs is None else xs
    d = cache_dir() if directory is None else Path(directory)
    path = d / MODEL_FILE
    t0 = time.perf_counter()
    if not rebuild:
        model, reason = check_cached(path, recipe, xs)
        if model is not None:
            return model, ModelSource(str(path), "cached", time.perf_counter() - t0)
        model, _ = check_bundled(recipe, xs)
        if model is not None:
            return model, ModelSource(str(bundled_model_resource()), "bundled", time.perf_counter() - t0)
    _ensure_dir(d)
    with _exclusive_lock(d):
        if not rebuild:
            # another process may have built it while we waited for the lock
            model, reason = check_cached(path, recipe, xs)
            if model is not None:
                return model, ModelSource(str(path), "cached", time.perf_counter() - t0)
        else:
            reason = "rebuild requested"
        extra = {**_expected(recipe, xs), "corpus": "rnn/data/default_corpus.txt", "corpus_bytes": int(len(xs)),
                 "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if progress_factory is not None:
            with progress_factory() as prog:
                result = train(xs, recipe, progress=prog, extra_meta=extra,
                               label="training the default model")
        else:
            result = train(xs, recipe, extra_meta=extra)
        model = result.model
        model = model.replace(meta={**model.meta, "weights_sha256": weights_digest(model)})
        save_model(model, path)
    return load_model(path), ModelSource(str(path), "trained", time.perf_counter() - t0, reason)


def default_model_and_text(progress_factory=None) -> tuple[ElmanRNN, np.ndarray]:
    """The default model and the bundled corpus it was trained on (the shipped weights unless rebuilt)."""
    model, _ = build_model(progress_factory)
    return model, default_corpus()
