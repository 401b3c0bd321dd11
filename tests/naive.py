"""Slow, obviously-correct references written straight from ../shared/DEFINITIONS.md.

Every fast kernel in satrnn is checked against a function here. Keep these literal: Python loops over
np.float32 scalars, explicit orders of summation, no cleverness. Sections are owned by the module they check.
"""
from __future__ import annotations

import ctypes
import math

import numpy as np

_libm = ctypes.CDLL("libm.so.6")

f32 = np.float32


# ---- rnn.elementary: satrnn's own elementary functions, literally -------------------------------------
# Straight-line transcriptions with the algorithms' branches written as branches (the kernels compute every
# path and select): fdlibm's expm1f/tanhf in np.float32 scalar arithmetic (each operation rounded to
# float32), the double functions in Python floats (IEEE double, no FMA). Independent of the host's libm.

def _u32(x) -> int:
    return int(np.array(x, dtype=np.float32).view(np.uint32))


def _from_u32(b: int) -> np.float32:
    return np.array(b & 0xFFFFFFFF, dtype=np.uint32).view(np.float32)[()]


def expm1f_fdlibm(x) -> np.float32:
    """fdlibm's expm1f (glibc <= 2.40), line by line."""
    x = f32(x)
    one, half, huge, tiny = f32(1.0), f32(0.5), f32(1.0e30), f32(1.0e-30)
    ln2_hi, ln2_lo, invln2 = _from_u32(0x3F317180), _from_u32(0x3717F7D1), _from_u32(0x3FB8AA3B)
    Q1, Q2, Q3, Q4, Q5 = (_from_u32(b) for b in (0xBD088889, 0x3AD00D01, 0xB8A670CD, 0x36867E54, 0xB457EDBB))
    hx = _u32(x)
    xsb = hx & 0x80000000
    hx &= 0x7FFFFFFF
    with np.errstate(all="ignore"):
        if hx >= 0x4195B844:                       # |x| >= 27 ln2
            if hx >= 0x42B17218:                   # |x| >= 88.72...
                if hx > 0x7F800000:
                    return f32(x + x)
                if hx == 0x7F800000:
                    return x if xsb == 0 else f32(-1.0)
                if x > _from_u32(0x42B17180):
                    return f32(huge * huge)
            if xsb != 0:
                return f32(tiny - one)
        c = f32(0.0)
        if hx > 0x3EB17218:                        # |x| > 0.5 ln2
            if hx < 0x3F851592:                    # and < 1.5 ln2
                if xsb == 0:
                    hi, lo, k = f32(x - ln2_hi), ln2_lo, 1
                else:
                    hi, lo, k = f32(x + ln2_hi), f32(-ln2_lo), -1
            else:
                k = int(f32(invln2 * x + (half if xsb == 0 else -half)))   # C: truncation toward zero
                t = f32(k)
                hi = f32(x - f32(t * ln2_hi))
                lo = f32(t * ln2_lo)
            x = f32(hi - lo)
            c = f32(f32(hi - x) - lo)
        elif hx < 0x33000000:                      # |x| < 2^-25
            return x
        else:
            k = 0
        hfx = f32(half * x)
        hxs = f32(x * hfx)
        r1 = f32(one + f32(hxs * f32(Q1 + f32(hxs * f32(Q2 + f32(hxs * f32(Q3 + f32(hxs * f32(
            Q4 + f32(hxs * Q5))))))))))
        t = f32(f32(3.0) - f32(r1 * hfx))
        e = f32(hxs * f32(f32(r1 - t) / f32(f32(6.0) - f32(x * t))))
        if k == 0:
            return f32(x - f32(f32(x * e) - hxs))
        e = f32(f32(x * f32(e - c)) - c)
        e = f32(e - hxs)
        if k == -1:
            return f32(f32(half * f32(x - e)) - half)
        if k == 1:
            if x < f32(-0.25):
                return f32(f32(-2.0) * f32(e - f32(x + half)))
            return f32(one + f32(f32(2.0) * f32(x - e)))
        if k <= -2 or k > 56:
            y = f32(one - f32(e - x))
            y = _from_u32(_u32(y) + (k << 23))
            return f32(y - one)
        if k < 23:
            t = _from_u32(0x3F800000 - (0x1000000 >> k))
            y = f32(t - f32(e - x))
            return _from_u32(_u32(y) + (k << 23))
        t = _from_u32((0x7F - k) << 23)
        y = f32(x - f32(e + t))
        y = f32(y + one)
        return _from_u32(_u32(y) + (k << 23))


def tanhf_fdlibm(x) -> np.float32:
    """fdlibm's tanhf (glibc <= 2.40), line by line."""
    x = f32(x)
    one, two, tiny = f32(1.0), f32(2.0), f32(1.0e-30)
    jx = _u32(x)
    ix = jx & 0x7FFFFFFF
    with np.errstate(all="ignore"):
        if ix >= 0x7F800000:
            return f32(f32(one / x) + one) if jx < 0x80000000 else f32(f32(one / x) - one)
        if ix < 0x41B00000:                        # |x| < 22
            if ix == 0:
                return x
            if ix < 0x24000000:                    # |x| < 2^-55
                return f32(x * f32(one + x))
            if ix >= 0x3F800000:                   # |x| >= 1
                t = expm1f_fdlibm(f32(two * abs(x)))
                z = f32(one - f32(two / f32(t + two)))
            else:
                t = expm1f_fdlibm(f32(f32(-two) * abs(x)))
                z = f32(f32(-t) / f32(t + two))
        else:
            z = f32(one - tiny)
        return z if jx < 0x80000000 else f32(-z)


def tanhf_cr(x) -> np.float32:
    """The correctly rounded float32 tanh (round to nearest even), from mpmath at 120 bits."""
    import mpmath
    x = f32(x)
    if x != x or x == 0 or np.isinf(x):
        return tanhf_fdlibm(x)                     # NaN, +-0, +-1: exact in every semantics
    with mpmath.workprec(120):
        v = mpmath.tanh(mpmath.mpf(float(x)))
        f = f32(float(v))
        cands = [np.nextafter(f, f32(-np.inf)), f, np.nextafter(f, f32(np.inf))]
        return min(cands, key=lambda c: (abs(mpmath.mpf(float(c)) - v), _u32(c) & 1))


_HOST_TANHF = _libm.tanhf
_HOST_TANHF.restype = ctypes.c_float
_HOST_TANHF.argtypes = [ctypes.c_float]


def host_tanhf(z) -> np.float32:
    """The host libm's tanhf (glibc <= 2.40: fdlibm's; >= 2.41: correctly rounded). Only for checks that
    say which host they need."""
    return f32(_HOST_TANHF(float(z)))


def tanhf(z, tanh: str = "fdlibm") -> np.float32:
    """satrnn's float32 tanh under the named semantics (DEFINITIONS 0.3 names glibc's tanhf: "fdlibm")."""
    return tanhf_fdlibm(z) if tanh == "fdlibm" else tanhf_cr(z)


_LN2_HI = float(np.array(0x3FE62E42FEE00000, dtype=np.uint64).view(np.float64))
_LN2_LO = float(np.array(0x3DEA39EF35793C76, dtype=np.uint64).view(np.float64))
_INV_FACT = [1.0 / math.factorial(n) for n in range(14)]     # each rounded once to double


def _expm1_poly(r: float) -> float:
    """r + r^2 (1/2! + r (1/3! + ... + r / 13!)), Horner from the top."""
    p = _INV_FACT[13]
    for n in range(12, 1, -1):
        p = _INV_FACT[n] + r * p
    return r + (r * r) * p


def _reduce(x: float) -> tuple[float, float]:
    """x = k ln2 + r with k = x / ln 2 rounded to nearest even (a double), Cody-Waite in two parts."""
    k = float(round(x * 1.4426950408889634))       # Python's round: to nearest, ties to even
    return k, (x - k * _LN2_HI) - k * _LN2_LO


