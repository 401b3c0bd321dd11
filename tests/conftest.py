"""Shared fixtures: the published weights and text, located via SATRNN_DATA or ../shared/data.

If SATRNN_DATA is set (as CI does) the data is required and a missing file is an error, not a skip.
Otherwise tests that need the data skip with a reason when it is absent.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
MODEL_NAME = "sat_model.bin"
TEXT_NAME = "enwik_1024.txt"


def _data_dir() -> tuple[Path, bool]:
    env = os.environ.get("SATRNN_DATA")
    if env:
        return Path(env).resolve(), True
    return (REPO.parent / "shared" / "data").resolve(), False


# A shell starts background jobs (`cmd &`, nohup) with SIGINT ignored, and an ignored signal stays ignored in
# every child: then no satrnn subprocess could see the Ctrl-C the interrupt tests send. Catching it here
# (Python's default handler) lets children start with the default disposition again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d, required = _data_dir()
    missing = [n for n in (MODEL_NAME, TEXT_NAME) if not (d / n).is_file()]
    if missing:
        msg = f"published data missing in {d}: {', '.join(missing)}"
        if required:
            pytest.fail(msg + " (SATRNN_DATA is set, so the data is required)")
        pytest.skip(msg + " (set SATRNN_DATA to run these tests)")
    return d


@pytest.fixture(scope="session")
def model_path(data_dir) -> Path:
    return data_dir / MODEL_NAME


@pytest.fixture(scope="session")
def text_path(data_dir) -> Path:
    return data_dir / TEXT_NAME


@pytest.fixture(scope="session")
def published(model_path, text_path):
    """(model, text bytes) of the papers."""
    from satrnn.rnn.model import load_model
    from satrnn.rnn.text import load_text
    return load_model(model_path), load_text(text_path)


@pytest.fixture(scope="session")
def published_forward(published):
    """The float32 reference forward on the published model and text (computed once per session)."""
    from satrnn.rnn.forward import forward
    model, xs = published
    return forward(model, xs)


@pytest.fixture(scope="session", autouse=True)
def isolated_satrnn_home(tmp_path_factory):
    """Keep the default-model cache of the whole test session out of the user's home: one shared
    directory, so the default model is trained at most once per run (subprocesses inherit it)."""
    old = os.environ.get("SATRNN_HOME")
    os.environ["SATRNN_HOME"] = str(tmp_path_factory.mktemp("satrnn_home"))
    yield
    if old is None:
        os.environ.pop("SATRNN_HOME", None)
    else:
        os.environ["SATRNN_HOME"] = old


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=["whole", "tiny"])
def slicing(request, monkeypatch):
    """The kernels' slicing (automaton/slices.py) at both extremes; results must not depend on it.

    "whole": every job runs in one kernel call (no work limit); "tiny": every call stops after its first
    step, row, flip run step or byte (work limit 1, a slice target of ~0) and every job holds as little as
    possible, so each job is stopped and resumed at every point."""
    from satrnn.automaton import cascade, redux, sign, slices
    if request.param == "whole":
        monkeypatch.setattr(slices, "FIRST_SLICE_WORK", sign.NO_LIMIT)
        monkeypatch.setattr(slices, "SLICE_SECONDS", 1e9)
    else:
        monkeypatch.setattr(slices, "FIRST_SLICE_WORK", 1)
        monkeypatch.setattr(slices, "SLICE_SECONDS", 1e-12)
        monkeypatch.setattr(slices, "BLOCK_WORK", 1)
        monkeypatch.setattr(cascade, "CASCADE_WORK", 1)
        monkeypatch.setattr(redux, "READOUT_WORK", 1)
    return request.param
