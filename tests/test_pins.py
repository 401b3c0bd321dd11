"""Pinned neurons in every sign-automaton kernel, against the literal pinned reference `naive.pinned_step`
(the step of DEFINITIONS 0.6, then every pinned neuron replaced by its value), and `--pin` on the CLI."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.automaton import cascade as cas
from satrnn.automaton import cycles as cyc
from satrnn.automaton import landscape as ls
from satrnn.automaton.bitset import pack, to_int, unpack
from satrnn.automaton.sign import SignAutomaton, parse_pins
from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import random_model, save_model
from test_sign import TIE_KINDS, near_tie_model

SEMANTICS = ("exact", "f32-seq")


def literal_step(model, sem, pins):
    return naive.pinned_step(lambda s, x: naive.bool_step(model.Wx, model.Wh, model.bh, x, s, sem), pins)


def as_pm(words, H):
    return tuple(1 if b else -1 for b in unpack(words, H))


def some_pins(H, seed, n):
    rng = np.random.default_rng(seed)
    js = rng.choice(H, size=min(n, H), replace=False)
    return {int(j): int(v) for j, v in zip(js, rng.choice([-1, 1], size=js.size))}


@pytest.mark.parametrize("sem", SEMANTICS)
@pytest.mark.parametrize("H", [5, 64, 70, 130])
def test_pinned_run_matches_literal(sem, H):
    model = random_model(H, H, scale=2.0)
    pins = some_pins(H, H, max(1, H // 4)) | {0: 1, H - 1: -1}
    A = SignAutomaton.from_model(model, sem, pins=pins)
    rng = np.random.default_rng(H)
    xs = rng.integers(0, 256, 20, dtype=np.uint8)
    b0 = rng.random(H) < 0.5
    traj = A.run(pack(b0), xs)
    step = literal_step(model, sem, pins)
    s = tuple(1 if b else -1 for b in b0)
    for t, x in enumerate(xs):
        s = step(s, int(x))
        assert as_pm(traj[t], H) == s, t
    # the same through run_constant, step, step_rows and trajectory
    assert np.array_equal(A.run_constant(pack(b0), 7, 12, trajectory=True), A.run(pack(b0), np.full(12, 7, np.uint8)))
    assert np.array_equal(A.step(pack(b0), 9), A.run(pack(b0), [9])[0])
    rows = np.repeat(pack(b0)[None, :], 3, axis=0)
    assert np.array_equal(A.step_rows(rows, [1, 2, 3]), np.stack([A.step(pack(b0), x) for x in (1, 2, 3)]))
    assert np.array_equal(cyc.trajectory(A, pack(b0), xs[None, :], 20), traj)


@settings(max_examples=15, deadline=None)
@given(H=st.sampled_from([5, 64, 130]), seed=st.integers(0, 2**32 - 1),
       style=st.sampled_from(["dyadic", "wide", "normal"]),
       kinds=st.lists(st.sampled_from(TIE_KINDS), min_size=1, max_size=6), n_pins=st.integers(1, 6))
def test_pinned_near_ties(H, seed, style, kinds, n_pins):
    """Near-tie models: pinned neurons (tied or not) hold their value, the others follow the references;
    a pinned neuron is never a fallback."""
    model, bits, x, _ = near_tie_model(H, seed, style, kinds)
    pins = some_pins(H, seed % 1000, n_pins)
    for sem in SEMANTICS:
        A = SignAutomaton.from_model(model, sem, pins=pins)
        got = as_pm(A.step(pack(bits), x), H)
        if sem == "f32-seq":
            ref = naive.sign_step_f32_seq(model.Wx, model.Wh, model.bh, bits, x)
        else:
            ref = naive.ExactSignStepper(model.Wx, model.Wh, model.bh).step(bits, x)
        ref = naive.pinned_step(lambda s, _x, ref=ref: tuple(1 if b else -1 for b in ref), pins)(None, x)
        assert got == ref, sem
        slow = SignAutomaton.from_model(model, sem, fast=False, pins=pins)
        assert as_pm(slow.step(pack(bits), x), H) == ref
        assert slow.last_fallbacks == H - len(pins)


@pytest.mark.parametrize("sem", SEMANTICS)
def test_pinned_cycles_exhaustive_and_brent(sem, slicing):
    H = 9
    model = random_model(H, 5, scale=2.0)
    pins = {2: 1, 7: -1}
    A = SignAutomaton.from_model(model, sem, pins=pins)
    x = 65
    F = lambda s: literal_step(model, sem, pins)(s, x)
    # exhaustive: the free-state space (the 2^7 states with neuron 2 at +1 and 7 at -1), as landscape enumerates
    ex = cyc.exhaustive_cycles(A, np.array([x]))
    ref = naive.landscape_reference(F, H, pins)
    assert ex.n_states == len(ref["states"]) == 1 << 7
    rep_full = [to_int(w) for w in ls.free_states(ex.reps, ls.free_neurons(H, pins), ls.pin_words(H, pins)[1])]
    assert rep_full == sorted(ref["cycles"]) and ex.rep_hex() == [format(v, "03x") for v in rep_full]
    assert ex.periods.tolist() == [len(ref["cycles"][r]) for r in rep_full]
    assert ex.basins.tolist() == [ref["basin"][r] for r in rep_full]
    assert [rep_full[c] for c in ex.cycle_of] == [ref["attractor_of"][v] for v in ref["states"]]
    assert ex.depth.tolist() == [ref["height"][v] for v in ref["states"]]
    land = ls.landscape(A, x)
    assert [a.rep for a in land.attractors] == ex.rep_hex() and [a.basin_size for a in land.attractors] == \
        ex.basins.tolist()
    starts = cyc.random_starts(H, 10, 1)
    r = cyc.find_cycles(A, starts, np.array([[x]]), budget=10**4)
    for i in range(starts.shape[0]):
        want = naive.find_cycle_dict(F, naive.int_to_state(to_int(starts[i]), H), 1 << H)
        assert (int(r.mu[i]), int(r.lam[i]), to_int(r.rep[i])) == want


@pytest.mark.parametrize("sem", SEMANTICS)
def test_pinned_cascades(sem, slicing):
    H = 12
    model = random_model(H, 2, scale=2.0)
    pins = {0: -1, 5: 1, 11: 1}
    A = SignAutomaton.from_model(model, sem, pins=pins)
    xs = np.random.default_rng(3).integers(0, 256, 12).astype(np.uint8)
    states = cas.sign_trajectory(A, xs)
    c = cas.flip_cascades(A, states, xs, 3)
    step = literal_step(model, sem, pins)
    for r, t in enumerate(c.t):
        for j in range(H):
            assert c.d[r, j].tolist() == naive.flip_cascade(step, as_pm(states[t], H), xs[t + 1:t + 4], j, 3)


def test_no_pins_is_the_unpinned_automaton():
    model = random_model(20, 1)
    A, B = SignAutomaton.from_model(model, "exact"), SignAutomaton.from_model(model, "exact", pins={})
    assert A.pins == {} and (A.tables.free == np.uint64(2**64 - 1)).all() and (A.tables.pinval == 0).all()
    xs = np.arange(50, dtype=np.uint8)
    assert np.array_equal(A.run(pack(np.ones(20, bool)), xs), B.run(pack(np.ones(20, bool)), xs))
    P = A.with_pins({3: 1})
    assert P.pins == {3: 1} and P.with_pins(None).pins == {}
    assert np.array_equal(P.with_pins(None).run(pack(np.ones(20, bool)), xs), A.run(pack(np.ones(20, bool)), xs))
    assert unpack(P.run(pack(np.zeros(20, bool)), xs), 20)[:, 3].all()


@pytest.mark.parametrize("spec", ["200=+1", "3=+2", "3=+1,3=-1", "x", "3", "-1=+1", "3=+1,,4=-1"])
def test_bad_pin_specs(spec):
    with pytest.raises(SatrnnInputError):
        parse_pins(spec, 130)


def test_pin_spec_forms():
    assert dict(parse_pins("8=+1,56=-1", 128)) == {8: 1, 56: -1}
    assert dict(parse_pins(" 8 = 1 , 9=- ", 128)) == {8: 1, 9: -1}
    assert parse_pins(None, 128) == () and parse_pins("", 128) == ()


# ---- CLI ----------------------------------------------------------------------------------------------

@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.bin"
    save_model(random_model(70, 4, scale=2.0), path)
    (tmp_path / "t.txt").write_bytes(b"the quick brown fox jumps over the lazy dog " * 3)
    return path


def test_cli_pin_sign_cycles_cascade(model_file, capsys):
    assert main(["sign", str(model_file), "--input", "65", "--steps", "30", "--pin", "8=+1,56=-1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    bits = int(d["final"], 16)
    assert (bits >> 8) & 1 == 1 and (bits >> 56) & 1 == 0 and d["pins"] == {"8": 1, "56": -1}
    assert main(["cycles", str(model_file), "--input", "65", "--starts", "3", "--pin", "8=+1,56=-1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for r in d["results"]:
        if r["rep"] is not None:
            assert (int(r["rep"], 16) >> 8) & 1 == 1 and (int(r["rep"], 16) >> 56) & 1 == 0
    text = str(model_file.parent / "t.txt")
    assert main(["cascade", str(model_file), text, "--k", "3", "--pin", "8=+1,56=-1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["pins"] == {"8": 1, "56": -1}


@pytest.mark.parametrize("cmd", [["sign", "--input", "65", "--steps", "5"], ["cycles", "--input", "65"],
                                 ["cascade", "TEXT", "--k", "3"]])
@pytest.mark.parametrize("spec", ["70=+1", "3=+2", "3=+1,3=-1", "abc"])
def test_cli_bad_pin_exit_2(model_file, capsys, cmd, spec):
    cmd = [str(model_file.parent / "t.txt") if c == "TEXT" else c for c in cmd]
    assert main([cmd[0], str(model_file), *cmd[1:], "--pin", spec]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satrnn: error:") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("H,spec", [(10, "3=+1,7=-1"), (130, ",".join(f"{j}={(-1) ** j:+d}" for j in range(120)))])
def test_cli_exhaustive_cycles_and_landscape_enumerate_the_same_free_states(tmp_path, capsys, H, spec):
    """Issue 27 item 4: one pin convention where --exhaustive meets --pin. `cycles --exhaustive --pin`
    enumerated all 2^H states (basins 311 / 713 of 1,024 on a 10-neuron model with 2 pins) while
    `landscape` enumerated the 2^(H - pins) free states (58 / 198 of 256); both now enumerate the free
    states, and report how many neurons are free (also past H = 20 and 64, with enough pins)."""
    path = tmp_path / "m.npz"
    save_model(random_model(H, 3, scale=2.0), path)
    assert main(["cycles", str(path), "--input", "32", "--exhaustive", "--pin", spec, "--json"]) == 0
    c = json.loads(capsys.readouterr().out)["exhaustive"][0]
    assert main(["landscape", str(path), "--input", "32", "--exhaustive", "--pin", spec, "--json"]) == 0
    land = json.loads(capsys.readouterr().out)
    n_pins = spec.count(",") + 1
    assert c["states"] == land["states"] == 1 << (H - n_pins) and c["free_neurons"] == H - n_pins
    assert c["pins"] == land["pins"]
    assert [(x["rep"], x["period"], x["basin"]) for x in c["cycles"]] == \
        [(a["rep"], a["period"], a["basin_size"]) for a in land["attractors"]]
    assert c["max_depth"] == land["max_height"]
    assert main(["cycles", str(path), "--input", "32", "--exhaustive", "--pin", spec]) == 0
    assert f"All {c['states']:,} states ({H - n_pins} free neurons)" in capsys.readouterr().out


def test_cli_exhaustive_cycles_limit_counts_free_neurons(tmp_path, capsys):
    path = tmp_path / "m.npz"
    save_model(random_model(22, 1), path)
    assert main(["cycles", str(path), "--input", "32", "--exhaustive"]) == 2
    assert "at most 20 free neurons" in capsys.readouterr().err
    assert main(["cycles", str(path), "--input", "32", "--exhaustive", "--pin", "0=+1,1=-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["exhaustive"][0]["states"] == 1 << 20
