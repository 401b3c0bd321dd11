"""The default model: bundled corpus, shipped weights that retraining reproduces bit for bit, the recipe
reaches < 0.2 bpc, cache reuse / staleness / damage, concurrent first use, cache-directory resolution, and
commands run with no MODEL/TEXT end to end."""
import json
import os
import subprocess
import sys
import time
from importlib import resources

import numpy as np
import pytest

import satrnn.rnn.default as default_mod
from satrnn.cli import main
from satrnn.rnn.default import (
    DEFAULT_RECIPE,
    MODEL_FILE,
    build_model,
    bundled_model_resource,
    cache_dir,
    check_bundled,
    check_cached,
    default_corpus,
    weights_digest,
)
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.forward import forward
from satrnn.rnn.model import load_model, save_model
from satrnn.rnn.train import Recipe

TINY = Recipe(H=8, epochs=3, bptt=25, lr=0.01, schedule="cosine", clip=1.0, seed=1)


@pytest.fixture(scope="module")
def default_home(tmp_path_factory):
    """An empty cache directory and the default model as a fresh install gets it (the shipped weights)."""
    d = tmp_path_factory.mktemp("satrnn_home")
    t0 = time.perf_counter()
    model, info = build_model(directory=d)
    return d, model, info, time.perf_counter() - t0


@pytest.mark.slow
def test_shipped_weights_are_what_the_recipe_trains(tmp_path):
    """Retraining with DEFAULT_RECIPE on the bundled corpus reproduces the shipped file bit for bit
    (about 12 s of training on one core); afterwards the rebuilt cache is what build_model returns."""
    shipped, reason = check_bundled(DEFAULT_RECIPE, default_corpus())
    assert shipped is not None, f"the shipped default model is not valid for the current recipe: {reason}"
    assert shipped.meta["weights_sha256"] == weights_digest(shipped)
    retrained, info = build_model(directory=tmp_path, rebuild=True)
    assert info.status == "trained"
    assert retrained.equal_bits(shipped), "retraining no longer reproduces rnn/data/default_model.npz"
    assert retrained.meta["weights_sha256"] == shipped.meta["weights_sha256"]
    assert retrained.meta["bpc_f32"] == shipped.meta["bpc_f32"]
    again, info = build_model(directory=tmp_path)
    assert info.status == "cached" and again.equal_bits(shipped)


def _env(home):
    return dict(os.environ, SATRNN_HOME=str(home))


def test_bundled_corpus():
    xs = default_corpus()
    assert xs.dtype == np.uint8 and 900 <= len(xs) <= 1100
    assert bytes(xs[:10]) == b"<mediawiki"
    raw = resources.files("satrnn.rnn.data").joinpath("default_corpus.txt").read_bytes()
    assert raw == bytes(xs)
    assert max(raw) < 0x80                     # plain ASCII, like the papers' data


def test_default_recipe_memorises_its_corpus(default_home):
    d, model, info, seconds = default_home
    assert info.status == "bundled" and info.path == str(bundled_model_resource())
    assert model.H == 128
    bpc = forward(model, default_corpus()).bpc
    assert bpc < 0.2
    assert model.meta["bpc_f32"] == pytest.approx(bpc, abs=0)
    assert model.meta["recipe"] == DEFAULT_RECIPE.to_dict()
    assert not (d / MODEL_FILE).exists()          # nothing trained, nothing written
    print(f"default model: {bpc:.4f} bpc, loaded in {seconds:.2f} s")


def test_stale_cache_falls_back_to_the_shipped_model(default_home, tmp_path, monkeypatch):
    _, model, _, _ = default_home

    def boom(*a, **k):
        raise AssertionError("must not train: the shipped model is valid")
    monkeypatch.setattr(default_mod, "train", boom)
    (tmp_path / MODEL_FILE).write_bytes(b"PK garbage")
    m, info = build_model(directory=tmp_path)
    assert info.status == "bundled" and m.equal_bits(model)


def test_default_recipe_is_the_papers_shape():
    r = DEFAULT_RECIPE
    assert (r.H, r.bptt, r.seed, r.optimizer) == (128, 50, 42, "adam")


def test_cache_is_reused(default_home, monkeypatch):
    d, model, _, _ = default_home

    def boom(*a, **k):
        raise AssertionError("must not train: the cache is valid")
    monkeypatch.setattr(default_mod, "train", boom)
    again, info = build_model(directory=d)
    assert info.status == "bundled" and again.equal_bits(model)
    monkeypatch.setenv("SATRNN_HOME", str(d))
    m, xs = default_mod.default_model_and_text()
    assert m.equal_bits(model) and np.array_equal(xs, default_corpus())


