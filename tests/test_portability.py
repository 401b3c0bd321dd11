"""The same bits on every host: golden hashes of satrnn's own arithmetic and of the published weights'
trajectory, the RNN-UM isomorphism under both tanh semantics. CI runs this file (and the default-model
rebuild) a second time inside a Debian 13 root (glibc 2.41, correctly rounded libm): .ci/cross_host.sh."""
from __future__ import annotations

import hashlib

import pytest

import golden
from satrnn.rnn.forward import forward


def test_elementary_functions_match_the_golden_hashes():
    got = golden.compute()
    bad = {k: v for k, v in got.items() if golden.GOLDEN.get(k) != v}
    assert not bad, f"this host's bits differ from the golden ones for {sorted(bad)}"
    assert set(got) == set(golden.GOLDEN)


@pytest.mark.parametrize("tanh", ["fdlibm", "cr"])
def test_published_states_and_bpc_match_the_golden_hashes(published, tanh):
    model, xs = published
    f = forward(model, xs, tanh=tanh)
    assert hashlib.sha256(f.hs.tobytes()).hexdigest() == golden.PUBLISHED_STATES[tanh]
    assert f.bpc == golden.PUBLISHED_BPC[tanh] and f.tanh == tanh
    assert forward(model.with_tanh(tanh), xs).bpc == f.bpc          # the model carries the choice


def test_published_f64_states_match_the_golden_hash(published):
    model, xs = published
    f = forward(model, xs, precision="f64")
    assert hashlib.sha256(f.hs.tobytes()).hexdigest() == golden.PUBLISHED_STATES_F64


@pytest.mark.parametrize("tanh", ["fdlibm", "cr"])
def test_um_is_isomorphic_under_both_semantics(published, tanh):
    from satrnn.automaton.iso import check_isomorphism
    model, xs = published
    r = check_isomorphism(model, xs, tanh=tanh)
    assert r["isomorphic"] and r["states_bit_identical"] and r["tanh"] == tanh
    assert r["bpc_um"] == r["bpc_rnn"] == golden.PUBLISHED_BPC[tanh]


def test_cli_tanh_choice_recorded_and_unknown_refused(model_path, text_path, capsys):
    import json
    import subprocess
    import sys

    from satrnn.cli import main
    capsys.readouterr()
    assert main(["eval", str(model_path), str(text_path), "--tanh", "cr", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["tanh"] == "cr" and doc["bpc"] == golden.PUBLISHED_BPC["cr"]
    assert main(["iso", str(model_path), str(text_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["tanh"] == "fdlibm" and doc["isomorphic"]
    p = subprocess.run([sys.executable, "-m", "satrnn", "eval", str(model_path), str(text_path), "--tanh", "libm"],
                       capture_output=True, text=True, timeout=300)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1 and "--tanh" in lines[0] and "libm" in lines[0], p.stderr
