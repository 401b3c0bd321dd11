"""Chunked (streamed) analyses equal the whole-text computation bit for bit (issue 19).

margin_report, boolean_report, saturation_report and coflip_report stream the forward in chunks of
rnn.stream.CHUNK bytes; with a tiny chunk (7 bytes: every statistic crosses many chunk boundaries) every
output must be identical to the single-chunk run (which the literal-reference tests in test_margins /
test_saturation / test_coflip check against tests/naive.py).
"""
import dataclasses
from dataclasses import replace

import numpy as np
import pytest

import naive
from satrnn.analyses import boolean_figures as bf
from satrnn.analyses.coflip import coflip_report
from satrnn.analyses.saturation import saturation_report
from satrnn.automaton import bitset
from satrnn.automaton import margins as mg
from satrnn.rnn import elementary, stream
from satrnn.rnn.forward import forward, readout_costs, run_states
from satrnn.rnn.model import random_model
from satrnn.rnn.shared_slices import SlicePool


def _same(a, b, path="") -> None:
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), path
    else:
        assert a == b, (path, a, b)


@pytest.fixture(params=[(8, 300, 0), (5, 97, 1), (128, 200, 2)])
def case(request):
    H, n, seed = request.param
    model = random_model(H, seed)
    xs = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
    return model, xs


def _chunked(monkeypatch, fn, chunk=7):
    monkeypatch.setattr(stream, "CHUNK", chunk)
    return fn()


@pytest.mark.parametrize("as_file", [False, True])
def test_prediction_chunks_equal_whole_run(case, as_file):
    """From an array or from file pieces of other sizes: the predictions t = 0..n-2 in chunks of 13, with the
    bytes read and predicted, equal the whole-text run."""
    model, xs = case
    hs, zs = run_states(model, xs)
    src = [xs[a:a + 5] for a in range(0, len(xs), 5)] if as_file else xs
    parts = [(c.t0, c.x.copy(), c.x_next.copy(), c.hs.copy(), c.zs.copy())
             for c in stream.prediction_chunks(model, src, chunk=13)]
    n1 = len(xs) - 1
    # contiguous chunks of at most 13 predictions (pieces of a file may end a chunk early)
    assert [p[0] for p in parts] == list(np.cumsum([0] + [len(p[1]) for p in parts[:-1]]))
    assert all(1 <= len(p[1]) <= 13 for p in parts)
    if not as_file:
        assert [p[0] for p in parts] == list(range(0, n1, 13))
    assert np.array_equal(np.concatenate([p[1] for p in parts]), xs[:-1])
    assert np.array_equal(np.concatenate([p[2] for p in parts]), xs[1:])
    assert np.array_equal(np.vstack([p[3] for p in parts]), hs[:-1])
    assert np.array_equal(np.vstack([p[4] for p in parts]), zs[:-1])


def test_sequential_sum_is_a_left_to_right_loop():
    rng = np.random.default_rng(5)
    a = rng.standard_normal(1000) * 10.0 ** rng.integers(-8, 8, 1000)
    acc = elementary.SequentialSum()
    for i in range(0, 1000, 37):
        acc.add(a[i:i + 37])
    s = 0.0
    for v in a:
        s += float(v)
    assert float(acc.value) == s


def test_margin_report_chunked_equals_whole(case, monkeypatch):
    model, xs = case
    whole = mg.margin_report(model, xs)
    part = _chunked(monkeypatch, lambda: mg.margin_report(model, xs))
    # how many passes the median took depends on the first chunk's estimate, never the value
    assert whole.median_passes in (1, 2) and part.median_passes in (1, 2)
    _same(replace(whole, median_passes=0), replace(part, median_passes=0))
    # the exact median, the bpc and the per-position rows against the whole-array computation
    r = forward(model, xs)
    mu = np.abs(r.zs[:-1]).astype(np.float32)
    assert whole.median_margin == float(np.median(mu))
    assert whole.bpc_full == r.bpc
    assert len(whole.per_position) == len(xs) - 1


def test_margin_report_bounded_per_position(monkeypatch):
    model = random_model(4, 9)
    xs = np.random.default_rng(9).integers(0, 256, 60, dtype=np.uint8)
    m = _chunked(monkeypatch, lambda: mg.margin_report(model, xs, per_position_rows=10))
    assert [r.t for r in m.per_position] == list(range(10)) + [58]
    assert m.per_position_omitted == 59 - 11


def test_saturation_report_chunked_equals_whole(case, monkeypatch):
    model, xs = case
    whole = saturation_report(None, None, forward_result=forward(model, xs))
    part = _chunked(monkeypatch, lambda: saturation_report(model, xs))
    _same(whole, part)
    lean = _chunked(monkeypatch, lambda: saturation_report(model, xs, keep_positions=False))
    assert lean.n_sat is None and lean.printed_rows == whole.printed_rows


def test_coflip_report_chunked_equals_whole(case, monkeypatch):
    model, xs = case
    whole = coflip_report(None, None, forward_result=forward(model, xs))
    part = _chunked(monkeypatch, lambda: coflip_report(model, xs))
    _same(whole, part)


