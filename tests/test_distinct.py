"""automaton.distinct.DistinctStates: exact distinct-row counts in bounded memory (issue 19).

The reference is the obvious one: a Python set of each row's bytes. Tiny caps force the spill to disk (and
the recursive split of buckets larger than the cap); every count and every yielded set must equal the
reference, every distinct row must come out exactly once, and the temporary files must always go.
"""
import errno
import gc
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satrnn.analyses import boolean_figures as bf
from satrnn.automaton import bitset
from satrnn.automaton import distinct as dmod
from satrnn.automaton.distinct import DistinctStates, bucket_of
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import random_model

ALL = 0xFFFFFFFFFFFFFFFF


def _naive(rows: np.ndarray) -> set:
    return {np.asarray(r, dtype=np.uint64).tobytes() for r in rows}


def _feed(d: DistinctStates, rows: np.ndarray, step: int) -> None:
    for lo in range(0, rows.shape[0], step):
        d.add(rows[lo:lo + step])


def _check(d: DistinctStates, rows: np.ndarray, batch_rows: int, threads: int = 2) -> None:
    ref = _naive(rows)
    # first the count on its own (spilled: bucket files read with the in-memory rows of each bucket, on
    # `threads` threads, or the general way when a bucket is too big), then the full read and its count
    assert d.count(threads=threads) == len(ref)
    got = []
    for block in d.iter_distinct(batch_rows=batch_rows):
        assert block.dtype == np.uint64 and block.ndim == 2 and block.shape[1] == d.W
        assert 1 <= block.shape[0] <= batch_rows
        got.extend(r.tobytes() for r in block)
    assert len(got) == len(set(got)), "a distinct row was yielded twice"
    assert set(got) == ref
    assert d.count() == len(ref)


def _adversarial(W: int) -> np.ndarray:
    """All zeros, all ones, rows differing only in the last bit / the first bit of the last word, rows equal
    except the first word, each repeated."""
    rows = [np.zeros(W, np.uint64), np.full(W, ALL, np.uint64)]
    for v in (0, ALL):
        for bit in (0, 63):
            r = np.full(W, v, np.uint64)
            r[-1] ^= np.uint64(1 << bit)
            rows.append(r)
    for first in (0, 1, 2, 1 << 63, ALL):
        r = np.full(W, 0x5555555555555555, np.uint64)
        r[0] = first
        rows.append(r)
    a = np.array(rows, dtype=np.uint64)
    return np.concatenate([a, a[::-1], a])


rows_strategy = st.integers(1, 3).flatmap(lambda W: st.tuples(
    st.just(W),
    st.lists(st.lists(st.sampled_from([0, 1, 2, 1 << 63, ALL, 0x5555555555555555]), min_size=W, max_size=W),
             min_size=0, max_size=120)))


@settings(max_examples=150, deadline=None)
@given(data=rows_strategy, cap=st.sampled_from([1, 2, 3, 7, 1000]), buckets=st.sampled_from([2, 3, 256]),
       step=st.integers(1, 50), batch=st.integers(1, 40))
def test_distinct_equals_naive_set(data, cap, buckets, step, batch):
    W, lists = data
    rows = np.array(lists, dtype=np.uint64).reshape(-1, W)
    with DistinctStates(W, memory_rows=cap, buckets=buckets) as d:
        _feed(d, rows, step)
        _check(d, rows, batch, threads=1 + batch % 2)
        _check(d, rows, batch)          # repeatable: reading does not consume the set
        where = d.directory
    assert where is None or not os.path.exists(where)


@pytest.mark.parametrize("W", [1, 2, 3])
@pytest.mark.parametrize("cap", [1, 4, 1 << 22])
def test_adversarial_rows(W, cap):
    rows = _adversarial(W)
    with DistinctStates(W, memory_rows=cap, buckets=4) as d:
        _feed(d, rows, 3)
        _check(d, rows, 2)
        assert d.spilled == (cap < len(_naive(rows)))


