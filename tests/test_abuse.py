"""Adversarial use of the CLI (issue 19): nothing lost, nothing clobbered, bounded reads, one-line errors.

Every case checks the exit code, exactly one `satrnn: error:` line on stderr (no traceback), that every
input file's sha256 is unchanged and that no stray file (output or temporary) appeared. Most cases run
`main()` in-process (an uncaught exception fails the test just like a traceback would); the cases that
need a real process (stdout on /dev/full, a FIFO that must not block, SIGINT) use a subprocess.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.files import StagedOutputs, check_output
from satrnn.rnn.model import MAX_MODEL_BYTES, n_floats_for, random_model

CLI = [sys.executable, "-m", "satrnn"]


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else p.lstat().st_mode.__repr__()


def _snapshot(d: Path) -> dict[str, str]:
    return {p.name: _sha(p) for p in d.iterdir()}


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("satrnn: error:"), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture()
def ws(tmp_path, model_path, text_path):
    """A scratch directory with a writable model (.bin and .npz) and text, and a way to run the CLI there."""
    d = tmp_path
    (d / "victim.bin").write_bytes(model_path.read_bytes())
    (d / "t.txt").write_bytes(text_path.read_bytes())
    random_model(8, 0).save(d / "victim.npz")
    random_model(8, 1).save(d / "h8.bin")

    class WS:
        dir = d

        def run(self, *argv, expect: int = 2, capsys=None, match: str | None = None):
            before = _snapshot(d)
            cwd = os.getcwd()
            os.chdir(d)
            try:
                rc = main([str(a) for a in argv])
            finally:
                os.chdir(cwd)
            out, err = capsys.readouterr()
            assert rc == expect, (rc, out, err)
            line = one_line_error(err) if expect == 2 else ""
            if match is not None:
                assert match in line, line
            after = _snapshot(d)
            assert after == before, f"files changed: {set(after.items()) ^ set(before.items())}"
            return line

    return WS()


# ---- inputs overwritten -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["um", "victim.npz", "--out", "victim.npz"],
    ["redux", "victim.bin", "t.txt", "--keep-top", "15", "--out", "victim.bin"],
    ["train", "t.txt", "--out", "t.txt", "--epochs", "1"],
    ["train", "t.txt", "--out", "x.npz", "--checkpoint", "x.npz", "--epochs", "1"],
    ["train", "t.txt", "--out", "x.bin", "--bin", "x.bin", "--epochs", "1"],
    ["train", "t.txt", "--resume", "victim.npz", "--out", "victim.npz"],
    ["trace", "victim.bin", "t.txt", "--out", "o.npy", "--preact", "o.npy"],
    ["sign", "victim.bin", "--text", "t.txt", "--trajectory", "t.txt"],
    ["coflip", "h8.bin", "t.txt", "--graphml", "t.txt"],
    ["coflip", "h8.bin", "t.txt", "--graphml", "g.xml", "--graph-json", "g.xml"],
    ["report", "h8.bin", "t.txt", "--svg", "h8.bin"],
    ["report", "h8.bin", "t.txt", "--json", "t.txt"],
    ["report", "h8.bin", "t.txt", "--svg", "r.svg", "--html", "r.svg"],
    ["um", "victim.npz", "--out", "./sub/../victim.npz"],
])
def test_output_that_is_an_input_is_refused(ws, argv, capsys):
    (ws.dir / "sub").mkdir()
    try:
        ws.run(*argv, capsys=capsys)
    finally:
        (ws.dir / "sub").rmdir()


def test_output_hard_link_or_symlink_to_input_is_refused(ws, capsys):
    os.link(ws.dir / "victim.npz", ws.dir / "hard.npz")
    os.symlink(ws.dir / "victim.npz", ws.dir / "soft.npz")
    ws.run("um", "victim.npz", "--out", "hard.npz", capsys=capsys, match="is the input")
    ws.run("um", "soft.npz", "--out", "victim.npz", capsys=capsys, match="is the input")
    ws.run("um", "victim.npz", "--out", "soft.npz", capsys=capsys, match="symlink")


def test_resume_may_rewrite_its_own_checkpoint(ws, capsys):
    # --checkpoint = --resume is the normal way to continue a run; only --out/--bin are refused
    ws.run("train", "t.txt", "--out", "m.npz", "--checkpoint", "ck.npz", "--resume", "ck.npz",
           capsys=capsys, match="checkpoint file not found")


# ---- special files as outputs -------------------------------------------------------------------------

def test_special_outputs_are_refused(ws, capsys):
    d = ws.dir
    os.mkfifo(d / "fifo")
    os.symlink("/proc/self/fd/1", d / "fd1")
    os.symlink("/dev/null", d / "null_link")
    os.symlink(d / "nowhere", d / "dangling")
    (d / "adir").mkdir()
    cases = ["fifo", "fd1", "null_link", "dangling", "adir", "/dev/null", "/dev/stdout", "/proc/self/fd/1"]
    try:
        os.mknod(d / "devnull_copy", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        cases.append("devnull_copy")
    except (PermissionError, OSError):
        pass
    for target in cases:
        ws.run("sign", "victim.bin", "--input", "65", "--steps", "3", "--trajectory", target, capsys=capsys)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_output_name_length(ws, capsys):
    ws.run("um", "victim.npz", "--out", "a" * 300 + ".csv", capsys=capsys, match="255")
    # a valid 250-byte name works (the temporary sibling has a short fixed-length name)
    name = "b" * 246 + ".csv"
    before = _snapshot(ws.dir)
    cwd = os.getcwd()
    os.chdir(ws.dir)
    try:
        assert main(["um", "victim.npz", "--out", name, "--json"]) == 0
    finally:
        os.chdir(cwd)
    capsys.readouterr()
    assert set(_snapshot(ws.dir)) == set(before) | {name}


def test_long_output_names_for_a_multi_output_command(ws, capsys):
    """Two staged outputs with 250-byte names: both written, no temporary left behind."""
    a, b = "a" * 246 + ".npy", "b" * 246 + ".npy"
    before = set(_snapshot(ws.dir))
    cwd = os.getcwd()
    os.chdir(ws.dir)
    try:
        assert main(["trace", "victim.bin", "t.txt", "--out", a, "--preact", b, "--json"]) == 0
    finally:
        os.chdir(cwd)
    capsys.readouterr()
    assert set(_snapshot(ws.dir)) == before | {a, b}
    assert np.load(ws.dir / a).shape == np.load(ws.dir / b).shape == (1024, 128)


def test_missing_output_directory(ws, capsys):
    ws.run("trace", "victim.bin", "t.txt", "--out", "ok.npy", "--preact", "full/z.npy", capsys=capsys)
    ws.run("report", "h8.bin", "t.txt", "--sections", "model", "--svg", "ok.svg", "--html", "full/r.html",
           capsys=capsys)


# ---- all outputs or none ------------------------------------------------------------------------------

def test_staged_outputs_all_or_none(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    with pytest.raises(SatrnnInputError, match="No space left"):
        with StagedOutputs() as out:
            out.write(a, lambda f: f.write(b"first"))
            out.write(b, lambda f: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(KeyboardInterrupt):
        with StagedOutputs() as out:
            out.write(a, lambda f: f.write(b"first"))
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with StagedOutputs() as out:
        out.write(a, lambda f: f.write(b"1"))
        out.write(b, lambda f: f.write(b"2"))
    assert a.read_bytes() == b"1" and b.read_bytes() == b"2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin"]


def test_trace_second_output_failing_leaves_nothing(ws, capsys, monkeypatch):
    import satrnn.commands.trace as trace_cmd
    real_open = trace_cmd._open_output
    calls = []

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(28, "No space left on device")

        def close(self):
            self.f.close()

    def failing_open(tmp):       # the second output (--preact) hits a full disk
        calls.append(1)
        f = real_open(tmp)
        return Full(f) if len(calls) == 2 else f

    monkeypatch.setattr(trace_cmd, "_open_output", failing_open)
    ws.run("trace", "victim.bin", "t.txt", "--out", "ok.npy", "--preact", "z.npy", capsys=capsys,
           match="No space left")


def test_report_second_export_failing_leaves_nothing(ws, capsys, monkeypatch):
    from rich.console import Console

    monkeypatch.setattr(Console, "export_html", lambda self, **kw: (_ for _ in ()).throw(OSError(28, "disk full")))
    ws.run("report", "h8.bin", "t.txt", "--sections", "model", "--svg", "ok.svg", "--html", "r.html",
           capsys=capsys, match="disk full")


# ---- bounded reads --------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["info", "/dev/zero"], ["info", "/dev/urandom"], ["eval", "victim.bin", "/dev/zero"],
    ["counting", "/dev/zero"], ["eval", "/dev/zero", "t.txt"], ["trace", "victim.bin", "/dev/urandom",
                                                               "--out", "o.npy"],
    ["sign", "victim.bin", "--text", "/dev/zero"], ["pmi", "--data-only", "/dev/zero"],
    ["train", "/dev/zero", "--out", "m.npz"], ["info", "."],
])
def test_devices_are_not_read(ws, argv, capsys):
    ws.run(*argv, capsys=capsys)


def test_fifo_never_blocks(ws):
    fifo = ws.dir / "fifo.npz"
    os.mkfifo(fifo)
    for argv in (["info", fifo], ["eval", ws.dir / "victim.bin", fifo], ["iso", ws.dir / "victim.bin",
                                                                          ws.dir / "t.txt", "--patterns", fifo]):
        p = subprocess.run([*CLI, *map(str, argv)], capture_output=True, text=True, timeout=60)
        assert p.returncode == 2, p
        assert "FIFO" in one_line_error(p.stderr)


def test_oversized_files_are_refused_before_reading(ws, capsys):
    big = ws.dir / "big.bin"
    with open(big, "wb") as f:  # sparse: costs no disk
        f.truncate(MAX_MODEL_BYTES + 4)
    ws.run("info", "big.bin", capsys=capsys, match="largest valid model")
    huge = ws.dir / "huge.txt"
    with open(huge, "wb") as f:
        f.truncate((1 << 30) + 1)
    ws.run("eval", "victim.bin", "huge.txt", capsys=capsys, match="--max-bytes")


@pytest.mark.parametrize("value", ["99999999999999999999", "0", "-5"])
def test_max_bytes_range(ws, value, capsys):
    ws.run("eval", "victim.bin", "t.txt", "--max-bytes", value, capsys=capsys, match="--max-bytes")
    ws.run("counting", "t.txt", "--max-bytes", value, capsys=capsys, match="--max-bytes")


# ---- malformed files ----------------------------------------------------------------------------------

def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _model_arrays(H: int = 4):
    m = random_model(H, 3)
    return {k: getattr(m, k) for k in ("Wx", "Wh", "bh", "Wy", "by")}


def _fake_npy_member(shape) -> bytes:
    """A .npy whose header claims `shape` float32 values but holds none."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return np.lib.format.magic(1, 0) + buf.getvalue()


