"""`satrnn cascade MODEL TEXT`: flip cascades (damage spreading) of the sign automaton along the text,
Derrida curves, and the papers' flip-sensitivity figures (q1_boolean 3.3, q1_bool_attractor 4.2)."""
from __future__ import annotations

from rich.console import Group

from satrnn import options as o
from satrnn.analyses.boolean_figures import (
    PAPER_T,
    CascadeOverview,
    FlipSensitivity,
    cascade_overview,
    flip_sensitivity_paper,
    measure_flip_spread,
)
from satrnn.cache import Results
from satrnn.clikit import (
    check_int,
    console,
    emit_json,
    load_model_text_args,
    pins_arg,
    progress,
)
from satrnn.figures import hook
from satrnn.report import render
from satrnn.report.render import bars, kv_table
from satrnn.rnn.errors import SatrnnInputError
from satrnn.unit import Analysis, Command, Section, option


def _section(results: Results):
    ov = results.get(CASCADES)
    n = results.xs.shape[0]
    sens = results.get(FLIP_SENSITIVITY, t=min(PAPER_T, n - 2))
    sm, dc = ov.summary, ov.derrida
    rows = [("flips simulated", f"{sm.flips:,} (every neuron at {ov.positions.size} steps, k = {ov.k})"),
            ("paper q1_boolean flip sensitivity at t = 42", f"{sens.mean_sensitivity:.3f}")]
    grow = bars([(f"s={i + 1}", v) for i, v in enumerate(sm.mean_distance_by_step)],
                title="mean Hamming distance after a single flip, by step")
    der = bars([(f"d={d}", v) for d, v in zip(dc.d, dc.mean)], title="Derrida curve D(d) (one step)")
    data = {"k": ov.k, "positions": ov.positions.tolist(),
            "summary": {"mean_distance_by_step": sm.mean_distance_by_step, "fates": sm.fates},
            "one_step_mean": sm.one_step.mean,
            "derrida": {"d": dc.d, "mean": dc.mean, "derrida_coefficient": dc.derrida_coefficient},
            "paper_sensitivity": sens.mean_sensitivity, "seed": 0}
    return Group(kv_table(rows), render.cascade("float", sm), grow, render.derrida("data", dc), der), data


CASCADES = Analysis(
    name="cascades", result=CascadeOverview, figure=hook("derrida_curve", "derrida"),
    compute=lambda results: cascade_overview(results.automaton("exact"), results.model, results.xs),
    render=render.cascade,
    section=Section("cascades", "Flip cascades and Derrida curve", _section))

FLIP_SENSITIVITY = Analysis(
    name="flip_sensitivity", result=FlipSensitivity,
    compute=lambda results, t=PAPER_T: flip_sensitivity_paper(results.automaton("f32-seq"), results.xs, t=t),
    measures={"bool_sensitivity": lambda results: float(results.get(FLIP_SENSITIVITY, t=PAPER_T).mean_sensitivity)})


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
    if args.json:
        emit_json({"command": "cascade", "H": model.H, "bytes": int(xs.shape[0]),
                   "pins": {str(j): v for j, v in pins.items()}, **res.as_dict()})
        return 0
    console.print(render.flip_spread(res))
    return 0


COMMAND = Command(
    "cascade", "flip cascades along the text, Derrida curve, paper flip sensitivity", run,
    options=(o.MODEL_TEXT,
             option("--k", type=int, default=16, metavar="STEPS", help="steps to follow each flip (default 16)"),
             option("--trajectory", choices=("both", "sign", "float"), default="both",
                    help="sign: sign dynamics driven by the text from all -1; float: sigma(h_t) of the float32 "
                         "forward (default both)"),
             o.SEMANTICS_OPTION,
             option("--derrida", action="store_true", help="also the Derrida curve D(d), d = 1..H (random pairs "
                    "and pairs along the data) and its slope at d = 1 with a normal 95%% CI"),
             option("--pairs", type=int, default=400, metavar="N", help="Derrida pairs per d (default 400)"),
             o.SEED, o.PIN, o.JSON),
    units=(CASCADES, FLIP_SENSITIVITY))