@pytest.mark.parametrize("W", [1, 2, 3])
def test_many_spills_random_rows_with_repeats(W):
    rng = np.random.default_rng(W)
    pool = rng.integers(0, 1 << 63, (700, W), dtype=np.uint64) * np.uint64(2) \
        + rng.integers(0, 2, (700, W), dtype=np.uint64)
    rows = pool[rng.integers(0, 700, 5000)]           # about 700 distinct rows, each repeated ~7 times
    with DistinctStates(W, memory_rows=16, buckets=5) as d:
        _feed(d, rows, 37)
        assert d.spilled
        _check(d, rows, 64)
        d.add(pool)                                   # rows added after a read are counted too
        _check(d, np.concatenate([rows, pool]), 1000)


def test_memory_is_bounded_by_the_cap(monkeypatch):
    """No step sorts more than cap + cap / 4 rows (the buffer plus one piece of an add), however many distinct
    rows there are (buckets that outgrow the cap are split again with a different mix)."""
    sizes = []
    real = dmod.distinct_rows

    def spy(rows):
        sizes.append(rows.shape[0])
        return real(rows)
    monkeypatch.setattr(dmod, "distinct_rows", spy)
    cap = 16
    rows = np.random.default_rng(0).integers(0, ALL, (3000, 2), dtype=np.uint64, endpoint=True)
    with DistinctStates(2, memory_rows=cap, buckets=3) as d:
        _feed(d, rows, 10)
        _check(d, rows, 50)
    assert max(sizes) <= cap + cap // 4
    assert len(sizes) > 100


def test_bucket_mix_spreads_rows_differing_in_one_bit():
    # rows 0..65535 in the last word (and the same with one high bit set): every bucket gets its share
    for top in (0, 1 << 63):
        rows = np.zeros((1 << 16, 2), dtype=np.uint64)
        rows[:, 0] = np.uint64(top)
        rows[:, 1] = np.arange(1 << 16, dtype=np.uint64)
        counts = np.bincount(bucket_of(rows, 256), minlength=256)
        assert counts.min() > 128 and counts.max() < 384       # mean 256
    r = np.array([[5, 7]], dtype=np.uint64)
    assert bucket_of(r, 256)[0] == bucket_of(r.copy(), 256)[0]


# ---- temporary files -----------------------------------------------------------------------------------

def _spilled(tmp, W=2, n=200) -> DistinctStates:
    d = DistinctStates(W, memory_rows=4, buckets=4, spill_dir=tmp)
    d.add(np.arange(n * W, dtype=np.uint64).reshape(n, W))
    assert d.spilled and os.path.isdir(d.directory) and os.listdir(d.directory)
    assert os.path.dirname(d.directory) == str(tmp)
    return d


def test_files_removed_on_close_and_with(tmp_path):
    d = _spilled(tmp_path)
    assert d.count() == 200
    d.close()
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):
        d.count()
    with _spilled(tmp_path) as d:
        assert d.count() == 200
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_files_removed_when_interrupted_mid_way(tmp_path, exc):
    with pytest.raises(exc):
        with _spilled(tmp_path) as d:
            for i, _ in enumerate(d.iter_distinct(batch_rows=3)):
                if i == 2:
                    raise exc()
    assert os.listdir(tmp_path) == []


def test_files_removed_when_garbage_collected(tmp_path):
    d = _spilled(tmp_path)
    where = d.directory
    del d
    gc.collect()
    assert not os.path.exists(where) and os.listdir(tmp_path) == []


