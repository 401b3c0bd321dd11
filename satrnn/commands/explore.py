"""`satrnn explore [MODEL TEXT]`: an interactive terminal explorer of the co-flip graph, the neurons, the sign
raster, cycles and the claims ledger (Textual; the [explore] extra). `--screenshot FILE.svg` writes one view
and exits; `--json` prints the computed tables. Textual is imported only when the app runs."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    add_seed_arg,
    add_semantics_arg,
    check_float,
    declare_outputs,
    emit_json,
    err_console,
    load_model_text_args,
    progress,
    write_file,
)
from satrnn.explore import data as ed
from satrnn.rnn.errors import SatrnnInputError

EXTRA_MESSAGE = "satrnn explore needs the [explore] extra: pip install 'satrnn[explore]'"
NOT_A_TTY = ("satrnn explore needs an interactive terminal (stdin and stdout are not both a TTY); "
             "use --screenshot FILE.svg or --json")


def register(sub) -> None:
    p = sub.add_parser("explore", help="interactive explorer: co-flip graph, neurons, sign raster, cycles, "
                                       "ledger (needs the [explore] extra)")
    add_model_text_args(p)
    add_semantics_arg(p)
    add_seed_arg(p)
    p.add_argument("--jaccard", type=float, default=ed.DEFAULT_JACCARD, metavar="J",
                   help=f"first co-flip graph threshold (default {ed.DEFAULT_JACCARD}; +/- change it in the app)")
    p.add_argument("--view", choices=tuple(ed.VIEWS), default="graph", help="the view shown first")
    p.add_argument("--select", default=None, metavar="hN",
                   help="a neuron to select (with --view neurons: open its detail)")
    p.add_argument("--pin", choices=("+1", "-1"), default=None,
                   help="with --view neurons --select hN: pin that neuron to +1 or -1 and show the effect")
    p.add_argument("--screenshot", default=None, metavar="FILE.svg", help="write the view as SVG and exit")
    declare_outputs(p, "screenshot")  # the CLI refuses an input, a special file or an unwritable place
    p.add_argument("--size", default="120x40", metavar="WxH", help="terminal size of --screenshot (default 120x40)")
    add_json_flag(p)
    p.set_defaults(func=run)


def _size(spec: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in spec.lower().split("x"))
    except ValueError:
        raise SatrnnInputError(f"--size must look like 120x40, got {spec!r}") from None
    if not (40 <= w <= 1000 and 12 <= h <= 1000):
        raise SatrnnInputError(f"--size must be between 40x12 and 1000x1000, got {spec}")
    return w, h


def _exit_now(code: int) -> None:
    """End the interactive process at once. The interpreter's teardown of the compiled kernels takes seconds
    on a loaded machine, so Ctrl-C / q would not end within a second; the app has restored the terminal and
    nothing is left to write (the ledger's child process is terminated here, not by an exit handler)."""
    import multiprocessing
    for child in multiprocessing.active_children():
        child.terminate()
    if code == 130:
        err_console.print("satrnn: interrupted", markup=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _sigint_ends(app):
    """SIGINT (`kill -INT`, or Ctrl-C in a terminal while --screenshot loads) ends the app with code 130 within
    a moment, like the Ctrl-C key does in the interactive app. Installed before the app runs, so asyncio's own
    SIGINT handling (cancel the main task: the app would exit 0, or the screenshot pilot would wait for a
    screen until Textual's timeout) stays out of the way. Returns the previous handler."""
    import asyncio

    def handler(signum, frame):
        try:
            loop = asyncio.get_running_loop()  # the handler runs on the main thread, inside the app's loop
        except RuntimeError:
            raise KeyboardInterrupt from None
        loop.call_soon_threadsafe(app.interrupt)

    return signal.signal(signal.SIGINT, handler)


def summary_json(d: ed.ExploreData, threshold: float) -> dict:
    """The explorer's tables (co-flip graph at `threshold`) as one JSON-able document."""
    gv = d.graph(threshold)
    neurons = [{"neuron": j, "knockout_delta_bpc": float(d.ko_delta[j]), "mean_margin": float(d.mean_margin[j]),
                "flips": int(d.flips[j]), "mean_dwell": float(d.mean_dwell[j]), "hub_strength": float(gv.strength[j]),
                "community": int(gv.community[j]), "pattern_sensitivity": float(d.pattern_sensitivity[j])}
               for j in range(d.H)]
    cyc = [{"input": c.byte, "rep": c.rep, "period": c.period, "starts": c.starts,
            "transient_min": c.transient_min, "transient_max": c.transient_max, "first_start": c.first_start}
           for c in d.book.sorted()]
    return {"command": "explore", "source": d.source, "H": d.H, "bytes": int(d.xs.shape[0]),
            "semantics": d.semantics, "seed": d.seed, "baseline_bpc": d.baseline_bpc,
            "sign_dynamics_bpc": d.dynamics.bpc, "jaccard": gv.threshold, "neurons": neurons,
            "communities": gv.summary["communities"], "hubs": gv.summary["hubs"][:10],
            "modularity": gv.summary["modularity"],
            "cycles": {"inputs": list(d.book.inputs), "rounds": d.book.rounds, "jobs": d.book.jobs,
                       "unresolved": d.book.unresolved, "budget": ed.FIRST_BUDGET, "found": cyc},
            "seconds": d.timings}


def run(args) -> int:
    j_first = check_float("--jaccard", args.jaccard, 0.0, 1.0)
    if args.pin is not None and (args.select is None or args.view != "neurons"):
        raise SatrnnInputError("--pin needs --view neurons and --select hN")
    size = _size(args.size)
    if args.screenshot is not None and Path(args.screenshot).suffix.lower() != ".svg":
        raise SatrnnInputError(f"--screenshot file {args.screenshot} must end in .svg")
    if not args.json:
        try:
            import textual  # noqa: F401 - only: is the [explore] extra installed?
        except ImportError:
            raise SatrnnInputError(EXTRA_MESSAGE) from None
        if args.screenshot is None and not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise SatrnnInputError(NOT_A_TTY)
    model, xs = load_model_text_args(args, min_bytes=3)
    if xs.shape[0] > ed.MAX_TEXT_BYTES:
        raise SatrnnInputError(f"text has {xs.shape[0]:,} bytes; the explorer keeps per-step arrays in memory, "
                               f"use --max-bytes N with N <= {ed.MAX_TEXT_BYTES:,}")
    select = ed.parse_neuron(args.select, model.H) if args.select is not None else None
    source = (f"{Path(args.model).name}, {Path(args.text).name}" if args.model is not None
              else "the bundled default model and corpus")
    if args.json:
        with progress() as bar:
            task = bar.add_task("explore", total=len(ed.STAGES))
            d = ed.compute(model, xs, source, args.semantics, args.seed,
                           on_stage=lambda i, name: bar.update(task, completed=i, description=name))
            bar.update(task, description="cycles")
            ed.first_cycles(d)
        emit_json(summary_json(d, j_first))
        return 0
    from satrnn.explore.app import ExploreApp, screenshot_pilot

    not_published = ed.ledger_subject_reason(model, xs)
    want_ledger = not not_published and (args.screenshot is None or args.view == "ledger")
    app = ExploreApp(
        loader=lambda on_stage: ed.compute(model, xs, source, args.semantics, args.seed, on_stage=on_stage),
        ledger_loader=(lambda on_claim, stop: ed.ledger_in_subprocess(model, xs, on_claim, stop))
        if want_ledger else None,
        ledger_reason=not_published or ("" if want_ledger else "the ledger is measured only when the Ledger view "
                                                                "is shown"),
        view=args.view, select=select, threshold=j_first, pin=None if args.pin is None else int(args.pin))
    previous = _sigint_ends(app)
    try:
        if args.screenshot is not None:
            out = args.screenshot
            app.run(headless=True, size=size,
                    auto_pilot=screenshot_pilot(lambda svg: write_file(out, svg), args.view, args.view == "ledger"))
        else:
            app.run()
            if app.load_error is None:
                _exit_now(int(app.return_code or 0))
    finally:
        signal.signal(signal.SIGINT, previous)
    if app.return_code == 130:
        raise KeyboardInterrupt
    if app.load_error is not None:
        raise app.load_error
    if app.pilot_error is not None:
        err_console.print(f"satrnn: error: {app.pilot_error}", markup=False, highlight=False, soft_wrap=True)
        return 1
    if args.screenshot is not None and app.return_code == 0:
        err_console.print(f"wrote {args.screenshot}", highlight=False)
    return int(app.return_code or 0)
