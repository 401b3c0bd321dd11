"""The exact packed kernel against a hand-written C loop of the same chunk-table arithmetic, in one run.

The C loop is what tier 1 would be with nothing else: the same int16 tables (baseq, Tq of `build_tables`),
AVX2 vector adds with the running sums in registers, the sign bits by vector compare + movemask, every
state stored like the kernel's trajectory, and no exactness at all (no undecided masks, no tiers 2 or 3).
It is built with the system C compiler (`cc -O2 -mavx2`); without one, or without AVX2, the benchmark says
so and skips. Both run on one core over the same driving text; thread CPU time, best of R interleaved
rounds. Goal (issue 13): the exact kernel at >= 0.8x the C loop's steps/s.

    python benchmarks/bench_c_loop.py [--steps N] [--repeats R] [--json]
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import published_or_random
from satrnn.automaton.bitset import all_minus
from satrnn.automaton.sign import NO_LIMIT, SignAutomaton, _walk

C_SOURCE = r"""
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* n steps of tier 1 alone: z = baseq[x] + sum_c Tq[c, b_c] (int16, 128 neurons per register group),
   bit i of the next state = z_i > 0; out[t] = the state after step t. Hp % 128 == 0, W = Hp / 64. */
void tier1_run(const int16_t *Tq, const int16_t *baseq, long C, long nb, long Hp, long cb,
               const uint8_t *xs, long n, const uint64_t *s0, long W, uint64_t *out)
{
    uint64_t cur[64], nxt[64];
    uint64_t mask = (1ull << cb) - 1;
    memcpy(cur, s0, W * sizeof(uint64_t));
    for (long t = 0; t < n; t++) {
        const int16_t *base = baseq + (long)xs[t] * Hp;
        for (long g = 0; g < Hp; g += 128) {
            __m256i a0 = _mm256_loadu_si256((const __m256i *)(base + g));
            __m256i a1 = _mm256_loadu_si256((const __m256i *)(base + g + 16));
            __m256i a2 = _mm256_loadu_si256((const __m256i *)(base + g + 32));
            __m256i a3 = _mm256_loadu_si256((const __m256i *)(base + g + 48));
            __m256i a4 = _mm256_loadu_si256((const __m256i *)(base + g + 64));
            __m256i a5 = _mm256_loadu_si256((const __m256i *)(base + g + 80));
            __m256i a6 = _mm256_loadu_si256((const __m256i *)(base + g + 96));
            __m256i a7 = _mm256_loadu_si256((const __m256i *)(base + g + 112));
            for (long c = 0; c < C; c++) {
                long bit = c * cb;
                long b = (long)((cur[bit >> 6] >> (bit & 63)) & mask);
                const int16_t *row = Tq + (c * nb + b) * Hp + g;
                a0 = _mm256_add_epi16(a0, _mm256_loadu_si256((const __m256i *)(row)));
                a1 = _mm256_add_epi16(a1, _mm256_loadu_si256((const __m256i *)(row + 16)));
                a2 = _mm256_add_epi16(a2, _mm256_loadu_si256((const __m256i *)(row + 32)));
                a3 = _mm256_add_epi16(a3, _mm256_loadu_si256((const __m256i *)(row + 48)));
                a4 = _mm256_add_epi16(a4, _mm256_loadu_si256((const __m256i *)(row + 64)));
                a5 = _mm256_add_epi16(a5, _mm256_loadu_si256((const __m256i *)(row + 80)));
                a6 = _mm256_add_epi16(a6, _mm256_loadu_si256((const __m256i *)(row + 96)));
                a7 = _mm256_add_epi16(a7, _mm256_loadu_si256((const __m256i *)(row + 112)));
            }
            __m256i zero = _mm256_setzero_si256();
            __m256i acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
            for (int h = 0; h < 2; h++) {   /* 64 neurons -> one word */
                uint64_t w = 0;
                for (int p = 0; p < 2; p++) {
                    __m256i m0 = _mm256_cmpgt_epi16(acc[4 * h + 2 * p], zero);
                    __m256i m1 = _mm256_cmpgt_epi16(acc[4 * h + 2 * p + 1], zero);
                    __m256i pk = _mm256_permute4x64_epi64(_mm256_packs_epi16(m0, m1), 0xD8);
                    w |= (uint64_t)(uint32_t)_mm256_movemask_epi8(pk) << (32 * p);
                }
                nxt[g / 64 + h] = w;
            }
        }
        memcpy(cur, nxt, W * sizeof(uint64_t));
        memcpy(out + t * W, cur, W * sizeof(uint64_t));
    }
}
"""


def build_c_loop():
    """(ctypes function, None) or (None, reason to skip)."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None, "no system C compiler (cc) found"
    try:
        flags = open("/proc/cpuinfo").read()
        if " avx2" not in flags:
            return None, "this CPU has no AVX2"
    except OSError:
        pass
    d = tempfile.mkdtemp(prefix="satrnn-c-loop-")
    src, lib = os.path.join(d, "tier1.c"), os.path.join(d, "tier1.so")
    Path(src).write_text(C_SOURCE)
    p = subprocess.run([cc, "-O2", "-mavx2", "-shared", "-fPIC", "-o", lib, src], capture_output=True, text=True)
    if p.returncode != 0:
        return None, f"the C compiler failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else cc}"
    fn = ctypes.CDLL(lib).tier1_run
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_long,
                   ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p]
    return fn, None


