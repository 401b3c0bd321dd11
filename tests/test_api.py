"""The public Python API (`import satrnn`): typed results equal to the internals they wrap, pinning against a
literal reference, bad input as SatrnnInputError, and a cheap `import satrnn`."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

import satrnn
from satrnn.automaton.bitset import pack, unpack


def small_model(H: int = 10, seed: int = 3):
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)
    return satrnn.ElmanRNN(Wx=f(H, 256), Wh=f(H, H), bh=f(H), Wy=f(256, H), by=f(256))


def test_import_satrnn_is_cheap_and_lists_the_api():
    code = "import sys, satrnn; print('numba' in sys.modules, 'forward' in dir(satrnn))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
    for name in satrnn.__all__:
        assert getattr(satrnn, name) is not None
        assert name == "__version__" or getattr(satrnn, name).__doc__, name
    with pytest.raises(AttributeError):
        satrnn.no_such_name  # noqa: B018 - the attribute access is what must raise


def test_forward_is_the_reference(published, published_forward):
    model, xs = published
    f = satrnn.forward(model, bytes(xs))
    assert dataclasses.is_dataclass(f) and f.bpc == published_forward.bpc
    assert np.array_equal(f.states, published_forward.hs) and f.predictions == xs.shape[0] - 1
    # log_probs are the log-softmax of the logits
    lp = f.logits - f.logits.max(axis=1, keepdims=True)
    lp -= np.log(np.exp(lp).sum(axis=1, keepdims=True))
    assert np.allclose(lp, f.log_probs, atol=1e-9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.bpc = 0.0


def test_model_io_roundtrip(tmp_path):
    m = small_model()
    satrnn.save_model(m, tmp_path / "m.bin")
    back = satrnn.load_model(tmp_path / "m.bin")
    assert all(np.array_equal(getattr(back, n), getattr(m, n)) for n in ("Wx", "Wh", "bh", "Wy", "by"))
    with pytest.raises(satrnn.SatrnnInputError):
        satrnn.forward("not a model", b"ab")
    with pytest.raises(satrnn.SatrnnInputError):
        satrnn.forward(m, [1, 300])


def _naive_pinned_run(model, s_bits, xs, pin):
    """Literal: s_{t+1}[j] = sign(bh + Wx[:, x] + Wh s_t)[j] in float64 (exact for these sizes is not
    needed: the model's margins are large), then pinned neurons forced."""
    Wx, Wh, bh = (np.asarray(a, dtype=np.float64) for a in (model.Wx, model.Wh, model.bh))
    s = np.where(s_bits, 1.0, -1.0)
    for j, v in pin.items():
        s[j] = v
    out = []
    for x in xs:
        z = bh + Wx[:, x] + Wh @ s
        s = np.where(z >= 0, 1.0, -1.0)
        for j, v in pin.items():
            s[j] = v
        out.append(s > 0)
    return np.array(out)


@pytest.mark.parametrize("pin", [{}, {0: 1}, {3: -1, 7: 1}])
def test_sign_automaton_pinning_matches_a_literal_reference(pin):
    m = small_model(H=10)
    rng = np.random.default_rng(0)
    xs = rng.integers(0, 256, 200).astype(np.uint8)
    start = rng.random(10) < 0.5
    A = satrnn.SignAutomaton(m, semantics="exact", pin=pin)
    traj = A.run(pack(start[None, :])[0], xs)
    assert np.array_equal(unpack(traj, 10), _naive_pinned_run(m, start, xs, pin))
    s = A.step(traj[-1], 65)
    assert np.array_equal(A.run_constant(traj[-1], 65, 1), s)
    many = A.run_constant(traj[-1], 65, 20, trajectory=True)
    assert np.array_equal(many[-1], A.run_constant(traj[-1], 65, 20))
    assert A.to_hex(A.from_hex(A.to_hex(s))) == A.to_hex(s)
    for j, v in pin.items():
        assert A.signs(s)[j] == v and all(A.signs(row)[j] == v for row in many)


def test_sign_automaton_bad_input():
    m = small_model(H=10)
    for bad in ({10: 1}, {1: 0}, {-1: 1}, {True: 1}):
        with pytest.raises(satrnn.SatrnnInputError):
            satrnn.SignAutomaton(m, pin=bad)
    with pytest.raises(satrnn.SatrnnInputError):
        satrnn.SignAutomaton(m, semantics="float")
    A = satrnn.SignAutomaton(m)
    with pytest.raises(satrnn.SatrnnInputError):
        A.step("zz", 1)
    with pytest.raises(satrnn.SatrnnInputError):
        A.step("minus", 256)


def test_analyses_are_typed_and_equal_to_the_internals(published):
    from satrnn.analyses.knockout import neuron_knockout
    from satrnn.automaton.iso import check_isomorphism
    model, xs = published
    xs = xs[:300]
    iso = satrnn.check_isomorphism(model, xs)
    ref = check_isomorphism(model, xs)
    assert iso.isomorphic is True and iso.sign_mismatches == ref.sign_mismatches == 0
    ko = satrnn.knockout(model, xs)
    r = neuron_knockout(model, xs)
    assert np.array_equal(ko.order, r.order) and np.array_equal(ko.delta, r.delta)
    c = satrnn.flip_cascades(model, xs, k=4, positions=np.arange(0, 40, 8))
    assert c.distances.shape == (5, model.H, 4) and len(c.mean_by_step) == 4
    d = satrnn.derrida(model, xs, pairs=16, seed=1, ds=[1, 2, 4])
    assert d.d == (1, 2, 4) and d.seed == 1 and d == satrnn.derrida(model, xs, pairs=16, seed=1, ds=[1, 2, 4])
    G = satrnn.coflip_graph(model, xs)
    assert isinstance(G, nx.Graph) and G.number_of_nodes() == model.H
    assert {"flips", "community", "promotes"} <= set(G.nodes[0])
    u, v, e = next(iter(G.edges(data=True)))
    assert {"weight", "coflips"} <= set(e)


def test_the_api_reexports_the_analyses_result_types():
    """One type per result: the API's types are the analyses' own (no conversion, no renamed copy)."""
    from satrnn.analyses.knockout import NeuronKnockout
    from satrnn.automaton import cascade, iso, sign
    from satrnn.ledger.claims import LedgerRecord
    from satrnn.rnn.forward import ForwardResult
    assert satrnn.Forward is ForwardResult and satrnn.IsoVerdict is iso.IsoVerdict
    assert satrnn.Knockout is NeuronKnockout and satrnn.SignAutomaton is sign.SignAutomaton
    assert satrnn.CascadeSummary is cascade.CascadeSummary and satrnn.DerridaCurve is cascade.DerridaCurve
    assert satrnn.LedgerRecord is LedgerRecord


def test_find_cycles_records_and_command(published):
    model, _ = published
    s = satrnn.find_cycles(model, inputs=0x20, starts=1, budget=60_000, seed=0)
    assert s.jobs == 1 and s.resolved == 1
    (c,) = s.cycles
    assert (c.input, c.period) == (0x20, 19168) and c.transient <= 60_000 - c.period
    assert s.command("m.bin") == ("satrnn cycles m.bin --input 0x20 --starts 1 --seed 0 --budget 60000 "
                                  "--semantics exact")


def test_verify_returns_ledger_records(published):
    model, xs = published
    recs = satrnn.verify(model, xs, seed="004")
    assert recs and all(isinstance(r, satrnn.LedgerRecord) for r in recs)
    assert {r.verdict for r in recs} <= {"reproduced", "differs", "not measurable"}
    other = satrnn.verify(small_model(H=6), xs, seed="004")
    assert {r.verdict for r in other} <= {"not applicable", "not measurable"}


def test_landscapes_through_the_api_equal_the_kernels():
    """satrnn.landscape / estimate_landscape are the automaton's landscapes (exact at H = 9; the estimate's
    attractors are among the exact ones and its fractions count every start)."""
    from satrnn.automaton import landscape as ls
    from satrnn.automaton.sign import SignAutomaton as Kernel
    from satrnn.rnn.model import random_model
    m = random_model(9, 3)
    exact = satrnn.landscape(m, 65)
    ref = ls.landscape(Kernel.from_model(m, "exact"), 65)
    assert exact.as_dict() | {"seconds": 0} == ref.as_dict() | {"seconds": 0}
    est = satrnn.estimate_landscape(m, 65, starts=64, budget=10_000, seed=1)
    assert est.unresolved == 0
    reps = {a.rep for a in est.attractors}
    assert reps <= {a.rep for a in exact.attractors}
    assert sum(a.starts for a in est.attractors) == 64
