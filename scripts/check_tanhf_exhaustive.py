"""Exhaustive proof of satrnn's float32 tanh (and fdlibm expm1f) over all 2^32 float32 inputs.

For every bit pattern x (NaN payloads included):
1. the vectorised array kernel (`tanh_f32_into`, as the forward calls it) equals the scalar function, under
   both semantics;
2. "fdlibm": `tanhf_fdlibm(x)` and `expm1f_fdlibm(x)` equal the host's tanhf and expm1f bit for bit, when the
   host's libm is glibc <= 2.40 (fdlibm's algorithm; checked by `--host fdlibm`, the default there);
3. "cr": `tanhf_cr(x)` equals the correctly rounded tanh(x). Oracle: the host's double tanh, whose error
   glibc documents as at most 2 ulp (we allow `--oracle-ulps`, default 4): wherever the interval of width
   +-4 ulp around it rounds to a single float32, that float32 is the correctly rounded value. The inputs
   where it does not (near a rounding boundary) are evaluated with mpmath at 200 bits and rounded exactly.
   On a host whose tanhf is itself correctly rounded (glibc >= 2.41, CORE-MATH: `--host cr`, the default
   there), `tanhf_cr` is also compared with it on every input: a second, independent oracle.

Prints a summary and, with --json, one JSON document; exit 1 on any mismatch. Takes about 2-4 minutes on
two cores (python scripts/check_tanhf_exhaustive.py). Results are recorded in the README (Portability).
"""
from __future__ import annotations

import argparse
import ctypes
import json
import math
import platform
import sys
import time

import numpy as np

from satrnn.rnn import elementary as E
from satrnn.rnn.numba_config import njit_parallel, prange

BLOCK = 1 << 24


def glibc_version() -> tuple[int, int] | None:
    try:
        f = ctypes.CDLL(None).gnu_get_libc_version
    except (AttributeError, OSError):
        return None
    f.restype = ctypes.c_char_p
    major, minor = f().decode().split(".")[:2]
    return int(major), int(minor)


@njit_parallel
def _check_block(start, n, ulps, host_sem, fd, cr, vec_fd, vec_cr, flags, counts):
    """flags[i]: bit 0 fdlibm tanh != host, bit 1 expm1f != host, bit 2 vector != scalar (either),
    bit 3 cr != certain oracle, bit 4 oracle ambiguous (needs mpmath), bit 5 cr != host tanhf (host cr).
    fd, cr: the scalar results; vec_*: the array kernel's results (written before this call)."""
    for i in prange(n):
        b = np.int32(np.uint32(start + i))
        x = E._f32_from_bits(b)
        y_fd = E.tanhf_fdlibm(x)
        y_cr = E._tanhf_cr_fixed(x)
        fd[i] = y_fd
        cr[i] = y_cr
        f = 0
        if E._f32_bits(vec_fd[i]) != E._f32_bits(y_fd) or E._f32_bits(vec_cr[i]) != E._f32_bits(y_cr):
            f |= 4
        ht = math.tanh(x)               # the host's tanhf (numba calls libm's float32 tanhf)
        if host_sem == 0:
            if E._f32_bits(ht) != E._f32_bits(y_fd):
                f |= 1
            if E._f32_bits(math.expm1(x)) != E._f32_bits(E.expm1f_fdlibm(x)):
                f |= 2
        elif host_sem == 1:
            if E._f32_bits(ht) != E._f32_bits(y_cr):
                f |= 32
        if x == x:
            yo = math.tanh(np.float64(x))      # host double tanh (oracle)
            d = ulps * abs(yo) * 2.220446049250313e-16 + 5e-324
            lo = np.float32(yo - d)
            hi = np.float32(yo + d)
            if lo != hi:
                f |= 16
            elif E._f32_bits(lo) != E._f32_bits(y_cr) and not (lo == 0.0 and y_cr == 0.0):
                f |= 8
            elif lo == 0.0 and E._f32_bits(lo) != E._f32_bits(y_cr):
                # signed zero: the oracle's zero may lose the sign; tanh keeps it (checked separately)
                if E._f32_bits(y_cr) != E._f32_bits(x):
                    f |= 8
        flags[i] = f
    for i in range(n):
        f = flags[i]
        for k in range(6):
            if f & (1 << k):
                counts[k] += 1