def test_margin_per_position_rows_literal():
    model = random_model(6, 4)
    xs = np.random.default_rng(4).integers(0, 256, 40, dtype=np.uint8)
    m = mg.margin_report(model, xs)
    zs = forward(model, xs).zs
    for row in m.per_position:
        s = np.float32(0.0)
        for v in np.abs(zs[row.t]):
            s = np.float32(s + np.float32(v))
        assert row.mean == float(np.float32(s / np.float32(6)))
        assert row.min == float(np.abs(zs[row.t]).min())


# ---- boolean_report (q1_boolean 3.5 / 3.6 / float vs sign) streamed -----------------------------------------

def test_boolean_report_chunked_equals_whole(case, monkeypatch):
    model, xs = case
    for semantics in ("f32-seq", "exact"):
        whole = bf.boolean_report(model, xs, semantics)
        seen = []

        def chunked_report(semantics=semantics, seen=seen):
            return bf.boolean_report(model, xs, semantics, progress=lambda d, t: seen.append((d, t)))

        part = _chunked(monkeypatch, chunked_report)
        monkeypatch.setattr(stream, "CHUNK", 2048)
        _same(whole, part)
        assert seen[-1] == (len(xs) - 1, len(xs) - 1) and len(seen) == -(-(len(xs) - 1) // 7)


def test_boolean_report_chunked_equals_whole_published(published, monkeypatch):
    model, xs = published
    whole = bf.boolean_report(model, xs)
    part = _chunked(monkeypatch, lambda: bf.boolean_report(model, xs))
    _same(whole, part)


def test_boolean_report_streamed_against_whole_arrays(case, monkeypatch):
    """The streamed figures against the whole-trajectory computation they replace (one array each)."""
    model, xs = case
    H, n1 = model.H, len(xs) - 1
    b = _chunked(monkeypatch, lambda: bf.boolean_report(model, xs, "exact"))
    aut = bf.SignAutomaton.from_model(model, "exact")
    tm = aut.run(bitset.all_minus(H), xs[:n1])
    tp = aut.run(bitset.all_plus(H), xs[:n1])
    flips = bitset.hamming(tm, np.vstack([bitset.all_minus(H)[None], tm[:-1]]))
    costs, _ = readout_costs(model, bitset.to_signs(tm, H), xs[1:])  # the float readout of the +-1 states
    from satrnn.rnn.elementary import sequential_mean
    assert b.dynamics.total_flips == int(flips.sum())
    assert b.dynamics.bpc == sequential_mean(costs)
    assert b.unique.unique_exact == np.unique(tm, axis=0).shape[0]
    hashes = {naive.sign_vector_hash(row) for row in bitset.unpack(tm, H)}
    assert b.unique.unique_hash == len(hashes)
    fl = bitset.pack(forward(model, xs).hs[:n1] >= 0)
    d = bitset.hamming(fl, tp)
    assert b.float_vs_sign.plus_start == int(d.sum())
    assert b.float_vs_sign.first_t_plus == (int(np.flatnonzero(d)[0]) if d.any() else -1)


@pytest.mark.parametrize("H", [1, 5, 63, 64, 65, 128, 200])
def test_paper_hashes_literal(H):
    rng = np.random.default_rng(H)
    bits = rng.integers(0, 2, (40, H)).astype(bool)
    bits[0] = True
    bits[1] = False
    got = bf.paper_hashes(bitset.pack(bits), H)
    assert got.dtype == np.uint64
    assert [int(v) for v in got] == [naive.sign_vector_hash(row) for row in bits]


def test_distinct_states_merges_exactly(monkeypatch):
    monkeypatch.setattr(bf.DistinctStates, "MERGE_ROWS", 4)
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 3, (500, 2)).astype(np.uint64) << np.uint64(62)   # many repeats, high bits only
    d = bf.DistinctStates(2)
    for lo in range(0, 500, 7):
        d.add(rows[lo:lo + 7])
    got = np.concatenate(list(d.iter_distinct()))
    assert {r.tobytes() for r in got} == {r.tobytes() for r in rows}
    assert got.shape[0] == len({r.tobytes() for r in rows}) == np.unique(rows, axis=0).shape[0]


@pytest.mark.parametrize("as_file", [False, True])
def test_prediction_chunks_ahead_equal_and_stay_valid(case, as_file):
    """With the recurrence on its own thread (ahead=True) the chunks are the same, and the one in hand and
    the two before it are not overwritten while the consumer dawdles and the thread runs on."""
    import time
    model, xs = case
    hs, zs = run_states(model, xs)
    src = [xs[a:a + 5] for a in range(0, len(xs), 5)] if as_file else xs
    def intact(c):
        t, m = c.t0, c.x.shape[0]
        return (np.array_equal(c.x, xs[t:t + m]) and np.array_equal(c.x_next, xs[t + 1:t + m + 1])
                and np.array_equal(c.hs, hs[t:t + m]) and np.array_equal(c.zs, zs[t:t + m]))
    done = 0
    recent = []
    for c in stream.prediction_chunks(model, src, chunk=13, ahead=True):
        time.sleep(0.002)
        assert c.t0 == done
        recent = [*recent[-2:], c]           # the chunk two back must still be whole (fold_chunks' workers)
        assert all(intact(r) for r in recent)
        done += c.x.shape[0]
    assert done == len(xs) - 1


