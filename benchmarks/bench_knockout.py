"""Knockout of every neuron: exact readout-only fast path vs rerunning the forward per neuron, in one run.

Usage: python benchmarks/bench_knockout.py [MODEL TEXT] [--repeats N]
Without MODEL/TEXT a seeded random H=128 model and 1,024 random bytes are used.

Both paths give bit-identical bpc (checked here and in tests/test_redux.py). The slow path zeroes one Wy
column and calls rnn.forward.forward (dynamics + ordered double readout) per neuron. The fast path runs one
forward, caches the full logits, and per configuration subtracts the knocked-out column's products in the
exact cells (recomputing the rest in order), then does the softmax. Its floor is the softmax itself: every
configuration needs (n-1) * 256 libm exp calls, which the script times separately ("exp floor") so the
ratio can be read against it. Only ratios within one run mean anything.
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from common import best_time_and_result as best_time
from common import model_and_text
from satrnn.automaton.redux import ReadoutCache
from satrnn.rnn.forward import forward
from satrnn.rnn.numba_config import njit


def slow_knockout(model, xs):
    out = np.empty(model.H)
    for j in range(model.H):
        Wy = np.array(model.Wy)
        Wy[:, j] = 0.0
        out[j] = forward(model.replace(Wy=Wy), xs).bpc
    return out


def fast_knockout(model, xs):
    return ReadoutCache(model, xs).knockout_bpcs()


@njit
def _exp_floor(L, reps):
    s = 0.0
    for r in range(reps):
        for i in range(L.shape[0]):
            for o in range(L.shape[1]):
                s += math.exp(L[i, o] - r * 1e-9)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model", nargs="?")
    ap.add_argument("text", nargs="?")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    model, xs = model_and_text(a.model, a.text)
    small = xs[:8]
    fast_knockout(model, small)  # compile / load caches outside the timing
    forward(model, small)
    cache = ReadoutCache(model, xs)
    t_fast, fast = best_time(lambda: fast_knockout(model, xs), a.repeats)
    t_fast_cached, _ = best_time(lambda: cache.knockout_bpcs(), a.repeats)
    t_slow, slow = best_time(lambda: slow_knockout(model, xs), max(1, a.repeats - 2))
    L = -np.abs(cache.L - cache.L.max(axis=1, keepdims=True))
    _exp_floor(L[:2], 1)
    t_exp, _ = best_time(lambda: _exp_floor(L, model.H), 1)
    identical = np.array_equal(fast, slow)
    print(f"H={model.H}, {len(xs)} bytes, knockout of all {model.H} neurons; exact cells {cache.exact_fraction:.6f}")
    print(f"slow: forward per neuron        : {t_slow:8.3f} s")
    print(f"fast: one forward + cache + all : {t_fast:8.3f} s   ratio {t_slow / t_fast:7.1f}x")
    print(f"fast: all, cache already built  : {t_fast_cached:8.3f} s   ratio {t_slow / t_fast_cached:7.1f}x")
    print(f"exp floor ({model.H} x {L.shape[0]} x 256 libm exp, one thread): {t_exp:8.3f} s "
          f"(max ratio with exact libm softmax ~ {t_slow / t_exp:.1f}x single-threaded)")
    print(f"identical bpc: {identical}")
    if not identical:
        raise SystemExit("fast and slow knockout differ")


if __name__ == "__main__":
    main()
