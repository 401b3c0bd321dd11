"""The exact set of distinct packed states (rows of W uint64 words), in bounded memory (issue 19).

`DistinctStates(W, memory_rows=...)` keeps the set in memory (one array of distinct 8 W-byte keys plus the
chunks not yet merged, `memory_rows` rows at most between them). When they reach the cap they are merged,
and if more than half the cap is then distinct rows, the set spills: it is partitioned by a 64-bit mix of
each row's words into `buckets` files in a private temporary directory (`spill_dir`, default the system
temporary directory) and the buffer starts again empty. Equal rows always land in the same bucket, so the
buckets are disjoint and the set is the union of each bucket's distinct rows: `count()` and
`iter_distinct()` read one bucket at a time. A bucket larger than `memory_rows` is split again with a
differently seeded mix (and so on), so no step ever holds more than about `memory_rows` rows.

Memory: O(memory_rows x 8 W bytes) whatever the number of distinct states: a merge or a bucket read holds
the rows twice (about 2 x 8 W x memory_rows bytes, plus a hash table of 8-16 bytes a row, and 8-16 bytes a
row of bucket indices when spilling);
the default cap is 2^19 rows and at most 8 MB of keys (2^19 rows at W <= 2, i.e. H <= 128; 2^14 at H = 4096),
so memory and the longest single de-duplication (what Ctrl-C waits for) do not grow with H.
Disk: 8 W bytes per distinct state once spilled. Repeats of a state in different spills are appended
too, but a bucket file is de-duplicated in place whenever it doubles, so disk stays within about 2 x 8 W
bytes per distinct state plus one buffer (not for buckets holding more than `memory_rows` distinct
states, which are never compacted in place). The files are removed by `close()` (also on leaving a `with`
block), and as a backstop when the object is garbage-collected or the interpreter exits normally
(`weakref.finalize`; not after `os._exit`, so callers close it in a `finally`).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import weakref

import numpy as np

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.numba_config import njit

_M64 = 0xFFFFFFFFFFFFFFFF
# per-level seeds of the bucket mix: level L splits a bucket of level L-1 with an independent mix
_SEEDS = [(0x9E3779B97F4A7C15 * (L + 1) + 0x632BE59BD9B4E019) & _M64 for L in range(17)]


def _mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (a bijection of uint64 with good avalanche), in wrapping uint64 arithmetic,
    in place on `h` (returned)."""
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def bucket_of(rows: np.ndarray, buckets: int, level: int = 0) -> np.ndarray:
    """Bucket index (m,) int64 in [0, buckets) of each row of `rows` (m, W) uint64: a function of the row's
    words only (equal rows, equal bucket), mixed so that rows differing in any one bit spread evenly."""
    h = np.full(rows.shape[0], _SEEDS[level], dtype=np.uint64)
    for w in range(rows.shape[1]):
        h ^= rows[:, w]
        _mix64(h)
    return (h % np.uint64(buckets)).astype(np.int64)


@njit
def _first_occurrences(a, seed, table, keep):
    """keep[r] = True iff row r of a (m, W) uint64 equals no earlier row: open addressing over `table`
    (a power of two > m slots, filled with -1, holding row indices) keyed by the row's mixed words."""
    m, W = a.shape
    mask = np.uint64(table.shape[0] - 1)
    for r in range(m):
        h = seed
        for w in range(W):
            h ^= a[r, w]
            h ^= h >> np.uint64(30)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(27)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(31)
        slot = h & mask
        while True:
            q = table[slot]
            if q < 0:
                table[slot] = r
                keep[r] = True
                break
            same = True
            for w in range(W):
                if a[q, w] != a[r, w]:
                    same = False
                    break
            if same:
                keep[r] = False
                break
            slot = (slot + np.uint64(1)) & mask


