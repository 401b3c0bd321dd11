"""Aggregate Boolean steps/s of the Brent cycle search with 1 and 2 threads, and a naive baseline, in one run.

Usage: python benchmarks/bench_cycles.py [MODEL [TEXT]] [--starts N] [--budget STEPS] [--semantics S]
Without MODEL a seeded random H = 128 model is used. The input is x_42 of TEXT (or byte 47). The baseline is
the obvious search: a Python loop calling SignAutomaton.step and remembering every visited state in a dict.
Machines are noisy (and shared): only ratios within one run mean anything.
"""
from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from satrnn.automaton import cycles as cyc
from satrnn.automaton.bitset import to_hex
from satrnn.automaton.sign import SignAutomaton
from satrnn.rnn.model import load_model, random_model
from satrnn.rnn.numba_config import njit_parallel, prange
from satrnn.rnn.text import load_text


@njit_parallel
def _spin(n, out):
    """Pure arithmetic, 8 independent rows: its 2-thread speed-up shows how many cores were free."""
    for i in prange(out.shape[0]):
        s = 0.0
        for k in range(n):
            s += np.sqrt(k + i)
        out[i] = s


def spin_speedup() -> float:
    out = np.zeros(8)
    _spin(10, out)
    t = {}
    for threads in (1, 2):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        t0 = time.perf_counter()
        _spin(20_000_000, out)
        t[threads] = time.perf_counter() - t0
    return t[1] / t[2]


def naive_dict_search(A, start, x, max_steps):
    """Steps taken by the dict search (stops at the first repeated state or max_steps)."""
    seen = {}
    s = start.copy()
    for t in range(max_steps):
        key = s.tobytes()
        if key in seen:
            return t
        seen[key] = t
        s = A.step(s, x)
    return max_steps


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model", nargs="?")
    ap.add_argument("text", nargs="?")
    ap.add_argument("--starts", type=int, default=8)
    ap.add_argument("--budget", type=int, default=200_000)
    ap.add_argument("--naive-steps", type=int, default=20_000)
    ap.add_argument("--semantics", default="exact")
    a = ap.parse_args()
    model = load_model(a.model) if a.model else random_model(128, 0)
    x = int(load_text(a.text)[42]) if a.text else 47
    A = SignAutomaton.from_model(model, a.semantics)
    starts = cyc.random_starts(model.H, a.starts, 0)
    seq = np.array([[x]], dtype=np.uint8)
    cyc.find_cycles(A, starts[:1], seq, budget=10)  # compile / load the cache outside the timing
    rates = {}
    results = None
    for threads in (1, 2):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        r = cyc.find_cycles(A, starts, seq, budget=a.budget)
        rates[threads] = r.steps.sum() / r.seconds
        key = (r.status.tolist(), r.mu.tolist(), r.lam.tolist(), [r.rep_hex(i) for i in range(len(r.status))])
        assert results is None or key == results, "results differ between thread counts"
        results = key
    calib = spin_speedup()
    naive_dict_search(A, starts[0], x, 10)  # compile / load the step kernel outside the timing
    t0 = time.perf_counter()
    n = naive_dict_search(A, starts[0], x, a.naive_steps)
    naive_rate = n / (time.perf_counter() - t0)
    print(f"model H={model.H} ({a.model or 'random_model(128, 0)'}), input {x}, semantics {a.semantics}, "
          f"{a.starts} starts, budget {a.budget:,} steps, start[0] {to_hex(starts[0], model.H)}")
    print(f"resolved {sum(results[0])}/{a.starts}, periods {sorted(set(v for v in results[2] if v > 0))}")
    print(f"Brent, 1 thread : {rates[1]:>12,.0f} steps/s")
    print(f"Brent, 2 threads: {rates[2]:>12,.0f} steps/s   (x{rates[2] / rates[1]:.2f} vs 1 thread)")
    print(f"calibration: a pure-arithmetic prange loop ran x{calib:.2f} faster on 2 threads in this run "
          f"(about 2 = two free cores; about 1 = the machine was busy)")
    print(f"naive dict search (Python loop over SignAutomaton.step): {naive_rate:>12,.0f} steps/s "
          f"-> Brent 1 thread x{rates[1] / naive_rate:.1f}, 2 threads x{rates[2] / naive_rate:.1f}")


if __name__ == "__main__":
    main()
