"""Gradients with respect to the hidden STATES (attribution, not training).

Alignment: h_t is the state after reading x_t; P_t = softmax(by + Wy h_t) predicts y_t = x_{t+1}.

- Output gradient g_t = d ln P_t[y] / d h_t = Wy^T (e_y - P_t)  (H,), for t = 0..n-2.
- Backward chain: b^(0) = g (any start vector at position t), and for d >= 1
  b^(d) = Wh^T ((1 - h_{t-d+1}^2) * b^(d-1)) = d(g . h_t) / d h_{t-d}, defined while t - d >= 0.
  Entries with t - d < 0 are NaN (h_{-1} is the constant zero start, not a state).

Two arithmetics ("precision"):
- "f64": double weights, double products and sums (for finite-difference checks and corrected analyses);
  the states passed in are widened to double as they are.
- "f32": the reference programs' arithmetic (DEFINITIONS 1.3): P from the 0.4 readout (float32 products
  summed in double, softmax in double), g[j] = fl32(Wy[y][j] - sum_o Wy[o][j] P[o]) subtracted in double with
  o ascending, gate u = fl32(fl32(1 - fl32(h*h)) * b), b'[j] = float32 sum over i ascending of fl32(Wh[i][j] u[i]).
Parameter gradients (Wx, Wh, Wy, biases) live in rnn/bptt.py.
"""
from __future__ import annotations

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import _logits, _softmax_terms, as_bytes
from satrnn.rnn.model import ElmanRNN
from satrnn.rnn.numba_config import njit_parallel, prange

PRECISIONS = ("f64", "f32")
MAX_DEPTH = 100_000


@njit_parallel
def _probabilities(Wy, by, V, P):
    """P[r, o] = exp(L[o] - max L) / Z with L[o] = dbl(by[o]) + sum_j dbl(Wy[o, j] * V[r, j]) (j ascending)."""
    m = V.shape[0]
    for r in prange(m):
        L = np.empty(256, dtype=np.float64)
        E = np.empty(256, dtype=np.float64)
        _logits(Wy, by, V[r], L)
        _, Z = _softmax_terms(L, E)
        for o in range(256):
            P[r, o] = E[o] / Z


@njit_parallel
def _output_gradients(Wy, P, targets, G):
    """G[r, j] = Wy[y, j] - sum_o Wy[o, j] P[r, o], subtracted in double with o ascending, stored in G's dtype."""
    m = P.shape[0]
    H = Wy.shape[1]
    for r in prange(m):
        y = targets[r]
        acc = np.empty(H, dtype=np.float64)
        for j in range(H):
            acc[j] = np.float64(Wy[y, j])
        for o in range(256):
            p = P[r, o]
            for j in range(H):
                acc[j] -= np.float64(Wy[o, j]) * p
        for j in range(H):
            G[r, j] = acc[j]


@njit_parallel
def _backward_chain(Wh, hs, G, ends, one, out):
    """out[r, d] = b^(d) for the start vector G[r] at position ends[r]; NaN where ends[r] - d < 0.

    Arithmetic in the dtype of the arrays (Wh, hs, G, out, `one` share it). For each d the sum over i is
    accumulated with i ascending (row i of Wh is scanned contiguously; per j the order is still i = 0..H-1).
    """
    m = G.shape[0]
    D = out.shape[1] - 1
    H = G.shape[1]
    for r in prange(m):
        t = ends[r]
        b = G[r].copy()
        u = np.empty_like(b)
        for j in range(H):
            out[r, 0, j] = b[j]
        for d in range(1, D + 1):
            if t - d < 0:
                for j in range(H):
                    out[r, d, j] = np.nan
                continue
            s = t - d + 1
            for i in range(H):
                hv = hs[s, i]
                u[i] = (one - hv * hv) * b[i]
            for j in range(H):
                b[j] = 0
            for i in range(H):
                ui = u[i]
                for j in range(H):
                    b[j] = b[j] + Wh[i, j] * ui
            for j in range(H):
                out[r, d, j] = b[j]


def _dtype(precision: str):
    if precision == "f64":
        return np.float64
    if precision == "f32":
        return np.float32
    raise SatrnnInputError(f"unknown precision {precision!r} (use one of {', '.join(PRECISIONS)})")


def _check_states(model: ElmanRNN, hs) -> np.ndarray:
    hs = np.asarray(hs)
    if hs.ndim != 2 or hs.shape[1] != model.H:
        raise SatrnnInputError(f"states have shape {hs.shape}, expected (n, {model.H})")
    if hs.dtype not in (np.float32, np.float64):
        raise SatrnnInputError(f"states dtype {hs.dtype} must be float32 or float64")
    if not np.isfinite(hs).all():
        raise SatrnnInputError("states contain NaN/Inf")
    return hs


