"""`satrnn explore`: the data model against the analysis functions, exact pinning against literal references,
and the Textual app driven headlessly with run_test()/Pilot (every view, a neuron, the threshold, a pin, a
cancelled search), plus the CLI's non-interactive paths."""
from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from satrnn.automaton.bitset import all_minus, pack, to_signs, unpack
from satrnn.automaton.sign import SignAutomaton
from satrnn.explore import data as ed
from satrnn.rnn.forward import readout_costs, sequential_mean
from satrnn.rnn.model import ElmanRNN, random_model

textual = pytest.importorskip("textual")

# after the importorskip: the app needs the [explore] extra
from satrnn.explore.app import ExploreApp, NeuronScreen, neuron_cells, wait_until  # noqa: E402


@pytest.fixture(scope="module")
def data(published):
    model, xs = published
    d = ed.compute(model, xs, "published", "exact", 0)
    ed.first_cycles(d)
    return d


# ---- pinning is exact ---------------------------------------------------------------------------------

def _int_model(H, seed):
    """Integer (and -0.0) weights: pre-activations are exact small integers, so ties at 0 are frequent."""
    rng = np.random.default_rng(seed)
    Wh = rng.integers(-2, 3, (H, H)).astype(np.float32)
    Wh[rng.random((H, H)) < 0.1] = -0.0
    Wx = rng.integers(-2, 3, (H, 256)).astype(np.float32)
    bh = rng.integers(-2, 3, H).astype(np.float32)
    Wy = rng.standard_normal((256, H)).astype(np.float32)
    return ElmanRNN(Wx=Wx, Wh=Wh, bh=bh, Wy=Wy, by=np.zeros(256, np.float32))


def _literal_pinned_run(model, xs, pins, semantics):
    """DEFINITIONS 0.6's Boolean step (tests/naive.py) with the pinned neurons overwritten after every step."""
    H = model.H
    s = [pins.get(j, -1) for j in range(H)]
    out = []
    for x in xs:
        s = list(naive.bool_step(model.Wx, model.Wh, model.bh, int(x), s, semantics))
        for j, c in pins.items():
            s[j] = c
        out.append(tuple(s))
    return out


@settings(max_examples=20, deadline=None)
@given(H=st.sampled_from([3, 7, 65]), seed=st.integers(0, 2**32 - 1), semantics=st.sampled_from(["exact", "f32-seq"]),
       pins=st.dictionaries(st.integers(0, 2), st.sampled_from([-1, 1]), min_size=1, max_size=3),
       xs=st.lists(st.integers(0, 255), min_size=2, max_size=12))
def test_pinned_automaton_equals_literal_reference(H, seed, semantics, pins, xs):
    model = _int_model(H, seed) if seed % 2 else random_model(H, seed)
    xs = np.array(xs, dtype=np.uint8)
    aut, pp = ed.pinned(SignAutomaton.from_model(model, semantics), pins)
    assert pp == tuple(sorted(pins.items()))
    got = aut.run(aut.apply_pins(all_minus(H)), xs)
    ref = _literal_pinned_run(model, xs, pins, semantics)
    assert [tuple(int(v) for v in np.where(r, 1, -1)) for r in unpack(got, H)] == ref


@pytest.mark.parametrize("semantics", ["exact", "f32-seq"])
def test_pinned_sign_dynamics_on_published_weights(published, semantics):
    """Pinned dynamics along the text equal the unpinned automaton's public step with the bit overwritten."""
    model, xs = published
    H, j, c = model.H, 8, 1
    aut = SignAutomaton.from_model(model, semantics)
    s = all_minus(H)
    bits = unpack(s, H)
    bits[j] = True
    s = pack(bits)
    rows = []
    for x in xs[:-1]:
        b = unpack(aut.step(s, int(x)), H)
        b[j] = c > 0
        s = pack(b)
        rows.append(s)
    ref = np.array(rows)
    dyn = ed.sign_dynamics(model, xs, semantics, {j: c})
    assert np.array_equal(dyn.traj, ref)
    costs, _ = readout_costs(model, to_signs(ref, H), xs[1:])
    assert dyn.bpc == sequential_mean(costs)
    assert unpack(dyn.traj, H)[:, j].all()


