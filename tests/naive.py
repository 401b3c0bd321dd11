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


# ---- automaton.cycles / automaton.cascade (DEFINITIONS 0.6, 3.3, 4.2-4.4) ---------------------------
# States are tuples of +1/-1 ints (index j = neuron j); as integers, bit j set <=> neuron j is +1.

def bool_step(Wx, Wh, bh, x, s, semantics="f32-seq"):
    """Boolean step B(s, x) of DEFINITIONS 0.6 on a +-1 sequence; returns a tuple of +-1.

    f32-seq: z accumulated as in 0.3 with h replaced by s (bh + Wx first, then j ascending, float32);
    exact: the sign of the exact real sum of the same float32 terms (math.fsum is correctly rounded, so its
    sign is the exact sum's sign). A zero sum counts as +1.
    """
    H = len(bh)
    out = []
    for i in range(H):
        if semantics == "f32-seq":
            z = preactivation_f32(Wx, Wh, bh, x, [f32(v) for v in s], i)
            out.append(1 if z >= 0 else -1)
        elif semantics == "exact":
            terms = [float(bh[i]), float(Wx[i][x])] + [float(Wh[i][j]) * s[j] for j in range(H)]
            out.append(1 if math.fsum(terms) >= 0 else -1)
        else:
            raise ValueError(semantics)
    return tuple(out)


def state_to_int(s) -> int:
    return sum(1 << j for j, v in enumerate(s) if v > 0)


def int_to_state(v: int, H: int):
    return tuple(1 if (v >> j) & 1 else -1 for j in range(H))


def hamming_states(a, b) -> int:
    return sum(1 for u, v in zip(a, b) if u != v)


def find_cycle_dict(step, s0, max_steps):
    """Brute-force cycle search: remember every visited state with its time.

    step(state) -> state. Returns (mu, lam, smallest cycle state as int) or None if no state repeats
    within max_steps steps.
    """
    seen = {}
    s = tuple(s0)
    for t in range(max_steps + 1):
        if s in seen:
            mu = seen[s]
            lam = t - mu
            cyc, c = [], s
            for _ in range(lam):
                cyc.append(state_to_int(c))
                c = step(c)
            return mu, lam, min(cyc)
        seen[s] = t
        s = step(s)
    return None


def exhaustive_cycles(step, H):
    """Every cycle of the map on all 2^H states: {smallest state int: (period, basin size)}, and
    the dict {state int: smallest state int of the cycle it falls into} (via find_cycle_dict)."""
    succ = {v: state_to_int(step(int_to_state(v, H))) for v in range(1 << H)}
    cycle_of = {}
    cycles = {}
    for v in range(1 << H):
        path, u = [], v
        pos = {}
        while u not in cycle_of and u not in pos:
            pos[u] = len(path)
            path.append(u)
            u = succ[u]
        if u in cycle_of:
            rep = cycle_of[u]
        else:  # found a new cycle: path[pos[u]:]
            cyc = path[pos[u]:]
            rep = min(cyc)
            cycles[rep] = [len(cyc), 0]
        for w in path:
            cycle_of[w] = rep
    for v in range(1 << H):
        cycles[cycle_of[v]][1] += 1
    return {k: tuple(v) for k, v in cycles.items()}, cycle_of


def flip_cascade(step_x, s, inputs, j, k):
    """Hamming distances d_1..d_k between the runs from s and from s with neuron j negated, both driven by
    inputs[0..k-1]. step_x(state, x) -> state."""
    a = tuple(s)
    b = tuple(-v if q == j else v for q, v in enumerate(s))
    out = []
    for m in range(k):
        a = step_x(a, int(inputs[m]))
        b = step_x(b, int(inputs[m]))
        out.append(hamming_states(a, b))
    return out


def flip_sensitivity_paper(step_x, xs, H, t=42):
    """DEFINITIONS 3.3 literally: c_j, most_affected_j (largest differing index or -1), mean = fl32(sum)/128."""
    s = tuple([-1] * H)
    for u in range(t + 1):
        s = step_x(s, int(xs[u]))
    base = step_x(s, int(xs[t + 1]))
    cs, most = [], []
    for j in range(H):
        sj = tuple(-v if q == j else v for q, v in enumerate(s))
        o = step_x(sj, int(xs[t + 1]))
        diff = [i for i in range(H) if o[i] != base[i]]
        cs.append(len(diff))
        most.append(diff[-1] if diff else -1)
    return cs, most, f32(f32(sum(cs)) / f32(H)), s


def influence_graph_paper(step_x, sign_states, xs, H):
    """DEFINITIONS 4.2 literally: sign_states[t] = sigma_t (+-1 tuples); T = 10, 13, ... < n-2.

    Returns (frac float32 (H, H) indexed [j][i], mean influence per edge)."""
    n = len(xs)
    T = list(range(10, n - 2, 3))
    C = np.zeros((H, H), dtype=np.int64)
    for t in T:
        s = sign_states[t]
        base = step_x(s, int(xs[t + 1]))
        for j in range(H):
            o = step_x(tuple(-v if q == j else v for q, v in enumerate(s)), int(xs[t + 1]))
            for i in range(H):
                if o[i] != base[i]:
                    C[j][i] += 1
    frac = np.zeros((H, H), dtype=np.float32)
    for j in range(H):
        for i in range(H):
            frac[j][i] = f32(f32(C[j][i]) / f32(len(T)))
    tot = f32(0.0)
    for j in range(H):
        for i in range(H):
            tot = f32(tot + frac[j][i])
    return frac, f32(tot / f32(H * H)), len(T)


def libc_rand_stream(seed):
    """The real glibc srand(seed)/rand() through ctypes (an independent check of automaton.glibc_rand)."""
    libc = ctypes.CDLL("libc.so.6")
    libc.srand(ctypes.c_uint(seed))
    return libc.rand


def attractor_search_paper(step_x, x, H, seed=42, trials=50, steps=100, warmup=100, record=200, max_period=100):
    """DEFINITIONS 4.3 and 4.4 literally, with libc's rand().

    Returns (initial states, final states, converge_k list, unique classes [(first trial, size)], mean
    convergence fl32, cycle start state, period (0 = none <= max_period))."""
    rand = libc_rand_stream(seed)
    inits, finals, conv = [], [], []
    for k in range(trials):
        bits = [rand() & 1 for _ in range(H)]
        s = tuple(1 if b else -1 for b in bits)
        inits.append(s)
        ck = steps
        for st in range(steps):
            nxt = step_x(s, x)
            if nxt == s and ck == steps:
                ck = st
            s = nxt
        finals.append(s)
        conv.append(ck)
    classes = []
    for k, s in enumerate(finals):
        for c in classes:
            if finals[c[0]] == s:
                c[1] += 1
                break
        else:
            classes.append([k, 1])
    mean_conv = f32(f32(sum(conv)) / f32(trials))
    s = tuple(1 if (rand() & 1) else -1 for _ in range(H))
    start = s
    for _ in range(warmup):
        s = step_x(s, x)
    taus = []
    for _ in range(record):
        s = step_x(s, x)
        taus.append(s)
    period = 0
    for p in range(1, max_period + 1):
        if taus[record - 1] == taus[record - 1 - p]:
            period = p
            break
    return inits, finals, conv, [tuple(c) for c in classes], mean_conv, start, period
