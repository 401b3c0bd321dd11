"""Work sharing among the threads of one streamed pass: every core busy, none oversubscribed.

A streamed pass (`rnn.stream.fold_chunks` with concurrent folds) runs several threads at once: the
recurrence running ahead, the first fold, the other folds. When each of them also launched numba parallel
regions, two or three regions of two threads met on two cores; a region waits for its slowest thread, and
a thread sharing its core with another runs at half speed, so whole regions stalled (a margins pass used
about 1.6 of 2 cores).

A `SlicePool` instead runs serial (`nogil`) kernels over slices of rows: `start(fn, m)` cuts rows 0..m-1
into slices of `slice_rows` and offers them to the pool's workers (numba.get_num_threads() - 1 threads,
shared by every fold of the pass); `Job.finish()` has the calling thread take the slices still left, then
waits for the ones in flight. A thread that starts a job can do its own serial work in between. So each
thread that waits has nothing left it could do, and a slow thread holds up one slice, not a region.
Results never depend on the slicing or the thread count: `fn(a, b)` writes rows a..b-1 of its own outputs.

Ctrl-C: the calling thread stops between slices (a slice is about a millisecond); the workers then skip the
job's remaining slices. A thread inside `rnn.cancel.cancelled_by` stops likewise once its event is set.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from satrnn.rnn import cancel as cancel_mod

SLICE_ROWS = 1024     # rows per slice: 1-4 ms of a readout at H = 128, so a pass of 1 MB makes ~10^4 slices


class Job:
    """Rows 0..m-1 of one computation, handed out in slices of `rows` (see the module docstring)."""

    def __init__(self, fn, m: int, rows: int):
        self.fn, self.m, self.rows = fn, int(m), max(1, int(rows))
        self._next = 0
        self._running = 0
        self._error: BaseException | None = None
        self._cond = threading.Condition()

    def _take(self) -> int:
        with self._cond:
            if self._error is not None or self._next >= self.m:
                return -1
            a = self._next
            self._next = a + self.rows
            self._running += 1
            return a

    def _done(self, error: BaseException | None = None) -> None:
        with self._cond:
            self._running -= 1
            if error is not None and self._error is None:
                self._error = error
                self._next = self.m          # nobody takes another slice
            self._cond.notify_all()

    def drain(self) -> None:
        """Run slices until none is left (any thread; several at once)."""
        cancel = cancel_mod.current()
        while (a := self._take()) >= 0:
            try:
                if cancel is not None and cancel.is_set():
                    raise KeyboardInterrupt
                self.fn(a, min(a + self.rows, self.m))
            except BaseException as e:  # noqa: BLE001 - kept for the thread that finishes the job
                self._done(e)
                return
            self._done()

    def stop(self) -> None:
        """No slice starts after this (those running finish)."""
        with self._cond:
            self._next = self.m

    def finish(self) -> None:
        """Take the slices left, wait for those in flight, and raise the first error of any slice."""
        try:
            self.drain()
            with self._cond:
                while self._running:
                    self._cond.wait(0.05)
        except BaseException:
            self.stop()
            raise
        if self._error is not None:
            raise self._error


class SlicePool:
    """Worker threads (`threads` - 1; default numba.get_num_threads() - 1) that take slices of the jobs
    started on them. A context manager; with one thread there is no worker and `finish` does all."""

    def __init__(self, threads: int | None = None, slice_rows: int = SLICE_ROWS):
        import numba

        n = numba.get_num_threads() if threads is None else int(threads)
        self.threads = max(1, n)
        self.slice_rows = int(slice_rows)
        self._pool = (ThreadPoolExecutor(self.threads - 1, thread_name_prefix="satrnn-slices")
                      if self.threads > 1 else None)

    def start(self, fn, m: int) -> Job:
        """A job over rows 0..m-1: `fn(a, b)` computes rows a..b-1 (a serial, GIL-free kernel)."""
        job = Job(fn, m, self.slice_rows)
        if self._pool is not None:
            for _ in range(min(self.threads - 1, -(-job.m // job.rows) - 1)):
                self._pool.submit(job.drain)
        return job

    def run(self, fn, m: int) -> None:
        """`start(fn, m).finish()`."""
        self.start(fn, m).finish()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> SlicePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
