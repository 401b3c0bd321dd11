"""`satrnn attribution MODEL TEXT`: sparse differentiation (seed 002)."""
from __future__ import annotations

from satrnn.analyses.sparse_diff import EXAMPLES, OFFSET_FROM, POSITIONS, SHARES, sparse_differentiation
from satrnn.clikit import add_json_flag, add_model_text_args, check_int, console, emit_json, load_model_text_args
from satrnn.report import render


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
    console.print(render.sparse_diff(out))
    return 0
