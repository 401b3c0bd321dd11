"""`satrnn attribution MODEL TEXT`: sparse differentiation (seed 002)."""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from ..clikit import add_json_flag, add_model_text_args, check_int, console, emit_json, load_model_text_args
from ..sparse_diff import EXAMPLES, OFFSET_FROM, POSITIONS, SHARES, sparse_differentiation


def register(sub) -> None:
    p = sub.add_parser("attribution", help="sparse differentiation: gradient sparsity, backward norm growth, "
                                           "per-offset input attribution (seed 002)")
    add_model_text_args(p)
    p.add_argument("--max-k", type=int, default=8, help="largest offset k (default 8)")
    p.add_argument("--norm-depth", type=int, default=None, help="depth of the norm-growth table (default --max-k)")
    p.add_argument("--offset-from", choices=OFFSET_FROM, default="consumed",
                   help="k counts back from the consumed byte x_t (default) or from the predicted byte x_{t+1}")
    p.add_argument("--gate", action="store_true",
                   help="multiply by the tanh derivative of step t-k (true input gradient; the seed omits it)")
    p.add_argument("--positions", choices=POSITIONS, default="common",
                   help="common: all k averaged over t = K..n-2 (default); valid: offset k over t = k..n-2")
    p.add_argument("--share", choices=SHARES, default="mean_of_ratios", help="how top-k energy shares are pooled")
    p.add_argument("--precision", choices=("f64", "f32"), default="f64", help="gradient arithmetic")
    p.add_argument("--examples", type=int, nargs="*", default=None, metavar="T",
                   help="worked-example positions (default 10 28, those that exist in TEXT)")
    add_json_flag(p)
    p.set_defaults(func=run)


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
    g = out["gradient"]
    console.print(f"[bold]Sparse differentiation[/bold] ({', '.join(f'{k}={v}' for k, v in out['choices'].items())})")
    console.print(f"mean ||g_t|| = {g['mean_norm']:.4f}; top-1/5/10 neurons capture "
                  + " / ".join(f"{100 * g['top_share'][k]:.1f}%" for k in ("1", "5", "10")) + " of ||g_t||^2")
    console.print("most frequent argmax |g_t|: " + ", ".join(f"h{r['neuron']} ({r['positions']})" for r in g["top1_neurons"][:6]))
    t = Table(title="Backward norm growth ||g_{t->t-k}||")
    for c in ("k", "mean (common)", "ratio", "mean (valid)", "ratio"):
        t.add_column(c, justify="right")
    for r in out["norm_growth"]:
        t.add_row(str(r["k"]), f"{r['mean_norm_common']:.4f}", f"{r['ratio_common']:.3f}",
                  f"{r['mean_norm_valid']:.4f}", f"{r['ratio_valid']:.3f}")
    console.print(t)
    t = Table(title="Per-offset attribution attr(t, k) = Wx[:, x]^T g")
    for c in ("k", "mean attr", "mean |attr|", "positions"):
        t.add_column(c, justify="right")
    for r in out["attribution"]:
        t.add_row(str(r["k"]), f"{r['signed']:+.4f}", f"{r['unsigned']:.4f}", str(r["positions"]))
    console.print(t)
    for e in out["examples"]:
        s = e["strongest_signed"]
        console.print(escape(f"t = {e['t']}: input {e['input_char']!r} predicting {e['target_char']!r} "
                      f"(p = {e['p_true']:.4f}, {'correct' if e['correct'] else 'wrong'}), ||g|| = {e['norm']:.4f}; "
                      "top " + ", ".join(f"h{n['neuron']} ({n['g']:+.4f})" for n in e["top_neurons"][:3])
                      + (f"; strongest k = {s['k']} ({s['char']!r}, {s['attr']:+.4f})" if s else "")))
    for note in out["notes"]:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    return 0