def test_unpinned_dynamics_is_the_boolean_report(published, data):
    from satrnn.analyses.boolean_figures import boolean_report
    model, xs = published
    assert data.dynamics.bpc == boolean_report(model, xs, "exact")["dynamics"]["bpc"]


def test_bad_pins():
    from satrnn.rnn.errors import SatrnnInputError
    m = random_model(4, 0)
    for pins in ({4: 1}, {0: 0}, {-1: 1}):
        with pytest.raises(SatrnnInputError):
            ed.sign_dynamics(m, np.array([1, 2, 3], dtype=np.uint8), "exact", pins)


# ---- the data equal the analysis functions --------------------------------------------------------------

def test_data_equal_analysis_functions(published, data):
    from satrnn.analyses.carrier import carrier_decomposition
    from satrnn.analyses.coflip import coflip_report
    from satrnn.analyses.knockout import neuron_knockout
    from satrnn.analyses.saturation import saturation_report
    from satrnn.automaton.margins import margin_report
    model, xs = published
    assert np.array_equal(data.ko_delta, neuron_knockout(model, xs).delta)
    assert data.mean_margin.tolist() == margin_report(model, xs)["per_neuron"]["mean"]
    sat = saturation_report(model, xs)
    assert np.array_equal(data.flips, sat["flips"])
    assert np.array_equal(data.mean_dwell, sat["mean_dwell_per_neuron_all"], equal_nan=True)
    co = coflip_report(model, xs)
    assert np.array_equal(data.coflips, co["counts"]) and np.array_equal(data.jaccard, co["jaccard"])
    top = carrier_decomposition(model, xs, depth=1)["table2"]["top_sensitive"]
    for r in top:
        assert round(data.pattern_sensitivity[r["neuron"]] * data.steps) == r["positions"]
    # the raster arrays: sigma(h_t), flips between h_{t-1} and h_t, |z_t|
    assert data.signs.shape == (xs.shape[0] - 1, model.H)
    assert np.array_equal(data.flips_tj.sum(axis=0), sat["flips"])


def test_graph_equals_coflip_graph(published, data):
    from satrnn.analyses.coflip import coflip_graph, coflip_report, graph_summary
    model, xs = published
    G = coflip_graph(model, coflip_report(model, xs), min_jaccard=0.4, seed=0)
    gv = data.graph(0.4)
    assert gv.summary == graph_summary(G, n_hubs=model.H)
    assert sorted(gv.graph.edges) == sorted(G.edges)


def test_cycle_book_and_states(data):
    cycles = data.book.sorted()
    assert data.book.rounds == 1 and data.book.jobs == ed.CYCLE_STARTS * ed.CYCLE_INPUTS
    assert sum(c.starts for c in cycles) + data.book.unresolved == data.book.jobs
    if cycles:
        c = cycles[0]
        bits = ed.cycle_states(data.automaton, c, cap=c.period + 1)
        assert bits.shape == (c.period, data.H)
        # one more step closes the cycle
        last = pack(bits[-1])
        assert np.array_equal(data.automaton.step(last, c.byte), pack(bits[0]))
        assert len({bytes(r) for r in np.packbits(bits, axis=1)}) == c.period


def test_ledger_subprocess_cancel(published):
    model, xs = published
    assert ed.ledger_in_subprocess(model, xs, should_stop=lambda: True).reason == "cancelled"


def test_ledger_gate_on_another_model():
    m = random_model(6, 1)
    xs = np.frombuffer(b"hello world, hello", dtype=np.uint8)
    lg = ed.ledger(m, xs)
    assert not lg.available and "published weights only" in lg.reason


# ---- the app, headless -------------------------------------------------------------------------------------

