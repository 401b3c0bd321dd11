"""The Textual application behind `satrnn explore` (needs the [explore] extra).

Everything is computed once (`satrnn.explore.data.compute`, on a progress screen); afterwards the views only
read that data, except three things that run in the background and never block the interface: the co-flip
graph at a new Jaccard threshold (a thread worker, cached per threshold), "search more" cycles (a thread worker
that works in short kernel calls, checks for cancellation between them and stops after a time budget) and the
pin effect of a neuron (a thread worker). The claims ledger is measured in a background thread after the
first screen is up. Views by key: g co-flip graph, n neurons, r sign raster, c cycles, l ledger; q quits.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import cast

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Label,
    ListItem,
    ListView,
    ProgressBar,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, WorkerState, get_current_worker

from satrnn.explore import data as ed
from satrnn.ledger.claims import SEEDS as SEED_FILES
from satrnn.ledger.claims import VERDICTS as CLAIM_VERDICTS
from satrnn.rnn.text import display_byte

VIEWS = ed.VIEWS
SEARCH_SECONDS = 10.0
VERDICT_STYLE = {"reproduced": "green", "differs": "red", "not measurable": "yellow", "not applicable": "blue",
                 "failed": "bold red"}
SEEDS = ("all",) + tuple(SEED_FILES)
VERDICTS = ("all",) + tuple(CLAIM_VERDICTS)


def kernel_lock():
    """numba's workqueue threading layer must not run two parallel kernels at once; the tbb and omp layers
    may. The explorer's background threads share this lock only when the workqueue layer is in use."""
    return _LOCK if _workqueue() else contextlib.nullcontext()


_LOCK = threading.Lock()


def _workqueue() -> bool:
    import numba
    try:
        return numba.threading_layer() == "workqueue"
    except ValueError:  # no parallel kernel has run yet
        return False


def fmt(v, spec: str) -> str:
    """A number with a format spec; NaN / None as an em dash."""
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    return format(v, spec)


# ---- formatting shared by the views and the tests ---------------------------------------------------------

NEURON_COLUMNS = (  # (key, label, format of the value, value getter)
    ("neuron", "neuron", "", None),
    ("ko", "knockout Δbpc", "+.4f", lambda d, g, j: float(d.ko_delta[j])),
    ("margin", "mean |z|", ".3f", lambda d, g, j: float(d.mean_margin[j])),
    ("flips", "flips", "d", lambda d, g, j: int(d.flips[j])),
    ("dwell", "mean dwell", ".2f", lambda d, g, j: float(d.mean_dwell[j])),
    ("strength", "hub strength", ".3f", lambda d, g, j: float(g.strength[j])),
    ("community", "community", "d", lambda d, g, j: int(g.community[j])),
    ("ps", "pattern sens. %", ".1f", lambda d, g, j: 100.0 * float(d.pattern_sensitivity[j])),
)


def neuron_cells(data: ed.ExploreData, gv: ed.GraphView, j: int) -> list[str]:
    """The Neurons table's cells of neuron j (strings as displayed)."""
    return [f"h{j}"] + [fmt(get(data, gv, j), spec) for _, _, spec, get in NEURON_COLUMNS[1:]]


def pin_text(pe: ed.PinEffect) -> Text:
    """The pin effect as displayed in the neuron detail."""
    c = "+1" if pe.value > 0 else "-1"
    t = Text()
    t.append(f"pinned h{pe.neuron} to {c}: ", style="bold")
    t.append(f"sign-dynamics bpc {pe.bpc:.4f} -> {pe.bpc_pinned:.4f} (Δ {pe.bpc_pinned - pe.bpc:+.4f}); "
             f"flips {pe.flips:,} -> {pe.flips_pinned:,}\n")
    if pe.cycle_byte is None:
        t.append("no cycle found yet to compare (search more in the Cycles view)\n", style="dim")
    else:
        def cyc(p, m, r):
            return f"period {p:,}, transient {m:,}, rep {r}" if p is not None else \
                f"no cycle within {pe.budget:,} steps"
        t.append(f"cycle under input 0x{pe.cycle_byte:02x} '{display_byte(pe.cycle_byte)}' from start "
                 f"{pe.cycle_start}:\n")
        t.append(f"  unpinned: {cyc(pe.period, pe.transient, pe.rep)}\n")
        t.append(f"  pinned:   {cyc(pe.period_pinned, pe.transient_pinned, pe.rep_pinned)}")
        if pe.rep is not None and pe.rep_pinned is not None:
            t.append("  (the same cycle)" if pe.rep == pe.rep_pinned else "  (a different cycle)", style="dim")
        t.append("\n")
    t.append(f"computed in {pe.seconds:.2f} s with the sign kernels (the neuron pinned in every step)",
             style="dim")
    return t


# ---- a scrollable raster (Textual's line API: only visible lines are rendered) ----------------------------

ST_PLUS = Style(color="green")
ST_MINUS = Style(color="grey35")
ST_FLIP = Style(color="black", bgcolor="yellow")
ST_NEAR = Style(color="white", bgcolor="red")
ST_SEL = Style(color="magenta", bold=True)
ST_DIM = Style(color="grey50")


