"""Attractor landscapes (automaton.landscape, `satrnn landscape`) against the literal references in naive.py."""
import json
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

import naive
from satrnn.automaton import cycles as cyc
from satrnn.automaton import landscape as ls
from satrnn.automaton import sign
from satrnn.automaton.bitset import to_int
from satrnn.automaton.cascade import cascade_summary, flip_cascades, sign_trajectory
from satrnn.automaton.sign import SignAutomaton
from satrnn.cli import main
from satrnn.report.render_landscape import render_landscape
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import random_model, save_model
from test_cycles import tie_model

SEMANTICS = sign.SEMANTICS


def ref_F(model, sem, seq, pins=None):
    step_x = lambda s, x: naive.bool_step(model.Wx, model.Wh, model.bh, x, s, sem)
    if pins:
        step_x = naive.pinned_step(step_x, dict(pins))
    return naive.sequence_step(step_x, seq)


def assert_matches_reference(land, ref, H):
    """Every field of an exact landscape against naive.landscape_reference."""
    nd = (H + 3) // 4
    hx = lambda v: format(v, f"0{nd}x")
    states = ref["states"]
    assert land.n_states == len(states)
    full = [to_int(w) for w in land.full_states(np.arange(land.n_states))]
    assert full == states  # compressed index order = integer order of the full states
    pos = {v: c for c, v in enumerate(full)}
    assert [full[int(s)] for s in land.successor] == [ref["succ"][v] for v in states]
    got = {a.rep: (list(a.states), a.basin_size) for a in land.attractors}
    want = {hx(r): ([hx(v) for v in cyc_], ref["basin"][r]) for r, cyc_ in ref["cycles"].items()}
    assert got == want
    L = len(land.seq)
    for a in land.attractors:
        assert a.period == L * len(a.states)
        assert a.basin_fraction == a.basin_size / len(states)
    reps = [a.rep for a in land.attractors]
    assert reps == sorted(reps)
    assert [reps[land.attractor[pos[v]]] for v in states] == [hx(ref["attractor_of"][v]) for v in states]
    assert [int(land.height[pos[v]]) for v in states] == [ref["height"][v] for v in states]
    assert math.isclose(land.basin_entropy, ref["entropy"], rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(land.basin_entropy_bits, ref["entropy"] / math.log(2), rel_tol=1e-12, abs_tol=1e-15)
    assert land.garden_of_eden == ref["garden_of_eden"]
    assert list(land.in_degree_histogram) == ref["in_degree_histogram"]
    hh = [0] * (max(ref["height"].values()) + 1)
    for h in ref["height"].values():
        hh[h] += 1
    assert list(land.height_histogram) == hh
    for a, r in zip(land.attractors, sorted(ref["cycles"])):
        members = [v for v in states if ref["attractor_of"][v] == r]
        indeg = {v: 0 for v in states}
        for v in states:
            indeg[ref["succ"][v]] += 1
        assert a.garden_of_eden == sum(1 for v in members if indeg[v] == 0)
        assert a.max_height == max(ref["height"][v] for v in members)
        assert math.isclose(a.mean_height, sum(ref["height"][v] for v in members) / len(members), rel_tol=1e-12)


# ---- exact landscapes vs the literal reference ------------------------------------------------------

@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("pins", [None, {1: 1}, {0: -1, 2: 1}])
@pytest.mark.parametrize("kind", ["random", "ties"])
def test_every_input_small_H(sem, pins, kind):
    """H = 4, all 256 input bytes, pinned and unpinned, ties included."""
    H = 4
    model = random_model(H, 7) if kind == "random" else tie_model(H, 7)
    A = SignAutomaton.from_model(model, sem)
    for x in range(256):
        land = ls.landscape(A, x, pins)
        assert_matches_reference(land, naive.landscape_reference(ref_F(model, sem, [x], pins), H, pins), H)


@settings(max_examples=16, deadline=None)
@given(H=st.integers(1, 12), seed=st.integers(0, 10**6), x=st.integers(0, 255), sem=st.sampled_from(SEMANTICS),
       ties=st.booleans(), scale=st.sampled_from([0.5, 1.0, 3.0]), n_pins=st.integers(0, 3),
       label_slice=st.sampled_from([1, 3, 64, 1 << 20]))
def test_random_models_match_reference(H, seed, x, sem, ties, scale, n_pins, label_slice):
    """Against the literal reference, with the labelling kernels run in slices of any size (Ctrl-C)."""
    model = tie_model(H, seed) if ties else random_model(H, seed, scale=scale)
    rng = np.random.default_rng(seed)
    js = rng.choice(H, size=min(n_pins, H - 1), replace=False) if H > 1 else []
    pins = {int(j): int(rng.choice([-1, 1])) for j in js}
    A = SignAutomaton.from_model(model, sem)
    old = ls.LABEL_SLICE
    ls.LABEL_SLICE = label_slice
    try:
        land = ls.landscape(A, x, pins)
    finally:
        ls.LABEL_SLICE = old
    assert_matches_reference(land, naive.landscape_reference(ref_F(model, sem, [x], pins), H, pins), H)


def adversarial_pins(H, seed, n_free):
    """Pins leaving n_free free neurons where packing is easiest to get wrong: both sides of every word
    boundary (63 | 64, 127 | 128), neurons 0 and H - 1, then random ones; pinned values mixed."""
    rng = np.random.default_rng(seed)
    free = []
    for j in [0, 63, 64, H - 1, 127, 128, *rng.permutation(H).tolist()]:
        if j < H and j not in free and len(free) < n_free:
            free.append(j)
    return {j: int(rng.choice([-1, 1])) for j in range(H) if j not in free}


@pytest.mark.parametrize("H", [65, 100, 128, 200])
@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("kind", ["random", "ties"])
def test_pinned_exhaustive_any_H_matches_reference(H, sem, kind):
    """Issue 28: pinned exhaustive landscapes for H > 64 (states of several words), against the literal
    reference over the free-state space, with free neurons on both sides of the word boundaries."""
    model = random_model(H, H, scale=2.0) if kind == "random" else tie_model(H, H)
    pins = adversarial_pins(H, H, 5 if H > 128 else 6)
    A = SignAutomaton.from_model(model, sem)
    x = 32
    land = ls.landscape(A, x, pins)
    assert land.n_states == 1 << (H - len(pins))
    assert_matches_reference(land, naive.landscape_reference(ref_F(model, sem, [x], pins), H, pins), H)


@pytest.mark.parametrize("sem", SEMANTICS)
def test_pinned_exhaustive_sequence_and_graph_at_H_130(sem, slicing):
    """A periodic input and the state graph, three words per state; sliced at both extremes."""
    H = 130
    model = tie_model(H, 5)
    pins = adversarial_pins(H, 5, 5)
    seq = [65, 10]
    A = SignAutomaton.from_model(model, sem)
    land = ls.landscape(A, seq, pins)
    assert_matches_reference(land, naive.landscape_reference(ref_F(model, sem, seq, pins), H, pins), H)
    g = land.to_networkx()
    names = land.state_hex(np.arange(land.n_states))
    assert all(len(n) == 33 for n in names) and sorted(g.nodes) == sorted(names)
    assert sorted(g.edges()) == sorted((names[c], names[int(s)]) for c, s in enumerate(land.successor))


@pytest.mark.parametrize("H", [1, 64, 128, 200])
def test_every_neuron_pinned(H):
    """0 free neurons: one state, a fixed point; sensitivity is undefined (no neuron to flip), not an error."""
    model = random_model(H, 3)
    pins = {j: (1 if j % 3 else -1) for j in range(H)}
    A = SignAutomaton.from_model(model, "exact")
    for seq in ([7], [7, 200]):
        land = ls.landscape(A, seq, pins)
        want = sum(1 << j for j, v in pins.items() if v > 0)
        assert land.n_states == 1 and to_int(land.full_states(0)[0]) == want
        assert [(a.rep, a.period, a.basin_size, a.max_height) for a in land.attractors] == \
            [(format(want, f"0{(H + 3) // 4}x"), len(seq), 1, 0)]
        assert land.basin_entropy == 0.0 and land.garden_of_eden == 0
    s = ls.landscape_sensitivity(ls.landscape(A, 7, pins))
    assert math.isnan(s.overall) and s.per_neuron == (None,) * H
    e = ls.estimate_sensitivity(A, 7, 16, 0, pins)
    assert math.isnan(e.overall) and e.overall_ci is None


@pytest.mark.parametrize("sem", SEMANTICS)
def test_pinned_exhaustive_equals_estimated_at_H_128(sem):
    """Where they meet, the exact and the estimated landscape agree: Brent from every free state ends on the
    exact attractor of that state, with its period and height; the estimate's attractors are exact ones;
    the sensitivity from the successor map equals the flip-cascade kernel's over all states; and
    `cycles.exhaustive_cycles` enumerates the same free-state space (one pin convention)."""
    H = 128
    model = random_model(H, 11, scale=2.0)
    pins = adversarial_pins(H, 11, 8)
    A = SignAutomaton.from_model(model, sem)
    x = 97
    land = ls.landscape(A, x, pins)
    reps = [a.rep for a in land.attractors]
    states = land.full_states(np.arange(land.n_states))
    r = cyc.find_cycles(A.with_pins(pins), states, np.array([[x]]), budget=10**5)
    assert (r.status == cyc.STATUS_CYCLE).all()
    assert [r.rep_hex(i) for i in range(land.n_states)] == [reps[a] for a in land.attractor]
    assert r.lam.tolist() == [land.attractors[a].period for a in land.attractor]
    assert r.mu.tolist() == land.height.tolist()
    est = ls.estimate_landscape(A, x, starts=300, budget=10**5, seed=4, pins=pins, bootstrap_resamples=100)
    by_rep = {a.rep: a for a in land.attractors}
    assert est.unresolved == 0 and est.attractors
    for e in est.attractors:
        assert e.rep in by_rep and e.period == by_rep[e.rep].period and e.transient_max <= by_rep[e.rep].max_height
    assert ls.sensitivity(A, states, x, pins).per_neuron == ls.landscape_sensitivity(land).per_neuron
    ex = cyc.exhaustive_cycles(A.with_pins(pins), np.array([x]))
    assert ex.rep_hex() == reps and ex.basins.tolist() == [a.basin_size for a in land.attractors]
    assert ex.depth.tolist() == land.height.tolist()


@settings(max_examples=40, deadline=None)
@given(H=st.integers(1, 300), data=st.data())
def test_free_state_packing_round_trip(H, data):
    """sign.free_states / free_index against the literal construction of naive.pinned_states, any H."""
    m = data.draw(st.integers(0, min(H, 10)))
    free = sorted(data.draw(st.lists(st.integers(0, H - 1), min_size=m, max_size=m, unique=True)))
    pins = {j: data.draw(st.sampled_from([-1, 1])) for j in range(H) if j not in free}
    fr = ls.free_neurons(H, pins)
    assert fr.tolist() == free
    full = ls.free_states(np.arange(1 << m), fr, ls.pin_words(H, pins)[1])
    assert [to_int(w) for w in full] == naive.pinned_states(H, pins)
    assert sign.free_index(full, fr).tolist() == list(range(1 << m))


def test_tie_models_have_exact_zero_preactivations():
    """The tie models used above do exercise z = 0 exactly (so the tie rule is tested)."""
    model = tie_model(6, 3)
    zs = [float(model.bh[i] + model.Wx[i, 65] + sum(model.Wh[i, j] * s for j, s in enumerate(naive.int_to_state(v, 6))))
          for v in range(64) for i in range(6)]
    assert sum(1 for z in zs if z == 0.0) > 20


@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("pins", [None, {3: -1}])
def test_periodic_sequence_matches_reference(sem, pins, slicing):
    H = 7
    model = tie_model(H, 11)
    seq = [65, 10, 200]
    A = SignAutomaton.from_model(model, sem)
    land = ls.landscape(A, seq, pins)
    assert_matches_reference(land, naive.landscape_reference(ref_F(model, sem, seq, pins), H, pins), H)


def test_agrees_with_exhaustive_cycles():
    model = random_model(11, 5)
    A = SignAutomaton.from_model(model, "exact")
    ex = cyc.exhaustive_cycles(A, np.array([97]))
    land = ls.landscape(A, 97)
    assert [int(a.rep, 16) for a in land.attractors] == ex.reps.tolist()
    assert [a.basin_size for a in land.attractors] == ex.basins.tolist()
    assert [a.period for a in land.attractors] == ex.periods.tolist()
    assert land.height.tolist() == ex.depth.tolist()


@pytest.mark.parametrize("sem", SEMANTICS)
def test_kernel_pins_equal_the_clamped_model(sem):
    """Pinning through the kernels' masks = the automaton of the model with the pinned rows replaced by
    Wh = 0, Wx = 0, bh = +-1; the pinned state space holds exactly the states with the pinned values; an
    automaton built with pins is used with its own pins when none are given."""
    model = random_model(9, 2)
    pins = {0: 1, 8: -1}
    Wh, Wx, bh = model.Wh.copy(), model.Wx.copy(), model.bh.copy()
    for j, v in pins.items():
        Wh[j], Wx[j], bh[j] = 0.0, 0.0, v
    clamped = SignAutomaton.from_model(model.replace(Wh=Wh, Wx=Wx, bh=bh), sem)
    A = SignAutomaton.from_model(model, sem)
    for x in (0, 66, 255):
        land = ls.landscape(A, x, pins)
        ref = ls.landscape(clamped, x, pins)
        assert land.successor.tolist() == ref.successor.tolist()
        assert land.attractors == ref.attractors
        own = ls.landscape(SignAutomaton.from_model(model, sem, pins=pins), x)
        assert own.pins == land.pins and own.successor.tolist() == land.successor.tolist()
    assert land.n_states == 1 << 7
    full = land.full_states(np.arange(land.n_states))
    assert ((full & np.uint64(1)) == 1).all() and ((full >> np.uint64(8)) & np.uint64(1) == 0).all()
    assert ls.landscape(SignAutomaton.from_model(model, sem, pins=pins), 3, pins=()).n_states == 1 << 9


def test_check_pins_errors():
    for bad in ({9: 1}, {-1: 1}, {0: 0}, [(1, 1), (1, -1)], [(1,)], {True: 1}):
        with pytest.raises(SatrnnInputError):
            ls.check_pins(bad, 9)
    for bad in ("8", "8=2", "x=+1", "1=+1,1=-1", "3=+1,,"):
        with pytest.raises(SatrnnInputError):
            sign.parse_pins(bad, 9)
    assert sign.parse_pins("8=+1,2=-1", 9) == ((2, -1), (8, 1))


def test_graph_and_graphml(tmp_path):
    model = tie_model(6, 4)
    A = SignAutomaton.from_model(model, "exact")
    land = ls.landscape(A, 3, {2: 1})
    g = land.to_networkx()
    names = land.state_hex(np.arange(land.n_states))
    assert g.number_of_nodes() == land.n_states == 32
    assert sorted(g.edges()) == sorted((names[c], names[int(s)]) for c, s in enumerate(land.successor))
    for c, n in enumerate(names):
        assert g.in_degree(n) == int(land.in_degree[c])
        assert g.nodes[n]["height"] == int(land.height[c])
    p = tmp_path / "g.graphml"
    nx.write_graphml(g, p)
    back = nx.read_graphml(p)
    assert sorted(back.edges()) == sorted(g.edges())


def test_exact_limits():
    A = SignAutomaton.from_model(random_model(25, 0), "exact")
    with pytest.raises(SatrnnInputError):
        ls.landscape(A, 0)
    with pytest.raises(SatrnnInputError):
        ls.landscape(SignAutomaton.from_model(random_model(17, 0), "exact"), 0).to_networkx()
    with pytest.raises(SatrnnInputError):
        ls.landscape(A, 256, {j: 1 for j in range(5)})


# ---- estimated landscapes -------------------------------------------------------------------------

LARGE = 0.05


@pytest.mark.parametrize("H,seed,sem,kind,pins", [
    (8, 1, "exact", "random", None), (10, 2, "f32-seq", "ties", None), (12, 3, "exact", "random", {5: 1}),
    (12, 4, "f32-seq", "random", None)])
def test_estimate_converges_to_exact(H, seed, sem, kind, pins):
    """N = 4096 starts: every exact basin fraction >= 5% lies in its 95% Clopper-Pearson interval."""
    model = random_model(H, seed) if kind == "random" else tie_model(H, seed)
    A = SignAutomaton.from_model(model, sem)
    x = 32
    exact = ls.landscape(A, x, pins)
    est = ls.estimate_landscape(A, x, starts=4096, budget=10 * exact.n_states, seed=seed, pins=pins)
    assert est.unresolved == 0 and est.starts == 4096
    by_rep = {a.rep: a for a in est.attractors}
    assert set(by_rep) <= {a.rep for a in exact.attractors}
    for a in exact.attractors:
        if a.basin_fraction >= LARGE:
            e = by_rep[a.rep]
            assert e.basin_fraction_ci[0] <= a.basin_fraction <= e.basin_fraction_ci[1], (a, e)
            assert e.period == a.period and e.transient_max <= a.max_height
    lo, hi = est.basin_entropy_ci
    assert lo <= est.basin_entropy <= hi
    assert abs(est.basin_entropy - exact.basin_entropy) < 0.1


def test_interval_coverage():
    """Over 200 independent seeds the 95% intervals cover each large exact basin fraction >= 90% of the time."""
    model = random_model(9, 6)
    A = SignAutomaton.from_model(model, "exact")
    exact = ls.landscape(A, 65)
    large = [a for a in exact.attractors if a.basin_fraction >= LARGE]
    assert large
    hits = np.zeros(len(large))
    n_rep = 200
    for s in range(n_rep):
        job = ls.landscape_job(A, 65, starts=256, budget=10_000, seed=1000 + s)
        est = ls.merge_jobs([job], bootstrap_resamples=100)
        by_rep = {a.rep: a for a in est.attractors}
        for k, a in enumerate(large):
            e = by_rep.get(a.rep)
            ci = e.basin_fraction_ci if e else (0.0, binomtest(0, 256).proportion_ci(method="exact").high)
            hits[k] += ci[0] <= a.basin_fraction <= ci[1]
    assert (hits / n_rep >= 0.90).all(), hits / n_rep


def test_unresolved_reported():
    """A rotation ring of H = 12 has period-12 cycles; a budget of 12 steps cannot close them."""
    H = 12
    Wh = np.zeros((H, H), np.float32)
    for i in range(H):
        Wh[i, (i - 1) % H] = 1.0
    from test_cycles import make_model
    A = SignAutomaton.from_model(make_model(Wh), "exact")
    est = ls.estimate_landscape(A, 0, starts=300, budget=12, seed=0)
    assert est.unresolved > 0 and est.unresolved_fraction == est.unresolved / 300
    assert sum(a.starts for a in est.attractors) + est.unresolved == 300
    assert all(a.period < 12 for a in est.attractors)
    d = est.as_dict()
    assert d["unresolved"] == est.unresolved


def test_job_deterministic_and_mergeable():
    model = random_model(128, 0)
    A = SignAutomaton.from_model(model, "exact")
    a = ls.landscape_job(A, 32, starts=16, budget=50_000, seed=5, model_digest="abc")
    b = ls.landscape_job(A, 32, starts=16, budget=50_000, seed=5, model_digest="abc", batch=3)
    strip = lambda j: {k: v for k, v in j.as_dict().items() if k != "seconds"}
    assert strip(a) == strip(b)
    c = ls.landscape_job(A, 32, starts=16, budget=50_000, seed=6, model_digest="abc")
    m = ls.merge_jobs([a, c], bootstrap_resamples=200)
    assert m.starts == 32 and m.seeds == (5, 6)
    tot = {}
    for j in (a, c):
        for r, n in zip(j.reps, j.counts):
            tot[r] = tot.get(r, 0) + n
    assert {x.rep: x.starts for x in m.attractors} == tot
    assert m.unresolved == a.unresolved + c.unresolved
    d = ls.landscape_job(A, 32, starts=16, budget=50_000, seed=5, model_digest="other")
    with pytest.raises(SatrnnInputError):
        ls.merge_jobs([a, d])
    for bad in (dict(starts=0), dict(seed=-1), dict(budget=0)):
        kw = dict(starts=4, budget=1000, seed=0) | bad
        with pytest.raises(SatrnnInputError):
            ls.landscape_job(A, 32, **kw)


def test_bootstrap_seeded():
    A = SignAutomaton.from_model(random_model(8, 3), "exact")
    e1 = ls.estimate_landscape(A, 1, starts=500, budget=5000, seed=2, bootstrap_resamples=500)
    e2 = ls.estimate_landscape(A, 1, starts=500, budget=5000, seed=2, bootstrap_resamples=500)
    assert e1.basin_entropy_ci == e2.basin_entropy_ci
    assert ls.merge_jobs([ls.landscape_job(A, 1, starts=500, budget=5000, seed=2)],
                         bootstrap_resamples=500).basin_entropy_ci == e1.basin_entropy_ci


# ---- sensitivity -----------------------------------------------------------------------------------

@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("pins", [None, {2: -1}])
def test_sensitivity_exact_matches_reference(sem, pins, slicing):
    H = 8
    model = tie_model(H, 9)
    A = SignAutomaton.from_model(model, sem)
    x = 77
    land = ls.landscape(A, x, pins)
    step = ref_F(model, sem, [x], pins)
    ref = naive.average_sensitivity(step, H, naive.landscape_reference(step, H, pins)["states"], pins)
    s1 = ls.landscape_sensitivity(land)
    states = land.full_states(np.arange(land.n_states))
    s2 = ls.sensitivity(A, states, x, pins)
    for s in (s1, s2):
        assert s.exact and s.states == land.n_states
        assert [None if v is None else round(v, 12) for v in s.per_neuron] == \
            [None if v is None else round(v, 12) for v in ref]
        free = [v for v in ref if v is not None]
        assert math.isclose(s.overall, sum(free) / len(free), rel_tol=1e-12)


def test_sensitivity_equals_one_step_cascade():
    """Over the states of a data trajectory, sensitivity = cascade_summary's per-neuron d_1."""
    model = random_model(128, 1)
    A = SignAutomaton.from_model(model, "exact")
    xs = np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8)
    states = sign_trajectory(A, xs)
    c = flip_cascades(A, states, xs, 1)
    summ = cascade_summary(c, 128)
    s = ls.sensitivity(A, states[c.t], xs[c.t + 1])
    assert list(s.per_neuron) == summ.per_neuron_d1
    assert math.isclose(s.overall, summ.one_step.mean, rel_tol=1e-12)