def output_probabilities(model: ElmanRNN, V, precision: str = "f64") -> np.ndarray:
    """Next-byte probabilities (m, 256) float64 of the readout of rows of V (m, H).

    "f32": DEFINITIONS 0.4 (V rounded to float32, float32 products, double sums); "f64": all double.
    """
    dt = _dtype(precision)
    V = np.ascontiguousarray(_check_states(model, V), dtype=dt)
    P = np.empty((V.shape[0], 256), dtype=np.float64)
    _probabilities(np.ascontiguousarray(model.Wy, dtype=dt), model.readout_bias64(), V, P)
    return P


def output_gradients(model: ElmanRNN, V, targets, precision: str = "f64") -> tuple[np.ndarray, np.ndarray]:
    """(G, P): G[r] = d ln P(targets[r] | V[r]) / d V[r] = Wy^T (e_y - P) (m, H) in the precision's dtype,
    and P (m, 256) float64. For states hs and text xs use V = hs[:-1], targets = xs[1:].
    """
    V = _check_states(model, V)
    targets = as_bytes(targets)
    if targets.shape[0] != V.shape[0]:
        raise SatrnnInputError(f"{V.shape[0]} state rows but {targets.shape[0]} targets")
    dt = _dtype(precision)
    P = output_probabilities(model, V, precision)
    G = np.empty(V.shape, dtype=dt)
    _output_gradients(np.ascontiguousarray(model.Wy, dtype=dt), P, targets, G)
    return G, P


def backward_chain(model: ElmanRNN, hs, G, ends, depth: int, precision: str = "f64") -> np.ndarray:
    """Back-propagate start vectors through the Jacobians diag(1 - h^2) Wh.

    hs: (n, H) states (row s = h_s). G: (m, H), the gradient of some scalar with respect to h_{ends[r]}.
    Returns out (m, depth + 1, H) in the precision's dtype: out[r, d] = gradient with respect to
    h_{ends[r] - d}; NaN rows where ends[r] - d < 0. The gates used are those of h_{ends[r]}..h_{ends[r]-d+1}.
    """
    hs = _check_states(model, hs)
    dt = _dtype(precision)
    G = np.asarray(G)
    if G.ndim != 2 or G.shape[1] != model.H:
        raise SatrnnInputError(f"start gradients have shape {G.shape}, expected (m, {model.H})")
    ends = np.ascontiguousarray(np.asarray(ends, dtype=np.int64))
    if ends.shape != (G.shape[0],):
        raise SatrnnInputError(f"{G.shape[0]} start gradients but {ends.shape} end positions")
    if ends.size and (ends.min() < 0 or ends.max() >= hs.shape[0]):
        raise SatrnnInputError(f"end positions must lie in 0..{hs.shape[0] - 1}")
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or not 0 <= depth <= MAX_DEPTH:
        raise SatrnnInputError(f"depth must be an integer in 0..{MAX_DEPTH}, got {depth!r}")
    out = np.empty((G.shape[0], int(depth) + 1, model.H), dtype=dt)
    _backward_chain(np.ascontiguousarray(model.Wh, dtype=dt), np.ascontiguousarray(hs, dtype=dt),
                    np.ascontiguousarray(G, dtype=dt), ends, dt(1.0), out)
    return out


def state_gradients(model: ElmanRNN, hs, xs, depth: int, precision: str = "f64") -> tuple[np.ndarray, np.ndarray]:
    """All predictions at once: (B, P) with B[t, d] = d ln P_t[x_{t+1}] / d h_{t-d} (n-1, depth+1, H).

    hs: (n, H) states of the text xs (n,). P: (n-1, 256) the probabilities used for g_t.
    """
    xs = as_bytes(xs)
    hs = _check_states(model, hs)
    if hs.shape[0] != xs.shape[0] or xs.shape[0] < 2:
        raise SatrnnInputError(f"need n >= 2 states matching the text, got {hs.shape[0]} states, {xs.shape[0]} bytes")
    G, P = output_gradients(model, hs[:-1], xs[1:], precision)
    B = backward_chain(model, hs, G, np.arange(xs.shape[0] - 1), depth, precision)
    return B, P


def gate(hs, ends, depth: int) -> np.ndarray:
    """(m, depth+1, H) tanh derivatives 1 - h_{ends[r]-d}^2 in double (NaN where ends[r] - d < 0).

    Multiplying a backward_chain result by it gives gradients with respect to the pre-activations z.
    """
    hs = np.asarray(hs, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.int64)
    idx = ends[:, None] - np.arange(depth + 1)[None, :]
    g = 1.0 - hs[np.clip(idx, 0, None)] ** 2
    g[idx < 0] = np.nan
    return g
