"""Peak memory and throughput of the streamed analyses as the text grows (issue 19).

Usage: python benchmarks/bench_memory.py [MODEL] [--sizes 1M,10M] [--only margins,saturation,coflip,eval,trace]

For every size a seeded text is generated (bytes drawn from the byte frequencies of the published 1,024-byte
corpus when SATRNN_DATA is set, else uniform printable ASCII) and each analysis runs in its own process;
its peak RSS comes from os.wait4 (ru_maxrss of that process alone) and its speed is bytes of text per
second of wall time. The claim checked: peak RSS at the largest size is within 1.5x of the smallest.

- margins: `automaton.margins.margin_fold` over the streamed text (the q1_margins part of `satrnn margins`);
  margins-cli: the whole command (`satrnn margins MODEL TEXT --json`: margins and the Boolean view, one pass)
- saturation, coflip: the CLI commands (`satrnn saturation|coflip MODEL TEXT --json`, output discarded)
- eval, trace: the CLI commands (`trace --out` writes a temporary .npy that is deleted afterwards)

The machine is shared: the script prints `uptime` with the numbers; only ratios within one run mean much.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

KINDS = ("margins", "saturation", "coflip", "margins-cli", "eval", "trace")
CLI = [sys.executable, "-m", "satrnn"]


def parse_size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
    return int(float(s[:-1] if s[-1:] in "KMG" else s) * mult)


def make_text(path: Path, n: int, seed: int = 0) -> None:
    """n seeded bytes, written in 1 MiB blocks (never the whole text in memory)."""
    data = os.environ.get("SATRNN_DATA")
    corpus = Path(data) / "enwik_1024.txt" if data else None
    if corpus is not None and corpus.is_file():
        counts = np.bincount(np.frombuffer(corpus.read_bytes(), np.uint8), minlength=256).astype(np.float64)
    else:
        counts = np.zeros(256)
        counts[32:127] = 1.0
    p = counts / counts.sum()
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        left = n
        while left:
            k = min(left, 1 << 20)
            f.write(rng.choice(256, size=k, p=p).astype(np.uint8).tobytes())
            left -= k


def child(kind: str, model_path: str, text_path: str) -> None:
    """Run one in-process analysis (used for `margins`, which is one part of a CLI command)."""
    from satrnn.automaton.margins import margin_fold
    from satrnn.rnn.model import load_model
    from satrnn.rnn.stream import fold_chunks, prediction_chunks
    from satrnn.rnn.text import iter_text, text_size

    model, n = load_model(model_path), text_size(text_path)
    if kind == "margins":     # the text streamed from the file, as `satrnn margins` reads it
        fold_chunks(prediction_chunks(model, iter_text(text_path)),
                    margin_fold(model, n, rerun=lambda: prediction_chunks(model, iter_text(text_path))))


def command(kind: str, model: str, text: str, tmp: Path) -> list[str]:
    if kind == "margins":
        return [sys.executable, __file__, "--child", kind, model, text]
    if kind == "margins-cli":
        return [*CLI, "margins", model, text, "--json"]
    if kind == "trace":
        return [*CLI, "trace", model, text, "--out", str(tmp / "trace.npy"), "--json"]
    return [*CLI, kind, model, text, "--json"]


def measure(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, status, ru = os.wait4(p.pid, 0)
    except BaseException:  # interrupted or terminated: do not leave the measured process running
        p.kill()
        p.wait()
        raise
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace").strip()
    if p.returncode != 0:
        print(f"    exit {p.returncode}: {err.splitlines()[-1] if err else ''}", flush=True)
    return wall, ru.ru_maxrss / 1024.0, p.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", help="model file (default: $SATRNN_DATA/sat_model.bin)")
    ap.add_argument("--sizes", default="1M,10M", help="text sizes, comma-separated (K/M/G suffixes)")
    ap.add_argument("--only", default="margins,saturation,coflip", help=f"analyses, from {', '.join(KINDS)}")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "MODEL", "TEXT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return 0
    # a `timeout`/kill ends the run through the with-blocks below (temporary texts removed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    model = a.model or str(Path(os.environ.get("SATRNN_DATA", "")) / "sat_model.bin")
    kinds = [k.strip() for k in a.only.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        ap.error(f"unknown analyses {bad}; choose from {KINDS}")
    sizes = [parse_size(s) for s in a.sizes.split(",")]
    print(f"model {model}; sizes {', '.join(f'{s:,}' for s in sizes)} bytes", flush=True)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    results: dict[str, list[tuple[int, float, float, int]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="satrnn-bench-mem-") as td:
        tmp = Path(td)
        for n in sizes:
            text = tmp / f"text_{n}.txt"
            make_text(text, n)
            for k in kinds:
                wall, rss, rc = measure(command(k, model, str(text), tmp))
                (tmp / "trace.npy").unlink(missing_ok=True)
                results[k].append((n, wall, rss, rc))
                print(f"  {k:12s} {n:>13,} bytes  {wall:8.1f} s  {n / wall:12,.0f} bytes/s  peak RSS {rss:8.1f} MB"
                      + ("" if rc == 0 else f"  (exit {rc})"), flush=True)
            text.unlink()
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    ok = True
    for k, rows in results.items():
        good = [r for r in rows if r[3] == 0]
        if len(good) >= 2:
            ratio = good[-1][2] / good[0][2]
            flat = ratio <= 1.5
            ok &= flat
            print(f"{k:12s} peak RSS {good[0][2]:.1f} MB at {good[0][0]:,} bytes -> {good[-1][2]:.1f} MB at "
                  f"{good[-1][0]:,} bytes: x{ratio:.2f} ({'flat within 1.5x' if flat else 'NOT flat'})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
