"""Cycle search (automaton.cycles, `satrnn cycles`) against brute force, exhaustive enumeration and glibc."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.analyses.boolean_figures import paper_attractor_search
from satrnn.automaton import cycles as cyc
from satrnn.automaton.bitset import from_int, to_int
from satrnn.automaton.glibc_rand import GlibcRand, glibc_rand_values
from satrnn.automaton.sign import SignAutomaton
from satrnn.cli import main
from satrnn.rnn.model import ElmanRNN, random_model, save_model

SEMANTICS = ("exact", "f32-seq")


def make_model(Wh, bh=None, Wx=None) -> ElmanRNN:
    Wh = np.asarray(Wh, dtype=np.float32)
    H = Wh.shape[0]
    bh = np.zeros(H, np.float32) if bh is None else np.asarray(bh, np.float32)
    Wx = np.zeros((H, 256), np.float32) if Wx is None else np.asarray(Wx, np.float32)
    return ElmanRNN(Wx=Wx, Wh=Wh, bh=bh, Wy=np.zeros((256, H), np.float32), by=np.zeros(256, np.float32))


def tie_model(H, seed) -> ElmanRNN:
    """Small integer weights: many pre-activations are exactly 0 (ties go to +1)."""
    rng = np.random.default_rng(seed)
    return make_model(rng.integers(-1, 2, (H, H)), rng.integers(-1, 2, H), rng.integers(-1, 2, (H, 256)))


def naive_step(model, sem, x):
    return lambda s: naive.bool_step(model.Wx, model.Wh, model.bh, x, s, sem)


# ---- glibc rand -------------------------------------------------------------------------------------

def test_glibc_check_vector():
    assert glibc_rand_values(42, 3) == [71876166, 708592740, 1483128881]


@pytest.mark.parametrize("seed", [0, 1, 42, 12345, 2**31 - 1])
def test_glibc_matches_libc(seed):
    rand = naive.libc_rand_stream(seed)
    ref = [rand() for _ in range(7000)]
    assert glibc_rand_values(seed, 7000) == ref
    g = GlibcRand(seed)
    assert g.bits(64).tolist() == [v & 1 for v in ref[:64]]


# ---- hand-built automata with known cycles ----------------------------------------------------------

@pytest.mark.parametrize("sem", SEMANTICS)
def test_rotation_ring_period_H(sem):
    """s'_i = s_{i-1}: a single +1 rotates with period H, no transient."""
    H = 6
    Wh = np.zeros((H, H))
    for i in range(H):
        Wh[i, (i - 1) % H] = 1.0
    A = SignAutomaton.from_model(make_model(Wh), sem)
    starts = np.stack([from_int(1 << 3, H), from_int(0b010010, H), from_int(0, H), from_int(0b111111, H)])
    r = cyc.find_cycles(A, starts, np.array([[7]]), budget=1000)
    assert r.status.tolist() == [1, 1, 1, 1]
    assert r.lam.tolist() == [6, 3, 1, 1]
    assert r.mu.tolist() == [0, 0, 0, 0]
    assert [to_int(v) for v in r.rep] == [1, 0b001001, 0, 0b111111]


@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("H", [5, 131])
def test_negation_ring_period_2H(sem, H):
    """s'_i = -s_{i-1} with H odd: a state returns after 2H steps (H rotations negate it an odd number of times)."""
    Wh = np.zeros((H, H))
    for i in range(H):
        Wh[i, (i - 1) % H] = -1.0
    A = SignAutomaton.from_model(make_model(Wh), sem)
    r = cyc.find_cycles(A, from_int(1, H)[None, :], np.array([[0]]), budget=1000)
    assert (r.status[0], r.mu[0], r.lam[0]) == (1, 0, 2 * H)
    # the cycle: 1 rotated by k with k ones (k <= H), then its complement pattern; the smallest is 1
    assert to_int(r.rep[0]) == 1


