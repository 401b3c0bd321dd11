"""q4 saturation / flips / dwell times against the literal loops of tests/naive.py."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.analyses.saturation import flip_class, printed_positions, saturation_report
from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.rnn.model import random_model


class _FR:
    """A stand-in ForwardResult carrying only hs (rows 0..n-1; the report uses rows 0..n-2)."""

    def __init__(self, hs):
        self.hs = np.asarray(hs, dtype=np.float32)


def _check_against_naive(hs_all):
    rep = saturation_report(None, None, forward_result=_FR(hs_all))
    ref = naive.saturation(hs_all[:-1])
    for key in ("mean_abs_h", "min_abs_h", "pct_sat"):
        assert np.array_equal(np.asarray(getattr(rep, key), np.float32).view(np.uint32),
                              np.asarray(ref[key], np.float32).view(np.uint32)), key
    for key in ("sat_steps", "flips", "dwell_mode", "n_sat", "n_flip"):
        assert list(getattr(rep, key)) == list(ref[key]), key
    assert list(rep.dwell_hist) == ref["dwell_hist"]
    assert np.array_equal(rep.min_abs, np.array(ref["min_abs"], np.float32))
    return rep


def test_published_matches_naive(published_forward):
    rep = _check_against_naive(published_forward.hs)
    assert rep.steps == 1023
    # measured on the published weights: every neuron is volatile (> 50 flips)
    assert rep.class_counts == {"frozen": 0, "settled": 0, "active": 0, "volatile": 128}
    assert int(rep.flips.min()) > 50


@settings(max_examples=25, deadline=None)
@given(H=st.integers(1, 6), m=st.integers(2, 260), seed=st.integers(0, 10**6))
def test_random_sign_patterns_match_naive(H, m, seed):
    """Long frozen stretches (dwells >= 100), exact zeros and -0.0, values at the threshold."""
    rng = np.random.default_rng(seed)
    choices = np.array([0.999, -0.999, 0.0, -0.0, 0.5, -0.5, 0.99899995, 1.0, -1.0], np.float32)
    hs = choices[rng.integers(0, len(choices), (m, H))]
    hold = rng.random(m) < 0.9  # repeat the previous row mostly, to create long dwells
    for t in range(1, m):
        if hold[t]:
            hs[t] = hs[t - 1]
    _check_against_naive(hs)


def test_dwell_quirks_and_corrected_mean():
    # one neuron flipping at t = 1, 150, 152: dwells 149 (dropped by the paper) and 2
    m = 200
    h = np.ones((m + 1, 1), np.float32)
    h[1:150] = -1.0
    h[152:] = -1.0
    rep = saturation_report(None, None, forward_result=_FR(h))
    assert int(rep.flips[0]) == 3
    assert rep.dropped_dwells == 1 and rep.recorded_dwells == 1
    assert rep.mean_dwell == 2.0 and rep.mean_dwell_all == (149 + 2) / 2
    assert rep.dwell_mode[0] == 2 and rep.longest_dwell[0] == 149
    assert rep.first_open_run[0] == 1 and rep.last_open_run[0] == m - 152


def test_signed_zero_is_positive():
    h = np.array([[-0.0], [0.0], [-0.0], [-1e-30]], np.float32)
    rep = saturation_report(None, None, forward_result=_FR(np.vstack([h, h[-1:]])))
    assert list(rep.n_flip) == [0, 0, 0, 1]


def test_flip_classes():
    assert [flip_class(n) for n in (0, 1, 5, 6, 50, 51)] == ["frozen", "settled", "settled", "active", "active",
                                                              "volatile"]
    assert printed_positions(1023)[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15]
    assert printed_positions(1023)[-1] == 1022


def test_random_model_end_to_end():
    model = random_model(8, 2)
    xs = np.random.default_rng(1).integers(0, 256, 120, dtype=np.uint8)
    rep = saturation_report(model, xs)
    _check_against_naive(forward(model, xs).hs)
    assert rep.total_flips == int(rep.n_flip.sum())


def test_cli_saturation(model_path, text_path, capsys):
    assert main(["saturation", str(model_path), str(text_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["class_counts"]["volatile"] == 128 and len(out["flips"]) == 128
    rows = {r["t"]: r for r in out["printed_positions"]}
    assert rows[0]["n_flip"] == 0 and rows[1022]["n_flip"] == len(rows[1022]["flipped"])
    assert main(["saturation", str(model_path), str(text_path), "--threshold", "2"]) == 2
    assert main(["saturation", str(model_path), str(text_path), "--top", "5", "--positions"]) == 0
    text = capsys.readouterr().out
    assert "dwell" in text and "Per position" in text


def test_bad_threshold(published_forward):
    with pytest.raises(SatrnnInputError, match="threshold must be in"):
        saturation_report(None, None, forward_result=published_forward, threshold=0.0)
