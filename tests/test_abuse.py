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


# ---- the application (issue 28): closed std streams, the explorer, sweep stores, schedulers, workers -------

def _cli(*argv, shell_redirect: str = "", timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """`python -m satrnn ARGV` in a subprocess; shell_redirect (e.g. ">&-") is applied by bash to the command."""
    cmd = [sys.executable, "-m", "satrnn", *map(str, argv)]
    if shell_redirect:
        cmd = ["bash", "-c", f'exec "$0" "$@" {shell_redirect}', *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def _sweep_store(path: Path, model_path: Path) -> Path:
    """A valid store with one sweep row and no job rows (no cluster needed)."""
    from satrnn.rnn.model import load_model
    from satrnn.sweeps import sweep as sw
    from satrnn.sweeps.store import SweepStore
    m = load_model(model_path)
    spec = sw.SweepSpec(kind="cycles", model_digest=sw.model_digest(m), H=m.H, semantics="exact", inputs=("41",),
                        starts=2, seed=0, budget=1000)
    with SweepStore(path) as st:
        st.sweep_for(spec.kind, spec.params(), spec.params_sha256(), spec.model_digest, "test", spec.n_jobs)
    return path


@pytest.mark.parametrize("argv", [
    ["eval", "{M}", "{T}"], ["landscape", "{M}", "--input", "32", "--starts", "4", "--budget", "20000", "--json"],
    ["sweep", "status", "--db", "{DB}"], ["explore", "{M}", "{T}", "--json"],
    ["sweep", "cycles", "{M}", "--input", "65", "--starts", "2", "--budget", "1000", "--db", "{NEW}"], []])
def test_closed_stdout_is_one_line_exit_2(tmp_path, model_path, text_path, argv):
    """Issue 28: `satrnn eval M T >&-` gave a traceback (AttributeError: 'NoneType' object has no attribute
    'flush'). A closed stdout is refused before any work: one line, exit 2, nothing created."""
    db = _sweep_store(tmp_path / "s.sqlite", model_path)
    before = _snapshot(tmp_path)
    sub = {"{M}": model_path, "{T}": text_path, "{DB}": db, "{NEW}": tmp_path / "new.sqlite"}
    r = _cli(*[sub.get(a, a) for a in argv], shell_redirect=">&-")
    assert r.returncode == 2, r.stderr
    assert "stdout is closed" in one_line_error(r.stderr)
    assert _snapshot(tmp_path) == before


def test_closed_stderr_runs_and_keeps_exit_codes(tmp_path, model_path, text_path):
    """With stderr closed a command still runs (its messages are lost, the exit code tells); nothing it opens
    takes the closed descriptor's number."""
    r = _cli("eval", model_path, text_path, "--json", shell_redirect="2>&-")
    assert r.returncode == 0 and json.loads(r.stdout)["bytes"] == 1024
    assert _cli("eval", model_path, tmp_path / "missing.txt", shell_redirect="2>&-").returncode == 2
    db = _sweep_store(tmp_path / "s.sqlite", model_path)
    r = _cli("sweep", "status", "--db", db, "--json", shell_redirect="2>&-")
    assert r.returncode == 0 and json.loads(r.stdout)["sweeps"][0]["jobs"] == 2


def test_proc_pseudo_file_is_refused_saying_why(ws, model_path, capsys):
    """Issue 28: /proc/self/status as TEXT was called "empty" (procfs reports size 0)."""
    for argv in (["eval", model_path, "/proc/self/status"], ["explore", model_path, "/proc/self/status", "--json"],
                 ["info", "/proc/self/status"]):
        line = ws.run(*argv, capsys=capsys)
        assert "pseudo-file" in line and "empty" not in line, line


def test_an_error_is_the_only_stderr_line(ws, model_path, capsys):
    """Issue 28: `cycles --input all --starts 1000000` printed its header on stderr, then the error (too many jobs)."""
    line = ws.run("cycles", model_path, "--input", "all", "--starts", "40000", capsys=capsys)  # 10.24M jobs
    assert "more than" in line


# -- sweep stores --

def test_empty_store_refused_by_every_subcommand(ws, model_path, capsys):
    """Issue 28: a 0-byte --db gave `no such table` in `sweep status` while `sweep cycles` took it as new."""
    (ws.dir / "e.sqlite").write_bytes(b"")
    for argv in (["sweep", "status", "--db", "e.sqlite"], ["sweep", "export", "--db", "e.sqlite"],
                 *(["sweep", k, model_path, "--input", "65", "--starts", "2", "--budget", "1000", "--db", "e.sqlite"]
                   for k in ("cycles", "pin", "landscape"))):
        assert "is empty (0 bytes)" in ws.run(*argv, capsys=capsys), argv


@pytest.mark.parametrize("params", ["not json", "{}", "[1, 2]", '{"kind": "cycles"}'])
def test_damaged_params_row_refused_untouched(ws, model_path, params, capsys):
    """Issue 28: a damaged `params` row (quick_check still passes) gave JSONDecodeError, KeyError or TypeError."""
    import sqlite3
    db = _sweep_store(ws.dir / "d.sqlite", model_path)
    con = sqlite3.connect(db)
    con.execute("UPDATE sweep SET params = ?", (params,))
    con.commit()
    con.close()
    for argv in (["sweep", "status", "--db", db], ["sweep", "export", "--db", db, "--format", "json"],
                 ["sweep", "cycles", model_path, "--input", "65", "--starts", "2", "--budget", "1000", "--db", db]):
        line = ws.run(*argv, capsys=capsys)
        assert "not a satrnn sweep database (sweep row 1: params" in line, line


def test_store_that_is_a_directory_or_fifo_says_so(ws, capsys):
    (ws.dir / "adir").mkdir()
    os.mkfifo(ws.dir / "f.sqlite")
    assert "is a directory" in ws.run("sweep", "status", "--db", "adir", capsys=capsys)
    assert "is a FIFO" in ws.run("sweep", "export", "--db", "f.sqlite", capsys=capsys)
    assert "does not exist" in ws.run("sweep", "status", "--db", "missing.sqlite", capsys=capsys)


def test_store_read_without_writing_beside_it(ws, model_path, capsys):
    """status and export open an idle store immutable: nothing is created beside it, so a read-only file
    system (where SQLite's -shm could not be created) works. Simulated for root, which may write anywhere:
    the -shm name is taken by a directory, which no open can create or use."""
    db = _sweep_store(ws.dir / "s.sqlite", model_path)
    (ws.dir / "s.sqlite-shm").mkdir()
    ws.run("sweep", "status", "--db", db, "--json", expect=0, capsys=capsys)
    ws.run("sweep", "export", "--db", db, "--format", "json", expect=0, capsys=capsys)


def _unshare_ok() -> bool:
    try:
        return subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                              capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def test_store_on_a_read_only_file_system(tmp_path, model_path):
    """Issue 28: `sweep status` / `export` on a valid store on a read-only file system failed with `unable to
    open database file`. A real read-only bind mount (in a private mount namespace; skipped where that is not
    permitted -- the test above simulates it everywhere)."""
    if not _unshare_ok():
        pytest.skip("no private mount namespace here (unshare -m)")
    d = tmp_path / "ro"
    d.mkdir()
    db = _sweep_store(d / "s.sqlite", model_path)
    py = sys.executable
    script = (f"mount --bind {d} {d} && mount -o remount,bind,ro {d} && "
              f"{py} -m satrnn sweep status --db {db} --json > {tmp_path}/status.json && "
              f"{py} -m satrnn sweep export --db {db} --format csv > {tmp_path}/export.csv")
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and not r.stderr, r.stderr
    assert json.loads((tmp_path / "status.json").read_text())["sweeps"][0]["jobs"] == 2
    assert (tmp_path / "export.csv").read_text().startswith("model_digest,")
    assert sorted(p.name for p in d.iterdir()) == ["s.sqlite"]


def test_locked_store_bounded_wait_and_ctrl_c(tmp_path, model_path):
    """Issue 28: a store held by another connection made a sweep wait 30 s, then print a traceback; Ctrl-C
    during the wait took 22.9 s. Now: --lock-timeout bounds the wait (one line, exit 1), Ctrl-C ends it at
    once (SQLite's own busy wait, which ignores signals, is not used), and reading is not blocked."""
    import sqlite3

    from tests.interrupts import interrupt_after
    db = _sweep_store(tmp_path / "l.sqlite", model_path)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        argv = ["sweep", "cycles", model_path, "--input", "65", "--starts", "2", "--budget", "1000", "--db", db,
                "--workers", "1"]
        t0 = time.monotonic()
        r = _cli(*argv, "--lock-timeout", "1")
        assert r.returncode == 1, r.stderr
        assert "is locked by another process (waited 1 s" in one_line_error(r.stderr)
        assert time.monotonic() - t0 < 30
        assert _cli("sweep", "status", "--db", db, "--json").returncode == 0
        res = interrupt_after(argv, 3.0)
        assert res is not None, "finished before the interrupt"
        rc, waited, err = res
        assert rc == 130 and err.strip() == "satrnn: interrupted", err
        assert waited < 1.0, waited
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".tmp", "-journal"))]