class RasterView(ScrollView, can_focus=True):
    """Rows = time, columns = neurons: '█' +1, '·' -1; flips (sign changed since the previous row) on
    yellow, near-zero margins (|z| < 0.1) on red; the selected neuron's column in magenta. A fixed header
    line gives neuron ids; each row starts with t (and the text byte, when given)."""

    DEFAULT_CSS = "RasterView { height: 1fr; }"
    BINDINGS = [Binding("up", "scroll_up", show=False), Binding("down", "scroll_down", show=False),
                Binding("left", "scroll_left", show=False), Binding("right", "scroll_right", show=False),
                Binding("pageup", "page_up", show=False), Binding("pagedown", "page_down", show=False),
                Binding("home", "scroll_home", show=False), Binding("end", "scroll_end", show=False)]

    def __init__(self, **kw):
        super().__init__(**kw)
        self.bits = np.zeros((0, 0), dtype=bool)
        self.codes = self.bits.astype(np.uint8)
        self.labels: list[str] | None = None
        self.selected: int | None = None
        self.prefix = 0

    def set_raster(self, bits: np.ndarray, flips: np.ndarray | None = None, near: np.ndarray | None = None,
                   xs: np.ndarray | None = None, selected: int | None = None) -> None:
        bits = np.asarray(bits, dtype=bool)
        T, H = bits.shape
        codes = bits.astype(np.uint8)
        if flips is not None:
            codes |= np.asarray(flips, dtype=np.uint8) << 1
        if near is not None:
            codes |= np.asarray(near, dtype=np.uint8) << 2
        self.bits, self.codes, self.selected = bits, codes, selected
        self.labels = None if xs is None else [display_byte(int(b)) for b in xs[:T]]
        self.prefix = len(str(max(T - 1, 0))) + 1 + (2 if xs is not None else 0)
        self.virtual_size = Size(self.prefix + H, T + 1)
        self.refresh()

    def select(self, j: int | None) -> None:
        self.selected = j
        self.refresh()

    def _cell(self, code: int) -> tuple[str, Style]:
        ch = "█" if code & 1 else "·"
        if code & 4:
            return ch, ST_NEAR
        if code & 2:
            return ch, ST_FLIP
        return ch, (ST_PLUS if code & 1 else ST_MINUS)

    def render_line(self, y: int) -> Strip:
        sx, sy = self.scroll_offset
        width = self.size.width
        T, H = self.bits.shape
        avail = max(0, width - self.prefix)
        if y == 0:
            head = [" "] * H
            for j in range(0, H, 8):
                for k, ch in enumerate(f"h{j}"):
                    if j + k < H:
                        head[j + k] = ch
            segs = [Segment(" " * self.prefix, ST_DIM), Segment("".join(head), ST_DIM)]
            if self.selected is not None and 0 <= self.selected < H:
                s = "".join(head)
                segs = [Segment(" " * self.prefix, ST_DIM), Segment(s[:self.selected], ST_DIM),
                        Segment("▼", ST_SEL), Segment(s[self.selected + 1:], ST_DIM)]
            strip = Strip(segs)
        else:
            t = sy + y - 1
            if t >= T:
                return Strip.blank(width)
            pre = f"{t:>{self.prefix - 1 - (2 if self.labels else 0)}} "
            if self.labels:
                pre += self.labels[t] + " "
            segs = [Segment(pre, ST_DIM)]
            row = self.codes[t]
            j = 0
            while j < H:
                ch, st = self._cell(int(row[j]))
                if j == self.selected:
                    segs.append(Segment(ch, st + ST_SEL if st in (ST_PLUS, ST_MINUS) else st))
                    j += 1
                    continue
                k = j + 1
                while k < H and k != self.selected and row[k] == row[j]:
                    k += 1
                segs.append(Segment(ch * (k - j), st))
                j = k
            strip = Strip(segs)
        pre_strip = strip.crop(0, self.prefix)
        body = strip.crop(self.prefix + sx, self.prefix + sx + avail)
        return Strip.join([pre_strip, body]).extend_cell_length(width)


# ---- screens -----------------------------------------------------------------------------------------------

