"""All numba options in one place.

`njit` compiles with exact IEEE semantics: no fastmath (so no FMA contraction and no reassociation of
float32 sums, which the bit-exact reference forward depends on) and `cache=True` so a warm process does not
recompile. `njit_parallel` is the same with `parallel=True`, for kernels whose parallel loops write disjoint
outputs (results never depend on the thread count). `njit_leaf` is `njit` without reference counting
(numba's `_nrt=False`): for small hot functions that take arrays, allocate nothing and call no function that
takes arrays; numba would otherwise increment and decrement every array argument on each call (atomic
operations that cost as much as a sign-automaton step).

The on-disk cache lives in a folder named after a hash of the package's kernel sources, `<base>/satrnn-<hash>`
(base: $NUMBA_CACHE_DIR if set, else the `__pycache__` of the `satrnn` package). Numba keys a cached kernel
on its own file only, so a kernel that calls a changed function in another module (every run loop calls
`automaton.sign._step`) would otherwise keep loading the old machine code after an upgrade or an edit.
"""
import functools
import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

import numba

_CACHE_GENERATIONS = 3      # hashed cache folders kept side by side (older ones are removed)


# The layers that hold kernels. The application above them (the rest of the `satrnn` package: CLI, report,
# warm-up, sweeps) defines no kernel (tests/test_layers.py checks it), so editing it never empties the cache.
KERNEL_PACKAGES = ("satrnn.rnn", "satrnn.automaton", "satrnn.analyses")


def _source_digest() -> str:
    """sha256 (16 hex digits) of the .py files of the KERNEL_PACKAGES that mention numba (only those can hold
    code a kernel calls), so editing a command does not recompile."""
    h = hashlib.sha256()
    for name in KERNEL_PACKAGES:
        spec = importlib.util.find_spec(name)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for path in sorted(Path(root).rglob("*.py")):
                src = path.read_bytes()
                if b"numba" in src:
                    h.update(str(path.relative_to(root)).encode())
                    h.update(src)
    return h.hexdigest()[:16]


def _cache_dir() -> Path:
    base = os.environ.get("NUMBA_CACHE_DIR")
    if base:
        return Path(base) / f"satrnn-{_source_digest()}"
    spec = importlib.util.find_spec("satrnn")
    pkg = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations \
        else Path(__file__).resolve().parent
    return pkg / "__pycache__" / "numba" / f"satrnn-{_source_digest()}"


def _prune(current: Path) -> None:
    """Remove all but the newest few hashed cache folders beside `current` (best effort)."""
    try:
        olds = sorted((p for p in current.parent.glob("satrnn-*") if p != current and p.is_dir()),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for p in olds[_CACHE_GENERATIONS - 1:]:
        shutil.rmtree(p, ignore_errors=True)


def _use_hashed_cache() -> None:
    d = _cache_dir()
    try:
        fresh = not d.exists()
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return            # unwritable: numba falls back to its own locations
    if fresh:
        _prune(d)
    numba.config.CACHE_DIR = str(d)


_use_hashed_cache()

NJIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)

njit = functools.partial(numba.njit, **NJIT_OPTIONS)
njit_parallel = functools.partial(numba.njit, parallel=True, **NJIT_OPTIONS)
prange = numba.prange
njit_leaf = functools.partial(numba.njit, _nrt=False, **NJIT_OPTIONS)


def concurrent_parallel_regions_ok() -> bool:
    """True when two threads may launch parallel kernels at once: numba's omp and tbb threading layers, not
    workqueue (the one left where neither OpenMP nor TBB is installed, e.g. a minimal Debian: it aborts the
    process). Starts numba's thread pool if no parallel kernel has run yet; False if that cannot be known."""
    try:
        from numba.np.ufunc import parallel
        parallel._launch_threads()
        return numba.threading_layer() != "workqueue"
    except Exception:  # noqa: BLE001 - any failure to tell means: do not risk it
        return False
