"""Chunked (streamed) analyses equal the whole-text computation bit for bit (issue 19).

margin_report, saturation_report and coflip_report stream the forward in chunks of rnn.stream.CHUNK bytes;
with a tiny chunk (7 bytes: every statistic crosses many chunk boundaries) every output must be identical
to the single-chunk run (which the literal-reference tests in test_margins / test_saturation / test_coflip
check against tests/naive.py).
"""
import numpy as np
import pytest

from satrnn.analyses.coflip import coflip_report
from satrnn.analyses.saturation import saturation_report
from satrnn.automaton import margins as mg
from satrnn.rnn import stream
from satrnn.rnn.forward import forward, run_states
from satrnn.rnn.model import random_model


def _same(a, b, path="") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), path
    else:
        assert a == b, (path, a, b)


@pytest.fixture(params=[(8, 300, 0), (5, 97, 1), (128, 200, 2)])
def case(request):
    H, n, seed = request.param
    model = random_model(H, seed)
    xs = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
    return model, xs


def _chunked(monkeypatch, fn, chunk=7):
    monkeypatch.setattr(stream, "CHUNK", chunk)
    return fn()


def test_state_chunks_equal_whole_run(case):
    model, xs = case
    hs, zs = run_states(model, xs)
    parts = list(stream.state_chunks(model, xs, chunk=13))
    assert [t0 for t0, _, _ in parts] == list(range(0, len(xs), 13))
    assert np.array_equal(np.vstack([p[1] for p in parts]), hs)
    assert np.array_equal(np.vstack([p[2] for p in parts]), zs)


def test_sequential_sum_is_a_left_to_right_loop():
    rng = np.random.default_rng(5)
    a = rng.standard_normal(1000) * 10.0 ** rng.integers(-8, 8, 1000)
    acc = stream.SequentialSum()
    for i in range(0, 1000, 37):
        acc.add(a[i:i + 37])
    s = 0.0
    for v in a:
        s += float(v)
    assert float(acc.value) == s


def test_margin_report_chunked_equals_whole(case, monkeypatch):
    model, xs = case
    whole = mg.margin_report(model, xs)
    part = _chunked(monkeypatch, lambda: mg.margin_report(model, xs))
    _same(whole, part)
    # the exact median, the bpc and the per-position rows against the whole-array computation
    r = forward(model, xs)
    mu = np.abs(r.zs[:-1]).astype(np.float32)
    assert whole["median_margin"] == float(np.median(mu))
    assert whole["bpc_full"] == r.bpc
    assert len(whole["per_position"]) == len(xs) - 1


def test_margin_report_bounded_per_position(monkeypatch):
    model = random_model(4, 9)
    xs = np.random.default_rng(9).integers(0, 256, 60, dtype=np.uint8)
    m = _chunked(monkeypatch, lambda: mg.margin_report(model, xs, per_position_rows=10))
    assert [r["t"] for r in m["per_position"]] == list(range(10)) + [58]
    assert m["per_position_omitted"] == 59 - 11


def test_saturation_report_chunked_equals_whole(case, monkeypatch):
    model, xs = case
    whole = saturation_report(None, None, forward_result=forward(model, xs))
    part = _chunked(monkeypatch, lambda: saturation_report(model, xs))
    _same(whole, part)
    lean = _chunked(monkeypatch, lambda: saturation_report(model, xs, keep_positions=False))
    assert "n_sat" not in lean and lean["printed_rows"] == whole["printed_rows"]


def test_coflip_report_chunked_equals_whole(case, monkeypatch):
    model, xs = case
    whole = coflip_report(None, None, forward_result=forward(model, xs))
    part = _chunked(monkeypatch, lambda: coflip_report(model, xs))
    _same(whole, part)


def test_margin_per_position_rows_literal():
    model = random_model(6, 4)
    xs = np.random.default_rng(4).integers(0, 256, 40, dtype=np.uint8)
    m = mg.margin_report(model, xs)
    zs = forward(model, xs).zs
    for row in m["per_position"]:
        s = np.float32(0.0)
        for v in np.abs(zs[row["t"]]):
            s = np.float32(s + np.float32(v))
        assert row["mean"] == float(np.float32(s / np.float32(6)))
        assert row["min"] == float(np.abs(zs[row["t"]]).min())
