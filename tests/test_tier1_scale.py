"""Every tier-1 choice (automaton.tier1) gives the same trajectories, cycles and fallback counts, equal to the
literal references in tests/naive.py, for H in {64, 200, 256, 512}, random and near-tie models."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.automaton import bitset
from satrnn.automaton import cycles as cyc
from satrnn.automaton.sign import SignAutomaton, build_tables, chunk_sums64
from satrnn.automaton.tier1 import TIER1_CHOICES, auto_tier1, table_bytes, wide_scale
from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN, random_model, save_model
from test_sign import TIE_KINDS, near_tie_model, ref_step

HS = (64, 200, 256, 512)


def _reference_run(model, semantics, b0, xs):
    """The literal reference trajectory, vectorised across neurons only (naive.sign_run)."""
    return bitset.pack(naive.sign_run(ref_step(model, semantics), b0, xs))


def _runs(model, semantics, b0, xs):
    """{choice: (trajectory, fallbacks)} for every tier-1 choice."""
    out = {}
    for t in TIER1_CHOICES:
        a = SignAutomaton.from_model(model, semantics, tier1=t)
        assert a.tier1 == t
        out[t] = (a.run(bitset.pack(b0), xs), a.fallbacks)
    return out


@pytest.mark.parametrize("H", HS)
@pytest.mark.parametrize("semantics", ["exact", "f32-seq"])
def test_every_choice_matches_reference(H, semantics):
    """Random model, random start, random bytes then a constant byte: all choices equal the reference and
    report the same fallback count."""
    model = random_model(H, 7 + H)
    rng = np.random.default_rng(H)
    xs = np.concatenate([rng.integers(0, 256, 30), np.full(20, 32)]).astype(np.uint8)
    b0 = rng.random(H) < 0.5
    ref = _reference_run(model, semantics, b0, xs)
    runs = _runs(model, semantics, b0, xs)
    for t, (traj, _) in runs.items():
        assert np.array_equal(traj, ref), t
    assert len({fb for _, fb in runs.values()}) == 1, {t: fb for t, (_, fb) in runs.items()}


@settings(max_examples=12, deadline=None)
@given(H=st.sampled_from(HS), seed=st.integers(0, 2**32 - 1), style=st.sampled_from(["dyadic", "wide", "normal"]),
       kinds=st.lists(st.sampled_from(TIE_KINDS), min_size=1, max_size=8),
       tail=st.lists(st.integers(0, 255), min_size=0, max_size=3))
def test_near_ties_every_choice(H, seed, style, kinds, tail):
    """Pre-activations exactly 0 or one ulp from it (test_sign.near_tie_model): every choice follows the
    reference, the tied step reaches the fallbacks, and the fallback counts agree across choices."""
    model, bits, x, applied = near_tie_model(H, seed, style, kinds)
    xs = np.array([x] + tail, dtype=np.uint8)
    for semantics in ("exact", "f32-seq"):
        ref = _reference_run(model, semantics, bits, xs)
        runs = _runs(model, semantics, bits, xs)
        for t, (traj, _) in runs.items():
            assert np.array_equal(traj, ref), (semantics, t)
        fbs = {fb for _, fb in runs.values()}
        assert len(fbs) == 1, (semantics, {t: fb for t, (_, fb) in runs.items()})
        if semantics == "f32-seq" and any(k.startswith("seq") for k in applied):
            assert fbs.pop() >= 1
        if semantics == "exact" and "ex0" in applied:
            assert fbs.pop() >= 1


def _tie_model(H, seed):
    """Small integer weights: many pre-activations exactly 0, short cycles."""
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.integers(-1, 2, s).astype(np.float32)
    return ElmanRNN(Wx=f(H, 256), Wh=f(H, H) * np.float32(2.0 ** -6), bh=f(H), Wy=np.zeros((256, H), np.float32),
                    by=np.zeros(256, np.float32))


@pytest.mark.parametrize("H", [64, 200])
@pytest.mark.parametrize("semantics", ["exact", "f32-seq"])
def test_cycles_identical_under_every_choice(H, semantics):
    """Brent's cycle search (status, transient, period, representative, fallbacks) is the same for every
    choice, and for one start equal to the brute-force dict search of tests/naive.py."""
    model = _tie_model(H, H)
    starts = cyc.random_starts(H, 4, seed=5)
    seqs = np.array([[0], [65], [200]], dtype=np.uint8)
    results = {}
    for t in TIER1_CHOICES:
        r = cyc.find_cycles(SignAutomaton.from_model(model, semantics, tier1=t), starts, seqs, budget=4000)
        results[t] = (r.status.tolist(), r.mu.tolist(), r.lam.tolist(), r.rep.tolist(), r.fallbacks.tolist())
    first = results[TIER1_CHOICES[0]]
    for t, res in results.items():
        assert res == first, t
    assert any(first[0]) and sum(first[4]) > 0          # cycles found, and ties went through the fallbacks
    jb = first[0].index(1)
    r = cyc.find_cycles(SignAutomaton.from_model(model, semantics, tier1="wide4"), starts, seqs, budget=4000)
    i, q = int(r.job_start[jb]), int(r.job_seq[jb])
    ref = naive.find_cycle_dict(lambda s: naive.bool_step(model.Wx, model.Wh, model.bh, int(seqs[q, 0]), s,
                                                          semantics),
                                naive.int_to_state(bitset.to_int(starts[i]), H), 4000)
    assert (first[1][jb], first[2][jb], bitset.to_int(r.rep[jb])) == ref


def _exact_z(model, bits, x):
    import math
    s = np.where(bits, 1.0, -1.0)
    terms = model.Wh.astype(np.float64) * s[None, :]
    return np.array([math.fsum([float(model.bh[i]), float(model.Wx[i, x])] + terms[i].tolist())
                     for i in range(model.H)])


@pytest.mark.parametrize("H", [64, 200])
@pytest.mark.parametrize("tier1", ["wide8", "wide4"])
def test_wide_bound_holds(H, tier1):
    """The wide tier 1: int16 entries, int32 sum within (C + 1)/2 units of sigma z (the proven rounding
    bound), decided signs are the exact signs, and its bound is far tighter than the narrow one."""
    model, _, _, _ = near_tie_model(H, 3 + H, "normal", ["ex0", "seq0"])
    tb = build_tables(model, "exact", tier1=tier1)
    narrow = build_tables(model, "exact", tier1="chunk" + tier1[-1])
    cs, C = tb.cb, tb.Tq.shape[0]
    S = (np.abs(model.bh.astype(np.float64))[None, :] + np.abs(model.Wx.T.astype(np.float64))
         + np.abs(model.Wh.astype(np.float64)).sum(1)[None, :])
    sigma, ok = wide_scale(model.Wh, S, cs, 1e37)
    assert ok.all()
    baseq, boundq = tb.baseq.view(np.int32), tb.boundq.view(np.int32)
    rng = np.random.default_rng(H)
    for _ in range(10):
        bits = rng.random(H) < 0.5
        x = int(rng.integers(256))
        state = bitset.pack(bits)
        z = _exact_z(model, bits, x)
        zq = baseq[x, :H].astype(np.int64).copy()
        for c in range(C):
            zq += tb.Tq[c, (bitset.to_int(state) >> (c * cs)) & ((1 << cs) - 1), :H]
        assert np.abs(zq).max() < 2 ** 30
        assert (np.abs(zq - sigma * z) <= (C + 1) / 2 + 1e-3).all()
        bq = boundq[x, :H].astype(np.int64)
        decided = np.abs(zq) > bq
        assert ((zq > 0) == (z > 0))[decided].all() and (z[decided] != 0).all()
    # the bound in units of z (boundq / sigma): the wide one is at least 4x tighter here
    assert np.median(boundq[0, :H] / sigma) * 4 <= _narrow_units(narrow, model, S)


def _narrow_units(narrow, model, S):
    """Narrow bound in units of z: boundq / sigma_narrow (sigma from sign._tier1_scale_and_bound)."""
    from satrnn.automaton.sign import _tier1_scale_and_bound
    C, cs = narrow.Tq.shape[0], narrow.cb
    sigma, _ = _tier1_scale_and_bound(S, model.H, cs, C, 0)
    return np.median(narrow.boundq[0, :model.H] / sigma)


@pytest.mark.parametrize("tier1", ["chunk8", "chunk4", "chunk2", "chunk1", "wide8", "wide4"])
def test_lean_tables_equal_full_float64_construction(tier1):
    """quantised_chunk_tables (chunk by chunk) gives the integers of round(sigma * T64), T64 the full float64
    chunk table (kept as T2 for small H)."""
    model = random_model(70, 1)
    tb = build_tables(model, "exact", tier1=tier1)
    T2 = chunk_sums64(model.Wh, tb.cb, tb.Hp).transpose(2, 0, 1)      # (Hp, C, 2^cb) float64, the full table
    assert T2.shape[2] == tb.Tq.shape[1]
    S = (np.abs(model.bh.astype(np.float64))[None, :] + np.abs(model.Wx.T.astype(np.float64))
         + np.abs(model.Wh.astype(np.float64)).sum(1)[None, :])
    cs, C = tb.cb, tb.Tq.shape[0]
    if tier1.startswith("wide"):
        sigma = wide_scale(model.Wh, S, cs, 1e37)[0]
    else:
        from satrnn.automaton.sign import _tier1_scale_and_bound
        sigma = _tier1_scale_and_bound(S, 70, cs, C, 0)[0]
    sig = np.ones(tb.Tq.shape[2])
    sig[:70] = sigma
    full = np.round(T2.transpose(1, 2, 0) * sig[None, None, :])
    assert np.array_equal(tb.Tq.astype(np.float64), full)


def test_automatic_choice_and_memory():
    assert auto_tier1(64) == auto_tier1(128) == auto_tier1(256) == "chunk8"
    assert auto_tier1(512) == auto_tier1(1024) == auto_tier1(2048) == "wide8"
    assert auto_tier1(4096) == "wide4"
    assert table_bytes(2048, 8) <= 320 << 20 and table_bytes(4096, 4) <= 320 << 20
    assert SignAutomaton.from_model(random_model(300, 0)).tier1 == "wide8"
    with pytest.raises(SatrnnInputError):
        build_tables(random_model(8, 0), tier1="dense16")
    with pytest.raises(SatrnnInputError):
        build_tables(random_model(8, 0), chunk_size=4, tier1="wide8")


def test_tier2_disabled_disables_tier1():
    """Huge weights make tier 2 give up; tier 1 then gives up too (fallback counts stay choice-independent)
    and the fallbacks still match the reference."""
    H = 70
    rng = np.random.default_rng(2)
    Wh = (rng.standard_normal((H, H)) * 1e36).astype(np.float32)
    model = ElmanRNN(Wx=np.zeros((H, 256), np.float32), Wh=Wh, bh=np.zeros(H, np.float32),
                     Wy=np.zeros((256, H), np.float32), by=np.zeros(256, np.float32))
    b0 = rng.random(H) < 0.5
    xs = np.arange(5, dtype=np.uint8)
    ref = _reference_run(model, "exact", b0, xs)
    for t, (traj, fb) in _runs(model, "exact", b0, xs).items():
        assert np.array_equal(traj, ref), t
        assert fb == H * len(xs), t


def test_cli_tier1_option(tmp_path, capsys):
    p = tmp_path / "m.npz"
    save_model(random_model(200, 3), p)
    finals = set()
    for t in ("chunk8", "wide4", None):
        argv = ["sign", str(p), "--input", "65", "--start", "ones", "--steps", "300", "--json"]
        assert main(argv + (["--tier1", t] if t else [])) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["tier1"] == (t or "chunk8")
        finals.add((out["final"], out["fallbacks"]))
    assert len(finals) == 1
    assert main(["cycles", str(p), "--input", "65", "--starts", "2", "--budget", "2000", "--json", "--tier1",
                 "chunk4"]) == 0
    assert json.loads(capsys.readouterr().out)["tier1"] == "chunk4"
    assert main(["sign", str(p), "--input", "65", "--steps", "3", "--tier1", "dense16"]) == 2
    assert "unknown tier-1 choice" in capsys.readouterr().err