def distinct_rows(rows: np.ndarray) -> np.ndarray:
    """The distinct rows of `rows` (m, W) uint64, each once, in the order of their first occurrence (a hash
    table of row indices, O(m); it was a byte-order sort, 10x slower, and no caller needs an order). The
    rows are never modified; the peak is the rows, a table of 8-16 bytes a row and the result."""
    a = np.ascontiguousarray(rows, dtype=np.uint64)
    m = a.shape[0]
    if m == 0:
        return a.reshape(0, rows.shape[1])
    slots = 1 << int(2 * m - 1).bit_length()          # a power of two >= 2m: load factor <= 1/2
    table = np.full(slots, -1, dtype=np.int32 if m < (1 << 31) else np.int64)
    keep = np.empty(m, dtype=np.bool_)
    _first_occurrences(a, np.uint64(_SEEDS[0]), table, keep)
    return a if keep.all() else a[keep]


def _append(path: str, rows: np.ndarray) -> None:
    """Append rows (raw little-endian uint64 words) to the file at `path`."""
    with open(path, "ab") as f:
        f.write(np.ascontiguousarray(rows, dtype=np.uint64).tobytes())


def _by_bucket(rows: np.ndarray, buckets: int, level: int = 0):
    """(order, counts, ends): the rows of bucket i are rows[order[ends[i] - counts[i]:ends[i]]] (one stable
    sort of the bucket indices, so no second copy of `rows`)."""
    b = bucket_of(rows, buckets, level)
    order = np.argsort(b, kind="stable")
    counts = np.bincount(b, minlength=buckets)
    return order, counts, np.cumsum(counts)


def _append_buckets(directory: str, rows: np.ndarray, buckets: int, level: int, counts_out: np.ndarray) -> None:
    """Append each row of `rows` to its bucket's file `directory`/bNNNNN.u64 (one sort, one write per
    bucket); counts_out[i] += the rows written to bucket i."""
    order, counts, ends = _by_bucket(rows, buckets, level)
    for i in np.flatnonzero(counts):                  # gathered bucket by bucket: no second copy of `rows`
        _append(os.path.join(directory, f"b{i:05d}.u64"), rows[order[ends[i] - counts[i]:ends[i]]])
        counts_out[i] += counts[i]


def _remove_tree(path: str, owner_pid: int) -> None:
    # a forked child must not remove its parent's files
    if os.getpid() == owner_pid:
        shutil.rmtree(path, ignore_errors=True)


