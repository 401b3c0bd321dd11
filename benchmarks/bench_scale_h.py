"""Sign-automaton speed from H = 64 to 2048, per tier-1 choice: steps/s and H^2 x steps/s (weight terms per
second) on one core, table-build time and peak memory.

Seeded random float32 models (`random_model(H, 0)`), exact semantics, driven by a constant byte (32, from
all +1, as in `satrnn sign MODEL --input 32 --start ones`) and by seeded random bytes. Each (H, choice) runs
in its own process (NUMBA_NUM_THREADS=1), so its peak resident memory (ru_maxrss: Python, numba, model and
tables) is its own; times are thread CPU time, best of --repeats. The baseline column is the papers'
straightforward float32 loop (benchmarks/bench_sign.py) on the same model, timed in the same process: the
ratio column compares with it. The last lines compare H^2 x steps/s at each H with H = 128 (automatic choice).

    .venv/bin/python benchmarks/bench_scale_h.py [--H 64,128,...] [--tier1 auto,chunk8,chunk4] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

HS = (64, 128, 256, 512, 1024, 2048)
CHOICES = ("auto", "chunk8", "chunk4", "wide8", "wide4")
TARGET_S = 0.25          # each timing runs at least this long (thread CPU time)


def _rate(fn, n0: int, repeats: int) -> float:
    """Steps per second of fn(n) (thread CPU time), n grown until one call takes TARGET_S; best of repeats."""
    fn(2)
    n = n0
    while True:
        t0 = time.thread_time()
        fn(n)
        dt = time.thread_time() - t0
        if dt >= TARGET_S:
            break
        n *= 2 if dt > TARGET_S / 4 else 4
    best = dt
    for _ in range(repeats - 1):
        t0 = time.thread_time()
        fn(n)
        best = min(best, time.thread_time() - t0)
    return n / best


def one(H: int, choice: str, repeats: int) -> dict:
    """Build and time one (H, tier-1 choice) in this process."""
    from bench_sign import _naive_run
    from satrnn.automaton.bitset import all_plus
    from satrnn.automaton.sign import NO_LIMIT, _walk, build_tables
    from satrnn.automaton.tier1 import tier1_of
    from satrnn.rnn.model import random_model
    model = random_model(H, 0)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    tables = build_tables(model, "exact", tier1=None if choice == "auto" else choice)
    t_build = time.perf_counter() - t0
    s0 = all_plus(H)
    W = s0.shape[0]
    R = np.empty((2, W), dtype=np.uint64)         # the kernel's two state rows
    rng = np.random.default_rng(0)
    xs_all = rng.integers(0, 256, 1 << 22, dtype=np.uint8)
    n0 = max(4, int(2e8 / H ** 2))
    const_seq = np.array([32], dtype=np.uint8)

    def walk(seq, n):
        R[0] = s0
        return _walk(tables, R, 0, seq, 0, n, R, False, NO_LIMIT)
    const = _rate(lambda n: walk(const_seq, n), n0, repeats)

    def text_run(n):          # the random bytes, wrapping around
        return walk(xs_all, n)
    text = _rate(text_run, n0, repeats)
    # the straightforward float32 loop (H^2 multiply-adds per step) on the same bytes
    minus = -np.ones(H, np.float32)
    nout = np.empty((64, H), dtype=np.float32)
    naive = _rate(lambda n: [_naive_run(model.Wh, model.Wx, model.bh, minus, xs_all[:min(64, n - a)],
                                        nout[:min(64, n - a)]) for a in range(0, n, 64)],
                  max(2, int(2e6 / H ** 2)), min(repeats, 2))
    table_mb = sum(getattr(getattr(tables, f), "nbytes", 0) for f in tables._fields) / 1e6
    return {"H": H, "choice": choice, "tier1": tier1_of(tables), "steps_per_s_const": const,
            "steps_per_s_text": text, "weights_per_s_const": H * H * const, "weights_per_s_text": H * H * text,
            "naive_steps_per_s": naive, "ratio_const_vs_naive": const / naive, "build_s": t_build,
            "tables_mb": table_mb, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
            "rss_before_build_mb": rss0 / 1e3}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--H", default=",".join(map(str, HS)), help="comma-separated hidden sizes")
    ap.add_argument("--tier1", default=",".join(CHOICES), help="comma-separated choices (auto = by H)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one", nargs=2, metavar=("H", "CHOICE"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        print(json.dumps(one(int(a.one[0]), a.one[1], a.repeats)))
        return 0
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    rows = []
    load = os.getloadavg()[0]
    for H in [int(v) for v in a.H.split(",")]:
        for choice in a.tier1.split(","):
            p = subprocess.run([sys.executable, __file__, "--one", str(H), choice, "--repeats", str(a.repeats)],
                               env=env, capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                print(p.stderr, file=sys.stderr)
                return 1
            r = json.loads(p.stdout.strip().splitlines()[-1])
            rows.append(r)
            if not a.json:
                print(f"H={H:5d} {choice:>6s} ({r['tier1']}): const {r['steps_per_s_const']:10.4g} steps/s "
                      f"{r['weights_per_s_const']:9.3g} w/s | text {r['steps_per_s_text']:10.4g} steps/s "
                      f"{r['weights_per_s_text']:9.3g} w/s | {r['ratio_const_vs_naive']:6.0f}x naive | build "
                      f"{r['build_s']:6.2f} s, tables {r['tables_mb']:7.1f} MB, peak RSS {r['peak_rss_mb']:6.0f} MB",
                      flush=True)
    auto = {r["H"]: r for r in rows if r["choice"] == "auto"}
    summary = {}
    if 128 in auto:
        for H, r in sorted(auto.items()):
            summary[H] = {"const": r["weights_per_s_const"] / auto[128]["weights_per_s_const"],
                          "text": r["weights_per_s_text"] / auto[128]["weights_per_s_text"]}
    load = max(load, os.getloadavg()[0])
    if a.json:
        print(json.dumps({"rows": rows, "per_weight_vs_H128": summary, "load_avg_1min": load}, indent=1))
    else:
        for H, s in summary.items():
            print(f"H={H:5d} auto: H^2 x steps/s relative to H = 128: const {s['const']:.2f}, text {s['text']:.2f}")
        print(f"(one core; load average {load:.1f} on {os.cpu_count()} cores: CPU time is the process's own, but "
              f"caches and memory bandwidth are shared)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
