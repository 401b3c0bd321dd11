"""rnn.train and `satrnn train`: same updates as the plain numpy trainer, determinism (also across thread
counts), bit-identical resume, memorisation, checkpoints, .bin output, one-line errors."""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import naive
from satrnn.cli import main
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.model import load_model, to_flat
from satrnn.rnn.train import Recipe, init_params, load_checkpoint, save_checkpoint, train

TEXT = b"<page><title>tiny</title><text>abc abd abe</text></page>\n"
XS = np.frombuffer(TEXT, np.uint8)


def _small(**kw):
    base = dict(H=6, epochs=4, bptt=7, lr=0.01, seed=3)
    base.update(kw)
    return Recipe(**base)


@pytest.mark.parametrize("kw", [
    dict(optimizer="adam", schedule="cosine", clip=0.5, lr_min=0.001),
    dict(optimizer="adam", schedule="constant", clip=0.0),
    dict(optimizer="sgd", schedule="cosine", clip=1.0, lr=0.5),
    dict(optimizer="sgd", schedule="constant", bptt=100, lr=0.3),       # one chunk per epoch
    dict(optimizer="adam", schedule="cosine", bptt=1, epochs=2),        # one prediction per chunk
])
def test_matches_numpy_trainer(kw):
    r = _small(**kw)
    res = train(XS, r)
    p0 = init_params(r.H, r.seed)
    want, hist = naive.train_numpy(XS, p0, r.H, r.epochs, r.bptt, r.lr, r.optimizer, r.schedule, r.lr_min,
                                   r.clip, r.beta1, r.beta2, r.eps)
    np.testing.assert_allclose(res.state.params, want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.state.history, hist, rtol=1e-10)
    assert res.state.step == r.epochs * -(-(len(XS) - 1) // r.bptt)
    # the model is the float32 rounding of the master weights
    assert np.array_equal(to_flat(res.model), want.astype(np.float32))


def test_float32_training_close_to_float64():
    a = train(XS, _small(precision="f64"))
    b = train(XS, _small(precision="f32"))
    assert b.state.params.dtype == np.float32
    np.testing.assert_allclose(b.state.params, a.state.params, atol=1e-4)


def test_deterministic_for_a_seed():
    a = train(XS, _small(epochs=3))
    b = train(XS, _small(epochs=3))
    c = train(XS, _small(epochs=3, seed=4))
    assert a.model.equal_bits(b.model) and a.bpc == b.bpc
    assert not a.model.equal_bits(c.model)


_SNIPPET = """
import hashlib, numpy as np
from satrnn.rnn.train import Recipe, train
from satrnn.rnn.model import to_flat
xs = np.frombuffer({text!r}, np.uint8)
r = train(xs, Recipe(H=12, epochs=3, bptt=9, lr=0.01, schedule="cosine", clip=1.0, seed=5))
print(hashlib.sha256(to_flat(r.model).tobytes()).hexdigest(), r.bpc.hex())
"""


def test_identical_for_any_thread_count():
    outs = set()
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        p = subprocess.run([sys.executable, "-c", _SNIPPET.format(text=TEXT)], capture_output=True, text=True,
                           env=env, check=True)
        outs.add(p.stdout.strip())
    assert len(outs) == 1, outs


def test_memorises_a_short_text():
    r = train(XS, Recipe(H=24, epochs=200, bptt=20, lr=0.02, schedule="cosine", clip=1.0, seed=0))
    assert r.bpc < 0.2
    assert r.state.history[-1] < r.state.history[0] / 5
    assert r.model.meta["bpc_f32"] == r.bpc


def test_resume_is_bit_identical(tmp_path):
    r = _small(epochs=6, schedule="cosine", clip=0.5)
    full = train(XS, r)
    ck = tmp_path / "ck.npz"
    part = train(XS, r, checkpoint=ck, checkpoint_every=2, stop_after_epoch=3)
    assert part.state.epoch == 3
    st = load_checkpoint(ck)
    assert st.epoch == 3 and st.step == part.state.step
    done = train(XS, resume=st)
    assert done.model.equal_bits(full.model)
    np.testing.assert_array_equal(done.state.params, full.state.params)
    np.testing.assert_array_equal(done.state.m, full.state.m)
    assert done.state.history == full.state.history
    # a checkpoint is also a model file
    m = load_model(ck)
    assert m.H == 6 and m.meta["kind"] == "satrnn-train-checkpoint"


def test_checkpoint_errors(tmp_path):
    r = train(XS, _small(epochs=1))
    plain = tmp_path / "m.npz"
    r.model.save(plain)
    with pytest.raises(SatrnnInputError, match="not a training checkpoint"):
        load_checkpoint(plain)
    ck = tmp_path / "ck.npz"
    save_checkpoint(r.state, ck)
    with pytest.raises(SatrnnInputError, match="text differs"):
        train(XS[:-1], resume=load_checkpoint(ck))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK not really")
    with pytest.raises(SatrnnInputError):
        load_checkpoint(junk)
    with pytest.raises(SatrnnInputError):
        load_checkpoint(tmp_path / "missing.npz")


@pytest.mark.parametrize("kw,msg", [
    (dict(H=0), "--hidden"), (dict(epochs=0), "--epochs"), (dict(bptt=0), "--bptt"), (dict(lr=0.0), "--lr"),
    (dict(lr=float("nan")), "--lr"), (dict(clip=-1.0), "--clip"), (dict(lr_min=1.0, lr=0.1), "--lr-min"),
    (dict(optimizer="rmsprop"), "--optimizer"), (dict(schedule="step"), "--schedule"),
    (dict(precision="f16"), "--precision"), (dict(seed=-1), "--seed"),
])
def test_recipe_validation(kw, msg):
    with pytest.raises(SatrnnInputError, match=msg):
        train(XS, Recipe(**kw))


def test_text_too_short():
    with pytest.raises(SatrnnInputError):
        train(XS[:1], _small())


# ---- CLI ---------------------------------------------------------------------------------------------

def run_cli(*argv, env=None):
    p = subprocess.run([sys.executable, "-m", "satrnn", *map(str, argv)], capture_output=True, text=True,
                       env=env)
    return p.returncode, p.stdout, p.stderr


def _one_line_error(rc, out, err):
    assert rc == 2, (rc, out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("satrnn: error:"), err


def test_cli_train_json_bin_and_resume(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_bytes(TEXT)
    out, binp, ck = tmp_path / "m.npz", tmp_path / "m.bin", tmp_path / "ck.npz"
    args = ["train", text, "--out", out, "--hidden", 5, "--epochs", 4, "--bptt", 8, "--lr", 0.02, "--seed", 9,
            "--clip", 1, "--bin", binp, "--checkpoint", ck, "--checkpoint-every", 2, "--json"]
    assert main(list(map(str, args))) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["seed"] == 9 and doc["epochs"] == 4 and doc["recipe"]["H"] == 5 and doc["recipe"]["bptt"] == 8
    m = load_model(out)
    assert load_model(binp).equal_bits(m)
    assert doc["bpc"] == pytest.approx(m.meta["bpc_f32"])
    assert m.meta["recipe"]["lr"] == 0.02 and m.meta["epoch"] == 4
    # interrupted run (API) then CLI resume == uninterrupted CLI run
    r = Recipe(**{k: v for k, v in doc["recipe"].items()})
    train(XS, r, checkpoint=tmp_path / "half.npz", checkpoint_every=1, stop_after_epoch=2)
    out2 = tmp_path / "m2.npz"
    assert main(["train", str(text), "--out", str(out2), "--resume", str(tmp_path / "half.npz"), "--json"]) == 0
    doc2 = json.loads(capsys.readouterr().out)
    assert doc2["resumed_from_epoch"] == 2
    assert load_model(out2).equal_bits(m)


def test_cli_train_default_corpus_table(tmp_path, capsys):
    out = tmp_path / "d.npz"
    assert main(["train", "--out", str(out), "--hidden", "3", "--epochs", "1", "--max-bytes", "100"]) == 0
    text = capsys.readouterr().out
    assert "bundled default corpus" in text and "bpc" in text
    assert load_model(out).meta["text_sha256"] == hashlib.sha256(
        __import__("satrnn.rnn.default", fromlist=["x"]).default_corpus()[:100].tobytes()).hexdigest()


@pytest.mark.parametrize("extra", [
    ["--epochs", "0"], ["--hidden", "0"], ["--lr", "-1"], ["--lr", "nan"], ["--bptt", "0"], ["--clip", "-2"],
    ["--optimizer", "lbfgs"], ["--seed", "-5"], ["--checkpoint-every", "0"],
    ["--out", "/nonexistent-dir/m.npz"], ["--out", "m.txt"], ["--bin", "m.npz"],
    ["--checkpoint", "/nonexistent-dir/ck.npz"], ["--resume", "/nonexistent/ck.npz"],
])
def test_cli_bad_values_exit_2(tmp_path, extra, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = tmp_path / "t.txt"
    text.write_bytes(TEXT)
    argv = ["train", str(text), "--out", str(tmp_path / "m.npz"), *extra]
    if "--out" in extra:
        argv = ["train", str(text), *extra]
    rc = main(argv)
    cap = capsys.readouterr()
    _one_line_error(rc, cap.out, cap.err)
    assert not (tmp_path / "m.npz").exists()


def test_cli_resume_refuses_recipe_options(tmp_path):
    ck = tmp_path / "ck.npz"
    train(XS, _small(epochs=2), checkpoint=ck, stop_after_epoch=1)
    text = tmp_path / "t.txt"
    text.write_bytes(TEXT)
    _one_line_error(*run_cli("train", text, "--out", tmp_path / "m.npz", "--resume", ck, "--lr", "0.1"))
    _one_line_error(*run_cli("train", tmp_path / "missing.txt", "--out", tmp_path / "m.npz"))