def test_full_disk_at_commit_one_line_rows_kept_rerun_completes(tmp_path, model_path):
    """Issue 28: a full disk at a chunk's commit gave a traceback. A real small tmpfs in a private mount
    namespace (skipped where not permitted; tests/test_sweep.py simulates it with SQLite's max_page_count)."""
    if not _unshare_ok():
        pytest.skip("no private mount namespace here (unshare -m)")
    d = tmp_path / "full"
    d.mkdir()
    py = sys.executable
    run = (f"{py} -m satrnn sweep cycles {model_path} --input all --starts 2 --budget 1000 --db {d}/f.sqlite "
           f"--workers 1 --chunk 16 --json")
    script = (f"mount -t tmpfs -o size=100k tmpfs {d} && {{ {run} > /dev/null 2> {tmp_path}/err1; echo $? > "
              f"{tmp_path}/rc1; }}; {py} -c \"import sqlite3; print(sqlite3.connect('file:{d}/f.sqlite?mode=ro', "
              f"uri=True).execute('SELECT COUNT(*) FROM cycles').fetchone()[0])\" > {tmp_path}/n1; "
              f"mount -o remount,size=4m {d} && {run} > {tmp_path}/o2.json")
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rc1").read_text().strip() == "1"
    line = one_line_error((tmp_path / "err1").read_text())
    assert "the disk is full" in line and "re-run" in line, line
    n1 = int((tmp_path / "n1").read_text())
    assert 0 < n1 < 512
    o2 = json.loads((tmp_path / "o2.json").read_text())
    assert (o2["skipped_already_done"], o2["computed"], o2["finished"]) == (n1, 512 - n1, True)


