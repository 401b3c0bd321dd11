"""`satrnn eval` and `satrnn trace` stream the text (issues 19, 21): results equal the in-memory reference
bit for bit across chunk boundaries, memory stays flat, and Ctrl-C exits 130 promptly."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from satrnn.cli import main
from satrnn.rnn.forward import chunk_bytes, forward, run_states
from satrnn.rnn.model import random_model

SATRNN = [sys.executable, "-m", "satrnn"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """An H = 8 model and a text longer than one chunk (so the CLI crosses a chunk boundary)."""
    d = tmp_path_factory.mktemp("stream")
    model = random_model(8, 3, scale=2.0)
    model.save(d / "m.npz")
    n = chunk_bytes(8) + 1234
    xs = np.random.default_rng(3).integers(0, 256, n, dtype=np.uint8)
    (d / "t.txt").write_bytes(xs.tobytes())
    return d, model, xs


def test_trace_streams_bit_exact_across_chunks(small, capsys):
    d, model, xs = small
    hs, zs = run_states(model, xs)
    assert main(["trace", str(d / "m.npz"), str(d / "t.txt"), "--out", str(d / "h.npy"), "--preact",
                 str(d / "z.npy"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["shape"] == [len(xs), 8]
    assert np.array_equal(np.load(d / "h.npy").view(np.uint32), hs.view(np.uint32))
    assert np.array_equal(np.load(d / "z.npy").view(np.uint32), zs.view(np.uint32))
    assert main(["trace", str(d / "m.npz"), str(d / "t.txt"), "--out", str(d / "h64.npy"), "--precision", "f64",
                 "--max-bytes", "1000"]) == 0
    assert np.array_equal(np.load(d / "h64.npy"), run_states(model, xs[:1000], precision="f64")[0])
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]


def test_eval_streams_bit_exact_across_chunks(small, capsys):
    d, model, xs = small
    for extra, ref in (([], forward(model, xs)), (["--max-bytes", "777"], forward(model, xs[:777])),
                       (["--precision", "f64"], forward(model, xs, precision="f64")),
                       (["--unclamped"], forward(model, xs, clamp=False))):
        assert main(["eval", str(d / "m.npz"), str(d / "t.txt"), "--json", *extra]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["bpc"] == ref.bpc and doc["predictions"] == ref.predictions
        assert doc["max_cost_bits"] == ref.costs.max()


def _run_measured(cmd, env=None):
    """(exit code, stdout, peak RSS in MB) of a child process."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read()
    p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, out, ru.ru_maxrss / 1024


@pytest.mark.slow
def test_eval_memory_is_flat(tmp_path):
    """Peak RSS of `satrnn eval` does not grow with the text: 2 MB needs no more than 0.2 MB (+ noise),
    where the in-memory forward needed 1 KB per byte (2 GB). The small run goes first, so a cold numba
    cache is compiled there and not counted against the large one."""
    model = random_model(128, 0)
    model.save(tmp_path / "m.bin")
    rng = np.random.default_rng(0)
    rss = {}
    for n in (200_000, 2_000_000):
        (tmp_path / "t.txt").write_bytes(rng.integers(32, 127, n, dtype=np.uint8).tobytes())
        rc, out, rss[n] = _run_measured([*SATRNN, "eval", str(tmp_path / "m.bin"), str(tmp_path / "t.txt"),
                                         "--json"])
        assert rc == 0 and json.loads(out)["predictions"] == n - 1
    print(f"peak RSS {rss[200_000]:.0f} MB for 0.2 MB of text, {rss[2_000_000]:.0f} MB for 2 MB")
    assert rss[2_000_000] < 1.2 * rss[200_000] + 30


@pytest.mark.parametrize("command", ["eval", "trace"])
def test_ctrl_c_exits_130_promptly(tmp_path, command):
    model = random_model(128, 1)
    model.save(tmp_path / "m.bin")
    (tmp_path / "t.txt").write_bytes(np.random.default_rng(1).integers(0, 256, 20_000_000, np.uint8).tobytes())
    cmd = [*SATRNN, command, str(tmp_path / "m.bin"), str(tmp_path / "t.txt")]
    if command == "trace":
        cmd += ["--out", str(tmp_path / "h.npy")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(6)                      # imports, cache loads, then well into the kernels
    assert p.poll() is None, p.stderr.read()
    t0 = time.perf_counter()
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=10)
    finally:
        p.kill()
    waited = time.perf_counter() - t0
    print(f"{command}: exit {p.returncode} {waited:.2f} s after SIGINT")
    assert p.returncode == 130
    assert waited < 2.0                # 1 s on an idle machine; the shared CI box is loaded
    assert not (tmp_path / "h.npy").exists() and not [q for q in tmp_path.iterdir() if q.name.endswith(".tmp")]
