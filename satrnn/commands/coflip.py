"""`satrnn coflip MODEL TEXT`: co-flip counts and Jaccard for every neuron pair, and the co-flip graph
(communities, hubs, components; GraphML / JSON export) (DEFINITIONS 5.4)."""
from __future__ import annotations

from satrnn import options as o
from satrnn.analyses.coflip import (
    CoflipReport,
    coflip_graph,
    coflip_report,
    graph_json_text,
    graph_summary,
    graph_to_json,
    write_graphml,
)
from satrnn.cache import Results
from satrnn.clikit import (
    StagedOutputs,
    bytes_callback,
    check_float,
    check_int,
    check_writable,
    console,
    emit_json,
    load_model_text_args,
    progress,
    write_file,
)
from satrnn.ledger.claims import Measured
from satrnn.report import render
from satrnn.rnn.errors import SatrnnInputError
from satrnn.unit import Analysis, Command, Section, option


def report_graph(results: Results, seed: int = 0):
    """The co-flip graph of the report's co-flip result (default threshold, Louvain seeded with `seed`), built
    once per seed in the shared cache: the report's section and its figure read the same graph."""
    return results.memo(("coflip_graph", seed), lambda: coflip_graph(results.model, results.get(COFLIP), seed=seed))


def _section(results: Results):
    r = results.get(COFLIP)
    G = report_graph(results, 0)
    s = graph_summary(G)
    data = {"top_pairs": r.top_pairs, "max_jaccard": r.max_jaccard, "graph": s, "seed": 0}
    return render.coflip(r, s, G.graph["min_jaccard"], None, 0, top=8), data


def _measure(results: Results, field):
    r = results.get(COFLIP)
    best = max(r.top_pairs, key=lambda p: p.jaccard)
    return Measured(float(best.jaccard), f"pair h{best.a}-h{best.b}, {best.coflips} co-flips; "
                                         f"over all pairs max {r.max_jaccard.jaccard:.3f}")


COFLIP = Analysis(
    name="coflip", result=CoflipReport,
    compute=lambda results: coflip_report(results.model, results.xs, forward_result=results.fwd),
    render=render.coflip,
    options=(option("--min-jaccard", type=float, default=0.5, metavar="J",
                    help="graph edges for pairs with Jaccard >= J (default 0.5; negative = none by threshold)"),
             option("--top-k", type=int, default=None, metavar="K",
                    help="also link each neuron to its K best partners"),
             o.TOP.but(default=15, help="pairs listed (default 15, the paper's)"),
             option("--graphml", default=None, metavar="FILE", writes=True, help="write the graph as GraphML"),
             option("--graph-json", default=None, metavar="FILE", writes=True,
                    help="write the graph as node-link JSON"),
             o.SEED),
    section=Section("coflip", "Co-flip graph", _section),
    measures={"coflip": _measure})


def run(args) -> int:
    mj = None if args.min_jaccard is not None and args.min_jaccard < 0 else args.min_jaccard
    if mj is not None:
        check_float("--min-jaccard", mj, 0.0, 1.0)
    if mj is None and args.top_k is None:
        raise SatrnnInputError("a negative --min-jaccard needs --top-k to choose the graph's edges")
    for path in (args.graphml, args.graph_json):
        if path is not None:
            check_writable(path)
    model, xs = load_model_text_args(args, min_bytes=3)
    top = check_int("--top", args.top, 1, model.H * (model.H - 1) // 2)
    if args.top_k is not None:
        check_int("--top-k", args.top_k, 1, model.H - 1)
    with progress() as bar:
        rep = coflip_report(model, xs, top=top, progress=bytes_callback(bar, "co-flips (bytes)"))
    G = coflip_graph(model, rep, min_jaccard=mj, top_k=args.top_k, seed=args.seed)
    summ = graph_summary(G)
    with StagedOutputs():  # both graph files or neither
        if args.graphml:
            write_graphml(G, args.graphml)
        if args.graph_json:
            write_file(args.graph_json, graph_json_text(G))
    if args.json:
        emit_json({"seed": args.seed, "min_jaccard": mj, "top_k": args.top_k, "transitions": rep.transitions,
                   "flips": rep.flips, "top_pairs": rep.top_pairs, "top_pairs_ties": rep.top_pairs_ties,
                   "jaccard_top_pairs": rep.jaccard_top_pairs, "pairs_with_coflips": rep.pairs_with_coflips,
                   "pairs_jaccard_gt_half": rep.pairs_jaccard_gt_half, "graph": summ,
                   "graph_node_link": graph_to_json(G), "graphml": args.graphml, "graph_json": args.graph_json})
        return 0
    console.print(render.coflip(rep, summ, mj, args.top_k, args.seed))
    for path, kind in ((args.graphml, "GraphML"), (args.graph_json, "JSON")):
        if path:
            console.print(f"wrote {kind} graph to {path}")
    return 0


COMMAND = Command("coflip", "co-flip counts, Jaccard, and the co-flip graph of the neurons (q4)", run,
                  options=(o.MODEL_TEXT, COFLIP.options, o.JSON), units=(COFLIP,))
