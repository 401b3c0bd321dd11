"""Batched flip re-runs (DEFINITIONS 0.7-0.8) and q2_offsets (DEFINITIONS 6) against literal references."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.analyses.offsets import (
    dominant_offsets,
    flip,
    flip_column_check,
    parse_int_list,
    perturbed_states,
    q2_offsets,
)
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward, run_states
from satrnn.rnn.model import random_model


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def reference_rerun(model, xs, hs, t, p, byte=None):
    """R(t, p) through the public reference forward: run_states(xs[p:t+1] with x_p replaced, h0 = h_{p-1})."""
    seq = np.array(xs[p:t + 1], dtype=np.uint8)
    seq[0] = flip(int(seq[0])) if byte is None else byte
    out, _ = run_states(model, seq, h0=None if p == 0 else hs[p - 1])
    return out[-1]


def run_cmd(argv):
    from satrnn.cli import _Parser
    from satrnn.commands import offsets as cmd
    parser = _Parser(prog="satrnn")
    cmd.COMMAND.add_to(parser.add_subparsers(parser_class=_Parser))
    args = parser.parse_args(argv)
    return args.func(args)


def test_flip_is_xor_0x80():
    assert flip(0) == 128 and flip(127) == 255 and flip(200) == 72
    assert all(flip(x) == (x + 128) % 256 for x in range(256))


def test_perturbed_states_bit_identical_published(published, published_forward):
    model, xs = published
    hs = published_forward.hs
    ts = np.array([0, 5, 42, 42, 42, 500, 500, 1022, 1022, 300])
    ps = np.array([0, 0, 42, 41, 12, 480, 490, 1022, 1000, 300])
    out = perturbed_states(model, xs, hs, ts, ps)
    for k in range(len(ts)):
        assert np.array_equal(bits(out[k]), bits(reference_rerun(model, xs, hs, ts[k], ps[k]))), k


@pytest.mark.parametrize("H,seed", [(7, 1), (200, 2), (1, 3)])
def test_perturbed_states_random_models_and_literal(H, seed):
    """Against run_states for H != 128, and against the pure-Python float32 + glibc tanhf reference."""
    model = random_model(H, seed)
    rng = np.random.default_rng(seed)
    xs = rng.integers(0, 256, 50, dtype=np.uint8)
    hs = forward(model, xs).hs
    ts = rng.integers(0, 50, 40)
    ps = np.array([rng.integers(0, t + 1) for t in ts])
    out = perturbed_states(model, xs, hs, ts, ps)
    for k in range(len(ts)):
        assert np.array_equal(bits(out[k]), bits(reference_rerun(model, xs, hs, ts[k], ps[k])))
    for k in range(3):
        lit = naive.flip_rerun(model.Wx, model.Wh, model.bh, xs, hs, int(ts[k]), int(ps[k]))
        assert np.array_equal(bits(out[k]), bits(lit))


def test_perturbed_states_replacement_and_errors():
    model = random_model(5, 4)
    xs = np.arange(20, dtype=np.uint8)
    hs = forward(model, xs).hs
    out = perturbed_states(model, xs, hs, [10, 10], [3, 3], replacement=[7, 200])
    assert np.array_equal(bits(out[0]), bits(reference_rerun(model, xs, hs, 10, 3, byte=7)))
    assert np.array_equal(bits(out[1]), bits(reference_rerun(model, xs, hs, 10, 3, byte=200)))
    with pytest.raises(SatrnnInputError):
        perturbed_states(model, xs, hs, [3], [4])
    with pytest.raises(SatrnnInputError):
        perturbed_states(model, xs, hs, [20], [1])
    assert perturbed_states(model, xs, hs, [], []).shape == (0, 5)


def test_dominant_offset_tie_rule_by_hand():
    N = np.array([[0, 0, 0], [2, 3, 3], [1, 0, 1], [0, 0, 4]])
    assert dominant_offsets(N).tolist() == [1, 2, 1, 3]


@pytest.mark.parametrize("variant,shift", [("paper", 0), ("corrected", 1)])
def test_q2_matches_literal(variant, shift):
    model = random_model(6, 11)
    rng = np.random.default_rng(3)
    xs = rng.choice(np.frombuffer(b"abcde <>/xyz", np.uint8), 90)
    positions, D = [4, 20, 45, 70, 88, 89], 8
    r = q2_offsets(model, xs, positions=positions, max_depth=D, variant=variant)
    ref = naive.q2_offsets(model.Wx, model.Wh, model.bh, model.Wy, model.by, xs, positions, D, shift)
    assert r.positions == [4, 20, 45, 70, 88]            # t < n-1 kept
    assert r.N.tolist() == ref["N"]
    assert r.S.tolist() == ref["S"]
    assert [nr.dom_offset for nr in r.neurons] == ref["dom"]
    assert [h.count for h in r.offset_histogram] == ref["hist"]
    assert [p.pairs for p in r.depth_profile] == ref["runs"]
    for p, ms, kl in zip(r.depth_profile, ref["mean_sign_changes"], ref["mean_kl"]):
        assert p.mean_sign_changes == ms
        assert abs(p.mean_output_kl_bits - kl) < 1e-9
    assert abs(r.mi_greedy.total_percent - ref["mi_greedy_total"]) < 1e-9
    assert abs(r.factor_map_pair.total_percent - ref["fm_total"]) < 1e-9


def test_q2_published_measured(published, published_forward):
    """Values measured on the published weights (paper convention), pinned so regressions show."""
    model, xs = published
    r = q2_offsets(model, xs, hs=published_forward.hs)
    assert len(r.positions) == 13 and all(p.pairs == 13 for p in r.depth_profile)
    counts = [h.count for h in r.offset_histogram]
    assert sum(counts) == 128
    assert r.histogram_peak.as_dict() == {"d": 14, "count": 19, "percent": 100 * 19 / 128}
    assert sum(counts[17:25]) == 30
    assert round(r.mi_greedy.total_percent, 2) == 10.32
    assert round(r.factor_map_pair.total_percent, 2) == 4.78
    fc = flip_column_check(model, xs)
    assert fc.flipped_bytes_occurring_in_text == 0 and fc.all_bytes_below_0x80
    assert fc.mean_wx_norm_flipped_absent < 0.1 * fc.mean_wx_norm_occurring
    rc = q2_offsets(model, xs, hs=published_forward.hs, variant="corrected")
    # corrected depth d equals paper depth d - 1: the profiles are shifted by one
    assert rc.S[1:].tolist() == r.S[:-1].tolist()


def test_q2_input_errors():
    model = random_model(4, 0)
    xs = np.arange(30, dtype=np.uint8)
    with pytest.raises(SatrnnInputError):
        q2_offsets(model, xs)                               # no paper position < 29
    with pytest.raises(SatrnnInputError):
        q2_offsets(model, xs, positions=[5], variant="other")
    with pytest.raises(SatrnnInputError):
        parse_int_list("--positions", "1,x")


def test_cli_offsets_json(model_path, text_path, capsys):
    assert run_cmd(["offsets", str(model_path), str(text_path), "--json", "--variant", "corrected"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["variant"] == "corrected" and len(out["offset_histogram"]) == 30
    # the seeds' Q2 claims, judged by the ledger next to the command's output
    assert {c["measurement"].split("(")[0] for c in out["claims"]} == \
        {"offset_hist_pct", "offset_mode", "mi_greedy_pct"}
    assert all(c["verdict"] in ("reproduced", "differs", "not measurable") for c in out["claims"])
    assert "deep_offsets_18_25_percent" in out


def test_cli_offsets_table_and_errors(model_path, text_path, capsys):
    assert run_cmd(["offsets", str(model_path), str(text_path), "--max-depth", "5", "--positions", "42,100"]) == 0
    assert "Depth profile" in capsys.readouterr().out
    with pytest.raises(SatrnnInputError):
        run_cmd(["offsets", str(model_path), str(text_path), "--max-depth", "0"])
    with pytest.raises(SatrnnInputError):
        run_cmd(["offsets", str(model_path), str(text_path), "--positions", "5000"])


def test_perturbed_states_shared_starts_and_thread_count():
    """Pairs sharing a start p share one trajectory; results are identical for 1 and 2 threads."""
    import numba
    model = random_model(9, 6)
    xs = np.random.default_rng(6).integers(0, 256, 80, dtype=np.uint8)
    hs = forward(model, xs).hs
    ts = np.array([70, 40, 79, 40, 55, 12, 12])
    ps = np.array([40, 40, 40, 12, 40, 12, 0])
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = perturbed_states(model, xs, hs, ts, ps)
        numba.set_num_threads(before)
        many = perturbed_states(model, xs, hs, ts, ps)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(bits(one), bits(many))
    for k in range(len(ts)):
        assert np.array_equal(bits(many[k]), bits(reference_rerun(model, xs, hs, ts[k], ps[k])))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=5, max_size=5), min_size=1, max_size=6))
def test_dominant_offsets_property(rows):
    """Against the literal strict '>' scan upward from a best of 0 (default d = 1)."""
    N = np.array(rows)
    for j, row in enumerate(rows):
        best, bd = 0, 1
        for d in range(1, 6):
            if row[d - 1] > best:
                best, bd = row[d - 1], d
        assert dominant_offsets(N)[j] == bd