def exp64(x: float) -> float:
    """satrnn's exp_f64, literally."""
    x = float(x)
    if x != x:
        return x + x
    if x > 709.782712893384:
        return math.inf
    if x < -745.1332191019412:
        return 0.0
    k, r = _reduce(x)
    k1 = math.floor(k / 2)
    return ((1.0 + _expm1_poly(r)) * math.ldexp(1.0, int(k1))) * math.ldexp(1.0, int(k - k1))


def expm1_64(x: float) -> float:
    """satrnn's expm1_f64, literally."""
    x = float(x)
    if x != x:
        return x + x
    if abs(x) < 1e-300:
        return x
    if x > 709.782712893384:
        return math.inf
    if x < -38.0:
        return -1.0
    k, r = _reduce(x)
    p = _expm1_poly(r)
    if k == 0:
        return p
    k1 = math.floor(k / 2)
    s1, s2 = math.ldexp(1.0, int(k1)), math.ldexp(1.0, int(k - k1))
    if k > 56:
        return ((1.0 + p) * s1) * s2 - 1.0
    return (p * s1) * s2 + ((s1 * s2) - 1.0)


def tanh64(x: float) -> float:
    """satrnn's tanh_f64 (fdlibm's tanh formula on expm1_64), literally."""
    x = float(x)
    if x != x:
        return x + x
    ax = abs(x)
    if ax < 1e-300:
        return x
    if ax < 2.0 ** -55:
        return x * (1.0 + x)
    if ax >= 22.0:
        z = 1.0
    elif ax >= 1.0:
        t = expm1_64(2.0 * ax)
        z = 1.0 - 2.0 / (t + 2.0)
    else:
        t = expm1_64(-(2.0 * ax))
        z = -t / (t + 2.0)
    return z if x >= 0 else -z


def _log_parts(x: float) -> tuple[float, float]:
    """x = 2^e m with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s), s = (m - 1) / (m + 1)."""
    m, e = math.frexp(x)                           # exact: x = m 2^e, 0.5 <= m < 1
    m, e = m * 2.0, e - 1
    if m >= 1.4142135623730951:
        m, e = m * 0.5, e + 1
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    q = 1.0 / 23.0
    for n in (21, 19, 17, 15, 13, 11, 9, 7, 5, 3):
        q = 1.0 / n + z * q
    return float(e), (f - s * f) + (2.0 * s) * (z * q)


def log64(x: float) -> float:
    """satrnn's log_f64, literally."""
    x = float(x)
    if x != x:
        return x + x
    if x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    if x == math.inf:
        return x
    e, lm = _log_parts(x)
    return (e * _LN2_HI + lm) + e * _LN2_LO


def log2_64(x: float) -> float:
    """satrnn's log2_f64, literally."""
    x = float(x)
    if x != x:
        return x + x
    if x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    if x == math.inf:
        return x
    e, lm = _log_parts(x)
    return e + lm * 1.4426950408889634


def expf(z) -> np.float32:
    """satrnn's float32 exp: the double exp of the widened argument, rounded once."""
    return f32(exp64(float(f32(z))))


def expm1f(x) -> np.float32:
    """satrnn's (fdlibm's) expm1f."""
    return expm1f_fdlibm(x)


LN2 = 0.6931471805599453


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
    e = [exp64(float(L[o]) - mx) for o in range(256)]
    Z = 0.0
    for o in range(256):
        Z += e[o]
    p = e[y] / Z
    if clamp:
        return -log2_64(max(p, 1e-30))
    return -log64(p) / LN2


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
    for _ in range(trials):
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


# ---- data statistics: analyses.offsets / pmi / factor_map / counting (DEFINITIONS 0.7-0.8, 6, 10, 11, Part II) ----

def flip_rerun(Wx, Wh, bh, xs, hs, t, p):
    """R(t, p) literally: from stored h_{p-1} (zeros if p = 0) step with x_p XOR 0x80, then x_{p+1}..x_t."""
    seq = [int(x) for x in xs[p:t + 1]]
    seq[0] = (seq[0] + 128) % 256
    h0 = None if p == 0 else hs[p - 1]
    out, _ = forward_f32(Wx, Wh, bh, seq, h0=h0)
    return out[-1]


def probs(Wy, by, v):
    """P_o(v) in double, literally as in DEFINITIONS 0.4 (list of 256 floats)."""
    H = len(v)
    L = []
    for o in range(256):
        acc = float(f32(by[o]))
        for j in range(H):
            acc += float(f32(f32(Wy[o][j]) * f32(v[j])))
        L.append(acc)
    mx = max(L)
    e = [exp64(L[o] - mx) for o in range(256)]
    Z = 0.0
    for o in range(256):
        Z += e[o]
    return [e[o] / Z for o in range(256)]


def q2_offsets(Wx, Wh, bh, Wy, by, xs, positions, max_depth, shift=0):
    """q2_offsets literally (DEFINITIONS 6); shift = 1 is the corrected convention p = t - d + 1."""
    n = len(xs)
    hs, _ = forward_f32(Wx, Wh, bh, xs)
    H = len(bh)
    T = [t for t in positions if t < n - 1]
    N = [[0] * max_depth for _ in range(H)]
    kl = [0.0] * max_depth
    runs = [0] * max_depth
    for t in T:
        pb = probs(Wy, by, hs[t])
        for d in range(1, max_depth + 1):
            p = t - d + shift
            if p < 0:
                continue
            hp = flip_rerun(Wx, Wh, bh, xs, hs, t, p)
            runs[d - 1] += 1
            for j in range(H):
                if (hp[j] >= 0) != (hs[t][j] >= 0):
                    N[j][d - 1] += 1
            pp = probs(Wy, by, hp)
            s = 0.0
            for o in range(256):
                if pb[o] > 1e-30 and pp[o] > 1e-30:
                    s += pb[o] * log2_64(pb[o] / pp[o])
            kl[d - 1] += s
    dom = []
    for j in range(H):
        best, bd = 0, 1
        for d in range(1, max_depth + 1):
            if N[j][d - 1] > best:
                best, bd = N[j][d - 1], d
        dom.append(bd)
    S = [sum(N[j][d] for j in range(H)) for d in range(max_depth)]
    total = sum(S)
    hist = [sum(1 for j in range(H) if dom[j] == d) for d in range(1, max_depth + 1)]
    g = sum(S[d - 1] for d in (1, 3, 8, 20) if d <= max_depth)
    fm = sum(S[d - 1] for d in (1, 7) if d <= max_depth)
    return {"N": N, "S": S, "dom": dom, "hist": hist, "runs": runs,
            "mean_sign_changes": [S[d] / runs[d] if runs[d] else None for d in range(max_depth)],
            "mean_kl": [kl[d] / runs[d] if runs[d] else None for d in range(max_depth)],
            "mi_greedy_total": 100.0 * g / total if total else 0.0,
            "fm_total": 100.0 * fm / total if total else 0.0}


def pmi(xs, d, x, y):
    """PMI_d(x, y) of DEFINITIONS 10.1, or None when undefined."""
    n = len(xs)
    cx = sum(1 for b in xs if b == x)
    cy = sum(1 for b in xs if b == y)
    J = sum(1 for s in range(n - d) if xs[s] == x and xs[s + d] == y)
    if cx == 0 or cy == 0 or J == 0:
        return None
    return log2_64((J / (n - d)) / ((cx / n) * (cy / n)))


