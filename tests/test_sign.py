"""The packed sign automaton against the literal references in tests/naive.py (both semantics).

References: `naive.sign_step_f32_seq` (the papers' sequential float32 Boolean step, literally),
`naive.ExactSignStepper` (an integer superaccumulator) and `naive.sign_step_exact_fraction` (Fractions).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.automaton import bitset
from satrnn.automaton.sign import NO_LIMIT, SignAutomaton, _new_parts, _new_scratch, _step, _walk
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import ElmanRNN, random_model
from satrnn.rnn.numba_config import njit

f32 = np.float32


def ref_step(model, semantics):
    if semantics == "f32-seq":
        return lambda b, x: naive.sign_step_f32_seq(model.Wx, model.Wh, model.bh, b, x)
    return naive.ExactSignStepper(model.Wx, model.Wh, model.bh).step


# ---- published weights ------------------------------------------------------------------------------

@pytest.mark.parametrize("semantics", ["exact", "f32-seq"])
def test_published_text_trajectory(published, semantics):
    """The q1_boolean run (start all -1, driven by the text) against the literal reference."""
    model, xs = published
    aut = SignAutomaton.from_model(model, semantics)
    traj = aut.run(bitset.all_minus(model.H), xs)
    ref = naive.sign_run(ref_step(model, semantics), np.zeros(model.H, bool), xs)
    assert np.array_equal(traj, bitset.pack(ref))
    assert aut.neuron_steps == model.H * len(xs)


@pytest.mark.parametrize("semantics", ["exact", "f32-seq"])
def test_published_100k_steps(published, semantics):
    """100,000 steps in 10 seeded runs of 10,000 (random starts; random bytes, the text from a random offset,
    or a constant byte), every state compared with the reference (vectorised across the 10 runs)."""
    model, text = published
    rng = np.random.default_rng(20261129)
    R, n, H = 10, 10_000, model.H
    starts = rng.random((R, H)) < 0.5
    inputs = np.empty((R, n), dtype=np.uint8)
    for r in range(R):
        if r < 4:
            inputs[r] = rng.integers(0, 256, n)
        elif r < 8:
            inputs[r] = np.resize(np.roll(text, -int(rng.integers(len(text)))), n)
        else:
            inputs[r] = int(rng.integers(0, 256))
    aut = SignAutomaton.from_model(model, semantics)
    got = np.stack([aut.run(bitset.pack(starts[r]), inputs[r]) for r in range(R)], axis=1)   # (n, R, W)
    step = ref_step(model, semantics)
    b = starts
    for t in range(n):
        b = step(b, inputs[:, t])
        assert np.array_equal(got[t], bitset.pack(b)), f"step {t}"
    assert aut.neuron_steps == R * n * H


def test_published_constant_run_equals_run(published):
    model, _ = published
    aut = SignAutomaton.from_model(model, "f32-seq")
    s = bitset.all_plus(model.H)
    traj = aut.run_constant(s, 65, 300, trajectory=True)
    assert np.array_equal(traj, aut.run(s, np.full(300, 65, np.uint8)))
    assert np.array_equal(aut.run_constant(s, 65, 300), traj[-1])
    assert np.array_equal(aut.run_constant(s, 65, 0), s)


# ---- random and adversarial models ------------------------------------------------------------------

@pytest.mark.parametrize("H", [5, 64, 128, 130])
@pytest.mark.parametrize("semantics", ["exact", "f32-seq"])
def test_random_models(H, semantics, slicing):
    model = random_model(H, H)
    rng = np.random.default_rng(H)
    xs = rng.integers(0, 256, 300, dtype=np.uint8)
    b0 = rng.random(H) < 0.5
    aut = SignAutomaton.from_model(model, semantics)
    traj = aut.run(bitset.pack(b0), xs)
    ref = naive.sign_run(ref_step(model, semantics), b0, xs)
    assert np.array_equal(traj, bitset.pack(ref))
    slow = SignAutomaton.from_model(model, semantics, fast=False)
    assert np.array_equal(slow.run(bitset.pack(b0), xs), traj)
    assert slow.fallbacks == H * len(xs)


def _draw_weights(rng, style, shape):
    if style == "dyadic":       # small integers times 2^-10: every partial sum is exact, ties are easy
        return (rng.integers(-1024, 1025, shape) * 2.0 ** -10).astype(np.float32)
    if style == "wide":         # exponents spread widely: float32 sums round, exact and f32-seq differ
        e = rng.integers(-40, 8, shape)
        return (rng.standard_normal(shape) * 2.0 ** e).astype(np.float32)
    return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)


def _seq_partial(Wx, Wh, bh, bits, x, i, upto):
    """The papers' float32 partial sum for neuron i over j < upto."""
    z = f32(f32(bh[i]) + f32(Wx[i, x]))
    for j in range(upto):
        z = f32(z + (Wh[i, j] if bits[j] else -Wh[i, j]))
    return z