class LoadingScreen(Screen):
    """The progress screen shown while the data is computed (once)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="loading"):
            yield Label("computing …", id="stage")
            yield ProgressBar(total=len(ed.STAGES), show_eta=False, id="progress")
        yield Footer()

    def stage(self, i: int, name: str) -> None:
        with contextlib.suppress(NoMatches):  # a stage may report before the screen is composed
            self.query_one("#stage", Label).update(f"computing {name} ({i + 1}/{len(ed.STAGES)})")
            self.query_one("#progress", ProgressBar).update(progress=i)


class _ExplorerScreen(Screen):
    """A screen of the explorer. Textual types `self.app` as its base `App`; `explorer` is the same object
    typed as the `ExploreApp` that runs this screen."""

    @property
    def explorer(self) -> ExploreApp:
        return cast("ExploreApp", self.app)


class NeuronScreen(_ExplorerScreen):
    """One neuron: its numbers, margin histogram, sign along the text, promoted and demoted bytes, co-flip
    partners, and the effect of pinning it (p: pin to +1, m: pin to -1)."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("p", "pin(1)", "Pin +1"),
                Binding("m", "pin(-1)", "Pin -1")]

    def __init__(self, j: int):
        super().__init__()
        self.j = j

    def compose(self) -> ComposeResult:
        app = self.explorer
        d, j = app.data, self.j
        gv = app.graph_view
        yield Header()
        with VerticalScroll():
            yield Static(self._summary(d, gv, j), id="neuron-summary")
            yield Static(Text("p: pin to +1, m: pin to -1 (sign dynamics from all -1 on the text, and the "
                              "selected cycle re-run)", style="dim"), id="neuron-pin")
            with Horizontal(classes="row"):
                yield Static(self._histogram(d, j), id="neuron-hist", classes="half")
                yield Static(self._roles(d, j), id="neuron-roles", classes="half")
            yield Static(self._partners(d, gv, j), id="neuron-partners")
            yield Static(self._raster(d, j), id="neuron-raster")
        yield Footer()

    @staticmethod
    def _summary(d, gv, j) -> Text:
        t = Text()
        t.append(f"h{j}", style="bold magenta")
        cells = neuron_cells(d, gv, j)
        for (_, label, _, _), v in zip(NEURON_COLUMNS[1:], cells[1:]):
            t.append(f"   {label} ", style="dim")
            t.append(v)
        t.append(f"\n{d.source}; {d.steps:,} states h_0..h_{d.steps - 1}; sign dynamics ({d.semantics}) "
                 f"bpc {d.dynamics.bpc:.4f}", style="dim")
        return t

    @staticmethod
    def _histogram(d, j) -> Table:
        rows = d.margin_histogram(j)
        t = Table(title=f"margin |z| of h{j} (n = {d.steps:,})", title_justify="left", box=None, pad_edge=False)
        t.add_column("decade", justify="right")
        t.add_column("count", justify="right")
        t.add_column("", no_wrap=True)
        top = max([c for _, c in rows] + [1])
        for lab, c in rows:
            t.add_row(lab, f"{c:,}", Text("█" * max(1 if c else 0, round(24 * c / top)), style="cyan"))
        return t

    @staticmethod
    def _roles(d, j) -> Table:
        r = d.roles(j)
        t = Table(title="readout (Wy column)", title_justify="left", box=None, pad_edge=False)
        for c in ("promotes", "Wy", "demotes", "Wy "):
            t.add_column(c, justify="right")
        for a, b in zip(r["promotes"], r["demotes"]):
            t.add_row(repr(a["char"]), f"{a['weight']:+.3f}", repr(b["char"]), f"{b['weight']:+.3f}")
        return t

    @staticmethod
    def _raster(d, j) -> Text:
        t = Text()
        t.append(f"sign of h{j} along the text (green +1, grey -1, yellow: flip, red: |z| < {ed.NEAR_ZERO:g})\n",
                 style="bold")
        s, f, nz = d.signs[:, j], d.flips_tj[:, j], d.margins[:, j] < np.float32(ed.NEAR_ZERO)
        for tt in range(d.steps):
            ch = display_byte(int(d.xs[tt]))
            st = "white on red" if nz[tt] else ("black on yellow" if f[tt] else ("green" if s[tt] else "grey42"))
            t.append(ch, style=st)
        return t

    @staticmethod
    def _partners(d, gv, j) -> Table:
        title = f"co-flip partners of h{j} (by Jaccard; flips {int(d.flips[j]):,})"
        t = Table(title=title, title_justify="left", box=None, pad_edge=False, min_width=len(title))
        for c in ("neuron", "co-flips", "Jaccard", "edge", "community"):
            t.add_column(c, justify="right")
        for p in d.partners(j):
            i = p["neuron"]
            t.add_row(f"h{i}", f"{p['coflips']:,}", f"{p['jaccard']:.3f}",
                      "yes" if gv.graph.has_edge(i, j) else "", str(int(gv.community[i])))
        return t

    def action_pin(self, c: int) -> None:
        self.query_one("#neuron-pin", Static).update(Text(f"pinning h{self.j} to {c:+d} …", style="yellow"))
        self.explorer.compute_pin(self.j, c, self)

    def show_pin(self, pe: ed.PinEffect) -> None:
        self.query_one("#neuron-pin", Static).update(pin_text(pe))


