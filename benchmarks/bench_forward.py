"""Forwards per second: the Numba float32 reference kernel vs a numpy matvec loop, in one run.

Usage: python benchmarks/bench_forward.py [MODEL TEXT] [--repeats N]
Prints a ratio (machines are noisy; only the ratio within one run means anything).
"""
from __future__ import annotations

import argparse

import numpy as np

from satrnn.rnn.forward import run_states

from common import best_time, model_and_text


def numpy_forward(model, xs):
    """Straightforward float32 numpy loop: h = tanh(bh + Wx[:, x] + Wh @ h) (BLAS order, numpy tanh)."""
    h = np.zeros(model.H, np.float32)
    out = np.empty((len(xs), model.H), np.float32)
    for t, x in enumerate(xs):
        h = np.tanh(model.bh + model.Wx[:, x] + model.Wh @ h)
        out[t] = h
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model", nargs="?")
    ap.add_argument("text", nargs="?")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    model, xs = model_and_text(a.model, a.text)
    run_states(model, xs[:2])  # compile / load cache outside the timing
    t_numba = best_time(lambda: run_states(model, xs), a.repeats)
    t_numpy = best_time(lambda: numpy_forward(model, xs), a.repeats)
    n = len(xs)
    print(f"H={model.H}, {n} steps, best of {a.repeats}")
    print(f"numba f32 reference : {n / t_numba:12,.0f} steps/s ({1 / t_numba:8.1f} forwards/s)")
    print(f"numpy matvec loop   : {n / t_numpy:12,.0f} steps/s ({1 / t_numpy:8.1f} forwards/s)")
    print(f"ratio numba/numpy   : {t_numpy / t_numba:.2f}x")


if __name__ == "__main__":
    main()