@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("H", [7, 70, 130])
def test_shift_register_transient(sem, H):
    """Neuron 0 is forced +1 by its bias, neuron i copies i-1: from all -1, mu = H, fixed point all +1."""
    Wh = np.zeros((H, H))
    for i in range(1, H):
        Wh[i, i - 1] = 1.0
    bh = np.zeros(H)
    bh[0] = 1.0
    A = SignAutomaton.from_model(make_model(Wh, bh), sem)
    r = cyc.find_cycles(A, from_int(0, H)[None, :], np.array([[200]]), budget=10 * H)
    assert (r.status[0], r.mu[0], r.lam[0], to_int(r.rep[0])) == (1, H, 1, (1 << H) - 1)


def test_budget_hit_is_reported_not_silent():
    H = 6
    Wh = np.zeros((H, H))
    for i in range(H):
        Wh[i, (i - 1) % H] = 1.0
    A = SignAutomaton.from_model(make_model(Wh), "exact")
    r = cyc.find_cycles(A, from_int(1, H)[None, :], np.array([[0]]), budget=4)
    assert r.status[0] == cyc.STATUS_UNRESOLVED and r.mu[0] == -1 and r.lam[0] == -1 and r.rep_hex(0) is None
    s = cyc.summarize(r)
    assert s.unresolved == 1 and s.fraction_unresolved == 1.0 and s.distinct_cycles == 0


# ---- Brent vs brute force vs exhaustive enumeration -------------------------------------------------

@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("H,seed,kind", [(6, 1, "random"), (9, 2, "random"), (8, 3, "ties"), (10, 4, "ties")])
def test_exhaustive_matches_naive(sem, H, seed, kind):
    model = random_model(H, seed) if kind == "random" else tie_model(H, seed)
    A = SignAutomaton.from_model(model, sem)
    x = 65
    ex = cyc.exhaustive_cycles(A, np.array([x]))
    ref, cycle_of = naive.exhaustive_cycles(naive_step(model, sem, x), H)
    assert dict(zip(ex.reps.tolist(), zip(ex.periods.tolist(), ex.basins.tolist()))) == ref
    assert int(ex.basins.sum()) == 1 << H
    assert [int(ex.reps[c]) for c in ex.cycle_of] == [cycle_of[v] for v in range(1 << H)]


@settings(max_examples=12, deadline=None)
@given(H=st.integers(2, 12), seed=st.integers(0, 10**6), x=st.integers(0, 255),
       sem=st.sampled_from(SEMANTICS), ties=st.booleans(), scale=st.sampled_from([0.5, 1.0, 3.0]))
def test_brent_never_false_and_finds_true_cycles(H, seed, x, sem, ties, scale):
    model = tie_model(H, seed) if ties else random_model(H, seed, scale=scale)
    A = SignAutomaton.from_model(model, sem)
    ex = cyc.exhaustive_cycles(A, np.array([x]))
    starts = cyc.random_starts(H, 40, seed)
    r = cyc.find_cycles(A, starts, np.array([[x]]), budget=3 * (1 << H) + 3)
    assert (r.status == 1).all()  # 3 (mu + lam) <= budget always holds here
    for i in range(starts.shape[0]):
        v = to_int(starts[i])
        c = ex.cycle_of[v]
        assert to_int(r.rep[i]) == ex.reps[c] and r.lam[i] == ex.periods[c] and r.mu[i] == ex.depth[v]
    # every true cycle is found from its own representative, with mu = 0
    reps = np.stack([from_int(int(v), H) for v in ex.reps])
    r2 = cyc.find_cycles(A, reps, np.array([[x]]), budget=3 * (1 << H) + 3)
    assert (r2.mu == 0).all() and r2.lam.tolist() == ex.periods.tolist()
    assert [to_int(v) for v in r2.rep] == ex.reps.tolist()


