"""CLI conventions: --version, exit codes of verification commands, no stray stderr lines, piped output that
never cuts or splits a word, ranks from 1, repeated identical lines collapsed."""
from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from rich.console import Console

import satrnn
from satrnn.analyses.boolean_figures import TrialClass
from satrnn.cli import main
from satrnn.ledger import claims as C


def _satrnn(*args, env_extra=None, timeout=600):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "satrnn", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"satrnn {satrnn.__version__}"


def test_no_stray_stderr_lines(model_path, text_path):
    """A run through pipes (stderr not a terminal) writes nothing on stderr: rich's progress bars used to leave
    an empty line there on every run."""
    for args in (["eval", model_path, text_path], ["info", model_path]):
        r = _satrnn(*args)
        assert r.returncode == 0 and r.stderr == "", (args, r.stderr)


def test_piped_output_never_cuts_or_splits(model_path, text_path):
    r = _satrnn("verify", model_path, text_path, "--only", "004", env_extra={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout
    lines = r.stdout.splitlines()
    assert any("measured" in ln for ln in lines)                 # the header word is whole
    for c in C.claims_for("004"):                                 # every claim id on one line
        assert any(c.id in ln for ln in lines), c.id


def test_knockout_ranks_start_at_1(published):
    from satrnn.cache import Results
    from satrnn.commands.knockout import KNOCKOUT, NEURONS
    from satrnn.report import render
    results = Results(*published)
    buf = io.StringIO()
    Console(file=buf, width=160, color_system=None).print(render.knockout(results.get(NEURONS), top=3, sign_top=3))
    text = buf.getvalue()
    first = next(ln for ln in text.splitlines() if "h8 " in ln and "0.11" in ln)
    assert first.split("│")[1].strip() == "1", first
    assert f"h{int(results.get(KNOCKOUT).order[0])}" == "h8"


def test_repeated_class_lines_are_collapsed():
    from satrnn.report.render import class_lines
    classes = [TrialClass(first_trial=i, size=1, percent=2.0, state="0") for i in range(50)]
    lines = class_lines(classes)
    assert len(lines) == 1 and lines[0].startswith("50 classes of 1 trial (2%) each")
    mixed = [TrialClass(first_trial=0, size=3, percent=6.0, state="1")] + classes[1:3]
    assert class_lines(mixed) == ["class of trial 0: 3 trials (6%)",
                                  "2 classes of 1 trial (2%) each, first trials 1, 2"]