# -- schedulers and workers --

@pytest.fixture()
def silent_servers():
    """Two local TCP servers that are not Dask: an HTTP server (accepts, waits for a request, never answers a
    Dask handshake) and one that answers every connection with garbage bytes."""
    import http.server
    import socketserver
    import threading

    class Garbage(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.sendall(b"\xff" * 64)
            time.sleep(5)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    garbage = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Garbage)
    garbage.daemon_threads = True
    for s in (httpd, garbage):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield {"http": httpd.server_address[1], "garbage": garbage.server_address[1]}
    for s in (httpd, garbage):
        s.shutdown()
        s.server_close()


def test_scheduler_validated_before_anything_is_created(tmp_path, model_path, silent_servers):
    """Issue 28: --scheduler foo / http://... gave tracebacks, a refused port took 60 s, an HTTP server hung
    forever, a non-Dask server was reported as "out of memory", and each left an empty store behind."""
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    cases = [("foo", "must look like tcp://HOST:PORT"), ("http://127.0.0.1:8786", "scheme 'http'"),
             ("tcp://127.0.0.1:99999", "port '99999'"), (f"tcp://127.0.0.1:{free}", "Connection refused"),
             (f"tcp://127.0.0.1:{silent_servers['http']}", "gave no Dask handshake within 2 s"),
             (f"127.0.0.1:{silent_servers['garbage']}", "did not answer as a Dask scheduler")]
    for address, expected in cases:
        t0 = time.monotonic()
        r = _cli("sweep", "cycles", model_path, "--input", "65", "--starts", "2", "--budget", "1000",
                 "--db", tmp_path / "x.sqlite", "--scheduler", address, "--connect-timeout", "2")
        assert r.returncode == 2, (address, r.stderr)
        assert expected in one_line_error(r.stderr), (address, r.stderr)
        assert time.monotonic() - t0 < 25, address
        assert list(tmp_path.iterdir()) == [], address