def top_pmi(xs, d):
    """First strict maximum scanning x then y ascending from -99: (x, y, pmi) or None."""
    n = len(xs)
    c = [0] * 256
    for b in xs:
        c[b] += 1
    J = {}
    for s in range(n - d):
        J[(xs[s], xs[s + d])] = J.get((xs[s], xs[s + d]), 0) + 1
    best, arg = -99.0, None
    for x in range(256):
        if c[x] == 0:
            continue
        for y in range(256):
            if c[y] == 0 or J.get((x, y), 0) == 0:
                continue
            v = log2_64((J[(x, y)] / (n - d)) / ((c[x] / n) * (c[y] / n)))
            if v > best:
                best, arg = v, (x, y, v)
    return arg


def q7_cells(Wx, Wh, bh, Wy, by, xs, positions, max_d):
    """delta(t, d) = cost(R(t, t-d+1), x_{t+1}) - cost(h_t, x_{t+1}) literally: {(t, d): delta}."""
    hs, _ = forward_f32(Wx, Wh, bh, xs)
    out = {}
    for t in positions:
        y = int(xs[t + 1])
        base = readout_cost(Wy, by, hs[t], y)
        for d in range(1, max_d + 1):
            p = t - d + 1
            if p < 0:
                continue
            out[(t, d)] = readout_cost(Wy, by, flip_rerun(Wx, Wh, bh, xs, hs, t, p), y) - base
    return out


def q7_algebraic_table(xs, cells, max_d):
    """A_d, B_d (DEFINITIONS 10.3) from literal cells, and the total aligned %."""
    A = [0.0] * max_d
    B = [0.0] * max_d
    for (t, d), delta in sorted(cells.items()):
        v = pmi(list(xs), d, int(xs[t - d + 1]), int(xs[t + 1]))
        v = 0.0 if v is None else v
        A[d - 1] += abs(delta)
        if v > 0.5:
            B[d - 1] += abs(delta)
    return A, B, (100.0 * sum(B) / sum(A) if sum(A) else 0.0)


def trigram_pmi(xs, t, d, norm_pairs):
    """pmi3 of DEFINITIONS 11.1 for position t, offset d >= 2 (0 when not computed); norm_pairs = n-1 (paper)."""
    n = len(xs)
    a, b, y = xs[t - d + 1], xs[t - d + 2], xs[t + 1]
    cp = ct = 0
    for s in range(n - d):
        if xs[s] == a and xs[s + 1] == b:
            cp += 1
            if xs[s + d] == y:
                ct += 1
    cy = sum(1 for v in xs if v == y)
    if cp > 2 and ct > 0:
        return log2_64((ct / (n - d)) / ((cp / norm_pairs) * (cy / n)))
    return 0.0


def q7_higher_order_table(xs, cells, max_d, corrected=False):
    """R_d, Bi_d, Tri_d (DEFINITIONS 11) from literal cells (t order within d)."""
    xs = [int(v) for v in xs]
    n = len(xs)
    R = [0.0] * max_d
    Bi = [0.0] * max_d
    Tri = [0.0] * max_d
    for (t, d), delta in sorted(cells.items()):
        a = abs(delta)
        R[d - 1] += a
        v = pmi(xs, d, xs[t - d + 1], xs[t + 1])
        if (0.0 if v is None else v) > 0.5:
            Bi[d - 1] += a
        if d >= 2 and trigram_pmi(xs, t, d, (n - d) if corrected else (n - 1)) > 0.5:
            Tri[d - 1] += a
    return R, Bi, Tri


def cell_r2(cells, y):
    """In-sample cell-mean R^2 of values y (list) on categorical cells (list of hashables)."""
    groups = {}
    for c, v in zip(cells, y):
        groups.setdefault(c, []).append(v)
    means = {c: sum(v) / len(v) for c, v in groups.items()}
    mean = sum(y) / len(y)
    ssr = sum((v - means[c]) ** 2 for c, v in zip(cells, y))
    sst = sum((v - mean) ** 2 for v in y)
    return 1.0 - ssr / sst


def factor_map_best(xs, hs, offsets):
    """Per neuron (pair, R^2): strict maximum over all pairs of `offsets` in list-index order."""
    T = range(max(offsets), len(xs))
    pairs = [(offsets[i], offsets[k]) for i in range(len(offsets)) for k in range(i + 1, len(offsets))]
    out = []
    for j in range(len(hs[0])):
        y = [float(hs[t][j]) for t in T]
        best, arg = -1e300, None
        for a, b in pairs:
            r = cell_r2([(xs[t - a], xs[t - b]) for t in T], y)
            if r > best:
                best, arg = r, (a, b)
        out.append((arg, best))
    return out


def word_length(xs):
    """wl[t]: counter reset on space/LF/TAB, else +1; min(counter, 15) after x_t."""
    c, out = 0, []
    for b in xs:
        c = 0 if b in (32, 10, 9) else c + 1
        out.append(min(c, 15))
    return out


def in_tag(xs):
    """it[t]: flag set on '<', cleared on '>', after x_t."""
    f, out = 0, []
    for b in xs:
        if b == ord("<"):
            f = 1
        elif b == ord(">"):
            f = 0
        out.append(f)
    return out


def readout_cost_f32(Wy, by, v, y, floor=1e-10):
    """float32 logits (j ascending), float32 softmax with glibc expf (o ascending), -log2 max(q, floor)."""
    L = []
    for o in range(256):
        acc = f32(by[o])
        for j in range(len(v)):
            acc = f32(acc + f32(f32(Wy[o][j]) * f32(v[j])))
        L.append(acc)
    mx = max(L)
    Z = f32(0.0)
    for o in range(256):
        Z = f32(Z + expf(f32(L[o] - mx)))
    q = f32(expf(f32(L[y] - mx)) / Z)
    return -log2_64(max(float(q), floor))


def skipgram_bpc(xs, offsets):
    """In-sample skip-k-gram (DEFINITIONS Part II 4): (bpc, patterns) with dict counts over T_D."""
    xs = [int(v) for v in xs]
    T = range(max(offsets), len(xs))
    n_cy, n_c = {}, {}
    for t in T:
        c = tuple(xs[t - d] for d in offsets)
        n_cy[(c, xs[t])] = n_cy.get((c, xs[t]), 0) + 1
        n_c[c] = n_c.get(c, 0) + 1
    s = 0.0
    for t in T:
        c = tuple(xs[t - d] for d in offsets)
        s += -log2_64(n_cy[(c, xs[t])] / n_c[c])
    return s / len(T), len(n_cy)


def sequential_kt_bpc(xs, offsets):
    """Adaptive code: P = (n_<t(c, y) + 1/2) / (n_<t(c) + 128), counts of earlier positions only."""
    xs = [int(v) for v in xs]
    T = range(max(offsets), len(xs))
    n_cy, n_c = {}, {}
    s = 0.0
    for t in T:
        c = tuple(xs[t - d] for d in offsets)
        s += -log2_64((n_cy.get((c, xs[t]), 0) + 0.5) / (n_c.get(c, 0) + 128))
        n_cy[(c, xs[t])] = n_cy.get((c, xs[t]), 0) + 1
        n_c[c] = n_c.get(c, 0) + 1
    return s / len(T)


def greedy_offsets(xs, steps, cap):
    """Greedy: from (1,), add the d in 1..cap minimising skipgram_bpc (strict <, so smallest d on ties)."""
    D = [1]
    while len(D) < steps:
        best, arg = None, None
        for d in range(1, cap + 1):
            if d in D:
                continue
            b, _ = skipgram_bpc(xs, D + [d])
            if best is None or b < best:
                best, arg = b, d
        if arg is None:
            break
        D.append(arg)
    return D


# ---- rnn.gradients / analyses.sparsity, sparse_diff, carrier, justify (DEFINITIONS 1, 9; seeds 002, 003) --

