"""The default model's precomputed cycles (`satrnn.report.known_cycles`): made for the shipped weights, each
re-verified by stepping one period, shown by the report's cycle and landscape sections with the commands that
reproduce them; the default-model report shows at least one cycle and never `nan`."""
from __future__ import annotations

import dataclasses
import io
import json
import re
import shlex

import pytest
from rich.console import Console

from satrnn.automaton.sign import SignAutomaton
from satrnn.cli import build_parser, main
from satrnn.report.known_cycles import load_known, verify_cycle, weights_sha256
from satrnn.report.sections import build_report
from satrnn.rnn.default import default_model_and_text


@pytest.fixture(scope="module")
def default():
    return default_model_and_text()


@pytest.fixture(scope="module")
def known(default):
    k = load_known(default[0])
    assert k is not None, ("satrnn/report/default_cycles.json was not made for the shipped default model: run "
                           "python scripts/precompute_default_cycles.py after retraining it")
    return k


def test_known_cycles_belong_to_the_shipped_default_model(default, known):
    assert known.weights_sha256 == weights_sha256(default[0]) == default[0].meta["weights_sha256"]
    assert known.cycles, "the precomputed searches closed no cycle"
    for s in known.searches:          # each search is a command the CLI accepts as printed
        args = shlex.split(s.command)
        assert args[0] == "satrnn"
        build_parser().parse_args(args[1:])
        assert s.jobs >= s.resolved >= 0 and s.total_steps > 0


def test_every_known_cycle_verifies_and_a_wrong_one_does_not(default, known):
    A = SignAutomaton.from_model(default[0], "exact")
    for c in known.distinct():
        v = verify_cycle(A, c)
        assert v.ok, (c, v.problem)
    c = known.cycles[0]
    assert not verify_cycle(A, dataclasses.replace(c, period=c.period - 1)).ok
    assert "returned after" in verify_cycle(A, dataclasses.replace(c, period=2 * c.period)).problem
    other = format(int(c.smallest_state, 16) ^ 1, f"0{len(c.smallest_state)}x")
    assert not verify_cycle(A, dataclasses.replace(c, smallest_state=other)).ok


def test_known_cycles_are_not_used_for_other_weights(published):
    assert load_known(published[0]) is None


def test_default_model_report_shows_cycles_and_no_nan(default, known, capsys):
    model, xs = default
    rends, data = build_report(model, xs, sections=["cycles", "landscape"], show_progress=False, source_args=())
    cyc, land = data["cycles"], data["landscape"]
    assert not cyc["failed"] and not land["failed"]
    verified = [c for c in cyc["known"]["cycles"] if c["verified"]]
    assert len(cyc["cycles"]) + len(verified) >= 1
    assert len(verified) == len(known.distinct())
    buf = io.StringIO()
    con = Console(file=buf, width=160, color_system=None)
    for r in rends:
        con.print(r)
    text = buf.getvalue()
    assert not re.search(r"\bnan\b", text, flags=re.I), "a NaN is printed"
    assert "re-verified" in text and known.cycles[0].smallest_state in text
    for s in known.searches:
        assert s.command in text.replace("│\n│", " ") or s.command.split(" --")[0] in text
    if not land["n_attractors"]:   # nothing found here: said plainly, with no empty table (tables below are the
        live = text.split("Attractor landscape")[1].split("Precomputed landscape")[0]   # precomputed ones)
        assert "no start closed a cycle" in live and "Attractors (basin fraction" not in live
        assert land["known"]["landscapes"], "the precomputed landscapes are shown"
    # the section's own command runs as printed (the default model: no MODEL) and gives the section's result
    cmd = shlex.split(land["command"])
    assert cmd[:2] == ["satrnn", "landscape"] and "MODEL" not in cmd
    assert main(cmd[1:] + ["--json", "--sensitivity-samples", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["n_attractors"], out["unresolved"], out["steps"]) == (land["n_attractors"], land["unresolved"],
                                                                      land["steps"])


def test_default_model_figures_show_the_known_cycles(default, known):
    from satrnn.cache import Results
    from satrnn.figures.catalog import draw
    results = Results(*default)
    results.source_args = ()
    fig, _ = draw("cycles", results, "the default model")
    assert len(fig.axes[0].collections) >= len(known.distinct())  # one marker per cycle (legend proxies add more)
    fig, _ = draw("basins", results, "the default model")                # the precomputed landscape when none here
    assert "attractor" in fig.axes[0].get_title(loc="left")
