"""Steps per second of the packed sign automaton vs the straightforward sequential float32 loop.

Both run on one core in the same process over the same driving text (the published 1,024 bytes tiled,
or a random model when the data is absent). The straightforward loop is the papers' Boolean step B
compiled with numba: for each neuron, z = bh + Wx, then z += Wh[i, j] * s_j, j ascending, in float32.
Timing rounds interleave the kernels (thread CPU time); the best time of each counts (least disturbed
by other load), and the median of the per-round ratios is printed too.

    /tmp/venv/bin/python benchmarks/bench_sign.py [--steps N] [--repeats R] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import published_or_random
from satrnn.automaton.bitset import all_minus, pack
from satrnn.automaton.sign import NO_LIMIT, SignAutomaton, _walk
from satrnn.rnn.numba_config import njit


@njit
def _naive_run(Wh, Wx, bh, s0, xs, out):
    """The papers' Boolean step, literally: s in +-1 float32, sequential float32 sum per neuron."""
    H = bh.shape[0]
    s = s0.copy()
    s2 = np.empty(H, dtype=np.float32)
    for t in range(xs.shape[0]):
        x = xs[t]
        for i in range(H):
            z = np.float32(bh[i] + Wx[i, x])
            for j in range(H):
                z = np.float32(z + Wh[i, j] * s[j])
            s2[i] = np.float32(1.0) if z >= np.float32(0.0) else np.float32(-1.0)
        for i in range(H):
            s[i] = s2[i]
            out[t, i] = s[i]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200_000, help="packed-kernel steps per timing")
    ap.add_argument("--naive-steps", type=int, default=20_000, help="straightforward-loop steps per timing")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    model, text, source = published_or_random()
    H = model.H
    xs = np.resize(text, a.steps).astype(np.uint8)
    xs_naive = xs[: a.naive_steps]
    s0 = all_minus(H)
    res = {"model": source, "H": H, "steps": a.steps, "naive_steps": a.naive_steps, "repeats": a.repeats}
    # warm-up (compilation) on tiny inputs
    naive_out = np.empty((xs_naive.shape[0], H), dtype=np.float32)
    minus = -np.ones(H, np.float32)
    _naive_run(model.Wh, model.Wx, model.bh, minus, xs_naive[:2], naive_out)
    auts = {sem: SignAutomaton.from_model(model, sem) for sem in ("f32-seq", "exact")}
    outs = {sem: np.empty((xs.shape[0], aut.W), dtype=np.uint64) for sem, aut in auts.items()}
    regs = {sem: np.zeros((2, aut.W), dtype=np.uint64) for sem, aut in auts.items()}

    def run_packed(sem):
        """The packed kernel over all of xs from s0, every state stored (as `SignAutomaton.run`)."""
        R = regs[sem]
        R[0] = s0
        return _walk(auts[sem].tables, R, 0, xs, 0, xs.shape[0], outs[sem], True, NO_LIMIT)[0]
    for sem, aut in auts.items():
        _walk(aut.tables, regs[sem], 0, xs[:2], 0, 2, outs[sem], True, NO_LIMIT)
    # Interleaved rounds: each round times the straightforward loop and both packed kernels back to back,
    # so a ratio compares runs under the same background load.
    t_naive, t_sem = [], {sem: [] for sem in auts}
    for _ in range(a.repeats):
        t_naive.append(_timed(lambda: _naive_run(model.Wh, model.Wx, model.bh, minus, xs_naive, naive_out))
                       / xs_naive.shape[0])
        for sem in auts:
            t_sem[sem].append(_timed(lambda sem=sem: run_packed(sem)) / xs.shape[0])
    res["naive_steps_per_s"] = 1.0 / min(t_naive)
    agree = None
    for sem in auts:
        fb = run_packed(sem)
        res[f"{sem}_steps_per_s"] = 1.0 / min(t_sem[sem])
        res[f"{sem}_ratio"] = min(t_naive) / min(t_sem[sem])
        res[f"{sem}_ratio_median_round"] = float(np.median(np.array(t_naive) / np.array(t_sem[sem])))
        res[f"{sem}_fallbacks"] = int(fb)
        res[f"{sem}_fallback_fraction"] = fb / (xs.shape[0] * H)
        if sem == "f32-seq":
            agree = bool(np.array_equal(outs[sem][: xs_naive.shape[0]], pack(naive_out)))
    res["f32_seq_matches_naive"] = agree
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"sign automaton benchmark ({source}, H={H}, one core, best of {a.repeats})")
        print(f"  straightforward f32 loop : {res['naive_steps_per_s']:>14,.0f} steps/s")
        for sem in ("f32-seq", "exact"):
            print(f"  packed kernel {sem:8s}   : {res[f'{sem}_steps_per_s']:>14,.0f} steps/s  "
                  f"ratio {res[f'{sem}_ratio']:.1f}x (median round {res[f'{sem}_ratio_median_round']:.1f}x)  "
                  f"fallbacks {res[f'{sem}_fallbacks']:,} "
                  f"({100 * res[f'{sem}_fallback_fraction']:.4f}% of neuron-steps)")
        print(f"  f32-seq packed trajectory == straightforward loop: {agree}")
    return 0


def _timed(fn) -> float:
    # CPU time of this thread: robust to the process being descheduled on a shared machine
    t = time.thread_time()
    fn()
    return time.thread_time() - t


if __name__ == "__main__":
    sys.exit(main())