def probs_naive(Wy, by, v, paper=True):
    """DEFINITIONS 0.4 probabilities: L[o] = dbl(by[o]) + sum_j dbl(fl32(Wy[o][j] v[j])) (paper) or all double."""
    H = len(v)
    L = []
    for o in range(256):
        acc = float(f32(by[o])) if paper else float(by[o])
        for j in range(H):
            acc += float(f32(f32(Wy[o][j]) * f32(v[j]))) if paper else float(Wy[o][j]) * float(v[j])
        L.append(acc)
    mx = max(L)
    e = [exp64(x - mx) for x in L]
    Z = 0.0
    for x in e:
        Z += x
    return [x / Z for x in e]


def output_gradient_naive(Wy, by, v, y, paper=True):
    """g[j] = Wy[y][j] - sum_o Wy[o][j] P[o], subtracted in double with o ascending; fl32 at the end (paper)."""
    P = probs_naive(Wy, by, v, paper)
    g = []
    for j in range(len(v)):
        acc = float(Wy[y][j])
        for o in range(256):
            acc -= float(Wy[o][j]) * P[o]
        g.append(f32(acc) if paper else acc)
    return g


def backward_chain_naive(Wh, hs, g, t, depth, paper=False):
    """[b^(0), ..., b^(D)] with b^(d) = Wh^T((1 - h_{t-d+1}^2) b^(d-1)), D = min(depth, t). Literal loops;
    paper=True rounds every product and sum to float32 (DEFINITIONS 1.3 step 4)."""
    H = len(g)
    cast = f32 if paper else float
    b = [cast(v) for v in g]
    out = [list(b)]
    for d in range(1, min(depth, t) + 1):
        s = t - d + 1
        u = [cast(cast(cast(1.0) - cast(cast(hs[s][i]) * cast(hs[s][i]))) * b[i]) for i in range(H)]
        nb = []
        for j in range(H):
            acc = cast(0.0)
            for i in range(H):
                acc = cast(acc + cast(cast(Wh[i][j]) * u[i]))
            nb.append(acc)
        b = nb
        out.append(list(b))
    return out


def q1_position_naive(Wx, Wh, Wy, by, hs, xs, t, taus, variant="paper", max_depth=50):
    """DEFINITIONS 1.3 for one position with dicts of attributions. Returns (counts {class: [per tau]},
    masses [m_0..m_D], mass_input0 or None, A_x {(b, j)}, A_h {(i, j)}, A_y {(j, o)})."""
    paper = variant == "paper"
    cast = f32 if paper else float
    H = len(Wh)
    y = int(xs[t + 1])
    g = output_gradient_naive(Wy, by, hs[t], y, paper)
    A_x, A_h, A_y = {}, {}, {}

    def upd(A, key, a):
        A[key] = max(A.get(key, cast(0.0)), a)
    m0 = cast(0.0)
    for j in range(H):
        a = abs(cast(g[j]))
        upd(A_y, (j, y), a)
        m0 = cast(m0 + a)
    masses = [float(m0)]
    mi0 = None
    if not paper:
        beta = int(xs[t])
        mi0 = 0.0
        for j in range(H):
            a = abs(float(Wx[j][beta]) * ((1.0 - float(hs[t][j]) ** 2) * g[j]))
            upd(A_x, (beta, j), a)
            mi0 += a
    b = [cast(v) for v in g]
    skip = f32(1e-8) if paper else 0.0
    for d in range(1, min(max_depth, t) + 1):
        s = t - d + 1
        u = [cast(cast(cast(1.0) - cast(cast(hs[s][i]) * cast(hs[s][i]))) * b[i]) for i in range(H)]
        for i in range(H):
            if abs(u[i]) >= skip:
                for j in range(H):
                    upd(A_h, (i, j), abs(cast(u[i] * cast(Wh[i][j]))))
        nb = []
        for j in range(H):
            acc = cast(0.0)
            for i in range(H):
                acc = cast(acc + cast(cast(Wh[i][j]) * u[i]))
            nb.append(acc)
        b = nb
        beta = int(xs[t - d])
        md = cast(0.0)
        for j in range(H):
            gj = b[j] if paper else (1.0 - float(hs[t - d][j]) ** 2) * b[j]
            a = abs(cast(cast(Wx[j][beta]) * gj))
            upd(A_x, (beta, j), a)
            md = cast(md + a)
        masses.append(float(md))
    counts = {}
    for name, A in (("Wx", A_x), ("Wh", A_h), ("Wy", A_y)):
        counts[name] = [sum(1 for v in A.values() if v > cast(tau)) for tau in taus]
    return counts, masses, mi0, A_x, A_h, A_y


def offset_attr_naive(Wx, hs, xs, B_t, t, k, offset_from="consumed", gate=False):
    """attr(t, k) = sum_j Wx[j][x_{t-k}] g_{t->t-k}[j] (consumed) or with x_{t+1-k}, g_{t->t+1-k} (predicted)."""
    d = k if offset_from == "consumed" else k - 1
    beta = int(xs[t - d])
    s = 0.0
    for j in range(len(B_t[d])):
        gj = float(B_t[d][j])
        if gate:
            gj *= 1.0 - float(hs[t - d][j]) ** 2
        s += float(Wx[j][beta]) * gj
    return s


def carrier_naive(Wh, bh, hs, t):
    """c_t[j] = bh[j] + sum_k Wh[j][k] h_{t-1}[k] in double (h_{-1} = 0)."""
    H = len(bh)
    out = []
    for j in range(H):
        acc = float(bh[j])
        if t > 0:
            for k in range(H):
                acc += float(Wh[j][k]) * float(hs[t - 1][k])
        out.append(acc)
    return out


def pattern_sensitive_naive(Wx, c, byteset=range(256)):
    """Neuron j is PS iff some byte gives c + Wx <= 0 and some byte gives c + Wx >= 0."""
    out = []
    for j in range(len(c)):
        vals = [c[j] + float(Wx[j][v]) for v in byteset]
        out.append(min(vals) <= 0.0 <= max(vals))
    return out


def top_abs_insertion_naive(c, K=3):
    """Scan k ascending; keep the K largest |c_k| with strict '>' (ties to smaller k); zeros never enter."""
    slots = [(0.0, 0, 0.0)] * K
    for k, v in enumerate(c):
        a = abs(float(v))
        for s in range(K):
            if a > slots[s][0]:
                slots = slots[:s] + [(a, k, float(v))] + slots[s:K - 1]
                break
    return [(k, v) for _, k, v in slots]


# ---- automaton.um / automaton.iso (issue 4: doubled-event-space UM, DEFINITIONS 1.1, seed 003 3.1) ----

def um_significant_counts(Wx, Wh, Wy, threshold=0.01):
    """DEFINITIONS 1.1 literally: S_x, S_h, S_y = #{|w| > 0.01f}, strict float32 comparisons."""
    thr = f32(threshold)
    counts = {}
    for name, W in (("Wx", Wx), ("Wh", Wh), ("Wy", Wy)):
        c = 0
        for row in np.asarray(W, dtype=np.float32):
            for w in row:
                if abs(f32(w)) > thr:
                    c += 1
        counts[name] = c
    counts["total"] = counts["Wx"] + counts["Wh"] + counts["Wy"]
    return counts


def um_pattern_list(Wx, Wh, bh, Wy, by):
    """Every weight as a pattern dict: class, source (space, event), target (space, event), strength |w|,
    sign (-1 iff the float32 sign bit is set). Hidden events: 'h' or 'not-h'; a positive weight points at
    h_j, a negative one at not-h_j."""
    pats = []

    def sgn(w):
        return -1 if math.copysign(1.0, float(w)) < 0 else 1

    H = len(bh)
    for j in range(H):
        w = f32(bh[j])
        pats.append(dict(cls="bh", src=("on", 0), dst=(j, "h" if sgn(w) > 0 else "not-h"),
                         strength=abs(w), sign=sgn(w)))
        for b in range(256):
            w = f32(Wx[j][b])
            pats.append(dict(cls="Wx", src=("x", b), dst=(j, "h" if sgn(w) > 0 else "not-h"),
                             strength=abs(w), sign=sgn(w)))
        for k in range(H):
            w = f32(Wh[j][k])
            pats.append(dict(cls="Wh", src=(k, "h"), dst=(j, "h" if sgn(w) > 0 else "not-h"),
                             strength=abs(w), sign=sgn(w)))
    for o in range(256):
        for j in range(H):
            w = f32(Wy[o][j])
            pats.append(dict(cls="Wy", src=(j, "h"), dst=("y", o), strength=abs(w), sign=sgn(w)))
        w = f32(by[o])
        pats.append(dict(cls="by", src=("on", 0), dst=("y", o), strength=abs(w), sign=sgn(w)))
    return pats