class MainScreen(_ExplorerScreen):
    """The five views in tabs."""

    BINDINGS = [Binding("plus,equals_sign", "threshold(1)", "Jaccard +"),
                Binding("minus", "threshold(-1)", "Jaccard -"),
                Binding("e", "export", "GraphML"), Binding("s", "search_more", "Search more"),
                Binding("x", "cancel_search", "Cancel"), Binding("v", "cycle_verdict", "Verdict"),
                Binding("d", "cycle_seed", "Seed"), Binding("o", "sort", "Sort")]

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="graph", id="tabs"):
            with TabPane(VIEWS["graph"], id="graph"):
                yield Static(id="graph-status")
                with Horizontal():
                    with Vertical(classes="third"):
                        yield Label("communities (enter selects its hub)", classes="title")
                        yield ListView(id="communities")
                    with Vertical(classes="third"):
                        yield Label("hubs by strength (summed Jaccard)", classes="title")
                        yield DataTable(id="hubs", cursor_type="row")
                    with Vertical(classes="third"):
                        yield Label("neighbours", id="neighbours-title", classes="title")
                        yield DataTable(id="neighbours", cursor_type="row")
            with TabPane(VIEWS["neurons"], id="neurons"):
                yield Label("all neurons (o or a click on a header sorts; enter opens the detail)", classes="title")
                yield DataTable(id="neuron-table", cursor_type="row")
            with TabPane(VIEWS["raster"], id="raster"):
                yield Static(id="raster-legend")
                yield RasterView(id="sign-raster")
            with TabPane(VIEWS["cycles"], id="cycles"):
                yield Static(id="cycles-status")
                yield DataTable(id="cycle-table", cursor_type="row")
                yield Label("states of the selected cycle", id="cycle-title", classes="title")
                yield RasterView(id="cycle-raster")
            with TabPane(VIEWS["ledger"], id="ledger"):
                yield Static(id="ledger-status")
                yield DataTable(id="ledger-table", cursor_type="row")
                yield Static(id="ledger-detail")
        yield Footer()

    def on_mount(self) -> None:
        app = self.explorer
        d = app.data
        nt = self.query_one("#neuron-table", DataTable)
        for key, label, _, _ in NEURON_COLUMNS:
            nt.add_column(label, key=key)
        self.query_one("#hubs", DataTable).add_columns("neuron", "strength", "degree", "community")
        self.query_one("#neighbours", DataTable).add_columns("neuron", "co-flips", "Jaccard", "edge", "community")
        self.query_one("#cycle-table", DataTable).add_columns("#", "input", "period", "starts", "transient", "rep")
        self.query_one("#ledger-table", DataTable).add_columns("claim", "seed", "paper", "measured", "verdict",
                                                               "difference / reason")
        self.query_one("#raster-legend", Static).update(Text.assemble(
            (f"sigma(h_t) on the float run, t = 0..{d.steps - 1} (rows) x neurons (columns): ", "bold"),
            ("█", "green"), " +1  ", ("·", "grey50"), " -1  ", ("█", "black on yellow"), " flip  ",
            ("█", "white on red"), f" |z| < {ed.NEAR_ZERO:g}   (arrows / page keys scroll; "
                                   "the selected neuron is magenta)"))
        near = d.margins < np.float32(ed.NEAR_ZERO)
        self.query_one("#sign-raster", RasterView).set_raster(d.signs, d.flips_tj, near, d.xs, app.selected)
        self.refresh_graph()
        self.refresh_cycles(list(app.cycles), "" if app.first_round.is_set() else "first round of searches …")
        self.refresh_ledger()

    # -- co-flip graph --
    def refresh_graph(self) -> None:
        app = self.explorer
        gv = app.graph_view
        s = gv.summary
        self.query_one("#graph-status", Static).update(Text.assemble(
            ("Jaccard >= ", "bold"), (f"{gv.threshold:.2f}", "bold magenta"),
            f"  (+/- change it)   {s['edges']:,} edges, {len(s['communities'])} communities, "
            f"modularity {s['modularity']:.3f}, {s['n_components']} components, Louvain seed {gv.seed}   "
            "e: export GraphML", ("   computing …" if app.graph_pending else "", "yellow")))
        lv = self.query_one("#communities", ListView)
        lv.clear()
        lv.extend(ListItem(Label(f"c{c['id']} ({c['size']}): " + " ".join(f"h{j}" for j in c["members"])))
                  for c in s["communities"])
        hubs = self.query_one("#hubs", DataTable)
        hubs.clear()
        for h in s["hubs"]:
            hubs.add_row(f"h{h['neuron']}", f"{h['strength']:.3f}", str(h["degree"]), str(h["community"]),
                         key=str(h["neuron"]))
        self.refresh_neighbours()
        self.refresh_neuron_table()

    def refresh_neighbours(self) -> None:
        app = self.explorer
        d, gv, j = app.data, app.graph_view, app.selected
        nb = self.query_one("#neighbours", DataTable)
        nb.clear()
        if j is None:
            self.query_one("#neighbours-title", Label).update("neighbours (select a neuron)")
            return
        self.query_one("#neighbours-title", Label).update(
            f"h{j}: community {int(gv.community[j])}, strength {gv.strength[j]:.3f}, degree "
            f"{gv.graph.degree(j)}; partners by Jaccard")
        for p in d.partners(j):
            i = p["neuron"]
            nb.add_row(f"h{i}", f"{p['coflips']:,}", f"{p['jaccard']:.3f}", "yes" if gv.graph.has_edge(i, j) else "",
                       str(int(gv.community[i])), key=str(i))
        self.query_one("#sign-raster", RasterView).select(j)

    @on(DataTable.RowHighlighted, "#hubs")
    def _hub(self, ev: DataTable.RowHighlighted) -> None:
        # only the user's cursor selects (refilling the table also highlights its first row)
        if ev.data_table.has_focus and ev.row_key is not None and ev.row_key.value is not None:
            self.explorer.select_neuron(int(ev.row_key.value))

    @on(ListView.Selected, "#communities")
    def _community(self, ev: ListView.Selected) -> None:
        app = self.explorer
        idx = ev.list_view.index
        comms = app.graph_view.summary["communities"]
        if idx is not None and 0 <= idx < len(comms):
            mem = comms[idx]["members"]
            app.select_neuron(max(mem, key=lambda j: (app.graph_view.strength[j], -j)))

    def action_threshold(self, direction: int) -> None:
        self.explorer.set_threshold(self.explorer.graph_view.threshold + direction * ed.JACCARD_STEP)

    def action_export(self) -> None:
        self.explorer.export_graphml()

    # -- neurons --
    def refresh_neuron_table(self) -> None:
        app = self.explorer
        d, gv = app.data, app.graph_view
        key, rev = app.sort
        get = {k: g for k, _, _, g in NEURON_COLUMNS}[key]
        if get is None:
            order = list(range(d.H))
        else:
            vals = [get(d, gv, j) for j in range(d.H)]
            # NaN last whichever the direction; ties by neuron id
            order = sorted(range(d.H), key=lambda j: (vals[j] != vals[j], -vals[j] if rev else vals[j], j))
            if key == "neuron" and rev:
                order.reverse()
        nt = self.query_one("#neuron-table", DataTable)
        cur = nt.cursor_row
        nt.clear()
        for j in order:
            nt.add_row(*neuron_cells(d, gv, j), key=str(j))
        if 0 <= cur < d.H:
            nt.move_cursor(row=cur)

    @on(DataTable.HeaderSelected, "#neuron-table")
    def _sort_header(self, ev: DataTable.HeaderSelected) -> None:
        self.explorer.sort_by(str(ev.column_key.value))

    def action_sort(self) -> None:
        keys = [k for k, _, _, _ in NEURON_COLUMNS]
        cur = self.explorer.sort[0]
        self.explorer.sort_by(keys[(keys.index(cur) + 1) % len(keys)])

    @on(DataTable.RowSelected, "#neuron-table")
    def _open_neuron(self, ev: DataTable.RowSelected) -> None:
        j = int(ev.row_key.value)
        self.explorer.select_neuron(j)
        self.app.push_screen(NeuronScreen(j))

    @on(DataTable.RowHighlighted, "#neuron-table")
    def _neuron_highlight(self, ev: DataTable.RowHighlighted) -> None:
        if ev.data_table.has_focus and ev.row_key is not None and ev.row_key.value is not None:
            self.explorer.select_neuron(int(ev.row_key.value))

    # -- cycles --
    def refresh_cycles(self, cycles: list[ed.FoundCycle], status: str = "") -> None:
        app = self.explorer
        b = app.cycle_stats
        st = self.query_one("#cycles-status", Static)
        st.update(Text.assemble(
            (f"{len(cycles)} cycle(s) found", "bold"),
            f" in {b['rounds']} round(s) of Brent searches ({b['jobs']} jobs, {b['unresolved']} unresolved; "
            f"{b['steps']:,} steps) from seeded random starts (seed {app.data.seed} + round) under the "
            f"constant inputs {', '.join(repr(display_byte(x)) for x in app.data.book.inputs)}; "
            f"semantics {app.data.semantics}\n",
            ("s: search more ", "bold"), f"({SEARCH_SECONDS:g} s budget, {ed.MORE_BUDGET:,} steps per job)  ",
            ("x: cancel", "bold"), ("   " + status if status else "", "yellow")))
        tbl = self.query_one("#cycle-table", DataTable)
        cur = tbl.cursor_row
        tbl.clear()
        for i, c in enumerate(cycles):
            tbl.add_row(str(i), f"0x{c.byte:02x} {display_byte(c.byte)!r}", f"{c.period:,}", str(c.starts),
                        f"{c.transient_min:,}..{c.transient_max:,}", c.rep, key=f"{c.byte}:{c.rep}")
        app.cycles = cycles
        if cycles:
            tbl.move_cursor(row=min(max(cur, 0), len(cycles) - 1))
            if app.selected_cycle is None:
                app.show_cycle(0)

    @on(DataTable.RowHighlighted, "#cycle-table")
    def _cycle(self, ev: DataTable.RowHighlighted) -> None:
        self.explorer.show_cycle(ev.cursor_row)

    def show_cycle_states(self, c: ed.FoundCycle, bits: np.ndarray) -> None:
        flips = np.zeros_like(bits)
        if bits.shape[0] > 1:
            flips[1:] = bits[1:] != bits[:-1]
            if bits.shape[0] == c.period:  # the cycle closes: row 0 follows the last row
                flips[0] = bits[0] != bits[-1]
        shown = "" if bits.shape[0] == c.period else f" (the first {bits.shape[0]:,})"
        self.query_one("#cycle-title", Label).update(
            f"states of cycle rep {c.rep}: period {c.period:,} under 0x{c.byte:02x}{shown}; row 0 = rep, "
            "yellow = flipped since the previous state")
        self.query_one("#cycle-raster", RasterView).set_raster(bits, flips, None, None, self.explorer.selected)
        self.explorer.cycle_shown.set()

    def action_search_more(self) -> None:
        self.explorer.search_more()

    def action_cancel_search(self) -> None:
        self.explorer.cancel_search()

    # -- ledger --
    def refresh_ledger(self) -> None:
        app = self.explorer
        st = self.query_one("#ledger-status", Static)
        tbl = self.query_one("#ledger-table", DataTable)
        if not tbl.columns:  # the ledger thread may report before this screen is mounted
            return
        tbl.clear()
        lg = app.ledger_state
        if lg is None or not lg.available:
            st.update(Text(app.ledger_message, style="yellow"))
            return
        seed, verdict = app.ledger_filter
        rows = [r for r in lg.records if (seed == "all" or r["seed"].startswith(seed))
                and (verdict == "all" or r["verdict"] == verdict)]
        self.ledger_rows = rows
        tot = lg.summary["total"]
        counts = []
        for v in CLAIM_VERDICTS:
            if tot.get(v):
                counts += [", " if counts else "", (f"{tot[v]} {v}", VERDICT_STYLE.get(v, ""))]
        st.update(Text.assemble(
            ("claims ledger", "bold"), f" on the published weights ({tot['total']} claims: ", *counts,
            ")\nfilter: seed ", (seed, "bold magenta"), " (d: next), verdict ", (verdict, "bold magenta"),
            f" (v: next): {len(rows)} shown"))
        for r in rows:
            v = r["verdict"]
            extra = r["reason"] or ""
            if v == "differs" and r["difference"] is not None:
                extra = f"Δ = {r['difference']:.4g} (tol {r['tolerance']})"
            meas = r["measured"]
            meas = "—" if meas is None else (f"{meas:.6g}" if isinstance(meas, float) else str(meas))
            tbl.add_row(r["id"], r["seed"][:3], r["paper_value"][:24], meas[:24],
                        Text(v, style=VERDICT_STYLE.get(v, "")), extra[:120])
        self.show_claim(0)

    def show_claim(self, i: int) -> None:
        """The highlighted claim in full below the table."""
        rows = getattr(self, "ledger_rows", [])
        det = self.query_one("#ledger-detail", Static)
        if not 0 <= i < len(rows):
            det.update("")
            return
        r = rows[i]
        t = Text()
        t.append(f"{r['id']}", style="bold")
        t.append(f" ({r['seed']} {r['section']}): {r['statement']}\n")
        t.append(f"paper {r['paper_value']}, measured {r['measured']!r}, tolerance {r['tolerance']}; ")
        t.append(r["verdict"], style=VERDICT_STYLE.get(r["verdict"], ""))
        for k in ("reason", "note", "definition", "measurement"):
            if r.get(k):
                t.append(f"\n{k}: {r[k]}", style="dim")
        det.update(t)

    @on(DataTable.RowHighlighted, "#ledger-table")
    def _claim(self, ev: DataTable.RowHighlighted) -> None:
        self.show_claim(ev.cursor_row)

    def action_cycle_verdict(self) -> None:
        s, v = self.explorer.ledger_filter
        self.explorer.set_ledger_filter(s, VERDICTS[(VERDICTS.index(v) + 1) % len(VERDICTS)])

    def action_cycle_seed(self) -> None:
        s, v = self.explorer.ledger_filter
        self.explorer.set_ledger_filter(SEEDS[(SEEDS.index(s) + 1) % len(SEEDS)], v)