def _timed(fn) -> float:
    t = time.thread_time()
    fn()
    return time.thread_time() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    fn, why = build_c_loop()
    if fn is None:
        print(f"bench_c_loop: skipped: {why}")
        return 0
    model, text, source = published_or_random()
    aut = SignAutomaton.from_model(model, "exact")
    T = aut.tables
    if T.Hp % 128:
        print(f"bench_c_loop: skipped: the C loop needs H padded to a multiple of 128 (H = {T.H})")
        return 0
    xs = np.ascontiguousarray(np.resize(text, a.steps), dtype=np.uint8)
    s0 = all_minus(T.H)
    out_c = np.empty((xs.shape[0], T.W), dtype=np.uint64)
    out_k = np.empty_like(out_c)
    R = np.zeros((2, T.W), dtype=np.uint64)
    Tq, baseq = T.Tq, T.baseq

    def run_c():
        fn(Tq.ctypes.data, baseq.ctypes.data, T.C, Tq.shape[1], T.Hp, T.cb, xs.ctypes.data, xs.shape[0],
           s0.ctypes.data, T.W, out_c.ctypes.data)

    def run_kernel():
        R[0] = s0
        return _walk(T, R, 0, xs, 0, xs.shape[0], out_k, True, NO_LIMIT)[0]

    run_kernel()
    run_c()
    tc, tk = [], []
    for _ in range(a.repeats):
        tc.append(_timed(run_c))
        tk.append(_timed(run_kernel))
    fb = run_kernel()
    # Tier 1 alone decides almost every sign; where the trajectories part, the C loop was wrong (no exactness).
    agree = int(np.argmin(np.all(out_c == out_k, axis=1))) if not np.array_equal(out_c, out_k) else xs.shape[0]
    res = {"model": source, "H": T.H, "steps": int(xs.shape[0]), "repeats": a.repeats,
           "c_loop_steps_per_s": 1.0 / (min(tc) / xs.shape[0]), "kernel_steps_per_s": 1.0 / (min(tk) / xs.shape[0]),
           "ratio_kernel_over_c": min(tc) / min(tk), "kernel_fallbacks": int(fb),
           "trajectories_agree_for_steps": agree, "load": os.getloadavg()[0]}
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"tier-1 C loop vs exact packed kernel ({source}, H={T.H}, one core, best of {a.repeats}, "
              f"load {res['load']:.2f})")
        print(f"  C loop (int16 tables, AVX2, tier 1 only) : {res['c_loop_steps_per_s']:>14,.0f} steps/s")
        print(f"  exact packed kernel (three tiers)        : {res['kernel_steps_per_s']:>14,.0f} steps/s  "
              f"= {res['ratio_kernel_over_c']:.2f}x the C loop (goal >= 0.8x)")
        print(f"  trajectories agree for the first {agree:,} of {xs.shape[0]:,} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