@pytest.mark.parametrize("sem", SEMANTICS)
def test_brent_matches_dict_search_and_budget_guarantee(sem, slicing):
    H = 11
    model = random_model(H, 7)
    A = SignAutomaton.from_model(model, sem)
    starts = cyc.random_starts(H, 30, 3)
    r = cyc.find_cycles(A, starts, np.array([[10], [200]]), budget=10**4)
    for jb in range(r.status.shape[0]):
        i, q = r.job_start[jb], r.job_seq[jb]
        ref = naive.find_cycle_dict(naive_step(model, sem, [10, 200][q]),
                                    naive.int_to_state(to_int(starts[i]), H), 1 << H)
        assert (int(r.mu[jb]), int(r.lam[jb]), to_int(r.rep[jb])) == ref
        # the stated guarantee: budget 3 (mu + lam) always resolves
        rb = cyc.find_cycles(A, starts[i:i + 1], np.array([[[10, 200][q]]]), budget=3 * (ref[0] + ref[1]))
        assert rb.status[0] == 1 and rb.lam[0] == ref[1]


def joint_cycle_naive(model, sem, s0, seq, max_steps):
    """Brute force on (state, phase): exact mu and period in steps; rep = min phase-0 state on the cycle."""
    seen = {}
    s, t = tuple(s0), 0
    L = len(seq)
    hist = []
    while t <= max_steps:
        key = (s, t % L)
        if key in seen:
            mu = seen[key]
            lam = t - mu
            reps = [naive.state_to_int(hist[u]) for u in range(mu, t) if u % L == 0]
            return mu, lam, min(reps)
        seen[key] = t
        hist.append(s)
        s = naive.bool_step(model.Wx, model.Wh, model.bh, int(seq[t % L]), s, sem)
        t += 1
    return None


@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("H,seed,L", [(7, 11, 3), (8, 12, 5), (6, 13, 2)])
def test_periodic_input_exact_transient_and_period(sem, H, seed, L, slicing):
    model = random_model(H, seed)
    A = SignAutomaton.from_model(model, sem)
    rng = np.random.default_rng(seed)
    seq = rng.integers(0, 256, L).astype(np.uint8)
    starts = cyc.random_starts(H, 12, seed)
    r = cyc.find_cycles(A, starts, seq[None, :], budget=10**5)
    ex = cyc.exhaustive_cycles(A, seq)
    for i in range(starts.shape[0]):
        ref = joint_cycle_naive(model, sem, naive.int_to_state(to_int(starts[i]), H), seq, 10**5)
        assert (int(r.mu[i]), int(r.lam[i]), to_int(r.rep[i])) == ref
        assert r.lam[i] % L == 0
        c = ex.cycle_of[to_int(starts[i])]
        assert ex.reps[c] == ref[2] and ex.periods[c] == ref[1]


# ---- paper-compatible search (DEFINITIONS 4.3, 4.4) --------------------------------------------------

@pytest.mark.parametrize("sem", SEMANTICS)
def test_paper_search_matches_literal_program(sem):
    for H, seed in [(16, 5), (6, 9)]:
        model = random_model(H, seed)
        A = SignAutomaton.from_model(model, sem)
        x = 101
        got = paper_attractor_search(A, x, seed=42)
        inits, finals, conv, classes, mean_conv, cstart, period = naive.attractor_search_paper(
            lambda s, b, model=model: naive.bool_step(model.Wx, model.Wh, model.bh, b, s, sem), x, H)
        assert got.trial_starts == [format(naive.state_to_int(s), f"0{(H + 3) // 4}x") for s in inits]
        assert got.converge_steps == conv
        assert [(c.first_trial, c.size) for c in got.classes] == classes
        assert got.mean_convergence == float(mean_conv)
        assert got.cycle_start == format(naive.state_to_int(cstart), f"0{(H + 3) // 4}x")
        assert got.cycle_period == period