def test_bad_npz_models(ws, capsys):
    d = ws.dir
    A = _model_arrays()
    _npz(d / "fv_array.npz", **A, format_version=np.array([1, 2]))
    _npz(d / "meta_list.npz", **A, meta=np.array(json.dumps([1, 2])))
    _npz(d / "meta_array.npz", **A, meta=np.array(["{}", "{}"]))
    _npz(d / "meta_bad.npz", **A, meta=np.array("{not json"))
    _npz(d / "f64.npz", **{k: v.astype(np.float64) for k, v in A.items()})
    with zipfile.ZipFile(d / "huge_header.npz", "w") as z:
        for k, v in A.items():
            z.writestr(k + ".npy", _fake_npy_member((10**12,)) if k == "Wh" else
                       (lambda b: (np.save(b, v), b.getvalue())[1])(io.BytesIO()))
    with zipfile.ZipFile(d / "huge_bh.npz", "w") as z:
        z.writestr("bh.npy", _fake_npy_member((10**12,)))
        for k in ("Wx", "Wh", "Wy", "by"):
            z.writestr(k + ".npy", b"")
    raw = (d / "victim.npz").read_bytes()
    (d / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    for name in ("fv_array", "meta_list", "meta_array", "meta_bad", "f64", "huge_header", "huge_bh", "truncated"):
        ws.run("info", f"{name}.npz", capsys=capsys)


def test_bad_pattern_files(ws, capsys):
    d = ws.dir
    cwd = os.getcwd()
    os.chdir(d)
    try:
        assert main(["um", "victim.npz", "--out", "p.npz", "--json"]) == 0
    finally:
        os.chdir(cwd)
    capsys.readouterr()
    raw = (d / "p.npz").read_bytes()
    (d / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    with np.load(d / "p.npz") as z:
        cols = {k: z[k] for k in z.files}
    _npz(d / "h_array.npz", **{**cols, "H": np.array([8, 8])})
    _npz(d / "h_huge.npz", **{**cols, "H": np.int64(10**9)})
    for name in ("trunc", "h_array", "h_huge"):
        ws.run("iso", "victim.npz", "t.txt", "--patterns", f"{name}.npz", capsys=capsys, match="pattern table")


# ---- options validated before computing ---------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["cycles", "victim.bin", "--input", "65", "--seed", "-1"],
    ["factor-map", "victim.bin", "t.txt", "--seed", "-3"],
    ["cascade", "victim.bin", "t.txt", "--seed", "-3"],
    ["coflip", "victim.bin", "t.txt", "--seed", "99999999999999999999"],
])
def test_bad_seed_is_refused_at_once(ws, argv, capsys):
    t0 = time.perf_counter()
    ws.run(*argv, capsys=capsys, match="--seed")
    assert time.perf_counter() - t0 < 5.0


