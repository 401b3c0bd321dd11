"""First-run kernel warm-up: compile the report's numba kernels in parallel worker processes.

On a fresh machine the numba cache is empty and `satrnn report` would compile its kernels one after the
other in one process. `ensure_compiled` instead starts one worker process per core; the workers compile
disjoint shares of the (kernel, signature) list in `warmup_kernels.KERNELS` with `dispatcher.compile(sig)`
and write the shared on-disk cache, and the report then only loads machine code. Kernels are compiled in
levels: a kernel calling other kernels waits until its callees are in the cache (level = 1 + the highest
level of its callees), so no two workers compile the same callee.

The list is recorded, not written by hand: `python -m satrnn.warmup --record [MODEL TEXT]` runs
the report (default model, and MODEL TEXT if given) and regenerates `warmup_kernels.py` from the
dispatchers' signatures and the callee libraries linked into each kernel. `tests/test_warmup.py` checks
that after a warm-up the report compiles nothing.

A marker file in the (hashed) cache folder records that the warm-up ran for this list; once present,
`ensure_compiled` returns at once. A failing worker is not an error: the report compiles what is missing.
"""
from __future__ import annotations

import base64
import concurrent.futures as cf
import contextlib
import hashlib
import importlib
import multiprocessing
import os
import pickle
import sys
from pathlib import Path

import numba
from numba.core import types as _nbtypes

import satrnn.rnn.numba_config  # noqa: F401 - sets the hashed cache folder, where the marker and kernels go
from satrnn import warmup_kernels

_TYPES_NS = {k: getattr(_nbtypes, k) for k in dir(_nbtypes) if not k.startswith("_")}


_PICKLED = "pickle:"


def _signature(sig: str) -> tuple:
    """The tuple of numba types recorded as its repr, or pickled (as numba's cache index does) when the
    repr does not rebuild it."""
    if sig.startswith(_PICKLED):
        return pickle.loads(base64.b64decode(sig[len(_PICKLED):]))
    return eval(sig, _TYPES_NS)


def _marker() -> Path:
    digest = hashlib.sha256(repr(warmup_kernels.KERNELS).encode()).hexdigest()[:16]
    return Path(numba.config.CACHE_DIR) / f"warmup-{digest}.done"


def _compile_one(entry) -> str:
    """Worker: compile one (module, name, signature repr, level, seconds) entry into the shared cache."""
    module, name, sig, _level, _cost = entry
    disp = getattr(importlib.import_module(module), name)
    disp.compile(_signature(sig))
    return f"{module.rsplit('.', 1)[-1]}.{name}"


def ensure_compiled(show_progress: bool = True, workers: int | None = None, force: bool = False) -> bool:
    """Compile every recorded kernel into the cache in parallel if that has not happened yet for this cache.

    SATRNN_NO_WARMUP=1 turns it off (unless `force`); on one core there is nothing to gain. Returns True when
    it compiled. Never raises for a compile failure (the report then compiles that kernel on use).
    """
    marker = _marker()
    if marker.exists() or not warmup_kernels.KERNELS or (os.environ.get("SATRNN_NO_WARMUP") and not force):
        return False
    n = workers or min(os.cpu_count() or 1, 8)
    if n < 2 and not force:
        return False
    levels: dict[int, list] = {}
    for e in warmup_kernels.KERNELS:
        levels.setdefault(e[3], []).append(e)
    from satrnn.clikit import progress  # rich only when it compiles
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    ok = True
    with (progress() if show_progress else contextlib.nullcontext()) as bar:
        task = bar.add_task("compiling kernels (first run only)", total=len(warmup_kernels.KERNELS)) \
            if bar is not None else None
        pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=ctx)
        try:
            for lv in sorted(levels):
                # longest first so the last kernel of a level does not start late
                futs = [pool.submit(_compile_one, e) for e in sorted(levels[lv], key=lambda e: -e[4])]
                for f in cf.as_completed(futs):
                    try:
                        f.result()
                    except Exception:  # noqa: BLE001 - the report compiles that kernel itself
                        ok = False
                    if bar is not None:
                        bar.advance(task)
        finally:  # Ctrl-C: the workers got the signal too; do not wait for queued kernels
            pool.shutdown(wait=True, cancel_futures=True)
    if ok:
        try:
            marker.touch()
        except OSError:
            pass
    return True