def test_paper_search_on_published(published):
    model, xs = published
    A = SignAutomaton.from_model(model, "f32-seq")
    p = paper_attractor_search(A, int(xs[42]), seed=42)
    # Seed 001: "no cycles up to period 100 in 50 random starts" (measured: no fixed point, no cycle <= 100).
    assert p.unique_final_states == 50 and p.fixed_points_reached == 0 and p.cycle_period == 0
    assert p.mean_convergence == 100.0


# ---- determinism across thread counts; CLI contract ------------------------------------------------

def _cli_json(argv, threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    p = subprocess.run([sys.executable, "-m", "satrnn", *map(str, argv)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    d["summary"].pop("seconds")
    d["summary"].pop("steps_per_second")
    return d


def test_identical_results_for_1_and_2_threads(tmp_path):
    path = tmp_path / "m.bin"
    save_model(random_model(40, 3, scale=1.5), path)
    argv = ["cycles", path, "--input", "65", "--input", "7", "--starts", "12", "--seed", "5", "--budget", "30000",
            "--json"]
    a, b = _cli_json(argv, 1), _cli_json(argv, 2)
    assert a == b
    assert a["seed"] == 5 and len(a["results"]) == 24


def test_cli_exhaustive_and_hex_starts(tmp_path, capsys):
    path = tmp_path / "m.bin"
    model = random_model(9, 4)
    save_model(model, path)
    assert main(["cycles", str(path), "--input", "A", "--exhaustive", "--json"]) == 0
    e = json.loads(capsys.readouterr().out)["exhaustive"][0]
    ex = cyc.exhaustive_cycles(SignAutomaton.from_model(model, "exact"), np.array([65]))
    assert e["n_cycles"] == ex.reps.shape[0] and sum(c["basin"] for c in e["cycles"]) == 512
    rep = e["cycles"][0]["rep"]
    assert main(["cycles", str(path), "--input", "65", "--start", rep, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["results"][0]["rep"] == rep and d["results"][0]["transient"] == 0
    assert d["results"][0]["period"] == e["cycles"][0]["period"]


def test_cli_periodic_text_and_trajectory_starts(tmp_path, capsys):
    path, tpath = tmp_path / "m.bin", tmp_path / "t.txt"
    model = random_model(8, 2)
    save_model(model, path)
    tpath.write_bytes(b"abcab")
    assert main(["cycles", str(path), str(tpath), "--periodic-text", "--from-trajectory", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["starts"]["trajectory"] == 5 and d["sequence_length"] == 5
    for r in d["results"]:
        assert r["status"] == "cycle" and r["period"] % 5 == 0


@pytest.mark.parametrize("extra", [
    ["--input", "300"], ["--input", "65", "--start", "zz"], ["--input", "65", "--start", "0123"],
    ["--input", "65", "--budget", "0"], ["--input", "65", "--budget", str(10**20)],
    ["--input", "65", "--starts", "-1"], ["--input", "65", "--exhaustive"], [],
])
def test_cli_bad_input_exit_2(tmp_path, capsys, extra):
    path = tmp_path / "m.bin"
    save_model(random_model(24, 1), path)
    assert main(["cycles", str(path), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satrnn: error:") and len(err.strip().splitlines()) == 1


def test_sigint_exits_130_within_2_s_on_a_huge_budget(tmp_path):
    """Ctrl-C during a Brent search with a budget of 10^13 steps on H = 300: the search runs in slices of
    about 0.1 s, so the process exits 130 within 2 s (issue 19)."""
    from tests.interrupts import interrupt_after
    path = tmp_path / "h300.bin"
    model = random_model(300, 5)
    save_model(model, path)
    A = SignAutomaton.from_model(model, "exact")
    cyc.find_cycles(A, cyc.random_starts(300, 1, 0), np.array([[65]]), budget=100)   # compile / load the cache
    r = interrupt_after(["cycles", path, "--input", "65", "--starts", "1", "--budget", "10000000000000"],
                        4.0)  # imports, tables, and well into the search
    assert r is not None, "the search finished before the signal"
    rc, dt, _ = r
    assert rc == 130 and dt < 2.0, (rc, dt)
