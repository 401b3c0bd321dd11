"""`satrnn report [MODEL TEXT]`: every analysis in one rich report, with JSON, SVG and HTML exports."""
from __future__ import annotations

import os
from pathlib import Path

from rich.rule import Rule

from satrnn import options as o
from satrnn.cache import Results
from satrnn.clikit import (
    StagedOutputs,
    check_writable,
    console,
    emit_json,
    err_console,
    load_model_text_args,
    progress,
    saving_console,
    to_json,
    write_file,
)
from satrnn.report.html import figure_count, report_html, section_figures
from satrnn.report.sections import SECTIONS, build_report, failures
from satrnn.rnn.errors import SatrnnInputError
from satrnn.unit import Arguments, Command, option
from satrnn.warmup import ensure_compiled


def _sections_option(p) -> None:
    # the help lists the sections the analysis units declare, known once every command module is imported
    p.add_argument("--sections", metavar="A,B,...", default=None,
                   help=f"comma-separated sections to compute (default all): {', '.join(SECTIONS)}")


def parse_sections(spec: str | None) -> list[str]:
    if spec is None:
        return list(SECTIONS)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    bad = [s for s in names if s not in SECTIONS]
    if bad or not names:
        raise SatrnnInputError(f"unknown section(s) {', '.join(bad) or '(none given)'}; "
                               f"choose from {', '.join(SECTIONS)}")
    return list(dict.fromkeys(names))


def run(args) -> int:
    sections = parse_sections(args.sections)
    outputs = [f for f in (args.json if args.json not in (None, "-") else None, args.svg, args.html) if f]
    for f in outputs:  # fail before any computation
        check_writable(f)
    model, xs = load_model_text_args(args)
    if args.sections is None:  # first run on a fresh machine: compile the report's kernels in parallel
        ensure_compiled(show_progress=True)
    json_stdout = args.json == "-"
    # commands the report prints name the files by absolute path: they run as printed from any folder
    source_args = () if args.model is None else tuple(os.path.abspath(a) for a in (args.model, args.text)
                                                      if a is not None)
    results = Results(model, xs)   # one cache: the sections and the HTML figures read the same results
    rends, data = build_report(model, xs, sections=sections, show_progress=True, source_args=source_args,
                               results=results)
    source = (f"{Path(args.model).name}, {Path(args.text).name}" if args.model is not None
              else "the bundled default model and corpus")
    doc = {"model": source, "failed_sections": [n for n, d in data.items() if d.get("failed")],
           "bytes": int(xs.shape[0]), "H": model.H, "sections": data}
    if json_stdout:
        emit_json(doc)
    heading = f"satrnn report — {source}: H = {model.H}, {xs.shape[0]:,} bytes"
    title = Rule(heading, style="bold")
    if not json_stdout:   # the terminal (or a pipe: wide enough that nothing is cut, clikit.PIPE_WIDTH)
        for r in (title, *rends):
            console.print(r)
    if args.svg:
        # exports are rendered on their own, at a fixed width: the same file whatever terminal ran the command
        con = saving_console()
        for r in (title, *rends):
            con.print(r)
    page = None
    if args.html:   # a document: each section's tables (fixed width) next to its figures, inline SVG
        subject = (f"{Path(args.model).name} on {Path(args.text).name}" if args.model is not None
                   else f"the default model on its corpus ({xs.shape[0]:,} bytes)")
        with progress() as bar:
            task = bar.add_task("figures", total=figure_count(data))
            figs = section_figures(results, list(data), subject, on_figure=lambda t: (
                bar.update(task, description=f"figure: {t}"), bar.advance(task)))
        page = report_html(heading, list(zip(data, rends)), figs)
    with StagedOutputs():  # every export or none
        if args.svg:
            write_file(args.svg, con.export_svg(title="satrnn report", clear=False))
        if page is not None:
            write_file(args.html, page)
        if args.json not in (None, "-"):
            write_file(args.json, to_json(doc))
    failed = failures(data)
    for f in failed:  # a crash is a failure of the report, named on stderr (exit 1), not a quiet red line
        err_console.print(f"report: section {f}", markup=False, highlight=False)
    return 1 if failed else 0


COMMAND = Command(
    "report", "the full report: model, isomorphism, margins, sign dynamics, saturation, co-flips, cascades, cycles, "
              "knockout, attribution, claims ledger", run,
    options=(o.MODEL_TEXT, Arguments(_sections_option),
             option("--json", nargs="?", const="-", default=None, metavar="FILE", writes=True,
                    help="write all numbers as JSON to FILE (no FILE: one JSON document on stdout, no tables)"),
             option("--svg", metavar="FILE", default=None, writes=True,
                    help="also export the rendered report as SVG"),
             option("--html", metavar="FILE", default=None, writes=True,
                    help="also write the report as one self-contained HTML document: each section's tables next "
                         "to its figures (inline SVG; no scripts, fonts or files from elsewhere)")))