def _exact_partial(Wx, Wh, bh, bits, x, i, upto):
    from fractions import Fraction
    z = Fraction(float(bh[i])) + Fraction(float(Wx[i, x]))
    for j in range(upto):
        z += Fraction(float(Wh[i, j])) * (1 if bits[j] else -1)
    return z


def near_tie_model(H, seed, style, tie_kinds):
    """A model, start state and input where chosen neurons have pre-activations exactly 0 or 1 ulp from 0.

    The last weight Wh[i, H-1] is solved for: against the f32-seq partial sum p (z_seq = 0, or +-ulp(p)),
    or, when the exact partial sum is a float32, against it (exact z = 0, or +-ulp).
    """
    rng = np.random.default_rng(seed)
    Wx = _draw_weights(rng, style, (H, 256))
    Wh = _draw_weights(rng, style, (H, H))
    bh = _draw_weights(rng, style, (H,))
    bits = rng.random(H) < 0.5
    x = int(rng.integers(256))
    sl = 1.0 if bits[H - 1] else -1.0
    neurons = rng.choice(H, size=min(len(tie_kinds), H), replace=False)
    applied = []
    for i, kind in zip(neurons, tie_kinds):
        if kind.startswith("seq"):
            p = _seq_partial(Wx, Wh, bh, bits, x, i, H - 1)
            target = {"seq0": p, "seq+": np.nextafter(p, f32(np.inf)), "seq-": np.nextafter(p, f32(-np.inf))}[kind]
            Wh[i, H - 1] = f32(-target * sl)
        else:
            e = _exact_partial(Wx, Wh, bh, bits, x, i, H - 1)
            v = f32(float(e))
            if e != v:                      # not representable: fall back to an f32-seq tie
                p = _seq_partial(Wx, Wh, bh, bits, x, i, H - 1)
                Wh[i, H - 1] = f32(-p * sl)
                applied.append("seq0")
                continue
            target = {"ex0": v, "ex+": np.nextafter(v, f32(np.inf)), "ex-": np.nextafter(v, f32(-np.inf))}[kind]
            Wh[i, H - 1] = f32(-target * sl)
        applied.append(kind)
    Wy = np.zeros((256, H), np.float32)
    model = ElmanRNN(Wx=Wx, Wh=Wh, bh=bh, Wy=Wy, by=np.zeros(256, np.float32))
    return model, bits, x, applied


TIE_KINDS = ["seq0", "seq+", "seq-", "ex0", "ex+", "ex-"]


@settings(max_examples=25, deadline=None)
@given(H=st.sampled_from([5, 64, 128, 130]), seed=st.integers(0, 2**32 - 1),
       style=st.sampled_from(["dyadic", "wide", "normal"]),
       kinds=st.lists(st.sampled_from(TIE_KINDS), min_size=1, max_size=8),
       tail=st.lists(st.integers(0, 255), min_size=0, max_size=6))
def test_near_ties_both_semantics(H, seed, style, kinds, tail):
    model, bits, x, applied = near_tie_model(H, seed, style, kinds)
    xs = np.array([x] + tail, dtype=np.uint8)
    exact_stepper = naive.ExactSignStepper(model.Wx, model.Wh, model.bh)
    for semantics in ("exact", "f32-seq"):
        aut = SignAutomaton.from_model(model, semantics)
        traj = aut.run(bitset.pack(bits), xs)
        b = bits
        for t, xt in enumerate(xs):
            if semantics == "f32-seq":
                b = naive.sign_step_f32_seq(model.Wx, model.Wh, model.bh, b, int(xt))
            else:
                b2 = naive.sign_step_exact_fraction(model.Wx, model.Wh, model.bh, b, int(xt))
                assert np.array_equal(exact_stepper.step(b, int(xt)), b2)      # the two exact references agree
                b = b2
            assert np.array_equal(traj[t], bitset.pack(b)), (semantics, t)
    # the tied step really reaches the fallbacks: z_seq in {0, +-ulp} is within the f32-seq bound; an exact
    # zero is within every bound
    sq = SignAutomaton.from_model(model, "f32-seq")
    sq.step(bitset.pack(bits), x)
    if any(k.startswith("seq") for k in applied):
        assert sq.last_fallbacks >= 1
    ex = SignAutomaton.from_model(model, "exact")
    ex.step(bitset.pack(bits), x)
    if "ex0" in applied:
        assert ex.last_fallbacks >= 1


