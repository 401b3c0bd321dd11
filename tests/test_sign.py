"""The packed sign automaton against the literal references in tests/naive.py (both semantics)."""
import numpy as np
import pytest

import naive
from automaton import bitset
from automaton.sign import SignAutomaton, _run_packed, _step_packed
from rnn.errors import SatrnnInputError
from rnn.model import random_model


def ref_step(model, semantics):
    if semantics == "f32-seq":
        return lambda b, x: naive.sign_step_f32_seq(model.Wx, model.Wh, model.bh, b, x)
    stepper = naive.ExactSignStepper(model.Wx, model.Wh, model.bh)
    return stepper.step


@pytest.mark.parametrize("semantics", ["exact", "f32-seq"])
def test_published_text_trajectory(published, semantics):
    """The q1_boolean run (start all -1, driven by the text) against the literal reference."""
    model, xs = published
    aut = SignAutomaton.from_model(model, semantics)
    traj = aut.run(bitset.all_minus(model.H), xs)
    ref = naive.sign_run(ref_step(model, semantics), np.zeros(model.H, bool), xs)
    assert np.array_equal(traj, bitset.pack(ref))
    assert aut.neuron_steps == model.H * len(xs)


@pytest.mark.parametrize("H", [5, 64, 128, 130])
@pytest.mark.parametrize("semantics", ["exact", "f32-seq"])
def test_random_models(H, semantics):
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


def test_step_kernel_and_run_constant(published):
    model, xs = published
    aut = SignAutomaton.from_model(model, "f32-seq")
    s = bitset.all_plus(model.H)
    out = np.empty_like(s)
    _step_packed(aut.tables, s, np.int64(65), out)
    assert np.array_equal(out, aut.step(s, 65))
    traj = aut.run_constant(s, 65, 50, trajectory=True)
    assert np.array_equal(traj, aut.run(s, np.full(50, 65, np.uint8)))
    assert np.array_equal(aut.run_constant(s, 65, 50), traj[-1])
    assert np.array_equal(aut.run_constant(s, 65, 0), s)


def test_input_validation():
    aut = SignAutomaton.from_model(random_model(5, 0))
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
