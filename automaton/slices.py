"""Long kernels in short slices: progress, Ctrl-C within a second, and threads that never wait on each other.

A long computation is split into independent jobs (a Brent search, a block of rows); each job is advanced by
calling its kernel for a bounded slice of work (at most about `SLICE_SECONDS`), so between slices the
wrapper can update a progress bar and Python can raise KeyboardInterrupt. Kernels are `nogil`, so jobs run
on Python threads (one per numba thread, `numba.get_num_threads()`), each job on one thread from start to
end. No numba parallel region is used: a parallel region waits for its slowest thread, which on a busy
machine made small regions (a 10-neuron exhaustive run) a hundred times slower with two threads; and
parfors compile slowly. Work below `SERIAL_STEPS` steps runs on the calling thread. Results never depend
on the slicing or the thread count: a job's outputs are its own, and a sliced job resumes exactly where it
stopped.
"""
from __future__ import annotations

import contextlib
import threading
import time

import numba

SLICE_SECONDS = 0.1          # target length of one slice (a slice may run up to about twice as long)
FIRST_SLICE_STEPS = 4096     # steps in a job's first slice, before its speed is known
SERIAL_STEPS = 1 << 18       # estimated work (Boolean steps) below which threads are not worth starting

_local = threading.local()


@contextlib.contextmanager
def cancelled_by(event: threading.Event):
    """Within this block, `run_jobs` called from this thread stops after the current slices once `event` is
    set, and raises KeyboardInterrupt. For computations on a background thread, where the signal does not
    arrive: the main thread sets the event when it is interrupted."""
    old = getattr(_local, "cancel", None)
    _local.cancel = event
    try:
        yield event
    finally:
        _local.cancel = old


def threads_for(total_steps: float | None) -> int:
    """Worker threads for a computation of about `total_steps` Boolean steps (None: unknown, large)."""
    if total_steps is not None and total_steps < SERIAL_STEPS:
        return 1
    return max(1, int(numba.get_num_threads()))


def run_jobs(n_jobs: int, work, *, threads: int | None = None, on_progress=None, total_steps=None) -> None:
    """Finish jobs 0..n_jobs-1. `work(j, limit) -> (finished, steps_done)` advances job j by at most about
    `limit` steps (a job that cannot stop early may ignore it and do all its work, if that stays short).
    on_progress(jobs_done, steps_done) is called from the calling thread about every SLICE_SECONDS.
    KeyboardInterrupt stops every worker after its current slice and is re-raised."""
    if threads is None:
        threads = threads_for(total_steps)
    state = {"next": 0, "done": 0, "steps": 0, "error": None}
    lock = threading.Lock()
    stop = threading.Event()
    cancel = getattr(_local, "cancel", None)

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
        limit = FIRST_SLICE_STEPS
        while True:
            t0 = time.perf_counter()
            finished, steps = work(j, limit)
            dt = time.perf_counter() - t0
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
            if steps > 0:   # aim the next slice at SLICE_SECONDS, growing at most 4x per slice
                limit = max(1, min(4 * limit, int(steps * SLICE_SECONDS / max(dt, 1e-6))))

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
