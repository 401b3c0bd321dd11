"""Startup of `satrnn explore` to its first interactive screen, measured from outside the process.

The parent starts `satrnn explore MODEL TEXT --screenshot ...` (headless, so it runs without a terminal) in a
child Python process whose only addition is a wrapper that prints the wall-clock time when the main screen is
up and interactive (ExploreApp._show_first); startup = that time minus the moment the parent started the child
(interpreter start, imports, the one-time computation, the first screen), and the CPU time the child used until
then (less sensitive to other processes on a shared machine). Best and median of N warm runs (one untimed run
first fills numba's cache). Prints the load average: the machine is shared.

Usage: python benchmarks/bench_explore_startup.py MODEL TEXT [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import sys, time
from satrnn.explore import app as ex
orig = ex.ExploreApp._show_first
def shown(self):
    orig(self)
    sys.stderr.write(f"SATRNN-READY {time.time():.6f} {time.process_time():.6f}\n")
    sys.stderr.flush()
ex.ExploreApp._show_first = shown
from satrnn.cli import main
sys.exit(main(sys.argv[1:]))
"""


def one(model: str, text: str, out: str) -> tuple[float, float, float]:
    """(seconds to the first interactive screen, CPU seconds of the process until then (all its threads),
    seconds for the whole screenshot command)."""
    t0 = time.time()
    r = subprocess.run([sys.executable, "-c", CHILD, "explore", model, text, "--screenshot", out, "--view", "graph"],
                       capture_output=True, text=True, timeout=1800)
    t1 = time.time()
    if r.returncode:
        raise SystemExit(f"explore failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    ready = [line.split()[1:] for line in r.stderr.splitlines() if line.startswith("SATRNN-READY")]
    return float(ready[0][0]) - t0, float(ready[0][1]), t1 - t0


def main() -> int:
    ap = argparse.ArgumentParser(description="satrnn explore startup time")
    ap.add_argument("model")
    ap.add_argument("text")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "shot.svg")
        one(a.model, a.text, out)  # warm numba's cache
        runs = [one(a.model, a.text, out) for _ in range(a.runs)]
    ready = [r for r, _, _ in runs]
    cpu = [c for _, c, _ in runs]
    total = [t for _, _, t in runs]
    print(f"startup to the first interactive screen (warm): best {min(ready):.2f} s, median "
          f"{statistics.median(ready):.2f} s over {len(runs)} runs (CPU time of the process until then: best "
          f"{min(cpu):.2f} s); whole --screenshot command: best {min(total):.2f} s; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