def um_signed_prob_f32(z) -> np.float32:
    """m = p(h) - p(not-h) = 2 sigma(2z) - 1 in float32, cancellation-free (the UM's 'stable' activation):
    |z| < 2^-55: z; |z| >= 22: +-1; |z| >= 1: 1 - 2 p(not-h) with p(not-h) = 1/(expm1f(2|z|) + 2);
    else (1 - e^{-2|z|}) / (1 + e^{-2|z|}) = -t/(t+2), t = expm1f(-2|z|). Sign of z restored."""
    z = f32(z)
    a = f32(abs(z))
    one, two = f32(1), f32(2)
    if a < 2.0 ** -55:
        return z
    if a >= 22:
        v = one
    elif a >= 1:
        t = expm1f(f32(two * a))
        v = f32(one - f32(two / f32(t + two)))
    else:
        t = expm1f(f32(-two * a))
        v = f32(-t / f32(t + two))
    return f32(-v) if z < 0 else v


def um_forward_f32(pats, H, xs):
    """The UM over xs, literally from the pattern list, float32. Per target j: bias pattern, then the
    pattern from the certain input byte, then the Wh pattern pairs by source k ascending, each adding
    sign * fl32(strength * (p(h_k) - p(not-h_k))). Returns (ms, zs) float32 (n, H)."""
    by_target = {j: {"bias": None, "x": {}, "h": []} for j in range(H)}
    for p in pats:
        if p["cls"] == "bh":
            by_target[p["dst"][0]]["bias"] = p
        elif p["cls"] == "Wx":
            by_target[p["dst"][0]]["x"][p["src"][1]] = p
        elif p["cls"] == "Wh":
            by_target[p["dst"][0]]["h"].append(p)
    for j in range(H):
        by_target[j]["h"].sort(key=lambda p: p["src"][0])
    m = [f32(0)] * H
    ms, zs = [], []

    def add(z, p, value):
        c = f32(f32(p["strength"]) * f32(value))
        return f32(z - c) if p["sign"] < 0 else f32(z + c)

    for x in xs:
        z_t = []
        for j in range(H):
            g = by_target[j]
            b = g["bias"]
            z = f32(-b["strength"]) if b["sign"] < 0 else f32(b["strength"])
            z = add(z, g["x"][int(x)], 1)
            for p in g["h"]:
                z = add(z, p, m[p["src"][0]])
            z_t.append(z)
        m = [um_signed_prob_f32(v) for v in z_t]
        ms.append(np.array(m, np.float32))
        zs.append(np.array(z_t, np.float32))
    return np.array(ms, np.float32).reshape(len(xs), H), np.array(zs, np.float32).reshape(len(xs), H)


def um_bpc(pats, ms, xs, clamp=True) -> float:
    """Readout from the Wy/by patterns (DEFINITIONS 0.4): L[o] = dbl(sign*strength of by_o) +
    sum_j dbl(sign * fl32(strength * m_j)), j ascending; softmax in double; plain mean over t."""
    H = ms.shape[1]
    wy = {}
    bias = {}
    for p in pats:
        if p["cls"] == "Wy":
            wy[(p["dst"][1], p["src"][0])] = p
        elif p["cls"] == "by":
            bias[p["dst"][1]] = p
    s = 0.0
    for t in range(len(xs) - 1):
        L = []
        for o in range(256):
            b = bias[o]
            acc = float(-b["strength"]) if b["sign"] < 0 else float(b["strength"])
            for j in range(H):
                p = wy[(o, j)]
                c = float(f32(f32(p["strength"]) * f32(ms[t][j])))
                acc = acc - c if p["sign"] < 0 else acc + c
            L.append(acc)
        mx = max(L)
        Z = 0.0
        for o in range(256):
            Z += exp64(L[o] - mx)
        py = exp64(L[int(xs[t + 1])] - mx) / Z
        s += -log2_64(max(py, 1e-30)) if clamp else -log64(py) / LN2
    return s / (len(xs) - 1)


# ---- redux / knockout / saturation / co-flip (DEFINITIONS 5, 7, 8) ----------------------------------

def masked_readout_bpc(Wy, by, hs, xs, keep=None, snap=None, clamp=True) -> float:
    """bpc with the Wy columns not in `keep` set to 0.0f and the readout inputs in `snap` replaced by
    +-1.0f (sign, +0/-0 positive); the trajectory hs (n, H) is used as given (readout-only change)."""
    Wy = np.array(Wy, dtype=np.float32)
    H = Wy.shape[1]
    for j in range(H):
        if keep is not None and j not in set(int(k) for k in keep):
            Wy[:, j] = f32(0.0)
    s = 0.0
    for t in range(len(xs) - 1):
        v = np.array(hs[t], dtype=np.float32)
        if snap is not None:
            for j in snap:
                v[j] = f32(1.0) if v[j] >= 0 else f32(-1.0)
        s += readout_cost(Wy, by, v, int(xs[t + 1]), clamp)
    return s / (len(xs) - 1)


def prune_mask(W, theta, strict=True):
    """Keep-mask of the entries surviving |w| < theta pruning (strict) or |w| <= theta, float32 compare."""
    W = np.asarray(W, dtype=np.float32)
    out = np.ones(W.shape, dtype=bool)
    th = f32(theta)
    for idx in np.ndindex(W.shape):
        a = abs(f32(W[idx]))
        out[idx] = not (a < th if strict else a <= th)
    return out


def live_neurons(Wh, Wy, keep):
    """Neurons with a directed path (through non-zero Wh[i][j], j -> i) to a kept neuron with a non-zero
    Wy column; one depth-first search per neuron."""
    H = len(Wh)
    targets = {j for j in keep if any(Wy[o][j] != 0 for o in range(len(Wy)))}
    live = []
    for s in range(H):
        seen, stack = {s}, [s]
        found = False
        while stack:
            u = stack.pop()
            if u in targets:
                found = True
                break
            for i in range(H):
                if Wh[i][u] != 0 and i not in seen:
                    seen.add(i)
                    stack.append(i)
        if found:
            live.append(s)
    return live


def saturation(hs, threshold=0.999):
    """Literal q4_saturation loops (DEFINITIONS 5.1-5.3) over the states hs (m, H).

    Returns per-neuron lists and the global dwell histogram G[0..99]."""
    m, H = len(hs), len(hs[0])
    th = f32(threshold)
    sums = [f32(0.0)] * H
    mins = [f32(2.0)] * H
    sat = [0] * H
    flips = [0] * H
    last = [-1] * H
    hist = [[0] * 100 for _ in range(H)]
    n_sat, n_flip, min_abs = [], [], []
    for t in range(m):
        ns, nf, mn = 0, 0, None
        for j in range(H):
            a = f32(abs(f32(hs[t][j])))
            sums[j] = f32(sums[j] + a)
            if a < mins[j]:
                mins[j] = a
            if a >= th:
                sat[j] += 1
                ns += 1
            mn = a if mn is None or a < mn else mn
            if t >= 1 and (hs[t][j] >= 0) != (hs[t - 1][j] >= 0):
                flips[j] += 1
                nf += 1
                if last[j] >= 0:
                    d = t - last[j]
                    if d < 100:
                        hist[j][d] += 1
                last[j] = t
        n_sat.append(ns)
        n_flip.append(nf)
        min_abs.append(mn)
    mean_abs = [f32(sums[j] / f32(m)) for j in range(H)]
    pct = [f32(f32(100.0 * sat[j]) / f32(m)) for j in range(H)]
    mode = []
    for j in range(H):
        best, arg = 0, 0
        for d in range(1, 100):
            if hist[j][d] > best:
                best, arg = hist[j][d], d
        mode.append(arg)
    G = [sum(hist[j][d] for j in range(H)) for d in range(100)]
    return {"mean_abs_h": mean_abs, "min_abs_h": mins, "sat_steps": sat, "pct_sat": pct, "flips": flips,
            "dwell_mode": mode, "dwell_hist": G, "n_sat": n_sat, "n_flip": n_flip, "min_abs": min_abs}


