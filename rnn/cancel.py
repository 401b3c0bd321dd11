"""Cooperative cancellation of work on background threads, where SIGINT never arrives.

A thread that runs work for another (a fold on a worker thread, a report section on a background lane) does
it inside `cancelled_by(event)`; long loops that check `current()` between slices (`automaton.slices.run_jobs`)
stop once the event is set and raise KeyboardInterrupt there. The thread that was interrupted sets the event.
"""
from __future__ import annotations

import contextlib
import threading

_local = threading.local()


@contextlib.contextmanager
def cancelled_by(event: threading.Event):
    """Within this block, work on this thread that checks `current()` stops once `event` is set."""
    old = getattr(_local, "cancel", None)
    _local.cancel = event
    try:
        yield event
    finally:
        _local.cancel = old


def current() -> threading.Event | None:
    """The cancellation event of this thread's innermost `cancelled_by` block, or None."""
    return getattr(_local, "cancel", None)