def test_exact_and_f32_seq_differ_on_constructed_case():
    """Neuron 0: f32 drops 1 in 2^24 + 1, ending at -0.5 (f32-seq -1), exactly +0.5 (+1).
    Neuron 1: f32 drops -2^-26 from 1, ending at 0 (tie: +1), exactly -2^-26 (-1)."""
    H = 5
    Wx = np.zeros((H, 256), np.float32)
    Wh = np.zeros((H, H), np.float32)
    bh = np.zeros(H, np.float32)
    x = 7
    bh[0], Wx[0, x], Wh[0, 0], Wh[0, 1] = 2.0 ** 24, 1.0, -(2.0 ** 24), -0.5
    bh[1], Wx[1, x], Wh[1, 0] = 1.0, -(2.0 ** -26), -1.0
    model = ElmanRNN(Wx=Wx, Wh=Wh, bh=bh, Wy=np.zeros((256, H), np.float32), by=np.zeros(256, np.float32))
    s = np.array([True, True, False, False, False])
    ex = SignAutomaton.from_model(model, "exact")
    sq = SignAutomaton.from_model(model, "f32-seq")
    a, b = bitset.unpack(ex.step(bitset.pack(s), x), H), bitset.unpack(sq.step(bitset.pack(s), x), H)
    assert list(a[:2]) == [True, False] and list(b[:2]) == [False, True]
    assert np.array_equal(a, naive.sign_step_exact_fraction(Wx, Wh, bh, s, x))
    assert np.array_equal(a, naive.ExactSignStepper(Wx, Wh, bh).step(s, x))
    assert np.array_equal(b, naive.sign_step_f32_seq(Wx, Wh, bh, s, x))
    assert ex.last_fallbacks >= 1 and sq.last_fallbacks >= 1
    # neurons 2..4 have z = 0 exactly in both semantics: the tie goes to +1
    assert a[2:].all() and b[2:].all()


# ---- kernels callable from other njit code -----------------------------------------------------------

@njit
def _outer_kernel(tables, state, xs, out):
    """A foreign njit kernel driving the step (as cycles/cascade do): states in a register array, rows by
    integer, the next state in a row chosen by the step count."""
    R = np.zeros((3, state.shape[0]), dtype=np.uint64)
    R[0] = state
    z = _new_scratch(tables)
    parts = _new_parts(tables)
    nfb = 0
    cur = 0
    for t in range(xs.shape[0]):
        nxt = (cur + 1 + t % 2) % 3
        nfb += _step(tables, R, cur, nxt, np.int64(xs[t]), z, parts)
        cur = nxt
        out[t] = R[cur]
    return nfb


@pytest.mark.parametrize("H", [5, 130])
def test_step_kernel_from_other_njit(H):
    model = random_model(H, 7)
    aut = SignAutomaton.from_model(model, "exact")
    xs = np.random.default_rng(1).integers(0, 256, 50, dtype=np.uint8)
    s = bitset.all_minus(H)
    out = np.empty((50, aut.W), np.uint64)
    _outer_kernel(aut.tables, s, xs, out)
    assert np.array_equal(out, aut.run(s, xs))
    out2 = np.empty((50, aut.W), np.uint64)
    R = np.zeros((2, aut.W), np.uint64)
    R[0] = s
    _walk(aut.tables, R, 0, xs, 0, 50, out2, True, NO_LIMIT)
    assert np.array_equal(out2, out)


def test_fallback_counters():
    model = random_model(5, 0)
    aut = SignAutomaton.from_model(model, "exact", fast=False)
    aut.run(bitset.all_minus(5), np.arange(10, dtype=np.uint8))
    st_ = aut.fallback_stats()
    assert st_.as_dict() == {"semantics": "exact", "fallbacks": 50, "neuron_steps": 50, "fallback_fraction": 1.0}


def test_parse_state_and_validation():
    aut = SignAutomaton.from_model(random_model(5, 0))
    assert np.array_equal(aut.parse_state("zeros"), bitset.all_minus(5))
    assert np.array_equal(aut.parse_state("ones"), bitset.all_plus(5))
    assert bitset.to_int(aut.parse_state("1f")) == 31
    for bad in ("3f", "zz", "123"):
        with pytest.raises(SatrnnInputError):
            aut.parse_state(bad)
    with pytest.raises(SatrnnInputError):
        aut.step(np.zeros(2, np.uint64), 0)
    with pytest.raises(SatrnnInputError):
        aut.step(np.array([32], np.uint64), 0)          # bit 5 is beyond H=5
    with pytest.raises(SatrnnInputError):
        aut.step(np.zeros(1, np.uint64), 256)
    with pytest.raises(SatrnnInputError):
        aut.run_constant(np.zeros(1, np.uint64), 1, -1)
    with pytest.raises(SatrnnInputError):
        SignAutomaton.from_model(random_model(5, 0), "float")


