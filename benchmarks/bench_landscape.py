"""Exact and estimated attractor landscapes: time, memory and a naive baseline, in one run.

Usage: python benchmarks/bench_landscape.py [MODEL] [--H 20] [--naive-H 14] [--memory-H 24] [--starts 256]
       [--budget 1000000] [--input 0x20]
1. Exhaustive landscape of a seeded random H-neuron model (default 20: all 2^20 states) under one input on one
   thread: total, successor and labelling times.
2. The naive baseline at a smaller H (tests/naive.landscape_reference: a Python dict successor map built with
   SignAutomaton.step, cycles by walking, heights by walking): states/s of both at that H, and the ratio.
3. Peak memory of the exhaustive landscape at --memory-H (default 24) in a fresh subprocess (ru_maxrss minus
   the same process's RSS before the call).
4. With MODEL (e.g. the published weights): the estimated landscape, --starts starts under --input with
   --budget steps each, with its steps/s on all threads.
Machines are noisy (and shared): note the load; only ratios within one run mean anything.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numba
import numpy as np

from satrnn.automaton import landscape as ls
from satrnn.automaton.bitset import from_int, to_int
from satrnn.automaton.sign import SignAutomaton
from satrnn.rnn.model import load_model, random_model
from satrnn.rnn.text import parse_byte

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import naive
from common import best_time_and_result

MEMORY_PROBE = r"""
import resource, sys
from satrnn.automaton import landscape as ls
from satrnn.automaton.sign import SignAutomaton
from satrnn.rnn.model import random_model
H, x = int(sys.argv[1]), int(sys.argv[2])
A = SignAutomaton.from_model(random_model(H, 0), "exact")
ls.landscape(A, x) if H <= 12 else ls.landscape(SignAutomaton.from_model(random_model(8, 0), "exact"), x)  # warm
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()
before = rss()
land = ls.landscape(A, x)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(before, peak, land.n_states, len(land.attractors), land.seconds)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model", nargs="?")
    ap.add_argument("--H", type=int, default=20)
    ap.add_argument("--naive-H", type=int, default=14)
    ap.add_argument("--memory-H", type=int, default=24)
    ap.add_argument("--starts", type=int, default=256)
    ap.add_argument("--budget", type=int, default=1_000_000)
    ap.add_argument("--input", default="0x20")
    ap.add_argument("--semantics", default="exact")
    a = ap.parse_args()
    x = parse_byte(a.input)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} on {os.cpu_count()} cores; input 0x{x:02x}, "
          f"semantics {a.semantics}")

    # 1. exhaustive at H on one thread
    numba.set_num_threads(1)
    A = SignAutomaton.from_model(random_model(a.H, 0), a.semantics)
    ls.landscape(SignAutomaton.from_model(random_model(6, 0), a.semantics), x)  # compile / load the cache
    t, land = best_time_and_result(lambda: ls.landscape(A, x), 3)
    succ = np.empty(1 << a.H, dtype=np.int64)
    t_succ, _ = best_time_and_result(lambda: ls._successor_map(A, np.array([x], np.uint8), np.arange(a.H), 0, succ), 3)
    print(f"exhaustive H={a.H} (random_model({a.H}, 0)), 1 thread: {t:.3f} s for {land.n_states:,} states "
          f"({land.n_states / t:,.0f} states/s; successors {t_succ:.3f} s, labelling and summaries "
          f"{t - t_succ:.3f} s); {len(land.attractors)} attractors, entropy {land.basin_entropy:.4f} nats, "
          f"max height {len(land.height_histogram) - 1}")

    # 2. naive baseline at a smaller H, and ours at the same H
    Hn = a.naive_H
    An = SignAutomaton.from_model(random_model(Hn, 0), a.semantics)
    F = lambda s: naive.int_to_state(to_int(An.step(from_int(naive.state_to_int(s), Hn), x)), Hn)
    An.step(from_int(0, Hn), x)  # compile / load the step kernel outside the timing
    t0 = time.perf_counter()
    ref = naive.landscape_reference(F, Hn)
    t_naive = time.perf_counter() - t0
    t_ours, small = best_time_and_result(lambda: ls.landscape(An, x), 5)
    assert {int(att.rep, 16): att.basin_size for att in small.attractors} == ref["basin"], "results differ"
    print(f"naive dict reference H={Hn}: {t_naive:.3f} s ({(1 << Hn) / t_naive:,.0f} states/s); ours at H={Hn}: "
          f"{t_ours * 1e3:.2f} ms -> x{t_naive / t_ours:,.0f}")

    # 3. memory at memory-H in a subprocess
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(a.memory_H), str(x)], capture_output=True,
                         text=True, timeout=600, env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    if out.returncode:
        print("memory probe failed:", out.stderr.strip().splitlines()[-1:])
    else:
        before, peak, n, na, secs = out.stdout.split()
        print(f"exhaustive H={a.memory_H}: {int(n):,} states, {na} attractors, {float(secs):.2f} s on 1 thread; "
              f"peak RSS {int(peak) / 2**20:,.0f} MiB, {(int(peak) - int(before)) / 2**20:,.0f} MiB above the RSS "
              "before the "
              f"call ({(int(peak) - int(before)) / int(n):.1f} bytes/state)")

    # 4. estimated landscape of MODEL
    if a.model:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        model = load_model(a.model)
        Am = SignAutomaton.from_model(model, a.semantics)
        ls.estimate_landscape(Am, x, starts=2, budget=10, seed=0, bootstrap_resamples=100)  # compile
        t0 = time.perf_counter()
        est = ls.estimate_landscape(Am, x, starts=a.starts, budget=a.budget, seed=0)
        wall = time.perf_counter() - t0
        print(f"estimated landscape of {a.model} (H={model.H}), {a.starts} starts, budget {a.budget:,}, seed 0, "
              f"{numba.get_num_threads()} threads: {len(est.attractors)} attractors, unresolved {est.unresolved}, "
              f"entropy {est.basin_entropy:.4f} nats CI [{est.basin_entropy_ci[0]:.4f}, "
              f"{est.basin_entropy_ci[1]:.4f}]; "
              f"{est.steps:,} steps in {est.seconds:.2f} s = {est.steps_per_second:,.0f} steps/s (wall {wall:.2f} s "
              f"incl. bootstrap)")
        for att in est.attractors[:5]:
            print(f"  {att.rep} period {att.period:,} starts {att.starts} fraction {att.basin_fraction:.4f} "
                  f"CI [{att.basin_fraction_ci[0]:.4f}, {att.basin_fraction_ci[1]:.4f}]")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
