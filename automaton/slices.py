"""Long kernels in short slices: progress, Ctrl-C within a second, and threads that never wait on each other.

A long computation is split into independent jobs (a Brent search, a block of rows); each job is advanced by
calling its kernel for a bounded slice of work (at most about `SLICE_SECONDS`), so between slices the
wrapper can update a progress bar and Python can raise KeyboardInterrupt. Kernels are `nogil`, so jobs run
on Python threads (one per numba thread, `numba.get_num_threads()`), each job on one thread from start to
end. No numba parallel region is used: a parallel region waits for its slowest thread, which on a busy
machine made small regions (a 10-neuron exhaustive run) a hundred times slower with two threads; and
parfors compile slowly. Work below `SERIAL_WORK` units runs on the calling thread. Results never depend
on the slicing or the thread count: a job's outputs are its own, and a sliced job resumes exactly where it
stopped.

Slices are measured in work units, not in steps: one step of the sign automaton costs from 0.1 us (H = 128)
to 0.1 s (H = 4096 with every neuron a tier-3 tie), a factor of 10^6, so a slice of a fixed number of steps
is either uselessly short or minutes long. A kernel counts the work of each step it does
(`automaton.sign._step_work`: C x Hp tier-1 additions plus FALLBACK_WORK x H per tier-3 neuron) and stops
after the step that reaches its limit; the first slice is FIRST_SLICE_WORK units (a few milliseconds at any
H), later ones aim at SLICE_SECONDS from the measured work rate.
"""
from __future__ import annotations

import threading
import time

import numba

from satrnn.rnn import cancel as cancel_mod

SLICE_SECONDS = 0.1          # target length of one slice (a slice may run up to about twice as long)
FIRST_SLICE_WORK = 1 << 24   # work units of a job's first slice, before its speed is known (about 4 ms; one
                             # step at H = 128 is 2,048 units, at H = 4096 from 4.2e6 to 5.4e8)
SERIAL_WORK = 1 << 29        # estimated work below which threads are not worth starting (2^18 steps at H = 128)
MAX_LIMIT = 1 << 62          # limits stay int64 for the kernels

cancelled_by = cancel_mod.cancelled_by   # re-exported: run_jobs honours it (rnn/cancel.py)


def threads_for(total_work: float | None) -> int:
    """Worker threads for a computation of about `total_work` work units (None: unknown, large)."""
    if total_work is not None and total_work < SERIAL_WORK:
        return 1
    return max(1, int(numba.get_num_threads()))


def run_jobs(n_jobs: int, work, *, threads: int | None = None, on_progress=None, total_work=None) -> None:
    """Finish jobs 0..n_jobs-1. `work(j, limit) -> (finished, steps_done, work_done)` advances job j by
    about `limit` work units: it stops after the step (or row) that reaches the limit (a job that cannot stop
    early may ignore it and do all its work, if that stays short). A 2-tuple (finished, steps_done) counts
    each step as one unit. on_progress(jobs_done, steps_done) is called from the calling thread about every
    SLICE_SECONDS. KeyboardInterrupt stops every worker after its current slice and is re-raised."""
    if threads is None:
        threads = threads_for(total_work)
    state = {"next": 0, "done": 0, "steps": 0, "error": None}
    lock = threading.Lock()
    stop = threading.Event()
    cancel = cancel_mod.current()

    def check_cancel():
        if cancel is not None and cancel.is_set():
            stop.set()
            raise KeyboardInterrupt

    check_cancel()

    def take():
        with lock:
            j = state["next"]
            if j >= n_jobs or stop.is_set():
                return -1
            state["next"] = j + 1
            return j

    def run_one(j, report=None):
        limit = FIRST_SLICE_WORK
        while True:
            t0 = time.perf_counter()
            finished, steps, *used = work(j, limit)
            dt = time.perf_counter() - t0
            used = used[0] if used else steps
            with lock:
                state["steps"] += int(steps)
                if finished:
                    state["done"] += 1
            if report is not None:
                report()
            if finished:
                return True
            if stop.is_set() or (cancel is not None and cancel.is_set()):
                return False
            if used > 0:    # aim the next slice at SLICE_SECONDS, growing at most 4x per slice
                limit = max(1, min(4 * limit, MAX_LIMIT, int(used * SLICE_SECONDS / max(dt, 1e-6))))

    def report():
        if on_progress is not None:
            on_progress(state["done"], state["steps"])

    if threads <= 1 or n_jobs <= 1:
        while (j := take()) >= 0:
            run_one(j, report)
            check_cancel()
        return

    def worker():
        try:
            while (j := take()) >= 0:
                if not run_one(j):
                    return
        except BaseException as e:  # noqa: BLE001 - re-raised on the calling thread
            state["error"] = e
            stop.set()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(min(threads, n_jobs))]
    for t in pool:
        t.start()
    try:
        while alive := [t for t in pool if t.is_alive()]:
            alive[0].join(SLICE_SECONDS)
            report()
            check_cancel()
    except BaseException:
        stop.set()
        for t in pool:
            t.join()
        raise
    if state["error"] is not None:
        raise state["error"]
    report()


BLOCK_WORK = 1 << 27         # work units of one job of `run_rows` (65,536 steps at H = 128)


def run_rows(m: int, row_work: int, advance, *, on_progress=None, threads: int | None = None) -> None:
    """Rows 0..m-1 that are independent and cost at least `row_work` units each, in jobs of about BLOCK_WORK
    units (one row at least): advance(r, hi, limit) -> (next row, work done) does rows r, r + 1, ... < hi
    until the row whose work reaches `limit`. on_progress(rows_done) as in `run_jobs`."""
    row_work = max(1, int(row_work))
    block = max(1, min(max(1, m), BLOCK_WORK // row_work))
    nxt: dict[int, int] = {}         # job -> its next row (each job is on one thread at a time)

    def work(j, limit):
        hi = min(m, (j + 1) * block)
        r = nxt.get(j, j * block)
        r2, used = advance(r, hi, limit)
        nxt[j] = r2
        return r2 >= hi, r2 - r, used

    run_jobs(-(-m // block), work, threads=threads, total_work=m * float(row_work),
             on_progress=None if on_progress is None else lambda _, rows: on_progress(rows))
