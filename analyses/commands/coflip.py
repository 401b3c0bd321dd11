"""`satrnn coflip MODEL TEXT`: co-flip counts and Jaccard for every neuron pair, and the co-flip graph
(communities, hubs, components; GraphML / JSON export) (DEFINITIONS 5.4)."""
from __future__ import annotations

from rich.table import Table

from satrnn.rnn.errors import SatrnnInputError

from ..clikit import (StagedOutputs, add_json_flag, add_model_text_args, add_seed_arg, bytes_callback, check_float,
                      check_int, check_writable, console, declare_outputs, emit_json, load_model_text_args, progress,
                      write_file)
from ..coflip import coflip_graph, coflip_report, graph_json_text, graph_summary, graph_to_json, write_graphml


def register(sub) -> None:
    p = sub.add_parser("coflip", help="co-flip counts, Jaccard, and the co-flip graph of the neurons (q4)")
    add_model_text_args(p)
    p.add_argument("--min-jaccard", type=float, default=0.5, metavar="J",
                   help="graph edges for pairs with Jaccard >= J (default 0.5; negative = none by threshold)")
    p.add_argument("--top-k", type=int, default=None, metavar="K", help="also link each neuron to its K best partners")
    p.add_argument("--top", type=int, default=15, help="pairs listed (default 15, the paper's)")
    p.add_argument("--graphml", default=None, metavar="FILE", help="write the graph as GraphML")
    p.add_argument("--graph-json", default=None, metavar="FILE", help="write the graph as node-link JSON")
    declare_outputs(p, "graphml", "graph_json")
    add_seed_arg(p)
    add_json_flag(p)
    p.set_defaults(func=run)


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
        emit_json({"seed": args.seed, "min_jaccard": mj, "top_k": args.top_k, "transitions": rep["transitions"],
                   "flips": rep["flips"], "top_pairs": rep["top_pairs"], "top_pairs_ties": rep["top_pairs_ties"],
                   "jaccard_top_pairs": rep["jaccard_top_pairs"], "pairs_with_coflips": rep["pairs_with_coflips"],
                   "pairs_jaccard_gt_half": rep["pairs_jaccard_gt_half"], "graph": summ,
                   "graph_node_link": graph_to_json(G), "graphml": args.graphml, "graph_json": args.graph_json})
        return 0
    t = Table(title=f"Top {top} co-flipping pairs over {rep['transitions']:,} transitions", title_justify="left")
    for c in ("pair", "co-flips", "Jaccard", "flips a", "flips b"):
        t.add_column(c, justify="right")
    for r in rep["top_pairs"]:
        t.add_row(f"h{r['a']}-h{r['b']}", str(r["coflips"]), f"{r['jaccard']:.3f}", str(r["flips_a"]), str(r["flips_b"]))
    console.print(t)
    tie = rep["top_pairs_ties"]
    if tie.get("tie_at_cut"):
        console.print(f"tie at the cut: {tie['pairs_with_count_at_cut']} pairs have {tie['count_at_cut']} co-flips")
    console.print(f"pairs with Jaccard > 0.5: {rep['pairs_jaccard_gt_half']}; max Jaccard "
                  f"{rep['max_jaccard']['jaccard']:.3f} (h{rep['max_jaccard']['a']}-h{rep['max_jaccard']['b']})")
    console.print(f"graph: {summ['nodes']} nodes, {summ['edges']} edges (Jaccard >= {mj}"
                  + (f", top-{args.top_k} per node" if args.top_k else "") + f"), Louvain seed {args.seed}, "
                  f"modularity {summ['modularity']:.3f}, {summ['n_components']} component(s)")
    t = Table(title="Communities (size >= 2)", title_justify="left")
    t.add_column("id", justify="right")
    t.add_column("size", justify="right")
    t.add_column("members")
    for c in summ["communities"]:
        if c["size"] >= 2:
            t.add_row(str(c["id"]), str(c["size"]), " ".join(f"h{j}" for j in c["members"]))
    console.print(t)
    t = Table(title="Hubs (by summed Jaccard)", title_justify="left")
    for c in ("neuron", "strength", "degree", "betweenness", "community", "flips", "promotes", "demotes"):
        t.add_column(c, justify="right")
    for h in summ["hubs"]:
        t.add_row(f"h{h['neuron']}", f"{h['strength']:.3f}", str(h["degree"]), f"{h['betweenness']:.4f}",
                  str(h["community"]), str(h["flips"]), repr(h["promotes_chars"]), repr(h["demotes_chars"]))
    console.print(t)
    for path, kind in ((args.graphml, "GraphML"), (args.graph_json, "JSON")):
        if path:
            console.print(f"wrote {kind} graph to {path}")
    return 0
