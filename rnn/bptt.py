"""Exact loss gradients of the Elman RNN over one chunk of text (back-propagation through time).

Cell: h_t = tanh(bh + Wx[:, x_t] + Wh h_{t-1}); logits l_t = by + Wy h_t; p_t = softmax(l_t).
A chunk of text xs[0..T] (T + 1 bytes) gives T predictions: h_t (after reading xs[t]) predicts xs[t+1],
t = 0..T-1, starting from the given state h_{-1} = h0 (zeros by default).

Loss: the MEAN cross-entropy over the T predictions in NATURAL LOG (nats); divide by ln 2 for bits.
Gradients are exact (no truncation inside the chunk) with respect to Wx, Wh, bh, Wy, by and the start
state h0. Arithmetic is in the working dtype (float64 for checks, float32 for speed); the loss sum is
always accumulated in float64. Kernels are sequential, so results never depend on the thread count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from satrnn.rnn.elementary import exp_like, log_f64, tanh_code, tanh_like
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import LN2, as_bytes
from satrnn.rnn.model import MATRICES, N_BYTES, ElmanRNN
from satrnn.rnn.numba_config import njit

DTYPES = {"f64": np.float64, "f32": np.float32}


_TBLOCK = 8  # time steps whose logits are accumulated together (each row of WyT is then read once per block)


@njit
def _chunk_grads(Wx, Wh, bh, Wy, by, WhT, WyT, xs, h0, hs, ps, gWx, gWh, gbh, gWy, gby, dh0, sem):
    """Forward and backward over inputs xs[0..T-1] with targets xs[1..T]; T = hs.shape[0] - 1.

    WhT (H, H) and WyT (H, 256) are transposed copies of Wh and Wy (so the forward inner loops run over
    contiguous memory without reassociating any sum). Writes hs (T + 1, H) with hs[0] = h0 and hs[t + 1] =
    h_t, and ps (T, 256) (softmax probabilities, then overwritten by the logit gradients p - onehot).
    ADDS the gradient of the SUMMED cross-entropy (nats) into gWx, gWh, gbh, gWy, gby and writes its
    gradient w.r.t. h0 into dh0. Returns the summed cross-entropy (nats).

    The readout and the outer-product gradients do not feed the recurrence, so they are done for the whole
    chunk at once, one weight row at a time (each weight row is touched once per chunk, not once per step).
    """
    T = hs.shape[0] - 1
    H = bh.shape[0]
    z = np.empty_like(bh)
    for i in range(H):
        hs[0, i] = h0[i]
    # forward recurrence
    for t in range(T):
        x = xs[t]
        for i in range(H):
            z[i] = bh[i] + Wx[i, x]
        for j in range(H):
            hj = hs[t, j]
            for i in range(H):
                z[i] += WhT[j, i] * hj
        for i in range(H):
            hs[t + 1, i] = tanh_like(z[i], sem)   # satrnn's tanh in the working dtype (sem: float32 semantics)
    # logits of the whole chunk (into ps), in blocks of time steps
    for t0 in range(0, T, _TBLOCK):
        t1 = min(T, t0 + _TBLOCK)
        for t in range(t0, t1):
            for o in range(N_BYTES):
                ps[t, o] = by[o]
        for j in range(H):
            for t in range(t0, t1):
                hj = hs[t + 1, j]
                for o in range(N_BYTES):
                    ps[t, o] += WyT[j, o] * hj
    # softmax, loss, and the logit gradient p - onehot(target)
    loss = 0.0
    for t in range(T):
        mx = ps[t, 0]
        for o in range(1, N_BYTES):
            if ps[t, o] > mx:
                mx = ps[t, o]
        y = xs[t + 1]
        ly = np.float64(ps[t, y]) - np.float64(mx)
        Z = 0.0
        for o in range(N_BYTES):
            e = exp_like(ps[t, o] - mx)
            ps[t, o] = e
            Z += e
        for o in range(N_BYTES):
            ps[t, o] = ps[t, o] / Z
        ps[t, y] -= 1.0
        loss += log_f64(Z) - ly
    # readout gradients and G[t] = Wy^T dl_t for the whole chunk, one output row o at a time
    G = np.zeros((T, H), dtype=bh.dtype)
    for o in range(N_BYTES):
        for t in range(T):
            d = ps[t, o]
            gby[o] += d
            for j in range(H):
                gWy[o, j] += d * hs[t + 1, j]
                G[t, j] += Wy[o, j] * d
    # backward recurrence: dz_t = (G[t] + Wh^T dz_{t+1}) (1 - h_t^2); dz_t overwrites G[t]
    dh = np.zeros_like(bh)
    for t in range(T - 1, -1, -1):
        x = xs[t]
        for i in range(H):
            hi = hs[t + 1, i]
            dzi = (G[t, i] + dh[i]) * (1.0 - hi * hi)
            G[t, i] = dzi
            gbh[i] += dzi
            gWx[i, x] += dzi
        for j in range(H):
            dh[j] = 0.0
        for i in range(H):
            d = G[t, i]
            for j in range(H):
                dh[j] += Wh[i, j] * d
    for j in range(H):
        dh0[j] = dh[j]
    # recurrent weight gradient, one row i at a time
    for i in range(H):
        for t in range(T):
            d = G[t, i]
            for j in range(H):
                gWh[i, j] += d * hs[t, j]
    return loss


@dataclass
class ChunkGradients:
    """Mean cross-entropy of a chunk and its exact gradients (arrays in the working dtype).

    loss_nats: mean over the T predictions, natural log; bpc = loss_nats / ln 2.
    grads: {"Wx", "Wh", "bh", "Wy", "by", "h0"} -> gradient of loss_nats, model shapes, h0 (H,).
    h_last: the state after the last input byte (row T-1 of the states), to carry into the next chunk.
    """

    loss_nats: float
    grads: dict
    h_last: np.ndarray
    predictions: int

    @property
    def bpc(self) -> float:
        return self.loss_nats / LN2


def _param_arrays(params, dt) -> dict:
    if isinstance(params, ElmanRNN):
        params = params.arrays()
    try:
        arrays = {n: np.ascontiguousarray(params[n], dtype=dt) for n in MATRICES}
    except (KeyError, TypeError):
        raise SatrnnInputError(f"parameters must be an ElmanRNN or a dict with {', '.join(MATRICES)}") from None
    H = arrays["bh"].shape[0]
    want = {"Wx": (H, N_BYTES), "Wh": (H, H), "bh": (H,), "Wy": (N_BYTES, H), "by": (N_BYTES,)}
    for n, shape in want.items():
        if arrays[n].shape != shape:
            raise SatrnnInputError(f"parameter {n} has shape {arrays[n].shape}, expected {shape}")
        if not np.isfinite(arrays[n]).all():
            raise SatrnnInputError(f"parameter {n} contains NaN/Inf")
    return arrays


def loss_and_gradients(params, xs, h0=None, precision: str = "f64", tanh: str = "fdlibm") -> ChunkGradients:
    """Mean cross-entropy (nats) of predicting xs[1:] from the states after xs[:-1], and its gradients.

    params: an ElmanRNN or a dict of arrays Wx, Wh, bh, Wy, by (any float dtype; converted to the working
    dtype). h0: start state h_{-1} (default zeros). precision: "f64" (default) or "f32"; tanh: the float32
    tanh semantics ("f32" only; double uses satrnn's double tanh).
    """
    sem = tanh_code(tanh)
    if precision not in DTYPES:
        raise SatrnnInputError(f"unknown precision {precision!r} (use f64 or f32)")
    dt = DTYPES[precision]
    P = _param_arrays(params, dt)
    H = P["bh"].shape[0]
    xs = as_bytes(xs)
    T = xs.shape[0] - 1
    if T < 1:
        raise SatrnnInputError(f"a chunk needs at least 2 bytes, got {xs.shape[0]}")
    if h0 is None:
        h0 = np.zeros(H, dt)
    else:
        h0 = np.asarray(h0)
        if h0.shape != (H,) or not np.isfinite(h0).all():
            raise SatrnnInputError(f"start state must be a finite vector of shape ({H},)")
        h0 = np.ascontiguousarray(h0, dtype=dt)
    g = {n: np.zeros_like(P[n]) for n in MATRICES}
    dh0 = np.zeros(H, dt)
    hs = np.empty((T + 1, H), dt)
    ps = np.empty((T, N_BYTES), dt)
    loss = _chunk_grads(P["Wx"], P["Wh"], P["bh"], P["Wy"], P["by"], np.ascontiguousarray(P["Wh"].T),
                        np.ascontiguousarray(P["Wy"].T), xs, h0, hs, ps,
                        g["Wx"], g["Wh"], g["bh"], g["Wy"], g["by"], dh0, sem)
    scale = dt(1.0 / T)
    grads = {n: g[n] * scale for n in MATRICES}
    grads["h0"] = dh0 * scale
    return ChunkGradients(loss_nats=float(loss) / T, grads=grads, h_last=hs[T].copy(), predictions=T)
