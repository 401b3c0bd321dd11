"""All numba options in one place.

`njit` compiles with exact IEEE semantics: no fastmath (so no FMA contraction and no reassociation of
float32 sums, which the bit-exact reference forward depends on) and `cache=True` so a warm process does not
recompile. `njit_parallel` is the same with `parallel=True`, for kernels whose parallel loops write disjoint
outputs (results never depend on the thread count). `njit_leaf` is `njit` without reference counting
(numba's `_nrt=False`): for small hot functions that take arrays, allocate nothing and call no function that
takes arrays; numba would otherwise increment and decrement every array argument on each call (atomic
operations that cost as much as a sign-automaton step).
"""
import functools

import numba

NJIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)

njit = functools.partial(numba.njit, **NJIT_OPTIONS)
njit_parallel = functools.partial(numba.njit, parallel=True, **NJIT_OPTIONS)
prange = numba.prange
njit_leaf = functools.partial(numba.njit, _nrt=False, **NJIT_OPTIONS)
