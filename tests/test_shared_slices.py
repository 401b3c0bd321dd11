"""rnn.shared_slices: jobs cut into slices shared by a pool's workers and the thread that finishes them;
the sliced readouts (float and sign) give the bits of the parallel kernels for any slicing and threads."""
import threading
import time

import numpy as np
import pytest

from satrnn.automaton.bitset import pack
from satrnn.automaton.sign_readout import SignReadout
from satrnn.rnn import cancel
from satrnn.rnn.forward import SlicedReadout, readout_costs
from satrnn.rnn.model import random_model
from satrnn.rnn.shared_slices import SlicePool


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("m, rows", [(0, 3), (1, 3), (10, 3), (12, 3), (1000, 7)])
def test_every_row_done_once(threads, m, rows):
    hits = np.zeros(m, dtype=np.int64)
    lock = threading.Lock()

    def fn(a, b):
        assert 0 <= a < b <= m and b - a <= rows
        with lock:
            hits[a:b] += 1
    with SlicePool(threads, slice_rows=rows) as pool:
        jobs = [pool.start(fn, m) for _ in range(3)]     # several jobs in flight at once
        for j in jobs:
            j.finish()
    assert (hits == 3).all()


def test_first_error_is_raised_and_later_slices_skipped():
    done = []

    def fn(a, b):
        if a == 20:
            raise ValueError("slice 20")
        time.sleep(0.001)
        done.append(a)
    with SlicePool(2, slice_rows=10) as pool:
        job = pool.start(fn, 10_000)
        with pytest.raises(ValueError, match="slice 20"):
            job.finish()
    assert len(done) < 100


def test_a_cancelled_thread_stops_between_slices():
    ev = threading.Event()
    done = []

    def fn(a, b):
        if a == 50:
            ev.set()
        done.append(a)
    with SlicePool(1, slice_rows=10) as pool, cancel.cancelled_by(ev):
        with pytest.raises(KeyboardInterrupt):
            pool.run(fn, 10_000)
    assert max(done) == 50


@pytest.mark.parametrize("H", [5, 128])
@pytest.mark.parametrize("threads, rows", [(1, 4), (2, 3), (2, 1000)])
def test_sliced_float_readout_equals_readout_costs(H, threads, rows):
    model = random_model(H, H)
    rng = np.random.default_rng(H)
    V = np.tanh(rng.standard_normal((203, H)) * 3).astype(np.float32)
    V[5, : H // 2] = 0.0
    V[6] = -0.0
    y = rng.integers(0, 256, 203, dtype=np.uint8)
    ref, _ = readout_costs(model, V, y)
    with SlicePool(threads, slice_rows=rows) as pool:
        job, got = SlicedReadout(model).start(V, y, pool)
        job.finish()
    assert np.array_equal(got.view(np.uint64), ref.view(np.uint64))


@pytest.mark.parametrize("H", [5, 64, 130])
@pytest.mark.parametrize("tables", [True, False])
@pytest.mark.parametrize("threads, rows", [(1, 5), (2, 3), (2, 1000)])
def test_sliced_sign_readout_equals_parallel(H, tables, threads, rows):
    """Pattern tables and flip deltas (forced), slices of any length (segments cut anywhere), on a model
    with inexact outputs: the parallel kernel's bits."""
    model = random_model(H, 7 + H)
    rng = np.random.default_rng(H)
    bits = pack(rng.random((301, H)) < 0.5)
    bits[100:110] = bits[99]                         # runs without flips
    y = rng.integers(0, 256, 301, dtype=np.uint8)
    sr = SignReadout(model)
    if not tables:
        sr.b = 0
    ref = sr.costs(bits, y)
    with SlicePool(threads, slice_rows=rows) as pool:
        got = sr.costs(bits, y, slices=pool)
        job, got2 = sr.start_costs(bits, y, pool, clamp=False)
        job.finish()
    assert np.array_equal(got.view(np.uint64), ref.view(np.uint64))
    assert np.array_equal(got2.view(np.uint64), sr.costs(bits, y, clamp=False).view(np.uint64))