def coflips(hs):
    """C[a][b] = #{t in 1..m-1 : a and b both flip at t}, by plain loops; C[a][a] = flips of a."""
    m, H = len(hs), len(hs[0])
    fl = [[(hs[t][j] >= 0) != (hs[t - 1][j] >= 0) for j in range(H)] for t in range(1, m)]
    C = [[0] * H for _ in range(H)]
    for row in fl:
        for a in range(H):
            if row[a]:
                for b in range(H):
                    if row[b]:
                        C[a][b] += 1
    return C


def jaccard(C, a, b):
    """fl32(C) / (F_a + F_b - C) in float32; 0 if the union is 0."""
    u = C[a][a] + C[b][b] - C[a][b]
    return f32(0.0) if u == 0 else f32(f32(C[a][b]) / f32(u))


# ---- automaton.sign / automaton.bitset / automaton.margins (DEFINITIONS 0.6, 2, 3) -----------------

def sign_bits_to_int(bits) -> int:
    """A boolean sign vector (True = +1) as the integer sum_j bit_j 2^j (the hex text form's value)."""
    v = 0
    for j, b in enumerate(bits):
        if b:
            v |= 1 << j
    return v


def sign_step_f32_seq(Wx, Wh, bh, bits, x):
    """Boolean step B (DEFINITIONS 0.6) for one or many states at once.

    bits: (H,) or (R, H) booleans (True = +1); x: a byte, or (R,) bytes (one per state). For each neuron i,
    literally: z = fl32(bh[i] + Wx[i][x]); then for j = 0, 1, ..., H-1: z = fl32(z + fl32(Wh[i][j] * s_j))
    with s_j = +-1.0f; output [z >= 0]. Vectorised across neurons and states only (numpy float32 arrays
    round every element operation), never across j.
    """
    b = np.atleast_2d(np.asarray(bits, dtype=bool))
    s = np.where(b, f32(1.0), f32(-1.0)).astype(np.float32)           # (R, H)
    Wh = np.asarray(Wh, dtype=np.float32)
    xcol = np.asarray(Wx, dtype=np.float32)[:, np.asarray(x, dtype=np.int64)].T   # (H,) or (R, H)
    z = (np.asarray(bh, dtype=np.float32) + xcol).astype(np.float32)
    z = np.broadcast_to(z, s.shape).copy()
    for j in range(Wh.shape[1]):
        z = (z + (Wh[:, j][None, :] * s[:, j:j + 1]).astype(np.float32)).astype(np.float32)
    out = z >= f32(0.0)
    return out[0] if np.ndim(bits) == 1 else out


def sign_step_exact_fraction(Wx, Wh, bh, bits, x):
    """Exact step for one state: [exact rational sum of bh[i], Wx[i][x], s_j Wh[i][j] >= 0] via Fraction."""
    from fractions import Fraction
    H = len(bh)
    out = np.zeros(H, dtype=bool)
    for i in range(H):
        z = Fraction(float(bh[i])) + Fraction(float(Wx[i][int(x)]))
        for j in range(H):
            w = Fraction(float(Wh[i][j]))
            z += w if bits[j] else -w
        out[i] = z >= 0
    return out


def _f32_as_scaled_ints(a):
    """Each float32 value v as the exact integer v * 2^149 (every float32 is a multiple of 2^-149)."""
    a = np.asarray(a, dtype=np.float32)
    m, e = np.frexp(a.astype(np.float64))                 # v = m 2^e, 0.5 <= |m| < 1, exact
    mant = (m * 2.0 ** 24).astype(np.int64)               # exact: a float32 mantissa has 24 bits
    shift = e - 24 + 149                                  # v * 2^149 = mant * 2^shift, shift >= 0
    return mant, shift


class ExactSignStepper:
    """Exact step with an integer superaccumulator, vectorised across neurons and states.

    Every float32 term is an integer multiple of 2^-149, so z * 2^149 is an integer. It is split into limbs
    of 30 bits (limb k carries weight 2^(30 k)); per limb the integer matrix product with s = +-1 is exact in
    int64 (|sum| < 2^30 * (H + 2) < 2^62). Carries are then propagated from the lowest limb with floor
    division, leaving remainders in [0, 2^30): the total is >= 0 iff the final carry is >= 0.
    """

    LIMB = 30

    def __init__(self, Wx, Wh, bh):
        Wh = np.asarray(Wh, dtype=np.float32)
        self.H = Wh.shape[0]
        K = (277 + 24) // self.LIMB + 2
        self.Wh_limbs = self._limbs(Wh, K)                                        # (K, H, H)
        bx = np.asarray(bh, dtype=np.float32)[:, None].repeat(256, 1)
        self.c_limbs = self._limbs(bx, K) + self._limbs(np.asarray(Wx, dtype=np.float32), K)  # (K, H, 256)
        used = [k for k in range(K) if self.Wh_limbs[k].any() or self.c_limbs[k].any()]
        self.limb_range = range(min(used), max(used) + 1) if used else range(0)

    def _limbs(self, a, K):
        mant, shift = _f32_as_scaled_ints(a)
        sign = np.sign(mant)
        mag = np.abs(mant)                                # < 2^24
        k0 = shift // self.LIMB
        v = mag << (shift % self.LIMB)                    # < 2^54: exact in int64
        out = np.zeros((K,) + a.shape, dtype=np.int64)
        for k in range(K):
            out[k] += np.where(k0 == k, sign * (v & ((1 << self.LIMB) - 1)), 0)
            out[k] += np.where(k0 + 1 == k, sign * (v >> self.LIMB), 0)
        return out

    def step(self, bits, x):
        """bits (H,) or (R, H); x a byte or (R,) bytes."""
        b = np.atleast_2d(np.asarray(bits, dtype=bool))
        s = np.where(b, 1, -1).astype(np.int64)                          # (R, H)
        carry = np.zeros((b.shape[0], self.H), dtype=np.int64)
        for k in self.limb_range:
            v = s @ self.Wh_limbs[k].T + self.c_limbs[k][:, np.asarray(x, dtype=np.int64)].T + carry
            carry = v >> self.LIMB                                       # floor division by 2^LIMB
        out = carry >= 0
        return out[0] if np.ndim(bits) == 1 else out


def sign_run(step, bits0, xs):
    """Trajectory of booleans (n, ...) for a step function step(bits, x)."""
    out = []
    b = np.asarray(bits0, dtype=bool)
    for x in xs:
        b = step(b, int(x))
        out.append(b)
    return np.array(out)


# ---- rnn.bptt / rnn.train (issue 10: trainer) -------------------------------------------------------

