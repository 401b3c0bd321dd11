"""Redux evaluation: the fast readout-only path and the parallel dynamics sweeps are bit-identical to
rerunning the reference forward with the modified model; the shrunk model has the same bpc."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.automaton.redux import ReadoutCache, Redux, evaluate, evaluate_many, live_neurons, shrink
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.rnn.model import ElmanRNN, load_model, random_model, save_model


def slow_bpc(model, xs, keep=None):
    """The slow path: zero the Wy columns and rerun the whole forward."""
    Wy = np.array(model.Wy)
    if keep is not None:
        mask = np.zeros(model.H, dtype=bool)
        mask[list(keep)] = True
        Wy[:, ~mask] = 0.0
    return forward(model.replace(Wy=Wy), xs).bpc


def test_published_all_single_knockouts_identical_to_forward(published):
    model, xs = published
    cache = ReadoutCache(model, xs)
    fast = cache.knockout_bpcs()
    slow = np.array([slow_bpc(model, xs, [k for k in range(model.H) if k != j]) for j in range(model.H)])
    assert np.array_equal(fast, slow)
    # The exact-cell shortcut is what makes this fast; almost every cell qualifies on these weights.
    assert cache.exact_fraction > 0.999
    some = [0, 8, 54, 127]
    assert np.array_equal(cache.bpcs(~np.eye(model.H, dtype=bool)[some], force_ordered=True), slow[some])


def test_published_subsets_identical_to_forward(published):
    model, xs = published
    cache = ReadoutCache(model, xs)
    rng = np.random.default_rng(7)
    keeps = [rng.permutation(model.H)[:k] for k in (0, 1, 15, 64, 127)]
    masks = np.zeros((len(keeps), model.H), dtype=bool)
    for i, k in enumerate(keeps):
        masks[i, k] = True
    fast = cache.bpcs(masks)
    assert [slow_bpc(model, xs, k) for k in keeps] == list(fast)


def _adversarial_model(H, seed):
    """Tiny states next to huge readout weights: many logit cells fail the exactness test."""
    m = random_model(H, seed)
    Wy = np.array(m.Wy) * np.float32(1e4)
    Wy[:, 0] = np.float32(3e-7)
    return m.replace(Wy=Wy, bh=np.array(m.bh) * np.float32(1e-6), Wx=np.array(m.Wx) * np.float32(1e-6))


@settings(max_examples=12, deadline=None)
@given(H=st.integers(1, 9), seed=st.integers(0, 10**6), n=st.integers(2, 14), adversarial=st.booleans(),
       data=st.data())
def test_readout_configs_match_naive(H, seed, n, adversarial, data):
    model = _adversarial_model(H, seed) if adversarial else random_model(H, seed)
    xs = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
    cache = ReadoutCache(model, xs)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=H, max_size=H)))
    snap = np.array(data.draw(st.lists(st.booleans(), min_size=H, max_size=H)))
    ref = naive.masked_readout_bpc(model.Wy, model.by, cache.hs, xs, keep=np.flatnonzero(keep),
                                   snap=np.flatnonzero(snap))
    got = cache.bpcs(keep[None], snap[None])
    assert got[0] == ref
    assert cache.bpcs(keep[None], snap[None], force_ordered=True)[0] == ref


def test_adversarial_cells_take_the_ordered_path(slicing):
    """Also with the logits and the configurations run in slices of one position (Ctrl-C at any H)."""
    model = _adversarial_model(12, 3)
    xs = np.random.default_rng(3).integers(0, 256, 40, dtype=np.uint8)
    cache = ReadoutCache(model, xs)
    assert cache.exact_fraction < 1.0
    fast = cache.knockout_bpcs()
    assert list(fast) == [slow_bpc(model, xs, [k for k in range(12) if k != j]) for j in range(12)]
    assert list(cache.bpcs(~np.eye(12, dtype=bool)[[1, 7]], force_ordered=True)) == [fast[1], fast[7]]
    so = cache.sign_only_bpcs()
    for j in (0, 5, 11):
        assert so[j] == naive.masked_readout_bpc(model.Wy, model.by, cache.hs, xs, snap=[j])


def test_sign_only_matches_naive_on_published(published):
    model, xs = published
    cache = ReadoutCache(model, xs)
    so = cache.sign_only_bpcs()
    for j in (8, 54):
        assert so[j] == naive.masked_readout_bpc(model.Wy, model.by, cache.hs, xs, snap=[j])


@pytest.mark.parametrize("H,seed", [(5, 1), (16, 2)])
def test_dynamics_sweep_identical_to_forward(H, seed, slicing):
    model = random_model(H, seed)
    xs = np.random.default_rng(seed).integers(0, 256, 50, dtype=np.uint8)
    rng = np.random.default_rng(seed)
    reduxes = [Redux(wh_threshold=0.1), Redux(wx_threshold=0.3, strict=False), Redux(keep=[0, 2], wh_threshold=0.2),
               Redux(wh_mask=rng.random((H, H)) < 0.5), Redux(keep=[1]), Redux(wh_threshold=0.0),
               Redux(wh_threshold=100.0, wx_threshold=100.0)]
    got = evaluate_many(model, xs, reduxes)
    assert list(got) == [forward(r.apply(model), xs).bpc for r in reduxes]


def test_published_pruned_evaluate_identical(published):
    model, xs = published
    for r in (Redux(wh_threshold=0.5), Redux(keep=np.arange(15), wh_threshold=1.0)):
        assert evaluate(model, xs, r) == forward(r.apply(model), xs).bpc


def test_prune_masks_match_naive():
    model = random_model(6, 4)
    for theta in (0.0, 0.2, float(abs(model.Wh[2, 3]))):
        for strict in (True, False):
            r = Redux(wh_threshold=theta, wx_threshold=theta, strict=strict)
            assert np.array_equal(r.wh_keep(model), naive.prune_mask(model.Wh, theta, strict))
            assert np.array_equal(r.wx_keep(model), naive.prune_mask(model.Wx, theta, strict))
    # strict theta = 0 prunes nothing; the exact magnitude survives strict pruning, not non-strict.
    assert Redux(wh_threshold=0.0).wh_keep(model).all()
    t = float(abs(model.Wh[2, 3]))
    assert Redux(wh_threshold=t).wh_keep(model)[2, 3] and not Redux(wh_threshold=t, strict=False).wh_keep(model)[2, 3]


def _sparse_model(H, seed):
    m = random_model(H, seed)
    rng = np.random.default_rng(seed)
    Wh = np.where(rng.random((H, H)) < 0.15, m.Wh, np.float32(0.0)).astype(np.float32)
    return m.replace(Wh=Wh)


@settings(max_examples=15, deadline=None)
@given(H=st.integers(1, 12), seed=st.integers(0, 10**6), k=st.integers(0, 4))
def test_live_neurons_match_naive_and_shrink_is_exact(H, seed, k):
    model = _sparse_model(H, seed)
    keep = np.random.default_rng(seed + 1).permutation(H)[:min(k, H)]
    r = Redux(keep=keep)
    m = r.apply(model)
    assert list(live_neurons(model, r)) == naive.live_neurons(m.Wh, m.Wy, list(keep))
    small = shrink(model, r)
    xs = np.random.default_rng(seed).integers(0, 256, 30, dtype=np.uint8)
    assert forward(small, xs).bpc == forward(m, xs).bpc == evaluate(model, xs, r)
    assert small.H == max(1, len(naive.live_neurons(m.Wh, m.Wy, list(keep))))


def test_published_shrink_saves_smaller_model(published, tmp_path):
    model, xs = published
    r = Redux(keep=[8, 56, 68, 99, 15], wh_threshold=1.0)
    small = shrink(model, r)
    assert small.H < model.H
    ids = small.meta["neuron_ids"]
    assert set([8, 56, 68, 99, 15]) <= set(ids)
    p = tmp_path / "small.npz"
    save_model(small, p)
    back = load_model(p)
    assert back.equal_bits(small) and back.meta["neuron_ids"] == ids and back.meta["source_H"] == 128
    bpc = evaluate(model, xs, r)
    assert forward(back, xs).bpc == bpc == forward(r.apply(model), xs).bpc
    # The small model's weights are the original ones at the mapped ids.
    assert np.array_equal(back.Wh, r.apply(model).Wh[np.ix_(ids, ids)])


def test_readout_only_redux_keeps_all_neurons_alive(published):
    model, _ = published
    assert len(live_neurons(model, Redux(keep=[8]))) == 128  # Wh is dense: h8 hears everyone


def test_bad_redux_inputs():
    model = random_model(4, 0)
    with pytest.raises(SatrnnInputError):
        Redux(keep=[7]).keep_mask(4)
    with pytest.raises(SatrnnInputError):
        Redux(wh_threshold=-1).wh_keep(model)
    with pytest.raises(SatrnnInputError):
        Redux(wh_threshold=float("nan")).wh_keep(model)
    with pytest.raises(SatrnnInputError):
        Redux(wh_mask=np.ones((3, 3), bool)).wh_keep(model)
    with pytest.raises(SatrnnInputError):
        Redux(snap=[0]).apply(model)
    with pytest.raises(SatrnnInputError):
        ReadoutCache(model, np.array([1], np.uint8))
    with pytest.raises(SatrnnInputError):
        ReadoutCache(model, np.array([1, 2, 3], np.uint8)).bpcs(np.ones((2, 5), bool))


def test_applied_zeros_are_positive_float32(published):
    model, _ = published
    m = Redux(keep=[0], wh_threshold=0.5).apply(model)
    assert isinstance(m, ElmanRNN)
    z = m.Wy[:, 1:]
    assert not np.signbit(z).any() and (z == 0).all()
    assert not np.signbit(m.Wh[m.Wh == 0]).any()


def test_results_do_not_depend_on_thread_count():
    import numba
    model = random_model(9, 11)
    xs = np.random.default_rng(11).integers(0, 256, 70, dtype=np.uint8)
    reduxes = [Redux(keep=[1, 2]), Redux(wh_threshold=0.1), Redux(keep=[0], wx_threshold=0.2), Redux()]
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = evaluate_many(model, xs, reduxes)
        ko1 = ReadoutCache(model, xs).knockout_bpcs()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = evaluate_many(model, xs, reduxes)
        ko2 = ReadoutCache(model, xs).knockout_bpcs()
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, many) and np.array_equal(ko1, ko2)
