"""The reference forward pass and the double-precision readout (DEFINITIONS.md sections 0.3-0.5).

Alignment: row t of `hs` is h_t, the state after reading byte x_t; it predicts x_{t+1}. h_{-1} = 0 unless a
start state is given. `costs[t]` (t = 0..n-2) is the cost in bits of x_{t+1} under P(h_t).

float32 ("f32") arithmetic is the papers': for each neuron i, z = bh[i] + Wx[i, x_t], then
z += Wh[i, j] * h[j] for j ascending, every product and sum rounded to float32 (no FMA), h = tanhf(z)
(glibc's single-precision tanhf, which numba's math.tanh calls on a float32). The "f64" variant widens the
weights to double and uses double tanh, for cross-checks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import SatrnnInputError
from .model import ElmanRNN
from .numba_config import njit, njit_parallel, prange

PRECISIONS = ("f32", "f64")
COST_FLOOR = 1e-30


@njit
def _step(Wx, WhT, bh, x, h, z):
    """One step of the reference recurrence, in place: z <- pre-activation under byte x, h <- tanh(z).

    WhT is Wh transposed (WhT[j, i] = Wh[i, j]), C-contiguous. Each z[i] is accumulated with j ascending,
    every product and sum rounded to the array dtype (float32: the papers' arithmetic). Looping j outside
    and i inside only changes which neuron is worked on when, so the inner loop vectorises across neurons
    without any reassociation (no fastmath, hence no FMA contraction either). Shared by every kernel
    that re-runs the recurrence, so there is one definition of the float32 step.
    """
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
def _forward_kernel(Wx, WhT, bh, xs, h0, hs, zs):
    """The recurrence over xs from h0 in the dtype of the arrays. Writes hs, zs (n, H)."""
    n = xs.shape[0]
    h = h0.copy()
    z = np.empty_like(h0)
    for t in range(n):
        _step(Wx, WhT, bh, xs[t], h, z)
        zs[t, :] = z
        hs[t, :] = h


@njit
def _logits(Wy, by, v, L):
    """L[o] = dbl(by[o]) + sum_j dbl(Wy[o, j] * v[j]), j ascending (a float32 product for float32 v)."""
    H = v.shape[0]
    for o in range(256):
        acc = np.float64(by[o])
        for j in range(H):
            acc += Wy[o, j] * v[j]
        L[o] = acc


@njit
def _softmax_cost(L, y, clamp):
    """Cost in bits of byte y under softmax(L) in double, o ascending (DEFINITIONS 0.4).

    clamp: -log2(max(P_y, 1e-30)); otherwise -ln(P_y)/ln 2 (q1_sparsity's convention).
    """
    mx = L[0]
    for o in range(1, 256):
        if L[o] > mx:
            mx = L[o]
    Z = 0.0
    for o in range(256):
        Z += math.exp(L[o] - mx)
    py = math.exp(L[y] - mx) / Z
    if clamp:
        return -math.log2(max(py, 1e-30))
    return -math.log(py) / math.log(2.0)


@njit_parallel
def _readout(Wy, by, V, targets, clamp, costs, logp):
    """Double-precision readout of rows of V (m, H) against targets (m,).

    L[o] = dbl(by[o]) + sum_j dbl(Wy[o, j] * V[r, j]) with j ascending; with float32 V the product is a
    float32 product (rounded), as in DEFINITIONS 0.4. Softmax in double with o ascending. costs[r] is
    -log2(max(P_y, 1e-30)) when clamp, else -ln(P_y)/ln 2. If logp has m rows, logp[r, o] = ln P_o.
    Rows are independent, so the parallel loop is deterministic.
    """
    m = V.shape[0]
    want = logp.shape[0] == m
    for r in prange(m):
        L = np.empty(256, dtype=np.float64)
        _logits(Wy, by, V[r], L)
        costs[r] = _softmax_cost(L, targets[r], clamp)
        if want:
            mx = L.max()
            Z = 0.0
            for o in range(256):
                Z += math.exp(L[o] - mx)
            lz = math.log(Z)
            for o in range(256):
                logp[r, o] = (L[o] - mx) - lz


@njit
def _sequential_mean(a):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s / a.shape[0]


def sequential_mean(a: np.ndarray) -> float:
    """Mean of a float64 vector summed in index order (the papers' bpc accumulation)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.size == 0:
        raise SatrnnInputError("cannot average zero predictions")
    return float(_sequential_mean(a))


def as_bytes(xs) -> np.ndarray:
    """Validate and convert an input sequence to a contiguous uint8 array."""
    a = np.asarray(xs)
    if a.ndim != 1:
        raise SatrnnInputError(f"input must be a 1-D byte sequence, got shape {a.shape}")
    if a.size and a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() > 255:
            raise SatrnnInputError("input bytes must be integers in 0-255")
    return np.ascontiguousarray(a, dtype=np.uint8)


def _start_state(model: ElmanRNN, h0, dtype) -> np.ndarray:
    if h0 is None:
        return np.zeros(model.H, dtype=dtype)
    h = np.asarray(h0)
    if h.shape != (model.H,):
        raise SatrnnInputError(f"start state has shape {h.shape}, expected ({model.H},)")
    if not np.isfinite(h).all():
        raise SatrnnInputError("start state contains NaN/Inf")
    return np.ascontiguousarray(h, dtype=dtype)


def run_states(model: ElmanRNN, xs, precision: str = "f32", h0=None) -> tuple[np.ndarray, np.ndarray]:
    """Hidden states and pre-activations (hs, zs), both (n, H); row t = after reading x_t.

    precision "f32": the papers' bit-exact float32 arithmetic; "f64": double weights and tanh.
    """
    xs = as_bytes(xs)
    if precision in PRECISIONS:
        dt = np.float32 if precision == "f32" else np.float64
        W = (np.ascontiguousarray(model.Wx, dtype=dt), np.ascontiguousarray(model.Wh.T, dtype=dt),
             np.ascontiguousarray(model.bh, dtype=dt))
    else:
        raise SatrnnInputError(f"unknown precision {precision!r} (use one of {', '.join(PRECISIONS)})")
    n = xs.shape[0]
    hs = np.empty((n, model.H), dtype=dt)
    zs = np.empty((n, model.H), dtype=dt)
    _forward_kernel(*W, xs, _start_state(model, h0, dt), hs, zs)
    return hs, zs


def readout_costs(model: ElmanRNN, V: np.ndarray, targets, clamp: bool = True, want_logp: bool = False,
                  Wy: np.ndarray | None = None):
    """Per-row costs in bits of `targets` under the readout of rows of V (m, H), float32 or float64.

    Returns (costs (m,) float64, logp (m, 256) float64 natural-log probabilities or None). `Wy` overrides
    the model's readout matrix (e.g. knocked-out columns); it must have the model's dtype and shape.
    """
    V = np.asarray(V)
    if V.ndim != 2 or V.shape[1] != model.H:
        raise SatrnnInputError(f"readout input has shape {V.shape}, expected (m, {model.H})")
    if V.dtype not in (np.float32, np.float64):
        raise SatrnnInputError(f"readout input dtype {V.dtype} must be float32 or float64")
    targets = as_bytes(targets)
    if targets.shape[0] != V.shape[0]:
        raise SatrnnInputError(f"{V.shape[0]} readout rows but {targets.shape[0]} targets")
    Wy = model.Wy if Wy is None else np.ascontiguousarray(Wy, dtype=np.float32)
    if Wy.shape != model.Wy.shape:
        raise SatrnnInputError(f"Wy override has shape {Wy.shape}, expected {model.Wy.shape}")
    m = V.shape[0]
    costs = np.empty(m, dtype=np.float64)
    logp = np.empty((m if want_logp else 0, 256), dtype=np.float64)
    if V.dtype == np.float64:
        _readout(Wy.astype(np.float64), model.by.astype(np.float64), np.ascontiguousarray(V), targets,
                 clamp, costs, logp)
    else:
        _readout(Wy, model.by, np.ascontiguousarray(V), targets, clamp, costs, logp)
    return costs, (logp if want_logp else None)


# The float32 step, the whole forward and the softmax cost as numba building blocks for kernels of the
# other layers (UM, redux, offsets), which must share these definitions: njit functions, call them only
# from numba code. Public names, so no layer imports another's private kernels.
step_kernel = _step
forward_kernel = _forward_kernel
softmax_cost_kernel = _softmax_cost


@dataclass
class ForwardResult:
    """Everything a forward pass over a text produces.

    hs, zs: (n, H) states and the pre-activations that produced them (row t = after x_t).
    costs: (n-1,) bits for predicting x_{t+1} from h_t. bpc: their sequential mean.
    logp: (n-1, 256) natural-log next-byte probabilities, when requested.
    """

    hs: np.ndarray
    zs: np.ndarray
    costs: np.ndarray
    bpc: float
    precision: str
    logp: np.ndarray | None = None

    @property
    def predictions(self) -> int:
        return int(self.costs.shape[0])


def forward(model: ElmanRNN, xs, precision: str = "f32", h0=None, clamp: bool = True,
            want_logp: bool = False) -> ForwardResult:
    """Run the model over the text and read out every prediction (n-1 of them, needs n >= 2)."""
    xs = as_bytes(xs)
    if xs.shape[0] < 2:
        raise SatrnnInputError(f"text has {xs.shape[0]} byte(s); at least 2 are needed for a prediction")
    hs, zs = run_states(model, xs, precision, h0)
    costs, logp = readout_costs(model, hs[:-1], xs[1:], clamp=clamp, want_logp=want_logp)
    return ForwardResult(hs=hs, zs=zs, costs=costs, bpc=sequential_mean(costs), precision=precision, logp=logp)
