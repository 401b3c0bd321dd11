"""Exact distinct-state counting in bounded memory (issue 19): automaton.distinct.DistinctStates.

Usage: python benchmarks/bench_distinct.py [--sizes 1e6,1e7] [--chunk 2048] [--cap 4194304]

For every N, N distinct 128-bit states (W = 2 words; word 0 is a bijective mix of the row number, so the
rows are distinct and look random, word 1 is seeded random) are fed in chunks of --chunk rows (the streamed
trajectory's chunk size) and counted, in three modes, each in its own process:
- generate: only generate the rows (the baseline: interpreter, numpy, the generator);
- memory:   DistinctStates with no cap (2^62) (the whole set in memory, as before issue 19);
- spill:    DistinctStates with the default cap (--cap rows), spilling to a temporary directory.
Reported: rows/s of generate + add + count (wall time inside the child) and peak RSS of the child
(its resource.getrusage ru_maxrss at the end). The claim checked: with the spill, peak RSS is flat in N
(within 1.5x from the smallest N to the largest). The count must equal N in every mode. The machine is
shared: `uptime` is printed with the numbers.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

MODES = ("generate", "memory", "spill")


def rows_chunks(n: int, chunk: int, seed: int = 0):
    from satrnn.automaton.distinct import _mix64
    rng = np.random.default_rng(seed)
    for lo in range(0, n, chunk):
        m = min(chunk, n - lo)
        rows = np.empty((m, 2), dtype=np.uint64)
        rows[:, 0] = _mix64(np.arange(lo, lo + m, dtype=np.uint64))   # a bijection: distinct rows
        rows[:, 1] = rng.integers(0, 1 << 64, m, dtype=np.uint64, endpoint=False)
        yield rows


def child(mode: str, n: int, chunk: int, cap: int) -> None:
    from satrnn.automaton.distinct import DistinctStates
    t0 = time.perf_counter()
    if mode == "generate":
        count = sum(r.shape[0] for r in rows_chunks(n, chunk))
        spilled = False
    else:
        with DistinctStates(2, memory_rows=1 << 62 if mode == "memory" else cap) as d:
            for r in rows_chunks(n, chunk):
                d.add(r)
            count = d.count()
            spilled = d.spilled
    print(f"{time.perf_counter() - t0} {count} {int(spilled)}")


def run_child(mode: str, n: int, chunk: int, cap: int) -> tuple[float, int, bool, float]:
    """(seconds inside the child, count, spilled, peak RSS in MB)."""
    p = subprocess.Popen([sys.executable, __file__, "--child", mode, str(n), str(chunk), str(cap)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate()
    except BaseException:
        p.kill()
        p.wait()
        raise
    if p.returncode != 0 or not out.strip():
        raise SystemExit(f"{mode} N={n}: exit {p.returncode}: {(err.strip().splitlines() or [''])[-1]}")
    secs, count, spilled, rss = out.split()
    return float(secs), int(count), bool(int(spilled)), float(rss) / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e6,1e7", help="numbers of distinct states, comma-separated (e.g. 1e6,1e7,1e8)")
    ap.add_argument("--chunk", type=int, default=2048, help="rows per add (default: the streamed chunk, 2048)")
    ap.add_argument("--cap", type=int, default=1 << 22, help="memory_rows of the spilling set (default 2^22)")
    ap.add_argument("--only", default=",".join(MODES), help=f"modes, from {', '.join(MODES)}")
    ap.add_argument("--child", nargs=4, metavar=("MODE", "N", "CHUNK", "CAP"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        import resource
        child(a.child[0], int(a.child[1]), int(a.child[2]), int(a.child[3]))
        # the child reports its own peak RSS (KB on Linux), after everything it allocated
        sys.stdout.write(f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\n")
        return 0
    sizes = [int(float(s)) for s in a.sizes.split(",") if s.strip()]
    modes = [m.strip() for m in a.only.split(",") if m.strip()]
    print(f"N = {', '.join(f'{n:,}' for n in sizes)} distinct 128-bit states, chunks of {a.chunk} rows, "
          f"spill cap {a.cap:,} rows", flush=True)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    peaks: dict[str, list[tuple[int, float]]] = {m: [] for m in modes}
    ok = True
    for n in sizes:
        for m in modes:
            secs, count, spilled, rss = run_child(m, n, a.chunk, a.cap)
            ok &= count == n
            peaks[m].append((n, rss))
            print(f"  {m:8s} N={n:>13,}  {secs:8.1f} s  {n / secs:12,.0f} rows/s  peak RSS {rss:8.1f} MB"
                  f"  count {'== N' if count == n else f'{count:,} != N'}{'  (spilled)' if spilled else ''}",
                  flush=True)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    for m, rows in peaks.items():
        if len(rows) >= 2:
            ratio = rows[-1][1] / rows[0][1]
            print(f"{m:8s} peak RSS {rows[0][1]:.1f} MB at N={rows[0][0]:,} -> {rows[-1][1]:.1f} MB at "
                  f"N={rows[-1][0]:,}: x{ratio:.2f}" + (f" ({'flat within 1.5x' if ratio <= 1.5 else 'NOT flat'})"
                                                         if m == "spill" else ""))
            ok &= m != "spill" or ratio <= 1.5
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