def test_cache_lock_that_is_a_directory(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    (home / "default_model.lock").mkdir(parents=True)
    monkeypatch.setenv("SATRNN_HOME", str(home))
    rc = main(["default", "--rebuild", "--json"])
    out, err = capsys.readouterr()
    assert rc == 2 and "lock" in one_line_error(err)


def test_json_to_full_stdout(ws):
    with open("/dev/full", "w") as full:
        p = subprocess.run([*CLI, "info", ws.dir / "victim.bin", "--json"], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 2
    assert "No space left" in one_line_error(p.stderr)


# ---- extreme but valid models ----------------------------------------------------------------------------

@pytest.fixture()
def extreme(ws):
    np.full(n_floats_for(8), 1e38, dtype="<f4").tofile(ws.dir / "big.bin")
    random_model(1, 0).save(ws.dir / "h1.bin")
    return ws


@pytest.mark.parametrize("cmd", ["margins", "attribution", "factor-map", "carrier", "justify", "saturation",
                                 "coflip"])
@pytest.mark.parametrize("model", ["big.bin", "h1.bin"])
def test_extreme_models_work_or_say_why(extreme, cmd, model, capsys):
    d = extreme.dir
    cwd = os.getcwd()
    os.chdir(d)
    try:
        rc = main([cmd, model, "t.txt", "--json"])
    finally:
        os.chdir(cwd)
    out, err = capsys.readouterr()
    if rc == 0:
        json.loads(out)
        assert "Traceback" not in err
    else:
        assert rc == 2
        one_line_error(err)


# ---- interrupts ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cmd", ["saturation", "margins"])
def test_sigint_in_a_streamed_analysis_exits_130(ws, cmd):
    """The streamed analyses return to Python between chunks: Ctrl-C exits 130 promptly, no traceback."""
    big = ws.dir / "big.txt"
    big.write_bytes(np.random.default_rng(0).integers(32, 127, 4 << 20, dtype=np.uint8).tobytes())
    p = subprocess.Popen([*CLI, cmd, ws.dir / "victim.bin", big], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=ws.dir)
    time.sleep(10.0)  # imports, the kernels' cache load, then a few chunks
    assert p.poll() is None, "finished before the interrupt"
    t0 = time.perf_counter()
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=10)
    finally:
        p.kill()
    elapsed = time.perf_counter() - t0
    assert p.returncode == 130, err
    assert "Traceback" not in err
    assert elapsed < 2.0, elapsed
    assert sorted(q.name for q in ws.dir.iterdir()) == sorted(["big.txt", "h8.bin", "t.txt", "victim.bin",
                                                              "victim.npz"])


def test_check_output_unit(tmp_path):
    f = tmp_path / "in.bin"
    f.write_bytes(b"x")
    with pytest.raises(SatrnnInputError, match="is the input"):
        check_output(tmp_path / "." / "in.bin", [f])
    assert check_output(tmp_path / "new.bin", [f]) == tmp_path / "new.bin"
    with pytest.raises(SatrnnInputError, match="empty"):
        check_output("", [])


# ---- large models: Ctrl-C in every kernel, pinned exhaustive landscapes (issue 28) ----------------------

H_BIG = 4096


def _big_model(path: Path, kind: str) -> Path:
    """An H = 4096 model (75 MB raw float32): "zero" (every weight 0, so every pre-activation is an exact tie
    and each step recomputes all 4096 neurons in tier 3: about 0.1 s a step) or "random"."""
    if kind == "zero":
        np.zeros(n_floats_for(H_BIG), dtype=np.float32).tofile(path)
    else:
        random_model(H_BIG, 1).save(path)
    return path


def _warm_kernels():
    """Compile (or load from numba's cache) the kernels the subprocesses use, so a signal lands in a kernel
    rather than in the compiler."""
    from satrnn.automaton import landscape as ls
    from satrnn.automaton.cascade import flip_cascades, sign_trajectory
    from satrnn.automaton.sign import SignAutomaton
    A = SignAutomaton.from_model(random_model(70, 0), "exact")
    ls.estimate_sensitivity(A, 32, 4, 0)
    ls.estimate_landscape(A, 32, starts=2, budget=100, seed=0, bootstrap_resamples=100)
    xs = np.arange(6, dtype=np.uint8)
    flip_cascades(A, sign_trajectory(A, xs), xs, 2)


@pytest.mark.parametrize("kind,delay", [("zero", 7.0), ("random", 6.0)])
def test_sigint_in_the_landscape_sensitivity_at_H_4096(tmp_path, kind, delay):
    """Issue 28: the sampled sensitivity (one-step flip cascades, 4097 runs per sampled state) ignored Ctrl-C
    for minutes at H = 4096 (395 s with zero weights, 13 s random); it is now sliced by work."""
    from tests.interrupts import interrupt_after
    _warm_kernels()
    m = _big_model(tmp_path / f"h4096{kind}.bin", kind)
    r = interrupt_after(["landscape", m, "--input", "32", "--starts", "2", "--budget", "100", "--bootstrap", "100"],
                        delay)
    assert r is not None, "finished before the interrupt"
    rc, waited, err = r
    assert rc == 130 and "Traceback" not in err, err
    assert waited < 1.0, waited
    assert sorted(p.name for p in tmp_path.iterdir()) == [m.name]


def test_sigint_in_the_cascade_kernel_at_H_4096(tmp_path):
    """Issue 28: `satrnn cascade` at H = 4096 exited 13.75 s after Ctrl-C; its kernel is now sliced by work.
    (--trajectory sign: the float32 trajectory of the default runs in rnn.forward's chunks, not here.)"""
    from tests.interrupts import interrupt_after
    _warm_kernels()
    m = _big_model(tmp_path / "h4096r.bin", "random")
    t = tmp_path / "t.txt"
    t.write_bytes(b"the quick brown fox jumps over the lazy dog")
    waits = []
    for delay in (4.0, 6.0):
        r = interrupt_after(["cascade", m, t, "--trajectory", "sign"], delay)
        assert r is not None, "finished before the interrupt"
        rc, waited, err = r
        assert rc == 130 and "Traceback" not in err, err
        waits.append(waited)
    assert max(waits) < 1.0, waits


def _pin_spec(pins: dict) -> str:
    return ",".join(f"{j}={v:+d}" for j, v in sorted(pins.items()))


def test_pinned_exhaustive_landscape_at_H_128_from_the_cli(tmp_path, capsys):
    """Issue 28: `landscape --exhaustive --pin` failed for every H > 64 ("states must have shape (m, 2)").
    At H = 128 with 122 neurons pinned (free ones on both sides of the word boundary), the JSON equals the
    literal reference; also with --sequence, with --graphml, with every neuron pinned, and 16 free neurons."""
    import networkx as nx

    import naive
    from satrnn.automaton import landscape as ls
    from satrnn.automaton.sign import SignAutomaton
    H = 128
    model = random_model(H, 5, scale=2.0)
    path = tmp_path / "h128.bin"
    model.save(path)
    free = [0, 5, 63, 64, 90, 127]
    rng = np.random.default_rng(0)
    pins = {j: int(rng.choice([-1, 1])) for j in range(H) if j not in free}
    step = naive.pinned_step(lambda s, x: naive.bool_step(model.Wx, model.Wh, model.bh, x, s, "exact"), pins)
    nd = H // 4
    for seq in ([32], [32, 65]):
        arg = ["--input", "32"] if len(seq) == 1 else ["--sequence", "32,65"]
        assert main(["landscape", str(path), *arg, "--exhaustive", "--pin", _pin_spec(pins), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        ref = naive.landscape_reference(naive.sequence_step(step, seq), H, pins)
        assert out["states"] == len(ref["states"]) == 64
        hx = lambda v: format(v, f"0{nd}x")
        assert {a["rep"]: (a["states"], a["basin_size"]) for a in out["attractors"]} == \
            {hx(r): ([hx(v) for v in c], ref["basin"][r]) for r, c in ref["cycles"].items()}
        assert out["garden_of_eden"] == ref["garden_of_eden"]
        assert out["in_degree_histogram"] == ref["in_degree_histogram"]
        assert abs(out["basin_entropy"] - ref["entropy"]) < 1e-12
    g = tmp_path / "g.graphml"
    assert main(["landscape", str(path), "--input", "32", "--exhaustive", "--pin", _pin_spec(pins),
                 "--graphml", str(g)]) == 0
    capsys.readouterr()
    graph = nx.read_graphml(g)
    assert graph.number_of_nodes() == 64 and graph.number_of_edges() == 64
    assert sorted(graph.nodes) == [format(v, f"0{nd}x") for v in ref["states"]]
    allp = {j: (1 if j % 2 else -1) for j in range(H)}
    assert main(["landscape", str(path), "--input", "32", "--exhaustive", "--pin", _pin_spec(allp), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["states"] == 1 and out["attractors"][0]["rep"] == format(sum(1 << j for j in range(1, H, 2)), f"0{nd}x")
    assert out["sensitivity"]["overall"] is None
    p16 = {j: -1 for j in range(112)}          # the shape: leading neurons pinned, 16 free
    assert main(["landscape", str(path), "--input", "32", "--exhaustive", "--pin", _pin_spec(p16), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    land = ls.landscape(SignAutomaton.from_model(model, "exact"), 32, p16)
    assert out["states"] == 1 << 16 and out["attractors"] == [a.as_dict() for a in land.attractors]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.graphml", "h128.bin"]