def exclusive_compile_seconds(events) -> dict[tuple, float]:
    """Seconds per (module, kernel name) from numba "numba:compile" events (a RecordingListener's buffer),
    exclusive of the compilations nested inside (a kernel calling another compiles the callee first)."""
    cost: dict[tuple, float] = {}
    stack: list = []
    for ts, e in events:
        d = e.data["dispatcher"]
        if e.is_start:
            stack.append([(d.py_func.__module__, d.py_func.__name__), ts, 0.0])
        else:
            k, t1, inner = stack.pop()
            dt = ts - t1
            cost[k] = cost.get(k, 0.0) + dt - inner
            if stack:
                stack[-1][2] += dt
    return cost


# ---- recording ---------------------------------------------------------------------------------------

def _record(argv_runs: list[list[str]]) -> list[tuple]:
    """Run the report for each argv and return the sorted (module, name, sig repr, level, s) entries."""
    import io

    import numba.core.event as ev

    from satrnn.cli import main
    os.environ["SATRNN_NO_WARMUP"] = "1"
    rec = ev.RecordingListener()
    ev.register("numba:compile", rec)
    for argv in argv_runs:
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main(["report", *argv])
            except SystemExit:
                pass
    cost = exclusive_compile_seconds(rec.buffer)  # for ordering only
    found: dict[tuple, tuple] = {}  # (module, name, sig) -> (dispatcher, sig, library names)
    lib_owner: dict[str, tuple] = {}
    for mname, mod in list(sys.modules.items()):
        if not mname.startswith("satrnn."):
            continue
        for attr, d in list(vars(mod).items()):
            if isinstance(d, numba.core.dispatcher.Dispatcher) and d.py_func.__module__ == mname \
                    and d.py_func.__name__ == attr:
                for sig in d.signatures:
                    r = repr(tuple(sig))
                    try:
                        same = eval(r, _TYPES_NS) == tuple(sig)
                    except Exception:  # noqa: BLE001 - any failure to rebuild the repr: pickle it instead
                        same = False
                    if not same:  # a named tuple of tables or a literal: numba's own cache pickles them too
                        r = _PICKLED + base64.b64encode(pickle.dumps(tuple(sig))).decode()
                    lib = d.overloads[tuple(sig)].library
                    lib_owner[lib.name] = (mname, attr, r)
                    found[(mname, attr, r)] = lib
    level: dict[tuple, int] = {}

    def lv(key, depth=0):
        if key in level:
            return level[key]
        if depth > 50:
            return 0
        callees = [lib_owner[lib.name] for lib in getattr(found[key], "_linking_libraries", ())
                   if lib.name in lib_owner and lib_owner[lib.name] != key]
        level[key] = 1 + max((lv(c, depth + 1) for c in callees), default=-1)
        return level[key]

    return sorted((m, a, r, lv((m, a, r)), round(cost.get((m, a), 0.0), 2)) for (m, a, r) in found)


def _write(entries: list[tuple]) -> Path:
    path = Path(__file__).with_name("warmup_kernels.py")
    lines = ['"""Generated by `python -m satrnn.warmup --record`; do not edit by hand.',
             "",
             "(module, kernel, signature as the repr of a tuple of types, level, compile seconds when",
             'recorded) of every kernel `satrnn report` compiles; see satrnn/warmup.py."""',
             "KERNELS = ("]
    lines += [f"    {e!r}," for e in entries]
    lines.append(")")
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--record"] and not os.environ.get("SATRNN_WARMUP_RECORDING"):
        # Record from an empty cache: a kernel loaded from the cache leaves its callees' dispatchers without
        # signatures, so a warm recording would miss them (numba's cache stores the linked caller whole).
        import subprocess
        import tempfile
        with tempfile.TemporaryDirectory(prefix="satrnn-record-") as empty:
            env = dict(os.environ, NUMBA_CACHE_DIR=empty, SATRNN_WARMUP_RECORDING="1")
            return subprocess.call([sys.executable, "-m", "satrnn.warmup", *argv], env=env)
    if argv[:1] == ["--record"]:
        runs = [[]] + ([argv[1:3]] if len(argv) >= 3 else [])
        entries = _record(runs)
        print(f"{len(entries)} kernels -> {_write(entries)}")
        return 0
    ensure_compiled(show_progress=True, force=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
