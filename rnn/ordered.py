"""Sums taken strictly in index order: the one home of the references' left-to-right accumulations.

np.sum is pairwise (its rounding depends on the length and the SIMD width); the papers' C programs and
Python references add left to right, `s = 0; for v in a: s += v`. `in_order_sum(a, axis, dtype, start)`
is exactly that loop along one axis, per column, in `dtype` arithmetic:

- dtype float64 (the default): the references' double accumulators (bpc, weight norms, PMI totals, ...);
- dtype float32: the C programs' float accumulators, every partial sum rounded to float32 (sum_j |Wh_ij|,
  the influence graph's degrees, a margin row's mean, ...). Where a reference accumulates in float32
  and another in double, the dtype argument says which, at the call.

It is np.cumsum (sequential by definition) of `start` followed by `a`, so a running sum carried across
chunks (`SequentialSum`, start = the previous total) equals one pass over the whole array bit for bit, and
an empty axis gives `start`. Kernels that sum inside numba loops (`forward._fold_costs`, `redux._means`,
...) are the same loop written in the kernel.
"""
from __future__ import annotations

import numpy as np

from satrnn.rnn.errors import SatrnnInputError


def in_order_sum(a, axis: int = 0, dtype=np.float64, start=0.0):
    """start + a[0] + a[1] + ... along `axis` (per column of the other axes), each addition rounded to
    `dtype`. Returns a `dtype` scalar for a 1-D `a`, else an array with `axis` removed."""
    a = np.asarray(a, dtype=dtype)
    if a.ndim == 0:
        raise ValueError("in_order_sum needs an array with at least one axis")
    axis = axis % a.ndim
    init = np.broadcast_to(np.asarray(start, dtype=dtype), a.shape[:axis] + a.shape[axis + 1:])
    both = np.concatenate([np.expand_dims(init, axis), a], axis=axis)
    return np.cumsum(both, axis=axis, dtype=dtype).take(-1, axis=axis)


def sequential_mean(a) -> float:
    """Mean of a float64 vector summed in index order (the papers' bpc accumulation)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        raise SatrnnInputError("cannot average zero predictions")
    return float(in_order_sum(a.ravel()) / a.size)


class SequentialSum:
    """A sum accumulated strictly in index order across chunks, so chunked results equal one left-to-right
    loop bit for bit; `add` takes (m,) or (m, k) (per column). float64 unless `dtype` says float32."""

    def __init__(self, shape=(), dtype=np.float64):
        self.dtype = dtype
        self.value = np.zeros(shape, dtype=dtype)

    def add(self, a) -> None:
        self.value = in_order_sum(a, axis=0, dtype=self.dtype, start=self.value)