class DistinctStates:
    """The exact set of distinct rows (W uint64 words each) added so far; see the module docstring.

    add(rows) takes (m, W) uint64 arrays; count() is the exact number of distinct rows; iter_distinct()
    yields (k, W) uint64 arrays holding every distinct row exactly once, k <= batch_rows. Both may be called
    repeatedly (and rows added in between). Use as a context manager, or call close(), to remove the spill
    files at once. A spill that cannot be written raises SatrnnInputError (one line) after removing them."""

    MERGE_ROWS = 1 << 16      # pending rows merged into the set at least this many at a time
    # default cap: 2^19 rows = 8 MB of keys at W = 2 (H = 128): margins stays flat from 1 MB of text
    MEMORY_ROWS = 1 << 19
    MEMORY_BYTES = 1 << 23    # ... and at most 8 MB of keys for any W: at H = 4096 (W = 64) 2^19 rows were 256 MB
                              # and one byte-order sort of them took 0.75 s (Ctrl-C waits for it)
    BUCKETS = 256

    def __init__(self, W: int, memory_rows: int | None = None, spill_dir: str | os.PathLike | None = None,
                 buckets: int | None = None):
        if W < 1:
            raise ValueError(f"W must be >= 1, got {W}")
        self.W = int(W)
        if memory_rows is None:
            memory_rows = min(self.MEMORY_ROWS, self.MEMORY_BYTES // (8 * self.W))
        self.memory_rows = max(1, int(memory_rows))
        self.buckets = max(2, int(self.BUCKETS if buckets is None else buckets))
        self.spill_dir = spill_dir
        self._seen = np.empty((0, self.W), dtype=np.uint64)    # distinct
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self._dir: str | None = None                           # the private spill directory, once spilled
        self._finalizer = None
        self._rows = np.zeros(self.buckets, dtype=np.int64)    # rows in each bucket file
        self._clean = np.zeros(self.buckets, dtype=np.int64)   # rows in it when last de-duplicated
        self._count: int | None = None
        self._closed = False

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> DistinctStates:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Remove the spill files and drop the set; the object cannot be used afterwards."""
        self._closed = True
        self._seen, self._pending, self._n_pending = np.empty((0, self.W), dtype=np.uint64), [], 0
        if self._finalizer is not None:
            self._finalizer()

    @property
    def spilled(self) -> bool:
        """True once the set has been written to disk."""
        return self._dir is not None

    @property
    def directory(self) -> str | None:
        """The private spill directory (None until the first spill)."""
        return self._dir

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("DistinctStates is closed")

    def _fail(self, e: OSError):
        where = self.spill_dir if self.spill_dir is not None else tempfile.gettempdir()
        self.close()
        return SatrnnInputError(f"cannot spill distinct states to {where}: {e.strerror or e}")

    # ---- adding ------------------------------------------------------------------------------------------
    def add(self, rows: np.ndarray) -> None:
        """Add the rows of `rows` (m, W) uint64 (copied; the caller may reuse the array)."""
        self._check_open()
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.shape[1] != self.W:
            raise ValueError(f"rows must have shape (m, {self.W}), got {rows.shape}")
        self._count = None
        piece = max(1, self.memory_rows // 4)           # a huge add is taken piece by piece
        for lo in range(0, rows.shape[0], piece):
            part = np.array(rows[lo:lo + piece], dtype=np.uint64, order="C")
            self._pending.append(part)
            self._n_pending += part.shape[0]
            if self._seen.shape[0] + self._n_pending >= self.memory_rows:
                self._merge()
                if self._seen.shape[0] > self.memory_rows // 2:
                    # full: merging on would re-hash it for fewer and fewer new rows; write it out instead
                    self._spill()
            elif self._n_pending >= max(self.MERGE_ROWS, self._seen.shape[0]):
                self._merge()                           # pending reached the set's size: O(n log n) in all

    def _merge(self) -> None:
        if not self._pending:
            return
        parts = [self._seen, *self._pending]
        self._seen, self._pending, self._n_pending = None, [], 0
        buf = np.concatenate(parts)
        del parts                                       # peak: the rows twice (buf and its de-duplicated copy)
        self._seen = distinct_rows(buf)

    def _spill(self) -> None:
        """Write the in-memory set to the bucket files (appending) and empty it."""
        if self._dir is None:
            try:
                self._dir = tempfile.mkdtemp(prefix="satrnn-distinct-", dir=self.spill_dir)
            except OSError as e:
                raise self._fail(e) from None
            self._finalizer = weakref.finalize(self, _remove_tree, self._dir, os.getpid())
        rows, self._seen = self._seen, np.empty((0, self.W), dtype=np.uint64)
        if rows.shape[0] == 0:
            return
        before = self._rows.copy()
        try:
            _append_buckets(self._dir, rows, self.buckets, 0, self._rows)
            del rows
            # a bucket that doubled since it was last de-duplicated is de-duplicated in place (disk ~ 2x distinct)
            for i in np.flatnonzero(self._rows != before):
                floor = max(self._clean[i], self.memory_rows // self.buckets, 1)
                if self._rows[i] >= 2 * floor and self._rows[i] <= self.memory_rows:
                    self._compact(i)
        except OSError as e:
            raise self._fail(e) from None

    def _path(self, i: int) -> str:
        return os.path.join(self._dir, f"b{i:05d}.u64")

    def _compact(self, i: int) -> None:
        path = self._path(i)
        u = distinct_rows(self._load(path))
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(u.tobytes())
        os.replace(tmp, path)
        self._rows[i] = self._clean[i] = u.shape[0]

    def _load(self, path: str) -> np.ndarray:
        return np.fromfile(path, dtype=np.uint64).reshape(-1, self.W)

    # ---- reading -----------------------------------------------------------------------------------------
    def iter_distinct(self, batch_rows: int = 1 << 16):
        """Yield (k, W) uint64 arrays, 1 <= k <= batch_rows, holding every distinct row exactly once overall
        (in memory: in order of first addition; spilled: bucket by bucket)."""
        self._check_open()
        batch_rows = max(1, int(batch_rows))
        self._merge()
        total = 0
        if self._dir is None:
            seen = self._seen
            for lo in range(0, seen.shape[0], batch_rows):
                yield seen[lo:lo + batch_rows]
            self._count = int(seen.shape[0])
            return
        try:
            self._spill()                      # everything on disk: the buckets hold the whole set
            for i in np.flatnonzero(self._rows):
                for u in self._distinct_file(self._path(int(i)), int(self._rows[i]), 1):
                    total += u.shape[0]
                    for lo in range(0, u.shape[0], batch_rows):
                        yield u[lo:lo + batch_rows]
        except OSError as e:
            raise self._fail(e) from None
        self._count = total

    def _distinct_file(self, path: str, n: int, level: int):
        """Yield the distinct rows of the file at `path` (n rows), each once, in arrays of O(memory_rows)."""
        if n <= self.memory_rows or level >= 16:
            # level 16: 15 independent 64-bit mixes agreed on > memory_rows rows, which only happens when
            # they are (nearly) all the same rows; then the file's distinct rows are few, load it whole
            yield distinct_rows(self._load(path))
            return
        sub = tempfile.mkdtemp(prefix=f"split{level}-", dir=self._dir)
        try:
            rows = np.zeros(self.buckets, dtype=np.int64)
            with open(path, "rb") as f:
                while True:
                    block = np.fromfile(f, dtype=np.uint64, count=self.memory_rows * self.W)
                    if block.size == 0:
                        break
                    _append_buckets(sub, distinct_rows(block.reshape(-1, self.W)), self.buckets, level,
                                    rows)
            for i in np.flatnonzero(rows):
                yield from self._distinct_file(os.path.join(sub, f"b{i:05d}.u64"), int(rows[i]), level + 1)
        finally:
            shutil.rmtree(sub, ignore_errors=True)

    def count(self, threads: int | None = None) -> int:
        """The exact number of distinct rows added so far. Spilled: each bucket file is read once together
        with the in-memory rows of its bucket (never written back), `threads` buckets at a time (default
        numba.get_num_threads(); the de-duplication releases the GIL), so the count at the end of a pass
        takes a fraction of a full `iter_distinct`."""
        self._check_open()
        if self._count is not None:
            return self._count
        self._merge()
        if self._dir is None:
            self._count = int(self._seen.shape[0])
            return self._count
        rest = self._seen
        order, counts, ends = _by_bucket(rest, self.buckets)
        if np.any(self._rows + counts > self.memory_rows):   # a bucket too big to hold: the general way
            for _ in self.iter_distinct(batch_rows=1 << 62):
                pass
            return self._count

        def one(i: int) -> int:
            mine = rest[order[ends[i] - counts[i]:ends[i]]]
            rows = np.concatenate([self._load(self._path(i)), mine]) if self._rows[i] else mine
            return int(distinct_rows(rows).shape[0])
        todo = [int(i) for i in np.flatnonzero(self._rows + counts)]
        if threads is None:
            import numba
            threads = numba.get_num_threads()
        try:
            if threads > 1 and len(todo) > 1:
                from concurrent.futures import ThreadPoolExecutor
                with ThreadPoolExecutor(min(threads, len(todo)), thread_name_prefix="satrnn-distinct") as pool:
                    total = sum(pool.map(one, todo))
            else:
                total = sum(one(i) for i in todo)
        except OSError as e:
            raise self._fail(e) from None
        self._count = total
        return total
