"""`satrnn figures [MODEL TEXT] --out DIR [--format svg,png,pdf]`: one figure file per analysis with something
to show (`satrnn.figures.catalog`, drawn from the analysis units' results in one shared cache,
`satrnn.cache.Results`), written all or none; matplotlib is imported only when a figure is drawn."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from rich.table import Table
from rich.text import Text

from satrnn import options as o
from satrnn.cache import Results
from satrnn.clikit import (
    StagedOutputs,
    console,
    emit_json,
    err_console,
    load_model_text_args,
    progress,
    write_file,
)
from satrnn.figures import FORMATS, save  # matplotlib itself is imported only when a figure is drawn
from satrnn.figures.catalog import FIGURES, NothingToShow, draw
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.files import check_output, in_pseudo_fs
from satrnn.unit import Command, option

NAMES = tuple(FIGURES)


def _list(spec: str, allowed, what: str) -> list[str]:
    names = [s.strip().lower() for s in spec.split(",") if s.strip()]
    bad = [s for s in names if s not in allowed]
    if bad or not names:
        raise SatrnnInputError(f"unknown {what} {', '.join(bad) or '(none given)'}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def _out_dir(path: str) -> tuple[Path, bool]:
    """(folder, exists): an existing directory, or a new one whose parent exists and is writable."""
    p = Path(path)
    if in_pseudo_fs(p):
        raise SatrnnInputError(f"--out {p} is inside /proc, /dev or /sys; refusing to write there")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise SatrnnInputError(f"--out {p}: its parent folder {parent} does not exist") from None
        if not os.access(parent, os.W_OK):
            raise SatrnnInputError(f"--out {p}: cannot create it in {parent} (permission denied)") from None
        return p, False
    except OSError as e:
        raise SatrnnInputError(f"--out {p}: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise SatrnnInputError(f"--out {p} exists and is not a folder")
    if not os.access(p, os.W_OK):
        raise SatrnnInputError(f"--out {p}: permission denied")
    return p, True


def subject_of(args, model, xs) -> str:
    """How the figures name the model and text."""
    if args.model is None:
        return f"the default model on its corpus ({xs.shape[0]:,} bytes)"
    return f"{Path(args.model).name} on {Path(args.text).name}"


def run(args) -> int:
    formats = _list(args.format, FORMATS, "format(s)")
    names = _list(args.only, NAMES, "figure(s)") if args.only else list(NAMES)
    out, existed = _out_dir(args.out)
    inputs = [a for a in (args.model, args.text) if a is not None]
    planned = [out / f"{n}.{f}" for n in names for f in formats]
    if existed:
        for f in planned:   # an input inside DIR, a symlink or a special file in the way: refused before any work
            check_output(f, inputs, what="figure file")
    model, xs = load_model_text_args(args)
    subject = subject_of(args, model, xs)
    results = Results(model, xs)
    results.source_args = () if args.model is None else tuple(os.path.abspath(a) for a in inputs)
    payload, done, skipped = {}, [], []
    with progress() as bar:
        task = bar.add_task("figures", total=len(names))
        for n in names:
            bar.update(task, description=f"figure: {FIGURES[n].title}")
            try:
                fig, title = draw(n, results, subject, seed=args.seed)
            except NothingToShow as e:
                skipped.append({"name": n, "title": FIGURES[n].title, "reason": str(e)})
            else:
                files = []
                for f in formats:
                    path = out / f"{n}.{f}"
                    payload[path] = save(fig, f, title)
                    files.append(str(path))
                done.append({"name": n, "title": FIGURES[n].title, "files": files})
            bar.advance(task)
    created = False
    if payload and not existed:
        try:
            out.mkdir()
            created = True
        except OSError as e:
            raise SatrnnInputError(f"--out {out}: cannot create it ({e.strerror})") from None
    try:
        with StagedOutputs():   # every file or none
            for path, data in payload.items():
                write_file(path, data)
    except BaseException:
        if created:
            try:
                out.rmdir()   # nothing was written into the folder this command made
            except OSError:
                pass
        raise
    doc = {"command": "figures", "subject": subject, "out": str(out), "formats": formats, "seed": args.seed,
           "figures": done, "skipped": skipped}
    if args.json:
        emit_json(doc)
        return 0
    t = Table(title=f"{len(done)} figure(s) in {out} ({subject}; seed {args.seed})", title_justify="left")
    t.add_column("figure")
    t.add_column("files", overflow="fold")
    for d in done:
        t.add_row(Text(d["title"]), Text(", ".join(Path(f).name for f in d["files"])))
    for s in skipped:
        t.add_row(Text(s["title"], style="dim"), Text(f"nothing to show: {s['reason']}", style="yellow"))
    console.print(t)
    if not done:
        err_console.print("figures: no analysis had anything to draw; nothing written", markup=False)
    return 0


COMMAND = Command(
    "figures", "figures of the analyses (matplotlib): margins, sign raster, knockout, Derrida curve, dwell times, "
               "cycles, basins, co-flip graph, attribution", run,
    options=(o.MODEL_TEXT,
             option("--out", required=True, metavar="DIR",
                    help="folder for the files (created if missing; its parent must exist): one NAME.FORMAT per "
                         "figure"),
             option("--format", default="svg", metavar="F[,F]",
                    help=f"comma-separated file formats: {', '.join(FORMATS)} (default svg)"),
             option("--only", default=None, metavar="NAME[,NAME]", help=f"only these figures: {', '.join(NAMES)}"),
             o.SEED, o.JSON))
