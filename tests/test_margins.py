"""Margins (q1_margins) and the Boolean view (q1_boolean) against literal definitions; the CLI commands."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.analyses.boolean_figures import boolean_report
from satrnn.automaton import bitset
from satrnn.automaton.margins import margin_report
from satrnn.automaton.sign import SignAutomaton
from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.rnn.model import random_model

f32 = np.float32


@pytest.fixture(scope="module")
def published_reports(published):
    model, xs = published
    return margin_report(model, xs), boolean_report(model, xs, "f32-seq")


def test_margin_summary_literal(published, published_reports):
    model, xs = published
    m, _ = published_reports
    zs = forward(model, xs).zs[:len(xs) - 1]
    mu = [abs(float(v)) for v in zs.ravel()]
    assert m.neuron_steps == 128 * 1023 == len(mu)
    s = 0.0
    for v in mu:
        s += v
    assert m.mean_margin == s / len(mu)
    assert m.small == sum(1 for v in mu if f32(v) < f32(1.0))
    assert m.tiny == sum(1 for v in mu if f32(v) < f32(0.1))
    bins = {}
    for v in mu:
        k = naive.margin_hist_bin(v)
        bins[k] = bins.get(k, 0) + 1
    assert {r.bin: r.count for r in m.histogram} == bins
    assert sum(r.count for r in m.histogram_log) == len(mu)
    assert m.min_margin == min(mu) == m.smallest[0].margin
    t, i = m.smallest[0].t, m.smallest[0].neuron
    assert abs(float(zs[t, i])) == min(mu) and m.smallest[0].byte == xs[t]
    # per-neuron statistics (2.5)
    for r in m.per_neuron_lowest[:3]:
        col = np.abs(zs[:, r.neuron].astype(np.float64))
        assert math.isclose(r.mean, col.sum() / 1023, rel_tol=1e-12)
        assert r.min == col.min() and r.n_small == int((col < 1).sum())
    means = m.per_neuron.mean
    assert [r.neuron for r in m.per_neuron_lowest] == list(np.argsort(means, kind="stable")[:20])


def test_margin_bpc_and_sign_readout(published, published_reports):
    model, xs = published
    m, _ = published_reports
    r = forward(model, xs)
    assert m.bpc_full == r.bpc
    s = np.where(r.hs >= 0, 1.0, -1.0).astype(np.float32)
    ref = naive.bpc(model.Wy, model.by, s, xs)
    assert math.isclose(m.bpc_sign_readout, ref, rel_tol=1e-12)
    assert m.bpc_sign_readout > m.bpc_full


def test_mantissa_section(published, published_reports):
    model, _ = published
    m, _ = published_reports
    mm = m.mantissa
    W0 = f32(0.0)
    for v in np.abs(model.Wh[0]):
        W0 = f32(W0 + v)
    assert mm.rows[0].W == float(W0)
    assert mm.rows[0].delta == float(f32(W0 * f32(2.0 ** -23)))
    assert mm.mu_min == m.min_margin
    assert mm.safety_factor == float(f32(f32(mm.mu_min) / f32(mm.delta_max)))
    mc = m.mantissa_corrected
    assert mc.min_ratio <= min(r.ratio for r in mm.rows)
    assert mc.steps_within_accumulation_bound >= 0


def test_boolean_dynamics_literal(published, published_reports):
    model, xs = published
    _, b = published_reports
    betas, flips, bpc = naive.boolean_dynamics(model.Wx, model.Wh, model.bh, model.Wy, model.by, xs,
                                               np.zeros(128, bool))
    assert math.isclose(b.dynamics.bpc, bpc, rel_tol=1e-12)
    assert b.dynamics.total_flips == sum(flips)
    assert b.dynamics.mean_flips == float(f32(f32(sum(flips)) / f32(1023)))
    hashes = sorted(naive.sign_vector_hash(row) for row in betas)
    assert b.unique.unique_hash == 1 + sum(hashes[i] != hashes[i - 1] for i in range(1, len(hashes)))
    assert b.unique.unique_exact == len({row.tobytes() for row in betas})
    floats = forward(model, xs).hs[:1023] >= 0
    assert b.float_vs_sign.minus_start == int((floats != betas).sum())


def test_boolean_sensitivities_literal(published, published_reports):
    model, xs = published
    _, b = published_reports
    step = lambda bits, x: naive.sign_step_f32_seq(model.Wx, model.Wh, model.bh, bits, x)
    beta = np.zeros(128, bool)
    for t in range(43):
        beta = step(beta, int(xs[t]))
    f = b.flip_sensitivity
    assert f.state_first16 == "".join("1" if v else "0" for v in beta[:16])
    base = step(beta, int(xs[43]))
    for j in (0, 5, 77, 127):
        e = beta.copy()
        e[j] = ~e[j]
        d = base != step(e, int(xs[43]))
        assert f.c[j] == int(d.sum())
        assert f.most_affected[j] == (int(np.nonzero(d)[0].max()) if d.any() else -1)
    assert f.mean_sensitivity == float(f32(f32(sum(f.c)) / f32(128)))
    ib = b.input_byte_sensitivity
    for x in (0, 32, 101, 255):
        assert ib.counts[x] == int((step(beta, x) != base).sum())
    assert ib.min == 0 and ib.counts[int(xs[43])] == 0
    w = b.wh_sign_structure
    assert w.positive + w.negative + w.near_zero == 128 * 128
    assert w.positive == int((model.Wh > f32(0.001)).sum())
    fan = [int((np.abs(model.Wh[i]) > f32(0.1)).sum()) for i in range(128)]
    assert b.per_neuron.fan_in == fan


def test_small_model_and_short_text():
    model = random_model(5, 3)
    xs = np.random.default_rng(0).integers(0, 256, 30, dtype=np.uint8)
    m = margin_report(model, xs)
    assert m.neuron_steps == 5 * 29
    b = boolean_report(model, xs, "exact")
    assert b.flip_sensitivity is None and b.input_byte_sensitivity is None
    aut = SignAutomaton.from_model(model, "exact")
    traj = aut.run(bitset.all_plus(5), xs[:29])
    assert b.float_vs_sign.plus_start == int(bitset.hamming(bitset.pack(forward(model, xs).hs[:29] >= 0),
                                                                  traj).sum())
    with pytest.raises(SatrnnInputError):
        margin_report(model, xs[:1])


# ---- CLI ------------------------------------------------------------------------------------------

def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_sign_constant_and_text(capsys, published, model_path, text_path, tmp_path):
    model, xs = published
    rc, out, _ = run_cli(capsys, "sign", model_path, "--input", "A", "--steps", 200, "--start", "ones", "--json")
    assert rc == 0
    d = json.loads(out)
    aut = SignAutomaton.from_model(model, "exact")
    assert d["final"] == bitset.to_hex(aut.run_constant(bitset.all_plus(128), 65, 200), 128)
    assert d["steps"] == 200 and d["semantics"] == "exact" and d["fallbacks"] >= 0
    traj_file = tmp_path / "t.npy"
    rc, out, _ = run_cli(capsys, "sign", model_path, "--text", text_path, "--semantics", "f32-seq",
                         "--trajectory", traj_file, "--json")
    assert rc == 0
    d = json.loads(out)
    t = np.load(traj_file)
    aut = SignAutomaton.from_model(model, "f32-seq")
    assert np.array_equal(t, aut.run(bitset.all_minus(128), xs))
    assert d["final"] == bitset.to_hex(t[-1], 128)
    hex_file = tmp_path / "t.txt"
    rc, out, _ = run_cli(capsys, "sign", model_path, "--input", "0x20", "--steps", 5, "--trajectory", hex_file)
    assert rc == 0
    lines = hex_file.read_text().split()
    assert len(lines) == 5 and lines[-1] == out.split()[0] and all(len(s) == 32 for s in lines)


@pytest.mark.parametrize("extra,msg", [
    (["--input", "256", "--steps", "3"], "outside 0-255"),
    (["--input", "-1", "--steps", "3"], "outside 0-255"),
    (["--input", "xyz", "--steps", "3"], "not a byte"),
    (["--input", "A", "--steps", "-5"], "--steps must be"),
    (["--input", "A", "--steps", str(10**13)], "--steps must be"),
    (["--input", "A"], "--steps N is required"),
    ([], "give --input"),
    (["--input", "A", "--steps", "3", "--start", "abc"], "hex digits"),
    (["--input", "A", "--steps", "3", "--start", "g" * 32], "not hexadecimal"),
    (["--input", "A", "--steps", "3", "--start", "0x" + "f" * 33], "hex digits"),
    (["--input", "A", "--steps", "3", "--semantics", "float"], "invalid choice"),
    (["--input", "A", "--steps", "3", "--trajectory", "/nonexistent/dir/t.npy"], "does not exist"),
    (["--input", "A", "--steps", str(10**9), "--trajectory", "t.npy"], "at most"),
])
def test_cli_sign_errors(capsys, model_path, extra, msg):
    rc, out, err = run_cli(capsys, "sign", model_path, *extra)
    assert rc == 2 and out == ""
    assert msg in err and len(err.strip().splitlines()) == 1


def test_cli_sign_input_and_text_exclusive(capsys, model_path, text_path):
    rc, _, err = run_cli(capsys, "sign", model_path, "--input", "A", "--text", text_path, "--steps", 3)
    assert rc == 2 and "not allowed with" in err


def test_cli_margins(capsys, model_path, text_path, published_reports):
    rc, out, _ = run_cli(capsys, "margins", model_path, text_path, "--semantics", "f32-seq", "--json")
    assert rc == 0
    d = json.loads(out)
    m, b = published_reports
    assert d["margins"]["mean_margin"] == m.mean_margin
    assert d["boolean"]["dynamics"]["bpc"] == b.dynamics.bpc
    assert d["boolean"]["semantics"] == "f32-seq"
    rc, out, _ = run_cli(capsys, "margins", model_path, text_path)
    assert rc == 0 and "Margin histogram" in out and "Sign-only dynamics" in out


def test_cli_margins_errors(capsys, model_path, tmp_path):
    one = tmp_path / "one.txt"
    one.write_bytes(b"a")
    rc, _, err = run_cli(capsys, "margins", model_path, one)
    assert rc == 2 and "at least 2" in err
    rc, _, err = run_cli(capsys, "margins", model_path)
    assert rc == 2 and "TEXT is missing" in err


def _margin_model(H, seed, scale, zero_rows):
    m = random_model(H, seed)
    rng = np.random.default_rng(seed)
    f = lambda a: (a * np.float32(scale)).astype(np.float32)
    Wh, bh, Wx = f(m.Wh), f(m.bh), f(m.Wx)
    for i in range(min(zero_rows, H)):   # neurons whose z is exactly 0 whatever the input (0 / 0 ratios)
        Wh[i], bh[i], Wx[i] = 0, 0, 0
    if H > 1:   # a pre-activation cancelling to (near) zero: bias = -Wx for one byte
        Wh[H - 1] = 0
        bh[H - 1] = -Wx[H - 1, int(rng.integers(0, 256))]
    # margins exactly on the boundaries: 0.1f and 1.0f (tiny / small), 5.0f (a paper bin edge), powers of
    # ten (decade edges), and the sign of a negative z
    edges = [f32(0.1), f32(1.0), f32(5.0), f32(10.0), f32(-100.0), f32(1e-3), f32(250.0)]
    for k, i in enumerate(range(zero_rows, H - 1)):
        if k % 2 == 0:
            Wh[i], Wx[i] = 0, 0
            bh[i] = edges[(k // 2 + seed) % len(edges)]
    return m.replace(Wh=Wh, bh=bh, Wx=Wx)


@settings(max_examples=25, deadline=None)
@given(H=st.integers(1, 12), seed=st.integers(0, 10**6), n=st.integers(2, 160),
       scale=st.sampled_from([1.0, 1e-3, 1e-30, 40.0]), zero_rows=st.integers(0, 2),
       chunk=st.integers(1, 64), window=st.integers(0, 3), flush=st.sampled_from([37, 2**32 - 1]))
def test_margin_kernel_equals_the_literal_loop(H, seed, n, scale, zero_rows, chunk, window, flush):
    """margin_report's one-pass kernel (any chunk size, any median window: one pass or two) equals a plain
    per-neuron-step loop (tests/naive.margin_fields) on adversarial models: zero rows (z = 0 exactly, 0/0
    ratios), a pre-activation cancelling to zero, tiny (subnormal-range) and large weights, H != 128; the
    median window's uint32 counters folded into int64 every few chunks (flush = 37 counts) or never."""
    import satrnn.automaton.margins as mg
    from satrnn.rnn import stream
    model = _margin_model(H, seed, scale, zero_rows)
    xs = np.random.default_rng(seed + 1).integers(0, 256, n, dtype=np.uint8)
    zs = forward(model, xs).zs[:n - 1]
    if not np.isfinite(zs).all():
        return
    ref = naive.margin_fields(model, zs, xs)
    old = stream.CHUNK, mg.MEDIAN_WINDOW, mg._WINDOW_FLUSH
    stream.CHUNK, mg.MEDIAN_WINDOW, mg._WINDOW_FLUSH = chunk, window, flush
    try:
        r = mg.margin_report(model, xs)
    finally:
        stream.CHUNK, mg.MEDIAN_WINDOW, mg._WINDOW_FLUSH = old
    total = H * (n - 1)
    assert r.mean_margin == ref["mean_sum"] / total
    assert (r.small, r.tiny) == (ref["small"], ref["tiny"])
    assert {h.bin: h.count for h in r.histogram} == ref["bins"]
    logs = {round(math.log10(h.lo)): h.count for h in r.histogram_log if h.lo > 0}
    zeros = sum(h.count for h in r.histogram_log if h.lo == 0)
    assert logs == ref["decades"] and zeros == ref["zeros"]
    assert r.median_margin == ref["median"] and r.median_passes in (1, 2)
    assert r.per_neuron.mean == [v / (n - 1) for v in ref["S"]]
    assert r.per_neuron.min == ref["mins"] and r.per_neuron.n_small == ref["ns"]
    assert [(s.margin, s.t * H + s.neuron, s.z) for s in r.smallest] == ref["smallest"]
    c = r.mantissa_corrected
    assert c.steps_with_margin_at_most_delta == ref["within_delta"]
    assert c.steps_within_accumulation_bound == ref["within"]
    assert c.max_accumulation_bound == ref["max_bound"]
    assert c.min_margin_over_bound == ref["min_ratio"]