def test_estimated_sensitivity_interval():
    model = random_model(10, 4)
    A = SignAutomaton.from_model(model, "f32-seq")
    exact = ls.landscape_sensitivity(ls.landscape(A, 9))
    est = ls.estimate_sensitivity(A, 9, 4096, 0)
    assert not est.exact and est.overall_ci[0] <= exact.overall <= est.overall_ci[1]
    assert est.as_dict()["seed"] == 0


# ---- CLI ---------------------------------------------------------------------------------------------

@pytest.fixture
def small_model(tmp_path):
    p = tmp_path / "m.npz"
    save_model(random_model(9, 8), p)
    return p


def test_cli_exhaustive_json_and_graphml(small_model, tmp_path, capsys):
    g = tmp_path / "out.graphml"
    assert main(["landscape", str(small_model), "--input", "0x20", "--exhaustive", "--json", "--graphml", str(g),
                 "--pin", "4=-1"]) == 0
    out = json.loads(capsys.readouterr().out)
    land = ls.landscape(SignAutomaton.from_model(random_model(9, 8), "exact"), 32, {4: -1})
    assert out["basin_entropy"] == land.basin_entropy
    assert out["garden_of_eden"] == land.garden_of_eden
    assert out["in_degree_histogram"] == list(land.in_degree_histogram)
    assert out["height_histogram"] == list(land.height_histogram)
    assert [(a["states"], a["period"], a["basin_size"]) for a in out["attractors"]] == \
        [(list(a.states), a.period, a.basin_size) for a in land.attractors]
    assert out["sensitivity"]["exact"] and out["pins"] == [{"neuron": 4, "sign": -1}]
    assert nx.read_graphml(g).number_of_nodes() == 256


