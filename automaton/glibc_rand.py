"""glibc's srand()/rand() (the TYPE_3 additive-feedback generator), for the paper-compatible searches.

DEFINITIONS 0.10: r_0 = seed; r_i = 16807 r_{i-1} mod (2^31 - 1) for i = 1..30; r_i = r_{i-31} for
i = 31..33; r_i = (r_{i-31} + r_{i-3}) mod 2^32 for i >= 34; the k-th rand() after srand returns
r_{k+344} >> 1. Only q1_bool_attractor uses it (`rand() & 1` per neuron, trial-major).
"""
from __future__ import annotations

import numpy as np

_M31 = 2147483647


class GlibcRand:
    """A stream of glibc rand() values after srand(seed). Pure Python: a few thousand calls at most."""

    def __init__(self, seed: int):
        seed = int(seed) & 0xFFFFFFFF
        # glibc's srandom_r maps seed 0 to 1 and does the 16807 multiply on the signed 32-bit value.
        r = [0] * 34
        r[0] = seed if seed != 0 else 1
        if r[0] >= 1 << 31:
            r[0] -= 1 << 32
        for i in range(1, 31):
            # Schrage's method with C's truncating division, as srandom_r does; for 0 < seed < 2^31 it
            # equals 16807 r_{i-1} mod (2^31 - 1).
            prev = r[i - 1]
            hi = int(prev / 127773) if prev < 0 else prev // 127773
            lo = prev - hi * 127773
            word = 16807 * lo - 2836 * hi
            if word < 0:
                word += _M31
            r[i] = word
        for i in range(31, 34):
            r[i] = r[i - 31]
        self._r = [v & 0xFFFFFFFF for v in r]
        # Discard r_34 .. r_343 (310 outputs), as glibc does in srandom_r.
        for _ in range(310):
            self._next_raw()

    def _next_raw(self) -> int:
        r = self._r
        v = (r[-31] + r[-3]) & 0xFFFFFFFF
        r.append(v)
        if len(r) > 64:
            del r[:-34]
        return v

    def rand(self) -> int:
        """The next rand() value in 0 .. 2^31 - 1."""
        return self._next_raw() >> 1

    def bits(self, n: int) -> np.ndarray:
        """n successive `rand() & 1` values as uint8 (the programs' random sign bits)."""
        return np.array([self.rand() & 1 for _ in range(int(n))], dtype=np.uint8)


def glibc_rand_values(seed: int, n: int) -> list[int]:
    """The first n rand() values after srand(seed)."""
    g = GlibcRand(seed)
    return [g.rand() for _ in range(int(n))]