@pytest.mark.parametrize("window", [16, 0])
def test_cli_margins_streams_the_file_and_equals_the_in_memory_reports(capsys, tmp_path, monkeypatch, window):
    """`satrnn margins MODEL TEXT` reads TEXT as it is consumed (one forward pass for both folds; a second
    one, re-reading the file, only when the median needs it) and gives exactly the in-memory reports."""
    import satrnn.automaton.margins as mg
    from satrnn.clikit import to_json
    from satrnn.rnn import stream
    from satrnn.rnn.model import save_model
    model = random_model(24, 3)
    save_model(model, tmp_path / "m.bin")
    xs = np.random.default_rng(4).integers(0, 256, 3000, dtype=np.uint8)
    (tmp_path / "t.txt").write_bytes(xs.tobytes())
    want_m, want_b = margin_report(model, xs), boolean_report(model, xs, "f32-seq")
    monkeypatch.setattr(stream, "CHUNK", 97)
    monkeypatch.setattr(mg, "MEDIAN_WINDOW", window)
    rc, out, _ = run_cli(capsys, "margins", tmp_path / "m.bin", tmp_path / "t.txt", "--semantics", "f32-seq",
                         "--json")
    assert rc == 0
    d = json.loads(out)
    passes = d["margins"].pop("median_passes")
    assert passes in (1, 2) and (window > 0 or passes == 2)   # a window of one bucket misses the median here
    want = want_m.as_dict()
    want.pop("median_passes")
    assert d["margins"] == json.loads(to_json(want))
    assert d["boolean"] == json.loads(to_json(want_b))