# ---- the tier bounds themselves ---------------------------------------------------------------------

def _exact_z(model, bits, x):
    """Exact pre-activations as correctly rounded doubles (math.fsum), one per neuron."""
    import math
    s = np.where(bits, 1.0, -1.0)
    terms = model.Wh.astype(np.float64) * s[None, :]
    return np.array([math.fsum([float(model.bh[i]), float(model.Wx[i, x])] + terms[i].tolist())
                     for i in range(model.H)])


@pytest.mark.parametrize("style", ["normal", "wide", "dyadic"])
@pytest.mark.parametrize("H", [5, 128, 130])
def test_tier_bounds_hold(H, style):
    """Tier 1's integer sum and tier 2's float64 sum stay within their proven error bounds of the exact z,
    so every sign they decide is the exact sign (checked on random states, including near-tie models)."""
    from satrnn.automaton.sign import build_tables, chunk_sums64
    model, _, _, _ = near_tie_model(H, 11 + H, style, ["seq0", "ex0", "ex+"])
    tb = build_tables(model, "exact", tier1="chunk8")     # the narrow int16 tier (wide: test_tier1_scale)
    T2 = chunk_sums64(model.Wh, tb.cb, tb.Hp).transpose(2, 0, 1)    # (Hp, C, 2^cb): tier 2's table form
    rng = np.random.default_rng(H)
    H_, C = model.H, tb.Tq.shape[0]
    S = (np.abs(model.bh.astype(np.float64)) + np.abs(model.Wh.astype(np.float64)).sum(1))
    for _ in range(20):
        bits = rng.random(H_) < 0.5
        x = int(rng.integers(256))
        state = bitset.pack(bits)
        z = _exact_z(model, bits, x)
        zq = tb.baseq[x, :H_].astype(np.int64).copy()
        z2 = tb.base2[:H_, x].copy()
        for c in range(C):
            b = (int(bitset.to_int(state)) >> (c * tb.cb)) & ((1 << tb.cb) - 1)
            zq += tb.Tq[c, b, :H_]
            z2 = z2 + T2[:H_, c, b]
        assert np.abs(zq).max() <= 32767
        Smax = S + np.abs(model.Wx.astype(np.float64)).max(1)
        sigma = (32767 - (C + 1) / 2 - 2) / Smax
        err1 = np.abs(zq / sigma - z) * sigma
        assert (err1 <= (C + 1) / 2 + 1e-6).all(), err1.max()
        bq = tb.boundq[x, :H_].astype(np.int64)
        decided = np.abs(zq) > bq
        assert ((zq > 0) == (z > 0))[decided].all()
        assert (z[decided] != 0).all()
        err2 = np.abs(z2 - z)
        assert (err2 <= tb.bound[x, :H_] / 1.9 + 1e-300).all()
        dec2 = np.abs(z2) > tb.bound[x, :H_]
        assert ((z2 > 0) == (z > 0))[dec2].all()


@pytest.mark.parametrize("semantics", ["exact", "f32-seq"])
def test_extreme_weights(semantics):
    """Subnormal, huge (float32 sums that overflow to inf, even inf - inf = nan in f32-seq), +-0 weights:
    the tiers give up (their bounds become infinite) and the fallbacks match the literal references."""
    H = 6
    rng = np.random.default_rng(3)
    vals = np.array([0.0, -0.0, 1e-45, -1e-45, 1e-40, 3e38, -3e38, 1.0, -2.5, 1e-30], dtype=np.float32)
    Wx = rng.choice(vals, (H, 256)).astype(np.float32)
    Wh = rng.choice(vals, (H, H)).astype(np.float32)
    bh = rng.choice(vals, H).astype(np.float32)
    model = ElmanRNN(Wx=Wx, Wh=Wh, bh=bh, Wy=np.zeros((256, H), np.float32), by=np.zeros(256, np.float32))
    aut = SignAutomaton.from_model(model, semantics)
    xs = rng.integers(0, 256, 40, dtype=np.uint8)
    b0 = rng.random(H) < 0.5
    traj = aut.run(bitset.pack(b0), xs)
    b = b0
    with np.errstate(over="ignore", invalid="ignore"):
        for t, x in enumerate(xs):
            if semantics == "exact":
                b = naive.sign_step_exact_fraction(Wx, Wh, bh, b, int(x))
            else:
                b = naive.sign_step_f32_seq(Wx, Wh, bh, b, int(x))
            assert np.array_equal(traj[t], bitset.pack(b)), t