def test_files_removed_at_interpreter_exit_after_uncaught_ctrl_c(tmp_path):
    """An uncaught KeyboardInterrupt with the set still referenced: the weakref.finalize backstop runs."""
    code = ("import numpy as np, os, signal\n"
            "from satrnn.automaton.distinct import DistinctStates\n"
            f"d = DistinctStates(2, memory_rows=4, spill_dir={str(tmp_path)!r})\n"
            "d.add(np.arange(400, dtype=np.uint64).reshape(200, 2))\n"
            "assert os.listdir(d.directory)\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "import time; time.sleep(5)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "KeyboardInterrupt" in p.stderr
    assert os.listdir(tmp_path) == []


def test_unwritable_spill_dir_is_one_line_error(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    d = DistinctStates(1, memory_rows=2, spill_dir=not_a_dir)
    with pytest.raises(SatrnnInputError, match="^cannot spill distinct states to .*file: ") as e:
        d.add(np.arange(10, dtype=np.uint64)[:, None])
    assert "\n" not in str(e.value)
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_disk_full_is_one_line_error_and_removes_files(tmp_path, monkeypatch):
    calls = []

    def full(path, rows):
        calls.append(path)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        with open(path, "ab") as f:
            f.write(rows.tobytes())
    monkeypatch.setattr(dmod, "_append", full)
    d = DistinctStates(2, memory_rows=4, buckets=4, spill_dir=tmp_path)
    with pytest.raises(SatrnnInputError, match=f"^cannot spill distinct states to {tmp_path}: "
                                               f"{os.strerror(errno.ENOSPC)}$"):
        d.add(np.arange(400, dtype=np.uint64).reshape(200, 2))
    assert os.listdir(tmp_path) == []


# ---- boolean_report (3.6) ------------------------------------------------------------------------------

def _unique_with_cap(monkeypatch, model, xs, cap, tmp):
    appended = []
    real = dmod._append

    def count_appends(path, rows):
        appended.append(rows.shape[0])
        real(path, rows)
    with monkeypatch.context() as m:
        m.setattr(DistinctStates, "MEMORY_ROWS", cap)
        m.setattr(DistinctStates, "MERGE_ROWS", 4)
        m.setattr(DistinctStates, "BUCKETS", 8)
        m.setattr(dmod, "_append", count_appends)
        m.setattr(tempfile, "tempdir", str(tmp))
        u = bf.boolean_report(model, xs).unique
    assert os.listdir(tmp) == []
    return u, sum(appended)


def _random_case():
    model = random_model(128, 7)
    xs = np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8)
    return model, xs


@pytest.mark.parametrize("which", ["published", "random"])
def test_boolean_report_unique_same_with_tiny_cap(which, request, monkeypatch, tmp_path):
    model, xs = request.getfixturevalue("published") if which == "published" else _random_case()
    u_default, spilled_default = _unique_with_cap(monkeypatch, model, xs, DistinctStates.MEMORY_ROWS, tmp_path)
    u_tiny, spilled_tiny = _unique_with_cap(monkeypatch, model, xs, 64, tmp_path)
    assert spilled_default == 0 and spilled_tiny >= u_default.unique_exact
    for k in ("unique_exact", "unique_hash", "hash_collisions"):
        assert getattr(u_tiny, k) == getattr(u_default, k)
    # and both equal the whole trajectory's distinct rows
    aut = bf.SignAutomaton.from_model(model, "f32-seq")
    traj = aut.run(bitset.all_minus(model.H), xs[:-1])
    assert u_default.unique_exact == np.unique(traj, axis=0).shape[0]
    assert u_default.unique_hash == np.unique(bf.paper_hashes(traj, model.H)).shape[0]


def test_boolean_report_interrupted_leaves_no_spill_files(monkeypatch, tmp_path):
    model, xs = _random_case()

    def stop(done, total):
        if done > 1000:
            raise KeyboardInterrupt
    monkeypatch.setattr(DistinctStates, "MEMORY_ROWS", 16)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from satrnn.rnn import stream
    monkeypatch.setattr(stream, "CHUNK", 256)
    with pytest.raises(KeyboardInterrupt):
        bf.boolean_report(model, xs, progress=stop)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("threads", [1, 2])
def test_count_of_a_spilled_set_reads_each_bucket_once_with_the_rows_in_memory(threads, monkeypatch):
    """The count at the end of a pass: bucket files plus the in-memory rows of each bucket, de-duplicated
    together (rows repeated across spills and between a file and memory), never `iter_distinct`."""
    rng = np.random.default_rng(threads)
    pool = rng.integers(0, 1 << 62, (300, 2), dtype=np.uint64)
    rows = pool[rng.integers(0, 300, 2000)]
    with DistinctStates(2, memory_rows=256, buckets=16) as d:
        _feed(d, rows, 50)
        assert d.spilled and d._seen.shape[0] + d._n_pending > 0   # some rows still in memory only
        monkeypatch.setattr(DistinctStates, "iter_distinct", lambda *a, **k: pytest.fail("took the long way"))
        assert d.count(threads=threads) == len(_naive(rows))
        d.add(pool[:5])                                     # a later add invalidates the count, not the set
        assert d.count(threads=threads) == len(_naive(rows))