def _run(coro):
    return asyncio.run(coro)


def _cells(table, row):
    return [str(c) for c in table.get_row_at(row)]


def test_app_views_neuron_threshold_pin(published, data):
    from textual.widgets import DataTable, ListView, Static, TabbedContent

    from satrnn.analyses.coflip import coflip_graph, coflip_report, graph_summary
    from satrnn.analyses.knockout import neuron_knockout
    model, xs = published
    ko = neuron_knockout(model, xs).delta

    async def go():
        app = ExploreApp(data=data, view="graph", select=8)
        async with app.run_test(size=(140, 44)) as pilot:
            await wait_until(pilot, app.ready.is_set)
            tabs = app.main.query_one("#tabs", TabbedContent)
            for key, view in (("n", "neurons"), ("r", "raster"), ("c", "cycles"), ("l", "ledger"), ("g", "graph")):
                await pilot.press(key)
                await pilot.pause()
                assert tabs.active == view
            # neighbours of the selected neuron: co-flip counts and Jaccard from coflip_report
            nb = app.main.query_one("#neighbours", DataTable)
            co = coflip_report(model, xs)
            first = _cells(nb, 0)
            i = int(first[0][1:])
            assert first[1] == f"{int(co['counts'][8, i]):,}" and first[2] == f"{co['jaccard'][8, i]:.3f}"
            # the Neurons table, default sort: knockout delta descending, cells as the analyses give them
            await pilot.press("n")
            nt = app.main.query_one("#neuron-table", DataTable)
            order = np.argsort(-ko, kind="stable")
            for r in range(5):
                cells = _cells(nt, r)
                assert cells[0] == f"h{order[r]}" and cells[1] == f"{ko[order[r]]:+.4f}"
                assert cells == neuron_cells(data, app.graph_view, int(order[r]))
            # sort by flips (header click) and back
            await pilot.click("#neuron-table", offset=(40, 0))
            await pilot.pause()
            assert app.sort[0] != "ko"
            # raise the threshold: the graph and communities are recomputed (seeded) off the UI thread
            await pilot.press("g")
            await pilot.press("plus")
            await wait_until(pilot, lambda: app.graph_view.threshold == 0.35 and not app.graph_pending)
            G = coflip_graph(model, co, min_jaccard=0.35, seed=0)
            summ = graph_summary(G)
            status = str(app.main.query_one("#graph-status", Static).render())
            assert f"{summ['edges']:,} edges, {len(summ['communities'])} communities" in status
            assert len(app.main.query_one("#communities", ListView).children) == len(summ["communities"])
            await pilot.press("minus", "minus")
            await wait_until(pilot, lambda: app.graph_view.threshold == 0.25 and not app.graph_pending)
            # open a neuron from the table (enter on the focused row) and pin it
            await pilot.press("n")
            nt.focus()
            nt.move_cursor(row=3)
            j = int(_cells(nt, 3)[0][1:])
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, NeuronScreen) and app.screen.j == j
            await pilot.press("m")
            await wait_until(pilot, lambda: any(k[0] == j and k[1] == -1 for k in app.pins), timeout=120)
            await pilot.pause()
            pe = next(v for k, v in app.pins.items() if k[0] == j and k[1] == -1)
            ref = ed.sign_dynamics(model, xs, "exact", {j: -1})
            shown = str(app.screen.query_one("#neuron-pin", Static).render())
            assert f"bpc {data.dynamics.bpc:.4f} -> {ref.bpc:.4f}" in shown
            assert pe.bpc_pinned == ref.bpc and pe.flips_pinned == ref.flips
            await pilot.press("escape")
            assert not isinstance(app.screen, NeuronScreen)
        assert not app.errors
    _run(go())