def _ahead_threads():
    import threading
    return [t for t in threading.enumerate() if t.name == "satrnn-ahead"]


def _no_ahead_thread_within(seconds=2.0):
    import time
    t0 = time.perf_counter()
    while _ahead_threads() and time.perf_counter() - t0 < seconds:
        time.sleep(0.01)
    return not _ahead_threads()


def test_prediction_chunks_ahead_raises_the_sources_error_and_stops():
    from satrnn.rnn.errors import SatrnnInputError
    model = random_model(8, 0)
    xs = np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8)

    def source():
        yield xs[:60]
        raise SatrnnInputError("cannot read the text: gone")
    got = []
    with pytest.raises(SatrnnInputError, match="gone"):
        for c in stream.prediction_chunks(model, source(), chunk=7, ahead=True):
            got.append(c.t0)
    assert got and got[-1] < 60
    assert _no_ahead_thread_within()


def test_prediction_chunks_ahead_stops_when_the_consumer_stops():
    model = random_model(8, 0)
    xs = np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8)
    g = stream.prediction_chunks(model, xs, chunk=7, ahead=True)
    next(g)
    g.close()
    assert _no_ahead_thread_within()


def test_fold_chunks_concurrent_equals_in_turn(case, monkeypatch):
    """The margins and Boolean folds on one pass, the second on a worker thread, give what they give in
    turn (bit for bit, any chunking)."""
    model, xs = case
    monkeypatch.setattr(stream, "CHUNK", 11)

    def run(concurrent):
        return stream.fold_chunks(stream.prediction_chunks(model, xs, ahead=concurrent),
                                  mg.margin_fold(model, len(xs), rerun=lambda: stream.prediction_chunks(model, xs)),
                                  bf.boolean_fold(model, len(xs), xs),
                                  concurrent=concurrent)
    _same(run(True), run(False))


@pytest.mark.parametrize("threads, slice_rows", [(1, 5), (2, 3), (3, 64)])
def test_folds_with_shared_slices_equal_in_turn(case, monkeypatch, threads, slice_rows):
    """`satrnn margins`' pass: both folds' readouts as slices on one `SlicePool` (any thread count and
    slice length), the folds concurrent: the same results as the parallel kernels in turn."""
    model, xs = case
    monkeypatch.setattr(stream, "CHUNK", 11)

    def run(slices):
        return stream.fold_chunks(stream.prediction_chunks(model, xs, ahead=slices is not None),
                                  mg.margin_fold(model, len(xs), rerun=lambda: stream.prediction_chunks(model, xs),
                                                 slices=slices),
                                  bf.boolean_fold(model, len(xs), xs, slices=slices),
                                  concurrent=slices is not None)
    with SlicePool(threads, slice_rows=slice_rows) as pool:
        _same(run(pool), run(None))


def test_fold_chunks_concurrent_error_closes_every_fold():
    """A fold failing on its worker thread: the error is raised, after the other fold finished the chunk,
    and every fold is closed (their finally blocks run)."""
    closed = []

    def fold(name, fail_at):
        try:
            while (c := (yield)) is not None:
                if c == fail_at:
                    raise ValueError(f"{name} failed at {c}")
            return name
        finally:
            closed.append(name)
    with pytest.raises(ValueError, match="b failed at 3"):
        stream.fold_chunks(iter(range(10)), fold("a", -1), fold("b", 3), concurrent=True)
    assert sorted(closed) == ["a", "b"]


def test_fold_chunks_concurrent_cancels_a_worker_in_a_long_sliced_loop():
    """Ctrl-C on the calling thread while a worker's fold is in a sliced loop that would never end
    (automaton.slices.run_jobs): the worker stops within a slice, every fold is closed, KeyboardInterrupt is
    raised, all within a second."""
    import time

    from satrnn.automaton import slices
    closed = []

    def endless(j, limit):
        time.sleep(0.01)
        return False, 1

    def worker_fold():
        try:
            while (c := (yield)) is not None:
                if c == 1:
                    slices.run_jobs(1, endless, threads=1)
            return "w"
        finally:
            closed.append("w")

    def main_fold():
        try:
            while (c := (yield)) is not None:
                if c == 1:
                    time.sleep(0.2)          # the worker is inside its endless loop on this chunk by now
                    raise KeyboardInterrupt
            return "m"
        finally:
            closed.append("m")
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        stream.fold_chunks(iter(range(10)), main_fold(), worker_fold(), concurrent=True)
    assert time.perf_counter() - t0 < 1.5
    assert sorted(closed) == ["m", "w"]
