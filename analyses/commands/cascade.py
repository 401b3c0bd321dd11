"""`satrnn cascade MODEL TEXT`: flip cascades (damage spreading) of the sign automaton along the text,
Derrida curves, and the papers' flip-sensitivity figures (q1_boolean 3.3, q1_bool_attractor 4.2)."""
from __future__ import annotations

import numpy as np
from rich.table import Table

from satrnn.rnn.errors import SatrnnInputError
from satrnn.rnn.text import display_byte

from ..boolean_figures import measure_flip_spread
from ..clikit import (add_json_flag, add_model_text_args, add_pin_arg, add_seed_arg, add_semantics_arg, check_int,
                      console, emit_json, err_console, load_model_text_args, pins_arg, progress)



def register(sub) -> None:
    p = sub.add_parser("cascade", help="flip cascades along the text, Derrida curve, paper flip sensitivity")
    add_model_text_args(p)
    p.add_argument("--k", type=int, default=16, metavar="STEPS", help="steps to follow each flip (default 16)")
    p.add_argument("--trajectory", choices=("both", "sign", "float"), default="both",
                   help="sign: sign dynamics driven by the text from all -1; float: sigma(h_t) of the float32 "
                        "forward (default both)")
    add_semantics_arg(p)
    p.add_argument("--derrida", action="store_true", help="also the Derrida curve D(d), d = 1..H (random pairs "
                   "and pairs along the data) and its slope at d = 1 with a normal 95%% CI")
    p.add_argument("--pairs", type=int, default=400, metavar="N", help="Derrida pairs per d (default 400)")
    add_seed_arg(p)
    add_pin_arg(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    k = check_int("--k", args.k, 1, 10**5)
    pairs = check_int("--pairs", args.pairs, 2, 10**6)
    model, xs = load_model_text_args(args)
    pins = pins_arg(args, model.H)
    if xs.shape[0] < k + 2:
        raise SatrnnInputError(f"TEXT has {xs.shape[0]} bytes; --k {k} needs at least {k + 2}")
    if not args.json:
        err_console.print(f"semantics {args.semantics}, k = {k}, seed {args.seed}")
    n_traj = 2 if args.trajectory == "both" else 1
    with progress() as bar:
        task = bar.add_task("flip cascades", total=n_traj)
        res = measure_flip_spread(model, xs, args.semantics, k, args.trajectory,
                                      pairs if args.derrida else None, args.seed,
                                      on_done=lambda name: bar.advance(task), pins=pins)
    out = {"command": "cascade", "H": model.H, "bytes": int(xs.shape[0]), "pins": {str(j): v for j, v in pins.items()},
           **res}
    if args.json:
        emit_json(out)
        return 0
    _print(out)
    return 0


def _print(out) -> None:
    for name, s in out["cascades"].items():
        o = s["one_step"]
        console.print(f"[bold]{name} trajectory[/bold] ({s['start']}): {s['flips']:,} flips, k = {s['k']}")
        console.print(f"  one-step cascade d_1: mean {o['mean']:.3f} (95% CI {o['ci95'][0]:.3f}..{o['ci95'][1]:.3f}, "
                      f"{o['ci']}), median {o['median']:.0f}, max {o['max']}; excluding the flipped neuron's own "
                      f"bit {s['one_step_others']:.3f}")
        if "fragile_one_step" in s:
            f = s["fragile_one_step"]
            console.print(f"  flips at fragile neuron-steps ({s['fragile_definition']}): mean d_1 {f['mean']:.3f} "
                          f"over {f['flips']:,}")
        fa = s["fates"]
        console.print(f"  after {s['k']} steps: died {100 * fa['died']:.1f}%, persisted (d = 1) "
                      f"{100 * fa['persisted']:.1f}%, spread (d > 1) {100 * fa['spread']:.1f}%")
        console.print("  mean distance by step: " + " ".join(f"{v:.1f}" for v in s["mean_distance_by_step"]))
        h = s["one_step"]["histogram"]
        last = max(i for i, v in enumerate(h) if v) if any(h) else 0
        console.print("  d_1 histogram: " + " ".join(f"{i}:{v}" for i, v in enumerate(h[: last + 1]) if v))
        t = Table(title="Top input bytes x_{t+1} by mean d_1")
        for c in ("byte", "flips", "mean d_1"):
            t.add_column(c)
        for r in s["per_byte"][:8]:
            t.add_row(f"0x{r['byte']:02x} '{display_byte(r['byte'])}'", f"{r['flips']:,}", f"{r['mean_d1']:.2f}")
        console.print(t)
        pn = np.array(s["per_neuron_d1"])
        top = np.argsort(-pn, kind="stable")[:8]
        console.print("  most contagious neurons (mean d_1): " + ", ".join(f"h{j} {pn[j]:.2f}" for j in top))
    p = out["paper_compatible"]
    if "flip_sensitivity_t42" in p:
        f = p["flip_sensitivity_t42"]
        console.print(f"[bold]q1_boolean 3.3[/bold] (f32-seq, beta from all-zero bits): state at t={f['t']} "
                      f"{f['state_first16']}, mean sensitivity {f['mean_sensitivity']:.2f}")
    if "influence_graph" in p:
        g = p["influence_graph"]
        console.print(f"[bold]q1_bool_attractor 4.2[/bold] ({g['positions']} positions): mean influence per edge "
                      f"{g['mean_influence']:.4f} (= {g['mean_out_degree']:.3f} neurons changed per flip); top edges "
                      + ", ".join(f"h{e['source']}->h{e['target']} {e['frac']:.3f}" for e in g["top_edges"][:5]))
    t = Table(title="Readings of 'one flip changes N neurons' (all measured here)")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    for name, v in out["candidates"].items():
        t.add_row(name, f"{v:.3f}")
    console.print(t)
    if "derrida" in out:
        for name, d in out["derrida"].items():
            c = d["derrida_coefficient"]
            console.print(f"[bold]Derrida ({name} pairs)[/bold]: slope at d=1 = {c['mean']:.3f} (95% CI "
                          f"{c['ci95'][0]:.3f}..{c['ci95'][1]:.3f}, {d['ci']}, n = {c['n']}); D(d) at d = 1, 2, 4, 8, "
                          f"16, 32, 64, 128: " + " ".join(f"{d['mean'][i - 1]:.1f}" for i in (1, 2, 4, 8, 16, 32, 64, 128)
                                                          if i <= len(d["mean"])))
