"""`satrnn um MODEL [--out patterns.csv|.json|.npz]`: the doubled-event-space UM pattern table.

Filters: --class Wx|Wh|Wy|bias|bh|by, --neuron J (source or target), --byte B (input source or output
target), --min-strength W (strength > fl32(W), strict). Without --out: per-class counts and the strongest
selected patterns. A .npz holds the full struct of arrays (`PatternTable.load_npz`, `satrnn iso --patterns`).
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from satrnn import options as o
from satrnn.automaton.um import CLASS_FILTERS, CLASS_NAMES, PatternTable, event_label, from_rnn, pattern_counts
from satrnn.clikit import (
    check_float,
    check_int,
    check_writable,
    console,
    emit_json,
    load_model_arg,
    to_json,
    write_file,
)
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.files import atomic_write_bytes
from satrnn.rnn.text import parse_byte
from satrnn.unit import Command, option

SUFFIXES = (".csv", ".json", ".npz")
COUNT_THRESHOLD = 0.01
CSV_HEADER = "class,source,target,src_space,src_event,dst_space,dst_event,strength,sign,weight"


def _fmt(x) -> str:
    """9 significant digits: reads back to the same float32 (and keeps -0)."""
    return f"{float(x):.9g}"


def _records(t: PatternTable):
    w = t.weights()
    for i in range(len(t)):
        yield {
            "class": CLASS_NAMES[int(t.cls[i])],
            "source": event_label(t.src_space[i], t.src_event[i]),
            "target": event_label(t.dst_space[i], t.dst_event[i]),
            "src_space": int(t.src_space[i]), "src_event": int(t.src_event[i]),
            "dst_space": int(t.dst_space[i]), "dst_event": int(t.dst_event[i]),
            "strength": _fmt(t.strength[i]), "sign": int(t.sign[i]), "weight": _fmt(w[i]),
        }


def _csv(t: PatternTable) -> str:
    buf = io.StringIO()
    buf.write(CSV_HEADER + "\n")
    for r in _records(t):
        buf.write(",".join(str(r[k]) for k in CSV_HEADER.split(",")) + "\n")
    return buf.getvalue()


def _json(t: PatternTable, meta: dict) -> str:
    rows = [{**r, "strength": float(r["strength"]), "weight": float(r["weight"])} for r in _records(t)]
    return json.dumps({**meta, "columns": list(rows[0].keys()) if rows else [], "patterns": rows}) + "\n"


def write_patterns(t: PatternTable, path: str, meta: dict) -> None:
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        write_file(path, _csv(t))
    elif suffix == ".json":
        write_file(path, _json(t, meta))
    elif suffix == ".npz":
        payload = dict(t.npz_payload(), meta=np.array(to_json(meta, indent=None)))
        atomic_write_bytes(path, lambda f: np.savez_compressed(f, **payload))
    else:
        raise SatrnnInputError(f"output file {path} must end in {', '.join(SUFFIXES)}")


def run(args) -> int:
    if args.out is not None:
        if Path(args.out).suffix.lower() not in SUFFIXES:
            raise SatrnnInputError(f"output file {args.out} must end in {', '.join(SUFFIXES)}")
        check_writable(args.out)
    if args.min_strength is not None:
        check_float("--min-strength", args.min_strength, 0.0)
    top = check_int("--top", args.top, 0, 10**6)
    byte = parse_byte(args.byte) if args.byte is not None else None
    model = load_model_arg(args)
    if args.neuron is not None:
        check_int("--neuron", args.neuron, 0, model.H - 1)
    table = from_rnn(model)
    sel = table.filter(cls=args.cls, neuron=args.neuron, byte=byte, min_strength=args.min_strength)
    filters = {"class": args.cls, "neuron": args.neuron, "byte": byte, "min_strength": args.min_strength}
    meta = {"H": model.H, "n_patterns_model": len(table), "n_selected": len(sel), "filters": filters,
            "encoding": "strength = |w| float32, sign = -1 iff the weight's sign bit is set (so -0.0 is "
                        "strength 0, sign -1); hidden events 0 = h_j, 1 = not-h_j; spaces: k >= 0 hidden "
                        "neuron k, -1 always-on (biases), -2 input byte, -3 output byte"}
    if args.out is not None:
        write_patterns(sel, args.out, meta)
    counts_all = pattern_counts(table, None)
    counts_thr = pattern_counts(table, COUNT_THRESHOLD)
    counts_sel = pattern_counts(sel, None)
    order = np.argsort(-sel.strength.astype(np.float64), kind="stable")[:top]
    strongest = [dict(r, index=int(i)) for i, r in zip(order, _records(sel.take(order)))]
    out = {**meta, "out": args.out, "counts_all": counts_all, f"counts_above_{COUNT_THRESHOLD}": counts_thr,
           "counts_selected": counts_sel, "strongest": strongest}
    if args.json:
        emit_json(out)
        return 0
    console.print(render.um_patterns(model.H, len(table), counts_all, counts_thr, counts_sel, COUNT_THRESHOLD,
                                     strongest))
    if args.out is not None:
        console.print(f"wrote {len(sel):,} patterns to {args.out}")
    return 0


COMMAND = Command(
    "um", "the UM pattern table of a model (counts by class; export to csv/json/npz)", run,
    options=(o.MODEL,
             o.OUT.but(help="write the selected patterns to FILE.csv, FILE.json or FILE.npz"),
             option("--min-strength", type=float, default=None, metavar="W",
                    help="keep patterns with strength |w| > W (strict float32)"),
             option("--class", dest="cls", choices=CLASS_FILTERS, default=None,
                    help="keep one class (bias = bh and by)"),
             option("--neuron", type=int, default=None, metavar="J", help="keep patterns touching hidden neuron J"),
             option("--byte", default=None, metavar="B",
                    help="keep patterns from input byte B or to output byte B (65, 0x41 or A)"),
             o.TOP.but(default=20, metavar="N", help="strongest patterns listed (default 20)"),
             o.JSON))
