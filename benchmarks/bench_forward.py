"""KB/s of the float32 reference forward: the vectorised streaming kernels against today's (pre-issue-21)
kernels, measured in the same run, on generated text; plus `satrnn eval` on a large file (time, peak RSS).

Usage:
    python benchmarks/bench_forward.py [--mb 1] [--model sat_model.bin] [--repeats 2]
    python benchmarks/bench_forward.py --eval-mb 100 [--model sat_model.bin]   # CLI run: time and peak RSS

"states" = the recurrence only (hidden states of every byte, streamed through reused buffers); "full
eval" = states + the double readout + bpc. Both sides run slice by slice in flat memory (allocating the
1 KB/byte of outputs the old `forward` kept costs as much again in page faults on this VM). One core = numba
with 1 thread (the streaming eval then has no worker thread); two cores = 2 threads.
The baseline is the forward of commit 30d2ae7 (scalar-order loops that LLVM vectorised 256 bits wide,
z kept in memory; readout with o outer, j inner, in parallel over positions), copied below unchanged.
Results are checked to agree bit for bit before any time is printed. Machines are shared and noisy: only
ratios within one run mean much; the load average is printed.
"""
from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

from satrnn.rnn.default import default_corpus
from satrnn.rnn.elementary import sequential_mean
from satrnn.rnn.forward import _logits, _softmax_cost, evaluate, iter_states
from satrnn.rnn.model import load_model, random_model
from satrnn.rnn.numba_config import njit, njit_parallel, prange

# ---- today's kernels (commit 30d2ae7, rnn/forward.py) as the baseline: the old recurrence verbatim; the
# readout from rnn.forward's unchanged scalar `_logits` and `_softmax_cost` ----------------------------

@njit
def _old_step(Wx, WhT, bh, x, h, z):
    H = WhT.shape[0]
    for i in range(H):
        z[i] = bh[i] + Wx[i, x]
    for j in range(H):
        hj = h[j]
        for i in range(H):
            z[i] = z[i] + WhT[j, i] * hj
    for i in range(H):
        h[i] = math.tanh(z[i])


@njit
def _old_forward_kernel(Wx, WhT, bh, xs, h0, hs, zs):
    n = xs.shape[0]
    h = h0.copy()
    z = np.empty_like(h0)
    for t in range(n):
        _old_step(Wx, WhT, bh, xs[t], h, z)
        zs[t, :] = z
        hs[t, :] = h


@njit_parallel
def _old_readout(Wy, by, V, targets, costs):
    """The old readout: `_logits` (o outer, j inner; still rnn.forward's scalar form) per position."""
    for r in prange(V.shape[0]):
        L = np.empty(256, dtype=np.float64)
        _logits(Wy, by, V[r], L)
        costs[r] = _softmax_cost(L, targets[r], True)


_SLICE = 1 << 16


def old_states(model, xs, sink=None):
    """Today's recurrence over xs in slices of 64 KiB bytes into reused buffers (flat memory, like the new
    streamed path, so neither side pays for page faults of a 1 KB/byte output); sink(hs_slice) sees them."""
    H = model.H
    WhT = np.ascontiguousarray(model.Wh.T)
    hs = np.empty((_SLICE, H), np.float32)
    zs = np.empty((_SLICE, H), np.float32)
    h = np.zeros(H, np.float32)
    for a in range(0, len(xs), _SLICE):
        m = min(_SLICE, len(xs) - a)
        _old_forward_kernel(model.Wx, WhT, model.bh, xs[a:a + m], h, hs[:m], zs[:m])
        h = hs[m - 1].copy()
        if sink is not None:
            sink(a, hs[:m])
    return h


def old_eval(model, xs):
    """Today's forward + readout (the old kernels), slice by slice, costs summed in text order."""
    costs = np.empty(len(xs) - 1)

    def read(a, hs):
        m = min(hs.shape[0], len(xs) - 1 - a)
        _old_readout(model.Wy, model.by, hs[:m], xs[a + 1:a + 1 + m], costs[a:a + m])
    old_states(model, xs, read)
    return sequential_mean(costs)


def new_states(model, xs):
    """The new streamed recurrence (what eval and trace run): the final state."""
    *_, last = iter_states(model, xs)
    return last.hs[-1].copy()


# ---- generated text ---------------------------------------------------------------------------------

@njit
def _markov_text(src, n, seed):
    """n bytes from an order-3 byte Markov chain fitted to `src` (successor drawn uniformly among the
    positions that share the context; unseen contexts restart at a random position). Deterministic."""
    m = src.shape[0]
    np.random.seed(seed)
    out = np.empty(n, np.uint8)
    p = np.random.randint(0, m - 3)
    for t in range(n):
        out[t] = src[p]
        a, b, c = src[p - 2] if p >= 2 else 0, src[p - 1] if p >= 1 else 0, src[p]
        k = 0
        pick = -1
        for q in range(2, m - 1):          # reservoir sampling over matching contexts
            if src[q - 2] == a and src[q - 1] == b and src[q] == c:
                k += 1
                if np.random.randint(0, k) == 0:
                    pick = q + 1
        p = pick if pick >= 0 else np.random.randint(0, m - 1)
    return out


