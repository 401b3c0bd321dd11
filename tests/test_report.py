"""`satrnn report`: every section renders (80 and 160 columns), JSON is complete, SVG is well-formed."""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

from satrnn.cli import main
from satrnn.clikit import to_json
from satrnn.report.render import bars, fmt
from satrnn.report.sections import SECTIONS, build_report


@pytest.fixture(scope="module")
def report(published):
    model, xs = published
    return build_report(model, xs, show_progress=False)


def _render(rends, width: int, record: bool = False) -> tuple[str, Console]:
    buf = io.StringIO()
    con = Console(file=buf, width=width, record=record, color_system=None)
    for r in rends:
        con.print(r)
    return buf.getvalue(), con


def test_every_section_is_computed_or_says_why(report):
    rends, data = report
    assert list(data) == list(SECTIONS) and len(rends) == len(SECTIONS)
    for name, d in data.items():
        # every analysis module has landed; a crash would say "section failed: ..."
        assert d["available"], (name, d.get("reason"))
    json.loads(to_json(data))  # all numbers are JSON-able


@pytest.mark.parametrize("width", [80, 160])
def test_report_renders_at_width(report, width):
    rends, _ = report
    text, _ = _render(rends, width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    for title in (sec.title for sec in SECTIONS.values()):
        assert title[:20] in text.replace("\n", " ") or title.split()[0] in text
    assert "section failed" not in text
    assert "reproduced" in text and "differs" in text  # the ledger summary


def test_svg_and_html_exports_are_well_formed(report):
    rends, _ = report
    _, con = _render(rends[:2], 100, record=True)
    svg = con.export_svg(title="satrnn report", clear=False)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    html = con.export_html(clear=False)
    assert "<html" in html.lower() and "Model summary" in html


def test_model_section_numbers(report, published_forward):
    _, data = report
    assert data["model"]["bpc"] == published_forward.bpc
    assert data["model"]["summary"]["params"] == 82_304
    assert data["reference"]["iso"]["isomorphic"] is True


def test_sections_name_their_analysis_and_renderer():
    for name, sec in SECTIONS.items():
        assert sec.title and callable(sec.build) and sec.analysis and sec.renderer, name
    assert SECTIONS["margins"].renderer == "satrnn.report.render.margins"


@pytest.mark.parametrize("command,section,lines", [
    ("margins", "margins", ("Margin histogram (decades)", "Neurons with the smallest mean margin", "Smallest margins")),
    ("margins", "sign", ("Sign-only dynamics driven by the text", "unique sign vectors")),
    ("saturation", "saturation", ("Neurons by sign flips over", "classes by flip count (paper)",
                                  "Global dwell-time distribution")),
    ("coflip", "coflip", ("co-flipping pairs over", "Communities (size >= 2)", "Hubs (by summed Jaccard)")),
    ("knockout", "knockout", ("Single-neuron readout knockout (Wy column zeroed)", "ties in the ranking:",
                              "Cumulative removal (top k columns zeroed)", "Per-neuron sign-only readout")),
    ("cascade", "cascades", ("float trajectory", "one-step cascade d_1: mean", "Top input bytes x_{t+1}",
                             "most contagious neurons", "steps: died")),
    ("attribution", "attribution", ("Sparse differentiation", "Backward norm growth", "Per-offset attribution")),
    ("sparsity", "attribution", ("Q1 sparsity", "Sparsity Distribution", "Depth Profile")),
])
def test_command_and_report_share_one_renderer(report, model_path, text_path, capsys, command, section, lines):
    """A command prints what the report's section for the same analysis shows (one renderer per analysis)."""
    rends, _ = report
    i = list(SECTIONS).index(section)
    text, _ = _render([rends[i]], 120)
    assert SECTIONS[section].renderer.startswith("satrnn.report.render.")
    assert main([command, str(model_path), str(text_path)]) == 0
    out = capsys.readouterr().out
    for line in lines:
        assert line in out and line in text, line


def test_cycles_command_and_report_section_share_one_renderer(report, model_path, text_path, capsys):
    """The cycles section prints the command that repeats its search; that command prints the same cycles
    table (same cycles, period and rep) through the same renderer."""
    import shlex
    rends, data = report
    text, _ = _render([rends[list(SECTIONS).index("cycles")]], 200)
    assert SECTIONS["cycles"].renderer == "satrnn.report.render.cycles"
    args = shlex.split(data["cycles"]["command"])[2:]
    assert args[:2] == ["MODEL", "TEXT"]
    assert main(["cycles", str(model_path), str(text_path)] + args[2:]) == 0
    out = capsys.readouterr().out
    assert "searches, budget" in out and "searches, budget" in text
    for c in data["cycles"]["cycles"][:3]:
        assert c["smallest_state"][:8] in out and c["smallest_state"][:8] in text
    if data["cycles"]["cycles"]:
        assert "Cycles (rep = smallest state on the cycle" in out and "Cycles (rep = smallest state" in text


def test_bars_and_fmt_helpers():
    buf = io.StringIO()
    Console(file=buf, width=60, color_system=None).print(bars([("a", 2.0), ("b", -1.0), ("c", 0.0)], width=10,
                                                             title="G[d]"))
    out = buf.getvalue()
    assert "G[d]" in out and "██████████" in out
    assert fmt(None) == "—" and fmt(True) == "yes" and fmt(12345) == "12,345" and fmt([1, 2]) == "[1, 2]"


def test_cli_sections_outputs_and_errors(model_path, text_path, tmp_path, capsys):
    j, s, h = tmp_path / "r.json", tmp_path / "r.svg", tmp_path / "r.html"
    rc = main(["report", str(model_path), str(text_path), "--sections", "model,reference",
               "--json", str(j), "--svg", str(s), "--html", str(h)])
    assert rc == 0
    doc = json.loads(j.read_text())
    assert set(doc["sections"]) == {"model", "reference"}
    ET.fromstring(s.read_text())
    assert "Float32 reference" in h.read_text()
    capsys.readouterr()
    s.unlink()
    rc = main(["report", str(model_path), str(text_path), "--sections", "model", "--json", "--svg", str(s)])
    assert rc == 0
    assert set(json.loads(capsys.readouterr().out)["sections"]) == {"model"}  # stdout holds only the JSON
    assert "Model" in s.read_text() and ET.fromstring(s.read_text()) is not None
    assert main(["report", str(model_path), str(text_path), "--sections", "model,nonsense"]) == 2
    assert "unknown section" in capsys.readouterr().err
    assert main(["report", str(model_path), str(text_path), "--svg", str(tmp_path / "missing" / "r.svg")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ledger_tables_print_values_literally():
    """Measured lists such as ['/', 't'] or '[bold]' text must never be read as rich markup."""
    from satrnn.ledger.claims import SEEDS, LedgerRecord, summarize
    from satrnn.report.render import ledger_renderables
    rec = LedgerRecord(id="s004.x", seed=SEEDS["004"], section="s", statement="[/b] statement",
                       paper_value="'/' 'i'", measured=["/", "t", "i"], definition="d", verdict="differs",
                       difference=None, tolerance="exact", precision=None, reason=None, note="[/, t] [bold]x",
                       table=None, row=None, measurement=None)
    for width in (80, 160):
        buf = io.StringIO()
        con = Console(file=buf, width=width, color_system=None)
        for r in ledger_renderables([rec], summarize([rec])):
            con.print(r)
        out = buf.getvalue()
        assert "[/," in out and "[bold]" in out
        if width >= 120:  # statements are shown only on wide consoles
            assert "[/b] statement" in out


def test_background_sections_are_marked_and_run_in_report_order(report):
    """The kernel searches run on the background lane; the report keeps its section order."""
    rends, data = report
    assert list(data) == list(SECTIONS)
    bg = [n for n, s in SECTIONS.items() if s.background]
    assert set(bg) == {"cycles", "landscape"}
    assert all(data[n].get("background") is True for n in bg)
    assert not any(data[n].get("background") for n in SECTIONS if n not in bg)


def test_run_jobs_stops_when_cancelled_from_another_thread():
    """slices.cancelled_by: run_jobs on a background thread (where SIGINT never arrives) stops after its
    current slices and raises KeyboardInterrupt once the event is set."""
    import threading
    import time

    from satrnn.automaton import slices

    ev, out = threading.Event(), {}

    def endless(j, limit):
        time.sleep(0.005)
        return False, limit

    def lane(threads):
        try:
            with slices.cancelled_by(ev):
                slices.run_jobs(4, endless, threads=threads)
            out[threads] = "finished"
        except KeyboardInterrupt:
            out[threads] = time.monotonic()

    for threads in (1, 2):
        ev.clear()
        t = threading.Thread(target=lane, args=(threads,))
        t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        ev.set()
        t.join(5)
        assert not t.is_alive() and isinstance(out[threads], float) and out[threads] - t0 < 0.5, out
    # the event belongs to the block: afterwards run_jobs runs normally
    done = []
    slices.run_jobs(3, lambda j, limit: (done.append(j) or True, 1), threads=1)
    assert sorted(done) == [0, 1, 2]


def test_sigint_during_the_report_exits_130_promptly(report, model_path, text_path):
    """Ctrl-C while the background lane searches cycles: exit 130 within 2 s (1 s on an idle machine), no
    traceback, no thread left running."""
    from tests.interrupts import interrupt_after
    # after imports and the first sections; the cycle search runs from the start of the report
    r = interrupt_after(["report", model_path, text_path], 2.0)
    assert r is not None, "the report finished before the signal"
    rc, dt, err = r
    assert rc == 130 and dt < 2.0, (rc, dt, err)
    assert "Traceback" not in err
