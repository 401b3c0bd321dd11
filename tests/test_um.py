"""The UM pattern table, its forward pass from the patterns, and the RNN-UM isomorphism check."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import naive
from satrnn.automaton import um
from satrnn.automaton.iso import check_isomorphism
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.rnn.model import ElmanRNN, random_model


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def signed_zero_model(H=5, seed=3):
    """A model with +0.0 and -0.0 weights in every matrix and pre-activations exactly at +-0."""
    m = random_model(H, seed)
    arrays = {k: np.array(v) for k, v in m.arrays().items()}
    for a in arrays.values():
        flat = a.reshape(-1)
        flat[0::7] = 0.0
        flat[3::7] = -0.0
    # byte 0: every neuron's z at t = 0 is bh + Wx = exactly +-0 (ties at 0)
    arrays["bh"][:] = [0.0, -0.0, 0.0, -0.0, 1e-40][:H]
    arrays["Wx"][:, 0] = [-0.0, -0.0, 0.0, 0.0, -1e-40][:H]
    arrays["Wh"][1] = -np.abs(arrays["Wh"][1])       # (-0) + (-0) + w * (+0) stays -0 only if all w < 0
    return ElmanRNN(**arrays)


# ---- the pattern table ---------------------------------------------------------------------------

def test_published_counts_match_definitions_and_seed000(published):
    model, _ = published
    c = um.pattern_counts(model, 0.01)
    ref = naive.um_significant_counts(model.Wx, model.Wh, model.Wy, 0.01)
    assert {k: c[k] for k in ("Wx", "Wh", "Wy", "total")} == ref
    # seed 000 section 3 reports 5,371 / 14,245 / 25,178 = 44,794; measured here, reproduced as asked
    assert (c["Wx"], c["Wh"], c["Wy"], c["total"]) == (5371, 14245, 25178, 44794)
    allc = um.pattern_counts(model, None)
    assert (allc["Wx"], allc["Wh"], allc["Wy"], allc["bh"], allc["by"]) == (32768, 16384, 32768, 128, 256)
    assert allc["all"] == model.n_params


def test_published_roundtrip_bit_identical(published, tmp_path):
    model, _ = published
    t = um.from_rnn(model)
    assert len(t) == model.n_params
    assert t.to_rnn().equal_bits(model)
    p = tmp_path / "p.npz"
    np.savez(p, **t.npz_payload())
    assert um.PatternTable.load_npz(p).to_rnn().equal_bits(model)
    # any row order works
    perm = np.random.default_rng(0).permutation(len(t))
    assert t.take(perm).to_rnn().equal_bits(model)


def test_signed_zero_encoding_and_roundtrip():
    m = signed_zero_model()
    t = um.from_rnn(m)
    w = t.weights()
    negz = (t.strength == 0) & (t.sign < 0)
    posz = (t.strength == 0) & (t.sign > 0)
    assert negz.any() and posz.any()
    assert np.signbit(w[negz]).all() and not np.signbit(w[posz]).any()
    assert not np.signbit(t.strength).any()
    back = t.to_rnn()
    assert back.equal_bits(m)
    assert not back.equal_bits(t.with_pattern(int(np.flatnonzero(negz)[0]), sign=1).to_rnn())


def test_table_matches_naive_pattern_list():
    m = random_model(3, 11)
    t = um.from_rnn(m)
    pats = naive.um_pattern_list(m.Wx, m.Wh, m.bh, m.Wy, m.by)
    assert len(pats) == len(t)
    for i, p in enumerate(pats):
        assert um.CLASS_NAMES[t.cls[i]] == p["cls"]
        assert t.strength[i] == p["strength"] and t.sign[i] == p["sign"]
        assert um.event_label(t.src_space[i], t.src_event[i]) == _label(p["src"])
        assert um.event_label(t.dst_space[i], t.dst_event[i]) == _label(p["dst"])


def _label(ev):
    space, e = ev
    if space == "on":
        return "on"
    if space in ("x", "y"):
        return f"{space}=0x{e:02x}"
    return f"h{space}" if e == "h" else f"not-h{space}"


def test_positive_weights_point_at_h_negative_at_not_h():
    t = um.from_rnn(random_model(4, 2))
    hid = t.dst_space >= 0
    assert np.array_equal(t.dst_event[hid] == um.EVENT_NOT_H, t.sign[hid] < 0)


def test_filters_against_literal_selection():
    m = random_model(6, 4)
    t = um.from_rnn(m)
    W = t.weights()
    sel = t.filter(cls="Wh", min_strength=0.3)
    assert len(sel) == int((np.abs(m.Wh) > np.float32(0.3)).sum())
    assert set(sel.cls.tolist()) == {um.C_WH}
    sel = t.filter(neuron=2)
    expect = 1 + 256 + 6 + 6 - 1 + 256      # bias, Wx row, Wh row and column (diagonal once), Wy column
    assert len(sel) == expect
    sel = t.filter(byte=65)
    assert len(sel) == 6 + 6 + 1            # Wx column 65, Wy row 65, by[65]
    sel = t.filter(cls="bias")
    assert len(sel) == 6 + 256 and np.array_equal(np.sort(sel.weights()), np.sort(np.concatenate([m.bh, m.by])))
    assert len(t.filter(min_strength=0.0)) == int((W != 0).sum())
    with pytest.raises(SatrnnInputError):
        t.filter(cls="Wz")
    with pytest.raises(SatrnnInputError):
        t.filter(neuron=6)


def test_to_rnn_refuses_incomplete_or_duplicated_tables():
    t = um.from_rnn(random_model(3, 1))
    part = t.filter(min_strength=0.5)
    with pytest.raises(SatrnnInputError, match="lacks"):
        part.to_rnn()
    filled = part.to_rnn(fill_missing=True)
    assert (np.abs(filled.Wh)[np.abs(filled.Wh) > 0] > 0.5).all()
    dup = t.take(np.concatenate([np.arange(len(t)), [5]]))
    with pytest.raises(SatrnnInputError, match="duplicated"):
        dup.to_rnn()
    with pytest.raises(SatrnnInputError):
        um.um_forward(dup, [1, 2, 3])


# ---- the activation 2 sigma(2z) - 1 -----------------------------------------------------------------

def adversarial_z():
    rng = np.random.default_rng(7)
    edges = [0.0, -0.0, 1e-45, -1e-45, 1e-40, 2.0**-55, -(2.0**-55), 2.0**-56, 1.0, -1.0, 22.0, -22.0, 9.0, 30.0]
    near = [np.nextafter(np.float32(e), np.float32(s)) for e in (2.0**-55, 1.0, 22.0) for s in (0, 100)]
    return np.concatenate([np.array(edges + near, np.float32), (rng.standard_normal(3000) * 3).astype(np.float32),
                           (rng.standard_normal(500) * 1e-4).astype(np.float32)])


@pytest.mark.parametrize("tanh", ["fdlibm", "cr"])
def test_stable_activation_matches_naive_literal_and_tanhf(tanh):
    z = adversarial_z()
    m, p = um.um_activation(z, "stable", tanh=tanh)
    ref = np.array([naive.tanhf(v, tanh) for v in z], np.float32)
    if tanh == "fdlibm":          # the UM's p(h) - p(not-h) over the common denominator, literally
        lit = np.array([naive.um_signed_prob_f32(v) for v in z], np.float32)
        assert np.array_equal(bits(m), bits(lit))
    assert np.array_equal(bits(m), bits(ref))
    assert ((p >= 0) & (p <= 1)).all()
    # p(h) alone cannot resolve the sign of tiny z in float32 (it rounds to 1/2), m can
    big = np.abs(z) > 1e-6
    assert np.array_equal(p[big] >= 0.5, z[big] >= 0)
    assert np.array_equal(np.signbit(m), np.signbit(z))


def test_naive_activation_differs_in_last_bits():
    """p = 1/(1+e^{-2z}) then 2p - 1 cancels near z = 0: the check must be able to see that."""
    z = adversarial_z()
    m, _ = um.um_activation(z, "naive")
    ref = np.array([naive.tanhf(v) for v in z], np.float32)
    assert (bits(m) != bits(ref)).sum() > 100
    assert np.abs(m - ref).max() < 1e-6


def test_stable_activation_f64_matches_double_tanh():
    z = adversarial_z().astype(np.float64) * 1.0000001
    m, _ = um.um_activation(z, "stable")
    ref = np.array([naive.tanh64(v) for v in z])       # satrnn's double tanh, literally
    assert np.array_equal(bits(m), bits(ref))


# ---- the forward from the patterns --------------------------------------------------------------------

def test_published_um_forward_bit_identical(published, published_forward):
    model, xs = published
    u = um.um_forward(model, xs, "f32")
    r = published_forward
    assert np.array_equal(bits(u.zs), bits(r.zs)) and np.array_equal(bits(u.hs), bits(r.hs))
    assert u.bpc == r.bpc
    assert np.array_equal(u.ps >= 0.5, r.hs >= 0)


def test_published_um_matches_literal_pattern_um(published):
    model, xs = published
    xs = xs[:12]
    pats = naive.um_pattern_list(model.Wx, model.Wh, model.bh, model.Wy, model.by)
    ms, zs = naive.um_forward_f32(pats, model.H, xs)
    u = um.um_forward(model, xs, "f32")
    assert np.array_equal(bits(u.hs), bits(ms)) and np.array_equal(bits(u.zs), bits(zs))
    assert u.bpc == naive.um_bpc(pats, ms, xs)


def test_forced_preactivations_reproduce_rnn_accumulation(published, published_forward):
    model, xs = published
    z = um.um_preactivations_forced(model, xs, published_forward.hs, "f32")
    assert np.array_equal(bits(z), bits(published_forward.zs))


def test_signed_zero_and_ties_at_zero():
    m = signed_zero_model()
    xs = np.array([0, 0, 5, 0, 200, 0, 0], np.uint8)
    r = forward(m, xs)
    u = um.um_forward(m, xs)
    assert np.array_equal(bits(u.hs), bits(r.hs)) and np.array_equal(bits(u.zs), bits(r.zs))
    assert (r.zs[0] == 0).sum() >= 4 and np.signbit(r.zs[0]).any()     # the adversarial case is present
    pats = naive.um_pattern_list(m.Wx, m.Wh, m.bh, m.Wy, m.by)
    ms, zs = naive.um_forward_f32(pats, m.H, xs)
    assert np.array_equal(bits(u.hs), bits(ms))
    assert check_isomorphism(m, xs).isomorphic


def test_unclamped_cost_matches_reference(published):
    model, xs = published
    assert um.um_forward(model, xs[:200], clamp=False).bpc == forward(model, xs[:200], clamp=False).bpc


def test_pruned_table_runs_and_equals_pruned_rnn():
    m = random_model(8, 9)
    xs = np.random.default_rng(1).integers(0, 256, 40, dtype=np.uint8)
    part = um.from_rnn(m).filter(min_strength=0.2)
    u = um.um_forward(part, xs)
    r = forward(part.to_rnn(fill_missing=True), xs)
    assert np.array_equal(bits(u.hs), bits(r.hs)) and u.bpc == r.bpc


# ---- the isomorphism check -----------------------------------------------------------------------------

@pytest.mark.parametrize("precision", ["f32", "f64"])
def test_published_isomorphic_to_the_bit(published, precision):
    model, xs = published
    d = check_isomorphism(model, xs, precision)
    assert d.isomorphic and d.verdict.startswith("isomorphic to the bit")
    assert d.sign_mismatches == 0 and d.signbit_mismatches == 0 and d.max_abs_diff == 0.0
    assert d.states_bit_identical and d.weights_roundtrip and d.bpc_um == d.bpc_rnn
    assert d.preactivations.forced_identical and d.activation_check.bit_differences == 0
    assert d.first_disagreement is None and d.pattern_counts["total"] == 44794
    json.dumps(d.as_dict())


def test_published_naive_f32_is_not_isomorphic(published):
    """The naive float32 sigma loses last bits; the recurrence carries them to sign flips: reported, not hidden."""
    model, xs = published
    d = check_isomorphism(model, xs, "f32", activation="naive")
    assert not d.isomorphic and d.verdict.startswith("NOT")
    assert d.activation_check.bit_differences > 0
    assert d.preactivations.forced_identical          # the accumulation itself is exact
    assert d.first_disagreement is not None
    if d.sign_mismatches:
        fs = d.first_sign_disagreement
        assert fs.sign_differs and fs.margin == abs(fs.z_rnn)


def test_corrupted_sign_is_caught_with_first_disagreement(published):
    model, xs = published
    xs = xs[:300]
    t = um.from_rnn(model)
    wh = np.flatnonzero(t.cls == um.C_WH)
    i = int(wh[np.argmax(t.strength[wh])])
    j, k = int(t.dst_space[i]), int(t.src_space[i])
    d = check_isomorphism(model, xs, table=t.with_pattern(i, sign=-int(t.sign[i])))
    assert not d.isomorphic and not d.weights_roundtrip
    assert d.weights_roundtrip_detail.differences["Wh"] == 1
    fd = d.first_disagreement
    # h_{-1} = 0, so a recurrent pattern first acts at t = 1, on its target
    assert (fd.t, fd.neuron) == (1, j) and fd.h_um != fd.h_rnn
    assert d.sign_mismatches > 0 and d.first_sign_disagreement.t >= 1
    assert k >= 0


def test_corrupted_strength_is_caught_at_its_first_use(published):
    model, xs = published
    xs = xs[:50]
    t = um.from_rnn(model)
    j = 17
    i = int(np.flatnonzero((t.cls == um.C_WX) & (t.dst_space == j) & (t.src_event == xs[0]))[0])
    bad = t.with_pattern(i, strength=float(t.strength[i]) + 0.25)
    d = check_isomorphism(model, xs, table=bad)
    assert not d.isomorphic
    fd = d.first_disagreement
    assert (fd.t, fd.neuron, fd.byte) == (0, j, int(xs[0]))
    assert fd.z_um != fd.z_rnn and fd.margin == abs(fd.z_rnn)
    assert d.bpc_abs_diff > 1e-9


@pytest.mark.parametrize("H", [3, 64, 128, 200])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), text=st.binary(min_size=2, max_size=16),
       precision=st.sampled_from(["f32", "f64"]), scale=st.sampled_from([0.5, 1.0, 3.0]))
def test_random_models_isomorphic_to_the_bit(H, seed, text, precision, scale):
    m = random_model(H, seed, scale=scale)
    xs = np.frombuffer(text, np.uint8)
    d = check_isomorphism(m, xs, precision)
    assert d.isomorphic, d.verdict
    assert d.states_bit_identical and d.weights_roundtrip and d.bpc_um == d.bpc_rnn


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), text=st.binary(min_size=2, max_size=8))
def test_random_small_models_match_literal_um(seed, text):
    m = random_model(3, seed, scale=2.0)
    xs = np.frombuffer(text, np.uint8)
    pats = naive.um_pattern_list(m.Wx, m.Wh, m.bh, m.Wy, m.by)
    ms, zs = naive.um_forward_f32(pats, 3, xs)
    u = um.um_forward(m, xs)
    assert np.array_equal(bits(u.hs), bits(ms)) and np.array_equal(bits(u.zs), bits(zs))
    assert u.bpc == naive.um_bpc(pats, ms, xs)
    assert um.from_rnn(m).to_rnn().equal_bits(m)


def test_bad_inputs():
    m = random_model(3, 0)
    with pytest.raises(SatrnnInputError):
        um.um_forward(m, [1])
    with pytest.raises(SatrnnInputError):
        um.um_forward(m, [1, 2], precision="f16")
    with pytest.raises(SatrnnInputError):
        um.um_forward(m, [1, 2], activation="exact")
    with pytest.raises(SatrnnInputError):
        check_isomorphism(m, [1, 2, 3], table=um.from_rnn(random_model(4, 0)))


def test_pruned_check_literal_equivalence():
    """The pruned UM equals the RNN with the dropped weights zeroed (literal numpy construction)."""
    from satrnn.automaton.iso import pruned_check
    m = random_model(6, 13)
    xs = np.random.default_rng(2).integers(0, 256, 30, dtype=np.uint8)
    d = pruned_check(m, xs, threshold=0.3, prune=("Wh",))
    Wh = np.where(np.abs(m.Wh) > np.float32(0.3), m.Wh, np.float32(0))
    assert d.bpc_um_pruned == forward(m.replace(Wh=Wh), xs).bpc
    assert d.patterns_dropped == int((np.abs(m.Wh) <= np.float32(0.3)).sum())
    assert d.bpc_rnn == forward(m, xs).bpc
    full = pruned_check(m, xs, threshold=-1.0)
    assert full.isomorphic and full.patterns_dropped == 0


def test_inconsistent_event_encoding_is_rejected():
    t = um.from_rnn(random_model(3, 5))
    cols = {c: np.array(getattr(t, c)) for c in um.COLUMNS}
    i = int(np.flatnonzero(t.cls == um.C_WH)[0])
    cols["sign"][i] = -cols["sign"][i]                     # sign flipped, target event left alone
    with pytest.raises(SatrnnInputError, match="point at"):
        um.PatternTable(t.H, **cols)
    flipped = t.with_pattern(i, sign=-int(t.sign[i]))      # with_pattern keeps the encoding consistent
    assert flipped.dst_event[i] == (um.EVENT_NOT_H if flipped.sign[i] < 0 else um.EVENT_H)
