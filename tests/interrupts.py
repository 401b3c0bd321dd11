"""Ctrl-C as a user sends it: start a satrnn command, SIGINT it after a delay, time the exit."""
from __future__ import annotations

import signal
import subprocess
import sys
import time


def interrupt_after(args, delay: float, timeout: float = 10.0):
    """Run `python -m satrnn ARGS`, send SIGINT after `delay` seconds, and return (exit code, seconds from
    the signal to the exit, stderr), or None when the command had already finished (nothing to interrupt)."""
    p = subprocess.Popen([sys.executable, "-m", "satrnn", *map(str, args)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        time.sleep(delay)
        if p.poll() is not None:
            return None
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=timeout)
        return rc, time.monotonic() - t0, p.stderr.read().decode(errors="replace")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