def test_cli_estimate_json(small_model, capsys):
    assert main(["landscape", str(small_model), "--input", "A", "--starts", "300", "--budget", "5000", "--seed", "4",
                 "--json", "--bootstrap", "200"]) == 0
    out = json.loads(capsys.readouterr().out)
    est = ls.estimate_landscape(SignAutomaton.from_model(random_model(9, 8), "exact"), 65, starts=300, budget=5000,
                                seed=4, bootstrap_resamples=200)
    assert [(a["rep"], a["basin_fraction"], a["basin_fraction_ci"]) for a in out["attractors"]] == \
        [(a.rep, a.basin_fraction, list(a.basin_fraction_ci)) for a in est.attractors]
    assert out["basin_entropy_ci"] == list(est.basin_entropy_ci)
    assert out["unresolved"] == est.unresolved and out["seed"] == 4


def test_cli_tables_and_sequence(small_model, capsys):
    assert main(["landscape", str(small_model), "--sequence", "65,0x20,B", "--exhaustive"]) == 0
    assert "Exact landscape" in capsys.readouterr().out
    assert main(["landscape", str(small_model), "--input", "A", "--starts", "50", "--budget", "1000",
                 "--semantics", "f32-seq"]) == 0
    assert "Estimated landscape" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["--input", "A", "--exhaustive", "BIG"], ["--input", "256", "--exhaustive"], ["--input", "A", "--budget", "0"],
    ["--input", "A", "--budget", str(10**14)], ["--input", "A", "--starts", "0"],
    ["--input", "A", "--starts", str(10**7), "--budget", str(10**9)], ["--input", "A", "--pin", "99=+1"],
    ["--input", "A", "--pin", "1=+1,1=-1"], [], ["--input", "A", "--sequence", "1,2"],
    ["--input", "A", "--graphml", "x.graphml"], ["--input", "A", "--exhaustive", "--graphml", "x.txt"],
    ["--input", "A", "--exhaustive", "--graphml", "/nonexistent/x.graphml"],
    ["--sequence", "1,,2", "--exhaustive"], ["--input", "A", "--sensitivity-samples", "1"],
    ["--input", "A", "--seed", "-3"], ["--input", "A", "--tier1", "chunk3"]])