def test_stale_damaged_and_rebuilt_caches_are_retrained(tmp_path):
    m1, info = build_model(recipe=TINY, directory=tmp_path)
    assert info.status == "trained"
    m2, info = build_model(recipe=TINY, directory=tmp_path)
    assert info.status == "cached" and m2.equal_bits(m1)
    # another recipe: the cache is stale
    other = Recipe(**{**TINY.to_dict(), "epochs": 4})
    _, reason = check_cached(tmp_path / MODEL_FILE, other, default_corpus())
    assert "stale" in reason
    m3, info = build_model(recipe=other, directory=tmp_path)
    assert info.status == "trained" and "stale" in info.reason and not m3.equal_bits(m1)
    # another corpus: stale too
    _, reason = check_cached(tmp_path / MODEL_FILE, other, default_corpus()[:-1])
    assert "text_sha256" in reason
    # edited weights with the old meta: damaged
    path = tmp_path / MODEL_FILE
    cur = load_model(path)
    Wh = cur.Wh.copy()
    Wh[0, 0] += 1.0
    save_model(cur.replace(Wh=Wh), path)
    _, reason = check_cached(path, other, default_corpus())
    assert "damaged" in reason
    m4, info = build_model(recipe=other, directory=tmp_path)
    assert info.status == "trained" and m4.equal_bits(m3)      # deterministic retraining
    # garbage file: unreadable
    path.write_bytes(b"PK garbage")
    _, reason = check_cached(path, other, default_corpus())
    assert "unreadable" in reason
    m5, info = build_model(recipe=other, directory=tmp_path)
    assert info.status == "trained" and m5.equal_bits(m3)
    assert m5.meta["weights_sha256"] == weights_digest(m5)
    # rebuild retrains even when valid
    _, info = build_model(recipe=other, directory=tmp_path, rebuild=True)
    assert info.status == "trained" and info.reason == "rebuild requested"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


_CONCURRENT = """
import sys
from satrnn.rnn.default import build_model
from satrnn.rnn.train import Recipe
m, info = build_model(recipe=Recipe(H=48, epochs=30, bptt=25, lr=0.01, seed=2), directory=sys.argv[1])
print(info.status, m.meta["weights_sha256"])
"""


def test_concurrent_first_use(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(out.split())
    assert sorted(o[0] for o in outs) == ["cached", "trained"]   # the lock makes the second one wait and reuse
    assert outs[0][1] == outs[1][1]
    assert load_model(tmp_path / MODEL_FILE).meta["weights_sha256"] == outs[0][1]


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("SATRNN_HOME", str(tmp_path / "h"))
    assert cache_dir() == tmp_path / "h"
    monkeypatch.delenv("SATRNN_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "satrnn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "satrnn"


def test_unusable_cache_dir_is_one_line_error(tmp_path, monkeypatch):
    f = tmp_path / "a-file"
    f.write_text("x")
    with pytest.raises(SatrnnInputError, match="SATRNN_HOME"):
        build_model(recipe=TINY, directory=f / "sub")
    # the shipped default model needs no cache directory at all; rebuilding it does
    monkeypatch.setenv("SATRNN_HOME", str(f / "sub"))
    p = subprocess.run([sys.executable, "-m", "satrnn", "eval", "--json"], capture_output=True, text=True,
                       env=dict(os.environ))
    assert p.returncode == 0, p.stderr
    p = subprocess.run([sys.executable, "-m", "satrnn", "default", "--rebuild"], capture_output=True, text=True,
                       env=dict(os.environ))
    assert p.returncode == 2 and "SATRNN_HOME" in p.stderr and "Traceback" not in p.stderr


def test_eval_and_info_without_model_use_the_default(default_home):
    d, model, _, _ = default_home
    p = subprocess.run([sys.executable, "-m", "satrnn", "eval", "--json"], capture_output=True, text=True,
                       env=_env(d))
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["bpc"] == pytest.approx(model.meta["bpc_f32"], abs=0) and doc["bytes"] == len(default_corpus())
    p = subprocess.run([sys.executable, "-m", "satrnn", "info", "--json"], capture_output=True, text=True,
                       env=_env(d))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["H"] == 128


def test_default_command(default_home, capsys, monkeypatch):
    d, model, _, _ = default_home
    monkeypatch.setenv("SATRNN_HOME", str(d))
    assert main(["default", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "bundled" and doc["cache_before"] == "no cached model"
    assert doc["path"] == str(bundled_model_resource()) and doc["cache_path"] == str(d / MODEL_FILE)
    assert doc["bpc"] < 0.2 and doc["seed"] == 42
    assert doc["recipe"]["epochs"] == DEFAULT_RECIPE.epochs
    assert main(["default"]) == 0
    assert "bpc" in capsys.readouterr().out


def test_default_command_rebuild(tmp_path, monkeypatch, capsys):
    # --rebuild on an empty directory with a tiny recipe patched in: trains, then reports it
    monkeypatch.setattr(default_mod, "DEFAULT_RECIPE", TINY)
    import satrnn.commands.default as cmd
    monkeypatch.setattr(cmd, "DEFAULT_RECIPE", TINY)
    monkeypatch.setattr(cmd, "build_model", lambda progress_factory, rebuild: build_model(
        progress_factory, recipe=TINY, directory=tmp_path, rebuild=rebuild))
    monkeypatch.setenv("SATRNN_HOME", str(tmp_path))
    assert main(["default", "--rebuild", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "trained" and doc["recipe"]["H"] == 8 and doc["H"] == 8