def bptt_loss_grads(Wx, Wh, bh, Wy, by, xs, h0=None):
    """Mean cross-entropy in nats of predicting xs[1:] from h_t (after xs[t]) and its gradients.

    Textbook BPTT in float64 numpy: forward h_t = tanh(bh + Wx[:, x_t] + Wh h_{t-1}), p_t = softmax(by + Wy h_t);
    backward dl_t = p_t - e_{x_{t+1}}, dh_t = Wy^T dl_t + Wh^T dz_{t+1}, dz_t = dh_t (1 - h_t^2).
    Returns (loss, {"Wx", "Wh", "bh", "Wy", "by", "h0"}, h_last).
    """
    Wx, Wh, bh, Wy, by = (np.asarray(a, dtype=np.float64) for a in (Wx, Wh, bh, Wy, by))
    H = bh.shape[0]
    T = len(xs) - 1
    h = np.zeros(H) if h0 is None else np.asarray(h0, dtype=np.float64)
    hs, ps = [h], []
    loss = 0.0
    for t in range(T):
        h = np.tanh(bh + Wx[:, int(xs[t])] + Wh @ h)
        logits = by + Wy @ h
        e = np.exp(logits - logits.max())
        p = e / e.sum()
        loss -= log64(p[int(xs[t + 1])])
        hs.append(h)
        ps.append(p)
    g = {"Wx": np.zeros_like(Wx), "Wh": np.zeros_like(Wh), "bh": np.zeros(H), "Wy": np.zeros_like(Wy),
         "by": np.zeros(256)}
    dh_next = np.zeros(H)
    for t in range(T - 1, -1, -1):
        dl = ps[t].copy()
        dl[int(xs[t + 1])] -= 1.0
        g["Wy"] += np.outer(dl, hs[t + 1])
        g["by"] += dl
        dh = Wy.T @ dl + dh_next
        dz = dh * (1.0 - hs[t + 1] ** 2)
        g["bh"] += dz
        g["Wx"][:, int(xs[t])] += dz
        g["Wh"] += np.outer(dz, hs[t])
        dh_next = Wh.T @ dz
    g = {k: v / T for k, v in g.items()}
    g["h0"] = dh_next / T
    return loss / T, g, hs[-1]


def train_numpy(xs, params, H, epochs, bptt, lr, optimizer="adam", schedule="constant", lr_min=0.0, clip=0.0,
                beta1=0.9, beta2=0.999, eps=1e-8):
    """The trainer of rnn.train written plainly: flat float64 params (Wx, Wh, bh, Wy, by), one update per
    chunk of `bptt` predictions with the chunk's mean-loss gradient, state carried between chunks and reset
    every epoch, global-norm clipping, Adam with bias correction or SGD, cosine or constant rate.
    Returns (params, per-epoch training bpc)."""
    p = np.array(params, dtype=np.float64)
    sizes = [H * 256, H * H, H, 256 * H, 256]
    shapes = [(H, 256), (H, H), (H,), (256, H), (256,)]
    names = ["Wx", "Wh", "bh", "Wy", "by"]
    n_pred = len(xs) - 1
    K = -(-n_pred // bptt)
    total = epochs * K
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    step = 0
    history = []
    for _ in range(epochs):
        h = np.zeros(H)
        loss_sum = 0.0
        for s in range(0, n_pred, bptt):
            T = min(bptt, n_pred - s)
            offs = np.cumsum([0] + sizes)
            P = {n: p[offs[i]:offs[i + 1]].reshape(shapes[i]) for i, n in enumerate(names)}
            loss, g, h_last = bptt_loss_grads(*(P[n] for n in names), xs[s:s + T + 1], h)
            loss_sum += loss * T
            h = h_last
            grad = np.concatenate([g[n].ravel() for n in names])
            nrm = math.sqrt(float(np.sum(grad * grad)))
            if clip > 0 and nrm > clip:
                grad = grad * (clip / nrm)
            if schedule == "cosine":
                rate = lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * step / total))
            else:
                rate = lr
            if optimizer == "adam":
                m = beta1 * m + (1 - beta1) * grad
                v = beta2 * v + (1 - beta2) * grad * grad
                mhat = m / (1 - beta1 ** (step + 1))
                vhat = v / (1 - beta2 ** (step + 1))
                p = p - rate * mhat / (np.sqrt(vhat) + eps)
            else:
                p = p - rate * grad
            step += 1
        history.append(loss_sum / n_pred / LN2)
    return p, history


# ---- automaton.margins (DEFINITIONS 2, 3) ----------------------------------------------------------

def margin_hist_bin(mu) -> int:
    """2.4: min(49, trunc(fl32(mu / 5.0f)))."""
    return min(49, int(math.trunc(float(f32(f32(mu) / f32(5.0))))))


def sign_vector_hash(bits) -> int:
    """3.6: sum_j beta[j] 31^(H-1-j) mod 2^64."""
    H = len(bits)
    return sum(int(b) * pow(31, H - 1 - j, 2**64) for j, b in enumerate(bits)) % 2**64


def boolean_dynamics(Wx, Wh, bh, Wy, by, xs, start_bits):
    """3.5: beta_t = B(beta_{t-1}, x_t) (f32-seq) for t = 0..n-2; returns (betas, flips, bpc)."""
    b = np.asarray(start_bits, dtype=bool)
    betas, flips, s = [], [], 0.0
    for t in range(len(xs) - 1):
        nb = sign_step_f32_seq(Wx, Wh, bh, b, int(xs[t]))
        flips.append(int((nb != b).sum()))
        betas.append(nb)
        s += readout_cost(Wy, by, np.where(nb, 1.0, -1.0).astype(np.float32), int(xs[t + 1]))
        b = nb
    return np.array(betas), flips, s / (len(xs) - 1)


# ---- automaton.landscape (issue 16: attractor landscapes, pinning, sensitivity) ---------------------
# Everything the obvious way: a dict successor map over every state, cycles by walking until a repeat.

def pinned_step(step_x, pins):
    """step_x(state, x) with neurons clamped at every step: pins {j: +1/-1} replace whatever it computed."""
    def f(s, x):
        return tuple(pins.get(j, v) for j, v in enumerate(step_x(s, x)))
    return f


def sequence_step(step_x, seq):
    """One application of F: step_x(state, x) for x in seq, in order."""
    def f(s):
        for x in seq:
            s = step_x(s, x)
        return s
    return f


def pinned_states(H, pins=None):
    """Every state (as an int) whose pinned neurons hold their values, ascending. For small H by filtering all
    2^H states; for any H by building them: the pinned +1 bits, plus every combination of the free neurons'
    bits (so H = 128 with 6 free neurons is 64 states, not 2^128 to filter)."""
    pins = pins or {}
    if H <= 16:
        return [v for v in range(1 << H)
                if all(((v >> j) & 1) == (1 if s > 0 else 0) for j, s in pins.items())]
    free = [j for j in range(H) if j not in pins]
    base = sum(1 << j for j, s in pins.items() if s > 0)
    return sorted(base + sum(1 << j for k, j in enumerate(free) if (c >> k) & 1) for c in range(1 << len(free)))


def landscape_reference(F, H, pins=None):
    """The landscape of F over every state whose pinned neurons hold their values, computed literally.

    Returns a dict: succ {v: F(v)} (states as ints), cycles {rep: [cycle states in F order from rep]},
    attractor_of {v: rep}, basin {rep: size}, entropy (nats), height {v: steps of F to reach a cycle state},
    garden_of_eden (states nobody maps to), in_degree_histogram [count of states with in-degree k, k = 0..]."""
    pins = pins or {}
    states = pinned_states(H, pins)
    succ = {v: state_to_int(F(int_to_state(v, H))) for v in states}
    on_cycle = set()
    cycles = {}
    attractor_of = {}
    for v in states:
        seen = []
        u = v
        while u not in seen:
            seen.append(u)
            u = succ[u]
        cyc = seen[seen.index(u):]  # u is the first repeated state: the cycle starts there
        rep = min(cyc)
        if rep not in cycles:
            k = cyc.index(rep)
            cycles[rep] = cyc[k:] + cyc[:k]
            on_cycle.update(cyc)
        attractor_of[v] = rep
    height = {}
    for v in states:
        h, u = 0, v
        while u not in on_cycle:
            u = succ[u]
            h += 1
        height[v] = h
    basin = {rep: sum(1 for v in states if attractor_of[v] == rep) for rep in cycles}
    n = len(states)
    entropy = -sum(b / n * log64(b / n) for b in basin.values())
    indeg = {v: 0 for v in states}
    for v in states:
        indeg[succ[v]] += 1
    hist = [0] * (max(indeg.values()) + 1)
    for d in indeg.values():
        hist[d] += 1
    return {"states": states, "succ": succ, "cycles": cycles, "attractor_of": attractor_of, "basin": basin,
            "entropy": entropy, "height": height, "garden_of_eden": sum(1 for d in indeg.values() if d == 0),
            "in_degree_histogram": hist}