def markov_source() -> tuple[np.ndarray, str]:
    """The text the chain imitates: the papers' enwik_1024.txt when $SATRNN_DATA has it, else the bundled
    default corpus (both mediawiki XML)."""
    p = os.path.join(os.environ.get("SATRNN_DATA", ""), "enwik_1024.txt")
    if os.path.isfile(p):
        return np.fromfile(p, dtype=np.uint8), "enwik_1024.txt"
    return default_corpus(), "the default corpus"


def generated_text(n: int, seed: int = 0) -> np.ndarray:
    """n bytes of mediawiki-like text: an order-3 chain over `markov_source()`, repeated from a 2 MiB
    generated block for larger n (generation costs ~1 us/byte)."""
    block = _markov_text(markov_source()[0], min(n, 1 << 21), seed)
    return np.resize(block, n)


# ---- measurements -----------------------------------------------------------------------------------

def _timed(fn, repeats):
    """(best wall seconds, CPU seconds of that run (all threads of the process), last result)."""
    best, cpu, out = float("inf"), 0.0, None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        t, c = time.perf_counter() - t0, time.process_time() - c0
        if t < best:
            best, cpu = t, c
    return best, cpu, out


def bench_kernels(model, xs, repeats):
    """Rows (cores, {name: (wall s, cpu s)}, bpc) for states and full eval, old and new."""
    old_states(model, xs[:64])
    old_eval(model, xs[:64])
    new_states(model, xs[:64])
    evaluate(model, xs[:64], threads=1)
    evaluate(model, xs[:64], threads=min(2, numba.config.NUMBA_NUM_THREADS))
    rows = []
    for cores in (1, 2):
        if cores > numba.config.NUMBA_NUM_THREADS:
            continue
        numba.set_num_threads(cores)
        t = {}
        *t["states old"], h_old = _timed(lambda: old_states(model, xs), 1)
        *t["states new"], h_new = _timed(lambda: new_states(model, xs), repeats)
        assert np.array_equal(h_old.view(np.uint32), h_new.view(np.uint32)), "states differ"
        *t["eval old"], bpc_old = _timed(lambda: old_eval(model, xs), 1)
        *t["eval new"], r = _timed(lambda cores=cores: evaluate(model, xs, threads=cores), repeats)
        assert r.bpc == bpc_old, (r.bpc, bpc_old)
        rows.append((cores, t, r.bpc))
    return rows


def bench_cli_eval(model_path: str, mb: float, seed: int = 0):
    """`satrnn eval MODEL TEXT --json` on `mb` MB of generated text: (seconds, peak RSS in MB, doc)."""
    import json
    n = int(mb * 1e6)
    with tempfile.TemporaryDirectory(prefix="satrnn-bench-") as d:
        path = os.path.join(d, f"gen_{mb:g}MB.txt")
        block = generated_text(min(n, 1 << 21), seed)
        with open(path, "wb") as f:
            left = n
            while left:
                k = min(left, block.shape[0])
                f.write(block[:k].tobytes())
                left -= k
        cmd = [os.path.join(os.path.dirname(sys.executable), "satrnn"), "eval", model_path, path, "--json"]
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            raise SystemExit(f"satrnn eval failed with exit code {p.returncode}")
        return secs, ru.ru_maxrss / 1024, json.loads(out), " ".join(cmd[1:3]) + f" <{mb:g} MB generated> --json"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=1.0, help="MB of generated text for the kernel comparison")
    ap.add_argument("--model", help="model file (default: $SATRNN_DATA/sat_model.bin, else a random H=128)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--eval-mb", type=float, help="instead: time `satrnn eval` on this many MB, with peak RSS")
    a = ap.parse_args()
    path = a.model or os.path.join(os.environ.get("SATRNN_DATA", ""), "sat_model.bin")
    have = os.path.isfile(path)
    model = load_model(path) if have else random_model(128, 0)
    print(f"model: {path if have else 'random H=128 (seed 0)'}; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    if a.eval_mb:
        if not have:
            with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
                path = f.name
            model.save(path)
        secs, rss, doc, cmd = bench_cli_eval(path, a.eval_mb)
        print(f"satrnn {cmd}: {secs:.1f} s wall ({doc['bytes'] / secs / 1e3:,.0f} KB/s incl. start-up), "
              f"peak RSS {rss:,.0f} MB, bpc {doc['bpc']:.6f} over {doc['predictions']:,} predictions")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return
    xs = generated_text(int(a.mb * 1e6))
    rows = bench_kernels(model, xs, a.repeats)
    n = len(xs)
    print(f"{n:,} bytes of generated text (order-3 chain over {markov_source()[1]}), H = {model.H}; "
          f"best of {a.repeats} (baseline: 1 run); bit-identical states and bpc checked")
    print("KB/s by wall time (and by CPU time of the whole process: the rate an idle machine would give if the")
    print("threads had their cores to themselves; states are one thread either way)")
    for cores, t, _bpc in rows:
        for what in ("states", "eval"):
            (wo, co), (wn, cn) = t[f"{what} old"], t[f"{what} new"]
            label = "states only" if what == "states" else "full eval  "
            print(f"{cores} core{'s' if cores > 1 else ' '} {label}: old {n / wo / 1e3:7.1f} KB/s "
                  f"(cpu {n / co / 1e3:7.1f})  new {n / wn / 1e3:7.1f} KB/s (cpu {n / cn / 1e3:7.1f})  "
                  f"ratio {wo / wn:5.2f}x wall, {co / cn:5.2f}x cpu")
    print(f"bpc {rows[0][-1]:.6f}; load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