def test_app_cancelled_search_leaves_it_responsive(data):
    from textual.widgets import TabbedContent
    from textual.worker import WorkerState

    async def go():
        app = ExploreApp(data=data, view="cycles")
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, app.ready.is_set)
            await wait_until(pilot, app.first_round.is_set)
            jobs0 = app.data.book.jobs
            await pilot.press("s")
            await wait_until(pilot, lambda: app.search_worker is not None
                             and app.search_worker.state == WorkerState.RUNNING)
            await pilot.pause(0.3)
            await pilot.press("x")
            await wait_until(pilot, lambda: app.search_worker.state in (WorkerState.CANCELLED, WorkerState.SUCCESS),
                             timeout=15)
            assert app.data.book.jobs >= jobs0
            await pilot.press("n")
            await pilot.pause()
            assert app.main.query_one("#tabs", TabbedContent).active == "neurons"
            await pilot.press("c", "down")
            await pilot.pause()
        assert not app.errors
    _run(go())


def test_app_ledger_filters(published, data):
    from textual.widgets import DataTable

    from satrnn.ledger import claims as registry
    model, xs = published
    some = [c for c in registry.CLAIMS if c.measure in ("hidden_size", "bpc")]
    ids = [c.id for c in some]

    async def go():
        # the command's path: the ledger in a spawned process, started from inside the running app
        app = ExploreApp(data=data, view="ledger", ledger_loader=lambda on_claim, stop: ed.ledger_in_subprocess(
            model, xs, on_claim, stop, claim_ids=ids))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, app.ready.is_set)
            await wait_until(pilot, app.ledger_done.is_set, timeout=120)
            await pilot.pause()
            tbl = app.main.query_one("#ledger-table", DataTable)
            assert app.ledger_state.available, app.ledger_message
            assert [r["id"] for r in app.ledger_state.records] == ids
            assert tbl.row_count == len(some)
            await pilot.press("d", "d")  # seed 001
            assert tbl.row_count == sum(1 for c in some if c.seed_key == "001")
            await pilot.press("v")  # reproduced only
            recs = app.ledger_state.records
            assert tbl.row_count == sum(1 for r in recs if r["seed"].startswith("001") and r["verdict"] == "reproduced")
    _run(go())


def test_loading_screen_then_main(published):
    model, xs = published
    small = xs[:200]

    async def go():
        app = ExploreApp(loader=lambda on_stage: ed.compute(model, small, "small", "f32-seq", 3, on_stage))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, app.ready.is_set, timeout=120)
            assert app.data.steps == 199 and app.data.seed == 3
            await wait_until(pilot, app.first_round.is_set, timeout=120)
    _run(go())


# ---- the command ---------------------------------------------------------------------------------------------

