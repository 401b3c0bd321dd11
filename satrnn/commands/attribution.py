"""`satrnn attribution MODEL TEXT`: sparse differentiation (seed 002).

The sparse-differentiation unit: `analyses.sparse_diff.sparse_differentiation` -> `SparseDiff`, drawn by
`render.sparse_diff`, with seed 002's measurements; it also declares the report's section "attribution",
which shows the backward-attribution analyses together (sparse differentiation, Q1 sparsity, the carrier
decomposition, the Q6 backbone)."""
from __future__ import annotations

from rich.console import Group

from satrnn import options as o
from satrnn.analyses.sparse_diff import EXAMPLES, OFFSET_FROM, POSITIONS, SHARES, SparseDiff, sparse_differentiation
from satrnn.cache import Results
from satrnn.clikit import check_int, console, emit_json, load_model_text_args
from satrnn.figures import hook
from satrnn.ledger.claims import Measured, NotAvailable
from satrnn.ledger.measures import row_where
from satrnn.report import render
from satrnn.unit import Analysis, Command, Section, option


def _section(results: Results):
    from satrnn.commands.carrier import CARRIER
    from satrnn.commands.justify import JUSTIFY
    from satrnn.commands.sparsity import SPARSITY
    parts, data = [], {}
    try:
        sd = results.get(SPARSE_DIFF)
        parts.append(render.sparse_diff(sd))
        data["sparse_diff"] = {"gradient": sd.gradient, "norm_growth": sd.norm_growth}
    except NotAvailable as e:
        parts.append(render.notice("sparse differentiation", str(e)))
    try:
        sp = results.get(SPARSITY)
        parts.append(render.sparsity(sp))
        data["sparsity"] = {"distribution": sp.distribution, "never_active": sp.never_active}
    except NotAvailable as e:
        parts.append(render.notice("sparsity", str(e)))
    try:
        ca = results.get(CARRIER).table2
        parts.append(render.carrier_brief(ca))
        data["carrier"] = ca
    except NotAvailable as e:
        parts.append(render.notice("carrier", str(e)))
    try:
        bb = results.get(JUSTIFY).backbone
        parts.append(render.bars([(f"h{e.neuron}", e.count) for e in bb.rank1[:8]],
                                 title=f"q6 'driven by' neuron over {bb.positions} positions"))
        data["justify_backbone"] = {"positions": bb.positions, "rank1": bb.rank1,
                                    "rank1_first_source": bb.rank1_first_source}
    except NotAvailable as e:
        parts.append(render.notice("justify", str(e)))
    return Group(*parts), data


def _grad_stats(results: Results, field):
    g = results.get(SPARSE_DIFF).gradient
    if field == "mean_norm":
        return float(g.mean_norm)
    return float(g.top_share[field[3:].split("_")[0]])


def _back_norm(results: Results, k, field):
    r = row_where(results.get(SPARSE_DIFF).norm_growth, "k", k, "norm growth")
    if field == "norm":
        return Measured(float(r.mean_norm), f"over the {r.positions} positions common to k = 0..8; over all "
                                            f"{r.positions_valid} valid positions: {r.mean_norm_valid:.4f}")
    return Measured(float(r.ratio), f"valid-position variant: {r.ratio_valid:.3f}")


def _example(results: Results, t, field, k=None):
    e = row_where(results.get(SPARSE_DIFF).examples, "t", t, "worked examples")
    if field == "p":
        return float(e.p_true)
    if field == "gnorm":
        return float(e.norm)
    if field == "top3":
        return [int(n.neuron) for n in e.top_neurons[:3]]
    if field.startswith("top_g"):
        return float(e.top_neurons[int(field[5:])].g)
    if field == "best_k":
        s = e.strongest_signed
        return Measured(int(s.k), f"byte {s.char!r}, attr {s.attr:+.4f}")
    if field == "attr":
        return float(row_where(e.offsets, "k", k, "example offsets").attr)
    raise KeyError(field)


SPARSE_DIFF = Analysis(
    name="sparse_diff", result=SparseDiff, figure=hook("attribution_profile"),
    compute=lambda results: sparse_differentiation(results.model, results.xs, hs=results.fwd.hs),
    render=render.sparse_diff,
    options=(option("--max-k", type=int, default=8, help="largest offset k (default 8)"),
             option("--norm-depth", type=int, default=None, help="depth of the norm-growth table (default --max-k)"),
             option("--offset-from", choices=OFFSET_FROM, default="consumed",
                    help="k counts back from the consumed byte x_t (default) or from the predicted byte x_{t+1}"),
             option("--gate", action="store_true",
                    help="multiply by the tanh derivative of step t-k (true input gradient; the seed omits it)"),
             o.POSITIONS.but(choices=POSITIONS, default="common", metavar=None,
                             help="common: all k averaged over t = K..n-2 (default); valid: offset k over "
                                  "t = k..n-2"),
             option("--share", choices=SHARES, default="mean_of_ratios", help="how top-k energy shares are pooled"),
             o.PRECISION.but(choices=("f64", "f32"), default="f64", help="gradient arithmetic"),
             option("--examples", type=int, nargs="*", default=None, metavar="T",
                    help="worked-example positions (default 10 28, those that exist in TEXT)")),
    section=Section("attribution", "Attribution summaries", _section),
    measures={"grad_stats": _grad_stats,
              "grad_top_neurons": lambda results, n:
                  [int(e.neuron) for e in results.get(SPARSE_DIFF).gradient.energy_neurons[:n]],
              "back_norm": _back_norm,
              "attr_offset": lambda results, k, field:
                  float(getattr(row_where(results.get(SPARSE_DIFF).attribution, "k", k, "attribution"), field)),
              "example": _example})


def run(args) -> int:
    max_k = check_int("--max-k", args.max_k, 1, 1000)
    nd = None if args.norm_depth is None else check_int("--norm-depth", args.norm_depth, 0, 1000)
    model, xs = load_model_text_args(args)
    examples = args.examples
    if examples is None:
        examples = [t for t in EXAMPLES if t < xs.shape[0] - 1]
    out = sparse_differentiation(model, xs, max_k=max_k, norm_depth=nd, offset_from=args.offset_from,
                                 gate=args.gate, positions=args.positions, share=args.share,
                                 precision=args.precision, examples=tuple(examples))
    if args.json:
        emit_json(out)
        return 0
    console.print(render.sparse_diff(out))
    return 0


COMMAND = Command("attribution", "sparse differentiation: gradient sparsity, backward norm growth, per-offset input "
                                 "attribution (seed 002)", run,
                  options=(o.MODEL_TEXT, SPARSE_DIFF.options, o.JSON), units=(SPARSE_DIFF,))