# ---- the application -------------------------------------------------------------------------------------------

class ExploreApp(App):
    """`satrnn explore`. Give `loader` (a function on_stage -> ExploreData, run on a background thread behind
    the progress screen) or precomputed `data`. `ledger_loader` (optional) measures the claims ledger in the
    background; `view` / `select` choose the first view and neuron (view "neurons" with a neuron opens its
    detail), `pin` (+1 / -1) then pins that neuron once the first cycle search is done."""

    TITLE = "satrnn explore"
    CSS = """
    #loading { align: center middle; height: 1fr; }
    #loading Label { margin: 1; }
    .third { width: 1fr; }
    .half { width: 1fr; height: auto; }
    .row { height: auto; }
    .title { text-style: bold; color: $accent; }
    ListView { height: 1fr; }
    ListItem Label { width: 100%; }
    #cycle-table { height: 10; }
    #ledger-detail { height: auto; max-height: 8; border-top: solid $accent; }
    #neuron-summary, #neuron-raster, #neuron-partners, #neuron-pin { margin: 1 0 0 0; height: auto; }
    DataTable { height: 1fr; }
    """
    BINDINGS = [Binding("g", "view('graph')", "Graph"), Binding("n", "view('neurons')", "Neurons"),
                Binding("r", "view('raster')", "Raster"), Binding("c", "view('cycles')", "Cycles"),
                Binding("l", "view('ledger')", "Ledger"), Binding("q", "quit", "Quit"),
                Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True)]

    def __init__(self, loader: Callable | None = None, data: ed.ExploreData | None = None,
                 ledger_loader: Callable | None = None, ledger_reason: str = "", view: str = "graph",
                 select: int | None = None, threshold: float = ed.DEFAULT_JACCARD, pin: int | None = None):
        super().__init__()
        if (loader is None) == (data is None):
            raise ValueError("give exactly one of loader and data")
        self.loader, self.data = loader, data
        self.ledger_loader = ledger_loader
        if ledger_loader is not None:
            ed.prepare_subprocesses()
        self.ledger_state: ed.Ledger | None = None
        self.ledger_message = ledger_reason or "the ledger is being measured …"
        self.ledger_filter = ("all", "all")
        self.first_view, self.selected = view, select
        self.open_detail = view == "neurons" and select is not None
        self.pin_first, self._pending_pin = pin, None
        self.pin_shown = threading.Event()
        self.threshold = threshold
        self.graph_view: ed.GraphView | None = None
        self.graph_pending = False
        self.sort = ("ko", True)
        self.cycles: list[ed.FoundCycle] = []
        self.selected_cycle: int | None = None
        self.cycle_stats = {}
        self.search_worker: Worker | None = None
        self.pins: dict = {}
        self.load_error: BaseException | None = None
        self.ready = threading.Event()        # the main screen is up
        self.ledger_done = threading.Event()
        self.cycle_shown = threading.Event()  # the selected cycle's states are on screen
        self.first_round = threading.Event()  # the first round of cycle searches is done
        self.exported: list[str] = []
        self.errors: list[str] = []           # failures of updates from background threads
        self.pilot_error: str | None = None   # set by the screenshot pilot when a wait timed out
        self.interrupted = threading.Event()  # SIGINT arrived (see `interrupt`)
        self.piloted = False                  # a screenshot pilot drives the app (and ends it)

    # -- start-up --
    def on_mount(self) -> None:
        if self.data is not None:
            self._start()
            return
        screen = LoadingScreen()
        self.push_screen(screen)

        def run():
            try:
                data = self.loader(lambda i, name: self._from_thread(screen.stage, i, name))
            except BaseException as e:  # noqa: BLE001 - reported by the command after the app exits
                self.load_error = e
                self._from_thread(self.exit, None, 2)
                return
            self._from_thread(self._loaded, data)

        # A plain daemon thread: the computation cannot be interrupted, and quitting must not wait for it.
        threading.Thread(target=run, name="satrnn-explore-load", daemon=True).start()

    def _from_thread(self, fn, *args):
        """Run fn(*args) on the app's thread from a background thread; failures are recorded in `errors`
        and shown, never lost (a background thread has nobody else to tell)."""
        if not self.is_running:
            return
        try:
            self.call_from_thread(fn, *args)
        except Exception as e:  # noqa: BLE001 - reported below
            if not self.is_running:
                return
            msg = f"{getattr(fn, '__name__', fn)} failed: {type(e).__name__}: {e}"
            self.errors.append(msg)
            with contextlib.suppress(Exception):
                self.call_from_thread(self.notify, msg, severity="error")

    def _loaded(self, data: ed.ExploreData) -> None:
        self.data = data
        self.pop_screen()
        self._start()

    def _start(self) -> None:
        d = self.data
        self.graph_view = d.graph(self.threshold)
        self.threshold = self.graph_view.threshold
        if self.selected is None:  # start on the strongest hub
            self.selected = int(self.graph_view.summary["hubs"][0]["neuron"])
        self._book_stats()
        self.push_screen(MainScreen())
        self.call_after_refresh(self._show_first)
        if d.book.rounds == 0:
            self.search_worker = self._first_search_worker()
        else:
            self.cycles = d.book.sorted()
            self.first_round.set()
        if self.ledger_loader is not None:
            self._start_ledger()
        else:
            self.ledger_done.set()

    def _show_first(self) -> None:
        view = self.first_view
        if self.selected is not None:
            self.select_neuron(self.selected)
        self.action_view(view if view in VIEWS else "neurons")
        if self.open_detail:
            screen = NeuronScreen(self.selected)
            self.push_screen(screen)
            if self.pin_first is not None:
                if self.first_round.is_set():
                    self.call_after_refresh(screen.action_pin, self.pin_first)
                else:
                    self._pending_pin = screen
        self.ready.set()

    @property
    def main(self) -> MainScreen:
        for s in self.screen_stack:
            if isinstance(s, MainScreen):
                return s
        raise LookupError("the main screen is not up yet")

    # -- actions --
    def action_view(self, name: str) -> None:
        if self.data is None:
            return
        while isinstance(self.screen, NeuronScreen):
            self.pop_screen()
        self.main.query_one("#tabs", TabbedContent).active = name

    def action_interrupt(self) -> None:
        self.exit(None, 130)

    def interrupt(self) -> None:
        """SIGINT: end with code 130. Call on the app's thread (the signal handler runs there). A screenshot
        pilot ends the app itself when it sees the flag (it must not be left waiting for a screen that will
        never come: Textual would wait for it, then fail with a traceback)."""
        self.interrupted.set()
        if not self.piloted:
            self.exit(None, 130)

    def select_neuron(self, j: int) -> None:
        if j == self.selected and self.graph_view is not None:
            return
        self.selected = j
        with contextlib.suppress(LookupError):
            self.main.refresh_neighbours()

    def sort_by(self, key: str) -> None:
        k, rev = self.sort
        self.sort = (key, not rev) if key == k else (key, key != "neuron")
        self.main.refresh_neuron_table()

    # -- co-flip threshold --
    def set_threshold(self, value: float) -> None:
        value = ed.jaccard_key(min(1.0, max(0.0, value)))
        if value == self.threshold:
            return
        self.threshold = value
        if value in self.data.graphs:
            self.graph_view = self.data.graphs[value]
            self.main.refresh_graph()
            return
        self.graph_pending = True
        self.main.refresh_graph()
        self._graph_worker(value)

    @work(thread=True, exclusive=True, group="graph")
    def _graph_worker(self, value: float) -> None:
        gv = self.data.graph(value)  # networkx only (no numba kernels)
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._graph_ready, gv)

    def _graph_ready(self, gv: ed.GraphView) -> None:
        if gv.threshold != self.threshold:
            return
        self.graph_view, self.graph_pending = gv, False
        self.main.refresh_graph()

    def export_graphml(self, path: str | None = None) -> str:
        from satrnn.analyses.coflip import write_graphml
        gv = self.graph_view
        path = path or f"satrnn-coflip-j{gv.threshold:.2f}-seed{gv.seed}.graphml"
        try:
            write_graphml(gv.graph, path)
        except Exception as e:  # noqa: BLE001 - shown to the user, the app keeps running
            self.notify(f"could not write {path}: {e}", severity="error")
            return ""
        self.exported.append(path)
        self.notify(f"wrote the graph (Jaccard >= {gv.threshold:.2f}, {gv.summary['edges']} edges) to {path}")
        return path

    # -- cycles --
    def _book_stats(self) -> None:
        b = self.data.book
        self.cycle_stats = {"rounds": b.rounds, "jobs": b.jobs, "unresolved": b.unresolved, "steps": b.steps}

    def show_cycle(self, i: int) -> None:
        if not (0 <= i < len(self.cycles)):
            return
        self.selected_cycle = i
        c = self.cycles[i]
        self._cycle_states_worker(c)

    @work(thread=True, exclusive=True, group="cycle-states")
    def _cycle_states_worker(self, c: ed.FoundCycle) -> None:
        with kernel_lock():
            bits = ed.cycle_states(self.data.automaton, c)
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self.main.show_cycle_states, c, bits)

    @work(thread=True, exclusive=True, group="search")
    def _first_search_worker(self) -> None:
        worker = get_current_worker()
        with kernel_lock():
            n = ed.first_cycles(self.data, should_stop=lambda: worker.is_cancelled)
        if worker.is_cancelled:
            return
        self._from_thread(self._first_done, self.data.book.sorted(),
                          f"first round: {n} cycle(s) in {self.data.timings['cycles']:.1f} s")

    def _first_done(self, cycles, status: str) -> None:
        try:
            self._search_progress(cycles, status)
        finally:
            self.first_round.set()
            if self._pending_pin is not None:  # pin against the first cycle found
                screen, self._pending_pin = self._pending_pin, None
                screen.action_pin(self.pin_first)

    def search_more(self) -> None:
        if self.search_worker is not None and self.search_worker.state == WorkerState.RUNNING:
            self.notify("a search is already running (x cancels it)")
            return
        self.main.refresh_cycles(self.cycles, "searching …")
        self.search_worker = self._search_worker()

    def cancel_search(self) -> None:
        if self.search_worker is not None and self.search_worker.state == WorkerState.RUNNING:
            self.search_worker.cancel()

    @work(thread=True, exclusive=True, group="search")
    def _search_worker(self, seconds: float = SEARCH_SECONDS) -> str:
        """Rounds of searches until the time budget is spent or the worker is cancelled; the UI is updated
        after every kernel call (a few jobs), so cancelling takes effect within one call."""
        worker = get_current_worker()
        t0 = time.perf_counter()
        book = self.data.book

        def stop():
            return worker.is_cancelled or time.perf_counter() - t0 > seconds

        new = 0
        while not stop():
            with kernel_lock():
                new += ed.search_round(self.data.automaton, book, ed.MORE_BUDGET, should_stop=stop)
            if not worker.is_cancelled:
                self.call_from_thread(self._search_progress, book.sorted(), f"searching … {new} new so far")
        how = "cancelled" if worker.is_cancelled else "done"
        msg = f"search {how} after {time.perf_counter() - t0:.1f} s: {new} new cycle(s)"
        self._from_thread(self._search_progress, book.sorted(), msg)
        return msg

    def _search_progress(self, cycles, status: str) -> None:
        self._book_stats()
        self.main.refresh_cycles(cycles, status)

    # -- pinning --
    def compute_pin(self, j: int, c: int, screen: NeuronScreen) -> None:
        cyc_ref = self.cycles[self.selected_cycle] if self.selected_cycle is not None and self.cycles else None
        key = (j, c, None if cyc_ref is None else (cyc_ref.byte, cyc_ref.rep))
        if key in self.pins:
            self._pin_ready(screen, self.pins[key])
            return
        self._pin_worker(j, c, cyc_ref, key, screen)

    @work(thread=True, group="pin")
    def _pin_worker(self, j, c, cyc_ref, key, screen) -> None:
        d = self.data
        try:
            with kernel_lock():
                pe = ed.pin_effect(d.model, d.xs, d.automaton, j, c, d.dynamics, cyc_ref)
        except Exception as e:  # noqa: BLE001 - shown; the app keeps running
            self.errors.append(f"pinning h{j} failed: {type(e).__name__}: {e}")
            self._from_thread(self.notify, self.errors[-1], severity="error")
            self.pin_shown.set()
            return
        self.pins[key] = pe
        if not get_current_worker().is_cancelled:
            self._from_thread(self._pin_ready, screen, pe)

    def _pin_ready(self, screen: NeuronScreen, pe: ed.PinEffect) -> None:
        try:
            screen.show_pin(pe)
        finally:
            self.pin_shown.set()

    # -- ledger --
    def _start_ledger(self) -> None:
        def progress(done, total):
            self.ledger_message = f"measuring the claims ledger in the background: {done}/{total} …"
            if done % 25 == 0:
                self._from_thread(self._ledger_refresh)

        def run():
            try:
                lg = self.ledger_loader(progress, lambda: not self.is_running)
            except Exception as e:  # noqa: BLE001 - shown in the Ledger view
                lg = ed.Ledger(False, reason=f"the ledger failed: {type(e).__name__}: {e}")
            self.ledger_state = lg
            if not lg.available:
                self.ledger_message = f"ledger not shown: {lg.reason}"
            self.ledger_done.set()
            self._from_thread(self._ledger_refresh)

        threading.Thread(target=run, name="satrnn-explore-ledger", daemon=True).start()

    def _ledger_refresh(self) -> None:
        with contextlib.suppress(LookupError):
            self.main.refresh_ledger()

    def set_ledger_filter(self, seed: str, verdict: str) -> None:
        self.ledger_filter = (seed, verdict)
        self.main.refresh_ledger()