def test_workers_capped_at_four_per_core(ws, model_path, capsys):
    """Issue 28: --workers 1000 on 2 cores started 1000 worker processes (and ran out of pids)."""
    from satrnn.sweeps import sweep as sw
    over = sw.max_workers() + 1
    line = ws.run("sweep", "cycles", model_path, "--input", "65", "--db", "x.sqlite", "--workers", over,
                  capsys=capsys)
    assert f"--workers must be between 1 and {sw.max_workers()}" in line and "per core" in line


def test_ctrl_c_while_the_local_cluster_starts(tmp_path, model_path):
    """Issue 28: SIGINT in the moment the LocalCluster starts exited 130 at once, but the spawned workers printed
    KeyboardInterrupt tracebacks and multiprocessing warned of leaked semaphores. The signal is sent to the
    process group (a terminal's Ctrl-C) as soon as the first worker process exists."""
    import psutil
    db = tmp_path / "x.sqlite"
    p = subprocess.Popen([sys.executable, "-m", "satrnn", "sweep", "cycles", str(model_path), "--input", "65",
                          "--starts", "2", "--budget", "1000", "--workers", "2", "--db", str(db)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120 and p.poll() is None:
            kids = psutil.Process(p.pid).children(recursive=True)
            if any("--multiprocessing-fork" in " ".join(k.cmdline()) for k in kids if k.is_running()):
                break
            time.sleep(0.02)
        assert p.poll() is None, "finished before the interrupt"
        os.killpg(p.pid, signal.SIGINT)
        t1 = time.monotonic()
        p.wait(timeout=30)
        waited = time.monotonic() - t1
        time.sleep(1.0)  # anything the workers or the resource tracker would still print
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert err.strip() == "satrnn: interrupted", err
    assert waited < 1.0, waited
    assert not db.exists()


@pytest.mark.parametrize("damage", ["rep = 'zz'", "start = 'not hex'", "period = NULL"])
def test_damaged_result_row_refused_before_anything_is_written(ws, model_path, damage, capsys):
    """Issue 28 (minor): a result row with rep 'zz' made a re-run write the store (runs + 1) and then fail
    with "state 'zz' is not hexadecimal", not named as a store problem. The sweep's rows are checked first."""
    import sqlite3

    from satrnn.rnn.model import load_model
    from satrnn.sweeps import sweep as sw
    from satrnn.sweeps.store import JobRow, SweepStore
    db = _sweep_store(ws.dir / "d.sqlite", model_path)
    m = load_model(model_path)
    rows = [JobRow(model_digest=sw.model_digest(m), semantics="exact", input="41", seed=0, budget=1000, pins="",
                   status="cycle", steps=10, fallbacks=0, error=None, worker="w", seconds=0.1, sweep_id=1,
                   finished="2026-01-01T00:00:00", start_index=i, start="00" * 16, transient=1, period=2,
                   rep="0f" * 16) for i in range(2)]
    with SweepStore(db) as st:
        st.write_rows("cycles", rows)
    con = sqlite3.connect(db)
    con.execute(f"UPDATE cycles SET {damage} WHERE start_index = 1")
    con.commit()
    con.close()
    line = ws.run("sweep", "cycles", model_path, "--input", "65", "--starts", "2", "--budget", "1000", "--db", db,
                  capsys=capsys)
    assert "1 damaged row(s) of this sweep in table cycles" in line, line
