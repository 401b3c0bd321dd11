"""Golden sha256 hashes of satrnn's own arithmetic, and the inputs they are taken on.

The hashes were computed once (on glibc 2.36, x86-64) and are checked on every host by
tests/test_portability.py, here and in CI's Debian 13 root (glibc 2.41): a host whose bits differ fails.
Every input set is host-independent (bit patterns, or numpy's PCG64 stream, which is integer arithmetic).
NaN outputs are hashed as one canonical NaN (payloads are not part of the contract).

Regenerate (only after an intended change of the arithmetic): python tests/golden.py
"""
from __future__ import annotations

import hashlib

import numpy as np

STRIDE_OFFSET = 0x5A          # float32 inputs: bits k * 256 + 0x5A, k < 2^24 (every exponent, both signs)


def special_f32() -> np.ndarray:
    """Float32 inputs at every threshold of the algorithms (and their neighbours), +-0, subnormals, +-inf,
    quiet and signalling NaNs."""
    edges = [0x00000000, 0x00000001, 0x007FFFFF, 0x00800000, 0x24000000, 0x33000000, 0x3EB17218, 0x3F800000,
             0x3F851592, 0x41102CB4, 0x4195B844, 0x41B00000, 0x42B17180, 0x42B17218, 0x7F7FFFFF, 0x7F800000,
             0x7F800001, 0x7FC00000, 0x7FFFFFFF, 0x3E800000, 0x3F000000, 0x40000000, 0x41100000, 0x41200000]
    out = set()
    for b in edges:
        for d in (-2, -1, 0, 1, 2):
            v = (b + d) & 0x7FFFFFFF
            out.add(v)
            out.add(v | 0x80000000)
    return np.array(sorted(out), dtype=np.uint32).view(np.float32)


def stride_f32() -> np.ndarray:
    """2^24 float32 inputs, one every 256 bit patterns."""
    return (np.arange(1 << 24, dtype=np.uint64) * 256 + STRIDE_OFFSET).astype(np.uint32).view(np.float32)


def f32_inputs() -> np.ndarray:
    return np.concatenate([special_f32(), stride_f32()])


def f64_inputs(kind: str, n: int = 1 << 20) -> np.ndarray:
    """Double inputs for one function: a PCG64 stream (seed fixed per kind) over the function's domain,
    plus special values."""
    rng = np.random.default_rng(sum(map(ord, kind)))
    special = np.array([0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 2.0 ** -55, 1.0, -1.0, 0.5, 2.0, 22.0,
                        -22.0, 38.0, -38.0, 709.78, 709.79, -745.13, -745.14, 1e300, np.inf, -np.inf, np.nan])
    if kind == "exp":
        x = rng.uniform(-750.0, 712.0, n)
    elif kind in ("expm1", "tanh"):
        rest = n - n // 2 - n // 4
        x = np.concatenate([rng.uniform(-45.0, 45.0, n // 2), rng.standard_normal(n // 4) * 1e-3,
                            np.ldexp(rng.uniform(-1.0, 1.0, rest), rng.integers(-60, 0, rest))])
    elif kind in ("log", "log2"):
        bits = rng.integers(0, 0x7FF0000000000000, n, dtype=np.int64)       # every positive finite double
        x = bits.view(np.float64)
    elif kind == "cos":
        x = rng.uniform(0.0, 4.0, n)
    else:
        raise ValueError(kind)
    return np.concatenate([special, x])


def digest(a: np.ndarray) -> str:
    """sha256 of the array's bytes with every NaN replaced by one canonical NaN."""
    a = np.array(a, copy=True)
    a[np.isnan(a)] = np.nan
    bits = a.view(np.uint32 if a.dtype == np.float32 else np.uint64)
    canon = np.array([np.nan], dtype=a.dtype).view(bits.dtype)[0]
    bits[np.isnan(a)] = canon
    return hashlib.sha256(bits.tobytes()).hexdigest()


def compute() -> dict:
    """The digests of satrnn's current arithmetic (what GOLDEN must equal)."""
    from satrnn.rnn import elementary as em
    x32 = f32_inputs()
    out = {"tanhf_fdlibm": digest(em.tanh32(x32, "fdlibm")), "tanhf_cr": digest(em.tanh32(x32, "cr")),
           "expm1f_fdlibm": digest(em.expm1f(x32))}
    fns = {"exp": em.exp, "expm1": em.expm1, "tanh": em.tanh64, "log": em.log, "log2": em.log2}
    for k, f in fns.items():
        out[f"{k}_f64"] = digest(f(f64_inputs(k)))
    out["cos_f64"] = digest(em.cos(f64_inputs("cos")))
    return out


GOLDEN = {
    "tanhf_fdlibm": "aa2d73ca811819a8d289ed435e0b65041f2cd5d24d3af53f289d3e417f5b9668",
    "tanhf_cr": "e92df9fc001d5ab6ac8fd4634f8ce2f81230dd1411908b218b78e78ad494e340",
    "expm1f_fdlibm": "ce827eb7f52194341730ab2333c54d3449db4b3c8c5e01faef543ae8f8e40cf0",
    "exp_f64": "b670c17efdc812119785077360e9c2743a14f71f141bfc02d10fffec01689ef2",
    "expm1_f64": "236c21fee10a23e32c24e8a5e7411ab99f7f51c9f363bb6860955e8e4d1684cd",
    "tanh_f64": "4a3bede5c19241cd6d4fe62135362e97dc746eb9037c4f2885bf67bf45073933",
    "log_f64": "300db3a7baab62a2671bf912fae98cff57db71022ec1f005ffd39b26ac2e1ea4",
    "log2_f64": "f83124a04d6a9a4a66761d4cd89d51b0927a119c479f7b56e36d24789ce0b831",
    "cos_f64": "8a83e9fa71ba9f36f320c0822be136f00dca5bb69b23395c8db7605117122ec9",
}


# The published weights' trajectory (1,024 x 128 float32 states, row t = h_t) and bpc under each float32
# tanh semantics. The "cr" bpc is the one glibc 2.41's correctly rounded tanhf gives.
PUBLISHED_STATES = {
    "fdlibm": "6ccb8a4c58ffbed00975e82ef040957371b0e5cdc6540e877c8549b9c1516e9e",
    "cr": "cef5f7a6b141507e6438db67431dc7c887cc6d011dccab067d1e4f91bba339aa",
}
PUBLISHED_BPC = {"fdlibm": 0.07920147236527103, "cr": 0.07920161048276761}
PUBLISHED_STATES_F64 = "f1b60debb42d956d44c41e887f9d52faabc221521e8f4e0f9d7c04bf08d8a82d"


if __name__ == "__main__":
    import json
    print(json.dumps(compute(), indent=4))
