"""Counting models: the vectorised / numba implementation vs a naive Python dict loop, in one run.

Usage: python benchmarks/bench_counting.py [TEXT] [--bytes N] [--cap C] [--steps K] [--large-bytes M]
Without TEXT a markup-like text of N bytes (default 65536) is generated. Prints times and ratios (machines
are noisy; only the ratio within one run means anything). `--large-bytes M` (e.g. 1048576) also times, without
a naive counterpart, the analyses the 1 MB test leaves out: the factor map on all 28 pairs and the
explanation ladder, on an H = 8 random model.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from satrnn.analyses.counting import greedy_offsets, skipgram_model
from satrnn.rnn.text import load_text

SKIP8 = [1, 8, 20, 3, 27, 2, 12, 7]


def generated_text(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vocab = [b"the ", b"cat ", b"<page>", b"</page>\n", b"<title>", b"</title>", b"sat ", b"on ", b"mat. ",
             b"[[link]] ", b"id=", b"12", b"7", b"\t", b"anarchism ", b"political ", b"philosophy, "]
    data = b"".join(vocab[w] for w in rng.integers(0, len(vocab), n // 3 + 16))
    return np.frombuffer(data[:n], np.uint8).copy()


def naive_bpc(xs, offsets):
    """Dict counting over T_D, then the in-sample mean of -log2 n(c,y)/n(c) (a plain Python loop)."""
    T = range(max(offsets), len(xs))
    ncy, nc = {}, {}
    for t in T:
        c = tuple(xs[t - d] for d in offsets)
        ncy[(c, xs[t])] = ncy.get((c, xs[t]), 0) + 1
        nc[c] = nc.get(c, 0) + 1
    s = 0.0
    for t in T:
        c = tuple(xs[t - d] for d in offsets)
        s += -math.log2(ncy[(c, xs[t])] / nc[c])
    return s / len(T), len(ncy)


def naive_greedy(xs, steps, cap):
    D = [1]
    while len(D) < steps:
        best = min((naive_bpc(xs, D + [d])[0], d) for d in range(1, cap + 1) if d not in D)
        D.append(best[1])
    return D


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("text", nargs="?")
    ap.add_argument("--bytes", type=int, default=65536)
    ap.add_argument("--cap", type=int, default=30)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--large-bytes", type=int, default=0)
    a = ap.parse_args()
    xs = load_text(a.text) if a.text else generated_text(a.bytes)
    lx = xs.tolist()
    skipgram_model(xs[:64], [1, 2])                      # compile / load caches outside the timing
    greedy_offsets(xs[:64], steps=2, cap=3)
    print(f"{len(xs):,} bytes; greedy steps={a.steps}, cap={a.cap}")
    for name, D in (("bigram", [1]), ("skip-4", SKIP8[:4]), ("skip-8", SKIP8)):
        tv, m = timed(lambda D=D: skipgram_model(xs, D))
        tn, (b, p) = timed(lambda D=D: naive_bpc(lx, D))
        assert abs(m["bpc"] - b) < 1e-9 and m["patterns"] == p
        print(f"{name:8s} vectorised {tv * 1e3:9.1f} ms   naive loop {tn * 1e3:9.1f} ms   ratio {tn / tv:7.1f}x")
    tv, g = timed(lambda: greedy_offsets(xs, steps=a.steps, cap=a.cap))
    tn, gn = timed(lambda: naive_greedy(lx, a.steps, a.cap))
    assert g["order"] == gn
    print(f"greedy   numba      {tv * 1e3:9.1f} ms   naive loop {tn * 1e3:9.1f} ms   ratio {tn / tv:7.1f}x "
          f"(order {g['order']})")
    if a.large_bytes:
        from satrnn.analyses.factor_map import explanation_ladder, factor_map
        from satrnn.rnn.forward import forward
        from satrnn.rnn.model import random_model
        big = generated_text(a.large_bytes)
        model = random_model(8, 5)
        t_f, f = timed(lambda: forward(model, big))
        t_m, fm = timed(lambda: factor_map(model, big, hs=f.hs))
        t_l, _ = timed(lambda: explanation_ladder(model, big, hs=f.hs, rnn_bpc=f.bpc,
                                                  table1_pairs=[r["pair"] for r in fm["neurons"]]))
        print(f"{len(big):,} bytes, H=8: forward {t_f:.1f} s, factor map (28 pairs) {t_m:.1f} s, "
              f"ladder (7 float32 readouts of every position) {t_l:.1f} s")


if __name__ == "__main__":
    main()
