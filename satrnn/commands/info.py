"""`satrnn info MODEL`: shapes, parameter counts, weight magnitudes, spectral radius of Wh, vocabulary and
import provenance."""
from __future__ import annotations

from rich.table import Table

from satrnn.analyses.model_info import PERCENTILES, model_summary
from satrnn.clikit import add_json_flag, add_model_arg, console, emit_json, load_model_arg
from satrnn.rnn.vocab import show_vocab


def register(sub) -> None:
    p = sub.add_parser("info", help="shapes, parameter counts, |w| percentiles, spectral radius of Wh")
    add_model_arg(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    model = load_model_arg(args)
    s = model_summary(model)
    if args.json:
        emit_json(s)
        return 0
    names = list(s["matrices"])
    t = Table(title=f"Elman RNN, H = {s['H']}, {s['params']:,} parameters", title_justify="left")
    t.add_column("")
    for name in names:
        t.add_column(name, justify="right")
    mats = s["matrices"]
    t.add_row("shape", *("x".join(map(str, mats[n]["shape"])) for n in names))
    t.add_row("params", *(f"{mats[n]['params']:,}" for n in names))
    t.add_row("|w| > 0.01", *(f"{mats[n]['count_abs_gt_0.01']:,}" for n in names))
    t.add_row("min |w|", *(f"{mats[n]['abs_min']:.3g}" for n in names))
    for p in PERCENTILES:
        t.add_row(f"p{p} |w|", *(f"{mats[n]['abs_percentiles'][str(p)]:.4g}" for n in names))
    t.add_row("max |w|", *(f"{mats[n]['abs_max']:.4g}" for n in names))
    t.add_row("mean |w|", *(f"{mats[n]['abs_mean']:.4g}" for n in names))
    console.print(t)
    console.print(f"significant patterns (|w| > 0.01 in Wx, Wh, Wy): {s['significant_patterns_0.01']:,}")
    console.print(f"spectral radius of Wh: {s['spectral_radius_Wh']:.4f}")
    console.print(f"vocabulary: {show_vocab(model.vocab)}", markup=False)
    prov = s["provenance"]
    if prov:
        console.print(f"imported from {prov.get('format')} file {prov.get('file')} (sha256 {prov.get('sha256')}), "
                      f"{prov.get('layout')} layout, V = {prov.get('V')}, E = {prov.get('E')}; tensors: "
                      + ", ".join(f"{r}={n}" for r, n in (prov.get("tensors") or {}).items() if n is not None),
                      markup=False)
    return 0
