"""Cold and warm compile time of the numba kernels a `satrnn` command uses, per kernel, in one run.

Usage: python benchmarks/bench_compile.py [--] SATRNN-ARGS...   (default: report MODEL TEXT from SATRNN_DATA)

Runs the command twice in fresh subprocesses: first with an empty NUMBA_CACHE_DIR (cold: every kernel is
compiled, as on a new user's machine), then again with the same cache (warm: kernels are loaded). For each
run it prints the wall time and, from numba's "numba:compile" events, the time of every compilation by
kernel, exclusive of the compilations nested inside it (a kernel calling another compiles the callee
first). On a shared machine the numbers move with the load; `uptime` is printed with them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
import numba.core.event as ev
rec = ev.RecordingListener()
ev.register("numba:compile", rec)
t0 = time.perf_counter()
from satrnn.cli import main
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    try:
        rc = main(sys.argv[1:])
    except SystemExit as e:
        rc = e.code
wall = time.perf_counter() - t0
from satrnn.warmup import exclusive_compile_seconds
excl = {m.rsplit(".", 1)[-1] + "." + n: v for (m, n), v in exclusive_compile_seconds(rec.buffer).items()}
print(json.dumps({"rc": rc, "wall": wall, "compile": excl}))
"""


def run_once(args, cache_dir) -> dict:
    # in-process compiles only (the first-run warm-up would move them into worker processes)
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, SATRNN_NO_WARMUP="1")
    p = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"command failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        data = Path(os.environ.get("SATRNN_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
        argv = ["report", str(data / "sat_model.bin"), str(data / "enwik_1024.txt")]
    print(f"satrnn {' '.join(argv)}   (load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f})")
    with tempfile.TemporaryDirectory(prefix="satrnn-numba-cache-") as cache:
        res = {}
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            r = run_once(argv, cache)
            r["process"] = time.perf_counter() - t0
            res[label] = r
    cold, warm = res["cold"], res["warm"]
    names = sorted(cold["compile"], key=lambda n: -cold["compile"][n])
    print(f"{'kernel':40s} {'cold s':>8s} {'warm s':>8s}")
    for n in names:
        if cold["compile"][n] >= 0.05:
            print(f"{n:40s} {cold['compile'][n]:8.2f} {warm['compile'].get(n, 0.0):8.2f}")
    for label in ("cold", "warm"):
        r = res[label]
        print(f"{label}: process {r['process']:.1f} s (command {r['wall']:.1f} s), "
              f"compile/load {sum(r['compile'].values()):.1f} s over {len(r['compile'])} kernels")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