def test_cli_bad_input(small_model, tmp_path, capsys, argv):
    if "BIG" in argv:
        big = tmp_path / "big.npz"
        save_model(random_model(25, 0), big)
        argv = [a for a in argv if a != "BIG"]
        path = big
    else:
        path = small_model
    assert main(["landscape", str(path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("satrnn: error:") and len(err.splitlines()) == 1


def test_cli_graphml_not_written_over_directory_or_model(small_model, tmp_path, capsys):
    d = tmp_path / "d.graphml"
    d.mkdir()
    assert main(["landscape", str(small_model), "--input", "A", "--exhaustive", "--graphml", str(d)]) == 2
    g = tmp_path / "m.graphml"
    save_model(random_model(5, 0), g.with_suffix(".npz"))
    g.with_suffix(".npz").rename(g)  # a model file that happens to end in .graphml
    before = g.read_bytes()
    assert main(["landscape", str(g), "--input", "A", "--exhaustive", "--graphml", str(g)]) == 2
    assert g.read_bytes() == before
    assert len(capsys.readouterr().err.strip().splitlines()) == 2


def test_render_landscape_both_kinds():
    from rich.console import Console
    A = SignAutomaton.from_model(random_model(6, 1), "exact")
    c = Console(record=True, width=120)
    c.print(render_landscape(ls.landscape(A, 5), ls.landscape_sensitivity(ls.landscape(A, 5))))
    c.print(render_landscape(ls.estimate_landscape(A, 5, starts=20, budget=500, seed=0, bootstrap_resamples=100)))
    text = c.export_text()
    assert "Exact landscape" in text and "Estimated landscape" in text and "sensitivity" in text


def test_landscape_section_small_and_large():
    from rich.console import Console

    from satrnn.analyses.landscape import text_landscape
    from satrnn.report.render_landscape import text_landscape as render_text_landscape
    xs = np.frombuffer(b"abca  b", dtype=np.uint8)
    tl = text_landscape(random_model(8, 2), xs)
    r, d = render_text_landscape(tl), tl.as_dict()
    assert d["kind"] == "exact" and d["input"] == 32 and "--exhaustive" in d["command"]
    tl2 = text_landscape(random_model(40, 2), xs, starts=8, budget=2000, sensitivity_samples=16)
    r2, d2 = render_text_landscape(tl2), tl2.as_dict()
    assert d2["kind"] == "estimated" and d2["starts"] == 8 and "--starts 8" in d2["command"]
    c = Console(record=True, width=100)
    c.print(r)
    c.print(r2)
    assert "same analysis" in c.export_text()


def test_sigint_during_an_exhaustive_landscape_exits_promptly(tmp_path):
    """Ctrl-C anywhere in an exhaustive H = 24 landscape (successor map, peel, labelling, sensitivity): exit
    130 within 1 s; the labelling kernels and the sensitivity run in slices of LABEL_SLICE states. (H = 24
    runs about 6 s, so every signal lands well before the end: one sent while the interpreter shuts down
    meets the default handler and reports death by SIGINT instead of 130.)"""
    from satrnn.rnn.model import save_model
    save_model(random_model(24, 1), tmp_path / "h24.bin")
    small = SignAutomaton.from_model(random_model(6, 1), "exact")
    ls.landscape_sensitivity(ls.landscape(small, 32))         # numba's cache holds the kernels
    from tests.interrupts import interrupt_after
    waits = []
    for delay in (1.2, 1.8, 2.4, 3.0):
        r = interrupt_after(["landscape", tmp_path / "h24.bin", "--input", "32", "--exhaustive"], delay)
        if r is not None:        # None: finished already, nothing left to interrupt
            waits.append((delay, r[0], r[1]))
    assert waits and all(rc == 130 and dt < 1.0 for _, rc, dt in waits), waits
