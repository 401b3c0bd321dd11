"""Slow, obviously-correct references written straight from ../shared/DEFINITIONS.md.

Every fast kernel in satrnn is checked against a function here. Keep these literal: Python loops over
np.float32 scalars, explicit orders of summation, no cleverness. Sections are owned by the module they check.
"""
from __future__ import annotations

import ctypes
import math

import numpy as np

_libm = ctypes.CDLL("libm.so.6")
_tanhf = _libm.tanhf
_tanhf.restype = ctypes.c_float
_tanhf.argtypes = [ctypes.c_float]

f32 = np.float32


def tanhf(z) -> np.float32:
    """glibc's single-precision tanhf (DEFINITIONS 0.3)."""
    return f32(_tanhf(float(z)))


# ---- rnn.forward (DEFINITIONS 0.3-0.5) -------------------------------------------------------------

def preactivation_f32(Wx, Wh, bh, x, h_prev, i) -> np.float32:
    """z[i] = ((bh[i] + Wx[i][x]) + Wh[i][0]*h[0]) + ... , every op rounded to float32, j ascending."""
    z = f32(bh[i]) + f32(Wx[i][x])
    for j in range(len(h_prev)):
        z = f32(z + f32(f32(Wh[i][j]) * f32(h_prev[j])))
    return f32(z)


def forward_f32(Wx, Wh, bh, xs, h0=None):
    """(hs, zs) as lists of float32 arrays: row t = state after x_t, h_{-1} = 0."""
    H = len(bh)
    h = [f32(0.0)] * H if h0 is None else [f32(v) for v in h0]
    hs, zs = [], []
    for x in xs:
        z = [preactivation_f32(Wx, Wh, bh, int(x), h, i) for i in range(H)]
        h = [tanhf(v) for v in z]
        hs.append(np.array(h, dtype=np.float32))
        zs.append(np.array(z, dtype=np.float32))
    return np.array(hs, dtype=np.float32).reshape(len(xs), H), np.array(zs, dtype=np.float32).reshape(len(xs), H)


def forward_f64(Wx, Wh, bh, xs):
    """Double-precision recurrence with numpy matvecs (a different code path, for sign agreement)."""
    Wx, Wh, bh = (np.asarray(a, dtype=np.float64) for a in (Wx, Wh, bh))
    h = np.zeros(len(bh))
    out = []
    for x in xs:
        h = np.tanh(bh + Wx[:, int(x)] + Wh @ h)
        out.append(h)
    return np.array(out)


def readout_cost(Wy, by, v, y, clamp=True) -> float:
    """Cost in bits of byte y under the readout of vector v (DEFINITIONS 0.4).

    L[o] = dbl(by[o]) + sum_j dbl(fl32(Wy[o][j] * v[j])), j ascending; softmax in double, o ascending.
    """
    Wy = np.asarray(Wy)
    prods = (Wy.astype(np.float32) * np.asarray(v, dtype=np.float32)).astype(np.float32)  # each product rounded
    L = np.asarray(by, dtype=np.float32).astype(np.float64)
    for j in range(Wy.shape[1]):
        L = L + prods[:, j].astype(np.float64)
    mx = max(L)
    e = [math.exp(float(L[o]) - mx) for o in range(256)]
    Z = 0.0
    for o in range(256):
        Z += e[o]
    p = e[y] / Z
    if clamp:
        return -math.log2(max(p, 1e-30))
    return -math.log(p) / math.log(2.0)


def bpc(Wy, by, hs, xs, clamp=True) -> float:
    """Plain mean over the n-1 predictions of x_{t+1} from h_t, summed in t order."""
    s = 0.0
    for t in range(len(xs) - 1):
        s += readout_cost(Wy, by, hs[t], int(xs[t + 1]), clamp)
    return s / (len(xs) - 1)
