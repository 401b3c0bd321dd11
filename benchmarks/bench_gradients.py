"""All positions x all depths (to 50) of the backward chain: Numba kernels vs a numpy loop, in one run.

Usage: python benchmarks/bench_gradients.py [MODEL TEXT] [--depth D] [--repeats N]
Times (best of N): rnn.gradients.state_gradients in f64 and f32 (output gradients + chains for every
prediction, (n-1) x (D+1) x H), the numpy per-position loop doing the same f64 work, and the full Q1
sparsity kernel (paper variant: chains + 81,920-ID running maxima + counts). Prints ratios.
"""
from __future__ import annotations

import argparse

import numpy as np

from common import best_time, model_and_text
from satrnn.analyses.sparsity import attribution_arrays
from satrnn.rnn.forward import run_states
from satrnn.rnn.gradients import output_gradients, state_gradients


def numpy_chain(model, hs, xs, depth):
    """Per position t and depth d: u = (1 - h_s^2) * b; b = Wh^T u (float64 matvecs)."""
    Wh = model.Wh.astype(np.float64)
    h64 = hs.astype(np.float64)
    G, _ = output_gradients(model, hs[:-1], xs[1:], "f64")
    m = len(xs) - 1
    out = np.full((m, depth + 1, model.H), np.nan)
    for t in range(m):
        b = G[t]
        out[t, 0] = b
        for d in range(1, min(depth, t) + 1):
            b = Wh.T @ ((1.0 - h64[t - d + 1] ** 2) * b)
            out[t, d] = b
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model", nargs="?")
    ap.add_argument("text", nargs="?")
    ap.add_argument("--depth", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    model, xs = model_and_text(a.model, a.text)
    hs, _ = run_states(model, xs)
    state_gradients(model, hs[:3], xs[:3], 2, "f64")  # compile / load caches outside the timing
    state_gradients(model, hs[:3], xs[:3], 2, "f32")
    attribution_arrays(model, xs[:3], "paper", hs=hs[:3])
    ref = numpy_chain(model, hs, xs, a.depth)
    got = state_gradients(model, hs, xs, a.depth, "f64")[0]
    ok = np.allclose(np.nan_to_num(got), np.nan_to_num(ref), rtol=1e-9, atol=1e-12)
    t64 = best_time(lambda: state_gradients(model, hs, xs, a.depth, "f64"), a.repeats)
    t32 = best_time(lambda: state_gradients(model, hs, xs, a.depth, "f32"), a.repeats)
    tq1 = best_time(lambda: attribution_arrays(model, xs, "paper", max_depth=a.depth, hs=hs), a.repeats)
    tnp = best_time(lambda: numpy_chain(model, hs, xs, a.depth), 1)
    m = len(xs) - 1
    print(f"H={model.H}, {m} predictions x depths 0..{a.depth}; numba matches numpy: {ok}")
    print(f"numba state_gradients f64 : {t64:8.3f} s")
    print(f"numba state_gradients f32 : {t32:8.3f} s (paper rounding)")
    print(f"numba Q1 sparsity (paper) : {tq1:8.3f} s (chains + 81,920-ID maxima + counts)")
    print(f"numpy per-position loop   : {tnp:8.3f} s (f64 chains only)")
    print(f"ratio numpy/numba f64     : {tnp / t64:.1f}x")


if __name__ == "__main__":
    main()