class Interrupted(Exception):
    """SIGINT arrived while a pilot was waiting (ExploreApp.interrupt)."""


async def wait_until(pilot, cond, timeout: float = 120.0, step: float = 0.05) -> None:
    """Let the app run until cond() holds (for tests and screenshots); TimeoutError after `timeout` s,
    Interrupted as soon as the app was interrupted (SIGINT)."""
    t0 = time.perf_counter()
    interrupted = getattr(pilot.app, "interrupted", None)
    while not cond():
        if interrupted is not None and interrupted.is_set():
            raise Interrupted
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the explorer did not reach the expected state in time")
        await pilot.pause(step)


def screenshot_pilot(path_writer: Callable[[str], None], view: str, wait_ledger: bool, wait_cycles: bool = True,
                     timeout: float = 900.0):
    """An auto-pilot for `App.run(headless=True)` that waits for the first screen (and the ledger when the
    view is the ledger, the pin effect when one was asked for, the first cycle search on the Cycles view),
    writes the SVG through path_writer and exits. A wait longer than `timeout` s sets app.pilot_error and
    exits with code 1 without writing."""
    async def pilot_fn(pilot):
        app: ExploreApp = pilot.app
        app.piloted = True
        try:
            await wait_until(pilot, lambda: app.ready.is_set() or app.load_error is not None, timeout=timeout)
            if app.load_error is not None:
                return
            if wait_ledger:
                await wait_until(pilot, app.ledger_done.is_set, timeout=timeout)
            if app.pin_first is not None and app.open_detail:
                await wait_until(pilot, app.pin_shown.is_set, timeout=timeout)
            if view == "cycles" and wait_cycles:
                await wait_until(pilot, app.first_round.is_set, timeout=timeout)
                if app.cycles:
                    await wait_until(pilot, app.cycle_shown.is_set, timeout=timeout)
            await pilot.pause(0.3)
        except Interrupted:
            app.exit(None, 130)
            return
        except TimeoutError:
            app.pilot_error = (f"the {view} view was not ready after {timeout:g} s"
                               + (f" ({'; '.join(app.errors)})" if app.errors else ""))
            app.exit(None, 1)
            return
        if app.interrupted.is_set():
            app.exit(None, 130)
            return
        path_writer(app.export_screenshot(title=f"satrnn explore: {VIEWS.get(view, view)}"))
        app.exit(None, 0)
    return pilot_fn