def average_sensitivity(step, H, states, pins=None):
    """Per neuron j (None if pinned): mean over states of Hamming(step(s), step(s with s_j negated))."""
    pins = pins or {}
    per = []
    for j in range(H):
        if j in pins:
            per.append(None)
            continue
        tot = 0
        for v in states:
            s = int_to_state(v, H)
            t = tuple(-c if k == j else c for k, c in enumerate(s))
            tot += hamming_states(step(s), step(t))
        per.append(tot / len(states))
    return per


# ==== margins, literally (DEFINITIONS 2; issue 19's one-pass kernel is checked against this) ============

def decade_of(v: float) -> int:
    """k with 10^k <= v < 10^(k+1), v > 0, decided with exact rationals (no logarithm rounding)."""
    from fractions import Fraction
    q = Fraction(float(v))
    k = math.floor(math.log10(float(v)))
    while Fraction(10) ** (k + 1) <= q:
        k += 1
    while Fraction(10) ** k > q:
        k -= 1
    return k


def margin_fields(model, zs, xs) -> dict:
    """The per-neuron-step figures of q1_margins from the float32 pre-activations zs (n-1, H) of t = 0..n-2,
    each by a plain loop: sequential double sums (t, then i), float32 comparisons, the paper bins, decades,
    the median of the float32 margins, the 20 smallest (ties by t H + i), the per-neuron mean / min /
    count below 1, the corrected 2.6 counts (mu <= delta_i; mu <= gamma_{H+1} (|bh| + |Wx[., x_t]| + row
    sums of |Wh|)), the largest bound and the smallest mu / bound (NaN ratios skipped, as a running Python
    min over chunks would skip them only when a chunk's numpy min is NaN: compare it only on models where
    no ratio is NaN)."""
    n1, H = zs.shape
    mu = [[f32(abs(float(zs[t, i]))) for i in range(H)] for t in range(n1)]
    s = 0.0
    for t in range(n1):
        for i in range(H):
            s += float(mu[t][i])
    Wabs = []
    for j in range(H):
        a = f32(0.0)
        for v in np.abs(model.Wh[j]):
            a = f32(a + f32(v))
        Wabs.append(a)
    delta = [f32(Wj * f32(2.0 ** -23)) for Wj in Wabs]
    u = 2.0 ** -24
    gam = (H + 1) * u / (1 - (H + 1) * u)
    rows = np.abs(model.Wh.astype(np.float64)).sum(axis=1)
    out = {"mean_sum": s, "small": 0, "tiny": 0, "zeros": 0, "bins": {}, "decades": {}, "within_delta": 0,
           "within": 0, "max_bound": 0.0, "min_ratio": math.inf,
           "S": [0.0] * H, "mins": [math.inf] * H, "ns": [0] * H}
    flat = []
    for t in range(n1):
        x = int(xs[t])
        for i in range(H):
            v = mu[t][i]
            out["S"][i] += float(v)
            out["mins"][i] = min(out["mins"][i], float(v))
            if v < f32(1.0):
                out["small"] += 1
                out["ns"][i] += 1
            if v < f32(0.1):
                out["tiny"] += 1
            b = margin_hist_bin(v)
            out["bins"][b] = out["bins"].get(b, 0) + 1
            if v == 0:
                out["zeros"] += 1
            else:
                d = decade_of(float(v))
                out["decades"][d] = out["decades"].get(d, 0) + 1
            if v <= delta[i]:
                out["within_delta"] += 1
            bound = gam * ((abs(float(model.bh[i])) + abs(float(model.Wx[i, x]))) + float(rows[i]))
            if float(v) <= bound:
                out["within"] += 1
            out["max_bound"] = max(out["max_bound"], bound)
            if bound != 0:
                out["min_ratio"] = min(out["min_ratio"], float(v) / bound)
            flat.append((float(v), t * H + i, float(zs[t, i])))
    out["median"] = float(np.median(np.array([m for row in mu for m in row], dtype=np.float32)))
    out["smallest"] = sorted(flat)[:20]
    return out


# ---- rnn.torch_layout, rnn.exact_dot (the PyTorch import mapping) -----------------------------------------

def nearest_f32_literal(q) -> np.float32:
    """The float32 nearest to the rational q (fractions.Fraction), ties to the even significand, found by
    comparing exact distances to the float32 candidates around float(q). Zero results are +0.0 here."""
    from fractions import Fraction
    with np.errstate(over="ignore"):
        c = np.float32(float(q))
    cands = {c}
    for _ in range(2):
        for x in list(cands):
            if np.isfinite(x):
                cands.add(np.nextafter(x, np.float32(np.inf)))
                cands.add(np.nextafter(x, np.float32(-np.inf)))
    finite = [x for x in cands if np.isfinite(x)]
    best = min(abs(Fraction(float(x)) - q) for x in finite)
    ties = [x for x in finite if abs(Fraction(float(x)) - q) == best]
    if len(ties) > 1:
        ties = [x for x in ties if int(np.array(x, dtype=np.float32).view(np.uint32)) % 2 == 0]
    r = ties[0]
    return np.float32(0.0) if r == 0 else r


def exact_dot_literal(a, b):
    """sum_k a[k] * b[k] as an exact rational (fractions.Fraction) of the float values."""
    from fractions import Fraction
    return sum((Fraction(float(x)) * Fraction(float(y)) for x, y in zip(a, b)), Fraction(0))


def torch_rnn_forward_f64(W_ih, W_hh, b_ih, b_hh, idxs, emb=None):
    """PyTorch's nn.RNN(tanh) recurrence in float64 from the original tensors: row t = h after index idxs[t],
    h_{-1} = 0; input x = emb[idx] (nn.Embedding) or the one-hot column W_ih[:, idx]."""
    W_ih, W_hh = np.asarray(W_ih, np.float64), np.asarray(W_hh, np.float64)
    H = W_hh.shape[0]
    b = (np.zeros(H) if b_ih is None else np.asarray(b_ih, np.float64) + np.asarray(b_hh, np.float64))
    h = np.zeros(H)
    out = []
    for v in idxs:
        x = W_ih[:, int(v)] if emb is None else W_ih @ np.asarray(emb, np.float64)[int(v)]
        h = np.tanh(x + b + W_hh @ h)
        out.append(h)
    return np.array(out).reshape(len(idxs), H)


def torch_bpc_f64(hs, W_dec, b_dec, idxs):
    """Bits per character in float64 of the decoder softmax over the V symbols: predictions of idxs[t+1]
    from hs[t], t = 0 .. n-2."""
    W_dec = np.asarray(W_dec, np.float64)
    b = np.zeros(W_dec.shape[0]) if b_dec is None else np.asarray(b_dec, np.float64)
    total = 0.0
    for t in range(len(idxs) - 1):
        L = b + W_dec @ hs[t]
        L = L - L.max()
        total += -(L[int(idxs[t + 1])] - math.log(np.exp(L).sum())) / math.log(2.0)
    return total / (len(idxs) - 1)
