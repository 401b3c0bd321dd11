"""`satrnn um` export and `satrnn iso` end to end (JSON keys, exit codes, pattern files)."""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from satrnn.automaton import um
from satrnn.cli import main
from satrnn.rnn.model import random_model, save_model


def run_cli(*argv):
    p = subprocess.run([sys.executable, "-m", "satrnn", *map(str, argv)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def small(tmp_path):
    """A small random model (with a -0.0 weight) and text on disk."""
    m = random_model(5, 21)
    Wh = np.array(m.Wh)
    Wh[0, 0] = -0.0
    m = m.replace(Wh=Wh)
    mp, tp = tmp_path / "m.npz", tmp_path / "t.txt"
    save_model(m, mp)
    tp.write_bytes(b"hello, world. hello again")
    return m, mp, tp


def test_iso_json_keys_published(model_path, text_path, capsys):
    assert main(["iso", str(model_path), str(text_path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for k in ("isomorphic", "sign_mismatches", "max_abs_diff", "bpc_rnn", "bpc_um", "pattern_counts"):
        assert k in d
    assert d["isomorphic"] is True and d["sign_mismatches"] == 0 and d["max_abs_diff"] == 0.0
    assert d["bpc_um"] == d["bpc_rnn"] and round(d["bpc_rnn"], 4) == 0.0792
    assert d["pattern_counts"]["total"] == 44794


@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz"])
def test_um_export_roundtrips_weights(small, tmp_path, suffix, capsys):
    m, mp, _ = small
    out = tmp_path / f"p{suffix}"
    assert main(["um", str(mp), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_selected"] == m.n_params
    if suffix == ".npz":
        t = um.PatternTable.load_npz(out)
    else:
        if suffix == ".csv":
            with open(out) as f:
                rows = list(csv.DictReader(f))
        else:
            rows = json.loads(out.read_text())["patterns"]
        t = um.PatternTable(m.H, **{c: np.array([float(r[c]) if c == "strength" else int(r[c]) for r in rows])
                                   for c in ("src_space", "src_event", "dst_space", "dst_event", "strength", "sign")},
                            cls=np.array([um.CLASS_CODES[r["class"]] for r in rows]))
        w = np.array([float(r["weight"]) for r in rows], np.float32)
        assert np.array_equal(w.view(np.uint32), t.weights().view(np.uint32))
    assert t.to_rnn().equal_bits(m)          # including the -0.0


def test_um_filters_and_counts(small, tmp_path, capsys):
    m, mp, _ = small
    out = tmp_path / "wh.csv"
    assert main(["um", str(mp), "--out", str(out), "--class", "Wh", "--min-strength", "0.5", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["n_selected"] == int((np.abs(m.Wh) > np.float32(0.5)).sum())
    assert d["counts_all"]["Wh"] == 25 and d["counts_selected"]["Wh"] == d["n_selected"]
    assert main(["um", str(mp), "--neuron", "1", "--byte", "A", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["n_selected"] == 2                    # Wx[1, 'A'] and Wy['A', 1]


def test_iso_strict_and_corrupted_pattern_file(small, tmp_path, capsys):
    _, mp, tp = small
    good = tmp_path / "good.npz"
    assert main(["um", str(mp), "--out", str(good)]) == 0
    capsys.readouterr()
    assert main(["iso", str(mp), str(tp), "--patterns", str(good), "--strict", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["isomorphic"] is True
    t = um.PatternTable.load_npz(good)
    i = int(np.flatnonzero(t.cls == um.C_WX)[104])          # Wx[0, 104 = 'h'], the first byte of the text
    bad = tmp_path / "bad.npz"
    np.savez(bad, **t.with_pattern(i, sign=-int(t.sign[i]), strength=float(t.strength[i]) + 1).npz_payload())
    # a failed check exits 1, with the verdict and its evidence still printed (here as JSON)
    assert main(["iso", str(mp), str(tp), "--patterns", str(bad), "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["isomorphic"] is False and d["first_disagreement"]["t"] == 0 and d["first_disagreement"]["neuron"] == 0
    assert main(["iso", str(mp), str(tp), "--patterns", str(bad), "--strict"]) == 1
    capsys.readouterr()
    assert main(["iso", str(mp), str(tp), "--precision", "f64", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["precision"] == "f64" and d["isomorphic"] is True and d["states_bit_identical"] is True


@pytest.mark.parametrize("argv", [
    ["um", "{m}", "--out", "{d}/p.txt"],
    ["um", "{m}", "--out", "{d}/missing/p.csv"],
    ["um", "{m}", "--neuron", "5"],
    ["um", "{m}", "--byte", "0x100"],
    ["um", "{m}", "--min-strength", "nan"],
    ["iso", "{m}", "{t}", "--patterns", "{d}/p.csv"],
    ["iso", "{m}", "{t}", "--patterns", "{d}/nope.npz"],
])
def test_bad_input_exits_2_with_one_line(small, tmp_path, argv):
    _, mp, tp = small
    args = [a.format(m=mp, t=tp, d=tmp_path) for a in argv]
    rc, out, err = run_cli(*args)
    assert rc == 2, (rc, out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("satrnn: error:") and "Traceback" not in err
