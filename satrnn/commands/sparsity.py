"""`satrnn sparsity MODEL TEXT`: Q1 attribution sparsity (seed 000, DEFINITIONS 1).

The Q1 sparsity unit: `analyses.sparsity.q1_sparsity` -> `Q1Sparsity` (paper variant for the report and the
ledger), drawn by `render.sparsity` (in the report's section "attribution"), with seed 000's measurements."""
from __future__ import annotations

from satrnn import options as o
from satrnn.analyses.sparsity import VARIANTS, Q1Sparsity, q1_sparsity
from satrnn.cache import Results
from satrnn.clikit import check_int, console, emit_json, load_model_text_args, progress
from satrnn.ledger.claims import Measured
from satrnn.ledger.measures import row_where
from satrnn.report import render
from satrnn.unit import Analysis, Command, option

_FIELD = {"mean": "mean_n", "median": "median", "min": "min", "max": "max", "frac": "n_over_sig"}


def _dist(results: Results, tau, field):
    return getattr(row_where(results.get(SPARSITY).distribution, "tau", tau, "q1_sparsity distribution"),
                   _FIELD[field])


def _class(results: Results, tau, cls):
    return getattr(row_where(results.get(SPARSITY).class_breakdown, "tau", tau, "q1_sparsity classes"), "mean_" + cls)


def _wh_share(results: Results, tau):
    return row_where(results.get(SPARSITY).class_breakdown, "tau", tau, "q1_sparsity classes").share_Wh


def _mean_gt_median(results: Results):
    rows = [r for r in results.get(SPARSITY).distribution if r.mean_n > 0 or r.median > 0]
    bad = [r.tau for r in rows if not r.mean_n > r.median]
    return Measured(not bad, f"mean <= median at tau = {bad}" if bad else "mean > median at every tau with counts")


def _never_active(results: Results, cls, field):
    na = results.get(SPARSITY).never_active
    key = "total" if cls == "all" else cls
    cnt, of = getattr(na, key), na.of[key]
    occ = na.occurring
    note = ""
    if cls in ("Wx", "Wy"):  # DEFINITIONS 1.6 corrected variant
        note = (f"corrected (only the {occ.input_bytes if cls == 'Wx' else occ.target_bytes} bytes that can occur): "
                f"{getattr(occ, cls):,} of {getattr(occ, cls + '_of'):,} never active")
    if field == "count":
        return Measured(int(cnt), note)
    pct = 100.0 * cnt / of
    return Measured(pct if field == "pct" else 100.0 - pct, note)


def _depth_profile(results: Results, d, field):
    r = row_where(results.get(SPARSITY).depth_profile, "d", d, "q1_sparsity depth profile")
    return r.mean_mass if field == "mass" else r.fraction_of_d0


def _depth_peak_exceeds(results: Results):
    f = results.get(SPARSITY).structural.depth_profile_peak_fraction
    return Measured(f is not None and f > 1.0, f"peak / d=0 mass = {f:.3f}" if f is not None else "")


SPARSITY = Analysis(
    name="sparsity", result=Q1Sparsity,
    compute=lambda results: q1_sparsity(results.model, results.xs, variant="paper"),
    render=render.sparsity,
    options=(option("--variant", choices=VARIANTS, default="paper",
                    help="paper: q1_sparsity.c literally (float32, its quirks); corrected: tanh derivative in "
                         "the Wx score, offset-0 input term, consistent depth-profile units, double"),
             option("--max-depth", type=int, default=50, help="backward depth (default 50, the program's)")),
    measures={"sparsity_dist": _dist, "sparsity_class": _class, "sparsity_wh_share": _wh_share,
              "sparsity_mean_gt_median": _mean_gt_median, "never_active": _never_active,
              "depth_profile": _depth_profile,
              "depth_peak": lambda results: int(results.get(SPARSITY).structural.depth_profile_peak_d),
              "depth_peak_exceeds_d0": _depth_peak_exceeds})


def run(args) -> int:
    depth = check_int("--max-depth", args.max_depth, 0, 10_000)
    model, xs = load_model_text_args(args)
    with progress() as bar:
        task = bar.add_task(f"attribution ({args.variant})", total=None)
        out = q1_sparsity(model, xs, args.variant, max_depth=depth,
                          progress=lambda done, total: bar.update(task, completed=done, total=total))
    if args.json:
        emit_json(out)
        return 0
    console.print(render.sparsity(out))
    return 0


COMMAND = Command("sparsity", "Q1: how many patterns each prediction's backward attribution uses", run,
                  options=(o.MODEL_TEXT, SPARSITY.options, o.JSON), units=(SPARSITY,))
