"""`satrnn cascade MODEL TEXT`: flip cascades (damage spreading) of the sign automaton along the text,
Derrida curves, and the papers' flip-sensitivity figures (q1_boolean 3.3, q1_bool_attractor 4.2)."""
from __future__ import annotations

from satrnn.analyses.boolean_figures import measure_flip_spread
from satrnn.clikit import (
    add_json_flag,
    add_model_text_args,
    add_pin_arg,
    add_seed_arg,
    add_semantics_arg,
    check_int,
    console,
    emit_json,
    load_model_text_args,
    pins_arg,
    progress,
)
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError


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
        console.print(f"semantics {args.semantics}, k = {k}, seed {args.seed}")
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
    console.print(render.flip_spread(out))
    return 0
