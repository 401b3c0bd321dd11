"""Figures (`satrnn.figures`, `satrnn figures`): every figure is written, non-empty, labelled, and the same bytes
when made twice; the command writes all of its files or none; matplotlib stays out of command start-up."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from satrnn.cache import Results
from satrnn.cli import main
from satrnn.figures import FORMATS, new_figure, save
from satrnn.figures.catalog import FIGURES, NothingToShow, draw
from satrnn.rnn.model import random_model, save_model

SUBJECT = "random H=16 on a test text"


def _text(n: int = 600, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    words = [b"the ", b"cat ", b"sat ", b"on ", b"a ", b"mat. ", b"<page>", b"</page>\n"]
    out = b"".join(words[i] for i in rng.integers(0, len(words), size=n))
    return np.frombuffer(out[:n], dtype=np.uint8).copy()


@pytest.fixture(scope="module")
def small():
    model, xs = random_model(16, 5, scale=0.6), _text()
    results = Results(model, xs)
    results.source_args = ()
    return model, xs, results


def _labels(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [ax.get_title(loc="left"), ax.get_xlabel(), ax.get_ylabel()]
    return out


@pytest.mark.parametrize("name", list(FIGURES))
def test_each_figure_is_written_labelled_and_reproducible(small, name):
    _, _, results = small
    fig, title = draw(name, results, SUBJECT)
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        if ax.get_title(loc="left"):   # every panel (twin axes share the panel's title)
            assert SUBJECT in ax.get_title(loc="left")
            assert ax.get_xlabel(), (name, "x label")
    assert all(ax.get_ylabel() for ax in fig.axes if ax.get_title(loc="left") and name != "coflip-graph")
    files = {fmt: save(fig, fmt, title) for fmt in FORMATS}
    assert files["svg"].startswith(b"<?xml") and b"<svg" in files["svg"]
    assert files["png"].startswith(b"\x89PNG") and files["pdf"].startswith(b"%PDF")
    assert all(len(b) > 2000 for b in files.values()), {k: len(v) for k, v in files.items()}
    svg = files["svg"].decode()
    # glyphs are paths (no font needed); the text survives as comments and in the metadata title
    assert "<dc:title>" in svg and SUBJECT.split()[0] in svg
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"CreationDate" not in files["pdf"] and b"Software" not in files["png"][:200]
    fig2, _ = draw(name, results, SUBJECT)        # drawn again from the same results: the same bytes
    assert {fmt: save(fig2, fmt, title) for fmt in FORMATS} == files
    assert save(fig, "svg", title) == files["svg"]   # and saving twice does not move anything


def test_nothing_to_show_is_a_reason_not_an_empty_plot(small):
    model, xs, _ = small
    from satrnn.analyses.cycle_survey import survey
    from satrnn.commands.cycles import CYCLE_SURVEY
    results = Results(model, xs)
    results.put(CYCLE_SURVEY, survey(model, [0x20], starts=1, budget=1))   # closes nothing
    results.memo("known_cycles", lambda: (None, []))
    with pytest.raises(NothingToShow, match="no cycle"):
        draw("cycles", results, SUBJECT)


def test_figures_command_writes_every_file_once(small, tmp_path, capsys):
    model, xs, _ = small
    mp, tp = tmp_path / "m.npz", tmp_path / "t.txt"
    save_model(model, mp)
    tp.write_bytes(xs.tobytes())
    out = tmp_path / "figs"
    assert main(["figures", str(mp), str(tp), "--out", str(out), "--format", "svg,png,pdf", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = [d["name"] for d in doc["figures"]] + [s["name"] for s in doc["skipped"]]
    assert sorted(names) == sorted(FIGURES)
    for s in doc["skipped"]:
        assert s["reason"]
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{d['name']}.{f}" for d in doc["figures"] for f in ("svg", "png", "pdf"))
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["figures", str(mp), str(tp), "--out", str(out), "--format", "svg,png,pdf", "--json"]) == 0
    capsys.readouterr()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first   # same inputs, same bytes


def test_figures_command_refuses_before_writing(small, tmp_path, capsys):
    model, xs, _ = small
    mp, tp = tmp_path / "m.npz", tmp_path / "t.txt"
    save_model(model, mp)
    tp.write_bytes(xs.tobytes())
    out = tmp_path / "figs"
    out.mkdir()
    (out / "knockout.svg").mkdir()          # something that is not a file in the way of one output
    assert main(["figures", str(mp), str(tp), "--out", str(out)]) == 2
    assert "knockout.svg" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["knockout.svg"]    # nothing else written
    assert main(["figures", str(mp), str(tp), "--out", str(tmp_path / "no" / "such")]) == 2
    assert main(["figures", str(mp), str(tp), "--out", str(tp)]) == 2                 # a file, not a folder
    assert main(["figures", str(mp), str(tp), "--out", str(out), "--format", "gif"]) == 2
    assert main(["figures", str(mp), str(tp), "--out", str(out), "--only", "nope"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len([ln for ln in err.splitlines() if ln.strip()]) == 4
    assert not (tmp_path / "no").exists()


def test_matplotlib_is_not_loaded_at_start_up():
    code = ("import sys; from satrnn.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert r.stdout.strip() == "[]"


def test_plot_functions_make_their_own_axes():
    from satrnn.figures import plots
    ax = plots.dwell_times(np.array([0, 50, 20, 5, 1]), subject=SUBJECT)
    assert ax.get_title(loc="left").endswith(SUBJECT) and ax.get_xlabel()
    fig, (ax2,) = new_figure()
    assert plots.dwell_times(np.array([0, 5, 2]), ax=ax2) is ax2


def test_unit_figure_hooks_draw_their_results(small):
    """The analysis units' figure hooks (`Analysis.figure`) draw the unit's cached result on a given Axes."""
    from satrnn.ledger.claims import NotAvailable
    from satrnn.rnn.errors import SatrnnInputError
    from satrnn.unit import units
    _, _, results = small
    drawn = []
    for name, u in units().items():
        if u.figure is None:
            continue
        try:
            r = results.get(u)
        except (NotAvailable, SatrnnInputError):
            continue
        fig, (ax,) = new_figure()
        assert u.figure(r, ax) is ax
        assert ax.get_title(loc="left") and ax.get_xlabel(), name
        drawn.append(name)
    assert {"knockout", "neurons", "saturation", "cascades", "landscape"} <= set(drawn)


def test_results_plot_themselves_through_the_api():
    """`.plot(ax=None)` on the API's typed results: a new labelled Axes, or the given one; a result type
    without a figure says so; importing the API does not load matplotlib."""
    code = ("import sys, satrnn; satrnn.knockout; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert r.stdout.strip() == "[]"
    import satrnn
    model, xs = random_model(16, 5, scale=0.6), _text(300)
    ko = satrnn.knockout(model, xs)
    ax = ko.plot()
    assert "knockout" in ax.get_title(loc="left").lower() and ax.get_xlabel()
    fig, (ax2,) = new_figure()
    assert ko.plot(ax=ax2) is ax2 and ax2.get_title(loc="left")
    curve = satrnn.derrida(model, xs, pairs=20, ds=[1, 2, 4], seed=0)
    assert "Derrida" in curve.plot().get_title(loc="left")
    land = satrnn.landscape(model, int(xs[0]))
    assert land.plot().get_xlabel()
    with pytest.raises(TypeError, match="has no figure"):
        satrnn.check_isomorphism(model, xs).plot()