def test_decade_tables_equal_the_literal_decade_at_every_edge():
    """The per-exponent tables of _margin_chunk (decade = lo[e] + (bits >= thr[e])) against naive.decade_of
    on every float32 within 4 ulp of every power of ten and of every binade's ends, and on a stride of all
    positive normal float32."""
    import satrnn.automaton.margins as mg
    f = np.float32
    vals = []
    for k in range(-45, 39):
        p = f(float(f"1e{k}"))
        for side in (np.float32(0), np.float32(np.inf)):
            v = p
            for _ in range(5):
                vals.append(v)
                v = np.nextafter(v, side)
    for e in range(1, 255):
        lo = np.array([e << 23], dtype=np.uint32).view(np.float32)[0]
        vals += [lo, np.nextafter(lo, f(np.inf)), np.nextafter(lo, f(0))]
    vals = np.array([v for v in vals if 0 < v < np.inf], dtype=np.float32)
    vals = np.concatenate([vals, np.arange(0x00800000, 0x7F800000, 9973, dtype=np.uint32).view(np.float32)])
    b = vals.view(np.uint32)
    e = (b >> 23).astype(np.int64)
    normal = e > 0
    got = mg._DECADE_LO[e[normal]] + (b[normal] >= mg._DECADE_THR[e[normal]]) - mg._DECADE_OFFSET
    want = [naive.decade_of(float(v)) for v in vals[normal]]
    assert got.tolist() == want


def test_cli_margins_under_the_workqueue_threading_layer(tmp_path, published, model_path):
    """Where numba has only its workqueue layer (no OpenMP, no TBB), which aborts the process when two threads
    launch parallel regions at once, the margins pass runs its folds in turn and prints the same JSON."""
    import os
    import subprocess
    import sys
    _, xs = published
    text = tmp_path / "t.bin"
    np.tile(xs, 20).tofile(text)
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2")
    cmd = [sys.executable, "-m", "satrnn", "margins", str(model_path), str(text), "--json"]
    wq = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert wq.returncode == 0, wq.stderr[-800:]
    default = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert default.returncode == 0, default.stderr[-800:]
    assert wq.stdout == default.stdout
