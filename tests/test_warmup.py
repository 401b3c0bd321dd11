"""The first-run warm-up (satrnn/warmup.py): its recorded kernel list resolves, and after a warm-up into an
empty cache the report compiles nothing more."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import numba
import pytest

from satrnn import warmup, warmup_kernels


def test_recorded_kernels_resolve():
    assert warmup_kernels.KERNELS
    for module, name, sig, level, _cost in warmup_kernels.KERNELS:
        d = getattr(importlib.import_module(module), name)
        assert isinstance(d, numba.core.dispatcher.Dispatcher), (module, name)
        assert isinstance(warmup._signature(sig), tuple)
        assert level >= 0


# Runs the report in a child with numba's compile events recorded; prints the kernels it compiled.
_REPORT_COMPILES = r"""
import contextlib, io, json, sys
import numba.core.event as ev
rec = ev.RecordingListener()
ev.register("numba:compile", rec)
from satrnn.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(["report", *sys.argv[1:], "--json"])
    except SystemExit:
        pass
print(json.dumps(sorted({e.data["dispatcher"].py_func.__qualname__ for _, e in rec.buffer if e.is_start})))
"""


@pytest.mark.slow
def test_report_compiles_nothing_after_warmup(tmp_path, model_path, text_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), SATRNN_HOME=str(tmp_path / "home"),
               SATRNN_NO_WARMUP="1")
    subprocess.run([sys.executable, "-m", "satrnn.warmup"], env=env, check=True, timeout=900,
                   cwd=tmp_path)
    # the marker lies beside the kernels, in the hashed cache folder (not in the working directory)
    assert list((tmp_path / "cache").glob("satrnn-*/warmup-*.done"))
    assert not list(tmp_path.glob("warmup-*.done")) and not list((tmp_path / "cache").glob("warmup-*.done"))
    for args in ([], [str(model_path), str(text_path)]):
        p = subprocess.run([sys.executable, "-c", _REPORT_COMPILES, *args], env=env, capture_output=True,
                           text=True, timeout=900)
        compiled = json.loads(p.stdout.strip().splitlines()[-1])
        assert compiled == [], f"the report compiled {compiled} after the warm-up: re-record the list " \
                               "(python -m satrnn.warmup --record MODEL TEXT)"
