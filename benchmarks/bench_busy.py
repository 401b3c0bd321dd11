"""Small exhaustive runs on a busy machine: NUMBA_NUM_THREADS=2 must be no slower than 1 (issue 13).

Starts its own busy process (a pure-Python spin loop holding one core), then times
`cycles.exhaustive_cycles` on seeded random models in fresh processes with NUMBA_NUM_THREADS=1 and =2
(best of R calls each, after a warm-up call that loads the compiled kernels). Small work runs serially
below `automaton.slices.SERIAL_WORK` work units (2^18 steps at H = 128); larger work uses both threads.

    python benchmarks/bench_busy.py [--H 10 18] [--repeats R]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
from satrnn.automaton import cycles as cyc
from satrnn.automaton.sign import SignAutomaton
from satrnn.rnn.model import random_model
H, R = int(sys.argv[1]), int(sys.argv[2])
A = SignAutomaton.from_model(random_model(H, 0), "exact")
seq = np.array([65])
cyc.exhaustive_cycles(A, seq)
best = float("inf")
for _ in range(R):
    t0 = time.perf_counter()
    ex = cyc.exhaustive_cycles(A, seq)
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"seconds": best, "cycles": int(ex.reps.shape[0])}))
"""

SPIN = "while True: pass"


def timed(H: int, threads: int, repeats: int) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    p = subprocess.run([sys.executable, "-c", CHILD, str(H), str(repeats)], env=env, capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        sys.exit(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"child failed ({p.returncode})")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--H", type=int, nargs="+", default=[10, 18])
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args(argv)
    busy = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        print(f"busy process pid {busy.pid} holds a core; load {os.getloadavg()[0]:.2f}")
        for H in a.H:
            r1, r2 = timed(H, 1, a.repeats), timed(H, 2, a.repeats)
            assert r1["cycles"] == r2["cycles"]
            print(f"exhaustive H={H:2d} ({1 << H:>9,} states): 1 thread {1e3 * r1['seconds']:9.2f} ms, "
                  f"2 threads {1e3 * r2['seconds']:9.2f} ms  -> 2 threads / 1 thread = "
                  f"{r2['seconds'] / r1['seconds']:.2f}x the time")
    finally:
        busy.kill()
        busy.wait()
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