def test_cli_not_a_tty(model_path, text_path, capsys):
    from satrnn.cli import main
    assert main(["explore", str(model_path), str(text_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "interactive terminal" in err


def test_cli_missing_extra(model_path, text_path, capsys, monkeypatch):
    import sys

    from satrnn.cli import main
    monkeypatch.setitem(sys.modules, "textual", None)
    assert main(["explore", str(model_path), str(text_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("satrnn explore needs the [explore] extra: pip install 'satrnn[explore]'")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("extra", [["--screenshot", "x.txt"], ["--select", "h128", "--screenshot", "x.svg"],
                                   ["--view", "nope"], ["--jaccard", "1.5"],
                                   ["--size", "10x10", "--screenshot", "a.svg"], ["--pin", "+1"],
                                   ["--pin", "+1", "--select", "h3", "--view", "graph"]])
def test_cli_bad_input(model_path, text_path, capsys, tmp_path, monkeypatch, extra):
    from satrnn.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["explore", str(model_path), str(text_path), *extra]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_cli_screenshot_and_json(model_path, text_path, tmp_path, capsys):
    import json

    from satrnn.cli import main
    out = tmp_path / "n.svg"
    assert main(["explore", str(model_path), str(text_path), "--max-bytes", "300", "--screenshot", str(out),
                 "--view", "neurons", "--select", "h8", "--pin", "+1", "--size", "100x40"]) == 0
    svg = out.read_text()
    assert svg.startswith("<svg") and "h8" in svg and "knockout" in svg and "pinned" in svg
    capsys.readouterr()
    assert main(["explore", str(model_path), str(text_path), "--max-bytes", "300", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["neurons"]) == 128 and doc["bytes"] == 300 and doc["seed"] == 0
    assert math.isfinite(doc["sign_dynamics_bpc"])


def test_margin_histogram_counts_every_margin(data):
    for j in (0, 8, 127):
        rows = data.margin_histogram(j)
        assert sum(c for _, c in rows) == data.steps
        mu = data.margins[:, j].astype(np.float64)
        for lab, c in rows:
            if lab != "0":
                a, b = (float(v) for v in lab.strip("[)").split(","))
                assert c == int(((mu >= a) & (mu < b)).sum())


def test_other_commands_do_not_import_textual():
    import subprocess
    import sys
    code = ("import sys; from satrnn.cli import build_parser; build_parser(); "
            "print('textual' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "False"


def test_graphml_export_and_ctrl_c(data, tmp_path, monkeypatch):
    from satrnn.analyses.coflip import read_graphml
    monkeypatch.chdir(tmp_path)

    async def go():
        app = ExploreApp(data=data)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, app.ready.is_set)
            await pilot.press("e")
            await pilot.pause()
            assert len(app.exported) == 1
            G = read_graphml(tmp_path / app.exported[0])
            assert sorted(G.edges) == sorted(app.graph_view.graph.edges)
            assert G.graph["min_jaccard"] == app.graph_view.threshold
            await pilot.press("ctrl+c")
            await pilot.pause()
        assert app.return_code == 130
    _run(go())


def test_cli_screenshot_refuses_an_input(model_path, text_path, tmp_path, capsys):
    import shutil

    from satrnn.cli import main
    t = tmp_path / "t.svg"
    shutil.copy(text_path, t)
    before = t.read_bytes()
    assert main(["explore", str(model_path), str(t), "--screenshot", str(t)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and t.read_bytes() == before


def test_screenshot_ctrl_c_while_loading_exits_130(model_path, text_path, tmp_path):
    """Issue 28: Ctrl-C while --screenshot loaded was ignored, then after 30 s Textual's WaitForScreenTimeout
    traceback and exit 1 (asyncio's SIGINT handling cancelled the app's task, leaving the pilot waiting)."""
    from tests.interrupts import interrupt_after
    big = tmp_path / "big.txt"
    big.write_bytes(text_path.read_bytes() * 200)  # 200 KB: loading takes well over the 3 s below
    svg = tmp_path / "s.svg"
    r = interrupt_after(["explore", model_path, big, "--view", "cycles", "--screenshot", svg], 3.0)
    assert r is not None, "finished before the interrupt"
    rc, waited, err = r
    assert rc == 130 and err.strip() == "satrnn: interrupted", err
    assert waited < 1.0, waited
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]


def test_kill_int_to_the_interactive_explorer_exits_130(model_path, text_path):
    """Issue 28: `kill -INT` to the interactive explorer (in a terminal) exited 0, not 130."""
    import os
    import pty
    import select
    import signal
    import sys
    import time
    pid, fd = pty.fork()
    if pid == 0:  # the child: the explorer on the pseudo-terminal
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "satrnn", "explore", str(model_path), str(text_path)])

    def drain(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    os.read(fd, 1 << 16)
                except OSError:
                    return
    done = (0, 0)
    try:
        drain(4.0)
        done = os.waitpid(pid, os.WNOHANG)
        assert done[0] == 0, "the explorer ended by itself"
        t0 = time.monotonic()
        os.kill(pid, signal.SIGINT)
        while not (done := os.waitpid(pid, os.WNOHANG))[0]:
            assert time.monotonic() - t0 < 30, "still running 30 s after SIGINT"
            drain(0.05)
        waited = time.monotonic() - t0
    finally:
        if not done[0]:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(done[1]) == 130
    assert waited < 1.0, waited
