"""Training epochs per second: the Numba trainer (rnn.train) vs the same BPTT + Adam in numpy, in one run.

Usage: python benchmarks/bench_train.py [TEXT] [--hidden 128] [--epochs 20] [--numpy-epochs 2]
Default text: the bundled 1,024-byte corpus; default recipe otherwise (BPTT-50, Adam, cosine, clip 1).
BLAS is pinned to one thread (set before numpy loads) so both sides use one core, as the default model's
first-use training does. Times are process CPU times (robust on a busy machine); only the ratio within
one run means anything.
"""
# BLAS is pinned to one thread before numpy loads, so the imports come after that statement:
# ruff: noqa: E402
from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import naive
from satrnn.rnn.default import DEFAULT_RECIPE, default_corpus
from satrnn.rnn.text import load_text
from satrnn.rnn.train import init_params, train


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("text", nargs="?")
    ap.add_argument("--hidden", type=int, default=DEFAULT_RECIPE.H)
    ap.add_argument("--epochs", type=int, default=20, help="epochs timed for the numba trainer")
    ap.add_argument("--numpy-epochs", type=int, default=2, help="epochs timed for the numpy trainer")
    a = ap.parse_args()
    xs = load_text(a.text) if a.text else default_corpus()
    r = replace(DEFAULT_RECIPE, H=a.hidden)
    train(xs[:64], replace(r, epochs=1))                       # compile / load the numba cache first

    def numba_run(epochs):
        return train(xs, replace(r, epochs=epochs))

    def numpy_run(epochs):
        return naive.train_numpy(xs, init_params(r.H, r.seed), r.H, epochs, r.bptt, r.lr, r.optimizer,
                                 r.schedule, r.lr_min, r.clip)

    t0 = time.process_time()
    res = numba_run(a.epochs)
    t_numba = (time.process_time() - t0) / a.epochs
    t0 = time.process_time()
    p_np, _ = numpy_run(a.numpy_epochs)
    t_numpy = (time.process_time() - t0) / a.numpy_epochs
    # same arithmetic? (different schedules' totals: compare one-epoch runs)
    one = numba_run(1).state.params
    p1, _ = numpy_run(1)
    diff = float(np.abs(one - p1).max())
    print(f"H={r.H}, {len(xs)} bytes, BPTT-{r.bptt}, {r.optimizer}, {r.precision}; one thread")
    print(f"numba trainer : {1 / t_numba:8.2f} epochs/s ({t_numba * 1e3:7.1f} ms/epoch, {a.epochs} epochs)")
    print(f"numpy trainer : {1 / t_numpy:8.2f} epochs/s ({t_numpy * 1e3:7.1f} ms/epoch, {a.numpy_epochs} epochs)")
    print(f"ratio numba/numpy : {t_numpy / t_numba:.1f}x   (max |param diff| after 1 epoch: {diff:.2e})")
    print(f"default recipe ({DEFAULT_RECIPE.epochs} epochs) at this speed: "
          f"{DEFAULT_RECIPE.epochs * t_numba:.1f} s; last bpc of the timed run {res.bpc:.4f}")


if __name__ == "__main__":
    main()