def mp_tanhf_cr(x: float) -> np.float32:
    """The correctly rounded float32 tanh(x) from mpmath at 200 bits (exact round to nearest even)."""
    import mpmath
    with mpmath.workprec(200):
        v = mpmath.tanh(mpmath.mpf(float(x)))
        f = np.float32(float(v))
        best = None
        for cand in (np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))):
            d = abs(mpmath.mpf(float(cand)) - v)
            key = (d, int(np.array(cand, np.float32).view(np.uint32)) & 1)     # ties: even mantissa wins
            if best is None or key < best[0]:
                best = (key, cand)
        return np.float32(best[1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    gv = glibc_version()
    default_host = "none" if gv is None else ("cr" if gv >= (2, 41) else "fdlibm")
    ap.add_argument("--host", choices=("fdlibm", "cr", "none"), default=default_host,
                    help=f"what the host's tanhf is (default here: {default_host}, glibc {gv})")
    ap.add_argument("--oracle-ulps", type=float, default=4.0, help="error bound of the host's double tanh, ulps")
    ap.add_argument("--stride", type=int, default=1, help="check every k-th block of 2^24 inputs only")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    host_sem = {"fdlibm": 0, "cr": 1, "none": 2}[a.host]
    counts = np.zeros(6, np.int64)
    ambiguous, bad = [], {k: [] for k in range(6)}
    t0 = time.perf_counter()
    xs = np.empty(BLOCK, np.float32)
    vec_fd, vec_cr = np.empty(BLOCK, np.float32), np.empty(BLOCK, np.float32)
    fd, cr = np.empty(BLOCK, np.float32), np.empty(BLOCK, np.float32)
    flags = np.empty(BLOCK, np.int32)
    nblocks = (1 << 32) // BLOCK
    done = 0
    for blk in range(0, nblocks, a.stride):
        start = blk * BLOCK
        xs.view(np.uint32)[:] = np.arange(start, start + BLOCK, dtype=np.uint64).astype(np.uint32)
        E.tanh_f32_into(xs, vec_fd, BLOCK, 0)
        E.tanh_f32_into(xs, vec_cr, BLOCK, 1)
        _check_block(start, BLOCK, a.oracle_ulps, host_sem, fd, cr, vec_fd, vec_cr, flags, counts)
        for k in range(6):
            if k == 4:
                continue
            idx = np.flatnonzero(flags & (1 << k))
            bad[k].extend(int(start + i) for i in idx[:20 - len(bad[k])] if len(bad[k]) < 20)
        amb = np.flatnonzero(flags & 16)
        ambiguous.extend(int(start + i) for i in amb)
        done += BLOCK
        if not a.json:
            el = time.perf_counter() - t0
            print(f"\r{done / (1 << 32) * a.stride:6.1%} of 2^32 ({el:.0f} s)", end="", file=sys.stderr, flush=True)
    if not a.json:
        print(file=sys.stderr)
    # near-boundary inputs: mpmath decides
    amb_bad = []
    for bits in ambiguous:
        x = np.array([bits], np.uint32).view(np.float32)[0]
        want = mp_tanhf_cr(x)
        got = E.tanh32(np.array([x], np.float32), "cr")[0]
        if np.array(want).view(np.uint32) != np.array(got).view(np.uint32):
            amb_bad.append({"x_bits": f"{bits:08x}", "x": float(x), "cr": float(want), "got": float(got),
                            "cr_bits": f"{int(np.array(want).view(np.uint32)):08x}"})
    elapsed = time.perf_counter() - t0
    names = ["fdlibm_tanhf_vs_host", "fdlibm_expm1f_vs_host", "vector_vs_scalar", "cr_vs_oracle",
             "oracle_ambiguous", "cr_vs_host_cr_tanhf"]
    res = {
        "inputs_checked": done, "all_inputs": done == (1 << 32), "seconds": round(elapsed, 1),
        "host": {"glibc": None if gv is None else f"{gv[0]}.{gv[1]}", "tanhf_semantics": a.host,
                 "machine": platform.machine(), "python": platform.python_version()},
        "oracle_ulps": a.oracle_ulps,
        "counts": {names[k]: int(counts[k]) for k in range(6)},
        "ambiguous_checked_with_mpmath": len(ambiguous),
        "ambiguous_wrong": amb_bad,
        "examples": {names[k]: [f"{b:08x}" for b in bad[k]] for k in range(6) if bad[k]},
        "cr_fix_table_entries": int(E._CR_FIX_X.shape[0]),
    }
    failures = int(counts[0] + counts[1] + counts[2] + counts[3] + counts[5]) + len(amb_bad)
    res["ok"] = failures == 0
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"checked {done:,} inputs ({'all 2^32' if res['all_inputs'] else 'a stride'}) in {elapsed:.0f} s;"
              f" host glibc {res['host']['glibc']} (tanhf: {a.host})")
        for k in (2, 0, 1, 3, 5):
            if k in (0, 1) and host_sem != 0 or k == 5 and host_sem != 1:
                continue
            print(f"  {names[k]}: {int(counts[k])} mismatch(es)")
        print(f"  near-boundary inputs decided by mpmath: {len(ambiguous)}; wrong: {len(amb_bad)}")
        for r in amb_bad[:20]:
            print("   ", r)
        print("OK" if res["ok"] else "FAILED")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
